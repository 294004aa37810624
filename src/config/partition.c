/*
 * config/partition: partition spec strings -> (transform, argument, column).
 *
 * Users write partitioning the way Spark SQL and PyIceberg spell it:
 * `day(order_ts)`, `bucket(16, customer_id)`, `truncate(4, sku)`, or a bare
 * column for identity. The transforms are those of the Iceberg table spec
 * ("Partition Transforms"); the Iceberg module computes them. This file only
 * reads and writes the text, with messages that show the expected form.
 * Identifiers may be double-quoted as in SQL ("Order Date", "" for a quote).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const transform_names[] = {"identity", "bucket", "truncate", "year",
                                              "month",    "day",    "hour",     "void"};
#define N_TRANSFORMS (sizeof transform_names / sizeof transform_names[0])

const char *floe_config_transform_name(floe_config_transform transform) {
  return (unsigned)transform < N_TRANSFORMS ? transform_names[transform] : "?";
}

void floe_config_partition_field_clear(floe_config_partition_field *field) {
  if (field == NULL) return;
  floe_free(field->column);
  memset(field, 0, sizeof *field);
}

static void skip_ws(const char **p) {
  while (**p == ' ' || **p == '\t') (*p)++;
}

static bool ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool ident_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

/* Reads an identifier at *p into a new string; NULL with *why set. */
static char *read_ident(const char **p, const char **why, bool *oom) {
  const char *s = *p;
  if (*s == '"') {
    floe_buf buf = FLOE_BUF_INIT;
    s++;
    for (;;) {
      if (*s == '\0') {
        floe_buf_free(&buf);
        *why = "unterminated quoted column name";
        return NULL;
      }
      if (*s == '"') {
        if (s[1] != '"') break;
        s++;
      }
      if (floe_buf_append_byte(&buf, (uint8_t)*s) != 0) goto oom;
      s++;
    }
    s++;
    if (buf.len == 0) {
      floe_buf_free(&buf);
      *why = "empty column name";
      return NULL;
    }
    if (floe_buf_terminate(&buf) != 0) goto oom;
    *p = s;
    return (char *)floe_buf_detach(&buf, NULL);
  oom:
    floe_buf_free(&buf);
    *oom = true;
    return NULL;
  }
  if (!ident_start(*s)) {
    *why = "expected a column name";
    return NULL;
  }
  while (ident_char(*s)) s++;
  char *name = floe_strndup(*p, (size_t)(s - *p));
  if (name == NULL) *oom = true;
  *p = s;
  return name;
}

int floe_config_partition_parse(floe_config_partition_field *out, const char *text,
                                floe_error *err) {
  memset(out, 0, sizeof *out);
  int rc = FLOE_OK;
  bool oom = false;
  const char *why = NULL;
  char *word = NULL;
  const char *p = text;
  skip_ws(&p);
  if (*p == '\0') return floe_error_set(err, FLOE_EINVAL, "empty partition field");
  word = read_ident(&p, &why, &oom);
  if (word == NULL) goto fail;
  skip_ws(&p);
  if (*p == '\0') { /* a bare column: identity */
    out->transform = FLOE_CONFIG_TRANSFORM_IDENTITY;
    out->column = word;
    return FLOE_OK;
  }
  if (*p != '(') {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "unexpected '%c' after '%s' (write a column, or transform(column))",
                        *p, word);
    goto cleanup;
  }
  if (text[strspn(text, " \t")] == '"') {
    rc = floe_error_set(err, FLOE_EINVAL, "a transform name cannot be quoted");
    goto cleanup;
  }
  size_t t = 0;
  while (t < N_TRANSFORMS && strcmp(transform_names[t], word) != 0) t++;
  if (t == N_TRANSFORMS) {
    const char *guess = cfg_suggest(word, transform_names, N_TRANSFORMS);
    char hint[64] = "";
    if (guess != NULL) snprintf(hint, sizeof hint, "; did you mean %s?", guess);
    rc = floe_error_set(err, FLOE_EINVAL,
                        "unknown transform '%s' (expected identity, bucket, truncate, year, "
                        "month, day, hour or void%s)",
                        word, hint);
    goto cleanup;
  }
  out->transform = (floe_config_transform)t;
  p++;
  skip_ws(&p);
  if (t == FLOE_CONFIG_TRANSFORM_BUCKET || t == FLOE_CONFIG_TRANSFORM_TRUNCATE) {
    const char *what = t == FLOE_CONFIG_TRANSFORM_BUCKET ? "count" : "width";
    const char *letter = t == FLOE_CONFIG_TRANSFORM_BUCKET ? "N" : "W";
    if (!isdigit((unsigned char)*p)) {
      rc = floe_error_set(err, FLOE_EINVAL, "%s needs a %s: %s(%s, column)", word, what,
                          word, letter);
      goto cleanup;
    }
    char *end = NULL;
    long long n = strtoll(p, &end, 10);
    if (n <= 0 || n > INT32_MAX) {
      rc = floe_error_set(err, FLOE_EINVAL, "%s %s must be between 1 and %d", word, what,
                          INT32_MAX);
      goto cleanup;
    }
    out->argument = (int32_t)n;
    p = end;
    skip_ws(&p);
    if (*p != ',') {
      rc = floe_error_set(err, FLOE_EINVAL, "%s needs a column after the %s: %s(%s, column)",
                          word, what, word, letter);
      goto cleanup;
    }
    p++;
    skip_ws(&p);
  }
  out->column = read_ident(&p, &why, &oom);
  if (out->column == NULL) goto fail;
  skip_ws(&p);
  if (*p == ',') {
    rc = floe_error_set(err, FLOE_EINVAL, "%s takes one column: %s", word,
                        t == FLOE_CONFIG_TRANSFORM_BUCKET     ? "bucket(N, column)"
                        : t == FLOE_CONFIG_TRANSFORM_TRUNCATE ? "truncate(W, column)"
                                                       : "transform(column)");
    goto cleanup;
  }
  if (*p != ')') {
    rc = floe_error_set(err, FLOE_EINVAL, "missing ')' after the column");
    goto cleanup;
  }
  p++;
  skip_ws(&p);
  if (*p != '\0') {
    rc = floe_error_set(err, FLOE_EINVAL, "unexpected text after ')': '%s'", p);
    goto cleanup;
  }
  goto cleanup;
fail:
  rc = oom ? floe_error_set(err, FLOE_ENOMEM, "out of memory")
           : floe_error_set(err, FLOE_EINVAL, "%s", why);
cleanup:
  floe_free(word);
  if (rc != FLOE_OK) floe_config_partition_field_clear(out);
  return rc;
}

/* Writes a column, quoting it unless it is a plain identifier. */
static int append_column(floe_buf *out, const char *column) {
  bool plain = ident_start(column[0]);
  for (const char *c = column; plain && *c; c++) plain = ident_char(*c);
  if (plain) return floe_buf_append_str(out, column);
  int rc = floe_buf_append_byte(out, '"');
  for (const char *c = column; rc == 0 && *c; c++) {
    if (*c == '"') rc = floe_buf_append_byte(out, '"');
    if (rc == 0) rc = floe_buf_append_byte(out, (uint8_t)*c);
  }
  if (rc == 0) rc = floe_buf_append_byte(out, '"');
  return rc;
}

int floe_config_partition_format(const floe_config_partition_field *field, floe_buf *out) {
  int rc = FLOE_OK;
  if (field->transform == FLOE_CONFIG_TRANSFORM_IDENTITY) return append_column(out, field->column);
  FLOE_TRY(floe_buf_appendf(out, "%s(", floe_config_transform_name(field->transform)));
  if (field->transform == FLOE_CONFIG_TRANSFORM_BUCKET || field->transform == FLOE_CONFIG_TRANSFORM_TRUNCATE)
    FLOE_TRY(floe_buf_appendf(out, "%d, ", (int)field->argument));
  FLOE_TRY(append_column(out, field->column));
  FLOE_TRY(floe_buf_append_byte(out, ')'));
cleanup:
  return rc;
}
