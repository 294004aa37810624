/*
 * replicate/sf_cdc: Snowflake change capture for the engine — what a CDC
 * unit reads from a standard stream (through the ledger table) or from the
 * CHANGES clause, and the ledger that makes a stream's consumption exactly
 * once.
 *
 * A stream's offset advances only when a DML statement that reads it
 * commits ("Introduction to streams", offset storage), and the SQL API has
 * no session to hold it open, so floe never reads a stream straight into
 * Iceberg: a read that died before the Iceberg commit would have moved the
 * offset anyway, or (with a SELECT) left it for a second reader. Instead
 * one multi-statement request (BEGIN; DELETE the ledger's already committed
 * batches; INSERT INTO ledger SELECT ... FROM stream; COMMIT) copies the
 * stream into the ledger table `<TABLE>_FLOE_LEDGER`, stamped with the next
 * batch number and a row number, and advances the offset in the same
 * transaction. The batch is then merged into Iceberg from the ledger and
 * the commit records it (floe.batch-sk.high). A run that finds a ledger
 * batch above the last committed one finishes that batch instead of reading
 * the stream again. sql/snowflake/ledger.sql documents the statements.
 *
 * CHANGES (`SELECT ... FROM t CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP
 * => start) END(TIMESTAMP => end)`) needs no ledger: the window is fixed by
 * its two positions, so it can be read again; the end position travels in
 * the snapshot summary (floe.changes.end) and the next window starts there.
 *
 * Both give net changes per row: METADATA$ACTION (INSERT/DELETE) and
 * METADATA$ISUPDATE; an update is a DELETE and an INSERT with ISUPDATE set.
 * Each becomes a change row for the merge (include/floe/merge.h, kind
 * CDC_OP) with the operation in the column FLOE$OP: DELETE -> 'D', INSERT
 * with ISUPDATE -> 'U', other INSERT -> 'I'. Rows come ordered so that a
 * key's DELETE precedes its INSERT (the merge keeps the last change of a
 * key by arrival), which also handles an update that changed the key: the
 * old key is deleted, the new one upserted.
 */
#include "replicate/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "floe/log.h"

void floe_cdc_query_free(floe_cdc_query *q) {
  if (q == NULL) return;
  floe_free(q->select_sql);
  floe_free(q->count_sql);
  for (size_t i = 0; i < sizeof q->text / sizeof q->text[0]; i++) floe_free(q->text[i]);
  memset(q, 0, sizeof *q);
}

static int nomem(floe_error *err) { return floe_error_set(err, FLOE_ENOMEM, "out of memory"); }

/* "col1", "col2", ... of the source in describe order. */
static int append_columns(const floe_job *job, floe_buf *sql, floe_error *err) {
  for (int64_t i = 0; i < job->desc.n_columns; i++) {
    char *q = NULL;
    int rc = floe_source_quote_ident(job->session->src, job->desc.columns[i].name, &q, err);
    if (rc < 0) return rc;
    rc = floe_buf_appendf(sql, "%s%s", i ? ", " : "", q);
    floe_free(q);
    if (rc < 0) return nomem(err);
  }
  return FLOE_OK;
}

static const char op_expr[] =
    "CASE WHEN METADATA$ACTION = 'DELETE' THEN 'D' WHEN METADATA$ISUPDATE THEN 'U' "
    "ELSE 'I' END AS " FLOE_CDC_OP_NAME;

/* Builds "SELECT <columns>, <op> FROM <from> [<tail>]" and
 * "SELECT count(*) FROM <from> [<where>]". */
static int build(const floe_job *job, const char *op, const char *from, const char *where,
                 const char *order, floe_cdc_query *out, floe_error *err) {
  floe_buf sel, cnt;
  floe_buf_init(&sel);
  floe_buf_init(&cnt);
  int rc = floe_buf_append_str(&sel, "SELECT ") < 0 ? nomem(err) : FLOE_OK;
  if (rc == FLOE_OK) rc = append_columns(job, &sel, err);
  if (rc == FLOE_OK &&
      (floe_buf_appendf(&sel, ", %s FROM %s%s%s%s%s", op, from, where ? " WHERE " : "",
                        where ? where : "", order ? " ORDER BY " : "", order ? order : "") < 0 ||
       floe_buf_terminate(&sel) < 0 ||
       floe_buf_appendf(&cnt, "SELECT count(*) FROM %s%s%s", from, where ? " WHERE " : "",
                        where ? where : "") < 0 ||
       floe_buf_terminate(&cnt) < 0))
    rc = nomem(err);
  if (rc < 0) {
    floe_buf_free(&sel);
    floe_buf_free(&cnt);
    return rc;
  }
  out->select_sql = (char *)floe_buf_detach(&sel, NULL);
  out->count_sql = (char *)floe_buf_detach(&cnt, NULL);
  return FLOE_OK;
}

int floe_cdc_copy_query(const floe_job *job, floe_cdc_query *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  int rc = build(job, "'I' AS " FLOE_CDC_OP_NAME, job->source_sql, NULL, NULL, out, err);
  if (rc < 0) floe_cdc_query_free(out);
  return rc;
}

int floe_cdc_ledger_query(const floe_job *job, const floe_cdc_ledger *ledger, int64_t low,
                          int64_t high, floe_cdc_query *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  out->params[0] = floe_param_int64(low);
  out->params[1] = floe_param_int64(high);
  out->n_params = 2;
  int rc = build(job, op_expr, ledger->ledger_sql, "FLOE_BATCH_SK > :1 AND FLOE_BATCH_SK <= :2",
                 "FLOE_BATCH_SK, FLOE_ROW", out, err);
  if (rc < 0) floe_cdc_query_free(out);
  return rc;
}

int floe_cdc_changes_query(const floe_job *job, const char *start, const char *end,
                           floe_cdc_query *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  int rc = FLOE_OK;
  char *from = floe_replicate_strdupf(
      "%s CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => TO_TIMESTAMP_TZ(:1)) "
      "END(TIMESTAMP => TO_TIMESTAMP_TZ(:2))",
      job->source_sql);
  out->text[0] = floe_strdup(start);
  out->text[1] = floe_strdup(end);
  if (from == NULL || out->text[0] == NULL || out->text[1] == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  out->params[0] = floe_param_text(out->text[0]);
  out->params[1] = floe_param_text(out->text[1]);
  out->n_params = 2;
  /* DELETE sorts before INSERT: a key's old row goes before its new one. */
  rc = build(job, op_expr, from, NULL, "METADATA$ACTION", out, err);
cleanup:
  floe_free(from);
  if (rc < 0) floe_cdc_query_free(out);
  return rc;
}

int floe_cdc_changes_probe(const floe_job *job, const char *start, floe_cdc_query *out,
                           floe_error *err) {
  memset(out, 0, sizeof *out);
  int rc = FLOE_OK;
  /* "CHANGES": END is optional (the interval then ends now), so a probe at
   * the copy's position is a documented form; a window whose start equals
   * its end is not. */
  char *from = floe_replicate_strdupf(
      "%s CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => TO_TIMESTAMP_TZ(:1))", job->source_sql);
  out->text[0] = floe_strdup(start);
  if (from == NULL || out->text[0] == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  out->params[0] = floe_param_text(out->text[0]);
  out->n_params = 1;
  rc = build(job, op_expr, from, NULL, NULL, out, err);
cleanup:
  floe_free(from);
  if (rc < 0) floe_cdc_query_free(out);
  return rc;
}

/* ---- the ledger ------------------------------------------------------------ */

void floe_cdc_ledger_close(floe_cdc_ledger *l) {
  if (l == NULL) return;
  floe_free(l->stream_sql);
  floe_free(l->ledger_sql);
  floe_free(l->ledger_name);
  memset(l, 0, sizeof *l);
}

/* The schema part of a folded qualified name ("DB.S.T" -> "DB.S"), or NULL
 * when unqualified. Quoted parts may hold dots. */
static char *qualifier_of(const char *name) {
  const char *last = NULL;
  bool quoted = false;
  for (const char *p = name; *p; p++) {
    if (*p == '"') quoted = !quoted;
    else if (*p == '.' && !quoted) last = p;
  }
  return last ? floe_strndup(name, (size_t)(last - name)) : NULL;
}

int floe_cdc_ledger_open(floe_cdc_ledger *l, const floe_job *job, floe_error *err) {
  const floe_config_table *t = job->t;
  floe_source *src = job->session->src;
  char *folded = NULL, *qualifier = NULL, *name = NULL;
  int rc = FLOE_OK;
  memset(l, 0, sizeof *l);
  if (t->cdc.stream == NULL || t->cdc.stream[0] == '\0') {
    rc = floe_error_set(err, FLOE_EINVAL, "cdc.stream: missing (the Snowflake stream to read)");
    goto cleanup;
  }
  FLOE_TRY(floe_job_fold_name(src, t->cdc.stream, &folded, err));
  FLOE_TRY(floe_source_quote_name(src, folded, &l->stream_sql, err));
  floe_free(folded);
  folded = NULL;
  /* Beside the control table when control.schema is set, else beside the
   * source table (a stream and the DML that consumes it may sit anywhere in
   * the account, but people look for the ledger next to its table). */
  const char *schema = job->session->cfg->control.schema;
  if (schema != NULL && schema[0] != '\0') {
    qualifier = floe_strdup(schema);
    if (qualifier == NULL) goto oom;
  } else {
    FLOE_TRY(floe_job_fold_name(src, t->source ? t->source : t->name, &folded, err));
    qualifier = qualifier_of(folded);
  }
  name = floe_replicate_strdupf("%s%s%s_floe_ledger", qualifier ? qualifier : "",
                                qualifier ? "." : "", t->name);
  if (name == NULL) goto oom;
  floe_free(folded);
  folded = NULL;
  FLOE_TRY(floe_job_fold_name(src, name, &l->ledger_name, err));
  FLOE_TRY(floe_source_quote_name(src, l->ledger_name, &l->ledger_sql, err));
  goto cleanup;
oom:
  rc = nomem(err);
cleanup:
  floe_free(folded);
  floe_free(qualifier);
  floe_free(name);
  if (rc < 0) {
    floe_error_prefix(err, "stream %s", t->cdc.stream ? t->cdc.stream : "");
    floe_cdc_ledger_close(l);
  }
  return rc;
}

/* The ledger's columns: the source's (declared types, all nullable: a
 * DELETE row of a dropped column has none), then the stream's metadata and
 * floe's batch stamp. */
int floe_cdc_ledger_create(floe_cdc_ledger *l, const floe_job *job, floe_error *err) {
  floe_source *src = job->session->src;
  floe_source_table have;
  floe_buf sql;
  memset(&have, 0, sizeof have);
  /* information_schema.columns names VECTOR and MAP columns without their
   * element types and dimension, which their DDL needs: the ledger could
   * not declare them, so the table is refused at discovery. */
  for (int64_t i = 0; i < job->desc.n_columns; i++) {
    const char *d = job->desc.columns[i].declared_type;
    if (d != NULL && (strcasecmp(d, "VECTOR") == 0 || strcasecmp(d, "MAP") == 0))
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "ledger %s: column %s is %s, whose element type (and dimension) "
                            "information_schema does not give, so the stream ledger cannot "
                            "declare it; use cdc: {type: changes} (no ledger) or leave the "
                            "column out of the stream's table",
                            l->ledger_name, job->desc.columns[i].name, d);
  }
  floe_buf_init(&sql);
  int rc = floe_buf_appendf(&sql, "CREATE TABLE IF NOT EXISTS %s (", l->ledger_sql) < 0
               ? nomem(err)
               : FLOE_OK;
  for (int64_t i = 0; rc == FLOE_OK && i < job->desc.n_columns; i++) {
    char *q = NULL;
    rc = floe_source_quote_ident(src, job->desc.columns[i].name, &q, err);
    if (rc == FLOE_OK && floe_buf_appendf(&sql, "\n  %s %s,", q,
                                          job->desc.columns[i].declared_type) < 0)
      rc = nomem(err);
    floe_free(q);
  }
  if (rc == FLOE_OK &&
      (floe_buf_append_str(&sql, "\n  METADATA$ACTION   VARCHAR,"
                                 "\n  METADATA$ISUPDATE BOOLEAN,"
                                 "\n  METADATA$ROW_ID   VARCHAR,"
                                 "\n  FLOE_BATCH_SK     NUMBER(38, 0) NOT NULL,"
                                 "\n  FLOE_ROW          NUMBER(38, 0) NOT NULL\n)") < 0 ||
       floe_buf_terminate(&sql) < 0))
    rc = nomem(err);
  if (rc == FLOE_OK) rc = floe_source_exec(src, (const char *)sql.data, NULL, 0, NULL, err);
  /* Source columns added since the ledger was made (schema drift). */
  if (rc == FLOE_OK) rc = floe_source_describe(src, l->ledger_name, &have, err);
  for (int64_t i = 0; rc == FLOE_OK && i < job->desc.n_columns; i++) {
    const floe_source_column *c = &job->desc.columns[i];
    if (floe_schema_find_column(&have, c->name) >= 0) continue;
    char *q = NULL;
    rc = floe_source_quote_ident(src, c->name, &q, err);
    floe_buf_reset(&sql);
    if (rc == FLOE_OK && (floe_buf_appendf(&sql, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s",
                                           l->ledger_sql, q, c->declared_type) < 0 ||
                          floe_buf_terminate(&sql) < 0))
      rc = nomem(err);
    floe_free(q);
    if (rc == FLOE_OK) {
      floe_log(FLOE_LOG_INFO, "schema_change", "table=%s ledger=%s added=%s", job->t->name,
               l->ledger_name, c->name);
      rc = floe_source_exec(src, (const char *)sql.data, NULL, 0, NULL, err);
    }
  }
  floe_source_table_free(&have);
  floe_buf_free(&sql);
  if (rc < 0) floe_error_prefix(err, "ledger %s: create", l->ledger_name);
  return rc;
}

static int scalar(floe_source *src, const char *fmt, const char *name, const floe_source_param *p,
                  size_t n, int64_t *out, floe_error *err) {
  char *sql = floe_replicate_strdupf(fmt, name);
  bool is_null = false;
  if (sql == NULL) return nomem(err);
  int rc = floe_source_query_int64(src, sql, p, n, out, &is_null, err);
  floe_free(sql);
  if (rc == FLOE_OK && is_null) *out = 0;
  return rc;
}

int floe_cdc_ledger_max(floe_cdc_ledger *l, const floe_job *job, int64_t *out, floe_error *err) {
  int rc = scalar(job->session->src, "SELECT max(FLOE_BATCH_SK) FROM %s", l->ledger_sql, NULL, 0,
                  out, err);
  if (rc < 0) floe_error_prefix(err, "ledger %s", l->ledger_name);
  return rc;
}

int floe_cdc_ledger_rows(floe_cdc_ledger *l, const floe_job *job, int64_t batch, int64_t *out,
                         floe_error *err) {
  floe_source_param p = floe_param_int64(batch);
  int rc = scalar(job->session->src, "SELECT count(*) FROM %s WHERE FLOE_BATCH_SK = :1",
                  l->ledger_sql, &p, 1, out, err);
  if (rc < 0) floe_error_prefix(err, "ledger %s", l->ledger_name);
  return rc;
}

int floe_cdc_stream_pending(floe_cdc_ledger *l, const floe_job *job, int64_t *out,
                            floe_error *err) {
  /* A SELECT does not move the offset. */
  int rc = scalar(job->session->src, "SELECT count(*) FROM %s", l->stream_sql, NULL, 0, out, err);
  if (rc < 0) floe_error_prefix(err, "stream %s", job->t->cdc.stream);
  return rc;
}

int floe_cdc_stream_stage(floe_cdc_ledger *l, const floe_job *job, int64_t committed,
                          int64_t batch, floe_error *err) {
  floe_source *src = job->session->src;
  floe_buf del, ins;
  floe_buf_init(&del);
  floe_buf_init(&ins);
  int rc = FLOE_OK;
  if (floe_buf_appendf(&del, "DELETE FROM %s WHERE FLOE_BATCH_SK <= :1", l->ledger_sql) < 0 ||
      floe_buf_terminate(&del) < 0 ||
      floe_buf_appendf(&ins, "INSERT INTO %s (", l->ledger_sql) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(append_columns(job, &ins, err));
  if (floe_buf_append_str(&ins, ", METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, "
                                "FLOE_BATCH_SK, FLOE_ROW)\nSELECT ") < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  FLOE_TRY(append_columns(job, &ins, err));
  if (floe_buf_appendf(&ins,
                       ", METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, :1, "
                       "ROW_NUMBER() OVER (ORDER BY METADATA$ACTION, METADATA$ROW_ID)\nFROM %s",
                       l->stream_sql) < 0 ||
      floe_buf_terminate(&ins) < 0) {
    rc = nomem(err);
    goto cleanup;
  }
  floe_source_param p_committed = floe_param_int64(committed);
  floe_source_param p_batch = floe_param_int64(batch);
  /* One request: BEGIN; DELETE; INSERT ... FROM stream; COMMIT. The offset
   * moves if and only if the batch is in the ledger. */
  FLOE_TRY(floe_source_begin(src, err));
  rc = floe_source_exec(src, (const char *)del.data, &p_committed, 1, NULL, err);
  if (rc == FLOE_OK) rc = floe_source_exec(src, (const char *)ins.data, &p_batch, 1, NULL, err);
  if (rc == FLOE_OK) {
    rc = floe_source_commit(src, err);
  } else {
    floe_error ignored = {0};
    floe_source_rollback(src, &ignored);
  }
cleanup:
  floe_buf_free(&del);
  floe_buf_free(&ins);
  if (rc < 0)
    floe_error_prefix(err, "stream %s: stage batch %lld into ledger %s", job->t->cdc.stream,
                      (long long)batch, l->ledger_name);
  return rc;
}

/* ---- CHANGES positions ---------------------------------------------------- */

int floe_cdc_now(const floe_job *job, char **out, floe_error *err) {
  /* The driver renders a timestamp read as text canonically
   * ("YYYY-MM-DD HH:MM:SS.ffffff+00:00"), whatever the session's
   * TIMESTAMP_OUTPUT_FORMAT, and TO_TIMESTAMP_TZ reads that back. */
  int rc = floe_source_query_text(job->session->src, "SELECT CURRENT_TIMESTAMP()", NULL, 0, out,
                                  err);
  if (rc == FLOE_OK && *out == NULL)
    rc = floe_error_set(err, FLOE_ESOURCE, "CURRENT_TIMESTAMP() returned NULL");
  if (rc < 0) floe_error_prefix(err, "read the source's current time");
  return rc;
}

int floe_cdc_committed_position(const floe_iceberg_metadata *md, const char *table_name,
                                char **out, floe_error *err) {
  floe_commit_list commits;
  memset(&commits, 0, sizeof commits);
  *out = NULL;
  if (md == NULL) return FLOE_OK;
  int rc = floe_commits_collect(md, table_name, &commits, err);
  if (rc < 0) return rc;
  const floe_commit_info *latest = floe_commits_latest(&commits);
  const floe_iceberg_snapshot *snap =
      latest ? floe_iceberg_metadata_snapshot(md, latest->snapshot_id) : NULL;
  const char *end = floe_iceberg_snapshot_summary(snap, "floe.changes.end");
  if (end != NULL && (*out = floe_strdup(end)) == NULL) rc = nomem(err);
  floe_commit_list_free(&commits);
  return rc;
}

int floe_cdc_query_count(const floe_job *job, const floe_cdc_query *q, int64_t *out,
                         floe_error *err) {
  bool is_null = false;
  int rc = floe_source_query_int64(job->session->src, q->count_sql, q->params, q->n_params, out,
                                   &is_null, err);
  if (rc == FLOE_OK && is_null) *out = 0;
  if (rc < 0) floe_error_prefix(err, "count changes of %s", job->source_sql);
  return rc;
}
