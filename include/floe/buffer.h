/*
 * floe/buffer.h: a growable byte buffer, the workhorse of every encoder.
 *
 * The buffer owns `data`; floe_buf_free releases it, floe_buf_detach hands it
 * to the caller (who frees it with floe_free). Appends return FLOE_OK or
 * FLOE_ENOMEM; hot loops call floe_buf_reserve once and then use the
 * unchecked floe_buf_put_* inlines.
 */
#ifndef FLOE_BUFFER_H
#define FLOE_BUFFER_H

#include <stdint.h>
#include <string.h>

#include "floe/common.h"

typedef struct floe_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} floe_buf;

#define FLOE_BUF_INIT {NULL, 0, 0}

void floe_buf_init(floe_buf *buf);
/* Frees the memory and leaves an empty buffer. Accepts NULL. */
void floe_buf_free(floe_buf *buf);
/* Empties the buffer, keeping its capacity. */
static inline void floe_buf_reset(floe_buf *buf) { buf->len = 0; }
/* The growing half of floe_buf_reserve. */
int floe_buf_grow(floe_buf *buf, size_t extra);
/* Ensures room for `extra` more bytes beyond len. */
static inline int floe_buf_reserve(floe_buf *buf, size_t extra) {
  if (extra <= buf->cap - buf->len) return FLOE_OK;
  return floe_buf_grow(buf, extra);
}
/* Sets len to `len`, growing (new bytes are zero) as needed. */
int floe_buf_resize(floe_buf *buf, size_t len);
int floe_buf_append(floe_buf *buf, const void *bytes, size_t n);
int floe_buf_append_byte(floe_buf *buf, uint8_t byte);
int floe_buf_append_str(floe_buf *buf, const char *s);
int floe_buf_appendf(floe_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends the bytes as lower-case hex digits, two per byte. */
int floe_buf_append_hex(floe_buf *buf, const uint8_t *bytes, size_t n);
int floe_buf_append_u32le(floe_buf *buf, uint32_t v);
int floe_buf_append_u64le(floe_buf *buf, uint64_t v);
/* Unsigned LEB128 varint, and zigzag-encoded signed varint. */
int floe_buf_append_uvarint(floe_buf *buf, uint64_t v);
int floe_buf_append_zigzag(floe_buf *buf, int64_t v);
/* The length (1-4) of the well-formed UTF-8 sequence starting at s (n
 * bytes available), or 0 when the bytes there are not one (a stray
 * continuation byte, an overlong form, a surrogate, past U+10FFFF, cut
 * short). RFC 3629. */
size_t floe_utf8_sequence_length(const uint8_t *s, size_t n);
/* Appends the NUL-terminated s as a JSON string literal (quoted, escaped;
 * control characters as \u00XX) that is always valid UTF-8: each byte that
 * does not begin a well-formed sequence becomes U+FFFD. NULL appends null. */
int floe_buf_append_json_string(floe_buf *buf, const char *s);
/* Appends a NUL after the contents without counting it in len, so that
 * data can be used as a C string. */
int floe_buf_terminate(floe_buf *buf);
/* Hands the memory to the caller and leaves an empty buffer; *out_len gets
 * the length (may be NULL). The caller frees the result with floe_free. */
uint8_t *floe_buf_detach(floe_buf *buf, size_t *out_len);

/* Unchecked appends: the caller reserved the room. */
static inline void floe_buf_put(floe_buf *buf, const void *bytes, size_t n) {
  memcpy(buf->data + buf->len, bytes, n);
  buf->len += n;
}
static inline void floe_buf_put_byte(floe_buf *buf, uint8_t byte) {
  buf->data[buf->len++] = byte;
}
static inline void floe_buf_put_uvarint(floe_buf *buf, uint64_t v) {
  while (v >= 0x80) {
    buf->data[buf->len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  buf->data[buf->len++] = (uint8_t)v;
}

/* Little-endian loads and stores (unaligned-safe). */
static inline uint32_t floe_load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static inline uint64_t floe_load_u64le(const uint8_t *p) {
  return (uint64_t)floe_load_u32le(p) | (uint64_t)floe_load_u32le(p + 4) << 32;
}
static inline void floe_store_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void floe_store_u64le(uint8_t *p, uint64_t v) {
  floe_store_u32le(p, (uint32_t)v);
  floe_store_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t floe_load_u32be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}
static inline void floe_store_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
