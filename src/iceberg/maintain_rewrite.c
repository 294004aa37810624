/*
 * iceberg/maintain_rewrite: the maintenance operations that rewrite files
 * (include/floe/maintain.h): equality deletes converted to position
 * deletes, compaction of small data files with their deletes applied, and
 * manifests regrouped by partition; plus floe_maintain_run, which runs the
 * selected operations and snapshot expiry (maintain.c) in order.
 *
 * Every operation first plans on the table's current snapshot with the
 * scan (the same planner readers use, so "the deletes that apply to a data
 * file" means exactly what it means for a reader), writes its new files,
 * and commits through floe_table_op, whose rebase validation is what makes
 * it safe next to `floe run`: a replace or row delta that would lose or
 * resurrect a row because of a commit that landed after its base fails
 * with FLOE_ECONFLICT instead. Files written by an attempt that did not
 * commit are deleted by their writer (abort); a crash leaves orphans.
 *
 * Compaction never holds a group in memory: the scan streams one data
 * file's row group at a time into the data writer, which rolls files at
 * the target size. The plan itself (one floe_scan_task per live data file)
 * is metadata only, and is released before the first commit; groups keep
 * copies of their paths.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/debug.h"
#include "floe/log.h"
#include "floe/maintain.h"
#include "floe/scan.h"
#include "floe/table_writer.h"
#include "iceberg/maintain_internal.h"
#include "iceberg/table_internal.h"

#define DEFAULT_TARGET_FILE_SIZE (INT64_C(512) * 1024 * 1024)
#define DEFAULT_MAX_GROUP_BYTES (INT64_C(1024) * 1024 * 1024)
#define DEFAULT_MANIFEST_TARGET (INT64_C(8) * 1024 * 1024)
#define DEFAULT_SORT_BUFFER (INT64_C(64) * 1024 * 1024)

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "maintenance: out of memory");
}

static int64_t property_i64(const floe_iceberg_metadata *md, const char *key,
                            int64_t fallback) {
  const char *v = floe_iceberg_metadata_property(md, key);
  if (v == NULL || *v == '\0') return fallback;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  return end != NULL && *end == '\0' && n > 0 ? (int64_t)n : fallback;
}

static void progress(const floe_maintain_options *o, const char *phase, int64_t done,
                     int64_t total) {
  if (o->progress != NULL) o->progress(o->progress_ctx, phase, done, total);
}

/* "<spec id>:<partition path>" of a content file, NUL-terminated in out. */
static int partition_key(const floe_iceberg_metadata *md, const floe_iceberg_content_file *f,
                         floe_buf *out, floe_error *err) {
  out->len = 0;
  char prefix[24];
  snprintf(prefix, sizeof prefix, "%d:", (int)f->spec_id);
  if (floe_buf_append(out, prefix, strlen(prefix)) < 0) return nomem(err);
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, f->spec_id);
  if (spec != NULL && spec->n_fields > 0) {
    floe_error ignore = {0};
    if (floe_iceberg_partition_path(spec, floe_iceberg_metadata_current_schema(md), f->partition,
                                    out, &ignore) < 0) {
      out->len = strlen(prefix);
      for (int32_t i = 0; i < f->n_partition; i++) {
        char v[64];
        snprintf(v, sizeof v, "/%d=%" PRId64 ":%zu:%d", (int)i, f->partition[i].v.i64,
                 f->partition[i].len, f->partition[i].is_null ? 1 : 0);
        if (floe_buf_append(out, v, strlen(v)) < 0) return nomem(err);
      }
    }
  }
  if (floe_buf_append(out, "", 1) < 0) return nomem(err);
  return FLOE_OK;
}

static int new_prefix(const char *what, int32_t n, char *out, size_t cap, floe_error *err) {
  char uuid[37];
  int rc = floe_iceberg_uuid_random(uuid, err);
  if (rc < 0) return rc;
  snprintf(out, cap, "%s-%05d-%s", what, (int)n, uuid);
  return FLOE_OK;
}

static int open_plan(const floe_table *table, const floe_scan_predicate *filter,
                     int32_t n_filter, floe_scan **out_scan,
                     const floe_scan_plan_info **out_plan, floe_error *err) {
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.filter = filter;
  so.n_filter = n_filter;
  int rc = floe_scan_open(out_scan, floe_table_metadata(table), floe_table_io(table), &so, err);
  if (rc == FLOE_OK) rc = floe_scan_plan(*out_scan, out_plan, err);
  return rc;
}

static int delete_index(const floe_scan_plan_info *plan, const floe_scan_delete_file *d) {
  return (int)(d - plan->delete_files);
}

/* Iceberg v3 tables: floe does not write them yet (issue 14 D: deletion
 * vectors, row lineage), so the operations that write files refuse them
 * before anything is written; expiry, which writes only metadata that
 * carries the v3 fields through unchanged, works on them. */
static int refuse_v3(const floe_table *table, const char *operation, floe_error *err) {
  int version = floe_table_metadata(table)->format_version;
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "the table is Iceberg format-version %d; floe does not write v%d tables "
                        "yet (deletion vectors, row lineage), so %s wrote nothing (snapshot "
                        "expiry works on them: --expire-snapshots)",
                        version, version, operation);
}

/* ==== equality deletes -> position deletes ============================ */

/* The _pos values of one data file's rows as a scan returns them. */
typedef struct positions {
  int64_t *v;
  size_t n, cap;
} positions;

static int read_positions(const floe_table *table, const char *path, int32_t field_id,
                          bool ignore_eq, positions *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_scan *scan = NULL;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  out->n = 0;
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  const char *paths[1] = {path};
  so.data_files = paths;
  so.n_data_files = 1;
  so.field_ids = &field_id;
  so.n_field_ids = 1;
  so.with_pos = true;
  so.ignore_equality_deletes = ignore_eq;
  FLOE_TRY(floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), &so, err));
  for (;;) {
    FLOE_TRY(floe_scan_next(scan, &batch, err));
    if (batch.release == NULL) break;
    const struct ArrowArray *pos = batch.children[batch.n_children - 1];
    const int64_t *values = (const int64_t *)pos->buffers[1];
    for (int64_t i = 0; i < batch.length; i++) {
      if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 4096;
        int64_t *grown = floe_realloc(out->v, cap * sizeof *grown);
        if (grown == NULL) {
          rc = nomem(err);
          goto cleanup;
        }
        out->v = grown;
        out->cap = cap;
      }
      out->v[out->n++] = values[pos->offset + batch.offset + i];
    }
    batch.release(&batch);
  }
cleanup:
  if (batch.release != NULL) batch.release(&batch);
  floe_scan_free(scan);
  return rc;
}

static int32_t first_primitive_column(const floe_iceberg_schema *schema) {
  for (int32_t i = 0; i < schema->root.n_fields; i++)
    if (floe_iceberg_type_is_primitive(schema->root.fields[i].type.id))
      return schema->root.fields[i].id;
  return -1;
}

int floe_maintain_convert_equality_deletes(floe_table *table,
                                           const floe_maintain_options *options,
                                           floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  floe_scan *scan = NULL;
  const floe_scan_plan_info *plan = NULL;
  floe_position_delete_writer *writer = NULL;
  floe_content_file_list written = {0};
  floe_table_op *op = NULL;
  positions live = {0}, unfiltered = {0};
  bool committed = false;
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  if (md->format_version >= 3) {
    rc = refuse_v3(table, "converting equality deletes", err);
    goto cleanup;
  }
  FLOE_TRY(open_plan(table, NULL, 0, &scan, &plan, err));
  int64_t n_eq = 0;
  for (int32_t d = 0; d < plan->n_delete_files; d++)
    if (plan->delete_files[d].file.content == FLOE_CONTENT_EQUALITY_DELETES) n_eq++;
  if (n_eq == 0) goto cleanup;
  int32_t field_id = first_primitive_column(floe_table_schema(table));
  if (field_id < 0) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED, "the table has no primitive column to read");
    goto cleanup;
  }
  int64_t n_affected = 0;
  for (int32_t t = 0; t < plan->n_tasks; t++) {
    const floe_scan_task *task = &plan->tasks[t];
    bool has_eq = false;
    for (int32_t k = 0; k < task->n_deletes && !has_eq; k++)
      has_eq = task->deletes[k]->file.content == FLOE_CONTENT_EQUALITY_DELETES;
    if (!has_eq) continue;
    n_affected++;
  }
  report->eq_data_files += n_affected;
  report->eq_delete_files_removed += n_eq;
  if (options->dry_run) goto cleanup;

  floe_table_writer_options wo;
  floe_table_writer_options_init(&wo);
  FLOE_TRY(floe_table_writer_options_from_metadata(&wo, md, err));
  wo.io = floe_table_io(table);
  char prefix[96];
  FLOE_TRY(new_prefix("convert", 0, prefix, sizeof prefix, err));
  wo.file_prefix = prefix;
  /* Each data file's deletes go into its own spec (partition evolution). */
  FLOE_TRY(floe_position_delete_writer_open_specs(
      &writer, &wo, (const floe_iceberg_partition_spec *const *)md->specs, md->n_specs, err));
  FLOE_TRY(floe_table_op_new(&op, table, FLOE_TABLE_ROW_DELTA, err));
  int64_t done = 0;
  for (int32_t t = 0; t < plan->n_tasks; t++) {
    const floe_scan_task *task = &plan->tasks[t];
    bool has_eq = false;
    for (int32_t k = 0; k < task->n_deletes && !has_eq; k++)
      has_eq = task->deletes[k]->file.content == FLOE_CONTENT_EQUALITY_DELETES;
    if (!has_eq) continue;
    const char *path = task->file.file_path;
    FLOE_TRY(read_positions(table, path, field_id, false, &live, err));
    FLOE_TRY(read_positions(table, path, field_id, true, &unfiltered, err));
    /* Both ascend (file order): what only the second has is what the
     * equality deletes remove. */
    size_t j = 0;
    for (size_t i = 0; i < unfiltered.n; i++) {
      while (j < live.n && live.v[j] < unfiltered.v[i]) j++;
      if (j < live.n && live.v[j] == unfiltered.v[i]) continue;
      FLOE_TRY(floe_position_delete_writer_add_spec(writer, task->file.spec_id,
                                                    task->file.n_partition > 0
                                                        ? task->file.partition
                                                        : NULL,
                                                    path, unfiltered.v[i], err));
      report->eq_deleted_rows++;
    }
    FLOE_TRY(floe_table_op_reference_data_file(op, path, err));
    progress(options, "convert", ++done, n_affected);
  }
  FLOE_TRY(floe_position_delete_writer_close(writer, &written, err));
  for (int32_t i = 0; i < written.n_files; i++)
    FLOE_TRY(floe_table_op_add_file(op, &written.files[i], err));
  for (int32_t d = 0; d < plan->n_delete_files; d++)
    if (plan->delete_files[d].file.content == FLOE_CONTENT_EQUALITY_DELETES)
      FLOE_TRY(floe_table_op_delete_path(op, plan->delete_files[d].file.file_path, err));
  FLOE_TRY(floe_table_op_set_summary(op, "floe.maintenance", "convert-equality-deletes", err));
  floe_scan_free(scan); /* borrows the metadata the commit replaces */
  scan = NULL;
  floe_debug_crash_point("maintain_before_commit");
  FLOE_TRY(floe_table_op_commit(op, NULL, err));
  committed = true;
  floe_debug_crash_point("maintain_after_commit");
  report->commits++;
  report->pos_delete_files_added += written.n_files;
  floe_log(FLOE_LOG_INFO, "maintain_convert",
           "table=%s equality_delete_files=%lld data_files=%lld position_delete_files=%d",
           floe_table_name(table), (long long)n_eq, (long long)n_affected, (int)written.n_files);
cleanup:
  if (!committed) floe_position_delete_writer_abort(writer);
  floe_position_delete_writer_free(writer);
  floe_content_file_list_free(&written);
  floe_table_op_free(op);
  floe_scan_free(scan);
  floe_free(live.v);
  floe_free(unfiltered.v);
  if (rc < 0) floe_error_prefix(err, "table %s: convert equality deletes", floe_table_name(table));
  return rc;
}

/* ==== compaction ======================================================= */

typedef struct group {
  char **paths; /* data files to rewrite */
  int32_t n_paths;
  char **drop; /* delete files that apply only to them */
  int32_t n_drop;
  int64_t bytes;
} group;

typedef struct group_list {
  group *items;
  int32_t n, cap;
} group_list;

static void group_list_free(group_list *l) {
  for (int32_t g = 0; g < l->n; g++) {
    for (int32_t i = 0; i < l->items[g].n_paths; i++) floe_free(l->items[g].paths[i]);
    for (int32_t i = 0; i < l->items[g].n_drop; i++) floe_free(l->items[g].drop[i]);
    floe_free(l->items[g].paths);
    floe_free(l->items[g].drop);
  }
  floe_free(l->items);
  memset(l, 0, sizeof *l);
}

static int push_str(char ***arr, int32_t *n, const char *s) {
  char **grown = floe_realloc(*arr, (size_t)(*n + 1) * sizeof *grown);
  if (grown == NULL) return FLOE_ENOMEM;
  *arr = grown;
  if ((grown[*n] = floe_strdup(s)) == NULL) return FLOE_ENOMEM;
  (*n)++;
  return FLOE_OK;
}

typedef struct candidate {
  int32_t task;
  const char *key;
} candidate;

static int cmp_candidate(const void *a, const void *b) {
  const candidate *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c != 0 ? c : (x->task > y->task) - (x->task < y->task);
}

static bool readable_schema(const floe_iceberg_schema *schema, const char **out_column) {
  for (int32_t i = 0; i < schema->root.n_fields; i++) {
    const floe_iceberg_type *t = &schema->root.fields[i].type;
    floe_arrow_type_info info;
    if (floe_iceberg_type_to_arrow(t, &info, NULL) != FLOE_OK) {
      *out_column = schema->root.fields[i].name;
      return false;
    }
  }
  return true;
}

/* Plans the groups of one compaction pass on the current snapshot. */
static int plan_groups(floe_table *table, const floe_maintain_options *o, int64_t target,
                       group_list *out, floe_maintain_report *report, bool count_before,
                       floe_error *err) {
  int rc = FLOE_OK;
  floe_scan *scan = NULL, *filtered = NULL;
  const floe_scan_plan_info *plan = NULL, *fplan = NULL;
  candidate *cands = NULL;
  char **keys = NULL;
  int32_t *att_total = NULL, *att_in = NULL, *group_of = NULL;
  floe_buf key = {0};
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  FLOE_TRY(open_plan(table, NULL, 0, &scan, &plan, err));
  if (count_before) {
    report->data_files_before += plan->n_tasks;
    report->delete_files_before += plan->n_delete_files;
  }
  if (o->n_filter > 0) FLOE_TRY(open_plan(table, o->filter, o->n_filter, &filtered, &fplan, err));
  int32_t n = plan->n_tasks;
  cands = floe_calloc((size_t)n + 1, sizeof *cands);
  keys = floe_calloc((size_t)n + 1, sizeof *keys);
  group_of = floe_calloc((size_t)n + 1, sizeof *group_of);
  att_total = floe_calloc((size_t)plan->n_delete_files + 1, sizeof *att_total);
  att_in = floe_calloc((size_t)plan->n_delete_files + 1, sizeof *att_in);
  if (cands == NULL || keys == NULL || group_of == NULL || att_total == NULL || att_in == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  int32_t n_cands = 0;
  for (int32_t t = 0; t < n; t++) {
    const floe_scan_task *task = &plan->tasks[t];
    group_of[t] = -1;
    for (int32_t k = 0; k < task->n_deletes; k++) att_total[delete_index(plan, task->deletes[k])]++;
    bool small = task->file.file_size_in_bytes < target / 4 * 3;
    if (!small && task->n_deletes == 0) continue;
    if (filtered != NULL) {
      bool selected = false;
      for (int32_t f = 0; f < fplan->n_tasks && !selected; f++)
        selected = strcmp(fplan->tasks[f].file.file_path, task->file.file_path) == 0;
      if (!selected) continue;
    }
    FLOE_TRY(partition_key(md, &task->file, &key, err));
    if ((keys[t] = floe_strdup((const char *)key.data)) == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    cands[n_cands].task = t;
    cands[n_cands].key = keys[t];
    n_cands++;
  }
  qsort(cands, (size_t)n_cands, sizeof *cands, cmp_candidate);
  int32_t min_input = o->min_input_files > 0 ? o->min_input_files : 2;
  int64_t max_group = o->max_group_bytes > 0 ? o->max_group_bytes : DEFAULT_MAX_GROUP_BYTES;
  for (int32_t i = 0; i < n_cands;) {
    int32_t j = i;
    bool with_deletes = false;
    while (j < n_cands && strcmp(cands[j].key, cands[i].key) == 0) {
      with_deletes |= plan->tasks[cands[j].task].n_deletes > 0;
      j++;
    }
    if (j - i >= min_input || (with_deletes && !o->small_files_only)) {
      group *g = NULL;
      for (int32_t k = i; k < j; k++) {
        const floe_scan_task *task = &plan->tasks[cands[k].task];
        if (g == NULL || (g->bytes + task->file.file_size_in_bytes > max_group && g->n_paths > 0)) {
          if (out->n == out->cap) {
            int32_t cap = out->cap ? out->cap * 2 : 8;
            group *grown = floe_realloc(out->items, (size_t)cap * sizeof *grown);
            if (grown == NULL) {
              rc = nomem(err);
              goto cleanup;
            }
            out->items = grown;
            out->cap = cap;
          }
          g = &out->items[out->n++];
          memset(g, 0, sizeof *g);
        }
        if (push_str(&g->paths, &g->n_paths, task->file.file_path) < 0) {
          rc = nomem(err);
          goto cleanup;
        }
        g->bytes += task->file.file_size_in_bytes;
        group_of[cands[k].task] = out->n - 1;
      }
    }
    i = j;
  }
  /* A delete file is dropped with the group that rewrites every data file
   * it applies to; one that applies to none (its data files are gone) goes
   * with the first group. */
  for (int32_t d = 0; d < plan->n_delete_files && out->n > 0; d++) {
    int32_t owner = att_total[d] == 0 ? 0 : -2;
    for (int32_t t = 0; t < n && owner != -1; t++) {
      const floe_scan_task *task = &plan->tasks[t];
      for (int32_t k = 0; k < task->n_deletes; k++) {
        if (delete_index(plan, task->deletes[k]) != d) continue;
        if (group_of[t] < 0 || (owner >= 0 && owner != group_of[t]))
          owner = -1;
        else
          owner = group_of[t];
      }
    }
    if (owner >= 0) {
      group *g = &out->items[owner];
      if (push_str(&g->drop, &g->n_drop, plan->delete_files[d].file.file_path) < 0) {
        rc = nomem(err);
        goto cleanup;
      }
    }
  }
cleanup:
  for (int32_t t = 0; keys != NULL && t < n; t++) floe_free(keys[t]);
  floe_free(keys);
  floe_free(cands);
  floe_free(group_of);
  floe_free(att_total);
  floe_free(att_in);
  floe_buf_free(&key);
  floe_scan_free(filtered);
  floe_scan_free(scan);
  return rc;
}

/* The writers of one compaction commit: one for an unsorted rewrite, one
 * per sorted run otherwise (a file never mixes two runs). Each stays open
 * (closed, with its files listed) until the commit is decided, so an
 * attempt that does not commit deletes every file it wrote. */
typedef struct run_writers {
  floe_data_writer **writers;
  floe_content_file_list *files;
  int32_t n, cap;
  int64_t rows;
} run_writers;

static int run_writer_open(floe_table *table, int64_t target, int32_t seq, run_writers *rw,
                           floe_data_writer **out, floe_error *err) {
  int rc = FLOE_OK;
  if (rw->n == rw->cap) {
    int32_t cap = rw->cap ? rw->cap * 2 : 4;
    floe_data_writer **w = floe_realloc(rw->writers, (size_t)cap * sizeof *w);
    if (w == NULL) return nomem(err);
    rw->writers = w;
    floe_content_file_list *f = floe_realloc(rw->files, (size_t)cap * sizeof *f);
    if (f == NULL) return nomem(err);
    rw->files = f;
    rw->cap = cap;
  }
  floe_table_writer_options wo;
  floe_table_writer_options_init(&wo);
  FLOE_TRY(floe_table_writer_options_from_metadata(&wo, floe_table_metadata(table), err));
  wo.io = floe_table_io(table);
  wo.target_file_size_bytes = target;
  wo.max_open_files = 4;
  char prefix[96];
  FLOE_TRY(new_prefix("compact", seq, prefix, sizeof prefix, err));
  wo.file_prefix = prefix;
  memset(&rw->files[rw->n], 0, sizeof rw->files[rw->n]);
  rw->writers[rw->n] = NULL;
  FLOE_TRY(floe_data_writer_open(&rw->writers[rw->n], &wo, err));
  *out = rw->writers[rw->n++];
cleanup:
  return rc;
}

/* Closes the newest writer; its files join the commit. */
static int run_writer_close(run_writers *rw, floe_error *err) {
  floe_data_writer *w = rw->writers[rw->n - 1];
  rw->rows += floe_data_writer_rows(w);
  return floe_data_writer_close(w, &rw->files[rw->n - 1], err);
}

static void run_writers_free(run_writers *rw, bool committed) {
  for (int32_t i = 0; i < rw->n; i++) {
    if (!committed) floe_data_writer_abort(rw->writers[i]);
    floe_data_writer_free(rw->writers[i]);
    floe_content_file_list_free(&rw->files[i]);
  }
  floe_free(rw->writers);
  floe_free(rw->files);
  memset(rw, 0, sizeof *rw);
}

/* Reads the live rows of data files paths[0..n) into new files: through
 * one writer, or, with `order`, through the sort buffer, a writer per
 * sorted run. */
static int rewrite_rows(floe_table *table, const char **paths, int32_t n_paths,
                        const floe_iceberg_sort_order *order, int64_t sort_buffer,
                        int64_t target, int32_t seq, run_writers *rw,
                        floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  floe_scan *scan = NULL;
  maintain_sorter *sorter = NULL;
  floe_data_writer *writer = NULL;
  struct ArrowSchema schema;
  struct ArrowArray batch;
  memset(&schema, 0, sizeof schema);
  memset(&batch, 0, sizeof batch);
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.data_files = paths;
  so.n_data_files = n_paths;
  FLOE_TRY(floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), &so, err));
  const floe_scan_plan_info *plan = NULL;
  FLOE_TRY(floe_scan_plan(scan, &plan, err));
  if (plan->n_tasks != n_paths) {
    rc = floe_error_set(err, FLOE_ECONFLICT,
                        "%d of the %d data files planned for rewriting are no longer live",
                        (int)(n_paths - plan->n_tasks), (int)n_paths);
    goto cleanup;
  }
  FLOE_TRY(floe_scan_schema(scan, &schema, err));
  if (order != NULL)
    FLOE_TRY(maintain_sorter_open(&sorter, floe_table_schema(table), order, &schema, sort_buffer,
                                  err));
  else
    FLOE_TRY(run_writer_open(table, target, seq, rw, &writer, err));
  for (;;) {
    FLOE_TRY(floe_scan_next(scan, &batch, err));
    if (batch.release == NULL) break;
    if (sorter == NULL) {
      FLOE_TRY(floe_data_writer_write(writer, &schema, &batch, err));
      batch.release(&batch);
      continue;
    }
    bool full = false;
    FLOE_TRY(maintain_sorter_add(sorter, &batch, &full, err));
    if (full) {
      FLOE_TRY(run_writer_open(table, target, seq, rw, &writer, err));
      FLOE_TRY(maintain_sorter_flush(sorter, writer, err));
      FLOE_TRY(run_writer_close(rw, err));
      report->sorted_runs++;
    }
  }
  if (sorter == NULL) {
    FLOE_TRY(run_writer_close(rw, err));
  } else if (!maintain_sorter_empty(sorter)) {
    FLOE_TRY(run_writer_open(table, target, seq, rw, &writer, err));
    FLOE_TRY(maintain_sorter_flush(sorter, writer, err));
    FLOE_TRY(run_writer_close(rw, err));
    report->sorted_runs++;
  }
  if (order != NULL)
    for (int32_t i = 0; i < rw->n; i++)
      for (int32_t f = 0; f < rw->files[i].n_files; f++) {
        rw->files[i].files[f].has_sort_order_id = true;
        rw->files[i].files[f].sort_order_id = order->order_id;
      }
cleanup:
  if (batch.release != NULL) batch.release(&batch);
  maintain_sorter_free(sorter);
  if (schema.release != NULL) schema.release(&schema);
  floe_scan_free(scan);
  return rc;
}

/* The sort order compaction writes by: the table's default order when it
 * has fields and sorting is not turned off; NULL otherwise. */
static const floe_iceberg_sort_order *compaction_order(const floe_table *table,
                                                       const floe_maintain_options *o) {
  if (o->no_sort) return NULL;
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  const floe_iceberg_sort_order *order =
      floe_iceberg_metadata_sort_order(md, md->default_sort_order_id);
  return order != NULL && order->n_fields > 0 ? order : NULL;
}

/* Rewrites groups[0..n) in one replace commit. FLOE_ECONFLICT when a
 * concurrent commit invalidated it (nothing committed, its files removed). */
static int commit_groups(floe_table *table, const group *groups, int32_t n_groups,
                         int64_t target, int32_t seq, const floe_maintain_options *o,
                         floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  run_writers rw = {0};
  floe_table_op *op = NULL;
  const char **paths = NULL;
  bool committed = false;
  /* order points into the table's metadata, which the commit replaces. */
  const floe_iceberg_sort_order *order = compaction_order(table, o);
  int32_t order_id = order != NULL ? order->order_id : 0;
  int64_t sort_buffer = o->sort_buffer_bytes > 0 ? o->sort_buffer_bytes : DEFAULT_SORT_BUFFER;
  int32_t n_paths = 0;
  for (int32_t g = 0; g < n_groups; g++) n_paths += groups[g].n_paths;
  paths = floe_calloc((size_t)n_paths + 1, sizeof *paths);
  if (paths == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  n_paths = 0;
  for (int32_t g = 0; g < n_groups; g++)
    for (int32_t i = 0; i < groups[g].n_paths; i++) paths[n_paths++] = groups[g].paths[i];
  if (order == NULL) {
    FLOE_TRY(rewrite_rows(table, paths, n_paths, NULL, 0, target, seq, &rw, report, err));
  } else {
    /* Sorted: group by group (one partition each), so a run never spans
     * partitions and the writer keeps one file open per run. */
    for (int32_t g = 0, first = 0; g < n_groups; first += groups[g].n_paths, g++)
      FLOE_TRY(rewrite_rows(table, paths + first, groups[g].n_paths, order, sort_buffer, target,
                            seq, &rw, report, err));
    report->sort_order_id = order->order_id;
  }
  FLOE_TRY(floe_table_op_new(&op, table, FLOE_TABLE_REPLACE, err));
  int64_t bytes_in = 0, files_in = 0, drops = 0, bytes_out = 0, files_out = 0;
  for (int32_t g = 0; g < n_groups; g++) {
    for (int32_t i = 0; i < groups[g].n_paths; i++)
      FLOE_TRY(floe_table_op_delete_path(op, groups[g].paths[i], err));
    for (int32_t i = 0; i < groups[g].n_drop; i++)
      FLOE_TRY(floe_table_op_delete_path(op, groups[g].drop[i], err));
    bytes_in += groups[g].bytes;
    files_in += groups[g].n_paths;
    drops += groups[g].n_drop;
  }
  for (int32_t w = 0; w < rw.n; w++)
    for (int32_t i = 0; i < rw.files[w].n_files; i++) {
      FLOE_TRY(floe_table_op_add_file(op, &rw.files[w].files[i], err));
      bytes_out += rw.files[w].files[i].file_size_in_bytes;
      files_out++;
    }
  FLOE_TRY(floe_table_op_set_summary(op, "floe.maintenance", "compact", err));
  floe_debug_crash_point("maintain_before_commit");
  rc = floe_table_op_commit(op, NULL, err);
  if (rc == FLOE_ENOTFOUND) rc = FLOE_ECONFLICT; /* a file left meanwhile */
  if (rc < 0) goto cleanup;
  committed = true;
  floe_debug_crash_point("maintain_after_commit");
  report->commits++;
  report->groups_committed += n_groups;
  report->files_rewritten += files_in;
  report->files_written += files_out;
  report->delete_files_removed += drops;
  report->rows_rewritten += rw.rows;
  report->bytes_rewritten += bytes_in;
  report->bytes_written += bytes_out;
  floe_log(FLOE_LOG_INFO, "maintain_compact",
           "table=%s groups=%d files=%lld written=%lld delete_files_removed=%lld rows=%lld "
           "sort_order=%d",
           floe_table_name(table), (int)n_groups, (long long)files_in, (long long)files_out,
           (long long)drops, (long long)rw.rows, (int)order_id);
cleanup:
  run_writers_free(&rw, committed);
  floe_free(paths);
  floe_table_op_free(op);
  return rc;
}

int floe_maintain_compact(floe_table *table, const floe_maintain_options *options,
                          floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  group_list groups = {0};
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  const char *column = NULL;
  if (md->format_version >= 3) {
    rc = refuse_v3(table, "compaction", err);
    goto cleanup;
  }
  if (!readable_schema(floe_table_schema(table), &column)) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                        "column %s has a type that has no Arrow form, which the scan cannot "
                        "read",
                        column);
    goto cleanup;
  }
  int64_t target = options->target_file_size_bytes > 0
                       ? options->target_file_size_bytes
                       : property_i64(md, "write.target-file-size-bytes", DEFAULT_TARGET_FILE_SIZE);
  for (int pass = 0; pass < 2; pass++) {
    if (pass > 0) FLOE_TRY(floe_table_refresh(table, err));
    group_list_free(&groups);
    FLOE_TRY(plan_groups(table, options, target, &groups, report, pass == 0, err));
    if (pass == 0) report->groups += groups.n;
    else report->groups_redone += groups.n;
    if (groups.n == 0 || options->dry_run) {
      for (int32_t g = 0; options->dry_run && g < groups.n; g++) {
        report->files_rewritten += groups.items[g].n_paths;
        report->bytes_rewritten += groups.items[g].bytes;
        report->delete_files_removed += groups.items[g].n_drop;
      }
      break;
    }
    int32_t conflicts = 0;
    if (options->partial_progress) {
      for (int32_t g = 0; g < groups.n; g++) {
        floe_error one = {0};
        int grc = commit_groups(table, &groups.items[g], 1, target, g, options, report, &one);
        if (grc == FLOE_ECONFLICT) {
          conflicts++;
          floe_log(FLOE_LOG_WARN, "maintain_compact_conflict", "table=%s group=%d error=%s",
                   floe_table_name(table), (int)g, one.message);
          FLOE_TRY(floe_table_refresh(table, err));
        } else if (grc < 0) {
          rc = floe_error_set(err, grc, "%s", one.message);
          goto cleanup;
        }
        progress(options, "compact", g + 1, groups.n);
      }
    } else {
      floe_error one = {0};
      int grc = commit_groups(table, groups.items, groups.n, target, 0, options, report, &one);
      if (grc == FLOE_ECONFLICT) {
        conflicts = groups.n;
        floe_log(FLOE_LOG_WARN, "maintain_compact_conflict", "table=%s error=%s",
                 floe_table_name(table), one.message);
      } else if (grc < 0) {
        rc = floe_error_set(err, grc, "%s", one.message);
        goto cleanup;
      }
      progress(options, "compact", groups.n, groups.n);
    }
    report->groups_conflicted += conflicts;
    if (conflicts == 0) break;
    if (pass == 1) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "%d group%s conflicted with concurrent commits twice; run again",
                          (int)conflicts, conflicts == 1 ? "" : "s");
      goto cleanup;
    }
  }
cleanup:
  group_list_free(&groups);
  if (rc < 0) floe_error_prefix(err, "table %s: compact", floe_table_name(table));
  return rc;
}

/* ==== manifest rewrite ================================================= */

typedef struct live_entry {
  floe_manifest_entry e; /* file deep-copied */
  int32_t group;         /* index into (content, spec) groups */
  char *key;
} live_entry;

static int cmp_live(const void *a, const void *b) {
  const live_entry *x = a, *y = b;
  if (x->group != y->group) return x->group < y->group ? -1 : 1;
  return strcmp(x->key, y->key);
}

static void live_entries_free(live_entry *v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++) {
    floe_iceberg_content_file_free(&v[i].e.file);
    floe_free(v[i].key);
  }
  floe_free(v);
}

static char *metadata_file_path(const floe_iceberg_metadata *md, const char *name) {
  const char *loc = md->location;
  size_t n = strlen(loc);
  while (n > 0 && loc[n - 1] == '/') n--;
  size_t size = n + strlen(name) + 16;
  char *p = floe_malloc(size);
  if (p != NULL) snprintf(p, size, "%.*s/metadata/%s", (int)n, loc, name);
  return p;
}

/* One attempt on the current state: FLOE_ECONFLICT when the pointer moved. */
static int rewrite_manifests_once(floe_table *table, const floe_maintain_options *o,
                                  floe_maintain_report *report, bool *out_done,
                                  floe_error *err) {
  int rc = FLOE_OK;
  floe_io *io = floe_table_io(table);
  const floe_iceberg_metadata *base = floe_table_metadata(table);
  const floe_iceberg_snapshot *parent = floe_iceberg_metadata_current_snapshot(base);
  floe_manifest_list *list = NULL;
  floe_manifest_reader *reader = NULL;
  floe_manifest_writer *writer = NULL;
  live_entry *entries = NULL;
  size_t n_entries = 0, cap = 0;
  floe_manifest_file *out_files = NULL;
  int32_t n_out = 0;
  char **written = NULL;
  int32_t n_written = 0;
  floe_iceberg_metadata *md = NULL;
  floe_buf key = {0};
  char *path = NULL, *list_path = NULL;
  floe_iceberg_property *summary = NULL;
  char (*numbers)[24] = NULL;
  int32_t groups_spec[64];
  floe_manifest_content groups_content[64];
  int32_t n_groups = 0;
  *out_done = false;
  if (parent == NULL) {
    *out_done = true;
    goto cleanup;
  }
  if (parent->manifest_list == NULL) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED, "format v1 snapshot without a manifest list");
    goto cleanup;
  }
  FLOE_TRY(floe_manifest_list_read(io, parent->manifest_list, &list, err));
  report->manifests_before = list->n_files;
  int64_t total_length = 0;
  for (int32_t m = 0; m < list->n_files; m++) {
    const floe_manifest_file *mf = &list->files[m];
    total_length += mf->manifest_length;
    int32_t g = 0;
    while (g < n_groups && !(groups_spec[g] == mf->partition_spec_id &&
                             groups_content[g] == mf->content))
      g++;
    if (g == n_groups) {
      if (n_groups == 64) {
        rc = floe_error_set(err, FLOE_EUNSUPPORTED, "more than 64 partition specs");
        goto cleanup;
      }
      groups_spec[g] = mf->partition_spec_id;
      groups_content[g] = mf->content;
      n_groups++;
    }
    FLOE_TRY(floe_manifest_reader_open(&reader, io, mf->manifest_path, mf, base, err));
    for (;;) {
      const floe_manifest_entry *e = NULL;
      FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
      if (e == NULL) break;
      if (e->status == FLOE_ENTRY_DELETED) continue;
      if (n_entries == cap) {
        size_t ncap = cap ? cap * 2 : 256;
        live_entry *grown = floe_realloc(entries, ncap * sizeof *grown);
        if (grown == NULL) {
          rc = nomem(err);
          goto cleanup;
        }
        entries = grown;
        cap = ncap;
      }
      live_entry *le = &entries[n_entries];
      memset(le, 0, sizeof *le);
      le->e = *e;
      le->e.status = FLOE_ENTRY_EXISTING;
      if (!le->e.has_snapshot_id) {
        le->e.has_snapshot_id = true;
        le->e.snapshot_id = mf->added_snapshot_id;
      }
      if (!le->e.has_sequence_number) {
        le->e.has_sequence_number = true;
        le->e.sequence_number = mf->sequence_number;
      }
      if (!le->e.has_file_sequence_number) {
        le->e.has_file_sequence_number = true;
        le->e.file_sequence_number = mf->sequence_number;
      }
      le->group = g;
      rc = floe_iceberg_content_file_copy(&le->e.file, &e->file, err);
      if (rc < 0) goto cleanup;
      n_entries++;
      FLOE_TRY(partition_key(base, &le->e.file, &key, err));
      if ((le->key = floe_strdup((const char *)key.data)) == NULL) {
        rc = nomem(err);
        goto cleanup;
      }
    }
    floe_manifest_reader_free(reader);
    reader = NULL;
  }
  int64_t target = o->target_manifest_bytes > 0
                       ? o->target_manifest_bytes
                       : property_i64(base, "commit.manifest.target-size-bytes",
                                      DEFAULT_MANIFEST_TARGET);
  int64_t per_entry = n_entries > 0 ? total_length / (int64_t)n_entries + 1 : 1;
  int64_t per_manifest = target / per_entry > 0 ? target / per_entry : 1;
  /* Manifests the rewrite would produce: one run per group, rolled. */
  qsort(entries, n_entries, sizeof *entries, cmp_live);
  int32_t planned = 0;
  for (size_t i = 0; i < n_entries;) {
    size_t j = i;
    while (j < n_entries && entries[j].group == entries[i].group) j++;
    planned += (int32_t)(((int64_t)(j - i) + per_manifest - 1) / per_manifest);
    i = j;
  }
  report->manifests_after = list->n_files;
  if (planned >= list->n_files) { /* already as compact as it gets */
    *out_done = true;
    goto cleanup;
  }
  report->manifests_after = planned;
  if (o->dry_run) {
    *out_done = true;
    goto cleanup;
  }
  int64_t snapshot_id = 0;
  FLOE_TRY(floe_iceberg_new_snapshot_id(&snapshot_id, err));
  char uuid[37];
  FLOE_TRY(floe_iceberg_uuid_random(uuid, err));
  out_files = floe_calloc((size_t)planned + 1, sizeof *out_files);
  written = floe_calloc((size_t)planned + 2, sizeof *written);
  if (out_files == NULL || written == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  for (size_t i = 0; i < n_entries;) {
    const live_entry *first = &entries[i];
    floe_manifest_writer_options wo = {0};
    wo.format_version = base->format_version;
    wo.schema = floe_iceberg_metadata_current_schema(base);
    wo.spec = floe_iceberg_metadata_spec(base, groups_spec[first->group]);
    wo.content = groups_content[first->group];
    wo.snapshot_id = snapshot_id;
    char name[96];
    snprintf(name, sizeof name, "%s-r%d.avro", uuid, (int)n_out);
    if ((path = metadata_file_path(base, name)) == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    FLOE_TRY(floe_manifest_writer_open(&writer, io, path, &wo, err));
    written[n_written++] = path;
    path = NULL;
    int64_t k = 0;
    size_t j = i;
    while (j < n_entries && entries[j].group == first->group && k < per_manifest) {
      FLOE_TRY(floe_manifest_writer_add(writer, &entries[j].e, err));
      j++;
      k++;
    }
    FLOE_TRY(floe_manifest_writer_close(writer, &out_files[n_out], err));
    /* out_files[] points into the writer: keep a copy that outlives it. */
    floe_manifest_file copy;
    FLOE_TRY(floe_manifest_file_copy(&copy, &out_files[n_out], err));
    out_files[n_out++] = copy;
    floe_manifest_writer_free(writer);
    writer = NULL;
    i = j;
    progress(o, "manifests", n_out, planned);
  }
  floe_debug_crash_point("after_manifest");
  char lname[160];
  snprintf(lname, sizeof lname, "snap-%" PRId64 "-1-%s.avro", snapshot_id, uuid);
  if ((list_path = metadata_file_path(base, lname)) == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  int64_t sequence_number = base->last_sequence_number + 1;
  floe_manifest_list_options lo = {0};
  lo.format_version = base->format_version;
  lo.snapshot_id = snapshot_id;
  lo.has_parent_snapshot_id = true;
  lo.parent_snapshot_id = parent->snapshot_id;
  lo.sequence_number = sequence_number;
  FLOE_TRY(floe_manifest_list_write(io, list_path, &lo, out_files, n_out, err));
  written[n_written++] = floe_strdup(list_path);

  /* Summary: the totals carry over unchanged (Java RewriteManifests). */
  static const char *const totals[] = {"total-records", "total-files-size", "total-data-files",
                                       "total-delete-files", "total-position-deletes",
                                       "total-equality-deletes"};
  int32_t n_summary = 0;
  summary = floe_calloc(16, sizeof *summary);
  numbers = floe_calloc(16, sizeof *numbers);
  if (summary == NULL || numbers == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  summary[n_summary++] = (floe_iceberg_property){"operation", "replace"};
  snprintf(numbers[0], 24, "%d", (int)n_out);
  summary[n_summary++] = (floe_iceberg_property){"manifests-created", numbers[0]};
  snprintf(numbers[1], 24, "%d", (int)list->n_files);
  summary[n_summary++] = (floe_iceberg_property){"manifests-replaced", numbers[1]};
  summary[n_summary++] = (floe_iceberg_property){"manifests-kept", "0"};
  snprintf(numbers[2], 24, "%zu", n_entries);
  summary[n_summary++] = (floe_iceberg_property){"entries-processed", numbers[2]};
  for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
    const char *v = floe_iceberg_snapshot_summary(parent, totals[i]);
    if (v != NULL) summary[n_summary++] = (floe_iceberg_property){(char *)totals[i], (char *)v};
  }
  summary[n_summary++] = (floe_iceberg_property){"floe.maintenance", "rewrite-manifests"};
  floe_iceberg_snapshot snap;
  memset(&snap, 0, sizeof snap);
  snap.snapshot_id = snapshot_id;
  snap.has_parent = true;
  snap.parent_snapshot_id = parent->snapshot_id;
  snap.sequence_number = sequence_number;
  int64_t now = table_now_ms();
  snap.timestamp_ms = now > base->last_updated_ms ? now : base->last_updated_ms + 1;
  snap.manifest_list = list_path;
  snap.n_summary = n_summary;
  snap.summary = summary;
  snap.has_schema_id = true;
  snap.schema_id = base->current_schema_id;
  FLOE_TRY(floe_iceberg_metadata_copy(&md, base, err));
  FLOE_TRY(floe_iceberg_metadata_add_snapshot(md, &snap, err));
  FLOE_TRY(floe_iceberg_metadata_set_ref(md, "main", snapshot_id, false, err));
  floe_debug_crash_point("maintain_before_commit");
  rc = table_commit_metadata(table, md, err); /* takes md */
  md = NULL;
  if (rc < 0) goto cleanup;
  floe_debug_crash_point("maintain_after_commit");
  report->commits++;
  *out_done = true;
  n_written = 0; /* committed: the files are the table's now */
  floe_log(FLOE_LOG_INFO, "maintain_manifests", "table=%s manifests_before=%d manifests_after=%d",
           floe_table_name(table), (int)list->n_files, (int)n_out);
cleanup:
  for (int32_t i = 0; i < n_written; i++) {
    floe_io_delete(io, written[i], NULL); /* not committed: nothing references them */
  }
  for (int32_t i = 0; written != NULL && i < planned + 2; i++) floe_free(written[i]);
  floe_free(written);
  for (int32_t i = 0; i < n_out; i++) floe_manifest_file_free(&out_files[i]);
  floe_free(out_files);
  floe_iceberg_metadata_free(md);
  floe_manifest_writer_free(writer);
  floe_manifest_reader_free(reader);
  floe_manifest_list_free(list);
  live_entries_free(entries, n_entries);
  floe_buf_free(&key);
  floe_free(path);
  floe_free(list_path);
  floe_free(summary);
  floe_free(numbers);
  return rc;
}

int floe_maintain_rewrite_manifests(floe_table *table, const floe_maintain_options *options,
                                    floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  if (floe_table_metadata(table)->format_version >= 3) {
    rc = refuse_v3(table, "the manifest rewrite", err);
    goto cleanup;
  }
  for (int attempt = 1;; attempt++) {
    bool done = false;
    rc = rewrite_manifests_once(table, options, report, &done, err);
    if (rc == FLOE_OK || rc != FLOE_ECONFLICT || attempt >= 4) break;
    floe_log(FLOE_LOG_WARN, "maintain_manifests_conflict", "table=%s attempt=%d",
             floe_table_name(table), attempt);
    FLOE_TRY(floe_table_refresh(table, err));
  }
cleanup:
  if (rc < 0) floe_error_prefix(err, "table %s: rewrite manifests", floe_table_name(table));
  return rc;
}

/* ==== all of them ====================================================== */

int floe_maintain_run(floe_table *table, const floe_maintain_options *options,
                      floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  report->dry_run = options->dry_run;
  if (options->convert_equality_deletes)
    FLOE_TRY(floe_maintain_convert_equality_deletes(table, options, report, err));
  if (options->compact) FLOE_TRY(floe_maintain_compact(table, options, report, err));
  if (options->rewrite_manifests)
    FLOE_TRY(floe_maintain_rewrite_manifests(table, options, report, err));
  if (options->expire_snapshots) FLOE_TRY(floe_maintain_expire(table, options, report, err));
cleanup:;
  const floe_iceberg_snapshot *snap = floe_table_current_snapshot(table);
  report->snapshot_id = snap != NULL ? snap->snapshot_id : 0;
  if (snap != NULL && !options->dry_run && options->compact) {
    const char *v = floe_iceberg_snapshot_summary(snap, "total-data-files");
    report->data_files_after = v != NULL ? strtoll(v, NULL, 10) : 0;
    v = floe_iceberg_snapshot_summary(snap, "total-delete-files");
    report->delete_files_after = v != NULL ? strtoll(v, NULL, 10) : 0;
  }
  return rc;
}

int floe_maintain_report_json(const floe_maintain_report *r, const char *table_name,
                              floe_buf *out, floe_error *err) {
  int rc = floe_buf_appendf(
      out,
      "{\"table\":\"%s\",\"dry_run\":%s,\"commits\":%d,\"snapshot_id\":%" PRId64 ","
      "\"convert_equality_deletes\":{\"equality_delete_files_removed\":%" PRId64
      ",\"data_files\":%" PRId64 ",\"rows\":%" PRId64 ",\"position_delete_files_added\":%" PRId64
      "},"
      "\"compact\":{\"data_files_before\":%" PRId64 ",\"data_files_after\":%" PRId64
      ",\"delete_files_before\":%" PRId64 ",\"delete_files_after\":%" PRId64
      ",\"groups\":%d,\"groups_committed\":%d,\"groups_conflicted\":%d,\"groups_redone\":%d"
      ",\"files_rewritten\":%" PRId64 ",\"files_written\":%" PRId64
      ",\"delete_files_removed\":%" PRId64 ",\"rows_rewritten\":%" PRId64
      ",\"bytes_rewritten\":%" PRId64 ",\"bytes_written\":%" PRId64
      ",\"sort_order_id\":%d,\"sorted_runs\":%d},"
      "\"rewrite_manifests\":{\"manifests_before\":%d,\"manifests_after\":%d},"
      "\"expire_snapshots\":{\"snapshots_before\":%d,\"snapshots_expired\":%d"
      ",\"snapshots_after\":%d,\"snapshots_kept_for_floe\":%d,\"refs_expired\":%d,\"manifest_lists_deleted\":%" PRId64
      ",\"manifests_deleted\":%" PRId64 ",\"data_files_deleted\":%" PRId64
      ",\"delete_files_deleted\":%" PRId64 ",\"statistics_files_deleted\":%" PRId64
      ",\"metadata_files_deleted\":%" PRId64 "}}",
      table_name, r->dry_run ? "true" : "false", (int)r->commits, r->snapshot_id,
      r->eq_delete_files_removed, r->eq_data_files, r->eq_deleted_rows, r->pos_delete_files_added,
      r->data_files_before, r->data_files_after, r->delete_files_before, r->delete_files_after,
      (int)r->groups, (int)r->groups_committed, (int)r->groups_conflicted, (int)r->groups_redone,
      r->files_rewritten, r->files_written, r->delete_files_removed, r->rows_rewritten,
      r->bytes_rewritten, r->bytes_written, (int)r->sort_order_id, (int)r->sorted_runs,
      (int)r->manifests_before, (int)r->manifests_after,
      (int)r->snapshots_before, (int)r->snapshots_expired, (int)r->snapshots_after,
      (int)r->snapshots_kept_for_floe, (int)r->refs_expired, r->manifest_lists_deleted, r->manifests_deleted,
      r->data_files_deleted, r->delete_files_deleted, r->statistics_files_deleted,
      r->metadata_files_deleted);
  if (rc < 0) return nomem(err);
  return FLOE_OK;
}
