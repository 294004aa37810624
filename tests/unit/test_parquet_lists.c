/*
 * Unit tests of list columns in floe's Parquet writer: lists of every
 * primitive kind written in the 3-level form round-trip through floe's
 * reader with nulls at every level (null list, empty list, null element),
 * across many pages, row groups and dictionary fallback; the schema carries
 * the LIST annotation and both field ids; metrics count level entries and
 * leave element bounds out; required lists and required elements refuse
 * nulls before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/parquet_reader.h"
#include "floe/parquet_writer.h"
#include "test.h"

typedef struct list_col {
  const char *name;
  floe_arrow_type_info element;
  bool list_nullable, element_nullable;
  int32_t list_id, element_id;
} list_col;

/* id long (field 1), then the list columns. */
static void make_schema(struct ArrowSchema *schema, const list_col *cols, int n) {
  floe_arrow_schema_init_struct(schema, "", n + 1);
  floe_arrow_type_info i64 = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_schema_init(schema->children[0], "id", &i64, false, 1);
  for (int c = 0; c < n; c++)
    floe_arrow_schema_init_list(schema->children[c + 1], cols[c].name, cols[c].list_nullable,
                                cols[c].list_id, &cols[c].element, cols[c].element_nullable,
                                cols[c].element_id);
}

/* Row r of column c: NULL (null list) or the list's text as
 * floe_arrow_view_format renders it. Appends the same value to b. */
static void row_value(int c, int64_t r, const list_col *col, floe_arrow_builder *b,
                      floe_buf *text) {
  floe_buf_reset(text);
  int kind = (int)(r % 7);
  if (col->list_nullable && kind == 0) {
    floe_arrow_builder_append_null(b);
    return;
  }
  floe_arrow_builder *e = NULL;
  floe_arrow_builder_list_start(b, &e);
  int n = kind == 1 ? 0 : (int)(r % 5) + 1;
  floe_buf_append_str(text, "[");
  for (int j = 0; j < n; j++) {
    if (j > 0) floe_buf_append_str(text, ", ");
    if (col->element_nullable && (r + j) % 4 == 3) {
      floe_arrow_builder_append_null(e);
      floe_buf_append_str(text, "\\N");
      continue;
    }
    switch (col->element.id) {
      case FLOE_ARROW_INT32:
        floe_arrow_builder_append_int32(e, (int32_t)(r * 10 + j - 500));
        floe_buf_appendf(text, "%d", (int)(r * 10 + j - 500));
        break;
      case FLOE_ARROW_INT64:
        floe_arrow_builder_append_int64(e, (int64_t)r * 1000000007LL + j);
        floe_buf_appendf(text, "%lld", (long long)(r * 1000000007LL + j));
        break;
      case FLOE_ARROW_UTF8: {
        /* Few distinct values: a dictionary that pays off. */
        char s[32];
        snprintf(s, sizeof s, "tag-%d", (int)((r + j) % 13));
        floe_arrow_builder_append_bytes(e, s, strlen(s));
        floe_buf_append_str(text, s);
        break;
      }
      case FLOE_ARROW_DECIMAL128: {
        int64_t unscaled = (r * 7 + j) * (r % 2 ? -1 : 1);
        floe_arrow_builder_append_decimal(e, (floe_int128)unscaled);
        char s[64];
        floe_decimal_format((floe_int128)unscaled, col->element.scale, s, sizeof s);
        floe_buf_append_str(text, s);
        break;
      }
      case FLOE_ARROW_BOOL:
        floe_arrow_builder_append_bool(e, (r + j) % 3 == 0);
        floe_buf_append_str(text, (r + j) % 3 == 0 ? "true" : "false");
        break;
      default:
        break;
    }
  }
  floe_buf_append_str(text, "]");
  floe_arrow_builder_list_end(b);
  (void)c;
}

static const list_col cols[] = {
    {"tags", {FLOE_ARROW_UTF8, 0, 0, 0}, true, true, 2, 3},
    {"nums", {FLOE_ARROW_INT32, 0, 0, 0}, false, false, 4, 5},
    {"amounts", {FLOE_ARROW_DECIMAL128, 10, 2, 16}, true, false, 6, 7},
    {"big", {FLOE_ARROW_INT64, 0, 0, 0}, false, true, 8, 9},
    {"flags", {FLOE_ARROW_BOOL, 0, 0, 0}, true, true, 10, 11},
};
#define N_COLS ((int)(sizeof cols / sizeof cols[0]))
#define ROWS 5000

static char *expected[ROWS][N_COLS];

static const char *tmp_path(void) {
  static char path[128];
  snprintf(path, sizeof path, "/tmp/floe_test_parquet_lists_w_%d.parquet", (int)getpid());
  return path;
}

/* Writes ROWS rows in batches of 700 with small pages and row groups. */
static int write_file(const char *path, floe_parquet_file_metrics *metrics, floe_error *err) {
  struct ArrowSchema schema;
  make_schema(&schema, cols, N_COLS);
  floe_parquet_writer_options opt;
  floe_parquet_writer_options_init(&opt);
  opt.page_bytes = 512;
  opt.row_group_bytes = 24 * 1024;
  opt.dictionary_page_bytes = 4096;
  floe_parquet_writer *w = NULL;
  int rc = floe_parquet_writer_open_file(&w, path, &schema, &opt, err);
  floe_buf text = FLOE_BUF_INIT;
  for (int64_t r0 = 0; rc == FLOE_OK && r0 < ROWS; r0 += 700) {
    int64_t r1 = r0 + 700 < ROWS ? r0 + 700 : ROWS;
    floe_arrow_batch_builder bb;
    rc = floe_arrow_batch_builder_init(&bb, &schema, err);
    if (rc < 0) break;
    for (int64_t r = r0; r < r1; r++) {
      floe_arrow_builder_append_int64(&bb.columns[0], r);
      for (int c = 0; c < N_COLS; c++) {
        row_value(c, r, &cols[c], &bb.columns[c + 1], &text);
        free(expected[r][c]);
        expected[r][c] =
            text.len == 0 ? NULL : strndup((const char *)text.data, text.len);
      }
    }
    struct ArrowArray batch;
    rc = floe_arrow_batch_builder_finish(&bb, &batch, err);
    floe_arrow_batch_builder_free(&bb);
    if (rc < 0) break;
    rc = floe_parquet_writer_write(w, &batch, err);
    floe_arrow_array_release(&batch);
  }
  if (rc == FLOE_OK) rc = floe_parquet_writer_close(w, metrics, err);
  floe_parquet_writer_free(w);
  floe_buf_free(&text);
  floe_arrow_schema_release(&schema);
  return rc;
}

static void test_lists_round_trip_with_nulls_at_every_level(void) {
  floe_error err = {0};
  floe_parquet_file_metrics m;
  const char *path = tmp_path();
  REQUIRE_OK(write_file(path, &m, &err), &err);

  floe_parquet_reader *r = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  floe_buf text = FLOE_BUF_INIT;
  REQUIRE_OK(floe_parquet_reader_open(&r, path, &err), &err);
  CHECK(floe_parquet_reader_num_row_groups(r) > 2);
  for (int c = 0; c < N_COLS; c++) {
    const floe_parquet_column_info *info = floe_parquet_reader_column(r, c + 1);
    CHECK_STR_EQ(info->name, cols[c].name);
    CHECK_INT_EQ(info->field_id, cols[c].list_id);
    CHECK_INT_EQ(info->element_field_id, cols[c].element_id);
    CHECK(info->nested);
    CHECK(info->nullable == cols[c].list_nullable);
    CHECK(info->element_nullable == cols[c].element_nullable);
  }
  floe_parquet_scan_options opt = {0};
  opt.batch_size = 333;
  REQUIRE_OK(floe_parquet_reader_scan_open(&scan, r, &opt, &err), &err);
  REQUIRE_OK(floe_parquet_reader_scan_schema(scan, &schema, &err), &err);
  REQUIRE(schema.n_children == N_COLS + 1);
  for (int c = 0; c < N_COLS; c++) {
    CHECK_STR_EQ(schema.children[c + 1]->format, "+l");
    CHECK_INT_EQ(floe_arrow_schema_field_id(schema.children[c + 1]->children[0]),
                 cols[c].element_id);
  }
  int64_t row = 0, mismatches = 0;
  for (;;) {
    struct ArrowArray batch;
    int64_t first;
    int rc = floe_parquet_reader_scan_next(scan, &batch, &first, &err);
    REQUIRE_OK(rc, &err);
    if (batch.release == NULL) break;
    CHECK_INT_EQ(first, row);
    for (int c = 0; c < N_COLS; c++) {
      floe_arrow_view v;
      REQUIRE_OK(floe_arrow_view_init(&v, schema.children[c + 1], batch.children[c + 1], &err),
                 &err);
      for (int64_t i = 0; i < batch.length && row + i < ROWS; i++) {
        const char *want = expected[row + i][c];
        bool null = floe_arrow_view_is_null(&v, i);
        floe_buf_reset(&text);
        if (!null) floe_arrow_view_format(&v, i, &text);
        bool ok = want == NULL ? null
                               : !null && text.len == strlen(want) &&
                                     memcmp(text.data, want, text.len) == 0;
        if (!ok && mismatches++ < 5)
          TEST_FAIL_AT(__FILE__, __LINE__, "row %lld column %s: got %.*s, expected %s",
                       (long long)(row + i), cols[c].name, null ? 4 : (int)text.len,
                       null ? "NULL" : (const char *)text.data, want ? want : "NULL");
      }
    }
    row += batch.length;
    floe_arrow_array_release(&batch);
  }
  CHECK_INT_EQ(row, ROWS);
  CHECK_INT_EQ(mismatches, 0);

  /* Metrics: per leaf, keyed by the element id; level entries counted,
   * nulls are null lists, empty lists and null elements; no bounds. */
  CHECK_INT_EQ(m.record_count, ROWS);
  REQUIRE(m.n_columns == N_COLS + 1);
  for (int c = 0; c < N_COLS; c++) {
    int64_t entries = 0, nulls = 0;
    for (int64_t r0 = 0; r0 < ROWS; r0++) {
      const char *want = expected[r0][c];
      if (want == NULL || strcmp(want, "[]") == 0) {
        entries++, nulls++;
        continue;
      }
      int kind = (int)(r0 % 7);
      int n = kind == 1 ? 0 : (int)(r0 % 5) + 1;
      entries += n;
      if (cols[c].element_nullable)
        for (int j = 0; j < n; j++) nulls += (r0 + j) % 4 == 3;
    }
    const floe_parquet_column_metrics *cm = &m.columns[c + 1];
    CHECK_INT_EQ(cm->field_id, cols[c].element_id);
    CHECK_INT_EQ(cm->value_count, entries);
    CHECK_INT_EQ(cm->null_count, nulls);
    CHECK(cm->lower_bound == NULL && cm->upper_bound == NULL);
  }
  CHECK(m.columns[0].lower_bound != NULL);
  floe_parquet_file_metrics_free(&m);
  floe_buf_free(&text);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(r);
  remove(path);
}

/* A null list in a required list, a null element among required elements:
 * refused with the column and row, and the file is still writable. */
static void test_required_lists_and_elements_refuse_nulls(void) {
  const list_col req[] = {{"nums", {FLOE_ARROW_INT32, 0, 0, 0}, false, false, 2, 3}};
  struct ArrowSchema schema;
  make_schema(&schema, req, 1);
  floe_error err = {0};
  floe_parquet_writer *w = NULL;
  const char *path = tmp_path();
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, NULL, &err), &err);
  for (int attempt = 0; attempt < 2; attempt++) {
    floe_arrow_batch_builder bb;
    REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
    floe_arrow_builder *e = NULL;
    floe_arrow_builder_append_int64(&bb.columns[0], 1);
    floe_arrow_builder_list_start(&bb.columns[1], &e);
    floe_arrow_builder_append_int32(e, 5);
    floe_arrow_builder_list_end(&bb.columns[1]);
    floe_arrow_builder_append_int64(&bb.columns[0], 2);
    if (attempt == 0) {
      floe_arrow_builder_append_null(&bb.columns[1]);
    } else {
      floe_arrow_builder_list_start(&bb.columns[1], &e);
      floe_arrow_builder_append_null(e);
      floe_arrow_builder_list_end(&bb.columns[1]);
    }
    struct ArrowArray batch;
    REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
    floe_arrow_batch_builder_free(&bb);
    CHECK_INT_EQ(floe_parquet_writer_write(w, &batch, &err), FLOE_EINVAL);
    CHECK_STR_EQ(err.message, attempt == 0
                                  ? "column 'nums' row 1: null in a required list"
                                  : "column 'nums' row 1: null element in a list of "
                                    "required elements");
    floe_arrow_array_release(&batch);
  }
  CHECK_INT_EQ(floe_parquet_writer_rows(w), 0);
  REQUIRE_OK(floe_parquet_writer_close(w, NULL, &err), &err);
  floe_parquet_writer_free(w);
  floe_arrow_schema_release(&schema);
  remove(path);
}

/* Required levels inside structs: a null required struct, a null required
 * field of a present struct and a null in a required list inside a struct
 * are refused with the column, row and field path before anything is
 * written; a null field under a null optional struct is fine. */
static void test_required_struct_fields_refuse_nulls(void) {
  floe_arrow_type_info t_long = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info t_int = floe_arrow_type_of(FLOE_ARROW_INT32);
  struct ArrowSchema schema;
  REQUIRE(floe_arrow_schema_init_struct(&schema, NULL, 2) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init_struct_field(schema.children[0], "r", false, 1, 2) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[0]->children[0], "n", &t_long, false, 2) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init_list_field(schema.children[0]->children[1], "l", false, 3) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[0]->children[1]->children[0], "element", &t_int,
                                 true, 4) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init_struct_field(schema.children[1], "o", true, 5, 1) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(schema.children[1]->children[0], "q", &t_long, false, 6) == FLOE_OK);
  floe_error err = {0};
  floe_parquet_writer *w = NULL;
  const char *path = tmp_path();
  REQUIRE_OK(floe_parquet_writer_open_file(&w, path, &schema, NULL, &err), &err);
  const char *want[] = {
      "column 'r' row 1: null in required field 'r'",
      "column 'r' row 1: null in required field 'r.n'",
      "column 'r' row 1: null in required field 'r.l'",
  };
  for (int attempt = 0; attempt < 4; attempt++) {
    floe_arrow_batch_builder bb;
    REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &schema, &err), &err);
    floe_arrow_builder *f, *e;
    int64_t n;
    for (int row = 0; row < 2; row++) {
      floe_arrow_builder *r = &bb.columns[0];
      if (row == 1 && attempt == 0) {
        floe_arrow_builder_append_null(r);
      } else {
        floe_arrow_builder_struct_start(r, &f, &n);
        if (row == 1 && attempt == 1)
          floe_arrow_builder_append_null(&f[0]);
        else
          floe_arrow_builder_append_int64(&f[0], row);
        if (row == 1 && attempt == 2) {
          floe_arrow_builder_append_null(&f[1]);
        } else {
          floe_arrow_builder_list_start(&f[1], &e);
          floe_arrow_builder_append_int32(e, row);
          floe_arrow_builder_list_end(&f[1]);
        }
        REQUIRE(floe_arrow_builder_struct_end(r) == FLOE_OK);
      }
      /* o: a null optional struct (its required field q is null beneath). */
      floe_arrow_builder_append_null(&bb.columns[1]);
    }
    struct ArrowArray batch;
    REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
    floe_arrow_batch_builder_free(&bb);
    if (attempt < 3) {
      CHECK_INT_EQ(floe_parquet_writer_write(w, &batch, &err), FLOE_EINVAL);
      CHECK_STR_EQ(err.message, want[attempt]);
      CHECK_INT_EQ(floe_parquet_writer_rows(w), 0);
    } else {
      CHECK_OK(floe_parquet_writer_write(w, &batch, &err), &err);
      CHECK_INT_EQ(floe_parquet_writer_rows(w), 2);
    }
    floe_arrow_array_release(&batch);
  }
  REQUIRE_OK(floe_parquet_writer_close(w, NULL, &err), &err);
  floe_parquet_writer_free(w);
  floe_arrow_schema_release(&schema);
  remove(path);
}

int main(void) {
  RUN(test_lists_round_trip_with_nulls_at_every_level);
  RUN(test_required_lists_and_elements_refuse_nulls);
  RUN(test_required_struct_fields_refuse_nulls);
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < N_COLS; c++) free(expected[r][c]);
  return test_report();
}
