/*
 * bench/pg_floor: the floor under `floe run` from PostgreSQL. It reads one
 * query the way floe's driver does, through libpq and nothing else: a read
 * transaction, DECLARE ... NO SCROLL CURSOR, then FETCH FORWARD <rows> until
 * the cursor is exhausted, touching every value with PQgetisnull,
 * PQgetvalue and PQgetlength (text format) and folding it into a checksum
 * so the reads cannot be dropped. No parsing, no Arrow, no output: whatever
 * floe spends beyond this is its own. bench/replicate_pg.sh divides floe's
 * wall time by this program's.
 *
 *   bench_pg_floor <conninfo> <sql> [fetch_rows]
 * prints `pg_floor rows=N seconds=S checksum=C`.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int command(PGconn *conn, const char *sql) {
  PGresult *res = PQexec(conn, sql);
  int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  if (!ok) fprintf(stderr, "pg_floor: %s: %s", sql, PQerrorMessage(conn));
  PQclear(res);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_pg_floor <conninfo> <sql> [fetch_rows]\n");
    return 2;
  }
  long fetch_rows = argc > 3 ? strtol(argv[3], NULL, 10) : 8192;
  double started = now_seconds();
  PGconn *conn = PQconnectdb(argv[1]);
  PGresult *res = NULL;
  int rc = 1;
  char *declare = NULL, fetch[64];
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "pg_floor: connect: %s", PQerrorMessage(conn));
    goto cleanup;
  }
  if (command(conn, "BEGIN READ ONLY") < 0) goto cleanup;
  size_t n = (size_t)snprintf(NULL, 0, "DECLARE floor_cursor NO SCROLL CURSOR FOR %s", argv[2]);
  declare = malloc(n + 1);
  if (declare == NULL) goto cleanup;
  snprintf(declare, n + 1, "DECLARE floor_cursor NO SCROLL CURSOR FOR %s", argv[2]);
  if (command(conn, declare) < 0) goto cleanup;
  snprintf(fetch, sizeof fetch, "FETCH FORWARD %ld FROM floor_cursor", fetch_rows);
  uint64_t checksum = 0;
  int64_t rows = 0;
  for (;;) {
    res = PQexec(conn, fetch);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      fprintf(stderr, "pg_floor: fetch: %s", PQerrorMessage(conn));
      goto cleanup;
    }
    int n_rows = PQntuples(res), n_columns = PQnfields(res);
    for (int r = 0; r < n_rows; r++) {
      for (int c = 0; c < n_columns; c++) {
        uint64_t v = 1;
        if (!PQgetisnull(res, r, c)) {
          const char *text = PQgetvalue(res, r, c);
          int len = PQgetlength(res, r, c);
          v = (uint64_t)len + (len > 0 ? (unsigned char)text[0] : 0);
        }
        checksum = checksum * 31 + v;
      }
    }
    rows += n_rows;
    PQclear(res);
    res = NULL;
    if (n_rows < fetch_rows) break;
  }
  if (command(conn, "CLOSE floor_cursor") < 0 || command(conn, "COMMIT") < 0) goto cleanup;
  printf("pg_floor rows=%" PRId64 " seconds=%.3f checksum=%016" PRIx64 "\n", rows,
         now_seconds() - started, checksum);
  rc = 0;
cleanup:
  PQclear(res);
  free(declare);
  PQfinish(conn);
  return rc;
}
