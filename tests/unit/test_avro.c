/*
 * tests/unit/test_avro: the Avro container codec against the golden files
 * from apache/avro (expected records decoded independently with avsc), every
 * Iceberg manifest and manifest list in the fixtures, Avro spec encoding
 * vectors, round trips of every type and codec, validation errors, and
 * corrupt, truncated and hostile input.
 */
#include <glob.h>
#include <jansson.h>
#include <math.h>
#include <zstd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "floe.h"
#include "test.h"

/* ------------------------------------------------------------ helpers */

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)size + 1);
  if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
    free(data);
    data = NULL;
  }
  fclose(f);
  if (data != NULL) data[size] = '\0';
  if (len != NULL) *len = (size_t)size;
  return data;
}

/* All records of an open reader rendered as JSON lines; NULL on error. */
static char *render_all(floe_avro_reader *reader, floe_error *err) {
  floe_buf out = FLOE_BUF_INIT;
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(reader));
  for (;;) {
    const floe_avro_value *record;
    if (floe_avro_reader_next(reader, &record, err) < 0) goto fail;
    if (record == NULL) break;
    if (floe_avro_value_to_json(root, record, &out, err) < 0) goto fail;
    floe_buf_append_byte(&out, '\n');
  }
  floe_buf_terminate(&out);
  if (out.data == NULL) return floe_strdup("");
  return (char *)floe_buf_detach(&out, NULL);
fail:
  floe_buf_free(&out);
  return NULL;
}

/* Reads the whole memory image; returns the record count or -1. */
static long count_records(const uint8_t *data, size_t len, floe_error *err) {
  floe_avro_reader *reader = NULL;
  if (floe_avro_reader_open_memory(&reader, data, len, err) < 0) return -1;
  long n = 0;
  for (;;) {
    const floe_avro_value *record;
    if (floe_avro_reader_next(reader, &record, err) < 0) {
      n = -1;
      break;
    }
    if (record == NULL) break;
    n++;
  }
  floe_avro_reader_free(reader);
  return n;
}

/* ------------------------------------------------------ golden files */

static void check_golden(const char *avro, const char *expected, const char *codec) {
  const char *path = test_fixture(avro);
  if (path == NULL) SKIP("../shared/fixtures absent (%s)", avro);
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_path(&reader, path, &err), &err);
  CHECK_STR_EQ(floe_avro_codec_name(floe_avro_reader_codec(reader)), codec);
  char *got = render_all(reader, &err);
  CHECK(got != NULL);
  const char *expected_path = test_fixture(expected);
  char *want = expected_path ? read_text(expected_path, NULL) : NULL;
  REQUIRE(want != NULL);
  if (got != NULL) CHECK_STR_EQ(got, want);
  floe_free(got);
  free(want);
  floe_avro_reader_free(reader);
}

static void test_golden_weather_null_codec(void) {
  check_golden("avro/apache-avro/weather.avro", "avro/expected/weather.jsonl", "null");
}
static void test_golden_weather_deflate(void) {
  check_golden("avro/apache-avro/weather-deflate.avro", "avro/expected/weather-deflate.jsonl",
               "deflate");
}
static void test_golden_weather_snappy_with_crc(void) {
  check_golden("avro/apache-avro/weather-snappy.avro", "avro/expected/weather-snappy.jsonl",
               "snappy");
}
static void test_golden_weather_zstandard(void) {
  check_golden("avro/apache-avro/weather-zstd.avro", "avro/expected/weather-zstd.jsonl",
               "zstandard");
}
static void test_golden_weather_sorted(void) {
  check_golden("avro/apache-avro/weather-sorted.avro", "avro/expected/weather-sorted.jsonl",
               "deflate");
}
static void test_golden_schemas_simple(void) {
  check_golden("avro/apache-avro/schemas/simple/data.avro",
               "avro/expected/schemas_simple_data.jsonl", "null");
}
static void test_golden_schemas_with_union(void) {
  check_golden("avro/apache-avro/schemas/withUnion/data.avro",
               "avro/expected/schemas_withUnion_data.jsonl", "null");
}
static void test_golden_sync_in_meta_6001_records(void) {
  check_golden("avro/apache-avro/syncInMeta.avro", "avro/expected/syncInMeta.jsonl", "deflate");
  const char *path = test_fixture("avro/apache-avro/syncInMeta.avro");
  if (path == NULL) return;
  floe_error err = {0};
  size_t len;
  char *data = read_text(path, &len);
  REQUIRE(data != NULL);
  CHECK_INT_EQ(count_records((const uint8_t *)data, len, &err), 6001);
  free(data);
}

static void test_golden_weather_schema_and_values(void) {
  const char *path = test_fixture("avro/apache-avro/weather.avro");
  if (path == NULL) SKIP("../shared/fixtures absent");
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_path(&reader, path, &err), &err);
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(reader));
  CHECK_INT_EQ(root->type, FLOE_AVRO_RECORD);
  CHECK_STR_EQ(root->name, "test.Weather");
  REQUIRE(root->field_count == 3);
  CHECK_STR_EQ(root->fields[0].name, "station");
  CHECK_STR_EQ(floe_avro_node_attr_string(root, "doc"), "A weather reading.");
  CHECK_INT_EQ(root->fields[1].type->type, FLOE_AVRO_LONG);
  const floe_avro_value *record;
  REQUIRE_OK(floe_avro_reader_next(reader, &record, &err), &err);
  REQUIRE(record != NULL);
  CHECK_STR_EQ((const char *)record->u.record.fields[0].u.bytes.data, "011990-99999");
  CHECK_INT_EQ(record->u.record.fields[1].u.l, -619524000000LL);
  CHECK_INT_EQ(record->u.record.fields[2].u.i, 0);
  floe_avro_reader_free(reader);
}

/* ------------------------------------------------- Iceberg manifests */

static const floe_avro_value *field(const floe_avro_node *node, const floe_avro_value *v,
                                    const char *name) {
  long i = floe_avro_node_field_index(node, name);
  return i < 0 ? NULL : &v->u.record.fields[i];
}

static void test_iceberg_manifests_decode_with_header_keys(void) {
  const char *root = test_fixture("iceberg");
  if (root == NULL) SKIP("../shared/fixtures absent");
  char pattern[4200];
  snprintf(pattern, sizeof pattern, "%s/*/metadata/*.avro", root);
  glob_t g;
  REQUIRE(glob(pattern, 0, NULL, &g) == 0);
  CHECK(g.gl_pathc >= 100);
  size_t manifests = 0, lists = 0;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    const char *path = g.gl_pathv[i];
    floe_error err = {0};
    floe_avro_reader *reader = NULL;
    if (floe_avro_reader_open_path(&reader, path, &err) < 0) {
      CHECK_OK(-1, &err);
      continue;
    }
    int is_list = strstr(path, "/snap-") != NULL;
    lists += is_list;
    manifests += !is_list;
    CHECK_INT_EQ(floe_avro_reader_codec(reader), FLOE_AVRO_CODEC_DEFLATE);
    const floe_avro_metadata *fv = floe_avro_reader_metadata_find(reader, "format-version");
    /* Iceberg spec "Manifests": manifest header keys; v1 manifest lists
     * may omit format-version. */
    if (!is_list) {
      const char *keys[] = {"schema", "partition-spec", "partition-spec-id"};
      for (size_t k = 0; k < 3; k++)
        if (floe_avro_reader_metadata_find(reader, keys[k]) == NULL)
          TEST_FAIL_AT(__FILE__, __LINE__, "%s lacks header key %s", path, keys[k]);
      const floe_avro_metadata *spec = floe_avro_reader_metadata_find(reader, "partition-spec");
      if (spec != NULL) {
        json_t *json = json_loadb((const char *)spec->value, spec->value_len, 0, NULL);
        CHECK(json_is_array(json));
        json_decref(json);
      }
    }
    if (fv != NULL) CHECK(fv->value_len == 1 && fv->value[0] >= '1' && fv->value[0] <= '3');
    const floe_avro_metadata *ischema = floe_avro_reader_metadata_find(reader, "iceberg.schema");
    if (ischema != NULL) {
      json_t *json = json_loadb((const char *)ischema->value, ischema->value_len, 0, NULL);
      CHECK(json_is_object(json));
      CHECK_STR_EQ(json_string_value(json_object_get(json, "type")), "struct");
      json_decref(json);
    }
    char *rows = render_all(reader, &err);
    if (rows == NULL) TEST_FAIL_AT(__FILE__, __LINE__, "%s: %s", path, err.message);
    floe_free(rows);
    floe_avro_reader_free(reader);
  }
  CHECK(manifests > 40);
  CHECK(lists > 40);
  globfree(&g);
}

/* Spot values: lithium_no_partitioning v2 has one data file of 6 rows
 * (fixtures/expected/iceberg/lithium_no_partitioning.v00002.json), and the
 * manifest list records the manifest's true length. */
static void test_iceberg_manifest_values_match_expected(void) {
  const char *dir = test_fixture("iceberg/lithium_no_partitioning/metadata");
  if (dir == NULL) SKIP("../shared/fixtures absent");
  char list_path[4300], manifest_path[4300];
  snprintf(list_path, sizeof list_path,
           "%s/snap-6247215453669530946-1-bb0c25c8-adcf-4b05-8d6d-142300e83cc8.avro", dir);
  snprintf(manifest_path, sizeof manifest_path, "%s/bb0c25c8-adcf-4b05-8d6d-142300e83cc8-m0.avro",
           dir);
  floe_error err = {0};
  floe_avro_reader *reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_path(&reader, list_path, &err), &err);
  const floe_avro_node *node = floe_avro_schema_root(floe_avro_reader_schema(reader));
  const floe_avro_value *rec;
  REQUIRE_OK(floe_avro_reader_next(reader, &rec, &err), &err);
  REQUIRE(rec != NULL);
  struct stat st;
  REQUIRE(stat(manifest_path, &st) == 0);
  CHECK_INT_EQ(field(node, rec, "manifest_length")->u.l, st.st_size);
  CHECK_INT_EQ(field(node, rec, "added_snapshot_id")->u.l, 6247215453669530946LL);
  CHECK_INT_EQ(field(node, rec, "added_rows_count")->u.l, 6);
  CHECK(strstr((const char *)field(node, rec, "manifest_path")->u.bytes.data,
               "bb0c25c8-adcf-4b05-8d6d-142300e83cc8-m0.avro") != NULL);
  /* manifest_path carries Iceberg's field-id 500 (Iceberg spec "Manifest Lists"). */
  int64_t id = 0;
  CHECK(floe_avro_field_attr_int(&node->fields[0], "field-id", &id) == 1);
  CHECK_INT_EQ(id, 500);
  floe_avro_reader_free(reader);

  reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_path(&reader, manifest_path, &err), &err);
  CHECK_STR_EQ((const char *)floe_avro_reader_metadata_find(reader, "format-version")->value, "2");
  CHECK_STR_EQ((const char *)floe_avro_reader_metadata_find(reader, "content")->value, "data");
  node = floe_avro_schema_root(floe_avro_reader_schema(reader));
  REQUIRE_OK(floe_avro_reader_next(reader, &rec, &err), &err);
  REQUIRE(rec != NULL);
  const floe_avro_field *df_field = &node->fields[floe_avro_node_field_index(node, "data_file")];
  CHECK(floe_avro_field_attr_int(df_field, "field-id", &id) == 1 && id == 2);
  const floe_avro_value *df = field(node, rec, "data_file");
  const floe_avro_node *df_node = df_field->type;
  CHECK_INT_EQ(field(df_node, df, "record_count")->u.l, 6);
  CHECK(strstr((const char *)field(df_node, df, "file_path")->u.bytes.data,
               "data/20250310_161728_00004_i9wr4-40df733f-a909-4d83-8516-ac48ad8965c0.parquet") != NULL);
  CHECK_STR_EQ((const char *)field(df_node, df, "file_format")->u.bytes.data, "PARQUET");
  /* column_sizes: array of k/v records with element-id on the array. */
  const floe_avro_node *sizes = df_node->fields[floe_avro_node_field_index(df_node, "column_sizes")].type;
  REQUIRE(sizes->type == FLOE_AVRO_UNION && sizes->branches[1]->type == FLOE_AVRO_ARRAY);
  const floe_avro_node *kv = sizes->branches[1]->items;
  CHECK_STR_EQ(kv->name, "k117_v118");
  CHECK(floe_avro_field_attr_int(&kv->fields[0], "field-id", &id) == 1 && id == 117);
  CHECK(floe_avro_field_attr_int(&kv->fields[1], "field-id", &id) == 1 && id == 118);
  const floe_avro_node *offsets =
      df_node->fields[floe_avro_node_field_index(df_node, "split_offsets")].type->branches[1];
  CHECK(floe_avro_node_attr_int(offsets, "element-id", &id) == 1 && id == 133);
  const floe_avro_value *split = field(df_node, df, "split_offsets");
  CHECK(split->u.array.count == 1 && split->u.array.items[0].u.l == 4);
  CHECK_STR_EQ(floe_avro_node_attr_string(sizes->branches[1], "logicalType"), "map");
  const floe_avro_value *cs = field(df_node, df, "column_sizes");
  CHECK_INT_EQ(cs->branch, 1);
  CHECK_INT_EQ(cs->u.array.count, 3);
  REQUIRE_OK(floe_avro_reader_next(reader, &rec, &err), &err);
  CHECK(rec == NULL);
  floe_avro_reader_free(reader);
}

/* ------------------------------------------------- spec encoding vectors */

static void test_encoding_matches_spec_vectors(void) {
  /* Avro spec "Binary Encoding": zigzag examples, "foo", the union and
   * array examples. */
  static const struct {
    int64_t value;
    const char *bytes;
    size_t len;
  } longs[] = {{0, "\x00", 1},  {-1, "\x01", 1}, {1, "\x02", 1}, {-2, "\x03", 1},
               {2, "\x04", 1},  {-64, "\x7f", 1}, {64, "\x80\x01", 2},
               {INT64_MIN, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10}};
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, "\"long\"", 0, &err), &err);
  floe_buf out = FLOE_BUF_INIT;
  for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
    floe_buf_reset(&out);
    floe_avro_value v = floe_avro_long(longs[i].value);
    CHECK_OK(floe_avro_encode_value(floe_avro_schema_root(schema), &v, &out, &err), &err);
    CHECK(out.len == longs[i].len && memcmp(out.data, longs[i].bytes, out.len) == 0);
  }
  floe_avro_schema_free(schema);

  schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, "[\"null\",\"string\"]", 0, &err), &err);
  floe_buf_reset(&out);
  floe_avro_value a = floe_avro_string("a"), null = floe_avro_null();
  CHECK_OK(floe_avro_encode_value(floe_avro_schema_root(schema), &a, &out, &err), &err);
  CHECK(out.len == 3 && memcmp(out.data, "\x02\x02" "a", 3) == 0);
  floe_buf_reset(&out);
  CHECK_OK(floe_avro_encode_value(floe_avro_schema_root(schema), &null, &out, &err), &err);
  CHECK(out.len == 1 && out.data[0] == 0);
  floe_avro_schema_free(schema);

  schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, "{\"type\":\"array\",\"items\":\"long\"}", 0, &err),
             &err);
  floe_buf_reset(&out);
  floe_avro_value items[2] = {floe_avro_long(3), floe_avro_long(27)};
  floe_avro_value array = floe_avro_array(items, 2);
  CHECK_OK(floe_avro_encode_value(floe_avro_schema_root(schema), &array, &out, &err), &err);
  CHECK(out.len == 4 && memcmp(out.data, "\x04\x06\x36\x00", 4) == 0);
  floe_avro_schema_free(schema);

  schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, "\"string\"", 0, &err), &err);
  floe_buf_reset(&out);
  floe_avro_value foo = floe_avro_string("foo");
  CHECK_OK(floe_avro_encode_value(floe_avro_schema_root(schema), &foo, &out, &err), &err);
  CHECK(out.len == 4 && memcmp(out.data, "\x06" "foo", 4) == 0);
  floe_avro_schema_free(schema);
  floe_buf_free(&out);
}

/* ---------------------------------------------------------- schemas */

static const char *iceberg_like_schema =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"namespace\":\"org.floe\","
    "\"fields\":[{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"flag\",\"type\":\"boolean\"},"
    "{\"name\":\"ratio\",\"type\":\"float\"},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"blob\",\"type\":\"bytes\"},"
    "{\"name\":\"amount\",\"type\":{\"type\":\"fixed\",\"name\":\"dec9\",\"size\":4,"
    "\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\",\"element-id\":7},\"field-id\":6},"
    "{\"name\":\"props\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"long\"],\"key-id\":8,\"value-id\":9}},"
    "{\"name\":\"bounds\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"k_v\","
    "\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":10},"
    "{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":11}]},\"logicalType\":\"map\"}},"
    "{\"name\":\"other\",\"type\":[\"null\",\"k_v\",\"Kind\",\"string\"]},"
    "{\"name\":\"uuid\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"uuid_fixed\",\"size\":16,"
    "\"logicalType\":\"uuid\"}]},"
    "{\"name\":\"nested\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"inner\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":\"int\"}}},"
    "{\"name\":\"nothing\",\"type\":\"null\"}]}}]}";

static void test_schema_keeps_iceberg_attributes(void) {
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, iceberg_like_schema, 0, &err), &err);
  const floe_avro_node *root = floe_avro_schema_root(schema);
  CHECK_STR_EQ(root->name, "org.floe.manifest_entry");
  size_t len;
  CHECK_STR_EQ(floe_avro_schema_json(schema, &len), iceberg_like_schema);
  CHECK_INT_EQ(len, strlen(iceberg_like_schema));
  int64_t id = -1;
  CHECK(floe_avro_field_attr_int(&root->fields[0], "field-id", &id) == 1 && id == 0);
  CHECK(floe_avro_field_attr_int(&root->fields[1], "field-id", &id) == 1 && id == 1);
  CHECK(floe_avro_field_attr_int(&root->fields[2], "field-id", &id) == 0);
  char *def = floe_avro_field_attr_json(&root->fields[1], "default");
  CHECK_STR_EQ(def, "null");
  floe_free(def);
  const floe_avro_node *amount = root->fields[6].type;
  CHECK_INT_EQ(amount->type, FLOE_AVRO_FIXED);
  CHECK_STR_EQ(amount->name, "org.floe.dec9");
  CHECK_STR_EQ(amount->logical_type, "decimal");
  CHECK_INT_EQ(amount->precision, 9);
  CHECK_INT_EQ(amount->scale, 2);
  CHECK_INT_EQ(amount->fixed_size, 4);
  CHECK_STR_EQ(root->fields[8].type->logical_type, "date");
  const floe_avro_node *tags = root->fields[9].type;
  CHECK(floe_avro_node_attr_int(tags, "element-id", &id) == 1 && id == 7);
  const floe_avro_node *props = root->fields[10].type;
  CHECK(floe_avro_node_attr_int(props, "key-id", &id) == 1 && id == 8);
  CHECK(floe_avro_node_attr_int(props, "value-id", &id) == 1 && id == 9);
  /* Named references share the node. */
  const floe_avro_node *other = root->fields[12].type;
  CHECK(other->branches[1] == root->fields[11].type->items);
  CHECK(other->branches[2] == root->fields[7].type);
  CHECK_INT_EQ(root->fields[13].type->branches[1]->fixed_size, 16);
  CHECK_STR_EQ(root->fields[13].type->branches[1]->logical_type, "uuid");
  CHECK_INT_EQ(floe_avro_node_field_index(root, "nested"), 14);
  CHECK_INT_EQ(floe_avro_node_field_index(root, "absent"), -1);
  floe_avro_schema_free(schema);
}

static void test_schema_recursive_type(void) {
  const char *json = "{\"type\":\"record\",\"name\":\"List\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
                     "{\"name\":\"next\",\"type\":[\"null\",\"List\"]}]}";
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, json, 0, &err), &err);
  const floe_avro_node *root = floe_avro_schema_root(schema);
  CHECK(root->fields[1].type->branches[1] == root);
  CHECK_INT_EQ(root->min_encoded_size, 2);
  floe_buf out = FLOE_BUF_INIT;
  floe_avro_value tail_fields[2] = {floe_avro_int(2), floe_avro_null()};
  floe_avro_value tail = floe_avro_record(tail_fields, 2);
  floe_avro_value head_fields[2] = {floe_avro_int(1), tail};
  floe_avro_value head = floe_avro_record(head_fields, 2);
  CHECK_OK(floe_avro_encode_value(root, &head, &out, &err), &err);
  CHECK(out.len == 4 && memcmp(out.data, "\x02\x02\x04\x00", 4) == 0);
  floe_buf_reset(&out);
  CHECK_OK(floe_avro_value_to_json(root, &head, &out, &err), &err);
  floe_buf_terminate(&out);
  CHECK_STR_EQ((char *)out.data, "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}");
  floe_buf_free(&out);
  floe_avro_schema_free(schema);
}

static void test_schema_rejects_invalid(void) {
  static const char *bad[] = {
      "",
      "{",
      "\"nosuchtype\"",
      "{\"type\":\"record\",\"name\":\"r\"}",
      "{\"type\":\"record\",\"fields\":[]}",
      "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\"}]}",
      "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}",
      "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[1]}",
      "{\"type\":\"fixed\",\"name\":\"f\",\"size\":-1}",
      "{\"type\":\"fixed\",\"name\":\"f\"}",
      "{\"type\":\"array\"}",
      "{\"type\":\"map\",\"values\":\"nope\"}",
      "[]",
      "[\"int\",[\"null\"]]",
      "[\"int\",\"int\"]",
      "[{\"type\":\"fixed\",\"name\":\"f\",\"size\":1},{\"type\":\"fixed\",\"name\":\"f\",\"size\":2}]",
      "{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}",
      "42",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    floe_error err = {0};
    floe_avro_schema *schema = NULL;
    int rc = bad[i][0] ? floe_avro_schema_parse(&schema, bad[i], 0, &err)
                       : floe_avro_schema_parse(&schema, " ", 1, &err);
    if (rc != FLOE_EFORMAT) TEST_FAIL_AT(__FILE__, __LINE__, "schema %zu (%s) gave %d", i, bad[i], rc);
    CHECK(schema == NULL);
    CHECK(err.message[0] != '\0');
  }
  /* Deep nesting is refused, not a stack overflow. */
  char deep[2000];
  size_t n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(deep + n, sizeof deep - n, "[");
  n += (size_t)snprintf(deep + n, sizeof deep - n, "\"int\"");
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(deep + n, sizeof deep - n, "]");
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  CHECK_INT_EQ(floe_avro_schema_parse(&schema, deep, 0, &err), FLOE_EFORMAT);
}

/* ------------------------------------------------------- round trips */

typedef struct sample {
  floe_avro_value fields[15];
  floe_avro_value snapshot_inner, tags[3], bounds[2], bound_fields[2][2], nested_fields[2];
  floe_avro_value inner[2], other_fields[2];
  floe_avro_map_entry props[2], inner_maps[2][2];
  uint8_t blob[40], amount[4], uuid[16], bound_bytes[2][4];
  char tag_text[3][64];
} sample;

/* Fills a record of iceberg_like_schema whose content depends on i. */
static floe_avro_value make_sample(sample *s, int i) {
  for (size_t k = 0; k < sizeof s->blob; k++) s->blob[k] = (uint8_t)(k * 37 + (size_t)i);
  for (int k = 0; k < 4; k++) s->amount[k] = (uint8_t)(i >> (8 * (3 - k)));
  for (int k = 0; k < 16; k++) s->uuid[k] = (uint8_t)(0xA0 + k + i);
  s->fields[0] = floe_avro_int(i % 3);
  s->fields[1] = i % 2 ? floe_avro_null() : floe_avro_long(-(int64_t)i * 1000000007LL);
  s->fields[2] = floe_avro_boolean(i % 2);
  s->fields[3] = floe_avro_float((float)i * 0.1f);
  s->fields[4] = floe_avro_double(i == 3 ? -0.0 : i * 1e300 / 7);
  s->fields[5] = floe_avro_bytes(s->blob, (size_t)(i % 41));
  s->fields[6] = floe_avro_fixed(s->amount, 4);
  s->fields[7] = floe_avro_enum(i % 3);
  s->fields[8] = floe_avro_int(19000 + i);
  size_t ntags = (size_t)(i % 4);
  for (size_t k = 0; k < ntags; k++) {
    snprintf(s->tag_text[k], sizeof s->tag_text[k], "tag %d \"q\" \xc3\xa9 %zu\n", i, k);
    s->tags[k] = floe_avro_string(s->tag_text[k]);
  }
  s->fields[9] = floe_avro_array(s->tags, ntags);
  s->props[0] = (floe_avro_map_entry){"a", 1, floe_avro_long(i)};
  s->props[1] = (floe_avro_map_entry){"b\0c", 3, floe_avro_null()};
  s->fields[10] = floe_avro_map(s->props, (size_t)(i % 3 == 0 ? 0 : 2));
  for (int k = 0; k < 2; k++) {
    for (int b = 0; b < 4; b++) s->bound_bytes[k][b] = (uint8_t)(k * 100 + b + i);
    s->bound_fields[k][0] = floe_avro_int(k + 1);
    s->bound_fields[k][1] = floe_avro_bytes(s->bound_bytes[k], 4);
    s->bounds[k] = floe_avro_record(s->bound_fields[k], 2);
  }
  s->fields[11] = floe_avro_array(s->bounds, 2);
  switch (i % 4) {
    case 0: s->fields[12] = floe_avro_null(); break;
    case 1: s->fields[12] = s->bounds[0]; break;
    case 2: s->fields[12] = floe_avro_enum(2); break;
    default: s->fields[12] = floe_avro_string("other"); break;
  }
  s->fields[13] = i % 5 == 0 ? floe_avro_null() : floe_avro_fixed(s->uuid, 16);
  for (int k = 0; k < 2; k++) {
    s->inner_maps[k][0] = (floe_avro_map_entry){"x", 1, floe_avro_int(k)};
    s->inner_maps[k][1] = (floe_avro_map_entry){"y", 1, floe_avro_int(-i)};
    s->inner[k] = floe_avro_map(s->inner_maps[k], 2);
  }
  s->nested_fields[0] = floe_avro_array(s->inner, 2);
  s->nested_fields[1] = floe_avro_null();
  s->fields[14] = floe_avro_record(s->nested_fields, 2);
  return floe_avro_record(s->fields, 15);
}

static const uint8_t binary_meta[] = {0x00, 0xff, 0x10, 'O', 'b', 'j', 0x01, 0x80};

static int write_samples(floe_buf *file, floe_avro_codec codec, int count, size_t block_size,
                         floe_error *err) {
  floe_avro_metadata meta[] = {
      {"format-version", (const uint8_t *)"2", 1},
      {"partition-spec", (const uint8_t *)"[{\"name\":\"day\",\"field-id\":1000}]", 33},
      {"binary", binary_meta, sizeof binary_meta},
      {"empty", (const uint8_t *)"", 0},
  };
  floe_avro_writer_config config = {0};
  config.schema_json = iceberg_like_schema;
  config.metadata = meta;
  config.metadata_count = 4;
  config.codec = codec;
  config.block_size = block_size;
  floe_avro_writer *writer = NULL;
  int rc = floe_avro_writer_open_buf(&writer, &config, file, err);
  if (rc < 0) return rc;
  sample s;
  for (int i = 0; i < count && rc == 0; i++) {
    floe_avro_value record = make_sample(&s, i);
    rc = floe_avro_writer_append(writer, &record, err);
  }
  if (rc == 0) rc = floe_avro_writer_close(writer, err);
  if (rc == 0 && floe_avro_writer_bytes_written(writer) != file->len) rc = -100;
  floe_avro_writer_free(writer);
  return rc;
}

static void check_round_trip(floe_avro_codec codec, int count, size_t block_size,
                             uint64_t min_blocks) {
  floe_error err = {0};
  floe_buf file = FLOE_BUF_INIT;
  REQUIRE_OK(write_samples(&file, codec, count, block_size, &err), &err);
  floe_avro_reader *reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_memory(&reader, file.data, file.len, &err), &err);
  CHECK_INT_EQ(floe_avro_reader_codec(reader), codec);
  const floe_avro_metadata *m = floe_avro_reader_metadata_find(reader, "avro.schema");
  CHECK(m != NULL && m->value_len == strlen(iceberg_like_schema) &&
        memcmp(m->value, iceberg_like_schema, m->value_len) == 0);
  m = floe_avro_reader_metadata_find(reader, "binary");
  CHECK(m != NULL && m->value_len == sizeof binary_meta &&
        memcmp(m->value, binary_meta, sizeof binary_meta) == 0);
  m = floe_avro_reader_metadata_find(reader, "empty");
  CHECK(m != NULL && m->value_len == 0);
  CHECK_INT_EQ(floe_avro_reader_metadata_count(reader), 6);
  CHECK_STR_EQ(floe_avro_reader_metadata_at(reader, 0)->key, "avro.schema");
  CHECK_STR_EQ(floe_avro_reader_metadata_at(reader, 2)->key, "format-version");
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_reader_schema(reader));
  floe_buf want = FLOE_BUF_INIT, got = FLOE_BUF_INIT;
  int i = 0;
  for (;; i++) {
    const floe_avro_value *rec;
    if (floe_avro_reader_next(reader, &rec, &err) < 0) {
      CHECK_OK(-1, &err);
      break;
    }
    if (rec == NULL) break;
    sample s;
    floe_avro_value expected = make_sample(&s, i);
    floe_buf_reset(&want);
    floe_buf_reset(&got);
    /* Re-encoding the decoded value must give the same bytes as the
     * original: a value-for-value comparison of every field. */
    CHECK_OK(floe_avro_encode_value(root, &expected, &want, &err), &err);
    CHECK_OK(floe_avro_encode_value(root, rec, &got, &err), &err);
    if (want.len != got.len || memcmp(want.data, got.data, want.len) != 0) {
      TEST_FAIL_AT(__FILE__, __LINE__, "record %d differs (codec %s)", i,
                   floe_avro_codec_name(codec));
      break;
    }
    CHECK_INT_EQ(rec->u.record.fields[4].u.d == expected.u.record.fields[4].u.d, 1);
    CHECK_INT_EQ(rec->u.record.fields[12].branch, i % 4 == 0 ? 0 : i % 4 == 1 ? 1 : i % 4 == 2 ? 2 : 3);
    CHECK_INT_EQ(rec->u.record.fields[1].u.l, i % 2 ? 0 : -(int64_t)i * 1000000007LL);
  }
  CHECK_INT_EQ(i, count);
  CHECK(floe_avro_reader_block_count(reader) >= min_blocks);
  floe_buf_free(&want);
  floe_buf_free(&got);
  floe_avro_reader_free(reader);
  floe_buf_free(&file);
}

static void test_round_trip_null_codec_many_blocks(void) {
  check_round_trip(FLOE_AVRO_CODEC_NULL, 500, 1024, 50);
}
static void test_round_trip_deflate_many_blocks(void) {
  check_round_trip(FLOE_AVRO_CODEC_DEFLATE, 500, 2048, 20);
}
static void test_round_trip_snappy(void) { check_round_trip(FLOE_AVRO_CODEC_SNAPPY, 300, 0, 1); }
static void test_round_trip_zstd_many_blocks(void) {
  check_round_trip(FLOE_AVRO_CODEC_ZSTD, 300, 512, 30);
}
static void test_round_trip_empty_file(void) { check_round_trip(FLOE_AVRO_CODEC_DEFLATE, 0, 0, 0); }

static void test_round_trip_json_rendering(void) {
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, iceberg_like_schema, 0, &err), &err);
  sample s;
  floe_avro_value rec = make_sample(&s, 1);
  floe_buf out = FLOE_BUF_INIT;
  REQUIRE_OK(floe_avro_value_to_json(floe_avro_schema_root(schema), &rec, &out, &err), &err);
  floe_buf_terminate(&out);
  /* Values as avsc decodes them: float 0.1f widened to double, bytes as
   * latin1 code points, unions by value, enums by symbol. */
  CHECK_STR_EQ((char *)out.data,
               "{\"status\":1,\"snapshot_id\":null,\"flag\":true,\"ratio\":0.10000000149011612,"
               "\"score\":1.4285714285714286e+299,\"blob\":\"\\u0001\",\"amount\":\"\\u0000\\u0000\\u0000\\u0001\","
               "\"kind\":\"B\",\"day\":19001,\"tags\":[\"tag 1 \\\"q\\\" \xc3\xa9 0\\n\"],"
               "\"props\":{\"a\":1,\"b\\u0000c\":null},"
               "\"bounds\":[{\"key\":1,\"value\":\"\\u0001\\u0002\\u0003\\u0004\"},"
               "{\"key\":2,\"value\":\"efgh\"}],\"other\":{\"key\":1,\"value\":\"\\u0001\\u0002\\u0003\\u0004\"},"
               "\"uuid\":\"\xc2\xa1\xc2\xa2\xc2\xa3\xc2\xa4\xc2\xa5\xc2\xa6\xc2\xa7\xc2\xa8\xc2\xa9\xc2\xaa\xc2\xab\xc2\xac\xc2\xad\xc2\xae\xc2\xaf\xc2\xb0\","
               "\"nested\":{\"inner\":[{\"x\":0,\"y\":-1},{\"x\":1,\"y\":-1}],\"nothing\":null}}");
  floe_buf_free(&out);
  floe_avro_schema_free(schema);
}

static void test_json_strings_doubles_and_invalid_utf8(void) {
  floe_error err = {0};
  floe_avro_schema *schema = NULL;
  REQUIRE_OK(floe_avro_schema_parse(&schema, "[\"string\",\"double\",\"float\",\"bytes\"]", 0, &err), &err);
  const floe_avro_node *root = floe_avro_schema_root(schema);
  struct {
    floe_avro_value v;
    const char *json;
  } cases[] = {
      {floe_avro_string_n("a\x01\t\x7f", 4), "\"a\\u0001\\t\x7f\""},
      {floe_avro_string_n("\xff" "a\xe2\x82" "b\xed\xa0\x80", 8), "\"\xef\xbf\xbd" "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
      {floe_avro_string("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\""},
      {floe_avro_double(0.1), "0.1"},
      {floe_avro_double(1e21), "1e+21"},
      {floe_avro_double(123456789012.0), "123456789012"},
      {floe_avro_double(NAN), "\"NaN\""},
      {floe_avro_double(-INFINITY), "\"-Infinity\""},
      {floe_avro_float(1.1f), "1.100000023841858"},
      {floe_avro_bytes("\x00\xff", 2), "\"\\u0000\xc3\xbf\""},
  };
  floe_buf out = FLOE_BUF_INIT;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_buf_reset(&out);
    CHECK_OK(floe_avro_value_to_json(root, &cases[i].v, &out, &err), &err);
    floe_buf_terminate(&out);
    CHECK_STR_EQ((char *)out.data, cases[i].json);
  }
  floe_buf_free(&out);
  floe_avro_schema_free(schema);
}

/* ------------------------------------------------------- validation */

static void expect_invalid(const floe_avro_value *record, const char *message_part) {
  floe_error err = {0};
  floe_buf file = FLOE_BUF_INIT;
  floe_avro_writer_config config = {0};
  config.schema_json = iceberg_like_schema;
  floe_avro_writer *writer = NULL;
  REQUIRE_OK(floe_avro_writer_open_buf(&writer, &config, &file, &err), &err);
  CHECK_INT_EQ(floe_avro_writer_append(writer, record, &err), FLOE_EINVAL);
  if (strstr(err.message, message_part) == NULL)
    TEST_FAIL_AT(__FILE__, __LINE__, "message '%s' lacks '%s'", err.message, message_part);
  /* The writer stays usable and the bad record left nothing behind. */
  sample s;
  floe_avro_value good = make_sample(&s, 2);
  CHECK_OK(floe_avro_writer_append(writer, &good, &err), &err);
  CHECK_OK(floe_avro_writer_close(writer, &err), &err);
  CHECK_INT_EQ(floe_avro_writer_record_count(writer), 1);
  floe_avro_writer_free(writer);
  CHECK_INT_EQ(count_records(file.data, file.len, &err), 1);
  floe_buf_free(&file);
}

static void test_writer_validation_names_field_path(void) {
  sample s;
  floe_avro_value rec = make_sample(&s, 1);
  s.fields[0] = floe_avro_long(1);
  expect_invalid(&rec, "avro value status: expected int, got long");

  rec = make_sample(&s, 1);
  rec.u.record.count = 5;
  expect_invalid(&rec, "missing field 'blob'");

  rec = make_sample(&s, 1);
  memset(&s.fields[3], 0, sizeof s.fields[3]);
  expect_invalid(&rec, "ratio: value not set");

  rec = make_sample(&s, 1);
  s.fields[1] = floe_avro_branch(floe_avro_long(5), 0);
  expect_invalid(&rec, "snapshot_id: union branch 0 does not hold a long value");

  rec = make_sample(&s, 1);
  s.nested_fields[1] = floe_avro_int(3);
  expect_invalid(&rec, "nested.nothing: expected null, got int");

  rec = make_sample(&s, 1);
  s.inner_maps[1][1].value = floe_avro_string("x");
  expect_invalid(&rec, "nested.inner[1][\"y\"]: expected int, got string");

  rec = make_sample(&s, 1);
  s.bound_fields[1][0] = floe_avro_null();
  expect_invalid(&rec, "bounds[1].key: expected int, got null");

  rec = make_sample(&s, 1);
  s.fields[6] = floe_avro_fixed(s.amount, 3);
  expect_invalid(&rec, "amount: fixed org.floe.dec9 needs 4 bytes, got 3");

  rec = make_sample(&s, 1);
  s.fields[7] = floe_avro_enum(3);
  expect_invalid(&rec, "kind: enum org.floe.Kind has 3 symbols, index 3 is out of range");

  rec = make_sample(&s, 1);
  s.fields[12] = floe_avro_double(1);
  expect_invalid(&rec, "other: union [null,org.floe.k_v,org.floe.Kind,string] has no branch for a double value");

  floe_avro_value not_record = floe_avro_int(1);
  expect_invalid(&not_record, "(root): expected org.floe.manifest_entry, got int");
}

static void test_writer_rejects_reserved_metadata_and_bad_schema(void) {
  floe_error err = {0};
  floe_buf file = FLOE_BUF_INIT;
  floe_avro_metadata meta[] = {{"avro.codec", (const uint8_t *)"x", 1}};
  floe_avro_writer_config config = {0};
  config.schema_json = "\"int\"";
  config.metadata = meta;
  config.metadata_count = 1;
  floe_avro_writer *writer = NULL;
  CHECK_INT_EQ(floe_avro_writer_open_buf(&writer, &config, &file, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "avro.codec") != NULL);
  CHECK(writer == NULL);
  config.metadata_count = 0;
  config.schema_json = "{\"type\":\"recrd\"}";
  CHECK_INT_EQ(floe_avro_writer_open_buf(&writer, &config, &file, &err), FLOE_EFORMAT);
  CHECK(writer == NULL);
  floe_buf_free(&file);
}

static void test_writer_path_and_fixed_sync_marker(void) {
  /* build/tmp/test_avro, as test_tmpdir would make it. */
  const char *dir = "tmp/test_avro";
  mkdir("tmp", 0777);
  mkdir(dir, 0777);
  char path[4200];
  snprintf(path, sizeof path, "%s/ints.avro", dir);
  static const uint8_t sync[16] = "0123456789abcdef";
  floe_avro_writer_config config = {0};
  config.schema_json = "{\"type\":\"long\"}";
  config.codec = FLOE_AVRO_CODEC_DEFLATE;
  config.sync_marker = sync;
  config.block_size = 100;
  floe_error err = {0};
  floe_avro_writer *writer = NULL;
  REQUIRE_OK(floe_avro_writer_open_path(&writer, &config, path, &err), &err);
  for (int64_t i = 0; i < 1000; i++) {
    floe_avro_value v = floe_avro_long(i * i * (i % 2 ? -1 : 1));
    CHECK_OK(floe_avro_writer_append(writer, &v, &err), &err);
  }
  CHECK_OK(floe_avro_writer_close(writer, &err), &err);
  uint64_t written = floe_avro_writer_bytes_written(writer);
  floe_avro_writer_free(writer);
  struct stat st;
  REQUIRE(stat(path, &st) == 0);
  CHECK_INT_EQ(st.st_size, written);
  floe_avro_reader *reader = NULL;
  REQUIRE_OK(floe_avro_reader_open_path(&reader, path, &err), &err);
  CHECK(memcmp(floe_avro_reader_sync_marker(reader), sync, 16) == 0);
  int64_t i = 0;
  for (;; i++) {
    const floe_avro_value *v;
    REQUIRE_OK(floe_avro_reader_next(reader, &v, &err), &err);
    if (v == NULL) break;
    CHECK_INT_EQ(v->u.l, i * i * (i % 2 ? -1 : 1));
  }
  CHECK_INT_EQ(i, 1000);
  CHECK(floe_avro_reader_block_count(reader) > 10);
  floe_avro_reader_free(reader);
  CHECK_INT_EQ(floe_avro_reader_open_path(&reader, "/nonexistent/x.avro", &err), FLOE_ENOTFOUND);
}

/* ------------------------------------------------------ hostile input */

/* A small file: schema "long", null codec, one block of 3 records
 * (values 1, 2, 3) and the known sync marker. */
static void small_file(floe_buf *file) {
  static const uint8_t sync[16] = "SSSSSSSSSSSSSSSS";
  floe_avro_writer_config config = {0};
  config.schema_json = "\"long\"";
  config.sync_marker = sync;
  floe_error err = {0};
  floe_avro_writer *writer = NULL;
  if (floe_avro_writer_open_buf(&writer, &config, file, &err) < 0) return;
  for (int i = 1; i <= 3; i++) {
    floe_avro_value v = floe_avro_long(i);
    floe_avro_writer_append(writer, &v, &err);
  }
  floe_avro_writer_close(writer, &err);
  floe_avro_writer_free(writer);
}

static void expect_format_error(const uint8_t *data, size_t len, const char *message_part) {
  uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches over-reads */
  memcpy(copy, data, len);
  floe_error err = {0};
  CHECK_INT_EQ(count_records(copy, len, &err), -1);
  CHECK(err.code == FLOE_EFORMAT || err.code == FLOE_EUNSUPPORTED);
  if (strstr(err.message, message_part) == NULL)
    TEST_FAIL_AT(__FILE__, __LINE__, "message '%s' lacks '%s'", err.message, message_part);
  free(copy);
}

static void test_reader_detects_corruption(void) {
  floe_buf file = FLOE_BUF_INIT;
  small_file(&file);
  REQUIRE(file.len > 40);
  size_t block = file.len - 16 - 3 - 2; /* count, size, 3 one-byte longs, sync */
  CHECK(file.data[block] == 0x06 && file.data[block + 1] == 0x06);
  floe_error err = {0};
  CHECK_INT_EQ(count_records(file.data, file.len, &err), 3);

  uint8_t *bad = malloc(file.len + 32);
  memcpy(bad, file.data, file.len);
  bad[file.len - 1] ^= 1;
  expect_format_error(bad, file.len, "wrong sync marker");

  expect_format_error(file.data, file.len - 1, "truncated");
  expect_format_error(file.data, block + 4, "truncated");

  memcpy(bad, file.data, file.len);
  bad[block] = 0x05; /* count -3 */
  expect_format_error(bad, file.len, "negative record count");

  memcpy(bad, file.data, file.len);
  bad[block + 1] = 0x7e; /* size 63 > what is left */
  expect_format_error(bad, file.len, "truncated");

  memcpy(bad, file.data, file.len);
  bad[block] = 0x0a; /* 5 records in 3 bytes */
  expect_format_error(bad, file.len, "5 records cannot fit in 3 bytes");

  memcpy(bad, file.data, file.len);
  bad[block] = 0x04; /* 2 records, one byte left over */
  expect_format_error(bad, file.len, "1 bytes left after its last record");

  memcpy(bad, file.data, file.len);
  bad[block + 4] = 0x80; /* third value's varint runs into the sync */
  expect_format_error(bad, file.len, "varint");

  memcpy(bad, file.data, file.len);
  bad[0] = 'X';
  expect_format_error(bad, file.len, "bad magic");

  /* Over-long varint in the block count. */
  memcpy(bad, file.data, block);
  memset(bad + block, 0xff, 11);
  bad[block + 11] = 0x01;
  expect_format_error(bad, block + 12, "bad varint");
  free(bad);
  floe_buf_free(&file);
}

/* Hand-built files for checks the writer would never produce. */
static void build_file(floe_buf *out, const char *schema, const char *codec,
                       const uint8_t *block, size_t block_len, int64_t count) {
  static const uint8_t sync[16] = "ZZZZZZZZZZZZZZZZ";
  floe_buf_reset(out);
  floe_buf_append(out, "Obj\x01", 4);
  floe_buf_append_zigzag(out, codec ? 2 : 1);
  floe_buf_append_zigzag(out, 11);
  floe_buf_append(out, "avro.schema", 11);
  floe_buf_append_zigzag(out, (int64_t)strlen(schema));
  floe_buf_append_str(out, schema);
  if (codec) {
    floe_buf_append_zigzag(out, 10);
    floe_buf_append(out, "avro.codec", 10);
    floe_buf_append_zigzag(out, (int64_t)strlen(codec));
    floe_buf_append_str(out, codec);
  }
  floe_buf_append_byte(out, 0);
  floe_buf_append(out, sync, 16);
  floe_buf_append_zigzag(out, count);
  floe_buf_append_zigzag(out, (int64_t)block_len);
  floe_buf_append(out, block, block_len);
  floe_buf_append(out, sync, 16);
}

static void test_reader_rejects_hostile_values(void) {
  floe_buf file = FLOE_BUF_INIT;
  /* Negative string length. */
  build_file(&file, "\"string\"", NULL, (const uint8_t *)"\x03", 1, 1);
  expect_format_error(file.data, file.len, "negative string length");
  /* String longer than the block. */
  build_file(&file, "\"string\"", NULL, (const uint8_t *)"\x10" "ab", 3, 1);
  expect_format_error(file.data, file.len, "exceeds the 2 bytes left");
  /* Absurd array count, bounded by the bytes left. */
  build_file(&file, "{\"type\":\"array\",\"items\":\"long\"}", NULL,
             (const uint8_t *)"\xfe\xff\xff\xff\x0f\x02\x00", 7, 1);
  expect_format_error(file.data, file.len, "array count 2147483647 exceeds");
  /* Array of nulls: zero-size items are capped. */
  build_file(&file, "{\"type\":\"array\",\"items\":\"null\"}", NULL,
             (const uint8_t *)"\xfe\xff\xff\xff\x0f\x00", 6, 1);
  expect_format_error(file.data, file.len, "array count");
  /* Nested arrays of nulls share one budget per record: 3 x 600000 fails. */
  floe_buf nested = FLOE_BUF_INIT;
  floe_buf_append_zigzag(&nested, 3);
  for (int i = 0; i < 3; i++) {
    floe_buf_append_zigzag(&nested, 600000);
    floe_buf_append_zigzag(&nested, 0);
  }
  floe_buf_append_zigzag(&nested, 0);
  build_file(&file, "{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"null\"}}", NULL,
             nested.data, nested.len, 1);
  expect_format_error(file.data, file.len, "array count 600000 exceeds");
  floe_buf_free(&nested);
  /* Negative block count in an array followed by its byte size (valid). */
  build_file(&file, "{\"type\":\"array\",\"items\":\"int\"}", NULL,
             (const uint8_t *)"\x03\x04\x02\x04\x00", 5, 1);
  floe_error err = {0};
  CHECK_INT_EQ(count_records(file.data, file.len, &err), 1);
  /* Union branch out of range, bad boolean, enum out of range, int overflow. */
  build_file(&file, "[\"null\",\"int\"]", NULL, (const uint8_t *)"\x04", 1, 1);
  expect_format_error(file.data, file.len, "union branch 2 out of range");
  build_file(&file, "\"boolean\"", NULL, (const uint8_t *)"\x02", 1, 1);
  expect_format_error(file.data, file.len, "bad boolean");
  build_file(&file, "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"A\"]}", NULL,
             (const uint8_t *)"\x02", 1, 1);
  expect_format_error(file.data, file.len, "index 1 out of range");
  build_file(&file, "\"int\"", NULL, (const uint8_t *)"\xff\xff\xff\xff\x1f", 5, 1);
  expect_format_error(file.data, file.len, "int longer than 32 bits");
  build_file(&file, "\"int\"", NULL, (const uint8_t *)"\xfe\xff\xff\xff\x0f", 5, 1);
  CHECK_INT_EQ(count_records(file.data, file.len, &err), 1);
  /* Deep nesting through a recursive type: refused at the limit. */
  uint8_t deep[200];
  for (int i = 0; i < 199; i++) deep[i] = 0x02; /* branch 1 = List again */
  deep[199] = 0x00;
  build_file(&file,
             "{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"n\",\"type\":[\"null\",\"L\"]}]}",
             NULL, deep, sizeof deep, 1);
  expect_format_error(file.data, file.len, "nested deeper than 64");
  /* Unknown codec; corrupt deflate; snappy CRC mismatch. */
  build_file(&file, "\"int\"", "bzip2", (const uint8_t *)"\x02", 1, 1);
  expect_format_error(file.data, file.len, "codec 'bzip2' is not supported");
  build_file(&file, "\"int\"", "deflate", (const uint8_t *)"\xff\xff\xff", 3, 1);
  expect_format_error(file.data, file.len, "block 1");
  build_file(&file, "\"int\"", "snappy", (const uint8_t *)"\x01\x00\x02\x00\x00\x00\x00", 7, 1);
  expect_format_error(file.data, file.len, "snappy CRC32 mismatch");
  /* An empty zstd frame (content size 0) holding zero records: valid
   * (found by the fuzzer: it once passed NULL + 0 to the codec). */
  uint8_t frame[64];
  size_t frame_len = ZSTD_compress(frame, sizeof frame, "", 0, 3);
  REQUIRE(!ZSTD_isError(frame_len));
  build_file(&file, "\"int\"", "zstandard", frame, frame_len, 0);
  CHECK_INT_EQ(count_records(file.data, file.len, &err), 0);
  /* Missing schema. */
  floe_buf_reset(&file);
  floe_buf_append(&file, "Obj\x01\x00" "0123456789abcdef", 21);
  expect_format_error(file.data, file.len, "no avro.schema");
  floe_buf_free(&file);
}

/* Every prefix of a valid multi-block compressed file is rejected or read
 * cleanly: never a crash or an over-read (run under ASan). */
static void test_reader_every_truncation_is_clean(void) {
  floe_error err = {0};
  floe_buf file = FLOE_BUF_INIT;
  REQUIRE_OK(write_samples(&file, FLOE_AVRO_CODEC_SNAPPY, 40, 1500, &err), &err);
  int full_reads = 0;
  for (size_t len = 0; len <= file.len; len++) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, file.data, len);
    long n = count_records(copy, len, &err);
    if (n == 40) full_reads++;
    free(copy);
  }
  CHECK_INT_EQ(full_reads, 1);
  /* Flipping each byte must not crash either. */
  for (size_t i = 0; i < file.len; i += 3) {
    uint8_t *copy = malloc(file.len);
    memcpy(copy, file.data, file.len);
    copy[i] ^= 0x5a;
    (void)count_records(copy, file.len, &err);
    free(copy);
  }
  floe_buf_free(&file);
}

/* ------------------------------------------------ allocation failures */

static void test_allocation_failures_are_clean(void) {
  floe_error err = {0};
  floe_buf good = FLOE_BUF_INIT;
  REQUIRE_OK(write_samples(&good, FLOE_AVRO_CODEC_DEFLATE, 30, 800, &err), &err);
  int failures_seen = 0;
  for (long n = 1; n < 400; n++) {
    floe_buf file = FLOE_BUF_INIT;
    floe_alloc_fail_after(n);
    int rc = write_samples(&file, FLOE_AVRO_CODEC_DEFLATE, 30, 800, &err);
    long records = rc == 0 ? count_records(file.data, file.len, &err) : -1;
    floe_alloc_fail_after(0);
    if (rc == 0 && records == 30) {
      CHECK(file.len == good.len);
    } else {
      failures_seen++;
      CHECK(err.code == FLOE_ENOMEM);
    }
    floe_buf_free(&file);
  }
  CHECK(failures_seen > 10);
  floe_buf_free(&good);
}

int main(void) {
  RUN(test_golden_weather_null_codec);
  RUN(test_golden_weather_deflate);
  RUN(test_golden_weather_snappy_with_crc);
  RUN(test_golden_weather_zstandard);
  RUN(test_golden_weather_sorted);
  RUN(test_golden_schemas_simple);
  RUN(test_golden_schemas_with_union);
  RUN(test_golden_sync_in_meta_6001_records);
  RUN(test_golden_weather_schema_and_values);
  RUN(test_iceberg_manifests_decode_with_header_keys);
  RUN(test_iceberg_manifest_values_match_expected);
  RUN(test_encoding_matches_spec_vectors);
  RUN(test_schema_keeps_iceberg_attributes);
  RUN(test_schema_recursive_type);
  RUN(test_schema_rejects_invalid);
  RUN(test_round_trip_null_codec_many_blocks);
  RUN(test_round_trip_deflate_many_blocks);
  RUN(test_round_trip_snappy);
  RUN(test_round_trip_zstd_many_blocks);
  RUN(test_round_trip_empty_file);
  RUN(test_round_trip_json_rendering);
  RUN(test_json_strings_doubles_and_invalid_utf8);
  RUN(test_writer_validation_names_field_path);
  RUN(test_writer_rejects_reserved_metadata_and_bad_schema);
  RUN(test_writer_path_and_fixed_sync_marker);
  RUN(test_reader_detects_corruption);
  RUN(test_reader_rejects_hostile_values);
  RUN(test_reader_every_truncation_is_clean);
  RUN(test_allocation_failures_are_clean);
  return test_report();
}
