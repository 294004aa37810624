/*
 * tests/unit/test_maintain: table maintenance (floe/maintain.h):
 * compaction, equality-delete conversion, manifest rewrite and snapshot
 * expiry on real tables in a SQLite SQL catalog, and their races with
 * other writers.
 *
 * Every test checks the rows a fresh scan reads against the rows the
 * table held before maintenance (fx_rows), and the files the maintained
 * snapshot lists. The races run the maintenance in a forked child paused
 * at its commit (FLOE_PAUSE_AT=maintain_before_commit) while the parent
 * commits another writer's position delete, in both orders: the delete
 * landing first must make the compaction redo its group (the deleted row
 * stays deleted), the compaction landing first must make the delete's
 * commit fail with a conflict (its referenced data file is gone) rather
 * than apply to nothing.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/debug.h"
#include "iceberg/table_internal.h"
#include "faults_test_support.h"
#include "test.h"

static int count_files(floe_table *t, floe_iceberg_content content) {
  floe_table_files files = {0};
  floe_error err = {0};
  if (floe_table_files_read(t, NULL, &files, &err) != 0) return -1;
  int n = 0;
  for (int32_t i = 0; i < files.n; i++) n += files.files[i].file.content == content;
  floe_table_files_reset(&files);
  return n;
}

/* db.<name> with rows 1..3, 4..5 appended, then a row delta adding 6 and
 * deleting row 0 of the first data file listed (the 4..5 file: id 4):
 * "1|a;2|b;3|c;5|e;6|f". */
static int make_table(fx_env *env, const char *name, floe_table **t, floe_error *err) {
  int rc = fx_create_table(env, name, t, err);
  if (rc == 0) rc = fx_run_op(env, *t, FX_APPEND, err);
  if (rc == 0) rc = fx_run_op(env, *t, FX_ROW_DELTA, err);
  return rc;
}

static const char *const expected_rows = "1|a;2|b;3|c;5|e;6|f";

static void test_compact_applies_deletes_and_drops_them(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_compact", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_DATA), 3);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_POSITION_DELETES), 1);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.groups, 1);
  CHECK_INT_EQ(r.groups_committed, 1);
  CHECK_INT_EQ(r.files_rewritten, 3);
  CHECK_INT_EQ(r.files_written, 1);
  CHECK_INT_EQ(r.delete_files_removed, 1);
  CHECK_INT_EQ(r.rows_rewritten, 5);
  CHECK_INT_EQ(r.data_files_before, 3);
  CHECK_INT_EQ(r.data_files_after, 1);
  CHECK_INT_EQ(r.delete_files_after, 0);
  CHECK_INT_EQ(r.commits, 1);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_DATA), 1);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_POSITION_DELETES), 0);
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(t);
  CHECK_STR_EQ(s->operation, "replace");
  CHECK_STR_EQ(floe_iceberg_snapshot_summary(s, "floe.maintenance"), "compact");
  CHECK_STR_EQ(floe_iceberg_snapshot_summary(s, "total-records"), "5");
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, expected_rows);
  free(rows);
  /* Nothing left to do: a second run plans no group and commits nothing. */
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.groups, 0);
  CHECK_INT_EQ(r.commits, 0);
  floe_table_free(t);
  fx_close(&env);
}

static void test_dry_run_writes_nothing_and_predicts_the_run(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_dry", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  char loc[2048];
  snprintf(loc, sizeof loc, "%s/db/t", env.warehouse);
  fx_files before = {0}, after = {0};
  fx_files_walk(loc, &before, true);
  char *metadata = strdup(floe_table_metadata_location(t));
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = o.rewrite_manifests = o.expire_snapshots = o.convert_equality_deletes = true;
  o.older_than_ms = 0;
  o.dry_run = true;
  floe_maintain_report dry;
  memset(&dry, 0, sizeof dry);
  REQUIRE_OK(floe_maintain_run(t, &o, &dry, &err), &err);
  fx_files_walk(loc, &after, true);
  CHECK_INT_EQ(after.n, before.n);
  for (size_t i = 0; i < before.n && i < after.n; i++) CHECK_STR_EQ(after.items[i], before.items[i]);
  REQUIRE_OK(floe_table_refresh(t, &err), &err);
  CHECK_STR_EQ(floe_table_metadata_location(t), metadata);
  CHECK_INT_EQ(dry.commits, 0);
  CHECK_INT_EQ(dry.files_rewritten, 3);
  CHECK_INT_EQ(dry.delete_files_removed, 1);
  CHECK(dry.manifests_after < dry.manifests_before);
  o.dry_run = false;
  floe_maintain_report real;
  memset(&real, 0, sizeof real);
  REQUIRE_OK(floe_maintain_run(t, &o, &real, &err), &err);
  CHECK_INT_EQ(real.files_rewritten, dry.files_rewritten);
  CHECK_INT_EQ(real.delete_files_removed, dry.delete_files_removed);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, expected_rows);
  free(rows);
  free(metadata);
  fx_files_free(&before);
  fx_files_free(&after);
  floe_table_free(t);
  fx_close(&env);
}

/* An equality delete of id = `id` committed as another writer would. */
static int commit_equality_delete(fx_env *env, floe_table *t, int64_t id, floe_error *err) {
  struct ArrowSchema s;
  struct ArrowArray b;
  floe_table_writer_options o;
  char prefix[64];
  floe_equality_delete_writer *w = NULL;
  floe_content_file_list list = {0};
  floe_table_op *op = NULL;
  int32_t ids[] = {1};
  int rc = fx_writer_options(env, t, &o, prefix, sizeof prefix, err);
  if (rc == 0) rc = fx_batch(&id, 1, &s, &b, err);
  if (rc != 0) return rc;
  rc = floe_equality_delete_writer_open(&w, &o, ids, 1, err);
  if (rc == 0) rc = floe_equality_delete_writer_write(w, &s, &b, err);
  if (rc == 0) rc = floe_equality_delete_writer_close(w, &list, err);
  if (rc == 0) rc = floe_table_op_new(&op, t, FLOE_TABLE_ROW_DELTA, err);
  for (int32_t i = 0; rc == 0 && i < list.n_files; i++)
    rc = floe_table_op_add_file(op, &list.files[i], err);
  if (rc == 0) rc = floe_table_op_commit(op, NULL, err);
  floe_table_op_free(op);
  floe_equality_delete_writer_free(w);
  floe_content_file_list_free(&list);
  floe_arrow_array_release(&b);
  floe_arrow_schema_release(&s);
  return rc;
}

static void test_equality_deletes_become_position_deletes(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_convert", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  REQUIRE_OK(commit_equality_delete(&env, t, 2, &err), &err);
  /* Added after the delete: a later sequence number, so it survives. */
  REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  char *before = fx_rows(&env, "t");
  CHECK_STR_EQ(before, "1|a;3|c;4|d;5|e;5|e;6|f");
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_EQUALITY_DELETES), 1);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.convert_equality_deletes = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.eq_delete_files_removed, 1);
  CHECK_INT_EQ(r.eq_data_files, 3); /* the three files older than the delete */
  CHECK_INT_EQ(r.eq_deleted_rows, 1);
  CHECK_INT_EQ(r.pos_delete_files_added, 1);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_EQUALITY_DELETES), 0);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_POSITION_DELETES), 2);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  /* Compaction then folds every delete into the data. */
  memset(&r, 0, sizeof r);
  o.convert_equality_deletes = false;
  o.compact = true;
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_POSITION_DELETES), 0);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_DATA), 1);
  free(after);
  after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(before);
  free(after);
  floe_table_free(t);
  fx_close(&env);
}

static void test_rewrite_manifests_keeps_files_and_totals(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_manifests", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  for (int i = 0; i < 3; i++) REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  char *before = fx_rows(&env, "t");
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(t);
  char total[32];
  snprintf(total, sizeof total, "%s", floe_iceberg_snapshot_summary(s, "total-records"));
  int64_t seq_before = s->sequence_number;
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.rewrite_manifests = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.manifests_before, 7); /* 6 data manifests, 1 delete manifest */
  CHECK_INT_EQ(r.manifests_after, 2);  /* one per content */
  s = floe_table_current_snapshot(t);
  CHECK_STR_EQ(s->operation, "replace");
  CHECK_STR_EQ(floe_iceberg_snapshot_summary(s, "total-records"), total);
  CHECK_STR_EQ(floe_iceberg_snapshot_summary(s, "manifests-created"), "2");
  CHECK_INT_EQ(s->sequence_number, seq_before + 1);
  floe_manifest_list *list = NULL;
  REQUIRE_OK(floe_manifest_list_read(floe_table_io(t), s->manifest_list, &list, &err), &err);
  CHECK_INT_EQ(list->n_files, 2);
  floe_manifest_list_free(list);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(before);
  free(after);
  floe_table_free(t);
  fx_close(&env);
}

static int append_with_summary(fx_env *env, floe_table *t, const char *high, floe_error *err) {
  static const int64_t ids[] = {7};
  floe_content_file_list data = {0};
  floe_iceberg_property summary[] = {{"floe.source-table", "src"},
                                     {"floe.batch-sk.high", (char *)high}};
  int rc = fx_write_data(env, t, ids, 1, &data, err);
  if (rc == 0) rc = floe_table_append(t, data.files, data.n_files, summary, 2, NULL, err);
  floe_content_file_list_free(&data);
  return rc;
}

/* Every live file of every snapshot the table keeps exists (and its
 * manifest list); returns how many files are on disk under its location. */
static size_t check_reachable_exist(floe_table *t, const char *loc) {
  floe_error err = {0};
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  for (int32_t s = 0; s < md->n_snapshots; s++) {
    if (access(md->snapshots[s].manifest_list, F_OK) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "manifest list %s is missing", md->snapshots[s].manifest_list);
    floe_table_files files = {0};
    CHECK_OK(floe_table_files_read(t, &md->snapshots[s], &files, &err), &err);
    for (int32_t i = 0; i < files.n; i++)
      if (access(files.files[i].file.file_path, F_OK) != 0)
        TEST_FAIL_AT(__FILE__, __LINE__, "live %s is missing", files.files[i].file.file_path);
    floe_table_files_reset(&files);
  }
  fx_files all = {0};
  fx_files_walk(loc, &all, false);
  size_t count = all.n;
  fx_files_free(&all);
  return count;
}

static void test_expire_keeps_floe_history_and_deletes_only_unreachable(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_expire", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  REQUIRE_OK(append_with_summary(&env, t, "1", &err), &err);
  REQUIRE_OK(append_with_summary(&env, t, "2", &err), &err);
  char loc[2048];
  snprintf(loc, sizeof loc, "%s/db/t", env.warehouse);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  o.expire_snapshots = true;
  o.older_than_ms = 0;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  /* create-append, append, row delta, load 1 expire; load 2 (the newest
   * floe commit) and the compaction stay. */
  CHECK_INT_EQ(r.snapshots_before, 6);
  CHECK_INT_EQ(r.snapshots_expired, 4);
  CHECK_INT_EQ(r.snapshots_kept_for_floe, 1);
  CHECK_INT_EQ(floe_table_metadata(t)->n_snapshots, 2);
  CHECK_INT_EQ(r.manifest_lists_deleted, 4);
  CHECK_INT_EQ(r.delete_files_deleted, 0); /* still reached by load 2 */
  check_reachable_exist(t, loc);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, "1|a;2|b;3|c;5|e;6|f;7|g;7|g");
  free(rows);

  /* A later load moves floe's newest commit: now the compaction's
   * inputs are reached by nothing and go. */
  REQUIRE_OK(append_with_summary(&env, t, "3", &err), &err);
  memset(&r, 0, sizeof r);
  o.compact = false;
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_expired, 2);
  CHECK_INT_EQ(r.snapshots_kept_for_floe, 0);
  CHECK_INT_EQ(r.data_files_deleted, 5);
  CHECK_INT_EQ(r.delete_files_deleted, 1);
  CHECK(r.manifests_deleted > 0);
  CHECK_INT_EQ(floe_table_metadata(t)->n_snapshots, 1);
  size_t on_disk = check_reachable_exist(t, loc);
  floe_maintain_orphan_options oo;
  floe_maintain_orphan_options_init(&oo);
  oo.older_than_ms = 0;
  oo.now_ms = fx_now_ms() + 1000;
  floe_maintain_orphan_list orphans = {0};
  CHECK_OK(floe_maintain_orphans(t, &oo, &orphans, &err), &err);
  /* No data, delete file, manifest or list is left behind: only metadata
   * files that fell out of the log would be (none here). */
  for (size_t i = 0; i < orphans.n_files; i++)
    CHECK(orphans.files[i].kind == FLOE_MAINTAIN_METADATA);
  CHECK_INT_EQ(orphans.n_reachable + orphans.n_files, on_disk);
  floe_maintain_orphan_list_reset(&orphans);
  rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, "1|a;2|b;3|c;5|e;6|f;7|g;7|g;7|g");
  free(rows);
  floe_table_free(t);
  fx_close(&env);
}

/* With floe's committed watermark property (docs/replicate.md) the load
 * snapshots need not stay: everything but the current snapshot expires. */
static void test_expire_drops_load_snapshots_when_the_watermark_property_is_set(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_property", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  REQUIRE_OK(append_with_summary(&env, t, "1", &err), &err);
  floe_iceberg_property wm = {"floe.watermark.src", "{\"batch-sk-low\": 0, \"batch-sk-high\": 1}"};
  REQUIRE_OK(floe_table_set_properties(t, &wm, 1, &err), &err);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  o.expire_snapshots = true;
  o.older_than_ms = 0;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_expired, 4);
  CHECK_INT_EQ(r.snapshots_kept_for_floe, 0);
  CHECK_INT_EQ(r.data_files_deleted, 4);
  CHECK_INT_EQ(r.delete_files_deleted, 1);
  CHECK_INT_EQ(floe_table_metadata(t)->n_snapshots, 1);
  CHECK(floe_table_property(t, "floe.watermark.src") != NULL);
  char loc[2048];
  snprintf(loc, sizeof loc, "%s/db/t", env.warehouse);
  check_reachable_exist(t, loc);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, "1|a;2|b;3|c;5|e;6|f;7|g");
  free(rows);
  floe_table_free(t);
  fx_close(&env);
}

static void test_expire_honours_retain_last_and_table_property(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_retain", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  for (int i = 0; i < 3; i++) REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.expire_snapshots = true;
  o.older_than_ms = 0;
  o.retain_last = 2;
  o.dry_run = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_before, 6);
  CHECK_INT_EQ(r.snapshots_expired, 4);
  CHECK_INT_EQ(floe_table_metadata(t)->n_snapshots, 6);
  /* A table property keeps more; the option wins over it. */
  floe_iceberg_property keep3 = {"history.expire.min-snapshots-to-keep", "3"};
  REQUIRE_OK(floe_table_set_properties(t, &keep3, 1, &err), &err);
  o.retain_last = 0;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_expired, 3);
  /* Default age (5 days): nothing is old enough. */
  o.older_than_ms = -1;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_expired, 0);
  floe_table_free(t);
  fx_close(&env);
}

/* ---- races --------------------------------------------------------------- */

/* Runs compaction of db.t in a child paused before its commit; returns
 * the child's pid. The child exits 0 on success, 3 on a conflict, 1 on
 * another error; it writes its report's counters to <dir>/report. */
static pid_t fork_paused_compaction(fx_env *env, const char *pause_file) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid != 0) return pid;
  setenv("FLOE_PAUSE_AT", "maintain_before_commit", 1);
  setenv("FLOE_PAUSE_FILE", pause_file, 1);
  floe_debug_reset();
  floe_error err = {0};
  floe_catalog *cat = NULL;
  floe_table *t = NULL;
  floe_catalog_config cfg = {0};
  cfg.type = FLOE_CATALOG_SQL;
  cfg.warehouse = env->warehouse;
  cfg.sql_uri = env->sql_uri;
  floe_catalog_ident ident = {"db", "t"};
  if (floe_catalog_open(&cfg, &cat, &err) != 0 || floe_table_load(cat, ident, &t, &err) != 0)
    _exit(1);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  int rc = floe_maintain_run(t, &o, &r, &err);
  char path[2200];
  snprintf(path, sizeof path, "%s/report", env->dir);
  FILE *f = fopen(path, "w");
  if (f != NULL) {
    fprintf(f, "%d %d %d %d\n", (int)r.groups_committed, (int)r.groups_conflicted,
            (int)r.groups_redone, rc);
    fclose(f);
  }
  _exit(rc == 0 ? 0 : rc == FLOE_ECONFLICT ? 3 : 1);
}

/* The path of the live data file holding `rows` rows. */
static int data_file_with_rows(floe_table *t, int64_t rows, char *out, size_t cap,
                               floe_error *err) {
  floe_table_files files = {0};
  int rc = floe_table_files_read(t, NULL, &files, err);
  if (rc != 0) return rc;
  rc = FLOE_ENOTFOUND;
  for (int32_t i = 0; i < files.n && rc != 0; i++)
    if (files.files[i].file.content == FLOE_CONTENT_DATA && files.files[i].file.record_count == rows) {
      snprintf(out, cap, "%s", files.files[i].file.file_path);
      rc = FLOE_OK;
    }
  floe_table_files_reset(&files);
  if (rc != 0) floe_error_set(err, rc, "no data file of %lld rows", (long long)rows);
  return rc;
}

static bool wait_for(const char *path) {
  for (int i = 0; i < 1500; i++) {
    if (access(path, F_OK) == 0) return true;
    usleep(20000);
  }
  return false;
}

/* Another writer's position delete of row `pos` of the base data file
 * (ids 1..3), built on `t`'s current state, committed when `commit`. */
static int delete_base_row(fx_env *env, floe_table *t, const char *base_file, int64_t pos,
                           floe_error *err) {
  floe_table_writer_options o;
  char prefix[64];
  floe_position_delete_writer *pw = NULL;
  floe_content_file_list deletes = {0};
  floe_table_op *op = NULL;
  int rc = fx_writer_options(env, t, &o, prefix, sizeof prefix, err);
  if (rc == 0) rc = floe_position_delete_writer_open(&pw, &o, err);
  if (rc == 0) rc = floe_position_delete_writer_add(pw, NULL, base_file, pos, err);
  if (rc == 0) rc = floe_position_delete_writer_close(pw, &deletes, err);
  if (rc == 0) rc = floe_table_op_new(&op, t, FLOE_TABLE_ROW_DELTA, err);
  for (int32_t i = 0; rc == 0 && i < deletes.n_files; i++)
    rc = floe_table_op_add_file(op, &deletes.files[i], err);
  if (rc == 0) rc = floe_table_op_commit(op, NULL, err);
  floe_table_op_free(op);
  floe_position_delete_writer_free(pw);
  floe_content_file_list_free(&deletes);
  return rc;
}

static void test_delete_committed_during_compaction_makes_it_redo(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_race1", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  char base_file[1024], pause_file[2200], marker[2300];
  REQUIRE_OK(data_file_with_rows(t, 3, base_file, sizeof base_file, &err), &err);
  snprintf(pause_file, sizeof pause_file, "%s/resume", env.dir);
  snprintf(marker, sizeof marker, "%s.paused", pause_file);
  pid_t pid = fork_paused_compaction(&env, pause_file);
  REQUIRE(pid > 0);
  REQUIRE(wait_for(marker));
  /* The compaction has read the live rows and is about to commit: delete
   * id 2 (row 1 of the base file) under it. */
  CHECK_OK(delete_base_row(&env, t, base_file, 1, &err), &err);
  FILE *f = fopen(pause_file, "w");
  if (f != NULL) fclose(f);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char path[2200], line[128] = "";
  snprintf(path, sizeof path, "%s/report", env.dir);
  f = fopen(path, "r");
  if (f != NULL) {
    if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
    fclose(f);
  }
  /* The first attempt conflicted; the redo (not paused: the pause fires
   * once) committed. */
  CHECK_STR_EQ(line, "1 1 1 0\n");
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, "1|a;3|c;5|e;6|f");
  free(rows);
  REQUIRE_OK(floe_table_refresh(t, &err), &err);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_DATA), 1);
  CHECK_INT_EQ(count_files(t, FLOE_CONTENT_POSITION_DELETES), 0);
  floe_table_free(t);
  fx_close(&env);
}

static void test_delete_planned_before_compaction_conflicts(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL, *writer = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_race2", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  char base_file[1024];
  REQUIRE_OK(data_file_with_rows(t, 3, base_file, sizeof base_file, &err), &err);
  floe_catalog_ident ident = {"db", "t"};
  /* The other writer loaded the table before the compaction. */
  REQUIRE_OK(floe_table_load(env.cat, ident, &writer, &err), &err);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.groups_committed, 1);
  int rc = delete_base_row(&env, writer, base_file, 1, &err);
  CHECK_INT_EQ(rc, FLOE_ECONFLICT);
  CHECK(strstr(err.message, "deleted by a concurrent commit") != NULL);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, expected_rows);
  free(rows);
  floe_table_free(writer);
  floe_table_free(t);
  fx_close(&env);
}

static void test_partial_progress_commits_per_group(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_partial", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  for (int i = 0; i < 3; i++) REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  char *before = fx_rows(&env, "t");
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  o.partial_progress = true;
  o.max_group_bytes = 1; /* every file its own group... */
  o.min_input_files = 1;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.groups, 6);
  CHECK_INT_EQ(r.groups_committed, 6);
  CHECK_INT_EQ(r.commits, 6);
  /* ...and the delete file, which applies to the base file only, went
   * with that file's group. */
  CHECK_INT_EQ(r.delete_files_removed, 1);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(before);
  free(after);
  floe_table_free(t);
  fx_close(&env);
}

/* ---- sorted compaction --------------------------------------------------- */

/* db.<name> created with the sort order id DESC NULLS LAST (order id 1),
 * holding the rows of three appends in no order: 3 1 2 | 9 7 | 8 4 5 6. */
static int make_sorted_table(fx_env *env, const char *name, floe_table **t, floe_error *err) {
  static const int64_t a[] = {3, 1, 2}, b[] = {9, 7}, c[] = {8, 4, 5, 6};
  const int64_t *batches[] = {a, b, c};
  const int sizes[] = {3, 2, 4};
  floe_iceberg_schema *schema = fx_schema();
  floe_iceberg_sort_order *order = NULL;
  floe_catalog_ident ident = {"db", name};
  int rc = floe_iceberg_sort_order_new(&order, 1, err);
  if (rc == 0)
    rc = floe_iceberg_sort_order_add_field(order, schema, "id", "identity", FLOE_SORT_DESC,
                                           FLOE_NULLS_LAST, err);
  if (rc == 0) rc = floe_table_create(env->cat, ident, schema, NULL, order, NULL, 0, NULL, t, err);
  for (int i = 0; rc == 0 && i < 3; i++) {
    floe_content_file_list data = {0};
    rc = fx_write_data(env, *t, batches[i], sizes[i], &data, err);
    if (rc == 0) rc = floe_table_append(*t, data.files, data.n_files, NULL, 0, NULL, err);
    floe_content_file_list_free(&data);
  }
  floe_iceberg_sort_order_free(order);
  floe_iceberg_schema_free(schema);
  return rc;
}

/* The ids of one data file in file order, "9,8,..."; *sort_order_id gets
 * the file's sort_order_id from the manifest (-1 when absent). */
static char *file_ids(floe_table *t, const char *path, int32_t *sort_order_id) {
  floe_error err = {0};
  floe_scan *scan = NULL;
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.data_files = &path;
  so.n_data_files = 1;
  struct ArrowSchema s;
  memset(&s, 0, sizeof s);
  floe_buf out;
  floe_buf_init(&out);
  int rc = floe_scan_open(&scan, floe_table_metadata(t), floe_table_io(t), &so, &err);
  if (rc == 0) rc = floe_scan_schema(scan, &s, &err);
  while (rc == 0) {
    struct ArrowArray b;
    memset(&b, 0, sizeof b);
    rc = floe_scan_next(scan, &b, &err);
    if (rc != 0 || b.release == NULL) break;
    floe_arrow_view v;
    floe_arrow_view_init(&v, s.children[0], b.children[0], &err);
    for (int64_t r = 0; r < b.length; r++) {
      if (out.len) floe_buf_append_byte(&out, ',');
      floe_arrow_view_format(&v, r, &out);
    }
    floe_arrow_array_release(&b);
  }
  *sort_order_id = -1;
  floe_table_files files = {0};
  if (floe_table_files_read(t, NULL, &files, &err) == 0)
    for (int32_t i = 0; i < files.n; i++)
      if (strcmp(files.files[i].file.file_path, path) == 0 && files.files[i].file.has_sort_order_id)
        *sort_order_id = files.files[i].file.sort_order_id;
  floe_table_files_reset(&files);
  floe_buf_terminate(&out);
  char *text = strdup(rc == 0 ? (char *)out.data : err.message);
  floe_buf_free(&out);
  if (s.release != NULL) floe_arrow_schema_release(&s);
  floe_scan_free(scan);
  return text;
}

static void test_compact_sorts_by_the_table_sort_order(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_sorted", 0, 0, &err));
  REQUIRE_OK(make_sorted_table(&env, "t", &t, &err), &err);
  /* An equality delete in the middle: the sorted file holds live rows. */
  REQUIRE_OK(commit_equality_delete(&env, t, 7, &err), &err);
  char *before = fx_rows(&env, "t");
  CHECK_STR_EQ(before, "1|a;2|b;3|c;4|d;5|e;6|f;8|h;9|i");
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.files_rewritten, 3);
  CHECK_INT_EQ(r.files_written, 1);
  CHECK_INT_EQ(r.sort_order_id, 1);
  CHECK_INT_EQ(r.sorted_runs, 1);
  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  CHECK_INT_EQ(files.n, 1);
  if (files.n == 1) {
    int32_t order_id = 0;
    char *ids = file_ids(t, files.files[0].file.file_path, &order_id);
    CHECK_STR_EQ(ids, "9,8,6,5,4,3,2,1");
    CHECK_INT_EQ(order_id, 1);
    free(ids);
  }
  floe_table_files_reset(&files);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(after);
  free(before);
  floe_table_free(t);
  fx_close(&env);
}

static void test_compact_sorts_each_run_when_the_buffer_is_small(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_sorted_runs", 0, 0, &err));
  REQUIRE_OK(make_sorted_table(&env, "t", &t, &err), &err);
  char *before = fx_rows(&env, "t");
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  o.sort_buffer_bytes = 1; /* every batch read is a run of its own */
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.files_rewritten, 3);
  CHECK_INT_EQ(r.sorted_runs, 3);
  CHECK_INT_EQ(r.files_written, 3);
  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  CHECK_INT_EQ(files.n, 3);
  /* Each file one input file's rows, sorted: the runs are 3 1 2, 9 7 and
   * 8 4 5 6, in whatever order the files are listed. */
  char seen[3][64] = {{0}};
  for (int32_t i = 0; i < files.n && i < 3; i++) {
    int32_t order_id = 0;
    char *ids = file_ids(t, files.files[i].file.file_path, &order_id);
    snprintf(seen[i], sizeof seen[i], "%s", ids);
    CHECK_INT_EQ(order_id, 1);
    free(ids);
  }
  qsort(seen, 3, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
  CHECK_STR_EQ(seen[0], "3,2,1");
  CHECK_STR_EQ(seen[1], "8,6,5,4");
  CHECK_STR_EQ(seen[2], "9,7");
  floe_table_files_reset(&files);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(after);
  free(before);
  floe_table_free(t);
  fx_close(&env);
}

static void test_compact_no_sort_keeps_scan_order(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_nosort", 0, 0, &err));
  REQUIRE_OK(make_sorted_table(&env, "t", &t, &err), &err);
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.compact = true;
  o.no_sort = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.files_written, 1);
  CHECK_INT_EQ(r.sort_order_id, 0);
  CHECK_INT_EQ(r.sorted_runs, 0);
  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  CHECK_INT_EQ(files.n, 1);
  if (files.n == 1) {
    int32_t order_id = -1;
    char *ids = file_ids(t, files.files[0].file.file_path, &order_id);
    CHECK(strcmp(ids, "9,8,7,6,5,4,3,2,1") != 0);
    CHECK_INT_EQ(order_id, 0);
    free(ids);
  }
  floe_table_files_reset(&files);
  floe_table_free(t);
  fx_close(&env);
}

/* ---- ref expiry ------------------------------------------------------------ */

/* Points `name` at `snapshot_id` (a tag or a branch) with max-ref-age-ms
 * `max_age` (< 0: none), committed as another writer would. */
static int set_ref(floe_table *t, const char *name, int64_t snapshot_id, bool is_tag,
                   int64_t max_age, floe_error *err) {
  floe_iceberg_metadata *md = NULL;
  int rc = floe_iceberg_metadata_copy(&md, floe_table_metadata(t), err);
  if (rc == 0) rc = floe_iceberg_metadata_set_ref(md, name, snapshot_id, is_tag, err);
  if (rc != 0) {
    floe_iceberg_metadata_free(md);
    return rc;
  }
  floe_iceberg_snapshot_ref *ref = (floe_iceberg_snapshot_ref *)floe_iceberg_metadata_ref(md, name);
  ref->has_max_ref_age_ms = max_age >= 0;
  ref->max_ref_age_ms = max_age;
  return table_commit_metadata(t, md, err);
}

static void test_expire_removes_refs_past_max_ref_age(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_refs", 0, 0, &err));
  REQUIRE_OK(make_table(&env, "t", &t, &err), &err);
  for (int i = 0; i < 2; i++) REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  REQUIRE(md->n_snapshots == 5);
  int64_t s[5];
  for (int i = 0; i < 5; i++) s[i] = md->snapshots[i].snapshot_id;
  const int64_t day = INT64_C(86400000);
  REQUIRE_OK(set_ref(t, "old-tag", s[0], true, 1, &err), &err);
  REQUIRE_OK(set_ref(t, "kept-tag", s[1], true, -1, &err), &err);
  REQUIRE_OK(set_ref(t, "old-branch", s[2], false, day, &err), &err);
  REQUIRE_OK(set_ref(t, "young-branch", s[3], false, 30 * day, &err), &err);
  char *before = fx_rows(&env, "t");
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  o.expire_snapshots = true;
  o.older_than_ms = 0;
  o.retain_last = 1;
  o.now_ms = floe_table_metadata(t)->snapshots[4].timestamp_ms + 10 * day;
  /* Dry run: the two old refs would go, and with them s0 and s2 (s1 is
   * tagged, s3 heads a young branch, s4 heads main). */
  o.dry_run = true;
  floe_maintain_report r;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.refs_expired, 2);
  CHECK_INT_EQ(r.snapshots_expired, 2);
  CHECK_INT_EQ(floe_table_metadata(t)->n_refs, 5);
  o.dry_run = false;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.refs_expired, 2);
  CHECK_INT_EQ(r.snapshots_expired, 2);
  CHECK_INT_EQ(r.commits, 1);
  REQUIRE_OK(floe_table_refresh(t, &err), &err);
  md = floe_table_metadata(t);
  CHECK_INT_EQ(md->n_refs, 3);
  CHECK(floe_iceberg_metadata_ref(md, "main") != NULL);
  CHECK(floe_iceberg_metadata_ref(md, "kept-tag") != NULL);
  CHECK(floe_iceberg_metadata_ref(md, "young-branch") != NULL);
  CHECK(floe_iceberg_metadata_ref(md, "old-tag") == NULL);
  CHECK(floe_iceberg_metadata_ref(md, "old-branch") == NULL);
  CHECK(floe_iceberg_metadata_snapshot(md, s[0]) == NULL);
  CHECK(floe_iceberg_metadata_snapshot(md, s[1]) != NULL);
  CHECK(floe_iceberg_metadata_snapshot(md, s[2]) == NULL);
  CHECK(floe_iceberg_metadata_snapshot(md, s[3]) != NULL);
  CHECK_INT_EQ(md->current_snapshot_id, s[4]);
  /* The table's history.expire.max-ref-age-ms covers refs without their
   * own: kept-tag goes (and s1 with it); young-branch's own 30 days win;
   * main never goes, however old. */
  floe_iceberg_property age = {"history.expire.max-ref-age-ms", "86400000"};
  REQUIRE_OK(floe_table_set_properties(t, &age, 1, &err), &err);
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.refs_expired, 1);
  CHECK_INT_EQ(r.snapshots_expired, 1);
  REQUIRE_OK(floe_table_refresh(t, &err), &err);
  md = floe_table_metadata(t);
  CHECK_INT_EQ(md->n_refs, 2);
  CHECK(floe_iceberg_metadata_ref(md, "kept-tag") == NULL);
  CHECK(floe_iceberg_metadata_ref(md, "main") != NULL);
  CHECK(floe_iceberg_metadata_snapshot(md, s[1]) == NULL);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(after);
  free(before);
  floe_table_free(t);
  fx_close(&env);
}

/* ---- format v3 ------------------------------------------------------------- */

static void test_v3_expire_works_and_rewrites_are_refused(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "maintain_v3", 0, 0, &err));
  floe_iceberg_schema *schema = fx_schema();
  floe_iceberg_property v3 = {"format-version", "3"};
  floe_catalog_ident ident = {"db", "t"};
  REQUIRE_OK(floe_table_create(env.cat, ident, schema, NULL, NULL, &v3, 1, NULL, &t, &err), &err);
  floe_iceberg_schema_free(schema);
  for (int i = 0; i < 3; i++) REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  REQUIRE(md->format_version == 3 && md->n_snapshots == 3);
  int64_t next_row_id = md->next_row_id;
  CHECK(md->has_next_row_id && next_row_id == 6);
  int64_t last = md->snapshots[2].snapshot_id, last_first_row = md->snapshots[2].first_row_id;
  char *before = fx_rows(&env, "t");
  CHECK_STR_EQ(before, "4|d;4|d;4|d;5|e;5|e;5|e");
  /* Every operation that writes files refuses, naming the table and the
   * format version, and writes nothing. */
  const char *metadata = floe_table_metadata_location(t);
  char *loc = strdup(metadata);
  floe_maintain_options o;
  floe_maintain_report r;
  for (int op = 0; op < 3; op++) {
    floe_maintain_options_init(&o);
    o.convert_equality_deletes = op == 0;
    o.compact = op == 1;
    o.rewrite_manifests = op == 2;
    memset(&r, 0, sizeof r);
    floe_error e = {0};
    CHECK_INT_EQ(floe_maintain_run(t, &o, &r, &e), FLOE_EUNSUPPORTED);
    CHECK(strstr(e.message, "table db.t: ") == e.message);
    CHECK(strstr(e.message, "format-version 3; floe does not write v3 tables yet") != NULL);
    CHECK_STR_EQ(floe_table_metadata_location(t), loc);
  }
  /* Expiry works: it writes only metadata, the v3 fields carried over. */
  floe_maintain_options_init(&o);
  o.expire_snapshots = true;
  o.older_than_ms = 0;
  o.retain_last = 1;
  memset(&r, 0, sizeof r);
  REQUIRE_OK(floe_maintain_run(t, &o, &r, &err), &err);
  CHECK_INT_EQ(r.snapshots_expired, 2);
  CHECK(r.manifest_lists_deleted == 2);
  REQUIRE_OK(floe_table_refresh(t, &err), &err);
  md = floe_table_metadata(t);
  CHECK_INT_EQ(md->format_version, 3);
  CHECK_INT_EQ(md->n_snapshots, 1);
  CHECK(md->has_next_row_id && md->next_row_id == next_row_id);
  CHECK(md->snapshots[0].snapshot_id == last && md->snapshots[0].has_first_row_id &&
        md->snapshots[0].first_row_id == last_first_row);
  char *after = fx_rows(&env, "t");
  CHECK_STR_EQ(after, before);
  free(after);
  free(before);
  free(loc);
  floe_table_free(t);
  fx_close(&env);
}

int main(void) {
  RUN(test_compact_applies_deletes_and_drops_them);
  RUN(test_dry_run_writes_nothing_and_predicts_the_run);
  RUN(test_equality_deletes_become_position_deletes);
  RUN(test_rewrite_manifests_keeps_files_and_totals);
  RUN(test_expire_keeps_floe_history_and_deletes_only_unreachable);
  RUN(test_expire_drops_load_snapshots_when_the_watermark_property_is_set);
  RUN(test_expire_honours_retain_last_and_table_property);
  RUN(test_delete_committed_during_compaction_makes_it_redo);
  RUN(test_delete_planned_before_compaction_conflicts);
  RUN(test_partial_progress_commits_per_group);
  RUN(test_compact_sorts_by_the_table_sort_order);
  RUN(test_compact_sorts_each_run_when_the_buffer_is_small);
  RUN(test_compact_no_sort_keeps_scan_order);
  RUN(test_expire_removes_refs_past_max_ref_age);
  RUN(test_v3_expire_works_and_rewrites_are_refused);
  return test_report();
}
