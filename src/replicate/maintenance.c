/*
 * replicate/maintenance: the job's `maintenance:` block. After a table's
 * loads (or a run with nothing new), `floe run` looks at cheap facts of
 * the current metadata (the snapshot summary's file counts, the number of
 * snapshots and their ages, one manifest list) and, when a threshold of
 * the block is crossed, runs the matching operations of floe/maintain.h
 * on the table. The operations are the ones `floe maintain` runs, with
 * the same concurrency validation, so a maintenance commit racing another
 * run's load loses or redoes its work, never a row.
 *
 * Maintenance failing does not fail the load (the data is committed and
 * proven by then): the error goes into the table's report and log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/log.h"
#include "floe/maintain.h"
#include "floe/manifest.h"
#include "floe/time.h"
#include "replicate/engine_internal.h"

static int64_t summary_i64(const floe_iceberg_snapshot *s, const char *key) {
  const char *v = floe_iceberg_snapshot_summary(s, key);
  return v != NULL ? strtoll(v, NULL, 10) : 0;
}

int floe_replicate_maintain(floe_table *table, const floe_config_maintenance *m,
                            char **out_json, floe_error *err) {
  int rc = FLOE_OK;
  floe_buf reasons = {0}, json = {0};
  floe_manifest_list *list = NULL;
  *out_json = NULL;
  if (!m->enabled) return FLOE_OK;
  FLOE_TRY(floe_table_refresh(table, err));
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  const floe_iceberg_snapshot *snap = floe_table_current_snapshot(table);
  if (snap == NULL) goto cleanup;
  floe_maintain_options o;
  floe_maintain_options_init(&o);
  int64_t data = summary_i64(snap, "total-data-files");
  int64_t deletes = summary_i64(snap, "total-delete-files");
  int64_t eq = summary_i64(snap, "total-equality-deletes");
  int rs = 0;
  if (m->convert_equality_deletes && eq > 0) {
    o.convert_equality_deletes = true;
    rs |= floe_buf_appendf(&reasons, "%s\"%" PRId64 " equality deletes\"", reasons.len ? "," : "", eq);
  }
  if (m->delete_ratio_percent > 0 && deletes > 0 && deletes * 100 >= data * m->delete_ratio_percent) {
    o.compact = true;
    rs |= floe_buf_appendf(&reasons, "%s\"%" PRId64 " delete files for %" PRId64 " data files\"",
                           reasons.len ? "," : "", deletes, data);
  } else if (m->compact_min_files > 0 && data >= m->compact_min_files) {
    /* Worth a plan: a partition may hold that many small files. */
    o.compact = true;
    o.small_files_only = true;
    rs |= floe_buf_appendf(&reasons, "%s\"%" PRId64 " data files\"", reasons.len ? "," : "", data);
  }
  o.min_input_files = m->compact_min_files > 0 ? (int32_t)m->compact_min_files : 2;
  o.target_file_size_bytes = m->target_file_size;
  o.partial_progress = m->partial_progress;
  if (m->max_manifests > 0 && snap->manifest_list != NULL) {
    FLOE_TRY(floe_manifest_list_read(floe_table_io(table), snap->manifest_list, &list, err));
    if (list->n_files > m->max_manifests) {
      o.rewrite_manifests = true;
      rs |= floe_buf_appendf(&reasons, "%s\"%d manifests\"", reasons.len ? "," : "",
                             (int)list->n_files);
    }
  }
  int64_t now = floe_now_micros() / 1000, oldest = now;
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (md->snapshots[i].timestamp_ms < oldest) oldest = md->snapshots[i].timestamp_ms;
  if ((m->max_snapshots > 0 && md->n_snapshots > m->max_snapshots) ||
      (md->n_snapshots > m->retain_last && oldest < now - m->expire_older_than_ms)) {
    o.expire_snapshots = true;
    o.older_than_ms = m->expire_older_than_ms;
    o.retain_last = (int32_t)m->retain_last;
    rs |= floe_buf_appendf(&reasons, "%s\"%d snapshots, oldest %" PRId64 " s old\"",
                           reasons.len ? "," : "", (int)md->n_snapshots, (now - oldest) / 1000);
  }
  if (rs != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  if (!o.convert_equality_deletes && !o.compact && !o.rewrite_manifests && !o.expire_snapshots)
    goto cleanup;
  floe_buf_terminate(&reasons);
  floe_log(FLOE_LOG_INFO, "maintain", "table=%s reasons=%s", floe_table_name(table),
           (const char *)reasons.data);
  floe_maintain_report report;
  memset(&report, 0, sizeof report);
  floe_error merr = {0};
  int mrc = floe_maintain_run(table, &o, &report, &merr);
  if (floe_maintain_report_json(&report, floe_table_name(table), &json, err) < 0) {
    rc = FLOE_ENOMEM;
    goto cleanup;
  }
  json.len--; /* reopen the object */
  int jrc = floe_buf_appendf(&json, ",\"reasons\":[%s],\"error\":", (const char *)reasons.data);
  if (mrc < 0) {
    floe_log(FLOE_LOG_ERROR, "maintain_failed", "table=%s error=%s", floe_table_name(table),
             merr.message);
    jrc |= floe_buf_append_byte(&json, '"');
    for (const char *p = merr.message; *p; p++) {
      if (*p == '"' || *p == '\\') jrc |= floe_buf_append_byte(&json, '\\');
      jrc |= floe_buf_append_byte(&json, (unsigned char)*p < 0x20 ? ' ' : (uint8_t)*p);
    }
    jrc |= floe_buf_append_byte(&json, '"');
  } else {
    jrc |= floe_buf_append_str(&json, "null");
    floe_log(FLOE_LOG_INFO, "maintain_done",
             "table=%s commits=%d files_rewritten=%lld files_written=%lld snapshots_expired=%d",
             floe_table_name(table), (int)report.commits, (long long)report.files_rewritten,
             (long long)report.files_written, (int)report.snapshots_expired);
  }
  jrc |= floe_buf_append_byte(&json, '}');
  jrc |= floe_buf_terminate(&json);
  if (jrc != 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  *out_json = (char *)json.data;
  json.data = NULL;
cleanup:
  floe_manifest_list_free(list);
  floe_buf_free(&reasons);
  floe_buf_free(&json);
  return rc;
}
