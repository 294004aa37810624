/*
 * core/compress: snappy, gzip/deflate (zlib), zstd and lz4 behind one API.
 *
 * Parquet records the uncompressed size of every page, so the common path
 * decompresses straight into a buffer of known size; Avro's deflate blocks
 * do not, so floe_decompress_buf grows its output (bounded, so a hostile
 * file cannot make us allocate without limit). Gzip input may hold several
 * concatenated members, which Parquet writers produce.
 */
#include "core/compress.h"

#include <lz4.h>
#include <snappy-c.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <stdbool.h>
#include <string.h>

void floe_codec_ctx_init(floe_codec_ctx *ctx) {
  ctx->zstd_cctx = NULL;
  ctx->zstd_dctx = NULL;
  ctx->zstd_level = 3;
  ctx->gzip_level = 6;
}

void floe_codec_ctx_free(floe_codec_ctx *ctx) {
  if (ctx == NULL) return;
  ZSTD_freeCCtx(ctx->zstd_cctx);
  ZSTD_freeDCtx(ctx->zstd_dctx);
  ctx->zstd_cctx = NULL;
  ctx->zstd_dctx = NULL;
}

static const struct {
  const char *name;
  floe_codec codec;
} codec_names[] = {
    {"none", FLOE_CODEC_NONE},       {"uncompressed", FLOE_CODEC_NONE},
    {"null", FLOE_CODEC_NONE},       {"snappy", FLOE_CODEC_SNAPPY},
    {"gzip", FLOE_CODEC_GZIP},       {"zstd", FLOE_CODEC_ZSTD},
    {"zstandard", FLOE_CODEC_ZSTD},  {"deflate", FLOE_CODEC_DEFLATE},
    {"lz4_raw", FLOE_CODEC_LZ4_RAW}, {"lz4", FLOE_CODEC_LZ4_HADOOP},
};

int floe_codec_parse(const char *name) {
  for (size_t i = 0; i < sizeof codec_names / sizeof codec_names[0]; i++)
    if (strcasecmp(name, codec_names[i].name) == 0) return (int)codec_names[i].codec;
  return -1;
}

const char *floe_codec_name(floe_codec codec) {
  switch (codec) {
    case FLOE_CODEC_NONE: return "uncompressed";
    case FLOE_CODEC_SNAPPY: return "snappy";
    case FLOE_CODEC_GZIP: return "gzip";
    case FLOE_CODEC_ZSTD: return "zstd";
    case FLOE_CODEC_DEFLATE: return "deflate";
    case FLOE_CODEC_LZ4_RAW: return "lz4_raw";
    case FLOE_CODEC_LZ4_HADOOP: return "lz4";
  }
  return "unknown";
}

static int zlib_compress(int level, int window_bits, const uint8_t *src,
                         size_t n, floe_buf *out, floe_error *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return floe_error_set(err, FLOE_ENOMEM, "deflate: init failed");
  size_t bound = deflateBound(&zs, (uLong)n);
  if (floe_buf_reserve(out, bound) < 0) {
    deflateEnd(&zs);
    return floe_error_set(err, FLOE_ENOMEM, "deflate: out of memory");
  }
  zs.next_in = (Bytef *)src;
  zs.avail_in = (uInt)n;
  zs.next_out = out->data + out->len;
  zs.avail_out = (uInt)bound;
  int zrc = deflate(&zs, Z_FINISH);
  size_t produced = bound - zs.avail_out;
  deflateEnd(&zs);
  if (zrc != Z_STREAM_END) return floe_error_set(err, FLOE_EIO, "deflate failed (%d)", zrc);
  out->len += produced;
  return FLOE_OK;
}

int floe_compress(floe_codec_ctx *ctx, floe_codec codec, const uint8_t *src,
                  size_t n, floe_buf *out, floe_error *err) {
  switch (codec) {
    case FLOE_CODEC_NONE:
      if (floe_buf_append(out, src, n) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      return FLOE_OK;
    case FLOE_CODEC_SNAPPY: {
      size_t bound = snappy_max_compressed_length(n);
      if (floe_buf_reserve(out, bound) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "snappy: out of memory");
      size_t produced = bound;
      if (snappy_compress((const char *)src, n, (char *)out->data + out->len,
                          &produced) != SNAPPY_OK)
        return floe_error_set(err, FLOE_EIO, "snappy: compression failed");
      out->len += produced;
      return FLOE_OK;
    }
    case FLOE_CODEC_GZIP:
      return zlib_compress(ctx->gzip_level, 15 + 16, src, n, out, err);
    case FLOE_CODEC_DEFLATE:
      return zlib_compress(ctx->gzip_level, -15, src, n, out, err);
    case FLOE_CODEC_ZSTD: {
      if (ctx->zstd_cctx == NULL && (ctx->zstd_cctx = ZSTD_createCCtx()) == NULL)
        return floe_error_set(err, FLOE_ENOMEM, "zstd: out of memory");
      size_t bound = ZSTD_compressBound(n);
      if (floe_buf_reserve(out, bound) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "zstd: out of memory");
      size_t produced = ZSTD_compressCCtx(ctx->zstd_cctx, out->data + out->len,
                                          bound, src, n, ctx->zstd_level);
      if (ZSTD_isError(produced))
        return floe_error_set(err, FLOE_EIO, "zstd: %s", ZSTD_getErrorName(produced));
      out->len += produced;
      return FLOE_OK;
    }
    case FLOE_CODEC_LZ4_RAW: {
      if (n > (size_t)LZ4_MAX_INPUT_SIZE)
        return floe_error_set(err, FLOE_EINVAL, "lz4: block too large");
      int bound = LZ4_compressBound((int)n);
      if (floe_buf_reserve(out, (size_t)bound) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "lz4: out of memory");
      int produced = LZ4_compress_default((const char *)src,
                                          (char *)out->data + out->len, (int)n, bound);
      if (produced <= 0) return floe_error_set(err, FLOE_EIO, "lz4: compression failed");
      out->len += (size_t)produced;
      return FLOE_OK;
    }
    case FLOE_CODEC_LZ4_HADOOP:
      break;
  }
  return floe_error_set(err, FLOE_EUNSUPPORTED, "compression codec %s is not supported for writing",
                        floe_codec_name(codec));
}

/* Inflates (gzip with several members, or raw deflate) into dst/out. With a
 * known size, dst is the target; otherwise out grows up to max_size. */
static int zlib_inflate(int window_bits, bool multi_member, const uint8_t *src,
                        size_t n, uint8_t *dst, size_t dst_size, floe_buf *out,
                        size_t max_size, size_t *produced, floe_error *err) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, window_bits) != Z_OK)
    return floe_error_set(err, FLOE_ENOMEM, "inflate: init failed");
  zs.next_in = (Bytef *)src;
  zs.avail_in = (uInt)n;
  size_t total = 0;
  int rc = FLOE_OK;
  for (;;) {
    uint8_t *target;
    size_t room;
    if (out != NULL) {
      if (total >= max_size) {
        rc = floe_error_set(err, FLOE_EFORMAT, "inflate: output exceeds %zu bytes", max_size);
        break;
      }
      if (floe_buf_reserve(out, 64 * 1024) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "inflate: out of memory");
        break;
      }
      target = out->data + out->len;
      room = out->cap - out->len;
      if (room > max_size - total) room = max_size - total;
    } else {
      target = dst + total;
      room = dst_size - total;
    }
    zs.next_out = target;
    zs.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
    size_t before = zs.avail_out;
    int zrc = inflate(&zs, Z_NO_FLUSH);
    size_t got = before - zs.avail_out;
    total += got;
    if (out != NULL) out->len += got;
    if (zrc == Z_STREAM_END) {
      if (multi_member && zs.avail_in > 0) {
        /* Another gzip member follows (concatenated members are legal). */
        if (inflateReset(&zs) != Z_OK) {
          rc = floe_error_set(err, FLOE_EFORMAT, "gzip: bad member");
          break;
        }
        continue;
      }
      break;
    }
    if (zrc == Z_BUF_ERROR && out == NULL && zs.avail_out == 0) {
      rc = floe_error_set(err, FLOE_EFORMAT, "inflate: output larger than the %zu bytes expected", dst_size);
      break;
    }
    if (zrc != Z_OK) {
      rc = floe_error_set(err, FLOE_EFORMAT, "inflate: %s", zs.msg ? zs.msg : "corrupt data");
      break;
    }
    if (got == 0 && zs.avail_in == 0) {
      rc = floe_error_set(err, FLOE_EFORMAT, "inflate: truncated stream");
      break;
    }
  }
  inflateEnd(&zs);
  *produced = total;
  return rc;
}

/* Parquet's deprecated LZ4 codec: Hadoop's framing ([u32 BE raw size][u32 BE
 * compressed size][block])+, or, from some writers, a bare lz4 block. */
static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst,
                      size_t expected, floe_error *err) {
  size_t in = 0, outp = 0;
  while (in + 8 <= n) {
    uint32_t raw = floe_load_u32be(src + in);
    uint32_t comp = floe_load_u32be(src + in + 4);
    if (comp > n - in - 8 || raw > expected - outp) goto try_raw;
    int got = LZ4_decompress_safe((const char *)src + in + 8, (char *)dst + outp,
                                  (int)comp, (int)raw);
    if (got < 0 || (uint32_t)got != raw) goto try_raw;
    in += 8 + comp;
    outp += raw;
  }
  if (in == n && outp == expected) return FLOE_OK;
try_raw: {
  int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)expected);
  if (got >= 0 && (size_t)got == expected) return FLOE_OK;
}
  return floe_error_set(err, FLOE_EFORMAT, "lz4: corrupt block");
}

int floe_decompress(floe_codec_ctx *ctx, floe_codec codec, const uint8_t *src,
                    size_t n, uint8_t *dst, size_t expected, floe_error *err) {
  size_t produced = 0;
  switch (codec) {
    case FLOE_CODEC_NONE:
      if (n != expected) goto size_mismatch;
      if (n) memcpy(dst, src, n);
      return FLOE_OK;
    case FLOE_CODEC_SNAPPY: {
      size_t len;
      if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
        return floe_error_set(err, FLOE_EFORMAT, "snappy: corrupt block header");
      if (len != expected) goto size_mismatch;
      if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
        return floe_error_set(err, FLOE_EFORMAT, "snappy: corrupt block");
      return FLOE_OK;
    }
    case FLOE_CODEC_GZIP:
    case FLOE_CODEC_DEFLATE: {
      int rc = zlib_inflate(codec == FLOE_CODEC_GZIP ? 15 + 32 : -15,
                            codec == FLOE_CODEC_GZIP, src, n, dst, expected,
                            NULL, 0, &produced, err);
      if (rc < 0) return rc;
      if (produced != expected) goto size_mismatch;
      return FLOE_OK;
    }
    case FLOE_CODEC_ZSTD: {
      if (ctx->zstd_dctx == NULL && (ctx->zstd_dctx = ZSTD_createDCtx()) == NULL)
        return floe_error_set(err, FLOE_ENOMEM, "zstd: out of memory");
      /* A zero-byte stream is how some writers encode an empty page. */
      if (n == 0 && expected == 0) return FLOE_OK;
      produced = ZSTD_decompressDCtx(ctx->zstd_dctx, dst, expected, src, n);
      if (ZSTD_isError(produced))
        return floe_error_set(err, FLOE_EFORMAT, "zstd: %s", ZSTD_getErrorName(produced));
      if (produced != expected) goto size_mismatch;
      return FLOE_OK;
    }
    case FLOE_CODEC_LZ4_RAW: {
      if (n > INT32_MAX || expected > INT32_MAX)
        return floe_error_set(err, FLOE_EFORMAT, "lz4: block too large");
      int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)expected);
      if (got < 0) return floe_error_set(err, FLOE_EFORMAT, "lz4: corrupt block");
      produced = (size_t)got;
      if (produced != expected) goto size_mismatch;
      return FLOE_OK;
    }
    case FLOE_CODEC_LZ4_HADOOP:
      if (n > INT32_MAX || expected > INT32_MAX)
        return floe_error_set(err, FLOE_EFORMAT, "lz4: block too large");
      return lz4_hadoop(src, n, dst, expected, err);
  }
  return floe_error_set(err, FLOE_EUNSUPPORTED, "unknown compression codec %d", (int)codec);
size_mismatch:
  return floe_error_set(err, FLOE_EFORMAT,
                        "%s: decompressed size does not match the %zu bytes recorded",
                        floe_codec_name(codec), expected);
}

int floe_decompress_buf(floe_codec_ctx *ctx, floe_codec codec,
                        const uint8_t *src, size_t n, floe_buf *out,
                        size_t max_size, floe_error *err) {
  size_t produced;
  switch (codec) {
    case FLOE_CODEC_GZIP:
    case FLOE_CODEC_DEFLATE:
      return zlib_inflate(codec == FLOE_CODEC_GZIP ? 15 + 32 : -15,
                          codec == FLOE_CODEC_GZIP, src, n, NULL, 0, out,
                          max_size, &produced, err);
    case FLOE_CODEC_SNAPPY: {
      size_t len;
      if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
        return floe_error_set(err, FLOE_EFORMAT, "snappy: corrupt block header");
      if (len > max_size) return floe_error_set(err, FLOE_EFORMAT, "snappy: block larger than %zu bytes", max_size);
      /* At least one byte, so the target pointer is never NULL + 0. */
      if (floe_buf_reserve(out, len ? len : 1) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      int rc = floe_decompress(ctx, codec, src, n, out->data + out->len, len, err);
      if (rc == FLOE_OK) out->len += len;
      return rc;
    }
    case FLOE_CODEC_ZSTD: {
      unsigned long long len = ZSTD_getFrameContentSize(src, n);
      if (len != ZSTD_CONTENTSIZE_UNKNOWN && len != ZSTD_CONTENTSIZE_ERROR) {
        if (len > max_size) return floe_error_set(err, FLOE_EFORMAT, "zstd: frame larger than %zu bytes", max_size);
        if (floe_buf_reserve(out, len ? (size_t)len : 1) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        int rc = floe_decompress(ctx, codec, src, n, out->data + out->len, (size_t)len, err);
        if (rc == FLOE_OK) out->len += (size_t)len;
        return rc;
      }
      /* Streaming decode when the frame does not record its size. */
      if (ctx->zstd_dctx == NULL && (ctx->zstd_dctx = ZSTD_createDCtx()) == NULL)
        return floe_error_set(err, FLOE_ENOMEM, "zstd: out of memory");
      ZSTD_DCtx_reset(ctx->zstd_dctx, ZSTD_reset_session_only);
      ZSTD_inBuffer in = {src, n, 0};
      size_t total = 0;
      for (;;) {
        if (floe_buf_reserve(out, 64 * 1024) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
        size_t zr = ZSTD_decompressStream(ctx->zstd_dctx, &ob, &in);
        if (ZSTD_isError(zr)) return floe_error_set(err, FLOE_EFORMAT, "zstd: %s", ZSTD_getErrorName(zr));
        out->len += ob.pos;
        total += ob.pos;
        if (total > max_size) return floe_error_set(err, FLOE_EFORMAT, "zstd: output exceeds %zu bytes", max_size);
        if (zr == 0 && in.pos == in.size) return FLOE_OK;
        if (ob.pos == 0 && in.pos == in.size) return floe_error_set(err, FLOE_EFORMAT, "zstd: truncated frame");
      }
    }
    case FLOE_CODEC_NONE:
      if (n > max_size) return floe_error_set(err, FLOE_EFORMAT, "block larger than %zu bytes", max_size);
      return floe_buf_append(out, src, n) < 0 ? floe_error_set(err, FLOE_ENOMEM, "out of memory") : FLOE_OK;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "%s needs the uncompressed size", floe_codec_name(codec));
  }
}

uint32_t floe_crc32(uint32_t crc, const void *data, size_t n) {
  return (uint32_t)crc32(crc, data, (uInt)n);
}
