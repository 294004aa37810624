/*
 * replicate/status: `floe status` — per table, what the control table says
 * (latest batch, watermark) next to what the Iceberg table proves (highest
 * committed batch from the snapshot summaries, current snapshot, its
 * total-records, the last floe run), and whether the source's max batch
 * fell below the control max (source behind). Reads only; a control table that does
 * not exist yet reads as empty. A problem with one table (source table
 * gone, metadata unreadable) becomes that table's note, not a failure of
 * the command. floe_replicate_control reads the ledger itself: every
 * control row of the selected tables.
 */
#include "replicate/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "floe/log.h"
#include "floe/table.h"

static int status_table(floe_session *s, bool ctl_exists, const floe_config_table *t,
                        floe_status_table *st, floe_error *err) {
  floe_control_rows rows;
  floe_commit_list commits;
  floe_table *table = NULL;
  memset(&rows, 0, sizeof rows);
  memset(&commits, 0, sizeof commits);
  int rc = FLOE_OK;
  if (ctl_exists) {
    FLOE_TRY(floe_control_history(&s->ctl, t->name, &rows, err));
    const floe_control_row *latest = floe_control_rows_latest(&rows);
    if (latest != NULL) {
      st->has_control = true;
      st->control_max = latest->batch_sk;
      st->control_rows = (int64_t)rows.n;
      if (latest->watermark && (st->control_watermark = floe_strdup(latest->watermark)) == NULL)
        goto nomem;
    }
  }
  bool check_late = false;
  floe_batch_totals totals; /* max and the late-rows counts: one statement */
  memset(&totals, 0, sizeof totals);
  if (st->has_control && t->cdc.type != FLOE_CDC_STREAM && t->cdc.type != FLOE_CDC_CHANGES &&
      t->strategy != FLOE_STRATEGY_FULL) {
    /* Is the source behind its control table (rows deleted, batches
     * reset)? A source that cannot be read here is left to floe run. */
    floe_job job;
    floe_error jerr = {0};
    if (floe_job_open(&job, s, t, &jerr) == FLOE_OK) {
      if (job.batch_idx >= 0 &&
          floe_job_batch_totals(&job, floe_late_rows_checked(&job), floe_late_rows_checked(&job),
                                st->control_max, &totals, &jerr) == FLOE_OK) {
        st->source_max = totals.max;
        st->has_source_max = true;
        st->source_behind = st->source_max < st->control_max;
        check_late = true;
      }
      floe_job_close(&job);
    }
  }
  floe_catalog_ident ident = {t->target_namespace, t->target_name};
  if (ident.ns == NULL) ident.ns = "default";
  if (ident.name == NULL) ident.name = t->name;
  rc = floe_table_load(s->catalog, ident, &table, err);
  if (rc == FLOE_ENOTFOUND) {
    rc = FLOE_OK;
    if (err) floe_error_init(err);
    goto cleanup;
  }
  if (rc < 0) goto cleanup;
  st->table_exists = true;
  const floe_iceberg_snapshot *snap = floe_table_current_snapshot(table);
  st->total_records = -1;
  if (snap != NULL) {
    st->has_snapshot = true;
    st->snapshot_id = snap->snapshot_id;
    /* Live rows: net of deletes, what a reader of the table sees. */
    FLOE_TRY(floe_table_live_rows(table, snap, &st->total_records, err));
  }
  FLOE_TRY(floe_commits_collect(floe_table_metadata(table), t->name, &commits, err));
  const floe_commit_info *c = floe_commits_latest(&commits);
  if (c != NULL) {
    st->has_committed = true;
    st->committed_high = c->batch_high;
    if (c->watermark_high && (st->committed_watermark = floe_strdup(c->watermark_high)) == NULL)
      goto nomem;
  }
  if (commits.n > 0) { /* newest first */
    st->last_commit_ms = commits.commits[0].timestamp_ms;
    if (commits.commits[0].run_id &&
        (st->last_run_id = floe_strdup(commits.commits[0].run_id)) == NULL)
      goto nomem;
  }
  if (check_late) {
    /* Rows floe will never load (late.c): what the next run would report.
     * A source that cannot be read here is left to floe run. */
    floe_job job;
    floe_late_rows late;
    floe_error jerr = {0};
    if (floe_job_open(&job, s, t, &jerr) == FLOE_OK) {
      int lrc = floe_late_rows_find(&job, floe_table_metadata(table), &totals, &late, &jerr);
      floe_job_close(&job);
      if (lrc == FLOE_ENOMEM) goto nomem;
      if (lrc == FLOE_OK && late.checked) {
        st->late_checked = true;
        st->rows_invalid = late.rows_invalid;
        st->rows_late = late.rows_late;
        st->late_ranges = late.ranges;
        st->n_late_ranges = late.n_ranges;
        late.ranges = NULL;
        late.n_ranges = 0;
      }
      if (lrc == FLOE_OK) floe_late_rows_free(&late);
    }
  }
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_table_free(table);
  floe_commit_list_free(&commits);
  floe_control_rows_free(&rows);
  return rc;
}

int floe_replicate_status(const floe_config *cfg, const floe_run_options *options,
                          floe_status_report *out, floe_error *err) {
  floe_session s;
  bool ctl_exists = false;
  memset(out, 0, sizeof *out);
  int rc = FLOE_OK;
  for (size_t i = 0; options != NULL && i < options->n_tables; i++)
    if (floe_config_table_find(cfg, options->tables[i]) == NULL)
      return floe_error_set(err, FLOE_EINVAL, "--table %s: no such table in the configuration",
                            options->tables[i]);
  FLOE_TRY(floe_session_open(&s, cfg, NULL, err));
  FLOE_TRY(floe_control_exists(&s.ctl, &ctl_exists, err));
  for (size_t i = 0; i < cfg->n_tables; i++) {
    const floe_config_table *t = &cfg->tables[i];
    bool want = options == NULL || options->n_tables == 0;
    for (size_t k = 0; !want && k < options->n_tables; k++) want = strcmp(options->tables[k], t->name) == 0;
    if (!want) continue;
    floe_status_table *st = NULL;
    FLOE_TRY(floe_status_report_add(out, &st, err));
    st->name = floe_strdup(t->name);
    st->target = floe_replicate_strdupf("%s.%s", t->target_namespace ? t->target_namespace : "default",
                                        t->target_name ? t->target_name : t->name);
    st->total_records = -1;
    st->rows_late = -1;
    if (st->name == NULL || st->target == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    floe_error terr = {0};
    int trc = status_table(&s, ctl_exists, t, st, &terr);
    if (trc == FLOE_ENOMEM) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if (trc < 0) st->message = floe_strdup(terr.message);
  }
cleanup:
  floe_session_close(&s);
  return rc;
}

/* ---- the control table's rows ------------------------------------------- */

static bool control_wanted(const floe_run_options *options, const char *name) {
  if (options == NULL || options->n_tables == 0) return true;
  for (size_t k = 0; k < options->n_tables; k++)
    if (strcmp(options->tables[k], name) == 0) return true;
  return false;
}

void floe_control_report_free(floe_control_report *report) {
  if (report == NULL) return;
  for (size_t i = 0; i < report->n_entries; i++) {
    floe_control_entry *c = &report->entries[i];
    floe_free(c->table_name);
    floe_free(c->run_id);
    floe_free(c->inserted_at);
    floe_free(c->watermark);
    floe_free(c->kind);
  }
  floe_free(report->entries);
  memset(report, 0, sizeof *report);
}

static char *dup_or_null(const char *s, bool *failed) {
  if (s == NULL) return NULL;
  char *copy = floe_strdup(s);
  if (copy == NULL) *failed = true;
  return copy;
}

int floe_replicate_control(const floe_config *cfg, const floe_run_options *options,
                           floe_control_report *out, floe_error *err) {
  floe_session s;
  floe_control_rows rows;
  bool ctl_exists = false;
  int rc = FLOE_OK;
  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  memset(&rows, 0, sizeof rows);
  for (size_t i = 0; options != NULL && i < options->n_tables; i++)
    if (floe_config_table_find(cfg, options->tables[i]) == NULL)
      return floe_error_set(err, FLOE_EINVAL, "table %s: no such table in the configuration",
                            options->tables[i]);
  FLOE_TRY(floe_session_open(&s, cfg, NULL, err));
  FLOE_TRY(floe_control_exists(&s.ctl, &ctl_exists, err));
  for (size_t i = 0; ctl_exists && i < cfg->n_tables; i++) {
    const floe_config_table *t = &cfg->tables[i];
    if (!control_wanted(options, t->name)) continue;
    FLOE_TRY(floe_control_history(&s.ctl, t->name, &rows, err));
    if (rows.n > 0) {
      floe_control_entry *grown =
          floe_realloc(out->entries, (out->n_entries + rows.n) * sizeof *grown);
      if (grown == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      out->entries = grown;
    }
    for (size_t k = 0; k < rows.n; k++) {
      const floe_control_row *r = &rows.rows[k];
      floe_control_entry *c = &out->entries[out->n_entries++];
      bool failed = false;
      memset(c, 0, sizeof *c);
      c->batch_sk = r->batch_sk;
      c->table_name = dup_or_null(t->name, &failed);
      c->run_id = dup_or_null(r->run_id, &failed);
      c->inserted_at = dup_or_null(r->inserted_at, &failed);
      c->watermark = dup_or_null(r->watermark, &failed);
      c->kind = dup_or_null(r->kind, &failed);
      if (failed) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
    floe_control_rows_free(&rows);
  }
cleanup:
  floe_control_rows_free(&rows);
  floe_session_close(&s);
  if (rc < 0) floe_control_report_free(out);
  return rc;
}
