/*
 * format/parquet/encode: the value encodings the Parquet writer emits.
 *
 * - pq_rle_encode_*: the RLE/bit-packed hybrid (parquet-format
 *   Encodings.md, "Run Length Encoding / Bit-Packing Hybrid"), used for
 *   definition levels and dictionary indices.
 * - pq_dict: a dictionary under construction: the PLAIN encoding of its
 *   entries in insertion order (which is exactly the dictionary page body)
 *   and an open-addressing hash table from value to entry index.
 *
 * Everything here appends to caller-owned floe_buf and reports only
 * FLOE_ENOMEM. The encoders assume a little-endian host, as PLAIN does.
 */
#ifndef FLOE_PARQUET_ENCODE_H
#define FLOE_PARQUET_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "floe/buffer.h"
#include "floe/common.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "floe's Parquet encoders assume a little-endian host"
#endif

/* Bits needed to represent max_value (0 for 0). */
static inline int pq_bit_width(uint32_t max_value) {
  return max_value == 0 ? 0 : 32 - __builtin_clz(max_value);
}

/* Appends the hybrid encoding of values[0..n) at bit_width (0..32; values
 * must fit). Runs of >= 8 equal values become RLE runs, the rest bit-packed
 * groups of 8; the final group is padded with zeros (readers stop at the
 * value count the page header gives). No length prefix is written. */
int pq_rle_encode_u32(const uint32_t *values, size_t n, int bit_width,
                      floe_buf *out);
int pq_rle_encode_u8(const uint8_t *values, size_t n, int bit_width,
                     floe_buf *out);

/* ---- dictionaries ------------------------------------------------------ */

typedef struct pq_dict_slot {
  uint64_t key;   /* fixed-width: the value bits; varlen: the hash */
  uint32_t index; /* entry index + 1; 0 = empty slot */
  uint32_t aux;   /* varlen: byte length */
} pq_dict_slot;

typedef struct pq_dict {
  int32_t width;        /* bytes per value: 4, 8, N (FLBA); 0 = byte array */
  floe_buf plain;       /* PLAIN encoding of the entries: the dictionary page */
  uint64_t *offsets;    /* byte arrays and wide FLBA: where entry i's bytes
                           start in plain (after the length prefix) */
  size_t offsets_cap;
  uint32_t count;       /* entries */
  pq_dict_slot *slots;
  uint32_t mask;        /* slot count - 1 (a power of two) */
} pq_dict;

/* width as above. Allocates nothing until the first insert. */
void pq_dict_init(pq_dict *dict, int32_t width);
/* Frees the table and entries. Accepts NULL. */
void pq_dict_free(pq_dict *dict);
/* Forgets every entry, keeping the memory. */
void pq_dict_clear(pq_dict *dict);

/* Doubles the hash table (internal to pq_dict_put_*); FLOE_ENOMEM. */
int64_t pq_dict_grow(pq_dict *dict);

static inline uint64_t pq_hash_u64(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return key;
}

/* Looks `key` (the value's width bytes, little-endian, zero-extended; width
 * <= 8) up, inserting it when new. Returns the entry index, or FLOE_ENOMEM;
 * *inserted says whether it was new. */
static inline int64_t pq_dict_put_fixed(pq_dict *dict, uint64_t key,
                                        bool *inserted) {
  if ((dict->count + 1) * 2 > dict->mask + 1 || dict->slots == NULL) {
    if (pq_dict_grow(dict) < 0) return FLOE_ENOMEM;
  }
  uint32_t pos = (uint32_t)pq_hash_u64(key) & dict->mask;
  for (;;) {
    pq_dict_slot *slot = &dict->slots[pos];
    if (slot->index == 0) break;
    if (slot->key == key) {
      *inserted = false;
      return slot->index - 1;
    }
    pos = (pos + 1) & dict->mask;
  }
  if (floe_buf_reserve(&dict->plain, 8) < 0) return FLOE_ENOMEM;
  memcpy(dict->plain.data + dict->plain.len, &key, 8);
  dict->plain.len += (size_t)dict->width;
  dict->slots[pos].key = key;
  dict->slots[pos].index = ++dict->count;
  *inserted = true;
  return dict->count - 1;
}

/* Byte arrays (width 0) and fixed-length byte arrays wider than 8 bytes
 * (len == width). */
int64_t pq_dict_put_bytes(pq_dict *dict, const uint8_t *bytes, size_t len,
                          bool *inserted);

/* Entry i's bytes (byte arrays and FLBA). */
static inline const uint8_t *pq_dict_entry(const pq_dict *dict, uint32_t i,
                                           size_t *len) {
  if (dict->width > 0) {
    *len = (size_t)dict->width;
    return dict->plain.data + (size_t)i * (size_t)dict->width;
  }
  *len = floe_load_u32le(dict->plain.data + dict->offsets[i] - 4);
  return dict->plain.data + dict->offsets[i];
}

/* A 64-bit hash of a byte string (not cryptographic; for hash tables). */
uint64_t pq_hash_bytes(const uint8_t *p, size_t n);

#endif
