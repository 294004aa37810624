/*
 * tests/unit/test_faults_alloc: allocation failure at the Nth allocation
 * over whole operations.
 *
 * For each operation the test first counts the allocations it makes
 * (floe_alloc_calls before and after a clean run), then runs it again with
 * the Nth allocation failing (floe_alloc_fail_after) for every N from 1 to
 * that count (or, above MAX_EXHAUSTIVE, a dense sample: every stride-th N
 * plus the first and last 200, printed). Each run must end in FLOE_ENOMEM
 * with a message, or succeed correctly when the failed allocation had a
 * fallback; never another code, a crash or a leak (the binary runs under
 * ASan/LeakSanitizer in `make test`). Operations:
 *
 *  - writing a Parquet data file through the data writer (a failed writer
 *    leaves no file behind);
 *  - writing a manifest and reading it back (the entry read equals the one
 *    written);
 *  - committing an append, an overwrite and a row delta (data files written
 *    beforehand): after every failure the table's metadata location and
 *    bytes are the pre-commit ones and a scan reads the pre-commit rows; the
 *    commit then succeeds without the fault;
 *  - scanning a table with position deletes to the end (the rows read equal
 *    the expected ones when it succeeds).
 *
 * The commits run on the SQL catalog (SQLite), opened non-durable to keep
 * thousands of commits fast (fsync has no allocation).
 */
#include <limits.h>

#include "faults_test_support.h"
#include "test.h"

#define MAX_EXHAUSTIVE 6000

/* Allocations inside the faulted region of the last run (set by each op
 * between its floe_alloc_fail_after(n) and floe_alloc_fail_after(0)). */
static long region_allocs, region_start;
#define FAULT_BEGIN(n)                  \
  do {                                  \
    floe_alloc_fail_after(n);           \
    region_start = floe_alloc_calls();  \
  } while (0)
#define FAULT_END()                                      \
  do {                                                   \
    region_allocs = floe_alloc_calls() - region_start;   \
    floe_alloc_fail_after(0);                            \
  } while (0)

typedef struct sweep {
  long total, runs, enomem, succeeded, other;
  long stride;
} sweep;

/* Runs `fn(ctx)` with the Nth allocation failing for N over the sweep.
 * fn returns the operation's rc and checks the state itself. */
typedef int (*op_fn)(void *ctx, long n, floe_error *err);

static void run_sweep(const char *what, op_fn fn, void *ctx, sweep *s) {
  floe_error err = {0};
  memset(s, 0, sizeof *s);
  int rc = fn(ctx, 0, &err);
  s->total = region_allocs;
  if (rc != 0) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: clean run failed: %s", what, err.message);
    return;
  }
  s->stride = s->total <= MAX_EXHAUSTIVE ? 1 : s->total / (MAX_EXHAUSTIVE / 2);
  for (long n = 1; n <= s->total; n++) {
    bool edge = n <= 200 || n > s->total - 200;
    if (!edge && s->stride > 1 && n % s->stride != 0) continue;
    floe_error e = {0};
    s->runs++;
    rc = fn(ctx, n, &e);
    if (rc == FLOE_ENOMEM) {
      s->enomem++;
      if (e.message[0] == '\0')
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: N=%ld: FLOE_ENOMEM without a message", what, n);
    } else if (rc == 0) {
      s->succeeded++;
    } else {
      s->other++;
      if (s->other <= 5)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: N=%ld: %s instead of ENOMEM: %s", what, n,
                     floe_error_code_name(rc), e.message);
    }
  }
  printf("  %-26s %6ld allocations, %6ld runs (%s), ENOMEM %ld, succeeded %ld, other %ld\n",
         what, s->total, s->runs, s->stride == 1 ? "every N" : "sampled", s->enomem,
         s->succeeded, s->other);
  fflush(stdout);
  CHECK(s->enomem > 0);
  CHECK_INT_EQ(s->other, 0);
}

/* ---- Parquet data file ---------------------------------------------------- */

typedef struct write_ctx {
  fx_env *env;
  floe_table *table;
  char data_dir[2048];
} write_ctx;

static int count_files(const char *dir) {
  fx_files f = {0};
  fx_files_walk(dir, &f, false);
  int n = (int)f.n;
  fx_files_free(&f);
  return n;
}

static int write_parquet_op(void *vctx, long n, floe_error *err) {
  write_ctx *ctx = vctx;
  static const int64_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8};
  int files_before = count_files(ctx->data_dir);
  floe_content_file_list list = {0};
  FAULT_BEGIN(n);
  int rc = fx_write_data(ctx->env, ctx->table, ids, 8, &list, err);
  FAULT_END();
  if (rc == 0) {
    CHECK_INT_EQ(list.n_files, 1);
    if (list.n_files == 1) {
      CHECK_INT_EQ(list.files[0].record_count, 8);
      const char *p = floe_io_local_path(list.files[0].file_path);
      if (p != NULL) unlink(p);
    }
  }
  floe_content_file_list_free(&list);
  /* Success or not, nothing is left behind (the success file was removed). */
  CHECK_INT_EQ(count_files(ctx->data_dir), files_before);
  return rc;
}

static void test_parquet_write_every_allocation_fails_cleanly(void) {
  fx_env env;
  floe_error err = {0};
  write_ctx ctx = {&env, NULL, ""};
  REQUIRE(fx_open(&env, FX_SQLITE, "alloc_parquet", 0, 0, &err));
  floe_iceberg_schema *schema = fx_schema();
  floe_catalog_ident ident = {"db", "t"};
  REQUIRE_OK(floe_table_create(env.cat, ident, schema, NULL, NULL, NULL, 0, NULL, &ctx.table,
                               &err), &err);
  floe_iceberg_schema_free(schema);
  snprintf(ctx.data_dir, sizeof ctx.data_dir, "%s/db/t/data", env.warehouse);
  sweep s;
  run_sweep("parquet data file", write_parquet_op, &ctx, &s);
  floe_table_free(ctx.table);
  fx_close(&env);
}

/* ---- manifest write + read ------------------------------------------------ */

typedef struct manifest_ctx {
  floe_io *io;
  char dir[2048];
  int seq;
  floe_iceberg_schema *schema;
  floe_iceberg_partition_spec *spec;
} manifest_ctx;

static int manifest_op(void *vctx, long n, floe_error *err) {
  manifest_ctx *ctx = vctx;
  char path[2200];
  snprintf(path, sizeof path, "%s/m%d.avro", ctx->dir, ++ctx->seq);
  floe_manifest_writer_options o = {2, ctx->schema, ctx->spec, FLOE_MANIFEST_DATA, 42};
  floe_manifest_writer *w = NULL;
  floe_manifest_reader *r = NULL;
  floe_manifest_file mf;
  uint8_t lo[8] = {1}, hi[8] = {9};
  floe_iceberg_column_metrics m = {0};
  m.field_id = 1;
  m.has_value_count = m.has_null_count = true;
  m.value_count = 9;
  m.lower_bound = lo;
  m.lower_bound_len = 8;
  m.upper_bound = hi;
  m.upper_bound_len = 8;
  floe_manifest_entry e;
  memset(&e, 0, sizeof e);
  e.status = FLOE_ENTRY_ADDED;
  e.file.content = FLOE_CONTENT_DATA;
  e.file.file_path = "/w/db/t/data/00000-0-a.parquet";
  e.file.file_format = "PARQUET";
  e.file.record_count = 9;
  e.file.file_size_in_bytes = 1234;
  e.file.n_columns = 1;
  e.file.columns = &m;
  FAULT_BEGIN(n);
  int rc = floe_manifest_writer_open(&w, ctx->io, path, &o, err);
  if (rc == 0) rc = floe_manifest_writer_add(w, &e, err);
  if (rc == 0) rc = floe_manifest_writer_close(w, &mf, err);
  if (rc == 0) rc = floe_manifest_reader_open(&r, ctx->io, path, NULL, NULL, err);
  const floe_manifest_entry *got = NULL;
  if (rc == 0) rc = floe_manifest_reader_next(r, &got, err);
  FAULT_END();
  if (rc == 0) {
    CHECK(got != NULL);
    if (got != NULL) {
      CHECK_STR_EQ(got->file.file_path, e.file.file_path);
      CHECK_INT_EQ(got->file.record_count, 9);
      CHECK_INT_EQ(got->snapshot_id, 42);
    }
  }
  floe_manifest_reader_free(r);
  floe_manifest_writer_free(w);
  unlink(path);
  return rc;
}

static void test_manifest_write_and_read_every_allocation_fails_cleanly(void) {
  manifest_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  floe_error err = {0};
  REQUIRE(system("rm -rf tmp/alloc_manifest && mkdir -p tmp/alloc_manifest") == 0);
  REQUIRE(realpath("tmp/alloc_manifest", ctx.dir) != NULL);
  floe_io_local_options lo = {0};
  REQUIRE_OK(floe_io_local_open(&lo, &ctx.io, &err), &err);
  ctx.schema = fx_schema();
  REQUIRE_OK(floe_iceberg_partition_spec_new(&ctx.spec, 0, &err), &err);
  sweep s;
  run_sweep("manifest write + read", manifest_op, &ctx, &s);
  floe_iceberg_partition_spec_free(ctx.spec);
  floe_iceberg_schema_free(ctx.schema);
  floe_io_free(ctx.io);
}

/* ---- commits ----------------------------------------------------------------- */

typedef struct commit_ctx {
  fx_env *env;
  const char *name;
  fx_op op;
  floe_content_file_list data, deletes;
  floe_catalog_table pre;
} commit_ctx;

static int commit_op(void *vctx, long n, floe_error *err) {
  commit_ctx *ctx = vctx;
  floe_catalog_ident ident = {"db", ctx->name};
  floe_table *t = NULL;
  floe_table_op *op = NULL;
  int rc = floe_table_load(ctx->env->cat, ident, &t, err);
  if (rc != 0) return rc;
  FAULT_BEGIN(n);
  rc = floe_table_op_new(&op, t,
                         ctx->op == FX_APPEND      ? FLOE_TABLE_APPEND
                         : ctx->op == FX_OVERWRITE ? FLOE_TABLE_OVERWRITE
                                                   : FLOE_TABLE_ROW_DELTA,
                         err);
  if (rc == 0 && ctx->op == FX_OVERWRITE) rc = floe_table_op_delete_all(op, err);
  for (int32_t i = 0; rc == 0 && i < ctx->data.n_files; i++)
    rc = floe_table_op_add_file(op, &ctx->data.files[i], err);
  for (int32_t i = 0; rc == 0 && i < ctx->deletes.n_files; i++)
    rc = floe_table_op_add_file(op, &ctx->deletes.files[i], err);
  if (rc == 0) rc = floe_table_op_commit(op, NULL, err);
  FAULT_END();
  floe_table_op_free(op);
  floe_table_free(t);
  floe_catalog_table now = {0};
  CHECK_OK(floe_catalog_table_load(ctx->env->cat, ident, &now, err), err);
  char *rows = fx_rows(ctx->env, ctx->name);
  if (rc != 0) {
    /* The table is exactly as before. */
    CHECK_STR_EQ(now.metadata_location, ctx->pre.metadata_location);
    CHECK(now.metadata_json_len == ctx->pre.metadata_json_len &&
          memcmp(now.metadata_json, ctx->pre.metadata_json, now.metadata_json_len) == 0);
    CHECK_STR_EQ(rows, fx_base_rows);
  } else {
    CHECK_STR_EQ(rows, fx_expected_rows[ctx->op]);
    /* Start the next N from the pre-commit state again: point the catalog
     * back (the SQL catalog's pointer is a row; the old file is intact). */
    char *back = NULL;
    floe_error e2 = {0};
    CHECK_OK(floe_catalog_commit(ctx->env->cat, ident, now.metadata_location,
                                 ctx->pre.metadata_json, ctx->pre.metadata_json_len, &back,
                                 &e2), &e2);
    floe_catalog_table_reset(&ctx->pre);
    CHECK_OK(floe_catalog_table_load(ctx->env->cat, ident, &ctx->pre, &e2), &e2);
    free(back);
  }
  free(rows);
  floe_catalog_table_reset(&now);
  return rc;
}

static void run_commit_sweep(fx_op op) {
  fx_env env;
  floe_error err = {0};
  commit_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  char name[32];
  snprintf(name, sizeof name, "c_%d", (int)op);
  REQUIRE(fx_open(&env, FX_SQLITE, name, 0, 0, &err));
  /* Non-durable for speed: reopen the catalog with durable = -1. */
  fx_close(&env);
  floe_catalog_config cfg = {0};
  cfg.type = FLOE_CATALOG_SQL;
  cfg.warehouse = env.warehouse;
  cfg.sql_uri = env.sql_uri;
  cfg.durable = -1;
  REQUIRE_OK(floe_catalog_open(&cfg, &env.cat, &err), &err);
  ctx.env = &env;
  ctx.name = "t";
  ctx.op = op;
  floe_table *t = NULL;
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  static const int64_t append_ids[] = {4, 5}, overwrite_ids[] = {10, 11}, delta_ids[] = {6};
  const int64_t *ids = op == FX_APPEND ? append_ids : op == FX_OVERWRITE ? overwrite_ids : delta_ids;
  REQUIRE_OK(fx_write_data(&env, t, ids, op == FX_ROW_DELTA ? 1 : 2, &ctx.data, &err), &err);
  if (op == FX_ROW_DELTA) {
    char base[1024];
    REQUIRE_OK(fx_base_data_file(t, base, sizeof base, &err), &err);
    floe_table_writer_options o;
    char prefix[64];
    floe_position_delete_writer *pw = NULL;
    REQUIRE_OK(fx_writer_options(&env, t, &o, prefix, sizeof prefix, &err), &err);
    REQUIRE_OK(floe_position_delete_writer_open(&pw, &o, &err), &err);
    CHECK_OK(floe_position_delete_writer_add(pw, NULL, base, 0, &err), &err);
    CHECK_OK(floe_position_delete_writer_close(pw, &ctx.deletes, &err), &err);
    floe_position_delete_writer_free(pw);
  }
  floe_table_free(t);
  floe_catalog_ident ident = {"db", "t"};
  REQUIRE_OK(floe_catalog_table_load(env.cat, ident, &ctx.pre, &err), &err);
  char what[64];
  snprintf(what, sizeof what, "commit %s", fx_op_names[op]);
  sweep s;
  run_sweep(what, commit_op, &ctx, &s);
  floe_catalog_table_reset(&ctx.pre);
  floe_content_file_list_free(&ctx.data);
  floe_content_file_list_free(&ctx.deletes);
  fx_close(&env);
}

static void test_commit_append_every_allocation_fails_cleanly(void) {
  run_commit_sweep(FX_APPEND);
}
static void test_commit_overwrite_every_allocation_fails_cleanly(void) {
  run_commit_sweep(FX_OVERWRITE);
}
static void test_commit_row_delta_every_allocation_fails_cleanly(void) {
  run_commit_sweep(FX_ROW_DELTA);
}

/* ---- scan with deletes -------------------------------------------------------- */

typedef struct scan_ctx {
  floe_table *table;
} scan_ctx;

static int scan_op(void *vctx, long n, floe_error *err) {
  scan_ctx *ctx = vctx;
  floe_scan *scan = NULL;
  int64_t rows = 0, sum = 0;
  FAULT_BEGIN(n);
  int rc = floe_scan_open(&scan, floe_table_metadata(ctx->table), floe_table_io(ctx->table),
                          NULL, err);
  while (rc == 0) {
    struct ArrowArray b;
    memset(&b, 0, sizeof b);
    rc = floe_scan_next(scan, &b, err);
    if (rc != 0 || b.release == NULL) break;
    const int64_t *ids = (const int64_t *)b.children[0]->buffers[1];
    for (int64_t i = 0; i < b.length; i++) sum += ids[i + b.children[0]->offset];
    rows += b.length;
    b.release(&b);
  }
  FAULT_END();
  floe_scan_free(scan);
  if (rc == 0) {
    CHECK_INT_EQ(rows, 3);   /* 2, 3, 6 */
    CHECK_INT_EQ(sum, 11);
  }
  return rc;
}

static void test_scan_with_deletes_every_allocation_fails_cleanly(void) {
  fx_env env;
  floe_error err = {0};
  scan_ctx ctx = {NULL};
  REQUIRE(fx_open(&env, FX_HADOOP, "alloc_scan", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &ctx.table, &err), &err);
  REQUIRE_OK(fx_run_op(&env, ctx.table, FX_ROW_DELTA, &err), &err);
  sweep s;
  run_sweep("scan with position deletes", scan_op, &ctx, &s);
  floe_table_free(ctx.table);
  fx_close(&env);
}

int main(void) {
  RUN(test_parquet_write_every_allocation_fails_cleanly);
  RUN(test_manifest_write_and_read_every_allocation_fails_cleanly);
  RUN(test_commit_append_every_allocation_fails_cleanly);
  RUN(test_commit_overwrite_every_allocation_fails_cleanly);
  RUN(test_commit_row_delta_every_allocation_fails_cleanly);
  RUN(test_scan_with_deletes_every_allocation_fails_cleanly);
  return test_report();
}
