/*
 * floe/source.h: where rows come from.
 *
 * A source is a database floe reads tables from (and keeps its control table
 * in). One interface covers every driver: describe a table, run a query as a
 * stream of Arrow batches whose memory is bounded by one batch, execute
 * statements, run transactions, quote identifiers. Drivers: "sqlite" (the
 * embedded default, libsqlite3) and "postgres" (libpq); "snowflake" (SQL API
 * v2 over HTTP) plugs into the same driver table (src/source/source_internal.h).
 *
 * Types: describe maps each column's declared type to a floe_arrow_type_info
 * (one Arrow type per Iceberg primitive; docs/types.md has the tables). A
 * query given the expected column types converts every value to its target
 * type, and a value that does not fit is FLOE_ERANGE with a message naming
 * table, column, row (its primary-key values when known) and the value; never
 * a silent NULL.
 *
 * Parameters are bound with the driver's native binding, never spliced into
 * SQL text.
 *
 * Threading: a floe_source is used by one thread at a time. At most one
 * stream is open per source; while it is open, every other call on the
 * source (exec, query, transactions, scalars) is FLOE_EINVAL.
 */
#ifndef FLOE_SOURCE_H
#define FLOE_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_source_type {
  FLOE_SOURCE_NONE = 0,
  FLOE_SOURCE_SQLITE,
  FLOE_SOURCE_POSTGRES,
  FLOE_SOURCE_SNOWFLAKE
} floe_source_type;

/* How to reach a source. Strings are borrowed for the duration of
 * floe_source_open only. */
typedef struct floe_source_config {
  floe_source_type type;
  /* sqlite: path of the database file. */
  const char *sqlite_path;
  /* sqlite: create the file when it does not exist (default: missing file is
   * FLOE_ENOTFOUND, so a typo never replicates an empty database). */
  bool sqlite_create;
  /* sqlite: milliseconds to wait on a locked database; 0 means 5000. */
  int sqlite_busy_timeout_ms;
  /* postgres: libpq connection string ("host=... dbname=..." or a
   * postgresql:// URI). */
  const char *postgres_conninfo;
  /* Name of an environment variable holding the password, or NULL. The
   * password never appears in error messages. */
  const char *password_env;

  /* snowflake (SQL API v2, docs/snowflake.md). Account identifier
   * ("myorg-myaccount", or a locator "xy12345.us-east-1") and login name;
   * both required. */
  const char *snowflake_account;
  const char *snowflake_user;
  /* "keypair" (default), "oauth" or "pat" (programmatic access token). */
  const char *snowflake_authenticator;
  /* keypair: PEM private key file (PKCS#8, optionally encrypted) and the
   * name of an environment variable holding its passphrase (or NULL). */
  const char *snowflake_private_key_file;
  const char *snowflake_private_key_passphrase_env;
  /* oauth/pat: the token from an environment variable, a file (whitespace
   * trimmed), or given directly; re-read when Snowflake answers 401.
   * Tokens, keys and passphrases never appear in logs or errors. */
  const char *snowflake_token_env;
  const char *snowflake_token_file;
  const char *snowflake_token;
  /* Statement context sent in every request (NULL: the user's default). */
  const char *snowflake_warehouse;
  const char *snowflake_role;
  const char *snowflake_database;
  const char *snowflake_schema;
  /* Endpoint override: "host:port" (https), or plain http only for a
   * loopback host ("127.0.0.1:8080", "localhost:8080"), for tests and
   * emulators. NULL: https://<account>.snowflakecomputing.com. */
  const char *snowflake_host;
  /* Statement timeout sent to Snowflake in seconds; 0 means 600. */
  int snowflake_statement_timeout_s;
  /* Session parameter QUERY_TAG sent with every statement (at most 2000
   * characters, Snowflake's limit; FLOE_EINVAL beyond), so a run's
   * statements can be found in QUERY_HISTORY. NULL: none. */
  const char *snowflake_query_tag;
  /* HTTP: connect timeout and whole-request timeout in ms (0: 10000 and
   * 600000), attempts per request (0: 8), first backoff step in ms (0:
   * 200), longest wait between status polls in ms (0: 2000). */
  int snowflake_connect_timeout_ms;
  int snowflake_request_timeout_ms;
  int snowflake_max_attempts;
  int snowflake_backoff_base_ms;
  int snowflake_poll_max_ms;
  /* Result partitions downloaded and decoded at the same time, each on
   * its own thread and connection, delivered in order (0:
   * FLOE_SOURCE_DEFAULT_PREFETCH_PARTITIONS; 1: one after another). At
   * most this many decoded partitions are held at a time. */
  int snowflake_prefetch_partitions;
  /* When not NULL and *interrupt becomes nonzero (a SIGINT handler sets
   * it), a running statement is cancelled (POST .../cancel) and the call
   * returns FLOE_ECANCELED. */
  const volatile sig_atomic_t *interrupt;
} floe_source_config;

/* Parses "sqlite", "postgres"/"postgresql", "snowflake"; FLOE_SOURCE_NONE
 * otherwise. */
floe_source_type floe_source_type_from_name(const char *name);

typedef struct floe_source floe_source;
typedef struct floe_source_stream floe_source_stream;

/* Connects. On success *out owns the connection; free it with
 * floe_source_close. Errors: FLOE_EINVAL (bad config), FLOE_ENOTFOUND
 * (missing sqlite file), FLOE_ESOURCE (connection refused, auth failed:
 * the server's message), FLOE_EUNSUPPORTED (driver not built in). */
int floe_source_open(floe_source **out, const floe_source_config *config,
                     floe_error *err);
/* Closes the connection (rolling back an open transaction, closing an open
 * stream's cursor first). Accepts NULL. Streams must be freed before. */
void floe_source_close(floe_source *src);

/* "sqlite", "postgres", ... (static storage). */
const char *floe_source_dialect(const floe_source *src);

/* ---- identifiers -------------------------------------------------------- */

/* Quotes one identifier for src's dialect: wraps it in double quotes and
 * doubles any double quote inside (`a"b` -> `"a""b"`). *out is allocated;
 * the caller frees it with floe_free. Errors: FLOE_EINVAL for an empty
 * name, FLOE_ENOMEM. */
int floe_source_quote_ident(const floe_source *src, const char *name,
                            char **out, floe_error *err);
/* Quotes a possibly qualified name: `schema.table` is split on dots and each
 * part quoted (`"schema"."table"`). A part may itself be written in double
 * quotes to hold dots or quotes (`"my.schema"."a""b"`); such a part is taken
 * literally, never re-folded. *out is allocated (floe_free). Errors:
 * FLOE_EINVAL (empty part, unbalanced quote), FLOE_ENOMEM. */
int floe_source_quote_name(const floe_source *src, const char *qualified,
                           char **out, floe_error *err);

/* ---- parameters --------------------------------------------------------- */

typedef enum floe_source_param_type {
  FLOE_PARAM_NULL = 0,
  FLOE_PARAM_INT64,
  FLOE_PARAM_DOUBLE,
  FLOE_PARAM_TEXT,
  FLOE_PARAM_BLOB
} floe_source_param_type;

/* A typed statement parameter ($1/?1 ...). Text and blob bytes are borrowed
 * for the duration of the call that binds them (drivers copy them). */
typedef struct floe_source_param {
  floe_source_param_type type;
  int64_t int64_value;
  double double_value;
  const void *bytes; /* text (UTF-8) or blob */
  size_t len;        /* bytes in `bytes` */
} floe_source_param;

static inline floe_source_param floe_param_null(void) {
  floe_source_param p = {FLOE_PARAM_NULL, 0, 0.0, NULL, 0};
  return p;
}
static inline floe_source_param floe_param_int64(int64_t v) {
  floe_source_param p = {FLOE_PARAM_INT64, v, 0.0, NULL, 0};
  return p;
}
static inline floe_source_param floe_param_double(double v) {
  floe_source_param p = {FLOE_PARAM_DOUBLE, 0, v, NULL, 0};
  return p;
}
/* text must be NUL-terminated. */
static inline floe_source_param floe_param_text(const char *text) {
  floe_source_param p = {FLOE_PARAM_TEXT, 0, 0.0, text, text ? strlen(text) : 0};
  if (text == NULL) p.type = FLOE_PARAM_NULL;
  return p;
}
static inline floe_source_param floe_param_blob(const void *bytes, size_t len) {
  floe_source_param p = {FLOE_PARAM_BLOB, 0, 0.0, bytes, len};
  return p;
}

/* ---- describing tables -------------------------------------------------- */

/* How a column's values arrive (floe_source_column.json). */
typedef enum floe_source_json {
  FLOE_SOURCE_JSON_NONE = 0,   /* as the source types them */
  FLOE_SOURCE_JSON_DECODE = 1, /* JSON text decoded into the column's type;
                                  object members a struct does not declare
                                  are ignored */
  FLOE_SOURCE_JSON_STRICT = 2  /* as DECODE, such members are an error */
} floe_source_json;

typedef struct floe_source_column {
  char *name;
  /* The type as the source declares it: "DECIMAL(10,2)", "timestamp with
   * time zone", "" when SQLite has no declared type. */
  char *declared_type;
  bool nullable;
  /* The floe/Iceberg type values are converted to. */
  floe_arrow_type_info type;
  /* 1-based position in the primary key; 0 when not part of it. */
  int32_t pk_ordinal;
  /* Iceberg field id for the batch schema's "PARQUET:field_id"; 0 (the
   * value describe leaves) means none. The replication engine sets it. */
  int32_t field_id;
  /* type.id == FLOE_ARROW_LIST (a PostgreSQL array): the element type (a
   * primitive), whether elements may be null, and the element's Iceberg
   * field id (set by the engine like field_id; 0: none). */
  floe_arrow_type_info element;
  bool element_nullable;
  int32_t element_field_id;
  /* The source holds JSON text in this column (a declared shape, config
   * `columns:`): each value is parsed and decoded into `type` (source/
   * json_shape.c has the rules); a JSON value that does not fit is
   * FLOE_ERANGE naming its JSON path ("payload.items[3].qty"). */
  floe_source_json json;
  /* Nested columns (struct, map, lists of nested types): the column's
   * Arrow field, names and field ids at every level, used for the batch
   * schema instead of type/element. Borrowed, and read only while
   * floe_source_query builds the stream's schema; NULL otherwise. */
  const struct ArrowSchema *arrow_field;
  /* A declared nested shape (struct, map, a list of nested types): its
   * Iceberg type, field ids 0, for the table's schema (borrowed from the
   * job that declared it); NULL otherwise. */
  const struct floe_iceberg_type *shape;
  /* Set by describe for a column the source itself types as nested (a
   * PostgreSQL composite, an array of composites, a multi-dimensional
   * array): its type as a nested type string in Iceberg spelling
   * ("struct<`x`: int, `tags`: list<string>>"), which the engine parses
   * into `shape`; the driver appends such values itself (no JSON). Owned
   * like name; NULL otherwise (and in a stream's columns). */
  char *nested_type;
} floe_source_column;

typedef struct floe_source_table {
  bool exists;
  int64_t n_columns;
  floe_source_column *columns; /* in table order */
} floe_source_table;

/* Describes `table` (a name as floe_source_quote_name takes it; unqualified
 * names use the source's default schema: sqlite "main", postgres the
 * search_path). A missing table is not an error: out->exists is false and
 * out has no columns. *out owns its memory; free with
 * floe_source_table_free. Errors: FLOE_ESOURCE, FLOE_EINVAL, FLOE_ENOMEM. */
int floe_source_describe(floe_source *src, const char *table,
                         floe_source_table *out, floe_error *err);
/* Frees the columns and zeroes *table. Accepts NULL. */
void floe_source_table_free(floe_source_table *table);

/* ---- queries ------------------------------------------------------------ */

#define FLOE_SOURCE_DEFAULT_BATCH_ROWS 8192
/* Snowflake result partitions in flight when not configured. */
#define FLOE_SOURCE_DEFAULT_PREFETCH_PARTITIONS 4

typedef struct floe_source_query_spec {
  const char *sql;
  const floe_source_param *params;
  size_t n_params;
  /* Expected result columns (usually from describe, in select order). When
   * set, the query must return exactly n_columns columns, the batch schema
   * uses these names, types, nullability and field ids, and every value is
   * converted to its column's type (FLOE_ERANGE when it does not fit,
   * including a NULL in a non-nullable column). Columns with pk_ordinal > 0
   * form the row key quoted in error messages. When NULL, types are inferred
   * from the driver's result metadata (docs/types.md) and all columns are
   * nullable. Borrowed until floe_source_query returns. */
  const floe_source_column *columns;
  int64_t n_columns;
  /* Rows per batch; 0 means FLOE_SOURCE_DEFAULT_BATCH_ROWS. */
  int64_t batch_rows;
  /* Table named in value errors ("table 'sales' column ..."); may be NULL. */
  const char *table;
} floe_source_query_spec;

/* Runs a query and opens a stream over its rows. Memory stays bounded by
 * one batch: sqlite steps its statement row by row, postgres reads through
 * a server-side cursor (DECLARE ... NO SCROLL CURSOR; FETCH FORWARD
 * batch_rows), inside the caller's transaction or its own read transaction.
 * On success *out owns the stream; free it with floe_source_stream_free
 * before running anything else on src. Errors: FLOE_ESOURCE (SQL error with
 * the driver's code and message), FLOE_EINVAL (column count mismatch, a
 * stream already open), FLOE_ERANGE (first row, untyped inference),
 * FLOE_ENOMEM. */
int floe_source_query(floe_source *src, const floe_source_query_spec *spec,
                      floe_source_stream **out, floe_error *err);
/* The batch schema: a "+s" struct with one child per column. Borrowed; it
 * lives as long as the stream (copy it with floe_arrow_schema_copy). */
const struct ArrowSchema *floe_source_stream_schema(
    const floe_source_stream *stream);
/* Pulls the next batch of up to batch_rows rows into *out (a "+s" array the
 * caller owns and releases). Returns 1 with a batch (length >= 1), 0 at the
 * end (out released: out->release == NULL), or a negative error: FLOE_ERANGE
 * for a value that does not fit ("table 'items' column 'price' row (id=3):
 * value '12345.678' does not fit decimal(5,2): 3 fractional digits, scale is
 * 2"), FLOE_ESOURCE, FLOE_ENOMEM. After an error the stream is finished:
 * further calls return FLOE_EINVAL. */
int floe_source_stream_next(floe_source_stream *stream, struct ArrowArray *out,
                            floe_error *err);
/* Rows returned so far. */
int64_t floe_source_stream_rows(const floe_source_stream *stream);
/* Closes the cursor/statement (ending the stream's own read transaction)
 * and frees the stream. Accepts NULL. */
void floe_source_stream_free(floe_source_stream *stream);

/* Executes one statement with params (or, when n_params is 0, a script of
 * statements separated by ';'). *out_rows (may be NULL) gets the rows the
 * last statement inserted, updated or deleted (0 for other statements).
 * Errors: FLOE_ESOURCE (with the driver's code and message), FLOE_EINVAL
 * (params with more than one statement, a stream open), FLOE_ENOMEM. */
int floe_source_exec(floe_source *src, const char *sql,
                     const floe_source_param *params, size_t n_params,
                     int64_t *out_rows, floe_error *err);

/* Transactions. begin: sqlite BEGIN IMMEDIATE (takes the write lock at once,
 * so two writers never deadlock on upgrade), postgres BEGIN. commit and
 * rollback end it. Errors: FLOE_EINVAL (begin inside a transaction,
 * commit/rollback outside one), FLOE_ESOURCE. */
int floe_source_begin(floe_source *src, floe_error *err);
int floe_source_commit(floe_source *src, floe_error *err);
int floe_source_rollback(floe_source *src, floe_error *err);
/* Whether a transaction begun with floe_source_begin is open. */
bool floe_source_in_transaction(const floe_source *src);

/* Scalar helpers for the control-table protocol. The query must return one
 * column; its first row's value is converted to long (or string). No row at
 * all, or SQL NULL, gives *out_is_null = true and *out = 0 (or NULL).
 * query_text's *out is allocated (floe_free). Errors: as floe_source_query
 * and floe_source_stream_next (FLOE_ERANGE when the value is not an integer
 * that fits int64). */
int floe_source_query_int64(floe_source *src, const char *sql,
                            const floe_source_param *params, size_t n_params,
                            int64_t *out, bool *out_is_null, floe_error *err);
/* One row of n_values (1 to 8) integer columns, in one statement: out[i]
 * and out_is_null[i] (true for SQL NULL and when there is no row) per
 * column. Errors as floe_source_query_int64. */
int floe_source_query_int64s(floe_source *src, const char *sql,
                             const floe_source_param *params, size_t n_params,
                             int64_t *out, bool *out_is_null, size_t n_values,
                             floe_error *err);
int floe_source_query_text(floe_source *src, const char *sql,
                           const floe_source_param *params, size_t n_params,
                           char **out, floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
