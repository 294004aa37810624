/*
 * config/config_internal.h: the pieces shared by the files of src/config.
 *
 * yaml_tree.c turns YAML text into a tree of cfg_node that remembers where
 * every key and value was written; interp.c rewrites scalar values in place
 * (${ENV}, ${file:...}); config.c applies overrides, checks the tree against
 * the schema and maps it onto the public structs; partition.c parses
 * partition specs; dump.c renders the structs back as YAML.
 */
#ifndef FLOE_CONFIG_INTERNAL_H
#define FLOE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/config.h"

typedef enum cfg_node_kind { CFG_SCALAR, CFG_SEQUENCE, CFG_MAPPING } cfg_node_kind;

typedef struct cfg_node {
  cfg_node_kind kind;
  const char *origin; /* file name or "override"; owned by the diagnostics */
  int line;           /* 1-based; 0 for overrides */
  int column;
  /* scalar */
  char *text;
  bool plain;        /* plain style: null/true/42 are typed; quoted are strings */
  char *interp_from; /* "${NAME}" of the first reference when interpolated */
  /* sequence items, or mapping values (keys[i] -> items[i]) */
  struct cfg_node **items;
  struct cfg_node **keys; /* mapping only; scalar nodes */
  size_t n;
  size_t cap;
} cfg_node;

/* The collected messages and the strings that must never be shown. */
typedef struct cfg_diags {
  char **messages;
  long *positions; /* line << 20 | column, for sorting; overrides last */
  size_t n;
  size_t cap;
  char **origins; /* interned origin strings */
  size_t n_origins;
  char **secrets; /* values read from ${file:} or secret-looking env vars */
  size_t n_secrets;
  bool oom;
} cfg_diags;

struct floe_config_private {
  cfg_diags diags;
  cfg_node *root;
  char *base_dir; /* directory of the file, for relative paths; NULL: none */
};

/* Diagnostics. Each adds "origin:line:col: path: message" (path may be NULL);
 * allocation failure sets diags->oom. */
void cfg_diag_at(cfg_diags *d, const char *origin, int line, int column, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cfg_diag(cfg_diags *d, const cfg_node *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *cfg_diags_intern(cfg_diags *d, const char *origin);
/* Puts the messages in file order (stable; override messages last). */
void cfg_diags_sort(cfg_diags *d);
void cfg_diags_add_secret(cfg_diags *d, const char *value);
void cfg_diags_free(cfg_diags *d);

/* Tree. */
cfg_node *cfg_node_new(cfg_node_kind kind, const char *origin, int line, int column);
void cfg_node_free(cfg_node *node);
cfg_node *cfg_node_copy(const cfg_node *node);
int cfg_node_push(cfg_node *parent, cfg_node *key, cfg_node *value);
/* Value of `key` in a mapping (NULL when absent or not a mapping); *index
 * gets its position when index is not NULL. */
cfg_node *cfg_map_get(const cfg_node *map, const char *key, size_t *index);
/* A plain null scalar: null, Null, NULL, ~ or empty. */
bool cfg_node_is_null(const cfg_node *node);

/*
 * Parses YAML text into *out (one document; NULL root for an empty one).
 * Syntax errors and duplicate keys go to diags with libyaml's problem mark
 * and return FLOE_EFORMAT. `origin` must be interned in diags. Without
 * track_lines (override values) nodes get line 0 and syntax errors name
 * path_for_messages instead of a line.
 */
int cfg_yaml_parse(cfg_node **out, const char *text, size_t len, const char *origin,
                   bool track_lines, const char *path_for_messages, cfg_diags *diags);

/* Interpolation of every scalar value under `node` (keys are left alone).
 * base_dir resolves relative ${file:} paths (NULL: as written). Problems go
 * to diags with the key path. */
void cfg_interpolate(cfg_node *node, const char *path, const char *base_dir, cfg_diags *diags);

/* How a value is shown in a message: "'upsert'", or "(value from ${X})" when
 * interpolated, so that secrets never reach a log. */
void cfg_show_value(const cfg_node *node, char *buf, size_t size);

/* The candidate nearest to `word` by edit distance, when close enough to be
 * a plausible typo (or a known synonym); NULL otherwise. */
const char *cfg_suggest(const char *word, const char *const *candidates, size_t n);

/* Parses the TOML subset of Snowflake's connections.toml (config/
 * connections.c) into a mapping tree whose nodes carry file lines; strings
 * are quoted scalars, integers and booleans plain. Errors go to diags as
 * origin:line:col and return FLOE_EFORMAT. */
int cfg_toml_parse(cfg_node **out, const char *text, size_t len, const char *origin,
                   cfg_diags *diags);
/* `source.connection: NAME`: finds connections.toml as the Snowflake drivers
 * do, checks its permissions, and adds the connection's settings to the
 * `source` mapping for every key the mapping does not set itself. Problems
 * go to diags (FLOE_EINVAL, FLOE_EFORMAT, FLOE_EIO; FLOE_ENOMEM sets oom). */
int cfg_snowflake_connection(cfg_node *source, cfg_diags *diags);

/* Dumping helpers. */
bool cfg_is_secret_text(const floe_config *cfg, const char *text);

#endif
