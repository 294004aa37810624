/*
 * replicate/plan: everything the engine needs to know before it moves a
 * row — the open source and catalog of a command (floe_session), each
 * configured table resolved against its source (floe_job: which column is
 * the batch number, the cursor, the partition column, the CDC op column),
 * and the SQL that selects the rows of one commit (floe_job_where) with its
 * count and max queries.
 *
 * Column names from the config are matched to the source like every other
 * name in the engine: exactly, else case-insensitively when unique
 * (replicate/schema_map.c). Values are always bound as parameters, never
 * spliced into SQL; identifiers are quoted by the source's dialect. The
 * table's `where:` is the one piece of SQL the user writes, ANDed in
 * parentheses.
 */
#include "replicate/engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/log.h"

/* ---- session ------------------------------------------------------------ */

/* Appends " password='...'" to a key=value conninfo (libpq quoting). */
static int conninfo_with_password(const char *conninfo, const char *password, char **out) {
  floe_buf b;
  floe_buf_init(&b);
  int rc = floe_buf_append_str(&b, conninfo);
  rc |= floe_buf_append_str(&b, " password='");
  for (const char *p = password; *p; p++) {
    if (*p == '\'' || *p == '\\') rc |= floe_buf_append_byte(&b, '\\');
    rc |= floe_buf_append_byte(&b, (uint8_t)*p);
  }
  rc |= floe_buf_append_byte(&b, '\'');
  rc |= floe_buf_terminate(&b);
  if (rc) {
    floe_buf_free(&b);
    return FLOE_ENOMEM;
  }
  *out = (char *)floe_buf_detach(&b, NULL);
  return FLOE_OK;
}

/* An absolute form of a local relative warehouse path ("./w" -> "/cwd/w"),
 * so table locations in metadata are absolute, as every other engine needs
 * them; NULL (no copy needed) for absolute paths and URIs. */
static int absolute_warehouse(const char *warehouse, char **out) {
  *out = NULL;
  if (warehouse == NULL || warehouse[0] == '/' || strstr(warehouse, ":") != NULL) return FLOE_OK;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL) return FLOE_EIO;
  while (warehouse[0] == '.' && warehouse[1] == '/') warehouse += 2;
  size_t n = strlen(warehouse);
  while (n > 1 && warehouse[n - 1] == '/') n--;
  *out = floe_replicate_strdupf("%s/%.*s", cwd, (int)n, warehouse);
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

void floe_replicate_storage_options(const floe_config *cfg, floe_io_options *out) {
  memset(out, 0, sizeof *out);
  const floe_config_storage *st = &cfg->target.storage;
  out->local.durable = cfg->run.durability == FLOE_DURABILITY_NONE ? 0 : 1;
  floe_io_s3_options *s3 = &out->s3;
  s3->region = st->region;
  s3->endpoint = st->endpoint;
  s3->addressing = st->path_style == 1   ? FLOE_S3_ADDRESSING_PATH
                   : st->path_style == 2 ? FLOE_S3_ADDRESSING_VIRTUAL
                                         : FLOE_S3_ADDRESSING_AUTO;
  s3->profile = st->profile;
  s3->access_key_id = st->access_key_id;
  s3->secret_access_key = st->secret_access_key;
  s3->session_token = st->session_token;
  s3->sts_endpoint = st->sts_endpoint;
  s3->no_conditional_writes = st->conditional_writes == 2;
  s3->multipart_threshold = (size_t)st->multipart_threshold;
  s3->part_size = (size_t)st->part_size;
  s3->max_attempts = (int)st->max_attempts;
}

int floe_replicate_open_catalog(const floe_config *cfg, floe_catalog **out,
                                floe_error *err) {
  char *warehouse = NULL;
  int rc;
  *out = NULL;
  const char *cat = floe_config_catalog_type_name(cfg->target.catalog.type);
  floe_catalog_config cc;
  memset(&cc, 0, sizeof cc);
  if (strcmp(cat, "sql") == 0) {
    cc.type = FLOE_CATALOG_SQL;
    cc.sql_uri = cfg->target.catalog.uri;
  } else if (strcmp(cat, "hadoop") == 0) {
    cc.type = FLOE_CATALOG_HADOOP;
  } else {
    const floe_config_catalog *k = &cfg->target.catalog;
    cc.type = FLOE_CATALOG_REST;
    cc.rest.uri = k->uri;
    cc.rest.warehouse = k->warehouse;
    cc.rest.credential = k->credential;
    cc.rest.scope = k->scope;
    cc.rest.oauth2_uri = k->oauth2_server_uri;
    cc.rest.token = k->token;
    cc.rest.sigv4_region = k->sigv4_region;
    cc.rest.sigv4_service = k->sigv4_signing_name;
    cc.rest.sigv4_access_key_id = k->sigv4_access_key_id;
    cc.rest.sigv4_secret_access_key = k->sigv4_secret_access_key;
    cc.rest.sigv4_session_token = k->sigv4_session_token;
    cc.rest.headers = (const floe_catalog_property *)k->headers;
    cc.rest.n_headers = k->n_headers;
    cc.rest.access_delegation =
        k->access_delegation != NULL && strcmp(k->access_delegation, "none") == 0
            ? ""
            : k->access_delegation;
    cc.rest.request_timeout_ms = k->timeout_s > 0 ? (int)(k->timeout_s * 1000) : 0;
  }
  cc.name = cfg->target.catalog.name;
  if (cfg->target.warehouse != NULL &&
      absolute_warehouse(cfg->target.warehouse, &warehouse) < 0)
    return floe_error_set(err, FLOE_EIO, "target.warehouse %s: cannot make it absolute",
                          cfg->target.warehouse);
  cc.warehouse = warehouse ? warehouse : cfg->target.warehouse;
  cc.durable = cfg->run.durability == FLOE_DURABILITY_NONE ? -1 : 1;
  floe_io_options storage;
  floe_replicate_storage_options(cfg, &storage);
  cc.storage = &storage;
  floe_log(FLOE_LOG_INFO, "connect", "catalog=%s warehouse=%s", cat,
           cc.warehouse ? cc.warehouse : "");
  rc = floe_catalog_open(&cc, out, err);
  if (rc < 0) floe_error_prefix(err, "target catalog %s", cat);
  floe_free(warehouse);
  return rc;
}

static bool simple_ident_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (!first && ((c >= '0' && c <= '9') || c == '$'));
}

int floe_job_fold_name(const floe_source *src, const char *name, char **out,
                       floe_error *err) {
  *out = floe_strdup(name ? name : "");
  if (*out == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (strcmp(floe_source_dialect(src), "snowflake") != 0) return FLOE_OK;
  /* Snowflake, "Identifier requirements": an unquoted identifier is stored
   * and resolved in upper case; a double-quoted one is taken as written. */
  char *p = *out;
  while (*p != '\0') {
    if (*p == '"') {
      for (p++; *p != '\0'; p++)
        if (*p == '"' && *++p != '"') break;
    } else {
      char *start = p;
      bool simple = true;
      for (; *p != '\0' && *p != '.'; p++) simple = simple && simple_ident_char(*p, p == start);
      if (simple)
        for (char *c = start; c < p; c++)
          if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
    }
    if (*p == '.') p++;
  }
  return FLOE_OK;
}

/* The QUERY_TAG of a session's statements: the configured tag with
 * "{run_id}" replaced, or the run id ("floe" outside a run); NULL when the
 * job sets query_tag: null. */
static int query_tag_for(const floe_config_source *so, const char *run_id, char **out) {
  const char *id = run_id != NULL ? run_id : "floe";
  floe_buf tag = FLOE_BUF_INIT;
  *out = NULL;
  if (so->query_tag_set && so->query_tag == NULL) return FLOE_OK;
  const char *p = so->query_tag_set ? so->query_tag : "{run_id}";
  while (*p != '\0') {
    const char *hole = strstr(p, "{run_id}");
    size_t n = hole != NULL ? (size_t)(hole - p) : strlen(p);
    if (floe_buf_append(&tag, p, n) < 0 || (hole != NULL && floe_buf_append_str(&tag, id) < 0)) {
      floe_buf_free(&tag);
      return FLOE_ENOMEM;
    }
    p += n + (hole != NULL ? strlen("{run_id}") : 0);
  }
  if (floe_buf_terminate(&tag) < 0) {
    floe_buf_free(&tag);
    return FLOE_ENOMEM;
  }
  *out = (char *)floe_buf_detach(&tag, NULL);
  return *out != NULL ? FLOE_OK : FLOE_ENOMEM;
}

int floe_session_open(floe_session *s, const floe_config *cfg,
                      const volatile sig_atomic_t *interrupt, floe_error *err) {
  return floe_session_open_run(s, cfg, interrupt, NULL, err);
}

int floe_session_open_run(floe_session *s, const floe_config *cfg,
                          const volatile sig_atomic_t *interrupt, const char *run_id,
                          floe_error *err) {
  int rc = FLOE_OK;
  char *conninfo = NULL, *query_tag = NULL;
  memset(s, 0, sizeof *s);
  s->cfg = cfg;
  const char *type_name = floe_config_source_type_name(cfg->source.type);
  floe_source_config sc;
  memset(&sc, 0, sizeof sc);
  sc.type = floe_source_type_from_name(type_name);
  sc.sqlite_path = cfg->source.path;
  sc.postgres_conninfo = cfg->source.conninfo;
  sc.password_env = cfg->source.password_env;
  sc.interrupt = interrupt;
  if (sc.type == FLOE_SOURCE_SNOWFLAKE) {
    const floe_config_source *so = &cfg->source;
    sc.snowflake_account = so->account;
    sc.snowflake_user = so->user;
    sc.snowflake_authenticator = so->authenticator == FLOE_SNOWFLAKE_AUTH_OAUTH ? "oauth"
                                 : so->authenticator == FLOE_SNOWFLAKE_AUTH_PAT ? "pat"
                                                                                : "keypair";
    sc.snowflake_private_key_file = so->private_key_file;
    sc.snowflake_private_key_passphrase_env = so->private_key_passphrase_env;
    sc.snowflake_token_env = so->token_env;
    sc.snowflake_token = so->token;
    sc.snowflake_warehouse = so->warehouse;
    sc.snowflake_role = so->role;
    sc.snowflake_database = so->database;
    sc.snowflake_schema = so->schema;
    sc.snowflake_host = so->host;
    if (query_tag_for(so, run_id, &query_tag) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    sc.snowflake_query_tag = query_tag;
    sc.snowflake_prefetch_partitions = (int)so->prefetch_partitions;
    sc.snowflake_statement_timeout_s = so->timeout_s > 0 && so->timeout_s < 86400 * 7
                                           ? (int)so->timeout_s
                                           : 0;
  }
  if (sc.type == FLOE_SOURCE_POSTGRES && cfg->source.password != NULL &&
      cfg->source.conninfo != NULL) {
    if (strstr(cfg->source.conninfo, "://") != NULL) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "source: `password` works with a key=value conninfo; with a "
                          "postgresql:// URI use password_env");
      goto cleanup;
    }
    if (conninfo_with_password(cfg->source.conninfo, cfg->source.password, &conninfo) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    sc.postgres_conninfo = conninfo;
  }
  floe_log(FLOE_LOG_INFO, "connect", "source=%s", type_name);
  rc = floe_source_open(&s->src, &sc, err);
  if (rc < 0) {
    floe_error_prefix(err, "source %s", type_name);
    goto cleanup;
  }
  FLOE_TRY(floe_control_open(&s->ctl, s->src, cfg->control.table, cfg->control.schema, err));
  s->ctl_open = true;
  FLOE_TRY(floe_control_set_layout(&s->ctl, (int)cfg->control.layout, err));

  rc = floe_replicate_open_catalog(cfg, &s->catalog, err);
cleanup:
  floe_free(conninfo);
  floe_free(query_tag);
  if (rc < 0) floe_session_close(s);
  return rc;
}

int floe_replicate_control_migrate(const floe_config *cfg, int64_t *out_rows,
                                   floe_error *err) {
  floe_session s;
  memset(&s, 0, sizeof s);
  int rc = floe_session_open(&s, cfg, NULL, err);
  if (rc == FLOE_OK) rc = floe_control_migrate(&s.ctl, out_rows, err);
  floe_session_close(&s);
  return rc;
}

void floe_session_close(floe_session *s) {
  if (s == NULL) return;
  if (s->ctl_open) floe_control_close(&s->ctl);
  floe_catalog_free(s->catalog);
  floe_source_close(s->src);
  memset(s, 0, sizeof *s);
}

/* ---- jobs --------------------------------------------------------------- */

void floe_job_close(floe_job *job) {
  if (job == NULL) return;
  floe_source_table_free(&job->desc);
  floe_free(job->source_sql);
  floe_free(job->batch_sql);
  floe_free(job->cursor_sql);
  floe_free(job->part_sql);
  floe_free(job->ns);
  floe_free(job->name);
  for (size_t i = 0; i < job->n_shapes; i++) floe_iceberg_schema_free(job->shapes[i]);
  floe_free(job->shapes);
  memset(job, 0, sizeof *job);
}

floe_catalog_ident floe_job_ident(const floe_job *job) {
  floe_catalog_ident id = {job->ns, job->name};
  return id;
}

/* Integer columns, including decimal(P,0) of any precision: Snowflake's
 * INTEGER is NUMBER(38,0). Their values are read and bound as int64; a
 * value beyond it is FLOE_ERANGE from the source, never wrapped. */
static bool is_integer(const floe_arrow_type_info *t) {
  return t->id == FLOE_ARROW_INT32 || t->id == FLOE_ARROW_INT64 ||
         (t->id == FLOE_ARROW_DECIMAL128 && t->scale == 0);
}

/* Finds a column named in the config; its quoted name into *quoted. */
static int resolve(floe_job *job, const char *key, const char *name, bool required,
                   int64_t *out_idx, char **quoted, floe_error *err) {
  *out_idx = -1;
  if (name == NULL) return FLOE_OK;
  int64_t idx = floe_schema_find_column(&job->desc, name);
  if (idx < 0) {
    if (!required) return FLOE_OK;
    floe_buf cols;
    floe_buf_init(&cols);
    for (int64_t i = 0; i < job->desc.n_columns && i < 30; i++)
      floe_buf_appendf(&cols, "%s%s", i ? ", " : "", job->desc.columns[i].name);
    floe_buf_terminate(&cols);
    int rc = floe_error_set(err, FLOE_EINVAL,
                            "%s '%s' is not a column of source table %s (columns: %s)", key,
                            name, job->t->source ? job->t->source : job->t->name,
                            cols.data ? (char *)cols.data : "");
    floe_buf_free(&cols);
    return rc;
  }
  *out_idx = idx;
  if (quoted != NULL)
    return floe_source_quote_ident(job->session->src, job->desc.columns[idx].name, quoted, err);
  return FLOE_OK;
}

/* Types column c as the nested type string `text` (Iceberg or Spark
 * spelling): primitives and lists of primitives set the column's type;
 * structs, maps and nested lists also point the column at the job-owned
 * Iceberg type (floe_source_column.shape), which the schema mapping uses. */
static int set_shape(floe_job *job, floe_source_column *c, const char *text, size_t n_max,
                     floe_error *err) {
  floe_iceberg_schema *shape = NULL;
  int rc = floe_iceberg_type_parse_nested(&shape, c->name, text, NULL, err);
  if (rc < 0) return rc;
  const floe_iceberg_type *type = &shape->root.fields[0].type;
  if (floe_iceberg_type_is_primitive(type->id)) {
    FLOE_TRY(floe_iceberg_type_to_arrow(type, &c->type, err));
  } else if (type->id == FLOE_ICEBERG_LIST &&
             floe_iceberg_type_is_primitive(type->fields[0].type.id)) {
    FLOE_TRY(floe_iceberg_type_to_arrow(&type->fields[0].type, &c->element, err));
    c->type = floe_arrow_type_of(FLOE_ARROW_LIST);
    c->element_nullable = !type->fields[0].required;
  } else {
    FLOE_TRY(floe_iceberg_type_to_arrow(type, &c->type, err));
    if (job->shapes == NULL && (job->shapes = floe_calloc(n_max + 1, sizeof *job->shapes)) == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    c->shape = type;
    job->shapes[job->n_shapes++] = shape;
    shape = NULL;
  }
cleanup:
  floe_iceberg_schema_free(shape);
  return rc;
}

/* Nested columns: declared shapes (config `columns:`) and the source's own
 * nested types. A declared shape reads JSON text, decoded by the source
 * (floe_source_column.json); on a PostgreSQL array column it gives the
 * array's dimensions (list<list<int>> for int[] columns holding 2-D
 * values), read from the array text. A column the source types as nested
 * (floe_source_column.nested_type: PostgreSQL composites, arrays of them,
 * arrays declared with several dimensions) takes that type unless a shape
 * is declared. */
static int apply_shapes(floe_job *job, const floe_config_table *t, floe_error *err) {
  int rc = FLOE_OK;
  size_t n_max = t->n_columns + (size_t)job->desc.n_columns;
  for (size_t k = 0; k < t->n_columns; k++) {
    const floe_config_column *cc = &t->columns[k];
    int64_t idx = floe_schema_find_column(&job->desc, cc->name);
    if (idx < 0)
      return floe_error_set(err, FLOE_EINVAL,
                            "columns.%s (%s:%d): the source table has no column %s",
                            cc->name, cc->location.file ? cc->location.file : "config",
                            cc->location.line, cc->name);
    floe_source_column *c = &job->desc.columns[idx];
    bool pg_array = c->type.id == FLOE_ARROW_LIST &&
                    strcmp(floe_source_dialect(job->session->src), "postgres") == 0;
    if (c->type.id != FLOE_ARROW_UTF8 && !pg_array)
      return floe_error_set(err, FLOE_EINVAL,
                            "columns.%s (%s:%d): a declared shape reads JSON text (json, "
                            "jsonb, VARIANT, OBJECT, ARRAY, TEXT) or gives a PostgreSQL "
                            "array's dimensions; the source column is '%s'",
                            cc->name, cc->location.file ? cc->location.file : "config",
                            cc->location.line, c->declared_type ? c->declared_type : "");
    rc = set_shape(job, c, cc->type, n_max, err);
    if (rc == FLOE_OK && pg_array && c->type.id != FLOE_ARROW_LIST)
      rc = floe_error_set(err, FLOE_EINVAL, "a PostgreSQL array column takes a list shape");
    if (rc < 0) {
      floe_error_prefix(err, "columns.%s (%s:%d): shape '%s'", cc->name,
                        cc->location.file ? cc->location.file : "config", cc->location.line,
                        cc->type);
      return rc;
    }
    if (pg_array) {
      floe_free(c->nested_type); /* the declared shape wins */
      c->nested_type = NULL;
    } else {
      c->json = cc->fail_on_extra_fields ? FLOE_SOURCE_JSON_STRICT : FLOE_SOURCE_JSON_DECODE;
    }
    floe_log(FLOE_LOG_INFO, "shape", "table=%s column=%s type=%s", t->name, c->name,
             cc->type);
  }
  for (int64_t i = 0; i < job->desc.n_columns; i++) {
    floe_source_column *c = &job->desc.columns[i];
    if (c->nested_type == NULL) continue;
    rc = set_shape(job, c, c->nested_type, n_max, err);
    if (rc < 0) {
      floe_error_prefix(err, "column %s (%s): nested type %s", c->name,
                        c->declared_type ? c->declared_type : "", c->nested_type);
      return rc;
    }
    floe_log(FLOE_LOG_DEBUG, "shape", "table=%s column=%s type=%s source=nested", t->name,
             c->name, c->nested_type);
  }
  return rc;
}

int floe_job_open(floe_job *job, floe_session *s, const floe_config_table *t,
                  floe_error *err) {
  int rc = FLOE_OK;
  memset(job, 0, sizeof *job);
  job->session = s;
  job->t = t;
  job->batch_idx = job->cursor_idx = job->part_idx = job->op_idx = -1;
  char *folded = NULL;
  const char *source = t->source ? t->source : t->name;
  job->ns = floe_strdup(t->target_namespace ? t->target_namespace : "default");
  job->name = floe_strdup(t->target_name ? t->target_name : t->name);
  if (job->ns == NULL || job->name == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_job_fold_name(s->src, source, &folded, err));
  source = folded;
  FLOE_TRY(floe_source_quote_name(s->src, source, &job->source_sql, err));
  FLOE_TRY(floe_source_describe(s->src, source, &job->desc, err));
  if (!job->desc.exists) {
    rc = floe_error_set(err, FLOE_ENOTFOUND, "source table %s does not exist", source);
    goto cleanup;
  }
  FLOE_TRY(apply_shapes(job, t, err));
  /* Snowflake change capture reads a stream or CHANGES, not a batch range:
   * the batch column is optional there, as for full copies. */
  bool full = t->strategy == FLOE_STRATEGY_FULL || t->cdc.type == FLOE_CDC_STREAM ||
              t->cdc.type == FLOE_CDC_CHANGES;
  FLOE_TRY(resolve(job, "batch_column", t->batch_column, !full, &job->batch_idx,
                   &job->batch_sql, err));
  FLOE_TRY(resolve(job, "cursor_column", t->cursor_column, true, &job->cursor_idx,
                   &job->cursor_sql, err));
  if (t->strategy == FLOE_STRATEGY_PARTITION)
    FLOE_TRY(resolve(job, "partition_column", t->partition_column, true, &job->part_idx,
                     &job->part_sql, err));
  if (t->cdc.type == FLOE_CDC_OP_COLUMN)
    FLOE_TRY(resolve(job, "cdc.column", t->cdc.column, true, &job->op_idx, NULL, err));
  if (job->batch_idx >= 0 && !is_integer(&job->desc.columns[job->batch_idx].type)) {
    char tn[48];
    floe_arrow_type_name(&job->desc.columns[job->batch_idx].type, tn, sizeof tn);
    rc = floe_error_set(err, FLOE_EINVAL,
                        "batch_column '%s' of source table %s is %s (declared '%s'); a "
                        "batch column holds integers (use cursor_column for other types)",
                        job->desc.columns[job->batch_idx].name, source, tn,
                        job->desc.columns[job->batch_idx].declared_type);
    goto cleanup;
  }
  if (job->cursor_idx >= 0) job->cursor_is_int = is_integer(&job->desc.columns[job->cursor_idx].type);
  floe_log(FLOE_LOG_INFO, "discover", "table=%s source=%s columns=%lld batch_column=%s cursor_column=%s",
           t->name, source, (long long)job->desc.n_columns,
           job->batch_idx >= 0 ? job->desc.columns[job->batch_idx].name : "",
           job->cursor_idx >= 0 ? job->desc.columns[job->cursor_idx].name : "");
cleanup:
  floe_free(folded);
  if (rc < 0) {
    floe_error_prefix(err, "table %s", t->name);
    floe_job_close(job);
  }
  return rc;
}

/* ---- SQL for one unit ----------------------------------------------------- */

static int param_ref(const floe_job *job, floe_buf *sql, size_t n) {
  const char *d = floe_source_dialect(job->session->src);
  return floe_buf_appendf(sql, strcmp(d, "snowflake") == 0 ? ":%zu" : "$%zu", n);
}

static floe_source_param cursor_param(const floe_job *job, const char *text) {
  if (job->cursor_is_int) {
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end != text && *end == '\0') return floe_param_int64(v);
  }
  return floe_param_text(text);
}

int floe_job_where(const floe_job *job, const floe_unit_filter *f, floe_buf *sql,
                   floe_source_param *params, size_t *n_params, floe_error *err) {
  int rc = 0;
  size_t n = 0;
  bool first = true;
#define AND() (rc |= floe_buf_append_str(sql, first ? " WHERE " : " AND "), first = false)
  if (job->batch_idx >= 0 && (f->has_low || f->has_high)) {
    if (f->has_low) {
      AND();
      rc |= floe_buf_appendf(sql, "%s > ", job->batch_sql);
      rc |= param_ref(job, sql, ++n);
      params[n - 1] = floe_param_int64(f->low);
    }
    if (f->has_high) {
      AND();
      rc |= floe_buf_appendf(sql, "%s <= ", job->batch_sql);
      rc |= param_ref(job, sql, ++n);
      params[n - 1] = floe_param_int64(f->high);
    }
  }
  if (job->cursor_idx >= 0) {
    if (f->wm_low != NULL) {
      AND();
      rc |= floe_buf_appendf(sql, "%s > ", job->cursor_sql);
      rc |= param_ref(job, sql, ++n);
      params[n - 1] = cursor_param(job, f->wm_low);
    }
    if (f->wm_high != NULL) {
      AND();
      rc |= floe_buf_appendf(sql, "%s <= ", job->cursor_sql);
      rc |= param_ref(job, sql, ++n);
      params[n - 1] = cursor_param(job, f->wm_high);
    }
  }
  if (f->has_part && job->part_idx >= 0) {
    AND();
    if (f->part_value == NULL) {
      rc |= floe_buf_appendf(sql, "%s IS NULL", job->part_sql);
    } else {
      rc |= floe_buf_appendf(sql, "%s = ", job->part_sql);
      rc |= param_ref(job, sql, ++n);
      params[n - 1] = floe_param_text(f->part_value);
    }
  }
  if (job->t->where != NULL && job->t->where[0] != '\0') {
    AND();
    rc |= floe_buf_appendf(sql, "(%s)", job->t->where);
  }
#undef AND
  *n_params = n;
  return rc ? floe_error_set(err, FLOE_ENOMEM, "out of memory") : FLOE_OK;
}

int floe_job_count(floe_job *job, const floe_unit_filter *filter, int64_t *out,
                   floe_error *err) {
  floe_buf sql;
  floe_buf_init(&sql);
  floe_source_param params[5];
  size_t n = 0;
  bool is_null = false;
  int rc = floe_buf_appendf(&sql, "SELECT count(*) FROM %s", job->source_sql) < 0
               ? floe_error_set(err, FLOE_ENOMEM, "out of memory")
               : FLOE_OK;
  if (rc == FLOE_OK) rc = floe_job_where(job, filter, &sql, params, &n, err);
  if (rc == FLOE_OK && floe_buf_terminate(&sql) < 0)
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (rc == FLOE_OK)
    rc = floe_source_query_int64(job->session->src, (const char *)sql.data, params, n, out,
                                 &is_null, err);
  if (rc == FLOE_OK && is_null) *out = 0;
  floe_buf_free(&sql);
  if (rc < 0) floe_error_prefix(err, "count rows of %s", job->source_sql);
  return rc;
}

int floe_job_max_batch(floe_job *job, int64_t *out, bool *is_null, floe_error *err) {
  floe_batch_totals totals;
  int rc = floe_job_batch_totals(job, false, false, 0, &totals, err);
  *out = totals.max;
  *is_null = totals.max_is_null;
  return rc;
}

/* Appends ", <count of rows where cond>" in the dialect's cheapest form:
 * an aggregate FILTER clause (SQLite 3.30+, PostgreSQL), Snowflake's
 * COUNT_IF. Both test the condition without stepping the aggregate for
 * rows that fail it (a count(CASE ...) steps it for every row). cond:
 * the invalid rows, or with `range` the rows of (0, high]. */
static int append_count_if(floe_buf *sql, bool snowflake, const char *b, bool range,
                           int64_t high) {
  int rc = floe_buf_append_str(sql, snowflake ? ", count_if(" : ", count(*) FILTER (WHERE ");
  if (range)
    rc |= floe_buf_appendf(sql, "%s > 0 AND %s <= %" PRId64, b, b, high);
  else
    rc |= floe_buf_appendf(sql, "%s IS NULL OR %s <= 0", b, b);
  rc |= floe_buf_append_str(sql, ")");
  return rc;
}

int floe_job_batch_totals(floe_job *job, bool count_invalid, bool count_range,
                          int64_t control_max, floe_batch_totals *out, floe_error *err) {
  floe_buf sql;
  floe_buf_init(&sql);
  floe_source_param params[5];
  size_t n = 0;
  floe_unit_filter none;
  memset(&none, 0, sizeof none);
  memset(out, 0, sizeof *out);
  out->invalid_counted = count_invalid;
  out->range_counted = count_range;
  out->control_max = control_max;
  const char *b = job->batch_sql;
  bool snowflake = strcmp(floe_source_dialect(job->session->src), "snowflake") == 0;
  int rc = floe_buf_appendf(&sql, "SELECT max(%s)", b);
  if (count_invalid) rc |= append_count_if(&sql, snowflake, b, false, 0);
  if (count_range) rc |= append_count_if(&sql, snowflake, b, true, control_max);
  rc |= floe_buf_appendf(&sql, " FROM %s", job->source_sql);
  rc = rc < 0 ? floe_error_set(err, FLOE_ENOMEM, "out of memory") : FLOE_OK;
  if (rc == FLOE_OK) rc = floe_job_where(job, &none, &sql, params, &n, err);
  if (rc == FLOE_OK && floe_buf_terminate(&sql) < 0)
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int64_t values[3] = {0, 0, 0};
  bool nulls[3] = {true, true, true};
  size_t n_values = 1 + (count_invalid ? 1 : 0) + (count_range ? 1 : 0);
  if (rc == FLOE_OK)
    rc = floe_source_query_int64s(job->session->src, (const char *)sql.data, params, n, values,
                                  nulls, n_values, err);
  if (rc == FLOE_OK) {
    size_t k = 0;
    out->max = nulls[k] ? 0 : values[k];
    out->max_is_null = nulls[k++];
    if (count_invalid) out->rows_invalid = nulls[k] ? 0 : values[k], k++;
    if (count_range) out->rows_counted = nulls[k] ? 0 : values[k];
  }
  floe_buf_free(&sql);
  if (rc < 0) floe_error_prefix(err, "max(%s) of %s", b, job->source_sql);
  return rc;
}

int floe_job_max_cursor(floe_job *job, char **out, floe_error *err) {
  floe_buf sql;
  floe_buf_init(&sql);
  floe_source_param params[5];
  size_t n = 0;
  floe_unit_filter none;
  memset(&none, 0, sizeof none);
  *out = NULL;
  const char *d = floe_source_dialect(job->session->src);
  /* Snowflake renders CAST(... AS VARCHAR) with the account's output
   * formats (TIMESTAMP_OUTPUT_FORMAT keeps milliseconds by default), so
   * the maximum is read as a typed value: the SQL API sends it in a fixed
   * encoding and the driver renders it canonically. */
  int rc = (strcmp(d, "snowflake") == 0
                ? floe_buf_appendf(&sql, "SELECT max(%s) FROM %s", job->cursor_sql,
                                   job->source_sql)
                : floe_buf_appendf(&sql, "SELECT CAST(max(%s) AS TEXT) FROM %s", job->cursor_sql,
                                   job->source_sql)) < 0
               ? floe_error_set(err, FLOE_ENOMEM, "out of memory")
               : FLOE_OK;
  if (rc == FLOE_OK) rc = floe_job_where(job, &none, &sql, params, &n, err);
  if (rc == FLOE_OK && floe_buf_terminate(&sql) < 0)
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (rc == FLOE_OK)
    rc = floe_source_query_text(job->session->src, (const char *)sql.data, params, n, out, err);
  floe_buf_free(&sql);
  if (rc < 0) floe_error_prefix(err, "max(%s) of %s", job->cursor_sql, job->source_sql);
  return rc;
}
