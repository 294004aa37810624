/*
 * core/truncate: prefix bounds of strings and bytes (see truncate.h). The
 * upper bound is computed in place: a truncated value is longer than its
 * prefix, so the one byte an incremented code point may grow by is always
 * within the original value.
 */
#include "core/truncate.h"

static size_t utf8_len(uint8_t lead) {
  return lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : 4;
}

static uint32_t utf8_decode(const uint8_t *p, size_t n) {
  if (n == 1) return p[0];
  uint32_t cp = p[0] & (0x7F >> n);
  for (size_t i = 1; i < n; i++) cp = cp << 6 | (p[i] & 0x3F);
  return cp;
}

static size_t utf8_encode(uint32_t cp, uint8_t *out) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | cp >> 18);
  out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

size_t floe_utf8_prefix_len(const uint8_t *p, size_t n, int32_t limit) {
  size_t cut = 0;
  for (int32_t k = 0; k < limit && cut < n; k++) {
    cut += utf8_len(p[cut]);
    if (cut > n) cut = n; /* a truncated last sequence */
  }
  return cut;
}

size_t floe_utf8_truncate_upper(uint8_t *p, size_t n, int32_t limit, bool *exists) {
  *exists = true;
  size_t cut = floe_utf8_prefix_len(p, n, limit);
  if (cut >= n) return n;
  /* Walk back over the kept code points for one to increment. */
  while (cut > 0) {
    size_t at = cut - 1;
    while (at > 0 && (p[at] & 0xC0) == 0x80) at--;
    size_t len = utf8_len(p[at]);
    if (at + len > cut) len = cut - at;
    uint32_t next = utf8_decode(p + at, len) + 1;
    if (next >= 0xD800 && next <= 0xDFFF) next = 0xE000; /* no surrogates */
    if (next <= 0x10FFFF) return at + utf8_encode(next, p + at);
    cut = at;
  }
  *exists = false;
  return 0;
}

size_t floe_binary_truncate_upper(uint8_t *p, size_t n, size_t limit, bool *exists) {
  *exists = true;
  if (n <= limit) return n;
  size_t k = limit;
  while (k > 0 && p[k - 1] == 0xFF) k--;
  if (k == 0) {
    *exists = false;
    return 0;
  }
  p[k - 1]++;
  return k;
}
