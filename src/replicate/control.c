/*
 * replicate/control: the control table, floe's insert-only ledger of
 * replicated batches in the source database (DESIGN.md, "The job, in the
 * user's words").
 *
 * One row per (table_name, batch_sk): the batch number loaded up to, the
 * run that inserted it, when, the cursor watermark (cursor-column tables)
 * and the kind of row ("init" for the first (table, 0), "load", "repair"
 * for a row re-inserted by reconciliation). Rows are only inserted; the one
 * delete is the compensation of a row whose load failed, guarded so that it
 * removes only that run's row and only while it is the table's latest.
 *
 * The statements live here, per dialect, and are shipped word for word in
 * sql/<dialect>/control.sql for people who manage the table by hand;
 * tests/unit/test_replicate_control.c checks that the files match these
 * strings. `{control}` stands for the (quoted) table name; the shipped files
 * write it as floe_control. SQLite accepts PostgreSQL's $1 parameters (they
 * are named parameters there, numbered in order of first use), so the two
 * share their statement texts; Snowflake binds :1.
 */
#include "replicate/engine_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "floe/source.h"

static const char *const stmt_names[FLOE_CONTROL_STMT_COUNT] = {
    "create", "latest", "previous", "history", "insert", "compensate", "latest_all"};

const char *floe_control_stmt_name(floe_control_stmt stmt) {
  return (unsigned)stmt < FLOE_CONTROL_STMT_COUNT ? stmt_names[stmt] : "?";
}

static const char *const sqlite_sql[FLOE_CONTROL_STMT_COUNT] = {
    "CREATE TABLE IF NOT EXISTS {control} (\n"
    "  table_name  TEXT    NOT NULL,\n"
    "  batch_sk    INTEGER NOT NULL,\n"
    "  run_id      TEXT    NOT NULL,\n"
    "  inserted_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
    "  watermark   TEXT,\n"
    "  kind        TEXT    NOT NULL DEFAULT 'manual',\n"
    "  PRIMARY KEY (table_name, batch_sk)\n"
    ")",
    "SELECT max(batch_sk) FROM {control} WHERE table_name = $1",
    "SELECT max(batch_sk) FROM {control} WHERE table_name = $1 AND batch_sk < $2",
    "SELECT batch_sk, run_id, CAST(inserted_at AS TEXT) AS inserted_at, watermark, kind\n"
    "FROM {control} WHERE table_name = $1 ORDER BY batch_sk",
    "INSERT INTO {control} (table_name, batch_sk, run_id, watermark, kind)\n"
    "VALUES ($1, $2, $3, $4, $5)",
    "DELETE FROM {control}\n"
    "WHERE table_name = $1 AND batch_sk = $2 AND run_id = $3\n"
    "  AND batch_sk = (SELECT max(batch_sk) FROM {control} WHERE table_name = $1)",
    "SELECT table_name, max(batch_sk) AS batch_sk, count(*) AS loads\n"
    "FROM {control} GROUP BY table_name ORDER BY table_name",
};

static const char *const postgres_sql[FLOE_CONTROL_STMT_COUNT] = {
    "CREATE TABLE IF NOT EXISTS {control} (\n"
    "  table_name  text        NOT NULL,\n"
    "  batch_sk    bigint      NOT NULL,\n"
    "  run_id      text        NOT NULL,\n"
    "  inserted_at timestamptz NOT NULL DEFAULT now(),\n"
    "  watermark   text,\n"
    "  kind        text        NOT NULL DEFAULT 'manual',\n"
    "  PRIMARY KEY (table_name, batch_sk)\n"
    ")",
    NULL, NULL, NULL, NULL, NULL, NULL, /* as SQLite */
};

static const char *const snowflake_sql[FLOE_CONTROL_STMT_COUNT] = {
    "CREATE TABLE IF NOT EXISTS {control} (\n"
    "  table_name  VARCHAR       NOT NULL,\n"
    "  batch_sk    NUMBER(38, 0) NOT NULL,\n"
    "  run_id      VARCHAR       NOT NULL,\n"
    "  inserted_at TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),\n"
    "  watermark   VARCHAR,\n"
    "  kind        VARCHAR       NOT NULL DEFAULT 'manual',\n"
    "  PRIMARY KEY (table_name, batch_sk)\n"
    ")",
    "SELECT max(batch_sk) FROM {control} WHERE table_name = :1",
    "SELECT max(batch_sk) FROM {control} WHERE table_name = :1 AND batch_sk < :2",
    "SELECT batch_sk, run_id, inserted_at, watermark, kind\n"
    "FROM {control} WHERE table_name = :1 ORDER BY batch_sk",
    /* Idempotent by itself (a retried request may run twice where the
     * requestId is not honoured, and the primary key is not enforced). */
    "INSERT INTO {control} (table_name, batch_sk, run_id, watermark, kind)\n"
    "SELECT :1, :2, :3, :4, :5\n"
    "WHERE NOT EXISTS (SELECT 1 FROM {control} WHERE table_name = :1 AND batch_sk = :2)",
    "DELETE FROM {control}\n"
    "WHERE table_name = :1 AND batch_sk = :2 AND run_id = :3\n"
    "  AND batch_sk = (SELECT max(batch_sk) FROM {control} WHERE table_name = :1)",
    "SELECT table_name, max(batch_sk) AS batch_sk, count(*) AS loads\n"
    "FROM {control} GROUP BY table_name ORDER BY table_name",
};

int floe_control_sql(const char *dialect, floe_control_stmt stmt,
                     const char *table_sql, char **out, floe_error *err) {
  *out = NULL;
  if ((unsigned)stmt >= FLOE_CONTROL_STMT_COUNT)
    return floe_error_set(err, FLOE_EINVAL, "control table: unknown statement %d",
                          (int)stmt);
  const char *text = NULL;
  if (dialect != NULL && strcmp(dialect, "sqlite") == 0) {
    text = sqlite_sql[stmt];
  } else if (dialect != NULL && strcmp(dialect, "postgres") == 0) {
    text = postgres_sql[stmt] ? postgres_sql[stmt] : sqlite_sql[stmt];
  } else if (dialect != NULL && strcmp(dialect, "snowflake") == 0) {
    text = snowflake_sql[stmt];
  } else {
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "control table: no statements for dialect '%s'",
                          dialect ? dialect : "(none)");
  }
  if (table_sql == NULL) table_sql = "floe_control";
  static const char placeholder[] = "{control}";
  size_t n_place = 0;
  for (const char *p = strstr(text, placeholder); p; p = strstr(p + 1, placeholder))
    n_place++;
  size_t len = strlen(text) + n_place * strlen(table_sql) + 1;
  char *sql = floe_malloc(len);
  if (sql == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  char *w = sql;
  const char *r = text;
  for (const char *p; (p = strstr(r, placeholder)) != NULL; r = p + sizeof placeholder - 1) {
    memcpy(w, r, (size_t)(p - r));
    w += p - r;
    memcpy(w, table_sql, strlen(table_sql));
    w += strlen(table_sql);
  }
  strcpy(w, r);
  *out = sql;
  return FLOE_OK;
}

void floe_control_rows_free(floe_control_rows *rows) {
  if (rows == NULL) return;
  for (size_t i = 0; i < rows->n; i++) {
    floe_free(rows->rows[i].run_id);
    floe_free(rows->rows[i].inserted_at);
    floe_free(rows->rows[i].watermark);
    floe_free(rows->rows[i].kind);
  }
  floe_free(rows->rows);
  rows->rows = NULL;
  rows->n = 0;
}

const floe_control_row *floe_control_rows_latest(const floe_control_rows *rows) {
  const floe_control_row *best = NULL;
  for (size_t i = 0; rows != NULL && i < rows->n; i++)
    if (best == NULL || rows->rows[i].batch_sk > best->batch_sk) best = &rows->rows[i];
  return best;
}

/* The quoted (schema-qualified) SQL name of `name`. */
static int control_name_sql(floe_source *src, const char *name, const char *schema,
                            char **out, floe_error *err) {
  int rc = FLOE_OK;
  char *qualified = NULL, *folded = NULL;
  *out = NULL;
  if (schema != NULL && schema[0] != '\0') {
    qualified = floe_replicate_strdupf("%s.%s", schema, name);
    if (qualified == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    /* Snowflake: floe_control is FLOE_CONTROL, as in the shipped SQL. */
    FLOE_TRY(floe_job_fold_name(src, qualified, &folded, err));
    FLOE_TRY(floe_source_quote_name(src, folded, out, err));
  } else {
    FLOE_TRY(floe_job_fold_name(src, name, &folded, err));
    if (strcmp(floe_source_dialect(src), "snowflake") == 0)
      FLOE_TRY(floe_source_quote_name(src, folded, out, err));
    else
      FLOE_TRY(floe_source_quote_ident(src, name, out, err));
  }
cleanup:
  floe_free(qualified);
  floe_free(folded);
  return rc;
}

int floe_control_open(floe_control *ctl, floe_source *src, const char *name,
                      const char *schema, floe_error *err) {
  int rc = FLOE_OK;
  memset(ctl, 0, sizeof *ctl);
  ctl->src = src;
  if (name == NULL || name[0] == '\0') name = "floe_control";
  ctl->name = floe_strdup(name);
  ctl->schema = schema != NULL && schema[0] != '\0' ? floe_strdup(schema) : NULL;
  if (ctl->name == NULL || (schema != NULL && schema[0] != '\0' && ctl->schema == NULL)) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(control_name_sql(src, name, schema, &ctl->table_sql, err));
  for (int i = 0; i < FLOE_CONTROL_STMT_COUNT; i++)
    FLOE_TRY(floe_control_sql(floe_source_dialect(src), (floe_control_stmt)i,
                              ctl->table_sql, &ctl->sql[i], err));
cleanup:
  if (rc < 0) {
    floe_error_prefix(err, "control table");
    floe_control_close(ctl);
  }
  return rc;
}

void floe_control_close(floe_control *ctl) {
  if (ctl == NULL) return;
  floe_free(ctl->table_sql);
  for (int i = 0; i < FLOE_CONTROL_STMT_COUNT; i++) floe_free(ctl->sql[i]);
  floe_free(ctl->side_sql);
  floe_free(ctl->insert_main_sql);
  floe_free(ctl->compensate_side_sql);
  floe_free(ctl->create_side_sql);
  floe_free(ctl->name);
  floe_free(ctl->schema);
  memset(ctl, 0, sizeof *ctl);
}

/* ---- the minimal layout ------------------------------------------------------ */

/* SQLite and PostgreSQL share these ($n parameters; {control} and {side}
 * are the quoted tables). The side row is written first and removed last,
 * so a crash between the two steps never leaves a control row without its
 * side row — which would read as the user's row (a baseline). */
static const struct {
  const char *which, *text;
} minimal_sql[] = {
    {"create", "CREATE TABLE IF NOT EXISTS {control} (\n"
               "  table_name  TEXT    NOT NULL,\n"
               "  batch_sk    BIGINT  NOT NULL,\n"
               "  PRIMARY KEY (table_name, batch_sk)\n"
               ")"},
    {"create_side", NULL}, /* the full layout's create, on {side} */
    {"history",
     "SELECT c.batch_sk, r.run_id, CAST(r.inserted_at AS TEXT) AS inserted_at, r.watermark, "
     "r.kind\n"
     "FROM {control} c LEFT JOIN {side} r\n"
     "  ON r.table_name = c.table_name AND r.batch_sk = c.batch_sk\n"
     "WHERE c.table_name = $1 ORDER BY c.batch_sk"},
    {"insert", "INSERT INTO {side} (table_name, batch_sk, run_id, watermark, kind)\n"
               "VALUES ($1, $2, $3, $4, $5)\n"
               "ON CONFLICT (table_name, batch_sk) DO UPDATE SET run_id = excluded.run_id,\n"
               "  watermark = excluded.watermark, kind = excluded.kind"},
    {"insert_main", "INSERT INTO {control} (table_name, batch_sk) VALUES ($1, $2)"},
    {"compensate",
     "DELETE FROM {control}\n"
     "WHERE table_name = $1 AND batch_sk = $2\n"
     "  AND EXISTS (SELECT 1 FROM {side} r\n"
     "              WHERE r.table_name = $1 AND r.batch_sk = $2 AND r.run_id = $3)\n"
     "  AND batch_sk = (SELECT max(batch_sk) FROM {control} WHERE table_name = $1)"},
    {"compensate_side",
     "DELETE FROM {side} WHERE table_name = $1 AND batch_sk = $2 AND run_id = $3"},
};

/* Snowflake's (:n parameters). Snowflake has no INSERT ... ON CONFLICT and
 * enforces no primary key, so the side row is upserted with MERGE and the
 * user's row is inserted only when absent (a retried request may run
 * twice), as the full layout's insert is. */
static const struct {
  const char *which, *text;
} minimal_snowflake_sql[] = {
    {"create", "CREATE TABLE IF NOT EXISTS {control} (\n"
               "  table_name  VARCHAR       NOT NULL,\n"
               "  batch_sk    NUMBER(38, 0) NOT NULL,\n"
               "  PRIMARY KEY (table_name, batch_sk)\n"
               ")"},
    {"history",
     "SELECT c.batch_sk, r.run_id, r.inserted_at, r.watermark, r.kind\n"
     "FROM {control} c LEFT JOIN {side} r\n"
     "  ON r.table_name = c.table_name AND r.batch_sk = c.batch_sk\n"
     "WHERE c.table_name = :1 ORDER BY c.batch_sk"},
    {"insert", "MERGE INTO {side} r\n"
               "USING (SELECT :1 AS table_name, :2 AS batch_sk, :3 AS run_id, :4 AS watermark,\n"
               "              :5 AS kind) n\n"
               "ON r.table_name = n.table_name AND r.batch_sk = n.batch_sk\n"
               "WHEN MATCHED THEN UPDATE SET run_id = n.run_id, watermark = n.watermark,\n"
               "  kind = n.kind\n"
               "WHEN NOT MATCHED THEN INSERT (table_name, batch_sk, run_id, watermark, kind)\n"
               "  VALUES (n.table_name, n.batch_sk, n.run_id, n.watermark, n.kind)"},
    {"insert_main", "INSERT INTO {control} (table_name, batch_sk)\n"
                    "SELECT :1, :2\n"
                    "WHERE NOT EXISTS (SELECT 1 FROM {control} WHERE table_name = :1 AND "
                    "batch_sk = :2)"},
    {"compensate",
     "DELETE FROM {control}\n"
     "WHERE table_name = :1 AND batch_sk = :2\n"
     "  AND EXISTS (SELECT 1 FROM {side} r\n"
     "              WHERE r.table_name = :1 AND r.batch_sk = :2 AND r.run_id = :3)\n"
     "  AND batch_sk = (SELECT max(batch_sk) FROM {control} WHERE table_name = :1)"},
    {"compensate_side",
     "DELETE FROM {side} WHERE table_name = :1 AND batch_sk = :2 AND run_id = :3"},
};

static int substitute(const char *text, const char *control, const char *side, char **out,
                      floe_error *err) {
  floe_buf b;
  floe_buf_init(&b);
  int rc = 0;
  for (const char *p = text; *p;) {
    if (strncmp(p, "{control}", 9) == 0) {
      rc |= floe_buf_append_str(&b, control);
      p += 9;
    } else if (strncmp(p, "{side}", 6) == 0) {
      rc |= floe_buf_append_str(&b, side);
      p += 6;
    } else {
      rc |= floe_buf_append(&b, p, 1);
      p++;
    }
  }
  rc |= floe_buf_terminate(&b);
  if (rc != 0) {
    floe_buf_free(&b);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  *out = (char *)b.data;
  return FLOE_OK;
}

int floe_control_minimal_sql(const char *dialect, const char *which, const char *table_sql,
                             const char *side_sql, char **out, floe_error *err) {
  *out = NULL;
  bool snowflake = dialect != NULL && strcmp(dialect, "snowflake") == 0;
  if (dialect == NULL ||
      (strcmp(dialect, "sqlite") != 0 && strcmp(dialect, "postgres") != 0 && !snowflake))
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "control table: no minimal layout for dialect '%s'; use layout: full",
                          dialect ? dialect : "(none)");
  if (strcmp(which, "create_side") == 0)
    return floe_control_sql(dialect, FLOE_CONTROL_CREATE, side_sql, out, err);
  if (snowflake) {
    for (size_t i = 0; i < sizeof minimal_snowflake_sql / sizeof minimal_snowflake_sql[0]; i++)
      if (strcmp(minimal_snowflake_sql[i].which, which) == 0)
        return substitute(minimal_snowflake_sql[i].text, table_sql, side_sql, out, err);
  } else {
    for (size_t i = 0; i < sizeof minimal_sql / sizeof minimal_sql[0]; i++)
      if (minimal_sql[i].text != NULL && strcmp(minimal_sql[i].which, which) == 0)
        return substitute(minimal_sql[i].text, table_sql, side_sql, out, err);
  }
  return floe_error_set(err, FLOE_EINVAL, "control table: no minimal statement '%s'", which);
}

int floe_control_set_layout(floe_control *ctl, int layout, floe_error *err) {
  int rc = FLOE_OK;
  char *side_name = NULL;
  floe_source_table desc = {0};
  const char *dialect = floe_source_dialect(ctl->src);
  bool minimal = layout == FLOE_CONTROL_LAYOUT_MINIMAL;
  if (layout == FLOE_CONTROL_LAYOUT_AUTO && strcmp(dialect, "snowflake") != 0) {
    char *plain = floe_strdup(ctl->table_sql);
    if (plain == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    rc = floe_source_describe(ctl->src, plain, &desc, err);
    floe_free(plain);
    if (rc < 0) goto cleanup;
    if (desc.exists) {
      bool has_run_id = false;
      for (int64_t i = 0; i < desc.n_columns; i++)
        if (strcasecmp(desc.columns[i].name, "run_id") == 0) has_run_id = true;
      minimal = !has_run_id;
    }
  }
  if (!minimal) goto cleanup;
  side_name = floe_replicate_strdupf("%s_floe", ctl->name);
  if (side_name == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(control_name_sql(ctl->src, side_name, ctl->schema, &ctl->side_sql, err));
  const char *t = ctl->table_sql, *s = ctl->side_sql;
  floe_free(ctl->sql[FLOE_CONTROL_CREATE]);
  floe_free(ctl->sql[FLOE_CONTROL_HISTORY]);
  floe_free(ctl->sql[FLOE_CONTROL_INSERT]);
  floe_free(ctl->sql[FLOE_CONTROL_COMPENSATE]);
  ctl->sql[FLOE_CONTROL_CREATE] = ctl->sql[FLOE_CONTROL_HISTORY] = NULL;
  ctl->sql[FLOE_CONTROL_INSERT] = ctl->sql[FLOE_CONTROL_COMPENSATE] = NULL;
  FLOE_TRY(floe_control_minimal_sql(dialect, "create", t, s, &ctl->sql[FLOE_CONTROL_CREATE], err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "history", t, s, &ctl->sql[FLOE_CONTROL_HISTORY],
                                    err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "insert", t, s, &ctl->sql[FLOE_CONTROL_INSERT], err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "compensate", t, s,
                                    &ctl->sql[FLOE_CONTROL_COMPENSATE], err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "insert_main", t, s, &ctl->insert_main_sql, err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "compensate_side", t, s, &ctl->compensate_side_sql,
                                    err));
  FLOE_TRY(floe_control_minimal_sql(dialect, "create_side", t, s, &ctl->create_side_sql, err));
  ctl->minimal = true;
  floe_log(FLOE_LOG_INFO, "control_layout", "table=%s layout=minimal side_table=%s",
           ctl->table_sql, ctl->side_sql);
cleanup:
  floe_source_table_free(&desc);
  floe_free(side_name);
  if (rc < 0) floe_error_prefix(err, "control table %s", ctl->table_sql);
  return rc;
}

/* Snowflake commits implicitly before and after every DDL statement, so
 * the migration cannot be one transaction there. It is made safe to stop
 * anywhere instead: the new table is built beside the old one (replaced if
 * an earlier attempt left it), filled by one INSERT, and takes the old
 * table's place by one ALTER TABLE ... SWAP WITH (atomic); only then are
 * the old rows (now under the temporary name) and the side table dropped.
 * A stop before the swap changes nothing the runs read; a stop after it
 * leaves the full layout in place and at most two tables to drop by hand. */
static int migrate_snowflake(floe_control *ctl, const char *tmp_sql, int64_t *out_rows,
                             floe_error *err) {
  int rc = FLOE_OK;
  char *create = NULL;
  floe_buf sql;
  floe_buf_init(&sql);
  FLOE_TRY(floe_source_exec(ctl->src, ctl->create_side_sql, NULL, 0, NULL, err));
  FLOE_TRY(floe_control_sql("snowflake", FLOE_CONTROL_CREATE, tmp_sql, &create, err));
  if (floe_buf_appendf(&sql, "DROP TABLE IF EXISTS %s", tmp_sql) < 0 ||
      floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, NULL, err));
  FLOE_TRY(floe_source_exec(ctl->src, create, NULL, 0, NULL, err));
  floe_buf_reset(&sql);
  if (floe_buf_appendf(&sql,
                       "INSERT INTO %s (table_name, batch_sk, run_id, inserted_at, watermark, "
                       "kind)\nSELECT c.table_name, c.batch_sk, coalesce(r.run_id, 'manual'), "
                       "coalesce(r.inserted_at, CURRENT_TIMESTAMP()), r.watermark, "
                       "coalesce(r.kind, 'manual')\nFROM %s c LEFT JOIN %s r "
                       "ON r.table_name = c.table_name AND r.batch_sk = c.batch_sk",
                       tmp_sql, ctl->table_sql, ctl->side_sql) < 0 ||
      floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, out_rows, err));
  const char *steps[3] = {"ALTER TABLE %s SWAP WITH %s", "DROP TABLE %s", "DROP TABLE %s"};
  const char *args[3][2] = {{ctl->table_sql, tmp_sql}, {tmp_sql, NULL}, {ctl->side_sql, NULL}};
  for (int i = 0; i < 3; i++) {
    floe_buf_reset(&sql);
    if (floe_buf_appendf(&sql, steps[i], args[i][0], args[i][1]) < 0 ||
        floe_buf_terminate(&sql) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    FLOE_TRY(floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, NULL, err));
    if (i == 0) floe_debug_crash_point("after_control_swap");
  }
  floe_log(FLOE_LOG_INFO, "control_migrate", "table=%s rows=%lld", ctl->table_sql,
           (long long)*out_rows);
cleanup:
  floe_buf_free(&sql);
  floe_free(create);
  return rc;
}

int floe_control_migrate(floe_control *ctl, int64_t *out_rows, floe_error *err) {
  int rc = FLOE_OK;
  char *tmp_name = NULL, *tmp_sql = NULL, *create = NULL, *plain_name = NULL;
  floe_buf sql;
  floe_buf_init(&sql);
  *out_rows = 0;
  if (!ctl->minimal)
    return floe_error_set(err, FLOE_EINVAL,
                          "control table %s already has the full layout (run_id, inserted_at, "
                          "watermark, kind)",
                          ctl->table_sql);
  tmp_name = floe_replicate_strdupf("%s_floe_migrate", ctl->name);
  if (tmp_name == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(control_name_sql(ctl->src, tmp_name, ctl->schema, &tmp_sql, err));
  if (strcmp(floe_source_dialect(ctl->src), "snowflake") == 0) {
    rc = migrate_snowflake(ctl, tmp_sql, out_rows, err);
    goto cleanup;
  }
  FLOE_TRY(floe_source_quote_ident(ctl->src, ctl->name, &plain_name, err));
  FLOE_TRY(floe_control_sql(floe_source_dialect(ctl->src), FLOE_CONTROL_CREATE, tmp_sql, &create,
                            err));
  /* The side table may not exist yet (floe never wrote to this table). */
  FLOE_TRY(floe_source_exec(ctl->src, ctl->create_side_sql, NULL, 0, NULL, err));
  FLOE_TRY(floe_source_begin(ctl->src, err));
  FLOE_TRY(floe_source_exec(ctl->src, create, NULL, 0, NULL, err));
  int64_t with_side = 0, without = 0;
  if (floe_buf_appendf(&sql,
                       "INSERT INTO %s (table_name, batch_sk, run_id, inserted_at, watermark, "
                       "kind)\nSELECT c.table_name, c.batch_sk, r.run_id, r.inserted_at, "
                       "r.watermark, r.kind\nFROM %s c JOIN %s r ON r.table_name = c.table_name "
                       "AND r.batch_sk = c.batch_sk",
                       tmp_sql, ctl->table_sql, ctl->side_sql) < 0 ||
      floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto rollback;
  }
  rc = floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, &with_side, err);
  if (rc < 0) goto rollback;
  floe_buf_reset(&sql);
  if (floe_buf_appendf(&sql,
                       "INSERT INTO %s (table_name, batch_sk, run_id, kind)\n"
                       "SELECT c.table_name, c.batch_sk, 'manual', 'manual'\nFROM %s c\n"
                       "WHERE NOT EXISTS (SELECT 1 FROM %s r WHERE r.table_name = c.table_name "
                       "AND r.batch_sk = c.batch_sk)",
                       tmp_sql, ctl->table_sql, ctl->side_sql) < 0 ||
      floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto rollback;
  }
  rc = floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, &without, err);
  if (rc < 0) goto rollback;
  const char *steps[3] = {"DROP TABLE %s", "ALTER TABLE %s RENAME TO %s", "DROP TABLE %s"};
  const char *args[3][2] = {{ctl->table_sql, NULL}, {tmp_sql, plain_name}, {ctl->side_sql, NULL}};
  for (int i = 0; i < 3; i++) {
    floe_buf_reset(&sql);
    if (floe_buf_appendf(&sql, steps[i], args[i][0], args[i][1]) < 0 ||
        floe_buf_terminate(&sql) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto rollback;
    }
    rc = floe_source_exec(ctl->src, (const char *)sql.data, NULL, 0, NULL, err);
    if (rc < 0) goto rollback;
  }
  FLOE_TRY(floe_source_commit(ctl->src, err));
  *out_rows = with_side + without;
  floe_log(FLOE_LOG_INFO, "control_migrate", "table=%s rows=%lld floe_rows=%lld manual_rows=%lld",
           ctl->table_sql, (long long)*out_rows, (long long)with_side, (long long)without);
  goto cleanup;
rollback:
  if (floe_source_in_transaction(ctl->src)) {
    floe_error ignored = {0};
    floe_source_rollback(ctl->src, &ignored);
  }
cleanup:
  floe_buf_free(&sql);
  floe_free(tmp_name);
  floe_free(tmp_sql);
  floe_free(create);
  floe_free(plain_name);
  if (rc < 0) floe_error_prefix(err, "control table %s: migrate", ctl->table_sql);
  return rc;
}

int floe_control_create(floe_control *ctl, floe_error *err) {
  if (ctl->minimal) {
    int rc = floe_source_exec(ctl->src, ctl->sql[FLOE_CONTROL_CREATE], NULL, 0, NULL, err);
    if (rc == FLOE_OK)
      rc = floe_source_exec(ctl->src, ctl->create_side_sql, NULL, 0, NULL, err);
    if (rc < 0) floe_error_prefix(err, "control table %s: create", ctl->table_sql);
    return rc;
  }
  int rc = floe_source_exec(ctl->src, ctl->sql[FLOE_CONTROL_CREATE], NULL, 0, NULL, err);
  if (rc == FLOE_ESOURCE) {
    /* Two runs creating it at once: PostgreSQL's CREATE TABLE IF NOT EXISTS
     * is not atomic (the loser fails with a unique violation on pg_type);
     * a second try finds the table. */
    if (err) floe_error_init(err);
    rc = floe_source_exec(ctl->src, ctl->sql[FLOE_CONTROL_CREATE], NULL, 0, NULL, err);
  }
  if (rc < 0) floe_error_prefix(err, "control table %s: create", ctl->table_sql);
  return rc;
}

/* Whether the table named by `table_sql` (quoted) exists in the source. */
static int table_exists(floe_source *src, const char *table_sql, bool *out, floe_error *err) {
  /* describe takes the name as written in the config, unquoted. */
  floe_source_table desc = {0};
  char *plain = floe_strdup(table_sql);
  *out = false;
  if (plain == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = floe_source_describe(src, plain, &desc, err);
  if (rc == FLOE_OK) *out = desc.exists;
  floe_source_table_free(&desc);
  floe_free(plain);
  return rc;
}

int floe_control_exists(floe_control *ctl, bool *out, floe_error *err) {
  int rc = table_exists(ctl->src, ctl->table_sql, out, err);
  /* Minimal layout: the side table is part of it (created with it). */
  if (rc == FLOE_OK && *out && ctl->minimal) rc = table_exists(ctl->src, ctl->side_sql, out, err);
  if (rc < 0) floe_error_prefix(err, "control table %s", ctl->table_sql);
  return rc;
}

static char *view_text(const floe_arrow_view *v, int64_t i) {
  if (floe_arrow_view_is_null(v, i)) return NULL;
  size_t len;
  const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
  return floe_strndup((const char *)bytes, len);
}

int floe_control_history(floe_control *ctl, const char *table_name,
                         floe_control_rows *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_source_stream *stream = NULL;
  struct ArrowArray batch = {0};
  memset(out, 0, sizeof *out);
  floe_source_column cols[5];
  memset(cols, 0, sizeof cols);
  const char *names[5] = {"batch_sk", "run_id", "inserted_at", "watermark", "kind"};
  for (int i = 0; i < 5; i++) {
    cols[i].name = (char *)names[i];
    cols[i].declared_type = (char *)"";
    cols[i].nullable = i != 0;
    cols[i].type = floe_arrow_type_of(i == 0 ? FLOE_ARROW_INT64 : FLOE_ARROW_UTF8);
  }
  floe_source_param param = floe_param_text(table_name);
  floe_source_query_spec spec = {0};
  spec.sql = ctl->sql[FLOE_CONTROL_HISTORY];
  spec.params = &param;
  spec.n_params = 1;
  spec.columns = cols;
  spec.n_columns = 5;
  spec.table = ctl->table_sql;
  size_t cap = 0;
  FLOE_TRY(floe_source_query(ctl->src, &spec, &stream, err));
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  for (;;) {
    rc = floe_source_stream_next(stream, &batch, err);
    if (rc < 0) goto cleanup;
    if (rc == 0) break;
    floe_arrow_view v[5];
    for (int c = 0; c < 5; c++)
      FLOE_TRY(floe_arrow_view_init(&v[c], schema->children[c], batch.children[c], err));
    for (int64_t r = 0; r < batch.length; r++) {
      if (out->n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        floe_control_row *grown = floe_realloc(out->rows, ncap * sizeof *grown);
        if (grown == NULL) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
        out->rows = grown;
        cap = ncap;
      }
      floe_control_row *row = &out->rows[out->n++];
      memset(row, 0, sizeof *row);
      row->batch_sk = floe_arrow_view_int64(&v[0], r);
      row->run_id = view_text(&v[1], r);
      row->inserted_at = view_text(&v[2], r);
      row->watermark = view_text(&v[3], r);
      row->kind = view_text(&v[4], r);
      if ((!floe_arrow_view_is_null(&v[1], r) && row->run_id == NULL) ||
          (!floe_arrow_view_is_null(&v[4], r) && row->kind == NULL)) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
    floe_arrow_array_release(&batch);
  }
  rc = FLOE_OK;
cleanup:
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  if (rc < 0) {
    floe_control_rows_free(out);
    floe_error_prefix(err, "control table %s: read rows of '%s'", ctl->table_sql,
                      table_name);
  }
  return rc;
}

int floe_control_insert(floe_control *ctl, const char *table_name,
                        int64_t batch_sk, const char *run_id,
                        const char *watermark, const char *kind,
                        floe_error *err) {
  floe_source_param params[5] = {floe_param_text(table_name), floe_param_int64(batch_sk),
                                 floe_param_text(run_id), floe_param_text(watermark),
                                 floe_param_text(kind)};
  int rc = floe_debug_fail_point("control_insert", err);
  if (rc == FLOE_OK)
    rc = floe_source_exec(ctl->src, ctl->sql[FLOE_CONTROL_INSERT], params, 5, NULL, err);
  if (rc == FLOE_OK && ctl->minimal) {
    /* The side row is in; the user's table gets its row second. */
    floe_debug_crash_point("between_control_inserts");
    rc = floe_source_exec(ctl->src, ctl->insert_main_sql, params, 2, NULL, err);
  }
  if (rc < 0)
    floe_error_prefix(err, "control table %s: insert ('%s', %lld)", ctl->table_sql,
                      table_name, (long long)batch_sk);
  return rc;
}

int floe_control_compensate(floe_control *ctl, const char *table_name,
                            int64_t batch_sk, const char *run_id,
                            int64_t *out_deleted, floe_error *err) {
  floe_source_param params[3] = {floe_param_text(table_name), floe_param_int64(batch_sk),
                                 floe_param_text(run_id)};
  int64_t deleted = 0;
  int rc = floe_source_exec(ctl->src, ctl->sql[FLOE_CONTROL_COMPENSATE], params, 3,
                            &deleted, err);
  if (rc == FLOE_OK && ctl->minimal && deleted == 1)
    rc = floe_source_exec(ctl->src, ctl->compensate_side_sql, params, 3, NULL, err);
  if (rc < 0)
    floe_error_prefix(err, "control table %s: compensate ('%s', %lld)", ctl->table_sql,
                      table_name, (long long)batch_sk);
  if (out_deleted) *out_deleted = deleted;
  return rc;
}
