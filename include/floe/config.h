/*
 * floe/config.h: the one YAML file that describes a floe job.
 *
 * floe_config_load reads the file (libyaml), applies command-line overrides
 * ("tables.orders.mode=merge"), interpolates ${ENV}, ${ENV:-default} and
 * ${file:/path} in scalar values, lets every table inherit `defaults`, checks
 * every key against the schema and maps the result onto the typed structs
 * below. Every problem found is reported with file:line:column and the key
 * path, e.g.
 *
 *   floe.yaml:14:11: tables.orders.mode: unknown value 'upsert' (expected
 *   append, overwrite or merge; did you mean merge?)
 *
 * and all of them are collected, not only the first (floe_config_error_count,
 * floe_config_error_message). docs/config.md is the reference of every key.
 *
 * Ownership: a floe_config owns every string and array reachable from it;
 * floe_config_free releases them all. Strings are NUL-terminated UTF-8;
 * optional strings are NULL when unset.
 *
 * Relative paths in the file (source.path, source.private_key_file,
 * target.warehouse, catalog uri "sqlite:PATH", logging.file, run.report,
 * ${file:PATH}) are resolved against the directory of the configuration file,
 * so a job behaves the same whatever directory cron starts it in. Values given
 * as overrides are taken as typed (relative to the working directory).
 */
#ifndef FLOE_CONFIG_H
#define FLOE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a key or value was written: file (or "override"), 1-based line and
 * column (0 when the value came from an override). `file` points into the
 * floe_config and lives as long as it. */
typedef struct floe_config_location {
  const char *file;
  int line;
  int column;
} floe_config_location;

typedef enum floe_config_source_type {
  FLOE_CONFIG_SOURCE_SQLITE = 0,
  FLOE_CONFIG_SOURCE_POSTGRES = 1,
  FLOE_CONFIG_SOURCE_SNOWFLAKE = 2
} floe_config_source_type;

typedef enum floe_config_snowflake_auth {
  FLOE_SNOWFLAKE_AUTH_KEYPAIR = 0, /* JWT signed with private_key_file */
  FLOE_SNOWFLAKE_AUTH_OAUTH = 1,   /* token / token_env is an OAuth token */
  FLOE_SNOWFLAKE_AUTH_PAT = 2      /* token / token_env is a programmatic access token */
} floe_config_snowflake_auth;

#define FLOE_CONFIG_PREFETCH_PARTITIONS_MAX 64

/* source: where rows come from. Only the fields of `type` are set. */
typedef struct floe_config_source {
  floe_config_source_type type;
  /* sqlite */
  char *path;
  /* postgres: libpq conninfo ("host=... dbname=...") or postgresql:// URI.
   * The password is read from the environment variable named password_env
   * at connect time, or given as `password` (a secret, typically
   * ${file:/run/secrets/pg}). */
  char *conninfo;
  char *password_env;
  char *password;
  /* snowflake (SQL API v2) */
  char *account;
  char *user;
  floe_config_snowflake_auth authenticator;
  char *private_key_file;           /* keypair: PEM PKCS#8 private key */
  char *private_key_passphrase_env; /* keypair: env var with the key's passphrase */
  char *token_env;                  /* oauth/pat: env var holding the token */
  char *token;                      /* oauth/pat: the token itself (secret) */
  char *warehouse;
  char *role;
  char *database;
  char *schema;
  char *host;        /* overrides <account>.snowflakecomputing.com (tests) */
  /* The connections.toml connection the settings above were completed from
   * (keys the job sets win), or NULL. */
  char *connection;
  /* Session parameter QUERY_TAG of every statement; "{run_id}" in it is
   * replaced by the run's id. Not set: the run id itself; set to null
   * (query_tag_set, query_tag NULL): no tag. */
  char *query_tag;
  bool query_tag_set;
  /* Result partitions fetched and decoded at the same time (1..
   * FLOE_CONFIG_PREFETCH_PARTITIONS_MAX); 0: not set, the driver's default. */
  int64_t prefetch_partitions;
  int64_t timeout_s; /* statement timeout, seconds; default 600 */
} floe_config_source;

typedef enum floe_config_catalog_type {
  FLOE_CONFIG_CATALOG_SQL = 0,    /* JDBC-catalog compatible tables in SQLite or PostgreSQL */
  FLOE_CONFIG_CATALOG_HADOOP = 1, /* version-hint files under the warehouse */
  FLOE_CONFIG_CATALOG_REST = 2    /* Iceberg REST catalog */
} floe_config_catalog_type;

typedef struct floe_config_catalog {
  floe_config_catalog_type type;
  /* sql: "sqlite:PATH", "postgresql://..." or a libpq conninfo;
   * rest: "http(s)://host/prefix"; hadoop: NULL. */
  char *uri;
  char *name;  /* JDBC catalog_name; default "floe" */
  char *token; /* rest: bearer token (secret) */
  /* rest only (docs/config.md, "REST catalogs"): */
  char *warehouse;         /* sent to GET /v1/config */
  char *credential;        /* OAuth2 "client_id:client_secret" (secret) */
  char *scope;             /* OAuth2 scope */
  char *oauth2_server_uri; /* token endpoint */
  char *access_delegation; /* X-Iceberg-Access-Delegation; "none" = not sent */
  int64_t timeout_s;       /* one request; default 30 */
  /* sigv4: {region, signing_name, access_key_id, secret_access_key,
   * session_token}; region set = requests are SigV4-signed. */
  char *sigv4_region;
  char *sigv4_signing_name;
  char *sigv4_access_key_id;
  char *sigv4_secret_access_key; /* secret */
  char *sigv4_session_token;     /* secret */
  struct floe_config_property *headers; /* extra HTTP headers, file order */
  size_t n_headers;
} floe_config_catalog;

/* One Iceberg table property, kept as text in file order. */
typedef struct floe_config_property {
  char *key;
  char *value;
} floe_config_property;

typedef enum floe_config_storage_type {
  FLOE_CONFIG_STORAGE_DEFAULT = 0, /* decided by the warehouse's scheme */
  FLOE_CONFIG_STORAGE_LOCAL = 1,
  FLOE_CONFIG_STORAGE_S3 = 2
} floe_config_storage_type;

/* target.storage: how floe reaches the warehouse's bytes. Secrets come in
 * through ${ENV} / ${file:...} and are redacted by floe_config_dump. */
typedef struct floe_config_storage {
  floe_config_storage_type type;
  char *region;
  char *endpoint;   /* http(s)://host[:port] for MinIO, R2, test servers */
  int path_style;   /* 0 unset (path-style with a custom endpoint), 1 true, 2 false */
  char *profile;    /* shared config/credentials profile */
  char *access_key_id;
  char *secret_access_key; /* secret */
  char *session_token;     /* secret */
  char *sts_endpoint;
  int conditional_writes; /* 0 unset (true), 1 true, 2 false: HEAD-then-PUT fallback */
  int64_t multipart_threshold; /* bytes; 0 = default 16 MiB */
  int64_t part_size;           /* bytes; 0 = default 8 MiB */
  int64_t max_attempts;        /* 0 = default 6 */
} floe_config_storage;

typedef struct floe_config_target {
  char *warehouse; /* local path, file:// or s3:// URI */
  floe_config_storage storage;
  floe_config_catalog catalog;
  char *default_namespace; /* target.namespace; default "default" */
  floe_config_property *properties;
  size_t n_properties;
} floe_config_target;

typedef enum floe_config_control_location {
  FLOE_CONTROL_IN_SOURCE = 0 /* the control table lives in the source database */
} floe_config_control_location;

/* The control table's columns (docs/replicate.md, "A notebook-era control
 * table"). */
typedef enum floe_config_control_layout {
  FLOE_CONTROL_LAYOUT_AUTO = 0, /* minimal when the table exists without run_id */
  FLOE_CONTROL_LAYOUT_FULL,     /* floe's columns in the table itself */
  FLOE_CONTROL_LAYOUT_MINIMAL   /* (table_name, batch_sk) only; floe's columns
                                   in the side table <table>_floe */
} floe_config_control_layout;

typedef struct floe_config_control {
  char *table; /* default "floe_control" */
  floe_config_control_location location;
  char *schema; /* optional schema/database qualifier */
  floe_config_control_layout layout;
} floe_config_control;

typedef struct floe_config_logging {
  floe_log_level level;   /* default FLOE_LOG_INFO */
  floe_log_format format; /* default FLOE_LOG_LOGFMT */
  char *file;             /* NULL: stderr */
} floe_config_logging;

typedef enum floe_config_durability {
  FLOE_DURABILITY_FSYNC = 0, /* fsync data and metadata files before commit */
  FLOE_DURABILITY_NONE = 1
} floe_config_durability;

typedef struct floe_config_run {
  char *report; /* JSON run report path, or NULL */
  floe_config_durability durability;
  /* Threads of a load's pipeline (source on one, encoding on the others);
   * 0: the number of online cores. Output does not depend on it. */
  int64_t threads;
  /* Where a merge past its merge.memory_mb makes its temporary spill
   * directory; NULL: $TMPDIR, else /tmp. */
  char *spill_dir;
} floe_config_run;

typedef enum floe_config_strategy {
  FLOE_STRATEGY_FULL = 0,        /* copy the whole source table */
  FLOE_STRATEGY_INCREMENTAL = 1, /* rows past the watermark, one commit */
  FLOE_STRATEGY_CHUNKED = 2,     /* rows past the watermark, one commit per chunk */
  FLOE_STRATEGY_PARTITION = 3    /* one commit per value of partition_column */
} floe_config_strategy;

typedef enum floe_config_mode {
  FLOE_MODE_APPEND = 0,
  FLOE_MODE_OVERWRITE = 1,
  FLOE_MODE_MERGE = 2
} floe_config_mode;

typedef enum floe_config_overwrite {
  FLOE_OVERWRITE_TABLE = 0,      /* replace the whole table */
  FLOE_OVERWRITE_PARTITIONS = 1, /* replace the partitions the new rows touch */
  FLOE_OVERWRITE_RANGE = 2       /* replace rows in the loaded batch/cursor range */
} floe_config_overwrite;

/* What a run does when the source's max(batch) (or cursor) is below the
 * control table's: rows deleted, batch numbers reset, a table reloaded. */
typedef enum floe_config_on_source_behind {
  FLOE_SOURCE_BEHIND_WARN = 0, /* report source_behind at warning level, exit 0 */
  FLOE_SOURCE_BEHIND_FAIL = 1  /* the same, and exit code 4 */
} floe_config_on_source_behind;

/* What a run does about rows it will never load: rows that arrived with a
 * batch at or below the control max (late), and rows whose batch is NULL,
 * 0 or negative (invalid). */
typedef enum floe_config_late_rows {
  FLOE_LATE_ROWS_WARN = 0, /* report them (counts) at warning level */
  FLOE_LATE_ROWS_FAIL = 1, /* the same, and the table fails before loading */
  FLOE_LATE_ROWS_RELOAD = 2 /* the same, and the late ranges are reloaded */
} floe_config_late_rows;

typedef enum floe_config_chunk_by {
  FLOE_CHUNK_BY_BATCH = 0, /* one commit per distinct batch_column value */
  FLOE_CHUNK_BY_ROWS = 1   /* one commit per `rows` rows */
} floe_config_chunk_by;

typedef struct floe_config_chunk {
  floe_config_chunk_by by;
  int64_t rows; /* by rows: rows per commit (> 0); 0 when by batch */
} floe_config_chunk;

typedef enum floe_config_transform {
  FLOE_CONFIG_TRANSFORM_IDENTITY = 0,
  FLOE_CONFIG_TRANSFORM_BUCKET = 1,   /* argument: number of buckets N */
  FLOE_CONFIG_TRANSFORM_TRUNCATE = 2, /* argument: width W */
  FLOE_CONFIG_TRANSFORM_YEAR = 3,
  FLOE_CONFIG_TRANSFORM_MONTH = 4,
  FLOE_CONFIG_TRANSFORM_DAY = 5,
  FLOE_CONFIG_TRANSFORM_HOUR = 6,
  FLOE_CONFIG_TRANSFORM_VOID = 7
} floe_config_transform;

/* One partition field: transform(argument, column). argument is 0 for the
 * transforms without one. The field owns `column`. */
typedef struct floe_config_partition_field {
  floe_config_transform transform;
  int32_t argument;
  char *column;
} floe_config_partition_field;

typedef enum floe_config_merge_deletes {
  FLOE_DELETES_POSITION = 0,     /* position delete files (merge-on-read) */
  FLOE_DELETES_EQUALITY = 1,     /* equality delete files on the key */
  FLOE_DELETES_COPY_ON_WRITE = 2 /* rewrite the data files that change */
} floe_config_merge_deletes;

typedef struct floe_config_merge {
  floe_config_merge_deletes deletes;
  /* When a batch holds several rows for one key, the row with the largest
   * order_by wins; NULL: the batch or cursor column. */
  char *order_by;
  /* The change set's memory budget in MiB; past it the merge spills to
   * run.spill_dir. 0: the default, 128. */
  int64_t memory_mb;
} floe_config_merge;

typedef enum floe_config_cdc_type {
  FLOE_CDC_NONE = 0,
  FLOE_CDC_OP_COLUMN = 1, /* a column says I/U/D per row */
  FLOE_CDC_HASH_DIFF = 2, /* compare snapshots by key and row hash */
  FLOE_CDC_STREAM = 3,    /* Snowflake stream */
  FLOE_CDC_CHANGES = 4    /* Snowflake CHANGES clause */
} floe_config_cdc_type;

typedef struct floe_config_cdc {
  floe_config_cdc_type type;
  /* op_column: */
  char *column;       /* the operation column */
  char *insert_value; /* default "I" */
  char *update_value; /* default "U" */
  char *delete_value; /* default "D" */
  char *sequence;     /* optional ordering column within a batch */
  /* stream: */
  char *stream;
} floe_config_cdc;

typedef struct floe_config_validate {
  bool count;    /* default true */
  bool checksum; /* default false */
} floe_config_validate;

/* The job's `maintenance:` block (docs/config.md, "Maintenance"): after a
 * table's loads, `floe run` maintains it when a threshold is crossed. */
typedef struct floe_config_maintenance {
  bool enabled;                  /* the block is present and enabled */
  int64_t compact_min_files;     /* compact a partition with this many small files [10]; 0: off */
  int64_t delete_ratio_percent;  /* compact when delete files >= this % of data files [10]; 0: off */
  bool convert_equality_deletes; /* convert equality deletes when there are any [false] */
  int64_t max_manifests;         /* rewrite manifests above this many [100]; 0: off */
  int64_t max_snapshots;         /* expire when more snapshots than this [100]; 0: off */
  int64_t expire_older_than_ms;  /* expire snapshots older than this [5d]; also a trigger */
  int64_t retain_last;           /* keep at least this many per branch [1] */
  int64_t target_file_size;      /* compaction output; 0: write.target-file-size-bytes */
  bool partial_progress;         /* a commit per compaction group [false] */
} floe_config_maintenance;

/* Load metadata columns (docs/config.md, "Load metadata columns"): the
 * name each gets in the Iceberg table, or NULL when it is not added. */
typedef struct floe_config_metadata_columns {
  char *batch_sk;  /* long: the control batch the unit loaded */
  char *loaded_at; /* timestamptz: the unit's load start */
  char *run_id;    /* string: the run's id */
  char *op;        /* string: I (appended or inserted by a merge), U (updated) */
} floe_config_metadata_columns;

/* One replicated table, after `defaults` were applied. */
/* What a run does with a target table that already holds rows but has no
 * floe history for the source table (written by another tool). */
typedef enum floe_config_on_existing {
  FLOE_ON_EXISTING_FAIL = 0, /* refuse, naming the choices (default) */
  FLOE_ON_EXISTING_ADOPT,    /* its rows are the batches up to start_after /
                                the user's control rows: record a baseline */
  FLOE_ON_EXISTING_APPEND,   /* keep its rows and load into it */
  FLOE_ON_EXISTING_OVERWRITE /* the first load replaces its rows */
} floe_config_on_existing;

const char *floe_config_on_existing_name(floe_config_on_existing v);

/* Data-quality checks (tables.<t>.checks, docs/config.md "checks"): run on
 * every unit's rows before its commit. */
typedef enum floe_config_check_type {
  FLOE_CHECK_NOT_NULL = 0,    /* column has no null */
  FLOE_CHECK_UNIQUE,          /* no value twice within the unit (merge key
                                 columns: no tie); scope_table: nor in the table */
  FLOE_CHECK_ACCEPTED_VALUES, /* every non-null value is one of values */
  FLOE_CHECK_RANGE,           /* min <= value <= max (numbers, dates, timestamps) */
  FLOE_CHECK_REGEX,           /* every non-null value matches pattern (POSIX ERE) */
  FLOE_CHECK_ROW_COUNT,       /* unit rows within bounds, absolute or relative to
                                 the median of the last loads (volume guard) */
  FLOE_CHECK_FRESHNESS        /* newest value of a date/timestamp column is at
                                 most max_age old */
} floe_config_check_type;

typedef struct floe_config_check {
  floe_config_check_type type;
  char *name;     /* as configured, else "<type>(<column>)" / "row_count" */
  char *column;   /* every type but row_count */
  bool warn;      /* severity: warn (log and report) or fail (the default) */
  bool scope_table; /* unique, scope: table (append tables): also no value
                       already in the target table */
  char **values;  /* accepted_values */
  size_t n_values;
  /* range: bounds as written (numbers, or dates/timestamps as text); NULL
   * = open. */
  char *min, *max;
  char *pattern;  /* regex */
  /* row_count: absolute bounds (-1 = none) and, when history > 0, ratios
   * to the median rows of the last `history` loads. */
  int64_t min_rows, max_rows;
  double min_ratio, max_ratio;
  int64_t history;
  int64_t max_age_ms; /* freshness */
  floe_config_location location;
} floe_config_check;

const char *floe_config_check_type_name(floe_config_check_type v);

/* columns: {NAME: {type: "TYPE", on_extra_fields: ignore|fail}} (or
 * NAME: "TYPE"): a declared shape for a source column holding JSON text
 * (PostgreSQL json/jsonb, Snowflake VARIANT/OBJECT/ARRAY, SQLite TEXT).
 * TYPE is an Iceberg type string (floe_iceberg_type_parse_nested), checked
 * when the file loads; values are decoded from JSON into that type. */
typedef struct floe_config_column {
  char *name;                /* the source column */
  char *type;                /* the type string as written */
  bool fail_on_extra_fields; /* on_extra_fields: fail (default ignore) */
  floe_config_location location; /* of the type string */
} floe_config_column;

typedef struct floe_config_table {
  char *name;             /* the key under tables: = control table's table_name */
  char *source;           /* source table, maybe schema-qualified; default name */
  char *target_namespace; /* "sales" or "a.b" for nested namespaces */
  char *target_name;      /* Iceberg table name */
  floe_config_strategy strategy;
  char *batch_column;  /* NULL when cursor_column is used */
  char *cursor_column; /* NULL when batch_column is used */
  floe_config_chunk chunk;
  floe_config_partition_field *partition_by;
  size_t n_partition_by;
  /* partition_by was written (even as [] or null): an existing table's
   * default spec follows it (partition evolution); absent: the table's
   * partitioning stays as it is. */
  bool has_partition_by;
  /* sort_by: "col", "col desc", "col asc nulls last" ... (the table's sort
   * order; has_sort_by as has_partition_by). */
  char **sort_by;
  size_t n_sort_by;
  bool has_sort_by;
  floe_config_mode mode;
  floe_config_overwrite overwrite;
  char **primary_key; /* empty: the source's declared primary key */
  size_t n_primary_key;
  floe_config_merge merge;
  floe_config_cdc cdc;
  floe_config_validate validate;
  floe_config_maintenance maintenance;
  char *partition_column; /* strategy partition */
  char *where;            /* extra source filter (SQL text), or NULL */
  floe_config_on_source_behind on_source_behind; /* default warn */
  floe_config_late_rows late_rows;               /* default warn */
  /* target.properties overlaid with the table's own properties. */
  floe_config_property *properties;
  size_t n_properties;
  floe_config_location location; /* of the table's key under tables: */
  /* Adoption (docs/replicate.md, "Switching to floe"): batches up to
   * start_after count as loaded (has_start_after false: not set). */
  bool has_start_after;
  int64_t start_after;
  floe_config_on_existing on_existing; /* a target that holds foreign rows */
  floe_config_metadata_columns metadata_columns;
  /* Data-quality checks, per table (not in defaults). */
  floe_config_check *checks;
  size_t n_checks;
  /* quarantine: failing rows of fail-severity row checks go to this table
   * (namespace and name) and the rest loads; NULL = off. */
  char *quarantine_namespace, *quarantine_name;
  /* changelog: {target: ns.table}: merge and change-capture tables record
   * every change they apply in this append-only table; NULL = off. */
  char *changelog_namespace, *changelog_name;
  /* columns: declared shapes (per table, not in defaults). */
  floe_config_column *columns;
  size_t n_columns;
} floe_config_table;

typedef struct floe_config_private floe_config_private;

typedef struct floe_config {
  char *path; /* the file as named by the caller */
  int version;
  floe_config_source source;
  floe_config_target target;
  floe_config_control control;
  floe_config_logging logging;
  floe_config_run run;
  floe_config_table *tables; /* file order */
  size_t n_tables;
  floe_config_private *priv; /* node tree and diagnostics */
} floe_config;

/* Zeroes a config so that floe_config_free is safe on it. */
void floe_config_init(floe_config *cfg);

/*
 * Loads the configuration file at `path` into `cfg` (initialised here).
 * `overrides` holds n_overrides strings "dotted.key.path=value"; a value
 * starting with [ { " or ' is parsed as YAML flow syntax
 * ("tables.orders.partition_by=[day(ts)]"), any other is a plain scalar.
 * Overriding a key the schema does not know is an error with a suggestion.
 *
 * Errors: FLOE_ENOTFOUND/FLOE_EIO when the file cannot be read, FLOE_EFORMAT
 * for YAML syntax errors (with libyaml's problem mark), FLOE_EINVAL for
 * schema and validation errors, FLOE_ENOMEM. err gets the first message and,
 * when there are more, " (and N more errors)"; floe_config_error_message
 * gives each one. The caller calls floe_config_free(cfg) in every case; on
 * failure only the error list of cfg is meaningful.
 */
int floe_config_load(floe_config *cfg, const char *path, const char *const *overrides,
                     size_t n_overrides, floe_error *err);

/* As floe_config_load, from text in memory; `name` is used in messages
 * (e.g. "floe.yaml") and relative paths are left as written. */
int floe_config_load_string(floe_config *cfg, const char *name, const char *text,
                            size_t len, const char *const *overrides,
                            size_t n_overrides, floe_error *err);

/* The messages of the last load, "file:line:col: key.path: what", in the
 * order found (file order). Strings are owned by cfg. */
size_t floe_config_error_count(const floe_config *cfg);
const char *floe_config_error_message(const floe_config *cfg, size_t index);

/* Releases everything cfg owns and re-initialises it. Accepts NULL. */
void floe_config_free(floe_config *cfg);

/* The table named `name`, or NULL. */
const floe_config_table *floe_config_table_find(const floe_config *cfg, const char *name);

/*
 * Where the effective value of `key_path` ("tables.orders.primary_key") was
 * written, for errors found after loading ("merge needs a primary key").
 * A table key that the table does not set resolves to `defaults.<key>`, then
 * to the table's own entry. FLOE_ENOTFOUND when nothing matches.
 */
int floe_config_locate(const floe_config *cfg, const char *key_path,
                       floe_config_location *out);

/*
 * Appends the effective configuration (defaults applied to every table,
 * overrides and interpolation done) to `out` as YAML that floe_config_load
 * accepts. Secrets are replaced by "***": password and token fields, the
 * password in conninfo strings and URIs, and every value that holds text
 * read with ${file:...} or from an environment variable whose name contains
 * PASSWORD, SECRET, TOKEN, KEY or CREDENTIAL. FLOE_ENOMEM on failure.
 */
int floe_config_dump(const floe_config *cfg, floe_buf *out, floe_error *err);

/*
 * Parses one partition spec string: `col` or identity(col), bucket(N, col),
 * truncate(W, col), year(col), month(col), day(col), hour(col), void(col).
 * Identifiers may be double-quoted ("Order Date", "" escapes a quote).
 * out->column is allocated (free with floe_config_partition_field_clear).
 * FLOE_EINVAL with the reason ("bucket needs a count: bucket(N, column)").
 */
int floe_config_partition_parse(floe_config_partition_field *out, const char *text,
                                floe_error *err);
void floe_config_partition_field_clear(floe_config_partition_field *field);
/* Renders a field back in the syntax above ("bucket(16, customer_id)"). */
int floe_config_partition_format(const floe_config_partition_field *field, floe_buf *out);

/* Stable names of the enum values, as written in the file. */
const char *floe_config_source_type_name(floe_config_source_type type);
const char *floe_config_catalog_type_name(floe_config_catalog_type type);
const char *floe_config_strategy_name(floe_config_strategy strategy);
const char *floe_config_mode_name(floe_config_mode mode);
const char *floe_config_overwrite_name(floe_config_overwrite overwrite);
const char *floe_config_cdc_type_name(floe_config_cdc_type type);
const char *floe_config_transform_name(floe_config_transform transform);

/* The commented sample configuration that `floe init` prints (static text;
 * it loads without error). */
const char *floe_config_sample(void);

#ifdef __cplusplus
}
#endif
#endif
