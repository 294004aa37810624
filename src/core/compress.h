/*
 * core/compress: the block codecs Parquet and Avro use, behind one API.
 *
 * A floe_codec_ctx keeps the zstd contexts alive between calls (creating them
 * per page costs more than compressing a small page). One context per
 * thread; it is not shared.
 */
#ifndef FLOE_CORE_COMPRESS_H
#define FLOE_CORE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "floe/buffer.h"
#include "floe/common.h"

typedef enum floe_codec {
  FLOE_CODEC_NONE = 0,
  FLOE_CODEC_SNAPPY,     /* raw snappy block */
  FLOE_CODEC_GZIP,       /* gzip member(s) (Parquet GZIP) */
  FLOE_CODEC_ZSTD,       /* zstd frame(s) */
  FLOE_CODEC_DEFLATE,    /* raw deflate, RFC 1951 (Avro "deflate") */
  FLOE_CODEC_LZ4_RAW,    /* lz4 block (Parquet LZ4_RAW) */
  FLOE_CODEC_LZ4_HADOOP  /* Parquet's deprecated LZ4: Hadoop framing or raw */
} floe_codec;

typedef struct floe_codec_ctx {
  void *zstd_cctx;
  void *zstd_dctx;
  int zstd_level; /* used by FLOE_CODEC_ZSTD; default 3 */
  int gzip_level; /* used by GZIP and DEFLATE; default 6 */
} floe_codec_ctx;

void floe_codec_ctx_init(floe_codec_ctx *ctx);
void floe_codec_ctx_free(floe_codec_ctx *ctx);

/* Parses "none|uncompressed|snappy|gzip|zstd|deflate|lz4_raw"
 * (case-insensitive); returns -1 when unknown. */
int floe_codec_parse(const char *name);
const char *floe_codec_name(floe_codec codec);

/* Appends the compressed form of src[0..n) to out. */
int floe_compress(floe_codec_ctx *ctx, floe_codec codec, const uint8_t *src,
                  size_t n, floe_buf *out, floe_error *err);

/* Decompresses src[0..n) into dst, which must hold exactly `expected`
 * bytes (formats that record the uncompressed size). A result of any other
 * size is FLOE_EFORMAT. */
int floe_decompress(floe_codec_ctx *ctx, floe_codec codec, const uint8_t *src,
                    size_t n, uint8_t *dst, size_t expected, floe_error *err);

/* Decompresses src into out (appending) when the size is not known in
 * advance; refuses to grow beyond max_size bytes (FLOE_EFORMAT). */
int floe_decompress_buf(floe_codec_ctx *ctx, floe_codec codec,
                        const uint8_t *src, size_t n, floe_buf *out,
                        size_t max_size, floe_error *err);

/* CRC-32 (IEEE, as zlib computes it). */
uint32_t floe_crc32(uint32_t crc, const void *data, size_t n);

#endif
