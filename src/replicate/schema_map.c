/*
 * replicate/schema_map: from a source table's columns to an Iceberg schema,
 * on the first run and on every later run (schema drift).
 *
 * Names: a source column writes the table column of the same name; when no
 * name matches exactly, a unique case-insensitive match is taken (Snowflake
 * folds unquoted names to upper case, PostgreSQL to lower case, so a table
 * created from one spelling keeps working with the other). New tables get
 * the names exactly as the source reports them.
 *
 * Drift (Iceberg spec: Schema Evolution): a new source column is added as an
 * optional column; int->long, float->double and decimal(P,S)->decimal(P',S)
 * with P' > P widen the table column (a list's element field alike); a
 * declared nested shape (struct, map, nested list) may add nullable struct
 * fields (fresh ids, added at the struct's end) and widen leaves at any
 * depth, everything else about it must stay (nested_diff);
 * a narrower source type is converted up
 * by the source query; a column the source dropped stays in the table and
 * reads null from then on (made optional if it was required); anything else
 * (string -> long, a decimal scale change, timestamp <-> timestamptz) is an
 * error naming the column and both types, and nothing is written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "floe/buffer.h"
#include "replicate/engine_internal.h"

int64_t floe_schema_find_column(const floe_source_table *source, const char *name) {
  if (name == NULL) return -1;
  for (int64_t i = 0; i < source->n_columns; i++)
    if (strcmp(source->columns[i].name, name) == 0) return i;
  int64_t found = -1;
  for (int64_t i = 0; i < source->n_columns; i++)
    if (strcasecmp(source->columns[i].name, name) == 0) {
      if (found >= 0) return -1; /* ambiguous */
      found = i;
    }
  return found;
}

/* The Iceberg type of a source column: a primitive, or for a list column
 * (a PostgreSQL array) a list whose element field (id 0: assigned when the
 * column is added) lives in *element. */
static int source_type(const floe_source_column *c, floe_iceberg_type *out,
                       floe_iceberg_field *element, floe_error *err) {
  memset(element, 0, sizeof *element);
  if (c->shape != NULL) {
    *out = *c->shape; /* a declared nested shape: borrowed tree */
    return FLOE_OK;
  }
  if (c->type.id != FLOE_ARROW_LIST) return floe_iceberg_type_from_arrow(&c->type, out, err);
  memset(element, 0, sizeof *element);
  int rc = floe_iceberg_type_from_arrow(&c->element, &element->type, err);
  if (rc < 0) return rc;
  element->name = (char *)"element";
  element->required = !c->element_nullable;
  *out = floe_iceberg_type_of(FLOE_ICEBERG_LIST);
  out->n_fields = 1;
  out->fields = element;
  return FLOE_OK;
}

static bool excluded(const char *name, const char *const *exclude, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (exclude[i] != NULL && strcasecmp(exclude[i], name) == 0) return true;
  return false;
}

/* Appends a nested type whose field ids are set as the spec's schema JSON
 * (Iceberg spec: Appendix C). */
static int nested_type_json(floe_buf *json, const floe_iceberg_type *t) {
  char text[48];
  int rc = 0;
  switch (t->id) {
    case FLOE_ICEBERG_STRUCT:
      rc |= floe_buf_append_str(json, "{\"type\":\"struct\",\"fields\":[");
      for (int32_t i = 0; i < t->n_fields && rc == 0; i++) {
        const floe_iceberg_field *f = &t->fields[i];
        rc |= floe_buf_appendf(json, "%s{\"id\":%d,\"name\":", i ? "," : "", f->id);
        rc |= floe_buf_append_json_string(json, f->name);
        rc |= floe_buf_appendf(json, ",\"required\":%s,\"type\":", f->required ? "true" : "false");
        if (rc == 0) rc |= nested_type_json(json, &f->type);
        rc |= floe_buf_append_str(json, "}");
      }
      return rc | floe_buf_append_str(json, "]}");
    case FLOE_ICEBERG_LIST:
      rc |= floe_buf_appendf(json, "{\"type\":\"list\",\"element-id\":%d,\"element\":",
                             t->fields[0].id);
      if (rc == 0) rc |= nested_type_json(json, &t->fields[0].type);
      return rc | floe_buf_appendf(json, ",\"element-required\":%s}",
                                   t->fields[0].required ? "true" : "false");
    case FLOE_ICEBERG_MAP:
      rc |= floe_buf_appendf(json, "{\"type\":\"map\",\"key-id\":%d,\"key\":", t->fields[0].id);
      if (rc == 0) rc |= nested_type_json(json, &t->fields[0].type);
      rc |= floe_buf_appendf(json, ",\"value-id\":%d,\"value\":", t->fields[1].id);
      if (rc == 0) rc |= nested_type_json(json, &t->fields[1].type);
      return rc | floe_buf_appendf(json, ",\"value-required\":%s}",
                                   t->fields[1].required ? "true" : "false");
    default:
      floe_iceberg_type_format(t, text, sizeof text);
      return floe_buf_appendf(json, "\"%s\"", text);
  }
}

/* A declared shape's type with fresh ids after *last_id (Iceberg's order),
 * written into json. */
static int shape_json(floe_buf *json, const floe_source_column *c, int32_t *last_id,
                      floe_error *err) {
  floe_iceberg_field one = {0};
  one.name = c->name;
  one.type = *c->shape;
  floe_iceberg_schema stack = {0};
  stack.root = floe_iceberg_type_of(FLOE_ICEBERG_STRUCT);
  stack.root.n_fields = 1;
  stack.root.fields = &one;
  floe_iceberg_schema *copy = NULL;
  int rc = floe_iceberg_schema_copy(&copy, &stack, err);
  if (rc < 0) return rc;
  floe_iceberg_type_assign_ids(&copy->root.fields[0].type, last_id);
  rc = nested_type_json(json, &copy->root.fields[0].type) < 0 ? FLOE_ENOMEM : FLOE_OK;
  floe_iceberg_schema_free(copy);
  if (rc < 0) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return rc;
}

int floe_schema_from_source(const floe_source_table *source,
                            const char *const *exclude, size_t n_exclude,
                            floe_iceberg_schema **out, floe_error *err) {
  /* Written as the spec's schema JSON (Appendix C) and parsed, so list
   * columns get their element fields: ids 1..n for the columns, then the
   * elements' ids after them, as Iceberg assigns fresh ids (top level
   * first). */
  int rc = FLOE_OK;
  floe_buf json = FLOE_BUF_INIT;
  *out = NULL;
  int32_t n = 0, next_element_id = 0;
  for (int64_t i = 0; i < source->n_columns; i++)
    if (!excluded(source->columns[i].name, exclude, n_exclude)) next_element_id++;
  if (floe_buf_append_str(&json, "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[") < 0)
    goto nomem;
  for (int64_t i = 0; i < source->n_columns; i++) {
    const floe_source_column *c = &source->columns[i];
    if (excluded(c->name, exclude, n_exclude)) continue;
    if (c->shape != NULL) {
      if (floe_buf_appendf(&json, "%s{\"id\":%d,\"name\":", n > 0 ? "," : "", n + 1) < 0 ||
          floe_buf_append_json_string(&json, c->name) < 0 ||
          floe_buf_appendf(&json, ",\"required\":%s,\"type\":", c->nullable ? "false" : "true") < 0)
        goto nomem;
      FLOE_TRY(shape_json(&json, c, &next_element_id, err));
      if (floe_buf_append_str(&json, "}") < 0) goto nomem;
      n++;
      continue;
    }
    floe_iceberg_type type;
    rc = floe_iceberg_type_from_arrow(c->type.id == FLOE_ARROW_LIST ? &c->element : &c->type,
                                      &type, err);
    if (rc < 0) {
      floe_error_prefix(err, "column '%s' (declared '%s')", c->name,
                        c->declared_type ? c->declared_type : "");
      goto cleanup;
    }
    char type_text[48];
    floe_iceberg_type_format(&type, type_text, sizeof type_text);
    if (floe_buf_appendf(&json, "%s{\"id\":%d,\"name\":", n > 0 ? "," : "", n + 1) < 0 ||
        floe_buf_append_json_string(&json, c->name) < 0 ||
        floe_buf_appendf(&json, ",\"required\":%s,\"type\":", c->nullable ? "false" : "true") < 0)
      goto nomem;
    if (c->type.id == FLOE_ARROW_LIST) {
      if (floe_buf_appendf(&json,
                           "{\"type\":\"list\",\"element-id\":%d,\"element\":\"%s\","
                           "\"element-required\":%s}}",
                           ++next_element_id, type_text,
                           c->element_nullable ? "false" : "true") < 0)
        goto nomem;
    } else if (floe_buf_appendf(&json, "\"%s\"}", type_text) < 0) {
      goto nomem;
    }
    n++;
  }
  if (n == 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "the source table has no columns to replicate");
    goto cleanup;
  }
  if (floe_buf_append_str(&json, "]}") < 0) goto nomem;
  FLOE_TRY(floe_iceberg_schema_parse(out, (const char *)json.data, json.len, err));
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_buf_free(&json);
  return rc;
}

/* Whether the table column's type `have` may be promoted to `want`. */
static bool widens(const floe_iceberg_type *have, const floe_iceberg_type *want);
static bool same_shape(const floe_iceberg_type *a, const floe_iceberg_type *b);

/* One step of a declared nested shape's evolution: a field added to the
 * struct at `path` (named `name`, of the declared `type`), or the leaf at
 * `path` widened to `type`. Types point into the declared shape. */
typedef struct nested_step {
  bool add;
  char path[512];
  const char *name;
  const floe_iceberg_type *type;
  const floe_iceberg_type *from; /* widen: the table's type */
} nested_step;

typedef struct nested_steps {
  nested_step *items;
  int32_t n, cap;
} nested_steps;

static int steps_push(nested_steps *st, const nested_step *x) {
  if (st->n == st->cap) {
    int32_t cap = st->cap ? st->cap * 2 : 8;
    nested_step *grown = floe_realloc(st->items, sizeof *grown * (size_t)cap);
    if (grown == NULL) return FLOE_ENOMEM;
    st->items = grown;
    st->cap = cap;
  }
  st->items[st->n++] = *x;
  return FLOE_OK;
}

/* vsnprintf into out (size n), cut short when longer. */
static void say(char *out, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, n, fmt, ap);
  va_end(ap);
}

static void type_text(const floe_iceberg_type *t, char *out, size_t n) {
  floe_buf b = FLOE_BUF_INIT;
  if (floe_iceberg_type_to_string(t, &b) == FLOE_OK && floe_buf_terminate(&b) == FLOE_OK)
    say(out, n, "%s", (const char *)b.data);
  else
    say(out, n, "?");
  floe_buf_free(&b);
}

/* Compares the table's nested type `have` at `path` with the declared
 * `want` (Iceberg spec: Schema Evolution): the same kind at every level;
 * every table struct field still declared (by exact name) with the same
 * requiredness; a declared struct field the table lacks is added (it must
 * be optional); a leaf equal, narrower (read up by the decoder) or widened
 * (int->long, float->double, a larger decimal precision); map keys
 * unchanged. The steps go to `steps`; anything else is FLOE_EINVAL with
 * `why` naming the path and both types. */
static int nested_diff(const floe_iceberg_type *have, const floe_iceberg_type *want, const char *path,
                       nested_steps *steps, char *why, size_t n);

/* One child of a struct, list or map at `sub`: its requiredness must not
 * change; then its type is compared as nested_diff says. */
static int child_diff(const floe_iceberg_field *have, const floe_iceberg_field *want,
                      const char *sub, nested_steps *steps, char *why, size_t n) {
  if (have->required != want->required) {
    say(why, n, "%s is %s in the table and declared %s", sub,
        have->required ? "not null" : "nullable", want->required ? "not null" : "nullable");
    return FLOE_EINVAL;
  }
  return nested_diff(&have->type, &want->type, sub, steps, why, n);
}

static int nested_diff(const floe_iceberg_type *have, const floe_iceberg_type *want, const char *path,
                       nested_steps *steps, char *why, size_t n) {
  char a[160], b[160];
  if (floe_iceberg_type_is_primitive(have->id) && floe_iceberg_type_is_primitive(want->id)) {
    if (floe_schema_type_fits(want, have)) return FLOE_OK;
    if (widens(have, want)) {
      nested_step x = {false, "", NULL, want, have};
      say(x.path, sizeof x.path, "%s", path);
      return steps_push(steps, &x);
    }
  }
  if (have->id != want->id || floe_iceberg_type_is_primitive(have->id)) {
    type_text(have, a, sizeof a);
    type_text(want, b, sizeof b);
    say(why, n, "%s is %s in the table and declared %s", path, a, b);
    return FLOE_EINVAL;
  }
  char sub[512];
  if (have->id == FLOE_ICEBERG_STRUCT) {
    for (int32_t i = 0; i < have->n_fields; i++) {
      const floe_iceberg_field *hf = &have->fields[i];
      const floe_iceberg_field *wf = NULL;
      for (int32_t k = 0; k < want->n_fields && wf == NULL; k++)
        if (strcmp(want->fields[k].name, hf->name) == 0) wf = &want->fields[k];
      say(sub, sizeof sub, "%s.%s", path, hf->name);
      if (wf == NULL) {
        type_text(&hf->type, a, sizeof a);
        say(why, n, "%s (%s) is in the table and not declared (fields are never dropped)", sub, a);
        return FLOE_EINVAL;
      }
      int rc = child_diff(hf, wf, sub, steps, why, n);
      if (rc < 0) return rc;
    }
    for (int32_t k = 0; k < want->n_fields; k++) {
      const floe_iceberg_field *wf = &want->fields[k];
      bool known = false;
      for (int32_t i = 0; i < have->n_fields && !known; i++) known = strcmp(have->fields[i].name, wf->name) == 0;
      if (known) continue;
      if (wf->required) {
        type_text(&wf->type, b, sizeof b);
        say(why, n, "%s.%s (%s not null) is new; a field added to a struct must be nullable", path,
                 wf->name, b);
        return FLOE_EINVAL;
      }
      nested_step x = {true, "", wf->name, &wf->type, NULL};
      say(x.path, sizeof x.path, "%s", path);
      int rc = steps_push(steps, &x);
      if (rc < 0) return rc;
    }
    return FLOE_OK;
  }
  if (have->id == FLOE_ICEBERG_LIST) {
    say(sub, sizeof sub, "%s.element", path);
    return child_diff(&have->fields[0], &want->fields[0], sub, steps, why, n);
  }
  /* a map: keys never change (Iceberg Java refuses updating them) */
  say(sub, sizeof sub, "%s.key", path);
  if (!same_shape(&have->fields[0].type, &want->fields[0].type)) {
    type_text(&have->fields[0].type, a, sizeof a);
    type_text(&want->fields[0].type, b, sizeof b);
    say(why, n, "%s is %s in the table and declared %s (map keys cannot change)", sub, a, b);
    return FLOE_EINVAL;
  }
  say(sub, sizeof sub, "%s.value", path);
  return child_diff(&have->fields[1], &want->fields[1], sub, steps, why, n);
}

/* Equal nested types, ids ignored (field names compared exactly). */
static bool same_shape(const floe_iceberg_type *a, const floe_iceberg_type *b) {
  if (a->id != b->id || a->n_fields != b->n_fields) return false;
  if (floe_iceberg_type_is_primitive(a->id))
    return a->id != FLOE_ICEBERG_DECIMAL ? a->length == b->length
                                         : a->precision == b->precision && a->scale == b->scale;
  for (int32_t i = 0; i < a->n_fields; i++)
    if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
        a->fields[i].required != b->fields[i].required ||
        !same_shape(&a->fields[i].type, &b->fields[i].type))
      return false;
  return true;
}

bool floe_schema_type_fits(const floe_iceberg_type *from, const floe_iceberg_type *to) {
  if (from->id == to->id) {
    if (from->id == FLOE_ICEBERG_DECIMAL)
      return from->scale == to->scale && from->precision <= to->precision;
    if (from->id == FLOE_ICEBERG_FIXED) return from->length == to->length;
    return true;
  }
  if (from->id == FLOE_ICEBERG_INT && to->id == FLOE_ICEBERG_LONG) return true;
  if (from->id == FLOE_ICEBERG_FLOAT && to->id == FLOE_ICEBERG_DOUBLE) return true;
  return false;
}

/* Whether the table column's type `have` may be promoted to `want`. */
static bool widens(const floe_iceberg_type *have, const floe_iceberg_type *want) {
  if (have->id == FLOE_ICEBERG_INT && want->id == FLOE_ICEBERG_LONG) return true;
  if (have->id == FLOE_ICEBERG_FLOAT && want->id == FLOE_ICEBERG_DOUBLE) return true;
  return have->id == FLOE_ICEBERG_DECIMAL && want->id == FLOE_ICEBERG_DECIMAL &&
         have->scale == want->scale && want->precision > have->precision;
}

void floe_schema_drift_free(floe_schema_drift *drift) {
  if (drift == NULL) return;
  floe_iceberg_schema_free(drift->evolved);
  floe_free(drift->field_ids);
  floe_free(drift->types);
  floe_free(drift->element_ids);
  floe_free(drift->element_types);
  for (int64_t i = 0; drift->arrow_fields != NULL && i < drift->n_columns; i++)
    floe_arrow_schema_release(&drift->arrow_fields[i]);
  floe_free(drift->arrow_fields);
  floe_free(drift->description);
  memset(drift, 0, sizeof *drift);
}

/* Replaces *schema by the result of an evolution step. */
static void step(floe_iceberg_schema **schema, floe_iceberg_schema *next) {
  floe_iceberg_schema_free(*schema);
  *schema = next;
}

/* Finds a top-level field by name: exact, else unique case-insensitive. */
static const floe_iceberg_field *find_field(const floe_iceberg_schema *schema,
                                            const char *name) {
  const floe_iceberg_type *root = &schema->root;
  for (int32_t i = 0; i < root->n_fields; i++)
    if (strcmp(root->fields[i].name, name) == 0) return &root->fields[i];
  const floe_iceberg_field *found = NULL;
  for (int32_t i = 0; i < root->n_fields; i++)
    if (strcasecmp(root->fields[i].name, name) == 0) {
      if (found != NULL) return NULL;
      found = &root->fields[i];
    }
  return found;
}

static int note(floe_buf *desc, const char *fmt, ...) {
  if (desc->len > 0 && floe_buf_append_str(desc, "; ") < 0) return FLOE_ENOMEM;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  return floe_buf_append_str(desc, line) < 0 ? FLOE_ENOMEM : FLOE_OK;
}

int floe_schema_map(const floe_iceberg_schema *current,
                    const floe_source_table *source,
                    const char *const *exclude, size_t n_exclude,
                    const char *table, floe_schema_drift *out,
                    floe_error *err) {
  int rc = FLOE_OK;
  floe_iceberg_schema *work = NULL, *next = NULL;
  floe_buf desc;
  floe_buf_init(&desc);
  memset(out, 0, sizeof *out);
  out->n_columns = source->n_columns;
  out->field_ids = floe_calloc((size_t)source->n_columns + 1, sizeof *out->field_ids);
  out->types = floe_calloc((size_t)source->n_columns + 1, sizeof *out->types);
  out->element_ids = floe_calloc((size_t)source->n_columns + 1, sizeof *out->element_ids);
  out->element_types =
      floe_calloc((size_t)source->n_columns + 1, sizeof *out->element_types);
  out->arrow_fields = floe_calloc((size_t)source->n_columns + 1, sizeof *out->arrow_fields);
  if (out->field_ids == NULL || out->types == NULL || out->element_ids == NULL ||
      out->element_types == NULL || out->arrow_fields == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_iceberg_schema_copy(&work, current, err));
  int32_t last_id = floe_iceberg_schema_highest_field_id(current);
  bool changed = false;

  /* Pass 1: check every column before changing anything, so an
   * incompatible change writes nothing (not even a schema commit). */
  for (int64_t i = 0; i < source->n_columns; i++) {
    const floe_source_column *c = &source->columns[i];
    if (excluded(c->name, exclude, n_exclude)) continue;
    floe_iceberg_type want;
    floe_iceberg_field want_element;
    rc = source_type(c, &want, &want_element, err);
    if (rc < 0) {
      floe_error_prefix(err, "column '%s' (declared '%s')", c->name,
                        c->declared_type ? c->declared_type : "");
      goto cleanup;
    }
    const floe_iceberg_field *f = find_field(current, c->name);
    if (f == NULL) continue;
    if (c->shape != NULL) {
      /* A declared nested shape may add nullable struct fields and widen
       * leaves (nested_diff); any other difference is refused here, before
       * anything changes. */
      nested_steps steps = {0};
      char why[768];
      rc = nested_diff(&f->type, c->shape, f->name, &steps, why, sizeof why);
      floe_free(steps.items);
      if (rc == FLOE_ENOMEM) goto nomem;
      if (rc < 0) {
        floe_buf a = FLOE_BUF_INIT, b = FLOE_BUF_INIT;
        floe_iceberg_type_to_string(c->shape, &a);
        floe_iceberg_type_to_string(&f->type, &b);
        floe_buf_terminate(&a);
        floe_buf_terminate(&b);
        rc = floe_error_set(err, FLOE_EINVAL,
                            "column '%s': declared shape %s differs from the table's %s: %s "
                            "(a nested column evolves only by new nullable struct fields and "
                            "int->long, float->double, wider decimal leaves; nothing was written)",
                            c->name, a.data ? (const char *)a.data : "?",
                            b.data ? (const char *)b.data : "?", why);
        floe_buf_free(&a);
        floe_buf_free(&b);
        goto cleanup;
      }
      continue;
    }
    /* A list fits a list whose elements its elements fit, or widen to
     * (int -> long inside a list is a promotion of the element field). */
    bool list_fits = want.id == FLOE_ICEBERG_LIST && f->type.id == FLOE_ICEBERG_LIST &&
                     f->type.n_fields == 1 &&
                     floe_iceberg_type_is_primitive(f->type.fields[0].type.id) &&
                     (floe_schema_type_fits(&want_element.type, &f->type.fields[0].type) ||
                      widens(&f->type.fields[0].type, &want_element.type)) &&
                     (!f->type.fields[0].required || want_element.required);
    if (!list_fits && (!floe_iceberg_type_is_primitive(f->type.id) ||
                       !floe_iceberg_type_is_primitive(want.id) ||
                       (!floe_schema_type_fits(&want, &f->type) && !widens(&f->type, &want)))) {
      char have_text[48], want_text[48];
      floe_iceberg_type_format(&f->type, have_text, sizeof have_text);
      floe_iceberg_type_format(&want, want_text, sizeof want_text);
      rc = floe_error_set(err, FLOE_EINVAL,
                          "column '%s': source type %s (declared '%s') cannot "
                          "be stored in the table's %s column (incompatible schema "
                          "change; nothing was written)",
                          c->name, want_text,
                          c->declared_type ? c->declared_type : "", have_text);
      goto cleanup;
    }
  }

  /* Pass 2: evolve. */
  for (int64_t i = 0; i < source->n_columns; i++) {
    const floe_source_column *c = &source->columns[i];
    if (excluded(c->name, exclude, n_exclude)) {
      out->types[i] = c->type; /* read as it is, never written */
      continue;
    }
    floe_iceberg_type want;
    floe_iceberg_field want_element;
    FLOE_TRY(source_type(c, &want, &want_element, err));
    const floe_iceberg_field *f = find_field(work, c->name);
    if (f == NULL) {
      FLOE_TRY(floe_iceberg_schema_add_column(&next, work, NULL, c->name, &want, NULL,
                                              &last_id, err));
      step(&work, next);
      next = NULL;
      char t[48];
      floe_iceberg_type_format(&want, t, sizeof t);
      if (note(&desc, "added %s (%s)", c->name, t) < 0) goto nomem;
      out->n_added++;
      changed = true;
      f = find_field(work, c->name);
    } else if (c->shape != NULL) {
      /* the declared shape's evolution, step by step (checked in pass 1) */
      char fname[256], why[768];
      snprintf(fname, sizeof fname, "%s", f->name);
      nested_steps steps = {0};
      const floe_iceberg_field *before = find_field(current, c->name);
      rc = nested_diff(&before->type, c->shape, fname, &steps, why, sizeof why);
      if (rc < 0 && rc != FLOE_ENOMEM) {
        floe_free(steps.items);
        rc = floe_error_set(err, rc, "column '%s': %s", fname, why);
        goto cleanup;
      }
      for (int32_t k = 0; rc == FLOE_OK && k < steps.n; k++) {
        const nested_step *x = &steps.items[k];
        char t[160], from[160];
        type_text(x->type, t, sizeof t);
        if (x->add) {
          rc = floe_iceberg_schema_add_column(&next, work, x->path, x->name, x->type, NULL, &last_id, err);
          if (rc == FLOE_OK && note(&desc, "added %s.%s (%s)", x->path, x->name, t) < 0) rc = FLOE_ENOMEM;
          out->n_added++;
        } else {
          type_text(x->from, from, sizeof from);
          rc = floe_iceberg_schema_promote_column(&next, work, x->path, x->type, err);
          if (rc == FLOE_OK && note(&desc, "widened %s %s->%s", x->path, from, t) < 0) rc = FLOE_ENOMEM;
          out->n_widened++;
        }
        if (next != NULL) {
          step(&work, next);
          next = NULL;
        }
        changed = true;
      }
      floe_free(steps.items);
      if (rc == FLOE_ENOMEM) goto nomem;
      if (rc < 0) {
        floe_error_prefix(err, "column '%s'", fname);
        goto cleanup;
      }
      f = find_field(work, fname);
    } else {
      char fname[256];
      snprintf(fname, sizeof fname, "%s", f->name);
      if (widens(&f->type, &want)) {
        char a[48], b[48];
        floe_iceberg_type_format(&f->type, a, sizeof a);
        floe_iceberg_type_format(&want, b, sizeof b);
        FLOE_TRY(floe_iceberg_schema_promote_column(&next, work, fname, &want, err));
        step(&work, next);
        next = NULL;
        if (note(&desc, "widened %s %s->%s", fname, a, b) < 0) goto nomem;
        out->n_widened++;
        changed = true;
        f = find_field(work, fname);
      }
      if (want.id == FLOE_ICEBERG_LIST && f->type.id == FLOE_ICEBERG_LIST &&
          f->type.n_fields == 1 && widens(&f->type.fields[0].type, &want_element.type)) {
        char a[48], b[48], element[300];
        floe_iceberg_type_format(&f->type.fields[0].type, a, sizeof a);
        floe_iceberg_type_format(&want_element.type, b, sizeof b);
        snprintf(element, sizeof element, "%s.element", fname);
        FLOE_TRY(floe_iceberg_schema_promote_column(&next, work, element, &want_element.type,
                                                    err));
        step(&work, next);
        next = NULL;
        if (note(&desc, "widened %s %s->%s", element, a, b) < 0) goto nomem;
        out->n_widened++;
        changed = true;
        f = find_field(work, fname);
      }
    }
    if (f != NULL && f->required && c->nullable) {
      char fname[256];
      snprintf(fname, sizeof fname, "%s", f->name);
      FLOE_TRY(floe_iceberg_schema_make_optional(&next, work, fname, err));
      step(&work, next);
      next = NULL;
      if (note(&desc, "made %s optional", fname) < 0) goto nomem;
      out->n_made_optional++;
      changed = true;
      f = find_field(work, fname);
    }
    if (f == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL, "table %s: column '%s' vanished", table,
                          c->name);
      goto cleanup;
    }
    out->field_ids[i] = f->id;
    FLOE_TRY(floe_iceberg_type_to_arrow(&f->type, &out->types[i], err));
    if (c->shape != NULL) {
      FLOE_TRY(floe_iceberg_field_to_arrow(f, &out->arrow_fields[i], err));
    } else if (f->type.id == FLOE_ICEBERG_LIST) {
      out->element_ids[i] = f->type.fields[0].id;
      FLOE_TRY(floe_iceberg_type_to_arrow(&f->type.fields[0].type, &out->element_types[i], err));
    }
  }

  /* Columns the source dropped: they stay and read null. */
  for (int32_t i = 0; i < current->root.n_fields; i++) {
    const floe_iceberg_field *f = &current->root.fields[i];
    bool present = false;
    for (int64_t j = 0; j < source->n_columns && !present; j++)
      present = out->field_ids[j] == f->id;
    if (present || !f->required) continue;
    char fname[256];
    snprintf(fname, sizeof fname, "%s", f->name);
    FLOE_TRY(floe_iceberg_schema_make_optional(&next, work, fname, err));
    step(&work, next);
    next = NULL;
    if (note(&desc, "made %s optional (dropped by the source)", fname) < 0) goto nomem;
    out->n_made_optional++;
    changed = true;
  }

  if (changed) {
    out->evolved = work;
    work = NULL;
    if (floe_buf_terminate(&desc) < 0) goto nomem;
    out->description = (char *)floe_buf_detach(&desc, NULL);
  }
  rc = FLOE_OK;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_iceberg_schema_free(work);
  floe_iceberg_schema_free(next);
  floe_buf_free(&desc);
  if (rc < 0) floe_schema_drift_free(out);
  return rc;
}
