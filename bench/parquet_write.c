/*
 * bench/parquet_write: floe's Parquet writer on the benchmark table.
 *
 * 10M rows (or argv[2]) of (id long, d double, s string ~20 chars,
 * ts timestamp, dec decimal(18,2), n int nullable with ~10% nulls), from the
 * deterministic generator that bench/parquet_write_duckdb.mjs reproduces in
 * DuckDB SQL. All batches (64 Ki rows each) are built in memory first; only
 * open + write + close is timed, zstd level 3, one thread. Prints
 * "floe_s=<seconds> floe_bytes=<file size>".
 *
 * usage: bench_parquet_write <out.parquet> [rows]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "floe/arrow.h"
#include "floe/parquet_writer.h"

#define BATCH_ROWS 65536

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (user + system): steadier than wall time on
 * a busy machine; reported on stderr. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const floe_error *err) {
  fprintf(stderr, "bench_parquet_write: %s: %s\n", what, err ? err->message : "");
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <out.parquet> [rows]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  int64_t rows = argc > 2 ? strtoll(argv[2], NULL, 10) : 10000000;
  floe_error err = {0};

  struct ArrowSchema schema;
  if (floe_arrow_schema_init_struct(&schema, NULL, 6) < 0) die("schema", NULL);
  floe_arrow_type_info t_long = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info t_double = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  floe_arrow_type_info t_string = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info t_ts = floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US);
  floe_arrow_type_info t_dec = floe_arrow_decimal(18, 2);
  floe_arrow_type_info t_int = floe_arrow_type_of(FLOE_ARROW_INT32);
  /* DuckDB's table columns are nullable; floe's are declared likewise so
   * both files carry definition levels. */
  floe_arrow_schema_init(schema.children[0], "id", &t_long, true, 1);
  floe_arrow_schema_init(schema.children[1], "d", &t_double, true, 2);
  floe_arrow_schema_init(schema.children[2], "s", &t_string, true, 3);
  floe_arrow_schema_init(schema.children[3], "ts", &t_ts, true, 4);
  floe_arrow_schema_init(schema.children[4], "dec", &t_dec, true, 5);
  floe_arrow_schema_init(schema.children[5], "n", &t_int, true, 6);

  int64_t n_batches = (rows + BATCH_ROWS - 1) / BATCH_ROWS;
  struct ArrowArray *batches = calloc((size_t)(n_batches ? n_batches : 1), sizeof *batches);
  floe_arrow_batch_builder bb;
  if (floe_arrow_batch_builder_init(&bb, &schema, &err) < 0) die("builder", &err);
  for (int64_t b = 0; b < n_batches; b++) {
    int64_t start = b * BATCH_ROWS;
    int64_t end = start + BATCH_ROWS < rows ? start + BATCH_ROWS : rows;
    for (int64_t k = 0; k < 6; k++)
      floe_arrow_builder_reserve(&bb.columns[k], end - start, k == 2 ? (size_t)(end - start) * 20 : 0);
    for (int64_t i = start; i < end; i++) {
      floe_arrow_builder_append_int64(&bb.columns[0], i);
      double d = (double)((i * 48271) % 2147483647) / 2147483647.0 * 1000.0;
      floe_arrow_builder_append_double(&bb.columns[1], d);
      char s[32];
      int len = snprintf(s, sizeof s, "customer_%06d_name", (int)((i * 7919) % 20000));
      floe_arrow_builder_append_bytes(&bb.columns[2], s, (size_t)len);
      floe_arrow_builder_append_int64(&bb.columns[3], 1704067200000000LL + i * 1000003);
      floe_arrow_builder_append_decimal(&bb.columns[4], (floe_int128)((i * 104729) % 10000000000LL));
      if (((i * 2654435761LL) % 4294967296LL) % 10 == 0)
        floe_arrow_builder_append_null(&bb.columns[5]);
      else
        floe_arrow_builder_append_int32(&bb.columns[5], (int32_t)((i * 31) % 100000));
    }
    if (floe_arrow_batch_builder_finish(&bb, &batches[b], &err) < 0) die("finish", &err);
  }

  floe_parquet_writer_options options;
  floe_parquet_writer_options_init(&options);
  options.compression = FLOE_PARQUET_ZSTD;
  options.compression_level = 3;

  double t0 = now_s(), c0 = cpu_s();
  floe_parquet_writer *w = NULL;
  if (floe_parquet_writer_open_file(&w, path, &schema, &options, &err) < 0) die("open", &err);
  for (int64_t b = 0; b < n_batches; b++)
    if (floe_parquet_writer_write(w, &batches[b], &err) < 0) die("write", &err);
  floe_parquet_file_metrics metrics;
  if (floe_parquet_writer_close(w, &metrics, &err) < 0) die("close", &err);
  double t1 = now_s(), c1 = cpu_s();
  fprintf(stderr, "bench_parquet_write: wall %.3f s, cpu %.3f s\n", t1 - t0, c1 - c0);

  printf("floe_s=%.3f floe_bytes=%" PRId64 "\n", t1 - t0, metrics.file_size);
  floe_parquet_file_metrics_free(&metrics);
  floe_parquet_writer_free(w);
  for (int64_t b = 0; b < n_batches; b++) floe_arrow_array_release(&batches[b]);
  free(batches);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  return 0;
}
