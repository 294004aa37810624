/*
 * source/sqlite: the SQLite driver, floe's embedded default source.
 *
 * SQLite stores a value in whatever storage class it likes (type affinity,
 * https://sqlite.org/datatype3.html), so column types come from the declared
 * type text, matched by name (case-insensitive, with parameters such as
 * DECIMAL(10,2)); only names floe does not know fall back on the affinity
 * rules of datatype3 section 3.1. Each value is then read with the
 * sqlite3_column_* call for its actual storage class and converted to the
 * column's type exactly, or rejected (source.c says where). Queries step a
 * prepared statement row by row, so memory holds one batch. The database is
 * opened read-write (the control table lives there) with a busy timeout, and
 * the journal mode is left as the owner set it (WAL works unchanged).
 */
#include <ctype.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "source/source_internal.h"

typedef struct sqlite_source {
  floe_source base;
  sqlite3 *db;
} sqlite_source;

typedef struct sqlite_stream {
  floe_source_stream base;
  sqlite_source *src;
  sqlite3_stmt *stmt;
  bool finished; /* SQLITE_DONE seen: never step again (it would rerun) */
  /* The storage class stream_is_null read for column typed_col of the
   * current row, so stream_append does not ask SQLite again (each
   * sqlite3_column_type call takes the connection's mutex). */
  int typed_col, typed_class;
} sqlite_stream;

static int sqlite_error(floe_error *err, sqlite3 *db, int code,
                        const char *what) {
  const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return floe_error_set(err, FLOE_ESOURCE, "%s: %s (sqlite code %d)", what, msg,
                        code);
}

/* ---- type mapping ---------------------------------------------------------- */

/* Upper-cases `decl` into `base` (words single-spaced, parameters removed)
 * and reads up to two integer parameters "(p[,s])". Returns the number of
 * parameters, or -1 when they are not integers. */
static int split_declared_type(const char *decl, char *base, size_t base_size,
                               long *p1, long *p2) {
  size_t n = 0;
  const char *c = decl;
  bool space = false;
  while (*c && *c != '(') {
    if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
      space = n > 0;
    } else {
      if (space && n + 1 < base_size) base[n++] = ' ';
      space = false;
      if (n + 1 < base_size) base[n++] = (char)toupper((unsigned char)*c);
    }
    c++;
  }
  base[n] = '\0';
  if (*c != '(') return 0;
  int count = 0;
  long values[2] = {0, 0};
  c++;
  for (;;) {
    while (*c == ' ') c++;
    char *end;
    long v = strtol(c, &end, 10);
    if (end == c || count == 2) return -1;
    values[count++] = v;
    c = end;
    while (*c == ' ') c++;
    if (*c == ',') {
      c++;
      continue;
    }
    if (*c == ')') break;
    return -1;
  }
  *p1 = values[0];
  *p2 = values[1];
  return count;
}

/* Maps a declared type; docs/types.md is the table. */
static floe_arrow_type_info sqlite_map_type(const char *decl) {
  static const struct {
    const char *name;
    floe_arrow_type id;
  } names[] = {
      {"INTEGER", FLOE_ARROW_INT64},
      {"INT", FLOE_ARROW_INT64},
      {"BIGINT", FLOE_ARROW_INT64},
      {"SMALLINT", FLOE_ARROW_INT64},
      {"TINYINT", FLOE_ARROW_INT64},
      {"MEDIUMINT", FLOE_ARROW_INT64},
      {"INT2", FLOE_ARROW_INT64},
      {"INT4", FLOE_ARROW_INT64},
      {"INT8", FLOE_ARROW_INT64},
      {"UNSIGNED BIG INT", FLOE_ARROW_INT64},
      {"REAL", FLOE_ARROW_DOUBLE},
      {"DOUBLE", FLOE_ARROW_DOUBLE},
      {"DOUBLE PRECISION", FLOE_ARROW_DOUBLE},
      {"FLOAT", FLOE_ARROW_DOUBLE},
      {"FLOAT8", FLOE_ARROW_DOUBLE},
      {"TEXT", FLOE_ARROW_UTF8},
      {"VARCHAR", FLOE_ARROW_UTF8},
      {"CHAR", FLOE_ARROW_UTF8},
      {"CHARACTER", FLOE_ARROW_UTF8},
      {"CHARACTER VARYING", FLOE_ARROW_UTF8},
      {"VARYING CHARACTER", FLOE_ARROW_UTF8},
      {"NCHAR", FLOE_ARROW_UTF8},
      {"NATIVE CHARACTER", FLOE_ARROW_UTF8},
      {"NVARCHAR", FLOE_ARROW_UTF8},
      {"CLOB", FLOE_ARROW_UTF8},
      {"STRING", FLOE_ARROW_UTF8},
      {"JSON", FLOE_ARROW_UTF8},
      {"BLOB", FLOE_ARROW_BINARY},
      {"BINARY", FLOE_ARROW_BINARY},
      {"VARBINARY", FLOE_ARROW_BINARY},
      {"BOOLEAN", FLOE_ARROW_BOOL},
      {"BOOL", FLOE_ARROW_BOOL},
      {"DATE", FLOE_ARROW_DATE32},
      {"TIMESTAMP", FLOE_ARROW_TIMESTAMP_US},
      {"DATETIME", FLOE_ARROW_TIMESTAMP_US},
      {"TIMESTAMP WITHOUT TIME ZONE", FLOE_ARROW_TIMESTAMP_US},
      {"TIMESTAMPTZ", FLOE_ARROW_TIMESTAMP_US_TZ},
      {"TIMESTAMP WITH TIME ZONE", FLOE_ARROW_TIMESTAMP_US_TZ},
      {"TIME", FLOE_ARROW_TIME64_US},
      {"TIME WITHOUT TIME ZONE", FLOE_ARROW_TIME64_US},
      {"UUID", FLOE_ARROW_UUID},
  };
  char base[64];
  long p = 0, s = 0;
  if (decl == NULL || *decl == '\0') return floe_arrow_type_of(FLOE_ARROW_UTF8);
  int n_params = split_declared_type(decl, base, sizeof base, &p, &s);
  if (strcmp(base, "DECIMAL") == 0 || strcmp(base, "NUMERIC") == 0) {
    if (n_params == 0) return floe_arrow_decimal(38, 10);
    if (n_params == 1) s = 0;
    if (n_params > 0 && p >= 1 && p <= 38 && s >= 0 && s <= p)
      return floe_arrow_decimal((int32_t)p, (int32_t)s);
    /* Wider than Iceberg's decimal, or not a valid p,s: keep the text. */
    return floe_arrow_type_of(FLOE_ARROW_UTF8);
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(base, names[i].name) == 0) return floe_arrow_type_of(names[i].id);
  /* Unknown names: SQLite's own affinity rules (datatype3 section 3.1);
   * NUMERIC affinity keeps the value's text. */
  if (strstr(base, "INT") != NULL) return floe_arrow_type_of(FLOE_ARROW_INT64);
  if (strstr(base, "CHAR") || strstr(base, "CLOB") || strstr(base, "TEXT"))
    return floe_arrow_type_of(FLOE_ARROW_UTF8);
  if (strstr(base, "BLOB")) return floe_arrow_type_of(FLOE_ARROW_BINARY);
  if (strstr(base, "REAL") || strstr(base, "FLOA") || strstr(base, "DOUB"))
    return floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  return floe_arrow_type_of(FLOE_ARROW_UTF8);
}

/* ---- binding ------------------------------------------------------------------ */

static int bind_params(sqlite_source *src, sqlite3_stmt *stmt,
                       const floe_source_param *params, size_t n_params,
                       floe_error *err) {
  int expected = sqlite3_bind_parameter_count(stmt);
  if ((size_t)expected != n_params)
    return floe_error_set(err, FLOE_EINVAL,
                          "statement has %d parameters, %zu given", expected,
                          n_params);
  for (size_t i = 0; i < n_params; i++) {
    const floe_source_param *p = &params[i];
    int at = (int)i + 1, rc;
    switch (p->type) {
      case FLOE_PARAM_NULL: rc = sqlite3_bind_null(stmt, at); break;
      case FLOE_PARAM_INT64: rc = sqlite3_bind_int64(stmt, at, p->int64_value); break;
      case FLOE_PARAM_DOUBLE: rc = sqlite3_bind_double(stmt, at, p->double_value); break;
      case FLOE_PARAM_TEXT:
        rc = sqlite3_bind_text64(stmt, at, p->bytes ? p->bytes : "", p->len,
                                 SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      case FLOE_PARAM_BLOB:
        rc = sqlite3_bind_blob64(stmt, at, p->bytes ? p->bytes : "", p->len,
                                 SQLITE_TRANSIENT);
        break;
      default:
        return floe_error_set(err, FLOE_EINVAL, "parameter %d: unknown type %d",
                              at, (int)p->type);
    }
    if (rc != SQLITE_OK) {
      if (rc == SQLITE_NOMEM) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      char what[48];
      snprintf(what, sizeof what, "bind parameter %d", at);
      return sqlite_error(err, src->db, rc, what);
    }
  }
  return FLOE_OK;
}

/* Prepares the first statement of *sql and advances *sql past it; *out is
 * NULL when only whitespace or comments remain. */
static int prepare_next(sqlite_source *src, const char **sql,
                        sqlite3_stmt **out, floe_error *err) {
  const char *tail = NULL;
  *out = NULL;
  int rc = sqlite3_prepare_v2(src->db, *sql, -1, out, &tail);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOMEM) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    return sqlite_error(err, src->db, rc, "prepare");
  }
  *sql = tail;
  return FLOE_OK;
}

/* ---- statements ------------------------------------------------------------------ */

static int sqlite_exec(floe_source *base, const char *sql,
                       const floe_source_param *params, size_t n_params,
                       int64_t *out_rows, floe_error *err) {
  sqlite_source *src = (sqlite_source *)base;
  sqlite3_stmt *stmt = NULL;
  const char *rest = sql;
  int rc = FLOE_OK;
  int statements = 0;
  *out_rows = 0;
  for (;;) {
    FLOE_TRY(prepare_next(src, &rest, &stmt, err));
    if (stmt == NULL) break;
    statements++;
    if (n_params > 0) {
      /* Parameters bind to exactly one statement: refuse a script. */
      const char *after = rest;
      sqlite3_stmt *next = NULL;
      FLOE_TRY(prepare_next(src, &after, &next, err));
      sqlite3_finalize(next);
      if (next != NULL) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "parameters given for more than one statement");
        goto cleanup;
      }
    }
    FLOE_TRY(bind_params(src, stmt, params, n_params, err));
    sqlite3_int64 before = sqlite3_total_changes64(src->db);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (step != SQLITE_DONE) {
      rc = sqlite_error(err, src->db, step, "step");
      goto cleanup;
    }
    /* sqlite3_changes64 keeps the last DML count across DDL; only trust it
     * when this statement changed something. */
    *out_rows = sqlite3_total_changes64(src->db) != before
                    ? (int64_t)sqlite3_changes64(src->db)
                    : 0;
    sqlite3_finalize(stmt);
    stmt = NULL;
  }
  if (statements == 0)
    rc = floe_error_set(err, FLOE_EINVAL, "no statement in '%.60s'", sql);
cleanup:
  sqlite3_finalize(stmt);
  return rc;
}

static int run_simple(sqlite_source *src, const char *sql, floe_error *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(src->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    floe_error_set(err, FLOE_ESOURCE, "%s: %s (sqlite code %d)", sql,
                   msg ? msg : sqlite3_errstr(rc), rc);
    sqlite3_free(msg);
    return FLOE_ESOURCE;
  }
  return FLOE_OK;
}

static int sqlite_begin(floe_source *base, floe_error *err) {
  return run_simple((sqlite_source *)base, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(floe_source *base, floe_error *err) {
  sqlite_source *src = (sqlite_source *)base;
  int rc = run_simple(src, "COMMIT", err);
  /* A COMMIT that failed (SQLITE_BUSY) leaves the transaction open. */
  if (rc < 0 && !sqlite3_get_autocommit(src->db))
    sqlite3_exec(src->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int sqlite_rollback(floe_source *base, floe_error *err) {
  sqlite_source *src = (sqlite_source *)base;
  if (sqlite3_get_autocommit(src->db)) return FLOE_OK; /* already rolled back */
  return run_simple(src, "ROLLBACK", err);
}

/* ---- describe ------------------------------------------------------------------- */

static int sqlite_describe(floe_source *base, char *const *parts, int n_parts,
                           floe_source_table *out, floe_error *err) {
  sqlite_source *src = (sqlite_source *)base;
  sqlite3_stmt *stmt = NULL;
  int rc = FLOE_OK, step;
  int64_t n = 0, cap = 0;
  floe_source_column *columns = NULL;
  const char *sql =
      n_parts == 2
          ? "SELECT name, type, \"notnull\", pk, hidden FROM "
            "pragma_table_xinfo(?1, ?2)"
          : "SELECT name, type, \"notnull\", pk, hidden FROM "
            "pragma_table_xinfo(?1)";
  const char *rest = sql;
  FLOE_TRY(prepare_next(src, &rest, &stmt, err));
  const char *table = parts[n_parts - 1];
  sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
  if (n_parts == 2) sqlite3_bind_text(stmt, 2, parts[0], -1, SQLITE_STATIC);
  int pk_columns = 0;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (sqlite3_column_int(stmt, 4) == 1) continue; /* virtual-table hidden */
    if (n == cap) {
      int64_t new_cap = cap ? cap * 2 : 16;
      floe_source_column *grown =
          floe_realloc(columns, (size_t)new_cap * sizeof *columns);
      if (grown == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      columns = grown;
      cap = new_cap;
    }
    floe_source_column *c = &columns[n];
    memset(c, 0, sizeof *c);
    n++;
    const char *decl = (const char *)sqlite3_column_text(stmt, 1);
    c->name = floe_strdup((const char *)sqlite3_column_text(stmt, 0));
    c->declared_type = floe_strdup(decl ? decl : "");
    if (c->name == NULL || c->declared_type == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    c->nullable = sqlite3_column_int(stmt, 2) == 0;
    c->pk_ordinal = sqlite3_column_int(stmt, 3);
    c->type = sqlite_map_type(decl);
    if (c->pk_ordinal > 0) pk_columns++;
  }
  if (step != SQLITE_DONE) {
    rc = sqlite_error(err, src->db, step, "read table_xinfo");
    goto cleanup;
  }
  /* An INTEGER PRIMARY KEY is the rowid and can never be NULL. */
  for (int64_t i = 0; i < n; i++)
    if (pk_columns == 1 && columns[i].pk_ordinal == 1 &&
        strcasecmp(columns[i].declared_type, "INTEGER") == 0)
      columns[i].nullable = false;
  out->exists = n > 0;
  out->n_columns = n;
  out->columns = columns;
  columns = NULL;
cleanup:
  floe_src_columns_free(columns, n);
  sqlite3_finalize(stmt);
  return rc;
}

/* ---- streams ---------------------------------------------------------------------- */

static int stream_step(floe_source_stream *base, floe_error *err) {
  sqlite_stream *s = (sqlite_stream *)base;
  if (s->finished) return 0;
  s->typed_col = -1;
  int rc = sqlite3_step(s->stmt);
  if (rc == SQLITE_ROW) return 1;
  s->finished = true;
  if (rc == SQLITE_DONE) return 0;
  if (rc == SQLITE_NOMEM) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return sqlite_error(err, s->src->db, rc, "step");
}

static bool stream_is_null(floe_source_stream *base, int64_t col) {
  sqlite_stream *s = (sqlite_stream *)base;
  s->typed_col = (int)col;
  s->typed_class = sqlite3_column_type(s->stmt, (int)col);
  return s->typed_class == SQLITE_NULL;
}

static int append_hex(floe_buf *out, const uint8_t *bytes, size_t len) {
  if (floe_buf_append(out, "x'", 2) < 0 || floe_buf_append_hex(out, bytes, len) < 0)
    return FLOE_ENOMEM;
  return floe_buf_append_byte(out, '\'');
}

static int stream_append(floe_source_stream *base, int64_t col,
                         floe_arrow_builder *b, floe_error *err) {
  sqlite_stream *s = (sqlite_stream *)base;
  int c = (int)col;
  floe_arrow_type id = b->type.id;
  int storage = s->typed_col == c ? s->typed_class : sqlite3_column_type(s->stmt, c);
  s->typed_col = -1;
  switch (storage) {
    case SQLITE_INTEGER:
      if (id == FLOE_ARROW_UTF8) break; /* SQLite's own rendering, below */
      return floe_src_append_int64(b, sqlite3_column_int64(s->stmt, c), err);
    case SQLITE_FLOAT:
      if (id == FLOE_ARROW_UTF8) break;
      return floe_src_append_double(b, sqlite3_column_double(s->stmt, c), err);
    case SQLITE_BLOB: {
      const void *bytes = sqlite3_column_blob(s->stmt, c);
      size_t len = (size_t)sqlite3_column_bytes(s->stmt, c);
      if (id == FLOE_ARROW_BINARY || id == FLOE_ARROW_UTF8 ||
          ((id == FLOE_ARROW_UUID || id == FLOE_ARROW_FIXED) &&
           len == (size_t)b->type.byte_width)) {
        if (id == FLOE_ARROW_UTF8 && !floe_src_utf8_valid(bytes, len)) {
          floe_buf_reset(&s->base.scratch);
          append_hex(&s->base.scratch, bytes, len);
          return floe_src_value_error(err, &b->type,
                                      (const char *)s->base.scratch.data,
                                      s->base.scratch.len, "not valid UTF-8");
        }
        return floe_arrow_builder_append_bytes(b, bytes, len);
      }
      floe_buf_reset(&s->base.scratch);
      if (append_hex(&s->base.scratch, bytes, len) < 0) return FLOE_ENOMEM;
      return floe_src_value_error(err, &b->type,
                                  (const char *)s->base.scratch.data,
                                  s->base.scratch.len,
                                  "a blob cannot be read as this type");
    }
    default:
      break;
  }
  /* TEXT (and numbers into string columns, rendered as SQLite does). */
  const char *text = (const char *)sqlite3_column_text(s->stmt, c);
  size_t len = (size_t)sqlite3_column_bytes(s->stmt, c);
  if (text == NULL) return FLOE_ENOMEM; /* not NULL: checked by the caller */
  return floe_src_append_text(b, text, len, err);
}

/* A whole row, each storage class read once. The pairs that make up
 * nearly every real table (an INTEGER into a long, a REAL into a double,
 * TEXT into a string, date or timestamp) go straight to the builder;
 * everything else takes stream_append's general path. Values are read
 * through sqlite3_column_value and the sqlite3_value_* accessors: each
 * sqlite3_column_* call enters and leaves the connection's error and
 * mutex bookkeeping, one per value is enough. The connection is opened
 * NOMUTEX and used by one thread at a time, where SQLite makes no
 * distinction between protected and unprotected values
 * (https://sqlite.org/c3ref/value.html). */
static int stream_read_row(floe_source_stream *base, int64_t *failed_col,
                           floe_error *err) {
  sqlite_stream *s = (sqlite_stream *)base;
  sqlite3_stmt *stmt = s->stmt;
  int n = (int)base->n_columns, rc = FLOE_OK;
  for (int c = 0; c < n; c++) {
    floe_arrow_builder *b = &base->builder.columns[c];
    sqlite3_value *value = sqlite3_column_value(stmt, c);
    int storage = sqlite3_value_type(value);
    floe_arrow_type id = b->type.id;
    if (storage == SQLITE_NULL) {
      if (!base->columns[c].nullable) {
        *failed_col = c;
        return 1;
      }
      rc = floe_arrow_builder_append_null(b);
    } else if (storage == SQLITE_INTEGER && id == FLOE_ARROW_INT64) {
      rc = floe_arrow_builder_append_int64(b, sqlite3_value_int64(value));
    } else if (storage == SQLITE_FLOAT && id == FLOE_ARROW_DOUBLE) {
      rc = floe_arrow_builder_append_double(b, sqlite3_value_double(value));
    } else if (storage == SQLITE_INTEGER && id != FLOE_ARROW_UTF8) {
      rc = floe_src_append_int64(b, sqlite3_value_int64(value), err);
    } else if (storage == SQLITE_FLOAT && id != FLOE_ARROW_UTF8) {
      rc = floe_src_append_double(b, sqlite3_value_double(value), err);
    } else if (storage == SQLITE_TEXT) {
      const char *text = (const char *)sqlite3_value_text(value);
      size_t len = (size_t)sqlite3_value_bytes(value);
      rc = text == NULL ? FLOE_ENOMEM : floe_src_append_text(b, text, len, err);
    } else {
      s->typed_col = c;
      s->typed_class = storage;
      rc = stream_append(base, c, b, err);
    }
    if (rc < 0) {
      *failed_col = c;
      return rc;
    }
  }
  return FLOE_OK;
}

static int stream_cell_text(floe_source_stream *base, int64_t col,
                            floe_buf *out) {
  sqlite_stream *s = (sqlite_stream *)base;
  int c = (int)col;
  if (sqlite3_column_type(s->stmt, c) == SQLITE_BLOB)
    return append_hex(out, sqlite3_column_blob(s->stmt, c),
                      (size_t)sqlite3_column_bytes(s->stmt, c));
  const unsigned char *text = sqlite3_column_text(s->stmt, c);
  if (text == NULL) return FLOE_ENOMEM;
  return floe_buf_append(out, text, (size_t)sqlite3_column_bytes(s->stmt, c));
}

static void stream_close(floe_source_stream *base) {
  sqlite_stream *s = (sqlite_stream *)base;
  sqlite3_finalize(s->stmt);
  floe_free(s);
}

static const floe_source_stream_ops sqlite_stream_ops = {
    stream_step,      stream_is_null, stream_append,
    stream_cell_text, stream_close,   stream_read_row};

/* Types of an untyped query: the declared type of a table column, else the
 * storage class of the first row's value. */
static int infer_columns(sqlite_stream *s, floe_error *err) {
  int n = sqlite3_column_count(s->stmt);
  bool stepped = false;
  floe_source_column *columns = floe_calloc((size_t)(n ? n : 1), sizeof *columns);
  if (columns == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->base.columns = columns;
  s->base.n_columns = n;
  for (int i = 0; i < n; i++) {
    const char *decl = sqlite3_column_decltype(s->stmt, i);
    const char *name = sqlite3_column_name(s->stmt, i);
    columns[i].name = floe_strdup(name ? name : "");
    columns[i].declared_type = floe_strdup(decl ? decl : "");
    columns[i].nullable = true;
    if (columns[i].name == NULL || columns[i].declared_type == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    if (decl != NULL) {
      columns[i].type = sqlite_map_type(decl);
      continue;
    }
    if (!stepped) {
      int rc = stream_step(&s->base, err);
      if (rc < 0) return rc;
      s->base.row_pending = rc == 1;
      stepped = true;
    }
    int storage = s->base.row_pending ? sqlite3_column_type(s->stmt, i) : SQLITE_NULL;
    floe_arrow_type id = storage == SQLITE_INTEGER ? FLOE_ARROW_INT64
                         : storage == SQLITE_FLOAT ? FLOE_ARROW_DOUBLE
                         : storage == SQLITE_BLOB  ? FLOE_ARROW_BINARY
                                                   : FLOE_ARROW_UTF8;
    columns[i].type = floe_arrow_type_of(id);
  }
  return FLOE_OK;
}

static int sqlite_query(floe_source *base, const floe_source_query_spec *spec,
                        floe_source_stream **out, floe_error *err) {
  sqlite_source *src = (sqlite_source *)base;
  sqlite3_stmt *extra = NULL;
  int rc;
  sqlite_stream *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->src = src;
  s->base.ops = &sqlite_stream_ops;
  s->typed_col = -1;
  const char *rest = spec->sql;
  FLOE_TRY(prepare_next(src, &rest, &s->stmt, err));
  if (s->stmt == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "no statement in '%.60s'", spec->sql);
    goto cleanup;
  }
  FLOE_TRY(prepare_next(src, &rest, &extra, err));
  if (extra != NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "a query must be one statement");
    goto cleanup;
  }
  s->base.n_result_columns = sqlite3_column_count(s->stmt);
  if (s->base.n_result_columns == 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "statement returns no columns");
    goto cleanup;
  }
  FLOE_TRY(bind_params(src, s->stmt, spec->params, spec->n_params, err));
  if (spec->columns == NULL) FLOE_TRY(infer_columns(s, err));
  *out = &s->base;
  s = NULL;
cleanup:
  sqlite3_finalize(extra);
  if (s != NULL) {
    floe_src_columns_free(s->base.columns, s->base.n_columns);
    stream_close(&s->base);
  }
  return rc;
}

/* ---- connection ----------------------------------------------------------------- */

static void sqlite_close(floe_source *base) {
  sqlite_source *src = (sqlite_source *)base;
  if (src->db != NULL) {
    if (!sqlite3_get_autocommit(src->db))
      sqlite3_exec(src->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(src->db);
  }
  floe_free(src);
}

static const floe_source_driver sqlite_driver = {
    "sqlite",     sqlite_close, sqlite_describe, sqlite_query,
    sqlite_exec,  sqlite_begin, sqlite_commit,   sqlite_rollback};

int floe_src_sqlite_open(floe_source **out, const floe_source_config *config,
                         floe_error *err) {
  int rc = FLOE_OK;
  const char *path = config->sqlite_path;
  if (path == NULL || *path == '\0')
    return floe_error_set(err, FLOE_EINVAL, "source sqlite: no database path");
  if (!config->sqlite_create && access(path, F_OK) != 0)
    return floe_error_set(err, FLOE_ENOTFOUND,
                          "source sqlite: database '%s' does not exist", path);
  sqlite_source *src = floe_calloc(1, sizeof *src);
  if (src == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  src->base.driver = &sqlite_driver;
  /* One connection is used by one thread at a time, so SQLite's per-call
   * connection mutex (serialized mode) is pure overhead on the read path. */
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
              (config->sqlite_create ? SQLITE_OPEN_CREATE : 0);
  int code = sqlite3_open_v2(path, &src->db, flags, NULL);
  if (code != SQLITE_OK) {
    rc = sqlite_error(err, src->db, code, "open");
    goto cleanup;
  }
  sqlite3_extended_result_codes(src->db, 1);
  sqlite3_busy_timeout(src->db, config->sqlite_busy_timeout_ms > 0
                                    ? config->sqlite_busy_timeout_ms
                                    : 5000);
  /* Reading the schema fails now, not mid-run, on a file that is not a
   * database. */
  FLOE_TRY(run_simple(src, "SELECT count(*) FROM sqlite_schema", err));
  *out = &src->base;
  src = NULL;
cleanup:
  if (src != NULL) {
    floe_error_prefix(err, "source sqlite '%s'", path);
    sqlite_close(&src->base);
  }
  return rc;
}
