/*
 * replicate/engine_internal.h: the parts of the replication engine shared
 * between its files (control.c, reconcile.c, plan.c, schema_map.c,
 * checksum.c, report.c, sf_cdc.c, engine.c) and exposed to its unit tests.
 * Nothing outside src/replicate includes it.
 */
#ifndef FLOE_REPLICATE_ENGINE_INTERNAL_H
#define FLOE_REPLICATE_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/replicate.h" /* includes floe/config.h: see there */
#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/replicate.h"
#include "floe/source.h"
#include "floe/table.h"
#include "floe/table_writer.h"

/* ==== control table (control.c) ======================================= */

typedef enum floe_control_stmt {
  FLOE_CONTROL_CREATE = 0,  /* create the table if missing */
  FLOE_CONTROL_LATEST,      /* latest batch of a table ($1 table) */
  FLOE_CONTROL_PREVIOUS,    /* largest batch below $2 ($1 table) */
  FLOE_CONTROL_HISTORY,     /* every row of a table, by batch_sk */
  FLOE_CONTROL_INSERT,      /* ($1 table, $2 batch_sk, $3 run_id, $4 watermark, $5 kind) */
  FLOE_CONTROL_COMPENSATE,  /* delete ($1 table, $2 batch_sk, $3 run_id) if it is the latest */
  FLOE_CONTROL_LATEST_ALL,  /* latest batch of every table (for people; no parameters) */
  FLOE_CONTROL_STMT_COUNT
} floe_control_stmt;

/* The statement's name in sql/<dialect>/control.sql ("create", "latest",
 * "previous", "history", "insert", "compensate", "latest_all"). */
const char *floe_control_stmt_name(floe_control_stmt stmt);

/* The statement text for `dialect` ("sqlite", "postgres", "snowflake") with
 * the control table written as `table_sql` (already quoted/qualified; NULL =
 * floe_control, as in the shipped files). *out is allocated (floe_free).
 * FLOE_EUNSUPPORTED for an unknown dialect. */
int floe_control_sql(const char *dialect, floe_control_stmt stmt,
                     const char *table_sql, char **out, floe_error *err);

typedef struct floe_control_row {
  int64_t batch_sk;
  char *run_id;
  char *inserted_at;
  char *watermark; /* NULL when none */
  char *kind;      /* "init", "load", "repair"; "baseline" (start_after,
                      floe control set); anything else is the user's */
} floe_control_row;

/* Whether floe wrote the row while loading: kind init, load or repair with
 * a run id that is a floe run id (a UUID). Any other row — kind 'manual',
 * 'baseline', a notebook-era row, a row inserted by hand — states that its
 * batches are loaded: reconciliation records it as a baseline instead of
 * compensating it (docs/replicate.md, "Switching to floe"). */
bool floe_control_row_is_load(const floe_control_row *row);

typedef struct floe_control_rows {
  size_t n;
  floe_control_row *rows; /* ascending batch_sk */
} floe_control_rows;

void floe_control_rows_free(floe_control_rows *rows);
/* The row with the largest batch_sk, or NULL. */
const floe_control_row *floe_control_rows_latest(const floe_control_rows *rows);

/* A control table in one source: `table_sql` is the quoted name. */
typedef struct floe_control {
  floe_source *src;
  char *table_sql;
  char *sql[FLOE_CONTROL_STMT_COUNT];
  /* Minimal layout (a notebook-era (table_name, batch_sk) table): floe's
   * columns live in the side table <table>_floe; sql[] then reads and
   * writes both, and these are the statements that need a second step. */
  bool minimal;
  char *side_sql;         /* the side table, quoted */
  char *insert_main_sql;  /* ($1 table, $2 batch_sk) into the control table */
  char *compensate_side_sql; /* ($1 table, $2 batch_sk, $3 run_id) */
  char *create_side_sql;
  char *name, *schema;    /* as configured */
} floe_control;

/* Prepares the statements for src's dialect; `name` and `schema` as in the
 * config (schema may be NULL). Does not touch the database. */
int floe_control_open(floe_control *ctl, floe_source *src, const char *name,
                      const char *schema, floe_error *err);
void floe_control_close(floe_control *ctl);
/*
 * Chooses the layout (FLOE_CONTROL_LAYOUT_*; auto = minimal when the
 * table exists without a run_id column) and prepares its statements. The
 * minimal layout keeps the user's two columns and puts floe's run_id,
 * inserted_at, watermark and kind in <table>_floe (docs/replicate.md, "A
 * notebook-era control table"). Snowflake sources: full only
 * (FLOE_EUNSUPPORTED for minimal).
 */
int floe_control_set_layout(floe_control *ctl, int layout, floe_error *err);
/* The minimal layout's statement texts for `dialect` (tests and docs):
 * `which` is one of "create", "create_side", "history", "insert",
 * "insert_main", "compensate", "compensate_side". *out allocated. */
int floe_control_minimal_sql(const char *dialect, const char *which, const char *table_sql,
                             const char *side_sql, char **out, floe_error *err);
/* Converts a minimal-layout table in place to the full layout (one
 * transaction: a new table with every row, floe's columns from the side
 * table, 'manual' for rows without; the old table and the side table
 * dropped). FLOE_EINVAL when the layout is not minimal. *out_rows gets the
 * rows carried over. */
int floe_control_migrate(floe_control *ctl, int64_t *out_rows, floe_error *err);
/* Creates the table when missing. */
int floe_control_create(floe_control *ctl, floe_error *err);
/* Whether the control table exists (for read-only commands). */
int floe_control_exists(floe_control *ctl, bool *out, floe_error *err);
/* Every row of `table_name`, ascending. */
int floe_control_history(floe_control *ctl, const char *table_name,
                         floe_control_rows *out, floe_error *err);
int floe_control_insert(floe_control *ctl, const char *table_name,
                        int64_t batch_sk, const char *run_id,
                        const char *watermark, const char *kind,
                        floe_error *err);
/* Deletes the row (table_name, batch_sk) inserted by run_id, only while it
 * is the table's latest row; *out_deleted gets 1 or 0. */
int floe_control_compensate(floe_control *ctl, const char *table_name,
                            int64_t batch_sk, const char *run_id,
                            int64_t *out_deleted, floe_error *err);

/* ==== committed history (reconcile.c) ================================= */

/* One floe commit found on the main branch. */
typedef struct floe_commit_info {
  int64_t snapshot_id;
  int64_t timestamp_ms;
  int64_t batch_low, batch_high;
  char *run_id;
  char *watermark_low, *watermark_high; /* NULL unless a cursor column */
  bool complete; /* false for a part i/n with i < n */
  int64_t added_records, deleted_records, total_records; /* -1 when absent */
  /* floe.rows-rewritten: rows of older-spec files a partition overwrite
   * rewrote (overwrite_specs.c), already taken out of added_records. */
  int64_t rows_rewritten;
  const char *operation; /* static copy: "append", "overwrite", ... */
  /* Not a snapshot on main but the committed watermark property (its
   * summary expired or is hidden): snapshot_id 0. */
  bool from_property;
  /* A baseline (summary floe.baseline): batches recorded as loaded without
   * data (the user's word or an adopted table); nothing to validate. */
  bool baseline;
  /* floe.source-rows: the source rows the commit's load read in (low,
   * high] (late-row detection, late.c); -1 when absent. */
  int64_t source_rows;
  /* A reload of late rows (summary floe.reload): it replaced the rows of
   * the older commits whose ranges it covers. */
  bool reload;
} floe_commit_info;

typedef struct floe_commit_list {
  size_t n;
  floe_commit_info *commits; /* newest first (ancestry order) */
  /* Whether the walk reached a snapshot without a parent (or the table has
   * no snapshot): then the history is complete. false when expired
   * snapshots cut the chain. */
  bool complete_history;
  /* Whether the table has the floe.watermark.<table> property. */
  bool has_property;
} floe_commit_list;

/* Walks the ancestry of main (the current snapshot) and collects the commits
 * whose summary has floe.source-table == table_name; then, when the
 * committed watermark property (watermark.c) is ahead of all of them, adds
 * it as one more complete commit (from_property, listed last). A property
 * that cannot be parsed is FLOE_EINVAL. */
int floe_commits_collect(const floe_iceberg_metadata *metadata,
                         const char *table_name, floe_commit_list *out,
                         floe_error *err);
void floe_commit_list_free(floe_commit_list *list);
/* The complete commit with the largest batch_high, or NULL. */
const floe_commit_info *floe_commits_latest(const floe_commit_list *list);

typedef enum floe_repair_action {
  FLOE_REPAIR_COMPENSATE = 0, /* control row without a commit: delete it */
  FLOE_REPAIR_REINSERT = 1,   /* commit without a control row: insert it */
  FLOE_REPAIR_BASELINE = 2    /* the user's control row above the last commit:
                                 commit a baseline (batch_low, batch_sk] */
} floe_repair_action;

typedef struct floe_repair {
  floe_repair_action action;
  int64_t batch_sk;
  int64_t batch_low; /* BASELINE: the last committed batch (0 when none) */
  const char *run_id;    /* borrowed from the control row or commit */
  const char *watermark; /* borrowed; may be NULL */
} floe_repair;

/*
 * Decides the repairs for one table (pure; no I/O). Above the highest
 * complete commit, the highest row that floe did not write while loading
 * (floe_control_row_is_load false) becomes one BASELINE repair, and floe's
 * rows above it (batch_sk > 0) are compensated, highest first; floe's rows
 * below it are covered by the baseline. Complete commits whose batch_high
 * has no control row are re-inserted, lowest first. Order: compensations,
 * the baseline, re-inserts. When no commit is found and the history is
 * cut (expired snapshots), control rows cannot be proven wrong:
 * FLOE_ECONFLICT explains that. *out (floe_free) borrows strings from the
 * inputs.
 */
int floe_reconcile_plan(const floe_control_rows *control,
                        const floe_commit_list *commits, floe_repair **out,
                        size_t *out_n, floe_error *err);

/* ==== the committed watermark (watermark.c) ========================== */

/* Table property floe.watermark.<table>: floe's committed position for a
 * source table, set by every floe data commit in the same metadata file
 * (docs/replicate.md, "The committed watermark"). */
#define FLOE_WATERMARK_PREFIX "floe.watermark."

typedef struct floe_watermark {
  int64_t batch_low, batch_high; /* the load (low, high]: control batch_sk */
  char *run_id;                  /* NULL when unknown */
  char *watermark_low, *watermark_high; /* cursor tables, else NULL */
  int part_i, part_n;            /* partition load: part i of n; 0/0 otherwise */
  /* Append and overwrite-range loads: the source rows read by every load
   * up to batch_high, summed (late-row detection); -1 when unknown. */
  int64_t source_rows;
} floe_watermark;

void floe_watermark_free(floe_watermark *w);
/* "floe.watermark.<table_name>" (floe_free), NULL on allocation failure. */
char *floe_watermark_key(const char *table_name);
/* The property value (JSON) of w; *out freed with floe_free. */
int floe_watermark_format(const floe_watermark *w, char **out, floe_error *err);
/* Parses a property value; FLOE_EINVAL quoting it when malformed. */
int floe_watermark_parse(const char *text, floe_watermark *out, floe_error *err);
/* The property of table_name in md; *found false when the table has none
 * (md may be NULL). */
int floe_watermark_read(const floe_iceberg_metadata *md, const char *table_name,
                        floe_watermark *out, bool *found, floe_error *err);
/* Whether the load it records is finished (no part, or the last part). */
bool floe_watermark_complete(const floe_watermark *w);
/*
 * The commit condition: may a commit of `unit` (batch_low/high, run_id,
 * part) be made on `base`? Part 1 (or an unsplit load) needs the latest
 * complete committed load (summaries and property, floe_commits_collect)
 * to end exactly at unit->batch_low (0 when the table has no floe commit
 * and its history is complete; anything when nothing is known because
 * expiry cut a history without a property). Part i > 1 needs the property
 * to record part i-1 of the same run and range. Otherwise FLOE_ECONFLICT
 * naming what is committed and what the unit loads.
 */
int floe_watermark_check(const floe_iceberg_metadata *base, const char *table_name,
                         const floe_watermark *unit, floe_error *err);

/* ==== schema mapping (schema_map.c) =================================== */

/* Finds a source column for `name`: exact match first, then a unique
 * case-insensitive one. -1 when none (or ambiguous). */
int64_t floe_schema_find_column(const floe_source_table *source,
                                const char *name);

/* Builds the Iceberg schema of a new table from the source's columns (ids
 * 1..n in source order, NOT NULL columns required), leaving out the columns
 * named in `exclude` (the CDC op column). */
int floe_schema_from_source(const floe_source_table *source,
                            const char *const *exclude, size_t n_exclude,
                            floe_iceberg_schema **out, floe_error *err);

/* Whether values of `from` can be written to a column of type `to` without
 * loss (equal, int->long, float->double, decimal(P,S)->decimal(P',S) with
 * P' >= P). */
bool floe_schema_type_fits(const floe_iceberg_type *from,
                           const floe_iceberg_type *to);

/* The result of comparing a source with an existing table schema. */
typedef struct floe_schema_drift {
  floe_iceberg_schema *evolved; /* NULL when the schema stays */
  int32_t n_added, n_widened, n_made_optional;
  /* Per source column: the table field id it writes (0 = excluded), and the
   * type the query converts it to (the table column's type). */
  int64_t n_columns;
  int32_t *field_ids;
  floe_arrow_type_info *types;
  /* List columns: the element's field id and type (0 / unset otherwise). */
  int32_t *element_ids;
  floe_arrow_type_info *element_types;
  /* Nested columns other than lists of primitives (structs, maps, nested
   * lists): the table field as an Arrow field with every field id, for the
   * query (release == NULL otherwise). */
  struct ArrowSchema *arrow_fields;
  char *description; /* "added x (long); widened y int->long", or NULL */
} floe_schema_drift;

/*
 * Maps the source's columns onto `current` (the table's schema): new
 * columns are added (optional), widenable types widened, required columns
 * the source no longer has (or now allows nulls in) made optional. An
 * incompatible change is FLOE_EINVAL naming the column and both types
 * ("column 'price': source type string (declared 'TEXT') cannot be stored
 * in the table's long column"; the caller adds the table). Columns match by
 * name, exactly or else case-insensitively (docs/replicate.md). Free with floe_schema_drift_free.
 */
int floe_schema_map(const floe_iceberg_schema *current,
                    const floe_source_table *source,
                    const char *const *exclude, size_t n_exclude,
                    const char *table, floe_schema_drift *out,
                    floe_error *err);
void floe_schema_drift_free(floe_schema_drift *drift);

/* ==== checksums (checksum.c) ========================================== */

/* Order-independent per-column checksum of a set of rows: for each column,
 * the count of nulls and the wrapping sum of a 64-bit hash of every non-null
 * value's bytes (fixed-width values as stored, booleans as one byte,
 * strings and binaries as their bytes). Both sides of a validation build one
 * from Arrow batches of the same types. */
typedef struct floe_checksum {
  int32_t n_columns;
  int32_t *field_ids;
  uint64_t *sums;
  int64_t *nulls;
  int64_t rows;
} floe_checksum;

/* Columns by field id (copied). */
int floe_checksum_init(floe_checksum *sum, const int32_t *field_ids,
                       int32_t n, floe_error *err);
void floe_checksum_free(floe_checksum *sum);
/* Adds a "+s" batch; columns are found by "PARQUET:field_id" (others are
 * ignored; a checksum column missing from the batch is FLOE_EINVAL). */
int floe_checksum_add(floe_checksum *sum, const struct ArrowSchema *schema,
                      const struct ArrowArray *batch, floe_error *err);
/* -1 when equal, else the index of the first differing column. */
int32_t floe_checksum_compare(const floe_checksum *a, const floe_checksum *b);

/* ==== data-quality checks (quality.c) ================================= */

/* The checks of one table over the units of a run. */
typedef struct floe_quality floe_quality;

/* Resolves each check's column in `desc` (the source columns, which are
 * the batch's children in order) and compiles patterns; `checks` is
 * borrowed and must outlive q. op_column (-1 = none) and delete_value name
 * change-capture delete rows, which row checks skip. Errors: FLOE_EINVAL
 * naming the check (unknown column, bounds that are not numbers for a
 * number column, freshness on a column that is not a date or timestamp). */
int floe_quality_open(floe_quality **out, const floe_config_check *checks, size_t n,
                      const floe_source_table *desc, int64_t op_column, const char *delete_value,
                      floe_error *err);
void floe_quality_free(floe_quality *q);
/* Starts a unit: clears the unit's counts, unique values and newest value. */
void floe_quality_begin_unit(floe_quality *q);
/* Runs the row checks on one batch. When bad is not NULL (batch->length
 * entries, zeroed by the caller), bad[i] gets 1 + the index of the first
 * fail-severity check row i fails (quarantine). */
int floe_quality_add(floe_quality *q, const struct ArrowSchema *schema,
                     const struct ArrowArray *batch, uint16_t *bad, floe_error *err);
/* Decides the unit checks once the unit's rows are read: row_count against
 * its bounds and the median of `recent` (rows of the table's last loads,
 * newest first), freshness against now_us (microseconds since the epoch). */
int floe_quality_finish(floe_quality *q, const int64_t *recent, size_t n_recent, int64_t now_us,
                        floe_error *err);
/* Makes each unique check on one of key_cols (the merge key, as batch
 * column indexes) count ties instead of repeats: rows whose whole key and
 * ordering values (order_cols; -1 entries ignored) equal an earlier row's
 * of the unit — the changes the merge cannot order. FLOE_EUNSUPPORTED for
 * a key and ordering of more than 8 columns. */
int floe_quality_set_merge_key(floe_quality *q, const int64_t *key_cols, size_t n_keys,
                               const int64_t *order_cols, size_t n_order, floe_error *err);
/* Whether a unique check has scope: table. */
bool floe_quality_wants_table(const floe_quality *q);
/* unique with scope: table, once the unit's rows are read and before its
 * commit: scans the check's column of the table (md, io borrowed; the
 * column by field_ids[batch column]) and counts each table value that the
 * unit also holds as failing (sampled; never quarantinable: such a failure
 * stops the unit even with a quarantine table). */
int floe_quality_check_table(floe_quality *q, const floe_iceberg_metadata *md, floe_io *io,
                             const int32_t *field_ids, floe_error *err);
/* Whether a fail-severity check failed in this unit (*out_name: its name).
 * With quarantined, failing row checks do not count (their rows went to the
 * quarantine table). */
bool floe_quality_failed(const floe_quality *q, bool quarantined, const char **out_name);
size_t floe_quality_count(const floe_quality *q);
const char *floe_quality_check_name(const floe_quality *q, size_t i);
int64_t floe_quality_unit_failing(const floe_quality *q, size_t i);
bool floe_quality_is_warn(const floe_quality *q, size_t i);
/* What a unit check measured ("rows 3, median of the last 4 loads ..."),
 * NULL for row checks. Borrowed. */
const char *floe_quality_detail(const floe_quality *q, size_t i);
/* The first few distinct failing values, ", "-separated (terminated). */
int floe_quality_samples(const floe_quality *q, size_t i, floe_buf *out);
/* Appends check i of the unit as one line of text for messages ("check=x
 * severity=fail failing=3 samples=\"a, b\" detail=\"...\""). */
int floe_quality_describe(const floe_quality *q, size_t i, floe_buf *out);
/* The run's results as a JSON array (*out allocated, floe_free). */
int floe_quality_json(const floe_quality *q, char **out, floe_error *err);

/* ==== debug switches ================================================= */

/* floe_debug_crash_point / floe_debug_fail_point live in core (every layer
 * that writes has crash points). */
#include "core/debug.h"

/* ==== one run per table (lock.c) ===================================== */

/* Takes the table's lock: a lease row in <control>_lock (created when
 * missing) naming run_id, this host and pid. A lock held by a live run is
 * waited for (FLOE_LOCK_WAIT_SECONDS, default 600); one whose lease
 * expired, or whose holder was on this host and is gone, is taken over
 * (logged event=lock action=take_over). Re-entrant for the same run_id.
 * Errors: FLOE_ECONFLICT naming the holder when the wait ends, source
 * errors. */
int floe_table_lock_acquire(floe_control *ctl, const char *table_name, const char *run_id,
                            floe_error *err);
/* Extends the lease (FLOE_LOCK_LEASE_SECONDS, default 120). FLOE_ECONFLICT
 * when run_id no longer holds the lock. err may be NULL. */
int floe_table_lock_renew(floe_control *ctl, const char *table_name, const char *run_id,
                          floe_error *err);
/* Deletes the lock row if run_id holds it; failures are logged only (the
 * lease expires by itself). */
void floe_table_lock_release(floe_control *ctl, const char *table_name, const char *run_id);

/* ==== sessions and jobs (plan.c) ====================================== */

#include "floe/catalog.h"

/* What one command holds open: the source (with the control table) and the
 * catalog. */
typedef struct floe_session {
  const floe_config *cfg;
  floe_source *src;
  floe_catalog *catalog;
  floe_control ctl;
  bool ctl_open;
} floe_session;

/* Connects to the source (logging event=connect) and opens the catalog.
 * Secrets never reach a message. `interrupt` (may be NULL) is handed to
 * the source so that a running Snowflake statement is cancelled when it
 * becomes nonzero (floe_run_options.interrupt). */
int floe_session_open(floe_session *session, const floe_config *cfg,
                      const volatile sig_atomic_t *interrupt, floe_error *err);
/* The same for a run: a Snowflake session tags every statement with
 * source.query_tag ("{run_id}" replaced by run_id), by default run_id. */
int floe_session_open_run(floe_session *session, const floe_config *cfg,
                          const volatile sig_atomic_t *interrupt, const char *run_id,
                          floe_error *err);
void floe_session_close(floe_session *session);

/* One configured table resolved against its source. */
typedef struct floe_job {
  floe_session *session;
  const floe_config_table *t;
  floe_source_table desc;
  char *source_sql;     /* the quoted source table */
  int64_t batch_idx;    /* source column index, -1 when none */
  int64_t cursor_idx;
  int64_t part_idx;     /* strategy partition: partition_column */
  int64_t op_idx;       /* cdc op column */
  bool cursor_is_int;   /* bind cursor values as integers */
  char *batch_sql, *cursor_sql, *part_sql; /* quoted column names */
  char *ns, *name;      /* target identifier */
  /* Declared shapes (config columns:), one per configured column; the
   * desc columns' `shape` point into them. */
  floe_iceberg_schema **shapes;
  size_t n_shapes;
} floe_job;

/* A table name from the config as the source resolves it: for Snowflake,
 * each unquoted part that is a plain identifier is upper-cased (Snowflake
 * stores and resolves unquoted identifiers in upper case, so `orders` in
 * floe.yaml names ORDERS, as it would in a worksheet), and double-quoted
 * parts are kept as written; other dialects get the text unchanged. *out is
 * allocated (floe_free); the result goes to floe_source_quote_name or
 * floe_source_describe. */
int floe_job_fold_name(const floe_source *src, const char *name, char **out,
                       floe_error *err);

/* Describes the source table and finds the configured columns (logging
 * event=discover). A strategy other than full needs its batch or cursor
 * column; full uses the batch column when the source has it. Errors name
 * the table and column (FLOE_ENOTFOUND for a missing table, FLOE_EINVAL
 * for a missing or unusable column). */
int floe_job_open(floe_job *job, floe_session *session,
                  const floe_config_table *t, floe_error *err);
void floe_job_close(floe_job *job);
floe_catalog_ident floe_job_ident(const floe_job *job);

/* The source rows one commit reads: low < batch <= high (either side
 * optional), or wm_low < cursor <= wm_high, and partition_column = value. */
typedef struct floe_unit_filter {
  bool has_low, has_high;
  int64_t low, high;
  const char *wm_low, *wm_high; /* cursor bounds (NULL = open) */
  bool has_part;
  const char *part_value;       /* NULL: IS NULL */
} floe_unit_filter;

/* Appends " WHERE ..." for the filter and the table's `where:` to sql and
 * fills params (at most 5; *n_params set). Parameters are $1, $2, ... in
 * order of appearance (snowflake: :1 ...). */
int floe_job_where(const floe_job *job, const floe_unit_filter *filter,
                   floe_buf *sql, floe_source_param *params, size_t *n_params,
                   floe_error *err);
/* count(*) of the source rows under the filter. */
int floe_job_count(floe_job *job, const floe_unit_filter *filter,
                   int64_t *out, floe_error *err);
/* max(batch column) of the source (with `where:`); *is_null when empty. */
int floe_job_max_batch(floe_job *job, int64_t *out, bool *is_null,
                       floe_error *err);
/* What a batch table's source holds before a load, from ONE statement
 * (one scan of the source, or of an index on the batch column):
 * max(batch) and, for the late-rows check (late.c), the invalid rows
 * (batch NULL, 0 or negative) and the rows in (0, control_max], all under
 * the table's `where:`. */
typedef struct floe_batch_totals {
  int64_t max;
  bool max_is_null;     /* the source (under where:) has no batch value */
  bool invalid_counted; /* rows_invalid was asked for */
  bool range_counted;   /* rows_counted was asked for */
  int64_t control_max;
  int64_t rows_invalid;
  int64_t rows_counted; /* 0 < batch <= control_max */
} floe_batch_totals;
/* SELECT max(b)[, count(*) FILTER (WHERE b IS NULL OR b <= 0)][, count(*)
 * FILTER (WHERE b > 0 AND b <= control_max)] FROM source WHERE (where)
 * (Snowflake: count_if(...)). Errors as floe_job_count, prefixed "max(b)
 * of source". */
int floe_job_batch_totals(floe_job *job, bool count_invalid, bool count_range,
                          int64_t control_max, floe_batch_totals *out, floe_error *err);
/* max(cursor) as text (NULL when empty). *out freed with floe_free. */
int floe_job_max_cursor(floe_job *job, char **out, floe_error *err);

/* ==== rows floe will never load (late.c) ============================== */

/* A committed range (low, high] with the rows its loads read
 * (loaded_rows) and, for a late one, the source's count (source_rows). */
typedef floe_run_late_range floe_late_range;

typedef struct floe_late_rows {
  bool checked;         /* a batch table the check applies to */
  int64_t rows_invalid; /* NULL, 0 or negative batch (with `where:`) */
  int64_t rows_late;    /* sum over ranges; -1: not known (no counts) */
  int64_t source_rows;  /* count(*) over (0, control max] */
  int64_t loaded_rows;  /* the committed watermark's source-rows */
  floe_late_range *ranges; /* the late ones, ascending */
  size_t n_ranges;
  /* Every committed range from 0 to the control max (known once late
   * rows were found): what a reload replaces. */
  floe_late_range *committed;
  size_t n_committed;
} floe_late_rows;

/* Whether the late-rows check applies to the job: a batch table loaded
 * incrementally or in chunks (not Snowflake change capture). */
bool floe_late_rows_checked(const floe_job *job);
/* The counts floe_late_rows_find will need from floe_job_batch_totals:
 * *invalid when the check applies; *range too when the table's committed
 * watermark (md, may be NULL) records the rows read up to control_max
 * (a watermark that cannot be read asks for it: find reports the error). */
void floe_late_rows_counts_needed(const floe_job *job, const floe_iceberg_metadata *md,
                                  int64_t control_max, bool *invalid, bool *range);
/* The invalid rows of the job's source table and, when the table's
 * committed watermark (md, may be NULL) records the rows its loads read up
 * to totals->control_max, the late rows and the committed ranges that hold
 * them (docs/replicate.md, "Rows floe will never load"). The counts come
 * from totals (floe_job_batch_totals with the counts
 * floe_late_rows_counts_needed names; FLOE_EINVAL when one is missing);
 * only when they disagree with what the loads read does the search run
 * counts of its own (bisection). When the check does not apply, *out is
 * unchecked. Free *out with floe_late_rows_free. */
int floe_late_rows_find(floe_job *job, const floe_iceberg_metadata *md,
                        const floe_batch_totals *totals, floe_late_rows *out, floe_error *err);
void floe_late_rows_free(floe_late_rows *late);
/* Whether the table's loads record the source rows they read: a batch
 * column, incremental or chunked, append, overwrite: range or merge (not
 * Snowflake change capture). */
bool floe_late_rows_counted(const floe_config_table *t, bool has_batch);

/* ==== reports (report.c) ============================================== */

/* Appends a zeroed table entry to the report; *out points into it (valid
 * until the next append). */
int floe_run_report_add(floe_run_report *report, floe_run_table **out,
                        floe_error *err);
int floe_status_report_add(floe_status_report *report,
                           floe_status_table **out, floe_error *err);

/* printf into a new string (floe_free); NULL on allocation failure. */
char *floe_replicate_strdupf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ==== Snowflake change capture (sf_cdc.c) ============================= */

/* The operation column a CDC unit's query adds after the source columns
 * ('I', 'U', 'D'); the merge reads it by name and does not store it. */
#define FLOE_CDC_OP_NAME "FLOE$OP"

/* What one change-capture unit reads instead of a batch range of the
 * source table: the SELECT (source columns in describe order, then
 * FLOE$OP, ordered so that a key's delete precedes its insert), the count
 * of the same rows (validation), and their parameters (text parameters
 * point into `text`, owned here). */
typedef struct floe_cdc_query {
  char *select_sql;
  char *count_sql;
  floe_source_param params[2];
  size_t n_params;
  char *text[2];
} floe_cdc_query;

/* Frees what the query owns and zeroes it. Accepts NULL. */
void floe_cdc_query_free(floe_cdc_query *q);
/* Runs q's count (validation, "nothing new"). */
int floe_cdc_query_count(const floe_job *job, const floe_cdc_query *q, int64_t *out,
                         floe_error *err);
/* The whole source table as inserts (the first load of a stream or CHANGES
 * table). */
int floe_cdc_copy_query(const floe_job *job, floe_cdc_query *out, floe_error *err);
/* CHANGES(INFORMATION => DEFAULT) between two positions (timestamps as
 * text, as floe_cdc_now gives them). */
/* The first CHANGES read of a table (does it track changes?): the count
 * of changes since `start` with no END, a documented form (the probe
 * floe used before, a window whose start equals its end, is not). */
int floe_cdc_changes_probe(const floe_job *job, const char *start, floe_cdc_query *out,
                           floe_error *err);
int floe_cdc_changes_query(const floe_job *job, const char *start, const char *end,
                           floe_cdc_query *out, floe_error *err);

/* A stream and its ledger table: `<table>_floe_ledger` (table = the key
 * under tables:, folded like every Snowflake name) in control.schema when
 * set, else in the source table's schema. Names are quoted for SQL. */
typedef struct floe_cdc_ledger {
  char *stream_sql;
  char *ledger_sql;
  char *ledger_name; /* folded, unquoted where possible: for messages */
} floe_cdc_ledger;

/* Resolves the names (no I/O). Errors: FLOE_EINVAL (no cdc.stream). */
int floe_cdc_ledger_open(floe_cdc_ledger *l, const floe_job *job, floe_error *err);
void floe_cdc_ledger_close(floe_cdc_ledger *l);
/* CREATE TABLE IF NOT EXISTS, then ADD COLUMN for source columns the
 * ledger lacks (logged as event=schema_change). */
int floe_cdc_ledger_create(floe_cdc_ledger *l, const floe_job *job, floe_error *err);
/* Largest staged batch (0 when the ledger is empty). */
int floe_cdc_ledger_max(floe_cdc_ledger *l, const floe_job *job, int64_t *out, floe_error *err);
/* Rows staged under `batch`. */
int floe_cdc_ledger_rows(floe_cdc_ledger *l, const floe_job *job, int64_t batch, int64_t *out,
                         floe_error *err);
/* The batches (low, high] of the ledger as change rows. */
int floe_cdc_ledger_query(const floe_job *job, const floe_cdc_ledger *ledger, int64_t low,
                          int64_t high, floe_cdc_query *out, floe_error *err);
/* Rows the stream holds now (a SELECT: the offset does not move). */
int floe_cdc_stream_pending(floe_cdc_ledger *l, const floe_job *job, int64_t *out,
                            floe_error *err);
/* Consumes the stream into the ledger in one transaction (one SQL API
 * request): deletes ledger batches <= committed, inserts the stream's rows
 * stamped `batch` with row numbers. The offset moves exactly when the rows
 * are in the ledger. */
int floe_cdc_stream_stage(floe_cdc_ledger *l, const floe_job *job, int64_t committed,
                          int64_t batch, floe_error *err);

/* The source's CURRENT_TIMESTAMP() as text (a CHANGES position). */
int floe_cdc_now(const floe_job *job, char **out, floe_error *err);
/* floe.changes.end of the latest complete floe commit of table_name on
 * main; *out NULL when there is none (floe_free). */
int floe_cdc_committed_position(const floe_iceberg_metadata *md, const char *table_name,
                                char **out, floe_error *err);

/* The job's maintenance block for one table (replicate/maintenance.c):
 * checks the thresholds on the table's current metadata and runs the
 * operations they call for. *out_json gets the report (caller frees) or
 * NULL when nothing was due. A failing operation is reported in the JSON
 * ("error"), not returned; errors are reading the metadata and memory. */
int floe_replicate_maintain(floe_table *table, const floe_config_maintenance *m,
                            char **out_json, floe_error *err);

/* ==== overwrite: partitions across specs (overwrite_specs.c) ========== */

/* What floe_overwrite_older_specs did; writer and files belong to it. */
typedef struct floe_overwrite_specs_result {
  int64_t files_dropped;   /* old-spec files wholly in overwritten partitions */
  int64_t files_read;      /* old-spec files whose rows were evaluated */
  int64_t files_rewritten; /* of those, rewritten without the overwritten rows */
  int64_t rows_removed;    /* live rows of overwritten partitions removed */
  int64_t rows_kept;       /* rows copied into the rewritten files */
  floe_data_writer *writer;
  floe_content_file_list files; /* the rewritten files (added to the op) */
} floe_overwrite_specs_result;

/* Dynamic partition overwrite of the rows that files of older partition
 * specs hold in the default-spec partitions of `added` (the load's data
 * files): drops a file whose tuple implies an overwritten partition,
 * rewrites (copy-on-write, files named <file_prefix>-NNNNN.parquet) one
 * whose live rows partly fall in one, through `op` (an overwrite). A table
 * with one spec is left to the op's own selector. On failure, or when the
 * op does not commit, free the result with abort_files set. */
int floe_overwrite_older_specs(floe_table *table, floe_table_op *op,
                               const floe_content_file_list *added, const char *file_prefix,
                               floe_overwrite_specs_result *out, floe_error *err);
void floe_overwrite_specs_result_free(floe_overwrite_specs_result *res, bool abort_files);

#endif
