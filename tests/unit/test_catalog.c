/*
 * tests/unit/test_catalog.c: every catalog operation on every kind of
 * catalog: hadoop, sql on SQLite, sql on PostgreSQL (a real server started
 * by tests/support/pg.sh; a server that cannot start fails those tests).
 *
 * Tests check the files and rows an independent reader would see: exact
 * metadata file names (v<N>.metadata.json and version-hint.text for
 * hadoop; <NNNNN>-<uuid>.metadata.json for sql), exact bytes, the JDBC
 * schema as the sqlite3 CLI and psql report it, rows written the way
 * PyIceberg writes them (no iceberg_type), conflicts leaving the pointer
 * unchanged, lagging version hints, busy databases, and error messages
 * that name paths and carry the database's own error text.
 */
#include <errno.h>
#include <regex.h>
#include <sqlite3.h>

#include "floe/catalog.h"
#include "test.h"
#include "catalog_test_support.h"

#define META(text) text, strlen(text)

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static int file_text_is(const char *path, const char *expected) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strcmp(buf, expected) == 0;
}

static int matches(const char *s, const char *pattern) {
  regex_t re;
  if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) return 0;
  int ok = s != NULL && regexec(&re, s, 0, NULL, 0) == 0;
  regfree(&re);
  return ok;
}

/* Output of a shell command (first 8 KiB), or NULL. Static storage. */
static const char *shell(const char *cmd) {
  static char out[8192];
  FILE *p = popen(cmd, "r");
  if (p == NULL) return NULL;
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  if (pclose(p) != 0) return NULL;
  return out;
}

#define FOR_EACH_KIND(fn)                                   \
  static void test_##fn##_hadoop(void) { fn(KIND_HADOOP); } \
  static void test_##fn##_sqlite(void) { fn(KIND_SQLITE); } \
  static void test_##fn##_postgres(void) { fn(KIND_POSTGRES); }

#define RUN_EACH_KIND(fn)       \
  RUN(test_##fn##_hadoop);      \
  RUN(test_##fn##_sqlite);      \
  RUN(test_##fn##_postgres)

#define OPEN_OR_FAIL(env, kind, cat, err)                         \
  do {                                                            \
    const char *skip_ = catalog_env_init(&(env), kind, __func__); \
    if (skip_ != NULL) { /* no server: a failure, never a skip */ \
      TEST_FAIL_AT(__FILE__, __LINE__, "%s", skip_);              \
      return;                                                     \
    }                                                             \
    REQUIRE_OK(catalog_env_open(&(env), &(cat), &(err)), &(err)); \
  } while (0)

/* ---- namespaces ------------------------------------------------------------ */

static void namespaces_create_list_exists_drop(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, kind, cat, err);
  int exists = -1;
  CHECK_OK(floe_catalog_namespace_exists(cat, "sales", &exists, &err), &err);
  CHECK_INT_EQ(exists, 0);

  if (kind == KIND_HADOOP) {
    floe_catalog_property p = {"owner", "etl"};
    CHECK_INT_EQ(floe_catalog_namespace_create(cat, "sales", &p, 1, &err),
                 FLOE_EUNSUPPORTED);
    CHECK_OK(floe_catalog_namespace_create(cat, "sales", NULL, 0, &err), &err);
  } else {
    floe_catalog_property props[] = {{"owner", "etl"}, {"comment", "q3"}};
    CHECK_OK(floe_catalog_namespace_create(cat, "sales", props, 2, &err),
             &err);
  }
  CHECK_INT_EQ(floe_catalog_namespace_create(cat, "sales", NULL, 0, &err),
               FLOE_EEXISTS);
  CHECK(strstr(err.message, "sales") != NULL);
  CHECK_OK(floe_catalog_namespace_create(cat, "prod", NULL, 0, &err), &err);
  CHECK_OK(floe_catalog_namespace_create(cat, "prod.eu", NULL, 0, &err), &err);
  CHECK_OK(floe_catalog_namespace_create(cat, "prod.us", NULL, 0, &err), &err);
  CHECK_OK(floe_catalog_namespace_exists(cat, "prod.eu", &exists, &err), &err);
  CHECK_INT_EQ(exists, 1);
  CHECK_OK(floe_catalog_namespace_exists(cat, "prod.e", &exists, &err), &err);
  CHECK_INT_EQ(exists, 0);

  floe_catalog_names names;
  REQUIRE_OK(floe_catalog_namespace_list(cat, NULL, &names, &err), &err);
  REQUIRE(names.count == 2);
  CHECK_STR_EQ(names.items[0], "prod");
  CHECK_STR_EQ(names.items[1], "sales");
  floe_catalog_names_reset(&names);
  REQUIRE_OK(floe_catalog_namespace_list(cat, "prod", &names, &err), &err);
  REQUIRE(names.count == 2);
  CHECK_STR_EQ(names.items[0], "prod.eu");
  CHECK_STR_EQ(names.items[1], "prod.us");
  floe_catalog_names_reset(&names);
  CHECK_INT_EQ(floe_catalog_namespace_list(cat, "nope", &names, &err),
               FLOE_ENOTFOUND);

  floe_catalog_properties props;
  REQUIRE_OK(floe_catalog_namespace_properties(cat, "sales", &props, &err),
             &err);
  if (kind == KIND_HADOOP) {
    REQUIRE(props.count == 1);
    CHECK_STR_EQ(props.keys[0], "location");
    char expected[4300];
    snprintf(expected, sizeof expected, "%s/sales", env.warehouse);
    CHECK_STR_EQ(props.values[0], expected);
  } else {
    /* The caller's properties plus JdbcCatalog's "exists" marker. */
    REQUIRE(props.count == 3);
    CHECK_STR_EQ(props.keys[0], "comment");
    CHECK_STR_EQ(props.values[0], "q3");
    CHECK_STR_EQ(props.keys[1], "exists");
    CHECK_STR_EQ(props.values[1], "true");
    CHECK_STR_EQ(props.keys[2], "owner");
    CHECK_STR_EQ(props.values[2], "etl");
  }
  floe_catalog_properties_reset(&props);
  CHECK_INT_EQ(floe_catalog_namespace_properties(cat, "nope", &props, &err),
               FLOE_ENOTFOUND);

  /* Drop refuses a namespace with a child namespace or a table. */
  CHECK_INT_EQ(floe_catalog_namespace_drop(cat, "prod", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "not empty") != NULL);
  floe_catalog_ident t = {"sales", "orders"};
  CHECK_OK(floe_catalog_table_create(cat, t, NULL, META("{\"v\":1}"), NULL,
                                     &err),
           &err);
  CHECK_INT_EQ(floe_catalog_namespace_drop(cat, "sales", &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "orders") != NULL);
  CHECK_OK(floe_catalog_table_drop(cat, t, 0, &err), &err);
  CHECK_OK(floe_catalog_namespace_drop(cat, "sales", &err), &err);
  CHECK_OK(floe_catalog_namespace_exists(cat, "sales", &exists, &err), &err);
  CHECK_INT_EQ(exists, 0);
  CHECK_INT_EQ(floe_catalog_namespace_drop(cat, "sales", &err),
               FLOE_ENOTFOUND);
  CHECK_OK(floe_catalog_namespace_drop(cat, "prod.eu", &err), &err);
  CHECK_OK(floe_catalog_namespace_drop(cat, "prod.us", &err), &err);
  CHECK_OK(floe_catalog_namespace_drop(cat, "prod", &err), &err);
  REQUIRE_OK(floe_catalog_namespace_list(cat, NULL, &names, &err), &err);
  CHECK_INT_EQ(names.count, 0);
  floe_catalog_names_reset(&names);

  /* Bad identifiers are refused before anything is touched. */
  CHECK_INT_EQ(floe_catalog_namespace_create(cat, "a..b", NULL, 0, &err),
               FLOE_EINVAL);
  CHECK_INT_EQ(floe_catalog_namespace_create(cat, "a/b", NULL, 0, &err),
               FLOE_EINVAL);
  CHECK_INT_EQ(floe_catalog_namespace_create(cat, "", NULL, 0, &err),
               FLOE_EINVAL);
  floe_catalog_free(cat);
}
FOR_EACH_KIND(namespaces_create_list_exists_drop)

/* ---- tables ----------------------------------------------------------------- */

static void tables_create_load_commit_list_rename_drop(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, kind, cat, err);
  floe_catalog_ident t = {"db.sales", "orders"};
  char *location = NULL;
  REQUIRE_OK(floe_catalog_default_location(cat, t, &location, &err), &err);
  char expected[4400];
  snprintf(expected, sizeof expected, "%s/db/sales/orders", env.warehouse);
  CHECK_STR_EQ(location, expected);

  /* The namespace must exist first. */
  CHECK_INT_EQ(floe_catalog_table_create(cat, t, NULL, META("{}"), NULL, &err),
               FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "db.sales") != NULL);
  CHECK_OK(floe_catalog_namespace_create(cat, "db", NULL, 0, &err), &err);
  CHECK_OK(floe_catalog_namespace_create(cat, "db.sales", NULL, 0, &err),
           &err);

  char v1[4600], v2[4600];
  snprintf(v1, sizeof v1, "{\"format-version\":2,\"location\":\"%s\",\"n\":1}",
           location);
  snprintf(v2, sizeof v2, "{\"format-version\":2,\"location\":\"%s\",\"n\":2}",
           location);
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META(v1), &table, &err),
             &err);
  if (kind == KIND_HADOOP) {
    snprintf(expected, sizeof expected, "%s/metadata/v1.metadata.json",
             location);
    CHECK_STR_EQ(table.metadata_location, expected);
    CHECK_INT_EQ(table.version, 1);
    snprintf(expected, sizeof expected, "%s/metadata/version-hint.text",
             location);
    CHECK(file_text_is(expected, "1"));
  } else {
    CHECK(matches(table.metadata_location,
                  "/db/sales/orders/metadata/00000-[0-9a-f]{8}-[0-9a-f]{4}-4"
                  "[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.metadata\\."
                  "json$"));
    CHECK(strncmp(table.metadata_location, location, strlen(location)) == 0);
    CHECK_INT_EQ(table.version, 0);
    CHECK(table.previous_metadata_location == NULL);
  }
  CHECK(file_text_is(table.metadata_location, v1));
  CHECK_STR_EQ(table.metadata_json, v1);
  CHECK_INT_EQ(table.metadata_json_len, strlen(v1));

  CHECK_INT_EQ(floe_catalog_table_create(cat, t, NULL, META("{}"), NULL, &err),
               FLOE_EEXISTS);
  CHECK(file_text_is(table.metadata_location, v1));

  int exists = 0;
  CHECK_OK(floe_catalog_table_exists(cat, t, &exists, &err), &err);
  CHECK_INT_EQ(exists, 1);
  floe_catalog_ident missing = {"db.sales", "returns"};
  CHECK_OK(floe_catalog_table_exists(cat, missing, &exists, &err), &err);
  CHECK_INT_EQ(exists, 0);
  floe_catalog_table other = {0};
  CHECK_INT_EQ(floe_catalog_table_load(cat, missing, &other, &err),
               FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "db.sales.returns") != NULL);

  /* Commit v2 on top of v1. */
  char *new_location = NULL;
  REQUIRE_OK(floe_catalog_commit(cat, t, table.metadata_location, META(v2),
                                 &new_location, &err),
             &err);
  floe_catalog_table loaded = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &loaded, &err), &err);
  CHECK_STR_EQ(loaded.metadata_location, new_location);
  CHECK_STR_EQ(loaded.metadata_json, v2);
  CHECK_STR_EQ(loaded.previous_metadata_location, table.metadata_location);
  if (kind == KIND_HADOOP) {
    CHECK(matches(new_location, "/db/sales/orders/metadata/v2\\.metadata\\."
                                "json$"));
    CHECK_INT_EQ(loaded.version, 2);
    snprintf(expected, sizeof expected, "%s/metadata/version-hint.text",
             location);
    CHECK(file_text_is(expected, "2"));
  } else {
    CHECK(matches(new_location, "/metadata/00001-[0-9a-f-]{36}\\.metadata\\."
                                "json$"));
    CHECK_INT_EQ(loaded.version, 1);
  }
  /* The first file is still there, unchanged (nothing is overwritten). */
  CHECK(file_text_is(table.metadata_location, v1));
  floe_free(new_location);

  /* A second table, then list. */
  floe_catalog_ident t2 = {"db.sales", "customers"};
  CHECK_OK(floe_catalog_table_create(cat, t2, NULL, META("{\"c\":1}"), NULL,
                                     &err),
           &err);
  floe_catalog_names names;
  REQUIRE_OK(floe_catalog_table_list(cat, "db.sales", &names, &err), &err);
  REQUIRE(names.count == 2);
  CHECK_STR_EQ(names.items[0], "customers");
  CHECK_STR_EQ(names.items[1], "orders");
  floe_catalog_names_reset(&names);
  /* Tables are not namespaces. */
  REQUIRE_OK(floe_catalog_namespace_list(cat, "db.sales", &names, &err), &err);
  CHECK_INT_EQ(names.count, 0);
  floe_catalog_names_reset(&names);
  CHECK_INT_EQ(floe_catalog_table_list(cat, "nope", &names, &err),
               FLOE_ENOTFOUND);

  /* Rename. */
  floe_catalog_ident renamed = {"db", "orders_v2"};
  if (kind == KIND_HADOOP) {
    CHECK_INT_EQ(floe_catalog_table_rename(cat, t, renamed, &err),
                 FLOE_EUNSUPPORTED);
  } else {
    CHECK_INT_EQ(floe_catalog_table_rename(cat, t, t2, &err), FLOE_EEXISTS);
    floe_catalog_ident no_ns = {"nowhere", "x"};
    CHECK_INT_EQ(floe_catalog_table_rename(cat, t, no_ns, &err),
                 FLOE_ENOTFOUND);
    CHECK_OK(floe_catalog_table_rename(cat, t, renamed, &err), &err);
    CHECK_OK(floe_catalog_table_exists(cat, t, &exists, &err), &err);
    CHECK_INT_EQ(exists, 0);
    floe_catalog_table after = {0};
    REQUIRE_OK(floe_catalog_table_load(cat, renamed, &after, &err), &err);
    CHECK_STR_EQ(after.metadata_location, loaded.metadata_location);
    CHECK_STR_EQ(after.metadata_json, v2);
    floe_catalog_table_reset(&after);
    CHECK_INT_EQ(floe_catalog_table_rename(cat, t, renamed, &err),
                 FLOE_ENOTFOUND);
    CHECK_OK(floe_catalog_table_rename(cat, renamed, t, &err), &err);
  }

  /* Drop without purge: unregistered (sql keeps the files). */
  CHECK_OK(floe_catalog_table_drop(cat, t2, 0, &err), &err);
  CHECK_OK(floe_catalog_table_exists(cat, t2, &exists, &err), &err);
  CHECK_INT_EQ(exists, 0);
  CHECK_INT_EQ(floe_catalog_table_drop(cat, t2, 0, &err), FLOE_ENOTFOUND);
  if (kind != KIND_HADOOP)
    CHECK(file_exists(table.metadata_location));
  /* Drop with purge: the table's directory (data and metadata) is gone,
   * its namespace directory stays. */
  char data_file[4500];
  snprintf(data_file, sizeof data_file, "mkdir -p '%s/data' && touch "
           "'%s/data/part-0.parquet'", location, location);
  CHECK(system(data_file) == 0);
  CHECK_OK(floe_catalog_table_drop(cat, t, 1, &err), &err);
  CHECK(!file_exists(table.metadata_location));
  CHECK(!file_exists(loaded.metadata_location));
  CHECK(!file_exists(location));
  snprintf(data_file, sizeof data_file, "%s/db/sales", env.warehouse);
  if (kind == KIND_HADOOP) CHECK(file_exists(data_file));
  REQUIRE_OK(floe_catalog_table_list(cat, "db.sales", &names, &err), &err);
  CHECK_INT_EQ(names.count, 0);
  floe_catalog_names_reset(&names);

  /* Bad names. */
  floe_catalog_ident bad = {"db", "a.b"};
  CHECK_INT_EQ(floe_catalog_table_create(cat, bad, NULL, META("{}"), NULL,
                                         &err),
               FLOE_EINVAL);
  floe_catalog_table_reset(&loaded);
  floe_catalog_table_reset(&table);
  floe_free(location);
  floe_catalog_free(cat);
}
FOR_EACH_KIND(tables_create_load_commit_list_rename_drop)

/* ---- conflicts ---------------------------------------------------------------- */

static void stale_commit_conflicts_and_pointer_is_unchanged(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, kind, cat, err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_table base = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{\"n\":0}"), &base,
                                       &err),
             &err);
  char *winner = NULL, *loser = NULL;
  REQUIRE_OK(floe_catalog_commit(cat, t, base.metadata_location,
                                 META("{\"n\":\"A\"}"), &winner, &err),
             &err);
  /* A second writer that based its change on the same version loses. */
  int rc = floe_catalog_commit(cat, t, base.metadata_location,
                               META("{\"n\":\"B\"}"), &loser, &err);
  CHECK_INT_EQ(rc, FLOE_ECONFLICT);
  CHECK(strstr(err.message, "conflict") != NULL);
  CHECK(strstr(err.message, "ns.t") != NULL);
  floe_catalog_table now = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &now, &err), &err);
  CHECK_STR_EQ(now.metadata_location, winner);
  CHECK_STR_EQ(now.metadata_json, "{\"n\":\"A\"}");
  if (kind == KIND_HADOOP) {
    /* The loser never published anything. */
    CHECK(loser == NULL);
    char v3[4400];
    snprintf(v3, sizeof v3, "%s/ns/t/metadata/v3.metadata.json",
             env.warehouse);
    CHECK(!file_exists(v3));
    char metadata_dir[4400];
    snprintf(metadata_dir, sizeof metadata_dir, "ls -A '%s/ns/t/metadata'",
             env.warehouse);
    const char *listing = shell(metadata_dir);
    CHECK(listing != NULL && strcmp(listing, "v1.metadata.json\n"
                                             "v2.metadata.json\n"
                                             "version-hint.text\n") == 0);
  } else {
    /* The loser's file is an unreferenced orphan, and the error says where. */
    REQUIRE(loser != NULL);
    CHECK(file_text_is(loser, "{\"n\":\"B\"}"));
    CHECK(strstr(err.message, loser) != NULL);
    CHECK(strcmp(loser, winner) != 0);
  }
  /* A commit based on a location that never was the pointer also fails. */
  char *third = NULL;
  CHECK_INT_EQ(floe_catalog_commit(cat, t, "/nowhere/00007-x.metadata.json",
                                   META("{}"), &third, &err),
               FLOE_ECONFLICT);
  floe_free(third);
  /* Committing to a missing table is ENOTFOUND, not a conflict. */
  floe_catalog_ident gone = {"ns", "gone"};
  third = NULL;
  CHECK_INT_EQ(floe_catalog_commit(cat, gone, winner, META("{}"), &third, &err),
               FLOE_ENOTFOUND);
  floe_free(third);
  floe_catalog_table_reset(&now);
  REQUIRE_OK(floe_catalog_table_load(cat, t, &now, &err), &err);
  CHECK_STR_EQ(now.metadata_location, winner);
  floe_catalog_table_reset(&now);
  floe_catalog_table_reset(&base);
  floe_free(winner);
  floe_free(loser);
  floe_catalog_free(cat);
}
FOR_EACH_KIND(stale_commit_conflicts_and_pointer_is_unchanged)

/* State survives closing and reopening the catalog. */
static void reopened_catalog_sees_committed_state(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, kind, cat, err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_table base = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{\"n\":0}"), &base,
                                       &err),
             &err);
  char *next = NULL;
  REQUIRE_OK(floe_catalog_commit(cat, t, base.metadata_location,
                                 META("{\"n\":1}"), &next, &err),
             &err);
  floe_catalog_free(cat);
  cat = NULL;
  REQUIRE_OK(catalog_env_open(&env, &cat, &err), &err);
  floe_catalog_table now = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &now, &err), &err);
  CHECK_STR_EQ(now.metadata_location, next);
  CHECK_STR_EQ(now.metadata_json, "{\"n\":1}");
  floe_catalog_table_reset(&now);
  floe_catalog_table_reset(&base);
  floe_free(next);
  floe_catalog_free(cat);
}
FOR_EACH_KIND(reopened_catalog_sees_committed_state)

/* ---- hadoop specifics ------------------------------------------------------- */

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return;
  fputs(text, f);
  fclose(f);
}

static void test_hadoop_lagging_or_missing_hint_is_recovered(void) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, KIND_HADOOP, cat, err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{\"n\":1}"), &table,
                                       &err),
             &err);
  char *loc = NULL;
  for (int n = 2; n <= 3; n++) {
    char json[32];
    snprintf(json, sizeof json, "{\"n\":%d}", n);
    REQUIRE_OK(floe_catalog_commit(cat, t, table.metadata_location, META(json),
                                   &loc, &err),
               &err);
    floe_catalog_table_reset(&table);
    REQUIRE_OK(floe_catalog_table_load(cat, t, &table, &err), &err);
    CHECK_STR_EQ(table.metadata_location, loc);
    floe_free(loc);
    loc = NULL;
  }
  /* A crash after publishing v3 but before moving the hint leaves "1". */
  char hint[4400];
  snprintf(hint, sizeof hint, "%s/ns/t/metadata/version-hint.text",
           env.warehouse);
  write_text(hint, "1");
  floe_catalog_table_reset(&table);
  REQUIRE_OK(floe_catalog_table_load(cat, t, &table, &err), &err);
  CHECK_INT_EQ(table.version, 3);
  CHECK_STR_EQ(table.metadata_json, "{\"n\":3}");
  /* A commit based on the recovered v3 publishes v4 and repairs the hint. */
  REQUIRE_OK(floe_catalog_commit(cat, t, table.metadata_location,
                                 META("{\"n\":4}"), &loc, &err),
             &err);
  CHECK(matches(loc, "/ns/t/metadata/v4\\.metadata\\.json$"));
  CHECK(file_text_is(hint, "4"));
  floe_free(loc);
  loc = NULL;
  /* A commit based on the lagging hint's version conflicts. */
  char v1[4400];
  snprintf(v1, sizeof v1, "%s/ns/t/metadata/v1.metadata.json", env.warehouse);
  CHECK_INT_EQ(floe_catalog_commit(cat, t, v1, META("{}"), &loc, &err),
               FLOE_ECONFLICT);
  CHECK(strstr(err.message, "v4.metadata.json") != NULL);
  /* No hint at all (or garbage): the highest listed version wins. */
  unlink(hint);
  floe_catalog_table_reset(&table);
  REQUIRE_OK(floe_catalog_table_load(cat, t, &table, &err), &err);
  CHECK_INT_EQ(table.version, 4);
  write_text(hint, "garbage");
  floe_catalog_table_reset(&table);
  REQUIRE_OK(floe_catalog_table_load(cat, t, &table, &err), &err);
  CHECK_INT_EQ(table.version, 4);
  CHECK_STR_EQ(table.metadata_json, "{\"n\":4}");
  floe_catalog_table_reset(&table);
  floe_catalog_free(cat);
}

static void test_hadoop_reads_file_uri_warehouse_and_refuses_custom_location(
    void) {
  catalog_env env;
  floe_error err = {0};
  const char *skip = catalog_env_init(&env, KIND_HADOOP, __func__);
  if (skip) SKIP("%s", skip);
  char uri[4400];
  snprintf(uri, sizeof uri, "file://%s", env.warehouse);
  floe_catalog_config config = {.type = FLOE_CATALOG_HADOOP,
                                .warehouse = uri,
                                .durable = 0};
  floe_catalog *cat = NULL;
  REQUIRE_OK(floe_catalog_open(&config, &cat, &err), &err);
  CHECK_STR_EQ(floe_catalog_name(cat), "floe");
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_INT_EQ(floe_catalog_table_create(cat, t, "/elsewhere", META("{}"),
                                         NULL, &err),
               FLOE_EINVAL);
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{\"a\":1}"),
                                       &table, &err),
             &err);
  char expected[4500];
  snprintf(expected, sizeof expected, "%s/ns/t/metadata/v1.metadata.json", uri);
  CHECK_STR_EQ(table.metadata_location, expected);
  snprintf(expected, sizeof expected, "%s/ns/t/metadata/v1.metadata.json",
           env.warehouse);
  CHECK(file_text_is(expected, "{\"a\":1}"));
  floe_catalog_table_reset(&table);
  floe_catalog_free(cat);
}

/* ---- sql specifics ------------------------------------------------------------ */

/* The schema Iceberg Java's JdbcUtil creates (V0 table + V1 iceberg_type),
 * as the sqlite3 CLI reports it: cid|name|type|notnull|default|pk. */
static void test_sqlite_schema_matches_jdbc_catalog(void) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, KIND_SQLITE, cat, err);
  floe_catalog_free(cat);
  if (shell("sqlite3 -version") == NULL)
    SKIP("sqlite3 CLI missing (Debian package sqlite3)");
  char cmd[4600];
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' 'PRAGMA table_info(iceberg_tables)'", env.sql_uri);
  const char *out = shell(cmd);
  CHECK_STR_EQ(out, "0|catalog_name|VARCHAR(255)|1||1\n"
                    "1|table_namespace|VARCHAR(255)|1||2\n"
                    "2|table_name|VARCHAR(255)|1||3\n"
                    "3|metadata_location|VARCHAR(1000)|0||0\n"
                    "4|previous_metadata_location|VARCHAR(1000)|0||0\n"
                    "5|iceberg_type|VARCHAR(5)|0||0\n");
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' 'PRAGMA table_info(iceberg_namespace_properties)'",
           env.sql_uri);
  out = shell(cmd);
  CHECK_STR_EQ(out, "0|catalog_name|VARCHAR(255)|1||1\n"
                    "1|namespace|VARCHAR(255)|1||2\n"
                    "2|property_key|VARCHAR(255)|0||3\n"
                    "3|property_value|VARCHAR(1000)|0||0\n");
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' \"SELECT name FROM sqlite_master WHERE type = "
           "'table' ORDER BY name\"",
           env.sql_uri);
  out = shell(cmd);
  CHECK_STR_EQ(out, "iceberg_namespace_properties\niceberg_tables\n");

  /* Rows as floe writes them, read back by the CLI. */
  REQUIRE_OK(catalog_env_open(&env, &cat, &err), &err);
  floe_catalog_ident t = {"a.b", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "a.b", NULL, 0, &err), &err);
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{}"), &table, &err),
             &err);
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' \"SELECT catalog_name, table_namespace, table_name, "
           "metadata_location, quote(previous_metadata_location), "
           "iceberg_type FROM iceberg_tables\"",
           env.sql_uri);
  out = shell(cmd);
  char expected[4600];
  snprintf(expected, sizeof expected, "%s|a.b|t|%s|NULL|TABLE\n", env.name,
           table.metadata_location);
  CHECK_STR_EQ(out, expected);
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' \"SELECT catalog_name, namespace, property_key, "
           "property_value FROM iceberg_namespace_properties\"",
           env.sql_uri);
  out = shell(cmd);
  snprintf(expected, sizeof expected, "%s|a.b|exists|true\n", env.name);
  CHECK_STR_EQ(out, expected);
  floe_catalog_table_reset(&table);
  floe_catalog_free(cat);
}

static void test_postgres_schema_matches_jdbc_catalog(void) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, KIND_POSTGRES, cat, err);
  floe_catalog_free(cat);
  char cmd[4600];
  snprintf(cmd, sizeof cmd,
           "psql -X -A -t '%s' -c \"SELECT table_name, column_name, "
           "data_type, character_maximum_length, is_nullable FROM "
           "information_schema.columns WHERE table_name LIKE 'iceberg%%' "
           "ORDER BY table_name, ordinal_position\"",
           env.sql_uri);
  const char *out = shell(cmd);
  if (out == NULL) SKIP("psql CLI missing (Debian package postgresql-client)");
  CHECK_STR_EQ(out,
               "iceberg_namespace_properties|catalog_name|character varying|"
               "255|NO\n"
               "iceberg_namespace_properties|namespace|character varying|255|"
               "NO\n"
               "iceberg_namespace_properties|property_key|character varying|"
               "255|NO\n"
               "iceberg_namespace_properties|property_value|character "
               "varying|1000|YES\n"
               "iceberg_tables|catalog_name|character varying|255|NO\n"
               "iceberg_tables|table_namespace|character varying|255|NO\n"
               "iceberg_tables|table_name|character varying|255|NO\n"
               "iceberg_tables|metadata_location|character varying|1000|YES\n"
               "iceberg_tables|previous_metadata_location|character varying|"
               "1000|YES\n"
               "iceberg_tables|iceberg_type|character varying|5|YES\n");
  snprintf(cmd, sizeof cmd,
           "psql -X -A -t '%s' -c \"SELECT tc.table_name, kcu.column_name "
           "FROM information_schema.table_constraints tc JOIN "
           "information_schema.key_column_usage kcu USING (constraint_name) "
           "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name LIKE "
           "'iceberg%%' ORDER BY tc.table_name, kcu.ordinal_position\"",
           env.sql_uri);
  out = shell(cmd);
  CHECK_STR_EQ(out, "iceberg_namespace_properties|catalog_name\n"
                    "iceberg_namespace_properties|namespace\n"
                    "iceberg_namespace_properties|property_key\n"
                    "iceberg_tables|catalog_name\n"
                    "iceberg_tables|table_namespace\n"
                    "iceberg_tables|table_name\n");
}

/* A catalog database created by an older JdbcCatalog (schema V0, no
 * iceberg_type) and a row registered the way PyIceberg registers it (no
 * iceberg_type value): floe upgrades the schema as JdbcCatalog V1 does and
 * loads and commits the table. */
static void test_sqlite_reads_v0_schema_and_pyiceberg_rows(void) {
  catalog_env env;
  floe_error err = {0};
  const char *skip = catalog_env_init(&env, KIND_SQLITE, __func__);
  if (skip) SKIP("%s", skip);
  char metadata[4400];
  snprintf(metadata, sizeof metadata,
           "%s/ns/t/metadata/00000-11111111-2222-4333-8444-555555555555."
           "metadata.json",
           env.warehouse);
  char cmd[4600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/ns/t/metadata'", env.warehouse);
  REQUIRE(system(cmd) == 0);
  write_text(metadata, "{\"from\":\"pyiceberg\"}");
  sqlite3 *db = NULL;
  REQUIRE(sqlite3_open(env.sql_uri, &db) == SQLITE_OK);
  const char *v0 =
      "CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,"
      "table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT "
      "NULL,metadata_location VARCHAR(1000),previous_metadata_location "
      "VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, "
      "table_name));";
  REQUIRE(sqlite3_exec(db, v0, NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  REQUIRE(sqlite3_prepare_v2(db,
                             "INSERT INTO iceberg_tables (catalog_name, "
                             "table_namespace, table_name, metadata_location, "
                             "previous_metadata_location) VALUES "
                             "(?,'ns','t',?,NULL)",
                             -1, &stmt, NULL) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, env.name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, metadata, -1, SQLITE_TRANSIENT);
  CHECK(sqlite3_step(stmt) == SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  floe_catalog *cat = NULL;
  REQUIRE_OK(catalog_env_open(&env, &cat, &err), &err);
  floe_catalog_ident t = {"ns", "t"};
  int exists = 0;
  CHECK_OK(floe_catalog_namespace_exists(cat, "ns", &exists, &err), &err);
  CHECK_INT_EQ(exists, 1); /* exists through its table */
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &table, &err), &err);
  CHECK_STR_EQ(table.metadata_location, metadata);
  CHECK_STR_EQ(table.metadata_json, "{\"from\":\"pyiceberg\"}");
  char *next = NULL;
  REQUIRE_OK(floe_catalog_commit(cat, t, metadata, META("{\"from\":\"floe\"}"),
                                 &next, &err),
             &err);
  CHECK(matches(next, "/ns/t/metadata/00001-[0-9a-f-]{36}\\.metadata\\.json$"));
  floe_catalog_free(cat);
  snprintf(cmd, sizeof cmd,
           "sqlite3 '%s' \"SELECT metadata_location, "
           "previous_metadata_location, quote(iceberg_type) FROM "
           "iceberg_tables\"",
           env.sql_uri);
  const char *out = shell(cmd);
  if (out != NULL) {
    char expected[9000];
    snprintf(expected, sizeof expected, "%s|%s|NULL\n", next, metadata);
    CHECK_STR_EQ(out, expected);
  }
  floe_catalog_table_reset(&table);
  floe_free(next);
}

/* Another connection holds SQLite's write lock: the catalog waits, retries
 * with backoff a bounded number of times, and then says the database is
 * busy; once the lock is gone the same commit goes through. */
static void test_sqlite_busy_database_is_retried_then_reported(void) {
  catalog_env env;
  floe_error err = {0};
  const char *skip = catalog_env_init(&env, KIND_SQLITE, __func__);
  if (skip) SKIP("%s", skip);
  floe_catalog_config config = {.type = FLOE_CATALOG_SQL,
                                .name = "busy",
                                .warehouse = env.warehouse,
                                .sql_uri = env.sql_uri,
                                .durable = -1,
                                .busy_timeout_ms = 20,
                                .max_attempts = 3};
  floe_catalog *cat = NULL;
  REQUIRE_OK(floe_catalog_open(&config, &cat, &err), &err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_table base = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{}"), &base, &err),
             &err);

  sqlite3 *blocker = NULL;
  REQUIRE(sqlite3_open(env.sql_uri, &blocker) == SQLITE_OK);
  REQUIRE(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", NULL, NULL, NULL) ==
          SQLITE_OK);
  char *orphan = NULL;
  int rc = floe_catalog_commit(cat, t, base.metadata_location,
                               META("{\"n\":1}"), &orphan, &err);
  CHECK_INT_EQ(rc, FLOE_EIO);
  CHECK(strstr(err.message, "still busy after 3 attempts") != NULL);
  CHECK(strstr(err.message, "database is locked") != NULL);
  CHECK(strstr(err.message, env.sql_uri) != NULL);
  sqlite3_exec(blocker, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(blocker);
  floe_free(orphan);

  /* A lock held for 150 ms by another process: the default retries wait it
   * out. */
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sqlite3 *db = NULL;
    sqlite3_open(env.sql_uri, &db);
    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    usleep(150 * 1000);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    _exit(0);
  }
  usleep(30 * 1000);
  floe_catalog_free(cat);
  cat = NULL;
  config.max_attempts = 0;
  config.busy_timeout_ms = 10;
  REQUIRE_OK(floe_catalog_open(&config, &cat, &err), &err);
  char *next = NULL;
  CHECK_OK(floe_catalog_commit(cat, t, base.metadata_location,
                               META("{\"n\":1}"), &next, &err),
           &err);
  waitpid(pid, NULL, 0);
  floe_catalog_table now = {0};
  REQUIRE_OK(floe_catalog_table_load(cat, t, &now, &err), &err);
  CHECK_STR_EQ(now.metadata_location, next);
  floe_catalog_table_reset(&now);
  floe_catalog_table_reset(&base);
  floe_free(next);
  floe_catalog_free(cat);
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_errors_name_paths_and_database_text(void) {
  floe_error err = {0};
  floe_catalog *cat = NULL;
  catalog_env env;
  const char *skip = catalog_env_init(&env, KIND_SQLITE, __func__);
  if (skip) SKIP("%s", skip);

  /* SQLite file in a directory that does not exist. */
  char bad_db[4400];
  snprintf(bad_db, sizeof bad_db, "%s/no/such/dir/catalog.db", env.dir);
  floe_catalog_config config = {.type = FLOE_CATALOG_SQL,
                                .name = "e",
                                .warehouse = env.warehouse,
                                .sql_uri = bad_db};
  CHECK_INT_EQ(floe_catalog_open(&config, &cat, &err), FLOE_EIO);
  CHECK(strstr(err.message, bad_db) != NULL);
  CHECK(strstr(err.message, "unable to open database file") != NULL);
  CHECK(strstr(err.message, "catalog sql 'e'") != NULL);

  /* PostgreSQL that is not there: libpq's reason, no password echoed. */
  config.sql_uri = "host=127.0.0.1 port=1 dbname=x user=u password=s3cret "
                   "connect_timeout=2";
  CHECK_INT_EQ(floe_catalog_open(&config, &cat, &err), FLOE_EIO);
  CHECK(strstr(err.message, "postgresql: connect") != NULL);
  CHECK(strstr(err.message, "Connection refused") != NULL ||
        strstr(err.message, "connection") != NULL);
  CHECK(strstr(err.message, "s3cret") == NULL);

  /* A registered pointer whose file vanished: the path is named. */
  config.sql_uri = env.sql_uri;
  REQUIRE_OK(floe_catalog_open(&config, &cat, &err), &err);
  floe_catalog_ident t = {"ns", "t"};
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  floe_catalog_table table = {0};
  REQUIRE_OK(floe_catalog_table_create(cat, t, NULL, META("{}"), &table, &err),
             &err);
  unlink(table.metadata_location);
  floe_catalog_table again = {0};
  CHECK_INT_EQ(floe_catalog_table_load(cat, t, &again, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, table.metadata_location) != NULL);
  CHECK(strstr(err.message, "No such file or directory") != NULL);
  CHECK(strstr(err.message, "table ns.t: load") != NULL);

  /* A SQL error carries the database's text: drop the table under it. */
  sqlite3 *db = NULL;
  REQUIRE(sqlite3_open(env.sql_uri, &db) == SQLITE_OK);
  sqlite3_exec(db, "DROP TABLE iceberg_tables", NULL, NULL, NULL);
  sqlite3_close(db);
  CHECK_INT_EQ(floe_catalog_table_load(cat, t, &again, &err), FLOE_EIO);
  CHECK(strstr(err.message, "no such table: iceberg_tables") != NULL);
  floe_catalog_table_reset(&table);
  floe_catalog_free(cat);

  /* Configuration errors. */
  floe_catalog_config none = {.type = FLOE_CATALOG_SQL, .warehouse = "/w"};
  CHECK_INT_EQ(floe_catalog_open(&none, &cat, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "sql_uri") != NULL);
  floe_catalog_config no_wh = {.type = FLOE_CATALOG_HADOOP};
  CHECK_INT_EQ(floe_catalog_open(&no_wh, &cat, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "warehouse") != NULL);
}

/* Every allocation failure on the create/commit/load path reports
 * FLOE_ENOMEM and leaks nothing (ASan checks the leaks). */
static void allocation_failures_are_clean(catalog_kind kind) {
  catalog_env env;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  OPEN_OR_FAIL(env, kind, cat, err);
  CHECK_OK(floe_catalog_namespace_create(cat, "ns", NULL, 0, &err), &err);
  int done = 0;
  for (long n = 1; n < 400 && !done; n++) {
    char name[32];
    snprintf(name, sizeof name, "t%ld", n);
    floe_catalog_ident t = {"ns", name};
    floe_catalog_table table = {0};
    char *next = NULL;
    floe_alloc_fail_after(n);
    int rc = floe_catalog_table_create(cat, t, NULL, META("{}"), &table, &err);
    if (rc == FLOE_OK)
      rc = floe_catalog_commit(cat, t, table.metadata_location,
                               META("{\"n\":1}"), &next, &err);
    floe_alloc_fail_after(0);
    if (rc == FLOE_OK) done = 1;
    else if (rc != FLOE_ENOMEM) {
      CHECK_INT_EQ(rc, FLOE_ENOMEM);
      fprintf(stderr, "    n=%ld: %s\n", n, err.message);
      done = 1;
    }
    floe_catalog_table_reset(&table);
    floe_free(next);
  }
  CHECK(done);
  floe_catalog_free(cat);
}
FOR_EACH_KIND(allocation_failures_are_clean)

int main(void) {
  pg_start();
  RUN_EACH_KIND(namespaces_create_list_exists_drop);
  RUN_EACH_KIND(tables_create_load_commit_list_rename_drop);
  RUN_EACH_KIND(stale_commit_conflicts_and_pointer_is_unchanged);
  RUN_EACH_KIND(reopened_catalog_sees_committed_state);
  RUN(test_hadoop_lagging_or_missing_hint_is_recovered);
  RUN(test_hadoop_reads_file_uri_warehouse_and_refuses_custom_location);
  RUN(test_sqlite_schema_matches_jdbc_catalog);
  RUN(test_postgres_schema_matches_jdbc_catalog);
  RUN(test_sqlite_reads_v0_schema_and_pyiceberg_rows);
  RUN(test_sqlite_busy_database_is_retried_then_reported);
  RUN(test_errors_name_paths_and_database_text);
  RUN_EACH_KIND(allocation_failures_are_clean);
  pg_stop();
  return test_report();
}
