/*
 * cli/rows: CSV and JSON-lines output of Arrow batches (see rows.h). Values
 * are rendered once by floe_arrow_view_format, so every command prints a
 * value the same way the fixture CSVs and the tests expect. In JSON lines
 * nested values are JSON: a list is an array, a struct an object of its
 * fields, a map an object keyed by each key's text; their primitive values
 * follow the same rules as top-level ones (numbers and booleans as JSON
 * literals, everything else as strings, null as null).
 */
#include "rows.h"

#include <stdlib.h>
#include <string.h>

static void put_csv(const uint8_t *s, size_t n, FILE *out) {
  bool quote = false;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = true;
  if (!quote) {
    fwrite(s, 1, n, out);
    return;
  }
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') fputc('"', out);
    fputc(s[i], out);
  }
  fputc('"', out);
}

static void put_json_string(const uint8_t *s, size_t n, FILE *out) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == '"' || ch == '\\') {
      fputc('\\', out);
      fputc(ch, out);
    } else if (ch == '\n') {
      fputs("\\n", out);
    } else if (ch == '\r') {
      fputs("\\r", out);
    } else if (ch == '\t') {
      fputs("\\t", out);
    } else if (ch < 0x20) {
      fprintf(out, "\\u%04x", ch);
    } else {
      fputc(ch, out);
    }
  }
  fputc('"', out);
}

int cli_rows_begin(cli_rows *rows, FILE *out, const struct ArrowSchema *schema, bool jsonl,
                   int64_t limit, floe_error *err) {
  memset(rows, 0, sizeof *rows);
  rows->out = out;
  rows->jsonl = jsonl;
  rows->limit = limit;
  rows->views = calloc((size_t)(schema->n_children ? schema->n_children : 1), sizeof *rows->views);
  if (rows->views == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (!jsonl) {
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (c) fputc(',', out);
      const char *name = schema->children[c]->name;
      put_csv((const uint8_t *)name, strlen(name), out);
    }
    fputc('\n', out);
  }
  return FLOE_OK;
}

/* Whether a rendered value is a JSON literal as it stands. */
static bool json_literal(floe_arrow_type id, const floe_buf *text) {
  if (id == FLOE_ARROW_BOOL || id == FLOE_ARROW_INT32 || id == FLOE_ARROW_INT64 ||
      id == FLOE_ARROW_UINT64)
    return true;
  /* Finite floats end in a digit; NaN and Infinity stay strings. */
  return (id == FLOE_ARROW_FLOAT || id == FLOE_ARROW_DOUBLE) && text->len > 0 &&
         text->data[text->len - 1] >= '0' && text->data[text->len - 1] <= '9';
}

/* Writes value i of v as JSON; `text` is scratch. */
static int put_json_value(const floe_arrow_view *v, int64_t i, floe_buf *text, FILE *out,
                          floe_error *err) {
  if (floe_arrow_view_is_null(v, i)) {
    fputs("null", out);
    return FLOE_OK;
  }
  int rc = FLOE_OK;
  int64_t start, end;
  switch (v->type.id) {
    case FLOE_ARROW_LIST: {
      floe_arrow_view child;
      if ((rc = floe_arrow_view_list_child(v, &child, err)) < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      fputc('[', out);
      for (int64_t k = start; k < end && rc == FLOE_OK; k++) {
        if (k > start) fputc(',', out);
        rc = put_json_value(&child, k, text, out, err);
      }
      fputc(']', out);
      return rc;
    }
    case FLOE_ARROW_STRUCT:
      fputc('{', out);
      for (int64_t k = 0; k < v->n_children && rc == FLOE_OK; k++) {
        floe_arrow_view field;
        if ((rc = floe_arrow_view_struct_child(v, k, &field, err)) < 0) break;
        const char *name = v->child_schemas[k]->name ? v->child_schemas[k]->name : "";
        if (k > 0) fputc(',', out);
        put_json_string((const uint8_t *)name, strlen(name), out);
        fputc(':', out);
        rc = put_json_value(&field, i, text, out, err);
      }
      fputc('}', out);
      return rc;
    case FLOE_ARROW_MAP: {
      floe_arrow_view keys, values;
      if ((rc = floe_arrow_view_map_entries(v, &keys, &values, err)) < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      fputc('{', out);
      for (int64_t k = start; k < end && rc == FLOE_OK; k++) {
        if (k > start) fputc(',', out);
        floe_buf_reset(text);
        if (floe_arrow_view_format(&keys, k, text) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        put_json_string(text->data, text->len, out);
        fputc(':', out);
        rc = put_json_value(&values, k, text, out, err);
      }
      fputc('}', out);
      return rc;
    }
    default:
      floe_buf_reset(text);
      if (floe_arrow_view_format(v, i, text) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      if (json_literal(v->type.id, text))
        fwrite(text->data, 1, text->len, out);
      else
        put_json_string(text->data, text->len, out);
      return FLOE_OK;
  }
}

int cli_rows_print(cli_rows *rows, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, floe_error *err) {
  FILE *out = rows->out;
  for (int64_t c = 0; c < schema->n_children; c++) {
    int rc = floe_arrow_view_init(&rows->views[c], schema->children[c], batch->children[c], err);
    if (rc < 0) return rc;
  }
  for (int64_t row = 0; row < batch->length && !cli_rows_done(rows); row++, rows->printed++) {
    if (rows->jsonl) fputc('{', out);
    for (int64_t c = 0; c < schema->n_children; c++) {
      const floe_arrow_view *v = &rows->views[c];
      bool is_null = floe_arrow_view_is_null(v, row);
      floe_buf_reset(&rows->text);
      if (c) fputc(',', out);
      if (!rows->jsonl) {
        if (!is_null && floe_arrow_view_format(v, row, &rows->text) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        if (is_null)
          fputs("\\N", out);
        else
          put_csv(rows->text.data, rows->text.len, out);
        continue;
      }
      const char *name = schema->children[c]->name;
      put_json_string((const uint8_t *)name, strlen(name), out);
      fputc(':', out);
      int rc = put_json_value(v, row, &rows->text, out, err);
      if (rc < 0) return rc;
    }
    fputs(rows->jsonl ? "}\n" : "\n", out);
  }
  return FLOE_OK;
}

void cli_rows_free(cli_rows *rows) {
  if (rows == NULL) return;
  floe_buf_free(&rows->text);
  free(rows->views);
  rows->views = NULL;
}

const char **cli_split_names(const char *list, int32_t *out_n) {
  size_t len = strlen(list);
  /* Pointers (at most len/2 + 2 of them) and a copy of the text, in one block. */
  size_t max_names = len / 2 + 2;
  const char **names = malloc(max_names * sizeof *names + len + 1);
  if (names == NULL) return NULL;
  char *copy = (char *)(names + max_names);
  memcpy(copy, list, len + 1);
  int32_t n = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok != NULL;
       tok = strtok_r(NULL, ",", &save))
    names[n++] = tok;
  names[n] = NULL;
  *out_n = n;
  return names;
}
