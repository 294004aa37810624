/*
 * iceberg/delete_writer: Iceberg position and equality delete files
 * (include/floe/table_writer.h), on the file machinery of data_writer.c.
 *
 * Position deletes (Iceberg spec: Position Delete Files) must be sorted by
 * file_path, then pos, within a file. Deletes arrive in any order, so they
 * are buffered per partition of the data file they delete, 16 bytes each:
 * the data file path is interned once and a delete holds its index. A
 * partition's buffer is sorted and written when the writer closes, or,
 * when the whole buffer reaches max_buffered_deletes, the largest
 * partition's is written at once (each file is sorted on its own, which is
 * all the spec asks). Sorting needs the paths' order: the interned paths
 * are sorted once per flush and each delete's path index replaced by its
 * rank. Files are rolled at the target size and a file whose deletes all
 * hit one data file names it in referenced_data_file. Metrics on file_path
 * and pos are always full (as Iceberg's MetricsConfig.forPositionDelete),
 * so a reader can tell from the bounds which data files a delete file may
 * touch.
 *
 * Equality deletes (Iceberg spec: Equality Delete Files) are data-shaped:
 * the data writer's path with the equality columns as the file schema
 * (their table field ids and types), partitioned like data because an
 * equality delete applies only within its partition unless the spec is
 * unpartitioned (Iceberg spec: Scan Planning).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/table_writer_internal.h"

#define POS_CHUNK_ROWS 4096

/* ---- position deletes ------------------------------------------------- */

struct floe_position_delete_writer {
  tw_core core;
  char **paths; /* interned data file paths */
  uint64_t *path_hashes;
  int32_t n_paths, cap_paths;
  int32_t *path_slots; /* open addressing: path index or -1 */
  uint32_t n_path_slots;
  int64_t buffered;
  /* Deletes of data files in other specs (open_specs): one writer each. */
  floe_position_delete_writer **others;
  int32_t n_others;
};

static uint64_t string_hash(const char *s) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (; *s; s++) {
    h ^= (uint8_t)*s;
    h *= UINT64_C(1099511628211);
  }
  return h;
}

static int grow_path_slots(floe_position_delete_writer *w) {
  uint32_t n = w->n_path_slots ? w->n_path_slots * 2 : 64;
  int32_t *slots = floe_malloc(n * sizeof *slots);
  if (slots == NULL) return FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++) slots[i] = -1;
  for (int32_t p = 0; p < w->n_paths; p++) {
    uint32_t s = (uint32_t)w->path_hashes[p] & (n - 1);
    while (slots[s] >= 0) s = (s + 1) & (n - 1);
    slots[s] = p;
  }
  floe_free(w->path_slots);
  w->path_slots = slots;
  w->n_path_slots = n;
  return FLOE_OK;
}

static int intern_path(floe_position_delete_writer *w, const char *path, int32_t *out) {
  uint64_t h = string_hash(path);
  if (w->n_path_slots > 0)
    for (uint32_t s = (uint32_t)h & (w->n_path_slots - 1); w->path_slots[s] >= 0;
         s = (s + 1) & (w->n_path_slots - 1)) {
      int32_t p = w->path_slots[s];
      if (w->path_hashes[p] == h && strcmp(w->paths[p], path) == 0) {
        *out = p;
        return FLOE_OK;
      }
    }
  if (w->n_paths == w->cap_paths) {
    int32_t cap = w->cap_paths ? w->cap_paths * 2 : 16;
    char **paths = floe_realloc(w->paths, (size_t)cap * sizeof *paths);
    if (paths == NULL) return FLOE_ENOMEM;
    w->paths = paths;
    uint64_t *hashes = floe_realloc(w->path_hashes, (size_t)cap * sizeof *hashes);
    if (hashes == NULL) return FLOE_ENOMEM;
    w->path_hashes = hashes;
    w->cap_paths = cap;
  }
  if ((uint32_t)(w->n_paths + 1) * 2 > w->n_path_slots && grow_path_slots(w) < 0)
    return FLOE_ENOMEM;
  char *copy = floe_strdup(path);
  if (copy == NULL) return FLOE_ENOMEM;
  w->paths[w->n_paths] = copy;
  w->path_hashes[w->n_paths] = h;
  uint32_t s = (uint32_t)h & (w->n_path_slots - 1);
  while (w->path_slots[s] >= 0) s = (s + 1) & (w->n_path_slots - 1);
  w->path_slots[s] = w->n_paths;
  *out = w->n_paths++;
  return FLOE_OK;
}

typedef struct ranked_path {
  const char *path;
  int32_t index;
} ranked_path;

static int compare_ranked(const void *a, const void *b) {
  return strcmp(((const ranked_path *)a)->path, ((const ranked_path *)b)->path);
}

static int compare_deletes(const void *a, const void *b) {
  const tw_pos_delete *x = a, *y = b;
  if (x->path != y->path) return x->path < y->path ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A struct batch (file_path, pos) of deletes [from, to). */
static int deletes_batch(const ranked_path *ranked, const tw_pos_delete *d, int64_t from,
                         int64_t to, struct ArrowArray *out) {
  floe_arrow_builder paths, positions;
  floe_arrow_type_info utf8 = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_arrow_type_info i64 = floe_arrow_type_of(FLOE_ARROW_INT64);
  struct ArrowArray children[2];
  memset(children, 0, sizeof children);
  memset(out, 0, sizeof *out);
  int rc = floe_arrow_builder_init(&paths, &utf8);
  int rc2 = floe_arrow_builder_init(&positions, &i64);
  if (rc == FLOE_OK) rc = rc2;
  for (int64_t i = from; i < to && rc == FLOE_OK; i++) {
    const char *path = ranked[d[i].path].path;
    rc = floe_arrow_builder_append_bytes(&paths, path, strlen(path));
    if (rc == FLOE_OK) rc = floe_arrow_builder_append_int64(&positions, d[i].pos);
  }
  if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&paths, &children[0]);
  if (rc == FLOE_OK) rc = floe_arrow_builder_finish(&positions, &children[1]);
  if (rc == FLOE_OK) rc = floe_arrow_struct_from_children(out, children, 2, to - from);
  floe_arrow_array_release(&children[0]);
  floe_arrow_array_release(&children[1]);
  floe_arrow_builder_free(&paths);
  floe_arrow_builder_free(&positions);
  return rc;
}

/* Sorts partition `part`'s buffered deletes and writes them out. */
static int flush_partition(floe_position_delete_writer *w, int32_t part, floe_error *err) {
  tw_core *c = &w->core;
  tw_partition *p = &c->parts[part];
  int rc = FLOE_OK;
  ranked_path *ranked = NULL;
  int32_t *rank_of = NULL;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  if (p->n_deletes == 0) return FLOE_OK;
  size_t np = w->n_paths > 0 ? (size_t)w->n_paths : 1;
  ranked = floe_malloc(np * sizeof *ranked);
  rank_of = floe_malloc(np * sizeof *rank_of);
  if (ranked == NULL || rank_of == NULL) goto nomem;
  for (int32_t i = 0; i < w->n_paths; i++) ranked[i] = (ranked_path){w->paths[i], i};
  qsort(ranked, (size_t)w->n_paths, sizeof *ranked, compare_ranked);
  for (int32_t r = 0; r < w->n_paths; r++) rank_of[ranked[r].index] = r;

  /* Iceberg spec: Position Delete Files — sorted by file_path, then pos.
   * Duplicates say the same thing twice; keep one. */
  tw_pos_delete *d = p->deletes;
  int64_t n = p->n_deletes;
  for (int64_t i = 0; i < n; i++) d[i].path = rank_of[d[i].path];
  qsort(d, (size_t)n, sizeof *d, compare_deletes);
  int64_t kept = 0;
  for (int64_t i = 0; i < n; i++)
    if (kept == 0 || d[i].path != d[kept - 1].path || d[i].pos != d[kept - 1].pos)
      d[kept++] = d[i];

  int64_t done = 0;
  tw_file *f = NULL;
  int32_t file_first = -1;
  bool file_single = true;
  while (done < kept) {
    if (f == NULL) {
      FLOE_TRY(tw_file_open(c, part, &f, err));
      file_first = d[done].path;
      file_single = true;
    }
    int64_t slice = tw_next_slice(c, f);
    if (slice > POS_CHUNK_ROWS) slice = POS_CHUNK_ROWS;
    if (slice > kept - done) slice = kept - done;
    if (deletes_batch(ranked, d, done, done + slice, &batch) < 0) goto nomem;
    rc = floe_parquet_writer_write(f->pw, &batch, err);
    floe_arrow_array_release(&batch);
    if (rc < 0) {
      floe_error_prefix(err, "%s", f->path);
      goto cleanup;
    }
    if (d[done + slice - 1].path != file_first) file_single = false;
    done += slice;
    c->rows += slice;
    if (done == kept || floe_parquet_writer_estimated_size(f->pw) >= c->target_size) {
      tw_file *finishing = f;
      f = NULL;
      FLOE_TRY(tw_file_finish(c, finishing, file_single ? ranked[file_first].path : NULL, err));
    }
  }
  w->buffered -= p->n_deletes;
  floe_free(p->deletes);
  p->deletes = NULL;
  p->n_deletes = p->cap_deletes = 0;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "position delete writer: out of memory");
cleanup:
  /* The buffer's path indexes are ranks now: a failure is final. */
  if (rc < 0) c->failed = true;
  floe_arrow_array_release(&batch);
  floe_free(ranked);
  floe_free(rank_of);
  return rc;
}

int floe_position_delete_writer_open(floe_position_delete_writer **out,
                                     const floe_table_writer_options *options,
                                     floe_error *err) {
  *out = NULL;
  floe_position_delete_writer *w = floe_calloc(1, sizeof *w);
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "position delete writer: out of memory");
  /* Iceberg spec: Position Delete Files, with the reserved field ids. */
  floe_iceberg_column columns[2] = {
      {FLOE_ICEBERG_DELETE_FILE_PATH_ID, "file_path", true,
       floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
      {FLOE_ICEBERG_DELETE_POS_ID, "pos", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
  };
  tw_params params;
  memset(&params, 0, sizeof params);
  params.content = FLOE_CONTENT_POSITION_DELETES;
  params.suffix = "-deletes";
  params.full_metrics = true;
  params.owns_file_schema = true;
  int rc = floe_iceberg_schema_new(&params.file_schema, 0, columns, 2, err);
  if (rc == FLOE_OK) {
    rc = tw_core_init(&w->core, options, &params, err);
  } else {
    memset(&w->core, 0, sizeof w->core);
  }
  if (rc < 0) {
    floe_error_prefix(err, "position delete writer");
    floe_position_delete_writer_free(w);
    return rc;
  }
  *out = w;
  return FLOE_OK;
}

int floe_position_delete_writer_add(floe_position_delete_writer *w,
                                    const floe_iceberg_value *partition, const char *file_path,
                                    int64_t pos, floe_error *err) {
  tw_core *c = &w->core;
  if (c->failed || c->closed)
    return floe_error_set(err, FLOE_EINVAL, "position delete writer: %s",
                          c->closed ? "already closed" : "an earlier write failed");
  if (file_path == NULL || file_path[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "position delete writer: empty data file path");
  if (pos < 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "position delete writer: %s: negative position %" PRId64, file_path,
                          pos);
  if (partition == NULL && c->n_part > 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "position delete writer: %s: the spec has %d partition fields but no "
                          "partition tuple was given",
                          file_path, c->n_part);
  int32_t part, path;
  int rc = tw_partition_find(c, partition, &part, err);
  if (rc < 0) return floe_error_prefix(err, "position delete writer: %s", file_path), rc;
  if (intern_path(w, file_path, &path) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "position delete writer: out of memory");
  tw_partition *p = &c->parts[part];
  if (p->n_deletes == p->cap_deletes) {
    int64_t cap = p->cap_deletes ? p->cap_deletes * 2 : 256;
    tw_pos_delete *d = floe_realloc(p->deletes, (size_t)cap * sizeof *d);
    if (d == NULL) return floe_error_set(err, FLOE_ENOMEM, "position delete writer: out of memory");
    p->deletes = d;
    p->cap_deletes = cap;
  }
  p->deletes[p->n_deletes++] = (tw_pos_delete){path, pos};
  w->buffered++;
  if (w->buffered >= c->max_buffered_deletes) {
    int32_t largest = 0;
    for (int32_t i = 1; i < c->n_parts; i++)
      if (c->parts[i].n_deletes > c->parts[largest].n_deletes) largest = i;
    return flush_partition(w, largest, err);
  }
  return FLOE_OK;
}

int floe_position_delete_writer_open_specs(floe_position_delete_writer **out,
                                           const floe_table_writer_options *options,
                                           const floe_iceberg_partition_spec *const *specs,
                                           int32_t n_specs, floe_error *err) {
  int rc = floe_position_delete_writer_open(out, options, err);
  if (rc < 0) return rc;
  floe_position_delete_writer *w = *out;
  w->others = floe_calloc((size_t)n_specs + 1, sizeof *w->others);
  if (w->others == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "position delete writer: out of memory");
    goto cleanup;
  }
  for (int32_t i = 0; i < n_specs; i++) {
    if (specs[i]->spec_id == w->core.spec_id) continue;
    floe_table_writer_options o = *options;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s-s%d", options->file_prefix, (int)specs[i]->spec_id);
    o.spec = specs[i];
    o.file_prefix = prefix;
    rc = floe_position_delete_writer_open(&w->others[w->n_others], &o, err);
    if (rc < 0) goto cleanup;
    w->n_others++;
  }
cleanup:
  if (rc < 0) {
    floe_position_delete_writer_free(w);
    *out = NULL;
  }
  return rc;
}

int floe_position_delete_writer_add_spec(floe_position_delete_writer *w, int32_t spec_id,
                                         const floe_iceberg_value *partition,
                                         const char *file_path, int64_t pos, floe_error *err) {
  if (spec_id == w->core.spec_id)
    return floe_position_delete_writer_add(w, partition, file_path, pos, err);
  for (int32_t i = 0; i < w->n_others; i++)
    if (w->others[i]->core.spec_id == spec_id)
      return floe_position_delete_writer_add(w->others[i], partition, file_path, pos, err);
  return floe_error_set(err, FLOE_EINVAL,
                        "position delete writer: %s: partition spec %d was not opened", file_path,
                        (int)spec_id);
}

/* Moves src's files to the end of dst. */
static int list_move_append(floe_content_file_list *dst, floe_content_file_list *src,
                            floe_error *err) {
  if (src->n_files == 0) return FLOE_OK;
  if (dst->n_files == 0) {
    floe_content_file_list_free(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
    return FLOE_OK;
  }
  int32_t n = dst->n_files + src->n_files;
  floe_iceberg_content_file *files = floe_realloc(dst->files, (size_t)n * sizeof *files);
  if (files == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  dst->files = files;
  struct floe_content_file_owned *owned = floe_realloc(dst->owned, (size_t)n * tw_owned_size());
  if (owned == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  dst->owned = owned;
  memcpy(dst->files + dst->n_files, src->files, (size_t)src->n_files * sizeof *files);
  memcpy((char *)dst->owned + (size_t)dst->n_files * tw_owned_size(), src->owned,
         (size_t)src->n_files * tw_owned_size());
  dst->n_files = dst->cap = n;
  floe_free(src->files);
  floe_free(src->owned);
  memset(src, 0, sizeof *src);
  return FLOE_OK;
}

int floe_position_delete_writer_close(floe_position_delete_writer *w,
                                      floe_content_file_list *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (!w->core.closed && !w->core.failed)
    for (int32_t p = 0; p < w->core.n_parts; p++) {
      int rc = flush_partition(w, p, err);
      if (rc < 0) return rc;
    }
  int rc = tw_close(&w->core, out, err);
  for (int32_t i = 0; rc == FLOE_OK && i < w->n_others; i++) {
    floe_content_file_list more;
    rc = floe_position_delete_writer_close(w->others[i], &more, err);
    if (rc == FLOE_OK) rc = list_move_append(out, &more, err);
    floe_content_file_list_free(&more);
  }
  if (rc < 0) floe_content_file_list_free(out);
  return rc;
}

void floe_position_delete_writer_abort(floe_position_delete_writer *w) {
  if (w == NULL) return;
  tw_core_abort(&w->core);
  for (int32_t i = 0; i < w->n_others; i++) floe_position_delete_writer_abort(w->others[i]);
}

void floe_position_delete_writer_free(floe_position_delete_writer *w) {
  if (w == NULL) return;
  for (int32_t i = 0; i < w->n_others; i++) floe_position_delete_writer_free(w->others[i]);
  floe_free(w->others);
  tw_core_free(&w->core);
  for (int32_t i = 0; i < w->n_paths; i++) floe_free(w->paths[i]);
  floe_free(w->paths);
  floe_free(w->path_hashes);
  floe_free(w->path_slots);
  floe_free(w);
}

/* ---- equality deletes ------------------------------------------------- */

struct floe_equality_delete_writer {
  tw_core core;
};

int floe_equality_delete_writer_open(floe_equality_delete_writer **out,
                                     const floe_table_writer_options *options,
                                     const int32_t *equality_ids, int32_t n_equality_ids,
                                     floe_error *err) {
  *out = NULL;
  int rc = FLOE_OK;
  floe_iceberg_column *columns = NULL;
  floe_equality_delete_writer *w = NULL;
  tw_params params;
  memset(&params, 0, sizeof params);
  if (options == NULL || options->schema == NULL)
    return floe_error_set(err, FLOE_EINVAL, "equality delete writer: no table schema");
  if (equality_ids == NULL || n_equality_ids <= 0)
    return floe_error_set(err, FLOE_EINVAL, "equality delete writer: no equality field ids");
  const floe_iceberg_schema *schema = options->schema;
  for (int32_t i = 0; i < n_equality_ids; i++) {
    const floe_iceberg_field *f = NULL;
    for (int32_t k = 0; k < schema->root.n_fields && f == NULL; k++)
      if (schema->root.fields[k].id == equality_ids[i]) f = &schema->root.fields[k];
    if (f == NULL || !floe_iceberg_type_is_primitive(f->type.id))
      return floe_error_set(err, FLOE_EINVAL,
                            "equality delete writer: field id %d is not a top-level primitive "
                            "column of schema %d",
                            equality_ids[i], schema->schema_id);
    for (int32_t k = 0; k < i; k++)
      if (equality_ids[k] == equality_ids[i])
        return floe_error_set(err, FLOE_EINVAL,
                              "equality delete writer: field id %d ('%s') is listed twice",
                              f->id, f->name);
  }
  /* The delete file's schema: the equality columns in table order, as
   * Iceberg's TypeUtil.select projects them. */
  columns = floe_calloc((size_t)n_equality_ids, sizeof *columns);
  w = floe_calloc(1, sizeof *w);
  if (columns == NULL || w == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "equality delete writer: out of memory");
    goto cleanup;
  }
  int32_t n = 0;
  for (int32_t k = 0; k < schema->root.n_fields; k++) {
    const floe_iceberg_field *f = &schema->root.fields[k];
    for (int32_t i = 0; i < n_equality_ids; i++)
      if (equality_ids[i] == f->id)
        columns[n++] = (floe_iceberg_column){f->id, f->name, f->required, f->type, f->doc};
  }
  params.content = FLOE_CONTENT_EQUALITY_DELETES;
  params.suffix = "-deletes";
  params.equality_ids = equality_ids;
  params.n_equality_ids = n_equality_ids;
  params.has_sort_order_id = true;
  params.owns_file_schema = true;
  rc = floe_iceberg_schema_new(&params.file_schema, schema->schema_id, columns, n, err);
  if (rc == FLOE_OK) rc = tw_core_init(&w->core, options, &params, err);
  if (rc < 0) {
    floe_error_prefix(err, "equality delete writer");
    goto cleanup;
  }
  *out = w;
  w = NULL;
cleanup:
  if (params.owns_file_schema) floe_iceberg_schema_free(params.file_schema);
  floe_equality_delete_writer_free(w);
  floe_free(columns);
  return rc;
}

int floe_equality_delete_writer_write(floe_equality_delete_writer *w,
                                      const struct ArrowSchema *schema,
                                      const struct ArrowArray *batch, floe_error *err) {
  return tw_write_batch(&w->core, schema, batch, true, err);
}

int floe_equality_delete_writer_close(floe_equality_delete_writer *w,
                                      floe_content_file_list *out, floe_error *err) {
  return tw_close(&w->core, out, err);
}

void floe_equality_delete_writer_abort(floe_equality_delete_writer *w) {
  if (w != NULL) tw_core_abort(&w->core);
}

void floe_equality_delete_writer_free(floe_equality_delete_writer *w) {
  if (w == NULL) return;
  tw_core_free(&w->core);
  floe_free(w);
}
