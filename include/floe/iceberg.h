/*
 * floe/iceberg.h: the Iceberg table model — types, schemas, partition specs
 * and transforms, sort orders, single values, and table metadata JSON.
 *
 * Everything here follows the Iceberg table spec (format/spec.md in
 * apache/iceberg); comments cite its sections. This layer knows nothing
 * about files or catalogs: it turns metadata JSON into structs and back,
 * and computes partition values from Arrow columns.
 *
 * Ownership. Schemas, partition specs, sort orders, name mappings and table
 * metadata are trees allocated in one private arena each. A tree handed out
 * by a *_parse, *_new, *_copy or evolution function is owned by the caller
 * and released with its *_free function (which accepts NULL). Schemas,
 * specs, sort orders and snapshots reachable from a floe_iceberg_metadata
 * belong to that metadata (their `arena` is NULL): never free them, and do
 * not use them after the metadata is freed. Treat every struct as read-only
 * unless a function says it mutates it; mutate through the functions below
 * so that the tree's memory stays in its arena.
 *
 * Values (floe_iceberg_value) are small structs interpreted against a type
 * passed alongside. Their bytes (string, binary, fixed, uuid) are borrowed
 * unless `owned` is set; floe_iceberg_value_free releases owned bytes.
 */
#ifndef FLOE_ICEBERG_H
#define FLOE_ICEBERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct floe_arena;

/* ==== types (Iceberg spec: Schemas and Data Types) ===================== */

typedef enum floe_iceberg_type_id {
  FLOE_ICEBERG_TYPE_INVALID = 0,
  FLOE_ICEBERG_BOOLEAN,
  FLOE_ICEBERG_INT,
  FLOE_ICEBERG_LONG,
  FLOE_ICEBERG_FLOAT,
  FLOE_ICEBERG_DOUBLE,
  FLOE_ICEBERG_DECIMAL,        /* precision, scale */
  FLOE_ICEBERG_DATE,           /* days since 1970-01-01 (int32) */
  FLOE_ICEBERG_TIME,           /* microseconds since midnight (int64) */
  FLOE_ICEBERG_TIMESTAMP,      /* microseconds since epoch, no zone */
  FLOE_ICEBERG_TIMESTAMPTZ,    /* microseconds since epoch, UTC */
  FLOE_ICEBERG_TIMESTAMP_NS,   /* v3: nanoseconds, no zone */
  FLOE_ICEBERG_TIMESTAMPTZ_NS, /* v3: nanoseconds, UTC */
  FLOE_ICEBERG_STRING,         /* UTF-8 */
  FLOE_ICEBERG_UUID,           /* 16 bytes, big-endian (canonical order) */
  FLOE_ICEBERG_FIXED,          /* length bytes */
  FLOE_ICEBERG_BINARY,
  FLOE_ICEBERG_UNKNOWN,        /* v3 "unknown": always null */
  FLOE_ICEBERG_VARIANT,        /* v3 "variant": round-trips through JSON only */
  FLOE_ICEBERG_STRUCT,
  FLOE_ICEBERG_LIST,           /* fields[0] is the element ("element") */
  FLOE_ICEBERG_MAP             /* fields[0] key ("key"), fields[1] value ("value") */
} floe_iceberg_type_id;

typedef struct floe_iceberg_field floe_iceberg_field;

/* A type. Primitives use id (+ precision/scale for decimal, length for
 * fixed); nested types list their child fields. A primitive can live on the
 * stack: `floe_iceberg_type t = floe_iceberg_type_of(FLOE_ICEBERG_LONG);`. */
typedef struct floe_iceberg_type {
  floe_iceberg_type_id id;
  int32_t precision; /* decimal */
  int32_t scale;     /* decimal */
  int32_t length;    /* fixed */
  int32_t n_fields;  /* struct: fields; list: 1; map: 2 */
  floe_iceberg_field *fields;
} floe_iceberg_type;

/* A struct field, list element, map key or map value. Defaults are kept as
 * the JSON text of the Appendix D JSON single-value form (NULL = none). */
struct floe_iceberg_field {
  int32_t id;
  char *name;
  bool required;
  floe_iceberg_type type;
  char *doc;                  /* NULL when absent */
  char *initial_default_json; /* v3, NULL when absent */
  char *write_default_json;   /* v3, NULL when absent */
};

static inline floe_iceberg_type floe_iceberg_type_of(floe_iceberg_type_id id) {
  floe_iceberg_type t = {id, 0, 0, 0, 0, NULL};
  return t;
}
static inline floe_iceberg_type floe_iceberg_decimal(int32_t precision,
                                                     int32_t scale) {
  floe_iceberg_type t = {FLOE_ICEBERG_DECIMAL, precision, scale, 0, 0, NULL};
  return t;
}
static inline floe_iceberg_type floe_iceberg_fixed(int32_t length) {
  floe_iceberg_type t = {FLOE_ICEBERG_FIXED, 0, 0, length, 0, NULL};
  return t;
}
static inline bool floe_iceberg_type_is_primitive(floe_iceberg_type_id id) {
  return id != FLOE_ICEBERG_STRUCT && id != FLOE_ICEBERG_LIST &&
         id != FLOE_ICEBERG_MAP && id != FLOE_ICEBERG_TYPE_INVALID;
}

/* Parses a primitive type string ("long", "decimal(9,2)", "decimal(9, 2)",
 * "fixed[16]") into `out`. FLOE_EFORMAT for anything else. */
int floe_iceberg_type_parse(const char *text, floe_iceberg_type *out,
                            floe_error *err);
/* Parses a type string of any nesting into a one-column schema whose
 * column `column` (NULL: "value") has that type, optional, every field id 0
 * (assign with floe_iceberg_type_assign_ids). Takes Iceberg's spelling —
 * the primitives of floe_iceberg_type_parse, "list<T>", "map<K, V>" (K a
 * primitive), "struct<name: T, ...>" — and Spark DDL's: "array<T>",
 * bigint/integer/smallint/tinyint/bool/real, timestamp_ntz/timestamp_ltz,
 * "struct<a:int>" or "struct<a int>"; keywords case-insensitive; field names
 * bare ([A-Za-z0-9_$-]) or `quoted` (`` is a backtick); "not null" after a
 * struct field, list element or map value type makes it required. The
 * caller frees *out with floe_iceberg_schema_free. Errors: FLOE_EFORMAT with
 * the 1-based character position in the message and the 0-based offset in
 * *error_offset (may be NULL), FLOE_ENOMEM. */
struct floe_iceberg_schema;
int floe_iceberg_type_parse_nested(struct floe_iceberg_schema **out, const char *column,
                                   const char *text, size_t *error_offset,
                                   floe_error *err);
/* Appends the type as a type string floe_iceberg_type_parse_nested reads
 * back ("struct<a: int not null, b: list<string>>"). FLOE_ENOMEM. */
int floe_iceberg_type_to_string(const floe_iceberg_type *type, floe_buf *out);
/* Gives the nested fields of `type` fresh ids after *last_id, the way
 * Iceberg assigns them (all children of a type before any grandchild),
 * advancing *last_id. */
void floe_iceberg_type_assign_ids(floe_iceberg_type *type, int32_t *last_id);
/* Writes a primitive type's spec string ("decimal(9,2)", "fixed[16]") or
 * "struct"/"list"/"map" into out (>= 32 bytes). */
void floe_iceberg_type_format(const floe_iceberg_type *type, char *out,
                              size_t out_size);
/* Whether two types are equal (nested types: deep, including field ids,
 * names, requiredness, docs and defaults). */
bool floe_iceberg_type_equal(const floe_iceberg_type *a,
                             const floe_iceberg_type *b);

/* Iceberg primitive <-> floe Arrow type: boolean<->BOOL, int<->INT32,
 * long<->INT64, float<->FLOAT, double<->DOUBLE, decimal<->DECIMAL128,
 * date<->DATE32, time<->TIME64_US, timestamp<->TIMESTAMP_US,
 * timestamptz<->TIMESTAMP_US_TZ, timestamp_ns<->TIMESTAMP_NS,
 * timestamptz_ns<->TIMESTAMP_NS_TZ, string<->UTF8, uuid<->UUID,
 * fixed<->FIXED, binary<->BINARY; list -> LIST, map -> MAP, struct ->
 * STRUCT, nested to any depth, when every child type maps (the children's
 * types are the child fields'; see floe_iceberg_field_to_arrow). v3
 * unknown/variant, Arrow UINT64, and nested Arrow types in from_arrow have
 * no mapping (FLOE_EUNSUPPORTED). */
int floe_iceberg_type_to_arrow(const floe_iceberg_type *type,
                               floe_arrow_type_info *out, floe_error *err);
int floe_iceberg_type_from_arrow(const floe_arrow_type_info *arrow,
                                 floe_iceberg_type *out, floe_error *err);

/* ==== schemas ========================================================== */

typedef struct floe_iceberg_schema {
  int32_t schema_id;
  floe_iceberg_type root; /* always FLOE_ICEBERG_STRUCT */
  int32_t n_identifier_field_ids;
  int32_t *identifier_field_ids;
  struct floe_arena *arena; /* NULL when owned by a table metadata */
} floe_iceberg_schema;

/* A column to build a flat schema from (floe_iceberg_schema_new). */
typedef struct floe_iceberg_column {
  int32_t id; /* <= 0: assign the next id */
  const char *name;
  bool required;
  floe_iceberg_type type; /* primitive */
  const char *doc;        /* may be NULL */
} floe_iceberg_column;

/* Builds a flat schema (schema-id `schema_id`) from n columns. Columns with
 * id <= 0 get ids after the highest given id, in order. Names must be
 * unique. The caller frees *out with floe_iceberg_schema_free. */
int floe_iceberg_schema_new(floe_iceberg_schema **out, int32_t schema_id,
                            const floe_iceberg_column *columns, int32_t n,
                            floe_error *err);
/* Parses a schema object (Iceberg spec: Appendix C, Schemas). The caller
 * frees *out. Errors: FLOE_EFORMAT with the offending JSON fragment. */
int floe_iceberg_schema_parse(floe_iceberg_schema **out, const char *json,
                              size_t len, floe_error *err);
/* Serializes a schema as the spec's JSON object into *out_json (NUL
 * terminated, compact; caller frees with floe_free). */
int floe_iceberg_schema_to_json(const floe_iceberg_schema *schema,
                                char **out_json, floe_error *err);
/* Deep copy (into a new arena); the caller frees *out. */
int floe_iceberg_schema_copy(floe_iceberg_schema **out,
                             const floe_iceberg_schema *schema,
                             floe_error *err);
void floe_iceberg_schema_free(floe_iceberg_schema *schema);
/* Equal fields and identifier ids; schema-id is ignored. */
bool floe_iceberg_schema_equal(const floe_iceberg_schema *a,
                               const floe_iceberg_schema *b);

/* Field with id `id` anywhere in the schema (nested too), or NULL. */
const floe_iceberg_field *floe_iceberg_schema_find_id(
    const floe_iceberg_schema *schema, int32_t id);
/* Field by name: a top-level name, or a dotted path through structs
 * ("location.lat"; lists and maps use "element", "key", "value"). An exact
 * top-level match wins over a dotted path. NULL when absent or, case-
 * insensitively, ambiguous. */
const floe_iceberg_field *floe_iceberg_schema_find_name(
    const floe_iceberg_schema *schema, const char *name, bool case_sensitive);
/* Highest field id in the schema (0 for an empty schema). */
int32_t floe_iceberg_schema_highest_field_id(const floe_iceberg_schema *schema);

/* Builds an Arrow struct schema ("+s") for the top-level columns with the
 * given field ids (in that order; ids NULL = every column in schema order):
 * each child carries "PARQUET:field_id" metadata and is nullable when the
 * column is optional. Columns of every type with an Arrow form, nested to
 * any depth, are supported (FLOE_EUNSUPPORTED for the others). The caller releases
 * *out. */
int floe_iceberg_schema_to_arrow(const floe_iceberg_schema *schema,
                                 const int32_t *field_ids, int32_t n_ids,
                                 struct ArrowSchema *out, floe_error *err);
/* Initialises `out` as the Arrow field of one Iceberg field, nested to
 * any depth, with the Iceberg field id on every level ("PARQUET:field_id"):
 * a struct is "+s" with one child per field (its name, id, nullable unless
 * required); a list is "+l" whose child "element" carries the element-id
 * and is nullable unless element-required; a map is "+m" whose "entries"
 * struct holds "key" (key-id, never nullable) and "value" (value-id,
 * nullable unless value-required). Errors: FLOE_EUNSUPPORTED (a type with
 * no Arrow mapping anywhere in the tree, named with its path),
 * FLOE_ENOMEM. The caller releases *out on success. */
int floe_iceberg_field_to_arrow(const floe_iceberg_field *field,
                                struct ArrowSchema *out, floe_error *err);

/* ---- schema evolution (Iceberg spec: Schema Evolution) ----------------
 * Each operation leaves `base` untouched and returns a new schema with
 * schema-id base->schema_id + 1 (floe_iceberg_metadata_add_schema assigns
 * the final id). Columns are named as in floe_iceberg_schema_find_name
 * (case-sensitive). Rejected changes return FLOE_EINVAL with a message
 * naming the column and the rule. */

/* Adds an optional column at the end of the top-level struct (parent NULL)
 * or of the struct column `parent`. Its id (and the ids of nested fields)
 * come from *last_column_id + 1, ...; *last_column_id is advanced. */
int floe_iceberg_schema_add_column(floe_iceberg_schema **out,
                                   const floe_iceberg_schema *base,
                                   const char *parent, const char *name,
                                   const floe_iceberg_type *type,
                                   const char *doc, int32_t *last_column_id,
                                   floe_error *err);
/* Renames a column (its id is kept). The new name must be free in the
 * column's struct. */
int floe_iceberg_schema_rename_column(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, const char *new_name,
                                      floe_error *err);
/* Promotes a primitive column: int->long, float->double,
 * decimal(P,S)->decimal(P',S) with P' > P (v1/v2 promotions). */
int floe_iceberg_schema_promote_column(floe_iceberg_schema **out,
                                       const floe_iceberg_schema *base,
                                       const char *name,
                                       const floe_iceberg_type *new_type,
                                       floe_error *err);
/* Makes a required column optional. (Optional -> required is rejected by
 * floe_iceberg_schema_set_required.) */
int floe_iceberg_schema_make_optional(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, floe_error *err);
/* Rejects making an optional column required (existing rows may hold
 * nulls); for a column that is already required it returns a plain copy. */
int floe_iceberg_schema_set_required(floe_iceberg_schema **out,
                                     const floe_iceberg_schema *base,
                                     const char *name, floe_error *err);
/* Deletes a column (and its nested fields). Identifier fields cannot be
 * deleted. */
int floe_iceberg_schema_delete_column(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, floe_error *err);

/* ---- name mapping (Iceberg spec: Column Projection) ------------------- */

typedef struct floe_iceberg_name_mapping floe_iceberg_name_mapping;
typedef struct floe_iceberg_mapped_field {
  int32_t n_names;
  char **names;
  bool has_field_id;
  int32_t field_id;
  floe_iceberg_name_mapping *fields; /* NULL when absent */
} floe_iceberg_mapped_field;
struct floe_iceberg_name_mapping {
  int32_t n;
  floe_iceberg_mapped_field *entries;
  struct floe_arena *arena; /* set on the root mapping only */
};

/* The `schema.name-mapping.default` JSON for a schema: every field mapped
 * to its current name (lists: "element", maps: "key"/"value"). *out_json is
 * NUL-terminated; the caller frees it with floe_free. */
int floe_iceberg_name_mapping_from_schema(const floe_iceberg_schema *schema,
                                          char **out_json, floe_error *err);
int floe_iceberg_name_mapping_parse(floe_iceberg_name_mapping **out,
                                    const char *json, size_t len,
                                    floe_error *err);
void floe_iceberg_name_mapping_free(floe_iceberg_name_mapping *mapping);
/* Field id for a path of names (one per nesting level), or -1. */
int32_t floe_iceberg_name_mapping_find(const floe_iceberg_name_mapping *mapping,
                                       const char *const *path, int32_t depth);

/* ==== single values (Iceberg spec: Appendix D) ========================= */

typedef struct floe_iceberg_value {
  bool is_null;
  union {
    bool b;          /* boolean */
    int32_t i32;     /* int, date */
    int64_t i64;     /* long, time, timestamp*, (ns types: nanoseconds) */
    float f32;       /* float */
    double f64;      /* double */
    floe_int128 dec; /* decimal: unscaled */
  } v;
  const uint8_t *bytes; /* string (UTF-8, no NUL), binary, fixed, uuid */
  size_t len;
  uint8_t *owned;       /* when set, bytes point into it */
} floe_iceberg_value;

static inline floe_iceberg_value floe_iceberg_null_value(void) {
  floe_iceberg_value v;
  memset(&v, 0, sizeof v);
  v.is_null = true;
  return v;
}
/* Releases owned bytes and leaves a null value. Accepts NULL. */
void floe_iceberg_value_free(floe_iceberg_value *value);
/* Deep copy (bytes become owned). */
int floe_iceberg_value_copy(floe_iceberg_value *out,
                            const floe_iceberg_value *value);
/* Equality of two non-null or null values of one type (floats by bits). */
bool floe_iceberg_value_equal(const floe_iceberg_type *type,
                              const floe_iceberg_value *a,
                              const floe_iceberg_value *b);

/* Binary single-value serialization: appends the bytes of `value` to out.
 * Null values and nested types: FLOE_EINVAL / FLOE_EUNSUPPORTED. */
int floe_iceberg_value_to_binary(const floe_iceberg_type *type,
                                 const floe_iceberg_value *value,
                                 floe_buf *out, floe_error *err);
/* Decodes binary single-value bytes. The value borrows `data`. Handles the
 * spec's bound-type inference after promotion: 4 bytes for a long (int),
 * for a double (float) and for a timestamp (date). */
int floe_iceberg_value_from_binary(const floe_iceberg_type *type,
                                   const uint8_t *data, size_t len,
                                   floe_iceberg_value *out, floe_error *err);
/* JSON single-value serialization of a primitive: appends JSON text
 * ("34", "\"14.20\"", "\"2017-11-16T22:31:08.123456+00:00\"", null). */
int floe_iceberg_value_to_json(const floe_iceberg_type *type,
                               const floe_iceberg_value *value, floe_buf *out,
                               floe_error *err);
/* Parses JSON single-value text for a primitive type; bytes are owned. */
int floe_iceberg_value_from_json(const floe_iceberg_type *type,
                                 const char *json, size_t len,
                                 floe_iceberg_value *out, floe_error *err);
/* Appends the human-readable form used in partition paths, as the
 * reference implementation renders it: dates "2024-01-31", times "17:00",
 * "10:12:55.038", timestamps "2024-01-31T10:00:00", timestamptz
 * "...+00:00", binary/fixed base64, decimals "14.20", floats as Java prints
 * them ("2.25", "1.0E10"), null "null". */
int floe_iceberg_value_to_human(const floe_iceberg_type *type,
                                const floe_iceberg_value *value,
                                floe_buf *out, floe_error *err);
/* Reads row `row` of an Arrow column as a value of `type` (bytes borrowed
 * from the column). The column's Arrow type must be the type's mapping. */
int floe_iceberg_value_from_arrow(const floe_iceberg_type *type,
                                  const floe_arrow_view *column, int64_t row,
                                  floe_iceberg_value *out, floe_error *err);
/* Appends a value to an Arrow builder of the type's mapping. */
int floe_iceberg_value_append_arrow(const floe_iceberg_type *type,
                                    const floe_iceberg_value *value,
                                    floe_arrow_builder *builder,
                                    floe_error *err);

/* Parses / formats a canonical UUID string ("f79c3e09-677c-...") as 16
 * big-endian bytes; out_text needs 37 bytes. */
int floe_iceberg_uuid_parse(const char *text, size_t len, uint8_t out[16],
                            floe_error *err);
void floe_iceberg_uuid_format(const uint8_t uuid[16], char out_text[37]);
/* A random (version 4) UUID string, from getrandom(2). */
int floe_iceberg_uuid_random(char out_text[37], floe_error *err);

/* ==== transforms (Iceberg spec: Partition Transforms, Appendix B) ====== */

typedef enum floe_iceberg_transform_kind {
  FLOE_TRANSFORM_UNKNOWN = 0, /* a transform floe does not know: kept, ignored */
  FLOE_TRANSFORM_IDENTITY,
  FLOE_TRANSFORM_BUCKET,   /* param = N */
  FLOE_TRANSFORM_TRUNCATE, /* param = W */
  FLOE_TRANSFORM_YEAR,
  FLOE_TRANSFORM_MONTH,
  FLOE_TRANSFORM_DAY,
  FLOE_TRANSFORM_HOUR,
  FLOE_TRANSFORM_VOID
} floe_iceberg_transform_kind;

typedef struct floe_iceberg_transform {
  floe_iceberg_transform_kind kind;
  int32_t param;
} floe_iceberg_transform;

/* Parses "identity", "bucket[16]", "truncate[4]", "year", "month", "day",
 * "hour", "void". Unrecognised text gives kind FLOE_TRANSFORM_UNKNOWN and
 * FLOE_EUNSUPPORTED; bad parameters (bucket[0]) give FLOE_EFORMAT. */
int floe_iceberg_transform_parse(const char *text,
                                 floe_iceberg_transform *out, floe_error *err);
/* Writes the transform's spec string into out (>= 24 bytes). */
void floe_iceberg_transform_format(const floe_iceberg_transform *transform,
                                   char *out, size_t out_size);
/* The result type of applying the transform to `source`; FLOE_EINVAL when
 * the transform does not apply to that type (the spec's "Source types").
 * bucket/year/month/hour give int; day gives date (as the Java and Python
 * reference implementations type it; both are int32 days); identity and
 * truncate give the source type; void gives the source type. */
int floe_iceberg_transform_result_type(const floe_iceberg_transform *transform,
                                       const floe_iceberg_type *source,
                                       floe_iceberg_type *out,
                                       floe_error *err);
/* Applies the transform to one value. `out` may borrow bytes from `in`
 * (identity, truncate). Null in -> null out. */
int floe_iceberg_transform_apply(const floe_iceberg_transform *transform,
                                 const floe_iceberg_type *source,
                                 const floe_iceberg_value *in,
                                 floe_iceberg_value *out, floe_error *err);
/* Applies the transform to every row of an Arrow column, producing a new
 * column (of the result type's Arrow mapping) in *out (caller releases). */
int floe_iceberg_transform_column(const floe_iceberg_transform *transform,
                                  const floe_iceberg_type *source,
                                  const floe_arrow_view *column,
                                  struct ArrowArray *out, floe_error *err);
/* The 32-bit Murmur3 hash of a value (Iceberg spec: Appendix B), for every
 * primitive the appendix lists (including boolean/float/double). */
int floe_iceberg_hash(const floe_iceberg_type *type,
                      const floe_iceberg_value *value, int32_t *out_hash,
                      floe_error *err);

/* ==== partition specs (Iceberg spec: Partitioning) ===================== */

typedef struct floe_iceberg_partition_field {
  int32_t source_id;       /* first source id */
  int32_t n_source_ids;    /* > 1 only for v3 multi-argument transforms */
  int32_t *source_ids;     /* NULL unless the JSON had "source-ids" */
  int32_t field_id;
  char *name;
  floe_iceberg_transform transform;
  char *transform_text;    /* as read (kept for unknown transforms) */
} floe_iceberg_partition_field;

typedef struct floe_iceberg_partition_spec {
  int32_t spec_id;
  int32_t n_fields;
  floe_iceberg_partition_field *fields;
  struct floe_arena *arena; /* NULL when owned by a table metadata */
} floe_iceberg_partition_spec;

#define FLOE_ICEBERG_PARTITION_FIELD_ID_START 1000

/* An empty (unpartitioned) spec with id spec_id; the caller frees it. */
int floe_iceberg_partition_spec_new(floe_iceberg_partition_spec **out,
                                    int32_t spec_id, floe_error *err);
/* Appends a field on column `source_name` of `schema` with a transform
 * string. name NULL gives the reference default (identity: the column
 * name; bucket: "<col>_bucket"; truncate "<col>_trunc"; year/month/day/
 * hour "<col>_year"...; void "<col>_null"). The field id is
 * *last_partition_id + 1 (and *last_partition_id advances; start it at
 * 999). Rejects unknown columns, transforms that do not apply to the
 * column's type, and duplicate names. */
int floe_iceberg_partition_spec_add_field(floe_iceberg_partition_spec *spec,
                                          const floe_iceberg_schema *schema,
                                          const char *source_name,
                                          const char *transform,
                                          const char *name,
                                          int32_t *last_partition_id,
                                          floe_error *err);
/* Parses a spec object {"spec-id", "fields"}; the caller frees *out. */
int floe_iceberg_partition_spec_parse(floe_iceberg_partition_spec **out,
                                      const char *json, size_t len,
                                      floe_error *err);
/* The spec object, or only its fields array when fields_only (the manifest
 * "partition-spec" key-value metadata form). Caller frees *out_json. */
int floe_iceberg_partition_spec_to_json(const floe_iceberg_partition_spec *spec,
                                        bool fields_only, char **out_json,
                                        floe_error *err);
void floe_iceberg_partition_spec_free(floe_iceberg_partition_spec *spec);
/* Same fields (source ids, field ids, names, transforms); spec-id ignored. */
bool floe_iceberg_partition_spec_equal(const floe_iceberg_partition_spec *a,
                                       const floe_iceberg_partition_spec *b);
/* Checks the spec against a schema: every source column exists, is a
 * primitive not inside a list or map, and the transform applies to its type
 * (unknown transforms are allowed for reading only). */
int floe_iceberg_partition_spec_check(const floe_iceberg_partition_spec *spec,
                                      const floe_iceberg_schema *schema,
                                      floe_error *err);
/* The partition tuple's struct type: one optional field per partition
 * field (id = partition field id, name, result type). Returned as a schema
 * (schema-id = spec-id) the caller frees. */
int floe_iceberg_partition_spec_type(const floe_iceberg_partition_spec *spec,
                                     const floe_iceberg_schema *schema,
                                     floe_iceberg_schema **out,
                                     floe_error *err);
/* The partition tuple of row `row` of a batch ("+s" array described by
 * batch_schema, whose children carry "PARQUET:field_id"): out_values gets
 * spec->n_fields values (bytes borrowed from the batch). */
int floe_iceberg_partition_tuple(const floe_iceberg_partition_spec *spec,
                                 const floe_iceberg_schema *schema,
                                 const struct ArrowSchema *batch_schema,
                                 const struct ArrowArray *batch, int64_t row,
                                 floe_iceberg_value *out_values,
                                 floe_error *err);
/* Appends the partition path "name=value/name=value" for a tuple, with the
 * human-readable values URL-encoded as Java's URLEncoder does (letters,
 * digits and ".-*_" kept, space -> '+', everything else %XX of UTF-8). */
int floe_iceberg_partition_path(const floe_iceberg_partition_spec *spec,
                                const floe_iceberg_schema *schema,
                                const floe_iceberg_value *values,
                                floe_buf *out, floe_error *err);

/* ==== sort orders (Iceberg spec: Sorting) ============================== */

typedef enum { FLOE_SORT_ASC = 0, FLOE_SORT_DESC } floe_iceberg_sort_direction;
typedef enum {
  FLOE_NULLS_FIRST = 0,
  FLOE_NULLS_LAST
} floe_iceberg_null_order;

typedef struct floe_iceberg_sort_field {
  int32_t source_id;
  int32_t n_source_ids;
  int32_t *source_ids; /* NULL unless the JSON had "source-ids" */
  floe_iceberg_transform transform;
  char *transform_text;
  floe_iceberg_sort_direction direction;
  floe_iceberg_null_order null_order;
} floe_iceberg_sort_field;

typedef struct floe_iceberg_sort_order {
  int32_t order_id; /* 0 is reserved for the unsorted order */
  int32_t n_fields;
  floe_iceberg_sort_field *fields;
  struct floe_arena *arena; /* NULL when owned by a table metadata */
} floe_iceberg_sort_order;

/* An order with no fields and id order_id (0 = the unsorted order). */
int floe_iceberg_sort_order_new(floe_iceberg_sort_order **out,
                                int32_t order_id, floe_error *err);
/* Appends a sort field on column `source_name` of `schema`. */
int floe_iceberg_sort_order_add_field(floe_iceberg_sort_order *order,
                                      const floe_iceberg_schema *schema,
                                      const char *source_name,
                                      const char *transform,
                                      floe_iceberg_sort_direction direction,
                                      floe_iceberg_null_order null_order,
                                      floe_error *err);
int floe_iceberg_sort_order_parse(floe_iceberg_sort_order **out,
                                  const char *json, size_t len,
                                  floe_error *err);
int floe_iceberg_sort_order_to_json(const floe_iceberg_sort_order *order,
                                    char **out_json, floe_error *err);
void floe_iceberg_sort_order_free(floe_iceberg_sort_order *order);

/* ==== table metadata (Iceberg spec: Table Metadata, Snapshots) ========= */

typedef struct floe_iceberg_property {
  char *key;
  char *value;
} floe_iceberg_property;

typedef struct floe_iceberg_snapshot {
  int64_t snapshot_id;
  bool has_parent;
  int64_t parent_snapshot_id;
  int64_t sequence_number; /* 0 when read from v1 */
  int64_t timestamp_ms;
  char *manifest_list;     /* NULL only for v1 snapshots with "manifests" */
  int32_t n_manifests;     /* v1 "manifests" list */
  char **manifests;
  const char *operation;   /* summary "operation" (points into summary), or NULL */
  int32_t n_summary;       /* every summary entry, in order, operation included */
  floe_iceberg_property *summary;
  bool has_schema_id;
  int32_t schema_id;
  bool has_first_row_id;   /* v3 row lineage */
  int64_t first_row_id;
  bool has_added_rows;
  int64_t added_rows;
  char *extra_json;        /* other keys (e.g. "key-id") as a JSON object, or NULL */
} floe_iceberg_snapshot;

typedef struct floe_iceberg_snapshot_ref {
  char *name;
  int64_t snapshot_id;
  bool is_tag; /* "tag"; false: "branch" */
  bool has_min_snapshots_to_keep;
  int32_t min_snapshots_to_keep;
  bool has_max_snapshot_age_ms;
  int64_t max_snapshot_age_ms;
  bool has_max_ref_age_ms;
  int64_t max_ref_age_ms;
} floe_iceberg_snapshot_ref;

typedef struct floe_iceberg_snapshot_log_entry {
  int64_t timestamp_ms;
  int64_t snapshot_id;
} floe_iceberg_snapshot_log_entry;

typedef struct floe_iceberg_metadata_log_entry {
  int64_t timestamp_ms;
  char *metadata_file;
} floe_iceberg_metadata_log_entry;

typedef struct floe_iceberg_blob_metadata {
  char *type;
  int64_t snapshot_id;
  int64_t sequence_number;
  int32_t n_fields;
  int32_t *fields;
  int32_t n_properties;
  floe_iceberg_property *properties;
} floe_iceberg_blob_metadata;

typedef struct floe_iceberg_statistics_file {
  int64_t snapshot_id;
  char *statistics_path;
  int64_t file_size_in_bytes;
  int64_t file_footer_size_in_bytes;
  char *key_metadata; /* NULL when absent */
  int32_t n_blobs;
  floe_iceberg_blob_metadata *blobs;
} floe_iceberg_statistics_file;

typedef struct floe_iceberg_partition_statistics_file {
  int64_t snapshot_id;
  char *statistics_path;
  int64_t file_size_in_bytes;
} floe_iceberg_partition_statistics_file;

#define FLOE_ICEBERG_MAX_FORMAT_VERSION 3

typedef struct floe_iceberg_metadata {
  int32_t format_version;
  char *table_uuid; /* NULL only for v1 metadata without one */
  char *location;
  int64_t last_sequence_number;
  int64_t last_updated_ms;
  int32_t last_column_id;
  int32_t n_schemas;
  floe_iceberg_schema **schemas;
  int32_t current_schema_id;
  int32_t n_specs;
  floe_iceberg_partition_spec **specs;
  int32_t default_spec_id;
  int32_t last_partition_id;
  int32_t n_properties;
  floe_iceberg_property *properties;
  bool has_current_snapshot; /* false for -1, null or absent */
  int64_t current_snapshot_id;
  int32_t n_snapshots;
  floe_iceberg_snapshot *snapshots;
  int32_t n_snapshot_log;
  floe_iceberg_snapshot_log_entry *snapshot_log;
  int32_t n_metadata_log;
  floe_iceberg_metadata_log_entry *metadata_log;
  int32_t n_sort_orders;
  floe_iceberg_sort_order **sort_orders;
  int32_t default_sort_order_id;
  int32_t n_refs; /* always holds "main" when there is a current snapshot */
  floe_iceberg_snapshot_ref *refs;
  int32_t n_statistics;
  floe_iceberg_statistics_file *statistics;
  int32_t n_partition_statistics;
  floe_iceberg_partition_statistics_file *partition_statistics;
  bool has_next_row_id; /* v3 */
  int64_t next_row_id;
  char *extra_json; /* unknown top-level keys as a JSON object, or NULL */
  struct floe_arena *arena;
} floe_iceberg_metadata;

/* Parses table metadata JSON (gzip-compressed input is detected and
 * inflated) for format versions 1-3, applying the spec's v1 defaults
 * (Appendix E) and the reference implementation's validation: errors say
 * "Cannot read unsupported version 42", "partition-specs must exist in
 * format v2", "Cannot find schema with current-schema-id=2 from schemas",
 * ... (FLOE_EFORMAT; FLOE_EUNSUPPORTED for a version above 3). The caller
 * frees *out with floe_iceberg_metadata_free. */
int floe_iceberg_metadata_parse(floe_iceberg_metadata **out, const char *json,
                                size_t len, floe_error *err);
/* Serializes metadata as its format version requires (v2: exactly the
 * spec's v2 fields; v1 also writes the deprecated singular "schema" and
 * "partition-spec"; v3 adds next-row-id). *out_json is NUL-terminated and
 * freed by the caller with floe_free; *out_len may be NULL. */
int floe_iceberg_metadata_to_json(const floe_iceberg_metadata *metadata,
                                  char **out_json, size_t *out_len,
                                  floe_error *err);
/* Deep copy (the basis of a commit: copy, mutate, write). */
int floe_iceberg_metadata_copy(floe_iceberg_metadata **out,
                               const floe_iceberg_metadata *metadata,
                               floe_error *err);
void floe_iceberg_metadata_free(floe_iceberg_metadata *metadata);

/* New table metadata (format_version 1-3) with a fresh random table-uuid:
 * schema (schema-id 0), spec (NULL = unpartitioned; spec-id 0), sort order
 * (NULL = unsorted, order-id 0), location and n properties. All inputs are
 * copied. last-column-id is the schema's highest id, last-partition-id the
 * spec's highest field id (999 when unpartitioned). */
int floe_iceberg_metadata_new(floe_iceberg_metadata **out,
                              int32_t format_version, const char *location,
                              const floe_iceberg_schema *schema,
                              const floe_iceberg_partition_spec *spec,
                              const floe_iceberg_sort_order *sort_order,
                              const floe_iceberg_property *properties,
                              int32_t n_properties, floe_error *err);

/* Lookups: NULL when absent. */
const floe_iceberg_schema *floe_iceberg_metadata_schema(
    const floe_iceberg_metadata *metadata, int32_t schema_id);
const floe_iceberg_schema *floe_iceberg_metadata_current_schema(
    const floe_iceberg_metadata *metadata);
const floe_iceberg_partition_spec *floe_iceberg_metadata_spec(
    const floe_iceberg_metadata *metadata, int32_t spec_id);
const floe_iceberg_partition_spec *floe_iceberg_metadata_default_spec(
    const floe_iceberg_metadata *metadata);
const floe_iceberg_sort_order *floe_iceberg_metadata_sort_order(
    const floe_iceberg_metadata *metadata, int32_t order_id);
const floe_iceberg_snapshot *floe_iceberg_metadata_snapshot(
    const floe_iceberg_metadata *metadata, int64_t snapshot_id);
const floe_iceberg_snapshot *floe_iceberg_metadata_current_snapshot(
    const floe_iceberg_metadata *metadata);
const floe_iceberg_snapshot_ref *floe_iceberg_metadata_ref(
    const floe_iceberg_metadata *metadata, const char *name);
const char *floe_iceberg_metadata_property(const floe_iceberg_metadata *metadata,
                                           const char *key);
/* The value of snapshot summary key `key` ("total-records",
 * "floe.batch-sk.high", ...), or NULL when absent (or snapshot is NULL). */
const char *floe_iceberg_snapshot_summary(const floe_iceberg_snapshot *snapshot,
                                          const char *key);
/* The parent of a snapshot, or NULL (no parent, or expired). */
const floe_iceberg_snapshot *floe_iceberg_metadata_parent(
    const floe_iceberg_metadata *metadata, const floe_iceberg_snapshot *snapshot);
/* Whether `ancestor_id` is `snapshot_id` or one of its ancestors (walking
 * the parent chain while the parents are still in the metadata). */
bool floe_iceberg_metadata_is_ancestor(const floe_iceberg_metadata *metadata,
                                       int64_t snapshot_id, int64_t ancestor_id);
/* Time travel (Iceberg spec: Appendix F, Point in Time Reads): the snapshot
 * that was current at timestamp_ms according to the snapshot-log (the last
 * entry at or before it). FLOE_ENOTFOUND when none. */
int floe_iceberg_metadata_snapshot_as_of(const floe_iceberg_metadata *metadata,
                                         int64_t timestamp_ms,
                                         const floe_iceberg_snapshot **out,
                                         floe_error *err);

/* A new positive snapshot id (the reference implementation's recipe: a
 * random UUID's halves XORed, masked to 63 bits). */
int floe_iceberg_new_snapshot_id(int64_t *out, floe_error *err);

/* ---- mutators (each copies its inputs into the metadata's arena) ------ */

/* Adds a snapshot (not yet current). Checks: the id is new; for v2+ the
 * sequence number is greater than last-sequence-number; the schema id (when
 * set) exists. Updates last-sequence-number, last-updated-ms (to the
 * snapshot's timestamp) and, for v3, next-row-id (+ added-rows). */
int floe_iceberg_metadata_add_snapshot(floe_iceberg_metadata *metadata,
                                       const floe_iceberg_snapshot *snapshot,
                                       floe_error *err);
/* Points branch or tag `name` at a snapshot. Setting branch "main" also
 * sets current-snapshot-id and appends a snapshot-log entry. */
int floe_iceberg_metadata_set_ref(floe_iceberg_metadata *metadata,
                                  const char *name, int64_t snapshot_id,
                                  bool is_tag, floe_error *err);
/* Sets (or, value NULL, removes) properties. */
int floe_iceberg_metadata_set_properties(floe_iceberg_metadata *metadata,
                                         const floe_iceberg_property *updates,
                                         int32_t n, floe_error *err);
/* Adds a schema (reusing the id of an equal existing schema, otherwise
 * max id + 1; *out_schema_id gets it, may be NULL), raises last-column-id,
 * and makes it current when set_current. */
int floe_iceberg_metadata_add_schema(floe_iceberg_metadata *metadata,
                                     const floe_iceberg_schema *schema,
                                     bool set_current, int32_t *out_schema_id,
                                     floe_error *err);
/* Adds a partition spec (reusing an equal spec's id, otherwise max + 1),
 * raises last-partition-id, and makes it the default when set_default. */
int floe_iceberg_metadata_add_spec(floe_iceberg_metadata *metadata,
                                   const floe_iceberg_partition_spec *spec,
                                   bool set_default, int32_t *out_spec_id,
                                   floe_error *err);
/* Partition evolution (Iceberg spec: Partition Evolution): adds `spec`
 * as the new default spec with its field ids assigned the v2 way — a
 * field equal in source column and transform to a field of any existing
 * spec takes that field's id and name, every other field a new id after
 * last-partition-id (a name an older field of another id had gets the
 * suffix _<id>). An equal existing spec is reused (its id). Existing data
 * files keep their specs. *out_spec_id (may be NULL) gets the id. */
int floe_iceberg_metadata_evolve_spec(floe_iceberg_metadata *metadata,
                                      const floe_iceberg_partition_spec *spec,
                                      int32_t *out_spec_id, floe_error *err);
/* Adds a sort order (reusing an equal order's id; no fields = the
 * unsorted order 0; otherwise max id + 1) and makes it the default when
 * set_default. Its source columns must be in the current schema. */
int floe_iceberg_metadata_add_sort_order(floe_iceberg_metadata *metadata,
                                         const floe_iceberg_sort_order *order,
                                         bool set_default, int32_t *out_order_id,
                                         floe_error *err);
/* Appends a metadata-log entry (the previous metadata file of a commit). */
int floe_iceberg_metadata_add_metadata_log(floe_iceberg_metadata *metadata,
                                           const char *metadata_file,
                                           int64_t timestamp_ms,
                                           floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
