/*
 * tests/unit/test_io.c: the local file-system implementation of floe_io.
 *
 * Each test works in a fresh scratch directory and checks contents and
 * error codes byte for byte: O_EXCL creation, no-replace publishing under
 * a race of processes, atomic replace, listing, bounded reads, URI forms,
 * and the fault-injection seam (EIO / ENOSPC on the Nth write, fsync or
 * rename) leaving no partial or temporary file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe/io.h"
#include "test.h"

static char scratch[4096];

/* A fresh absolute scratch directory build/tmp/<name> (test.h's
 * test_tmpdir trips -Wformat-truncation at -O1 and above, so this file
 * keeps its own). */
static const char *scratch_dir(const char *name) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "rm -rf 'tmp/%s' && mkdir -p 'tmp/%s'", name,
           name);
  if (system(cmd) != 0) return NULL;
  snprintf(cmd, sizeof cmd, "tmp/%s", name);
  char *abs = realpath(cmd, NULL);
  if (abs == NULL) return NULL;
  snprintf(scratch, sizeof scratch, "%s", abs);
  free(abs);
  return scratch;
}

static floe_io *open_io(int durable) {
  floe_io *io = NULL;
  floe_io_local_options options = {durable};
  floe_error err = {0};
  if (floe_io_local_open(&options, &io, &err) != 0) return NULL;
  return io;
}

static int file_text_is(const char *path, const char *expected) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strcmp(buf, expected) == 0;
}

static int count_entries(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return -1;
  int n = -1;
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  return n;
}

static void test_local_path_accepts_file_uris_and_plain_paths(void) {
  CHECK_STR_EQ(floe_io_local_path("file:///tmp/a/b"), "/tmp/a/b");
  CHECK_STR_EQ(floe_io_local_path("file:/tmp/a"), "/tmp/a");
  CHECK_STR_EQ(floe_io_local_path("file://localhost/tmp/a"), "/tmp/a");
  CHECK_STR_EQ(floe_io_local_path("/abs/x"), "/abs/x");
  CHECK_STR_EQ(floe_io_local_path("rel/x"), "rel/x");
  CHECK(floe_io_local_path("s3://bucket/key") == NULL);
  CHECK(floe_io_local_path("file://otherhost/tmp") == NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_io_file *file = NULL;
  floe_error err = {0};
  CHECK_INT_EQ(floe_io_open_read(io, "s3://bucket/key", &file, &err),
               FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "s3://bucket/key") != NULL);
  floe_io_free(io);
}

static void test_create_streams_and_refuses_existing_file(void) {
  const char *dir = scratch_dir("io_create");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(1);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char path[4200], uri[4300];
  snprintf(path, sizeof path, "%s/sub/dir/data.bin", dir);
  snprintf(uri, sizeof uri, "file://%s", path);
  floe_io_writer *writer = NULL;
  REQUIRE_OK(floe_io_create(io, uri, &writer, &err), &err);
  CHECK_OK(floe_io_writer_write(writer, "hello ", 6, &err), &err);
  CHECK_OK(floe_io_writer_write(writer, "world", 5, &err), &err);
  CHECK_INT_EQ(writer->written, 11);
  CHECK_OK(floe_io_writer_close(writer, &err), &err);
  CHECK(file_text_is(path, "hello world"));

  /* A second create of the same name fails and leaves the file intact. */
  writer = NULL;
  CHECK_INT_EQ(floe_io_create(io, path, &writer, &err), FLOE_EEXISTS);
  CHECK(writer == NULL);
  CHECK(strstr(err.message, path) != NULL);
  CHECK(strstr(err.message, "File exists") != NULL);
  CHECK(file_text_is(path, "hello world"));

  /* Reading back with pread semantics. */
  floe_io_file *file = NULL;
  REQUIRE_OK(floe_io_open_read(io, uri, &file, &err), &err);
  CHECK_INT_EQ(floe_io_file_size(file), 11);
  char buf[16] = {0};
  size_t got = 0;
  CHECK_OK(floe_io_file_read_at(file, 6, buf, 10, &got, &err), &err);
  CHECK_INT_EQ(got, 5);
  CHECK(memcmp(buf, "world", 5) == 0);
  CHECK_OK(floe_io_file_read_exact(file, 0, buf, 5, &err), &err);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_INT_EQ(floe_io_file_read_exact(file, 8, buf, 5, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "wanted 5 bytes at offset 8, file has 11") != NULL);
  floe_io_file_close(file);
  floe_io_free(io);
}

static void test_writer_abort_removes_partial_file(void) {
  const char *dir = scratch_dir("io_abort");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char path[4200];
  snprintf(path, sizeof path, "%s/partial.bin", dir);
  floe_io_writer *writer = NULL;
  REQUIRE_OK(floe_io_create(io, path, &writer, &err), &err);
  CHECK_OK(floe_io_writer_write(writer, "abc", 3, &err), &err);
  floe_io_writer_abort(writer);
  CHECK(access(path, F_OK) != 0);
  CHECK_INT_EQ(count_entries(dir), 0);
  floe_io_free(io);
}

static void test_open_missing_file_names_path_and_reason(void) {
  const char *dir = scratch_dir("io_missing");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char path[4200];
  snprintf(path, sizeof path, "%s/nope.json", dir);
  floe_io_file *file = NULL;
  CHECK_INT_EQ(floe_io_open_read(io, path, &file, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, path) != NULL);
  CHECK(strstr(err.message, "No such file or directory") != NULL);
  CHECK_INT_EQ(floe_io_delete(io, path, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "delete") != NULL);
  floe_io_free(io);
}

static void test_write_atomic_replaces_and_no_replace_refuses(void) {
  const char *dir = scratch_dir("io_atomic");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(1);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char path[4200];
  snprintf(path, sizeof path, "%s/m/version-hint.text", dir);
  CHECK_OK(floe_io_write_atomic(io, path, "1", 1, 0, &err), &err);
  CHECK(file_text_is(path, "1"));
  CHECK_OK(floe_io_write_atomic(io, path, "22", 2, 0, &err), &err);
  CHECK(file_text_is(path, "22"));
  CHECK_INT_EQ(floe_io_write_atomic(io, path, "333", 3, FLOE_IO_NO_REPLACE,
                                    &err),
               FLOE_EEXISTS);
  CHECK(strstr(err.message, path) != NULL);
  CHECK(file_text_is(path, "22"));
  /* No temporary file survives either outcome. */
  char mdir[4200];
  snprintf(mdir, sizeof mdir, "%s/m", dir);
  CHECK_INT_EQ(count_entries(mdir), 1);
  char fresh[4200];
  snprintf(fresh, sizeof fresh, "%s/m/v1.metadata.json", dir);
  CHECK_OK(floe_io_write_atomic(io, fresh, "{}", 2, FLOE_IO_NO_REPLACE, &err),
           &err);
  CHECK(file_text_is(fresh, "{}"));
  CHECK_INT_EQ(count_entries(mdir), 2);
  floe_io_free(io);
}

/* Eight processes race to publish the same name: exactly one wins, the
 * file holds the winner's bytes, and no temporary file is left. */
static void test_no_replace_has_exactly_one_winner_across_processes(void) {
  const char *dir = scratch_dir("io_race");
  REQUIRE(dir != NULL);
  char path[4200];
  snprintf(path, sizeof path, "%s/v2.metadata.json", dir);
  enum { WRITERS = 8 };
  pid_t pids[WRITERS];
  for (int i = 0; i < WRITERS; i++) {
    pids[i] = fork();
    REQUIRE(pids[i] >= 0);
    if (pids[i] == 0) {
      floe_io *io = open_io(0);
      char body[32];
      int n = snprintf(body, sizeof body, "writer-%d", i);
      floe_error err = {0};
      int rc = io ? floe_io_write_atomic(io, path, body, (size_t)n,
                                         FLOE_IO_NO_REPLACE, &err)
                  : -1;
      floe_io_free(io);
      _exit(rc == 0 ? 0 : rc == FLOE_EEXISTS ? 1 : 2);
    }
  }
  int winners = 0, losers = 0, winner = -1;
  for (int i = 0; i < WRITERS; i++) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 3;
    if (code == 0) winners++, winner = i;
    if (code == 1) losers++;
  }
  CHECK_INT_EQ(winners, 1);
  CHECK_INT_EQ(losers, WRITERS - 1);
  char expected[32];
  snprintf(expected, sizeof expected, "writer-%d", winner);
  CHECK(file_text_is(path, expected));
  CHECK_INT_EQ(count_entries(dir), 1);
}

static void test_rename_noreplace_refuses_taken_name(void) {
  const char *dir = scratch_dir("io_rename");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char a[4200], b[4200], c[4200];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  snprintf(c, sizeof c, "%s/c", dir);
  CHECK_OK(floe_io_write_atomic(io, a, "A", 1, 0, &err), &err);
  CHECK_OK(floe_io_write_atomic(io, b, "B", 1, 0, &err), &err);
  CHECK_INT_EQ(floe_io_rename_noreplace(io, a, b, &err), FLOE_EEXISTS);
  CHECK(strstr(err.message, a) != NULL && strstr(err.message, b) != NULL);
  CHECK(file_text_is(a, "A") && file_text_is(b, "B"));
  CHECK_OK(floe_io_rename_noreplace(io, a, c, &err), &err);
  CHECK(access(a, F_OK) != 0);
  CHECK(file_text_is(c, "A"));
  CHECK_INT_EQ(floe_io_rename_noreplace(io, a, c, &err), FLOE_ENOTFOUND);
  floe_io_free(io);
}

static void test_list_exists_mkdirs_and_delete_tree(void) {
  const char *dir = scratch_dir("io_list");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char p[4200];
  snprintf(p, sizeof p, "%s/t/x/y", dir);
  CHECK_OK(floe_io_mkdirs(io, p, &err), &err);
  CHECK_OK(floe_io_mkdirs(io, p, &err), &err); /* idempotent */
  snprintf(p, sizeof p, "%s/t/b.txt", dir);
  CHECK_OK(floe_io_write_atomic(io, p, "bbbb", 4, 0, &err), &err);
  snprintf(p, sizeof p, "%s/t/a.txt", dir);
  CHECK_OK(floe_io_write_atomic(io, p, "aa", 2, 0, &err), &err);
  /* mkdir -p through a file fails and says so. */
  char through[4200];
  snprintf(through, sizeof through, "%s/t/a.txt/z", dir);
  CHECK(floe_io_mkdirs(io, through, &err) < 0);
  CHECK(strstr(err.message, "a.txt") != NULL);

  char t[4200];
  snprintf(t, sizeof t, "file://%s/t", dir);
  floe_io_listing listing;
  REQUIRE_OK(floe_io_list(io, t, &listing, &err), &err);
  REQUIRE(listing.count == 3);
  CHECK_STR_EQ(listing.entries[0].name, "a.txt");
  CHECK_INT_EQ(listing.entries[0].size, 2);
  CHECK_INT_EQ(listing.entries[0].is_dir, 0);
  CHECK_STR_EQ(listing.entries[1].name, "b.txt");
  CHECK_INT_EQ(listing.entries[1].size, 4);
  CHECK_STR_EQ(listing.entries[2].name, "x");
  CHECK_INT_EQ(listing.entries[2].is_dir, 1);
  floe_io_listing_reset(&listing);
  floe_io_listing_reset(NULL);

  int exists = -1, is_dir = -1;
  CHECK_OK(floe_io_exists(io, p, &exists, &is_dir, &err), &err);
  CHECK(exists == 1 && is_dir == 0);
  CHECK_OK(floe_io_exists(io, t, &exists, &is_dir, &err), &err);
  CHECK(exists == 1 && is_dir == 1);
  snprintf(p, sizeof p, "%s/t/none", dir);
  CHECK_OK(floe_io_exists(io, p, &exists, &is_dir, &err), &err);
  CHECK(exists == 0);

  CHECK_INT_EQ(floe_io_rmdir(io, t, &err), FLOE_EIO); /* not empty */
  CHECK_OK(floe_io_delete_tree(io, t, &err), &err);
  CHECK_OK(floe_io_exists(io, t, &exists, NULL, &err), &err);
  CHECK(exists == 0);
  CHECK_OK(floe_io_delete_tree(io, t, &err), &err); /* missing is fine */
  CHECK_INT_EQ(floe_io_list(io, t, &listing, &err), FLOE_ENOTFOUND);
  floe_io_free(io);
}

static void test_read_all_is_bounded_and_terminated(void) {
  const char *dir = scratch_dir("io_read_all");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char p[4200];
  snprintf(p, sizeof p, "%s/m.json", dir);
  CHECK_OK(floe_io_write_atomic(io, p, "{\"a\":1}", 7, 0, &err), &err);
  char *data = NULL;
  size_t len = 0;
  REQUIRE_OK(floe_io_read_all(io, p, 100, &data, &len, &err), &err);
  CHECK_INT_EQ(len, 7);
  CHECK_STR_EQ(data, "{\"a\":1}");
  floe_free(data);
  data = NULL;
  CHECK_INT_EQ(floe_io_read_all(io, p, 6, &data, &len, &err), FLOE_ERANGE);
  CHECK(data == NULL);
  CHECK(strstr(err.message, "7 bytes, more than the limit of 6") != NULL);
  floe_io_free(io);
}

static void test_faults_fail_nth_call_and_leave_nothing_behind(void) {
  const char *dir = scratch_dir("io_fault");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(1);
  REQUIRE(io != NULL);
  floe_error err = {0};
  char p[4200];

  /* ENOSPC on the 2nd write of a streaming file. */
  snprintf(p, sizeof p, "%s/stream.bin", dir);
  floe_io_fault fault = {FLOE_IO_FAULT_WRITE, 2, ENOSPC, 0};
  CHECK_OK(floe_io_set_fault(io, &fault, &err), &err);
  floe_io_writer *writer = NULL;
  REQUIRE_OK(floe_io_create(io, p, &writer, &err), &err);
  CHECK_OK(floe_io_writer_write(writer, "one", 3, &err), &err);
  CHECK_INT_EQ(floe_io_writer_write(writer, "two", 3, &err), FLOE_EIO);
  CHECK(strstr(err.message, "No space left on device") != NULL);
  CHECK(strstr(err.message, p) != NULL);
  floe_io_writer_abort(writer);
  CHECK(access(p, F_OK) != 0);

  /* EIO on fsync during close: the file is removed, the error reported. */
  fault = (floe_io_fault){FLOE_IO_FAULT_FSYNC, 1, EIO, 0};
  CHECK_OK(floe_io_set_fault(io, &fault, &err), &err);
  writer = NULL;
  REQUIRE_OK(floe_io_create(io, p, &writer, &err), &err);
  CHECK_OK(floe_io_writer_write(writer, "data", 4, &err), &err);
  CHECK_INT_EQ(floe_io_writer_close(writer, &err), FLOE_EIO);
  CHECK(strstr(err.message, "fsync") != NULL);
  CHECK(strstr(err.message, "Input/output error") != NULL);
  CHECK(access(p, F_OK) != 0);

  /* EIO on the publishing rename of an atomic write: the old contents stay
   * and no temporary file is left. */
  snprintf(p, sizeof p, "%s/hint", dir);
  CHECK_OK(floe_io_set_fault(io, NULL, &err), &err);
  CHECK_OK(floe_io_write_atomic(io, p, "old", 3, 0, &err), &err);
  fault = (floe_io_fault){FLOE_IO_FAULT_RENAME, 1, EIO, 0};
  CHECK_OK(floe_io_set_fault(io, &fault, &err), &err);
  CHECK_INT_EQ(floe_io_write_atomic(io, p, "new", 3, 0, &err), FLOE_EIO);
  CHECK(file_text_is(p, "old"));
  /* The fault fired once: the next rename succeeds. */
  CHECK_OK(floe_io_write_atomic(io, p, "new", 3, 0, &err), &err);
  CHECK(file_text_is(p, "new"));

  /* A sticky ENOSPC on writes fails every write from the first on. */
  fault = (floe_io_fault){FLOE_IO_FAULT_WRITE, 1, ENOSPC, 1};
  CHECK_OK(floe_io_set_fault(io, &fault, &err), &err);
  CHECK_INT_EQ(floe_io_write_atomic(io, p, "x", 1, 0, &err), FLOE_EIO);
  CHECK_INT_EQ(floe_io_write_atomic(io, p, "y", 1, 0, &err), FLOE_EIO);
  CHECK(file_text_is(p, "new"));
  CHECK_OK(floe_io_set_fault(io, NULL, &err), &err);
  CHECK_INT_EQ(count_entries(dir), 1);
  floe_io_free(io);
}

static void test_allocation_failures_are_clean(void) {
  const char *dir = scratch_dir("io_alloc");
  REQUIRE(dir != NULL);
  floe_io *io = open_io(0);
  REQUIRE(io != NULL);
  char p[4200];
  snprintf(p, sizeof p, "%s/sub/f.txt", dir);
  int saw_enomem = 0, succeeded = 0;
  for (long n = 1; n < 40 && !succeeded; n++) {
    floe_error err = {0};
    floe_alloc_fail_after(n);
    int rc = floe_io_write_atomic(io, p, "abc", 3, FLOE_IO_NO_REPLACE, &err);
    floe_alloc_fail_after(0);
    if (rc == FLOE_ENOMEM) saw_enomem = 1;
    else if (rc == 0) succeeded = 1;
    else CHECK_INT_EQ(rc, FLOE_ENOMEM);
  }
  CHECK(saw_enomem && succeeded);
  char *data = NULL;
  floe_error err = {0};
  floe_alloc_fail_after(1);
  CHECK_INT_EQ(floe_io_read_all(io, p, 100, &data, NULL, &err), FLOE_ENOMEM);
  floe_alloc_fail_after(0);
  CHECK(file_text_is(p, "abc"));
  floe_io_free(io);
}

static void test_uuid4_is_version_4_and_unique(void) {
  char a[37], b[37];
  floe_error err = {0};
  CHECK_OK(floe_io_uuid4(a, &err), &err);
  CHECK_OK(floe_io_uuid4(b, &err), &err);
  CHECK_INT_EQ(strlen(a), 36);
  CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
  CHECK(a[14] == '4');
  CHECK(strchr("89ab", a[19]) != NULL);
  CHECK(strcmp(a, b) != 0);
}

int main(void) {
  RUN(test_local_path_accepts_file_uris_and_plain_paths);
  RUN(test_create_streams_and_refuses_existing_file);
  RUN(test_writer_abort_removes_partial_file);
  RUN(test_open_missing_file_names_path_and_reason);
  RUN(test_write_atomic_replaces_and_no_replace_refuses);
  RUN(test_no_replace_has_exactly_one_winner_across_processes);
  RUN(test_rename_noreplace_refuses_taken_name);
  RUN(test_list_exists_mkdirs_and_delete_tree);
  RUN(test_read_all_is_bounded_and_terminated);
  RUN(test_faults_fail_nth_call_and_leave_nothing_behind);
  RUN(test_allocation_failures_are_clean);
  RUN(test_uuid4_is_version_4_and_unique);
  return test_report();
}
