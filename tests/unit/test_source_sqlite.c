/*
 * tests/unit/test_source_sqlite: the source interface over the SQLite
 * driver, asserting real values: a table with every declared type and edge
 * values (int64 extremes, decimal extremes, pre-1970 dates and timestamps,
 * fractional seconds, Unicode, empty strings and blobs, NULLs) read back
 * through describe + query; exact error messages for values that do not
 * fit; batch boundaries; bounded memory over a million rows; hostile
 * identifiers; native parameter binding; exec and transactions; the scalar
 * helpers of the control-table protocol; allocation failures.
 */
#include <malloc.h>
#include <math.h>
#include <unistd.h>

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

static char db_path[4200];

/* Scratch directory tmp/<name> under the working directory (the build
 * directory under CTest). Files in it are replaced by each test. */
static const char *scratch_dir(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "tmp/%s", name);
  mkdir("tmp", 0755);
  mkdir(path, 0755);
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? path : NULL;
}

/* A fresh database file in the test's scratch directory. */
static floe_source *open_fresh(const char *name) {
  const char *dir = scratch_dir("test_source_sqlite");
  if (dir == NULL) return NULL;
  snprintf(db_path, sizeof db_path, "%s/%s.db", dir, name);
  unlink(db_path);
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_SQLITE;
  config.sqlite_path = db_path;
  config.sqlite_create = true;
  floe_source *src = NULL;
  floe_error err = {0};
  if (floe_source_open(&src, &config, &err) != 0) {
    printf("  open %s: %s\n", db_path, err.message);
    return NULL;
  }
  return src;
}

static int exec(floe_source *src, const char *sql) {
  floe_error err = {0};
  int rc = floe_source_exec(src, sql, NULL, 0, NULL, &err);
  if (rc != 0) printf("  exec failed: %s\n", err.message);
  return rc;
}

/* Reads the whole of `sql` typed by `table`'s described columns into one
 * batch (batch_rows large). */
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
    rc = floe_source_stream_next(stream, &extra, err); /* must be the end */
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

/* Column index by name in a read_result. */
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

static floe_int128 i128_pow10(int n) {
  floe_int128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

static const char *every_type_ddl =
    "CREATE TABLE every_type (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  c_int INT, c_bigint BIGINT NOT NULL, c_smallint smallint, c_tinyint TINYINT,\n"
    "  c_real REAL, c_double DOUBLE, c_dp double precision, c_float FLOAT,\n"
    "  c_text TEXT, c_varchar VARCHAR(20), c_char CHAR(3), c_clob CLOB,\n"
    "  c_blob BLOB,\n"
    "  c_dec DECIMAL(10, 2), c_num NUMERIC(18,0), c_num_plain NUMERIC,\n"
    "  c_dec_p DECIMAL(5), c_dec_wide DECIMAL(40,2),\n"
    "  c_bool BOOLEAN, c_bool2 Bool,\n"
    "  c_date DATE, c_ts TIMESTAMP, c_dt datetime, c_tstz TIMESTAMPTZ,\n"
    "  c_tstz2 TIMESTAMP WITH TIME ZONE, c_time TIME, c_uuid UUID,\n"
    "  c_none, c_affinity_int UNSIGNED BIG INT, c_affinity_text NVARCHAR2(9),\n"
    "  c_money MONEY\n"
    ")";

static void test_describe_maps_declared_types(void) {
  floe_source *src = open_fresh("describe");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, every_type_ddl) == 0);
  floe_error err = {0};
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "every_type", &t, &err), &err);
  CHECK(t.exists);
  REQUIRE(t.n_columns == 32);
  static const struct {
    const char *name, *decl;
    floe_arrow_type id;
    int p, s;
    bool nullable;
    int pk;
  } want[] = {
      {"id", "INTEGER", FLOE_ARROW_INT64, 0, 0, false, 1},
      {"c_int", "INT", FLOE_ARROW_INT64, 0, 0, true, 0},
      {"c_bigint", "BIGINT", FLOE_ARROW_INT64, 0, 0, false, 0},
      {"c_smallint", "smallint", FLOE_ARROW_INT64, 0, 0, true, 0},
      {"c_tinyint", "TINYINT", FLOE_ARROW_INT64, 0, 0, true, 0},
      {"c_real", "REAL", FLOE_ARROW_DOUBLE, 0, 0, true, 0},
      {"c_double", "DOUBLE", FLOE_ARROW_DOUBLE, 0, 0, true, 0},
      {"c_dp", "double precision", FLOE_ARROW_DOUBLE, 0, 0, true, 0},
      {"c_float", "FLOAT", FLOE_ARROW_DOUBLE, 0, 0, true, 0},
      {"c_text", "TEXT", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_varchar", "VARCHAR(20)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_char", "CHAR(3)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_clob", "CLOB", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_blob", "BLOB", FLOE_ARROW_BINARY, 0, 0, true, 0},
      {"c_dec", "DECIMAL(10, 2)", FLOE_ARROW_DECIMAL128, 10, 2, true, 0},
      {"c_num", "NUMERIC(18,0)", FLOE_ARROW_DECIMAL128, 18, 0, true, 0},
      {"c_num_plain", "NUMERIC", FLOE_ARROW_DECIMAL128, 38, 10, true, 0},
      {"c_dec_p", "DECIMAL(5)", FLOE_ARROW_DECIMAL128, 5, 0, true, 0},
      {"c_dec_wide", "DECIMAL(40,2)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_bool", "BOOLEAN", FLOE_ARROW_BOOL, 0, 0, true, 0},
      {"c_bool2", "Bool", FLOE_ARROW_BOOL, 0, 0, true, 0},
      {"c_date", "DATE", FLOE_ARROW_DATE32, 0, 0, true, 0},
      {"c_ts", "TIMESTAMP", FLOE_ARROW_TIMESTAMP_US, 0, 0, true, 0},
      {"c_dt", "datetime", FLOE_ARROW_TIMESTAMP_US, 0, 0, true, 0},
      {"c_tstz", "TIMESTAMPTZ", FLOE_ARROW_TIMESTAMP_US_TZ, 0, 0, true, 0},
      {"c_tstz2", "TIMESTAMP WITH TIME ZONE", FLOE_ARROW_TIMESTAMP_US_TZ, 0, 0, true, 0},
      {"c_time", "TIME", FLOE_ARROW_TIME64_US, 0, 0, true, 0},
      {"c_uuid", "UUID", FLOE_ARROW_UUID, 0, 0, true, 0},
      {"c_none", "", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_affinity_int", "UNSIGNED BIG INT", FLOE_ARROW_INT64, 0, 0, true, 0},
      {"c_affinity_text", "NVARCHAR2(9)", FLOE_ARROW_UTF8, 0, 0, true, 0},
      {"c_money", "MONEY", FLOE_ARROW_UTF8, 0, 0, true, 0},
  };
  for (int i = 0; i < 32; i++) {
    const floe_source_column *c = &t.columns[i];
    CHECK_STR_EQ(c->name, want[i].name);
    CHECK_STR_EQ(c->declared_type, want[i].decl);
    CHECK_INT_EQ(c->type.id, want[i].id);
    CHECK_INT_EQ(c->type.precision, want[i].p);
    CHECK_INT_EQ(c->type.scale, want[i].s);
    CHECK_INT_EQ(c->nullable, want[i].nullable);
    CHECK_INT_EQ(c->pk_ordinal, want[i].pk);
    CHECK_INT_EQ(c->field_id, 0);
  }
  floe_source_table_free(&t);

  /* Composite keys report their ordinal; a missing table is not an error. */
  REQUIRE(exec(src, "CREATE TABLE k (a TEXT, b INTEGER, c INT, "
                    "PRIMARY KEY (c, a))") == 0);
  REQUIRE_OK(floe_source_describe(src, "main.k", &t, &err), &err);
  REQUIRE(t.n_columns == 3);
  CHECK_INT_EQ(t.columns[0].pk_ordinal, 2);
  CHECK_INT_EQ(t.columns[1].pk_ordinal, 0);
  CHECK_INT_EQ(t.columns[2].pk_ordinal, 1);
  CHECK(t.columns[2].nullable); /* only a lone INTEGER PRIMARY KEY is rowid */
  floe_source_table_free(&t);
  REQUIRE_OK(floe_source_describe(src, "no_such_table", &t, &err), &err);
  CHECK(!t.exists);
  CHECK_INT_EQ(t.n_columns, 0);
  floe_source_table_free(&t);
  CHECK_STR_EQ(floe_source_dialect(src), "sqlite");
  floe_source_close(src);
}

static void test_reads_every_type_with_edge_values(void) {
  floe_source *src = open_fresh("values");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, every_type_ddl) == 0);
  /* Row 1: ordinary values; row 2: extremes; row 3: NULLs (c_bigint is NOT
   * NULL). Values go in as literals so SQLite's affinity applies as it would
   * to any writer. */
  REQUIRE(exec(src,
               "INSERT INTO every_type VALUES (1,"
               " 42, 7, -3, 1,"
               " 1.5, -2.25, 0.1, 3,"
               " 'héllo wörld ✓ 𝄞', 'varchar', 'abc', 'clob',"
               " x'00ff10',"
               " '12.30', 123456789012345678, 1, 12345, '1234.5',"
               " 1, 'false',"
               " '2024-02-29', '2024-02-29T12:34:56.789Z', '2024-02-29 12:34:56',"
               " '2024-01-01 10:00:00+02:00', '2024-01-01T00:00:00.5-01:30',"
               " '23:59:59.999999', '123E4567-E89B-12D3-A456-426614174000',"
               " 17, 5, 'nv', 9.5);"
               "INSERT INTO every_type VALUES (2,"
               " -9223372036854775808, 9223372036854775807, 0, -128,"
               " 1e308, 9e999, -0.0, 5e-324,"
               " '', '', '', '',"
               " x'',"
               " -99999999.99, -999999999999999999, 0.0000000001, -99999, NULL,"
               " 'TRUE', 0,"
               " '1900-01-01', '1969-12-31 23:59:59.999999', '0001-01-01 00:00:00',"
               " '1969-12-31T23:59:59Z', '1970-01-01 00:00:00',"
               " '00:00:00', x'00112233445566778899aabbccddeeff',"
               " x'6869', 0, '', 'text');"
               "INSERT INTO every_type (id, c_bigint) VALUES (3, 0);") == 0);
  read_result r;
  floe_error err = {0};
  REQUIRE_OK(read_table(src, "every_type", "SELECT * FROM every_type ORDER BY id",
                        &r, &err),
             &err);
  REQUIRE(r.batch.length == 3);
  REQUIRE(r.schema.n_children == 32);
  floe_arrow_view *v = r.views;
  CHECK_STR_EQ(r.schema.children[col(&r, "c_dec")]->format, "d:10,2");
  CHECK_STR_EQ(r.schema.children[col(&r, "c_tstz")]->format, "tsu:UTC");
  CHECK_INT_EQ(r.schema.children[col(&r, "c_bigint")]->flags & ARROW_FLAG_NULLABLE, 0);
  CHECK_INT_EQ(r.schema.children[col(&r, "c_int")]->flags & ARROW_FLAG_NULLABLE,
               ARROW_FLAG_NULLABLE);

  /* integers */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "id")], 0), 1);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_int")], 0), 42);
  CHECK(floe_arrow_view_int64(&v[col(&r, "c_int")], 1) == INT64_MIN);
  CHECK(floe_arrow_view_int64(&v[col(&r, "c_bigint")], 1) == INT64_MAX);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_smallint")], 0), -3);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tinyint")], 1), -128);
  /* floats */
  CHECK(floe_arrow_view_double(&v[col(&r, "c_real")], 0) == 1.5);
  CHECK(floe_arrow_view_double(&v[col(&r, "c_real")], 1) == 1e308);
  CHECK(floe_arrow_view_double(&v[col(&r, "c_double")], 0) == -2.25);
  CHECK(isinf(floe_arrow_view_double(&v[col(&r, "c_double")], 1)));
  CHECK(floe_arrow_view_double(&v[col(&r, "c_dp")], 0) == 0.1);
  /* SQLite stores -0.0 as the integer 0: the sign is gone at rest. */
  CHECK(floe_arrow_view_double(&v[col(&r, "c_dp")], 1) == 0.0);
  CHECK(floe_arrow_view_double(&v[col(&r, "c_float")], 0) == 3.0);
  CHECK(floe_arrow_view_double(&v[col(&r, "c_float")], 1) == 5e-324);
  /* strings and bytes: Unicode kept byte for byte, empty is not NULL */
  CHECK(bytes_eq(&v[col(&r, "c_text")], 0, "héllo wörld ✓ 𝄞",
                 strlen("héllo wörld ✓ 𝄞")));
  CHECK(bytes_eq(&v[col(&r, "c_text")], 1, "", 0));
  CHECK(!floe_arrow_view_is_null(&v[col(&r, "c_text")], 1));
  CHECK(bytes_eq(&v[col(&r, "c_varchar")], 0, "varchar", 7));
  CHECK(bytes_eq(&v[col(&r, "c_char")], 0, "abc", 3));
  CHECK(bytes_eq(&v[col(&r, "c_clob")], 0, "clob", 4));
  CHECK(bytes_eq(&v[col(&r, "c_blob")], 0, "\x00\xff\x10", 3));
  CHECK(bytes_eq(&v[col(&r, "c_blob")], 1, "", 0));
  CHECK(!floe_arrow_view_is_null(&v[col(&r, "c_blob")], 1));
  /* decimals: exact unscaled values */
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_dec")], 0) == 1230);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_dec")], 1) == -9999999999);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num")], 0) == 123456789012345678);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num")], 1) == -999999999999999999);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_plain")], 0) == i128_pow10(10));
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_num_plain")], 1) == 1);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_dec_p")], 0) == 12345);
  CHECK(floe_arrow_view_decimal(&v[col(&r, "c_dec_p")], 1) == -99999);
  CHECK(bytes_eq(&v[col(&r, "c_dec_wide")], 0, "1234.5", 6));
  /* booleans */
  CHECK(floe_arrow_view_bool(&v[col(&r, "c_bool")], 0) == true);
  CHECK(floe_arrow_view_bool(&v[col(&r, "c_bool")], 1) == true);
  CHECK(floe_arrow_view_bool(&v[col(&r, "c_bool2")], 0) == false);
  CHECK(floe_arrow_view_bool(&v[col(&r, "c_bool2")], 1) == false);
  /* dates and times, including before 1970 */
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_date")], 0), 19782);
  CHECK_INT_EQ(floe_arrow_view_int32(&v[col(&r, "c_date")], 1), -25567);
  int64_t leap_day = INT64_C(19782) * 86400000000;
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_ts")], 0),
               leap_day + (12 * 3600 + 34 * 60 + 56) * INT64_C(1000000) + 789000);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_ts")], 1), -1);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_dt")], 0),
               leap_day + (12 * 3600 + 34 * 60 + 56) * INT64_C(1000000));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_dt")], 1),
               INT64_C(-719162) * 86400000000);
  int64_t new_year = INT64_C(19723) * 86400000000;
  /* Offsets convert to UTC. */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz")], 0),
               new_year + 8 * INT64_C(3600000000));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz")], 1), -1000000);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz2")], 0),
               new_year + 90 * INT64_C(60000000) + 500000);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_tstz2")], 1), 0);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_time")], 0), INT64_C(86399999999));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_time")], 1), 0);
  /* uuid from canonical text (any case) and from a 16-byte blob */
  static const uint8_t uuid1[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                                    0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
  static const uint8_t uuid2[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  CHECK(bytes_eq(&v[col(&r, "c_uuid")], 0, uuid1, 16));
  CHECK(bytes_eq(&v[col(&r, "c_uuid")], 1, uuid2, 16));
  /* no declared type: string; numbers rendered as SQLite renders them */
  CHECK(bytes_eq(&v[col(&r, "c_none")], 0, "17", 2));
  CHECK(bytes_eq(&v[col(&r, "c_none")], 1, "hi", 2)); /* a UTF-8 blob */
  CHECK(bytes_eq(&v[col(&r, "c_money")], 0, "9.5", 3));
  CHECK(bytes_eq(&v[col(&r, "c_affinity_text")], 0, "nv", 2));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[col(&r, "c_affinity_int")], 0), 5);
  /* row 3: every nullable column is NULL */
  for (int64_t i = 0; i < r.table.n_columns; i++) {
    const char *name = r.table.columns[i].name;
    bool want_null = strcmp(name, "id") != 0 && strcmp(name, "c_bigint") != 0;
    if (floe_arrow_view_is_null(&v[i], 2) != want_null)
      TEST_FAIL_AT(__FILE__, __LINE__, "row 3 column %s null=%d", name,
                   !want_null);
  }
  CHECK_INT_EQ(r.batch.children[col(&r, "c_text")]->null_count, 1);
  CHECK_INT_EQ(r.batch.children[col(&r, "c_dec_wide")]->null_count, 2);
  read_result_free(&r);
  floe_source_close(src);
}

/* Decimal extremes that SQLite's NUMERIC affinity cannot store exactly
 * reach the parser as text from a query, typed by the caller. */
static void test_decimal_text_extremes_are_exact(void) {
  floe_source *src = open_fresh("decimal");
  REQUIRE(src != NULL);
  floe_source_column cols[4] = {
      {"max38", "", true, floe_arrow_decimal(38, 0), 0, 1, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"min38_10", "", true, floe_arrow_decimal(38, 10), 0, 2, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"tiny", "", true, floe_arrow_decimal(38, 38), 0, 3, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
      {"exp", "", true, floe_arrow_decimal(9, 2), 0, 4, {0, 0, 0, 0}, false, 0, FLOE_SOURCE_JSON_NONE, NULL, NULL, NULL},
  };
  floe_source_query_spec spec = {0};
  spec.sql =
      "SELECT '99999999999999999999999999999999999999',"
      " '-9999999999999999999999999999.9999999999',"
      " '0.00000000000000000000000000000000000001', '1.5e3'"
      " UNION ALL SELECT '+0', '-0.000', '-.5', '12345E-2'";
  spec.columns = cols;
  spec.n_columns = 4;
  floe_source_stream *stream = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  /* field ids from the columns reach the schema metadata */
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  CHECK_INT_EQ(floe_arrow_schema_field_id(schema->children[0]), 1);
  CHECK_INT_EQ(floe_arrow_schema_field_id(schema->children[3]), 4);
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  floe_arrow_view v[4];
  for (int i = 0; i < 4; i++)
    REQUIRE_OK(floe_arrow_view_init(&v[i], schema->children[i],
                                    batch.children[i], &err), &err);
  CHECK(floe_arrow_view_decimal(&v[0], 0) == i128_pow10(38) - 1);
  CHECK(floe_arrow_view_decimal(&v[1], 0) == -(i128_pow10(38) - 1));
  CHECK(floe_arrow_view_decimal(&v[2], 0) == 1);
  CHECK(floe_arrow_view_decimal(&v[3], 0) == 150000);
  CHECK(floe_arrow_view_decimal(&v[0], 1) == 0);
  CHECK(floe_arrow_view_decimal(&v[1], 1) == 0);
  CHECK(floe_arrow_view_decimal(&v[2], 1) == -5 * i128_pow10(37));
  CHECK(floe_arrow_view_decimal(&v[3], 1) == 12345);
  char text[64];
  floe_decimal_format(floe_arrow_view_decimal(&v[1], 0), 10, text, sizeof text);
  CHECK_STR_EQ(text, "-9999999999999999999999999999.9999999999");
  floe_arrow_array_release(&batch);
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 0);
  CHECK(batch.release == NULL);
  floe_source_stream_free(stream);
  floe_source_close(src);
}

/* Runs `sql` typed by the described columns of `table`, expecting a value
 * error; returns its message. */
static const char *bad_value_message(floe_source *src, const char *table,
                                     const char *sql, int *out_rc) {
  static floe_error err;
  floe_error_init(&err);
  floe_source_table t;
  *out_rc = floe_source_describe(src, table, &t, &err);
  if (*out_rc < 0) return err.message;
  floe_source_query_spec spec = {0};
  spec.sql = sql;
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  spec.table = table;
  spec.batch_rows = 2;
  floe_source_stream *stream = NULL;
  *out_rc = floe_source_query(src, &spec, &stream, &err);
  struct ArrowArray batch;
  while (*out_rc >= 0 && (*out_rc = floe_source_stream_next(stream, &batch, &err)) == 1)
    floe_arrow_array_release(&batch);
  if (*out_rc < 0 && stream != NULL) {
    /* A failed stream stays failed. */
    floe_error again = {0};
    if (floe_source_stream_next(stream, &batch, &again) != FLOE_EINVAL)
      *out_rc = -999;
  }
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
  return err.message;
}

static void test_bad_values_are_errors_naming_table_column_key_value(void) {
  floe_source *src = open_fresh("bad");
  REQUIRE(src != NULL);
  REQUIRE(exec(src,
               "CREATE TABLE items (region TEXT, id INTEGER, qty INTEGER,"
               " day DATE, price DECIMAL(5,2), ok BOOLEAN, at TIMESTAMP,"
               " u UUID, t TIME, PRIMARY KEY (region, id));"
               "CREATE TABLE nokey (qty INTEGER, label TEXT);"
               "INSERT INTO items (region, id, qty) VALUES ('eu', 1, 5), ('eu', 2, 6),"
               " ('us', 3, 7);"
               "INSERT INTO nokey VALUES (1, 'a'), (2, 'b'), (3, 'c')") == 0);
  static const struct {
    const char *table, *sql, *message;
  } cases[] = {
      {"items", "UPDATE items SET qty = 'many' WHERE id = 3",
       "source sqlite: table 'items' column 'qty' row (region='us', id=3): "
       "value 'many' does not fit long: not an integer in range"},
      {"items", "UPDATE items SET day = '2024-13-01' WHERE id = 2",
       "source sqlite: table 'items' column 'day' row (region='eu', id=2): "
       "value '2024-13-01' does not fit date: not a valid YYYY-MM-DD date"},
      {"items", "UPDATE items SET price = 12345.678 WHERE id = 3",
       "source sqlite: table 'items' column 'price' row (region='us', id=3): "
       "value '12345.678' does not fit decimal(5,2): 3 fractional digits, "
       "scale is 2"},
      {"items", "UPDATE items SET price = 1234.5 WHERE id = 1",
       "source sqlite: table 'items' column 'price' row (region='eu', id=1): "
       "value '1234.5' does not fit decimal(5,2): 4 integer digits, at most 3"},
      {"items", "UPDATE items SET qty = '9223372036854775808' WHERE id = 1",
       "source sqlite: table 'items' column 'qty' row (region='eu', id=1): "
       "value '9.223372036854776e+18' does not fit long: not an integer in "
       "range"},
      {"items", "UPDATE items SET qty = 2.5 WHERE id = 1",
       "source sqlite: table 'items' column 'qty' row (region='eu', id=1): "
       "value '2.5' does not fit long: not an integer in range"},
      {"items", "UPDATE items SET ok = 2 WHERE id = 1",
       "source sqlite: table 'items' column 'ok' row (region='eu', id=1): "
       "value '2' does not fit boolean: not a boolean (0 or 1)"},
      {"items", "UPDATE items SET ok = 'yes' WHERE id = 1",
       "source sqlite: table 'items' column 'ok' row (region='eu', id=1): "
       "value 'yes' does not fit boolean: not a boolean (true/false/t/f/1/0)"},
      {"items", "UPDATE items SET at = '2024-02-30 10:00' WHERE id = 1",
       "source sqlite: table 'items' column 'at' row (region='eu', id=1): "
       "value '2024-02-30 10:00' does not fit timestamp: not a valid ISO-8601 "
       "timestamp (YYYY-MM-DD[ HH:MM[:SS[.f]]][Z|+HH:MM])"},
      {"items", "UPDATE items SET at = 1700000000 WHERE id = 1",
       "source sqlite: table 'items' column 'at' row (region='eu', id=1): "
       "value '1700000000' does not fit timestamp: an integer cannot be read "
       "as this type"},
      {"items", "UPDATE items SET u = 'not-a-uuid' WHERE id = 1",
       "source sqlite: table 'items' column 'u' row (region='eu', id=1): "
       "value 'not-a-uuid' does not fit uuid: not a uuid (8-4-4-4-12 hex "
       "digits)"},
      {"items", "UPDATE items SET u = x'0102' WHERE id = 1",
       "source sqlite: table 'items' column 'u' row (region='eu', id=1): "
       "value 'x'0102'' does not fit uuid: a blob cannot be read as this type"},
      {"items", "UPDATE items SET t = '25:00' WHERE id = 1",
       "source sqlite: table 'items' column 't' row (region='eu', id=1): "
       "value '25:00' does not fit time: not a valid HH:MM[:SS[.ffffff]] time"},
      {"nokey", "UPDATE nokey SET qty = 'x' WHERE label = 'c'",
       "source sqlite: table 'nokey' column 'qty' row 3: value 'x' does not "
       "fit long: not an integer in range"},
      /* The invalid byte is replaced in the message (messages are UTF-8). */
      {"nokey", "UPDATE nokey SET label = CAST(x'ff' AS TEXT) WHERE qty = 2",
       "source sqlite: table 'nokey' column 'label' row 2: value '?' does "
       "not fit string: not valid UTF-8"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    REQUIRE(exec(src, "SAVEPOINT one") == 0);
    REQUIRE(exec(src, cases[i].sql) == 0);
    char select[128];
    snprintf(select, sizeof select, "SELECT * FROM %s ORDER BY rowid",
             cases[i].table);
    int rc;
    const char *msg = bad_value_message(src, cases[i].table, select, &rc);
    CHECK_INT_EQ(rc, FLOE_ERANGE);
    CHECK_STR_EQ(msg, cases[i].message);
    REQUIRE(exec(src, "ROLLBACK TO one; RELEASE one") == 0);
  }
  /* NULL in a column the caller declares NOT NULL. */
  floe_source_column c = {.name = "n", .declared_type = "", .nullable = false,
                          .type = floe_arrow_type_of(FLOE_ARROW_INT64)};
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT 1 UNION ALL SELECT NULL";
  spec.columns = &c;
  spec.n_columns = 1;
  floe_source_stream *stream = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), FLOE_ERANGE);
  CHECK_STR_EQ(err.message,
               "source sqlite: column 'n' row 2: NULL in a column declared NOT NULL");
  floe_source_stream_free(stream);
  /* A column count that does not match the expected columns. */
  spec.sql = "SELECT 1, 2";
  CHECK_INT_EQ(floe_source_query(src, &spec, &stream, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "source sqlite: query returns 2 columns, expected 1");
  /* An SQL error carries SQLite's message and code. */
  spec.sql = "SELECT * FROM missing_table";
  CHECK_INT_EQ(floe_source_query(src, &spec, &stream, &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source sqlite: query: prepare: no such table: missing_table "
               "(sqlite code 1)");
  floe_source_close(src);
}

static void test_batches_split_at_batch_size(void) {
  floe_source *src = open_fresh("batches");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE n (id INTEGER PRIMARY KEY, label TEXT);"
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                    "FROM c WHERE x < 10) INSERT INTO n SELECT x, 'n' || x FROM c") == 0);
  floe_error err = {0};
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "n", &t, &err), &err);
  static const int64_t batch_sizes[] = {1, 3, 4, 5, 10, 11, 8192};
  for (size_t k = 0; k < sizeof batch_sizes / sizeof batch_sizes[0]; k++) {
    floe_source_query_spec spec = {0};
    spec.sql = "SELECT id, label FROM n ORDER BY id";
    spec.columns = t.columns;
    spec.n_columns = t.n_columns;
    spec.batch_rows = batch_sizes[k];
    floe_source_stream *stream = NULL;
    REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
    int64_t next_id = 1, batches = 0;
    struct ArrowArray batch;
    int rc;
    while ((rc = floe_source_stream_next(stream, &batch, &err)) == 1) {
      int64_t want = 10 - (next_id - 1) < batch_sizes[k] ? 10 - (next_id - 1)
                                                         : batch_sizes[k];
      CHECK_INT_EQ(batch.length, want);
      CHECK_INT_EQ(batch.n_children, 2);
      floe_arrow_view ids, labels;
      REQUIRE_OK(floe_arrow_view_init(&ids, floe_source_stream_schema(stream)->children[0],
                                      batch.children[0], &err), &err);
      REQUIRE_OK(floe_arrow_view_init(&labels, floe_source_stream_schema(stream)->children[1],
                                      batch.children[1], &err), &err);
      for (int64_t i = 0; i < batch.length; i++, next_id++) {
        CHECK_INT_EQ(floe_arrow_view_int64(&ids, i), next_id);
        char label[32];
        int len = snprintf(label, sizeof label, "n%" PRId64, next_id);
        CHECK(bytes_eq(&labels, i, label, (size_t)len));
      }
      floe_arrow_array_release(&batch);
      batches++;
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(next_id, 11);
    CHECK_INT_EQ(batches, (10 + batch_sizes[k] - 1) / batch_sizes[k]);
    CHECK_INT_EQ(floe_source_stream_rows(stream), 10);
    /* The end is sticky: no re-run of the statement. */
    CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 0);
    floe_source_stream_free(stream);
  }
  /* An empty result is an immediate end. */
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id, label FROM n WHERE id > 100";
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 0);
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
  floe_source_close(src);
}

static void test_million_rows_hold_one_batch_at_a_time(void) {
  floe_source *src = open_fresh("million");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, "
                    "amount DECIMAL(12,2), at TIMESTAMP);"
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                    "FROM c WHERE x < 1000000) INSERT INTO big SELECT x, "
                    "'label-' || x || '-some-padding-text', x * 0.25, "
                    "'2024-01-01 00:00:00' FROM c") == 0);
  floe_error err = {0};
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "big", &t, &err), &err);
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT * FROM big";
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
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
    /* Measured while holding the batch: live heap must not grow with rows. */
    size_t live = live_heap_bytes();
    if (batches == 1) baseline = live;
    if (live > peak) peak = live;
    CHECK(batch.length == 8192 || rows + batch.length == 1000000);
    floe_arrow_view ids, amounts;
    REQUIRE_OK(floe_arrow_view_init(&ids, floe_source_stream_schema(stream)->children[0],
                                    batch.children[0], &err), &err);
    REQUIRE_OK(floe_arrow_view_init(&amounts, floe_source_stream_schema(stream)->children[2],
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
  CHECK_INT_EQ(batches, 123); /* 122 full batches and 576 rows */
  CHECK_INT_EQ(id_sum, INT64_C(500000500000));
  CHECK(amount_sum == (floe_int128)INT64_C(500000500000) * 25);
  /* One batch of these rows holds about 1.2 MB of buffers (measured: keeping
   * one extra batch alive grows the peak by 1180992 bytes); the table is
   * about 70 MB. Growth under 1 MB means no batch was retained. */
  size_t growth = peak > baseline ? peak - baseline : 0;
  printf("  1M rows, 123 batches in %.2f s: live heap growth after batch 2 = "
         "%zu bytes\n", seconds, growth);
  CHECK(growth < 1024 * 1024);
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
  floe_source_close(src);
}

static void test_quotes_hostile_identifiers(void) {
  floe_source *src = open_fresh("quoting");
  REQUIRE(src != NULL);
  floe_error err = {0};
  char *q = NULL;
  static const struct {
    const char *in, *out;
  } idents[] = {
      {"a\"b", "\"a\"\"b\""},
      {"with space", "\"with space\""},
      {"select", "\"select\""},
      {"\"", "\"\"\"\""},
      {"a.b", "\"a.b\""},
      {"Ünïcødé", "\"Ünïcødé\""},
  };
  for (size_t i = 0; i < sizeof idents / sizeof idents[0]; i++) {
    REQUIRE_OK(floe_source_quote_ident(src, idents[i].in, &q, &err), &err);
    CHECK_STR_EQ(q, idents[i].out);
    floe_free(q);
  }
  static const struct {
    const char *in, *out;
  } names[] = {
      {"sales", "\"sales\""},
      {"main.sales", "\"main\".\"sales\""},
      {"\"my.schema\".\"a\"\"b\"", "\"my.schema\".\"a\"\"b\""},
      {"Sales Data.order", "\"Sales Data\".\"order\""},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    REQUIRE_OK(floe_source_quote_name(src, names[i].in, &q, &err), &err);
    CHECK_STR_EQ(q, names[i].out);
    floe_free(q);
  }
  static const struct {
    const char *in, *message;
  } bad[] = {
      {"", "empty identifier"},
      {"a..b", "identifier 'a..b': empty part"},
      {"\"open", "identifier '\"open': unbalanced double quote"},
      {"\"a\"b", "identifier '\"a\"b': text after a closing quote"},
      {"a.", "identifier 'a.': empty part"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_INT_EQ(floe_source_quote_name(src, bad[i].in, &q, &err), FLOE_EINVAL);
    CHECK_STR_EQ(err.message, bad[i].message);
    CHECK(q == NULL);
  }
  CHECK_INT_EQ(floe_source_quote_ident(src, "", &q, &err), FLOE_EINVAL);

  /* Quoted names work end to end: create, describe, query. */
  char *table = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;
  REQUIRE_OK(floe_source_quote_name(src, "main.we\"ird table", &table, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "a\"b", &c1, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "with space", &c2, &err), &err);
  REQUIRE_OK(floe_source_quote_ident(src, "select", &c3, &err), &err);
  char sql[512];
  snprintf(sql, sizeof sql, "CREATE TABLE %s (%s INTEGER, %s TEXT, %s REAL)",
           table, c1, c2, c3);
  REQUIRE(exec(src, sql) == 0);
  snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (1, 'x; DROP TABLE t', 2.5)",
           table);
  REQUIRE(exec(src, sql) == 0);
  floe_source_table t;
  REQUIRE_OK(floe_source_describe(src, "\"main\".\"we\"\"ird table\"", &t, &err), &err);
  CHECK(t.exists);
  REQUIRE(t.n_columns == 3);
  CHECK_STR_EQ(t.columns[0].name, "a\"b");
  CHECK_STR_EQ(t.columns[1].name, "with space");
  CHECK_STR_EQ(t.columns[2].name, "select");
  snprintf(sql, sizeof sql, "SELECT %s, %s, %s FROM %s", c1, c2, c3, table);
  floe_source_query_spec spec = {0};
  spec.sql = sql;
  spec.columns = t.columns;
  spec.n_columns = t.n_columns;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  CHECK_STR_EQ(floe_source_stream_schema(stream)->children[0]->name, "a\"b");
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  floe_arrow_view v;
  REQUIRE_OK(floe_arrow_view_init(&v, floe_source_stream_schema(stream)->children[1],
                                  batch.children[1], &err), &err);
  CHECK(bytes_eq(&v, 0, "x; DROP TABLE t", 15));
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  floe_source_table_free(&t);
  floe_free(table);
  floe_free(c1);
  floe_free(c2);
  floe_free(c3);
  floe_source_close(src);
}

static void test_params_bind_natively(void) {
  floe_source *src = open_fresh("params");
  REQUIRE(src != NULL);
  floe_error err = {0};
  REQUIRE(exec(src, "CREATE TABLE p (i INTEGER, d REAL, t TEXT, b BLOB, n TEXT)") == 0);
  const char *hostile = "'); DROP TABLE p; --";
  floe_source_param params[5] = {
      floe_param_int64(INT64_MIN), floe_param_double(-0.125),
      floe_param_text(hostile), floe_param_blob("\x00\x01\x02", 3),
      floe_param_null()};
  int64_t rows = -1;
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO p VALUES (?1, ?2, ?3, ?4, ?5)",
                              params, 5, &rows, &err), &err);
  CHECK_INT_EQ(rows, 1);
  read_result r;
  REQUIRE_OK(read_table(src, "p", "SELECT * FROM p", &r, &err), &err);
  REQUIRE(r.batch.length == 1);
  CHECK(floe_arrow_view_int64(&r.views[0], 0) == INT64_MIN);
  CHECK(floe_arrow_view_double(&r.views[1], 0) == -0.125);
  CHECK(bytes_eq(&r.views[2], 0, hostile, strlen(hostile)));
  CHECK(bytes_eq(&r.views[3], 0, "\x00\x01\x02", 3));
  CHECK(floe_arrow_view_is_null(&r.views[4], 0));
  read_result_free(&r);
  /* Parameters filter a query. */
  floe_source_param match = floe_param_text(hostile);
  int64_t count = 0;
  bool is_null = true;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM p WHERE t = ?",
                                     &match, 1, &count, &is_null, &err), &err);
  CHECK_INT_EQ(count, 1);
  CHECK(!is_null);
  /* Parameter count must match the statement. */
  CHECK_INT_EQ(floe_source_exec(src, "INSERT INTO p (i) VALUES (?)", NULL, 0,
                                NULL, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message,
               "source sqlite: exec: statement has 1 parameters, 0 given");
  CHECK_INT_EQ(floe_source_exec(src, "SELECT 1; SELECT ?", params, 1, NULL, &err),
               FLOE_EINVAL);
  CHECK_STR_EQ(err.message,
               "source sqlite: exec: parameters given for more than one statement");
  floe_source_close(src);
}

static void test_exec_and_transactions(void) {
  floe_source *src = open_fresh("txn");
  REQUIRE(src != NULL);
  floe_error err = {0};
  int64_t rows = -1;
  REQUIRE_OK(floe_source_exec(src,
                              "CREATE TABLE t (id INTEGER); INSERT INTO t VALUES "
                              "(1), (2), (3)",
                              NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 3);
  REQUIRE_OK(floe_source_exec(src, "UPDATE t SET id = id + 10 WHERE id >= 2", NULL,
                              0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 2);
  REQUIRE_OK(floe_source_exec(src, "CREATE TABLE u (x)", NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 0);

  REQUIRE_OK(floe_source_begin(src, &err), &err);
  CHECK(floe_source_in_transaction(src));
  CHECK_INT_EQ(floe_source_begin(src, &err), FLOE_EINVAL);
  REQUIRE_OK(floe_source_exec(src, "DELETE FROM t", NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 3);
  REQUIRE_OK(floe_source_rollback(src, &err), &err);
  CHECK(!floe_source_in_transaction(src));
  int64_t n = 0;
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 3);

  REQUIRE_OK(floe_source_begin(src, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO t VALUES (4)", NULL, 0, NULL, &err), &err);
  REQUIRE_OK(floe_source_commit(src, &err), &err);
  /* Another connection sees the committed row. */
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_SQLITE;
  config.sqlite_path = db_path;
  floe_source *other = NULL;
  REQUIRE_OK(floe_source_open(&other, &config, &err), &err);
  REQUIRE_OK(floe_source_query_int64(other, "SELECT sum(id) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 1 + 12 + 13 + 4);
  /* A writer holding BEGIN IMMEDIATE makes the other writer wait, then
   * fail with SQLite's busy error after its timeout. */
  floe_source_close(other);
  config.sqlite_busy_timeout_ms = 50;
  REQUIRE_OK(floe_source_open(&other, &config, &err), &err);
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  CHECK_INT_EQ(floe_source_begin(other, &err), FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source sqlite: begin: BEGIN IMMEDIATE: database is locked "
               "(sqlite code 5)");
  CHECK(!floe_source_in_transaction(other));
  REQUIRE_OK(floe_source_rollback(src, &err), &err);
  floe_source_close(other);

  CHECK_INT_EQ(floe_source_commit(src, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "source sqlite: commit: no transaction is open");
  CHECK_INT_EQ(floe_source_rollback(src, &err), FLOE_EINVAL);

  /* Nothing else runs while a stream is open. */
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id FROM t";
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  CHECK_INT_EQ(floe_source_exec(src, "DELETE FROM t", NULL, 0, NULL, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message,
               "source sqlite: exec while a query stream is open (free the "
               "stream first)");
  floe_source_stream *second = NULL;
  CHECK_INT_EQ(floe_source_query(src, &spec, &second, &err), FLOE_EINVAL);
  CHECK(second == NULL);
  floe_source_stream_free(stream);
  REQUIRE_OK(floe_source_exec(src, "DELETE FROM t WHERE id = 4", NULL, 0, &rows, &err), &err);
  CHECK_INT_EQ(rows, 1);
  /* SQL errors carry SQLite's message. */
  CHECK_INT_EQ(floe_source_exec(src, "INSERT INTO nope VALUES (1)", NULL, 0, NULL, &err),
               FLOE_ESOURCE);
  CHECK_STR_EQ(err.message,
               "source sqlite: exec: prepare: no such table: nope (sqlite code 1)");
  /* Closing with an open transaction rolls it back. */
  REQUIRE_OK(floe_source_begin(src, &err), &err);
  REQUIRE_OK(floe_source_exec(src, "DELETE FROM t", NULL, 0, NULL, &err), &err);
  floe_source_close(src);
  config.sqlite_busy_timeout_ms = 0;
  REQUIRE_OK(floe_source_open(&src, &config, &err), &err);
  REQUIRE_OK(floe_source_query_int64(src, "SELECT count(*) FROM t", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 3);
  floe_source_close(src);
}

/* In WAL mode a reading stream keeps its snapshot while another connection
 * commits (no SQLITE_BUSY), and the next query sees the new rows. */
static void test_wal_reader_and_writer_do_not_block(void) {
  floe_source *reader = open_fresh("wal");
  REQUIRE(reader != NULL);
  REQUIRE(exec(reader, "PRAGMA journal_mode = WAL; CREATE TABLE w (id INTEGER);"
                       " INSERT INTO w VALUES (1), (2), (3)") == 0);
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_SQLITE;
  config.sqlite_path = db_path;
  config.sqlite_busy_timeout_ms = 100;
  floe_source *writer = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&writer, &config, &err), &err);
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT id FROM w ORDER BY id";
  spec.batch_rows = 1;
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(reader, &spec, &stream, &err), &err);
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  floe_arrow_array_release(&batch);
  int64_t rows = 0;
  REQUIRE_OK(floe_source_exec(writer, "INSERT INTO w VALUES (4)", NULL, 0, &rows,
                              &err), &err);
  CHECK_INT_EQ(rows, 1);
  int64_t seen = 1;
  int rc;
  while ((rc = floe_source_stream_next(stream, &batch, &err)) == 1) {
    seen += batch.length;
    floe_arrow_array_release(&batch);
  }
  CHECK_INT_EQ(rc, 0);
  CHECK_INT_EQ(seen, 3); /* the stream's snapshot */
  floe_source_stream_free(stream);
  int64_t n = 0;
  REQUIRE_OK(floe_source_query_int64(reader, "SELECT count(*) FROM w", NULL, 0, &n,
                                     NULL, &err), &err);
  CHECK_INT_EQ(n, 4);
  char *mode = NULL;
  REQUIRE_OK(floe_source_query_text(writer, "PRAGMA journal_mode", NULL, 0, &mode,
                                    &err), &err);
  CHECK_STR_EQ(mode, "wal"); /* floe leaves the owner's journal mode alone */
  floe_free(mode);
  floe_source_close(writer);
  floe_source_close(reader);
}

static void test_scalar_helpers_for_control_table(void) {
  floe_source *src = open_fresh("control");
  REQUIRE(src != NULL);
  floe_error err = {0};
  REQUIRE(exec(src, "CREATE TABLE control (table_name TEXT, batch_sk BIGINT)") == 0);
  int64_t v = 99;
  bool is_null = false;
  floe_source_param name = floe_param_text("sales");
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT max(batch_sk) FROM control WHERE "
                                     "table_name = ?1",
                                     &name, 1, &v, &is_null, &err), &err);
  CHECK(is_null);
  CHECK_INT_EQ(v, 0);
  floe_source_param row[2] = {floe_param_text("sales"), floe_param_int64(0)};
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO control VALUES (?1, ?2)", row, 2,
                              NULL, &err), &err);
  row[1] = floe_param_int64(INT64_MAX);
  REQUIRE_OK(floe_source_exec(src, "INSERT INTO control VALUES (?1, ?2)", row, 2,
                              NULL, &err), &err);
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT max(batch_sk) FROM control WHERE "
                                     "table_name = ?1",
                                     &name, 1, &v, &is_null, &err), &err);
  CHECK(!is_null);
  CHECK(v == INT64_MAX);
  /* Second-largest row: no row at all reads as NULL. */
  REQUIRE_OK(floe_source_query_int64(src,
                                     "SELECT batch_sk FROM control ORDER BY "
                                     "batch_sk DESC LIMIT 1 OFFSET 5",
                                     NULL, 0, &v, &is_null, &err), &err);
  CHECK(is_null);
  char *text = NULL;
  REQUIRE_OK(floe_source_query_text(src, "SELECT table_name FROM control LIMIT 1",
                                    NULL, 0, &text, &err), &err);
  CHECK_STR_EQ(text, "sales");
  floe_free(text);
  REQUIRE_OK(floe_source_query_text(src, "SELECT NULL", NULL, 0, &text, &err), &err);
  CHECK(text == NULL);
  CHECK_INT_EQ(floe_source_query_int64(src, "SELECT 'twelve'", NULL, 0, &v,
                                       &is_null, &err), FLOE_ERANGE);
  CHECK_STR_EQ(err.message,
               "source sqlite: column 'value' row 1: value 'twelve' does not "
               "fit long: not an integer in range");
  CHECK_INT_EQ(floe_source_query_int64(src, "SELECT 1, 2", NULL, 0, &v, &is_null,
                                       &err), FLOE_EINVAL);
  floe_source_close(src);
}

static void test_untyped_query_infers_types(void) {
  floe_source *src = open_fresh("untyped");
  REQUIRE(src != NULL);
  floe_error err = {0};
  REQUIRE(exec(src, "CREATE TABLE t (d DECIMAL(6,3), ts TIMESTAMP, x);"
                    "INSERT INTO t VALUES (1.25, '2000-01-01 00:00:00', x'0a')") == 0);
  floe_source_query_spec spec = {0};
  spec.sql = "SELECT d, ts, x, count(*) AS n, 2.5 AS r, 'txt' AS s, NULL AS z FROM t";
  floe_source_stream *stream = NULL;
  REQUIRE_OK(floe_source_query(src, &spec, &stream, &err), &err);
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  REQUIRE(schema->n_children == 7);
  /* x has no declared type: typed by its first value's storage class. */
  static const char *formats[] = {"d:6,3", "tsu:", "z", "l", "g", "u", "u"};
  static const char *names[] = {"d", "ts", "x", "n", "r", "s", "z"};
  for (int i = 0; i < 7; i++) {
    CHECK_STR_EQ(schema->children[i]->format, formats[i]);
    CHECK_STR_EQ(schema->children[i]->name, names[i]);
  }
  struct ArrowArray batch;
  REQUIRE(floe_source_stream_next(stream, &batch, &err) == 1);
  CHECK_INT_EQ(batch.length, 1);
  floe_arrow_view v;
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[0], batch.children[0], &err), &err);
  CHECK(floe_arrow_view_decimal(&v, 0) == 1250);
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[2], batch.children[2], &err), &err);
  CHECK(bytes_eq(&v, 0, "\n", 1));
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[3], batch.children[3], &err), &err);
  CHECK_INT_EQ(floe_arrow_view_int64(&v, 0), 1);
  REQUIRE_OK(floe_arrow_view_init(&v, schema->children[6], batch.children[6], &err), &err);
  CHECK(floe_arrow_view_is_null(&v, 0));
  floe_arrow_array_release(&batch);
  CHECK_INT_EQ(floe_source_stream_next(stream, &batch, &err), 0);
  floe_source_stream_free(stream);
  floe_source_close(src);
}

static void test_open_errors(void) {
  const char *dir = scratch_dir("test_source_sqlite");
  REQUIRE(dir != NULL);
  char path[4200];
  snprintf(path, sizeof path, "%s/missing.db", dir);
  unlink(path);
  floe_source_config config = {0};
  config.type = FLOE_SOURCE_SQLITE;
  config.sqlite_path = path;
  floe_source *src = NULL;
  floe_error err = {0};
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_ENOTFOUND);
  char want[4400];
  snprintf(want, sizeof want, "source sqlite: database '%s' does not exist", path);
  CHECK_STR_EQ(err.message, want);
  CHECK(src == NULL);
  snprintf(path, sizeof path, "%s/garbage.db", dir);
  unlink(path);
  FILE *f = fopen(path, "wb");
  REQUIRE(f != NULL);
  for (int i = 0; i < 200; i++) fputs("this is not a database file\n", f);
  fclose(f);
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_ESOURCE);
  snprintf(want, sizeof want,
           "source sqlite '%s': SELECT count(*) FROM sqlite_schema: file is not "
           "a database (sqlite code 26)", path);
  CHECK_STR_EQ(err.message, want);
  config.sqlite_path = NULL;
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_EINVAL);
  config.type = FLOE_SOURCE_NONE;
  CHECK_INT_EQ(floe_source_open(&src, &config, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_source_type_from_name("PostgreSQL"), FLOE_SOURCE_POSTGRES);
  CHECK_INT_EQ(floe_source_type_from_name("sqlite"), FLOE_SOURCE_SQLITE);
  CHECK_INT_EQ(floe_source_type_from_name("oracle"), FLOE_SOURCE_NONE);
  floe_source_close(NULL);
  floe_source_stream_free(NULL);
  floe_source_table_free(NULL);
}

/* Every allocation on the describe + query path may fail: the error is
 * ENOMEM (or the allocation was not needed) and nothing leaks. */
static void test_allocation_failures_are_clean(void) {
  floe_source *src = open_fresh("alloc");
  REQUIRE(src != NULL);
  REQUIRE(exec(src, "CREATE TABLE a (id INTEGER PRIMARY KEY, s TEXT, d DECIMAL(9,2), "
                    "u UUID); INSERT INTO a VALUES (1, 'one', 1.5, "
                    "'123e4567-e89b-12d3-a456-426614174000'), (2, 'two', NULL, NULL)") == 0);
  int failures = 0, successes = 0;
  for (long n = 1; n < 400; n++) {
    floe_error err = {0};
    floe_source_table t = {0};
    floe_source_stream *stream = NULL;
    struct ArrowArray batch = {0};
    floe_alloc_fail_after(n);
    int rc = floe_source_describe(src, "main.a", &t, &err);
    if (rc == 0) {
      floe_source_query_spec spec = {0};
      spec.sql = "SELECT * FROM a WHERE id >= ?";
      floe_source_param p = floe_param_int64(1);
      spec.params = &p;
      spec.n_params = 1;
      spec.columns = t.columns;
      spec.n_columns = t.n_columns;
      spec.batch_rows = 1;
      spec.table = "a";
      rc = floe_source_query(src, &spec, &stream, &err);
      while (rc >= 0 && (rc = floe_source_stream_next(stream, &batch, &err)) == 1)
        floe_arrow_array_release(&batch);
    }
    floe_alloc_fail_after(0);
    floe_source_stream_free(stream);
    floe_source_table_free(&t);
    if (rc == 0) {
      successes++;
      if (successes > 3) break; /* past the last allocation */
    } else {
      failures++;
      if (rc != FLOE_ENOMEM)
        TEST_FAIL_AT(__FILE__, __LINE__, "n=%ld rc=%d %s", n, rc, err.message);
    }
  }
  CHECK(failures > 10);
  CHECK(successes > 0);
  floe_source_close(src);
}

int main(void) {
  RUN(test_describe_maps_declared_types);
  RUN(test_reads_every_type_with_edge_values);
  RUN(test_decimal_text_extremes_are_exact);
  RUN(test_bad_values_are_errors_naming_table_column_key_value);
  RUN(test_batches_split_at_batch_size);
  RUN(test_million_rows_hold_one_batch_at_a_time);
  RUN(test_quotes_hostile_identifiers);
  RUN(test_params_bind_natively);
  RUN(test_exec_and_transactions);
  RUN(test_wal_reader_and_writer_do_not_block);
  RUN(test_scalar_helpers_for_control_table);
  RUN(test_untyped_query_infers_types);
  RUN(test_open_errors);
  RUN(test_allocation_failures_are_clean);
  return test_report();
}
