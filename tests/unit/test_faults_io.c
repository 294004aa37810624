/*
 * tests/unit/test_faults_io: the I/O fault matrix over the commit path.
 *
 * For a table on the hadoop catalog and on the SQL catalog (SQLite), for
 * each operation (append, overwrite, row delta: data files written through
 * floe's Parquet writer, then one commit) and each fault -- EIO and ENOSPC
 * on the k-th write(2), on the k-th fsync(2), on the k-th rename/link that
 * publishes a name -- k runs over every call of that kind the operation
 * makes (counted first with a fault that never fires), each on a fresh
 * table holding rows 1..3. Then:
 *
 *  - the operation fails with a message naming the path and the errno
 *    text, or (outcome A) the fault hit a call whose failure the commit may
 *    survive (the hadoop version hint) and the operation succeeded with
 *    exactly the expected rows;
 *  - after a failure the table's current metadata (location and bytes, as
 *    the catalog loads it) is exactly the pre-operation one, every file the
 *    pre-operation metadata reaches still has its size and mtime, and a scan
 *    returns the pre-operation rows;
 *  - floe_maintain_orphans lists exactly the files the failed attempt left
 *    behind, and deleting them changes nothing a scan sees;
 *  - the operation retried without the fault succeeds and the table holds
 *    exactly the expected rows (no loss, no duplicate).
 *
 * The SQL catalog is also run with its database locked by another
 * connection for longer than the retry bound (busy_timeout x max_attempts).
 *
 * The matrix (catalog x operation x fault -> outcome per k) is printed as
 * the test's output; docs/durability.md summarises it.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>

#include "faults_test_support.h"
#include "floe/config.h"
#include "floe/replicate.h"
#include "test.h"

typedef struct fault_kind {
  floe_io_fault_op op;
  int errnum;
  const char *name;
} fault_kind;

static const fault_kind fault_kinds[] = {
    {FLOE_IO_FAULT_WRITE, EIO, "write EIO"},
    {FLOE_IO_FAULT_WRITE, ENOSPC, "write ENOSPC"},
    {FLOE_IO_FAULT_FSYNC, EIO, "fsync EIO"},
    {FLOE_IO_FAULT_FSYNC, ENOSPC, "fsync ENOSPC"},
    {FLOE_IO_FAULT_RENAME, EIO, "publish EIO"},
    {FLOE_IO_FAULT_RENAME, ENOSPC, "publish ENOSPC"},
};
#define N_FAULT_KINDS (sizeof fault_kinds / sizeof fault_kinds[0])

static int table_seq;
static long total_cases, total_failed_cleanly, total_absorbed;

/* What a table looked like before an operation. */
typedef struct pre_state {
  floe_catalog_table loaded; /* location + metadata bytes */
  fx_files reachable;         /* "path size mtime" of every reachable file */
  fx_files all;               /* every file under the location */
} pre_state;

static void pre_state_free(pre_state *s) {
  floe_catalog_table_reset(&s->loaded);
  fx_files_free(&s->reachable);
  fx_files_free(&s->all);
}

static void stat_paths(char **paths, size_t n, fx_files *out) {
  memset(out, 0, sizeof *out);
  out->cap = n + 1;
  out->items = malloc(out->cap * sizeof *out->items);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    char line[4400];
    if (stat(paths[i], &st) != 0)
      snprintf(line, sizeof line, "%s missing", paths[i]);
    else
      snprintf(line, sizeof line, "%s %lld %lld.%09ld", paths[i], (long long)st.st_size,
               (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    out->items[out->n++] = strdup(line);
  }
}

static int capture(fx_env *env, floe_table *t, const char *name, pre_state *s,
                   floe_error *err) {
  memset(s, 0, sizeof *s);
  floe_catalog_ident ident = {"db", name};
  int rc = floe_catalog_table_load(env->cat, ident, &s->loaded, err);
  char **paths = NULL;
  size_t n = 0;
  if (rc == 0) rc = floe_maintain_reachable_files(t, &paths, &n, err);
  if (rc == 0) {
    /* The SQL catalog has no hint file: keep only what exists. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
      if (access(paths[i], F_OK) == 0) paths[kept++] = paths[i];
      else free(paths[i]);
    stat_paths(paths, kept, &s->reachable);
    n = kept;
  }
  floe_maintain_paths_free(paths, n);
  char loc[2048];
  snprintf(loc, sizeof loc, "%s/db/%s", env->warehouse, name);
  fx_files_walk(loc, &s->all, false);
  return rc;
}

static bool same_files(const fx_files *a, const fx_files *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->items[i], b->items[i]) != 0) return false;
  return true;
}

/* Checks everything that must hold after a failed operation on db.<name>,
 * removes the orphans, retries, and checks the result. Returns true when
 * every check passed. */
static bool check_after_failure(fx_env *env, const char *name, fx_op op,
                                const pre_state *pre, const char *fault_name, long k) {
  int failed_before = test_current_failed;
  test_current_failed = 0;
  floe_error err = {0};
  floe_catalog_ident ident = {"db", name};
  floe_catalog_table now = {0};
  CHECK_OK(floe_catalog_table_load(env->cat, ident, &now, &err), &err);
  /* No partial commit: the pointer and the metadata bytes are the same. */
  if (now.metadata_location == NULL ||
      strcmp(now.metadata_location, pre->loaded.metadata_location) != 0 ||
      now.metadata_json_len != pre->loaded.metadata_json_len ||
      memcmp(now.metadata_json, pre->loaded.metadata_json, now.metadata_json_len) != 0)
    TEST_FAIL_AT(__FILE__, __LINE__, "%s %s k=%ld: metadata changed by a failed operation: %s -> %s",
                 fx_op_names[op], fault_name, k, pre->loaded.metadata_location,
                 now.metadata_location ? now.metadata_location : "(none)");
  floe_catalog_table_reset(&now);
  /* Nothing reachable was modified or deleted. */
  char **paths = NULL;
  size_t n = 0;
  fx_files reach = {0};
  for (size_t i = 0; i < pre->reachable.n; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s", pre->reachable.items[i]);
    char *sp = strchr(path, ' ');
    if (sp) *sp = '\0';
    if (n % 64 == 0) paths = realloc(paths, (n + 64) * sizeof *paths);
    paths[n++] = strdup(path);
  }
  stat_paths(paths, n, &reach);
  for (size_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
  if (!same_files(&reach, &pre->reachable))
    TEST_FAIL_AT(__FILE__, __LINE__, "%s %s k=%ld: a reachable file changed", fx_op_names[op],
                 fault_name, k);
  fx_files_free(&reach);
  char *rows = fx_rows(env, name);
  CHECK_STR_EQ(rows, fx_base_rows);
  free(rows);

  /* Orphans: exactly what the attempt left behind; delete them. */
  floe_table *t = NULL;
  CHECK_OK(floe_table_load(env->cat, ident, &t, &err), &err);
  if (t != NULL) {
    char loc[2048];
    snprintf(loc, sizeof loc, "%s/db/%s", env->warehouse, name);
    fx_files after = {0};
    fx_files_walk(loc, &after, false);
    char *expected = fx_files_added(&pre->all, &after);
    floe_maintain_orphan_options o;
    floe_maintain_orphan_options_init(&o);
    o.older_than_ms = 0;
    o.now_ms = fx_now_ms() + 1000;
    o.delete_files = true;
    floe_maintain_orphan_list list = {0};
    CHECK_OK(floe_maintain_orphans(t, &o, &list, &err), &err);
    char *listed = fx_orphan_paths(&list);
    CHECK_STR_EQ(listed, expected);
    CHECK_INT_EQ(list.n_deleted, list.n_files);
    fx_files remaining = {0};
    fx_files_walk(loc, &remaining, false);
    CHECK(same_files(&remaining, &pre->all));
    rows = fx_rows(env, name);
    CHECK_STR_EQ(rows, fx_base_rows);
    free(rows);
    /* Retry without the fault. */
    CHECK_OK(fx_run_op(env, t, op, &err), &err);
    rows = fx_rows(env, name);
    CHECK_STR_EQ(rows, fx_expected_rows[op]);
    free(rows);
    fx_files_free(&remaining);
    fx_files_free(&after);
    floe_maintain_orphan_list_reset(&list);
    free(listed);
    free(expected);
  }
  floe_table_free(t);
  bool ok = !test_current_failed;
  test_current_failed = failed_before || test_current_failed;
  return ok;
}

/* The count of calls of `kind` an operation makes, on a scratch table. */
static long count_calls(fx_env *env, fx_op op, floe_io_fault_op kind) {
  floe_error err = {0};
  floe_table *t = NULL;
  char name[64];
  snprintf(name, sizeof name, "probe%d", ++table_seq);
  long calls = -1;
  if (fx_create_table(env, name, &t, &err) != 0) {
    printf("  probe: %s\n", err.message);
    return -1;
  }
  floe_io_fault never = {kind, LONG_MAX, EIO, 0};
  floe_io_set_fault(fx_io(env), &never, &err);
  if (fx_run_op(env, t, op, &err) == 0) floe_io_fault_calls(fx_io(env), &calls, &err);
  floe_io_set_fault(fx_io(env), NULL, NULL);
  floe_table_free(t);
  return calls;
}

/* One cell of the matrix: operation x fault for k = 1..N. */
static void run_cell(fx_env *env, fx_op op, const fault_kind *fk) {
  long n = count_calls(env, op, fk->op);
  if (n < 1) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s %s: cannot count calls", fx_op_names[op], fk->name);
    return;
  }
  char outcomes[512];
  size_t used = 0;
  char example[FLOE_ERROR_MESSAGE_SIZE] = "";
  for (long k = 1; k <= n; k++) {
    floe_error err = {0};
    floe_table *t = NULL;
    char name[64];
    snprintf(name, sizeof name, "t%d", ++table_seq);
    if (fx_create_table(env, name, &t, &err) != 0) {
      TEST_FAIL_AT(__FILE__, __LINE__, "create %s: %s", name, err.message);
      return;
    }
    pre_state pre;
    CHECK_OK(capture(env, t, name, &pre, &err), &err);
    floe_io_fault fault = {fk->op, k, fk->errnum, 0};
    floe_io_set_fault(fx_io(env), &fault, &err);
    int rc = fx_run_op(env, t, op, &err);
    long calls = 0;
    floe_io_fault_calls(fx_io(env), &calls, NULL);
    floe_io_set_fault(fx_io(env), NULL, NULL);
    floe_table_free(t);
    char outcome;
    total_cases++;
    if (calls < k) {
      outcome = '?'; /* the fault never fired: the count changed */
      TEST_FAIL_AT(__FILE__, __LINE__, "%s %s k=%ld: only %ld calls", fx_op_names[op],
                   fk->name, k, calls);
    } else if (rc == 0) {
      /* The commit survived the fault: it must be complete and correct. */
      char *rows = fx_rows(env, name);
      outcome = strcmp(rows, fx_expected_rows[op]) == 0 ? 'A' : 'X';
      if (outcome == 'X')
        TEST_FAIL_AT(__FILE__, __LINE__, "%s %s k=%ld: succeeded with rows %s",
                     fx_op_names[op], fk->name, k, rows);
      else
        total_absorbed++;
      free(rows);
    } else {
      /* A clear error: names a path and the operating system's reason. */
      bool clear = strstr(err.message, strerror(fk->errnum)) != NULL &&
                   strstr(err.message, env->warehouse) != NULL;
      if (!clear)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s %s k=%ld: unclear error: %s", fx_op_names[op],
                     fk->name, k, err.message);
      if (example[0] == '\0') snprintf(example, sizeof example, "%s", err.message);
      bool ok = check_after_failure(env, name, op, &pre, fk->name, k);
      outcome = ok && clear ? 'F' : 'X';
      if (outcome == 'F') total_failed_cleanly++;
    }
    pre_state_free(&pre);
    if (used + 2 < sizeof outcomes) {
      outcomes[used++] = outcome;
      outcomes[used] = '\0';
    }
  }
  printf("  %-7s %-10s %-15s N=%-3ld %s\n", fx_kind_names[env->kind], fx_op_names[op], fk->name,
         n, outcomes);
  if (example[0]) {
    /* Shorten the warehouse path in the printed example. */
    char shown[FLOE_ERROR_MESSAGE_SIZE + 16];
    const char *src = example;
    size_t o = 0, wl = strlen(env->warehouse);
    while (*src && o + 8 < sizeof shown) {
      if (strncmp(src, env->warehouse, wl) == 0) {
        memcpy(shown + o, "<wh>", 4);
        o += 4;
        src += wl;
      } else {
        shown[o++] = *src++;
      }
    }
    shown[o] = '\0';
    printf("          e.g. %s\n", shown);
  }
  fflush(stdout);
}

static void run_matrix(fx_kind kind) {
  fx_env env;
  floe_error err = {0};
  char name[64];
  snprintf(name, sizeof name, "faults_io");
  REQUIRE(fx_open(&env, kind, name, 0, 0, &err));
  printf("  catalog op         fault           N   outcome per k = 1..N "
         "(F failed cleanly, A absorbed, X wrong)\n");
  for (int op = 0; op < 3; op++)
    for (size_t f = 0; f < N_FAULT_KINDS; f++) run_cell(&env, (fx_op)op, &fault_kinds[f]);
  fx_close(&env);
}

static void test_io_fault_matrix_hadoop(void) { run_matrix(FX_HADOOP); }
static void test_io_fault_matrix_sqlite(void) { run_matrix(FX_SQLITE); }

/* The SQL catalog's database is locked by another connection for longer
 * than the retry bound: the commit fails with the database's reason and
 * leaves the table as it was. */
static void test_sqlite_catalog_locked_beyond_retry_bound(void) {
  fx_env env;
  floe_error err = {0};
  REQUIRE(fx_open(&env, FX_SQLITE, "faults_busy", 20, 3, &err));
  for (int op = 0; op < 3; op++) {
    char name[64];
    snprintf(name, sizeof name, "busy%d", op);
    floe_table *t = NULL;
    REQUIRE_OK(fx_create_table(&env, name, &t, &err), &err);
    pre_state pre;
    CHECK_OK(capture(&env, t, name, &pre, &err), &err);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(env.sql_uri, &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    int64_t started = fx_now_ms();
    int rc = fx_run_op(&env, t, (fx_op)op, &err);
    int64_t took = fx_now_ms() - started;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    floe_table_free(t);
    CHECK(rc < 0);
    CHECK(strstr(err.message, "locked") != NULL || strstr(err.message, "busy") != NULL);
    CHECK(strstr(err.message, "db.") != NULL);
    /* Three attempts of 20 ms each plus backoff, not the default 10 x 5 s. */
    CHECK(took < 5000);
    printf("  sqlite  %-10s database locked  rc=%s after %lld ms: %s\n", fx_op_names[op],
           floe_error_code_name(rc), (long long)took, err.message);
    total_cases++;
    if (check_after_failure(&env, name, (fx_op)op, &pre, "locked", 1)) total_failed_cleanly++;
    pre_state_free(&pre);
  }
  fx_close(&env);
}

/* fsync calls one append makes through the catalog's io. */
static long fsyncs_of_append(fx_env *env, const char *name) {
  floe_error err = {0};
  floe_table *t = NULL;
  long calls = -1;
  if (fx_create_table(env, name, &t, &err) != 0) return -1;
  floe_io_fault never = {FLOE_IO_FAULT_FSYNC, LONG_MAX, EIO, 0};
  floe_io_set_fault(fx_io(env), &never, &err);
  if (fx_run_op(env, t, FX_APPEND, &err) == 0) floe_io_fault_calls(fx_io(env), &calls, &err);
  floe_io_set_fault(fx_io(env), NULL, NULL);
  floe_table_free(t);
  return calls;
}

/* The durable flag really fsyncs: every new file (data file, manifest,
 * manifest list, metadata; hadoop also its hint) and its directory, i.e. two
 * fsyncs per file written; none when durability is off, whether set on the
 * catalog (durable = -1) or by `run.durability: none` in the YAML config. */
static void test_durable_flag_fsyncs_files_and_directories(void) {
  for (int k = 0; k < 2; k++) {
    fx_kind kind = (fx_kind)k;
    fx_env env;
    floe_error err = {0};
    REQUIRE(fx_open(&env, kind, "durable", 0, 0, &err));
    long durable = fsyncs_of_append(&env, "d");
    /* data file, manifest, manifest list, metadata (+ hint): file + dir */
    CHECK_INT_EQ(durable, kind == FX_HADOOP ? 10 : 8);
    fx_close(&env);
    floe_catalog_config cfg = {0};
    cfg.type = kind == FX_HADOOP ? FLOE_CATALOG_HADOOP : FLOE_CATALOG_SQL;
    cfg.warehouse = env.warehouse;
    cfg.sql_uri = kind == FX_HADOOP ? NULL : env.sql_uri;
    cfg.durable = -1;
    REQUIRE_OK(floe_catalog_open(&cfg, &env.cat, &err), &err);
    CHECK_INT_EQ(fsyncs_of_append(&env, "n"), 0);
    fx_close(&env);
    printf("  %s: %ld fsyncs per append when durable, 0 when not\n", fx_kind_names[kind],
           durable);

    for (int none = 0; none < 2; none++) {
      char yaml[4096];
      snprintf(yaml, sizeof yaml,
               "version: 1\n"
               "source: {type: sqlite, path: src.db}\n"
               "target:\n"
               "  warehouse: %s\n"
               "  catalog: %s\n"
               "  namespace: db\n"
               "run:\n"
               "  durability: %s\n"
               "tables:\n"
               "  t: {batch_column: batch_sk}\n",
               env.warehouse,
               kind == FX_HADOOP ? "{type: hadoop}" : "{type: sql, uri: \"sqlite:CATALOG\"}",
               none ? "none" : "fsync");
      char *at = strstr(yaml, "CATALOG");
      if (at != NULL) {
        char rest[4096];
        snprintf(rest, sizeof rest, "%s", at + 7);
        snprintf(at, sizeof yaml - (size_t)(at - yaml), "%s%s", env.sql_uri, rest);
      }
      floe_config config;
      floe_config_init(&config);
      CHECK_OK(floe_config_load_string(&config, "durable.yaml", yaml, strlen(yaml), NULL, 0,
                                       &err), &err);
      CHECK_INT_EQ(config.run.durability, none ? FLOE_DURABILITY_NONE : FLOE_DURABILITY_FSYNC);
      floe_catalog *cat = NULL;
      CHECK_OK(floe_replicate_open_catalog(&config, &cat, &err), &err);
      floe_config_free(&config);
      if (cat == NULL) continue;
      env.cat = cat;
      char name[16];
      snprintf(name, sizeof name, "cfg%d", none);
      long n = fsyncs_of_append(&env, name);
      CHECK_INT_EQ(n, none ? 0 : durable);
      fx_close(&env);
    }
  }
}

static void test_matrix_totals(void) {
  printf("  %ld cases: %ld failed cleanly and recovered, %ld absorbed with a correct commit\n",
         total_cases, total_failed_cleanly, total_absorbed);
  CHECK_INT_EQ(total_failed_cleanly + total_absorbed, total_cases);
  CHECK(total_failed_cleanly > 100);
}

int main(void) {
  RUN(test_io_fault_matrix_hadoop);
  RUN(test_io_fault_matrix_sqlite);
  RUN(test_sqlite_catalog_locked_beyond_retry_bound);
  RUN(test_durable_flag_fsyncs_files_and_directories);
  RUN(test_matrix_totals);
  return test_report();
}
