/*
 * iceberg/type_string: nested type strings, as users write a declared shape
 * in a config file ("struct<id: long, tags: list<string>>"), parsed into the
 * floe_iceberg_type tree the schema code uses, and the tree written back as
 * such a string for messages.
 *
 * The grammar takes Iceberg's own spelling (primitive names as in the spec's
 * JSON, list<T>, map<K, V>, struct<name: T>) and the Spark DDL spelling users
 * copy from from_json schemas (array<T>, bigint, integer, struct<a:int> with
 * or without a colon, `quoted` names, NOT NULL). Keywords are case-
 * insensitive; field names keep their case. A parse error names the 0-based
 * character position it stopped at, so a config loader can point into the
 * string. The tree lives in the arena of a one-column schema, so it is freed
 * with the schema and copied with floe_iceberg_schema_copy; field ids are 0
 * until the caller assigns them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "iceberg/iceberg_internal.h"

#define MAX_DEPTH 64

typedef struct parser {
  const char *text;
  const char *p;
  floe_arena *arena;
  floe_error *err;
  size_t error_offset;
  int depth;
} parser;

static void skip_space(parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

/* Records a parse error at the current position. */
static int fail(parser *ps, const char *what) {
  ps->error_offset = (size_t)(ps->p - ps->text);
  char near[24];
  if (*ps->p == '\0')
    snprintf(near, sizeof near, "the end");
  else
    snprintf(near, sizeof near, "'%.12s'", ps->p);
  return floe_error_set(ps->err, FLOE_EFORMAT,
                        "type '%s': at character %zu (%s): %s", ps->text,
                        ps->error_offset + 1, near, what);
}

static bool is_word_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* Reads a bare word [A-Za-z_][A-Za-z0-9_]* at p into out (NUL-terminated). */
static size_t read_word(const char *p, char *out, size_t out_size) {
  size_t n = 0;
  if (!isalpha((unsigned char)p[0]) && p[0] != '_') return 0;
  while (is_word_char(p[n])) {
    if (n + 1 < out_size) out[n] = p[n];
    n++;
  }
  out[n < out_size ? n : out_size - 1] = '\0';
  return n;
}

/* Whether the next word is `kw` (case-insensitive, whole word); consumes it. */
static bool accept_keyword(parser *ps, const char *kw) {
  size_t n = strlen(kw);
  if (strncasecmp(ps->p, kw, n) != 0 || is_word_char(ps->p[n])) return false;
  ps->p += n;
  return true;
}

static bool accept_char(parser *ps, char c) {
  skip_space(ps);
  if (*ps->p != c) return false;
  ps->p++;
  return true;
}

static const struct {
  const char *name;
  floe_iceberg_type_id id;
} primitives[] = {
    {"boolean", FLOE_ICEBERG_BOOLEAN},   {"bool", FLOE_ICEBERG_BOOLEAN},
    {"int", FLOE_ICEBERG_INT},           {"integer", FLOE_ICEBERG_INT},
    {"smallint", FLOE_ICEBERG_INT},      {"tinyint", FLOE_ICEBERG_INT},
    {"long", FLOE_ICEBERG_LONG},         {"bigint", FLOE_ICEBERG_LONG},
    {"float", FLOE_ICEBERG_FLOAT},       {"real", FLOE_ICEBERG_FLOAT},
    {"double", FLOE_ICEBERG_DOUBLE},     {"date", FLOE_ICEBERG_DATE},
    {"time", FLOE_ICEBERG_TIME},         {"timestamp", FLOE_ICEBERG_TIMESTAMP},
    {"timestamp_ntz", FLOE_ICEBERG_TIMESTAMP},
    {"timestamptz", FLOE_ICEBERG_TIMESTAMPTZ},
    {"timestamp_ltz", FLOE_ICEBERG_TIMESTAMPTZ},
    {"string", FLOE_ICEBERG_STRING},     {"uuid", FLOE_ICEBERG_UUID},
    {"binary", FLOE_ICEBERG_BINARY},
};

static int parse_type(parser *ps, floe_iceberg_type *out);

/* Reads a non-negative integer (for decimal(P,S) and fixed[N]). */
static bool read_number(parser *ps, int32_t *out) {
  skip_space(ps);
  if (!isdigit((unsigned char)*ps->p)) return false;
  long v = 0;
  while (isdigit((unsigned char)*ps->p)) {
    v = v * 10 + (*ps->p++ - '0');
    if (v > 1000000) return false;
  }
  *out = (int32_t)v;
  return true;
}

/* Optional "not null" after a type; sets *required. */
static void read_not_null(parser *ps, bool *required) {
  skip_space(ps);
  const char *save = ps->p;
  if (accept_keyword(ps, "not")) {
    skip_space(ps);
    if (accept_keyword(ps, "null")) {
      *required = true;
      return;
    }
  }
  ps->p = save;
}

/* A one-child container field (list element, map key/value). */
static int child_field(parser *ps, floe_iceberg_field *f, const char *name) {
  f->name = floe_arena_strdup(ps->arena, name);
  if (f->name == NULL) return floe_error_set(ps->err, FLOE_ENOMEM, "out of memory");
  return parse_type(ps, &f->type);
}

/* A struct field name: a bare word or a `quoted` name (`` inside a quoted
 * name is one backtick). */
static int field_name(parser *ps, char **out) {
  skip_space(ps);
  floe_buf name = FLOE_BUF_INIT;
  int rc = FLOE_OK;
  if (*ps->p == '`') {
    ps->p++;
    for (;;) {
      if (*ps->p == '\0') {
        rc = fail(ps, "unterminated `quoted` field name");
        goto cleanup;
      }
      if (*ps->p == '`') {
        if (ps->p[1] != '`') break;
        ps->p++;
      }
      if (floe_buf_append(&name, ps->p, 1) < 0) goto nomem;
      ps->p++;
    }
    ps->p++;
    if (name.len == 0) {
      ps->p -= 2;
      rc = fail(ps, "empty field name");
      goto cleanup;
    }
  } else {
    size_t n = 0;
    while (is_word_char(ps->p[n]) || ps->p[n] == '$' || ps->p[n] == '-') n++;
    if (n == 0) {
      rc = fail(ps, "expected a field name (write `name` to quote special characters)");
      goto cleanup;
    }
    if (floe_buf_append(&name, ps->p, n) < 0) goto nomem;
    ps->p += n;
  }
  if (floe_buf_terminate(&name) < 0) goto nomem;
  *out = floe_arena_strdup(ps->arena, (const char *)name.data);
  if (*out == NULL) goto nomem;
  goto cleanup;
nomem:
  rc = floe_error_set(ps->err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_buf_free(&name);
  return rc;
}

static int parse_struct(parser *ps, floe_iceberg_type *out) {
  int rc;
  *out = floe_iceberg_type_of(FLOE_ICEBERG_STRUCT);
  if (!accept_char(ps, '<')) return fail(ps, "expected '<' after struct");
  if (accept_char(ps, '>')) return fail(ps, "a struct needs at least one field");
  int32_t cap = 0;
  for (;;) {
    if (out->n_fields == cap) {
      int32_t new_cap = cap ? cap * 2 : 8;
      floe_iceberg_field *fields = floe_arena_calloc(ps->arena, (size_t)new_cap, sizeof *fields);
      if (fields == NULL) return floe_error_set(ps->err, FLOE_ENOMEM, "out of memory");
      if (out->n_fields) memcpy(fields, out->fields, (size_t)out->n_fields * sizeof *fields);
      out->fields = fields;
      cap = new_cap;
    }
    floe_iceberg_field *f = &out->fields[out->n_fields];
    const char *name_start = ps->p;
    if ((rc = field_name(ps, &f->name)) < 0) return rc;
    for (int32_t i = 0; i < out->n_fields; i++)
      if (strcmp(out->fields[i].name, f->name) == 0) {
        skip_space(ps);
        ps->p = name_start;
        skip_space(ps);
        return fail(ps, "duplicate field name in struct");
      }
    bool spaced = *ps->p == ' ' || *ps->p == '\t';
    bool colon = accept_char(ps, ':');
    if (!colon && !spaced) {
      skip_space(ps);
      return fail(ps, "expected ':' and a type after the field name");
    }
    if ((rc = parse_type(ps, &f->type)) < 0) return rc;
    read_not_null(ps, &f->required);
    out->n_fields++;
    if (accept_char(ps, ',')) continue;
    if (accept_char(ps, '>')) return FLOE_OK;
    skip_space(ps);
    return fail(ps, "expected ',' or '>' after a struct field");
  }
}

static int parse_type(parser *ps, floe_iceberg_type *out) {
  int rc;
  memset(out, 0, sizeof *out);
  if (++ps->depth > MAX_DEPTH) return fail(ps, "nested too deeply");
  skip_space(ps);
  char word[32];
  size_t n = read_word(ps->p, word, sizeof word);
  if (n == 0) return fail(ps, "expected a type");
  if (strcasecmp(word, "list") == 0 || strcasecmp(word, "array") == 0) {
    ps->p += n;
    if (!accept_char(ps, '<')) return fail(ps, "expected '<' after list");
    *out = floe_iceberg_type_of(FLOE_ICEBERG_LIST);
    out->fields = floe_arena_calloc(ps->arena, 1, sizeof *out->fields);
    if (out->fields == NULL) return floe_error_set(ps->err, FLOE_ENOMEM, "out of memory");
    out->n_fields = 1;
    if ((rc = child_field(ps, &out->fields[0], "element")) < 0) return rc;
    read_not_null(ps, &out->fields[0].required);
    if (!accept_char(ps, '>')) return fail(ps, "expected '>' to close list<");
  } else if (strcasecmp(word, "map") == 0) {
    ps->p += n;
    if (!accept_char(ps, '<')) return fail(ps, "expected '<' after map");
    *out = floe_iceberg_type_of(FLOE_ICEBERG_MAP);
    out->fields = floe_arena_calloc(ps->arena, 2, sizeof *out->fields);
    if (out->fields == NULL) return floe_error_set(ps->err, FLOE_ENOMEM, "out of memory");
    out->n_fields = 2;
    skip_space(ps);
    const char *key_at = ps->p;
    if ((rc = child_field(ps, &out->fields[0], "key")) < 0) return rc;
    /* JSON object keys are strings: a key is a string or a primitive parsed
     * from one (Iceberg spec: map keys are required). */
    if (!floe_iceberg_type_is_primitive(out->fields[0].type.id)) {
      ps->p = key_at;
      return fail(ps, "a map key must be a primitive type (JSON object keys are strings)");
    }
    out->fields[0].required = true;
    if (!accept_char(ps, ',')) return fail(ps, "expected ',' between the map's key and value types");
    if ((rc = child_field(ps, &out->fields[1], "value")) < 0) return rc;
    read_not_null(ps, &out->fields[1].required);
    if (!accept_char(ps, '>')) return fail(ps, "expected '>' to close map<");
  } else if (strcasecmp(word, "struct") == 0) {
    ps->p += n;
    if ((rc = parse_struct(ps, out)) < 0) return rc;
  } else if (strcasecmp(word, "decimal") == 0 || strcasecmp(word, "numeric") == 0) {
    ps->p += n;
    int32_t precision, scale;
    if (!accept_char(ps, '(')) return fail(ps, "expected '(' after decimal: decimal(P, S)");
    if (!read_number(ps, &precision)) return fail(ps, "expected the decimal's precision");
    if (!accept_char(ps, ',')) return fail(ps, "expected ',' and the decimal's scale");
    if (!read_number(ps, &scale)) return fail(ps, "expected the decimal's scale");
    if (!accept_char(ps, ')')) return fail(ps, "expected ')' to close decimal(");
    /* Iceberg spec: Primitive Types — precision must be 38 or less. */
    if (precision < 1 || precision > 38 || scale > precision) {
      ps->p--;
      return fail(ps, "decimal precision must be 1..38 and the scale at most the precision");
    }
    *out = floe_iceberg_decimal(precision, scale);
  } else if (strcasecmp(word, "fixed") == 0) {
    ps->p += n;
    int32_t length;
    if (!accept_char(ps, '[')) return fail(ps, "expected '[' after fixed: fixed[N]");
    if (!read_number(ps, &length) || length < 1) return fail(ps, "expected the fixed length");
    if (!accept_char(ps, ']')) return fail(ps, "expected ']' to close fixed[");
    *out = floe_iceberg_fixed(length);
  } else {
    bool found = false;
    for (size_t i = 0; i < sizeof primitives / sizeof primitives[0] && !found; i++)
      if (strcasecmp(word, primitives[i].name) == 0) {
        *out = floe_iceberg_type_of(primitives[i].id);
        found = true;
      }
    if (!found) {
      return fail(ps, "unknown type (expected a primitive such as int, long, string, "
                      "decimal(P,S), timestamptz, or list<…>, map<…, …>, struct<…>)");
    }
    ps->p += n;
  }
  ps->depth--;
  return FLOE_OK;
}

int floe_iceberg_type_parse_nested(struct floe_iceberg_schema **out, const char *column,
                                   const char *text, size_t *error_offset,
                                   floe_error *err) {
  int rc = FLOE_OK;
  *out = NULL;
  if (error_offset != NULL) *error_offset = 0;
  floe_arena *arena = ice_arena_create(1024);
  if (arena == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  floe_iceberg_schema *s = floe_arena_calloc(arena, 1, sizeof *s);
  floe_iceberg_field *f = s ? floe_arena_calloc(arena, 1, sizeof *f) : NULL;
  if (f == NULL || (f->name = floe_arena_strdup(arena, column ? column : "value")) == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  s->arena = arena;
  s->root = floe_iceberg_type_of(FLOE_ICEBERG_STRUCT);
  s->root.n_fields = 1;
  s->root.fields = f;
  parser ps = {text ? text : "", text ? text : "", arena, err, 0, 0};
  rc = parse_type(&ps, &f->type);
  if (rc == FLOE_OK) {
    skip_space(&ps);
    if (*ps.p != '\0') rc = fail(&ps, "unexpected text after the type");
  }
  if (rc < 0) {
    if (error_offset != NULL) *error_offset = ps.error_offset;
    goto cleanup;
  }
  *out = s;
  arena = NULL;
cleanup:
  if (arena != NULL) ice_arena_destroy(arena);
  return rc;
}

/* Field names that need no quotes in a type string. */
static bool plain_name(const char *name) {
  if (name[0] == '\0' || isdigit((unsigned char)name[0])) return false;
  for (const char *p = name; *p; p++)
    if (!is_word_char(*p)) return false;
  return true;
}

int floe_iceberg_type_to_string(const floe_iceberg_type *type, floe_buf *out) {
  char text[48];
  switch (type->id) {
    case FLOE_ICEBERG_LIST:
      if (floe_buf_append_str(out, "list<") < 0 ||
          floe_iceberg_type_to_string(&type->fields[0].type, out) < 0 ||
          (type->fields[0].required && floe_buf_append_str(out, " not null") < 0))
        return FLOE_ENOMEM;
      return floe_buf_append_str(out, ">") < 0 ? FLOE_ENOMEM : FLOE_OK;
    case FLOE_ICEBERG_MAP:
      if (floe_buf_append_str(out, "map<") < 0 ||
          floe_iceberg_type_to_string(&type->fields[0].type, out) < 0 ||
          floe_buf_append_str(out, ", ") < 0 ||
          floe_iceberg_type_to_string(&type->fields[1].type, out) < 0 ||
          (type->fields[1].required && floe_buf_append_str(out, " not null") < 0))
        return FLOE_ENOMEM;
      return floe_buf_append_str(out, ">") < 0 ? FLOE_ENOMEM : FLOE_OK;
    case FLOE_ICEBERG_STRUCT:
      if (floe_buf_append_str(out, "struct<") < 0) return FLOE_ENOMEM;
      for (int32_t i = 0; i < type->n_fields; i++) {
        const floe_iceberg_field *f = &type->fields[i];
        if (i > 0 && floe_buf_append_str(out, ", ") < 0) return FLOE_ENOMEM;
        if (plain_name(f->name)) {
          if (floe_buf_append_str(out, f->name) < 0) return FLOE_ENOMEM;
        } else {
          if (floe_buf_append_str(out, "`") < 0) return FLOE_ENOMEM;
          for (const char *p = f->name; *p; p++)
            if (floe_buf_append(out, p, 1) < 0 ||
                (*p == '`' && floe_buf_append(out, p, 1) < 0))
              return FLOE_ENOMEM;
          if (floe_buf_append_str(out, "`") < 0) return FLOE_ENOMEM;
        }
        if (floe_buf_append_str(out, ": ") < 0 ||
            floe_iceberg_type_to_string(&f->type, out) < 0 ||
            (f->required && floe_buf_append_str(out, " not null") < 0))
          return FLOE_ENOMEM;
      }
      return floe_buf_append_str(out, ">") < 0 ? FLOE_ENOMEM : FLOE_OK;
    default:
      floe_iceberg_type_format(type, text, sizeof text);
      return floe_buf_append_str(out, text) < 0 ? FLOE_ENOMEM : FLOE_OK;
  }
}

void floe_iceberg_type_assign_ids(floe_iceberg_type *type, int32_t *last_id) {
  /* Iceberg's fresh-id assignment (TypeUtil.assignFreshIds): every child
   * of a type gets its id before any grandchild. */
  for (int32_t i = 0; i < type->n_fields; i++) type->fields[i].id = ++*last_id;
  for (int32_t i = 0; i < type->n_fields; i++)
    floe_iceberg_type_assign_ids(&type->fields[i].type, last_id);
}
