/*
 * replicate/spill.h: numbered scratch files of length-prefixed records in
 * a temporary directory, for work that does not fit its memory budget (a
 * merge's change set and table keys, hash-partitioned).
 *
 * A spill is a directory made with mkdtemp under a parent directory; each
 * of its n files is appended to through a buffer of its own, then read back
 * sequentially, record by record, in the order written. Freeing the spill
 * removes its files and its directory, whatever state it is in, so a
 * failed merge leaves nothing behind. Private to src/replicate.
 */
#ifndef FLOE_REPLICATE_SPILL_H
#define FLOE_REPLICATE_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "floe/common.h"

typedef struct floe_spill floe_spill;

/* Creates `<parent>/floe-<label>-XXXXXX` (parent NULL: $TMPDIR, else /tmp)
 * with n_files empty files, each written through a buffer of buffer_size
 * bytes allocated on its first append. *out owns the spill; free it with
 * floe_spill_free. Errors: FLOE_EIO naming the directory, FLOE_ENOMEM. */
int floe_spill_open(floe_spill **out, const char *parent, const char *label,
                    int32_t n_files, size_t buffer_size, floe_error *err);

/* Appends one record of len bytes (< 4 GiB) to file `file`. Errors:
 * FLOE_EIO (a full disk names the file), FLOE_ENOMEM. */
int floe_spill_append(floe_spill *s, int32_t file, const void *record,
                      size_t len, floe_error *err);

/* Ends writing file `file` and starts reading it from its first record. */
int floe_spill_rewind(floe_spill *s, int32_t file, floe_error *err);

/* The next record of a rewound file: *record points into the spill's read
 * buffer (valid until the next call) and *len is its length; *record is
 * NULL after the last record. Errors: FLOE_EIO, FLOE_EFORMAT (a truncated
 * record), FLOE_ENOMEM. */
int floe_spill_next(floe_spill *s, int32_t file, const uint8_t **record,
                    size_t *len, floe_error *err);

/* Closes and removes file `file` and frees its buffer (its disk space is
 * returned at once). */
void floe_spill_drop(floe_spill *s, int32_t file);

/* Adds n empty files, numbered from *first on (the earlier files keep
 * their numbers and contents). Errors: FLOE_EINVAL, FLOE_ENOMEM. */
int floe_spill_add_files(floe_spill *s, int32_t n, int32_t *first, floe_error *err);

/* Bytes (record prefixes included) and records appended to file `file`
 * until it was dropped (then 0). */
int64_t floe_spill_file_bytes(const floe_spill *s, int32_t file);
int64_t floe_spill_file_records(const floe_spill *s, int32_t file);

/* Bytes written to the spill's files so far (record prefixes included). */
int64_t floe_spill_bytes(const floe_spill *s);

/* The spill's directory (owned by the spill). */
const char *floe_spill_dir(const floe_spill *s);

/* Removes every file and the directory, and frees the spill. Accepts
 * NULL. */
void floe_spill_free(floe_spill *s);

#endif
