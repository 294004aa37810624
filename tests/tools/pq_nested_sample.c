/*
 * pq_nested_sample: writes Parquet files of nested columns with floe's
 * writer, each beside a <name>.expected.json saying what an independent
 * reader must find in it.
 *
 *   pq_nested_sample OUT_DIR
 *
 * The table (field ids in brackets, every level nullable unless noted):
 *   id  long [1] required
 *   s   struct<a: int [3], b: string [4], inner: struct<x: double [6]> [5]> [2]
 *   m   map<string [8], list<int [10]> [9]> [7]
 *   ls  list<struct<k: string [13], v: map<int [15], string [16]> [14]> [12]> [11]
 *   r   struct<n: long [18] required, tags: list<string [20]> required [19]> [17] required
 * with nulls at every level (null struct, null field, null map, null map
 * value, null list, null element), empty lists and maps, over enough rows
 * that the small page and row-group sizes of the "paged" variant cut
 * several pages and row groups (the "plain" variant has no dictionary).
 *
 * The JSON holds the rows as JSON (structs as objects, maps as objects with
 * their keys as text, lists as arrays; null as null), the Parquet schema
 * elements floe must have written (name, field id, repetition) and the
 * metrics floe's writer returned per leaf (field id, value and null counts,
 * whether bounds were kept). tests/interop/parquet_nested.test.mjs reads
 * each file with DuckDB and compares.
 *
 * It also creates an Iceberg table of the same schema and rows through
 * floe's table API (hadoop catalog under OUT_DIR/warehouse, table
 * nested.t, two appends: rows 0..299 and 300..599) and writes its metadata
 * location and rows to OUT_DIR/iceberg.expected.json, for `floe table scan`.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "floe/arrow.h"
#include "floe/catalog.h"
#include "floe/common.h"
#include "floe/parquet_writer.h"
#include "floe/table.h"
#include "floe/table_writer.h"

#define TRY(call)            \
  do {                       \
    int rc_ = (call);        \
    if (rc_ < 0) return rc_; \
  } while (0)

static int make_schema(struct ArrowSchema *s) {
  floe_arrow_type_info t_long = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info t_int = floe_arrow_type_of(FLOE_ARROW_INT32);
  floe_arrow_type_info t_str = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info t_dbl = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  TRY(floe_arrow_schema_init_struct(s, NULL, 5));
  struct ArrowSchema **c = s->children;
  TRY(floe_arrow_schema_init(c[0], "id", &t_long, false, 1));
  TRY(floe_arrow_schema_init_struct_field(c[1], "s", true, 2, 3));
  TRY(floe_arrow_schema_init(c[1]->children[0], "a", &t_int, true, 3));
  TRY(floe_arrow_schema_init(c[1]->children[1], "b", &t_str, true, 4));
  TRY(floe_arrow_schema_init_struct_field(c[1]->children[2], "inner", true, 5, 1));
  TRY(floe_arrow_schema_init(c[1]->children[2]->children[0], "x", &t_dbl, true, 6));
  TRY(floe_arrow_schema_init_map(c[2], "m", true, 7));
  struct ArrowSchema *me = c[2]->children[0];
  TRY(floe_arrow_schema_init(me->children[0], "key", &t_str, false, 8));
  TRY(floe_arrow_schema_init_list_field(me->children[1], "value", true, 9));
  TRY(floe_arrow_schema_init(me->children[1]->children[0], "element", &t_int, true, 10));
  TRY(floe_arrow_schema_init_list_field(c[3], "ls", true, 11));
  struct ArrowSchema *el = c[3]->children[0];
  TRY(floe_arrow_schema_init_struct_field(el, "element", true, 12, 2));
  TRY(floe_arrow_schema_init(el->children[0], "k", &t_str, true, 13));
  TRY(floe_arrow_schema_init_map(el->children[1], "v", true, 14));
  TRY(floe_arrow_schema_init(el->children[1]->children[0]->children[0], "key", &t_int, false, 15));
  TRY(floe_arrow_schema_init(el->children[1]->children[0]->children[1], "value", &t_str, true, 16));
  TRY(floe_arrow_schema_init_struct_field(c[4], "r", false, 17, 2));
  TRY(floe_arrow_schema_init(c[4]->children[0], "n", &t_long, false, 18));
  TRY(floe_arrow_schema_init_list_field(c[4]->children[1], "tags", false, 19));
  TRY(floe_arrow_schema_init(c[4]->children[1]->children[0], "element", &t_str, true, 20));
  return FLOE_OK;
}

static int put_str(floe_arrow_builder *b, const char *text) {
  return floe_arrow_builder_append_bytes(b, text, strlen(text));
}

/* Appends row r to the builders and its JSON to `row`. */
static int append_row(floe_arrow_batch_builder *bb, int64_t r, json_t *row) {
  floe_arrow_builder *f, *inner, *keys, *values, *el, *elf;
  int64_t n;
  char text[64];
  TRY(floe_arrow_builder_append_int64(&bb->columns[0], r));
  json_object_set_new(row, "id", json_integer(r));
  floe_arrow_builder *s = &bb->columns[1], *m = &bb->columns[2], *ls = &bb->columns[3];
  int kind = (int)(r % 7);
  /* s */
  if (kind == 1) {
    TRY(floe_arrow_builder_append_null(s));
    json_object_set_new(row, "s", json_null());
  } else {
    json_t *js = json_object();
    TRY(floe_arrow_builder_struct_start(s, &f, &n));
    if (kind == 2) {
      TRY(floe_arrow_builder_append_null(&f[0]));
      TRY(floe_arrow_builder_append_null(&f[1]));
      TRY(floe_arrow_builder_append_null(&f[2]));
      json_object_set_new(js, "a", json_null());
      json_object_set_new(js, "b", json_null());
      json_object_set_new(js, "inner", json_null());
    } else {
      TRY(floe_arrow_builder_append_int32(&f[0], (int32_t)(r * 3 - 1000)));
      json_object_set_new(js, "a", json_integer(r * 3 - 1000));
      if (r % 3 == 0) {
        TRY(floe_arrow_builder_append_null(&f[1]));
        json_object_set_new(js, "b", json_null());
      } else {
        snprintf(text, sizeof text, "b%" PRId64, r % 50);
        TRY(put_str(&f[1], kind == 3 ? "" : text));
        json_object_set_new(js, "b", json_string(kind == 3 ? "" : text));
      }
      if (r % 5 == 0) {
        TRY(floe_arrow_builder_append_null(&f[2]));
        json_object_set_new(js, "inner", json_null());
      } else {
        TRY(floe_arrow_builder_struct_start(&f[2], &inner, &n));
        json_t *ji = json_object();
        if (kind == 3) {
          TRY(floe_arrow_builder_append_null(&inner[0]));
          json_object_set_new(ji, "x", json_null());
        } else {
          TRY(floe_arrow_builder_append_double(&inner[0], (double)r / 4));
          json_object_set_new(ji, "x", json_real((double)r / 4));
        }
        TRY(floe_arrow_builder_struct_end(&f[2]));
        json_object_set_new(js, "inner", ji);
      }
    }
    TRY(floe_arrow_builder_struct_end(s));
    json_object_set_new(row, "s", js);
  }
  /* m */
  if (kind == 1 || r % 11 == 4) {
    TRY(floe_arrow_builder_append_null(m));
    json_object_set_new(row, "m", json_null());
  } else {
    json_t *jm = json_object();
    TRY(floe_arrow_builder_map_start(m, &keys, &values));
    if (kind == 3) {
      TRY(put_str(keys, "e"));
      TRY(floe_arrow_builder_list_start(values, &el));
      TRY(floe_arrow_builder_list_end(values));
      json_object_set_new(jm, "e", json_array());
    } else if (kind != 2) {
      snprintf(text, sizeof text, "k%" PRId64, r % 10);
      TRY(put_str(keys, text));
      TRY(floe_arrow_builder_list_start(values, &el));
      json_t *ja = json_array();
      for (int64_t k = 0; k < r % 4 + 1; k++) {
        if ((r + k) % 3 == 2) {
          TRY(floe_arrow_builder_append_null(el));
          json_array_append_new(ja, json_null());
        } else {
          TRY(floe_arrow_builder_append_int32(el, (int32_t)(r * 10 + k)));
          json_array_append_new(ja, json_integer(r * 10 + k));
        }
      }
      TRY(floe_arrow_builder_list_end(values));
      json_object_set_new(jm, text, ja);
      if (r % 2 == 0) {
        TRY(put_str(keys, "z"));
        TRY(floe_arrow_builder_append_null(values));
        json_object_set_new(jm, "z", json_null());
      }
    }
    TRY(floe_arrow_builder_map_end(m));
    json_object_set_new(row, "m", jm);
  }
  /* ls */
  if (kind == 1 || r % 13 == 6) {
    TRY(floe_arrow_builder_append_null(ls));
    json_object_set_new(row, "ls", json_null());
  } else {
    json_t *jl = json_array();
    TRY(floe_arrow_builder_list_start(ls, &el));
    int64_t count = kind == 2 ? 0 : kind == 3 ? 3 : r % 3 + 1;
    for (int64_t k = 0; k < count; k++) {
      if (kind == 3 && k == 2) { /* a null element struct */
        TRY(floe_arrow_builder_append_null(el));
        json_array_append_new(jl, json_null());
        continue;
      }
      json_t *je = json_object(), *jv;
      TRY(floe_arrow_builder_struct_start(el, &elf, &n));
      if (kind == 3 && k == 0) {
        TRY(floe_arrow_builder_append_null(&elf[0]));
        TRY(floe_arrow_builder_append_null(&elf[1]));
        json_object_set_new(je, "k", json_null());
        jv = json_null();
      } else {
        snprintf(text, sizeof text, "k%" PRId64 "_%" PRId64, r, k);
        TRY(put_str(&elf[0], text));
        json_object_set_new(je, "k", json_string(text));
        jv = json_object();
        TRY(floe_arrow_builder_map_start(&elf[1], &keys, &values));
        for (int64_t e = 0; e < (kind == 3 ? 0 : (r + k) % 3); e++) {
          TRY(floe_arrow_builder_append_int32(keys, (int32_t)(r + e)));
          char key[32];
          snprintf(key, sizeof key, "%" PRId64, r + e);
          if (e == 1) {
            TRY(floe_arrow_builder_append_null(values));
            json_object_set_new(jv, key, json_null());
          } else {
            snprintf(text, sizeof text, "v%" PRId64, (r + e) % 100);
            TRY(put_str(values, text));
            json_object_set_new(jv, key, json_string(text));
          }
        }
        TRY(floe_arrow_builder_map_end(&elf[1]));
      }
      json_object_set_new(je, "v", jv);
      TRY(floe_arrow_builder_struct_end(el));
      json_array_append_new(jl, je);
    }
    TRY(floe_arrow_builder_list_end(ls));
    json_object_set_new(row, "ls", jl);
  }
  /* r: required struct of a required long and a required list */
  floe_arrow_builder *rr = &bb->columns[4];
  json_t *jr = json_object(), *jt = json_array();
  TRY(floe_arrow_builder_struct_start(rr, &f, &n));
  TRY(floe_arrow_builder_append_int64(&f[0], -r));
  TRY(floe_arrow_builder_list_start(&f[1], &el));
  for (int64_t k = 0; k < r % 3; k++) {
    if (k == 1 && r % 2 == 1) {
      TRY(floe_arrow_builder_append_null(el));
      json_array_append_new(jt, json_null());
    } else {
      snprintf(text, sizeof text, "t%" PRId64, (r + k) % 7);
      TRY(put_str(el, text));
      json_array_append_new(jt, json_string(text));
    }
  }
  TRY(floe_arrow_builder_list_end(&f[1]));
  TRY(floe_arrow_builder_struct_end(rr));
  json_object_set_new(jr, "n", json_integer(-r));
  json_object_set_new(jr, "tags", jt);
  json_object_set_new(row, "r", jr);
  return FLOE_OK;
}

static int write_sample(const char *dir, const char *name, int64_t rows, bool paged,
                        floe_error *err) {
  char path[1024];
  struct ArrowSchema schema = {0};
  floe_arrow_batch_builder bb = {0};
  floe_parquet_writer *w = NULL;
  floe_parquet_file_metrics metrics = {0};
  json_t *doc = json_object(), *jrows = json_array(), *jm = json_array();
  int rc = make_schema(&schema);
  if (rc < 0) goto cleanup;
  FLOE_TRY(floe_arrow_batch_builder_init(&bb, &schema, err));
  floe_parquet_writer_options options;
  floe_parquet_writer_options_init(&options);
  if (paged) {
    options.page_bytes = 2048;
    options.row_group_bytes = 64 * 1024;
    options.compression = FLOE_PARQUET_SNAPPY;
  } else {
    options.dictionary = false;
    options.compression = FLOE_PARQUET_UNCOMPRESSED;
  }
  snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
  FLOE_TRY(floe_parquet_writer_open_file(&w, path, &schema, &options, err));
  for (int64_t r = 0; r < rows;) {
    int64_t end = r + 700 < rows ? r + 700 : rows;
    for (; r < end; r++) {
      json_t *row = json_object();
      rc = append_row(&bb, r, row);
      json_array_append_new(jrows, row);
      if (rc < 0) {
        floe_error_set(err, rc, "row %" PRId64 ": append failed", r);
        goto cleanup;
      }
    }
    struct ArrowArray batch;
    FLOE_TRY(floe_arrow_batch_builder_finish(&bb, &batch, err));
    rc = floe_parquet_writer_write(w, &batch, err);
    floe_arrow_array_release(&batch);
    if (rc < 0) goto cleanup;
  }
  FLOE_TRY(floe_parquet_writer_close(w, &metrics, err));
  for (int32_t i = 0; i < metrics.n_columns; i++) {
    const floe_parquet_column_metrics *c = &metrics.columns[i];
    json_t *o = json_object();
    json_object_set_new(o, "field_id", json_integer(c->field_id));
    json_object_set_new(o, "value_count", json_integer(c->value_count));
    json_object_set_new(o, "null_count", json_integer(c->null_count));
    json_object_set_new(o, "bounds", json_boolean(c->lower_bound != NULL));
    json_array_append_new(jm, o);
  }
  json_object_set_new(doc, "rows", jrows);
  json_object_set_new(doc, "metrics", jm);
  jrows = jm = NULL;
  snprintf(path, sizeof path, "%s/%s.expected.json", dir, name);
  if (json_dump_file(doc, path, JSON_COMPACT) != 0)
    rc = floe_error_set(err, FLOE_EIO, "cannot write %s", path);
cleanup:
  if (w != NULL) floe_parquet_writer_free(w);
  floe_parquet_file_metrics_free(&metrics);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&schema);
  json_decref(doc);
  json_decref(jrows);
  json_decref(jm);
  return rc;
}

static const char ICEBERG_SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"s\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":3,\"name\":\"a\",\"required\":false,\"type\":\"int\"},"
    "{\"id\":4,\"name\":\"b\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":5,\"name\":\"inner\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":6,\"name\":\"x\",\"required\":false,\"type\":\"double\"}]}}]}},"
    "{\"id\":7,\"name\":\"m\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":8,"
    "\"key\":\"string\",\"value-id\":9,\"value-required\":false,\"value\":{\"type\":\"list\","
    "\"element-id\":10,\"element\":\"int\",\"element-required\":false}}},"
    "{\"id\":11,\"name\":\"ls\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":12,"
    "\"element-required\":false,\"element\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":13,\"name\":\"k\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":14,\"name\":\"v\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":15,"
    "\"key\":\"int\",\"value-id\":16,\"value-required\":false,\"value\":\"string\"}}]}}},"
    "{\"id\":17,\"name\":\"r\",\"required\":true,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":18,\"name\":\"n\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":19,\"name\":\"tags\",\"required\":true,\"type\":{\"type\":\"list\","
    "\"element-id\":20,\"element\":\"string\",\"element-required\":false}}]}}]}";

/* The Iceberg table nested.t (see the file comment). */
static int write_table(const char *dir, floe_error *err) {
  char path[1024];
  snprintf(path, sizeof path, "%s/warehouse", dir);
  mkdir(path, 0777);
  floe_catalog *cat = NULL;
  floe_catalog_config config = {0};
  config.type = FLOE_CATALOG_HADOOP;
  config.warehouse = path;
  config.durable = -1;
  floe_iceberg_schema *schema = NULL;
  floe_table *t = NULL;
  json_t *doc = json_object(), *jrows = json_array();
  int rc = floe_iceberg_schema_parse(&schema, ICEBERG_SCHEMA, strlen(ICEBERG_SCHEMA), err);
  if (rc == FLOE_OK) rc = floe_catalog_open(&config, &cat, err);
  if (rc == FLOE_OK) rc = floe_catalog_namespace_create(cat, "nested", NULL, 0, err);
  floe_catalog_ident id = {"nested", "t"};
  if (rc == FLOE_OK) rc = floe_table_create(cat, id, schema, NULL, NULL, NULL, 0, NULL, &t, err);
  for (int part = 0; rc == FLOE_OK && part < 2; part++) {
    struct ArrowSchema as = {0};
    struct ArrowArray batch = {0};
    floe_arrow_batch_builder bb = {0};
    floe_data_writer *w = NULL;
    floe_content_file_list files = {0};
    floe_table_op *op = NULL;
    floe_table_writer_options o;
    char prefix[64];
    floe_table_writer_options_init(&o);
    rc = floe_table_writer_options_from_metadata(&o, floe_table_metadata(t), err);
    o.io = floe_table_io(t);
    snprintf(prefix, sizeof prefix, "0000%d-0-nested", part);
    o.file_prefix = prefix;
    if (rc == FLOE_OK) rc = floe_iceberg_schema_to_arrow(floe_table_schema(t), NULL, 0, &as, err);
    if (rc == FLOE_OK) rc = floe_arrow_batch_builder_init(&bb, &as, err);
    for (int64_t r = part * 300; rc == FLOE_OK && r < part * 300 + 300; r++) {
      json_t *row = json_object();
      rc = append_row(&bb, r, row);
      json_array_append_new(jrows, row);
      if (rc < 0) floe_error_set(err, rc, "row %" PRId64 ": append failed", r);
    }
    if (rc == FLOE_OK) rc = floe_arrow_batch_builder_finish(&bb, &batch, err);
    if (rc == FLOE_OK) rc = floe_data_writer_open(&w, &o, err);
    if (rc == FLOE_OK) rc = floe_data_writer_write(w, &as, &batch, err);
    if (rc == FLOE_OK) rc = floe_data_writer_close(w, &files, err);
    if (rc == FLOE_OK) rc = floe_table_op_new(&op, t, FLOE_TABLE_APPEND, err);
    for (int32_t i = 0; rc == FLOE_OK && i < files.n_files; i++)
      rc = floe_table_op_add_file(op, &files.files[i], err);
    if (rc == FLOE_OK) rc = floe_table_op_commit(op, NULL, err);
    floe_table_op_free(op);
    floe_content_file_list_free(&files);
    floe_data_writer_free(w);
    floe_arrow_batch_builder_free(&bb);
    floe_arrow_array_release(&batch);
    floe_arrow_schema_release(&as);
  }
  if (rc == FLOE_OK) {
    json_object_set_new(doc, "metadata", json_string(floe_table_metadata_location(t)));
    json_object_set_new(doc, "rows", jrows);
    jrows = NULL;
    snprintf(path, sizeof path, "%s/iceberg.expected.json", dir);
    if (json_dump_file(doc, path, JSON_COMPACT) != 0)
      rc = floe_error_set(err, FLOE_EIO, "cannot write %s", path);
  }
  floe_table_free(t);
  floe_catalog_free(cat);
  floe_iceberg_schema_free(schema);
  json_decref(doc);
  json_decref(jrows);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pq_nested_sample OUT_DIR\n");
    return 2;
  }
  mkdir(argv[1], 0777);
  floe_error err = {0};
  if (write_sample(argv[1], "nested-paged", 5000, true, &err) < 0 ||
      write_sample(argv[1], "nested-plain", 300, false, &err) < 0 ||
      write_table(argv[1], &err) < 0) {
    fprintf(stderr, "pq_nested_sample: %s\n", err.message);
    return 1;
  }
  printf("%s/nested-paged.parquet\n%s/nested-plain.parquet\n", argv[1], argv[1]);
  return 0;
}
