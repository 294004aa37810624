/*
 * tests/unit/test_catalog_concurrency.c: two processes commit to one table
 * at once through each kind of catalog (hadoop; sql on SQLite; sql on
 * PostgreSQL), 50 appends each, reloading and retrying on FLOE_ECONFLICT
 * as DESIGN.md rule 3 prescribes.
 *
 * Each commit's metadata JSON is the loaded JSON with one more entry in
 * "log" and the location it was based on in "based-on". Afterwards the
 * test walks the chain back from the final pointer: it must have exactly
 * 100 links ending at the table's first file, each file's log must be its
 * parent's plus one entry, the version numbers must count up by one, and
 * the final log must hold A0..A49 and B0..B49 each once and in order: no
 * update lost, none applied twice.
 */
#include <jansson.h>
#include <regex.h>

#include "floe/catalog.h"
#include "test.h"
#include "catalog_test_support.h"

#define COMMITS_PER_WRITER 50
#define WRITERS 2

/* One writer: COMMITS_PER_WRITER appends with reload-and-retry. Returns
 * the number of conflicts seen (>= 0) or -1 on failure. */
static int writer(const catalog_env *env, char tag) {
  floe_catalog *cat = NULL;
  floe_error err = {0};
  int conflicts = 0;
  if (catalog_env_open(env, &cat, &err) != 0) {
    fprintf(stderr, "writer %c: open: %s\n", tag, err.message);
    return -1;
  }
  floe_catalog_ident t = {"ns", "t"};
  for (int i = 0; i < COMMITS_PER_WRITER; i++) {
    int attempts = 0;
    for (;;) {
      floe_catalog_table table = {0};
      if (floe_catalog_table_load(cat, t, &table, &err) != 0) {
        fprintf(stderr, "writer %c: load: %s\n", tag, err.message);
        floe_catalog_free(cat);
        return -1;
      }
      json_t *doc = json_loads(table.metadata_json, 0, NULL);
      char entry[16];
      snprintf(entry, sizeof entry, "%c%d", tag, i);
      json_array_append_new(json_object_get(doc, "log"), json_string(entry));
      json_object_set_new(doc, "based-on",
                          json_string(table.metadata_location));
      char *text = json_dumps(doc, JSON_COMPACT);
      json_decref(doc);
      char *next = NULL;
      int rc = floe_catalog_commit(cat, t, table.metadata_location, text,
                                   strlen(text), &next, &err);
      free(text);
      floe_free(next);
      floe_catalog_table_reset(&table);
      if (rc == 0) break;
      if (rc != FLOE_ECONFLICT || ++attempts > 1000) {
        fprintf(stderr, "writer %c: commit %d: %s\n", tag, i, err.message);
        floe_catalog_free(cat);
        return -1;
      }
      conflicts++;
    }
  }
  floe_catalog_free(cat);
  return conflicts;
}

/* Version number of a metadata file name: v<N> (hadoop) or <NNNNN>- (sql). */
static long version_of(const char *location) {
  const char *name = strrchr(location, '/');
  name = name ? name + 1 : location;
  if (name[0] == 'v') return strtol(name + 1, NULL, 10);
  return strtol(name, NULL, 10);
}

static void concurrent_appends_all_land(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  const char *skip = catalog_env_init(&env, kind, "concurrency");
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE_OK(catalog_env_open(&env, &cat, &err), &err);
  floe_catalog_ident t = {"ns", "t"};
  REQUIRE_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  const char *initial = "{\"log\":[]}";
  floe_catalog_table first = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, initial, strlen(initial),
                                       &first, &err),
             &err);

  /* Writers block on `gate` until all are forked, so they overlap. */
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
      int conflicts = writer(&env, (char)('A' + w));
      if (write(fds[w][1], &conflicts, sizeof conflicts) < 0) _exit(3);
      _exit(conflicts < 0 ? 1 : 0);
    }
    close(fds[w][1]);
  }
  close(gate[0]);
  close(gate[1]); /* EOF opens the gate for every writer */
  int total_conflicts = 0;
  for (int w = 0; w < WRITERS; w++) {
    int status = 0, conflicts = -1;
    if (read(fds[w][0], &conflicts, sizeof conflicts) != sizeof conflicts)
      conflicts = -1;
    close(fds[w][0]);
    waitpid(pids[w], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(conflicts >= 0);
    if (conflicts > 0) total_conflicts += conflicts;
  }
  fprintf(stderr, "    %s: %d commits, %d conflicts retried\n",
          kind_names[kind], WRITERS * COMMITS_PER_WRITER, total_conflicts);

  /* The final state holds every append exactly once, in each writer's
   * order. */
  floe_catalog_table now = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &now, &err), &err);
  json_t *doc = json_loads(now.metadata_json, 0, NULL);
  REQUIRE(doc != NULL);
  json_t *log = json_object_get(doc, "log");
  CHECK_INT_EQ(json_array_size(log), WRITERS * COMMITS_PER_WRITER);
  int next_index[WRITERS] = {0};
  for (size_t i = 0; i < json_array_size(log); i++) {
    const char *entry = json_string_value(json_array_get(log, i));
    REQUIRE(entry != NULL);
    int w = entry[0] - 'A';
    REQUIRE(w >= 0 && w < WRITERS);
    CHECK_INT_EQ(atoi(entry + 1), next_index[w]);
    next_index[w]++;
  }
  for (int w = 0; w < WRITERS; w++)
    CHECK_INT_EQ(next_index[w], COMMITS_PER_WRITER);
  json_decref(doc);

  /* Walk the chain back to the first file. */
  char *location = floe_strdup(now.metadata_location);
  size_t expected_len = WRITERS * COMMITS_PER_WRITER;
  int links = 0;
  long version = version_of(location);
  CHECK_INT_EQ(version, version_of(first.metadata_location) +
                            WRITERS * COMMITS_PER_WRITER);
  while (strcmp(location, first.metadata_location) != 0 && links <= 200) {
    char *text = NULL;
    REQUIRE_OK(floe_io_read_all(floe_catalog_io(cat), location, 1 << 20, &text,
                                NULL, &err),
               &err);
    json_t *d = json_loads(text, 0, NULL);
    floe_free(text);
    REQUIRE(d != NULL);
    CHECK_INT_EQ(json_array_size(json_object_get(d, "log")), expected_len);
    const char *parent = json_string_value(json_object_get(d, "based-on"));
    REQUIRE(parent != NULL);
    CHECK_INT_EQ(version_of(parent), version - 1);
    version = version_of(parent);
    floe_free(location);
    location = floe_strdup(parent);
    json_decref(d);
    expected_len--;
    links++;
  }
  CHECK_INT_EQ(links, WRITERS * COMMITS_PER_WRITER);
  CHECK_STR_EQ(location, first.metadata_location);
  floe_free(location);
  floe_catalog_table_reset(&now);
  floe_catalog_table_reset(&first);
  floe_catalog_free(cat);
}

static void test_concurrent_appends_all_land_hadoop(void) {
  concurrent_appends_all_land(KIND_HADOOP);
}
static void test_concurrent_appends_all_land_sqlite(void) {
  concurrent_appends_all_land(KIND_SQLITE);
}
static void test_concurrent_appends_all_land_postgres(void) {
  concurrent_appends_all_land(KIND_POSTGRES);
}

int main(void) {
  pg_start();
  RUN(test_concurrent_appends_all_land_hadoop);
  RUN(test_concurrent_appends_all_land_sqlite);
  RUN(test_concurrent_appends_all_land_postgres);
  pg_stop();
  return test_report();
}
