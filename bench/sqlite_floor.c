/*
 * bench/sqlite_floor: the floor under `floe run` from SQLite. It steps one
 * query with SQLite's native accessors and nothing else: sqlite3_step, then
 * for every column sqlite3_column_type and the accessor of the value's
 * storage class (int64, double, text or blob with its byte count), folding
 * each value into a checksum so the compiler cannot drop the reads. No
 * conversion, no Arrow, no output: whatever floe spends beyond this is its
 * own cost. The database is opened as floe opens it, without SQLite's
 * connection mutex (SQLITE_OPEN_NOMUTEX), so the floor does not pay locking
 * floe does not pay. bench/replicate.sh divides floe's wall time by this
 * program's.
 *
 *   bench_sqlite_floor <database> <sql>
 * prints `sqlite_floor rows=N seconds=S checksum=C`.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_sqlite_floor <database> <sql>\n");
    return 2;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc = 1;
  double started = now_seconds();
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite_floor: open %s: %s\n", argv[1], sqlite3_errmsg(db));
    goto cleanup;
  }
  if (sqlite3_prepare_v2(db, argv[2], -1, &stmt, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite_floor: prepare: %s\n", sqlite3_errmsg(db));
    goto cleanup;
  }
  int n_columns = sqlite3_column_count(stmt);
  uint64_t checksum = 0;
  int64_t rows = 0;
  int step;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int c = 0; c < n_columns; c++) {
      uint64_t v = 0;
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          v = (uint64_t)sqlite3_column_int64(stmt, c);
          break;
        case SQLITE_FLOAT: {
          double d = sqlite3_column_double(stmt, c);
          memcpy(&v, &d, sizeof v);
          break;
        }
        case SQLITE_TEXT: {
          const unsigned char *text = sqlite3_column_text(stmt, c);
          int len = sqlite3_column_bytes(stmt, c);
          v = (uint64_t)len + (len > 0 ? text[0] : 0);
          break;
        }
        case SQLITE_BLOB: {
          const unsigned char *blob = sqlite3_column_blob(stmt, c);
          int len = sqlite3_column_bytes(stmt, c);
          v = (uint64_t)len + (len > 0 ? blob[0] : 0);
          break;
        }
        default:
          v = 1;
      }
      checksum = checksum * 31 + v;
    }
    rows++;
  }
  if (step != SQLITE_DONE) {
    fprintf(stderr, "sqlite_floor: step: %s\n", sqlite3_errmsg(db));
    goto cleanup;
  }
  printf("sqlite_floor rows=%" PRId64 " seconds=%.3f checksum=%016" PRIx64 "\n", rows,
         now_seconds() - started, checksum);
  rc = 0;
cleanup:
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rc;
}
