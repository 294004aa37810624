/*
 * catalog/hadoop: Iceberg's HadoopCatalog / HadoopTableOperations layout on
 * floe's file-system interface, so Iceberg Java, PyIceberg and DuckDB can
 * read floe's tables by path and floe can read theirs.
 *
 *   <warehouse>/<ns level>/.../<table>/metadata/v<N>.metadata.json
 *   <warehouse>/<ns level>/.../<table>/metadata/version-hint.text   ("N")
 *
 * Namespaces are directories; a directory is a table when its metadata/
 * holds a *.metadata.json file (HadoopCatalog.isTableDir). The pointer is
 * "the highest N": a commit based on v<N> publishes v<N+1> with
 * no-replace semantics (floe_io_write_atomic + FLOE_IO_NO_REPLACE: link or
 * renameat2 RENAME_NOREPLACE from a temporary file), so whoever creates
 * v<N+1> first wins and everyone else gets FLOE_ECONFLICT. The hint is
 * then replaced atomically; it is only a hint: a crash may leave it behind
 * the newest version, so readers probe forward from it (as
 * HadoopTableOperations.findVersion does), and without a hint they list
 * metadata/.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"

#define HINT_NAME "version-hint.text"
#define METADATA_SUFFIX ".metadata.json"

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* N of "v<N>.metadata.json", or -1. */
static long parse_version_name(const char *name) {
  if (name[0] != 'v' || !isdigit((unsigned char)name[1])) return -1;
  char *end = NULL;
  long v = strtol(name + 1, &end, 10);
  if (v <= 0 || strcmp(end, METADATA_SUFFIX) != 0) return -1;
  return v;
}

static int version_path(const char *table_dir, long version, char **out,
                        floe_error *err) {
  char name[64];
  snprintf(name, sizeof name, "metadata/v%ld" METADATA_SUFFIX, version);
  return catalog_join(table_dir, name, out, err);
}

/* 1 when dir/metadata holds a metadata file (HadoopCatalog.isTableDir). */
static int is_table_dir(floe_catalog *c, const char *dir, int *out,
                        floe_error *err) {
  char *metadata = NULL;
  floe_io_listing listing = {NULL, 0};
  *out = 0;
  int rc = catalog_join(dir, "metadata", &metadata, err);
  if (rc < 0) return rc;
  rc = floe_io_list(c->io, metadata, &listing, err);
  if (rc == FLOE_ENOTFOUND) {
    rc = FLOE_OK;
  } else if (rc == FLOE_OK) {
    for (size_t i = 0; i < listing.count; i++)
      if (!listing.entries[i].is_dir && listing.entries[i].name[0] != '.' &&
          ends_with(listing.entries[i].name, METADATA_SUFFIX))
        *out = 1;
  } else if (rc == FLOE_EIO) {
    /* "metadata" is a file, not a directory: not a table. */
    int exists = 0, is_dir = 0;
    floe_error ignored = {0};
    if (floe_io_exists(c->io, metadata, &exists, &is_dir, &ignored) == 0 &&
        exists && !is_dir)
      rc = FLOE_OK;
  }
  floe_io_listing_reset(&listing);
  floe_free(metadata);
  return rc;
}

static int is_namespace_dir(floe_catalog *c, const char *dir, int *out,
                            floe_error *err) {
  int exists = 0, is_dir = 0, is_table = 0;
  *out = 0;
  int rc = floe_io_exists(c->io, dir, &exists, &is_dir, err);
  if (rc < 0 || !exists || !is_dir) return rc;
  rc = is_table_dir(c, dir, &is_table, err);
  if (rc == FLOE_OK) *out = !is_table;
  return rc;
}

/* The newest version of the table in table_dir, or 0 when there is none:
 * the hint, else the highest v<N> listed, then probing v<N+1>, ... */
static int find_version(floe_catalog *c, const char *table_dir, long *out,
                        floe_error *err) {
  int rc = FLOE_OK;
  char *hint_path = NULL, *hint = NULL, *probe = NULL, *metadata = NULL;
  floe_io_listing listing = {NULL, 0};
  long version = 0;
  *out = 0;
  FLOE_TRY(catalog_join(table_dir, "metadata/" HINT_NAME, &hint_path, err));
  rc = floe_io_read_all(c->io, hint_path, 64, &hint, NULL, err);
  if (rc == FLOE_OK) {
    char *end = NULL;
    long v = strtol(hint, &end, 10);
    while (end != NULL && isspace((unsigned char)*end)) end++;
    if (end != hint && end != NULL && *end == '\0' && v > 0) version = v;
  } else if (rc != FLOE_ENOTFOUND && rc != FLOE_ERANGE) {
    goto cleanup;
  }
  rc = FLOE_OK;
  if (version == 0) {
    /* No usable hint: the highest v<N> in metadata/. */
    FLOE_TRY(catalog_join(table_dir, "metadata", &metadata, err));
    rc = floe_io_list(c->io, metadata, &listing, err);
    if (rc == FLOE_ENOTFOUND) {
      rc = FLOE_OK;
      goto cleanup;
    }
    if (rc < 0) goto cleanup;
    for (size_t i = 0; i < listing.count; i++) {
      long v = parse_version_name(listing.entries[i].name);
      if (v > version) version = v;
    }
    if (version == 0) goto cleanup;
  }
  /* The hint may lag after a crash between publishing v<N+1> and
   * rewriting the hint (HadoopTableOperations.findVersion). */
  for (;;) {
    int exists = 0;
    FLOE_TRY(version_path(table_dir, version + 1, &probe, err));
    FLOE_TRY(floe_io_exists(c->io, probe, &exists, NULL, err));
    floe_free(probe);
    probe = NULL;
    if (!exists) break;
    version++;
  }
  *out = version;
cleanup:
  floe_io_listing_reset(&listing);
  floe_free(metadata);
  floe_free(probe);
  floe_free(hint);
  floe_free(hint_path);
  return rc;
}

static int write_hint(floe_catalog *c, const char *table_dir, long version,
                      floe_error *err) {
  char *path = NULL;
  char text[32];
  int n = snprintf(text, sizeof text, "%ld", version);
  int rc = catalog_join(table_dir, "metadata/" HINT_NAME, &path, err);
  if (rc == FLOE_OK)
    rc = floe_io_write_atomic(c->io, path, text, (size_t)n, 0, err);
  floe_free(path);
  return rc;
}

static int require_namespace(floe_catalog *c, const char *ns, char **out_dir,
                             floe_error *err) {
  int is_ns = 0;
  char *dir = NULL;
  int rc = catalog_ns_path(c, ns, NULL, &dir, err);
  if (rc == FLOE_OK) rc = is_namespace_dir(c, dir, &is_ns, err);
  if (rc == FLOE_OK && !is_ns)
    rc = floe_error_set(err, FLOE_ENOTFOUND,
                        "namespace '%s' does not exist (no directory %s)", ns,
                        dir);
  if (rc == FLOE_OK && out_dir != NULL) {
    *out_dir = dir;
    dir = NULL;
  }
  floe_free(dir);
  return rc;
}

/* ---- namespaces ------------------------------------------------------------ */

static int hadoop_namespace_create(floe_catalog *c, const char *ns,
                                   const floe_catalog_property *props,
                                   size_t count, floe_error *err) {
  (void)props;
  if (count > 0)
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "the hadoop catalog stores no namespace properties "
                          "(as Iceberg's HadoopCatalog)");
  char *dir = NULL;
  int exists = 0;
  int rc = catalog_ns_path(c, ns, NULL, &dir, err);
  if (rc == FLOE_OK) rc = floe_io_exists(c->io, dir, &exists, NULL, err);
  if (rc == FLOE_OK && exists)
    rc = floe_error_set(err, FLOE_EEXISTS, "%s already exists", dir);
  if (rc == FLOE_OK) rc = floe_io_mkdirs(c->io, dir, err);
  floe_free(dir);
  return rc;
}

static int hadoop_namespace_exists(floe_catalog *c, const char *ns, int *out,
                                   floe_error *err) {
  char *dir = NULL;
  int rc = catalog_ns_path(c, ns, NULL, &dir, err);
  if (rc == FLOE_OK) rc = is_namespace_dir(c, dir, out, err);
  floe_free(dir);
  return rc;
}

static int hadoop_namespace_list(floe_catalog *c, const char *parent,
                                 floe_catalog_names *out, floe_error *err) {
  int rc = FLOE_OK;
  char *dir = NULL, *child_dir = NULL, *child = NULL;
  floe_io_listing listing = {NULL, 0};
  if (parent[0] != '\0') {
    FLOE_TRY(require_namespace(c, parent, &dir, err));
  } else {
    FLOE_TRY(catalog_ns_path(c, NULL, NULL, &dir, err));
  }
  rc = floe_io_list(c->io, dir, &listing, err);
  if (rc == FLOE_ENOTFOUND && parent[0] == '\0') {
    rc = FLOE_OK; /* no warehouse directory yet: no namespaces */
    goto cleanup;
  }
  if (rc < 0) goto cleanup;
  for (size_t i = 0; i < listing.count; i++) {
    const floe_io_entry *e = &listing.entries[i];
    /* A level cannot contain '.', so such directories are not namespaces. */
    if (!e->is_dir || e->name[0] == '.' || strchr(e->name, '.') != NULL)
      continue;
    int is_table = 0;
    FLOE_TRY(catalog_join(dir, e->name, &child_dir, err));
    FLOE_TRY(is_table_dir(c, child_dir, &is_table, err));
    floe_free(child_dir);
    child_dir = NULL;
    if (is_table) continue;
    size_t plen = strlen(parent), nlen = strlen(e->name);
    child = floe_malloc(plen + 1 + nlen + 1);
    if (child == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    if (plen > 0) sprintf(child, "%s.%s", parent, e->name);
    else memcpy(child, e->name, nlen + 1);
    FLOE_TRY(catalog_names_add(out, child, err));
    floe_free(child);
    child = NULL;
  }
cleanup:
  floe_io_listing_reset(&listing);
  floe_free(child);
  floe_free(child_dir);
  floe_free(dir);
  return rc;
}

static int hadoop_namespace_properties(floe_catalog *c, const char *ns,
                                       floe_catalog_properties *out,
                                       floe_error *err) {
  char *dir = NULL;
  int rc = require_namespace(c, ns, &dir, err);
  if (rc == FLOE_OK) rc = catalog_properties_add(out, "location", dir, err);
  floe_free(dir);
  return rc;
}

static int hadoop_namespace_drop(floe_catalog *c, const char *ns,
                                 floe_error *err) {
  char *dir = NULL;
  floe_io_listing listing = {NULL, 0};
  int rc = require_namespace(c, ns, &dir, err);
  if (rc == FLOE_OK) rc = floe_io_list(c->io, dir, &listing, err);
  if (rc == FLOE_OK && listing.count > 0)
    rc = floe_error_set(err, FLOE_EINVAL,
                        "not empty: %s holds %zu entries (first '%s')", dir,
                        listing.count, listing.entries[0].name);
  if (rc == FLOE_OK) rc = floe_io_rmdir(c->io, dir, err);
  floe_io_listing_reset(&listing);
  floe_free(dir);
  return rc;
}

/* ---- tables ----------------------------------------------------------------- */

static int hadoop_table_create(floe_catalog *c, floe_catalog_ident ident,
                               const char *location, const char *json,
                               size_t len, floe_error *err) {
  int rc = FLOE_OK;
  char *table_dir = NULL, *first = NULL;
  int is_table = 0;
  FLOE_TRY(require_namespace(c, ident.ns, NULL, err));
  FLOE_TRY(catalog_ns_path(c, ident.ns, ident.name, &table_dir, err));
  if (location != NULL) {
    size_t llen = strlen(location);
    while (llen > 1 && location[llen - 1] == '/') llen--;
    if (llen != strlen(table_dir) || strncmp(location, table_dir, llen) != 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "the hadoop catalog keeps a table at %s, not at %s",
                          table_dir, location);
      goto cleanup;
    }
  }
  FLOE_TRY(is_table_dir(c, table_dir, &is_table, err));
  if (is_table) {
    rc = floe_error_set(err, FLOE_EEXISTS, "table exists at %s", table_dir);
    goto cleanup;
  }
  FLOE_TRY(version_path(table_dir, 1, &first, err));
  rc = floe_io_write_atomic(c->io, first, json, len, FLOE_IO_NO_REPLACE, err);
  if (rc < 0) goto cleanup;
  FLOE_TRY(write_hint(c, table_dir, 1, err));
cleanup:
  floe_free(first);
  floe_free(table_dir);
  return rc;
}

static int hadoop_table_load(floe_catalog *c, floe_catalog_ident ident,
                             floe_catalog_table *out, floe_error *err) {
  int rc = FLOE_OK;
  char *table_dir = NULL;
  long version = 0;
  FLOE_TRY(catalog_ns_path(c, ident.ns, ident.name, &table_dir, err));
  FLOE_TRY(find_version(c, table_dir, &version, err));
  if (version == 0) {
    rc = floe_error_set(err, FLOE_ENOTFOUND,
                        "no such table (no v<N>.metadata.json in "
                        "%s/metadata)", table_dir);
    goto cleanup;
  }
  FLOE_TRY(version_path(table_dir, version, &out->metadata_location, err));
  if (version > 1)
    FLOE_TRY(version_path(table_dir, version - 1,
                          &out->previous_metadata_location, err));
  out->version = version;
  FLOE_TRY(catalog_read_metadata(c, out->metadata_location, out, err));
cleanup:
  floe_free(table_dir);
  return rc;
}

static int hadoop_table_exists(floe_catalog *c, floe_catalog_ident ident,
                               int *out, floe_error *err) {
  char *table_dir = NULL;
  int rc = catalog_ns_path(c, ident.ns, ident.name, &table_dir, err);
  if (rc == FLOE_OK) rc = is_table_dir(c, table_dir, out, err);
  floe_free(table_dir);
  return rc;
}

static int hadoop_table_list(floe_catalog *c, const char *ns,
                             floe_catalog_names *out, floe_error *err) {
  int rc = FLOE_OK;
  char *dir = NULL, *child = NULL;
  floe_io_listing listing = {NULL, 0};
  FLOE_TRY(require_namespace(c, ns, &dir, err));
  FLOE_TRY(floe_io_list(c->io, dir, &listing, err));
  for (size_t i = 0; i < listing.count; i++) {
    const floe_io_entry *e = &listing.entries[i];
    if (!e->is_dir || e->name[0] == '.') continue;
    int is_table = 0;
    FLOE_TRY(catalog_join(dir, e->name, &child, err));
    FLOE_TRY(is_table_dir(c, child, &is_table, err));
    floe_free(child);
    child = NULL;
    if (is_table) FLOE_TRY(catalog_names_add(out, e->name, err));
  }
cleanup:
  floe_io_listing_reset(&listing);
  floe_free(child);
  floe_free(dir);
  return rc;
}

static int hadoop_table_drop(floe_catalog *c, floe_catalog_ident ident,
                             int purge, floe_error *err) {
  /* The directory is the registration (HadoopCatalog.dropTable deletes it
   * with or without purge); data files written elsewhere are left. */
  (void)purge;
  char *table_dir = NULL;
  int is_table = 0;
  int rc = catalog_ns_path(c, ident.ns, ident.name, &table_dir, err);
  if (rc == FLOE_OK) rc = is_table_dir(c, table_dir, &is_table, err);
  if (rc == FLOE_OK && !is_table)
    rc = floe_error_set(err, FLOE_ENOTFOUND, "no such table at %s",
                        table_dir);
  if (rc == FLOE_OK) rc = floe_io_delete_tree(c->io, table_dir, err);
  floe_free(table_dir);
  return rc;
}

static int hadoop_table_rename(floe_catalog *c, floe_catalog_ident from,
                               floe_catalog_ident to, floe_error *err) {
  (void)c;
  (void)from;
  (void)to;
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "the hadoop catalog cannot rename tables: a table's "
                        "location is its name (as in Iceberg's "
                        "HadoopCatalog)");
}

static int hadoop_commit(floe_catalog *c, floe_catalog_ident ident,
                         const char *expected, const char *json, size_t len,
                         char **out_location,
                         floe_catalog_table *out_state, floe_error *err) {
  (void)out_state;
  int rc = FLOE_OK;
  char *table_dir = NULL, *current = NULL, *next = NULL;
  long version = 0;
  FLOE_TRY(catalog_ns_path(c, ident.ns, ident.name, &table_dir, err));
  FLOE_TRY(find_version(c, table_dir, &version, err));
  if (version == 0) {
    rc = floe_error_set(err, FLOE_ENOTFOUND,
                        "no such table (no metadata in %s/metadata)",
                        table_dir);
    goto cleanup;
  }
  FLOE_TRY(version_path(table_dir, version, &current, err));
  if (strcmp(current, expected) != 0) {
    rc = floe_error_set(err, FLOE_ECONFLICT,
                        "metadata pointer moved: current is %s, expected %s "
                        "(conflict)", current, expected);
    goto cleanup;
  }
  FLOE_TRY(version_path(table_dir, version + 1, &next, err));
  rc = floe_io_write_atomic(c->io, next, json, len, FLOE_IO_NO_REPLACE, err);
  if (rc == FLOE_EEXISTS) {
    rc = floe_error_set(err, FLOE_ECONFLICT,
                        "%s was published by another writer first "
                        "(conflict)", next);
    goto cleanup;
  }
  if (rc < 0) goto cleanup;
  /* The commit happened when v<N+1> was published; the hint is advisory
   * (readers probe past it), so failing to move it does not fail the
   * commit. */
  {
    floe_error hint_err = {0};
    (void)write_hint(c, table_dir, version + 1, &hint_err);
  }
  *out_location = next;
  next = NULL;
cleanup:
  floe_free(next);
  floe_free(current);
  floe_free(table_dir);
  return rc;
}

static void hadoop_destroy(floe_catalog *c) { (void)c; }

static const catalog_ops hadoop_ops = {
    .kind = "hadoop",
    .namespace_create = hadoop_namespace_create,
    .namespace_exists = hadoop_namespace_exists,
    .namespace_list = hadoop_namespace_list,
    .namespace_properties = hadoop_namespace_properties,
    .namespace_drop = hadoop_namespace_drop,
    .table_create = hadoop_table_create,
    .table_load = hadoop_table_load,
    .table_exists = hadoop_table_exists,
    .table_list = hadoop_table_list,
    .table_drop = hadoop_table_drop,
    .table_rename = hadoop_table_rename,
    .commit = hadoop_commit,
    .destroy = hadoop_destroy,
};

int catalog_hadoop_open(floe_catalog *c, const floe_catalog_config *config,
                        floe_error *err) {
  (void)config;
  (void)err;
  c->ops = &hadoop_ops;
  return FLOE_OK;
}
