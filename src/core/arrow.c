/*
 * core/arrow: Arrow C data interface producers and consumers.
 *
 * Schemas and arrays made here carry their storage in `private_data` and free
 * it in their release callbacks, per the Arrow C data interface contract
 * (https://arrow.apache.org/docs/format/CDataInterface.html), so they can be
 * handed to any Arrow consumer. Builders grow plain byte buffers and move
 * them into an array on finish; views are read-only cursors over any
 * conforming array, ours or a foreign one.
 *
 * Nested columns follow the Arrow Columnar Format: a list ("+l") is a
 * validity bitmap, int32 offsets and one child array; a map ("+m") is the
 * same with a child struct "entries" of "key" and "value"; a struct ("+s")
 * is a validity bitmap and one child array per field, each as long as the
 * struct. Builders own their child builders and finish them together with
 * themselves, so any nesting (list<struct<map<...>>>) is the same few
 * rules applied recursively; a null struct row appends a null to each
 * field so field builders always hold as many rows as their struct. Views
 * point at their children, which callers open as views of their own. Bulk appends from a view (floe_arrow_builder_append_view)
 * copy fixed-width values with memcpy and rebase offsets in one pass, so
 * scans can move column slices instead of single values.
 */
#include "floe/arrow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "floe/time.h"

/* ---- types ---------------------------------------------------------- */

int32_t floe_arrow_type_value_size(const floe_arrow_type_info *type) {
  switch (type->id) {
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_FLOAT:
    case FLOE_ARROW_DATE32:
      return 4;
    case FLOE_ARROW_INT64:
    case FLOE_ARROW_UINT64:
    case FLOE_ARROW_DOUBLE:
    case FLOE_ARROW_TIME64_US:
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
      return 8;
    case FLOE_ARROW_DECIMAL128:
      return 16;
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID:
      return type->byte_width;
    default:
      return 0;
  }
}

void floe_arrow_type_format(const floe_arrow_type_info *type, char *out,
                            size_t out_size) {
  const char *f = "";
  switch (type->id) {
    case FLOE_ARROW_BOOL: f = "b"; break;
    case FLOE_ARROW_INT32: f = "i"; break;
    case FLOE_ARROW_INT64: f = "l"; break;
    case FLOE_ARROW_UINT64: f = "L"; break;
    case FLOE_ARROW_FLOAT: f = "f"; break;
    case FLOE_ARROW_DOUBLE: f = "g"; break;
    case FLOE_ARROW_DATE32: f = "tdD"; break;
    case FLOE_ARROW_TIME64_US: f = "ttu"; break;
    case FLOE_ARROW_TIMESTAMP_US: f = "tsu:"; break;
    case FLOE_ARROW_TIMESTAMP_US_TZ: f = "tsu:UTC"; break;
    case FLOE_ARROW_TIMESTAMP_NS: f = "tsn:"; break;
    case FLOE_ARROW_TIMESTAMP_NS_TZ: f = "tsn:UTC"; break;
    case FLOE_ARROW_UTF8: f = "u"; break;
    case FLOE_ARROW_BINARY: f = "z"; break;
    case FLOE_ARROW_STRUCT: f = "+s"; break;
    case FLOE_ARROW_LIST: f = "+l"; break;
    case FLOE_ARROW_MAP: f = "+m"; break;
    case FLOE_ARROW_DECIMAL128:
      snprintf(out, out_size, "d:%d,%d", type->precision, type->scale);
      return;
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID:
      snprintf(out, out_size, "w:%d", type->byte_width);
      return;
    default: break;
  }
  snprintf(out, out_size, "%s", f);
}

void floe_arrow_type_name(const floe_arrow_type_info *type, char *out,
                          size_t out_size) {
  const char *n = "unknown";
  switch (type->id) {
    case FLOE_ARROW_BOOL: n = "boolean"; break;
    case FLOE_ARROW_INT32: n = "int"; break;
    case FLOE_ARROW_INT64: n = "long"; break;
    case FLOE_ARROW_UINT64: n = "uint64"; break;
    case FLOE_ARROW_FLOAT: n = "float"; break;
    case FLOE_ARROW_DOUBLE: n = "double"; break;
    case FLOE_ARROW_DATE32: n = "date"; break;
    case FLOE_ARROW_TIME64_US: n = "time"; break;
    case FLOE_ARROW_TIMESTAMP_US: n = "timestamp"; break;
    case FLOE_ARROW_TIMESTAMP_US_TZ: n = "timestamptz"; break;
    case FLOE_ARROW_TIMESTAMP_NS: n = "timestamp_ns"; break;
    case FLOE_ARROW_TIMESTAMP_NS_TZ: n = "timestamptz_ns"; break;
    case FLOE_ARROW_UTF8: n = "string"; break;
    case FLOE_ARROW_BINARY: n = "binary"; break;
    case FLOE_ARROW_UUID: n = "uuid"; break;
    case FLOE_ARROW_STRUCT: n = "struct"; break;
    case FLOE_ARROW_LIST: n = "list"; break;
    case FLOE_ARROW_MAP: n = "map"; break;
    case FLOE_ARROW_DECIMAL128:
      snprintf(out, out_size, "decimal(%d,%d)", type->precision, type->scale);
      return;
    case FLOE_ARROW_FIXED:
      snprintf(out, out_size, "fixed[%d]", type->byte_width);
      return;
    default: break;
  }
  snprintf(out, out_size, "%s", n);
}

/* ---- schemas -------------------------------------------------------- */

typedef struct schema_private {
  char *format;
  char *name;
  char *metadata;
  struct ArrowSchema **children;
} schema_private;

static void schema_release(struct ArrowSchema *schema) {
  if (schema == NULL || schema->release == NULL) return;
  schema_private *p = schema->private_data;
  for (int64_t i = 0; i < schema->n_children; i++) {
    struct ArrowSchema *child = schema->children[i];
    if (child != NULL) {
      if (child->release != NULL) child->release(child);
      floe_free(child);
    }
  }
  if (p != NULL) {
    floe_free(p->format);
    floe_free(p->name);
    floe_free(p->metadata);
    floe_free(p->children);
    floe_free(p);
  }
  schema->release = NULL;
}

/* Encodes key/value pairs in the C data interface's metadata layout:
 * int32 count, then per pair int32 key length, key, int32 value length,
 * value (native endian). */
static char *encode_metadata(int n, const char *const *keys,
                             const char *const *values) {
  size_t size = 4;
  for (int i = 0; i < n; i++) size += 8 + strlen(keys[i]) + strlen(values[i]);
  char *meta = floe_malloc(size);
  if (meta == NULL) return NULL;
  char *p = meta;
  int32_t count = n;
  memcpy(p, &count, 4);
  p += 4;
  for (int i = 0; i < n; i++) {
    int32_t kl = (int32_t)strlen(keys[i]), vl = (int32_t)strlen(values[i]);
    memcpy(p, &kl, 4);
    memcpy(p + 4, keys[i], (size_t)kl);
    p += 4 + kl;
    memcpy(p, &vl, 4);
    memcpy(p + 4, values[i], (size_t)vl);
    p += 4 + vl;
  }
  return meta;
}

static size_t metadata_size(const char *meta) {
  if (meta == NULL) return 0;
  int32_t n;
  memcpy(&n, meta, 4);
  size_t size = 4;
  for (int32_t i = 0; i < n; i++) {
    int32_t len;
    memcpy(&len, meta + size, 4);
    size += 4 + (size_t)len;
    memcpy(&len, meta + size, 4);
    size += 4 + (size_t)len;
  }
  return size;
}

/* Finds key in metadata; returns a pointer to the value and its length. */
static const char *metadata_find(const char *meta, const char *key,
                                 int32_t *out_len) {
  if (meta == NULL) return NULL;
  int32_t n;
  memcpy(&n, meta, 4);
  const char *p = meta + 4;
  size_t key_len = strlen(key);
  for (int32_t i = 0; i < n; i++) {
    int32_t kl, vl;
    memcpy(&kl, p, 4);
    const char *k = p + 4;
    p += 4 + kl;
    memcpy(&vl, p, 4);
    const char *v = p + 4;
    p += 4 + vl;
    if ((size_t)kl == key_len && memcmp(k, key, key_len) == 0) {
      *out_len = vl;
      return v;
    }
  }
  return NULL;
}

static int schema_init_common(struct ArrowSchema *out, const char *format,
                              const char *name, char *metadata,
                              int64_t n_children, int64_t flags) {
  memset(out, 0, sizeof *out);
  schema_private *p = floe_calloc(1, sizeof *p);
  if (p == NULL) {
    floe_free(metadata);
    return FLOE_ENOMEM;
  }
  p->metadata = metadata;
  p->format = floe_strdup(format);
  p->name = name ? floe_strdup(name) : NULL;
  if (n_children > 0)
    p->children = floe_calloc((size_t)n_children, sizeof *p->children);
  out->private_data = p;
  out->release = schema_release;
  if (p->format == NULL || (name && p->name == NULL) ||
      (n_children > 0 && p->children == NULL)) {
    schema_release(out);
    return FLOE_ENOMEM;
  }
  for (int64_t i = 0; i < n_children; i++) {
    p->children[i] = floe_calloc(1, sizeof(struct ArrowSchema));
    if (p->children[i] == NULL) {
      out->n_children = i;
      out->children = p->children;
      schema_release(out);
      return FLOE_ENOMEM;
    }
  }
  out->format = p->format;
  out->name = p->name;
  out->metadata = p->metadata;
  out->flags = flags;
  out->n_children = n_children;
  out->children = p->children;
  return FLOE_OK;
}

int floe_arrow_schema_init(struct ArrowSchema *out, const char *name,
                           const floe_arrow_type_info *type, bool nullable,
                           int32_t field_id) {
  char format[32];
  floe_arrow_type_format(type, format, sizeof format);
  const char *keys[3], *values[3];
  char id_text[16];
  int n = 0;
  if (field_id >= 0) {
    snprintf(id_text, sizeof id_text, "%d", field_id);
    keys[n] = "PARQUET:field_id";
    values[n++] = id_text;
  }
  if (type->id == FLOE_ARROW_UUID) {
    keys[n] = "ARROW:extension:name";
    values[n++] = "arrow.uuid";
    keys[n] = "ARROW:extension:metadata";
    values[n++] = "";
  }
  char *metadata = NULL;
  if (n > 0 && (metadata = encode_metadata(n, keys, values)) == NULL)
    return FLOE_ENOMEM;
  return schema_init_common(out, format, name, metadata, 0,
                            nullable ? ARROW_FLAG_NULLABLE : 0);
}

int floe_arrow_schema_init_struct(struct ArrowSchema *out, const char *name,
                                  int64_t n_children) {
  return schema_init_common(out, "+s", name, NULL, n_children, 0);
}

int floe_arrow_schema_init_list(struct ArrowSchema *out, const char *name,
                                bool nullable, int32_t field_id,
                                const floe_arrow_type_info *element,
                                bool element_nullable, int32_t element_id) {
  memset(out, 0, sizeof *out);
  if (element->id == FLOE_ARROW_LIST || element->id == FLOE_ARROW_STRUCT ||
      element->id == FLOE_ARROW_UNKNOWN)
    return FLOE_EINVAL;
  char *metadata = NULL;
  if (field_id >= 0) {
    char id_text[16];
    snprintf(id_text, sizeof id_text, "%d", field_id);
    const char *key = "PARQUET:field_id", *value = id_text;
    if ((metadata = encode_metadata(1, &key, &value)) == NULL) return FLOE_ENOMEM;
  }
  int rc = schema_init_common(out, "+l", name, metadata, 1,
                              nullable ? ARROW_FLAG_NULLABLE : 0);
  if (rc < 0) return rc;
  rc = floe_arrow_schema_init(out->children[0], "element", element,
                              element_nullable, element_id);
  if (rc < 0) schema_release(out);
  return rc;
}

/* The metadata holding only a field id (NULL for none); *out_rc gets
 * FLOE_ENOMEM when it could not be allocated. */
static char *field_id_metadata(int32_t field_id, int *out_rc) {
  *out_rc = FLOE_OK;
  if (field_id < 0) return NULL;
  char id_text[16];
  snprintf(id_text, sizeof id_text, "%d", field_id);
  const char *key = "PARQUET:field_id", *value = id_text;
  char *metadata = encode_metadata(1, &key, &value);
  if (metadata == NULL) *out_rc = FLOE_ENOMEM;
  return metadata;
}

static int schema_init_nested(struct ArrowSchema *out, const char *format,
                              const char *name, bool nullable,
                              int32_t field_id, int64_t n_children) {
  memset(out, 0, sizeof *out);
  int rc;
  char *metadata = field_id_metadata(field_id, &rc);
  if (rc < 0) return rc;
  return schema_init_common(out, format, name, metadata, n_children,
                            nullable ? ARROW_FLAG_NULLABLE : 0);
}

int floe_arrow_schema_init_struct_field(struct ArrowSchema *out,
                                        const char *name, bool nullable,
                                        int32_t field_id, int64_t n_children) {
  return schema_init_nested(out, "+s", name, nullable, field_id, n_children);
}

int floe_arrow_schema_init_list_field(struct ArrowSchema *out,
                                      const char *name, bool nullable,
                                      int32_t field_id) {
  return schema_init_nested(out, "+l", name, nullable, field_id, 1);
}

int floe_arrow_schema_init_map(struct ArrowSchema *out, const char *name,
                               bool nullable, int32_t field_id) {
  int rc = schema_init_nested(out, "+m", name, nullable, field_id, 1);
  if (rc < 0) return rc;
  /* Arrow Columnar Format, Map: the entries struct is never null. */
  rc = schema_init_common(out->children[0], "+s", "entries", NULL, 2, 0);
  if (rc < 0) schema_release(out);
  return rc;
}

int floe_arrow_schema_copy(struct ArrowSchema *out,
                           const struct ArrowSchema *schema) {
  char *metadata = NULL;
  if (schema->metadata != NULL) {
    size_t size = metadata_size(schema->metadata);
    metadata = floe_malloc(size);
    if (metadata == NULL) return FLOE_ENOMEM;
    memcpy(metadata, schema->metadata, size);
  }
  int rc = schema_init_common(out, schema->format, schema->name, metadata,
                              schema->n_children, schema->flags);
  if (rc < 0) return rc;
  for (int64_t i = 0; i < schema->n_children; i++) {
    floe_free(out->children[i]);
    out->children[i] = floe_calloc(1, sizeof(struct ArrowSchema));
    if (out->children[i] == NULL ||
        floe_arrow_schema_copy(out->children[i], schema->children[i]) < 0) {
      schema_release(out);
      return FLOE_ENOMEM;
    }
  }
  return FLOE_OK;
}

int32_t floe_arrow_schema_field_id(const struct ArrowSchema *schema) {
  int32_t len;
  const char *v = metadata_find(schema->metadata, "PARQUET:field_id", &len);
  if (v == NULL || len <= 0 || len > 10) return -1;
  char text[12];
  memcpy(text, v, (size_t)len);
  text[len] = '\0';
  char *end;
  long id = strtol(text, &end, 10);
  return (*end == '\0' && id >= 0 && id <= INT32_MAX) ? (int32_t)id : -1;
}

int floe_arrow_schema_type(const struct ArrowSchema *schema,
                           floe_arrow_type_info *out, floe_error *err) {
  const char *f = schema->format;
  memset(out, 0, sizeof *out);
  if (f == NULL) return floe_error_set(err, FLOE_EINVAL, "arrow schema has no format");
  static const struct {
    const char *format;
    floe_arrow_type id;
  } simple[] = {
      {"b", FLOE_ARROW_BOOL},          {"i", FLOE_ARROW_INT32},
      {"l", FLOE_ARROW_INT64},         {"L", FLOE_ARROW_UINT64},
      {"f", FLOE_ARROW_FLOAT},         {"g", FLOE_ARROW_DOUBLE},
      {"tdD", FLOE_ARROW_DATE32},      {"ttu", FLOE_ARROW_TIME64_US},
      {"tsu:", FLOE_ARROW_TIMESTAMP_US}, {"tsu:UTC", FLOE_ARROW_TIMESTAMP_US_TZ},
      {"tsu:+00:00", FLOE_ARROW_TIMESTAMP_US_TZ},
      {"tsn:", FLOE_ARROW_TIMESTAMP_NS}, {"tsn:UTC", FLOE_ARROW_TIMESTAMP_NS_TZ},
      {"tsn:+00:00", FLOE_ARROW_TIMESTAMP_NS_TZ},
      {"u", FLOE_ARROW_UTF8},          {"z", FLOE_ARROW_BINARY},
      {"+s", FLOE_ARROW_STRUCT},       {"+l", FLOE_ARROW_LIST},
      {"+m", FLOE_ARROW_MAP},
  };
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
    if (strcmp(f, simple[i].format) == 0) {
      out->id = simple[i].id;
      return FLOE_OK;
    }
  }
  int a, b, n = 0;
  if (sscanf(f, "d:%d,%d%n", &a, &b, &n) == 2 && f[n] == '\0' && a >= 1 &&
      a <= 38 && b >= 0 && b <= a) {
    *out = floe_arrow_decimal(a, b);
    return FLOE_OK;
  }
  if (sscanf(f, "w:%d%n", &a, &n) == 1 && f[n] == '\0' && a > 0) {
    int32_t len;
    const char *ext = metadata_find(schema->metadata, "ARROW:extension:name", &len);
    if (a == 16 && ext != NULL && len == 10 && memcmp(ext, "arrow.uuid", 10) == 0)
      *out = floe_arrow_type_of(FLOE_ARROW_UUID);
    else
      *out = floe_arrow_fixed(a);
    return FLOE_OK;
  }
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "arrow format '%s' of column '%s' is not supported", f,
                        schema->name ? schema->name : "");
}

void floe_arrow_schema_release(struct ArrowSchema *schema) {
  if (schema != NULL && schema->release != NULL) schema->release(schema);
}

void floe_arrow_array_release(struct ArrowArray *array) {
  if (array != NULL && array->release != NULL) array->release(array);
}

void floe_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst) {
  memcpy(dst, src, sizeof *dst);
  src->release = NULL;
}

/* ---- arrays --------------------------------------------------------- */

typedef struct array_private {
  void *buffers[3];
  const void *buffer_ptrs[3];
  struct ArrowArray *child_storage; /* n_children arrays */
  struct ArrowArray **child_ptrs;
} array_private;

static void array_release(struct ArrowArray *array) {
  if (array == NULL || array->release == NULL) return;
  array_private *p = array->private_data;
  if (p != NULL) {
    for (int64_t i = 0; i < array->n_children; i++)
      floe_arrow_array_release(&p->child_storage[i]);
    for (int i = 0; i < 3; i++) floe_free(p->buffers[i]);
    floe_free(p->child_storage);
    floe_free(p->child_ptrs);
    floe_free(p);
  }
  array->release = NULL;
}

/* ---- builders ------------------------------------------------------- */

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return FLOE_OK;
  size_t n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  uint8_t *p = floe_realloc(*buf, n);
  if (p == NULL) return FLOE_ENOMEM;
  *buf = p;
  *cap = n;
  return FLOE_OK;
}

/* Whether values are int32 offsets (utf8, binary, list, map). */
static bool uses_offsets(floe_arrow_type id) {
  return floe_arrow_type_is_varlen(id) || id == FLOE_ARROW_LIST || id == FLOE_ARROW_MAP;
}

/* Sets b->rows_cap from the values buffer's size, so appends can test
 * one number instead of recomputing the bytes a row needs. */
static void note_rows_cap(floe_arrow_builder *b) {
  if (b->type.id == FLOE_ARROW_BOOL) {
    b->rows_cap = (int64_t)b->values_cap * 8;
  } else if (uses_offsets(b->type.id)) {
    b->rows_cap = b->values_cap >= 4 ? (int64_t)b->values_cap / 4 - 1 : 0;
  } else {
    int32_t w = floe_arrow_type_value_size(&b->type);
    b->rows_cap = w > 0 ? (int64_t)(b->values_cap / (size_t)w) : 0;
  }
}

/* Allocates the first offset (0) of an offsets-based builder. */
static int init_offsets(floe_arrow_builder *b) {
  if (grow(&b->values, &b->values_cap, 4 * 64) < 0) return FLOE_ENOMEM;
  memset(b->values, 0, 4);
  note_rows_cap(b);
  return FLOE_OK;
}

int floe_arrow_builder_init(floe_arrow_builder *b,
                            const floe_arrow_type_info *type) {
  memset(b, 0, sizeof *b);
  b->type = *type;
  if (floe_arrow_type_is_nested(type->id)) return FLOE_EINVAL; /* needs children */
  if (floe_arrow_type_is_varlen(type->id)) return init_offsets(b);
  return FLOE_OK;
}

/* Makes b a list builder that takes ownership of `child` (a heap-allocated,
 * initialised builder); frees the child on failure. */
static int init_list_with_child(floe_arrow_builder *b, floe_arrow_builder *child,
                                floe_arrow_type id) {
  memset(b, 0, sizeof *b);
  b->type = floe_arrow_type_of(id);
  b->child = child;
  if (init_offsets(b) < 0) {
    floe_arrow_builder_free(b);
    return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

int floe_arrow_builder_init_list(floe_arrow_builder *b,
                                 const floe_arrow_type_info *element) {
  memset(b, 0, sizeof *b);
  if (element->id == FLOE_ARROW_LIST || element->id == FLOE_ARROW_STRUCT) return FLOE_EINVAL;
  floe_arrow_builder *child = floe_calloc(1, sizeof *child);
  if (child == NULL) return FLOE_ENOMEM;
  int rc = floe_arrow_builder_init(child, element);
  if (rc < 0) {
    floe_arrow_builder_free(child);
    floe_free(child);
    return rc;
  }
  return init_list_with_child(b, child, FLOE_ARROW_LIST);
}

/* Makes b a struct builder of the fields `field` lists (recursively). */
static int init_struct_schema(floe_arrow_builder *b, const struct ArrowSchema *field,
                              floe_error *err) {
  memset(b, 0, sizeof *b);
  b->type = floe_arrow_type_of(FLOE_ARROW_STRUCT);
  if (field->n_children < 0 || (field->n_children > 0 && field->children == NULL))
    return floe_error_set(err, FLOE_EINVAL, "struct column '%s' has no children",
                          field->name ? field->name : "");
  b->children = floe_calloc((size_t)(field->n_children ? field->n_children : 1),
                            sizeof *b->children);
  if (b->children == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < field->n_children; i++) {
    int rc = field->children[i] == NULL
                 ? floe_error_set(err, FLOE_EINVAL, "missing child")
                 : floe_arrow_builder_init_schema(&b->children[i], field->children[i], err);
    if (rc < 0) {
      floe_arrow_builder_free(b);
      return floe_error_prefix(err, "struct column '%s'", field->name ? field->name : ""), rc;
    }
    b->n_children = i + 1;
  }
  return FLOE_OK;
}

int floe_arrow_builder_init_schema(floe_arrow_builder *b,
                                   const struct ArrowSchema *field,
                                   floe_error *err) {
  memset(b, 0, sizeof *b);
  floe_arrow_type_info type;
  int rc = floe_arrow_schema_type(field, &type, err);
  if (rc < 0) return rc;
  if (type.id == FLOE_ARROW_STRUCT) return init_struct_schema(b, field, err);
  if (type.id != FLOE_ARROW_LIST && type.id != FLOE_ARROW_MAP) {
    if (floe_arrow_builder_init(b, &type) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    return FLOE_OK;
  }
  const char *what = type.id == FLOE_ARROW_MAP ? "map" : "list";
  if (field->n_children != 1 || field->children == NULL || field->children[0] == NULL)
    return floe_error_set(err, FLOE_EINVAL, "%s column '%s' has %lld children, want 1",
                          what, field->name ? field->name : "", (long long)field->n_children);
  if (type.id == FLOE_ARROW_MAP) {
    const struct ArrowSchema *entries = field->children[0];
    if (entries->format == NULL || strcmp(entries->format, "+s") != 0 ||
        entries->n_children != 2)
      return floe_error_set(err, FLOE_EINVAL,
                            "map column '%s': entries must be a struct of key and value",
                            field->name ? field->name : "");
  }
  floe_arrow_builder *child = floe_calloc(1, sizeof *child);
  if (child == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  rc = floe_arrow_builder_init_schema(child, field->children[0], err);
  if (rc < 0) {
    floe_arrow_builder_free(child);
    floe_free(child);
    return floe_error_prefix(err, "%s column '%s'", what, field->name ? field->name : ""), rc;
  }
  if (init_list_with_child(b, child, type.id) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

void floe_arrow_builder_free(floe_arrow_builder *b) {
  if (b == NULL) return;
  if (b->child != NULL) {
    floe_arrow_builder_free(b->child);
    floe_free(b->child);
  }
  for (int64_t i = 0; i < b->n_children; i++) floe_arrow_builder_free(&b->children[i]);
  floe_free(b->children);
  floe_free(b->validity);
  floe_free(b->values);
  floe_free(b->data);
  memset(b, 0, sizeof *b);
}

static size_t values_bytes(const floe_arrow_builder *b, int64_t rows) {
  if (b->type.id == FLOE_ARROW_BOOL) return (size_t)(rows + 7) / 8;
  if (uses_offsets(b->type.id)) return (size_t)(rows + 1) * 4;
  return (size_t)rows * (size_t)floe_arrow_type_value_size(&b->type);
}

int floe_arrow_builder_reserve(floe_arrow_builder *b, int64_t n,
                               size_t data_bytes) {
  int64_t rows = b->length + n;
  if (grow(&b->values, &b->values_cap, values_bytes(b, rows)) < 0)
    return FLOE_ENOMEM;
  if (b->validity != NULL &&
      grow(&b->validity, &b->validity_cap, (size_t)(rows + 7) / 8) < 0)
    return FLOE_ENOMEM;
  if (data_bytes > 0 &&
      grow(&b->data, &b->data_cap, b->data_len + data_bytes) < 0)
    return FLOE_ENOMEM;
  note_rows_cap(b);
  return FLOE_OK;
}

static int begin_row_slow(floe_arrow_builder *b, bool valid) {
  if (floe_arrow_builder_reserve(b, 1, 0) < 0) return FLOE_ENOMEM;
  if (!valid && b->validity == NULL) {
    /* First null: materialise the validity bitmap, all earlier rows valid,
     * as large as the values buffer so the fast path below holds. */
    int64_t rows = b->rows_cap > b->length + 1 ? b->rows_cap : b->length + 1;
    size_t bytes = (size_t)(rows + 7) / 8;
    if (grow(&b->validity, &b->validity_cap, bytes < 64 ? 64 : bytes) < 0)
      return FLOE_ENOMEM;
    memset(b->validity, 0xff, b->validity_cap);
  }
  if (b->validity != NULL) floe_arrow_bit_set(b->validity, b->length, valid);
  return FLOE_OK;
}

/* Makes room for one more row; sets its validity bit to `valid`. The
 * common case (room reserved, no bitmap or room in it) costs two tests. */
static inline int begin_row(floe_arrow_builder *b, bool valid) {
  int64_t i = b->length;
  if (i < b->rows_cap) {
    if (b->validity == NULL) {
      if (valid) return FLOE_OK;
    } else if ((size_t)(i >> 3) < b->validity_cap) {
      floe_arrow_bit_set(b->validity, i, valid);
      return FLOE_OK;
    }
  }
  return begin_row_slow(b, valid);
}

int floe_arrow_builder_append_null(floe_arrow_builder *b) {
  if (b->type.id == FLOE_ARROW_STRUCT) {
    for (int64_t i = 0; i < b->n_children; i++)
      if (floe_arrow_builder_append_null(&b->children[i]) < 0) return FLOE_ENOMEM;
    if (begin_row(b, false) < 0) return FLOE_ENOMEM;
    b->length++;
    b->null_count++;
    return FLOE_OK;
  }
  if (begin_row(b, false) < 0) return FLOE_ENOMEM;
  if (b->type.id == FLOE_ARROW_BOOL) {
    floe_arrow_bit_set(b->values, b->length, false);
  } else if (uses_offsets(b->type.id)) {
    int32_t end;
    memcpy(&end, b->values + b->length * 4, 4);
    memcpy(b->values + (b->length + 1) * 4, &end, 4);
  } else {
    size_t w = (size_t)floe_arrow_type_value_size(&b->type);
    memset(b->values + (size_t)b->length * w, 0, w);
  }
  b->length++;
  b->null_count++;
  return FLOE_OK;
}

int floe_arrow_builder_append_nulls(floe_arrow_builder *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (floe_arrow_builder_append_null(b) < 0) return FLOE_ENOMEM;
  return FLOE_OK;
}

int floe_arrow_builder_append_bool(floe_arrow_builder *b, bool v) {
  if (begin_row(b, true) < 0) return FLOE_ENOMEM;
  floe_arrow_bit_set(b->values, b->length++, v);
  return FLOE_OK;
}

#define APPEND_FIXED(fn, ctype)                                         \
  int fn(floe_arrow_builder *b, ctype v) {                              \
    if (begin_row(b, true) < 0) return FLOE_ENOMEM;                     \
    memcpy(b->values + (size_t)b->length * sizeof v, &v, sizeof v);     \
    b->length++;                                                        \
    return FLOE_OK;                                                     \
  }
APPEND_FIXED(floe_arrow_builder_append_int32, int32_t)
APPEND_FIXED(floe_arrow_builder_append_int64, int64_t)
APPEND_FIXED(floe_arrow_builder_append_float, float)
APPEND_FIXED(floe_arrow_builder_append_double, double)
APPEND_FIXED(floe_arrow_builder_append_decimal, floe_int128)
#undef APPEND_FIXED

int floe_arrow_builder_append_bytes(floe_arrow_builder *b, const void *bytes,
                                    size_t len) {
  if (floe_arrow_type_is_varlen(b->type.id)) {
    if (b->data_len + len > INT32_MAX) return FLOE_ERANGE;
    if (begin_row(b, true) < 0 ||
        grow(&b->data, &b->data_cap, b->data_len + len) < 0)
      return FLOE_ENOMEM;
    if (len) memcpy(b->data + b->data_len, bytes, len);
    b->data_len += len;
    int32_t end = (int32_t)b->data_len;
    memcpy(b->values + (b->length + 1) * 4, &end, 4);
    b->length++;
    return FLOE_OK;
  }
  if ((b->type.id != FLOE_ARROW_FIXED && b->type.id != FLOE_ARROW_UUID) ||
      len != (size_t)b->type.byte_width)
    return FLOE_EINVAL;
  if (begin_row(b, true) < 0) return FLOE_ENOMEM;
  memcpy(b->values + (size_t)b->length * len, bytes, len);
  b->length++;
  return FLOE_OK;
}

int floe_arrow_builder_list_start(floe_arrow_builder *b,
                                  floe_arrow_builder **out_child) {
  if (out_child != NULL) *out_child = NULL;
  if (b->type.id != FLOE_ARROW_LIST || b->child == NULL) return FLOE_EINVAL;
  if (floe_arrow_builder_reserve(b, 1, 0) < 0) return FLOE_ENOMEM;
  if (out_child != NULL) *out_child = b->child;
  return FLOE_OK;
}

int floe_arrow_builder_list_end(floe_arrow_builder *b) {
  if (b->type.id != FLOE_ARROW_LIST || b->child == NULL) return FLOE_EINVAL;
  if (b->child->length > INT32_MAX) return FLOE_ERANGE;
  if (begin_row(b, true) < 0) return FLOE_ENOMEM;
  int32_t end = (int32_t)b->child->length;
  memcpy(b->values + (b->length + 1) * 4, &end, 4);
  b->length++;
  return FLOE_OK;
}

int floe_arrow_builder_struct_start(floe_arrow_builder *b,
                                    floe_arrow_builder **out_children,
                                    int64_t *out_n_children) {
  if (out_children != NULL) *out_children = NULL;
  if (out_n_children != NULL) *out_n_children = 0;
  if (b->type.id != FLOE_ARROW_STRUCT) return FLOE_EINVAL;
  for (int64_t i = 0; i < b->n_children; i++)
    if (b->children[i].length != b->length) return FLOE_EINVAL;
  if (floe_arrow_builder_reserve(b, 1, 0) < 0) return FLOE_ENOMEM;
  if (out_children != NULL) *out_children = b->children;
  if (out_n_children != NULL) *out_n_children = b->n_children;
  return FLOE_OK;
}

int floe_arrow_builder_struct_append_valid(floe_arrow_builder *b, int64_t n) {
  if (b->type.id != FLOE_ARROW_STRUCT || n < 0) return FLOE_EINVAL;
  for (int64_t i = 0; i < b->n_children; i++)
    if (b->children[i].length != b->length + n) return FLOE_EINVAL;
  if (floe_arrow_builder_reserve(b, n, 0) < 0) return FLOE_ENOMEM;
  if (b->validity != NULL)
    for (int64_t k = 0; k < n; k++) floe_arrow_bit_set(b->validity, b->length + k, true);
  b->length += n;
  return FLOE_OK;
}

int floe_arrow_builder_struct_end(floe_arrow_builder *b) {
  return floe_arrow_builder_struct_append_valid(b, 1);
}

floe_arrow_builder *floe_arrow_builder_struct_child(floe_arrow_builder *b, int64_t i) {
  if (b == NULL || b->type.id != FLOE_ARROW_STRUCT || i < 0 || i >= b->n_children)
    return NULL;
  return &b->children[i];
}

int floe_arrow_builder_map_start(floe_arrow_builder *b, floe_arrow_builder **out_keys,
                                 floe_arrow_builder **out_values) {
  if (out_keys != NULL) *out_keys = NULL;
  if (out_values != NULL) *out_values = NULL;
  if (b->type.id != FLOE_ARROW_MAP || b->child == NULL || b->child->n_children != 2)
    return FLOE_EINVAL;
  if (floe_arrow_builder_reserve(b, 1, 0) < 0) return FLOE_ENOMEM;
  if (out_keys != NULL) *out_keys = &b->child->children[0];
  if (out_values != NULL) *out_values = &b->child->children[1];
  return FLOE_OK;
}

int floe_arrow_builder_map_end(floe_arrow_builder *b) {
  if (b->type.id != FLOE_ARROW_MAP || b->child == NULL || b->child->n_children != 2)
    return FLOE_EINVAL;
  floe_arrow_builder *entries = b->child;
  floe_arrow_builder *keys = &entries->children[0], *values = &entries->children[1];
  if (keys->length != values->length || keys->null_count != 0) return FLOE_EINVAL;
  if (keys->length > INT32_MAX) return FLOE_ERANGE;
  int rc = floe_arrow_builder_struct_append_valid(entries, keys->length - entries->length);
  if (rc < 0) return rc;
  if (begin_row(b, true) < 0) return FLOE_ENOMEM;
  int32_t end = (int32_t)entries->length;
  memcpy(b->values + (b->length + 1) * 4, &end, 4);
  b->length++;
  return FLOE_OK;
}

/* Finishes a struct builder: each field builder's column becomes one
 * child of the array; the builder keeps its (reset) field builders. */
static int finish_struct(floe_arrow_builder *b, struct ArrowArray *out) {
  int64_t n = b->n_children;
  struct ArrowArray *children = floe_calloc((size_t)(n ? n : 1), sizeof *children);
  if (children == NULL) return FLOE_ENOMEM;
  for (int64_t i = 0; i < n; i++) {
    if (floe_arrow_builder_finish(&b->children[i], &children[i]) < 0) {
      for (int64_t j = 0; j <= i; j++) floe_arrow_array_release(&children[j]);
      floe_free(children);
      return FLOE_ENOMEM;
    }
  }
  int rc = floe_arrow_struct_from_children(out, children, n, b->length);
  floe_free(children);
  if (rc < 0) return rc;
  array_private *p = out->private_data;
  out->null_count = b->null_count;
  p->buffers[0] = b->null_count > 0 ? b->validity : NULL;
  if (b->null_count == 0) floe_free(b->validity);
  p->buffer_ptrs[0] = p->buffers[0];
  floe_free(b->values);
  floe_free(b->data);
  b->validity = b->values = b->data = NULL;
  b->validity_cap = b->values_cap = b->data_cap = b->data_len = 0;
  b->rows_cap = 0;
  b->length = b->null_count = 0;
  return FLOE_OK;
}

/* Finishes a list or map builder: the child builder's column becomes the
 * array's one child; the builder keeps its (reset) child builder. */
static int finish_list(floe_arrow_builder *b, struct ArrowArray *out) {
  array_private *p = floe_calloc(1, sizeof *p);
  struct ArrowArray *child_storage = floe_calloc(1, sizeof *child_storage);
  struct ArrowArray **child_ptrs = floe_calloc(1, sizeof *child_ptrs);
  if (p == NULL || child_storage == NULL || child_ptrs == NULL) goto nomem;
  if (floe_arrow_builder_finish(b->child, child_storage) < 0) {
    floe_arrow_array_release(child_storage);
    goto nomem;
  }
  child_ptrs[0] = child_storage;
  p->child_storage = child_storage;
  p->child_ptrs = child_ptrs;
  p->buffers[0] = b->null_count > 0 ? b->validity : NULL;
  if (b->null_count == 0) floe_free(b->validity);
  p->buffers[1] = b->values;
  floe_free(b->data);
  for (int i = 0; i < 3; i++) p->buffer_ptrs[i] = p->buffers[i];
  out->length = b->length;
  out->null_count = b->null_count;
  out->n_buffers = 2;
  out->buffers = p->buffer_ptrs;
  out->n_children = 1;
  out->children = child_ptrs;
  out->private_data = p;
  out->release = array_release;
  floe_arrow_builder *child = b->child;
  floe_arrow_type id = b->type.id;
  memset(b, 0, sizeof *b);
  b->type = floe_arrow_type_of(id);
  b->child = child;
  return init_offsets(b);
nomem:
  floe_free(p);
  floe_free(child_storage);
  floe_free(child_ptrs);
  return FLOE_ENOMEM;
}

int floe_arrow_builder_finish(floe_arrow_builder *b, struct ArrowArray *out) {
  memset(out, 0, sizeof *out);
  if (b->type.id == FLOE_ARROW_LIST || b->type.id == FLOE_ARROW_MAP) {
    if (b->child == NULL) return FLOE_EINVAL;
    return finish_list(b, out);
  }
  if (b->type.id == FLOE_ARROW_STRUCT) return finish_struct(b, out);
  array_private *p = floe_calloc(1, sizeof *p);
  if (p == NULL) return FLOE_ENOMEM;
  bool varlen = floe_arrow_type_is_varlen(b->type.id);
  if (b->values == NULL && grow(&b->values, &b->values_cap, 8) < 0) {
    floe_free(p);
    return FLOE_ENOMEM;
  }
  if (varlen && b->data == NULL && grow(&b->data, &b->data_cap, 8) < 0) {
    floe_free(p);
    return FLOE_ENOMEM;
  }
  p->buffers[0] = b->null_count > 0 ? b->validity : NULL;
  if (b->null_count == 0) floe_free(b->validity);
  p->buffers[1] = b->values;
  p->buffers[2] = varlen ? b->data : NULL;
  if (!varlen) floe_free(b->data);
  for (int i = 0; i < 3; i++) p->buffer_ptrs[i] = p->buffers[i];
  out->length = b->length;
  out->null_count = b->null_count;
  out->offset = 0;
  out->n_buffers = varlen ? 3 : 2;
  out->buffers = p->buffer_ptrs;
  out->private_data = p;
  out->release = array_release;
  floe_arrow_type_info type = b->type;
  memset(b, 0, sizeof *b);
  return floe_arrow_builder_init(b, &type);
}

int floe_arrow_struct_from_children(struct ArrowArray *out,
                                    struct ArrowArray *children,
                                    int64_t n_children, int64_t length) {
  memset(out, 0, sizeof *out);
  array_private *p = floe_calloc(1, sizeof *p);
  if (p == NULL) goto fail;
  p->child_storage = floe_calloc((size_t)(n_children ? n_children : 1),
                                 sizeof *p->child_storage);
  p->child_ptrs = floe_calloc((size_t)(n_children ? n_children : 1),
                              sizeof *p->child_ptrs);
  if (p->child_storage == NULL || p->child_ptrs == NULL) goto fail;
  for (int64_t i = 0; i < n_children; i++) {
    floe_arrow_array_move(&children[i], &p->child_storage[i]);
    p->child_ptrs[i] = &p->child_storage[i];
  }
  out->length = length;
  out->n_buffers = 1;
  out->buffers = p->buffer_ptrs;
  out->n_children = n_children;
  out->children = p->child_ptrs;
  out->private_data = p;
  out->release = array_release;
  return FLOE_OK;
fail:
  if (p != NULL) {
    floe_free(p->child_storage);
    floe_free(p->child_ptrs);
    floe_free(p);
  }
  for (int64_t i = 0; i < n_children; i++) floe_arrow_array_release(&children[i]);
  return FLOE_ENOMEM;
}

int floe_arrow_batch_builder_init(floe_arrow_batch_builder *bb,
                                  const struct ArrowSchema *schema,
                                  floe_error *err) {
  bb->n_columns = 0;
  bb->columns = NULL;
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return floe_error_set(err, FLOE_EINVAL, "batch schema must be a struct (+s)");
  bb->columns = floe_calloc((size_t)(schema->n_children ? schema->n_children : 1),
                            sizeof *bb->columns);
  if (bb->columns == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < schema->n_children; i++) {
    int rc = floe_arrow_builder_init_schema(&bb->columns[i], schema->children[i], err);
    if (rc < 0) {
      floe_arrow_batch_builder_free(bb);
      return rc;
    }
    bb->n_columns = i + 1;
  }
  return FLOE_OK;
}

void floe_arrow_batch_builder_free(floe_arrow_batch_builder *bb) {
  if (bb == NULL) return;
  for (int64_t i = 0; i < bb->n_columns; i++)
    floe_arrow_builder_free(&bb->columns[i]);
  floe_free(bb->columns);
  bb->columns = NULL;
  bb->n_columns = 0;
}

int floe_arrow_batch_builder_finish(floe_arrow_batch_builder *bb,
                                    struct ArrowArray *out, floe_error *err) {
  int64_t length = bb->n_columns ? bb->columns[0].length : 0;
  for (int64_t i = 1; i < bb->n_columns; i++)
    if (bb->columns[i].length != length)
      return floe_error_set(err, FLOE_EINVAL,
                            "batch columns differ in length (%" PRId64
                            " vs %" PRId64 " in column %" PRId64 ")",
                            length, bb->columns[i].length, i);
  struct ArrowArray *children =
      floe_calloc((size_t)(bb->n_columns ? bb->n_columns : 1), sizeof *children);
  if (children == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = FLOE_OK;
  for (int64_t i = 0; i < bb->n_columns; i++) {
    if (floe_arrow_builder_finish(&bb->columns[i], &children[i]) < 0) {
      /* children[i] may be complete when only the builder's reset failed. */
      for (int64_t j = 0; j <= i; j++) floe_arrow_array_release(&children[j]);
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  if (floe_arrow_struct_from_children(out, children, bb->n_columns, length) < 0)
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_free(children);
  return rc;
}

/* ---- views ---------------------------------------------------------- */

int floe_arrow_view_init(floe_arrow_view *view,
                         const struct ArrowSchema *schema,
                         const struct ArrowArray *array, floe_error *err) {
  memset(view, 0, sizeof *view);
  int rc = floe_arrow_schema_type(schema, &view->type, err);
  if (rc < 0) return rc;
  view->length = array->length;
  view->offset = array->offset;
  view->null_count = array->null_count;
  if (view->type.id == FLOE_ARROW_STRUCT) {
    if (array->n_children != schema->n_children || array->n_buffers < 1 ||
        (array->n_children > 0 && (array->children == NULL || schema->children == NULL)))
      return floe_error_set(err, FLOE_EINVAL,
                            "struct column '%s': arrow array has %" PRId64 " buffers and %" PRId64
                            " children, want 1 and %" PRId64,
                            schema->name ? schema->name : "", array->n_buffers, array->n_children,
                            schema->n_children);
    view->validity = array->null_count != 0 ? array->buffers[0] : NULL;
    view->n_children = array->n_children;
    view->child_schemas = schema->children;
    view->child_arrays = array->children;
    return FLOE_OK;
  }
  if (view->type.id == FLOE_ARROW_LIST || view->type.id == FLOE_ARROW_MAP) {
    if (array->n_buffers != 2 || array->n_children != 1 || schema->n_children != 1 ||
        array->children == NULL || array->children[0] == NULL || schema->children == NULL ||
        schema->children[0] == NULL)
      return floe_error_set(err, FLOE_EINVAL,
                            "%s column '%s': arrow array has %" PRId64 " buffers and %" PRId64
                            " children, want 2 and 1",
                            view->type.id == FLOE_ARROW_MAP ? "map" : "list",
                            schema->name ? schema->name : "", array->n_buffers, array->n_children);
    view->validity = array->null_count != 0 ? array->buffers[0] : NULL;
    view->offsets = array->buffers[1];
    view->child_schema = schema->children[0];
    view->child_array = array->children[0];
    return FLOE_OK;
  }
  int64_t want = floe_arrow_type_is_varlen(view->type.id) ? 3 : 2;
  if (array->n_buffers != want)
    return floe_error_set(err, FLOE_EINVAL,
                          "column '%s': arrow array has %" PRId64
                          " buffers, want %" PRId64,
                          schema->name ? schema->name : "", array->n_buffers, want);
  view->validity = array->null_count != 0 ? array->buffers[0] : NULL;
  view->values = array->buffers[1];
  if (want == 3) {
    view->offsets = array->buffers[1];
    view->data = array->buffers[2];
  }
  return FLOE_OK;
}

int floe_arrow_view_list_child(const floe_arrow_view *v, floe_arrow_view *out,
                               floe_error *err) {
  if (v->type.id != FLOE_ARROW_LIST || v->child_schema == NULL || v->child_array == NULL) {
    memset(out, 0, sizeof *out);
    return floe_error_set(err, FLOE_EINVAL, "not a list view");
  }
  return floe_arrow_view_init(out, v->child_schema, v->child_array, err);
}

int floe_arrow_view_struct_child(const floe_arrow_view *v, int64_t i, floe_arrow_view *out,
                                 floe_error *err) {
  if (v->type.id != FLOE_ARROW_STRUCT || i < 0 || i >= v->n_children ||
      v->child_schemas[i] == NULL || v->child_arrays[i] == NULL) {
    memset(out, 0, sizeof *out);
    return floe_error_set(err, FLOE_EINVAL, "not a struct view or no field %" PRId64, i);
  }
  int rc = floe_arrow_view_init(out, v->child_schemas[i], v->child_arrays[i], err);
  if (rc < 0) return rc;
  /* Arrow Columnar Format: a struct's offset applies to its children too. */
  if (out->length - v->offset < v->length)
    return floe_error_set(err, FLOE_EINVAL,
                          "struct field '%s' holds %" PRId64 " rows, fewer than its struct",
                          v->child_schemas[i]->name ? v->child_schemas[i]->name : "",
                          out->length);
  out->offset += v->offset;
  out->length = v->length;
  return FLOE_OK;
}

int floe_arrow_view_map_entries(const floe_arrow_view *v, floe_arrow_view *keys,
                                floe_arrow_view *values, floe_error *err) {
  memset(keys, 0, sizeof *keys);
  memset(values, 0, sizeof *values);
  if (v->type.id != FLOE_ARROW_MAP || v->child_schema == NULL || v->child_array == NULL)
    return floe_error_set(err, FLOE_EINVAL, "not a map view");
  floe_arrow_view entries;
  int rc = floe_arrow_view_init(&entries, v->child_schema, v->child_array, err);
  if (rc < 0) return rc;
  if (entries.type.id != FLOE_ARROW_STRUCT || entries.n_children != 2)
    return floe_error_set(err, FLOE_EINVAL, "map entries are not a struct of key and value");
  rc = floe_arrow_view_struct_child(&entries, 0, keys, err);
  if (rc == FLOE_OK) rc = floe_arrow_view_struct_child(&entries, 1, values, err);
  return rc;
}

/* Shortest text that reads back as the same value ("%.17g" at worst). */
static int append_float_text(floe_buf *out, double v, int max_digits,
                             bool single) {
  char text[40];
  if (v != v) return floe_buf_append_str(out, "NaN");
  if (v == 1.0 / 0.0) return floe_buf_append_str(out, "Infinity");
  if (v == -1.0 / 0.0) return floe_buf_append_str(out, "-Infinity");
  int digits = 1;
  for (; digits <= max_digits; digits++) {
    snprintf(text, sizeof text, "%.*e", digits - 1, v);
    if (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
  }
  if (digits > max_digits) digits = max_digits;
  /* Those digits in positional notation while the decimal exponent is in
   * [-4, 16), as Python's repr and DuckDB print doubles ("10.0", "0.0001",
   * "1e+16", "3.4028235e+38"); "%g" would give "1e+01" for 10. */
  snprintf(text, sizeof text, "%.*e", digits - 1, v);
  const char *e = strchr(text, 'e');
  int exp = e != NULL ? atoi(e + 1) : 0;
  if (exp >= -4 && exp < 16) {
    int decimals = digits - 1 - exp;
    snprintf(text, sizeof text, "%.*f", decimals > 0 ? decimals : 0, v);
    if (strchr(text, '.') == NULL) strcat(text, ".0");
  }
  return floe_buf_append_str(out, text);
}

int floe_decimal_format(floe_int128 v, int32_t scale, char *out, size_t out_size) {
  char digits[48];
  int n = 0;
  bool neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v
                            : (unsigned __int128)v;
  do {
    digits[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  while (n <= scale) digits[n++] = '0';
  size_t k = 0;
  if (neg && k + 1 < out_size) out[k++] = '-';
  for (int i = n - 1; i >= 0; i--) {
    if (i == scale - 1 && scale > 0 && k + 1 < out_size) out[k++] = '.';
    if (k + 1 < out_size) out[k++] = digits[i];
  }
  out[k] = '\0';
  return (int)k;
}

int floe_arrow_view_format(const floe_arrow_view *v, int64_t i, floe_buf *out) {
  char text[64];
  size_t len;
  const uint8_t *bytes;
  if (floe_arrow_view_is_null(v, i)) return floe_buf_append_str(out, "\\N");
  switch (v->type.id) {
    case FLOE_ARROW_BOOL:
      return floe_buf_append_str(out, floe_arrow_view_bool(v, i) ? "true" : "false");
    case FLOE_ARROW_INT32:
      return floe_buf_appendf(out, "%" PRId32, floe_arrow_view_int32(v, i));
    case FLOE_ARROW_INT64:
      return floe_buf_appendf(out, "%" PRId64, floe_arrow_view_int64(v, i));
    case FLOE_ARROW_UINT64:
      return floe_buf_appendf(out, "%" PRIu64, (uint64_t)floe_arrow_view_int64(v, i));
    case FLOE_ARROW_FLOAT:
      return append_float_text(out, floe_arrow_view_float(v, i), 9, true);
    case FLOE_ARROW_DOUBLE:
      return append_float_text(out, floe_arrow_view_double(v, i), 17, false);
    case FLOE_ARROW_DECIMAL128:
      floe_decimal_format(floe_arrow_view_decimal(v, i), v->type.scale, text,
                          sizeof text);
      return floe_buf_append_str(out, text);
    case FLOE_ARROW_DATE32:
      floe_format_date(floe_arrow_view_int32(v, i), text, sizeof text);
      return floe_buf_append_str(out, text);
    case FLOE_ARROW_TIME64_US:
      floe_format_time(floe_arrow_view_int64(v, i), text, sizeof text);
      return floe_buf_append_str(out, text);
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
      floe_format_timestamp(floe_arrow_view_int64(v, i), ' ', text, sizeof text);
      if (v->type.id == FLOE_ARROW_TIMESTAMP_US_TZ) strcat(text, "+00");
      return floe_buf_append_str(out, text);
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ: {
      int64_t ns = floe_arrow_view_int64(v, i);
      int64_t us = floe_floor_div(ns, 1000);
      int n = floe_format_timestamp(floe_floor_div(us, 1000000) * 1000000, ' ',
                                    text, sizeof text);
      int64_t frac = floe_floor_mod(ns, INT64_C(1000000000));
      if (frac) snprintf(text + n, sizeof text - (size_t)n, ".%09lld", (long long)frac);
      if (v->type.id == FLOE_ARROW_TIMESTAMP_NS_TZ) strcat(text, "+00");
      return floe_buf_append_str(out, text);
    }
    case FLOE_ARROW_UTF8:
      bytes = floe_arrow_view_bytes(v, i, &len);
      return floe_buf_append(out, bytes, len);
    case FLOE_ARROW_UUID: {
      bytes = floe_arrow_view_bytes(v, i, &len);
      int rc = FLOE_OK;
      for (int k = 0; k < 16 && rc == FLOE_OK; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10) rc = floe_buf_append_byte(out, '-');
        if (rc == FLOE_OK) rc = floe_buf_append_hex(out, bytes + k, 1);
      }
      return rc;
    }
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
      bytes = floe_arrow_view_bytes(v, i, &len);
      return floe_buf_append_hex(out, bytes, len);
    case FLOE_ARROW_LIST: {
      /* README of the fixtures: "list: `[a, b]`", elements as top-level
       * values. */
      floe_arrow_view child;
      floe_error err = {0};
      int64_t start, end;
      int rc = floe_arrow_view_list_child(v, &child, &err);
      if (rc < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      rc = floe_buf_append_byte(out, '[');
      for (int64_t k = start; k < end && rc == FLOE_OK; k++) {
        if (k > start) rc = floe_buf_append(out, ", ", 2);
        if (rc == FLOE_OK) rc = floe_arrow_view_format(&child, k, out);
      }
      return rc == FLOE_OK ? floe_buf_append_byte(out, ']') : rc;
    }
    case FLOE_ARROW_STRUCT: {
      int rc = floe_buf_append_byte(out, '{');
      for (int64_t k = 0; k < v->n_children && rc == FLOE_OK; k++) {
        floe_arrow_view field;
        floe_error err = {0};
        if ((rc = floe_arrow_view_struct_child(v, k, &field, &err)) < 0) break;
        const char *name = v->child_schemas[k]->name;
        if (k > 0) rc = floe_buf_append(out, ", ", 2);
        if (rc == FLOE_OK) rc = floe_buf_appendf(out, "%s: ", name ? name : "");
        if (rc == FLOE_OK) rc = floe_arrow_view_format(&field, i, out);
      }
      return rc == FLOE_OK ? floe_buf_append_byte(out, '}') : rc;
    }
    case FLOE_ARROW_MAP: {
      floe_arrow_view keys, values;
      floe_error err = {0};
      int64_t start, end;
      int rc = floe_arrow_view_map_entries(v, &keys, &values, &err);
      if (rc < 0) return rc;
      floe_arrow_view_list_range(v, i, &start, &end);
      rc = floe_buf_append_byte(out, '{');
      for (int64_t k = start; k < end && rc == FLOE_OK; k++) {
        if (k > start) rc = floe_buf_append(out, ", ", 2);
        if (rc == FLOE_OK) rc = floe_arrow_view_format(&keys, k, out);
        if (rc == FLOE_OK) rc = floe_buf_append(out, " -> ", 4);
        if (rc == FLOE_OK) rc = floe_arrow_view_format(&values, k, out);
      }
      return rc == FLOE_OK ? floe_buf_append_byte(out, '}') : rc;
    }
    default:
      return floe_buf_append_str(out, "?");
  }
}

/* ---- bulk appends ----------------------------------------------------- */

/* Whether a view of type `from` can be copied byte for byte into a
 * builder of type `to`. */
bool floe_arrow_type_same_layout(const floe_arrow_type_info *to,
                                 const floe_arrow_type_info *from) {
  floe_arrow_type a = to->id, b = from->id;
  if (a == b) {
    if (a == FLOE_ARROW_FIXED) return to->byte_width == from->byte_width;
    if (a == FLOE_ARROW_DECIMAL128) return to->scale == from->scale;
    return a != FLOE_ARROW_UNKNOWN;
  }
  if (floe_arrow_type_is_varlen(a) && floe_arrow_type_is_varlen(b)) return true;
  if ((a == FLOE_ARROW_FIXED || a == FLOE_ARROW_UUID) &&
      (b == FLOE_ARROW_FIXED || b == FLOE_ARROW_UUID))
    return to->byte_width == from->byte_width;
  if ((a == FLOE_ARROW_TIMESTAMP_US || a == FLOE_ARROW_TIMESTAMP_US_TZ) &&
      (b == FLOE_ARROW_TIMESTAMP_US || b == FLOE_ARROW_TIMESTAMP_US_TZ))
    return true;
  return (a == FLOE_ARROW_TIMESTAMP_NS || a == FLOE_ARROW_TIMESTAMP_NS_TZ) &&
         (b == FLOE_ARROW_TIMESTAMP_NS || b == FLOE_ARROW_TIMESTAMP_NS_TZ);
}

/* Copies n bits from src (starting at bit s) to dst (starting at bit d). */
static void copy_bits(uint8_t *dst, int64_t d, const uint8_t *src, int64_t s, int64_t n) {
  if ((d & 7) == 0 && (s & 7) == 0) {
    memcpy(dst + d / 8, src + s / 8, (size_t)(n / 8));
    for (int64_t k = n & ~(int64_t)7; k < n; k++)
      floe_arrow_bit_set(dst, d + k, floe_arrow_bit(src, s + k));
    return;
  }
  for (int64_t k = 0; k < n; k++) floe_arrow_bit_set(dst, d + k, floe_arrow_bit(src, s + k));
}

/* Appends the validity of view rows [start, start + n) to b (rows
 * b->length .. + n); counts their nulls into b->null_count. */
static int append_validity(floe_arrow_builder *b, const floe_arrow_view *v, int64_t start,
                           int64_t n) {
  int64_t nulls = 0;
  if (v->validity != NULL)
    for (int64_t k = 0; k < n; k++) nulls += !floe_arrow_bit(v->validity, v->offset + start + k);
  if (nulls == 0 && b->validity == NULL) return FLOE_OK;
  size_t need = (size_t)(b->length + n + 7) / 8;
  if (b->validity == NULL) {
    if (grow(&b->validity, &b->validity_cap, need < 64 ? 64 : need) < 0) return FLOE_ENOMEM;
    memset(b->validity, 0xff, b->validity_cap);
  } else {
    size_t old = b->validity_cap;
    if (grow(&b->validity, &b->validity_cap, need) < 0) return FLOE_ENOMEM;
    if (b->validity_cap > old) memset(b->validity + old, 0xff, b->validity_cap - old);
  }
  if (v->validity != NULL)
    copy_bits(b->validity, b->length, v->validity, v->offset + start, n);
  else
    for (int64_t k = 0; k < n; k++) floe_arrow_bit_set(b->validity, b->length + k, true);
  b->null_count += nulls;
  return FLOE_OK;
}

int floe_arrow_builder_append_view(floe_arrow_builder *b, const floe_arrow_view *v,
                                   int64_t start, int64_t n) {
  if (n <= 0) return FLOE_OK;
  if (start < 0 || start + n > v->length || !floe_arrow_type_same_layout(&b->type, &v->type)) return FLOE_EINVAL;
  if (floe_arrow_builder_reserve(b, n, 0) < 0) return FLOE_ENOMEM;
  int64_t first = v->offset + start;
  if (b->type.id == FLOE_ARROW_STRUCT) {
    if (b->n_children != v->n_children) return FLOE_EINVAL;
    for (int64_t k = 0; k < b->n_children; k++) {
      floe_arrow_view field;
      if (floe_arrow_view_struct_child(v, k, &field, NULL) < 0) return FLOE_EINVAL;
      int rc = floe_arrow_builder_append_view(&b->children[k], &field, start, n);
      if (rc < 0) return rc;
    }
  } else if (uses_offsets(b->type.id)) {
    int32_t base = v->offsets[first], last = v->offsets[first + n];
    int32_t end;
    memcpy(&end, b->values + b->length * 4, 4);
    int64_t count = (int64_t)last - base;
    if (count < 0) return FLOE_EINVAL;
    if ((int64_t)end + count > INT32_MAX) return FLOE_ERANGE;
    if (b->type.id == FLOE_ARROW_LIST || b->type.id == FLOE_ARROW_MAP) {
      /* A map's child view is its entries struct, like a list's elements. */
      floe_arrow_view child;
      if (b->child == NULL ||
          floe_arrow_view_init(&child, v->child_schema, v->child_array, NULL) < 0)
        return FLOE_EINVAL;
      int rc = floe_arrow_builder_append_view(b->child, &child, base, count);
      if (rc < 0) return rc;
    } else {
      if (grow(&b->data, &b->data_cap, b->data_len + (size_t)count) < 0) return FLOE_ENOMEM;
      if (count > 0) memcpy(b->data + b->data_len, v->data + base, (size_t)count);
      b->data_len += (size_t)count;
    }
    int32_t *dst = (int32_t *)(void *)(b->values) + b->length + 1;
    const int32_t *src = v->offsets + first + 1;
    int32_t shift = end - base;
    for (int64_t k = 0; k < n; k++) dst[k] = src[k] + shift;
  } else if (b->type.id == FLOE_ARROW_BOOL) {
    copy_bits(b->values, b->length, v->values, first, n);
  } else {
    size_t w = (size_t)floe_arrow_type_value_size(&b->type);
    memcpy(b->values + (size_t)b->length * w, v->values + (size_t)first * w, (size_t)n * w);
  }
  if (append_validity(b, v, start, n) < 0) return FLOE_ENOMEM;
  b->length += n;
  return FLOE_OK;
}
