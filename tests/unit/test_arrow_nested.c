/*
 * Unit tests of core/arrow's list support: list schemas ("+l" with an
 * "element" child carrying its own field id), the list builder (start,
 * child appends, end; null lists; empty lists; null elements), the buffers
 * it produces checked against the Arrow Columnar Format's list layout,
 * views and text rendering ("[a, b]" as the fixture CSVs render lists),
 * bulk appends from views (the scan's slice copies), release of children,
 * and allocation failures.
 */
#include <math.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "test.h"

/* Renders row i of a view into a static buffer. */
static const char *render(const floe_arrow_view *v, int64_t i) {
  static char text[512];
  floe_buf b = FLOE_BUF_INIT;
  if (floe_arrow_view_format(v, i, &b) != FLOE_OK) {
    floe_buf_free(&b);
    return "<error>";
  }
  size_t n = b.len < sizeof text - 1 ? b.len : sizeof text - 1;
  if (n) memcpy(text, b.data, n);
  text[n] = '\0';
  floe_buf_free(&b);
  return text;
}

static void test_list_schema_has_element_child_with_field_id(void) {
  struct ArrowSchema s;
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_UTF8);
  REQUIRE(floe_arrow_schema_init_list(&s, "tags", true, 12, &elem, false, 13) == FLOE_OK);
  CHECK_STR_EQ(s.format, "+l");
  CHECK_STR_EQ(s.name, "tags");
  CHECK(s.flags & ARROW_FLAG_NULLABLE);
  CHECK_INT_EQ(floe_arrow_schema_field_id(&s), 12);
  REQUIRE(s.n_children == 1);
  CHECK_STR_EQ(s.children[0]->format, "u");
  CHECK_STR_EQ(s.children[0]->name, "element");
  CHECK((s.children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[0]), 13);
  floe_arrow_type_info t;
  floe_error err = {0};
  CHECK_OK(floe_arrow_schema_type(&s, &t, &err), &err);
  CHECK(t.id == FLOE_ARROW_LIST);
  char text[32];
  floe_arrow_type_format(&t, text, sizeof text);
  CHECK_STR_EQ(text, "+l");
  floe_arrow_type_name(&t, text, sizeof text);
  CHECK_STR_EQ(text, "list");
  /* Deep copies keep the child and its metadata. */
  struct ArrowSchema copy;
  REQUIRE(floe_arrow_schema_copy(&copy, &s) == FLOE_OK);
  floe_arrow_schema_release(&s);
  CHECK(s.release == NULL);
  REQUIRE(copy.n_children == 1);
  CHECK_INT_EQ(floe_arrow_schema_field_id(copy.children[0]), 13);
  CHECK_STR_EQ(copy.children[0]->name, "element");
  floe_arrow_schema_release(&copy);
  /* No field ids: no metadata; a nullable element. */
  elem = floe_arrow_decimal(10, 2);
  REQUIRE(floe_arrow_schema_init_list(&s, "d", false, -1, &elem, true, -1) == FLOE_OK);
  CHECK(s.metadata == NULL && s.children[0]->metadata == NULL);
  CHECK_STR_EQ(s.children[0]->format, "d:10,2");
  CHECK(s.children[0]->flags & ARROW_FLAG_NULLABLE);
  CHECK((s.flags & ARROW_FLAG_NULLABLE) == 0);
  floe_arrow_schema_release(&s);
  /* Element lists are built by hand, not by this helper. */
  elem = floe_arrow_type_of(FLOE_ARROW_LIST);
  CHECK_INT_EQ(floe_arrow_schema_init_list(&s, "x", true, 1, &elem, true, 2), FLOE_EINVAL);
}

/* Builds [[1, 2, NULL], NULL, [], [7]] of int32. */
static void build_int_lists(floe_arrow_builder *b, struct ArrowArray *out) {
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_INT32);
  REQUIRE(floe_arrow_builder_init_list(b, &elem) == FLOE_OK);
  floe_arrow_builder *child = NULL;
  REQUIRE(floe_arrow_builder_list_start(b, &child) == FLOE_OK);
  REQUIRE(child != NULL);
  CHECK(floe_arrow_builder_append_int32(child, 1) == FLOE_OK);
  CHECK(floe_arrow_builder_append_int32(child, 2) == FLOE_OK);
  CHECK(floe_arrow_builder_append_null(child) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(b) == FLOE_OK);
  CHECK(floe_arrow_builder_append_null(b) == FLOE_OK);
  CHECK(floe_arrow_builder_list_start(b, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(b) == FLOE_OK);
  CHECK(floe_arrow_builder_list_start(b, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_append_int32(child, 7) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(b) == FLOE_OK);
  REQUIRE(floe_arrow_builder_finish(b, out) == FLOE_OK);
}

static void test_list_builder_produces_arrow_list_layout(void) {
  floe_arrow_builder b;
  struct ArrowArray a;
  build_int_lists(&b, &a);
  /* Arrow Columnar Format, Variable-size List Layout: validity, offsets
   * (length + 1 int32), one child. */
  CHECK_INT_EQ(a.length, 4);
  CHECK_INT_EQ(a.null_count, 1);
  REQUIRE(a.n_buffers == 2 && a.n_children == 1);
  const uint8_t *valid = a.buffers[0];
  const int32_t *off = a.buffers[1];
  REQUIRE(valid != NULL);
  CHECK(floe_arrow_bit(valid, 0) && !floe_arrow_bit(valid, 1) && floe_arrow_bit(valid, 2) &&
        floe_arrow_bit(valid, 3));
  const int32_t want_off[] = {0, 3, 3, 3, 4};
  for (int i = 0; i < 5; i++) CHECK_INT_EQ(off[i], want_off[i]);
  const struct ArrowArray *c = a.children[0];
  CHECK_INT_EQ(c->length, 4);
  CHECK_INT_EQ(c->null_count, 1);
  const int32_t *vals = c->buffers[1];
  CHECK_INT_EQ(vals[0], 1);
  CHECK_INT_EQ(vals[1], 2);
  CHECK_INT_EQ(vals[3], 7);
  CHECK(!floe_arrow_bit(c->buffers[0], 2));
  /* The builder is reset and keeps its element builder: a second batch. */
  CHECK_INT_EQ(b.length, 0);
  REQUIRE(b.child != NULL);
  CHECK_INT_EQ(b.child->length, 0);
  floe_arrow_builder *child;
  REQUIRE(floe_arrow_builder_list_start(&b, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_append_int32(child, 42) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(&b) == FLOE_OK);
  struct ArrowArray a2;
  REQUIRE(floe_arrow_builder_finish(&b, &a2) == FLOE_OK);
  CHECK_INT_EQ(a2.length, 1);
  CHECK_INT_EQ(a2.null_count, 0);
  CHECK(a2.buffers[0] == NULL);
  CHECK_INT_EQ(((const int32_t *)a2.children[0]->buffers[1])[0], 42);
  /* Releasing the list releases its child (ASan checks the leak). */
  floe_arrow_array_release(&a);
  floe_arrow_array_release(&a2);
  CHECK(a.release == NULL);
  floe_arrow_builder_free(&b);
  floe_arrow_builder_free(NULL);
}

static void test_list_builder_rejects_misuse(void) {
  floe_arrow_builder b;
  floe_arrow_type_info t = floe_arrow_type_of(FLOE_ARROW_INT64);
  REQUIRE(floe_arrow_builder_init(&b, &t) == FLOE_OK);
  floe_arrow_builder *child = (floe_arrow_builder *)&b;
  CHECK_INT_EQ(floe_arrow_builder_list_start(&b, &child), FLOE_EINVAL);
  CHECK(child == NULL);
  CHECK_INT_EQ(floe_arrow_builder_list_end(&b), FLOE_EINVAL);
  floe_arrow_builder_free(&b);
  /* A list type needs its element type. */
  t = floe_arrow_type_of(FLOE_ARROW_LIST);
  CHECK_INT_EQ(floe_arrow_builder_init(&b, &t), FLOE_EINVAL);
  floe_arrow_builder_free(&b);
  CHECK_INT_EQ(floe_arrow_builder_init_list(&b, &t), FLOE_EINVAL);
}

static void test_list_views_render_like_fixture_csvs(void) {
  floe_arrow_builder b;
  struct ArrowArray a;
  build_int_lists(&b, &a);
  struct ArrowSchema s;
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_INT32);
  REQUIRE(floe_arrow_schema_init_list(&s, "l", true, 1, &elem, true, 2) == FLOE_OK);
  floe_arrow_view v;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  CHECK(v.type.id == FLOE_ARROW_LIST);
  CHECK_STR_EQ(render(&v, 0), "[1, 2, \\N]");
  CHECK(floe_arrow_view_is_null(&v, 1));
  CHECK_STR_EQ(render(&v, 1), "\\N");
  CHECK_STR_EQ(render(&v, 2), "[]");
  CHECK_STR_EQ(render(&v, 3), "[7]");
  int64_t start, end;
  floe_arrow_view_list_range(&v, 3, &start, &end);
  CHECK_INT_EQ(start, 3);
  CHECK_INT_EQ(end, 4);
  floe_arrow_view child;
  REQUIRE_OK(floe_arrow_view_list_child(&v, &child, &err), &err);
  CHECK(child.type.id == FLOE_ARROW_INT32);
  CHECK_INT_EQ(child.length, 4);
  CHECK_INT_EQ(floe_arrow_view_int32(&child, 3), 7);
  /* A non-list view has no child. */
  CHECK_INT_EQ(floe_arrow_view_list_child(&child, &v, &err), FLOE_EINVAL);
  /* A sliced array (offset 2): rows [], [7]. */
  a.offset = 2;
  a.length = 2;
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  CHECK_STR_EQ(render(&v, 0), "[]");
  CHECK_STR_EQ(render(&v, 1), "[7]");
  /* Wrong shapes are refused. */
  a.n_children = 0;
  CHECK_INT_EQ(floe_arrow_view_init(&v, &s, &a, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "list column 'l'") != NULL);
  a.n_children = 1;
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&b);
}

/* The three fixture list values: list<string> (Spark), list<double>
 * (Trino), rendered exactly as their expected CSVs hold them. */
static void test_fixture_list_values_render_exactly(void) {
  floe_arrow_builder b;
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_UTF8);
  REQUIRE(floe_arrow_builder_init_list(&b, &elem) == FLOE_OK);
  floe_arrow_builder *child;
  REQUIRE(floe_arrow_builder_list_start(&b, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_append_bytes(child, "item1", 5) == FLOE_OK);
  CHECK(floe_arrow_builder_append_bytes(child, "item2", 5) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(&b) == FLOE_OK);
  struct ArrowArray a;
  REQUIRE(floe_arrow_builder_finish(&b, &a) == FLOE_OK);
  struct ArrowSchema s;
  REQUIRE(floe_arrow_schema_init_list(&s, "col11", true, 12, &elem, true, 13) == FLOE_OK);
  floe_arrow_view v;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  /* expected/iceberg/lithium_spark_all_types.v00000.csv */
  CHECK_STR_EQ(render(&v, 0), "[item1, item2]");
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&b);

  elem = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  REQUIRE(floe_arrow_builder_init_list(&b, &elem) == FLOE_OK);
  REQUIRE(floe_arrow_builder_list_start(&b, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_append_double(child, 1.1) == FLOE_OK);
  CHECK(floe_arrow_builder_append_double(child, 2.2) == FLOE_OK);
  CHECK(floe_arrow_builder_append_double(child, 3.3) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(&b) == FLOE_OK);
  REQUIRE(floe_arrow_builder_finish(&b, &a) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init_list(&s, "list_col", true, 15, &elem, true, 16) == FLOE_OK);
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  /* expected/iceberg/lithium_trino_all_types.v00002.csv */
  CHECK_STR_EQ(render(&v, 0), "[1.1, 2.2, 3.3]");
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&b);
}

static void test_batch_builder_builds_list_columns_from_schema(void) {
  struct ArrowSchema s;
  REQUIRE(floe_arrow_schema_init_struct(&s, "", 2) == FLOE_OK);
  floe_arrow_type_info id = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_BOOL);
  REQUIRE(floe_arrow_schema_init(s.children[0], "id", &id, false, 1) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init_list(s.children[1], "flags", true, 2, &elem, true, 3) == FLOE_OK);
  floe_arrow_batch_builder bb;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_batch_builder_init(&bb, &s, &err), &err);
  CHECK(bb.columns[1].type.id == FLOE_ARROW_LIST);
  REQUIRE(bb.columns[1].child != NULL);
  CHECK(bb.columns[1].child->type.id == FLOE_ARROW_BOOL);
  for (int r = 0; r < 20; r++) {
    CHECK(floe_arrow_builder_append_int64(&bb.columns[0], r) == FLOE_OK);
    floe_arrow_builder *child;
    CHECK(floe_arrow_builder_list_start(&bb.columns[1], &child) == FLOE_OK);
    for (int k = 0; k < r % 3; k++) CHECK(floe_arrow_builder_append_bool(child, (r + k) % 2) == FLOE_OK);
    CHECK(floe_arrow_builder_list_end(&bb.columns[1]) == FLOE_OK);
  }
  struct ArrowArray batch;
  REQUIRE_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  floe_arrow_view v;
  REQUIRE_OK(floe_arrow_view_init(&v, s.children[1], batch.children[1], &err), &err);
  CHECK_STR_EQ(render(&v, 0), "[]");
  CHECK_STR_EQ(render(&v, 1), "[true]");
  CHECK_STR_EQ(render(&v, 2), "[false, true]");
  CHECK_STR_EQ(render(&v, 5), "[true, false]");
  floe_arrow_array_release(&batch);
  floe_arrow_batch_builder_free(&bb);
  /* A list schema whose child is missing is refused. */
  struct ArrowSchema *child = s.children[1]->children[0];
  s.children[1]->n_children = 0;
  CHECK_INT_EQ(floe_arrow_batch_builder_init(&bb, &s, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "flags") != NULL);
  s.children[1]->n_children = 1;
  s.children[1]->children[0] = child;
  floe_arrow_schema_release(&s);
}

/* Bulk appends give the same values as row-by-row ones, for every layout,
 * across offsets, nulls and unaligned bit positions. */
static void test_append_view_copies_slices_exactly(void) {
  const floe_arrow_type_info types[] = {
      floe_arrow_type_of(FLOE_ARROW_BOOL),   floe_arrow_type_of(FLOE_ARROW_INT32),
      floe_arrow_type_of(FLOE_ARROW_INT64),  floe_arrow_type_of(FLOE_ARROW_DOUBLE),
      floe_arrow_decimal(20, 3),             floe_arrow_type_of(FLOE_ARROW_UTF8),
      floe_arrow_fixed(3),                   floe_arrow_type_of(FLOE_ARROW_UUID),
  };
  floe_error err = {0};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    for (int with_nulls = 0; with_nulls < 2; with_nulls++) {
      floe_arrow_builder src;
      REQUIRE(floe_arrow_builder_init(&src, &types[t]) == FLOE_OK);
      const int n = 100;
      for (int i = 0; i < n; i++) {
        if (with_nulls && i % 7 == 3) {
          CHECK(floe_arrow_builder_append_null(&src) == FLOE_OK);
          continue;
        }
        uint8_t bytes[16];
        for (int k = 0; k < 16; k++) bytes[k] = (uint8_t)(i * 31 + k);
        switch (types[t].id) {
          case FLOE_ARROW_BOOL: floe_arrow_builder_append_bool(&src, i % 3 == 0); break;
          case FLOE_ARROW_INT32: floe_arrow_builder_append_int32(&src, i * 1000 - 7); break;
          case FLOE_ARROW_INT64: floe_arrow_builder_append_int64(&src, (int64_t)i << 40); break;
          case FLOE_ARROW_DOUBLE: floe_arrow_builder_append_double(&src, i / 8.0); break;
          case FLOE_ARROW_DECIMAL128: floe_arrow_builder_append_decimal(&src, (floe_int128)i * -12345); break;
          case FLOE_ARROW_UTF8: {
            char text[32];
            int len = snprintf(text, sizeof text, "v%d%.*s", i, i % 5, "xxxxx");
            floe_arrow_builder_append_bytes(&src, text, (size_t)len);
            break;
          }
          default: floe_arrow_builder_append_bytes(&src, bytes, (size_t)types[t].byte_width); break;
        }
      }
      struct ArrowArray arr;
      REQUIRE(floe_arrow_builder_finish(&src, &arr) == FLOE_OK);
      struct ArrowSchema sch;
      REQUIRE(floe_arrow_schema_init(&sch, "c", &types[t], true, -1) == FLOE_OK);
      arr.offset = 5; /* a slice: bit positions start unaligned */
      arr.length = n - 5;
      floe_arrow_view v;
      REQUIRE_OK(floe_arrow_view_init(&v, &sch, &arr, &err), &err);
      /* bulk: three slices [0,3) [3,50) [60,95) */
      floe_arrow_builder bulk, rows;
      REQUIRE(floe_arrow_builder_init(&bulk, &types[t]) == FLOE_OK);
      REQUIRE(floe_arrow_builder_init(&rows, &types[t]) == FLOE_OK);
      CHECK(floe_arrow_builder_append_view(&bulk, &v, 0, 3) == FLOE_OK);
      CHECK(floe_arrow_builder_append_view(&bulk, &v, 3, 47) == FLOE_OK);
      CHECK(floe_arrow_builder_append_view(&bulk, &v, 60, 35) == FLOE_OK);
      CHECK(floe_arrow_builder_append_view(&bulk, &v, 60, 0) == FLOE_OK);
      CHECK_INT_EQ(floe_arrow_builder_append_view(&bulk, &v, 90, 6), FLOE_EINVAL);
      int64_t idx[85], m = 0;
      for (int64_t i = 0; i < 50; i++) idx[m++] = i;
      for (int64_t i = 60; i < 95; i++) idx[m++] = i;
      struct ArrowArray got;
      REQUIRE(floe_arrow_builder_finish(&bulk, &got) == FLOE_OK);
      CHECK_INT_EQ(got.length, 85);
      floe_arrow_view gv;
      REQUIRE_OK(floe_arrow_view_init(&gv, &sch, &got, &err), &err);
      int64_t nulls = 0;
      for (int64_t k = 0; k < m; k++) {
        char want[256];
        snprintf(want, sizeof want, "%s", render(&v, idx[k]));
        if (strcmp(render(&gv, k), want) != 0) {
          TEST_FAIL_AT(__FILE__, __LINE__, "type %zu nulls %d row %lld: got %s want %s", t, with_nulls,
                       (long long)k, render(&gv, k), want);
          break;
        }
        nulls += floe_arrow_view_is_null(&v, idx[k]);
      }
      CHECK_INT_EQ(got.null_count, nulls);
      floe_arrow_array_release(&got);
      floe_arrow_array_release(&arr);
      floe_arrow_schema_release(&sch);
      floe_arrow_builder_free(&bulk);
      floe_arrow_builder_free(&rows);
      floe_arrow_builder_free(&src);
    }
  }
}

static void test_append_view_copies_lists_and_rebases_offsets(void) {
  floe_arrow_builder b;
  struct ArrowArray a;
  build_int_lists(&b, &a); /* [1, 2, \N], \N, [], [7] */
  struct ArrowSchema s;
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_INT32);
  REQUIRE(floe_arrow_schema_init_list(&s, "l", true, 1, &elem, true, 2) == FLOE_OK);
  floe_arrow_view v;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  floe_arrow_builder out;
  REQUIRE(floe_arrow_builder_init_list(&out, &elem) == FLOE_OK);
  /* something first, so the copies are rebased onto a non-zero offset */
  floe_arrow_builder *child;
  REQUIRE(floe_arrow_builder_list_start(&out, &child) == FLOE_OK);
  CHECK(floe_arrow_builder_append_int32(child, 9) == FLOE_OK);
  CHECK(floe_arrow_builder_list_end(&out) == FLOE_OK);
  CHECK(floe_arrow_builder_append_view(&out, &v, 2, 2) == FLOE_OK);
  CHECK(floe_arrow_builder_append_view(&out, &v, 0, 4) == FLOE_OK);
  struct ArrowArray got;
  REQUIRE(floe_arrow_builder_finish(&out, &got) == FLOE_OK);
  floe_arrow_view gv;
  REQUIRE_OK(floe_arrow_view_init(&gv, &s, &got, &err), &err);
  const char *want[] = {"[9]", "[]", "[7]", "[1, 2, \\N]", "\\N", "[]", "[7]"};
  CHECK_INT_EQ(got.length, 7);
  CHECK_INT_EQ(got.null_count, 1);
  for (int i = 0; i < 7; i++) CHECK_STR_EQ(render(&gv, i), want[i]);
  CHECK_INT_EQ(got.children[0]->length, 6);
  /* Element layouts must match. */
  floe_arrow_builder longs;
  floe_arrow_type_info l64 = floe_arrow_type_of(FLOE_ARROW_INT64);
  REQUIRE(floe_arrow_builder_init_list(&longs, &l64) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_append_view(&longs, &v, 0, 1), FLOE_EINVAL);
  floe_arrow_builder_free(&longs);
  floe_arrow_array_release(&got);
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&out);
  floe_arrow_builder_free(&b);
}

/* Doubles (also as list elements) render as the shortest round-trip text
 * in Python repr's notation, which DuckDB shares ("10.0", not "1e+01");
 * expected strings are Python's repr of the same values. */
static void test_floats_render_shortest_in_repr_notation(void) {
  const struct {
    double v;
    const char *want;
  } cases[] = {{10.0, "10.0"}, {100.0, "100.0"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"},
               {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.1, "1.1"},
               {1.7976931348623157e308, "1.7976931348623157e+308"}, {-0.0, "-0.0"},
               {123456.78901, "123456.78901"}, {10.125, "10.125"}, {-2.5e-7, "-2.5e-07"},
               {5e-324, "5e-324"}};
  floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  floe_arrow_builder b;
  REQUIRE(floe_arrow_builder_init_list(&b, &elem) == FLOE_OK);
  floe_arrow_builder *child;
  size_t n = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < n; i++) {
    REQUIRE(floe_arrow_builder_list_start(&b, &child) == FLOE_OK);
    CHECK(floe_arrow_builder_append_double(child, cases[i].v) == FLOE_OK);
    CHECK(floe_arrow_builder_list_end(&b) == FLOE_OK);
  }
  struct ArrowArray a;
  REQUIRE(floe_arrow_builder_finish(&b, &a) == FLOE_OK);
  struct ArrowSchema s;
  REQUIRE(floe_arrow_schema_init_list(&s, "d", true, 1, &elem, true, 2) == FLOE_OK);
  floe_arrow_view v;
  floe_error err = {0};
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "[%s]", cases[i].want);
    CHECK_STR_EQ(render(&v, (int64_t)i), want);
  }
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&b);
  /* float: the shortest text that reads back as the same float */
  floe_arrow_type_info ft = floe_arrow_type_of(FLOE_ARROW_FLOAT);
  REQUIRE(floe_arrow_builder_init(&b, &ft) == FLOE_OK);
  CHECK(floe_arrow_builder_append_float(&b, 3.4028235e38f) == FLOE_OK);
  CHECK(floe_arrow_builder_append_float(&b, 3.14f) == FLOE_OK);
  CHECK(floe_arrow_builder_append_float(&b, 10.0f) == FLOE_OK);
  REQUIRE(floe_arrow_builder_finish(&b, &a) == FLOE_OK);
  REQUIRE(floe_arrow_schema_init(&s, "f", &ft, true, -1) == FLOE_OK);
  REQUIRE_OK(floe_arrow_view_init(&v, &s, &a, &err), &err);
  CHECK_STR_EQ(render(&v, 0), "3.4028235e+38");
  CHECK_STR_EQ(render(&v, 1), "3.14");
  CHECK_STR_EQ(render(&v, 2), "10.0");
  floe_arrow_array_release(&a);
  floe_arrow_schema_release(&s);
  floe_arrow_builder_free(&b);
}

/* Every allocation of building, finishing and rendering a list batch can
 * fail: the code is ENOMEM and nothing leaks (ASan). */
static void test_list_allocation_failures_are_clean(void) {
  int failures = 0;
  for (long n = 1; n < 200; n++) {
    floe_alloc_fail_after(n);
    int rc = FLOE_OK;
    struct ArrowSchema s = {0};
    floe_arrow_batch_builder bb = {0};
    struct ArrowArray batch = {0};
    floe_error err = {0};
    floe_arrow_type_info elem = floe_arrow_type_of(FLOE_ARROW_UTF8);
    rc = floe_arrow_schema_init_struct(&s, "", 1);
    if (rc == FLOE_OK) rc = floe_arrow_schema_init_list(s.children[0], "l", true, 1, &elem, true, 2);
    bool bb_ready = false;
    if (rc == FLOE_OK) {
      rc = floe_arrow_batch_builder_init(&bb, &s, &err);
      bb_ready = rc == FLOE_OK;
    }
    for (int r = 0; r < 50 && rc == FLOE_OK; r++) {
      floe_arrow_builder *child;
      rc = floe_arrow_builder_list_start(&bb.columns[0], &child);
      for (int k = 0; k < 3 && rc == FLOE_OK; k++) rc = floe_arrow_builder_append_bytes(child, "abcdefgh", 8);
      if (rc == FLOE_OK) rc = floe_arrow_builder_list_end(&bb.columns[0]);
    }
    if (rc == FLOE_OK) rc = floe_arrow_batch_builder_finish(&bb, &batch, &err);
    floe_buf text = FLOE_BUF_INIT;
    if (rc == FLOE_OK) {
      floe_arrow_view v;
      rc = floe_arrow_view_init(&v, s.children[0], batch.children[0], &err);
      if (rc == FLOE_OK) rc = floe_arrow_view_format(&v, 49, &text);
    }
    floe_alloc_fail_after(0);
    floe_buf_free(&text);
    floe_arrow_array_release(&batch);
    if (bb_ready) floe_arrow_batch_builder_free(&bb);
    floe_arrow_schema_release(&s);
    if (rc == FLOE_OK) break;
    CHECK_INT_EQ(rc, FLOE_ENOMEM);
    failures++;
  }
  CHECK(failures > 8);
}

int main(void) {
  RUN(test_list_schema_has_element_child_with_field_id);
  RUN(test_list_builder_produces_arrow_list_layout);
  RUN(test_list_builder_rejects_misuse);
  RUN(test_list_views_render_like_fixture_csvs);
  RUN(test_fixture_list_values_render_exactly);
  RUN(test_batch_builder_builds_list_columns_from_schema);
  RUN(test_append_view_copies_slices_exactly);
  RUN(test_append_view_copies_lists_and_rebases_offsets);
  RUN(test_floats_render_shortest_in_repr_notation);
  RUN(test_list_allocation_failures_are_clean);
  return test_report();
}
