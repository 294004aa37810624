/*
 * floe/maintain.h: table maintenance: orphan files, and the operations
 * that keep a table that floe loads every hour healthy while replication
 * keeps committing (floe_maintain_run, below the orphan API): equality
 * deletes converted to position deletes, compaction of small files with
 * their deletes applied, manifests clustered by partition, and snapshot
 * expiry with the files only expired snapshots reached.
 *
 * Orphans:
 * A commit writes its data files, manifests, manifest list and metadata
 * file under fresh names before the catalog swaps the table's pointer
 * (DESIGN.md rules 2 and 3), so an attempt that fails or loses a conflict
 * leaves files nothing references: orphans. They are harmless to readers
 * (no snapshot can reach them) but cost storage. floe_maintain_orphans
 * lists every file under the table's location that the current metadata
 * cannot reach, and can delete them.
 *
 * Reachable (never listed, never deleted):
 *  - the current metadata file and every file of its metadata-log;
 *  - <location>/metadata/version-hint.text (the hadoop catalog's hint);
 *  - for every snapshot of the current metadata: its manifest list (or v1
 *    manifests), every manifest in it, and every file any entry of those
 *    manifests names, whatever the entry's status (a DELETED entry's file
 *    may still be live in an older snapshot);
 *  - statistics and partition-statistics files.
 * Everything else under the location is an orphan candidate: data and
 * delete files of failed writers, their manifests and manifest lists,
 * metadata files older than the metadata-log or written by a commit that
 * lost its compare-and-swap, and temporary files of interrupted atomic
 * writes. A candidate modified within `older_than_ms` of now is kept: it
 * may belong to a writer that is still running and about to commit it
 * (Iceberg's DeleteOrphanFiles uses the same guard, 3 days by default).
 * Subdirectories that are tables themselves (hold a metadata/ directory)
 * are skipped. If any manifest list or manifest cannot be read, nothing is
 * reported or deleted: an incomplete reachable set would make live files
 * look orphaned.
 *
 * Paths are compared after resolving file: URIs (floe_io_local_path), so
 * "file:///w/t/data/a.parquet" in a manifest matches /w/t/data/a.parquet
 * on disk.
 */
#ifndef FLOE_MAINTAIN_H
#define FLOE_MAINTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/scan.h"
#include "floe/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default age below which orphans are kept: 3 days. */
#define FLOE_MAINTAIN_DEFAULT_OLDER_THAN_MS (INT64_C(3) * 24 * 3600 * 1000)

/* What an orphan looks like, judged by its name. */
typedef enum floe_maintain_file_kind {
  FLOE_MAINTAIN_DATA_FILE = 0, /* *.parquet, *.orc */
  FLOE_MAINTAIN_DELETE_FILE,   /* *-deletes.parquet, *.puffin */
  FLOE_MAINTAIN_MANIFEST,      /* *.avro other than snap-* */
  FLOE_MAINTAIN_MANIFEST_LIST, /* snap-*.avro */
  FLOE_MAINTAIN_METADATA,      /* *.metadata.json[.gz] */
  FLOE_MAINTAIN_TEMP,          /* *.tmp, dot files */
  FLOE_MAINTAIN_OTHER
} floe_maintain_file_kind;

/* "data", "delete", "manifest", "manifest-list", "metadata", "temp",
 * "other". */
const char *floe_maintain_file_kind_name(floe_maintain_file_kind kind);

typedef struct floe_maintain_orphan {
  char *path; /* <table location>/<relative path> */
  uint64_t size;
  int64_t mtime_ms;
  floe_maintain_file_kind kind;
  bool deleted; /* removed by this call (delete_files) */
} floe_maintain_orphan;

typedef struct floe_maintain_orphan_options {
  /* Keep files modified less than this long ago (a running writer's).
   * Negative: FLOE_MAINTAIN_DEFAULT_OLDER_THAN_MS. */
  int64_t older_than_ms;
  /* "Now" in ms since the epoch; 0: the real-time clock. */
  int64_t now_ms;
  /* Delete the orphans found (otherwise only list them). */
  bool delete_files;
} floe_maintain_orphan_options;

/* Options with the defaults: 3 days, the clock, list only. */
void floe_maintain_orphan_options_init(floe_maintain_orphan_options *options);

/* The result of floe_maintain_orphans. Owned by the caller; release with
 * floe_maintain_orphan_list_reset. Initialise with `= {0}`. */
typedef struct floe_maintain_orphan_list {
  size_t n_files;
  floe_maintain_orphan *files; /* sorted by path */
  uint64_t total_bytes;        /* of files[] */
  size_t n_reachable;          /* files found under the location and kept */
  size_t n_too_new;            /* unreachable but newer than the threshold */
  uint64_t too_new_bytes;
  size_t n_nested_tables;      /* subdirectories skipped as other tables */
  size_t n_deleted;            /* with delete_files */
  uint64_t deleted_bytes;
} floe_maintain_orphan_list;

void floe_maintain_orphan_list_reset(floe_maintain_orphan_list *orphans);

/* Lists (and with options->delete_files, deletes) the orphan files of
 * `table`'s current metadata, as described above. options may be NULL
 * (the defaults). *out is reset first.
 *
 * Deleting: the table is refreshed from its catalog first; if its metadata
 * location moved since the listing began, nothing is deleted and the call
 * fails with FLOE_ECONFLICT (run it again). A file that disappeared in the
 * meantime counts as deleted; any other failure to delete is reported
 * after trying the rest (files[i].deleted says which went).
 *
 * Errors: FLOE_ENOTFOUND / FLOE_EFORMAT (a manifest list or manifest that
 * cannot be read: nothing is deleted), FLOE_EUNSUPPORTED (a location the
 * table's io cannot list), FLOE_ECONFLICT, FLOE_EIO, FLOE_ENOMEM. */
int floe_maintain_orphans(floe_table *table,
                          const floe_maintain_orphan_options *options,
                          floe_maintain_orphan_list *out, floe_error *err);

/* The resolved paths of every file reachable from `table`'s current
 * metadata (as above), sorted and without duplicates, in *out_paths
 * (*out_n entries); free with floe_maintain_paths_free. */
int floe_maintain_reachable_files(const floe_table *table, char ***out_paths,
                                  size_t *out_n, floe_error *err);
void floe_maintain_paths_free(char **paths, size_t n);

/* ==== table maintenance ================================================
 *
 * Each operation is one or more atomic commits built on the snapshot the
 * operation read, validated against whatever committed since (DESIGN.md
 * rule 3), so it is safe while `floe run` or another writer commits:
 *
 *  convert equality deletes: every live equality delete file is replaced
 *    by position delete files holding exactly the rows it removes from
 *    each data file it applies to (found by reading those data files with
 *    and without the equality deletes). One row-delta commit that names
 *    the data files its deletes reference: a concurrent commit that
 *    removed one of them, or removed one of the equality delete files,
 *    fails it (FLOE_ECONFLICT) and nothing changes. Format v2 only.
 *
 *  compact: per partition (spec id + partition tuple), data files smaller
 *    than 3/4 of the target size, or with any delete file applying to
 *    them, are bin-packed into groups of at most max_group_bytes; a
 *    partition is rewritten when it has min_input_files candidates (or
 *    one with deletes). Each group is read through the scan (position
 *    deletes, equality deletes and deletion vectors applied: only live
 *    rows) and written by the data writer at the target file size into
 *    the table's default spec; delete files that applied only to rewritten
 *    files are removed in the same "replace" commit (snapshot_ops: the new
 *    files take the new sequence number, so older deletes no longer apply
 *    to them). A replace is validated against every commit since the
 *    snapshot it read: when a concurrent commit deleted one of its files,
 *    or added a delete file (position delete naming one of them, or any
 *    delete in a partition it rewrites), that group fails with a conflict;
 *    compaction then plans again once on the new state and redoes the
 *    groups that failed. Never a lost or resurrected row. partial_progress
 *    commits each group on its own; otherwise one commit carries all.
 *    Memory: one data file's row group being read plus one being written.
 *    Sorted: when the table's default sort order has fields (Iceberg
 *    spec: Sorting; e.g. set by Spark's WRITE ORDERED BY) and no_sort is
 *    off, each group's live rows are buffered up to sort_buffer_bytes
 *    (Arrow buffers plus one key per row and sort field), ordered by that
 *    order (transforms applied, directions and null orders honoured,
 *    stable) and written through a fresh writer, so every file written
 *    holds one sorted run and records the order's id (sort_order_id). A
 *    group within the buffer gives files that are sorted and cover
 *    disjoint key ranges in order; a larger group gives one sorted run
 *    per buffer-full (no external merge), each in its own files. Memory is
 *    then the buffer plus one output batch and the row group being
 *    written. A sort field on a nested column or with an unknown
 *    transform fails the compaction (FLOE_EUNSUPPORTED).
 *    Format v2 only (v3 row lineage is not carried over); tables with
 *    struct or map columns are refused (the scan cannot read them).
 *
 *  rewrite manifests: the live entries of the current snapshot are
 *    regrouped by (content, spec) and sorted by partition into manifests
 *    of about target_manifest_bytes; entries keep their snapshot ids and
 *    sequence numbers (EXISTING). A "replace" snapshot with unchanged
 *    totals. Rebuilt from the new state when a commit lands first.
 *
 *  expire snapshots: first, branches and tags (never main) whose
 *    snapshot is older than their max-ref-age-ms (the ref's own, else the
 *    table's history.expire.max-ref-age-ms, else never), or whose snapshot
 *    is missing, are removed, in the same commit as the snapshots; what
 *    only they kept then expires by the rules below. Then a snapshot is
 *    kept when a tag points at it, when it
 *    is among the retain_last most recent ancestors of a branch head or
 *    younger than older_than_ms (per-branch min-snapshots-to-keep and
 *    max-snapshot-age-ms override the table's), when it is an unreferenced
 *    snapshot younger than older_than_ms, and — floe's exactly-once rule
 *    (docs/replicate.md) — when it lies on the main branch between the
 *    head and the newest floe load commit (floe.batch-sk.high) of a
 *    source table that has no floe.watermark.<source> table property (a
 *    table last loaded by an older floe), so reconciliation always finds
 *    the latest committed batch. The removal is one metadata commit
 *    (floe_table_remove_snapshots). Only then are files deleted: those an
 *    expired snapshot reached (manifest lists, manifests, data and delete
 *    files, statistics files) that no snapshot of the table as reloaded
 *    after the commit reaches, so a commit that landed meanwhile keeps its
 *    files. With write.metadata.delete-after-commit.enabled=true, metadata
 *    files that left the metadata-log (write.metadata.previous-versions-
 *    max) are deleted too. A crash after the commit leaves only orphans.
 *
 * Table properties read (defaults in brackets): history.expire.max-
 * snapshot-age-ms [432000000, 5 days], history.expire.min-snapshots-to-
 * keep [1], write.target-file-size-bytes [536870912], commit.manifest.
 * target-size-bytes [8388608], write.metadata.delete-after-commit.enabled
 * [false]. Every commit's summary carries floe.maintenance = the
 * operation's name. Crash points (core/debug): maintain_before_commit,
 * maintain_after_commit (each maintenance commit), maintain_during_delete
 * (after the first file expiry deletes). */

/* Progress: `phase` ("convert", "compact", "manifests", "expire"), work
 * done out of total (files or groups). */
typedef void (*floe_maintain_progress_fn)(void *ctx, const char *phase,
                                          int64_t done, int64_t total);

typedef struct floe_maintain_options {
  bool convert_equality_deletes;
  bool compact;
  bool rewrite_manifests;
  bool expire_snapshots;
  /* Plan only: report what would be done; nothing is written. */
  bool dry_run;
  /* "Now" in ms since the epoch; 0: the clock. */
  int64_t now_ms;
  /* expire: < 0: history.expire.max-snapshot-age-ms; retain_last <= 0:
   * history.expire.min-snapshots-to-keep. */
  int64_t older_than_ms;
  int32_t retain_last;
  /* compact: 0 = write.target-file-size-bytes; min_input_files 0 = 2;
   * max_group_bytes 0 = 1 GiB; partial_progress: a commit per group. */
  int64_t target_file_size_bytes;
  int32_t min_input_files;
  int64_t max_group_bytes;
  bool partial_progress;
  /* compact: partitions are chosen by min_input_files alone (a file with
   * deletes is a candidate but does not force its partition). */
  bool small_files_only;
  /* compact: rows are written in the table's default sort order when it
   * has one (see "sorted" above) unless no_sort; sort_buffer_bytes bounds
   * the rows sorted together (0 = 64 MiB). */
  bool no_sort;
  int64_t sort_buffer_bytes;
  /* compact: only data files that may hold rows matching this
   * conjunction (partition and column-bound pruning of the scan); whole
   * files are rewritten. */
  const struct floe_scan_predicate *filter;
  int32_t n_filter;
  /* rewrite manifests: 0 = commit.manifest.target-size-bytes. */
  int64_t target_manifest_bytes;
  floe_maintain_progress_fn progress;
  void *progress_ctx;
} floe_maintain_options;

/* Zeroes the options, older_than_ms = -1 (the table's). */
void floe_maintain_options_init(floe_maintain_options *options);

/* What floe_maintain_run did (or, dry run, would do). */
typedef struct floe_maintain_report {
  bool dry_run;
  int32_t commits;
  /* convert */
  int64_t eq_delete_files_removed;
  int64_t pos_delete_files_added;
  int64_t eq_deleted_rows;         /* rows the equality deletes removed */
  int64_t eq_data_files;           /* data files they applied to */
  /* compact */
  int64_t data_files_before, data_files_after;
  int64_t delete_files_before, delete_files_after;
  int32_t groups, groups_committed, groups_conflicted, groups_redone;
  int64_t files_rewritten;         /* data files replaced */
  int64_t files_written;           /* data files added */
  int64_t delete_files_removed;    /* delete files dropped with them */
  int64_t rows_rewritten;          /* live rows written */
  int64_t bytes_rewritten, bytes_written;
  int32_t sort_order_id;           /* order the rewritten files follow (0: none) */
  int32_t sorted_runs;             /* sorted runs written (each its own files) */
  /* manifests */
  int32_t manifests_before, manifests_after;
  /* expire */
  int32_t snapshots_before, snapshots_expired, snapshots_after;
  int32_t snapshots_kept_for_floe; /* kept only by floe's history rule */
  int32_t refs_expired;            /* branches and tags past max-ref-age-ms */
  int64_t manifest_lists_deleted, manifests_deleted, data_files_deleted,
      delete_files_deleted, statistics_files_deleted, metadata_files_deleted;
  /* the snapshot current when the run ended */
  int64_t snapshot_id;
} floe_maintain_report;

/* Runs the operations selected in `options` on `table` in the order
 * convert, compact, rewrite manifests, expire, adding to *report (zero it
 * first). Stops at the first failing operation (what committed before it
 * stays committed; report says what). A compaction whose groups all
 * conflict twice fails with FLOE_ECONFLICT. Errors: FLOE_EUNSUPPORTED
 * (format v3 for convert/compact, struct or map columns for compact),
 * FLOE_ECONFLICT, I/O and format errors naming the file. */
int floe_maintain_run(floe_table *table, const floe_maintain_options *options,
                      floe_maintain_report *report, floe_error *err);

/* The individual operations (floe_maintain_run calls them). */
int floe_maintain_convert_equality_deletes(floe_table *table,
                                           const floe_maintain_options *options,
                                           floe_maintain_report *report,
                                           floe_error *err);
int floe_maintain_compact(floe_table *table,
                          const floe_maintain_options *options,
                          floe_maintain_report *report, floe_error *err);
int floe_maintain_rewrite_manifests(floe_table *table,
                                    const floe_maintain_options *options,
                                    floe_maintain_report *report,
                                    floe_error *err);
int floe_maintain_expire(floe_table *table,
                         const floe_maintain_options *options,
                         floe_maintain_report *report, floe_error *err);

/* Appends the report as one JSON object to out: {"table", "dry_run",
 * "commits", "snapshot_id", "convert_equality_deletes": {...}, "compact":
 * {...}, "rewrite_manifests": {...}, "expire_snapshots": {...}}, the
 * fields named as in floe_maintain_report (docs/config.md, "Maintenance").
 * table_name is written as is (no escaping: an Iceberg identifier). */
int floe_maintain_report_json(const floe_maintain_report *report,
                              const char *table_name, floe_buf *out,
                              floe_error *err);

/* Parses a duration: a non-negative integer followed by a unit, "ms", "s",
 * "m", "h", "d" or "w" ("3d", "12h", "90m"); a bare "0" is zero. Errors:
 * FLOE_EINVAL naming the text. */
int floe_maintain_parse_duration(const char *text, int64_t *out_ms,
                                 floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
