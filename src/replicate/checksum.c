/*
 * replicate/checksum: an order-independent fingerprint of a set of rows,
 * per column, for `validate: {checksum: true}`.
 *
 * The source side is computed from the batches as they stream to the data
 * writer; the table side from a scan of the committed snapshot over the
 * same range. Both are Arrow batches of the table's types, so the same
 * bytes hash the same: for each column, the number of nulls and the
 * wrapping 64-bit sum of a hash of every non-null value (fixed-width values
 * as stored, booleans as one byte, strings and binaries as their bytes).
 * A sum is blind to row order, which differs between a source query and a
 * scan of files written in parallel partitions; a 64-bit mix per value
 * makes accidental cancellation vanishingly unlikely.
 */
#include <string.h>

#include "replicate/engine_internal.h"

static uint64_t mix64(uint64_t z) {
  /* splitmix64's finalizer: a bijection with full avalanche. */
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint64_t hash_bytes(const uint8_t *p, size_t len) {
  uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 */
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(0x100000001b3);
  }
  return mix64(h ^ (uint64_t)len);
}

int floe_checksum_init(floe_checksum *sum, const int32_t *field_ids, int32_t n,
                       floe_error *err) {
  memset(sum, 0, sizeof *sum);
  sum->field_ids = floe_calloc((size_t)n + 1, sizeof *sum->field_ids);
  sum->sums = floe_calloc((size_t)n + 1, sizeof *sum->sums);
  sum->nulls = floe_calloc((size_t)n + 1, sizeof *sum->nulls);
  if (sum->field_ids == NULL || sum->sums == NULL || sum->nulls == NULL) {
    floe_checksum_free(sum);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  if (n > 0) memcpy(sum->field_ids, field_ids, (size_t)n * sizeof *field_ids);
  sum->n_columns = n;
  return FLOE_OK;
}

void floe_checksum_free(floe_checksum *sum) {
  if (sum == NULL) return;
  floe_free(sum->field_ids);
  floe_free(sum->sums);
  floe_free(sum->nulls);
  memset(sum, 0, sizeof *sum);
}

int floe_checksum_add(floe_checksum *sum, const struct ArrowSchema *schema,
                      const struct ArrowArray *batch, floe_error *err) {
  for (int32_t c = 0; c < sum->n_columns; c++) {
    int64_t child = -1;
    for (int64_t k = 0; k < schema->n_children && child < 0; k++)
      if (floe_arrow_schema_field_id(schema->children[k]) == sum->field_ids[c]) child = k;
    if (child < 0)
      return floe_error_set(err, FLOE_EINVAL, "checksum: batch has no column with field id %d",
                            (int)sum->field_ids[c]);
    floe_arrow_view v;
    int rc = floe_arrow_view_init(&v, schema->children[child], batch->children[child], err);
    if (rc < 0) return rc;
    int32_t width = floe_arrow_type_value_size(&v.type);
    uint64_t acc = 0;
    int64_t nulls = 0;
    for (int64_t r = 0; r < batch->length; r++) {
      if (floe_arrow_view_is_null(&v, r)) {
        nulls++;
        continue;
      }
      if (v.type.id == FLOE_ARROW_BOOL) {
        uint8_t b = floe_arrow_view_bool(&v, r) ? 1 : 0;
        acc += hash_bytes(&b, 1);
      } else if (v.offsets != NULL || v.type.id == FLOE_ARROW_FIXED ||
                 v.type.id == FLOE_ARROW_UUID) {
        size_t len;
        const uint8_t *p = floe_arrow_view_bytes(&v, r, &len);
        acc += hash_bytes(p, len);
      } else {
        acc += hash_bytes(v.values + (v.offset + r) * width, (size_t)width);
      }
    }
    sum->sums[c] += acc;
    sum->nulls[c] += nulls;
  }
  sum->rows += batch->length;
  return FLOE_OK;
}

int32_t floe_checksum_compare(const floe_checksum *a, const floe_checksum *b) {
  int32_t n = a->n_columns < b->n_columns ? a->n_columns : b->n_columns;
  for (int32_t c = 0; c < n; c++)
    if (a->field_ids[c] != b->field_ids[c] || a->sums[c] != b->sums[c] ||
        a->nulls[c] != b->nulls[c])
      return c;
  if (a->n_columns != b->n_columns) return n;
  return -1;
}
