/*
 * iceberg/manifest.c: Iceberg manifests (Iceberg spec: Manifests), the Avro
 * files that list a snapshot's data and delete files with their partition
 * tuples and column metrics.
 *
 * Writing follows what Iceberg Java writes, field for field: the
 * manifest_entry schema of the table's format version (Appendix A/C field
 * ids, record names r2 / r102 / k117_v118, maps with int keys as arrays of
 * key/value records with logicalType "map"), partition values in the Avro
 * mapping of each result type (decimal as the minimal fixed, uuid as
 * fixed(16), ...), the header keys the spec requires, deflate blocks.
 * ADDED entries carry a null sequence number so that the commit's sequence
 * number is inherited (Sequence Number Inheritance); the writer keeps the
 * counts and per-field partition summaries its manifest list entry needs.
 *
 * Reading resolves every field by field id (so v1, v2 and v3 files and old
 * field names all read), decodes the partition tuple against the partition
 * spec in the header and the table schema, and applies inheritance from the
 * manifest list entry. Each entry is decoded into a per-entry arena that is
 * reset on the next call: memory stays bounded by the largest entry.
 *
 * The descriptor tables and the schema JSON generators here are shared with
 * manifest_list.c through manifest_internal.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "floe/manifest.h"
#include "floe/parquet_writer.h"
#include "iceberg/manifest_internal.h"

/* ==== descriptor tables (Iceberg spec: Manifests; Java's field order) === */

#define PRIM(id, name, req, kind, doc, minv, maxv) \
  {id, name, req, kind, doc, 0, 0, 0, NULL, 0, NULL, minv, maxv}
#define MAPF(id, name, doc, kid, vid, vkind)                                \
  {id, name, FLOE_MF_OPTIONAL, FLOE_MF_MAP, doc, kid, vid, vkind, NULL, 0, \
   NULL, 1, 3}
#define LISTF(id, name, doc, eid, ekind, minv, maxv)                         \
  {id, name, FLOE_MF_OPTIONAL, FLOE_MF_LIST, doc, 0, eid, ekind, NULL, 0, \
   NULL, minv, maxv}

static const floe_mf_field data_file_fields[] = {
    PRIM(134, "content", FLOE_MF_REQUIRED, FLOE_MF_INT,
         "Contents of the file: 0=data, 1=position deletes, 2=equality deletes",
         2, 3),
    PRIM(100, "file_path", FLOE_MF_REQUIRED, FLOE_MF_STRING,
         "Location URI with FS scheme", 1, 3),
    PRIM(101, "file_format", FLOE_MF_REQUIRED, FLOE_MF_STRING,
         "File format name: avro, orc, or parquet", 1, 3),
    {102, "partition", FLOE_MF_REQUIRED, FLOE_MF_PARTITION,
     "Partition data tuple, schema based on the partition spec", 0, 0, 0,
     NULL, 0, "r102", 1, 3},
    PRIM(103, "record_count", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Number of records in the file", 1, 3),
    PRIM(104, "file_size_in_bytes", FLOE_MF_REQUIRED, FLOE_MF_LONG,
         "Total file size in bytes", 1, 3),
    /* v1 only: "Deprecated. Always write a default in v1." */
    PRIM(105, "block_size_in_bytes", FLOE_MF_REQUIRED, FLOE_MF_LONG, NULL, 1,
         1),
    MAPF(108, "column_sizes", "Map of column id to total size on disk", 117,
         118, FLOE_MF_LONG),
    MAPF(109, "value_counts",
         "Map of column id to total count, including null and NaN", 119, 120,
         FLOE_MF_LONG),
    MAPF(110, "null_value_counts", "Map of column id to null value count", 121,
         122, FLOE_MF_LONG),
    MAPF(137, "nan_value_counts",
         "Map of column id to number of NaN values in the column", 138, 139,
         FLOE_MF_LONG),
    MAPF(125, "lower_bounds", "Map of column id to lower bound", 126, 127,
         FLOE_MF_BINARY),
    MAPF(128, "upper_bounds", "Map of column id to upper bound", 129, 130,
         FLOE_MF_BINARY),
    PRIM(131, "key_metadata", FLOE_MF_OPTIONAL, FLOE_MF_BINARY,
         "Encryption key metadata blob", 1, 3),
    LISTF(132, "split_offsets", "Splittable offsets", 133, FLOE_MF_LONG, 1, 3),
    LISTF(135, "equality_ids", "Equality comparison field IDs", 136,
          FLOE_MF_INT, 2, 3),
    PRIM(140, "sort_order_id", FLOE_MF_OPTIONAL, FLOE_MF_INT, "Sort order ID",
         1, 3),
    PRIM(142, "first_row_id", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "The first row ID assigned to the first row in the data file", 3, 3),
    PRIM(143, "referenced_data_file", FLOE_MF_OPTIONAL, FLOE_MF_STRING,
         "Fully qualified location (URI with FS scheme) of a data file that "
         "all deletes reference",
         2, 3),
    PRIM(144, "content_offset", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "The offset in the file where the content starts", 3, 3),
    PRIM(145, "content_size_in_bytes", FLOE_MF_OPTIONAL, FLOE_MF_LONG,
         "The length of referenced content stored in the file", 3, 3),
};
#define N_DATA_FILE_FIELDS \
  ((int32_t)(sizeof data_file_fields / sizeof data_file_fields[0]))

static const floe_mf_field entry_fields[] = {
    PRIM(0, "status", FLOE_MF_REQUIRED, FLOE_MF_INT, NULL, 1, 3),
    PRIM(1, "snapshot_id", FLOE_MF_REQUIRED_V1, FLOE_MF_LONG, NULL, 1, 3),
    PRIM(3, "sequence_number", FLOE_MF_OPTIONAL, FLOE_MF_LONG, NULL, 2, 3),
    PRIM(4, "file_sequence_number", FLOE_MF_OPTIONAL, FLOE_MF_LONG, NULL, 2,
         3),
    {2, "data_file", FLOE_MF_REQUIRED, FLOE_MF_STRUCT, NULL, 0, 0, 0,
     data_file_fields, N_DATA_FILE_FIELDS, "r2", 1, 3},
};
#define N_ENTRY_FIELDS ((int32_t)(sizeof entry_fields / sizeof entry_fields[0]))

/* v1 data files have no block size of their own; Java writes 64 MiB. */
#define V1_BLOCK_SIZE_DEFAULT 67108864

/* ==== shared helpers ==================================================== */

int floe_mf_nomem(floe_error *err, const char *what) {
  return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", what);
}

bool floe_mf_present(const floe_mf_field *field, int32_t version) {
  return version >= field->min_version && version <= field->max_version;
}

bool floe_mf_optional(const floe_mf_field *field, int32_t version) {
  switch (field->required) {
    case FLOE_MF_REQUIRED: return false;
    case FLOE_MF_REQUIRED_V1: return version >= 2;
    case FLOE_MF_OPTIONAL_V1: return version == 1;
    default: return true;
  }
}

int floe_mf_io_sink(void *ctx, const void *data, size_t len, floe_error *err) {
  return floe_io_writer_write((floe_io_writer *)ctx, data, len, err);
}

/* Manifests of a few GB are not plausible; the cap keeps a corrupt or
 * hostile path from making floe allocate without bound. */
#define MAX_METADATA_FILE_BYTES ((size_t)1 << 31)

int floe_mf_read_file(floe_io *io, const char *path, char **out, size_t *len,
                      floe_error *err) {
  return floe_io_read_all(io, path, MAX_METADATA_FILE_BYTES, out, len, err);
}

const floe_avro_node *floe_mf_unwrap(const floe_avro_node *node) {
  if (node != NULL && node->type == FLOE_AVRO_UNION) {
    for (size_t i = 0; i < node->branch_count; i++)
      if (node->branches[i]->type != FLOE_AVRO_NULL) return node->branches[i];
    return NULL;
  }
  return node;
}

long floe_mf_field_index(const floe_avro_node *record, int32_t id) {
  if (record == NULL || record->type != FLOE_AVRO_RECORD) return -1;
  for (size_t i = 0; i < record->field_count; i++) {
    int64_t fid;
    if (floe_avro_field_attr_int(&record->fields[i], "field-id", &fid) &&
        fid == id)
      return (long)i;
  }
  return -1;
}

const floe_avro_value *floe_mf_get(const floe_avro_value *record, long index) {
  if (index < 0 || record == NULL || record->type != FLOE_AVRO_RECORD ||
      (size_t)index >= record->u.record.count)
    return NULL;
  const floe_avro_value *v = &record->u.record.fields[index];
  return v->type == FLOE_AVRO_NULL ? NULL : v;
}

bool floe_mf_long(const floe_avro_value *value, int64_t *out) {
  if (value == NULL) return false;
  if (value->type == FLOE_AVRO_LONG) {
    *out = value->u.l;
    return true;
  }
  if (value->type == FLOE_AVRO_INT) {
    *out = value->u.i;
    return true;
  }
  return false;
}

/* ==== schema JSON generation =========================================== */

#define EMIT(...)                                       \
  do {                                                  \
    if (floe_buf_appendf(out, __VA_ARGS__) < 0)         \
      return floe_mf_nomem(err, "manifest schema");     \
  } while (0)
#define EMIT_TRY(expr)        \
  do {                        \
    int rc_ = (expr);         \
    if (rc_ < 0) return rc_;  \
  } while (0)

static int emit_json_string(floe_buf *out, const char *s, floe_error *err) {
  EMIT("\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      EMIT("\\%c", *p);
    else if (*p < 0x20)
      EMIT("\\u%04x", *p);
    else
      EMIT("%c", *p);
  }
  EMIT("\"");
  return FLOE_OK;
}

/* Avro names allow [A-Za-z_][A-Za-z0-9_]*. Iceberg Java's
 * AvroSchemaUtil.makeCompatibleName replaces a leading digit with "_<d>"
 * and any other character with "_x<HEX>"; the field id keeps the link. */
static bool avro_name_char(unsigned char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (!first && c >= '0' && c <= '9');
}

static int emit_avro_name(floe_buf *out, const char *name, floe_error *err) {
  bool valid = name[0] != '\0';
  for (size_t i = 0; name[i]; i++)
    if (!avro_name_char((unsigned char)name[i], i == 0)) valid = false;
  if (valid) return emit_json_string(out, name, err);
  EMIT("\"");
  const unsigned char *p = (const unsigned char *)name;
  bool first = true;
  while (*p) {
    uint32_t cp = *p;
    size_t n = 1;
    if (cp >= 0xF0 && p[1] && p[2] && p[3]) {
      cp = ((cp & 0x07) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
           (p[3] & 0x3Fu);
      n = 4;
    } else if (cp >= 0xE0 && p[1] && p[2]) {
      cp = ((cp & 0x0F) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
      n = 3;
    } else if (cp >= 0xC0 && p[1]) {
      cp = ((cp & 0x1F) << 6) | (p[1] & 0x3Fu);
      n = 2;
    }
    if (cp < 0x80 && avro_name_char((unsigned char)cp, first))
      EMIT("%c", (char)cp);
    else if (first && cp >= '0' && cp <= '9')
      EMIT("_%c", (char)cp);
    else
      EMIT("_x%" PRIX32, cp);
    first = false;
    p += n;
  }
  EMIT("\"");
  return FLOE_OK;
}

static const char *avro_primitive(uint8_t kind) {
  switch (kind) {
    case FLOE_MF_INT: return "int";
    case FLOE_MF_LONG: return "long";
    case FLOE_MF_STRING: return "string";
    case FLOE_MF_BINARY: return "bytes";
    case FLOE_MF_BOOLEAN: return "boolean";
    default: return NULL;
  }
}

static const char *iceberg_primitive(uint8_t kind) {
  switch (kind) {
    case FLOE_MF_INT: return "int";
    case FLOE_MF_LONG: return "long";
    case FLOE_MF_STRING: return "string";
    case FLOE_MF_BINARY: return "binary";
    case FLOE_MF_BOOLEAN: return "boolean";
    default: return NULL;
  }
}

/* Minimal bytes of a decimal's fixed for its precision (Java's
 * TypeUtil.decimalRequiredBytes): the first n with
 * floor(log10(2^(8n-1) - 1)) >= precision. */
static int32_t decimal_required_bytes(int32_t precision) {
  for (int32_t n = 1; n < 16; n++)
    if ((int32_t)floor((8.0 * n - 1.0) * log10(2.0)) >= precision) return n;
  return 16;
}

/* Avro type of a partition result type (Iceberg spec: Avro). Named types
 * (decimal_P_S, uuid_fixed, fixed_L) are defined once; later uses refer to
 * the name, as Avro requires. `defined` holds the names given so far. */
static int emit_partition_avro_type(floe_buf *out, const floe_iceberg_type *t,
                                    floe_buf *defined, floe_error *err) {
  char name[64];
  name[0] = '\0';
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: EMIT("\"boolean\""); return FLOE_OK;
    case FLOE_ICEBERG_INT: EMIT("\"int\""); return FLOE_OK;
    case FLOE_ICEBERG_LONG: EMIT("\"long\""); return FLOE_OK;
    case FLOE_ICEBERG_FLOAT: EMIT("\"float\""); return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE: EMIT("\"double\""); return FLOE_OK;
    case FLOE_ICEBERG_STRING: EMIT("\"string\""); return FLOE_OK;
    case FLOE_ICEBERG_BINARY: EMIT("\"bytes\""); return FLOE_OK;
    case FLOE_ICEBERG_DATE:
      EMIT("{\"type\":\"int\",\"logicalType\":\"date\"}");
      return FLOE_OK;
    case FLOE_ICEBERG_TIME:
      EMIT("{\"type\":\"long\",\"logicalType\":\"time-micros\"}");
      return FLOE_OK;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
      EMIT("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\","
           "\"adjust-to-utc\":%s}",
           t->id == FLOE_ICEBERG_TIMESTAMPTZ ? "true" : "false");
      return FLOE_OK;
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      EMIT("{\"type\":\"long\",\"logicalType\":\"timestamp-nanos\","
           "\"adjust-to-utc\":%s}",
           t->id == FLOE_ICEBERG_TIMESTAMPTZ_NS ? "true" : "false");
      return FLOE_OK;
    case FLOE_ICEBERG_UUID: snprintf(name, sizeof name, "uuid_fixed"); break;
    case FLOE_ICEBERG_FIXED:
      snprintf(name, sizeof name, "fixed_%" PRId32, t->length);
      break;
    case FLOE_ICEBERG_DECIMAL:
      snprintf(name, sizeof name, "decimal_%" PRId32 "_%" PRId32, t->precision,
               t->scale);
      break;
    default: {
      char text[64];
      floe_iceberg_type_format(t, text, sizeof text);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "partition type %s has no Avro mapping", text);
    }
  }
  /* A named type: define it, or refer to it by name. */
  size_t name_len = strlen(name);
  for (size_t i = 0; i < defined->len;) {
    size_t n = strlen((const char *)defined->data + i);
    if (n == name_len && memcmp(defined->data + i, name, n) == 0) {
      EMIT("\"%s\"", name);
      return FLOE_OK;
    }
    i += n + 1;
  }
  if (floe_buf_append(defined, name, name_len + 1) < 0)
    return floe_mf_nomem(err, "manifest schema");
  if (t->id == FLOE_ICEBERG_UUID)
    EMIT("{\"type\":\"fixed\",\"name\":\"uuid_fixed\",\"size\":16,"
         "\"logicalType\":\"uuid\"}");
  else if (t->id == FLOE_ICEBERG_FIXED)
    EMIT("{\"type\":\"fixed\",\"name\":\"%s\",\"size\":%" PRId32 "}", name,
         t->length);
  else
    EMIT("{\"type\":\"fixed\",\"name\":\"%s\",\"size\":%" PRId32
         ",\"logicalType\":\"decimal\",\"precision\":%" PRId32
         ",\"scale\":%" PRId32 "}",
         name, decimal_required_bytes(t->precision), t->precision, t->scale);
  return FLOE_OK;
}

static int emit_partition_avro(floe_buf *out, const floe_mf_partition *part,
                               floe_error *err) {
  floe_buf defined = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (floe_buf_appendf(out, "{\"type\":\"record\",\"name\":\"r102\",\"fields\":[") <
      0) {
    rc = floe_mf_nomem(err, "manifest schema");
    goto cleanup;
  }
  for (int32_t i = 0; part != NULL && i < part->spec->n_fields; i++) {
    const floe_iceberg_partition_field *pf = &part->spec->fields[i];
    if (floe_buf_appendf(out, "%s{\"name\":", i ? "," : "") < 0) {
      rc = floe_mf_nomem(err, "manifest schema");
      goto cleanup;
    }
    FLOE_TRY(emit_avro_name(out, pf->name, err));
    if (floe_buf_appendf(out, ",\"type\":[\"null\",") < 0) {
      rc = floe_mf_nomem(err, "manifest schema");
      goto cleanup;
    }
    rc = emit_partition_avro_type(out, &part->types[i], &defined, err);
    if (rc < 0) {
      floe_error_prefix(err, "partition field '%s'", pf->name);
      goto cleanup;
    }
    if (floe_buf_appendf(out, "],\"default\":null,\"field-id\":%" PRId32 "}",
                         pf->field_id) < 0) {
      rc = floe_mf_nomem(err, "manifest schema");
      goto cleanup;
    }
  }
  if (floe_buf_appendf(out, "]}") < 0) rc = floe_mf_nomem(err, "manifest schema");
cleanup:
  floe_buf_free(&defined);
  return rc;
}

static int emit_avro_fields(floe_buf *out, const floe_mf_field *fields,
                            int32_t n, int32_t version,
                            const floe_mf_partition *part, floe_error *err);

static int emit_avro_type(floe_buf *out, const floe_mf_field *f,
                          int32_t version, const floe_mf_partition *part,
                          floe_error *err) {
  switch (f->kind) {
    case FLOE_MF_STRUCT:
      EMIT("{\"type\":\"record\",\"name\":\"%s\",\"fields\":[", f->record_name);
      EMIT_TRY(emit_avro_fields(out, f->fields, f->n_fields, version, part, err));
      EMIT("]}");
      return FLOE_OK;
    case FLOE_MF_PARTITION: return emit_partition_avro(out, part, err);
    case FLOE_MF_LIST:
      EMIT("{\"type\":\"array\",\"items\":");
      if (f->value_kind == FLOE_MF_STRUCT) {
        EMIT("{\"type\":\"record\",\"name\":\"%s\",\"fields\":[",
             f->record_name);
        EMIT_TRY(
            emit_avro_fields(out, f->fields, f->n_fields, version, part, err));
        EMIT("]}");
      } else {
        EMIT("\"%s\"", avro_primitive(f->value_kind));
      }
      EMIT(",\"element-id\":%" PRId32 "}", f->value_id);
      return FLOE_OK;
    case FLOE_MF_MAP:
      /* Iceberg spec, Avro: maps with non-string keys are arrays of
       * key/value records named k<key-id>_v<value-id>. */
      EMIT("{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"k%" PRId32
           "_v%" PRId32 "\",\"fields\":[{\"name\":\"key\",\"type\":\"int\","
           "\"field-id\":%" PRId32 "},{\"name\":\"value\",\"type\":\"%s\","
           "\"field-id\":%" PRId32 "}]},\"logicalType\":\"map\"}",
           f->key_id, f->value_id, f->key_id, avro_primitive(f->value_kind),
           f->value_id);
      return FLOE_OK;
    default: EMIT("\"%s\"", avro_primitive(f->kind)); return FLOE_OK;
  }
}

static int emit_avro_fields(floe_buf *out, const floe_mf_field *fields,
                            int32_t n, int32_t version,
                            const floe_mf_partition *part, floe_error *err) {
  bool first = true;
  for (int32_t i = 0; i < n; i++) {
    const floe_mf_field *f = &fields[i];
    if (!floe_mf_present(f, version)) continue;
    bool optional = floe_mf_optional(f, version);
    EMIT("%s{\"name\":\"%s\",\"type\":%s", first ? "" : ",", f->name,
         optional ? "[\"null\"," : "");
    EMIT_TRY(emit_avro_type(out, f, version, part, err));
    if (optional) EMIT("]");
    if (f->doc != NULL) {
      EMIT(",\"doc\":");
      EMIT_TRY(emit_json_string(out, f->doc, err));
    }
    if (optional) EMIT(",\"default\":null");
    EMIT(",\"field-id\":%" PRId32 "}", f->id);
    first = false;
  }
  return FLOE_OK;
}

int floe_mf_avro_schema_json(const floe_mf_field *fields, int32_t n_fields,
                             const char *record_name, int32_t version,
                             const floe_mf_partition *partition, floe_buf *out,
                             floe_error *err) {
  EMIT("{\"type\":\"record\",\"name\":\"%s\",\"fields\":[", record_name);
  EMIT_TRY(emit_avro_fields(out, fields, n_fields, version, partition, err));
  EMIT("]}");
  return FLOE_OK;
}

/* Iceberg type strings as Java prints them ("decimal(9, 2)"). */
static void iceberg_type_text(const floe_iceberg_type *t, char *text,
                              size_t size) {
  if (t->id == FLOE_ICEBERG_DECIMAL)
    snprintf(text, size, "decimal(%" PRId32 ", %" PRId32 ")", t->precision,
             t->scale);
  else
    floe_iceberg_type_format(t, text, size);
}

static int emit_iceberg_fields(floe_buf *out, const floe_mf_field *fields,
                               int32_t n, int32_t version,
                               const floe_mf_partition *part, floe_error *err);

static int emit_iceberg_type(floe_buf *out, const floe_mf_field *f,
                             int32_t version, const floe_mf_partition *part,
                             floe_error *err) {
  switch (f->kind) {
    case FLOE_MF_STRUCT:
      EMIT("{\"type\":\"struct\",\"fields\":[");
      EMIT_TRY(
          emit_iceberg_fields(out, f->fields, f->n_fields, version, part, err));
      EMIT("]}");
      return FLOE_OK;
    case FLOE_MF_PARTITION:
      EMIT("{\"type\":\"struct\",\"fields\":[");
      for (int32_t i = 0; part != NULL && i < part->spec->n_fields; i++) {
        const floe_iceberg_partition_field *pf = &part->spec->fields[i];
        char text[64];
        iceberg_type_text(&part->types[i], text, sizeof text);
        EMIT("%s{\"id\":%" PRId32 ",\"name\":", i ? "," : "", pf->field_id);
        EMIT_TRY(emit_json_string(out, pf->name, err));
        EMIT(",\"required\":false,\"type\":\"%s\"}", text);
      }
      EMIT("]}");
      return FLOE_OK;
    case FLOE_MF_LIST:
      EMIT("{\"type\":\"list\",\"element-id\":%" PRId32 ",\"element\":",
           f->value_id);
      if (f->value_kind == FLOE_MF_STRUCT) {
        EMIT("{\"type\":\"struct\",\"fields\":[");
        EMIT_TRY(emit_iceberg_fields(out, f->fields, f->n_fields, version, part,
                                     err));
        EMIT("]}");
      } else {
        EMIT("\"%s\"", iceberg_primitive(f->value_kind));
      }
      EMIT(",\"element-required\":true}");
      return FLOE_OK;
    case FLOE_MF_MAP:
      EMIT("{\"type\":\"map\",\"key-id\":%" PRId32 ",\"key\":\"int\","
           "\"value-id\":%" PRId32 ",\"value\":\"%s\",\"value-required\":true}",
           f->key_id, f->value_id, iceberg_primitive(f->value_kind));
      return FLOE_OK;
    default: EMIT("\"%s\"", iceberg_primitive(f->kind)); return FLOE_OK;
  }
}

static int emit_iceberg_fields(floe_buf *out, const floe_mf_field *fields,
                               int32_t n, int32_t version,
                               const floe_mf_partition *part, floe_error *err) {
  bool first = true;
  for (int32_t i = 0; i < n; i++) {
    const floe_mf_field *f = &fields[i];
    if (!floe_mf_present(f, version)) continue;
    EMIT("%s{\"id\":%" PRId32 ",\"name\":\"%s\",\"required\":%s,\"type\":",
         first ? "" : ",", f->id, f->name,
         floe_mf_optional(f, version) ? "false" : "true");
    EMIT_TRY(emit_iceberg_type(out, f, version, part, err));
    if (f->doc != NULL) {
      EMIT(",\"doc\":");
      EMIT_TRY(emit_json_string(out, f->doc, err));
    }
    EMIT("}");
    first = false;
  }
  return FLOE_OK;
}

int floe_mf_iceberg_schema_json(const floe_mf_field *fields, int32_t n_fields,
                                int32_t version,
                                const floe_mf_partition *partition,
                                floe_buf *out, floe_error *err) {
  EMIT("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[");
  EMIT_TRY(emit_iceberg_fields(out, fields, n_fields, version, partition, err));
  EMIT("]}");
  return FLOE_OK;
}

/* ==== content files ===================================================== */

void floe_iceberg_content_file_free(floe_iceberg_content_file *file) {
  if (file == NULL) return;
  floe_free((void *)file->file_path);
  floe_free((void *)file->file_format);
  for (int32_t i = 0; file->partition != NULL && i < file->n_partition; i++)
    floe_iceberg_value_free(&file->partition[i]);
  floe_free(file->partition);
  for (int32_t i = 0; file->columns != NULL && i < file->n_columns; i++) {
    floe_free((void *)file->columns[i].lower_bound);
    floe_free((void *)file->columns[i].upper_bound);
  }
  floe_free(file->columns);
  floe_free((void *)file->split_offsets);
  floe_free((void *)file->equality_ids);
  floe_free((void *)file->key_metadata);
  floe_free((void *)file->referenced_data_file);
  memset(file, 0, sizeof *file);
}

/* floe_malloc'ed copy of n bytes (NULL in -> NULL out, *ok cleared on
 * allocation failure). */
static void *dup_bytes(const void *p, size_t n, bool *ok) {
  if (p == NULL) return NULL;
  void *copy = floe_malloc(n ? n : 1);
  if (copy == NULL) {
    *ok = false;
    return NULL;
  }
  if (n) memcpy(copy, p, n);
  return copy;
}

static char *dup_string(const char *s, bool *ok) {
  return s == NULL ? NULL : dup_bytes(s, strlen(s) + 1, ok);
}

int floe_iceberg_content_file_copy(floe_iceberg_content_file *out,
                                   const floe_iceberg_content_file *file,
                                   floe_error *err) {
  bool ok = true;
  *out = *file;
  out->file_path = NULL;
  out->file_format = NULL;
  out->partition = NULL;
  out->columns = NULL;
  out->split_offsets = NULL;
  out->equality_ids = NULL;
  out->key_metadata = NULL;
  out->referenced_data_file = NULL;
  out->file_path = dup_string(file->file_path, &ok);
  out->file_format = dup_string(file->file_format, &ok);
  out->referenced_data_file = dup_string(file->referenced_data_file, &ok);
  out->key_metadata = dup_bytes(file->key_metadata, file->key_metadata_len, &ok);
  if (file->split_offsets != NULL)
    out->split_offsets = dup_bytes(
        file->split_offsets, (size_t)file->n_split_offsets * sizeof(int64_t), &ok);
  if (file->equality_ids != NULL)
    out->equality_ids = dup_bytes(
        file->equality_ids, (size_t)file->n_equality_ids * sizeof(int32_t), &ok);
  if (ok && file->partition != NULL && file->n_partition > 0) {
    out->partition = floe_calloc((size_t)file->n_partition, sizeof *out->partition);
    if (out->partition == NULL) ok = false;
    for (int32_t i = 0; ok && i < file->n_partition; i++)
      if (floe_iceberg_value_copy(&out->partition[i], &file->partition[i]) < 0)
        ok = false;
  }
  if (ok && file->columns != NULL && file->n_columns > 0) {
    out->columns = floe_calloc((size_t)file->n_columns, sizeof *out->columns);
    if (out->columns == NULL) ok = false;
    for (int32_t i = 0; ok && i < file->n_columns; i++) {
      out->columns[i] = file->columns[i];
      out->columns[i].lower_bound = dup_bytes(
          file->columns[i].lower_bound, file->columns[i].lower_bound_len, &ok);
      out->columns[i].upper_bound = dup_bytes(
          file->columns[i].upper_bound, file->columns[i].upper_bound_len, &ok);
    }
  }
  if (!ok) {
    floe_iceberg_content_file_free(out);
    return floe_mf_nomem(err, "copy content file");
  }
  return FLOE_OK;
}

void floe_manifest_file_free(floe_manifest_file *file) {
  if (file == NULL) return;
  floe_free((void *)file->manifest_path);
  for (int32_t i = 0; file->partitions != NULL && i < file->n_partitions; i++) {
    floe_free((void *)file->partitions[i].lower_bound);
    floe_free((void *)file->partitions[i].upper_bound);
  }
  floe_free(file->partitions);
  floe_free((void *)file->key_metadata);
  memset(file, 0, sizeof *file);
}

int floe_manifest_file_copy(floe_manifest_file *out,
                            const floe_manifest_file *file, floe_error *err) {
  bool ok = true;
  *out = *file;
  out->manifest_path = NULL;
  out->partitions = NULL;
  out->key_metadata = NULL;
  out->manifest_path = dup_string(file->manifest_path, &ok);
  out->key_metadata = dup_bytes(file->key_metadata, file->key_metadata_len, &ok);
  if (ok && file->partitions != NULL && file->n_partitions > 0) {
    out->partitions =
        floe_calloc((size_t)file->n_partitions, sizeof *out->partitions);
    if (out->partitions == NULL) ok = false;
    for (int32_t i = 0; ok && i < file->n_partitions; i++) {
      out->partitions[i] = file->partitions[i];
      out->partitions[i].lower_bound = dup_bytes(
          file->partitions[i].lower_bound, file->partitions[i].lower_bound_len, &ok);
      out->partitions[i].upper_bound = dup_bytes(
          file->partitions[i].upper_bound, file->partitions[i].upper_bound_len, &ok);
    }
  }
  if (!ok) {
    floe_manifest_file_free(out);
    return floe_mf_nomem(err, "copy manifest file");
  }
  return FLOE_OK;
}

int floe_iceberg_content_file_set_metrics(
    floe_iceberg_content_file *file,
    const struct floe_parquet_file_metrics *metrics, floe_error *err) {
  if (file == NULL || metrics == NULL || metrics->n_columns < 0)
    return floe_error_set(err, FLOE_EINVAL, "set metrics: no file or metrics");
  floe_iceberg_column_metrics *columns = NULL;
  if (metrics->n_columns > 0) {
    columns = floe_calloc((size_t)metrics->n_columns, sizeof *columns);
    if (columns == NULL) return floe_mf_nomem(err, "set metrics");
  }
  for (int32_t i = 0; i < metrics->n_columns; i++) {
    const floe_parquet_column_metrics *m = &metrics->columns[i];
    floe_iceberg_column_metrics *c = &columns[i];
    c->field_id = m->field_id;
    c->has_column_size = c->has_value_count = c->has_null_count = true;
    c->column_size = m->column_size;
    c->value_count = m->value_count;
    c->null_count = m->null_count;
    c->has_nan_count = m->has_nan_count;
    c->nan_count = m->nan_count;
    c->lower_bound = m->lower_bound;
    c->lower_bound_len = m->lower_bound_len;
    c->upper_bound = m->upper_bound;
    c->upper_bound_len = m->upper_bound_len;
  }
  file->columns = columns;
  file->n_columns = metrics->n_columns;
  file->record_count = metrics->record_count;
  file->file_size_in_bytes = metrics->file_size;
  file->split_offsets = metrics->split_offsets;
  file->n_split_offsets = metrics->n_split_offsets;
  return FLOE_OK;
}

/* ==== partition values ================================================== */

/* Result types of a spec's fields against a schema. */
static int partition_result_types(const floe_iceberg_partition_spec *spec,
                                  const floe_iceberg_schema *schema,
                                  floe_iceberg_type *types, floe_error *err) {
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_partition_field *pf = &spec->fields[i];
    const floe_iceberg_field *source =
        schema != NULL ? floe_iceberg_schema_find_id(schema, pf->source_id) : NULL;
    if (source == NULL)
      return floe_error_set(err, FLOE_EINVAL,
                            "partition field '%s': source column id %" PRId32
                            " is not in schema %" PRId32,
                            pf->name, pf->source_id,
                            schema != NULL ? schema->schema_id : -1);
    int rc = floe_iceberg_transform_result_type(&pf->transform, &source->type,
                                                &types[i], err);
    if (rc < 0)
      return floe_error_prefix(err, "partition field '%s'", pf->name), rc;
  }
  return FLOE_OK;
}

/* The Avro value of a partition value (Iceberg spec: Avro type mapping).
 * Decimal bytes are placed in `arena`. */
static int partition_to_avro(const floe_iceberg_type *t,
                             const floe_iceberg_value *v, floe_arena *arena,
                             floe_avro_value *out, floe_error *err) {
  if (v->is_null) {
    *out = floe_avro_null();
    return FLOE_OK;
  }
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: *out = floe_avro_boolean(v->v.b); return FLOE_OK;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: *out = floe_avro_int(v->v.i32); return FLOE_OK;
    case FLOE_ICEBERG_LONG:
    case FLOE_ICEBERG_TIME:
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS: *out = floe_avro_long(v->v.i64); return FLOE_OK;
    case FLOE_ICEBERG_FLOAT: *out = floe_avro_float(v->v.f32); return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE: *out = floe_avro_double(v->v.f64); return FLOE_OK;
    case FLOE_ICEBERG_STRING:
      if (v->bytes == NULL && v->len > 0)
        return floe_error_set(err, FLOE_EINVAL, "value has %zu bytes and no data", v->len);
      *out = floe_avro_string_n((const char *)(v->bytes ? v->bytes : (const uint8_t *)""),
                                v->len);
      return FLOE_OK;
    case FLOE_ICEBERG_BINARY:
      if (v->bytes == NULL && v->len > 0)
        return floe_error_set(err, FLOE_EINVAL, "value has %zu bytes and no data", v->len);
      *out = floe_avro_bytes(v->bytes ? v->bytes : (const uint8_t *)"", v->len);
      return FLOE_OK;
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED: {
      size_t want = t->id == FLOE_ICEBERG_UUID ? 16 : (size_t)t->length;
      if (v->len != want || v->bytes == NULL)
        return floe_error_set(err, FLOE_EINVAL, "value has %zu bytes, not %zu",
                              v->len, want);
      *out = floe_avro_fixed(v->bytes, v->len);
      return FLOE_OK;
    }
    case FLOE_ICEBERG_DECIMAL: {
      floe_int128 limit = floe_int128_pow10(t->precision > 38 ? 38 : t->precision);
      if (v->v.dec >= limit || v->v.dec <= -limit) {
        char text[64];
        floe_decimal_format(v->v.dec, t->scale, text, sizeof text);
        return floe_error_set(err, FLOE_ERANGE,
                              "decimal value %s exceeds precision %" PRId32,
                              text, t->precision);
      }
      int32_t n = decimal_required_bytes(t->precision);
      uint8_t *bytes = floe_arena_alloc(arena, (size_t)n);
      if (bytes == NULL) return floe_mf_nomem(err, "manifest entry");
      floe_int128 x = v->v.dec;
      for (int32_t i = n - 1; i >= 0; i--) {
        bytes[i] = (uint8_t)(x & 0xff);
        x >>= 8; /* arithmetic shift: sign extension */
      }
      *out = floe_avro_fixed(bytes, (size_t)n);
      return FLOE_OK;
    }
    default: {
      char text[64];
      floe_iceberg_type_format(t, text, sizeof text);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "partition type %s has no Avro mapping", text);
    }
  }
}

/* Orders two non-null values of one type for partition summaries: numbers
 * by value (-0.0 before 0.0, as Java's Float.compare), decimals by unscaled
 * value, strings and bytes unsigned lexicographically (UTF-8 byte order is
 * code point order). */
static int compare_values(const floe_iceberg_type *t, const floe_iceberg_value *a,
                          const floe_iceberg_value *b) {
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: return (int)a->v.b - (int)b->v.b;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE:
      return (a->v.i32 > b->v.i32) - (a->v.i32 < b->v.i32);
    case FLOE_ICEBERG_FLOAT:
      if (a->v.f32 != b->v.f32) return a->v.f32 < b->v.f32 ? -1 : 1;
      return (int)!!signbit(b->v.f32) - (int)!!signbit(a->v.f32);
    case FLOE_ICEBERG_DOUBLE:
      if (a->v.f64 != b->v.f64) return a->v.f64 < b->v.f64 ? -1 : 1;
      return (int)!!signbit(b->v.f64) - (int)!!signbit(a->v.f64);
    case FLOE_ICEBERG_DECIMAL: return (a->v.dec > b->v.dec) - (a->v.dec < b->v.dec);
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_UUID: {
      size_t n = a->len < b->len ? a->len : b->len;
      int c = n ? memcmp(a->bytes, b->bytes, n) : 0;
      if (c != 0) return c;
      return (a->len > b->len) - (a->len < b->len);
    }
    default: return (a->v.i64 > b->v.i64) - (a->v.i64 < b->v.i64);
  }
}

/* ==== writer ============================================================ */

typedef struct field_stats {
  bool contains_null, contains_nan, has_bounds;
  floe_iceberg_value lower, upper; /* owned bytes */
  uint8_t *lower_bytes, *upper_bytes;
  size_t lower_len, upper_len;
} field_stats;

struct floe_manifest_writer {
  floe_io_writer *file;
  floe_avro_writer *avro;
  char *path;
  int32_t version;
  floe_manifest_content content;
  int64_t snapshot_id;
  int32_t spec_id;
  int32_t n_fields;
  floe_iceberg_type *types;
  char **field_names;
  field_stats *stats;
  floe_manifest_partition_summary *summaries;
  floe_arena arena;
  int32_t added_files, existing_files, deleted_files;
  int64_t added_rows, existing_rows, deleted_rows;
  bool has_min_sequence;
  int64_t min_sequence;
  uint64_t n_entries;
  bool closed;
};

void floe_manifest_writer_free(floe_manifest_writer *w) {
  if (w == NULL) return;
  floe_avro_writer_free(w->avro);
  if (w->file != NULL) floe_io_writer_abort(w->file);
  for (int32_t i = 0; w->stats != NULL && i < w->n_fields; i++) {
    floe_iceberg_value_free(&w->stats[i].lower);
    floe_iceberg_value_free(&w->stats[i].upper);
    floe_free(w->stats[i].lower_bytes);
    floe_free(w->stats[i].upper_bytes);
  }
  for (int32_t i = 0; w->field_names != NULL && i < w->n_fields; i++)
    floe_free(w->field_names[i]);
  floe_free(w->field_names);
  floe_free(w->stats);
  floe_free(w->summaries);
  floe_free(w->types);
  floe_free(w->path);
  floe_arena_free(&w->arena);
  floe_free(w);
}

int floe_manifest_writer_open(floe_manifest_writer **out, floe_io *io,
                              const char *path,
                              const floe_manifest_writer_options *options,
                              floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_writer *w = NULL;
  floe_buf avro_json = FLOE_BUF_INIT, iceberg_json = FLOE_BUF_INIT;
  char *schema_json = NULL, *spec_json = NULL;
  *out = NULL;
  if (io == NULL || path == NULL || options == NULL || options->schema == NULL ||
      options->spec == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest writer: io, path, schema and spec are required");
  int32_t version = options->format_version ? options->format_version : 2;
  if (version < 1 || version > 3)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: unsupported format version %" PRId32, path,
                          version);
  if (version == 1 && options->content != FLOE_MANIFEST_DATA)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: format v1 has no delete manifests", path);
  if (version == 1 && options->snapshot_id == 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: format v1 requires a snapshot id "
                          "(Iceberg spec: Manifests, snapshot_id required in v1)",
                          path);
  const floe_iceberg_partition_spec *spec = options->spec;
  for (int32_t i = 0; i < spec->n_fields; i++)
    if (spec->fields[i].transform.kind == FLOE_TRANSFORM_UNKNOWN)
      return floe_error_set(err, FLOE_EINVAL,
                            "manifest %s: partition field '%s' has unknown "
                            "transform '%s' (Iceberg spec: Partitioning, writers "
                            "must not commit with unknown transforms)",
                            path, spec->fields[i].name,
                            spec->fields[i].transform_text
                                ? spec->fields[i].transform_text
                                : "?");

  w = floe_calloc(1, sizeof *w);
  if (w == NULL) return floe_mf_nomem(err, "manifest writer");
  floe_arena_init(&w->arena, 0);
  w->version = version;
  w->content = options->content;
  w->snapshot_id = options->snapshot_id;
  w->spec_id = spec->spec_id;
  w->n_fields = spec->n_fields;
  w->path = floe_strdup(path);
  if (w->path == NULL) {
    rc = floe_mf_nomem(err, "manifest writer");
    goto cleanup;
  }
  if (w->n_fields > 0) {
    w->types = floe_calloc((size_t)w->n_fields, sizeof *w->types);
    w->stats = floe_calloc((size_t)w->n_fields, sizeof *w->stats);
    w->summaries = floe_calloc((size_t)w->n_fields, sizeof *w->summaries);
    w->field_names = floe_calloc((size_t)w->n_fields, sizeof *w->field_names);
    if (w->types == NULL || w->stats == NULL || w->summaries == NULL ||
        w->field_names == NULL) {
      rc = floe_mf_nomem(err, "manifest writer");
      goto cleanup;
    }
    for (int32_t i = 0; i < w->n_fields; i++) {
      w->stats[i].lower = floe_iceberg_null_value();
      w->stats[i].upper = floe_iceberg_null_value();
      w->field_names[i] = floe_strdup(spec->fields[i].name);
      if (w->field_names[i] == NULL) {
        rc = floe_mf_nomem(err, "manifest writer");
        goto cleanup;
      }
    }
  }
  rc = partition_result_types(spec, options->schema, w->types, err);
  if (rc < 0) goto prefix;

  floe_mf_partition part = {spec, w->types};
  FLOE_TRY(floe_mf_avro_schema_json(entry_fields, N_ENTRY_FIELDS, "manifest_entry",
                                    version, &part, &avro_json, err));
  FLOE_TRY(floe_mf_iceberg_schema_json(entry_fields, N_ENTRY_FIELDS, version,
                                       &part, &iceberg_json, err));
  if (floe_buf_terminate(&avro_json) < 0 || floe_buf_terminate(&iceberg_json) < 0) {
    rc = floe_mf_nomem(err, "manifest writer");
    goto cleanup;
  }
  rc = floe_iceberg_schema_to_json(options->schema, &schema_json, err);
  if (rc < 0) goto prefix;
  rc = floe_iceberg_partition_spec_to_json(spec, true, &spec_json, err);
  if (rc < 0) goto prefix;

  /* Iceberg spec: Manifests, "Manifest Metadata". */
  char schema_id[16], spec_id[16], format_version[8];
  snprintf(schema_id, sizeof schema_id, "%" PRId32, options->schema->schema_id);
  snprintf(spec_id, sizeof spec_id, "%" PRId32, spec->spec_id);
  snprintf(format_version, sizeof format_version, "%" PRId32, version);
  const char *content = options->content == FLOE_MANIFEST_DELETES ? "deletes" : "data";
  floe_avro_metadata meta[7];
  size_t n_meta = 0;
#define META(k, v) \
  meta[n_meta++] = (floe_avro_metadata){k, (const uint8_t *)(v), strlen(v)}
  META("schema", schema_json);
  META("schema-id", schema_id);
  META("partition-spec", spec_json);
  META("partition-spec-id", spec_id);
  META("format-version", format_version);
  if (version >= 2) META("content", content);
  META("iceberg.schema", (const char *)iceberg_json.data);
#undef META

  floe_avro_writer_config config;
  memset(&config, 0, sizeof config);
  config.schema_json = (const char *)avro_json.data;
  config.schema_len = avro_json.len;
  config.metadata = meta;
  config.metadata_count = n_meta;
  config.codec = FLOE_AVRO_CODEC_DEFLATE; /* as Iceberg Java writes */

  rc = floe_io_create(io, path, &w->file, err);
  if (rc < 0) goto prefix;
  rc = floe_avro_writer_open_sink(&w->avro, &config, floe_mf_io_sink, w->file, err);
  if (rc < 0) goto prefix;
  *out = w;
  w = NULL;
  goto cleanup;
prefix:
  floe_error_prefix(err, "manifest %s", path);
cleanup:
  floe_buf_free(&avro_json);
  floe_buf_free(&iceberg_json);
  floe_free(schema_json);
  floe_free(spec_json);
  floe_manifest_writer_free(w);
  return rc;
}

/* Builds a map-as-array value (k/v records) for one metric of the columns;
 * null when the file has no columns. */
static int metric_map(floe_manifest_writer *w, const floe_iceberg_content_file *f,
                      int32_t id, floe_avro_value *out, floe_error *err) {
  if (f->columns == NULL || f->n_columns == 0) {
    *out = floe_avro_null();
    return FLOE_OK;
  }
  floe_avro_value *items =
      floe_arena_calloc(&w->arena, (size_t)f->n_columns, sizeof *items);
  floe_avro_value *kv =
      floe_arena_calloc(&w->arena, (size_t)f->n_columns * 2, sizeof *kv);
  if (items == NULL || kv == NULL) return floe_mf_nomem(err, "manifest entry");
  size_t n = 0;
  for (int32_t i = 0; i < f->n_columns; i++) {
    const floe_iceberg_column_metrics *c = &f->columns[i];
    floe_avro_value value;
    switch (id) {
      case 108:
        if (!c->has_column_size) continue;
        value = floe_avro_long(c->column_size);
        break;
      case 109:
        if (!c->has_value_count) continue;
        value = floe_avro_long(c->value_count);
        break;
      case 110:
        if (!c->has_null_count) continue;
        value = floe_avro_long(c->null_count);
        break;
      case 137:
        if (!c->has_nan_count) continue;
        value = floe_avro_long(c->nan_count);
        break;
      case 125:
        if (c->lower_bound == NULL) continue;
        value = floe_avro_bytes(c->lower_bound, c->lower_bound_len);
        break;
      default:
        if (c->upper_bound == NULL) continue;
        value = floe_avro_bytes(c->upper_bound, c->upper_bound_len);
        break;
    }
    kv[2 * n] = floe_avro_int(c->field_id);
    kv[2 * n + 1] = value;
    items[n] = floe_avro_record(&kv[2 * n], 2);
    n++;
  }
  *out = floe_avro_array(items, n);
  return FLOE_OK;
}

static floe_avro_value opt_long(bool has, int64_t v) {
  return has ? floe_avro_long(v) : floe_avro_null();
}

static int data_file_value(floe_manifest_writer *w,
                           const floe_iceberg_content_file *f,
                           floe_avro_value *fields, size_t *n_out,
                           floe_avro_value *partition, floe_error *err) {
  size_t n = 0;
  for (int32_t i = 0; i < N_DATA_FILE_FIELDS; i++) {
    const floe_mf_field *d = &data_file_fields[i];
    if (!floe_mf_present(d, w->version)) continue;
    floe_avro_value v = floe_avro_null();
    switch (d->id) {
      case 134: v = floe_avro_int((int32_t)f->content); break;
      case 100: v = floe_avro_string(f->file_path); break;
      case 101: v = floe_avro_string(f->file_format); break;
      case 102: v = *partition; break;
      case 103: v = floe_avro_long(f->record_count); break;
      case 104: v = floe_avro_long(f->file_size_in_bytes); break;
      case 105: v = floe_avro_long(V1_BLOCK_SIZE_DEFAULT); break;
      case 108:
      case 109:
      case 110:
      case 137:
      case 125:
      case 128: {
        int rc = metric_map(w, f, d->id, &v, err);
        if (rc < 0) return rc;
        break;
      }
      case 131:
        if (f->key_metadata != NULL)
          v = floe_avro_bytes(f->key_metadata, f->key_metadata_len);
        break;
      case 132:
      case 135: {
        bool offsets = d->id == 132;
        const void *src = offsets ? (const void *)f->split_offsets
                                  : (const void *)f->equality_ids;
        int32_t count = offsets ? f->n_split_offsets : f->n_equality_ids;
        if (src == NULL || count < 0) break;
        floe_avro_value *items =
            floe_arena_calloc(&w->arena, (size_t)count + 1, sizeof *items);
        if (items == NULL) return floe_mf_nomem(err, "manifest entry");
        for (int32_t k = 0; k < count; k++)
          items[k] = offsets ? floe_avro_long(f->split_offsets[k])
                             : floe_avro_int(f->equality_ids[k]);
        v = floe_avro_array(items, (size_t)count);
        break;
      }
      case 140:
        if (f->has_sort_order_id) v = floe_avro_int(f->sort_order_id);
        break;
      case 142: v = opt_long(f->has_first_row_id, f->first_row_id); break;
      case 143:
        if (f->referenced_data_file != NULL)
          v = floe_avro_string(f->referenced_data_file);
        break;
      case 144: v = opt_long(f->has_content_offset, f->content_offset); break;
      case 145:
        v = opt_long(f->has_content_offset, f->content_size_in_bytes);
        break;
      default: break;
    }
    fields[n++] = v;
  }
  *n_out = n;
  return FLOE_OK;
}

static int update_stats(floe_manifest_writer *w, const floe_iceberg_value *values,
                        floe_error *err) {
  for (int32_t i = 0; i < w->n_fields; i++) {
    field_stats *s = &w->stats[i];
    const floe_iceberg_type *t = &w->types[i];
    const floe_iceberg_value *v = &values[i];
    if (v->is_null) {
      s->contains_null = true;
      continue;
    }
    if ((t->id == FLOE_ICEBERG_FLOAT && isnan(v->v.f32)) ||
        (t->id == FLOE_ICEBERG_DOUBLE && isnan(v->v.f64))) {
      s->contains_nan = true; /* NaN never bounds (Iceberg spec: manifest lists) */
      continue;
    }
    if (!s->has_bounds || compare_values(t, v, &s->lower) < 0) {
      floe_iceberg_value copy;
      if (floe_iceberg_value_copy(&copy, v) < 0)
        return floe_mf_nomem(err, "partition summary");
      floe_iceberg_value_free(&s->lower);
      s->lower = copy;
    }
    if (!s->has_bounds || compare_values(t, v, &s->upper) > 0) {
      floe_iceberg_value copy;
      if (floe_iceberg_value_copy(&copy, v) < 0)
        return floe_mf_nomem(err, "partition summary");
      floe_iceberg_value_free(&s->upper);
      s->upper = copy;
    }
    s->has_bounds = true;
  }
  return FLOE_OK;
}

int floe_manifest_writer_add(floe_manifest_writer *w,
                             const floe_manifest_entry *entry, floe_error *err) {
  int rc = FLOE_OK;
  if (w == NULL || entry == NULL)
    return floe_error_set(err, FLOE_EINVAL, "manifest writer: no entry");
  const floe_iceberg_content_file *f = &entry->file;
  uint64_t index = w->n_entries;
  const char *file_path = f->file_path ? f->file_path : "(null)";
  if (w->closed)
    return floe_error_set(err, FLOE_EINVAL, "manifest %s: writer is closed", w->path);
  if (f->file_path == NULL || f->file_format == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: entry %" PRIu64 ": file_path and "
                          "file_format are required",
                          w->path, index);
  if (entry->status < FLOE_ENTRY_EXISTING || entry->status > FLOE_ENTRY_DELETED)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: entry %" PRIu64 " ('%s'): bad status %d",
                          w->path, index, file_path, (int)entry->status);
  bool delete_file = f->content == FLOE_CONTENT_POSITION_DELETES ||
                     f->content == FLOE_CONTENT_EQUALITY_DELETES;
  if (f->content != FLOE_CONTENT_DATA && !delete_file)
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: entry %" PRIu64 " ('%s'): bad content %d",
                          w->path, index, file_path, (int)f->content);
  if (delete_file != (w->content == FLOE_MANIFEST_DELETES))
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: entry %" PRIu64 " ('%s'): a %s file cannot "
                          "go in a %s manifest (Iceberg spec: Manifests)",
                          w->path, index, file_path,
                          delete_file ? "delete" : "data",
                          w->content == FLOE_MANIFEST_DELETES ? "delete" : "data");
  if (f->n_partition != w->n_fields || (w->n_fields > 0 && f->partition == NULL))
    return floe_error_set(err, FLOE_EINVAL,
                          "manifest %s: entry %" PRIu64 " ('%s'): partition tuple "
                          "has %" PRId32 " values, spec %" PRId32 " has %" PRId32
                          " fields",
                          w->path, index, file_path, f->n_partition, w->spec_id,
                          w->n_fields);

  /* Tracking fields (Iceberg spec: Manifest Entry Fields; Sequence Number
   * Inheritance). ADDED: this snapshot's id (or null to inherit when the
   * writer has none), data sequence number null unless the caller gives an
   * older one explicitly, file sequence number always null. EXISTING and
   * DELETED keep their original sequence numbers, which must be known; a
   * DELETED entry records the snapshot that deleted it. */
  floe_avro_value snapshot = floe_avro_null(), sequence = floe_avro_null(),
                  file_sequence = floe_avro_null();
  int64_t data_sequence = 0;
  bool has_data_sequence = false;
  if (entry->status == FLOE_ENTRY_ADDED) {
    if (w->snapshot_id != 0) snapshot = floe_avro_long(w->snapshot_id);
    if (entry->has_sequence_number) {
      sequence = floe_avro_long(entry->sequence_number);
      has_data_sequence = true;
      data_sequence = entry->sequence_number;
    }
  } else {
    int64_t sid = entry->snapshot_id;
    bool has_sid = entry->has_snapshot_id;
    if (entry->status == FLOE_ENTRY_DELETED && w->snapshot_id != 0) {
      sid = w->snapshot_id;
      has_sid = true;
    }
    if (!has_sid && w->version == 1)
      return floe_error_set(err, FLOE_EINVAL,
                            "manifest %s: entry %" PRIu64 " ('%s'): %s entry has "
                            "no snapshot id",
                            w->path, index, file_path,
                            entry->status == FLOE_ENTRY_EXISTING ? "EXISTING"
                                                                 : "DELETED");
    if (has_sid) snapshot = floe_avro_long(sid);
    if (w->version >= 2) {
      if (!entry->has_sequence_number || !entry->has_file_sequence_number)
        return floe_error_set(
            err, FLOE_EINVAL,
            "manifest %s: entry %" PRIu64 " ('%s'): %s entry needs its data and "
            "file sequence numbers (Iceberg spec: Sequence Number Inheritance)",
            w->path, index, file_path,
            entry->status == FLOE_ENTRY_EXISTING ? "EXISTING" : "DELETED");
      sequence = floe_avro_long(entry->sequence_number);
      file_sequence = floe_avro_long(entry->file_sequence_number);
      has_data_sequence = true;
      data_sequence = entry->sequence_number;
    }
  }

  floe_arena_reset(&w->arena);
  floe_avro_value *part_values = NULL;
  if (w->n_fields > 0) {
    part_values = floe_arena_calloc(&w->arena, (size_t)w->n_fields, sizeof *part_values);
    if (part_values == NULL) return floe_mf_nomem(err, "manifest entry");
  }
  for (int32_t i = 0; i < w->n_fields; i++) {
    rc = partition_to_avro(&w->types[i], &f->partition[i], &w->arena,
                           &part_values[i], err);
    if (rc < 0)
      return floe_error_prefix(err,
                               "manifest %s: entry %" PRIu64 " ('%s'): partition "
                               "field '%s'",
                               w->path, index, file_path, w->field_names[i]),
             rc;
  }
  floe_avro_value partition = floe_avro_record(part_values, (size_t)w->n_fields);
  floe_avro_value df_fields[N_DATA_FILE_FIELDS];
  size_t n_df = 0;
  rc = data_file_value(w, f, df_fields, &n_df, &partition, err);
  if (rc < 0) return rc;
  floe_avro_value data_file = floe_avro_record(df_fields, n_df);

  floe_avro_value e_fields[5];
  size_t n_e = 0;
  e_fields[n_e++] = floe_avro_int((int32_t)entry->status);
  e_fields[n_e++] = snapshot;
  if (w->version >= 2) {
    e_fields[n_e++] = sequence;
    e_fields[n_e++] = file_sequence;
  }
  e_fields[n_e++] = data_file;
  floe_avro_value record = floe_avro_record(e_fields, n_e);
  rc = floe_avro_writer_append(w->avro, &record, err);
  if (rc < 0)
    return floe_error_prefix(err, "manifest %s: entry %" PRIu64 " ('%s')", w->path,
                             index, file_path),
           rc;

  /* Java's ManifestWriter: partition stats over every entry, the minimum
   * data sequence number over live entries with an explicit one. */
  rc = update_stats(w, f->partition, err);
  if (rc < 0) return rc;
  if (entry->status != FLOE_ENTRY_DELETED && has_data_sequence &&
      (!w->has_min_sequence || data_sequence < w->min_sequence)) {
    w->has_min_sequence = true;
    w->min_sequence = data_sequence;
  }
  switch (entry->status) {
    case FLOE_ENTRY_ADDED:
      w->added_files++;
      w->added_rows += f->record_count;
      break;
    case FLOE_ENTRY_EXISTING:
      w->existing_files++;
      w->existing_rows += f->record_count;
      break;
    default:
      w->deleted_files++;
      w->deleted_rows += f->record_count;
      break;
  }
  w->n_entries++;
  return FLOE_OK;
}

static int value_bytes(const floe_iceberg_type *t, const floe_iceberg_value *v,
                       uint8_t **out, size_t *out_len, floe_error *err) {
  floe_buf buf = FLOE_BUF_INIT;
  int rc = floe_iceberg_value_to_binary(t, v, &buf, err);
  if (rc < 0) {
    floe_buf_free(&buf);
    return rc == FLOE_ENOMEM ? floe_mf_nomem(err, "partition summary") : rc;
  }
  if (buf.data == NULL && floe_buf_reserve(&buf, 1) < 0)
    return floe_mf_nomem(err, "partition summary");
  *out = floe_buf_detach(&buf, out_len);
  return FLOE_OK;
}

int floe_manifest_writer_close(floe_manifest_writer *w, floe_manifest_file *out,
                               floe_error *err) {
  int rc;
  if (w == NULL || out == NULL)
    return floe_error_set(err, FLOE_EINVAL, "manifest writer: nothing to close");
  if (w->closed)
    return floe_error_set(err, FLOE_EINVAL, "manifest %s: already closed", w->path);
  /* Summaries first: a failure here leaves the file unpublished. */
  for (int32_t i = 0; i < w->n_fields; i++) {
    field_stats *s = &w->stats[i];
    floe_manifest_partition_summary *p = &w->summaries[i];
    memset(p, 0, sizeof *p);
    p->contains_null = s->contains_null;
    p->has_contains_nan = true; /* Java writes false for non-float fields */
    p->contains_nan = s->contains_nan;
    if (s->has_bounds) {
      if (s->lower_bytes == NULL) {
        rc = value_bytes(&w->types[i], &s->lower, &s->lower_bytes, &s->lower_len, err);
        if (rc < 0) goto failed;
        rc = value_bytes(&w->types[i], &s->upper, &s->upper_bytes, &s->upper_len, err);
        if (rc < 0) goto failed;
      }
      p->lower_bound = s->lower_bytes;
      p->lower_bound_len = s->lower_len;
      p->upper_bound = s->upper_bytes;
      p->upper_bound_len = s->upper_len;
    }
  }
  rc = floe_avro_writer_close(w->avro, err);
  if (rc < 0) goto failed;
  floe_io_writer *file = w->file;
  w->file = NULL;
  rc = floe_io_writer_close(file, err);
  if (rc < 0) goto failed;
  w->closed = true;

  memset(out, 0, sizeof *out);
  out->manifest_path = w->path;
  out->manifest_length = (int64_t)floe_avro_writer_bytes_written(w->avro);
  out->partition_spec_id = w->spec_id;
  out->content = w->content;
  out->sequence_number = 0; /* assigned by floe_manifest_list_write */
  out->min_sequence_number = w->has_min_sequence ? w->min_sequence : -1;
  out->added_snapshot_id = w->snapshot_id;
  out->added_files_count = w->added_files;
  out->existing_files_count = w->existing_files;
  out->deleted_files_count = w->deleted_files;
  out->added_rows_count = w->added_rows;
  out->existing_rows_count = w->existing_rows;
  out->deleted_rows_count = w->deleted_rows;
  out->n_partitions = w->n_fields;
  out->partitions = w->summaries;
  floe_debug_crash_point("after_manifest"); /* the manifest is complete on storage */
  return FLOE_OK;
failed:
  return floe_error_prefix(err, "manifest %s: close", w->path), rc;
}

/* ==== reader ============================================================ */

#define MAX_DATA_FILE_ID 146

struct floe_manifest_reader {
  char *bytes;
  size_t len;
  char *path;
  floe_avro_reader *avro;
  int32_t version;
  floe_manifest_content content;
  int32_t spec_id;
  floe_iceberg_schema *header_schema;
  floe_iceberg_partition_spec *header_spec;
  const floe_iceberg_schema *schema;
  const floe_iceberg_partition_spec *spec;
  floe_iceberg_type *part_types; /* spec->n_fields */
  long *part_index;              /* index in the r102 record, or -1 */
  long e_status, e_snapshot, e_sequence, e_file_sequence, e_data_file;
  long df[MAX_DATA_FILE_ID];
  long part_field; /* index of data_file.partition */
  bool has_list;
  int64_t list_snapshot_id, list_sequence;
  bool list_has_first_row_id;
  int64_t next_row_id;
  floe_arena arena;
  floe_manifest_entry entry;
  uint64_t n_read;
};

void floe_manifest_reader_free(floe_manifest_reader *r) {
  if (r == NULL) return;
  floe_avro_reader_free(r->avro);
  floe_free(r->bytes);
  floe_free(r->path);
  floe_iceberg_schema_free(r->header_schema);
  floe_iceberg_partition_spec_free(r->header_spec);
  floe_free(r->part_types);
  floe_free(r->part_index);
  floe_arena_free(&r->arena);
  floe_free(r);
}

static const char *header_string(const floe_avro_reader *avro, const char *key) {
  const floe_avro_metadata *m = floe_avro_reader_metadata_find(avro, key);
  return m != NULL ? (const char *)m->value : NULL; /* NUL-terminated */
}

static bool parse_int(const char *text, int64_t *out) {
  if (text == NULL || *text == '\0') return false;
  char *end;
  long long v = strtoll(text, &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

/* The Iceberg type an Avro partition field's type maps back to (Iceberg
 * spec: Avro), for partition fields whose source column floe cannot find. */
static bool type_from_avro(const floe_avro_node *node, floe_iceberg_type *out) {
  node = floe_mf_unwrap(node);
  if (node == NULL) return false;
  const char *lt = node->logical_type;
  const char *utc = NULL;
  switch (node->type) {
    case FLOE_AVRO_BOOLEAN: *out = floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN); return true;
    case FLOE_AVRO_INT:
      *out = floe_iceberg_type_of(lt && strcmp(lt, "date") == 0 ? FLOE_ICEBERG_DATE
                                                                : FLOE_ICEBERG_INT);
      return true;
    case FLOE_AVRO_LONG: {
      char *adj = floe_avro_node_attr_json(node, "adjust-to-utc");
      utc = adj != NULL && strcmp(adj, "true") == 0 ? "true" : NULL;
      floe_free(adj);
      if (lt && strcmp(lt, "time-micros") == 0)
        *out = floe_iceberg_type_of(FLOE_ICEBERG_TIME);
      else if (lt && strcmp(lt, "timestamp-micros") == 0)
        *out = floe_iceberg_type_of(utc ? FLOE_ICEBERG_TIMESTAMPTZ : FLOE_ICEBERG_TIMESTAMP);
      else if (lt && strcmp(lt, "timestamp-nanos") == 0)
        *out = floe_iceberg_type_of(utc ? FLOE_ICEBERG_TIMESTAMPTZ_NS
                                        : FLOE_ICEBERG_TIMESTAMP_NS);
      else
        *out = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
      return true;
    }
    case FLOE_AVRO_FLOAT: *out = floe_iceberg_type_of(FLOE_ICEBERG_FLOAT); return true;
    case FLOE_AVRO_DOUBLE: *out = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE); return true;
    case FLOE_AVRO_STRING: *out = floe_iceberg_type_of(FLOE_ICEBERG_STRING); return true;
    case FLOE_AVRO_BYTES:
      if (lt && strcmp(lt, "decimal") == 0)
        *out = floe_iceberg_decimal(node->precision, node->scale);
      else
        *out = floe_iceberg_type_of(FLOE_ICEBERG_BINARY);
      return true;
    case FLOE_AVRO_FIXED:
      if (lt && strcmp(lt, "decimal") == 0)
        *out = floe_iceberg_decimal(node->precision, node->scale);
      else if (lt && strcmp(lt, "uuid") == 0 && node->fixed_size == 16)
        *out = floe_iceberg_type_of(FLOE_ICEBERG_UUID);
      else
        *out = floe_iceberg_fixed((int32_t)node->fixed_size);
      return true;
    default: return false;
  }
}

/* Decodes an Avro partition value as Iceberg type t; bytes are borrowed. */
static int partition_from_avro(const floe_iceberg_type *t, const floe_avro_value *v,
                               floe_iceberg_value *out, floe_error *err) {
  *out = floe_iceberg_null_value();
  if (v == NULL || v->type == FLOE_AVRO_NULL) return FLOE_OK;
  out->is_null = false;
  floe_avro_type at = v->type;
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN:
      if (at != FLOE_AVRO_BOOLEAN) break;
      out->v.b = v->u.boolean != 0;
      return FLOE_OK;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE:
      if (at != FLOE_AVRO_INT) break;
      out->v.i32 = v->u.i;
      return FLOE_OK;
    case FLOE_ICEBERG_LONG:
    case FLOE_ICEBERG_TIME:
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      if (at == FLOE_AVRO_LONG) out->v.i64 = v->u.l;
      else if (at == FLOE_AVRO_INT) out->v.i64 = v->u.i; /* promoted int */
      else break;
      return FLOE_OK;
    case FLOE_ICEBERG_FLOAT:
      if (at != FLOE_AVRO_FLOAT) break;
      out->v.f32 = v->u.f;
      return FLOE_OK;
    case FLOE_ICEBERG_DOUBLE:
      if (at == FLOE_AVRO_DOUBLE) out->v.f64 = v->u.d;
      else if (at == FLOE_AVRO_FLOAT) out->v.f64 = v->u.f; /* promoted float */
      else break;
      return FLOE_OK;
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_UUID:
      if (at != FLOE_AVRO_STRING && at != FLOE_AVRO_BYTES && at != FLOE_AVRO_FIXED)
        break;
      if ((t->id == FLOE_ICEBERG_UUID && v->u.bytes.len != 16) ||
          (t->id == FLOE_ICEBERG_FIXED && v->u.bytes.len != (size_t)t->length))
        return floe_error_set(err, FLOE_EFORMAT, "value has %zu bytes",
                              v->u.bytes.len);
      out->bytes = v->u.bytes.data;
      out->len = v->u.bytes.len;
      return FLOE_OK;
    case FLOE_ICEBERG_DECIMAL:
      if (at != FLOE_AVRO_FIXED && at != FLOE_AVRO_BYTES) break;
      return floe_iceberg_value_from_binary(t, v->u.bytes.data, v->u.bytes.len,
                                            out, err);
    default: break;
  }
  char text[64];
  floe_iceberg_type_format(t, text, sizeof text);
  return floe_error_set(err, FLOE_EFORMAT, "Avro %s value for a %s field",
                        floe_avro_type_name(at), text);
}

/* Parses the header's schema and partition spec and resolves the types of
 * the partition tuple. */
static int reader_resolve_partition(floe_manifest_reader *r,
                                    const floe_avro_node *partition_node,
                                    const floe_iceberg_metadata *metadata,
                                    const floe_manifest_file *list_entry,
                                    floe_error *err) {
  int rc = FLOE_OK;
  const floe_avro_reader *avro = r->avro;
  int64_t id;
  bool has_spec_id = parse_int(header_string(avro, "partition-spec-id"), &id);
  r->spec_id = has_spec_id ? (int32_t)id
               : list_entry != NULL ? list_entry->partition_spec_id
                                    : 0;
  const char *schema_text = header_string(avro, "schema");
  if (schema_text != NULL) {
    floe_error ignored = {0};
    /* A schema floe cannot parse is not fatal: the partition types can
     * still come from the table metadata or the Avro schema. */
    if (floe_iceberg_schema_parse(&r->header_schema, schema_text,
                                  strlen(schema_text), &ignored) ==
        FLOE_ENOMEM)
      return floe_mf_nomem(err, "manifest header schema");
  }
  r->schema = r->header_schema;
  if (r->schema == NULL && metadata != NULL) {
    bool has_schema_id = parse_int(header_string(avro, "schema-id"), &id);
    r->schema = has_schema_id ? floe_iceberg_metadata_schema(metadata, (int32_t)id)
                              : NULL;
    if (r->schema == NULL) r->schema = floe_iceberg_metadata_current_schema(metadata);
  }

  const char *spec_text = header_string(avro, "partition-spec");
  if (spec_text != NULL) {
    floe_buf json = FLOE_BUF_INIT;
    if (floe_buf_appendf(&json, "{\"spec-id\":%" PRId32 ",\"fields\":%s}",
                         r->spec_id, spec_text) < 0 ||
        floe_buf_terminate(&json) < 0) {
      floe_buf_free(&json);
      return floe_mf_nomem(err, "manifest header");
    }
    rc = floe_iceberg_partition_spec_parse(&r->header_spec, (const char *)json.data,
                                           json.len, err);
    floe_buf_free(&json);
    if (rc < 0) return floe_error_prefix(err, "header partition-spec"), rc;
    r->spec = r->header_spec;
  } else if (metadata != NULL) {
    r->spec = floe_iceberg_metadata_spec(metadata, r->spec_id);
  }
  if (r->spec == NULL) {
    if (partition_node == NULL || partition_node->field_count == 0) {
      rc = floe_iceberg_partition_spec_new(&r->header_spec, r->spec_id, err);
      if (rc < 0) return rc;
      r->spec = r->header_spec;
    } else {
      return floe_error_set(err, FLOE_EFORMAT,
                            "no partition-spec in the header and no table "
                            "metadata with spec %" PRId32,
                            r->spec_id);
    }
  }

  int32_t n = r->spec->n_fields;
  if (n > 0) {
    r->part_types = floe_calloc((size_t)n, sizeof *r->part_types);
    r->part_index = floe_calloc((size_t)n, sizeof *r->part_index);
    if (r->part_types == NULL || r->part_index == NULL)
      return floe_mf_nomem(err, "manifest reader");
  }
  for (int32_t i = 0; i < n; i++) {
    const floe_iceberg_partition_field *pf = &r->spec->fields[i];
    long index = floe_mf_field_index(partition_node, pf->field_id);
    if (index < 0 && partition_node != NULL && (size_t)i < partition_node->field_count &&
        strcmp(partition_node->fields[i].name, pf->name) == 0)
      index = i; /* old writers without field ids */
    r->part_index[i] = index;
    const floe_iceberg_field *source =
        r->schema ? floe_iceberg_schema_find_id(r->schema, pf->source_id) : NULL;
    floe_error ignored = {0};
    if (source != NULL && pf->transform.kind != FLOE_TRANSFORM_UNKNOWN &&
        floe_iceberg_transform_result_type(&pf->transform, &source->type,
                                           &r->part_types[i], &ignored) == FLOE_OK)
      continue;
    if (index >= 0 &&
        type_from_avro(partition_node->fields[index].type, &r->part_types[i]))
      continue;
    if (index < 0) {
      /* Absent from the file: always null. */
      r->part_types[i] = floe_iceberg_type_of(FLOE_ICEBERG_INT);
      continue;
    }
    return floe_error_set(err, FLOE_EFORMAT,
                          "partition field '%s' (id %" PRId32 "): cannot tell its "
                          "type",
                          pf->name, pf->field_id);
  }
  return FLOE_OK;
}

int floe_manifest_reader_open(floe_manifest_reader **out, floe_io *io,
                              const char *path,
                              const floe_manifest_file *list_entry,
                              const floe_iceberg_metadata *metadata,
                              floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_reader *r = NULL;
  *out = NULL;
  if (io == NULL || path == NULL)
    return floe_error_set(err, FLOE_EINVAL, "manifest reader: io and path required");
  r = floe_calloc(1, sizeof *r);
  if (r == NULL) return floe_mf_nomem(err, "manifest reader");
  floe_arena_init(&r->arena, 0);
  r->path = floe_strdup(path);
  if (r->path == NULL) {
    rc = floe_mf_nomem(err, "manifest reader");
    goto cleanup;
  }
  FLOE_TRY(floe_mf_read_file(io, path, &r->bytes, &r->len, err));
  rc = floe_avro_reader_open_memory(&r->avro, r->bytes, r->len, err);
  if (rc < 0) goto prefix;

  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(r->avro));
  if (root == NULL || root->type != FLOE_AVRO_RECORD) {
    rc = floe_error_set(err, FLOE_EFORMAT, "schema is not a manifest_entry record");
    goto prefix;
  }
  r->e_status = floe_mf_field_index(root, 0);
  r->e_snapshot = floe_mf_field_index(root, 1);
  r->e_data_file = floe_mf_field_index(root, 2);
  r->e_sequence = floe_mf_field_index(root, 3);
  r->e_file_sequence = floe_mf_field_index(root, 4);
  const floe_avro_node *df_node =
      r->e_data_file >= 0 ? floe_mf_unwrap(root->fields[r->e_data_file].type) : NULL;
  if (r->e_status < 0 || df_node == NULL || df_node->type != FLOE_AVRO_RECORD) {
    rc = floe_error_set(err, FLOE_EFORMAT,
                        "schema lacks status (field id 0) or data_file (2)");
    goto prefix;
  }
  for (int32_t id = 0; id < MAX_DATA_FILE_ID; id++)
    r->df[id] = floe_mf_field_index(df_node, id);
  if (r->df[100] < 0 || r->df[101] < 0 || r->df[103] < 0 || r->df[104] < 0) {
    rc = floe_error_set(err, FLOE_EFORMAT,
                        "data_file lacks file_path, file_format, record_count or "
                        "file_size_in_bytes");
    goto prefix;
  }
  const floe_avro_node *partition_node =
      r->df[102] >= 0 ? floe_mf_unwrap(df_node->fields[r->df[102]].type) : NULL;
  if (partition_node != NULL && partition_node->type != FLOE_AVRO_RECORD)
    partition_node = NULL;

  int64_t v;
  if (parse_int(header_string(r->avro, "format-version"), &v))
    r->version = (int32_t)v;
  else
    r->version = r->df[134] >= 0 ? 2 : 1; /* v1 files may lack the key */
  const char *content = header_string(r->avro, "content");
  if (content != NULL && strcmp(content, "deletes") == 0)
    r->content = FLOE_MANIFEST_DELETES;
  else if (content == NULL && list_entry != NULL)
    r->content = list_entry->content;
  else
    r->content = FLOE_MANIFEST_DATA;

  rc = reader_resolve_partition(r, partition_node, metadata, list_entry, err);
  if (rc < 0) goto prefix;

  if (list_entry != NULL) {
    r->has_list = true;
    r->list_snapshot_id = list_entry->added_snapshot_id;
    r->list_sequence = list_entry->sequence_number;
    r->list_has_first_row_id = list_entry->has_first_row_id;
    r->next_row_id = list_entry->first_row_id;
  }
  *out = r;
  r = NULL;
  goto cleanup;
prefix:
  floe_error_prefix(err, "manifest %s", path);
cleanup:
  floe_manifest_reader_free(r);
  return rc;
}

const floe_iceberg_partition_spec *floe_manifest_reader_spec(
    const floe_manifest_reader *reader) {
  return reader->spec;
}

floe_manifest_content floe_manifest_reader_content(
    const floe_manifest_reader *reader) {
  return reader->content;
}

int32_t floe_manifest_reader_format_version(const floe_manifest_reader *reader) {
  return reader->version;
}

const floe_iceberg_schema *floe_manifest_reader_schema(
    const floe_manifest_reader *reader) {
  return reader->schema;
}

const floe_iceberg_type *floe_manifest_reader_partition_types(
    const floe_manifest_reader *reader) {
  return reader->part_types;
}

/* Collects the six metric maps into one column array, in order of first
 * appearance. Maps are arrays of {key, value} records (Iceberg's encoding
 * of int-keyed maps) or, from other writers, Avro maps with string keys. */
static int read_metrics(floe_manifest_reader *r, const floe_avro_value *df,
                        floe_iceberg_content_file *f, floe_error *err) {
  static const int32_t ids[6] = {108, 109, 110, 137, 125, 128};
  size_t total = 0;
  for (int k = 0; k < 6; k++) {
    const floe_avro_value *m = floe_mf_get(df, r->df[ids[k]]);
    if (m == NULL) continue;
    if (m->type == FLOE_AVRO_ARRAY) total += m->u.array.count;
    else if (m->type == FLOE_AVRO_MAP) total += m->u.map.count;
  }
  if (total == 0) return FLOE_OK;
  floe_iceberg_column_metrics *cols =
      floe_arena_calloc(&r->arena, total, sizeof *cols);
  if (cols == NULL) return floe_mf_nomem(err, "manifest entry");
  size_t n = 0;
  for (int k = 0; k < 6; k++) {
    const floe_avro_value *m = floe_mf_get(df, r->df[ids[k]]);
    if (m == NULL) continue;
    size_t count = m->type == FLOE_AVRO_ARRAY ? m->u.array.count
                   : m->type == FLOE_AVRO_MAP ? m->u.map.count
                                              : 0;
    for (size_t j = 0; j < count; j++) {
      int64_t key;
      const floe_avro_value *value;
      if (m->type == FLOE_AVRO_ARRAY) {
        const floe_avro_value *kv = &m->u.array.items[j];
        if (kv->type != FLOE_AVRO_RECORD || kv->u.record.count != 2 ||
            !floe_mf_long(&kv->u.record.fields[0], &key))
          return floe_error_set(err, FLOE_EFORMAT,
                                "metric map %" PRId32 ": item is not a key/value "
                                "record",
                                ids[k]);
        value = &kv->u.record.fields[1];
      } else {
        if (!parse_int(m->u.map.entries[j].key, &key))
          return floe_error_set(err, FLOE_EFORMAT,
                                "metric map %" PRId32 ": key '%s' is not an int",
                                ids[k], m->u.map.entries[j].key);
        value = &m->u.map.entries[j].value;
      }
      /* Maps usually list columns in one order: try the same slot first. */
      size_t slot = n;
      if (j < n && cols[j].field_id == (int32_t)key) slot = j;
      else
        for (size_t s = 0; s < n; s++)
          if (cols[s].field_id == (int32_t)key) {
            slot = s;
            break;
          }
      if (slot == n) cols[n++].field_id = (int32_t)key;
      floe_iceberg_column_metrics *c = &cols[slot];
      int64_t count_value = 0;
      bool is_bytes = value->type == FLOE_AVRO_BYTES || value->type == FLOE_AVRO_FIXED;
      if (k < 4 && !floe_mf_long(value, &count_value))
        return floe_error_set(err, FLOE_EFORMAT,
                              "metric map %" PRId32 ": value is not a long", ids[k]);
      if (k >= 4 && !is_bytes)
        return floe_error_set(err, FLOE_EFORMAT,
                              "metric map %" PRId32 ": value is not bytes", ids[k]);
      switch (k) {
        case 0: c->has_column_size = true; c->column_size = count_value; break;
        case 1: c->has_value_count = true; c->value_count = count_value; break;
        case 2: c->has_null_count = true; c->null_count = count_value; break;
        case 3: c->has_nan_count = true; c->nan_count = count_value; break;
        case 4:
          c->lower_bound = value->u.bytes.data;
          c->lower_bound_len = value->u.bytes.len;
          break;
        default:
          c->upper_bound = value->u.bytes.data;
          c->upper_bound_len = value->u.bytes.len;
          break;
      }
    }
  }
  f->columns = cols;
  f->n_columns = (int32_t)n;
  return FLOE_OK;
}

static int read_array(floe_manifest_reader *r, const floe_avro_value *v, bool longs,
                      const void **out, int32_t *n_out, floe_error *err) {
  if (v == NULL) return FLOE_OK;
  if (v->type != FLOE_AVRO_ARRAY)
    return floe_error_set(err, FLOE_EFORMAT, "expected an array");
  size_t n = v->u.array.count;
  void *items = floe_arena_alloc(&r->arena, (n ? n : 1) * (longs ? 8 : 4));
  if (items == NULL) return floe_mf_nomem(err, "manifest entry");
  for (size_t i = 0; i < n; i++) {
    int64_t x;
    if (!floe_mf_long(&v->u.array.items[i], &x))
      return floe_error_set(err, FLOE_EFORMAT, "array item is not a number");
    if (longs) ((int64_t *)items)[i] = x;
    else ((int32_t *)items)[i] = (int32_t)x;
  }
  *out = items;
  *n_out = (int32_t)n;
  return FLOE_OK;
}

static const char *entry_string(const floe_avro_value *v) {
  return v != NULL && (v->type == FLOE_AVRO_STRING || v->type == FLOE_AVRO_BYTES)
             ? (const char *)v->u.bytes.data
             : NULL;
}

static int decode_entry(floe_manifest_reader *r, const floe_avro_value *rec,
                        floe_error *err) {
  int rc;
  floe_manifest_entry *e = &r->entry;
  floe_iceberg_content_file *f = &e->file;
  memset(e, 0, sizeof *e);
  int64_t x;
  if (!floe_mf_long(floe_mf_get(rec, r->e_status), &x) || x < 0 || x > 2)
    return floe_error_set(err, FLOE_EFORMAT, "bad or missing status");
  e->status = (floe_manifest_entry_status)x;
  e->has_snapshot_id = floe_mf_long(floe_mf_get(rec, r->e_snapshot), &e->snapshot_id);
  e->has_sequence_number =
      floe_mf_long(floe_mf_get(rec, r->e_sequence), &e->sequence_number);
  e->has_file_sequence_number =
      floe_mf_long(floe_mf_get(rec, r->e_file_sequence), &e->file_sequence_number);

  const floe_avro_value *df = floe_mf_get(rec, r->e_data_file);
  if (df == NULL || df->type != FLOE_AVRO_RECORD)
    return floe_error_set(err, FLOE_EFORMAT, "missing data_file");
  f->content = FLOE_CONTENT_DATA; /* all v1 files are data files */
  if (floe_mf_long(floe_mf_get(df, r->df[134]), &x)) {
    if (x < 0 || x > 2)
      return floe_error_set(err, FLOE_EFORMAT, "bad content %" PRId64, x);
    f->content = (floe_iceberg_content)x;
  }
  f->file_path = entry_string(floe_mf_get(df, r->df[100]));
  f->file_format = entry_string(floe_mf_get(df, r->df[101]));
  if (f->file_path == NULL || f->file_format == NULL)
    return floe_error_set(err, FLOE_EFORMAT, "missing file_path or file_format");
  if (!floe_mf_long(floe_mf_get(df, r->df[103]), &f->record_count) ||
      !floe_mf_long(floe_mf_get(df, r->df[104]), &f->file_size_in_bytes))
    return floe_error_set(err, FLOE_EFORMAT,
                          "file '%s': missing record_count or file_size_in_bytes",
                          f->file_path);
  f->spec_id = r->spec_id;

  /* Partition tuple, decoded against the spec's result types. */
  int32_t n_part = r->spec->n_fields;
  f->n_partition = n_part;
  if (n_part > 0) {
    const floe_avro_value *prec = floe_mf_get(df, r->df[102]);
    f->partition = floe_arena_calloc(&r->arena, (size_t)n_part, sizeof *f->partition);
    if (f->partition == NULL) return floe_mf_nomem(err, "manifest entry");
    for (int32_t i = 0; i < n_part; i++) {
      rc = partition_from_avro(&r->part_types[i], floe_mf_get(prec, r->part_index[i]),
                               &f->partition[i], err);
      if (rc < 0)
        return floe_error_prefix(err, "file '%s': partition field '%s'", f->file_path,
                                 r->spec->fields[i].name),
               rc;
    }
  }
  rc = read_metrics(r, df, f, err);
  if (rc < 0) return floe_error_prefix(err, "file '%s'", f->file_path), rc;
  const floe_avro_value *key = floe_mf_get(df, r->df[131]);
  if (key != NULL && (key->type == FLOE_AVRO_BYTES || key->type == FLOE_AVRO_FIXED)) {
    f->key_metadata = key->u.bytes.data;
    f->key_metadata_len = key->u.bytes.len;
  }
  const void *items = NULL;
  rc = read_array(r, floe_mf_get(df, r->df[132]), true, &items, &f->n_split_offsets, err);
  if (rc < 0) return floe_error_prefix(err, "file '%s': split_offsets", f->file_path), rc;
  f->split_offsets = items;
  items = NULL;
  rc = read_array(r, floe_mf_get(df, r->df[135]), false, &items, &f->n_equality_ids, err);
  if (rc < 0) return floe_error_prefix(err, "file '%s': equality_ids", f->file_path), rc;
  f->equality_ids = items;
  if (floe_mf_long(floe_mf_get(df, r->df[140]), &x)) {
    f->has_sort_order_id = true;
    f->sort_order_id = (int32_t)x;
  }
  f->has_first_row_id = floe_mf_long(floe_mf_get(df, r->df[142]), &f->first_row_id);
  f->referenced_data_file = entry_string(floe_mf_get(df, r->df[143]));
  f->has_content_offset = floe_mf_long(floe_mf_get(df, r->df[144]), &f->content_offset);
  floe_mf_long(floe_mf_get(df, r->df[145]), &f->content_size_in_bytes);

  /* Inheritance (Iceberg spec: Sequence Number Inheritance; Java's
   * InheritableMetadata): a null snapshot id comes from the manifest list
   * entry; null sequence numbers too when the entry is ADDED, or when the
   * manifest's own sequence number is 0 (files of v1 tables). v1 manifests
   * have no sequence numbers at all: every file is sequence 0. */
  if (r->version == 1) {
    if (!e->has_sequence_number) e->sequence_number = 0;
    if (!e->has_file_sequence_number) e->file_sequence_number = 0;
    e->has_sequence_number = e->has_file_sequence_number = true;
  }
  if (r->has_list) {
    if (!e->has_snapshot_id) {
      e->has_snapshot_id = true;
      e->snapshot_id = r->list_snapshot_id;
    }
    bool inherit = e->status == FLOE_ENTRY_ADDED || r->list_sequence == 0;
    if (!e->has_sequence_number && inherit) {
      e->has_sequence_number = true;
      e->sequence_number = r->list_sequence;
    }
    if (!e->has_file_sequence_number && inherit) {
      e->has_file_sequence_number = true;
      e->file_sequence_number = r->list_sequence;
    }
    if (e->status == FLOE_ENTRY_EXISTING && !e->has_sequence_number)
      return floe_error_set(err, FLOE_EFORMAT,
                            "file '%s': EXISTING entry without a data sequence "
                            "number (Iceberg spec: Sequence Number Inheritance)",
                            f->file_path);
    /* v3 First Row ID Inheritance: live data files without one get the
     * manifest's first_row_id plus the rows of earlier such files. */
    if (r->list_has_first_row_id && f->content == FLOE_CONTENT_DATA &&
        e->status != FLOE_ENTRY_DELETED && !f->has_first_row_id) {
      f->has_first_row_id = true;
      f->first_row_id = r->next_row_id;
      r->next_row_id += f->record_count;
    }
  }
  return FLOE_OK;
}

int floe_manifest_reader_next(floe_manifest_reader *r,
                              const floe_manifest_entry **out, floe_error *err) {
  *out = NULL;
  const floe_avro_value *rec = NULL;
  int rc = floe_avro_reader_next(r->avro, &rec, err);
  if (rc < 0) return floe_error_prefix(err, "manifest %s", r->path), rc;
  if (rec == NULL) return FLOE_OK;
  floe_arena_reset(&r->arena);
  rc = decode_entry(r, rec, err);
  if (rc < 0)
    return floe_error_prefix(err, "manifest %s: entry %" PRIu64, r->path, r->n_read),
           rc;
  r->n_read++;
  *out = &r->entry;
  return FLOE_OK;
}
