/*
 * tests/unit/test_source_snowflake: the Snowflake driver against the SQL API
 * v2 emulator (tests/snowflake-emulator, Node + DuckDB), started by this
 * test: `node server.mjs --port 0 --state DIR ...`, its LISTENING line
 * read from a pipe. The emulator's admin API (/_emulator/faults, counters,
 * log) injects 429/503/dropped connections, forced 202s and expired tokens,
 * and its per-requestId execution counter proves no statement ran twice.
 * Every floe log line is captured and searched for secrets.
 * Skips with a visible message when node is not installed.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe/log.h"
#include "floe/time.h"
#include "floe/source.h"
#include "source/snowflake_internal.h"
#include "test.h"

static pid_t emu_pid;
static char emu_addr[64];
static char key_path[4200], pub_path[4200], token_file[4200];
static floe_buf log_lines = FLOE_BUF_INIT;

#define ROWS 530
#define ROWS_PER_PARTITION 50
#define PASSPHRASE_ENV "FLOE_TEST_SF_NO_PASSPHRASE"

static void capture_sink(void *ctx, floe_log_level level, const char *line) {
  (void)ctx, (void)level;
  floe_buf_append_str(&log_lines, line);
  floe_buf_append_byte(&log_lines, '\n');
}

/* ---- the emulator process ---- */

static bool start_emulator(const char *dir) {
  char state[4300];
  snprintf(state, sizeof state, "%s/state", dir);
  char rpp[16];
  snprintf(rpp, sizeof rpp, "%d", ROWS_PER_PARTITION);
  int out[2];
  if (pipe(out) != 0) return false;
  emu_pid = fork();
  if (emu_pid < 0) return false;
  if (emu_pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execlp("node", "node", FLOE_SOURCE_DIR "/tests/snowflake-emulator/server.mjs",
           "--port", "0", "--state", state, "--public-key", pub_path, "--oauth-token",
           "oauth-secret-tok3n", "--pat", "pat-secret-tok3n", "--account", "FLOETEST",
           "--rows-per-partition", rpp, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  FILE *f = fdopen(out[0], "r");
  char line[256];
  bool ok = false;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "LISTENING ", 10) == 0) {
      line[strcspn(line, "\r\n")] = '\0';
      snprintf(emu_addr, sizeof emu_addr, "%.60s", line + 10);
      ok = true;
      break;
    }
  }
  /* Keep the pipe open (the emulator may print more); leak it until exit. */
  return ok;
}

static void stop_emulator(void) {
  if (emu_pid > 0) {
    kill(emu_pid, SIGTERM);
    waitpid(emu_pid, NULL, 0);
    emu_pid = 0;
  }
}

static size_t collect(char *data, size_t size, size_t n, void *ctx) {
  floe_buf_append(ctx, data, size * n);
  return size * n;
}

/* Calls the emulator's admin API; returns the parsed JSON answer. */
static json_t *admin(const char *method, const char *path, const char *body) {
  CURL *c = curl_easy_init();
  floe_buf out = FLOE_BUF_INIT;
  char url[256];
  snprintf(url, sizeof url, "http://%s%s", emu_addr, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body != NULL) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_perform(c);
  curl_easy_cleanup(c);
  json_t *doc = json_loadb((const char *)out.data, out.len, 0, NULL);
  floe_buf_free(&out);
  return doc;
}

static void admin_do(const char *method, const char *path, const char *body) {
  json_t *doc = admin(method, path, body);
  if (doc != NULL) json_decref(doc);
}

static int64_t counter(const char *group, const char *name) {
  json_t *doc = admin("GET", "/_emulator/counters", NULL);
  int64_t v = json_integer_value(json_object_get(json_object_get(doc, group), name));
  json_decref(doc);
  return v;
}

/* The largest execution count of any requestId (1 = nothing ran twice). */
static int64_t max_executions(void) {
  json_t *doc = admin("GET", "/_emulator/counters", NULL);
  json_t *ex = json_object_get(doc, "executions");
  const char *k;
  json_t *v;
  int64_t max = 0;
  json_object_foreach(ex, k, v) if (json_integer_value(v) > max) max = json_integer_value(v);
  json_decref(doc);
  return max;
}

/* ---- opening ---- */

static floe_source_config keypair_config(void) {
  floe_source_config cfg = {0};
  cfg.type = FLOE_SOURCE_SNOWFLAKE;
  cfg.snowflake_account = "floetest";
  cfg.snowflake_user = "floe_user";
  cfg.snowflake_private_key_file = key_path;
  cfg.snowflake_warehouse = "TEST_WH";
  cfg.snowflake_database = "FLOE_TEST";
  cfg.snowflake_schema = "PUBLIC";
  cfg.snowflake_host = emu_addr;
  cfg.snowflake_backoff_base_ms = 5;
  cfg.snowflake_poll_max_ms = 20;
  cfg.snowflake_statement_timeout_s = 60;
  return cfg;
}

static bool ready;

static void setup(void) {
  if (system("node --version >/dev/null 2>&1") != 0) return;
  if (system("cd " FLOE_SOURCE_DIR "/tests/snowflake-emulator && "
             "(test -d node_modules/@duckdb || npm ci --silent >/dev/null 2>&1)") != 0)
    return;
  const char *dir = test_tmpdir("source_snowflake");
  if (dir == NULL) return;
  char abs[4096];
  if (realpath(dir, abs) == NULL) return;
  snprintf(key_path, sizeof key_path, "%s/key.p8", abs);
  snprintf(pub_path, sizeof pub_path, "%s/key.pub", abs);
  snprintf(token_file, sizeof token_file, "%s/token.txt", abs);
  char cmd[13000];
  snprintf(cmd, sizeof cmd,
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null "
           "&& openssl pkey -in %s -pubout -out %s 2>/dev/null",
           key_path, key_path, pub_path);
  if (system(cmd) != 0) return;
  if (!start_emulator(abs)) return;
  floe_log_set_sink(capture_sink, NULL);
  floe_log_set_level(FLOE_LOG_TRACE);
  ready = true;
}

#define NEED_EMULATOR()                                                     \
  do {                                                                      \
    if (!ready) SKIP("node (and the snowflake emulator) not available");    \
    admin_do("POST", "/_emulator/reset", "{}");                             \
  } while (0)

static void test_create_and_load_rows(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  CHECK_STR_EQ(floe_source_dialect(src), "snowflake");
  REQUIRE_OK(floe_source_exec(src,
                              "CREATE OR REPLACE TABLE items (id NUMBER(18,0) NOT NULL, "
                              "price NUMBER(10,2), name VARCHAR, big NUMBER(38,0), "
                              "r FLOAT, ok BOOLEAN, d DATE, ts TIMESTAMP_NTZ, "
                              "tz TIMESTAMP_TZ, b BINARY, v VARIANT, PRIMARY KEY (id))",
                              NULL, 0, NULL, &err),
             &err);
  floe_buf sql = FLOE_BUF_INIT;
  floe_buf_append_str(&sql, "INSERT INTO items (id, price, name, big, r, ok, d, ts) VALUES ");
  for (int i = 1; i <= ROWS; i++)
    floe_buf_appendf(&sql,
                     "%s(%d, %d.%02d, 'name \"%d\" \xc3\xa9', %d000000000000000000000, %d.5, %s, "
                     "'1969-12-%02d', '1969-12-31 23:59:59.%06d')",
                     i > 1 ? "," : "", i, i % 2 ? -i : i, i % 100, i, i, i, i % 2 ? "TRUE" : "FALSE",
                     1 + i % 28, i);
  floe_buf_terminate(&sql);
  int64_t rows = 0;
  CHECK_OK(floe_source_exec(src, (const char *)sql.data, NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, ROWS);
  floe_buf_free(&sql);
  /* Bound parameters of each kind. */
  floe_source_param params[3] = {floe_param_int64(ROWS + 1), floe_param_text("it's \"bound\""),
                                 floe_param_blob("\x00\xff", 2)};
  CHECK_OK(floe_source_exec(src, "INSERT INTO items (id, name, b) VALUES (?, ?, ?)", params, 3,
                            &rows, &err),
           &err);
  CHECK_INT_EQ(rows, 1);
  floe_source_close(src);
}

static void test_describe_maps_types_and_primary_key(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  floe_source_table t = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_describe(src, "items", &t, &err), &err);
  REQUIRE(t.exists);
  REQUIRE(t.n_columns == 11);
  CHECK_STR_EQ(t.columns[0].name, "ID");
  CHECK_INT_EQ(t.columns[0].type.id, FLOE_ARROW_INT64);
  CHECK(!t.columns[0].nullable);
  CHECK_INT_EQ(t.columns[0].pk_ordinal, 1);
  CHECK_INT_EQ(t.columns[1].type.id, FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(t.columns[1].type.precision, 10);
  CHECK_INT_EQ(t.columns[1].type.scale, 2);
  CHECK_INT_EQ(t.columns[1].pk_ordinal, 0);
  CHECK_INT_EQ(t.columns[2].type.id, FLOE_ARROW_UTF8);
  CHECK_INT_EQ(t.columns[3].type.id, FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(t.columns[3].type.precision, 38);
  CHECK_INT_EQ(t.columns[4].type.id, FLOE_ARROW_DOUBLE);
  CHECK_INT_EQ(t.columns[5].type.id, FLOE_ARROW_BOOL);
  CHECK_INT_EQ(t.columns[6].type.id, FLOE_ARROW_DATE32);
  CHECK_INT_EQ(t.columns[7].type.id, FLOE_ARROW_TIMESTAMP_US);
  CHECK_INT_EQ(t.columns[8].type.id, FLOE_ARROW_TIMESTAMP_US_TZ);
  CHECK_INT_EQ(t.columns[9].type.id, FLOE_ARROW_BINARY);
  CHECK_INT_EQ(t.columns[10].type.id, FLOE_ARROW_UTF8);
  floe_source_table_free(&t);
  REQUIRE_OK(floe_source_describe(src, "PUBLIC.no_such_table", &t, &err), &err);
  CHECK(!t.exists);
  floe_source_table_free(&t);
  floe_source_close(src);
}

/* Reads the whole table with the described columns; checks every row. */
static void read_all(floe_source *src, int64_t *out_rows, double *out_price_sum,
                     floe_error *err) {
  floe_source_table t = {0};
  floe_source_stream *stream = NULL;
  *out_rows = 0;
  *out_price_sum = 0;
  REQUIRE_OK(floe_source_describe(src, "items", &t, err), err);
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, price, name, big, r, ok, d, ts, tz, b, v FROM items WHERE id <= ? "
             "ORDER BY id";
  floe_source_param limit = floe_param_int64(ROWS);
  spec.params = &limit;
  spec.n_params = 1;
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  spec.batch_rows = 128;
  spec.table = "items";
  REQUIRE_OK(floe_source_query(src, &spec, &stream, err), err);
  struct ArrowArray batch;
  int rc;
  int64_t expect_id = 1;
  while ((rc = floe_source_stream_next(stream, &batch, err)) == 1) {
    const struct ArrowSchema *schema = floe_source_stream_schema(stream);
    floe_arrow_view id, price, name, d, ts;
    floe_arrow_view_init(&id, schema->children[0], batch.children[0], err);
    floe_arrow_view_init(&price, schema->children[1], batch.children[1], err);
    floe_arrow_view_init(&name, schema->children[2], batch.children[2], err);
    floe_arrow_view_init(&d, schema->children[6], batch.children[6], err);
    floe_arrow_view_init(&ts, schema->children[7], batch.children[7], err);
    for (int64_t i = 0; i < batch.length; i++, expect_id++) {
      int64_t v = floe_arrow_view_int64(&id, i);
      if (v != expect_id) {
        TEST_FAIL_AT(__FILE__, __LINE__, "row %lld: id %lld", (long long)expect_id,
                     (long long)v);
        break;
      }
      floe_int128 p = floe_arrow_view_decimal(&price, i);
      int64_t want = (v % 2 ? -v : v) * 100 + v % 100;
      if (v % 2) want = -(v * 100 + v % 100);
      if (p != want)
        TEST_FAIL_AT(__FILE__, __LINE__, "row %lld: price %lld want %lld", (long long)v,
                     (long long)p, (long long)want);
      *out_price_sum += (double)p / 100;
      char want_name[64];
      snprintf(want_name, sizeof want_name, "name \"%lld\" \xc3\xa9", (long long)v);
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(&name, i, &len);
      if (len != strlen(want_name) || memcmp(bytes, want_name, len) != 0)
        TEST_FAIL_AT(__FILE__, __LINE__, "row %lld: name '%.*s'", (long long)v, (int)len,
                     (const char *)bytes);
      /* 1969-12-(1 + v % 28) is -31 + v % 28 days. */
      if (floe_arrow_view_int32(&d, i) != -31 + (int32_t)(v % 28))
        TEST_FAIL_AT(__FILE__, __LINE__, "row %lld: date %d", (long long)v,
                     floe_arrow_view_int32(&d, i));
      if (floe_arrow_view_int64(&ts, i) != -1000000 + v)
        TEST_FAIL_AT(__FILE__, __LINE__, "row %lld: ts %lld", (long long)v,
                     (long long)floe_arrow_view_int64(&ts, i));
    }
    *out_rows += batch.length;
    floe_arrow_array_release(&batch);
  }
  CHECK_INT_EQ(rc, 0);
  if (rc < 0) printf("    %s\n", err->message);
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
}

static void test_query_reads_every_partition_gzip(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t rows;
  double sum;
  read_all(src, &rows, &sum, &err);
  CHECK_INT_EQ(rows, ROWS);
  /* ceil(530 / 50) = 11 partitions: 10 fetched after the first. */
  CHECK_INT_EQ(counter("requests", "partition"), (ROWS + ROWS_PER_PARTITION - 1) / ROWS_PER_PARTITION - 1);
  /* Every partition request asked for gzip. */
  json_t *log = admin("GET", "/_emulator/log", NULL);
  size_t i;
  json_t *e;
  int gz = 0, parts = 0;
  json_array_foreach(json_object_get(log, "requests"), i, e) {
    const char *part = json_string_value(json_object_get(json_object_get(e, "query"), "partition"));
    if (part == NULL) continue;
    parts++;
    const char *enc = json_string_value(
        json_object_get(json_object_get(e, "headers"), "accept-encoding"));
    if (enc != NULL && strstr(enc, "gzip") != NULL) gz++;
    /* Context in every request body: the submit bodies are checked below. */
  }
  CHECK(parts >= 10);
  CHECK_INT_EQ(gz, parts);
  json_array_foreach(json_object_get(log, "requests"), i, e) {
    const char *body = json_string_value(json_object_get(e, "body"));
    const char *method = json_string_value(json_object_get(e, "method"));
    const char *type = json_string_value(json_object_get(
        json_object_get(e, "headers"), "x-snowflake-authorization-token-type"));
    CHECK(type != NULL && strcmp(type, "KEYPAIR_JWT") == 0);
    if (strcmp(method, "POST") != 0 || body == NULL || *body == '\0') continue;
    json_t *b = json_loads(body, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "warehouse")), "TEST_WH");
    CHECK_STR_EQ(json_string_value(json_object_get(b, "database")), "FLOE_TEST");
    CHECK_STR_EQ(json_string_value(json_object_get(b, "schema")), "PUBLIC");
    json_decref(b);
  }
  json_decref(log);
  floe_source_close(src);
}

static void test_untyped_query_infers_from_row_type(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t n = 0;
  bool is_null = true;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM items WHERE ok", NULL, 0, &n,
                                     &is_null, &err),
             &err);
  CHECK(!is_null);
  CHECK_INT_EQ(n, ROWS / 2);
  char *text = NULL;
  floe_source_param id = floe_param_int64(ROWS + 1);
  REQUIRE_OK(floe_source_query_text(src, "SELECT name FROM items WHERE id = ?", &id, 1, &text,
                                    &err),
             &err);
  CHECK_STR_EQ(text, "it's \"bound\"");
  floe_free(text);
  floe_source_close(src);
}

static void test_202_is_polled(void) {
  NEED_EMULATOR();
  admin_do("POST", "/_emulator/faults", "{\"type\":\"async\",\"polls\":3}");
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t n = 0;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT max(id) FROM items", NULL, 0, &n, NULL, &err),
             &err);
  CHECK_INT_EQ(n, ROWS + 1);
  CHECK(counter("requests", "status") >= 3);
  floe_source_close(src);
}

static void test_422_carries_code_and_sqlstate(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t n;
  int rc = floe_source_query_int64(src, "SELECT nope FROM missing_table_xyz", NULL, 0, &n, NULL,
                                   &err);
  CHECK_INT_EQ(rc, FLOE_ESOURCE);
  CHECK(strstr(err.message, "HTTP 422") != NULL);
  CHECK(strstr(err.message, "SQLSTATE") != NULL);
  CHECK(strstr(err.message, "Snowflake error") != NULL);
  CHECK(strstr(err.message, "source snowflake") != NULL);
  floe_source_close(src);
}

static void test_retries_never_run_a_statement_twice(void) {
  NEED_EMULATOR();
  /* 503 and 429 before execution, then a 503 after the statement ran (the
   * client must resubmit the same requestId), and dropped partition
   * bodies. */
  admin_do("POST", "/_emulator/faults",
           "[{\"type\":\"status\",\"endpoint\":\"submit\",\"status\":503,\"count\":2},"
           "{\"type\":\"status\",\"endpoint\":\"submit\",\"status\":429,\"retryAfter\":0},"
           "{\"type\":\"status\",\"endpoint\":\"submit\",\"status\":504,\"after\":true},"
           "{\"type\":\"drop\",\"endpoint\":\"partition\",\"count\":2}]");
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t rows = 0;
  floe_source_param p[2] = {floe_param_int64(ROWS + 2), floe_param_text("retried")};
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO items (id, name) VALUES (?, ?)", p, 2, &rows,
                              &err),
             &err);
  CHECK_INT_EQ(rows, 1);
  CHECK_INT_EQ(max_executions(), 1);
  int64_t n = 0;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM items WHERE id = :1", p, 1, &n,
                                     NULL, &err),
             &err);
  CHECK_INT_EQ(n, 1);
  /* The resubmission said retry=true. */
  json_t *log = admin("GET", "/_emulator/log", NULL);
  size_t i;
  json_t *e;
  int retry_true = 0;
  json_array_foreach(json_object_get(log, "requests"), i, e) {
    const char *r = json_string_value(json_object_get(json_object_get(e, "query"), "retry"));
    if (r != NULL && strcmp(r, "true") == 0) retry_true++;
  }
  CHECK(retry_true >= 4);
  json_decref(log);
  /* Dropped partitions are fetched again. */
  int64_t total;
  double sum;
  read_all(src, &total, &sum, &err);
  CHECK_INT_EQ(total, ROWS);
  CHECK_INT_EQ(max_executions(), 1);
  /* Bounded: a fault that never ends fails after max_attempts. */
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"status\",\"endpoint\":\"submit\",\"status\":503,\"count\":100}");
  int rc = floe_source_query_int64(src, "SELECT 1", NULL, 0, &n, NULL, &err);
  CHECK_INT_EQ(rc, FLOE_ENETWORK);
  CHECK(strstr(err.message, "gave up after 8 attempts") != NULL);
  admin_do("DELETE", "/_emulator/faults", NULL);
  floe_source_close(src);
}

static void test_401_refreshes_the_token_once(void) {
  NEED_EMULATOR();
  /* An OAuth token file that holds a stale token at open and the good one
   * by the first request: the 401 makes the driver read it again. */
  FILE *f = fopen(token_file, "w");
  REQUIRE(f != NULL);
  fputs("stale-secret-tok3n\n", f);
  fclose(f);
  floe_source_config cfg = keypair_config();
  cfg.snowflake_authenticator = "oauth";
  cfg.snowflake_token_file = token_file;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  f = fopen(token_file, "w");
  REQUIRE(f != NULL);
  fputs("  oauth-secret-tok3n \n", f);
  fclose(f);
  int64_t n = 0;
  CHECK_OK(floe_source_query_int64(src, "SELECT 42", NULL, 0, &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 42);
  floe_source_close(src);

  /* JWTs: an expired-token fault that persists fails after one refresh. */
  cfg = keypair_config();
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  admin_do("POST", "/_emulator/faults", "{\"type\":\"expireTokens\"}");
  int64_t before = counter("requests", "submit");
  int rc = floe_source_query_int64(src, "SELECT 1", NULL, 0, &n, NULL, &err);
  CHECK_INT_EQ(rc, FLOE_ESOURCE);
  CHECK(strstr(err.message, "HTTP 401") != NULL);
  CHECK_INT_EQ(counter("requests", "submit") - before, 2);
  admin_do("DELETE", "/_emulator/faults", NULL);
  CHECK_OK(floe_source_query_int64(src, "SELECT 7", NULL, 0, &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 7);
  floe_source_close(src);

  /* A programmatic access token from an environment variable. */
  setenv("FLOE_TEST_SF_PAT", "pat-secret-tok3n", 1);
  cfg = keypair_config();
  cfg.snowflake_authenticator = "pat";
  cfg.snowflake_token_env = "FLOE_TEST_SF_PAT";
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  CHECK_OK(floe_source_query_int64(src, "SELECT 8", NULL, 0, &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 8);
  floe_source_close(src);
}

static void test_transaction_is_one_multi_statement_request(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE ledger (k VARCHAR, n NUMBER(38,0))",
                              NULL, 0, NULL, &err),
             &err);
  int64_t before = counter("requests", "submit");
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  floe_source_param a[2] = {floe_param_text("a"), floe_param_int64(1)};
  floe_source_param b[2] = {floe_param_text("b"), floe_param_int64(2)};
  CHECK_OK(floe_source_exec(src, "INSERT INTO ledger VALUES (:1, :2)", a, 2, NULL, &err), &err);
  CHECK_OK(floe_source_exec(src, "INSERT INTO ledger VALUES (?, ?)", b, 2, NULL, &err), &err);
  CHECK_INT_EQ(counter("requests", "submit") - before, 0);
  CHECK_OK(floe_source_commit(src, &err), &err);
  CHECK_INT_EQ(counter("requests", "submit") - before, 1);
  int64_t n = 0;
  CHECK_OK(floe_source_query_int64(src, "SELECT sum(n) FROM ledger WHERE k IN ('a', 'b')", NULL,
                                   0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 3);
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  CHECK_OK(floe_source_exec(src, "DELETE FROM ledger", NULL, 0, NULL, &err), &err);
  CHECK_OK(floe_source_rollback(src, &err), &err);
  CHECK_OK(floe_source_query_int64(src, "SELECT count(*) FROM ledger", NULL, 0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 2);
  /* A script without parameters is one multi-statement request. */
  int64_t rows = -1;
  CHECK_OK(floe_source_exec(src, "INSERT INTO ledger VALUES ('c', 3); DELETE FROM ledger WHERE k = 'a'",
                            NULL, 0, &rows, &err),
           &err);
  CHECK_INT_EQ(rows, 1);
  CHECK_OK(floe_source_query_int64(src, "SELECT sum(n) FROM ledger", NULL, 0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 5);
  floe_source_close(src);
}

static volatile sig_atomic_t interrupt_flag;

static void test_interrupt_cancels_the_statement(void) {
  NEED_EMULATOR();
  admin_do("POST", "/_emulator/faults", "{\"type\":\"async\",\"polls\":1000}");
  floe_source_config cfg = keypair_config();
  cfg.interrupt = &interrupt_flag;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  interrupt_flag = 1; /* as a SIGINT handler would */
  int64_t n;
  int rc = floe_source_query_int64(src, "SELECT count(*) FROM items", NULL, 0, &n, NULL, &err);
  interrupt_flag = 0;
  CHECK_INT_EQ(rc, FLOE_ECANCELED);
  CHECK_INT_EQ(counter("requests", "cancel"), 1);
  admin_do("DELETE", "/_emulator/faults", NULL);
  floe_source_close(src);
}

static void test_bad_configuration(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  cfg.snowflake_host = "http://example.com:80";
  CHECK(floe_source_open(&src, &cfg, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "loopback") != NULL);
  cfg = keypair_config();
  cfg.snowflake_authenticator = "password";
  CHECK(floe_source_open(&src, &cfg, &err) == FLOE_EINVAL);
  cfg = keypair_config();
  cfg.snowflake_authenticator = "oauth";
  cfg.snowflake_token_env = "FLOE_TEST_SF_UNSET_VARIABLE";
  CHECK(floe_source_open(&src, &cfg, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "FLOE_TEST_SF_UNSET_VARIABLE") != NULL);
  cfg = keypair_config();
  cfg.snowflake_private_key_passphrase_env = PASSPHRASE_ENV;
  CHECK(floe_source_open(&src, &cfg, &err) == FLOE_EINVAL);
  cfg = keypair_config();
  cfg.snowflake_user = "someone_else"; /* the key is not registered for... any user passes; */
  cfg.snowflake_account = "otheraccount";
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t n;
  CHECK(floe_source_query_int64(src, "SELECT 1", NULL, 0, &n, NULL, &err) == FLOE_ESOURCE);
  CHECK(strstr(err.message, "HTTP 401") != NULL);
  floe_source_close(src);
}

static void test_no_secret_in_any_log_line(void) {
  NEED_EMULATOR();
  floe_buf_terminate(&log_lines);
  const char *text = log_lines.data ? (const char *)log_lines.data : "";
  CHECK(strlen(text) > 0);
  CHECK(strstr(text, "snowflake.http") != NULL);
  CHECK(strstr(text, "snowflake.retry") != NULL);
  CHECK(strstr(text, "tok3n") == NULL);
  CHECK(strstr(text, "Bearer") == NULL);
  CHECK(strstr(text, "eyJ") == NULL); /* any JWT starts with base64url of {" */
  CHECK(strstr(text, "PRIVATE KEY") == NULL);
  /* The private key's base64 body: look for its first line. */
  FILE *f = fopen(key_path, "r");
  char line[128] = "";
  if (f != NULL) {
    if (fgets(line, sizeof line, f) != NULL && fgets(line, sizeof line, f) != NULL) {
      line[strcspn(line, "\r\n")] = '\0';
      CHECK(strstr(text, line) == NULL);
    }
    fclose(f);
  }
}

/* ---- B1: literals for multi-statement requests ---- */

static void check_literal(floe_source_param p, const char *want) {
  floe_buf b = FLOE_BUF_INIT;
  floe_error err = {0};
  CHECK_OK(floe_sf_literal(&b, &p, &err), &err);
  floe_buf_terminate(&b);
  CHECK_STR_EQ(b.data ? (const char *)b.data : "", want);
  floe_buf_free(&b);
}

static void test_literal_of_every_parameter_type(void) {
  check_literal(floe_param_null(), "NULL");
  check_literal(floe_param_int64(42), "42");
  check_literal(floe_param_int64(-5), "(-5)");
  check_literal(floe_param_int64(INT64_MIN), "(-9223372036854775808)");
  check_literal(floe_param_double(1.5), "CAST('1.5' AS FLOAT)");
  check_literal(floe_param_double(NAN), "CAST('NaN' AS FLOAT)");
  check_literal(floe_param_double(-INFINITY), "CAST('-inf' AS FLOAT)");
  check_literal(floe_param_text("it's"), "'it''s'");
  check_literal(floe_param_text("a\\b;--c"), "'a\\\\b;--c'");
  check_literal(floe_param_text("\xc3\xa9 \"q\" :1 ?"), "'\xc3\xa9 \"q\" :1 ?'");
  {
    floe_source_param nul = {FLOE_PARAM_TEXT, 0, 0.0, "a\0b", 3};
    check_literal(nul, "'a\\0b'");
  }
  check_literal(floe_param_blob("\x00\xff\x10", 3), "TO_BINARY('00FF10', 'HEX')");
  floe_buf b = FLOE_BUF_INIT;
  floe_error err = {0};
  floe_source_param bad = {FLOE_PARAM_TEXT, 0, 0.0, "\xff\xfe", 2};
  CHECK_INT_EQ(floe_sf_literal(&b, &bad, &err), FLOE_EINVAL);
  floe_buf_free(&b);
}

/* A transaction carries its parameters as literals (no "bindings" in the
 * body: Snowflake refuses bind variables in multi-statement requests), and
 * the values the emulator stores are the parameters, byte for byte. */
static void test_transaction_sends_literals_not_bindings(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE lit (k NUMBER(38,0), s VARCHAR, "
                                   "r FLOAT, b BINARY)",
                              NULL, 0, NULL, &err),
             &err);
  const char *nasty = "it's a \\ back'slash; -- not a comment /* nor this */ :1 ? $$";
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  floe_source_param a[4] = {floe_param_int64(-7), floe_param_text(nasty), floe_param_double(-2.5),
                            floe_param_blob("\x00\xff", 2)};
  CHECK_OK(floe_source_exec(src, "INSERT INTO lit VALUES (:1, :2, :3, :4)", a, 4, NULL, &err), &err);
  floe_source_param d = floe_param_int64(-7);
  CHECK_OK(floe_source_exec(src, "DELETE FROM lit WHERE k = ? - -7", &d, 1, NULL, &err), &err);
  CHECK_OK(floe_source_commit(src, &err), &err);
  /* The request floe sent: one statement text, no bindings. */
  json_t *log = admin("GET", "/_emulator/log", NULL);
  json_t *reqs = json_object_get(log, "requests");
  const char *body = NULL;
  for (size_t i = json_array_size(reqs); i > 0 && body == NULL; i--) {
    const char *b = json_string_value(json_object_get(json_array_get(reqs, i - 1), "body"));
    if (b != NULL && strstr(b, "BEGIN TRANSACTION") != NULL) body = b;
  }
  REQUIRE(body != NULL);
  json_t *doc = json_loads(body, 0, NULL);
  CHECK(json_object_get(doc, "bindings") == NULL);
  const char *stmt = json_string_value(json_object_get(doc, "statement"));
  CHECK(stmt != NULL && strstr(stmt, "(-7)") != NULL);
  json_decref(doc);
  json_decref(log);
  char *text = NULL;
  CHECK_OK(floe_source_query_text(src, "SELECT s FROM lit WHERE k = -7", NULL, 0, &text, &err),
           &err);
  CHECK_STR_EQ(text ? text : "(null)", nasty);
  floe_free(text);
  int64_t n = 0;
  CHECK_OK(floe_source_query_int64(src, "SELECT count(*) FROM lit WHERE r = -2.5 AND b = "
                                        "TO_BINARY('00FF', 'HEX')",
                                   NULL, 0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 1);
  /* A script with parameters outside a transaction: literals too. */
  floe_source_param two[2] = {floe_param_int64(8), floe_param_text("x'y")};
  CHECK_OK(floe_source_exec(src, "INSERT INTO lit (k, s) VALUES (?, ?); INSERT INTO lit (k, s) "
                                 "VALUES (:1 + 1, :2)",
                            two, 2, NULL, &err),
           &err);
  CHECK_OK(floe_source_query_int64(src, "SELECT count(*) FROM lit WHERE s = 'x''y' AND k IN (8, 9)",
                                   NULL, 0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 2);
  floe_source_close(src);
}

/* ---- B4: a failure inside a transaction rolls it back in the request ---- */

static void test_failed_transaction_rolls_back_in_the_same_request(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE txn (k NUMBER(38,0))", NULL, 0, NULL,
                              &err),
             &err);
  int64_t before = counter("requests", "submit");
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  floe_source_param one = floe_param_int64(1);
  CHECK_OK(floe_source_exec(src, "INSERT INTO txn VALUES (?);", &one, 1, NULL, &err), &err);
  CHECK_OK(floe_source_exec(src, "INSERT INTO no_such_table VALUES (1)", NULL, 0, NULL, &err),
           &err);
  CHECK_INT_EQ(floe_source_commit(src, &err), FLOE_ESOURCE);
  CHECK(strstr(err.message, "transaction rolled back") != NULL);
  CHECK(strstr(err.message, "002003") != NULL); /* the failing statement's own error */
  CHECK_INT_EQ(counter("requests", "submit") - before, 1);
  json_t *doc = admin("GET", "/_emulator/counters", NULL);
  CHECK_INT_EQ(json_integer_value(json_object_get(doc, "blockRollbacks")), 1);
  CHECK_INT_EQ(json_integer_value(json_object_get(doc, "detachedTransactions")), 0);
  json_decref(doc);
  int64_t n = -1;
  CHECK_OK(floe_source_query_int64(src, "SELECT count(*) FROM txn", NULL, 0, &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 0);
  /* The same statements as a plain multi-statement request would leave
   * the transaction detached: the emulator counts it (what floe avoids). */
  CHECK_INT_EQ(floe_source_exec(src, "BEGIN TRANSACTION; INSERT INTO txn VALUES (2); INSERT INTO "
                                     "no_such_table VALUES (1); COMMIT",
                                NULL, 0, NULL, &err),
               FLOE_ESOURCE);
  doc = admin("GET", "/_emulator/counters", NULL);
  CHECK_INT_EQ(json_integer_value(json_object_get(doc, "detachedTransactions")), 1);
  json_decref(doc);
  floe_source_close(src);
}

/* ---- B10: VECTOR, MAP, DECFLOAT, GEOGRAPHY map to strings at discovery ---- */

static void test_newer_types_map_to_strings(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  floe_source *src = NULL;
  floe_error err = {0};
  floe_source_table t = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE newer (id NUMBER(9,0), "
                                   "emb VECTOR(FLOAT, 3), attrs MAP(VARCHAR, NUMBER), "
                                   "amount DECFLOAT, place GEOGRAPHY); "
                                   "INSERT INTO newer VALUES (1, '[1.5,2,3]', '{\"a\":1}', "
                                   "'1.2345678901234567890123456789012345678E+400', "
                                   "'{\"type\":\"Point\",\"coordinates\":[1,2]}')",
                              NULL, 0, NULL, &err),
             &err);
  REQUIRE_OK(floe_source_describe(src, "newer", &t, &err), &err);
  REQUIRE(t.n_columns == 5);
  const char *declared[5] = {"NUMBER(9,0)", "VECTOR", "MAP", "DECFLOAT", "GEOGRAPHY"};
  for (int i = 1; i < 5; i++) {
    CHECK_INT_EQ(t.columns[i].type.id, FLOE_ARROW_UTF8);
    CHECK_STR_EQ(t.columns[i].declared_type, declared[i]);
  }
  const char *cols[5] = {"id", "emb", "attrs", "amount", "place"};
  const char *want[5] = {"1", "[1.5,2,3]", "{\"a\":1}",
                         "1.2345678901234567890123456789012345678E+400",
                         "{\"type\":\"Point\",\"coordinates\":[1,2]}"};
  for (int i = 0; i < 5; i++) {
    char sql[64], *text = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM newer", cols[i]);
    CHECK_OK(floe_source_query_text(src, sql, NULL, 0, &text, &err), &err);
    CHECK_STR_EQ(text ? text : "(null)", want[i]);
    floe_free(text);
  }
  floe_source_table_free(&t);
  floe_source_close(src);
}

/* ---- B8: partitions decoded in bounded batches ---- */

/* Largest "rows=" of the snowflake.batch log lines since `from`, and how
 * many there were. */
static int64_t max_batch_logged(size_t from, int64_t *count) {
  floe_buf_terminate(&log_lines);
  const char *p = (const char *)log_lines.data + from;
  int64_t max = 0;
  *count = 0;
  while ((p = strstr(p, "snowflake.batch")) != NULL) {
    const char *r = strstr(p, "rows=");
    const char *eol = strchr(p, '\n');
    if (r != NULL && (eol == NULL || r < eol)) {
      int64_t n = strtoll(r + 5, NULL, 10);
      if (n > max) max = n;
      (*count)++;
    }
    p += 15;
  }
  return max;
}

static int64_t read_ids(floe_source *src, int64_t batch_rows, int64_t *out_sum, floe_error *err) {
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, pad FROM wide ORDER BY id";
  spec.batch_rows = batch_rows;
  floe_source_stream *stream = NULL;
  int64_t rows = 0, sum = 0, expect = 1;
  if (floe_source_query(src, &spec, &stream, err) < 0) return -1;
  struct ArrowArray batch;
  int rc;
  while ((rc = floe_source_stream_next(stream, &batch, err)) == 1) {
    floe_arrow_view ids;
    floe_arrow_view_init(&ids, floe_source_stream_schema(stream)->children[0], batch.children[0],
                         err);
    for (int64_t i = 0; i < batch.length; i++) {
      int64_t id = floe_arrow_view_int64(&ids, i);
      if (id != expect) sum = -1000000; /* out of order, repeated or missing */
      expect = id + 1;
      if (sum >= 0) sum += id;
    }
    rows += batch.length;
    floe_arrow_array_release(&batch);
  }
  floe_source_stream_free(stream);
  *out_sum = sum;
  return rc < 0 ? -1 : rows;
}

static void test_large_partitions_are_read_in_bounded_batches(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  /* The one-at-a-time path (pulled, paused transfers). */
  cfg.snowflake_prefetch_partitions = 1;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  /* 600 rows of about 1 KB: 50-row partitions of about 50 KB, several
   * network chunks each; the first partition (in the POST answer) too. */
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE wide AS SELECT range + 1 AS id, "
                                   "repeat('x', 1000) AS pad FROM range(600)",
                              NULL, 0, NULL, &err),
             &err);
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 50}");
  size_t from = log_lines.len;
  int64_t sum = 0;
  CHECK_INT_EQ(read_ids(src, 10, &sum, &err), 600);
  CHECK_INT_EQ(sum, 600 * 601 / 2);
  int64_t batches = 0;
  int64_t max = max_batch_logged(from, &batches);
  /* A batch is batch_rows plus at most one 16 KiB network chunk of rows. */
  CHECK(max >= 10 && max <= 10 + 17);
  CHECK(batches > 12); /* more batches than partitions: partitions were split */
  /* One big partition: the first one, beyond the POST answer's cap, is
   * fetched again, pulled, from where the cap stopped. */
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 1000}");
  from = log_lines.len;
  CHECK_INT_EQ(read_ids(src, 64, &sum, &err), 600);
  CHECK_INT_EQ(sum, 600 * 601 / 2);
  max = max_batch_logged(from, &batches);
  CHECK(max <= 64 + 17);
  CHECK(batches >= 600 / (64 + 17));
  /* A connection dropped in the middle of a partition, after some of its
   * batches were delivered: the retry skips them, no row twice or lost. */
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 200}");
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"drop\",\"endpoint\":\"partition\",\"partition\":1,"
           "\"afterBytes\":120000}");
  from = log_lines.len;
  CHECK_INT_EQ(read_ids(src, 16, &sum, &err), 600);
  CHECK_INT_EQ(sum, 600 * 601 / 2);
  /* The drop came after batches of partition 1 had been delivered. */
  floe_buf_terminate(&log_lines);
  const char *text = (const char *)log_lines.data + from;
  const char *first_batch = strstr(text, "partition=1 rows=");
  const char *retry = strstr(text, "snowflake.retry");
  CHECK(first_batch != NULL && retry != NULL && first_batch < retry);
  admin_do("DELETE", "/_emulator/faults", NULL);
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 50}");
  floe_source_close(src);
}

/* ---- partitions in flight (source.prefetch_partitions) ---- */

/* Reads SELECT id FROM wide in batches of 16, checking ids 1, 2, 3, ...;
 * *out_rows gets the rows delivered (also when the read fails). */
static int read_ids_counted(floe_source *src, int64_t *out_rows, floe_error *err) {
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, pad FROM wide ORDER BY id";
  spec.batch_rows = 16;
  floe_source_stream *stream = NULL;
  int64_t expect = 1;
  *out_rows = 0;
  int rc = floe_source_query(src, &spec, &stream, err);
  if (rc < 0) return rc;
  struct ArrowArray batch;
  while ((rc = floe_source_stream_next(stream, &batch, err)) == 1) {
    floe_arrow_view ids;
    floe_arrow_view_init(&ids, floe_source_stream_schema(stream)->children[0], batch.children[0],
                         err);
    for (int64_t i = 0; i < batch.length; i++)
      if (floe_arrow_view_int64(&ids, i) != expect++) rc = -1000;
    *out_rows += batch.length;
    floe_arrow_array_release(&batch);
    if (rc == -1000) break;
  }
  floe_source_stream_free(stream);
  return rc;
}

static void test_partitions_in_flight_arrive_in_order(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  cfg.snowflake_prefetch_partitions = 4;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "CREATE OR REPLACE TABLE wide AS SELECT range + 1 AS id, "
                                   "repeat('x', 1000) AS pad FROM range(600)",
                              NULL, 0, NULL, &err),
             &err);
  /* 12 partitions of 50 rows; every later one answers after 100 ms, so
   * the fetches overlap. */
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 50}");
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"delay\",\"endpoint\":\"partition\",\"ms\":100,\"count\":11}");
  int64_t rows = 0;
  CHECK_OK(read_ids_counted(src, &rows, &err), &err);
  CHECK_INT_EQ(rows, 600);
  CHECK_INT_EQ(counter("requests", "partition"), 11);
  json_t *doc = admin("GET", "/_emulator/counters", NULL);
  int64_t in_flight = json_integer_value(json_object_get(doc, "partitionsInFlightMax"));
  json_decref(doc);
  CHECK(in_flight >= 3 && in_flight <= 4); /* never more than prefetch_partitions */

  /* A connection dropped mid-partition, another partition answering 503:
   * each is fetched again on its own; the rows stay in order, once. */
  admin_do("POST", "/_emulator/reset", "{}");
  admin_do("POST", "/_emulator/faults",
           "[{\"type\":\"drop\",\"endpoint\":\"partition\",\"partition\":3,\"afterBytes\":20000},"
           "{\"type\":\"status\",\"endpoint\":\"partition\",\"partition\":6,\"status\":503,"
           "\"retryAfter\":0,\"count\":2}]");
  CHECK_OK(read_ids_counted(src, &rows, &err), &err);
  CHECK_INT_EQ(rows, 600);
  CHECK_INT_EQ(counter("requests", "partition"), 11 + 1 + 2);

  /* A partition that fails for good: the rows of the partitions before it
   * arrive, then its error, naming it; nothing after it is delivered. */
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"status\",\"endpoint\":\"partition\",\"partition\":5,\"status\":500,"
           "\"count\":1}");
  int rc = read_ids_counted(src, &rows, &err);
  CHECK_INT_EQ(rc, FLOE_ESOURCE);
  CHECK(strstr(err.message, "partition 5") != NULL);
  CHECK(strstr(err.message, "HTTP 500") != NULL);
  /* Whole batches of 16 only: the one the error cut short is dropped. */
  CHECK_INT_EQ(rows, 250 / 16 * 16);
  /* Retries exhausted on one partition: the same, after max_attempts. */
  admin_do("DELETE", "/_emulator/faults", NULL);
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"status\",\"endpoint\":\"partition\",\"partition\":9,\"status\":503,"
           "\"retryAfter\":0,\"count\":100}");
  rc = read_ids_counted(src, &rows, &err);
  CHECK_INT_EQ(rc, FLOE_ENETWORK);
  CHECK(strstr(err.message, "partition 9") != NULL);
  CHECK(strstr(err.message, "gave up after 8 attempts") != NULL);
  CHECK_INT_EQ(rows, 450 / 16 * 16);
  admin_do("DELETE", "/_emulator/faults", NULL);

  /* A stream closed while partitions are in flight: the workers stop and
   * the connection serves the next statement. */
  admin_do("POST", "/_emulator/faults",
           "{\"type\":\"delay\",\"endpoint\":\"partition\",\"ms\":300,\"count\":11}");
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id FROM wide ORDER BY id";
  spec.batch_rows = 16;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 1);
  floe_arrow_array_release(&batch);
  double started = floe_monotonic_seconds();
  floe_source_stream_free(stream);
  CHECK(floe_monotonic_seconds() - started < 2.0);
  admin_do("DELETE", "/_emulator/faults", NULL);
  int64_t n = 0;
  CHECK_OK(floe_source_query_int64(src, "SELECT count(*) FROM wide", NULL, 0, &n, NULL, &err),
           &err);
  CHECK_INT_EQ(n, 600);

  /* prefetch_partitions 1: one fetch at a time. */
  floe_source_close(src);
  cfg.snowflake_prefetch_partitions = 1;
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  admin_do("POST", "/_emulator/reset", "{}");
  CHECK_OK(read_ids_counted(src, &rows, &err), &err);
  CHECK_INT_EQ(rows, 600);
  doc = admin("GET", "/_emulator/counters", NULL);
  CHECK_INT_EQ(json_integer_value(json_object_get(doc, "partitionsInFlightMax")), 1);
  json_decref(doc);
  admin_do("POST", "/_emulator/config", "{\"rowsPerPartition\": 50}");
  floe_source_close(src);
}

/* ---- B2: context names resolved as Snowflake resolves identifiers ---- */

static void check_context(const char *in, const char *want) {
  char *out = NULL;
  CHECK_INT_EQ(floe_sf_context_name(in, &out), FLOE_OK);
  if (want == NULL) CHECK(out == NULL);
  else CHECK_STR_EQ(out ? out : "(null)", want);
  floe_free(out);
}

static void test_context_names_follow_identifier_rules(void) {
  check_context("analytics", "ANALYTICS");
  check_context("Load_WH", "LOAD_WH");
  check_context(" sales ", "SALES");
  check_context("\"Mixed Case\"", "Mixed Case");
  check_context("\"a\"\"b\"", "a\"b");
  check_context("", NULL);
  check_context(NULL, NULL);
}

/* Lower-case names in the configuration reach the emulator, which is
 * case-sensitive, upper-cased; a quoted name that matches nothing fails
 * with Snowflake's error. */
static void test_lower_case_context_is_resolved(void) {
  NEED_EMULATOR();
  floe_source_config cfg = keypair_config();
  cfg.snowflake_database = "floe_test";
  cfg.snowflake_schema = "public";
  cfg.snowflake_warehouse = "test_wh";
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  int64_t n = 0;
  CHECK_OK(floe_source_query_int64(src, "SELECT 41 + 1", NULL, 0, &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 42);
  floe_source_close(src);
  cfg.snowflake_database = "\"floe_test\"";
  REQUIRE_OK(floe_source_open(&src, &cfg, &err), &err);
  CHECK_INT_EQ(floe_source_query_int64(src, "SELECT 1", NULL, 0, &n, NULL, &err), FLOE_ESOURCE);
  CHECK(strstr(err.message, "090105") != NULL);
  floe_source_close(src);
}

/* ---- B9: plain HTTP only for real loopback hosts ---- */

static void test_plain_http_only_for_loopback(void) {
  CHECK(floe_sf_host_is_loopback("127.0.0.1:8080"));
  CHECK(floe_sf_host_is_loopback("127.1.2.3"));
  CHECK(floe_sf_host_is_loopback("localhost:9"));
  CHECK(floe_sf_host_is_loopback("LOCALHOST"));
  CHECK(floe_sf_host_is_loopback("[::1]:443"));
  CHECK(floe_sf_host_is_loopback("127.0.0.1/api"));
  CHECK(!floe_sf_host_is_loopback("localhost.example.com"));
  CHECK(!floe_sf_host_is_loopback("localhost.example.com:80"));
  CHECK(!floe_sf_host_is_loopback("127.0.0.1.nip.io"));
  CHECK(!floe_sf_host_is_loopback("127.example.com"));
  CHECK(!floe_sf_host_is_loopback("128.0.0.1"));
  CHECK(!floe_sf_host_is_loopback("[::1].evil"));
  CHECK(!floe_sf_host_is_loopback("127.0.0.256"));
  CHECK(!floe_sf_host_is_loopback("localhost@evil.com"));
  /* Opening refuses a bearer token over http to such a host. */
  floe_source_config cfg = {0};
  cfg.type = FLOE_SOURCE_SNOWFLAKE;
  cfg.snowflake_account = "floetest";
  cfg.snowflake_user = "u";
  cfg.snowflake_authenticator = "oauth";
  cfg.snowflake_token = "secret-tok3n";
  floe_source *src = NULL;
  floe_error err = {0};
  cfg.snowflake_host = "http://localhost.example.com:8080";
  CHECK_INT_EQ(floe_source_open(&src, &cfg, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "loopback") != NULL);
  CHECK(strstr(err.message, "tok3n") == NULL);
  cfg.snowflake_host = "http://127.0.0.1.nip.io";
  CHECK_INT_EQ(floe_source_open(&src, &cfg, &err), FLOE_EINVAL);
  floe_source_close(src);
}

int main(void) {
  setup();
  RUN(test_create_and_load_rows);
  RUN(test_describe_maps_types_and_primary_key);
  RUN(test_query_reads_every_partition_gzip);
  RUN(test_untyped_query_infers_from_row_type);
  RUN(test_202_is_polled);
  RUN(test_422_carries_code_and_sqlstate);
  RUN(test_retries_never_run_a_statement_twice);
  RUN(test_401_refreshes_the_token_once);
  RUN(test_transaction_is_one_multi_statement_request);
  RUN(test_interrupt_cancels_the_statement);
  RUN(test_bad_configuration);
  RUN(test_literal_of_every_parameter_type);
  RUN(test_transaction_sends_literals_not_bindings);
  RUN(test_failed_transaction_rolls_back_in_the_same_request);
  RUN(test_newer_types_map_to_strings);
  RUN(test_large_partitions_are_read_in_bounded_batches);
  RUN(test_partitions_in_flight_arrive_in_order);
  RUN(test_context_names_follow_identifier_rules);
  RUN(test_lower_case_context_is_resolved);
  RUN(test_plain_http_only_for_loopback);
  RUN(test_no_secret_in_any_log_line);
  floe_log_set_sink(NULL, NULL);
  stop_emulator();
  floe_buf_free(&log_lines);
  return test_report();
}
