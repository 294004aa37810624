/*
 * format/parquet/decode: the Parquet value and level decoders the reader
 * is built from (parquet-format: Encodings.md).
 *
 * - bit unpacking, 8 values at a time (the unit of every bit-packed run);
 * - the RLE / bit-packed hybrid (levels, dictionary indices, booleans);
 * - legacy BIT_PACKED levels (most significant bit first);
 * - DELTA_BINARY_PACKED, streaming, with a walk to its end (needed to find
 *   the sections that follow it in DELTA_LENGTH_BYTE_ARRAY and
 *   DELTA_BYTE_ARRAY).
 *
 * Every decoder works on a caller-owned byte range and never reads outside
 * it; none allocates. Errors are FLOE_EFORMAT with a message naming the
 * encoding and what was wrong.
 */
#ifndef FLOE_PARQUET_DECODE_H
#define FLOE_PARQUET_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/common.h"

/* Unpacks 8 values of bit_width (0..32) bits, LSB first, from the
 * bit_width bytes at in. in must have bit_width readable bytes. */
void pq_unpack8_32(const uint8_t *in, int bit_width, uint32_t *out);
/* The same for bit_width 0..64 into 64-bit values. */
void pq_unpack8_64(const uint8_t *in, int bit_width, uint64_t *out);

/* Reads an unsigned LEB128 varint from [*p, end); advances *p. */
int pq_read_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* RLE / bit-packed hybrid decoder (Encodings.md: "Run Length Encoding /
 * Bit-Packing Hybrid"), without the 4-byte length prefix. */
typedef struct pq_rle {
  const uint8_t *p, *end;
  int bit_width;       /* 0..32 */
  uint32_t rle_value;
  int64_t rle_left;    /* values left in the current RLE run */
  const uint8_t *bp;   /* next group of the current bit-packed run */
  int64_t bp_groups;   /* whole 8-value groups left in the run */
  uint32_t group[8];   /* a group being handed out partly */
  int group_pos, group_n;
} pq_rle;

void pq_rle_init(pq_rle *d, const uint8_t *data, size_t len, int bit_width);
/* Decodes up to n values into out; *out_n gets how many (fewer than n only
 * when the data ends). A malformed run header is FLOE_EFORMAT. */
int pq_rle_get(pq_rle *d, uint32_t *out, int64_t n, int64_t *out_n,
               floe_error *err);

/* Legacy BIT_PACKED levels: values packed MSB first. Decodes n values
 * starting at value index `first` of data[0..len). */
int pq_bitpacked_be_get(const uint8_t *data, size_t len, int bit_width,
                        int64_t first, uint32_t *out, int64_t n,
                        floe_error *err);

/* Number of bytes to hold n values of bit_width bits. */
static inline int64_t pq_bit_bytes(int64_t n, int bit_width) {
  return (n * bit_width + 7) / 8;
}

/* DELTA_BINARY_PACKED decoder (Encodings.md: "Delta Encoding"). Values are
 * produced as 64-bit integers with wrapping arithmetic, so INT32 columns
 * take the low 32 bits. */
typedef struct pq_delta {
  const uint8_t *p, *end;
  uint64_t block_size, n_mini, per_mini;
  uint64_t total;      /* values in the header */
  uint64_t produced;   /* values handed out so far */
  uint64_t last;
  uint64_t min_delta;
  const uint8_t *widths;
  uint64_t mini_index; /* miniblock within the block */
  uint64_t mini_left;  /* values left in the current miniblock */
  int mini_bw;
  uint64_t group[8];
  int group_pos;
} pq_delta;

/* Parses the header at data[0..len). */
int pq_delta_init(pq_delta *d, const uint8_t *data, size_t len, floe_error *err);
/* Values in the header. */
static inline uint64_t pq_delta_total(const pq_delta *d) { return d->total; }
/* Decodes exactly n values; fewer values or missing bytes are EFORMAT. */
int pq_delta_get(pq_delta *d, int64_t *out, int64_t n, floe_error *err);
/* Walks a copy of a freshly initialised decoder over all of its values and
 * returns where the encoded block ends (*out_end). */
int pq_delta_end(const pq_delta *d, const uint8_t **out_end, floe_error *err);

#endif
