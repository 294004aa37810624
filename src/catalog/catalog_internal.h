/*
 * catalog/catalog_internal.h: the contract between the generic catalog
 * front (catalog.c) and each kind (hadoop.c, sql.c).
 *
 * The front validates identifiers, fills defaults and adds context to
 * errors; a kind implements the operations below on already-validated
 * input. Private to src/catalog.
 */
#ifndef FLOE_CATALOG_INTERNAL_H
#define FLOE_CATALOG_INTERNAL_H

#include "floe/buffer.h"
#include "floe/catalog.h"

typedef struct catalog_ops {
  const char *kind; /* "hadoop", "sql" */
  int (*namespace_create)(floe_catalog *c, const char *ns,
                          const floe_catalog_property *props, size_t count,
                          floe_error *err);
  int (*namespace_exists)(floe_catalog *c, const char *ns, int *out,
                          floe_error *err);
  int (*namespace_list)(floe_catalog *c, const char *parent,
                        floe_catalog_names *out, floe_error *err);
  int (*namespace_properties)(floe_catalog *c, const char *ns,
                              floe_catalog_properties *out, floe_error *err);
  int (*namespace_drop)(floe_catalog *c, const char *ns, floe_error *err);
  int (*table_create)(floe_catalog *c, floe_catalog_ident ident,
                      const char *location, const char *json, size_t len,
                      floe_error *err);
  int (*table_load)(floe_catalog *c, floe_catalog_ident ident,
                    floe_catalog_table *out, floe_error *err);
  int (*table_exists)(floe_catalog *c, floe_catalog_ident ident, int *out,
                      floe_error *err);
  int (*table_list)(floe_catalog *c, const char *ns, floe_catalog_names *out,
                    floe_error *err);
  int (*table_drop)(floe_catalog *c, floe_catalog_ident ident, int purge,
                    floe_error *err);
  int (*table_rename)(floe_catalog *c, floe_catalog_ident from,
                      floe_catalog_ident to, floe_error *err);
  /* out_state (may be NULL) receives the committed state when the kind
   * knows it better than the caller (rest: the server's metadata). */
  int (*commit)(floe_catalog *c, floe_catalog_ident ident,
                const char *expected, const char *json, size_t len,
                char **out_location, floe_catalog_table *out_state,
                floe_error *err);
  /* Optional (NULL: FLOE_EUNSUPPORTED). */
  int (*table_register)(floe_catalog *c, floe_catalog_ident ident,
                        const char *metadata_location, floe_error *err);
  int server_writes_metadata; /* rest */
  void (*destroy)(floe_catalog *c);
} catalog_ops;

struct floe_catalog {
  const catalog_ops *ops;
  char *name;
  char *warehouse; /* without trailing '/' */
  floe_io *io;
  int owns_io;
  size_t max_metadata_bytes;
  void *impl; /* the kind's state */
};

/* Opens the kind's state into c->impl (c->ops is set by the callee). */
int catalog_hadoop_open(floe_catalog *c, const floe_catalog_config *config,
                        floe_error *err);
int catalog_sql_open(floe_catalog *c, const floe_catalog_config *config,
                     floe_error *err);
int catalog_rest_open(floe_catalog *c, const floe_catalog_config *config,
                      floe_error *err);

/* Helpers shared by the kinds. */

/* "<a>/<b>" with exactly one slash between; *out freed with floe_free. */
int catalog_join(const char *a, const char *b, char **out, floe_error *err);
/* <warehouse>/<ns levels as path>[/<name>] (name may be NULL). */
int catalog_ns_path(floe_catalog *c, const char *ns, const char *name,
                    char **out, floe_error *err);
/* Appends a copy of `s` to a names list. */
int catalog_names_add(floe_catalog_names *names, const char *s,
                      floe_error *err);
/* Sorts and removes duplicates. */
void catalog_names_sort_unique(floe_catalog_names *names);
/* Appends a key/value copy to a property list. */
int catalog_properties_add(floe_catalog_properties *props, const char *key,
                           const char *value, floe_error *err);
void catalog_properties_sort(floe_catalog_properties *props);
/* Reads a metadata file into out->metadata_json (bounded). */
int catalog_read_metadata(floe_catalog *c, const char *location,
                          floe_catalog_table *out, floe_error *err);
/* "dir" part of a location (everything before the last '/'). */
int catalog_dirname(const char *location, char **out, floe_error *err);

#endif
