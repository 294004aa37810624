/*
 * tests/unit/test_snowflake_decode: the SQL API v2 partition decoder.
 *
 * Hand-written result bodies in the documented jsonv2 encoding ("Handling
 * responses": every value a string, DATE as epoch days, TIME/TIMESTAMP as
 * epoch seconds with 9 fractional digits, TIMESTAMP_TZ with its offset +
 * 1440, BINARY as hex) are decoded whole, byte by byte and in odd chunks,
 * and every Arrow value is checked against the value worked out by hand.
 * Malformed bodies must fail with a message that says where.
 */
#include <math.h>

#include "floe/arrow.h"
#include "floe/time.h"
#include "source/snowflake_internal.h"
#include "test.h"

/* Every kind, with edge values; row 3 is all NULL. Type names in mixed
 * case, as the docs allow. */
static const char all_types_body[] =
    "{\"resultSetMetaData\":{\"numRows\":3,\"format\":\"jsonv2\",\"rowType\":["
    "{\"name\":\"ID\",\"type\":\"fixed\",\"precision\":18,\"scale\":0,\"nullable\":false},"
    "{\"name\":\"PRICE\",\"type\":\"FIXED\",\"precision\":38,\"scale\":2,\"nullable\":true},"
    "{\"name\":\"BIG\",\"type\":\"Fixed\",\"precision\":38,\"scale\":0,\"nullable\":true},"
    "{\"name\":\"TINY\",\"type\":\"FIXED\",\"precision\":38,\"scale\":38,\"nullable\":true},"
    "{\"name\":\"R\",\"type\":\"real\",\"nullable\":true},"
    "{\"name\":\"T\",\"type\":\"TEXT\",\"length\":100,\"nullable\":true},"
    "{\"name\":\"B\",\"type\":\"BOOLEAN\",\"nullable\":true},"
    "{\"name\":\"D\",\"type\":\"date\",\"nullable\":true},"
    "{\"name\":\"TM\",\"type\":\"TIME\",\"scale\":9,\"nullable\":true},"
    "{\"name\":\"NTZ\",\"type\":\"TIMESTAMP_NTZ\",\"scale\":9,\"nullable\":true},"
    "{\"name\":\"LTZ\",\"type\":\"timestamp_ltz\",\"scale\":9,\"nullable\":true},"
    "{\"name\":\"TZ\",\"type\":\"TIMESTAMP_TZ\",\"scale\":9,\"nullable\":true},"
    "{\"name\":\"BIN\",\"type\":\"BINARY\",\"nullable\":true},"
    "{\"name\":\"V\",\"type\":\"VARIANT\",\"nullable\":true},"
    "{\"name\":\"O\",\"type\":\"object\",\"nullable\":true},"
    "{\"name\":\"A\",\"type\":\"ARRAY\",\"nullable\":true},"
    "{\"name\":\"G\",\"type\":\"GEOGRAPHY\",\"nullable\":true}"
    "],\"partitionInfo\":[{\"rowCount\":3,\"uncompressedSize\":900}]},"
    "\"data\":[\n"
    "[\"1\",\"-12.34\",\"12345678901234567890123456789012345678\","
    "\"0.12345678901234567890123456789012345678\",\"1.5\","
    "\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\/\",\"true\",\"19723\",\"45296.123456789\","
    "\"1616173619.123456789\",\"-1.5\",\"1616173619.000000000 960\",\"48656C6C6f\","
    "\"{\\n  \\\"a\\\": [1, \\\"x\\\"]\\n}\",\"{\\\"k\\\":null}\",\"[1,2]\","
    "\"{\\\"type\\\":\\\"Point\\\"}\"],\n"
    "[\"-9223372036854775808\",\"-0.05\",\"-99999999999999999999999999999999999999\","
    "\"-0.00000000000000000000000000000000000001\",\"-2.5e-3\",\"\",\"false\",\"-1\","
    "\"0.000000000\",\"-0.0000005\",\"-86400.000001\",\"-1.5 0\",\"\",\"\\\"s\\\"\","
    "\"{}\",\"[]\",\"\"],\n"
    "[\"0\",null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null]\n"
    "],\"code\":\"090001\",\"statementStatusUrl\":\"/api/v2/statements/"
    "01b2c3d4-0000-1111-0000-000000000001\",\"sqlState\":\"00000\","
    "\"statementHandle\":\"01b2c3d4-0000-1111-0000-000000000001\","
    "\"message\":\"Statement executed successfully.\",\"createdOn\":1700000000000}";

/* Decodes body in chunks of `chunk` bytes (0: all at once). */
static int decode(floe_sf_decoder *dec, const char *body, size_t len,
                  size_t chunk, floe_error *err) {
  floe_sf_decoder_reset(dec, 1);
  if (chunk == 0) chunk = len ? len : 1;
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    int rc = floe_sf_decoder_feed(dec, body + off, n, err);
    if (rc < 0) return rc;
  }
  return floe_sf_decoder_finish(dec, err);
}

typedef struct decoded {
  struct ArrowArray batch;
  struct ArrowSchema schema;
  floe_arrow_view views[32];
} decoded;

static int decode_batch(const char *body, size_t chunk, decoded *out,
                        floe_error *err) {
  floe_sf_decoder *dec = NULL;
  int rc = floe_sf_decoder_new(&dec, err);
  if (rc == 0) rc = decode(dec, body, strlen(body), chunk, err);
  if (rc == 0) rc = floe_sf_decoder_take_batch(dec, &out->batch, &out->schema, err);
  for (int64_t i = 0; rc == 0 && i < out->schema.n_children && i < 32; i++)
    rc = floe_arrow_view_init(&out->views[i], out->schema.children[i],
                              out->batch.children[i], err);
  floe_sf_decoder_free(dec);
  return rc;
}

static void decoded_free(decoded *d) {
  floe_arrow_array_release(&d->batch);
  floe_arrow_schema_release(&d->schema);
}

static bool bytes_eq(const floe_arrow_view *v, int64_t i, const char *want,
                     size_t want_len) {
  size_t len;
  const uint8_t *b = floe_arrow_view_bytes(v, i, &len);
  return len == want_len && memcmp(b, want, len) == 0;
}

static floe_int128 i128_from(const char *digits) {
  floe_int128 v = 0;
  bool neg = *digits == '-';
  for (const char *p = digits + neg; *p; p++) v = v * 10 + (*p - '0');
  return neg ? -v : v;
}

static void check_all_types(const decoded *d) {
  const floe_arrow_view *v = d->views;
  CHECK_INT_EQ(d->batch.length, 3);
  CHECK_INT_EQ(d->schema.n_children, 17);
  /* Types by the documented mapping. */
  CHECK_INT_EQ(v[0].type.id, FLOE_ARROW_INT64);
  CHECK_INT_EQ(v[1].type.id, FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(v[1].type.scale, 2);
  CHECK_INT_EQ(v[2].type.id, FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(v[2].type.precision, 38);
  CHECK_INT_EQ(v[3].type.scale, 38);
  CHECK_INT_EQ(v[4].type.id, FLOE_ARROW_DOUBLE);
  CHECK_INT_EQ(v[5].type.id, FLOE_ARROW_UTF8);
  CHECK_INT_EQ(v[6].type.id, FLOE_ARROW_BOOL);
  CHECK_INT_EQ(v[7].type.id, FLOE_ARROW_DATE32);
  CHECK_INT_EQ(v[8].type.id, FLOE_ARROW_TIME64_US);
  CHECK_INT_EQ(v[9].type.id, FLOE_ARROW_TIMESTAMP_US);
  CHECK_INT_EQ(v[10].type.id, FLOE_ARROW_TIMESTAMP_US_TZ);
  CHECK_INT_EQ(v[11].type.id, FLOE_ARROW_TIMESTAMP_US_TZ);
  CHECK_INT_EQ(v[12].type.id, FLOE_ARROW_BINARY);
  for (int c = 13; c < 17; c++) CHECK_INT_EQ(v[c].type.id, FLOE_ARROW_UTF8);

  /* Row 1. */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[0], 0), 1);
  CHECK(floe_arrow_view_decimal(&v[1], 0) == -1234);
  CHECK(floe_arrow_view_decimal(&v[2], 0) ==
        i128_from("12345678901234567890123456789012345678"));
  CHECK(floe_arrow_view_decimal(&v[3], 0) ==
        i128_from("12345678901234567890123456789012345678"));
  CHECK(floe_arrow_view_double(&v[4], 0) == 1.5);
  static const char text1[] = "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80/";
  CHECK(bytes_eq(&v[5], 0, text1, sizeof text1 - 1));
  CHECK(floe_arrow_view_bool(&v[6], 0));
  CHECK_INT_EQ(floe_arrow_view_int32(&v[7], 0), 19723); /* 2024-01-01 */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[8], 0), INT64_C(45296123456));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[9], 0), INT64_C(1616173619123456));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[10], 0), -1500000);
  /* offset 960 = UTC-8; the epoch seconds already are the UTC instant. */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[11], 0), INT64_C(1616173619000000));
  CHECK(bytes_eq(&v[12], 0, "Hello", 5));
  static const char variant[] = "{\n  \"a\": [1, \"x\"]\n}";
  CHECK(bytes_eq(&v[13], 0, variant, sizeof variant - 1));
  CHECK(bytes_eq(&v[14], 0, "{\"k\":null}", 10));
  CHECK(bytes_eq(&v[15], 0, "[1,2]", 5));
  CHECK(bytes_eq(&v[16], 0, "{\"type\":\"Point\"}", 16));

  /* Row 2: negative and pre-1970 edges. */
  CHECK(floe_arrow_view_int64(&v[0], 1) == INT64_MIN);
  CHECK(floe_arrow_view_decimal(&v[1], 1) == -5);
  CHECK(floe_arrow_view_decimal(&v[2], 1) ==
        i128_from("-99999999999999999999999999999999999999"));
  CHECK(floe_arrow_view_decimal(&v[3], 1) == -1);
  CHECK(floe_arrow_view_double(&v[4], 1) == -0.0025);
  CHECK(bytes_eq(&v[5], 1, "", 0));
  CHECK(!floe_arrow_view_is_null(&v[5], 1));
  CHECK(!floe_arrow_view_bool(&v[6], 1));
  CHECK_INT_EQ(floe_arrow_view_int32(&v[7], 1), -1); /* 1969-12-31 */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[8], 1), 0);
  /* -0.0000005 s is 23:59:59.9999995 on 1969-12-31: its microsecond is
   * .999999, i.e. -1 us (digits dropped toward the past). */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[9], 1), -1);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[10], 1), INT64_C(-86400000001));
  /* offset 0 = UTC-24:00, still the same instant. */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[11], 1), -1500000);
  CHECK(bytes_eq(&v[12], 1, "", 0));
  CHECK(bytes_eq(&v[13], 1, "\"s\"", 3));

  /* Row 3: NULLs. */
  CHECK_INT_EQ(floe_arrow_view_int64(&v[0], 2), 0);
  for (int c = 1; c < 17; c++) CHECK(floe_arrow_view_is_null(&v[c], 2));
  CHECK(!floe_arrow_view_is_null(&v[1], 0));
}

static void test_decodes_every_type_with_edge_values(void) {
  floe_error err = {0};
  decoded d = {0};
  REQUIRE_OK(decode_batch(all_types_body, 0, &d, &err), &err);
  check_all_types(&d);
  decoded_free(&d);
}

static void test_decodes_the_same_in_any_chunking(void) {
  size_t chunks[] = {1, 2, 3, 7, 64, 1000};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    floe_error err = {0};
    decoded d = {0};
    REQUIRE_OK(decode_batch(all_types_body, chunks[i], &d, &err), &err);
    check_all_types(&d);
    decoded_free(&d);
  }
}

static void test_envelope_members_are_kept(void) {
  floe_error err = {0};
  floe_sf_decoder *dec = NULL;
  REQUIRE_OK(floe_sf_decoder_new(&dec, &err), &err);
  REQUIRE_OK(decode(dec, all_types_body, strlen(all_types_body), 5, &err), &err);
  const json_t *env = floe_sf_decoder_envelope(dec);
  REQUIRE(env != NULL);
  CHECK_STR_EQ(json_string_value(json_object_get(env, "statementHandle")),
               "01b2c3d4-0000-1111-0000-000000000001");
  CHECK_STR_EQ(json_string_value(json_object_get(env, "code")), "090001");
  CHECK(json_object_get(env, "data") == NULL);
  CHECK_INT_EQ(json_integer_value(json_object_get(env, "createdOn")),
               INT64_C(1700000000000));
  const json_t *info = json_object_get(json_object_get(env, "resultSetMetaData"),
                                       "partitionInfo");
  CHECK_INT_EQ(json_array_size(info), 1);
  CHECK(floe_sf_decoder_has_data(dec));
  CHECK_INT_EQ(floe_sf_decoder_rows(dec), 3);
  floe_sf_decoder_free(dec);
}

static void test_timestamp_tz_every_offset_sign(void) {
  /* Offsets 0 (-24:00), 1440 (UTC), 1770 (+05:30), 2880 (+24:00): the
   * instant never moves. */
  const char *body =
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"TZ\",\"type\":\"TIMESTAMP_TZ\"}]},"
      "\"data\":[[\"100.25 0\"],[\"100.25 1440\"],[\"100.25 1770\"],"
      "[\"100.25 2880\"],[\"-100.25 600\"]]}";
  floe_error err = {0};
  decoded d = {0};
  REQUIRE_OK(decode_batch(body, 0, &d, &err), &err);
  for (int i = 0; i < 4; i++)
    CHECK_INT_EQ(floe_arrow_view_int64(&d.views[0], i), 100250000);
  CHECK_INT_EQ(floe_arrow_view_int64(&d.views[0], 4), -100250000);
  decoded_free(&d);
}

static void test_partition_body_with_known_columns(void) {
  /* Partitions after the first carry only data (GET ...?partition=N). */
  floe_sf_column cols[2] = {{(char *)"N", FLOE_SF_FIXED, 10, 2, 0, true},
                            {(char *)"S", FLOE_SF_TEXT, 0, 0, 10, true}};
  floe_error err = {0};
  floe_sf_decoder *dec = NULL;
  REQUIRE_OK(floe_sf_decoder_new(&dec, &err), &err);
  REQUIRE_OK(floe_sf_decoder_set_columns(dec, cols, 2, &err), &err);
  const char *body = " {\"data\" : [ [ \"1.50\" , \"x\" ] , [null,\"\\u0041\"] ] } \n";
  REQUIRE_OK(decode(dec, body, strlen(body), 3, &err), &err);
  struct ArrowArray batch;
  struct ArrowSchema schema;
  REQUIRE_OK(floe_sf_decoder_take_batch(dec, &batch, &schema, &err), &err);
  floe_arrow_view n, s;
  REQUIRE_OK(floe_arrow_view_init(&n, schema.children[0], batch.children[0], &err), &err);
  REQUIRE_OK(floe_arrow_view_init(&s, schema.children[1], batch.children[1], &err), &err);
  CHECK_INT_EQ(batch.length, 2);
  CHECK(floe_arrow_view_decimal(&n, 0) == 150);
  CHECK(floe_arrow_view_is_null(&n, 1));
  CHECK(bytes_eq(&s, 1, "A", 1));
  CHECK_STR_EQ(schema.children[0]->format, "d:10,2");
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  /* The same decoder takes the next partition. */
  const char *next = "{\"data\":[[\"-3\",\"y\"]]}";
  floe_sf_decoder_reset(dec, 3);
  REQUIRE_OK(floe_sf_decoder_feed(dec, next, strlen(next), &err), &err);
  REQUIRE_OK(floe_sf_decoder_finish(dec, &err), &err);
  CHECK_INT_EQ(floe_sf_decoder_rows(dec), 1);
  floe_sf_decoder_free(dec);
}

static void test_data_before_metadata_is_decoded_at_the_end(void) {
  const char *body =
      "{\"data\":[[\"7\",\"2024-01-01\"],[\"8\",null]],"
      "\"resultSetMetaData\":{\"rowType\":[{\"name\":\"A\",\"type\":\"FIXED\","
      "\"precision\":9,\"scale\":0},{\"name\":\"B\",\"type\":\"TEXT\"}]}}";
  floe_error err = {0};
  decoded d = {0};
  REQUIRE_OK(decode_batch(body, 4, &d, &err), &err);
  CHECK_INT_EQ(d.batch.length, 2);
  CHECK_INT_EQ(floe_arrow_view_int64(&d.views[0], 1), 8);
  CHECK(bytes_eq(&d.views[1], 0, "2024-01-01", 10));
  CHECK(floe_arrow_view_is_null(&d.views[1], 1));
  decoded_free(&d);
}

static void test_targets_convert_and_reject(void) {
  /* Given target types (from describe): TIMESTAMP_NTZ -> string renders
   * ISO, FIXED -> int32 with a range check, DATE -> timestamp. */
  const char *body =
      "{\"resultSetMetaData\":{\"rowType\":["
      "{\"name\":\"TS\",\"type\":\"TIMESTAMP_NTZ\"},{\"name\":\"N\",\"type\":\"FIXED\",\"scale\":0},"
      "{\"name\":\"D\",\"type\":\"DATE\"},{\"name\":\"TZ\",\"type\":\"TIMESTAMP_TZ\"}]},"
      "\"data\":[[\"-1.5\",\"2147483647\",\"1\",\"0.000001 1500\"]]}";
  floe_arrow_type_info targets[4] = {
      floe_arrow_type_of(FLOE_ARROW_UTF8), floe_arrow_type_of(FLOE_ARROW_INT32),
      floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US),
      floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_NS_TZ)};
  floe_error err = {0};
  floe_sf_decoder *dec = NULL;
  REQUIRE_OK(floe_sf_decoder_new(&dec, &err), &err);
  REQUIRE_OK(floe_sf_decoder_set_targets(dec, targets, 4, &err), &err);
  REQUIRE_OK(decode(dec, body, strlen(body), 0, &err), &err);
  struct ArrowArray batch;
  struct ArrowSchema schema;
  REQUIRE_OK(floe_sf_decoder_take_batch(dec, &batch, &schema, &err), &err);
  floe_arrow_view v[4];
  for (int i = 0; i < 4; i++)
    REQUIRE_OK(floe_arrow_view_init(&v[i], schema.children[i], batch.children[i], &err),
               &err);
  CHECK(bytes_eq(&v[0], 0, "1969-12-31 23:59:58.500000", 26));
  CHECK_INT_EQ(floe_arrow_view_int32(&v[1], 0), INT32_MAX);
  CHECK_INT_EQ(floe_arrow_view_int64(&v[2], 0), INT64_C(86400000000));
  CHECK_INT_EQ(floe_arrow_view_int64(&v[3], 0), 1000);
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);

  /* One more than int's range, in row 1 of the body. */
  const char *over =
      "{\"resultSetMetaData\":{\"rowType\":["
      "{\"name\":\"TS\",\"type\":\"TIMESTAMP_NTZ\"},{\"name\":\"N\",\"type\":\"FIXED\",\"scale\":0},"
      "{\"name\":\"D\",\"type\":\"DATE\"},{\"name\":\"TZ\",\"type\":\"TIMESTAMP_TZ\"}]},"
      "\"data\":[[\"0\",\"2147483648\",\"1\",\"0 1440\"]]}";
  CHECK(decode(dec, over, strlen(over), 0, &err) == FLOE_ERANGE);
  CHECK(strstr(err.message, "column 'N' row 1") != NULL);
  CHECK(strstr(err.message, "2147483648") != NULL);
  /* A wrong column count against fixed targets. */
  floe_sf_decoder_reset(dec, 1);
  const char *three =
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"A\",\"type\":\"TEXT\"}]},"
      "\"data\":[[\"x\"]]}";
  CHECK(decode(dec, three, strlen(three), 0, &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "returns 1 columns, expected 4") != NULL);
  floe_sf_decoder_free(dec);
}

static void test_decimal_rules_are_exact(void) {
  floe_arrow_type_info t = floe_arrow_decimal(5, 2);
  floe_arrow_builder b;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_builder_init(&b, &t), &err);
  CHECK_OK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "-123.45", 7, &err), &err);
  CHECK_OK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "1.2300", 6, &err), &err);
  CHECK_OK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "007", 3, &err), &err);
  CHECK_OK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "1.5e2", 5, &err), &err);
  CHECK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "1.234", 5, &err) == FLOE_ERANGE);
  CHECK(strstr(err.message, "3 fractional digits, scale is 2") != NULL);
  CHECK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "1234", 4, &err) == FLOE_ERANGE);
  CHECK(strstr(err.message, "integer digits") != NULL);
  CHECK(floe_sf_append_cell(&b, FLOE_SF_FIXED, 2, "12a", 3, &err) == FLOE_ERANGE);
  struct ArrowArray arr;
  REQUIRE_OK(floe_arrow_builder_finish(&b, &arr), &err);
  const floe_int128 *vals = arr.buffers[1];
  CHECK(vals[0] == -12345);
  CHECK(vals[1] == 123);
  CHECK(vals[2] == 700);
  CHECK(vals[3] == 15000);
  CHECK_INT_EQ(arr.length, 4);
  floe_arrow_array_release(&arr);
  floe_arrow_builder_free(&b);
}

static void expect_malformed(const char *body, int code, const char *needle) {
  floe_error err = {0};
  decoded d = {0};
  int rc = decode_batch(body, 0, &d, &err);
  decoded_free(&d);
  if (rc != code || strstr(err.message, needle) == NULL)
    TEST_FAIL_AT(__FILE__, __LINE__, "body %.60s: rc %d message '%s', want %d '%s'",
                 body, rc, err.message, code, needle);
  /* Byte by byte fails the same way. */
  floe_error err1 = {0};
  decoded d1 = {0};
  int rc1 = decode_batch(body, 1, &d1, &err1);
  decoded_free(&d1);
  if (rc1 != code)
    TEST_FAIL_AT(__FILE__, __LINE__, "byte-wise: rc %d (%s), want %d", rc1,
                 err1.message, code);
}

#define META1 "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"TEXT\"}]},"
#define META_D "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"DATE\"}]},"

static void test_malformed_bodies_fail_with_where(void) {
  expect_malformed(META1 "\"data\":[[\"a\"],[\"b\"", FLOE_EFORMAT, "truncated");
  expect_malformed(META1 "\"data\":[[\"a\",\"b\"]]}", FLOE_EFORMAT,
                   "row 1: more cells than the 1 columns");
  expect_malformed(META1 "\"data\":[[\"a\"],[]]}", FLOE_EFORMAT,
                   "row 2: 0 cells, rowType has 1 columns");
  expect_malformed(META1 "\"data\":[[\"a\\x\"]]}", FLOE_EFORMAT, "bad escape");
  expect_malformed(META1 "\"data\":[[\"\\ud800\"]]}", FLOE_EFORMAT, "surrogate");
  expect_malformed(META1 "\"data\":[[\"\\udc00\"]]}", FLOE_EFORMAT, "surrogate");
  expect_malformed(META1 "\"data\":[[\"\\u12g4\"]]}", FLOE_EFORMAT, "\\u escape");
  expect_malformed(META1 "\"data\":[[{\"a\":1}]]}", FLOE_EFORMAT, "not a JSON string");
  expect_malformed(META1 "\"data\":[[nul]]}", FLOE_EFORMAT, "is not a JSON string");
  expect_malformed(META1 "\"data\":[[\"a\"]]} x", FLOE_EFORMAT, "after the response");
  expect_malformed(META1 "\"data\":[[\"a\tb\"]]}", FLOE_EFORMAT, "control byte");
  expect_malformed(META1 "\"data\":{}}", FLOE_EFORMAT, "not an array");
  expect_malformed(META1 "\"data\":[[\"\xff\"]]}", FLOE_ERANGE, "not valid UTF-8");
  expect_malformed(META1 "\"data\":[[\"a\"]],\"data\":[]}", FLOE_EFORMAT, "two");
  expect_malformed("[1]", FLOE_EFORMAT, "not a JSON object");
  expect_malformed("{\"data\":[[\"1\"]]}", FLOE_EFORMAT, "no resultSetMetaData");
  expect_malformed(META_D "\"data\":[[\"1.5\"]]}", FLOE_ERANGE, "column 'C' row 1");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"TIMESTAMP_TZ\"}]},"
      "\"data\":[[\"1.0 2881\"]]}",
      FLOE_ERANGE, "offset minutes + 1440");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"TIMESTAMP_TZ\"}]},"
      "\"data\":[[\"1.0\"]]}",
      FLOE_ERANGE, "not a TIMESTAMP_TZ");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"TIME\"}]},"
      "\"data\":[[\"86400.0\"]]}",
      FLOE_ERANGE, "within a day");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"BINARY\"}]},"
      "\"data\":[[\"ABC\"]]}",
      FLOE_ERANGE, "odd number of hex digits");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"BINARY\"}]},"
      "\"data\":[[\"zz\"]]}",
      FLOE_ERANGE, "not hex digits");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"BOOLEAN\"}]},"
      "\"data\":[[\"maybe\"]]}",
      FLOE_ERANGE, "not a boolean");
  expect_malformed(
      "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"C\",\"type\":\"NTZ\"},"
      "{\"type\":\"TEXT\"}]},\"data\":[]}",
      FLOE_EFORMAT, "rowType[1]");
}

static void test_empty_and_null_data(void) {
  floe_error err = {0};
  decoded d = {0};
  REQUIRE_OK(decode_batch(META1 "\"data\":[]}", 0, &d, &err), &err);
  CHECK_INT_EQ(d.batch.length, 0);
  CHECK_INT_EQ(d.schema.n_children, 1);
  decoded_free(&d);
  decoded e = {0};
  REQUIRE_OK(decode_batch(META1 "\"data\":null}", 2, &e, &err), &err);
  CHECK_INT_EQ(e.batch.length, 0);
  decoded_free(&e);
  /* A 202 QueryStatus: no data, no rowType. */
  floe_sf_decoder *dec = NULL;
  REQUIRE_OK(floe_sf_decoder_new(&dec, &err), &err);
  const char *status = "{\"code\":\"333334\",\"message\":\"Asynchronous execution in progress.\","
                       "\"statementHandle\":\"abc\"}";
  REQUIRE_OK(decode(dec, status, strlen(status), 0, &err), &err);
  CHECK(!floe_sf_decoder_has_data(dec));
  CHECK(floe_sf_decoder_columns(dec, NULL) == NULL);
  floe_sf_decoder_free(dec);
}

static void test_kind_names_and_mapping(void) {
  CHECK_INT_EQ(floe_sf_kind_parse("fixed"), FLOE_SF_FIXED);
  CHECK_INT_EQ(floe_sf_kind_parse("NUMBER(38,0)"), FLOE_SF_FIXED);
  CHECK_INT_EQ(floe_sf_kind_parse("timestamp_tz"), FLOE_SF_TIMESTAMP_TZ);
  CHECK_INT_EQ(floe_sf_kind_parse("VARCHAR(10)"), FLOE_SF_TEXT);
  CHECK_INT_EQ(floe_sf_kind_parse("vector"), FLOE_SF_OTHER);
  floe_arrow_type_info t = floe_sf_map_type(FLOE_SF_FIXED, 18, 0);
  CHECK_INT_EQ(t.id, FLOE_ARROW_INT64);
  t = floe_sf_map_type(FLOE_SF_FIXED, 19, 0);
  CHECK_INT_EQ(t.id, FLOE_ARROW_DECIMAL128);
  CHECK_INT_EQ(t.precision, 19);
  t = floe_sf_map_type(FLOE_SF_FIXED, 10, 3);
  CHECK(t.id == FLOE_ARROW_DECIMAL128 && t.precision == 10 && t.scale == 3);
  CHECK_INT_EQ(floe_sf_map_type(FLOE_SF_REAL, 0, 0).id, FLOE_ARROW_DOUBLE);
  CHECK_INT_EQ(floe_sf_map_type(FLOE_SF_TIMESTAMP_NTZ, 0, 9).id, FLOE_ARROW_TIMESTAMP_US);
  CHECK_INT_EQ(floe_sf_map_type(FLOE_SF_TIMESTAMP_LTZ, 0, 9).id, FLOE_ARROW_TIMESTAMP_US_TZ);
  CHECK_INT_EQ(floe_sf_map_type(FLOE_SF_GEOGRAPHY, 0, 0).id, FLOE_ARROW_UTF8);
  CHECK_INT_EQ(floe_sf_map_type(FLOE_SF_BINARY, 0, 0).id, FLOE_ARROW_BINARY);
}

static void test_allocation_failures_are_clean(void) {
  /* Every allocation in a decode fails once in turn: no crash, no leak,
   * and ENOMEM (never a wrong result). */
  for (long n = 1; n < 400; n++) {
    floe_error err = {0};
    decoded d = {0};
    floe_alloc_fail_after(n);
    int rc = decode_batch(all_types_body, 17, &d, &err);
    floe_alloc_fail_after(0);
    if (rc == 0) {
      check_all_types(&d);
      decoded_free(&d);
      break;
    }
    CHECK_INT_EQ(rc, FLOE_ENOMEM);
    decoded_free(&d);
  }
}

/* Writes the bodies above as the fuzz target's seeds (FLOE_WRITE_SEEDS). */
static void write_seeds(void) {
  const char *dir = getenv("FLOE_WRITE_SEEDS");
  if (dir == NULL) return;
  const char *bodies[] = {all_types_body,
                          META1 "\"data\":[[\"a\"],[null]]}",
                          "{\"data\":[[\"7\"]],\"resultSetMetaData\":{\"rowType\":"
                          "[{\"name\":\"A\",\"type\":\"FIXED\",\"precision\":9,\"scale\":0}]}}",
                          "{\"resultSetMetaData\":{\"rowType\":[{\"name\":\"TZ\",\"type\":"
                          "\"TIMESTAMP_TZ\"},{\"name\":\"B\",\"type\":\"BINARY\"}]},"
                          "\"data\":[[\"100.25 0\",\"00ff\"],[\"-1.5 2880\",null]]}"};
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/seed-%zu.json", dir, i);
    FILE *f = fopen(path, "wb");
    if (f == NULL) continue;
    fwrite(bodies[i], 1, strlen(bodies[i]), f);
    fclose(f);
  }
}

int main(void) {
  write_seeds();
  RUN(test_decodes_every_type_with_edge_values);
  RUN(test_decodes_the_same_in_any_chunking);
  RUN(test_envelope_members_are_kept);
  RUN(test_timestamp_tz_every_offset_sign);
  RUN(test_partition_body_with_known_columns);
  RUN(test_data_before_metadata_is_decoded_at_the_end);
  RUN(test_targets_convert_and_reject);
  RUN(test_decimal_rules_are_exact);
  RUN(test_malformed_bodies_fail_with_where);
  RUN(test_empty_and_null_data);
  RUN(test_kind_names_and_mapping);
  RUN(test_allocation_failures_are_clean);
  return test_report();
}
