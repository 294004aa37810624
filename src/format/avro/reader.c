/*
 * format/avro/reader: reads Avro object container files (Avro spec: "Object
 * Container Files", "Binary Encoding") with the writer's schema.
 *
 * The whole file is in memory (manifests and manifest lists are small), so
 * the header metadata values are exposed as exact bytes. Records are decoded
 * one at a time into an arena that is reset per record: one bump allocation
 * per record, array or map, none per scalar. Every read is bounds-checked
 * against the block; counts are bounded by the bytes left (using the fewest
 * bytes an item can encode to), nesting by FLOE_AVRO_MAX_DEPTH, and
 * decompressed blocks by FLOE_AVRO_MAX_BLOCK_SIZE, so hostile input ends in
 * FLOE_EFORMAT rather than a crash or an allocation storm.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/compress.h"
#include "format/avro/avro_internal.h"

struct floe_avro_reader {
  const uint8_t *data;
  size_t len;
  uint8_t *owned; /* file contents when opened from a path */
  size_t pos;     /* next block starts here */
  floe_avro_schema *schema;
  floe_avro_codec codec;
  uint8_t sync[16];
  floe_avro_metadata *metadata;
  size_t metadata_count;
  floe_arena header_arena; /* metadata copies */
  floe_arena record_arena; /* the current record */
  floe_codec_ctx codec_ctx;
  floe_buf block_buf; /* decompressed block */
  const uint8_t *block_p, *block_end;
  int64_t block_records_left;
  uint64_t blocks, records;
  int failed;
  floe_error failure;
};

typedef struct decoder {
  const uint8_t *p, *end;
  floe_arena *arena;
  floe_error *err;
  int64_t zero_size_budget; /* items of zero-byte types still allowed */
} decoder;

static int bad(decoder *d, const char *what) {
  return floe_error_set(d->err, FLOE_EFORMAT, "%s", what);
}

static int nomem(floe_error *err) {
  return floe_error_set(err, FLOE_ENOMEM, "avro reader: out of memory");
}

static int read_long(decoder *d, int64_t *out) {
  if (floe_avro_read_long(&d->p, d->end, out) < 0)
    return floe_error_set(d->err, FLOE_EFORMAT,
                          d->p >= d->end ? "truncated varint" : "bad varint (longer than 64 bits)");
  return FLOE_OK;
}

static int read_int(decoder *d, int32_t *out) {
  /* Avro int: zigzag varint of at most 5 bytes holding 32 bits. */
  const uint8_t *q = d->p;
  uint32_t n = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (q >= d->end) return bad(d, "truncated varint");
    uint8_t b = *q++;
    if (shift == 28 && b > 0x0f) return bad(d, "bad varint (int longer than 32 bits)");
    n |= (uint32_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      d->p = q;
      *out = (int32_t)((n >> 1) ^ -(n & 1));
      return FLOE_OK;
    }
  }
  return bad(d, "bad varint (int longer than 32 bits)");
}

/* A length or count read from the input, checked against what is left. */
static int read_length(decoder *d, const char *what, size_t *out) {
  int64_t n;
  int rc = read_long(d, &n);
  if (rc < 0) return rc;
  if (n < 0) return floe_error_set(d->err, FLOE_EFORMAT, "negative %s length %lld", what, (long long)n);
  if ((uint64_t)n > (uint64_t)(d->end - d->p))
    return floe_error_set(d->err, FLOE_EFORMAT, "%s length %lld exceeds the %zu bytes left", what,
                          (long long)n, (size_t)(d->end - d->p));
  *out = (size_t)n;
  return FLOE_OK;
}

static int read_bytes(decoder *d, const char *what, floe_avro_value *out) {
  size_t len = 0;
  int rc = read_length(d, what, &len);
  if (rc < 0) return rc;
  char *copy = floe_arena_strndup(d->arena, (const char *)d->p, len);
  if (copy == NULL) return nomem(d->err);
  out->u.bytes.data = (const uint8_t *)copy;
  out->u.bytes.len = len;
  d->p += len;
  return FLOE_OK;
}

static int decode(decoder *d, const floe_avro_node *node, floe_avro_value *out,
                  int depth);

/* Arrays and maps: a series of blocks, each a count (negative: followed by
 * the block's byte size) and the items, ended by a zero count (Avro spec:
 * "Complex Types"). */
static int decode_blocks(decoder *d, const floe_avro_node *node,
                         floe_avro_value *out, int depth) {
  int is_array = node->type == FLOE_AVRO_ARRAY;
  const floe_avro_node *item = is_array ? node->items : node->values;
  size_t item_min = is_array ? item->min_encoded_size : item->min_encoded_size + 1;
  size_t item_size = is_array ? sizeof(floe_avro_value) : sizeof(floe_avro_map_entry);
  void *items = NULL;
  size_t total = 0;
  int rc;
  for (;;) {
    int64_t count;
    if ((rc = read_long(d, &count)) < 0) return rc;
    if (count == 0) break;
    if (count < 0) {
      if (count == INT64_MIN) return bad(d, "bad block count");
      count = -count;
      int64_t byte_size;
      if ((rc = read_long(d, &byte_size)) < 0) return rc;
      if (byte_size < 0) return bad(d, "negative block byte size");
    }
    size_t left = (size_t)(d->end - d->p);
    if (item_min > 0 ? (uint64_t)count > left / item_min : count > d->zero_size_budget)
      return floe_error_set(d->err, FLOE_EFORMAT, "%s count %lld exceeds the %zu bytes left",
                            is_array ? "array" : "map", (long long)count, left);
    /* Zero-byte items share one budget per record, so nested arrays of
     * nulls cannot multiply it. */
    if (item_min == 0) d->zero_size_budget -= count;
    size_t new_total = total + (size_t)count;
    void *grown = floe_arena_alloc(d->arena, new_total * item_size);
    if (grown == NULL) return nomem(d->err);
    if (total > 0) memcpy(grown, items, total * item_size);
    items = grown;
    for (size_t i = total; i < new_total; i++) {
      if (is_array) {
        if ((rc = decode(d, item, (floe_avro_value *)items + i, depth + 1)) < 0) return rc;
      } else {
        floe_avro_map_entry *entry = (floe_avro_map_entry *)items + i;
        floe_avro_value key;
        if ((rc = read_bytes(d, "map key", &key)) < 0) return rc;
        entry->key = (const char *)key.u.bytes.data;
        entry->key_len = key.u.bytes.len;
        if ((rc = decode(d, item, &entry->value, depth + 1)) < 0) return rc;
      }
    }
    total = new_total;
  }
  if (is_array) {
    out->u.array.items = items;
    out->u.array.count = total;
  } else {
    out->u.map.entries = items;
    out->u.map.count = total;
  }
  return FLOE_OK;
}

static int decode(decoder *d, const floe_avro_node *node, floe_avro_value *out,
                  int depth) {
  int rc;
  if (depth > FLOE_AVRO_MAX_DEPTH)
    return floe_error_set(d->err, FLOE_EFORMAT, "value nested deeper than %d levels",
                          FLOE_AVRO_MAX_DEPTH);
  out->branch = -1;
  if (node->type == FLOE_AVRO_UNION) {
    int64_t branch;
    if ((rc = read_long(d, &branch)) < 0) return rc;
    if (branch < 0 || (uint64_t)branch >= node->branch_count)
      return floe_error_set(d->err, FLOE_EFORMAT, "union branch %lld out of range (%zu branches)",
                            (long long)branch, node->branch_count);
    node = node->branches[branch];
    out->branch = (int32_t)branch;
  }
  out->type = node->type;
  switch (node->type) {
    case FLOE_AVRO_NULL:
      memset(&out->u, 0, sizeof out->u);
      return FLOE_OK;
    case FLOE_AVRO_BOOLEAN:
      if (d->p >= d->end) return bad(d, "truncated boolean");
      if (*d->p > 1) return floe_error_set(d->err, FLOE_EFORMAT, "bad boolean byte 0x%02x", *d->p);
      out->u.boolean = *d->p++;
      return FLOE_OK;
    case FLOE_AVRO_INT: return read_int(d, &out->u.i);
    case FLOE_AVRO_LONG: return read_long(d, &out->u.l);
    case FLOE_AVRO_FLOAT: {
      if (d->end - d->p < 4) return bad(d, "truncated float");
      uint32_t bits = floe_load_u32le(d->p);
      memcpy(&out->u.f, &bits, 4);
      d->p += 4;
      return FLOE_OK;
    }
    case FLOE_AVRO_DOUBLE: {
      if (d->end - d->p < 8) return bad(d, "truncated double");
      uint64_t bits = floe_load_u64le(d->p);
      memcpy(&out->u.d, &bits, 8);
      d->p += 8;
      return FLOE_OK;
    }
    case FLOE_AVRO_BYTES: return read_bytes(d, "bytes", out);
    case FLOE_AVRO_STRING: return read_bytes(d, "string", out);
    case FLOE_AVRO_FIXED:
      if ((size_t)(d->end - d->p) < node->fixed_size) return bad(d, "truncated fixed");
      out->u.bytes.data = floe_arena_memdup(d->arena, d->p, node->fixed_size);
      if (out->u.bytes.data == NULL) return nomem(d->err);
      out->u.bytes.len = node->fixed_size;
      d->p += node->fixed_size;
      return FLOE_OK;
    case FLOE_AVRO_ENUM:
      if ((rc = read_int(d, &out->u.i)) < 0) return rc;
      if (out->u.i < 0 || (size_t)out->u.i >= node->symbol_count)
        return floe_error_set(d->err, FLOE_EFORMAT, "enum %s index %d out of range (%zu symbols)",
                              node->name, (int)out->u.i, node->symbol_count);
      return FLOE_OK;
    case FLOE_AVRO_ARRAY:
    case FLOE_AVRO_MAP: return decode_blocks(d, node, out, depth);
    case FLOE_AVRO_RECORD: {
      floe_avro_value *fields =
          floe_arena_alloc(d->arena, node->field_count * sizeof *fields);
      if (fields == NULL) return nomem(d->err);
      for (size_t i = 0; i < node->field_count; i++) {
        if ((rc = decode(d, node->fields[i].type, &fields[i], depth + 1)) < 0)
          return floe_error_prefix(d->err, "field '%s'", node->fields[i].name), rc;
      }
      out->u.record.fields = fields;
      out->u.record.count = node->field_count;
      return FLOE_OK;
    }
    default: return bad(d, "unknown schema type");
  }
}

/* ------------------------------------------------------------- header */

static int parse_header(floe_avro_reader *r, floe_error *err) {
  decoder d = {r->data, r->data + r->len, &r->header_arena, err, 0};
  int rc;
  size_t cap = 0;
  if (r->len < 4 || memcmp(r->data, "Obj\x01", 4) != 0)
    return floe_error_set(err, FLOE_EFORMAT, "not an Avro container file (bad magic)");
  d.p += 4;
  for (;;) {
    int64_t count;
    if ((rc = read_long(&d, &count)) < 0) return floe_error_prefix(err, "header metadata"), rc;
    if (count == 0) break;
    if (count < 0) {
      if (count == INT64_MIN) return floe_error_set(err, FLOE_EFORMAT, "header metadata: bad count");
      count = -count;
      int64_t byte_size;
      if ((rc = read_long(&d, &byte_size)) < 0) return floe_error_prefix(err, "header metadata"), rc;
    }
    if ((uint64_t)count > (uint64_t)(d.end - d.p) / 2)
      return floe_error_set(err, FLOE_EFORMAT, "header metadata: count %lld exceeds the bytes left",
                            (long long)count);
    if (r->metadata_count + (size_t)count > cap) {
      size_t new_cap = r->metadata_count + (size_t)count;
      floe_avro_metadata *grown = floe_realloc(r->metadata, new_cap * sizeof *grown);
      if (grown == NULL) return nomem(err);
      r->metadata = grown;
      cap = new_cap;
    }
    for (int64_t i = 0; i < count; i++) {
      floe_avro_value key, value;
      if ((rc = read_bytes(&d, "metadata key", &key)) < 0 ||
          (rc = read_bytes(&d, "metadata value", &value)) < 0)
        return floe_error_prefix(err, "header metadata entry %zu", r->metadata_count), rc;
      floe_avro_metadata *m = &r->metadata[r->metadata_count++];
      m->key = (const char *)key.u.bytes.data;
      m->value = value.u.bytes.data;
      m->value_len = value.u.bytes.len;
    }
  }
  if (d.end - d.p < 16) return floe_error_set(err, FLOE_EFORMAT, "header: truncated sync marker");
  memcpy(r->sync, d.p, 16);
  d.p += 16;
  r->pos = (size_t)(d.p - r->data);

  const floe_avro_metadata *schema = floe_avro_reader_metadata_find(r, "avro.schema");
  if (schema == NULL) return floe_error_set(err, FLOE_EFORMAT, "header has no avro.schema");
  if (schema->value_len == 0) return floe_error_set(err, FLOE_EFORMAT, "header: empty avro.schema");
  rc = floe_avro_schema_parse(&r->schema, (const char *)schema->value, schema->value_len, err);
  if (rc < 0) return floe_error_prefix(err, "header avro.schema"), rc;
  const floe_avro_metadata *codec = floe_avro_reader_metadata_find(r, "avro.codec");
  r->codec = FLOE_AVRO_CODEC_NULL;
  if (codec != NULL) {
    int parsed = strlen((const char *)codec->value) == codec->value_len
                     ? floe_avro_codec_parse((const char *)codec->value)
                     : -1;
    if (parsed < 0)
      return floe_error_set(err, FLOE_EUNSUPPORTED, "avro codec '%.64s' is not supported",
                            (const char *)codec->value);
    r->codec = (floe_avro_codec)parsed;
  }
  return FLOE_OK;
}

int floe_avro_reader_open_memory(floe_avro_reader **out, const void *data,
                                 size_t len, floe_error *err) {
  int rc = FLOE_OK;
  *out = NULL;
  floe_avro_reader *r = floe_calloc(1, sizeof *r);
  if (r == NULL) return nomem(err);
  r->data = data;
  r->len = len;
  floe_arena_init(&r->header_arena, 4096);
  floe_arena_init(&r->record_arena, 16 * 1024);
  floe_codec_ctx_init(&r->codec_ctx);
  FLOE_TRY(parse_header(r, err));
  *out = r;
  r = NULL;
cleanup:
  floe_avro_reader_free(r);
  return rc;
}

int floe_avro_reader_open_path(floe_avro_reader **out, const char *path,
                               floe_error *err) {
  int rc = FLOE_OK;
  uint8_t *contents = NULL;
  size_t len = 0;
  *out = NULL;
  FILE *file = fopen(path, "rb");
  if (file == NULL) return floe_error_errno(err, errno, "avro reader: open %s", path);
  if (fseek(file, 0, SEEK_END) != 0) {
    rc = floe_error_errno(err, errno, "avro reader: seek %s", path);
    goto cleanup;
  }
  long size = ftell(file);
  if (size < 0 || fseek(file, 0, SEEK_SET) != 0) {
    rc = floe_error_errno(err, errno, "avro reader: seek %s", path);
    goto cleanup;
  }
  len = (size_t)size;
  contents = floe_malloc(len ? len : 1);
  if (contents == NULL) {
    rc = nomem(err);
    goto cleanup;
  }
  if (len > 0 && fread(contents, 1, len, file) != len) {
    rc = floe_error_errno(err, errno ? errno : EIO, "avro reader: read %s", path);
    goto cleanup;
  }
  rc = floe_avro_reader_open_memory(out, contents, len, err);
  if (rc < 0) {
    floe_error_prefix(err, "%s", path);
    goto cleanup;
  }
  (*out)->owned = contents;
  contents = NULL;
cleanup:
  fclose(file);
  floe_free(contents);
  return rc;
}

void floe_avro_reader_free(floe_avro_reader *r) {
  if (r == NULL) return;
  floe_avro_schema_free(r->schema);
  floe_free(r->metadata);
  floe_arena_free(&r->header_arena);
  floe_arena_free(&r->record_arena);
  floe_codec_ctx_free(&r->codec_ctx);
  floe_buf_free(&r->block_buf);
  floe_free(r->owned);
  floe_free(r);
}

const floe_avro_schema *floe_avro_reader_schema(const floe_avro_reader *r) { return r->schema; }
floe_avro_codec floe_avro_reader_codec(const floe_avro_reader *r) { return r->codec; }
const uint8_t *floe_avro_reader_sync_marker(const floe_avro_reader *r) { return r->sync; }
size_t floe_avro_reader_metadata_count(const floe_avro_reader *r) { return r->metadata_count; }
uint64_t floe_avro_reader_block_count(const floe_avro_reader *r) { return r->blocks; }
uint64_t floe_avro_reader_record_count(const floe_avro_reader *r) { return r->records; }

const floe_avro_metadata *floe_avro_reader_metadata_at(const floe_avro_reader *r,
                                                       size_t index) {
  return index < r->metadata_count ? &r->metadata[index] : NULL;
}

const floe_avro_metadata *floe_avro_reader_metadata_find(const floe_avro_reader *r,
                                                         const char *key) {
  for (size_t i = r->metadata_count; i-- > 0;)
    if (strcmp(r->metadata[i].key, key) == 0) return &r->metadata[i];
  return NULL;
}

/* -------------------------------------------------------------- blocks */

/* Reads the next block's framing and makes its records current. Returns 1
 * when a block was loaded, 0 at the end of the file. */
static int next_block(floe_avro_reader *r, floe_error *err) {
  if (r->pos == r->len) return 0;
  size_t start = r->pos;
  decoder d = {r->data + r->pos, r->data + r->len, NULL, err, 0};
  int64_t count, size;
  int rc;
  uint64_t block = r->blocks + 1;
  if ((rc = read_long(&d, &count)) < 0 || (rc = read_long(&d, &size)) < 0)
    return floe_error_prefix(err, "block %llu at byte %zu: framing", (unsigned long long)block, start),
           rc;
  if (count < 0 || size < 0)
    return floe_error_set(err, FLOE_EFORMAT, "block %llu at byte %zu: negative %s %lld",
                          (unsigned long long)block, start, count < 0 ? "record count" : "size",
                          (long long)(count < 0 ? count : size));
  size_t left = (size_t)(d.end - d.p);
  if ((uint64_t)size > left || left - (size_t)size < 16)
    return floe_error_set(err, FLOE_EFORMAT,
                          "block %llu at byte %zu: truncated (%lld data bytes + 16-byte sync, %zu left)",
                          (unsigned long long)block, start, (long long)size, left);
  const uint8_t *data = d.p;
  const uint8_t *sync = data + size;
  if (memcmp(sync, r->sync, 16) != 0)
    return floe_error_set(err, FLOE_EFORMAT, "block %llu at byte %zu: wrong sync marker at byte %zu",
                          (unsigned long long)block, start, (size_t)(sync - r->data));
  const uint8_t *block_data = data;
  size_t block_len = (size_t)size;
  if (r->codec != FLOE_AVRO_CODEC_NULL) {
    floe_codec codec = r->codec == FLOE_AVRO_CODEC_DEFLATE ? FLOE_CODEC_DEFLATE
                       : r->codec == FLOE_AVRO_CODEC_SNAPPY ? FLOE_CODEC_SNAPPY
                                                            : FLOE_CODEC_ZSTD;
    size_t compressed_len = block_len;
    if (codec == FLOE_CODEC_SNAPPY) {
      if (compressed_len < 4)
        return floe_error_set(err, FLOE_EFORMAT, "block %llu: snappy block without its CRC",
                              (unsigned long long)block);
      compressed_len -= 4;
    }
    floe_buf_reset(&r->block_buf);
    /* Give the buffer memory even for an empty block: the codec layer
     * writes at data + len, which must not be NULL + 0. */
    if (floe_buf_reserve(&r->block_buf, 64) < 0) return nomem(err);
    if (compressed_len > 0 || codec != FLOE_CODEC_SNAPPY) {
      rc = floe_decompress_buf(&r->codec_ctx, codec, data, compressed_len, &r->block_buf,
                               FLOE_AVRO_MAX_BLOCK_SIZE, err);
      if (rc < 0)
        return floe_error_prefix(err, "block %llu at byte %zu", (unsigned long long)block, start),
               rc;
    }
    if (codec == FLOE_CODEC_SNAPPY) {
      uint32_t want = floe_load_u32be(data + compressed_len);
      uint32_t got = floe_crc32(0, r->block_buf.data, r->block_buf.len);
      if (want != got)
        return floe_error_set(err, FLOE_EFORMAT,
                              "block %llu: snappy CRC32 mismatch (stored %08x, computed %08x)",
                              (unsigned long long)block, want, got);
    }
    block_data = r->block_buf.data;
    block_len = r->block_buf.len;
  }
  /* Records that encode to zero bytes (only nulls and empty records) are
   * bounded by the decoding work instead: the schema text length stands in
   * for the work per record. */
  size_t record_min = r->schema->root->min_encoded_size;
  size_t zero_size_cap = (size_t)FLOE_AVRO_MAX_ZERO_SIZE_ITEMS * 16 / (r->schema->text_len + 1);
  if (record_min > 0 ? (uint64_t)count > block_len / record_min
                     : (uint64_t)count > zero_size_cap)
    return floe_error_set(err, FLOE_EFORMAT,
                          "block %llu at byte %zu: %lld records cannot fit in %zu bytes",
                          (unsigned long long)block, start, (long long)count, block_len);
  r->pos = (size_t)(sync + 16 - r->data);
  r->blocks = block;
  r->block_p = block_data;
  r->block_end = block_data + block_len;
  r->block_records_left = count;
  if (count == 0 && block_len != 0)
    return floe_error_set(err, FLOE_EFORMAT, "block %llu: %zu bytes but no records",
                          (unsigned long long)block, block_len);
  return 1;
}

int floe_avro_reader_next(floe_avro_reader *r, const floe_avro_value **out,
                          floe_error *err) {
  int rc;
  *out = NULL;
  if (r->failed) {
    floe_error_set(err, r->failure.code, "%s", r->failure.message);
    return r->failure.code;
  }
  while (r->block_records_left == 0) {
    rc = next_block(r, &r->failure);
    if (rc == 0) return FLOE_OK;
    if (rc < 0) goto fail;
  }
  floe_arena_reset(&r->record_arena);
  floe_avro_value *value = floe_arena_alloc(&r->record_arena, sizeof *value);
  if (value == NULL) {
    rc = nomem(&r->failure);
    goto fail;
  }
  decoder d = {r->block_p, r->block_end, &r->record_arena, &r->failure,
               FLOE_AVRO_MAX_ZERO_SIZE_ITEMS};
  rc = decode(&d, r->schema->root, value, 0);
  if (rc < 0) {
    floe_error_prefix(&r->failure, "block %llu record %llu", (unsigned long long)r->blocks,
                      (unsigned long long)r->records);
    goto fail;
  }
  r->block_p = d.p;
  r->block_records_left--;
  if (r->block_records_left == 0 && d.p != d.end) {
    rc = floe_error_set(&r->failure, FLOE_EFORMAT, "block %llu: %zu bytes left after its last record",
                        (unsigned long long)r->blocks, (size_t)(d.end - d.p));
    goto fail;
  }
  r->records++;
  *out = value;
  return FLOE_OK;
fail:
  r->failed = 1;
  r->failure.code = rc;
  floe_error_set(err, rc, "%s", r->failure.message);
  return rc;
}
