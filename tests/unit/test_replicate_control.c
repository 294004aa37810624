/*
 * Tests of the control table (src/replicate/control.c): the statements the
 * engine runs are exactly the ones shipped in sql/<dialect>/control.sql, and
 * they behave as the protocol needs on a real SQLite database (insert-only
 * rows, history in order, guarded compensation) and, when PostgreSQL is
 * available, on a server started by tests/support/pg.sh.
 */
#include "replicate/engine_internal.h"

#include <ctype.h>
#include <signal.h>
#include <unistd.h>

#include "test.h"

/* Collapses whitespace runs to one space and trims. */
static void normalize(const char *in, char *out, size_t size) {
  size_t n = 0;
  bool space = false;
  for (const char *p = in; *p && n + 1 < size; p++) {
    if (isspace((unsigned char)*p)) {
      space = n > 0;
      continue;
    }
    if (space && n + 1 < size) out[n++] = ' ';
    space = false;
    out[n++] = *p;
  }
  out[n] = '\0';
}

/* The statement named `name` in a shipped file, comments removed, without
 * the final ';'. */
static bool shipped_statement(const char *text, const char *name, char *out, size_t size) {
  char marker[64];
  snprintf(marker, sizeof marker, "-- name: %s\n", name);
  const char *p = strstr(text, marker);
  if (p == NULL) return false;
  p += strlen(marker);
  char body[4096];
  size_t n = 0;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (len >= 8 && strncmp(p, "-- name:", 8) == 0) break;
    if (!(len >= 2 && p[0] == '-' && p[1] == '-') && n + len + 2 < sizeof body) {
      memcpy(body + n, p, len);
      n += len;
      body[n++] = '\n';
    }
    if (eol == NULL) break;
    p = eol + 1;
  }
  body[n] = '\0';
  char *semi = strrchr(body, ';');
  if (semi != NULL) *semi = '\0';
  normalize(body, out, size);
  return true;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)len + 1);
  if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[len] = '\0';
  fclose(f);
  return buf;
}

static void test_shipped_sql_files_match_the_engine(void) {
  const char *dialects[] = {"sqlite", "postgres", "snowflake"};
  for (int d = 0; d < 3; d++) {
    char path[512];
    snprintf(path, sizeof path, "%s/sql/%s/control.sql", FLOE_SOURCE_DIR, dialects[d]);
    char *text = read_text(path);
    REQUIRE(text != NULL);
    for (int s = 0; s < FLOE_CONTROL_STMT_COUNT; s++) {
      char *sql = NULL;
      floe_error err = {0};
      CHECK_OK(floe_control_sql(dialects[d], (floe_control_stmt)s, NULL, &sql, &err), &err);
      char want[4096], got[4096];
      normalize(sql ? sql : "", want, sizeof want);
      bool found = shipped_statement(text, floe_control_stmt_name((floe_control_stmt)s), got,
                                     sizeof got);
      if (!found) TEST_FAIL_AT(__FILE__, __LINE__, "%s: no statement %s", path,
                               floe_control_stmt_name((floe_control_stmt)s));
      else if (strcmp(want, got) != 0)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s differs:\n engine: %s\n file:   %s", path,
                     floe_control_stmt_name((floe_control_stmt)s), want, got);
      floe_free(sql);
    }
    free(text);
  }
}

static void test_statements_substitute_the_quoted_table(void) {
  char *sql = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_control_sql("postgres", FLOE_CONTROL_COMPENSATE, "\"ops\".\"ctl\"", &sql, &err),
             &err);
  CHECK_STR_EQ(sql,
               "DELETE FROM \"ops\".\"ctl\"\n"
               "WHERE table_name = $1 AND batch_sk = $2 AND run_id = $3\n"
               "  AND batch_sk = (SELECT max(batch_sk) FROM \"ops\".\"ctl\" WHERE table_name = $1)");
  floe_free(sql);
  CHECK_INT_EQ(floe_control_sql("oracle", FLOE_CONTROL_CREATE, NULL, &sql, &err), FLOE_EUNSUPPORTED);
  CHECK(sql == NULL);
}

/* The minimal layout per dialect: Snowflake binds :n, upserts the side row
 * with MERGE (no ON CONFLICT there) and inserts the user's row only when
 * absent (no enforced primary key); other dialects are refused. */
static void test_minimal_layout_statements_per_dialect(void) {
  char *sql = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_control_minimal_sql("snowflake", "insert", "CTL", "CTL_FLOE", &sql, &err), &err);
  CHECK(strncmp(sql, "MERGE INTO CTL_FLOE r\n", 22) == 0);
  CHECK(strstr(sql, "$1") == NULL && strstr(sql, ":5 AS kind") != NULL);
  floe_free(sql);
  REQUIRE_OK(floe_control_minimal_sql("snowflake", "insert_main", "CTL", "CTL_FLOE", &sql, &err),
             &err);
  CHECK_STR_EQ(sql, "INSERT INTO CTL (table_name, batch_sk)\n"
                    "SELECT :1, :2\n"
                    "WHERE NOT EXISTS (SELECT 1 FROM CTL WHERE table_name = :1 AND batch_sk = :2)");
  floe_free(sql);
  REQUIRE_OK(floe_control_minimal_sql("postgres", "insert", "ctl", "ctl_floe", &sql, &err), &err);
  CHECK(strstr(sql, "ON CONFLICT (table_name, batch_sk) DO UPDATE") != NULL);
  floe_free(sql);
  REQUIRE_OK(floe_control_minimal_sql("snowflake", "create_side", "CTL", "CTL_FLOE", &sql, &err),
             &err);
  CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS CTL_FLOE (") != NULL &&
        strstr(sql, "TIMESTAMP_TZ") != NULL);
  floe_free(sql);
  CHECK_INT_EQ(floe_control_minimal_sql("oracle", "insert", "c", "s", &sql, &err),
               FLOE_EUNSUPPORTED);
  CHECK(sql == NULL);
}

/* The protocol's operations on one source. */
static void exercise(floe_source *src, const char *schema) {
  floe_control ctl;
  floe_error err = {0};
  floe_control_rows rows = {0};
  bool exists = true;
  REQUIRE_OK(floe_control_open(&ctl, src, "floe_control", schema, &err), &err);
  CHECK_OK(floe_control_exists(&ctl, &exists, &err), &err);
  CHECK(!exists);
  CHECK_OK(floe_control_create(&ctl, &err), &err);
  CHECK_OK(floe_control_create(&ctl, &err), &err); /* idempotent */
  CHECK_OK(floe_control_exists(&ctl, &exists, &err), &err);
  CHECK(exists);
  CHECK_OK(floe_control_history(&ctl, "orders", &rows, &err), &err);
  CHECK_INT_EQ(rows.n, 0);
  CHECK(floe_control_rows_latest(&rows) == NULL);
  CHECK_OK(floe_control_insert(&ctl, "orders", 0, "run-a", NULL, "init", &err), &err);
  CHECK_OK(floe_control_insert(&ctl, "orders", 5, "run-a", NULL, "load", &err), &err);
  CHECK_OK(floe_control_insert(&ctl, "orders", 9, "run-b", "2024-01-01 10:00:00", "load", &err),
           &err);
  CHECK_OK(floe_control_insert(&ctl, "other", 100, "run-b", NULL, "load", &err), &err);
  /* The primary key refuses a second row for one batch. */
  CHECK(floe_control_insert(&ctl, "orders", 9, "run-c", NULL, "load", &err) < 0);
  CHECK_OK(floe_control_history(&ctl, "orders", &rows, &err), &err);
  REQUIRE(rows.n == 3);
  CHECK_INT_EQ(rows.rows[0].batch_sk, 0);
  CHECK_STR_EQ(rows.rows[0].kind, "init");
  CHECK(rows.rows[0].watermark == NULL);
  CHECK_INT_EQ(rows.rows[2].batch_sk, 9);
  CHECK_STR_EQ(rows.rows[2].run_id, "run-b");
  CHECK_STR_EQ(rows.rows[2].watermark, "2024-01-01 10:00:00");
  CHECK(rows.rows[2].inserted_at != NULL && strlen(rows.rows[2].inserted_at) >= 19);
  CHECK_INT_EQ(floe_control_rows_latest(&rows)->batch_sk, 9);
  floe_control_rows_free(&rows);

  int64_t deleted = -1;
  /* Guarded: another run's row, or a row that is not the latest, stays. */
  CHECK_OK(floe_control_compensate(&ctl, "orders", 9, "run-x", &deleted, &err), &err);
  CHECK_INT_EQ(deleted, 0);
  CHECK_OK(floe_control_compensate(&ctl, "orders", 5, "run-a", &deleted, &err), &err);
  CHECK_INT_EQ(deleted, 0);
  CHECK_OK(floe_control_compensate(&ctl, "orders", 9, "run-b", &deleted, &err), &err);
  CHECK_INT_EQ(deleted, 1);
  CHECK_OK(floe_control_history(&ctl, "orders", &rows, &err), &err);
  CHECK_INT_EQ(rows.n, 2);
  floe_control_rows_free(&rows);
  CHECK_OK(floe_control_history(&ctl, "other", &rows, &err), &err);
  CHECK_INT_EQ(rows.n, 1);
  floe_control_rows_free(&rows);
  /* The latest query the shipped file offers agrees. */
  int64_t latest = 0;
  bool is_null = true;
  floe_source_param p = floe_param_text("orders");
  CHECK_OK(floe_source_query_int64(src, ctl.sql[FLOE_CONTROL_LATEST], &p, 1, &latest, &is_null,
                                   &err),
           &err);
  CHECK(!is_null);
  CHECK_INT_EQ(latest, 5);
  floe_source_param pp[2] = {floe_param_text("orders"), floe_param_int64(5)};
  CHECK_OK(floe_source_query_int64(src, ctl.sql[FLOE_CONTROL_PREVIOUS], pp, 2, &latest, &is_null,
                                   &err),
           &err);
  CHECK_INT_EQ(latest, 0);
  floe_control_close(&ctl);
}

static void test_control_table_protocol_on_sqlite(void) {
  char path[4200];
  snprintf(path, sizeof path, "%s/control.db", test_tmpdir("replicate_control_sqlite"));
  remove(path);
  floe_source_config sc = {0};
  sc.type = FLOE_SOURCE_SQLITE;
  sc.sqlite_path = path;
  sc.sqlite_create = true;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &sc, &err), &err);
  exercise(src, NULL);
  floe_source_close(src);
}

static void test_control_table_protocol_on_postgres(void) {
  /* The server's directory is a fresh one under /tmp: short enough for its
   * socket path, reachable by the postgres user when run as root (a clone
   * under /root is not), and never shared with another ctest process. A
   * server that cannot start fails the test; it never skips. */
  char dir[64] = "/tmp/floe-control-pg.XXXXXX", cmd[9000], conninfo[512] = "";
  REQUIRE(mkdtemp(dir) != NULL);
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh start %s %d", FLOE_SOURCE_DIR, dir,
           (int)getpid());
  FILE *p = popen(cmd, "r");
  REQUIRE(p != NULL);
  if (fgets(conninfo, sizeof conninfo, p) == NULL) conninfo[0] = '\0';
  int status = pclose(p);
  if (status != 0 || conninfo[0] == '\0') {
    TEST_FAIL_AT(__FILE__, __LINE__, "tests/support/pg.sh start %s failed (status %d)", dir,
                 status);
    return;
  }
  conninfo[strcspn(conninfo, "\n")] = '\0';
  floe_source_config sc = {0};
  sc.type = FLOE_SOURCE_POSTGRES;
  char full[700];
  snprintf(full, sizeof full, "%s dbname=postgres", conninfo);
  sc.postgres_conninfo = full;
  floe_source *src = NULL;
  floe_error err = {0};
  int rc = floe_source_open(&src, &sc, &err);
  if (rc == FLOE_OK) {
    CHECK_OK(floe_source_exec(src, "CREATE SCHEMA ops", NULL, 0, NULL, &err), &err);
    exercise(src, "ops");
  } else {
    CHECK_OK(rc, &err);
  }
  floe_source_close(src);
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh stop %s >/dev/null 2>&1", FLOE_SOURCE_DIR, dir);
  if (system(cmd) != 0) fprintf(stderr, "pg.sh stop failed\n");
}

static void test_allocation_failures_leave_nothing_behind(void) {
  for (long n = 1; n < 40; n++) {
    char *sql = NULL;
    floe_error err = {0};
    floe_alloc_fail_after(n);
    int rc = floe_control_sql("sqlite", FLOE_CONTROL_HISTORY, "\"t\"", &sql, &err);
    floe_alloc_fail_after(0);
    if (rc == FLOE_OK) {
      floe_free(sql);
      break;
    }
    CHECK_INT_EQ(rc, FLOE_ENOMEM);
    CHECK(sql == NULL);
  }
}

int main(void) {
  RUN(test_shipped_sql_files_match_the_engine);
  RUN(test_statements_substitute_the_quoted_table);
  RUN(test_minimal_layout_statements_per_dialect);
  RUN(test_control_table_protocol_on_sqlite);
  RUN(test_control_table_protocol_on_postgres);
  RUN(test_allocation_failures_leave_nothing_behind);
  return test_report();
}
