/*
 * iceberg/maintain: orphan files of a table and snapshot expiry
 * (include/floe/maintain.h); the rewriting operations (compaction,
 * equality-delete conversion, manifest rewrite) are in maintain_rewrite.c.
 *
 * Expiry decides what to keep from the metadata alone (refs, ancestry,
 * ages, floe's own load commits), removes the rest in one metadata
 * commit, and only then deletes files: what the expired snapshots reached
 * minus what every snapshot of the table as reloaded after the commit
 * reaches. Deleting after the commit is what makes a crash harmless (the
 * files left behind are orphans, never a reachable file gone), and
 * subtracting the reloaded table's files is what keeps a concurrent
 * commit's files alive.
 *
 * Orphans:
 * Two passes. The first builds the reachable set from the current
 * metadata alone: metadata files, then every snapshot's manifest list,
 * each distinct manifest once, and every entry's file path (any status).
 * The second walks the table location through the table's floe_io and
 * keeps what is neither reachable nor too new. Paths on both sides are
 * normalised (file: URIs resolved, repeated slashes and "/./" collapsed)
 * before they meet in one open-addressing hash set, so a table written by
 * Java with "file:/w/t" paths is matched against a plain directory
 * listing.
 *
 * The order protects live data: nothing is deleted unless the whole
 * reachable set was read, and deletion re-reads the table pointer first
 * so a commit that landed during the listing (whose new files might have
 * looked like orphans but are also newer than the threshold) cancels the
 * deletion. The age threshold is the guard for a writer that is still
 * running: its files exist before any metadata references them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/debug.h"
#include "floe/io.h"
#include "floe/log.h"
#include "floe/maintain.h"
#include "floe/manifest.h"

/* ---- a set of normalised paths ------------------------------------------ */

typedef struct path_set {
  char **slots;
  size_t cap; /* power of two */
  size_t count;
} path_set;

static uint64_t hash_str(const char *s) {
  uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
  for (; *s; s++) {
    h ^= (uint8_t)*s;
    h *= UINT64_C(1099511628211);
  }
  return h;
}

static void path_set_free(path_set *set) {
  for (size_t i = 0; i < set->cap; i++) floe_free(set->slots[i]);
  floe_free(set->slots);
  memset(set, 0, sizeof *set);
}

static bool path_set_contains(const path_set *set, const char *path) {
  if (set->cap == 0) return false;
  for (size_t i = hash_str(path) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
    if (set->slots[i] == NULL) return false;
    if (strcmp(set->slots[i], path) == 0) return true;
  }
}

static int path_set_grow(path_set *set, floe_error *err) {
  size_t cap = set->cap ? set->cap * 2 : 256;
  char **slots = floe_calloc(cap, sizeof *slots);
  if (slots == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "reachable files: out of memory");
  for (size_t i = 0; i < set->cap; i++) {
    if (set->slots[i] == NULL) continue;
    size_t j = hash_str(set->slots[i]) & (cap - 1);
    while (slots[j] != NULL) j = (j + 1) & (cap - 1);
    slots[j] = set->slots[i];
  }
  floe_free(set->slots);
  set->slots = slots;
  set->cap = cap;
  return FLOE_OK;
}

/* Adds `path` (takes ownership). *out_added (may be NULL) tells whether it
 * was new. */
static int path_set_add_owned(path_set *set, char *path, bool *out_added,
                              floe_error *err) {
  if (out_added != NULL) *out_added = false;
  if (path_set_contains(set, path)) {
    floe_free(path);
    return FLOE_OK;
  }
  if ((set->count + 1) * 2 > set->cap) {
    int rc = path_set_grow(set, err);
    if (rc < 0) {
      floe_free(path);
      return rc;
    }
  }
  size_t i = hash_str(path) & (set->cap - 1);
  while (set->slots[i] != NULL) i = (i + 1) & (set->cap - 1);
  set->slots[i] = path;
  set->count++;
  if (out_added != NULL) *out_added = true;
  return FLOE_OK;
}

/* ---- paths ---------------------------------------------------------------- */

/* A comparable form of a location: file: URIs resolved to paths, "//" and
 * "/./" collapsed, no trailing slash. Other schemes keep their "s3://"
 * prefix and are collapsed after it. Caller frees. */
static int normalise(const char *location, char **out, floe_error *err) {
  const char *local = floe_io_local_path(location);
  const char *src = local != NULL ? local : location;
  size_t keep = 0; /* a scheme's "xx://" is copied as it is */
  if (local == NULL) {
    const char *sep = strstr(src, "://");
    if (sep != NULL) keep = (size_t)(sep - src) + 3;
  }
  size_t len = strlen(src);
  char *norm = floe_malloc(len + 1);
  if (norm == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "path %s: out of memory", location);
  memcpy(norm, src, keep);
  size_t o = keep;
  for (size_t i = keep; i < len; i++) {
    char ch = src[i];
    if (ch == '/' && o > keep && norm[o - 1] == '/') continue;
    if (ch == '.' && o > keep && norm[o - 1] == '/' &&
        (src[i + 1] == '/' || src[i + 1] == '\0'))
      continue;
    norm[o++] = ch;
  }
  while (o > keep + 1 && norm[o - 1] == '/') o--;
  norm[o] = '\0';
  *out = norm;
  return FLOE_OK;
}

static int add_location(path_set *set, const char *location, bool *out_added,
                        floe_error *err) {
  char *norm = NULL;
  int rc = normalise(location, &norm, err);
  if (rc < 0) return rc;
  return path_set_add_owned(set, norm, out_added, err);
}

static char *join(const char *dir, const char *name) {
  size_t dlen = strlen(dir), nlen = strlen(name);
  bool slash = dlen > 0 && dir[dlen - 1] != '/';
  char *path = floe_malloc(dlen + (slash ? 1 : 0) + nlen + 1);
  if (path == NULL) return NULL;
  memcpy(path, dir, dlen);
  if (slash) path[dlen] = '/';
  memcpy(path + dlen + (slash ? 1 : 0), name, nlen + 1);
  return path;
}

/* ---- the reachable set ---------------------------------------------------- */

/* live_only: skip DELETED entries (expiry: a file a kept snapshot only
 * records as deleted is live in no kept snapshot); orphans keep them. */
static int add_manifest(floe_io *io, const floe_iceberg_metadata *metadata,
                        const char *path, const floe_manifest_file *list_entry,
                        path_set *files, path_set *manifests, bool live_only,
                        floe_error *err) {
  bool added = false;
  int rc = add_location(manifests, path, &added, err);
  if (rc < 0 || !added) return rc; /* read each manifest once */
  FLOE_TRY(add_location(files, path, NULL, err));
  floe_manifest_reader *reader = NULL;
  rc = floe_manifest_reader_open(&reader, io, path, list_entry, metadata, err);
  if (rc < 0) {
    floe_error_prefix(err, "manifest %s", path);
    return rc;
  }
  for (;;) {
    const floe_manifest_entry *entry = NULL;
    rc = floe_manifest_reader_next(reader, &entry, err);
    if (rc < 0 || entry == NULL) break;
    if (entry->file.file_path != NULL && !(live_only && entry->status == FLOE_ENTRY_DELETED))
      rc = add_location(files, entry->file.file_path, NULL, err);
    if (rc < 0) break;
  }
  floe_manifest_reader_free(reader);
cleanup:
  return rc;
}

/* Every reachable file of the metadata into `files`. */
static int collect_reachable(const floe_table *table, path_set *files, bool live_only,
                             floe_error *err) {
  int rc = FLOE_OK;
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  floe_io *io = floe_table_io(table);
  path_set manifests = {0};
  floe_manifest_list *list = NULL;
  char *hint_dir = NULL, *hint = NULL;
  FLOE_TRY(add_location(files, floe_table_metadata_location(table), NULL, err));
  for (int32_t i = 0; i < md->n_metadata_log; i++)
    FLOE_TRY(add_location(files, md->metadata_log[i].metadata_file, NULL, err));
  hint_dir = join(floe_table_location(table), "metadata");
  hint = hint_dir != NULL ? join(hint_dir, "version-hint.text") : NULL;
  if (hint == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "reachable files: out of memory");
    goto cleanup;
  }
  FLOE_TRY(add_location(files, hint, NULL, err));
  for (int32_t i = 0; i < md->n_statistics; i++)
    FLOE_TRY(add_location(files, md->statistics[i].statistics_path, NULL, err));
  for (int32_t i = 0; i < md->n_partition_statistics; i++)
    FLOE_TRY(add_location(files, md->partition_statistics[i].statistics_path,
                          NULL, err));
  for (int32_t s = 0; s < md->n_snapshots; s++) {
    const floe_iceberg_snapshot *snap = &md->snapshots[s];
    for (int32_t m = 0; m < snap->n_manifests; m++) /* v1 */
      FLOE_TRY(add_manifest(io, md, snap->manifests[m], NULL, files,
                            &manifests, live_only, err));
    if (snap->manifest_list == NULL) continue;
    FLOE_TRY(add_location(files, snap->manifest_list, NULL, err));
    rc = floe_manifest_list_read(io, snap->manifest_list, &list, err);
    if (rc < 0) {
      floe_error_prefix(err, "snapshot %" PRId64 ": manifest list %s",
                        snap->snapshot_id, snap->manifest_list);
      goto cleanup;
    }
    for (int32_t m = 0; m < list->n_files; m++)
      FLOE_TRY(add_manifest(io, md, list->files[m].manifest_path,
                            &list->files[m], files, &manifests, live_only, err));
    floe_manifest_list_free(list);
    list = NULL;
  }
cleanup:
  floe_manifest_list_free(list);
  path_set_free(&manifests);
  floe_free(hint);
  floe_free(hint_dir);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void floe_maintain_paths_free(char **paths, size_t n) {
  if (paths == NULL) return;
  for (size_t i = 0; i < n; i++) floe_free(paths[i]);
  floe_free(paths);
}

int floe_maintain_reachable_files(const floe_table *table, char ***out_paths,
                                  size_t *out_n, floe_error *err) {
  int rc = FLOE_OK;
  path_set set = {0};
  char **paths = NULL;
  size_t n = 0;
  *out_paths = NULL;
  *out_n = 0;
  FLOE_TRY(collect_reachable(table, &set, false, err));
  paths = floe_calloc(set.count ? set.count : 1, sizeof *paths);
  if (paths == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "reachable files: out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < set.cap; i++)
    if (set.slots[i] != NULL) {
      paths[n++] = set.slots[i];
      set.slots[i] = NULL;
    }
  qsort(paths, n, sizeof *paths, cmp_str);
  *out_paths = paths;
  *out_n = n;
  paths = NULL;
cleanup:
  floe_maintain_paths_free(paths, n);
  path_set_free(&set);
  if (rc < 0) floe_error_prefix(err, "table %s: reachable files",
                                floe_table_name(table));
  return rc;
}

/* ---- the walk -------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *floe_maintain_file_kind_name(floe_maintain_file_kind kind) {
  switch (kind) {
    case FLOE_MAINTAIN_DATA_FILE: return "data";
    case FLOE_MAINTAIN_DELETE_FILE: return "delete";
    case FLOE_MAINTAIN_MANIFEST: return "manifest";
    case FLOE_MAINTAIN_MANIFEST_LIST: return "manifest-list";
    case FLOE_MAINTAIN_METADATA: return "metadata";
    case FLOE_MAINTAIN_TEMP: return "temp";
    case FLOE_MAINTAIN_OTHER: break;
  }
  return "other";
}

static floe_maintain_file_kind kind_of(const char *name) {
  if (name[0] == '.' || ends_with(name, ".tmp")) return FLOE_MAINTAIN_TEMP;
  if (ends_with(name, ".metadata.json") || ends_with(name, ".metadata.json.gz"))
    return FLOE_MAINTAIN_METADATA;
  if (ends_with(name, ".avro"))
    return strncmp(name, "snap-", 5) == 0 ? FLOE_MAINTAIN_MANIFEST_LIST
                                          : FLOE_MAINTAIN_MANIFEST;
  if (ends_with(name, ".puffin") || ends_with(name, "-deletes.parquet"))
    return FLOE_MAINTAIN_DELETE_FILE;
  if (ends_with(name, ".parquet") || ends_with(name, ".orc"))
    return FLOE_MAINTAIN_DATA_FILE;
  return FLOE_MAINTAIN_OTHER;
}

typedef struct walk {
  floe_io *io;
  const path_set *reachable;
  int64_t cutoff_ms; /* files modified after this are kept */
  floe_maintain_orphan_list *out;
  size_t cap;
} walk;

static int add_orphan(walk *w, const char *path, const floe_io_entry *e,
                      floe_error *err) {
  floe_maintain_orphan_list *out = w->out;
  if (out->n_files == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    floe_maintain_orphan *grown = floe_realloc(out->files, cap * sizeof *grown);
    if (grown == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
    out->files = grown;
    w->cap = cap;
  }
  floe_maintain_orphan *o = &out->files[out->n_files];
  memset(o, 0, sizeof *o);
  o->path = floe_strdup(path);
  if (o->path == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
  o->size = e->size;
  o->mtime_ms = e->mtime_ms;
  o->kind = kind_of(e->name);
  out->n_files++;
  out->total_bytes += e->size;
  return FLOE_OK;
}

/* Is `dir` another table (it holds a metadata/ directory)? */
static int is_nested_table(floe_io *io, const char *dir, bool *out,
                           floe_error *err) {
  char *meta = join(dir, "metadata");
  if (meta == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
  int exists = 0, is_dir = 0;
  int rc = floe_io_exists(io, meta, &exists, &is_dir, err);
  *out = rc == FLOE_OK && exists && is_dir;
  floe_free(meta);
  return rc;
}

static int walk_dir(walk *w, const char *dir, bool is_root, floe_error *err) {
  int rc = FLOE_OK;
  floe_io_listing listing = {NULL, 0};
  char *path = NULL, *norm = NULL;
  rc = floe_io_list(w->io, dir, &listing, err);
  if (rc == FLOE_ENOTFOUND && !is_root) { /* removed while walking */
    rc = FLOE_OK;
    goto cleanup;
  }
  if (rc < 0) goto cleanup;
  for (size_t i = 0; i < listing.count; i++) {
    const floe_io_entry *e = &listing.entries[i];
    path = join(dir, e->name);
    if (path == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
      goto cleanup;
    }
    if (e->is_dir) {
      bool nested = false;
      FLOE_TRY(is_nested_table(w->io, path, &nested, err));
      if (nested)
        w->out->n_nested_tables++;
      else
        FLOE_TRY(walk_dir(w, path, false, err));
    } else {
      FLOE_TRY(normalise(path, &norm, err));
      if (path_set_contains(w->reachable, norm)) {
        w->out->n_reachable++;
      } else if (e->mtime_ms > w->cutoff_ms) {
        w->out->n_too_new++;
        w->out->too_new_bytes += e->size;
      } else {
        FLOE_TRY(add_orphan(w, path, e, err));
      }
      floe_free(norm);
      norm = NULL;
    }
    floe_free(path);
    path = NULL;
  }
cleanup:
  floe_free(norm);
  floe_free(path);
  floe_io_listing_reset(&listing);
  return rc;
}

static int cmp_orphan(const void *a, const void *b) {
  return strcmp(((const floe_maintain_orphan *)a)->path,
                ((const floe_maintain_orphan *)b)->path);
}

void floe_maintain_orphan_options_init(floe_maintain_orphan_options *options) {
  memset(options, 0, sizeof *options);
  options->older_than_ms = FLOE_MAINTAIN_DEFAULT_OLDER_THAN_MS;
}

void floe_maintain_orphan_list_reset(floe_maintain_orphan_list *orphans) {
  if (orphans == NULL) return;
  for (size_t i = 0; i < orphans->n_files; i++) floe_free(orphans->files[i].path);
  floe_free(orphans->files);
  memset(orphans, 0, sizeof *orphans);
}

static int64_t clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int delete_orphans(floe_table *table, const char *listed_location,
                          floe_maintain_orphan_list *out, floe_error *err) {
  int rc = floe_table_refresh(table, err);
  if (rc < 0) return rc;
  if (strcmp(floe_table_metadata_location(table), listed_location) != 0)
    return floe_error_set(err, FLOE_ECONFLICT,
                          "the table was committed to while its files were "
                          "listed (metadata %s, now %s); nothing deleted: "
                          "run again",
                          listed_location, floe_table_metadata_location(table));
  /* One batched call where the store has one (S3 DeleteObjects: 1000 keys
   * a request); a failure marks that file and the rest are tried again. */
  int first_rc = FLOE_OK;
  const char **paths = floe_calloc(out->n_files ? out->n_files : 1, sizeof *paths);
  if (paths == NULL) return floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
  for (size_t i = 0; i < out->n_files; i++) paths[i] = out->files[i].path;
  size_t next = 0;
  while (next < out->n_files) {
    floe_error one = {0};
    size_t done = 0;
    rc = floe_io_delete_many(floe_table_io(table), paths + next, out->n_files - next, &done, &one);
    for (size_t i = next; i < next + done; i++) {
      out->files[i].deleted = true;
      out->n_deleted++;
      out->deleted_bytes += out->files[i].size;
    }
    next += done;
    if (rc < 0) {
      if (first_rc == FLOE_OK) {
        first_rc = rc;
        floe_error_set(err, rc, "%s", one.message);
      }
      next++; /* the file that failed */
    }
  }
  floe_free(paths);
  return first_rc;
}

int floe_maintain_orphans(floe_table *table,
                          const floe_maintain_orphan_options *options,
                          floe_maintain_orphan_list *out, floe_error *err) {
  int rc = FLOE_OK;
  path_set reachable = {0};
  char *listed_location = NULL;
  floe_maintain_orphan_options defaults;
  if (options == NULL) {
    floe_maintain_orphan_options_init(&defaults);
    options = &defaults;
  }
  floe_maintain_orphan_list_reset(out);
  int64_t older_than = options->older_than_ms < 0
                           ? FLOE_MAINTAIN_DEFAULT_OLDER_THAN_MS
                           : options->older_than_ms;
  int64_t now = options->now_ms != 0 ? options->now_ms : clock_ms();
  listed_location = floe_strdup(floe_table_metadata_location(table));
  if (listed_location == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "orphans: out of memory");
    goto cleanup;
  }
  FLOE_TRY(collect_reachable(table, &reachable, false, err));
  walk w = {floe_table_io(table), &reachable, now - older_than, out, 0};
  FLOE_TRY(walk_dir(&w, floe_table_location(table), true, err));
  if (out->n_files > 1)
    qsort(out->files, out->n_files, sizeof *out->files, cmp_orphan);
  if (options->delete_files)
    FLOE_TRY(delete_orphans(table, listed_location, out, err));
cleanup:
  if (rc < 0) {
    floe_error_prefix(err, "table %s: orphan files", floe_table_name(table));
    if (!options->delete_files || out->n_deleted == 0)
      floe_maintain_orphan_list_reset(out);
  }
  path_set_free(&reachable);
  floe_free(listed_location);
  return rc;
}

/* ---- durations ------------------------------------------------------------- */

int floe_maintain_parse_duration(const char *text, int64_t *out_ms,
                                 floe_error *err) {
  const char *p = text;
  int64_t value = 0;
  if (text == NULL || *p < '0' || *p > '9')
    return floe_error_set(err, FLOE_EINVAL,
                          "duration '%s': expected a number and a unit "
                          "(ms, s, m, h, d, w), as in 3d or 12h",
                          text ? text : "");
  for (; *p >= '0' && *p <= '9'; p++) {
    if (value > (INT64_MAX - 9) / 10)
      return floe_error_set(err, FLOE_ERANGE, "duration '%s': too large", text);
    value = value * 10 + (*p - '0');
  }
  int64_t unit;
  if (strcmp(p, "ms") == 0) unit = 1;
  else if (strcmp(p, "s") == 0) unit = 1000;
  else if (strcmp(p, "m") == 0) unit = 60 * 1000;
  else if (strcmp(p, "h") == 0) unit = 3600 * 1000;
  else if (strcmp(p, "d") == 0) unit = INT64_C(24) * 3600 * 1000;
  else if (strcmp(p, "w") == 0) unit = INT64_C(7) * 24 * 3600 * 1000;
  else if (*p == '\0' && value == 0) unit = 1;
  else
    return floe_error_set(err, FLOE_EINVAL,
                          "duration '%s': unknown unit '%s' (expected ms, s, "
                          "m, h, d or w)", text, p);
  if (value > INT64_MAX / unit)
    return floe_error_set(err, FLOE_ERANGE, "duration '%s': too large", text);
  *out_ms = value * unit;
  return FLOE_OK;
}

/* ---- snapshot expiry ------------------------------------------------------- */

#define DEFAULT_MAX_SNAPSHOT_AGE_MS (INT64_C(5) * 24 * 3600 * 1000)

void floe_maintain_options_init(floe_maintain_options *options) {
  memset(options, 0, sizeof *options);
  options->older_than_ms = -1;
}

static int64_t property_i64(const floe_iceberg_metadata *md, const char *key,
                            int64_t fallback) {
  const char *v = floe_iceberg_metadata_property(md, key);
  if (v == NULL || *v == '\0') return fallback;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  return end != NULL && *end == '\0' ? (int64_t)n : fallback;
}

/* The files of one kind that expired snapshots reached. */
typedef struct expired_files {
  path_set lists, manifests, data, deletes, stats;
} expired_files;

static void expired_files_free(expired_files *f) {
  path_set_free(&f->lists);
  path_set_free(&f->manifests);
  path_set_free(&f->data);
  path_set_free(&f->deletes);
  path_set_free(&f->stats);
}

/* Manifest paths of the snapshots marked keep[i] (their lists only). */
static int kept_manifests(floe_io *io, const floe_iceberg_metadata *md,
                          const bool *keep, path_set *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_list *list = NULL;
  for (int32_t s = 0; s < md->n_snapshots; s++) {
    const floe_iceberg_snapshot *snap = &md->snapshots[s];
    if (!keep[s]) continue;
    for (int32_t m = 0; m < snap->n_manifests; m++)
      FLOE_TRY(add_location(out, snap->manifests[m], NULL, err));
    if (snap->manifest_list == NULL) continue;
    FLOE_TRY(floe_manifest_list_read(io, snap->manifest_list, &list, err));
    for (int32_t m = 0; m < list->n_files; m++)
      FLOE_TRY(add_location(out, list->files[m].manifest_path, NULL, err));
    floe_manifest_list_free(list);
    list = NULL;
  }
cleanup:
  floe_manifest_list_free(list);
  return rc;
}

/* Files of one manifest into the kind sets. */
static int expired_manifest(floe_io *io, const floe_iceberg_metadata *md,
                            const char *path, const floe_manifest_file *list_entry,
                            expired_files *out, floe_error *err) {
  bool added = false;
  int rc = add_location(&out->manifests, path, &added, err);
  if (rc < 0 || !added) return rc;
  floe_manifest_reader *reader = NULL;
  rc = floe_manifest_reader_open(&reader, io, path, list_entry, md, err);
  if (rc < 0) {
    floe_error_prefix(err, "manifest %s", path);
    return rc;
  }
  for (;;) {
    const floe_manifest_entry *entry = NULL;
    rc = floe_manifest_reader_next(reader, &entry, err);
    if (rc < 0 || entry == NULL) break;
    if (entry->file.file_path == NULL) continue;
    rc = add_location(entry->file.content == FLOE_CONTENT_DATA ? &out->data : &out->deletes,
                      entry->file.file_path, NULL, err);
    if (rc < 0) break;
  }
  floe_manifest_reader_free(reader);
  return rc;
}

/* Everything the snapshots not marked keep[i] reached, except manifests
 * that a kept snapshot lists (their files are all still reachable). */
static int collect_expired(floe_io *io, const floe_iceberg_metadata *md,
                           const bool *keep, const path_set *kept,
                           expired_files *out, floe_error *err) {
  int rc = FLOE_OK;
  floe_manifest_list *list = NULL;
  char *norm = NULL;
  for (int32_t s = 0; s < md->n_snapshots; s++) {
    const floe_iceberg_snapshot *snap = &md->snapshots[s];
    if (keep[s]) continue;
    for (int32_t m = 0; m < snap->n_manifests; m++) {
      FLOE_TRY(normalise(snap->manifests[m], &norm, err));
      bool shared = path_set_contains(kept, norm);
      floe_free(norm);
      norm = NULL;
      if (!shared) FLOE_TRY(expired_manifest(io, md, snap->manifests[m], NULL, out, err));
    }
    if (snap->manifest_list == NULL) continue;
    FLOE_TRY(add_location(&out->lists, snap->manifest_list, NULL, err));
    rc = floe_manifest_list_read(io, snap->manifest_list, &list, err);
    if (rc < 0) {
      floe_error_prefix(err, "snapshot %" PRId64 ": manifest list %s", snap->snapshot_id,
                        snap->manifest_list);
      goto cleanup;
    }
    for (int32_t m = 0; m < list->n_files; m++) {
      FLOE_TRY(normalise(list->files[m].manifest_path, &norm, err));
      bool shared = path_set_contains(kept, norm);
      floe_free(norm);
      norm = NULL;
      if (!shared)
        FLOE_TRY(expired_manifest(io, md, list->files[m].manifest_path, &list->files[m], out,
                                  err));
    }
    floe_manifest_list_free(list);
    list = NULL;
  }
  for (int32_t i = 0; i < md->n_statistics; i++)
    for (int32_t s = 0; s < md->n_snapshots; s++)
      if (!keep[s] && md->snapshots[s].snapshot_id == md->statistics[i].snapshot_id)
        FLOE_TRY(add_location(&out->stats, md->statistics[i].statistics_path, NULL, err));
  for (int32_t i = 0; i < md->n_partition_statistics; i++)
    for (int32_t s = 0; s < md->n_snapshots; s++)
      if (!keep[s] && md->snapshots[s].snapshot_id == md->partition_statistics[i].snapshot_id)
        FLOE_TRY(add_location(&out->stats, md->partition_statistics[i].statistics_path, NULL,
                              err));
cleanup:
  floe_free(norm);
  floe_manifest_list_free(list);
  return rc;
}

static int32_t snapshot_index(const floe_iceberg_metadata *md, int64_t id) {
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (md->snapshots[i].snapshot_id == id) return i;
  return -1;
}

/* Whether the table carries floe's committed watermark property of
 * `source` (floe.watermark.<source>, docs/replicate.md): then
 * reconciliation needs no snapshot summary of it. */
static bool has_watermark_property(const floe_iceberg_metadata *md, const char *source) {
  char key[512];
  int n = snprintf(key, sizeof key, "floe.watermark.%s", source);
  return n > 0 && (size_t)n < sizeof key && floe_iceberg_metadata_property(md, key) != NULL;
}

/* Marks ref_expired[r] for the branches and tags older than their
 * max-ref-age-ms (the ref's own, else history.expire.max-ref-age-ms, else
 * forever), judged by the age of the snapshot the ref points at, and those
 * whose snapshot is missing; never main (Iceberg spec: Snapshot Retention
 * Policy; Java's RemoveSnapshots.computeRetainedRefs). Returns the count. */
static int32_t expired_refs(const floe_iceberg_metadata *md, int64_t now, bool *ref_expired) {
  int64_t table_max = property_i64(md, "history.expire.max-ref-age-ms", INT64_MAX);
  int32_t n = 0;
  for (int32_t r = 0; r < md->n_refs; r++) {
    const floe_iceberg_snapshot_ref *ref = &md->refs[r];
    ref_expired[r] = false;
    if (strcmp(ref->name, "main") == 0) continue;
    int64_t max_age = ref->has_max_ref_age_ms ? ref->max_ref_age_ms : table_max;
    const floe_iceberg_snapshot *snap = floe_iceberg_metadata_snapshot(md, ref->snapshot_id);
    if (snap == NULL || (max_age >= 0 && now - snap->timestamp_ms > max_age)) {
      ref_expired[r] = true;
      n++;
    }
  }
  return n;
}

/* Marks keep[i] for the snapshots the retention rules keep (see
 * floe/maintain.h); refs marked in ref_expired keep nothing. *out_floe
 * counts those kept by floe's rule alone. */
static int retained_snapshots(const floe_iceberg_metadata *md, int64_t now,
                              int64_t max_age, int32_t min_keep, const bool *ref_expired,
                              bool *keep, int32_t *out_floe, floe_error *err) {
  int rc = FLOE_OK;
  bool *on_branch = floe_calloc((size_t)md->n_snapshots + 1, sizeof *on_branch);
  int32_t *chain = floe_calloc((size_t)md->n_snapshots + 1, sizeof *chain);
  const char **sources = floe_calloc((size_t)md->n_snapshots + 1, sizeof *sources);
  if (on_branch == NULL || chain == NULL || sources == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "expire: out of memory");
    goto cleanup;
  }
  for (int32_t r = 0; r < md->n_refs; r++) {
    const floe_iceberg_snapshot_ref *ref = &md->refs[r];
    int32_t head = snapshot_index(md, ref->snapshot_id);
    if (head < 0 || ref_expired[r]) continue;
    keep[head] = true;
    if (ref->is_tag) continue;
    int32_t ref_min = ref->has_min_snapshots_to_keep ? ref->min_snapshots_to_keep : min_keep;
    int64_t ref_age = ref->has_max_snapshot_age_ms ? ref->max_snapshot_age_ms : max_age;
    int32_t kept = 0, steps = 0;
    bool retaining = true;
    const floe_iceberg_snapshot *s = &md->snapshots[head];
    while (s != NULL && steps++ <= md->n_snapshots) {
      int32_t i = (int32_t)(s - md->snapshots);
      on_branch[i] = true;
      /* Java's RemoveSnapshots: ancestors are kept while fewer than
       * min-snapshots-to-keep are kept or they are young enough. */
      if (retaining && (kept < ref_min || s->timestamp_ms >= now - ref_age)) {
        keep[i] = true;
        kept++;
      } else {
        retaining = false;
      }
      s = floe_iceberg_metadata_parent(md, s);
    }
  }
  /* Snapshots on no branch (e.g. replaced by a rollback): by age only. */
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (!on_branch[i] && md->snapshots[i].timestamp_ms >= now - max_age) keep[i] = true;

  /* floe's rule: the main branch keeps its history down to the newest
   * load commit of every source table that has no committed watermark
   * property (a table last loaded by an older floe), so reconciliation
   * (replicate/reconcile.c) always sees the latest committed batch. */
  const floe_iceberg_snapshot *s = floe_iceberg_metadata_current_snapshot(md);
  int32_t n_chain = 0, n_sources = 0, deepest = -1;
  while (s != NULL && n_chain < md->n_snapshots) {
    chain[n_chain] = (int32_t)(s - md->snapshots);
    const char *source = floe_iceberg_snapshot_summary(s, "floe.source-table");
    if (source != NULL && floe_iceberg_snapshot_summary(s, "floe.batch-sk.high") != NULL) {
      bool seen = false;
      for (int32_t k = 0; k < n_sources && !seen; k++) seen = strcmp(sources[k], source) == 0;
      if (!seen) {
        sources[n_sources++] = source;
        if (!has_watermark_property(md, source)) deepest = n_chain;
      }
    }
    n_chain++;
    s = floe_iceberg_metadata_parent(md, s);
  }
  *out_floe = 0;
  for (int32_t k = 0; k <= deepest; k++)
    if (!keep[chain[k]]) {
      keep[chain[k]] = true;
      (*out_floe)++;
    }
cleanup:
  floe_free(on_branch);
  floe_free(chain);
  floe_free(sources);
  return rc;
}

/* Deletes the members of `set` that `reachable` lacks; counts them. */
static int delete_unreachable(floe_io *io, const path_set *set, const path_set *reachable,
                              bool dry_run, int64_t *count, int *deleted_any,
                              floe_error *err) {
  int first_rc = FLOE_OK;
  for (size_t i = 0; i < set->cap; i++) {
    const char *path = set->slots[i];
    if (path == NULL || path_set_contains(reachable, path)) continue;
    if (!dry_run) {
      floe_error one = {0};
      int rc = floe_io_delete(io, path, &one);
      if (rc < 0 && rc != FLOE_ENOTFOUND) {
        if (first_rc == FLOE_OK) first_rc = floe_error_set(err, rc, "%s", one.message);
        continue;
      }
      if ((*deleted_any)++ == 0) floe_debug_crash_point("maintain_during_delete");
    }
    (*count)++;
  }
  return first_rc;
}

int floe_maintain_expire(floe_table *table, const floe_maintain_options *options,
                         floe_maintain_report *report, floe_error *err) {
  int rc = FLOE_OK;
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  floe_io *io = floe_table_io(table);
  bool *keep = NULL, *ref_expired = NULL;
  int64_t *expired_ids = NULL;
  floe_table_expired_ref *gone_refs = NULL;
  int32_t n_gone_refs = 0;
  path_set kept = {0}, reachable = {0}, old_log = {0};
  expired_files files = {0};
  int32_t n_expired = 0, kept_for_floe = 0;
  int64_t now = options->now_ms != 0 ? options->now_ms : clock_ms();
  int64_t max_age = options->older_than_ms >= 0
                        ? options->older_than_ms
                        : property_i64(md, "history.expire.max-snapshot-age-ms",
                                       DEFAULT_MAX_SNAPSHOT_AGE_MS);
  int32_t min_keep = options->retain_last > 0
                         ? options->retain_last
                         : (int32_t)property_i64(md, "history.expire.min-snapshots-to-keep", 1);
  if (min_keep < 1) min_keep = 1;
  report->snapshots_before = md->n_snapshots;
  report->snapshots_after = md->n_snapshots;
  if (md->n_snapshots == 0) goto cleanup;
  keep = floe_calloc((size_t)md->n_snapshots, sizeof *keep);
  expired_ids = floe_calloc((size_t)md->n_snapshots, sizeof *expired_ids);
  ref_expired = floe_calloc((size_t)md->n_refs + 1, sizeof *ref_expired);
  gone_refs = floe_calloc((size_t)md->n_refs + 1, sizeof *gone_refs);
  if (keep == NULL || expired_ids == NULL || ref_expired == NULL || gone_refs == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "expire: out of memory");
    goto cleanup;
  }
  expired_refs(md, now, ref_expired);
  for (int32_t r = 0; r < md->n_refs; r++)
    if (ref_expired[r]) {
      gone_refs[n_gone_refs].name = md->refs[r].name;
      gone_refs[n_gone_refs++].snapshot_id = md->refs[r].snapshot_id;
    }
  FLOE_TRY(retained_snapshots(md, now, max_age, min_keep, ref_expired, keep, &kept_for_floe,
                              err));
  for (int32_t i = 0; i < md->n_snapshots; i++)
    if (!keep[i]) expired_ids[n_expired++] = md->snapshots[i].snapshot_id;
  report->snapshots_kept_for_floe += kept_for_floe;
  report->refs_expired += n_gone_refs;
  if (n_expired == 0 && n_gone_refs > 0 && !options->dry_run) {
    /* Refs only: their snapshots are still reached from elsewhere. */
    floe_debug_crash_point("maintain_before_commit");
    FLOE_TRY(floe_table_expire_refs_and_snapshots(table, gone_refs, n_gone_refs, NULL, 0, err));
    report->commits++;
    floe_debug_crash_point("maintain_after_commit");
    floe_log(FLOE_LOG_INFO, "maintain_expire", "table=%s expired=0 refs_expired=%d metadata=%s",
             floe_table_name(table), (int)n_gone_refs, floe_table_metadata_location(table));
    md = floe_table_metadata(table);
    report->snapshots_after = md->n_snapshots;
  }
  if (n_expired == 0) goto cleanup;
  if (options->progress != NULL) options->progress(options->progress_ctx, "expire", 0, 3);
  FLOE_TRY(kept_manifests(io, md, keep, &kept, err));
  FLOE_TRY(collect_expired(io, md, keep, &kept, &files, err));
  for (int32_t i = 0; i < md->n_metadata_log; i++)
    FLOE_TRY(add_location(&old_log, md->metadata_log[i].metadata_file, NULL, err));
  FLOE_TRY(add_location(&old_log, floe_table_metadata_location(table), NULL, err));
  if (options->progress != NULL) options->progress(options->progress_ctx, "expire", 1, 3);

  if (options->dry_run) {
    /* What the kept snapshots reach, from their manifests. */
    for (int32_t s = 0; s < md->n_snapshots; s++) {
      if (!keep[s]) continue;
      if (md->snapshots[s].manifest_list != NULL)
        FLOE_TRY(add_location(&reachable, md->snapshots[s].manifest_list, NULL, err));
    }
    path_set manifests = {0};
    for (size_t i = 0; i < kept.cap && rc == FLOE_OK; i++)
      if (kept.slots[i] != NULL)
        rc = add_manifest(io, md, kept.slots[i], NULL, &reachable, &manifests, true, err);
    path_set_free(&manifests);
    if (rc < 0) goto cleanup;
  } else {
    floe_debug_crash_point("maintain_before_commit");
    FLOE_TRY(floe_table_expire_refs_and_snapshots(table, gone_refs, n_gone_refs, expired_ids,
                                                  n_expired, err));
    report->commits++;
    floe_debug_crash_point("maintain_after_commit");
    floe_log(FLOE_LOG_INFO, "maintain_expire", "table=%s expired=%d refs_expired=%d metadata=%s",
             floe_table_name(table), (int)n_expired, (int)n_gone_refs,
             floe_table_metadata_location(table));
    FLOE_TRY(floe_table_refresh(table, err));
    FLOE_TRY(collect_reachable(table, &reachable, true, err));
  }
  md = floe_table_metadata(table);
  report->snapshots_expired += n_expired;
  report->snapshots_after = options->dry_run ? md->n_snapshots - n_expired : md->n_snapshots;
  if (options->progress != NULL) options->progress(options->progress_ctx, "expire", 2, 3);

  int deleted_any = 0;
  bool dry = options->dry_run;
  FLOE_TRY(delete_unreachable(io, &files.data, &reachable, dry, &report->data_files_deleted,
                              &deleted_any, err));
  FLOE_TRY(delete_unreachable(io, &files.deletes, &reachable, dry,
                              &report->delete_files_deleted, &deleted_any, err));
  FLOE_TRY(delete_unreachable(io, &files.stats, &reachable, dry,
                              &report->statistics_files_deleted, &deleted_any, err));
  FLOE_TRY(delete_unreachable(io, &files.manifests, &reachable, dry,
                              &report->manifests_deleted, &deleted_any, err));
  FLOE_TRY(delete_unreachable(io, &files.lists, &reachable, dry,
                              &report->manifest_lists_deleted, &deleted_any, err));
  const char *cleanup_metadata =
      floe_iceberg_metadata_property(md, "write.metadata.delete-after-commit.enabled");
  if (!dry && cleanup_metadata != NULL && strcmp(cleanup_metadata, "true") == 0) {
    /* Metadata files that left the metadata-log (Java deletes them after
     * each commit when this property is set). */
    path_set now_log = {0};
    for (int32_t i = 0; i < md->n_metadata_log && rc == FLOE_OK; i++)
      rc = add_location(&now_log, md->metadata_log[i].metadata_file, NULL, err);
    if (rc == FLOE_OK) rc = add_location(&now_log, floe_table_metadata_location(table), NULL, err);
    if (rc == FLOE_OK)
      rc = delete_unreachable(io, &old_log, &now_log, false, &report->metadata_files_deleted,
                              &deleted_any, err);
    path_set_free(&now_log);
    if (rc < 0) goto cleanup;
  }
  if (options->progress != NULL) options->progress(options->progress_ctx, "expire", 3, 3);
cleanup:
  if (rc < 0) floe_error_prefix(err, "table %s: expire snapshots", floe_table_name(table));
  expired_files_free(&files);
  path_set_free(&kept);
  path_set_free(&reachable);
  path_set_free(&old_log);
  floe_free(keep);
  floe_free(expired_ids);
  floe_free(ref_expired);
  floe_free(gone_refs);
  return rc;
}
