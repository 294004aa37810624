/*
 * source/source: the one interface every source driver sits behind.
 *
 * The public floe_source_* calls check what is the same for every driver
 * (one open stream at a time, transaction state, arguments) and dispatch to
 * the driver's table. Streams are filled here: the driver steps rows and
 * appends cells, this file owns the batch builder, cuts batches at
 * batch_rows, and turns a value that does not fit into an error naming
 * table, column, row key and value. Memory is bounded by one batch because
 * the builder is the only place rows accumulate and it is emptied into the
 * caller's array at every batch.
 *
 * The second half holds the value conversions shared by drivers that speak
 * text (postgres text format, Snowflake JSON partitions, SQLite TEXT
 * values): strict, exact parsers, so a value either lands unchanged or is
 * rejected with a reason. docs/types.md states the rules.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "floe/time.h"
#include "source/source_internal.h"

/* ---- opening ------------------------------------------------------------ */

floe_source_type floe_source_type_from_name(const char *name) {
  if (name == NULL) return FLOE_SOURCE_NONE;
  if (strcasecmp(name, "sqlite") == 0) return FLOE_SOURCE_SQLITE;
  if (strcasecmp(name, "postgres") == 0 || strcasecmp(name, "postgresql") == 0)
    return FLOE_SOURCE_POSTGRES;
  if (strcasecmp(name, "snowflake") == 0) return FLOE_SOURCE_SNOWFLAKE;
  return FLOE_SOURCE_NONE;
}

int floe_source_open(floe_source **out, const floe_source_config *config,
                     floe_error *err) {
  *out = NULL;
  if (config == NULL)
    return floe_error_set(err, FLOE_EINVAL, "source: no configuration");
  switch (config->type) {
    case FLOE_SOURCE_SQLITE:
      return floe_src_sqlite_open(out, config, err);
    case FLOE_SOURCE_POSTGRES:
      return floe_src_postgres_open(out, config, err);
    case FLOE_SOURCE_SNOWFLAKE:
      return floe_src_snowflake_open(out, config, err);
    default:
      return floe_error_set(err, FLOE_EINVAL,
                            "source: unknown type %d (want sqlite, postgres "
                            "or snowflake)",
                            (int)config->type);
  }
}

void floe_source_close(floe_source *src) {
  if (src == NULL) return;
  if (src->open_stream != NULL) floe_source_stream_free(src->open_stream);
  src->driver->close(src);
}

const char *floe_source_dialect(const floe_source *src) {
  return src != NULL ? src->driver->dialect : "none";
}

static int check_idle(floe_source *src, const char *what, floe_error *err) {
  if (src == NULL)
    return floe_error_set(err, FLOE_EINVAL, "%s: no source", what);
  if (src->open_stream != NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "source %s: %s while a query stream is open (free "
                          "the stream first)",
                          src->driver->dialect, what);
  return FLOE_OK;
}

/* ---- identifiers ---------------------------------------------------------- */

void floe_src_free_parts(char **parts, int n) {
  if (parts == NULL) return;
  for (int i = 0; i < n; i++) floe_free(parts[i]);
  floe_free(parts);
}

int floe_src_split_name(const char *qualified, char ***out_parts, int *out_n,
                        floe_error *err) {
  int rc = FLOE_OK, n = 0, cap = 0;
  char **parts = NULL;
  floe_buf part = FLOE_BUF_INIT;
  *out_parts = NULL;
  *out_n = 0;
  if (qualified == NULL || *qualified == '\0') {
    rc = floe_error_set(err, FLOE_EINVAL, "empty identifier");
    goto cleanup;
  }
  const char *p = qualified;
  for (;;) {
    floe_buf_reset(&part);
    if (*p == '"') {
      /* A quoted part: taken literally, "" stands for one quote. */
      p++;
      for (;;) {
        if (*p == '\0') {
          rc = floe_error_set(err, FLOE_EINVAL,
                              "identifier '%s': unbalanced double quote",
                              qualified);
          goto cleanup;
        }
        if (*p == '"') {
          if (p[1] != '"') break;
          p++;
        }
        FLOE_TRY(floe_buf_append_byte(&part, (uint8_t)*p));
        p++;
      }
      p++; /* closing quote */
      if (*p != '\0' && *p != '.') {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "identifier '%s': text after a closing quote",
                            qualified);
        goto cleanup;
      }
    } else {
      while (*p != '\0' && *p != '.') {
        FLOE_TRY(floe_buf_append_byte(&part, (uint8_t)*p));
        p++;
      }
    }
    if (part.len == 0) {
      rc = floe_error_set(err, FLOE_EINVAL, "identifier '%s': empty part",
                          qualified);
      goto cleanup;
    }
    if (n == cap) {
      int new_cap = cap ? cap * 2 : 4;
      char **grown = floe_realloc(parts, (size_t)new_cap * sizeof *parts);
      if (grown == NULL) {
        rc = FLOE_ENOMEM;
        goto cleanup;
      }
      parts = grown;
      cap = new_cap;
    }
    parts[n] = floe_strndup((const char *)part.data, part.len);
    if (parts[n] == NULL) {
      rc = FLOE_ENOMEM;
      goto cleanup;
    }
    n++;
    if (*p == '\0') break;
    p++; /* the dot */
  }
  *out_parts = parts;
  *out_n = n;
  parts = NULL;
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  floe_src_free_parts(parts, n);
  floe_buf_free(&part);
  return rc;
}

static int append_quoted(floe_buf *out, const char *name) {
  int rc = floe_buf_append_byte(out, '"');
  for (const char *c = name; rc == FLOE_OK && *c; c++) {
    if (*c == '"') rc = floe_buf_append_byte(out, '"');
    if (rc == FLOE_OK) rc = floe_buf_append_byte(out, (uint8_t)*c);
  }
  if (rc == FLOE_OK) rc = floe_buf_append_byte(out, '"');
  return rc;
}

int floe_source_quote_ident(const floe_source *src, const char *name,
                            char **out, floe_error *err) {
  (void)src; /* sqlite, postgres and snowflake all quote with "" */
  *out = NULL;
  if (name == NULL || *name == '\0')
    return floe_error_set(err, FLOE_EINVAL, "empty identifier");
  floe_buf buf = FLOE_BUF_INIT;
  if (append_quoted(&buf, name) < 0 || floe_buf_terminate(&buf) < 0) {
    floe_buf_free(&buf);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  *out = (char *)floe_buf_detach(&buf, NULL);
  return FLOE_OK;
}

int floe_source_quote_name(const floe_source *src, const char *qualified,
                           char **out, floe_error *err) {
  (void)src;
  int rc, n = 0;
  char **parts = NULL;
  floe_buf buf = FLOE_BUF_INIT;
  *out = NULL;
  FLOE_TRY(floe_src_split_name(qualified, &parts, &n, err));
  for (int i = 0; i < n; i++) {
    if (i > 0) FLOE_TRY(floe_buf_append_byte(&buf, '.'));
    FLOE_TRY(append_quoted(&buf, parts[i]));
  }
  FLOE_TRY(floe_buf_terminate(&buf));
  *out = (char *)floe_buf_detach(&buf, NULL);
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  floe_src_free_parts(parts, n);
  floe_buf_free(&buf);
  return rc;
}

/* ---- describe ------------------------------------------------------------- */

void floe_src_columns_free(floe_source_column *columns, int64_t n) {
  if (columns == NULL) return;
  for (int64_t i = 0; i < n; i++) {
    floe_free(columns[i].name);
    floe_free(columns[i].declared_type);
    floe_free(columns[i].nested_type);
  }
  floe_free(columns);
}

void floe_source_table_free(floe_source_table *table) {
  if (table == NULL) return;
  floe_src_columns_free(table->columns, table->n_columns);
  memset(table, 0, sizeof *table);
}

int floe_source_describe(floe_source *src, const char *table,
                         floe_source_table *out, floe_error *err) {
  int rc, n = 0;
  char **parts = NULL;
  memset(out, 0, sizeof *out);
  FLOE_TRY(check_idle(src, "describe", err));
  FLOE_TRY(floe_src_split_name(table, &parts, &n, err));
  if (n > 2) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "table name '%s': want table or schema.table", table);
    goto cleanup;
  }
  rc = src->driver->describe(src, parts, n, out, err);
  if (rc < 0) {
    floe_source_table_free(out);
    floe_error_prefix(err, "source %s: describe %s", src->driver->dialect,
                      table);
  }
cleanup:
  floe_src_free_parts(parts, n);
  return rc;
}

/* ---- streams -------------------------------------------------------------- */

static int copy_columns(floe_source_column **out,
                        const floe_source_column *columns, int64_t n) {
  floe_source_column *copy = floe_calloc((size_t)(n ? n : 1), sizeof *copy);
  if (copy == NULL) return FLOE_ENOMEM;
  for (int64_t i = 0; i < n; i++) {
    copy[i] = columns[i];
    copy[i].name = floe_strdup(columns[i].name ? columns[i].name : "");
    copy[i].nested_type = NULL; /* describe's; a stream has arrow_field */
    copy[i].declared_type =
        floe_strdup(columns[i].declared_type ? columns[i].declared_type : "");
    if (copy[i].name == NULL || copy[i].declared_type == NULL) {
      floe_src_columns_free(copy, i + 1);
      return FLOE_ENOMEM;
    }
  }
  *out = copy;
  return FLOE_OK;
}

static int build_schema(floe_source_stream *s, floe_error *err) {
  int rc;
  FLOE_TRY(floe_arrow_schema_init_struct(&s->schema, "", s->n_columns));
  for (int64_t i = 0; i < s->n_columns; i++) {
    floe_source_column *c = &s->columns[i];
    if (c->arrow_field != NULL) {
      FLOE_TRY(floe_arrow_schema_copy(s->schema.children[i], c->arrow_field));
      c->arrow_field = NULL; /* borrowed only for this call */
    } else if (c->type.id == FLOE_ARROW_LIST)
      FLOE_TRY(floe_arrow_schema_init_list(
          s->schema.children[i], c->name, c->nullable, c->field_id > 0 ? c->field_id : -1,
          &c->element, c->element_nullable, c->element_field_id > 0 ? c->element_field_id : -1));
    else
      FLOE_TRY(floe_arrow_schema_init(s->schema.children[i], c->name, &c->type,
                                      c->nullable,
                                      c->field_id > 0 ? c->field_id : -1));
  }
  FLOE_TRY(floe_arrow_batch_builder_init(&s->builder, &s->schema, err));
  s->builder_ready = true;
cleanup:
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return rc;
}

int floe_source_query(floe_source *src, const floe_source_query_spec *spec,
                      floe_source_stream **out, floe_error *err) {
  int rc;
  floe_source_stream *s = NULL;
  *out = NULL;
  FLOE_TRY(check_idle(src, "query", err));
  if (spec == NULL || spec->sql == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "source query: no SQL");
    goto cleanup;
  }
  if (spec->batch_rows < 0 || spec->n_columns < 0 ||
      (spec->n_columns > 0 && spec->columns == NULL)) {
    rc = floe_error_set(err, FLOE_EINVAL, "source query: bad query spec");
    goto cleanup;
  }
  rc = src->driver->query(src, spec, &s, err);
  if (rc < 0) {
    floe_error_prefix(err, "source %s: query", src->driver->dialect);
    goto cleanup;
  }
  s->src = src;
  s->batch_rows =
      spec->batch_rows > 0 ? spec->batch_rows : FLOE_SOURCE_DEFAULT_BATCH_ROWS;
  if (spec->table != NULL && (s->table = floe_strdup(spec->table)) == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  if (spec->columns != NULL) {
    if (spec->n_columns != s->n_result_columns) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "source %s: query returns %" PRId64
                          " columns, expected %" PRId64,
                          src->driver->dialect, s->n_result_columns,
                          spec->n_columns);
      goto cleanup;
    }
    if (copy_columns(&s->columns, spec->columns, spec->n_columns) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    s->n_columns = spec->n_columns;
  }
  FLOE_TRY(build_schema(s, err));
  src->open_stream = s;
  *out = s;
  s = NULL;
cleanup:
  if (s != NULL) floe_source_stream_free(s);
  return rc;
}

const struct ArrowSchema *floe_source_stream_schema(
    const floe_source_stream *stream) {
  return &stream->schema;
}

int64_t floe_source_stream_rows(const floe_source_stream *stream) {
  return stream->rows;
}

static bool type_is_numeric(floe_arrow_type id) {
  return id == FLOE_ARROW_BOOL || id == FLOE_ARROW_INT32 ||
         id == FLOE_ARROW_INT64 || id == FLOE_ARROW_FLOAT ||
         id == FLOE_ARROW_DOUBLE || id == FLOE_ARROW_DECIMAL128;
}

/* Prefixes err with where a value failed: "table 'items' column 'price' row
 * (id=3): " (the key columns in pk order), or "row 17" without a key. */
static void add_row_context(floe_source_stream *s, int64_t col,
                            floe_error *err) {
  floe_buf key = FLOE_BUF_INIT, cell = FLOE_BUF_INIT;
  int32_t max_pk = 0;
  for (int64_t i = 0; i < s->n_columns; i++)
    if (s->columns[i].pk_ordinal > max_pk) max_pk = s->columns[i].pk_ordinal;
  bool ok = true;
  for (int32_t ord = 1; ok && ord <= max_pk; ord++) {
    for (int64_t i = 0; ok && i < s->n_columns; i++) {
      if (s->columns[i].pk_ordinal != ord) continue;
      floe_buf_reset(&cell);
      if (key.len > 0 && floe_buf_append_str(&key, ", ") < 0) ok = false;
      if (ok && floe_buf_appendf(&key, "%s=", s->columns[i].name) < 0) ok = false;
      if (!ok) break;
      if (s->ops->is_null(s, i)) {
        ok = floe_buf_append_str(&key, "NULL") == FLOE_OK;
      } else if (s->ops->cell_text(s, i, &cell) < 0) {
        ok = false;
      } else {
        bool quote = !type_is_numeric(s->columns[i].type.id);
        size_t len = cell.len > 64 ? 64 : cell.len;
        ok = floe_buf_appendf(&key, "%s%.*s%s%s", quote ? "'" : "", (int)len,
                              (const char *)cell.data, cell.len > 64 ? "..." : "",
                              quote ? "'" : "") == FLOE_OK;
      }
    }
  }
  if (ok && key.len > 0 && floe_buf_terminate(&key) == FLOE_OK) {
    if (s->table != NULL)
      floe_error_prefix(err, "table '%s' column '%s' row (%s)", s->table,
                        s->columns[col].name, (const char *)key.data);
    else
      floe_error_prefix(err, "column '%s' row (%s)", s->columns[col].name,
                        (const char *)key.data);
  } else if (s->table != NULL) {
    floe_error_prefix(err, "table '%s' column '%s' row %" PRId64, s->table,
                      s->columns[col].name, s->rows);
  } else {
    floe_error_prefix(err, "column '%s' row %" PRId64, s->columns[col].name,
                      s->rows);
  }
  floe_buf_free(&key);
  floe_buf_free(&cell);
}

/* A NULL read from column col declared NOT NULL: the error with the row's
 * context. Returns FLOE_ERANGE. */
static int not_null_error(floe_source_stream *s, int64_t col, floe_error *err) {
  floe_error_set(err, FLOE_ERANGE, "NULL in a column declared NOT NULL");
  add_row_context(s, col, err);
  return FLOE_ERANGE;
}

/* Completes the error a driver returned for column col of the current row:
 * a value out of range gains the row's context, out of memory its message.
 * Returns rc. */
static int cell_error(floe_source_stream *s, int64_t col, int rc, floe_error *err) {
  if (rc == FLOE_ERANGE) add_row_context(s, col, err);
  if (rc == FLOE_ENOMEM) floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return rc;
}

int floe_source_stream_next(floe_source_stream *stream, struct ArrowArray *out,
                            floe_error *err) {
  int rc = FLOE_OK;
  floe_source_stream *s = stream;
  memset(out, 0, sizeof *out);
  if (s->failed)
    return floe_error_set(err, FLOE_EINVAL,
                          "source stream: next after an error");
  if (s->done) return 0;
  /* Room for as many rows as the last batch had (1,024 for the first, at
   * most batch_rows and 16,384; bigger batches grow as they go) and its
   * string bytes, so appends do not grow buffers value by value. */
  int64_t reserve = s->last_batch_rows > 0 ? s->last_batch_rows : 1024;
  if (reserve > 16384) reserve = 16384;
  if (reserve > s->batch_rows) reserve = s->batch_rows;
  if (s->data_hint == NULL && s->n_columns > 0) {
    s->data_hint = floe_calloc((size_t)s->n_columns, sizeof *s->data_hint);
    if (s->data_hint == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  for (int64_t col = 0; col < s->n_columns; col++) {
    floe_arrow_builder *b = &s->builder.columns[col];
    if (floe_arrow_type_is_nested(b->type.id)) continue;
    if (floe_arrow_builder_reserve(b, reserve - b->length, s->data_hint[col]) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  /* The driver's whole-row read covers plain columns; a column with a
   * declared JSON shape takes the per-value path below. */
  const floe_source_stream_ops *ops = s->ops;
  bool whole_rows = ops->read_row != NULL;
  for (int64_t col = 0; col < s->n_columns; col++)
    if (s->columns[col].json) whole_rows = false;
  int64_t n = 0;
  while (n < s->batch_rows) {
    if (s->row_pending) {
      s->row_pending = false;
    } else {
      rc = s->ops->step(s, err);
      if (rc < 0) goto cleanup;
      if (rc == 0) {
        s->done = true;
        break;
      }
    }
    s->rows++;
    if (whole_rows) {
      int64_t col = 0;
      rc = ops->read_row(s, &col, err);
      if (rc == 1) {
        rc = not_null_error(s, col, err);
        goto cleanup;
      }
      if (rc < 0) {
        rc = cell_error(s, col, rc, err);
        goto cleanup;
      }
      n++;
      continue;
    }
    for (int64_t col = 0; col < s->n_columns; col++) {
      floe_arrow_builder *b = &s->builder.columns[col];
      if (ops->is_null(s, col)) {
        if (!s->columns[col].nullable) {
          rc = not_null_error(s, col, err);
          goto cleanup;
        }
        rc = floe_arrow_builder_append_null(b);
      } else if (s->columns[col].json) {
        floe_buf_reset(&s->json_text);
        rc = s->ops->cell_text(s, col, &s->json_text);
        if (rc == FLOE_OK)
          rc = floe_src_append_json(b, s->schema.children[col], s->columns[col].name,
                                    (const char *)s->json_text.data, s->json_text.len,
                                    s->columns[col].json == FLOE_SOURCE_JSON_STRICT,
                                    &s->scratch, err);
      } else {
        rc = ops->append(s, col, b, err);
      }
      if (rc < 0) {
        rc = cell_error(s, col, rc, err);
        goto cleanup;
      }
    }
    n++;
  }
  rc = 0;
  if (n > 0) {
    for (int64_t col = 0; col < s->n_columns; col++)
      s->data_hint[col] = s->builder.columns[col].data_len;
    s->last_batch_rows = n;
    rc = floe_arrow_batch_builder_finish(&s->builder, out, err);
    if (rc == FLOE_OK) rc = 1;
  }
cleanup:
  if (rc < 0) {
    s->failed = true;
    if (s->src != NULL)
      floe_error_prefix(err, "source %s", s->src->driver->dialect);
  }
  return rc;
}

void floe_source_stream_free(floe_source_stream *stream) {
  if (stream == NULL) return;
  if (stream->src != NULL && stream->src->open_stream == stream)
    stream->src->open_stream = NULL;
  floe_arrow_schema_release(&stream->schema);
  if (stream->builder_ready) floe_arrow_batch_builder_free(&stream->builder);
  floe_src_columns_free(stream->columns, stream->n_columns);
  floe_free(stream->table);
  floe_buf_free(&stream->scratch);
  floe_buf_free(&stream->json_text);
  floe_free(stream->data_hint);
  stream->ops->close(stream);
}

/* ---- statements and transactions ------------------------------------------ */

int floe_source_exec(floe_source *src, const char *sql,
                     const floe_source_param *params, size_t n_params,
                     int64_t *out_rows, floe_error *err) {
  int64_t rows = 0;
  int rc = check_idle(src, "exec", err);
  if (rc < 0) return rc;
  if (sql == NULL) return floe_error_set(err, FLOE_EINVAL, "exec: no SQL");
  rc = src->driver->exec(src, sql, params, n_params, &rows, err);
  if (rc < 0) {
    floe_error_prefix(err, "source %s: exec", src->driver->dialect);
    return rc;
  }
  if (out_rows != NULL) *out_rows = rows;
  return FLOE_OK;
}

int floe_source_begin(floe_source *src, floe_error *err) {
  int rc = check_idle(src, "begin", err);
  if (rc < 0) return rc;
  if (src->in_transaction)
    return floe_error_set(err, FLOE_EINVAL,
                          "source %s: begin: a transaction is already open",
                          src->driver->dialect);
  rc = src->driver->begin(src, err);
  if (rc < 0) {
    floe_error_prefix(err, "source %s: begin", src->driver->dialect);
    return rc;
  }
  src->in_transaction = true;
  return FLOE_OK;
}

static int end_transaction(floe_source *src, bool commit, floe_error *err) {
  const char *what = commit ? "commit" : "rollback";
  int rc = check_idle(src, what, err);
  if (rc < 0) return rc;
  if (!src->in_transaction)
    return floe_error_set(err, FLOE_EINVAL,
                          "source %s: %s: no transaction is open",
                          src->driver->dialect, what);
  rc = commit ? src->driver->commit(src, err) : src->driver->rollback(src, err);
  /* A failed COMMIT ends the transaction too (both drivers roll back). */
  src->in_transaction = false;
  if (rc < 0) floe_error_prefix(err, "source %s: %s", src->driver->dialect, what);
  return rc;
}

int floe_source_commit(floe_source *src, floe_error *err) {
  return end_transaction(src, true, err);
}

int floe_source_rollback(floe_source *src, floe_error *err) {
  return end_transaction(src, false, err);
}

bool floe_source_in_transaction(const floe_source *src) {
  return src != NULL && src->in_transaction;
}

/* ---- scalars --------------------------------------------------------------- */

/* Runs sql expecting one column of `type`; *out_batch gets the first batch
 * (released when there is no row). */
static int query_scalar(floe_source *src, const char *sql,
                        const floe_source_param *params, size_t n_params,
                        floe_arrow_type id, struct ArrowArray *out_batch,
                        floe_arrow_view *out_view, bool *out_is_null,
                        floe_error *err) {
  int rc;
  floe_source_stream *stream = NULL;
  floe_source_column column = {.name = (char *)"value", .declared_type = (char *)"",
                               .nullable = true, .type = floe_arrow_type_of(id)};
  floe_source_query_spec spec = {sql, params, n_params, &column, 1, 1, NULL};
  memset(out_batch, 0, sizeof *out_batch);
  *out_is_null = true;
  FLOE_TRY(floe_source_query(src, &spec, &stream, err));
  FLOE_TRY(floe_source_stream_next(stream, out_batch, err));
  if (rc == 1) {
    FLOE_TRY(floe_arrow_view_init(out_view, stream->schema.children[0],
                                  out_batch->children[0], err));
    *out_is_null = floe_arrow_view_is_null(out_view, 0);
  }
  rc = FLOE_OK;
cleanup:
  floe_source_stream_free(stream);
  if (rc < 0) floe_arrow_array_release(out_batch);
  return rc;
}

int floe_source_query_int64(floe_source *src, const char *sql,
                            const floe_source_param *params, size_t n_params,
                            int64_t *out, bool *out_is_null, floe_error *err) {
  struct ArrowArray batch;
  floe_arrow_view view;
  bool is_null;
  *out = 0;
  if (out_is_null != NULL) *out_is_null = true;
  int rc = query_scalar(src, sql, params, n_params, FLOE_ARROW_INT64, &batch,
                        &view, &is_null, err);
  if (rc < 0) return rc;
  if (!is_null) *out = floe_arrow_view_int64(&view, 0);
  if (out_is_null != NULL) *out_is_null = is_null;
  floe_arrow_array_release(&batch);
  return FLOE_OK;
}

int floe_source_query_int64s(floe_source *src, const char *sql,
                             const floe_source_param *params, size_t n_params,
                             int64_t *out, bool *out_is_null, size_t n_values,
                             floe_error *err) {
  floe_source_stream *stream = NULL;
  struct ArrowArray batch;
  floe_source_column columns[8];
  int rc = FLOE_OK;
  memset(&batch, 0, sizeof batch);
  for (size_t i = 0; i < n_values; i++) {
    out[i] = 0;
    out_is_null[i] = true;
  }
  if (n_values == 0 || n_values > sizeof columns / sizeof columns[0])
    return floe_error_set(err, FLOE_EINVAL, "query: %zu values asked for (1 to 8)", n_values);
  for (size_t i = 0; i < n_values; i++)
    columns[i] = (floe_source_column){.name = (char *)"value", .declared_type = (char *)"",
                                      .nullable = true,
                                      .type = floe_arrow_type_of(FLOE_ARROW_INT64)};
  floe_source_query_spec spec = {sql, params, n_params, columns, (int64_t)n_values, 1, NULL};
  FLOE_TRY(floe_source_query(src, &spec, &stream, err));
  FLOE_TRY(floe_source_stream_next(stream, &batch, err));
  if (rc == 1) {
    for (size_t i = 0; i < n_values; i++) {
      floe_arrow_view view;
      FLOE_TRY(floe_arrow_view_init(&view, stream->schema.children[i], batch.children[i], err));
      out_is_null[i] = floe_arrow_view_is_null(&view, 0);
      if (!out_is_null[i]) out[i] = floe_arrow_view_int64(&view, 0);
    }
  }
  rc = FLOE_OK;
cleanup:
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  return rc;
}

int floe_source_query_text(floe_source *src, const char *sql,
                           const floe_source_param *params, size_t n_params,
                           char **out, floe_error *err) {
  struct ArrowArray batch;
  floe_arrow_view view;
  bool is_null;
  *out = NULL;
  int rc = query_scalar(src, sql, params, n_params, FLOE_ARROW_UTF8, &batch,
                        &view, &is_null, err);
  if (rc < 0) return rc;
  if (!is_null) {
    size_t len;
    const uint8_t *bytes = floe_arrow_view_bytes(&view, 0, &len);
    *out = floe_strndup((const char *)bytes, len);
    if (*out == NULL) rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  floe_arrow_array_release(&batch);
  return rc;
}

/* ---- value conversions ------------------------------------------------------ */

int floe_src_value_error(floe_error *err, const floe_arrow_type_info *type,
                         const char *value, size_t value_len,
                         const char *why) {
  char type_name[64];
  floe_arrow_type_name(type, type_name, sizeof type_name);
  int shown = value_len > 80 ? 80 : (int)value_len;
  return floe_error_set(err, FLOE_ERANGE, "value '%.*s%s' does not fit %s: %s",
                        shown, value, value_len > 80 ? "..." : "", type_name,
                        why);
}

int floe_src_parse_int64(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (len > 0 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == len) return -1;
  uint64_t v = 0;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

int floe_src_parse_decimal(const char *s, size_t len, int32_t precision,
                           int32_t scale, floe_int128 *out, char *why,
                           size_t why_size) {
  size_t i = 0;
  bool neg = false;
  if (len > 0 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  /* Mantissa: digits [. digits]; remember where each digit sits. */
  size_t mant_start = i;
  int64_t int_digits = 0, n_digits = 0;
  bool seen_point = false;
  for (; i < len; i++) {
    if (s[i] >= '0' && s[i] <= '9') {
      n_digits++;
      if (!seen_point) int_digits++;
    } else if (s[i] == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  size_t mant_end = i;
  int64_t exponent = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (i == len) goto malformed;
    for (; i < len; i++) {
      if (s[i] < '0' || s[i] > '9') goto malformed;
      if (exponent < 100000) exponent = exponent * 10 + (s[i] - '0');
    }
    if (eneg) exponent = -exponent;
  }
  if (i != len || n_digits == 0) goto malformed;
  /* Digit k (0-based) of the mantissa weighs 10^(int_digits - 1 - k) in the
   * value, so 10^(int_digits - 1 - k + exponent + scale) in the unscaled
   * integer. A nonzero digit must land in [0, precision). */
  floe_int128 unscaled = 0;
  int64_t lowest = INT64_MAX, highest = INT64_MIN;
  int64_t k = 0;
  for (size_t j = mant_start; j < mant_end; j++) {
    if (s[j] == '.') continue;
    int d = s[j] - '0';
    int64_t power = int_digits - 1 - k + exponent + scale;
    k++;
    if (d == 0) continue;
    if (power < lowest) lowest = power;
    if (power > highest) highest = power;
    if (power >= 0 && power < precision)
      unscaled += (floe_int128)d * floe_int128_pow10((int)power);
  }
  if (lowest < 0) {
    snprintf(why, why_size, "%" PRId64 " fractional digits, scale is %d",
             (int64_t)scale - lowest, scale);
    return FLOE_ERANGE;
  }
  if (highest != INT64_MIN && highest >= precision) {
    snprintf(why, why_size, "%" PRId64 " integer digits, at most %d",
             highest - scale + 1, precision - scale);
    return FLOE_ERANGE;
  }
  *out = neg ? -unscaled : unscaled;
  return FLOE_OK;
malformed:
  snprintf(why, why_size, "not a decimal number");
  return FLOE_ERANGE;
}

int floe_src_format_double(double v, char *out, size_t out_size) {
  if (isnan(v)) return snprintf(out, out_size, "NaN");
  if (isinf(v)) return snprintf(out, out_size, v < 0 ? "-Infinity" : "Infinity");
  int n = 0;
  for (int digits = 15; digits <= 17; digits++) {
    n = snprintf(out, out_size, "%.*g", digits, v);
    if (strtod(out, NULL) == v) break;
  }
  return n;
}

bool floe_src_utf8_valid(const uint8_t *b, size_t len) {
  size_t i = 0;
  /* ASCII runs eight bytes at a time: most text is all ASCII. */
  while (i + 8 <= len) {
    uint64_t word;
    memcpy(&word, b + i, sizeof word);
    if (word & UINT64_C(0x8080808080808080)) break;
    i += 8;
  }
  while (i < len) {
    uint8_t c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= len) return false; /* truncated sequence */
    for (size_t j = 1; j <= n; j++) {
      if ((b[i + j] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (b[i + j] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return false;
    i += n + 1;
  }
  return true;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_uuid(const char *s, size_t len, uint8_t out[16]) {
  if (len != 36 && len != 32) return -1;
  size_t j = 0;
  for (size_t i = 0; i < len;) {
    if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (s[i] != '-') return -1;
      i++;
      continue;
    }
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[j++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return j == 16 ? 0 : -1;
}

static int parse_bool(const char *s, size_t len, bool *out) {
  static const char *const yes[] = {"true", "t", "1"};
  static const char *const no[] = {"false", "f", "0"};
  for (size_t i = 0; i < 3; i++) {
    if (len == strlen(yes[i]) && strncasecmp(s, yes[i], len) == 0) {
      *out = true;
      return 0;
    }
    if (len == strlen(no[i]) && strncasecmp(s, no[i], len) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

/* Reads a float: C syntax plus NaN/Infinity; no surrounding spaces; an
 * overflow to infinity from a finite literal is an error. */
static int parse_double(const char *s, size_t len, double *out) {
  char text[128];
  if (len == 0 || len >= sizeof text || isspace((unsigned char)s[0])) return -1;
  memcpy(text, s, len);
  text[len] = '\0';
  if (strcmp(text, "NaN") == 0) {
    *out = NAN;
    return 0;
  }
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end != text + len) return -1;
  /* Only spelled-out infinities may give infinity. */
  if (isinf(v) && strpbrk(text, "iI") == NULL) return -1;
  if (isnan(v)) return -1; /* "nan(...)" forms other than NaN */
  *out = v;
  return 0;
}

static int append_timestamp(floe_arrow_builder *b, int64_t micros) {
  if (b->type.id == FLOE_ARROW_TIMESTAMP_NS ||
      b->type.id == FLOE_ARROW_TIMESTAMP_NS_TZ) {
    if (micros > INT64_MAX / 1000 || micros < INT64_MIN / 1000)
      return FLOE_ERANGE;
    micros *= 1000;
  }
  return floe_arrow_builder_append_int64(b, micros);
}

int floe_src_append_text(floe_arrow_builder *b, const char *s, size_t len,
                         floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  char why[96];
  switch (t->id) {
    case FLOE_ARROW_BOOL: {
      bool v;
      if (parse_bool(s, len, &v) < 0)
        return floe_src_value_error(err, t, s, len,
                                    "not a boolean (true/false/t/f/1/0)");
      return floe_arrow_builder_append_bool(b, v);
    }
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_INT64: {
      int64_t v;
      if (floe_src_parse_int64(s, len, &v) < 0)
        return floe_src_value_error(err, t, s, len, "not an integer in range");
      return floe_src_append_int64(b, v, err);
    }
    case FLOE_ARROW_FLOAT:
    case FLOE_ARROW_DOUBLE: {
      double v;
      if (parse_double(s, len, &v) < 0)
        return floe_src_value_error(err, t, s, len,
                                    "not a floating-point number in range");
      if (t->id == FLOE_ARROW_FLOAT) {
        float f = (float)v;
        if (isinf(f) && !isinf(v))
          return floe_src_value_error(err, t, s, len, "out of float range");
        return floe_arrow_builder_append_float(b, f);
      }
      return floe_arrow_builder_append_double(b, v);
    }
    case FLOE_ARROW_DECIMAL128: {
      floe_int128 v;
      if (floe_src_parse_decimal(s, len, t->precision, t->scale, &v, why,
                                 sizeof why) < 0)
        return floe_src_value_error(err, t, s, len, why);
      return floe_arrow_builder_append_decimal(b, v);
    }
    case FLOE_ARROW_DATE32: {
      int32_t days;
      if (floe_parse_date(s, len, &days, NULL) < 0)
        return floe_src_value_error(err, t, s, len, "not a valid YYYY-MM-DD date");
      return floe_arrow_builder_append_int32(b, days);
    }
    case FLOE_ARROW_TIME64_US: {
      int64_t micros;
      if (floe_parse_time(s, len, &micros, NULL) < 0)
        return floe_src_value_error(err, t, s, len,
                                    "not a valid HH:MM[:SS[.ffffff]] time");
      return floe_arrow_builder_append_int64(b, micros);
    }
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ: {
      /* With an offset the instant is converted to UTC; without one the
       * text is the wall clock (timestamp) or UTC (timestamptz). */
      int64_t micros;
      if (floe_parse_timestamp(s, len, &micros, NULL, NULL) < 0)
        return floe_src_value_error(
            err, t, s, len,
            "not a valid ISO-8601 timestamp (YYYY-MM-DD[ HH:MM[:SS[.f]]][Z|+HH:MM])");
      if (append_timestamp(b, micros) == FLOE_ERANGE)
        return floe_src_value_error(err, t, s, len, "out of range");
      return FLOE_OK;
    }
    case FLOE_ARROW_UTF8:
      if (!floe_src_utf8_valid((const uint8_t *)s, len))
        return floe_src_value_error(err, t, s, len, "not valid UTF-8");
      return floe_arrow_builder_append_bytes(b, s, len);
    case FLOE_ARROW_BINARY:
      return floe_arrow_builder_append_bytes(b, s, len);
    case FLOE_ARROW_UUID: {
      uint8_t bytes[16];
      if (parse_uuid(s, len, bytes) < 0)
        return floe_src_value_error(err, t, s, len,
                                    "not a uuid (8-4-4-4-12 hex digits)");
      return floe_arrow_builder_append_bytes(b, bytes, 16);
    }
    case FLOE_ARROW_FIXED:
      if (len != (size_t)t->byte_width)
        return floe_src_value_error(err, t, s, len, "wrong length");
      return floe_arrow_builder_append_bytes(b, s, len);
    default:
      return floe_src_value_error(err, t, s, len, "type not supported by sources");
  }
}

int floe_src_append_int64(floe_arrow_builder *b, int64_t v, floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  /* The common cases first: the value's text is only needed for errors. */
  if (t->id == FLOE_ARROW_INT64) return floe_arrow_builder_append_int64(b, v);
  if (t->id == FLOE_ARROW_INT32 && v >= INT32_MIN && v <= INT32_MAX)
    return floe_arrow_builder_append_int32(b, (int32_t)v);
  if (t->id == FLOE_ARROW_DECIMAL128 && t->scale >= 0 && t->precision - t->scale <= 18 &&
      t->precision - t->scale >= 0) {
    int64_t limit = 1;
    for (int32_t i = 0; i < t->precision - t->scale; i++) limit *= 10;
    if (v > -limit && v < limit) {
      floe_int128 unscaled = v;
      for (int32_t i = 0; i < t->scale; i++) unscaled *= 10;
      return floe_arrow_builder_append_decimal(b, unscaled);
    }
  }
  if (t->id == FLOE_ARROW_BOOL && (v == 0 || v == 1))
    return floe_arrow_builder_append_bool(b, v == 1);
  if (t->id == FLOE_ARROW_DOUBLE && v > -9007199254740992 && v < 9007199254740992)
    return floe_arrow_builder_append_double(b, (double)v); /* |v| < 2^53: exact */
  /* The rest needs the value's text (for the message or the conversion). */
  char text[32];
  int len = snprintf(text, sizeof text, "%" PRId64, v);
  switch (t->id) {
    case FLOE_ARROW_BOOL:
      return floe_src_value_error(err, t, text, (size_t)len, "not a boolean (0 or 1)");
    case FLOE_ARROW_INT32:
      if (v < INT32_MIN || v > INT32_MAX)
        return floe_src_value_error(err, t, text, (size_t)len,
                                    "out of int range");
      return floe_arrow_builder_append_int32(b, (int32_t)v);
    case FLOE_ARROW_INT64:
      return floe_arrow_builder_append_int64(b, v);
    case FLOE_ARROW_FLOAT: {
      float f = (float)v;
      if (f >= 9223372036854775808.0f || (int64_t)f != v)
        return floe_src_value_error(err, t, text, (size_t)len,
                                    "not exactly representable as float");
      return floe_arrow_builder_append_float(b, f);
    }
    case FLOE_ARROW_DOUBLE: {
      double d = (double)v;
      /* 2^63 itself converts back out of range; compare in double first. */
      if (d >= 9223372036854775808.0 || (int64_t)d != v)
        return floe_src_value_error(err, t, text, (size_t)len,
                                    "not exactly representable as double");
      return floe_arrow_builder_append_double(b, d);
    }
    case FLOE_ARROW_DECIMAL128:
    case FLOE_ARROW_UTF8:
      return floe_src_append_text(b, text, (size_t)len, err);
    default:
      return floe_src_value_error(err, t, text, (size_t)len,
                                  "an integer cannot be read as this type");
  }
}

/* 10^0 .. 10^18, exact in double up to 10^22. */
static const double pow10_table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                     1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                     1e14, 1e15, 1e16, 1e17, 1e18};

int floe_src_append_double(floe_arrow_builder *b, double v, floe_error *err) {
  const floe_arrow_type_info *t = &b->type;
  char text[40];
  int len;
  switch (t->id) {
    case FLOE_ARROW_DOUBLE:
      return floe_arrow_builder_append_double(b, v);
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_INT64:
      /* Integral reals are accepted (3.0 -> 3); the range test is done in
       * double, where both bounds are exact. */
      if (!(v == floor(v) && v >= -9223372036854775808.0 &&
            v < 9223372036854775808.0))
        break;
      return floe_src_append_int64(b, (int64_t)v, err);
    case FLOE_ARROW_FLOAT: {
      float f = (float)v;
      if (isinf(f) && !isinf(v)) break;
      return floe_arrow_builder_append_float(b, f);
    }
    case FLOE_ARROW_DECIMAL128:
      /* Fast path: v is exactly the double nearest a decimal with `scale`
       * fraction digits (an unscaled value under 2^52, where no two such
       * decimals share a double), which is what its shortest text would
       * say; anything else takes the exact text path below. */
      if (t->scale >= 0 && t->scale <= 18 && isfinite(v)) {
        double scaled = nearbyint(v * pow10_table[t->scale]);
        if (fabs(scaled) < 4503599627370496.0 && scaled / pow10_table[t->scale] == v &&
            (t->precision > 18 || fabs(scaled) < pow10_table[t->precision]))
          return floe_arrow_builder_append_decimal(b, (floe_int128)(int64_t)scaled);
      }
      len = floe_src_format_double(v, text, sizeof text);
      return floe_src_append_text(b, text, (size_t)len, err);
    case FLOE_ARROW_UTF8:
      len = floe_src_format_double(v, text, sizeof text);
      return floe_src_append_text(b, text, (size_t)len, err);
    default:
      break;
  }
  len = floe_src_format_double(v, text, sizeof text);
  const char *why = t->id == FLOE_ARROW_INT32 || t->id == FLOE_ARROW_INT64
                        ? "not an integer in range"
                    : t->id == FLOE_ARROW_FLOAT ? "out of float range"
                                                : "a floating-point value cannot be read as "
                                                  "this type";
  return floe_src_value_error(err, t, text, (size_t)len, why);
}
