/*
 * bench/snowflake_decode: decode throughput of SQL API v2 result partitions.
 *
 * Generates, in memory, result partitions of mixed types in the documented
 * jsonv2 encoding (FIXED ids and decimals, REAL, TEXT with escapes and
 * non-ASCII, BOOLEAN, DATE, TIMESTAMP_NTZ, TIMESTAMP_TZ, VARIANT JSON,
 * NULLs) totalling at least 100 MB (FLOE_BENCH_MB overrides), then decodes
 * each into an Arrow batch with the streaming decoder, fed in 64 KiB chunks
 * as libcurl would, on one core. Prints
 *   snowflake_decode mb=... seconds=... mb_per_s=... rows=...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/time.h"
#include "source/snowflake_internal.h"

#define ROWS_PER_PARTITION 20000
#define CHUNK (64 * 1024)

static const char meta[] =
    "{\"resultSetMetaData\":{\"format\":\"jsonv2\",\"rowType\":["
    "{\"name\":\"ID\",\"type\":\"FIXED\",\"precision\":18,\"scale\":0},"
    "{\"name\":\"AMOUNT\",\"type\":\"FIXED\",\"precision\":12,\"scale\":2},"
    "{\"name\":\"RATIO\",\"type\":\"REAL\"},"
    "{\"name\":\"NAME\",\"type\":\"TEXT\"},"
    "{\"name\":\"ACTIVE\",\"type\":\"BOOLEAN\"},"
    "{\"name\":\"DAY\",\"type\":\"DATE\"},"
    "{\"name\":\"UPDATED\",\"type\":\"TIMESTAMP_NTZ\",\"scale\":9},"
    "{\"name\":\"SEEN\",\"type\":\"TIMESTAMP_TZ\",\"scale\":9},"
    "{\"name\":\"ATTRS\",\"type\":\"VARIANT\"}]},"
    "\"data\":[";

static int make_partition(floe_buf *out, int64_t first_id, unsigned *seed) {
  int rc = floe_buf_append_str(out, meta);
  for (int64_t i = 0; rc == 0 && i < ROWS_PER_PARTITION; i++) {
    int64_t id = first_id + i;
    unsigned r = rand_r(seed);
    rc = floe_buf_appendf(
        out,
        "%s\n[\"%" PRId64 "\",\"%s%u.%02u\",\"%u.%u\",\"customer \\\"%u\\\" M\xc3\xbcller\","
        "\"%s\",\"%u\",\"%u.%09u\",\"%u.%09u %u\","
        "\"{\\n  \\\"tier\\\": %u,\\n  \\\"tags\\\": [\\\"a\\\", \\\"b\\\"]\\n}\"]",
        i ? "," : "", id, r % 3 ? "" : "-", r % 100000, r % 100, r % 1000, r % 997,
        r % 50000, r % 2 ? "true" : "false", 18000 + r % 2000, 1600000000 + r % 100000000,
        r % 1000000000, 1600000000 + r % 10000, (r >> 3) % 1000000000, 1440 + (r % 9) * 60,
        r % 5);
    /* Every 10th row carries NULLs. */
    if (rc == 0 && i % 10 == 9) {
      rc = floe_buf_appendf(out, ",\n[\"%" PRId64 "\",null,null,null,null,null,null,null,null]",
                            -id);
    }
  }
  if (rc == 0) rc = floe_buf_append_str(out, "\n]}");
  return rc;
}

int main(void) {
  double target_mb = 100;
  const char *env = getenv("FLOE_BENCH_MB");
  if (env != NULL && atof(env) > 0) target_mb = atof(env);
  size_t target = (size_t)(target_mb * 1e6);
  /* A set of distinct partitions, reused until the total is reached. */
  enum { N_DISTINCT = 8 };
  floe_buf parts[N_DISTINCT];
  unsigned seed = 42;
  for (int i = 0; i < N_DISTINCT; i++) {
    floe_buf_init(&parts[i]);
    if (make_partition(&parts[i], (int64_t)i * ROWS_PER_PARTITION * 2, &seed) < 0) {
      fprintf(stderr, "out of memory\n");
      return 1;
    }
  }
  floe_sf_decoder *dec = NULL;
  floe_error err = {0};
  if (floe_sf_decoder_new(&dec, &err) < 0) return 1;
  size_t total = 0;
  int64_t rows = 0;
  double start = floe_monotonic_seconds();
  for (int k = 0; total < target; k++) {
    const floe_buf *p = &parts[k % N_DISTINCT];
    floe_sf_decoder_reset(dec, rows + 1);
    for (size_t off = 0; off < p->len; off += CHUNK) {
      size_t n = p->len - off < CHUNK ? p->len - off : CHUNK;
      if (floe_sf_decoder_feed(dec, p->data + off, n, &err) < 0) {
        fprintf(stderr, "decode: %s\n", err.message);
        return 1;
      }
    }
    struct ArrowArray batch;
    if (floe_sf_decoder_finish(dec, &err) < 0 ||
        floe_sf_decoder_take_batch(dec, &batch, NULL, &err) < 0) {
      fprintf(stderr, "decode: %s\n", err.message);
      return 1;
    }
    rows += batch.length;
    floe_arrow_array_release(&batch);
    total += p->len;
  }
  double seconds = floe_monotonic_seconds() - start;
  double mb = (double)total / 1e6;
  printf("snowflake_decode mb=%.1f seconds=%.3f mb_per_s=%.1f rows=%" PRId64 "\n", mb, seconds,
         mb / seconds, rows);
  floe_sf_decoder_free(dec);
  for (int i = 0; i < N_DISTINCT; i++) floe_buf_free(&parts[i]);
  return 0;
}
