/*
 * iceberg/table.c: Iceberg tables through a catalog: create (v2 metadata
 * with floe's defaults), load, refresh, accessors, and the commits that
 * change only metadata (properties, schema, partition spec, name mapping).
 *
 * Every commit here follows one shape (Iceberg spec: Optimistic
 * Concurrency): copy the current metadata, apply the change, write it as
 * the next metadata file and let the catalog swap the pointer from the
 * file the change was based on. On FLOE_ECONFLICT the table is reloaded
 * and the change re-applied to the new state, with exponential backoff and
 * jitter between attempts, bounded by the commit.retry.* properties.
 * Snapshot-producing operations live in snapshot_ops.c and use the same
 * commit step (table_commit_metadata).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe/log.h"
#include "floe/scan.h"
#include "iceberg/table_internal.h"

int64_t table_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t prop_i64(const floe_iceberg_metadata *md, const char *key,
                        int64_t dflt) {
  const char *v = floe_iceberg_metadata_property(md, key);
  if (v == NULL || v[0] == '\0') return dflt;
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < 0) return dflt;
  return (int64_t)n;
}

void table_retry_policy_read(const floe_iceberg_metadata *md,
                             table_retry_policy *out) {
  out->num_retries = (int)prop_i64(md, "commit.retry.num-retries", 4);
  if (out->num_retries > 1000) out->num_retries = 1000;
  out->min_wait_ms = prop_i64(md, "commit.retry.min-wait-ms", 100);
  out->max_wait_ms = prop_i64(md, "commit.retry.max-wait-ms", 60000);
  if (out->max_wait_ms < out->min_wait_ms) out->max_wait_ms = out->min_wait_ms;
  out->total_timeout_ms =
      prop_i64(md, "commit.retry.total-timeout-ms", 30 * 60 * 1000);
}

/* A per-process random stream for jitter, seeded from the pid and clock so
 * that two forked writers do not back off in lockstep. */
static unsigned jitter_rand(void) {
  static unsigned state;
  static pid_t seeded_for;
  pid_t pid = getpid();
  if (state == 0 || seeded_for != pid) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    state = (unsigned)ts.tv_nsec ^ ((unsigned)pid << 16) ^ 0x9e3779b9u;
    seeded_for = pid;
  }
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

void table_backoff(const table_retry_policy *policy, int attempt) {
  double wait = (double)policy->min_wait_ms;
  for (int i = 2; i < attempt && wait < (double)policy->max_wait_ms; i++)
    wait *= 2;
  if (wait > (double)policy->max_wait_ms) wait = (double)policy->max_wait_ms;
  /* +-10% jitter (Iceberg Java Tasks: scaleFactor). */
  double jitter = ((double)(jitter_rand() % 2001) / 1000.0 - 1.0) * 0.1;
  wait *= 1.0 + jitter;
  if (wait < 0) wait = 0;
  int64_t us = (int64_t)(wait * 1000.0);
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- construction ----------------------------------------------------- */

static int table_alloc(floe_table **out, floe_catalog *catalog, floe_io *io,
                       floe_catalog_ident ident, floe_error *err) {
  floe_table *t = floe_calloc(1, sizeof *t);
  if (t == NULL) return floe_error_set(err, FLOE_ENOMEM, "table: out of memory");
  t->catalog = catalog;
  t->io = io;
  if (ident.name != NULL) {
    t->ns = floe_strdup(ident.ns ? ident.ns : "");
    t->tname = floe_strdup(ident.name);
    size_t n = strlen(t->ns ? t->ns : "") + strlen(ident.name) + 2;
    t->display_name = floe_malloc(n);
    if (t->ns == NULL || t->tname == NULL || t->display_name == NULL) {
      floe_table_free(t);
      return floe_error_set(err, FLOE_ENOMEM, "table: out of memory");
    }
    if (t->ns[0] != '\0')
      snprintf(t->display_name, n, "%s.%s", t->ns, ident.name);
    else
      snprintf(t->display_name, n, "%s", ident.name);
  }
  *out = t;
  return FLOE_OK;
}

void floe_table_free(floe_table *table) {
  if (table == NULL) return;
  floe_io_free(table->own_io);
  floe_io_free(table->retired_io);
  floe_catalog_table_reset(&table->vended_state);
  floe_iceberg_metadata_free(table->metadata);
  floe_free(table->metadata_location);
  floe_free(table->ns);
  floe_free(table->tname);
  floe_free(table->display_name);
  floe_free(table);
}

static floe_catalog_ident table_ident(const floe_table *t) {
  floe_catalog_ident id = {t->ns, t->tname};
  return id;
}

/* ---- vended storage credentials ---------------------------------------- */

static const char *state_config(const floe_catalog_table *state,
                                const char *key) {
  for (size_t i = 0; i < state->config_count; i++)
    if (strcmp(state->config_keys[i], key) == 0) return state->config_values[i];
  return NULL;
}

/* The S3 credentials of a load result's config (Iceberg's S3FileIO
 * property names, as Polaris, Glue and S3 Tables vend them); 0 when it
 * carries none. */
static int vended_credentials(const floe_catalog_table *state,
                              floe_io_s3_credentials *out) {
  memset(out, 0, sizeof *out);
  out->access_key_id = state_config(state, "s3.access-key-id");
  out->secret_access_key = state_config(state, "s3.secret-access-key");
  out->session_token = state_config(state, "s3.session-token");
  const char *expires = state_config(state, "s3.session-token-expires-at-ms");
  if (expires != NULL) out->expires_ms = strtoll(expires, NULL, 10);
  return out->access_key_id != NULL && out->access_key_id[0] != '\0' &&
         out->secret_access_key != NULL && out->secret_access_key[0] != '\0';
}

/* The io's refresh callback: the catalog's current load result for the
 * table, whose config carries fresh credentials. */
static int table_refresh_credentials(void *ctx, floe_io_s3_credentials *out,
                                     floe_error *err) {
  floe_table *t = ctx;
  floe_catalog_table state = {0};
  int rc = floe_catalog_table_load(t->catalog, table_ident(t), &state, err);
  if (rc == FLOE_OK && !vended_credentials(&state, out))
    rc = floe_error_set(err, FLOE_EINVAL, "table %s: the catalog vended no "
                        "S3 credentials on reload", t->display_name);
  if (rc < 0) {
    floe_catalog_table_reset(&state);
    return rc;
  }
  floe_catalog_table_reset(&t->vended_state);
  t->vended_state = state;
  return vended_credentials(&t->vended_state, out) ? FLOE_OK : FLOE_EINVAL;
}

/* Adopts the storage credentials the catalog vended with `state` (taking
 * its config on success): the table's files are then read and written by
 * an S3 io that signs with them; without any, the catalog's io (the
 * configured credentials) stays. */
static int table_adopt_vended(floe_table *t, floe_catalog_table *state,
                              const char *table_location, floe_error *err) {
  floe_io_s3_credentials creds;
  if (table_location == NULL || !floe_io_is_s3(table_location)) return FLOE_OK;
  int rc;
  if (!vended_credentials(state, &creds)) {
    /* Nothing vended. A table on S3 behind a catalog whose io is local
     * (no s3:// warehouse configured, so no target.storage either) is
     * reached with the S3 defaults: the AWS_* environment and the chain. */
    if (t->own_io != NULL || strcmp(t->io->ops->name, "s3") == 0) return FLOE_OK;
    rc = floe_io_s3_open(NULL, &t->own_io, err);
    if (rc < 0) {
      floe_error_prefix(err, "table %s: storage", t->display_name);
      return rc;
    }
    t->io = t->own_io;
    return FLOE_OK;
  }
  if (t->own_io == NULL || !t->own_io_vended) {
    const char *path_style = state_config(state, "s3.path-style-access");
    floe_io *io = NULL;
    rc = floe_io_s3_open_vended(
        t->io, state_config(state, "s3.endpoint"),
        state_config(state, "client.region"),
        path_style == NULL ? -1 : strcmp(path_style, "true") == 0 ? 1 : 0,
        &creds, table_refresh_credentials, t, &io, err);
    if (rc == FLOE_OK) {
      /* A chain io opened before (nothing was vended then) stays alive:
       * callers may hold it; it is freed with the table. */
      if (t->own_io != NULL) t->retired_io = t->own_io;
      t->own_io = io;
      t->own_io_vended = 1;
      t->io = io;
    }
  } else {
    rc = floe_io_s3_set_credentials(t->own_io, &creds, err);
  }
  if (rc < 0) {
    floe_error_prefix(err, "table %s: vended credentials", t->display_name);
    return rc;
  }
  floe_log(FLOE_LOG_DEBUG, "table_credentials", "table=%s source=vended "
           "session=%d", t->display_name, creds.session_token != NULL);
  /* Keep the strings: the config moves into the table. */
  floe_catalog_table_reset(&t->vended_state);
  t->vended_state.config_keys = state->config_keys;
  t->vended_state.config_values = state->config_values;
  t->vended_state.config_count = state->config_count;
  state->config_keys = NULL;
  state->config_values = NULL;
  state->config_count = 0;
  return FLOE_OK;
}

/* Loads the catalog's current state into t (replacing what it held). */
static int table_reload(floe_table *t, floe_error *err) {
  floe_catalog_table state = {0};
  floe_iceberg_metadata *md = NULL;
  char *location = NULL;
  int rc = floe_catalog_table_load(t->catalog, table_ident(t), &state, err);
  if (rc < 0) goto cleanup;
  rc = floe_iceberg_metadata_parse(&md, state.metadata_json,
                                   state.metadata_json_len, err);
  if (rc < 0) {
    floe_error_prefix(err, "metadata %s", state.metadata_location);
    goto cleanup;
  }
  location = floe_strdup(state.metadata_location);
  if (location == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  rc = table_adopt_vended(t, &state, md->location, err);
  if (rc < 0) goto cleanup;
  floe_iceberg_metadata_free(t->metadata);
  floe_free(t->metadata_location);
  t->metadata = md;
  t->metadata_location = location;
  md = NULL;
  location = NULL;
cleanup:
  floe_iceberg_metadata_free(md);
  floe_free(location);
  floe_catalog_table_reset(&state);
  return rc;
}

int floe_table_load(floe_catalog *catalog, floe_catalog_ident ident,
                    floe_table **out, floe_error *err) {
  floe_table *t = NULL;
  *out = NULL;
  int rc = table_alloc(&t, catalog, floe_catalog_io(catalog), ident, err);
  if (rc < 0) return rc;
  rc = table_reload(t, err);
  if (rc < 0) {
    floe_error_prefix(err, "table %s: load", t->display_name);
    floe_table_free(t);
    return rc;
  }
  floe_log(FLOE_LOG_DEBUG, "table_load", "table=%s metadata=%s",
           t->display_name, t->metadata_location);
  *out = t;
  return FLOE_OK;
}

int floe_table_load_metadata_file(floe_io *io, const char *metadata_location,
                                  floe_table **out, floe_error *err) {
  floe_table *t = NULL;
  char *json = NULL;
  size_t len = 0;
  floe_catalog_ident none = {NULL, NULL};
  *out = NULL;
  int rc = table_alloc(&t, NULL, io, none, err);
  if (rc < 0) return rc;
  t->display_name = floe_strdup(metadata_location);
  t->metadata_location = floe_strdup(metadata_location);
  if (t->display_name == NULL || t->metadata_location == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_io_read_all(io, metadata_location, 64u << 20, &json, &len, err));
  FLOE_TRY(floe_iceberg_metadata_parse(&t->metadata, json, len, err));
  *out = t;
  t = NULL;
cleanup:
  if (rc < 0) floe_error_prefix(err, "table %s", metadata_location);
  floe_free(json);
  floe_table_free(t);
  return rc;
}

int floe_table_refresh(floe_table *table, floe_error *err) {
  if (table->catalog == NULL) return FLOE_OK;
  int rc = table_reload(table, err);
  if (rc < 0) floe_error_prefix(err, "table %s: refresh", table->display_name);
  return rc;
}

int floe_table_create(floe_catalog *catalog, floe_catalog_ident ident,
                      const floe_iceberg_schema *schema,
                      const floe_iceberg_partition_spec *spec,
                      const floe_iceberg_sort_order *sort_order,
                      const floe_iceberg_property *properties,
                      int32_t n_properties, const char *location,
                      floe_table **out, floe_error *err) {
  int rc = FLOE_OK;
  char *default_location = NULL;
  floe_iceberg_property *props = NULL;
  floe_iceberg_metadata *md = NULL;
  char *json = NULL;
  size_t json_len = 0;
  floe_catalog_table created = {0};
  floe_table *t = NULL;
  int32_t format_version = 2;
  if (out != NULL) *out = NULL;

  props = floe_calloc((size_t)n_properties + 1, sizeof *props);
  if (props == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  int32_t n = 0;
  bool has_codec = false;
  for (int32_t i = 0; i < n_properties; i++) {
    if (strcmp(properties[i].key, "format-version") == 0) {
      /* A create-time option, never stored (Java: TableMetadata). */
      char *end = NULL;
      long v = strtol(properties[i].value, &end, 10);
      if (end == properties[i].value || *end != '\0' || v < 2 ||
          v > FLOE_ICEBERG_MAX_FORMAT_VERSION) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "property format-version '%s': floe creates "
                            "format 2 or 3 tables",
                            properties[i].value);
        goto cleanup;
      }
      format_version = (int32_t)v;
      continue;
    }
    if (strcmp(properties[i].key, "write.parquet.compression-codec") == 0)
      has_codec = true;
    props[n++] = properties[i];
  }
  if (!has_codec) {
    props[n].key = "write.parquet.compression-codec";
    props[n].value = "zstd";
    n++;
  }
  if (location == NULL) {
    FLOE_TRY(floe_catalog_default_location(catalog, ident, &default_location, err));
  }
  FLOE_TRY(floe_iceberg_metadata_new(&md, format_version,
                                     location ? location : default_location,
                                     schema, spec, sort_order, props, n, err));
  md->last_updated_ms = table_now_ms();
  FLOE_TRY(floe_iceberg_metadata_to_json(md, &json, &json_len, err));
  FLOE_TRY(floe_catalog_table_create(catalog, ident, location, json, json_len,
                                     &created, err));
  floe_log(FLOE_LOG_INFO, "table_create", "table=%s.%s location=%s metadata=%s",
           ident.ns, ident.name, md->location, created.metadata_location);
  if (out != NULL) {
    FLOE_TRY(table_alloc(&t, catalog, floe_catalog_io(catalog), ident, err));
    t->metadata_location = floe_strdup(created.metadata_location);
    if (t->metadata_location == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if (floe_catalog_server_writes_metadata(catalog)) {
      /* The server assigned ids and the location: work on its metadata. */
      floe_iceberg_metadata_free(md);
      md = NULL;
      FLOE_TRY(floe_iceberg_metadata_parse(&md, created.metadata_json,
                                           created.metadata_json_len, err));
    }
    FLOE_TRY(table_adopt_vended(t, &created, md->location, err));
    t->metadata = md;
    md = NULL;
    *out = t;
    t = NULL;
  }
cleanup:
  if (rc < 0) floe_error_prefix(err, "table %s.%s: create", ident.ns, ident.name);
  floe_free(default_location);
  floe_free(props);
  floe_iceberg_metadata_free(md);
  floe_free(json);
  floe_catalog_table_reset(&created);
  floe_table_free(t);
  return rc;
}

/* ---- accessors -------------------------------------------------------- */

const floe_iceberg_metadata *floe_table_metadata(const floe_table *table) {
  return table->metadata;
}
const char *floe_table_metadata_location(const floe_table *table) {
  return table->metadata_location;
}
const char *floe_table_location(const floe_table *table) {
  return table->metadata->location;
}
const floe_iceberg_schema *floe_table_schema(const floe_table *table) {
  return floe_iceberg_metadata_current_schema(table->metadata);
}
const floe_iceberg_partition_spec *floe_table_spec(const floe_table *table) {
  return floe_iceberg_metadata_default_spec(table->metadata);
}
const floe_iceberg_snapshot *floe_table_current_snapshot(
    const floe_table *table) {
  return floe_iceberg_metadata_current_snapshot(table->metadata);
}
const char *floe_table_property(const floe_table *table, const char *key) {
  return floe_iceberg_metadata_property(table->metadata, key);
}
floe_io *floe_table_io(const floe_table *table) { return table->io; }
const char *floe_table_name(const floe_table *table) {
  return table->display_name;
}

int floe_table_snapshot_as_of(const floe_table *table, int64_t timestamp_ms,
                              const floe_iceberg_snapshot **out,
                              floe_error *err) {
  int rc = floe_iceberg_metadata_snapshot_as_of(table->metadata, timestamp_ms,
                                                out, err);
  if (rc < 0) floe_error_prefix(err, "table %s", table->display_name);
  return rc;
}

/* ---- the commit step -------------------------------------------------- */

/* Drops the oldest metadata-log entries beyond `max` (Java:
 * write.metadata.previous-versions-max). The entries live in the metadata's
 * arena; only the array view shrinks. */
static void trim_metadata_log(floe_iceberg_metadata *md, int64_t max) {
  if (max < 1) max = 1;
  if (md->n_metadata_log > max) {
    int32_t drop = md->n_metadata_log - (int32_t)max;
    md->metadata_log += drop;
    md->n_metadata_log -= drop;
  }
}

int table_commit_metadata(floe_table *t, floe_iceberg_metadata *md,
                          floe_error *err) {
  int rc = FLOE_OK;
  char *json = NULL;
  size_t json_len = 0;
  char *new_location = NULL;
  floe_catalog_table committed = {0};
  if (t->catalog == NULL) {
    rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                        "read-only table (opened from a metadata file)");
    goto cleanup;
  }
  FLOE_TRY(floe_iceberg_metadata_add_metadata_log(
      md, t->metadata_location, t->metadata->last_updated_ms, err));
  trim_metadata_log(md, prop_i64(md, "write.metadata.previous-versions-max", 100));
  FLOE_TRY(floe_iceberg_metadata_to_json(md, &json, &json_len, err));
  if (!floe_catalog_server_writes_metadata(t->catalog)) {
    /* Nothing may fail between the swap and taking the new state: a
     * reported failure must mean the commit did not happen. */
    rc = floe_catalog_commit(t->catalog, table_ident(t), t->metadata_location,
                             json, json_len, &new_location, err);
    if (rc < 0) goto cleanup;
  } else {
    rc = floe_catalog_commit_table(t->catalog, table_ident(t), t->metadata_location,
                                   json, json_len, &committed, err);
    if (rc < 0) goto cleanup;
    new_location = committed.metadata_location;
    committed.metadata_location = NULL;
    /* The metadata the server wrote (its logs and timestamps) is the
     * table's state from now on. The commit has landed: if that metadata
     * cannot be taken in, floe's own (the same snapshots and schema) stands
     * in until the next refresh rather than reporting a failure. */
    floe_iceberg_metadata *server_md = NULL;
    floe_error parse_err = {0};
    if (floe_iceberg_metadata_parse(&server_md, committed.metadata_json,
                                    committed.metadata_json_len, &parse_err) == FLOE_OK) {
      floe_iceberg_metadata_free(md);
      md = server_md;
    } else {
      floe_log(FLOE_LOG_WARN, "table_commit_metadata", "table=%s metadata=%s error=%s",
               t->display_name, new_location, parse_err.message);
    }
  }
  floe_iceberg_metadata_free(t->metadata);
  floe_free(t->metadata_location);
  t->metadata = md;
  t->metadata_location = new_location;
  md = NULL;
  new_location = NULL;
cleanup:
  floe_iceberg_metadata_free(md);
  floe_free(json);
  floe_free(new_location);
  floe_catalog_table_reset(&committed);
  return rc;
}

/* ---- metadata-only commits -------------------------------------------- */

typedef int (*metadata_update_fn)(void *ctx, const floe_table *t,
                                  floe_iceberg_metadata *md, floe_error *err);

/* Applies `update` to a copy of the current metadata and commits, reloading
 * and re-applying on conflict. */
static int commit_update(floe_table *t, const char *what,
                         metadata_update_fn update, void *ctx,
                         floe_error *err) {
  int rc = FLOE_OK;
  table_retry_policy policy;
  table_retry_policy_read(t->metadata, &policy);
  int64_t started = table_now_ms();
  for (int attempt = 1;; attempt++) {
    floe_iceberg_metadata *md = NULL;
    rc = floe_iceberg_metadata_copy(&md, t->metadata, err);
    if (rc < 0) break;
    rc = update(ctx, t, md, err);
    if (rc < 0) {
      floe_iceberg_metadata_free(md);
      break;
    }
    int64_t now = table_now_ms();
    md->last_updated_ms =
        now > t->metadata->last_updated_ms ? now : t->metadata->last_updated_ms + 1;
    rc = table_commit_metadata(t, md, err); /* takes md */
    if (rc == FLOE_OK) {
      floe_log(FLOE_LOG_INFO, "table_commit", "table=%s change=%s attempt=%d metadata=%s",
               t->display_name, what, attempt, t->metadata_location);
      break;
    }
    if (rc != FLOE_ECONFLICT) break;
    floe_log(FLOE_LOG_WARN, "table_commit_conflict", "table=%s change=%s attempt=%d",
             t->display_name, what, attempt);
    if (attempt > policy.num_retries ||
        table_now_ms() - started > policy.total_timeout_ms) {
      floe_error_prefix(err, "gave up after %d attempts", attempt);
      break;
    }
    table_backoff(&policy, attempt + 1);
    rc = table_reload(t, err);
    if (rc < 0) break;
  }
  if (rc < 0) floe_error_prefix(err, "table %s: %s", t->display_name, what);
  return rc;
}

typedef struct remove_ctx {
  const int64_t *ids;
  int32_t n;
  const floe_table_expired_ref *refs;
  int32_t n_refs;
} remove_ctx;

static bool id_listed(const remove_ctx *r, int64_t id) {
  for (int32_t i = 0; i < r->n; i++)
    if (r->ids[i] == id) return true;
  return false;
}

/* Drops the listed snapshots with their statistics files and snapshot-log
 * entries. The log keeps only the entries after the last removed one, as
 * Java's TableMetadata does, so it never skips over a hole. Arrays shrink
 * in place (their elements live in the metadata's arena). */
static int apply_remove_snapshots(void *ctx, const floe_table *t,
                                  floe_iceberg_metadata *md, floe_error *err) {
  (void)t;
  const remove_ctx *r = ctx;
  /* Expired refs go first, each only while it still points where it was
   * judged (a ref moved meanwhile is younger now: kept). main never goes. */
  int32_t kept_refs = 0;
  for (int32_t i = 0; i < md->n_refs; i++) {
    bool drop = false;
    for (int32_t k = 0; k < r->n_refs && !drop; k++)
      drop = strcmp(r->refs[k].name, md->refs[i].name) == 0 &&
             r->refs[k].snapshot_id == md->refs[i].snapshot_id &&
             strcmp(md->refs[i].name, "main") != 0;
    if (!drop) md->refs[kept_refs++] = md->refs[i];
  }
  md->n_refs = kept_refs;
  for (int32_t i = 0; i < md->n_refs; i++)
    if (id_listed(r, md->refs[i].snapshot_id))
      return floe_error_set(err, FLOE_ECONFLICT,
                            "snapshot %" PRId64 " is the head of %s %s; not removed",
                            md->refs[i].snapshot_id,
                            md->refs[i].is_tag ? "tag" : "branch", md->refs[i].name);
  int32_t kept = 0;
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (!id_listed(r, md->snapshots[i].snapshot_id)) md->snapshots[kept++] = md->snapshots[i];
  md->n_snapshots = kept;
  int32_t first = 0;
  for (int32_t i = 0; i < md->n_snapshot_log; i++)
    if (id_listed(r, md->snapshot_log[i].snapshot_id)) first = i + 1;
  md->snapshot_log += first;
  md->n_snapshot_log -= first;
  kept = 0;
  for (int32_t i = 0; i < md->n_statistics; i++)
    if (!id_listed(r, md->statistics[i].snapshot_id)) md->statistics[kept++] = md->statistics[i];
  md->n_statistics = kept;
  kept = 0;
  for (int32_t i = 0; i < md->n_partition_statistics; i++)
    if (!id_listed(r, md->partition_statistics[i].snapshot_id))
      md->partition_statistics[kept++] = md->partition_statistics[i];
  md->n_partition_statistics = kept;
  return FLOE_OK;
}

int floe_table_remove_snapshots(floe_table *table, const int64_t *snapshot_ids,
                                int32_t n, floe_error *err) {
  return floe_table_expire_refs_and_snapshots(table, NULL, 0, snapshot_ids, n, err);
}

int floe_table_expire_refs_and_snapshots(floe_table *table, const floe_table_expired_ref *refs,
                                         int32_t n_refs, const int64_t *snapshot_ids,
                                         int32_t n, floe_error *err) {
  if (n <= 0 && n_refs <= 0) return FLOE_OK;
  remove_ctx r = {snapshot_ids, n > 0 ? n : 0, refs, n_refs > 0 ? n_refs : 0};
  return commit_update(table, n_refs > 0 ? "expire refs and snapshots" : "remove snapshots",
                       apply_remove_snapshots, &r, err);
}

typedef struct props_ctx {
  const floe_iceberg_property *updates;
  int32_t n;
} props_ctx;

static int apply_properties(void *ctx, const floe_table *t,
                            floe_iceberg_metadata *md, floe_error *err) {
  (void)t;
  const props_ctx *p = ctx;
  return floe_iceberg_metadata_set_properties(md, p->updates, p->n, err);
}

int floe_table_set_properties(floe_table *table,
                              const floe_iceberg_property *updates,
                              int32_t n, floe_error *err) {
  for (int32_t i = 0; i < n; i++)
    if (strcmp(updates[i].key, "format-version") == 0)
      return floe_error_set(err, FLOE_EINVAL,
                            "table %s: set properties: format-version is not "
                            "a table property",
                            table->display_name);
  props_ctx ctx = {updates, n};
  return commit_update(table, "set properties", apply_properties, &ctx, err);
}

static int apply_schema(void *ctx, const floe_table *t,
                        floe_iceberg_metadata *md, floe_error *err) {
  (void)t;
  return floe_iceberg_metadata_add_schema(md, ctx, true, NULL, err);
}

int floe_table_set_schema(floe_table *table,
                          const floe_iceberg_schema *schema, floe_error *err) {
  return commit_update(table, "set schema", apply_schema, (void *)schema, err);
}

typedef struct column_ctx {
  bool rename;
  const char *parent, *name, *new_name, *doc;
  const floe_iceberg_type *type;
} column_ctx;

/* Evolves the *current* schema of the attempt's metadata, so a retry after
 * a concurrent schema change builds on that change. */
static int apply_column(void *ctx, const floe_table *t,
                        floe_iceberg_metadata *md, floe_error *err) {
  (void)t;
  const column_ctx *c = ctx;
  floe_iceberg_schema *next = NULL;
  const floe_iceberg_schema *base = floe_iceberg_metadata_current_schema(md);
  int32_t last_column_id = md->last_column_id;
  int rc;
  if (c->rename)
    rc = floe_iceberg_schema_rename_column(&next, base, c->name, c->new_name, err);
  else
    rc = floe_iceberg_schema_add_column(&next, base, c->parent, c->name, c->type,
                                        c->doc, &last_column_id, err);
  if (rc == FLOE_OK) rc = floe_iceberg_metadata_add_schema(md, next, true, NULL, err);
  floe_iceberg_schema_free(next);
  return rc;
}

int floe_table_add_column(floe_table *table, const char *parent,
                          const char *name, const floe_iceberg_type *type,
                          const char *doc, floe_error *err) {
  column_ctx ctx = {false, parent, name, NULL, doc, type};
  return commit_update(table, "add column", apply_column, &ctx, err);
}

int floe_table_rename_column(floe_table *table, const char *name,
                             const char *new_name, floe_error *err) {
  column_ctx ctx = {true, NULL, name, new_name, NULL, NULL};
  return commit_update(table, "rename column", apply_column, &ctx, err);
}

static int apply_spec(void *ctx, const floe_table *t,
                      floe_iceberg_metadata *md, floe_error *err) {
  (void)t;
  int rc = floe_iceberg_partition_spec_check(
      ctx, floe_iceberg_metadata_current_schema(md), err);
  if (rc < 0) return rc;
  return floe_iceberg_metadata_add_spec(md, ctx, true, NULL, err);
}

int floe_table_set_spec(floe_table *table,
                        const floe_iceberg_partition_spec *spec,
                        floe_error *err) {
  return commit_update(table, "set partition spec", apply_spec, (void *)spec, err);
}

static int apply_evolve_spec(void *ctx, const floe_table *t, floe_iceberg_metadata *md,
                             floe_error *err) {
  (void)t;
  return floe_iceberg_metadata_evolve_spec(md, ctx, NULL, err);
}

int floe_table_evolve_spec(floe_table *table, const floe_iceberg_partition_spec *spec,
                           floe_error *err) {
  return commit_update(table, "evolve partition spec", apply_evolve_spec, (void *)spec, err);
}

static int apply_sort_order(void *ctx, const floe_table *t, floe_iceberg_metadata *md,
                            floe_error *err) {
  (void)t;
  return floe_iceberg_metadata_add_sort_order(md, ctx, true, NULL, err);
}

int floe_table_set_sort_order(floe_table *table, const floe_iceberg_sort_order *order,
                              floe_error *err) {
  return commit_update(table, "set sort order", apply_sort_order, (void *)order, err);
}

static int apply_name_mapping(void *ctx, const floe_table *t,
                              floe_iceberg_metadata *md, floe_error *err) {
  (void)ctx;
  (void)t;
  char *json = NULL;
  int rc = floe_iceberg_name_mapping_from_schema(
      floe_iceberg_metadata_current_schema(md), &json, err);
  if (rc < 0) return rc;
  floe_iceberg_property p = {"schema.name-mapping.default", json};
  rc = floe_iceberg_metadata_set_properties(md, &p, 1, err);
  floe_free(json);
  return rc;
}

int floe_table_set_default_name_mapping(floe_table *table, floe_error *err) {
  return commit_update(table, "set name mapping", apply_name_mapping, NULL, err);
}

/* A numeric summary value, -1 when absent. */
static int64_t snapshot_summary_i64(const floe_iceberg_snapshot *snap, const char *key) {
  const char *value = floe_iceberg_snapshot_summary(snap, key);
  return value != NULL ? strtoll(value, NULL, 10) : -1;
}

int floe_table_live_rows(const floe_table *table, const floe_iceberg_snapshot *snapshot,
                         int64_t *out, floe_error *err) {
  *out = 0;
  if (snapshot == NULL) snapshot = floe_table_current_snapshot(table);
  if (snapshot == NULL) return FLOE_OK;
  int64_t total = snapshot_summary_i64(snapshot, "total-records");
  int64_t pos = snapshot_summary_i64(snapshot, "total-position-deletes");
  int64_t eq = snapshot_summary_i64(snapshot, "total-equality-deletes");
  if (eq <= 0 && total >= 0) {
    *out = total - (pos > 0 ? pos : 0);
    return FLOE_OK;
  }
  floe_scan *scan = NULL;
  struct ArrowArray batch = {0};
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.has_snapshot_id = true;
  so.snapshot_id = snapshot->snapshot_id;
  int32_t id = floe_table_schema(table)->root.fields[0].id;
  so.field_ids = &id;
  so.n_field_ids = 1;
  so.use_current_schema = true;
  int rc = floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), &so, err);
  while (rc == FLOE_OK) {
    rc = floe_scan_next(scan, &batch, err);
    if (rc < 0 || batch.release == NULL) break;
    *out += batch.length;
    floe_arrow_array_release(&batch);
  }
  floe_scan_free(scan);
  return rc;
}
