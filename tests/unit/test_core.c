/*
 * Unit tests of core/: errors, allocation failure injection, buffer, arena,
 * time conversions, murmur3 (Iceberg spec Appendix B vectors), compression
 * round trips, logging, and the Arrow builders and views.
 */
#include <math.h>

#include "core/arena.h"
#include "core/compress.h"
#include "core/murmur3.h"
#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/log.h"
#include "floe/time.h"
#include "test.h"

static void test_error_prefix_builds_context_chain(void) {
  floe_error err;
  floe_error_init(&err);
  CHECK_INT_EQ(floe_error_set(&err, FLOE_ECONFLICT, "metadata_location changed (%s)", "conflict"),
               FLOE_ECONFLICT);
  floe_error_prefix(&err, "catalog %s", "sql");
  floe_error_prefix(&err, "commit");
  CHECK_INT_EQ(floe_error_prefix(&err, "table %s", "sales"), FLOE_ECONFLICT);
  CHECK_STR_EQ(err.message,
               "table sales: commit: catalog sql: metadata_location changed (conflict)");
  CHECK_STR_EQ(floe_error_code_name(FLOE_ECONFLICT), "ECONFLICT");
  /* A NULL error is allowed everywhere. */
  CHECK_INT_EQ(floe_error_set(NULL, FLOE_EIO, "x"), FLOE_EIO);
}

static void test_error_prefix_truncates_without_overflow(void) {
  floe_error err;
  char long_text[3000];
  memset(long_text, 'a', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  floe_error_set(&err, FLOE_EIO, "%s", long_text);
  floe_error_prefix(&err, "%s", "context");
  CHECK(strlen(err.message) == FLOE_ERROR_MESSAGE_SIZE - 1);
  CHECK(strncmp(err.message, "context: aaa", 12) == 0);
  floe_error_prefix(&err, "%s", long_text);
  CHECK(strlen(err.message) == FLOE_ERROR_MESSAGE_SIZE - 1);
}

static void test_error_errno_maps_codes(void) {
  floe_error err;
  CHECK_INT_EQ(floe_error_errno(&err, 2 /* ENOENT */, "open %s", "/x"), FLOE_ENOTFOUND);
  CHECK(strncmp(err.message, "open /x: ", 9) == 0);
}

static void test_alloc_fail_after_fails_exactly_the_nth_call(void) {
  floe_alloc_fail_after(3);
  void *a = floe_malloc(8), *b = floe_malloc(8), *c = floe_malloc(8);
  CHECK(a != NULL);
  CHECK(b != NULL);
  CHECK(c == NULL);
  floe_alloc_fail_after(0);
  void *d = floe_malloc(8);
  CHECK(d != NULL);
  floe_free(a);
  floe_free(b);
  floe_free(d);
}

static void test_buffer_appends_and_varints(void) {
  floe_buf buf = FLOE_BUF_INIT;
  REQUIRE(floe_buf_append_str(&buf, "ab") == FLOE_OK);
  REQUIRE(floe_buf_appendf(&buf, "%d-%s", 42, "x") == FLOE_OK);
  REQUIRE(floe_buf_append_uvarint(&buf, 300) == FLOE_OK);
  REQUIRE(floe_buf_append_zigzag(&buf, -3) == FLOE_OK);
  REQUIRE(floe_buf_append_u32le(&buf, 0x01020304) == FLOE_OK);
  static const uint8_t want[] = {'a', 'b', '4', '2', '-', 'x', 0xac, 0x02, 0x05,
                                 0x04, 0x03, 0x02, 0x01};
  CHECK_INT_EQ(buf.len, sizeof want);
  CHECK(memcmp(buf.data, want, sizeof want) == 0);
  for (int i = 0; i < 100000; i++) REQUIRE(floe_buf_append_byte(&buf, (uint8_t)i) == FLOE_OK);
  CHECK_INT_EQ(buf.len, sizeof want + 100000);
  CHECK_INT_EQ(buf.data[sizeof want + 99999], (uint8_t)99999);
  size_t len;
  uint8_t *owned = floe_buf_detach(&buf, &len);
  CHECK(buf.data == NULL && buf.len == 0);
  CHECK_INT_EQ(len, sizeof want + 100000);
  floe_free(owned);
  floe_buf_free(&buf);
}

static void test_buffer_reports_enomem(void) {
  floe_buf buf = FLOE_BUF_INIT;
  floe_alloc_fail_after(1);
  CHECK_INT_EQ(floe_buf_append_str(&buf, "x"), FLOE_ENOMEM);
  floe_alloc_fail_after(0);
  CHECK_INT_EQ(buf.len, 0);
  floe_buf_free(&buf);
}

static void test_arena_aligns_reuses_and_handles_large(void) {
  floe_arena arena;
  floe_arena_init(&arena, 1024);
  char *a = floe_arena_alloc(&arena, 3);
  char *b = floe_arena_alloc(&arena, 5);
  CHECK(((uintptr_t)a & 15) == 0);
  CHECK(((uintptr_t)b & 15) == 0);
  CHECK(b - a == 16);
  char *big = floe_arena_alloc(&arena, 100000);
  REQUIRE(big != NULL);
  memset(big, 7, 100000);
  CHECK_STR_EQ(floe_arena_strdup(&arena, "hello"), "hello");
  floe_arena_reset(&arena);
  CHECK_INT_EQ(arena.allocated, 0);
  long before = floe_alloc_calls();
  for (int i = 0; i < 50; i++) REQUIRE(floe_arena_alloc(&arena, 16) != NULL);
  CHECK_INT_EQ(floe_alloc_calls(), before); /* served from the kept blocks */
  floe_arena_free(&arena);
}

static void test_days_from_civil_round_trips(void) {
  CHECK_INT_EQ(floe_days_from_civil(1970, 1, 1), 0);
  CHECK_INT_EQ(floe_days_from_civil(2017, 11, 16), 17486);
  CHECK_INT_EQ(floe_days_from_civil(1969, 12, 31), -1);
  CHECK_INT_EQ(floe_days_from_civil(2000, 3, 1), 11017);
  for (int64_t d = -800000; d <= 800000; d += 37) {
    int64_t y;
    unsigned m, dd;
    floe_civil_from_days(d, &y, &m, &dd);
    if (floe_days_from_civil(y, m, dd) != d) {
      CHECK(!"round trip");
      break;
    }
  }
}

static void test_parse_and_format_timestamps(void) {
  floe_error err;
  int64_t us;
  bool zone;
  CHECK_OK(floe_parse_timestamp("2017-11-16T22:31:08", 19, &us, &zone, &err), &err);
  CHECK_INT_EQ(us, INT64_C(1510871468000000));
  CHECK(!zone);
  const char *tz = "2017-11-16 14:31:08.5-08:00";
  CHECK_OK(floe_parse_timestamp(tz, strlen(tz), &us, &zone, &err), &err);
  CHECK_INT_EQ(us, INT64_C(1510871468500000));
  CHECK(zone);
  const char *z = "1969-12-31T23:59:59.999999Z";
  CHECK_OK(floe_parse_timestamp(z, strlen(z), &us, &zone, &err), &err);
  CHECK_INT_EQ(us, -1);
  char text[64];
  floe_format_timestamp(-1, ' ', text, sizeof text);
  CHECK_STR_EQ(text, "1969-12-31 23:59:59.999999");
  floe_format_timestamp(INT64_C(1510871468000000), 'T', text, sizeof text);
  CHECK_STR_EQ(text, "2017-11-16T22:31:08");
  int32_t days;
  CHECK_OK(floe_parse_date("2024-02-29", 10, &days, &err), &err);
  floe_format_date(days, text, sizeof text);
  CHECK_STR_EQ(text, "2024-02-29");
  CHECK_INT_EQ(floe_parse_date("2023-02-29", 10, &days, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "2023-02-29") != NULL);
  CHECK_INT_EQ(floe_parse_timestamp("2024-01-01 25:00", 16, &us, &zone, &err), FLOE_EFORMAT);
  CHECK_OK(floe_parse_time("22:31:08", 8, &us, &err), &err);
  CHECK_INT_EQ(us, INT64_C(81068000000));
  floe_format_time(INT64_C(81068000001), text, sizeof text);
  CHECK_STR_EQ(text, "22:31:08.000001");
}

static void test_murmur3_matches_iceberg_appendix_b(void) {
  /* Iceberg spec Appendix B: int/long 34 hash as the 8-byte LE long. */
  uint8_t long34[8] = {34, 0, 0, 0, 0, 0, 0, 0};
  CHECK_INT_EQ((int32_t)floe_murmur3_32(long34, 8, 0), 2017239379);
  CHECK_INT_EQ((int32_t)floe_murmur3_32("iceberg", 7, 0), 1210000089);
  uint8_t fixed[4] = {0, 1, 2, 3};
  CHECK_INT_EQ((int32_t)floe_murmur3_32(fixed, 4, 0), -188683207);
  /* Reference vectors of MurmurHash3_x86_32. */
  CHECK_INT_EQ(floe_murmur3_32("", 0, 0), 0);
  CHECK_INT_EQ(floe_murmur3_32("", 0, 1), 0x514E28B7u);
  CHECK_INT_EQ(floe_murmur3_32("Hello, world!", 13, 1234), 0xFAF6CDB3u);
}

static void test_compress_round_trips_every_codec(void) {
  floe_codec_ctx ctx;
  floe_codec_ctx_init(&ctx);
  floe_error err;
  uint8_t input[20000];
  for (size_t i = 0; i < sizeof input; i++) input[i] = (uint8_t)((i * 7) % 13 + (i / 1000));
  floe_codec codecs[] = {FLOE_CODEC_NONE, FLOE_CODEC_SNAPPY, FLOE_CODEC_GZIP,
                         FLOE_CODEC_ZSTD, FLOE_CODEC_DEFLATE, FLOE_CODEC_LZ4_RAW};
  for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
    floe_buf packed = FLOE_BUF_INIT, unpacked = FLOE_BUF_INIT;
    CHECK_OK(floe_compress(&ctx, codecs[c], input, sizeof input, &packed, &err), &err);
    if (codecs[c] != FLOE_CODEC_NONE) CHECK(packed.len < sizeof input / 2);
    uint8_t out[sizeof input];
    CHECK_OK(floe_decompress(&ctx, codecs[c], packed.data, packed.len, out, sizeof out, &err), &err);
    CHECK(memcmp(out, input, sizeof input) == 0);
    if (codecs[c] != FLOE_CODEC_LZ4_RAW) {
      CHECK_OK(floe_decompress_buf(&ctx, codecs[c], packed.data, packed.len, &unpacked,
                                   1 << 20, &err), &err);
      CHECK(unpacked.len == sizeof input && memcmp(unpacked.data, input, sizeof input) == 0);
      /* The size bound holds. */
      floe_buf_reset(&unpacked);
      CHECK_INT_EQ(floe_decompress_buf(&ctx, codecs[c], packed.data, packed.len, &unpacked,
                                       1000, &err), FLOE_EFORMAT);
    }
    /* A size that disagrees with the stream is an error, not a short read. */
    CHECK_INT_EQ(floe_decompress(&ctx, codecs[c], packed.data, packed.len, out,
                                 sizeof out - 1, &err), FLOE_EFORMAT);
    floe_buf_free(&packed);
    floe_buf_free(&unpacked);
  }
  /* Garbage is rejected cleanly. */
  uint8_t garbage[64], out[256];
  memset(garbage, 0xA5, sizeof garbage);
  CHECK(floe_decompress(&ctx, FLOE_CODEC_ZSTD, garbage, sizeof garbage, out, sizeof out, &err) < 0);
  CHECK(floe_decompress(&ctx, FLOE_CODEC_SNAPPY, garbage, sizeof garbage, out, sizeof out, &err) < 0);
  CHECK(floe_decompress(&ctx, FLOE_CODEC_GZIP, garbage, sizeof garbage, out, sizeof out, &err) < 0);
  CHECK_INT_EQ(floe_codec_parse("ZSTD"), FLOE_CODEC_ZSTD);
  CHECK_INT_EQ(floe_codec_parse("brotli"), -1);
  CHECK_INT_EQ(floe_crc32(0, "123456789", 9), 0xCBF43926u);
  floe_codec_ctx_free(&ctx);
}

static void test_gzip_accepts_concatenated_members(void) {
  floe_codec_ctx ctx;
  floe_codec_ctx_init(&ctx);
  floe_error err;
  floe_buf packed = FLOE_BUF_INIT;
  CHECK_OK(floe_compress(&ctx, FLOE_CODEC_GZIP, (const uint8_t *)"hello ", 6, &packed, &err), &err);
  CHECK_OK(floe_compress(&ctx, FLOE_CODEC_GZIP, (const uint8_t *)"world", 5, &packed, &err), &err);
  uint8_t out[11];
  CHECK_OK(floe_decompress(&ctx, FLOE_CODEC_GZIP, packed.data, packed.len, out, 11, &err), &err);
  CHECK(memcmp(out, "hello world", 11) == 0);
  floe_buf_free(&packed);
  floe_codec_ctx_free(&ctx);
}

static void test_log_renders_logfmt_and_json(void) {
  char line[512];
  floe_log_render(line, sizeof line, FLOE_LOG_LOGFMT, FLOE_LOG_INFO, "commit",
                  "table=%s rows=%lld note=%s", "db.t", 10LL, "two words");
  const char *rest = strstr(line, " level=");
  REQUIRE(rest != NULL);
  CHECK_STR_EQ(rest, " level=info event=commit table=db.t rows=10 note=\"two words\"");
  CHECK(strncmp(line, "ts=", 3) == 0);
  floe_log_render(line, sizeof line, FLOE_LOG_JSON, FLOE_LOG_WARN, "x",
                  "path=%s n=%zu s=%.2f", "a\"b", (size_t)3, 1.5);
  rest = strstr(line, "\"level\"");
  REQUIRE(rest != NULL);
  CHECK_STR_EQ(rest, "\"level\":\"warn\",\"event\":\"x\",\"path\":\"a\\\"b\",\"n\":3,\"s\":1.50}");
  CHECK_INT_EQ(floe_log_level_parse("debug"), FLOE_LOG_DEBUG);
  CHECK_INT_EQ(floe_log_level_parse("loud"), -1);
}


static void test_json_strings_are_always_valid_utf8(void) {
  /* Well-formed sequences pass; every byte that does not begin one
   * (stray continuation, overlong, surrogate, > U+10FFFF, cut short)
   * becomes U+FFFD. */
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"plain \"q\" \\ \n\t", "\"plain \\\"q\\\" \\\\ \\n\\t\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"bad \xff end", "\"bad \\ufffd end\""},
      {"\x80\xbf", "\"\\ufffd\\ufffd\""},
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},             /* overlong '/' */
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate D800 */
      {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
      {"cut \xe2\x82", "\"cut \\ufffd\\ufffd\""},
      {"\x01\x7f", "\"\\u0001\\u007f\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_buf b = FLOE_BUF_INIT;
    REQUIRE(floe_buf_append_json_string(&b, cases[i].in) == 0);
    REQUIRE(floe_buf_terminate(&b) == 0);
    CHECK_STR_EQ((const char *)b.data, cases[i].out);
    floe_buf_free(&b);
  }
  floe_buf b = FLOE_BUF_INIT;
  REQUIRE(floe_buf_append_json_string(&b, NULL) == 0);
  CHECK(b.len == 4 && memcmp(b.data, "null", 4) == 0);
  floe_buf_free(&b);
  CHECK_INT_EQ(floe_utf8_sequence_length((const uint8_t *)"\xf0\x9f\x98\x80", 4), 4);
  CHECK_INT_EQ(floe_utf8_sequence_length((const uint8_t *)"\xf0\x9f\x98\x80", 3), 0);

  /* Error messages replace what is not UTF-8 (also a sequence cut by
   * truncation) in place. */
  floe_error err = {0};
  floe_error_set(&err, FLOE_EINVAL, "value '%s'", "a\xff\xc3\xa9");
  CHECK_STR_EQ(err.message, "value 'a?\xc3\xa9'");
  floe_error_prefix(&err, "col \xe2\x82");
  CHECK_STR_EQ(err.message, "col ??: value 'a?\xc3\xa9'");

  /* Log lines, both formats. */
  char line[512];
  floe_log_render(line, sizeof line, FLOE_LOG_JSON, FLOE_LOG_ERROR, "x", "error=%s",
                  "value '\xff\xfe' bad");
  CHECK(strstr(line, "\"error\":\"value '\\ufffd\\ufffd' bad\"") != NULL);
  floe_log_render(line, sizeof line, FLOE_LOG_LOGFMT, FLOE_LOG_ERROR, "x", "error=%s",
                  "v\xff");
  CHECK(strstr(line, "error=v\xef\xbf\xbd") != NULL);
}

static int captured_lines;
static void capture_sink(void *ctx, floe_log_level level, const char *line) {
  (void)ctx;
  (void)level;
  (void)line;
  captured_lines++;
}

static void test_log_filters_by_level(void) {
  floe_log_set_sink(capture_sink, NULL);
  floe_log_set_level(FLOE_LOG_WARN);
  captured_lines = 0;
  floe_log(FLOE_LOG_INFO, "quiet", "");
  floe_log(FLOE_LOG_ERROR, "loud", "");
  CHECK_INT_EQ(captured_lines, 1);
  floe_log_set_sink(NULL, NULL);
  floe_log_set_level(FLOE_LOG_INFO);
}

static void test_arrow_builder_and_view_round_trip(void) {
  floe_error err;
  struct ArrowSchema schema;
  REQUIRE(floe_arrow_schema_init_struct(&schema, NULL, 4) == FLOE_OK);
  floe_arrow_type_info t_long = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info t_str = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info t_dec = floe_arrow_decimal(18, 2);
  floe_arrow_type_info t_uuid = floe_arrow_type_of(FLOE_ARROW_UUID);
  REQUIRE(floe_arrow_schema_init(schema.children[0], "id", &t_long, false, 1) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[1], "name", &t_str, true, 2) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[2], "price", &t_dec, true, 3) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[3], "key", &t_uuid, true, 4) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_schema_field_id(schema.children[2]), 3);
  CHECK_STR_EQ(schema.children[2]->format, "d:18,2");
  CHECK(!(schema.children[0]->flags & ARROW_FLAG_NULLABLE));
  floe_arrow_type_info parsed;
  CHECK_OK(floe_arrow_schema_type(schema.children[3], &parsed, &err), &err);
  CHECK_INT_EQ(parsed.id, FLOE_ARROW_UUID);

  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
  static const uint8_t uuid[16] = {0xf7, 0x9c, 0x3e, 0x09, 0x67, 0x7c, 0x4b, 0xbd,
                                   0xa4, 0x79, 0x3f, 0x34, 0x9c, 0xb7, 0x85, 0xe7};
  for (int i = 0; i < 1000; i++) {
    REQUIRE(floe_arrow_builder_append_int64(&bb.columns[0], i * 10) == FLOE_OK);
    if (i % 3 == 0) {
      REQUIRE(floe_arrow_builder_append_null(&bb.columns[1]) == FLOE_OK);
    } else {
      char text[32];
      int n = snprintf(text, sizeof text, "row-%d", i);
      REQUIRE(floe_arrow_builder_append_bytes(&bb.columns[1], text, (size_t)n) == FLOE_OK);
    }
    REQUIRE(floe_arrow_builder_append_decimal(&bb.columns[2], (floe_int128)i * -123) == FLOE_OK);
    REQUIRE(floe_arrow_builder_append_bytes(&bb.columns[3], uuid, 16) == FLOE_OK);
  }
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  CHECK_INT_EQ(batch.length, 1000);
  CHECK_INT_EQ(batch.n_children, 4);
  CHECK_INT_EQ(batch.children[1]->null_count, 334);

  floe_arrow_view ids, names, prices, keys;
  REQUIRE_OK(floe_arrow_view_init(&ids, schema.children[0], batch.children[0], &err), &err);
  REQUIRE_OK(floe_arrow_view_init(&names, schema.children[1], batch.children[1], &err), &err);
  REQUIRE_OK(floe_arrow_view_init(&prices, schema.children[2], batch.children[2], &err), &err);
  REQUIRE_OK(floe_arrow_view_init(&keys, schema.children[3], batch.children[3], &err), &err);
  CHECK_INT_EQ(floe_arrow_view_int64(&ids, 999), 9990);
  CHECK(floe_arrow_view_is_null(&names, 999));
  CHECK(!floe_arrow_view_is_null(&names, 998));
  size_t len;
  const uint8_t *s = floe_arrow_view_bytes(&names, 998, &len);
  CHECK(len == 7 && memcmp(s, "row-998", 7) == 0);
  floe_buf text = FLOE_BUF_INIT;
  floe_arrow_view_format(&prices, 5, &text);
  floe_buf_append_byte(&text, '|');
  floe_arrow_view_format(&names, 3, &text);
  floe_buf_append_byte(&text, '|');
  floe_arrow_view_format(&keys, 0, &text);
  floe_buf_terminate(&text);
  CHECK_STR_EQ((char *)text.data, "-6.15|\\N|f79c3e09-677c-4bbd-a479-3f349cb785e7");
  floe_buf_free(&text);
  /* The builders reset and can build the next batch. */
  CHECK_INT_EQ(bb.columns[0].length, 0);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_array_release(&batch);
  CHECK(batch.release == NULL);
  struct ArrowSchema copy;
  REQUIRE(floe_arrow_schema_copy(&copy, &schema) == FLOE_OK);
  CHECK_STR_EQ(copy.children[1]->name, "name");
  CHECK_INT_EQ(floe_arrow_schema_field_id(copy.children[3]), 4);
  floe_arrow_schema_release(&copy);
  floe_arrow_schema_release(&schema);
}

static void test_arrow_view_formats_each_type(void) {
  struct {
    floe_arrow_type_info type;
    int64_t value;
    const char *want;
  } cases[] = {
      {floe_arrow_type_of(FLOE_ARROW_DATE32), -1, "1969-12-31"},
      {floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ), INT64_C(1510871468123456),
       "2017-11-16 22:31:08.123456+00"},
      {floe_arrow_type_of(FLOE_ARROW_TIME64_US), INT64_C(45296000000), "12:34:56"},
      {floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_NS), INT64_C(1000000001), "1970-01-01 00:00:01.000000001"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    floe_arrow_builder b;
    REQUIRE(floe_arrow_builder_init(&b, &cases[c].type) == FLOE_OK);
    if (cases[c].type.id == FLOE_ARROW_DATE32)
      floe_arrow_builder_append_int32(&b, (int32_t)cases[c].value);
    else
      floe_arrow_builder_append_int64(&b, cases[c].value);
    struct ArrowArray array;
    struct ArrowSchema schema;
    REQUIRE(floe_arrow_builder_finish(&b, &array) == FLOE_OK);
    REQUIRE(floe_arrow_schema_init(&schema, "c", &cases[c].type, true, -1) == FLOE_OK);
    floe_arrow_view v;
    floe_error err;
    REQUIRE_OK(floe_arrow_view_init(&v, &schema, &array, &err), &err);
    floe_buf text = FLOE_BUF_INIT;
    floe_arrow_view_format(&v, 0, &text);
    floe_buf_terminate(&text);
    CHECK_STR_EQ((char *)text.data, cases[c].want);
    floe_buf_free(&text);
    floe_arrow_builder_free(&b);
    floe_arrow_array_release(&array);
    floe_arrow_schema_release(&schema);
  }
  /* Floats print the shortest text that reads back the same. */
  floe_arrow_type_info tf = floe_arrow_type_of(FLOE_ARROW_FLOAT);
  floe_arrow_type_info td = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  floe_arrow_builder bf, bd;
  floe_arrow_builder_init(&bf, &tf);
  floe_arrow_builder_init(&bd, &td);
  floe_arrow_builder_append_float(&bf, 3.14f);
  floe_arrow_builder_append_float(&bf, 3.4028235e38f);
  floe_arrow_builder_append_double(&bd, 5.0);
  floe_arrow_builder_append_double(&bd, 0.1 + 0.2);
  floe_arrow_builder_append_double(&bd, NAN);
  struct ArrowArray af, ad;
  struct ArrowSchema sf, sd;
  floe_arrow_builder_finish(&bf, &af);
  floe_arrow_builder_finish(&bd, &ad);
  floe_arrow_schema_init(&sf, "f", &tf, false, -1);
  floe_arrow_schema_init(&sd, "d", &td, false, -1);
  floe_arrow_view vf, vd;
  floe_error err;
  REQUIRE_OK(floe_arrow_view_init(&vf, &sf, &af, &err), &err);
  REQUIRE_OK(floe_arrow_view_init(&vd, &sd, &ad, &err), &err);
  floe_buf text = FLOE_BUF_INIT;
  for (int i = 0; i < 2; i++) {
    floe_arrow_view_format(&vf, i, &text);
    floe_buf_append_byte(&text, ' ');
  }
  for (int i = 0; i < 3; i++) {
    floe_arrow_view_format(&vd, i, &text);
    floe_buf_append_byte(&text, ' ');
  }
  floe_buf_terminate(&text);
  CHECK_STR_EQ((char *)text.data, "3.14 3.4028235e+38 5.0 0.30000000000000004 NaN ");
  floe_buf_free(&text);
  floe_arrow_builder_free(&bf);
  floe_arrow_builder_free(&bd);
  floe_arrow_array_release(&af);
  floe_arrow_array_release(&ad);
  floe_arrow_schema_release(&sf);
  floe_arrow_schema_release(&sd);
}

static void test_arrow_builder_survives_allocation_failures(void) {
  /* Fail each allocation in turn: every failure is reported, none leaks. */
  floe_arrow_type_info t = floe_arrow_type_of(FLOE_ARROW_UTF8);
  for (long n = 1; n < 40; n++) {
    floe_arrow_builder b;
    floe_alloc_fail_after(n);
    int rc = floe_arrow_builder_init(&b, &t);
    for (int i = 0; rc == FLOE_OK && i < 200; i++)
      rc = (i % 5 == 0) ? floe_arrow_builder_append_null(&b)
                        : floe_arrow_builder_append_bytes(&b, "abcdefgh", 8);
    struct ArrowArray array = {0};
    if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&b, &array);
    floe_alloc_fail_after(0);
    CHECK(rc == FLOE_OK || rc == FLOE_ENOMEM);
    floe_arrow_array_release(&array);
    floe_arrow_builder_free(&b);
  }
}

static void test_decimal_format_scales(void) {
  char text[64];
  floe_decimal_format(-5, 2, text, sizeof text);
  CHECK_STR_EQ(text, "-0.05");
  floe_decimal_format(9999999999, 2, text, sizeof text);
  CHECK_STR_EQ(text, "99999999.99");
  floe_decimal_format(42, 0, text, sizeof text);
  CHECK_STR_EQ(text, "42");
  floe_int128 max38 = 0;
  for (int i = 0; i < 38; i++) max38 = max38 * 10 + 9;
  floe_decimal_format(-max38, 10, text, sizeof text);
  CHECK_STR_EQ(text, "-9999999999999999999999999999.9999999999");
}

int main(void) {
  RUN(test_error_prefix_builds_context_chain);
  RUN(test_error_prefix_truncates_without_overflow);
  RUN(test_error_errno_maps_codes);
  RUN(test_alloc_fail_after_fails_exactly_the_nth_call);
  RUN(test_buffer_appends_and_varints);
  RUN(test_json_strings_are_always_valid_utf8);
  RUN(test_buffer_reports_enomem);
  RUN(test_arena_aligns_reuses_and_handles_large);
  RUN(test_days_from_civil_round_trips);
  RUN(test_parse_and_format_timestamps);
  RUN(test_murmur3_matches_iceberg_appendix_b);
  RUN(test_compress_round_trips_every_codec);
  RUN(test_gzip_accepts_concatenated_members);
  RUN(test_log_renders_logfmt_and_json);
  RUN(test_log_filters_by_level);
  RUN(test_arrow_builder_and_view_round_trip);
  RUN(test_arrow_view_formats_each_type);
  RUN(test_arrow_builder_survives_allocation_failures);
  RUN(test_decimal_format_scales);
  return test_report();
}
