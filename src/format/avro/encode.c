/*
 * format/avro/encode: floe_avro_value to Avro binary (Avro spec: "Binary
 * Encoding"), validating as it goes.
 *
 * Validation and encoding are one pass: the writer's hot path touches each
 * value once. A failure rolls the output back to where the value began and
 * reports the path of the offending field ("data_file.lower_bounds[2].key:
 * expected int, got long"); the path is kept as a small stack of segments
 * and only formatted when something is wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format/avro/avro_internal.h"

typedef struct path_segment {
  const char *name;  /* record field, or NULL */
  const char *key;   /* map key (key_len bytes), or NULL */
  size_t key_len;
  size_t index;      /* array index when name and key are NULL */
} path_segment;

typedef struct encoder {
  floe_buf *out;
  floe_error *err;
  int depth;
  path_segment path[FLOE_AVRO_MAX_DEPTH + 1];
} encoder;

static int fail(encoder *enc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(encoder *enc, const char *fmt, ...) {
  char path[512];
  size_t used = 0;
  path[0] = '\0';
  for (int i = 0; i < enc->depth && used < sizeof path; i++) {
    const path_segment *s = &enc->path[i];
    int n;
    if (s->name != NULL)
      n = snprintf(path + used, sizeof path - used, "%s%s", used ? "." : "", s->name);
    else if (s->key != NULL)
      n = snprintf(path + used, sizeof path - used, "[\"%.*s\"]",
                   (int)(s->key_len > 64 ? 64 : s->key_len), s->key);
    else
      n = snprintf(path + used, sizeof path - used, "[%zu]", s->index);
    if (n < 0) break;
    used += (size_t)n;
  }
  if (used >= sizeof path) used = sizeof path - 1;
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return floe_error_set(enc->err, FLOE_EINVAL, "avro value %s: %s",
                        used ? path : "(root)", message);
}

static int nomem(encoder *enc) {
  return floe_error_set(enc->err, FLOE_ENOMEM, "avro encode: out of memory");
}

static int put_long(encoder *enc, int64_t v) {
  if (floe_buf_reserve(enc->out, 10) < 0) return nomem(enc);
  floe_buf_put_uvarint(enc->out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
  return FLOE_OK;
}

static int put_bytes(encoder *enc, const uint8_t *data, size_t len) {
  if (len > 0 && data == NULL) return fail(enc, "NULL data with length %zu", len);
  if (floe_buf_reserve(enc->out, 10 + len) < 0) return nomem(enc);
  floe_buf_put_uvarint(enc->out, (uint64_t)len << 1);
  if (len) floe_buf_put(enc->out, data, len);
  return FLOE_OK;
}

static const char *describe(const floe_avro_node *node) {
  return node->name != NULL ? node->name : floe_avro_type_name(node->type);
}

static int encode(encoder *enc, const floe_avro_node *node,
                  const floe_avro_value *v) {
  int rc;
  if (node->type == FLOE_AVRO_UNION) {
    long branch = floe_avro_pick_branch(node, v);
    if (branch < 0) {
      if (v->type == 0) return fail(enc, "value not set");
      if (v->branch >= 0)
        return fail(enc, "union branch %d does not hold a %s value", (int)v->branch,
                    floe_avro_type_name(v->type));
      char branches[256];
      size_t used = 0;
      for (size_t i = 0; i < node->branch_count && used < sizeof branches; i++) {
        int n = snprintf(branches + used, sizeof branches - used, "%s%s", i ? "," : "",
                         describe(node->branches[i]));
        if (n < 0) break;
        used += (size_t)n;
      }
      return fail(enc, "union [%s] has no branch for a %s value", branches,
                  floe_avro_type_name(v->type));
    }
    if ((rc = put_long(enc, branch)) < 0) return rc;
    node = node->branches[branch];
  }
  if (v->type != node->type) {
    if (v->type == 0) return fail(enc, "value not set (expected %s)", describe(node));
    return fail(enc, "expected %s, got %s", describe(node), floe_avro_type_name(v->type));
  }
  switch (node->type) {
    case FLOE_AVRO_NULL: return FLOE_OK;
    case FLOE_AVRO_BOOLEAN:
      if (floe_buf_append_byte(enc->out, v->u.boolean ? 1 : 0) < 0) return nomem(enc);
      return FLOE_OK;
    case FLOE_AVRO_INT: return put_long(enc, v->u.i);
    case FLOE_AVRO_LONG: return put_long(enc, v->u.l);
    case FLOE_AVRO_FLOAT: {
      uint32_t bits;
      memcpy(&bits, &v->u.f, 4);
      return floe_buf_append_u32le(enc->out, bits) < 0 ? nomem(enc) : FLOE_OK;
    }
    case FLOE_AVRO_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &v->u.d, 8);
      return floe_buf_append_u64le(enc->out, bits) < 0 ? nomem(enc) : FLOE_OK;
    }
    case FLOE_AVRO_BYTES:
    case FLOE_AVRO_STRING: return put_bytes(enc, v->u.bytes.data, v->u.bytes.len);
    case FLOE_AVRO_FIXED:
      if (v->u.bytes.len != node->fixed_size)
        return fail(enc, "fixed %s needs %zu bytes, got %zu", describe(node),
                    node->fixed_size, v->u.bytes.len);
      if (v->u.bytes.len > 0 && v->u.bytes.data == NULL) return fail(enc, "NULL fixed data");
      return floe_buf_append(enc->out, v->u.bytes.data, v->u.bytes.len) < 0 ? nomem(enc)
                                                                            : FLOE_OK;
    case FLOE_AVRO_ENUM:
      if (v->u.i < 0 || (size_t)v->u.i >= node->symbol_count)
        return fail(enc, "enum %s has %zu symbols, index %d is out of range", describe(node),
                    node->symbol_count, (int)v->u.i);
      return put_long(enc, v->u.i);
    case FLOE_AVRO_ARRAY:
    case FLOE_AVRO_MAP: {
      int is_array = node->type == FLOE_AVRO_ARRAY;
      size_t count = is_array ? v->u.array.count : v->u.map.count;
      if (count == 0) return put_long(enc, 0);
      if ((is_array ? (const void *)v->u.array.items : (const void *)v->u.map.entries) == NULL)
        return fail(enc, "NULL %s with %zu items", is_array ? "array" : "map", count);
      if (enc->depth >= FLOE_AVRO_MAX_DEPTH)
        return fail(enc, "nested deeper than %d levels", FLOE_AVRO_MAX_DEPTH);
      /* One block holding every item, then the empty block (Avro spec:
       * "Complex Types", arrays and maps). */
      if ((rc = put_long(enc, (int64_t)count)) < 0) return rc;
      path_segment *seg = &enc->path[enc->depth++];
      for (size_t i = 0; i < count; i++) {
        if (is_array) {
          seg->name = NULL;
          seg->key = NULL;
          seg->index = i;
          if ((rc = encode(enc, node->items, &v->u.array.items[i])) < 0) return rc;
        } else {
          const floe_avro_map_entry *entry = &v->u.map.entries[i];
          seg->name = NULL;
          seg->key = NULL;
          seg->index = i;
          if (entry->key == NULL && entry->key_len > 0) return fail(enc, "NULL map key");
          if ((rc = put_bytes(enc, (const uint8_t *)entry->key, entry->key_len)) < 0) return rc;
          seg->key = entry->key ? entry->key : "";
          seg->key_len = entry->key_len;
          if ((rc = encode(enc, node->values, &entry->value)) < 0) return rc;
        }
      }
      enc->depth--;
      return put_long(enc, 0);
    }
    case FLOE_AVRO_RECORD: {
      if (v->u.record.count != node->field_count) {
        if (v->u.record.count < node->field_count)
          return fail(enc, "record %s: missing field '%s' (%zu of %zu fields given)",
                      describe(node), node->fields[v->u.record.count].name,
                      v->u.record.count, node->field_count);
        return fail(enc, "record %s has %zu fields, got %zu values", describe(node),
                    node->field_count, v->u.record.count);
      }
      if (node->field_count > 0 && v->u.record.fields == NULL)
        return fail(enc, "NULL record fields");
      if (enc->depth >= FLOE_AVRO_MAX_DEPTH)
        return fail(enc, "nested deeper than %d levels", FLOE_AVRO_MAX_DEPTH);
      path_segment *seg = &enc->path[enc->depth++];
      seg->key = NULL;
      for (size_t i = 0; i < node->field_count; i++) {
        seg->name = node->fields[i].name;
        if ((rc = encode(enc, node->fields[i].type, &v->u.record.fields[i])) < 0) return rc;
      }
      enc->depth--;
      return FLOE_OK;
    }
    default: return fail(enc, "unknown schema type %d", (int)node->type);
  }
}

int floe_avro_encode_value(const floe_avro_node *schema,
                           const floe_avro_value *value, floe_buf *out,
                           floe_error *err) {
  encoder enc;
  enc.out = out;
  enc.err = err;
  enc.depth = 0;
  size_t start = out->len;
  int rc = encode(&enc, schema, value);
  if (rc < 0) out->len = start;
  return rc;
}
