/*
 * iceberg/json_util: the small JSON and arena plumbing every iceberg file
 * uses. Metadata JSON is read into jansson trees (routed through
 * floe_malloc so allocation failures can be injected) and converted into
 * arena-owned structs; these helpers make the type checks and error
 * messages uniform ("snapshots[2]: snapshot-id: expected an integer").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iceberg/iceberg_internal.h"

static void *json_alloc(size_t size) { return floe_malloc(size); }
static void json_release(void *p) { floe_free(p); }

void ice_json_init(void) {
  static bool done = false;
  if (!done) {
    json_set_alloc_funcs(json_alloc, json_release);
    done = true;
  }
}

floe_arena *ice_arena_create(size_t block) {
  floe_arena *arena = floe_malloc(sizeof *arena);
  if (arena != NULL) floe_arena_init(arena, block);
  return arena;
}

void ice_arena_destroy(floe_arena *arena) {
  if (arena == NULL) return;
  floe_arena_free(arena);
  floe_free(arena);
}

int ice_json_dump(const json_t *json, size_t flags, char **out,
                  size_t *out_len, floe_error *err) {
  ice_json_init();
  *out = NULL;
  char *text = json_dumps(json, flags | JSON_ENCODE_ANY);
  if (text == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "json: out of memory serializing");
  *out = text; /* allocated by floe_malloc through json_set_alloc_funcs */
  if (out_len != NULL) *out_len = strlen(text);
  return FLOE_OK;
}

int ice_json_load(const char *text, size_t len, const char *what,
                  json_t **out, floe_error *err) {
  ice_json_init();
  json_error_t jerr;
  *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (*out == NULL) {
    /* jansson reports a failed allocation inside the lexer as a syntax
     * error; if not even one byte can be allocated now, say ENOMEM. */
    void *probe = floe_malloc(1);
    floe_free(probe);
    if (probe == NULL || json_error_code(&jerr) == json_error_out_of_memory)
      return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", what);
    return floe_error_set(err, FLOE_EFORMAT, "%s: invalid JSON at line %d column %d: %s",
                          what, jerr.line, jerr.column, jerr.text);
  }
  return FLOE_OK;
}

void ice_json_snippet(const json_t *json, char *out, size_t out_size) {
  if (out_size == 0) return;
  out[0] = '\0';
  if (json == NULL) {
    snprintf(out, out_size, "(missing)");
    return;
  }
  char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text == NULL) return;
  size_t n = strlen(text);
  if (n >= out_size) {
    memcpy(out, text, out_size - 4 > 0 ? out_size - 4 : 0);
    memcpy(out + out_size - 4, "...", 4);
  } else {
    memcpy(out, text, n + 1);
  }
  floe_free(text);
}

int ice_json_get_i64(const json_t *obj, const char *key, int64_t *out,
                     floe_error *err) {
  const json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return FLOE_ENOTFOUND;
  if (!json_is_integer(v))
    return floe_error_set(err, FLOE_EFORMAT, "%s: expected an integer", key);
  *out = (int64_t)json_integer_value(v);
  return FLOE_OK;
}

int ice_json_get_i32(const json_t *obj, const char *key, int32_t *out,
                     floe_error *err) {
  int64_t v;
  int rc = ice_json_get_i64(obj, key, &v, err);
  if (rc < 0) return rc;
  if (v < INT32_MIN || v > INT32_MAX)
    return floe_error_set(err, FLOE_EFORMAT,
                          "%s: %" PRId64 " does not fit a 32-bit int", key, v);
  *out = (int32_t)v;
  return FLOE_OK;
}

int ice_json_get_str(floe_arena *arena, const json_t *obj, const char *key,
                     char **out, floe_error *err) {
  const json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return FLOE_ENOTFOUND;
  if (!json_is_string(v))
    return floe_error_set(err, FLOE_EFORMAT, "%s: expected a string", key);
  *out = floe_arena_strndup(arena, json_string_value(v), json_string_length(v));
  if (*out == NULL) return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", key);
  return FLOE_OK;
}

int ice_json_set(json_t *obj, const char *key, json_t *value) {
  if (value == NULL) return FLOE_ENOMEM;
  return json_object_set_new(obj, key, value) == 0 ? FLOE_OK : FLOE_ENOMEM;
}

int ice_json_append(json_t *array, json_t *value) {
  if (value == NULL) return FLOE_ENOMEM;
  return json_array_append_new(array, value) == 0 ? FLOE_OK : FLOE_ENOMEM;
}

int ice_read_source_ids(floe_arena *arena, const json_t *obj,
                        int32_t *source_id, int32_t *n_source_ids,
                        int32_t **source_ids, floe_error *err) {
  *n_source_ids = 1;
  *source_ids = NULL;
  int rc = ice_json_get_i32(obj, "source-id", source_id, err);
  if (rc == FLOE_OK) return FLOE_OK;
  if (rc != FLOE_ENOTFOUND) return rc;
  const json_t *ids = json_object_get(obj, "source-ids");
  if (!json_is_array(ids) || json_array_size(ids) == 0)
    return floe_error_set(err, FLOE_EFORMAT,
                          "missing source-id (or non-empty source-ids)");
  size_t n = json_array_size(ids);
  int32_t *list = floe_arena_alloc(arena, n * sizeof *list);
  if (list == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *id = json_array_get(ids, i);
    if (!json_is_integer(id) || json_integer_value(id) < INT32_MIN ||
        json_integer_value(id) > INT32_MAX)
      return floe_error_set(err, FLOE_EFORMAT, "source-ids[%zu]: expected an int", i);
    list[i] = (int32_t)json_integer_value(id);
  }
  *source_id = list[0];
  *n_source_ids = (int32_t)n;
  *source_ids = list;
  return FLOE_OK;
}
