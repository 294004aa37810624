/*
 * tests/unit/test_iceberg_values: Iceberg single values, hashing and
 * transforms against the spec's own vectors (Appendix B hash values, the
 * truncate table, Appendix D encodings worked out by hand), plus the
 * human-readable forms other engines put in partition paths.
 */
#include <math.h>

#include "floe/iceberg.h"
#include "floe/time.h"
#include "test.h"

static floe_iceberg_value int_value(int32_t v) {
  floe_iceberg_value x = floe_iceberg_null_value();
  x.is_null = false;
  x.v.i32 = v;
  return x;
}
static floe_iceberg_value long_value(int64_t v) {
  floe_iceberg_value x = floe_iceberg_null_value();
  x.is_null = false;
  x.v.i64 = v;
  return x;
}
static floe_iceberg_value dec_value(floe_int128 v) {
  floe_iceberg_value x = floe_iceberg_null_value();
  x.is_null = false;
  x.v.dec = v;
  return x;
}
static floe_iceberg_value bytes_value(const void *p, size_t n) {
  floe_iceberg_value x = floe_iceberg_null_value();
  x.is_null = false;
  x.bytes = p;
  x.len = n;
  return x;
}
static floe_iceberg_value str_value(const char *s) { return bytes_value(s, strlen(s)); }

static int32_t hash_of(floe_iceberg_type t, floe_iceberg_value v) {
  int32_t h = 0;
  floe_error err = {0};
  if (floe_iceberg_hash(&t, &v, &h, &err) != 0) fprintf(stderr, "hash: %s\n", err.message);
  return h;
}

static int64_t micros_of(const char *iso) {
  int64_t us = 0;
  bool zone;
  floe_parse_timestamp(iso, strlen(iso), &us, &zone, NULL);
  return us;
}

static const uint8_t spec_uuid[16] = {0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C, 0x4B, 0xBD,
                                      0xA4, 0x79, 0x3F, 0x34, 0x9C, 0xB7, 0x85, 0xE7};

static void test_hash_matches_appendix_b_vectors(void) {
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(34)), 2017239379);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_LONG), long_value(34)), 2017239379);
  CHECK_INT_EQ(hash_of(floe_iceberg_decimal(4, 2), dec_value(1420)), -500754589);
  int32_t day = (int32_t)floe_days_from_civil(2017, 11, 16);
  CHECK_INT_EQ(day, 17486);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_DATE), int_value(day)), -653330422);
  int64_t tod = (22 * 3600 + 31 * 60 + 8) * INT64_C(1000000);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(tod)), -662762989);
  int64_t ts = micros_of("2017-11-16T22:31:08");
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), long_value(ts)),
               -2047944441);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), long_value(ts + 1)),
               -1207196810);
  int64_t tstz = micros_of("2017-11-16T14:31:08-08:00");
  CHECK_INT_EQ(tstz, ts);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), long_value(tstz)),
               -2047944441);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ),
                       long_value(micros_of("2017-11-16T14:31:08.000001-08:00"))),
               -1207196810);
  /* timestamp_ns: hashed as microseconds (note 3). */
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP_NS), long_value(ts * 1000)),
               -2047944441);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP_NS),
                       long_value(ts * 1000 + 1001)),
               -1207196810);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ_NS),
                       long_value(tstz * 1000 + 1001)),
               -1207196810);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_STRING), str_value("iceberg")),
               1210000089);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_STRING), str_value("34")), -427558391);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_UUID), bytes_value(spec_uuid, 16)),
               1488055340);
  static const uint8_t b0123[4] = {0, 1, 2, 3};
  CHECK_INT_EQ(hash_of(floe_iceberg_fixed(4), bytes_value(b0123, 4)), -188683207);
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_BINARY), bytes_value(b0123, 4)),
               -188683207);
}

static void test_hash_of_types_not_valid_for_bucketing(void) {
  floe_iceberg_value t = floe_iceberg_null_value();
  t.is_null = false;
  t.v.b = true;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), t), 1392991556);
  floe_iceberg_value f = floe_iceberg_null_value();
  f.is_null = false;
  f.v.f32 = 1.0f;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f), -142385009);
  f.v.f32 = 0.0f;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f), 1669671676);
  f.v.f32 = -0.0f;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f), 1669671676);
  floe_iceberg_value d = floe_iceberg_null_value();
  d.is_null = false;
  d.v.f64 = 1.0;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d), -142385009);
  d.v.f64 = -0.0;
  CHECK_INT_EQ(hash_of(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d), 1669671676);
}

static int32_t apply_i32(const char *transform, floe_iceberg_type t, floe_iceberg_value v) {
  floe_iceberg_transform tr;
  floe_iceberg_value out;
  floe_error err = {0};
  if (floe_iceberg_transform_parse(transform, &tr, &err) != 0 ||
      floe_iceberg_transform_apply(&tr, &t, &v, &out, &err) != 0) {
    fprintf(stderr, "apply %s: %s\n", transform, err.message);
    return INT32_MIN;
  }
  return out.is_null ? INT32_MIN : out.v.i32;
}

static void test_bucket_transform_is_masked_hash_mod_n(void) {
  /* (hash & Integer.MAX_VALUE) % N, computed independently. */
  CHECK_INT_EQ(apply_i32("bucket[16]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(34)), 3);
  CHECK_INT_EQ(apply_i32("bucket[16]", floe_iceberg_decimal(4, 2), dec_value(1420)), 3);
  CHECK_INT_EQ(apply_i32("bucket[10]", floe_iceberg_type_of(FLOE_ICEBERG_DATE), int_value(17486)),
               6);
  CHECK_INT_EQ(apply_i32("bucket[7]", floe_iceberg_type_of(FLOE_ICEBERG_STRING),
                         str_value("iceberg")),
               4);
  static const uint8_t b0123[4] = {0, 1, 2, 3};
  CHECK_INT_EQ(apply_i32("bucket[1000]", floe_iceberg_type_of(FLOE_ICEBERG_BINARY),
                         bytes_value(b0123, 4)),
               441);
  CHECK_INT_EQ(apply_i32("bucket[3]", floe_iceberg_type_of(FLOE_ICEBERG_UUID),
                         bytes_value(spec_uuid, 16)),
               2);
  /* Same bucket for int and long (promotion-safe). */
  CHECK_INT_EQ(apply_i32("bucket[100]", floe_iceberg_type_of(FLOE_ICEBERG_LONG), long_value(34)),
               apply_i32("bucket[100]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(34)));
}

static void test_truncate_matches_spec_examples(void) {
  floe_error err = {0};
  floe_iceberg_transform tr;
  floe_iceberg_value out;
  CHECK_INT_EQ(apply_i32("truncate[10]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(1)), 0);
  CHECK_INT_EQ(apply_i32("truncate[10]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(-1)),
               -10);
  CHECK_INT_EQ(apply_i32("truncate[10]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(-10)),
               -10);
  CHECK_INT_EQ(apply_i32("truncate[10]", floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(19)),
               10);
  floe_iceberg_type lt = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
  REQUIRE_OK(floe_iceberg_transform_parse("truncate[10]", &tr, &err), &err);
  floe_iceberg_value lv = long_value(-1);
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &lt, &lv, &out, &err), &err);
  CHECK_INT_EQ(out.v.i64, -10);
  /* decimal 10.65, W=50, scale 2 -> 10.50 */
  floe_iceberg_type dt = floe_iceberg_decimal(9, 2);
  floe_iceberg_value dv = dec_value(1065);
  REQUIRE_OK(floe_iceberg_transform_parse("truncate[50]", &tr, &err), &err);
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &dt, &dv, &out, &err), &err);
  CHECK_INT_EQ((int64_t)out.v.dec, 1050);
  dv = dec_value(-1065); /* -10.65 -> -11.00 (floor) */
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &dt, &dv, &out, &err), &err);
  CHECK_INT_EQ((int64_t)out.v.dec, -1100);
  /* string L=3: code points, not bytes */
  floe_iceberg_type st = floe_iceberg_type_of(FLOE_ICEBERG_STRING);
  floe_iceberg_value sv = str_value("iceberg");
  REQUIRE_OK(floe_iceberg_transform_parse("truncate[3]", &tr, &err), &err);
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &st, &sv, &out, &err), &err);
  CHECK_INT_EQ(out.len, 3);
  CHECK(memcmp(out.bytes, "ice", 3) == 0);
  sv = str_value("Na\xc3\xafve"); /* "Naïve" */
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &st, &sv, &out, &err), &err);
  CHECK_INT_EQ(out.len, 4); /* "Naï" is 4 bytes */
  sv = str_value("\xf0\x9f\x90\x87x"); /* rabbit emoji + x */
  REQUIRE_OK(floe_iceberg_transform_parse("truncate[1]", &tr, &err), &err);
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &st, &sv, &out, &err), &err);
  CHECK_INT_EQ(out.len, 4);
  /* binary L=3: bytes */
  static const uint8_t five[5] = {1, 2, 3, 4, 5};
  floe_iceberg_type bt = floe_iceberg_type_of(FLOE_ICEBERG_BINARY);
  floe_iceberg_value bv = bytes_value(five, 5);
  REQUIRE_OK(floe_iceberg_transform_parse("truncate[3]", &tr, &err), &err);
  REQUIRE_OK(floe_iceberg_transform_apply(&tr, &bt, &bv, &out, &err), &err);
  CHECK_INT_EQ(out.len, 3);
  CHECK(out.bytes == five);
}

static void test_time_transforms_count_from_1970_and_floor_before(void) {
  floe_iceberg_type date = floe_iceberg_type_of(FLOE_ICEBERG_DATE);
  floe_iceberg_type ts = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP);
  floe_iceberg_type tsns = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ_NS);
  CHECK_INT_EQ(apply_i32("year", date, int_value(17486)), 47);
  CHECK_INT_EQ(apply_i32("month", date, int_value(17486)), 47 * 12 + 10);
  CHECK_INT_EQ(apply_i32("day", date, int_value(17486)), 17486);
  int64_t t = micros_of("2017-11-16T22:31:08");
  CHECK_INT_EQ(apply_i32("year", ts, long_value(t)), 47);
  CHECK_INT_EQ(apply_i32("month", ts, long_value(t)), 574);
  CHECK_INT_EQ(apply_i32("day", ts, long_value(t)), 17486);
  CHECK_INT_EQ(apply_i32("hour", ts, long_value(t)), 17486 * 24 + 22);
  CHECK_INT_EQ(apply_i32("hour", tsns, long_value(t * 1000 + 999)), 17486 * 24 + 22);
  /* Fixture values: 2025-03 -> 662, 2025-03-03 -> 20150, 2024-03-03T23 -> 474863. */
  CHECK_INT_EQ(apply_i32("month", ts, long_value(micros_of("2025-03-03 23:00:00"))), 662);
  CHECK_INT_EQ(apply_i32("day", ts, long_value(micros_of("2025-03-03 23:00:00"))), 20150);
  CHECK_INT_EQ(apply_i32("hour", ts, long_value(micros_of("2024-03-03 23:52:00"))), 474863);
  /* Before the epoch: one microsecond before is year/month/day/hour -1. */
  CHECK_INT_EQ(apply_i32("year", ts, long_value(-1)), -1);
  CHECK_INT_EQ(apply_i32("month", ts, long_value(-1)), -1);
  CHECK_INT_EQ(apply_i32("day", ts, long_value(-1)), -1);
  CHECK_INT_EQ(apply_i32("hour", ts, long_value(-1)), -1);
  CHECK_INT_EQ(apply_i32("hour", ts, long_value(-3600000000LL)), -1);
  CHECK_INT_EQ(apply_i32("hour", ts, long_value(-3600000001LL)), -2);
  CHECK_INT_EQ(apply_i32("year", date, int_value(-1)), -1);
  CHECK_INT_EQ(apply_i32("year", date, int_value(-365)), -1);  /* 1969-01-01 */
  CHECK_INT_EQ(apply_i32("month", date, int_value(-365)), -12);
  CHECK_INT_EQ(apply_i32("year", date, int_value(-366)), -2);  /* 1968-12-31 */
  CHECK_INT_EQ(apply_i32("month", date, int_value(-366)), -13);
  CHECK_INT_EQ(apply_i32("day", ts, long_value(micros_of("1969-12-31 00:00:00"))), -1);
  CHECK_INT_EQ(apply_i32("day", tsns, long_value(-1)), -1);
}

static void test_transform_strings_types_and_nulls(void) {
  floe_error err = {0};
  floe_iceberg_transform tr;
  char text[24];
  const char *names[] = {"identity", "bucket[16]", "truncate[4]", "year", "month",
                         "day", "hour", "void"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    CHECK_OK(floe_iceberg_transform_parse(names[i], &tr, &err), &err);
    floe_iceberg_transform_format(&tr, text, sizeof text);
    CHECK_STR_EQ(text, names[i]);
  }
  CHECK_INT_EQ(floe_iceberg_transform_parse("bucket[0]", &tr, &err), FLOE_EFORMAT);
  CHECK_INT_EQ(floe_iceberg_transform_parse("zorder", &tr, &err), FLOE_EUNSUPPORTED);
  CHECK_INT_EQ(tr.kind, FLOE_TRANSFORM_UNKNOWN);
  floe_iceberg_type r;
  floe_iceberg_type str = floe_iceberg_type_of(FLOE_ICEBERG_STRING);
  floe_iceberg_type date = floe_iceberg_type_of(FLOE_ICEBERG_DATE);
  floe_iceberg_type dbl = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  floe_iceberg_transform_parse("hour", &tr, NULL);
  CHECK_INT_EQ(floe_iceberg_transform_result_type(&tr, &date, &r, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "hour cannot be applied to type date") != NULL);
  floe_iceberg_transform_parse("bucket[4]", &tr, NULL);
  CHECK_INT_EQ(floe_iceberg_transform_result_type(&tr, &dbl, &r, &err), FLOE_EINVAL);
  CHECK_OK(floe_iceberg_transform_result_type(&tr, &str, &r, &err), &err);
  CHECK_INT_EQ(r.id, FLOE_ICEBERG_INT);
  floe_iceberg_transform_parse("day", &tr, NULL);
  CHECK_OK(floe_iceberg_transform_result_type(&tr, &date, &r, &err), &err);
  CHECK_INT_EQ(r.id, FLOE_ICEBERG_DATE);
  floe_iceberg_transform_parse("truncate[2]", &tr, NULL);
  CHECK_INT_EQ(floe_iceberg_transform_result_type(&tr, &date, &r, &err), FLOE_EINVAL);
  /* Every transform maps null to null; void maps everything to null. */
  floe_iceberg_value null = floe_iceberg_null_value(), out;
  floe_iceberg_transform_parse("bucket[4]", &tr, NULL);
  CHECK_OK(floe_iceberg_transform_apply(&tr, &str, &null, &out, &err), &err);
  CHECK(out.is_null);
  floe_iceberg_transform_parse("void", &tr, NULL);
  floe_iceberg_value s = str_value("x");
  CHECK_OK(floe_iceberg_transform_apply(&tr, &str, &s, &out, &err), &err);
  CHECK(out.is_null);
}

static void check_binary(floe_iceberg_type t, floe_iceberg_value v, const char *hex) {
  floe_buf out = FLOE_BUF_INIT;
  floe_error err = {0};
  CHECK_OK(floe_iceberg_value_to_binary(&t, &v, &out, &err), &err);
  char got[128] = "";
  for (size_t i = 0; i < out.len && i < 60; i++) sprintf(got + 2 * i, "%02x", out.data[i]);
  CHECK_STR_EQ(got, hex);
  floe_iceberg_value back;
  CHECK_OK(floe_iceberg_value_from_binary(&t, out.data, out.len, &back, &err), &err);
  CHECK(floe_iceberg_value_equal(&t, &v, &back));
  floe_buf_free(&out);
}

static void test_binary_single_values_match_appendix_d(void) {
  floe_iceberg_value b = floe_iceberg_null_value();
  b.is_null = false;
  b.v.b = true;
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), b, "01");
  b.v.b = false;
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), b, "00");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(34), "22000000");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(-1), "ffffffff");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_LONG), long_value(34), "2200000000000000");
  floe_iceberg_value f = floe_iceberg_null_value();
  f.is_null = false;
  f.v.f32 = 1.0f;
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f, "0000803f");
  floe_iceberg_value d = floe_iceberg_null_value();
  d.is_null = false;
  d.v.f64 = -2.5;
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "00000000000004c0");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_DATE), int_value(17486), "4e440000");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(81068000000LL),
               "008307e012000000");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), long_value(1510871468000000LL),
               "00c3262d215e0500");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP_NS), long_value(1), "0100000000000000");
  /* decimal: minimal two's complement, big-endian */
  check_binary(floe_iceberg_decimal(4, 2), dec_value(1420), "058c");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(300), "012c");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(-500), "fe0c");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(0), "00");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(127), "7f");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(128), "0080");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(-128), "80");
  check_binary(floe_iceberg_decimal(9, 2), dec_value(-129), "ff7f");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_STRING), str_value("iceberg"), "69636562657267");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_UUID), bytes_value(spec_uuid, 16),
               "f79c3e09677c4bbda4793f349cb785e7");
  static const uint8_t fx[4] = {0, 1, 2, 0xff};
  check_binary(floe_iceberg_fixed(4), bytes_value(fx, 4), "000102ff");
  check_binary(floe_iceberg_type_of(FLOE_ICEBERG_BINARY), bytes_value(fx, 4), "000102ff");
}

static void test_binary_bounds_infer_promoted_types(void) {
  floe_error err = {0};
  floe_iceberg_value v;
  const uint8_t four[4] = {0xfe, 0xff, 0xff, 0xff}; /* int -2 */
  floe_iceberg_type lt = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
  CHECK_OK(floe_iceberg_value_from_binary(&lt, four, 4, &v, &err), &err);
  CHECK_INT_EQ(v.v.i64, -2);
  const uint8_t one_f[4] = {0, 0, 0x80, 0x3f};
  floe_iceberg_type dt = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  CHECK_OK(floe_iceberg_value_from_binary(&dt, one_f, 4, &v, &err), &err);
  CHECK(v.v.f64 == 1.0);
  const uint8_t day1[4] = {1, 0, 0, 0};
  floe_iceberg_type tt = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP);
  CHECK_OK(floe_iceberg_value_from_binary(&tt, day1, 4, &v, &err), &err);
  CHECK_INT_EQ(v.v.i64, FLOE_MICROS_PER_DAY);
  floe_iceberg_type it = floe_iceberg_type_of(FLOE_ICEBERG_INT);
  CHECK_INT_EQ(floe_iceberg_value_from_binary(&it, day1, 3, &v, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "3 bytes") != NULL);
}

static void check_json(floe_iceberg_type t, floe_iceberg_value v, const char *json) {
  floe_buf out = FLOE_BUF_INIT;
  floe_error err = {0};
  CHECK_OK(floe_iceberg_value_to_json(&t, &v, &out, &err), &err);
  floe_buf_terminate(&out);
  CHECK_STR_EQ((const char *)out.data, json);
  floe_iceberg_value back;
  CHECK_OK(floe_iceberg_value_from_json(&t, json, strlen(json), &back, &err), &err);
  CHECK(floe_iceberg_value_equal(&t, &v, &back));
  floe_iceberg_value_free(&back);
  floe_buf_free(&out);
}

static void test_json_single_values_match_appendix_d(void) {
  floe_iceberg_value b = floe_iceberg_null_value();
  b.is_null = false;
  b.v.b = true;
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_BOOLEAN), b, "true");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_INT), int_value(34), "34");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_LONG), long_value(-34), "-34");
  floe_iceberg_value f = floe_iceberg_null_value();
  f.is_null = false;
  f.v.f32 = 1.0f;
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f, "1.0");
  floe_iceberg_value d = floe_iceberg_null_value();
  d.is_null = false;
  d.v.f64 = 0.1;
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "0.1");
  check_json(floe_iceberg_decimal(4, 2), dec_value(1420), "\"14.20\"");
  check_json(floe_iceberg_decimal(9, 2), dec_value(-5), "\"-0.05\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_DATE), int_value(17486), "\"2017-11-16\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(81068123456LL),
             "\"22:31:08.123456\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(81068000000LL), "\"22:31:08\"");
  int64_t ts = micros_of("2017-11-16T22:31:08.123456");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), long_value(ts),
             "\"2017-11-16T22:31:08.123456\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), long_value(ts),
             "\"2017-11-16T22:31:08.123456+00:00\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP_NS), long_value(ts * 1000 + 789),
             "\"2017-11-16T22:31:08.123456789\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ_NS), long_value(ts * 1000 + 789),
             "\"2017-11-16T22:31:08.123456789+00:00\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), long_value(-1),
             "\"1969-12-31T23:59:59.999999\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_STRING), str_value("ice\"berg"), "\"ice\\\"berg\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_UUID), bytes_value(spec_uuid, 16),
             "\"f79c3e09-677c-4bbd-a479-3f349cb785e7\"");
  static const uint8_t fx[4] = {0, 1, 2, 0xff};
  check_json(floe_iceberg_fixed(4), bytes_value(fx, 4), "\"000102ff\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_BINARY), bytes_value(fx, 4), "\"000102ff\"");
  check_json(floe_iceberg_type_of(FLOE_ICEBERG_INT), floe_iceberg_null_value(), "null");

  /* Parsing: offsets convert to UTC; zones are required exactly when the
   * type has one; decimal scale must match. */
  floe_error err = {0};
  floe_iceberg_value v;
  floe_iceberg_type tz = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ);
  const char *pst = "\"2017-11-16T14:31:08-08:00\"";
  CHECK_OK(floe_iceberg_value_from_json(&tz, pst, strlen(pst), &v, &err), &err);
  CHECK_INT_EQ(v.v.i64, micros_of("2017-11-16T22:31:08"));
  floe_iceberg_type plain = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP);
  CHECK_INT_EQ(floe_iceberg_value_from_json(&plain, pst, strlen(pst), &v, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "Cannot parse timestamp value") != NULL);
  floe_iceberg_type dec = floe_iceberg_decimal(9, 2);
  CHECK_INT_EQ(floe_iceberg_value_from_json(&dec, "\"14.2\"", 6, &v, &err), FLOE_EFORMAT);
  CHECK_INT_EQ(floe_iceberg_value_from_json(&dec, "14.20", 5, &v, &err), FLOE_EFORMAT);
  floe_iceberg_type small = floe_iceberg_decimal(3, 2);
  CHECK_INT_EQ(floe_iceberg_value_from_json(&small, "\"14.20\"", 7, &v, &err), FLOE_EFORMAT);
  floe_iceberg_type it = floe_iceberg_type_of(FLOE_ICEBERG_INT);
  CHECK_INT_EQ(floe_iceberg_value_from_json(&it, "4294967296", 10, &v, &err), FLOE_EFORMAT);
}

static void check_human(floe_iceberg_type t, floe_iceberg_value v, const char *want) {
  floe_buf out = FLOE_BUF_INIT;
  floe_error err = {0};
  CHECK_OK(floe_iceberg_value_to_human(&t, &v, &out, &err), &err);
  floe_buf_terminate(&out);
  CHECK_STR_EQ(out.data ? (const char *)out.data : "", want);
  floe_buf_free(&out);
}

static void test_human_strings_follow_the_reference_rendering(void) {
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DATE), int_value(19753), "2024-01-31");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(61200000000LL), "17:00");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(36775038000LL), "10:12:55.038");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_TIME), long_value(36775000001LL),
              "10:12:55.000001");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), long_value(1740960000000000LL),
              "2025-03-03T00:00:00");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), long_value(1740960000000000LL),
              "2025-03-03T00:00:00+00:00");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_BINARY), str_value("some-varbinary"),
              "c29tZS12YXJiaW5hcnk=");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_BINARY), str_value("ab"), "YWI=");
  check_human(floe_iceberg_decimal(9, 2), dec_value(300), "3.00");
  check_human(floe_iceberg_decimal(9, 2), dec_value(-500), "-5.00");
  floe_iceberg_value f = floe_iceberg_null_value();
  f.is_null = false;
  f.v.f32 = 2.25f;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f, "2.25");
  f.v.f32 = 1e10f;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f, "1.0E10");
  f.v.f32 = 0.1f;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), f, "0.1");
  floe_iceberg_value d = floe_iceberg_null_value();
  d.is_null = false;
  d.v.f64 = 2.375;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "2.375");
  d.v.f64 = 0.001;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "0.001");
  d.v.f64 = 0.0001;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "1.0E-4");
  d.v.f64 = 1234567.0;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "1234567.0");
  d.v.f64 = 12345678.0;
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), d, "1.2345678E7");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_UUID), bytes_value(spec_uuid, 16),
              "f79c3e09-677c-4bbd-a479-3f349cb785e7");
  check_human(floe_iceberg_type_of(FLOE_ICEBERG_INT), floe_iceberg_null_value(), "null");
}

static void test_uuid_text_and_random_v4(void) {
  floe_error err = {0};
  uint8_t b[16];
  const char *s = "f79c3e09-677c-4bbd-a479-3f349cb785e7";
  REQUIRE_OK(floe_iceberg_uuid_parse(s, strlen(s), b, &err), &err);
  CHECK(memcmp(b, spec_uuid, 16) == 0);
  CHECK_INT_EQ(floe_iceberg_uuid_parse("f79c3e09677c4bbda4793f349cb785e7", 32, b, &err),
               FLOE_EFORMAT);
  char a[37], c[37];
  REQUIRE_OK(floe_iceberg_uuid_random(a, &err), &err);
  REQUIRE_OK(floe_iceberg_uuid_random(c, &err), &err);
  CHECK_INT_EQ(strlen(a), 36);
  CHECK(a[14] == '4');
  CHECK(strchr("89ab", a[19]) != NULL);
  CHECK(strcmp(a, c) != 0);
}

static void test_transform_column_over_arrow(void) {
  floe_error err = {0};
  floe_arrow_type_info it = floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ);
  floe_arrow_builder b;
  REQUIRE(floe_arrow_builder_init(&b, &it) == 0);
  floe_arrow_builder_append_int64(&b, micros_of("2025-03-03 23:00:00"));
  floe_arrow_builder_append_null(&b);
  floe_arrow_builder_append_int64(&b, -1);
  struct ArrowArray arr, out;
  struct ArrowSchema sch;
  REQUIRE(floe_arrow_builder_finish(&b, &arr) == 0);
  floe_arrow_builder_free(&b);
  REQUIRE(floe_arrow_schema_init(&sch, "ts", &it, true, 1) == 0);
  floe_arrow_view view, res;
  REQUIRE_OK(floe_arrow_view_init(&view, &sch, &arr, &err), &err);
  floe_iceberg_transform tr;
  floe_iceberg_transform_parse("day", &tr, NULL);
  floe_iceberg_type src = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ);
  REQUIRE_OK(floe_iceberg_transform_column(&tr, &src, &view, &out, &err), &err);
  struct ArrowSchema out_schema;
  floe_arrow_type_info dt = floe_arrow_type_of(FLOE_ARROW_DATE32);
  REQUIRE(floe_arrow_schema_init(&out_schema, "d", &dt, true, -1) == 0);
  REQUIRE_OK(floe_arrow_view_init(&res, &out_schema, &out, &err), &err);
  CHECK_INT_EQ(res.length, 3);
  CHECK_INT_EQ(floe_arrow_view_int32(&res, 0), 20150);
  CHECK(floe_arrow_view_is_null(&res, 1));
  CHECK_INT_EQ(floe_arrow_view_int32(&res, 2), -1);
  /* Wrong Arrow type for the source: a clear error, not garbage. */
  floe_iceberg_type wrong = floe_iceberg_type_of(FLOE_ICEBERG_STRING);
  struct ArrowArray junk;
  CHECK_INT_EQ(floe_iceberg_transform_column(&tr, &wrong, &view, &junk, &err), FLOE_EINVAL);
  floe_arrow_array_release(&out);
  floe_arrow_array_release(&arr);
  floe_arrow_schema_release(&sch);
  floe_arrow_schema_release(&out_schema);
}

int main(void) {
  RUN(test_hash_matches_appendix_b_vectors);
  RUN(test_hash_of_types_not_valid_for_bucketing);
  RUN(test_bucket_transform_is_masked_hash_mod_n);
  RUN(test_truncate_matches_spec_examples);
  RUN(test_time_transforms_count_from_1970_and_floor_before);
  RUN(test_transform_strings_types_and_nulls);
  RUN(test_binary_single_values_match_appendix_d);
  RUN(test_binary_bounds_infer_promoted_types);
  RUN(test_json_single_values_match_appendix_d);
  RUN(test_human_strings_follow_the_reference_rendering);
  RUN(test_uuid_text_and_random_v4);
  RUN(test_transform_column_over_arrow);
  return test_report();
}
