/*
 * core/buffer: growable byte buffer. Growth doubles capacity so appends are
 * amortised O(1); nothing here logs or prints.
 */
#include "floe/buffer.h"

#include <stdio.h>

void floe_buf_init(floe_buf *buf) {
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

void floe_buf_free(floe_buf *buf) {
  if (buf == NULL) return;
  floe_free(buf->data);
  floe_buf_init(buf);
}

int floe_buf_reserve(floe_buf *buf, size_t extra) {
  if (extra > SIZE_MAX - buf->len) return FLOE_ENOMEM;
  size_t need = buf->len + extra;
  if (need <= buf->cap) return FLOE_OK;
  size_t cap = buf->cap ? buf->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *data = floe_realloc(buf->data, cap);
  if (data == NULL) return FLOE_ENOMEM;
  buf->data = data;
  buf->cap = cap;
  return FLOE_OK;
}

int floe_buf_resize(floe_buf *buf, size_t len) {
  if (len > buf->len) {
    if (floe_buf_reserve(buf, len - buf->len) != FLOE_OK) return FLOE_ENOMEM;
    memset(buf->data + buf->len, 0, len - buf->len);
  }
  buf->len = len;
  return FLOE_OK;
}

int floe_buf_append(floe_buf *buf, const void *bytes, size_t n) {
  if (n == 0) return FLOE_OK;
  if (floe_buf_reserve(buf, n) != FLOE_OK) return FLOE_ENOMEM;
  floe_buf_put(buf, bytes, n);
  return FLOE_OK;
}

int floe_buf_append_byte(floe_buf *buf, uint8_t byte) {
  if (floe_buf_reserve(buf, 1) != FLOE_OK) return FLOE_ENOMEM;
  buf->data[buf->len++] = byte;
  return FLOE_OK;
}

int floe_buf_append_str(floe_buf *buf, const char *s) {
  return floe_buf_append(buf, s, strlen(s));
}

int floe_buf_appendf(floe_buf *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return FLOE_EINVAL;
  if (floe_buf_reserve(buf, (size_t)n + 1) != FLOE_OK) return FLOE_ENOMEM;
  va_start(ap, fmt);
  vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf->len += (size_t)n;
  return FLOE_OK;
}

int floe_buf_append_hex(floe_buf *buf, const uint8_t *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  if (floe_buf_reserve(buf, n * 2) != FLOE_OK) return FLOE_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    buf->data[buf->len++] = (uint8_t)digits[bytes[i] >> 4];
    buf->data[buf->len++] = (uint8_t)digits[bytes[i] & 15];
  }
  return FLOE_OK;
}

int floe_buf_append_u32le(floe_buf *buf, uint32_t v) {
  if (floe_buf_reserve(buf, 4) != FLOE_OK) return FLOE_ENOMEM;
  floe_store_u32le(buf->data + buf->len, v);
  buf->len += 4;
  return FLOE_OK;
}

int floe_buf_append_u64le(floe_buf *buf, uint64_t v) {
  if (floe_buf_reserve(buf, 8) != FLOE_OK) return FLOE_ENOMEM;
  floe_store_u64le(buf->data + buf->len, v);
  buf->len += 8;
  return FLOE_OK;
}

int floe_buf_append_uvarint(floe_buf *buf, uint64_t v) {
  if (floe_buf_reserve(buf, 10) != FLOE_OK) return FLOE_ENOMEM;
  floe_buf_put_uvarint(buf, v);
  return FLOE_OK;
}

int floe_buf_append_zigzag(floe_buf *buf, int64_t v) {
  return floe_buf_append_uvarint(buf, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int floe_buf_terminate(floe_buf *buf) {
  if (floe_buf_reserve(buf, 1) != FLOE_OK) return FLOE_ENOMEM;
  buf->data[buf->len] = '\0';
  return FLOE_OK;
}

uint8_t *floe_buf_detach(floe_buf *buf, size_t *out_len) {
  uint8_t *data = buf->data;
  if (out_len != NULL) *out_len = buf->len;
  floe_buf_init(buf);
  return data;
}
