/*
 * bench/upsert: floe's merge (floe/merge.h) on a 10M-row table.
 *
 * Set-up (not timed): a table of 10 columns (id long key, then long,
 * double, string ~20 chars, int, timestamp, decimal(18,2), string, long,
 * date) holding ids 0..N-1, written once through floe's data writer and
 * appended to three tables in a hadoop catalog (they share the data files).
 * Then, for each delete kind, a separate process (this binary, "merge"
 * mode, so its peak RSS is the merge's own) loads one table, streams M
 * change rows in 64 Ki-row batches: 80% updates of distinct pseudo-random
 * existing ids ((i * 2654435761) mod N, a bijection since the multiplier
 * is coprime with N) and 20% inserts of ids N.., interleaved, and times
 * begin + add + commit. Prints one line per delete kind:
 *
 *   upsert table_rows=N changed_rows=M seconds=S cpu_s=C peak_rss_mb=R spill_mb=D
 *   upsert_equality ...   upsert_copy_on_write ...
 *
 * seconds and cpu_s leave out generating the change rows; spill_mb is what
 * the merge wrote to its spill (0: it ran in memory). The merge's budget
 * is merge.memory_mb's default (128 MiB) unless BENCH_MERGE_MEMORY_MB
 * says otherwise; it spills under work_dir. Its threads are
 * floe_merge_options.threads' default (one per core: copy-on-write reads
 * on a second thread) unless BENCH_MERGE_THREADS says otherwise.
 *
 * usage: bench_upsert [table_rows [changed_rows [work_dir]]]
 *        bench_upsert merge <work_dir> <pos|eq|cow> <table_rows> <changed_rows>
 *        bench_upsert build <work_dir> <table_rows>   (the set-up alone, to
 *          copy and merge into repeatedly)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "floe/catalog.h"
#include "floe/merge.h"
#include "floe/table.h"
#include "floe/table_writer.h"

#define BATCH_ROWS 65536
#define N_COLS 10

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const floe_error *err) {
  fprintf(stderr, "bench_upsert: %s: %s\n", what, err ? err->message : "");
  exit(1);
}

static floe_iceberg_schema *make_schema(void) {
  floe_iceberg_column cols[N_COLS] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "qty", false, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {3, "price", false, floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE), NULL},
      {4, "customer", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {5, "store", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
      {6, "updated_at", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
      {7, "amount", false, floe_iceberg_decimal(18, 2), NULL},
      {8, "status", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {9, "batch_sk", false, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {10, "day", false, floe_iceberg_type_of(FLOE_ICEBERG_DATE), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  if (floe_iceberg_schema_new(&s, 0, cols, N_COLS, &err) != 0) die("schema", &err);
  return s;
}

/* Appends row `id` (version `version`: 0 for the table, 1 for changes). */
static void append_row(floe_arrow_batch_builder *bb, int64_t id, int64_t version) {
  static const char *statuses[] = {"open", "shipped", "returned", "closed"};
  char customer[32];
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15u + (uint64_t)version;
  int n = snprintf(customer, sizeof customer, "customer_%06u_name",
                   (unsigned)((h >> 20) % 20000));
  floe_arrow_builder_append_int64(&bb->columns[0], id);
  floe_arrow_builder_append_int64(&bb->columns[1], (int64_t)(h % 1000));
  floe_arrow_builder_append_double(&bb->columns[2], (double)(h % 100000) / 100.0);
  floe_arrow_builder_append_bytes(&bb->columns[3], customer, (size_t)n);
  floe_arrow_builder_append_int32(&bb->columns[4], (int32_t)(h % 500));
  floe_arrow_builder_append_int64(&bb->columns[5],
                                  INT64_C(1704067200000000) + id * 1000003 + version);
  floe_arrow_builder_append_decimal(&bb->columns[6], (floe_int128)(h % 10000000000u));
  const char *st = statuses[(h >> 8) % 4];
  floe_arrow_builder_append_bytes(&bb->columns[7], st, strlen(st));
  floe_arrow_builder_append_int64(&bb->columns[8], 1 + version);
  floe_arrow_builder_append_int32(&bb->columns[9], 19723 + (int32_t)(id % 365));
}

static floe_catalog *open_catalog(const char *dir) {
  floe_catalog_config cfg = {0};
  cfg.type = FLOE_CATALOG_HADOOP;
  cfg.warehouse = dir;
  cfg.durable = -1;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  if (floe_catalog_open(&cfg, &cat, &err) != 0) die("catalog", &err);
  return cat;
}

static const char *const table_names[] = {"pos", "eq", "cow"};

static void build(const char *dir, int64_t rows) {
  floe_error err = {0};
  floe_catalog *cat = open_catalog(dir);
  if (floe_catalog_namespace_create(cat, "bench", NULL, 0, &err) != 0) die("namespace", &err);
  floe_iceberg_schema *schema = make_schema();
  floe_table *tables[3] = {NULL, NULL, NULL};
  for (int t = 0; t < 3; t++) {
    floe_catalog_ident id = {"bench", table_names[t]};
    if (floe_table_create(cat, id, schema, NULL, NULL, NULL, 0, NULL, &tables[t], &err) != 0)
      die("create", &err);
  }
  floe_iceberg_schema_free(schema);
  floe_table_writer_options o;
  floe_table_writer_options_init(&o);
  if (floe_table_writer_options_from_metadata(&o, floe_table_metadata(tables[0]), &err) != 0)
    die("writer options", &err);
  o.io = floe_table_io(tables[0]);
  o.file_prefix = "00000-bench-base";
  floe_data_writer *w = NULL;
  if (floe_data_writer_open(&w, &o, &err) != 0) die("writer", &err);
  struct ArrowSchema as;
  if (floe_iceberg_schema_to_arrow(floe_table_schema(tables[0]), NULL, 0, &as, &err) != 0)
    die("arrow schema", &err);
  floe_arrow_batch_builder bb;
  if (floe_arrow_batch_builder_init(&bb, &as, &err) != 0) die("builder", &err);
  for (int64_t id = 0; id < rows;) {
    int64_t end = id + BATCH_ROWS < rows ? id + BATCH_ROWS : rows;
    for (; id < end; id++) append_row(&bb, id, 0);
    struct ArrowArray b;
    if (floe_arrow_batch_builder_finish(&bb, &b, &err) != 0) die("batch", &err);
    if (floe_data_writer_write(w, &as, &b, &err) != 0) die("write", &err);
    floe_arrow_array_release(&b);
  }
  floe_content_file_list files = {0};
  if (floe_data_writer_close(w, &files, &err) != 0) die("close", &err);
  for (int t = 0; t < 3; t++)
    if (floe_table_append(tables[t], files.files, files.n_files, NULL, 0, NULL, &err) != 0)
      die("append", &err);
  fprintf(stderr, "bench_upsert: table of %" PRId64 " rows in %d data files\n", rows,
          (int)files.n_files);
  floe_content_file_list_free(&files);
  floe_data_writer_free(w);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&as);
  for (int t = 0; t < 3; t++) floe_table_free(tables[t]);
  floe_catalog_free(cat);
}

static int merge_run(const char *dir, const char *mode, int64_t rows, int64_t changes) {
  floe_error err = {0};
  int t = strcmp(mode, "pos") == 0 ? 0 : strcmp(mode, "eq") == 0 ? 1 : 2;
  floe_catalog *cat = open_catalog(dir);
  floe_table *table = NULL;
  floe_catalog_ident ident = {"bench", table_names[t]};
  if (floe_table_load(cat, ident, &table, &err) != 0) die("load", &err);
  struct ArrowSchema as;
  if (floe_iceberg_schema_to_arrow(floe_table_schema(table), NULL, 0, &as, &err) != 0)
    die("arrow schema", &err);
  floe_arrow_batch_builder bb;
  if (floe_arrow_batch_builder_init(&bb, &as, &err) != 0) die("builder", &err);

  static const int32_t key[] = {1};
  floe_merge_options o;
  memset(&o, 0, sizeof o);
  o.kind = FLOE_MERGE_UPSERT;
  o.deletes = t == 0 ? FLOE_MERGE_POSITION_DELETES
              : t == 1 ? FLOE_MERGE_EQUALITY_DELETES
                       : FLOE_MERGE_COPY_ON_WRITE;
  o.n_key_field_ids = 1;
  o.key_field_ids = key;
  o.order_field_id = 9;
  const char *memory_mb = getenv("BENCH_MERGE_MEMORY_MB");
  if (memory_mb != NULL && memory_mb[0] != '\0')
    o.memory_bytes = strtoll(memory_mb, NULL, 10) << 20;
  const char *threads = getenv("BENCH_MERGE_THREADS");
  if (threads != NULL && threads[0] != '\0') o.threads = strtoll(threads, NULL, 10);
  o.spill_dir = dir;
  int64_t updates = changes * 8 / 10;
  double t0 = now_s(), c0 = cpu_s(), gen = 0, gen_cpu = 0;
  floe_merge *m = NULL;
  if (floe_merge_begin(&m, table, &o, &err) != 0) die("begin", &err);
  int64_t next_update = 0, next_insert = 0;
  for (int64_t i = 0; i < changes;) {
    double g0 = now_s(), gc0 = cpu_s();
    int64_t end = i + BATCH_ROWS < changes ? i + BATCH_ROWS : changes;
    for (; i < end; i++) {
      /* 4 updates, then 1 insert */
      bool insert = (i % 5 == 4 && next_insert < changes - updates) || next_update >= updates;
      int64_t id = insert ? rows + next_insert++
                          : (int64_t)(((uint64_t)next_update++ * 2654435761u) % (uint64_t)rows);
      append_row(&bb, id, 1);
    }
    struct ArrowArray b;
    if (floe_arrow_batch_builder_finish(&bb, &b, &err) != 0) die("batch", &err);
    gen += now_s() - g0;
    gen_cpu += cpu_s() - gc0;
    if (floe_merge_add(m, &as, &b, &err) != 0) die("add", &err);
    floe_arrow_array_release(&b);
  }
  floe_merge_result r;
  if (floe_merge_commit(m, &r, &err) != 0) die("commit", &err);
  double seconds = now_s() - t0 - gen;
  double cpu = cpu_s() - c0 - gen_cpu;
  floe_merge_free(m);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  static const char *const names[] = {"upsert", "upsert_equality", "upsert_copy_on_write"};
  printf("%s table_rows=%" PRId64 " changed_rows=%" PRId64
         " seconds=%.3f cpu_s=%.3f peak_rss_mb=%.0f spill_mb=%.0f\n",
         names[t], rows, changes, seconds, cpu, (double)ru.ru_maxrss / 1024.0,
         (double)r.spill_bytes / 1048576.0);
  fprintf(stderr,
          "bench_upsert: %s: updated=%" PRId64 " inserted=%" PRId64 " data_files=%" PRId64
          " delete_files=%" PRId64 " bytes=%" PRId64 " (row generation %.3f s excluded)\n",
          names[t], r.rows_updated, r.rows_inserted, r.data_files, r.delete_files,
          r.bytes_written, gen);
  fflush(stdout);
  if (r.rows_updated != updates || r.rows_inserted != changes - updates) {
    fprintf(stderr, "bench_upsert: wrong counts\n");
    return 1;
  }
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&as);
  floe_table_free(table);
  floe_catalog_free(cat);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "build") == 0) {
    build(argv[2], strtoll(argv[3], NULL, 10));
    return 0;
  }
  if (argc >= 6 && strcmp(argv[1], "merge") == 0)
    return merge_run(argv[2], argv[3], strtoll(argv[4], NULL, 10),
                     strtoll(argv[5], NULL, 10));
  int64_t rows = argc > 1 ? strtoll(argv[1], NULL, 10) : 10000000;
  int64_t changes = argc > 2 ? strtoll(argv[2], NULL, 10) : rows / 10;
  char dir[4096];
  if (argc > 3) {
    snprintf(dir, sizeof dir, "%s", argv[3]);
  } else {
    snprintf(dir, sizeof dir, "/tmp/floe-bench-upsert.XXXXXX");
    if (mkdtemp(dir) == NULL) die("mkdtemp", NULL);
  }
  double t0 = now_s();
  build(dir, rows);
  fprintf(stderr, "bench_upsert: set-up %.1f s\n", now_s() - t0);
  int status = 0;
  const char *modes[] = {"pos", "eq", "cow"};
  for (int i = 0; i < 3; i++) {
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "'/proc/%d/exe' merge '%s' %s %" PRId64 " %" PRId64, (int)getpid(),
             dir, modes[i], rows, changes);
    fflush(stdout);
    if (system(cmd) != 0) status = 1;
  }
  if (argc <= 3) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) status = 1;
  }
  return status;
}
