/*
 * bench/scan: floe's table scan (floe/scan.h) over a 10M-row table.
 *
 * Set-up (not timed, skipped when the table exists): the parquet_write
 * bench's six columns (id long, d double, s string of 20 chars, ts
 * timestamp, dec decimal(18,2), n int with ~10% nulls; formulas in
 * bench/README.md) for ids 0..N-1, written through floe's data writer and
 * appended to table bench.scan of a hadoop catalog in <work_dir>.
 *
 * Timed: three full scans of every column (open, plan, every batch,
 * free), best of three: no deletes and no filter (every batch slice is
 * copied in bulk), then with a filter `id >= 0` that keeps every row (the
 * per-row filter path, runs still copied whole), then `id % 2`-like
 * thinning via `n IS NOT NULL` (runs broken by ~10% dropped rows). Each
 * checks the row count and a sum over id. Prints:
 *
 *   scan rows=N seconds=S rows_per_s=R filter_all_rows_per_s=R2 filter_not_null_rows_per_s=R3
 *
 * usage: bench_scan [rows [work_dir]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_scan"
#include "bench_table.h"

#define BATCH_ROWS 65536

static void append_row(floe_arrow_batch_builder *bb, int64_t i) {
  char s[32];
  int len = snprintf(s, sizeof s, "customer_%06" PRId64 "_name", (i * 7919) % 20000);
  floe_arrow_builder_append_int64(&bb->columns[0], i);
  floe_arrow_builder_append_double(&bb->columns[1],
                                   (double)((i * 48271) % 2147483647) / 2147483647.0 * 1000.0);
  floe_arrow_builder_append_bytes(&bb->columns[2], s, (size_t)len);
  floe_arrow_builder_append_int64(&bb->columns[3], INT64_C(1704067200000000) + i * 1000003);
  floe_arrow_builder_append_decimal(&bb->columns[4], (floe_int128)((i * 104729) % 10000000000));
  if ((((uint64_t)i * 2654435761u) % 4294967296u) % 10 == 0)
    floe_arrow_builder_append_null(&bb->columns[5]);
  else
    floe_arrow_builder_append_int32(&bb->columns[5], (int32_t)((i * 31) % 100000));
}

static void build(floe_catalog *cat, int64_t rows) {
  floe_error err = {0};
  floe_iceberg_column cols[6] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "d", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
      {3, "s", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {4, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
      {5, "dec", false, floe_iceberg_decimal(18, 2), NULL},
      {6, "n", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
  };
  struct ArrowSchema as;
  floe_arrow_batch_builder bb;
  floe_table *table = create_table(cat, "scan", cols, 6, &as, &bb);
  floe_table_writer_options o;
  writer_options(table, "00000-bench-scan", &o);
  floe_data_writer *w = NULL;
  if (floe_data_writer_open(&w, &o, &err) != 0) die("writer", &err);
  for (int64_t i = 0; i < rows;) {
    int64_t end = i + BATCH_ROWS < rows ? i + BATCH_ROWS : rows;
    for (; i < end; i++) append_row(&bb, i);
    struct ArrowArray b;
    if (floe_arrow_batch_builder_finish(&bb, &b, &err) != 0) die("batch", &err);
    if (floe_data_writer_write(w, &as, &b, &err) != 0) die("write", &err);
    floe_arrow_array_release(&b);
  }
  floe_content_file_list files = {0};
  if (floe_data_writer_close(w, &files, &err) != 0) die("close", &err);
  if (floe_table_append(table, files.files, files.n_files, NULL, 0, NULL, &err) != 0) die("append", &err);
  fprintf(stderr, "bench_scan: table of %" PRId64 " rows in %d data files\n", rows, (int)files.n_files);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&as);
  floe_table_free(table);
}

/* One full scan; returns seconds, checks rows and the id sum. */
static double scan_once(floe_table *table, const floe_scan_predicate *filter, int32_t n_filter,
                        int64_t want_rows, int64_t *out_rows) {
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.filter = filter;
  so.n_filter = n_filter;
  double t0 = now_s();
  int64_t rows = 0;
  uint64_t id_sum = 0;
  scan_id_sum(table, &so, &rows, &id_sum);
  double t = now_s() - t0;
  if (want_rows >= 0 && (rows != want_rows || id_sum != (uint64_t)want_rows * (uint64_t)(want_rows - 1) / 2)) {
    fprintf(stderr, "bench_scan: %" PRId64 " rows (id sum %" PRIu64 "), expected %" PRId64 "\n", rows, id_sum,
            want_rows);
    exit(1);
  }
  *out_rows = rows;
  return t;
}

static double best_of_three(floe_table *table, const floe_scan_predicate *filter, int32_t n_filter,
                            int64_t want_rows, int64_t *out_rows) {
  double best = 1e9;
  for (int k = 0; k < 3; k++) {
    double t = scan_once(table, filter, n_filter, want_rows, out_rows);
    if (t < best) best = t;
  }
  return best;
}

/* This process's peak resident set, from the kernel. */
static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
  int64_t rows = argc > 1 ? strtoll(argv[1], NULL, 10) : 10000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp/floe_bench_scan";
  mkdir(dir, 0755);
  floe_catalog *cat = open_catalog(dir);
  floe_error err = {0};
  floe_catalog_ident ident = {"bench", "scan"};
  floe_table *table = NULL;
  if (floe_table_load(cat, ident, &table, &err) != 0) {
    /* Built in a child process, so this one's peak RSS is the scans'. */
    pid_t child = fork();
    if (child == 0) {
      build(cat, rows);
      _exit(0);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "scan: building the table failed\n");
      return 1;
    }
    if (floe_table_load(cat, ident, &table, &err) != 0) die("load", &err);
  }
  int64_t got;
  double t_plain = best_of_three(table, NULL, 0, rows, &got);
  floe_scan_predicate all;
  memset(&all, 0, sizeof all);
  all.column = "id";
  all.op = FLOE_SCAN_GE;
  all.value = floe_iceberg_null_value();
  all.value.is_null = false;
  all.value.v.i64 = 0;
  double t_filter_all = best_of_three(table, &all, 1, rows, &got);
  floe_scan_predicate not_null;
  memset(&not_null, 0, sizeof not_null);
  not_null.column = "n";
  not_null.op = FLOE_SCAN_NOT_NULL;
  int64_t kept = 0;
  double t_not_null = best_of_three(table, &not_null, 1, -1, &kept);
  printf("scan rows=%" PRId64 " seconds=%.3f rows_per_s=%.0f filter_all_rows_per_s=%.0f "
         "filter_not_null_rows_per_s=%.0f kept=%" PRId64 " peak_rss_mb=%.0f\n",
         rows, t_plain, (double)rows / t_plain, (double)rows / t_filter_all, (double)rows / t_not_null, kept,
         peak_rss_mb());
  floe_table_free(table);
  floe_catalog_free(cat);
  return 0;
}
