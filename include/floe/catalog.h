/*
 * floe/catalog.h: where an Iceberg table's current-metadata pointer lives.
 *
 * A catalog maps a table identifier (dotted namespace + name) to the
 * location of the table's current metadata JSON file, and swaps that
 * pointer by compare-and-swap on commit (DESIGN.md rule 3). This layer
 * moves metadata *locations* and metadata JSON *bytes*; it never parses
 * table metadata (that is src/iceberg's job). Two kinds:
 *
 *  - hadoop: Iceberg's HadoopCatalog layout. Namespaces are directories
 *    under the warehouse; a table is <warehouse>/<ns path>/<table>/ with
 *    metadata/v<N>.metadata.json and metadata/version-hint.text. A commit
 *    publishes v<N+1> without replacing (first writer wins).
 *  - sql: Iceberg's JDBC catalog schema (tables iceberg_tables and
 *    iceberg_namespace_properties, schema version V1) on SQLite or
 *    PostgreSQL, readable by Iceberg Java's JdbcCatalog and PyIceberg's
 *    SqlCatalog. Metadata files are
 *    <table location>/metadata/<5-digit version>-<uuid>.metadata.json. A
 *    commit is one UPDATE ... WHERE metadata_location = <expected>.
 *  - rest: the Iceberg REST catalog protocol (open-api/rest-catalog-
 *    open-api.yaml): Apache Polaris / Snowflake Open Catalog, AWS Glue's
 *    and S3 Tables' Iceberg endpoints, Nessie, Unity, Lakekeeper. The
 *    server writes the metadata files: create sends the schema, spec,
 *    sort order and properties; a commit sends the difference between the
 *    expected metadata and the caller's new metadata as REST `updates`
 *    guarded by `requirements`, and the metadata the server wrote becomes
 *    the table's state (floe_catalog_server_writes_metadata).
 *
 * Identifiers: a namespace is a dotted string ("sales" or "prod.sales"),
 * the JDBC catalog's convention; levels are non-empty and contain no '/'.
 * Table names are non-empty and contain no '/' or '.'.
 *
 * Errors carry "catalog <kind> '<name>': table <ns>.<t>: <what>: <why>".
 * Codes: FLOE_ENOTFOUND (no such namespace/table), FLOE_EEXISTS,
 * FLOE_ECONFLICT (the pointer moved), FLOE_EINVAL (bad identifier or
 * config, non-empty namespace on drop), FLOE_EUNSUPPORTED, FLOE_EIO (file
 * system or database failure, with the SQL error text), FLOE_ENOMEM.
 */
#ifndef FLOE_CATALOG_H
#define FLOE_CATALOG_H

#include <stddef.h>

#include "floe/common.h"
#include "floe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_catalog floe_catalog;

typedef enum floe_catalog_type {
  FLOE_CATALOG_HADOOP = 1,
  FLOE_CATALOG_SQL = 2,
  FLOE_CATALOG_REST = 3,
} floe_catalog_type;

typedef enum floe_catalog_sql_backend {
  /* Decided from sql_uri: "postgresql://", "postgres://" or a key=value
   * conninfo ("host=... dbname=...") is PostgreSQL; "sqlite:" followed by a
   * path, or any other string, is a SQLite database file. */
  FLOE_SQL_AUTO = 0,
  FLOE_SQL_SQLITE = 1,
  FLOE_SQL_POSTGRES = 2,
} floe_catalog_sql_backend;

/* A name/value pair (borrowed): namespace properties, HTTP headers. */
typedef struct floe_catalog_property {
  const char *key;
  const char *value;
} floe_catalog_property;

/* How to reach a REST catalog. Secrets (credential, token, secret key)
 * are kept in memory only: no log line or error message carries them. */
typedef struct floe_catalog_rest_config {
  /* Base URI; the client appends /v1/... ("http://127.0.0.1:8181",
   * "https://<account>.snowflakecomputing.com/polaris/api/catalog",
   * "https://glue.us-east-1.amazonaws.com/iceberg"). */
  const char *uri;
  /* The `warehouse` sent to GET /v1/config (Polaris: the catalog name;
   * Glue: the account id; S3 Tables: the table bucket ARN). May be NULL. */
  const char *warehouse;
  /* OAuth2 client credentials, "client_id:client_secret" (or the secret
   * alone): tokens come from the token endpoint and are refreshed before
   * they expire and after a 401. */
  const char *credential;
  const char *scope;           /* NULL: "PRINCIPAL_ROLE:ALL" */
  const char *oauth2_uri;      /* NULL: config's oauth2-server-uri, else
                                  <uri>/v1/oauth/tokens */
  const char *token;           /* a static bearer token */
  /* AWS SigV4 signing (libcurl's CURLOPT_AWS_SIGV4) when sigv4_region is
   * set; service "glue" or "s3tables". Keys NULL: AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the environment. */
  const char *sigv4_region;
  const char *sigv4_service;
  const char *sigv4_access_key_id;
  const char *sigv4_secret_access_key;
  const char *sigv4_session_token;
  /* Extra headers sent with every request. */
  const floe_catalog_property *headers;
  size_t n_headers;
  /* X-Iceberg-Access-Delegation on table loads and creates. NULL:
   * "vended-credentials"; "": not sent. */
  const char *access_delegation;
  int request_timeout_ms; /* one HTTP exchange; 0 = 30000 */
  int connect_timeout_ms; /* 0 = 10000 */
  int max_attempts; /* idempotent requests on 429/5xx/lost connections;
                       0 = 5 */
} floe_catalog_rest_config;

/* How to open a catalog. Strings are borrowed for the duration of
 * floe_catalog_open only (the catalog copies them). */
typedef struct floe_catalog_config {
  floe_catalog_type type;
  /* The JDBC `catalog_name` column (sql), and the name in messages.
   * NULL: "floe". */
  const char *name;
  /* Root location for default table locations: a path or file:// URI. */
  const char *warehouse;
  floe_catalog_sql_backend sql_backend;
  /* sql: the SQLite database file, or a PostgreSQL conninfo / URI. */
  const char *sql_uri;
  /* The file system for metadata files. Borrowed, must outlive the
   * catalog. NULL: the catalog opens (and owns) the io for the
   * warehouse's scheme (floe_io_open_for): local, or S3 for s3://. */
  floe_io *io;
  /* Options for that owned io (S3 region, endpoint, credentials...);
   * borrowed for floe_catalog_open only. NULL: defaults. The local
   * options' durable flag is taken from `durable` below. */
  const floe_io_options *storage;
  /* For the owned local io: 1 = fsync files and directories on commit.
   * The zero default is durable; set to -1 for non-durable (tests). */
  int durable;
  /* sql: how long one SQLite statement waits on a lock before reporting
   * busy (sqlite3_busy_timeout); 0 = 5000 ms. */
  int busy_timeout_ms;
  /* sql: attempts at a statement or transaction that found the database
   * busy/locked (SQLITE_BUSY, PostgreSQL 40001/40P01/55P03), with
   * exponential backoff between them, before failing; 0 = 10. */
  int max_attempts;
  /* Largest metadata JSON file load will read; 0 = 64 MiB. */
  size_t max_metadata_bytes;
  /* rest: the server and its authentication. `warehouse` above is then
   * optional: the server chooses table locations. */
  floe_catalog_rest_config rest;
} floe_catalog_config;

/* A table identifier: dotted namespace and table name (borrowed). */
typedef struct floe_catalog_ident {
  const char *ns;
  const char *name;
} floe_catalog_ident;

/* A table's current state as the catalog sees it. Filled by
 * floe_catalog_table_load; owned by the caller; release with
 * floe_catalog_table_reset. Initialise with `= {0}`. */
typedef struct floe_catalog_table {
  char *metadata_location;          /* current metadata file */
  char *previous_metadata_location; /* sql: previous pointer; may be NULL */
  char *metadata_json;              /* the file's bytes, NUL-terminated */
  size_t metadata_json_len;
  long version; /* hadoop: N of v<N>; sql: the 5-digit prefix or -1 */
  /* rest: the `config` of the load result (storage settings and vended
   * credentials for the table's files); empty for the other kinds. */
  char **config_keys;
  char **config_values;
  size_t config_count;
} floe_catalog_table;

/* A list of names (namespaces as dotted strings, or table names), sorted.
 * Owned by the caller; release with floe_catalog_names_reset. */
typedef struct floe_catalog_names {
  char **items;
  size_t count;
} floe_catalog_names;

/* Namespace properties, sorted by key. Owned by the caller; release with
 * floe_catalog_properties_reset. */
typedef struct floe_catalog_properties {
  char **keys;
  char **values;
  size_t count;
} floe_catalog_properties;

void floe_catalog_table_reset(floe_catalog_table *table);
void floe_catalog_names_reset(floe_catalog_names *names);
void floe_catalog_properties_reset(floe_catalog_properties *properties);

/* Opens a catalog. sql: connects and creates the JDBC tables when missing
 * (and adds the V1 iceberg_type column to a V0 iceberg_tables). The caller
 * owns *out and frees it with floe_catalog_free. Errors: FLOE_EINVAL
 * (config), FLOE_EIO (database: the driver's message), FLOE_ENOMEM. */
int floe_catalog_open(const floe_catalog_config *config, floe_catalog **out,
                      floe_error *err);

/* Closes connections and frees the catalog. Accepts NULL. */
void floe_catalog_free(floe_catalog *catalog);

/* The catalog's name (config name or "floe"); owned by the catalog. */
const char *floe_catalog_name(const floe_catalog *catalog);

/* The io the catalog reads and writes metadata through; owned by the
 * catalog or borrowed from the config. */
floe_io *floe_catalog_io(floe_catalog *catalog);

/* 1 when the catalog server writes the metadata files (rest): after
 * floe_catalog_table_create and floe_catalog_commit_table the table's
 * metadata is the JSON the server returned, not the caller's. */
int floe_catalog_server_writes_metadata(const floe_catalog *catalog);

/* Creates namespace `ns` (dotted) with optional properties (count may be
 * 0, props NULL). sql: stores the properties plus "exists"="true" in
 * iceberg_namespace_properties, as JdbcCatalog does. hadoop: makes the
 * directory; properties are FLOE_EUNSUPPORTED, as in HadoopCatalog.
 * Errors: FLOE_EEXISTS, FLOE_EINVAL, FLOE_EIO. */
int floe_catalog_namespace_create(floe_catalog *catalog, const char *ns,
                                  const floe_catalog_property *props,
                                  size_t count, floe_error *err);

/* *out_exists = 1 when `ns` exists (sql: it has properties or tables, or
 * a child namespace does, as in JdbcCatalog). */
int floe_catalog_namespace_exists(floe_catalog *catalog, const char *ns,
                                  int *out_exists, floe_error *err);

/* Lists the direct children of `parent` (NULL or "" = top level) as full
 * dotted names into *out. Errors: FLOE_ENOTFOUND (parent), FLOE_EIO. */
int floe_catalog_namespace_list(floe_catalog *catalog, const char *parent,
                                floe_catalog_names *out, floe_error *err);

/* Loads the properties of `ns` into *out. hadoop reports one property,
 * "location". Errors: FLOE_ENOTFOUND. */
int floe_catalog_namespace_properties(floe_catalog *catalog, const char *ns,
                                      floe_catalog_properties *out,
                                      floe_error *err);

/* Drops an empty namespace. Errors: FLOE_ENOTFOUND; FLOE_EINVAL when it
 * still holds tables or child namespaces (named in the message). */
int floe_catalog_namespace_drop(floe_catalog *catalog, const char *ns,
                                floe_error *err);

/* The default location of a table: <warehouse>/<ns levels as path>/<name>
 * (no trailing slash), which the caller writes into the table's metadata
 * before floe_catalog_table_create. *out is freed by the caller with
 * floe_free. */
int floe_catalog_default_location(floe_catalog *catalog,
                                  floe_catalog_ident ident, char **out,
                                  floe_error *err);

/* Creates a table: writes `metadata_json` as its first metadata file under
 * <location>/metadata/ (never replacing a file) and registers it.
 * `location` NULL means the default location (hadoop accepts only that).
 * The namespace must exist. When `out` is non-NULL it receives the new
 * table state (as floe_catalog_table_load would). Errors: FLOE_ENOTFOUND
 * (namespace), FLOE_EEXISTS (table), FLOE_EINVAL, FLOE_EIO. */
int floe_catalog_table_create(floe_catalog *catalog, floe_catalog_ident ident,
                              const char *location, const char *metadata_json,
                              size_t metadata_json_len,
                              floe_catalog_table *out, floe_error *err);

/* Loads a table's current metadata location and the file's JSON bytes into
 * *out (reset first by the caller or `= {0}`). hadoop: reads
 * version-hint.text and then probes v<N+1>, v<N+2>, ... since the hint may
 * lag the newest version after a crash; without a hint, lists metadata/.
 * Errors: FLOE_ENOTFOUND, FLOE_ERANGE (file over max_metadata_bytes),
 * FLOE_EIO. */
int floe_catalog_table_load(floe_catalog *catalog, floe_catalog_ident ident,
                            floe_catalog_table *out, floe_error *err);

int floe_catalog_table_exists(floe_catalog *catalog, floe_catalog_ident ident,
                              int *out_exists, floe_error *err);

/* Lists the tables of namespace `ns` (names only) into *out.
 * Errors: FLOE_ENOTFOUND (namespace). */
int floe_catalog_table_list(floe_catalog *catalog, const char *ns,
                            floe_catalog_names *out, floe_error *err);

/* Drops a table. sql: unregisters it; with `purge`, also deletes its
 * location directory tree (the "location" field of its current metadata)
 * and its metadata directory. hadoop: deletes the table directory, as
 * HadoopCatalog does, since the directory is the registration.
 * Errors: FLOE_ENOTFOUND, FLOE_EIO. */
int floe_catalog_table_drop(floe_catalog *catalog, floe_catalog_ident ident,
                            int purge, floe_error *err);

/* Renames a table (sql only; the location and files stay where they are).
 * The target namespace must exist. hadoop: FLOE_EUNSUPPORTED, as in
 * HadoopCatalog (the table's location is its name). Errors:
 * FLOE_ENOTFOUND, FLOE_EEXISTS (target), FLOE_EUNSUPPORTED. */
int floe_catalog_table_rename(floe_catalog *catalog, floe_catalog_ident from,
                              floe_catalog_ident to, floe_error *err);

/* Commits new metadata: writes `metadata_json` as the next metadata file
 * and swaps the table's pointer from `expected_location` to it, atomically.
 * `expected_location` is the metadata_location the caller's change was
 * based on (from floe_catalog_table_load). On success *out_location (may
 * be NULL) receives the new location (freed by the caller).
 *
 * FLOE_ECONFLICT when the pointer is no longer `expected_location`: the
 * pointer is unchanged; the caller reloads, re-applies its change and
 * retries. sql writes the file before the swap, so after a conflict the
 * new file is an unreferenced orphan: its path is in the message and in
 * *out_location. hadoop publishes v<N+1> itself as the swap, so a loser
 * leaves nothing. Other errors: FLOE_ENOTFOUND (table), FLOE_EIO. */
int floe_catalog_commit(floe_catalog *catalog, floe_catalog_ident ident,
                        const char *expected_location,
                        const char *metadata_json, size_t metadata_json_len,
                        char **out_location, floe_error *err);

/* floe_catalog_commit that also returns the committed state in *out
 * (reset first): the new location and the committed metadata JSON, which
 * for a rest catalog is the metadata the server wrote.
 *
 * rest: the commit is POST .../tables/{table} with the updates that turn
 * the expected metadata into `metadata_json` (add-snapshot,
 * set-snapshot-ref, add-schema, add-spec, set-properties, ...) and the
 * requirements that make it a compare-and-swap (assert-table-uuid,
 * assert-ref-snapshot-id, ...). 409 is FLOE_ECONFLICT. A 5xx or a lost
 * connection after the request was sent leaves the outcome unknown: the
 * table is reloaded and the commit counts as landed when every snapshot it
 * adds is in the table (or, without snapshots, when nothing remains to
 * apply); otherwise FLOE_ECONFLICT, so the caller reloads and re-applies,
 * and never a blind resend. */
int floe_catalog_commit_table(floe_catalog *catalog, floe_catalog_ident ident,
                              const char *expected_location,
                              const char *metadata_json,
                              size_t metadata_json_len,
                              floe_catalog_table *out, floe_error *err);

/* Registers an existing metadata file as table `ident` (rest: POST
 * .../register). Errors: FLOE_EEXISTS, FLOE_ENOTFOUND (namespace),
 * FLOE_EUNSUPPORTED (hadoop, sql). */
int floe_catalog_table_register(floe_catalog *catalog,
                                floe_catalog_ident ident,
                                const char *metadata_location,
                                floe_catalog_table *out, floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
