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

int floe_buf_grow(floe_buf *buf, size_t extra) {
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

size_t floe_utf8_sequence_length(const uint8_t *s, size_t n) {
  if (n == 0) return 0;
  uint8_t c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;      /* overlong */
    else if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;      /* overlong */
    else if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}

int floe_buf_append_json_string(floe_buf *buf, const char *s) {
  if (s == NULL) return floe_buf_append_str(buf, "null");
  const uint8_t *p = (const uint8_t *)s;
  size_t n = strlen(s);
  int rc = floe_buf_append_byte(buf, '"');
  for (size_t i = 0; i < n && rc == 0;) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      uint8_t esc[2] = {'\\', c};
      rc = floe_buf_append(buf, esc, 2);
      i++;
    } else if (c == '\n') {
      rc = floe_buf_append_str(buf, "\\n");
      i++;
    } else if (c == '\r') {
      rc = floe_buf_append_str(buf, "\\r");
      i++;
    } else if (c == '\t') {
      rc = floe_buf_append_str(buf, "\\t");
      i++;
    } else if (c < 0x20 || c == 0x7F) {
      rc = floe_buf_appendf(buf, "\\u%04x", c);
      i++;
    } else {
      size_t len = floe_utf8_sequence_length(p + i, n - i);
      if (len == 0) {
        rc = floe_buf_append_str(buf, "\\ufffd"); /* an invalid byte */
        i++;
      } else {
        rc = floe_buf_append(buf, p + i, len);
        i += len;
      }
    }
  }
  if (rc == 0) rc = floe_buf_append_byte(buf, '"');
  return rc;
}
