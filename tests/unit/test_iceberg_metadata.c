/*
 * tests/unit/test_iceberg_metadata: table metadata JSON. The parser cases
 * of apache/iceberg's TestTableMetadata (valid files parse with the facts
 * the Java tests assert; invalid ones fail with the Java error text), every
 * metadata file of every engine-written table in ../shared/fixtures parses
 * and survives serialize -> parse unchanged, facts against the expected
 * results, and the builders and mutators a commit uses.
 */
#include <dirent.h>
#include <jansson.h>

#include "core/compress.h"
#include "floe/iceberg.h"
#include "test.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)n + 1);
  if (fread(data, 1, (size_t)n, f) != (size_t)n) n = 0;
  data[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return data;
}

/* Parses fixtures/metadata-json/apache-iceberg/<name>; returns the code. */
static int parse_case(const char *name, floe_iceberg_metadata **out, floe_error *err) {
  char rel[256];
  snprintf(rel, sizeof rel, "metadata-json/apache-iceberg/%s", name);
  const char *path = test_fixture(rel);
  *out = NULL;
  if (path == NULL) return 1;
  size_t len;
  char *text = read_file(path, &len);
  int rc = floe_iceberg_metadata_parse(out, text, len, err);
  free(text);
  return rc;
}

/* Serialize -> parse -> serialize gives identical text. */
static void check_round_trip(const floe_iceberg_metadata *md) {
  floe_error err = {0};
  char *a = NULL, *b = NULL;
  floe_iceberg_metadata *again = NULL;
  CHECK_OK(floe_iceberg_metadata_to_json(md, &a, NULL, &err), &err);
  if (a == NULL) return;
  CHECK_OK(floe_iceberg_metadata_parse(&again, a, strlen(a), &err), &err);
  if (again != NULL) {
    CHECK_OK(floe_iceberg_metadata_to_json(again, &b, NULL, &err), &err);
    if (b != NULL) CHECK_STR_EQ(b, a);
  }
  floe_free(a);
  floe_free(b);
  floe_iceberg_metadata_free(again);
}

static void test_v1_metadata_parses_with_v1_defaults(void) {
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  int rc = parse_case("TableMetadataV1Valid.json", &md, &err);
  if (rc == 1) SKIP("fixtures absent (../shared/fixtures)");
  REQUIRE_OK(rc, &err);
  CHECK_INT_EQ(md->format_version, 1);
  CHECK_STR_EQ(md->table_uuid, "d20125c8-7284-442c-9aea-15fee620737c");
  CHECK_STR_EQ(md->location, "s3://bucket/test/location");
  CHECK_INT_EQ(md->last_sequence_number, 0);
  CHECK_INT_EQ(md->last_updated_ms, 1602638573874LL);
  CHECK_INT_EQ(md->last_column_id, 3);
  CHECK_INT_EQ(md->n_schemas, 1);
  CHECK_INT_EQ(md->current_schema_id, 0);
  const floe_iceberg_schema *s = floe_iceberg_metadata_current_schema(md);
  REQUIRE(s != NULL);
  CHECK_INT_EQ(s->root.n_fields, 3);
  CHECK_STR_EQ(s->root.fields[1].doc, "comment");
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_default_spec(md);
  REQUIRE(spec != NULL);
  CHECK_INT_EQ(spec->spec_id, 0);
  CHECK_INT_EQ(spec->n_fields, 1);
  CHECK_INT_EQ(spec->fields[0].field_id, 1000);
  CHECK_INT_EQ(spec->fields[0].transform.kind, FLOE_TRANSFORM_IDENTITY);
  CHECK_INT_EQ(md->last_partition_id, 1000);
  CHECK_INT_EQ(md->n_sort_orders, 1);
  CHECK_INT_EQ(md->default_sort_order_id, 0);
  CHECK(!md->has_current_snapshot);
  CHECK(floe_iceberg_metadata_current_snapshot(md) == NULL);
  CHECK_INT_EQ(md->n_refs, 0);
  check_round_trip(md);
  /* v1 output keeps the deprecated singular fields and no sequence number. */
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_metadata_to_json(md, &json, NULL, &err), &err);
  CHECK(strstr(json, "\"partition-spec\"") != NULL);
  CHECK(strstr(json, "\"schema\"") != NULL);
  CHECK(strstr(json, "last-sequence-number") == NULL);
  floe_free(json);
  floe_iceberg_metadata_free(md);
}

static void test_v2_metadata_parses_every_field(void) {
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  int rc = parse_case("TableMetadataV2Valid.json", &md, &err);
  if (rc == 1) SKIP("fixtures absent (../shared/fixtures)");
  REQUIRE_OK(rc, &err);
  CHECK_INT_EQ(md->format_version, 2);
  CHECK_INT_EQ(md->last_sequence_number, 34);
  CHECK_INT_EQ(md->n_schemas, 2);
  CHECK_INT_EQ(md->current_schema_id, 1);
  /* TTM:1613: schema 0 has no identifier fields, schema 1 has [1, 2]. */
  CHECK_INT_EQ(floe_iceberg_metadata_schema(md, 0)->n_identifier_field_ids, 0);
  const floe_iceberg_schema *s1 = floe_iceberg_metadata_schema(md, 1);
  REQUIRE(s1 != NULL && s1->n_identifier_field_ids == 2);
  CHECK_INT_EQ(s1->identifier_field_ids[0], 1);
  CHECK_INT_EQ(s1->identifier_field_ids[1], 2);
  CHECK_INT_EQ(md->default_sort_order_id, 3);
  const floe_iceberg_sort_order *order = floe_iceberg_metadata_sort_order(md, 3);
  REQUIRE(order != NULL && order->n_fields == 2);
  CHECK_INT_EQ(order->fields[1].transform.kind, FLOE_TRANSFORM_BUCKET);
  CHECK_INT_EQ(order->fields[1].direction, FLOE_SORT_DESC);
  CHECK_INT_EQ(md->n_snapshots, 2);
  const floe_iceberg_snapshot *cur = floe_iceberg_metadata_current_snapshot(md);
  REQUIRE(cur != NULL);
  CHECK_INT_EQ(cur->snapshot_id, 3055729675574597004LL);
  CHECK_INT_EQ(cur->sequence_number, 1);
  CHECK_STR_EQ(cur->manifest_list, "s3://a/b/2.avro");
  CHECK_STR_EQ(cur->operation, "append");
  CHECK(cur->has_schema_id && cur->schema_id == 1);
  const floe_iceberg_snapshot *parent = floe_iceberg_metadata_parent(md, cur);
  REQUIRE(parent != NULL);
  CHECK_INT_EQ(parent->snapshot_id, 3051729675574597004LL);
  CHECK(!parent->has_schema_id);
  CHECK(floe_iceberg_metadata_parent(md, parent) == NULL);
  CHECK(floe_iceberg_metadata_is_ancestor(md, cur->snapshot_id, parent->snapshot_id));
  CHECK(!floe_iceberg_metadata_is_ancestor(md, parent->snapshot_id, cur->snapshot_id));
  /* No refs in the file: main is implied by current-snapshot-id. */
  const floe_iceberg_snapshot_ref *main_ref = floe_iceberg_metadata_ref(md, "main");
  REQUIRE(main_ref != NULL);
  CHECK_INT_EQ(main_ref->snapshot_id, 3055729675574597004LL);
  CHECK(!main_ref->is_tag);
  CHECK_INT_EQ(md->n_snapshot_log, 2);
  /* Time travel uses the snapshot-log. */
  const floe_iceberg_snapshot *at = NULL;
  CHECK_OK(floe_iceberg_metadata_snapshot_as_of(md, 1515100955770LL, &at, &err), &err);
  CHECK(at == parent);
  CHECK_OK(floe_iceberg_metadata_snapshot_as_of(md, 1555100955769LL, &at, &err), &err);
  CHECK(at == parent);
  CHECK_OK(floe_iceberg_metadata_snapshot_as_of(md, 1555100955770LL, &at, &err), &err);
  CHECK(at == cur);
  CHECK_INT_EQ(floe_iceberg_metadata_snapshot_as_of(md, 1515100955769LL, &at, &err),
               FLOE_ENOTFOUND);
  CHECK(strstr(err.message, "Cannot find a snapshot older than") != NULL);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);
}

static void test_minimal_v2_and_v3_metadata(void) {
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  int rc = parse_case("TableMetadataV2ValidMinimal.json", &md, &err);
  if (rc == 1) SKIP("fixtures absent (../shared/fixtures)");
  REQUIRE_OK(rc, &err);
  CHECK_INT_EQ(md->n_snapshots, 0);
  CHECK_INT_EQ(md->n_snapshot_log, 0);
  CHECK_INT_EQ(md->n_properties, 0);
  CHECK_INT_EQ(md->n_metadata_log, 0);
  CHECK(!md->has_current_snapshot);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);

  REQUIRE_OK(parse_case("TableMetadataV3ValidMinimal.json", &md, &err), &err);
  CHECK_INT_EQ(md->format_version, 3);
  CHECK(md->has_next_row_id);
  CHECK_INT_EQ(md->next_row_id, 0);
  const floe_iceberg_field *x = floe_iceberg_schema_find_id(floe_iceberg_metadata_current_schema(md), 1);
  CHECK_STR_EQ(x->initial_default_json, "1");
  CHECK_STR_EQ(x->write_default_json, "1");
  check_round_trip(md);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_metadata_to_json(md, &json, NULL, &err), &err);
  CHECK(strstr(json, "\"initial-default\": 1") != NULL);
  CHECK(strstr(json, "\"next-row-id\": 0") != NULL);
  floe_free(json);
  floe_iceberg_metadata_free(md);
}

static void test_statistics_files_are_kept(void) {
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  int rc = parse_case("TableMetadataStatisticsFiles.json", &md, &err);
  if (rc == 1) SKIP("fixtures absent (../shared/fixtures)");
  REQUIRE_OK(rc, &err);
  REQUIRE(md->n_statistics == 1);
  const floe_iceberg_statistics_file *s = &md->statistics[0];
  CHECK_INT_EQ(s->snapshot_id, 3055729675574597004LL);
  CHECK_STR_EQ(s->statistics_path, "s3://a/b/stats.puffin");
  CHECK_INT_EQ(s->file_size_in_bytes, 413);
  CHECK_INT_EQ(s->file_footer_size_in_bytes, 42);
  REQUIRE(s->n_blobs == 1);
  CHECK_STR_EQ(s->blobs[0].type, "ndv");
  CHECK_INT_EQ(s->blobs[0].sequence_number, 1);
  REQUIRE(s->blobs[0].n_fields == 1);
  CHECK_INT_EQ(s->blobs[0].fields[0], 1);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);

  REQUIRE_OK(parse_case("TableMetadataPartitionStatisticsFiles.json", &md, &err), &err);
  REQUIRE(md->n_partition_statistics == 1);
  CHECK_INT_EQ(md->partition_statistics[0].snapshot_id, 3055729675574597004LL);
  CHECK_STR_EQ(md->partition_statistics[0].statistics_path, "s3://a/b/partition-stats.parquet");
  CHECK_INT_EQ(md->partition_statistics[0].file_size_in_bytes, 43);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);
}

static void test_invalid_metadata_fails_with_java_messages(void) {
  static const struct {
    const char *file;
    const char *message;
  } cases[] = {
      {"TableMetadataUnsupportedVersion.json", "Cannot read unsupported version"},
      {"TableMetadataV2MissingPartitionSpecs.json", "partition-specs must exist in format v2"},
      {"TableMetadataV2MissingLastPartitionId.json", "last-partition-id must exist in format v2"},
      {"TableMetadataV2MissingSortOrder.json", "sort-orders must exist in format v2"},
      {"TableMetadataV2CurrentSchemaNotFound.json",
       "Cannot find schema with current-schema-id=2 from schemas"},
      {"TableMetadataV2MissingSchemas.json", "schemas must exist in format v2"},
      {"TableMetadataV1MissingSchemaType.json", "Cannot parse type from json:"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_error err = {0};
    floe_iceberg_metadata *md = NULL;
    int rc = parse_case(cases[i].file, &md, &err);
    if (rc == 1) SKIP("fixtures absent (../shared/fixtures)");
    CHECK(rc < 0);
    CHECK(md == NULL);
    if (strstr(err.message, cases[i].message) == NULL)
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", cases[i].file,
                   err.message, cases[i].message);
  }
}

/* Rewrites "decimal(P, S)" strings to the spec's "decimal(P,S)". */
static void normalize_types(json_t *j) {
  if (json_is_object(j)) {
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
      int p, s;
      const json_t *ids = json_object_get(j, "identifier-field-ids");
      if (ids != NULL && json_array_size(ids) == 0) { /* PyIceberg writes [] */
        json_object_del(j, "identifier-field-ids");
        normalize_types(j);
        return;
      }
      if (json_is_string(v) && sscanf(json_string_value(v), "decimal(%d, %d)", &p, &s) == 2) {
        char text[32];
        snprintf(text, sizeof text, "decimal(%d,%d)", p, s);
        json_object_set_new(j, key, json_string(text));
      } else {
        normalize_types(v);
      }
    }
  } else if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++) normalize_types(json_array_get(j, i));
  }
}

static int count_tables;
static int count_files;

static void check_fixture_metadata_file(const char *path) {
  floe_error err = {0};
  size_t len;
  char *text = read_file(path, &len);
  REQUIRE(text != NULL);
  floe_iceberg_metadata *md = NULL;
  int rc = floe_iceberg_metadata_parse(&md, text, len, &err);
  if (rc != 0) {
    TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", path, err.message);
    free(text);
    return;
  }
  count_files++;
  check_round_trip(md);
  /* What floe writes equals the original, field for field (keys floe adds
   * with empty defaults aside). */
  char *ours = NULL;
  CHECK_OK(floe_iceberg_metadata_to_json(md, &ours, NULL, &err), &err);
  json_t *orig = json_loads(text, 0, NULL);
  json_t *mine = ours ? json_loads(ours, 0, NULL) : NULL;
  if (orig != NULL && mine != NULL) { /* orig is NULL for ids above 2^63-1 */
    normalize_types(orig);
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(mine, tmp, key, v) {
      if (json_object_get(orig, key) == NULL) json_object_del(mine, key);
    }
    if (!json_equal(orig, mine)) {
      json_object_foreach(orig, key, v) {
        if (!json_equal(v, json_object_get(mine, key)))
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: key %s differs after serialization", path, key);
      }
    }
  }
  json_decref(orig);
  json_decref(mine);
  floe_free(ours);
  floe_iceberg_metadata_free(md);
  free(text);
}

static void test_every_fixture_table_metadata_parses_and_round_trips(void) {
  const char *root = test_fixture("iceberg");
  if (root == NULL) SKIP("fixtures absent (../shared/fixtures)");
  char base[4096];
  snprintf(base, sizeof base, "%s", root);
  DIR *tables = opendir(base);
  REQUIRE(tables != NULL);
  struct dirent *t;
  count_tables = count_files = 0;
  while ((t = readdir(tables)) != NULL) {
    if (t->d_name[0] == '.') continue;
    char dir[4600];
    snprintf(dir, sizeof dir, "%s/%s/metadata", base, t->d_name);
    DIR *md = opendir(dir);
    if (md == NULL) continue;
    count_tables++;
    struct dirent *f;
    while ((f = readdir(md)) != NULL) {
      size_t n = strlen(f->d_name);
      if (n < 14 || strcmp(f->d_name + n - 14, ".metadata.json") != 0) continue;
      char path[5200];
      snprintf(path, sizeof path, "%s/%s", dir, f->d_name);
      check_fixture_metadata_file(path);
    }
    closedir(md);
  }
  closedir(tables);
  CHECK_INT_EQ(count_tables, 29);
  CHECK_INT_EQ(count_files, 122);
}

/* Facts from fixtures/expected/iceberg/<table>.<version>.json. */
static void test_fixture_facts_match_expected_results(void) {
  const char *dir_path = test_fixture("expected/iceberg");
  if (dir_path == NULL) SKIP("fixtures absent (../shared/fixtures)");
  char base[4096];
  snprintf(base, sizeof base, "%s", dir_path);
  DIR *dir = opendir(base);
  REQUIRE(dir != NULL);
  struct dirent *e;
  int checked = 0;
  while ((e = readdir(dir)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    char path[4600], table[256];
    snprintf(path, sizeof path, "%s/%s", base, e->d_name);
    snprintf(table, sizeof table, "%.*s", (int)(strchr(e->d_name, '.') - e->d_name), e->d_name);
    json_t *want = json_load_file(path, 0, NULL);
    REQUIRE(want != NULL);
    char md_path[4800];
    snprintf(md_path, sizeof md_path, "%s/../../iceberg/%s/%s", base, table,
             json_string_value(json_object_get(want, "metadata")));
    size_t len;
    char *text = read_file(md_path, &len);
    floe_error err = {0};
    floe_iceberg_metadata *md = NULL;
    if (text == NULL || floe_iceberg_metadata_parse(&md, text, len, &err) != 0) {
      TEST_FAIL_AT(__FILE__, __LINE__, "%s: cannot parse %s: %s", e->d_name, md_path, err.message);
      free(text);
      json_decref(want);
      continue;
    }
    CHECK_INT_EQ(md->format_version, json_integer_value(json_object_get(want, "format_version")));
    const char *snap_text = json_string_value(json_object_get(want, "snapshot_id"));
    if (snap_text != NULL) {
      int64_t snap = (int64_t)strtoull(snap_text, NULL, 10);
      const floe_iceberg_snapshot *s = floe_iceberg_metadata_snapshot(md, snap);
      if (s == NULL) TEST_FAIL_AT(__FILE__, __LINE__, "%s: no snapshot %s", e->d_name, snap_text);
      if (strstr(e->d_name, "_snap") == NULL && snap != md->current_snapshot_id)
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: current snapshot %lld, expected %s", e->d_name,
                     (long long)md->current_snapshot_id, snap_text);
    }
    /* Each file's partition tuple has exactly its spec's field names. */
    const json_t *files = json_object_get(want, "files");
    for (size_t i = 0; i < json_array_size(files); i++) {
      const json_t *f = json_array_get(files, i);
      const floe_iceberg_partition_spec *spec =
          floe_iceberg_metadata_spec(md, (int32_t)json_integer_value(json_object_get(f, "spec_id")));
      const json_t *part = json_object_get(f, "partition");
      if (spec == NULL || (int32_t)json_object_size(part) != spec->n_fields) {
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: file %zu partition does not fit its spec",
                     e->d_name, i);
        continue;
      }
      for (int32_t k = 0; k < spec->n_fields; k++)
        if (json_object_get(part, spec->fields[k].name) == NULL)
          TEST_FAIL_AT(__FILE__, __LINE__, "%s: spec field %s missing", e->d_name,
                       spec->fields[k].name);
    }
    /* The CSV header is the current schema's column names, in order. */
    char csv_path[4700];
    snprintf(csv_path, sizeof csv_path, "%.*s.csv", (int)(strlen(path) - 5), path);
    size_t csv_len;
    char *csv = read_file(csv_path, &csv_len);
    if (csv != NULL) {
      floe_buf header = FLOE_BUF_INIT;
      const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
      for (int32_t k = 0; k < schema->root.n_fields; k++) {
        if (k) floe_buf_append_byte(&header, ',');
        floe_buf_append_str(&header, schema->root.fields[k].name);
      }
      floe_buf_terminate(&header);
      if (strncmp(csv, (const char *)header.data, header.len) != 0 || csv[header.len] != '\n')
        TEST_FAIL_AT(__FILE__, __LINE__, "%s: header differs from schema (%s)", e->d_name,
                     (const char *)header.data);
      floe_buf_free(&header);
      free(csv);
    }
    checked++;
    floe_iceberg_metadata_free(md);
    free(text);
    json_decref(want);
  }
  closedir(dir);
  CHECK_INT_EQ(checked, 38);
}

static void test_spot_checks_on_engine_tables(void) {
  const char *path = test_fixture("iceberg/icebird_spark_rename_column/metadata/v3.metadata.json");
  if (path == NULL) SKIP("fixtures absent (../shared/fixtures)");
  floe_error err = {0};
  size_t len;
  char *text = read_file(path, &len);
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_parse(&md, text, len, &err), &err);
  free(text);
  const floe_iceberg_schema *s = floe_iceberg_metadata_current_schema(md);
  const floe_iceberg_field *renamed = floe_iceberg_schema_find_name(s, "event_date", true);
  REQUIRE(renamed != NULL);
  const floe_iceberg_schema *old = floe_iceberg_metadata_schema(md, 0);
  REQUIRE(old != NULL);
  CHECK(floe_iceberg_schema_find_name(old, "date", true)->id == renamed->id);
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_default_spec(md);
  REQUIRE(spec->n_fields == 2);
  CHECK_STR_EQ(spec->fields[0].transform_text, "bucket[4]");
  CHECK_INT_EQ(spec->fields[0].transform.param, 4);
  CHECK_INT_EQ(spec->fields[1].source_id, renamed->id);
  CHECK_OK(floe_iceberg_partition_spec_check(spec, s, &err), &err);
  const floe_iceberg_field *price = floe_iceberg_schema_find_name(s, "price", true);
  CHECK_INT_EQ(price->type.precision, 10);
  CHECK_INT_EQ(price->type.scale, 2);
  floe_iceberg_metadata_free(md);

  /* v3 with row lineage (Trino 480): next-row-id and first-row-id. */
  path = test_fixture("iceberg/lithium_deletion_vectors/metadata");
  REQUIRE(path != NULL);
  DIR *d = opendir(path);
  struct dirent *e;
  char latest[512] = "";
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, "00004-") == e->d_name) snprintf(latest, sizeof latest, "%s", e->d_name);
  closedir(d);
  char full[4800];
  snprintf(full, sizeof full, "%s/%s", path, latest);
  text = read_file(full, &len);
  REQUIRE(text != NULL);
  REQUIRE_OK(floe_iceberg_metadata_parse(&md, text, len, &err), &err);
  free(text);
  CHECK_INT_EQ(md->format_version, 3);
  CHECK(md->has_next_row_id);
  const floe_iceberg_snapshot *cur = floe_iceberg_metadata_current_snapshot(md);
  REQUIRE(cur != NULL);
  CHECK(cur->has_first_row_id && cur->has_added_rows);
  CHECK(md->next_row_id >= cur->first_row_id + cur->added_rows);
  floe_iceberg_metadata_free(md);
}

static floe_iceberg_schema *simple_schema(void) {
  floe_iceberg_column cols[] = {
      {1, "batch_sk", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "amount", false, floe_iceberg_decimal(18, 2), NULL},
      {3, "loaded_at", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_iceberg_schema_new(&s, 0, cols, 3, NULL);
  return s;
}

static floe_iceberg_snapshot make_snapshot(int64_t id, int64_t parent, int64_t seq, int64_t ts,
                                           floe_iceberg_property *summary, int32_t n_summary) {
  floe_iceberg_snapshot s;
  memset(&s, 0, sizeof s);
  s.snapshot_id = id;
  s.has_parent = parent != 0;
  s.parent_snapshot_id = parent;
  s.sequence_number = seq;
  s.timestamp_ms = ts;
  s.manifest_list = "s3://bucket/t/metadata/snap.avro";
  s.summary = summary;
  s.n_summary = n_summary;
  s.has_schema_id = true;
  s.schema_id = 0;
  return s;
}

static void test_new_table_and_commit_mutations(void) {
  floe_error err = {0};
  floe_iceberg_schema *schema = simple_schema();
  floe_iceberg_partition_spec *spec = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec, 0, &err), &err);
  int32_t last_pid = 999;
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec, schema, "loaded_at", "day", NULL,
                                                   &last_pid, &err),
             &err);
  floe_iceberg_property props[] = {{"write.format.default", "parquet"},
                                   {"floe.table", "sales"}};
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_new(&md, 2, "s3://bucket/t", schema, spec, NULL, props, 2,
                                       &err),
             &err);
  CHECK_INT_EQ(strlen(md->table_uuid), 36);
  CHECK(md->table_uuid[14] == '4');
  CHECK_INT_EQ(md->last_column_id, 3);
  CHECK_INT_EQ(md->last_partition_id, 1000);
  CHECK_INT_EQ(md->default_sort_order_id, 0);
  CHECK(md->last_updated_ms > 1600000000000LL);
  CHECK_STR_EQ(floe_iceberg_metadata_property(md, "floe.table"), "sales");
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_metadata_to_json(md, &json, NULL, &err), &err);
  CHECK(strstr(json, "\"current-snapshot-id\": -1") != NULL);
  CHECK(strstr(json, "\"last-sequence-number\": 0") != NULL);
  CHECK(strstr(json, "\"decimal(18,2)\"") != NULL);
  floe_free(json);
  check_round_trip(md);

  /* Commit 1: append, main -> s1. */
  floe_iceberg_property sum1[] = {{"operation", "append"}, {"floe.batch-sk.high", "42"}};
  floe_iceberg_snapshot s1 = make_snapshot(101, 0, 1, 1700000000000LL, sum1, 2);
  REQUIRE_OK(floe_iceberg_metadata_add_snapshot(md, &s1, &err), &err);
  CHECK(!md->has_current_snapshot); /* not current until the ref moves */
  REQUIRE_OK(floe_iceberg_metadata_set_ref(md, "main", 101, false, &err), &err);
  CHECK(md->has_current_snapshot);
  CHECK_INT_EQ(md->current_snapshot_id, 101);
  CHECK_INT_EQ(md->last_sequence_number, 1);
  CHECK_INT_EQ(md->n_snapshot_log, 1);
  CHECK_STR_EQ(floe_iceberg_metadata_current_snapshot(md)->operation, "append");
  REQUIRE_OK(floe_iceberg_metadata_add_metadata_log(md, "s3://bucket/t/metadata/v1.metadata.json",
                                                    1699999999000LL, &err),
             &err);
  /* Commit 2 on top. */
  floe_iceberg_property sum2[] = {{"operation", "overwrite"}};
  floe_iceberg_snapshot s2 = make_snapshot(202, 101, 2, 1700000100000LL, sum2, 1);
  REQUIRE_OK(floe_iceberg_metadata_add_snapshot(md, &s2, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_set_ref(md, "main", 202, false, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_set_ref(md, "v1-tag", 101, true, &err), &err);
  CHECK(floe_iceberg_metadata_ref(md, "v1-tag")->is_tag);
  CHECK(floe_iceberg_metadata_is_ancestor(md, 202, 101));
  const floe_iceberg_snapshot *at = NULL;
  CHECK_OK(floe_iceberg_metadata_snapshot_as_of(md, 1700000050000LL, &at, &err), &err);
  CHECK_INT_EQ(at->snapshot_id, 101);
  CHECK_OK(floe_iceberg_metadata_snapshot_as_of(md, 1800000000000LL, &at, &err), &err);
  CHECK_INT_EQ(at->snapshot_id, 202);
  /* Rejections: duplicate id, stale sequence number, unknown ref target. */
  CHECK_INT_EQ(floe_iceberg_metadata_add_snapshot(md, &s2, &err), FLOE_EEXISTS);
  floe_iceberg_snapshot stale = make_snapshot(303, 202, 2, 1700000200000LL, sum2, 1);
  CHECK_INT_EQ(floe_iceberg_metadata_add_snapshot(md, &stale, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "sequence number 2 is not after last-sequence-number 2") != NULL);
  CHECK_INT_EQ(floe_iceberg_metadata_set_ref(md, "main", 999, false, &err), FLOE_ENOTFOUND);

  /* Properties: update, add, remove. */
  floe_iceberg_property upd[] = {{"floe.table", "sales_v2"}, {"new.key", "1"},
                                 {"write.format.default", NULL}};
  REQUIRE_OK(floe_iceberg_metadata_set_properties(md, upd, 3, &err), &err);
  CHECK_STR_EQ(floe_iceberg_metadata_property(md, "floe.table"), "sales_v2");
  CHECK_STR_EQ(floe_iceberg_metadata_property(md, "new.key"), "1");
  CHECK(floe_iceberg_metadata_property(md, "write.format.default") == NULL);
  CHECK_INT_EQ(md->n_properties, 2);

  /* Schema evolution committed: new id, current, last-column-id raised;
   * adding the same schema again reuses its id. */
  floe_iceberg_schema *evolved = NULL;
  int32_t last_col = md->last_column_id;
  floe_iceberg_type str = floe_iceberg_type_of(FLOE_ICEBERG_STRING);
  REQUIRE_OK(floe_iceberg_schema_add_column(&evolved, floe_iceberg_metadata_current_schema(md),
                                            NULL, "region", &str, NULL, &last_col, &err),
             &err);
  int32_t sid = -1;
  REQUIRE_OK(floe_iceberg_metadata_add_schema(md, evolved, true, &sid, &err), &err);
  CHECK_INT_EQ(sid, 1);
  CHECK_INT_EQ(md->current_schema_id, 1);
  CHECK_INT_EQ(md->last_column_id, 4);
  int32_t again = -1;
  REQUIRE_OK(floe_iceberg_metadata_add_schema(md, evolved, false, &again, &err), &err);
  CHECK_INT_EQ(again, 1);
  CHECK_INT_EQ(md->n_schemas, 2);
  /* Spec evolution: bucket on region, new spec id and last-partition-id. */
  floe_iceberg_partition_spec *spec2 = NULL;
  REQUIRE_OK(floe_iceberg_partition_spec_new(&spec2, 0, &err), &err);
  int32_t lp = md->last_partition_id;
  REQUIRE_OK(floe_iceberg_partition_spec_add_field(spec2, floe_iceberg_metadata_current_schema(md),
                                                   "region", "bucket[8]", NULL, &lp, &err),
             &err);
  int32_t spec_id = -1;
  REQUIRE_OK(floe_iceberg_metadata_add_spec(md, spec2, true, &spec_id, &err), &err);
  CHECK_INT_EQ(spec_id, 1);
  CHECK_INT_EQ(md->default_spec_id, 1);
  CHECK_INT_EQ(md->last_partition_id, 1001);

  /* Everything survives writing and reading back, and copying. */
  check_round_trip(md);
  floe_iceberg_metadata *copy = NULL;
  REQUIRE_OK(floe_iceberg_metadata_copy(&copy, md, &err), &err);
  CHECK_INT_EQ(copy->n_snapshots, 2);
  CHECK_INT_EQ(copy->n_metadata_log, 1);
  CHECK_STR_EQ(copy->metadata_log[0].metadata_file, "s3://bucket/t/metadata/v1.metadata.json");
  CHECK_STR_EQ(floe_iceberg_metadata_snapshot(copy, 101)->summary[1].value, "42");
  CHECK_STR_EQ(copy->table_uuid, md->table_uuid);
  CHECK_INT_EQ(floe_iceberg_metadata_ref(copy, "v1-tag")->snapshot_id, 101);
  floe_iceberg_metadata_free(copy);

  floe_iceberg_partition_spec_free(spec2);
  floe_iceberg_schema_free(evolved);
  floe_iceberg_metadata_free(md);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_schema_free(schema);
}

/* Iceberg spec: Partition Evolution. A field equal in source and
 * transform to one of any earlier spec keeps its id and name; a new one
 * continues after last-partition-id; an equal spec is reused; a name an
 * older field of another transform had gets a suffix. */
static floe_iceberg_partition_spec *spec_of(const floe_iceberg_schema *schema, const char *col1,
                                            const char *tr1, const char *col2, const char *tr2) {
  floe_error err = {0};
  floe_iceberg_partition_spec *spec = NULL;
  int32_t last = 999;
  floe_iceberg_partition_spec_new(&spec, 7, &err);
  if (col1 != NULL)
    floe_iceberg_partition_spec_add_field(spec, schema, col1, tr1, NULL, &last, &err);
  if (col2 != NULL)
    floe_iceberg_partition_spec_add_field(spec, schema, col2, tr2, NULL, &last, &err);
  return spec;
}

static void test_evolve_spec_assigns_ids_the_v2_way(void) {
  floe_error err = {0};
  floe_iceberg_schema *schema = simple_schema();
  floe_iceberg_partition_spec *day = spec_of(schema, "loaded_at", "day", NULL, NULL);
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_new(&md, 2, "file:///tmp/t", schema, day, NULL, NULL, 0, &err),
             &err);
  CHECK_INT_EQ(md->last_partition_id, 1000);
  /* day -> bucket[8](batch_sk), day kept: the day field keeps 1000. */
  floe_iceberg_partition_spec *both = spec_of(schema, "batch_sk", "bucket[8]", "loaded_at", "day");
  int32_t id = -1;
  REQUIRE_OK(floe_iceberg_metadata_evolve_spec(md, both, &id, &err), &err);
  CHECK_INT_EQ(id, 1);
  CHECK_INT_EQ(md->default_spec_id, 1);
  const floe_iceberg_partition_spec *s1 = floe_iceberg_metadata_spec(md, 1);
  CHECK_INT_EQ(s1->fields[0].field_id, 1001);
  CHECK_STR_EQ(s1->fields[0].name, "batch_sk_bucket");
  CHECK_INT_EQ(s1->fields[1].field_id, 1000);
  CHECK_STR_EQ(s1->fields[1].name, "loaded_at_day");
  CHECK_INT_EQ(md->last_partition_id, 1001);
  /* back to day only: spec 0 again, no new id */
  REQUIRE_OK(floe_iceberg_metadata_evolve_spec(md, day, &id, &err), &err);
  CHECK_INT_EQ(id, 0);
  CHECK_INT_EQ(md->default_spec_id, 0);
  CHECK_INT_EQ(md->n_specs, 2);
  /* bucket[4]: another transform on batch_sk, so a new field id; its
   * default name was bucket[8]'s, so it gets the id as a suffix */
  floe_iceberg_partition_spec *b4 = spec_of(schema, "batch_sk", "bucket[4]", NULL, NULL);
  REQUIRE_OK(floe_iceberg_metadata_evolve_spec(md, b4, &id, &err), &err);
  CHECK_INT_EQ(id, 2);
  CHECK_INT_EQ(floe_iceberg_metadata_spec(md, 2)->fields[0].field_id, 1002);
  CHECK_STR_EQ(floe_iceberg_metadata_spec(md, 2)->fields[0].name, "batch_sk_bucket_1002");
  /* unpartitioned: a spec without fields */
  floe_iceberg_partition_spec *none = spec_of(schema, NULL, NULL, NULL, NULL);
  REQUIRE_OK(floe_iceberg_metadata_evolve_spec(md, none, &id, &err), &err);
  CHECK_INT_EQ(id, 3);
  CHECK_INT_EQ(floe_iceberg_metadata_default_spec(md)->n_fields, 0);
  CHECK_INT_EQ(md->last_partition_id, 1002);
  check_round_trip(md);

  /* Sort orders: a new order gets max id + 1 and becomes the default; an
   * equal one is reused; no fields is the unsorted order 0. */
  floe_iceberg_sort_order *order = NULL;
  REQUIRE_OK(floe_iceberg_sort_order_new(&order, 5, &err), &err);
  REQUIRE_OK(floe_iceberg_sort_order_add_field(order, schema, "loaded_at", "identity",
                                               FLOE_SORT_DESC, FLOE_NULLS_LAST, &err),
             &err);
  REQUIRE_OK(floe_iceberg_metadata_add_sort_order(md, order, true, &id, &err), &err);
  CHECK_INT_EQ(id, 1);
  CHECK_INT_EQ(md->default_sort_order_id, 1);
  REQUIRE_OK(floe_iceberg_metadata_add_sort_order(md, order, true, &id, &err), &err);
  CHECK_INT_EQ(id, 1);
  CHECK_INT_EQ(md->n_sort_orders, 2);
  floe_iceberg_sort_order *unsorted = NULL;
  REQUIRE_OK(floe_iceberg_sort_order_new(&unsorted, 0, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_add_sort_order(md, unsorted, true, &id, &err), &err);
  CHECK_INT_EQ(id, 0);
  CHECK_INT_EQ(md->default_sort_order_id, 0);
  CHECK_INT_EQ(md->n_sort_orders, 2);
  check_round_trip(md);

  floe_iceberg_sort_order_free(order);
  floe_iceberg_sort_order_free(unsorted);
  floe_iceberg_partition_spec_free(none);
  floe_iceberg_partition_spec_free(b4);
  floe_iceberg_partition_spec_free(both);
  floe_iceberg_partition_spec_free(day);
  floe_iceberg_metadata_free(md);
  floe_iceberg_schema_free(schema);
}

static void test_v3_new_table_tracks_row_ids(void) {
  floe_error err = {0};
  floe_iceberg_schema *schema = simple_schema();
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_new(&md, 3, "file:///tmp/t", schema, NULL, NULL, NULL, 0, &err),
             &err);
  CHECK(md->has_next_row_id);
  floe_iceberg_property sum[] = {{"operation", "append"}};
  floe_iceberg_snapshot s = make_snapshot(7, 0, 1, 1700000000000LL, sum, 1);
  s.has_first_row_id = true;
  s.first_row_id = 0;
  s.has_added_rows = true;
  s.added_rows = 125;
  REQUIRE_OK(floe_iceberg_metadata_add_snapshot(md, &s, &err), &err);
  REQUIRE_OK(floe_iceberg_metadata_set_ref(md, "main", 7, false, &err), &err);
  CHECK_INT_EQ(md->next_row_id, 125);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_metadata_to_json(md, &json, NULL, &err), &err);
  CHECK(strstr(json, "\"next-row-id\": 125") != NULL);
  CHECK(strstr(json, "\"first-row-id\": 0") != NULL);
  CHECK(strstr(json, "\"added-rows\": 125") != NULL);
  floe_free(json);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);
  floe_iceberg_schema_free(schema);
  CHECK_INT_EQ(floe_iceberg_metadata_new(&md, 4, "x", schema, NULL, NULL, NULL, 0, &err),
               FLOE_EINVAL);
}

static void test_unknown_keys_and_gzip_metadata(void) {
  floe_error err = {0};
  const char *doc =
      "{\"format-version\":2,\"table-uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\","
      "\"location\":\"s3://b/t\",\"last-sequence-number\":1,\"last-updated-ms\":1,"
      "\"last-column-id\":1,\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\","
      "\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"x\",\"required\":true,\"type\":\"long\"}]}],"
      "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
      "\"last-partition-id\":999,\"default-sort-order-id\":0,\"sort-orders\":[{\"order-id\":0,"
      "\"fields\":[]}],\"current-snapshot-id\":5,\"snapshots\":[{\"snapshot-id\":5,"
      "\"sequence-number\":1,\"timestamp-ms\":2,\"manifest-list\":\"m.avro\",\"summary\":"
      "{\"operation\":\"append\"},\"key-id\":\"k1\"}],\"refs\":{\"main\":{\"snapshot-id\":5,"
      "\"type\":\"branch\",\"max-ref-age-ms\":1000}},"
      "\"encryption-keys\":[{\"key-id\":\"k1\",\"encrypted-key-metadata\":\"aWNl\"}]}";
  floe_iceberg_metadata *md = NULL;
  REQUIRE_OK(floe_iceberg_metadata_parse(&md, doc, strlen(doc), &err), &err);
  CHECK_STR_EQ(md->extra_json, "{\"encryption-keys\":[{\"key-id\":\"k1\",\"encrypted-key-metadata\":\"aWNl\"}]}");
  CHECK_STR_EQ(md->snapshots[0].extra_json, "{\"key-id\":\"k1\"}");
  CHECK(md->refs[0].has_max_ref_age_ms && md->refs[0].max_ref_age_ms == 1000);
  char *json = NULL;
  REQUIRE_OK(floe_iceberg_metadata_to_json(md, &json, NULL, &err), &err);
  CHECK(strstr(json, "\"encryption-keys\"") != NULL);
  CHECK(strstr(json, "\"key-id\": \"k1\"") != NULL);
  CHECK(strstr(json, "\"max-ref-age-ms\": 1000") != NULL);
  floe_free(json);
  check_round_trip(md);
  floe_iceberg_metadata_free(md);

  /* Appendix C: metadata JSON may be gzip-compressed. */
  floe_codec_ctx ctx;
  floe_codec_ctx_init(&ctx);
  floe_buf gz = FLOE_BUF_INIT;
  REQUIRE_OK(floe_compress(&ctx, FLOE_CODEC_GZIP, (const uint8_t *)doc, strlen(doc), &gz, &err),
             &err);
  floe_codec_ctx_free(&ctx);
  REQUIRE_OK(floe_iceberg_metadata_parse(&md, (const char *)gz.data, gz.len, &err), &err);
  CHECK_INT_EQ(md->current_snapshot_id, 5);
  floe_iceberg_metadata_free(md);
  floe_buf_free(&gz);

  /* Inconsistent documents fail with what and why. */
  const char *bad_ref =
      "{\"format-version\":2,\"table-uuid\":\"u\",\"location\":\"l\",\"last-sequence-number\":0,"
      "\"last-updated-ms\":1,\"last-column-id\":1,\"current-schema-id\":0,\"schemas\":[{\"type\":"
      "\"struct\",\"schema-id\":0,\"fields\":[]}],\"default-spec-id\":0,\"partition-specs\":"
      "[{\"spec-id\":0,\"fields\":[]}],\"last-partition-id\":999,\"default-sort-order-id\":0,"
      "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],\"current-snapshot-id\":77}";
  CHECK_INT_EQ(floe_iceberg_metadata_parse(&md, bad_ref, strlen(bad_ref), &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "Cannot find current version 77") != NULL);
  CHECK_INT_EQ(floe_iceberg_metadata_parse(&md, "{\"format-version\":", 18, &err), FLOE_EFORMAT);
  CHECK(strstr(err.message, "invalid JSON at line 1") != NULL);
}

static void test_parse_survives_every_allocation_failure(void) {
  floe_error err = {0};
  floe_iceberg_metadata *md = NULL;
  if (parse_case("TableMetadataV2Valid.json", &md, &err) == 1)
    SKIP("fixtures absent (../shared/fixtures)");
  floe_iceberg_metadata_free(md);
  size_t len;
  char *text = read_file(test_fixture("metadata-json/apache-iceberg/TableMetadataV2Valid.json"), &len);
  int failures = 0;
  for (long n = 1; n < 100000; n++) {
    floe_alloc_fail_after(n);
    int rc = floe_iceberg_metadata_parse(&md, text, len, &err);
    char *json = NULL;
    int rc2 = rc == 0 ? floe_iceberg_metadata_to_json(md, &json, NULL, &err) : 0;
    floe_alloc_fail_after(0);
    if (rc != 0) {
      if (rc != FLOE_ENOMEM) fprintf(stderr, "n=%ld: %s\n", n, err.message);
      CHECK_INT_EQ(rc, FLOE_ENOMEM);
      CHECK(md == NULL);
      failures++;
      continue;
    }
    if (rc2 != 0) {
      CHECK_INT_EQ(rc2, FLOE_ENOMEM);
      floe_iceberg_metadata_free(md);
      failures++;
      continue;
    }
    floe_free(json);
    floe_iceberg_metadata_free(md);
    break; /* no injected failure was reached: every path was tried */
  }
  CHECK(failures > 50);
  free(text);
}

int main(void) {
  RUN(test_v1_metadata_parses_with_v1_defaults);
  RUN(test_v2_metadata_parses_every_field);
  RUN(test_minimal_v2_and_v3_metadata);
  RUN(test_statistics_files_are_kept);
  RUN(test_invalid_metadata_fails_with_java_messages);
  RUN(test_every_fixture_table_metadata_parses_and_round_trips);
  RUN(test_fixture_facts_match_expected_results);
  RUN(test_spot_checks_on_engine_tables);
  RUN(test_new_table_and_commit_mutations);
  RUN(test_evolve_spec_assigns_ids_the_v2_way);
  RUN(test_v3_new_table_tracks_row_ids);
  RUN(test_unknown_keys_and_gzip_metadata);
  RUN(test_parse_survives_every_allocation_failure);
  return test_report();
}
