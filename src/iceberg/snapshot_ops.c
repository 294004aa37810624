/*
 * iceberg/snapshot_ops.c: snapshot-producing operations (append,
 * overwrite, delete, row delta, replace) as atomic commits with rebase and
 * retry (Iceberg spec: Snapshots, Manifest Lists, Sequence Numbers,
 * Optimistic Concurrency; Appendix F for the summary).
 *
 * One attempt builds a snapshot on the table's current state:
 *  1. the op's added files go into new manifests (one per spec and content
 *     kind) at <location>/metadata/<commit-uuid>-m<n>.avro, written once
 *     and reused by every attempt (the snapshot id is fixed per op, as in
 *     the reference implementation, and their sequence numbers are
 *     inherited from the manifest list);
 *  2. each manifest of the parent snapshot is kept as it is, unless the op
 *     deletes files: then a manifest holding a file to delete is rewritten
 *     (live entries EXISTING with their original snapshot ids and sequence
 *     numbers, removed ones DELETED, older DELETED entries dropped). A
 *     rewrite depends only on the source manifest and the op's selectors,
 *     so it is cached by source path and reused on retry;
 *  3. a new manifest list snap-<id>-<attempt>-<commit-uuid>.avro (new
 *     manifests first, as Java orders them), the snapshot with its summary
 *     (counted exactly as Java's SnapshotSummary), the main ref and the
 *     snapshot-log, then the metadata commit (table_commit_metadata).
 * On FLOE_ECONFLICT the table is reloaded and validated against what
 * changed since the op's base snapshot (see floe/table.h), then the
 * attempt is rebuilt on the new state. Nothing an attempt wrote is ever
 * deleted: a failed attempt's files are unreferenced orphans.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "floe/buffer.h"
#include "floe/log.h"
#include "iceberg/table_internal.h"

/* ---- small string sets (sorted arrays) -------------------------------- */

typedef struct strset {
  char **items;
  int32_t n, cap;
} strset;

static int32_t strset_find(const strset *s, const char *key, bool *found) {
  int32_t lo = 0, hi = s->n;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->items[mid], key);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

static bool strset_has(const strset *s, const char *key) {
  bool found;
  strset_find(s, key, &found);
  return found;
}

static int strset_add(strset *s, const char *key) {
  bool found;
  int32_t at = strset_find(s, key, &found);
  if (found) return FLOE_OK;
  if (s->n == s->cap) {
    int32_t cap = s->cap ? s->cap * 2 : 16;
    char **items = floe_realloc(s->items, (size_t)cap * sizeof *items);
    if (items == NULL) return FLOE_ENOMEM;
    s->items = items;
    s->cap = cap;
  }
  char *copy = floe_strdup(key);
  if (copy == NULL) return FLOE_ENOMEM;
  memmove(&s->items[at + 1], &s->items[at], (size_t)(s->n - at) * sizeof *s->items);
  s->items[at] = copy;
  s->n++;
  return FLOE_OK;
}

static int strset_merge(strset *dst, const strset *src) {
  for (int32_t i = 0; i < src->n; i++)
    if (strset_add(dst, src->items[i]) < 0) return FLOE_ENOMEM;
  return FLOE_OK;
}

static void strset_reset(strset *s) {
  for (int32_t i = 0; i < s->n; i++) floe_free(s->items[i]);
  floe_free(s->items);
  memset(s, 0, sizeof *s);
}

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

/* ---- summary counters (Java: SnapshotSummary.UpdateMetrics) ----------- */

typedef struct op_stats {
  int64_t added_files, removed_files;
  int64_t added_delete_files, removed_delete_files;
  int64_t added_pos_delete_files, removed_pos_delete_files;
  int64_t added_eq_delete_files, removed_eq_delete_files;
  int64_t added_records, deleted_records;
  int64_t added_size, removed_size;
  int64_t added_pos_deletes, removed_pos_deletes;
  int64_t added_eq_deletes, removed_eq_deletes;
} op_stats;

static void stats_file(op_stats *s, const floe_iceberg_content_file *f,
                       bool added) {
  int64_t n = f->record_count;
  if (added) {
    s->added_size += f->file_size_in_bytes;
    switch (f->content) {
      case FLOE_CONTENT_DATA:
        s->added_files++;
        s->added_records += n;
        break;
      case FLOE_CONTENT_POSITION_DELETES:
        s->added_delete_files++;
        s->added_pos_delete_files++;
        s->added_pos_deletes += n;
        break;
      case FLOE_CONTENT_EQUALITY_DELETES:
        s->added_delete_files++;
        s->added_eq_delete_files++;
        s->added_eq_deletes += n;
        break;
    }
  } else {
    s->removed_size += f->file_size_in_bytes;
    switch (f->content) {
      case FLOE_CONTENT_DATA:
        s->removed_files++;
        s->deleted_records += n;
        break;
      case FLOE_CONTENT_POSITION_DELETES:
        s->removed_delete_files++;
        s->removed_pos_delete_files++;
        s->removed_pos_deletes += n;
        break;
      case FLOE_CONTENT_EQUALITY_DELETES:
        s->removed_delete_files++;
        s->removed_eq_delete_files++;
        s->removed_eq_deletes += n;
        break;
    }
  }
}

static void stats_merge(op_stats *d, const op_stats *s) {
  const int64_t *src = (const int64_t *)s;
  int64_t *dst = (int64_t *)d;
  for (size_t i = 0; i < sizeof *s / sizeof(int64_t); i++) dst[i] += src[i];
}

/* ---- the op ----------------------------------------------------------- */

typedef struct op_range {
  char *column;
  floe_table_range range; /* values deep-copied, column points at `column` */
} op_range;

typedef struct op_pvalue {
  char *field;
  floe_iceberg_value value;
} op_pvalue;

/* A parent manifest after the op's selectors went over it. */
typedef struct rewrite {
  char *source_path;
  bool rewritten;          /* false: nothing to delete, keep the source */
  floe_manifest_file out;  /* the rewritten manifest (owned copy) */
  op_stats stats;          /* the removed files */
  strset partitions;       /* "<spec>:<path>" of removed files */
  strset deleted;          /* paths of removed files */
  strset deleted_data_keys; /* "<spec>:<path>" of removed data files */
} rewrite;

struct floe_table_op {
  floe_table *table;
  floe_table_op_kind kind;
  char commit_uuid[37];
  int64_t snapshot_id;
  int attempts;
  bool committed;

  floe_iceberg_content_file *added;
  int32_t n_added, cap_added;
  strset paths;     /* delete by path */
  strset refs;      /* referenced data files (row delta) */
  bool delete_all, delete_added_partitions;
  op_range *ranges;
  int32_t n_ranges;
  op_pvalue *pvalues;
  int32_t n_pvalues;
  floe_iceberg_property *summary;
  int32_t n_summary;
  floe_iceberg_property *properties; /* value NULL: remove */
  int32_t n_properties;

  floe_table_commit_hook hook;
  void *hook_ctx;
  floe_table_precondition precondition;
  void *precondition_ctx;

  /* Reused across attempts. */
  bool added_written;
  floe_manifest_file *new_manifests;
  int32_t n_new_manifests;
  int32_t manifest_counter;
  rewrite *rewrites;
  int32_t n_rewrites, cap_rewrites;
  strset added_partitions; /* "<spec>:<path>" of the added files */
  int32_t n_partition_files; /* added[0..n) select for delete_added_partitions */

  /* The first attempt's base and what it deleted. */
  bool has_base;
  bool base_has_snapshot;
  int64_t base_snapshot_id;
  strset base_deleted;
};

static const char *const kind_names[] = {"append", "overwrite", "delete",
                                         "row delta", "replace"};

int floe_table_op_new(floe_table_op **out, floe_table *table,
                      floe_table_op_kind kind, floe_error *err) {
  *out = NULL;
  if (kind < FLOE_TABLE_APPEND || kind > FLOE_TABLE_REPLACE)
    return floe_error_set(err, FLOE_EINVAL, "table %s: unknown operation %d",
                          floe_table_name(table), (int)kind);
  floe_table_op *op = floe_calloc(1, sizeof *op);
  if (op == NULL) return nomem(err);
  op->table = table;
  op->kind = kind;
  int rc = floe_io_uuid4(op->commit_uuid, err);
  if (rc < 0) {
    floe_free(op);
    return rc;
  }
  *out = op;
  return FLOE_OK;
}

void floe_table_op_free(floe_table_op *op) {
  if (op == NULL) return;
  for (int32_t i = 0; i < op->n_added; i++)
    floe_iceberg_content_file_free(&op->added[i]);
  floe_free(op->added);
  strset_reset(&op->paths);
  strset_reset(&op->refs);
  for (int32_t i = 0; i < op->n_ranges; i++) {
    floe_free(op->ranges[i].column);
    floe_iceberg_value_free(&op->ranges[i].range.lo);
    floe_iceberg_value_free(&op->ranges[i].range.hi);
  }
  floe_free(op->ranges);
  for (int32_t i = 0; i < op->n_pvalues; i++) {
    floe_free(op->pvalues[i].field);
    floe_iceberg_value_free(&op->pvalues[i].value);
  }
  floe_free(op->pvalues);
  for (int32_t i = 0; i < op->n_summary; i++) {
    floe_free(op->summary[i].key);
    floe_free(op->summary[i].value);
  }
  floe_free(op->summary);
  for (int32_t i = 0; i < op->n_properties; i++) {
    floe_free(op->properties[i].key);
    floe_free(op->properties[i].value);
  }
  floe_free(op->properties);
  for (int32_t i = 0; i < op->n_new_manifests; i++)
    floe_manifest_file_free(&op->new_manifests[i]);
  floe_free(op->new_manifests);
  for (int32_t i = 0; i < op->n_rewrites; i++) {
    rewrite *r = &op->rewrites[i];
    floe_free(r->source_path);
    if (r->rewritten) floe_manifest_file_free(&r->out);
    strset_reset(&r->partitions);
    strset_reset(&r->deleted);
    strset_reset(&r->deleted_data_keys);
  }
  floe_free(op->rewrites);
  strset_reset(&op->added_partitions);
  strset_reset(&op->base_deleted);
  floe_free(op);
}

void floe_table_op_set_commit_hook(floe_table_op *op,
                                   floe_table_commit_hook hook, void *ctx) {
  op->hook = hook;
  op->hook_ctx = ctx;
}

void floe_table_op_set_precondition(floe_table_op *op,
                                    floe_table_precondition check, void *ctx) {
  op->precondition = check;
  op->precondition_ctx = ctx;
}

int floe_table_op_set_property(floe_table_op *op, const char *key,
                               const char *value, floe_error *err) {
  if (key == NULL || key[0] == '\0' || strcmp(key, "format-version") == 0)
    return floe_error_set(err, FLOE_EINVAL, "table %s: %s: property '%s' cannot be set",
                          floe_table_name(op->table), kind_names[op->kind],
                          key ? key : "");
  for (int32_t i = 0; i < op->n_properties; i++)
    if (strcmp(op->properties[i].key, key) == 0) {
      char *copy = value ? floe_strdup(value) : NULL;
      if (value != NULL && copy == NULL) return nomem(err);
      floe_free(op->properties[i].value);
      op->properties[i].value = copy;
      return FLOE_OK;
    }
  floe_iceberg_property *grown =
      floe_realloc(op->properties, ((size_t)op->n_properties + 1) * sizeof *grown);
  if (grown == NULL) return nomem(err);
  op->properties = grown;
  floe_iceberg_property *p = &op->properties[op->n_properties];
  p->key = floe_strdup(key);
  p->value = value ? floe_strdup(value) : NULL;
  if (p->key == NULL || (value != NULL && p->value == NULL)) {
    floe_free(p->key);
    floe_free(p->value);
    return nomem(err);
  }
  op->n_properties++;
  return FLOE_OK;
}

int floe_table_op_attempts(const floe_table_op *op) { return op->attempts; }

static int op_error(const floe_table_op *op, floe_error *err, int code,
                    const char *what) {
  return floe_error_set(err, code, "table %s: %s: %s",
                        floe_table_name(op->table), kind_names[op->kind], what);
}

int floe_table_op_add_file(floe_table_op *op,
                           const floe_iceberg_content_file *file,
                           floe_error *err) {
  const floe_iceberg_metadata *md = floe_table_metadata(op->table);
  char what[512];
  if (op->committed) return op_error(op, err, FLOE_EINVAL, "already committed");
  bool data = file->content == FLOE_CONTENT_DATA;
  if ((op->kind == FLOE_TABLE_APPEND || op->kind == FLOE_TABLE_REPLACE ||
       op->kind == FLOE_TABLE_OVERWRITE) && !data) {
    snprintf(what, sizeof what, "'%s': only data files can be added by this operation",
             file->file_path ? file->file_path : "(null)");
    return op_error(op, err, FLOE_EINVAL, what);
  }
  if (op->kind == FLOE_TABLE_DELETE)
    return op_error(op, err, FLOE_EINVAL, "a delete operation adds no files");
  if (file->file_path == NULL || file->file_format == NULL)
    return op_error(op, err, FLOE_EINVAL, "a file needs file_path and file_format");
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, file->spec_id);
  if (spec == NULL || spec->n_fields != file->n_partition) {
    snprintf(what, sizeof what,
             "'%s': partition spec %d %s (the file's tuple has %d values)",
             file->file_path, (int)file->spec_id,
             spec == NULL ? "is not a spec of the table" : "has another arity",
             (int)file->n_partition);
    return op_error(op, err, FLOE_EINVAL, what);
  }
  if (op->n_added == op->cap_added) {
    int32_t cap = op->cap_added ? op->cap_added * 2 : 8;
    floe_iceberg_content_file *a = floe_realloc(op->added, (size_t)cap * sizeof *a);
    if (a == NULL) return nomem(err);
    op->added = a;
    op->cap_added = cap;
  }
  int rc = floe_iceberg_content_file_copy(&op->added[op->n_added], file, err);
  if (rc < 0) return rc;
  op->n_added++;
  if (file->content == FLOE_CONTENT_POSITION_DELETES && file->referenced_data_file)
    if (strset_add(&op->refs, file->referenced_data_file) < 0) return nomem(err);
  /* Every data or delete file a commit adds arrives here once it is
   * finished on storage: one place for the crash points of both. */
  floe_debug_crash_point(data ? "after_data_file" : "after_delete_file");
  return FLOE_OK;
}

int floe_table_op_delete_path(floe_table_op *op, const char *path,
                              floe_error *err) {
  if (op->kind == FLOE_TABLE_APPEND)
    return op_error(op, err, FLOE_EINVAL, "an append deletes no files");
  return strset_add(&op->paths, path) < 0 ? nomem(err) : FLOE_OK;
}

static int need_selector_kind(floe_table_op *op, floe_error *err) {
  if (op->kind != FLOE_TABLE_OVERWRITE && op->kind != FLOE_TABLE_DELETE)
    return op_error(op, err, FLOE_EINVAL,
                    "file selectors apply to overwrite and delete operations");
  return FLOE_OK;
}

int floe_table_op_delete_all(floe_table_op *op, floe_error *err) {
  int rc = need_selector_kind(op, err);
  if (rc < 0) return rc;
  op->delete_all = true;
  return FLOE_OK;
}

int floe_table_op_delete_added_partitions(floe_table_op *op, floe_error *err) {
  if (op->kind != FLOE_TABLE_OVERWRITE)
    return op_error(op, err, FLOE_EINVAL,
                    "dynamic partition overwrite is an overwrite operation");
  op->delete_added_partitions = true;
  op->n_partition_files = op->n_added; /* files added later do not select */
  return FLOE_OK;
}

int floe_table_op_delete_range(floe_table_op *op, const floe_table_range *range,
                               floe_error *err) {
  int rc = need_selector_kind(op, err);
  if (rc < 0) return rc;
  const floe_iceberg_field *field = floe_iceberg_schema_find_name(
      floe_table_schema(op->table), range->column, true);
  if (field == NULL || !floe_iceberg_type_is_primitive(field->type.id)) {
    char what[300];
    snprintf(what, sizeof what, "delete range: no primitive column '%s'", range->column);
    return op_error(op, err, FLOE_EINVAL, what);
  }
  op_range *r = floe_realloc(op->ranges, (size_t)(op->n_ranges + 1) * sizeof *r);
  if (r == NULL) return nomem(err);
  op->ranges = r;
  op_range *n = &r[op->n_ranges];
  memset(n, 0, sizeof *n);
  n->range = *range;
  n->range.lo = floe_iceberg_null_value();
  n->range.hi = floe_iceberg_null_value();
  n->column = floe_strdup(range->column);
  if (n->column == NULL) return nomem(err);
  n->range.column = n->column;
  op->n_ranges++;
  if ((range->has_lo && floe_iceberg_value_copy(&n->range.lo, &range->lo) < 0) ||
      (range->has_hi && floe_iceberg_value_copy(&n->range.hi, &range->hi) < 0))
    return nomem(err);
  return FLOE_OK;
}

int floe_table_op_delete_partition_value(floe_table_op *op,
                                         const char *partition_field,
                                         const floe_iceberg_value *value,
                                         floe_error *err) {
  int rc = need_selector_kind(op, err);
  if (rc < 0) return rc;
  op_pvalue *p = floe_realloc(op->pvalues, (size_t)(op->n_pvalues + 1) * sizeof *p);
  if (p == NULL) return nomem(err);
  op->pvalues = p;
  op_pvalue *n = &p[op->n_pvalues];
  n->value = floe_iceberg_null_value();
  n->field = floe_strdup(partition_field);
  if (n->field == NULL) return nomem(err);
  op->n_pvalues++;
  if (floe_iceberg_value_copy(&n->value, value) < 0) return nomem(err);
  return FLOE_OK;
}

int floe_table_op_reference_data_file(floe_table_op *op, const char *path,
                                      floe_error *err) {
  return strset_add(&op->refs, path) < 0 ? nomem(err) : FLOE_OK;
}

/* Keys the summary computes itself (Appendix F and Java's extras). */
static bool reserved_summary_key(const char *key) {
  static const char *const prefixes[] = {"operation", "added-", "deleted-",
                                         "removed-", "total-", "changed-partition",
                                         "partition-summaries-included",
                                         "partitions."};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
    if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

int floe_table_op_set_summary(floe_table_op *op, const char *key,
                              const char *value, floe_error *err) {
  if (reserved_summary_key(key)) {
    char what[300];
    snprintf(what, sizeof what, "summary key '%s' is computed by the commit", key);
    return op_error(op, err, FLOE_EINVAL, what);
  }
  for (int32_t i = 0; i < op->n_summary; i++)
    if (strcmp(op->summary[i].key, key) == 0) {
      char *v = floe_strdup(value);
      if (v == NULL) return nomem(err);
      floe_free(op->summary[i].value);
      op->summary[i].value = v;
      return FLOE_OK;
    }
  floe_iceberg_property *s =
      floe_realloc(op->summary, (size_t)(op->n_summary + 1) * sizeof *s);
  if (s == NULL) return nomem(err);
  op->summary = s;
  s[op->n_summary].key = floe_strdup(key);
  s[op->n_summary].value = floe_strdup(value);
  op->n_summary++;
  if (s[op->n_summary - 1].key == NULL || s[op->n_summary - 1].value == NULL)
    return nomem(err);
  return FLOE_OK;
}

/* ---- values and selectors --------------------------------------------- */

static int cmp_bytes(const floe_iceberg_value *a, const floe_iceberg_value *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->bytes, b->bytes, n) : 0;
  if (c != 0) return c;
  return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Orders two non-null values of one primitive type (Iceberg's comparison:
 * signed numbers, unsigned bytes for strings, binary, fixed and uuid). */
static int value_cmp(const floe_iceberg_type *t, const floe_iceberg_value *a,
                     const floe_iceberg_value *b) {
#define CMP3(x, y) ((x) < (y) ? -1 : (x) > (y) ? 1 : 0)
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: return CMP3(a->v.b, b->v.b);
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: return CMP3(a->v.i32, b->v.i32);
    case FLOE_ICEBERG_FLOAT: return CMP3(a->v.f32, b->v.f32);
    case FLOE_ICEBERG_DOUBLE: return CMP3(a->v.f64, b->v.f64);
    case FLOE_ICEBERG_DECIMAL: return CMP3(a->v.dec, b->v.dec);
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY:
    case FLOE_ICEBERG_FIXED:
    case FLOE_ICEBERG_UUID: return cmp_bytes(a, b);
    default: return CMP3(a->v.i64, b->v.i64);
  }
#undef CMP3
}

static bool in_range(const floe_iceberg_type *t, const floe_table_range *r,
                     const floe_iceberg_value *v) {
  if (v->is_null) return false;
  if (r->has_lo) {
    int c = value_cmp(t, v, &r->lo);
    if (c < 0 || (c == 0 && r->lo_exclusive)) return false;
  }
  if (r->has_hi) {
    int c = value_cmp(t, v, &r->hi);
    if (c > 0 || (c == 0 && !r->hi_inclusive)) return false;
  }
  return true;
}

typedef enum { SEL_KEEP = 0, SEL_DELETE, SEL_PARTIAL } selection;

/* Decides a range selector for one file. */
static selection select_range(const floe_iceberg_metadata *md,
                              const floe_iceberg_partition_spec *spec,
                              const floe_iceberg_content_file *f,
                              const floe_table_range *r, char *why,
                              size_t why_size) {
  const floe_iceberg_schema *schema = floe_iceberg_metadata_current_schema(md);
  const floe_iceberg_field *field = floe_iceberg_schema_find_name(schema, r->column, true);
  if (field == NULL) {
    snprintf(why, why_size, "column '%s' is gone from the schema", r->column);
    return SEL_PARTIAL;
  }
  const floe_iceberg_type *t = &field->type;
  /* An identity partition on the column decides for every row. */
  for (int32_t i = 0; spec != NULL && i < spec->n_fields && i < f->n_partition; i++)
    if (spec->fields[i].source_id == field->id &&
        spec->fields[i].transform.kind == FLOE_TRANSFORM_IDENTITY)
      return in_range(t, r, &f->partition[i]) ? SEL_DELETE : SEL_KEEP;
  if (f->content != FLOE_CONTENT_DATA) return SEL_KEEP;
  if (f->record_count == 0) return SEL_KEEP;
  const floe_iceberg_column_metrics *m = NULL;
  for (int32_t i = 0; i < f->n_columns; i++)
    if (f->columns[i].field_id == field->id) m = &f->columns[i];
  if (m != NULL && m->has_null_count && m->has_value_count &&
      m->null_count == m->value_count)
    return SEL_KEEP; /* all null: no row is inside */
  if (m == NULL || m->lower_bound == NULL || m->upper_bound == NULL) {
    snprintf(why, why_size, "no bounds for column '%s'", r->column);
    return SEL_PARTIAL;
  }
  floe_iceberg_value lo, hi;
  floe_error ignore = {0};
  if (floe_iceberg_value_from_binary(t, m->lower_bound, m->lower_bound_len, &lo,
                                     &ignore) < 0 ||
      floe_iceberg_value_from_binary(t, m->upper_bound, m->upper_bound_len, &hi,
                                     &ignore) < 0) {
    snprintf(why, why_size, "unreadable bounds for column '%s': %.200s", r->column,
             ignore.message);
    return SEL_PARTIAL;
  }
  selection s;
  bool below = false, above = false;
  if (r->has_lo) {
    int c = value_cmp(t, &hi, &r->lo);
    below = c < 0 || (c == 0 && r->lo_exclusive);
  }
  if (r->has_hi) {
    int c = value_cmp(t, &lo, &r->hi);
    above = c > 0 || (c == 0 && !r->hi_inclusive);
  }
  bool no_nulls = m->has_null_count && m->null_count == 0;
  if (below || above)
    s = SEL_KEEP;
  else if (in_range(t, r, &lo) && in_range(t, r, &hi) && no_nulls)
    s = SEL_DELETE;
  else {
    floe_buf a = {0}, b = {0};
    floe_iceberg_value_to_human(t, &lo, &a, &ignore);
    floe_iceberg_value_to_human(t, &hi, &b, &ignore);
    snprintf(why, why_size,
             "column '%s' has bounds [%.*s, %.*s]%s, only partly inside the range",
             r->column, (int)a.len, a.data ? (const char *)a.data : "",
             (int)b.len, b.data ? (const char *)b.data : "",
             no_nulls ? "" : " and nulls");
    floe_buf_free(&a);
    floe_buf_free(&b);
    s = SEL_PARTIAL;
  }
  floe_iceberg_value_free(&lo);
  floe_iceberg_value_free(&hi);
  return s;
}

/* "<spec-id>:<partition path>": a file's partition, told apart by spec. */
static int partition_key(const floe_iceberg_metadata *md,
                         const floe_iceberg_content_file *f, floe_buf *out,
                         floe_error *err) {
  out->len = 0;
  char prefix[24];
  snprintf(prefix, sizeof prefix, "%d:", (int)f->spec_id);
  int rc = floe_buf_append(out, prefix, strlen(prefix));
  if (rc < 0) return nomem(err);
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, f->spec_id);
  if (spec != NULL && spec->n_fields > 0) {
    floe_error ignore = {0};
    rc = floe_iceberg_partition_path(spec, floe_iceberg_metadata_current_schema(md),
                                     f->partition, out, &ignore);
    if (rc < 0) {
      /* A source column dropped since: fall back to the JSON values. */
      out->len = strlen(prefix);
      for (int32_t i = 0; i < f->n_partition; i++) {
        char v[64];
        snprintf(v, sizeof v, "/%d=", (int)i);
        if (floe_buf_append(out, v, strlen(v)) < 0) return nomem(err);
        if (!f->partition[i].is_null) {
          snprintf(v, sizeof v, "%" PRId64 ":%zu", f->partition[i].v.i64,
                   f->partition[i].len);
          if (floe_buf_append(out, v, strlen(v)) < 0) return nomem(err);
        }
      }
    }
  }
  if (floe_buf_append(out, "", 1) < 0) return nomem(err);
  return FLOE_OK;
}

static bool op_filters(const floe_table_op *op) {
  return op->paths.n > 0 || op->delete_all || op->delete_added_partitions ||
         op->n_ranges > 0 || op->n_pvalues > 0;
}

/* Whether the op's selectors delete live file f. */
static int select_file(floe_table_op *op, const floe_iceberg_metadata *md,
                       const floe_iceberg_content_file *f, floe_buf *key,
                       selection *out, char *why, size_t why_size,
                       floe_error *err) {
  *out = SEL_KEEP;
  if (strset_has(&op->paths, f->file_path) || op->delete_all) {
    *out = SEL_DELETE;
    return FLOE_OK;
  }
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, f->spec_id);
  if (op->delete_added_partitions) {
    int rc = partition_key(md, f, key, err);
    if (rc < 0) return rc;
    if (strset_has(&op->added_partitions, (const char *)key->data)) {
      *out = SEL_DELETE;
      return FLOE_OK;
    }
  }
  for (int32_t i = 0; spec != NULL && i < op->n_pvalues; i++) {
    for (int32_t j = 0; j < spec->n_fields && j < f->n_partition; j++) {
      if (strcmp(spec->fields[j].name, op->pvalues[i].field) != 0) continue;
      const floe_iceberg_field *src = floe_iceberg_schema_find_id(
          floe_iceberg_metadata_current_schema(md), spec->fields[j].source_id);
      floe_iceberg_type rt;
      floe_error ignore = {0};
      if (src == NULL || floe_iceberg_transform_result_type(
                             &spec->fields[j].transform, &src->type, &rt, &ignore) < 0)
        continue;
      if (floe_iceberg_value_equal(&rt, &f->partition[j], &op->pvalues[i].value)) {
        *out = SEL_DELETE;
        return FLOE_OK;
      }
    }
  }
  for (int32_t i = 0; i < op->n_ranges; i++) {
    selection s = select_range(md, spec, f, &op->ranges[i].range, why, why_size);
    if (s != SEL_KEEP) {
      *out = s;
      return FLOE_OK;
    }
  }
  return FLOE_OK;
}

/* ---- manifests -------------------------------------------------------- */

static char *metadata_path(const floe_iceberg_metadata *md, const char *name) {
  const char *loc = md->location;
  size_t n = strlen(loc);
  while (n > 0 && loc[n - 1] == '/') n--;
  size_t size = n + strlen(name) + 16;
  char *p = floe_malloc(size);
  if (p != NULL) snprintf(p, size, "%.*s/metadata/%s", (int)n, loc, name);
  return p;
}

static char *next_manifest_path(floe_table_op *op, const floe_iceberg_metadata *md) {
  char name[80];
  snprintf(name, sizeof name, "%s-m%d.avro", op->commit_uuid, (int)op->manifest_counter++);
  return metadata_path(md, name);
}

static int push_new_manifest(floe_table_op *op, const floe_manifest_file *mf,
                             floe_error *err) {
  floe_manifest_file *a = floe_realloc(
      op->new_manifests, (size_t)(op->n_new_manifests + 1) * sizeof *a);
  if (a == NULL) return nomem(err);
  op->new_manifests = a;
  int rc = floe_manifest_file_copy(&a[op->n_new_manifests], mf, err);
  if (rc == FLOE_OK) op->n_new_manifests++;
  return rc;
}

/* Writes the manifests of the op's added files: one per (spec, content
 * kind), in order of first appearance. */
static int write_added_manifests(floe_table_op *op, const floe_iceberg_metadata *md,
                                 floe_error *err) {
  int rc = FLOE_OK;
  bool *done = NULL;
  char *path = NULL;
  floe_manifest_writer *w = NULL;
  if (op->n_added == 0) return FLOE_OK;
  done = floe_calloc((size_t)op->n_added, sizeof *done);
  if (done == NULL) return nomem(err);
  for (int32_t i = 0; i < op->n_added; i++) {
    if (done[i]) continue;
    const floe_iceberg_content_file *first = &op->added[i];
    bool deletes = first->content != FLOE_CONTENT_DATA;
    floe_manifest_writer_options o = {0};
    o.format_version = md->format_version;
    o.schema = floe_iceberg_metadata_current_schema(md);
    o.spec = floe_iceberg_metadata_spec(md, first->spec_id);
    o.content = deletes ? FLOE_MANIFEST_DELETES : FLOE_MANIFEST_DATA;
    o.snapshot_id = op->snapshot_id;
    path = next_manifest_path(op, md);
    if (path == NULL) {
      rc = nomem(err);
      goto cleanup;
    }
    FLOE_TRY(floe_manifest_writer_open(&w, floe_table_io(op->table), path, &o, err));
    for (int32_t j = i; j < op->n_added; j++) {
      const floe_iceberg_content_file *f = &op->added[j];
      if (done[j] || f->spec_id != first->spec_id ||
          (f->content != FLOE_CONTENT_DATA) != deletes)
        continue;
      floe_manifest_entry e;
      memset(&e, 0, sizeof e);
      e.status = FLOE_ENTRY_ADDED;
      e.file = *f;
      FLOE_TRY(floe_manifest_writer_add(w, &e, err));
      done[j] = true;
    }
    floe_manifest_file mf;
    FLOE_TRY(floe_manifest_writer_close(w, &mf, err));
    FLOE_TRY(push_new_manifest(op, &mf, err));
    floe_log(FLOE_LOG_DEBUG, "table_manifest_written", "table=%s manifest=%s files=%d",
             floe_table_name(op->table), path, (int)mf.added_files_count);
    floe_manifest_writer_free(w);
    w = NULL;
    floe_free(path);
    path = NULL;
  }
  op->added_written = true;
cleanup:
  floe_manifest_writer_free(w);
  floe_free(path);
  floe_free(done);
  return rc;
}

/* Runs the op's selectors over one parent manifest (two passes: decide,
 * then rewrite only when something is deleted, so a kept manifest costs
 * one read and memory stays at one entry). */
static int filter_manifest(floe_table_op *op, const floe_iceberg_metadata *md,
                           const floe_manifest_file *source, rewrite *out,
                           floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_reader *reader = NULL;
  floe_manifest_writer *w = NULL;
  char *path = NULL;
  floe_buf key = {0};
  char why[512];
  int64_t deletions = 0;
  floe_io *io = floe_table_io(op->table);
  memset(out, 0, sizeof *out);
  out->source_path = floe_strdup(source->manifest_path);
  if (out->source_path == NULL) return nomem(err);

  FLOE_TRY(floe_manifest_reader_open(&reader, io, source->manifest_path, source, md, err));
  for (;;) {
    const floe_manifest_entry *e = NULL;
    FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
    if (e == NULL) break;
    if (e->status == FLOE_ENTRY_DELETED) continue;
    selection s;
    why[0] = '\0';
    FLOE_TRY(select_file(op, md, &e->file, &key, &s, why, sizeof why, err));
    if (s == SEL_PARTIAL && e->file.content == FLOE_CONTENT_DATA) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "data file %s (%" PRId64 " rows) is only partly inside "
                          "the delete range: %s; a strict overwrite needs files "
                          "that lie wholly inside or outside it",
                          e->file.file_path, e->file.record_count, why);
      goto cleanup;
    }
    if (s == SEL_DELETE) deletions++;
  }
  floe_manifest_reader_free(reader);
  reader = NULL;
  if (deletions == 0) goto cleanup;

  const floe_iceberg_partition_spec *spec =
      floe_iceberg_metadata_spec(md, source->partition_spec_id);
  if (spec == NULL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "manifest %s: unknown partition spec %d",
                        source->manifest_path, (int)source->partition_spec_id);
    goto cleanup;
  }
  floe_manifest_writer_options o = {0};
  o.format_version = md->format_version;
  o.schema = floe_iceberg_metadata_current_schema(md);
  o.spec = spec;
  o.content = source->content;
  o.snapshot_id = op->snapshot_id;
  path = next_manifest_path(op, md);
  if (path == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(floe_manifest_writer_open(&w, io, path, &o, err));
  FLOE_TRY(floe_manifest_reader_open(&reader, io, source->manifest_path, source, md, err));
  for (;;) {
    const floe_manifest_entry *e = NULL;
    FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
    if (e == NULL) break;
    /* Entries deleted by an older snapshot are dropped (Java's
     * ManifestFilterManager). */
    if (e->status == FLOE_ENTRY_DELETED) continue;
    selection s;
    FLOE_TRY(select_file(op, md, &e->file, &key, &s, why, sizeof why, err));
    floe_manifest_entry copy = *e;
    if (s == SEL_DELETE) {
      copy.status = FLOE_ENTRY_DELETED;
      stats_file(&out->stats, &e->file, false);
      FLOE_TRY(partition_key(md, &e->file, &key, err));
      if (strset_add(&out->partitions, (const char *)key.data) < 0 ||
          strset_add(&out->deleted, e->file.file_path) < 0 ||
          (e->file.content == FLOE_CONTENT_DATA &&
           strset_add(&out->deleted_data_keys, (const char *)key.data) < 0)) {
        rc = nomem(err);
        goto cleanup;
      }
    } else {
      copy.status = FLOE_ENTRY_EXISTING;
    }
    FLOE_TRY(floe_manifest_writer_add(w, &copy, err));
  }
  floe_manifest_file mf;
  FLOE_TRY(floe_manifest_writer_close(w, &mf, err));
  FLOE_TRY(floe_manifest_file_copy(&out->out, &mf, err));
  out->rewritten = true;
  floe_log(FLOE_LOG_DEBUG, "table_manifest_rewritten",
           "table=%s source=%s manifest=%s deleted=%lld", floe_table_name(op->table),
           source->manifest_path, path, (long long)deletions);
cleanup:
  if (rc < 0) floe_error_prefix(err, "manifest %s", source->manifest_path);
  floe_manifest_reader_free(reader);
  floe_manifest_writer_free(w);
  floe_free(path);
  floe_buf_free(&key);
  return rc;
}

static int find_rewrite(floe_table_op *op, const floe_iceberg_metadata *md,
                        const floe_manifest_file *source, const rewrite **out,
                        floe_error *err) {
  for (int32_t i = 0; i < op->n_rewrites; i++)
    if (strcmp(op->rewrites[i].source_path, source->manifest_path) == 0) {
      *out = &op->rewrites[i];
      return FLOE_OK;
    }
  if (op->n_rewrites == op->cap_rewrites) {
    int32_t cap = op->cap_rewrites ? op->cap_rewrites * 2 : 8;
    rewrite *r = floe_realloc(op->rewrites, (size_t)cap * sizeof *r);
    if (r == NULL) return nomem(err);
    op->rewrites = r;
    op->cap_rewrites = cap;
  }
  rewrite *r = &op->rewrites[op->n_rewrites];
  int rc = filter_manifest(op, md, source, r, err);
  if (rc < 0) {
    floe_free(r->source_path);
    if (r->rewritten) floe_manifest_file_free(&r->out);
    strset_reset(&r->partitions);
    strset_reset(&r->deleted);
    strset_reset(&r->deleted_data_keys);
    return rc;
  }
  op->n_rewrites++;
  *out = r;
  return FLOE_OK;
}

/* ---- validation against concurrent commits ---------------------------- */

/* Files that snapshots after the op's base added (status ADDED) or deleted
 * (DELETED), read from the manifests those snapshots wrote. */
typedef struct changes {
  floe_iceberg_content_file *added; /* delete files only (replace checks) */
  int32_t n_added, cap_added;
  strset deleted;
} changes;

static void changes_reset(changes *c) {
  for (int32_t i = 0; i < c->n_added; i++) floe_iceberg_content_file_free(&c->added[i]);
  floe_free(c->added);
  strset_reset(&c->deleted);
}

static int collect_changes(floe_table_op *op, const floe_iceberg_metadata *md,
                           changes *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_list *list = NULL;
  floe_manifest_reader *reader = NULL;
  floe_io *io = floe_table_io(op->table);
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_current_snapshot(md);
  while (snap != NULL && !(op->base_has_snapshot && snap->snapshot_id == op->base_snapshot_id)) {
    FLOE_TRY(floe_manifest_list_read(io, snap->manifest_list, &list, err));
    for (int32_t i = 0; i < list->n_files; i++) {
      const floe_manifest_file *mf = &list->files[i];
      if (mf->added_snapshot_id != snap->snapshot_id) continue;
      FLOE_TRY(floe_manifest_reader_open(&reader, io, mf->manifest_path, mf, md, err));
      for (;;) {
        const floe_manifest_entry *e = NULL;
        FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
        if (e == NULL) break;
        if (!e->has_snapshot_id || e->snapshot_id != snap->snapshot_id) continue;
        if (e->status == FLOE_ENTRY_DELETED) {
          if (strset_add(&out->deleted, e->file.file_path) < 0) {
            rc = nomem(err);
            goto cleanup;
          }
        } else if (e->status == FLOE_ENTRY_ADDED && e->file.content != FLOE_CONTENT_DATA) {
          if (out->n_added == out->cap_added) {
            int32_t cap = out->cap_added ? out->cap_added * 2 : 8;
            floe_iceberg_content_file *a =
                floe_realloc(out->added, (size_t)cap * sizeof *a);
            if (a == NULL) {
              rc = nomem(err);
              goto cleanup;
            }
            out->added = a;
            out->cap_added = cap;
          }
          FLOE_TRY(floe_iceberg_content_file_copy(&out->added[out->n_added], &e->file, err));
          out->n_added++;
        }
      }
      floe_manifest_reader_free(reader);
      reader = NULL;
    }
    floe_manifest_list_free(list);
    list = NULL;
    const floe_iceberg_snapshot *parent = floe_iceberg_metadata_parent(md, snap);
    if (parent == NULL && op->base_has_snapshot) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "base snapshot %" PRId64 " is no longer an ancestor of "
                          "the current snapshot",
                          op->base_snapshot_id);
      goto cleanup;
    }
    snap = parent;
  }
cleanup:
  floe_manifest_reader_free(reader);
  floe_manifest_list_free(list);
  return rc;
}

/* The checks of a rebased attempt (see floe/table.h). */
static int validate_rebase(floe_table_op *op, const floe_iceberg_metadata *md,
                           const strset *deleted, const strset *deleted_data_keys,
                           floe_error *err) {
  int rc = FLOE_OK;
  changes ch = {0};
  floe_buf key = {0};
  if (op->kind == FLOE_TABLE_APPEND) return FLOE_OK;
  for (int32_t i = 0; i < op->base_deleted.n; i++)
    if (!strset_has(deleted, op->base_deleted.items[i])) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "file %s, which this operation deletes, was deleted by "
                          "a concurrent commit",
                          op->base_deleted.items[i]);
      goto cleanup;
    }
  for (int32_t i = 0; i < deleted->n; i++)
    if (!strset_has(&op->base_deleted, deleted->items[i])) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "file %s was added by a concurrent commit where this "
                          "operation deletes",
                          deleted->items[i]);
      goto cleanup;
    }
  bool replace = op->kind == FLOE_TABLE_REPLACE;
  if (!replace && !(op->kind == FLOE_TABLE_ROW_DELTA && op->refs.n > 0)) goto cleanup;
  FLOE_TRY(collect_changes(op, md, &ch, err));
  for (int32_t i = 0; i < op->refs.n; i++)
    if (strset_has(&ch.deleted, op->refs.items[i])) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "data file %s, referenced by this operation's position "
                          "deletes, was deleted by a concurrent commit",
                          op->refs.items[i]);
      goto cleanup;
    }
  if (replace) {
    for (int32_t i = 0; i < ch.n_added; i++) {
      const floe_iceberg_content_file *d = &ch.added[i];
      bool hit;
      if (d->content == FLOE_CONTENT_POSITION_DELETES && d->referenced_data_file != NULL) {
        hit = strset_has(deleted, d->referenced_data_file);
      } else {
        FLOE_TRY(partition_key(md, d, &key, err));
        const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(md, d->spec_id);
        /* An unpartitioned delete file applies to every partition. */
        hit = spec == NULL || spec->n_fields == 0
                  ? deleted_data_keys->n > 0
                  : strset_has(deleted_data_keys, (const char *)key.data);
      }
      if (hit) {
        rc = floe_error_set(err, FLOE_ECONFLICT,
                            "delete file %s was added by a concurrent commit "
                            "against data files this replace rewrites",
                            d->file_path);
        goto cleanup;
      }
    }
  }
cleanup:
  changes_reset(&ch);
  floe_buf_free(&key);
  return rc;
}

/* ---- snapshot summary (Appendix F; Java SnapshotSummary) -------------- */

typedef struct summary_builder {
  floe_iceberg_property *items;
  int32_t n, cap;
  char *values; /* numbers, 24 bytes each */
} summary_builder;

static int summary_put(summary_builder *b, const char *key, const char *value) {
  if (b->n == b->cap) return FLOE_ENOMEM;
  b->items[b->n].key = (char *)key;
  b->items[b->n].value = (char *)value;
  b->n++;
  return FLOE_OK;
}

static int summary_put_num(summary_builder *b, const char *key, int64_t v) {
  if (b->n == b->cap) return FLOE_ENOMEM;
  char *slot = b->values + (size_t)b->n * 24;
  snprintf(slot, 24, "%" PRId64, v);
  return summary_put(b, key, slot);
}

static int summary_put_if(summary_builder *b, const char *key, int64_t v) {
  return v > 0 ? summary_put_num(b, key, v) : FLOE_OK;
}

static const char *parent_summary(const floe_iceberg_snapshot *parent,
                                  const char *key) {
  if (parent == NULL) return "0"; /* a first snapshot starts from zeros */
  return floe_iceberg_snapshot_summary(parent, key);
}

/* Java's SnapshotProducer.updateTotal: only when the parent had the total. */
static int summary_total(summary_builder *b, const floe_iceberg_snapshot *parent,
                         const char *total_key, int64_t added, int64_t removed) {
  const char *prev = parent_summary(parent, total_key);
  if (prev == NULL) return FLOE_OK;
  char *end = NULL;
  long long v = strtoll(prev, &end, 10);
  if (end == prev || *end != '\0') return FLOE_OK;
  return summary_put_num(b, total_key, (int64_t)v + added - removed);
}

static const char *operation_name(const floe_table_op *op, const op_stats *s) {
  switch (op->kind) {
    case FLOE_TABLE_APPEND: return "append";
    case FLOE_TABLE_OVERWRITE: return "overwrite";
    case FLOE_TABLE_DELETE: return "delete";
    case FLOE_TABLE_REPLACE: return "replace";
    case FLOE_TABLE_ROW_DELTA:
      /* Java BaseRowDelta.operation(). */
      if (s->added_files > 0 && s->added_delete_files == 0 && s->removed_files == 0)
        return "append";
      if (s->added_delete_files > 0 && s->added_files == 0) return "delete";
      return "overwrite";
  }
  return "overwrite";
}

static int build_summary(const floe_table_op *op, const op_stats *s,
                         int64_t changed_partitions,
                         const floe_iceberg_snapshot *parent, summary_builder *b) {
  int rc = FLOE_OK;
  FLOE_TRY(summary_put(b, "operation", operation_name(op, s)));
  for (int32_t i = 0; i < op->n_summary; i++)
    FLOE_TRY(summary_put(b, op->summary[i].key, op->summary[i].value));
  FLOE_TRY(summary_put_if(b, "added-data-files", s->added_files));
  FLOE_TRY(summary_put_if(b, "deleted-data-files", s->removed_files));
  FLOE_TRY(summary_put_if(b, "added-equality-delete-files", s->added_eq_delete_files));
  FLOE_TRY(summary_put_if(b, "removed-equality-delete-files", s->removed_eq_delete_files));
  FLOE_TRY(summary_put_if(b, "added-position-delete-files", s->added_pos_delete_files));
  FLOE_TRY(summary_put_if(b, "removed-position-delete-files", s->removed_pos_delete_files));
  FLOE_TRY(summary_put_if(b, "added-delete-files", s->added_delete_files));
  FLOE_TRY(summary_put_if(b, "removed-delete-files", s->removed_delete_files));
  FLOE_TRY(summary_put_if(b, "added-records", s->added_records));
  FLOE_TRY(summary_put_if(b, "deleted-records", s->deleted_records));
  FLOE_TRY(summary_put_if(b, "added-files-size", s->added_size));
  FLOE_TRY(summary_put_if(b, "removed-files-size", s->removed_size));
  FLOE_TRY(summary_put_if(b, "added-position-deletes", s->added_pos_deletes));
  FLOE_TRY(summary_put_if(b, "removed-position-deletes", s->removed_pos_deletes));
  FLOE_TRY(summary_put_if(b, "added-equality-deletes", s->added_eq_deletes));
  FLOE_TRY(summary_put_if(b, "removed-equality-deletes", s->removed_eq_deletes));
  FLOE_TRY(summary_put_num(b, "changed-partition-count", changed_partitions));
  FLOE_TRY(summary_total(b, parent, "total-records", s->added_records, s->deleted_records));
  FLOE_TRY(summary_total(b, parent, "total-files-size", s->added_size, s->removed_size));
  FLOE_TRY(summary_total(b, parent, "total-data-files", s->added_files, s->removed_files));
  FLOE_TRY(summary_total(b, parent, "total-delete-files", s->added_delete_files,
                         s->removed_delete_files));
  FLOE_TRY(summary_total(b, parent, "total-position-deletes", s->added_pos_deletes,
                         s->removed_pos_deletes));
  FLOE_TRY(summary_total(b, parent, "total-equality-deletes", s->added_eq_deletes,
                         s->removed_eq_deletes));
cleanup:
  return rc;
}

/* ---- one attempt ------------------------------------------------------ */

/* Builds the attempt's metadata (a modified copy of the table's) in *out. */
static int build_attempt(floe_table_op *op, floe_iceberg_metadata **out,
                         floe_error *err) {
  int rc = FLOE_OK;
  floe_table *t = op->table;
  const floe_iceberg_metadata *base = floe_table_metadata(t);
  floe_iceberg_metadata *md = NULL;
  floe_manifest_list *parent_list = NULL;
  floe_manifest_file *files = NULL;
  int32_t n_files = 0;
  strset partitions = {0}, deleted = {0}, deleted_data_keys = {0};
  op_stats stats;
  floe_buf key = {0};
  char *list_path = NULL;
  summary_builder sb = {0};
  memset(&stats, 0, sizeof stats);
  *out = NULL;

  const floe_iceberg_snapshot *parent = floe_iceberg_metadata_current_snapshot(base);
  if (!op->has_base) {
    op->has_base = true;
    op->base_has_snapshot = parent != NULL;
    op->base_snapshot_id = parent ? parent->snapshot_id : 0;
    FLOE_TRY(floe_iceberg_new_snapshot_id(&op->snapshot_id, err));
  }
  if (floe_iceberg_metadata_snapshot(base, op->snapshot_id) != NULL) {
    rc = floe_error_set(err, FLOE_ECONFLICT, "snapshot id %" PRId64 " is taken",
                        op->snapshot_id);
    goto cleanup;
  }
  /* The caller's condition on the state this attempt builds on: the catalog
   * swap below succeeds only while that state is still current, so the
   * check holds at the instant of the commit. */
  if (op->precondition != NULL) {
    rc = op->precondition(op->precondition_ctx, base, err);
    if (rc < 0) goto cleanup;
  }
  int64_t sequence_number = base->last_sequence_number + 1;

  /* Iceberg spec (v3): position delete files must not be added to a v3
   * table; its row-level deletes are deletion vectors (one per data file
   * per snapshot, merged with the file's existing one), which floe does
   * not write. Refuse rather than write a table readers apply wrongly. */
  for (int32_t i = 0; i < op->n_added && base->format_version >= 3; i++)
    if (op->added[i].content == FLOE_CONTENT_POSITION_DELETES &&
        (op->added[i].file_format == NULL ||
         strcmp(op->added[i].file_format, "PUFFIN") != 0)) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "%s: a position delete file cannot be added to a format-version %d "
                          "table (v3 deletes are deletion vectors, which floe does not write)",
                          op->added[i].file_path, (int)base->format_version);
      goto cleanup;
    }

  for (int32_t i = 0; i < op->n_added; i++) {
    stats_file(&stats, &op->added[i], true);
    FLOE_TRY(partition_key(base, &op->added[i], &key, err));
    if (strset_add(&partitions, (const char *)key.data) < 0 ||
        (i < op->n_partition_files &&
         strset_add(&op->added_partitions, (const char *)key.data) < 0)) {
      rc = nomem(err);
      goto cleanup;
    }
  }
  if (!op->added_written) FLOE_TRY(write_added_manifests(op, base, err));

  int32_t cap = op->n_new_manifests;
  if (parent != NULL) {
    FLOE_TRY(floe_manifest_list_read(floe_table_io(t), parent->manifest_list,
                                     &parent_list, err));
    cap += parent_list->n_files;
  }
  files = floe_calloc((size_t)cap + 1, sizeof *files);
  if (files == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  for (int32_t i = 0; i < op->n_new_manifests; i++) files[n_files++] = op->new_manifests[i];
  bool filtering = op_filters(op);
  for (int32_t i = 0; parent_list != NULL && i < parent_list->n_files; i++) {
    const floe_manifest_file *mf = &parent_list->files[i];
    if (!filtering) {
      files[n_files++] = *mf;
      continue;
    }
    const rewrite *r = NULL;
    FLOE_TRY(find_rewrite(op, base, mf, &r, err));
    if (r->rewritten) {
      files[n_files++] = r->out;
      stats_merge(&stats, &r->stats);
      if (strset_merge(&partitions, &r->partitions) < 0 ||
          strset_merge(&deleted, &r->deleted) < 0 ||
          strset_merge(&deleted_data_keys, &r->deleted_data_keys) < 0) {
        rc = nomem(err);
        goto cleanup;
      }
    } else if (mf->added_files_count + mf->existing_files_count > 0 ||
               mf->added_snapshot_id == op->snapshot_id) {
      files[n_files++] = *mf;
    }
    /* else: no live entries left (only DELETED ones of an older snapshot):
     * dropped from the new list. */
  }
  for (int32_t i = 0; i < op->paths.n; i++)
    if (!strset_has(&deleted, op->paths.items[i])) {
      bool rebased = op->attempts > 1 && op->base_deleted.n > 0 &&
                     strset_has(&op->base_deleted, op->paths.items[i]);
      rc = floe_error_set(err, rebased ? FLOE_ECONFLICT : FLOE_ENOTFOUND,
                          "%s: no live file with this path%s", op->paths.items[i],
                          rebased ? " (deleted by a concurrent commit)" : "");
      goto cleanup;
    }
  if (op->attempts == 1) {
    strset_reset(&op->base_deleted);
    if (strset_merge(&op->base_deleted, &deleted) < 0) {
      rc = nomem(err);
      goto cleanup;
    }
  } else {
    FLOE_TRY(validate_rebase(op, base, &deleted, &deleted_data_keys, err));
  }

  /* Manifest list: snap-<snapshot id>-<attempt>-<commit uuid>.avro. */
  char name[128];
  snprintf(name, sizeof name, "snap-%" PRId64 "-%d-%s.avro", op->snapshot_id,
           op->attempts, op->commit_uuid);
  list_path = metadata_path(base, name);
  if (list_path == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  floe_manifest_list_options lo = {0};
  lo.format_version = base->format_version;
  lo.snapshot_id = op->snapshot_id;
  lo.has_parent_snapshot_id = parent != NULL;
  lo.parent_snapshot_id = parent ? parent->snapshot_id : 0;
  lo.sequence_number = sequence_number;
  lo.first_row_id = base->has_next_row_id ? base->next_row_id : 0;
  FLOE_TRY(floe_manifest_list_write(floe_table_io(t), list_path, &lo, files, n_files, err));
  floe_debug_crash_point("after_manifest_list");

  int32_t n_items = 32 + op->n_summary;
  sb.items = floe_calloc((size_t)n_items, sizeof *sb.items);
  sb.values = floe_calloc((size_t)n_items, 24);
  sb.cap = n_items;
  if (sb.items == NULL || sb.values == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(build_summary(op, &stats, partitions.n, parent, &sb));

  floe_iceberg_snapshot snap;
  memset(&snap, 0, sizeof snap);
  snap.snapshot_id = op->snapshot_id;
  snap.has_parent = parent != NULL;
  snap.parent_snapshot_id = parent ? parent->snapshot_id : 0;
  snap.sequence_number = sequence_number;
  int64_t now = table_now_ms();
  snap.timestamp_ms = now > base->last_updated_ms ? now : base->last_updated_ms + 1;
  snap.manifest_list = list_path;
  snap.n_summary = sb.n;
  snap.summary = sb.items;
  snap.has_schema_id = true;
  snap.schema_id = base->current_schema_id;
  if (base->format_version >= 3) {
    /* Iceberg spec: Row Lineage. The manifest list assigned first_row_id to
     * every data manifest without one (the new ones, and older ones of a
     * table written before row lineage), each taking the rows it counts;
     * next-row-id must move past all of them, not only the added rows. */
    int64_t assigned = 0;
    for (int32_t i = 0; i < n_files; i++)
      if (files[i].content == FLOE_MANIFEST_DATA && !files[i].has_first_row_id)
        assigned += files[i].existing_rows_count + files[i].added_rows_count;
    snap.has_first_row_id = true;
    snap.first_row_id = lo.first_row_id;
    snap.has_added_rows = true;
    snap.added_rows = assigned;
  }
  FLOE_TRY(floe_iceberg_metadata_copy(&md, base, err));
  FLOE_TRY(floe_iceberg_metadata_add_snapshot(md, &snap, err));
  FLOE_TRY(floe_iceberg_metadata_set_ref(md, "main", op->snapshot_id, false, err));
  if (op->n_properties > 0)
    FLOE_TRY(floe_iceberg_metadata_set_properties(md, op->properties, op->n_properties, err));
  floe_log(FLOE_LOG_DEBUG, "table_snapshot_built",
           "table=%s operation=%s snapshot=%lld sequence=%lld attempt=%d manifests=%d "
           "list=%s",
           floe_table_name(t), operation_name(op, &stats), (long long)op->snapshot_id,
           (long long)sequence_number, op->attempts, (int)n_files, list_path);
  *out = md;
  md = NULL;
cleanup:
  floe_iceberg_metadata_free(md);
  floe_manifest_list_free(parent_list);
  floe_free(files);
  strset_reset(&partitions);
  strset_reset(&deleted);
  strset_reset(&deleted_data_keys);
  floe_buf_free(&key);
  floe_free(list_path);
  floe_free(sb.items);
  floe_free(sb.values);
  return rc;
}

/* 1 when the table's main branch already holds this operation's
 * snapshot: an earlier attempt landed although it reported a conflict or
 * an unknown outcome. The snapshot id is chosen once per operation, so it
 * identifies the attempt's commit exactly. */
static bool landed_earlier(const floe_table_op *op) {
  if (!op->has_base) return false;
  const floe_iceberg_metadata *md = floe_table_metadata(op->table);
  const floe_iceberg_snapshot *snap = floe_iceberg_metadata_current_snapshot(md);
  while (snap != NULL) {
    if (snap->snapshot_id == op->snapshot_id) return true;
    if (op->base_has_snapshot && snap->snapshot_id == op->base_snapshot_id) return false;
    snap = floe_iceberg_metadata_parent(md, snap);
  }
  return false;
}

int floe_table_op_commit(floe_table_op *op, int64_t *out_snapshot_id,
                         floe_error *err) {
  int rc = FLOE_OK;
  floe_table *t = op->table;
  if (op->committed) return op_error(op, err, FLOE_EINVAL, "already committed");
  table_retry_policy policy;
  table_retry_policy_read(floe_table_metadata(t), &policy);
  int64_t started = table_now_ms();
  for (;;) {
    op->attempts++;
    floe_iceberg_metadata *md = NULL;
    rc = build_attempt(op, &md, err);
    if (rc < 0) break;
    if (op->hook != NULL) {
      rc = op->hook(op->hook_ctx, op, op->attempts);
      if (rc < 0) {
        floe_iceberg_metadata_free(md);
        floe_error_set(err, rc, "commit hook stopped attempt %d", op->attempts);
        break;
      }
    }
    rc = table_commit_metadata(t, md, err); /* takes md */
    if (rc == FLOE_OK) {
      op->committed = true;
      floe_log(FLOE_LOG_INFO, "table_commit",
               "table=%s operation=%s snapshot=%lld attempt=%d metadata=%s",
               floe_table_name(t), kind_names[op->kind], (long long)op->snapshot_id,
               op->attempts, floe_table_metadata_location(t));
      if (out_snapshot_id != NULL) *out_snapshot_id = op->snapshot_id;
      break;
    }
    if (rc != FLOE_ECONFLICT) break;
    floe_log(FLOE_LOG_WARN, "table_commit_conflict",
             "table=%s operation=%s snapshot=%lld attempt=%d", floe_table_name(t),
             kind_names[op->kind], (long long)op->snapshot_id, op->attempts);
    if (op->attempts > policy.num_retries ||
        table_now_ms() - started > policy.total_timeout_ms) {
      floe_error_prefix(err, "gave up after %d attempts", op->attempts);
      break;
    }
    table_backoff(&policy, op->attempts + 1);
    rc = floe_table_refresh(t, err);
    if (rc < 0) break;
    if (landed_earlier(op)) {
      /* An attempt whose outcome was unknown (a REST commit that timed
       * out after the server applied it) did land: this operation is
       * committed, and applying it again would load its rows twice. */
      op->committed = true;
      floe_log(FLOE_LOG_WARN, "table_commit_found",
               "table=%s operation=%s snapshot=%lld attempt=%d metadata=%s",
               floe_table_name(t), kind_names[op->kind], (long long)op->snapshot_id,
               op->attempts, floe_table_metadata_location(t));
      if (out_snapshot_id != NULL) *out_snapshot_id = op->snapshot_id;
      break;
    }
  }
  if (rc < 0) {
    floe_log(FLOE_LOG_ERROR, "table_commit_failed", "table=%s operation=%s attempt=%d error=%s",
             floe_table_name(t), kind_names[op->kind], op->attempts,
             err ? err->message : "");
    floe_error_prefix(err, "table %s: %s", floe_table_name(t), kind_names[op->kind]);
  }
  return rc;
}

int floe_table_append(floe_table *table,
                      const floe_iceberg_content_file *files, int32_t n,
                      const floe_iceberg_property *summary,
                      int32_t n_summary, int64_t *out_snapshot_id,
                      floe_error *err) {
  floe_table_op *op = NULL;
  int rc = floe_table_op_new(&op, table, FLOE_TABLE_APPEND, err);
  if (rc < 0) return rc;
  for (int32_t i = 0; i < n; i++) FLOE_TRY(floe_table_op_add_file(op, &files[i], err));
  for (int32_t i = 0; i < n_summary; i++)
    FLOE_TRY(floe_table_op_set_summary(op, summary[i].key, summary[i].value, err));
  FLOE_TRY(floe_table_op_commit(op, out_snapshot_id, err));
cleanup:
  floe_table_op_free(op);
  return rc;
}

/* ---- reading a snapshot's files --------------------------------------- */

void floe_table_files_reset(floe_table_files *files) {
  if (files == NULL) return;
  for (int32_t i = 0; i < files->n; i++) {
    floe_iceberg_content_file_free(&files->files[i].file);
    floe_free(files->files[i].manifest_path);
  }
  floe_free(files->files);
  memset(files, 0, sizeof *files);
}

int floe_table_files_read(const floe_table *table,
                          const floe_iceberg_snapshot *snapshot,
                          floe_table_files *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_list *list = NULL;
  floe_manifest_reader *reader = NULL;
  int32_t cap = 0;
  memset(out, 0, sizeof *out);
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  if (snapshot == NULL) snapshot = floe_iceberg_metadata_current_snapshot(md);
  if (snapshot == NULL) return FLOE_OK;
  floe_io *io = floe_table_io(table);
  FLOE_TRY(floe_manifest_list_read(io, snapshot->manifest_list, &list, err));
  for (int32_t i = 0; i < list->n_files; i++) {
    const floe_manifest_file *mf = &list->files[i];
    FLOE_TRY(floe_manifest_reader_open(&reader, io, mf->manifest_path, mf, md, err));
    for (;;) {
      const floe_manifest_entry *e = NULL;
      FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
      if (e == NULL) break;
      if (e->status == FLOE_ENTRY_DELETED) continue;
      if (out->n == cap) {
        cap = cap ? cap * 2 : 16;
        floe_table_file *a = floe_realloc(out->files, (size_t)cap * sizeof *a);
        if (a == NULL) {
          rc = nomem(err);
          goto cleanup;
        }
        out->files = a;
      }
      floe_table_file *f = &out->files[out->n];
      memset(f, 0, sizeof *f);
      FLOE_TRY(floe_iceberg_content_file_copy(&f->file, &e->file, err));
      out->n++;
      f->status = e->status;
      f->snapshot_id = e->snapshot_id;
      f->sequence_number = e->sequence_number;
      f->file_sequence_number = e->file_sequence_number;
      f->manifest_path = floe_strdup(mf->manifest_path);
      if (f->manifest_path == NULL) {
        rc = nomem(err);
        goto cleanup;
      }
    }
    floe_manifest_reader_free(reader);
    reader = NULL;
  }
cleanup:
  if (rc < 0) {
    floe_error_prefix(err, "table %s: snapshot %" PRId64 ": files",
                      floe_table_name(table), snapshot->snapshot_id);
    floe_table_files_reset(out);
  }
  floe_manifest_reader_free(reader);
  floe_manifest_list_free(list);
  return rc;
}
