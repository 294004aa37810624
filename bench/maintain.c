/*
 * bench/maintain: compaction (floe_maintain_compact, floe/maintain.h) of a
 * table that hourly loads left behind: N rows in F small data files with
 * 10% of the rows deleted by position deletes.
 *
 * Set-up (not timed): table bench.compact of a hadoop catalog in
 * <work_dir>, four columns (id long, d double, s string of ~20 chars, n int
 * with ~10% nulls), ids 0..N-1 written as F files of N/F rows each (one
 * data writer per file, one append commit), then one row delta of F
 * position delete files, one per data file (referenced_data_file set, as
 * merges into small files write them), deleting every row whose position p
 * in its file has p % 10 == 3 (exactly 10%).
 *
 * Timed, each in a process of its own (this binary, so its peak RSS is the
 * step's own): a full scan before (every column, deletes applied; checks
 * the live row count and the id sum), the compaction (default target file
 * size; one replace commit), and the same scan after. Prints:
 *
 *   maintain_compact rows=N deleted_rows=D files_before=F files_after=A
 *     seconds=S peak_rss_mb=R scan_before_s=B scan_after_s=C
 *
 * usage: bench_maintain [rows [files [work_dir]]]
 *        bench_maintain scan|compact <work_dir> <rows>
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "floe/maintain.h"

#define BENCH_NAME "bench_maintain"
#include "bench_table.h"

static floe_table *load(floe_catalog *cat) {
  floe_error err = {0};
  floe_catalog_ident ident = {"bench", "compact"};
  floe_table *t = NULL;
  if (floe_table_load(cat, ident, &t, &err) != 0) die("load", &err);
  return t;
}

static bool deleted(int64_t pos) { return pos % 10 == 3; }

static void append_row(floe_arrow_batch_builder *bb, int64_t i) {
  char s[32];
  int len = snprintf(s, sizeof s, "customer_%06" PRId64 "_name", (i * 7919) % 20000);
  floe_arrow_builder_append_int64(&bb->columns[0], i);
  floe_arrow_builder_append_double(&bb->columns[1], (double)((i * 48271) % 1000003) / 7.0);
  floe_arrow_builder_append_bytes(&bb->columns[2], s, (size_t)len);
  if ((((uint64_t)i * 2654435761u) % 4294967296u) % 10 == 0)
    floe_arrow_builder_append_null(&bb->columns[3]);
  else
    floe_arrow_builder_append_int32(&bb->columns[3], (int32_t)((i * 31) % 100000));
}

static void build(const char *dir, int64_t rows, int64_t files) {
  floe_error err = {0};
  floe_catalog *cat = open_catalog(dir);
  floe_iceberg_column cols[4] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "d", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
      {3, "s", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {4, "n", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
  };
  struct ArrowSchema as;
  floe_arrow_batch_builder bb;
  floe_table *table = create_table(cat, "compact", cols, 4, &as, &bb);
  floe_iceberg_content_file *all = calloc((size_t)files, sizeof *all);
  floe_content_file_list *lists = calloc((size_t)files, sizeof *lists);
  if (all == NULL || lists == NULL) die("out of memory", NULL);
  int64_t per_file = rows / files;
  for (int64_t f = 0; f < files; f++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "00000-%" PRId64 "-load", f);
    floe_table_writer_options o;
    writer_options(table, prefix, &o);
    floe_data_writer *w = NULL;
    if (floe_data_writer_open(&w, &o, &err) != 0) die("writer", &err);
    int64_t end = f == files - 1 ? rows : (f + 1) * per_file;
    for (int64_t i = f * per_file; i < end; i++) append_row(&bb, i);
    struct ArrowArray b;
    if (floe_arrow_batch_builder_finish(&bb, &b, &err) != 0) die("batch", &err);
    if (floe_data_writer_write(w, &as, &b, &err) != 0) die("write", &err);
    floe_arrow_array_release(&b);
    if (floe_data_writer_close(w, &lists[f], &err) != 0 || lists[f].n_files != 1) die("close", &err);
    floe_data_writer_free(w);
    all[f] = lists[f].files[0];
  }
  if (floe_table_append(table, all, (int32_t)files, NULL, 0, NULL, &err) != 0) die("append", &err);
  /* 10% of each file's rows deleted by position, one delete file per data
   * file (file-scoped, referenced_data_file set), as merges into small
   * files write them. */
  floe_content_file_list *dls = calloc((size_t)files, sizeof *dls);
  if (dls == NULL) die("out of memory", NULL);
  floe_table_op *op = NULL;
  if (floe_table_op_new(&op, table, FLOE_TABLE_ROW_DELTA, &err) != 0) die("op", &err);
  int64_t n_deleted = 0;
  for (int64_t f = 0; f < files; f++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "00001-%" PRId64 "-merge", f);
    floe_table_writer_options o;
    writer_options(table, prefix, &o);
    floe_position_delete_writer *pw = NULL;
    if (floe_position_delete_writer_open(&pw, &o, &err) != 0) die("delete writer", &err);
    for (int64_t p = 0; p < all[f].record_count; p++)
      if (deleted(p)) {
        if (floe_position_delete_writer_add(pw, NULL, all[f].file_path, p, &err) != 0)
          die("delete", &err);
        n_deleted++;
      }
    if (floe_position_delete_writer_close(pw, &dls[f], &err) != 0) die("delete close", &err);
    floe_position_delete_writer_free(pw);
    for (int32_t i = 0; i < dls[f].n_files; i++)
      if (floe_table_op_add_file(op, &dls[f].files[i], &err) != 0) die("add delete", &err);
  }
  if (floe_table_op_commit(op, NULL, &err) != 0) die("row delta", &err);
  floe_content_file_list dl = {0};
  dl.n_files = (int32_t)files;
  fprintf(stderr, "bench_maintain: %" PRId64 " rows in %" PRId64 " files, %" PRId64
          " deleted by %d position delete files\n", rows, files, n_deleted, (int)dl.n_files);
  floe_table_op_free(op);
  for (int64_t f = 0; f < files; f++) {
    floe_content_file_list_free(&lists[f]);
    floe_content_file_list_free(&dls[f]);
  }
  free(dls);
  free(lists);
  free(all);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&as);
  floe_table_free(table);
  floe_catalog_free(cat);
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

/* Live rows expected: ids whose position in their file is not deleted. */
static void expected(int64_t rows, int64_t files, int64_t *out_rows, uint64_t *out_sum) {
  int64_t per_file = rows / files, n = 0;
  uint64_t sum = 0;
  for (int64_t f = 0; f < files; f++) {
    int64_t start = f * per_file, end = f == files - 1 ? rows : start + per_file;
    for (int64_t i = start; i < end; i++)
      if (!deleted(i - start)) {
        n++;
        sum += (uint64_t)i;
      }
  }
  *out_rows = n;
  *out_sum = sum;
}

static int scan_run(const char *dir, int64_t rows, int64_t files) {
  floe_catalog *cat = open_catalog(dir);
  floe_table *table = load(cat);
  double t0 = now_s();
  int64_t n = 0;
  uint64_t sum = 0;
  scan_id_sum(table, NULL, &n, &sum);
  double seconds = now_s() - t0;
  int64_t want_rows;
  uint64_t want_sum;
  expected(rows, files, &want_rows, &want_sum);
  if (n != want_rows || sum != want_sum) {
    fprintf(stderr, "bench_maintain: scan read %" PRId64 " rows (sum %" PRIu64 "), expected %" PRId64
            " (sum %" PRIu64 ")\n", n, sum, want_rows, want_sum);
    return 1;
  }
  printf("scan_s=%.3f\n", seconds);
  floe_table_free(table);
  floe_catalog_free(cat);
  return 0;
}

static int compact_run(const char *dir) {
  floe_error err = {0};
  floe_catalog *cat = open_catalog(dir);
  floe_table *table = load(cat);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  double t0 = now_s();
  if (floe_maintain_run(table, &o, &r, &err) != 0) die("compact", &err);
  double seconds = now_s() - t0;
  printf("seconds=%.3f peak_rss_mb=%.0f files_before=%" PRId64 " files_after=%" PRId64
         " delete_files_after=%" PRId64 " rows=%" PRId64 "\n",
         seconds, peak_rss_mb(), r.data_files_before, r.data_files_after, r.delete_files_after,
         r.rows_rewritten);
  floe_table_free(table);
  floe_catalog_free(cat);
  return 0;
}

/* Runs this binary in `mode` and returns the value of `key` it printed. */
static double child(const char *mode, const char *dir, int64_t rows, int64_t files,
                    const char *key, char *line, size_t cap) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "'/proc/%d/exe' %s '%s' %" PRId64 " %" PRId64, (int)getpid(), mode, dir,
           rows, files);
  fflush(stdout);
  FILE *p = popen(cmd, "r");
  if (p == NULL || fgets(line, (int)cap, p) == NULL) die(mode, NULL);
  if (pclose(p) != 0) die(mode, NULL);
  const char *at = strstr(line, key);
  if (at == NULL) die(mode, NULL);
  return strtod(at + strlen(key) + 1, NULL);
}

static int64_t field(const char *line, const char *key) {
  const char *at = strstr(line, key);
  return at != NULL ? strtoll(at + strlen(key) + 1, NULL, 10) : -1;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "scan") == 0)
    return scan_run(argv[2], strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10));
  if (argc >= 3 && strcmp(argv[1], "compact") == 0) return compact_run(argv[2]);
  int64_t rows = argc > 1 ? strtoll(argv[1], NULL, 10) : 10000000;
  int64_t files = argc > 2 ? strtoll(argv[2], NULL, 10) : 10000;
  if (files < 1 || rows < files) die("usage: bench_maintain [rows [files [work_dir]]]", NULL);
  char dir[4096];
  if (argc > 3) {
    snprintf(dir, sizeof dir, "%s", argv[3]);
  } else {
    snprintf(dir, sizeof dir, "/tmp/floe-bench-maintain.XXXXXX");
    if (mkdtemp(dir) == NULL) die("mkdtemp", NULL);
  }
  double t0 = now_s();
  build(dir, rows, files);
  fprintf(stderr, "bench_maintain: set-up %.1f s\n", now_s() - t0);
  char before[512], compact[512], after[512];
  double scan_before = child("scan", dir, rows, files, "scan_s", before, sizeof before);
  double seconds = child("compact", dir, rows, files, "seconds", compact, sizeof compact);
  double scan_after = child("scan", dir, rows, files, "scan_s", after, sizeof after);
  int64_t live = 0;
  uint64_t sum = 0;
  expected(rows, files, &live, &sum);
  if (field(compact, "rows") != live || field(compact, "delete_files_after") != 0) {
    fprintf(stderr, "bench_maintain: compaction wrote %s", compact);
    return 1;
  }
  printf("maintain_compact rows=%" PRId64 " deleted_rows=%" PRId64 " files_before=%" PRId64
         " files_after=%" PRId64 " seconds=%.3f peak_rss_mb=%" PRId64 " scan_before_s=%.3f"
         " scan_after_s=%.3f\n",
         rows, rows - live, field(compact, "files_before"), field(compact, "files_after"), seconds,
         field(compact, "peak_rss_mb"), scan_before, scan_after);
  int status = 0;
  if (argc <= 3) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) status = 1;
  }
  return status;
}
