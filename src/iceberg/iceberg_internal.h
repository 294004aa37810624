/*
 * iceberg/iceberg_internal.h: what the iceberg module's files share and no
 * other layer may include: JSON-tree (jansson) forms of schemas, specs and
 * sort orders, arena-targeted copies, and small JSON helpers.
 *
 * Every tree built here lives in the arena passed in; the `arena` field of
 * a root object is set by the public wrappers only when the object owns its
 * arena (standalone), and left NULL when a table metadata owns it.
 */
#ifndef FLOE_ICEBERG_INTERNAL_H
#define FLOE_ICEBERG_INTERNAL_H

#include <jansson.h>

#include "core/arena.h"
#include "floe/iceberg.h"

/* Routes jansson's allocations through floe_malloc/floe_free (once). */
void ice_json_init(void);

/* A fresh heap arena (block size `block`); NULL on ENOMEM. Freed with
 * ice_arena_destroy. */
floe_arena *ice_arena_create(size_t block);
void ice_arena_destroy(floe_arena *arena);

/* Dumps a JSON tree into a floe_malloc'd NUL-terminated string. */
int ice_json_dump(const json_t *json, size_t flags, char **out,
                  size_t *out_len, floe_error *err);
/* Loads JSON text (any value) with a located error message. */
int ice_json_load(const char *text, size_t len, const char *what,
                  json_t **out, floe_error *err);
/* Compact text of a JSON value for error messages (static-free: writes
 * into out, truncated). */
void ice_json_snippet(const json_t *json, char *out, size_t out_size);

/* Integer members. Return FLOE_ENOTFOUND when absent (or null), and
 * FLOE_EFORMAT when present but not an integer in range. */
int ice_json_get_i64(const json_t *obj, const char *key, int64_t *out,
                     floe_error *err);
int ice_json_get_i32(const json_t *obj, const char *key, int32_t *out,
                     floe_error *err);
/* A string member copied into the arena; FLOE_ENOTFOUND when absent. */
int ice_json_get_str(floe_arena *arena, const json_t *obj, const char *key,
                     char **out, floe_error *err);

/* Sets obj[key] = value, taking the reference; FLOE_ENOMEM when value is
 * NULL or the set fails. */
int ice_json_set(json_t *obj, const char *key, json_t *value);
int ice_json_append(json_t *array, json_t *value);

/* ---- types and schemas ------------------------------------------------ */

int ice_type_from_json(floe_arena *arena, const json_t *json,
                       floe_iceberg_type *out, floe_error *err);
json_t *ice_type_to_json(const floe_iceberg_type *type);
int ice_type_copy(floe_arena *arena, floe_iceberg_type *dst,
                  const floe_iceberg_type *src);

int ice_schema_from_json(floe_arena *arena, const json_t *json,
                         floe_iceberg_schema **out, floe_error *err);
json_t *ice_schema_to_json(const floe_iceberg_schema *schema);
int ice_schema_copy_into(floe_arena *arena, const floe_iceberg_schema *src,
                         floe_iceberg_schema **out);
/* Finds a field by id and reports whether it sits inside a list or map. */
const floe_iceberg_field *ice_schema_find_id_ex(const floe_iceberg_schema *s,
                                                int32_t id, bool *in_list_or_map);

/* ---- values ----------------------------------------------------------- */

int ice_value_to_json_tree(const floe_iceberg_type *type,
                           const floe_iceberg_value *value, json_t **out,
                           floe_error *err);
int ice_value_from_json_tree(const floe_iceberg_type *type, const json_t *json,
                             floe_iceberg_value *out, floe_error *err);
/* Validates a default value's JSON (any type, nested included). */
int ice_check_default_json(const floe_iceberg_type *type, const json_t *json,
                           floe_error *err);

/* ---- partition specs and sort orders ---------------------------------- */

int ice_spec_from_json(floe_arena *arena, const json_t *json, int32_t spec_id,
                       bool fields_only, int32_t *next_v1_field_id,
                       floe_iceberg_partition_spec **out, floe_error *err);
json_t *ice_spec_fields_to_json(const floe_iceberg_partition_spec *spec);
json_t *ice_spec_to_json(const floe_iceberg_partition_spec *spec);
int ice_spec_copy_into(floe_arena *arena, const floe_iceberg_partition_spec *src,
                       floe_iceberg_partition_spec **out);

int ice_sort_order_from_json(floe_arena *arena, const json_t *json,
                             floe_iceberg_sort_order **out, floe_error *err);
json_t *ice_sort_order_to_json(const floe_iceberg_sort_order *order);
int ice_sort_order_copy_into(floe_arena *arena,
                             const floe_iceberg_sort_order *src,
                             floe_iceberg_sort_order **out);

/* Source ids helper shared by partition and sort fields: reads "source-id"
 * or "source-ids". */
int ice_read_source_ids(floe_arena *arena, const json_t *obj,
                        int32_t *source_id, int32_t *n_source_ids,
                        int32_t **source_ids, floe_error *err);

#endif
