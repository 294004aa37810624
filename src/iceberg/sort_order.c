/*
 * iceberg/sort_order: sort orders (Iceberg spec: Sorting and Appendix C,
 * Sort Orders) — JSON both ways and building an order against a schema.
 * Order id 0 is reserved for the unsorted order, which has no fields.
 */
#include <string.h>

#include "iceberg/iceberg_internal.h"

#define ORDER_ARENA_BLOCK 1024

int ice_sort_order_from_json(floe_arena *arena, const json_t *json,
                             floe_iceberg_sort_order **out, floe_error *err) {
  *out = NULL;
  if (!json_is_object(json))
    return floe_error_set(err, FLOE_EFORMAT, "sort order: expected an object");
  floe_iceberg_sort_order *order = floe_arena_calloc(arena, 1, sizeof *order);
  if (order == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = ice_json_get_i32(json, "order-id", &order->order_id, err);
  if (rc == FLOE_ENOTFOUND) rc = floe_error_set(err, FLOE_EFORMAT, "sort order: missing order-id");
  if (rc < 0) return rc;
  const json_t *fields = json_object_get(json, "fields");
  if (!json_is_array(fields))
    return floe_error_set(err, FLOE_EFORMAT, "sort order %d: fields must be a list",
                          order->order_id);
  size_t n = json_array_size(fields);
  order->fields = floe_arena_calloc(arena, n ? n : 1, sizeof *order->fields);
  if (order->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *obj = json_array_get(fields, i);
    floe_iceberg_sort_field *f = &order->fields[i];
    if (!json_is_object(obj))
      return floe_error_set(err, FLOE_EFORMAT, "sort order %d: field %zu is not an object",
                            order->order_id, i);
    rc = ice_read_source_ids(arena, obj, &f->source_id, &f->n_source_ids, &f->source_ids, err);
    if (rc == FLOE_OK) rc = ice_json_get_str(arena, obj, "transform", &f->transform_text, err);
    if (rc == FLOE_ENOTFOUND) rc = floe_error_set(err, FLOE_EFORMAT, "missing transform");
    if (rc == FLOE_OK) {
      rc = floe_iceberg_transform_parse(f->transform_text, &f->transform, err);
      if (rc == FLOE_EUNSUPPORTED) rc = FLOE_OK;
    }
    if (rc == FLOE_OK) {
      const char *dir = json_string_value(json_object_get(obj, "direction"));
      const char *nulls = json_string_value(json_object_get(obj, "null-order"));
      if (dir == NULL || (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0))
        rc = floe_error_set(err, FLOE_EFORMAT, "direction must be \"asc\" or \"desc\"");
      else if (nulls == NULL ||
               (strcmp(nulls, "nulls-first") != 0 && strcmp(nulls, "nulls-last") != 0))
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "null-order must be \"nulls-first\" or \"nulls-last\"");
      else {
        f->direction = strcmp(dir, "asc") == 0 ? FLOE_SORT_ASC : FLOE_SORT_DESC;
        f->null_order = strcmp(nulls, "nulls-first") == 0 ? FLOE_NULLS_FIRST : FLOE_NULLS_LAST;
      }
    }
    if (rc < 0)
      return floe_error_prefix(err, "sort order %d field %zu", order->order_id, i), rc;
    order->n_fields = (int32_t)i + 1;
  }
  *out = order;
  return FLOE_OK;
}

json_t *ice_sort_order_to_json(const floe_iceberg_sort_order *order) {
  json_t *obj = json_object(), *fields = json_array();
  int rc = obj ? ice_json_set(obj, "order-id", json_integer(order->order_id)) : FLOE_ENOMEM;
  if (rc == FLOE_OK) rc = ice_json_set(obj, "fields", fields);
  else json_decref(fields);
  for (int32_t i = 0; rc == FLOE_OK && i < order->n_fields; i++) {
    const floe_iceberg_sort_field *f = &order->fields[i];
    json_t *fj = json_object();
    rc = ice_json_append(fields, fj);
    if (rc == FLOE_OK) rc = ice_json_set(fj, "transform", json_string(f->transform_text));
    if (rc == FLOE_OK && f->n_source_ids > 1) {
      json_t *ids = json_array();
      rc = ice_json_set(fj, "source-ids", ids);
      for (int32_t k = 0; rc == FLOE_OK && k < f->n_source_ids; k++)
        rc = ice_json_append(ids, json_integer(f->source_ids[k]));
    } else if (rc == FLOE_OK) {
      rc = ice_json_set(fj, "source-id", json_integer(f->source_id));
    }
    if (rc == FLOE_OK)
      rc = ice_json_set(fj, "direction",
                        json_string(f->direction == FLOE_SORT_ASC ? "asc" : "desc"));
    if (rc == FLOE_OK)
      rc = ice_json_set(fj, "null-order", json_string(f->null_order == FLOE_NULLS_FIRST
                                                          ? "nulls-first"
                                                          : "nulls-last"));
  }
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

int ice_sort_order_copy_into(floe_arena *arena, const floe_iceberg_sort_order *src,
                             floe_iceberg_sort_order **out) {
  floe_iceberg_sort_order *order = floe_arena_calloc(arena, 1, sizeof *order);
  if (order == NULL) return FLOE_ENOMEM;
  order->order_id = src->order_id;
  order->n_fields = src->n_fields;
  order->fields = floe_arena_calloc(arena, src->n_fields ? (size_t)src->n_fields : 1,
                                    sizeof *order->fields);
  if (order->fields == NULL) return FLOE_ENOMEM;
  for (int32_t i = 0; i < src->n_fields; i++) {
    floe_iceberg_sort_field *d = &order->fields[i];
    *d = src->fields[i];
    d->transform_text = floe_arena_strdup(arena, src->fields[i].transform_text);
    if (d->transform_text == NULL) return FLOE_ENOMEM;
    if (src->fields[i].source_ids != NULL) {
      d->source_ids = floe_arena_memdup(arena, src->fields[i].source_ids,
                                        (size_t)d->n_source_ids * sizeof(int32_t));
      if (d->source_ids == NULL) return FLOE_ENOMEM;
    }
  }
  *out = order;
  return FLOE_OK;
}

int floe_iceberg_sort_order_new(floe_iceberg_sort_order **out, int32_t order_id,
                                floe_error *err) {
  *out = NULL;
  floe_arena *arena = ice_arena_create(ORDER_ARENA_BLOCK);
  floe_iceberg_sort_order *order = arena ? floe_arena_calloc(arena, 1, sizeof *order) : NULL;
  if (order == NULL) {
    ice_arena_destroy(arena);
    return floe_error_set(err, FLOE_ENOMEM, "sort order: out of memory");
  }
  order->order_id = order_id;
  order->arena = arena;
  *out = order;
  return FLOE_OK;
}

void floe_iceberg_sort_order_free(floe_iceberg_sort_order *order) {
  if (order == NULL || order->arena == NULL) return;
  ice_arena_destroy(order->arena);
}

int floe_iceberg_sort_order_add_field(floe_iceberg_sort_order *order,
                                      const floe_iceberg_schema *schema,
                                      const char *source_name,
                                      const char *transform,
                                      floe_iceberg_sort_direction direction,
                                      floe_iceberg_null_order null_order,
                                      floe_error *err) {
  if (order->arena == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "sort order %d belongs to a table metadata; copy it first",
                          order->order_id);
  if (order->order_id == 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "sort order id 0 is reserved for the unsorted order");
  const floe_iceberg_field *src = floe_iceberg_schema_find_name(schema, source_name, true);
  if (src == NULL)
    return floe_error_set(err, FLOE_EINVAL, "sort order: column '%s' is not in schema %d",
                          source_name, schema->schema_id);
  floe_iceberg_sort_field f;
  memset(&f, 0, sizeof f);
  int rc = floe_iceberg_transform_parse(transform, &f.transform, err);
  floe_iceberg_type result;
  if (rc == FLOE_OK) rc = floe_iceberg_transform_result_type(&f.transform, &src->type, &result, err);
  if (rc < 0) return floe_error_prefix(err, "sort order: column '%s'", source_name), rc;
  char canonical[24];
  floe_iceberg_transform_format(&f.transform, canonical, sizeof canonical);
  f.source_id = src->id;
  f.n_source_ids = 1;
  f.direction = direction;
  f.null_order = null_order;
  f.transform_text = floe_arena_strdup(order->arena, canonical);
  floe_iceberg_sort_field *fields =
      floe_arena_calloc(order->arena, (size_t)order->n_fields + 1, sizeof *fields);
  if (f.transform_text == NULL || fields == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "sort order: out of memory");
  if (order->n_fields > 0) memcpy(fields, order->fields, (size_t)order->n_fields * sizeof *fields);
  fields[order->n_fields] = f;
  order->fields = fields;
  order->n_fields++;
  return FLOE_OK;
}

int floe_iceberg_sort_order_parse(floe_iceberg_sort_order **out, const char *json,
                                  size_t len, floe_error *err) {
  *out = NULL;
  json_t *tree = NULL;
  int rc = ice_json_load(json, len, "sort order", &tree, err);
  if (rc < 0) return rc;
  floe_arena *arena = ice_arena_create(ORDER_ARENA_BLOCK);
  floe_iceberg_sort_order *order = NULL;
  if (arena == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "sort order: out of memory");
    goto cleanup;
  }
  rc = ice_sort_order_from_json(arena, tree, &order, err);
  if (rc < 0) goto cleanup;
  order->arena = arena;
  arena = NULL;
  *out = order;
cleanup:
  ice_arena_destroy(arena);
  json_decref(tree);
  return rc;
}

int floe_iceberg_sort_order_to_json(const floe_iceberg_sort_order *order,
                                    char **out_json, floe_error *err) {
  ice_json_init();
  *out_json = NULL;
  json_t *tree = ice_sort_order_to_json(order);
  if (tree == NULL) return floe_error_set(err, FLOE_ENOMEM, "sort order json: out of memory");
  int rc = ice_json_dump(tree, JSON_COMPACT, out_json, NULL, err);
  json_decref(tree);
  return rc;
}
