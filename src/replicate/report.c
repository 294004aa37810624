/*
 * replicate/report: what a run did, as data (floe_run_report), as JSON for
 * run.report and monitoring, and as the aligned table `floe run` prints;
 * and the same for `floe status`.
 *
 * The JSON layout is documented in docs/replicate.md ("Run report"); keys
 * are only ever added, so scripts that read it keep working.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "floe/time.h"
#include "replicate/engine_internal.h"

char *floe_replicate_strdupf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = floe_malloc((size_t)n + 1);
  if (s == NULL) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

int floe_replicate_exit_code(int rc) {
  if (rc == FLOE_OK) return FLOE_REPLICATE_EXIT_OK;
  if (rc == FLOE_EVALIDATE) return FLOE_REPLICATE_EXIT_VALIDATION;
  if (rc == FLOE_ECHECK) return FLOE_REPLICATE_EXIT_CHECKS;
  if (rc == FLOE_EINVAL) return FLOE_REPLICATE_EXIT_USAGE;
  return FLOE_REPLICATE_EXIT_FAILURE;
}

int floe_run_report_exit_code(const floe_run_report *report, int rc) {
  bool failed = false, mismatch = false, behind = false, late = false, checks = false;
  for (size_t i = 0; report != NULL && i < report->n_tables; i++) {
    failed |= report->tables[i].status == FLOE_RUN_FAILED && !report->tables[i].late_rows_fails;
    late |= report->tables[i].status == FLOE_RUN_FAILED && report->tables[i].late_rows_fails;
    mismatch |= report->tables[i].status == FLOE_RUN_MISMATCH;
    checks |= report->tables[i].status == FLOE_RUN_CHECK_FAILED;
    behind |= report->tables[i].status == FLOE_RUN_SOURCE_BEHIND &&
              report->tables[i].source_behind_fails;
  }
  if (failed) return FLOE_REPLICATE_EXIT_FAILURE;
  if (late) return FLOE_REPLICATE_EXIT_LATE_ROWS;
  if (checks) return FLOE_REPLICATE_EXIT_CHECKS;
  if (behind) return FLOE_REPLICATE_EXIT_SOURCE_BEHIND;
  if (mismatch) return FLOE_REPLICATE_EXIT_VALIDATION;
  return floe_replicate_exit_code(rc);
}

const char *floe_run_status_name(floe_run_status status) {
  switch (status) {
    case FLOE_RUN_OK: return "ok";
    case FLOE_RUN_NOTHING_NEW: return "nothing_new";
    case FLOE_RUN_PLANNED: return "planned";
    case FLOE_RUN_FAILED: return "failed";
    case FLOE_RUN_MISMATCH: return "mismatch";
    case FLOE_RUN_SOURCE_BEHIND: return "source_behind";
    case FLOE_RUN_CHECK_FAILED: return "check_failed";
  }
  return "?";
}

int floe_run_report_add(floe_run_report *report, floe_run_table **out, floe_error *err) {
  floe_run_table *grown =
      floe_realloc(report->tables, (report->n_tables + 1) * sizeof *grown);
  if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  report->tables = grown;
  *out = &grown[report->n_tables++];
  memset(*out, 0, sizeof **out);
  return FLOE_OK;
}

void floe_run_report_free(floe_run_report *report) {
  if (report == NULL) return;
  for (size_t i = 0; i < report->n_tables; i++) {
    floe_run_table *t = &report->tables[i];
    floe_free(t->name);
    floe_free(t->target);
    floe_free(t->watermark_low);
    floe_free(t->watermark_high);
    floe_free(t->message);
    floe_free(t->maintenance);
    floe_free(t->late_ranges);
    floe_free(t->checks);
  }
  floe_free(report->tables);
  memset(report, 0, sizeof *report);
}

int floe_status_report_add(floe_status_report *report, floe_status_table **out,
                           floe_error *err) {
  floe_status_table *grown =
      floe_realloc(report->tables, (report->n_tables + 1) * sizeof *grown);
  if (grown == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  report->tables = grown;
  *out = &grown[report->n_tables++];
  memset(*out, 0, sizeof **out);
  return FLOE_OK;
}

void floe_status_report_free(floe_status_report *report) {
  if (report == NULL) return;
  for (size_t i = 0; i < report->n_tables; i++) {
    floe_status_table *t = &report->tables[i];
    floe_free(t->name);
    floe_free(t->target);
    floe_free(t->control_watermark);
    floe_free(t->committed_watermark);
    floe_free(t->last_run_id);
    floe_free(t->message);
    floe_free(t->late_ranges);
  }
  floe_free(report->tables);
  memset(report, 0, sizeof *report);
}

/* ---- JSON --------------------------------------------------------------- */

/* Strings in the report may carry source bytes (error messages quoting
 * values): invalid UTF-8 becomes U+FFFD so report.json always parses. */
static int json_str(floe_buf *out, const char *s) { return floe_buf_append_json_string(out, s); }

static int late_fails_n(const floe_run_report *report) {
  int n = 0;
  for (size_t i = 0; i < report->n_tables; i++) n += report->tables[i].late_rows_fails;
  return n;
}

int floe_run_report_json(const floe_run_report *report, floe_buf *out, floe_error *err) {
  int rc = 0;
  int64_t ok = 0, nothing = 0, failed = 0, mismatch = 0, planned = 0, behind = 0, checks = 0;
  bool behind_fails = false, late_fails = false;
  int64_t with_late = 0; /* tables with rows they will never load */
  for (size_t i = 0; i < report->n_tables; i++) {
    late_fails |= report->tables[i].late_rows_fails;
    with_late += report->tables[i].rows_invalid > 0 || report->tables[i].rows_late > 0;
  }
  for (size_t i = 0; i < report->n_tables; i++) switch (report->tables[i].status) {
      case FLOE_RUN_OK: ok++; break;
      case FLOE_RUN_NOTHING_NEW: nothing++; break;
      case FLOE_RUN_FAILED: failed++; break;
      case FLOE_RUN_CHECK_FAILED: checks++; break;
      case FLOE_RUN_MISMATCH: mismatch++; break;
      case FLOE_RUN_PLANNED: planned++; break;
      case FLOE_RUN_SOURCE_BEHIND:
        behind++;
        behind_fails |= report->tables[i].source_behind_fails;
        break;
    }
  /* A table failed under late_rows: fail is counted as failed; the run's
   * status and exit code say late_rows (5) unless another table failed. */
  bool other_failed = failed > late_fails_n(report);
  const char *overall = other_failed   ? "failed"
                        : late_fails   ? "late_rows"
                        : checks       ? "check_failed"
                        : behind_fails ? "source_behind"
                        : mismatch     ? "mismatch"
                                       : "ok";
  rc |= floe_buf_append_str(out, "{\"run_id\":");
  rc |= json_str(out, report->run_id);
  rc |= floe_buf_append_str(out, ",\"command\":");
  rc |= json_str(out, report->command ? report->command : "run");
  rc |= floe_buf_appendf(out,
                         ",\"dry_run\":%s,\"started_ms\":%" PRId64 ",\"finished_ms\":%" PRId64
                         ",\"status\":\"%s\",\"exit_code\":%d,\"counts\":{\"ok\":%" PRId64
                         ",\"nothing_new\":%" PRId64 ",\"failed\":%" PRId64
                         ",\"mismatch\":%" PRId64 ",\"planned\":%" PRId64
                         ",\"source_behind\":%" PRId64 ",\"check_failed\":%" PRId64
                         ",\"late_rows\":%" PRId64 "},\"tables\":[",
                         report->dry_run ? "true" : "false", report->started_ms,
                         report->finished_ms, overall, floe_run_report_exit_code(report, FLOE_OK),
                         ok, nothing, failed, mismatch, planned, behind, checks, with_late);
  for (size_t i = 0; i < report->n_tables; i++) {
    const floe_run_table *t = &report->tables[i];
    rc |= floe_buf_append_str(out, i ? ",{\"table\":" : "{\"table\":");
    rc |= json_str(out, t->name);
    rc |= floe_buf_append_str(out, ",\"target\":");
    rc |= json_str(out, t->target);
    rc |= floe_buf_append_str(out, ",\"strategy\":");
    rc |= json_str(out, t->strategy);
    rc |= floe_buf_append_str(out, ",\"mode\":");
    rc |= json_str(out, t->mode);
    rc |= floe_buf_appendf(out, ",\"status\":\"%s\"", floe_run_status_name(t->status));
    if (t->has_range) {
      rc |= floe_buf_appendf(out, ",\"range\":{\"batch_sk_low\":%" PRId64
                                  ",\"batch_sk_high\":%" PRId64,
                             t->batch_low, t->batch_high);
      if (t->watermark_high != NULL) {
        rc |= floe_buf_append_str(out, ",\"watermark_low\":");
        rc |= json_str(out, t->watermark_low);
        rc |= floe_buf_append_str(out, ",\"watermark_high\":");
        rc |= json_str(out, t->watermark_high);
      }
      rc |= floe_buf_append_byte(out, '}');
    } else {
      rc |= floe_buf_append_str(out, ",\"range\":null");
    }
    rc |= floe_buf_appendf(
        out,
        ",\"rows_source\":%" PRId64 ",\"rows_written\":%" PRId64 ",\"rows_inserted\":%" PRId64
        ",\"rows_updated\":%" PRId64 ",\"rows_deleted\":%" PRId64 ",\"files\":%" PRId64
        ",\"bytes\":%" PRId64 ",\"commits\":%" PRId64 ",\"repairs\":%" PRId64
        ",\"baselines\":%" PRId64 ",\"schema_changes\":%" PRId64 ",\"spill_bytes\":%" PRId64
        ",\"seconds\":%.3f",
        t->rows_source, t->rows_written, t->rows_inserted, t->rows_updated, t->rows_deleted,
        t->files, t->bytes, t->commits, t->repairs, t->baselines, t->schema_changes,
        t->spill_bytes, t->seconds);
    rc |= floe_buf_appendf(out, ",\"rows_invalid\":%" PRId64, t->rows_invalid);
    if (t->rows_late >= 0)
      rc |= floe_buf_appendf(out, ",\"rows_late\":%" PRId64, t->rows_late);
    else
      rc |= floe_buf_append_str(out, ",\"rows_late\":null");
    rc |= floe_buf_append_str(out, ",\"late_ranges\":[");
    for (size_t k = 0; k < t->n_late_ranges; k++)
      rc |= floe_buf_appendf(out,
                             "%s{\"batch_sk_low\":%" PRId64 ",\"batch_sk_high\":%" PRId64
                             ",\"source_rows\":%" PRId64 ",\"loaded_rows\":%" PRId64
                             ",\"baseline\":%s}",
                             k ? "," : "", t->late_ranges[k].low, t->late_ranges[k].high,
                             t->late_ranges[k].source_rows, t->late_ranges[k].loaded_rows,
                             t->late_ranges[k].baseline ? "true" : "false");
    rc |= floe_buf_appendf(out, "],\"rows_reloaded\":%" PRId64, t->rows_reloaded);
    if (t->snapshot_id != 0)
      rc |= floe_buf_appendf(out, ",\"snapshot_id\":%" PRId64, t->snapshot_id);
    else
      rc |= floe_buf_append_str(out, ",\"snapshot_id\":null");
    rc |= floe_buf_append_str(out, ",\"message\":");
    rc |= json_str(out, t->message);
    if (t->maintenance != NULL) rc |= floe_buf_appendf(out, ",\"maintenance\":%s", t->maintenance);
    if (t->changelog_rows > 0)
      rc |= floe_buf_appendf(out, ",\"changelog_rows\":%" PRId64, t->changelog_rows);
    if (t->checks != NULL)
      rc |= floe_buf_appendf(out, ",\"checks\":%s,\"rows_quarantined\":%" PRId64, t->checks,
                             t->rows_quarantined);
    rc |= floe_buf_append_byte(out, '}');
  }
  rc |= floe_buf_append_str(out, "]}");
  return rc ? floe_error_set(err, FLOE_ENOMEM, "out of memory") : FLOE_OK;
}

/* ---- text tables -------------------------------------------------------- */

#define MAX_COLS 12

typedef struct text_table {
  int n_cols;
  size_t widths[MAX_COLS];
  size_t n_rows, cap;
  char **cells; /* n_rows * n_cols */
} text_table;

static int tt_row(text_table *tt, const char *const *cells) {
  if (tt->n_rows == tt->cap) {
    size_t ncap = tt->cap ? tt->cap * 2 : 8;
    char **grown = floe_realloc(tt->cells, ncap * (size_t)tt->n_cols * sizeof *grown);
    if (grown == NULL) return FLOE_ENOMEM;
    tt->cells = grown;
    tt->cap = ncap;
  }
  for (int c = 0; c < tt->n_cols; c++) {
    char *copy = floe_strdup(cells[c] ? cells[c] : "");
    if (copy == NULL) {
      for (int k = 0; k < c; k++) floe_free(tt->cells[tt->n_rows * (size_t)tt->n_cols + (size_t)k]);
      return FLOE_ENOMEM;
    }
    tt->cells[tt->n_rows * (size_t)tt->n_cols + (size_t)c] = copy;
    size_t w = strlen(copy);
    if (w > tt->widths[c]) tt->widths[c] = w;
  }
  tt->n_rows++;
  return FLOE_OK;
}

static int tt_render(text_table *tt, floe_buf *out, const bool *right) {
  int rc = 0;
  for (size_t r = 0; r < tt->n_rows; r++) {
    for (int c = 0; c < tt->n_cols; c++) {
      const char *cell = tt->cells[r * (size_t)tt->n_cols + (size_t)c];
      int w = (int)tt->widths[c];
      if (c == tt->n_cols - 1 && !right[c])
        rc |= floe_buf_appendf(out, "%s", cell);
      else
        rc |= floe_buf_appendf(out, right[c] ? "%*s" : "%-*s", w, cell);
      if (c < tt->n_cols - 1) rc |= floe_buf_append_str(out, "  ");
    }
    /* no trailing blanks */
    while (out->len > 0 && out->data[out->len - 1] == ' ') out->len--;
    rc |= floe_buf_append_byte(out, '\n');
  }
  return rc ? FLOE_ENOMEM : FLOE_OK;
}

static void tt_free(text_table *tt) {
  for (size_t i = 0; i < tt->n_rows * (size_t)tt->n_cols; i++) floe_free(tt->cells[i]);
  floe_free(tt->cells);
}

static void human_bytes(int64_t bytes, char *out, size_t size) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(out, size, "%" PRId64 " B", bytes);
  else
    snprintf(out, size, "%.1f %s", v, units[u]);
}

int floe_run_report_text(const floe_run_report *report, floe_buf *out, floe_error *err) {
  text_table tt = {0};
  tt.n_cols = 9;
  int rc = FLOE_OK;
  const char *head[] = {"TABLE", "STATUS", "RANGE", "ROWS", "FILES", "BYTES",
                        "SECONDS", "SNAPSHOT", "NOTE"};
  const bool right[] = {false, false, false, true, true, true, true, true, false};
  if (tt_row(&tt, head) < 0) goto nomem;
  for (size_t i = 0; i < report->n_tables; i++) {
    const floe_run_table *t = &report->tables[i];
    char range[160] = "-", rows[32], files[32], bytes[32], secs[32], snap[32] = "-";
    if (t->has_range) {
      if (t->watermark_high != NULL)
        snprintf(range, sizeof range, "(%s, %s]", t->watermark_low ? t->watermark_low : "-inf",
                 t->watermark_high);
      else
        snprintf(range, sizeof range, "(%" PRId64 ", %" PRId64 "]", t->batch_low, t->batch_high);
    }
    snprintf(rows, sizeof rows, "%" PRId64,
             t->status == FLOE_RUN_PLANNED ? t->rows_source : t->rows_written);
    snprintf(files, sizeof files, "%" PRId64, t->files);
    human_bytes(t->bytes, bytes, sizeof bytes);
    snprintf(secs, sizeof secs, "%.2f", t->seconds);
    if (t->snapshot_id != 0) snprintf(snap, sizeof snap, "%" PRId64, t->snapshot_id);
    const char *cells[] = {t->name, floe_run_status_name(t->status), range, rows, files,
                           bytes, secs, snap, t->message ? t->message : ""};
    if (tt_row(&tt, cells) < 0) goto nomem;
  }
  if (tt_render(&tt, out, right) < 0) goto nomem;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  tt_free(&tt);
  return rc;
}

int floe_status_report_text(const floe_status_report *report, floe_buf *out,
                            floe_error *err) {
  text_table tt = {0};
  tt.n_cols = 9;
  int rc = FLOE_OK;
  const char *head[] = {"TABLE", "TARGET", "CONTROL_MAX", "COMMITTED", "WATERMARK",
                        "SNAPSHOT", "ROWS", "LAST_RUN", "NOTE"};
  const bool right[] = {false, false, true, true, false, true, true, false, false};
  if (tt_row(&tt, head) < 0) goto nomem;
  for (size_t i = 0; i < report->n_tables; i++) {
    const floe_status_table *t = &report->tables[i];
    char cmax[32] = "-", committed[32] = "-", snap[32] = "-", rows[32] = "-", last[96] = "-";
    if (t->has_control) snprintf(cmax, sizeof cmax, "%" PRId64, t->control_max);
    if (t->has_committed) snprintf(committed, sizeof committed, "%" PRId64, t->committed_high);
    if (t->has_snapshot) snprintf(snap, sizeof snap, "%" PRId64, t->snapshot_id);
    if (t->total_records >= 0 && t->has_snapshot)
      snprintf(rows, sizeof rows, "%" PRId64, t->total_records);
    if (t->last_commit_ms > 0) {
      int64_t ms = t->last_commit_ms;
      char ts[40];
      floe_format_timestamp(ms * 1000, 'T', ts, sizeof ts);
      char *dot = strchr(ts, '.');
      if (dot) *dot = '\0';
      snprintf(last, sizeof last, "%sZ", ts);
    }
    const char *wm = t->committed_watermark ? t->committed_watermark
                     : t->control_watermark ? t->control_watermark : "-";
    char behind[160];
    if (t->source_behind)
      snprintf(behind, sizeof behind,
               "source behind: max(batch) = %" PRId64 " is below the control max %" PRId64,
               t->source_max, t->control_max);
    char late[200] = "";
    if (t->rows_invalid > 0 || t->rows_late > 0) {
      int len = snprintf(late, sizeof late, "never loaded: %" PRId64 " invalid, %" PRId64 " late",
                         t->rows_invalid, t->rows_late > 0 ? t->rows_late : 0);
      for (size_t k = 0; k < t->n_late_ranges && len > 0 && (size_t)len < sizeof late; k++)
        len += snprintf(late + len, sizeof late - (size_t)len, "%s(%" PRId64 ", %" PRId64 "]",
                        k ? " " : " in ", t->late_ranges[k].low, t->late_ranges[k].high);
    }
    const char *note = t->message          ? t->message
                       : t->source_behind  ? behind
                       : late[0]           ? late
                       : !t->table_exists ? "table not created yet"
                                          : "";
    const char *cells[] = {t->name, t->target, cmax, committed, wm, snap, rows, last, note};
    if (tt_row(&tt, cells) < 0) goto nomem;
  }
  if (tt_render(&tt, out, right) < 0) goto nomem;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  tt_free(&tt);
  return rc;
}
