/*
 * iceberg/metadata: table metadata JSON (Iceberg spec: Table Metadata,
 * Snapshots, Snapshot References, Appendix C "Table Metadata and
 * Snapshots", Appendix E) — parsing versions 1-3 with the v1 defaults and
 * the reference implementation's validation, writing it back, building new
 * tables, and the small set of mutations a commit needs.
 *
 * A parsed metadata is one arena-allocated tree; schemas, specs and sort
 * orders inside it are arena objects without their own arena. Mutators
 * allocate replacement arrays in the same arena rather than reallocating,
 * which wastes a little memory per mutation but keeps every pointer a
 * caller got from a lookup valid until the metadata is freed. A commit is
 * "copy, mutate a few times, write, free", so the waste stays small.
 *
 * Keys floe does not know (top level and per snapshot) are kept as JSON
 * text and written back, so rewriting metadata from a newer writer does
 * not silently drop its fields.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/compress.h"
#include "floe/time.h"
#include "iceberg/iceberg_internal.h"

#define METADATA_ARENA_BLOCK (16 * 1024)
#define METADATA_MAX_INFLATED (512u * 1024 * 1024)

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "table metadata: out of memory");
}

/* ---- small readers ---------------------------------------------------- */

/* Reads a required integer member, failing with "<key> must exist". */
static int need_i64(const json_t *obj, const char *key, int64_t *out, floe_error *err) {
  int rc = ice_json_get_i64(obj, key, out, err);
  if (rc == FLOE_ENOTFOUND)
    return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing long %s", key);
  return rc;
}

static int need_i32(const json_t *obj, const char *key, int32_t *out, floe_error *err) {
  int rc = ice_json_get_i32(obj, key, out, err);
  if (rc == FLOE_ENOTFOUND)
    return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing int %s", key);
  return rc;
}

static int need_str(floe_arena *arena, const json_t *obj, const char *key, char **out,
                    floe_error *err) {
  int rc = ice_json_get_str(arena, obj, key, out, err);
  if (rc == FLOE_ENOTFOUND)
    return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing string %s", key);
  return rc;
}

/* A JSON object of string values into a property array. */
static int read_string_map(floe_arena *arena, const json_t *obj, const char *what,
                           int32_t *n_out, floe_iceberg_property **out, floe_error *err) {
  *n_out = 0;
  *out = NULL;
  if (obj == NULL || json_is_null(obj)) return FLOE_OK;
  if (!json_is_object(obj))
    return floe_error_set(err, FLOE_EFORMAT, "%s: expected a JSON object", what);
  size_t n = json_object_size(obj);
  floe_iceberg_property *props = floe_arena_calloc(arena, n ? n : 1, sizeof *props);
  if (props == NULL) return nomem(err);
  const char *key;
  json_t *value;
  size_t i = 0;
  json_object_foreach((json_t *)obj, key, value) {
    if (!json_is_string(value))
      return floe_error_set(err, FLOE_EFORMAT, "%s: value of '%s' is not a string", what, key);
    props[i].key = floe_arena_strdup(arena, key);
    props[i].value = floe_arena_strndup(arena, json_string_value(value), json_string_length(value));
    if (props[i].key == NULL || props[i].value == NULL) return nomem(err);
    i++;
  }
  *n_out = (int32_t)n;
  *out = props;
  return FLOE_OK;
}

static json_t *string_map_to_json(const floe_iceberg_property *props, int32_t n) {
  json_t *obj = json_object();
  for (int32_t i = 0; obj != NULL && i < n; i++)
    if (ice_json_set(obj, props[i].key, json_string(props[i].value)) != FLOE_OK) {
      json_decref(obj);
      return NULL;
    }
  return obj;
}

/* Collects the members of `obj` whose keys are not in `known` as JSON text
 * (NULL when there are none). */
static int collect_extra(floe_arena *arena, const json_t *obj, const char *const *known,
                         char **out, floe_error *err) {
  *out = NULL;
  json_t *extra = json_object();
  if (extra == NULL) return nomem(err);
  const char *key;
  json_t *value;
  int rc = FLOE_OK;
  json_object_foreach((json_t *)obj, key, value) {
    bool is_known = false;
    for (const char *const *k = known; *k != NULL && !is_known; k++) is_known = strcmp(*k, key) == 0;
    if (!is_known && json_object_set(extra, key, value) != 0) {
      rc = nomem(err);
      break;
    }
  }
  if (rc == FLOE_OK && json_object_size(extra) > 0) {
    char *text = NULL;
    rc = ice_json_dump(extra, JSON_COMPACT, &text, NULL, err);
    if (rc == FLOE_OK) {
      *out = floe_arena_strdup(arena, text);
      if (*out == NULL) rc = nomem(err);
    }
    floe_free(text);
  }
  json_decref(extra);
  return rc;
}

/* Merges extra JSON text back into obj. */
static int merge_extra(json_t *obj, const char *extra) {
  if (extra == NULL) return FLOE_OK;
  json_t *tree = json_loads(extra, 0, NULL);
  if (tree == NULL) return FLOE_ENOMEM;
  int rc = json_object_update_missing(obj, tree) == 0 ? FLOE_OK : FLOE_ENOMEM;
  json_decref(tree);
  return rc;
}

/* ---- snapshots -------------------------------------------------------- */

static const char *const snapshot_keys[] = {
    "snapshot-id", "parent-snapshot-id", "sequence-number", "timestamp-ms",
    "manifest-list", "manifests", "summary", "schema-id", "first-row-id",
    "added-rows", NULL};

static int snapshot_from_json(floe_arena *arena, const json_t *obj, floe_iceberg_snapshot *s,
                              floe_error *err) {
  memset(s, 0, sizeof *s);
  if (!json_is_object(obj)) return floe_error_set(err, FLOE_EFORMAT, "expected an object");
  int rc = need_i64(obj, "snapshot-id", &s->snapshot_id, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i64(obj, "parent-snapshot-id", &s->parent_snapshot_id, err);
  if (rc == FLOE_OK) s->has_parent = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  rc = ice_json_get_i64(obj, "sequence-number", &s->sequence_number, err);
  if (rc == FLOE_ENOTFOUND) s->sequence_number = 0; /* Appendix E: v1 default */
  else if (rc < 0) return rc;
  rc = need_i64(obj, "timestamp-ms", &s->timestamp_ms, err);
  if (rc < 0) return rc;
  rc = ice_json_get_str(arena, obj, "manifest-list", &s->manifest_list, err);
  if (rc == FLOE_ENOTFOUND) {
    const json_t *manifests = json_object_get(obj, "manifests");
    if (!json_is_array(manifests))
      return floe_error_set(err, FLOE_EFORMAT,
                            "snapshot %" PRId64 ": needs manifest-list (or v1 manifests)",
                            s->snapshot_id);
    size_t n = json_array_size(manifests);
    s->manifests = floe_arena_calloc(arena, n ? n : 1, sizeof(char *));
    if (s->manifests == NULL) return nomem(err);
    for (size_t i = 0; i < n; i++) {
      const char *m = json_string_value(json_array_get(manifests, i));
      if (m == NULL) return floe_error_set(err, FLOE_EFORMAT, "manifests: expected strings");
      if ((s->manifests[i] = floe_arena_strdup(arena, m)) == NULL) return nomem(err);
    }
    s->n_manifests = (int32_t)n;
  } else if (rc < 0) {
    return rc;
  }
  rc = read_string_map(arena, json_object_get(obj, "summary"), "summary", &s->n_summary,
                       &s->summary, err);
  if (rc < 0) return rc;
  for (int32_t i = 0; i < s->n_summary; i++)
    if (strcmp(s->summary[i].key, "operation") == 0) s->operation = s->summary[i].value;
  if (s->n_summary > 0 && s->operation == NULL)
    return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing string operation");
  rc = ice_json_get_i32(obj, "schema-id", &s->schema_id, err);
  if (rc == FLOE_OK) s->has_schema_id = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  rc = ice_json_get_i64(obj, "first-row-id", &s->first_row_id, err);
  if (rc == FLOE_OK) s->has_first_row_id = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  rc = ice_json_get_i64(obj, "added-rows", &s->added_rows, err);
  if (rc == FLOE_OK) s->has_added_rows = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  return collect_extra(arena, obj, snapshot_keys, &s->extra_json, err);
}

static json_t *snapshot_to_json(const floe_iceberg_snapshot *s, int32_t format_version) {
  json_t *obj = json_object();
  int rc = obj ? FLOE_OK : FLOE_ENOMEM;
  if (rc == FLOE_OK && format_version > 1)
    rc = ice_json_set(obj, "sequence-number", json_integer(s->sequence_number));
  if (rc == FLOE_OK) rc = ice_json_set(obj, "snapshot-id", json_integer(s->snapshot_id));
  if (rc == FLOE_OK && s->has_parent)
    rc = ice_json_set(obj, "parent-snapshot-id", json_integer(s->parent_snapshot_id));
  if (rc == FLOE_OK) rc = ice_json_set(obj, "timestamp-ms", json_integer(s->timestamp_ms));
  if (rc == FLOE_OK && s->n_summary > 0)
    rc = ice_json_set(obj, "summary", string_map_to_json(s->summary, s->n_summary));
  if (rc == FLOE_OK && s->manifest_list != NULL)
    rc = ice_json_set(obj, "manifest-list", json_string(s->manifest_list));
  if (rc == FLOE_OK && s->manifest_list == NULL) {
    json_t *list = json_array();
    rc = ice_json_set(obj, "manifests", list);
    for (int32_t i = 0; rc == FLOE_OK && i < s->n_manifests; i++)
      rc = ice_json_append(list, json_string(s->manifests[i]));
  }
  if (rc == FLOE_OK && s->has_schema_id)
    rc = ice_json_set(obj, "schema-id", json_integer(s->schema_id));
  if (rc == FLOE_OK && s->has_first_row_id)
    rc = ice_json_set(obj, "first-row-id", json_integer(s->first_row_id));
  if (rc == FLOE_OK && s->has_added_rows)
    rc = ice_json_set(obj, "added-rows", json_integer(s->added_rows));
  if (rc == FLOE_OK) rc = merge_extra(obj, s->extra_json);
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

static int snapshot_copy(floe_arena *arena, floe_iceberg_snapshot *d,
                         const floe_iceberg_snapshot *s) {
  *d = *s;
  d->operation = NULL;
  d->manifest_list = s->manifest_list ? floe_arena_strdup(arena, s->manifest_list) : NULL;
  d->extra_json = s->extra_json ? floe_arena_strdup(arena, s->extra_json) : NULL;
  if ((s->manifest_list && !d->manifest_list) || (s->extra_json && !d->extra_json))
    return FLOE_ENOMEM;
  d->manifests = NULL;
  if (s->n_manifests > 0) {
    d->manifests = floe_arena_calloc(arena, (size_t)s->n_manifests, sizeof(char *));
    if (d->manifests == NULL) return FLOE_ENOMEM;
    for (int32_t i = 0; i < s->n_manifests; i++)
      if ((d->manifests[i] = floe_arena_strdup(arena, s->manifests[i])) == NULL)
        return FLOE_ENOMEM;
  }
  d->summary = NULL;
  if (s->n_summary > 0) {
    d->summary = floe_arena_calloc(arena, (size_t)s->n_summary, sizeof *d->summary);
    if (d->summary == NULL) return FLOE_ENOMEM;
    for (int32_t i = 0; i < s->n_summary; i++) {
      d->summary[i].key = floe_arena_strdup(arena, s->summary[i].key);
      d->summary[i].value = floe_arena_strdup(arena, s->summary[i].value);
      if (d->summary[i].key == NULL || d->summary[i].value == NULL) return FLOE_ENOMEM;
      if (strcmp(d->summary[i].key, "operation") == 0) d->operation = d->summary[i].value;
    }
  }
  return FLOE_OK;
}

/* ---- refs, logs, statistics ------------------------------------------- */

static int ref_from_json(floe_arena *arena, const char *name, const json_t *obj,
                         floe_iceberg_snapshot_ref *r, floe_error *err) {
  memset(r, 0, sizeof *r);
  if (!json_is_object(obj)) return floe_error_set(err, FLOE_EFORMAT, "expected an object");
  r->name = floe_arena_strdup(arena, name);
  if (r->name == NULL) return nomem(err);
  int rc = need_i64(obj, "snapshot-id", &r->snapshot_id, err);
  if (rc < 0) return rc;
  const char *type = json_string_value(json_object_get(obj, "type"));
  if (type == NULL || (strcasecmp(type, "branch") != 0 && strcasecmp(type, "tag") != 0))
    return floe_error_set(err, FLOE_EFORMAT, "type must be \"branch\" or \"tag\"");
  r->is_tag = strcasecmp(type, "tag") == 0;
  rc = ice_json_get_i32(obj, "min-snapshots-to-keep", &r->min_snapshots_to_keep, err);
  if (rc == FLOE_OK) r->has_min_snapshots_to_keep = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  rc = ice_json_get_i64(obj, "max-snapshot-age-ms", &r->max_snapshot_age_ms, err);
  if (rc == FLOE_OK) r->has_max_snapshot_age_ms = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  rc = ice_json_get_i64(obj, "max-ref-age-ms", &r->max_ref_age_ms, err);
  if (rc == FLOE_OK) r->has_max_ref_age_ms = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  return FLOE_OK;
}

static json_t *ref_to_json(const floe_iceberg_snapshot_ref *r) {
  json_t *obj = json_object();
  int rc = obj ? ice_json_set(obj, "snapshot-id", json_integer(r->snapshot_id)) : FLOE_ENOMEM;
  if (rc == FLOE_OK) rc = ice_json_set(obj, "type", json_string(r->is_tag ? "tag" : "branch"));
  if (rc == FLOE_OK && r->has_min_snapshots_to_keep)
    rc = ice_json_set(obj, "min-snapshots-to-keep", json_integer(r->min_snapshots_to_keep));
  if (rc == FLOE_OK && r->has_max_snapshot_age_ms)
    rc = ice_json_set(obj, "max-snapshot-age-ms", json_integer(r->max_snapshot_age_ms));
  if (rc == FLOE_OK && r->has_max_ref_age_ms)
    rc = ice_json_set(obj, "max-ref-age-ms", json_integer(r->max_ref_age_ms));
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

static int statistics_from_json(floe_arena *arena, const json_t *obj,
                                 floe_iceberg_statistics_file *s, floe_error *err) {
  memset(s, 0, sizeof *s);
  if (!json_is_object(obj)) return floe_error_set(err, FLOE_EFORMAT, "expected an object");
  int rc = need_i64(obj, "snapshot-id", &s->snapshot_id, err);
  if (rc == FLOE_OK) rc = need_str(arena, obj, "statistics-path", &s->statistics_path, err);
  if (rc == FLOE_OK) rc = need_i64(obj, "file-size-in-bytes", &s->file_size_in_bytes, err);
  if (rc == FLOE_OK)
    rc = need_i64(obj, "file-footer-size-in-bytes", &s->file_footer_size_in_bytes, err);
  if (rc < 0) return rc;
  rc = ice_json_get_str(arena, obj, "key-metadata", &s->key_metadata, err);
  if (rc < 0 && rc != FLOE_ENOTFOUND) return rc;
  const json_t *blobs = json_object_get(obj, "blob-metadata");
  if (!json_is_array(blobs))
    return floe_error_set(err, FLOE_EFORMAT, "blob-metadata: expected a list");
  size_t n = json_array_size(blobs);
  s->blobs = floe_arena_calloc(arena, n ? n : 1, sizeof *s->blobs);
  if (s->blobs == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    const json_t *b = json_array_get(blobs, i);
    floe_iceberg_blob_metadata *m = &s->blobs[i];
    if (!json_is_object(b)) return floe_error_set(err, FLOE_EFORMAT, "blob-metadata[%zu]", i);
    rc = need_str(arena, b, "type", &m->type, err);
    if (rc == FLOE_OK) rc = need_i64(b, "snapshot-id", &m->snapshot_id, err);
    if (rc == FLOE_OK) rc = need_i64(b, "sequence-number", &m->sequence_number, err);
    if (rc < 0) return floe_error_prefix(err, "blob-metadata[%zu]", i), rc;
    const json_t *fields = json_object_get(b, "fields");
    if (!json_is_array(fields))
      return floe_error_set(err, FLOE_EFORMAT, "blob-metadata[%zu]: fields must be a list", i);
    m->n_fields = (int32_t)json_array_size(fields);
    m->fields = floe_arena_alloc(arena, ((size_t)m->n_fields + 1) * sizeof(int32_t));
    if (m->fields == NULL) return nomem(err);
    for (int32_t k = 0; k < m->n_fields; k++) {
      const json_t *f = json_array_get(fields, (size_t)k);
      if (!json_is_integer(f))
        return floe_error_set(err, FLOE_EFORMAT, "blob-metadata[%zu]: fields must be ints", i);
      m->fields[k] = (int32_t)json_integer_value(f);
    }
    rc = read_string_map(arena, json_object_get(b, "properties"), "properties",
                         &m->n_properties, &m->properties, err);
    if (rc < 0) return rc;
  }
  s->n_blobs = (int32_t)n;
  return FLOE_OK;
}

static json_t *statistics_to_json(const floe_iceberg_statistics_file *s) {
  json_t *obj = json_object(), *blobs = json_array();
  int rc = obj ? ice_json_set(obj, "snapshot-id", json_integer(s->snapshot_id)) : FLOE_ENOMEM;
  if (rc == FLOE_OK) rc = ice_json_set(obj, "statistics-path", json_string(s->statistics_path));
  if (rc == FLOE_OK) rc = ice_json_set(obj, "file-size-in-bytes", json_integer(s->file_size_in_bytes));
  if (rc == FLOE_OK)
    rc = ice_json_set(obj, "file-footer-size-in-bytes",
                      json_integer(s->file_footer_size_in_bytes));
  if (rc == FLOE_OK && s->key_metadata)
    rc = ice_json_set(obj, "key-metadata", json_string(s->key_metadata));
  if (rc == FLOE_OK) rc = ice_json_set(obj, "blob-metadata", blobs);
  else json_decref(blobs);
  for (int32_t i = 0; rc == FLOE_OK && i < s->n_blobs; i++) {
    const floe_iceberg_blob_metadata *m = &s->blobs[i];
    json_t *b = json_object(), *fields = json_array();
    rc = ice_json_append(blobs, b);
    if (rc == FLOE_OK) rc = ice_json_set(b, "type", json_string(m->type));
    if (rc == FLOE_OK) rc = ice_json_set(b, "snapshot-id", json_integer(m->snapshot_id));
    if (rc == FLOE_OK) rc = ice_json_set(b, "sequence-number", json_integer(m->sequence_number));
    if (rc == FLOE_OK) rc = ice_json_set(b, "fields", fields);
    else json_decref(fields);
    for (int32_t k = 0; rc == FLOE_OK && k < m->n_fields; k++)
      rc = ice_json_append(fields, json_integer(m->fields[k]));
    if (rc == FLOE_OK && m->n_properties > 0)
      rc = ice_json_set(b, "properties", string_map_to_json(m->properties, m->n_properties));
  }
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

/* ---- parse ------------------------------------------------------------ */

static const char *const metadata_keys[] = {
    "format-version", "table-uuid", "location", "last-sequence-number",
    "last-updated-ms", "last-column-id", "schema", "schemas", "current-schema-id",
    "partition-spec", "partition-specs", "default-spec-id", "last-partition-id",
    "properties", "current-snapshot-id", "snapshots", "snapshot-log",
    "metadata-log", "sort-orders", "default-sort-order-id", "refs", "statistics",
    "partition-statistics", "next-row-id", NULL};

/* Reads an optional JSON list member; *n = -1 when absent or null. */
static const json_t *optional_list(const json_t *obj, const char *key, floe_error *err,
                                   int *rc) {
  const json_t *v = json_object_get(obj, key);
  *rc = FLOE_OK;
  if (v == NULL || json_is_null(v)) return NULL;
  if (!json_is_array(v)) *rc = floe_error_set(err, FLOE_EFORMAT, "%s: expected a list", key);
  return v;
}

static int parse_schemas(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  const json_t *schemas = json_object_get(root, "schemas");
  int rc;
  if (schemas != NULL && !json_is_null(schemas)) {
    if (!json_is_array(schemas))
      return floe_error_set(err, FLOE_EFORMAT, "schemas: expected a list");
    size_t n = json_array_size(schemas);
    md->schemas = floe_arena_calloc(arena, n ? n : 1, sizeof *md->schemas);
    if (md->schemas == NULL) return nomem(err);
    for (size_t i = 0; i < n; i++) {
      rc = ice_schema_from_json(arena, json_array_get(schemas, i), &md->schemas[i], err);
      if (rc < 0) return floe_error_prefix(err, "schemas[%zu]", i), rc;
      md->n_schemas = (int32_t)i + 1;
    }
    rc = need_i32(root, "current-schema-id", &md->current_schema_id, err);
    if (rc < 0) return rc;
  } else {
    if (md->format_version > 1)
      return floe_error_set(err, FLOE_EFORMAT, "schemas must exist in format v%d",
                            md->format_version);
    const json_t *schema = json_object_get(root, "schema");
    if (schema == NULL)
      return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing schema (v1 needs schema)");
    md->schemas = floe_arena_calloc(arena, 1, sizeof *md->schemas);
    if (md->schemas == NULL) return nomem(err);
    rc = ice_schema_from_json(arena, schema, &md->schemas[0], err);
    if (rc < 0) return floe_error_prefix(err, "schema"), rc;
    md->n_schemas = 1;
    md->current_schema_id = md->schemas[0]->schema_id;
  }
  for (int32_t i = 0; i < md->n_schemas; i++)
    for (int32_t k = 0; k < i; k++)
      if (md->schemas[i]->schema_id == md->schemas[k]->schema_id)
        return floe_error_set(err, FLOE_EFORMAT, "schemas: schema-id %d appears twice",
                              md->schemas[i]->schema_id);
  if (floe_iceberg_metadata_current_schema(md) == NULL)
    return floe_error_set(err, FLOE_EFORMAT,
                          "Cannot find schema with current-schema-id=%d from schemas",
                          md->current_schema_id);
  return FLOE_OK;
}

static int parse_specs(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  const json_t *specs = json_object_get(root, "partition-specs");
  int rc;
  if (specs != NULL && !json_is_null(specs)) {
    if (!json_is_array(specs))
      return floe_error_set(err, FLOE_EFORMAT, "partition-specs: expected a list");
    size_t n = json_array_size(specs);
    md->specs = floe_arena_calloc(arena, n ? n : 1, sizeof *md->specs);
    if (md->specs == NULL) return nomem(err);
    /* v1 specs may omit field ids: they continue from 1000 across specs. */
    int32_t next_id = FLOE_ICEBERG_PARTITION_FIELD_ID_START;
    for (size_t i = 0; i < n; i++) {
      rc = ice_spec_from_json(arena, json_array_get(specs, i), 0, false,
                              md->format_version == 1 ? &next_id : NULL, &md->specs[i], err);
      if (rc < 0) return floe_error_prefix(err, "partition-specs[%zu]", i), rc;
      md->n_specs = (int32_t)i + 1;
    }
    rc = need_i32(root, "default-spec-id", &md->default_spec_id, err);
    if (rc < 0) return rc;
  } else {
    if (md->format_version > 1)
      return floe_error_set(err, FLOE_EFORMAT, "partition-specs must exist in format v%d",
                            md->format_version);
    const json_t *fields = json_object_get(root, "partition-spec");
    if (!json_is_array(fields))
      return floe_error_set(err, FLOE_EFORMAT, "Cannot parse missing partition-spec (v1)");
    md->specs = floe_arena_calloc(arena, 1, sizeof *md->specs);
    if (md->specs == NULL) return nomem(err);
    int32_t next_id = FLOE_ICEBERG_PARTITION_FIELD_ID_START;
    rc = ice_spec_from_json(arena, fields, 0, true, &next_id, &md->specs[0], err);
    if (rc < 0) return floe_error_prefix(err, "partition-spec"), rc;
    md->n_specs = 1;
    md->default_spec_id = 0;
  }
  rc = ice_json_get_i32(root, "last-partition-id", &md->last_partition_id, err);
  if (rc == FLOE_ENOTFOUND) {
    if (md->format_version > 1)
      return floe_error_set(err, FLOE_EFORMAT, "last-partition-id must exist in format v%d",
                            md->format_version);
    md->last_partition_id = FLOE_ICEBERG_PARTITION_FIELD_ID_START - 1;
    for (int32_t i = 0; i < md->n_specs; i++)
      for (int32_t k = 0; k < md->specs[i]->n_fields; k++)
        if (md->specs[i]->fields[k].field_id > md->last_partition_id)
          md->last_partition_id = md->specs[i]->fields[k].field_id;
  } else if (rc < 0) {
    return rc;
  }
  if (floe_iceberg_metadata_default_spec(md) == NULL)
    return floe_error_set(err, FLOE_EFORMAT,
                          "Cannot find partition spec with default-spec-id=%d",
                          md->default_spec_id);
  return FLOE_OK;
}

static int parse_sort_orders(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  const json_t *orders = json_object_get(root, "sort-orders");
  int rc;
  if (orders != NULL && !json_is_null(orders)) {
    if (!json_is_array(orders))
      return floe_error_set(err, FLOE_EFORMAT, "sort-orders: expected a list");
    size_t n = json_array_size(orders);
    md->sort_orders = floe_arena_calloc(arena, n ? n : 1, sizeof *md->sort_orders);
    if (md->sort_orders == NULL) return nomem(err);
    for (size_t i = 0; i < n; i++) {
      rc = ice_sort_order_from_json(arena, json_array_get(orders, i), &md->sort_orders[i], err);
      if (rc < 0) return floe_error_prefix(err, "sort-orders[%zu]", i), rc;
      md->n_sort_orders = (int32_t)i + 1;
    }
    rc = need_i32(root, "default-sort-order-id", &md->default_sort_order_id, err);
    if (rc < 0) return rc;
  } else {
    if (md->format_version > 1)
      return floe_error_set(err, FLOE_EFORMAT, "sort-orders must exist in format v%d",
                            md->format_version);
    md->sort_orders = floe_arena_calloc(arena, 1, sizeof *md->sort_orders);
    if (md->sort_orders == NULL) return nomem(err);
    md->sort_orders[0] = floe_arena_calloc(arena, 1, sizeof(floe_iceberg_sort_order));
    if (md->sort_orders[0] == NULL) return nomem(err);
    md->n_sort_orders = 1;
    md->default_sort_order_id = 0;
  }
  if (floe_iceberg_metadata_sort_order(md, md->default_sort_order_id) == NULL)
    return floe_error_set(err, FLOE_EFORMAT,
                          "Cannot find sort order with default-sort-order-id=%d",
                          md->default_sort_order_id);
  return FLOE_OK;
}

static int parse_history(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  int rc;
  const json_t *list = optional_list(root, "snapshots", err, &rc);
  if (rc < 0) return rc;
  size_t n = list ? json_array_size(list) : 0;
  md->snapshots = floe_arena_calloc(arena, n ? n : 1, sizeof *md->snapshots);
  if (md->snapshots == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    rc = snapshot_from_json(arena, json_array_get(list, i), &md->snapshots[i], err);
    if (rc < 0) return floe_error_prefix(err, "snapshots[%zu]", i), rc;
    for (size_t k = 0; k < i; k++)
      if (md->snapshots[k].snapshot_id == md->snapshots[i].snapshot_id)
        return floe_error_set(err, FLOE_EFORMAT, "snapshots: snapshot id %" PRId64 " appears twice",
                              md->snapshots[i].snapshot_id);
    /* Appendix E: v2 sequence numbers never exceed last-sequence-number. */
    if (md->format_version > 1 && md->snapshots[i].sequence_number > md->last_sequence_number)
      return floe_error_set(err, FLOE_EFORMAT,
                            "snapshot %" PRId64 " has sequence number %" PRId64
                            " greater than last-sequence-number %" PRId64,
                            md->snapshots[i].snapshot_id, md->snapshots[i].sequence_number,
                            md->last_sequence_number);
    md->n_snapshots = (int32_t)i + 1;
  }

  list = optional_list(root, "snapshot-log", err, &rc);
  if (rc < 0) return rc;
  n = list ? json_array_size(list) : 0;
  md->snapshot_log = floe_arena_calloc(arena, n ? n : 1, sizeof *md->snapshot_log);
  if (md->snapshot_log == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(list, i);
    rc = need_i64(e, "timestamp-ms", &md->snapshot_log[i].timestamp_ms, err);
    if (rc == FLOE_OK) rc = need_i64(e, "snapshot-id", &md->snapshot_log[i].snapshot_id, err);
    if (rc < 0) return floe_error_prefix(err, "snapshot-log[%zu]", i), rc;
  }
  md->n_snapshot_log = (int32_t)n;

  list = optional_list(root, "metadata-log", err, &rc);
  if (rc < 0) return rc;
  n = list ? json_array_size(list) : 0;
  md->metadata_log = floe_arena_calloc(arena, n ? n : 1, sizeof *md->metadata_log);
  if (md->metadata_log == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(list, i);
    rc = need_i64(e, "timestamp-ms", &md->metadata_log[i].timestamp_ms, err);
    if (rc == FLOE_OK)
      rc = need_str(arena, e, "metadata-file", &md->metadata_log[i].metadata_file, err);
    if (rc < 0) return floe_error_prefix(err, "metadata-log[%zu]", i), rc;
  }
  md->n_metadata_log = (int32_t)n;

  list = optional_list(root, "statistics", err, &rc);
  if (rc < 0) return rc;
  n = list ? json_array_size(list) : 0;
  md->statistics = floe_arena_calloc(arena, n ? n : 1, sizeof *md->statistics);
  if (md->statistics == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    rc = statistics_from_json(arena, json_array_get(list, i), &md->statistics[i], err);
    if (rc < 0) return floe_error_prefix(err, "statistics[%zu]", i), rc;
  }
  md->n_statistics = (int32_t)n;

  list = optional_list(root, "partition-statistics", err, &rc);
  if (rc < 0) return rc;
  n = list ? json_array_size(list) : 0;
  md->partition_statistics =
      floe_arena_calloc(arena, n ? n : 1, sizeof *md->partition_statistics);
  if (md->partition_statistics == NULL) return nomem(err);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(list, i);
    floe_iceberg_partition_statistics_file *p = &md->partition_statistics[i];
    rc = need_i64(e, "snapshot-id", &p->snapshot_id, err);
    if (rc == FLOE_OK) rc = need_str(arena, e, "statistics-path", &p->statistics_path, err);
    if (rc == FLOE_OK) rc = need_i64(e, "file-size-in-bytes", &p->file_size_in_bytes, err);
    if (rc < 0) return floe_error_prefix(err, "partition-statistics[%zu]", i), rc;
  }
  md->n_partition_statistics = (int32_t)n;
  return FLOE_OK;
}

static int parse_refs(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  const json_t *refs = json_object_get(root, "refs");
  size_t n = json_is_object(refs) ? json_object_size(refs) : 0;
  if (refs != NULL && !json_is_null(refs) && !json_is_object(refs))
    return floe_error_set(err, FLOE_EFORMAT, "refs: expected a JSON object");
  md->refs = floe_arena_calloc(arena, n + 1, sizeof *md->refs);
  if (md->refs == NULL) return nomem(err);
  const char *name;
  json_t *value;
  if (n > 0) {
    json_object_foreach((json_t *)refs, name, value) {
      int rc = ref_from_json(arena, name, value, &md->refs[md->n_refs], err);
      if (rc < 0) return floe_error_prefix(err, "refs.%s", name), rc;
      md->n_refs++;
    }
  }
  const floe_iceberg_snapshot_ref *main_ref = floe_iceberg_metadata_ref(md, "main");
  if (main_ref != NULL && md->has_current_snapshot &&
      main_ref->snapshot_id != md->current_snapshot_id)
    return floe_error_set(err, FLOE_EFORMAT,
                          "Current snapshot ID %" PRId64 " does not match main branch %" PRId64,
                          md->current_snapshot_id, main_ref->snapshot_id);
  if (main_ref == NULL && md->has_current_snapshot) {
    /* Table Metadata Fields: there is always a main branch, even when refs
     * is absent (written before refs existed). */
    floe_iceberg_snapshot_ref *r = &md->refs[md->n_refs++];
    memset(r, 0, sizeof *r);
    r->name = floe_arena_strdup(arena, "main");
    if (r->name == NULL) return nomem(err);
    r->snapshot_id = md->current_snapshot_id;
  }
  for (int32_t i = 0; i < md->n_refs; i++)
    if (floe_iceberg_metadata_snapshot(md, md->refs[i].snapshot_id) == NULL)
      return floe_error_set(err, FLOE_EFORMAT, "ref '%s' points at unknown snapshot %" PRId64,
                            md->refs[i].name, md->refs[i].snapshot_id);
  return FLOE_OK;
}

static int parse_tree(floe_iceberg_metadata *md, const json_t *root, floe_error *err) {
  floe_arena *arena = md->arena;
  if (!json_is_object(root))
    return floe_error_set(err, FLOE_EFORMAT, "table metadata must be a JSON object");
  int rc = need_i32(root, "format-version", &md->format_version, err);
  if (rc < 0) return rc;
  if (md->format_version > FLOE_ICEBERG_MAX_FORMAT_VERSION || md->format_version < 1)
    return floe_error_set(err, md->format_version > 0 ? FLOE_EUNSUPPORTED : FLOE_EFORMAT,
                          "Cannot read unsupported version %d", md->format_version);
  rc = ice_json_get_str(arena, root, "table-uuid", &md->table_uuid, err);
  if (rc == FLOE_ENOTFOUND && md->format_version > 1)
    return floe_error_set(err, FLOE_EFORMAT, "table-uuid must exist in format v%d",
                          md->format_version);
  if (rc < 0 && rc != FLOE_ENOTFOUND) return rc;
  rc = need_str(arena, root, "location", &md->location, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i64(root, "last-sequence-number", &md->last_sequence_number, err);
  if (rc == FLOE_ENOTFOUND) {
    if (md->format_version > 1)
      return floe_error_set(err, FLOE_EFORMAT, "last-sequence-number must exist in format v%d",
                            md->format_version);
    md->last_sequence_number = 0;
  } else if (rc < 0) {
    return rc;
  }
  rc = need_i64(root, "last-updated-ms", &md->last_updated_ms, err);
  if (rc == FLOE_OK) rc = need_i32(root, "last-column-id", &md->last_column_id, err);
  if (rc == FLOE_OK) rc = parse_schemas(md, root, err);
  if (rc == FLOE_OK) rc = parse_specs(md, root, err);
  if (rc == FLOE_OK) rc = parse_sort_orders(md, root, err);
  if (rc == FLOE_OK)
    rc = read_string_map(arena, json_object_get(root, "properties"), "properties",
                         &md->n_properties, &md->properties, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i64(root, "current-snapshot-id", &md->current_snapshot_id, err);
  if (rc == FLOE_OK) {
    /* Appendix F: -1 means no current snapshot. */
    md->has_current_snapshot = md->current_snapshot_id != -1;
  } else if (rc != FLOE_ENOTFOUND) {
    return rc;
  }
  if (!md->has_current_snapshot) md->current_snapshot_id = -1;
  rc = parse_history(md, root, err);
  if (rc < 0) return rc;
  if (md->has_current_snapshot && floe_iceberg_metadata_current_snapshot(md) == NULL)
    return floe_error_set(err, FLOE_EFORMAT,
                          "Invalid table metadata: Cannot find current version %" PRId64,
                          md->current_snapshot_id);
  rc = parse_refs(md, root, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i64(root, "next-row-id", &md->next_row_id, err);
  if (rc == FLOE_OK) md->has_next_row_id = true;
  else if (rc != FLOE_ENOTFOUND) return rc;
  return collect_extra(arena, root, metadata_keys, &md->extra_json, err);
}

static floe_iceberg_metadata *metadata_alloc(void) {
  floe_arena *arena = ice_arena_create(METADATA_ARENA_BLOCK);
  if (arena == NULL) return NULL;
  floe_iceberg_metadata *md = floe_arena_calloc(arena, 1, sizeof *md);
  if (md == NULL) {
    ice_arena_destroy(arena);
    return NULL;
  }
  md->arena = arena;
  return md;
}

void floe_iceberg_metadata_free(floe_iceberg_metadata *metadata) {
  if (metadata == NULL) return;
  ice_arena_destroy(metadata->arena);
}

/* Iceberg ids are Java longs, but one hand-assembled table in the wild
 * (DuckDB's equality_delete_cross_partition) carries snapshot id
 * 9876543210123456789 > 2^63-1. jansson refuses such literals, so integer
 * tokens in (2^63-1, 2^64-1] are rewritten to their two's-complement int64
 * value (the id modulo 2^64) before parsing. *out is NULL when the text
 * needs no change; otherwise the caller frees it. */
static int wrap_big_integers(const char *text, size_t len, char **out, size_t *out_len) {
  *out = NULL;
  floe_buf copy = FLOE_BUF_INIT;
  size_t done = 0; /* text[0..done) already copied */
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c < '0' || c > '9' || (i > 0 && ((text[i - 1] >= '0' && text[i - 1] <= '9') ||
                                          text[i - 1] == '-' || text[i - 1] == '.')))
      continue;
    size_t end = i;
    while (end < len && text[end] >= '0' && text[end] <= '9') end++;
    bool integer = end >= len || (text[end] != '.' && text[end] != 'e' && text[end] != 'E');
    if (integer && end - i >= 19 && end - i <= 20) {
      char digits[24];
      memcpy(digits, text + i, end - i);
      digits[end - i] = '\0';
      errno = 0;
      unsigned long long v = strtoull(digits, NULL, 10);
      if (errno == 0 && v > (unsigned long long)INT64_MAX) {
        if (floe_buf_append(&copy, text + done, i - done) < 0 ||
            floe_buf_appendf(&copy, "%" PRId64, (int64_t)(uint64_t)v) < 0) {
          floe_buf_free(&copy);
          return FLOE_ENOMEM;
        }
        done = end;
      }
    }
    i = end - 1;
  }
  if (copy.data == NULL) return FLOE_OK;
  if (floe_buf_append(&copy, text + done, len - done) < 0) {
    floe_buf_free(&copy);
    return FLOE_ENOMEM;
  }
  *out = (char *)floe_buf_detach(&copy, out_len);
  return FLOE_OK;
}

int floe_iceberg_metadata_parse(floe_iceberg_metadata **out, const char *json,
                                size_t len, floe_error *err) {
  *out = NULL;
  floe_buf inflated = FLOE_BUF_INIT;
  char *wrapped = NULL;
  size_t wrapped_len = 0;
  json_t *root = NULL;
  floe_iceberg_metadata *md = NULL;
  int rc = FLOE_OK;
  if (len >= 2 && (uint8_t)json[0] == 0x1f && (uint8_t)json[1] == 0x8b) {
    /* Appendix C: metadata JSON may be GZIP-compressed. */
    floe_codec_ctx ctx;
    floe_codec_ctx_init(&ctx);
    rc = floe_decompress_buf(&ctx, FLOE_CODEC_GZIP, (const uint8_t *)json, len, &inflated,
                             METADATA_MAX_INFLATED, err);
    floe_codec_ctx_free(&ctx);
    if (rc < 0) {
      floe_error_prefix(err, "table metadata (gzip)");
      goto cleanup;
    }
    json = (const char *)inflated.data;
    len = inflated.len;
  }
  rc = wrap_big_integers(json, len, &wrapped, &wrapped_len);
  if (rc < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  if (wrapped != NULL) {
    json = wrapped;
    len = wrapped_len;
  }
  rc = ice_json_load(json, len, "table metadata", &root, err);
  if (rc < 0) goto cleanup;
  md = metadata_alloc();
  if (md == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  rc = parse_tree(md, root, err);
  if (rc < 0) goto cleanup;
  *out = md;
  md = NULL;
cleanup:
  floe_iceberg_metadata_free(md);
  json_decref(root);
  floe_free(wrapped);
  floe_buf_free(&inflated);
  return rc;
}

/* ---- serialize -------------------------------------------------------- */

static json_t *metadata_to_json(const floe_iceberg_metadata *md) {
  json_t *root = json_object();
  if (root == NULL) return NULL;
  int v = md->format_version;
  int rc = ice_json_set(root, "format-version", json_integer(v));
  if (rc == FLOE_OK && md->table_uuid)
    rc = ice_json_set(root, "table-uuid", json_string(md->table_uuid));
  if (rc == FLOE_OK) rc = ice_json_set(root, "location", json_string(md->location));
  if (rc == FLOE_OK && v > 1)
    rc = ice_json_set(root, "last-sequence-number", json_integer(md->last_sequence_number));
  if (rc == FLOE_OK) rc = ice_json_set(root, "last-updated-ms", json_integer(md->last_updated_ms));
  if (rc == FLOE_OK) rc = ice_json_set(root, "last-column-id", json_integer(md->last_column_id));
  if (rc == FLOE_OK && v == 1) {
    /* v1 readers predating "schemas" need the current schema singular. */
    const floe_iceberg_schema *cur = floe_iceberg_metadata_current_schema(md);
    rc = ice_json_set(root, "schema", ice_schema_to_json(cur));
  }
  if (rc == FLOE_OK) rc = ice_json_set(root, "current-schema-id", json_integer(md->current_schema_id));
  json_t *list = NULL;
  if (rc == FLOE_OK) rc = ice_json_set(root, "schemas", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_schemas; i++)
    rc = ice_json_append(list, ice_schema_to_json(md->schemas[i]));
  if (rc == FLOE_OK && v == 1)
    rc = ice_json_set(root, "partition-spec",
                      ice_spec_fields_to_json(floe_iceberg_metadata_default_spec(md)));
  if (rc == FLOE_OK) rc = ice_json_set(root, "default-spec-id", json_integer(md->default_spec_id));
  if (rc == FLOE_OK) rc = ice_json_set(root, "partition-specs", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_specs; i++)
    rc = ice_json_append(list, ice_spec_to_json(md->specs[i]));
  if (rc == FLOE_OK)
    rc = ice_json_set(root, "last-partition-id", json_integer(md->last_partition_id));
  if (rc == FLOE_OK)
    rc = ice_json_set(root, "default-sort-order-id", json_integer(md->default_sort_order_id));
  if (rc == FLOE_OK) rc = ice_json_set(root, "sort-orders", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_sort_orders; i++)
    rc = ice_json_append(list, ice_sort_order_to_json(md->sort_orders[i]));
  if (rc == FLOE_OK)
    rc = ice_json_set(root, "properties", string_map_to_json(md->properties, md->n_properties));
  if (rc == FLOE_OK) {
    /* Appendix F: Java writes -1 for "no current snapshot" up to v2 and
     * null from v3. */
    json_t *cur = md->has_current_snapshot ? json_integer(md->current_snapshot_id)
                  : v < 3                  ? json_integer(-1)
                                           : json_null();
    rc = ice_json_set(root, "current-snapshot-id", cur);
  }
  json_t *refs = NULL;
  if (rc == FLOE_OK) rc = ice_json_set(root, "refs", refs = json_object());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_refs; i++)
    rc = ice_json_set(refs, md->refs[i].name, ref_to_json(&md->refs[i]));
  if (rc == FLOE_OK) rc = ice_json_set(root, "snapshots", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_snapshots; i++)
    rc = ice_json_append(list, snapshot_to_json(&md->snapshots[i], v));
  if (rc == FLOE_OK) rc = ice_json_set(root, "statistics", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_statistics; i++)
    rc = ice_json_append(list, statistics_to_json(&md->statistics[i]));
  if (rc == FLOE_OK) rc = ice_json_set(root, "partition-statistics", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_partition_statistics; i++) {
    const floe_iceberg_partition_statistics_file *p = &md->partition_statistics[i];
    json_t *obj = json_object();
    rc = ice_json_append(list, obj);
    if (rc == FLOE_OK) rc = ice_json_set(obj, "snapshot-id", json_integer(p->snapshot_id));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "statistics-path", json_string(p->statistics_path));
    if (rc == FLOE_OK)
      rc = ice_json_set(obj, "file-size-in-bytes", json_integer(p->file_size_in_bytes));
  }
  if (rc == FLOE_OK) rc = ice_json_set(root, "snapshot-log", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_snapshot_log; i++) {
    json_t *obj = json_object();
    rc = ice_json_append(list, obj);
    if (rc == FLOE_OK)
      rc = ice_json_set(obj, "timestamp-ms", json_integer(md->snapshot_log[i].timestamp_ms));
    if (rc == FLOE_OK)
      rc = ice_json_set(obj, "snapshot-id", json_integer(md->snapshot_log[i].snapshot_id));
  }
  if (rc == FLOE_OK) rc = ice_json_set(root, "metadata-log", list = json_array());
  for (int32_t i = 0; rc == FLOE_OK && i < md->n_metadata_log; i++) {
    json_t *obj = json_object();
    rc = ice_json_append(list, obj);
    if (rc == FLOE_OK)
      rc = ice_json_set(obj, "timestamp-ms", json_integer(md->metadata_log[i].timestamp_ms));
    if (rc == FLOE_OK)
      rc = ice_json_set(obj, "metadata-file", json_string(md->metadata_log[i].metadata_file));
  }
  if (rc == FLOE_OK && (md->has_next_row_id || v >= 3))
    rc = ice_json_set(root, "next-row-id", json_integer(md->has_next_row_id ? md->next_row_id : 0));
  if (rc == FLOE_OK) rc = merge_extra(root, md->extra_json);
  if (rc != FLOE_OK) {
    json_decref(root);
    return NULL;
  }
  return root;
}

int floe_iceberg_metadata_to_json(const floe_iceberg_metadata *metadata,
                                  char **out_json, size_t *out_len,
                                  floe_error *err) {
  ice_json_init();
  *out_json = NULL;
  json_t *root = metadata_to_json(metadata);
  if (root == NULL) return nomem(err);
  int rc = ice_json_dump(root, JSON_INDENT(2), out_json, out_len, err);
  json_decref(root);
  return rc;
}

int floe_iceberg_metadata_copy(floe_iceberg_metadata **out,
                               const floe_iceberg_metadata *metadata,
                               floe_error *err) {
  *out = NULL;
  char *text = NULL;
  size_t len = 0;
  int rc = floe_iceberg_metadata_to_json(metadata, &text, &len, err);
  if (rc == FLOE_OK) rc = floe_iceberg_metadata_parse(out, text, len, err);
  floe_free(text);
  return rc;
}

/* ---- lookups ---------------------------------------------------------- */

const floe_iceberg_schema *floe_iceberg_metadata_schema(
    const floe_iceberg_metadata *md, int32_t schema_id) {
  for (int32_t i = 0; i < md->n_schemas; i++)
    if (md->schemas[i]->schema_id == schema_id) return md->schemas[i];
  return NULL;
}

const floe_iceberg_schema *floe_iceberg_metadata_current_schema(
    const floe_iceberg_metadata *md) {
  return floe_iceberg_metadata_schema(md, md->current_schema_id);
}

const floe_iceberg_partition_spec *floe_iceberg_metadata_spec(
    const floe_iceberg_metadata *md, int32_t spec_id) {
  for (int32_t i = 0; i < md->n_specs; i++)
    if (md->specs[i]->spec_id == spec_id) return md->specs[i];
  return NULL;
}

const floe_iceberg_partition_spec *floe_iceberg_metadata_default_spec(
    const floe_iceberg_metadata *md) {
  return floe_iceberg_metadata_spec(md, md->default_spec_id);
}

const floe_iceberg_sort_order *floe_iceberg_metadata_sort_order(
    const floe_iceberg_metadata *md, int32_t order_id) {
  for (int32_t i = 0; i < md->n_sort_orders; i++)
    if (md->sort_orders[i]->order_id == order_id) return md->sort_orders[i];
  return NULL;
}

const floe_iceberg_snapshot *floe_iceberg_metadata_snapshot(
    const floe_iceberg_metadata *md, int64_t snapshot_id) {
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (md->snapshots[i].snapshot_id == snapshot_id) return &md->snapshots[i];
  return NULL;
}

const floe_iceberg_snapshot *floe_iceberg_metadata_current_snapshot(
    const floe_iceberg_metadata *md) {
  if (!md->has_current_snapshot) return NULL;
  return floe_iceberg_metadata_snapshot(md, md->current_snapshot_id);
}

const floe_iceberg_snapshot_ref *floe_iceberg_metadata_ref(
    const floe_iceberg_metadata *md, const char *name) {
  for (int32_t i = 0; i < md->n_refs; i++)
    if (strcmp(md->refs[i].name, name) == 0) return &md->refs[i];
  return NULL;
}

const char *floe_iceberg_metadata_property(const floe_iceberg_metadata *md,
                                           const char *key) {
  for (int32_t i = 0; i < md->n_properties; i++)
    if (strcmp(md->properties[i].key, key) == 0) return md->properties[i].value;
  return NULL;
}

const char *floe_iceberg_snapshot_summary(const floe_iceberg_snapshot *snapshot,
                                          const char *key) {
  for (int32_t i = 0; snapshot != NULL && i < snapshot->n_summary; i++)
    if (snapshot->summary[i].key != NULL && strcmp(snapshot->summary[i].key, key) == 0)
      return snapshot->summary[i].value;
  return NULL;
}

const floe_iceberg_snapshot *floe_iceberg_metadata_parent(
    const floe_iceberg_metadata *md, const floe_iceberg_snapshot *snapshot) {
  if (snapshot == NULL || !snapshot->has_parent) return NULL;
  return floe_iceberg_metadata_snapshot(md, snapshot->parent_snapshot_id);
}

bool floe_iceberg_metadata_is_ancestor(const floe_iceberg_metadata *md,
                                       int64_t snapshot_id, int64_t ancestor_id) {
  const floe_iceberg_snapshot *s = floe_iceberg_metadata_snapshot(md, snapshot_id);
  /* Bounded by the snapshot count, so a corrupt parent cycle cannot loop. */
  for (int32_t steps = 0; s != NULL && steps <= md->n_snapshots; steps++) {
    if (s->snapshot_id == ancestor_id) return true;
    s = floe_iceberg_metadata_parent(md, s);
  }
  return false;
}

int floe_iceberg_metadata_snapshot_as_of(const floe_iceberg_metadata *md,
                                         int64_t timestamp_ms,
                                         const floe_iceberg_snapshot **out,
                                         floe_error *err) {
  *out = NULL;
  int64_t id = 0;
  bool found = false;
  for (int32_t i = 0; i < md->n_snapshot_log; i++)
    if (md->snapshot_log[i].timestamp_ms <= timestamp_ms) {
      id = md->snapshot_log[i].snapshot_id;
      found = true;
    }
  if (!found)
    return floe_error_set(err, FLOE_ENOTFOUND,
                          "Cannot find a snapshot older than %" PRId64
                          " ms: the snapshot-log has no entry at or before it",
                          timestamp_ms);
  *out = floe_iceberg_metadata_snapshot(md, id);
  if (*out == NULL)
    return floe_error_set(err, FLOE_ENOTFOUND,
                          "snapshot %" PRId64 " (current at %" PRId64 " ms) has expired",
                          id, timestamp_ms);
  return FLOE_OK;
}

int floe_iceberg_new_snapshot_id(int64_t *out, floe_error *err) {
  for (;;) {
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
      ssize_t r = getrandom(b + got, sizeof b - got, 0);
      if (r < 0) return floe_error_set(err, FLOE_EIO, "getrandom failed");
      got += (size_t)r;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    uint64_t msb = 0, lsb = 0;
    for (int i = 0; i < 8; i++) {
      msb = msb << 8 | b[i];
      lsb = lsb << 8 | b[8 + i];
    }
    int64_t id = (int64_t)((msb ^ lsb) & (uint64_t)INT64_MAX);
    if (id != 0) {
      *out = id;
      return FLOE_OK;
    }
  }
}

/* ---- building and mutating -------------------------------------------- */

int floe_iceberg_metadata_new(floe_iceberg_metadata **out,
                              int32_t format_version, const char *location,
                              const floe_iceberg_schema *schema,
                              const floe_iceberg_partition_spec *spec,
                              const floe_iceberg_sort_order *sort_order,
                              const floe_iceberg_property *properties,
                              int32_t n_properties, floe_error *err) {
  *out = NULL;
  if (format_version < 1 || format_version > FLOE_ICEBERG_MAX_FORMAT_VERSION)
    return floe_error_set(err, FLOE_EINVAL, "new table: format version %d is not 1..3",
                          format_version);
  if (location == NULL || location[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "new table: location is empty");
  if (spec != NULL) {
    int rc = floe_iceberg_partition_spec_check(spec, schema, err);
    if (rc < 0) return floe_error_prefix(err, "new table"), rc;
  }
  floe_iceberg_metadata *md = metadata_alloc();
  if (md == NULL) return nomem(err);
  floe_arena *a = md->arena;
  int rc = FLOE_OK;
  char uuid[37];
  rc = floe_iceberg_uuid_random(uuid, err);
  if (rc < 0) goto cleanup;
  md->format_version = format_version;
  md->table_uuid = floe_arena_strdup(a, uuid);
  md->location = floe_arena_strdup(a, location);
  md->last_updated_ms = floe_now_micros() / 1000;
  md->schemas = floe_arena_calloc(a, 1, sizeof *md->schemas);
  md->specs = floe_arena_calloc(a, 1, sizeof *md->specs);
  md->sort_orders = floe_arena_calloc(a, 1, sizeof *md->sort_orders);
  md->properties = floe_arena_calloc(a, n_properties > 0 ? (size_t)n_properties : 1,
                                     sizeof *md->properties);
  if (!md->table_uuid || !md->location || !md->schemas || !md->specs || !md->sort_orders ||
      !md->properties || ice_schema_copy_into(a, schema, &md->schemas[0]) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  md->schemas[0]->schema_id = 0;
  md->n_schemas = 1;
  md->last_column_id = floe_iceberg_schema_highest_field_id(schema);
  if (spec != NULL) rc = ice_spec_copy_into(a, spec, &md->specs[0]);
  else if ((md->specs[0] = floe_arena_calloc(a, 1, sizeof(floe_iceberg_partition_spec))) == NULL)
    rc = FLOE_ENOMEM;
  if (rc < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  md->specs[0]->spec_id = 0;
  md->n_specs = 1;
  md->last_partition_id = FLOE_ICEBERG_PARTITION_FIELD_ID_START - 1;
  for (int32_t i = 0; i < md->specs[0]->n_fields; i++)
    if (md->specs[0]->fields[i].field_id > md->last_partition_id)
      md->last_partition_id = md->specs[0]->fields[i].field_id;
  if (sort_order != NULL && sort_order->n_fields > 0) {
    rc = ice_sort_order_copy_into(a, sort_order, &md->sort_orders[0]);
    if (rc == FLOE_OK && md->sort_orders[0]->order_id == 0) md->sort_orders[0]->order_id = 1;
  } else if ((md->sort_orders[0] = floe_arena_calloc(a, 1, sizeof(floe_iceberg_sort_order))) ==
             NULL) {
    rc = FLOE_ENOMEM;
  }
  if (rc < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  md->n_sort_orders = 1;
  md->default_sort_order_id = md->sort_orders[0]->order_id;
  for (int32_t i = 0; i < n_properties; i++) {
    md->properties[i].key = floe_arena_strdup(a, properties[i].key);
    md->properties[i].value = floe_arena_strdup(a, properties[i].value);
    if (md->properties[i].key == NULL || md->properties[i].value == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
  }
  md->n_properties = n_properties;
  md->current_snapshot_id = -1;
  md->snapshots = floe_arena_calloc(a, 1, sizeof *md->snapshots);
  md->refs = floe_arena_calloc(a, 1, sizeof *md->refs);
  if (md->snapshots == NULL || md->refs == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  if (format_version >= 3) {
    md->has_next_row_id = true;
    md->next_row_id = 0;
  }
  *out = md;
  md = NULL;
cleanup:
  floe_iceberg_metadata_free(md);
  return rc;
}

int floe_iceberg_metadata_add_snapshot(floe_iceberg_metadata *md,
                                       const floe_iceberg_snapshot *snapshot,
                                       floe_error *err) {
  if (floe_iceberg_metadata_snapshot(md, snapshot->snapshot_id) != NULL)
    return floe_error_set(err, FLOE_EEXISTS, "add snapshot: snapshot %" PRId64 " already exists",
                          snapshot->snapshot_id);
  if (md->format_version > 1 && snapshot->sequence_number <= md->last_sequence_number &&
      md->n_snapshots > 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "add snapshot %" PRId64 ": sequence number %" PRId64
                          " is not after last-sequence-number %" PRId64,
                          snapshot->snapshot_id, snapshot->sequence_number,
                          md->last_sequence_number);
  if (md->format_version > 1 && snapshot->manifest_list == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "add snapshot %" PRId64 ": format v%d needs a manifest-list",
                          snapshot->snapshot_id, md->format_version);
  if (snapshot->has_schema_id && floe_iceberg_metadata_schema(md, snapshot->schema_id) == NULL)
    return floe_error_set(err, FLOE_EINVAL, "add snapshot %" PRId64 ": unknown schema id %d",
                          snapshot->snapshot_id, snapshot->schema_id);
  floe_iceberg_snapshot *list =
      floe_arena_calloc(md->arena, (size_t)md->n_snapshots + 1, sizeof *list);
  if (list == NULL) return nomem(err);
  if (md->n_snapshots > 0) memcpy(list, md->snapshots, (size_t)md->n_snapshots * sizeof *list);
  if (snapshot_copy(md->arena, &list[md->n_snapshots], snapshot) < 0) return nomem(err);
  md->snapshots = list;
  md->n_snapshots++;
  if (snapshot->sequence_number > md->last_sequence_number)
    md->last_sequence_number = snapshot->sequence_number;
  md->last_updated_ms = snapshot->timestamp_ms;
  if (md->format_version >= 3 && snapshot->has_added_rows) {
    md->has_next_row_id = true;
    md->next_row_id += snapshot->added_rows;
  }
  return FLOE_OK;
}

int floe_iceberg_metadata_set_ref(floe_iceberg_metadata *md, const char *name,
                                  int64_t snapshot_id, bool is_tag, floe_error *err) {
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_snapshot(md, snapshot_id);
  if (snap == NULL)
    return floe_error_set(err, FLOE_ENOTFOUND, "set ref '%s': no snapshot %" PRId64, name,
                          snapshot_id);
  bool is_main = strcmp(name, "main") == 0;
  if (is_main && is_tag)
    return floe_error_set(err, FLOE_EINVAL, "set ref: 'main' must be a branch");
  floe_iceberg_snapshot_ref *ref = (floe_iceberg_snapshot_ref *)floe_iceberg_metadata_ref(md, name);
  if (ref == NULL) {
    floe_iceberg_snapshot_ref *refs =
        floe_arena_calloc(md->arena, (size_t)md->n_refs + 1, sizeof *refs);
    if (refs == NULL) return nomem(err);
    if (md->n_refs > 0) memcpy(refs, md->refs, (size_t)md->n_refs * sizeof *refs);
    ref = &refs[md->n_refs];
    ref->name = floe_arena_strdup(md->arena, name);
    if (ref->name == NULL) return nomem(err);
    md->refs = refs;
    md->n_refs++;
  }
  ref->snapshot_id = snapshot_id;
  ref->is_tag = is_tag;
  if (is_main) {
    floe_iceberg_snapshot_log_entry *log =
        floe_arena_calloc(md->arena, (size_t)md->n_snapshot_log + 1, sizeof *log);
    if (log == NULL) return nomem(err);
    if (md->n_snapshot_log > 0)
      memcpy(log, md->snapshot_log, (size_t)md->n_snapshot_log * sizeof *log);
    log[md->n_snapshot_log].timestamp_ms = snap->timestamp_ms;
    log[md->n_snapshot_log].snapshot_id = snapshot_id;
    md->snapshot_log = log;
    md->n_snapshot_log++;
    md->has_current_snapshot = true;
    md->current_snapshot_id = snapshot_id;
  }
  return FLOE_OK;
}

int floe_iceberg_metadata_set_properties(floe_iceberg_metadata *md,
                                         const floe_iceberg_property *updates,
                                         int32_t n, floe_error *err) {
  floe_iceberg_property *props =
      floe_arena_calloc(md->arena, (size_t)(md->n_properties + n) + 1, sizeof *props);
  if (props == NULL) return nomem(err);
  int32_t count = 0;
  for (int32_t i = 0; i < md->n_properties; i++) props[count++] = md->properties[i];
  for (int32_t u = 0; u < n; u++) {
    int32_t at = -1;
    for (int32_t i = 0; i < count; i++)
      if (strcmp(props[i].key, updates[u].key) == 0) at = i;
    if (updates[u].value == NULL) {
      if (at >= 0) {
        memmove(&props[at], &props[at + 1], (size_t)(count - at - 1) * sizeof *props);
        count--;
      }
      continue;
    }
    char *value = floe_arena_strdup(md->arena, updates[u].value);
    if (value == NULL) return nomem(err);
    if (at < 0) {
      at = count++;
      props[at].key = floe_arena_strdup(md->arena, updates[u].key);
      if (props[at].key == NULL) return nomem(err);
    }
    props[at].value = value;
  }
  md->properties = props;
  md->n_properties = count;
  return FLOE_OK;
}

int floe_iceberg_metadata_add_schema(floe_iceberg_metadata *md,
                                     const floe_iceberg_schema *schema,
                                     bool set_current, int32_t *out_schema_id,
                                     floe_error *err) {
  int32_t id = -1, max_id = -1;
  for (int32_t i = 0; i < md->n_schemas; i++) {
    if (md->schemas[i]->schema_id > max_id) max_id = md->schemas[i]->schema_id;
    if (id < 0 && floe_iceberg_schema_equal(md->schemas[i], schema)) id = md->schemas[i]->schema_id;
  }
  if (id < 0) {
    floe_iceberg_schema **list =
        floe_arena_calloc(md->arena, (size_t)md->n_schemas + 1, sizeof *list);
    if (list == NULL) return nomem(err);
    if (md->n_schemas > 0) memcpy(list, md->schemas, (size_t)md->n_schemas * sizeof *list);
    if (ice_schema_copy_into(md->arena, schema, &list[md->n_schemas]) < 0) return nomem(err);
    id = max_id + 1;
    list[md->n_schemas]->schema_id = id;
    md->schemas = list;
    md->n_schemas++;
  }
  int32_t highest = floe_iceberg_schema_highest_field_id(schema);
  if (highest > md->last_column_id) md->last_column_id = highest;
  if (set_current) md->current_schema_id = id;
  if (out_schema_id != NULL) *out_schema_id = id;
  return FLOE_OK;
}

int floe_iceberg_metadata_add_spec(floe_iceberg_metadata *md,
                                   const floe_iceberg_partition_spec *spec,
                                   bool set_default, int32_t *out_spec_id,
                                   floe_error *err) {
  int rc = floe_iceberg_partition_spec_check(spec, floe_iceberg_metadata_current_schema(md), err);
  if (rc < 0) return floe_error_prefix(err, "add partition spec"), rc;
  int32_t id = -1, max_id = -1;
  for (int32_t i = 0; i < md->n_specs; i++) {
    if (md->specs[i]->spec_id > max_id) max_id = md->specs[i]->spec_id;
    if (id < 0 && floe_iceberg_partition_spec_equal(md->specs[i], spec)) id = md->specs[i]->spec_id;
  }
  if (id < 0) {
    floe_iceberg_partition_spec **list =
        floe_arena_calloc(md->arena, (size_t)md->n_specs + 1, sizeof *list);
    if (list == NULL) return nomem(err);
    if (md->n_specs > 0) memcpy(list, md->specs, (size_t)md->n_specs * sizeof *list);
    if (ice_spec_copy_into(md->arena, spec, &list[md->n_specs]) < 0) return nomem(err);
    id = max_id + 1;
    list[md->n_specs]->spec_id = id;
    md->specs = list;
    md->n_specs++;
  }
  for (int32_t i = 0; i < spec->n_fields; i++)
    if (spec->fields[i].field_id > md->last_partition_id)
      md->last_partition_id = spec->fields[i].field_id;
  if (set_default) md->default_spec_id = id;
  if (out_spec_id != NULL) *out_spec_id = id;
  return FLOE_OK;
}

/* Whether field `f` of some spec of md is `want`'s equivalent: the same
 * source column and transform (Iceberg spec: Partition Evolution; v2
 * reuses such a field's id, as the reference BaseUpdatePartitionSpec
 * recycles it). */
static const floe_iceberg_partition_field *historical_field(const floe_iceberg_metadata *md,
                                                            const floe_iceberg_partition_field *want) {
  for (int32_t s = 0; s < md->n_specs; s++)
    for (int32_t i = 0; i < md->specs[s]->n_fields; i++) {
      const floe_iceberg_partition_field *f = &md->specs[s]->fields[i];
      if (f->source_id == want->source_id && f->transform.kind == want->transform.kind &&
          f->transform.param == want->transform.param &&
          f->transform.kind != FLOE_TRANSFORM_UNKNOWN)
        return f;
    }
  return NULL;
}

static bool historical_name_taken(const floe_iceberg_metadata *md, const char *name,
                                  int32_t field_id) {
  for (int32_t s = 0; s < md->n_specs; s++)
    for (int32_t i = 0; i < md->specs[s]->n_fields; i++)
      if (md->specs[s]->fields[i].field_id != field_id &&
          strcmp(md->specs[s]->fields[i].name, name) == 0)
        return true;
  return false;
}

int floe_iceberg_metadata_evolve_spec(floe_iceberg_metadata *md,
                                      const floe_iceberg_partition_spec *spec,
                                      int32_t *out_spec_id, floe_error *err) {
  floe_iceberg_partition_spec *next = NULL;
  if (ice_spec_copy_into(md->arena, spec, &next) < 0) return nomem(err);
  int32_t last = md->last_partition_id;
  if (last < FLOE_ICEBERG_PARTITION_FIELD_ID_START - 1) last = FLOE_ICEBERG_PARTITION_FIELD_ID_START - 1;
  for (int32_t i = 0; i < next->n_fields; i++) {
    floe_iceberg_partition_field *f = &next->fields[i];
    const floe_iceberg_partition_field *old = historical_field(md, f);
    if (old != NULL) {
      /* The same field again: its id and name, so readers see one column
       * of the partition type across specs. */
      f->field_id = old->field_id;
      f->name = old->name;
      continue;
    }
    f->field_id = ++last;
    if (historical_name_taken(md, f->name, f->field_id)) {
      /* A name an older field of another transform had: the partition
       * type of all specs (metadata tables) needs distinct names. */
      size_t len = strlen(f->name) + 16;
      char *name = floe_arena_alloc(md->arena, len);
      if (name == NULL) return nomem(err);
      snprintf(name, len, "%s_%d", f->name, (int)f->field_id);
      f->name = name;
    }
  }
  for (int32_t i = 0; i < next->n_fields; i++)
    for (int32_t k = 0; k < i; k++)
      if (next->fields[k].field_id == next->fields[i].field_id)
        return floe_error_set(err, FLOE_EINVAL, "evolve partition spec: field '%s' is listed twice",
                              next->fields[i].name);
  return floe_iceberg_metadata_add_spec(md, next, true, out_spec_id, err);
}

/* Same fields in the same order (order-id ignored). */
static bool sort_order_equal(const floe_iceberg_sort_order *a, const floe_iceberg_sort_order *b) {
  if (a->n_fields != b->n_fields) return false;
  for (int32_t i = 0; i < a->n_fields; i++) {
    const floe_iceberg_sort_field *x = &a->fields[i], *y = &b->fields[i];
    if (x->source_id != y->source_id || x->direction != y->direction ||
        x->null_order != y->null_order || strcmp(x->transform_text, y->transform_text) != 0)
      return false;
  }
  return true;
}

int floe_iceberg_metadata_add_sort_order(floe_iceberg_metadata *md,
                                         const floe_iceberg_sort_order *order, bool set_default,
                                         int32_t *out_order_id, floe_error *err) {
  int32_t id = -1, max_id = 0;
  for (int32_t i = 0; i < md->n_sort_orders; i++) {
    if (md->sort_orders[i]->order_id > max_id) max_id = md->sort_orders[i]->order_id;
    if (id < 0 && sort_order_equal(md->sort_orders[i], order)) id = md->sort_orders[i]->order_id;
  }
  if (id < 0 && order->n_fields == 0) {
    /* Iceberg spec: Sorting — order id 0 is the unsorted order. */
    floe_iceberg_sort_order **list =
        floe_arena_calloc(md->arena, (size_t)md->n_sort_orders + 1, sizeof *list);
    if (list == NULL) return nomem(err);
    if (md->n_sort_orders > 0) memcpy(list, md->sort_orders, (size_t)md->n_sort_orders * sizeof *list);
    if ((list[md->n_sort_orders] = floe_arena_calloc(md->arena, 1, sizeof **list)) == NULL)
      return nomem(err);
    md->sort_orders = list;
    md->n_sort_orders++;
    id = 0;
  } else if (id < 0) {
    const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
    for (int32_t i = 0; i < order->n_fields; i++)
      if (schema == NULL || floe_iceberg_schema_find_id(schema, order->fields[i].source_id) == NULL)
        return floe_error_set(err, FLOE_EINVAL,
                              "add sort order: source column id %d is not in the current schema",
                              (int)order->fields[i].source_id);
    floe_iceberg_sort_order **list =
        floe_arena_calloc(md->arena, (size_t)md->n_sort_orders + 1, sizeof *list);
    if (list == NULL) return nomem(err);
    if (md->n_sort_orders > 0) memcpy(list, md->sort_orders, (size_t)md->n_sort_orders * sizeof *list);
    if (ice_sort_order_copy_into(md->arena, order, &list[md->n_sort_orders]) < 0) return nomem(err);
    id = max_id + 1;
    list[md->n_sort_orders]->order_id = id;
    md->sort_orders = list;
    md->n_sort_orders++;
  }
  if (set_default) md->default_sort_order_id = id;
  if (out_order_id != NULL) *out_order_id = id;
  return FLOE_OK;
}

int floe_iceberg_metadata_add_metadata_log(floe_iceberg_metadata *md,
                                           const char *metadata_file,
                                           int64_t timestamp_ms, floe_error *err) {
  floe_iceberg_metadata_log_entry *log =
      floe_arena_calloc(md->arena, (size_t)md->n_metadata_log + 1, sizeof *log);
  if (log == NULL) return nomem(err);
  if (md->n_metadata_log > 0)
    memcpy(log, md->metadata_log, (size_t)md->n_metadata_log * sizeof *log);
  log[md->n_metadata_log].timestamp_ms = timestamp_ms;
  log[md->n_metadata_log].metadata_file = floe_arena_strdup(md->arena, metadata_file);
  if (log[md->n_metadata_log].metadata_file == NULL) return nomem(err);
  md->metadata_log = log;
  md->n_metadata_log++;
  return FLOE_OK;
}
