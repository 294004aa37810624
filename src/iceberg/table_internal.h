/*
 * iceberg/table_internal.h: what table.c and snapshot_ops.c share: the
 * table struct, the commit step (write metadata, swap the catalog pointer,
 * adopt the new state) and the retry policy read from table properties.
 */
#ifndef FLOE_ICEBERG_TABLE_INTERNAL_H
#define FLOE_ICEBERG_TABLE_INTERNAL_H

#include "floe/table.h"

struct floe_table {
  floe_catalog *catalog; /* borrowed; NULL for a bare metadata file */
  floe_io *io;           /* the catalog's or the caller's, or own_io */
  /* An S3 io of the table's own, owned: signing with the credentials the
   * catalog vended for it (REST), or, for a table on S3 whose catalog's io
   * is local (a REST catalog without an s3:// warehouse), with the default
   * chain. Kept until the table is freed, as callers hold the io pointer
   * across reloads (new credentials are swapped in). */
  floe_io *own_io;
  int own_io_vended; /* own_io signs with vended credentials */
  floe_io *retired_io; /* an earlier own_io (chain) replaced by a vended one */
  /* The load result the vended credentials were read from (their strings
   * live here while the io's refresh callback hands them out). */
  floe_catalog_table vended_state;
  char *ns;
  char *tname;
  char *display_name; /* "ns.name" */
  char *metadata_location;
  floe_iceberg_metadata *metadata;
};

/* Retry policy (table properties commit.retry.*). */
typedef struct table_retry_policy {
  int num_retries;      /* commit.retry.num-retries, default 4 */
  int64_t min_wait_ms;  /* commit.retry.min-wait-ms, default 100 */
  int64_t max_wait_ms;  /* commit.retry.max-wait-ms, default 60000 */
  int64_t total_timeout_ms; /* commit.retry.total-timeout-ms, 1800000 */
} table_retry_policy;

void table_retry_policy_read(const floe_iceberg_metadata *md,
                             table_retry_policy *out);
/* Sleeps before attempt `attempt` (>= 2): min * 2^(attempt-2) capped at
 * max, with up to 10% jitter either way (as Iceberg Java's Tasks). */
void table_backoff(const table_retry_policy *policy, int attempt);

/* Milliseconds since the epoch. */
int64_t table_now_ms(void);

/* Finishes `md` (a modified copy of t->metadata) for commit: records the
 * base file in the metadata-log (trimmed to
 * write.metadata.previous-versions-max, default 100), serializes it and
 * swaps the catalog pointer from t->metadata_location. On success t adopts
 * md (ownership passes) and the new location; on any failure md is freed
 * and t is unchanged. FLOE_ECONFLICT when the pointer moved. */
int table_commit_metadata(floe_table *t, floe_iceberg_metadata *md,
                          floe_error *err);

#endif
