/*
 * config/yaml_tree: YAML text -> a tree of nodes that remember where they
 * were written, plus the list of messages a load collects.
 *
 * libyaml's document API forgets nothing we need, but it lets duplicate keys
 * through silently and allocates outside floe_malloc; walking the event
 * stream ourselves gives every key and value its line and column, reports a
 * duplicate key at its second occurrence ("first set at line 4"), resolves
 * aliases by copying the anchored node, and keeps the scalar style so that
 * `null` and `"null"` stay different. Syntax errors carry libyaml's problem
 * mark, with a hint for the two mistakes people make most: tabs and
 * indentation.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config/config_internal.h"

#define MAX_DEPTH 64
#define PATH_SIZE 512

/* ---- diagnostics ------------------------------------------------------ */

static void diags_push(cfg_diags *d, char *message, int line, int column) {
  if (message == NULL) {
    d->oom = true;
    return;
  }
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    char **grown = floe_realloc(d->messages, cap * sizeof *grown);
    if (grown != NULL) d->messages = grown;
    long *positions = grown ? floe_realloc(d->positions, cap * sizeof *positions) : NULL;
    if (positions != NULL) d->positions = positions;
    if (grown == NULL || positions == NULL) {
      floe_free(message);
      d->oom = true;
      return;
    }
    d->cap = cap;
  }
  d->positions[d->n] = line > 0 ? (long)line << 20 | (column & 0xfffff) : LONG_MAX;
  d->messages[d->n++] = message;
}

void cfg_diags_sort(cfg_diags *d) {
  for (size_t i = 1; i < d->n; i++) { /* insertion sort: stable, lists are short */
    char *message = d->messages[i];
    long position = d->positions[i];
    size_t j = i;
    for (; j > 0 && d->positions[j - 1] > position; j--) {
      d->messages[j] = d->messages[j - 1];
      d->positions[j] = d->positions[j - 1];
    }
    d->messages[j] = message;
    d->positions[j] = position;
  }
}

static void diag_vadd(cfg_diags *d, const char *origin, int line, int column,
                      const char *path, const char *fmt, va_list ap) {
  floe_buf buf = FLOE_BUF_INIT;
  int rc = 0;
  if (line > 0)
    rc |= floe_buf_appendf(&buf, "%s:%d:%d: ", origin, line, column);
  else
    rc |= floe_buf_appendf(&buf, "%s: ", origin);
  if (path != NULL && path[0] != '\0') rc |= floe_buf_appendf(&buf, "%s: ", path);
  char text[FLOE_ERROR_MESSAGE_SIZE];
  vsnprintf(text, sizeof text, fmt, ap);
  rc |= floe_buf_append_str(&buf, text);
  rc |= floe_buf_terminate(&buf);
  if (rc != 0) {
    floe_buf_free(&buf);
    d->oom = true;
    return;
  }
  diags_push(d, (char *)floe_buf_detach(&buf, NULL), line, column);
}

void cfg_diag_at(cfg_diags *d, const char *origin, int line, int column, const char *path,
                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(d, origin, line, column, path, fmt, ap);
  va_end(ap);
}

void cfg_diag(cfg_diags *d, const cfg_node *at, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(d, at ? at->origin : "?", at ? at->line : 0, at ? at->column : 0, path, fmt,
            ap);
  va_end(ap);
}

static int push_string(char ***list, size_t *n, const char *s) {
  char *copy = floe_strdup(s);
  if (copy == NULL) return FLOE_ENOMEM;
  char **grown = floe_realloc(*list, (*n + 1) * sizeof *grown);
  if (grown == NULL) {
    floe_free(copy);
    return FLOE_ENOMEM;
  }
  grown[(*n)++] = copy;
  *list = grown;
  return FLOE_OK;
}

const char *cfg_diags_intern(cfg_diags *d, const char *origin) {
  for (size_t i = 0; i < d->n_origins; i++)
    if (strcmp(d->origins[i], origin) == 0) return d->origins[i];
  if (push_string(&d->origins, &d->n_origins, origin) != 0) {
    d->oom = true;
    return "?";
  }
  return d->origins[d->n_origins - 1];
}

void cfg_diags_add_secret(cfg_diags *d, const char *value) {
  if (value == NULL || value[0] == '\0') return;
  for (size_t i = 0; i < d->n_secrets; i++)
    if (strcmp(d->secrets[i], value) == 0) return;
  if (push_string(&d->secrets, &d->n_secrets, value) != 0) d->oom = true;
}

static void free_strings(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) floe_free(list[i]);
  floe_free(list);
}

void cfg_diags_free(cfg_diags *d) {
  if (d == NULL) return;
  free_strings(d->messages, d->n);
  floe_free(d->positions);
  free_strings(d->origins, d->n_origins);
  free_strings(d->secrets, d->n_secrets);
  memset(d, 0, sizeof *d);
}

/* ---- nodes ------------------------------------------------------------ */

cfg_node *cfg_node_new(cfg_node_kind kind, const char *origin, int line, int column) {
  cfg_node *node = floe_calloc(1, sizeof *node);
  if (node == NULL) return NULL;
  node->kind = kind;
  node->origin = origin;
  node->line = line;
  node->column = column;
  return node;
}

void cfg_node_free(cfg_node *node) {
  if (node == NULL) return;
  for (size_t i = 0; i < node->n; i++) {
    cfg_node_free(node->items[i]);
    if (node->keys != NULL) cfg_node_free(node->keys[i]);
  }
  floe_free(node->items);
  floe_free(node->keys);
  floe_free(node->text);
  floe_free(node->interp_from);
  floe_free(node);
}

int cfg_node_push(cfg_node *parent, cfg_node *key, cfg_node *value) {
  if (parent->n == parent->cap) {
    size_t cap = parent->cap ? parent->cap * 2 : 4;
    cfg_node **items = floe_realloc(parent->items, cap * sizeof *items);
    if (items == NULL) return FLOE_ENOMEM;
    parent->items = items;
    if (parent->kind == CFG_MAPPING) {
      cfg_node **keys = floe_realloc(parent->keys, cap * sizeof *keys);
      if (keys == NULL) return FLOE_ENOMEM;
      parent->keys = keys;
    }
    parent->cap = cap;
  }
  parent->items[parent->n] = value;
  if (parent->kind == CFG_MAPPING) parent->keys[parent->n] = key;
  parent->n++;
  return FLOE_OK;
}

cfg_node *cfg_node_copy(const cfg_node *node) {
  if (node == NULL) return NULL;
  cfg_node *copy = cfg_node_new(node->kind, node->origin, node->line, node->column);
  if (copy == NULL) return NULL;
  copy->plain = node->plain;
  if (node->text != NULL && (copy->text = floe_strdup(node->text)) == NULL) goto fail;
  if (node->interp_from != NULL &&
      (copy->interp_from = floe_strdup(node->interp_from)) == NULL)
    goto fail;
  for (size_t i = 0; i < node->n; i++) {
    cfg_node *key = node->keys ? cfg_node_copy(node->keys[i]) : NULL;
    cfg_node *value = cfg_node_copy(node->items[i]);
    if (value == NULL || (node->keys != NULL && key == NULL) ||
        cfg_node_push(copy, key, value) != 0) {
      cfg_node_free(key);
      cfg_node_free(value);
      goto fail;
    }
  }
  return copy;
fail:
  cfg_node_free(copy);
  return NULL;
}

cfg_node *cfg_map_get(const cfg_node *map, const char *key, size_t *index) {
  if (map == NULL || map->kind != CFG_MAPPING) return NULL;
  for (size_t i = 0; i < map->n; i++) {
    if (strcmp(map->keys[i]->text, key) == 0) {
      if (index != NULL) *index = i;
      return map->items[i];
    }
  }
  return NULL;
}

bool cfg_node_is_null(const cfg_node *node) {
  if (node == NULL) return true;
  if (node->kind != CFG_SCALAR || !node->plain) return false;
  const char *t = node->text;
  return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
         strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

/* ---- parsing ---------------------------------------------------------- */

typedef struct anchor {
  char *name;
  const cfg_node *node;
} anchor;

typedef struct parse_state {
  yaml_parser_t parser;
  const char *text;
  size_t len;
  const char *origin;
  bool track_lines;
  const char *override_path;
  cfg_diags *diags;
  anchor *anchors;
  size_t n_anchors;
  bool failed; /* an error was reported; stop */
} parse_state;

static void syntax_error(parse_state *st) {
  yaml_parser_t *p = &st->parser;
  if (p->error == YAML_MEMORY_ERROR) {
    st->diags->oom = true;
    st->failed = true;
    return;
  }
  const char *problem = p->problem ? p->problem : "malformed YAML";
  char hint[160] = "";
  size_t at = p->problem_mark.index;
  /* The scanner stops at a tab it cannot use as indentation. */
  if (at < st->len && st->text[at] == '\t')
    snprintf(hint, sizeof hint, "; a tab: YAML indents with spaces only");
  else if (strstr(problem, "mapping values are not allowed") != NULL ||
           strstr(problem, "did not find expected key") != NULL ||
           strstr(problem, "did not find expected '-'") != NULL)
    snprintf(hint, sizeof hint, "; check the indentation of this line and the one above");
  char context[200] = "";
  if (p->context != NULL)
    snprintf(context, sizeof context, " %s at line %zu", p->context,
             (size_t)p->context_mark.line + 1);
  if (st->track_lines)
    cfg_diag_at(st->diags, st->origin, (int)p->problem_mark.line + 1,
                (int)p->problem_mark.column + 1, NULL, "YAML syntax error: %s (%s%s)",
                problem, context[0] ? context + 1 : "", hint);
  else
    cfg_diag_at(st->diags, st->origin, 0, 0, st->override_path,
                "YAML syntax error in the value: %s%s", problem, hint);
  st->failed = true;
}

static bool next_event(parse_state *st, yaml_event_t *ev) {
  if (!yaml_parser_parse(&st->parser, ev)) {
    syntax_error(st);
    return false;
  }
  return true;
}

static int mark_line(parse_state *st, yaml_mark_t m) {
  return st->track_lines ? (int)m.line + 1 : 0;
}
static int mark_col(parse_state *st, yaml_mark_t m) {
  return st->track_lines ? (int)m.column + 1 : 0;
}

static void join_path(char *out, const char *path, const char *key) {
  if (path[0] == '\0')
    snprintf(out, PATH_SIZE, "%s", key);
  else
    snprintf(out, PATH_SIZE, "%s.%s", path, key);
}

static cfg_node *parse_node(parse_state *st, yaml_event_t *ev, const char *path, int depth);

static void fail_oom(parse_state *st) {
  st->diags->oom = true;
  st->failed = true;
}

static void remember_anchor(parse_state *st, const yaml_char_t *name, const cfg_node *node) {
  if (name == NULL || node == NULL) return;
  anchor *grown = floe_realloc(st->anchors, (st->n_anchors + 1) * sizeof *grown);
  if (grown == NULL) {
    fail_oom(st);
    return;
  }
  st->anchors = grown;
  char *copy = floe_strdup((const char *)name);
  if (copy == NULL) {
    fail_oom(st);
    return;
  }
  st->anchors[st->n_anchors].name = copy;
  st->anchors[st->n_anchors].node = node;
  st->n_anchors++;
}

static cfg_node *parse_mapping(parse_state *st, yaml_event_t *start, const char *path,
                               int depth) {
  cfg_node *map = cfg_node_new(CFG_MAPPING, st->origin, mark_line(st, start->start_mark),
                               mark_col(st, start->start_mark));
  if (map == NULL) {
    fail_oom(st);
    return NULL;
  }
  for (;;) {
    yaml_event_t ev;
    if (!next_event(st, &ev)) break;
    if (ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      return map;
    }
    if (ev.type != YAML_SCALAR_EVENT) {
      cfg_diag_at(st->diags, st->origin, mark_line(st, ev.start_mark),
                  mark_col(st, ev.start_mark), path[0] ? path : NULL,
                  "a key must be plain text, not a list or mapping");
      yaml_event_delete(&ev);
      st->failed = true;
      break;
    }
    cfg_node *key = parse_node(st, &ev, path, depth + 1);
    yaml_event_delete(&ev);
    if (key == NULL) break;
    char child[PATH_SIZE];
    join_path(child, path, key->text);
    const cfg_node *first = NULL;
    for (size_t i = 0; i < map->n; i++)
      if (strcmp(map->keys[i]->text, key->text) == 0) first = map->keys[i];
    if (first != NULL) {
      if (st->track_lines)
        cfg_diag(st->diags, key, child, "duplicate key (first set at line %d)", first->line);
      else
        cfg_diag(st->diags, key, st->override_path, "duplicate key '%s' in the value",
                 key->text);
      cfg_node_free(key);
      st->failed = true;
      break;
    }
    yaml_event_t vev;
    if (!next_event(st, &vev)) {
      cfg_node_free(key);
      break;
    }
    cfg_node *value = parse_node(st, &vev, child, depth + 1);
    yaml_event_delete(&vev);
    if (value == NULL) {
      cfg_node_free(key);
      break;
    }
    if (cfg_node_push(map, key, value) != 0) {
      cfg_node_free(key);
      cfg_node_free(value);
      fail_oom(st);
      break;
    }
  }
  cfg_node_free(map);
  return NULL;
}

static cfg_node *parse_sequence(parse_state *st, yaml_event_t *start, const char *path,
                                int depth) {
  cfg_node *seq = cfg_node_new(CFG_SEQUENCE, st->origin, mark_line(st, start->start_mark),
                               mark_col(st, start->start_mark));
  if (seq == NULL) {
    fail_oom(st);
    return NULL;
  }
  for (;;) {
    yaml_event_t ev;
    if (!next_event(st, &ev)) break;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return seq;
    }
    char child[PATH_SIZE];
    snprintf(child, sizeof child, "%s[%zu]", path, seq->n);
    cfg_node *item = parse_node(st, &ev, child, depth + 1);
    yaml_event_delete(&ev);
    if (item == NULL) break;
    if (cfg_node_push(seq, NULL, item) != 0) {
      cfg_node_free(item);
      fail_oom(st);
      break;
    }
  }
  cfg_node_free(seq);
  return NULL;
}

/* Builds the node that starts with `ev` (the caller deletes ev). */
static cfg_node *parse_node(parse_state *st, yaml_event_t *ev, const char *path, int depth) {
  if (depth > MAX_DEPTH) {
    cfg_diag_at(st->diags, st->origin, mark_line(st, ev->start_mark),
                mark_col(st, ev->start_mark), path[0] ? path : NULL,
                "nested more than %d levels deep", MAX_DEPTH);
    st->failed = true;
    return NULL;
  }
  cfg_node *node = NULL;
  switch (ev->type) {
    case YAML_SCALAR_EVENT: {
      node = cfg_node_new(CFG_SCALAR, st->origin, mark_line(st, ev->start_mark),
                          mark_col(st, ev->start_mark));
      if (node == NULL) {
        fail_oom(st);
        return NULL;
      }
      node->text = floe_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
      if (node->text == NULL) {
        cfg_node_free(node);
        fail_oom(st);
        return NULL;
      }
      if (strlen(node->text) != ev->data.scalar.length) {
        cfg_diag(st->diags, node, path[0] ? path : NULL, "value contains a NUL character");
        cfg_node_free(node);
        st->failed = true;
        return NULL;
      }
      node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    ev->data.scalar.tag == NULL;
      remember_anchor(st, ev->data.scalar.anchor, node);
      return node;
    }
    case YAML_SEQUENCE_START_EVENT: {
      node = parse_sequence(st, ev, path, depth);
      remember_anchor(st, ev->data.sequence_start.anchor, node);
      return node;
    }
    case YAML_MAPPING_START_EVENT: {
      node = parse_mapping(st, ev, path, depth);
      remember_anchor(st, ev->data.mapping_start.anchor, node);
      return node;
    }
    case YAML_ALIAS_EVENT: {
      const char *name = (const char *)ev->data.alias.anchor;
      /* The most recent definition of a name wins (YAML 1.2, 3.2.2.2). */
      for (size_t i = st->n_anchors; i-- > 0;) {
        if (strcmp(st->anchors[i].name, name) == 0) {
          node = cfg_node_copy(st->anchors[i].node);
          if (node == NULL) fail_oom(st);
          return node;
        }
      }
      cfg_diag_at(st->diags, st->origin, mark_line(st, ev->start_mark),
                  mark_col(st, ev->start_mark), path[0] ? path : NULL,
                  "alias *%s refers to no anchor defined before it", name);
      st->failed = true;
      return NULL;
    }
    default:
      cfg_diag_at(st->diags, st->origin, mark_line(st, ev->start_mark),
                  mark_col(st, ev->start_mark), NULL, "unexpected YAML event %d",
                  (int)ev->type);
      st->failed = true;
      return NULL;
  }
}

int cfg_yaml_parse(cfg_node **out, const char *text, size_t len, const char *origin,
                   bool track_lines, const char *path_for_messages, cfg_diags *diags) {
  *out = NULL;
  parse_state st;
  memset(&st, 0, sizeof st);
  st.text = text;
  st.len = len;
  st.origin = origin;
  st.track_lines = track_lines;
  st.override_path = path_for_messages;
  st.diags = diags;
  if (!yaml_parser_initialize(&st.parser)) {
    diags->oom = true;
    return FLOE_ENOMEM;
  }
  yaml_parser_set_input_string(&st.parser, (const unsigned char *)text, len);
  cfg_node *root = NULL;
  int documents = 0;
  yaml_event_t ev;
  bool done = false;
  while (!done && !st.failed) {
    if (!next_event(&st, &ev)) break;
    switch (ev.type) {
      case YAML_STREAM_START_EVENT:
      case YAML_DOCUMENT_END_EVENT:
        break;
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1) {
          cfg_diag_at(diags, origin, mark_line(&st, ev.start_mark),
                      mark_col(&st, ev.start_mark), path_for_messages,
                      "a second YAML document; floe reads one document per file");
          st.failed = true;
        }
        break;
      default:
        root = parse_node(&st, &ev, "", 0);
        break;
    }
    yaml_event_delete(&ev);
  }
  for (size_t i = 0; i < st.n_anchors; i++) floe_free(st.anchors[i].name);
  floe_free(st.anchors);
  yaml_parser_delete(&st.parser);
  if (st.failed || diags->oom) {
    cfg_node_free(root);
    return diags->oom ? FLOE_ENOMEM : FLOE_EFORMAT;
  }
  *out = root;
  return FLOE_OK;
}
