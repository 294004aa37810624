/*
 * replicate/watermark: floe's committed watermark of one source table, kept
 * as a table property of the Iceberg table (floe.watermark.<table>) and
 * written in the same metadata file as every floe data commit.
 *
 * Snapshot summaries say which batch range each commit loaded, but they
 * disappear when snapshots expire, and a maintenance or foreign commit on
 * top of floe's last one hides it once its parent is expired. Table
 * properties are carried into every new metadata file by every writer
 * (Iceberg spec: Table Metadata, "properties"), so the property is the
 * watermark that survives: reconciliation falls back on it when the
 * summaries it needs are gone, and every floe commit is conditional on it
 * (floe_watermark_check, called inside the commit's compare-and-swap loop
 * on the metadata the attempt builds on), so a range is never committed
 * twice even when two runs of one table overlap.
 *
 * The value is a JSON object (docs/replicate.md, "The committed watermark"):
 *   {"batch-sk-low": 41, "batch-sk-high": 44, "run-id": "...",
 *    "watermark-low": "...", "watermark-high": "...", "source-rows": 1200,
 *    "part": "2/3"}
 * the last four only when they apply (cursor tables; append and
 * overwrite-range loads of a batch column; partition loads).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replicate/engine_internal.h"

void floe_watermark_free(floe_watermark *w) {
  if (w == NULL) return;
  floe_free(w->run_id);
  floe_free(w->watermark_low);
  floe_free(w->watermark_high);
  memset(w, 0, sizeof *w);
  w->source_rows = -1;
}

char *floe_watermark_key(const char *table_name) {
  return floe_replicate_strdupf("%s%s", FLOE_WATERMARK_PREFIX, table_name);
}

int floe_watermark_format(const floe_watermark *w, char **out, floe_error *err) {
  *out = NULL;
  int rc = FLOE_OK;
  json_t *obj = json_object();
  char *text = NULL;
  char part[48];
  if (obj == NULL) goto nomem;
  if (json_object_set_new(obj, "batch-sk-low", json_integer(w->batch_low)) < 0 ||
      json_object_set_new(obj, "batch-sk-high", json_integer(w->batch_high)) < 0 ||
      (w->run_id != NULL &&
       json_object_set_new(obj, "run-id", json_string(w->run_id)) < 0) ||
      (w->watermark_low != NULL &&
       json_object_set_new(obj, "watermark-low", json_string(w->watermark_low)) < 0) ||
      (w->watermark_high != NULL &&
       json_object_set_new(obj, "watermark-high", json_string(w->watermark_high)) < 0))
    goto nomem;
  if (w->source_rows >= 0 &&
      json_object_set_new(obj, "source-rows", json_integer(w->source_rows)) < 0)
    goto nomem;
  if (w->part_n > 0) {
    snprintf(part, sizeof part, "%d/%d", w->part_i, w->part_n);
    if (json_object_set_new(obj, "part", json_string(part)) < 0) goto nomem;
  }
  text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (text == NULL) goto nomem;
  *out = floe_strdup(text);
  if (*out == NULL) goto nomem;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  free(text);
  json_decref(obj);
  return rc;
}

static int dup_member(json_t *obj, const char *key, char **out) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) return FLOE_OK;
  if (!json_is_string(v)) return FLOE_EINVAL;
  *out = floe_strdup(json_string_value(v));
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

int floe_watermark_parse(const char *text, floe_watermark *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *obj = json_loads(text, 0, &jerr);
  int rc = FLOE_OK;
  if (obj == NULL || !json_is_object(obj)) {
    rc = FLOE_EINVAL;
    goto bad;
  }
  json_t *low = json_object_get(obj, "batch-sk-low");
  json_t *high = json_object_get(obj, "batch-sk-high");
  if (!json_is_integer(low) || !json_is_integer(high)) {
    rc = FLOE_EINVAL;
    goto bad;
  }
  out->batch_low = (int64_t)json_integer_value(low);
  out->batch_high = (int64_t)json_integer_value(high);
  json_t *rows = json_object_get(obj, "source-rows");
  out->source_rows = json_is_integer(rows) ? (int64_t)json_integer_value(rows) : -1;
  if ((rc = dup_member(obj, "run-id", &out->run_id)) < 0 ||
      (rc = dup_member(obj, "watermark-low", &out->watermark_low)) < 0 ||
      (rc = dup_member(obj, "watermark-high", &out->watermark_high)) < 0)
    goto bad;
  json_t *part = json_object_get(obj, "part");
  if (part != NULL) {
    int i = 0, n = 0;
    char tail = 0;
    if (!json_is_string(part) ||
        sscanf(json_string_value(part), "%d/%d%c", &i, &n, &tail) != 2 || i < 1 || n < i) {
      rc = FLOE_EINVAL;
      goto bad;
    }
    out->part_i = i;
    out->part_n = n;
  }
  json_decref(obj);
  return FLOE_OK;
bad:
  json_decref(obj);
  floe_watermark_free(out);
  if (rc == FLOE_ENOMEM) return floe_error_set(err, rc, "out of memory");
  return floe_error_set(err, FLOE_EINVAL,
                        "not a floe watermark (expected {\"batch-sk-low\": N, "
                        "\"batch-sk-high\": N, ...}): %.120s",
                        text);
}

int floe_watermark_read(const floe_iceberg_metadata *md, const char *table_name,
                        floe_watermark *out, bool *found, floe_error *err) {
  memset(out, 0, sizeof *out);
  *found = false;
  if (md == NULL) return FLOE_OK;
  char *key = floe_watermark_key(table_name);
  if (key == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  const char *text = floe_iceberg_metadata_property(md, key);
  int rc = FLOE_OK;
  if (text != NULL) {
    rc = floe_watermark_parse(text, out, err);
    if (rc < 0)
      floe_error_prefix(err, "table property %s", key);
    else
      *found = true;
  }
  floe_free(key);
  return rc;
}

bool floe_watermark_complete(const floe_watermark *w) {
  return w->part_n == 0 || w->part_i >= w->part_n;
}

int floe_watermark_check(const floe_iceberg_metadata *base, const char *table_name,
                         const floe_watermark *unit, floe_error *err) {
  floe_commit_list commits;
  floe_watermark prop;
  bool found = false;
  int rc = floe_commits_collect(base, table_name, &commits, err);
  if (rc < 0) return rc;
  rc = floe_watermark_read(base, table_name, &prop, &found, err);
  if (rc < 0) goto cleanup;
  const floe_commit_info *latest = floe_commits_latest(&commits);
  if (unit->part_n > 0 && unit->part_i > 1) {
    /* A later part of a partition load follows this run's previous part. */
    if (found && !floe_watermark_complete(&prop) && prop.part_i == unit->part_i - 1 &&
        prop.batch_high == unit->batch_high && prop.run_id != NULL && unit->run_id != NULL &&
        strcmp(prop.run_id, unit->run_id) == 0)
      goto cleanup;
  } else {
    /* Nothing known (no property, no floe commit, history cut by expiry):
     * reconciliation has already refused every case it cannot prove. */
    if (latest == NULL && !found && !commits.complete_history) goto cleanup;
    int64_t committed = latest != NULL ? latest->batch_high : 0;
    if (committed == unit->batch_low) goto cleanup;
  }
  char have[256];
  if (found)
    snprintf(have, sizeof have, "batch_sk (%" PRId64 ", %" PRId64 "] by run %s",
             prop.batch_low, prop.batch_high, prop.run_id ? prop.run_id : "?");
  else if (latest != NULL)
    snprintf(have, sizeof have, "batch_sk (%" PRId64 ", %" PRId64 "] by run %s",
             latest->batch_low, latest->batch_high, latest->run_id ? latest->run_id : "?");
  else
    snprintf(have, sizeof have, "nothing (no floe commit)");
  if (found && prop.part_n > 0) {
    size_t len = strlen(have);
    snprintf(have + len, sizeof have - len, " (part %d/%d)", prop.part_i, prop.part_n);
  }
  rc = floe_error_set(err, FLOE_ECONFLICT,
                      "the table's committed watermark for %s is %s, but this commit loads "
                      "batch_sk (%" PRId64 ", %" PRId64 "]%s: another run or writer committed "
                      "this table since the range was planned, so nothing was committed",
                      table_name, have, unit->batch_low, unit->batch_high,
                      unit->part_n > 0 ? " (a part of a partition load)" : "");
cleanup:
  floe_watermark_free(&prop);
  floe_commit_list_free(&commits);
  return rc;
}
