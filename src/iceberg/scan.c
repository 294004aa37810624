/*
 * iceberg/scan.c: table scans — planning and reading (Iceberg spec: Scan
 * Planning, Column Projection, Schema Evolution, Point in Time Reads).
 *
 * Planning reads the snapshot's manifest list, skips manifests whose
 * partition summaries cannot match the row filter, reads the rest (the
 * manifest reader applies sequence-number inheritance), drops DELETED
 * entries, prunes data files by partition tuple and column metrics, and
 * attaches delete files by the spec's rules: position deletes and DVs to
 * data files with a data sequence number <= theirs (and the referenced
 * file, when one is named), equality deletes to data files with a smaller
 * data sequence number in the same partition unless the delete's spec is
 * unpartitioned. Filters are projected onto partitions only through
 * identity, bucket (= and IN) and order-preserving transforms; anything
 * uncertain keeps the file (pruning is an optimisation, never a filter).
 *
 * Reading opens one data file at a time through the Parquet reader,
 * resolves every needed column by field id (or the table's name mapping
 * for files written without ids), reads it in the file's type and widens
 * to the table type, substitutes identity-partition values and defaults
 * for columns the file lacks, drops deleted rows, evaluates the filter
 * exactly and builds output batches.
 *
 * Output moves by column: a batch's surviving rows are found first (a keep
 * mask from the caller's exclusions (options.exclude_rows: the rows a
 * copy-on-write merge replaces), position deletes, then equality deletes
 * and the filter, which
 * read only the columns they need as floe_iceberg_value), then each output
 * column is appended in runs of consecutive kept rows with
 * floe_arrow_builder_append_view (memcpy of fixed-width values, rebased
 * offsets), so a slice with no deleted or filtered row is one copy. Only
 * columns that need a promotion (int->long, float->double, date->
 * timestamp, ...) go value by value. Lists of primitives are read as Arrow
 * lists (by the list's field id; element promotions per element), and a
 * list column a file lacks reads as null.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "iceberg/iceberg_internal.h"
#include "iceberg/scan_internal.h"

/* ==== small helpers ===================================================== */

typedef struct io_source {
  floe_io_file *file;
} io_source;

static int io_source_read(void *ctx, uint64_t offset, void *buf, size_t n, floe_error *err) {
  return floe_io_file_read_exact(((io_source *)ctx)->file, offset, buf, n, err);
}

static void io_source_close(void *ctx) {
  io_source *s = ctx;
  floe_io_file_close(s->file);
  floe_free(s);
}

int scan_open_parquet(floe_io *io, const char *path, floe_parquet_reader **out,
                      floe_error *err) {
  *out = NULL;
  io_source *ctx = floe_calloc(1, sizeof *ctx);
  if (ctx == NULL) return floe_error_set(err, FLOE_ENOMEM, "%s: out of memory", path);
  int rc = floe_io_open_read(io, path, &ctx->file, err);
  if (rc < 0) {
    floe_free(ctx);
    return rc;
  }
  floe_parquet_source source = {ctx, floe_io_file_size(ctx->file), io_source_read, io_source_close};
  return floe_parquet_reader_open_source(out, &source, path, err);
}

void scan_view_value(const floe_arrow_view *v, int64_t i, floe_iceberg_value *out) {
  memset(out, 0, sizeof *out);
  if (floe_arrow_view_is_null(v, i)) {
    out->is_null = true;
    return;
  }
  switch (v->type.id) {
    case FLOE_ARROW_BOOL: out->v.b = floe_arrow_view_bool(v, i); break;
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32: out->v.i32 = floe_arrow_view_int32(v, i); break;
    case FLOE_ARROW_FLOAT: out->v.f32 = floe_arrow_view_float(v, i); break;
    case FLOE_ARROW_DOUBLE: out->v.f64 = floe_arrow_view_double(v, i); break;
    case FLOE_ARROW_DECIMAL128: out->v.dec = floe_arrow_view_decimal(v, i); break;
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: out->bytes = floe_arrow_view_bytes(v, i, &out->len); break;
    default: out->v.i64 = floe_arrow_view_int64(v, i); break;
  }
}

static bool is_bytes_type(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_STRING || id == FLOE_ICEBERG_BINARY || id == FLOE_ICEBERG_FIXED ||
         id == FLOE_ICEBERG_UUID;
}

bool scan_type_readable(const floe_iceberg_type *to, const floe_arrow_type_info *from) {
  floe_arrow_type f = from->id;
  switch (to->id) {
    case FLOE_ICEBERG_BOOLEAN: return f == FLOE_ARROW_BOOL;
    case FLOE_ICEBERG_INT: return f == FLOE_ARROW_INT32;
    case FLOE_ICEBERG_LONG: return f == FLOE_ARROW_INT32 || f == FLOE_ARROW_INT64 || f == FLOE_ARROW_UINT64;
    case FLOE_ICEBERG_FLOAT: return f == FLOE_ARROW_FLOAT;
    case FLOE_ICEBERG_DOUBLE: return f == FLOE_ARROW_FLOAT || f == FLOE_ARROW_DOUBLE;
    case FLOE_ICEBERG_DECIMAL:
      /* Iceberg spec: Schema Evolution, decimal(P,S) -> decimal(P',S). */
      return f == FLOE_ARROW_DECIMAL128 && from->scale == to->scale && from->precision <= to->precision;
    case FLOE_ICEBERG_DATE: return f == FLOE_ARROW_DATE32;
    case FLOE_ICEBERG_TIME: return f == FLOE_ARROW_TIME64_US;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
      return f == FLOE_ARROW_TIMESTAMP_US || f == FLOE_ARROW_TIMESTAMP_US_TZ || f == FLOE_ARROW_DATE32;
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      return f == FLOE_ARROW_TIMESTAMP_NS || f == FLOE_ARROW_TIMESTAMP_NS_TZ || f == FLOE_ARROW_DATE32;
    case FLOE_ICEBERG_STRING:
    case FLOE_ICEBERG_BINARY: return f == FLOE_ARROW_UTF8 || f == FLOE_ARROW_BINARY || f == FLOE_ARROW_FIXED;
    case FLOE_ICEBERG_FIXED:
      return (f == FLOE_ARROW_FIXED && from->byte_width == to->length) || f == FLOE_ARROW_BINARY;
    case FLOE_ICEBERG_UUID:
      return f == FLOE_ARROW_UUID || (f == FLOE_ARROW_FIXED && from->byte_width == 16) || f == FLOE_ARROW_BINARY;
    default: return false;
  }
}

int scan_value_widen(const floe_iceberg_type *to, floe_arrow_type from, floe_iceberg_value *v,
                     floe_error *err) {
  if (v->is_null) return FLOE_OK;
  switch (to->id) {
    case FLOE_ICEBERG_LONG:
      if (from == FLOE_ARROW_INT32) v->v.i64 = v->v.i32;
      else if (from == FLOE_ARROW_UINT64 && v->v.i64 < 0)
        return floe_error_set(err, FLOE_ERANGE, "unsigned value %llu does not fit a long",
                              (unsigned long long)v->v.i64);
      break;
    case FLOE_ICEBERG_DOUBLE:
      if (from == FLOE_ARROW_FLOAT) v->v.f64 = (double)v->v.f32;
      break;
    case FLOE_ICEBERG_TIMESTAMP:
    case FLOE_ICEBERG_TIMESTAMPTZ:
      if (from == FLOE_ARROW_DATE32) v->v.i64 = (int64_t)v->v.i32 * 86400000000LL;
      break;
    case FLOE_ICEBERG_TIMESTAMP_NS:
    case FLOE_ICEBERG_TIMESTAMPTZ_NS:
      if (from == FLOE_ARROW_DATE32) v->v.i64 = (int64_t)v->v.i32 * 86400000000000LL;
      break;
    case FLOE_ICEBERG_FIXED:
      if (v->len != (size_t)to->length)
        return floe_error_set(err, FLOE_ERANGE, "value of %zu bytes in a fixed[%d] column", v->len, to->length);
      break;
    case FLOE_ICEBERG_UUID:
      if (v->len != 16) return floe_error_set(err, FLOE_ERANGE, "value of %zu bytes in a uuid column", v->len);
      break;
    default: break;
  }
  return FLOE_OK;
}

const floe_iceberg_field *scan_find_field(const floe_iceberg_metadata *metadata,
                                          const floe_iceberg_schema *schema, int32_t id) {
  const floe_iceberg_field *f = schema ? floe_iceberg_schema_find_id(schema, id) : NULL;
  if (f != NULL) return f;
  const floe_iceberg_schema *current = floe_iceberg_metadata_current_schema(metadata);
  if (current != NULL && (f = floe_iceberg_schema_find_id(current, id)) != NULL) return f;
  for (int32_t i = metadata->n_schemas - 1; i >= 0; i--)
    if ((f = floe_iceberg_schema_find_id(metadata->schemas[i], id)) != NULL) return f;
  return NULL;
}

static const char *skip_dot_slash(const char *p) {
  while (p[0] == '.' && p[1] == '/') p += 2;
  return p;
}

int floe_scan_remap_path(const char *location_from, const char *location_to,
                         const char *path, char **out, floe_error *err) {
  *out = NULL;
  if (location_to == NULL || location_from == NULL) {
    *out = floe_strdup(path);
    return *out ? FLOE_OK : floe_error_set(err, FLOE_ENOMEM, "remap %s: out of memory", path);
  }
  const char *from = skip_dot_slash(location_from);
  const char *p = skip_dot_slash(path);
  size_t from_len = strlen(from);
  while (from_len > 0 && from[from_len - 1] == '/') from_len--;
  if (strncmp(p, from, from_len) == 0 && (p[from_len] == '/' || p[from_len] == '\0')) {
    const char *rest = p + from_len;
    size_t to_len = strlen(location_to);
    while (to_len > 0 && location_to[to_len - 1] == '/') to_len--;
    size_t rest_len = strlen(rest);
    char *s = floe_malloc(to_len + rest_len + 1);
    if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "remap %s: out of memory", path);
    memcpy(s, location_to, to_len);
    memcpy(s + to_len, rest, rest_len + 1);
    *out = s;
    return FLOE_OK;
  }
  *out = floe_strdup(path);
  return *out ? FLOE_OK : floe_error_set(err, FLOE_ENOMEM, "remap %s: out of memory", path);
}

/* ==== value comparison =================================================== */

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  return an < bn ? -1 : an > bn;
}

static bool is_float_type(floe_iceberg_type_id id) {
  return id == FLOE_ICEBERG_FLOAT || id == FLOE_ICEBERG_DOUBLE;
}

static double as_double(const floe_iceberg_type *t, const floe_iceberg_value *v) {
  return t->id == FLOE_ICEBERG_FLOAT ? (double)v->v.f32 : v->v.f64;
}

static bool value_is_nan(const floe_iceberg_type *t, const floe_iceberg_value *v) {
  return !v->is_null && is_float_type(t->id) && isnan(as_double(t, v));
}

/* Orders two non-null values of one type (floats must not be NaN). */
static int value_cmp(const floe_iceberg_type *t, const floe_iceberg_value *a, const floe_iceberg_value *b) {
  switch (t->id) {
    case FLOE_ICEBERG_BOOLEAN: return (int)a->v.b - (int)b->v.b;
    case FLOE_ICEBERG_INT:
    case FLOE_ICEBERG_DATE: return a->v.i32 < b->v.i32 ? -1 : a->v.i32 > b->v.i32;
    case FLOE_ICEBERG_FLOAT:
    case FLOE_ICEBERG_DOUBLE: {
      double x = as_double(t, a), y = as_double(t, b);
      return x < y ? -1 : x > y;
    }
    case FLOE_ICEBERG_DECIMAL: return a->v.dec < b->v.dec ? -1 : a->v.dec > b->v.dec;
    default:
      if (is_bytes_type(t->id)) return bytes_cmp(a->bytes, a->len, b->bytes, b->len);
      return a->v.i64 < b->v.i64 ? -1 : a->v.i64 > b->v.i64;
  }
}

static bool op_holds(floe_scan_op op, int c) {
  switch (op) {
    case FLOE_SCAN_EQ:
    case FLOE_SCAN_IN: return c == 0;
    case FLOE_SCAN_NE: return c != 0;
    case FLOE_SCAN_LT: return c < 0;
    case FLOE_SCAN_LE: return c <= 0;
    case FLOE_SCAN_GT: return c > 0;
    case FLOE_SCAN_GE: return c >= 0;
    default: return false;
  }
}

/* ==== the scan ========================================================== */

typedef struct scan_pred {
  const floe_iceberg_field *field;
  floe_scan_op op;
  int32_t n_values;
  floe_iceberg_value *values; /* owned copies; one for comparisons */
} scan_pred;

enum { COL_FILE = 0, COL_CONST = 1 };

/* A column the current data file must supply (projected, filtered or
 * equality-deleted). */
typedef struct work_col {
  int32_t field_id;
  const floe_iceberg_type *type; /* table type */
  int kind;
  int32_t batch_index;           /* COL_FILE: child of the Parquet batch */
  floe_arrow_type file_type;
  floe_iceberg_value constant;   /* COL_CONST */
  bool for_rows;                 /* read per row (filter, equality deletes) */
  bool bulk;                     /* COL_FILE: same layout as the output */
  bool is_list;                  /* a list of primitives */
  bool nested;                   /* a struct, map or list of nested values */
  floe_arrow_type file_element_type; /* lists: the file's element type */
  /* nested, not bulk: the table's and the file's Arrow fields, the file's
   * read into the table's level by level (nested_append_evolved) */
  struct ArrowSchema *evolve_want, *evolve_have;
} work_col;

typedef struct file_state {
  const floe_scan_task *task;
  char *path;
  floe_parquet_reader *reader;
  floe_parquet_scan *pscan;
  struct ArrowSchema batch_schema;
  int32_t n_work;
  work_col *work;
  int32_t *proj_index;   /* n_proj: index into work */
  int32_t *pred_index;   /* n_filter */
  int32_t **eq_index;    /* per eq set: n_ids indexes */
  floe_iceberg_value *row;
  floe_arrow_view *views;
  int32_t n_views;
  uint8_t *keep;         /* per batch row: survives deletes and the filter */
  int64_t keep_cap;
} file_state;

struct floe_scan {
  const floe_iceberg_metadata *metadata;
  floe_io *io;
  floe_arena *arena;
  const char *location_from, *location_to;
  const floe_iceberg_snapshot *snapshot;
  const floe_iceberg_schema *schema;
  int32_t n_proj;
  const floe_iceberg_field **proj;
  int32_t n_filter;
  scan_pred *filter;
  bool with_file, with_pos;
  bool filter_prunes_only;
  int64_t batch_size;
  /* data files to read (sorted paths as manifests record them); NULL: all */
  char **data_files;
  int32_t n_data_files;
  bool ignore_equality_deletes;
  int (*exclude_rows)(void *ctx, int32_t task, int64_t first_row, int64_t n, uint8_t *keep,
                      floe_error *err);
  void *exclude_ctx;
  struct ArrowSchema out_schema;
  floe_arrow_batch_builder builder;
  bool builder_ready;
  floe_iceberg_name_mapping *name_mapping;
  bool name_mapping_loaded;
  /* partition tuple types, one per metadata spec (NULL: unknown) */
  floe_iceberg_schema **spec_types;
  /* plan */
  bool planned;
  floe_scan_plan_info plan;
  int32_t cap_tasks, cap_deletes;
  /* reading */
  int32_t next_task;
  int32_t batch_task; /* the task of the last batch returned, or -1 */
  bool file_open;
  file_state cur;
  scan_positions positions;
  scan_eq_deletes eq;
  const floe_scan_task *eq_task; /* the task eq was loaded for */
  floe_scan_stats stats;
};

static void free_values(floe_iceberg_value *values, int32_t n) {
  for (int32_t i = 0; values != NULL && i < n; i++) floe_iceberg_value_free(&values[i]);
  floe_free(values);
}

static void file_state_close(floe_scan *s, file_state *f) {
  if (f->work != NULL)
    for (int32_t i = 0; i < f->n_work; i++) {
      floe_iceberg_value_free(&f->work[i].constant);
      if (f->work[i].evolve_want != NULL) floe_arrow_schema_release(f->work[i].evolve_want);
      floe_free(f->work[i].evolve_want);
    }
  floe_free(f->work);
  floe_free(f->proj_index);
  floe_free(f->pred_index);
  if (f->eq_index != NULL)
    for (int32_t i = 0; i < s->eq.n_sets; i++) floe_free(f->eq_index[i]);
  floe_free(f->eq_index);
  floe_free(f->row);
  floe_free(f->views);
  floe_free(f->keep);
  floe_arrow_schema_release(&f->batch_schema);
  floe_parquet_reader_scan_free(f->pscan);
  floe_parquet_reader_free(f->reader);
  floe_free(f->path);
  memset(f, 0, sizeof *f);
}

void floe_scan_free(floe_scan *s) {
  if (s == NULL) return;
  if (s->file_open) file_state_close(s, &s->cur);
  scan_positions_reset(&s->positions);
  scan_eq_deletes_reset(&s->eq);
  for (int32_t i = 0; i < s->n_filter; i++) free_values(s->filter[i].values, s->filter[i].n_values);
  floe_free(s->filter);
  floe_free(s->proj);
  floe_arrow_schema_release(&s->out_schema);
  if (s->builder_ready) floe_arrow_batch_builder_free(&s->builder);
  floe_iceberg_name_mapping_free(s->name_mapping);
  if (s->spec_types != NULL)
    for (int32_t i = 0; i < s->metadata->n_specs; i++) floe_iceberg_schema_free(s->spec_types[i]);
  floe_free(s->spec_types);
  for (int32_t i = 0; i < s->plan.n_tasks; i++) {
    floe_iceberg_content_file_free(&s->plan.tasks[i].file);
    floe_free(s->plan.tasks[i].deletes);
  }
  floe_free(s->plan.tasks);
  for (int32_t i = 0; i < s->plan.n_delete_files; i++)
    floe_iceberg_content_file_free(&s->plan.delete_files[i].file);
  floe_free(s->plan.delete_files);
  ice_arena_destroy(s->arena);
  floe_free(s);
}

static bool is_primitive_list(const floe_iceberg_type *t) {
  return t->id == FLOE_ICEBERG_LIST && t->n_fields == 1 && t->fields != NULL &&
         floe_iceberg_type_is_primitive(t->fields[0].type.id) &&
         t->fields[0].type.id != FLOE_ICEBERG_VARIANT && t->fields[0].type.id != FLOE_ICEBERG_UNKNOWN;
}

/* A struct, map or list of nested values whose every level maps to Arrow
 * (read whole from a nested Parquet column of the same layout). */
static bool is_nested_readable(const floe_iceberg_type *t) {
  floe_arrow_type_info info;
  return !floe_iceberg_type_is_primitive(t->id) && !is_primitive_list(t) &&
         floe_iceberg_type_to_arrow(t, &info, NULL) == FLOE_OK;
}

/* Whether the file's Arrow field `have` holds the table's `want` level for
 * level: the same shape, the same field ids, leaves of one layout. */
static bool nested_layout_matches(const struct ArrowSchema *want, const struct ArrowSchema *have) {
  floe_arrow_type_info a, b;
  if (floe_arrow_schema_type(want, &a, NULL) < 0 || floe_arrow_schema_type(have, &b, NULL) < 0)
    return false;
  if (want->n_children != have->n_children) return false;
  int32_t wid = floe_arrow_schema_field_id(want), hid = floe_arrow_schema_field_id(have);
  if (wid >= 0 && hid >= 0 && wid != hid) return false;
  if (!floe_arrow_type_is_nested(a.id)) return floe_arrow_type_same_layout(&a, &b) && !floe_arrow_type_is_nested(b.id);
  if (a.id != b.id) return false;
  for (int64_t i = 0; i < want->n_children; i++)
    if (!nested_layout_matches(want->children[i], have->children[i])) return false;
  return true;
}

/* The child of struct field `have` with field id `id`, or -1. */
static int64_t child_with_id(const struct ArrowSchema *have, int32_t id) {
  for (int64_t k = 0; k < have->n_children; k++)
    if (floe_arrow_schema_field_id(have->children[k]) == id) return k;
  return -1;
}

/* Whether a file leaf of type b reads as the table's leaf type a: the same
 * layout, or a promotion (Iceberg spec: Schema Evolution) — int->long,
 * float->double, a decimal of one scale and no larger precision. */
static bool leaf_evolvable(const floe_arrow_type_info *a, const floe_arrow_type_info *b) {
  if (a->id == FLOE_ARROW_DECIMAL128 && b->id == FLOE_ARROW_DECIMAL128)
    return a->scale == b->scale && b->precision <= a->precision;
  if (floe_arrow_type_same_layout(a, b)) return true;
  return (a->id == FLOE_ARROW_INT64 && b->id == FLOE_ARROW_INT32) ||
         (a->id == FLOE_ARROW_DOUBLE && b->id == FLOE_ARROW_FLOAT);
}

/* Whether the file's nested field `have` reads as the table's `want` after
 * schema evolution: the same kind at every level; struct fields matched by
 * field id, a table field the file lacks read as null (it must be
 * optional: Iceberg spec, "Default values"), a file field the table
 * dropped skipped; leaves as leaf_evolvable. Otherwise `why` (size n) gets
 * the path of the first level that does not fit, from `path`. */
static bool nested_evolvable(const struct ArrowSchema *want, const struct ArrowSchema *have,
                             const char *path, char *why, size_t n) {
  floe_arrow_type_info a, b;
  if (floe_arrow_schema_type(want, &a, NULL) < 0 || floe_arrow_schema_type(have, &b, NULL) < 0) {
    snprintf(why, n, "%s has a type without an Arrow form", path);
    return false;
  }
  char ta[32], tb[32];
  floe_arrow_type_name(&a, ta, sizeof ta);
  floe_arrow_type_name(&b, tb, sizeof tb);
  if (!floe_arrow_type_is_nested(a.id) || a.id != b.id) {
    if (!floe_arrow_type_is_nested(a.id) && !floe_arrow_type_is_nested(b.id) && leaf_evolvable(&a, &b))
      return true;
    snprintf(why, n, "%s is %s in the file and %s in the table", path, tb, ta);
    return false;
  }
  char sub[512];
  if (a.id == FLOE_ARROW_STRUCT) {
    for (int64_t k = 0; k < want->n_children; k++) {
      const struct ArrowSchema *w = want->children[k];
      snprintf(sub, sizeof sub, "%s.%s", path, w->name ? w->name : "?");
      int64_t h = child_with_id(have, floe_arrow_schema_field_id(w));
      if (h < 0) {
        if (!(w->flags & ARROW_FLAG_NULLABLE)) {
          snprintf(why, n, "%s is required in the table and missing from the file", sub);
          return false;
        }
        continue;
      }
      if (!nested_evolvable(w, have->children[h], sub, why, n)) return false;
    }
    return true;
  }
  if (want->n_children != have->n_children) {
    snprintf(why, n, "%s has another layout in the file", path);
    return false;
  }
  if (a.id == FLOE_ARROW_LIST) {
    snprintf(sub, sizeof sub, "%s.element", path);
    return nested_evolvable(want->children[0], have->children[0], sub, why, n);
  }
  /* a map: its entries struct of key and value, positionally */
  const struct ArrowSchema *we = want->children[0], *he = have->children[0];
  if (we->n_children != 2 || he->n_children != 2) {
    snprintf(why, n, "%s has another layout in the file", path);
    return false;
  }
  snprintf(sub, sizeof sub, "%s.key", path);
  if (!nested_evolvable(we->children[0], he->children[0], sub, why, n)) return false;
  snprintf(sub, sizeof sub, "%s.value", path);
  return nested_evolvable(we->children[1], he->children[1], sub, why, n);
}

/* Appends row i of the file's nested column v (Arrow field `have`) to the
 * table's builder b (field `want`), as nested_evolvable allows: fields the
 * file lacks as nulls, promoted leaves widened, the rest copied. */
static int nested_append_evolved(floe_arrow_builder *b, const struct ArrowSchema *want,
                                 const struct ArrowSchema *have, const floe_arrow_view *v, int64_t i) {
  if (floe_arrow_view_is_null(v, i)) return floe_arrow_builder_append_null(b);
  floe_error ignored = {0};
  int rc = FLOE_OK;
  int64_t start, end;
  switch (b->type.id) {
    case FLOE_ARROW_STRUCT: {
      floe_arrow_builder *fields;
      int64_t n_fields;
      if ((rc = floe_arrow_builder_struct_start(b, &fields, &n_fields)) < 0) return rc;
      for (int64_t k = 0; rc >= 0 && k < n_fields; k++) {
        int64_t h = child_with_id(have, floe_arrow_schema_field_id(want->children[k]));
        floe_arrow_view field;
        if (h < 0) {
          rc = floe_arrow_builder_append_null(&fields[k]);
        } else if ((rc = floe_arrow_view_struct_child(v, h, &field, &ignored)) >= 0) {
          rc = nested_append_evolved(&fields[k], want->children[k], have->children[h], &field, i);
        }
      }
      return rc < 0 ? rc : floe_arrow_builder_struct_end(b);
    }
    case FLOE_ARROW_LIST: {
      floe_arrow_view elements;
      floe_arrow_builder *eb;
      if ((rc = floe_arrow_view_list_child(v, &elements, &ignored)) < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      if ((rc = floe_arrow_builder_list_start(b, &eb)) < 0) return rc;
      for (int64_t e = start; rc >= 0 && e < end; e++)
        rc = nested_append_evolved(eb, want->children[0], have->children[0], &elements, e);
      return rc < 0 ? rc : floe_arrow_builder_list_end(b);
    }
    case FLOE_ARROW_MAP: {
      floe_arrow_view keys, values;
      floe_arrow_builder *kb, *vb;
      const struct ArrowSchema *we = want->children[0], *he = have->children[0];
      if ((rc = floe_arrow_view_map_entries(v, &keys, &values, &ignored)) < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      if ((rc = floe_arrow_builder_map_start(b, &kb, &vb)) < 0) return rc;
      for (int64_t e = start; rc >= 0 && e < end; e++) {
        rc = nested_append_evolved(kb, we->children[0], he->children[0], &keys, e);
        if (rc >= 0) rc = nested_append_evolved(vb, we->children[1], he->children[1], &values, e);
      }
      return rc < 0 ? rc : floe_arrow_builder_map_end(b);
    }
    case FLOE_ARROW_INT64:
      if (v->type.id == FLOE_ARROW_INT32)
        return floe_arrow_builder_append_int64(b, floe_arrow_view_int32(v, i));
      break;
    case FLOE_ARROW_DOUBLE:
      if (v->type.id == FLOE_ARROW_FLOAT)
        return floe_arrow_builder_append_double(b, floe_arrow_view_float(v, i));
      break;
    case FLOE_ARROW_DECIMAL128: /* a narrower precision: the same unscaled value */
      return floe_arrow_builder_append_decimal(b, floe_arrow_view_decimal(v, i));
    default:
      break;
  }
  return floe_arrow_builder_append_view(b, v, i, 1);
}

/* A top-level primitive column (or, when allow_list, a list of
 * primitives or a nested column) by name or id. */
static int resolve_column(const floe_iceberg_schema *schema, const char *name, int32_t id,
                          bool allow_list, const floe_iceberg_field **out, floe_error *err) {
  const floe_iceberg_field *f = NULL;
  for (int32_t i = 0; i < schema->root.n_fields; i++) {
    const floe_iceberg_field *c = &schema->root.fields[i];
    if (name != NULL ? strcmp(c->name, name) == 0 : c->id == id) {
      f = c;
      break;
    }
  }
  if (f == NULL) {
    if (name != NULL)
      return floe_error_set(err, FLOE_ENOTFOUND, "column '%s' is not in schema %d", name, schema->schema_id);
    return floe_error_set(err, FLOE_ENOTFOUND, "field id %d is not a top-level column of schema %d", id,
                          schema->schema_id);
  }
  if (allow_list && (is_primitive_list(&f->type) || is_nested_readable(&f->type))) {
    *out = f;
    return FLOE_OK;
  }
  if (!floe_iceberg_type_is_primitive(f->type.id) || f->type.id == FLOE_ICEBERG_VARIANT ||
      f->type.id == FLOE_ICEBERG_UNKNOWN) {
    char t[32];
    floe_iceberg_type_format(&f->type, t, sizeof t);
    return floe_error_set(err, FLOE_EUNSUPPORTED, "column '%s' (field id %d) is %s: only %s can be %s",
                          f->name, f->id, t,
                          allow_list ? "primitive and nested columns" : "primitive columns",
                          allow_list ? "read" : "filtered");
  }
  *out = f;
  return FLOE_OK;
}

static bool arrow_mappable(const floe_iceberg_field *f) {
  floe_arrow_type_info info;
  return (floe_iceberg_type_is_primitive(f->type.id) || is_primitive_list(&f->type) ||
          is_nested_readable(&f->type)) &&
         floe_iceberg_type_to_arrow(&f->type, &info, NULL) == FLOE_OK;
}

static int build_out_schema(floe_scan *s, floe_error *err) {
  int64_t n = s->n_proj + (s->with_file ? 1 : 0) + (s->with_pos ? 1 : 0);
  int rc = floe_arrow_schema_init_struct(&s->out_schema, "", n);
  if (rc < 0) return floe_error_set(err, rc, "scan schema: out of memory");
  for (int32_t i = 0; i < s->n_proj; i++) FLOE_TRY(floe_iceberg_field_to_arrow(s->proj[i], s->out_schema.children[i], err));
  int64_t k = s->n_proj;
  if (s->with_file) {
    floe_arrow_type_info t = floe_arrow_type_of(FLOE_ARROW_UTF8);
    rc = floe_arrow_schema_init(s->out_schema.children[k++], "_file", &t, false, FLOE_SCAN_FIELD_ID_FILE_PATH);
    if (rc < 0) return floe_error_set(err, rc, "scan schema: out of memory");
  }
  if (s->with_pos) {
    floe_arrow_type_info t = floe_arrow_type_of(FLOE_ARROW_INT64);
    rc = floe_arrow_schema_init(s->out_schema.children[k++], "_pos", &t, false, FLOE_SCAN_FIELD_ID_POS);
    if (rc < 0) return floe_error_set(err, rc, "scan schema: out of memory");
  }
  FLOE_TRY(floe_arrow_batch_builder_init(&s->builder, &s->out_schema, err));
  s->builder_ready = true;
cleanup:
  return rc;
}

static int cmp_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the options let the scan read this data file. */
static bool data_file_wanted(const floe_scan *s, const char *path) {
  if (s->data_files == NULL) return true;
  return bsearch(&path, s->data_files, (size_t)s->n_data_files, sizeof *s->data_files, cmp_path) != NULL;
}

int floe_scan_open(floe_scan **out, const floe_iceberg_metadata *metadata, floe_io *io,
                   const floe_scan_options *options, floe_error *err) {
  int rc = FLOE_OK;
  floe_scan_options defaults;
  memset(&defaults, 0, sizeof defaults);
  if (options == NULL) options = &defaults;
  *out = NULL;
  floe_scan *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
  s->metadata = metadata;
  s->io = io;
  s->arena = ice_arena_create(4096);
  if (s->arena == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
    goto cleanup;
  }
  if (options->location_to != NULL) {
    const char *from = options->location_from ? options->location_from : metadata->location;
    s->location_from = from ? floe_arena_strdup(s->arena, from) : NULL;
    s->location_to = floe_arena_strdup(s->arena, options->location_to);
    if ((from && s->location_from == NULL) || s->location_to == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
      goto cleanup;
    }
  }
  s->batch_task = -1;
  s->with_file = options->with_file_path;
  s->with_pos = options->with_pos;
  s->filter_prunes_only = options->filter_prunes_only;
  s->exclude_rows = options->exclude_rows;
  s->exclude_ctx = options->exclude_ctx;
  s->batch_size = options->batch_size > 0 ? options->batch_size : 65536;

  /* Snapshot (Iceberg spec: Point in Time Reads). */
  bool time_travel = false;
  if (options->has_snapshot_id) {
    s->snapshot = floe_iceberg_metadata_snapshot(metadata, options->snapshot_id);
    if (s->snapshot == NULL) {
      rc = floe_error_set(err, FLOE_ENOTFOUND, "scan: snapshot %lld is not in the table metadata",
                          (long long)options->snapshot_id);
      goto cleanup;
    }
    time_travel = true;
  } else if (options->has_as_of) {
    FLOE_TRY(floe_iceberg_metadata_snapshot_as_of(metadata, options->as_of_timestamp_ms, &s->snapshot, err));
    time_travel = true;
  } else {
    s->snapshot = floe_iceberg_metadata_current_snapshot(metadata);
  }
  s->schema = floe_iceberg_metadata_current_schema(metadata);
  if (time_travel && !options->use_current_schema && s->snapshot->has_schema_id) {
    const floe_iceberg_schema *snap_schema = floe_iceberg_metadata_schema(metadata, s->snapshot->schema_id);
    if (snap_schema != NULL) s->schema = snap_schema;
  }
  if (s->schema == NULL) {
    rc = floe_error_set(err, FLOE_EFORMAT, "scan: the table metadata has no current schema");
    goto cleanup;
  }

  /* Projection. */
  int32_t n_req = options->n_columns > 0 ? options->n_columns : options->n_field_ids;
  if (n_req > 0) {
    s->proj = floe_calloc((size_t)n_req, sizeof *s->proj);
    if (s->proj == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
      goto cleanup;
    }
    for (int32_t i = 0; i < n_req; i++) {
      rc = resolve_column(s->schema, options->n_columns > 0 ? options->columns[i] : NULL,
                          options->n_columns > 0 ? 0 : options->field_ids[i], true, &s->proj[i], err);
      if (rc < 0) {
        floe_error_prefix(err, "scan: projection");
        goto cleanup;
      }
      s->n_proj++;
    }
  } else {
    s->proj = floe_calloc((size_t)(s->schema->root.n_fields + 1), sizeof *s->proj);
    if (s->proj == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
      goto cleanup;
    }
    for (int32_t i = 0; i < s->schema->root.n_fields; i++)
      if (arrow_mappable(&s->schema->root.fields[i])) s->proj[s->n_proj++] = &s->schema->root.fields[i];
  }

  /* Filter. */
  if (options->n_filter > 0) {
    s->filter = floe_calloc((size_t)options->n_filter, sizeof *s->filter);
    if (s->filter == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
      goto cleanup;
    }
    for (int32_t i = 0; i < options->n_filter; i++) {
      const floe_scan_predicate *p = &options->filter[i];
      scan_pred *q = &s->filter[i];
      rc = resolve_column(s->schema, p->column, p->field_id, false, &q->field, err);
      if (rc < 0) {
        floe_error_prefix(err, "scan: filter term %d", i);
        goto cleanup;
      }
      if ((int)p->op < FLOE_SCAN_EQ || p->op > FLOE_SCAN_IN) {
        rc = floe_error_set(err, FLOE_EINVAL, "scan: filter term %d: unknown operator %d", i, (int)p->op);
        goto cleanup;
      }
      q->op = p->op;
      const floe_iceberg_value *src = &p->value;
      int32_t n = 1;
      if (p->op == FLOE_SCAN_IN) {
        if (p->n_values <= 0 || p->values == NULL) {
          rc = floe_error_set(err, FLOE_EINVAL, "scan: filter term %d on '%s': IN needs at least one value", i,
                              q->field->name);
          goto cleanup;
        }
        src = p->values;
        n = p->n_values;
      } else if (p->op == FLOE_SCAN_IS_NULL || p->op == FLOE_SCAN_NOT_NULL) {
        n = 0;
      } else if (p->value.is_null) {
        rc = floe_error_set(err, FLOE_EINVAL, "scan: filter term %d on '%s': comparison with a null literal (use IS NULL)",
                            i, q->field->name);
        goto cleanup;
      }
      if (n > 0) {
        q->values = floe_calloc((size_t)n, sizeof *q->values);
        if (q->values == NULL) {
          rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
          goto cleanup;
        }
        for (int32_t k = 0; k < n; k++) {
          if (floe_iceberg_value_copy(&q->values[k], &src[k]) < 0) {
            q->n_values = k;
            rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
            goto cleanup;
          }
          q->n_values = k + 1;
        }
      }
      s->n_filter = i + 1;
    }
  }
  /* Data files to read. */
  if (options->data_files != NULL) {
    s->data_files = floe_arena_alloc(s->arena, sizeof *s->data_files * (size_t)(options->n_data_files + 1));
    if (s->data_files == NULL || options->n_data_files < 0) {
      rc = options->n_data_files < 0 ? floe_error_set(err, FLOE_EINVAL, "scan: negative n_data_files")
                                     : floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
      goto cleanup;
    }
    for (int32_t i = 0; i < options->n_data_files; i++) {
      if (options->data_files[i] == NULL ||
          (s->data_files[i] = floe_arena_strdup(s->arena, options->data_files[i])) == NULL) {
        rc = options->data_files[i] == NULL ? floe_error_set(err, FLOE_EINVAL, "scan: data file %d is NULL", i)
                                            : floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
        goto cleanup;
      }
    }
    s->n_data_files = options->n_data_files;
    qsort(s->data_files, (size_t)s->n_data_files, sizeof *s->data_files, cmp_path);
  }
  s->ignore_equality_deletes = options->ignore_equality_deletes;
  FLOE_TRY(build_out_schema(s, err));
  *out = s;
  s = NULL;
cleanup:
  floe_scan_free(s);
  return rc;
}

const floe_iceberg_schema *floe_scan_table_schema(const floe_scan *s) { return s->schema; }

int floe_scan_schema(const floe_scan *s, struct ArrowSchema *out, floe_error *err) {
  if (floe_arrow_schema_copy(out, &s->out_schema) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "scan schema: out of memory");
  return FLOE_OK;
}

void floe_scan_get_stats(const floe_scan *s, floe_scan_stats *out) { *out = s->stats; }

/* ==== pruning ============================================================ */

/* The partition tuple type of spec index i (lazily; NULL when no schema
 * knows its source columns). */
static const floe_iceberg_schema *spec_type(floe_scan *s, const floe_iceberg_partition_spec *spec) {
  int32_t i = 0;
  while (i < s->metadata->n_specs && s->metadata->specs[i] != spec) i++;
  if (i == s->metadata->n_specs) return NULL;
  if (s->spec_types == NULL) {
    s->spec_types = floe_calloc((size_t)s->metadata->n_specs, sizeof *s->spec_types);
    if (s->spec_types == NULL) return NULL;
  }
  if (s->spec_types[i] == NULL) {
    if (floe_iceberg_partition_spec_type(spec, s->schema, &s->spec_types[i], NULL) == FLOE_OK)
      return s->spec_types[i];
    for (int32_t k = s->metadata->n_schemas - 1; k >= 0; k--)
      if (floe_iceberg_partition_spec_type(spec, s->metadata->schemas[k], &s->spec_types[i], NULL) == FLOE_OK)
        break;
  }
  return s->spec_types[i];
}

#define MAX_PROJECTED_VALUES 64

/* A filter term projected onto one partition field (Iceberg spec: Scan
 * Planning, inclusive projection): the partition value of every matching
 * row satisfies `op lits`. */
typedef struct projected {
  floe_scan_op op;
  floe_iceberg_type type; /* partition result type */
  int32_t n;
  floe_iceberg_value lits[MAX_PROJECTED_VALUES];
} projected;

static void projected_free(projected *p) {
  for (int32_t i = 0; i < p->n; i++) floe_iceberg_value_free(&p->lits[i]);
  p->n = 0;
}

/* Returns false when the term says nothing about this partition field. */
static bool project_term(const scan_pred *q, const floe_iceberg_partition_field *pf, projected *out) {
  const floe_iceberg_type *src = &q->field->type;
  floe_iceberg_transform_kind kind = pf->transform.kind;
  out->n = 0;
  if (pf->source_id != q->field->id || pf->n_source_ids > 1) return false;
  if (kind == FLOE_TRANSFORM_VOID || kind == FLOE_TRANSFORM_UNKNOWN) return false;
  if (floe_iceberg_transform_result_type(&pf->transform, src, &out->type, NULL) < 0) return false;
  if (q->op == FLOE_SCAN_IS_NULL || q->op == FLOE_SCAN_NOT_NULL) {
    out->op = q->op;
    return true;
  }
  if (q->n_values > MAX_PROJECTED_VALUES) return false;
  for (int32_t i = 0; i < q->n_values; i++)
    if (value_is_nan(src, &q->values[i])) return false;
  bool order_preserving = kind == FLOE_TRANSFORM_TRUNCATE || kind == FLOE_TRANSFORM_YEAR ||
                          kind == FLOE_TRANSFORM_MONTH || kind == FLOE_TRANSFORM_DAY ||
                          kind == FLOE_TRANSFORM_HOUR;
  bool time = order_preserving && kind != FLOE_TRANSFORM_TRUNCATE;
  switch (q->op) {
    case FLOE_SCAN_EQ:
    case FLOE_SCAN_IN: out->op = q->op; break;
    case FLOE_SCAN_NE:
      if (kind != FLOE_TRANSFORM_IDENTITY) return false;
      out->op = q->op;
      break;
    case FLOE_SCAN_LT:
    case FLOE_SCAN_LE:
      if (kind == FLOE_TRANSFORM_IDENTITY) out->op = q->op;
      else if (order_preserving) out->op = FLOE_SCAN_LE;
      else return false;
      break;
    case FLOE_SCAN_GT:
    case FLOE_SCAN_GE:
      if (kind == FLOE_TRANSFORM_IDENTITY) out->op = q->op;
      else if (order_preserving) out->op = FLOE_SCAN_GE;
      else return false;
      break;
    default: return false;
  }
  if (kind != FLOE_TRANSFORM_IDENTITY && kind != FLOE_TRANSFORM_BUCKET && !order_preserving) return false;
  for (int32_t i = 0; i < q->n_values; i++) {
    floe_iceberg_value t;
    if (floe_iceberg_transform_apply(&pf->transform, src, &q->values[i], &t, NULL) < 0) {
      projected_free(out);
      return false;
    }
    /* Time transforms of pre-1970 values: older writers rounded them
     * towards zero; project nothing rather than risk a wrong prune. */
    if (time && !t.is_null && t.v.i32 < 0) {
      floe_iceberg_value_free(&t);
      projected_free(out);
      return false;
    }
    out->lits[out->n++] = t;
  }
  return true;
}

/* Whether some partition value in [lower, upper] (with nulls/NaNs as the
 * summary says) can satisfy a projected term. */
static bool summary_may_match(const projected *p, const floe_manifest_partition_summary *sum) {
  if (p->op == FLOE_SCAN_IS_NULL) return sum->contains_null;
  if (sum->lower_bound == NULL || sum->upper_bound == NULL) {
    /* Iceberg spec: field_summary bounds are null when every value is null
     * or NaN: nothing non-null can match a comparison. */
    if (p->op == FLOE_SCAN_NOT_NULL) return !sum->contains_null || (sum->has_contains_nan && sum->contains_nan);
    if (p->op == FLOE_SCAN_NE) return true;
    return false;
  }
  if (p->op == FLOE_SCAN_NOT_NULL || p->op == FLOE_SCAN_NE) return true;
  floe_iceberg_value lo, hi;
  if (floe_iceberg_value_from_binary(&p->type, sum->lower_bound, sum->lower_bound_len, &lo, NULL) < 0 ||
      floe_iceberg_value_from_binary(&p->type, sum->upper_bound, sum->upper_bound_len, &hi, NULL) < 0)
    return true;
  if (value_is_nan(&p->type, &lo) || value_is_nan(&p->type, &hi)) return true;
  for (int32_t i = 0; i < p->n; i++) {
    const floe_iceberg_value *v = &p->lits[i];
    if (v->is_null) continue;
    int cl = value_cmp(&p->type, v, &lo), ch = value_cmp(&p->type, v, &hi);
    switch (p->op) {
      case FLOE_SCAN_EQ:
      case FLOE_SCAN_IN:
        if (cl >= 0 && ch <= 0) return true;
        break;
      case FLOE_SCAN_LT: return cl > 0;  /* lower < v */
      case FLOE_SCAN_LE: return cl >= 0; /* lower <= v */
      case FLOE_SCAN_GT: return ch < 0;  /* upper > v */
      case FLOE_SCAN_GE: return ch <= 0; /* upper >= v */
      default: return true;
    }
  }
  return false;
}

/* Whether a file's partition value can satisfy a projected term. */
static bool partition_may_match(const projected *p, const floe_iceberg_value *value) {
  if (p->op == FLOE_SCAN_IS_NULL) return value->is_null;
  if (p->op == FLOE_SCAN_NOT_NULL) return !value->is_null;
  if (value->is_null) return false;
  if (value_is_nan(&p->type, value)) return p->op == FLOE_SCAN_NE;
  for (int32_t i = 0; i < p->n; i++) {
    if (p->lits[i].is_null) continue;
    if (op_holds(p->op, value_cmp(&p->type, value, &p->lits[i]))) return true;
  }
  return false;
}

static bool manifest_may_match(floe_scan *s, const floe_manifest_file *mf) {
  if (s->n_filter == 0 || mf->partitions == NULL) return true;
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(s->metadata, mf->partition_spec_id);
  if (spec == NULL || mf->n_partitions != spec->n_fields) return true;
  for (int32_t t = 0; t < s->n_filter; t++) {
    for (int32_t k = 0; k < spec->n_fields; k++) {
      projected p;
      if (!project_term(&s->filter[t], &spec->fields[k], &p)) continue;
      bool may = summary_may_match(&p, &mf->partitions[k]);
      projected_free(&p);
      if (!may) return false;
    }
  }
  return true;
}

static bool is_identity_source(const floe_iceberg_partition_spec *spec, int32_t field_id) {
  for (int32_t k = 0; spec != NULL && k < spec->n_fields; k++)
    if (spec->fields[k].transform.kind == FLOE_TRANSFORM_IDENTITY && spec->fields[k].source_id == field_id)
      return true;
  return false;
}

/* Column metrics (Iceberg spec: Appendix D bounds; inclusive evaluation as
 * the reference implementation's InclusiveMetricsEvaluator). */
static bool metrics_may_match(const scan_pred *q, const floe_iceberg_column_metrics *m) {
  const floe_iceberg_type *t = &q->field->type;
  bool all_null = m->has_value_count && m->has_null_count && m->value_count == m->null_count;
  switch (q->op) {
    case FLOE_SCAN_IS_NULL: return !(m->has_null_count && m->null_count == 0);
    case FLOE_SCAN_NOT_NULL: return !all_null;
    case FLOE_SCAN_NE: return true;
    default: break;
  }
  if (all_null) return false;
  for (int32_t i = 0; i < q->n_values; i++)
    if (value_is_nan(t, &q->values[i])) return true;
  floe_iceberg_value lo, hi;
  bool has_lo = m->lower_bound != NULL &&
                floe_iceberg_value_from_binary(t, m->lower_bound, m->lower_bound_len, &lo, NULL) == FLOE_OK &&
                !value_is_nan(t, &lo);
  bool has_hi = m->upper_bound != NULL &&
                floe_iceberg_value_from_binary(t, m->upper_bound, m->upper_bound_len, &hi, NULL) == FLOE_OK &&
                !value_is_nan(t, &hi);
  for (int32_t i = 0; i < q->n_values; i++) {
    const floe_iceberg_value *v = &q->values[i];
    bool ok = true;
    switch (q->op) {
      case FLOE_SCAN_EQ:
      case FLOE_SCAN_IN:
        if (has_lo && value_cmp(t, v, &lo) < 0) ok = false;
        if (has_hi && value_cmp(t, v, &hi) > 0) ok = false;
        break;
      case FLOE_SCAN_LT: ok = !(has_lo && value_cmp(t, &lo, v) >= 0); break;
      case FLOE_SCAN_LE: ok = !(has_lo && value_cmp(t, &lo, v) > 0); break;
      case FLOE_SCAN_GT: ok = !(has_hi && value_cmp(t, &hi, v) <= 0); break;
      case FLOE_SCAN_GE: ok = !(has_hi && value_cmp(t, &hi, v) < 0); break;
      default: break;
    }
    if (ok) return true;
  }
  return false;
}

static bool data_file_may_match(floe_scan *s, const floe_iceberg_content_file *f) {
  if (s->n_filter == 0) return true;
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(s->metadata, f->spec_id);
  for (int32_t t = 0; t < s->n_filter; t++) {
    const scan_pred *q = &s->filter[t];
    if (spec != NULL && f->partition != NULL && f->n_partition == spec->n_fields) {
      for (int32_t k = 0; k < spec->n_fields; k++) {
        projected p;
        if (!project_term(q, &spec->fields[k], &p)) continue;
        bool may = partition_may_match(&p, &f->partition[k]);
        projected_free(&p);
        if (!may) return false;
      }
    }
    /* Identity-partition columns read their value from the partition
     * tuple, not the file: the file's metrics do not describe them. */
    if (spec == NULL || is_identity_source(spec, q->field->id)) continue;
    for (int32_t c = 0; c < f->n_columns; c++)
      if (f->columns[c].field_id == q->field->id && !metrics_may_match(q, &f->columns[c])) return false;
  }
  return true;
}

/* ==== planning ============================================================ */

static int add_task(floe_scan *s, const floe_manifest_entry *e, floe_error *err) {
  floe_scan_plan_info *p = &s->plan;
  if (p->n_tasks == s->cap_tasks) {
    int32_t cap = s->cap_tasks ? s->cap_tasks * 2 : 16;
    floe_scan_task *grown = floe_realloc(p->tasks, sizeof *grown * (size_t)cap);
    if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "scan plan: out of memory");
    p->tasks = grown;
    s->cap_tasks = cap;
  }
  floe_scan_task *t = &p->tasks[p->n_tasks];
  memset(t, 0, sizeof *t);
  int rc = floe_iceberg_content_file_copy(&t->file, &e->file, err);
  if (rc < 0) return rc;
  t->data_sequence_number = e->has_sequence_number ? e->sequence_number : 0;
  t->file_sequence_number = e->has_file_sequence_number ? e->file_sequence_number : 0;
  p->n_tasks++;
  return FLOE_OK;
}

static int add_delete(floe_scan *s, const floe_manifest_entry *e, floe_error *err) {
  floe_scan_plan_info *p = &s->plan;
  if (p->n_delete_files == s->cap_deletes) {
    int32_t cap = s->cap_deletes ? s->cap_deletes * 2 : 16;
    floe_scan_delete_file *grown = floe_realloc(p->delete_files, sizeof *grown * (size_t)cap);
    if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "scan plan: out of memory");
    p->delete_files = grown;
    s->cap_deletes = cap;
  }
  floe_scan_delete_file *d = &p->delete_files[p->n_delete_files];
  memset(d, 0, sizeof *d);
  int rc = floe_iceberg_content_file_copy(&d->file, &e->file, err);
  if (rc < 0) return rc;
  d->data_sequence_number = e->has_sequence_number ? e->sequence_number : 0;
  d->file_sequence_number = e->has_file_sequence_number ? e->file_sequence_number : 0;
  d->is_deletion_vector = e->file.content == FLOE_CONTENT_POSITION_DELETES && e->file.file_format != NULL &&
                          strcasecmp(e->file.file_format, "PUFFIN") == 0;
  p->n_delete_files++;
  return FLOE_OK;
}

static int read_manifest(floe_scan *s, const char *manifest_path, const floe_manifest_file *list_entry,
                         floe_error *err) {
  int rc = FLOE_OK;
  char *path = NULL;
  floe_manifest_reader *reader = NULL;
  FLOE_TRY(floe_scan_remap_path(s->location_from, s->location_to, manifest_path, &path, err));
  FLOE_TRY(floe_manifest_reader_open(&reader, s->io, path, list_entry, s->metadata, err));
  for (;;) {
    const floe_manifest_entry *e = NULL;
    FLOE_TRY(floe_manifest_reader_next(reader, &e, err));
    if (e == NULL) break;
    if (e->status == FLOE_ENTRY_DELETED) continue;
    if (e->file.content == FLOE_CONTENT_DATA) {
      s->plan.data_files_total++;
      if (!data_file_wanted(s, e->file.file_path) || !data_file_may_match(s, &e->file)) {
        s->plan.data_files_pruned++;
        continue;
      }
      FLOE_TRY(add_task(s, e, err));
    } else {
      FLOE_TRY(add_delete(s, e, err));
    }
  }
cleanup:
  if (rc < 0) floe_error_prefix(err, "manifest %s", manifest_path);
  floe_manifest_reader_free(reader);
  floe_free(path);
  return rc;
}

/* Same spec and equal partition tuple (Iceberg spec: Scan Planning). */
static bool same_partition(floe_scan *s, const floe_iceberg_content_file *a, const floe_iceberg_content_file *b) {
  if (a->spec_id != b->spec_id || a->n_partition != b->n_partition) return false;
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(s->metadata, a->spec_id);
  const floe_iceberg_schema *types = spec ? spec_type(s, spec) : NULL;
  for (int32_t k = 0; k < a->n_partition; k++) {
    const floe_iceberg_value *x = &a->partition[k], *y = &b->partition[k];
    if (types != NULL && k < types->root.n_fields) {
      if (!floe_iceberg_value_equal(&types->root.fields[k].type, x, y)) return false;
      continue;
    }
    /* Unknown type: compare every representation. */
    if (x->is_null != y->is_null) return false;
    if (x->is_null) continue;
    if (x->len != y->len || (x->len && memcmp(x->bytes, y->bytes, x->len) != 0) ||
        memcmp(&x->v, &y->v, sizeof x->v) != 0)
      return false;
  }
  return true;
}

static bool spec_unpartitioned(floe_scan *s, int32_t spec_id) {
  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(s->metadata, spec_id);
  if (spec == NULL) return false;
  for (int32_t k = 0; k < spec->n_fields; k++)
    if (spec->fields[k].transform.kind != FLOE_TRANSFORM_VOID) return false;
  return true;
}

/* Whether `path` lies inside the delete file's file_path bounds. */
static bool path_in_bounds(const floe_iceberg_content_file *d, const char *path) {
  size_t len = strlen(path);
  for (int32_t c = 0; c < d->n_columns; c++) {
    const floe_iceberg_column_metrics *m = &d->columns[c];
    if (m->field_id != FLOE_DELETE_FIELD_ID_FILE_PATH) continue;
    if (m->lower_bound != NULL && bytes_cmp((const uint8_t *)path, len, m->lower_bound, m->lower_bound_len) < 0)
      return false;
    if (m->upper_bound != NULL && bytes_cmp((const uint8_t *)path, len, m->upper_bound, m->upper_bound_len) > 0)
      return false;
  }
  return true;
}

/* Iceberg spec: Scan Planning, which delete files apply to a data file. */
static bool delete_applies(floe_scan *s, const floe_scan_task *t, const floe_scan_delete_file *d) {
  const floe_iceberg_content_file *f = &d->file;
  if (f->content == FLOE_CONTENT_POSITION_DELETES) {
    if (t->data_sequence_number > d->data_sequence_number) return false;
    if (f->referenced_data_file != NULL) return strcmp(f->referenced_data_file, t->file.file_path) == 0;
    if (d->is_deletion_vector) return false; /* a DV always names its file */
    if (!path_in_bounds(f, t->file.file_path)) return false;
    return spec_unpartitioned(s, f->spec_id) || same_partition(s, &t->file, f);
  }
  if (t->data_sequence_number >= d->data_sequence_number) return false;
  return spec_unpartitioned(s, f->spec_id) || same_partition(s, &t->file, f);
}

static int attach_deletes(floe_scan *s, floe_error *err) {
  floe_scan_plan_info *p = &s->plan;
  if (p->n_delete_files == 0) return FLOE_OK;
  const floe_scan_delete_file **buf = floe_malloc(sizeof *buf * (size_t)p->n_delete_files);
  if (buf == NULL) return floe_error_set(err, FLOE_ENOMEM, "scan plan: out of memory");
  for (int32_t i = 0; i < p->n_tasks; i++) {
    floe_scan_task *t = &p->tasks[i];
    int32_t n = 0;
    for (int32_t k = 0; k < p->n_delete_files; k++)
      if (delete_applies(s, t, &p->delete_files[k])) buf[n++] = &p->delete_files[k];
    if (n == 0) continue;
    t->deletes = floe_malloc(sizeof *t->deletes * (size_t)n);
    if (t->deletes == NULL) {
      floe_free(buf);
      return floe_error_set(err, FLOE_ENOMEM, "scan plan: out of memory");
    }
    memcpy(t->deletes, buf, sizeof *buf * (size_t)n);
    t->n_deletes = n;
  }
  floe_free(buf);
  return FLOE_OK;
}

int floe_scan_plan(floe_scan *s, const floe_scan_plan_info **out, floe_error *err) {
  int rc = FLOE_OK;
  char *path = NULL;
  floe_manifest_list *list = NULL;
  if (s->planned) {
    *out = &s->plan;
    return FLOE_OK;
  }
  s->plan.schema_id = s->schema->schema_id;
  if (s->snapshot == NULL) {
    s->planned = true;
    *out = &s->plan;
    return FLOE_OK;
  }
  s->plan.has_snapshot = true;
  s->plan.snapshot_id = s->snapshot->snapshot_id;
  if (s->snapshot->manifest_list != NULL) {
    FLOE_TRY(floe_scan_remap_path(s->location_from, s->location_to, s->snapshot->manifest_list, &path, err));
    rc = floe_manifest_list_read(s->io, path, &list, err);
    if (rc < 0) {
      floe_error_prefix(err, "snapshot %lld: manifest list %s", (long long)s->snapshot->snapshot_id,
                        s->snapshot->manifest_list);
      goto cleanup;
    }
    s->plan.manifests_total = list->n_files;
    for (int32_t i = 0; i < list->n_files; i++) {
      const floe_manifest_file *mf = &list->files[i];
      if (!manifest_may_match(s, mf)) {
        s->plan.manifests_pruned++;
        continue;
      }
      FLOE_TRY(read_manifest(s, mf->manifest_path, mf, err));
    }
  } else {
    /* v1 snapshots may list manifests inline (Iceberg spec: Snapshots). */
    s->plan.manifests_total = s->snapshot->n_manifests;
    for (int32_t i = 0; i < s->snapshot->n_manifests; i++)
      FLOE_TRY(read_manifest(s, s->snapshot->manifests[i], NULL, err));
  }
  FLOE_TRY(attach_deletes(s, err));
  s->planned = true;
  *out = &s->plan;
cleanup:
  if (rc < 0) floe_error_prefix(err, "scan plan");
  floe_manifest_list_free(list);
  floe_free(path);
  return rc;
}

/* ==== reading ============================================================= */

/* Field id of a file column through the name mapping (files without ids;
 * Iceberg spec: Column Projection). */
static int32_t mapped_field_id(const floe_iceberg_name_mapping *mapping, const char *dotted) {
  char buf[1024];
  const char *parts[32];
  size_t n = strlen(dotted);
  if (n >= sizeof buf) return -1;
  memcpy(buf, dotted, n + 1);
  int32_t depth = 0;
  char *p = buf;
  parts[depth++] = p;
  for (; *p; p++) {
    if (*p == '.') {
      if (depth == 32) return -1;
      *p = '\0';
      parts[depth++] = p + 1;
    }
  }
  int32_t id = floe_iceberg_name_mapping_find(mapping, parts, depth);
  if (id < 0 && depth > 1) {
    const char *whole[1] = {dotted};
    id = floe_iceberg_name_mapping_find(mapping, whole, 1); /* a name with dots */
  }
  return id;
}

static int load_name_mapping(floe_scan *s, floe_error *err) {
  if (s->name_mapping_loaded) return FLOE_OK;
  s->name_mapping_loaded = true;
  const char *json = floe_iceberg_metadata_property(s->metadata, "schema.name-mapping.default");
  if (json == NULL) return FLOE_OK;
  int rc = floe_iceberg_name_mapping_parse(&s->name_mapping, json, strlen(json), err);
  if (rc < 0) floe_error_prefix(err, "table property schema.name-mapping.default");
  return rc;
}

static int add_work(file_state *f, int32_t field_id, int32_t *out_index) {
  for (int32_t i = 0; i < f->n_work; i++)
    if (f->work[i].field_id == field_id) {
      *out_index = i;
      return FLOE_OK;
    }
  work_col *grown = floe_realloc(f->work, sizeof *grown * (size_t)(f->n_work + 1));
  if (grown == NULL) return FLOE_ENOMEM;
  f->work = grown;
  memset(&f->work[f->n_work], 0, sizeof *f->work);
  f->work[f->n_work].field_id = field_id;
  f->work[f->n_work].constant = floe_iceberg_null_value();
  *out_index = f->n_work++;
  return FLOE_OK;
}

/* Whether this task's equality deletes are the ones loaded last. */
static bool same_eq_deletes(const floe_scan_task *a, const floe_scan_task *b) {
  if (a == NULL || b == NULL) return false;
  int32_t i = 0, j = 0;
  for (;;) {
    while (i < a->n_deletes && a->deletes[i]->file.content != FLOE_CONTENT_EQUALITY_DELETES) i++;
    while (j < b->n_deletes && b->deletes[j]->file.content != FLOE_CONTENT_EQUALITY_DELETES) j++;
    if (i == a->n_deletes || j == b->n_deletes) return i == a->n_deletes && j == b->n_deletes;
    if (a->deletes[i] != b->deletes[j]) return false;
    i++;
    j++;
  }
}

static int open_task(floe_scan *s, const floe_scan_task *task, floe_error *err) {
  int rc = FLOE_OK;
  file_state *f = &s->cur;
  int32_t *file_ids = NULL;
  const char **file_names = NULL;
  memset(f, 0, sizeof *f);
  s->file_open = true;
  f->task = task;
  FLOE_TRY(floe_scan_remap_path(s->location_from, s->location_to, task->file.file_path, &f->path, err));
  if (task->file.file_format != NULL && strcasecmp(task->file.file_format, "PARQUET") != 0) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED, "data file format %s is not supported (only Parquet)",
                        task->file.file_format);
    goto cleanup;
  }

  /* Deletes. */
  scan_positions_reset(&s->positions);
  FLOE_TRY(scan_positions_load(&s->positions, s->io, s->location_from, s->location_to, task, err));
  if (!s->ignore_equality_deletes && !same_eq_deletes(s->eq_task, task)) {
    scan_eq_deletes_reset(&s->eq);
    s->eq_task = NULL;
    FLOE_TRY(scan_eq_deletes_load(&s->eq, s->io, s->location_from, s->location_to, s->metadata, s->schema, task,
                                  err));
    s->eq_task = task;
  }

  FLOE_TRY(scan_open_parquet(s->io, f->path, &f->reader, err));

  /* The columns this file must supply. */
  f->proj_index = floe_calloc((size_t)s->n_proj + 1, sizeof *f->proj_index);
  f->pred_index = floe_calloc((size_t)s->n_filter + 1, sizeof *f->pred_index);
  f->eq_index = floe_calloc((size_t)s->eq.n_sets + 1, sizeof *f->eq_index);
  if (f->proj_index == NULL || f->pred_index == NULL || f->eq_index == NULL) goto nomem;
  for (int32_t i = 0; i < s->n_proj; i++)
    if (add_work(f, s->proj[i]->id, &f->proj_index[i]) < 0) goto nomem;
  for (int32_t i = 0; i < s->n_filter && !s->filter_prunes_only; i++) {
    if (add_work(f, s->filter[i].field->id, &f->pred_index[i]) < 0) goto nomem;
    f->work[f->pred_index[i]].for_rows = true;
  }
  for (int32_t k = 0; k < s->eq.n_sets; k++) {
    f->eq_index[k] = floe_calloc((size_t)s->eq.sets[k].n_ids, sizeof(int32_t));
    if (f->eq_index[k] == NULL) goto nomem;
    for (int32_t j = 0; j < s->eq.sets[k].n_ids; j++) {
      if (add_work(f, s->eq.sets[k].ids[j], &f->eq_index[k][j]) < 0) goto nomem;
      f->work[f->eq_index[k][j]].for_rows = true;
    }
  }

  /* Files without field ids are read through the name mapping. */
  int32_t n_cols = floe_parquet_reader_num_columns(f->reader);
  bool has_ids = false;
  for (int32_t c = 0; c < n_cols; c++)
    if (floe_parquet_reader_column(f->reader, c)->field_id >= 0) has_ids = true;
  if (!has_ids && n_cols > 0) {
    FLOE_TRY(load_name_mapping(s, err));
    if (s->name_mapping == NULL) {
      rc = floe_error_set(err, FLOE_EFORMAT,
                          "the file has no field ids and the table has no schema.name-mapping.default");
      goto cleanup;
    }
  }

  const floe_iceberg_partition_spec *spec = floe_iceberg_metadata_spec(s->metadata, task->file.spec_id);
  file_ids = floe_calloc((size_t)f->n_work + 1, sizeof *file_ids);
  file_names = floe_calloc((size_t)f->n_work + 1, sizeof *file_names);
  if (file_ids == NULL || file_names == NULL) goto nomem;
  int32_t n_file = 0;
  for (int32_t i = 0; i < f->n_work; i++) {
    work_col *w = &f->work[i];
    const floe_iceberg_field *field = scan_find_field(s->metadata, s->schema, w->field_id);
    if (field == NULL) {
      rc = floe_error_set(err, FLOE_EFORMAT, "field id %d is in no schema of the table", w->field_id);
      goto cleanup;
    }
    w->type = &field->type;
    /* Identity-partitioned columns come from the partition tuple, as the
     * reference implementation reads them (its constants map). */
    bool is_const = false;
    for (int32_t k = 0; spec != NULL && k < spec->n_fields; k++) {
      const floe_iceberg_partition_field *pf = &spec->fields[k];
      if (pf->transform.kind == FLOE_TRANSFORM_IDENTITY && pf->source_id == w->field_id &&
          k < task->file.n_partition && task->file.partition != NULL) {
        w->kind = COL_CONST;
        w->constant = task->file.partition[k]; /* borrowed from the plan */
        w->constant.owned = NULL;
        is_const = true;
        break;
      }
    }
    if (is_const) continue;
    w->is_list = is_primitive_list(w->type);
    w->nested = !floe_iceberg_type_is_primitive(w->type->id) && !w->is_list;
    if (w->nested && !has_ids) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "column '%s' (field id %d) is nested; floe reads nested columns by "
                          "field id and this file has none",
                          field->name, w->field_id);
      goto cleanup;
    }
    int32_t col = -1;
    if (has_ids) {
      col = floe_parquet_reader_find_field_id(f->reader, w->field_id);
    } else {
      for (int32_t c = 0; c < n_cols && col < 0; c++) {
        const floe_parquet_column_info *info = floe_parquet_reader_column(f->reader, c);
        if ((!info->nested || info->arrow_type.id == FLOE_ARROW_LIST) &&
            mapped_field_id(s->name_mapping, info->name) == w->field_id)
          col = c;
      }
    }
    const floe_parquet_column_info *info = col >= 0 ? floe_parquet_reader_column(f->reader, col) : NULL;
    if (info != NULL && w->nested) {
      /* The whole nested column; its layout is checked against the
       * table's once the file's Arrow schema is known (below). */
      w->kind = COL_FILE;
      w->file_type = info->arrow_type.id;
      w->bulk = true;
      w->batch_index = n_file;
      file_ids[n_file] = info->field_id;
      file_names[n_file] = info->name;
      n_file++;
      continue;
    }
    if (info != NULL && w->is_list) {
      /* A list of primitives: the file's must be a list whose elements
       * read as the table's element type (Iceberg spec: Schema Evolution
       * allows element promotions). */
      const floe_iceberg_type *elem = &w->type->fields[0].type;
      if (info->arrow_type.id != FLOE_ARROW_LIST || !scan_type_readable(elem, &info->element_type)) {
        char want[32], have[32];
        floe_iceberg_type_format(elem, want, sizeof want);
        floe_arrow_type_name(info->arrow_type.id == FLOE_ARROW_LIST ? &info->element_type : &info->arrow_type,
                             have, sizeof have);
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "column '%s' (field id %d) is %s%s in the file, cannot be read as list<%s>",
                            info->name, w->field_id, info->arrow_type.id == FLOE_ARROW_LIST ? "a list of " : "",
                            have, want);
        goto cleanup;
      }
      floe_arrow_type_info out_elem;
      FLOE_TRY(floe_iceberg_type_to_arrow(elem, &out_elem, err));
      w->kind = COL_FILE;
      w->file_type = FLOE_ARROW_LIST;
      w->file_element_type = info->element_type.id;
      w->bulk = floe_arrow_type_same_layout(&out_elem, &info->element_type);
      w->batch_index = n_file;
      file_ids[n_file] = info->field_id;
      file_names[n_file] = info->name;
      n_file++;
      continue;
    }
    if (info != NULL && !info->nested) {
      if (!scan_type_readable(w->type, &info->arrow_type)) {
        char want[32], have[32];
        floe_iceberg_type_format(w->type, want, sizeof want);
        floe_arrow_type_name(&info->arrow_type, have, sizeof have);
        rc = floe_error_set(err, FLOE_EFORMAT, "column '%s' (field id %d) is %s in the file, cannot be read as %s",
                            info->name, w->field_id, have, want);
        goto cleanup;
      }
      w->kind = COL_FILE;
      w->file_type = info->arrow_type.id;
      floe_arrow_type_info out_type;
      FLOE_TRY(floe_iceberg_type_to_arrow(w->type, &out_type, err));
      w->bulk = floe_arrow_type_same_layout(&out_type, &info->arrow_type);
      w->batch_index = n_file;
      file_ids[n_file] = info->field_id;
      file_names[n_file] = info->name;
      n_file++;
      continue;
    }
    /* Missing from the file (added later): the initial default, else null
     * (Iceberg spec: Schema Evolution, Default values). */
    w->kind = COL_CONST;
    if (field->initial_default_json != NULL) {
      rc = floe_iceberg_value_from_json(w->type, field->initial_default_json, strlen(field->initial_default_json),
                                        &w->constant, err);
      if (rc < 0) {
        floe_error_prefix(err, "column '%s' initial-default", field->name);
        goto cleanup;
      }
    }
  }
  /* A scan needs at least one column to count rows: read the first
   * readable one when every needed value is a constant. */
  if (n_file == 0) {
    for (int32_t c = 0; c < n_cols; c++) {
      const floe_parquet_column_info *info = floe_parquet_reader_column(f->reader, c);
      if (!info->nested && info->arrow_type.id != FLOE_ARROW_UNKNOWN) {
        file_ids[0] = info->field_id;
        file_names[0] = info->name;
        n_file = 1;
        break;
      }
    }
  }
  floe_parquet_scan_options opts;
  memset(&opts, 0, sizeof opts);
  bool by_id = has_ids;
  for (int32_t i = 0; i < n_file; i++)
    if (file_ids[i] < 0) by_id = false;
  if (by_id) {
    opts.field_ids = file_ids;
    opts.n_field_ids = n_file;
  } else {
    opts.names = file_names;
    opts.n_names = n_file;
  }
  opts.batch_size = s->batch_size;
  if (n_file > 0) {
    FLOE_TRY(floe_parquet_reader_scan_open(&f->pscan, f->reader, &opts, err));
    FLOE_TRY(floe_parquet_reader_scan_schema(f->pscan, &f->batch_schema, err));
    for (int32_t i = 0; i < f->n_work; i++) {
      const work_col *w = &f->work[i];
      if (!w->nested || w->kind != COL_FILE) continue;
      const floe_iceberg_field *field = scan_find_field(s->metadata, s->schema, w->field_id);
      struct ArrowSchema want;
      FLOE_TRY(floe_iceberg_field_to_arrow(field, &want, err));
      struct ArrowSchema *have = f->batch_schema.children[w->batch_index];
      if (nested_layout_matches(&want, have)) {
        floe_arrow_schema_release(&want);
        continue;
      }
      /* Written before the column's nested fields evolved: read level by
       * level into the table's layout. */
      char why[640];
      if (!nested_evolvable(&want, have, field->name, why, sizeof why)) {
        floe_arrow_schema_release(&want);
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "column '%s' (field id %d) cannot be read as the table's type: %s",
                            field->name, w->field_id, why);
        goto cleanup;
      }
      work_col *wm = &f->work[i];
      wm->evolve_want = floe_malloc(sizeof *wm->evolve_want);
      if (wm->evolve_want == NULL) {
        floe_arrow_schema_release(&want);
        goto nomem;
      }
      *wm->evolve_want = want;
      wm->evolve_have = have;
      wm->bulk = false;
    }
  }
  f->n_views = n_file;
  f->views = floe_calloc((size_t)n_file + 1, sizeof *f->views);
  f->row = floe_calloc((size_t)f->n_work + 1, sizeof *f->row);
  if (f->views == NULL || f->row == NULL) goto nomem;
  s->stats.files_read++;
cleanup:
  if (rc < 0) floe_error_prefix(err, "data file %s", task->file.file_path);
  floe_free(file_ids);
  floe_free(file_names);
  return rc;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  goto cleanup;
}

static bool row_matches(const scan_pred *q, const floe_iceberg_value *v) {
  if (q->op == FLOE_SCAN_IS_NULL) return v->is_null;
  if (q->op == FLOE_SCAN_NOT_NULL) return !v->is_null;
  if (v->is_null) return false;
  const floe_iceberg_type *t = &q->field->type;
  for (int32_t i = 0; i < q->n_values; i++) {
    const floe_iceberg_value *lit = &q->values[i];
    if (lit->is_null) continue;
    if (is_float_type(t->id)) {
      double x = as_double(t, v), y = as_double(t, lit);
      bool r;
      switch (q->op) {
        case FLOE_SCAN_EQ:
        case FLOE_SCAN_IN: r = x == y; break;
        case FLOE_SCAN_NE: r = x != y; break;
        case FLOE_SCAN_LT: r = x < y; break;
        case FLOE_SCAN_LE: r = x <= y; break;
        case FLOE_SCAN_GT: r = x > y; break;
        default: r = x >= y; break;
      }
      if (r) return true;
      continue;
    }
    if (op_holds(q->op, value_cmp(t, v, lit))) return true;
  }
  return false;
}

/* Appends value by value the kept rows of a file column that needs a
 * promotion (scan_value_widen) to builder b; lists per element. */
static int append_widened(const work_col *w, const floe_arrow_view *v, const uint8_t *keep, int64_t n,
                          int64_t first_row, floe_arrow_builder *b, floe_error *err) {
  int rc = FLOE_OK;
  floe_arrow_view child;
  const floe_iceberg_type *elem = w->is_list ? &w->type->fields[0].type : NULL;
  if (w->is_list) FLOE_TRY(floe_arrow_view_list_child(v, &child, err));
  for (int64_t r = 0; r < n; r++) {
    if (!keep[r]) continue;
    floe_iceberg_value value;
    if (!w->is_list || floe_arrow_view_is_null(v, r)) {
      if (w->is_list) {
        value = floe_iceberg_null_value();
      } else {
        scan_view_value(v, r, &value);
        rc = scan_value_widen(w->type, w->file_type, &value, err);
        if (rc < 0) {
          floe_error_prefix(err, "row %lld, field id %d", (long long)(first_row + r), w->field_id);
          goto cleanup;
        }
      }
      FLOE_TRY(floe_iceberg_value_append_arrow(w->type, &value, b, err));
      continue;
    }
    floe_arrow_builder *eb;
    int64_t start, end;
    floe_arrow_view_list_range(v, r, &start, &end);
    if ((rc = floe_arrow_builder_list_start(b, &eb)) < 0) goto fail;
    for (int64_t k = start; k < end; k++) {
      scan_view_value(&child, k, &value);
      rc = scan_value_widen(elem, w->file_element_type, &value, err);
      if (rc < 0) {
        floe_error_prefix(err, "row %lld, field id %d, element %lld", (long long)(first_row + r), w->field_id,
                          (long long)(k - start));
        goto cleanup;
      }
      FLOE_TRY(floe_iceberg_value_append_arrow(elem, &value, eb, err));
    }
    if ((rc = floe_arrow_builder_list_end(b)) < 0) goto fail;
  }
cleanup:
  return rc;
fail:
  return floe_error_set(err, rc, "field id %d: %s", w->field_id, floe_error_code_name(rc));
}

/* Appends the kept rows of one output column: runs of kept rows copied in
 * bulk when the layouts agree, constants repeated, promotions per value. */
static int append_column(floe_scan *s, const work_col *w, const uint8_t *keep, int64_t n, int64_t kept,
                         int64_t first_row, floe_arrow_builder *b, floe_error *err) {
  file_state *f = &s->cur;
  int rc = FLOE_OK;
  if (w->kind == COL_CONST) {
    if (w->constant.is_null) {
      rc = floe_arrow_builder_append_nulls(b, kept);
      return rc < 0 ? floe_error_set(err, rc, "out of memory") : FLOE_OK;
    }
    for (int64_t k = 0; k < kept; k++) FLOE_TRY(floe_iceberg_value_append_arrow(w->type, &w->constant, b, err));
    return FLOE_OK;
  }
  const floe_arrow_view *v = &f->views[w->batch_index];
  if (w->evolve_want != NULL) {
    for (int64_t r = 0; r < n; r++) {
      if (!keep[r]) continue;
      rc = nested_append_evolved(b, w->evolve_want, w->evolve_have, v, r);
      if (rc < 0)
        return floe_error_set(err, rc, "field id %d, row %lld: %s", w->field_id, (long long)(first_row + r),
                              floe_error_code_name(rc));
    }
    return FLOE_OK;
  }
  if (!w->bulk) return append_widened(w, v, keep, n, first_row, b, err);
  for (int64_t r = 0; r < n;) {
    if (!keep[r]) {
      r++;
      continue;
    }
    int64_t e = r + 1;
    while (e < n && keep[e]) e++;
    rc = floe_arrow_builder_append_view(b, v, r, e - r);
    if (rc < 0)
      return floe_error_set(err, rc, "field id %d, rows %lld..%lld: %s", w->field_id, (long long)(first_row + r),
                            (long long)(first_row + e - 1), floe_error_code_name(rc));
    r = e;
  }
cleanup:
  return rc;
}

/* Runs the current file's next Parquet batch through deletes and the
 * filter into the builders. *out_end is set when the file is exhausted. */
static int process_batch(floe_scan *s, bool *out_end, floe_error *err) {
  int rc = FLOE_OK;
  file_state *f = &s->cur;
  struct ArrowArray batch = {0};
  floe_buf key = FLOE_BUF_INIT;
  int64_t first_row = 0;
  *out_end = false;
  if (f->pscan == NULL) {
    *out_end = true;
    return FLOE_OK;
  }
  FLOE_TRY(floe_parquet_reader_scan_next(f->pscan, &batch, &first_row, err));
  if (batch.release == NULL) {
    *out_end = true;
    goto cleanup;
  }
  for (int32_t i = 0; i < f->n_views; i++)
    FLOE_TRY(floe_arrow_view_init(&f->views[i], f->batch_schema.children[i], batch.children[i], err));
  int64_t n = batch.length;
  if (n > f->keep_cap) {
    uint8_t *grown = floe_realloc(f->keep, (size_t)n);
    if (grown == NULL) goto nomem;
    f->keep = grown;
    f->keep_cap = n;
  }
  uint8_t *keep = f->keep;
  bool no_positions = scan_positions_empty(&s->positions);
  int32_t n_row_filter = s->filter_prunes_only ? 0 : s->n_filter;
  bool per_row = s->eq.n_sets > 0 || n_row_filter > 0;
  int64_t kept = 0;
  s->stats.rows_read += n;
  /* Which rows survive: the caller's exclusions, position deletes,
   * equality deletes, the filter. */
  bool excluding = s->exclude_rows != NULL;
  if (excluding) {
    memset(keep, 1, (size_t)n);
    FLOE_TRY(s->exclude_rows(s->exclude_ctx, s->next_task - 1, first_row, n, keep, err));
  }
  for (int64_t r = 0; r < n; r++) {
    int64_t pos = first_row + r;
    if (excluding && !keep[r]) {
      s->stats.rows_excluded++;
      continue;
    }
    keep[r] = 0;
    if (!no_positions && scan_positions_contains(&s->positions, pos)) {
      s->stats.rows_deleted++;
      continue;
    }
    if (per_row) {
      for (int32_t i = 0; i < f->n_work; i++) {
        work_col *w = &f->work[i];
        if (!w->for_rows) continue;
        if (w->kind == COL_CONST) {
          f->row[i] = w->constant;
          continue;
        }
        scan_view_value(&f->views[w->batch_index], r, &f->row[i]);
        rc = scan_value_widen(w->type, w->file_type, &f->row[i], err);
        if (rc < 0) {
          floe_error_prefix(err, "row %lld, field id %d", (long long)pos, w->field_id);
          goto cleanup;
        }
      }
      bool deleted = false;
      for (int32_t k = 0; k < s->eq.n_sets && !deleted; k++) {
        const scan_eq_set *set = &s->eq.sets[k];
        floe_buf_reset(&key);
        for (int32_t j = 0; j < set->n_ids; j++)
          if (scan_key_append(&key, set->types[j], &f->row[f->eq_index[k][j]]) < 0) goto nomem;
        deleted = scan_eq_set_contains(set, key.data, key.len);
      }
      if (deleted) {
        s->stats.rows_eq_deleted++;
        continue;
      }
      bool match = true;
      for (int32_t t = 0; t < n_row_filter && match; t++)
        match = row_matches(&s->filter[t], &f->row[f->pred_index[t]]);
      if (!match) {
        s->stats.rows_filtered++;
        continue;
      }
    }
    keep[r] = 1;
    kept++;
  }
  if (kept == 0) goto cleanup;
  /* The surviving rows, column by column. */
  for (int32_t i = 0; i < s->n_proj; i++)
    FLOE_TRY(append_column(s, &f->work[f->proj_index[i]], keep, n, kept, first_row, &s->builder.columns[i], err));
  int64_t k = s->n_proj;
  if (s->with_file) {
    const char *path = f->task->file.file_path;
    size_t len = strlen(path);
    floe_arrow_builder *b = &s->builder.columns[k++];
    if (floe_arrow_builder_reserve(b, kept, len * (size_t)kept) < 0) goto nomem;
    for (int64_t r = 0; r < n; r++)
      if (keep[r] && floe_arrow_builder_append_bytes(b, path, len) < 0) goto nomem;
  }
  if (s->with_pos) {
    floe_arrow_builder *b = &s->builder.columns[k++];
    if (floe_arrow_builder_reserve(b, kept, 0) < 0) goto nomem;
    for (int64_t r = 0; r < n; r++)
      if (keep[r] && floe_arrow_builder_append_int64(b, first_row + r) < 0) goto nomem;
  }
  s->stats.rows_returned += kept;
cleanup:
  if (rc < 0) floe_error_prefix(err, "data file %s", f->task->file.file_path);
  floe_arrow_array_release(&batch);
  floe_buf_free(&key);
  return rc;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  goto cleanup;
}

static int64_t builder_rows(const floe_scan *s, int64_t pending_no_columns) {
  return s->builder.n_columns > 0 ? s->builder.columns[0].length : pending_no_columns;
}

int32_t floe_scan_batch_task(const floe_scan *s) { return s != NULL ? s->batch_task : -1; }

int floe_scan_next(floe_scan *s, struct ArrowArray *out, floe_error *err) {
  int rc = FLOE_OK;
  memset(out, 0, sizeof *out);
  const floe_scan_plan_info *plan = NULL;
  FLOE_TRY(floe_scan_plan(s, &plan, err));
  int64_t returned_before = s->stats.rows_returned;
  for (;;) {
    if (!s->file_open) {
      if (s->next_task >= plan->n_tasks) break;
      FLOE_TRY(open_task(s, &plan->tasks[s->next_task++], err));
    }
    bool end = false;
    FLOE_TRY(process_batch(s, &end, err));
    if (end) {
      file_state_close(s, &s->cur);
      s->file_open = false;
    }
    if (builder_rows(s, s->stats.rows_returned - returned_before) > 0) break;
  }
  int64_t n = builder_rows(s, s->stats.rows_returned - returned_before);
  if (n == 0) return FLOE_OK; /* end of scan: out->release == NULL */
  s->batch_task = s->next_task - 1; /* the rows are of the task opened last */
  if (s->builder.n_columns > 0)
    FLOE_TRY(floe_arrow_batch_builder_finish(&s->builder, out, err));
  else if (floe_arrow_struct_from_children(out, NULL, 0, n) < 0)
    rc = floe_error_set(err, FLOE_ENOMEM, "scan: out of memory");
cleanup:
  if (rc < 0 && s->file_open) {
    file_state_close(s, &s->cur);
    s->file_open = false;
  }
  return rc;
}
