/*
 * floe/avro.h: Avro object container files (Avro 1.11 specification), the
 * format of Iceberg manifests and manifest lists.
 *
 * Three parts:
 *  - Schema: floe_avro_schema_parse turns schema JSON into a tree of
 *    floe_avro_node. The exact JSON bytes are kept, and every attribute
 *    (Iceberg's field-id, element-id, key-id, value-id, logicalType, ...) can
 *    be read back from a node or field.
 *  - Writer: header with arbitrary caller metadata (written byte for byte),
 *    avro.schema written verbatim as the caller gave it, blocks flushed at a
 *    target size, codecs null, deflate, snappy and zstandard. Records are
 *    passed as floe_avro_value trees that the caller builds on the stack
 *    with the inline constructors below (no allocation); each one is
 *    validated against the schema while it is encoded, and errors name the
 *    field path ("data_file.partition.ts_day: expected int, got long").
 *  - Reader: from memory or a path; exposes the header metadata (exact
 *    bytes), the schema and codec, and iterates records as floe_avro_value
 *    trees decoded into a per-record arena (no per-value malloc). Hostile
 *    input is rejected with FLOE_EFORMAT, never over-read.
 *
 * Values and unions: a value that sits in a union slot is the branch's value
 * itself, with `branch` holding the branch index (the reader always sets it;
 * elsewhere the reader sets -1). The constructors set branch = -1, which
 * tells the writer to pick the first branch whose type matches the value's
 * type; floe_avro_branch() names a branch explicitly (needed only when a
 * union holds two records, enums or fixeds).
 *
 * JSON rendering (floe_avro_value_to_json) follows what avsc 5.7.9 decodes,
 * as JSON.stringify would show it: unions by value (not wrapped), enums as
 * their symbol, maps as objects, longs as exact integers; bytes and fixed as
 * a string with one code point U+0000..U+00FF per byte (the Avro JSON
 * encoding; Node: buffer.toString('latin1')); float/double NaN and
 * infinities as the strings "NaN", "Infinity", "-Infinity"; invalid UTF-8
 * in strings as U+FFFD.
 */
#ifndef FLOE_AVRO_H
#define FLOE_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- types */

/* Avro types (Avro spec: "Primitive Types", "Complex Types"). Numbering
 * starts at 1 so that a zero-initialised floe_avro_value is "not set" and
 * the writer reports it as a missing value. */
typedef enum floe_avro_type {
  FLOE_AVRO_NULL = 1,
  FLOE_AVRO_BOOLEAN,
  FLOE_AVRO_INT,
  FLOE_AVRO_LONG,
  FLOE_AVRO_FLOAT,
  FLOE_AVRO_DOUBLE,
  FLOE_AVRO_BYTES,
  FLOE_AVRO_STRING,
  FLOE_AVRO_RECORD,
  FLOE_AVRO_ENUM,
  FLOE_AVRO_ARRAY,
  FLOE_AVRO_MAP,
  FLOE_AVRO_UNION,
  FLOE_AVRO_FIXED
} floe_avro_type;

/* "null", "boolean", ..., "fixed"; "unset" for 0, "unknown" otherwise. */
const char *floe_avro_type_name(int type);

/* Block codecs (Avro spec: "Required Codecs", "Optional Codecs"). */
typedef enum floe_avro_codec {
  FLOE_AVRO_CODEC_NULL = 0,
  FLOE_AVRO_CODEC_DEFLATE, /* raw RFC 1951 */
  FLOE_AVRO_CODEC_SNAPPY,  /* block + 4-byte big-endian CRC32 of the data */
  FLOE_AVRO_CODEC_ZSTD     /* "zstandard" */
} floe_avro_codec;

/* The avro.codec name: "null", "deflate", "snappy", "zstandard". */
const char *floe_avro_codec_name(floe_avro_codec codec);
/* Parses an avro.codec name (also accepts "zstd"); -1 when unknown. */
int floe_avro_codec_parse(const char *name);

/* --------------------------------------------------------------- schema */

typedef struct floe_avro_node floe_avro_node;

/* A record field. `json` is the field's JSON object (opaque; read its
 * attributes with floe_avro_field_attr_*). */
typedef struct floe_avro_field {
  const char *name;
  const floe_avro_node *type;
  const void *json;
} floe_avro_field;

/* One schema node. Named types (record, enum, fixed) are shared: every
 * reference to a name points at the same node, so a recursive schema is a
 * graph. Strings belong to the owning floe_avro_schema. */
struct floe_avro_node {
  floe_avro_type type;
  const char *name;         /* full name of a record, enum or fixed; else NULL */
  const char *logical_type; /* the "logicalType" attribute, or NULL */
  int32_t precision, scale; /* decimal attributes (0 when absent) */
  size_t fixed_size;        /* fixed */
  size_t field_count;       /* record */
  const floe_avro_field *fields;
  size_t symbol_count;      /* enum */
  const char *const *symbols;
  const floe_avro_node *items;  /* array */
  const floe_avro_node *values; /* map */
  size_t branch_count;          /* union */
  const floe_avro_node *const *branches;
  size_t min_encoded_size; /* fewest bytes a value of this type encodes to */
  const void *json;        /* this node's JSON (opaque) */
};

/* An owned parsed schema: the node tree plus the exact JSON text. */
typedef struct floe_avro_schema floe_avro_schema;

/* Parses Avro schema JSON (json[0..len); len 0 means strlen(json)) into a
 * tree. *out is owned by the caller (floe_avro_schema_free). Errors:
 * FLOE_EFORMAT for invalid JSON or an invalid schema (unknown type name,
 * duplicate name, missing "fields", bad "size", union in union, ...),
 * FLOE_ENOMEM. */
int floe_avro_schema_parse(floe_avro_schema **out, const char *json,
                           size_t len, floe_error *err);
void floe_avro_schema_free(floe_avro_schema *schema);
/* The root node; valid while the schema lives. */
const floe_avro_node *floe_avro_schema_root(const floe_avro_schema *schema);
/* The exact JSON text given to floe_avro_schema_parse (NUL-terminated);
 * *len (may be NULL) gets its length. */
const char *floe_avro_schema_json(const floe_avro_schema *schema, size_t *len);

/* Attributes of a node or field (any JSON key: "field-id", "element-id",
 * "logicalType", "doc", ...). The _int form returns 1 and sets *out when
 * the key holds a JSON integer, else 0. The _string form returns the
 * string (owned by the schema) or NULL. The _json form returns the
 * attribute serialised as compact JSON, which the caller frees with
 * floe_free, or NULL when absent (or out of memory). */
int floe_avro_node_attr_int(const floe_avro_node *node, const char *key,
                            int64_t *out);
const char *floe_avro_node_attr_string(const floe_avro_node *node,
                                       const char *key);
char *floe_avro_node_attr_json(const floe_avro_node *node, const char *key);
int floe_avro_field_attr_int(const floe_avro_field *field, const char *key,
                             int64_t *out);
const char *floe_avro_field_attr_string(const floe_avro_field *field,
                                        const char *key);
char *floe_avro_field_attr_json(const floe_avro_field *field, const char *key);

/* Index of the field called `name` in a record node, or -1. */
long floe_avro_node_field_index(const floe_avro_node *record, const char *name);

/* --------------------------------------------------------------- values */

typedef struct floe_avro_value floe_avro_value;
typedef struct floe_avro_map_entry floe_avro_map_entry;

/* A value. Pointers are borrowed: values built by the caller point at the
 * caller's memory; values from the reader point into the reader's arena.
 * Strings decoded by the reader are NUL-terminated (not counted in len). */
struct floe_avro_value {
  floe_avro_type type; /* 0 = not set */
  int32_t branch;      /* union branch index, or -1 (see the top of file) */
  union {
    int boolean;
    int32_t i;   /* int; enum symbol index */
    int64_t l;   /* long */
    float f;
    double d;
    struct {
      const uint8_t *data;
      size_t len;
    } bytes;     /* bytes, string, fixed */
    struct {
      const floe_avro_value *items;
      size_t count;
    } array;     /* array */
    struct {
      const floe_avro_value *fields;
      size_t count;
    } record;    /* record: one value per schema field, in schema order */
    struct {
      const floe_avro_map_entry *entries;
      size_t count;
    } map;
  } u;
};

struct floe_avro_map_entry {
  const char *key;
  size_t key_len;
  floe_avro_value value;
};

/* Constructors (no allocation; the value borrows what it points at). */
static inline floe_avro_value floe_avro_null(void) {
  floe_avro_value v;
  memset(&v, 0, sizeof v);
  v.type = FLOE_AVRO_NULL;
  v.branch = -1;
  return v;
}
static inline floe_avro_value floe_avro_boolean(int b) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_BOOLEAN;
  v.u.boolean = b ? 1 : 0;
  return v;
}
static inline floe_avro_value floe_avro_int(int32_t i) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_INT;
  v.u.i = i;
  return v;
}
static inline floe_avro_value floe_avro_long(int64_t l) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_LONG;
  v.u.l = l;
  return v;
}
static inline floe_avro_value floe_avro_float(float f) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_FLOAT;
  v.u.f = f;
  return v;
}
static inline floe_avro_value floe_avro_double(double d) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_DOUBLE;
  v.u.d = d;
  return v;
}
static inline floe_avro_value floe_avro_bytes(const void *data, size_t len) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_BYTES;
  v.u.bytes.data = (const uint8_t *)data;
  v.u.bytes.len = len;
  return v;
}
static inline floe_avro_value floe_avro_string_n(const char *s, size_t len) {
  floe_avro_value v = floe_avro_bytes(s, len);
  v.type = FLOE_AVRO_STRING;
  return v;
}
static inline floe_avro_value floe_avro_string(const char *s) {
  return floe_avro_string_n(s, strlen(s));
}
static inline floe_avro_value floe_avro_fixed(const void *data, size_t len) {
  floe_avro_value v = floe_avro_bytes(data, len);
  v.type = FLOE_AVRO_FIXED;
  return v;
}
static inline floe_avro_value floe_avro_enum(int32_t symbol_index) {
  floe_avro_value v = floe_avro_int(symbol_index);
  v.type = FLOE_AVRO_ENUM;
  return v;
}
static inline floe_avro_value floe_avro_array(const floe_avro_value *items,
                                              size_t count) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_ARRAY;
  v.u.array.items = items;
  v.u.array.count = count;
  return v;
}
static inline floe_avro_value floe_avro_map(const floe_avro_map_entry *entries,
                                            size_t count) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_MAP;
  v.u.map.entries = entries;
  v.u.map.count = count;
  return v;
}
static inline floe_avro_value floe_avro_record(const floe_avro_value *fields,
                                               size_t count) {
  floe_avro_value v = floe_avro_null();
  v.type = FLOE_AVRO_RECORD;
  v.u.record.fields = fields;
  v.u.record.count = count;
  return v;
}
/* The same value, bound to union branch `branch`. */
static inline floe_avro_value floe_avro_branch(floe_avro_value v,
                                               int32_t branch) {
  v.branch = branch;
  return v;
}

/* Appends the Avro binary encoding of `value` (Avro spec: "Binary
 * Encoding") to out, validating it against `schema`. Errors:
 * FLOE_EINVAL naming the field path (wrong type, missing field, wrong fixed
 * size, enum index out of range, no matching union branch, nesting deeper
 * than 64); FLOE_ENOMEM. On error out->len is unchanged. */
int floe_avro_encode_value(const floe_avro_node *schema,
                           const floe_avro_value *value, floe_buf *out,
                           floe_error *err);

/* Appends `value` rendered as JSON (see the top of this file) to out; no
 * trailing newline. Errors: FLOE_EINVAL when value does not fit schema;
 * FLOE_ENOMEM. */
int floe_avro_value_to_json(const floe_avro_node *schema,
                            const floe_avro_value *value, floe_buf *out,
                            floe_error *err);

/* ------------------------------------------------------------- metadata */

/* One header metadata entry. Values are bytes (any content). Entries handed
 * out by the reader are NUL-terminated after value_len bytes. */
typedef struct floe_avro_metadata {
  const char *key;
  const uint8_t *value;
  size_t value_len;
} floe_avro_metadata;

/* --------------------------------------------------------------- writer */

typedef struct floe_avro_writer floe_avro_writer;

typedef struct floe_avro_writer_config {
  const char *schema_json; /* written verbatim as avro.schema */
  size_t schema_len;       /* 0 means strlen(schema_json) */
  /* Extra header entries, written in this order after avro.schema and
   * avro.codec. Keys starting with "avro." are reserved (FLOE_EINVAL). */
  const floe_avro_metadata *metadata;
  size_t metadata_count;
  floe_avro_codec codec;
  int compression_level;         /* 0 = codec default */
  size_t block_size;             /* target uncompressed block bytes; 0 = 64 KiB */
  const uint8_t *sync_marker;    /* 16 bytes; NULL = random */
} floe_avro_writer_config;

/* Receives output bytes in order; returns FLOE_OK or a negative code. */
typedef int (*floe_avro_write_fn)(void *ctx, const void *data, size_t len,
                                  floe_error *err);

/* Opens a writer and writes the header. The _buf form appends the file to
 * `dest` (caller-owned, must outlive the writer); the _path form creates
 * or truncates `path`; the _sink form calls write(ctx, ...). The config and
 * its strings are copied. *out is owned by the caller
 * (floe_avro_writer_free). Errors: FLOE_EFORMAT (bad schema JSON),
 * FLOE_EINVAL (reserved metadata key, bad codec), FLOE_EIO, FLOE_ENOMEM. */
int floe_avro_writer_open_buf(floe_avro_writer **out,
                              const floe_avro_writer_config *config,
                              floe_buf *dest, floe_error *err);
int floe_avro_writer_open_path(floe_avro_writer **out,
                               const floe_avro_writer_config *config,
                               const char *path, floe_error *err);
int floe_avro_writer_open_sink(floe_avro_writer **out,
                               const floe_avro_writer_config *config,
                               floe_avro_write_fn write, void *ctx,
                               floe_error *err);
/* The parsed writer schema (owned by the writer). */
const floe_avro_schema *floe_avro_writer_schema(const floe_avro_writer *writer);
/* Validates and encodes one record (a value of the schema's root type),
 * writing a block when the buffered data reaches the block size. A value
 * that fails validation is not written and the writer stays usable
 * (FLOE_EINVAL naming the field path). */
int floe_avro_writer_append(floe_avro_writer *writer,
                            const floe_avro_value *record, floe_error *err);
/* Writes the buffered records as a block now (no-op when none). */
int floe_avro_writer_flush(floe_avro_writer *writer, floe_error *err);
/* Flushes and, for _path writers, closes the file (fsync is the caller's
 * business). The writer must still be freed. */
int floe_avro_writer_close(floe_avro_writer *writer, floe_error *err);
/* Frees the writer (closing an open file without flushing). Accepts NULL. */
void floe_avro_writer_free(floe_avro_writer *writer);
uint64_t floe_avro_writer_record_count(const floe_avro_writer *writer);
/* Bytes handed to the output so far (the file length after close). */
uint64_t floe_avro_writer_bytes_written(const floe_avro_writer *writer);
/* The 16-byte sync marker in use. */
const uint8_t *floe_avro_writer_sync_marker(const floe_avro_writer *writer);

/* --------------------------------------------------------------- reader */

typedef struct floe_avro_reader floe_avro_reader;

/* Opens a container file held in memory and parses its header. The reader
 * borrows data[0..len), which must outlive it. *out is owned by the caller
 * (floe_avro_reader_free). Errors: FLOE_EFORMAT (bad magic, bad header,
 * bad schema, unknown codec), FLOE_ENOMEM. */
int floe_avro_reader_open_memory(floe_avro_reader **out, const void *data,
                                 size_t len, floe_error *err);
/* The same for a file, read whole into memory owned by the reader.
 * Additional errors: FLOE_ENOTFOUND, FLOE_EIO. */
int floe_avro_reader_open_path(floe_avro_reader **out, const char *path,
                               floe_error *err);
void floe_avro_reader_free(floe_avro_reader *reader);

const floe_avro_schema *floe_avro_reader_schema(const floe_avro_reader *reader);
floe_avro_codec floe_avro_reader_codec(const floe_avro_reader *reader);
const uint8_t *floe_avro_reader_sync_marker(const floe_avro_reader *reader);
/* Header metadata in file order, including avro.schema and avro.codec. */
size_t floe_avro_reader_metadata_count(const floe_avro_reader *reader);
const floe_avro_metadata *floe_avro_reader_metadata_at(
    const floe_avro_reader *reader, size_t index);
/* The entry for `key` (the last one if repeated), or NULL. */
const floe_avro_metadata *floe_avro_reader_metadata_find(
    const floe_avro_reader *reader, const char *key);

/* Decodes the next record. *out points at a value owned by the reader,
 * valid until the next call or floe_avro_reader_free; *out is NULL at the
 * end of the file. Errors (FLOE_EFORMAT, with the block number and byte
 * offset): wrong sync marker, truncated block, bad varint, negative length,
 * count larger than the bytes left, nesting deeper than 64, trailing bytes
 * in a block, codec failure or snappy CRC mismatch; FLOE_ENOMEM. After an
 * error the reader stays in error. */
int floe_avro_reader_next(floe_avro_reader *reader,
                          const floe_avro_value **out, floe_error *err);
/* Blocks started and records returned so far. */
uint64_t floe_avro_reader_block_count(const floe_avro_reader *reader);
uint64_t floe_avro_reader_record_count(const floe_avro_reader *reader);

#ifdef __cplusplus
}
#endif
#endif
