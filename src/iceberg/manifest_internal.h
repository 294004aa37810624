/*
 * iceberg/manifest_internal.h: what manifest.c and manifest_list.c share.
 *
 * Both files describe their Avro schemas with one table of field
 * descriptors (id, name, requiredness per format version, type, doc), from
 * which the Avro schema JSON (Iceberg spec: Appendix A, Avro) and the
 * "iceberg.schema" JSON (Appendix C) are generated, so the two can never
 * disagree and the field order is the order Iceberg Java writes. Readers
 * resolve fields by field id, never by name or position, because names
 * changed over the years (added_data_files_count -> added_files_count).
 */
#ifndef FLOE_ICEBERG_MANIFEST_INTERNAL_H
#define FLOE_ICEBERG_MANIFEST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "floe/avro.h"
#include "floe/buffer.h"
#include "floe/manifest.h"

/* Field kinds of the descriptor table. */
typedef enum floe_mf_kind {
  FLOE_MF_INT = 1,
  FLOE_MF_LONG,
  FLOE_MF_STRING,
  FLOE_MF_BINARY,
  FLOE_MF_BOOLEAN,
  FLOE_MF_STRUCT,    /* fields / n_fields / record_name */
  FLOE_MF_LIST,      /* element value_id / value_kind; a struct element
                        uses fields / n_fields / record_name */
  FLOE_MF_MAP,       /* key_id (int keys) / value_id / value_kind; written
                        as an array of key/value records, logicalType map */
  FLOE_MF_PARTITION  /* the partition tuple struct (record "r102") */
} floe_mf_kind;

/* Requiredness. */
#define FLOE_MF_OPTIONAL 0
#define FLOE_MF_REQUIRED 1
#define FLOE_MF_REQUIRED_V1 2 /* required in v1, optional from v2 */
#define FLOE_MF_OPTIONAL_V1 3 /* optional in v1, required from v2 */

typedef struct floe_mf_field {
  int32_t id;
  const char *name;
  uint8_t required;
  uint8_t kind;
  const char *doc; /* NULL: none */
  int32_t key_id;
  int32_t value_id;
  uint8_t value_kind;
  const struct floe_mf_field *fields;
  int32_t n_fields;
  const char *record_name;
  uint8_t min_version, max_version; /* present in these format versions */
} floe_mf_field;

/* The partition tuple as the schema generator needs it. */
typedef struct floe_mf_partition {
  const floe_iceberg_partition_spec *spec;
  const floe_iceberg_type *types; /* spec->n_fields result types */
} floe_mf_partition;

/* Appends the Avro schema JSON of a record named `record_name` with the
 * fields of `fields` present in `version` (compact, Java's key order). */
int floe_mf_avro_schema_json(const floe_mf_field *fields, int32_t n_fields,
                             const char *record_name, int32_t version,
                             const floe_mf_partition *partition, floe_buf *out,
                             floe_error *err);
/* Appends the Iceberg schema JSON ({"type":"struct","schema-id":0,...}). */
int floe_mf_iceberg_schema_json(const floe_mf_field *fields, int32_t n_fields,
                                int32_t version,
                                const floe_mf_partition *partition,
                                floe_buf *out, floe_error *err);
/* Whether a descriptor is present / optional in `version`. */
bool floe_mf_present(const floe_mf_field *field, int32_t version);
bool floe_mf_optional(const floe_mf_field *field, int32_t version);

/* Index of the field with "field-id" `id` in a record node, or -1. */
long floe_mf_field_index(const floe_avro_node *record, int32_t id);
/* The record node of a (possibly ["null", record]) type, or NULL. */
const floe_avro_node *floe_mf_unwrap(const floe_avro_node *node);

/* Value helpers for decoded records: the field at `index` (NULL when the
 * index is -1 or the value is null). */
const floe_avro_value *floe_mf_get(const floe_avro_value *record, long index);
/* int or long value; false when absent/null/other type. */
bool floe_mf_long(const floe_avro_value *value, int64_t *out);

/* Sets an ENOMEM error ("<what>: out of memory") and returns FLOE_ENOMEM. */
int floe_mf_nomem(floe_error *err, const char *what);

/* Avro writer sink onto a floe_io_writer. */
int floe_mf_io_sink(void *ctx, const void *data, size_t len, floe_error *err);

/* Reads the whole file at path (bounded) for the Avro reader. */
int floe_mf_read_file(floe_io *io, const char *path, char **out, size_t *len,
                      floe_error *err);

#endif
