/*
 * format/avro/json: renders a floe_avro_value as JSON, the way avsc 5.7.9
 * decodes a record and JSON.stringify shows it (the convention of the
 * golden .jsonl files): unions by value, enums as symbols, maps as objects.
 * Where JSON.stringify would lose information floe stays exact: longs are
 * printed as exact integers, NaN and infinities as strings. Bytes and fixed
 * use the Avro JSON encoding (Avro spec: "JSON Encoding": one code point
 * per byte). Doubles are printed in the shortest form that reads back to
 * the same value, as JavaScript does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/avro/avro_internal.h"

static int put_escaped_ascii(floe_buf *out, uint8_t c) {
  switch (c) {
    case '"': return floe_buf_append(out, "\\\"", 2);
    case '\\': return floe_buf_append(out, "\\\\", 2);
    case '\b': return floe_buf_append(out, "\\b", 2);
    case '\f': return floe_buf_append(out, "\\f", 2);
    case '\n': return floe_buf_append(out, "\\n", 2);
    case '\r': return floe_buf_append(out, "\\r", 2);
    case '\t': return floe_buf_append(out, "\\t", 2);
    default:
      if (c < 0x20) return floe_buf_appendf(out, "\\u%04x", c);
      return floe_buf_append_byte(out, c);
  }
}

int floe_avro_json_string(floe_buf *out, const uint8_t *s, size_t len,
                          int latin1) {
  static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD};
  if (floe_buf_reserve(out, len + 2) < 0) return FLOE_ENOMEM;
  floe_buf_put_byte(out, '"');
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      if (put_escaped_ascii(out, c) < 0) return FLOE_ENOMEM;
      i++;
      continue;
    }
    if (latin1) {
      uint8_t two[2] = {(uint8_t)(0xC0 | (c >> 6)), (uint8_t)(0x80 | (c & 0x3F))};
      if (floe_buf_append(out, two, 2) < 0) return FLOE_ENOMEM;
      i++;
      continue;
    }
    /* UTF-8 validation with the WHATWG bounds on the second byte (rejects
     * overlong forms, surrogates and code points above U+10FFFF). */
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) need = 2, lo = 0xA0;
    else if (c == 0xED) need = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) need = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) need = 3, hi = 0x8F;
    else need = 0;
    size_t j = i + 1;
    int ok = need > 0;
    for (int k = 0; k < need; k++) {
      if (j >= len || s[j] < lo || s[j] > hi) {
        ok = 0;
        break;
      }
      lo = 0x80;
      hi = 0xBF;
      j++;
    }
    if (floe_buf_append(out, ok ? s + i : replacement, ok ? j - i : 3) < 0)
      return FLOE_ENOMEM;
    i = j; /* on failure the offending byte is examined again */
  }
  return floe_buf_append_byte(out, '"') < 0 ? FLOE_ENOMEM : FLOE_OK;
}

static int put_double(floe_buf *out, double d) {
  if (isnan(d)) return floe_buf_append_str(out, "\"NaN\"");
  if (isinf(d)) return floe_buf_append_str(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  char text[40];
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*g", precision, d);
    if (strtod(text, NULL) == d) break;
  }
  return floe_buf_append_str(out, text);
}

typedef struct renderer {
  floe_buf *out;
  floe_error *err;
} renderer;

static int nomem(renderer *r) {
  return floe_error_set(r->err, FLOE_ENOMEM, "avro json: out of memory");
}

static int render(renderer *r, const floe_avro_node *node,
                  const floe_avro_value *v, int depth) {
  floe_buf *out = r->out;
  if (depth > FLOE_AVRO_MAX_DEPTH)
    return floe_error_set(r->err, FLOE_EINVAL, "avro json: nested deeper than %d levels",
                          FLOE_AVRO_MAX_DEPTH);
  if (node->type == FLOE_AVRO_UNION) {
    long branch = floe_avro_pick_branch(node, v);
    if (branch < 0)
      return floe_error_set(r->err, FLOE_EINVAL, "avro json: no union branch for a %s value",
                            floe_avro_type_name(v->type));
    node = node->branches[branch];
  }
  if (v->type != node->type)
    return floe_error_set(r->err, FLOE_EINVAL, "avro json: expected %s, got %s",
                          floe_avro_type_name(node->type), floe_avro_type_name(v->type));
  int rc = 0;
  switch (node->type) {
    case FLOE_AVRO_NULL: rc = floe_buf_append_str(out, "null"); break;
    case FLOE_AVRO_BOOLEAN: rc = floe_buf_append_str(out, v->u.boolean ? "true" : "false"); break;
    case FLOE_AVRO_INT: rc = floe_buf_appendf(out, "%d", (int)v->u.i); break;
    case FLOE_AVRO_LONG: rc = floe_buf_appendf(out, "%lld", (long long)v->u.l); break;
    case FLOE_AVRO_FLOAT: rc = put_double(out, (double)v->u.f); break;
    case FLOE_AVRO_DOUBLE: rc = put_double(out, v->u.d); break;
    case FLOE_AVRO_STRING:
    case FLOE_AVRO_BYTES:
    case FLOE_AVRO_FIXED:
      if (v->u.bytes.len > 0 && v->u.bytes.data == NULL)
        return floe_error_set(r->err, FLOE_EINVAL, "avro json: NULL bytes");
      rc = floe_avro_json_string(out, v->u.bytes.data, v->u.bytes.len,
                                 node->type != FLOE_AVRO_STRING);
      break;
    case FLOE_AVRO_ENUM: {
      if (v->u.i < 0 || (size_t)v->u.i >= node->symbol_count)
        return floe_error_set(r->err, FLOE_EINVAL, "avro json: enum index %d out of range",
                              (int)v->u.i);
      const char *symbol = node->symbols[v->u.i];
      rc = floe_avro_json_string(out, (const uint8_t *)symbol, strlen(symbol), 0);
      break;
    }
    case FLOE_AVRO_ARRAY:
      if (floe_buf_append_byte(out, '[') < 0) return nomem(r);
      for (size_t i = 0; i < v->u.array.count; i++) {
        if (i > 0 && floe_buf_append_byte(out, ',') < 0) return nomem(r);
        if ((rc = render(r, node->items, &v->u.array.items[i], depth + 1)) < 0) return rc;
      }
      rc = floe_buf_append_byte(out, ']');
      break;
    case FLOE_AVRO_MAP:
      if (floe_buf_append_byte(out, '{') < 0) return nomem(r);
      for (size_t i = 0; i < v->u.map.count; i++) {
        const floe_avro_map_entry *entry = &v->u.map.entries[i];
        if (i > 0 && floe_buf_append_byte(out, ',') < 0) return nomem(r);
        if (floe_avro_json_string(out, (const uint8_t *)entry->key, entry->key_len, 0) < 0 ||
            floe_buf_append_byte(out, ':') < 0)
          return nomem(r);
        if ((rc = render(r, node->values, &entry->value, depth + 1)) < 0) return rc;
      }
      rc = floe_buf_append_byte(out, '}');
      break;
    case FLOE_AVRO_RECORD:
      if (v->u.record.count != node->field_count)
        return floe_error_set(r->err, FLOE_EINVAL, "avro json: record %s has %zu fields, got %zu",
                              node->name, node->field_count, v->u.record.count);
      if (floe_buf_append_byte(out, '{') < 0) return nomem(r);
      for (size_t i = 0; i < node->field_count; i++) {
        const char *name = node->fields[i].name;
        if (i > 0 && floe_buf_append_byte(out, ',') < 0) return nomem(r);
        if (floe_avro_json_string(out, (const uint8_t *)name, strlen(name), 0) < 0 ||
            floe_buf_append_byte(out, ':') < 0)
          return nomem(r);
        if ((rc = render(r, node->fields[i].type, &v->u.record.fields[i], depth + 1)) < 0)
          return rc;
      }
      rc = floe_buf_append_byte(out, '}');
      break;
    default:
      return floe_error_set(r->err, FLOE_EINVAL, "avro json: unknown type %d", (int)node->type);
  }
  return rc < 0 ? nomem(r) : FLOE_OK;
}

int floe_avro_value_to_json(const floe_avro_node *schema,
                            const floe_avro_value *value, floe_buf *out,
                            floe_error *err) {
  renderer r = {out, err};
  size_t start = out->len;
  int rc = render(&r, schema, value, 0);
  if (rc < 0) out->len = start;
  return rc;
}
