/*
 * tests/unit/test_table_concurrency.c: two processes (fork) each commit 30
 * appends to one Iceberg table at once, through each kind of catalog
 * (hadoop; sql on SQLite; sql on PostgreSQL via tests/support/pg.sh),
 * relying on floe_table_op_commit's reload-rebase-retry.
 *
 * Afterwards the test walks the parent chain from the current snapshot:
 * exactly 60 snapshots, sequence numbers 60..1 down the chain, every
 * writer's appends present once and in its order (summary floe.writer /
 * floe.index), total-records equal to the sum of every appended file's
 * rows, and the live files read from the manifests are exactly the 60.
 */
#include <inttypes.h>
#include <unistd.h>

#include "floe/table.h"
#include "test.h"
#include "catalog_test_support.h"

#define COMMITS_PER_WRITER 30
#define WRITERS 2

static const floe_catalog_ident ident = {"ns", "t"};

static int64_t rows_of(int writer, int i) { return 1 + writer * 100 + i; }

/* One writer: COMMITS_PER_WRITER appends. Returns the retries it needed
 * (>= 0) or -1 on failure. */
static int writer(const catalog_env *env, int w) {
  floe_catalog *cat = NULL;
  floe_table *t = NULL;
  floe_error err = {0};
  int retries = 0;
  if (catalog_env_open(env, &cat, &err) != 0 ||
      floe_table_load(cat, ident, &t, &err) != 0) {
    fprintf(stderr, "writer %d: %s\n", w, err.message);
    floe_catalog_free(cat);
    return -1;
  }
  for (int i = 0; i < COMMITS_PER_WRITER; i++) {
    char path[4400], writer_tag[8], index[16];
    snprintf(path, sizeof path, "%s/data/w%d-%02d.parquet", floe_table_location(t), w, i);
    snprintf(writer_tag, sizeof writer_tag, "%c", 'A' + w);
    snprintf(index, sizeof index, "%d", i);
    floe_iceberg_content_file f;
    memset(&f, 0, sizeof f);
    f.content = FLOE_CONTENT_DATA;
    f.file_path = path;
    f.file_format = "PARQUET";
    f.record_count = rows_of(w, i);
    f.file_size_in_bytes = 1000 + i;
    floe_table_op *op = NULL;
    int rc = floe_table_op_new(&op, t, FLOE_TABLE_APPEND, &err);
    if (rc == 0) rc = floe_table_op_add_file(op, &f, &err);
    if (rc == 0) rc = floe_table_op_set_summary(op, "floe.writer", writer_tag, &err);
    if (rc == 0) rc = floe_table_op_set_summary(op, "floe.index", index, &err);
    if (rc == 0) rc = floe_table_op_commit(op, NULL, &err);
    if (op != NULL) retries += floe_table_op_attempts(op) - 1;
    floe_table_op_free(op);
    if (rc != 0) {
      fprintf(stderr, "writer %d: append %d: %s\n", w, i, err.message);
      retries = -1;
      break;
    }
  }
  floe_table_free(t);
  floe_catalog_free(cat);
  return retries;
}

static const char *summary(const floe_iceberg_snapshot *s, const char *key) {
  for (int32_t i = 0; i < s->n_summary; i++)
    if (strcmp(s->summary[i].key, key) == 0) return s->summary[i].value;
  return NULL;
}

static void concurrent_appends(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_table *t = NULL;
  floe_error err = {0};
  const char *skip = catalog_env_init(&env, kind, "table_concurrency");
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE_OK(catalog_env_open(&env, &cat, &err), &err);
  REQUIRE_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_iceberg_column cols[] = {{1, "id", true, {FLOE_ICEBERG_LONG, 0, 0, 0, 0, NULL}, NULL}};
  floe_iceberg_schema *schema = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&schema, 0, cols, 1, &err), &err);
  /* Enough retries for 2 x 30 contended commits; short waits. */
  floe_iceberg_property props[] = {{"commit.retry.num-retries", "200"},
                                   {"commit.retry.min-wait-ms", "1"},
                                   {"commit.retry.max-wait-ms", "20"}};
  int rc = floe_table_create(cat, ident, schema, NULL, NULL, props, 3, NULL, NULL, &err);
  floe_iceberg_schema_free(schema);
  REQUIRE_OK(rc, &err);

  int gate[2];
  REQUIRE(pipe(gate) == 0);
  int fds[WRITERS][2];
  pid_t pids[WRITERS];
  for (int w = 0; w < WRITERS; w++) {
    REQUIRE(pipe(fds[w]) == 0);
    pids[w] = fork();
    REQUIRE(pids[w] >= 0);
    if (pids[w] == 0) {
      close(fds[w][0]);
      close(gate[1]);
      char go;
      if (read(gate[0], &go, 1) != 0) _exit(4);
      int retries = writer(&env, w);
      if (write(fds[w][1], &retries, sizeof retries) < 0) _exit(3);
      _exit(retries < 0 ? 1 : 0);
    }
    close(fds[w][1]);
  }
  close(gate[0]);
  close(gate[1]);
  int total_retries = 0;
  for (int w = 0; w < WRITERS; w++) {
    int status = 0, retries = -1;
    if (read(fds[w][0], &retries, sizeof retries) != sizeof retries) retries = -1;
    close(fds[w][0]);
    waitpid(pids[w], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(retries >= 0);
    if (retries > 0) total_retries += retries;
  }
  fprintf(stderr, "    %s: %d appends, %d rebased retries\n", kind_names[kind],
          WRITERS * COMMITS_PER_WRITER, total_retries);

  REQUIRE_OK(floe_table_load(cat, ident, &t, &err), &err);
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  CHECK_INT_EQ(md->n_snapshots, WRITERS * COMMITS_PER_WRITER);
  CHECK_INT_EQ(md->last_sequence_number, WRITERS * COMMITS_PER_WRITER);
  int next[WRITERS] = {COMMITS_PER_WRITER - 1, COMMITS_PER_WRITER - 1};
  int64_t expected_rows = 0;
  for (int w = 0; w < WRITERS; w++)
    for (int i = 0; i < COMMITS_PER_WRITER; i++) expected_rows += rows_of(w, i);
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(t);
  REQUIRE(s != NULL);
  char total[32];
  snprintf(total, sizeof total, "%" PRId64, expected_rows);
  CHECK_STR_EQ(summary(s, "total-records"), total);
  CHECK_STR_EQ(summary(s, "total-data-files"), "60");
  int links = 0;
  int64_t seq = WRITERS * COMMITS_PER_WRITER;
  while (s != NULL && links <= 100) {
    CHECK_INT_EQ(s->sequence_number, seq);
    seq--;
    const char *tag = summary(s, "floe.writer");
    const char *index = summary(s, "floe.index");
    REQUIRE(tag != NULL && index != NULL);
    int w = tag[0] - 'A';
    REQUIRE(w >= 0 && w < WRITERS);
    /* Walking back, each writer's indexes count down. */
    CHECK_INT_EQ(atoi(index), next[w]);
    next[w]--;
    CHECK_STR_EQ(summary(s, "added-data-files"), "1");
    links++;
    s = floe_iceberg_metadata_parent(md, s);
  }
  CHECK_INT_EQ(links, WRITERS * COMMITS_PER_WRITER);
  for (int w = 0; w < WRITERS; w++) CHECK_INT_EQ(next[w], -1);

  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  CHECK_INT_EQ(files.n, WRITERS * COMMITS_PER_WRITER);
  int64_t live_rows = 0;
  for (int32_t i = 0; i < files.n; i++) live_rows += files.files[i].file.record_count;
  CHECK(live_rows == expected_rows);
  floe_table_files_reset(&files);
  floe_table_free(t);
  floe_catalog_free(cat);
}

static void test_concurrent_appends_hadoop(void) { concurrent_appends(KIND_HADOOP); }
static void test_concurrent_appends_sqlite(void) { concurrent_appends(KIND_SQLITE); }
static void test_concurrent_appends_postgres(void) { concurrent_appends(KIND_POSTGRES); }

int main(void) {
  pg_start();
  RUN(test_concurrent_appends_hadoop);
  RUN(test_concurrent_appends_sqlite);
  RUN(test_concurrent_appends_postgres);
  pg_stop();
  return test_report();
}
