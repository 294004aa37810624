/*
 * tests/tools/manifest_sample: `manifest_sample OUT_DIR` writes, with floe's
 * manifest writers, the Iceberg files the avsc interop test decodes:
 *
 *   data-m0.avro     a v2 data manifest, partitioned by identity decimal(9,2),
 *                    date, timestamp, string, uuid and decimal(20,3),
 *                    bucket[8] and day; one ADDED entry with metrics and one
 *                    EXISTING entry with nulls and non-ASCII text
 *   deletes-m1.avro  a v2 delete manifest: a position-delete file with a
 *                    referenced data file and an equality-delete file
 *   snap.avro        the v2 manifest list of both (sequence number 3)
 *
 * Beside each FILE, FILE.expected.json holds {"metadata": {key: text},
 * "records": [...]}: the header values asked for and the records as avsc
 * decodes them (unions by value, longs as exact integers, bytes and fixed
 * as one code point per byte). The records are rendered here from the
 * tool's own inputs and hand-computed partition summaries, not by reading
 * the files back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "floe/buffer.h"
#include "floe/io.h"
#include "floe/manifest.h"

#define SNAPSHOT_ID INT64_C(4242424242424242424)

/* ---------------------------------------------------------- JSON out */

static void put_bytes(floe_buf *b, const uint8_t *data, size_t len) {
  floe_buf_append_str(b, "\"");
  for (size_t i = 0; i < len; i++) floe_buf_appendf(b, "\\u%04x", data[i]);
  floe_buf_append_str(b, "\"");
}

static void put_string(floe_buf *b, const char *s) {
  floe_buf_append_str(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') floe_buf_appendf(b, "\\%c", *p);
    else if (*p < 0x20) floe_buf_appendf(b, "\\u%04x", *p);
    else floe_buf_append_byte(b, *p);
  }
  floe_buf_append_str(b, "\"");
}

static void put_opt_long(floe_buf *b, bool has, int64_t v) {
  if (has) floe_buf_appendf(b, "%" PRId64, v);
  else floe_buf_append_str(b, "null");
}

/* ----------------------------------------------------------- samples */

static floe_iceberg_value ival(int32_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i32 = x;
  return v;
}
static floe_iceberg_value lval(int64_t x) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.i64 = x;
  return v;
}
static floe_iceberg_value dval(int64_t unscaled) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.v.dec = unscaled;
  return v;
}
static floe_iceberg_value bval(const void *data, size_t len) {
  floe_iceberg_value v = floe_iceberg_null_value();
  v.is_null = false;
  v.bytes = data;
  v.len = len;
  return v;
}

static const uint8_t uuid_bytes[16] = {0x12, 0x15, 0x1f, 0xd2, 0x75, 0x86, 0x11, 0xe9,
                                       0x8f, 0x9e, 0x2a, 0x86, 0xe4, 0x08, 0x5a, 0x59};
static const char *names[2] = {"berlin", "\xc3\xbc" "n\xc3\xaf" "code \xe2\x9c\x93"};

/* The Avro (fixed) bytes of each sample's partition values, by hand:
 * decimal(9,2) is 4 bytes, decimal(20,3) 9 bytes (Iceberg spec: Avro,
 * minimal fixed size for the precision). */
static const uint8_t price_a[4] = {0x00, 0x00, 0x05, 0x8c};                 /* 14.20 */
static const uint8_t amount_a[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x1d, 0xc0}; /* -123.456 */
static const uint8_t amount_b[9] = {0};                                     /* 0.000 */

static int write_json(const char *path, floe_buf *json) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  size_t n = fwrite(json->data, 1, json->len, f);
  return fclose(f) == 0 && n == json->len ? 0 : -1;
}

static void put_partition(floe_buf *b, int which) {
  if (which == 0) {
    floe_buf_append_str(b, "{\"price\":");
    put_bytes(b, price_a, 4);
    floe_buf_appendf(b, ",\"d\":19000,\"ts\":1700000000000000,\"name\":");
    put_string(b, names[0]);
    floe_buf_append_str(b, ",\"id_bucket\":5,\"u\":");
    put_bytes(b, uuid_bytes, 16);
    floe_buf_append_str(b, ",\"tstz_day\":19500,\"amount\":");
    put_bytes(b, amount_a, 9);
    floe_buf_append_str(b, "}");
  } else {
    floe_buf_append_str(b, "{\"price\":null,\"d\":18000,\"ts\":null,\"name\":");
    put_string(b, names[1]);
    floe_buf_append_str(b, ",\"id_bucket\":0,\"u\":null,\"tstz_day\":null,\"amount\":");
    put_bytes(b, amount_b, 9);
    floe_buf_append_str(b, "}");
  }
}

/* One data_file record as avsc decodes it (v2 field order). */
static void put_data_file(floe_buf *b, const floe_iceberg_content_file *f, int partition) {
  floe_buf_appendf(b, "{\"content\":%d,\"file_path\":", (int)f->content);
  put_string(b, f->file_path);
  floe_buf_append_str(b, ",\"file_format\":");
  put_string(b, f->file_format);
  floe_buf_append_str(b, ",\"partition\":");
  if (partition >= 0) put_partition(b, partition);
  else floe_buf_append_str(b, "{}");
  floe_buf_appendf(b, ",\"record_count\":%" PRId64 ",\"file_size_in_bytes\":%" PRId64,
                   f->record_count, f->file_size_in_bytes);
  static const char *maps[6] = {"column_sizes", "value_counts", "null_value_counts",
                                "nan_value_counts", "lower_bounds", "upper_bounds"};
  for (int m = 0; m < 6; m++) {
    floe_buf_appendf(b, ",\"%s\":", maps[m]);
    if (f->n_columns == 0) {
      floe_buf_append_str(b, "null");
      continue;
    }
    floe_buf_append_str(b, "[");
    bool first = true;
    for (int32_t i = 0; i < f->n_columns; i++) {
      const floe_iceberg_column_metrics *c = &f->columns[i];
      bool has = m == 0 ? c->has_column_size : m == 1 ? c->has_value_count
                 : m == 2 ? c->has_null_count : m == 3 ? c->has_nan_count
                 : m == 4 ? c->lower_bound != NULL : c->upper_bound != NULL;
      if (!has) continue;
      floe_buf_appendf(b, "%s{\"key\":%" PRId32 ",\"value\":", first ? "" : ",", c->field_id);
      if (m == 4) put_bytes(b, c->lower_bound, c->lower_bound_len);
      else if (m == 5) put_bytes(b, c->upper_bound, c->upper_bound_len);
      else
        floe_buf_appendf(b, "%" PRId64, m == 0 ? c->column_size : m == 1 ? c->value_count
                                        : m == 2 ? c->null_count : c->nan_count);
      floe_buf_append_str(b, "}");
      first = false;
    }
    floe_buf_append_str(b, "]");
  }
  floe_buf_append_str(b, ",\"key_metadata\":");
  if (f->key_metadata) put_bytes(b, f->key_metadata, f->key_metadata_len);
  else floe_buf_append_str(b, "null");
  floe_buf_append_str(b, ",\"split_offsets\":");
  if (f->split_offsets) {
    floe_buf_append_str(b, "[");
    for (int32_t i = 0; i < f->n_split_offsets; i++)
      floe_buf_appendf(b, "%s%" PRId64, i ? "," : "", f->split_offsets[i]);
    floe_buf_append_str(b, "]");
  } else {
    floe_buf_append_str(b, "null");
  }
  floe_buf_append_str(b, ",\"equality_ids\":");
  if (f->equality_ids) {
    floe_buf_append_str(b, "[");
    for (int32_t i = 0; i < f->n_equality_ids; i++)
      floe_buf_appendf(b, "%s%" PRId32, i ? "," : "", f->equality_ids[i]);
    floe_buf_append_str(b, "]");
  } else {
    floe_buf_append_str(b, "null");
  }
  floe_buf_append_str(b, ",\"sort_order_id\":");
  put_opt_long(b, f->has_sort_order_id, f->sort_order_id);
  floe_buf_append_str(b, ",\"referenced_data_file\":");
  if (f->referenced_data_file) put_string(b, f->referenced_data_file);
  else floe_buf_append_str(b, "null");
  floe_buf_append_str(b, "}");
}

static void put_entry(floe_buf *b, const floe_manifest_entry *e, int partition, bool first) {
  bool added = e->status == FLOE_ENTRY_ADDED;
  floe_buf_appendf(b, "%s{\"status\":%d,\"snapshot_id\":%" PRId64 ",\"sequence_number\":",
                   first ? "" : ",", (int)e->status,
                   added ? SNAPSHOT_ID : e->snapshot_id);
  put_opt_long(b, !added, e->sequence_number);
  floe_buf_append_str(b, ",\"file_sequence_number\":");
  put_opt_long(b, !added, e->file_sequence_number);
  floe_buf_append_str(b, ",\"data_file\":");
  put_data_file(b, &e->file, partition);
  floe_buf_append_str(b, "}");
}

static void put_manifest_meta(floe_buf *b, const char *schema_json, const char *spec_json,
                              const char *spec_id, const char *content) {
  floe_buf_append_str(b, "\"metadata\":{\"schema\":");
  put_string(b, schema_json);
  floe_buf_append_str(b, ",\"schema-id\":\"0\",\"partition-spec\":");
  put_string(b, spec_json);
  floe_buf_appendf(b, ",\"partition-spec-id\":\"%s\",\"format-version\":\"2\","
                      "\"content\":\"%s\",\"avro.codec\":\"deflate\"}",
                   spec_id, content);
}

static int fail(const char *what, const floe_error *err) {
  fprintf(stderr, "manifest_sample: %s: %s\n", what, err->message);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: manifest_sample OUT_DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "manifest_sample: mkdir %s: %s\n", dir, strerror(errno));
    return 1;
  }
  floe_error err = {0};
  floe_io *io = NULL;
  floe_io_local_options io_options = {0};
  if (floe_io_local_open(&io_options, &io, &err) != 0) return fail("io", &err);

  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "price", false, floe_iceberg_decimal(9, 2), NULL},
      {3, "d", false, floe_iceberg_type_of(FLOE_ICEBERG_DATE), NULL},
      {4, "ts", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP), NULL},
      {5, "name", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {6, "u", false, floe_iceberg_type_of(FLOE_ICEBERG_UUID), NULL},
      {7, "tstz", false, floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMPTZ), NULL},
      {8, "amount", false, floe_iceberg_decimal(20, 3), NULL},
  };
  floe_iceberg_schema *schema = NULL;
  floe_iceberg_partition_spec *spec = NULL, *unpartitioned = NULL;
  if (floe_iceberg_schema_new(&schema, 0, cols, 8, &err) != 0) return fail("schema", &err);
  if (floe_iceberg_partition_spec_new(&spec, 1, &err) != 0 ||
      floe_iceberg_partition_spec_new(&unpartitioned, 0, &err) != 0)
    return fail("spec", &err);
  static const char *fields[8][2] = {{"price", "identity"}, {"d", "identity"},
                                     {"ts", "identity"},    {"name", "identity"},
                                     {"id", "bucket[8]"},   {"u", "identity"},
                                     {"tstz", "day"},       {"amount", "identity"}};
  int32_t last = 999;
  for (int i = 0; i < 8; i++)
    if (floe_iceberg_partition_spec_add_field(spec, schema, fields[i][0], fields[i][1], NULL,
                                              &last, &err) != 0)
      return fail("spec field", &err);

  /* The data manifest. */
  floe_iceberg_value part_a[8] = {dval(1420), ival(19000), lval(1700000000000000LL),
                                  bval(names[0], strlen(names[0])), ival(5),
                                  bval(uuid_bytes, 16), ival(19500), dval(-123456)};
  floe_iceberg_value part_b[8] = {floe_iceberg_null_value(), ival(18000),
                                  floe_iceberg_null_value(),
                                  bval(names[1], strlen(names[1])), ival(0),
                                  floe_iceberg_null_value(), floe_iceberg_null_value(),
                                  dval(0)};
  static const uint8_t lo[8] = {1, 0, 0, 0, 0, 0, 0, 0}, hi[8] = {0xe8, 3, 0, 0, 0, 0, 0, 0};
  floe_iceberg_column_metrics metrics[2] = {
      {1, true, true, true, false, 120, 1000, 0, 0, lo, 8, hi, 8},
      {5, true, true, true, false, 300, 1000, 7, 0, (const uint8_t *)"a", 1,
       (const uint8_t *)"z", 1},
  };
  int64_t offsets[2] = {4, 65536};
  floe_manifest_entry entries[2];
  memset(entries, 0, sizeof entries);
  entries[0].status = FLOE_ENTRY_ADDED;
  entries[0].file.file_path = "s3://bucket/t/data/price=14.20/00000-a.parquet";
  entries[0].file.file_format = "PARQUET";
  entries[0].file.n_partition = 8;
  entries[0].file.partition = part_a;
  entries[0].file.record_count = 1000;
  entries[0].file.file_size_in_bytes = 123456;
  entries[0].file.n_columns = 2;
  entries[0].file.columns = metrics;
  entries[0].file.n_split_offsets = 2;
  entries[0].file.split_offsets = offsets;
  entries[0].file.has_sort_order_id = true;
  entries[0].file.sort_order_id = 0;
  entries[1].status = FLOE_ENTRY_EXISTING;
  entries[1].has_snapshot_id = true;
  entries[1].snapshot_id = 111;
  entries[1].has_sequence_number = entries[1].has_file_sequence_number = true;
  entries[1].sequence_number = entries[1].file_sequence_number = 1;
  entries[1].file.file_path = "s3://bucket/t/data/price=null/00000-b.parquet";
  entries[1].file.file_format = "PARQUET";
  entries[1].file.n_partition = 8;
  entries[1].file.partition = part_b;
  entries[1].file.record_count = 7;
  entries[1].file.file_size_in_bytes = 999;

  char path[4096], json_path[4200];
  floe_manifest_file files[2];
  floe_manifest_writer *dw = NULL, *xw = NULL;
  snprintf(path, sizeof path, "%s/data-m0.avro", dir);
  remove(path);
  floe_manifest_writer_options dopt = {2, schema, spec, FLOE_MANIFEST_DATA, SNAPSHOT_ID};
  if (floe_manifest_writer_open(&dw, io, path, &dopt, &err) != 0) return fail(path, &err);
  for (int i = 0; i < 2; i++)
    if (floe_manifest_writer_add(dw, &entries[i], &err) != 0) return fail(path, &err);
  if (floe_manifest_writer_close(dw, &files[0], &err) != 0) return fail(path, &err);

  char *schema_json = NULL, *spec_json = NULL, *empty_spec_json = NULL;
  if (floe_iceberg_schema_to_json(schema, &schema_json, &err) != 0 ||
      floe_iceberg_partition_spec_to_json(spec, true, &spec_json, &err) != 0 ||
      floe_iceberg_partition_spec_to_json(unpartitioned, true, &empty_spec_json, &err) != 0)
    return fail("json", &err);
  floe_buf json = FLOE_BUF_INIT;
  floe_buf_append_str(&json, "{");
  put_manifest_meta(&json, schema_json, spec_json, "1", "data");
  floe_buf_append_str(&json, ",\"records\":[");
  put_entry(&json, &entries[0], 0, true);
  put_entry(&json, &entries[1], 1, false);
  floe_buf_append_str(&json, "]}\n");
  snprintf(json_path, sizeof json_path, "%s.expected.json", path);
  if (write_json(json_path, &json) != 0) return 1;

  /* The delete manifest. */
  static const int32_t eq_ids[2] = {1, 5};
  floe_manifest_entry deletes[2];
  memset(deletes, 0, sizeof deletes);
  for (int i = 0; i < 2; i++) {
    deletes[i].status = FLOE_ENTRY_ADDED;
    deletes[i].file.file_format = "PARQUET";
  }
  deletes[0].file.content = FLOE_CONTENT_POSITION_DELETES;
  deletes[0].file.file_path = "s3://bucket/t/data/00001-pos-deletes.parquet";
  deletes[0].file.record_count = 3;
  deletes[0].file.file_size_in_bytes = 1500;
  deletes[0].file.referenced_data_file = entries[0].file.file_path;
  deletes[1].file.content = FLOE_CONTENT_EQUALITY_DELETES;
  deletes[1].file.file_path = "s3://bucket/t/data/00001-eq-deletes.parquet";
  deletes[1].file.record_count = 2;
  deletes[1].file.file_size_in_bytes = 800;
  deletes[1].file.n_equality_ids = 2;
  deletes[1].file.equality_ids = eq_ids;
  snprintf(path, sizeof path, "%s/deletes-m1.avro", dir);
  remove(path);
  floe_manifest_writer_options xopt = {2, schema, unpartitioned, FLOE_MANIFEST_DELETES,
                                       SNAPSHOT_ID};
  if (floe_manifest_writer_open(&xw, io, path, &xopt, &err) != 0) return fail(path, &err);
  for (int i = 0; i < 2; i++)
    if (floe_manifest_writer_add(xw, &deletes[i], &err) != 0) return fail(path, &err);
  if (floe_manifest_writer_close(xw, &files[1], &err) != 0) return fail(path, &err);
  floe_buf_reset(&json);
  floe_buf_append_str(&json, "{");
  put_manifest_meta(&json, schema_json, empty_spec_json, "0", "deletes");
  floe_buf_append_str(&json, ",\"records\":[");
  put_entry(&json, &deletes[0], -1, true);
  put_entry(&json, &deletes[1], -1, false);
  floe_buf_append_str(&json, "]}\n");
  snprintf(json_path, sizeof json_path, "%s.expected.json", path);
  if (write_json(json_path, &json) != 0) return 1;

  /* The manifest list. */
  snprintf(path, sizeof path, "%s/snap.avro", dir);
  remove(path);
  floe_manifest_list_options lopt = {2, SNAPSHOT_ID, true, 2, 3, 0};
  if (floe_manifest_list_write(io, path, &lopt, files, 2, &err) != 0) return fail(path, &err);
  floe_buf_reset(&json);
  floe_buf_appendf(&json,
                   "{\"metadata\":{\"snapshot-id\":\"%" PRId64 "\",\"parent-snapshot-id\":"
                   "\"2\",\"sequence-number\":\"3\",\"format-version\":\"2\","
                   "\"avro.codec\":\"deflate\"},\"records\":[",
                   (int64_t)SNAPSHOT_ID);
  /* Summaries by hand (Iceberg spec: Appendix D bytes of each field's
   * lowest and highest value over both entries). */
  static const uint8_t price_b[2] = {0x05, 0x8c};
  static const uint8_t d_lo[4] = {0x50, 0x46, 0, 0}, d_hi[4] = {0x38, 0x4a, 0, 0};
  static const uint8_t ts_v[8] = {0x00, 0x40, 0x1e, 0x18, 0x24, 0x0a, 0x06, 0x00};
  static const uint8_t b_lo[4] = {0, 0, 0, 0}, b_hi[4] = {5, 0, 0, 0};
  static const uint8_t day_v[4] = {0x2c, 0x4c, 0, 0};
  static const uint8_t amt_lo[3] = {0xfe, 0x1d, 0xc0}, amt_hi[1] = {0};
  struct {
    bool contains_null;
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
  } sums[8] = {
      {true, price_b, price_b, 2, 2},
      {false, d_lo, d_hi, 4, 4},
      {true, ts_v, ts_v, 8, 8},
      {false, (const uint8_t *)names[0], (const uint8_t *)names[1], strlen(names[0]),
       strlen(names[1])},
      {false, b_lo, b_hi, 4, 4},
      {true, uuid_bytes, uuid_bytes, 16, 16},
      {true, day_v, day_v, 4, 4},
      {false, amt_lo, amt_hi, 3, 1},
  };
  for (int m = 0; m < 2; m++) {
    const floe_manifest_file *f = &files[m];
    floe_buf_appendf(&json, "%s{\"manifest_path\":", m ? "," : "");
    put_string(&json, f->manifest_path);
    floe_buf_appendf(&json,
                     ",\"manifest_length\":%" PRId64 ",\"partition_spec_id\":%d,"
                     "\"content\":%d,\"sequence_number\":3,\"min_sequence_number\":%d,"
                     "\"added_snapshot_id\":%" PRId64 ",\"added_files_count\":%d,"
                     "\"existing_files_count\":%d,\"deleted_files_count\":0,"
                     "\"added_rows_count\":%d,\"existing_rows_count\":%d,"
                     "\"deleted_rows_count\":0,\"partitions\":[",
                     f->manifest_length, m == 0 ? 1 : 0, m, m == 0 ? 1 : 3,
                     (int64_t)SNAPSHOT_ID, m == 0 ? 1 : 2, m == 0 ? 1 : 0,
                     m == 0 ? 1000 : 5, m == 0 ? 7 : 0);
    for (int k = 0; m == 0 && k < 8; k++) {
      floe_buf_appendf(&json, "%s{\"contains_null\":%s,\"contains_nan\":false,\"lower_bound\":",
                       k ? "," : "", sums[k].contains_null ? "true" : "false");
      put_bytes(&json, sums[k].lo, sums[k].lo_len);
      floe_buf_append_str(&json, ",\"upper_bound\":");
      put_bytes(&json, sums[k].hi, sums[k].hi_len);
      floe_buf_append_str(&json, "}");
    }
    floe_buf_append_str(&json, "],\"key_metadata\":null}");
  }
  floe_buf_append_str(&json, "]}\n");
  snprintf(json_path, sizeof json_path, "%s.expected.json", path);
  if (write_json(json_path, &json) != 0) return 1;

  floe_buf_free(&json);
  floe_free(schema_json);
  floe_free(spec_json);
  floe_free(empty_spec_json);
  floe_manifest_writer_free(dw);
  floe_manifest_writer_free(xw);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_partition_spec_free(unpartitioned);
  floe_iceberg_schema_free(schema);
  floe_io_free(io);
  return 0;
}
