/*
 * tests/unit/test_orphans: orphan files (floe/maintain.h) and `floe
 * maintain orphans`, on the hadoop catalog and the SQL catalog (SQLite).
 *
 * Orphans are made the way production makes them: commits that fail
 * under an injected I/O fault (ENOSPC on the last write of the metadata
 * file, EIO on the last fsync) after their data files, manifests and
 * manifest list were written, plus a stray temporary file. The test
 * records every file under the table before the failures and after; the
 * listing must be exactly the difference. Then --delete must remove
 * exactly those files and leave every reachable file untouched (same
 * size and mtime), the scan must read the same rows, and the failed
 * operation retried must succeed. The age guard is checked with a file
 * whose mtime is newer than the threshold: listed as kept, never removed.
 * The command is exercised in-process (src/cli/cmd_maintain.c is compiled
 * into this test) with its output captured.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/time.h>

#include "faults_test_support.h"
#include "test.h"

/* The command, compiled in (the CLI is not part of the library). */
#include "cli/args.c"
#include "cli/cmd_maintain.c"

static void set_mtime_ago(const char *path, int64_t ago_ms) {
  struct timespec ts[2];
  int64_t t = fx_now_ms() - ago_ms;
  ts[0].tv_sec = ts[1].tv_sec = (time_t)(t / 1000);
  ts[0].tv_nsec = ts[1].tv_nsec = (long)(t % 1000) * 1000000;
  utimensat(AT_FDCWD, path, ts, 0);
}

/* Ages every file under dir by one hour (so older_than 30m selects it). */
static void age_tree(const char *dir) {
  fx_files all = {0};
  fx_files_walk(dir, &all, false);
  for (size_t i = 0; i < all.n; i++) set_mtime_ago(all.items[i], 3600 * 1000);
  fx_files_free(&all);
}

/* Fails the last call of `op` that an operation makes: learns the count
 * with a fault that never fires, on a scratch table. */
static long count_calls(fx_env *env, const char *scratch, fx_op op,
                        floe_io_fault_op fault_op) {
  floe_error err = {0};
  floe_table *t = NULL;
  long calls = -1;
  if (fx_create_table(env, scratch, &t, &err) != 0) return -1;
  floe_io_fault never = {fault_op, LONG_MAX, EIO, 0};
  floe_io_set_fault(fx_io(env), &never, &err);
  if (fx_run_op(env, t, op, &err) == 0) floe_io_fault_calls(fx_io(env), &calls, &err);
  floe_io_set_fault(fx_io(env), NULL, &err);
  floe_table_free(t);
  return calls;
}

static void check_clean_table_has_no_orphans(fx_kind kind) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, kind, "orphans_clean", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  REQUIRE_OK(fx_run_op(&env, t, FX_ROW_DELTA, &err), &err);
  floe_maintain_orphan_options o;
  floe_maintain_orphan_options_init(&o);
  o.older_than_ms = 0;
  o.now_ms = fx_now_ms() + 1000;
  floe_maintain_orphan_list list = {0};
  CHECK_OK(floe_maintain_orphans(t, &o, &list, &err), &err);
  CHECK_INT_EQ(list.n_files, 0);
  /* Everything on disk is reachable: 2 data files + 1 delete file, 3
   * manifests (base, delta data, delta deletes), 2 manifest lists, and the
   * metadata files (create, append, row delta) plus hadoop's hint. */
  fx_files all = {0};
  char loc[2048];
  snprintf(loc, sizeof loc, "%s/db/t", env.warehouse);
  fx_files_walk(loc, &all, false);
  CHECK_INT_EQ(list.n_reachable, all.n);
  CHECK_INT_EQ(all.n, kind == FX_HADOOP ? 12 : 11);
  char **paths = NULL;
  size_t n = 0;
  CHECK_OK(floe_maintain_reachable_files(t, &paths, &n, &err), &err);
  /* The reachable set also holds the hint name on SQL (absent there). */
  CHECK_INT_EQ(n, 12);
  floe_maintain_paths_free(paths, n);
  fx_files_free(&all);
  floe_maintain_orphan_list_reset(&list);
  floe_table_free(t);
  fx_close(&env);
}

static void test_clean_table_has_no_orphans_hadoop(void) {
  check_clean_table_has_no_orphans(FX_HADOOP);
}
static void test_clean_table_has_no_orphans_sqlite(void) {
  check_clean_table_has_no_orphans(FX_SQLITE);
}

static void check_failed_commits_leave_exactly_listed_orphans(fx_kind kind) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  char loc[2048];
  REQUIRE(fx_open(&env, kind, "orphans_failed", 0, 0, &err));
  long writes = count_calls(&env, "probe_w", FX_ROW_DELTA, FLOE_IO_FAULT_WRITE);
  long fsyncs = count_calls(&env, "probe_f", FX_ROW_DELTA, FLOE_IO_FAULT_FSYNC);
  REQUIRE(writes > 3 && fsyncs > 3);
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  snprintf(loc, sizeof loc, "%s/db/t", env.warehouse);
  fx_files before = {0}, before_stat = {0};
  fx_files_walk(loc, &before, false);

  /* Two failed attempts of the row delta: ENOSPC on its last write (the
   * metadata file; on hadoop the hint comes after it but a failed hint
   * does not fail the commit, so fail the one before), EIO on the
   * fsync before the publish. */
  long nth_write = kind == FX_HADOOP ? writes - 1 : writes;
  floe_io_fault f1 = {FLOE_IO_FAULT_WRITE, nth_write, ENOSPC, 0};
  floe_io_set_fault(fx_io(&env), &f1, &err);
  int rc = fx_run_op(&env, t, FX_ROW_DELTA, &err);
  floe_io_set_fault(fx_io(&env), NULL, NULL);
  CHECK(rc != 0);
  CHECK(strstr(err.message, strerror(ENOSPC)) != NULL);
  floe_table_free(t);
  t = NULL;
  floe_catalog_ident ident = {"db", "t"};
  REQUIRE_OK(floe_table_load(env.cat, ident, &t, &err), &err);
  floe_io_fault f2 = {FLOE_IO_FAULT_FSYNC, 1, EIO, 0};
  /* The first fsync of a write is the data file's: fail a later one, the
   * manifest list's, so that data and manifests remain. */
  f2.nth = 4;
  floe_io_set_fault(fx_io(&env), &f2, &err);
  rc = fx_run_op(&env, t, FX_ROW_DELTA, &err);
  floe_io_set_fault(fx_io(&env), NULL, NULL);
  CHECK(rc != 0);
  CHECK(strstr(err.message, strerror(EIO)) != NULL);
  floe_table_free(t);
  t = NULL;
  REQUIRE_OK(floe_table_load(env.cat, ident, &t, &err), &err);

  /* A temporary file of an interrupted atomic write. */
  char stray[2200];
  snprintf(stray, sizeof stray, "%s/metadata/.v9.metadata.json.1234.tmp", loc);
  FILE *sf = fopen(stray, "w");
  REQUIRE(sf != NULL);
  fputs("{", sf);
  fclose(sf);

  fx_files after = {0};
  fx_files_walk(loc, &after, false);
  char *expected = fx_files_added(&before, &after);
  CHECK(expected[0] != '\0');
  /* The orphans include data files, manifests and the temp file. */
  CHECK(strstr(expected, ".parquet") != NULL);
  CHECK(strstr(expected, "-m0.avro") != NULL);
  CHECK(strstr(expected, ".tmp") != NULL);

  /* Age everything, then write one more orphan now: a running writer's. */
  age_tree(loc);
  char fresh[2200];
  snprintf(fresh, sizeof fresh, "%s/data/00099-running-writer.parquet", loc);
  sf = fopen(fresh, "w");
  REQUIRE(sf != NULL);
  fputs("PAR1", sf);
  fclose(sf);
  fx_files_walk(loc, &before_stat, true);

  floe_maintain_orphan_options o;
  floe_maintain_orphan_options_init(&o);
  o.older_than_ms = 30 * 60 * 1000;
  floe_maintain_orphan_list list = {0};
  REQUIRE_OK(floe_maintain_orphans(t, &o, &list, &err), &err);
  char *listed = fx_orphan_paths(&list);
  CHECK_STR_EQ(listed, expected);
  CHECK_INT_EQ(list.n_too_new, 1);
  CHECK_INT_EQ(list.too_new_bytes, 4);
  CHECK_INT_EQ(list.n_reachable, before.n);
  uint64_t bytes = 0;
  for (size_t i = 0; i < list.n_files; i++) {
    struct stat st;
    CHECK(stat(list.files[i].path, &st) == 0);
    CHECK_INT_EQ(list.files[i].size, st.st_size);
    bytes += (uint64_t)st.st_size;
    CHECK(!list.files[i].deleted);
    if (strstr(list.files[i].path, ".tmp") != NULL)
      CHECK_STR_EQ(floe_maintain_file_kind_name(list.files[i].kind), "temp");
    if (strstr(list.files[i].path, "/snap-") != NULL)
      CHECK_STR_EQ(floe_maintain_file_kind_name(list.files[i].kind), "manifest-list");
  }
  CHECK_INT_EQ(list.total_bytes, bytes);
  /* A dry run touched nothing. */
  fx_files same = {0};
  fx_files_walk(loc, &same, true);
  CHECK_INT_EQ(same.n, before_stat.n);
  fx_files_free(&same);

  /* --delete: exactly the listed files go. */
  o.delete_files = true;
  floe_maintain_orphan_list deleted = {0};
  REQUIRE_OK(floe_maintain_orphans(t, &o, &deleted, &err), &err);
  char *deleted_paths = fx_orphan_paths(&deleted);
  CHECK_STR_EQ(deleted_paths, expected);
  CHECK_INT_EQ(deleted.n_deleted, list.n_files);
  CHECK_INT_EQ(deleted.deleted_bytes, list.total_bytes);
  fx_files remaining = {0};
  fx_files_walk(loc, &remaining, true);
  char *gone = fx_files_added(&remaining, &before_stat);
  /* What disappeared (as "path size mtime" lines) is exactly the orphans. */
  size_t n_gone = 0;
  for (char *p = gone; *p; p++) n_gone += *p == '\n';
  if (gone[0]) n_gone++;
  CHECK_INT_EQ(n_gone, list.n_files);
  char *appeared = fx_files_added(&before_stat, &remaining);
  CHECK_STR_EQ(appeared, ""); /* every kept file has its old size and mtime */
  CHECK(access(fresh, F_OK) == 0);

  /* The table reads as before, and the operation retried succeeds. */
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, fx_base_rows);
  free(rows);
  CHECK_OK(fx_run_op(&env, t, FX_ROW_DELTA, &err), &err);
  rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, fx_expected_rows[FX_ROW_DELTA]);
  free(rows);

  free(appeared);
  free(gone);
  free(deleted_paths);
  free(listed);
  free(expected);
  fx_files_free(&remaining);
  fx_files_free(&after);
  fx_files_free(&before);
  fx_files_free(&before_stat);
  floe_maintain_orphan_list_reset(&deleted);
  floe_maintain_orphan_list_reset(&list);
  floe_table_free(t);
  fx_close(&env);
}

static void test_failed_commits_leave_exactly_listed_orphans_hadoop(void) {
  check_failed_commits_leave_exactly_listed_orphans(FX_HADOOP);
}
static void test_failed_commits_leave_exactly_listed_orphans_sqlite(void) {
  check_failed_commits_leave_exactly_listed_orphans(FX_SQLITE);
}

/* Metadata files the metadata-log no longer lists are orphans; those it
 * lists are kept. */
static void test_metadata_beyond_the_log_is_orphaned(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "orphans_metalog", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  /* Keep one previous metadata file in the log from now on. */
  floe_iceberg_property p = {"write.metadata.previous-versions-max", "1"};
  REQUIRE_OK(floe_table_set_properties(t, &p, 1, &err), &err);
  REQUIRE_OK(fx_run_op(&env, t, FX_APPEND, &err), &err);
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  floe_maintain_orphan_options o;
  floe_maintain_orphan_options_init(&o);
  o.older_than_ms = 0;
  o.now_ms = fx_now_ms() + 1000;
  floe_maintain_orphan_list list = {0};
  REQUIRE_OK(floe_maintain_orphans(t, &o, &list, &err), &err);
  /* 4 metadata files exist (create, append, properties, append). */
  size_t n_metadata = 0;
  for (size_t i = 0; i < list.n_files; i++) {
    CHECK_STR_EQ(floe_maintain_file_kind_name(list.files[i].kind), "metadata");
    n_metadata++;
  }
  CHECK_INT_EQ(n_metadata, (size_t)(3 - md->n_metadata_log));
  for (size_t i = 0; i < list.n_files; i++) {
    CHECK(strcmp(list.files[i].path, floe_table_metadata_location(t)) != 0);
    for (int32_t j = 0; j < md->n_metadata_log; j++)
      CHECK(strstr(list.files[i].path, strrchr(md->metadata_log[j].metadata_file, '/')) == NULL);
  }
  floe_maintain_orphan_list_reset(&list);
  floe_table_free(t);
  fx_close(&env);
}

/* An unreadable manifest makes the reachable set incomplete: refuse. */
static void test_unreadable_manifest_refuses_to_list_or_delete(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_HADOOP, "orphans_missing", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  REQUIRE(files.n == 1);
  char manifest[2048];
  snprintf(manifest, sizeof manifest, "%s", files.files[0].manifest_path);
  floe_table_files_reset(&files);
  const char *m = floe_io_local_path(manifest);
  REQUIRE(m != NULL && unlink(m) == 0);
  char stray[2200];
  snprintf(stray, sizeof stray, "%s/db/t/data/orphan.parquet", env.warehouse);
  FILE *sf = fopen(stray, "w");
  REQUIRE(sf != NULL);
  fclose(sf);
  set_mtime_ago(stray, 3600 * 1000);
  floe_maintain_orphan_options o;
  floe_maintain_orphan_options_init(&o);
  o.older_than_ms = 0;
  o.delete_files = true;
  floe_maintain_orphan_list list = {0};
  int rc = floe_maintain_orphans(t, &o, &list, &err);
  CHECK_INT_EQ(rc, FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "orphan files") != NULL);
  CHECK(strstr(err.message, m) != NULL);
  CHECK_INT_EQ(list.n_files, 0);
  CHECK(access(stray, F_OK) == 0); /* nothing deleted */
  floe_maintain_orphan_list_reset(&list);
  floe_table_free(t);
  fx_close(&env);
}

/* A commit that lands between the listing and the deletion: its new files
 * look orphaned to the stale listing (the age guard is off here), so the
 * deletion must notice the moved pointer and delete nothing. */
static void test_commit_during_listing_cancels_deletion(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *stale = NULL, *writer = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "orphans_race", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &stale, &err), &err);
  floe_catalog_ident ident = {"db", "t"};
  REQUIRE_OK(floe_table_load(env.cat, ident, &writer, &err), &err);
  REQUIRE_OK(fx_run_op(&env, writer, FX_APPEND, &err), &err);
  floe_maintain_orphan_options o;
  floe_maintain_orphan_options_init(&o);
  o.older_than_ms = 0;
  o.now_ms = fx_now_ms() + 1000;
  o.delete_files = true;
  floe_maintain_orphan_list list = {0};
  int rc = floe_maintain_orphans(stale, &o, &list, &err);
  CHECK_INT_EQ(rc, FLOE_ECONFLICT);
  CHECK(strstr(err.message, "nothing deleted") != NULL);
  CHECK_INT_EQ(list.n_deleted, 0);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, fx_expected_rows[FX_APPEND]);
  free(rows);
  /* Against the current metadata the same call finds nothing to delete. */
  floe_maintain_orphan_list_reset(&list);
  CHECK_OK(floe_maintain_orphans(stale, &o, &list, &err), &err);
  CHECK_INT_EQ(list.n_files, 0);
  floe_maintain_orphan_list_reset(&list);
  floe_table_free(writer);
  floe_table_free(stale);
  fx_close(&env);
}

static void test_durations_parse_with_units(void) {
  floe_error err = {0};
  int64_t ms = -1;
  CHECK_OK(floe_maintain_parse_duration("3d", &ms, &err), &err);
  CHECK_INT_EQ(ms, 3LL * 24 * 3600 * 1000);
  CHECK_OK(floe_maintain_parse_duration("12h", &ms, &err), &err);
  CHECK_INT_EQ(ms, 12LL * 3600 * 1000);
  CHECK_OK(floe_maintain_parse_duration("90m", &ms, &err), &err);
  CHECK_INT_EQ(ms, 90LL * 60 * 1000);
  CHECK_OK(floe_maintain_parse_duration("45s", &ms, &err), &err);
  CHECK_INT_EQ(ms, 45000);
  CHECK_OK(floe_maintain_parse_duration("250ms", &ms, &err), &err);
  CHECK_INT_EQ(ms, 250);
  CHECK_OK(floe_maintain_parse_duration("2w", &ms, &err), &err);
  CHECK_INT_EQ(ms, 14LL * 24 * 3600 * 1000);
  CHECK_OK(floe_maintain_parse_duration("0", &ms, &err), &err);
  CHECK_INT_EQ(ms, 0);
  CHECK_INT_EQ(floe_maintain_parse_duration("3", &ms, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "'3'") != NULL);
  CHECK_INT_EQ(floe_maintain_parse_duration("3y", &ms, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "unknown unit 'y'") != NULL);
  CHECK_INT_EQ(floe_maintain_parse_duration("-1d", &ms, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_maintain_parse_duration("99999999999999999999d", &ms, &err),
               FLOE_ERANGE);
}

/* Runs the command with stdout captured into `out`. */
static int run_cli(char *out, size_t cap, int argc, char **argv) {
  fflush(stdout);
  char path[] = "tmp/orphans_cli_out.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  int saved = dup(1);
  dup2(fd, 1);
  int code = floe_cli_maintain(argc, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  ssize_t n = pread(fd, out, cap - 1, 0);
  out[n > 0 ? n : 0] = '\0';
  close(fd);
  unlink(path);
  return code;
}

static void test_cli_lists_then_deletes(void) {
  fx_env env;
  floe_error err = {0};
  floe_table *t = NULL;
  REQUIRE(fx_open(&env, FX_SQLITE, "orphans_cli", 0, 0, &err));
  REQUIRE_OK(fx_create_table(&env, "t", &t, &err), &err);
  char old_file[2200], new_file[2200];
  snprintf(old_file, sizeof old_file, "%s/db/t/data/old-orphan.parquet", env.warehouse);
  snprintf(new_file, sizeof new_file, "%s/db/t/data/new-orphan.parquet", env.warehouse);
  FILE *f = fopen(old_file, "w");
  REQUIRE(f != NULL);
  fputs("0123456789", f);
  fclose(f);
  set_mtime_ago(old_file, 4LL * 24 * 3600 * 1000);
  f = fopen(new_file, "w");
  REQUIRE(f != NULL);
  fputs("01", f);
  fclose(f);
  set_mtime_ago(new_file, 3600 * 1000);
  char uri[1200];
  snprintf(uri, sizeof uri, "sqlite:%s", env.sql_uri);
  char *argv_dry[] = {"maintain", "orphans", "db.t", "--catalog-type", "sql",
                      "--catalog-uri", uri, "--warehouse", env.warehouse, NULL};
  char out[8192];
  CHECK_INT_EQ(run_cli(out, sizeof out, 9, argv_dry), 0);
  CHECK(strstr(out, "old-orphan.parquet") != NULL);
  CHECK(strstr(out, "new-orphan.parquet") == NULL);
  CHECK(strstr(out, "data                    10") != NULL);
  CHECK(strstr(out, "1 orphan file, 10 bytes (dry run: --delete removes them)") != NULL);
  CHECK(strstr(out, "1 newer than 3d (2 bytes)") != NULL);
  CHECK(access(old_file, F_OK) == 0);

  char *argv_del[] = {"maintain", "orphans", "db.t", "--older-than", "30m", "--delete",
                      "--catalog-type", "sql", "--catalog-uri", uri, "--warehouse",
                      env.warehouse, NULL};
  CHECK_INT_EQ(run_cli(out, sizeof out, 12, argv_del), 0);
  CHECK(strstr(out, "2 orphan files, 12 bytes; deleted 2 (12 bytes)") != NULL);
  CHECK(access(old_file, F_OK) != 0);
  CHECK(access(new_file, F_OK) != 0);
  char *rows = fx_rows(&env, "t");
  CHECK_STR_EQ(rows, fx_base_rows);
  free(rows);

  char *argv_bad[] = {"maintain", "orphans", "db.t", "--older-than", "3 days",
                      "--catalog-type", "sql", "--catalog-uri", uri, "--warehouse",
                      env.warehouse, NULL};
  CHECK_INT_EQ(run_cli(out, sizeof out, 11, argv_bad), FLOE_EXIT_USAGE);
  char *argv_missing[] = {"maintain", "orphans", NULL};
  CHECK_INT_EQ(run_cli(out, sizeof out, 2, argv_missing), FLOE_EXIT_USAGE);
  floe_table_free(t);
  fx_close(&env);
}

int main(void) {
  RUN(test_durations_parse_with_units);
  RUN(test_clean_table_has_no_orphans_hadoop);
  RUN(test_clean_table_has_no_orphans_sqlite);
  RUN(test_failed_commits_leave_exactly_listed_orphans_hadoop);
  RUN(test_failed_commits_leave_exactly_listed_orphans_sqlite);
  RUN(test_metadata_beyond_the_log_is_orphaned);
  RUN(test_unreadable_manifest_refuses_to_list_or_delete);
  RUN(test_commit_during_listing_cancels_deletion);
  RUN(test_cli_lists_then_deletes);
  return test_report();
}
