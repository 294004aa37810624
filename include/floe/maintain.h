/*
 * floe/maintain.h: table maintenance. First: orphan files.
 *
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

#include "floe/common.h"
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

/* Parses a duration: a non-negative integer followed by a unit, "ms", "s",
 * "m", "h", "d" or "w" ("3d", "12h", "90m"); a bare "0" is zero. Errors:
 * FLOE_EINVAL naming the text. */
int floe_maintain_parse_duration(const char *text, int64_t *out_ms,
                                 floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
