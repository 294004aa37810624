/*
 * floe/merge.h: applying changes to an Iceberg table in one atomic commit —
 * upsert on a primary key (`mode: merge`), change capture from an operation
 * column (I/U/D), and hash-diff of a full source against the table.
 *
 * The replication engine streams the source rows of a batch range into a
 * floe_merge and commits once. The merge de-duplicates changes per key
 * (last by the ordering column wins, ties by arrival order), finds the
 * table rows they replace, and writes new data files plus deletes:
 *   - FLOE_MERGE_POSITION_DELETES (default): scans only the key columns of
 *     the data files whose partition and key bounds can match, and writes
 *     position delete files (file_path, pos);
 *   - FLOE_MERGE_EQUALITY_DELETES: writes equality delete files on the key
 *     (cheap to write, costlier to read);
 *   - FLOE_MERGE_COPY_ON_WRITE: rewrites each affected data file without the
 *     replaced rows.
 * Everything lands in one row-delta (or overwrite, for copy-on-write)
 * snapshot carrying the caller's summary properties, so a merge is exactly
 * as atomic as an append.
 *
 * Semantics, per key (the final change of a key after de-duplication):
 *   - UPSERT: the row replaces every live table row with its key, or is
 *     inserted;
 *   - CDC_OP: insert and update are both upserts (an insert of a key the
 *     table holds replaces it); delete removes the key's live rows, and a
 *     delete of a key the table lacks is a counted no-op (deletes_missing),
 *     so an insert then a delete of a new key within the input leaves
 *     nothing;
 *   - HASH_DIFF: the input is the whole source; table keys missing from it
 *     are deleted, keys whose row hash (XXH64 over the Appendix D binary
 *     form of every non-key column, nulls marked) differs are replaced, new
 *     keys inserted, identical rows left alone. Nothing to change: no
 *     commit (snapshot_id 0).
 * Every kind reads the table once (key columns, or all columns for hash-
 * diff) to find the live rows of the changed keys, so the counts are exact
 * with every delete kind; equality deletes are written only for keys the
 * table holds, in the partition of the row they delete.
 *
 * Memory: the change rows (columnar, all table columns) and one hash-table
 * entry per distinct key (about 64 bytes plus the key), never the table;
 * the table pass holds one scan batch, and a bitmap per touched data file
 * (a bit per row) marks the rows deletes replace. When the change set
 * outgrows options.memory_bytes the merge spills: from then on change rows
 * are written to 256 hash partitions (by key) in a temporary directory, the
 * table pass writes the keys of the table rows that may match (a Bloom
 * filter over the changed keys drops the rest) to the same partitions, and
 * the commit merges one partition at a time, so memory holds about 1/256 of
 * the change set. Same rows, same deletes, same counts as in memory; only
 * the order of the new rows within the data files differs.
 *
 * Concurrency: when the commit has to rebase over snapshots committed
 * after the merge's begin, it fails with FLOE_ECONFLICT ("concurrent
 * commit: ...") if one of them added a data file whose key bounds overlap
 * the changed keys (for hash-diff: any file), since rebasing would keep a
 * stale row; otherwise it rebases. Nothing is written to the table on
 * failure, and the merge's files are deleted.
 */
#ifndef FLOE_MERGE_H
#define FLOE_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/iceberg.h"
#include "floe/table.h"

#ifdef __cplusplus
extern "C" {
#endif

struct floe_table; /* include/floe/table.h */

typedef enum floe_merge_kind {
  FLOE_MERGE_UPSERT = 0,  /* every source row is an insert-or-update of its key */
  FLOE_MERGE_CDC_OP = 1,  /* an operation column says insert/update/delete */
  FLOE_MERGE_HASH_DIFF = 2 /* the batches are the full source: diff by key + row hash */
} floe_merge_kind;

typedef enum floe_merge_deletes {
  FLOE_MERGE_POSITION_DELETES = 0,
  FLOE_MERGE_EQUALITY_DELETES = 1,
  FLOE_MERGE_COPY_ON_WRITE = 2
} floe_merge_deletes;

typedef struct floe_merge_options {
  floe_merge_kind kind;
  floe_merge_deletes deletes;
  /* Key columns by Iceberg field id (the table's primary key). */
  int32_t n_key_field_ids;
  const int32_t *key_field_ids;
  /* Ordering column (batch_sk or a sequence) deciding which change of a key
   * wins within the input; -1 = arrival order. */
  int32_t order_field_id;
  /* Second ordering column (> 0), deciding between changes of one key with
   * equal order_field_id values: the engine orders by the batch column
   * first, then by the sequence, so a table does not depend on how
   * batches were grouped into runs. 0 or -1 = none. */
  int32_t then_order_field_id;
  /* CDC_OP: the operation column's name in the input batches (it is not
   * written to the table) and the values meaning insert/update/delete
   * (defaults "I", "U", "D"); an unknown value is an error naming the row. */
  const char *op_column;
  const char *op_insert, *op_update, *op_delete;
  /* Snapshot summary properties to add (floe.source-table, floe.batch-sk.*,
   * floe.run-id ...). */
  int32_t n_summary;
  const floe_iceberg_property *summary;
  /* Table properties set (value NULL: removed) in the merge's commit, and a
   * condition every commit attempt checks on its base (floe/table.h:
   * floe_table_op_set_property, floe_table_op_set_precondition; the
   * precondition's ctx must outlive the commit). */
  int32_t n_properties;
  const floe_iceberg_property *properties;
  floe_table_precondition precondition;
  void *precondition_ctx;
  /* Memory budget of the change set in bytes (0: 128 MiB). Past it the
   * merge spills: change rows and the keys of the table rows they may
   * replace go to hash partitions on disk, and each partition is merged in
   * memory on its own (see "Memory" above). The result does not depend on
   * it. */
  int64_t memory_bytes;
  /* Where the spill's temporary directory is made (NULL: $TMPDIR, else
   * /tmp); it is removed when the merge commits, fails or is freed. */
  const char *spill_dir;
  /* Threads (0: one per online core, like run.threads). Copy-on-write
   * reads and filters a rewritten data file on a second thread while the
   * caller's encodes and writes it, at most two 64 Ki-row batches ahead;
   * 1 does both on the caller's thread. The files written do not depend
   * on it. The table's floe_io is then used by two threads at once (one
   * reading, one writing), which floe's io implementations allow. */
  int64_t threads;
  /* Load metadata columns (> 0 when present): a string column the merge
   * fills, for every row it writes, with "I" (a key new to the table) or
   * "U" (a key the table held), whatever the input says; and columns
   * hash-diff leaves out of the row comparison (they change every load). */
  int32_t op_field_id;
  int32_t n_unhashed_field_ids;
  const int32_t *unhashed_field_ids;
} floe_merge_options;

#define FLOE_MERGE_TIE_GROUPS 16

typedef struct floe_merge_result {
  int64_t snapshot_id;      /* the committed snapshot (0 when nothing changed) */
  int64_t rows_inserted;    /* keys new to the table */
  int64_t rows_updated;     /* keys replaced */
  int64_t rows_deleted;     /* keys deleted (hash-diff: table keys the
                             * source no longer has) */
  int64_t deletes_missing;  /* CDC: keys whose final change is a delete but
                             * that the table does not hold (no-ops; also
                             * an insert then delete within the input) */
  int64_t rows_unchanged;   /* hash-diff: identical rows skipped */
  int64_t input_rows;       /* change rows received */
  int64_t duplicate_keys;   /* changes superseded by a later change of the same key */
  int64_t tied_keys;        /* of those, decided by arrival order because every
                             * ordering value was equal */
  /* tied_keys by the first ordering value (the batch, when the engine
   * orders by it), in the order the ties were met: the first
   * FLOE_MERGE_TIE_GROUPS values each, any further ones in tied_other. (A
   * merge that spilled meets them partition by partition, so with more
   * values than groups, which ones land in tied_other may differ.) */
  int32_t n_tie_groups;
  struct {
    floe_int128 order; /* the ordering value (null orders: 0) */
    int64_t tied_keys;
  } tie_groups[FLOE_MERGE_TIE_GROUPS];
  int64_t tied_other;
  int64_t data_files, delete_files;
  int64_t bytes_written;
  /* The table's expected live row count change: inserted - deleted. The
   * engine validates it against the committed snapshot's total-records. */
  int64_t net_row_change;
  /* Bytes written to the spill (0: the merge ran in memory). */
  int64_t spill_bytes;
  /* Spilled partitions split again because their change rows would not
   * fit the budget, and the most bytes one partition's change rows and
   * key table held in memory (both 0 when the merge ran in memory). */
  int64_t spill_splits;
  int64_t spill_peak_bytes;
} floe_merge_result;

typedef struct floe_merge floe_merge;

/* Starts a merge into `table` (borrowed; must outlive the merge). The
 * table's metadata is copied now: the merge reads and writes against the
 * state at begin. options are copied. Errors: FLOE_EINVAL (no key, a key
 * or ordering field id that is not a top-level column, a nested key
 * column, an ordering column that is not an integer/decimal/date/time/
 * timestamp, CDC without an op column, an op column named like a table
 * column), FLOE_EUNSUPPORTED (a column type without an Arrow form). Other
 * columns may be lists, structs and maps nested to any depth; they are
 * carried whole (and hashed whole by hash-diff). Free *out with
 * floe_merge_free. */
int floe_merge_begin(floe_merge **out, struct floe_table *table,
                     const floe_merge_options *options, floe_error *err);
/* Replaces (or adds) one summary property, or one table property, of the
 * merge's commit after floe_merge_begin (a value known only once the rows
 * are in, such as their count). Strings are copied. FLOE_ENOMEM. */
int floe_merge_set_summary(floe_merge *merge, const char *key, const char *value,
                           floe_error *err);
int floe_merge_set_property(floe_merge *merge, const char *key, const char *value,
                            floe_error *err);

/* Adds change rows: a "+s" batch whose columns carry "PARQUET:field_id"
 * for table columns (the op column, for CDC_OP, is matched by name and has
 * no field id, and must be a string). Columns may come in any order; an
 * optional column may be missing (its values become null), key, ordering
 * and required columns may not. The batch is only read (rows are copied).
 * Errors, which leave the merge usable: FLOE_EINVAL naming the batch (1-
 * based) and row (0-based) for a column not in the table, a type that is
 * not the column's Arrow mapping, a null key or required value, an unknown
 * op value ("merge into db.t: batch 1 row 1: key column 'id' is null").
 * FLOE_ENOMEM leaves it failed (only free remains). */
int floe_merge_add(floe_merge *merge, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, floe_error *err);
/* Reads the table, writes the files and commits one snapshot (retrying on
 * conflict per the table's commit rules and the concurrency rule above).
 * *out (may be NULL) gets the counts; snapshot_id 0 when nothing changed.
 * A merge commits at most once. Errors: FLOE_ECONFLICT, and those of the
 * scan, the writers and the table commit, prefixed "merge into <table>". */
int floe_merge_commit(floe_merge *merge, floe_merge_result *out,
                      floe_error *err);
/* Frees the merge; files written by an uncommitted merge are deleted.
 * Accepts NULL. */
void floe_merge_free(floe_merge *merge);

#ifdef __cplusplus
}
#endif
#endif
