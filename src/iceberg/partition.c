/*
 * iceberg/partition: partition specs (Iceberg spec: Partitioning and
 * Appendix C, Partition Specs) — JSON in both the object and the bare
 * fields-list form, building specs against a schema, compatibility checks,
 * the partition tuple of a row, and the `name=value/...` directory names
 * other engines write (Java's PartitionSpec.partitionToPath).
 *
 * Unknown transforms are kept verbatim so that metadata written by newer
 * engines round-trips; they are refused only where floe would have to
 * compute with them (check, tuple, path).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "floe/time.h"
#include "iceberg/iceberg_internal.h"

#define SPEC_ARENA_BLOCK 1024

/* ---- JSON ------------------------------------------------------------- */

static int field_from_json(floe_arena *arena, const json_t *obj,
                           int32_t *next_v1_field_id,
                           floe_iceberg_partition_field *f, floe_error *err) {
  memset(f, 0, sizeof *f);
  if (!json_is_object(obj))
    return floe_error_set(err, FLOE_EFORMAT, "partition field: expected an object");
  int rc = ice_read_source_ids(arena, obj, &f->source_id, &f->n_source_ids,
                               &f->source_ids, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i32(obj, "field-id", &f->field_id, err);
  if (rc == FLOE_ENOTFOUND) {
    /* v1: ids were assigned sequentially from 1000 (Appendix C). */
    if (next_v1_field_id == NULL)
      return floe_error_set(err, FLOE_EFORMAT, "partition field: missing field-id");
    f->field_id = (*next_v1_field_id)++;
  } else if (rc < 0) {
    return rc;
  } else if (next_v1_field_id != NULL && f->field_id >= *next_v1_field_id) {
    *next_v1_field_id = f->field_id + 1;
  }
  rc = ice_json_get_str(arena, obj, "name", &f->name, err);
  if (rc == FLOE_ENOTFOUND) rc = floe_error_set(err, FLOE_EFORMAT, "partition field: missing name");
  if (rc < 0) return rc;
  rc = ice_json_get_str(arena, obj, "transform", &f->transform_text, err);
  if (rc == FLOE_ENOTFOUND)
    rc = floe_error_set(err, FLOE_EFORMAT, "partition field '%s': missing transform", f->name);
  if (rc < 0) return rc;
  rc = floe_iceberg_transform_parse(f->transform_text, &f->transform, err);
  if (rc == FLOE_EUNSUPPORTED) rc = FLOE_OK; /* kept as unknown */
  if (rc < 0) return floe_error_prefix(err, "partition field '%s'", f->name), rc;
  return FLOE_OK;
}

int ice_spec_from_json(floe_arena *arena, const json_t *json, int32_t spec_id,
                       bool fields_only, int32_t *next_v1_field_id,
                       floe_iceberg_partition_spec **out, floe_error *err) {
  *out = NULL;
  floe_iceberg_partition_spec *spec = floe_arena_calloc(arena, 1, sizeof *spec);
  if (spec == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  const json_t *fields = json;
  spec->spec_id = spec_id;
  if (!fields_only) {
    if (!json_is_object(json))
      return floe_error_set(err, FLOE_EFORMAT, "partition spec: expected an object");
    int rc = ice_json_get_i32(json, "spec-id", &spec->spec_id, err);
    if (rc == FLOE_ENOTFOUND) rc = floe_error_set(err, FLOE_EFORMAT, "partition spec: missing spec-id");
    if (rc < 0) return rc;
    fields = json_object_get(json, "fields");
  }
  if (!json_is_array(fields))
    return floe_error_set(err, FLOE_EFORMAT, "partition spec %d: fields must be a list",
                          spec->spec_id);
  size_t n = json_array_size(fields);
  spec->fields = floe_arena_calloc(arena, n ? n : 1, sizeof *spec->fields);
  if (spec->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int rc = field_from_json(arena, json_array_get(fields, i), next_v1_field_id,
                             &spec->fields[i], err);
    if (rc < 0) return floe_error_prefix(err, "partition spec %d", spec->spec_id), rc;
    spec->n_fields = (int32_t)i + 1;
  }
  *out = spec;
  return FLOE_OK;
}

json_t *ice_spec_fields_to_json(const floe_iceberg_partition_spec *spec) {
  json_t *list = json_array();
  if (list == NULL) return NULL;
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_partition_field *f = &spec->fields[i];
    json_t *obj = json_object();
    int rc = ice_json_append(list, obj);
    if (rc == FLOE_OK) rc = ice_json_set(obj, "name", json_string(f->name));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "transform", json_string(f->transform_text));
    /* Appendix C note 1: source-ids only for multi-argument transforms. */
    if (rc == FLOE_OK && f->n_source_ids > 1) {
      json_t *ids = json_array();
      rc = ice_json_set(obj, "source-ids", ids);
      for (int32_t k = 0; rc == FLOE_OK && k < f->n_source_ids; k++)
        rc = ice_json_append(ids, json_integer(f->source_ids[k]));
    } else if (rc == FLOE_OK) {
      rc = ice_json_set(obj, "source-id", json_integer(f->source_id));
    }
    if (rc == FLOE_OK) rc = ice_json_set(obj, "field-id", json_integer(f->field_id));
    if (rc != FLOE_OK) {
      json_decref(list);
      return NULL;
    }
  }
  return list;
}

json_t *ice_spec_to_json(const floe_iceberg_partition_spec *spec) {
  json_t *obj = json_object();
  if (obj == NULL) return NULL;
  if (ice_json_set(obj, "spec-id", json_integer(spec->spec_id)) != FLOE_OK ||
      ice_json_set(obj, "fields", ice_spec_fields_to_json(spec)) != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

int ice_spec_copy_into(floe_arena *arena, const floe_iceberg_partition_spec *src,
                       floe_iceberg_partition_spec **out) {
  floe_iceberg_partition_spec *spec = floe_arena_calloc(arena, 1, sizeof *spec);
  if (spec == NULL) return FLOE_ENOMEM;
  spec->spec_id = src->spec_id;
  spec->n_fields = src->n_fields;
  spec->fields = floe_arena_calloc(arena, src->n_fields ? (size_t)src->n_fields : 1,
                                   sizeof *spec->fields);
  if (spec->fields == NULL) return FLOE_ENOMEM;
  for (int32_t i = 0; i < src->n_fields; i++) {
    floe_iceberg_partition_field *d = &spec->fields[i];
    *d = src->fields[i];
    d->name = floe_arena_strdup(arena, src->fields[i].name);
    d->transform_text = floe_arena_strdup(arena, src->fields[i].transform_text);
    if (d->name == NULL || d->transform_text == NULL) return FLOE_ENOMEM;
    if (src->fields[i].source_ids != NULL) {
      d->source_ids = floe_arena_memdup(arena, src->fields[i].source_ids,
                                        (size_t)d->n_source_ids * sizeof(int32_t));
      if (d->source_ids == NULL) return FLOE_ENOMEM;
    }
  }
  *out = spec;
  return FLOE_OK;
}

/* ---- public lifecycle ------------------------------------------------- */

int floe_iceberg_partition_spec_new(floe_iceberg_partition_spec **out,
                                    int32_t spec_id, floe_error *err) {
  *out = NULL;
  floe_arena *arena = ice_arena_create(SPEC_ARENA_BLOCK);
  floe_iceberg_partition_spec *spec = arena ? floe_arena_calloc(arena, 1, sizeof *spec) : NULL;
  if (spec == NULL) {
    ice_arena_destroy(arena);
    return floe_error_set(err, FLOE_ENOMEM, "partition spec: out of memory");
  }
  spec->spec_id = spec_id;
  spec->arena = arena;
  *out = spec;
  return FLOE_OK;
}

void floe_iceberg_partition_spec_free(floe_iceberg_partition_spec *spec) {
  if (spec == NULL || spec->arena == NULL) return;
  ice_arena_destroy(spec->arena);
}

int floe_iceberg_partition_spec_parse(floe_iceberg_partition_spec **out,
                                      const char *json, size_t len,
                                      floe_error *err) {
  *out = NULL;
  json_t *tree = NULL;
  floe_arena *arena = NULL;
  int rc = ice_json_load(json, len, "partition spec", &tree, err);
  if (rc < 0) return rc;
  arena = ice_arena_create(SPEC_ARENA_BLOCK);
  if (arena == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "partition spec: out of memory");
    goto cleanup;
  }
  floe_iceberg_partition_spec *spec = NULL;
  int32_t next_id = FLOE_ICEBERG_PARTITION_FIELD_ID_START;
  bool fields_only = json_is_array(tree);
  rc = ice_spec_from_json(arena, tree, 0, fields_only, fields_only ? &next_id : NULL,
                          &spec, err);
  if (rc < 0) goto cleanup;
  spec->arena = arena;
  arena = NULL;
  *out = spec;
cleanup:
  ice_arena_destroy(arena);
  json_decref(tree);
  return rc;
}

int floe_iceberg_partition_spec_to_json(const floe_iceberg_partition_spec *spec,
                                        bool fields_only, char **out_json,
                                        floe_error *err) {
  ice_json_init();
  *out_json = NULL;
  json_t *tree = fields_only ? ice_spec_fields_to_json(spec) : ice_spec_to_json(spec);
  if (tree == NULL) return floe_error_set(err, FLOE_ENOMEM, "partition spec json: out of memory");
  int rc = ice_json_dump(tree, JSON_COMPACT, out_json, NULL, err);
  json_decref(tree);
  return rc;
}

bool floe_iceberg_partition_spec_equal(const floe_iceberg_partition_spec *a,
                                       const floe_iceberg_partition_spec *b) {
  if (a->n_fields != b->n_fields) return false;
  for (int32_t i = 0; i < a->n_fields; i++) {
    const floe_iceberg_partition_field *fa = &a->fields[i], *fb = &b->fields[i];
    if (fa->source_id != fb->source_id || fa->n_source_ids != fb->n_source_ids ||
        fa->field_id != fb->field_id || strcmp(fa->name, fb->name) != 0 ||
        strcmp(fa->transform_text, fb->transform_text) != 0)
      return false;
    for (int32_t k = 0; fa->source_ids && fb->source_ids && k < fa->n_source_ids; k++)
      if (fa->source_ids[k] != fb->source_ids[k]) return false;
  }
  return true;
}

/* Checks one field against a schema; *source gets the source field. */
static int check_field(const floe_iceberg_partition_field *f,
                       const floe_iceberg_schema *schema,
                       const floe_iceberg_field **source, floe_error *err) {
  bool nested = false;
  const floe_iceberg_field *src = ice_schema_find_id_ex(schema, f->source_id, &nested);
  if (src == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "partition field '%s': source column id %d is not in schema %d",
                          f->name, f->source_id, schema->schema_id);
  if (!floe_iceberg_type_is_primitive(src->type.id) || nested)
    return floe_error_set(err, FLOE_EINVAL,
                          "partition field '%s': source column '%s' must be a primitive "
                          "outside lists and maps",
                          f->name, src->name);
  if (f->transform.kind == FLOE_TRANSFORM_UNKNOWN)
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "partition field '%s': unknown transform '%s'", f->name,
                          f->transform_text);
  floe_iceberg_type result;
  int rc = floe_iceberg_transform_result_type(&f->transform, &src->type, &result, err);
  if (rc < 0)
    return floe_error_prefix(err, "partition field '%s' on column '%s'", f->name, src->name), rc;
  *source = src;
  return FLOE_OK;
}

int floe_iceberg_partition_spec_check(const floe_iceberg_partition_spec *spec,
                                      const floe_iceberg_schema *schema,
                                      floe_error *err) {
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_field *src;
    int rc = check_field(&spec->fields[i], schema, &src, err);
    if (rc == FLOE_EUNSUPPORTED) continue; /* readable: ignored when filtering */
    if (rc < 0) return rc;
    for (int32_t k = 0; k < i; k++)
      if (strcmp(spec->fields[k].name, spec->fields[i].name) == 0 ||
          spec->fields[k].field_id == spec->fields[i].field_id)
        return floe_error_set(err, FLOE_EINVAL,
                              "partition spec %d: fields '%s' and '%s' share a name or "
                              "field id",
                              spec->spec_id, spec->fields[k].name, spec->fields[i].name);
  }
  return FLOE_OK;
}

static const char *default_suffix(floe_iceberg_transform_kind kind) {
  switch (kind) {
    case FLOE_TRANSFORM_BUCKET: return "_bucket";
    case FLOE_TRANSFORM_TRUNCATE: return "_trunc";
    case FLOE_TRANSFORM_YEAR: return "_year";
    case FLOE_TRANSFORM_MONTH: return "_month";
    case FLOE_TRANSFORM_DAY: return "_day";
    case FLOE_TRANSFORM_HOUR: return "_hour";
    case FLOE_TRANSFORM_VOID: return "_null";
    default: return "";
  }
}

int floe_iceberg_partition_spec_add_field(floe_iceberg_partition_spec *spec,
                                          const floe_iceberg_schema *schema,
                                          const char *source_name,
                                          const char *transform,
                                          const char *name,
                                          int32_t *last_partition_id,
                                          floe_error *err) {
  floe_arena *arena = spec->arena;
  if (arena == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "partition spec %d belongs to a table metadata; copy it first",
                          spec->spec_id);
  const floe_iceberg_field *src = floe_iceberg_schema_find_name(schema, source_name, true);
  if (src == NULL)
    return floe_error_set(err, FLOE_EINVAL, "partition spec: column '%s' is not in schema %d",
                          source_name, schema->schema_id);
  floe_iceberg_partition_field f;
  memset(&f, 0, sizeof f);
  int rc = floe_iceberg_transform_parse(transform, &f.transform, err);
  if (rc < 0) return floe_error_prefix(err, "partition spec: column '%s'", source_name), rc;
  char default_name[512];
  if (name == NULL) {
    /* a field inside a struct: its path with '_' for '.', as partition
     * names become Avro field names in manifests (no dots there) */
    bool path = strchr(source_name, '.') != NULL && strcmp(src->name, source_name) != 0;
    snprintf(default_name, sizeof default_name, "%s%s", path ? source_name : src->name,
             default_suffix(f.transform.kind));
    for (char *d = default_name; path && *d != '\0'; d++)
      if (*d == '.') *d = '_';
    name = default_name;
  }
  char canonical[24];
  floe_iceberg_transform_format(&f.transform, canonical, sizeof canonical);
  f.source_id = src->id;
  f.n_source_ids = 1;
  f.field_id = *last_partition_id + 1;
  f.name = floe_arena_strdup(arena, name);
  f.transform_text = floe_arena_strdup(arena, canonical);
  if (f.name == NULL || f.transform_text == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "partition spec: out of memory");
  const floe_iceberg_field *checked;
  rc = check_field(&f, schema, &checked, err);
  if (rc < 0) return rc;
  for (int32_t i = 0; i < spec->n_fields; i++)
    if (strcmp(spec->fields[i].name, f.name) == 0)
      return floe_error_set(err, FLOE_EINVAL,
                            "partition spec: a partition field named '%s' already exists",
                            f.name);
  floe_iceberg_partition_field *fields =
      floe_arena_calloc(arena, (size_t)spec->n_fields + 1, sizeof *fields);
  if (fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "partition spec: out of memory");
  if (spec->n_fields > 0) memcpy(fields, spec->fields, (size_t)spec->n_fields * sizeof *fields);
  fields[spec->n_fields] = f;
  spec->fields = fields;
  spec->n_fields++;
  *last_partition_id = f.field_id;
  return FLOE_OK;
}

/* ---- partition tuples ------------------------------------------------- */

int floe_iceberg_partition_spec_type(const floe_iceberg_partition_spec *spec,
                                     const floe_iceberg_schema *schema,
                                     floe_iceberg_schema **out,
                                     floe_error *err) {
  *out = NULL;
  floe_iceberg_column *cols =
      floe_calloc(spec->n_fields ? (size_t)spec->n_fields : 1, sizeof *cols);
  if (cols == NULL) return floe_error_set(err, FLOE_ENOMEM, "partition type: out of memory");
  int rc = FLOE_OK;
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_field *src;
    rc = check_field(&spec->fields[i], schema, &src, err);
    if (rc < 0) goto cleanup;
    cols[i].id = spec->fields[i].field_id;
    cols[i].name = spec->fields[i].name;
    cols[i].required = false;
    rc = floe_iceberg_transform_result_type(&spec->fields[i].transform, &src->type,
                                            &cols[i].type, err);
    if (rc < 0) goto cleanup;
  }
  rc = floe_iceberg_schema_new(out, spec->spec_id, cols, spec->n_fields, err);
cleanup:
  floe_free(cols);
  return rc;
}

int floe_iceberg_partition_tuple(const floe_iceberg_partition_spec *spec,
                                 const floe_iceberg_schema *schema,
                                 const struct ArrowSchema *batch_schema,
                                 const struct ArrowArray *batch, int64_t row,
                                 floe_iceberg_value *out_values,
                                 floe_error *err) {
  for (int32_t i = 0; i < spec->n_fields; i++) out_values[i] = floe_iceberg_null_value();
  if (row < 0 || row >= batch->length)
    return floe_error_set(err, FLOE_EINVAL, "partition tuple: row %" PRId64 " out of range",
                          row);
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_partition_field *f = &spec->fields[i];
    const floe_iceberg_field *src;
    int rc = check_field(f, schema, &src, err);
    if (rc < 0) return rc;
    int64_t col = -1;
    for (int64_t c = 0; c < batch_schema->n_children; c++)
      if (floe_arrow_schema_field_id(batch_schema->children[c]) == f->source_id) col = c;
    if (col < 0)
      return floe_error_set(err, FLOE_EINVAL,
                            "partition field '%s': the batch has no column with field id "
                            "%d ('%s')",
                            f->name, f->source_id, src->name);
    floe_arrow_view view;
    rc = floe_arrow_view_init(&view, batch_schema->children[col], batch->children[col], err);
    floe_iceberg_value in;
    if (rc == FLOE_OK) rc = floe_iceberg_value_from_arrow(&src->type, &view, row, &in, err);
    if (rc == FLOE_OK) rc = floe_iceberg_transform_apply(&f->transform, &src->type, &in,
                                                         &out_values[i], err);
    if (rc < 0)
      return floe_error_prefix(err, "partition field '%s' row %" PRId64, f->name, row), rc;
  }
  return FLOE_OK;
}

/* java.net.URLEncoder (UTF-8): letters, digits and ".-*_" stay, space is
 * '+', every other byte is %XX. */
static int append_url_encoded(floe_buf *out, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  if (floe_buf_reserve(out, n * 3) < 0) return FLOE_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '.' || c == '-' || c == '*' || c == '_') {
      floe_buf_put_byte(out, c);
    } else if (c == ' ') {
      floe_buf_put_byte(out, '+');
    } else {
      floe_buf_put_byte(out, '%');
      floe_buf_put_byte(out, (uint8_t)hex[c >> 4]);
      floe_buf_put_byte(out, (uint8_t)hex[c & 15]);
    }
  }
  return FLOE_OK;
}

/* The human string of a transform's output (Java Transform.toHumanString). */
static int human_partition_value(const floe_iceberg_partition_field *f,
                                 const floe_iceberg_type *source,
                                 const floe_iceberg_value *v, floe_buf *out,
                                 floe_error *err) {
  if (v->is_null) return floe_buf_append_str(out, "null");
  int32_t n = v->v.i32;
  switch (f->transform.kind) {
    case FLOE_TRANSFORM_YEAR: return floe_buf_appendf(out, "%04" PRId64, (int64_t)n + 1970);
    case FLOE_TRANSFORM_MONTH:
      return floe_buf_appendf(out, "%04" PRId64 "-%02" PRId64,
                              1970 + floe_floor_div(n, 12), 1 + floe_floor_mod(n, 12));
    case FLOE_TRANSFORM_DAY: {
      char text[40];
      floe_format_date(n, text, sizeof text);
      return floe_buf_append_str(out, text);
    }
    case FLOE_TRANSFORM_HOUR: {
      char text[40];
      int64_t days = floe_floor_div(n, 24);
      floe_format_date((int32_t)days, text, sizeof text);
      return floe_buf_appendf(out, "%s-%02" PRId64, text, floe_floor_mod(n, 24));
    }
    case FLOE_TRANSFORM_BUCKET: return floe_buf_appendf(out, "%" PRId32, n);
    case FLOE_TRANSFORM_VOID: return floe_buf_append_str(out, "null");
    default: return floe_iceberg_value_to_human(source, v, out, err);
  }
}

int floe_iceberg_partition_path(const floe_iceberg_partition_spec *spec,
                                const floe_iceberg_schema *schema,
                                const floe_iceberg_value *values,
                                floe_buf *out, floe_error *err) {
  floe_buf text = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  for (int32_t i = 0; i < spec->n_fields; i++) {
    const floe_iceberg_partition_field *f = &spec->fields[i];
    const floe_iceberg_field *src;
    rc = check_field(f, schema, &src, err);
    if (rc < 0) goto cleanup;
    floe_buf_reset(&text);
    rc = human_partition_value(f, &src->type, &values[i], &text, err);
    if (rc < 0) goto cleanup;
    if (i > 0) rc = floe_buf_append_byte(out, '/');
    if (rc == FLOE_OK) rc = append_url_encoded(out, (const uint8_t *)f->name, strlen(f->name));
    if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '=');
    if (rc == FLOE_OK) rc = append_url_encoded(out, text.data, text.len);
    if (rc < 0) {
      rc = floe_error_set(err, rc, "partition path: out of memory");
      goto cleanup;
    }
  }
cleanup:
  floe_buf_free(&text);
  return rc;
}
