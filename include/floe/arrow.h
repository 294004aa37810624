/*
 * floe/arrow.h: the Arrow C data interface, and floe's builders and views.
 *
 * Batches move between floe's layers (sources, codecs, writers, scans) as
 * `struct ArrowArray` of format "+s" (a struct whose children are the
 * columns) described by a `struct ArrowSchema`, exactly as the Arrow C data
 * interface specifies, so DuckDB, pyarrow and others can import them without
 * copies. floe uses a subset of the Arrow types, one per Iceberg primitive
 * (floe_arrow_type), plus the three nested shapes of the Arrow Columnar
 * Format, nested in each other to any depth:
 *  - lists ("+l": validity, int32 offsets into one child array named
 *    "element"; Variable-size List Layout),
 *  - structs ("+s": validity only, one child array per field, each as long
 *    as the struct; Struct Layout),
 *  - maps ("+m": laid out as a list whose one child, "entries", is a
 *    non-nullable struct of a non-nullable "key" and a "value"; Map Layout).
 * Field ids (Iceberg field ids, element-id, key-id, value-id) travel in
 * the schema metadata key "PARQUET:field_id" of the field they name; uuid
 * is "w:16" with extension name "arrow.uuid".
 *
 * Ownership: every ArrowSchema/ArrowArray that floe hands out owns its
 * memory and is freed by its `release` callback (floe_arrow_*_release call
 * it when present). Builders own their buffers until *_finish moves them
 * into an array.
 */
#ifndef FLOE_ARROW_H
#define FLOE_ARROW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

typedef __int128 floe_int128;

/* 10^n for 0 <= n <= 38 (decimal precision and scale arithmetic). */
static inline floe_int128 floe_int128_pow10(int32_t n) {
  floe_int128 v = 1;
  for (int32_t i = 0; i < n; i++) v *= 10;
  return v;
}

/* The column types floe moves around. Each maps to one Arrow format. */
typedef enum floe_arrow_type {
  FLOE_ARROW_UNKNOWN = 0,
  FLOE_ARROW_BOOL,            /* "b"  bit-packed */
  FLOE_ARROW_INT32,           /* "i" */
  FLOE_ARROW_INT64,           /* "l" */
  FLOE_ARROW_UINT64,          /* "L"  (read-only: Parquet UINT_64) */
  FLOE_ARROW_FLOAT,           /* "f" */
  FLOE_ARROW_DOUBLE,          /* "g" */
  FLOE_ARROW_DECIMAL128,      /* "d:P,S"  16-byte little-endian two's complement */
  FLOE_ARROW_DATE32,          /* "tdD"  days since 1970-01-01 */
  FLOE_ARROW_TIME64_US,       /* "ttu"  microseconds since midnight */
  FLOE_ARROW_TIMESTAMP_US,    /* "tsu:"  microseconds, no zone (Iceberg timestamp) */
  FLOE_ARROW_TIMESTAMP_US_TZ, /* "tsu:UTC" (Iceberg timestamptz) */
  FLOE_ARROW_TIMESTAMP_NS,    /* "tsn:" */
  FLOE_ARROW_TIMESTAMP_NS_TZ, /* "tsn:UTC" */
  FLOE_ARROW_UTF8,            /* "u"  int32 offsets */
  FLOE_ARROW_BINARY,          /* "z"  int32 offsets */
  FLOE_ARROW_FIXED,           /* "w:N" */
  FLOE_ARROW_UUID,            /* "w:16" + ARROW:extension:name=arrow.uuid */
  FLOE_ARROW_STRUCT,          /* "+s" */
  FLOE_ARROW_LIST,            /* "+l"  int32 offsets, one child "element" */
  FLOE_ARROW_MAP              /* "+m"  int32 offsets, one child "entries"
                                 (struct of "key", "value") */
} floe_arrow_type;

/* Whether columns of this type have child columns. */
static inline bool floe_arrow_type_is_nested(floe_arrow_type id) {
  return id == FLOE_ARROW_STRUCT || id == FLOE_ARROW_LIST || id == FLOE_ARROW_MAP;
}

typedef struct floe_arrow_type_info {
  floe_arrow_type id;
  int32_t precision;  /* decimal */
  int32_t scale;      /* decimal */
  int32_t byte_width; /* fixed (uuid: 16) */
} floe_arrow_type_info;

/* Convenience constructors. */
static inline floe_arrow_type_info floe_arrow_type_of(floe_arrow_type id) {
  floe_arrow_type_info t = {id, 0, 0, id == FLOE_ARROW_UUID ? 16 : 0};
  return t;
}
static inline floe_arrow_type_info floe_arrow_decimal(int32_t precision,
                                                      int32_t scale) {
  floe_arrow_type_info t = {FLOE_ARROW_DECIMAL128, precision, scale, 16};
  return t;
}
static inline floe_arrow_type_info floe_arrow_fixed(int32_t byte_width) {
  floe_arrow_type_info t = {FLOE_ARROW_FIXED, 0, 0, byte_width};
  return t;
}

/* Bytes per value for fixed-width types (bool: 0, bit-packed; variable
 * width: 0). */
int32_t floe_arrow_type_value_size(const floe_arrow_type_info *type);
/* Whether values are variable-length (utf8, binary). */
static inline bool floe_arrow_type_is_varlen(floe_arrow_type id) {
  return id == FLOE_ARROW_UTF8 || id == FLOE_ARROW_BINARY;
}
/* Writes the Arrow format string ("d:18,2") into out (>= 32 bytes). */
void floe_arrow_type_format(const floe_arrow_type_info *type, char *out,
                            size_t out_size);
/* Short human name: "int64", "decimal(18,2)", "timestamptz", ... */
void floe_arrow_type_name(const floe_arrow_type_info *type, char *out,
                          size_t out_size);

/* ---- schemas ---------------------------------------------------------- */

/* Initialises `out` as a leaf field. name may be NULL. field_id < 0 means
 * none. The schema owns copies of every string. */
int floe_arrow_schema_init(struct ArrowSchema *out, const char *name,
                           const floe_arrow_type_info *type, bool nullable,
                           int32_t field_id);
/* Initialises `out` as a struct ("+s") with n_children zeroed children to be
 * set with floe_arrow_schema_init(out->children[i], ...). */
int floe_arrow_schema_init_struct(struct ArrowSchema *out, const char *name,
                                  int64_t n_children);
/* Initialises `out` as a list field ("+l") whose one child, named
 * "element", holds the elements: of type `element`, nullable when
 * element_nullable, with field id element_id (< 0: none; for Iceberg
 * lists the element-id). The schema owns copies of every string. Errors:
 * FLOE_ENOMEM (out is then released), FLOE_EINVAL when element is itself
 * a list or struct (build nested children by hand). */
int floe_arrow_schema_init_list(struct ArrowSchema *out, const char *name,
                                bool nullable, int32_t field_id,
                                const floe_arrow_type_info *element,
                                bool element_nullable, int32_t element_id);
/* Nested fields of any depth are initialised parent first: each of these
 * leaves its children zeroed, to be initialised in turn with any
 * floe_arrow_schema_init* call (leaf or nested) on out->children[i]
 * (released with the parent; an uninitialised child is released as
 * nothing). field_id < 0 means none; name may be NULL. Errors:
 * FLOE_ENOMEM (out is then released).
 *
 * A struct column ("+s") of n_children fields. */
int floe_arrow_schema_init_struct_field(struct ArrowSchema *out,
                                        const char *name, bool nullable,
                                        int32_t field_id, int64_t n_children);
/* A list column ("+l") whose one child, children[0], is to be initialised
 * with the name "element" (and, for Iceberg, the element-id as its field
 * id). */
int floe_arrow_schema_init_list_field(struct ArrowSchema *out,
                                      const char *name, bool nullable,
                                      int32_t field_id);
/* A map column ("+m"): children[0] is made here, the non-nullable struct
 * "entries" with two zeroed children: entries->children[0] is to be
 * initialised as the non-nullable "key" (field id: Iceberg's key-id),
 * entries->children[1] as "value" (value-id). */
int floe_arrow_schema_init_map(struct ArrowSchema *out, const char *name,
                               bool nullable, int32_t field_id);
/* Parses a field's format (and uuid extension metadata) into `out`. A
 * list ("+l") gives FLOE_ARROW_LIST, its element type is that of
 * schema->children[0]; "+s" gives FLOE_ARROW_STRUCT, "+m"
 * FLOE_ARROW_MAP. */
int floe_arrow_schema_type(const struct ArrowSchema *schema,
                           floe_arrow_type_info *out, floe_error *err);
/* The field id in metadata "PARQUET:field_id", or -1. */
int32_t floe_arrow_schema_field_id(const struct ArrowSchema *schema);
/* Deep copy; the copy is independent of `schema`. */
int floe_arrow_schema_copy(struct ArrowSchema *out,
                           const struct ArrowSchema *schema);
/* Calls release if set, leaving the schema released. Accepts NULL. */
void floe_arrow_schema_release(struct ArrowSchema *schema);
void floe_arrow_array_release(struct ArrowArray *array);
/* Moves src into dst (dst must be released); src is left released. */
void floe_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst);

/* ---- building columns ------------------------------------------------- */

typedef struct floe_arrow_builder {
  floe_arrow_type_info type;
  int64_t length;
  int64_t null_count;
  uint8_t *validity;   /* bit per row, LSB first; NULL until the first null */
  size_t validity_cap; /* bytes */
  uint8_t *values;     /* fixed-width values; bit-packed bools; int32 offsets */
  size_t values_cap;   /* bytes */
  uint8_t *data;       /* bytes of variable-length values */
  size_t data_len;
  size_t data_cap;
  /* list: the element builder; map: the "entries" struct builder (owned) */
  struct floe_arrow_builder *child;
  /* struct: one builder per field (owned), each holding exactly `length`
   * rows between appends */
  struct floe_arrow_builder *children;
  int64_t n_children;
  int64_t rows_cap; /* rows `values` holds (kept by arrow.c; 0 = ask) */
} floe_arrow_builder;

/* Initialises a builder of a leaf type. A list type needs its element
 * type: use floe_arrow_builder_init_list or _init_schema (FLOE_EINVAL). */
int floe_arrow_builder_init(floe_arrow_builder *b,
                            const floe_arrow_type_info *type);
/* Initialises a list builder whose elements are of type `element` (a leaf
 * type). The builder owns its child builder. */
int floe_arrow_builder_init_list(floe_arrow_builder *b,
                                 const floe_arrow_type_info *element);
/* Initialises a builder for the column `field` describes: a leaf, or a
 * list, struct or map nested to any depth (list<struct<...>>,
 * map<string, list<int>>, struct<..., struct<...>>). Errors:
 * FLOE_EUNSUPPORTED for formats floe does not know, FLOE_EINVAL for a
 * nested field whose children do not fit its format (a list or map
 * without one child, map entries that are not a struct of two), FLOE_ENOMEM. */
int floe_arrow_builder_init_schema(floe_arrow_builder *b,
                                   const struct ArrowSchema *field,
                                   floe_error *err);
/* Frees the buffers and every child builder. Accepts NULL. */
void floe_arrow_builder_free(floe_arrow_builder *b);
/* Room for n more rows (and, for varlen, data_bytes more bytes). */
int floe_arrow_builder_reserve(floe_arrow_builder *b, int64_t n,
                               size_t data_bytes);
/* A null row. For a struct this also appends one null to every field's
 * builder (recursively), so the fields stay as long as the struct. */
int floe_arrow_builder_append_null(floe_arrow_builder *b);
int floe_arrow_builder_append_nulls(floe_arrow_builder *b, int64_t n);
int floe_arrow_builder_append_bool(floe_arrow_builder *b, bool v);
int floe_arrow_builder_append_int32(floe_arrow_builder *b, int32_t v);
int floe_arrow_builder_append_int64(floe_arrow_builder *b, int64_t v);
int floe_arrow_builder_append_float(floe_arrow_builder *b, float v);
int floe_arrow_builder_append_double(floe_arrow_builder *b, double v);
int floe_arrow_builder_append_decimal(floe_arrow_builder *b, floe_int128 v);
/* utf8, binary, fixed and uuid (len must equal the byte width). */
int floe_arrow_builder_append_bytes(floe_arrow_builder *b, const void *bytes,
                                    size_t len);
/* Lists: one list value is appended by floe_arrow_builder_list_start,
 * which hands out the element builder (*out_child, owned by b), then any
 * number of appends to that child (nulls are null elements), then
 * floe_arrow_builder_list_end, which closes the list (possibly empty).
 * A null list is floe_arrow_builder_append_null(b). Errors: FLOE_EINVAL
 * when b is not a list builder, FLOE_ERANGE past 2^31-1 elements per
 * batch, FLOE_ENOMEM. */
int floe_arrow_builder_list_start(floe_arrow_builder *b,
                                  floe_arrow_builder **out_child);
int floe_arrow_builder_list_end(floe_arrow_builder *b);
/* Structs: one valid struct row is floe_arrow_builder_struct_start, which
 * hands out the field builders (*out_children, n_children of them, owned
 * by b, in schema order), then exactly one append to each field builder
 * (a value, a null, a list/struct/map row: any of the calls above), then
 * floe_arrow_builder_struct_end, which checks every field builder holds
 * one more row and marks the struct row valid. A null struct row is
 * floe_arrow_builder_append_null(b) (no start/end). The field builders
 * may also be filled column-wise (n rows each, e.g. with append_view) and
 * closed with floe_arrow_builder_struct_append_valid(b, n). Errors:
 * FLOE_EINVAL when b is not a struct builder or a field builder's length
 * is not the struct's after the row, FLOE_ENOMEM. */
int floe_arrow_builder_struct_start(floe_arrow_builder *b,
                                    floe_arrow_builder **out_children,
                                    int64_t *out_n_children);
int floe_arrow_builder_struct_end(floe_arrow_builder *b);
int floe_arrow_builder_struct_append_valid(floe_arrow_builder *b, int64_t n);
/* The builder of field i of a struct builder (NULL when out of range or
 * not a struct). */
floe_arrow_builder *floe_arrow_builder_struct_child(floe_arrow_builder *b,
                                                   int64_t i);
/* Maps: one map value is floe_arrow_builder_map_start, which hands out the
 * key and value builders (owned by b), then for each entry one append to
 * the key builder (never null: Iceberg and Arrow keys are required) and
 * one to the value builder (a null value is allowed), then
 * floe_arrow_builder_map_end, which closes the map (possibly empty). A
 * null map is floe_arrow_builder_append_null(b). Errors: FLOE_EINVAL when
 * b is not a map builder, key and value counts differ or a key is null;
 * FLOE_ERANGE past 2^31-1 entries per batch; FLOE_ENOMEM. */
int floe_arrow_builder_map_start(floe_arrow_builder *b,
                                 floe_arrow_builder **out_keys,
                                 floe_arrow_builder **out_values);
int floe_arrow_builder_map_end(floe_arrow_builder *b);
/* Moves the built column into `out` and resets the builder (same type and
 * children) for the next batch. A nested array owns its finished child
 * arrays. */
int floe_arrow_builder_finish(floe_arrow_builder *b, struct ArrowArray *out);

/* Whether values of type `from` can be copied byte for byte into a column
 * of type `to` (floe_arrow_builder_append_view): equal types (decimals of
 * equal scale), utf8/binary, fixed/uuid of one width, timestamps with and
 * without zone of one unit. For lists, structs and maps this says nothing
 * about their children (append_view checks those). */
bool floe_arrow_type_same_layout(const floe_arrow_type_info *to,
                                 const floe_arrow_type_info *from);

struct floe_arrow_view;
/* Appends rows [start, start + n) of column `v` to b in bulk: fixed-width
 * values with one memcpy, variable-length and list offsets rebased in one
 * pass with their bytes / elements copied whole, validity bit by bit. The
 * view's layout must be the builder's (same value width; utf8 and binary
 * interchange, as do fixed[16] and uuid; lists and maps need matching
 * element/key/value layouts, structs the same number of fields with
 * matching layouts, field by field in order): FLOE_EINVAL otherwise.
 * This is how batches are concatenated, nested columns included.
 * FLOE_ERANGE past 2 GiB of bytes or 2^31-1 elements per batch;
 * FLOE_ENOMEM. */
int floe_arrow_builder_append_view(floe_arrow_builder *b,
                                   const struct floe_arrow_view *v,
                                   int64_t start, int64_t n);

/* A batch builder: one column builder per child of a struct schema
 * (any column floe_arrow_builder_init_schema builds). */
typedef struct floe_arrow_batch_builder {
  int64_t n_columns;
  floe_arrow_builder *columns;
} floe_arrow_batch_builder;

int floe_arrow_batch_builder_init(floe_arrow_batch_builder *bb,
                                  const struct ArrowSchema *schema,
                                  floe_error *err);
void floe_arrow_batch_builder_free(floe_arrow_batch_builder *bb);
/* Moves the rows built so far into `out` ("+s" with one child per column;
 * every column must have the same length) and resets the builders. */
int floe_arrow_batch_builder_finish(floe_arrow_batch_builder *bb,
                                    struct ArrowArray *out, floe_error *err);
/* Assembles a "+s" array from n already-built children (moved in). */
int floe_arrow_struct_from_children(struct ArrowArray *out,
                                    struct ArrowArray *children,
                                    int64_t n_children, int64_t length);

/* ---- reading columns -------------------------------------------------- */

typedef struct floe_arrow_view {
  floe_arrow_type_info type;
  int64_t length;
  int64_t offset;      /* already applied by the accessors */
  int64_t null_count;
  const uint8_t *validity; /* NULL: no nulls */
  const uint8_t *values;
  const int32_t *offsets;  /* varlen, list and map */
  const uint8_t *data;     /* varlen */
  /* list: the element column; map: the "entries" struct (borrowed from the
   * schema and array given to floe_arrow_view_init); open them with
   * floe_arrow_view_list_child / floe_arrow_view_map_entries */
  const struct ArrowSchema *child_schema;
  const struct ArrowArray *child_array;
  /* struct: the fields (borrowed); open with floe_arrow_view_struct_child */
  int64_t n_children;
  struct ArrowSchema *const *child_schemas;
  struct ArrowArray *const *child_arrays;
} floe_arrow_view;

/* Opens a read-only view over `array` as `schema` describes it (both
 * borrowed, must outlive the view). Errors: FLOE_EUNSUPPORTED for an
 * unknown format, FLOE_EINVAL for a buffer or child count that does not
 * fit the format. */
int floe_arrow_view_init(floe_arrow_view *view,
                         const struct ArrowSchema *schema,
                         const struct ArrowArray *array, floe_error *err);
/* The element column of a list view (indices into it are the list's
 * offsets, see floe_arrow_view_list_range). FLOE_EINVAL when v is not a
 * list; otherwise as floe_arrow_view_init. */
int floe_arrow_view_list_child(const floe_arrow_view *v, floe_arrow_view *out,
                               floe_error *err);
/* Field i of a struct view, as long as the struct and indexed like it:
 * row r of the struct is row r of `out` (the struct's offset is carried
 * into out->offset). A field's value at a null struct row is whatever the
 * writer left there; test floe_arrow_view_is_null on the struct first.
 * FLOE_EINVAL when v is not a struct or i is out of range. */
int floe_arrow_view_struct_child(const floe_arrow_view *v, int64_t i,
                                 floe_arrow_view *out, floe_error *err);
/* The key and value columns of a map view; the entries of map value i are
 * rows [start, end) of both (floe_arrow_view_list_range). FLOE_EINVAL when
 * v is not a map or its entries are not a struct of two. */
int floe_arrow_view_map_entries(const floe_arrow_view *v, floe_arrow_view *keys,
                                floe_arrow_view *values, floe_error *err);

static inline bool floe_arrow_bit(const uint8_t *bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void floe_arrow_bit_set(uint8_t *bits, int64_t i, bool v) {
  if (v)
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
  else
    bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static inline bool floe_arrow_view_is_null(const floe_arrow_view *v,
                                           int64_t i) {
  return v->validity != NULL && !floe_arrow_bit(v->validity, v->offset + i);
}
static inline bool floe_arrow_view_bool(const floe_arrow_view *v, int64_t i) {
  return floe_arrow_bit(v->values, v->offset + i);
}
static inline int32_t floe_arrow_view_int32(const floe_arrow_view *v,
                                            int64_t i) {
  int32_t x;
  memcpy(&x, v->values + (v->offset + i) * 4, 4);
  return x;
}
static inline int64_t floe_arrow_view_int64(const floe_arrow_view *v,
                                            int64_t i) {
  int64_t x;
  memcpy(&x, v->values + (v->offset + i) * 8, 8);
  return x;
}
static inline float floe_arrow_view_float(const floe_arrow_view *v, int64_t i) {
  float x;
  memcpy(&x, v->values + (v->offset + i) * 4, 4);
  return x;
}
static inline double floe_arrow_view_double(const floe_arrow_view *v,
                                            int64_t i) {
  double x;
  memcpy(&x, v->values + (v->offset + i) * 8, 8);
  return x;
}
static inline floe_int128 floe_arrow_view_decimal(const floe_arrow_view *v,
                                                  int64_t i) {
  floe_int128 x;
  memcpy(&x, v->values + (v->offset + i) * 16, 16);
  return x;
}
/* Bytes of a utf8/binary/fixed/uuid value; *len gets its length. */
static inline const uint8_t *floe_arrow_view_bytes(const floe_arrow_view *v,
                                                   int64_t i, size_t *len) {
  if (v->offsets != NULL) {
    int32_t start = v->offsets[v->offset + i];
    *len = (size_t)(v->offsets[v->offset + i + 1] - start);
    return v->data + start;
  }
  *len = (size_t)v->type.byte_width;
  return v->values + (v->offset + i) * v->type.byte_width;
}

/* The elements of list value i (entries of map value i) are child rows
 * [*start, *end). */
static inline void floe_arrow_view_list_range(const floe_arrow_view *v,
                                              int64_t i, int64_t *start,
                                              int64_t *end) {
  *start = v->offsets[v->offset + i];
  *end = v->offsets[v->offset + i + 1];
}

/* Appends value i as text, as floe's CSV output and the fixture CSVs render
 * it: ints decimal, floats shortest round-trip ("1.1", "5.0"), decimals at
 * fixed scale, dates YYYY-MM-DD, times HH:MM:SS[.ffffff], timestamps
 * "YYYY-MM-DD HH:MM:SS[.ffffff]" (tz: followed by "+00"), uuid canonical
 * lower case, binary/fixed lower-case hex, strings as they are, null as
 * "\\N", lists as "[a, b]" with each element rendered by these rules (a
 * null element as "\\N", an empty list as "[]"), structs as
 * "{name: value, ...}" (field names from the schema, values by these
 * rules), maps as "{key -> value, ...}" ("{}" when empty). */
int floe_arrow_view_format(const floe_arrow_view *v, int64_t i, floe_buf *out);

/* Writes the unscaled decimal `v` at `scale` as text ("-12.30"); returns the
 * length. out_size >= 44 always suffices. */
int floe_decimal_format(floe_int128 v, int32_t scale, char *out,
                        size_t out_size);

#ifdef __cplusplus
}
#endif
#endif
