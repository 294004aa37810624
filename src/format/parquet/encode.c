/*
 * format/parquet/encode: RLE/bit-packed hybrid encoder and dictionary hash
 * tables for the Parquet writer.
 *
 * The hybrid encoder works on a whole page's values at once (the writer
 * buffers levels and indices per page anyway), which lets it look ahead:
 * a run of 8 or more equal values becomes an RLE run, everything else is
 * gathered into bit-packed groups of 8. A literal stretch must hold a
 * multiple of 8 values unless it ends the stream, so before an RLE run the
 * pending literals borrow values from the run to fill their last group
 * (parquet-format Encodings.md: "Run Length Encoding / Bit-Packing Hybrid":
 * run header = varint(count << 1) then the value in ceil(bit_width / 8)
 * bytes; bit-packed header = varint(groups << 1 | 1) then groups * bit_width
 * bytes, values packed LSB first).
 *
 * Dictionaries keep their entries PLAIN-encoded in insertion order, so the
 * dictionary page body is ready when the column chunk is flushed, and find
 * entries with linear probing on a power-of-two table kept at most half
 * full.
 */
#include "format/parquet/encode.h"

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

#define MIN_RLE_RUN 8

#define DEFINE_RLE_ENCODER(NAME, T)                                           \
  static void NAME##_pack(const T *values, size_t n, int bit_width,           \
                          floe_buf *out) {                                    \
    /* n values, padded with zeros to a multiple of 8. */                     \
    size_t groups = (n + 7) / 8;                                              \
    floe_buf_put_uvarint(out, (uint64_t)groups << 1 | 1);                     \
    uint8_t *dst = out->data + out->len;                                      \
    uint64_t acc = 0;                                                         \
    int bits = 0;                                                             \
    size_t total = groups * 8;                                                \
    for (size_t i = 0; i < total; i++) {                                      \
      uint64_t v = i < n ? (uint64_t)values[i] : 0;                           \
      acc |= v << bits;                                                       \
      bits += bit_width;                                                      \
      while (bits >= 8) {                                                     \
        *dst++ = (uint8_t)acc;                                                \
        acc >>= 8;                                                            \
        bits -= 8;                                                            \
      }                                                                       \
    }                                                                         \
    out->len = (size_t)(dst - out->data);                                     \
  }                                                                           \
  static void NAME##_run(uint64_t value, size_t count, int bit_width,         \
                         floe_buf *out) {                                     \
    floe_buf_put_uvarint(out, (uint64_t)count << 1);                          \
    for (int b = 0; b < (bit_width + 7) / 8; b++)                             \
      floe_buf_put_byte(out, (uint8_t)(value >> (8 * b)));                    \
  }                                                                           \
  int pq_rle_encode_##NAME(const T *values, size_t n, int bit_width,          \
                           floe_buf *out) {                                   \
    /* Worst case: everything bit-packed, plus a few run headers. */          \
    size_t bound = (n + 8) / 8 * (size_t)(bit_width > 0 ? bit_width : 1) +   \
                   n / MIN_RLE_RUN * 24 + 32;                                 \
    if (floe_buf_reserve(out, bound) < 0) return FLOE_ENOMEM;                 \
    size_t literal_start = 0, i = 0;                                          \
    while (i < n) {                                                           \
      T v = values[i];                                                        \
      size_t run = 1;                                                         \
      while (i + run < n && values[i + run] == v) run++;                      \
      if (run >= MIN_RLE_RUN) {                                               \
        size_t pending = i - literal_start;                                   \
        size_t borrow = (8 - pending % 8) % 8;                                \
        if (run - borrow >= MIN_RLE_RUN) {                                    \
          pending += borrow;                                                  \
          i += borrow;                                                        \
          run -= borrow;                                                      \
          if (pending > 0)                                                    \
            NAME##_pack(values + literal_start, pending, bit_width, out);     \
          NAME##_run((uint64_t)v, run, bit_width, out);                       \
          i += run;                                                           \
          literal_start = i;                                                  \
          continue;                                                           \
        }                                                                     \
      }                                                                       \
      i += run;                                                               \
    }                                                                         \
    if (n > literal_start)                                                    \
      NAME##_pack(values + literal_start, n - literal_start, bit_width, out); \
    return FLOE_OK;                                                           \
  }

DEFINE_RLE_ENCODER(u32, uint32_t)
DEFINE_RLE_ENCODER(u8, uint8_t)

/* ---- dictionaries ------------------------------------------------------ */

void pq_dict_init(pq_dict *dict, int32_t width) {
  memset(dict, 0, sizeof *dict);
  dict->width = width;
}

void pq_dict_free(pq_dict *dict) {
  if (dict == NULL) return;
  floe_buf_free(&dict->plain);
  floe_free(dict->offsets);
  floe_free(dict->slots);
  int32_t width = dict->width;
  pq_dict_init(dict, width);
}

void pq_dict_clear(pq_dict *dict) {
  floe_buf_reset(&dict->plain);
  dict->count = 0;
  if (dict->slots == NULL) return;
  /* A large table (a column that turned out nearly unique) is dropped
   * rather than zeroed: the next chunk may never need it, and growing
   * again costs less than clearing megabytes each time. */
  if (dict->mask + 1 > 16384) {
    floe_free(dict->slots);
    dict->slots = NULL;
    dict->mask = 0;
    return;
  }
  memset(dict->slots, 0, ((size_t)dict->mask + 1) * sizeof *dict->slots);
}

int64_t pq_dict_grow(pq_dict *dict) {
  size_t old_size = dict->slots != NULL ? (size_t)dict->mask + 1 : 0;
  size_t new_size = old_size == 0 ? 1024 : old_size * 2;
  if (new_size > ((size_t)1 << 31)) return FLOE_ENOMEM;
  pq_dict_slot *slots = floe_calloc(new_size, sizeof *slots);
  if (slots == NULL) return FLOE_ENOMEM;
  uint32_t mask = (uint32_t)(new_size - 1);
  for (size_t i = 0; i < old_size; i++) {
    pq_dict_slot slot = dict->slots[i];
    if (slot.index == 0) continue;
    /* Fixed-width keys are rehashed; byte keys store their hash. */
    uint32_t pos = (uint32_t)(dict->width > 0 && dict->width <= 8
                                  ? pq_hash_u64(slot.key)
                                  : slot.key) & mask;
    while (slots[pos].index != 0) pos = (pos + 1) & mask;
    slots[pos] = slot;
  }
  floe_free(dict->slots);
  dict->slots = slots;
  dict->mask = mask;
  return FLOE_OK;
}

uint64_t pq_hash_bytes(const uint8_t *p, size_t n) {
  const uint64_t m = 0x9E3779B97F4A7C15ULL;
  uint64_t h = 0x2545F4914F6CDD1DULL ^ (n * m);
  while (n >= 8) {
    uint64_t k;
    memcpy(&k, p, 8);
    h = (h ^ (k * m)) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = 0;
    memcpy(&k, p, n);
    h = (h ^ (k * m)) * 0xff51afd7ed558ccdULL;
  }
  h ^= h >> 32;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 29;
  return h;
}

int64_t pq_dict_put_bytes(pq_dict *dict, const uint8_t *bytes, size_t len,
                          bool *inserted) {
  if (dict->slots == NULL || (dict->count + 1) * 2 > dict->mask + 1) {
    if (pq_dict_grow(dict) < 0) return FLOE_ENOMEM;
  }
  uint64_t hash = pq_hash_bytes(bytes, len);
  uint32_t pos = (uint32_t)hash & dict->mask;
  for (;;) {
    pq_dict_slot *slot = &dict->slots[pos];
    if (slot->index == 0) break;
    if (slot->key == hash && slot->aux == len) {
      size_t entry_len;
      const uint8_t *entry = pq_dict_entry(dict, slot->index - 1, &entry_len);
      if (memcmp(entry, bytes, len) == 0) {
        *inserted = false;
        return slot->index - 1;
      }
    }
    pos = (pos + 1) & dict->mask;
  }
  if (len > UINT32_MAX) return FLOE_ENOMEM;
  if (dict->width == 0) {
    if (dict->count == dict->offsets_cap) {
      size_t cap = dict->offsets_cap == 0 ? 1024 : dict->offsets_cap * 2;
      uint64_t *offsets = floe_realloc(dict->offsets, cap * sizeof *offsets);
      if (offsets == NULL) return FLOE_ENOMEM;
      dict->offsets = offsets;
      dict->offsets_cap = cap;
    }
    if (floe_buf_reserve(&dict->plain, len + 4) < 0) return FLOE_ENOMEM;
    floe_store_u32le(dict->plain.data + dict->plain.len, (uint32_t)len);
    dict->plain.len += 4;
    dict->offsets[dict->count] = dict->plain.len;
  } else if (floe_buf_reserve(&dict->plain, len) < 0) {
    return FLOE_ENOMEM;
  }
  floe_buf_put(&dict->plain, bytes, len);
  dict->slots[pos].key = hash;
  dict->slots[pos].aux = (uint32_t)len;
  dict->slots[pos].index = ++dict->count;
  *inserted = true;
  return dict->count - 1;
}
