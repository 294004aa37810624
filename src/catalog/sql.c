/*
 * catalog/sql: Iceberg's JDBC catalog on SQLite or PostgreSQL, exactly as
 * Iceberg Java's JdbcCatalog (JdbcUtil.java, schema version V1) and
 * PyIceberg's SqlCatalog lay it out, so either can load floe's tables:
 *
 *   iceberg_tables(catalog_name, table_namespace, table_name,
 *                  metadata_location, previous_metadata_location,
 *                  iceberg_type)            -- 'TABLE' (NULL = V0 table)
 *   iceberg_namespace_properties(catalog_name, namespace, property_key,
 *                                property_value)
 *
 * Namespaces are dotted strings. A namespace exists when it has properties
 * (create stores "exists"="true" besides the caller's, as JdbcCatalog
 * does) or holds tables, or a child namespace does. Metadata files are
 * <location>/metadata/<NNNNN>-<uuid>.metadata.json with NNNNN one more
 * than the version prefix of the file being replaced
 * (BaseMetastoreTableOperations.newTableMetadataFilePath / parseVersion).
 *
 * A commit writes the new file first (a fresh UUID name, so nothing is
 * replaced) and then swaps the pointer with one compare-and-swap UPDATE
 * ... WHERE metadata_location = <expected>; zero rows updated means
 * another writer moved the pointer: FLOE_ECONFLICT, and the new file is
 * an orphan whose path the error reports. Statements that find the
 * database busy or locked are retried with exponential backoff, a bounded
 * number of times, then fail with a message that says so.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog_internal.h"
#include "catalog/sql_backend.h"
#include "core/debug.h"

#define MAX_LOCATION_BYTES 1000 /* VARCHAR(1000) */
#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define DEFAULT_MAX_ATTEMPTS 10

typedef struct sql_catalog {
  sql_conn *conn;
  int max_attempts;
} sql_catalog;

/* JdbcUtil.V0_CREATE_CATALOG_SQL, V1_UPDATE_CATALOG_SQL and
 * CREATE_NAMESPACE_PROPERTIES_TABLE_SQL, column for column. */
static const char CREATE_TABLES_SQL[] =
    "CREATE TABLE IF NOT EXISTS iceberg_tables("
    "catalog_name VARCHAR(255) NOT NULL,"
    "table_namespace VARCHAR(255) NOT NULL,"
    "table_name VARCHAR(255) NOT NULL,"
    "metadata_location VARCHAR(1000),"
    "previous_metadata_location VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, table_namespace, table_name))";
static const char ADD_TYPE_COLUMN_SQL[] =
    "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)";
static const char CREATE_NAMESPACE_PROPERTIES_SQL[] =
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties("
    "catalog_name VARCHAR(255) NOT NULL,"
    "namespace VARCHAR(255) NOT NULL,"
    "property_key VARCHAR(255),"
    "property_value VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, namespace, property_key))";

#define TABLE_TYPE_FILTER "(iceberg_type = 'TABLE' OR iceberg_type IS NULL)"

static sql_catalog *impl(floe_catalog *c) { return c->impl; }

static int exec(floe_catalog *c, const char *sql, const char *const *params,
                int nparams, sql_rows *rows, long *changes, floe_error *err) {
  sql_conn *conn = impl(c)->conn;
  return conn->ops->exec(conn, sql, params, nparams, rows, changes, err);
}

/* ---- retries ------------------------------------------------------------- */

typedef int (*sql_step)(floe_catalog *c, void *ctx, floe_error *err);

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs `step` (in a transaction when `transaction`), retrying when the
 * database reports busy/locked: backoff doubles from 2 ms up to 1 s, with
 * jitter so that competing processes fall out of step. */
static int run(floe_catalog *c, int transaction, sql_step step, void *ctx,
               floe_error *err) {
  sql_conn *conn = impl(c)->conn;
  int attempts = impl(c)->max_attempts;
  long delay_ms = 2, waited_ms = 0;
  int rc = FLOE_OK;
  for (int attempt = 1; attempt <= attempts; attempt++) {
    rc = transaction ? conn->ops->begin(conn, err) : FLOE_OK;
    if (rc == FLOE_OK) rc = step(c, ctx, err);
    if (rc == FLOE_OK && transaction) rc = conn->ops->commit(conn, err);
    if (rc < 0 && transaction) conn->ops->rollback(conn);
    if (rc != SQL_EBUSY) return rc;
    if (attempt == attempts) break;
    /* Jitter from the process id and a clock, so that processes forked
     * from one parent do not retry in lockstep. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long mix = ((unsigned long)getpid() * 2654435761UL) ^
                        (unsigned long)now.tv_nsec;
    long jittered = delay_ms / 2 + (long)(mix % (unsigned long)(delay_ms / 2 + 1));
    sleep_ms(jittered);
    waited_ms += jittered;
    if (delay_ms < 1000) delay_ms *= 2;
  }
  floe_error_prefix(err, "%s database still busy after %d attempts over "
                    "%ld ms", conn->ops->name, attempts, waited_ms);
  if (err != NULL) err->code = FLOE_EIO;
  return FLOE_EIO;
}

/* ---- helpers ---------------------------------------------------------------- */

/* LIKE pattern "<ns>.%" with '!' escaping the wildcards, as JdbcUtil. */
static int child_pattern(const char *ns, char **out, floe_error *err) {
  size_t len = strlen(ns);
  char *p = floe_malloc(len * 2 + 3);
  if (p == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (ns[i] == '!' || ns[i] == '%' || ns[i] == '_') p[k++] = '!';
    p[k++] = ns[i];
  }
  p[k++] = '.';
  p[k++] = '%';
  p[k] = '\0';
  *out = p;
  return FLOE_OK;
}

/* Is `s` a strict descendant of `ns` ("ns.x...")? Case-sensitive, unlike
 * LIKE on SQLite. */
static int is_descendant(const char *s, const char *ns) {
  size_t n = strlen(ns);
  return strncmp(s, ns, n) == 0 && s[n] == '.';
}

/* Finds whether ns exists (*out) and, when out_child is non-NULL, the first
 * descendant namespace that exists or NULL. */
static int namespace_probe(floe_catalog *c, const char *ns, int *out,
                           char **out_child, floe_error *err) {
  int rc = FLOE_OK;
  char *pattern = NULL;
  sql_rows rows = {0};
  *out = 0;
  if (out_child != NULL) *out_child = NULL;
  FLOE_TRY(child_pattern(ns, &pattern, err));
  const char *params[] = {c->name, ns, pattern, c->name, ns, pattern};
  FLOE_TRY(exec(c,
                "SELECT DISTINCT table_namespace FROM iceberg_tables WHERE "
                "catalog_name = ? AND (table_namespace = ? OR table_namespace "
                "LIKE ? ESCAPE '!') UNION SELECT DISTINCT namespace FROM "
                "iceberg_namespace_properties WHERE catalog_name = ? AND "
                "(namespace = ? OR namespace LIKE ? ESCAPE '!')",
                params, 6, &rows, NULL, err));
  for (size_t i = 0; i < rows.nrows; i++) {
    const char *found = sql_cell(&rows, i, 0);
    if (found == NULL) continue;
    if (strcmp(found, ns) == 0) *out = 1;
    if (is_descendant(found, ns)) {
      *out = 1;
      if (out_child != NULL && *out_child == NULL) {
        *out_child = floe_strdup(found);
        if (*out_child == NULL) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
    }
  }
cleanup:
  sql_rows_reset(&rows);
  floe_free(pattern);
  return rc;
}

static int require_namespace(floe_catalog *c, const char *ns,
                             floe_error *err) {
  int exists = 0;
  int rc = namespace_probe(c, ns, &exists, NULL, err);
  if (rc == FLOE_OK && !exists)
    rc = floe_error_set(err, FLOE_ENOTFOUND, "namespace '%s' does not exist",
                        ns);
  return rc;
}

/* Current pointer of a table: *out_location NULL when there is no such
 * table. */
static int get_pointer(floe_catalog *c, floe_catalog_ident ident,
                       char **out_location, char **out_previous,
                       floe_error *err) {
  sql_rows rows = {0};
  const char *params[] = {c->name, ident.ns, ident.name};
  *out_location = NULL;
  if (out_previous != NULL) *out_previous = NULL;
  int rc = exec(c,
                "SELECT metadata_location, previous_metadata_location FROM "
                "iceberg_tables WHERE catalog_name = ? AND table_namespace = "
                "? AND table_name = ? AND " TABLE_TYPE_FILTER,
                params, 3, &rows, NULL, err);
  if (rc == FLOE_OK && rows.nrows > 0) {
    const char *loc = sql_cell(&rows, 0, 0);
    const char *prev = sql_cell(&rows, 0, 1);
    if (loc == NULL) {
      rc = floe_error_set(err, FLOE_EFORMAT, "row has no metadata_location");
    } else {
      *out_location = floe_strdup(loc);
      if (out_previous != NULL && prev != NULL)
        *out_previous = floe_strdup(prev);
      if (*out_location == NULL ||
          (out_previous != NULL && prev != NULL && *out_previous == NULL))
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    }
  }
  sql_rows_reset(&rows);
  return rc;
}

/* BaseMetastoreTableOperations.parseVersion: the digits before the first
 * '-' of the file name, or -1. */
static long parse_version(const char *location) {
  const char *name = strrchr(location, '/');
  name = name ? name + 1 : location;
  const char *dash = strchr(name, '-');
  if (dash == NULL || dash == name) return -1;
  long v = 0;
  for (const char *p = name; p < dash; p++) {
    if (*p < '0' || *p > '9' || v > 100000000L) return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

/* "<dir>/<NNNNN>-<uuid>.metadata.json" */
static int new_metadata_path(const char *dir, long version, char **out,
                             floe_error *err) {
  char uuid[37];
  char name[80];
  int rc = floe_io_uuid4(uuid, err);
  if (rc < 0) return rc;
  snprintf(name, sizeof name, "%05ld-%s.metadata.json", version, uuid);
  rc = catalog_join(dir, name, out, err);
  if (rc == FLOE_OK && strlen(*out) > MAX_LOCATION_BYTES) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "metadata location %s is %zu bytes, more than the "
                        "JDBC schema's %d",
                        *out, strlen(*out), MAX_LOCATION_BYTES);
    floe_free(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- namespaces ------------------------------------------------------------ */

typedef struct ns_create_ctx {
  const char *ns;
  const floe_catalog_property *props;
  size_t count;
} ns_create_ctx;

static int ns_create_step(floe_catalog *c, void *arg, floe_error *err) {
  ns_create_ctx *ctx = arg;
  int exists = 0, has_exists_key = 0;
  int rc = namespace_probe(c, ctx->ns, &exists, NULL, err);
  if (rc < 0) return rc;
  if (exists)
    return floe_error_set(err, FLOE_EEXISTS, "namespace already exists");
  const char *sql =
      "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, "
      "property_key, property_value) VALUES (?,?,?,?)";
  for (size_t i = 0; i < ctx->count; i++) {
    if (strcmp(ctx->props[i].key, "exists") == 0) has_exists_key = 1;
    const char *params[] = {c->name, ctx->ns, ctx->props[i].key,
                            ctx->props[i].value ? ctx->props[i].value : ""};
    rc = exec(c, sql, params, 4, NULL, NULL, err);
    if (rc == FLOE_EEXISTS)
      rc = floe_error_set(err, FLOE_EINVAL, "property '%s' given twice",
                          ctx->props[i].key);
    if (rc < 0) return rc;
  }
  if (!has_exists_key) {
    const char *params[] = {c->name, ctx->ns, "exists", "true"};
    rc = exec(c, sql, params, 4, NULL, NULL, err);
    if (rc == FLOE_EEXISTS)
      rc = floe_error_set(err, FLOE_EEXISTS, "namespace already exists");
  }
  return rc;
}

static int sql_namespace_create(floe_catalog *c, const char *ns,
                                const floe_catalog_property *props,
                                size_t count, floe_error *err) {
  ns_create_ctx ctx = {ns, props, count};
  return run(c, 1, ns_create_step, &ctx, err);
}

typedef struct ns_exists_ctx {
  const char *ns;
  int *out;
} ns_exists_ctx;

static int ns_exists_step(floe_catalog *c, void *arg, floe_error *err) {
  ns_exists_ctx *ctx = arg;
  return namespace_probe(c, ctx->ns, ctx->out, NULL, err);
}

static int sql_namespace_exists(floe_catalog *c, const char *ns, int *out,
                                floe_error *err) {
  ns_exists_ctx ctx = {ns, out};
  return run(c, 0, ns_exists_step, &ctx, err);
}

typedef struct ns_list_ctx {
  const char *parent;
  floe_catalog_names *out;
} ns_list_ctx;

static int ns_list_step(floe_catalog *c, void *arg, floe_error *err) {
  ns_list_ctx *ctx = arg;
  sql_rows rows = {0};
  char *child = NULL;
  int rc = FLOE_OK;
  floe_catalog_names_reset(ctx->out);
  if (ctx->parent[0] != '\0') FLOE_TRY(require_namespace(c, ctx->parent, err));
  const char *params[] = {c->name, c->name};
  FLOE_TRY(exec(c,
                "SELECT DISTINCT table_namespace FROM iceberg_tables WHERE "
                "catalog_name = ? UNION SELECT DISTINCT namespace FROM "
                "iceberg_namespace_properties WHERE catalog_name = ?",
                params, 2, &rows, NULL, err));
  size_t plen = strlen(ctx->parent);
  for (size_t i = 0; i < rows.nrows; i++) {
    const char *ns = sql_cell(&rows, i, 0);
    if (ns == NULL) continue;
    const char *rest;
    if (plen == 0) rest = ns;
    else if (is_descendant(ns, ctx->parent)) rest = ns + plen + 1;
    else continue;
    const char *dot = strchr(rest, '.');
    size_t keep = (size_t)((dot ? dot : rest + strlen(rest)) - ns);
    child = floe_strndup(ns, keep);
    if (child == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    FLOE_TRY(catalog_names_add(ctx->out, child, err));
    floe_free(child);
    child = NULL;
  }
cleanup:
  floe_free(child);
  sql_rows_reset(&rows);
  return rc;
}

static int sql_namespace_list(floe_catalog *c, const char *parent,
                              floe_catalog_names *out, floe_error *err) {
  ns_list_ctx ctx = {parent, out};
  return run(c, 0, ns_list_step, &ctx, err);
}

typedef struct ns_props_ctx {
  const char *ns;
  floe_catalog_properties *out;
} ns_props_ctx;

static int ns_props_step(floe_catalog *c, void *arg, floe_error *err) {
  ns_props_ctx *ctx = arg;
  sql_rows rows = {0};
  int rc = FLOE_OK;
  floe_catalog_properties_reset(ctx->out);
  FLOE_TRY(require_namespace(c, ctx->ns, err));
  const char *params[] = {c->name, ctx->ns};
  FLOE_TRY(exec(c,
                "SELECT property_key, property_value FROM "
                "iceberg_namespace_properties WHERE catalog_name = ? AND "
                "namespace = ?",
                params, 2, &rows, NULL, err));
  for (size_t i = 0; i < rows.nrows; i++) {
    const char *key = sql_cell(&rows, i, 0);
    if (key == NULL) continue;
    FLOE_TRY(catalog_properties_add(ctx->out, key, sql_cell(&rows, i, 1),
                                    err));
  }
cleanup:
  sql_rows_reset(&rows);
  return rc;
}

static int sql_namespace_properties(floe_catalog *c, const char *ns,
                                    floe_catalog_properties *out,
                                    floe_error *err) {
  ns_props_ctx ctx = {ns, out};
  return run(c, 0, ns_props_step, &ctx, err);
}

static int ns_drop_step(floe_catalog *c, void *arg, floe_error *err) {
  const char *ns = arg;
  int exists = 0, rc = FLOE_OK;
  char *child = NULL;
  sql_rows rows = {0};
  FLOE_TRY(namespace_probe(c, ns, &exists, &child, err));
  if (!exists) {
    rc = floe_error_set(err, FLOE_ENOTFOUND, "namespace does not exist");
    goto cleanup;
  }
  const char *params[] = {c->name, ns};
  FLOE_TRY(exec(c,
                "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? "
                "AND table_namespace = ? LIMIT 1",
                params, 2, &rows, NULL, err));
  if (rows.nrows > 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "not empty: holds table '%s'",
                        sql_cell(&rows, 0, 0) ? sql_cell(&rows, 0, 0) : "");
    goto cleanup;
  }
  if (child != NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "not empty: holds namespace '%s'",
                        child);
    goto cleanup;
  }
  FLOE_TRY(exec(c,
                "DELETE FROM iceberg_namespace_properties WHERE catalog_name "
                "= ? AND namespace = ?",
                params, 2, NULL, NULL, err));
cleanup:
  sql_rows_reset(&rows);
  floe_free(child);
  return rc;
}

static int sql_namespace_drop(floe_catalog *c, const char *ns,
                              floe_error *err) {
  return run(c, 1, ns_drop_step, (void *)ns, err);
}

/* ---- tables ----------------------------------------------------------------- */

typedef struct table_ctx {
  floe_catalog_ident ident;
  floe_catalog_ident to;
  const char *location; /* create: metadata location to register */
  int *out_exists;
  floe_catalog_names *names;
  long changes;
  char *current; /* pointer read inside a step (owned) */
  char *previous;
} table_ctx;

static void table_ctx_reset_pointer(table_ctx *ctx) {
  floe_free(ctx->current);
  floe_free(ctx->previous);
  ctx->current = NULL;
  ctx->previous = NULL;
}

static int check_before_create_step(floe_catalog *c, void *arg,
                                    floe_error *err) {
  table_ctx *ctx = arg;
  table_ctx_reset_pointer(ctx);
  int rc = require_namespace(c, ctx->ident.ns, err);
  if (rc == FLOE_OK) rc = get_pointer(c, ctx->ident, &ctx->current, NULL, err);
  if (rc == FLOE_OK && ctx->current != NULL)
    rc = floe_error_set(err, FLOE_EEXISTS, "table exists (metadata %s)",
                        ctx->current);
  return rc;
}

static int insert_step(floe_catalog *c, void *arg, floe_error *err) {
  table_ctx *ctx = arg;
  const char *params[] = {c->name, ctx->ident.ns, ctx->ident.name,
                          ctx->location, "TABLE"};
  /* JdbcUtil.V1_DO_COMMIT_CREATE_SQL */
  return exec(c,
              "INSERT INTO iceberg_tables (catalog_name, table_namespace, "
              "table_name, metadata_location, previous_metadata_location, "
              "iceberg_type) VALUES (?,?,?,?,null,?)",
              params, 5, NULL, NULL, err);
}

static int sql_table_create(floe_catalog *c, floe_catalog_ident ident,
                            const char *location, const char *json,
                            size_t len, floe_error *err) {
  int rc = FLOE_OK;
  char *table_location = NULL, *metadata_dir = NULL, *metadata = NULL;
  table_ctx ctx = {.ident = ident};
  FLOE_TRY(run(c, 0, check_before_create_step, &ctx, err));
  if (location != NULL) {
    table_location = floe_strdup(location);
    if (table_location == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    size_t llen = strlen(table_location);
    while (llen > 1 && table_location[llen - 1] == '/')
      table_location[--llen] = '\0';
  } else {
    FLOE_TRY(catalog_ns_path(c, ident.ns, ident.name, &table_location, err));
  }
  FLOE_TRY(catalog_join(table_location, "metadata", &metadata_dir, err));
  /* BaseMetastoreTableOperations: the first file is version 0. */
  FLOE_TRY(new_metadata_path(metadata_dir, 0, &metadata, err));
  rc = floe_io_write_atomic(c->io, metadata, json, len, FLOE_IO_NO_REPLACE,
                            err);
  if (rc < 0) goto cleanup;
  ctx.location = metadata;
  rc = run(c, 0, insert_step, &ctx, err);
  if (rc == FLOE_EEXISTS)
    floe_error_set(err, FLOE_EEXISTS,
                   "table was created concurrently; %s is an orphan",
                   metadata);
  else if (rc < 0)
    floe_error_prefix(err, "register %s", metadata);
cleanup:
  table_ctx_reset_pointer(&ctx);
  floe_free(metadata);
  floe_free(metadata_dir);
  floe_free(table_location);
  return rc;
}

static int pointer_step(floe_catalog *c, void *arg, floe_error *err) {
  table_ctx *ctx = arg;
  table_ctx_reset_pointer(ctx);
  return get_pointer(c, ctx->ident, &ctx->current, &ctx->previous, err);
}

static int sql_table_load(floe_catalog *c, floe_catalog_ident ident,
                          floe_catalog_table *out, floe_error *err) {
  table_ctx ctx = {.ident = ident};
  int rc = run(c, 0, pointer_step, &ctx, err);
  if (rc == FLOE_OK && ctx.current == NULL)
    rc = floe_error_set(err, FLOE_ENOTFOUND, "no such table");
  if (rc == FLOE_OK) {
    out->metadata_location = ctx.current;
    out->previous_metadata_location = ctx.previous;
    ctx.current = ctx.previous = NULL;
    out->version = parse_version(out->metadata_location);
    rc = catalog_read_metadata(c, out->metadata_location, out, err);
  }
  table_ctx_reset_pointer(&ctx);
  return rc;
}

static int sql_table_exists(floe_catalog *c, floe_catalog_ident ident,
                            int *out, floe_error *err) {
  table_ctx ctx = {.ident = ident};
  int rc = run(c, 0, pointer_step, &ctx, err);
  *out = rc == FLOE_OK && ctx.current != NULL;
  table_ctx_reset_pointer(&ctx);
  return rc;
}

static int list_step(floe_catalog *c, void *arg, floe_error *err) {
  table_ctx *ctx = arg;
  sql_rows rows = {0};
  int rc = FLOE_OK;
  floe_catalog_names_reset(ctx->names);
  FLOE_TRY(require_namespace(c, ctx->ident.ns, err));
  const char *params[] = {c->name, ctx->ident.ns};
  FLOE_TRY(exec(c,
                "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? "
                "AND table_namespace = ? AND " TABLE_TYPE_FILTER,
                params, 2, &rows, NULL, err));
  for (size_t i = 0; i < rows.nrows; i++)
    if (sql_cell(&rows, i, 0) != NULL)
      FLOE_TRY(catalog_names_add(ctx->names, sql_cell(&rows, i, 0), err));
cleanup:
  sql_rows_reset(&rows);
  return rc;
}

static int sql_table_list(floe_catalog *c, const char *ns,
                          floe_catalog_names *out, floe_error *err) {
  table_ctx ctx = {.ident = {ns, NULL}, .names = out};
  return run(c, 0, list_step, &ctx, err);
}

static int delete_step(floe_catalog *c, void *arg, floe_error *err) {
  table_ctx *ctx = arg;
  const char *params[] = {c->name, ctx->ident.ns, ctx->ident.name};
  return exec(c,
              "DELETE FROM iceberg_tables WHERE catalog_name = ? AND "
              "table_namespace = ? AND table_name = ? AND " TABLE_TYPE_FILTER,
              params, 3, NULL, &ctx->changes, err);
}

/* The "location" of a table metadata JSON document (Iceberg spec: Table
 * Metadata Fields), or NULL. Read with jansson, not the table model: the
 * catalog needs this one field only, to purge. */
static char *metadata_table_location(const char *json, size_t len) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, 0, &jerr);
  const char *loc = root ? json_string_value(json_object_get(root,
                                                             "location"))
                         : NULL;
  char *copy = loc ? floe_strdup(loc) : NULL;
  json_decref(root);
  return copy;
}

static int sql_table_drop(floe_catalog *c, floe_catalog_ident ident,
                          int purge, floe_error *err) {
  int rc = FLOE_OK;
  floe_catalog_table current = {0};
  char *location = NULL;
  table_ctx ctx = {.ident = ident};
  if (purge) {
    FLOE_TRY(sql_table_load(c, ident, &current, err));
    location = metadata_table_location(current.metadata_json,
                                       current.metadata_json_len);
  }
  FLOE_TRY(run(c, 0, delete_step, &ctx, err));
  if (ctx.changes == 0) {
    rc = floe_error_set(err, FLOE_ENOTFOUND, "no such table");
    goto cleanup;
  }
  if (purge) {
    /* Delete the table's tree only when the metadata file lives under the
     * location its JSON names: a wrong or foreign "location" must never
     * make floe delete someone else's directory. Otherwise only the files
     * the pointer names are removed. */
    size_t llen = location ? strlen(location) : 0;
    while (llen > 1 && location[llen - 1] == '/') llen--;
    if (llen > 0 &&
        strncmp(current.metadata_location, location, llen) == 0 &&
        current.metadata_location[llen] == '/') {
      location[llen] = '\0';
      FLOE_TRY(floe_io_delete_tree(c->io, location, err));
    } else {
      FLOE_TRY(floe_io_delete(c->io, current.metadata_location, err));
      if (current.previous_metadata_location != NULL) {
        rc = floe_io_delete(c->io, current.previous_metadata_location, err);
        if (rc == FLOE_ENOTFOUND) rc = FLOE_OK;
        if (rc < 0) goto cleanup;
      }
    }
  }
cleanup:
  floe_free(location);
  floe_catalog_table_reset(&current);
  table_ctx_reset_pointer(&ctx);
  return rc;
}

static int rename_step(floe_catalog *c, void *arg, floe_error *err) {
  table_ctx *ctx = arg;
  int rc = require_namespace(c, ctx->to.ns, err);
  if (rc < 0) return rc;
  const char *params[] = {ctx->to.ns, ctx->to.name, c->name, ctx->ident.ns,
                          ctx->ident.name};
  /* JdbcUtil.V1_RENAME_TABLE_SQL */
  rc = exec(c,
            "UPDATE iceberg_tables SET table_namespace = ?, table_name = ? "
            "WHERE catalog_name = ? AND table_namespace = ? AND table_name = "
            "? AND " TABLE_TYPE_FILTER,
            params, 5, NULL, &ctx->changes, err);
  if (rc == FLOE_EEXISTS)
    return floe_error_set(err, FLOE_EEXISTS, "target table exists");
  if (rc == FLOE_OK && ctx->changes == 0)
    return floe_error_set(err, FLOE_ENOTFOUND, "no such table");
  return rc;
}

static int sql_table_rename(floe_catalog *c, floe_catalog_ident from,
                            floe_catalog_ident to, floe_error *err) {
  table_ctx ctx = {.ident = from, .to = to};
  return run(c, 1, rename_step, &ctx, err);
}

typedef struct commit_ctx {
  floe_catalog_ident ident;
  const char *expected;
  const char *next;
  long changes;
} commit_ctx;

static int commit_step(floe_catalog *c, void *arg, floe_error *err) {
  commit_ctx *ctx = arg;
  const char *params[] = {ctx->next,       ctx->expected, c->name,
                          ctx->ident.ns, ctx->ident.name, ctx->expected};
  /* JdbcUtil.V1_DO_COMMIT_TABLE_SQL: the compare-and-swap. */
  return exec(c,
              "UPDATE iceberg_tables SET metadata_location = ? , "
              "previous_metadata_location = ? WHERE catalog_name = ? AND "
              "table_namespace = ? AND table_name = ? AND metadata_location = "
              "? AND " TABLE_TYPE_FILTER,
              params, 6, NULL, &ctx->changes, err);
}

static int sql_commit(floe_catalog *c, floe_catalog_ident ident,
                      const char *expected, const char *json, size_t len,
                      char **out_location,
                      floe_catalog_table *out_state, floe_error *err) {
  (void)out_state;
  int rc = FLOE_OK;
  char *dir = NULL, *next = NULL;
  table_ctx probe = {.ident = ident};
  FLOE_TRY(catalog_dirname(expected, &dir, err));
  FLOE_TRY(new_metadata_path(dir, parse_version(expected) + 1, &next, err));
  FLOE_TRY(floe_io_write_atomic(c->io, next, json, len, FLOE_IO_NO_REPLACE,
                                err));
  floe_debug_crash_point("after_metadata_file"); /* written, not yet pointed to */
  commit_ctx ctx = {ident, expected, next, 0};
  rc = run(c, 0, commit_step, &ctx, err);
  if (rc < 0) {
    floe_error_prefix(err, "swap pointer to %s (now an orphan unless the "
                      "outcome is known)", next);
    goto cleanup;
  }
  if (ctx.changes == 0) {
    /* Tell "moved" from "gone". */
    rc = run(c, 0, pointer_step, &probe, err);
    if (rc < 0) goto cleanup;
    if (probe.current == NULL)
      rc = floe_error_set(err, FLOE_ENOTFOUND,
                          "no such table; %s is an orphan", next);
    else
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "metadata_location changed: now %s, expected %s "
                          "(conflict); %s is an orphan",
                          probe.current, expected, next);
  }
cleanup:
  if (out_location != NULL && next != NULL) {
    *out_location = next;
    next = NULL;
  }
  table_ctx_reset_pointer(&probe);
  floe_free(next);
  floe_free(dir);
  return rc;
}

/* ---- open ------------------------------------------------------------------- */

static int schema_step(floe_catalog *c, void *arg, floe_error *err) {
  (void)arg;
  sql_conn *conn = impl(c)->conn;
  sql_rows rows = {0};
  int rc = FLOE_OK;
  if (conn->ops->schema_lock_sql != NULL)
    FLOE_TRY(exec(c, conn->ops->schema_lock_sql, NULL, 0, NULL, NULL, err));
  FLOE_TRY(exec(c, CREATE_TABLES_SQL, NULL, 0, NULL, NULL, err));
  FLOE_TRY(exec(c, CREATE_NAMESPACE_PROPERTIES_SQL, NULL, 0, NULL, NULL, err));
  /* Schema version V1 (JdbcUtil.SchemaVersion): a V0 table gains the
   * iceberg_type column; its rows keep NULL, which V1 reads as tables. */
  const char *params[] = {"iceberg_tables", "iceberg_type"};
  FLOE_TRY(exec(c, conn->ops->column_exists_sql, params, 2, &rows, NULL, err));
  if (rows.nrows == 0)
    FLOE_TRY(exec(c, ADD_TYPE_COLUMN_SQL, NULL, 0, NULL, NULL, err));
cleanup:
  sql_rows_reset(&rows);
  return rc;
}

static void sql_destroy(floe_catalog *c) {
  sql_catalog *s = impl(c);
  if (s == NULL) return;
  if (s->conn != NULL) s->conn->ops->close(s->conn);
  floe_free(s);
  c->impl = NULL;
}

static const catalog_ops sql_ops = {
    .kind = "sql",
    .namespace_create = sql_namespace_create,
    .namespace_exists = sql_namespace_exists,
    .namespace_list = sql_namespace_list,
    .namespace_properties = sql_namespace_properties,
    .namespace_drop = sql_namespace_drop,
    .table_create = sql_table_create,
    .table_load = sql_table_load,
    .table_exists = sql_table_exists,
    .table_list = sql_table_list,
    .table_drop = sql_table_drop,
    .table_rename = sql_table_rename,
    .commit = sql_commit,
    .destroy = sql_destroy,
};

static floe_catalog_sql_backend pick_backend(const char *uri) {
  if (strncmp(uri, "postgresql://", 13) == 0 ||
      strncmp(uri, "postgres://", 11) == 0)
    return FLOE_SQL_POSTGRES;
  /* A libpq key=value conninfo: "host=... port=... dbname=..." */
  const char *p = uri;
  while ((*p >= 'a' && *p <= 'z') || *p == '_') p++;
  if (p != uri && (*p == '=' || (*p == ' ' && strchr(p, '=') != NULL &&
                                 strspn(p, " ") == strcspn(p, "="))))
    return FLOE_SQL_POSTGRES;
  return FLOE_SQL_SQLITE;
}

int catalog_sql_open(floe_catalog *c, const floe_catalog_config *config,
                     floe_error *err) {
  if (config->sql_uri == NULL || config->sql_uri[0] == '\0')
    return floe_error_set(err, FLOE_EINVAL, "no database configured "
                          "(sql_uri: a SQLite file or PostgreSQL conninfo)");
  sql_catalog *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  c->impl = s;
  c->ops = &sql_ops;
  s->max_attempts = config->max_attempts > 0 ? config->max_attempts
                                             : DEFAULT_MAX_ATTEMPTS;
  floe_catalog_sql_backend backend = config->sql_backend;
  if (backend == FLOE_SQL_AUTO) backend = pick_backend(config->sql_uri);
  int rc;
  if (backend == FLOE_SQL_POSTGRES) {
    rc = sql_postgres_open(config->sql_uri, &s->conn, err);
  } else if (backend == FLOE_SQL_SQLITE) {
    const char *path = config->sql_uri;
    if (strncmp(path, "sqlite:", 7) == 0) {
      path += 7;
      const char *local = floe_io_local_path(path[0] == '/' && path[1] == '/'
                                                 ? path + 2
                                                 : path);
      if (local != NULL) path = local;
    }
    rc = sql_sqlite_open(path,
                         config->busy_timeout_ms > 0 ? config->busy_timeout_ms
                                                     : DEFAULT_BUSY_TIMEOUT_MS,
                         &s->conn, err);
  } else {
    rc = floe_error_set(err, FLOE_EINVAL, "unknown SQL backend %d",
                        (int)backend);
  }
  if (rc == FLOE_OK) rc = run(c, 1, schema_step, NULL, err);
  if (rc < 0) floe_error_prefix(err, "initialise JDBC catalog tables");
  return rc;
}

/* ---- sql_rows ----------------------------------------------------------- */

void sql_rows_reset(sql_rows *rows) {
  if (rows == NULL) return;
  for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
    floe_free(rows->cells[i]);
  floe_free(rows->cells);
  rows->cells = NULL;
  rows->nrows = 0;
  rows->ncols = 0;
}

int sql_rows_append(sql_rows *rows, size_t ncols, const char *const *cells,
                    floe_error *err) {
  if (rows->nrows > 0 && rows->ncols != ncols)
    return floe_error_set(err, FLOE_EINVAL, "rows of %zu and %zu columns",
                          rows->ncols, ncols);
  char **grown = floe_realloc(rows->cells,
                              (rows->nrows + 1) * ncols * sizeof *grown);
  if (grown == NULL && ncols > 0)
    return floe_error_set(err, FLOE_ENOMEM, "result rows: out of memory");
  if (grown != NULL) rows->cells = grown;
  rows->ncols = ncols;
  char **row = rows->cells + rows->nrows * ncols;
  for (size_t i = 0; i < ncols; i++) row[i] = NULL;
  rows->nrows++;
  for (size_t i = 0; i < ncols; i++) {
    if (cells[i] == NULL) continue;
    row[i] = floe_strdup(cells[i]);
    if (row[i] == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "result rows: out of memory");
  }
  return FLOE_OK;
}
