/*
 * replicate/quality: the data-quality checks of a table (tables.<t>.checks),
 * run on a unit's rows as they stream from the source to the writer, before
 * anything of the unit is committed.
 *
 * Row checks (not_null, unique, accepted_values, range, regex) look at each
 * batch once: a failing row is counted, its value kept as a sample (the
 * first few distinct ones) and, when the caller asks, marked in a per-row
 * array so the engine can route it to the quarantine table. Unit checks
 * (row_count, freshness) are decided when the unit's rows are all read:
 * row_count against absolute bounds and against the median of the table's
 * last loads (the volume guard), freshness against the newest value of a
 * date or timestamp column. Values are compared as floe renders them
 * (floe_arrow_view_format) except numbers in range checks, which compare as
 * numbers; so accepted_values and regex see "12.50" for a decimal(10,2).
 *
 * Rows a change-capture unit deletes carry only their key, so row checks
 * skip them. `unique` keeps every distinct value of the unit in a hash set:
 * its memory grows with the unit's distinct values (the one check that
 * does). Counts accumulate over the units of a run for the report; the
 * decision to stop a unit looks at that unit's counts only.
 *
 * `unique` means what the table's mode makes of it (docs/config.md). On a
 * merge table a key changes several times in a load by design, and the
 * merge keeps the last change by its ordering (batch, then sequence); so a
 * unique check on a merge key column counts the rows the merge cannot
 * order — a key whose ordering values equal an earlier row's (a tie) — by
 * adding the whole key and the ordering values to what the set holds.
 * `scope: table` (append tables) also looks the unit's values up in the
 * target table before the commit: one scan of that column, each value
 * probed against the unit's set, so memory stays that of the unit.
 */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replicate/engine_internal.h"
#include "floe/scan.h"

#define MAX_SAMPLES 5
#define FLOE_QUALITY_TIE_COLUMNS 8

typedef struct str_set {
  char **slots;
  size_t cap, n;
} str_set;

typedef struct check_state {
  const floe_config_check *cfg;
  int64_t column;      /* batch child index; -1 for row_count */
  regex_t re;
  bool re_ok;
  bool numeric_bounds; /* range: compare as numbers */
  double min, max;
  str_set seen;        /* unique */
  /* unique on a merge key: the key columns and ordering columns whose
   * values join the column's in the set (the batch's views, per batch). */
  int64_t tie_cols[FLOE_QUALITY_TIE_COLUMNS];
  size_t n_tie_cols;
  floe_arrow_view tie_views[FLOE_QUALITY_TIE_COLUMNS];
  int64_t table_failing; /* scope: table: unit values already in the table */
  bool has_newest;     /* freshness: newest value in micros since epoch */
  int64_t newest_us;
  int64_t unit_failing;
  int64_t total_failing;
  int64_t units;
  char *samples[MAX_SAMPLES];
  size_t n_samples;
  char *detail;        /* unit checks: what was measured */
} check_state;

struct floe_quality {
  size_t n;
  check_state *checks;
  int64_t op_column; /* change capture: rows whose op is delete_value are skipped */
  char *delete_value;
  int64_t unit_rows;
};

/* ---- a set of strings (unique) ------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
  return h;
}

static void set_clear(str_set *s) {
  for (size_t i = 0; i < s->cap; i++) floe_free(s->slots[i]);
  floe_free(s->slots);
  memset(s, 0, sizeof *s);
}

/* Adds text; *dup true when it was there already. */
static int set_add(str_set *s, const char *text, bool *dup) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    char **slots = floe_calloc(ncap, sizeof *slots);
    if (slots == NULL) return FLOE_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
      if (s->slots[i] == NULL) continue;
      size_t j = hash_bytes(s->slots[i], strlen(s->slots[i])) & (ncap - 1);
      while (slots[j] != NULL) j = (j + 1) & (ncap - 1);
      slots[j] = s->slots[i];
    }
    floe_free(s->slots);
    s->slots = slots;
    s->cap = ncap;
  }
  size_t j = hash_bytes(text, strlen(text)) & (s->cap - 1);
  while (s->slots[j] != NULL) {
    if (strcmp(s->slots[j], text) == 0) {
      *dup = true;
      return FLOE_OK;
    }
    j = (j + 1) & (s->cap - 1);
  }
  s->slots[j] = floe_strdup(text);
  if (s->slots[j] == NULL) return FLOE_ENOMEM;
  s->n++;
  *dup = false;
  return FLOE_OK;
}

static bool set_contains(const str_set *s, const char *text) {
  if (s->cap == 0) return false;
  size_t j = hash_bytes(text, strlen(text)) & (s->cap - 1);
  for (; s->slots[j] != NULL; j = (j + 1) & (s->cap - 1))
    if (strcmp(s->slots[j], text) == 0) return true;
  return false;
}

/* ---- opening --------------------------------------------------------------- */

static bool parse_number(const char *text, double *out) {
  char *end = NULL;
  if (text == NULL) return false;
  *out = strtod(text, &end);
  return end != text && *end == '\0';
}

static bool is_number_type(floe_arrow_type id) {
  return id == FLOE_ARROW_INT32 || id == FLOE_ARROW_INT64 || id == FLOE_ARROW_FLOAT ||
         id == FLOE_ARROW_DOUBLE || id == FLOE_ARROW_DECIMAL128 || id == FLOE_ARROW_UINT64;
}

static bool is_time_type(floe_arrow_type id) {
  return id == FLOE_ARROW_DATE32 || id == FLOE_ARROW_TIMESTAMP_US ||
         id == FLOE_ARROW_TIMESTAMP_US_TZ || id == FLOE_ARROW_TIMESTAMP_NS ||
         id == FLOE_ARROW_TIMESTAMP_NS_TZ;
}

int floe_quality_open(floe_quality **out, const floe_config_check *checks, size_t n,
                      const floe_source_table *desc, int64_t op_column, const char *delete_value,
                      floe_error *err) {
  *out = NULL;
  floe_quality *q = floe_calloc(1, sizeof *q);
  int rc = FLOE_OK;
  if (q == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  q->checks = floe_calloc(n ? n : 1, sizeof *q->checks);
  if (q->checks == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  q->n = n;
  q->op_column = op_column;
  if (delete_value != NULL && (q->delete_value = floe_strdup(delete_value)) == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    check_state *c = &q->checks[i];
    const floe_config_check *k = &checks[i];
    c->cfg = k;
    c->column = -1;
    if (k->type == FLOE_CHECK_ROW_COUNT) continue;
    c->column = floe_schema_find_column(desc, k->column);
    if (c->column < 0) {
      rc = floe_error_set(err, FLOE_EINVAL, "check %s: column '%s' is not a column of the source",
                          k->name, k->column);
      goto cleanup;
    }
    floe_arrow_type id = desc->columns[c->column].type.id;
    if (k->type == FLOE_CHECK_REGEX) {
      if (regcomp(&c->re, k->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        rc = floe_error_set(err, FLOE_EINVAL, "check %s: pattern '%s' is not a POSIX extended regex",
                            k->name, k->pattern);
        goto cleanup;
      }
      c->re_ok = true;
    } else if (k->type == FLOE_CHECK_RANGE && is_number_type(id)) {
      c->numeric_bounds = true;
      c->min = -INFINITY;
      c->max = INFINITY;
      if ((k->min != NULL && !parse_number(k->min, &c->min)) ||
          (k->max != NULL && !parse_number(k->max, &c->max))) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "check %s: column '%s' holds numbers and the bounds are not numbers "
                            "(min %s, max %s)",
                            k->name, k->column, k->min ? k->min : "none",
                            k->max ? k->max : "none");
        goto cleanup;
      }
    } else if (k->type == FLOE_CHECK_FRESHNESS && !is_time_type(id)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "check %s: freshness needs a date or timestamp column, and '%s' is "
                          "declared '%s'",
                          k->name, k->column, desc->columns[c->column].declared_type);
      goto cleanup;
    }
  }
  *out = q;
  q = NULL;
cleanup:
  floe_quality_free(q);
  return rc;
}

void floe_quality_free(floe_quality *q) {
  if (q == NULL) return;
  for (size_t i = 0; i < q->n; i++) {
    check_state *c = &q->checks[i];
    if (c->re_ok) regfree(&c->re);
    set_clear(&c->seen);
    for (size_t s = 0; s < c->n_samples; s++) floe_free(c->samples[s]);
    floe_free(c->detail);
  }
  floe_free(q->checks);
  floe_free(q->delete_value);
  floe_free(q);
}

void floe_quality_begin_unit(floe_quality *q) {
  q->unit_rows = 0;
  for (size_t i = 0; i < q->n; i++) {
    check_state *c = &q->checks[i];
    c->unit_failing = 0;
    c->table_failing = 0;
    c->has_newest = false;
    set_clear(&c->seen);
    c->units++;
  }
}

/* ---- row checks -------------------------------------------------------------- */

static int add_sample(check_state *c, const char *text) {
  if (c->n_samples >= MAX_SAMPLES) return FLOE_OK;
  for (size_t i = 0; i < c->n_samples; i++)
    if (strcmp(c->samples[i], text) == 0) return FLOE_OK;
  char *copy = floe_strdup(text);
  if (copy == NULL) return FLOE_ENOMEM;
  c->samples[c->n_samples++] = copy;
  return FLOE_OK;
}

static double number_at(const floe_arrow_view *v, int64_t i) {
  switch (v->type.id) {
    case FLOE_ARROW_INT32: return floe_arrow_view_int32(v, i);
    case FLOE_ARROW_INT64: return (double)floe_arrow_view_int64(v, i);
    case FLOE_ARROW_UINT64: return (double)(uint64_t)floe_arrow_view_int64(v, i);
    case FLOE_ARROW_FLOAT: return floe_arrow_view_float(v, i);
    case FLOE_ARROW_DOUBLE: return floe_arrow_view_double(v, i);
    case FLOE_ARROW_DECIMAL128:
      return (double)floe_arrow_view_decimal(v, i) / pow(10.0, v->type.scale);
    default: return 0;
  }
}

/* Microseconds since the epoch of a date or timestamp value. */
static int64_t micros_at(const floe_arrow_view *v, int64_t i) {
  switch (v->type.id) {
    case FLOE_ARROW_DATE32: return (int64_t)floe_arrow_view_int32(v, i) * 86400 * 1000000;
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ: return floe_arrow_view_int64(v, i) / 1000;
    default: return floe_arrow_view_int64(v, i);
  }
}

/* Whether row i passes check c; *text gets the value as rendered. */
static int row_passes(check_state *c, const floe_arrow_view *v, int64_t i, floe_buf *text,
                      bool *pass) {
  const floe_config_check *k = c->cfg;
  bool is_null = floe_arrow_view_is_null(v, i);
  text->len = 0;
  if (floe_arrow_view_format(v, i, text) < 0 || floe_buf_terminate(text) < 0) return FLOE_ENOMEM;
  const char *s = (const char *)text->data;
  *pass = true;
  switch (k->type) {
    case FLOE_CHECK_NOT_NULL: *pass = !is_null; break;
    case FLOE_CHECK_UNIQUE: {
      if (is_null) break;
      bool dup = false;
      if (c->n_tie_cols > 0) {
        /* The key and its ordering values, unit-separated; the sample
         * stays the column's value. */
        floe_buf key;
        floe_buf_init(&key);
        int rc = floe_buf_append_str(&key, s);
        for (size_t t = 0; t < c->n_tie_cols && rc == 0; t++) {
          rc |= floe_buf_append_byte(&key, 0x1f);
          if (!floe_arrow_view_is_null(&c->tie_views[t], i))
            rc |= floe_arrow_view_format(&c->tie_views[t], i, &key);
        }
        rc |= floe_buf_terminate(&key);
        if (rc == 0) rc = set_add(&c->seen, (const char *)key.data, &dup);
        floe_buf_free(&key);
        if (rc != 0) return FLOE_ENOMEM;
      } else if (set_add(&c->seen, s, &dup) < 0) {
        return FLOE_ENOMEM;
      }
      *pass = !dup;
      break;
    }
    case FLOE_CHECK_ACCEPTED_VALUES:
      if (is_null) break;
      *pass = false;
      for (size_t j = 0; j < k->n_values && !*pass; j++) *pass = strcmp(k->values[j], s) == 0;
      break;
    case FLOE_CHECK_RANGE:
      if (is_null) break;
      if (c->numeric_bounds) {
        double x = number_at(v, i);
        *pass = x >= c->min && x <= c->max;
      } else {
        *pass = (k->min == NULL || strcmp(s, k->min) >= 0) &&
                (k->max == NULL || strcmp(s, k->max) <= 0);
      }
      break;
    case FLOE_CHECK_REGEX:
      if (is_null) break;
      *pass = regexec(&c->re, s, 0, NULL, 0) == 0;
      break;
    case FLOE_CHECK_FRESHNESS:
      if (is_null) break;
      {
        int64_t us = micros_at(v, i);
        if (!c->has_newest || us > c->newest_us) c->newest_us = us;
        c->has_newest = true;
      }
      break;
    default: break;
  }
  return FLOE_OK;
}

int floe_quality_add(floe_quality *q, const struct ArrowSchema *schema,
                     const struct ArrowArray *batch, uint16_t *bad, floe_error *err) {
  floe_buf text;
  floe_buf_init(&text);
  int rc = FLOE_OK;
  floe_arrow_view op;
  bool has_op = false;
  q->unit_rows += batch->length;
  if (q->op_column >= 0 && q->delete_value != NULL && q->op_column < batch->n_children) {
    FLOE_TRY(floe_arrow_view_init(&op, schema->children[q->op_column],
                                  batch->children[q->op_column], err));
    has_op = true;
  }
  for (size_t ci = 0; ci < q->n; ci++) {
    check_state *c = &q->checks[ci];
    if (c->column < 0) continue;
    if (c->column >= batch->n_children) {
      rc = floe_error_set(err, FLOE_EINVAL, "check %s: the batch has no column %lld",
                          c->cfg->name, (long long)c->column);
      goto cleanup;
    }
    floe_arrow_view v;
    FLOE_TRY(floe_arrow_view_init(&v, schema->children[c->column], batch->children[c->column],
                                  err));
    if (c->cfg->type == FLOE_CHECK_FRESHNESS && !is_time_type(v.type.id)) {
      rc = floe_error_set(err, FLOE_EINVAL, "check %s: freshness needs a date or timestamp column",
                          c->cfg->name);
      goto cleanup;
    }
    for (size_t t = 0; t < c->n_tie_cols; t++) {
      if (c->tie_cols[t] >= batch->n_children) {
        rc = floe_error_set(err, FLOE_EINVAL, "check %s: the batch has no column %lld",
                            c->cfg->name, (long long)c->tie_cols[t]);
        goto cleanup;
      }
      FLOE_TRY(floe_arrow_view_init(&c->tie_views[t], schema->children[c->tie_cols[t]],
                                    batch->children[c->tie_cols[t]], err));
    }
    for (int64_t i = 0; i < batch->length; i++) {
      if (has_op && !floe_arrow_view_is_null(&op, i)) {
        size_t len = 0;
        const uint8_t *b = floe_arrow_view_bytes(&op, i, &len);
        if (len == strlen(q->delete_value) && memcmp(b, q->delete_value, len) == 0) continue;
      }
      bool pass = true;
      if (row_passes(c, &v, i, &text, &pass) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      if (pass) continue;
      c->unit_failing++;
      c->total_failing++;
      if (add_sample(c, (const char *)text.data) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      if (bad != NULL && !c->cfg->warn && bad[i] == 0) bad[i] = (uint16_t)(ci + 1);
    }
  }
cleanup:
  floe_buf_free(&text);
  return rc;
}

/* ---- unique on a merge key, and against the table ------------------------------ */

static int set_detail(check_state *c, const char *text);

int floe_quality_set_merge_key(floe_quality *q, const int64_t *key_cols, size_t n_keys,
                               const int64_t *order_cols, size_t n_order, floe_error *err) {
  for (size_t ci = 0; ci < q->n; ci++) {
    check_state *c = &q->checks[ci];
    if (c->cfg->type != FLOE_CHECK_UNIQUE) continue;
    bool on_key = false;
    for (size_t k = 0; k < n_keys; k++) on_key |= key_cols[k] == c->column;
    if (!on_key) continue;
    c->n_tie_cols = 0;
    for (size_t k = 0; k < n_keys + n_order; k++) {
      int64_t col = k < n_keys ? key_cols[k] : order_cols[k - n_keys];
      if (col < 0 || col == c->column) continue;
      if (c->n_tie_cols == FLOE_QUALITY_TIE_COLUMNS)
        return floe_error_set(err, FLOE_EUNSUPPORTED,
                              "check %s: a merge key of more than %d columns", c->cfg->name,
                              FLOE_QUALITY_TIE_COLUMNS);
      c->tie_cols[c->n_tie_cols++] = col;
    }
    /* A key column alone would pass every row of a key changed once per
     * batch; with no ordering column every repeat is a tie (arrival order
     * decides): the plain check. */
  }
  return FLOE_OK;
}

bool floe_quality_wants_table(const floe_quality *q) {
  for (size_t i = 0; q != NULL && i < q->n; i++)
    if (q->checks[i].cfg->type == FLOE_CHECK_UNIQUE && q->checks[i].cfg->scope_table) return true;
  return false;
}

int floe_quality_check_table(floe_quality *q, const floe_iceberg_metadata *md, floe_io *io,
                             const int32_t *field_ids, floe_error *err) {
  int rc = FLOE_OK;
  floe_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  floe_buf text;
  floe_buf_init(&text);
  for (size_t ci = 0; ci < q->n; ci++) {
    check_state *c = &q->checks[ci];
    if (c->cfg->type != FLOE_CHECK_UNIQUE || !c->cfg->scope_table || c->seen.n == 0) continue;
    int32_t field_id = field_ids[c->column];
    if (field_id <= 0) continue; /* not written to the table */
    floe_free(c->detail);
    c->detail = NULL;
    floe_scan_options so;
    memset(&so, 0, sizeof so);
    so.field_ids = &field_id;
    so.n_field_ids = 1;
    FLOE_TRY(floe_scan_open(&scan, md, io, &so, err));
    FLOE_TRY(floe_scan_schema(scan, &schema, err));
    for (;;) {
      FLOE_TRY(floe_scan_next(scan, &batch, err));
      if (batch.release == NULL) break;
      floe_arrow_view v;
      FLOE_TRY(floe_arrow_view_init(&v, schema.children[0], batch.children[0], err));
      for (int64_t i = 0; i < batch.length; i++) {
        if (floe_arrow_view_is_null(&v, i)) continue;
        text.len = 0;
        if (floe_arrow_view_format(&v, i, &text) < 0 || floe_buf_terminate(&text) < 0) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
        if (!set_contains(&c->seen, (const char *)text.data)) continue;
        c->table_failing++;
        c->unit_failing++;
        c->total_failing++;
        if (add_sample(c, (const char *)text.data) < 0) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
      floe_arrow_array_release(&batch);
    }
    if (c->table_failing > 0) {
      char detail[160];
      snprintf(detail, sizeof detail, "%lld value(s) of the load already in the table",
               (long long)c->table_failing);
      if (set_detail(c, detail) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
    floe_arrow_schema_release(&schema);
    floe_scan_free(scan);
    scan = NULL;
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_scan_free(scan);
  floe_buf_free(&text);
  if (rc < 0) floe_error_prefix(err, "unique against the table");
  return rc;
}

/* ---- unit checks -------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int set_detail(check_state *c, const char *text) {
  floe_free(c->detail);
  c->detail = floe_strdup(text);
  return c->detail != NULL ? FLOE_OK : FLOE_ENOMEM;
}

int floe_quality_finish(floe_quality *q, const int64_t *recent, size_t n_recent, int64_t now_us,
                        floe_error *err) {
  char detail[256];
  for (size_t ci = 0; ci < q->n; ci++) {
    check_state *c = &q->checks[ci];
    const floe_config_check *k = c->cfg;
    bool fail = false;
    detail[0] = '\0';
    if (k->type == FLOE_CHECK_ROW_COUNT) {
      int64_t rows = q->unit_rows;
      int n = snprintf(detail, sizeof detail, "rows %lld", (long long)rows);
      if (k->min_rows >= 0 && rows < k->min_rows) fail = true;
      if (k->max_rows >= 0 && rows > k->max_rows) fail = true;
      if (k->min_rows >= 0)
        n += snprintf(detail + n, sizeof detail - (size_t)n, ", min %lld", (long long)k->min_rows);
      if (k->max_rows >= 0)
        n += snprintf(detail + n, sizeof detail - (size_t)n, ", max %lld", (long long)k->max_rows);
      size_t m = n_recent < (size_t)k->history ? n_recent : (size_t)k->history;
      if (k->history > 0 && m > 0) {
        int64_t sorted[1024];
        if (m > 1024) m = 1024;
        memcpy(sorted, recent, m * sizeof *sorted);
        qsort(sorted, m, sizeof *sorted, cmp_i64);
        double median = m % 2 ? (double)sorted[m / 2]
                              : ((double)sorted[m / 2 - 1] + (double)sorted[m / 2]) / 2;
        double lo = median * k->min_ratio, hi = median * k->max_ratio;
        if ((double)rows < lo || (k->max_ratio > 0 && (double)rows > hi)) fail = true;
        snprintf(detail + n, sizeof detail - (size_t)n,
                 ", median of the last %zu loads %.1f, expected [%.1f, %.1f]", m, median, lo, hi);
      } else if (k->history > 0) {
        snprintf(detail + n, sizeof detail - (size_t)n, ", no earlier load to compare with");
      }
    } else if (k->type == FLOE_CHECK_FRESHNESS) {
      if (!c->has_newest) {
        fail = true;
        snprintf(detail, sizeof detail, "no value in the unit");
      } else {
        int64_t age_ms = (now_us - c->newest_us) / 1000;
        fail = age_ms > k->max_age_ms;
        snprintf(detail, sizeof detail, "newest value is %.0f s old, max_age %.0f s",
                 (double)age_ms / 1000, (double)k->max_age_ms / 1000);
      }
    } else {
      continue;
    }
    if (fail) {
      c->unit_failing++;
      c->total_failing++;
    }
    if (set_detail(c, detail) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return FLOE_OK;
}

/* ---- results ------------------------------------------------------------------- */

bool floe_quality_failed(const floe_quality *q, bool quarantined, const char **out_name) {
  for (size_t i = 0; q != NULL && i < q->n; i++) {
    const check_state *c = &q->checks[i];
    bool row_check = c->cfg->type != FLOE_CHECK_ROW_COUNT && c->cfg->type != FLOE_CHECK_FRESHNESS;
    /* Rows already in the table cannot be quarantined: they stop the unit. */
    if (!c->cfg->warn && c->unit_failing > 0 &&
        (!(quarantined && row_check) || c->table_failing > 0)) {
      if (out_name != NULL) *out_name = c->cfg->name;
      return true;
    }
  }
  return false;
}

size_t floe_quality_count(const floe_quality *q) { return q ? q->n : 0; }

const char *floe_quality_check_name(const floe_quality *q, size_t i) {
  return q->checks[i].cfg->name;
}

int64_t floe_quality_unit_failing(const floe_quality *q, size_t i) {
  return q->checks[i].unit_failing;
}

bool floe_quality_is_warn(const floe_quality *q, size_t i) { return q->checks[i].cfg->warn; }

const char *floe_quality_detail(const floe_quality *q, size_t i) {
  return q->checks[i].detail;
}

int floe_quality_samples(const floe_quality *q, size_t i, floe_buf *out) {
  const check_state *c = &q->checks[i];
  int rc = 0;
  for (size_t s = 0; s < c->n_samples; s++)
    rc |= floe_buf_appendf(out, "%s%s", s ? ", " : "", c->samples[s]);
  rc |= floe_buf_terminate(out);
  return rc ? FLOE_ENOMEM : FLOE_OK;
}

int floe_quality_describe(const floe_quality *q, size_t i, floe_buf *out) {
  const check_state *c = &q->checks[i];
  int rc = floe_buf_appendf(out, "check=%s severity=%s failing=%lld", c->cfg->name,
                            c->cfg->warn ? "warn" : "fail", (long long)c->unit_failing);
  if (c->n_samples > 0) {
    rc |= floe_buf_append_str(out, " samples=\"");
    for (size_t s = 0; s < c->n_samples; s++)
      rc |= floe_buf_appendf(out, "%s%s", s ? ", " : "", c->samples[s]);
    rc |= floe_buf_append_byte(out, '"');
  }
  if (c->detail != NULL) rc |= floe_buf_appendf(out, " detail=\"%s\"", c->detail);
  return rc ? FLOE_ENOMEM : FLOE_OK;
}

static int json_text(floe_buf *out, const char *s) {
  int rc = floe_buf_append_byte(out, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
    if (*p == '"' || *p == '\\')
      rc = floe_buf_appendf(out, "\\%c", *p);
    else if (*p < 0x20)
      rc = floe_buf_appendf(out, "\\u%04x", *p);
    else
      rc = floe_buf_append_byte(out, *p);
  }
  return rc | floe_buf_append_byte(out, '"');
}

int floe_quality_json(const floe_quality *q, char **out, floe_error *err) {
  floe_buf b;
  floe_buf_init(&b);
  int rc = floe_buf_append_byte(&b, '[');
  for (size_t i = 0; i < q->n; i++) {
    const check_state *c = &q->checks[i];
    const floe_config_check *k = c->cfg;
    rc |= floe_buf_append_str(&b, i ? ",{\"name\":" : "{\"name\":");
    rc |= json_text(&b, k->name);
    rc |= floe_buf_appendf(&b, ",\"type\":\"%s\",\"severity\":\"%s\",\"column\":",
                           floe_config_check_type_name(k->type), k->warn ? "warn" : "fail");
    rc |= k->column ? json_text(&b, k->column) : floe_buf_append_str(&b, "null");
    rc |= floe_buf_appendf(&b, ",\"passed\":%s,\"failing\":%lld,\"units\":%lld,\"samples\":[",
                           c->total_failing == 0 ? "true" : "false", (long long)c->total_failing,
                           (long long)c->units);
    for (size_t s = 0; s < c->n_samples; s++) {
      if (s) rc |= floe_buf_append_byte(&b, ',');
      rc |= json_text(&b, c->samples[s]);
    }
    rc |= floe_buf_append_str(&b, "],\"detail\":");
    rc |= c->detail ? json_text(&b, c->detail) : floe_buf_append_str(&b, "null");
    rc |= floe_buf_append_byte(&b, '}');
  }
  rc |= floe_buf_append_byte(&b, ']');
  rc |= floe_buf_terminate(&b);
  if (rc != 0) {
    floe_buf_free(&b);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  *out = (char *)floe_buf_detach(&b, NULL);
  return FLOE_OK;
}
