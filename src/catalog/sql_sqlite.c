/*
 * catalog/sql_sqlite: the SQL catalog's backend on SQLite (libsqlite3).
 *
 * One connection per catalog, with a busy timeout so that a statement
 * waits for another process's lock instead of failing at once. What still
 * comes back SQLITE_BUSY / SQLITE_LOCKED is reported as SQL_EBUSY and the
 * catalog retries the whole transaction with backoff. Write transactions
 * use BEGIN IMMEDIATE: taking the write lock at the start means two
 * writers never both hold read locks and deadlock on the upgrade.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "catalog/sql_backend.h"

typedef struct sqlite_conn {
  sql_conn base;
  sqlite3 *db;
  char *path;
} sqlite_conn;

static int classify(sqlite_conn *c, int code, const char *sql,
                    floe_error *err) {
  int primary = code & 0xff;
  const char *msg = sqlite3_errmsg(c->db);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    floe_error_set(err, SQL_EBUSY, "sqlite %s: database is busy: %s", c->path,
                   msg);
    return SQL_EBUSY;
  }
  if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE)
    return floe_error_set(err, FLOE_EEXISTS, "sqlite %s: %s", c->path, msg);
  if (primary == SQLITE_NOMEM)
    return floe_error_set(err, FLOE_ENOMEM, "sqlite %s: out of memory",
                          c->path);
  return floe_error_set(err, FLOE_EIO, "sqlite %s: %.60s...: %s", c->path, sql,
                        msg);
}

static int sqlite_exec(sql_conn *base, const char *sql,
                       const char *const *params, int nparams, sql_rows *rows,
                       long *changes, floe_error *err) {
  sqlite_conn *c = (sqlite_conn *)base;
  sqlite3_stmt *stmt = NULL;
  const char *cells_stack[8];
  int rc = FLOE_OK;
  int code = sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL);
  if (code != SQLITE_OK) return classify(c, code, sql, err);
  for (int i = 0; i < nparams; i++) {
    code = params[i] == NULL
               ? sqlite3_bind_null(stmt, i + 1)
               : sqlite3_bind_text(stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
    if (code != SQLITE_OK) {
      rc = classify(c, code, sql, err);
      goto cleanup;
    }
  }
  for (;;) {
    code = sqlite3_step(stmt);
    if (code == SQLITE_DONE) break;
    if (code != SQLITE_ROW) {
      rc = classify(c, sqlite3_extended_errcode(c->db), sql, err);
      goto cleanup;
    }
    if (rows == NULL) continue;
    int ncols = sqlite3_column_count(stmt);
    if (ncols > 8) {
      rc = floe_error_set(err, FLOE_EINVAL, "sqlite: %d result columns", ncols);
      goto cleanup;
    }
    for (int i = 0; i < ncols; i++)
      cells_stack[i] = (const char *)sqlite3_column_text(stmt, i);
    FLOE_TRY(sql_rows_append(rows, (size_t)ncols, cells_stack, err));
  }
  if (changes != NULL) *changes = (long)sqlite3_changes(c->db);
cleanup:
  sqlite3_finalize(stmt);
  return rc;
}

static int run_plain(sqlite_conn *c, const char *sql, floe_error *err) {
  return sqlite_exec(&c->base, sql, NULL, 0, NULL, NULL, err);
}

static int sqlite_begin(sql_conn *base, floe_error *err) {
  return run_plain((sqlite_conn *)base, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(sql_conn *base, floe_error *err) {
  return run_plain((sqlite_conn *)base, "COMMIT", err);
}

static void sqlite_rollback(sql_conn *base) {
  sqlite_conn *c = (sqlite_conn *)base;
  if (!sqlite3_get_autocommit(c->db)) {
    floe_error ignored = {0};
    run_plain(c, "ROLLBACK", &ignored);
  }
}

static void sqlite_close(sql_conn *base) {
  sqlite_conn *c = (sqlite_conn *)base;
  if (c == NULL) return;
  sqlite3_close_v2(c->db);
  floe_free(c->path);
  floe_free(c);
}

static const sql_backend_ops sqlite_ops = {
    .name = "sqlite",
    .column_exists_sql =
        "SELECT 1 FROM pragma_table_info(?) WHERE name = ?",
    .schema_lock_sql = NULL,
    .exec = sqlite_exec,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .close = sqlite_close,
};

int sql_sqlite_open(const char *path, int busy_timeout_ms, sql_conn **out,
                    floe_error *err) {
  *out = NULL;
  sqlite_conn *c = floe_calloc(1, sizeof *c);
  if (c == NULL) return floe_error_set(err, FLOE_ENOMEM, "sqlite: out of memory");
  c->base.ops = &sqlite_ops;
  c->path = floe_strdup(path);
  if (c->path == NULL) {
    floe_free(c);
    return floe_error_set(err, FLOE_ENOMEM, "sqlite: out of memory");
  }
  int code = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (code != SQLITE_OK) {
    int rc = floe_error_set(err, FLOE_EIO, "sqlite %s: open: %s", path,
                            c->db ? sqlite3_errmsg(c->db)
                                  : sqlite3_errstr(code));
    sqlite_close(&c->base);
    return rc;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, busy_timeout_ms);
  *out = &c->base;
  return FLOE_OK;
}
