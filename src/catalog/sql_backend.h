/*
 * catalog/sql_backend.h: the small database interface under the SQL
 * catalog, with one implementation per engine (sql_sqlite.c on
 * libsqlite3, sql_postgres.c on libpq).
 *
 * Statements are written once, with '?' placeholders, and values are
 * always bound as parameters (never spliced into SQL text); the PostgreSQL
 * backend rewrites '?' to $1, $2, ... Results come back as text cells.
 * A backend classifies failures so the catalog can act on them:
 * SQL_EBUSY (locked/busy/serialization failure: retry the transaction),
 * FLOE_EEXISTS (primary-key violation), FLOE_EIO (anything else, with the
 * engine's message). Private to src/catalog.
 */
#ifndef FLOE_CATALOG_SQL_BACKEND_H
#define FLOE_CATALOG_SQL_BACKEND_H

#include <stddef.h>

#include "floe/common.h"

/* Retryable: the database was busy or locked, or PostgreSQL aborted the
 * transaction for a serialization failure or deadlock. Never leaves
 * src/catalog. */
#define SQL_EBUSY (-100)

/* Rows of text cells, row-major; a NULL cell is SQL NULL. */
typedef struct sql_rows {
  size_t nrows;
  size_t ncols;
  char **cells;
} sql_rows;

static inline const char *sql_cell(const sql_rows *rows, size_t row,
                                   size_t col) {
  return rows->cells[row * rows->ncols + col];
}

void sql_rows_reset(sql_rows *rows);

typedef struct sql_conn sql_conn;

typedef struct sql_backend_ops {
  const char *name; /* "sqlite", "postgresql" */
  /* SQL answering one row when `table` has column `column`, with the two
   * names bound as parameters 1 and 2. */
  const char *column_exists_sql;
  /* Statement run first inside the schema-initialisation transaction to
   * serialise concurrent initialisers, or NULL (SQLite's BEGIN IMMEDIATE
   * already does). */
  const char *schema_lock_sql;
  /* Runs one statement. params[i] NULL binds SQL NULL. rows (may be NULL)
   * receives result rows; changes (may be NULL) the rows affected. */
  int (*exec)(sql_conn *conn, const char *sql, const char *const *params,
              int nparams, sql_rows *rows, long *changes, floe_error *err);
  /* BEGIN (SQLite: BEGIN IMMEDIATE, taking the write lock up front so a
   * transaction never deadlocks upgrading a read lock). */
  int (*begin)(sql_conn *conn, floe_error *err);
  int (*commit)(sql_conn *conn, floe_error *err);
  void (*rollback)(sql_conn *conn);
  void (*close)(sql_conn *conn);
} sql_backend_ops;

struct sql_conn {
  const sql_backend_ops *ops;
};

/* Opens (creating if missing) a SQLite database file. */
int sql_sqlite_open(const char *path, int busy_timeout_ms, sql_conn **out,
                    floe_error *err);
/* Connects to PostgreSQL with a conninfo string or URI. */
int sql_postgres_open(const char *conninfo, sql_conn **out, floe_error *err);

/* Shared by the backends: appends one row of `ncols` cells (copied). */
int sql_rows_append(sql_rows *rows, size_t ncols, const char *const *cells,
                    floe_error *err);

#endif
