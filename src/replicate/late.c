/*
 * replicate/late: rows floe will never load. A batch table's rows are read
 * once, when their range is loaded; a row that arrives later with a batch
 * at or below the control max (late), or whose batch is NULL, 0 or
 * negative (invalid), is skipped by every later run. This module finds
 * them cheaply on every run and `floe status`.
 *
 * Every counted load records the source rows it read: per commit in the
 * snapshot summary (floe.source-rows) and summed over all loads in the
 * committed watermark property ("source-rows", watermark.c). The check is
 * the source's count over (0, control max] against that sum (plus the
 * count of the invalid rows). Both counts come from the run's one pre-load
 * statement, which also reads max(batch) (floe_job_batch_totals: a single
 * scan of the source, or of an index on the batch column where one
 * exists), so the check costs no scan of its own. Only when the source holds more rows than the loads
 * read are the committed ranges searched: the ranges recorded by the
 * visible commits (a later commit of the same or a wider range, a reload,
 * replaces them; the ranges hidden by expired snapshots form one range
 * from 0, whose count is the sum minus the visible ones) are bisected, a
 * count(*) per half, down to the single committed ranges that hold more
 * rows than their loads read: O(k log n) counts for k affected ranges of
 * n. Rows deleted from the source offset late rows in the same count; the
 * bisection does not descend into a half whose count is not above what
 * was read.
 */
#include "replicate/engine_internal.h"

#include <stdlib.h>
#include <string.h>

void floe_late_rows_free(floe_late_rows *late) {
  if (late == NULL) return;
  floe_free(late->ranges);
  floe_free(late->committed);
  memset(late, 0, sizeof *late);
}

static int add_range(floe_late_rows *late, int64_t low, int64_t high, int64_t source_rows,
                     int64_t loaded_rows, floe_error *err) {
  floe_late_range *grown = floe_realloc(late->ranges, (late->n_ranges + 1) * sizeof *grown);
  if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  late->ranges = grown;
  floe_late_range *r = &grown[late->n_ranges++];
  r->low = low;
  r->high = high;
  r->source_rows = source_rows;
  r->loaded_rows = loaded_rows;
  return FLOE_OK;
}

static int range_count(floe_job *job, int64_t low, int64_t high, int64_t *out, floe_error *err) {
  floe_unit_filter f;
  memset(&f, 0, sizeof f);
  f.has_low = f.has_high = true;
  f.low = low;
  f.high = high;
  return floe_job_count(job, &f, out, err);
}

static int cmp_low(const void *a, const void *b) {
  int64_t x = ((const floe_late_range *)a)->low, y = ((const floe_late_range *)b)->low;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* The committed ranges covering (0, control_max], each with the rows its
 * loads read (in loaded_rows), ascending; one range (0, control_max] with
 * `total` when the visible commits do not fit together. *out floe_free. */
static int committed_ranges(const floe_commit_list *commits, int64_t control_max, int64_t total,
                            floe_late_range **out, size_t *n_out, floe_error *err) {
  floe_late_range *r = floe_calloc(commits->n + 1, sizeof *r);
  size_t n = 0;
  bool fits = true;
  if (r == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  /* Oldest first: a later commit of a range replaces what it covers. */
  for (size_t i = commits->n; i-- > 0 && fits;) {
    const floe_commit_info *c = &commits->commits[i];
    if (c->from_property || !c->complete || c->source_rows < 0) continue;
    size_t kept = 0;
    for (size_t j = 0; j < n; j++) {
      if (c->batch_low <= r[j].low && r[j].high <= c->batch_high) continue;
      if (r[j].low < c->batch_high && c->batch_low < r[j].high) fits = false;
      r[kept++] = r[j];
    }
    n = kept;
    r[n].low = c->batch_low;
    r[n].high = c->batch_high;
    r[n].loaded_rows = c->source_rows;
    r[n].baseline = c->baseline;
    n++;
  }
  if (fits && n > 0) {
    qsort(r, n, sizeof *r, cmp_low);
    /* The visible ranges that chain up to the control max; below them,
     * one range from 0 holds what expired snapshots recorded. */
    size_t first = n - 1;
    fits = r[n - 1].high == control_max;
    while (fits && first > 0 && r[first - 1].high == r[first].low) first--;
    int64_t visible = 0;
    for (size_t j = first; j < n; j++) visible += r[j].loaded_rows;
    if (fits && r[first].low > 0) {
      if (total - visible < 0) {
        fits = false;
      } else {
        floe_late_range prefix;
        memset(&prefix, 0, sizeof prefix);
        prefix.high = r[first].low;
        prefix.loaded_rows = total - visible;
        memmove(&r[1], &r[first], (n - first) * sizeof *r); /* r has n + 1 slots */
        r[0] = prefix;
        n = n - first + 1;
      }
    } else if (fits) {
      memmove(&r[0], &r[first], (n - first) * sizeof *r);
      n -= first;
    }
    if (fits && r[0].low < 0) fits = false;
  }
  if (!fits || n == 0) {
    r[0].low = 0;
    r[0].high = control_max;
    r[0].loaded_rows = total;
    r[0].baseline = false;
    n = 1;
  }
  *out = r;
  *n_out = n;
  return FLOE_OK;
}

/* Ranges [i, j) hold `source` rows (counted) against what was read. */
static int bisect(floe_job *job, floe_late_range *r, size_t i, size_t j, int64_t source,
                  floe_late_rows *late, floe_error *err) {
  int64_t loaded = 0;
  for (size_t k = i; k < j; k++) loaded += r[k].loaded_rows;
  if (source <= loaded) return FLOE_OK;
  if (j - i == 1) {
    late->rows_late += source - loaded;
    int rc = add_range(late, r[i].low, r[i].high, source, loaded, err);
    if (rc == FLOE_OK) late->ranges[late->n_ranges - 1].baseline = r[i].baseline;
    return rc;
  }
  size_t mid = i + (j - i) / 2;
  int64_t left = 0;
  int rc = range_count(job, r[i].low, r[mid - 1].high, &left, err);
  if (rc < 0) return rc;
  rc = bisect(job, r, i, mid, left, late, err);
  if (rc < 0) return rc;
  return bisect(job, r, mid, j, source - left, late, err);
}

bool floe_late_rows_checked(const floe_job *job) {
  const floe_config_table *t = job->t;
  return job->batch_idx >= 0 && t->strategy != FLOE_STRATEGY_FULL &&
         t->strategy != FLOE_STRATEGY_PARTITION && t->cdc.type != FLOE_CDC_STREAM &&
         t->cdc.type != FLOE_CDC_CHANGES;
}

/* Whether the committed watermark records the rows read up to
 * control_max: only then is the count over (0, control_max] compared. */
static int watermark_usable(const floe_job *job, const floe_iceberg_metadata *md,
                            int64_t control_max, bool *usable, int64_t *total, floe_error *err) {
  floe_watermark w;
  bool found = false;
  *usable = false;
  if (md == NULL || control_max <= 0) return FLOE_OK;
  int rc = floe_watermark_read(md, job->t->name, &w, &found, err);
  if (rc < 0) return rc;
  *total = w.source_rows;
  *usable = found && w.source_rows >= 0 && floe_watermark_complete(&w) &&
            w.batch_high == control_max;
  floe_watermark_free(&w);
  return FLOE_OK;
}

void floe_late_rows_counts_needed(const floe_job *job, const floe_iceberg_metadata *md,
                                  int64_t control_max, bool *invalid, bool *range) {
  bool usable = false;
  int64_t total = 0;
  *invalid = floe_late_rows_checked(job);
  *range = false;
  if (!*invalid) return;
  floe_error err = {0};
  *range = watermark_usable(job, md, control_max, &usable, &total, &err) < 0 || usable;
}

int floe_late_rows_find(floe_job *job, const floe_iceberg_metadata *md,
                        const floe_batch_totals *totals, floe_late_rows *out, floe_error *err) {
  const floe_config_table *t = job->t;
  floe_commit_list commits;
  int64_t control_max = totals->control_max;
  int rc = FLOE_OK;
  memset(out, 0, sizeof *out);
  memset(&commits, 0, sizeof commits);
  out->rows_late = -1;
  if (!floe_late_rows_checked(job)) goto cleanup;
  if (!totals->invalid_counted) {
    rc = floe_error_set(err, FLOE_EINVAL, "late rows: the invalid rows were not counted");
    goto cleanup;
  }
  out->checked = true;
  out->rows_invalid = totals->rows_invalid;
  bool usable = false;
  int64_t total = 0;
  FLOE_TRY(watermark_usable(job, md, control_max, &usable, &total, err));
  if (!usable) goto cleanup;
  if (!totals->range_counted || totals->control_max != control_max) {
    rc = floe_error_set(err, FLOE_EINVAL, "late rows: the rows up to %lld were not counted",
                        (long long)control_max);
    goto cleanup;
  }
  out->rows_late = 0;
  out->loaded_rows = total;
  out->source_rows = totals->rows_counted;
  if (out->source_rows <= total) goto cleanup;
  FLOE_TRY(floe_commits_collect(md, t->name, &commits, err));
  FLOE_TRY(committed_ranges(&commits, control_max, total, &out->committed, &out->n_committed,
                            err));
  out->rows_late = 0;
  FLOE_TRY(bisect(job, out->committed, 0, out->n_committed, out->source_rows, out, err));
cleanup:
  floe_commit_list_free(&commits);
  if (rc < 0) floe_late_rows_free(out);
  return rc;
}

bool floe_late_rows_counted(const floe_config_table *t, bool has_batch) {
  return has_batch && t->cdc.type != FLOE_CDC_STREAM && t->cdc.type != FLOE_CDC_CHANGES &&
         (t->strategy == FLOE_STRATEGY_INCREMENTAL || t->strategy == FLOE_STRATEGY_CHUNKED) &&
         (t->mode == FLOE_MODE_APPEND || t->mode == FLOE_MODE_MERGE ||
          (t->mode == FLOE_MODE_OVERWRITE && t->overwrite == FLOE_OVERWRITE_RANGE));
}
