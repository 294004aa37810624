/*
 * iceberg/deletes.c: loads the deletes that apply to one data file during
 * a scan (Iceberg spec: Delete Formats, Position Delete Files, Equality
 * Delete Files, Deletion Vectors).
 *
 * Position deletes become one sorted, de-duplicated array of positions:
 * each position-delete file is read (file_path 2147483546, pos 2147483545),
 * skipping row groups whose file_path statistics exclude the data file, and
 * only rows naming the data file are kept. Deletion vectors stay as Roaring
 * bitmaps, read straight from their Puffin blob (content_offset, size).
 * Lookups are a binary search plus a bitmap probe per row.
 *
 * Equality deletes become a hash set of encoded keys per distinct list of
 * equality field ids. Keys use one canonical encoding per table type, so a
 * delete file written before a type promotion (int key) matches data read
 * after it (long), and a null matches a null, as the spec requires.
 *
 * Which deletes apply (sequence numbers, partitions, referenced files) is
 * decided by planning in scan.c; this file only reads them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/scan_internal.h"

/* ---- position deletes and deletion vectors ---------------------------- */

bool scan_positions_empty(const scan_positions *p) { return p->n == 0 && p->n_dvs == 0; }

void scan_positions_reset(scan_positions *p) {
  if (p == NULL) return;
  floe_free(p->positions);
  for (size_t i = 0; i < p->n_dvs; i++) floe_roaring64_free(p->dvs[i]);
  floe_free(p->dvs);
  memset(p, 0, sizeof *p);
}

bool scan_positions_contains(const scan_positions *p, int64_t pos) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->positions[mid] == pos) return true;
    if (p->positions[mid] < pos) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = 0; i < p->n_dvs; i++)
    if (pos >= 0 && floe_roaring64_contains(p->dvs[i], (uint64_t)pos)) return true;
  return false;
}

static int push_position(scan_positions *p, int64_t pos) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    int64_t *grown = floe_realloc(p->positions, cap * sizeof *grown);
    if (grown == NULL) return FLOE_ENOMEM;
    p->positions = grown;
    p->cap = cap;
  }
  p->positions[p->n++] = pos;
  return FLOE_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Compares bytes as unsigned strings. */
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return an < bn ? -1 : an > bn;
}

static int load_deletion_vector(scan_positions *out, floe_io *io, const char *path,
                                const floe_scan_delete_file *d, floe_error *err) {
  int rc = FLOE_OK;
  floe_io_file *file = NULL;
  uint8_t *blob = NULL;
  floe_roaring64 *bm = NULL;
  if (!d->file.has_content_offset || d->file.content_offset < 0 || d->file.content_size_in_bytes < 12 ||
      d->file.content_size_in_bytes > (int64_t)1 << 31)
    return floe_error_set(err, FLOE_EFORMAT, "deletion vector %s: bad content_offset/content_size_in_bytes",
                          d->file.file_path);
  size_t n = (size_t)d->file.content_size_in_bytes;
  FLOE_TRY(floe_io_open_read(io, path, &file, err));
  blob = floe_malloc(n);
  if (blob == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "deletion vector %s: out of memory", path);
    goto cleanup;
  }
  FLOE_TRY(floe_io_file_read_exact(file, (uint64_t)d->file.content_offset, blob, n, err));
  rc = floe_deletion_vector_parse(&bm, blob, n, err);
  if (rc < 0) {
    floe_error_prefix(err, "%s at offset %lld", path, (long long)d->file.content_offset);
    goto cleanup;
  }
  if ((int64_t)floe_roaring64_cardinality(bm) != d->file.record_count) {
    rc = floe_error_set(err, FLOE_EFORMAT, "%s at offset %lld: deletion vector holds %llu positions, manifest says %lld",
                        path, (long long)d->file.content_offset,
                        (unsigned long long)floe_roaring64_cardinality(bm), (long long)d->file.record_count);
    goto cleanup;
  }
  if (out->n_dvs == out->cap_dvs) {
    size_t cap = out->cap_dvs ? out->cap_dvs * 2 : 2;
    floe_roaring64 **grown = floe_realloc(out->dvs, cap * sizeof *grown);
    if (grown == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "deletion vector %s: out of memory", path);
      goto cleanup;
    }
    out->dvs = grown;
    out->cap_dvs = cap;
  }
  out->dvs[out->n_dvs++] = bm;
  bm = NULL;
cleanup:
  floe_roaring64_free(bm);
  floe_free(blob);
  floe_io_file_close(file);
  return rc;
}

/* Column of a delete file by reserved field id, else by name. */
static int32_t delete_column(const floe_parquet_reader *r, int32_t field_id, const char *name) {
  int32_t c = floe_parquet_reader_find_field_id(r, field_id);
  return c >= 0 ? c : floe_parquet_reader_find_column(r, name);
}

/* Reads one position-delete file and keeps the positions of `data_path`. */
static int load_position_file(scan_positions *out, floe_io *io, const char *path,
                              const char *data_path, floe_error *err) {
  int rc = FLOE_OK;
  floe_parquet_reader *reader = NULL;
  floe_parquet_scan *scan = NULL;
  int32_t *row_groups = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  size_t data_len = strlen(data_path);
  FLOE_TRY(scan_open_parquet(io, path, &reader, err));
  int32_t path_col = delete_column(reader, FLOE_DELETE_FIELD_ID_FILE_PATH, "file_path");
  int32_t pos_col = delete_column(reader, FLOE_DELETE_FIELD_ID_POS, "pos");
  if (path_col < 0 || pos_col < 0) {
    rc = floe_error_set(err, FLOE_EFORMAT, "position delete file %s has no %s column", path,
                        path_col < 0 ? "file_path (2147483546)" : "pos (2147483545)");
    goto cleanup;
  }
  /* Row groups whose file_path range can hold the data file. */
  int32_t n_groups = floe_parquet_reader_num_row_groups(reader), n_keep = 0;
  row_groups = floe_malloc(sizeof(int32_t) * (size_t)(n_groups ? n_groups : 1));
  if (row_groups == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
    goto cleanup;
  }
  for (int32_t g = 0; g < n_groups; g++) {
    floe_parquet_chunk_info chunk;
    FLOE_TRY(floe_parquet_reader_chunk(reader, g, path_col, &chunk, err));
    if (chunk.has_min && chunk.has_max && !chunk.min_is_legacy && !chunk.max_is_legacy &&
        (bytes_cmp((const uint8_t *)data_path, data_len, chunk.min, (size_t)chunk.min_len) < 0 ||
         bytes_cmp((const uint8_t *)data_path, data_len, chunk.max, (size_t)chunk.max_len) > 0))
      continue;
    row_groups[n_keep++] = g;
  }
  if (n_keep == 0) goto cleanup;
  int32_t ids[2];
  const char *names[2];
  floe_parquet_scan_options opts;
  memset(&opts, 0, sizeof opts);
  const floe_parquet_column_info *pc = floe_parquet_reader_column(reader, path_col);
  const floe_parquet_column_info *qc = floe_parquet_reader_column(reader, pos_col);
  if (pc->field_id >= 0 && qc->field_id >= 0) {
    ids[0] = pc->field_id;
    ids[1] = qc->field_id;
    opts.field_ids = ids;
    opts.n_field_ids = 2;
  } else {
    names[0] = pc->name;
    names[1] = qc->name;
    opts.names = names;
    opts.n_names = 2;
  }
  opts.row_groups = row_groups;
  opts.n_row_groups = n_keep;
  FLOE_TRY(floe_parquet_reader_scan_open(&scan, reader, &opts, err));
  FLOE_TRY(floe_parquet_reader_scan_schema(scan, &schema, err));
  for (;;) {
    FLOE_TRY(floe_parquet_reader_scan_next(scan, &batch, NULL, err));
    if (batch.release == NULL) break;
    floe_arrow_view pv, qv;
    FLOE_TRY(floe_arrow_view_init(&pv, schema.children[0], batch.children[0], err));
    FLOE_TRY(floe_arrow_view_init(&qv, schema.children[1], batch.children[1], err));
    if (!floe_arrow_type_is_varlen(pv.type.id) ||
        (qv.type.id != FLOE_ARROW_INT64 && qv.type.id != FLOE_ARROW_INT32)) {
      rc = floe_error_set(err, FLOE_EFORMAT, "position delete file %s: file_path/pos have unexpected types", path);
      goto cleanup;
    }
    for (int64_t i = 0; i < batch.length; i++) {
      if (floe_arrow_view_is_null(&pv, i) || floe_arrow_view_is_null(&qv, i)) {
        rc = floe_error_set(err, FLOE_EFORMAT, "position delete file %s: null file_path or pos", path);
        goto cleanup;
      }
      size_t len;
      const uint8_t *p = floe_arrow_view_bytes(&pv, i, &len);
      if (len != data_len || memcmp(p, data_path, len) != 0) continue;
      int64_t pos = qv.type.id == FLOE_ARROW_INT64 ? floe_arrow_view_int64(&qv, i) : floe_arrow_view_int32(&qv, i);
      if (push_position(out, pos) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
        goto cleanup;
      }
    }
    floe_arrow_array_release(&batch);
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(reader);
  floe_free(row_groups);
  return rc;
}

int scan_positions_load(scan_positions *out, floe_io *io, const char *location_from,
                        const char *location_to, const floe_scan_task *task,
                        floe_error *err) {
  int rc = FLOE_OK;
  char *path = NULL;
  for (int32_t i = 0; i < task->n_deletes; i++) {
    const floe_scan_delete_file *d = task->deletes[i];
    if (d->file.content != FLOE_CONTENT_POSITION_DELETES) continue;
    FLOE_TRY(floe_scan_remap_path(location_from, location_to, d->file.file_path, &path, err));
    if (d->is_deletion_vector)
      rc = load_deletion_vector(out, io, path, d, err);
    else
      rc = load_position_file(out, io, path, task->file.file_path, err);
    if (rc < 0) goto cleanup;
    floe_free(path);
    path = NULL;
  }
  if (out->n > 1) {
    qsort(out->positions, out->n, sizeof *out->positions, cmp_i64);
    size_t w = 1;
    for (size_t r = 1; r < out->n; r++)
      if (out->positions[r] != out->positions[w - 1]) out->positions[w++] = out->positions[r];
    out->n = w;
  }
cleanup:
  floe_free(path);
  return rc;
}

/* ---- equality deletes -------------------------------------------------- */

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

int scan_key_append(floe_buf *key, const floe_iceberg_type *type, const floe_iceberg_value *v) {
  if (v->is_null) return floe_buf_append_byte(key, 0);
  uint8_t tmp[17];
  tmp[0] = 1;
  switch (type->id) {
    case FLOE_ICEBERG_BOOLEAN:
      tmp[1] = v->v.b ? 1 : 0;
      return floe_buf_append(key, tmp, 2);
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: {
      floe_store_u64le(tmp + 1, (uint64_t)(int64_t)v->v.i32);
      return floe_buf_append(key, tmp, 9);
    }
    case FLOE_ICEBERG_FLOAT:
    case FLOE_ICEBERG_DOUBLE: {
      double d = type->id == FLOE_ICEBERG_FLOAT ? (double)v->v.f32 : v->v.f64;
      if (isnan(d)) d = NAN;
      uint64_t bits;
      memcpy(&bits, &d, 8);
      floe_store_u64le(tmp + 1, bits);
      return floe_buf_append(key, tmp, 9);
    }
    case FLOE_ICEBERG_DECIMAL: {
      unsigned __int128 u = (unsigned __int128)v->v.dec;
      floe_store_u64le(tmp + 1, (uint64_t)u);
      floe_store_u64le(tmp + 9, (uint64_t)(u >> 64));
      return floe_buf_append(key, tmp, 17);
    }
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_UUID:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_BINARY: {
      floe_store_u64le(tmp + 1, (uint64_t)v->len);
      int rc = floe_buf_append(key, tmp, 9);
      if (rc < 0) return rc;
      return v->len ? floe_buf_append(key, v->bytes, v->len) : FLOE_OK;
    }
    default:
      floe_store_u64le(tmp + 1, (uint64_t)v->v.i64);
      return floe_buf_append(key, tmp, 9);
  }
}

bool scan_eq_set_contains(const scan_eq_set *set, const uint8_t *key, size_t len) {
  if (set->n_keys == 0) return false;
  uint64_t h = hash_bytes(key, len);
  size_t mask = set->n_slots - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    const scan_eq_slot *s = &set->slots[i];
    if (!s->used) return false;
    if (s->hash == h && s->len == len && memcmp(set->keys.data + s->offset, key, len) == 0) return true;
  }
}

static int grow_slots(scan_eq_set *set) {
  size_t n = set->n_slots ? set->n_slots * 2 : 1024;
  scan_eq_slot *slots = floe_calloc(n, sizeof *slots);
  if (slots == NULL) return FLOE_ENOMEM;
  for (size_t i = 0; i < set->n_slots; i++) {
    if (!set->slots[i].used) continue;
    size_t j = (size_t)set->slots[i].hash & (n - 1);
    while (slots[j].used) j = (j + 1) & (n - 1);
    slots[j] = set->slots[i];
  }
  floe_free(set->slots);
  set->slots = slots;
  set->n_slots = n;
  return FLOE_OK;
}

/* Adds the key at keys.data[offset..offset+len) (already appended); drops
 * it again when it is a duplicate. */
static int insert_key(scan_eq_set *set, size_t offset, size_t len) {
  if ((set->n_keys + 1) * 2 > set->n_slots && grow_slots(set) < 0) return FLOE_ENOMEM;
  const uint8_t *key = set->keys.data + offset;
  uint64_t h = hash_bytes(key, len);
  size_t mask = set->n_slots - 1;
  size_t i = (size_t)h & mask;
  while (set->slots[i].used) {
    const scan_eq_slot *s = &set->slots[i];
    if (s->hash == h && s->len == len && memcmp(set->keys.data + s->offset, key, len) == 0) {
      set->keys.len = offset;
      return FLOE_OK;
    }
    i = (i + 1) & mask;
  }
  set->slots[i].hash = h;
  set->slots[i].offset = offset;
  set->slots[i].len = (uint32_t)len;
  set->slots[i].used = 1;
  set->n_keys++;
  return FLOE_OK;
}

void scan_eq_deletes_reset(scan_eq_deletes *d) {
  if (d == NULL) return;
  for (int32_t i = 0; i < d->n_sets; i++) {
    floe_free(d->sets[i].ids);
    floe_free(d->sets[i].types);
    floe_buf_free(&d->sets[i].keys);
    floe_free(d->sets[i].slots);
  }
  floe_free(d->sets);
  d->sets = NULL;
  d->n_sets = 0;
}

/* The set for this list of equality ids, created when new. */
static int find_or_add_set(scan_eq_deletes *d, const floe_iceberg_metadata *metadata,
                           const floe_iceberg_schema *schema, const floe_iceberg_content_file *f,
                           scan_eq_set **out, floe_error *err) {
  for (int32_t i = 0; i < d->n_sets; i++) {
    scan_eq_set *s = &d->sets[i];
    if (s->n_ids == f->n_equality_ids && memcmp(s->ids, f->equality_ids, sizeof(int32_t) * (size_t)s->n_ids) == 0) {
      *out = s;
      return FLOE_OK;
    }
  }
  if (f->n_equality_ids <= 0)
    return floe_error_set(err, FLOE_EFORMAT, "equality delete file %s has no equality_ids", f->file_path);
  scan_eq_set *grown = floe_realloc(d->sets, sizeof *grown * (size_t)(d->n_sets + 1));
  if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "equality deletes: out of memory");
  d->sets = grown;
  scan_eq_set *s = &d->sets[d->n_sets];
  memset(s, 0, sizeof *s);
  s->ids = floe_malloc(sizeof(int32_t) * (size_t)f->n_equality_ids);
  s->types = floe_calloc((size_t)f->n_equality_ids, sizeof *s->types);
  if (s->ids == NULL || s->types == NULL) {
    floe_free(s->ids);
    floe_free(s->types);
    return floe_error_set(err, FLOE_ENOMEM, "equality deletes: out of memory");
  }
  s->n_ids = f->n_equality_ids;
  memcpy(s->ids, f->equality_ids, sizeof(int32_t) * (size_t)s->n_ids);
  d->n_sets++;
  for (int32_t k = 0; k < s->n_ids; k++) {
    const floe_iceberg_field *field = scan_find_field(metadata, schema, s->ids[k]);
    if (field == NULL || !floe_iceberg_type_is_primitive(field->type.id))
      return floe_error_set(err, FLOE_EFORMAT, "equality delete file %s: equality id %d is not a primitive column of any schema",
                            f->file_path, s->ids[k]);
    s->types[k] = &field->type;
  }
  *out = s;
  return FLOE_OK;
}

static int load_equality_file(scan_eq_set *set, floe_io *io, const char *path, floe_error *err) {
  int rc = FLOE_OK;
  floe_parquet_reader *reader = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  floe_arrow_view *views = NULL;
  int32_t *cols = NULL;
  FLOE_TRY(scan_open_parquet(io, path, &reader, err));
  views = floe_calloc((size_t)set->n_ids, sizeof *views);
  cols = floe_calloc((size_t)set->n_ids, sizeof *cols);
  if (views == NULL || cols == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
    goto cleanup;
  }
  for (int32_t k = 0; k < set->n_ids; k++) {
    int32_t c = floe_parquet_reader_find_field_id(reader, set->ids[k]);
    if (c < 0) {
      rc = floe_error_set(err, FLOE_EFORMAT, "equality delete file %s has no column with field id %d", path,
                          set->ids[k]);
      goto cleanup;
    }
    const floe_parquet_column_info *info = floe_parquet_reader_column(reader, c);
    if (!scan_type_readable(set->types[k], &info->arrow_type)) {
      rc = floe_error_set(err, FLOE_EFORMAT, "equality delete file %s: column %s (field id %d) has a type the table column cannot hold",
                          path, info->name, set->ids[k]);
      goto cleanup;
    }
    cols[k] = set->ids[k];
  }
  floe_parquet_scan_options opts;
  memset(&opts, 0, sizeof opts);
  opts.field_ids = cols;
  opts.n_field_ids = set->n_ids;
  FLOE_TRY(floe_parquet_reader_scan_open(&scan, reader, &opts, err));
  FLOE_TRY(floe_parquet_reader_scan_schema(scan, &schema, err));
  for (;;) {
    FLOE_TRY(floe_parquet_reader_scan_next(scan, &batch, NULL, err));
    if (batch.release == NULL) break;
    for (int32_t k = 0; k < set->n_ids; k++)
      FLOE_TRY(floe_arrow_view_init(&views[k], schema.children[k], batch.children[k], err));
    for (int64_t i = 0; i < batch.length; i++) {
      size_t start = set->keys.len;
      for (int32_t k = 0; k < set->n_ids; k++) {
        floe_iceberg_value v;
        scan_view_value(&views[k], i, &v);
        rc = scan_value_widen(set->types[k], views[k].type.id, &v, err);
        if (rc < 0) {
          floe_error_prefix(err, "equality delete file %s row %lld", path, (long long)i);
          goto cleanup;
        }
        if (scan_key_append(&set->keys, set->types[k], &v) < 0) {
          rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
          goto cleanup;
        }
      }
      if (insert_key(set, start, set->keys.len - start) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
        goto cleanup;
      }
    }
    floe_arrow_array_release(&batch);
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(reader);
  floe_free(views);
  floe_free(cols);
  return rc;
}

int scan_eq_deletes_load(scan_eq_deletes *out, floe_io *io, const char *location_from,
                         const char *location_to, const floe_iceberg_metadata *metadata,
                         const floe_iceberg_schema *schema, const floe_scan_task *task,
                         floe_error *err) {
  int rc = FLOE_OK;
  char *path = NULL;
  for (int32_t i = 0; i < task->n_deletes; i++) {
    const floe_scan_delete_file *d = task->deletes[i];
    if (d->file.content != FLOE_CONTENT_EQUALITY_DELETES) continue;
    scan_eq_set *set = NULL;
    FLOE_TRY(find_or_add_set(out, metadata, schema, &d->file, &set, err));
    FLOE_TRY(floe_scan_remap_path(location_from, location_to, d->file.file_path, &path, err));
    FLOE_TRY(load_equality_file(set, io, path, err));
    floe_free(path);
    path = NULL;
  }
cleanup:
  floe_free(path);
  return rc;
}
