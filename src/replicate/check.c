/*
 * replicate/check: `floe config check --connect` — what the configuration
 * names, checked against the live systems before a run depends on it: the
 * source answers, every source table exists with its batch or cursor,
 * partition, operation, key, sequence and order columns, and the catalog
 * opens and its target tables (when they exist already) are ones floe
 * writes. Reads only (no control table, no namespace is created).
 */
#include "replicate/engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "floe/table.h"

static int problem(floe_buf *out, const char *table, const char *what, int *n) {
  (*n)++;
  return floe_buf_appendf(out, "table %s: %s\n", table, what) < 0 ? FLOE_ENOMEM : FLOE_OK;
}

/* A configured column the source must have. */
static int need_column(const floe_job *job, const char *key, const char *column, floe_buf *out,
                       int *n) {
  if (column == NULL || floe_schema_find_column(&job->desc, column) >= 0) return FLOE_OK;
  char what[512];
  snprintf(what, sizeof what, "%s: column '%s' is not a column of source table %s", key, column,
           job->source_sql);
  return problem(out, job->t->name, what, n);
}

int floe_replicate_check_online(const floe_config *cfg, floe_buf *out, int *out_problems,
                                floe_error *err) {
  floe_session s;
  int rc = FLOE_OK, n = 0;
  *out_problems = 0;
  FLOE_TRY(floe_session_open(&s, cfg, NULL, err));
  for (size_t i = 0; i < cfg->n_tables; i++) {
    const floe_config_table *t = &cfg->tables[i];
    floe_job job;
    floe_error terr = {0};
    int trc = floe_job_open(&job, &s, t, &terr);
    if (trc == FLOE_ENOMEM) {
      rc = floe_error_set(err, trc, "out of memory");
      goto cleanup;
    }
    if (trc < 0) {
      FLOE_TRY(problem(out, t->name, terr.message, &n));
      continue;
    }
    for (size_t k = 0; k < t->n_primary_key && rc == FLOE_OK; k++)
      rc = need_column(&job, "primary_key", t->primary_key[k], out, &n);
    if (rc == FLOE_OK) rc = need_column(&job, "merge.order_by", t->merge.order_by, out, &n);
    if (rc == FLOE_OK) rc = need_column(&job, "cdc.sequence", t->cdc.sequence, out, &n);
    if (rc == FLOE_OK && t->mode == FLOE_MODE_MERGE && t->n_primary_key == 0) {
      bool declared = false;
      for (int64_t c = 0; c < job.desc.n_columns; c++) declared |= job.desc.columns[c].pk_ordinal > 0;
      if (!declared)
        rc = problem(out, t->name,
                     "mode merge needs a key: set primary_key (the source declares none)", &n);
    }
    if (rc == FLOE_OK) {
      floe_table *table = NULL;
      floe_error cerr = {0};
      int lrc = floe_table_load(s.catalog, floe_job_ident(&job), &table, &cerr);
      if (lrc == FLOE_OK && floe_table_metadata(table)->format_version >= 3)
        rc = problem(out, t->name,
                     "the target is an Iceberg format-version 3 table, which floe does not "
                     "write yet",
                     &n);
      else if (lrc < 0 && lrc != FLOE_ENOTFOUND)
        rc = problem(out, t->name, cerr.message, &n);
      floe_table_free(table);
    }
    floe_job_close(&job);
    if (rc < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  *out_problems = n;
cleanup:
  floe_session_close(&s);
  return rc;
}
