/*
 * Tests of the replication engine's parts (src/replicate): reconciliation
 * of control rows with committed history, the walk of main's ancestry,
 * schema mapping and drift, the unit SQL (ranges, cursors, partitions,
 * where:), checksums, reports, exit codes and the debug switches. The
 * end-to-end behaviour through `floe run` is tested in tests/e2e.
 */
#include "replicate/engine_internal.h"

#include <stdlib.h>

#include "replicate/pipeline.h"

#include "floe/io.h"
#include "test.h"

/* ---- reconciliation --------------------------------------------------- */

/* A floe run id (a UUID, as floe writes) standing for the short name. */
static const char *rid(const char *name) {
  static char ids[16][37];
  static const char *names[16];
  for (int i = 0; i < 16; i++) {
    if (names[i] == NULL) {
      names[i] = name;
      snprintf(ids[i], sizeof ids[i], "%08x-0000-4000-8000-%012x", (unsigned)(i + 1),
               (unsigned)(i + 1));
    }
    if (strcmp(names[i], name) == 0) return ids[i];
  }
  return "overflow";
}

/* A row floe wrote while loading, by run `run`. */
static floe_control_row row(int64_t batch_sk, const char *run) {
  floe_control_row r;
  memset(&r, 0, sizeof r);
  r.batch_sk = batch_sk;
  r.run_id = (char *)rid(run);
  r.kind = (char *)(batch_sk == 0 ? "init" : "load");
  return r;
}

static floe_commit_info commit(int64_t low, int64_t high, const char *run_id, bool complete) {
  floe_commit_info c;
  memset(&c, 0, sizeof c);
  c.batch_low = low;
  c.batch_high = high;
  c.run_id = (char *)run_id;
  c.complete = complete;
  return c;
}

static void test_reconcile_nothing_to_repair_when_ledger_and_table_agree(void) {
  floe_control_row rows[] = {row(0, "a"), row(10, "a"), row(20, "b")};
  floe_commit_info commits[] = {commit(10, 20, "b", true), commit(0, 10, "a", true)};
  floe_control_rows ctl = {3, rows};
  floe_commit_list list = {2, commits, true, false};
  floe_repair *repairs = NULL;
  size_t n = 99;
  floe_error err = {0};
  CHECK_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  CHECK_INT_EQ(n, 0);
  CHECK(repairs == NULL);
}

static void test_reconcile_compensates_rows_above_the_last_commit_highest_first(void) {
  /* A run inserted 20 and died; a chunked run inserted 30 and 40 and died. */
  floe_control_row rows[] = {row(0, "a"), row(10, "a"), row(20, "b"), row(30, "c"), row(40, "c")};
  floe_commit_info commits[] = {commit(0, 10, "a", true)};
  floe_control_rows ctl = {5, rows};
  floe_commit_list list = {1, commits, true, false};
  floe_repair *repairs = NULL;
  size_t n = 0;
  floe_error err = {0};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  REQUIRE(n == 3);
  CHECK_INT_EQ(repairs[0].action, FLOE_REPAIR_COMPENSATE);
  CHECK_INT_EQ(repairs[0].batch_sk, 40);
  CHECK_STR_EQ(repairs[0].run_id, rid("c"));
  CHECK_INT_EQ(repairs[1].batch_sk, 30);
  CHECK_INT_EQ(repairs[2].batch_sk, 20);
  CHECK_STR_EQ(repairs[2].run_id, rid("b"));
  floe_free(repairs);
}

static void test_reconcile_reinserts_rows_of_committed_ranges_lowest_first(void) {
  floe_control_row rows[] = {row(0, "a")};
  floe_commit_info commits[] = {commit(20, 30, "c", true), commit(10, 20, "b", true),
                                commit(0, 10, "a", true)};
  commits[0].watermark_high = (char *)"2024-01-03";
  floe_control_rows ctl = {1, rows};
  floe_commit_list list = {3, commits, true, false};
  floe_repair *repairs = NULL;
  size_t n = 0;
  floe_error err = {0};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  REQUIRE(n == 3);
  for (size_t i = 0; i < n; i++) CHECK_INT_EQ(repairs[i].action, FLOE_REPAIR_REINSERT);
  CHECK_INT_EQ(repairs[0].batch_sk, 10);
  CHECK_INT_EQ(repairs[2].batch_sk, 30);
  CHECK_STR_EQ(repairs[2].watermark, "2024-01-03");
  CHECK_STR_EQ(repairs[2].run_id, "c");
  floe_free(repairs);
}

static void test_reconcile_an_unfinished_partitioned_range_is_not_proof(void) {
  /* Parts 1/3 and 2/3 of (10, 20] landed, 3/3 did not. */
  floe_control_row rows[] = {row(0, "a"), row(10, "a"), row(20, "b")};
  floe_commit_info commits[] = {commit(10, 20, "b", false), commit(10, 20, "b", false),
                                commit(0, 10, "a", true)};
  floe_control_rows ctl = {3, rows};
  floe_commit_list list = {3, commits, true, false};
  floe_repair *repairs = NULL;
  size_t n = 0;
  floe_error err = {0};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  REQUIRE(n == 1);
  CHECK_INT_EQ(repairs[0].action, FLOE_REPAIR_COMPENSATE);
  CHECK_INT_EQ(repairs[0].batch_sk, 20);
  floe_free(repairs);
}

static void test_reconcile_rolls_the_users_rows_forward_as_a_baseline(void) {
  /* Committed up to 10; the user inserted 25 by hand (kind manual); a floe
   * run crashed after inserting 20 (below the user's row: covered) and
   * another after 30 (above it: compensated). */
  floe_control_row rows[] = {row(0, "a"), row(10, "a"), row(20, "b"), row(25, "x"),
                             row(30, "c")};
  rows[3].kind = (char *)"manual";
  rows[3].run_id = (char *)"by hand";
  floe_commit_info commits[] = {commit(0, 10, "a", true)};
  floe_control_rows ctl = {5, rows};
  floe_commit_list list = {1, commits, true, false};
  floe_repair *repairs = NULL;
  size_t n = 0;
  floe_error err = {0};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  REQUIRE(n == 2);
  CHECK_INT_EQ(repairs[0].action, FLOE_REPAIR_COMPENSATE);
  CHECK_INT_EQ(repairs[0].batch_sk, 30);
  CHECK_INT_EQ(repairs[1].action, FLOE_REPAIR_BASELINE);
  CHECK_INT_EQ(repairs[1].batch_sk, 25);
  CHECK_INT_EQ(repairs[1].batch_low, 10);
  floe_free(repairs);
  /* Below the last commit the user's row is history: nothing to do. */
  floe_commit_info later[] = {commit(25, 40, "d", true), commit(0, 10, "a", true)};
  floe_control_row rows2[] = {row(0, "a"), row(10, "a"), rows[3], row(40, "d")};
  floe_control_rows ctl2 = {4, rows2};
  floe_commit_list list2 = {2, later, true, false};
  REQUIRE_OK(floe_reconcile_plan(&ctl2, &list2, &repairs, &n, &err), &err);
  CHECK_INT_EQ(n, 0);
  floe_free(repairs);
  /* No floe commit at all and a cut history: the user's row still counts. */
  floe_control_row rows3[] = {rows[3]};
  floe_control_rows ctl3 = {1, rows3};
  floe_commit_list none = {0, NULL, false, false};
  REQUIRE_OK(floe_reconcile_plan(&ctl3, &none, &repairs, &n, &err), &err);
  REQUIRE(n == 1);
  CHECK_INT_EQ(repairs[0].action, FLOE_REPAIR_BASELINE);
  CHECK_INT_EQ(repairs[0].batch_low, 0);
  floe_free(repairs);
}

static void test_control_rows_floe_wrote_while_loading_are_told_apart(void) {
  floe_control_row r = row(5, "a");
  CHECK(floe_control_row_is_load(&r));
  r.kind = (char *)"repair";
  CHECK(floe_control_row_is_load(&r));
  r.kind = (char *)"manual";
  CHECK(!floe_control_row_is_load(&r));
  r.kind = (char *)"baseline";
  CHECK(!floe_control_row_is_load(&r));
  r.kind = NULL;
  CHECK(!floe_control_row_is_load(&r));
  /* kind defaulted to 'load' on a hand-inserted row: not a floe run id. */
  r.kind = (char *)"load";
  r.run_id = (char *)"notebook";
  CHECK(!floe_control_row_is_load(&r));
  r.run_id = (char *)"0000000-0000-4000-8000-0000000000000";
  CHECK(!floe_control_row_is_load(&r));
  r.run_id = NULL;
  CHECK(!floe_control_row_is_load(&r));
}

static void test_reconcile_keeps_rows_below_expired_commits(void) {
  /* Snapshots of 10 and 20 expired; 30 is visible: 10 and 20 stay. */
  floe_control_row rows[] = {row(0, "a"), row(10, "a"), row(20, "b"), row(30, "c")};
  floe_commit_info commits[] = {commit(20, 30, "c", true)};
  floe_control_rows ctl = {4, rows};
  floe_commit_list list = {1, commits, false, false};
  floe_repair *repairs = NULL;
  size_t n = 0;
  floe_error err = {0};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  CHECK_INT_EQ(n, 0);
  floe_free(repairs);
  /* With no visible commit and a cut history, floe refuses to guess. */
  floe_commit_list none = {0, NULL, false, false};
  CHECK_INT_EQ(floe_reconcile_plan(&ctl, &none, &repairs, &n, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "batch_sk=10") != NULL);
  /* A table that never had a commit (complete history): everything reloads. */
  floe_commit_list empty = {0, NULL, true, false};
  REQUIRE_OK(floe_reconcile_plan(&ctl, &empty, &repairs, &n, &err), &err);
  CHECK_INT_EQ(n, 3);
  floe_free(repairs);
}

/* Metadata with snapshots 1 <- 2 <- 3 <- 4 (4 current) carrying summaries. */
static floe_iceberg_metadata *history_metadata(bool cut) {
  floe_iceberg_column cols[] = {{1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL}};
  floe_iceberg_schema *schema = NULL;
  floe_iceberg_metadata *md = NULL;
  floe_error err = {0};
  if (floe_iceberg_schema_new(&schema, 0, cols, 1, &err) < 0) return NULL;
  if (floe_iceberg_metadata_new(&md, 2, "/w/t", schema, NULL, NULL, NULL, 0, &err) < 0) {
    floe_iceberg_schema_free(schema);
    return NULL;
  }
  floe_iceberg_schema_free(schema);
  struct {
    const char *table, *low, *high, *run, *part, *wm;
  } s[] = {{"orders", "0", "10", "r1", NULL, NULL},
           {"other", "0", "99", "r2", NULL, NULL},
           {"orders", "10", "20", "r3", "1/2", NULL},
           {"orders", "20", "30", "r4", NULL, "2024-05-01 00:00:00"}};
  for (int i = 0; i < 4; i++) {
    if (cut && i == 0) continue; /* snapshot 1 expired */
    floe_iceberg_property props[8];
    int32_t n = 0;
    props[n++] = (floe_iceberg_property){(char *)"operation", (char *)"append"};
    props[n++] = (floe_iceberg_property){(char *)"floe.source-table", (char *)s[i].table};
    props[n++] = (floe_iceberg_property){(char *)"floe.batch-sk.low", (char *)s[i].low};
    props[n++] = (floe_iceberg_property){(char *)"floe.batch-sk.high", (char *)s[i].high};
    props[n++] = (floe_iceberg_property){(char *)"floe.run-id", (char *)s[i].run};
    props[n++] = (floe_iceberg_property){(char *)"added-records", (char *)"7"};
    if (s[i].part) props[n++] = (floe_iceberg_property){(char *)"floe.part", (char *)s[i].part};
    if (s[i].wm) props[n++] = (floe_iceberg_property){(char *)"floe.watermark.high", (char *)s[i].wm};
    floe_iceberg_snapshot snap;
    memset(&snap, 0, sizeof snap);
    snap.snapshot_id = i + 1;
    snap.has_parent = i > 0;
    snap.parent_snapshot_id = i;
    snap.sequence_number = i + 1;
    snap.timestamp_ms = 1000 * (i + 1);
    snap.manifest_list = (char *)"/w/t/metadata/snap.avro";
    snap.n_summary = n;
    snap.summary = props;
    if (floe_iceberg_metadata_add_snapshot(md, &snap, &err) < 0 ||
        floe_iceberg_metadata_set_ref(md, "main", i + 1, false, &err) < 0) {
      fprintf(stdout, "  metadata: %s\n", err.message);
      floe_iceberg_metadata_free(md);
      return NULL;
    }
  }
  return md;
}

static void test_commits_are_collected_from_main_ancestry_per_table(void) {
  floe_iceberg_metadata *md = history_metadata(false);
  REQUIRE(md != NULL);
  floe_commit_list list;
  floe_error err = {0};
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  REQUIRE(list.n == 3);
  CHECK(list.complete_history);
  CHECK_INT_EQ(list.commits[0].snapshot_id, 4); /* newest first */
  CHECK_INT_EQ(list.commits[0].batch_low, 20);
  CHECK_INT_EQ(list.commits[0].batch_high, 30);
  CHECK_STR_EQ(list.commits[0].run_id, "r4");
  CHECK_STR_EQ(list.commits[0].watermark_high, "2024-05-01 00:00:00");
  CHECK_INT_EQ(list.commits[0].added_records, 7);
  CHECK_STR_EQ(list.commits[0].operation, "append");
  CHECK(!list.commits[1].complete); /* part 1/2 */
  CHECK_INT_EQ(list.commits[2].snapshot_id, 1);
  CHECK_INT_EQ(floe_commits_latest(&list)->batch_high, 30);
  floe_commit_list_free(&list);
  REQUIRE_OK(floe_commits_collect(md, "nobody", &list, &err), &err);
  CHECK_INT_EQ(list.n, 0);
  CHECK(floe_commits_latest(&list) == NULL);
  floe_commit_list_free(&list);
  floe_iceberg_metadata_free(md);

  md = history_metadata(true);
  REQUIRE(md != NULL);
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  CHECK_INT_EQ(list.n, 2);
  CHECK(!list.complete_history);
  floe_commit_list_free(&list);
  floe_iceberg_metadata_free(md);
}


/* ---- the committed watermark property ------------------------------------- */

static void test_watermark_property_round_trips_and_refuses_garbage(void) {
  floe_watermark w;
  memset(&w, 0, sizeof w);
  w.batch_low = 41;
  w.batch_high = 44;
  w.run_id = (char *)"run-7";
  w.watermark_low = (char *)"2024-01-01 \"q\"";
  w.watermark_high = (char *)"2024-02-01";
  w.part_i = 2;
  w.part_n = 3;
  w.source_rows = -1;
  char *text = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_watermark_format(&w, &text, &err), &err);
  CHECK_STR_EQ(text, "{\"batch-sk-low\":41,\"batch-sk-high\":44,\"run-id\":\"run-7\","
                     "\"watermark-low\":\"2024-01-01 \\\"q\\\"\",\"watermark-high\":"
                     "\"2024-02-01\",\"part\":\"2/3\"}");
  floe_watermark back;
  REQUIRE_OK(floe_watermark_parse(text, &back, &err), &err);
  CHECK_INT_EQ(back.batch_low, 41);
  CHECK_INT_EQ(back.batch_high, 44);
  CHECK_STR_EQ(back.run_id, "run-7");
  CHECK_STR_EQ(back.watermark_low, "2024-01-01 \"q\"");
  CHECK_INT_EQ(back.part_i, 2);
  CHECK_INT_EQ(back.part_n, 3);
  CHECK(!floe_watermark_complete(&back));
  CHECK_INT_EQ(back.source_rows, -1);
  floe_watermark_free(&back);
  floe_free(text);
  w.source_rows = 1200;
  w.part_n = 0;
  REQUIRE_OK(floe_watermark_format(&w, &text, &err), &err);
  CHECK(strstr(text, "\"source-rows\":1200") != NULL);
  REQUIRE_OK(floe_watermark_parse(text, &back, &err), &err);
  CHECK_INT_EQ(back.source_rows, 1200);
  floe_watermark_free(&back);
  floe_free(text);
  CHECK_INT_EQ(floe_watermark_parse("{\"batch-sk-high\": 3}", &back, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "not a floe watermark") != NULL);
  CHECK_INT_EQ(floe_watermark_parse("{\"batch-sk-low\":1,\"batch-sk-high\":3,\"part\":\"4/3\"}",
                                    &back, &err),
               FLOE_EINVAL);
  CHECK_INT_EQ(floe_watermark_parse("44", &back, &err), FLOE_EINVAL);
  char *key = floe_watermark_key("orders");
  CHECK_STR_EQ(key, "floe.watermark.orders");
  floe_free(key);
}

/* Adds snapshot `id` (parent id-1 unless first) with the given operation
 * and no floe summary: a maintenance or foreign commit. */
static int add_plain_snapshot(floe_iceberg_metadata *md, int64_t id, bool has_parent,
                              const char *operation) {
  floe_iceberg_property props[1] = {{(char *)"operation", (char *)operation}};
  floe_iceberg_snapshot snap;
  floe_error err = {0};
  memset(&snap, 0, sizeof snap);
  snap.snapshot_id = id;
  snap.has_parent = has_parent;
  snap.parent_snapshot_id = id - 1;
  snap.sequence_number = id;
  snap.timestamp_ms = 1000 * id;
  snap.manifest_list = (char *)"/w/t/metadata/snap.avro";
  snap.n_summary = 1;
  snap.summary = props;
  if (floe_iceberg_metadata_add_snapshot(md, &snap, &err) < 0 ||
      floe_iceberg_metadata_set_ref(md, "main", id, false, &err) < 0)
    return -1;
  return 0;
}

static int set_watermark(floe_iceberg_metadata *md, const char *table, const char *value) {
  floe_error err = {0};
  char *key = floe_watermark_key(table);
  floe_iceberg_property p = {key, (char *)value};
  int rc = floe_iceberg_metadata_set_properties(md, &p, 1, &err);
  floe_free(key);
  return rc;
}

static void test_watermark_property_stands_in_for_expired_summaries(void) {
  /* History cut (snapshot 1 expired), then Spark's rewrite_data_files and
   * expire_snapshots: only a "replace" snapshot whose parent is gone is
   * left. The property says floe committed (30, 40]. */
  floe_iceberg_metadata *md = NULL;
  floe_iceberg_column cols[] = {{1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL}};
  floe_iceberg_schema *schema = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_schema_new(&schema, 0, cols, 1, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_new(&md, 2, "/w/t", schema, NULL, NULL, NULL, 0, &err), &err);
  floe_iceberg_schema_free(schema);
  REQUIRE(add_plain_snapshot(md, 9, true, "replace") == 0);
  floe_commit_list list;
  /* Without the property (a table of an older floe) nothing is known. */
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  CHECK_INT_EQ(list.n, 0);
  CHECK(!list.complete_history);
  CHECK(!list.has_property);
  floe_commit_list_free(&list);

  REQUIRE(set_watermark(md, "orders", "{\"batch-sk-low\":30,\"batch-sk-high\":40,"
                                      "\"run-id\":\"r9\",\"watermark-high\":\"w40\"}") == 0);
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  REQUIRE(list.n == 1);
  CHECK(list.has_property);
  CHECK(list.commits[0].from_property);
  CHECK_INT_EQ(list.commits[0].batch_high, 40);
  CHECK_STR_EQ(list.commits[0].run_id, "r9");

  /* Control rows agree: nothing to repair (before, this refused). */
  floe_control_row rows[] = {row(0, "a"), row(30, "r8"), row(40, "r9")};
  floe_control_rows ctl = {3, rows};
  floe_repair *repairs = NULL;
  size_t n = 9;
  REQUIRE_OK(floe_reconcile_plan(&ctl, &list, &repairs, &n, &err), &err);
  CHECK_INT_EQ(n, 0);
  /* A dead run's row above it is compensated; the missing 40 row comes back
   * with the property's run id and cursor value. */
  floe_control_row rows2[] = {row(0, "a"), row(30, "r8"), row(50, "dead")};
  floe_control_rows ctl2 = {3, rows2};
  REQUIRE_OK(floe_reconcile_plan(&ctl2, &list, &repairs, &n, &err), &err);
  REQUIRE(n == 2);
  CHECK_INT_EQ(repairs[0].action, FLOE_REPAIR_COMPENSATE);
  CHECK_INT_EQ(repairs[0].batch_sk, 50);
  CHECK_INT_EQ(repairs[1].action, FLOE_REPAIR_REINSERT);
  CHECK_INT_EQ(repairs[1].batch_sk, 40);
  CHECK_STR_EQ(repairs[1].run_id, "r9");
  CHECK_STR_EQ(repairs[1].watermark, "w40");
  floe_free(repairs);
  floe_commit_list_free(&list);

  /* Another source table's property is not this one's. */
  REQUIRE_OK(floe_commits_collect(md, "orders2", &list, &err), &err);
  CHECK_INT_EQ(list.n, 0);
  floe_commit_list_free(&list);

  /* An unfinished partition load proves only its low end. */
  REQUIRE(set_watermark(md, "orders", "{\"batch-sk-low\":40,\"batch-sk-high\":50,"
                                      "\"run-id\":\"r10\",\"part\":\"1/2\"}") == 0);
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  REQUIRE(list.n == 1);
  CHECK_INT_EQ(floe_commits_latest(&list)->batch_high, 40);
  floe_commit_list_free(&list);

  /* A malformed property is an error, never a guess. */
  REQUIRE(set_watermark(md, "orders", "forty") == 0);
  CHECK_INT_EQ(floe_commits_collect(md, "orders", &list, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "floe.watermark.orders") != NULL);
  floe_iceberg_metadata_free(md);
}

static void test_watermark_property_behind_visible_summaries_is_not_used(void) {
  /* An older floe committed (20, 30] after the property recorded (10, 20]
   * (mixed versions): the summaries win. Maintenance snapshots on top of
   * the floe commits are not floe commits, and hide nothing. */
  floe_iceberg_metadata *md = history_metadata(false);
  REQUIRE(md != NULL);
  REQUIRE(add_plain_snapshot(md, 5, true, "replace") == 0);
  REQUIRE(add_plain_snapshot(md, 6, true, "overwrite") == 0);
  REQUIRE(set_watermark(md, "orders", "{\"batch-sk-low\":10,\"batch-sk-high\":20}") == 0);
  floe_commit_list list;
  floe_error err = {0};
  REQUIRE_OK(floe_commits_collect(md, "orders", &list, &err), &err);
  CHECK_INT_EQ(list.n, 3);
  CHECK(list.complete_history);
  CHECK_INT_EQ(floe_commits_latest(&list)->batch_high, 30);
  CHECK(!floe_commits_latest(&list)->from_property);
  floe_commit_list_free(&list);
  floe_iceberg_metadata_free(md);
}

static void test_watermark_check_needs_the_commit_to_start_at_the_committed_end(void) {
  floe_iceberg_metadata *md = history_metadata(false); /* orders committed up to 30 */
  REQUIRE(md != NULL);
  floe_error err = {0};
  floe_watermark u;
  memset(&u, 0, sizeof u);
  u.run_id = (char *)"me";
  u.batch_low = 30;
  u.batch_high = 35;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  /* Another run committed (30, 35] meanwhile. */
  REQUIRE(set_watermark(md, "orders", "{\"batch-sk-low\":30,\"batch-sk-high\":35,"
                                      "\"run-id\":\"other\"}") == 0);
  CHECK_INT_EQ(floe_watermark_check(md, "orders", &u, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "committed watermark for orders is batch_sk (30, 35] by run "
                            "other") != NULL);
  CHECK(strstr(err.message, "this commit loads batch_sk (30, 35]") != NULL);
  u.batch_low = 35;
  u.batch_high = 36;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  /* A unit starting below the committed end would load rows twice. */
  u.batch_low = 20;
  CHECK_INT_EQ(floe_watermark_check(md, "orders", &u, &err), FLOE_ECONFLICT);

  /* Parts of a partition load: part 1 starts at the committed end, part 2
   * follows this run's part 1 of the same range only. */
  u.batch_low = 35;
  u.batch_high = 40;
  u.part_i = 2;
  u.part_n = 2;
  CHECK_INT_EQ(floe_watermark_check(md, "orders", &u, &err), FLOE_ECONFLICT);
  u.part_i = 1;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  REQUIRE(set_watermark(md, "orders", "{\"batch-sk-low\":35,\"batch-sk-high\":40,"
                                      "\"run-id\":\"me\",\"part\":\"1/2\"}") == 0);
  u.part_i = 2;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  u.run_id = (char *)"someone-else";
  CHECK_INT_EQ(floe_watermark_check(md, "orders", &u, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "(part 1/2)") != NULL);
  /* A new run restarting the unfinished load begins at part 1 from 35. */
  u.part_i = 1;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  floe_iceberg_metadata_free(md);

  /* A table without any floe commit: the first load starts at 0. */
  floe_iceberg_column cols[] = {{1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL}};
  floe_iceberg_schema *schema = NULL;
  REQUIRE_OK(floe_iceberg_schema_new(&schema, 0, cols, 1, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_new(&md, 2, "/w/t", schema, NULL, NULL, NULL, 0, &err), &err);
  floe_iceberg_schema_free(schema);
  memset(&u, 0, sizeof u);
  u.batch_high = 5;
  CHECK_OK(floe_watermark_check(md, "orders", &u, &err), &err);
  u.batch_low = 3;
  CHECK_INT_EQ(floe_watermark_check(md, "orders", &u, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "nothing (no floe commit)") != NULL);
  floe_iceberg_metadata_free(md);
}

/* ---- schema mapping ----------------------------------------------------- */

static floe_source_column scol(const char *name, floe_arrow_type_info type, bool nullable) {
  floe_source_column c;
  memset(&c, 0, sizeof c);
  c.name = (char *)name;
  c.declared_type = (char *)"X";
  c.nullable = nullable;
  c.type = type;
  return c;
}

static void test_schema_from_source_numbers_columns_and_skips_the_op_column(void) {
  floe_source_column cols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                               scol("op", floe_arrow_type_of(FLOE_ARROW_UTF8), true),
                               scol("price", floe_arrow_decimal(10, 2), true),
                               scol("ts", floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ), true)};
  floe_source_table src = {true, 4, cols};
  const char *exclude[] = {"OP"};
  floe_iceberg_schema *schema = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_schema_from_source(&src, exclude, 1, &schema, &err), &err);
  REQUIRE(schema->root.n_fields == 3);
  CHECK_STR_EQ(schema->root.fields[0].name, "id");
  CHECK_INT_EQ(schema->root.fields[0].id, 1);
  CHECK(schema->root.fields[0].required);
  CHECK_STR_EQ(schema->root.fields[1].name, "price");
  CHECK_INT_EQ(schema->root.fields[1].id, 2);
  CHECK_INT_EQ(schema->root.fields[1].type.id, FLOE_ICEBERG_DECIMAL);
  CHECK_INT_EQ(schema->root.fields[1].type.precision, 10);
  CHECK(!schema->root.fields[1].required);
  CHECK_INT_EQ(schema->root.fields[2].type.id, FLOE_ICEBERG_TIMESTAMPTZ);

  floe_schema_drift map;
  REQUIRE_OK(floe_schema_map(schema, &src, exclude, 1, "t", &map, &err), &err);
  CHECK(map.evolved == NULL);
  CHECK_INT_EQ(map.field_ids[0], 1);
  CHECK_INT_EQ(map.field_ids[1], 0); /* op: not written */
  CHECK_INT_EQ(map.types[1].id, FLOE_ARROW_UTF8);
  CHECK_INT_EQ(map.field_ids[3], 3);
  floe_schema_drift_free(&map);
  floe_iceberg_schema_free(schema);
}

/* A list column (a PostgreSQL array): a list field whose element gets an id
 * after every column id; mapping it again keeps the ids; a list added by
 * drift gets fresh ids; a list whose elements do not fit is refused. */
static void test_schema_lists_number_elements_after_columns_and_check_elements(void) {
  floe_source_column cols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                               scol("tags", floe_arrow_type_of(FLOE_ARROW_LIST), true),
                               scol("nums", floe_arrow_type_of(FLOE_ARROW_LIST), false)};
  cols[1].element = floe_arrow_type_of(FLOE_ARROW_UTF8);
  cols[1].element_nullable = true;
  cols[2].element = floe_arrow_decimal(10, 2);
  cols[2].element_nullable = true;
  floe_source_table src = {true, 3, cols};
  floe_iceberg_schema *schema = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_schema_from_source(&src, NULL, 0, &schema, &err), &err);
  REQUIRE(schema->root.n_fields == 3);
  const floe_iceberg_field *tags = &schema->root.fields[1], *nums = &schema->root.fields[2];
  CHECK_INT_EQ(tags->id, 2);
  REQUIRE(tags->type.id == FLOE_ICEBERG_LIST && tags->type.n_fields == 1);
  CHECK_INT_EQ(tags->type.fields[0].id, 4);
  CHECK_INT_EQ(tags->type.fields[0].type.id, FLOE_ICEBERG_STRING);
  CHECK(!tags->type.fields[0].required);
  CHECK(!tags->required);
  CHECK(nums->required);
  CHECK_INT_EQ(nums->type.fields[0].id, 5);
  CHECK_INT_EQ(nums->type.fields[0].type.id, FLOE_ICEBERG_DECIMAL);
  CHECK_INT_EQ(nums->type.fields[0].type.scale, 2);

  floe_schema_drift map;
  REQUIRE_OK(floe_schema_map(schema, &src, NULL, 0, "t", &map, &err), &err);
  CHECK(map.evolved == NULL);
  CHECK_INT_EQ(map.field_ids[1], 2);
  CHECK_INT_EQ(map.types[1].id, FLOE_ARROW_LIST);
  CHECK_INT_EQ(map.element_ids[1], 4);
  CHECK_INT_EQ(map.element_types[1].id, FLOE_ARROW_UTF8);
  CHECK_INT_EQ(map.element_ids[2], 5);
  CHECK_INT_EQ(map.element_types[2].id, FLOE_ARROW_DECIMAL128);
  floe_schema_drift_free(&map);

  /* A new list column: added with fresh ids past the highest. */
  floe_source_column more[] = {cols[0], cols[1], cols[2],
                               scol("flags", floe_arrow_type_of(FLOE_ARROW_LIST), true)};
  more[3].element = floe_arrow_type_of(FLOE_ARROW_BOOL);
  more[3].element_nullable = true;
  floe_source_table src2 = {true, 4, more};
  REQUIRE_OK(floe_schema_map(schema, &src2, NULL, 0, "t", &map, &err), &err);
  REQUIRE(map.evolved != NULL);
  CHECK_INT_EQ(map.n_added, 1);
  CHECK_INT_EQ(map.field_ids[3], 6);
  CHECK_INT_EQ(map.element_ids[3], 7);
  CHECK_INT_EQ(map.element_types[3].id, FLOE_ARROW_BOOL);
  floe_schema_drift_free(&map);

  /* text[] where the table has a list of decimals: refused. */
  more[2].element = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_source_table src3 = {true, 3, more};
  CHECK_INT_EQ(floe_schema_map(schema, &src3, NULL, 0, "t", &map, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "column 'nums': source type list") != NULL);
  floe_iceberg_schema_free(schema);
}

static void test_schema_drift_adds_widens_and_keeps_dropped_columns(void) {
  floe_iceberg_column tcols[] = {
      {1, "ID", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "qty", false, floe_iceberg_type_of(FLOE_ICEBERG_INT), NULL},
      {3, "price", false, floe_iceberg_decimal(9, 2), NULL},
      {4, "gone", true, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {5, "small", false, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL}};
  floe_iceberg_schema *table = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_schema_new(&table, 0, tcols, 5, &err), &err);
  floe_source_column cols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                               scol("qty", floe_arrow_type_of(FLOE_ARROW_INT64), true),
                               scol("price", floe_arrow_decimal(12, 2), true),
                               scol("small", floe_arrow_type_of(FLOE_ARROW_INT32), true),
                               scol("note", floe_arrow_type_of(FLOE_ARROW_UTF8), true)};
  floe_source_table src = {true, 5, cols};
  floe_schema_drift map;
  REQUIRE_OK(floe_schema_map(table, &src, NULL, 0, "t", &map, &err), &err);
  REQUIRE(map.evolved != NULL);
  CHECK_INT_EQ(map.n_added, 1);
  CHECK_INT_EQ(map.n_widened, 2);
  CHECK_INT_EQ(map.n_made_optional, 1);
  CHECK_STR_EQ(map.description,
               "widened qty int->long; widened price decimal(9,2)->decimal(12,2); added note "
               "(string); made gone optional (dropped by the source)");
  const floe_iceberg_field *f = floe_iceberg_schema_find_name(map.evolved, "note", true);
  REQUIRE(f != NULL);
  CHECK_INT_EQ(f->id, 6);
  CHECK(!f->required);
  CHECK_INT_EQ(floe_iceberg_schema_find_id(map.evolved, 2)->type.id, FLOE_ICEBERG_LONG);
  CHECK_INT_EQ(floe_iceberg_schema_find_id(map.evolved, 3)->type.precision, 12);
  CHECK(!floe_iceberg_schema_find_id(map.evolved, 4)->required);
  /* "id" matched "ID" case-insensitively; "small" stays long, read as long. */
  CHECK_INT_EQ(map.field_ids[0], 1);
  CHECK_INT_EQ(map.field_ids[3], 5);
  CHECK_INT_EQ(map.types[3].id, FLOE_ARROW_INT64);
  CHECK_INT_EQ(map.field_ids[4], 6);
  floe_schema_drift_free(&map);
  floe_iceberg_schema_free(table);
}

static void test_schema_drift_refuses_incompatible_changes_naming_both_types(void) {
  floe_iceberg_column tcols[] = {{1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
                                 {2, "price", false, floe_iceberg_decimal(9, 2), NULL},
                                 {3, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL}};
  floe_iceberg_schema *table = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_iceberg_schema_new(&table, 0, tcols, 3, &err), &err);
  struct {
    const char *name;
    floe_arrow_type_info type;
    const char *message;
  } cases[] = {
      {"id", floe_arrow_type_of(FLOE_ARROW_UTF8),
       "column 'id': source type string (declared 'X') cannot be stored in the table's long column"},
      {"price", floe_arrow_decimal(12, 3),
       "column 'price': source type decimal(12,3) (declared 'X') cannot be stored in the table's "
       "decimal(9,2) column"},
      {"ts", floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ),
       "column 'ts': source type timestamptz (declared 'X') cannot be stored in the table's "
       "timestamp column"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_source_column cols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                                 scol("price", floe_arrow_decimal(9, 2), true),
                                 scol("ts", floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US), true),
                                 scol("extra", floe_arrow_type_of(FLOE_ARROW_UTF8), true)};
    for (int c = 0; c < 3; c++)
      if (strcmp(cols[c].name, cases[i].name) == 0) cols[c].type = cases[i].type;
    floe_source_table src = {true, 4, cols};
    floe_schema_drift map;
    CHECK_INT_EQ(floe_schema_map(table, &src, NULL, 0, "t", &map, &err), FLOE_EINVAL);
    if (strstr(err.message, cases[i].message) == NULL)
      TEST_FAIL_AT(__FILE__, __LINE__, "message '%s' lacks '%s'", err.message, cases[i].message);
    CHECK(map.evolved == NULL && map.field_ids == NULL);
  }
  floe_iceberg_schema_free(table);
}

/* A declared nested shape (config `columns:`) against the table's column:
 * nullable struct fields added with fresh ids at their struct's end
 * (inside a list's and a map value's struct too), leaves widened in place,
 * everything else refused naming the path and both types. */
static floe_iceberg_schema *shape_of(const char *text) {
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  if (floe_iceberg_type_parse_nested(&s, "doc", text, NULL, &err) != 0) return NULL;
  return s;
}

static int map_shape(const floe_iceberg_schema *table, const char *text, floe_schema_drift *map,
                     floe_error *err) {
  floe_iceberg_schema *shape = shape_of(text);
  if (shape == NULL) return -100;
  floe_source_column cols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                               scol("doc", floe_arrow_type_of(FLOE_ARROW_UTF8), true)};
  cols[1].shape = &shape->root.fields[0].type;
  floe_source_table src = {true, 2, cols};
  int rc = floe_schema_map(table, &src, NULL, 0, "t", map, err);
  floe_iceberg_schema_free(shape);
  return rc;
}

static void test_schema_drift_evolves_declared_nested_shapes(void) {
  floe_error err = {0};
  floe_iceberg_schema *shape =
      shape_of("struct<n: int, who: struct<name: string>, items: list<struct<qty: int>>, "
               "m: map<string, struct<v: decimal(9,2)>>>");
  REQUIRE(shape != NULL);
  floe_source_column tcols[] = {scol("id", floe_arrow_type_of(FLOE_ARROW_INT64), false),
                                scol("doc", floe_arrow_type_of(FLOE_ARROW_UTF8), true)};
  tcols[1].shape = &shape->root.fields[0].type;
  floe_source_table tsrc = {true, 2, tcols};
  floe_iceberg_schema *table = NULL;
  REQUIRE_OK(floe_schema_from_source(&tsrc, NULL, 0, &table, &err), &err);
  floe_iceberg_schema_free(shape);
  int32_t last = floe_iceberg_schema_highest_field_id(table);
  int32_t n_id = floe_iceberg_schema_find_name(table, "doc.n", true)->id;
  int32_t v_id = floe_iceberg_schema_find_name(table, "doc.m.value.v", true)->id;

  floe_schema_drift map;
  /* the same shape: nothing changes */
  REQUIRE_OK(map_shape(table,
                       "struct<n: int, who: struct<name: string>, items: list<struct<qty: int>>, "
                       "m: map<string, struct<v: decimal(9,2)>>>",
                       &map, &err),
             &err);
  CHECK(map.evolved == NULL);
  floe_schema_drift_free(&map);

  REQUIRE_OK(map_shape(table,
                       "struct<n: long, who: struct<rank: int, name: string>, "
                       "items: list<struct<qty: long, note: string>>, "
                       "m: map<string, struct<v: decimal(12,2), w: list<int>>>, extra: boolean>",
                       &map, &err),
             &err);
  REQUIRE(map.evolved != NULL);
  CHECK_INT_EQ(map.n_added, 4);
  CHECK_INT_EQ(map.n_widened, 3);
  CHECK_STR_EQ(map.description,
               "widened doc.n int->long; added doc.who.rank (int); widened doc.items.element.qty "
               "int->long; added doc.items.element.note (string); widened doc.m.value.v "
               "decimal(9,2)->decimal(12,2); added doc.m.value.w (list<int>); added doc.extra "
               "(boolean)");
  const floe_iceberg_schema *e = map.evolved;
  /* widened in place: the ids stay */
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.n", true)->id, n_id);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.n", true)->type.id, FLOE_ICEBERG_LONG);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.m.value.v", true)->id, v_id);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.m.value.v", true)->type.precision, 12);
  /* added at their struct's end with fresh ids, in order; the list's
   * element takes the id after its field */
  const floe_iceberg_field *who = floe_iceberg_schema_find_name(e, "doc.who", true);
  REQUIRE(who != NULL && who->type.n_fields == 2);
  CHECK_STR_EQ(who->type.fields[1].name, "rank");
  CHECK_INT_EQ(who->type.fields[1].id, last + 1);
  CHECK(!who->type.fields[1].required);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.items.element.note", true)->id, last + 2);
  const floe_iceberg_field *w = floe_iceberg_schema_find_name(e, "doc.m.value.w", true);
  REQUIRE(w != NULL);
  CHECK_INT_EQ(w->id, last + 3);
  CHECK_INT_EQ(w->type.fields[0].id, last + 4);
  CHECK_INT_EQ(floe_iceberg_schema_find_name(e, "doc.extra", true)->id, last + 5);
  /* the query writes the evolved column */
  CHECK_INT_EQ(map.field_ids[1], 2);
  CHECK_INT_EQ(map.arrow_fields[1].n_children, 5);
  floe_schema_drift_free(&map);

  struct {
    const char *shape;
    const char *message;
  } refused[] = {
      {"struct<n: string, who: struct<name: string>, items: list<struct<qty: int>>, "
       "m: map<string, struct<v: decimal(9,2)>>>",
       "doc.n is int in the table and declared string"},
      {"struct<n: int, items: list<struct<qty: int>>, m: map<string, struct<v: decimal(9,2)>>>",
       "doc.who (struct<name: string>) is in the table and not declared"},
      {"struct<n: int, who: struct<name: string, id: long not null>, items: list<struct<qty: int>>, "
       "m: map<string, struct<v: decimal(9,2)>>>",
       "doc.who.id (long not null) is new; a field added to a struct must be nullable"},
      {"struct<n: int, who: struct<name: string>, items: list<struct<qty: int> not null>, "
       "m: map<string, struct<v: decimal(9,2)>>>",
       "doc.items.element is nullable in the table and declared not null"},
      {"struct<n: int, who: struct<name: string>, items: list<struct<qty: int>>, "
       "m: map<int, struct<v: decimal(9,2)>>>",
       "doc.m.key is string in the table and declared int (map keys cannot change)"},
      {"struct<n: int, who: struct<name: string>, items: list<struct<qty: int>>, "
       "m: map<string, struct<v: decimal(9,3)>>>",
       "doc.m.value.v is decimal(9,2) in the table and declared decimal(9,3)"},
      {"struct<n: int, who: list<string>, items: list<struct<qty: int>>, "
       "m: map<string, struct<v: decimal(9,2)>>>",
       "doc.who is struct<name: string> in the table and declared list<string>"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    CHECK_INT_EQ(map_shape(table, refused[i].shape, &map, &err), FLOE_EINVAL);
    if (strstr(err.message, refused[i].message) == NULL)
      TEST_FAIL_AT(__FILE__, __LINE__, "message '%s' lacks '%s'", err.message, refused[i].message);
    CHECK(strstr(err.message, "column 'doc': declared shape struct<") != NULL);
    CHECK(map.evolved == NULL && map.field_ids == NULL);
  }
  floe_iceberg_schema_free(table);
}

static void test_type_fits(void) {
  floe_iceberg_type i = floe_iceberg_type_of(FLOE_ICEBERG_INT), l = floe_iceberg_type_of(FLOE_ICEBERG_LONG);
  floe_iceberg_type f = floe_iceberg_type_of(FLOE_ICEBERG_FLOAT), d = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  floe_iceberg_type d92 = floe_iceberg_decimal(9, 2), d122 = floe_iceberg_decimal(12, 2);
  CHECK(floe_schema_type_fits(&i, &l));
  CHECK(!floe_schema_type_fits(&l, &i));
  CHECK(floe_schema_type_fits(&f, &d));
  CHECK(!floe_schema_type_fits(&d, &f));
  CHECK(floe_schema_type_fits(&d92, &d122));
  CHECK(!floe_schema_type_fits(&d122, &d92));
  CHECK(!floe_schema_type_fits(&i, &d));
}

/* ---- unit SQL --------------------------------------------------------- */

static void test_unit_where_clauses_bind_every_value(void) {
  floe_source_config sc = {0};
  sc.type = FLOE_SOURCE_SQLITE;
  const char *dir = test_tmpdir("replicate_engine_where");
  char path[4200];
  snprintf(path, sizeof path, "%s/src.db", dir);
  sc.sqlite_path = path;
  sc.sqlite_create = true;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &sc, &err), &err);
  CHECK_OK(floe_source_exec(src,
                            "CREATE TABLE t (id INTEGER, b INTEGER, c TEXT, p TEXT);"
                            "INSERT INTO t VALUES (1, 1, '2024-01-01', 'x'), (2, 2, '2024-01-02', 'x'),"
                            " (3, 3, '2024-01-03', 'y'), (4, 3, '2024-01-04', NULL)",
                            NULL, 0, NULL, &err),
           &err);
  floe_config_table t;
  memset(&t, 0, sizeof t);
  t.name = (char *)"t";
  t.strategy = FLOE_STRATEGY_PARTITION;
  t.batch_column = (char *)"B"; /* matched case-insensitively */
  t.partition_column = (char *)"p";
  t.where = (char *)"id <> 2";
  t.target_namespace = (char *)"ns";
  floe_session session;
  memset(&session, 0, sizeof session);
  session.src = src;
  floe_job job;
  REQUIRE_OK(floe_job_open(&job, &session, &t, &err), &err);
  CHECK_INT_EQ(job.batch_idx, 1);
  CHECK_INT_EQ(job.part_idx, 3);
  CHECK_STR_EQ(job.batch_sql, "\"b\"");
  floe_unit_filter f;
  memset(&f, 0, sizeof f);
  f.has_low = f.has_high = true;
  f.low = 0;
  f.high = 3;
  f.has_part = true;
  f.part_value = "x";
  floe_buf sql = FLOE_BUF_INIT;
  floe_source_param params[5];
  size_t n = 0;
  CHECK_OK(floe_job_where(&job, &f, &sql, params, &n, &err), &err);
  floe_buf_terminate(&sql);
  CHECK_STR_EQ((const char *)sql.data, " WHERE \"b\" > $1 AND \"b\" <= $2 AND \"p\" = $3 AND (id <> 2)");
  CHECK_INT_EQ(n, 3);
  CHECK_INT_EQ(params[1].int64_value, 3);
  floe_buf_free(&sql);
  int64_t count = -1;
  CHECK_OK(floe_job_count(&job, &f, &count, &err), &err);
  CHECK_INT_EQ(count, 1); /* id 1 (id 2 filtered by where:) */
  f.part_value = NULL; /* IS NULL */
  CHECK_OK(floe_job_count(&job, &f, &count, &err), &err);
  CHECK_INT_EQ(count, 1);
  f.has_part = false;
  f.has_low = false;
  CHECK_OK(floe_job_count(&job, &f, &count, &err), &err);
  CHECK_INT_EQ(count, 3);
  int64_t max = 0;
  bool is_null = true;
  CHECK_OK(floe_job_max_batch(&job, &max, &is_null, &err), &err);
  CHECK(!is_null);
  CHECK_INT_EQ(max, 3);
  floe_job_close(&job);

  /* A cursor column, and a missing column named with the table's columns. */
  t.strategy = FLOE_STRATEGY_INCREMENTAL;
  t.batch_column = NULL;
  t.cursor_column = (char *)"c";
  t.where = NULL;
  REQUIRE_OK(floe_job_open(&job, &session, &t, &err), &err);
  char *wm = NULL;
  CHECK_OK(floe_job_max_cursor(&job, &wm, &err), &err);
  CHECK_STR_EQ(wm, "2024-01-04");
  memset(&f, 0, sizeof f);
  f.wm_low = "2024-01-02";
  f.wm_high = wm;
  CHECK_OK(floe_job_count(&job, &f, &count, &err), &err);
  CHECK_INT_EQ(count, 2);
  floe_free(wm);
  floe_job_close(&job);
  t.cursor_column = (char *)"nope";
  CHECK_INT_EQ(floe_job_open(&job, &session, &t, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "cursor_column 'nope' is not a column of source table t (columns: id, b, c, p)") != NULL);
  t.cursor_column = NULL;
  t.batch_column = (char *)"c"; /* text: not a batch column */
  CHECK_INT_EQ(floe_job_open(&job, &session, &t, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "a batch column holds integers") != NULL);
  t.source = (char *)"missing";
  CHECK_INT_EQ(floe_job_open(&job, &session, &t, &err), FLOE_ENOTFOUND);
  floe_source_close(src);
}

/* The run's one pre-load statement: max(batch) and the late-rows check's
 * counts, under where:, equal to what separate counts give. */
static void test_batch_totals_read_max_and_late_counts_in_one_statement(void) {
  floe_source_config sc = {0};
  sc.type = FLOE_SOURCE_SQLITE;
  const char *dir = test_tmpdir("replicate_engine_totals");
  char path[4200];
  snprintf(path, sizeof path, "%s/src.db", dir);
  sc.sqlite_path = path;
  sc.sqlite_create = true;
  floe_source *src = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_source_open(&src, &sc, &err), &err);
  CHECK_OK(floe_source_exec(src,
                            "CREATE TABLE t (id INTEGER, b INTEGER);"
                            "CREATE TABLE empty (id INTEGER, b INTEGER);"
                            "INSERT INTO t VALUES (1, NULL), (2, 0), (3, -4), (4, 1), (5, 2),"
                            " (6, 2), (7, 3), (8, 7), (9, 2), (10, NULL)",
                            NULL, 0, NULL, &err),
           &err);
  floe_config_table t;
  memset(&t, 0, sizeof t);
  t.name = (char *)"t";
  t.strategy = FLOE_STRATEGY_CHUNKED;
  t.batch_column = (char *)"b";
  t.where = (char *)"id <> 9 AND id <> 10";
  t.target_namespace = (char *)"ns";
  floe_session session;
  memset(&session, 0, sizeof session);
  session.src = src;
  floe_job job;
  REQUIRE_OK(floe_job_open(&job, &session, &t, &err), &err);
  CHECK(floe_late_rows_checked(&job));
  floe_batch_totals totals;
  CHECK_OK(floe_job_batch_totals(&job, true, true, 2, &totals, &err), &err);
  CHECK(totals.invalid_counted && totals.range_counted);
  CHECK(!totals.max_is_null);
  CHECK_INT_EQ(totals.max, 7);
  CHECK_INT_EQ(totals.control_max, 2);
  CHECK_INT_EQ(totals.rows_invalid, 3); /* ids 1, 2, 3 (10 filtered by where:) */
  CHECK_INT_EQ(totals.rows_counted, 3); /* ids 4, 5, 6 (9 filtered) */
  /* The same numbers as the separate statements floe ran before. */
  floe_unit_filter f;
  memset(&f, 0, sizeof f);
  f.has_low = f.has_high = true;
  f.low = 0;
  f.high = 2;
  int64_t count = -1;
  CHECK_OK(floe_job_count(&job, &f, &count, &err), &err);
  CHECK_INT_EQ(count, totals.rows_counted);
  /* The late-rows check takes its counts from the totals: without an
   * Iceberg table only the invalid rows are known. */
  floe_late_rows late;
  CHECK_OK(floe_late_rows_find(&job, NULL, &totals, &late, &err), &err);
  CHECK(late.checked);
  CHECK_INT_EQ(late.rows_invalid, 3);
  CHECK_INT_EQ(late.rows_late, -1);
  floe_late_rows_free(&late);
  /* Without a committed watermark only the invalid rows are needed: the
   * statement then reads max and that count alone. */
  bool need_invalid = false, need_range = true;
  floe_late_rows_counts_needed(&job, NULL, 2, &need_invalid, &need_range);
  CHECK(need_invalid);
  CHECK(!need_range);
  CHECK_OK(floe_job_batch_totals(&job, need_invalid, need_range, 2, &totals, &err), &err);
  CHECK_INT_EQ(totals.max, 7);
  CHECK_INT_EQ(totals.rows_invalid, 3);
  CHECK(!totals.range_counted);
  CHECK_OK(floe_late_rows_find(&job, NULL, &totals, &late, &err), &err);
  CHECK_INT_EQ(late.rows_invalid, 3);
  floe_late_rows_free(&late);
  /* Uncounted totals (max only) cannot stand in for the counts. */
  CHECK_OK(floe_job_batch_totals(&job, false, false, 2, &totals, &err), &err);
  CHECK(!totals.invalid_counted && !totals.range_counted);
  CHECK_INT_EQ(totals.max, 7);
  CHECK_INT_EQ(floe_late_rows_find(&job, NULL, &totals, &late, &err), FLOE_EINVAL);
  /* A control max of 0: nothing is counted as loaded. */
  CHECK_OK(floe_job_batch_totals(&job, true, true, 0, &totals, &err), &err);
  CHECK_INT_EQ(totals.rows_counted, 0);
  CHECK_INT_EQ(totals.rows_invalid, 3);
  floe_job_close(&job);
  /* An empty source: max is NULL, the counts 0. */
  t.source = (char *)"empty";
  t.where = NULL;
  REQUIRE_OK(floe_job_open(&job, &session, &t, &err), &err);
  CHECK_OK(floe_job_batch_totals(&job, true, true, 5, &totals, &err), &err);
  CHECK(totals.max_is_null);
  CHECK_INT_EQ(totals.max, 0);
  CHECK_INT_EQ(totals.rows_invalid, 0);
  CHECK_INT_EQ(totals.rows_counted, 0);
  floe_job_close(&job);
  floe_source_close(src);
}

/* ---- the source thread (pipeline.c) -------------------------------------- */

typedef struct tail_count {
  floe_source *src;
  int calls;
  int64_t rows;
} tail_count;

static int count_rows_tail(void *ctx, floe_error *err) {
  tail_count *tc = ctx;
  tc->calls++;
  bool is_null = false;
  return floe_source_query_int64(tc->src, "SELECT count(*) FROM t", NULL, 0, &tc->rows, &is_null,
                                 err);
}

/* The tail runs once the stream has ended, as a fresh statement on the
 * same connection: it sees a row committed while the load was reading,
 * which the load's own snapshot does not. */
static void test_pipeline_tail_counts_after_the_load_statement_ends(void) {
  const char *dir = test_tmpdir("replicate_engine_pipeline");
  char path[4200];
  snprintf(path, sizeof path, "%s/src.db", dir);
  for (int64_t threads = 1; threads <= 2; threads++) {
    remove(path);
    floe_source_config sc = {0};
    sc.type = FLOE_SOURCE_SQLITE;
    sc.sqlite_path = path;
    sc.sqlite_create = true;
    floe_source *src = NULL, *writer = NULL;
    floe_error err = {0};
    REQUIRE_OK(floe_source_open(&src, &sc, &err), &err);
    REQUIRE_OK(floe_source_exec(src,
                                "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER, b INTEGER);"
                                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                "WHERE i < 20000) INSERT INTO t SELECT i, i / 1000 FROM n",
                                NULL, 0, NULL, &err),
               &err);
    REQUIRE_OK(floe_source_open(&writer, &sc, &err), &err);
    floe_source_query_spec qs;
    memset(&qs, 0, sizeof qs);
    qs.sql = "SELECT id, b FROM t";
    qs.batch_rows = 1000;
    floe_source_stream *stream = NULL;
    REQUIRE_OK(floe_source_query(src, &qs, &stream, &err), &err);
    tail_count tc = {src, 0, -1};
    floe_pipeline *pipe = NULL;
    REQUIRE_OK(floe_pipeline_start(&pipe, stream, NULL, threads, 4, count_rows_tail, &tc, &err),
               &err);
    CHECK_INT_EQ(floe_pipeline_schema(pipe)->n_children, 2);
    struct ArrowArray batch;
    int64_t rows = 0;
    int rc = floe_pipeline_next(pipe, &batch, &err);
    CHECK_INT_EQ(rc, 1);
    rows += batch.length;
    floe_arrow_array_release(&batch);
    /* Another connection commits while the load reads (WAL). */
    CHECK_OK(floe_source_exec(writer, "INSERT INTO t VALUES (20001, 99), (20002, 99)", NULL, 0,
                              NULL, &err),
             &err);
    while ((rc = floe_pipeline_next(pipe, &batch, &err)) == 1) {
      rows += batch.length;
      floe_arrow_array_release(&batch);
    }
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(rows, 20000); /* the load's snapshot */
    CHECK_OK(floe_pipeline_wait(pipe, &err), &err);
    CHECK_OK(floe_pipeline_wait(pipe, &err), &err); /* again: the same answer */
    CHECK_INT_EQ(tc.calls, 1);
    CHECK_INT_EQ(tc.rows, 20002); /* a fresh statement */
    CHECK_INT_EQ(floe_pipeline_next(pipe, &batch, &err), 0);
    /* The connection is the caller's again. */
    int64_t max = 0;
    bool is_null = true;
    CHECK_OK(floe_source_query_int64(src, "SELECT max(id) FROM t", NULL, 0, &max, &is_null, &err),
             &err);
    CHECK_INT_EQ(max, 20002);
    floe_pipeline_free(pipe);

    /* Stopped before the end: no tail, and wait says so. */
    REQUIRE_OK(floe_source_query(src, &qs, &stream, &err), &err);
    tc.calls = 0;
    REQUIRE_OK(floe_pipeline_start(&pipe, stream, NULL, threads, 1, count_rows_tail, &tc, &err),
               &err);
    CHECK_INT_EQ(floe_pipeline_next(pipe, &batch, &err), 1);
    floe_arrow_array_release(&batch);
    if (threads == 1) CHECK_INT_EQ(floe_pipeline_wait(pipe, &err), FLOE_EINVAL);
    floe_pipeline_free(pipe);
    CHECK_INT_EQ(tc.calls, 0);
    /* The stream went with the pipeline: the connection is free. */
    CHECK_OK(floe_source_exec(src, "DELETE FROM t WHERE id > 20000", NULL, 0, NULL, &err), &err);

    /* A stream that fails: its error, then no tail. */
    qs.sql = "SELECT id, CASE WHEN id = 1500 THEN abs(-9223372036854775807 - 1) END FROM t";
    REQUIRE_OK(floe_source_query(src, &qs, &stream, &err), &err);
    REQUIRE_OK(floe_pipeline_start(&pipe, stream, NULL, threads, 4, count_rows_tail, &tc, &err),
               &err);
    while ((rc = floe_pipeline_next(pipe, &batch, &err)) == 1) floe_arrow_array_release(&batch);
    CHECK(rc < 0);
    CHECK_INT_EQ(floe_pipeline_wait(pipe, &err), FLOE_EINVAL);
    CHECK(strstr(err.message, "did not reach its end") != NULL);
    CHECK_INT_EQ(tc.calls, 0);
    floe_pipeline_free(pipe);
    floe_source_close(writer);
    floe_source_close(src);
  }
}

/* ---- checksums ---------------------------------------------------------- */

static int batch_of(struct ArrowSchema *schema, struct ArrowArray *array, const int64_t *ids,
                    const char *const *names, int n, int32_t id_field) {
  floe_arrow_schema_init_struct(schema, NULL, 2);
  floe_arrow_type_info l = floe_arrow_type_of(FLOE_ARROW_INT64), u = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_schema_init(schema->children[0], "id", &l, true, id_field);
  floe_arrow_schema_init(schema->children[1], "name", &u, true, 2);
  floe_arrow_batch_builder bb;
  floe_error err = {0};
  if (floe_arrow_batch_builder_init(&bb, schema, &err) < 0) return -1;
  for (int i = 0; i < n; i++) {
    floe_arrow_builder_append_int64(&bb.columns[0], ids[i]);
    if (names[i])
      floe_arrow_builder_append_bytes(&bb.columns[1], names[i], strlen(names[i]));
    else
      floe_arrow_builder_append_null(&bb.columns[1]);
  }
  int rc = floe_arrow_batch_builder_finish(&bb, array, &err);
  floe_arrow_batch_builder_free(&bb);
  return rc;
}

static void test_checksums_ignore_row_order_and_see_every_change(void) {
  int32_t fields[] = {1, 2};
  floe_checksum a, b;
  floe_error err = {0};
  REQUIRE_OK(floe_checksum_init(&a, fields, 2, &err), &err);
  REQUIRE_OK(floe_checksum_init(&b, fields, 2, &err), &err);
  struct ArrowSchema s1, s2, s3;
  struct ArrowArray a1, a2, a3;
  int64_t ids1[] = {1, 2, 3}, ids2[] = {3}, ids3[] = {2, 1};
  const char *n1[] = {"x", NULL, "z"}, *n2[] = {"z"}, *n3[] = {NULL, "x"};
  REQUIRE(batch_of(&s1, &a1, ids1, n1, 3, 1) == 0);
  REQUIRE(batch_of(&s2, &a2, ids2, n2, 1, 1) == 0);
  REQUIRE(batch_of(&s3, &a3, ids3, n3, 2, 1) == 0);
  CHECK_OK(floe_checksum_add(&a, &s1, &a1, &err), &err);
  CHECK_OK(floe_checksum_add(&b, &s2, &a2, &err), &err);
  CHECK_OK(floe_checksum_add(&b, &s3, &a3, &err), &err);
  CHECK_INT_EQ(floe_checksum_compare(&a, &b), -1);
  CHECK_INT_EQ(a.rows, 3);
  CHECK_INT_EQ(a.nulls[1], 1);
  /* One changed value in column 2. */
  floe_checksum c;
  REQUIRE_OK(floe_checksum_init(&c, fields, 2, &err), &err);
  struct ArrowSchema s4;
  struct ArrowArray a4;
  const char *n4[] = {"x", NULL, "Z"};
  REQUIRE(batch_of(&s4, &a4, ids1, n4, 3, 1) == 0);
  CHECK_OK(floe_checksum_add(&c, &s4, &a4, &err), &err);
  CHECK_INT_EQ(floe_checksum_compare(&a, &c), 1);
  /* A batch without the column is an error naming the field id. */
  floe_checksum d;
  int32_t other[] = {9};
  REQUIRE_OK(floe_checksum_init(&d, other, 1, &err), &err);
  CHECK_INT_EQ(floe_checksum_add(&d, &s1, &a1, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "field id 9") != NULL);
  floe_checksum_free(&a);
  floe_checksum_free(&b);
  floe_checksum_free(&c);
  floe_checksum_free(&d);
  floe_arrow_schema_release(&s1);
  floe_arrow_schema_release(&s2);
  floe_arrow_schema_release(&s3);
  floe_arrow_schema_release(&s4);
  floe_arrow_array_release(&a1);
  floe_arrow_array_release(&a2);
  floe_arrow_array_release(&a3);
  floe_arrow_array_release(&a4);
}

/* ---- reports, exit codes, debug switches ---------------------------------- */

static void test_report_json_and_text(void) {
  floe_run_report r;
  memset(&r, 0, sizeof r);
  strcpy(r.run_id, "11111111-2222-3333-4444-555555555555");
  r.command = "run";
  r.started_ms = 1000;
  r.finished_ms = 2500;
  floe_run_table *t = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_run_report_add(&r, &t, &err), &err);
  t->name = floe_strdup("orders");
  t->target = floe_strdup("sales.orders");
  t->strategy = "incremental";
  t->mode = "append";
  t->status = FLOE_RUN_OK;
  t->has_range = true;
  t->batch_low = 2;
  t->batch_high = 5;
  t->rows_source = t->rows_written = 15;
  t->files = 1;
  t->bytes = 2048;
  t->commits = 1;
  t->snapshot_id = 42;
  t->seconds = 0.25;
  REQUIRE_OK(floe_run_report_add(&r, &t, &err), &err);
  t->name = floe_strdup("bad \"one\"");
  t->target = floe_strdup("x.y");
  t->strategy = "full";
  t->mode = "overwrite";
  t->status = FLOE_RUN_FAILED;
  t->message = floe_strdup("line1\nline2");
  floe_buf json = FLOE_BUF_INIT;
  REQUIRE_OK(floe_run_report_json(&r, &json, &err), &err);
  floe_buf_terminate(&json);
  const char *j = (const char *)json.data;
  CHECK(strstr(j, "\"run_id\":\"11111111-2222-3333-4444-555555555555\"") != NULL);
  CHECK(strstr(j, "\"status\":\"failed\",\"exit_code\":1") != NULL);
  CHECK(strstr(j, "\"range\":{\"batch_sk_low\":2,\"batch_sk_high\":5}") != NULL);
  CHECK(strstr(j, "\"snapshot_id\":42") != NULL);
  CHECK(strstr(j, "\"table\":\"bad \\\"one\\\"\"") != NULL);
  CHECK(strstr(j, "\"message\":\"line1\\nline2\"") != NULL);
  floe_buf text = FLOE_BUF_INIT;
  REQUIRE_OK(floe_run_report_text(&r, &text, &err), &err);
  floe_buf_terminate(&text);
  CHECK(strstr((const char *)text.data, "orders     ok      (2, 5]    15      1  2.0 KiB     0.25        42") != NULL);
  CHECK_INT_EQ(floe_run_report_exit_code(&r, FLOE_EIO), 1);
  r.tables[1].status = FLOE_RUN_MISMATCH;
  CHECK_INT_EQ(floe_run_report_exit_code(&r, FLOE_EVALIDATE), 3);
  r.tables[1].status = FLOE_RUN_NOTHING_NEW;
  CHECK_INT_EQ(floe_run_report_exit_code(&r, FLOE_OK), 0);
  /* late_rows: fail: exit 5, run status late_rows, the table counted as
   * failed; with late ranges in the table's entry. */
  r.tables[1].status = FLOE_RUN_FAILED;
  r.tables[1].late_rows_fails = true;
  r.tables[1].rows_invalid = 3;
  r.tables[1].rows_late = 1;
  r.tables[1].late_ranges = floe_calloc(1, sizeof *r.tables[1].late_ranges);
  REQUIRE(r.tables[1].late_ranges != NULL);
  r.tables[1].late_ranges[0] = (floe_run_late_range){1, 2, 2, 1, false};
  r.tables[1].n_late_ranges = 1;
  CHECK_INT_EQ(floe_run_report_exit_code(&r, FLOE_EINVAL), 5);
  floe_buf late = FLOE_BUF_INIT;
  REQUIRE_OK(floe_run_report_json(&r, &late, &err), &err);
  floe_buf_terminate(&late);
  CHECK(strstr((const char *)late.data, "\"status\":\"late_rows\",\"exit_code\":5") != NULL);
  CHECK(strstr((const char *)late.data, "\"failed\":1,") != NULL);
  CHECK(strstr((const char *)late.data, "\"late_rows\":1}") != NULL);
  CHECK(strstr((const char *)late.data,
               "\"rows_invalid\":3,\"rows_late\":1,\"late_ranges\":[{\"batch_sk_low\":1,"
               "\"batch_sk_high\":2,\"source_rows\":2,\"loaded_rows\":1,\"baseline\":false}],"
               "\"rows_reloaded\":0") !=
        NULL);
  floe_buf_free(&late);
  r.tables[0].status = FLOE_RUN_FAILED;
  CHECK_INT_EQ(floe_run_report_exit_code(&r, FLOE_EINVAL), 1);
  CHECK_INT_EQ(floe_replicate_exit_code(FLOE_EINVAL), 2);
  CHECK_INT_EQ(floe_replicate_exit_code(FLOE_ESOURCE), 1);
  floe_buf_free(&json);
  floe_buf_free(&text);
  floe_run_report_free(&r);
  CHECK(r.tables == NULL && r.n_tables == 0);
}

static void test_fail_points_count_arrivals(void) {
  floe_error err = {0};
  setenv("FLOE_FAIL_AT", "commit:2", 1);
  floe_debug_reset();
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_OK);
  CHECK_INT_EQ(floe_debug_fail_point("write", &err), FLOE_OK);
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_EIO);
  CHECK(strstr(err.message, "injected failure (FLOE_FAIL_AT=commit:2)") != NULL);
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_OK);
  setenv("FLOE_FAIL_AT", "commitx", 1);
  floe_debug_reset();
  CHECK_INT_EQ(floe_debug_fail_point("commit", &err), FLOE_OK);
  unsetenv("FLOE_FAIL_AT");
  floe_debug_reset();
  floe_debug_crash_point("after_commit"); /* unset: returns */
}

/* ---- data-quality checks (quality.c) ------------------------------------ */

/* A batch of three columns id (long), status (string), ts (timestamp, us)
 * with `n` rows; ids[i] < 0 is null. */
typedef struct qbatch {
  struct ArrowSchema schema;
  struct ArrowArray array;
  floe_source_column cols[3];
  floe_source_table desc;
} qbatch;

static void qbatch_make(qbatch *b, const int64_t *ids, const char *const *status,
                        const int64_t *ts, int64_t n) {
  memset(b, 0, sizeof *b);
  floe_arrow_type_info types[3] = {floe_arrow_type_of(FLOE_ARROW_INT64),
                                   floe_arrow_type_of(FLOE_ARROW_UTF8),
                                   floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US)};
  const char *names[3] = {"id", "status", "ts"};
  REQUIRE(floe_arrow_schema_init_struct(&b->schema, "", 3) == FLOE_OK);
  struct ArrowArray children[3];
  for (int c = 0; c < 3; c++) {
    REQUIRE(floe_arrow_schema_init(b->schema.children[c], names[c], &types[c], true, c + 1) ==
            FLOE_OK);
    b->cols[c].name = (char *)names[c];
    b->cols[c].declared_type = (char *)"";
    b->cols[c].nullable = true;
    b->cols[c].type = types[c];
    floe_arrow_builder bl;
    REQUIRE(floe_arrow_builder_init(&bl, &types[c]) == FLOE_OK);
    for (int64_t i = 0; i < n; i++) {
      if (c == 0) {
        if (ids[i] < 0)
          REQUIRE(floe_arrow_builder_append_null(&bl) == FLOE_OK);
        else
          REQUIRE(floe_arrow_builder_append_int64(&bl, ids[i]) == FLOE_OK);
      } else if (c == 1) {
        REQUIRE(floe_arrow_builder_append_bytes(&bl, status[i], strlen(status[i])) == FLOE_OK);
      } else {
        REQUIRE(floe_arrow_builder_append_int64(&bl, ts[i]) == FLOE_OK);
      }
    }
    REQUIRE(floe_arrow_builder_finish(&bl, &children[c]) == FLOE_OK);
    floe_arrow_builder_free(&bl);
  }
  REQUIRE(floe_arrow_struct_from_children(&b->array, children, 3, n) == FLOE_OK);
  b->desc.exists = true;
  b->desc.n_columns = 3;
  b->desc.columns = b->cols;
}

static void qbatch_free(qbatch *b) {
  floe_arrow_array_release(&b->array);
  floe_arrow_schema_release(&b->schema);
}

static floe_config_check qcheck(floe_config_check_type type, const char *name,
                                const char *column, bool warn) {
  floe_config_check k;
  memset(&k, 0, sizeof k);
  k.type = type;
  k.name = (char *)name;
  k.column = (char *)column;
  k.warn = warn;
  k.min_rows = k.max_rows = -1;
  return k;
}

static void test_quality_row_checks_count_failures_and_keep_samples(void) {
  int64_t ids[6] = {1, 2, 2, -1, 5, 5};
  const char *status[6] = {"new", "paid", "bogus", "new", "lost", "paid"};
  int64_t ts[6] = {0, 0, 0, 0, 0, 0};
  qbatch b;
  qbatch_make(&b, ids, status, ts, 6);
  char *accepted[2] = {"new", "paid"};
  floe_config_check checks[5];
  checks[0] = qcheck(FLOE_CHECK_NOT_NULL, "not_null(id)", "id", false);
  checks[1] = qcheck(FLOE_CHECK_UNIQUE, "unique(id)", "id", false);
  checks[2] = qcheck(FLOE_CHECK_ACCEPTED_VALUES, "accepted(status)", "status", true);
  checks[2].values = accepted;
  checks[2].n_values = 2;
  checks[3] = qcheck(FLOE_CHECK_RANGE, "range(id)", "id", false);
  checks[3].min = (char *)"1";
  checks[3].max = (char *)"4";
  checks[4] = qcheck(FLOE_CHECK_REGEX, "regex(status)", "status", false);
  checks[4].pattern = (char *)"^[a-z]{3,4}$";
  floe_quality *q = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_quality_open(&q, checks, 5, &b.desc, -1, NULL, &err), &err);
  floe_quality_begin_unit(q);
  uint16_t marks[6] = {0};
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, marks, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, NULL, 0, 0, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 1); /* the null id */
  CHECK_INT_EQ(floe_quality_unit_failing(q, 1), 2); /* the second 2 and the second 5 */
  CHECK_INT_EQ(floe_quality_unit_failing(q, 2), 2); /* bogus, lost (warn) */
  CHECK_INT_EQ(floe_quality_unit_failing(q, 3), 2); /* 5 and 5 (null ids are not_null's) */
  CHECK_INT_EQ(floe_quality_unit_failing(q, 4), 1); /* bogus has five letters */
  /* Rows marked for quarantine: the first fail-severity check each fails;
   * warn checks mark nothing. */
  CHECK_INT_EQ(marks[0], 0);
  CHECK_INT_EQ(marks[1], 0);
  CHECK_INT_EQ(marks[2], 2); /* unique */
  CHECK_INT_EQ(marks[3], 1); /* not_null */
  CHECK_INT_EQ(marks[4], 4); /* range */
  CHECK_INT_EQ(marks[5], 2); /* unique before range */
  const char *failed = NULL;
  CHECK(floe_quality_failed(q, false, &failed));
  CHECK_STR_EQ(failed, "not_null(id)");
  CHECK(!floe_quality_failed(q, true, NULL)); /* quarantined: row checks do not stop it */
  floe_buf samples = FLOE_BUF_INIT;
  REQUIRE(floe_quality_samples(q, 2, &samples) == FLOE_OK);
  CHECK_STR_EQ((const char *)samples.data, "bogus, lost");
  floe_buf_free(&samples);
  char *json = NULL;
  REQUIRE_OK(floe_quality_json(q, &json, &err), &err);
  CHECK(strstr(json, "{\"name\":\"unique(id)\",\"type\":\"unique\",\"severity\":\"fail\","
                     "\"column\":\"id\",\"passed\":false,\"failing\":2,\"units\":1,"
                     "\"samples\":[\"2\",\"5\"],\"detail\":null}") != NULL);
  floe_free(json);
  /* A second unit starts from zero for the decision, the report adds up. */
  floe_quality_begin_unit(q);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 1), 0);
  CHECK(!floe_quality_failed(q, false, NULL));
  floe_quality_free(q);
  qbatch_free(&b);
}

static void test_quality_volume_guard_uses_the_median_of_recent_loads(void) {
  int64_t ids[3] = {1, 2, 3};
  const char *status[3] = {"a", "b", "c"};
  int64_t ts[3] = {0, 0, 0};
  qbatch b;
  qbatch_make(&b, ids, status, ts, 3);
  floe_config_check k = qcheck(FLOE_CHECK_ROW_COUNT, "row_count", NULL, false);
  k.min_ratio = 0.5;
  k.max_ratio = 2.0;
  k.history = 3;
  floe_quality *q = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_quality_open(&q, &k, 1, &b.desc, -1, NULL, &err), &err);
  /* Last loads 100, 4, 5, 6 (newest first): the last 3 are 100, 4, 5,
   * median 5: 3 rows is within [2.5, 10]. */
  int64_t recent[4] = {100, 4, 5, 6};
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, recent, 4, 0, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 0);
  CHECK_STR_EQ(floe_quality_detail(q, 0),
               "rows 3, median of the last 3 loads 5.0, expected [2.5, 10.0]");
  /* Median 20: 3 rows is below half of it. */
  int64_t bigger[3] = {20, 30, 10};
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, bigger, 3, 0, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 1);
  CHECK(floe_quality_failed(q, true, NULL)); /* a unit check: quarantine does not help */
  /* No history yet: only the absolute bounds (none here) apply. */
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, NULL, 0, 0, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 0);
  floe_quality_free(q);
  qbatch_free(&b);
}

static void test_quality_freshness_compares_the_newest_value_with_now(void) {
  int64_t ids[2] = {1, 2};
  const char *status[2] = {"a", "b"};
  int64_t hour = INT64_C(3600) * 1000000;
  int64_t now = INT64_C(1800000000) * 1000000;
  int64_t ts[2] = {now - 5 * hour, now - 2 * hour};
  qbatch b;
  qbatch_make(&b, ids, status, ts, 2);
  floe_config_check k = qcheck(FLOE_CHECK_FRESHNESS, "fresh", "ts", false);
  k.max_age_ms = 3 * 3600 * 1000;
  floe_quality *q = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_quality_open(&q, &k, 1, &b.desc, -1, NULL, &err), &err);
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, NULL, 0, now, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 0); /* 2 h old, max 3 h */
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  REQUIRE_OK(floe_quality_finish(q, NULL, 0, now + 2 * hour, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 1); /* 4 h old */
  CHECK_STR_EQ(floe_quality_detail(q, 0), "newest value is 14400 s old, max_age 10800 s");
  floe_quality_free(q);
  /* A column that is not a date or timestamp is refused when opened. */
  floe_config_check bad = qcheck(FLOE_CHECK_FRESHNESS, "fresh", "status", false);
  CHECK_INT_EQ(floe_quality_open(&q, &bad, 1, &b.desc, -1, NULL, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "check fresh: freshness needs a date or timestamp column, and "
                            "'status' is declared ''");
  floe_config_check missing = qcheck(FLOE_CHECK_NOT_NULL, "nn", "nope", false);
  CHECK_INT_EQ(floe_quality_open(&q, &missing, 1, &b.desc, -1, NULL, &err), FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "check nn: column 'nope' is not a column of the source");
  qbatch_free(&b);
}

static void test_quality_skips_rows_a_change_deletes(void) {
  int64_t ids[3] = {1, 2, 3};
  const char *ops[3] = {"I", "D", "U"};
  int64_t ts[3] = {0, 0, 0};
  qbatch b;
  qbatch_make(&b, ids, ops, ts, 3);
  char *accepted[1] = {"I"};
  floe_config_check k = qcheck(FLOE_CHECK_ACCEPTED_VALUES, "ops", "status", false);
  k.values = accepted;
  k.n_values = 1;
  floe_quality *q = NULL;
  floe_error err = {0};
  /* status plays the op column: the delete row is not checked, U fails. */
  REQUIRE_OK(floe_quality_open(&q, &k, 1, &b.desc, 1, "D", &err), &err);
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 1);
  floe_quality_free(q);
  qbatch_free(&b);
}

/* unique on a merge key counts ties only: a key changed twice with
 * different ordering values is the merge's business; the same ordering
 * value twice is a change it cannot order. Quarantine cannot take it when
 * the value is already in the table (checked in the e2e suite). */
static void test_quality_unique_on_a_merge_key_counts_ties(void) {
  int64_t ids[6] = {1, 1, 2, 2, 3, -1};
  const char *status[6] = {"a", "b", "c", "d", "e", "f"};
  int64_t ts[6] = {1, 2, 5, 5, 0, 0};
  qbatch b;
  qbatch_make(&b, ids, status, ts, 6);
  floe_config_check k = qcheck(FLOE_CHECK_UNIQUE, "unique(id)", "id", false);
  floe_config_check other = qcheck(FLOE_CHECK_UNIQUE, "unique(status)", "status", false);
  floe_config_check both[2] = {k, other};
  floe_quality *q = NULL;
  floe_error err = {0};
  REQUIRE_OK(floe_quality_open(&q, both, 2, &b.desc, -1, NULL, &err), &err);
  int64_t key[1] = {0}, order[2] = {2, -1};
  REQUIRE_OK(floe_quality_set_merge_key(q, key, 1, order, 2, &err), &err);
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 1); /* the second (2, ts 5) */
  CHECK_INT_EQ(floe_quality_unit_failing(q, 1), 0); /* not a key column: plain */
  floe_buf samples = FLOE_BUF_INIT;
  REQUIRE(floe_quality_samples(q, 0, &samples) == FLOE_OK);
  CHECK_STR_EQ((const char *)samples.data, "2");
  floe_buf_free(&samples);
  CHECK(!floe_quality_wants_table(q));
  floe_quality_free(q);
  /* The same rows without the merge key: every repeat counts. */
  REQUIRE_OK(floe_quality_open(&q, &k, 1, &b.desc, -1, NULL, &err), &err);
  floe_quality_begin_unit(q);
  REQUIRE_OK(floe_quality_add(q, &b.schema, &b.array, NULL, &err), &err);
  CHECK_INT_EQ(floe_quality_unit_failing(q, 0), 2);
  floe_quality_free(q);
  qbatch_free(&b);
}

int main(void) {
  RUN(test_quality_row_checks_count_failures_and_keep_samples);
  RUN(test_quality_unique_on_a_merge_key_counts_ties);
  RUN(test_quality_volume_guard_uses_the_median_of_recent_loads);
  RUN(test_quality_freshness_compares_the_newest_value_with_now);
  RUN(test_quality_skips_rows_a_change_deletes);
  RUN(test_reconcile_nothing_to_repair_when_ledger_and_table_agree);
  RUN(test_reconcile_compensates_rows_above_the_last_commit_highest_first);
  RUN(test_reconcile_reinserts_rows_of_committed_ranges_lowest_first);
  RUN(test_reconcile_an_unfinished_partitioned_range_is_not_proof);
  RUN(test_reconcile_keeps_rows_below_expired_commits);
  RUN(test_reconcile_rolls_the_users_rows_forward_as_a_baseline);
  RUN(test_control_rows_floe_wrote_while_loading_are_told_apart);
  RUN(test_commits_are_collected_from_main_ancestry_per_table);
  RUN(test_watermark_property_round_trips_and_refuses_garbage);
  RUN(test_watermark_property_stands_in_for_expired_summaries);
  RUN(test_watermark_property_behind_visible_summaries_is_not_used);
  RUN(test_watermark_check_needs_the_commit_to_start_at_the_committed_end);
  RUN(test_schema_from_source_numbers_columns_and_skips_the_op_column);
  RUN(test_schema_lists_number_elements_after_columns_and_check_elements);
  RUN(test_schema_drift_adds_widens_and_keeps_dropped_columns);
  RUN(test_schema_drift_refuses_incompatible_changes_naming_both_types);
  RUN(test_schema_drift_evolves_declared_nested_shapes);
  RUN(test_type_fits);
  RUN(test_unit_where_clauses_bind_every_value);
  RUN(test_batch_totals_read_max_and_late_counts_in_one_statement);
  RUN(test_pipeline_tail_counts_after_the_load_statement_ends);
  RUN(test_checksums_ignore_row_order_and_see_every_change);
  RUN(test_report_json_and_text);
  RUN(test_fail_points_count_arrivals);
  return test_report();
}
