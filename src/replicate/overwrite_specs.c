/*
 * replicate/overwrite_specs: `overwrite: partitions` across partition specs
 * (docs/replicate.md, "Partition overwrite after partition evolution").
 *
 * A dynamic partition overwrite replaces every partition of the default
 * spec that the load wrote; the table op selects the files of that spec by
 * their partition tuple. After partition evolution, rows of those
 * partitions may also sit in files of older specs, whose tuples are of
 * another shape. This file decides, for each live data file of an older
 * spec, whether its rows fall into the overwritten partitions:
 *
 *  - when the old tuple implies the file's partition in the default spec
 *    (every default field has an old field on the same source column with
 *    the same transform, or identity, or a finer time transform: hour ->
 *    day/month/year, day -> month/year, month -> year), the file lies
 *    wholly in one new partition: it is dropped whole when that partition
 *    is overwritten and kept otherwise, without reading it;
 *  - otherwise its live rows are read (the partition source columns
 *    first): a file with no row in an overwritten partition is kept; one
 *    with such rows is rewritten copy-on-write, its other live rows going
 *    through a data writer into the default spec (sorted as the table
 *    says), and the old file is deleted in the same commit.
 *
 * Copy-on-write rather than position deletes: the commit stays an
 * overwrite whose added files are data files, readers need no delete
 * files for it, and the rows kept move into the current layout. The cost
 * is reading (and, for files that hold overwritten rows, rewriting) the
 * undecided old-spec files on each such load; the implied case costs
 * nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/scan.h"
#include "floe/table_writer.h"
#include "replicate/engine_internal.h"

/* The default spec's partitions the load wrote, as sorted keys. */
typedef struct key_set {
  char **keys;
  size_t n, cap;
} key_set;

static void key_set_free(key_set *s) {
  for (size_t i = 0; i < s->n; i++) floe_free(s->keys[i]);
  floe_free(s->keys);
  memset(s, 0, sizeof *s);
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool key_set_has(const key_set *s, const char *key) {
  return s->n > 0 && bsearch(&key, s->keys, s->n, sizeof *s->keys, cmp_keys) != NULL;
}

/* A tuple's key: per field "N" for null, else "V" and its human form, each
 * ended by 0x1f. */
static int tuple_key(const floe_iceberg_type *types, const floe_iceberg_value *values, int32_t n,
                     floe_buf *out, floe_error *err) {
  floe_buf_reset(out);
  for (int32_t i = 0; i < n; i++) {
    int rc = floe_buf_append_str(out, values[i].is_null ? "N" : "V");
    if (rc == FLOE_OK && !values[i].is_null)
      rc = floe_iceberg_value_to_human(&types[i], &values[i], out, err);
    if (rc == FLOE_OK) rc = floe_buf_append_byte(out, 0x1f);
    if (rc < 0) return rc == FLOE_ENOMEM ? floe_error_set(err, rc, "out of memory") : rc;
  }
  if (floe_buf_terminate(out) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

static int rank_of(floe_iceberg_transform_kind k) {
  switch (k) {
    case FLOE_TRANSFORM_HOUR: return 0;
    case FLOE_TRANSFORM_DAY: return 1;
    case FLOE_TRANSFORM_MONTH: return 2;
    case FLOE_TRANSFORM_YEAR: return 3;
    default: return -1;
  }
}

/* The default-spec value of field `nf` implied by the old field `of`'s
 * value, or *ok false when it is not implied. */
static int implied_value(const floe_iceberg_partition_field *of, const floe_iceberg_value *old,
                         const floe_iceberg_partition_field *nf, const floe_iceberg_type *source,
                         floe_iceberg_value *out, bool *ok, floe_error *err) {
  memset(out, 0, sizeof *out);
  *ok = true;
  if (old->is_null) {
    out->is_null = true;
    return FLOE_OK;
  }
  if (of->transform.kind == nf->transform.kind && of->transform.param == nf->transform.param) {
    *out = *old; /* borrows the old tuple's bytes */
    out->owned = NULL;
    return FLOE_OK;
  }
  if (of->transform.kind == FLOE_TRANSFORM_IDENTITY)
    return floe_iceberg_transform_apply(&nf->transform, source, old, out, err);
  int ro = rank_of(of->transform.kind), rn = rank_of(nf->transform.kind);
  if (ro < 0 || rn < 0 || ro >= rn) {
    *ok = false;
    return FLOE_OK;
  }
  /* A finer time partition: the start of its period, as a value of a
   * timestamp (hour) or date (day) source, or a month count (month ->
   * year). */
  floe_iceberg_value start;
  memset(&start, 0, sizeof start);
  if (of->transform.kind == FLOE_TRANSFORM_MONTH) { /* -> year */
    int32_t m = old->v.i32;
    out->v.i32 = m >= 0 ? m / 12 : -((-m + 11) / 12);
    return FLOE_OK;
  }
  floe_iceberg_type t;
  if (of->transform.kind == FLOE_TRANSFORM_HOUR) {
    t = floe_iceberg_type_of(FLOE_ICEBERG_TIMESTAMP);
    start.v.i64 = (int64_t)old->v.i32 * INT64_C(3600000000);
  } else {
    t = floe_iceberg_type_of(FLOE_ICEBERG_DATE);
    start.v.i32 = old->v.i32;
  }
  return floe_iceberg_transform_apply(&nf->transform, &t, &start, out, err);
}

/* The default-spec tuple a file of spec `old` lies in, when its tuple
 * implies one (*ok). */
static int implied_tuple(const floe_iceberg_schema *schema, const floe_iceberg_partition_spec *old,
                         const floe_iceberg_value *old_values, int32_t n_old,
                         const floe_iceberg_partition_spec *def, floe_iceberg_value *out,
                         bool *ok, floe_error *err) {
  *ok = true;
  for (int32_t j = 0; j < def->n_fields && *ok; j++) {
    const floe_iceberg_partition_field *nf = &def->fields[j];
    memset(&out[j], 0, sizeof out[j]);
    if (nf->transform.kind == FLOE_TRANSFORM_VOID) {
      out[j].is_null = true;
      continue;
    }
    const floe_iceberg_field *src = floe_iceberg_schema_find_id(schema, nf->source_id);
    if (src == NULL || nf->n_source_ids > 1) {
      *ok = false;
      break;
    }
    bool found = false;
    for (int32_t i = 0; i < old->n_fields && i < n_old && !found; i++) {
      const floe_iceberg_partition_field *of = &old->fields[i];
      if (of->source_id != nf->source_id || of->n_source_ids > 1) continue;
      bool this_ok = false;
      int rc = implied_value(of, &old_values[i], nf, &src->type, &out[j], &this_ok, err);
      if (rc < 0) return rc;
      found = this_ok;
    }
    if (!found) *ok = false;
  }
  return FLOE_OK;
}

/* Reads the live rows of one data file: `ids` columns (all when NULL). */
static int open_file_scan(floe_table *table, const char *path, const int32_t *ids, int32_t n_ids,
                          floe_scan **out, struct ArrowSchema *schema, floe_error *err) {
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.data_files = &path;
  so.n_data_files = 1;
  so.field_ids = ids;
  so.n_field_ids = n_ids;
  int rc = floe_scan_open(out, floe_table_metadata(table), floe_table_io(table), &so, err);
  if (rc == FLOE_OK) rc = floe_scan_schema(*out, schema, err);
  return rc;
}

typedef struct row_tuples {
  const floe_iceberg_partition_spec *def;
  const floe_iceberg_type *result_types;
  const floe_iceberg_type *source_types;
  floe_iceberg_value *values;
  floe_buf key;
} row_tuples;

/* Marks drop[r] for each row of `batch` whose default-spec partition is
 * overwritten; returns the count. */
static int mark_rows(row_tuples *rt, const key_set *set, const struct ArrowSchema *schema,
                     const struct ArrowArray *batch, uint8_t *drop, int64_t *n_drop,
                     floe_error *err) {
  const floe_iceberg_partition_spec *def = rt->def;
  floe_arrow_view views[64];
  int64_t col[64];
  int rc = FLOE_OK;
  *n_drop = 0;
  if (def->n_fields > 64) return floe_error_set(err, FLOE_EUNSUPPORTED, "more than 64 partition fields");
  for (int32_t j = 0; j < def->n_fields; j++) {
    col[j] = -1;
    for (int64_t c = 0; c < schema->n_children; c++)
      if (floe_arrow_schema_field_id(schema->children[c]) == def->fields[j].source_id) col[j] = c;
    if (col[j] < 0 && def->fields[j].transform.kind != FLOE_TRANSFORM_VOID)
      return floe_error_set(err, FLOE_EINVAL, "partition source %d not read",
                            (int)def->fields[j].source_id);
    if (col[j] >= 0)
      FLOE_TRY(floe_arrow_view_init(&views[j], schema->children[col[j]], batch->children[col[j]], err));
  }
  for (int64_t r = 0; r < batch->length; r++) {
    for (int32_t j = 0; j < def->n_fields; j++) {
      floe_iceberg_value raw;
      memset(&rt->values[j], 0, sizeof rt->values[j]);
      if (col[j] < 0) {
        rt->values[j].is_null = true;
        continue;
      }
      FLOE_TRY(floe_iceberg_value_from_arrow(&rt->source_types[j], &views[j], r, &raw, err));
      FLOE_TRY(floe_iceberg_transform_apply(&def->fields[j].transform, &rt->source_types[j], &raw,
                                            &rt->values[j], err));
    }
    rc = tuple_key(rt->result_types, rt->values, def->n_fields, &rt->key, err);
    for (int32_t j = 0; j < def->n_fields; j++) floe_iceberg_value_free(&rt->values[j]);
    if (rc < 0) goto cleanup;
    drop[r] = key_set_has(set, (const char *)rt->key.data);
    *n_drop += drop[r];
  }
cleanup:
  return rc;
}

/* Copies the rows of `batch` not marked in drop into `w`. */
static int write_kept(floe_data_writer *w, const struct ArrowSchema *schema,
                      const struct ArrowArray *batch, const uint8_t *drop, floe_error *err) {
  floe_arrow_batch_builder bb;
  struct ArrowArray kept = {0};
  int rc = floe_arrow_batch_builder_init(&bb, schema, err);
  if (rc < 0) return rc;
  for (int64_t c = 0; c < schema->n_children && rc == FLOE_OK; c++) {
    floe_arrow_view v;
    rc = floe_arrow_view_init(&v, schema->children[c], batch->children[c], err);
    for (int64_t i = 0; rc == FLOE_OK && i < batch->length;) {
      int64_t j = i;
      while (j < batch->length && drop[j] == drop[i]) j++;
      if (!drop[i]) {
        rc = floe_arrow_builder_append_view(&bb.columns[c], &v, i, j - i);
        if (rc < 0) rc = floe_error_set(err, rc, "copying column %s", schema->children[c]->name);
      }
      i = j;
    }
  }
  if (rc == FLOE_OK) rc = floe_arrow_batch_builder_finish(&bb, &kept, err);
  if (rc == FLOE_OK && kept.length > 0) rc = floe_data_writer_write(w, schema, &kept, err);
  floe_arrow_array_release(&kept);
  floe_arrow_batch_builder_free(&bb);
  return rc;
}

/* Reads one undecided old-spec file: *rewrite when some live row lies in
 * an overwritten partition; then a second read copies the others to w. */
static int evaluate_file(floe_table *table, const char *path, row_tuples *rt, const key_set *set,
                         const int32_t *source_ids, int32_t n_source_ids, const int32_t *all_ids,
                         int32_t n_all, floe_data_writer **w, const floe_table_writer_options *wo,
                         floe_overwrite_specs_result *res, bool *rewrite, floe_error *err) {
  floe_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  uint8_t *drop = NULL;
  int rc = FLOE_OK;
  *rewrite = false;
  for (int pass = 0; pass < 2; pass++) {
    FLOE_TRY(open_file_scan(table, path, pass ? all_ids : source_ids, pass ? n_all : n_source_ids,
                            &scan, &schema, err));
    for (;;) {
      FLOE_TRY(floe_scan_next(scan, &batch, err));
      if (batch.release == NULL) break;
      floe_free(drop);
      drop = floe_malloc((size_t)batch.length + 1);
      if (drop == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      int64_t n_drop = 0;
      FLOE_TRY(mark_rows(rt, set, &schema, &batch, drop, &n_drop, err));
      if (pass == 0) {
        if (n_drop > 0) *rewrite = true;
      } else {
        res->rows_removed += n_drop;
        res->rows_kept += batch.length - n_drop;
        if (*w == NULL) FLOE_TRY(floe_data_writer_open(w, wo, err));
        FLOE_TRY(write_kept(*w, &schema, &batch, drop, err));
      }
      floe_arrow_array_release(&batch);
      if (pass == 0 && *rewrite) break;
    }
    floe_arrow_schema_release(&schema);
    floe_scan_free(scan);
    scan = NULL;
    if (!*rewrite) break;
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_scan_free(scan);
  floe_free(drop);
  if (rc < 0) floe_error_prefix(err, "%s", path);
  return rc;
}

int floe_overwrite_older_specs(floe_table *table, floe_table_op *op,
                               const floe_content_file_list *added, const char *file_prefix,
                               floe_overwrite_specs_result *res, floe_error *err) {
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  const floe_iceberg_schema *schema = floe_table_schema(table);
  const floe_iceberg_partition_spec *def = floe_iceberg_metadata_default_spec(md);
  floe_table_files live = {0};
  key_set set = {0};
  floe_buf key;
  row_tuples rt;
  floe_iceberg_type *types = NULL, *sources = NULL;
  floe_iceberg_value *implied = NULL;
  int32_t *source_ids = NULL, *all_ids = NULL;
  int32_t n_source_ids = 0, n_all = 0;
  int rc = FLOE_OK;
  floe_buf_init(&key);
  memset(&rt, 0, sizeof rt);
  floe_buf_init(&rt.key);
  memset(res, 0, sizeof *res);
  if (md->n_specs < 2 || def == NULL) goto cleanup;
  size_t nf = (size_t)def->n_fields + 1;
  types = floe_calloc(nf, sizeof *types);
  sources = floe_calloc(nf, sizeof *sources);
  implied = floe_calloc(nf, sizeof *implied);
  rt.values = floe_calloc(nf, sizeof *rt.values);
  source_ids = floe_calloc(nf, sizeof *source_ids);
  all_ids = floe_calloc((size_t)schema->root.n_fields + 1, sizeof *all_ids);
  if (types == NULL || sources == NULL || implied == NULL || rt.values == NULL ||
      source_ids == NULL || all_ids == NULL)
    goto nomem;
  for (int32_t j = 0; j < def->n_fields; j++) {
    const floe_iceberg_partition_field *pf = &def->fields[j];
    const floe_iceberg_field *src = floe_iceberg_schema_find_id(schema, pf->source_id);
    if (src == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL, "partition field %s: no source column %d", pf->name,
                          (int)pf->source_id);
      goto cleanup;
    }
    sources[j] = src->type;
    FLOE_TRY(floe_iceberg_transform_result_type(&pf->transform, &src->type, &types[j], err));
    bool seen = false;
    for (int32_t k = 0; k < n_source_ids; k++) seen |= source_ids[k] == pf->source_id;
    if (!seen && pf->transform.kind != FLOE_TRANSFORM_VOID) source_ids[n_source_ids++] = pf->source_id;
  }
  for (int32_t i = 0; i < schema->root.n_fields; i++) all_ids[n_all++] = schema->root.fields[i].id;
  rt.def = def;
  rt.result_types = types;
  rt.source_types = sources;

  /* The partitions the load wrote. */
  for (int32_t i = 0; i < added->n_files; i++) {
    const floe_iceberg_content_file *f = &added->files[i];
    if (f->content != FLOE_CONTENT_DATA || f->spec_id != def->spec_id) continue;
    FLOE_TRY(tuple_key(types, f->partition, def->n_fields, &key, err));
    if (set.n == set.cap) {
      size_t cap = set.cap ? set.cap * 2 : 16;
      char **grown = floe_realloc(set.keys, cap * sizeof *grown);
      if (grown == NULL) goto nomem;
      set.keys = grown;
      set.cap = cap;
    }
    if ((set.keys[set.n] = floe_strdup((const char *)key.data)) == NULL) goto nomem;
    set.n++;
  }
  if (set.n == 0) goto cleanup;
  qsort(set.keys, set.n, sizeof *set.keys, cmp_keys);

  floe_table_writer_options wo;
  floe_table_writer_options_init(&wo);
  FLOE_TRY(floe_table_writer_options_from_metadata(&wo, md, err));
  wo.io = floe_table_io(table);
  wo.file_prefix = file_prefix;
  wo.sort_order = floe_iceberg_metadata_sort_order(md, md->default_sort_order_id);

  FLOE_TRY(floe_table_files_read(table, NULL, &live, err));
  for (int32_t i = 0; i < live.n; i++) {
    const floe_iceberg_content_file *f = &live.files[i].file;
    if (f->content != FLOE_CONTENT_DATA || f->spec_id == def->spec_id) continue;
    const floe_iceberg_partition_spec *old = floe_iceberg_metadata_spec(md, f->spec_id);
    bool ok = false;
    if (old != NULL)
      FLOE_TRY(implied_tuple(schema, old, f->partition, f->n_partition, def, implied, &ok, err));
    if (ok) {
      rc = tuple_key(types, implied, def->n_fields, &key, err);
      for (int32_t j = 0; j < def->n_fields; j++) floe_iceberg_value_free(&implied[j]);
      if (rc < 0) goto cleanup;
      if (key_set_has(&set, (const char *)key.data)) {
        FLOE_TRY(floe_table_op_delete_path(op, f->file_path, err));
        res->files_dropped++;
        res->rows_removed += f->record_count;
      }
      continue;
    }
    bool rewrite = false;
    FLOE_TRY(evaluate_file(table, f->file_path, &rt, &set, source_ids, n_source_ids, all_ids, n_all,
                           &res->writer, &wo, res, &rewrite, err));
    res->files_read++;
    if (rewrite) {
      FLOE_TRY(floe_table_op_delete_path(op, f->file_path, err));
      res->files_rewritten++;
    }
  }
  if (res->writer != NULL) {
    FLOE_TRY(floe_data_writer_close(res->writer, &res->files, err));
    for (int32_t i = 0; i < res->files.n_files; i++)
      FLOE_TRY(floe_table_op_add_file(op, &res->files.files[i], err));
  }
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  if (rc < 0) floe_error_prefix(err, "overwrite of older-spec files");
  floe_table_files_reset(&live);
  key_set_free(&set);
  floe_buf_free(&key);
  floe_buf_free(&rt.key);
  floe_free(rt.values);
  floe_free(types);
  floe_free(sources);
  floe_free(implied);
  floe_free(source_ids);
  floe_free(all_ids);
  return rc;
}

void floe_overwrite_specs_result_free(floe_overwrite_specs_result *res, bool abort_files) {
  if (res == NULL) return;
  if (abort_files) floe_data_writer_abort(res->writer);
  floe_data_writer_free(res->writer);
  floe_content_file_list_free(&res->files);
  memset(res, 0, sizeof *res);
}
