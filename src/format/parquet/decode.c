/*
 * format/parquet/decode: bit unpacking, the RLE / bit-packed hybrid,
 * legacy BIT_PACKED levels and DELTA_BINARY_PACKED (parquet-format:
 * Encodings.md).
 *
 * Bit-packed data always comes in groups of 8 values that occupy exactly
 * bit_width bytes, so the unpackers work a group at a time; a switch on the
 * bit width calls an always-inlined body with a constant width, which the
 * compiler unrolls into straight-line shifts and masks. Runs whose last
 * group was cut short by the writer are unpacked from a zero-padded copy,
 * never by reading past the end of the page.
 */
#include "format/parquet/decode.h"

#include <string.h>

static inline __attribute__((always_inline)) void unpack8_32_k(
    const uint8_t *in, uint32_t *out, const int bw) {
  const uint64_t mask = bw == 32 ? 0xffffffffu : ((UINT64_C(1) << bw) - 1);
  for (int i = 0; i < 8; i++) {
    const int bit = i * bw, byte = bit >> 3, shift = bit & 7;
    const int nbytes = (shift + bw + 7) >> 3;
    uint64_t w = 0;
    for (int k = 0; k < nbytes; k++) w |= (uint64_t)in[byte + k] << (8 * k);
    out[i] = (uint32_t)((w >> shift) & mask);
  }
}

#define CASE32(k) case k: unpack8_32_k(in, out, k); return;
void pq_unpack8_32(const uint8_t *in, int bit_width, uint32_t *out) {
  switch (bit_width) {
    case 0: memset(out, 0, 8 * sizeof *out); return;
    CASE32(1) CASE32(2) CASE32(3) CASE32(4) CASE32(5) CASE32(6) CASE32(7)
    CASE32(8) CASE32(9) CASE32(10) CASE32(11) CASE32(12) CASE32(13)
    CASE32(14) CASE32(15) CASE32(16) CASE32(17) CASE32(18) CASE32(19)
    CASE32(20) CASE32(21) CASE32(22) CASE32(23) CASE32(24) CASE32(25)
    CASE32(26) CASE32(27) CASE32(28) CASE32(29) CASE32(30) CASE32(31)
    CASE32(32)
    default: memset(out, 0, 8 * sizeof *out); return;
  }
}
#undef CASE32

void pq_unpack8_64(const uint8_t *in, int bit_width, uint64_t *out) {
  if (bit_width <= 32) {
    uint32_t v[8];
    pq_unpack8_32(in, bit_width, v);
    for (int i = 0; i < 8; i++) out[i] = v[i];
    return;
  }
  const unsigned __int128 mask =
      bit_width == 64 ? (unsigned __int128)UINT64_MAX
                      : (((unsigned __int128)1 << bit_width) - 1);
  for (int i = 0; i < 8; i++) {
    const int bit = i * bit_width, byte = bit >> 3, shift = bit & 7;
    const int nbytes = (shift + bit_width + 7) >> 3;
    unsigned __int128 w = 0;
    for (int k = 0; k < nbytes; k++)
      w |= (unsigned __int128)in[byte + k] << (8 * k);
    out[i] = (uint64_t)((w >> shift) & mask);
  }
}

int pq_read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  const uint8_t *q = *p;
  for (int shift = 0; shift < 64 && q < end; shift += 7) {
    uint8_t b = *q++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *p = q;
      *out = v;
      return FLOE_OK;
    }
  }
  return FLOE_EFORMAT;
}

/* ---- RLE / bit-packed hybrid ---------------------------------------- */

void pq_rle_init(pq_rle *d, const uint8_t *data, size_t len, int bit_width) {
  memset(d, 0, sizeof *d);
  d->p = data;
  d->end = data + len;
  d->bit_width = bit_width;
}

/* Unpacks the group at d->bp, from a padded copy when the run was cut
 * short. */
static inline void rle_unpack_group(pq_rle *d, uint32_t *out) {
  int bw = d->bit_width;
  if (d->end - d->bp >= bw) {
    pq_unpack8_32(d->bp, bw, out);
    d->bp += bw;
  } else {
    uint8_t padded[32] = {0};
    memcpy(padded, d->bp, (size_t)(d->end - d->bp));
    pq_unpack8_32(padded, bw, out);
    d->bp = d->end;
  }
  d->bp_groups--;
}

int pq_rle_get(pq_rle *d, uint32_t *out, int64_t n, int64_t *out_n,
               floe_error *err) {
  int64_t done = 0;
  const int bw = d->bit_width;
  while (done < n) {
    if (d->group_pos < d->group_n) {
      while (d->group_pos < d->group_n && done < n) out[done++] = d->group[d->group_pos++];
      continue;
    }
    if (d->rle_left > 0) {
      int64_t k = n - done < d->rle_left ? n - done : d->rle_left;
      uint32_t v = d->rle_value;
      for (int64_t i = 0; i < k; i++) out[done + i] = v;
      done += k;
      d->rle_left -= k;
      continue;
    }
    if (d->bp_groups > 0) {
      int64_t whole = (n - done) / 8;
      if (whole > d->bp_groups) whole = d->bp_groups;
      for (int64_t g = 0; g < whole; g++, done += 8) rle_unpack_group(d, out + done);
      if (done < n && d->bp_groups > 0) {
        rle_unpack_group(d, d->group);
        d->group_pos = 0;
        d->group_n = 8;
      }
      continue;
    }
    if (d->p >= d->end) break;
    uint64_t header;
    if (pq_read_uvarint(&d->p, d->end, &header) < 0)
      return floe_error_set(err, FLOE_EFORMAT, "RLE: truncated run header");
    uint64_t count = header >> 1;
    if (header & 1) {
      /* Bit-packed run of count groups of 8 values, count * bw bytes. */
      size_t avail = (size_t)(d->end - d->p);
      if (bw == 0) {
        d->bp_groups = (int64_t)(count > INT64_MAX / 8 ? INT64_MAX / 8 : count);
        d->bp = d->p;
      } else {
        uint64_t max_groups = (avail + (size_t)bw - 1) / (size_t)bw;
        if (count > max_groups) count = max_groups; /* cut short by the writer */
        d->bp = d->p;
        d->bp_groups = (int64_t)count;
        size_t bytes = (size_t)count * (size_t)bw;
        d->p += bytes < avail ? bytes : avail;
      }
    } else {
      int nbytes = (bw + 7) / 8;
      if (d->end - d->p < nbytes)
        return floe_error_set(err, FLOE_EFORMAT, "RLE: truncated run value");
      uint32_t v = 0;
      for (int k = 0; k < nbytes; k++) v |= (uint32_t)d->p[k] << (8 * k);
      d->p += nbytes;
      if (bw < 32 && (v >> bw) != 0)
        return floe_error_set(err, FLOE_EFORMAT,
                              "RLE: run value %u does not fit bit width %d", v, bw);
      d->rle_value = v;
      d->rle_left = (int64_t)(count > INT64_MAX ? INT64_MAX : count);
    }
  }
  *out_n = done;
  return FLOE_OK;
}

int pq_bitpacked_be_get(const uint8_t *data, size_t len, int bit_width,
                        int64_t first, uint32_t *out, int64_t n,
                        floe_error *err) {
  if (bit_width < 0 || bit_width > 32)
    return floe_error_set(err, FLOE_EFORMAT, "BIT_PACKED: bit width %d", bit_width);
  if ((uint64_t)(first + n) * (uint64_t)bit_width > (uint64_t)len * 8)
    return floe_error_set(err, FLOE_EFORMAT,
                          "BIT_PACKED: %lld levels need more than %zu bytes",
                          (long long)(first + n), len);
  uint64_t bit = (uint64_t)first * (uint64_t)bit_width;
  for (int64_t i = 0; i < n; i++) {
    uint32_t v = 0;
    for (int k = 0; k < bit_width; k++, bit++)
      v = v << 1 | ((data[bit >> 3] >> (7 - (bit & 7))) & 1);
    out[i] = v;
  }
  return FLOE_OK;
}

/* ---- DELTA_BINARY_PACKED -------------------------------------------- */

int pq_delta_init(pq_delta *d, const uint8_t *data, size_t len, floe_error *err) {
  memset(d, 0, sizeof *d);
  d->p = data;
  d->end = data + len;
  uint64_t first;
  if (pq_read_uvarint(&d->p, d->end, &d->block_size) < 0 ||
      pq_read_uvarint(&d->p, d->end, &d->n_mini) < 0 ||
      pq_read_uvarint(&d->p, d->end, &d->total) < 0 ||
      pq_read_uvarint(&d->p, d->end, &first) < 0)
    return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated header");
  if (d->block_size == 0 || d->n_mini == 0 || d->n_mini > 65536 ||
      d->block_size > (UINT64_C(1) << 32) || d->block_size % d->n_mini != 0 ||
      (d->block_size / d->n_mini) % 8 != 0)
    return floe_error_set(err, FLOE_EFORMAT,
                          "DELTA_BINARY_PACKED: bad block size %llu with %llu miniblocks",
                          (unsigned long long)d->block_size,
                          (unsigned long long)d->n_mini);
  d->per_mini = d->block_size / d->n_mini;
  d->last = (first >> 1) ^ (0 - (first & 1));
  d->group_pos = 8;
  d->mini_index = d->n_mini; /* forces a block header before the first delta */
  return FLOE_OK;
}

static int delta_next_group(pq_delta *d, floe_error *err) {
  if (d->mini_left == 0) {
    if (d->mini_index >= d->n_mini) {
      uint64_t zz;
      if (pq_read_uvarint(&d->p, d->end, &zz) < 0)
        return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated block header");
      d->min_delta = (zz >> 1) ^ (0 - (zz & 1));
      if ((uint64_t)(d->end - d->p) < d->n_mini)
        return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated bit widths");
      d->widths = d->p;
      d->p += d->n_mini;
      d->mini_index = 0;
    }
    d->mini_bw = d->widths[d->mini_index++];
    if (d->mini_bw > 64)
      return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: bit width %d",
                            d->mini_bw);
    d->mini_left = d->per_mini;
  }
  int bw = d->mini_bw;
  size_t avail = (size_t)(d->end - d->p);
  if (avail >= (size_t)bw) {
    pq_unpack8_64(d->p, bw, d->group);
    d->p += bw;
  } else if (avail > 0) {
    uint8_t padded[64] = {0}; /* the writer cut the last miniblock short */
    memcpy(padded, d->p, avail);
    pq_unpack8_64(padded, bw, d->group);
    d->p = d->end;
  } else {
    return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated miniblock");
  }
  d->mini_left -= 8;
  d->group_pos = 0;
  return FLOE_OK;
}

int pq_delta_get(pq_delta *d, int64_t *out, int64_t n, floe_error *err) {
  if (n < 0 || (uint64_t)n > d->total - d->produced)
    return floe_error_set(err, FLOE_EFORMAT,
                          "DELTA_BINARY_PACKED: %lld values wanted, %llu left",
                          (long long)n,
                          (unsigned long long)(d->total - d->produced));
  int64_t i = 0;
  if (n > 0 && d->produced == 0) {
    out[i++] = (int64_t)d->last;
    d->produced = 1;
  }
  uint64_t last = d->last;
  while (i < n) {
    if (d->group_pos == 8) {
      int rc = delta_next_group(d, err);
      if (rc < 0) return rc;
    }
    int k = 8 - d->group_pos;
    if (k > n - i) k = (int)(n - i);
    const uint64_t min_delta = d->min_delta;
    for (int j = 0; j < k; j++) {
      last += min_delta + d->group[d->group_pos++];
      out[i++] = (int64_t)last;
    }
    d->produced += (uint64_t)k;
  }
  d->last = last;
  return FLOE_OK;
}

int pq_delta_end(const pq_delta *dec, const uint8_t **out_end, floe_error *err) {
  const uint8_t *p = dec->p, *end = dec->end;
  uint64_t left = dec->total > 0 ? dec->total - 1 : 0; /* first is in the header */
  while (left > 0) {
    uint64_t zz;
    if (pq_read_uvarint(&p, end, &zz) < 0 || (uint64_t)(end - p) < dec->n_mini)
      return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated block");
    const uint8_t *widths = p;
    p += dec->n_mini;
    for (uint64_t m = 0; m < dec->n_mini && left > 0; m++) {
      int bw = widths[m];
      if (bw > 64)
        return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: bit width %d", bw);
      uint64_t k = left < dec->per_mini ? left : dec->per_mini;
      uint64_t bytes = dec->per_mini / 8 * (uint64_t)bw;
      uint64_t avail = (uint64_t)(end - p);
      if (bytes > avail) {
        if ((k * (uint64_t)bw + 7) / 8 > avail)
          return floe_error_set(err, FLOE_EFORMAT, "DELTA_BINARY_PACKED: truncated miniblock");
        bytes = avail;
      }
      p += bytes;
      left -= k;
    }
  }
  *out_end = p;
  return FLOE_OK;
}
