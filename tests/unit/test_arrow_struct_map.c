/*
 * Unit tests of core/arrow's structs ("+s") and maps ("+m") and their
 * nesting in lists and in each other: schemas with field ids on every
 * nested field (struct fields, element, key, value), builders made from
 * those schemas, the buffers they produce checked against the Arrow
 * Columnar Format's Struct and Map layouts, nulls at every level (null
 * struct, null field, null map, null value, null list, null element),
 * views and text rendering, bulk appends from views (batch
 * concatenation) including offset slices, misuse, and allocation
 * failures.
 */
#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "test.h"

static const char *render(const floe_arrow_view *v, int64_t i) {
  static char text[1024];
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

/* The batch schema used throughout:
 *   id    long (1)
 *   s     struct<a: int (3), b: string (4), inner: struct<x: double (6)> (5)> (2)
 *   m     map<string (8), list<int (10)> (9)> (7)
 *   ls    list<struct<k: string (13), v: map<int (15), string (16)> (14)> (12)> (11)
 * Every nested field is nullable except map keys, entries and ls's element. */
static int make_schema(struct ArrowSchema *s) {
  floe_arrow_type_info t_long = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info t_int = floe_arrow_type_of(FLOE_ARROW_INT32);
  floe_arrow_type_info t_str = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info t_dbl = floe_arrow_type_of(FLOE_ARROW_DOUBLE);
  int rc = floe_arrow_schema_init_struct(s, NULL, 4);
  if (rc < 0) return rc;
  struct ArrowSchema **c = s->children;
  if ((rc = floe_arrow_schema_init(c[0], "id", &t_long, false, 1)) < 0) goto fail;
  /* s */
  if ((rc = floe_arrow_schema_init_struct_field(c[1], "s", true, 2, 3)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init(c[1]->children[0], "a", &t_int, true, 3)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init(c[1]->children[1], "b", &t_str, true, 4)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init_struct_field(c[1]->children[2], "inner", true, 5, 1)) < 0)
    goto fail;
  if ((rc = floe_arrow_schema_init(c[1]->children[2]->children[0], "x", &t_dbl, true, 6)) < 0)
    goto fail;
  /* m */
  if ((rc = floe_arrow_schema_init_map(c[2], "m", true, 7)) < 0) goto fail;
  struct ArrowSchema *entries = c[2]->children[0];
  if ((rc = floe_arrow_schema_init(entries->children[0], "key", &t_str, false, 8)) < 0)
    goto fail;
  if ((rc = floe_arrow_schema_init_list_field(entries->children[1], "value", true, 9)) < 0)
    goto fail;
  if ((rc = floe_arrow_schema_init(entries->children[1]->children[0], "element", &t_int, true,
                                   10)) < 0)
    goto fail;
  /* ls */
  if ((rc = floe_arrow_schema_init_list_field(c[3], "ls", true, 11)) < 0) goto fail;
  struct ArrowSchema *el = c[3]->children[0];
  if ((rc = floe_arrow_schema_init_struct_field(el, "element", false, 12, 2)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init(el->children[0], "k", &t_str, true, 13)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init_map(el->children[1], "v", true, 14)) < 0) goto fail;
  if ((rc = floe_arrow_schema_init(el->children[1]->children[0]->children[0], "key", &t_int,
                                   false, 15)) < 0)
    goto fail;
  if ((rc = floe_arrow_schema_init(el->children[1]->children[0]->children[1], "value", &t_str,
                                   true, 16)) < 0)
    goto fail;
  return FLOE_OK;
fail:
  floe_arrow_schema_release(s);
  return rc;
}

#define TRY(call)                  \
  do {                             \
    int rc_ = (call);              \
    if (rc_ < 0) return rc_;       \
  } while (0)

/* Appends row `r` (0..5) of the test data:
 *  0: id 1, s {a: 1, b: one, inner: {x: 1.5}}, m {k1 -> [1, 2], k2 -> \N},
 *     ls [{k: p, v: {1 -> one, 2 -> \N}}]
 *  1: id 2, s \N, m \N, ls \N
 *  2: id 3, s {a: \N, b: \N, inner: \N}, m {}, ls []
 *  3: id 4, s {a: 3, b: , inner: {x: \N}}, m {e -> []}, ls [{k: \N, v: \N}, {k: q, v: {}}]
 *  4..: id r+1, s {a: r, b: \N, inner: {x: r}}, m {k -> [r, \N]}, ls [{k: r, v: {r -> r}}] */
static int append_row(floe_arrow_batch_builder *bb, int r) {
  floe_arrow_builder *id = &bb->columns[0], *s = &bb->columns[1], *m = &bb->columns[2],
                     *ls = &bb->columns[3];
  TRY(floe_arrow_builder_append_int64(id, r + 1));
  floe_arrow_builder *f, *inner, *keys, *values, *el, *elf;
  int64_t n;
  char text[16];
  if (r == 1) {
    TRY(floe_arrow_builder_append_null(s));
    TRY(floe_arrow_builder_append_null(m));
    TRY(floe_arrow_builder_append_null(ls));
    return FLOE_OK;
  }
  /* s */
  TRY(floe_arrow_builder_struct_start(s, &f, &n));
  if (n != 3) return FLOE_EINVAL;
  if (r == 2) {
    TRY(floe_arrow_builder_append_null(&f[0]));
    TRY(floe_arrow_builder_append_null(&f[1]));
    TRY(floe_arrow_builder_append_null(&f[2]));
  } else {
    TRY(floe_arrow_builder_append_int32(&f[0], r == 0 ? 1 : r));
    if (r == 0)
      TRY(floe_arrow_builder_append_bytes(&f[1], "one", 3));
    else if (r == 3)
      TRY(floe_arrow_builder_append_bytes(&f[1], "", 0));
    else
      TRY(floe_arrow_builder_append_null(&f[1]));
    TRY(floe_arrow_builder_struct_start(&f[2], &inner, &n));
    if (r == 3)
      TRY(floe_arrow_builder_append_null(&inner[0]));
    else
      TRY(floe_arrow_builder_append_double(&inner[0], r == 0 ? 1.5 : r));
    TRY(floe_arrow_builder_struct_end(&f[2]));
  }
  TRY(floe_arrow_builder_struct_end(s));
  /* m */
  TRY(floe_arrow_builder_map_start(m, &keys, &values));
  if (r == 0) {
    TRY(floe_arrow_builder_append_bytes(keys, "k1", 2));
    TRY(floe_arrow_builder_list_start(values, &el));
    TRY(floe_arrow_builder_append_int32(el, 1));
    TRY(floe_arrow_builder_append_int32(el, 2));
    TRY(floe_arrow_builder_list_end(values));
    TRY(floe_arrow_builder_append_bytes(keys, "k2", 2));
    TRY(floe_arrow_builder_append_null(values));
  } else if (r == 3) {
    TRY(floe_arrow_builder_append_bytes(keys, "e", 1));
    TRY(floe_arrow_builder_list_start(values, &el));
    TRY(floe_arrow_builder_list_end(values));
  } else if (r >= 4) {
    TRY(floe_arrow_builder_append_bytes(keys, "k", 1));
    TRY(floe_arrow_builder_list_start(values, &el));
    TRY(floe_arrow_builder_append_int32(el, r));
    TRY(floe_arrow_builder_append_null(el));
    TRY(floe_arrow_builder_list_end(values));
  }
  TRY(floe_arrow_builder_map_end(m));
  /* ls */
  TRY(floe_arrow_builder_list_start(ls, &el));
  if (r == 0 || r >= 4) {
    snprintf(text, sizeof text, "%d", r);
    TRY(floe_arrow_builder_struct_start(el, &elf, &n));
    TRY(floe_arrow_builder_append_bytes(&elf[0], r == 0 ? "p" : text,
                                        r == 0 ? 1 : strlen(text)));
    TRY(floe_arrow_builder_map_start(&elf[1], &keys, &values));
    if (r == 0) {
      TRY(floe_arrow_builder_append_int32(keys, 1));
      TRY(floe_arrow_builder_append_bytes(values, "one", 3));
      TRY(floe_arrow_builder_append_int32(keys, 2));
      TRY(floe_arrow_builder_append_null(values));
    } else {
      TRY(floe_arrow_builder_append_int32(keys, r));
      TRY(floe_arrow_builder_append_bytes(values, text, strlen(text)));
    }
    TRY(floe_arrow_builder_map_end(&elf[1]));
    TRY(floe_arrow_builder_struct_end(el));
  } else if (r == 3) {
    TRY(floe_arrow_builder_struct_start(el, &elf, &n));
    TRY(floe_arrow_builder_append_null(&elf[0]));
    TRY(floe_arrow_builder_append_null(&elf[1]));
    TRY(floe_arrow_builder_struct_end(el));
    TRY(floe_arrow_builder_struct_start(el, &elf, &n));
    TRY(floe_arrow_builder_append_bytes(&elf[0], "q", 1));
    TRY(floe_arrow_builder_map_start(&elf[1], &keys, &values));
    TRY(floe_arrow_builder_map_end(&elf[1]));
    TRY(floe_arrow_builder_struct_end(el));
  }
  TRY(floe_arrow_builder_list_end(ls));
  return FLOE_OK;
}

static const char *const want_rows[4][3] = {
    {"{a: 1, b: one, inner: {x: 1.5}}", "{k1 -> [1, 2], k2 -> \\N}",
     "[{k: p, v: {1 -> one, 2 -> \\N}}]"},
    {"\\N", "\\N", "\\N"},
    {"{a: \\N, b: \\N, inner: \\N}", "{}", "[]"},
    {"{a: 3, b: , inner: {x: \\N}}", "{e -> []}", "[{k: \\N, v: \\N}, {k: q, v: {}}]"},
};

static void test_nested_schemas_carry_field_ids_at_every_level(void) {
  struct ArrowSchema s;
  REQUIRE(make_schema(&s) == FLOE_OK);
  floe_error err = {0};
  floe_arrow_type_info t;
  CHECK_STR_EQ(s.children[1]->format, "+s");
  CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[1]), 2);
  CHECK(s.children[1]->flags & ARROW_FLAG_NULLABLE);
  CHECK_INT_EQ(floe_arrow_schema_field_id(s.children[1]->children[2]->children[0]), 6);
  struct ArrowSchema *m = s.children[2];
  CHECK_STR_EQ(m->format, "+m");
  CHECK_OK(floe_arrow_schema_type(m, &t, &err), &err);
  CHECK(t.id == FLOE_ARROW_MAP);
  char text[32];
  floe_arrow_type_name(&t, text, sizeof text);
  CHECK_STR_EQ(text, "map");
  floe_arrow_type_format(&t, text, sizeof text);
  CHECK_STR_EQ(text, "+m");
  /* Arrow Columnar Format, Map: entries is a non-nullable struct of a
   * non-nullable key and a value. */
  REQUIRE(m->n_children == 1);
  CHECK_STR_EQ(m->children[0]->name, "entries");
  CHECK_STR_EQ(m->children[0]->format, "+s");
  CHECK((m->children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_STR_EQ(m->children[0]->children[0]->name, "key");
  CHECK((m->children[0]->children[0]->flags & ARROW_FLAG_NULLABLE) == 0);
  CHECK_INT_EQ(floe_arrow_schema_field_id(m->children[0]->children[0]), 8);
  CHECK_INT_EQ(floe_arrow_schema_field_id(m->children[0]->children[1]), 9);
  CHECK_INT_EQ(floe_arrow_schema_field_id(m->children[0]->children[1]->children[0]), 10);
  CHECK(floe_arrow_type_is_nested(FLOE_ARROW_MAP) && floe_arrow_type_is_nested(FLOE_ARROW_STRUCT) &&
        !floe_arrow_type_is_nested(FLOE_ARROW_UTF8));
  /* Deep copies keep every level. */
  struct ArrowSchema copy;
  REQUIRE(floe_arrow_schema_copy(&copy, &s) == FLOE_OK);
  floe_arrow_schema_release(&s);
  CHECK_INT_EQ(
      floe_arrow_schema_field_id(copy.children[3]->children[0]->children[1]->children[0]->children[1]),
      16);
  CHECK_STR_EQ(copy.children[3]->children[0]->children[1]->format, "+m");
  floe_arrow_schema_release(&copy);
  /* A map schema whose children were never set is released cleanly. */
  REQUIRE(floe_arrow_schema_init_map(&s, "bare", false, -1) == FLOE_OK);
  CHECK(s.metadata == NULL);
  floe_arrow_schema_release(&s);
}

static void test_struct_and_map_builders_produce_arrow_layouts(void) {
  struct ArrowSchema s;
  REQUIRE(make_schema(&s) == FLOE_OK);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  CHECK_OK(floe_arrow_batch_builder_init(&bb, &s, &err), &err);
  for (int r = 0; r < 4; r++) CHECK_INT_EQ(append_row(&bb, r), FLOE_OK);
  struct ArrowArray batch;
  CHECK_OK(floe_arrow_batch_builder_finish(&bb, &batch, &err), &err);
  REQUIRE(batch.length == 4);
  /* Struct Layout: one validity buffer, children as long as the struct. */
  const struct ArrowArray *sa = batch.children[1];
  CHECK_INT_EQ(sa->n_buffers, 1);
  CHECK_INT_EQ(sa->n_children, 3);
  CHECK_INT_EQ(sa->null_count, 1);
  CHECK(!floe_arrow_bit(sa->buffers[0], 1) && floe_arrow_bit(sa->buffers[0], 2));
  for (int k = 0; k < 3; k++) CHECK_INT_EQ(sa->children[k]->length, 4);
  CHECK_INT_EQ(sa->children[0]->null_count, 2); /* null struct row, null a */
  CHECK_INT_EQ(((const int32_t *)sa->children[0]->buffers[1])[3], 3);
  CHECK_INT_EQ(sa->children[2]->children[0]->length, 4);
  /* Map Layout: validity, offsets, one non-null entries struct. */
  const struct ArrowArray *ma = batch.children[2];
  CHECK_INT_EQ(ma->n_buffers, 2);
  CHECK_INT_EQ(ma->null_count, 1);
  const int32_t *off = ma->buffers[1];
  const int32_t want_off[] = {0, 2, 2, 2, 3};
  for (int i = 0; i < 5; i++) CHECK_INT_EQ(off[i], want_off[i]);
  REQUIRE(ma->n_children == 1);
  const struct ArrowArray *entries = ma->children[0];
  CHECK_INT_EQ(entries->length, 3);
  CHECK_INT_EQ(entries->null_count, 0);
  CHECK(entries->buffers[0] == NULL);
  CHECK_INT_EQ(entries->children[0]->length, 3);
  CHECK_INT_EQ(entries->children[0]->null_count, 0);
  CHECK_INT_EQ(entries->children[1]->null_count, 1);
  /* list<struct<k, map>>: the element struct holds all rows' elements. */
  const struct ArrowArray *la = batch.children[3];
  CHECK_INT_EQ(la->children[0]->length, 3);
  CHECK_INT_EQ(la->children[0]->children[1]->null_count, 1);
  /* Views and rendering. */
  floe_arrow_view top;
  CHECK_OK(floe_arrow_view_init(&top, &s, &batch, &err), &err);
  CHECK_INT_EQ(top.n_children, 4);
  for (int col = 1; col <= 3; col++) {
    floe_arrow_view v;
    CHECK_OK(floe_arrow_view_struct_child(&top, col, &v, &err), &err);
    for (int r = 0; r < 4; r++) CHECK_STR_EQ(render(&v, r), want_rows[r][col - 1]);
  }
  /* Field views by hand: s.inner.x of row 0, map keys and values. */
  floe_arrow_view sv, inner, x, keys, values, elem;
  CHECK_OK(floe_arrow_view_struct_child(&top, 1, &sv, &err), &err);
  CHECK(floe_arrow_view_is_null(&sv, 1) && !floe_arrow_view_is_null(&sv, 2));
  CHECK_OK(floe_arrow_view_struct_child(&sv, 2, &inner, &err), &err);
  CHECK(floe_arrow_view_is_null(&inner, 2));
  CHECK_OK(floe_arrow_view_struct_child(&inner, 0, &x, &err), &err);
  CHECK(floe_arrow_view_double(&x, 0) == 1.5);
  CHECK(floe_arrow_view_is_null(&x, 3));
  floe_arrow_view mv;
  CHECK_OK(floe_arrow_view_struct_child(&top, 2, &mv, &err), &err);
  CHECK_OK(floe_arrow_view_map_entries(&mv, &keys, &values, &err), &err);
  int64_t start, end;
  floe_arrow_view_list_range(&mv, 3, &start, &end);
  CHECK_INT_EQ(start, 2);
  CHECK_INT_EQ(end, 3);
  CHECK_STR_EQ(render(&keys, 2), "e");
  CHECK_OK(floe_arrow_view_list_child(&values, &elem, &err), &err);
  CHECK_INT_EQ(floe_arrow_view_int32(&elem, 1), 2);
  /* Misuse of views. */
  CHECK_INT_EQ(floe_arrow_view_struct_child(&top, 4, &x, &err), FLOE_EINVAL);
  CHECK_INT_EQ(floe_arrow_view_map_entries(&sv, &keys, &values, &err), FLOE_EINVAL);
  /* The builders were reset with their children: a second batch. */
  CHECK_INT_EQ(bb.columns[1].length, 0);
  CHECK_INT_EQ(bb.columns[1].children[2].children[0].length, 0);
  CHECK_INT_EQ(append_row(&bb, 3), FLOE_OK);
  struct ArrowArray batch2;
  CHECK_OK(floe_arrow_batch_builder_finish(&bb, &batch2, &err), &err);
  CHECK_OK(floe_arrow_view_init(&top, &s, &batch2, &err), &err);
  for (int col = 1; col <= 3; col++) {
    floe_arrow_view v;
    CHECK_OK(floe_arrow_view_struct_child(&top, col, &v, &err), &err);
    CHECK_STR_EQ(render(&v, 0), want_rows[3][col - 1]);
  }
  floe_arrow_array_release(&batch);
  floe_arrow_array_release(&batch2);
  floe_arrow_batch_builder_free(&bb);
  floe_arrow_schema_release(&s);
}

static void test_struct_and_map_builders_reject_misuse(void) {
  struct ArrowSchema s;
  REQUIRE(make_schema(&s) == FLOE_OK);
  floe_error err = {0};
  floe_arrow_batch_builder bb;
  CHECK_OK(floe_arrow_batch_builder_init(&bb, &s, &err), &err);
  floe_arrow_builder *st = &bb.columns[1], *m = &bb.columns[2], *f, *keys, *values;
  int64_t n;
  /* A struct row whose fields were not all appended is not closed. */
  REQUIRE(floe_arrow_builder_struct_start(st, &f, &n) == FLOE_OK);
  CHECK(floe_arrow_builder_append_int32(&f[0], 1) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_struct_end(st), FLOE_EINVAL);
  CHECK_INT_EQ(st->length, 0);
  CHECK(floe_arrow_builder_struct_child(st, 0) == &f[0]);
  CHECK(floe_arrow_builder_struct_child(st, 3) == NULL);
  CHECK(floe_arrow_builder_struct_child(m, 0) == NULL);
  /* Start/end on the wrong kind of builder. */
  CHECK_INT_EQ(floe_arrow_builder_struct_start(m, &f, &n), FLOE_EINVAL);
  CHECK(f == NULL && n == 0);
  CHECK_INT_EQ(floe_arrow_builder_map_start(st, &keys, &values), FLOE_EINVAL);
  CHECK_INT_EQ(floe_arrow_builder_map_end(st), FLOE_EINVAL);
  CHECK_INT_EQ(floe_arrow_builder_list_start(m, &f), FLOE_EINVAL);
  /* Keys and values must pair up, and keys are never null. */
  REQUIRE(floe_arrow_builder_map_start(m, &keys, &values) == FLOE_OK);
  CHECK(floe_arrow_builder_append_bytes(keys, "a", 1) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_map_end(m), FLOE_EINVAL);
  CHECK(floe_arrow_builder_append_null(values) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_map_end(m), FLOE_OK);
  CHECK(floe_arrow_builder_map_start(m, &keys, &values) == FLOE_OK);
  CHECK(floe_arrow_builder_append_null(keys) == FLOE_OK);
  CHECK(floe_arrow_builder_append_null(values) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_map_end(m), FLOE_EINVAL);
  /* Plain init refuses nested types: they need their children. */
  floe_arrow_builder b;
  floe_arrow_type_info t = floe_arrow_type_of(FLOE_ARROW_MAP);
  CHECK_INT_EQ(floe_arrow_builder_init(&b, &t), FLOE_EINVAL);
  t = floe_arrow_type_of(FLOE_ARROW_STRUCT);
  CHECK_INT_EQ(floe_arrow_builder_init(&b, &t), FLOE_EINVAL);
  floe_arrow_batch_builder_free(&bb);
  /* A map whose entries are not a struct of two is refused with its name. */
  struct ArrowSchema bad;
  REQUIRE(floe_arrow_schema_init_map(&bad, "bad", true, 1) == FLOE_OK);
  floe_arrow_schema_release(bad.children[0]);
  floe_arrow_type_info t_int = floe_arrow_type_of(FLOE_ARROW_INT32);
  REQUIRE(floe_arrow_schema_init(bad.children[0], "entries", &t_int, false, -1) == FLOE_OK);
  CHECK_INT_EQ(floe_arrow_builder_init_schema(&b, &bad, &err), FLOE_EINVAL);
  CHECK(strstr(err.message, "map column 'bad'") != NULL);
  floe_arrow_schema_release(&bad);
  floe_arrow_schema_release(&s);
}

/* Concatenating batches: slices of nested columns (including views with an
 * offset, as foreign arrays may have) appended to one builder render the
 * same rows in the same order. */
static void test_append_view_concatenates_nested_batches(void) {
  struct ArrowSchema s;
  REQUIRE(make_schema(&s) == FLOE_OK);
  floe_error err = {0};
  floe_arrow_batch_builder src, dst;
  CHECK_OK(floe_arrow_batch_builder_init(&src, &s, &err), &err);
  CHECK_OK(floe_arrow_batch_builder_init(&dst, &s, &err), &err);
  enum { ROWS = 300 };
  for (int r = 0; r < ROWS; r++) REQUIRE(append_row(&src, r) == FLOE_OK);
  struct ArrowArray batch;
  CHECK_OK(floe_arrow_batch_builder_finish(&src, &batch, &err), &err);
  /* The source as a slice: rows [1, ROWS) through the array offset of the
   * struct column s (children keep offset 0, so the view must carry it). */
  struct ArrowArray *s_col = batch.children[1];
  s_col->offset = 1;
  s_col->length = ROWS - 1;
  floe_arrow_view cols[4];
  for (int c = 0; c < 4; c++)
    CHECK_OK(floe_arrow_view_init(&cols[c], s.children[c], batch.children[c], &err), &err);
  CHECK_INT_EQ(cols[1].length, ROWS - 1);
  CHECK_STR_EQ(render(&cols[1], 0), "\\N"); /* row 1 through the offset */
  CHECK_STR_EQ(render(&cols[1], 1), want_rows[2][0]);
  /* Append s rows [0, 150) and [150, ROWS - 1) in two slices; the other
   * columns rows [1, 151) and [151, ROWS). */
  for (int part = 0; part < 2; part++) {
    int64_t lo = part == 0 ? 0 : 150, n = part == 0 ? 150 : ROWS - 1 - 150;
    CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[0], &cols[0], lo + 1, n), FLOE_OK);
    CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[1], &cols[1], lo, n), FLOE_OK);
    CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[2], &cols[2], lo + 1, n), FLOE_OK);
    CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[3], &cols[3], lo + 1, n), FLOE_OK);
  }
  struct ArrowArray out;
  CHECK_OK(floe_arrow_batch_builder_finish(&dst, &out, &err), &err);
  REQUIRE(out.length == ROWS - 1);
  floe_arrow_view otop, ocols[4];
  CHECK_OK(floe_arrow_view_init(&otop, &s, &out, &err), &err);
  for (int c = 0; c < 4; c++)
    CHECK_OK(floe_arrow_view_struct_child(&otop, c, &ocols[c], &err), &err);
  int mismatches = 0;
  for (int64_t r = 0; r < ROWS - 1; r++) {
    char want[1024];
    for (int c = 0; c < 4; c++) {
      snprintf(want, sizeof want, "%s", render(&cols[c], c == 1 ? r : r + 1));
      if (strcmp(want, render(&ocols[c], r)) != 0) mismatches++;
    }
  }
  CHECK_INT_EQ(mismatches, 0);
  CHECK_STR_EQ(render(&ocols[3], 298), "[{k: 299, v: {299 -> 299}}]");
  CHECK_STR_EQ(render(&ocols[2], 2), want_rows[3][1]);
  /* A struct of another shape is refused. */
  floe_arrow_view inner;
  CHECK_OK(floe_arrow_view_struct_child(&cols[1], 2, &inner, &err), &err);
  CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[1], &inner, 0, 1), FLOE_EINVAL);
  CHECK_INT_EQ(floe_arrow_builder_append_view(&dst.columns[3], &cols[2], 0, 1), FLOE_EINVAL);
  floe_arrow_array_release(&batch);
  floe_arrow_array_release(&out);
  floe_arrow_batch_builder_free(&src);
  floe_arrow_batch_builder_free(&dst);
  floe_arrow_schema_release(&s);
}

static void test_nested_allocation_failures_are_clean(void) {
  int failures = 0;
  for (int n = 1; n < 400; n++) {
    struct ArrowSchema s = {0};
    floe_arrow_batch_builder bb = {0};
    struct ArrowArray batch = {0};
    floe_error err = {0};
    floe_buf text = FLOE_BUF_INIT;
    floe_alloc_fail_after(n);
    int rc = make_schema(&s);
    if (rc == FLOE_OK) rc = floe_arrow_batch_builder_init(&bb, &s, &err);
    for (int r = 0; rc == FLOE_OK && r < 6; r++) rc = append_row(&bb, r);
    if (rc == FLOE_OK) rc = floe_arrow_batch_builder_finish(&bb, &batch, &err);
    if (rc == FLOE_OK) {
      floe_arrow_view top, v;
      rc = floe_arrow_view_init(&top, &s, &batch, &err);
      if (rc == FLOE_OK) rc = floe_arrow_view_struct_child(&top, 3, &v, &err);
      if (rc == FLOE_OK) rc = floe_arrow_view_format(&v, 0, &text);
    }
    floe_alloc_fail_after(0);
    floe_buf_free(&text);
    floe_arrow_array_release(&batch);
    floe_arrow_batch_builder_free(&bb);
    floe_arrow_schema_release(&s);
    if (rc == FLOE_OK) break;
    CHECK_INT_EQ(rc, FLOE_ENOMEM);
    failures++;
  }
  CHECK(failures > 20);
}

int main(void) {
  RUN(test_nested_schemas_carry_field_ids_at_every_level);
  RUN(test_struct_and_map_builders_produce_arrow_layouts);
  RUN(test_struct_and_map_builders_reject_misuse);
  RUN(test_append_view_concatenates_nested_batches);
  RUN(test_nested_allocation_failures_are_clean);
  return test_report();
}
