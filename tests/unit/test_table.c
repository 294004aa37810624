/*
 * tests/unit/test_table.c: Iceberg tables and snapshot operations on the
 * hadoop catalog and the SQL catalog on SQLite.
 *
 * The lifecycle test runs create -> append x3 -> dynamic overwrite -> row
 * delta (data + position + equality deletes) -> delete by path -> replace
 * and after each step checks the metadata (sequence numbers, parents,
 * summaries with exact Appendix F totals computed by hand, snapshot-log,
 * metadata-log, refs) and the live files read back from the manifests.
 * Data files are described, not written: manifests only record them.
 * Conflict tests use two table handles on one table: the second commits
 * while the first holds a stale base.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "floe/table.h"
#include "test.h"
#include "catalog_test_support.h"

/* ---- fixtures --------------------------------------------------------- */

static int64_t table_now_ms_for_test(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static floe_iceberg_schema *make_schema(void) {
  floe_iceberg_column cols[] = {
      {1, "id", true, {FLOE_ICEBERG_LONG, 0, 0, 0, 0, NULL}, NULL},
      {2, "name", false, {FLOE_ICEBERG_STRING, 0, 0, 0, 0, NULL}, NULL},
      {3, "ts", false, {FLOE_ICEBERG_TIMESTAMPTZ, 0, 0, 0, 0, NULL}, NULL},
      {4, "region", false, {FLOE_ICEBERG_STRING, 0, 0, 0, 0, NULL}, NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_iceberg_schema_new(&s, 0, cols, 4, NULL);
  return s;
}

/* A described data or delete file: partition region=<region>, id bounds
 * [id_lo, id_hi] (8-byte little-endian longs, Appendix D). */
typedef struct test_file {
  floe_iceberg_content_file f;
  floe_iceberg_value part;
  floe_iceberg_column_metrics m;
  uint8_t lo[8], hi[8];
  char path[512];
  int32_t eq_ids[1];
} test_file;

static void le64(uint8_t *out, int64_t v) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static void make_file(test_file *t, const floe_table *table, const char *name,
                      floe_iceberg_content content, const char *region,
                      int64_t records, int64_t size, int64_t id_lo,
                      int64_t id_hi) {
  memset(t, 0, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s/data/%s.parquet", floe_table_location(table),
           name);
  t->f.content = content;
  t->f.file_path = t->path;
  t->f.file_format = "PARQUET";
  t->f.spec_id = floe_table_spec(table)->spec_id;
  t->f.n_partition = floe_table_spec(table)->n_fields;
  t->part.bytes = (const uint8_t *)region;
  t->part.len = strlen(region);
  t->f.partition = t->f.n_partition ? &t->part : NULL;
  t->f.record_count = records;
  t->f.file_size_in_bytes = size;
  if (content == FLOE_CONTENT_DATA) {
    le64(t->lo, id_lo);
    le64(t->hi, id_hi);
    t->m.field_id = 1;
    t->m.has_value_count = t->m.has_null_count = true;
    t->m.value_count = records;
    t->m.null_count = 0;
    t->m.lower_bound = t->lo;
    t->m.lower_bound_len = 8;
    t->m.upper_bound = t->hi;
    t->m.upper_bound_len = 8;
    t->f.n_columns = 1;
    t->f.columns = &t->m;
  }
  if (content == FLOE_CONTENT_EQUALITY_DELETES) {
    t->eq_ids[0] = 1;
    t->f.n_equality_ids = 1;
    t->f.equality_ids = t->eq_ids;
  }
}

typedef struct fixture {
  catalog_env env;
  floe_catalog *cat;
  floe_table *table;
} fixture;

static const floe_catalog_ident ident = {"db", "events"};

/* Opens the catalog and creates db.events partitioned by identity(region)
 * (or unpartitioned). Returns a skip reason or NULL. */
static const char *fixture_open(fixture *fx, catalog_kind kind, const char *name,
                                bool partitioned, const floe_iceberg_property *props,
                                int32_t n_props, floe_error *err) {
  memset(fx, 0, sizeof *fx);
  const char *skip = catalog_env_init(&fx->env, kind, name);
  if (skip != NULL) return skip;
  if (catalog_env_open(&fx->env, &fx->cat, err) != 0) return NULL;
  if (floe_catalog_namespace_create(fx->cat, "db", NULL, 0, err) != 0) return NULL;
  floe_iceberg_schema *schema = make_schema();
  floe_iceberg_partition_spec *spec = NULL;
  if (partitioned) {
    int32_t last = 999;
    floe_iceberg_partition_spec_new(&spec, 0, err);
    floe_iceberg_partition_spec_add_field(spec, schema, "region", "identity", NULL,
                                          &last, err);
  }
  floe_table_create(fx->cat, ident, schema, spec, NULL, props, n_props, NULL,
                    &fx->table, err);
  floe_iceberg_schema_free(schema);
  floe_iceberg_partition_spec_free(spec);
  return NULL;
}

static void fixture_close(fixture *fx) {
  floe_table_free(fx->table);
  floe_catalog_free(fx->cat);
}

static const char *summary(const floe_iceberg_snapshot *s, const char *key) {
  for (int32_t i = 0; i < s->n_summary; i++)
    if (strcmp(s->summary[i].key, key) == 0) return s->summary[i].value;
  return NULL;
}

/* Checks a snapshot summary equals exactly `expected` ("k=v" items, in
 * order, NULL-terminated). */
#define CHECK_SUMMARY(snap, ...)                                              \
  do {                                                                        \
    const char *exp_[] = {__VA_ARGS__, NULL};                                 \
    int32_t n_ = 0;                                                           \
    while (exp_[n_] != NULL) n_++;                                            \
    CHECK_INT_EQ((snap)->n_summary, n_);                                      \
    for (int32_t i_ = 0; i_ < n_ && i_ < (snap)->n_summary; i_++) {           \
      char kv_[512];                                                          \
      snprintf(kv_, sizeof kv_, "%s=%s", (snap)->summary[i_].key,             \
               (snap)->summary[i_].value);                                    \
      CHECK_STR_EQ(kv_, exp_[i_]);                                            \
    }                                                                         \
  } while (0)

/* Live file paths of the current snapshot, sorted, joined by ','. */
static void live_paths(const floe_table *t, char *out, size_t cap) {
  floe_table_files files = {0};
  floe_error err = {0};
  out[0] = '\0';
  if (floe_table_files_read(t, NULL, &files, &err) != 0) {
    snprintf(out, cap, "error: %s", err.message);
    return;
  }
  char *names[64];
  int n = 0;
  for (int32_t i = 0; i < files.n && n < 64; i++) {
    const char *p = strrchr(files.files[i].file.file_path, '/');
    names[n++] = (char *)(p ? p + 1 : files.files[i].file.file_path);
  }
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[j], names[i]) < 0) {
        char *x = names[i];
        names[i] = names[j];
        names[j] = x;
      }
  for (int i = 0; i < n; i++) {
    strncat(out, names[i], cap - strlen(out) - 2);
    if (i + 1 < n) strncat(out, ",", cap - strlen(out) - 1);
  }
  floe_table_files_reset(&files);
}

static const floe_table_file *find_live(const floe_table_files *files,
                                        const char *name) {
  for (int32_t i = 0; i < files->n; i++) {
    const char *p = strrchr(files->files[i].file.file_path, '/');
    if (strcmp(p ? p + 1 : files->files[i].file.file_path, name) == 0)
      return &files->files[i];
  }
  return NULL;
}

/* Checks the common metadata facts after a commit. */
static void check_commit(const floe_table *t, int64_t snapshot_id, int64_t seq,
                         int64_t parent_id, const char *previous_metadata) {
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(t);
  REQUIRE(s != NULL);
  CHECK(s->snapshot_id == snapshot_id);
  CHECK_INT_EQ(s->sequence_number, seq);
  CHECK_INT_EQ(md->last_sequence_number, seq);
  CHECK(s->has_parent == (parent_id != 0));
  if (parent_id != 0) CHECK(s->parent_snapshot_id == parent_id);
  CHECK(s->has_schema_id && s->schema_id == md->current_schema_id);
  const floe_iceberg_snapshot_ref *main = floe_iceberg_metadata_ref(md, "main");
  REQUIRE(main != NULL);
  CHECK(main->snapshot_id == snapshot_id && !main->is_tag);
  CHECK_INT_EQ(md->n_snapshots, seq);
  CHECK_INT_EQ(md->n_snapshot_log, seq);
  CHECK(md->snapshot_log[md->n_snapshot_log - 1].snapshot_id == snapshot_id);
  CHECK(md->snapshot_log[md->n_snapshot_log - 1].timestamp_ms == s->timestamp_ms);
  CHECK(md->last_updated_ms == s->timestamp_ms);
  REQUIRE(md->n_metadata_log > 0);
  CHECK_STR_EQ(md->metadata_log[md->n_metadata_log - 1].metadata_file,
               previous_metadata);
  /* Manifest list name: snap-<id>-<attempt>-<uuid>.avro. */
  char prefix[64];
  snprintf(prefix, sizeof prefix, "snap-%" PRId64 "-1-", snapshot_id);
  const char *name = strrchr(s->manifest_list, '/');
  CHECK(name != NULL && strncmp(name + 1, prefix, strlen(prefix)) == 0);
  CHECK(strstr(s->manifest_list, "/metadata/snap-") != NULL);
}

/* ---- the lifecycle ---------------------------------------------------- */

static void lifecycle(catalog_kind kind) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, kind, "table_lifecycle", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *t = fx.table;
  const floe_iceberg_metadata *md = floe_table_metadata(t);
  CHECK_INT_EQ(md->format_version, 2);
  CHECK(floe_table_current_snapshot(t) == NULL);
  CHECK_STR_EQ(floe_table_property(t, "write.parquet.compression-codec"), "zstd");
  CHECK(floe_table_property(t, "format-version") == NULL);
  CHECK_INT_EQ(floe_table_spec(t)->n_fields, 1);
  char expected_location[4400];
  snprintf(expected_location, sizeof expected_location, "%s/db/events",
           fx.env.warehouse);
  CHECK(strstr(floe_table_location(t), "/db/events") != NULL);

  /* append 1: a1 (us, 10 rows). */
  test_file a1, a2, a3, a4;
  make_file(&a1, t, "a1", FLOE_CONTENT_DATA, "us", 10, 1000, 0, 9);
  make_file(&a2, t, "a2", FLOE_CONTENT_DATA, "eu", 20, 2000, 10, 29);
  make_file(&a3, t, "a3", FLOE_CONTENT_DATA, "us", 5, 500, 30, 34);
  make_file(&a4, t, "a4", FLOE_CONTENT_DATA, "eu", 7, 700, 35, 41);
  floe_iceberg_property props[] = {{"floe.source-table", "SALES.EVENTS"},
                                   {"floe.batch-sk.low", "0"},
                                   {"floe.batch-sk.high", "7"},
                                   {"floe.run-id", "run-1"}};
  char prev[4400];
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  int64_t s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  REQUIRE_OK(floe_table_append(t, &a1.f, 1, props, 4, &s1, &err), &err);
  check_commit(t, s1, 1, 0, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=append",
                "floe.source-table=SALES.EVENTS", "floe.batch-sk.low=0",
                "floe.batch-sk.high=7", "floe.run-id=run-1", "added-data-files=1",
                "added-records=10", "added-files-size=1000", "changed-partition-count=1",
                "total-records=10", "total-files-size=1000", "total-data-files=1",
                "total-delete-files=0", "total-position-deletes=0",
                "total-equality-deletes=0");
  CHECK_STR_EQ(floe_table_current_snapshot(t)->operation, "append");

  /* append 2 and 3 (fast appends keep every manifest as it is). */
  floe_manifest_list *list1 = NULL, *list2 = NULL, *list3 = NULL;
  REQUIRE_OK(floe_manifest_list_read(floe_table_io(t),
                                     floe_table_current_snapshot(t)->manifest_list,
                                     &list1, &err), &err);
  CHECK_INT_EQ(list1->n_files, 1);
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  REQUIRE_OK(floe_table_append(t, &a2.f, 1, NULL, 0, &s2, &err), &err);
  check_commit(t, s2, 2, s1, prev);
  REQUIRE_OK(floe_manifest_list_read(floe_table_io(t),
                                     floe_table_current_snapshot(t)->manifest_list,
                                     &list2, &err), &err);
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  floe_iceberg_content_file two[2] = {a3.f, a4.f};
  REQUIRE_OK(floe_table_append(t, two, 2, NULL, 0, &s3, &err), &err);
  check_commit(t, s3, 3, s2, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=append",
                "added-data-files=2", "added-records=12", "added-files-size=1200",
                "changed-partition-count=2", "total-records=42",
                "total-files-size=4200", "total-data-files=4", "total-delete-files=0",
                "total-position-deletes=0", "total-equality-deletes=0");
  REQUIRE_OK(floe_manifest_list_read(floe_table_io(t),
                                     floe_table_current_snapshot(t)->manifest_list,
                                     &list3, &err), &err);
  CHECK_INT_EQ(list3->n_files, 3);
  if (list3->n_files == 3 && list2->n_files == 2) {
    /* New manifest first; the two earlier ones are the same files. */
    CHECK_STR_EQ(list3->files[1].manifest_path, list2->files[0].manifest_path);
    CHECK_STR_EQ(list3->files[2].manifest_path, list2->files[1].manifest_path);
    CHECK_STR_EQ(list3->files[2].manifest_path, list1->files[0].manifest_path);
    CHECK_INT_EQ(list3->files[0].sequence_number, 3);
    CHECK_INT_EQ(list3->files[1].sequence_number, 2);
    CHECK_INT_EQ(list3->files[2].sequence_number, 1);
    CHECK(list3->files[0].added_snapshot_id == s3);
    CHECK_INT_EQ(list3->files[0].added_files_count, 2);
    CHECK_INT_EQ(list3->files[0].added_rows_count, 12);
    CHECK(strstr(list3->files[0].manifest_path, "-m0.avro") != NULL);
  }
  floe_manifest_list_free(list1);
  floe_manifest_list_free(list2);
  floe_manifest_list_free(list3);
  char live[2048];
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a1.parquet,a2.parquet,a3.parquet,a4.parquet");

  /* Dynamic partition overwrite of region=us with b1. */
  test_file b1;
  make_file(&b1, t, "b1", FLOE_CONTENT_DATA, "us", 12, 1200, 0, 11);
  floe_table_op *op = NULL;
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &b1.f, &err), &err);
  CHECK_OK(floe_table_op_delete_added_partitions(op, &err), &err);
  CHECK_OK(floe_table_op_set_summary(op, "floe.run-id", "run-2", &err), &err);
  CHECK_INT_EQ(floe_table_op_set_summary(op, "total-records", "1", &err), FLOE_EINVAL);
  REQUIRE_OK(floe_table_op_commit(op, &s4, &err), &err);
  CHECK_INT_EQ(floe_table_op_attempts(op), 1);
  floe_table_op_free(op);
  check_commit(t, s4, 4, s3, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=overwrite",
                "floe.run-id=run-2", "added-data-files=1", "deleted-data-files=2",
                "added-records=12", "deleted-records=15", "added-files-size=1200",
                "removed-files-size=1500", "changed-partition-count=1",
                "total-records=39", "total-files-size=3900", "total-data-files=3",
                "total-delete-files=0", "total-position-deletes=0",
                "total-equality-deletes=0");
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a2.parquet,a4.parquet,b1.parquet");
  {
    floe_table_files files = {0};
    REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
    const floe_table_file *f = find_live(&files, "a4.parquet");
    REQUIRE(f != NULL);
    /* Carried into a rewritten manifest as EXISTING, keeping its origin. */
    CHECK_INT_EQ(f->status, FLOE_ENTRY_EXISTING);
    CHECK(f->snapshot_id == s3);
    CHECK_INT_EQ(f->sequence_number, 3);
    CHECK_INT_EQ(f->file_sequence_number, 3);
    f = find_live(&files, "a2.parquet");
    REQUIRE(f != NULL);
    CHECK_INT_EQ(f->status, FLOE_ENTRY_ADDED); /* untouched manifest */
    CHECK_INT_EQ(f->sequence_number, 2);
    f = find_live(&files, "b1.parquet");
    REQUIRE(f != NULL);
    CHECK(f->snapshot_id == s4);
    CHECK_INT_EQ(f->sequence_number, 4);
    floe_table_files_reset(&files);
    /* The rewritten manifests record the deletions by this snapshot. */
    floe_manifest_list *l = NULL;
    REQUIRE_OK(floe_manifest_list_read(floe_table_io(t),
                                       floe_table_current_snapshot(t)->manifest_list,
                                       &l, &err), &err);
    CHECK_INT_EQ(l->n_files, 4);
    int deleted = 0, existing = 0;
    for (int32_t i = 0; i < l->n_files; i++) {
      deleted += l->files[i].deleted_files_count;
      existing += l->files[i].existing_files_count;
      if (l->files[i].deleted_files_count > 0) {
        CHECK(l->files[i].added_snapshot_id == s4);
        floe_manifest_reader *r = NULL;
        REQUIRE_OK(floe_manifest_reader_open(&r, floe_table_io(t),
                                             l->files[i].manifest_path, &l->files[i],
                                             floe_table_metadata(t), &err), &err);
        const floe_manifest_entry *e = NULL;
        while (floe_manifest_reader_next(r, &e, &err) == 0 && e != NULL)
          if (e->status == FLOE_ENTRY_DELETED) {
            CHECK(e->snapshot_id == s4);
            CHECK(strstr(e->file.file_path, "/a1.parquet") ||
                  strstr(e->file.file_path, "/a3.parquet"));
          }
        floe_manifest_reader_free(r);
      }
    }
    CHECK_INT_EQ(deleted, 2);
    CHECK_INT_EQ(existing, 1);
    floe_manifest_list_free(l);
  }

  /* Row delta: c1 (eu, 3 rows) + position deletes p1 (2 rows, for a2) +
   * equality deletes e1 (1 row). */
  test_file c1, p1, e1;
  make_file(&c1, t, "c1", FLOE_CONTENT_DATA, "eu", 3, 300, 50, 52);
  make_file(&p1, t, "p1", FLOE_CONTENT_POSITION_DELETES, "eu", 2, 64, 0, 0);
  p1.f.referenced_data_file = a2.path;
  make_file(&e1, t, "e1", FLOE_CONTENT_EQUALITY_DELETES, "eu", 1, 32, 0, 0);
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_ROW_DELTA, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &c1.f, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &p1.f, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &e1.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, &s5, &err), &err);
  floe_table_op_free(op);
  check_commit(t, s5, 5, s4, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=overwrite",
                "added-data-files=1", "added-equality-delete-files=1",
                "added-position-delete-files=1", "added-delete-files=2",
                "added-records=3", "added-files-size=396", "added-position-deletes=2",
                "added-equality-deletes=1", "changed-partition-count=1",
                "total-records=42", "total-files-size=4296", "total-data-files=4",
                "total-delete-files=2", "total-position-deletes=2",
                "total-equality-deletes=1");
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a2.parquet,a4.parquet,b1.parquet,c1.parquet,e1.parquet,p1.parquet");
  {
    floe_manifest_list *l = NULL;
    REQUIRE_OK(floe_manifest_list_read(floe_table_io(t),
                                       floe_table_current_snapshot(t)->manifest_list,
                                       &l, &err), &err);
    /* data manifest + delete manifest first, then the 4 of snapshot 4. */
    CHECK_INT_EQ(l->n_files, 6);
    CHECK_INT_EQ(l->files[0].content, FLOE_MANIFEST_DATA);
    CHECK_INT_EQ(l->files[1].content, FLOE_MANIFEST_DELETES);
    CHECK_INT_EQ(l->files[1].added_files_count, 2);
    CHECK_INT_EQ(l->files[1].sequence_number, 5);
    floe_manifest_list_free(l);
  }

  /* Delete by path: c1. */
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, c1.path, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, &s6, &err), &err);
  floe_table_op_free(op);
  check_commit(t, s6, 6, s5, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=delete",
                "deleted-data-files=1", "deleted-records=3", "removed-files-size=300",
                "changed-partition-count=1", "total-records=39",
                "total-files-size=3996", "total-data-files=3", "total-delete-files=2",
                "total-position-deletes=2", "total-equality-deletes=1");
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a2.parquet,a4.parquet,b1.parquet,e1.parquet,p1.parquet");

  /* Replace: a4 rewritten as r1 (same 7 rows). */
  test_file r1;
  make_file(&r1, t, "r1", FLOE_CONTENT_DATA, "eu", 7, 650, 35, 41);
  snprintf(prev, sizeof prev, "%s", floe_table_metadata_location(t));
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_REPLACE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, a4.path, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &r1.f, &err), &err);
  CHECK_INT_EQ(floe_table_op_add_file(op, &e1.f, &err), FLOE_EINVAL);
  REQUIRE_OK(floe_table_op_commit(op, &s7, &err), &err);
  floe_table_op_free(op);
  check_commit(t, s7, 7, s6, prev);
  CHECK_SUMMARY(floe_table_current_snapshot(t), "operation=replace",
                "added-data-files=1", "deleted-data-files=1", "added-records=7",
                "deleted-records=7", "added-files-size=650", "removed-files-size=700",
                "changed-partition-count=1", "total-records=39",
                "total-files-size=3946", "total-data-files=3", "total-delete-files=2",
                "total-position-deletes=2", "total-equality-deletes=1");
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a2.parquet,b1.parquet,e1.parquet,p1.parquet,r1.parquet");
  {
    floe_table_files files = {0};
    REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
    const floe_table_file *f = find_live(&files, "r1.parquet");
    REQUIRE(f != NULL);
    CHECK_INT_EQ(f->sequence_number, 7); /* the documented choice */
    f = find_live(&files, "e1.parquet");
    REQUIRE(f != NULL);
    CHECK_INT_EQ(f->file.content, FLOE_CONTENT_EQUALITY_DELETES);
    CHECK_INT_EQ(f->sequence_number, 5);
    CHECK_INT_EQ(f->file.n_equality_ids, 1);
    floe_table_files_reset(&files);
  }

  /* Earlier snapshots still read as they were. */
  {
    floe_table_files files = {0};
    const floe_iceberg_snapshot *old =
        floe_iceberg_metadata_snapshot(floe_table_metadata(t), s3);
    REQUIRE(old != NULL);
    REQUIRE_OK(floe_table_files_read(t, old, &files, &err), &err);
    CHECK_INT_EQ(files.n, 4);
    floe_table_files_reset(&files);
  }

  /* Time travel: the snapshot current at each snapshot's timestamp. */
  md = floe_table_metadata(t);
  const floe_iceberg_snapshot *at = NULL;
  const floe_iceberg_snapshot *snap2 = floe_iceberg_metadata_snapshot(md, s2);
  REQUIRE(snap2 != NULL);
  REQUIRE_OK(floe_table_snapshot_as_of(t, snap2->timestamp_ms, &at, &err), &err);
  CHECK(at->snapshot_id == s2);
  REQUIRE_OK(floe_table_snapshot_as_of(t, table_now_ms_for_test(), &at, &err), &err);
  CHECK(at->snapshot_id == s7);
  const floe_iceberg_snapshot *snap1 = floe_iceberg_metadata_snapshot(md, s1);
  CHECK_INT_EQ(floe_table_snapshot_as_of(t, snap1->timestamp_ms - 1, &at, &err),
               FLOE_ENOTFOUND);
  /* Strictly increasing timestamps along the log. */
  for (int32_t i = 1; i < md->n_snapshot_log; i++)
    CHECK(md->snapshot_log[i].timestamp_ms > md->snapshot_log[i - 1].timestamp_ms);
  CHECK_INT_EQ(md->n_metadata_log, 7);

  /* A fresh load sees the same state. */
  floe_table *again = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &again, &err), &err);
  CHECK(floe_table_current_snapshot(again)->snapshot_id == s7);
  CHECK_STR_EQ(floe_table_metadata_location(again), floe_table_metadata_location(t));
  floe_table_free(again);

  /* Deleting a path that is not live. */
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, a1.path, &err), &err);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "a1.parquet") != NULL);
  floe_table_op_free(op);
  CHECK(floe_table_current_snapshot(t)->snapshot_id == s7);
  fixture_close(&fx);
}

static void test_lifecycle_hadoop(void) { lifecycle(KIND_HADOOP); }
static void test_lifecycle_sqlite(void) { lifecycle(KIND_SQLITE); }

/* ---- conflicts -------------------------------------------------------- */

static void stale_append_rebases(catalog_kind kind) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, kind, "table_stale_append", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  test_file x, y;
  make_file(&x, fx.table, "x", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  make_file(&y, fx.table, "y", FLOE_CONTENT_DATA, "us", 6, 60, 4, 9);
  int64_t sx = 0, sy = 0;
  REQUIRE_OK(floe_table_append(other, &x.f, 1, NULL, 0, &sx, &err), &err);
  /* fx.table still holds the empty table as its base. */
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &y.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, &sy, &err), &err);
  CHECK_INT_EQ(floe_table_op_attempts(op), 2);
  floe_table_op_free(op);
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(fx.table);
  CHECK(s->snapshot_id == sy && s->has_parent && s->parent_snapshot_id == sx);
  CHECK_INT_EQ(s->sequence_number, 2);
  CHECK_STR_EQ(summary(s, "total-records"), "10");
  CHECK_STR_EQ(summary(s, "total-data-files"), "2");
  /* The rebased list is attempt 2's. */
  char prefix[64];
  snprintf(prefix, sizeof prefix, "snap-%" PRId64 "-2-", sy);
  CHECK(strstr(s->manifest_list, prefix) != NULL);
  char live[512];
  live_paths(fx.table, live, sizeof live);
  CHECK_STR_EQ(live, "x.parquet,y.parquet");
  floe_table_free(other);
  fixture_close(&fx);
}

static void test_stale_append_rebases_hadoop(void) { stale_append_rebases(KIND_HADOOP); }
static void test_stale_append_rebases_sqlite(void) { stale_append_rebases(KIND_SQLITE); }

static int count_files(const char *dir) {
  char cmd[4600];
  snprintf(cmd, sizeof cmd, "ls '%.4400s' 2>/dev/null | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p != NULL) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

static void stale_overwrite_conflicts(catalog_kind kind) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, kind, "table_stale_overwrite", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file base, x, y, z;
  make_file(&base, fx.table, "base", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  REQUIRE_OK(floe_table_append(fx.table, &base.f, 1, NULL, 0, NULL, &err), &err);
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  /* A concurrent append into region=us, the partition being overwritten. */
  make_file(&x, fx.table, "x", FLOE_CONTENT_DATA, "us", 5, 50, 10, 14);
  int64_t sx = 0;
  REQUIRE_OK(floe_table_append(other, &x.f, 1, NULL, 0, &sx, &err), &err);
  char after_x[4400];
  snprintf(after_x, sizeof after_x, "%s", floe_table_metadata_location(other));
  make_file(&y, fx.table, "y", FLOE_CONTENT_DATA, "us", 6, 60, 0, 5);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &y.f, &err), &err);
  CHECK_OK(floe_table_op_delete_added_partitions(op, &err), &err);
  int64_t sy = 0;
  CHECK_INT_EQ(floe_table_op_commit(op, &sy, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "x.parquet") != NULL);
  CHECK_INT_EQ(floe_table_op_attempts(op), 2);
  floe_table_op_free(op);
  /* Nothing reachable: the table is as the concurrent append left it. */
  REQUIRE_OK(floe_table_refresh(other, &err), &err);
  CHECK_STR_EQ(floe_table_metadata_location(other), after_x);
  CHECK(floe_table_current_snapshot(other)->snapshot_id == sx);
  CHECK_INT_EQ(floe_table_metadata(other)->n_snapshots, 2);
  char live[512];
  live_paths(other, live, sizeof live);
  CHECK_STR_EQ(live, "base.parquet,x.parquet");
  if (kind == KIND_HADOOP) {
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/db/events/metadata", fx.env.warehouse);
    /* v1..v3 + version-hint, 3 manifests + 2 lists of the landed commits,
     * and the loser's orphans (manifest, rewrite, 2 lists) only. */
    int n = count_files(dir);
    CHECK(n >= 4 + 5);
  }

  /* An overwrite of another partition rebases and lands. */
  REQUIRE_OK(floe_table_refresh(fx.table, &err), &err);
  make_file(&z, fx.table, "z", FLOE_CONTENT_DATA, "eu", 2, 20, 0, 1);
  REQUIRE_OK(floe_table_append(other, &z.f, 1, NULL, 0, NULL, &err), &err);
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &y.f, &err), &err);
  CHECK_OK(floe_table_op_delete_added_partitions(op, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, &sy, &err), &err);
  CHECK_INT_EQ(floe_table_op_attempts(op), 2);
  floe_table_op_free(op);
  live_paths(fx.table, live, sizeof live);
  CHECK_STR_EQ(live, "y.parquet,z.parquet");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(fx.table), "total-records"), "8");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(fx.table), "deleted-records"), "9");
  floe_table_free(other);
  fixture_close(&fx);
}

static void test_stale_overwrite_conflicts_hadoop(void) {
  stale_overwrite_conflicts(KIND_HADOOP);
}
static void test_stale_overwrite_conflicts_sqlite(void) {
  stale_overwrite_conflicts(KIND_SQLITE);
}

/* Dynamic partition overwrite selects by the files added before the call:
 * a file added after it (rows rewritten elsewhere) replaces nothing. */
static void test_overwrite_selects_partitions_of_files_added_before_it(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_HADOOP, "table_added_partitions", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file us, eu, us2, eu2;
  make_file(&us, fx.table, "us", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  make_file(&eu, fx.table, "eu", FLOE_CONTENT_DATA, "eu", 3, 30, 10, 12);
  REQUIRE_OK(floe_table_append(fx.table, &us.f, 1, NULL, 0, NULL, &err), &err);
  REQUIRE_OK(floe_table_append(fx.table, &eu.f, 1, NULL, 0, NULL, &err), &err);
  make_file(&us2, fx.table, "us2", FLOE_CONTENT_DATA, "us", 2, 20, 20, 21);
  make_file(&eu2, fx.table, "eu2", FLOE_CONTENT_DATA, "eu", 1, 10, 30, 30);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &us2.f, &err), &err);
  CHECK_OK(floe_table_op_delete_added_partitions(op, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &eu2.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  char live[2048];
  live_paths(fx.table, live, sizeof live);
  CHECK_STR_EQ(live, "eu.parquet,eu2.parquet,us2.parquet");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(fx.table), "deleted-records"), "4");
  fixture_close(&fx);
}

/* Every attempt loses to an append committed by the hook. */
typedef struct hook_ctx {
  floe_table *other;
  int calls;
  test_file file;
} hook_ctx;

static int conflicting_hook(void *ctx, floe_table_op *op, int attempt) {
  (void)op;
  (void)attempt;
  hook_ctx *h = ctx;
  char name[32];
  snprintf(name, sizeof name, "h%d", h->calls++);
  make_file(&h->file, h->other, name, FLOE_CONTENT_DATA, "us", 1, 10, 0, 0);
  floe_error err = {0};
  return floe_table_append(h->other, &h->file.f, 1, NULL, 0, NULL, &err);
}

static void retry_bound(catalog_kind kind) {
  fixture fx;
  floe_error err = {0};
  floe_iceberg_property props[] = {{"commit.retry.num-retries", "2"},
                                   {"commit.retry.min-wait-ms", "1"},
                                   {"commit.retry.max-wait-ms", "4"}};
  const char *skip = fixture_open(&fx, kind, "table_retry_bound", true, props, 3, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  hook_ctx h = {0};
  REQUIRE_OK(floe_table_load(fx.cat, ident, &h.other, &err), &err);
  test_file y;
  make_file(&y, fx.table, "y", FLOE_CONTENT_DATA, "us", 6, 60, 0, 5);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &y.f, &err), &err);
  floe_table_op_set_commit_hook(op, conflicting_hook, &h);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "gave up after 3 attempts") != NULL);
  CHECK_INT_EQ(floe_table_op_attempts(op), 3);
  CHECK_INT_EQ(h.calls, 3);
  floe_table_op_free(op);
  REQUIRE_OK(floe_table_refresh(h.other, &err), &err);
  CHECK_INT_EQ(floe_table_metadata(h.other)->n_snapshots, 3);
  CHECK_STR_EQ(summary(floe_table_current_snapshot(h.other), "total-records"), "3");
  /* With the hook gone, the same table commits on the next try. */
  REQUIRE_OK(floe_table_refresh(fx.table, &err), &err);
  REQUIRE_OK(floe_table_append(fx.table, &y.f, 1, NULL, 0, NULL, &err), &err);
  CHECK_STR_EQ(summary(floe_table_current_snapshot(fx.table), "total-records"), "9");
  floe_table_free(h.other);
  fixture_close(&fx);
}

static void test_retry_bound_hadoop(void) { retry_bound(KIND_HADOOP); }
static void test_retry_bound_sqlite(void) { retry_bound(KIND_SQLITE); }

static void test_replace_conflicts_with_new_deletes(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_HADOOP, "table_replace_conflict", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file a, b, r, pd;
  make_file(&a, fx.table, "a", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  make_file(&b, fx.table, "b", FLOE_CONTENT_DATA, "eu", 4, 40, 0, 3);
  floe_iceberg_content_file ab[2] = {a.f, b.f};
  REQUIRE_OK(floe_table_append(fx.table, ab, 2, NULL, 0, NULL, &err), &err);
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  /* Concurrent position deletes against a. */
  make_file(&pd, fx.table, "pd", FLOE_CONTENT_POSITION_DELETES, "us", 1, 16, 0, 0);
  pd.f.referenced_data_file = a.path;
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, other, FLOE_TABLE_ROW_DELTA, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &pd.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  CHECK_STR_EQ(floe_table_current_snapshot(other)->operation, "delete");
  floe_table_op_free(op);
  /* Rewriting a conflicts; rewriting b (other partition) lands. */
  make_file(&r, fx.table, "r", FLOE_CONTENT_DATA, "us", 4, 30, 0, 3);
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_REPLACE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, a.path, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &r.f, &err), &err);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "pd.parquet") != NULL);
  floe_table_op_free(op);
  REQUIRE_OK(floe_table_refresh(fx.table, &err), &err);
  CHECK_INT_EQ(floe_table_metadata(fx.table)->n_snapshots, 2);
  make_file(&r, fx.table, "r2", FLOE_CONTENT_DATA, "eu", 4, 30, 0, 3);
  floe_table *stale = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &stale, &err), &err);
  REQUIRE_OK(floe_table_op_new(&op, other, FLOE_TABLE_ROW_DELTA, &err), &err);
  make_file(&pd, fx.table, "pd2", FLOE_CONTENT_POSITION_DELETES, "us", 1, 16, 0, 0);
  pd.f.referenced_data_file = a.path;
  CHECK_OK(floe_table_op_add_file(op, &pd.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  REQUIRE_OK(floe_table_op_new(&op, stale, FLOE_TABLE_REPLACE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, b.path, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &r.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  CHECK_INT_EQ(floe_table_op_attempts(op), 2);
  floe_table_op_free(op);
  char live[512];
  live_paths(stale, live, sizeof live);
  CHECK_STR_EQ(live, "a.parquet,pd.parquet,pd2.parquet,r2.parquet");
  floe_table_free(stale);
  floe_table_free(other);
  fixture_close(&fx);
}

static void test_delete_already_deleted_conflicts(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_SQLITE, "table_double_delete", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file a, b;
  make_file(&a, fx.table, "a", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  make_file(&b, fx.table, "b", FLOE_CONTENT_DATA, "eu", 4, 40, 0, 3);
  floe_iceberg_content_file ab[2] = {a.f, b.f};
  REQUIRE_OK(floe_table_append(fx.table, ab, 2, NULL, 0, NULL, &err), &err);
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, other, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, a.path, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_path(op, a.path, &err), &err);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "concurrent") != NULL);
  floe_table_op_free(op);
  floe_table_free(other);
  fixture_close(&fx);
}

/* ---- selectors -------------------------------------------------------- */

static void test_overwrite_by_range_is_strict(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_HADOOP, "table_range", false, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *t = fx.table;
  test_file f1, f2, f3, n1;
  make_file(&f1, t, "f1", FLOE_CONTENT_DATA, "", 10, 100, 0, 9);
  make_file(&f2, t, "f2", FLOE_CONTENT_DATA, "", 10, 100, 10, 19);
  make_file(&f3, t, "f3", FLOE_CONTENT_DATA, "", 10, 100, 20, 29);
  floe_iceberg_content_file all[3] = {f1.f, f2.f, f3.f};
  REQUIRE_OK(floe_table_append(t, all, 3, NULL, 0, NULL, &err), &err);
  floe_table_range r = {0};
  r.column = "id";
  r.has_lo = true;
  r.lo.v.i64 = 10;
  r.has_hi = true;
  r.hi.v.i64 = 20; /* 10 <= id < 20: exactly f2 */
  make_file(&n1, t, "n1", FLOE_CONTENT_DATA, "", 8, 80, 10, 19);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_delete_range(op, &r, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &n1.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  char live[512];
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "f1.parquet,f3.parquet,n1.parquet");
  const floe_iceberg_snapshot *s = floe_table_current_snapshot(t);
  CHECK_STR_EQ(summary(s, "deleted-records"), "10");
  CHECK_STR_EQ(summary(s, "total-records"), "28");
  CHECK_STR_EQ(summary(s, "changed-partition-count"), "1");
  /* 5 <= id < 10 cuts through f1: an error naming the file and bounds
   * (n1 starts at 10, outside). */
  r.lo.v.i64 = 5;
  r.hi.v.i64 = 10;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_delete_range(op, &r, &err), &err);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "f1.parquet") != NULL);
  CHECK(strstr(err.message, "[0, 9]") != NULL);
  floe_table_op_free(op);
  /* id = 25 as an equality: also partial (f3 holds 20..29). id >= 20 is
   * all of f3. */
  memset(&r, 0, sizeof r);
  r.column = "id";
  r.has_lo = true;
  r.lo.v.i64 = 20;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_range(op, &r, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "f1.parquet,n1.parquet");
  CHECK_STR_EQ(floe_table_current_snapshot(t)->operation, "delete");
  /* Whole-table overwrite. */
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_OVERWRITE, &err), &err);
  CHECK_OK(floe_table_op_delete_all(op, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &f3.f, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "f3.parquet");
  s = floe_table_current_snapshot(t);
  CHECK_STR_EQ(summary(s, "deleted-data-files"), "2");
  CHECK_STR_EQ(summary(s, "total-records"), "10");
  CHECK_STR_EQ(summary(s, "total-data-files"), "1");
  fixture_close(&fx);
}

static void test_delete_by_partition_value_and_identity_range(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_SQLITE, "table_partition_delete", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *t = fx.table;
  test_file a, b, c, d;
  make_file(&a, t, "a", FLOE_CONTENT_DATA, "apac", 1, 10, 0, 100);
  make_file(&b, t, "b", FLOE_CONTENT_DATA, "eu", 2, 10, 0, 100);
  make_file(&c, t, "c", FLOE_CONTENT_DATA, "us", 3, 10, 0, 100);
  make_file(&d, t, "d", FLOE_CONTENT_DATA, "us", 4, 10, 0, 100);
  floe_iceberg_content_file all[4] = {a.f, b.f, c.f, d.f};
  REQUIRE_OK(floe_table_append(t, all, 4, NULL, 0, NULL, &err), &err);
  floe_iceberg_value us = {0};
  us.bytes = (const uint8_t *)"us";
  us.len = 2;
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_partition_value(op, "region", &us, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  char live[512];
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a.parquet,b.parquet");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(t), "deleted-records"), "7");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(t), "changed-partition-count"), "1");
  /* region >= "b" on the identity partition: b's "eu" only (bounds on id
   * would be partial; the partition decides). */
  floe_table_range r = {0};
  r.column = "region";
  r.has_lo = true;
  r.lo.bytes = (const uint8_t *)"b";
  r.lo.len = 1;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_DELETE, &err), &err);
  CHECK_OK(floe_table_op_delete_range(op, &r, &err), &err);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  live_paths(t, live, sizeof live);
  CHECK_STR_EQ(live, "a.parquet");
  CHECK_STR_EQ(summary(floe_table_current_snapshot(t), "total-records"), "1");
  fixture_close(&fx);
}

/* ---- metadata-only commits and create --------------------------------- */

static void metadata_changes(catalog_kind kind) {
  fixture fx;
  floe_error err = {0};
  floe_iceberg_property props[] = {{"format-version", "2"},
                                   {"write.parquet.compression-codec", "snappy"},
                                   {"owner", "floe"}};
  const char *skip = fixture_open(&fx, kind, "table_metadata", false, props, 3, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *t = fx.table;
  CHECK_STR_EQ(floe_table_property(t, "write.parquet.compression-codec"), "snappy");
  CHECK_STR_EQ(floe_table_property(t, "owner"), "floe");
  CHECK(floe_table_property(t, "format-version") == NULL);
  CHECK_INT_EQ(floe_table_spec(t)->n_fields, 0);

  floe_iceberg_property set[] = {{"owner", NULL}, {"commit.retry.num-retries", "7"}};
  REQUIRE_OK(floe_table_set_properties(t, set, 2, &err), &err);
  CHECK(floe_table_property(t, "owner") == NULL);
  CHECK_STR_EQ(floe_table_property(t, "commit.retry.num-retries"), "7");
  floe_iceberg_property bad = {"format-version", "3"};
  CHECK_INT_EQ(floe_table_set_properties(t, &bad, 1, &err), FLOE_EINVAL);

  floe_iceberg_type dbl = floe_iceberg_type_of(FLOE_ICEBERG_DOUBLE);
  REQUIRE_OK(floe_table_add_column(t, NULL, "amount", &dbl, "net amount", &err), &err);
  const floe_iceberg_schema *s = floe_table_schema(t);
  CHECK_INT_EQ(s->schema_id, 1);
  const floe_iceberg_field *f = floe_iceberg_schema_find_name(s, "amount", true);
  REQUIRE(f != NULL);
  CHECK_INT_EQ(f->id, 5);
  CHECK(!f->required);
  CHECK_INT_EQ(floe_table_metadata(t)->last_column_id, 5);
  REQUIRE_OK(floe_table_rename_column(t, "name", "full_name", &err), &err);
  s = floe_table_schema(t);
  CHECK_INT_EQ(s->schema_id, 2);
  CHECK_INT_EQ(floe_table_metadata(t)->n_schemas, 3);
  f = floe_iceberg_schema_find_name(s, "full_name", true);
  REQUIRE(f != NULL);
  CHECK_INT_EQ(f->id, 2);
  CHECK(floe_iceberg_schema_find_name(s, "name", true) == NULL);
  REQUIRE_OK(floe_table_set_default_name_mapping(t, &err), &err);
  const char *mapping = floe_table_property(t, "schema.name-mapping.default");
  REQUIRE(mapping != NULL);
  CHECK(strstr(mapping, "\"full_name\"") != NULL);
  CHECK(strstr(mapping, "\"amount\"") != NULL);

  /* A snapshot records the schema it was written with. */
  test_file a;
  make_file(&a, t, "a", FLOE_CONTENT_DATA, "", 1, 10, 0, 0);
  REQUIRE_OK(floe_table_append(t, &a.f, 1, NULL, 0, NULL, &err), &err);
  CHECK_INT_EQ(floe_table_current_snapshot(t)->schema_id, 2);
  /* 6 commits after create: each previous file is in the metadata-log. */
  CHECK_INT_EQ(floe_table_metadata(t)->n_metadata_log, 5);

  /* A stale handle's property change rebases onto the schema change. */
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  REQUIRE_OK(floe_table_add_column(t, NULL, "note", &(floe_iceberg_type){FLOE_ICEBERG_STRING, 0, 0, 0, 0, NULL}, NULL, &err), &err);
  floe_iceberg_property p2 = {"x", "y"};
  REQUIRE_OK(floe_table_set_properties(other, &p2, 1, &err), &err);
  CHECK_INT_EQ(floe_table_schema(other)->schema_id, 3);
  CHECK_STR_EQ(floe_table_property(other, "x"), "y");
  floe_table_free(other);

  /* Creating it again. */
  floe_iceberg_schema *schema = make_schema();
  CHECK_INT_EQ(floe_table_create(fx.cat, ident, schema, NULL, NULL, NULL, 0, NULL,
                                 NULL, &err),
               FLOE_EEXISTS);
  floe_iceberg_property v1 = {"format-version", "1"};
  floe_catalog_ident other_id = {"db", "v1"};
  CHECK_INT_EQ(floe_table_create(fx.cat, other_id, schema, NULL, NULL, &v1, 1, NULL,
                                 NULL, &err),
               FLOE_EINVAL);
  floe_iceberg_schema_free(schema);
  fixture_close(&fx);
}

static void test_metadata_changes_hadoop(void) { metadata_changes(KIND_HADOOP); }
static void test_metadata_changes_sqlite(void) { metadata_changes(KIND_SQLITE); }


/* ---- properties and preconditions in the snapshot's commit ------------ */

typedef struct precondition_ctx {
  int calls;
  const char *want; /* required value of property "mark" on the base */
  int64_t seen_snapshots[4];
} precondition_ctx;

static int mark_precondition(void *ctx, const floe_iceberg_metadata *base, floe_error *err) {
  precondition_ctx *p = ctx;
  const floe_iceberg_snapshot *cur = floe_iceberg_metadata_current_snapshot(base);
  if (p->calls < 4) p->seen_snapshots[p->calls] = cur ? cur->snapshot_id : 0;
  p->calls++;
  const char *have = floe_iceberg_metadata_property(base, "mark");
  if ((have == NULL) != (p->want == NULL) || (have && strcmp(have, p->want) != 0))
    return floe_error_set(err, FLOE_ECONFLICT, "mark is %s", have ? have : "unset");
  return FLOE_OK;
}

static void test_op_property_and_precondition_commit_with_the_snapshot(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_SQLITE, "table_op_property", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  floe_table *other = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &other, &err), &err);
  test_file x, y, z;
  make_file(&x, fx.table, "x", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  make_file(&y, fx.table, "y", FLOE_CONTENT_DATA, "us", 6, 60, 4, 9);
  make_file(&z, fx.table, "z", FLOE_CONTENT_DATA, "us", 1, 10, 10, 10);

  /* First commit: mark must be unset, sets it to 1. */
  precondition_ctx pc = {0};
  floe_table_op *op = NULL;
  int64_t s1 = 0;
  REQUIRE_OK(floe_table_op_new(&op, fx.table, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &x.f, &err), &err);
  CHECK_OK(floe_table_op_set_property(op, "mark", "1", &err), &err);
  CHECK_INT_EQ(floe_table_op_set_property(op, "format-version", "3", &err), FLOE_EINVAL);
  floe_table_op_set_precondition(op, mark_precondition, &pc);
  REQUIRE_OK(floe_table_op_commit(op, &s1, &err), &err);
  floe_table_op_free(op);
  CHECK_INT_EQ(pc.calls, 1);
  CHECK_STR_EQ(floe_table_property(fx.table, "mark"), "1");
  /* Another reader sees both in the same metadata file. */
  REQUIRE_OK(floe_table_refresh(other, &err), &err);
  CHECK_STR_EQ(floe_table_property(other, "mark"), "1");
  CHECK(floe_table_current_snapshot(other)->snapshot_id == s1);

  /* A stale op (based before `other` set mark to 2) re-checks on the
   * reloaded base and stops without committing. */
  floe_table *stale = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, ident, &stale, &err), &err);
  floe_table_op *o2 = NULL;
  REQUIRE_OK(floe_table_op_new(&o2, other, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(o2, &y.f, &err), &err);
  CHECK_OK(floe_table_op_set_property(o2, "mark", "2", &err), &err);
  int64_t s2 = 0;
  REQUIRE_OK(floe_table_op_commit(o2, &s2, &err), &err);
  floe_table_op_free(o2);
  precondition_ctx pc2 = {0};
  pc2.want = "1";
  REQUIRE_OK(floe_table_op_new(&op, stale, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &z.f, &err), &err);
  CHECK_OK(floe_table_op_set_property(op, "mark", NULL, &err), &err);
  floe_table_op_set_precondition(op, mark_precondition, &pc2);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_ECONFLICT);
  CHECK(strstr(err.message, "mark is 2") != NULL);
  floe_table_op_free(op);
  CHECK_INT_EQ(pc2.calls, 2);
  CHECK(pc2.seen_snapshots[0] == s1 && pc2.seen_snapshots[1] == s2);
  REQUIRE_OK(floe_table_refresh(other, &err), &err);
  CHECK(floe_table_current_snapshot(other)->snapshot_id == s2);
  CHECK_STR_EQ(floe_table_property(other, "mark"), "2");

  /* Removing a property in a commit. */
  pc2.want = "2";
  pc2.calls = 0;
  REQUIRE_OK(floe_table_op_new(&op, stale, FLOE_TABLE_APPEND, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &z.f, &err), &err);
  CHECK_OK(floe_table_op_set_property(op, "mark", NULL, &err), &err);
  floe_table_op_set_precondition(op, mark_precondition, &pc2);
  REQUIRE_OK(floe_table_op_commit(op, NULL, &err), &err);
  floe_table_op_free(op);
  CHECK(floe_table_property(stale, "mark") == NULL);
  CHECK_STR_EQ(summary(floe_table_current_snapshot(stale), "total-records"), "11");
  floe_table_free(stale);
  floe_table_free(other);
  fixture_close(&fx);
}


/* ---- format v3 ---------------------------------------------------------- */

/* A v2 table with one data manifest (4 rows), registered again as db.v3
 * with format-version 3: a table written before row lineage existed, whose
 * manifest has no first_row_id. */
static void test_v3_row_lineage_covers_manifests_written_before_it(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_SQLITE, "table_v3_lineage", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file x, y, z, d;
  make_file(&x, fx.table, "x", FLOE_CONTENT_DATA, "us", 4, 40, 0, 3);
  REQUIRE_OK(floe_table_append(fx.table, &x.f, 1, NULL, 0, NULL, &err), &err);
  floe_catalog_table ct = {0};
  REQUIRE_OK(floe_catalog_table_load(fx.cat, ident, &ct, &err), &err);
  json_error_t jerr;
  json_t *md = json_loads(ct.metadata_json, 0, &jerr);
  REQUIRE(md != NULL);
  json_object_set_new(md, "format-version", json_integer(3));
  char *text = json_dumps(md, JSON_COMPACT);
  json_decref(md);
  floe_catalog_table_reset(&ct);
  const floe_catalog_ident v3 = {"db", "v3"};
  char location[4096];
  snprintf(location, sizeof location, "%s-v3", floe_table_location(fx.table));
  REQUIRE_OK(floe_catalog_table_create(fx.cat, v3, location, text, strlen(text), NULL, &err), &err);
  free(text);
  floe_table *t = NULL;
  REQUIRE_OK(floe_table_load(fx.cat, v3, &t, &err), &err);
  CHECK_INT_EQ(floe_table_metadata(t)->format_version, 3);

  /* The new manifest (6 rows) and the old one (4) both get row ids: the
   * next commit must start after all 10. */
  make_file(&y, t, "y", FLOE_CONTENT_DATA, "us", 6, 60, 4, 9);
  int64_t sy = 0, sz = 0;
  REQUIRE_OK(floe_table_append(t, &y.f, 1, NULL, 0, &sy, &err), &err);
  const floe_iceberg_metadata *m = floe_table_metadata(t);
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_snapshot(m, sy);
  CHECK(snap->has_first_row_id && snap->first_row_id == 0);
  CHECK_INT_EQ(snap->added_rows, 10);
  CHECK_INT_EQ(m->next_row_id, 10);
  make_file(&z, t, "z", FLOE_CONTENT_DATA, "us", 1, 10, 10, 10);
  REQUIRE_OK(floe_table_append(t, &z.f, 1, NULL, 0, &sz, &err), &err);
  m = floe_table_metadata(t);
  snap = floe_iceberg_metadata_snapshot(m, sz);
  CHECK_INT_EQ(snap->first_row_id, 10);
  CHECK_INT_EQ(snap->added_rows, 1);
  CHECK_INT_EQ(m->next_row_id, 11);
  /* Every data file reads with distinct row ids. */
  floe_table_files files = {0};
  REQUIRE_OK(floe_table_files_read(t, NULL, &files, &err), &err);
  int64_t seen[3] = {-1, -1, -1};
  for (int32_t i = 0; i < files.n && i < 3; i++) {
    CHECK(files.files[i].file.has_first_row_id);
    seen[i] = files.files[i].file.first_row_id;
  }
  CHECK_INT_EQ(files.n, 3);
  CHECK(seen[0] != seen[1] && seen[1] != seen[2] && seen[0] != seen[2]);
  floe_table_files_reset(&files);

  /* v3 forbids position delete files (deletion vectors only). */
  make_file(&d, t, "d", FLOE_CONTENT_POSITION_DELETES, "us", 1, 10, 0, 0);
  floe_table_op *op = NULL;
  REQUIRE_OK(floe_table_op_new(&op, t, FLOE_TABLE_ROW_DELTA, &err), &err);
  CHECK_OK(floe_table_op_add_file(op, &d.f, &err), &err);
  CHECK_INT_EQ(floe_table_op_commit(op, NULL, &err), FLOE_EUNSUPPORTED);
  CHECK(strstr(err.message, "cannot be added to a format-version 3 table") != NULL);
  floe_table_op_free(op);
  CHECK(floe_table_current_snapshot(t)->snapshot_id == sz);
  floe_table_free(t);
  fixture_close(&fx);
}

static void test_bare_metadata_file_is_read_only(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_HADOOP, "table_bare", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file a;
  make_file(&a, fx.table, "a", FLOE_CONTENT_DATA, "us", 3, 30, 0, 2);
  REQUIRE_OK(floe_table_append(fx.table, &a.f, 1, NULL, 0, NULL, &err), &err);
  floe_table *bare = NULL;
  REQUIRE_OK(floe_table_load_metadata_file(floe_catalog_io(fx.cat),
                                           floe_table_metadata_location(fx.table),
                                           &bare, &err), &err);
  CHECK(floe_table_current_snapshot(bare)->snapshot_id ==
        floe_table_current_snapshot(fx.table)->snapshot_id);
  char live[256];
  live_paths(bare, live, sizeof live);
  CHECK_STR_EQ(live, "a.parquet");
  CHECK_INT_EQ(floe_table_append(bare, &a.f, 1, NULL, 0, NULL, &err), FLOE_EUNSUPPORTED);
  floe_table_free(bare);
  fixture_close(&fx);
}

/* Every allocation failure on an append fails cleanly (no leak, no crash)
 * and leaves the table committed or untouched. */
static void test_append_survives_allocation_failures(void) {
  fixture fx;
  floe_error err = {0};
  const char *skip = fixture_open(&fx, KIND_HADOOP, "table_alloc", true, NULL, 0, &err);
  if (skip != NULL) SKIP("%s", skip);
  REQUIRE(fx.table != NULL);
  test_file a;
  make_file(&a, fx.table, "a", FLOE_CONTENT_DATA, "us", 3, 30, 0, 2);
  REQUIRE_OK(floe_table_append(fx.table, &a.f, 1, NULL, 0, NULL, &err), &err);
  int failures = 0, successes = 0;
  for (long n = 1; n < 4000; n += 7) {
    floe_alloc_fail_after(n);
    int rc = floe_table_append(fx.table, &a.f, 1, NULL, 0, NULL, &err);
    floe_alloc_fail_after(0);
    if (rc == 0) {
      successes++;
      break;
    }
    failures++;
    /* Whatever happened, the table reloads. */
    CHECK_OK(floe_table_refresh(fx.table, &err), &err);
  }
  CHECK(failures > 10);
  CHECK_INT_EQ(successes, 1);
  fixture_close(&fx);
}

int main(void) {
  RUN(test_lifecycle_hadoop);
  RUN(test_op_property_and_precondition_commit_with_the_snapshot);
  RUN(test_v3_row_lineage_covers_manifests_written_before_it);
  RUN(test_lifecycle_sqlite);
  RUN(test_stale_append_rebases_hadoop);
  RUN(test_stale_append_rebases_sqlite);
  RUN(test_stale_overwrite_conflicts_hadoop);
  RUN(test_overwrite_selects_partitions_of_files_added_before_it);
  RUN(test_stale_overwrite_conflicts_sqlite);
  RUN(test_retry_bound_hadoop);
  RUN(test_retry_bound_sqlite);
  RUN(test_replace_conflicts_with_new_deletes);
  RUN(test_delete_already_deleted_conflicts);
  RUN(test_overwrite_by_range_is_strict);
  RUN(test_delete_by_partition_value_and_identity_range);
  RUN(test_metadata_changes_hadoop);
  RUN(test_metadata_changes_sqlite);
  RUN(test_bare_metadata_file_is_read_only);
  RUN(test_append_survives_allocation_failures);
  return test_report();
}
