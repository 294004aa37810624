/*
 * tests/tools/avro_sample: `avro_sample OUT_DIR` writes Avro container files
 * with floe's writer for the interop tests (avsc decodes them), and beside
 * each FILE a FILE.expected.json:
 *
 *   {"records": [...], "metadata": {"key": "utf-8 text" | {"hex": "..."}}}
 *
 * Records are shown as avsc decodes them after JSON.stringify-like shaping:
 * unions by value (every union here is one avsc leaves unwrapped), enums by
 * symbol, maps as objects, bytes and fixed as one code point per byte
 * (latin1), NaN and infinities as strings, longs as numbers when they are
 * safe JavaScript integers and as decimal strings otherwise. "metadata"
 * lists every header entry floe was asked to write plus avro.schema (the
 * exact schema text) and avro.codec.
 *
 * Files: all_types-{null,deflate,snappy,zstandard}.avro (every Avro type,
 * nested records, arrays, maps and unions, edge values, Iceberg field-id
 * attributes and Iceberg-style header keys, many blocks),
 * manifest_entry.avro (an Iceberg v2 manifest shape) and empty.avro.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "floe.h"

/* ------------------------------------------------------- JSON output */

static int put_value(floe_buf *out, const floe_avro_node *node, const floe_avro_value *v,
                     floe_error *err);

static const floe_avro_node *branch_of(const floe_avro_node *u, const floe_avro_value *v) {
  if (v->branch >= 0) return u->branches[v->branch];
  for (size_t i = 0; i < u->branch_count; i++)
    if (u->branches[i]->type == v->type) return u->branches[i];
  return NULL;
}

static int put_value(floe_buf *out, const floe_avro_node *node, const floe_avro_value *v,
                     floe_error *err) {
  int rc;
  if (node->type == FLOE_AVRO_UNION) node = branch_of(node, v);
  if (node == NULL) return floe_error_set(err, FLOE_EINVAL, "no union branch");
  switch (node->type) {
    case FLOE_AVRO_LONG: {
      /* JavaScript numbers are exact up to 2^53 - 1. */
      int64_t safe = ((int64_t)1 << 53) - 1;
      if (v->u.l >= -safe && v->u.l <= safe)
        return floe_buf_appendf(out, "%lld", (long long)v->u.l);
      return floe_buf_appendf(out, "\"%lld\"", (long long)v->u.l);
    }
    case FLOE_AVRO_RECORD:
      floe_buf_append_byte(out, '{');
      for (size_t i = 0; i < node->field_count; i++) {
        floe_buf_appendf(out, "%s\"%s\":", i ? "," : "", node->fields[i].name);
        if ((rc = put_value(out, node->fields[i].type, &v->u.record.fields[i], err)) < 0) return rc;
      }
      return floe_buf_append_byte(out, '}');
    case FLOE_AVRO_ARRAY:
      floe_buf_append_byte(out, '[');
      for (size_t i = 0; i < v->u.array.count; i++) {
        if (i) floe_buf_append_byte(out, ',');
        if ((rc = put_value(out, node->items, &v->u.array.items[i], err)) < 0) return rc;
      }
      return floe_buf_append_byte(out, ']');
    case FLOE_AVRO_MAP:
      floe_buf_append_byte(out, '{');
      for (size_t i = 0; i < v->u.map.count; i++) {
        /* Keys here are plain ASCII without escapes. */
        floe_buf_appendf(out, "%s\"%.*s\":", i ? "," : "", (int)v->u.map.entries[i].key_len,
                         v->u.map.entries[i].key);
        if ((rc = put_value(out, node->values, &v->u.map.entries[i].value, err)) < 0) return rc;
      }
      return floe_buf_append_byte(out, '}');
    default: return floe_avro_value_to_json(node, v, out, err);
  }
}

static void put_text(floe_buf *out, const uint8_t *s, size_t len) {
  floe_buf_append_byte(out, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\')
      floe_buf_appendf(out, "\\%c", s[i]);
    else if (s[i] < 0x20)
      floe_buf_appendf(out, "\\u%04x", s[i]);
    else
      floe_buf_append_byte(out, s[i]);
  }
  floe_buf_append_byte(out, '"');
}

/* ------------------------------------------------------------ files */

typedef struct sample_file {
  const char *dir;
  const char *name;
  const char *schema;
  floe_avro_codec codec;
  size_t block_size;
  const floe_avro_metadata *metadata;
  size_t metadata_count;
  const uint8_t *binary_keys; /* metadata_count flags: 1 = write as hex */
} sample_file;

typedef floe_avro_value (*make_fn)(void *scratch, int i);

static int write_file(const sample_file *f, make_fn make, void *scratch, int count,
                      floe_error *err) {
  int rc = FLOE_OK;
  char path[4096], expected_path[4200];
  snprintf(path, sizeof path, "%s/%s", f->dir, f->name);
  snprintf(expected_path, sizeof expected_path, "%s.expected.json", path);
  floe_avro_writer *writer = NULL;
  floe_buf json = FLOE_BUF_INIT;
  FILE *out = NULL;
  floe_avro_writer_config config = {0};
  config.schema_json = f->schema;
  config.codec = f->codec;
  config.block_size = f->block_size;
  config.metadata = f->metadata;
  config.metadata_count = f->metadata_count;
  FLOE_TRY(floe_avro_writer_open_path(&writer, &config, path, err));
  const floe_avro_node *root = floe_avro_schema_root(floe_avro_writer_schema(writer));
  floe_buf_append_str(&json, "{\"records\":[\n");
  for (int i = 0; i < count; i++) {
    floe_avro_value record = make(scratch, i);
    FLOE_TRY(floe_avro_writer_append(writer, &record, err));
    if (i) floe_buf_append_str(&json, ",\n");
    FLOE_TRY(put_value(&json, root, &record, err));
  }
  FLOE_TRY(floe_avro_writer_close(writer, err));
  floe_buf_append_str(&json, "\n],\n\"metadata\":{\"avro.schema\":");
  put_text(&json, (const uint8_t *)f->schema, strlen(f->schema));
  floe_buf_appendf(&json, ",\"avro.codec\":\"%s\"", floe_avro_codec_name(f->codec));
  for (size_t i = 0; i < f->metadata_count; i++) {
    const floe_avro_metadata *m = &f->metadata[i];
    floe_buf_appendf(&json, ",\n\"%s\":", m->key);
    if (f->binary_keys != NULL && f->binary_keys[i]) {
      floe_buf_append_str(&json, "{\"hex\":\"");
      for (size_t k = 0; k < m->value_len; k++) floe_buf_appendf(&json, "%02x", m->value[k]);
      floe_buf_append_str(&json, "\"}");
    } else {
      put_text(&json, m->value, m->value_len);
    }
  }
  if (floe_buf_append_str(&json, "}}\n") < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  out = fopen(expected_path, "wb");
  if (out == NULL || fwrite(json.data, 1, json.len, out) != json.len) {
    rc = floe_error_errno(err, errno, "write %s", expected_path);
    goto cleanup;
  }
cleanup:
  if (out != NULL && fclose(out) != 0 && rc == 0) rc = floe_error_errno(err, errno, "close %s", expected_path);
  if (rc < 0) floe_error_prefix(err, "%s", path);
  floe_avro_writer_free(writer);
  floe_buf_free(&json);
  return rc;
}

/* ------------------------------------------------ all_types samples */

static const char *all_types_schema =
    "{\"type\":\"record\",\"name\":\"all_types\",\"namespace\":\"floe.sample\",\"doc\":\"every Avro type\","
    "\"fields\":["
    "{\"name\":\"n\",\"type\":\"null\",\"field-id\":1},"
    "{\"name\":\"b\",\"type\":\"boolean\",\"field-id\":2},"
    "{\"name\":\"i\",\"type\":\"int\",\"field-id\":3},"
    "{\"name\":\"l\",\"type\":\"long\",\"field-id\":4},"
    "{\"name\":\"f\",\"type\":\"float\",\"field-id\":5},"
    "{\"name\":\"d\",\"type\":\"double\",\"field-id\":6},"
    "{\"name\":\"by\",\"type\":\"bytes\",\"field-id\":7},"
    "{\"name\":\"s\",\"type\":\"string\",\"field-id\":8},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"color\",\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]},\"field-id\":9},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"fixed5\",\"size\":5},\"field-id\":10},"
    "{\"name\":\"dec\",\"type\":{\"type\":\"fixed\",\"name\":\"decimal_9_2\",\"size\":4,\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2},\"field-id\":11},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"},\"field-id\":12},"
    "{\"name\":\"ts\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-micros\",\"adjust-to-utc\":true}],\"default\":null,\"field-id\":13},"
    "{\"name\":\"opt_s\",\"type\":[\"null\",\"string\"],\"default\":null,\"field-id\":14},"
    "{\"name\":\"mixed\",\"type\":[\"null\",\"string\",\"long\",\"boolean\"],\"field-id\":15},"
    "{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"items\":\"int\",\"element-id\":17},\"field-id\":16},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"double\"],\"key-id\":19,\"value-id\":20},\"field-id\":18},"
    "{\"name\":\"kv\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{\"type\":\"record\",\"name\":\"k22_v23\","
    "\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":22},{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":23}]}}],\"field-id\":21},"
    "{\"name\":\"nested\",\"type\":{\"type\":\"record\",\"name\":\"inner\",\"fields\":["
    "{\"name\":\"grid\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"long\"}},\"field-id\":25},"
    "{\"name\":\"by_name\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"record\",\"name\":\"leaf\",\"fields\":["
    "{\"name\":\"c\",\"type\":\"color\",\"field-id\":27},{\"name\":\"u\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"uuid16\",\"size\":16,\"logicalType\":\"uuid\"}],\"field-id\":28}]}},\"field-id\":26},"
    "{\"name\":\"again\",\"type\":[\"null\",\"leaf\"],\"field-id\":29}]},\"field-id\":24}"
    "]}";

typedef struct all_types_scratch {
  floe_avro_value fields[19], arr[5], m_values[3], kv[3], kv_fields[3][2];
  floe_avro_value nested[3], grid[3], grid_items[3][3], leaf[2], leaf_fields[2][2];
  floe_avro_map_entry m[3], by_name[2];
  uint8_t bytes[256], fixed[5], dec[4], uuid[2][16], kv_bytes[3][3];
  char text[128];
} all_types_scratch;

static floe_avro_value make_all_types(void *p, int i) {
  all_types_scratch *s = p;
  static const int32_t ints[] = {0, 1, -1, INT32_MAX, INT32_MIN, 1000000, -77};
  static const int64_t longs[] = {0, 1, -1, INT64_MAX, INT64_MIN, 9007199254740991LL,
                                  9007199254740993LL, -9007199254740993LL, 1234567890123LL};
  static const double doubles[] = {0.0, -0.0, 1.5, -2.25e-300, 1e300, 3.141592653589793,
                                   0.1, 5e-324};
  static const char *const texts[] = {"", "hello", "h\xc3\xa9llo w\xc3\xb6rld", "\xe6\x97\xa5\xe6\x9c\xac",
                                      "emoji \xf0\x9f\x98\x80", "quote \" backslash \\ tab\t nl\n"};
  for (int k = 0; k < 256; k++) s->bytes[k] = (uint8_t)(k + i);
  for (int k = 0; k < 5; k++) s->fixed[k] = (uint8_t)(i * 31 + k * 7);
  int32_t cents = (i % 2 ? -1 : 1) * i * 12345;
  for (int k = 0; k < 4; k++) s->dec[k] = (uint8_t)((uint32_t)cents >> (8 * (3 - k)));
  s->fields[0] = floe_avro_null();
  s->fields[1] = floe_avro_boolean(i % 3 == 0);
  s->fields[2] = floe_avro_int(ints[i % 7] ^ (i / 7));
  s->fields[3] = floe_avro_long(longs[i % 9]);
  float floats[] = {0.0f, 1.1f, -3.5f, 3.4028235e38f, 1e-45f, (float)i / 3.0f};
  s->fields[4] = i == 5 ? floe_avro_float(NAN) : floe_avro_float(floats[i % 6]);
  double d = doubles[i % 8];
  if (i == 8) d = INFINITY;
  if (i == 16) d = -INFINITY;
  if (i == 24) d = NAN;
  s->fields[5] = floe_avro_double(d);
  s->fields[6] = floe_avro_bytes(s->bytes, (size_t)(i % 4 == 0 ? 256 : i % 17));
  snprintf(s->text, sizeof s->text, "%s #%d", texts[i % 6], i);
  s->fields[7] = i % 13 == 0 ? floe_avro_string("") : floe_avro_string(s->text);
  s->fields[8] = floe_avro_enum(i % 3);
  s->fields[9] = floe_avro_fixed(s->fixed, 5);
  s->fields[10] = floe_avro_fixed(s->dec, 4);
  s->fields[11] = floe_avro_int(-719162 + i * 1000); /* from 0001-01-01 */
  s->fields[12] = i % 4 == 1 ? floe_avro_null() : floe_avro_long(1700000000000000LL + i);
  s->fields[13] = i % 2 ? floe_avro_null() : floe_avro_string(texts[i % 6]);
  switch (i % 4) {
    case 0: s->fields[14] = floe_avro_null(); break;
    case 1: s->fields[14] = floe_avro_string("mixed"); break;
    case 2: s->fields[14] = floe_avro_long(-(int64_t)i * 100000000000LL); break;
    default: s->fields[14] = floe_avro_boolean(1); break;
  }
  size_t narr = (size_t)(i % 6);
  for (size_t k = 0; k < narr && k < 5; k++) s->arr[k] = floe_avro_int((int32_t)(k * 1000 - (size_t)i));
  s->fields[15] = floe_avro_array(s->arr, narr > 5 ? 5 : narr);
  static const char *const keys[] = {"alpha", "beta", "gamma"};
  size_t nm = (size_t)(i % 4);
  for (size_t k = 0; k < nm; k++) {
    s->m_values[k] = k == 1 ? floe_avro_null() : floe_avro_double((double)i / (double)(k + 1));
    s->m[k] = (floe_avro_map_entry){keys[k], strlen(keys[k]), s->m_values[k]};
  }
  s->fields[16] = floe_avro_map(s->m, nm);
  for (int k = 0; k < 3; k++) {
    for (int b = 0; b < 3; b++) s->kv_bytes[k][b] = (uint8_t)(0xF0 + k + b + i);
    s->kv_fields[k][0] = floe_avro_int(k + 1);
    s->kv_fields[k][1] = floe_avro_bytes(s->kv_bytes[k], 3);
    s->kv[k] = floe_avro_record(s->kv_fields[k], 2);
  }
  s->fields[17] = i % 5 == 0 ? floe_avro_null() : floe_avro_array(s->kv, (size_t)(i % 4));
  for (int r = 0; r < 3; r++) {
    for (int c = 0; c < 3; c++) s->grid_items[r][c] = floe_avro_long((int64_t)(r * 3 + c) * i - 4);
    s->grid[r] = floe_avro_array(s->grid_items[r], (size_t)((r + i) % 4 > 3 ? 3 : (r + i) % 4));
  }
  for (int k = 0; k < 2; k++) {
    for (int b = 0; b < 16; b++) s->uuid[k][b] = (uint8_t)(b * 16 + k + i);
    s->leaf_fields[k][0] = floe_avro_enum((i + k) % 3);
    s->leaf_fields[k][1] = (i + k) % 3 == 0 ? floe_avro_null() : floe_avro_fixed(s->uuid[k], 16);
    s->leaf[k] = floe_avro_record(s->leaf_fields[k], 2);
  }
  s->by_name[0] = (floe_avro_map_entry){"first", 5, s->leaf[0]};
  s->by_name[1] = (floe_avro_map_entry){"second", 6, s->leaf[1]};
  s->nested[0] = floe_avro_array(s->grid, (size_t)(i % 3 + 1));
  s->nested[1] = floe_avro_map(s->by_name, (size_t)(i % 3));
  s->nested[2] = i % 2 ? s->leaf[1] : floe_avro_null();
  s->fields[18] = floe_avro_record(s->nested, 3);
  return floe_avro_record(s->fields, 19);
}

/* ------------------------------------------------- manifest_entry sample */

static const char *manifest_schema =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
    "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":4},"
    "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"doc\":\"Contents of the file: 0=data, 1=position deletes, 2=equality deletes\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"doc\":\"Location URI with FS scheme\",\"field-id\":100},"
    "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
    "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":["
    "{\"name\":\"event_day\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}],\"default\":null,\"field-id\":1000}]},\"doc\":\"Partition data tuple, schema based on the partition spec\",\"field-id\":102},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
    "{\"name\":\"column_sizes\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"k117_v118\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":117},{\"name\":\"value\",\"type\":\"long\",\"field-id\":118}]},\"logicalType\":\"map\"}],\"default\":null,\"field-id\":108},"
    "{\"name\":\"lower_bounds\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"k126_v127\",\"fields\":["
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":126},{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":127}]},\"logicalType\":\"map\"}],\"default\":null,\"field-id\":125},"
    "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\",\"element-id\":133}],\"default\":null,\"field-id\":132},"
    "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140}]},\"field-id\":2}]}";

typedef struct manifest_scratch {
  floe_avro_value entry[5], df[11], partition[1], sizes[2], size_fields[2][2], bounds[2],
      bound_fields[2][2], offsets[2];
  uint8_t bound_bytes[2][8];
  char path[160];
} manifest_scratch;

static floe_avro_value make_manifest_entry(void *p, int i) {
  manifest_scratch *s = p;
  snprintf(s->path, sizeof s->path,
           "s3://warehouse/db/events/data/event_day=2024-01-%02d/00000-%d-6c1f1f4e-5b1e-4a8e-9b3c-1234567890ab.parquet",
           i % 28 + 1, i);
  s->entry[0] = floe_avro_int(1);
  s->entry[1] = floe_avro_long(6247215453669530946LL);
  s->entry[2] = floe_avro_null();
  s->entry[3] = floe_avro_null();
  s->df[0] = floe_avro_int(0);
  s->df[1] = floe_avro_string(s->path);
  s->df[2] = floe_avro_string("PARQUET");
  s->partition[0] = i % 7 == 6 ? floe_avro_null() : floe_avro_int(19723 + i % 28);
  s->df[3] = floe_avro_record(s->partition, 1);
  s->df[4] = floe_avro_long(1000 + i);
  s->df[5] = floe_avro_long(4096 + 17 * i);
  for (int k = 0; k < 2; k++) {
    s->size_fields[k][0] = floe_avro_int(k + 1);
    s->size_fields[k][1] = floe_avro_long(100 * (k + 1) + i);
    s->sizes[k] = floe_avro_record(s->size_fields[k], 2);
    for (int b = 0; b < 8; b++) s->bound_bytes[k][b] = (uint8_t)(k == 0 && b == 0 ? i : (b == 7 && k ? 0x80 : 0));
    s->bound_fields[k][0] = floe_avro_int(k + 1);
    s->bound_fields[k][1] = floe_avro_bytes(s->bound_bytes[k], k == 0 ? 4 : 8);
    s->bounds[k] = floe_avro_record(s->bound_fields[k], 2);
    s->offsets[k] = floe_avro_long(4 + k * 1048576);
  }
  s->df[6] = floe_avro_array(s->sizes, 2);
  s->df[7] = i % 3 == 2 ? floe_avro_null() : floe_avro_array(s->bounds, 2);
  s->df[8] = floe_avro_array(s->offsets, (size_t)(i % 2 + 1));
  s->df[9] = floe_avro_int(0);
  s->entry[4] = floe_avro_record(s->df, 10);
  return floe_avro_record(s->entry, 5);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: avro_sample OUT_DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "avro_sample: mkdir %s: %s\n", dir, strerror(errno));
    return 1;
  }
  static const uint8_t binary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 'O', 'b', 'j', 0x01, 0x00};
  const char *iceberg_schema =
      "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"i\",\"required\":true,\"type\":\"int\"}]}";
  const char *spec = "[{\"name\":\"event_day\",\"transform\":\"day\",\"source-id\":3,\"field-id\":1000}]";
  floe_avro_metadata meta[] = {
      {"schema", (const uint8_t *)iceberg_schema, strlen(iceberg_schema)},
      {"schema-id", (const uint8_t *)"0", 1},
      {"partition-spec", (const uint8_t *)spec, strlen(spec)},
      {"partition-spec-id", (const uint8_t *)"0", 1},
      {"format-version", (const uint8_t *)"2", 1},
      {"content", (const uint8_t *)"data", 4},
      {"iceberg.schema", (const uint8_t *)iceberg_schema, strlen(iceberg_schema)},
      {"binary.bytes", binary, sizeof binary},
      {"empty", (const uint8_t *)"", 0},
      {"utf8 \xc3\xa9", (const uint8_t *)"\xe2\x9c\x93", 3},
  };
  static const uint8_t binary_flags[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
  floe_error err = {0};
  int rc = 0;
  static const floe_avro_codec codecs[] = {FLOE_AVRO_CODEC_NULL, FLOE_AVRO_CODEC_DEFLATE,
                                           FLOE_AVRO_CODEC_SNAPPY, FLOE_AVRO_CODEC_ZSTD};
  all_types_scratch *all = calloc(1, sizeof *all);
  manifest_scratch *man = calloc(1, sizeof *man);
  if (all == NULL || man == NULL) {
    fprintf(stderr, "avro_sample: out of memory\n");
    return 1;
  }
  for (size_t c = 0; c < 4 && rc == 0; c++) {
    char name[64];
    snprintf(name, sizeof name, "all_types-%s.avro", floe_avro_codec_name(codecs[c]));
    sample_file f = {dir, name, all_types_schema, codecs[c], 2048, meta, 10, binary_flags};
    rc = write_file(&f, make_all_types, all, 200, &err);
  }
  if (rc == 0) {
    sample_file f = {dir, "manifest_entry.avro", manifest_schema, FLOE_AVRO_CODEC_DEFLATE, 0,
                     meta, 7, NULL};
    rc = write_file(&f, make_manifest_entry, man, 50, &err);
  }
  if (rc == 0) {
    sample_file f = {dir, "empty.avro", "\"string\"", FLOE_AVRO_CODEC_ZSTD, 0, NULL, 0, NULL};
    rc = write_file(&f, make_all_types, all, 0, &err);
  }
  free(all);
  free(man);
  if (rc < 0) {
    fprintf(stderr, "avro_sample: %s\n", err.message);
    return 1;
  }
  return 0;
}
