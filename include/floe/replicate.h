/*
 * floe/replicate.h: the replication engine — what `floe run`, `floe status`
 * and `floe validate` do with a job file.
 *
 * One run takes a loaded floe_config (include/floe/config.h) and, table by
 * table in file order, follows the control-table contract of DESIGN.md ("The
 * job, in the user's words"): read the source's batch number (or cursor), add
 * an insert-only row to the control table in the source database, copy the
 * rows `previous < batch_sk <= new` into the Iceberg table with the table's
 * strategy and write mode, delete that control row again if the write
 * fails, and compare what was read with what was committed.
 *
 * Exactly once. Every commit floe makes carries the snapshot summary
 * properties floe.source-table, floe.batch-sk.low, floe.batch-sk.high and
 * floe.run-id in the same atomic commit as the data. Before a table is
 * loaded, its control rows are reconciled with the committed history of
 * the table's main branch: a control row above the highest committed batch
 * (a run died between inserting it and committing) is compensated and its
 * range loaded again in this run; a committed range whose control row is
 * missing gets the row re-inserted (kind "repair"). docs/replicate.md
 * describes the protocol, the strategies and modes, and the run report.
 *
 * Nothing here prints or exits: log lines go through floe_log (events
 * connect, discover, plan, control_read, control_insert, extract,
 * file_written, commit, validate, compensate, repair, nothing_new), progress
 * through the caller's callback, and results into a floe_run_report the
 * caller renders (floe_run_report_json, floe_run_report_text).
 *
 * Debug switches (tests only; read from the environment by the engine):
 *   FLOE_CRASH_AT=<point>[:<n>]  _exit(137) at the n-th (default first)
 *       arrival at a named point: after_control_insert, after_data_file,
 *       before_commit, after_manifest, after_commit, during_validation,
 *       during_compensation, during_repair.
 *   FLOE_FAIL_AT=<point>[:<n>]  make the n-th arrival fail as an I/O error
 *       would: commit (the catalog commit), write (the data writer),
 *       control_insert.
 */
#ifndef FLOE_REPLICATE_H
#define FLOE_REPLICATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/common.h"

#include "floe/config.h"
#include "floe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct floe_catalog;

/* Opens the catalog a job file names (target.catalog, target.warehouse made
 * absolute, run.durability), as `floe run` does; for the commands that work
 * on the job's tables (`floe table -c`, `floe maintain -c`). The caller
 * frees *out with floe_catalog_free. */
/* The storage options (target.storage, run.durability) a job file gives,
 * as floe_io_open_for takes them. Strings are borrowed from cfg. */
void floe_replicate_storage_options(const struct floe_config *cfg,
                                    floe_io_options *out);

int floe_replicate_open_catalog(const struct floe_config *cfg,
                                struct floe_catalog **out, floe_error *err);

/* Exit codes of `floe run|status|validate|config` (documented in --help and
 * docs/replicate.md). */
#define FLOE_REPLICATE_EXIT_OK 0         /* success, including "nothing new" */
#define FLOE_REPLICATE_EXIT_FAILURE 1    /* a table failed */
#define FLOE_REPLICATE_EXIT_USAGE 2      /* bad arguments or configuration */
#define FLOE_REPLICATE_EXIT_VALIDATION 3 /* validation found a mismatch */
#define FLOE_REPLICATE_EXIT_LATE_ROWS 5 /* rows floe will never load were
                                           * found (late_rows: fail) */
#define FLOE_REPLICATE_EXIT_CHECKS 6     /* a data-quality check with severity fail
                                            stopped a table (nothing committed) */
#define FLOE_REPLICATE_EXIT_SOURCE_BEHIND 4 /* a source is behind its control
                                             * table (on_source_behind: fail) */

/* The exit code for the return value of floe_replicate_run/validate when
 * no table ran (bad --table, unreachable source): FLOE_OK -> 0,
 * FLOE_EVALIDATE -> 3, FLOE_EINVAL -> 2, anything else 1. */
int floe_replicate_exit_code(int rc);

typedef enum floe_run_status {
  FLOE_RUN_OK = 0,          /* loaded and validated */
  FLOE_RUN_NOTHING_NEW = 1, /* the source has no batch past the control max */
  FLOE_RUN_PLANNED = 2,     /* dry run: what would be loaded */
  FLOE_RUN_FAILED = 3,      /* nothing committed for the failing range */
  FLOE_RUN_MISMATCH = 4,    /* committed, but validation found a mismatch */
  FLOE_RUN_SOURCE_BEHIND = 5, /* the source's max is below the control max */
  FLOE_RUN_CHECK_FAILED = 6   /* a data-quality check (severity fail) stopped a
                                 unit: nothing committed, control row compensated */
} floe_run_status;

/* "ok", "nothing_new", "planned", "failed", "mismatch", "source_behind",
 * "check_failed". */
const char *floe_run_status_name(floe_run_status status);

/* A committed batch range (low, high] whose source rows now outnumber the
 * rows its loads read: rows that arrived late (docs/replicate.md, "Rows
 * floe will never load"). */
typedef struct floe_run_late_range {
  int64_t low, high;
  int64_t source_rows; /* count(*) of the source over the range now */
  int64_t loaded_rows; /* the rows its loads read */
  bool baseline;       /* loaded by the user's word (start_after, an adopted
                        * table, a control row of theirs): reported, never
                        * reloaded */
} floe_run_late_range;

/* What happened to one table. Strings are owned by the report. */
typedef struct floe_run_table {
  char *name;   /* the key under tables: (= control table_name) */
  char *target; /* namespace.table */
  const char *strategy, *mode; /* static names */
  floe_run_status status;
  /* The range loaded (or, dry run, that would be): low < batch <= high. For
   * a cursor column, batch numbers are load counters and the cursor range
   * is watermark_low < cursor <= watermark_high. */
  bool has_range;
  int64_t batch_low, batch_high;
  char *watermark_low, *watermark_high; /* NULL unless a cursor column */
  int64_t rows_source;  /* rows the source held in the range */
  int64_t rows_written; /* rows written to data files */
  int64_t rows_inserted, rows_updated, rows_deleted; /* merge / CDC */
  int64_t spill_bytes;  /* merge: bytes spilled past merge.memory_mb */
  int64_t files;        /* data and delete files committed */
  int64_t bytes;        /* bytes of those files */
  int64_t commits;      /* snapshots committed (chunks, partitions) */
  int64_t repairs;      /* reconciliation repairs made */
  int64_t baselines;    /* baseline commits (batches loaded by the user's word) */
  int64_t schema_changes; /* columns added, widened or made optional */
  int64_t snapshot_id;  /* the last snapshot committed, 0 when none */
  double seconds;
  char *message;        /* the error, mismatch or note; NULL when none */
  /* The job's maintenance after the loads (maintenance: block): the JSON
   * report of floe_maintain_report_json plus "reasons" and "error", or
   * NULL when no threshold was crossed. */
  char *maintenance;
  bool source_behind_fails; /* source_behind under on_source_behind: fail */
  int64_t rows_invalid; /* source rows with a NULL, 0 or negative batch */
  int64_t rows_late;    /* source rows at or below the control max that no
                         * load read (-1: not checked) */
  floe_run_late_range *late_ranges; /* the committed ranges holding them */
  size_t n_late_ranges;
  int64_t rows_reloaded; /* rows read again by late_rows: reload */
  bool late_rows_fails;  /* failed under late_rows: fail (exit code 5) */
  /* The table's data-quality checks (checks:): a JSON array, one object per
   * check (name, type, severity, column, passed, failing, units, samples,
   * detail), or NULL when the table has none. */
  char *checks;
  int64_t rows_quarantined; /* rows sent to the quarantine table */
  int64_t changelog_rows;   /* changes recorded in the changelog table */
} floe_run_table;

typedef struct floe_run_report {
  char run_id[37];
  const char *command; /* "run" or "validate" */
  bool dry_run;
  int64_t started_ms, finished_ms;
  size_t n_tables;
  floe_run_table *tables;
} floe_run_report;

/* Progress of the table being loaded, for a terminal line. */
typedef struct floe_run_progress {
  const char *table;
  int64_t rows;    /* rows read from the source so far (this table) */
  int64_t bytes;   /* bytes of data files finished so far */
  double seconds;  /* since the table started */
} floe_run_progress;

typedef void (*floe_run_progress_fn)(void *ctx, const floe_run_progress *progress);

typedef struct floe_run_options {
  /* Only these tables (names under tables:); n_tables 0 = all. A name the
   * config does not have is FLOE_EINVAL before anything runs. */
  const char *const *tables;
  size_t n_tables;
  /* Plan and report what would be loaded; write nothing (not even the
   * control table). */
  bool dry_run;
  /* Called about every 100 ms while rows stream (may be NULL). */
  floe_run_progress_fn progress;
  void *progress_ctx;
  /* `floe control set`: instead of loading, record batches up to
   * set_batch_sk of the (one) selected table as loaded: a control row of
   * kind 'manual' and a baseline commit whose summary carries set_reason
   * (docs/replicate.md, "Switching to floe"). set_batch_sk must be above
   * the table's control max and committed batch (else FLOE_EINVAL). */
  bool control_set;
  int64_t set_batch_sk;
  const char *set_reason;
  /* When not NULL and *interrupt becomes nonzero (a SIGINT handler, or an
   * embedding program, sets it), the run stops as if the load had failed:
   * the table being loaded is compensated (its control row of this run
   * deleted, nothing committed), no further table or chunk starts, and the
   * run returns FLOE_ECANCELED. It is read between batches and before each
   * commit; a running Snowflake statement is cancelled. Loads committed
   * before the interrupt stay. */
  const volatile sig_atomic_t *interrupt;
} floe_run_options;

/*
 * Runs the job: every selected table in file order; a failing table does
 * not stop the others. `out` is initialised here and always filled (free it
 * with floe_run_report_free). Returns FLOE_OK when every table is ok or has
 * nothing new, FLOE_EVALIDATE when validation found a mismatch (and nothing
 * failed), FLOE_EINVAL for an unknown table name or a table whose settings
 * cannot work with its source (merge without a key ...), another negative
 * code when a table failed (err holds the first failure; each table's
 * message is in the report) or when the source or catalog cannot be
 * reached.
 */
/*
 * `floe control migrate`: converts a minimal-layout control table (the
 * notebook's (table_name, batch_sk), floe's columns in <table>_floe) in
 * place to floe's full layout, in one source transaction; rows floe did not
 * write get run_id and kind 'manual'. *out_rows: rows carried over.
 * FLOE_EINVAL when the table already has the full layout.
 */
int floe_replicate_control_migrate(const struct floe_config *cfg, int64_t *out_rows,
                                   floe_error *err);

int floe_replicate_run(const struct floe_config *cfg, const floe_run_options *options,
                       floe_run_report *out, floe_error *err);

/*
 * Re-checks committed loads: for every selected table, each floe commit
 * still on the table's main branch is recounted against the source over
 * its range (row count; and the checksum, when validate.checksum is set,
 * for the latest commit). Status per table: ok or mismatch (message with
 * both numbers). Returns as floe_replicate_run.
 */
int floe_replicate_validate(const struct floe_config *cfg,
                            const floe_run_options *options,
                            floe_run_report *out, floe_error *err);

/* The exit code of a run or validation from its report and return value:
 * 1 when a table failed (whatever the reason: a table's bad column is a
 * failure of that table, not a usage error), else 3 when one mismatched,
 * else floe_replicate_exit_code(rc) (0 when rc is FLOE_OK). */
int floe_run_report_exit_code(const floe_run_report *report, int rc);

/* Releases what the report owns and zeroes it. Accepts NULL. */
void floe_run_report_free(floe_run_report *report);

/* Appends the report as one JSON object (docs/replicate.md, "Run report"). */
int floe_run_report_json(const floe_run_report *report, floe_buf *out,
                         floe_error *err);
/* Appends the per-table summary as an aligned text table (one line per
 * table: table, status, range, rows, files, bytes, seconds, snapshot). */
int floe_run_report_text(const floe_run_report *report, floe_buf *out,
                         floe_error *err);

/* One table's state for `floe status`. Strings owned by the status. */
typedef struct floe_status_table {
  char *name, *target;
  bool has_control;        /* the control table has rows for it */
  int64_t control_max;     /* largest batch_sk in the control table */
  int64_t control_rows;
  char *control_watermark; /* watermark of that row (cursor), or NULL */
  bool table_exists;
  bool has_snapshot;
  int64_t snapshot_id;     /* current snapshot */
  int64_t total_records;   /* its live rows (net of deletes), -1 when absent */
  bool has_committed;
  int64_t committed_high;  /* highest floe.batch-sk.high on main */
  char *committed_watermark;
  char *last_run_id;       /* floe.run-id of the latest floe commit */
  int64_t last_commit_ms;  /* its timestamp */
  char *message;           /* an error reaching this table, or NULL */
  bool has_source_max;     /* batch tables whose source could be read */
  int64_t source_max;      /* max(batch column) of the source now */
  bool source_behind;      /* source_max < control_max */
  /* Rows floe will never load (batch tables loaded incrementally): */
  bool late_checked;
  int64_t rows_invalid;    /* NULL, 0 or negative batch */
  int64_t rows_late;       /* late rows, -1 when the loads did not count */
  floe_run_late_range *late_ranges;
  size_t n_late_ranges;
} floe_status_table;

typedef struct floe_status_report {
  size_t n_tables;
  floe_status_table *tables;
} floe_status_report;

/* `floe config check --connect`: connects to the source and the catalog
 * and checks every configured table online (source table, batch/cursor,
 * partition, op, key, sequence and order columns; an existing target that
 * floe cannot write). Each problem is a line "table NAME: what" appended
 * to out; *out_problems counts them. Returns a negative code only when the
 * source or the catalog cannot be reached (err says which). Reads only. */
int floe_replicate_check_online(const struct floe_config *cfg, floe_buf *out, int *out_problems,
                                floe_error *err);

/* Reads the control table and each table's metadata; writes nothing (a
 * missing control table reads as empty). Per-table problems go into the
 * table's message; the return value is negative only when the source or
 * catalog cannot be opened. Free with floe_status_report_free. */
int floe_replicate_status(const struct floe_config *cfg,
                          const floe_run_options *options,
                          floe_status_report *out, floe_error *err);
void floe_status_report_free(floe_status_report *report);
/* One row of the control table, as `SELECT ... FROM floe_control` shows it
 * (sql/<dialect>/control.sql "history"). Strings owned by the report;
 * watermark is NULL when the row has none. */
typedef struct floe_control_entry {
  char *table_name;
  int64_t batch_sk;
  char *run_id;
  char *inserted_at; /* as the source renders it */
  char *watermark;
  char *kind; /* "init", "load", "repair" */
} floe_control_entry;

typedef struct floe_control_report {
  size_t n_entries;
  floe_control_entry *entries; /* tables in file order, each by ascending batch_sk */
} floe_control_report;

/* Reads the control table's rows of every selected table (options may be
 * NULL: all); writes nothing, and a control table that does not exist yet
 * reads as empty. For programs that show the ledger (the Python package's
 * Job.control()). Errors: FLOE_EINVAL for an unknown table name, the
 * source's errors. Free with floe_control_report_free. */
int floe_replicate_control(const struct floe_config *cfg,
                           const floe_run_options *options,
                           floe_control_report *out, floe_error *err);
void floe_control_report_free(floe_control_report *report);

/* Appends the status as an aligned text table. */
int floe_status_report_text(const floe_status_report *report, floe_buf *out,
                            floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
