/*
 * Unit tests of nested Parquet columns through floe's writer and reader:
 * an Iceberg schema with structs, maps, lists of structs of maps, lists of
 * lists and a required struct (mapped to Arrow by floe_iceberg_schema_to_arrow,
 * field ids on every level) is written over several row groups and pages,
 * with and without dictionaries, and read back by the reader's record
 * assembly, value for value (rendered text of every row, which keeps every
 * null, empty list and empty map apart). Also: a projection of one nested
 * column by field id, a struct leaf read flat by name, and the reader's
 * Arrow schema carrying the field ids. DuckDB checks the same shapes
 * independently (tests/interop/parquet_nested.test.mjs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/parquet_reader.h"
#include "floe/parquet_writer.h"
#include "test.h"

static const char SCHEMA_JSON[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"s\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":3,\"name\":\"a\",\"required\":false,\"type\":\"int\"},"
    "{\"id\":4,\"name\":\"inner\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":5,\"name\":\"x\",\"required\":false,\"type\":\"string\"}]}}]}},"
    "{\"id\":6,\"name\":\"m\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":7,"
    "\"key\":\"string\",\"value-id\":8,\"value-required\":false,\"value\":{\"type\":\"list\","
    "\"element-id\":9,\"element\":\"long\",\"element-required\":false}}},"
    "{\"id\":10,\"name\":\"ls\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":11,"
    "\"element-required\":false,\"element\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":12,\"name\":\"k\",\"required\":true,\"type\":\"string\"},"
    "{\"id\":13,\"name\":\"v\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":14,"
    "\"key\":\"int\",\"value-id\":15,\"value-required\":false,\"value\":\"decimal(9,2)\"}}]}}},"
    "{\"id\":16,\"name\":\"ll\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":17,"
    "\"element-required\":false,\"element\":{\"type\":\"list\",\"element-id\":18,"
    "\"element-required\":true,\"element\":\"int\"}}},"
    "{\"id\":19,\"name\":\"r\",\"required\":true,\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"id\":20,\"name\":\"n\",\"required\":true,\"type\":\"double\"}]}}]}";

#define ROWS 4000

static int put_str(floe_arrow_builder *b, const char *text) {
  return floe_arrow_builder_append_bytes(b, text, strlen(text));
}

/* Appends row i; every kind of null and emptiness recurs. */
static int append_row(floe_arrow_batch_builder *bb, int64_t i) {
  floe_arrow_builder *f, *g, *keys, *values, *el, *el2;
  int64_t n;
  char text[32];
  int rc = floe_arrow_builder_append_int64(&bb->columns[0], i);
  /* s */
  floe_arrow_builder *s = &bb->columns[1];
  if (i % 6 == 1) {
    rc |= floe_arrow_builder_append_null(s);
  } else {
    rc |= floe_arrow_builder_struct_start(s, &f, &n);
    rc |= i % 4 == 0 ? floe_arrow_builder_append_null(&f[0])
                     : floe_arrow_builder_append_int32(&f[0], (int32_t)i);
    if (i % 5 == 2) {
      rc |= floe_arrow_builder_append_null(&f[1]);
    } else {
      rc |= floe_arrow_builder_struct_start(&f[1], &g, &n);
      snprintf(text, sizeof text, "x%lld", (long long)(i % 37));
      rc |= i % 3 == 0 ? floe_arrow_builder_append_null(&g[0]) : put_str(&g[0], text);
      rc |= floe_arrow_builder_struct_end(&f[1]);
    }
    rc |= floe_arrow_builder_struct_end(s);
  }
  /* m */
  floe_arrow_builder *m = &bb->columns[2];
  if (i % 7 == 3) {
    rc |= floe_arrow_builder_append_null(m);
  } else {
    rc |= floe_arrow_builder_map_start(m, &keys, &values);
    for (int64_t e = 0; e < i % 4; e++) {
      snprintf(text, sizeof text, "k%lld", (long long)e);
      rc |= put_str(keys, text);
      if ((i + e) % 5 == 0) {
        rc |= floe_arrow_builder_append_null(values);
        continue;
      }
      rc |= floe_arrow_builder_list_start(values, &el);
      for (int64_t k = 0; k < (i + e) % 3; k++)
        rc |= k == 1 ? floe_arrow_builder_append_null(el) : floe_arrow_builder_append_int64(el, i * 100 + k);
      rc |= floe_arrow_builder_list_end(values);
    }
    rc |= floe_arrow_builder_map_end(m);
  }
  /* ls */
  floe_arrow_builder *ls = &bb->columns[3];
  if (i % 9 == 5) {
    rc |= floe_arrow_builder_append_null(ls);
  } else {
    rc |= floe_arrow_builder_list_start(ls, &el);
    for (int64_t k = 0; k < i % 3; k++) {
      if ((i + k) % 8 == 0) {
        rc |= floe_arrow_builder_append_null(el);
        continue;
      }
      rc |= floe_arrow_builder_struct_start(el, &f, &n);
      snprintf(text, sizeof text, "e%lld", (long long)(i + k));
      rc |= put_str(&f[0], text);
      if ((i + k) % 4 == 1) {
        rc |= floe_arrow_builder_append_null(&f[1]);
      } else {
        rc |= floe_arrow_builder_map_start(&f[1], &keys, &values);
        for (int64_t e = 0; e < (i + k) % 3; e++) {
          rc |= floe_arrow_builder_append_int32(keys, (int32_t)e);
          rc |= e == 1 ? floe_arrow_builder_append_null(values)
                       : floe_arrow_builder_append_decimal(values, (floe_int128)(i * 7 - 5000));
        }
        rc |= floe_arrow_builder_map_end(&f[1]);
      }
      rc |= floe_arrow_builder_struct_end(el);
    }
    rc |= floe_arrow_builder_list_end(ls);
  }
  /* ll */
  floe_arrow_builder *ll = &bb->columns[4];
  if (i % 10 == 7) {
    rc |= floe_arrow_builder_append_null(ll);
  } else {
    rc |= floe_arrow_builder_list_start(ll, &el);
    for (int64_t k = 0; k < i % 4; k++) {
      if (k == 2) {
        rc |= floe_arrow_builder_append_null(el);
        continue;
      }
      rc |= floe_arrow_builder_list_start(el, &el2);
      for (int64_t j = 0; j < k; j++) rc |= floe_arrow_builder_append_int32(el2, (int32_t)(i + j));
      rc |= floe_arrow_builder_list_end(el);
    }
    rc |= floe_arrow_builder_list_end(ll);
  }
  /* r */
  floe_arrow_builder *r = &bb->columns[5];
  rc |= floe_arrow_builder_struct_start(r, &f, &n);
  rc |= floe_arrow_builder_append_double(&f[0], (double)i / 8);
  rc |= floe_arrow_builder_struct_end(r);
  return rc == 0 ? FLOE_OK : FLOE_EINVAL;
}

/* Renders row i of every column of a batch as one line. */
static int render_row(const struct ArrowSchema *schema, const struct ArrowArray *batch, int64_t i,
                      floe_buf *out) {
  for (int64_t c = 0; c < schema->n_children; c++) {
    floe_arrow_view v;
    floe_error err = {0};
    if (floe_arrow_view_init(&v, schema->children[c], batch->children[c], &err) < 0) return -1;
    if (c > 0) floe_buf_append(out, " | ", 3);
    if (floe_arrow_view_format(&v, i, out) < 0) return -1;
  }
  return floe_buf_append_byte(out, '\n');
}

static char *tmp_path(const char *what) {
  static char path[2][128];
  static int k;
  k ^= 1;
  snprintf(path[k], sizeof path[k], "/tmp/floe_test_parquet_nested_%s_%d.parquet", what, (int)getpid());
  return path[k];
}

/* Writes the rows to path; the rendered rows go to `want`. */
static void write_file(const char *path, const struct ArrowSchema *schema, bool dictionary,
                       floe_buf *want) {
  floe_error err = {0};
  floe_parquet_writer_options o;
  floe_parquet_writer_options_init(&o);
  o.page_bytes = 1500;
  o.row_group_bytes = 48 * 1024;
  o.dictionary = dictionary;
  floe_parquet_writer *w = NULL;
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, schema, &o, &err), &err);
  floe_arrow_batch_builder bb;
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, schema, &err), &err);
  for (int64_t i = 0; i < ROWS;) {
    int64_t end = i + 900 < ROWS ? i + 900 : ROWS;
    int64_t first = i;
    for (; i < end; i++) REQUIRE(append_row(&bb, i) == FLOE_OK);
    struct ArrowArray batch;
    REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
    for (int64_t r = 0; r < end - first; r++) REQUIRE(render_row(schema, &batch, r, want) == FLOE_OK);
    CHECK_OK(floe_parquet_writer_write(w, &batch, &err), &err);
    floe_arrow_array_release(&batch);
  }
  floe_parquet_file_metrics metrics;
  REQUIRE_OK(floe_parquet_writer_close(w, &metrics, &err), &err);
  CHECK(metrics.n_split_offsets > 1);
  floe_parquet_file_metrics_free(&metrics);
  floe_parquet_writer_free(w);
  floe_arrow_batch_builder_free(&bb);
}

/* Reads path whole (or the given columns) and renders every row. */
static void read_file(const char *path, const floe_parquet_scan_options *opt, floe_buf *got,
                      struct ArrowSchema *out_schema) {
  floe_error err = {0};
  floe_parquet_reader *r = NULL;
  floe_parquet_scan *scan = NULL;
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  REQUIRE_OK(floe_parquet_reader_scan_open(&scan, r, opt, &err), &err);
  REQUIRE_OK(floe_parquet_reader_scan_schema(scan, out_schema, &err), &err);
  for (;;) {
    struct ArrowArray batch;
    int64_t first;
    REQUIRE_OK(floe_parquet_reader_scan_next(scan, &batch, &first, &err), &err);
    if (batch.release == NULL) break;
    for (int64_t i = 0; i < batch.length; i++) REQUIRE(render_row(out_schema, &batch, i, got) == FLOE_OK);
    floe_arrow_array_release(&batch);
  }
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(r);
}

static void test_nested_columns_round_trip_through_writer_and_reader(void) {
  floe_error err = {0};
  floe_iceberg_schema *ice = NULL;
  REQUIRE_OK(floe_iceberg_schema_parse(&ice, SCHEMA_JSON, strlen(SCHEMA_JSON), &err), &err);
  struct ArrowSchema schema;
  REQUIRE_OK(floe_iceberg_schema_to_arrow(ice, NULL, 0, &schema, &err), &err);
  for (int dictionary = 0; dictionary < 2; dictionary++) {
    const char *path = tmp_path(dictionary ? "dict" : "plain");
    floe_buf want = FLOE_BUF_INIT, got = FLOE_BUF_INIT;
    write_file(path, &schema, dictionary, &want);
    struct ArrowSchema read_schema;
    read_file(path, NULL, &got, &read_schema);
    /* The reader sees the same tree with the same field ids. */
    REQUIRE(read_schema.n_children == 6);
    CHECK_STR_EQ(read_schema.children[3]->format, "+l");
    CHECK_STR_EQ(read_schema.children[3]->children[0]->format, "+s");
    CHECK_INT_EQ(floe_arrow_schema_field_id(read_schema.children[3]->children[0]), 11);
    CHECK_STR_EQ(read_schema.children[3]->children[0]->children[1]->format, "+m");
    CHECK_INT_EQ(floe_arrow_schema_field_id(
                     read_schema.children[3]->children[0]->children[1]->children[0]->children[1]),
                 15);
    CHECK((read_schema.children[5]->flags & ARROW_FLAG_NULLABLE) == 0);
    floe_arrow_schema_release(&read_schema);
    CHECK_INT_EQ((long long)got.len, (long long)want.len);
    size_t diff = 0;
    while (diff < got.len && diff < want.len && got.data[diff] == want.data[diff]) diff++;
    if (diff < got.len || diff < want.len) {
      size_t line = diff;
      while (line > 0 && want.data[line - 1] != '\n') line--;
      TEST_FAIL_AT(__FILE__, __LINE__, "rows differ at byte %zu: want '%.200s' got '%.200s'", diff,
                   (const char *)want.data + line, (const char *)got.data + line);
    }
    /* Spot values: each kind of null and emptiness is there. */
    floe_buf_append_byte(&want, '\0');
    CHECK(strstr((const char *)want.data, "k1 -> \\N}") != NULL);
    CHECK(strstr((const char *)want.data, "[{k: e1, v: \\N}") != NULL);
    CHECK(strstr((const char *)want.data, " | [[], [") != NULL);
    /* One nested column by field id, and a struct leaf flat by name. */
    const int32_t ids[] = {10};
    floe_parquet_scan_options opt = {0};
    opt.field_ids = ids;
    opt.n_field_ids = 1;
    floe_buf one = FLOE_BUF_INIT;
    read_file(path, &opt, &one, &read_schema);
    CHECK_STR_EQ(read_schema.children[0]->name, "ls");
    floe_arrow_schema_release(&read_schema);
    REQUIRE(one.len > 3);
    CHECK(strncmp((const char *)one.data, "[]\n", 3) == 0); /* row 0: i % 3 == 0 elements */
    const char *names[] = {"s.inner.x"};
    floe_parquet_scan_options by_name = {0};
    by_name.names = names;
    by_name.n_names = 1;
    floe_buf flat = FLOE_BUF_INIT;
    read_file(path, &by_name, &flat, &read_schema);
    CHECK_STR_EQ(read_schema.children[0]->format, "u");
    floe_arrow_schema_release(&read_schema);
    CHECK(strncmp((const char *)flat.data, "\\N\n\\N\n\\N\n\\N\nx4\n", 15) == 0);
    floe_buf_free(&one);
    floe_buf_free(&flat);
    floe_buf_free(&want);
    floe_buf_free(&got);
    remove(path);
  }
  floe_arrow_schema_release(&schema);
  floe_iceberg_schema_free(ice);
}

int main(void) {
  RUN(test_nested_columns_round_trip_through_writer_and_reader);
  return test_report();
}
