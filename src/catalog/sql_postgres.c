/*
 * catalog/sql_postgres: the SQL catalog's backend on PostgreSQL (libpq).
 *
 * Statements go through PQexecParams with every value as a parameter
 * ('?' in the catalog's SQL becomes $1, $2, ...; the catalog's statements
 * contain no '?' inside literals). SQLSTATE classifies failures: 23505
 * (unique violation) is FLOE_EEXISTS; 40001 (serialization failure), 40P01
 * (deadlock) and 55P03 (lock not available) are SQL_EBUSY, retried by the
 * catalog; the rest is FLOE_EIO with the server's message. Notices (such
 * as "relation already exists, skipping") are swallowed: library code
 * never prints. The conninfo may hold a password, so it never appears in
 * a message.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/sql_backend.h"
#include "floe/buffer.h"

typedef struct pg_conn {
  sql_conn base;
  PGconn *pg;
} pg_conn;

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* "?" -> "$n". */
static int rewrite_placeholders(const char *sql, floe_buf *out,
                                floe_error *err) {
  int n = 0, rc = FLOE_OK;
  for (const char *p = sql; *p && rc == FLOE_OK; p++) {
    if (*p == '?') rc = floe_buf_appendf(out, "$%d", ++n);
    else rc = floe_buf_append_byte(out, (uint8_t)*p);
  }
  if (rc == FLOE_OK) rc = floe_buf_terminate(out);
  if (rc < 0) return floe_error_set(err, FLOE_ENOMEM, "postgresql: out of "
                                    "memory");
  return FLOE_OK;
}

/* The server's message without its trailing newline. */
static void trimmed(const char *msg, char *out, size_t cap) {
  snprintf(out, cap, "%s", msg ? msg : "");
  size_t len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
}

static int pg_exec(sql_conn *base, const char *sql, const char *const *params,
                   int nparams, sql_rows *rows, long *changes,
                   floe_error *err) {
  pg_conn *c = (pg_conn *)base;
  floe_buf text = FLOE_BUF_INIT;
  PGresult *res = NULL;
  const char *cells[8];
  char msg[600];
  int rc = rewrite_placeholders(sql, &text, err);
  if (rc < 0) goto cleanup;
  res = PQexecParams(c->pg, (const char *)text.data, nparams, NULL, params,
                     NULL, NULL, 0);
  if (res == NULL) {
    trimmed(PQerrorMessage(c->pg), msg, sizeof msg);
    rc = floe_error_set(err, FLOE_EIO, "postgresql: %s", msg);
    goto cleanup;
  }
  ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    trimmed(PQresultErrorMessage(res), msg, sizeof msg);
    if (state != NULL && strcmp(state, "23505") == 0)
      rc = floe_error_set(err, FLOE_EEXISTS, "postgresql: %s", msg);
    else if (state != NULL && (strcmp(state, "40001") == 0 ||
                               strcmp(state, "40P01") == 0 ||
                               strcmp(state, "55P03") == 0))
      rc = floe_error_set(err, SQL_EBUSY, "postgresql: %s", msg);
    else
      rc = floe_error_set(err, FLOE_EIO, "postgresql: %.60s...: %s [%s]", sql,
                          msg, state ? state : "no SQLSTATE");
    goto cleanup;
  }
  if (rows != NULL && status == PGRES_TUPLES_OK) {
    int ncols = PQnfields(res), nrows = PQntuples(res);
    if (ncols > 8) {
      rc = floe_error_set(err, FLOE_EINVAL, "postgresql: %d result columns",
                          ncols);
      goto cleanup;
    }
    for (int r = 0; r < nrows; r++) {
      for (int i = 0; i < ncols; i++)
        cells[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
      FLOE_TRY(sql_rows_append(rows, (size_t)ncols, cells, err));
    }
  }
  if (changes != NULL) {
    const char *tuples = PQcmdTuples(res);
    *changes = tuples && tuples[0] ? atol(tuples) : 0;
  }
cleanup:
  PQclear(res);
  floe_buf_free(&text);
  return rc;
}

static int pg_begin(sql_conn *base, floe_error *err) {
  return pg_exec(base, "BEGIN", NULL, 0, NULL, NULL, err);
}

static int pg_commit(sql_conn *base, floe_error *err) {
  return pg_exec(base, "COMMIT", NULL, 0, NULL, NULL, err);
}

static void pg_rollback(sql_conn *base) {
  pg_conn *c = (pg_conn *)base;
  if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
    floe_error ignored = {0};
    pg_exec(base, "ROLLBACK", NULL, 0, NULL, NULL, &ignored);
  }
}

static void pg_close(sql_conn *base) {
  pg_conn *c = (pg_conn *)base;
  if (c == NULL) return;
  if (c->pg != NULL) PQfinish(c->pg);
  floe_free(c);
}

static const sql_backend_ops pg_ops = {
    .name = "postgresql",
    .column_exists_sql =
        "SELECT 1 FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? AND column_name = ?",
    /* Any constant key: serialises floe processes creating the schema. */
    .schema_lock_sql = "SELECT pg_advisory_xact_lock(7305840127)",
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .close = pg_close,
};

int sql_postgres_open(const char *conninfo, sql_conn **out, floe_error *err) {
  *out = NULL;
  pg_conn *c = floe_calloc(1, sizeof *c);
  if (c == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "postgresql: out of memory");
  c->base.ops = &pg_ops;
  c->pg = PQconnectdb(conninfo);
  if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
    char msg[600];
    trimmed(c->pg ? PQerrorMessage(c->pg) : "out of memory", msg, sizeof msg);
    int rc = floe_error_set(err, FLOE_EIO, "postgresql: connect: %s", msg);
    pg_close(&c->base);
    return rc;
  }
  PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
  *out = &c->base;
  return FLOE_OK;
}
