/*
 * iceberg/maintain_sort: the sort buffer of sorted compaction
 * (include/floe/maintain.h, "compact") and of the data writer's sorted
 * mode (floe_table_writer_options.sort_order). Compaction streams a group's
 * live rows out of the scan (the data writer, the rows it is given); when
 * the table has a sort order, those batches are kept here until the buffer
 * holds `buffer_bytes` (Arrow buffers plus one key per row and sort field),
 * then the buffered rows are ordered by the sort order (Iceberg spec:
 * Sorting — per field a transform of a source column, a direction and a
 * null order) and copied into new batches in that order. Every flush goes
 * to files of its own (compaction gives it its own writer, the data writer
 * finishes its open files after it), so every file written holds one
 * sorted run: memory is bounded by the buffer, and more rows than it holds
 * become several runs, each sorted (no external merge; the bound is
 * documented with the options).
 *
 * Keys are computed once per row (the transform applied) and compared
 * with Iceberg's ordering: numbers by value, floats with
 * -NaN < -Infinity < ... < -0 < 0 < ... < Infinity < NaN, strings and
 * binary by unsigned bytes (UTF-8 byte order is code point order). The
 * merge sort is stable, so rows with equal keys keep their scan order.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/arrow.h"
#include "floe/iceberg.h"
#include "iceberg/maintain_internal.h"

#define OUTPUT_BATCH_ROWS 8192

typedef struct sort_key_field {
  int32_t column;                    /* index in the batch's children */
  floe_iceberg_type source_type;     /* the column's Iceberg type */
  floe_iceberg_type key_type;        /* after the transform */
  floe_iceberg_transform transform;
  floe_iceberg_sort_direction direction;
  floe_iceberg_null_order null_order;
} sort_key_field;

typedef struct buffered_batch {
  struct ArrowArray array;
  floe_arrow_view *views; /* one per column */
} buffered_batch;

typedef struct row_ref {
  int32_t batch;
  int32_t row;
} row_ref;

struct maintain_sorter {
  const struct ArrowSchema *schema; /* borrowed: the scan's output schema */
  int64_t n_columns;
  int32_t n_fields;
  sort_key_field *fields;
  int64_t buffer_bytes;
  int64_t bytes;
  buffered_batch *batches;
  int32_t n_batches, cap_batches;
  row_ref *rows;
  floe_iceberg_value *keys; /* rows x n_fields */
  int64_t n_rows, cap_rows;
  int64_t rows_written;
};

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "sort buffer: out of memory");
}

static int64_t view_bytes(const floe_arrow_view *v) {
  int64_t n = v->length;
  int64_t bytes = (n + 7) / 8; /* validity */
  if (v->type.id == FLOE_ARROW_BOOL) return bytes + (n + 7) / 8;
  floe_error ignore = {0};
  if (v->type.id == FLOE_ARROW_STRUCT) {
    for (int64_t k = 0; k < v->n_children; k++) {
      floe_arrow_view field;
      if (floe_arrow_view_struct_child(v, k, &field, &ignore) == FLOE_OK) bytes += view_bytes(&field);
    }
    return bytes;
  }
  if (v->type.id == FLOE_ARROW_MAP) {
    floe_arrow_view keys, values;
    bytes += 4 * (n + 1);
    if (floe_arrow_view_map_entries(v, &keys, &values, &ignore) == FLOE_OK)
      bytes += view_bytes(&keys) + view_bytes(&values);
    return bytes;
  }
  if (v->offsets != NULL) {
    bytes += 4 * (n + 1);
    if (v->type.id == FLOE_ARROW_LIST) {
      floe_arrow_view child;
      if (floe_arrow_view_list_child(v, &child, &ignore) == FLOE_OK) bytes += view_bytes(&child);
      return bytes;
    }
    return bytes + (v->offsets[v->offset + n] - v->offsets[v->offset]);
  }
  return bytes + n * (int64_t)floe_arrow_type_value_size(&v->type);
}

int maintain_sorter_open(maintain_sorter **out, const floe_iceberg_schema *schema,
                         const floe_iceberg_sort_order *order,
                         const struct ArrowSchema *batch_schema, int64_t buffer_bytes,
                         floe_error *err) {
  *out = NULL;
  maintain_sorter *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return nomem(err);
  s->schema = batch_schema;
  s->n_columns = batch_schema->n_children;
  s->buffer_bytes = buffer_bytes;
  s->fields = floe_calloc((size_t)order->n_fields + 1, sizeof *s->fields);
  if (s->fields == NULL) {
    maintain_sorter_free(s);
    return nomem(err);
  }
  for (int32_t i = 0; i < order->n_fields; i++) {
    const floe_iceberg_sort_field *sf = &order->fields[i];
    if (sf->transform.kind == FLOE_TRANSFORM_VOID) continue; /* a constant */
    const floe_iceberg_field *field = floe_iceberg_schema_find_id(schema, sf->source_id);
    int32_t column = -1;
    for (int64_t c = 0; field != NULL && c < batch_schema->n_children && column < 0; c++)
      if (floe_arrow_schema_field_id(batch_schema->children[c]) == sf->source_id) column = (int32_t)c;
    int rc = FLOE_OK;
    if (field == NULL || column < 0)
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "sort order %d: field %d (source id %d) is not a top-level column",
                          (int)order->order_id, (int)i, (int)sf->source_id);
    else if (!floe_iceberg_type_is_primitive(field->type.id))
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "sort order %d: column %s is not a primitive type",
                          (int)order->order_id, field->name);
    else if (sf->transform.kind == FLOE_TRANSFORM_UNKNOWN)
      rc = floe_error_set(err, FLOE_EUNSUPPORTED, "sort order %d: unknown transform %s",
                          (int)order->order_id, sf->transform_text ? sf->transform_text : "?");
    sort_key_field *k = &s->fields[s->n_fields];
    if (rc == FLOE_OK)
      rc = floe_iceberg_transform_result_type(&sf->transform, &field->type, &k->key_type, err);
    if (rc < 0) {
      maintain_sorter_free(s);
      return rc;
    }
    k->column = column;
    k->source_type = field->type;
    k->transform = sf->transform;
    k->direction = sf->direction;
    k->null_order = sf->null_order;
    s->n_fields++;
  }
  *out = s;
  return FLOE_OK;
}

int32_t maintain_sorter_n_fields(const maintain_sorter *s) { return s->n_fields; }

static int grow_rows(maintain_sorter *s, int64_t need) {
  if (s->n_rows + need <= s->cap_rows) return FLOE_OK;
  int64_t cap = s->cap_rows ? s->cap_rows : 4096;
  while (cap < s->n_rows + need) cap *= 2;
  row_ref *rows = floe_realloc(s->rows, (size_t)cap * sizeof *rows);
  if (rows == NULL) return FLOE_ENOMEM;
  s->rows = rows;
  floe_iceberg_value *keys =
      floe_realloc(s->keys, (size_t)cap * (size_t)(s->n_fields ? s->n_fields : 1) * sizeof *keys);
  if (keys == NULL) return FLOE_ENOMEM;
  s->keys = keys;
  s->cap_rows = cap;
  return FLOE_OK;
}

int maintain_sorter_add(maintain_sorter *s, struct ArrowArray *batch, bool *out_full,
                        floe_error *err) {
  *out_full = false;
  if (batch->length == 0) {
    batch->release(batch);
    return FLOE_OK;
  }
  if (batch->length > INT32_MAX || s->n_batches == INT32_MAX)
    return floe_error_set(err, FLOE_ERANGE, "sort buffer: batch too large");
  if (s->n_batches == s->cap_batches) {
    int32_t cap = s->cap_batches ? s->cap_batches * 2 : 16;
    buffered_batch *grown = floe_realloc(s->batches, (size_t)cap * sizeof *grown);
    if (grown == NULL) return nomem(err);
    s->batches = grown;
    s->cap_batches = cap;
  }
  buffered_batch *b = &s->batches[s->n_batches];
  memset(b, 0, sizeof *b);
  b->views = floe_calloc((size_t)s->n_columns + 1, sizeof *b->views);
  if (b->views == NULL) return nomem(err);
  floe_arrow_array_move(batch, &b->array);
  s->n_batches++; /* owned from here on, released by reset */
  for (int64_t c = 0; c < s->n_columns; c++) {
    int rc = floe_arrow_view_init(&b->views[c], s->schema->children[c], b->array.children[c], err);
    if (rc < 0) return rc;
    /* A child view of a batch slice starts at the batch's offset. */
    b->views[c].offset += b->array.offset;
    b->views[c].length = b->array.length;
    s->bytes += view_bytes(&b->views[c]);
  }
  if (grow_rows(s, b->array.length) < 0) return nomem(err);
  for (int64_t r = 0; r < b->array.length; r++) {
    row_ref *ref = &s->rows[s->n_rows];
    ref->batch = s->n_batches - 1;
    ref->row = (int32_t)r;
    for (int32_t f = 0; f < s->n_fields; f++) {
      const sort_key_field *k = &s->fields[f];
      floe_iceberg_value raw, *key = &s->keys[s->n_rows * s->n_fields + f];
      int rc = floe_iceberg_value_from_arrow(&k->source_type, &b->views[k->column], r, &raw, err);
      if (rc == FLOE_OK) rc = floe_iceberg_transform_apply(&k->transform, &k->source_type, &raw, key, err);
      if (rc < 0) {
        floe_error_prefix(err, "sort buffer");
        return rc;
      }
    }
    s->n_rows++;
  }
  s->bytes += b->array.length * (int64_t)(sizeof(row_ref) + sizeof(int64_t) * 2 +
                                          (size_t)s->n_fields * sizeof(floe_iceberg_value));
  *out_full = s->bytes >= s->buffer_bytes;
  return FLOE_OK;
}

/* Floats and doubles in Iceberg's total order, as unsigned integers. */
static uint64_t float_order(uint64_t bits, int width) {
  uint64_t sign = (uint64_t)1 << (width - 1);
  return (bits & sign) ? ~bits & (width == 64 ? UINT64_MAX : 0xffffffffu) : bits | sign;
}

static int cmp_value(const floe_iceberg_type *t, const floe_iceberg_value *a,
                     const floe_iceberg_value *b) {
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN:
      return (a->v.b > b->v.b) - (a->v.b < b->v.b);
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE:
      return (a->v.i32 > b->v.i32) - (a->v.i32 < b->v.i32);
    case FLOE_ICEBERG_FLOAT: {
      uint32_t x, y;
      memcpy(&x, &a->v.f32, 4);
      memcpy(&y, &b->v.f32, 4);
      uint64_t ox = float_order(x, 32), oy = float_order(y, 32);
      return (ox > oy) - (ox < oy);
    }
    case FLOE_ICEBERG_DOUBLE: {
      uint64_t x, y;
      memcpy(&x, &a->v.f64, 8);
      memcpy(&y, &b->v.f64, 8);
      uint64_t ox = float_order(x, 64), oy = float_order(y, 64);
      return (ox > oy) - (ox < oy);
    }
    case FLOE_ICEBERG_DECIMAL:
      return (a->v.dec > b->v.dec) - (a->v.dec < b->v.dec);
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: {
      size_t n = a->len < b->len ? a->len : b->len;
      int c = n ? memcmp(a->bytes, b->bytes, n) : 0;
      if (c != 0) return c < 0 ? -1 : 1;
      return (a->len > b->len) - (a->len < b->len);
    }
    default: /* long, time, timestamps */
      return (a->v.i64 > b->v.i64) - (a->v.i64 < b->v.i64);
  }
}

static int cmp_rows(const maintain_sorter *s, int64_t x, int64_t y) {
  for (int32_t f = 0; f < s->n_fields; f++) {
    const sort_key_field *k = &s->fields[f];
    const floe_iceberg_value *a = &s->keys[x * s->n_fields + f];
    const floe_iceberg_value *b = &s->keys[y * s->n_fields + f];
    int c;
    if (a->is_null || b->is_null) {
      if (a->is_null && b->is_null) continue;
      c = a->is_null ? -1 : 1;
      if (k->null_order == FLOE_NULLS_LAST) c = -c;
      return c; /* the null order does not follow the direction */
    }
    c = cmp_value(&k->key_type, a, b);
    if (c != 0) return k->direction == FLOE_SORT_DESC ? -c : c;
  }
  return 0;
}

/* Stable bottom-up merge sort of row indices. */
static int sort_indices(const maintain_sorter *s, int64_t *idx, int64_t n) {
  int64_t *tmp = floe_malloc((size_t)(n ? n : 1) * sizeof *tmp);
  if (tmp == NULL) return FLOE_ENOMEM;
  int64_t *src = idx, *dst = tmp;
  for (int64_t width = 1; width < n; width *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * width) {
      int64_t mid = lo + width < n ? lo + width : n;
      int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      int64_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) dst[o++] = cmp_rows(s, src[j], src[i]) < 0 ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    int64_t *swap = src;
    src = dst;
    dst = swap;
  }
  if (src != idx) memcpy(idx, src, (size_t)n * sizeof *idx);
  floe_free(tmp);
  return FLOE_OK;
}

static void reset(maintain_sorter *s) {
  for (int32_t b = 0; b < s->n_batches; b++) {
    if (s->batches[b].array.release != NULL) s->batches[b].array.release(&s->batches[b].array);
    floe_free(s->batches[b].views);
  }
  s->n_batches = 0;
  for (int64_t i = 0; i < s->n_rows * s->n_fields; i++) floe_iceberg_value_free(&s->keys[i]);
  s->n_rows = 0;
  s->bytes = 0;
}

static int writer_sink(void *ctx, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, floe_error *err) {
  return floe_data_writer_write(ctx, schema, batch, err);
}

int maintain_sorter_flush(maintain_sorter *s, floe_data_writer *writer, floe_error *err) {
  return maintain_sorter_flush_to(s, writer_sink, writer, err);
}

int64_t maintain_sorter_rows(const maintain_sorter *s) { return s->n_rows; }

int maintain_sorter_flush_to(maintain_sorter *s, maintain_sorter_sink sink, void *ctx,
                             floe_error *err) {
  int rc = FLOE_OK;
  int64_t *idx = NULL;
  floe_arrow_batch_builder bb;
  memset(&bb, 0, sizeof bb);
  struct ArrowArray out;
  memset(&out, 0, sizeof out);
  if (s->n_rows == 0) goto cleanup;
  idx = floe_malloc((size_t)s->n_rows * sizeof *idx);
  if (idx == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  for (int64_t i = 0; i < s->n_rows; i++) idx[i] = i;
  if (sort_indices(s, idx, s->n_rows) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(floe_arrow_batch_builder_init(&bb, s->schema, err));
  int64_t in_batch = 0;
  for (int64_t i = 0; i < s->n_rows;) {
    /* A run of rows adjacent in one input batch is copied in one call. */
    const row_ref *first = &s->rows[idx[i]];
    int64_t n = 1;
    while (i + n < s->n_rows && in_batch + n < OUTPUT_BATCH_ROWS &&
           s->rows[idx[i + n]].batch == first->batch && s->rows[idx[i + n]].row == first->row + n)
      n++;
    const buffered_batch *b = &s->batches[first->batch];
    for (int64_t c = 0; c < s->n_columns; c++) {
      rc = floe_arrow_builder_append_view(&bb.columns[c], &b->views[c], first->row, n);
      if (rc < 0) {
        rc = floe_error_set(err, rc, "sort buffer: copying column %s failed",
                            s->schema->children[c]->name);
        goto cleanup;
      }
    }
    i += n;
    in_batch += n;
    if (in_batch == OUTPUT_BATCH_ROWS || i == s->n_rows) {
      FLOE_TRY(floe_arrow_batch_builder_finish(&bb, &out, err));
      FLOE_TRY(sink(ctx, s->schema, &out, err));
      out.release(&out);
      in_batch = 0;
    }
  }
  s->rows_written += s->n_rows;
cleanup:
  if (out.release != NULL) out.release(&out);
  floe_arrow_batch_builder_free(&bb);
  floe_free(idx);
  reset(s);
  return rc;
}

bool maintain_sorter_empty(const maintain_sorter *s) { return s->n_rows == 0; }

void maintain_sorter_free(maintain_sorter *s) {
  if (s == NULL) return;
  reset(s);
  floe_free(s->batches);
  floe_free(s->rows);
  floe_free(s->keys);
  floe_free(s->fields);
  floe_free(s);
}
