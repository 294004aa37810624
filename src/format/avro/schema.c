/*
 * format/avro/schema: Avro schema JSON to a tree of floe_avro_node (Avro
 * spec: "Schema Declaration", "Names").
 *
 * Iceberg puts its own attributes (field-id, element-id, key-id, value-id)
 * into the schema JSON and requires them to survive, so the parsed JSON
 * (jansson) stays alive beside the tree and each node and field keeps a
 * pointer to its JSON object: attributes are read from there rather than
 * copied into fields floe would have to know about. The text itself is kept
 * byte for byte because the writer must emit it verbatim. Named types are
 * registered before their bodies are parsed, so a record may refer to
 * itself; every reference to a name shares one node. Nodes live in an
 * arena owned by the schema.
 */
#include <jansson.h>
#include <string.h>

#include "format/avro/avro_internal.h"

typedef struct named_type {
  const char *fullname;
  floe_avro_node *node;
  struct named_type *next;
} named_type;

typedef struct parse_ctx {
  floe_avro_schema *schema;
  named_type *names;
  floe_error *err;
} parse_ctx;

/* Nodes carry a private state word for the min-size computation. */
typedef struct node_impl {
  floe_avro_node pub;
  int min_state; /* 0 not computed, 1 in progress, 2 done */
} node_impl;

static const struct {
  const char *name;
  floe_avro_type type;
} primitive_names[] = {
    {"null", FLOE_AVRO_NULL},     {"boolean", FLOE_AVRO_BOOLEAN},
    {"int", FLOE_AVRO_INT},       {"long", FLOE_AVRO_LONG},
    {"float", FLOE_AVRO_FLOAT},   {"double", FLOE_AVRO_DOUBLE},
    {"bytes", FLOE_AVRO_BYTES},   {"string", FLOE_AVRO_STRING},
};

const char *floe_avro_type_name(int type) {
  static const char *const names[] = {
      "unset",  "null", "boolean", "int",  "long",  "float", "double", "bytes",
      "string", "record", "enum",  "array", "map", "union", "fixed"};
  if (type < 0 || type > FLOE_AVRO_FIXED) return "unknown";
  return names[type];
}

const char *floe_avro_codec_name(floe_avro_codec codec) {
  switch (codec) {
    case FLOE_AVRO_CODEC_NULL: return "null";
    case FLOE_AVRO_CODEC_DEFLATE: return "deflate";
    case FLOE_AVRO_CODEC_SNAPPY: return "snappy";
    case FLOE_AVRO_CODEC_ZSTD: return "zstandard";
  }
  return "unknown";
}

int floe_avro_codec_parse(const char *name) {
  if (strcmp(name, "null") == 0) return FLOE_AVRO_CODEC_NULL;
  if (strcmp(name, "deflate") == 0) return FLOE_AVRO_CODEC_DEFLATE;
  if (strcmp(name, "snappy") == 0) return FLOE_AVRO_CODEC_SNAPPY;
  if (strcmp(name, "zstandard") == 0 || strcmp(name, "zstd") == 0)
    return FLOE_AVRO_CODEC_ZSTD;
  return -1;
}

static int primitive_type(const char *name) {
  for (size_t i = 0; i < sizeof primitive_names / sizeof primitive_names[0]; i++)
    if (strcmp(name, primitive_names[i].name) == 0) return (int)primitive_names[i].type;
  return -1;
}

static floe_avro_node *new_node(parse_ctx *ctx, floe_avro_type type,
                                const json_t *json) {
  node_impl *impl = floe_arena_calloc(&ctx->schema->arena, 1, sizeof *impl);
  if (impl == NULL) return NULL;
  impl->pub.type = type;
  impl->pub.json = json;
  return &impl->pub;
}

static int oom(parse_ctx *ctx) {
  return floe_error_set(ctx->err, FLOE_ENOMEM, "avro schema: out of memory");
}

static floe_avro_node *lookup(parse_ctx *ctx, const char *fullname) {
  for (named_type *n = ctx->names; n != NULL; n = n->next)
    if (strcmp(n->fullname, fullname) == 0) return n->node;
  return NULL;
}

/* Resolves a type name used as a reference (Avro spec: "Names": a name
 * without a dot is looked up in the enclosing namespace first). */
static floe_avro_node *resolve(parse_ctx *ctx, const char *name,
                               const char *ns) {
  if (strchr(name, '.') == NULL && ns != NULL && ns[0] != '\0') {
    size_t need = strlen(ns) + strlen(name) + 2;
    char *full = floe_arena_alloc(&ctx->schema->arena, need);
    if (full == NULL) return NULL;
    snprintf(full, need, "%s.%s", ns, name);
    floe_avro_node *node = lookup(ctx, full);
    if (node != NULL) return node;
  }
  return lookup(ctx, name);
}

/* Computes the full name and the namespace for a named type's body. */
static int full_name(parse_ctx *ctx, const json_t *json, const char *ns,
                     const char **out_full, const char **out_ns) {
  const char *name = json_string_value(json_object_get(json, "name"));
  if (name == NULL || name[0] == '\0')
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: named type without a \"name\"");
  floe_arena *arena = &ctx->schema->arena;
  const char *dot = strrchr(name, '.');
  if (dot != NULL) {
    *out_full = name;
    *out_ns = floe_arena_strndup(arena, name, (size_t)(dot - name));
    return *out_ns == NULL ? oom(ctx) : FLOE_OK;
  }
  const json_t *ns_json = json_object_get(json, "namespace");
  if (json_is_string(ns_json)) ns = json_string_value(ns_json);
  if (ns == NULL || ns[0] == '\0') {
    *out_full = name;
    *out_ns = NULL;
    return FLOE_OK;
  }
  size_t need = strlen(ns) + strlen(name) + 2;
  char *full = floe_arena_alloc(arena, need);
  if (full == NULL) return oom(ctx);
  snprintf(full, need, "%s.%s", ns, name);
  *out_full = full;
  *out_ns = ns;
  return FLOE_OK;
}

static int register_name(parse_ctx *ctx, const char *fullname,
                         floe_avro_node *node) {
  if (primitive_type(fullname) >= 0)
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: type name '%s' is a primitive type", fullname);
  if (lookup(ctx, fullname) != NULL)
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: type '%s' is defined twice", fullname);
  named_type *entry = floe_arena_alloc(&ctx->schema->arena, sizeof *entry);
  if (entry == NULL) return oom(ctx);
  entry->fullname = fullname;
  entry->node = node;
  entry->next = ctx->names;
  ctx->names = entry;
  node->name = fullname;
  return FLOE_OK;
}

static void read_logical(floe_avro_node *node, const json_t *json) {
  node->logical_type = json_string_value(json_object_get(json, "logicalType"));
  const json_t *precision = json_object_get(json, "precision");
  const json_t *scale = json_object_get(json, "scale");
  if (json_is_integer(precision) && json_integer_value(precision) >= 0 &&
      json_integer_value(precision) <= INT32_MAX)
    node->precision = (int32_t)json_integer_value(precision);
  if (json_is_integer(scale) && json_integer_value(scale) >= 0 &&
      json_integer_value(scale) <= INT32_MAX)
    node->scale = (int32_t)json_integer_value(scale);
}

static int parse_node(parse_ctx *ctx, const json_t *json, const char *ns,
                      int depth, floe_avro_node **out);

static int parse_record(parse_ctx *ctx, const json_t *json, const char *ns,
                        int depth, floe_avro_node **out) {
  const char *fullname, *inner_ns;
  int rc = full_name(ctx, json, ns, &fullname, &inner_ns);
  if (rc < 0) return rc;
  floe_avro_node *node = new_node(ctx, FLOE_AVRO_RECORD, json);
  if (node == NULL) return oom(ctx);
  if ((rc = register_name(ctx, fullname, node)) < 0) return rc;
  const json_t *fields = json_object_get(json, "fields");
  if (!json_is_array(fields))
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: record '%s' has no \"fields\" array", fullname);
  size_t count = json_array_size(fields);
  floe_avro_field *out_fields = floe_arena_calloc(&ctx->schema->arena, count ? count : 1,
                                                  sizeof *out_fields);
  if (out_fields == NULL) return oom(ctx);
  for (size_t i = 0; i < count; i++) {
    const json_t *field = json_array_get(fields, i);
    const char *name = json_string_value(json_object_get(field, "name"));
    if (name == NULL)
      return floe_error_set(ctx->err, FLOE_EFORMAT,
                            "avro schema: record '%s' field %zu has no \"name\"", fullname, i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(out_fields[j].name, name) == 0)
        return floe_error_set(ctx->err, FLOE_EFORMAT,
                              "avro schema: record '%s' has two fields named '%s'", fullname, name);
    const json_t *type = json_object_get(field, "type");
    if (type == NULL)
      return floe_error_set(ctx->err, FLOE_EFORMAT,
                            "avro schema: field '%s.%s' has no \"type\"", fullname, name);
    floe_avro_node *field_type;
    if ((rc = parse_node(ctx, type, inner_ns, depth + 1, &field_type)) < 0)
      return floe_error_prefix(ctx->err, "field '%s.%s'", fullname, name), rc;
    out_fields[i].name = name;
    out_fields[i].type = field_type;
    out_fields[i].json = field;
  }
  node->fields = out_fields;
  node->field_count = count;
  *out = node;
  return FLOE_OK;
}

static int parse_enum(parse_ctx *ctx, const json_t *json, const char *ns,
                      floe_avro_node **out) {
  const char *fullname, *inner_ns;
  int rc = full_name(ctx, json, ns, &fullname, &inner_ns);
  if (rc < 0) return rc;
  floe_avro_node *node = new_node(ctx, FLOE_AVRO_ENUM, json);
  if (node == NULL) return oom(ctx);
  if ((rc = register_name(ctx, fullname, node)) < 0) return rc;
  const json_t *symbols = json_object_get(json, "symbols");
  if (!json_is_array(symbols))
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: enum '%s' has no \"symbols\" array", fullname);
  size_t count = json_array_size(symbols);
  const char **out_symbols = floe_arena_calloc(&ctx->schema->arena, count ? count : 1,
                                               sizeof *out_symbols);
  if (out_symbols == NULL) return oom(ctx);
  for (size_t i = 0; i < count; i++) {
    out_symbols[i] = json_string_value(json_array_get(symbols, i));
    if (out_symbols[i] == NULL)
      return floe_error_set(ctx->err, FLOE_EFORMAT,
                            "avro schema: enum '%s' symbol %zu is not a string", fullname, i);
  }
  node->symbols = out_symbols;
  node->symbol_count = count;
  *out = node;
  return FLOE_OK;
}

static int parse_fixed(parse_ctx *ctx, const json_t *json, const char *ns,
                       floe_avro_node **out) {
  const char *fullname, *inner_ns;
  int rc = full_name(ctx, json, ns, &fullname, &inner_ns);
  if (rc < 0) return rc;
  floe_avro_node *node = new_node(ctx, FLOE_AVRO_FIXED, json);
  if (node == NULL) return oom(ctx);
  if ((rc = register_name(ctx, fullname, node)) < 0) return rc;
  const json_t *size = json_object_get(json, "size");
  if (!json_is_integer(size) || json_integer_value(size) < 0 ||
      json_integer_value(size) > INT32_MAX)
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: fixed '%s' needs a \"size\" between 0 and 2^31-1",
                          fullname);
  node->fixed_size = (size_t)json_integer_value(size);
  read_logical(node, json);
  *out = node;
  return FLOE_OK;
}

static int parse_union(parse_ctx *ctx, const json_t *json, const char *ns,
                       int depth, floe_avro_node **out) {
  size_t count = json_array_size(json);
  if (count == 0)
    return floe_error_set(ctx->err, FLOE_EFORMAT, "avro schema: union with no branches");
  floe_avro_node *node = new_node(ctx, FLOE_AVRO_UNION, json);
  const floe_avro_node **branches =
      floe_arena_calloc(&ctx->schema->arena, count, sizeof *branches);
  if (node == NULL || branches == NULL) return oom(ctx);
  for (size_t i = 0; i < count; i++) {
    floe_avro_node *branch;
    int rc = parse_node(ctx, json_array_get(json, i), ns, depth + 1, &branch);
    if (rc < 0) return floe_error_prefix(ctx->err, "union branch %zu", i), rc;
    /* Avro spec: "Unions may not immediately contain other unions", and
     * may not hold two unnamed schemas of the same type. */
    if (branch->type == FLOE_AVRO_UNION)
      return floe_error_set(ctx->err, FLOE_EFORMAT,
                            "avro schema: union branch %zu is itself a union", i);
    for (size_t j = 0; j < i; j++)
      if (branches[j]->type == branch->type &&
          (branch->name == NULL || branches[j]->name == NULL ||
           strcmp(branch->name, branches[j]->name) == 0))
        return floe_error_set(ctx->err, FLOE_EFORMAT,
                              "avro schema: union holds two branches of type %s",
                              branch->name ? branch->name : floe_avro_type_name(branch->type));
    branches[i] = branch;
  }
  node->branches = branches;
  node->branch_count = count;
  *out = node;
  return FLOE_OK;
}

static int parse_node(parse_ctx *ctx, const json_t *json, const char *ns,
                      int depth, floe_avro_node **out) {
  if (depth > FLOE_AVRO_MAX_DEPTH)
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: nested deeper than %d levels", FLOE_AVRO_MAX_DEPTH);
  if (json_is_string(json)) {
    const char *name = json_string_value(json);
    int prim = primitive_type(name);
    if (prim >= 0) {
      *out = new_node(ctx, (floe_avro_type)prim, json);
      return *out == NULL ? oom(ctx) : FLOE_OK;
    }
    *out = resolve(ctx, name, ns);
    if (*out == NULL)
      return floe_error_set(ctx->err, FLOE_EFORMAT, "avro schema: unknown type '%s'", name);
    return FLOE_OK;
  }
  if (json_is_array(json)) return parse_union(ctx, json, ns, depth, out);
  if (!json_is_object(json))
    return floe_error_set(ctx->err, FLOE_EFORMAT,
                          "avro schema: a type must be a string, object or array");
  const json_t *type = json_object_get(json, "type");
  if (type == NULL)
    return floe_error_set(ctx->err, FLOE_EFORMAT, "avro schema: object without \"type\"");
  if (!json_is_string(type)) return parse_node(ctx, type, ns, depth + 1, out);
  const char *name = json_string_value(type);
  int prim = primitive_type(name);
  if (prim >= 0) {
    floe_avro_node *node = new_node(ctx, (floe_avro_type)prim, json);
    if (node == NULL) return oom(ctx);
    read_logical(node, json);
    *out = node;
    return FLOE_OK;
  }
  if (strcmp(name, "record") == 0 || strcmp(name, "error") == 0)
    return parse_record(ctx, json, ns, depth, out);
  if (strcmp(name, "enum") == 0) return parse_enum(ctx, json, ns, out);
  if (strcmp(name, "fixed") == 0) return parse_fixed(ctx, json, ns, out);
  if (strcmp(name, "array") == 0 || strcmp(name, "map") == 0) {
    int is_array = name[0] == 'a';
    const json_t *inner = json_object_get(json, is_array ? "items" : "values");
    if (inner == NULL)
      return floe_error_set(ctx->err, FLOE_EFORMAT, "avro schema: %s without \"%s\"", name,
                            is_array ? "items" : "values");
    floe_avro_node *node = new_node(ctx, is_array ? FLOE_AVRO_ARRAY : FLOE_AVRO_MAP, json);
    if (node == NULL) return oom(ctx);
    floe_avro_node *child;
    int rc = parse_node(ctx, inner, ns, depth + 1, &child);
    if (rc < 0) return rc;
    if (is_array)
      node->items = child;
    else
      node->values = child;
    read_logical(node, json);
    *out = node;
    return FLOE_OK;
  }
  /* {"type": "SomeName"}: a reference to a named type. */
  *out = resolve(ctx, name, ns);
  if (*out == NULL)
    return floe_error_set(ctx->err, FLOE_EFORMAT, "avro schema: unknown type '%s'", name);
  return FLOE_OK;
}

static size_t sat_add(size_t a, size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Fewest bytes a value can encode to; a record that (through a recursive
 * reference) contains itself counts that reference as 0. */
static size_t compute_min(floe_avro_node *node) {
  node_impl *impl = (node_impl *)node;
  if (impl->min_state == 2) return node->min_encoded_size;
  if (impl->min_state == 1) return 0;
  impl->min_state = 1;
  size_t size = 0;
  switch (node->type) {
    case FLOE_AVRO_NULL: size = 0; break;
    case FLOE_AVRO_FLOAT: size = 4; break;
    case FLOE_AVRO_DOUBLE: size = 8; break;
    case FLOE_AVRO_FIXED: size = node->fixed_size; break;
    case FLOE_AVRO_RECORD:
      for (size_t i = 0; i < node->field_count; i++)
        size = sat_add(size, compute_min((floe_avro_node *)node->fields[i].type));
      break;
    case FLOE_AVRO_ARRAY:
      compute_min((floe_avro_node *)node->items);
      size = 1;
      break;
    case FLOE_AVRO_MAP:
      compute_min((floe_avro_node *)node->values);
      size = 1;
      break;
    case FLOE_AVRO_UNION: {
      size_t least = SIZE_MAX;
      for (size_t i = 0; i < node->branch_count; i++) {
        size_t b = compute_min((floe_avro_node *)node->branches[i]);
        if (b < least) least = b;
      }
      size = sat_add(1, least);
      break;
    }
    default: size = 1; break; /* boolean, int, long, bytes, string, enum */
  }
  node->min_encoded_size = size;
  impl->min_state = 2;
  return size;
}

int floe_avro_schema_parse(floe_avro_schema **out, const char *json,
                           size_t len, floe_error *err) {
  int rc = FLOE_OK;
  *out = NULL;
  if (json == NULL) return floe_error_set(err, FLOE_EINVAL, "avro schema: no JSON given");
  if (len == 0) len = strlen(json);
  floe_avro_schema *schema = floe_calloc(1, sizeof *schema);
  if (schema == NULL) return floe_error_set(err, FLOE_ENOMEM, "avro schema: out of memory");
  floe_arena_init(&schema->arena, 8 * 1024);
  schema->text = floe_strndup(json, len);
  if (schema->text == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "avro schema: out of memory");
    goto cleanup;
  }
  schema->text_len = len;
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (root == NULL) {
    /* jansson (allocating through floe_malloc once the iceberg layer set
     * its allocator) reports a failed allocation in its lexer as a syntax
     * error; if not even one byte can be allocated now, it was ENOMEM. */
    void *probe = floe_malloc(1);
    floe_free(probe);
    if (probe == NULL || json_error_code(&jerr) == json_error_out_of_memory)
      rc = floe_error_set(err, FLOE_ENOMEM, "avro schema: out of memory parsing JSON");
    else
      rc = floe_error_set(err, FLOE_EFORMAT,
                          "avro schema: invalid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    goto cleanup;
  }
  schema->json = root;
  parse_ctx ctx = {schema, NULL, err};
  FLOE_TRY(parse_node(&ctx, root, NULL, 0, &schema->root));
  compute_min(schema->root);
  *out = schema;
  schema = NULL;
cleanup:
  floe_avro_schema_free(schema);
  return rc;
}

void floe_avro_schema_free(floe_avro_schema *schema) {
  if (schema == NULL) return;
  json_decref(schema->json);
  floe_arena_free(&schema->arena);
  floe_free(schema->text);
  floe_free(schema);
}

const floe_avro_node *floe_avro_schema_root(const floe_avro_schema *schema) {
  return schema->root;
}

const char *floe_avro_schema_json(const floe_avro_schema *schema, size_t *len) {
  if (len != NULL) *len = schema->text_len;
  return schema->text;
}

static const json_t *attr(const void *json, const char *key) {
  return json_is_object((const json_t *)json) ? json_object_get(json, key) : NULL;
}

static int attr_int(const void *json, const char *key, int64_t *out) {
  const json_t *value = attr(json, key);
  if (!json_is_integer(value)) return 0;
  *out = (int64_t)json_integer_value(value);
  return 1;
}

static char *attr_json(const void *json, const char *key) {
  const json_t *value = attr(json, key);
  if (value == NULL) return NULL;
  char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text == NULL) return NULL;
  char *copy = floe_strdup(text);
  free(text);
  return copy;
}

int floe_avro_node_attr_int(const floe_avro_node *node, const char *key,
                            int64_t *out) {
  return attr_int(node->json, key, out);
}
const char *floe_avro_node_attr_string(const floe_avro_node *node,
                                       const char *key) {
  return json_string_value(attr(node->json, key));
}
char *floe_avro_node_attr_json(const floe_avro_node *node, const char *key) {
  return attr_json(node->json, key);
}
int floe_avro_field_attr_int(const floe_avro_field *field, const char *key,
                             int64_t *out) {
  return attr_int(field->json, key, out);
}
const char *floe_avro_field_attr_string(const floe_avro_field *field,
                                        const char *key) {
  return json_string_value(attr(field->json, key));
}
char *floe_avro_field_attr_json(const floe_avro_field *field, const char *key) {
  return attr_json(field->json, key);
}

long floe_avro_node_field_index(const floe_avro_node *record, const char *name) {
  if (record == NULL || record->type != FLOE_AVRO_RECORD) return -1;
  for (size_t i = 0; i < record->field_count; i++)
    if (strcmp(record->fields[i].name, name) == 0) return (long)i;
  return -1;
}
