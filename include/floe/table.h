/*
 * floe/table.h: Iceberg tables and their snapshot operations.
 *
 * A floe_table is one table of a catalog: its current metadata (parsed),
 * the metadata file it came from, and the io its files live in. Every
 * change is one atomic commit (DESIGN.md rule 3): new manifests, a new
 * manifest list and a new metadata file are written under fresh names
 * (rule 2), then the catalog swaps the table's pointer from the metadata
 * location the change was based on to the new file. When another writer
 * got there first (FLOE_ECONFLICT) the table is reloaded, the operation is
 * checked against what changed since its base snapshot, re-applied on top
 * of the new state and retried with exponential backoff and jitter, up to
 * the table properties commit.retry.num-retries (default 4),
 * commit.retry.min-wait-ms (100) and commit.retry.max-wait-ms (60000)
 * (Iceberg spec: Optimistic Concurrency). Files written by a failed
 * attempt are orphans: nothing ever references them.
 *
 * Snapshot operations (Iceberg spec: Snapshots, Manifest Lists, Sequence
 * Numbers; Appendix F for the summary keys) are built with a floe_table_op:
 *
 *   append      fast append: one new manifest per (spec, content) of the
 *               added files; every existing manifest is kept as it is.
 *   overwrite   delete the live files selected by the op's selectors
 *               (whole table, the partitions the added files touch, a row
 *               filter on a column range, partition values, paths) and add
 *               the op's files. Operation "overwrite".
 *   delete      delete the selected files. Operation "delete".
 *   row delta   add data files, position-delete and equality-delete files
 *               (and optionally delete files by path). Operation "append"
 *               when it only adds data, "delete" when it only adds
 *               deletes, "overwrite" otherwise (Java's BaseRowDelta).
 *   replace     rewrite: delete data files (by path) and add files holding
 *               the same live rows. Operation "replace". The added files
 *               get the new snapshot's sequence number (the reference
 *               implementation's default), so delete files older than the
 *               rewrite no longer apply to them: the new files must hold
 *               the rows as they read after those deletes, as a compaction
 *               writes them.
 *
 * Manifests holding a file the operation deletes are rewritten: the other
 * live entries become EXISTING with their snapshot ids and sequence
 * numbers, the removed ones DELETED with the new snapshot id, and entries
 * already DELETED by an older snapshot are dropped. Untouched manifests
 * are kept as they are.
 *
 * Conflicts on retry (the base is the snapshot the first attempt was built
 * on): an append always rebases. Every other operation fails with
 * FLOE_ECONFLICT when the set of files it deletes on the new state differs
 * from the set on its base (a file it deletes was already deleted, or a
 * file matching its selectors appeared: data added in a partition or range
 * being overwritten); a replace also fails when delete files were added
 * against the data files it rewrites (same file by referenced path, or the
 * same partition), and a row delta when data files its position deletes
 * reference (floe_table_op_reference_data_file) were deleted.
 *
 * Ownership: a floe_table owns its metadata copy and borrows the catalog
 * (which must outlive it). Metadata, schemas and snapshots handed out by
 * the accessors belong to the table and stay valid until the next
 * refresh or commit on it. Content files given to a floe_table_op are
 * copied. Errors start with "table <ns>.<name>: ...".
 */
#ifndef FLOE_TABLE_H
#define FLOE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/catalog.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/io.h"
#include "floe/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_table floe_table;

/* ==== tables ========================================================== */

/* Creates table `ident` in `catalog` with v2 metadata: `schema` (its ids
 * are kept), `spec` (NULL = unpartitioned), `sort_order` (NULL = unsorted)
 * and n properties (copied). `location` NULL takes the catalog's default
 * location. The property "format-version" chooses the format version (2
 * when absent; 1 is rejected) and is not stored; write.parquet.compression-
 * codec defaults to "zstd". On success *out (may be NULL: the table is only
 * created) is the loaded table, freed with floe_table_free. Errors: those
 * of floe_catalog_table_create (FLOE_EEXISTS, FLOE_ENOTFOUND for a missing
 * namespace), FLOE_EINVAL for a spec that does not fit the schema. */
int floe_table_create(floe_catalog *catalog, floe_catalog_ident ident,
                      const floe_iceberg_schema *schema,
                      const floe_iceberg_partition_spec *spec,
                      const floe_iceberg_sort_order *sort_order,
                      const floe_iceberg_property *properties,
                      int32_t n_properties, const char *location,
                      floe_table **out, floe_error *err);

/* Loads the table's current metadata through the catalog. The caller frees
 * *out with floe_table_free. Errors: FLOE_ENOTFOUND, FLOE_EFORMAT (bad
 * metadata JSON), FLOE_EIO. */
int floe_table_load(floe_catalog *catalog, floe_catalog_ident ident,
                    floe_table **out, floe_error *err);

/* Opens a bare metadata file (e.g. <table>/metadata/v3.metadata.json)
 * without a catalog, read-only: commits fail with FLOE_EUNSUPPORTED. `io`
 * is borrowed. The caller frees *out with floe_table_free. */
int floe_table_load_metadata_file(floe_io *io, const char *metadata_location,
                                  floe_table **out, floe_error *err);

/* Reloads the current metadata from the catalog (a no-op for a table
 * opened from a metadata file). Earlier accessor results become invalid. */
int floe_table_refresh(floe_table *table, floe_error *err);

/* Accepts NULL. */
void floe_table_free(floe_table *table);

/* Accessors (owned by the table; see the ownership note above). */
const floe_iceberg_metadata *floe_table_metadata(const floe_table *table);
const char *floe_table_metadata_location(const floe_table *table);
const char *floe_table_location(const floe_table *table);
const floe_iceberg_schema *floe_table_schema(const floe_table *table);
const floe_iceberg_partition_spec *floe_table_spec(const floe_table *table);
/* NULL when the table has no snapshot yet. */
const floe_iceberg_snapshot *floe_table_current_snapshot(
    const floe_table *table);
/* A property's value, or NULL. */
const char *floe_table_property(const floe_table *table, const char *key);
floe_io *floe_table_io(const floe_table *table);
/* "ns.name" (or the metadata location for a bare table). */
const char *floe_table_name(const floe_table *table);

/* The snapshot current at timestamp_ms (snapshot-log; Appendix F, Point in
 * Time Reads). FLOE_ENOTFOUND when the table had none then. */
int floe_table_snapshot_as_of(const floe_table *table, int64_t timestamp_ms,
                              const floe_iceberg_snapshot **out,
                              floe_error *err);

/* ==== metadata-only commits =========================================== */

/* Sets (value non-NULL) or removes (value NULL) table properties in one
 * commit. "format-version" cannot be set this way (FLOE_EINVAL). */
int floe_table_set_properties(floe_table *table,
                              const floe_iceberg_property *updates,
                              int32_t n, floe_error *err);

/* Adds a new current schema in one commit. The schema is checked to keep
 * the fields of the current one compatible: a caller normally builds it
 * with the model's evolution functions from floe_table_schema(). */
int floe_table_set_schema(floe_table *table,
                          const floe_iceberg_schema *schema, floe_error *err);

/* Schema evolution shortcuts, each one commit (Iceberg spec: Schema
 * Evolution; rules as in floe_iceberg_schema_*). `parent` NULL adds a
 * top-level column. */
int floe_table_add_column(floe_table *table, const char *parent,
                          const char *name, const floe_iceberg_type *type,
                          const char *doc, floe_error *err);
int floe_table_rename_column(floe_table *table, const char *name,
                             const char *new_name, floe_error *err);

/* Adds a partition spec and makes it the default (one commit). */
int floe_table_set_spec(floe_table *table,
                        const floe_iceberg_partition_spec *spec,
                        floe_error *err);

/* Partition evolution in one commit: `spec` (its spec id and field ids
 * are ignored) becomes the default spec with ids assigned as
 * floe_iceberg_metadata_evolve_spec does, so an unchanged field keeps its
 * id and a new one continues after last-partition-id. Files already
 * written keep the spec they were written with. */
int floe_table_evolve_spec(floe_table *table,
                           const floe_iceberg_partition_spec *spec,
                           floe_error *err);

/* Adds a sort order (or reuses an equal one) and makes it the default, in
 * one commit (Iceberg spec: Sorting). */
int floe_table_set_sort_order(floe_table *table,
                              const floe_iceberg_sort_order *order,
                              floe_error *err);

/* Sets schema.name-mapping.default to the current schema's name mapping
 * (Iceberg spec: Column Projection), so files without field ids read. */
int floe_table_set_default_name_mapping(floe_table *table, floe_error *err);

/* Removes snapshots from the metadata in one commit (snapshot expiry;
 * Iceberg spec: Snapshot Retention Policy): the snapshots, their
 * statistics and partition-statistics entries, and the snapshot-log up to
 * the last removed one. Files are not touched (floe_maintain_expire
 * decides which may be deleted). On a conflict the removal is re-applied
 * to the new state; FLOE_ECONFLICT when a branch or tag now points at one
 * of the ids. Unknown ids are ignored. */
int floe_table_remove_snapshots(floe_table *table, const int64_t *snapshot_ids,
                                int32_t n, floe_error *err);

/* A branch or tag to remove, with the snapshot it pointed at when it was
 * judged expired (max-ref-age-ms). */
typedef struct floe_table_expired_ref {
  const char *name;
  int64_t snapshot_id;
} floe_table_expired_ref;

/* floe_table_remove_snapshots that first removes the refs listed, in the
 * same commit. A ref is removed only while it still points at the listed
 * snapshot (one moved meanwhile stays, and then still protects its head:
 * FLOE_ECONFLICT if that head is among the ids); "main" is never removed. */
int floe_table_expire_refs_and_snapshots(floe_table *table,
                                         const floe_table_expired_ref *refs,
                                         int32_t n_refs,
                                         const int64_t *snapshot_ids, int32_t n,
                                         floe_error *err);

/* ==== snapshot operations ============================================= */

typedef enum floe_table_op_kind {
  FLOE_TABLE_APPEND = 0,
  FLOE_TABLE_OVERWRITE,
  FLOE_TABLE_DELETE,
  FLOE_TABLE_ROW_DELTA,
  FLOE_TABLE_REPLACE
} floe_table_op_kind;

typedef struct floe_table_op floe_table_op;

/* A column range for overwrite/delete selectors: lo <= col < hi by default;
 * has_lo/has_hi false leave that side open; lo_exclusive / hi_inclusive
 * change the ends (`col = v`: lo = hi = v, hi_inclusive). Values are read
 * against the column's type (as floe_iceberg_value). */
typedef struct floe_table_range {
  const char *column; /* a top-level column of the current schema */
  bool has_lo;
  floe_iceberg_value lo;
  bool lo_exclusive;
  bool has_hi;
  floe_iceberg_value hi;
  bool hi_inclusive;
} floe_table_range;

/* Starts an operation on `table` (borrowed; must outlive the op). The
 * caller frees *out with floe_table_op_free. */
int floe_table_op_new(floe_table_op **out, floe_table *table,
                      floe_table_op_kind kind, floe_error *err);
void floe_table_op_free(floe_table_op *op);

/* Adds a data or delete file (by file->content; copied). The file's
 * spec_id must name a spec of the table and its partition tuple must have
 * that spec's arity. Appends take data files only; replaces data files;
 * row deltas any. */
int floe_table_op_add_file(floe_table_op *op,
                           const floe_iceberg_content_file *file,
                           floe_error *err);

/* Deletes the live file at `path` (data or delete file). Commit fails with
 * FLOE_ENOTFOUND when no live file has that path. */
int floe_table_op_delete_path(floe_table_op *op, const char *path,
                              floe_error *err);

/* Overwrite selectors (overwrite and delete operations):
 * - delete_all: every live data and delete file;
 * - delete_added_partitions: dynamic partition overwrite: every live file
 *   in a (spec, partition) that one of the files added to the op before
 *   this call has (files added after it, e.g. rewritten rows of other
 *   partitions, select nothing);
 * - delete_range: every live file whose rows all lie in `range` (decided
 *   by an identity partition on the column, else by the file's column
 *   bounds and null counts). A data file only partly inside fails the
 *   commit with FLOE_EINVAL naming the file and its bounds. Delete files
 *   are selected only when an identity partition decides;
 * - delete_partition_value: every live file whose partition field named
 *   `partition_field` equals `value` (typed by the field's result type). */
int floe_table_op_delete_all(floe_table_op *op, floe_error *err);
int floe_table_op_delete_added_partitions(floe_table_op *op, floe_error *err);
int floe_table_op_delete_range(floe_table_op *op, const floe_table_range *range,
                               floe_error *err);
int floe_table_op_delete_partition_value(floe_table_op *op,
                                         const char *partition_field,
                                         const floe_iceberg_value *value,
                                         floe_error *err);

/* Row delta: declares that the op's position deletes reference the data
 * file at `path`; the commit fails with FLOE_ECONFLICT if a concurrent
 * commit deleted it. Files added with referenced_data_file set are
 * recorded automatically. */
int floe_table_op_reference_data_file(floe_table_op *op, const char *path,
                                      floe_error *err);

/* Adds a snapshot summary property (floe.source-table, floe.batch-sk.low,
 * ...); copied. Keys reserved by the spec's summary (operation, added-*,
 * total-*, ...) are rejected with FLOE_EINVAL. */
int floe_table_op_set_summary(floe_table_op *op, const char *key,
                              const char *value, floe_error *err);

/* Test hook: called before each catalog commit attempt (attempt counts
 * from 1). A non-zero return aborts the commit with that code. */
typedef int (*floe_table_commit_hook)(void *ctx, floe_table_op *op,
                                      int attempt);
void floe_table_op_set_commit_hook(floe_table_op *op,
                                   floe_table_commit_hook hook, void *ctx);

/* Sets (value non-NULL) or removes (value NULL) a table property in the
 * same new metadata file as the snapshot, so the property changes exactly
 * when the snapshot commits (copied; a later call for the same key wins).
 * "format-version" is refused (FLOE_EINVAL). */
int floe_table_op_set_property(floe_table_op *op, const char *key,
                               const char *value, floe_error *err);

/* A condition on the table state a commit attempt builds on: called by
 * every attempt with the metadata it is based on (the freshly reloaded
 * one after a conflict), before anything of the attempt is written. The
 * catalog's compare-and-swap then only succeeds while that metadata is
 * still current, so the condition holds at the commit. A negative return
 * (with err set) stops the commit with that code and message, unretried. */
typedef int (*floe_table_precondition)(void *ctx,
                                       const floe_iceberg_metadata *base,
                                       floe_error *err);
void floe_table_op_set_precondition(floe_table_op *op,
                                    floe_table_precondition check, void *ctx);

/* Commits the operation (with rebase and retry as described above). On
 * success the table holds the new metadata and *out_snapshot_id (may be
 * NULL) the new snapshot's id. An op commits at most once. Errors:
 * FLOE_ECONFLICT (a conflict on rebase, or retries exhausted),
 * FLOE_EINVAL (a file partly inside a delete range, a file of an unknown
 * spec), FLOE_ENOTFOUND (delete_path of a file that is not live), I/O
 * errors. */
int floe_table_op_commit(floe_table_op *op, int64_t *out_snapshot_id,
                         floe_error *err);

/* Commit attempts the last floe_table_op_commit made (1 = no retry). */
int floe_table_op_attempts(const floe_table_op *op);

/* One-call append of n data files with n_summary summary properties. */
int floe_table_append(floe_table *table,
                      const floe_iceberg_content_file *files, int32_t n,
                      const floe_iceberg_property *summary,
                      int32_t n_summary, int64_t *out_snapshot_id,
                      floe_error *err);

/* ==== reading a snapshot's files ====================================== */

/* A live file of a snapshot (deep copy) with where and when it was added. */
typedef struct floe_table_file {
  floe_iceberg_content_file file;
  floe_manifest_entry_status status; /* ADDED or EXISTING */
  int64_t snapshot_id;               /* the snapshot that added it */
  int64_t sequence_number;           /* data sequence number */
  int64_t file_sequence_number;
  char *manifest_path;
} floe_table_file;

typedef struct floe_table_files {
  int32_t n;
  floe_table_file *files;
} floe_table_files;

/* Reads every live file (data and delete) of `snapshot` (NULL = current;
 * none: an empty list) in manifest-list order. The caller releases *out
 * with floe_table_files_reset. */
int floe_table_files_read(const floe_table *table,
                          const floe_iceberg_snapshot *snapshot,
                          floe_table_files *out, floe_error *err);
void floe_table_files_reset(floe_table_files *files);

/* The live rows of `snapshot` (NULL = current; no snapshot: 0): its
 * total-records less its position deletes (each removes one row) when it
 * has no equality deletes; otherwise (an equality delete need not match a
 * row) counted by a scan of one column. */
int floe_table_live_rows(const floe_table *table,
                         const floe_iceberg_snapshot *snapshot,
                         int64_t *out, floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
