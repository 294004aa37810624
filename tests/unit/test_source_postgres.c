/*
 * tests/unit/test_source_postgres: the source interface over the PostgreSQL
 * driver, against a real server started on 127.0.0.1 by tests/support/pg.sh
 * (a server that cannot start fails every test, naming the reason). Asserts
 * real values for every mapped type and its edges (integer extremes,
 * numeric extremes, BC and pre-1970 dates, fractional seconds, timestamptz
 * read in UTC, Unicode, empty strings and bytea, NULLs), exact error
 * messages, batch boundaries, bounded memory over a million rows through the
 * server-side cursor, hostile identifiers, native parameters, exec and
 * transactions, and the control-table scalars.
 */
#include <malloc.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe/iceberg.h"
#include "floe/source.h"
#include "floe/time.h"
#include "test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLOE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FLOE_TEST_ASAN 1
#endif
#ifdef FLOE_TEST_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t live_heap_bytes(void) {
  return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t live_heap_bytes(void) { return mallinfo2().uordblks; }
#endif

static char pg_dir[256];
static char pg_conninfo[512];
static const char *pg_skip_reason = "server not started";

static void pg_start(void) {
  snprintf(pg_dir, sizeof pg_dir, "/tmp/floe-source-pg.XXXXXX");
  if (mkdtemp(pg_dir) == NULL) {
    pg_skip_reason = "mkdtemp failed";
    pg_dir[0] = '\0';
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh start '%s'", FLOE_SOURCE_DIR,
           pg_dir);
  FILE *p = popen(cmd, "r");
  if (p == NULL) {
    pg_skip_reason = "cannot run tests/support/pg.sh";
    return;
  }
  if (fgets(pg_conninfo, sizeof pg_conninfo, p) == NULL) pg_conninfo[0] = '\0';
  int status = pclose(p);
  size_t len = strlen(pg_conninfo);
  while (len > 0 && pg_conninfo[len - 1] == '\n') pg_conninfo[--len] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
    pg_skip_reason =
        WIFEXITED(status) && WEXITSTATUS(status) == 77
            ? "PostgreSQL binaries missing (install the Debian package postgresql)"
            : "tests/support/pg.sh could not start PostgreSQL";
    pg_conninfo[0] = '\0';
    rmdir(pg_dir);
    pg_dir[0] = '\0';
  }
}

static void pg_stop(void) {
  if (pg_dir[0] == '\0') return;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh stop '%s'", FLOE_SOURCE_DIR,
           pg_dir);
  if (system(cmd) != 0) printf("pg.sh stop failed\n");
}

static floe_source *pg_open(void) {
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_POSTGRES;
  config.postgres_conninfo = pg_conninfo;
  floe_source *src = NULL;
  floe_error err = {0};
  if (floe_source_open(&src, &config, &err) != 0) {
    printf("  open: %s\n", err.message);
    return NULL;
  }
  return src;
}

#define REQUIRE_SERVER()                                  \
  do {                                                    \
    if (pg_conninfo[0] == '\0') {                        \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s", pg_skip_reason); \
      return;                                             \
    }                                                     \
  } while (0)

static int exec(floe_source *src, const char *sql) {
  floe_error err = {0};
  int rc = floe_source_exec(src, sql, NULL, 0, NULL, &err);
  if (rc != 0) printf("  exec failed: %s\n", err.message);
  return rc;
}

typedef struct read_result {
  floe_source_table table;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  floe_arrow_view views[64];
} read_result;

static void read_result_free(read_result *r) {
  floe_source_table_free(&r->table);
  floe_arrow_schema_release(&r->schema);
  floe_arrow_array_release(&r->batch);
}

static int read_table(floe_source *src, const char *table, const char *sql,
                      read_result *r, floe_error *err) {
  memset(r, 0, sizeof *r);
  int rc = floe_source_describe(src, table, &r->table, err);
  if (rc < 0) return rc;
  floe_source_query_spec spec = {0};
  spec.sql = sql;
  spec.columns = r->table.columns;
  spec.n_columns = r->table.n_columns;
  spec.batch_rows = 1000;
  spec.table = table;
  floe_source_stream *stream = NULL;
  rc = floe_source_query(src, &spec, &stream, err);
  if (rc < 0) return rc;
  rc = floe_arrow_schema_copy(&r->schema, floe_source_stream_schema(stream));
  if (rc == 0) rc = floe_source_stream_next(stream, &r->batch, err);
  if (rc == 1) {
    struct ArrowArray extra;
    rc = floe_source_stream_next(stream, &extra, err);
    if (rc == 1) {
      floe_arrow_array_release(&extra);
      rc = -100;
    }
  }
  floe_source_stream_free(stream);
  if (rc < 0) return rc;
  for (int64_t i = 0; i < r->schema.n_children && i < 64; i++) {
    rc = floe_arrow_view_init(&r->views[i], r->schema.children[i],
                              r->batch.children[i], err);
    if (rc < 0) return rc;
  }
  return 0;
}

static int col(const read_result *r, const char *name) {
  for (int64_t i = 0; i < r->table.n_columns; i++)
    if (strcmp(r->table.columns[i].name, name) == 0) return (int)i;
  printf("  no column %s\n", name);
  return 0;
}

static bool bytes_eq(const floe_arrow_view *v, int64_t row, const void *want,
                     size_t want_len) {
  size_t len;
  const uint8_t *got = floe_arrow_view_bytes(v, row, &len);
  return len == want_len && (len == 0 || memcmp(got, want, len) == 0);
}

static bool text_eq(const floe_arrow_view *v, int64_t row, const char *want) {
  return bytes_eq(v, row, want, strlen(want));
}

static floe_int128 i128_pow10(int n) {
  floe_int128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

static const char *every_type_ddl =
    "DROP TABLE IF EXISTS every_type; DROP DOMAIN IF EXISTS batch_number;"
    " DROP TYPE IF EXISTS mood;"
    " CREATE DOMAIN batch_number AS bigint;"
    " CREATE TYPE mood AS ENUM ('happy', 'sad');"
    " CREATE TABLE every_type ("
    "  id integer PRIMARY KEY,"
    "  c_small smallint, c_int integer, c_big bigint NOT NULL,"
    "  c_real real, c_double double precision,"
    "  c_num numeric(10,2), c_num38 numeric(38,10), c_num_plain numeric,"
    "  c_num_neg numeric(3,-2), c_num_wide numeric(50,2),"
    "  c_bool boolean, c_date date, c_time time, c_time3 time(3),"
    "  c_ts timestamp, c_tstz timestamptz,"
    "  c_text text, c_varchar varchar(20), c_char char(3), c_name name,"
    "  c_bytea bytea, c_uuid uuid, c_json json, c_jsonb jsonb,"
    "  c_interval interval, c_array integer[], c_domain batch_number,"
    "  c_enum mood, c_timetz timetz, c_money money)";

static void test_describe_maps_types(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE(exec(src, every_type_ddl) == 0);
  floe_error err = {0};
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "every_type", &t, &err), &err);
  CHECK(t.exists);
  REQUIRE(t.n_columns == 31);
  static const struct {
    const char *name, *decl;
    floe_arrow_type id;
    int p, s;
    bool nullable;
    int pk;
  } want[] = {
      {"id", "integer", FLOE_ARROW_INT32, 0, 0, false, 1},
      {"c_small", "smallint", FLOE_ARROW_INT32, 0, 0, true, 0},
      {"c_int", "integer", FLOE_ARROW_INT32, 0, 0, true, 0},
      {"c_big", "bigint", FLOE_ARROW_INT64, 0, 0, false, 0},
      {"c_real", "real", FLOE_ARROW_FLOAT, 0, 0, true, 0},
      {"c_double", "double precision", FLOE_ARROW_DOUBLE, 0, 0, true, 0},
      {"c_num", "numeric(10,2)", FLOE_ARROW_DECIMAL128, 10, 2, true, 0},
      {"c_num38", "numeric(38,10)", FLOE_ARROW_DECIMAL128, 38, 10, true, 0},
      {"c_num_plain", "numeric", FLOE_ARROW_DECIMAL128, 38, 10, true, 0},
      {"c_num_neg", "numeric(3,-2)", FLOE_ARROW_DECIMAL128, 5, 0, true, 0},
      {"c_num_wide", "numeric(50,2)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_bool", "boolean", FLOE_ARROW_BOOL, 0, 0, true, 0},
      {"c_date", "date", FLOE_ARROW_DATE32, 0, 0, true, 0},
      {"c_time", "time without time zone", FLOE_ARROW_TIME64_US, 0, 0, true, 0},
      {"c_time3", "time(3) without time zone", FLOE_ARROW_TIME64_US, 0, 0, true, 0},
      {"c_ts", "timestamp without time zone", FLOE_ARROW_TIMESTAMP_US, 0, 0, true, 0},
      {"c_tstz", "timestamp with time zone", FLOE_ARROW_TIMESTAMP_US_TZ, 0, 0, true, 0},
      {"c_text", "text", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_varchar", "character varying(20)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_char", "character(3)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_name", "name", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_bytea", "bytea", FLOE_ARROW_BINARY, 0, 0, true, 0},
      {"c_uuid", "uuid", FLOE_ARROW_UUID, 0, 0, true, 0},
      {"c_json", "json", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_jsonb", "jsonb", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_interval", "interval", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_array", "integer[]", FLOE_ARROW_LIST, 0, 0, true, 0},
      {"c_domain", "batch_number", FLOE_ARROW_INT64, 0, 0, true, 0},
      {"c_enum", "mood", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_timetz", "time with time zone", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_money", "money", FLOE_ARROW_UTF8, 0, 0, true, 0},
  };
  for (int i = 0; i < 31; i++) {
    const floe_source_column *c = &t.columns[i];
    CHECK_STR_EQ(c->name, want[i].name);
    CHECK_STR_EQ(c->declared_type, want[i].decl);
    CHECK_INT_EQ(c->type.id, want[i].id);
    CHECK_INT_EQ(c->type.precision, want[i].p);
    CHECK_INT_EQ(c->type.scale, want[i].s);
    CHECK_INT_EQ(c->nullable, want[i].nullable);
    CHECK_INT_EQ(c->pk_ordinal, want[i].pk);
    if (strcmp(c->name, "c_array") == 0) {
      /* A one-dimensional array: a list of the element's type. */
      CHECK_INT_EQ(c->element.id, FLOE_ARROW_INT32);
      CHECK(c->element_nullable);
    }
  }
  floe_source_table_free(&t);

  REQUIRE(exec(src, "DROP TABLE IF EXISTS k; CREATE TABLE k (a text, b int,"
                    " c bigint, PRIMARY KEY (c, a)); ALTER TABLE k DROP COLUMN b") == 0);
  REQUIRE_OK(floe_source_describe(src, "public.k", &t, &err), &err);
  CHECK(t.exists);
  REQUIRE(t.n_columns == 2); /* the dropped column is gone */
  CHECK_STR_EQ(t.columns[0].name, "a");
  CHECK_INT_EQ(t.columns[0].pk_ordinal, 2);
  CHECK(!t.columns[0].nullable);
  CHECK_INT_EQ(t.columns[1].pk_ordinal, 1);
  floe_source_table_free(&t);
  REQUIRE_OK(floe_source_describe(src, "no_such_table", &t, &err), &err);
  CHECK(!t.exists);
  CHECK_INT_EQ(t.n_columns, 0);
  floe_source_table_free(&t);
  /* Names are exact: "K" is not k. */
  REQUIRE_OK(floe_source_describe(src, "K", &t, &err), &err);
  CHECK(!t.exists);
  floe_source_table_free(&t);
  CHECK_INT_EQ(floe_source_describe(src, "a.b.c", &t, &err), FLOE_EINVAL);
  CHECK_STR_EQ(floe_source_dialect(src), "postgres");
  floe_source_close(src);
}

static void test_reads_every_type_with_edge_values(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE(exec(src, every_type_ddl) == 0);
  /* Insert under a non-UTC session zone: timestamptz must still read UTC. */
  REQUIRE(exec(src,
               "SET TIME ZONE 'America/New_York';"
               "INSERT INTO every_type VALUES (1, 32767, 2147483647, 9223372036854775807,"
               " 1.5, 0.1, 12345678.91, 9999999999999999999999999999.9999999999,"
               " 123456789012345678901234567.1234567891, 99900, 1.25,"
               " true, '2024-02-29', '23:59:59.999999', '12:00:00.123',"
               " '2024-02-29 12:34:56.789', '2024-01-01 10:00:00+02',"
               " 'héllo wörld ✓ 𝄞', 'varchar', 'ab', 'pg_name',"
               " '\\x00ff10', '123e4567-e89b-12d3-a456-426614174000',"
               " '{\"a\": [1, 2]}', '{\"b\": null, \"a\": 1}',"
               " '1 day 02:03:04', '{1,2,3}', 42, 'happy', '10:00:00+02', 12.5);"
               "INSERT INTO every_type VALUES (2, -32768, -2147483648, -9223372036854775808,"
               " 'Infinity', 'NaN', -99999999.99, -9999999999999999999999999999.9999999999,"
               " 0.0000000001, -99900, -1,"
               " false, '0044-03-15 BC', '00:00:00', '00:00:00',"
               " '1969-12-31 23:59:59.999999', '1900-01-01 00:00:00+00',"
               " '', '', '', '',"
               " '', '00000000-0000-0000-0000-000000000000',"
               " 'null', '[]', '-1 mons', '{}', -1, 'sad', '00:00:00+00', 0);"
               "INSERT INTO every_type (id, c_big) VALUES (3, 0);"
               "SET TIME ZONE 'UTC'") == 0);
  read_result r;
  floe_error err = {0};
  REQUIRE_OK(read_table(src, "every_type", "SELECT * FROM every_type ORDER BY id;",
                        &r, &err), &err);
  REQUIRE(r.batch.length == 3);
  floe_arrow_view *v = r.views;
  CHECK_STR_EQ(r.schema.children[col(&r, "c_num38")]->format, "d:38,10");
  CHECK_STR_EQ(r.schema.children[col(&r, "c_real")]->format, "f");
  CHECK_STR_EQ(r.schema.children[col(&r, "c_uuid")]->format, "w:16");
  /* integers */
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_small")], 0), 32767);
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_small")], 1), -32768);
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_int")], 0), INT32_MAX);
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_int")], 1), INT32_MIN);
  CHECK(floe_arrow_view_int64(&v[col(&r, "c_big")], 0) == INT64_MAX);
  CHECK(floe_arrow_view_int64(&v[col(&r, "c_big")], 1) == INT64_MIN);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_domain")], 0), 42);
  /* floats: exact round trip, special values */
  CHECK(floe_arrow_view_float(&v[col(&r, "c_real")], 0) == 1.5f);
  CHECK(isinf(floe_arrow_view_float(&v[col(&r, "c_real")], 1)));
  CHECK(floe_arrow_view_double(&v[col(&r, "c_double")], 0) == 0.1);
  CHECK(isnan(floe_arrow_view_double(&v[col(&r, "c_double")], 1)));
  /* numerics: exact */
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num")], 0) == 1234567891);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num")], 1) == -9999999999);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num38")], 0) == i128_pow10(38) - 1);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num38")], 1) == -(i128_pow10(38) - 1));
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_plain")], 0) ==
        (floe_int128)123456789012345678 * i128_pow10(19) +
            (floe_int128)9012345671234567891LL);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_plain")], 1) == 1);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_neg")], 0) == 99900);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_neg")], 1) == -99900);
  CHECK(text_eq(&v[col(&r, "c_num_wide")], 0, "1.25"));
  CHECK(text_eq(&v[col(&r, "c_num_wide")], 1, "-1.00"));
  /* booleans, dates (BC: 44 BC is astronomical year -43), times */
  CHECK(floe_arrow_view_bool(&v[col(&r, "c_bool")], 0));
  CHECK(!floe_arrow_view_bool(&v[col(&r, "c_bool")], 1));
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_date")], 0), 19782);
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_date")], 1), -735160);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_time")], 0), INT64_C(86399999999));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_time3")], 0),
               INT64_C(43200123000));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_time")], 1), 0);
  int64_t leap_day = INT64_C(19782) * 86400000000;
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_ts")], 0),
               leap_day + (12 * 3600 + 34 * 60 + 56) * INT64_C(1000000) + 789000);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_ts")], 1), -1);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz")], 0),
               INT64_C(19723) * 86400000000 + 8 * INT64_C(3600000000));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz")], 1),
               INT64_C(-25567) * 86400000000);
  /* strings, bytes, uuid, json, and the text of the others */
  CHECK(text_eq(&v[col(&r, "c_text")], 0, "héllo wörld ✓ 𝄞"));
  CHECK(text_eq(&v[col(&r, "c_text")], 1, ""));
  CHECK(!floe_arrow_view_is_null(&v[col(&r, "c_text")], 1));
  CHECK(text_eq(&v[col(&r, "c_varchar")], 0, "varchar"));
  CHECK(text_eq(&v[col(&r, "c_char")], 0, "ab ")); /* char(n) pads */
  CHECK(text_eq(&v[col(&r, "c_name")], 0, "pg_name"));
  CHECK(bytes_eq(&v[col(&r, "c_bytea")], 0, "\x00\xff\x10", 3));
  CHECK(bytes_eq(&v[col(&r, "c_bytea")], 1, "", 0));
  CHECK(!floe_arrow_view_is_null(&v[col(&r, "c_bytea")], 1));
  static const uint8_t uuid1[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                                    0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
  static const uint8_t zero[16] = {0};
  CHECK(bytes_eq(&v[col(&r, "c_uuid")], 0, uuid1, 16));
  CHECK(bytes_eq(&v[col(&r, "c_uuid")], 1, zero, 16));
  CHECK(text_eq(&v[col(&r, "c_json")], 0, "{\"a\": [1, 2]}"));
  CHECK(text_eq(&v[col(&r, "c_jsonb")], 0, "{\"a\": 1, \"b\": null}"));
  CHECK(text_eq(&v[col(&r, "c_interval")], 0, "P1DT2H3M4S"));
  CHECK(text_eq(&v[col(&r, "c_interval")], 1, "P-1M"));
  {
    floe_buf text = FLOE_BUF_INIT;
    floe_arrow_view_format(&v[col(&r, "c_array")], 0, &text);
    CHECK(text.len == 9 && memcmp(text.data, "[1, 2, 3]", 9) == 0);
    floe_buf_reset(&text);
    floe_arrow_view_format(&v[col(&r, "c_array")], 1, &text); /* '{}' */
    CHECK(text.len == 2 && memcmp(text.data, "[]", 2) == 0);
    floe_buf_free(&text);
  }
  CHECK(text_eq(&v[col(&r, "c_enum")], 1, "sad"));
  CHECK(text_eq(&v[col(&r, "c_timetz")], 0, "10:00:00+02"));
  CHECK(text_eq(&v[col(&r, "c_money")], 0, "$12.50"));
  for (int64_t i = 0; i < r.table.n_columns; i++) {
    const char *name = r.table.columns[i].name;
    bool want_null = strcmp(name, "id") != 0 && strcmp(name, "c_big") != 0;
    if (floe_arrow_view_is_null(&v[i], 2) != want_null)
      TEST_FAIL_AT(__FILE__, __LINE__, "row 3 column %s null=%d", name, !want_null);
  }
  read_result_free(&r);
  floe_source_close(src);
}

static void test_bad_values_are_errors_naming_table_column_key_value(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "DROP TABLE IF EXISTS items; CREATE TABLE items (region text,"
                    " id int, amount numeric, day date, at timestamptz, t time,"
                    " PRIMARY KEY (region, id));"
                    " INSERT INTO items (region, id) VALUES ('eu', 1), ('us', 2)") == 0);
  static const struct {
    const char *sql, *message;
  } cases[] = {
      {"UPDATE items SET amount = 1.23456789012 WHERE id = 2",
       "source postgres: table 'items' column 'amount' row (region='us', id=2): "
       "value '1.23456789012' does not fit decimal(38,10): 11 fractional "
       "digits, scale is 10"},
      {"UPDATE items SET amount = 1e28 WHERE id = 1",
       "source postgres: table 'items' column 'amount' row (region='eu', id=1): "
       "value '10000000000000000000000000000' does not fit decimal(38,10): 29 "
       "integer digits, at most 28"},
      {"UPDATE items SET amount = 'NaN' WHERE id = 1",
       "source postgres: table 'items' column 'amount' row (region='eu', id=1): "
       "value 'NaN' does not fit decimal(38,10): not a decimal number"},
      {"UPDATE items SET day = 'infinity' WHERE id = 1",
       "source postgres: table 'items' column 'day' row (region='eu', id=1): "
       "value 'infinity' does not fit date: not a valid YYYY-MM-DD date"},
      {"UPDATE items SET at = '-infinity' WHERE id = 2",
       "source postgres: table 'items' column 'at' row (region='us', id=2): "
       "value '-infinity' does not fit timestamptz: not a valid ISO-8601 "
       "timestamp (YYYY-MM-DD[ HH:MM[:SS[.f]]][Z|+HH:MM])"},
      {"UPDATE items SET t = '24:00:00' WHERE id = 1",
       "source postgres: table 'items' column 't' row (region='eu', id=1): "
       "value '24:00:00' does not fit time: not a valid HH:MM[:SS[.ffffff]] "
       "time"},
  };
  floe_error err = {0};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    REQUIRE_OK(floe_source_begin(src, &err), &err);
    REQUIRE(exec(src, cases[i].sql) == 0);
    floe_source_table t;
    REQUIRE_OK(floe_source_describe(src, "items", &t, &err), &err);
    floe_source_query_spec spec = {0};
    spec.sql = "SELECT * FROM items ORDER BY id";
    spec.columns = t.columns;
    spec.n_columns = t.n_columns;
    spec.table = "items";
    floe_source_stream *stream = NULL;
    REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
    struct ArrowArray batch;
    CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), FLOE_ERANGE);
    CHECK_STR_EQ(err.message, cases[i].message);
    floe_source_stream_free(stream);
    floe_source_table_free(&t);
    REQUIRE_OK(floe_source_rollback(src, &err), &err);
  }
  /* A caller type narrower than the column: long into int. */
  floe_source_column c = {.name = "n", .declared_type = "", .nullable = true,
                          .type = floe_arrow_type_of(FLOE_ARROW_INT32)};
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT 2147483648::bigint";
  spec.columns = &c;
  spec.n_columns = 1;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), FLOE_ERANGE);
  CHECK_STR_EQ(err.message,
               "source postgres: column 'n' row 1: value '2147483648' does not "
               "fit int: out of int range");
  floe_source_stream_free(stream);
  /* SQL errors carry SQLSTATE and the server's message. */
  spec.sql = "SELECT * FROM missing_table";
  CHECK_INT_EQ(floe_source_query(src, &spec, &stream, &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source postgres: query: declare cursor: SQLSTATE 42P01: "
               "relation \"missing_table\" does not exist");
  CHECK(!floe_source_in_transaction(src));
  spec.sql = "SELECT 1, 2";
  CHECK_INT_EQ(floe_source_query(src, &spec, &stream, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "source postgres: query returns 2 columns, expected 1");
  /* The stream's own transaction ended: exec runs in autocommit again. */
  int64_t n = -1;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM items", NULL, 0,
                                     &n, NULL, &err), &err);
  CHECK_INT_EQ(n, 2);
  floe_source_close(src);
}

/* Composites, arrays of composites and multi-dimensional arrays are typed
 * from pg_catalog as nested type strings: live attributes in order (a
 * dropped one skipped), names quoted exactly, domains by their base type,
 * one list level per declared dimension; plain arrays keep the list path. */
static void test_describe_types_composites_and_dimensions_from_the_catalog(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE(exec(src,
               "DROP TABLE IF EXISTS nested_cols; DROP TYPE IF EXISTS ut_outer;"
               " DROP TYPE IF EXISTS ut_inner; DROP DOMAIN IF EXISTS ut_positive;"
               " CREATE DOMAIN ut_positive AS numeric(7,3) CHECK (VALUE > 0);"
               " CREATE TYPE ut_inner AS (x int, \"we`ird Name\" text, gone date, at timestamptz);"
               " ALTER TYPE ut_inner DROP ATTRIBUTE gone;"
               " CREATE TYPE ut_outer AS (a numeric(5,2), inner_v ut_inner, tags text[],"
               "  grid int[][], p ut_positive, raw bytea);"
               " CREATE TABLE nested_cols (id int PRIMARY KEY, c ut_outer, cs ut_inner[],"
               "  m bigint[][], d3 text[][][], plain int[], batch_sk int)") == 0);
  floe_source_table t = {0};
  floe_error err = {0};
  REQUIRE_OK(floe_source_describe(src, "nested_cols", &t, &err), &err);
  REQUIRE(t.n_columns == 7);
  CHECK_STR_EQ(t.columns[1].nested_type,
               "struct<`a`: decimal(5,2), `inner_v`: struct<`x`: int, `we``ird Name`: string, "
               "`at`: timestamptz>, `tags`: list<string>, `grid`: list<list<int>>, "
               "`p`: decimal(7,3), `raw`: binary>");
  CHECK_INT_EQ(t.columns[1].type.id, FLOE_ARROW_STRUCT);
  CHECK_STR_EQ(t.columns[2].nested_type,
               "list<struct<`x`: int, `we``ird Name`: string, `at`: timestamptz>>");
  CHECK_INT_EQ(t.columns[2].type.id, FLOE_ARROW_LIST);
  CHECK_STR_EQ(t.columns[3].nested_type, "list<list<long>>");
  CHECK_STR_EQ(t.columns[4].nested_type, "list<list<list<string>>>");
  CHECK(t.columns[5].nested_type == NULL);
  CHECK_INT_EQ(t.columns[5].type.id, FLOE_ARROW_LIST);
  CHECK_INT_EQ(t.columns[5].element.id, FLOE_ARROW_INT32);
  CHECK(t.columns[0].nested_type == NULL && t.columns[6].nested_type == NULL);
  floe_source_table_free(&t);
  floe_source_close(src);
}

/* Composite and multi-dimensional values are read from their text output
 * into nested Arrow columns (the column's Arrow field built from its
 * nested type string, as the engine does): quoted and escaped fields, an
 * empty field null and "" empty, a whole-row null, a row of nulls, arrays
 * inside composites and composites inside arrays, a lower bound other
 * than 1. A value of more dimensions than declared is an error. */
static void test_reads_composites_and_dimensions_value_for_value(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE(exec(src,
               "DROP TABLE IF EXISTS nested_vals; DROP TYPE IF EXISTS ut_pair;"
               " CREATE TYPE ut_pair AS (x int, s text, t text[], d date);"
               " CREATE TABLE nested_vals (id int PRIMARY KEY, c ut_pair, cs ut_pair[], m int[][]);"
               " INSERT INTO nested_vals VALUES"
               " (1, ROW(1, 'a,b \"q\" \\ (z)', '{p,\"q r\",NULL,\"NULL\"}', '0044-03-15 BC'),"
               "  ARRAY[ROW(2, '', '{}', NULL)::ut_pair, NULL], '{{1,2},{3,NULL}}'),"
               " (2, NULL, '{}', '{}'),"
               " (3, ROW(NULL, NULL, NULL, NULL), NULL, '[0:0][1:1]={{9}}')") == 0);
  floe_source_table t = {0};
  floe_error err = {0};
  REQUIRE_OK(floe_source_describe(src, "nested_vals", &t, &err), &err);
  REQUIRE(t.n_columns == 4);
  floe_iceberg_schema *shapes[4] = {NULL};
  struct ArrowSchema fields[4];
  memset(fields, 0, sizeof fields);
  for (int i = 1; i < 4; i++) {
    REQUIRE(t.columns[i].nested_type != NULL);
    REQUIRE_OK(floe_iceberg_type_parse_nested(&shapes[i], t.columns[i].name, t.columns[i].nested_type,
                                              NULL, &err), &err);
    REQUIRE_OK(floe_iceberg_field_to_arrow(&shapes[i]->root.fields[0], &fields[i], &err), &err);
    t.columns[i].arrow_field = &fields[i];
  }
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, c, cs, m FROM nested_vals ORDER BY id";
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  spec.table = "nested_vals";
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  const char *want[3][3] = {
      {"{x: 1, s: a,b \"q\" \\ (z), t: [p, q r, \\N, NULL], d: -0043-03-15}",
       "[{x: 2, s: , t: [], d: \\N}, \\N]", "[[1, 2], [3, \\N]]"},
      {NULL, "[]", "[]"},
      {"{x: \\N, s: \\N, t: \\N, d: \\N}", NULL, "[[9]]"}};
  CHECK_INT_EQ(batch.length, 3);
  floe_buf text = FLOE_BUF_INIT;
  for (int c = 1; c < 4; c++) {
    floe_arrow_view v;
    REQUIRE_OK(floe_arrow_view_init(&v, schema->children[c], batch.children[c], &err), &err);
    for (int64_t r = 0; r < batch.length && r < 3; r++) {
      const char *w = want[r][c - 1];
      if (floe_arrow_view_is_null(&v, r)) {
        if (w != NULL) TEST_FAIL_AT(__FILE__, __LINE__, "row %d column %d: null, want %s", (int)r, c, w);
        continue;
      }
      floe_buf_reset(&text);
      floe_arrow_view_format(&v, r, &text);
      floe_buf_terminate(&text);
      if (w == NULL || strcmp((const char *)text.data, w) != 0)
        TEST_FAIL_AT(__FILE__, __LINE__, "row %d column %d: %s, want %s", (int)r, c,
                     (const char *)text.data, w ? w : "null");
    }
  }
  floe_buf_free(&text);
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);

  /* Three dimensions in a two-dimensional column: the error says so. */
  REQUIRE(exec(src, "INSERT INTO nested_vals VALUES (4, NULL, NULL, '{{{1}}}')") == 0);
  spec.sql = "SELECT id, c, cs, m FROM nested_vals WHERE id = 4";
  for (int i = 1; i < 4; i++) t.columns[i].arrow_field = &fields[i];
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  CHECK(floe_source_stream_next(stream, &batch, &err) == FLOE_ERANGE);
  CHECK(strstr(err.message, "column 'm' row (id=4)") != NULL);
  CHECK(strstr(err.message, "an array of more dimensions than the column's 2") != NULL);
  floe_source_stream_free(stream);
  for (int i = 1; i < 4; i++) {
    floe_arrow_schema_release(&fields[i]);
    floe_iceberg_schema_free(shapes[i]);
  }
  floe_source_table_free(&t);
  floe_source_close(src);
}

static void test_batches_split_at_batch_size(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  floe_source_column cols[2] = {
      {"id", "bigint", false, floe_arrow_type_of(FLOE_ARROW_INT64), 1, 0, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"label", "text", true, floe_arrow_type_of(FLOE_ARROW_UTF8), 0, 0, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL}};
  static const int64_t batch_sizes[] = {1, 3, 4, 5, 10, 11, 8192};
  for (size_t k = 0; k < sizeof batch_sizes / sizeof batch_sizes[0]; k++) {
    floe_source_query_spec spec = {0};
    spec.sql = "SELECT g, 'n' || g FROM generate_series(1, 10) g ORDER BY g";
    spec.columns = cols;
    spec.n_columns = 2;
    spec.batch_rows = batch_sizes[k];
    floe_source_stream *stream = NULL;
    REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
    int64_t next_id = 1, batches = 0;
    struct ArrowArray batch;
    int rc;
    while ((rc = floe_source_stream_next(stream, &batch, &err)) == 1) {
      int64_t left = 10 - (next_id - 1);
      CHECK_INT_EQ(batch.length, left < batch_sizes[k] ? left : batch_sizes[k]);
      floe_arrow_view ids, labels;
      const struct ArrowSchema *schema = floe_source_stream_schema(stream);
      REQUIRE_OK(floe_arrow_view_init(&ids, schema->children[0], batch.children[0],
                                      &err), &err);
      REQUIRE_OK(floe_arrow_view_init(&labels, schema->children[1],
                                      batch.children[1], &err), &err);
      for (int64_t i = 0; i < batch.length; i++, next_id++) {
        CHECK_INT_EQ(floe_arrow_view_int64(&ids, i), next_id);
        char label[32];
        snprintf(label, sizeof label, "n%" PRId64, next_id);
        CHECK(text_eq(&labels, i, label));
      }
      floe_arrow_array_release(&batch);
      batches++;
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(next_id, 11);
    CHECK_INT_EQ(batches, (10 + batch_sizes[k] - 1) / batch_sizes[k]);
    CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 0);
    floe_source_stream_free(stream);
  }
  floe_source_close(src);
}

static void test_million_rows_hold_one_batch_at_a_time(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  floe_source_column cols[3] = {
      {"id", "bigint", false, floe_arrow_type_of(FLOE_ARROW_INT64), 1, 0, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"label", "text", true, floe_arrow_type_of(FLOE_ARROW_UTF8), 0, 0, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"amount", "numeric(12,2)", true, floe_arrow_decimal(12, 2), 0, 0, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL}};
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT g, 'label-' || g || '-some-padding-text', g * 0.25"
             " FROM generate_series(1, 1000000) g";
  spec.columns = cols;
  spec.n_columns = 3;
  spec.batch_rows = 8192;
  floe_source_stream *stream = NULL;
  double start = floe_monotonic_seconds();
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  int rc;
  int64_t rows = 0, batches = 0, id_sum = 0;
  floe_int128 amount_sum = 0;
  size_t baseline = 0, peak = 0;
  while ((rc = floe_source_stream_next(stream, &batch, &err)) == 1) {
    size_t live = live_heap_bytes();
    if (batches == 1) baseline = live;
    if (live > peak) peak = live;
    CHECK(batch.length == 8192 || rows + batch.length == 1000000);
    floe_arrow_view ids, amounts;
    const struct ArrowSchema *schema = floe_source_stream_schema(stream);
    REQUIRE_OK(floe_arrow_view_init(&ids, schema->children[0], batch.children[0],
                                    &err), &err);
    REQUIRE_OK(floe_arrow_view_init(&amounts, schema->children[2],
                                    batch.children[2], &err), &err);
    for (int64_t i = 0; i < batch.length; i++) {
      id_sum += floe_arrow_view_int64(&ids, i);
      amount_sum += floe_arrow_view_decimal(&amounts, i);
    }
    rows += batch.length;
    batches++;
    floe_arrow_array_release(&batch);
  }
  double seconds = floe_monotonic_seconds() - start;
  CHECK_INT_EQ(rc, 0);
  CHECK_INT_EQ(rows, 1000000);
  CHECK_INT_EQ(batches, 123);
  CHECK_INT_EQ(id_sum, INT64_C(500000500000));
  CHECK(amount_sum == (floe_int128)INT64_C(500000500000) * 25);
  /* Without a cursor libpq would hold all 1M rows (tens of MB) at once. */
  size_t growth = peak > baseline ? peak - baseline : 0;
  printf("  1M rows, 123 batches in %.2f s: live heap growth after batch 2 = "
         "%zu bytes\n", seconds, growth);
  CHECK(growth < 1024 * 1024);
  floe_source_stream_free(stream);
  floe_source_close(src);
}

static void test_quotes_hostile_identifiers(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  char *table = NULL, *schema = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;
  REQUIRE_OK(floe_source_quote_name(src, "\"My Schema\".\"we\"\"ird.table\"", &table,
                                    &err), &err);
  CHECK_STR_EQ(table, "\"My Schema\".\"we\"\"ird.table\"");
  REQUIRE_OK(floe_source_quote_ident(src, "My Schema", &schema, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "a\"b", &c1, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "with space", &c2, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "select", &c3, &err), &err);
  char sql[1024];
  snprintf(sql, sizeof sql,
           "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
           " CREATE TABLE %s (%s int PRIMARY KEY, %s text, %s float8);"
           " INSERT INTO %s VALUES (1, 'x''); DROP TABLE t; --', 2.5)",
           schema, schema, table, c1, c2, c3, table);
  REQUIRE(exec(src, sql) == 0);
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "\"My Schema\".\"we\"\"ird.table\"", &t, &err),
             &err);
  CHECK(t.exists);
  REQUIRE(t.n_columns == 3);
  CHECK_STR_EQ(t.columns[0].name, "a\"b");
  CHECK_INT_EQ(t.columns[0].pk_ordinal, 1);
  CHECK_STR_EQ(t.columns[1].name, "with space");
  CHECK_STR_EQ(t.columns[2].name, "select");
  snprintf(sql, sizeof sql, "SELECT %s, %s, %s FROM %s", c1, c2, c3, table);
  floe_source_query_spec spec = {0};
  spec.sql = sql;
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  floe_arrow_view v;
  REQUIRE_OK(floe_arrow_view_init(&v, floe_source_stream_schema(stream)->children[1],
                                  batch.children[1], &err), &err);
  CHECK(text_eq(&v, 0, "x'); DROP TABLE t; --"));
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
  floe_free(table);
  floe_free(schema);
  floe_free(c1);
  floe_free(c2);
  floe_free(c3);
  floe_source_close(src);
}

static void test_params_bind_natively(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  REQUIRE(exec(src, "DROP TABLE IF EXISTS p; CREATE TABLE p (i bigint,"
                    " d double precision, t text, b bytea, n integer)") == 0);
  const char *hostile = "'); DROP TABLE p; --";
  floe_source_param params[5] = {
      floe_param_int64(INT64_MIN), floe_param_double(-0.125),
      floe_param_text(hostile), floe_param_blob("\x00\x01\x02\\", 4),
      floe_param_null()};
  int64_t rows = -1;
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO p VALUES ($1, $2, $3, $4, $5)",
                              params, 5, &rows, &err), &err);
  CHECK_INT_EQ(rows, 1);
  read_result r;
  REQUIRE_OK(read_table(src, "p", "SELECT * FROM p", &r, &err), &err);
  REQUIRE(r.batch.length == 1);
  CHECK(floe_arrow_view_int64(&r.views[0], 0) == INT64_MIN);
  CHECK(floe_arrow_view_double(&r.views[1], 0) == -0.125);
  CHECK(text_eq(&r.views[2], 0, hostile));
  CHECK(bytes_eq(&r.views[3], 0, "\x00\x01\x02\\", 4));
  CHECK(floe_arrow_view_is_null(&r.views[4], 0));
  read_result_free(&r);
  /* Parameters in a streamed query (through DECLARE ... CURSOR). */
  floe_source_param filter[2] = {floe_param_text(hostile), floe_param_int64(0)};
  int64_t count = 0;
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT count(*) FROM p WHERE t = $1 AND i < $2",
                                     filter, 2, &count, NULL, &err), &err);
  CHECK_INT_EQ(count, 1);
  floe_source_param d = floe_param_double(INFINITY);
  char *text = NULL;
  REQUIRE_OK(floe_source_query_text(src, "SELECT $1::float8::text", &d, 1, &text,
                                    &err), &err);
  CHECK_STR_EQ(text, "Infinity");
  floe_free(text);
  CHECK_INT_EQ(floe_source_exec(src, "INSERT INTO p (i) VALUES ($1)", NULL, 0,
                                NULL, &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source postgres: exec: SQLSTATE 42P02: there is no parameter $1");
  floe_source_close(src);
}

static void test_exec_and_transactions(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  int64_t rows = -1;
  REQUIRE_OK(floe_source_exec(src,
                              "DROP TABLE IF EXISTS t; CREATE TABLE t (id int);"
                              " INSERT INTO t VALUES (1), (2), (3)",
                              NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 3);
  REQUIRE_OK(floe_source_exec(src, "UPDATE t SET id = id + 10 WHERE id >= 2", NULL,
                              0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 2);
  REQUIRE_OK(floe_source_exec(src, "SELECT * FROM t", NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 0);

  REQUIRE_OK(floe_source_begin(src, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "DELETE FROM t", NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 3);
  /* A query inside the caller's transaction sees its uncommitted work and
   * leaves the transaction open. */
  int64_t n = -1;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 0);
  CHECK(floe_source_in_transaction(src));
  REQUIRE_OK(floe_source_rollback(src, &err), &err);
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 3);

  REQUIRE_OK(floe_source_begin(src, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO t VALUES (4)", NULL, 0, NULL, &err), &err);
  REQUIRE_OK(floe_source_commit(src, &err), &err);
  floe_source *other = pg_open();
  REQUIRE(other != NULL);
  REQUIRE_OK(floe_source_query_int64(other, "SELECT sum(id) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 1 + 12 + 13 + 4);
  floe_source_close(other);

  /* An error aborts the transaction; COMMIT then reports it. */
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  CHECK_INT_EQ(floe_source_exec(src, "INSERT INTO t VALUES ('x')", NULL, 0, NULL,
                                &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source postgres: exec: SQLSTATE 22P02: invalid input syntax for "
               "type integer: \"x\"");
  CHECK_INT_EQ(floe_source_commit(src, &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source postgres: commit: COMMIT: the transaction was aborted by "
               "an earlier error and has been rolled back");
  CHECK(!floe_source_in_transaction(src));
  CHECK_INT_EQ(floe_source_rollback(src, &err), FLOE_EINVAL);

  /* Nothing else runs while a stream is open. */
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id FROM t";
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  CHECK_INT_EQ(floe_source_begin(src, &err), FLOE_EINVAL);
  floe_source_stream_free(stream);
  /* Closing with an open transaction rolls it back. */
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "DELETE FROM t", NULL, 0, NULL, &err), &err);
  floe_source_close(src);
  src = pg_open();
  REQUIRE(src != NULL);
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 4);
  floe_source_close(src);
}

static void test_scalar_helpers_for_control_table(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  REQUIRE(exec(src, "DROP TABLE IF EXISTS control;"
                    " CREATE TABLE control (table_name text, batch_sk bigint)") == 0);
  int64_t v = 99;
  bool is_null = false;
  floe_source_param name = floe_param_text("sales");
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT max(batch_sk) FROM control WHERE "
                                     "table_name = $1",
                                     &name, 1, &v, &is_null, &err), &err);
  CHECK(is_null);
  CHECK_INT_EQ(v, 0);
  floe_source_param row[2] = {floe_param_text("sales"), floe_param_int64(INT64_MAX)};
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO control VALUES ($1, $2)", row, 2,
                              NULL, &err), &err);
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT max(batch_sk) FROM control WHERE "
                                     "table_name = $1",
                                     &name, 1, &v, &is_null, &err), &err);
  CHECK(!is_null);
  CHECK(v == INT64_MAX);
  /* sum(bigint) is numeric: still read as long when it fits. */
  REQUIRE_OK(floe_source_query_int64(src, "SELECT sum(batch_sk) FROM control",
                                     NULL, 0, &v, &is_null, &err), &err);
  CHECK(v == INT64_MAX);
  CHECK_INT_EQ(floe_source_query_int64(src,
                                       "SELECT sum(batch_sk) + 1 FROM control",
                                       NULL, 0, &v, &is_null, &err), FLOE_ERANGE);
  CHECK_STR_EQ(err.message,
               "source postgres: column 'value' row 1: value "
               "'9223372036854775808' does not fit long: not an integer in range");
  REQUIRE_OK(floe_source_query_int64(src, "SELECT 1 WHERE false", NULL, 0, &v,
                                     &is_null, &err), &err);
  CHECK(is_null);
  char *text = NULL;
  REQUIRE_OK(floe_source_query_text(src, "SELECT table_name FROM control", NULL, 0,
                                    &text, &err), &err);
  CHECK_STR_EQ(text, "sales");
  floe_free(text);
  REQUIRE_OK(floe_source_query_text(src, "SELECT NULL::text", NULL, 0, &text, &err),
             &err);
  CHECK(text == NULL);
  floe_source_close(src);
}

static void test_untyped_query_infers_types(void) {
  REQUIRE_SERVER();
  floe_source *src = pg_open();
  REQUIRE(src != NULL);
  floe_error err = {0};
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::numeric(5,2) AS d,"
             " 2.5::float4 AS e, 2.5::float8 AS f, true AS g, DATE '2000-01-01' AS h,"
             " TIMESTAMPTZ '2000-01-01 00:00:00+00' AS i, 'x'::text AS j,"
             " '\\x01'::bytea AS k, gen_random_uuid() AS l, 1.5 AS m";
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  REQUIRE(schema->n_children == 13);
  static const char *formats[] = {"i", "i", "l", "d:5,2", "f", "g", "b", "tdD",
                                  "tsu:UTC", "u", "z", "w:16", "d:38,10"};
  for (int i = 0; i < 13; i++) CHECK_STR_EQ(schema->children[i]->format, formats[i]);
  CHECK_STR_EQ(schema->children[3]->name, "d");
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  floe_arrow_view v;
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[3], batch.children[3], &err), &err);
  CHECK(floe_arrow_view_decimal(&v, 0) == 150);
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[8], batch.children[8], &err), &err);
  CHECK_INT_EQ(floe_arrow_view_int64(&v, 0), INT64_C(946684800000000));
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  floe_source_close(src);
}

static void test_connection_errors(void) {
  REQUIRE_SERVER();
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_POSTGRES;
  config.postgres_conninfo = pg_conninfo;
  config.password_env = "FLOE_TEST_SURELY_UNSET_PASSWORD";
  floe_source *src = NULL;
  floe_error err = {0};
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message,
               "source postgres: password environment variable "
               "FLOE_TEST_SURELY_UNSET_PASSWORD is not set");
  /* A password from the environment is accepted (trust auth ignores it)
   * and never shows in messages. */
  setenv("FLOE_TEST_PG_PASSWORD", "s3cr3t-value", 1);
  config.password_env = "FLOE_TEST_PG_PASSWORD";
  REQUIRE_OK(floe_source_open(&src, &config, &err), &err);
  floe_source_close(src);
  config.postgres_conninfo = "host=127.0.0.1 port=1 dbname=postgres connect_timeout=2";
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_ESOURCE);
  CHECK(strncmp(err.message, "source postgres: connect: ", 26) == 0);
  CHECK(strstr(err.message, "s3cr3t") == NULL);
  CHECK(src == NULL);
  config.postgres_conninfo = NULL;
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_EINVAL);
}

int main(void) {
  pg_start();
  if (pg_conninfo[0] == '\0') printf("FAIL postgres source tests: %s\n", pg_skip_reason);
  RUN(test_describe_maps_types);
  RUN(test_reads_every_type_with_edge_values);
  RUN(test_bad_values_are_errors_naming_table_column_key_value);
  RUN(test_describe_types_composites_and_dimensions_from_the_catalog);
  RUN(test_reads_composites_and_dimensions_value_for_value);
  RUN(test_batches_split_at_batch_size);
  RUN(test_million_rows_hold_one_batch_at_a_time);
  RUN(test_quotes_hostile_identifiers);
  RUN(test_params_bind_natively);
  RUN(test_exec_and_transactions);
  RUN(test_scalar_helpers_for_control_table);
  RUN(test_untyped_query_infers_types);
  RUN(test_connection_errors);
  pg_stop();
  return test_report();
}
