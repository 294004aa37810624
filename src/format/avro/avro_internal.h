/*
 * format/avro/avro_internal.h: what the Avro schema, encoder, decoder and
 * JSON renderer share: the schema's private layout, the nesting limit and
 * union branch selection.
 */
#ifndef FLOE_FORMAT_AVRO_INTERNAL_H
#define FLOE_FORMAT_AVRO_INTERNAL_H

#include "core/arena.h"
#include "floe/avro.h"

/* Deepest nesting of records, arrays, maps and unions that floe encodes,
 * decodes or renders. Iceberg manifests need fewer than 10 levels; the
 * limit keeps recursive schemas and hostile files off the C stack. */
#define FLOE_AVRO_MAX_DEPTH 64

/* Largest decompressed block the reader accepts (a decompression bomb
 * guard; writers use 64 KiB to a few MiB). */
#define FLOE_AVRO_MAX_BLOCK_SIZE ((size_t)64 * 1024 * 1024)

/* Items of a type that encodes to zero bytes (null, an empty record) do not
 * consume input, so their counts cannot be bounded by the bytes left; this
 * caps them instead, per record (and, scaled by the schema size, the
 * records per block of a schema whose records take zero bytes). */
#define FLOE_AVRO_MAX_ZERO_SIZE_ITEMS ((int64_t)1 << 20)

struct floe_avro_schema {
  char *text; /* exact JSON, NUL-terminated */
  size_t text_len;
  void *json; /* json_t *, owned */
  floe_arena arena; /* nodes, fields, names */
  floe_avro_node *root;
};

/* The branch of union `u` that `value` goes to: value->branch when it is
 * in range and of the value's type, otherwise the first branch of the
 * value's type; -1 when there is none. */
static inline long floe_avro_pick_branch(const floe_avro_node *u,
                                         const floe_avro_value *value) {
  if (value->branch >= 0) {
    if ((size_t)value->branch < u->branch_count &&
        u->branches[value->branch]->type == value->type)
      return value->branch;
    return -1;
  }
  for (size_t i = 0; i < u->branch_count; i++)
    if (u->branches[i]->type == value->type) return (long)i;
  return -1;
}

/* Zigzag decoding (Avro spec: "Binary Encoding", int and long). */
static inline int64_t floe_avro_unzigzag(uint64_t n) {
  return (int64_t)(n >> 1) ^ -(int64_t)(n & 1);
}

/* Reads a zigzag varint long from *p (< end). Returns 0, or -1 when the
 * input ends inside the varint or it is longer than 10 bytes / overflows
 * 64 bits. */
static inline int floe_avro_read_long(const uint8_t **p, const uint8_t *end,
                                      int64_t *out) {
  const uint8_t *q = *p;
  uint64_t n = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (q >= end) return -1;
    uint8_t b = *q++;
    if (shift == 63 && b > 1) return -1;
    n |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *p = q;
      *out = floe_avro_unzigzag(n);
      return 0;
    }
  }
  return -1;
}

/* Appends `s` as a JSON string: escapes as JSON.stringify does, invalid
 * UTF-8 becomes U+FFFD (maximal subparts, as WHATWG decoders do). When
 * `latin1` is set every byte is one code point U+0000..U+00FF instead. */
int floe_avro_json_string(floe_buf *out, const uint8_t *s, size_t len,
                          int latin1);

#endif
