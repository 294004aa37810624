/*
 * iceberg/roaring.c: reads the portable 64-bit Roaring bitmap format that
 * Iceberg v3 deletion vectors store (Iceberg spec: Deletion Vectors), and
 * the `deletion-vector-v1` blob envelope around it.
 *
 * A 64-bit bitmap is a sorted list of 32-bit Roaring bitmaps, one per high
 * 32-bit key; each 32-bit bitmap is a sorted list of containers, one per
 * high 16-bit key, holding the low 16 bits as an array (<= 4096 values), a
 * 65536-bit bitmap, or runs (RoaringFormatSpec, "portable" serialization).
 * Parsing copies each container into one allocation and validates it
 * completely (sorted keys and values, runs inside 16 bits, cardinalities
 * that match the header), so lookups can trust the structure. Lookups are
 * two binary searches and one container probe. Writing is not needed: floe
 * reads deletion vectors but writes v2 position deletes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/compress.h"
#include "floe/buffer.h"
#include "floe/scan.h"

#define SERIAL_COOKIE_NO_RUNCONTAINER 12346u
#define SERIAL_COOKIE 12347u
#define NO_OFFSET_THRESHOLD 4u
#define ARRAY_MAX 4096u
#define BITMAP_BYTES 8192u
/* Iceberg spec: Deletion Vectors, and the reference implementation
 * (RoaringPositionBitmap): keys are non-negative Java ints. */
#define MAX_KEY 0x7fffffffu

enum { CONTAINER_ARRAY = 0, CONTAINER_BITMAP = 1, CONTAINER_RUN = 2 };

typedef struct container {
  uint16_t key;
  uint8_t kind;
  uint32_t cardinality;
  uint32_t n;            /* array: values; run: runs; bitmap: 4096 words */
  const uint8_t *data;   /* array: u16 LE values; run: (start, len-1) pairs;
                            bitmap: 1024 u64 LE words */
} container;

typedef struct bitmap32 {
  uint32_t key;
  uint32_t n_containers;
  container *containers;
  uint64_t cardinality;
} bitmap32;

struct floe_roaring64 {
  uint32_t n_bitmaps;
  bitmap32 *bitmaps;
  uint64_t cardinality;
  uint8_t *bytes; /* a copy of the serialized form the containers point into */
};

static inline uint16_t load_u16le(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

void floe_roaring64_free(floe_roaring64 *bm) {
  if (bm == NULL) return;
  for (uint32_t i = 0; i < bm->n_bitmaps; i++) floe_free(bm->bitmaps[i].containers);
  floe_free(bm->bitmaps);
  floe_free(bm->bytes);
  floe_free(bm);
}

/* Parses one 32-bit portable bitmap at data[*pos..len). */
static int parse_bitmap32(const uint8_t *data, size_t len, size_t *pos,
                          bitmap32 *out, floe_error *err) {
  size_t start = *pos, p = *pos;
  uint32_t key = out->key;
  int rc = FLOE_OK;
  if (len - p < 4)
    return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u at offset %zu: truncated cookie",
                          key, p);
  uint32_t cookie = floe_load_u32le(data + p);
  p += 4;
  uint32_t size;
  bool has_runs;
  const uint8_t *run_flags = NULL;
  if ((cookie & 0xffffu) == SERIAL_COOKIE) {
    has_runs = true;
    size = (cookie >> 16) + 1;
    size_t flag_bytes = (size + 7) / 8;
    if (len - p < flag_bytes)
      return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: truncated run flags", key);
    run_flags = data + p;
    p += flag_bytes;
  } else if (cookie == SERIAL_COOKIE_NO_RUNCONTAINER) {
    has_runs = false;
    if (len - p < 4)
      return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: truncated size", key);
    size = floe_load_u32le(data + p);
    p += 4;
    if (size > 65536)
      return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: %u containers (at most 65536)",
                            key, size);
  } else {
    return floe_error_set(err, FLOE_EFORMAT,
                          "roaring: bitmap for key %u at offset %zu: unknown cookie 0x%08x", key, start,
                          cookie);
  }
  if ((len - p) / 4 < size)
    return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: truncated container headers", key);
  const uint8_t *headers = data + p;
  p += (size_t)size * 4;
  if (!has_runs || size >= NO_OFFSET_THRESHOLD) {
    /* Offsets are redundant with the sizes; skip them (the containers are
     * read sequentially and checked against the data's end). */
    if ((len - p) / 4 < size)
      return floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: truncated offsets", key);
    p += (size_t)size * 4;
  }
  out->n_containers = size;
  out->cardinality = 0;
  out->containers = size ? floe_calloc(size, sizeof(container)) : NULL;
  if (size && out->containers == NULL) return floe_error_set(err, FLOE_ENOMEM, "roaring: out of memory");
  for (uint32_t i = 0; i < size; i++) {
    container *c = &out->containers[i];
    c->key = load_u16le(headers + 4 * (size_t)i);
    c->cardinality = (uint32_t)load_u16le(headers + 4 * (size_t)i + 2) + 1;
    if (i > 0 && c->key <= out->containers[i - 1].key) {
      rc = floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u: container keys not ascending (%u after %u)",
                          key, c->key, out->containers[i - 1].key);
      goto cleanup;
    }
    bool is_run = has_runs && (run_flags[i / 8] >> (i % 8)) & 1;
    if (is_run) {
      if (len - p < 2) goto truncated;
      uint32_t n_runs = load_u16le(data + p);
      p += 2;
      if ((len - p) / 4 < n_runs) goto truncated;
      c->kind = CONTAINER_RUN;
      c->n = n_runs;
      c->data = data + p;
      uint32_t total = 0;
      int32_t prev_end = -1;
      for (uint32_t r = 0; r < n_runs; r++) {
        uint32_t s = load_u16le(c->data + 4 * (size_t)r);
        uint32_t l = load_u16le(c->data + 4 * (size_t)r + 2);
        if ((int32_t)s <= prev_end || s + l > 65535) {
          rc = floe_error_set(err, FLOE_EFORMAT,
                              "roaring: bitmap for key %u container %u: run %u [%u, +%u] overlaps or overflows",
                              key, c->key, r, s, l);
          goto cleanup;
        }
        prev_end = (int32_t)(s + l);
        total += l + 1;
      }
      if (total != c->cardinality) {
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "roaring: bitmap for key %u container %u: runs hold %u values, header says %u", key,
                            c->key, total, c->cardinality);
        goto cleanup;
      }
      p += (size_t)n_runs * 4;
    } else if (c->cardinality <= ARRAY_MAX) {
      if ((len - p) / 2 < c->cardinality) goto truncated;
      c->kind = CONTAINER_ARRAY;
      c->n = c->cardinality;
      c->data = data + p;
      for (uint32_t k = 1; k < c->n; k++) {
        if (load_u16le(c->data + 2 * (size_t)k) <= load_u16le(c->data + 2 * (size_t)(k - 1))) {
          rc = floe_error_set(err, FLOE_EFORMAT,
                              "roaring: bitmap for key %u container %u: array values not ascending at %u", key,
                              c->key, k);
          goto cleanup;
        }
      }
      p += (size_t)c->n * 2;
    } else {
      if (len - p < BITMAP_BYTES) goto truncated;
      c->kind = CONTAINER_BITMAP;
      c->n = 1024;
      c->data = data + p;
      uint32_t total = 0;
      for (uint32_t w = 0; w < 1024; w++)
        total += (uint32_t)__builtin_popcountll(floe_load_u64le(c->data + 8 * (size_t)w));
      if (total != c->cardinality) {
        rc = floe_error_set(err, FLOE_EFORMAT,
                            "roaring: bitmap for key %u container %u: bitmap holds %u values, header says %u",
                            key, c->key, total, c->cardinality);
        goto cleanup;
      }
      p += BITMAP_BYTES;
    }
    out->cardinality += c->cardinality;
  }
  *pos = p;
  return FLOE_OK;
truncated:
  rc = floe_error_set(err, FLOE_EFORMAT, "roaring: bitmap for key %u at offset %zu: truncated container data",
                      key, start);
cleanup:
  floe_free(out->containers);
  out->containers = NULL;
  out->n_containers = 0;
  return rc;
}

int floe_roaring64_deserialize(floe_roaring64 **out, const uint8_t *data,
                               size_t len, size_t *out_consumed,
                               floe_error *err) {
  int rc = FLOE_OK;
  floe_roaring64 *bm = NULL;
  *out = NULL;
  if (len < 8)
    return floe_error_set(err, FLOE_EFORMAT, "roaring64: %zu bytes, need at least 8 for the bitmap count", len);
  uint64_t count = floe_load_u64le(data);
  /* Each bitmap needs at least a key and a cookie: bounds the count. */
  if (count > (len - 8) / 8)
    return floe_error_set(err, FLOE_EFORMAT, "roaring64: bitmap count %llu does not fit in %zu bytes",
                          (unsigned long long)count, len);
  bm = floe_calloc(1, sizeof *bm);
  if (bm == NULL) return floe_error_set(err, FLOE_ENOMEM, "roaring64: out of memory");
  if (len > 0) {
    bm->bytes = floe_malloc(len);
    if (bm->bytes == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "roaring64: out of memory");
      goto cleanup;
    }
    memcpy(bm->bytes, data, len);
  }
  if (count > 0) {
    bm->bitmaps = floe_calloc((size_t)count, sizeof(bitmap32));
    if (bm->bitmaps == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "roaring64: out of memory");
      goto cleanup;
    }
  }
  size_t p = 8;
  int64_t last_key = -1;
  for (uint64_t i = 0; i < count; i++) {
    if (len - p < 4) {
      rc = floe_error_set(err, FLOE_EFORMAT, "roaring64: bitmap %llu: truncated key", (unsigned long long)i);
      goto cleanup;
    }
    uint32_t key = floe_load_u32le(bm->bytes + p);
    if (key > MAX_KEY) {
      rc = floe_error_set(err, FLOE_EFORMAT, "roaring64: Invalid unsigned key: %u (bitmap %llu; keys above %u are not allowed)",
                          key, (unsigned long long)i, MAX_KEY);
      goto cleanup;
    }
    if ((int64_t)key <= last_key) {
      rc = floe_error_set(err, FLOE_EFORMAT, "roaring64: keys must ascend: %u after %lld", key,
                          (long long)last_key);
      goto cleanup;
    }
    last_key = key;
    p += 4;
    bm->bitmaps[i].key = key;
    FLOE_TRY(parse_bitmap32(bm->bytes, len, &p, &bm->bitmaps[i], err));
    bm->n_bitmaps = (uint32_t)(i + 1);
    bm->cardinality += bm->bitmaps[i].cardinality;
  }
  bm->n_bitmaps = (uint32_t)count;
  if (out_consumed != NULL) *out_consumed = p;
  *out = bm;
  bm = NULL;
cleanup:
  floe_roaring64_free(bm);
  return rc;
}

static bool container_contains(const container *c, uint16_t low) {
  switch (c->kind) {
    case CONTAINER_ARRAY: {
      uint32_t lo = 0, hi = c->n;
      while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint16_t v = load_u16le(c->data + 2 * (size_t)mid);
        if (v == low) return true;
        if (v < low) lo = mid + 1;
        else hi = mid;
      }
      return false;
    }
    case CONTAINER_BITMAP:
      return (floe_load_u64le(c->data + 8 * (size_t)(low >> 6)) >> (low & 63)) & 1;
    default: {
      /* Last run starting at or before `low`. */
      uint32_t lo = 0, hi = c->n;
      while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (load_u16le(c->data + 4 * (size_t)mid) <= low) lo = mid + 1;
        else hi = mid;
      }
      if (lo == 0) return false;
      uint32_t s = load_u16le(c->data + 4 * (size_t)(lo - 1));
      uint32_t l = load_u16le(c->data + 4 * (size_t)(lo - 1) + 2);
      return (uint32_t)low <= s + l;
    }
  }
}

bool floe_roaring64_contains(const floe_roaring64 *bm, uint64_t value) {
  if (bm == NULL) return false;
  uint32_t high = (uint32_t)(value >> 32);
  uint32_t lo = 0, hi = bm->n_bitmaps;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (bm->bitmaps[mid].key == high) {
      const bitmap32 *b = &bm->bitmaps[mid];
      uint16_t ckey = (uint16_t)(value >> 16);
      uint32_t clo = 0, chi = b->n_containers;
      while (clo < chi) {
        uint32_t cm = (clo + chi) / 2;
        if (b->containers[cm].key == ckey) return container_contains(&b->containers[cm], (uint16_t)value);
        if (b->containers[cm].key < ckey) clo = cm + 1;
        else chi = cm;
      }
      return false;
    }
    if (bm->bitmaps[mid].key < high) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

uint64_t floe_roaring64_cardinality(const floe_roaring64 *bm) {
  return bm != NULL ? bm->cardinality : 0;
}

int floe_roaring64_to_array(const floe_roaring64 *bm, uint64_t **out,
                            size_t *out_n, floe_error *err) {
  *out = NULL;
  *out_n = 0;
  if (bm == NULL || bm->cardinality == 0) return FLOE_OK;
  if (bm->cardinality > SIZE_MAX / sizeof(uint64_t))
    return floe_error_set(err, FLOE_ENOMEM, "roaring64: %llu values do not fit in memory",
                          (unsigned long long)bm->cardinality);
  uint64_t *values = floe_malloc((size_t)bm->cardinality * sizeof(uint64_t));
  if (values == NULL) return floe_error_set(err, FLOE_ENOMEM, "roaring64: out of memory");
  size_t n = 0;
  for (uint32_t i = 0; i < bm->n_bitmaps; i++) {
    const bitmap32 *b = &bm->bitmaps[i];
    for (uint32_t j = 0; j < b->n_containers; j++) {
      const container *c = &b->containers[j];
      uint64_t base = (uint64_t)b->key << 32 | (uint64_t)c->key << 16;
      if (c->kind == CONTAINER_ARRAY) {
        for (uint32_t k = 0; k < c->n; k++) values[n++] = base | load_u16le(c->data + 2 * (size_t)k);
      } else if (c->kind == CONTAINER_BITMAP) {
        for (uint32_t w = 0; w < 1024; w++) {
          uint64_t word = floe_load_u64le(c->data + 8 * (size_t)w);
          while (word) {
            values[n++] = base | ((uint64_t)w * 64 + (uint64_t)__builtin_ctzll(word));
            word &= word - 1;
          }
        }
      } else {
        for (uint32_t r = 0; r < c->n; r++) {
          uint32_t s = load_u16le(c->data + 4 * (size_t)r);
          uint32_t l = load_u16le(c->data + 4 * (size_t)r + 2);
          for (uint32_t v = s; v <= s + l; v++) values[n++] = base | v;
        }
      }
    }
  }
  *out = values;
  *out_n = n;
  return FLOE_OK;
}

/* Iceberg spec: Deletion Vectors, "deletion-vector-v1" blob layout. */
static const uint8_t DV_MAGIC[4] = {0xD1, 0xD3, 0x39, 0x64};

int floe_deletion_vector_parse(floe_roaring64 **out, const uint8_t *blob,
                               size_t len, floe_error *err) {
  *out = NULL;
  if (len < 12)
    return floe_error_set(err, FLOE_EFORMAT, "deletion vector: blob of %zu bytes is shorter than 12", len);
  uint32_t declared = floe_load_u32be(blob);
  if ((size_t)declared != len - 8)
    return floe_error_set(err, FLOE_EFORMAT,
                          "deletion vector: length field says %u bytes of magic and bitmap, blob has %zu",
                          declared, len - 8);
  if (memcmp(blob + 4, DV_MAGIC, 4) != 0)
    return floe_error_set(err, FLOE_EFORMAT, "deletion vector: bad magic %02x %02x %02x %02x (want D1 D3 39 64)",
                          blob[4], blob[5], blob[6], blob[7]);
  uint32_t stored_crc = floe_load_u32be(blob + len - 4);
  uint32_t crc = floe_crc32(0, blob + 4, declared);
  if (crc != stored_crc)
    return floe_error_set(err, FLOE_EFORMAT, "deletion vector: CRC-32 mismatch (stored %08x, computed %08x)",
                          stored_crc, crc);
  size_t consumed = 0;
  floe_roaring64 *bm = NULL;
  int rc = floe_roaring64_deserialize(&bm, blob + 8, declared - 4, &consumed, err);
  if (rc < 0) {
    floe_error_prefix(err, "deletion vector");
    return rc;
  }
  if (consumed != (size_t)declared - 4) {
    floe_roaring64_free(bm);
    return floe_error_set(err, FLOE_EFORMAT, "deletion vector: bitmap uses %zu of %u bytes", consumed,
                          declared - 4);
  }
  *out = bm;
  return FLOE_OK;
}
