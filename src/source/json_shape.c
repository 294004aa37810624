/*
 * source/json_shape: JSON text decoded into a declared shape.
 *
 * A column with a declared shape (config `columns:`, docs/config.md) holds
 * JSON text in the source — PostgreSQL json/jsonb, Snowflake VARIANT/
 * OBJECT/ARRAY (the SQL API sends them as JSON text), SQLite TEXT — and is
 * written as the Iceberg type the user declared. Every driver hands the text
 * over through its cell_text, so the decoding lives here once: jansson parses
 * the cell, and the value is walked together with the column's builder,
 * appending at every level.
 *
 * The rules follow Spark's from_json where Spark has one and are strict
 * where it would silently drop data: JSON null gives null at that level
 * (an error where the shape says "not null"); a string column takes a JSON
 * string as it is and any other JSON value as its compact JSON text; numbers
 * must fit (no silent truncation: 3.5 into int and 300 into a declared
 * decimal(2,0) are errors); a JSON kind that cannot be the declared type
 * (a string where int is declared, an object where a list is) is an error.
 * Every error names the JSON path ("payload.items[3].qty"); the stream adds
 * table, column and row key. Dates, times, timestamps, uuids and decimals
 * given as JSON strings are read by the source's text rules; binary and
 * fixed values are base64 strings (as Spark writes binary to JSON).
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "source/source_internal.h"

typedef struct walker {
  floe_buf *path; /* "payload.items[3]" so far */
  floe_buf *scratch;
  bool refuse_extra;
  floe_error *err;
} walker;

static const char *kind_name(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
  }
}

static const char *path_text(walker *w) {
  if (floe_buf_terminate(w->path) < 0) return "?";
  return (const char *)w->path->data;
}

/* "payload.items[3].qty: JSON string "abc" where int is declared". */
static int wrong_kind(walker *w, const json_t *v, const floe_arrow_type_info *type) {
  char type_name[64], shown[72] = "";
  if (type->id == FLOE_ARROW_LIST)
    snprintf(type_name, sizeof type_name, "a list");
  else if (type->id == FLOE_ARROW_STRUCT)
    snprintf(type_name, sizeof type_name, "a struct");
  else if (type->id == FLOE_ARROW_MAP)
    snprintf(type_name, sizeof type_name, "a map");
  else
    floe_arrow_type_name(type, type_name, sizeof type_name);
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text != NULL) {
    snprintf(shown, sizeof shown, " %.60s%s", text, strlen(text) > 60 ? "..." : "");
    floe_free(text); /* jansson allocates with floe_malloc or malloc */
  }
  return floe_error_set(w->err, FLOE_ERANGE, "%s: JSON %s%s where %s is declared",
                        path_text(w), kind_name(v), shown, type_name);
}

/* Standard base64 (padding optional) into w->scratch. */
static int base64_decode(walker *w, const char *s, size_t len) {
  floe_buf_reset(w->scratch);
  while (len > 0 && s[len - 1] == '=') len--;
  size_t padded = (len + 3) / 4 * 4;
  char *in = floe_malloc(padded + 1);
  if (in == NULL) return FLOE_ENOMEM;
  memcpy(in, s, len);
  memset(in + len, '=', padded - len);
  in[padded] = '\0';
  int rc = FLOE_OK;
  if (floe_buf_reserve(w->scratch, padded / 4 * 3 + 1) < 0) {
    rc = FLOE_ENOMEM;
  } else if (len % 4 == 1) {
    rc = FLOE_EFORMAT;
  } else {
    int n = padded ? EVP_DecodeBlock(w->scratch->data, (const unsigned char *)in, (int)padded) : 0;
    if (n < 0) rc = FLOE_EFORMAT;
    else w->scratch->len = (size_t)n - (padded - len); /* one byte per pad */
  }
  floe_free(in);
  return rc;
}

static int append_value(walker *w, const json_t *v, floe_arrow_builder *b,
                        const struct ArrowSchema *field);

static int append_primitive(walker *w, const json_t *v, floe_arrow_builder *b) {
  const floe_arrow_type_info *t = &b->type;
  int rc;
  switch (t->id) {
    case FLOE_ARROW_BOOL:
      if (!json_is_boolean(v)) return wrong_kind(w, v, t);
      return floe_arrow_builder_append_bool(b, json_is_true(v));
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_INT64:
    case FLOE_ARROW_FLOAT:
    case FLOE_ARROW_DOUBLE:
      if (json_is_integer(v)) rc = floe_src_append_int64(b, json_integer_value(v), w->err);
      else if (json_is_real(v)) rc = floe_src_append_double(b, json_real_value(v), w->err);
      else return wrong_kind(w, v, t);
      break;
    case FLOE_ARROW_DECIMAL128:
      if (json_is_integer(v)) {
        rc = floe_src_append_int64(b, json_integer_value(v), w->err);
      } else if (json_is_real(v)) {
        rc = floe_src_append_double(b, json_real_value(v), w->err);
      } else if (json_is_string(v)) {
        rc = floe_src_append_text(b, json_string_value(v), json_string_length(v), w->err);
      } else {
        return wrong_kind(w, v, t);
      }
      break;
    case FLOE_ARROW_UTF8:
      if (json_is_string(v))
        return floe_arrow_builder_append_bytes(b, json_string_value(v), json_string_length(v));
      {
        /* Spark's from_json keeps a non-string value of a string field as
         * its JSON text. */
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) return FLOE_ENOMEM;
        rc = floe_arrow_builder_append_bytes(b, text, strlen(text));
        floe_free(text); /* jansson allocates with floe_malloc or malloc */
        return rc;
      }
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
      if (!json_is_string(v)) return wrong_kind(w, v, t);
      rc = base64_decode(w, json_string_value(v), json_string_length(v));
      if (rc == FLOE_ENOMEM) return rc;
      if (rc < 0)
        return floe_error_set(w->err, FLOE_ERANGE, "%s: JSON string is not base64",
                              path_text(w));
      if (t->id == FLOE_ARROW_FIXED && (int64_t)w->scratch->len != t->byte_width)
        return floe_error_set(w->err, FLOE_ERANGE, "%s: %zu bytes where fixed[%d] is declared",
                              path_text(w), w->scratch->len, t->byte_width);
      return floe_arrow_builder_append_bytes(b, w->scratch->data, w->scratch->len);
    case FLOE_ARROW_DATE32:
    case FLOE_ARROW_TIME64_US:
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
    case FLOE_ARROW_UUID:
      if (!json_is_string(v)) return wrong_kind(w, v, t);
      rc = floe_src_append_text(b, json_string_value(v), json_string_length(v), w->err);
      break;
    default:
      return floe_error_set(w->err, FLOE_EUNSUPPORTED, "%s: type not supported in shapes",
                            path_text(w));
  }
  if (rc == FLOE_ERANGE) floe_error_prefix(w->err, "%s", path_text(w));
  return rc;
}

static int append_list(walker *w, const json_t *v, floe_arrow_builder *b,
                       const struct ArrowSchema *field) {
  if (!json_is_array(v)) return wrong_kind(w, v, &b->type);
  const struct ArrowSchema *element = field != NULL && field->n_children == 1
                                          ? field->children[0] : NULL;
  floe_arrow_builder *child = NULL;
  int rc = floe_arrow_builder_list_start(b, &child);
  if (rc < 0) return rc;
  size_t base = w->path->len;
  for (size_t i = 0; i < json_array_size(v); i++) {
    w->path->len = base;
    if (floe_buf_appendf(w->path, "[%zu]", i) < 0) return FLOE_ENOMEM;
    rc = append_value(w, json_array_get(v, i), child, element);
    if (rc < 0) return rc;
  }
  w->path->len = base;
  return floe_arrow_builder_list_end(b);
}

/* Appends ".name" (or ["name"] for names that are not plain words). */
static int path_member(walker *w, const char *name) {
  bool plain = name[0] != '\0';
  for (const char *p = name; *p && plain; p++)
    plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '_';
  if (plain) return floe_buf_appendf(w->path, ".%s", name) < 0 ? FLOE_ENOMEM : FLOE_OK;
  json_t *str = json_string(name);
  char *quoted = str != NULL ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
  if (str != NULL) json_decref(str);
  if (quoted == NULL) return FLOE_ENOMEM;
  int rc = floe_buf_appendf(w->path, "[%s]", quoted) < 0 ? FLOE_ENOMEM : FLOE_OK;
  floe_free(quoted);
  return rc;
}

/* A struct from a JSON object: each declared field from the member of its
 * name (exact, else the one member equal ignoring case), a missing member
 * as JSON null; members the struct does not declare are ignored, or
 * refused under on_extra_fields: fail. */
static int append_struct(walker *w, const json_t *v, floe_arrow_builder *b,
                         const struct ArrowSchema *field) {
  if (!json_is_object(v)) return wrong_kind(w, v, &b->type);
  if (field == NULL || field->n_children != b->n_children)
    return floe_error_set(w->err, FLOE_EINVAL, "%s: struct field names unknown", path_text(w));
  floe_arrow_builder *children = NULL;
  int64_t n = 0;
  int rc = floe_arrow_builder_struct_start(b, &children, &n);
  if (rc < 0) return rc;
  size_t base = w->path->len;
  for (int64_t i = 0; i < n; i++) {
    const struct ArrowSchema *f = field->children[i];
    const char *name = f->name ? f->name : "";
    const json_t *member = json_object_get(v, name);
    if (member == NULL) {
      const char *key;
      const json_t *value;
      json_object_foreach((json_t *)v, key, value) {
        if (strcasecmp(key, name) == 0) {
          if (member != NULL) {
            member = NULL; /* ambiguous: no match */
            break;
          }
          member = value;
        }
      }
    }
    w->path->len = base;
    if ((rc = path_member(w, name)) < 0) return rc;
    if (member == NULL && !(f->flags & ARROW_FLAG_NULLABLE))
      return floe_error_set(w->err, FLOE_ERANGE,
                            "%s: missing, and the shape declares it not null", path_text(w));
    rc = member == NULL ? floe_arrow_builder_append_null(&children[i])
                        : append_value(w, member, &children[i], f);
    if (rc < 0) return rc;
  }
  w->path->len = base;
  if (w->refuse_extra) {
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)v, key, value) {
      bool declared = false;
      for (int64_t i = 0; i < n && !declared; i++)
        declared = field->children[i]->name != NULL &&
                   strcasecmp(field->children[i]->name, key) == 0;
      if (!declared) {
        if ((rc = path_member(w, key)) < 0) return rc;
        return floe_error_set(w->err, FLOE_ERANGE,
                              "%s: a member the declared struct does not have "
                              "(on_extra_fields: fail)",
                              path_text(w));
      }
    }
  }
  return floe_arrow_builder_struct_end(b);
}

/* A map from a JSON object: its members in document order, each key read
 * from the member name by the key type's text rules. */
static int append_map(walker *w, const json_t *v, floe_arrow_builder *b,
                      const struct ArrowSchema *field) {
  if (!json_is_object(v)) return wrong_kind(w, v, &b->type);
  const struct ArrowSchema *entries =
      field != NULL && field->n_children == 1 ? field->children[0] : NULL;
  const struct ArrowSchema *value_field =
      entries != NULL && entries->n_children == 2 ? entries->children[1] : NULL;
  floe_arrow_builder *keys = NULL, *values = NULL;
  int rc = floe_arrow_builder_map_start(b, &keys, &values);
  if (rc < 0) return rc;
  size_t base = w->path->len;
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)v, key, value) {
    w->path->len = base;
    if ((rc = path_member(w, key)) < 0) return rc;
    if (keys->type.id == FLOE_ARROW_UTF8)
      rc = floe_arrow_builder_append_bytes(keys, key, strlen(key));
    else
      rc = floe_src_append_text(keys, key, strlen(key), w->err);
    if (rc == FLOE_ERANGE) {
      floe_error_prefix(w->err, "%s: key", path_text(w));
      return rc;
    }
    if (rc < 0) return rc;
    if ((rc = append_value(w, value, values, value_field)) < 0) return rc;
  }
  w->path->len = base;
  return floe_arrow_builder_map_end(b);
}

/* Appends one JSON value (at the path so far) to b; `field` describes b's
 * column (names, nullability of nested levels; NULL: nullable leaf). */
static int append_value(walker *w, const json_t *v, floe_arrow_builder *b,
                        const struct ArrowSchema *field) {
  if (json_is_null(v)) {
    if (field != NULL && !(field->flags & ARROW_FLAG_NULLABLE))
      return floe_error_set(w->err, FLOE_ERANGE,
                            "%s: JSON null where the shape declares not null", path_text(w));
    return floe_arrow_builder_append_null(b);
  }
  if (b->type.id == FLOE_ARROW_LIST) return append_list(w, v, b, field);
  if (b->type.id == FLOE_ARROW_STRUCT) return append_struct(w, v, b, field);
  if (b->type.id == FLOE_ARROW_MAP) return append_map(w, v, b, field);
  return append_primitive(w, v, b);
}

int floe_src_append_json(floe_arrow_builder *b, const struct ArrowSchema *field,
                         const char *column, const char *text, size_t len,
                         bool refuse_extra, floe_buf *scratch, floe_error *err) {
  floe_buf path = FLOE_BUF_INIT;
  json_error_t jerr;
  int rc = FLOE_OK;
  json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (floe_buf_append_str(&path, column ? column : "value") < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  if (doc == NULL) {
    rc = floe_error_set(err, FLOE_ERANGE, "%s: not valid JSON (%s at character %d)",
                        column ? column : "value", jerr.text,
                        jerr.position);
    goto cleanup;
  }
  walker w = {&path, scratch, refuse_extra, err};
  rc = append_value(&w, doc, b, field);
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  if (doc != NULL) json_decref(doc);
  floe_buf_free(&path);
  return rc;
}
