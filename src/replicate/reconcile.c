/*
 * replicate/reconcile: the exactly-once check between the control table (the
 * user's ledger) and the Iceberg table's committed history (the proof).
 *
 * Every floe commit carries floe.source-table, floe.batch-sk.low/high,
 * floe.run-id (and, for cursor tables, floe.watermark.low/high; for a load
 * split into parts, floe.part = "i/n") in its snapshot summary, written in
 * the same atomic commit as the data. floe_commits_collect walks the main
 * branch from the current snapshot through its parents and gathers those
 * commits; floe_reconcile_plan compares them with the control rows.
 *
 * Loads happen in increasing batch order and every run reconciles before it
 * inserts anything, so a control row that was inserted but never committed
 * is always above the highest committed batch: that is the test, and it
 * stays right after old snapshots expire (an expired commit cannot be
 * checked, but it is below the latest one). The one case it cannot decide
 * is a table whose history was cut by expiry before any floe commit that
 * is still visible: then it refuses rather than reload everything.
 *
 * A control row floe did not write while loading (kind 'manual' or
 * 'baseline', a row inserted by hand, a notebook-era row) is the user's word
 * that its batches are loaded ("Is Last Batch SK provided? Yes -> use it"):
 * above the last commit it is rolled forward by a baseline commit (no data,
 * summary floe.baseline), never compensated.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replicate/engine_internal.h"

static bool parse_i64(const char *text, int64_t *out) {
  if (text == NULL || text[0] == '\0') return false;
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0') return false;
  *out = (int64_t)v;
  return true;
}

static const char *static_operation(const char *op) {
  static const char *const ops[] = {"append", "overwrite", "delete", "replace"};
  for (size_t i = 0; op != NULL && i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(op, ops[i]) == 0) return ops[i];
  return "other";
}

void floe_commit_list_free(floe_commit_list *list) {
  if (list == NULL) return;
  for (size_t i = 0; i < list->n; i++) {
    floe_free(list->commits[i].run_id);
    floe_free(list->commits[i].watermark_low);
    floe_free(list->commits[i].watermark_high);
  }
  floe_free(list->commits);
  memset(list, 0, sizeof *list);
}

static int dup_opt(const char *text, char **out) {
  *out = NULL;
  if (text == NULL) return FLOE_OK;
  *out = floe_strdup(text);
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

int floe_commits_collect(const floe_iceberg_metadata *metadata,
                         const char *table_name, floe_commit_list *out,
                         floe_error *err) {
  memset(out, 0, sizeof *out);
  out->complete_history = true;
  if (metadata == NULL) return FLOE_OK;
  const floe_iceberg_snapshot *s = floe_iceberg_metadata_current_snapshot(metadata);
  size_t cap = 0;
  int32_t steps = 0;
  while (s != NULL) {
    /* A cycle in corrupt metadata must not hang the run. */
    if (++steps > metadata->n_snapshots + 1) break;
    const char *source = floe_iceberg_snapshot_summary(s, "floe.source-table");
    int64_t low = 0, high = 0;
    if (source != NULL && strcmp(source, table_name) == 0 &&
        parse_i64(floe_iceberg_snapshot_summary(s, "floe.batch-sk.high"), &high)) {
      parse_i64(floe_iceberg_snapshot_summary(s, "floe.batch-sk.low"), &low);
      if (out->n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        floe_commit_info *grown = floe_realloc(out->commits, ncap * sizeof *grown);
        if (grown == NULL) goto nomem;
        out->commits = grown;
        cap = ncap;
      }
      floe_commit_info *c = &out->commits[out->n++];
      memset(c, 0, sizeof *c);
      c->snapshot_id = s->snapshot_id;
      c->timestamp_ms = s->timestamp_ms;
      c->batch_low = low;
      c->batch_high = high;
      c->operation = static_operation(s->operation);
      c->added_records = c->deleted_records = c->total_records = -1;
      c->source_rows = -1;
      parse_i64(floe_iceberg_snapshot_summary(s, "floe.source-rows"), &c->source_rows);
      parse_i64(floe_iceberg_snapshot_summary(s, "added-records"), &c->added_records);
      parse_i64(floe_iceberg_snapshot_summary(s, "deleted-records"), &c->deleted_records);
      parse_i64(floe_iceberg_snapshot_summary(s, "total-records"), &c->total_records);
      parse_i64(floe_iceberg_snapshot_summary(s, "floe.rows-rewritten"), &c->rows_rewritten);
      if (c->added_records >= c->rows_rewritten) c->added_records -= c->rows_rewritten;
      c->complete = true;
      c->baseline = floe_iceberg_snapshot_summary(s, "floe.baseline") != NULL;
      c->reload = floe_iceberg_snapshot_summary(s, "floe.reload") != NULL;
      const char *part = floe_iceberg_snapshot_summary(s, "floe.part");
      if (part != NULL) {
        long i = 0, n = 0;
        char *end = NULL;
        i = strtol(part, &end, 10);
        if (end != NULL && *end == '/') n = strtol(end + 1, NULL, 10);
        c->complete = i >= n;
      }
      if (dup_opt(floe_iceberg_snapshot_summary(s, "floe.run-id"), &c->run_id) < 0 ||
          dup_opt(floe_iceberg_snapshot_summary(s, "floe.watermark.low"), &c->watermark_low) < 0 ||
          dup_opt(floe_iceberg_snapshot_summary(s, "floe.watermark.high"), &c->watermark_high) < 0)
        goto nomem;
    }
    if (!s->has_parent) break;
    const floe_iceberg_snapshot *parent = floe_iceberg_metadata_parent(metadata, s);
    if (parent == NULL) {
      out->complete_history = false; /* expired */
      break;
    }
    s = parent;
  }
  /* The committed watermark property (watermark.c) stands in for summaries
   * that expired: when it is ahead of every visible floe commit, it is the
   * latest one. A partial partition load (part i < n) proves its low end. */
  floe_watermark w;
  bool found = false;
  int rc = floe_watermark_read(metadata, table_name, &w, &found, err);
  if (rc < 0) {
    floe_commit_list_free(out);
    return rc;
  }
  if (found) {
    out->has_property = true;
    bool complete = floe_watermark_complete(&w);
    int64_t proven = complete ? w.batch_high : w.batch_low;
    const floe_commit_info *latest = floe_commits_latest(out);
    if (latest == NULL || latest->batch_high < proven) {
      if (out->n == cap) {
        floe_commit_info *grown = floe_realloc(out->commits, (cap + 1) * sizeof *grown);
        if (grown == NULL) {
          floe_watermark_free(&w);
          goto nomem;
        }
        out->commits = grown;
      }
      floe_commit_info *c = &out->commits[out->n++];
      memset(c, 0, sizeof *c);
      c->from_property = true;
      c->batch_low = complete ? w.batch_low : INT64_MIN;
      c->batch_high = proven;
      c->operation = "other";
      c->added_records = c->deleted_records = c->total_records = -1;
      c->source_rows = -1;
      c->complete = true;
      if (complete) {
        c->run_id = w.run_id;
        c->watermark_low = w.watermark_low;
        c->watermark_high = w.watermark_high;
      } else {
        /* Only the low end is proven: its run and cursor position are the
         * previous load's (the cursor one is this load's low). */
        c->watermark_high = w.watermark_low;
        floe_free(w.run_id);
        floe_free(w.watermark_high);
      }
      memset(&w, 0, sizeof w);
    }
    floe_watermark_free(&w);
  }
  return FLOE_OK;
nomem:
  floe_commit_list_free(out);
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

const floe_commit_info *floe_commits_latest(const floe_commit_list *list) {
  const floe_commit_info *best = NULL;
  for (size_t i = 0; list != NULL && i < list->n; i++) {
    const floe_commit_info *c = &list->commits[i];
    if (!c->complete) continue;
    if (best == NULL || c->batch_high > best->batch_high) best = c;
  }
  return best;
}

static bool is_uuid(const char *text) {
  if (text == NULL || strlen(text) != 36) return false;
  for (int i = 0; i < 36; i++) {
    char ch = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                             (ch >= 'A' && ch <= 'F')))
      return false;
  }
  return true;
}

bool floe_control_row_is_load(const floe_control_row *row) {
  if (row == NULL || row->kind == NULL || !is_uuid(row->run_id)) return false;
  return strcmp(row->kind, "init") == 0 || strcmp(row->kind, "load") == 0 ||
         strcmp(row->kind, "repair") == 0;
}

static int cmp_desc(const void *a, const void *b) {
  int64_t x = ((const floe_repair *)a)->batch_sk, y = ((const floe_repair *)b)->batch_sk;
  return x < y ? 1 : x > y ? -1 : 0;
}
static int cmp_asc(const void *a, const void *b) { return -cmp_desc(a, b); }

int floe_reconcile_plan(const floe_control_rows *control,
                        const floe_commit_list *commits, floe_repair **out,
                        size_t *out_n, floe_error *err) {
  *out = NULL;
  *out_n = 0;
  const floe_commit_info *latest = floe_commits_latest(commits);
  size_t cap = control->n + commits->n + 1;
  floe_repair *repairs = floe_calloc(cap, sizeof *repairs);
  if (repairs == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  size_t n_comp = 0, n = 0;

  int64_t committed_high = latest != NULL ? latest->batch_high : INT64_MIN;
  /* The user's highest row above the last commit, if any. */
  const floe_control_row *provided = NULL;
  for (size_t i = 0; i < control->n; i++) {
    const floe_control_row *row = &control->rows[i];
    if (row->batch_sk <= 0 || floe_control_row_is_load(row)) continue;
    if (latest != NULL && row->batch_sk <= committed_high) continue;
    if (provided == NULL || row->batch_sk > provided->batch_sk) provided = row;
  }
  for (size_t i = 0; i < control->n; i++) {
    const floe_control_row *row = &control->rows[i];
    if (row->batch_sk <= 0) continue; /* the (table, 0) first-sight row */
    if (latest != NULL && row->batch_sk <= committed_high) continue;
    if (provided != NULL && row->batch_sk <= provided->batch_sk) continue;
    if (latest == NULL && !commits->complete_history) {
      floe_free(repairs);
      return floe_error_set(
          err, FLOE_ECONFLICT,
          "control row batch_sk=%" PRId64 " has no floe commit on the table's main "
          "branch, but expired snapshots cut the history, so floe cannot prove it "
          "was not loaded; check the table and delete the control row by hand "
          "(sql/<dialect>/control.sql, statement compensate) to reload it",
          row->batch_sk);
    }
    repairs[n].action = FLOE_REPAIR_COMPENSATE;
    repairs[n].batch_sk = row->batch_sk;
    repairs[n].run_id = row->run_id;
    repairs[n].watermark = row->watermark;
    n++;
  }
  n_comp = n;
  qsort(repairs, n_comp, sizeof *repairs, cmp_desc);
  if (provided != NULL) {
    repairs[n].action = FLOE_REPAIR_BASELINE;
    repairs[n].batch_sk = provided->batch_sk;
    repairs[n].batch_low = latest != NULL ? committed_high : 0;
    repairs[n].run_id = provided->run_id;
    repairs[n].watermark = provided->watermark;
    n++;
    n_comp = n;
  }

  for (size_t i = 0; i < commits->n; i++) {
    const floe_commit_info *c = &commits->commits[i];
    if (!c->complete) continue;
    bool found = false;
    for (size_t j = 0; j < control->n && !found; j++)
      found = control->rows[j].batch_sk == c->batch_high;
    for (size_t j = n_comp; j < n && !found; j++) found = repairs[j].batch_sk == c->batch_high;
    if (found) continue;
    repairs[n].action = FLOE_REPAIR_REINSERT;
    repairs[n].batch_sk = c->batch_high;
    repairs[n].run_id = c->run_id;
    repairs[n].watermark = c->watermark_high;
    n++;
  }
  qsort(repairs + n_comp, n - n_comp, sizeof *repairs, cmp_asc);
  if (n == 0) {
    floe_free(repairs);
    repairs = NULL;
  }
  *out = repairs;
  *out_n = n;
  return FLOE_OK;
}
