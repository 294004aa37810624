/*
 * iceberg/scan_internal.h: what scan.c (planning, projection, reading) and
 * deletes.c (position deletes, deletion vectors, equality deletes) share.
 *
 * Values cross between them as floe_iceberg_value in the table's type: a
 * data file's column is read in the file's Arrow type (scan_view_value) and
 * widened to the table type (scan_value_widen) before deletes and filters
 * look at it.
 */
#ifndef FLOE_ICEBERG_SCAN_INTERNAL_H
#define FLOE_ICEBERG_SCAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/iceberg.h"
#include "floe/io.h"
#include "floe/parquet_reader.h"
#include "floe/scan.h"

/* ---- shared helpers (scan.c) ------------------------------------------ */

/* Opens a Parquet file through io (the reader owns the open file). */
int scan_open_parquet(floe_io *io, const char *path, floe_parquet_reader **out,
                      floe_error *err);
/* Value i of an Arrow column in the column's own type (bytes borrowed). */
void scan_view_value(const floe_arrow_view *v, int64_t i, floe_iceberg_value *out);
/* Whether a file column of Arrow type `from` can be read as table type
 * `to` (same type, or an allowed promotion: int->long, float->double,
 * decimal precision widening, date->timestamp, string<->binary...). */
bool scan_type_readable(const floe_iceberg_type *to, const floe_arrow_type_info *from);
/* Converts a value read in Arrow type `from` to table type `to` in place.
 * FLOE_ERANGE when a value does not fit (a fixed of the wrong length). */
int scan_value_widen(const floe_iceberg_type *to, floe_arrow_type from,
                     floe_iceberg_value *v, floe_error *err);
/* Resolves a field id to its type: the scan's schema first, then the
 * current schema, then every other schema (dropped columns). NULL when no
 * schema has it. */
const floe_iceberg_field *scan_find_field(const floe_iceberg_metadata *metadata,
                                          const floe_iceberg_schema *schema, int32_t id);

/* ---- position deletes and deletion vectors (deletes.c) ---------------- */

/* The deleted positions of one data file: sorted, de-duplicated positions
 * from position-delete files, plus deletion-vector bitmaps. */
typedef struct scan_positions {
  int64_t *positions;
  size_t n, cap;
  floe_roaring64 **dvs;
  size_t n_dvs, cap_dvs;
} scan_positions;

/* Loads every position delete and DV of `task` that names `data_path` (the
 * data file path as the manifest records it). Paths are opened through
 * `remap` (location_from/location_to, see floe_scan_remap_path). */
int scan_positions_load(scan_positions *out, floe_io *io, const char *location_from,
                        const char *location_to, const floe_scan_task *task,
                        floe_error *err);
bool scan_positions_contains(const scan_positions *p, int64_t pos);
bool scan_positions_empty(const scan_positions *p);
void scan_positions_reset(scan_positions *p);

/* ---- equality deletes (deletes.c) ------------------------------------- */

typedef struct scan_eq_slot {
  uint64_t hash;
  uint64_t offset; /* into keys.data */
  uint32_t len;
  uint32_t used;
} scan_eq_slot;

/* One set of equality-delete keys over one list of equality field ids. */
typedef struct scan_eq_set {
  int32_t n_ids;
  int32_t *ids;
  const floe_iceberg_type **types; /* table types of the ids */
  floe_buf keys;                   /* concatenated encoded keys */
  scan_eq_slot *slots;             /* open addressing, power-of-two size */
  size_t n_slots, n_keys;
} scan_eq_set;

typedef struct scan_eq_deletes {
  int32_t n_sets;
  scan_eq_set *sets;
} scan_eq_deletes;

/* Loads the equality-delete files of `task` into one key set per distinct
 * equality id list. Field types come from scan_find_field. */
int scan_eq_deletes_load(scan_eq_deletes *out, floe_io *io, const char *location_from,
                         const char *location_to, const floe_iceberg_metadata *metadata,
                         const floe_iceberg_schema *schema, const floe_scan_task *task,
                         floe_error *err);
void scan_eq_deletes_reset(scan_eq_deletes *d);

/* Appends the canonical key encoding of one value of table type `type`
 * (nulls equal nulls, as equality deletes require; ints, dates, times and
 * timestamps as 64-bit; floats as doubles; one NaN). */
int scan_key_append(floe_buf *key, const floe_iceberg_type *type, const floe_iceberg_value *v);
/* Whether the encoded key is in the set. */
bool scan_eq_set_contains(const scan_eq_set *set, const uint8_t *key, size_t len);

#endif
