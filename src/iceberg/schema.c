/*
 * iceberg/schema: Iceberg types and schemas — parsing and writing their
 * JSON form (Iceberg spec: Appendix C), lookups by id and name, the mapping
 * to floe's Arrow types, schema evolution, and name mappings.
 *
 * A schema is a tree of floe_iceberg_type/floe_iceberg_field allocated in
 * one arena, so that parsing is a single pass with no per-node frees and a
 * schema dies with its arena. Evolution never edits a schema in place: it
 * deep-copies into a fresh arena and edits the copy, so a schema that other
 * objects (a table metadata, a writer) point at never changes under them.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iceberg/iceberg_internal.h"

#define SCHEMA_ARENA_BLOCK 4096

/* ---- primitive type strings ------------------------------------------- */

static const struct {
  const char *name;
  floe_iceberg_type_id id;
} primitive_names[] = {
    {"boolean", FLOE_ICEBERG_BOOLEAN},       {"int", FLOE_ICEBERG_INT},
    {"long", FLOE_ICEBERG_LONG},             {"float", FLOE_ICEBERG_FLOAT},
    {"double", FLOE_ICEBERG_DOUBLE},         {"date", FLOE_ICEBERG_DATE},
    {"time", FLOE_ICEBERG_TIME},             {"timestamp", FLOE_ICEBERG_TIMESTAMP},
    {"timestamptz", FLOE_ICEBERG_TIMESTAMPTZ},
    {"timestamp_ns", FLOE_ICEBERG_TIMESTAMP_NS},
    {"timestamptz_ns", FLOE_ICEBERG_TIMESTAMPTZ_NS},
    {"string", FLOE_ICEBERG_STRING},         {"uuid", FLOE_ICEBERG_UUID},
    {"binary", FLOE_ICEBERG_BINARY},         {"unknown", FLOE_ICEBERG_UNKNOWN},
    {"variant", FLOE_ICEBERG_VARIANT},
};

/* Reads a non-negative decimal integer at *p, skipping spaces around it. */
static bool read_uint(const char **p, int32_t *out) {
  const char *s = *p;
  while (*s == ' ') s++;
  if (!isdigit((unsigned char)*s)) return false;
  long v = 0;
  while (isdigit((unsigned char)*s)) {
    v = v * 10 + (*s++ - '0');
    if (v > INT32_MAX) return false;
  }
  while (*s == ' ') s++;
  *p = s;
  *out = (int32_t)v;
  return true;
}

int floe_iceberg_type_parse(const char *text, floe_iceberg_type *out,
                            floe_error *err) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < sizeof primitive_names / sizeof primitive_names[0]; i++) {
    if (strcmp(text, primitive_names[i].name) == 0) {
      out->id = primitive_names[i].id;
      return FLOE_OK;
    }
  }
  const char *p = text;
  if (strncmp(p, "decimal(", 8) == 0) {
    p += 8;
    int32_t precision, scale;
    if (read_uint(&p, &precision) && *p++ == ',' && read_uint(&p, &scale) &&
        *p++ == ')' && *p == '\0') {
      /* Iceberg spec: Primitive Types — precision must be 38 or less. */
      if (precision < 1 || precision > 38 || scale > precision)
        return floe_error_set(err, FLOE_EFORMAT,
                              "type '%s': decimal precision must be 1..38 and "
                              "scale at most the precision",
                              text);
      *out = floe_iceberg_decimal(precision, scale);
      return FLOE_OK;
    }
  } else if (strncmp(p, "fixed[", 6) == 0) {
    p += 6;
    int32_t length;
    if (read_uint(&p, &length) && *p++ == ']' && *p == '\0' && length > 0) {
      *out = floe_iceberg_fixed(length);
      return FLOE_OK;
    }
  }
  return floe_error_set(err, FLOE_EFORMAT,
                        "Cannot parse type string to primitive: %s", text);
}

void floe_iceberg_type_format(const floe_iceberg_type *type, char *out,
                              size_t out_size) {
  switch (type->id) {
    case FLOE_ICEBERG_DECIMAL:
      snprintf(out, out_size, "decimal(%d,%d)", type->precision, type->scale);
      return;
    case FLOE_ICEBERG_FIXED:
      snprintf(out, out_size, "fixed[%d]", type->length);
      return;
    case FLOE_ICEBERG_STRUCT: snprintf(out, out_size, "struct"); return;
    case FLOE_ICEBERG_LIST: snprintf(out, out_size, "list"); return;
    case FLOE_ICEBERG_MAP: snprintf(out, out_size, "map"); return;
    default: break;
  }
  for (size_t i = 0; i < sizeof primitive_names / sizeof primitive_names[0]; i++) {
    if (primitive_names[i].id == type->id) {
      snprintf(out, out_size, "%s", primitive_names[i].name);
      return;
    }
  }
  snprintf(out, out_size, "invalid");
}

static bool str_eq(const char *a, const char *b) {
  if (a == NULL || b == NULL) return a == b;
  return strcmp(a, b) == 0;
}

bool floe_iceberg_type_equal(const floe_iceberg_type *a,
                             const floe_iceberg_type *b) {
  if (a->id != b->id) return false;
  if (a->id == FLOE_ICEBERG_DECIMAL)
    return a->precision == b->precision && a->scale == b->scale;
  if (a->id == FLOE_ICEBERG_FIXED) return a->length == b->length;
  if (a->n_fields != b->n_fields) return false;
  for (int32_t i = 0; i < a->n_fields; i++) {
    const floe_iceberg_field *fa = &a->fields[i], *fb = &b->fields[i];
    if (fa->id != fb->id || fa->required != fb->required ||
        !str_eq(fa->name, fb->name) || !str_eq(fa->doc, fb->doc) ||
        !str_eq(fa->initial_default_json, fb->initial_default_json) ||
        !str_eq(fa->write_default_json, fb->write_default_json) ||
        !floe_iceberg_type_equal(&fa->type, &fb->type))
      return false;
  }
  return true;
}

/* ---- Arrow mapping ---------------------------------------------------- */

int floe_iceberg_type_to_arrow(const floe_iceberg_type *type,
                               floe_arrow_type_info *out, floe_error *err) {
  floe_arrow_type id;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN: id = FLOE_ARROW_BOOL; break;
    case FLOE_ICEBERG_INT: id = FLOE_ARROW_INT32; break;
    case FLOE_ICEBERG_LONG: id = FLOE_ARROW_INT64; break;
    case FLOE_ICEBERG_FLOAT: id = FLOE_ARROW_FLOAT; break;
    case FLOE_ICEBERG_DOUBLE: id = FLOE_ARROW_DOUBLE; break;
    case FLOE_ICEBERG_DECIMAL:
      *out = floe_arrow_decimal(type->precision, type->scale);
      return FLOE_OK;
    case FLOE_ICEBERG_DATE: id = FLOE_ARROW_DATE32; break;
    case FLOE_ICEBERG_TIME: id = FLOE_ARROW_TIME64_US; break;
    case FLOE_ICEBERG_TIMESTAMP: id = FLOE_ARROW_TIMESTAMP_US; break;
    case FLOE_ICEBERG_TIMESTAMPTZ: id = FLOE_ARROW_TIMESTAMP_US_TZ; break;
    case FLOE_ICEBERG_TIMESTAMP_NS: id = FLOE_ARROW_TIMESTAMP_NS; break;
    case FLOE_ICEBERG_TIMESTAMPTZ_NS: id = FLOE_ARROW_TIMESTAMP_NS_TZ; break;
    case FLOE_ICEBERG_STRING: id = FLOE_ARROW_UTF8; break;
    case FLOE_ICEBERG_UUID: id = FLOE_ARROW_UUID; break;
    case FLOE_ICEBERG_FIXED:
      *out = floe_arrow_fixed(type->length);
      return FLOE_OK;
    case FLOE_ICEBERG_BINARY: id = FLOE_ARROW_BINARY; break;
    case FLOE_ICEBERG_LIST:
    case FLOE_ICEBERG_MAP:
    case FLOE_ICEBERG_STRUCT: {
      /* Nested types map to Arrow's list ("+l"), map ("+m") and struct
       * ("+s"); their children's types are the child fields' own
       * (floe_iceberg_field_to_arrow builds the whole tree). Every child
       * must map too. */
      int32_t want = type->id == FLOE_ICEBERG_LIST ? 1 : type->id == FLOE_ICEBERG_MAP ? 2 : -1;
      if ((want > 0 && type->n_fields != want) || (type->n_fields > 0 && type->fields == NULL))
        return floe_error_set(err, FLOE_EINVAL, "iceberg %s type has %d child fields",
                              type->id == FLOE_ICEBERG_LIST ? "list" : "map", type->n_fields);
      for (int32_t i = 0; i < type->n_fields; i++) {
        floe_arrow_type_info child;
        int rc = floe_iceberg_type_to_arrow(&type->fields[i].type, &child, err);
        if (rc < 0)
          return floe_error_prefix(err, "%s '%s'",
                                   type->id == FLOE_ICEBERG_LIST ? "list element"
                                   : type->id == FLOE_ICEBERG_MAP ? (i == 0 ? "map key" : "map value")
                                                                  : "struct field",
                                   type->fields[i].name ? type->fields[i].name : ""),
                 rc;
      }
      id = type->id == FLOE_ICEBERG_LIST  ? FLOE_ARROW_LIST
           : type->id == FLOE_ICEBERG_MAP ? FLOE_ARROW_MAP
                                          : FLOE_ARROW_STRUCT;
      break;
    }
    default: {
      char name[32];
      floe_iceberg_type_format(type, name, sizeof name);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "iceberg type %s has no Arrow column mapping in floe", name);
    }
  }
  *out = floe_arrow_type_of(id);
  return FLOE_OK;
}

int floe_iceberg_type_from_arrow(const floe_arrow_type_info *arrow,
                                 floe_iceberg_type *out, floe_error *err) {
  floe_iceberg_type_id id;
  switch (arrow->id) {
    case FLOE_ARROW_BOOL: id = FLOE_ICEBERG_BOOLEAN; break;
    case FLOE_ARROW_INT32: id = FLOE_ICEBERG_INT; break;
    case FLOE_ARROW_INT64: id = FLOE_ICEBERG_LONG; break;
    case FLOE_ARROW_FLOAT: id = FLOE_ICEBERG_FLOAT; break;
    case FLOE_ARROW_DOUBLE: id = FLOE_ICEBERG_DOUBLE; break;
    case FLOE_ARROW_DECIMAL128:
      if (arrow->precision < 1 || arrow->precision > 38)
        return floe_error_set(err, FLOE_EUNSUPPORTED,
                              "arrow decimal precision %d exceeds Iceberg's 38",
                              arrow->precision);
      *out = floe_iceberg_decimal(arrow->precision, arrow->scale);
      return FLOE_OK;
    case FLOE_ARROW_DATE32: id = FLOE_ICEBERG_DATE; break;
    case FLOE_ARROW_TIME64_US: id = FLOE_ICEBERG_TIME; break;
    case FLOE_ARROW_TIMESTAMP_US: id = FLOE_ICEBERG_TIMESTAMP; break;
    case FLOE_ARROW_TIMESTAMP_US_TZ: id = FLOE_ICEBERG_TIMESTAMPTZ; break;
    case FLOE_ARROW_TIMESTAMP_NS: id = FLOE_ICEBERG_TIMESTAMP_NS; break;
    case FLOE_ARROW_TIMESTAMP_NS_TZ: id = FLOE_ICEBERG_TIMESTAMPTZ_NS; break;
    case FLOE_ARROW_UTF8: id = FLOE_ICEBERG_STRING; break;
    case FLOE_ARROW_BINARY: id = FLOE_ICEBERG_BINARY; break;
    case FLOE_ARROW_UUID: id = FLOE_ICEBERG_UUID; break;
    case FLOE_ARROW_FIXED:
      *out = floe_iceberg_fixed(arrow->byte_width);
      return FLOE_OK;
    default: {
      char name[32];
      floe_arrow_type_name(arrow, name, sizeof name);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "arrow type %s has no Iceberg type", name);
    }
  }
  *out = floe_iceberg_type_of(id);
  return FLOE_OK;
}

/* ---- JSON <-> type tree ----------------------------------------------- */

static int type_error(const json_t *json, floe_error *err) {
  char snippet[200];
  ice_json_snippet(json, snippet, sizeof snippet);
  return floe_error_set(err, FLOE_EFORMAT, "Cannot parse type from json: %s", snippet);
}

static int default_from_json(floe_arena *arena, const json_t *obj,
                             const char *key, const floe_iceberg_type *type,
                             char **out, floe_error *err) {
  const json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL) return FLOE_OK;
  int rc = ice_check_default_json(type, v, err);
  if (rc < 0) return floe_error_prefix(err, "%s", key), rc;
  char *text = NULL;
  rc = ice_json_dump(v, JSON_COMPACT, &text, NULL, err);
  if (rc < 0) return rc;
  *out = floe_arena_strdup(arena, text);
  floe_free(text);
  return *out ? FLOE_OK : floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

static int field_from_json(floe_arena *arena, const json_t *obj,
                           floe_iceberg_field *f, floe_error *err);

/* Builds a list element / map key / map value child field. */
static int child_from_json(floe_arena *arena, const json_t *obj,
                           const char *id_key, const char *type_key,
                           const char *required_key, const char *name,
                           floe_iceberg_field *f, floe_error *err) {
  memset(f, 0, sizeof *f);
  if (ice_json_get_i32(obj, id_key, &f->id, err) != FLOE_OK) return type_error(obj, err);
  f->name = floe_arena_strdup(arena, name);
  if (f->name == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (required_key == NULL) {
    f->required = true; /* map keys are always required */
  } else {
    const json_t *r = json_object_get(obj, required_key);
    if (!json_is_boolean(r)) return type_error(obj, err);
    f->required = json_is_true(r);
  }
  const json_t *t = json_object_get(obj, type_key);
  if (t == NULL) return type_error(obj, err);
  return ice_type_from_json(arena, t, &f->type, err);
}

int ice_type_from_json(floe_arena *arena, const json_t *json,
                       floe_iceberg_type *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (json_is_string(json)) return floe_iceberg_type_parse(json_string_value(json), out, err);
  if (!json_is_object(json)) return type_error(json, err);
  const char *kind = json_string_value(json_object_get(json, "type"));
  if (kind == NULL) return type_error(json, err);
  int rc;
  if (strcmp(kind, "struct") == 0) {
    const json_t *fields = json_object_get(json, "fields");
    if (!json_is_array(fields)) return type_error(json, err);
    size_t n = json_array_size(fields);
    out->id = FLOE_ICEBERG_STRUCT;
    out->fields = floe_arena_calloc(arena, n ? n : 1, sizeof *out->fields);
    if (out->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      rc = field_from_json(arena, json_array_get(fields, i), &out->fields[i], err);
      if (rc < 0) return rc;
      out->n_fields = (int32_t)i + 1;
    }
    return FLOE_OK;
  }
  if (strcmp(kind, "list") == 0) {
    out->id = FLOE_ICEBERG_LIST;
    out->fields = floe_arena_calloc(arena, 1, sizeof *out->fields);
    if (out->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    out->n_fields = 1;
    return child_from_json(arena, json, "element-id", "element", "element-required",
                           "element", &out->fields[0], err);
  }
  if (strcmp(kind, "map") == 0) {
    out->id = FLOE_ICEBERG_MAP;
    out->fields = floe_arena_calloc(arena, 2, sizeof *out->fields);
    if (out->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    out->n_fields = 2;
    rc = child_from_json(arena, json, "key-id", "key", NULL, "key", &out->fields[0], err);
    if (rc < 0) return rc;
    return child_from_json(arena, json, "value-id", "value", "value-required", "value",
                           &out->fields[1], err);
  }
  return type_error(json, err);
}

static int field_from_json(floe_arena *arena, const json_t *obj,
                           floe_iceberg_field *f, floe_error *err) {
  memset(f, 0, sizeof *f);
  if (!json_is_object(obj)) return type_error(obj, err);
  int rc = ice_json_get_i32(obj, "id", &f->id, err);
  if (rc < 0) return rc == FLOE_ENOTFOUND ? type_error(obj, err) : rc;
  rc = ice_json_get_str(arena, obj, "name", &f->name, err);
  if (rc < 0) return rc == FLOE_ENOTFOUND ? type_error(obj, err) : rc;
  const json_t *r = json_object_get(obj, "required");
  if (!json_is_boolean(r)) return type_error(obj, err);
  f->required = json_is_true(r);
  const json_t *t = json_object_get(obj, "type");
  if (t == NULL) return type_error(obj, err);
  rc = ice_type_from_json(arena, t, &f->type, err);
  if (rc < 0) return floe_error_prefix(err, "field '%s'", f->name), rc;
  rc = ice_json_get_str(arena, obj, "doc", &f->doc, err);
  if (rc < 0 && rc != FLOE_ENOTFOUND) return rc;
  rc = default_from_json(arena, obj, "initial-default", &f->type,
                         &f->initial_default_json, err);
  if (rc == FLOE_OK)
    rc = default_from_json(arena, obj, "write-default", &f->type,
                           &f->write_default_json, err);
  if (rc < 0) return floe_error_prefix(err, "field '%s'", f->name), rc;
  return FLOE_OK;
}

static int default_to_json(json_t *obj, const char *key, const char *text) {
  if (text == NULL) return FLOE_OK;
  json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
  return ice_json_set(obj, key, v);
}

json_t *ice_type_to_json(const floe_iceberg_type *type) {
  if (floe_iceberg_type_is_primitive(type->id)) {
    char name[32];
    floe_iceberg_type_format(type, name, sizeof name);
    return json_string(name);
  }
  json_t *obj = json_object();
  if (obj == NULL) return NULL;
  int rc = FLOE_OK;
  if (type->id == FLOE_ICEBERG_STRUCT) {
    json_t *fields = NULL;
    rc = ice_json_set(obj, "type", json_string("struct"));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "fields", fields = json_array());
    for (int32_t i = 0; rc == FLOE_OK && i < type->n_fields; i++) {
      const floe_iceberg_field *f = &type->fields[i];
      json_t *fj = json_object();
      rc = ice_json_append(fields, fj);
      if (rc == FLOE_OK) rc = ice_json_set(fj, "id", json_integer(f->id));
      if (rc == FLOE_OK) rc = ice_json_set(fj, "name", json_string(f->name));
      if (rc == FLOE_OK) rc = ice_json_set(fj, "required", json_boolean(f->required));
      if (rc == FLOE_OK) rc = ice_json_set(fj, "type", ice_type_to_json(&f->type));
      if (rc == FLOE_OK && f->doc != NULL) rc = ice_json_set(fj, "doc", json_string(f->doc));
      if (rc == FLOE_OK) rc = default_to_json(fj, "initial-default", f->initial_default_json);
      if (rc == FLOE_OK) rc = default_to_json(fj, "write-default", f->write_default_json);
    }
  } else if (type->id == FLOE_ICEBERG_LIST) {
    const floe_iceberg_field *e = &type->fields[0];
    rc = ice_json_set(obj, "type", json_string("list"));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "element-id", json_integer(e->id));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "element", ice_type_to_json(&e->type));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "element-required", json_boolean(e->required));
  } else {
    const floe_iceberg_field *k = &type->fields[0], *v = &type->fields[1];
    rc = ice_json_set(obj, "type", json_string("map"));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "key-id", json_integer(k->id));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "key", ice_type_to_json(&k->type));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "value-id", json_integer(v->id));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "value", ice_type_to_json(&v->type));
    if (rc == FLOE_OK) rc = ice_json_set(obj, "value-required", json_boolean(v->required));
  }
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

static char *arena_strdup_or_null(floe_arena *arena, const char *s, bool *failed) {
  if (s == NULL) return NULL;
  char *copy = floe_arena_strdup(arena, s);
  if (copy == NULL) *failed = true;
  return copy;
}

int ice_type_copy(floe_arena *arena, floe_iceberg_type *dst,
                  const floe_iceberg_type *src) {
  *dst = *src;
  if (src->n_fields == 0) {
    dst->fields = NULL;
    return FLOE_OK;
  }
  dst->fields = floe_arena_calloc(arena, (size_t)src->n_fields, sizeof *dst->fields);
  if (dst->fields == NULL) return FLOE_ENOMEM;
  bool failed = false;
  for (int32_t i = 0; i < src->n_fields; i++) {
    floe_iceberg_field *d = &dst->fields[i];
    const floe_iceberg_field *s = &src->fields[i];
    d->id = s->id;
    d->required = s->required;
    d->name = arena_strdup_or_null(arena, s->name, &failed);
    d->doc = arena_strdup_or_null(arena, s->doc, &failed);
    d->initial_default_json = arena_strdup_or_null(arena, s->initial_default_json, &failed);
    d->write_default_json = arena_strdup_or_null(arena, s->write_default_json, &failed);
    if (failed || ice_type_copy(arena, &d->type, &s->type) < 0) return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

/* ---- schemas ---------------------------------------------------------- */

static floe_iceberg_schema *standalone_schema(void) {
  floe_arena *arena = ice_arena_create(SCHEMA_ARENA_BLOCK);
  if (arena == NULL) return NULL;
  floe_iceberg_schema *s = floe_arena_calloc(arena, 1, sizeof *s);
  if (s == NULL) {
    ice_arena_destroy(arena);
    return NULL;
  }
  s->arena = arena;
  s->root.id = FLOE_ICEBERG_STRUCT;
  return s;
}

void floe_iceberg_schema_free(floe_iceberg_schema *schema) {
  if (schema == NULL || schema->arena == NULL) return;
  ice_arena_destroy(schema->arena);
}

static int check_unique_ids(const floe_iceberg_type *type, int32_t *seen,
                            int32_t *n_seen, int32_t cap, floe_error *err) {
  for (int32_t i = 0; i < type->n_fields; i++) {
    int32_t id = type->fields[i].id;
    for (int32_t k = 0; k < *n_seen; k++)
      if (seen[k] == id)
        return floe_error_set(err, FLOE_EFORMAT,
                              "field id %d is used more than once (field '%s')", id,
                              type->fields[i].name);
    if (*n_seen < cap) seen[(*n_seen)++] = id;
    int rc = check_unique_ids(&type->fields[i].type, seen, n_seen, cap, err);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

static int32_t count_fields(const floe_iceberg_type *type) {
  int32_t n = type->n_fields;
  for (int32_t i = 0; i < type->n_fields; i++) n += count_fields(&type->fields[i].type);
  return n;
}

static int validate_schema(const floe_iceberg_schema *s, floe_error *err) {
  int32_t cap = count_fields(&s->root);
  int32_t *seen = floe_malloc(((size_t)cap + 1) * sizeof *seen);
  if (seen == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int32_t n_seen = 0;
  int rc = check_unique_ids(&s->root, seen, &n_seen, cap, err);
  floe_free(seen);
  if (rc < 0) return rc;
  for (int32_t i = 0; i < s->n_identifier_field_ids; i++) {
    int32_t id = s->identifier_field_ids[i];
    bool nested = false;
    const floe_iceberg_field *f = ice_schema_find_id_ex(s, id, &nested);
    /* Iceberg spec: Identifier Field IDs — primitive, required, not in a
     * list or map, not float/double. */
    if (f == NULL)
      return floe_error_set(err, FLOE_EFORMAT,
                            "identifier field id %d is not in the schema", id);
    if (nested || !floe_iceberg_type_is_primitive(f->type.id) || !f->required ||
        f->type.id == FLOE_ICEBERG_FLOAT || f->type.id == FLOE_ICEBERG_DOUBLE)
      return floe_error_set(err, FLOE_EFORMAT,
                            "field '%s' (id %d) cannot be an identifier field: it "
                            "must be a required primitive, not float or double, "
                            "outside lists and maps",
                            f->name, id);
  }
  return FLOE_OK;
}

int ice_schema_from_json(floe_arena *arena, const json_t *json,
                         floe_iceberg_schema **out, floe_error *err) {
  *out = NULL;
  if (!json_is_object(json) ||
      !str_eq(json_string_value(json_object_get(json, "type")), "struct"))
    return type_error(json, err);
  floe_iceberg_schema *s = floe_arena_calloc(arena, 1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = ice_type_from_json(arena, json, &s->root, err);
  if (rc < 0) return rc;
  rc = ice_json_get_i32(json, "schema-id", &s->schema_id, err);
  if (rc == FLOE_ENOTFOUND) s->schema_id = 0; /* v1: optional */
  else if (rc < 0) return rc;
  const json_t *ids = json_object_get(json, "identifier-field-ids");
  if (ids != NULL && !json_is_null(ids)) {
    if (!json_is_array(ids))
      return floe_error_set(err, FLOE_EFORMAT, "identifier-field-ids: expected a list");
    size_t n = json_array_size(ids);
    s->identifier_field_ids = floe_arena_alloc(arena, (n ? n : 1) * sizeof(int32_t));
    if (s->identifier_field_ids == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      const json_t *v = json_array_get(ids, i);
      if (!json_is_integer(v))
        return floe_error_set(err, FLOE_EFORMAT, "identifier-field-ids: expected ints");
      s->identifier_field_ids[i] = (int32_t)json_integer_value(v);
    }
    s->n_identifier_field_ids = (int32_t)n;
  }
  rc = validate_schema(s, err);
  if (rc < 0) return floe_error_prefix(err, "schema %d", s->schema_id), rc;
  *out = s;
  return FLOE_OK;
}

json_t *ice_schema_to_json(const floe_iceberg_schema *schema) {
  json_t *obj = json_object();
  if (obj == NULL) return NULL;
  int rc = ice_json_set(obj, "type", json_string("struct"));
  if (rc == FLOE_OK) rc = ice_json_set(obj, "schema-id", json_integer(schema->schema_id));
  if (rc == FLOE_OK && schema->n_identifier_field_ids > 0) {
    json_t *ids = json_array();
    rc = ice_json_set(obj, "identifier-field-ids", ids);
    for (int32_t i = 0; rc == FLOE_OK && i < schema->n_identifier_field_ids; i++)
      rc = ice_json_append(ids, json_integer(schema->identifier_field_ids[i]));
  }
  if (rc == FLOE_OK) {
    json_t *root = ice_type_to_json(&schema->root);
    json_t *fields = root ? json_incref(json_object_get(root, "fields")) : NULL;
    json_decref(root);
    rc = ice_json_set(obj, "fields", fields);
  }
  if (rc != FLOE_OK) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

int ice_schema_copy_into(floe_arena *arena, const floe_iceberg_schema *src,
                         floe_iceberg_schema **out) {
  floe_iceberg_schema *s = floe_arena_calloc(arena, 1, sizeof *s);
  if (s == NULL) return FLOE_ENOMEM;
  s->schema_id = src->schema_id;
  if (ice_type_copy(arena, &s->root, &src->root) < 0) return FLOE_ENOMEM;
  s->n_identifier_field_ids = src->n_identifier_field_ids;
  if (src->n_identifier_field_ids > 0) {
    s->identifier_field_ids = floe_arena_memdup(
        arena, src->identifier_field_ids,
        (size_t)src->n_identifier_field_ids * sizeof(int32_t));
    if (s->identifier_field_ids == NULL) return FLOE_ENOMEM;
  }
  *out = s;
  return FLOE_OK;
}

/* Copies `src` into a new standalone schema. */
static int standalone_copy(const floe_iceberg_schema *src,
                           floe_iceberg_schema **out, floe_error *err) {
  *out = NULL;
  floe_arena *arena = ice_arena_create(SCHEMA_ARENA_BLOCK);
  floe_iceberg_schema *s = NULL;
  if (arena == NULL || ice_schema_copy_into(arena, src, &s) < 0) {
    ice_arena_destroy(arena);
    return floe_error_set(err, FLOE_ENOMEM, "schema copy: out of memory");
  }
  s->arena = arena;
  *out = s;
  return FLOE_OK;
}

int floe_iceberg_schema_copy(floe_iceberg_schema **out,
                             const floe_iceberg_schema *schema,
                             floe_error *err) {
  return standalone_copy(schema, out, err);
}

int floe_iceberg_schema_parse(floe_iceberg_schema **out, const char *json,
                              size_t len, floe_error *err) {
  *out = NULL;
  json_t *tree = NULL;
  floe_arena *arena = NULL;
  int rc = ice_json_load(json, len, "schema", &tree, err);
  if (rc < 0) return rc;
  arena = ice_arena_create(SCHEMA_ARENA_BLOCK);
  if (arena == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "schema: out of memory");
    goto cleanup;
  }
  floe_iceberg_schema *s = NULL;
  rc = ice_schema_from_json(arena, tree, &s, err);
  if (rc < 0) goto cleanup;
  s->arena = arena;
  arena = NULL;
  *out = s;
cleanup:
  ice_arena_destroy(arena);
  json_decref(tree);
  return rc;
}

int floe_iceberg_schema_to_json(const floe_iceberg_schema *schema,
                                char **out_json, floe_error *err) {
  ice_json_init();
  *out_json = NULL;
  json_t *tree = ice_schema_to_json(schema);
  if (tree == NULL) return floe_error_set(err, FLOE_ENOMEM, "schema json: out of memory");
  int rc = ice_json_dump(tree, JSON_COMPACT, out_json, NULL, err);
  json_decref(tree);
  return rc;
}

bool floe_iceberg_schema_equal(const floe_iceberg_schema *a,
                               const floe_iceberg_schema *b) {
  if (a->n_identifier_field_ids != b->n_identifier_field_ids) return false;
  for (int32_t i = 0; i < a->n_identifier_field_ids; i++)
    if (a->identifier_field_ids[i] != b->identifier_field_ids[i]) return false;
  return floe_iceberg_type_equal(&a->root, &b->root);
}

int floe_iceberg_schema_new(floe_iceberg_schema **out, int32_t schema_id,
                            const floe_iceberg_column *columns, int32_t n,
                            floe_error *err) {
  *out = NULL;
  floe_iceberg_schema *s = standalone_schema();
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "schema: out of memory");
  int rc = FLOE_OK;
  s->schema_id = schema_id;
  int32_t next_id = 0;
  for (int32_t i = 0; i < n; i++)
    if (columns[i].id > next_id) next_id = columns[i].id;
  s->root.fields = floe_arena_calloc(s->arena, n > 0 ? (size_t)n : 1, sizeof *s->root.fields);
  if (s->root.fields == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "schema: out of memory");
    goto cleanup;
  }
  for (int32_t i = 0; i < n; i++) {
    const floe_iceberg_column *c = &columns[i];
    floe_iceberg_field *f = &s->root.fields[i];
    if (c->name == NULL || c->name[0] == '\0') {
      rc = floe_error_set(err, FLOE_EINVAL, "schema: column %d has no name", i);
      goto cleanup;
    }
    if (!floe_iceberg_type_is_primitive(c->type.id)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "schema: column '%s' must have a primitive type", c->name);
      goto cleanup;
    }
    for (int32_t k = 0; k < i; k++)
      if (strcmp(s->root.fields[k].name, c->name) == 0) {
        rc = floe_error_set(err, FLOE_EINVAL, "schema: duplicate column name '%s'",
                            c->name);
        goto cleanup;
      }
    f->id = c->id > 0 ? c->id : ++next_id;
    f->required = c->required;
    f->type = c->type;
    f->type.n_fields = 0;
    f->type.fields = NULL;
    f->name = floe_arena_strdup(s->arena, c->name);
    f->doc = c->doc ? floe_arena_strdup(s->arena, c->doc) : NULL;
    if (f->name == NULL || (c->doc && f->doc == NULL)) {
      rc = floe_error_set(err, FLOE_ENOMEM, "schema: out of memory");
      goto cleanup;
    }
    s->root.n_fields = i + 1;
  }
  rc = validate_schema(s, err);
  if (rc < 0) goto cleanup;
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

/* ---- lookups ---------------------------------------------------------- */

static const floe_iceberg_field *find_id(const floe_iceberg_type *type, int32_t id,
                                         bool in_container, bool *in_list_or_map) {
  for (int32_t i = 0; i < type->n_fields; i++) {
    const floe_iceberg_field *f = &type->fields[i];
    bool here = in_container || type->id == FLOE_ICEBERG_LIST || type->id == FLOE_ICEBERG_MAP;
    if (f->id == id) {
      if (in_list_or_map) *in_list_or_map = here;
      return f;
    }
    const floe_iceberg_field *hit = find_id(&f->type, id, here, in_list_or_map);
    if (hit != NULL) return hit;
  }
  return NULL;
}

const floe_iceberg_field *ice_schema_find_id_ex(const floe_iceberg_schema *s,
                                                int32_t id, bool *in_list_or_map) {
  return find_id(&s->root, id, false, in_list_or_map);
}

const floe_iceberg_field *floe_iceberg_schema_find_id(
    const floe_iceberg_schema *schema, int32_t id) {
  return find_id(&schema->root, id, false, NULL);
}

static const floe_iceberg_field *find_child(const floe_iceberg_type *type,
                                            const char *name, size_t len,
                                            bool case_sensitive) {
  const floe_iceberg_field *hit = NULL;
  for (int32_t i = 0; i < type->n_fields; i++) {
    const char *fname = type->fields[i].name;
    if (strlen(fname) != len) continue;
    if (case_sensitive ? strncmp(fname, name, len) == 0
                       : strncasecmp(fname, name, len) == 0) {
      if (case_sensitive) return &type->fields[i];
      if (hit != NULL) return NULL; /* ambiguous without case */
      hit = &type->fields[i];
    }
  }
  return hit;
}

const floe_iceberg_field *floe_iceberg_schema_find_name(
    const floe_iceberg_schema *schema, const char *name, bool case_sensitive) {
  const floe_iceberg_field *f =
      find_child(&schema->root, name, strlen(name), case_sensitive);
  if (f != NULL) return f;
  const floe_iceberg_type *type = &schema->root;
  const char *p = name;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    f = find_child(type, p, len, case_sensitive);
    if (f == NULL || dot == NULL) return f;
    type = &f->type;
    p = dot + 1;
  }
}

static int32_t highest_id(const floe_iceberg_type *type) {
  int32_t max = 0;
  for (int32_t i = 0; i < type->n_fields; i++) {
    if (type->fields[i].id > max) max = type->fields[i].id;
    int32_t sub = highest_id(&type->fields[i].type);
    if (sub > max) max = sub;
  }
  return max;
}

int32_t floe_iceberg_schema_highest_field_id(const floe_iceberg_schema *schema) {
  return highest_id(&schema->root);
}

/* ---- Arrow schema ----------------------------------------------------- */

int floe_iceberg_schema_to_arrow(const floe_iceberg_schema *schema,
                                 const int32_t *field_ids, int32_t n_ids,
                                 struct ArrowSchema *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  int32_t n = field_ids ? n_ids : schema->root.n_fields;
  int rc = floe_arrow_schema_init_struct(out, NULL, n);
  if (rc < 0) return floe_error_set(err, rc, "arrow schema: out of memory");
  for (int32_t i = 0; i < n; i++) {
    const floe_iceberg_field *f = NULL;
    if (field_ids == NULL) {
      f = &schema->root.fields[i];
    } else {
      for (int32_t k = 0; k < schema->root.n_fields; k++)
        if (schema->root.fields[k].id == field_ids[i]) f = &schema->root.fields[k];
      if (f == NULL) {
        rc = floe_error_set(err, FLOE_ENOTFOUND,
                            "arrow schema: field id %d is not a top-level column of "
                            "schema %d",
                            field_ids[i], schema->schema_id);
        goto cleanup;
      }
    }
    rc = floe_iceberg_field_to_arrow(f, out->children[i], err);
    if (rc < 0) goto cleanup;
  }
  return FLOE_OK;
cleanup:
  floe_arrow_schema_release(out);
  return rc;
}

/* Builds the Arrow field for Iceberg field `f` under `name` (the map
 * entries' "key"/"value" and the list "element" take Arrow's names; every
 * level carries its Iceberg field id). */
static int field_to_arrow_named(const floe_iceberg_field *f, const char *name,
                                struct ArrowSchema *out) {
  const floe_iceberg_type *t = &f->type;
  int rc;
  switch (t->id) {
    case FLOE_ICEBERG_STRUCT:
      rc = floe_arrow_schema_init_struct_field(out, name, !f->required, f->id, t->n_fields);
      for (int32_t i = 0; rc == FLOE_OK && i < t->n_fields; i++)
        rc = field_to_arrow_named(&t->fields[i], t->fields[i].name, out->children[i]);
      break;
    case FLOE_ICEBERG_LIST:
      rc = floe_arrow_schema_init_list_field(out, name, !f->required, f->id);
      if (rc == FLOE_OK) rc = field_to_arrow_named(&t->fields[0], "element", out->children[0]);
      break;
    case FLOE_ICEBERG_MAP: {
      rc = floe_arrow_schema_init_map(out, name, !f->required, f->id);
      /* Iceberg spec: map keys are always required. */
      floe_iceberg_field key = t->fields[0];
      key.required = true;
      if (rc == FLOE_OK) rc = field_to_arrow_named(&key, "key", out->children[0]->children[0]);
      if (rc == FLOE_OK)
        rc = field_to_arrow_named(&t->fields[1], "value", out->children[0]->children[1]);
      break;
    }
    default: {
      floe_arrow_type_info arrow;
      rc = floe_iceberg_type_to_arrow(t, &arrow, NULL);
      if (rc == FLOE_OK) rc = floe_arrow_schema_init(out, name, &arrow, !f->required, f->id);
      return rc;
    }
  }
  if (rc < 0) floe_arrow_schema_release(out);
  return rc;
}

int floe_iceberg_field_to_arrow(const floe_iceberg_field *f, struct ArrowSchema *out,
                                floe_error *err) {
  floe_arrow_type_info arrow;
  int rc = floe_iceberg_type_to_arrow(&f->type, &arrow, err);
  if (rc < 0) return floe_error_prefix(err, "column '%s'", f->name), rc;
  rc = field_to_arrow_named(f, f->name, out);
  if (rc < 0) return floe_error_set(err, rc, "arrow schema: column '%s': out of memory", f->name);
  return rc;
}

/* ---- evolution -------------------------------------------------------- */

/* Finds the struct (or list/map) holding field `id`, and its index. */
static floe_iceberg_type *find_parent(floe_iceberg_type *type, int32_t id,
                                      int32_t *index) {
  for (int32_t i = 0; i < type->n_fields; i++) {
    if (type->fields[i].id == id) {
      *index = i;
      return type;
    }
    floe_iceberg_type *hit = find_parent(&type->fields[i].type, id, index);
    if (hit != NULL) return hit;
  }
  return NULL;
}

/* Starts an evolution: copies base into a new schema with the next id and
 * finds the column `name` in the copy. */
static int begin_change(const floe_iceberg_schema *base, const char *name,
                        const char *op, floe_iceberg_schema **out,
                        floe_iceberg_field **field, floe_error *err) {
  *out = NULL;
  const floe_iceberg_field *f = name ? floe_iceberg_schema_find_name(base, name, true) : NULL;
  if (name != NULL && f == NULL)
    return floe_error_set(err, FLOE_EINVAL, "%s: column '%s' does not exist in schema %d",
                          op, name, base->schema_id);
  int rc = standalone_copy(base, out, err);
  if (rc < 0) return rc;
  (*out)->schema_id = base->schema_id + 1;
  if (field != NULL)
    *field = f ? (floe_iceberg_field *)floe_iceberg_schema_find_id(*out, f->id) : NULL;
  return FLOE_OK;
}

static void assign_fresh_ids(floe_iceberg_type *type, int32_t *last) {
  for (int32_t i = 0; i < type->n_fields; i++) {
    type->fields[i].id = ++*last;
    assign_fresh_ids(&type->fields[i].type, last);
  }
}

int floe_iceberg_schema_add_column(floe_iceberg_schema **out,
                                   const floe_iceberg_schema *base,
                                   const char *parent, const char *name,
                                   const floe_iceberg_type *type,
                                   const char *doc, int32_t *last_column_id,
                                   floe_error *err) {
  *out = NULL;
  if (name == NULL || name[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "add column: the column needs a name");
  if (type->id == FLOE_ICEBERG_TYPE_INVALID)
    return floe_error_set(err, FLOE_EINVAL, "add column '%s': invalid type", name);
  if (*last_column_id < floe_iceberg_schema_highest_field_id(base))
    return floe_error_set(err, FLOE_EINVAL,
                          "add column '%s': last-column-id %d is below the schema's "
                          "highest field id %d",
                          name, *last_column_id, floe_iceberg_schema_highest_field_id(base));
  floe_iceberg_schema *s = NULL;
  floe_iceberg_field *parent_field = NULL;
  int rc = begin_change(base, parent, "add column", &s, &parent_field, err);
  if (rc < 0) return rc;
  floe_iceberg_type *container = parent_field ? &parent_field->type : &s->root;
  if (container->id != FLOE_ICEBERG_STRUCT) {
    rc = floe_error_set(err, FLOE_EINVAL, "add column '%s': parent '%s' is not a struct",
                        name, parent);
    goto cleanup;
  }
  if (find_child(container, name, strlen(name), true) != NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "add column '%s': a column with that name exists",
                        name);
    goto cleanup;
  }
  floe_iceberg_field *fields = floe_arena_calloc(
      s->arena, (size_t)container->n_fields + 1, sizeof *fields);
  if (fields == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "add column: out of memory");
    goto cleanup;
  }
  if (container->n_fields > 0)
    memcpy(fields, container->fields, (size_t)container->n_fields * sizeof *fields);
  floe_iceberg_field *f = &fields[container->n_fields];
  int32_t last = *last_column_id;
  f->id = ++last;
  f->required = false; /* Iceberg spec: Default values — new fields without
                          a default must be optional */
  f->name = floe_arena_strdup(s->arena, name);
  f->doc = doc ? floe_arena_strdup(s->arena, doc) : NULL;
  if (f->name == NULL || (doc && f->doc == NULL) ||
      ice_type_copy(s->arena, &f->type, type) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "add column: out of memory");
    goto cleanup;
  }
  assign_fresh_ids(&f->type, &last);
  container->fields = fields;
  container->n_fields++;
  *last_column_id = last;
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

int floe_iceberg_schema_rename_column(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, const char *new_name,
                                      floe_error *err) {
  *out = NULL;
  if (new_name == NULL || new_name[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "rename column '%s': new name is empty", name);
  floe_iceberg_schema *s = NULL;
  floe_iceberg_field *f = NULL;
  int rc = begin_change(base, name, "rename column", &s, &f, err);
  if (rc < 0) return rc;
  int32_t index;
  floe_iceberg_type *container = find_parent(&s->root, f->id, &index);
  if (container->id != FLOE_ICEBERG_STRUCT) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "rename column '%s': list elements and map keys/values have "
                        "fixed names",
                        name);
    goto cleanup;
  }
  const floe_iceberg_field *clash = find_child(container, new_name, strlen(new_name), true);
  if (clash != NULL && clash != f) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "rename column '%s' to '%s': a column with that name exists",
                        name, new_name);
    goto cleanup;
  }
  f->name = floe_arena_strdup(s->arena, new_name);
  if (f->name == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "rename column: out of memory");
    goto cleanup;
  }
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

int floe_iceberg_schema_promote_column(floe_iceberg_schema **out,
                                       const floe_iceberg_schema *base,
                                       const char *name,
                                       const floe_iceberg_type *new_type,
                                       floe_error *err) {
  *out = NULL;
  floe_iceberg_schema *s = NULL;
  floe_iceberg_field *f = NULL;
  int rc = begin_change(base, name, "change column type", &s, &f, err);
  if (rc < 0) return rc;
  const floe_iceberg_type *from = &f->type;
  char from_name[32], to_name[32];
  floe_iceberg_type_format(from, from_name, sizeof from_name);
  floe_iceberg_type_format(new_type, to_name, sizeof to_name);
  /* Iceberg spec: Schema Evolution — valid v1/v2 primitive promotions. */
  bool ok = false;
  if (from->id == FLOE_ICEBERG_INT && new_type->id == FLOE_ICEBERG_LONG) ok = true;
  if (from->id == FLOE_ICEBERG_FLOAT && new_type->id == FLOE_ICEBERG_DOUBLE) ok = true;
  if (from->id == FLOE_ICEBERG_DECIMAL && new_type->id == FLOE_ICEBERG_DECIMAL) {
    if (new_type->scale != from->scale) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "change column '%s' from %s to %s: decimal scale cannot "
                          "change (only precision may widen)",
                          name, from_name, to_name);
      goto cleanup;
    }
    if (new_type->precision <= from->precision || new_type->precision > 38) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "change column '%s' from %s to %s: decimal precision can "
                          "only widen (up to 38)",
                          name, from_name, to_name);
      goto cleanup;
    }
    ok = true;
  }
  if (!ok) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "change column '%s' from %s to %s: not an allowed type "
                        "promotion (int->long, float->double, decimal precision "
                        "widening)",
                        name, from_name, to_name);
    goto cleanup;
  }
  f->type = *new_type;
  f->type.n_fields = 0;
  f->type.fields = NULL;
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

int floe_iceberg_schema_make_optional(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, floe_error *err) {
  *out = NULL;
  floe_iceberg_schema *s = NULL;
  floe_iceberg_field *f = NULL;
  int rc = begin_change(base, name, "make column optional", &s, &f, err);
  if (rc < 0) return rc;
  int32_t index;
  floe_iceberg_type *container = find_parent(&s->root, f->id, &index);
  if (container->id == FLOE_ICEBERG_MAP && index == 0) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "make column '%s' optional: map keys are always required", name);
    goto cleanup;
  }
  for (int32_t i = 0; i < s->n_identifier_field_ids; i++)
    if (s->identifier_field_ids[i] == f->id) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "make column '%s' optional: it is an identifier field, "
                          "which must stay required",
                          name);
      goto cleanup;
    }
  f->required = false;
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

int floe_iceberg_schema_set_required(floe_iceberg_schema **out,
                                     const floe_iceberg_schema *base,
                                     const char *name, floe_error *err) {
  *out = NULL;
  const floe_iceberg_field *f = floe_iceberg_schema_find_name(base, name, true);
  if (f == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "make column required: column '%s' does not exist in schema %d",
                          name, base->schema_id);
  if (f->required) return floe_iceberg_schema_copy(out, base, err);
  return floe_error_set(err, FLOE_EINVAL,
                        "make column '%s' required: an optional column cannot become "
                        "required (existing rows may hold nulls)",
                        name);
}

int floe_iceberg_schema_delete_column(floe_iceberg_schema **out,
                                      const floe_iceberg_schema *base,
                                      const char *name, floe_error *err) {
  *out = NULL;
  floe_iceberg_schema *s = NULL;
  floe_iceberg_field *f = NULL;
  int rc = begin_change(base, name, "delete column", &s, &f, err);
  if (rc < 0) return rc;
  int32_t index;
  floe_iceberg_type *container = find_parent(&s->root, f->id, &index);
  if (container->id != FLOE_ICEBERG_STRUCT) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "delete column '%s': list elements and map keys/values cannot "
                        "be deleted",
                        name);
    goto cleanup;
  }
  for (int32_t i = 0; i < s->n_identifier_field_ids; i++) {
    bool nested = false;
    const floe_iceberg_field *id_field =
        ice_schema_find_id_ex(s, s->identifier_field_ids[i], &nested);
    if (id_field == f || find_id(&f->type, s->identifier_field_ids[i], false, NULL)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "delete column '%s': it is (or holds) an identifier field",
                          name);
      goto cleanup;
    }
  }
  memmove(&container->fields[index], &container->fields[index + 1],
          (size_t)(container->n_fields - index - 1) * sizeof *container->fields);
  container->n_fields--;
  *out = s;
  s = NULL;
cleanup:
  floe_iceberg_schema_free(s);
  return rc;
}

/* ---- name mapping ----------------------------------------------------- */

static json_t *mapping_for_type(const floe_iceberg_type *type) {
  json_t *list = json_array();
  if (list == NULL) return NULL;
  for (int32_t i = 0; i < type->n_fields; i++) {
    const floe_iceberg_field *f = &type->fields[i];
    json_t *entry = json_object(), *names = json_array();
    int rc = ice_json_append(list, entry);
    if (rc == FLOE_OK) rc = ice_json_set(entry, "field-id", json_integer(f->id));
    if (rc == FLOE_OK) rc = ice_json_set(entry, "names", names);
    else json_decref(names);
    if (rc == FLOE_OK) rc = ice_json_append(names, json_string(f->name));
    if (rc == FLOE_OK && f->type.n_fields > 0)
      rc = ice_json_set(entry, "fields", mapping_for_type(&f->type));
    if (rc != FLOE_OK) {
      json_decref(list);
      return NULL;
    }
  }
  return list;
}

int floe_iceberg_name_mapping_from_schema(const floe_iceberg_schema *schema,
                                          char **out_json, floe_error *err) {
  ice_json_init();
  *out_json = NULL;
  json_t *tree = mapping_for_type(&schema->root);
  if (tree == NULL) return floe_error_set(err, FLOE_ENOMEM, "name mapping: out of memory");
  int rc = ice_json_dump(tree, JSON_COMPACT, out_json, NULL, err);
  json_decref(tree);
  return rc;
}

static int mapping_from_json(floe_arena *arena, const json_t *json,
                             floe_iceberg_name_mapping *out, floe_error *err) {
  if (!json_is_array(json))
    return floe_error_set(err, FLOE_EFORMAT, "name mapping: expected a list of fields");
  size_t n = json_array_size(json);
  out->n = (int32_t)n;
  out->entries = floe_arena_calloc(arena, n ? n : 1, sizeof *out->entries);
  if (out->entries == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(json, i);
    floe_iceberg_mapped_field *m = &out->entries[i];
    if (!json_is_object(e))
      return floe_error_set(err, FLOE_EFORMAT, "name mapping: entry %zu is not an object", i);
    const json_t *names = json_object_get(e, "names");
    if (!json_is_array(names))
      return floe_error_set(err, FLOE_EFORMAT, "name mapping: entry %zu lacks names", i);
    m->n_names = (int32_t)json_array_size(names);
    m->names = floe_arena_calloc(arena, (size_t)m->n_names + 1, sizeof(char *));
    if (m->names == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    for (int32_t k = 0; k < m->n_names; k++) {
      const char *name = json_string_value(json_array_get(names, (size_t)k));
      if (name == NULL)
        return floe_error_set(err, FLOE_EFORMAT, "name mapping: names must be strings");
      if ((m->names[k] = floe_arena_strdup(arena, name)) == NULL)
        return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
    int rc = ice_json_get_i32(e, "field-id", &m->field_id, err);
    if (rc == FLOE_OK) m->has_field_id = true;
    else if (rc != FLOE_ENOTFOUND) return rc;
    const json_t *fields = json_object_get(e, "fields");
    if (fields != NULL && !json_is_null(fields)) {
      m->fields = floe_arena_calloc(arena, 1, sizeof *m->fields);
      if (m->fields == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      rc = mapping_from_json(arena, fields, m->fields, err);
      if (rc < 0) return rc;
    }
  }
  return FLOE_OK;
}

int floe_iceberg_name_mapping_parse(floe_iceberg_name_mapping **out,
                                    const char *json, size_t len,
                                    floe_error *err) {
  *out = NULL;
  json_t *tree = NULL;
  int rc = ice_json_load(json, len, "name mapping", &tree, err);
  if (rc < 0) return rc;
  floe_arena *arena = ice_arena_create(SCHEMA_ARENA_BLOCK);
  floe_iceberg_name_mapping *m = arena ? floe_arena_calloc(arena, 1, sizeof *m) : NULL;
  if (m == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "name mapping: out of memory");
    goto cleanup;
  }
  rc = mapping_from_json(arena, tree, m, err);
  if (rc < 0) goto cleanup;
  m->arena = arena;
  arena = NULL;
  *out = m;
cleanup:
  ice_arena_destroy(arena);
  json_decref(tree);
  return rc;
}

void floe_iceberg_name_mapping_free(floe_iceberg_name_mapping *mapping) {
  if (mapping == NULL) return;
  ice_arena_destroy(mapping->arena);
}

int32_t floe_iceberg_name_mapping_find(const floe_iceberg_name_mapping *mapping,
                                       const char *const *path, int32_t depth) {
  const floe_iceberg_name_mapping *level = mapping;
  for (int32_t d = 0; d < depth && level != NULL; d++) {
    const floe_iceberg_mapped_field *hit = NULL;
    for (int32_t i = 0; i < level->n && hit == NULL; i++)
      for (int32_t k = 0; k < level->entries[i].n_names; k++)
        if (strcmp(level->entries[i].names[k], path[d]) == 0) {
          hit = &level->entries[i];
          break;
        }
    if (hit == NULL) return -1;
    if (d == depth - 1) return hit->has_field_id ? hit->field_id : -1;
    level = hit->fields;
  }
  return -1;
}
