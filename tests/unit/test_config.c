/*
 * Unit tests of config/: the YAML job file mapped onto floe_config, defaults
 * inheritance, ${...} interpolation and secrets, command-line overrides,
 * every validation message (exact text with file:line:col and suggestion),
 * YAML syntax errors from libyaml's problem mark, partition spec parsing,
 * the dump (which must load back to the same configuration), the sample
 * and every example in examples/, and allocation failure at every step.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/buffer.h"
#include "floe/config.h"
#include "test.h"

#define CONFIG_DIR FLOE_SOURCE_DIR "/tests/unit/config"

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

/* Loads tests/unit/config/<name> under the name <name>, so that messages
 * read "<name>:line:col: ...". */
static int load_input(floe_config *cfg, const char *name, const char *const *overrides,
                      size_t n, floe_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", CONFIG_DIR, name);
  const char *text = read_text(path);
  if (text == NULL) {
    floe_config_init(cfg);
    return floe_error_set(err, FLOE_ENOTFOUND, "missing test input %s", path);
  }
  return floe_config_load_string(cfg, name, text, strlen(text), overrides, n, err);
}

static int load_text(floe_config *cfg, const char *text, const char *const *overrides,
                     size_t n, floe_error *err) {
  return floe_config_load_string(cfg, "floe.yaml", text, strlen(text), overrides, n, err);
}

/* Checks that the load reported exactly `expected` (NULL-terminated). */
static void check_messages(const floe_config *cfg, const char *const *expected, const char *file,
                           int line) {
  size_t n = 0;
  while (expected[n] != NULL) n++;
  size_t got = floe_config_error_count(cfg);
  for (size_t i = 0; i < n || i < got; i++) {
    const char *g = i < got ? floe_config_error_message(cfg, i) : "(none)";
    const char *e = i < n ? expected[i] : "(none)";
    if (strcmp(g, e) != 0)
      TEST_FAIL_AT(file, line, "message %zu:\n      got      %s\n      expected %s", i, g, e);
  }
}
#define CHECK_MESSAGES(cfg, ...)                                        \
  do {                                                                  \
    const char *const expected_[] = {__VA_ARGS__, NULL};                \
    check_messages((cfg), expected_, __FILE__, __LINE__);               \
  } while (0)

/* The one message a small config produces. */
#define CHECK_ONE_ERROR(text, expected_message)                                  \
  do {                                                                  \
    floe_config cfg_;                                                   \
    floe_error err_;                                                    \
    floe_error_init(&err_);                                             \
    CHECK_INT_EQ(load_text(&cfg_, (text), NULL, 0, &err_), FLOE_EINVAL); \
    CHECK_MESSAGES(&cfg_, (expected_message));                          \
    CHECK_STR_EQ(err_.message, (expected_message));                     \
    floe_config_free(&cfg_);                                            \
  } while (0)

#define HEADER                                                          \
  "version: 1\nsource:\n  type: sqlite\n  path: ./s.db\ntarget:\n  warehouse: ./w\n"

/* ---- the full file -------------------------------------------------------- */

static void test_full_config_maps_every_field(void) {
  floe_config cfg;
  floe_error err;
  floe_error_init(&err);
  int rc = floe_config_load(&cfg, CONFIG_DIR "/full.yaml", NULL, 0, &err);
  if (rc != 0) {
    for (size_t i = 0; i < floe_config_error_count(&cfg); i++)
      printf("    %s\n", floe_config_error_message(&cfg, i));
  }
  REQUIRE(rc == FLOE_OK);
  CHECK_INT_EQ(cfg.version, 1);
  CHECK_INT_EQ(cfg.source.type, FLOE_CONFIG_SOURCE_POSTGRES);
  CHECK_STR_EQ(cfg.source.conninfo, "host=127.0.0.1 port=5432 dbname=shop user=floe");
  CHECK_STR_EQ(cfg.source.password_env, "PGPASSWORD");
  CHECK(cfg.source.password == NULL);
  CHECK(cfg.source.path == NULL);
  CHECK_INT_EQ(cfg.source.timeout_s, 120);
  /* Relative paths are resolved against the file's directory. */
  CHECK_STR_EQ(cfg.target.warehouse, CONFIG_DIR "/warehouse");
  CHECK_INT_EQ(cfg.target.catalog.type, FLOE_CONFIG_CATALOG_SQL);
  CHECK_STR_EQ(cfg.target.catalog.uri, "sqlite:" CONFIG_DIR "/catalog.db");
  CHECK_STR_EQ(cfg.target.catalog.name, "lake");
  CHECK_STR_EQ(cfg.target.default_namespace, "analytics");
  REQUIRE(cfg.target.n_properties == 2);
  CHECK_STR_EQ(cfg.target.properties[0].key, "write.parquet.compression-codec");
  CHECK_STR_EQ(cfg.target.properties[0].value, "zstd");
  CHECK_STR_EQ(cfg.target.properties[1].key, "write.target-file-size-bytes");
  CHECK_STR_EQ(cfg.target.properties[1].value, "536_870_912");
  CHECK_STR_EQ(cfg.control.table, "floe_control");
  CHECK_INT_EQ(cfg.control.location, FLOE_CONTROL_IN_SOURCE);
  CHECK_STR_EQ(cfg.control.schema, "ops");
  CHECK_INT_EQ(cfg.logging.level, FLOE_LOG_DEBUG);
  CHECK_INT_EQ(cfg.logging.format, FLOE_LOG_JSON);
  CHECK(cfg.logging.file == NULL);
  CHECK_STR_EQ(cfg.run.report, CONFIG_DIR "/run-report.json");
  CHECK_INT_EQ(cfg.run.durability, FLOE_DURABILITY_NONE);
  REQUIRE(cfg.n_tables == 4);

  const floe_config_table *t = &cfg.tables[0];
  CHECK_STR_EQ(t->name, "orders");
  CHECK_STR_EQ(t->source, "public.orders");
  CHECK_STR_EQ(t->target_namespace, "sales");
  CHECK_STR_EQ(t->target_name, "orders");
  CHECK_INT_EQ(t->strategy, FLOE_STRATEGY_CHUNKED);
  CHECK_STR_EQ(t->batch_column, "batch_sk");
  CHECK(t->cursor_column == NULL);
  CHECK_INT_EQ(t->chunk.by, FLOE_CHUNK_BY_ROWS);
  CHECK_INT_EQ(t->chunk.rows, 100000);
  REQUIRE(t->n_partition_by == 2);
  CHECK_INT_EQ(t->partition_by[0].transform, FLOE_CONFIG_TRANSFORM_DAY);
  CHECK_INT_EQ(t->partition_by[0].argument, 0);
  CHECK_STR_EQ(t->partition_by[0].column, "order_ts");
  CHECK_INT_EQ(t->partition_by[1].transform, FLOE_CONFIG_TRANSFORM_BUCKET);
  CHECK_INT_EQ(t->partition_by[1].argument, 16);
  CHECK_STR_EQ(t->partition_by[1].column, "customer_id");
  CHECK_INT_EQ(t->mode, FLOE_MODE_MERGE);
  CHECK_INT_EQ(t->overwrite, FLOE_OVERWRITE_RANGE);
  REQUIRE(t->n_primary_key == 1);
  CHECK_STR_EQ(t->primary_key[0], "order_id");
  CHECK_INT_EQ(t->merge.deletes, FLOE_DELETES_EQUALITY);
  CHECK_STR_EQ(t->merge.order_by, "batch_sk");
  CHECK_INT_EQ(t->cdc.type, FLOE_CDC_OP_COLUMN);
  CHECK_STR_EQ(t->cdc.column, "op");
  CHECK_STR_EQ(t->cdc.insert_value, "I");
  CHECK_STR_EQ(t->cdc.update_value, "U");
  CHECK_STR_EQ(t->cdc.delete_value, "X");
  CHECK_STR_EQ(t->cdc.sequence, "seq");
  CHECK(t->cdc.stream == NULL);
  CHECK(t->validate.count);
  CHECK(t->validate.checksum);
  CHECK(t->partition_column == NULL);
  CHECK_STR_EQ(t->where, "status <> 'test'");
  REQUIRE(t->n_properties == 3);
  CHECK_STR_EQ(t->properties[0].key, "write.parquet.compression-codec");
  CHECK_STR_EQ(t->properties[0].value, "zstd");
  CHECK_STR_EQ(t->properties[1].key, "write.target-file-size-bytes");
  CHECK_STR_EQ(t->properties[1].value, "134217728");
  CHECK_STR_EQ(t->properties[2].key, "commit.retry.num-retries");
  CHECK_STR_EQ(t->properties[2].value, "8");
  CHECK_INT_EQ(t->location.line, 35);
  CHECK_INT_EQ(t->location.column, 3);

  t = &cfg.tables[1];
  CHECK_STR_EQ(t->name, "customers");
  CHECK_STR_EQ(t->source, "customers");
  CHECK_STR_EQ(t->target_namespace, "analytics");
  CHECK_STR_EQ(t->target_name, "customers");
  CHECK_INT_EQ(t->strategy, FLOE_STRATEGY_INCREMENTAL);
  CHECK(t->batch_column == NULL); /* the table's cursor replaces the default */
  CHECK_STR_EQ(t->cursor_column, "updated_at");
  CHECK_INT_EQ(t->chunk.by, FLOE_CHUNK_BY_BATCH);
  CHECK_INT_EQ(t->mode, FLOE_MODE_OVERWRITE);
  CHECK_INT_EQ(t->overwrite, FLOE_OVERWRITE_PARTITIONS);
  REQUIRE(t->n_partition_by == 2);
  CHECK_INT_EQ(t->partition_by[0].transform, FLOE_CONFIG_TRANSFORM_TRUNCATE);
  CHECK_INT_EQ(t->partition_by[0].argument, 4);
  CHECK_STR_EQ(t->partition_by[0].column, "Postal Code");
  CHECK_INT_EQ(t->partition_by[1].transform, FLOE_CONFIG_TRANSFORM_IDENTITY);
  CHECK_STR_EQ(t->partition_by[1].column, "customer_id");
  CHECK_INT_EQ(t->n_primary_key, 0);
  CHECK_INT_EQ(t->cdc.type, FLOE_CDC_NONE);
  CHECK(t->validate.count);
  CHECK(!t->validate.checksum);
  CHECK_INT_EQ(t->n_properties, 2);

  t = &cfg.tables[2];
  CHECK_STR_EQ(t->name, "daily");
  CHECK_INT_EQ(t->strategy, FLOE_STRATEGY_PARTITION);
  CHECK_STR_EQ(t->partition_column, "sale_date");
  CHECK_STR_EQ(t->target_namespace, "analytics");
  CHECK_STR_EQ(t->target_name, "daily_sales");
  CHECK_INT_EQ(t->overwrite, FLOE_OVERWRITE_RANGE);

  t = &cfg.tables[3];
  CHECK_STR_EQ(t->name, "snapshot");
  CHECK_INT_EQ(t->strategy, FLOE_STRATEGY_FULL);
  CHECK_INT_EQ(t->mode, FLOE_MODE_OVERWRITE);
  CHECK_INT_EQ(t->overwrite, FLOE_OVERWRITE_TABLE); /* full replaces the table */

  CHECK(floe_config_table_find(&cfg, "daily") == &cfg.tables[2]);
  CHECK(floe_config_table_find(&cfg, "nope") == NULL);
  CHECK_INT_EQ(floe_config_error_count(&cfg), 0);
  floe_config_free(&cfg);
  floe_config_free(&cfg); /* idempotent */
  floe_config_free(NULL);
}

static void test_run_threads_is_a_bounded_positive_count(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, HEADER "run: {threads: 3}\ntables:\n  orders:\n", NULL, 0, &err),
             &err);
  CHECK_INT_EQ(cfg.run.threads, 3);
  floe_config_free(&cfg);
  CHECK_ONE_ERROR(HEADER "run: {threads: 0}\ntables: {t: {}}\n",
                  "floe.yaml:7:16: run.threads: must be at least 1, got '0'");
  CHECK_ONE_ERROR(HEADER "run: {threads: 300}\ntables: {t: {}}\n",
                  "floe.yaml:7:16: run.threads: at most 256 threads, got 300");
  CHECK_ONE_ERROR(HEADER "run: {threads: many}\ntables: {t: {}}\n",
                  "floe.yaml:7:16: run.threads: integer expected, got 'many'");
}

static void test_merge_memory_mb_and_spill_dir(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg,
                       HEADER "run: {spill_dir: /var/tmp/floe}\n"
                              "defaults: {merge: {memory_mb: 64}}\n"
                              "tables:\n  orders: {}\n  lines: {merge: {memory_mb: 512}}\n",
                       NULL, 0, &err),
             &err);
  CHECK_STR_EQ(cfg.run.spill_dir, "/var/tmp/floe");
  REQUIRE(cfg.n_tables == 2);
  CHECK_INT_EQ(floe_config_table_find(&cfg, "orders")->merge.memory_mb, 64);
  CHECK_INT_EQ(floe_config_table_find(&cfg, "lines")->merge.memory_mb, 512);
  floe_config_free(&cfg);
  REQUIRE_OK(load_text(&cfg, HEADER "tables:\n  orders: {}\n", NULL, 0, &err), &err);
  CHECK(cfg.run.spill_dir == NULL);
  CHECK_INT_EQ(cfg.tables[0].merge.memory_mb, 0); /* 0: the default, 128 MiB */
  floe_config_free(&cfg);
  CHECK_ONE_ERROR(HEADER "tables: {t: {merge: {memory_mb: 0}}}\n",
                  "floe.yaml:7:33: tables.t.merge.memory_mb: must be at least 1, got '0'");
}

/* partition_by written (even empty) is told apart from absent: only a
 * written one evolves an existing table's spec; sort_by likewise, and both
 * inherit from defaults. */
static void test_partition_by_and_sort_by_presence(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg,
                       HEADER "defaults: {sort_by: [ts desc]}\n"
                              "tables:\n  a: {}\n  b: {partition_by: []}\n"
                              "  c: {partition_by: [day(ts)], sort_by: [id, \"ts desc nulls first\"]}\n"
                              "  d: {partition_by: null, sort_by: []}\n",
                       NULL, 0, &err),
             &err);
  REQUIRE(cfg.n_tables == 4);
  CHECK(!cfg.tables[0].has_partition_by);
  CHECK(cfg.tables[0].has_sort_by);
  CHECK_INT_EQ(cfg.tables[0].n_sort_by, 1);
  CHECK_STR_EQ(cfg.tables[0].sort_by[0], "ts desc");
  CHECK(cfg.tables[1].has_partition_by);
  CHECK_INT_EQ(cfg.tables[1].n_partition_by, 0);
  CHECK(cfg.tables[2].has_partition_by);
  CHECK_INT_EQ(cfg.tables[2].n_partition_by, 1);
  CHECK_INT_EQ(cfg.tables[2].n_sort_by, 2);
  CHECK_STR_EQ(cfg.tables[2].sort_by[1], "ts desc nulls first");
  CHECK(cfg.tables[3].has_partition_by);
  CHECK_INT_EQ(cfg.tables[3].n_partition_by, 0);
  CHECK(cfg.tables[3].has_sort_by);
  CHECK_INT_EQ(cfg.tables[3].n_sort_by, 0);
  floe_config_free(&cfg);
}

/* metadata_columns: true (all four, default names), a mapping (true: the
 * default name, a string: that name, false/null: not added), inherited
 * from defaults; names must differ; unknown keys are reported. */
static void test_metadata_columns_forms(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg,
                       HEADER "defaults: {metadata_columns: true}\n"
                              "tables:\n  a: {}\n"
                              "  b: {metadata_columns: {batch_sk: true, op: change_op, run_id: false}}\n"
                              "  c: {metadata_columns: false}\n",
                       NULL, 0, &err),
             &err);
  REQUIRE(cfg.n_tables == 3);
  const floe_config_metadata_columns *a = &cfg.tables[0].metadata_columns;
  CHECK_STR_EQ(a->batch_sk, "_floe_batch_sk");
  CHECK_STR_EQ(a->loaded_at, "_floe_loaded_at");
  CHECK_STR_EQ(a->run_id, "_floe_run_id");
  CHECK_STR_EQ(a->op, "_floe_op");
  const floe_config_metadata_columns *b = &cfg.tables[1].metadata_columns;
  CHECK_STR_EQ(b->batch_sk, "_floe_batch_sk");
  CHECK_STR_EQ(b->loaded_at, "_floe_loaded_at"); /* from defaults */
  CHECK(b->run_id == NULL);
  CHECK_STR_EQ(b->op, "change_op");
  const floe_config_metadata_columns *c = &cfg.tables[2].metadata_columns;
  CHECK(c->batch_sk == NULL && c->loaded_at == NULL && c->run_id == NULL && c->op == NULL);
  floe_config_free(&cfg);
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {metadata_columns: {batch: x}}\n",
                  "floe.yaml:8:26: tables.t.metadata_columns.batch: unknown key (expected "
                  "batch_sk, loaded_at, run_id or op)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {metadata_columns: {run_id: x, op: X}}\n",
                  "floe.yaml:8:25: tables.t.metadata_columns: run_id and op have the same name "
                  "'X'");
}

static void test_minimal_config_gets_documented_defaults(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, HEADER "tables:\n  orders:\n", NULL, 0, &err), &err);
  CHECK_INT_EQ(cfg.target.catalog.type, FLOE_CONFIG_CATALOG_HADOOP);
  CHECK_STR_EQ(cfg.target.catalog.name, "floe");
  CHECK_STR_EQ(cfg.target.default_namespace, "default");
  CHECK_STR_EQ(cfg.control.table, "floe_control");
  CHECK(cfg.control.schema == NULL);
  CHECK_INT_EQ(cfg.logging.level, FLOE_LOG_INFO);
  CHECK_INT_EQ(cfg.logging.format, FLOE_LOG_LOGFMT);
  CHECK_INT_EQ(cfg.run.durability, FLOE_DURABILITY_FSYNC);
  CHECK(cfg.run.report == NULL);
  CHECK_INT_EQ(cfg.run.threads, 0); /* 0: as many as the machine has cores */
  CHECK_INT_EQ(cfg.source.timeout_s, 600);
  /* load_string leaves relative paths as written. */
  CHECK_STR_EQ(cfg.source.path, "./s.db");
  REQUIRE(cfg.n_tables == 1);
  const floe_config_table *t = &cfg.tables[0];
  CHECK_STR_EQ(t->source, "orders");
  CHECK_STR_EQ(t->target_namespace, "default");
  CHECK_STR_EQ(t->target_name, "orders");
  CHECK_INT_EQ(t->strategy, FLOE_STRATEGY_INCREMENTAL);
  CHECK_STR_EQ(t->batch_column, "batch_sk");
  CHECK_INT_EQ(t->mode, FLOE_MODE_APPEND);
  CHECK_INT_EQ(t->overwrite, FLOE_OVERWRITE_RANGE);
  CHECK_INT_EQ(t->merge.deletes, FLOE_DELETES_POSITION);
  CHECK(t->merge.order_by == NULL);
  CHECK(t->validate.count);
  CHECK(!t->validate.checksum);
  CHECK_INT_EQ(t->n_partition_by, 0);
  CHECK_INT_EQ(t->n_properties, 0);
  floe_config_free(&cfg);
}

/* ---- defaults -------------------------------------------------------------- */

static void test_tables_inherit_defaults_deeply(void) {
  const char *text = HEADER
      "  properties: {a: '1', b: '2'}\n"
      "defaults:\n"
      "  strategy: chunked\n"
      "  chunk: {by: rows, rows: 5000}\n"
      "  mode: merge\n"
      "  primary_key: [id]\n"
      "  merge: {deletes: copy_on_write, order_by: seq}\n"
      "  validate: {count: false, checksum: false}\n"
      "  properties: {b: '3'}\n"
      "tables:\n"
      "  one:\n"
      "    validate: {checksum: true}\n"
      "    chunk: {rows: 10}\n"
      "    merge: {deletes: equality}\n"
      "  two:\n"
      "    primary_key: [k1, k2]\n"
      "    properties: {a: null, c: x}\n"
      "  three:\n"
      "    cdc: {type: hash_diff}\n"
      "    strategy: full\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  REQUIRE(cfg.n_tables == 3);
  const floe_config_table *one = &cfg.tables[0], *two = &cfg.tables[1], *three = &cfg.tables[2];
  /* validate: {checksum: true} keeps the inherited count: false */
  CHECK(!one->validate.count);
  CHECK(one->validate.checksum);
  CHECK(!two->validate.count && !two->validate.checksum);
  CHECK_INT_EQ(one->strategy, FLOE_STRATEGY_CHUNKED);
  CHECK_INT_EQ(one->chunk.by, FLOE_CHUNK_BY_ROWS);
  CHECK_INT_EQ(one->chunk.rows, 10);
  CHECK_INT_EQ(two->chunk.rows, 5000);
  CHECK_INT_EQ(one->merge.deletes, FLOE_DELETES_EQUALITY);
  CHECK_STR_EQ(one->merge.order_by, "seq");
  CHECK_INT_EQ(two->merge.deletes, FLOE_DELETES_COPY_ON_WRITE);
  REQUIRE(one->n_primary_key == 1);
  CHECK_STR_EQ(one->primary_key[0], "id");
  REQUIRE(two->n_primary_key == 2);
  CHECK_STR_EQ(two->primary_key[1], "k2");
  /* target properties, then defaults', then the table's; null removes. */
  REQUIRE(one->n_properties == 2);
  CHECK_STR_EQ(one->properties[0].key, "a");
  CHECK_STR_EQ(one->properties[0].value, "1");
  CHECK_STR_EQ(one->properties[1].value, "3");
  REQUIRE(two->n_properties == 2);
  CHECK_STR_EQ(two->properties[0].key, "b");
  CHECK_STR_EQ(two->properties[1].key, "c");
  CHECK_INT_EQ(three->cdc.type, FLOE_CDC_HASH_DIFF);
  CHECK_INT_EQ(three->strategy, FLOE_STRATEGY_FULL);
  CHECK_INT_EQ(three->overwrite, FLOE_OVERWRITE_TABLE);
  floe_config_free(&cfg);
}

static void test_cursor_column_and_batch_column_replace_each_other(void) {
  const char *text = HEADER
      "defaults:\n"
      "  cursor_column: updated_at\n"
      "tables:\n"
      "  a: {}\n"
      "  b: {batch_column: load_id}\n"
      "  c: {cursor_column: null, batch_column: null, strategy: full}\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  CHECK(cfg.tables[0].batch_column == NULL);
  CHECK_STR_EQ(cfg.tables[0].cursor_column, "updated_at");
  CHECK_STR_EQ(cfg.tables[1].batch_column, "load_id");
  CHECK(cfg.tables[1].cursor_column == NULL);
  CHECK(cfg.tables[2].batch_column == NULL && cfg.tables[2].cursor_column == NULL);
  floe_config_free(&cfg);
}

/* ---- interpolation ------------------------------------------------------- */

static void test_env_interpolation_with_defaults_and_escape(void) {
  setenv("FLOE_T_DIR", "/data", 1);
  setenv("FLOE_T_EMPTY", "", 1);
  setenv("FLOE_T_ROWS", "2500", 1);
  unsetenv("FLOE_T_UNSET");
  const char *text =
      "source:\n"
      "  type: sqlite\n"
      "  path: ${FLOE_T_DIR}/src.db\n"
      "target:\n"
      "  warehouse: ${FLOE_T_UNSET:-/lake}\n"
      "  namespace: ${FLOE_T_EMPTY:-fallback}\n"
      "tables:\n"
      "  t:\n"
      "    chunk: {rows: '${FLOE_T_ROWS}'}\n"
      "    strategy: chunked\n"
      "    where: \"note = '$${literal}' and cost > 5$\"\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  CHECK_STR_EQ(cfg.source.path, "/data/src.db");
  CHECK_STR_EQ(cfg.target.warehouse, "/lake");
  CHECK_STR_EQ(cfg.target.default_namespace, "fallback");
  CHECK_INT_EQ(cfg.tables[0].chunk.rows, 2500);
  CHECK_STR_EQ(cfg.tables[0].where, "note = '${literal}' and cost > 5$");
  floe_config_free(&cfg);
}

static void test_missing_env_variable_names_variable_file_and_line(void) {
  unsetenv("FLOE_T_PGPASS");
  const char *text = HEADER
      "  namespace: ${FLOE_T_UNSET_NS}\n"
      "tables:\n"
      "  t: {where: 'a = ${FLOE_T_X'}\n";
  floe_config cfg;
  floe_error err;
  CHECK_INT_EQ(load_text(&cfg, text, NULL, 0, &err), FLOE_EINVAL);
  CHECK_MESSAGES(&cfg,
                 "floe.yaml:7:14: target.namespace: environment variable FLOE_T_UNSET_NS is "
                 "not set (referenced as ${FLOE_T_UNSET_NS}; write ${FLOE_T_UNSET_NS:-default} "
                 "for a fallback)",
                 "floe.yaml:9:14: tables.t.where: unterminated ${ (write $${ for a literal ${)");
  CHECK_STR_EQ(err.message,
               "floe.yaml:7:14: target.namespace: environment variable FLOE_T_UNSET_NS is not "
               "set (referenced as ${FLOE_T_UNSET_NS}; write ${FLOE_T_UNSET_NS:-default} for "
               "a fallback) (and 1 more error)");
  floe_config_free(&cfg);
}

static void test_interpolated_values_never_appear_in_messages(void) {
  setenv("FLOE_T_SECRET_MODE", "hunter2", 1);
  setenv("FLOE_T_ROWS_BAD", "s3cr3t", 1);
  const char *text = HEADER
      "tables:\n"
      "  t:\n"
      "    mode: ${FLOE_T_SECRET_MODE}\n"
      "    chunk: {by: rows, rows: '${FLOE_T_ROWS_BAD:-9}'}\n";
  floe_config cfg;
  floe_error err;
  CHECK_INT_EQ(load_text(&cfg, text, NULL, 0, &err), FLOE_EINVAL);
  CHECK_MESSAGES(&cfg,
                 "floe.yaml:9:11: tables.t.mode: unknown value (value from "
                 "${FLOE_T_SECRET_MODE}) (expected append, overwrite or merge)",
                 "floe.yaml:10:29: tables.t.chunk.rows: integer expected, got (value from "
                 "${FLOE_T_ROWS_BAD})");
  CHECK(strstr(err.message, "hunter2") == NULL);
  floe_config_free(&cfg);
}

static void test_file_secret_is_read_trimmed_and_redacted(void) {
  char secret_path[] = "/tmp/floe-config-secret-XXXXXX";
  int fd = mkstemp(secret_path);
  REQUIRE(fd >= 0);
  FILE *f = fdopen(fd, "w");
  REQUIRE(f != NULL);
  fputs("p@ss word\n\n", f);
  fclose(f);
  char text[8192];
  snprintf(text, sizeof text,
           "source:\n"
           "  type: postgres\n"
           "  conninfo: \"host=db user=floe password=${file:%s}\"\n"
           "  password: ${file:%s}\n"
           "target: {warehouse: ./w}\n"
           "tables: {t: {}}\n",
           secret_path, secret_path);
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  CHECK_STR_EQ(cfg.source.password, "p@ss word");
  CHECK_STR_EQ(cfg.source.conninfo, "host=db user=floe password=p@ss word");
  floe_buf out = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &out, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&out), &err);
  const char *dump = (const char *)out.data;
  CHECK(strstr(dump, "p@ss") == NULL);
  CHECK(strstr(dump, "  conninfo: \"***\"\n") != NULL);
  CHECK(strstr(dump, "  password: \"***\"\n") != NULL);
  floe_buf_free(&out);
  floe_config_free(&cfg);
  unlink(secret_path);

  /* A missing secret file names the file, never a value. */
  CHECK_ONE_ERROR(HEADER "  namespace: ${file:/nonexistent/floe-secret}\ntables: {t: {}}\n",
                  "floe.yaml:7:14: target.namespace: cannot read secret file "
                  "/nonexistent/floe-secret: No such file or directory");
}

static void test_secret_looking_env_values_are_redacted_in_dump(void) {
  setenv("FLOE_T_PG_PASSWORD", "Zq9-secret", 1);
  setenv("FLOE_T_CATALOG", "postgresql://cat:hide-me@host/db", 1);
  const char *text =
      "source:\n"
      "  type: postgres\n"
      "  conninfo: 'host=h password=${FLOE_T_PG_PASSWORD} dbname=x'\n"
      "target:\n"
      "  warehouse: /w\n"
      "  catalog: {type: sql, uri: '${FLOE_T_CATALOG}'}\n"
      "tables: {t: {}}\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  floe_buf out = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &out, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&out), &err);
  const char *dump = (const char *)out.data;
  CHECK(strstr(dump, "Zq9") == NULL);
  CHECK(strstr(dump, "hide-me") == NULL);
  CHECK(strstr(dump, "    uri: \"postgresql://cat:***@host/db\"\n") != NULL);
  floe_buf_free(&out);
  floe_config_free(&cfg);

  /* Inline passwords are masked too, without interpolation. */
  text = "source: {type: postgres, conninfo: \"host=h password='a b' user=u\"}\n"
         "target: {warehouse: /w}\ntables: {t: {}}\n";
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  floe_buf_init(&out);
  REQUIRE_OK(floe_config_dump(&cfg, &out, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&out), &err);
  CHECK(strstr((const char *)out.data, "  conninfo: \"host=h password=*** user=u\"\n") != NULL);
  floe_buf_free(&out);
  floe_config_free(&cfg);
}

/* ---- overrides ------------------------------------------------------------- */

static void test_overrides_edit_scalars_lists_and_nested_keys(void) {
  const char *text = HEADER
      "  properties: {write.format.default: parquet}\n"
      "tables:\n"
      "  orders:\n"
      "    mode: append\n"
      "    primary_key: [order_id]\n";
  const char *const overrides[] = {
      "tables.orders.mode=merge",
      "source.path=/tmp/x.db",
      "tables.orders.partition_by=[day(ts), bucket(8, id)]",
      "defaults.validate.checksum=true",
      "target.properties.write.format.default=orc",
      "target.properties.write.metadata.delete-after-commit.enabled=true",
      "tables.orders.cursor_column=updated_at",
      "tables.orders.batch_column=null",
      "tables.orders.where=\"a = 'x: y'\"",
      "target.catalog.type=hadoop",
  };
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, overrides, sizeof overrides / sizeof overrides[0], &err),
             &err);
  const floe_config_table *t = &cfg.tables[0];
  CHECK_INT_EQ(t->mode, FLOE_MODE_MERGE);
  CHECK_STR_EQ(cfg.source.path, "/tmp/x.db");
  REQUIRE(t->n_partition_by == 2);
  CHECK_INT_EQ(t->partition_by[0].transform, FLOE_CONFIG_TRANSFORM_DAY);
  CHECK_STR_EQ(t->partition_by[0].column, "ts");
  CHECK_INT_EQ(t->partition_by[1].transform, FLOE_CONFIG_TRANSFORM_BUCKET);
  CHECK_INT_EQ(t->partition_by[1].argument, 8);
  CHECK(t->validate.checksum);
  CHECK(t->validate.count);
  CHECK_STR_EQ(t->cursor_column, "updated_at");
  CHECK(t->batch_column == NULL);
  CHECK_STR_EQ(t->where, "a = 'x: y'");
  REQUIRE(cfg.target.n_properties == 2);
  CHECK_STR_EQ(cfg.target.properties[0].value, "orc");
  CHECK_STR_EQ(cfg.target.properties[1].key, "write.metadata.delete-after-commit.enabled");
  CHECK_INT_EQ(cfg.target.catalog.type, FLOE_CONFIG_CATALOG_HADOOP);
  floe_config_free(&cfg);
}

static void test_override_errors_suggest_the_right_key(void) {
  const char *text = HEADER "tables:\n  orders: {}\n";
  const char *const overrides[] = {
      "tables.orders.stratgy=full",
      "tables.ordrs.mode=merge",
      "tables.orders.mode=upsert",
      "source.path.x=1",
      "nonsense",
      "tables.orders.partition_by=[day(ts)",
  };
  floe_config cfg;
  floe_error err;
  CHECK_INT_EQ(load_text(&cfg, text, overrides, 6, &err), FLOE_EINVAL);
  CHECK_MESSAGES(&cfg,
                 "override: tables.ordrs: no table named 'ordrs' in floe.yaml (did you mean "
                 "orders?)",
                 "override: source.path.x: source.path is a single value, not a mapping",
                 "override: nonsense: expected key.path=value",
                 "override: tables.orders.partition_by: YAML syntax error in the value: "
                 "did not find expected ',' or ']'",
                 "override: tables.orders.stratgy: unknown key (did you mean strategy?)",
                 "override: tables.orders.mode: unknown value 'upsert' (expected append, "
                 "overwrite or merge; did you mean merge?)");
  floe_config_free(&cfg);
}

/* ---- validation ------------------------------------------------------------ */

static void test_all_errors_are_reported_with_location_and_suggestion(void) {
  floe_config cfg;
  floe_error err;
  CHECK_INT_EQ(load_input(&cfg, "many_errors.yaml", NULL, 0, &err), FLOE_EINVAL);
  CHECK_MESSAGES(
      &cfg,
      "many_errors.yaml:8:11: target.catalog.type: unknown value 'glue' (expected sql, hadoop "
      "or rest)",
      "many_errors.yaml:10:9: defaults.mode: unknown value 'upsert' (expected append, "
      "overwrite or merge; did you mean merge?)",
      "many_errors.yaml:13:5: tables.orders.stratgy: unknown key (did you mean strategy?)",
      "many_errors.yaml:14:11: tables.orders.mode: unknown value 'upsert' (expected append, "
      "overwrite or merge; did you mean merge?)",
      "many_errors.yaml:15:18: tables.orders.primary_key: list expected, got a single value "
      "(write [order_id])",
      "many_errors.yaml:16:5: tables.orders.chunk.rows: missing (chunk.by rows needs rows: N, "
      "e.g. rows: 100000)",
      "many_errors.yaml:17:20: tables.orders.partition_by[0]: bad partition field "
      "'dya(order_ts)': unknown transform 'dya' (expected identity, bucket, truncate, year, "
      "month, day, hour or void; did you mean day?)",
      "many_errors.yaml:17:35: tables.orders.partition_by[1]: bad partition field "
      "'bucket(customer_id)': bucket needs a count: bucket(N, column)",
      "many_errors.yaml:20:5: tables.events.cursor_column: both batch_column and "
      "cursor_column are set; a table advances by one of them (remove one)",
      "many_errors.yaml:21:5: tables.events.cdc.column: missing (cdc type op_column needs the "
      "operation column, e.g. column: op)",
      "many_errors.yaml:24:15: tables.daily.partition_column: missing (strategy partition "
      "loads one value of partition_column at a time)",
      "many_errors.yaml:25:23: tables.daily.validate.count: true or false expected, got "
      "'maybe'",
      "many_errors.yaml:26:13: tables.daily.source: a string expected, got a list");
  CHECK(strstr(err.message, "many_errors.yaml:8:11: target.catalog.type: unknown value "
                            "'glue'") == err.message);
  CHECK(strstr(err.message, "(and 12 more errors)") != NULL);
  floe_config_free(&cfg);
}

static void test_each_invalid_combination_has_its_message(void) {
  CHECK_ONE_ERROR(HEADER "tables:\n  t:\n    stratgy: full\n",
                  "floe.yaml:9:5: tables.t.stratgy: unknown key (did you mean strategy?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t:\n    mode: upsert\n",
                  "floe.yaml:9:11: tables.t.mode: unknown value 'upsert' (expected append, "
                  "overwrite or merge; did you mean merge?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {batch_column: b, cursor_column: c}\n",
                  "floe.yaml:8:24: tables.t.cursor_column: both batch_column and cursor_column "
                  "are set; a table advances by one of them (remove one)");
  CHECK_ONE_ERROR(HEADER "defaults: {batch_column: b, cursor_column: c}\ntables: {t: {}}\n",
                  "floe.yaml:7:29: defaults.cursor_column: both batch_column and cursor_column "
                  "are set; a table advances by one of them (remove one)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {strategy: chunked, chunk: {by: rows}}\n",
                  "floe.yaml:8:26: tables.t.chunk.rows: missing (chunk.by rows needs rows: N, "
                  "e.g. rows: 100000)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: merge, cdc: {type: op_column}}\n",
                  "floe.yaml:8:20: tables.t.cdc.column: missing (cdc type op_column needs the "
                  "operation column, e.g. column: op)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {strategy: partition}\n",
                  "floe.yaml:8:17: tables.t.partition_column: missing (strategy partition loads "
                  "one value of partition_column at a time)");
  CHECK_ONE_ERROR(HEADER "  catalog: {type: glue}\ntables: {t: {}}\n",
                  "floe.yaml:7:19: target.catalog.type: unknown value 'glue' (expected sql, "
                  "hadoop or rest)");
  CHECK_ONE_ERROR(HEADER "  catalog: {type: jdbc, uri: 'sqlite:c.db'}\ntables: {t: {}}\n",
                  "floe.yaml:7:19: target.catalog.type: unknown value 'jdbc' (expected sql, "
                  "hadoop or rest; did you mean sql?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {partition_by: ['bucket(16 id)']}\n",
                  "floe.yaml:8:22: tables.t.partition_by[0]: bad partition field "
                  "'bucket(16 id)': bucket needs a column after the count: bucket(N, column)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {partition_by: [day(ts]}\n",
                  "floe.yaml:8:22: tables.t.partition_by[0]: bad partition field 'day(ts': "
                  "missing ')' after the column");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {partition_by: day(ts)}\n",
                  "floe.yaml:8:21: tables.t.partition_by: list expected, got a single value "
                  "(write [day(ts)])");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {chunk: {rows: many}, strategy: chunked}\n",
                  "floe.yaml:8:21: tables.t.chunk.rows: integer expected, got 'many'");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {chunk: {rows: 0}, strategy: chunked}\n",
                  "floe.yaml:8:21: tables.t.chunk.rows: must be at least 1, got '0'");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {cdc: {type: op_column, column: op}}\n",
                  "floe.yaml:8:7: tables.t.cdc: change capture applies updates and deletes, so "
                  "it needs mode: merge (mode is append)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: merge, cdc: {type: stream, stream: S}}\n",
                  "floe.yaml:8:32: tables.t.cdc.type: stream needs a snowflake source "
                  "(source.type is sqlite)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: merge, cdc: {type: hash_diff, column: op}, "
                         "strategy: full}\n",
                  "floe.yaml:8:43: tables.t.cdc.column: not used by cdc type hash_diff");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: merge, cdc: {type: hash_diff}}\n",
                  "floe.yaml:8:32: tables.t.cdc.type: hash_diff compares whole snapshots and "
                  "needs strategy: full (strategy is incremental)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: overwrite, overwrite: partitions}\n",
                  "floe.yaml:8:35: tables.t.overwrite: overwrite partitions needs partition_by "
                  "(the table is unpartitioned)");
  CHECK_ONE_ERROR(HEADER "tables:\n  a: {target: s.x}\n  b: {target: s.x}\n",
                  "floe.yaml:9:15: tables.b.target: s.x is also the target of table a (line 8)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {cursor_column: ts, start_after: 5}\n",
                  "floe.yaml:8:39: tables.t.start_after: start_after names a batch_sk, and "
                  "this table advances by a cursor column or a load counter");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {start_after: -1}\n",
                  "floe.yaml:8:20: tables.t.start_after: must be at least 0, got '-1'");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {on_existing: adopted}\n",
                  "floe.yaml:8:20: tables.t.on_existing: unknown value 'adopted' (expected "
                  "fail, adopt, append or overwrite; did you mean adopt?)");
  CHECK_ONE_ERROR(HEADER "tables: {}\n", "floe.yaml:7:1: tables: no tables (add at least one)");
  CHECK_ONE_ERROR(HEADER, "floe.yaml:1:1: tables: missing (the tables to replicate: tables: "
                          "{orders: {}})");
  CHECK_ONE_ERROR("source:\n  path: x\ntarget: {warehouse: w}\ntables: {t: {}}\n",
                  "floe.yaml:1:1: source.type: missing (expected sqlite, postgres or "
                  "snowflake)");
  CHECK_ONE_ERROR("source: {type: sqlite, path: x, conninfo: 'host=h'}\ntarget: {warehouse: "
                  "w}\ntables: {t: {}}\n",
                  "floe.yaml:1:33: source.conninfo: not used by a sqlite source (it is a "
                  "postgres setting)");
  CHECK_ONE_ERROR("source: {type: snowflake, account: a, user: u}\ntarget: {warehouse: "
                  "w}\ntables: {t: {}}\n",
                  "floe.yaml:1:1: source.private_key_file: missing (authenticator keypair signs "
                  "in with a private key file)");
  CHECK_ONE_ERROR("version: 2\nsource: {type: sqlite, path: x}\ntarget: {warehouse: "
                  "w}\ntables: {t: {}}\n",
                  "floe.yaml:1:10: version: unsupported version 2 (this floe reads version 1)");
  CHECK_ONE_ERROR(HEADER "  warehouse_path: x\ntables: {t: {}}\n",
                  "floe.yaml:7:3: target.warehouse_path: unknown key (expected warehouse, "
                  "catalog, namespace, properties or storage)");
  CHECK_ONE_ERROR(HEADER "  catalog: {type: sql}\ntables: {t: {}}\n",
                  "floe.yaml:7:3: target.catalog.uri: missing (sql catalog: sqlite:PATH, "
                  "postgresql://... or a conninfo)");
  CHECK_ONE_ERROR("source: {type: sqlite, path: x}\ntarget: {warehouse: 'gs://b/w'}\n"
                  "tables: {t: {}}\n",
                  "floe.yaml:2:21: target.warehouse: unsupported location 'gs://b/w' (expected "
                  "a local path, file:// or s3://)");
  CHECK_ONE_ERROR(HEADER "defaults: {source: x}\ntables: {t: {}}\n",
                  "floe.yaml:7:12: defaults.source: set per table, not in defaults");
  CHECK_ONE_ERROR(HEADER "logging: {level: verbose}\ntables: {t: {}}\n",
                  "floe.yaml:7:18: logging.level: unknown value 'verbose' (expected error, "
                  "warn, info, debug or trace; did you mean debug?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {pk: [id]}\n",
                  "floe.yaml:8:7: tables.t.pk: unknown key (did you mean primary_key?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {zzzz: 1}\n",
                  "floe.yaml:8:7: tables.t.zzzz: unknown key (expected source, target, "
                  "strategy, batch_column, cursor_column, chunk, partition_by, mode, overwrite, "
                  "primary_key, merge, cdc, validate, partition_column, where, properties, "
                  "start_after, on_existing, maintenance, on_source_behind, late_rows, sort_by, "
                  "metadata_columns, checks, quarantine, changelog or columns)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: [a]\n",
                  "floe.yaml:8:6: tables.t: mapping expected (source:, target:, ...), got a "
                  "list");
}

/* ---- data-quality checks ---------------------------------------------------- */

static void test_checks_map_each_type_with_severity_and_defaults(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, HEADER "tables:\n  t:\n    quarantine: q.t_bad\n    checks:\n"
                             "      - {type: not_null, column: id}\n"
                             "      - {type: unique, column: id, severity: warn, name: ids, "
                             "scope: table}\n"
                             "      - {type: accepted_values, column: s, values: [a, b]}\n"
                             "      - {type: range, column: n, min: 0}\n"
                             "      - {type: regex, column: e, pattern: '^.+@.+$'}\n"
                             "      - {type: row_count, min_ratio: 0.25}\n"
                             "      - {type: freshness, column: ts, max_age: 2h}\n",
                       NULL, 0, &err),
             &err);
  const floe_config_table *t = &cfg.tables[0];
  REQUIRE(t->n_checks == 7);
  CHECK_INT_EQ(t->checks[0].type, FLOE_CHECK_NOT_NULL);
  CHECK_STR_EQ(t->checks[0].name, "not_null(id)");
  CHECK(!t->checks[0].warn);
  CHECK_STR_EQ(t->checks[1].name, "ids");
  CHECK(t->checks[1].warn);
  CHECK(t->checks[1].scope_table);
  CHECK(!t->checks[0].scope_table);
  CHECK_INT_EQ((int)t->checks[2].n_values, 2);
  CHECK_STR_EQ(t->checks[2].values[1], "b");
  CHECK_STR_EQ(t->checks[3].min, "0");
  CHECK(t->checks[3].max == NULL);
  CHECK_STR_EQ(t->checks[4].pattern, "^.+@.+$");
  CHECK_STR_EQ(t->checks[5].name, "row_count");
  CHECK_INT_EQ(t->checks[5].history, 5);
  CHECK(t->checks[5].min_ratio == 0.25 && t->checks[5].max_ratio == 0);
  CHECK_INT_EQ(t->checks[5].min_rows, -1);
  CHECK_INT_EQ(t->checks[6].max_age_ms, 2 * 3600 * 1000);
  CHECK_STR_EQ(t->quarantine_namespace, "q");
  CHECK_STR_EQ(t->quarantine_name, "t_bad");
  CHECK_INT_EQ(t->checks[6].location.line, 17);
  CHECK(t->changelog_name == NULL);
  /* The dump loads back to the same checks. */
  floe_buf dump = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &dump, &err), &err);
  floe_config again;
  REQUIRE_OK(floe_config_load_string(&again, "dump.yaml", (const char *)dump.data, dump.len, NULL,
                                     0, &err),
             &err);
  REQUIRE(again.tables[0].n_checks == 7);
  CHECK_STR_EQ(again.tables[0].checks[1].name, "ids");
  CHECK(again.tables[0].checks[1].warn);
  CHECK(again.tables[0].checks[1].scope_table);
  CHECK_INT_EQ(again.tables[0].checks[6].max_age_ms, 2 * 3600 * 1000);
  CHECK(again.tables[0].checks[5].min_ratio == 0.25);
  CHECK_STR_EQ(again.tables[0].quarantine_name, "t_bad");
  floe_config_free(&again);
  floe_buf_free(&dump);
  floe_config_free(&cfg);
}

static void test_changelog_target_splits_like_a_table_target(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, HEADER "  namespace: sales\ntables:\n  a: {mode: merge, changelog: "
                             "{target: a_changes}}\n  b: {mode: merge, changelog: {target: "
                             "audit.b_changes}}\n",
                       NULL, 0, &err),
             &err);
  CHECK_STR_EQ(cfg.tables[0].changelog_namespace, "sales");
  CHECK_STR_EQ(cfg.tables[0].changelog_name, "a_changes");
  CHECK_STR_EQ(cfg.tables[1].changelog_namespace, "audit");
  CHECK_STR_EQ(cfg.tables[1].changelog_name, "b_changes");
  floe_buf dump = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &dump, &err), &err);
  CHECK(strstr((const char *)dump.data, "    changelog:\n      target: audit.b_changes\n") != NULL);
  floe_buf_free(&dump);
  floe_config_free(&cfg);
}

static void test_check_errors_name_the_item_and_key(void) {
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{column: id}]}\n",
                  "floe.yaml:8:16: tables.t.checks[0].type: missing (expected not_null, unique, "
                  "accepted_values, range, regex, row_count or freshness)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: not_nul, column: id}]}\n",
                  "floe.yaml:8:23: tables.t.checks[0].type: unknown value 'not_nul' (expected "
                  "not_null, unique, accepted_values, range, regex, row_count or freshness; did "
                  "you mean not_null?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: not_null}]}\n",
                  "floe.yaml:8:16: tables.t.checks[0].column: missing (check not_null needs the "
                  "column it checks)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: unique, column: id, values: [a]}]}\n",
                  "floe.yaml:8:43: tables.t.checks[0].values: not used by check type unique");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: not_null, column: id, scope: table}]}\n",
                  "floe.yaml:8:45: tables.t.checks[0].scope: not used by check type not_null");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: regex, column: e, pattern: 'a('}]}\n",
                  "floe.yaml:8:50: tables.t.checks[0].pattern: not a POSIX extended regex: "
                  "Unmatched ( or \\(");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: row_count}]}\n",
                  "floe.yaml:8:16: tables.t.checks[0].min_ratio: missing (row_count needs "
                  "min/max rows or min_ratio/max_ratio of the last history loads)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: freshness, column: ts, max_age: 2y}]}\n",
                  "floe.yaml:8:55: tables.t.checks[0].max_age: duration '2y': unknown unit 'y' "
                  "(expected ms, s, m, h, d or w)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {checks: [{type: range, column: n, severity: fatal, "
                         "min: 1}]}\n",
                  "floe.yaml:8:51: tables.t.checks[0].severity: unknown value 'fatal' (expected "
                  "fail or warn; did you mean fail?)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {quarantine: bad}\n",
                  "floe.yaml:8:19: tables.t.quarantine: quarantine takes the rows that fail "
                  "checks, and the table has no checks");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {changelog: {target: t_changes}}\n",
                  "floe.yaml:8:7: tables.t.changelog: a changelog records the changes a merge "
                  "applies: it needs mode: merge (with a key, or cdc op_column, stream or "
                  "changes; not hash_diff)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {mode: merge, changelog: {}}\n",
                  "floe.yaml:8:31: tables.t.changelog.target: missing (the changelog table: "
                  "target: ns.table_changes)");
  CHECK_ONE_ERROR(HEADER "defaults: {checks: []}\ntables: {t: {}}\n",
                  "floe.yaml:7:12: defaults.checks: set per table, not in defaults");
}

/* ---- malformed YAML ------------------------------------------------------- */

static void test_malformed_yaml_reports_libyaml_problem_mark(void) {
  floe_config cfg;
  floe_error err;
  CHECK_INT_EQ(load_input(&cfg, "tab_indent.yaml", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg,
                 "tab_indent.yaml:4:1: YAML syntax error: found a tab character that violates "
                 "indentation (while scanning a plain scalar at line 3; a tab: YAML indents "
                 "with spaces only)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_text(&cfg, "source:\n\ttype: sqlite\n", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg, "floe.yaml:2:1: YAML syntax error: found character that cannot start "
                       "any token (while scanning for the next token at line 2; a tab: YAML "
                       "indents with spaces only)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_text(&cfg, HEADER "version: 2\n", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg, "floe.yaml:7:1: version: duplicate key (first set at line 1)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_input(&cfg, "bad_indent.yaml", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg,
                 "bad_indent.yaml:4:8: YAML syntax error: mapping values are not allowed in "
                 "this context (; check the indentation of this line and the one above)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_input(&cfg, "duplicate_key.yaml", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg, "duplicate_key.yaml:10:3: tables.orders: duplicate key (first set at "
                       "line 9)");
  CHECK_STR_EQ(err.message, "duplicate_key.yaml:10:3: tables.orders: duplicate key (first set "
                            "at line 9)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_text(&cfg, "source: {type: 'sqlite}\n", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg, "floe.yaml:2:1: YAML syntax error: found unexpected end of stream "
                       "(while scanning a quoted scalar at line 1)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_text(&cfg, "", NULL, 0, &err), FLOE_EINVAL);
  CHECK_MESSAGES(&cfg, "floe.yaml:1:1: the file is empty; a floe configuration is a mapping "
                       "with version, source, target and tables (floe init prints a sample)");
  floe_config_free(&cfg);

  CHECK_INT_EQ(load_text(&cfg, "a: 1\n---\nb: 2\n", NULL, 0, &err), FLOE_EFORMAT);
  CHECK_MESSAGES(&cfg, "floe.yaml:2:1: a second YAML document; floe reads one document per "
                       "file");
  floe_config_free(&cfg);

  CHECK_INT_EQ(floe_config_load(&cfg, CONFIG_DIR "/no-such-file.yaml", NULL, 0, &err),
               FLOE_ENOTFOUND);
  CHECK_STR_EQ(err.message, "cannot read configuration " CONFIG_DIR
                            "/no-such-file.yaml: No such file or directory");
  floe_config_free(&cfg);
}

static void test_aliases_copy_the_anchored_node(void) {
  const char *text = HEADER
      "tables:\n"
      "  a: &common {mode: merge, primary_key: [id]}\n"
      "  b: *common\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  REQUIRE(cfg.n_tables == 2);
  CHECK_INT_EQ(cfg.tables[1].mode, FLOE_MODE_MERGE);
  CHECK_STR_EQ(cfg.tables[1].primary_key[0], "id");
  floe_config_free(&cfg);
}

/* ---- partition specs ------------------------------------------------------- */

static void test_partition_spec_strings_parse_and_format(void) {
  static const struct {
    const char *text;
    floe_config_transform transform;
    int32_t argument;
    const char *column;
    const char *formatted;
  } cases[] = {
      {"order_id", FLOE_CONFIG_TRANSFORM_IDENTITY, 0, "order_id", "order_id"},
      {"identity(order_id)", FLOE_CONFIG_TRANSFORM_IDENTITY, 0, "order_id", "order_id"},
      {" bucket( 16 ,customer_id ) ", FLOE_CONFIG_TRANSFORM_BUCKET, 16, "customer_id",
       "bucket(16, customer_id)"},
      {"truncate(4, sku)", FLOE_CONFIG_TRANSFORM_TRUNCATE, 4, "sku", "truncate(4, sku)"},
      {"year(ts)", FLOE_CONFIG_TRANSFORM_YEAR, 0, "ts", "year(ts)"},
      {"month(ts)", FLOE_CONFIG_TRANSFORM_MONTH, 0, "ts", "month(ts)"},
      {"day(ts)", FLOE_CONFIG_TRANSFORM_DAY, 0, "ts", "day(ts)"},
      {"hour(ts)", FLOE_CONFIG_TRANSFORM_HOUR, 0, "ts", "hour(ts)"},
      {"void(legacy)", FLOE_CONFIG_TRANSFORM_VOID, 0, "legacy", "void(legacy)"},
      {"day(\"Order Date\")", FLOE_CONFIG_TRANSFORM_DAY, 0, "Order Date", "day(\"Order Date\")"},
      {"\"say \"\"hi\"\"\"", FLOE_CONFIG_TRANSFORM_IDENTITY, 0, "say \"hi\"", "\"say \"\"hi\"\"\""},
      {"day(address.zip)", FLOE_CONFIG_TRANSFORM_DAY, 0, "address.zip", "day(address.zip)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_config_partition_field field;
    floe_error err;
    CHECK_OK(floe_config_partition_parse(&field, cases[i].text, &err), &err);
    CHECK_INT_EQ(field.transform, cases[i].transform);
    CHECK_INT_EQ(field.argument, cases[i].argument);
    CHECK_STR_EQ(field.column, cases[i].column);
    floe_buf out = FLOE_BUF_INIT;
    CHECK_OK(floe_config_partition_format(&field, &out), NULL);
    CHECK_OK(floe_buf_terminate(&out), NULL);
    CHECK_STR_EQ((const char *)out.data, cases[i].formatted);
    floe_buf_free(&out);
    floe_config_partition_field_clear(&field);
  }
  static const struct {
    const char *text;
    const char *message;
  } bad[] = {
      {"", "empty partition field"},
      {"bucket(id)", "bucket needs a count: bucket(N, column)"},
      {"bucket(0, id)", "bucket count must be between 1 and 2147483647"},
      {"truncate(x, id)", "truncate needs a width: truncate(W, column)"},
      {"day(a, b)", "day takes one column: transform(column)"},
      {"day(ts) x", "unexpected text after ')': 'x'"},
      {"hours(ts)", "unknown transform 'hours' (expected identity, bucket, truncate, year, "
                    "month, day, hour or void; did you mean hour?)"},
      {"day()", "expected a column name"},
      {"day(\"x)", "unterminated quoted column name"},
      {"a b", "unexpected 'b' after 'a' (write a column, or transform(column))"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    floe_config_partition_field field;
    floe_error err;
    floe_error_init(&err);
    CHECK_INT_EQ(floe_config_partition_parse(&field, bad[i].text, &err), FLOE_EINVAL);
    CHECK_STR_EQ(err.message, bad[i].message);
    CHECK(field.column == NULL);
  }
}

/* ---- dump ------------------------------------------------------------------ */

static void test_maintenance_block_defaults_merge_and_null(void) {
  const char *text = HEADER
      "defaults:\n"
      "  maintenance: {max_snapshots: 20, expire_older_than: 2d}\n"
      "tables:\n"
      "  one: {maintenance: {compact_min_files: 4, partial_progress: true}}\n"
      "  two: {}\n"
      "  three: {maintenance: null}\n";
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(load_text(&cfg, text, NULL, 0, &err), &err);
  REQUIRE(cfg.n_tables == 3);
  const floe_config_maintenance *one = &cfg.tables[0].maintenance, *two = &cfg.tables[1].maintenance,
                                *three = &cfg.tables[2].maintenance;
  /* The first block starts from the documented defaults; the table's keys
   * merge over the inherited ones. */
  CHECK(one->enabled && two->enabled && !three->enabled);
  CHECK_INT_EQ(one->compact_min_files, 4);
  CHECK_INT_EQ(two->compact_min_files, 10);
  CHECK_INT_EQ(one->max_snapshots, 20);
  CHECK_INT_EQ(two->expire_older_than_ms, INT64_C(2) * 24 * 3600 * 1000);
  CHECK_INT_EQ(one->delete_ratio_percent, 10);
  CHECK_INT_EQ(one->max_manifests, 100);
  CHECK_INT_EQ(one->retain_last, 1);
  CHECK(one->partial_progress && !two->partial_progress);
  CHECK(!one->convert_equality_deletes);
  floe_config_free(&cfg);
  /* Without a block: off. */
  REQUIRE_OK(load_text(&cfg, HEADER "tables:\n  t: {}\n", NULL, 0, &err), &err);
  CHECK(!cfg.tables[0].maintenance.enabled);
  floe_config_free(&cfg);
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {maintenance: {expire_older_than: 3 days}}\n",
                  "floe.yaml:8:40: tables.t.maintenance.expire_older_than: duration '3 days': "
                  "unknown unit ' days' (expected ms, s, m, h, d or w)");
  CHECK_ONE_ERROR(HEADER "tables:\n  t: {maintenance: {compact_every: 3}}\n",
                  "floe.yaml:8:21: tables.t.maintenance.compact_every: unknown key (expected "
                  "enabled, compact_min_files, delete_ratio_percent, convert_equality_deletes, "
                  "max_manifests, max_snapshots, expire_older_than, retain_last, target_file_size "
                  "or partial_progress)");
}

static void test_dump_loads_back_to_the_same_configuration(void) {
  floe_config cfg, again;
  floe_error err;
  REQUIRE_OK(floe_config_load(&cfg, CONFIG_DIR "/full.yaml", NULL, 0, &err), &err);
  floe_buf first = FLOE_BUF_INIT, second = FLOE_BUF_INIT;
  REQUIRE_OK(floe_config_dump(&cfg, &first, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&first), &err);
  const char *dump = (const char *)first.data;
  CHECK(strstr(dump, "    partition_by: [day(order_ts), \"bucket(16, customer_id)\"]\n") != NULL);
  CHECK(strstr(dump, "    partition_by: [\"truncate(4, \\\"Postal Code\\\")\", customer_id]\n") !=
        NULL);
  CHECK(strstr(dump, "    chunk: {by: rows, rows: 100000}\n") != NULL);
  CHECK(strstr(dump, "    where: \"status <> 'test'\"\n") != NULL);
  CHECK(strstr(dump, "  conninfo: \"host=127.0.0.1 port=5432 dbname=shop user=floe\"\n") != NULL);
  CHECK(strstr(dump, "defaults:") == NULL);
  int rc = floe_config_load_string(&again, "dump.yaml", dump, first.len, NULL, 0, &err);
  if (rc != 0) printf("%s\n--- %s\n", dump, err.message);
  REQUIRE(rc == FLOE_OK);
  REQUIRE_OK(floe_config_dump(&again, &second, &err), &err);
  REQUIRE_OK(floe_buf_terminate(&second), &err);
  /* Only the header line naming the file differs. */
  const char *a = strchr(dump, '\n'), *b = strchr((const char *)second.data, '\n');
  CHECK_STR_EQ(b, a);
  floe_buf_free(&first);
  floe_buf_free(&second);
  floe_config_free(&cfg);
  floe_config_free(&again);
}

/* ---- locations ------------------------------------------------------------- */

static void test_locate_points_at_table_key_or_inherited_default(void) {
  floe_config cfg;
  floe_error err;
  REQUIRE_OK(floe_config_load(&cfg, CONFIG_DIR "/full.yaml", NULL, 0, &err), &err);
  floe_config_location loc;
  REQUIRE_OK(floe_config_locate(&cfg, "tables.orders.primary_key", &loc), NULL);
  CHECK_STR_EQ(loc.file, CONFIG_DIR "/full.yaml");
  CHECK_INT_EQ(loc.line, 42);
  CHECK_INT_EQ(loc.column, 5);
  REQUIRE_OK(floe_config_locate(&cfg, "tables.customers.batch_column", &loc), NULL);
  CHECK_INT_EQ(loc.line, 31); /* defaults.batch_column */
  REQUIRE_OK(floe_config_locate(&cfg, "tables.customers.primary_key", &loc), NULL);
  CHECK_INT_EQ(loc.line, 50); /* the table itself */
  REQUIRE_OK(floe_config_locate(&cfg, "target.properties.write.target-file-size-bytes", &loc),
             NULL);
  CHECK_INT_EQ(loc.line, 17);
  CHECK_INT_EQ(floe_config_locate(&cfg, "tables.nope.mode", &loc), FLOE_ENOTFOUND);
  floe_config_free(&cfg);
}

/* ---- sample and examples --------------------------------------------------- */

static void test_sample_and_examples_load_without_error(void) {
  floe_config cfg;
  floe_error err;
  const char *sample = floe_config_sample();
  CHECK_OK(floe_config_load_string(&cfg, "sample", sample, strlen(sample), NULL, 0, &err), &err);
  CHECK_INT_EQ(cfg.n_tables, 2);
  floe_config_free(&cfg);
  static const char *const required[] = {
      "full.yaml",          "incremental_append.yaml",   "full_overwrite.yaml",
      "chunked.yaml",       "partition_load.yaml",       "merge_upsert.yaml",
      "cdc_op_column.yaml", "hash_diff.yaml",            "partitioned_bucketed.yaml",
      "postgres_source.yaml", "snowflake_source.yaml"};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", FLOE_SOURCE_DIR, required[i]);
    CHECK(access(path, R_OK) == 0);
  }
  DIR *dir = opendir(FLOE_SOURCE_DIR "/examples");
  REQUIRE(dir != NULL);
  int loaded = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    size_t len = strlen(entry->d_name);
    if (len < 6 || strcmp(entry->d_name + len - 5, ".yaml") != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", FLOE_SOURCE_DIR, entry->d_name);
    int rc = floe_config_load(&cfg, path, NULL, 0, &err);
    if (rc != 0) TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", entry->d_name, err.message);
    /* Every example dumps and loads back. */
    floe_buf out = FLOE_BUF_INIT;
    if (rc == 0) {
      CHECK_OK(floe_config_dump(&cfg, &out, &err), &err);
      floe_config again;
      CHECK_OK(floe_config_load_string(&again, entry->d_name, (const char *)out.data, out.len,
                                       NULL, 0, &err),
               &err);
      floe_config_free(&again);
    }
    floe_buf_free(&out);
    floe_config_free(&cfg);
    loaded++;
  }
  closedir(dir);
  CHECK(loaded >= 11);
}

/* ---- allocation failure ----------------------------------------------------- */

static void test_every_allocation_failure_is_reported_cleanly(void) {
  setenv("FLOE_T_DIR", "/data", 1);
  const char *text = HEADER
      "  catalog: {type: sql, uri: 'sqlite:c.db'}\n"
      "  properties: {a: '1'}\n"
      "defaults: {validate: {checksum: true}, partition_by: [day(ts)]}\n"
      "tables:\n"
      "  a: {primary_key: [id], mode: merge, cdc: {type: op_column, column: op}}\n"
      "  b: {target: x.y, where: '${FLOE_T_DIR}', stratgy: full}\n";
  const char *const overrides[] = {"tables.a.partition_by=[bucket(4, id)]"};
  int failures = 0, successes = 0;
  for (long n = 1; n < 5000; n++) {
    floe_config cfg;
    floe_error err;
    floe_alloc_fail_after(n);
    int rc = load_text(&cfg, text, overrides, 1, &err);
    floe_buf out = FLOE_BUF_INIT;
    if (rc == FLOE_EINVAL) rc = floe_config_dump(&cfg, &out, &err);
    floe_alloc_fail_after(0);
    floe_buf_free(&out);
    if (rc == FLOE_ENOMEM) {
      failures++;
    } else {
      /* Without failures the only error is the typo. */
      CHECK_INT_EQ(rc, FLOE_OK);
      CHECK_INT_EQ(floe_config_error_count(&cfg), 1);
      CHECK_STR_EQ(floe_config_error_message(&cfg, 0),
                   "floe.yaml:12:44: tables.b.stratgy: unknown key (did you mean strategy?)");
      successes++;
      floe_config_free(&cfg);
      break;
    }
    floe_config_free(&cfg);
  }
  CHECK(failures > 50);
  CHECK_INT_EQ(successes, 1);
}

int main(void) {
  RUN(test_full_config_maps_every_field);
  RUN(test_minimal_config_gets_documented_defaults);
  RUN(test_run_threads_is_a_bounded_positive_count);
  RUN(test_merge_memory_mb_and_spill_dir);
  RUN(test_tables_inherit_defaults_deeply);
  RUN(test_cursor_column_and_batch_column_replace_each_other);
  RUN(test_env_interpolation_with_defaults_and_escape);
  RUN(test_missing_env_variable_names_variable_file_and_line);
  RUN(test_interpolated_values_never_appear_in_messages);
  RUN(test_file_secret_is_read_trimmed_and_redacted);
  RUN(test_secret_looking_env_values_are_redacted_in_dump);
  RUN(test_overrides_edit_scalars_lists_and_nested_keys);
  RUN(test_override_errors_suggest_the_right_key);
  RUN(test_all_errors_are_reported_with_location_and_suggestion);
  RUN(test_each_invalid_combination_has_its_message);
  RUN(test_checks_map_each_type_with_severity_and_defaults);
  RUN(test_check_errors_name_the_item_and_key);
  RUN(test_changelog_target_splits_like_a_table_target);
  RUN(test_malformed_yaml_reports_libyaml_problem_mark);
  RUN(test_aliases_copy_the_anchored_node);
  RUN(test_partition_spec_strings_parse_and_format);
  RUN(test_maintenance_block_defaults_merge_and_null);
  RUN(test_dump_loads_back_to_the_same_configuration);
  RUN(test_locate_points_at_table_key_or_inherited_default);
  RUN(test_sample_and_examples_load_without_error);
  RUN(test_partition_by_and_sort_by_presence);
  RUN(test_metadata_columns_forms);
  RUN(test_every_allocation_failure_is_reported_cleanly);
  return test_report();
}
