/*
 * format/parquet/reader: reads flat-schema Parquet files into Arrow struct
 * batches (floe/parquet_reader.h).
 *
 * Opening a file reads only the footer (parquet-format: "File Format"):
 * the schema tree is walked once to find each leaf column's dotted path,
 * definition/repetition levels and Arrow type, and how its physical values
 * convert to that type (a `conv`).
 *
 * A scan reads one row group at a time: each projected column chunk is read
 * whole into its own buffer (one source read per chunk), then pages are
 * decompressed and decoded one at a time as batches need rows. Rows are
 * produced in slices of up to SLICE rows: definition levels for the slice
 * are decoded first, then the present values are decoded compactly into the
 * Arrow builder's buffers and spread backwards over the null slots. The
 * dictionary is kept already converted to the output representation, so
 * dictionary indices are gathered straight into the output.
 *
 * Nested columns: a top-level group (struct, map, list of anything but a
 * primitive) is a "group column" read whole into one Arrow struct/map/list
 * column. Each of its leaves is scanned on its own into (repetition,
 * definition) entries and a staging column of one slot per entry; record
 * assembly (Dremel) then walks the group's node tree per row: a level
 * whose first leaf's entry is below its definition level is null (every
 * leaf below it then holds exactly one entry for it), a list or map takes
 * elements while that leaf's next entry repeats at its level. Struct
 * leaves stay readable as flat columns ("s.a") by name or field id.
 *
 * Every length read from the file is checked against the bytes that hold
 * it before use; a page's uncompressed size must be justified by its
 * compressed size and codec (max_expansion), so a hostile file cannot make
 * the reader allocate without limit.
 */
#include "floe/parquet_reader.h"
#include "floe/time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/compress.h"
#include "format/parquet/decode.h"
#include "format/parquet/parquet_meta.h"

#define SLICE 1024
#define MAX_SCHEMA_DEPTH 64
#define MAX_PAGE_BYTES ((int64_t)1 << 30)
/* Fixed-width bytes (values, offsets) one batch may hold; wide rows get
 * fewer rows per batch, so memory never scales with a claimed row count. */
#define MAX_BATCH_FIXED_BYTES ((int64_t)128 << 20)
#define JULIAN_UNIX_EPOCH INT64_C(2440588)

/* How a column's physical values become its Arrow values. */
typedef enum conv_kind {
  CV_NONE = 0,  /* unreadable */
  CV_BOOL,      /* BOOLEAN -> bits */
  CV_COPY,      /* same bytes (phys_w == out_w) */
  CV_U32_TO_I64,
  CV_I32_MILLIS_TO_US, /* INT32 TIME(MILLIS) -> int64 micros */
  CV_I64_TIMES_1000,   /* TIMESTAMP(MILLIS) -> micros */
  CV_I64_DIV_1000,     /* TIME(NANOS) -> micros */
  CV_I32_TO_DEC,
  CV_I64_TO_DEC,
  CV_INT96,
  CV_BE_TO_DEC,        /* FLBA / BYTE_ARRAY big-endian -> int128 */
  CV_VARLEN            /* BYTE_ARRAY -> utf8 / binary */
} conv_kind;

typedef struct conv {
  conv_kind kind;
  pq_type phys;
  int32_t phys_w; /* bytes per plain value; 0 for BOOLEAN and BYTE_ARRAY */
  int32_t out_w;  /* bytes per Arrow value; 0 for bool and varlen */
} conv;

typedef struct column_extra {
  const pq_schema_element *leaf;
  conv cv;
  conv leaf_cv;                    /* the leaf's own conversion, kept for groups */
  floe_arrow_type_info leaf_type;
  int32_t group;                   /* readable group holding this leaf, or -1 */
} column_extra;

/* A node of a group column's tree: a struct, list or map level, or a leaf. */
typedef struct nest_node {
  floe_arrow_type kind;           /* STRUCT, LIST, MAP, or the leaf's type */
  floe_arrow_type_info leaf_type;
  const char *name;               /* Arrow name: list "element", map "key"/"value" */
  int32_t field_id;
  bool nullable;
  uint32_t def_present;           /* definition level when this level is not null */
  uint32_t def_entry;             /* LIST/MAP: definition level of an entry */
  uint32_t rep_entry;             /* LIST/MAP: repetition level of further entries */
  int32_t first_leaf, n_leaves;   /* the group's leaves under this node */
  int32_t n_children;
  int32_t *children;              /* node indices */
  int32_t column;                 /* leaf: its column */
} nest_node;

typedef struct nest_group {
  floe_parquet_column_info info;  /* name, field id, arrow type of the group */
  int32_t root;                   /* node index */
  int32_t n_leaves;
  int32_t *leaves;                /* leaf columns in schema order */
} nest_group;

typedef struct memory_source {
  const uint8_t *data;
  size_t size;
} memory_source;

struct floe_parquet_reader {
  floe_parquet_source src;
  char *name;
  floe_arena arena;
  uint8_t *footer;
  uint32_t footer_len;
  pq_file_meta meta;
  int32_t n_columns;
  floe_parquet_column_info *columns;
  column_extra *extra;
  int32_t *node_depth;
  int32_t *node_parent;  /* -1 for the root */
  int32_t *node_def;     /* definition level of each node (itself included) */
  int64_t *rg_first_row;
  floe_parquet_key_value *kv;
  int32_t n_kv;
  nest_node *nodes;
  int32_t n_nodes;
  nest_group *groups;  /* readable group columns: scan index n_columns + k */
  int32_t n_groups;
};

/* ---- sources -------------------------------------------------------- */

static int fd_read_at(void *ctx, uint64_t offset, void *buf, size_t n,
                      floe_error *err) {
  int fd = (int)(intptr_t)ctx;
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t got = pread(fd, p, n, (off_t)offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return floe_error_errno(err, errno, "read at offset %" PRIu64, offset);
    if (got == 0)
      return floe_error_set(err, FLOE_EIO, "unexpected end of file at offset %" PRIu64,
                            offset);
    p += got;
    n -= (size_t)got;
    offset += (uint64_t)got;
  }
  return FLOE_OK;
}

static void fd_close(void *ctx) { close((int)(intptr_t)ctx); }

static int memory_read_at(void *ctx, uint64_t offset, void *buf, size_t n,
                          floe_error *err) {
  memory_source *m = ctx;
  if (offset > m->size || n > m->size - offset)
    return floe_error_set(err, FLOE_EIO, "read of %zu bytes at %" PRIu64
                          " is past the end (%zu bytes)", n, offset, m->size);
  if (n) memcpy(buf, m->data + offset, n);
  return FLOE_OK;
}

static void memory_close(void *ctx) { floe_free(ctx); }

/* ---- names ---------------------------------------------------------- */

static const char *physical_name(pq_type t) {
  static const char *const names[] = {"BOOLEAN", "INT32", "INT64", "INT96",
                                      "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                      "FIXED_LEN_BYTE_ARRAY"};
  return (unsigned)t < 8 ? names[t] : "UNKNOWN";
}

static const char *encoding_name(int e) {
  switch (e) {
    case PQ_ENC_PLAIN: return "PLAIN";
    case PQ_ENC_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_ENC_RLE: return "RLE";
    case PQ_ENC_BIT_PACKED: return "BIT_PACKED";
    case PQ_ENC_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_ENC_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_ENC_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_ENC_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return "UNKNOWN";
  }
}

static const char *codec_name(pq_codec c) {
  switch (c) {
    case PQ_CODEC_UNCOMPRESSED: return "uncompressed";
    case PQ_CODEC_SNAPPY: return "snappy";
    case PQ_CODEC_GZIP: return "gzip";
    case PQ_CODEC_LZO: return "lzo";
    case PQ_CODEC_BROTLI: return "brotli";
    case PQ_CODEC_LZ4: return "lz4";
    case PQ_CODEC_ZSTD: return "zstd";
    case PQ_CODEC_LZ4_RAW: return "lz4_raw";
    default: return "unknown";
  }
}

static const char *converted_name(int c) {
  static const char *const names[] = {
      "UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE",
      "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
      "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32",
      "INT_64", "JSON", "BSON", "INTERVAL"};
  return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "UNKNOWN";
}

static const char *unit_name(pq_time_unit u) {
  return u == PQ_UNIT_MILLIS ? "MILLIS" : u == PQ_UNIT_MICROS ? "MICROS"
                                        : u == PQ_UNIT_NANOS ? "NANOS" : "?";
}

static void logical_text(const pq_schema_element *e, char *out, size_t size) {
  out[0] = '\0';
  if (e->has_logical_type) {
    const pq_logical_type *lt = &e->logical_type;
    switch (lt->kind) {
      case PQ_LT_STRING: snprintf(out, size, "STRING"); return;
      case PQ_LT_MAP: snprintf(out, size, "MAP"); return;
      case PQ_LT_LIST: snprintf(out, size, "LIST"); return;
      case PQ_LT_ENUM: snprintf(out, size, "ENUM"); return;
      case PQ_LT_DECIMAL:
        snprintf(out, size, "DECIMAL(%" PRId32 ",%" PRId32 ")", lt->decimal_precision,
                 lt->decimal_scale);
        return;
      case PQ_LT_DATE: snprintf(out, size, "DATE"); return;
      case PQ_LT_TIME:
      case PQ_LT_TIMESTAMP:
        snprintf(out, size, "%s(%s,%s)", lt->kind == PQ_LT_TIME ? "TIME" : "TIMESTAMP",
                 unit_name(lt->unit), lt->is_adjusted_to_utc ? "UTC" : "local");
        return;
      case PQ_LT_INTEGER:
        snprintf(out, size, "INTEGER(%d,%s)", lt->bit_width,
                 lt->is_signed ? "signed" : "unsigned");
        return;
      case PQ_LT_UNKNOWN: snprintf(out, size, "UNKNOWN"); return;
      case PQ_LT_JSON: snprintf(out, size, "JSON"); return;
      case PQ_LT_BSON: snprintf(out, size, "BSON"); return;
      case PQ_LT_UUID: snprintf(out, size, "UUID"); return;
      case PQ_LT_FLOAT16: snprintf(out, size, "FLOAT16"); return;
      default: break;
    }
  }
  if (e->has_converted_type) {
    if (e->converted_type == PQ_CT_DECIMAL)
      snprintf(out, size, "DECIMAL(%" PRId32 ",%" PRId32 ")", e->precision, e->scale);
    else
      snprintf(out, size, "%s", converted_name(e->converted_type));
  }
}

/* ---- type mapping --------------------------------------------------- */

/* Maps a leaf to its Arrow type and conversion (see the header's table).
 * Leaves floe cannot represent get CV_NONE. */
static void map_type(const pq_schema_element *e, floe_arrow_type_info *t, conv *cv) {
  memset(cv, 0, sizeof *cv);
  *t = floe_arrow_type_of(FLOE_ARROW_UNKNOWN);
  pq_logical_kind lt = e->has_logical_type ? e->logical_type.kind : PQ_LT_NONE;
  int ct = e->has_converted_type ? (int)e->converted_type : -1;
  bool decimal = lt == PQ_LT_DECIMAL || (lt == PQ_LT_NONE && ct == PQ_CT_DECIMAL);
  int32_t precision = lt == PQ_LT_DECIMAL ? e->logical_type.decimal_precision : e->precision;
  int32_t scale = lt == PQ_LT_DECIMAL ? e->logical_type.decimal_scale : e->scale;
  bool dec_ok = decimal && precision >= 1 && precision <= 38 && scale >= 0 &&
                scale <= precision;
  cv->phys = e->type;
  switch (e->type) {
    case PQ_BOOLEAN:
      *t = floe_arrow_type_of(FLOE_ARROW_BOOL);
      cv->kind = CV_BOOL;
      return;
    case PQ_INT32:
      cv->phys_w = 4;
      if (decimal) {
        if (!dec_ok) return;
        *t = floe_arrow_decimal(precision, scale);
        cv->kind = CV_I32_TO_DEC;
        cv->out_w = 16;
      } else if (lt == PQ_LT_DATE || ct == PQ_CT_DATE) {
        *t = floe_arrow_type_of(FLOE_ARROW_DATE32);
        cv->kind = CV_COPY;
        cv->out_w = 4;
      } else if ((lt == PQ_LT_TIME && e->logical_type.unit == PQ_UNIT_MILLIS) ||
                 (lt == PQ_LT_NONE && ct == PQ_CT_TIME_MILLIS)) {
        *t = floe_arrow_type_of(FLOE_ARROW_TIME64_US);
        cv->kind = CV_I32_MILLIS_TO_US;
        cv->out_w = 8;
      } else if ((lt == PQ_LT_INTEGER && !e->logical_type.is_signed &&
                  e->logical_type.bit_width == 32) ||
                 (lt == PQ_LT_NONE && ct == PQ_CT_UINT_32)) {
        *t = floe_arrow_type_of(FLOE_ARROW_INT64);
        cv->kind = CV_U32_TO_I64;
        cv->out_w = 8;
      } else if (lt == PQ_LT_NONE || lt == PQ_LT_INTEGER) {
        *t = floe_arrow_type_of(FLOE_ARROW_INT32);
        cv->kind = CV_COPY;
        cv->out_w = 4;
      }
      return;
    case PQ_INT64:
      cv->phys_w = 8;
      cv->out_w = 8;
      cv->kind = CV_COPY;
      if (decimal) {
        if (!dec_ok) return (void)(cv->kind = CV_NONE);
        *t = floe_arrow_decimal(precision, scale);
        cv->kind = CV_I64_TO_DEC;
        cv->out_w = 16;
      } else if (lt == PQ_LT_TIMESTAMP) {
        bool tz = e->logical_type.is_adjusted_to_utc;
        if (e->logical_type.unit == PQ_UNIT_NANOS) {
          *t = floe_arrow_type_of(tz ? FLOE_ARROW_TIMESTAMP_NS_TZ : FLOE_ARROW_TIMESTAMP_NS);
        } else {
          *t = floe_arrow_type_of(tz ? FLOE_ARROW_TIMESTAMP_US_TZ : FLOE_ARROW_TIMESTAMP_US);
          if (e->logical_type.unit == PQ_UNIT_MILLIS) cv->kind = CV_I64_TIMES_1000;
        }
      } else if (lt == PQ_LT_NONE &&
                 (ct == PQ_CT_TIMESTAMP_MILLIS || ct == PQ_CT_TIMESTAMP_MICROS)) {
        /* Converted TIMESTAMP_* mean adjusted-to-UTC instants
         * (LogicalTypes.md: "Deprecated timestamp ConvertedType"). */
        *t = floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US_TZ);
        if (ct == PQ_CT_TIMESTAMP_MILLIS) cv->kind = CV_I64_TIMES_1000;
      } else if (lt == PQ_LT_TIME || (lt == PQ_LT_NONE && ct == PQ_CT_TIME_MICROS)) {
        *t = floe_arrow_type_of(FLOE_ARROW_TIME64_US);
        if (lt == PQ_LT_TIME && e->logical_type.unit == PQ_UNIT_NANOS)
          cv->kind = CV_I64_DIV_1000;
        else if (lt == PQ_LT_TIME && e->logical_type.unit == PQ_UNIT_MILLIS)
          cv->kind = CV_I64_TIMES_1000;
      } else if ((lt == PQ_LT_INTEGER && !e->logical_type.is_signed &&
                  e->logical_type.bit_width == 64) ||
                 (lt == PQ_LT_NONE && ct == PQ_CT_UINT_64)) {
        *t = floe_arrow_type_of(FLOE_ARROW_UINT64);
      } else if (lt == PQ_LT_NONE || lt == PQ_LT_INTEGER) {
        *t = floe_arrow_type_of(FLOE_ARROW_INT64);
      } else {
        cv->kind = CV_NONE;
      }
      return;
    case PQ_INT96:
      *t = floe_arrow_type_of(FLOE_ARROW_TIMESTAMP_US);
      cv->kind = CV_INT96;
      cv->phys_w = 12;
      cv->out_w = 8;
      return;
    case PQ_FLOAT:
    case PQ_DOUBLE:
      *t = floe_arrow_type_of(e->type == PQ_FLOAT ? FLOE_ARROW_FLOAT : FLOE_ARROW_DOUBLE);
      cv->kind = CV_COPY;
      cv->phys_w = cv->out_w = e->type == PQ_FLOAT ? 4 : 8;
      return;
    case PQ_BYTE_ARRAY:
      if (decimal) {
        if (!dec_ok) return;
        *t = floe_arrow_decimal(precision, scale);
        cv->kind = CV_BE_TO_DEC;
        cv->out_w = 16;
      } else if (lt == PQ_LT_STRING || lt == PQ_LT_ENUM || lt == PQ_LT_JSON ||
                 (lt == PQ_LT_NONE &&
                  (ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM || ct == PQ_CT_JSON))) {
        *t = floe_arrow_type_of(FLOE_ARROW_UTF8);
        cv->kind = CV_VARLEN;
      } else {
        *t = floe_arrow_type_of(FLOE_ARROW_BINARY);
        cv->kind = CV_VARLEN;
      }
      return;
    case PQ_FIXED_LEN_BYTE_ARRAY:
      if (!e->has_type_length || e->type_length <= 0 || e->type_length > (1 << 20)) return;
      cv->phys_w = e->type_length;
      if (decimal) {
        if (!dec_ok || e->type_length > 16) return;
        *t = floe_arrow_decimal(precision, scale);
        cv->kind = CV_BE_TO_DEC;
        cv->out_w = 16;
      } else if (lt == PQ_LT_UUID) {
        if (e->type_length != 16) return;
        *t = floe_arrow_type_of(FLOE_ARROW_UUID);
        cv->kind = CV_COPY;
        cv->out_w = 16;
      } else {
        *t = floe_arrow_fixed(e->type_length);
        cv->kind = CV_COPY;
        cv->out_w = e->type_length;
      }
      return;
    default:
      return;
  }
}

/* Converts n plain fixed-width physical values at src to Arrow values at
 * dst (not for BOOLEAN / BYTE_ARRAY). */
static void convert_fixed(const conv *cv, const uint8_t *src, int64_t n, uint8_t *dst) {
  switch (cv->kind) {
    case CV_COPY:
      memcpy(dst, src, (size_t)n * (size_t)cv->out_w);
      return;
    case CV_U32_TO_I64:
      for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)floe_load_u32le(src + 4 * i);
        memcpy(dst + 8 * i, &v, 8);
      }
      return;
    case CV_I32_MILLIS_TO_US:
      for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)(int32_t)floe_load_u32le(src + 4 * i) * 1000;
        memcpy(dst + 8 * i, &v, 8);
      }
      return;
    case CV_I64_TIMES_1000:
      for (int64_t i = 0; i < n; i++) {
        uint64_t v = floe_load_u64le(src + 8 * i) * 1000u;
        memcpy(dst + 8 * i, &v, 8);
      }
      return;
    case CV_I64_DIV_1000:
      for (int64_t i = 0; i < n; i++) {
        int64_t v = floe_floor_div((int64_t)floe_load_u64le(src + 8 * i), 1000);
        memcpy(dst + 8 * i, &v, 8);
      }
      return;
    case CV_I32_TO_DEC:
      for (int64_t i = 0; i < n; i++) {
        floe_int128 v = (int32_t)floe_load_u32le(src + 4 * i);
        memcpy(dst + 16 * i, &v, 16);
      }
      return;
    case CV_I64_TO_DEC:
      for (int64_t i = 0; i < n; i++) {
        floe_int128 v = (int64_t)floe_load_u64le(src + 8 * i);
        memcpy(dst + 16 * i, &v, 16);
      }
      return;
    case CV_INT96:
      /* 8 bytes nanoseconds of the day, then 4 bytes Julian day number. */
      for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = src + 12 * i;
        int64_t nanos = (int64_t)floe_load_u64le(p);
        int64_t day = (int32_t)floe_load_u32le(p + 8);
        __int128 us = (__int128)(day - JULIAN_UNIX_EPOCH) * FLOE_MICROS_PER_DAY +
                      floe_floor_div(nanos, 1000);
        int64_t v = (int64_t)(uint64_t)(unsigned __int128)us;
        memcpy(dst + 8 * i, &v, 8);
      }
      return;
    case CV_BE_TO_DEC:
      for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = src + (size_t)cv->phys_w * (size_t)i;
        unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
        for (int32_t k = 0; k < cv->phys_w; k++) u = u << 8 | p[k];
        memcpy(dst + 16 * i, &u, 16);
      }
      return;
    default:
      return;
  }
}

/* ---- schema --------------------------------------------------------- */

typedef struct walk {
  floe_parquet_reader *r;
  int32_t next;      /* next schema element */
  int32_t n_leaves;
  floe_error *err;
} walk;

static bool annotated(const pq_schema_element *e, pq_logical_kind lt, int ct) {
  return (e->has_logical_type && e->logical_type.kind == lt) ||
         (e->has_converted_type && (int)e->converted_type == ct);
}

static bool is_repeated(const pq_schema_element *e) {
  return e->has_repetition && e->repetition == PQ_REPEATED;
}

/* Makes a leaf under one repeated field readable as a list of primitives
 * when its ancestors form one of the LIST layouts of parquet-format
 * LogicalTypes.md ("Lists", and "Backward-compatibility rules"):
 *
 *   <opt|req> group L (LIST) { repeated group list { <opt|req> T element; } }
 *   <opt|req> group L (LIST) { repeated T element; }        (2-level)
 *   repeated T L;          (no LIST group: a required list of required T)
 *
 * A repeated group with several fields, or with one field named "array" or
 * "<L>_tuple", has struct elements; maps and deeper nesting are refused
 * too: the column then stays unreadable (nested, CV_NONE). */
static void classify_list(floe_parquet_reader *r, int32_t leaf_index,
                          floe_parquet_column_info *c, column_extra *x, const char *path) {
  const pq_schema_element *leaf = &r->meta.schema[leaf_index];
  int32_t list_node, repeated_node = -1;
  for (int32_t n = leaf_index; n > 0; n = r->node_parent[n])
    if (is_repeated(&r->meta.schema[n])) repeated_node = n;
  if (repeated_node < 0 || c->max_repetition_level != 1) return;
  int32_t parent = r->node_parent[repeated_node];
  const pq_schema_element *p = parent > 0 ? &r->meta.schema[parent] : NULL;
  bool parent_is_list = p != NULL && annotated(p, PQ_LT_LIST, PQ_CT_LIST) &&
                        p->has_num_children && p->num_children == 1;
  bool parent_is_map = p != NULL && (annotated(p, PQ_LT_MAP, PQ_CT_MAP) ||
                                     annotated(p, PQ_LT_MAP, PQ_CT_MAP_KEY_VALUE));
  const pq_schema_element *rep_el = &r->meta.schema[repeated_node];
  if (parent_is_map || annotated(rep_el, PQ_LT_MAP, PQ_CT_MAP_KEY_VALUE) ||
      annotated(rep_el, PQ_LT_MAP, PQ_CT_MAP))
    return;
  if (repeated_node == leaf_index) {
    /* Rule 1 (2-level) under a LIST group, or a bare repeated primitive. */
    list_node = parent_is_list ? parent : repeated_node;
  } else {
    if (!parent_is_list || r->node_parent[leaf_index] != repeated_node) return;
    if (!rep_el->has_num_children || rep_el->num_children != 1) return; /* rule 2 */
    char tuple[512];
    snprintf(tuple, sizeof tuple, "%s_tuple", p->name ? p->name : "");
    if (rep_el->name != NULL &&
        (strcmp(rep_el->name, "array") == 0 || strcmp(rep_el->name, tuple) == 0))
      return; /* rule 3: the repeated group is the (struct) element */
    list_node = parent;
  }
  floe_arrow_type_info element;
  conv cv;
  map_type(leaf, &element, &cv);
  if (cv.kind == CV_NONE) return;
  /* The column is named and identified by its list field. */
  char *name = NULL;
  if (list_node == leaf_index) {
    name = (char *)path;
  } else {
    size_t keep = strlen(path);
    for (int32_t n = leaf_index; n != list_node; n = r->node_parent[n]) {
      while (keep > 0 && path[keep - 1] != '.') keep--;
      if (keep > 0) keep--;
    }
    name = floe_arena_strndup(&r->arena, path, keep);
    if (name == NULL) return;
  }
  const pq_schema_element *l = &r->meta.schema[list_node];
  c->name = name;
  c->field_id = l->has_field_id ? l->field_id : -1;
  c->element_field_id = list_node != leaf_index && leaf->has_field_id ? leaf->field_id : -1;
  c->element_type = element;
  c->element_nullable = leaf->has_repetition && leaf->repetition == PQ_OPTIONAL;
  c->list_definition_level =
      list_node == repeated_node ? r->node_def[parent] : r->node_def[list_node];
  c->element_definition_level = r->node_def[repeated_node];
  c->nullable = c->list_definition_level > 0;
  c->arrow_type = floe_arrow_type_of(FLOE_ARROW_LIST);
  x->cv = cv;
}

/* Visits element w->next and its subtree. path is the dotted prefix. */
static int walk_schema(walk *w, int depth, const char *prefix, int32_t def,
                       int32_t rep, int32_t parent, bool count_only) {
  floe_parquet_reader *r = w->r;
  if (w->next >= r->meta.n_schema)
    return floe_error_set(w->err, FLOE_EFORMAT,
                          "schema: children run past the %" PRId32 " elements",
                          r->meta.n_schema);
  if (depth > MAX_SCHEMA_DEPTH)
    return floe_error_set(w->err, FLOE_EFORMAT, "schema: nested deeper than %d",
                          MAX_SCHEMA_DEPTH);
  int32_t index = w->next++;
  const pq_schema_element *e = &r->meta.schema[index];
  if (depth > 0 && e->has_repetition) {
    if (e->repetition != PQ_REQUIRED) def++;
    if (e->repetition == PQ_REPEATED) rep++;
  }
  if (!count_only) {
    r->node_depth[index] = depth;
    r->node_parent[index] = parent;
    r->node_def[index] = def;
  }
  char *path = NULL;
  if (depth == 0) {
    path = floe_arena_strdup(&r->arena, "");
  } else if (prefix[0] == '\0') {
    path = floe_arena_strdup(&r->arena, e->name);
  } else {
    size_t n = strlen(prefix) + strlen(e->name) + 2;
    path = floe_arena_alloc(&r->arena, n);
    if (path != NULL) snprintf(path, n, "%s.%s", prefix, e->name);
  }
  if (path == NULL) return floe_error_set(w->err, FLOE_ENOMEM, "out of memory");
  bool group = depth == 0 || !e->has_type || (e->has_num_children && e->num_children > 0);
  if (group) {
    int32_t n = e->has_num_children ? e->num_children : 0;
    if (n < 0 || n > r->meta.n_schema - w->next)
      return floe_error_set(w->err, FLOE_EFORMAT,
                            "schema: element '%s' claims %" PRId32 " children",
                            e->name, n);
    for (int32_t i = 0; i < n; i++) {
      int rc = walk_schema(w, depth + 1, path, def, rep, index, count_only);
      if (rc < 0) return rc;
    }
    return FLOE_OK;
  }
  int32_t leaf = w->n_leaves++;
  if (count_only) return FLOE_OK;
  floe_parquet_column_info *c = &r->columns[leaf];
  column_extra *x = &r->extra[leaf];
  x->leaf = e;
  c->name = path;
  c->schema_node = index;
  c->field_id = e->has_field_id ? e->field_id : -1;
  c->physical_type = physical_name(e->type);
  c->type_length = e->has_type_length ? e->type_length : 0;
  c->max_definition_level = def;
  c->max_repetition_level = rep;
  c->nullable = def > 0;
  c->nested = rep > 0;
  c->element_field_id = -1;
  map_type(e, &c->arrow_type, &x->cv);
  x->group = -1;
  if (def <= 255 && rep <= 255) {
    x->leaf_cv = x->cv;
    x->leaf_type = c->arrow_type;
  }
  if (c->nested || def > 255) {
    x->cv.kind = CV_NONE;
    c->arrow_type = floe_arrow_type_of(FLOE_ARROW_UNKNOWN);
    if (c->nested && def <= 255) classify_list(r, index, c, x, path);
  }
  return FLOE_OK;
}

/* Builds the node of schema element e (and its subtree) of a group column;
 * rep is the repetition level above it. legacy_element: e is the repeated
 * group of a legacy list of structs, itself the (required) element.
 * Returns the node index, -1 when the layout is not one floe assembles
 * (2-level lists of primitives inside a group, bare repeated fields,
 * unreadable leaves), or FLOE_ENOMEM - 1 on allocation failure. */
static int32_t build_node(floe_parquet_reader *r, int32_t e, uint32_t rep, const char *name,
                          bool force_required, bool legacy_element, int32_t *leaf_counter) {
  const pq_schema_element *el = &r->meta.schema[e];
  if (is_repeated(el) != legacy_element || r->n_nodes >= r->meta.n_schema) return -1;
  int32_t idx = r->n_nodes++;
  nest_node *n = &r->nodes[idx];
  memset(n, 0, sizeof *n);
  n->name = name != NULL ? name : el->name != NULL ? el->name : "";
  n->field_id = el->has_field_id ? el->field_id : -1;
  n->nullable = !force_required && el->has_repetition && el->repetition == PQ_OPTIONAL;
  n->def_present = (uint32_t)r->node_def[e];
  n->first_leaf = *leaf_counter;
  n->column = -1;
  bool group = !el->has_type || (el->has_num_children && el->num_children > 0);
  if (!group) {
    int32_t col = -1;
    for (int32_t i = 0; i < r->n_columns; i++)
      if (r->columns[i].schema_node == e) col = i;
    if (col < 0 || r->extra[col].leaf_cv.kind == CV_NONE) return -1;
    n->kind = r->extra[col].leaf_type.id;
    n->leaf_type = r->extra[col].leaf_type;
    n->column = col;
    n->n_leaves = 1;
    (*leaf_counter)++;
    return idx;
  }
  int32_t nc = el->has_num_children ? el->num_children : 0;
  int32_t kids[2] = {-1, -1}, n_kids = 0;
  bool legacy = false;
  const char *kid_names[2] = {NULL, NULL};
  bool kid_required[2] = {false, false};
  uint32_t kid_rep = rep;
  /* The element's direct children, in order. */
  int32_t *direct = floe_arena_calloc(&r->arena, (size_t)(nc > 0 ? nc : 1), sizeof *direct);
  if (direct == NULL) return FLOE_ENOMEM - 1;
  for (int32_t k = e + 1, at = 0; k < r->meta.n_schema && at < nc; k++)
    if (r->node_parent[k] == e) direct[at++] = k;
  bool is_list = annotated(el, PQ_LT_LIST, PQ_CT_LIST);
  bool is_map = annotated(el, PQ_LT_MAP, PQ_CT_MAP) || annotated(el, PQ_LT_MAP, PQ_CT_MAP_KEY_VALUE);
  if (is_list || is_map) {
    /* LogicalTypes.md: LIST { repeated group list { element } }, MAP {
     * repeated group key_value { key; value } }. */
    if (nc != 1) return -1;
    const pq_schema_element *middle = &r->meta.schema[direct[0]];
    int32_t want = is_list ? 1 : 2;
    if (!is_repeated(middle) || middle->has_type || !middle->has_num_children) return -1;
    if (is_list) {
      /* Backward-compatibility rules 2 and 3: a repeated group with several
       * fields, or with one named "array" or "<L>_tuple", is itself the
       * element, a required struct (old writers' lists of structs). */
      char tuple[512];
      snprintf(tuple, sizeof tuple, "%s_tuple", el->name != NULL ? el->name : "");
      legacy = middle->num_children > 1 ||
               (middle->name != NULL &&
                (strcmp(middle->name, "array") == 0 || strcmp(middle->name, tuple) == 0));
    }
    if (!legacy && middle->num_children != want) return -1;
    n->kind = is_list ? FLOE_ARROW_LIST : FLOE_ARROW_MAP;
    n->def_entry = (uint32_t)r->node_def[direct[0]];
    n->rep_entry = rep + 1;
    kid_rep = rep + 1;
    if (legacy) {
      kids[n_kids++] = direct[0];
      kid_required[0] = true;
    }
    for (int32_t k = direct[0] + 1; k < r->meta.n_schema && n_kids < want; k++)
      if (r->node_parent[k] == direct[0]) kids[n_kids++] = k;
    if (is_list) {
      kid_names[0] = "element";
    } else {
      kid_names[0] = "key";
      kid_names[1] = "value";
      kid_required[0] = true;
    }
  } else {
    n->kind = FLOE_ARROW_STRUCT;
  }
  int32_t total = n->kind == FLOE_ARROW_STRUCT ? nc : n_kids;
  n->children = floe_arena_calloc(&r->arena, (size_t)(total > 0 ? total : 1), sizeof *n->children);
  if (n->children == NULL) return FLOE_ENOMEM - 1;
  for (int32_t i = 0; i < total; i++) {
    int32_t child = n->kind == FLOE_ARROW_STRUCT
                        ? build_node(r, direct[i], kid_rep, NULL, false, false, leaf_counter)
                        : build_node(r, kids[i], kid_rep, kid_names[i], kid_required[i], legacy,
                                     leaf_counter);
    if (child < 0) return child;
    r->nodes[idx].children[i] = child;
    r->nodes[idx].n_children = i + 1;
  }
  r->nodes[idx].n_leaves = *leaf_counter - r->nodes[idx].first_leaf;
  return r->nodes[idx].n_leaves > 0 ? idx : -1;
}

/* Finds the top-level groups floe reads as one nested column: every group
 * except a list of a primitive (read by the list path) whose tree
 * build_node accepts. */
static int build_groups(floe_parquet_reader *r, floe_error *err) {
  const pq_file_meta *m = &r->meta;
  r->nodes = floe_arena_calloc(&r->arena, (size_t)m->n_schema, sizeof *r->nodes);
  r->groups = floe_arena_calloc(&r->arena, (size_t)m->n_schema, sizeof *r->groups);
  if (r->nodes == NULL || r->groups == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t t = 1; t < m->n_schema; t++) {
    if (r->node_parent[t] != 0) continue;
    const pq_schema_element *el = &m->schema[t];
    if (el->has_type && !(el->has_num_children && el->num_children > 0)) continue;
    bool list_path = false;
    for (int32_t i = 0; i < r->n_columns; i++) {
      int32_t top = r->columns[i].schema_node;
      while (top > 0 && r->node_parent[top] != 0) top = r->node_parent[top];
      /* The group is itself a list of a primitive (named by its list field). */
      if (top == t && r->columns[i].arrow_type.id == FLOE_ARROW_LIST && el->name != NULL &&
          strcmp(r->columns[i].name, el->name) == 0)
        list_path = true;
    }
    if (list_path) continue;
    int32_t saved = r->n_nodes, leaves = 0;
    int32_t root = build_node(r, t, 0, NULL, false, false, &leaves);
    if (root == FLOE_ENOMEM - 1) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    if (root < 0) {
      r->n_nodes = saved;
      continue;
    }
    nest_group *g = &r->groups[r->n_groups];
    g->root = root;
    g->n_leaves = leaves;
    g->leaves = floe_arena_calloc(&r->arena, (size_t)leaves, sizeof *g->leaves);
    if (g->leaves == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    for (int32_t k = saved; k < r->n_nodes; k++)
      if (r->nodes[k].column >= 0) g->leaves[r->nodes[k].first_leaf] = r->nodes[k].column;
    const nest_node *rn = &r->nodes[root];
    g->info.name = rn->name;
    g->info.schema_node = t;
    g->info.field_id = rn->field_id;
    g->info.physical_type = "";
    g->info.nullable = rn->nullable;
    g->info.nested = true;
    g->info.arrow_type = floe_arrow_type_of(rn->kind);
    g->info.element_field_id = -1;
    for (int32_t k = 0; k < leaves; k++) r->extra[g->leaves[k]].group = r->n_groups;
    r->n_groups++;
  }
  return FLOE_OK;
}

static const char *kv_string(floe_arena *arena, const pq_bytes *b) {
  /* A KeyValue without its required key decodes as an empty key. */
  if (b->data == NULL) return floe_arena_strdup(arena, "");
  return floe_arena_strndup(arena, (const char *)b->data, (size_t)b->len);
}

static int convert_key_values(floe_arena *arena, const pq_key_value *in, int32_t n,
                              floe_parquet_key_value **out) {
  *out = floe_arena_calloc(arena, (size_t)(n ? n : 1), sizeof **out);
  if (*out == NULL) return FLOE_ENOMEM;
  for (int32_t i = 0; i < n; i++) {
    (*out)[i].key = kv_string(arena, &in[i].key);
    (*out)[i].value = in[i].has_value ? kv_string(arena, &in[i].value) : NULL;
    if ((*out)[i].key == NULL || (in[i].has_value && (*out)[i].value == NULL))
      return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

static int reader_load(floe_parquet_reader *r, floe_error *err) {
  uint64_t size = r->src.size;
  uint8_t tail[8], head[4];
  int rc;
  if (size < 12)
    return floe_error_set(err, FLOE_EFORMAT, "file of %" PRIu64 " bytes is too small for Parquet",
                          size);
  if ((rc = r->src.read_at(r->src.ctx, size - 8, tail, 8, err)) < 0 ||
      (rc = r->src.read_at(r->src.ctx, 0, head, 4, err)) < 0)
    return rc;
  if (memcmp(tail + 4, "PARE", 4) == 0)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "encrypted footer (PARE) is not supported");
  if (memcmp(tail + 4, "PAR1", 4) != 0 || memcmp(head, "PAR1", 4) != 0)
    return floe_error_set(err, FLOE_EFORMAT, "not a Parquet file (no PAR1 magic)");
  uint32_t footer_len = floe_load_u32le(tail);
  if (footer_len > size - 12)
    return floe_error_set(err, FLOE_EFORMAT,
                          "footer length %" PRIu32 " exceeds the file size %" PRIu64,
                          footer_len, size);
  r->footer_len = footer_len;
  r->footer = floe_malloc(footer_len ? footer_len : 1);
  if (r->footer == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if ((rc = r->src.read_at(r->src.ctx, size - 8 - footer_len, r->footer, footer_len, err)) < 0)
    return rc;
  if ((rc = pq_file_meta_read(r->footer, footer_len, &r->arena, &r->meta, err)) < 0)
    return floe_error_prefix(err, "footer"), rc;
  pq_file_meta *m = &r->meta;
  if (m->n_schema < 1) return floe_error_set(err, FLOE_EFORMAT, "footer: empty schema");

  walk w = {r, 0, 0, err};
  if ((rc = walk_schema(&w, 0, "", 0, 0, -1, true)) < 0) return rc;
  if (w.next != m->n_schema)
    return floe_error_set(err, FLOE_EFORMAT,
                          "schema: %" PRId32 " elements but the tree uses %" PRId32,
                          m->n_schema, w.next);
  r->n_columns = w.n_leaves;
  r->columns = floe_arena_calloc(&r->arena, (size_t)(w.n_leaves ? w.n_leaves : 1),
                                 sizeof *r->columns);
  r->extra = floe_arena_calloc(&r->arena, (size_t)(w.n_leaves ? w.n_leaves : 1),
                               sizeof *r->extra);
  r->node_depth = floe_arena_calloc(&r->arena, (size_t)m->n_schema, sizeof *r->node_depth);
  r->node_parent = floe_arena_calloc(&r->arena, (size_t)m->n_schema, sizeof *r->node_parent);
  r->node_def = floe_arena_calloc(&r->arena, (size_t)m->n_schema, sizeof *r->node_def);
  r->rg_first_row = floe_arena_calloc(&r->arena, (size_t)(m->n_row_groups ? m->n_row_groups : 1),
                                      sizeof *r->rg_first_row);
  if (r->columns == NULL || r->extra == NULL || r->node_depth == NULL ||
      r->node_parent == NULL || r->node_def == NULL || r->rg_first_row == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  w.next = 0;
  w.n_leaves = 0;
  if ((rc = walk_schema(&w, 0, "", 0, 0, -1, false)) < 0) return rc;
  if ((rc = build_groups(r, err)) < 0) return rc;

  int64_t first = 0;
  for (int32_t g = 0; g < m->n_row_groups; g++) {
    const pq_row_group *rg = &m->row_groups[g];
    if (rg->num_rows < 0 || rg->num_rows > INT64_MAX - first)
      return floe_error_set(err, FLOE_EFORMAT, "row group %" PRId32 ": bad row count %" PRId64,
                            g, rg->num_rows);
    if (rg->n_columns != r->n_columns)
      return floe_error_set(err, FLOE_EFORMAT,
                            "row group %" PRId32 ": %" PRId32 " column chunks for %" PRId32
                            " schema columns", g, rg->n_columns, r->n_columns);
    r->rg_first_row[g] = first;
    first += rg->num_rows;
  }
  if (convert_key_values(&r->arena, m->key_value, m->n_key_value, &r->kv) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  r->n_kv = m->n_key_value;
  return FLOE_OK;
}

int floe_parquet_reader_open_source(floe_parquet_reader **out,
                                    const floe_parquet_source *source,
                                    const char *name, floe_error *err) {
  *out = NULL;
  floe_parquet_reader *r = floe_calloc(1, sizeof *r);
  if (r == NULL) {
    if (source->close) source->close(source->ctx);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  r->src = *source;
  floe_arena_init(&r->arena, 0);
  r->name = floe_strdup(name ? name : "parquet");
  int rc = r->name ? reader_load(r, err) : floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (rc < 0) {
    floe_error_prefix(err, "%s", name ? name : "parquet");
    floe_parquet_reader_free(r);
    return rc;
  }
  *out = r;
  return FLOE_OK;
}

int floe_parquet_reader_open(floe_parquet_reader **out, const char *path,
                             floe_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return floe_error_errno(err, errno, "%s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int rc = floe_error_errno(err, errno, "%s", path);
    close(fd);
    return rc;
  }
  floe_parquet_source src = {(void *)(intptr_t)fd, (uint64_t)st.st_size, fd_read_at, fd_close};
  return floe_parquet_reader_open_source(out, &src, path, err);
}

int floe_parquet_reader_open_memory(floe_parquet_reader **out,
                                    const void *data, size_t size,
                                    const char *name, floe_error *err) {
  *out = NULL;
  memory_source *m = floe_malloc(sizeof *m);
  if (m == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  m->data = data;
  m->size = size;
  floe_parquet_source src = {m, size, memory_read_at, memory_close};
  return floe_parquet_reader_open_source(out, &src, name, err);
}

void floe_parquet_reader_free(floe_parquet_reader *r) {
  if (r == NULL) return;
  if (r->src.close) r->src.close(r->src.ctx);
  floe_arena_free(&r->arena);
  floe_free(r->footer);
  floe_free(r->name);
  floe_free(r);
}

/* ---- metadata accessors --------------------------------------------- */

int64_t floe_parquet_reader_num_rows(const floe_parquet_reader *r) { return r->meta.num_rows; }
int32_t floe_parquet_reader_num_row_groups(const floe_parquet_reader *r) {
  return r->meta.n_row_groups;
}
const char *floe_parquet_reader_created_by(const floe_parquet_reader *r) {
  return r->meta.created_by;
}
const floe_parquet_key_value *floe_parquet_reader_key_values(const floe_parquet_reader *r,
                                                             int32_t *out_n) {
  *out_n = r->n_kv;
  return r->kv;
}
int32_t floe_parquet_reader_num_schema_nodes(const floe_parquet_reader *r) {
  return r->meta.n_schema;
}

int floe_parquet_reader_schema_node(const floe_parquet_reader *r, int32_t i,
                                    floe_parquet_schema_node *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (i < 0 || i >= r->meta.n_schema)
    return floe_error_set(err, FLOE_EINVAL, "schema node %" PRId32 " out of range", i);
  const pq_schema_element *e = &r->meta.schema[i];
  out->name = e->name;
  out->depth = r->node_depth[i];
  out->num_children = e->has_num_children ? e->num_children : 0;
  bool group = i == 0 || !e->has_type || out->num_children > 0;
  out->physical_type = group ? NULL : physical_name(e->type);
  out->type_length = e->has_type_length ? e->type_length : 0;
  out->repetition = !e->has_repetition ? "required"
                    : e->repetition == PQ_OPTIONAL ? "optional"
                    : e->repetition == PQ_REPEATED ? "repeated" : "required";
  out->field_id = e->has_field_id ? e->field_id : -1;
  logical_text(e, out->logical_type, sizeof out->logical_type);
  return FLOE_OK;
}

int32_t floe_parquet_reader_num_columns(const floe_parquet_reader *r) { return r->n_columns; }

const floe_parquet_column_info *floe_parquet_reader_column(const floe_parquet_reader *r,
                                                           int32_t i) {
  if (i >= r->n_columns && i < r->n_columns + r->n_groups) return &r->groups[i - r->n_columns].info;
  return i >= 0 && i < r->n_columns ? &r->columns[i] : NULL;
}

int32_t floe_parquet_reader_find_field_id(const floe_parquet_reader *r, int32_t field_id) {
  if (field_id < 0) return -1;
  for (int32_t i = 0; i < r->n_columns; i++)
    if (r->columns[i].field_id == field_id) return i;
  /* A list column is found by its element's id too. */
  for (int32_t i = 0; i < r->n_columns; i++)
    if (r->columns[i].arrow_type.id == FLOE_ARROW_LIST && r->columns[i].element_field_id == field_id)
      return i;
  /* A nested group column: index num_columns + k. */
  for (int32_t k = 0; k < r->n_groups; k++)
    if (r->groups[k].info.field_id == field_id) return r->n_columns + k;
  return -1;
}

int32_t floe_parquet_reader_find_column(const floe_parquet_reader *r, const char *name) {
  for (int32_t i = 0; i < r->n_columns; i++)
    if (strcmp(r->columns[i].name, name) == 0) return i;
  return -1;
}

int floe_parquet_reader_row_group(const floe_parquet_reader *r, int32_t g,
                                  floe_parquet_row_group_info *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (g < 0 || g >= r->meta.n_row_groups)
    return floe_error_set(err, FLOE_EINVAL, "row group %" PRId32 " out of range", g);
  const pq_row_group *rg = &r->meta.row_groups[g];
  out->num_rows = rg->num_rows;
  out->first_row = r->rg_first_row[g];
  out->total_byte_size = rg->total_byte_size;
  int64_t sum = 0;
  for (int32_t c = 0; c < rg->n_columns; c++)
    sum += rg->columns[c].meta_data.total_compressed_size;
  out->total_compressed_size = rg->has_total_compressed_size ? rg->total_compressed_size : sum;
  return FLOE_OK;
}

int floe_parquet_reader_chunk(const floe_parquet_reader *r, int32_t g, int32_t c,
                              floe_parquet_chunk_info *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (g < 0 || g >= r->meta.n_row_groups || c < 0 || c >= r->n_columns)
    return floe_error_set(err, FLOE_EINVAL, "chunk %" PRId32 "/%" PRId32 " out of range", g, c);
  const pq_column_chunk *cc = &r->meta.row_groups[g].columns[c];
  const pq_column_meta *m = &cc->meta_data;
  out->codec = codec_name(m->codec);
  size_t len = 0;
  for (int32_t i = 0; i < m->n_encodings; i++) {
    int n = snprintf(out->encodings + len, sizeof out->encodings - len, "%s%s",
                     i ? "," : "", encoding_name(m->encodings[i]));
    if (n < 0 || (size_t)n >= sizeof out->encodings - len) break;
    len += (size_t)n;
  }
  out->num_values = m->num_values;
  out->compressed_size = m->total_compressed_size;
  out->uncompressed_size = m->total_uncompressed_size;
  out->data_page_offset = m->data_page_offset;
  out->dictionary_page_offset = m->has_dictionary_page_offset ? m->dictionary_page_offset : -1;
  out->has_statistics = m->has_statistics;
  const pq_statistics *s = &m->statistics;
  out->has_null_count = s->has_null_count;
  out->null_count = s->null_count;
  out->has_distinct_count = s->has_distinct_count;
  out->distinct_count = s->distinct_count;
  if (s->has_min_value) {
    out->has_min = true;
    out->min = s->min_value.data;
    out->min_len = s->min_value.len;
  } else if (s->has_min) {
    out->has_min = out->min_is_legacy = true;
    out->min = s->min.data;
    out->min_len = s->min.len;
  }
  if (s->has_max_value) {
    out->has_max = true;
    out->max = s->max_value.data;
    out->max_len = s->max_value.len;
  } else if (s->has_max) {
    out->has_max = out->max_is_legacy = true;
    out->max = s->max.data;
    out->max_len = s->max.len;
  }
  out->has_min_exact = s->has_is_min_value_exact;
  out->min_exact = s->is_min_value_exact;
  out->has_max_exact = s->has_is_max_value_exact;
  out->max_exact = s->is_max_value_exact;
  if (m->n_key_value > 0) {
    /* Converted on demand into the reader's arena (metadata memory). */
    floe_parquet_key_value *kv;
    if (convert_key_values((floe_arena *)&r->arena, m->key_value, m->n_key_value, &kv) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    out->key_value = kv;
    out->n_key_value = m->n_key_value;
  }
  return FLOE_OK;
}

static int append_hex_prefixed(floe_buf *out, const uint8_t *p, int64_t len) {
  static const char hex[] = "0123456789abcdef";
  int rc = floe_buf_append_str(out, "0x");
  for (int64_t i = 0; rc == FLOE_OK && i < len; i++) {
    char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
    rc = floe_buf_append(out, two, 2);
  }
  return rc;
}

int floe_parquet_reader_format_stat(const floe_parquet_reader *r, int32_t column,
                                    const uint8_t *value, int64_t len, floe_buf *out) {
  if (column < 0 || column >= r->n_columns || value == NULL || len < 0)
    return FLOE_EINVAL;
  const floe_parquet_column_info *c = &r->columns[column];
  const conv *cv = &r->extra[column].cv;
  uint8_t fixed[32] = {0};
  floe_arrow_view v;
  memset(&v, 0, sizeof v);
  /* A list column's statistics describe its elements. */
  v.type = c->arrow_type.id == FLOE_ARROW_LIST ? c->element_type : c->arrow_type;
  v.length = 1;
  int32_t offsets[2] = {0, (int32_t)(len > INT32_MAX ? 0 : len)};
  switch (cv->kind) {
    case CV_BOOL:
      if (len != 1) break;
      fixed[0] = value[0] & 1;
      v.values = fixed;
      return floe_arrow_view_format(&v, 0, out);
    case CV_VARLEN:
      v.offsets = offsets;
      v.data = value;
      return floe_arrow_view_format(&v, 0, out);
    case CV_BE_TO_DEC:
      if (len < 1 || len > 16) break;
      {
        conv one = *cv;
        one.phys_w = (int32_t)len;
        convert_fixed(&one, value, 1, fixed);
      }
      v.values = fixed;
      return floe_arrow_view_format(&v, 0, out);
    case CV_NONE:
      break;
    default:
      if (len != cv->phys_w || cv->out_w > (int32_t)sizeof fixed) break;
      convert_fixed(cv, value, 1, fixed);
      v.values = fixed;
      return floe_arrow_view_format(&v, 0, out);
  }
  return append_hex_prefixed(out, value, len);
}

/* The Arrow field of node ni of a group column, named `name`. */
static int node_to_arrow(const floe_parquet_reader *r, int32_t ni, const char *name,
                         struct ArrowSchema *out) {
  const nest_node *n = &r->nodes[ni];
  int rc;
  switch (n->kind) {
    case FLOE_ARROW_STRUCT:
      rc = floe_arrow_schema_init_struct_field(out, name, n->nullable, n->field_id, n->n_children);
      for (int32_t i = 0; rc == FLOE_OK && i < n->n_children; i++)
        rc = node_to_arrow(r, n->children[i], r->nodes[n->children[i]].name, out->children[i]);
      break;
    case FLOE_ARROW_LIST:
      rc = floe_arrow_schema_init_list_field(out, name, n->nullable, n->field_id);
      if (rc == FLOE_OK) rc = node_to_arrow(r, n->children[0], "element", out->children[0]);
      break;
    case FLOE_ARROW_MAP:
      rc = floe_arrow_schema_init_map(out, name, n->nullable, n->field_id);
      if (rc == FLOE_OK) rc = node_to_arrow(r, n->children[0], "key", out->children[0]->children[0]);
      if (rc == FLOE_OK)
        rc = node_to_arrow(r, n->children[1], "value", out->children[0]->children[1]);
      break;
    default:
      return floe_arrow_schema_init(out, name, &n->leaf_type, n->nullable, n->field_id);
  }
  if (rc < 0) floe_arrow_schema_release(out);
  return rc;
}

/* Column info of scan index col (a leaf column, or group col - n_columns). */
static const floe_parquet_column_info *col_info(const floe_parquet_reader *r, int32_t col) {
  return col < r->n_columns ? &r->columns[col] : &r->groups[col - r->n_columns].info;
}

/* The columns a scan of "all columns" reads, in schema order: readable
 * leaves, with a readable group in place of its leaves. */
static int32_t select_all(const floe_parquet_reader *r, int32_t *cols) {
  int32_t n = 0;
  for (int32_t i = 0; i < r->n_columns; i++) {
    int32_t g = r->extra[i].group;
    if (g >= 0) {
      if (r->groups[g].leaves[0] == i) cols[n++] = r->n_columns + g;
    } else if (r->extra[i].cv.kind != CV_NONE) {
      cols[n++] = i;
    }
  }
  return n;
}

static int schema_for(const floe_parquet_reader *r, const int32_t *cols, int32_t n,
                      struct ArrowSchema *out, floe_error *err) {
  int rc = floe_arrow_schema_init_struct(out, "", n);
  if (rc < 0) return floe_error_set(err, rc, "out of memory");
  for (int32_t i = 0; i < n; i++) {
    if (cols[i] >= r->n_columns) {
      const nest_group *g = &r->groups[cols[i] - r->n_columns];
      rc = node_to_arrow(r, g->root, g->info.name, out->children[i]);
      if (rc < 0) {
        floe_arrow_schema_release(out);
        return floe_error_set(err, rc, "out of memory");
      }
      continue;
    }
    const floe_parquet_column_info *c = &r->columns[cols[i]];
    if (c->arrow_type.id == FLOE_ARROW_LIST)
      rc = floe_arrow_schema_init_list(out->children[i], c->name, c->nullable, c->field_id,
                                       &c->element_type, c->element_nullable,
                                       c->element_field_id);
    else
      rc = floe_arrow_schema_init(out->children[i], c->name, &c->arrow_type, c->nullable,
                                  c->field_id);
    if (rc < 0) {
      floe_arrow_schema_release(out);
      return floe_error_set(err, rc, "out of memory");
    }
  }
  return FLOE_OK;
}

int floe_parquet_reader_arrow_schema(const floe_parquet_reader *r, struct ArrowSchema *out,
                                     floe_error *err) {
  int32_t *cols = floe_malloc(sizeof *cols * (size_t)(r->n_columns ? r->n_columns : 1));
  if (cols == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int32_t n = select_all(r, cols);
  int rc = schema_for(r, cols, n, out, err);
  floe_free(cols);
  return rc;
}

/* ---- column scans --------------------------------------------------- */

typedef enum { DEF_NONE, DEF_RLE, DEF_BITPACKED } def_mode;

/* A page's repetition or definition levels. */
typedef struct level_dec {
  def_mode mode;  /* DEF_NONE: every level is 0 */
  int bit_width;
  pq_rle rle;
  const uint8_t *bp; /* legacy BIT_PACKED levels */
  size_t bp_len;
  int64_t bp_index;
} level_dec;

typedef struct col_scan {
  int32_t column;
  const floe_parquet_column_info *info;
  conv cv;
  floe_arrow_builder *b;
  floe_codec codec;
  /* the row group's column chunk */
  floe_buf chunk;
  uint64_t chunk_offset; /* file offset of chunk.data[0] */
  size_t pos;            /* next page header in chunk */
  bool seen_data_page;
  /* dictionary, already in output representation */
  bool has_dict;
  int64_t dict_n;
  floe_buf dict_values;  /* fixed: out_w each; bool: a byte each; varlen: int32 offsets */
  floe_buf dict_data;    /* varlen bytes */
  /* the current page */
  floe_buf page;         /* decompressed bytes */
  uint64_t page_offset;  /* file offset of the page header */
  int64_t page_left;     /* level entries left */
  pq_encoding enc;
  level_dec def;
  level_dec rep;            /* lists only */
  /* lists: b is the element builder, lb the list column's builder; levels
   * are decoded ahead into lev_r/lev_d so a read can stop at a row start */
  bool is_list;
  floe_arrow_builder *lb;
  uint32_t lev_r[SLICE], lev_d[SLICE];
  int64_t lev_pos, lev_n;
  const uint8_t *vp, *vend; /* values cursor */
  int64_t bit_index;        /* PLAIN booleans */
  pq_rle vrle;              /* dictionary indices, RLE booleans */
  pq_delta delta;           /* DELTA_BINARY_PACKED values / lengths / prefix lengths */
  pq_delta delta2;          /* DELTA_BYTE_ARRAY suffix lengths */
  floe_buf prev;            /* DELTA_BYTE_ARRAY previous value */
  const uint8_t *bss_base;
  int64_t bss_n, bss_i;
  floe_buf scratch;
  /* a group column: one sub-scan per leaf (schema order), assembled into b */
  int32_t group;            /* -1 for leaf columns */
  struct col_scan *subs;
  int32_t n_subs;
  struct ArrowSchema field; /* the group's Arrow field (to reset b) */
  /* a group's leaf: its entries of the read, and its staging column (one
   * slot per entry, null below max_definition_level) */
  uint32_t *ent_r, *ent_d;
  int64_t ent_n, ent_cap, ent_pos;
  struct ArrowArray stage;
  floe_arrow_view stage_view;
  struct ArrowSchema stage_schema;
} col_scan;

struct floe_parquet_scan {
  floe_parquet_reader *r;
  int32_t n_cols;
  int32_t *cols;
  col_scan *cs;
  int32_t *row_groups;
  int32_t n_row_groups;
  int32_t rg_pos;      /* index into row_groups of the current one; -1 before */
  int64_t rows_left;   /* in the current row group */
  int64_t next_row;    /* file-relative position of the next row */
  int64_t batch_size;
  floe_arrow_batch_builder bb;
  floe_codec_ctx codec;
  floe_arena page_arena;
};

static void col_scan_free(col_scan *c) {
  for (int32_t i = 0; c->subs != NULL && i < c->n_subs; i++) {
    col_scan *sub = &c->subs[i];
    if (sub->b != NULL) {
      floe_arrow_builder_free(sub->b);
      floe_free(sub->b);
    }
    col_scan_free(sub);
  }
  floe_free(c->subs);
  floe_arrow_schema_release(&c->field);
  floe_arrow_schema_release(&c->stage_schema);
  floe_arrow_array_release(&c->stage);
  floe_free(c->ent_r);
  floe_free(c->ent_d);
  floe_buf_free(&c->chunk);
  floe_buf_free(&c->dict_values);
  floe_buf_free(&c->dict_data);
  floe_buf_free(&c->page);
  floe_buf_free(&c->prev);
  floe_buf_free(&c->scratch);
}

static int fmt_error(floe_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fmt_error(floe_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = floe_error_vset(err, FLOE_EFORMAT, fmt, ap);
  va_end(ap);
  return rc;
}

/* Upper bound of what `n` compressed bytes may expand to: the largest
 * expansion each format can express, so a page header cannot make the
 * reader allocate far more than the file justifies. */
static int64_t max_expansion(floe_codec codec, int64_t n) {
  switch (codec) {
    case FLOE_CODEC_NONE: return n;
    case FLOE_CODEC_SNAPPY: return n * 64 + 64;
    case FLOE_CODEC_GZIP: return n * 1100 + 1024;
    case FLOE_CODEC_LZ4_RAW:
    case FLOE_CODEC_LZ4_HADOOP: return n * 256 + 1024;
    default: return n * 32768 + 65536; /* zstd RLE blocks */
  }
}

static int decompress_into(col_scan *c, floe_parquet_scan *s, const uint8_t *src, int64_t n,
                           int64_t raw_size, floe_buf *dst, floe_error *err) {
  if (raw_size < 0 || raw_size > MAX_PAGE_BYTES || raw_size > max_expansion(c->codec, n))
    return fmt_error(err, "uncompressed size %" PRId64 " is not possible for %" PRId64
                     " %s bytes", raw_size, n, floe_codec_name(c->codec));
  floe_buf_reset(dst);
  if (floe_buf_reserve(dst, (size_t)raw_size + 16) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (c->codec == FLOE_CODEC_NONE) {
    if (n != raw_size)
      return fmt_error(err, "page holds %" PRId64 " bytes but declares %" PRId64, n, raw_size);
    if (n) memcpy(dst->data, src, (size_t)n);
  } else if (raw_size > 0) {
    int rc = floe_decompress(&s->codec, c->codec, src, (size_t)n, dst->data, (size_t)raw_size,
                             err);
    if (rc < 0) return rc;
  }
  dst->len = (size_t)raw_size;
  return FLOE_OK;
}

/* Appends one byte-array value to the builder at row b->length + k (for
 * fixed outputs) / the end of its data (varlen). */
static int put_bytes(col_scan *c, int64_t k, const uint8_t *p, int64_t len, floe_error *err) {
  floe_arrow_builder *b = c->b;
  switch (c->cv.kind) {
    case CV_VARLEN: {
      if ((uint64_t)b->data_len + (uint64_t)len > INT32_MAX)
        return floe_error_set(err, FLOE_ERANGE, "more than 2 GiB of values in one batch");
      if (b->data_len + (size_t)len > b->data_cap &&
          floe_arrow_builder_reserve(b, 0, (size_t)len) < 0)
        return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      if (len) memcpy(b->data + b->data_len, p, (size_t)len);
      b->data_len += (size_t)len;
      int32_t end = (int32_t)b->data_len;
      memcpy(b->values + (b->length + k + 1) * 4, &end, 4);
      return FLOE_OK;
    }
    case CV_BE_TO_DEC: {
      if (len > 16) return fmt_error(err, "decimal value of %" PRId64 " bytes", len);
      unsigned __int128 u = (len > 0 && (p[0] & 0x80)) ? ~(unsigned __int128)0 : 0;
      for (int64_t i = 0; i < len; i++) u = u << 8 | p[i];
      memcpy(b->values + (b->length + k) * 16, &u, 16);
      return FLOE_OK;
    }
    default:
      if (len != c->cv.phys_w)
        return fmt_error(err, "value of %" PRId64 " bytes in a %" PRId32 "-byte column", len,
                         c->cv.phys_w);
      convert_fixed(&c->cv, p, 1, b->values + (size_t)(b->length + k) * (size_t)c->cv.out_w);
      return FLOE_OK;
  }
}

static int load_dictionary(col_scan *c, const pq_page_header *h, floe_error *err) {
  const pq_dictionary_page_header *dh = &h->dictionary_page_header;
  if (c->has_dict) return fmt_error(err, "second dictionary page");
  if (c->seen_data_page) return fmt_error(err, "dictionary page after data pages");
  if (!h->has_dictionary_page_header) return fmt_error(err, "dictionary page without its header");
  if (dh->encoding != PQ_ENC_PLAIN && dh->encoding != PQ_ENC_PLAIN_DICTIONARY)
    return fmt_error(err, "dictionary encoding %s", encoding_name(dh->encoding));
  int64_t n = dh->num_values;
  const uint8_t *p = c->page.data, *end = c->page.data + c->page.len;
  int64_t len = (int64_t)c->page.len;
  if (n < 0) return fmt_error(err, "dictionary page with %" PRId64 " values", n);
  const conv *cv = &c->cv;
  floe_buf_reset(&c->dict_values);
  floe_buf_reset(&c->dict_data);
  if (cv->kind == CV_BOOL) {
    if (n > len * 8) return fmt_error(err, "dictionary of %" PRId64 " booleans in %" PRId64 " bytes", n, len);
    if (floe_buf_resize(&c->dict_values, (size_t)n) < 0) goto nomem;
    for (int64_t i = 0; i < n; i++) c->dict_values.data[i] = (p[i >> 3] >> (i & 7)) & 1;
  } else if (cv->phys == PQ_BYTE_ARRAY) {
    if (n > len / 4) return fmt_error(err, "dictionary of %" PRId64 " values in %" PRId64 " bytes", n, len);
    bool varlen = cv->kind == CV_VARLEN;
    size_t w = varlen ? 4 : (size_t)cv->out_w;
    if (floe_buf_resize(&c->dict_values, (size_t)(n + 1) * w) < 0) goto nomem;
    if (varlen && floe_buf_reserve(&c->dict_data, c->page.len) < 0) goto nomem;
    int32_t zero = 0;
    if (varlen) memcpy(c->dict_values.data, &zero, 4);
    for (int64_t i = 0; i < n; i++) {
      if (end - p < 4) return fmt_error(err, "dictionary value %" PRId64 " truncated", i);
      uint32_t l = floe_load_u32le(p);
      p += 4;
      if (l > (uint64_t)(end - p)) return fmt_error(err, "dictionary value %" PRId64 " truncated", i);
      if (varlen) {
        floe_buf_put(&c->dict_data, p, l);
        int32_t off = (int32_t)c->dict_data.len;
        memcpy(c->dict_values.data + (i + 1) * 4, &off, 4);
      } else {
        if (l > 16) return fmt_error(err, "decimal value of %" PRIu32 " bytes", l);
        unsigned __int128 u = (l > 0 && (p[0] & 0x80)) ? ~(unsigned __int128)0 : 0;
        for (uint32_t k = 0; k < l; k++) u = u << 8 | p[k];
        memcpy(c->dict_values.data + i * 16, &u, 16);
      }
      p += l;
    }
  } else {
    if (n > len / cv->phys_w)
      return fmt_error(err, "dictionary of %" PRId64 " values in %" PRId64 " bytes", n, len);
    if (floe_buf_resize(&c->dict_values, (size_t)n * (size_t)cv->out_w + 1) < 0) goto nomem;
    convert_fixed(cv, p, n, c->dict_values.data);
  }
  c->dict_n = n;
  c->has_dict = true;
  return FLOE_OK;
nomem:
  return floe_error_set(err, FLOE_ENOMEM, "out of memory");
}

/* Sets up the value decoder for the page's values at [p, end). */
static int setup_values(col_scan *c, pq_encoding enc, const uint8_t *p, const uint8_t *end,
                        floe_error *err) {
  c->enc = enc;
  c->vp = p;
  c->vend = end;
  c->bit_index = 0;
  const conv *cv = &c->cv;
  int rc;
  switch (enc) {
    case PQ_ENC_PLAIN:
      return FLOE_OK;
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY:
      if (!c->has_dict) return fmt_error(err, "dictionary-encoded page without a dictionary");
      if (p >= end) {
        pq_rle_init(&c->vrle, p, 0, 0);
        return FLOE_OK;
      }
      if (*p > 32) return fmt_error(err, "dictionary index bit width %d", *p);
      pq_rle_init(&c->vrle, p + 1, (size_t)(end - p - 1), *p);
      return FLOE_OK;
    case PQ_ENC_RLE:
      if (cv->kind != CV_BOOL) return fmt_error(err, "RLE values in a non-boolean column");
      if (end - p < 4) return fmt_error(err, "RLE booleans: missing length prefix");
      {
        uint32_t l = floe_load_u32le(p);
        if (l > (uint64_t)(end - p - 4)) return fmt_error(err, "RLE booleans: length %" PRIu32 " exceeds the page", l);
        pq_rle_init(&c->vrle, p + 4, l, 1);
      }
      return FLOE_OK;
    case PQ_ENC_DELTA_BINARY_PACKED:
      if (cv->phys != PQ_INT32 && cv->phys != PQ_INT64)
        return fmt_error(err, "DELTA_BINARY_PACKED in a %s column", physical_name(cv->phys));
      return pq_delta_init(&c->delta, p, (size_t)(end - p), err);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_ENC_DELTA_BYTE_ARRAY: {
      if (cv->phys != PQ_BYTE_ARRAY && cv->phys != PQ_FIXED_LEN_BYTE_ARRAY)
        return fmt_error(err, "%s in a %s column", encoding_name(enc), physical_name(cv->phys));
      const uint8_t *q;
      if ((rc = pq_delta_init(&c->delta, p, (size_t)(end - p), err)) < 0 ||
          (rc = pq_delta_end(&c->delta, &q, err)) < 0)
        return rc;
      if (enc == PQ_ENC_DELTA_BYTE_ARRAY) {
        if ((rc = pq_delta_init(&c->delta2, q, (size_t)(end - q), err)) < 0 ||
            (rc = pq_delta_end(&c->delta2, &q, err)) < 0)
          return rc;
        floe_buf_reset(&c->prev);
      }
      c->vp = q;
      return FLOE_OK;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT:
      if (cv->phys_w == 0) return fmt_error(err, "BYTE_STREAM_SPLIT in a %s column", physical_name(cv->phys));
      if ((end - p) % cv->phys_w != 0)
        return fmt_error(err, "BYTE_STREAM_SPLIT: %td bytes is not a multiple of %" PRId32,
                         end - p, cv->phys_w);
      c->bss_base = p;
      c->bss_n = (end - p) / cv->phys_w;
      c->bss_i = 0;
      return FLOE_OK;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "encoding %s (%d)", encoding_name(enc), enc);
  }
}

/* Sets up a level decoder (max level max_level) over [p, p + len) for the
 * v1 / v2 layouts. Returns the bytes the levels used (v1 RLE includes its
 * prefix). `what` names the levels in errors. */
static int setup_levels(level_dec *d, int32_t max_level, pq_encoding enc, const uint8_t *p,
                        size_t len, int64_t num_values, bool v2, size_t *used, const char *what,
                        floe_error *err) {
  *used = 0;
  d->mode = DEF_NONE;
  if (max_level == 0) return FLOE_OK;
  int bw = 0;
  while ((1 << bw) <= max_level) bw++;
  d->bit_width = bw;
  if (v2) {
    pq_rle_init(&d->rle, p, len, bw);
    d->mode = DEF_RLE;
    *used = len;
    return FLOE_OK;
  }
  if (enc == PQ_ENC_RLE) {
    if (len < 4) return fmt_error(err, "%s levels: missing length prefix", what);
    uint32_t l = floe_load_u32le(p);
    if (l > len - 4) return fmt_error(err, "%s levels: length %" PRIu32 " exceeds the page", what, l);
    pq_rle_init(&d->rle, p + 4, l, bw);
    d->mode = DEF_RLE;
    *used = 4 + (size_t)l;
    return FLOE_OK;
  }
  if (enc == PQ_ENC_BIT_PACKED) {
    uint64_t bytes = ((uint64_t)num_values * (uint64_t)bw + 7) / 8;
    if (bytes > len) return fmt_error(err, "%s levels: %" PRIu64 " bytes exceed the page", what, bytes);
    d->bp = p;
    d->bp_len = (size_t)bytes;
    d->bp_index = 0;
    d->mode = DEF_BITPACKED;
    *used = (size_t)bytes;
    return FLOE_OK;
  }
  return fmt_error(err, "%s level encoding %s", what, encoding_name(enc));
}

/* Decodes the next k levels into out (zeros when the column has none). */
static int levels_get(level_dec *d, uint32_t *out, int64_t k, const char *what, floe_error *err) {
  int rc;
  if (d->mode == DEF_RLE) {
    int64_t got;
    if ((rc = pq_rle_get(&d->rle, out, k, &got, err)) < 0) return rc;
    if (got < k)
      return fmt_error(err, "%s levels end after %" PRId64 " of %" PRId64 " values", what, got, k);
  } else if (d->mode == DEF_BITPACKED) {
    if ((rc = pq_bitpacked_be_get(d->bp, d->bp_len, d->bit_width, d->bp_index, out, k, err)) < 0)
      return rc;
    d->bp_index += k;
  } else {
    memset(out, 0, sizeof *out * (size_t)k);
  }
  return FLOE_OK;
}

/* Reads page headers until a data page is set up. When the chunk has no
 * more data pages: *at_end = true when at_end is given, else an error. */
static int next_page(col_scan *c, floe_parquet_scan *s, bool *at_end, floe_error *err) {
  if (at_end != NULL) *at_end = false;
  for (;;) {
    if (c->pos >= c->chunk.len) {
      if (at_end != NULL) {
        *at_end = true;
        return FLOE_OK;
      }
      return fmt_error(err, "column chunk has no more pages");
    }
    pq_page_header h;
    size_t consumed;
    c->page_offset = c->chunk_offset + c->pos;
    floe_arena_reset(&s->page_arena);
    int rc = pq_page_header_read(c->chunk.data + c->pos, c->chunk.len - c->pos,
                                 &s->page_arena, &h, &consumed, err);
    if (rc < 0) return rc;
    c->pos += consumed;
    int64_t comp = h.compressed_page_size, raw = h.uncompressed_page_size;
    if (comp < 0 || (uint64_t)comp > c->chunk.len - c->pos || raw < 0)
      return fmt_error(err, "page sizes %" PRId64 "/%" PRId64 " exceed the column chunk", comp, raw);
    const uint8_t *data = c->chunk.data + c->pos;
    c->pos += (size_t)comp;
    if (h.has_crc) {
      /* parquet.thrift PageHeader.crc: CRC-32 of the page data as stored
       * (after compression), levels included for v2 pages. */
      uint32_t got = floe_crc32(0, data, (size_t)comp);
      if (got != (uint32_t)h.crc)
        return fmt_error(err, "page CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                         (uint32_t)h.crc, got);
    }
    switch (h.type) {
      case PQ_PAGE_DICTIONARY:
        if ((rc = decompress_into(c, s, data, comp, raw, &c->page, err)) < 0) return rc;
        if ((rc = load_dictionary(c, &h, err)) < 0) return rc;
        continue;
      case PQ_PAGE_DATA: {
        if (!h.has_data_page_header) return fmt_error(err, "data page without its header");
        const pq_data_page_header *dh = &h.data_page_header;
        if (dh->num_values < 0) return fmt_error(err, "data page with %" PRId32 " values", dh->num_values);
        if ((rc = decompress_into(c, s, data, comp, raw, &c->page, err)) < 0) return rc;
        c->seen_data_page = true;
        /* v1 page: repetition levels, definition levels, values. */
        size_t used_r = 0, used;
        if ((rc = setup_levels(&c->rep, c->info->max_repetition_level,
                               dh->repetition_level_encoding, c->page.data, c->page.len,
                               dh->num_values, false, &used_r, "repetition", err)) < 0 ||
            (rc = setup_levels(&c->def, c->info->max_definition_level,
                               dh->definition_level_encoding, c->page.data + used_r,
                               c->page.len - used_r, dh->num_values, false, &used,
                               "definition", err)) < 0)
          return rc;
        if ((rc = setup_values(c, dh->encoding, c->page.data + used_r + used,
                               c->page.data + c->page.len, err)) < 0)
          return rc;
        c->page_left = dh->num_values;
        if (c->page_left == 0) continue;
        return FLOE_OK;
      }
      case PQ_PAGE_DATA_V2: {
        if (!h.has_data_page_header_v2) return fmt_error(err, "data page v2 without its header");
        const pq_data_page_header_v2 *dh = &h.data_page_header_v2;
        int64_t rep_len = dh->repetition_levels_byte_length;
        int64_t def_len = dh->definition_levels_byte_length;
        if (dh->num_values < 0 || rep_len < 0 || def_len < 0 || rep_len + def_len > comp ||
            rep_len + def_len > raw)
          return fmt_error(err, "data page v2: bad level lengths %" PRId64 "/%" PRId64, rep_len,
                           def_len);
        c->seen_data_page = true;
        /* Levels are never compressed in v2 pages; they stay in the chunk
         * buffer, which lives as long as the page. */
        const uint8_t *vals = data + rep_len + def_len;
        int64_t vals_comp = comp - rep_len - def_len, vals_raw = raw - rep_len - def_len;
        if (vals_comp == 0) {
          floe_buf_reset(&c->page); /* empty data: nothing to decompress */
        } else if (!dh->is_compressed || c->codec == FLOE_CODEC_NONE) {
          floe_buf_reset(&c->page);
          if (floe_buf_append(&c->page, vals, (size_t)vals_comp) < 0)
            return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        } else if ((rc = decompress_into(c, s, vals, vals_comp, vals_raw, &c->page, err)) < 0) {
          return rc;
        }
        size_t used;
        if ((rc = setup_levels(&c->rep, c->info->max_repetition_level, PQ_ENC_RLE, data,
                               (size_t)rep_len, dh->num_values, true, &used, "repetition",
                               err)) < 0 ||
            (rc = setup_levels(&c->def, c->info->max_definition_level, PQ_ENC_RLE,
                               data + rep_len, (size_t)def_len, dh->num_values, true, &used,
                               "definition", err)) < 0)
          return rc;
        if (floe_buf_reserve(&c->page, 1) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        if ((rc = setup_values(c, dh->encoding, c->page.data, c->page.data + c->page.len,
                               err)) < 0)
          return rc;
        c->page_left = dh->num_values;
        if (c->page_left == 0) continue;
        return FLOE_OK;
      }
      default:
        continue; /* index pages and unknown page types carry no rows */
    }
  }
}

/* Decodes n present values compactly into rows b->length .. +n. */
static int decode_values(col_scan *c, int64_t n, floe_error *err) {
  floe_arrow_builder *b = c->b;
  const conv *cv = &c->cv;
  uint8_t *dst = b->values + (size_t)b->length * (size_t)cv->out_w;
  int rc;
  if (n == 0) return FLOE_OK;
  switch (c->enc) {
    case PQ_ENC_PLAIN:
      if (cv->kind == CV_BOOL) {
        if ((uint64_t)(c->bit_index + n) > (uint64_t)(c->vend - c->vp) * 8) goto short_page;
        for (int64_t i = 0; i < n; i++, c->bit_index++)
          floe_arrow_bit_set(b->values, b->length + i,
                             (c->vp[c->bit_index >> 3] >> (c->bit_index & 7)) & 1);
        return FLOE_OK;
      }
      if (cv->phys == PQ_BYTE_ARRAY) {
        for (int64_t i = 0; i < n; i++) {
          if (c->vend - c->vp < 4) goto short_page;
          uint32_t l = floe_load_u32le(c->vp);
          if (l > (uint64_t)(c->vend - c->vp - 4)) goto short_page;
          if ((rc = put_bytes(c, i, c->vp + 4, l, err)) < 0) return rc;
          c->vp += 4 + (size_t)l;
        }
        return FLOE_OK;
      }
      if ((uint64_t)n * (uint64_t)cv->phys_w > (uint64_t)(c->vend - c->vp)) goto short_page;
      convert_fixed(cv, c->vp, n, dst);
      c->vp += (size_t)n * (size_t)cv->phys_w;
      return FLOE_OK;
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY:
    case PQ_ENC_RLE: {
      uint32_t *idx = (uint32_t *)c->scratch.data;
      int64_t got;
      if ((rc = pq_rle_get(&c->vrle, idx, n, &got, err)) < 0) return rc;
      if (got < n) goto short_page;
      if (c->enc == PQ_ENC_RLE) {
        for (int64_t i = 0; i < n; i++) floe_arrow_bit_set(b->values, b->length + i, idx[i] & 1);
        return FLOE_OK;
      }
      const uint32_t dn = (uint32_t)c->dict_n;
      for (int64_t i = 0; i < n; i++)
        if (idx[i] >= dn)
          return fmt_error(err, "dictionary index %" PRIu32 " out of %" PRIu32 " entries", idx[i], dn);
      const uint8_t *dv = c->dict_values.data;
      if (cv->kind == CV_BOOL) {
        for (int64_t i = 0; i < n; i++) floe_arrow_bit_set(b->values, b->length + i, dv[idx[i]]);
      } else if (cv->kind == CV_VARLEN) {
        const int32_t *off = (const int32_t *)dv;
        size_t total = 0;
        for (int64_t i = 0; i < n; i++) total += (size_t)(off[idx[i] + 1] - off[idx[i]]);
        if (b->data_len + total > INT32_MAX)
          return floe_error_set(err, FLOE_ERANGE, "more than 2 GiB of values in one batch");
        if (floe_arrow_builder_reserve(b, 0, total) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        uint8_t *data = b->data;
        size_t len = b->data_len;
        int32_t *out_off = (int32_t *)(void *)b->values + b->length + 1;
        for (int64_t i = 0; i < n; i++) {
          int32_t s = off[idx[i]], l = off[idx[i] + 1] - s;
          memcpy(data + len, c->dict_data.data + s, (size_t)l);
          len += (size_t)l;
          out_off[i] = (int32_t)len;
        }
        b->data_len = len;
      } else if (cv->out_w == 4) {
        for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, dv + 4 * (size_t)idx[i], 4);
      } else if (cv->out_w == 8) {
        for (int64_t i = 0; i < n; i++) memcpy(dst + 8 * i, dv + 8 * (size_t)idx[i], 8);
      } else if (cv->out_w == 16) {
        for (int64_t i = 0; i < n; i++) memcpy(dst + 16 * i, dv + 16 * (size_t)idx[i], 16);
      } else {
        size_t w = (size_t)cv->out_w;
        for (int64_t i = 0; i < n; i++) memcpy(dst + w * (size_t)i, dv + w * idx[i], w);
      }
      return FLOE_OK;
    }
    case PQ_ENC_DELTA_BINARY_PACKED: {
      int64_t *v = (int64_t *)(void *)c->scratch.data;
      if ((rc = pq_delta_get(&c->delta, v, n, err)) < 0) return rc;
      if (cv->phys == PQ_INT32) {
        uint8_t *narrow = c->scratch.data + (size_t)SLICE * 8;
        for (int64_t i = 0; i < n; i++) floe_store_u32le(narrow + 4 * i, (uint32_t)v[i]);
        convert_fixed(cv, narrow, n, dst);
      } else {
        convert_fixed(cv, (const uint8_t *)v, n, dst);
      }
      return FLOE_OK;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: {
      int64_t *len = (int64_t *)(void *)c->scratch.data;
      if ((rc = pq_delta_get(&c->delta, len, n, err)) < 0) return rc;
      for (int64_t i = 0; i < n; i++) {
        if (len[i] < 0 || len[i] > c->vend - c->vp)
          return fmt_error(err, "DELTA_LENGTH_BYTE_ARRAY: length %" PRId64 " exceeds the page", len[i]);
        if ((rc = put_bytes(c, i, c->vp, len[i], err)) < 0) return rc;
        c->vp += len[i];
      }
      return FLOE_OK;
    }
    case PQ_ENC_DELTA_BYTE_ARRAY: {
      int64_t *prefix = (int64_t *)(void *)c->scratch.data;
      int64_t *suffix = prefix + SLICE;
      if ((rc = pq_delta_get(&c->delta, prefix, n, err)) < 0 ||
          (rc = pq_delta_get(&c->delta2, suffix, n, err)) < 0)
        return rc;
      for (int64_t i = 0; i < n; i++) {
        if (prefix[i] < 0 || (uint64_t)prefix[i] > c->prev.len || suffix[i] < 0 ||
            suffix[i] > c->vend - c->vp)
          return fmt_error(err, "DELTA_BYTE_ARRAY: prefix %" PRId64 " / suffix %" PRId64
                           " do not fit", prefix[i], suffix[i]);
        c->prev.len = (size_t)prefix[i];
        if (floe_buf_append(&c->prev, c->vp, (size_t)suffix[i]) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
        c->vp += suffix[i];
        if ((rc = put_bytes(c, i, c->prev.data, (int64_t)c->prev.len, err)) < 0) return rc;
      }
      return FLOE_OK;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT: {
      if (n > c->bss_n - c->bss_i) goto short_page;
      size_t w = (size_t)cv->phys_w;
      uint8_t *tmp = c->scratch.data;
      for (size_t k = 0; k < w; k++) {
        const uint8_t *stream = c->bss_base + k * (size_t)c->bss_n + c->bss_i;
        for (int64_t i = 0; i < n; i++) tmp[(size_t)i * w + k] = stream[i];
      }
      c->bss_i += n;
      convert_fixed(cv, tmp, n, dst);
      return FLOE_OK;
    }
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "encoding %s", encoding_name(c->enc));
  }
short_page:
  return fmt_error(err, "%s values end before the page's %" PRId64 " values",
                   encoding_name(c->enc), n);
}

/* Makes sure the builder has a validity bitmap covering `rows` rows, with
 * every existing row marked valid. */
static int ensure_validity(floe_arrow_builder *b, int64_t rows) {
  size_t bytes = (size_t)(rows + 7) / 8;
  if (b->validity == NULL) {
    size_t cap = bytes < 64 ? 64 : bytes;
    b->validity = floe_malloc(cap);
    if (b->validity == NULL) return FLOE_ENOMEM;
    b->validity_cap = cap;
    memset(b->validity, 0xff, cap);
  } else if (bytes > b->validity_cap) {
    size_t cap = b->validity_cap * 2 > bytes ? b->validity_cap * 2 : bytes;
    uint8_t *p = floe_realloc(b->validity, cap);
    if (p == NULL) return FLOE_ENOMEM;
    b->validity = p;
    b->validity_cap = cap;
  }
  return FLOE_OK;
}

/* Appends k entries of column c to its builder b: levels[i] == max_def
 * marks the `present` values, decoded compactly from the page and then
 * spread backwards over the null slots. */
static int append_levels(col_scan *c, const uint32_t *levels, int64_t k, int64_t present,
                         uint32_t max_def, floe_error *err) {
  floe_arrow_builder *b = c->b;
  int rc;
  if (floe_arrow_builder_reserve(b, k, 0) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if ((rc = decode_values(c, present, err)) < 0) return rc;
  if (present < k) {
    /* Spread the compact values over their rows, last to first. */
    if (ensure_validity(b, b->length + k) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    int64_t src = present - 1, base = b->length;
    size_t w = (size_t)c->cv.out_w;
    for (int64_t j = k - 1; j >= 0; j--) {
      bool valid = levels[j] == max_def;
      floe_arrow_bit_set(b->validity, base + j, valid);
      if (c->cv.kind == CV_BOOL) {
        bool v = valid && floe_arrow_bit(b->values, base + src);
        floe_arrow_bit_set(b->values, base + j, v);
      } else if (c->cv.kind == CV_VARLEN) {
        /* A null row repeats the end offset of the last value before it. */
        int32_t end;
        memcpy(&end, b->values + (size_t)(base + src + 1) * 4, 4);
        memcpy(b->values + (size_t)(base + j + 1) * 4, &end, 4);
      } else if (valid) {
        if (j != src) memcpy(b->values + (size_t)(base + j) * w, b->values + (size_t)(base + src) * w, w);
      } else {
        memset(b->values + (size_t)(base + j) * w, 0, w);
      }
      if (valid) src--;
    }
    b->null_count += k - present;
  } else if (b->validity != NULL) {
    if (ensure_validity(b, b->length + k) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    for (int64_t j = 0; j < k; j++) floe_arrow_bit_set(b->validity, b->length + j, true);
  }
  b->length += k;
  return FLOE_OK;
}

/* Appends n rows of flat column c to its builder. */
static int read_rows(col_scan *c, floe_parquet_scan *s, int64_t n, floe_error *err) {
  uint32_t levels[SLICE];
  const uint32_t max_def = (uint32_t)c->info->max_definition_level;
  int rc;
  while (n > 0) {
    if (c->page_left == 0 && (rc = next_page(c, s, NULL, err)) < 0) return rc;
    int64_t k = n < c->page_left ? n : c->page_left;
    if (k > SLICE) k = SLICE;
    int64_t present = k;
    if (c->def.mode != DEF_NONE) {
      if ((rc = levels_get(&c->def, levels, k, "definition", err)) < 0) return rc;
      present = 0;
      for (int64_t i = 0; i < k; i++) {
        if (levels[i] > max_def)
          return fmt_error(err, "definition level %" PRIu32 " above the maximum %" PRIu32,
                           levels[i], max_def);
        present += levels[i] == max_def;
      }
    }
    if ((rc = append_levels(c, levels, k, present, max_def, err)) < 0) return rc;
    c->page_left -= k;
    n -= k;
  }
  return FLOE_OK;
}

/* Closes list row `row` of the list builder: its elements end at child
 * row `end`; a null list when !valid. */
static int put_list_row(floe_arrow_builder *lb, int64_t end, bool valid, floe_error *err) {
  if (end > INT32_MAX)
    return floe_error_set(err, FLOE_ERANGE, "more than 2^31-1 list elements in one batch");
  if (floe_arrow_builder_reserve(lb, 1, 0) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if ((!valid || lb->validity != NULL) && ensure_validity(lb, lb->length + 1) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (lb->validity != NULL) floe_arrow_bit_set(lb->validity, lb->length, valid);
  int32_t off = (int32_t)end;
  memcpy(lb->values + (size_t)(lb->length + 1) * 4, &off, 4);
  lb->length++;
  lb->null_count += !valid;
  return FLOE_OK;
}

/* Refills c's slice of (repetition, definition) levels, shared by the list
 * and group-leaf readers. At a page end the pending elements' values (in
 * the page being left) are decoded first; then the next page is opened.
 * *at_end is set when the column chunk ends and may end there (rows_done:
 * every asked row is read), and nothing is refilled. */
static int levels_refill(col_scan *c, floe_parquet_scan *s, const uint32_t *elem,
                         int64_t *n_elem, int64_t *present, uint32_t max_def,
                         bool rows_done, bool *at_end, floe_error *err) {
  int rc;
  if (c->page_left == 0) {
    if (*n_elem > 0) {
      if ((rc = append_levels(c, elem, *n_elem, *present, max_def, err)) < 0) return rc;
      *n_elem = *present = 0;
    }
    if ((rc = next_page(c, s, rows_done ? at_end : NULL, err)) < 0) return rc;
    if (*at_end) return FLOE_OK;
  }
  int64_t k = c->page_left < SLICE ? c->page_left : SLICE;
  if ((rc = levels_get(&c->rep, c->lev_r, k, "repetition", err)) < 0 ||
      (rc = levels_get(&c->def, c->lev_d, k, "definition", err)) < 0)
    return rc;
  c->page_left -= k;
  c->lev_pos = 0;
  c->lev_n = k;
  return FLOE_OK;
}

/* Appends n rows of list column c: walks repetition and definition levels
 * (parquet-format: "Nested Encoding"; Dremel). A row starts at repetition
 * level 0; its definition level says whether the list is null (below
 * list_definition_level), empty (below element_definition_level) or holds
 * a first element, null below max_definition_level. Level 1 adds an
 * element to the open row. Element values are decoded in runs of up to
 * SLICE entries, always before the page changes. The read stops before the
 * first entry of row n + 1, or at the end of the column chunk; v1 pages
 * may split a row, so a page end is not a row end. */
static int read_list_rows(col_scan *c, floe_parquet_scan *s, int64_t n, floe_error *err) {
  floe_arrow_builder *lb = c->lb;
  const uint32_t max_def = (uint32_t)c->info->max_definition_level;
  const uint32_t list_def = (uint32_t)c->info->list_definition_level;
  const uint32_t elem_def = (uint32_t)c->info->element_definition_level;
  uint32_t elem[SLICE];
  int64_t n_elem = 0, present = 0, rows = 0;
  bool open = false;
  int rc;
  for (;;) {
    if (c->lev_pos == c->lev_n) {
      bool at_end = false;
      if ((rc = levels_refill(c, s, elem, &n_elem, &present, max_def, rows == n, &at_end, err)) < 0)
        return rc;
      if (at_end) break;
    }
    uint32_t r = c->lev_r[c->lev_pos], d = c->lev_d[c->lev_pos];
    if (d > max_def)
      return fmt_error(err, "definition level %" PRIu32 " above the maximum %" PRIu32, d, max_def);
    if (r > 1) return fmt_error(err, "repetition level %" PRIu32 " above the maximum 1", r);
    if (r == 0) {
      if (rows == n) break; /* the next read's first row */
      if (open && (rc = put_list_row(lb, c->b->length + n_elem, true, err)) < 0) return rc;
      open = false;
      rows++;
      if (d < list_def) {
        if ((rc = put_list_row(lb, c->b->length + n_elem, false, err)) < 0) return rc;
        c->lev_pos++;
        continue;
      }
      open = true;
      if (d < elem_def) { /* an empty list */
        c->lev_pos++;
        continue;
      }
    } else {
      if (!open)
        return fmt_error(err, "repetition level 1 where no list is open (row %" PRId64 " of the read)",
                         rows);
      if (d < elem_def)
        return fmt_error(err, "repeated entry with definition level %" PRIu32 " below %" PRIu32, d,
                         elem_def);
    }
    elem[n_elem++] = d;
    present += d == max_def;
    c->lev_pos++;
    if (n_elem == SLICE) {
      if ((rc = append_levels(c, elem, n_elem, present, max_def, err)) < 0) return rc;
      n_elem = present = 0;
    }
  }
  if (n_elem > 0 && (rc = append_levels(c, elem, n_elem, present, max_def, err)) < 0) return rc;
  if (open && (rc = put_list_row(lb, c->b->length, true, err)) < 0) return rc;
  if (rows < n)
    return fmt_error(err, "column chunk ends after %" PRId64 " of %" PRId64 " rows", rows, n);
  return FLOE_OK;
}

/* Reads the entries of n rows of a group's leaf c: (repetition,
 * definition) pairs into ent_r/ent_d and one staging slot per entry into
 * c->b. A row starts at repetition level 0; the read stops before the
 * first entry of row n + 1 or at the end of the column chunk. */
static int read_entry_rows(col_scan *c, floe_parquet_scan *s, int64_t n, floe_error *err) {
  const uint32_t max_def = (uint32_t)c->info->max_definition_level;
  const uint32_t max_rep = (uint32_t)c->info->max_repetition_level;
  uint32_t elem[SLICE];
  int64_t n_elem = 0, present = 0, rows = 0;
  int rc;
  c->ent_n = c->ent_pos = 0;
  for (;;) {
    if (c->lev_pos == c->lev_n) {
      bool at_end = false;
      if ((rc = levels_refill(c, s, elem, &n_elem, &present, max_def, rows == n, &at_end, err)) < 0)
        return rc;
      if (at_end) break;
    }
    uint32_t r = c->lev_r[c->lev_pos], d = c->lev_d[c->lev_pos];
    if (d > max_def)
      return fmt_error(err, "definition level %" PRIu32 " above the maximum %" PRIu32, d, max_def);
    if (r > max_rep)
      return fmt_error(err, "repetition level %" PRIu32 " above the maximum %" PRIu32, r, max_rep);
    if (r == 0) {
      if (rows == n) break;
      rows++;
    } else if (rows == 0) {
      return fmt_error(err, "repetition level %" PRIu32 " at the start of a read", r);
    }
    if (c->ent_n == c->ent_cap) {
      int64_t cap = c->ent_cap ? c->ent_cap * 2 : 1024;
      uint32_t *nr = floe_realloc(c->ent_r, (size_t)cap * sizeof *nr);
      if (nr != NULL) c->ent_r = nr;
      uint32_t *nd = nr != NULL ? floe_realloc(c->ent_d, (size_t)cap * sizeof *nd) : NULL;
      if (nd == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      c->ent_d = nd;
      c->ent_cap = cap;
    }
    c->ent_r[c->ent_n] = r;
    c->ent_d[c->ent_n++] = d;
    elem[n_elem++] = d;
    present += d == max_def;
    c->lev_pos++;
    if (n_elem == SLICE) {
      if ((rc = append_levels(c, elem, n_elem, present, max_def, err)) < 0) return rc;
      n_elem = present = 0;
    }
  }
  if (n_elem > 0 && (rc = append_levels(c, elem, n_elem, present, max_def, err)) < 0) return rc;
  if (rows < n)
    return fmt_error(err, "column chunk ends after %" PRId64 " of %" PRId64 " rows", rows, n);
  return FLOE_OK;
}

/* The leaf sub-scan whose entries decide node ni's shape (its first leaf),
 * and its current entry's definition level. */
static int lead_entry(col_scan *g, const nest_node *n, col_scan **out, uint32_t *d,
                      floe_error *err) {
  col_scan *lead = &g->subs[n->first_leaf];
  if (lead->ent_pos >= lead->ent_n)
    return fmt_error(err, "column '%s': its levels end before its row does", lead->info->name);
  *out = lead;
  *d = lead->ent_d[lead->ent_pos];
  return FLOE_OK;
}

/* Every leaf under node n holds exactly one entry for a null or empty n. */
static int skip_entries(col_scan *g, const nest_node *n, floe_error *err) {
  for (int32_t k = n->first_leaf; k < n->first_leaf + n->n_leaves; k++) {
    col_scan *leaf = &g->subs[k];
    if (leaf->ent_pos >= leaf->ent_n)
      return fmt_error(err, "column '%s': its levels end before its row does", leaf->info->name);
    leaf->ent_pos++;
  }
  return FLOE_OK;
}

#define ASSEMBLE_TRY(expr)                                                     \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ < 0)                                                               \
      return rc_ == FLOE_EINVAL ? fmt_error(err, "nested levels do not fit the schema") \
             : rc_ == FLOE_ENOMEM ? floe_error_set(err, FLOE_ENOMEM, "out of memory")   \
                                  : rc_;                                       \
  } while (0)

/* Appends one value of node ni (Dremel record assembly) to b. */
static int assemble(floe_parquet_reader *r, col_scan *g, int32_t ni, floe_arrow_builder *b,
                    floe_error *err) {
  const nest_node *n = &r->nodes[ni];
  col_scan *lead = NULL;
  uint32_t d = 0;
  int rc = lead_entry(g, n, &lead, &d, err);
  if (rc < 0) return rc;
  if (d < n->def_present) {
    if (!n->nullable) return fmt_error(err, "a null in required field '%s'", n->name);
    ASSEMBLE_TRY(floe_arrow_builder_append_null(b));
    return skip_entries(g, n, err);
  }
  switch (n->kind) {
    case FLOE_ARROW_STRUCT: {
      floe_arrow_builder *kids;
      int64_t nk;
      ASSEMBLE_TRY(floe_arrow_builder_struct_start(b, &kids, &nk));
      for (int32_t i = 0; i < n->n_children; i++)
        if ((rc = assemble(r, g, n->children[i], &kids[i], err)) < 0) return rc;
      ASSEMBLE_TRY(floe_arrow_builder_struct_end(b));
      return FLOE_OK;
    }
    case FLOE_ARROW_LIST:
    case FLOE_ARROW_MAP: {
      floe_arrow_builder *elem = NULL, *keys = NULL, *values = NULL;
      if (n->kind == FLOE_ARROW_LIST)
        ASSEMBLE_TRY(floe_arrow_builder_list_start(b, &elem));
      else
        ASSEMBLE_TRY(floe_arrow_builder_map_start(b, &keys, &values));
      if (d < n->def_entry) {
        if ((rc = skip_entries(g, n, err)) < 0) return rc;
      } else {
        for (;;) {
          if (n->kind == FLOE_ARROW_LIST) {
            if ((rc = assemble(r, g, n->children[0], elem, err)) < 0) return rc;
          } else if ((rc = assemble(r, g, n->children[0], keys, err)) < 0 ||
                     (rc = assemble(r, g, n->children[1], values, err)) < 0) {
            return rc;
          }
          if (lead->ent_pos >= lead->ent_n || lead->ent_r[lead->ent_pos] != n->rep_entry) break;
        }
      }
      if (n->kind == FLOE_ARROW_LIST)
        ASSEMBLE_TRY(floe_arrow_builder_list_end(b));
      else
        ASSEMBLE_TRY(floe_arrow_builder_map_end(b));
      return FLOE_OK;
    }
    default:
      ASSEMBLE_TRY(floe_arrow_builder_append_view(b, &lead->stage_view, lead->ent_pos, 1));
      lead->ent_pos++;
      return FLOE_OK;
  }
}

/* Reads n rows of group column g into its builder. */
static int read_group_rows(col_scan *g, floe_parquet_scan *s, int64_t n, floe_error *err) {
  floe_parquet_reader *r = s->r;
  int rc = FLOE_OK;
  for (int32_t k = 0; k < g->n_subs; k++) {
    col_scan *leaf = &g->subs[k];
    if ((rc = read_entry_rows(leaf, s, n, err)) < 0)
      return floe_error_prefix(err, "leaf '%s'", leaf->info->name), rc;
    floe_arrow_array_release(&leaf->stage);
    if (floe_arrow_builder_finish(leaf->b, &leaf->stage) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    if ((rc = floe_arrow_view_init(&leaf->stage_view, &leaf->stage_schema, &leaf->stage, err)) < 0)
      return rc;
  }
  int32_t root = r->groups[g->group].root;
  for (int64_t row = 0; row < n; row++)
    if ((rc = assemble(r, g, root, g->b, err)) < 0) return rc;
  for (int32_t k = 0; k < g->n_subs; k++)
    if (g->subs[k].ent_pos != g->subs[k].ent_n)
      return fmt_error(err, "leaf '%s' holds %" PRId64 " entries beyond its rows",
                       g->subs[k].info->name, g->subs[k].ent_n - g->subs[k].ent_pos);
  for (int32_t k = 0; k < g->n_subs; k++) floe_arrow_array_release(&g->subs[k].stage);
  return FLOE_OK;
}

/* Sets up the sub-scans of group column c. */
static int group_scan_init(floe_parquet_reader *r, col_scan *c, int32_t group, floe_error *err) {
  const nest_group *grp = &r->groups[group];
  c->group = group;
  c->subs = floe_calloc((size_t)grp->n_leaves, sizeof *c->subs);
  if (c->subs == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  c->n_subs = grp->n_leaves;
  for (int32_t k = 0; k < grp->n_leaves; k++) {
    col_scan *leaf = &c->subs[k];
    leaf->group = -1;
    leaf->column = grp->leaves[k];
    leaf->info = &r->columns[leaf->column];
    leaf->cv = r->extra[leaf->column].leaf_cv;
    leaf->b = floe_calloc(1, sizeof *leaf->b);
    if (leaf->b == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    const floe_arrow_type_info *t = &r->extra[leaf->column].leaf_type;
    if (floe_arrow_builder_init(leaf->b, t) < 0 ||
        floe_arrow_schema_init(&leaf->stage_schema, "stage", t, true, -1) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    size_t w = (size_t)(leaf->cv.phys_w > 16 ? leaf->cv.phys_w : 16);
    if (floe_buf_reserve(&leaf->scratch, SLICE * w + 16) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return FLOE_OK;
}

static int load_chunk(floe_parquet_scan *s, col_scan *c, int32_t g, floe_error *err) {
  floe_parquet_reader *r = s->r;
  if (c->group >= 0) {
    for (int32_t k = 0; k < c->n_subs; k++) {
      int rc = load_chunk(s, &c->subs[k], g, err);
      if (rc < 0) return floe_error_prefix(err, "leaf '%s'", c->subs[k].info->name), rc;
    }
    return FLOE_OK;
  }
  const pq_column_chunk *cc = &r->meta.row_groups[g].columns[c->column];
  const pq_column_meta *m = &cc->meta_data;
  if (cc->file_path != NULL)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "column chunk in another file (%s)",
                          cc->file_path);
  if (!cc->has_meta_data) return fmt_error(err, "column chunk without metadata");
  if (m->type != c->cv.phys)
    return fmt_error(err, "column chunk type %s differs from the schema's %s",
                     physical_name(m->type), physical_name(c->cv.phys));
  switch (m->codec) {
    case PQ_CODEC_UNCOMPRESSED: c->codec = FLOE_CODEC_NONE; break;
    case PQ_CODEC_SNAPPY: c->codec = FLOE_CODEC_SNAPPY; break;
    case PQ_CODEC_GZIP: c->codec = FLOE_CODEC_GZIP; break;
    case PQ_CODEC_ZSTD: c->codec = FLOE_CODEC_ZSTD; break;
    case PQ_CODEC_LZ4: c->codec = FLOE_CODEC_LZ4_HADOOP; break;
    case PQ_CODEC_LZ4_RAW: c->codec = FLOE_CODEC_LZ4_RAW; break;
    default:
      return floe_error_set(err, FLOE_EUNSUPPORTED, "codec %s", codec_name(m->codec));
  }
  int64_t start = m->data_page_offset;
  /* Some writers record dictionary_page_offset 0 when there is none. */
  if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
      m->dictionary_page_offset < start)
    start = m->dictionary_page_offset;
  int64_t len = m->total_compressed_size;
  uint64_t data_end = r->src.size - 8 - r->footer_len;
  if (start < 4 || len < 0 || (uint64_t)start > data_end || (uint64_t)len > data_end - (uint64_t)start)
    return fmt_error(err, "column chunk at %" PRId64 " (+%" PRId64 " bytes) lies outside the file",
                     start, len);
  floe_buf_reset(&c->chunk);
  if (floe_buf_reserve(&c->chunk, (size_t)len) < 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = r->src.read_at(r->src.ctx, (uint64_t)start, c->chunk.data, (size_t)len, err);
  if (rc < 0) return rc;
  c->chunk.len = (size_t)len;
  c->chunk_offset = (uint64_t)start;
  c->pos = 0;
  c->seen_data_page = false;
  c->has_dict = false;
  c->dict_n = 0;
  c->page_left = 0;
  c->page_offset = (uint64_t)start;
  c->lev_pos = c->lev_n = 0;
  return FLOE_OK;
}

int floe_parquet_reader_scan_open(floe_parquet_scan **out, floe_parquet_reader *r,
                                  const floe_parquet_scan_options *opt, floe_error *err) {
  *out = NULL;
  int rc = FLOE_OK;
  struct ArrowSchema schema = {0};
  floe_parquet_scan *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  s->r = r;
  floe_codec_ctx_init(&s->codec);
  floe_arena_init(&s->page_arena, 4096);
  s->batch_size = opt && opt->batch_size > 0 ? opt->batch_size : 65536;
  int32_t want = opt == NULL ? 0 : opt->field_ids ? opt->n_field_ids : opt->names ? opt->n_names : 0;
  bool all = opt == NULL || (opt->field_ids == NULL && opt->names == NULL);
  int32_t cap = all ? r->n_columns : want;
  s->cols = floe_calloc((size_t)(cap > 0 ? cap : 1), sizeof *s->cols);
  if (s->cols == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  if (all) {
    s->n_cols = select_all(r, s->cols);
    if (s->n_cols == 0 && r->n_columns > 0) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "%s: no readable columns: floe reads flat schemas, and every column "
                          "here is nested or of an unsupported type (first: '%s')",
                          r->name, r->columns[0].name);
      goto cleanup;
    }
  } else {
    for (int32_t i = 0; i < want; i++) {
      int32_t col = opt->field_ids ? floe_parquet_reader_find_field_id(r, opt->field_ids[i])
                                   : floe_parquet_reader_find_column(r, opt->names[i]);
      /* A nested group column, by its own field id or name. */
      for (int32_t k = 0; col < 0 && k < r->n_groups; k++)
        if (opt->field_ids ? r->groups[k].info.field_id == opt->field_ids[i] && opt->field_ids[i] >= 0
                           : strcmp(r->groups[k].info.name, opt->names[i]) == 0)
          col = r->n_columns + k;
      if (col >= r->n_columns) {
        s->cols[s->n_cols++] = col;
        continue;
      }
      if (col < 0) {
        rc = opt->field_ids
                 ? floe_error_set(err, FLOE_ENOTFOUND, "%s: no column with field id %" PRId32,
                                  r->name, opt->field_ids[i])
                 : floe_error_set(err, FLOE_ENOTFOUND, "%s: no column '%s'", r->name,
                                  opt->names[i]);
        goto cleanup;
      }
      if (r->extra[col].cv.kind == CV_NONE) {
        rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                            "%s: column '%s' is %s", r->name, r->columns[col].name,
                            r->columns[col].nested
                                ? "nested (only lists of primitives are supported: no maps, "
                                  "structs or lists in lists)"
                                : "of an unsupported type");
        goto cleanup;
      }
      s->cols[s->n_cols++] = col;
    }
  }
  int32_t n_rg = opt && opt->row_groups ? opt->n_row_groups : r->meta.n_row_groups;
  s->row_groups = floe_calloc((size_t)(n_rg > 0 ? n_rg : 1), sizeof *s->row_groups);
  if (s->row_groups == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int32_t i = 0; i < n_rg; i++) {
    int32_t g = opt && opt->row_groups ? opt->row_groups[i] : i;
    if (g < 0 || g >= r->meta.n_row_groups) {
      rc = floe_error_set(err, FLOE_EINVAL, "%s: no row group %" PRId32 " (the file has %" PRId32 ")",
                          r->name, g, r->meta.n_row_groups);
      goto cleanup;
    }
    s->row_groups[i] = g;
  }
  s->n_row_groups = n_rg;
  s->rg_pos = -1;
  FLOE_TRY(schema_for(r, s->cols, s->n_cols, &schema, err));
  FLOE_TRY(floe_arrow_batch_builder_init(&s->bb, &schema, err));
  s->cs = floe_calloc((size_t)(s->n_cols ? s->n_cols : 1), sizeof *s->cs);
  if (s->cs == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  int64_t row_bytes = 1;
  for (int32_t i = 0; i < s->n_cols; i++) {
    if (s->cols[i] >= r->n_columns) {
      const nest_group *grp = &r->groups[s->cols[i] - r->n_columns];
      for (int32_t k = 0; k < grp->n_leaves; k++) {
        const conv *cv = &r->extra[grp->leaves[k]].leaf_cv;
        row_bytes += 8 + (cv->kind == CV_VARLEN ? 4 : cv->out_w ? cv->out_w : 1);
      }
      continue;
    }
    const conv *cv = &r->extra[s->cols[i]].cv;
    row_bytes += cv->kind == CV_VARLEN ? 4 : cv->out_w ? cv->out_w : 1;
    if (r->columns[s->cols[i]].arrow_type.id == FLOE_ARROW_LIST) row_bytes += 4;
  }
  if (s->batch_size > MAX_BATCH_FIXED_BYTES / row_bytes)
    s->batch_size = MAX_BATCH_FIXED_BYTES / row_bytes > 0 ? MAX_BATCH_FIXED_BYTES / row_bytes : 1;
  for (int32_t i = 0; i < s->n_cols; i++) {
    col_scan *c = &s->cs[i];
    c->group = -1;
    if (s->cols[i] >= r->n_columns) {
      c->column = -1;
      c->info = col_info(r, s->cols[i]);
      c->b = &s->bb.columns[i];
      if (floe_arrow_schema_copy(&c->field, schema.children[i]) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
      if ((rc = group_scan_init(r, c, s->cols[i] - r->n_columns, err)) < 0) goto cleanup;
      continue;
    }
    c->column = s->cols[i];
    c->info = &r->columns[c->column];
    c->cv = r->extra[c->column].cv;
    c->b = &s->bb.columns[i];
    if (c->info->arrow_type.id == FLOE_ARROW_LIST) {
      c->is_list = true;
      c->lb = c->b;
      c->b = c->lb->child;
    }
    size_t w = (size_t)(c->cv.phys_w > 16 ? c->cv.phys_w : 16);
    if (floe_buf_reserve(&c->scratch, SLICE * w + 16) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
cleanup:
  floe_arrow_schema_release(&schema);
  if (rc < 0) {
    floe_parquet_reader_scan_free(s);
    return rc;
  }
  *out = s;
  return FLOE_OK;
}

int floe_parquet_reader_scan_schema(const floe_parquet_scan *s, struct ArrowSchema *out,
                                    floe_error *err) {
  return schema_for(s->r, s->cols, s->n_cols, out, err);
}

int floe_parquet_reader_scan_next(floe_parquet_scan *s, struct ArrowArray *out,
                                  int64_t *out_first_row, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (out_first_row) *out_first_row = -1;
  floe_parquet_reader *r = s->r;
  int rc;
  while (s->rows_left == 0) {
    if (s->rg_pos + 1 >= s->n_row_groups) return FLOE_OK;
    s->rg_pos++;
    int32_t g = s->row_groups[s->rg_pos];
    s->rows_left = r->meta.row_groups[g].num_rows;
    s->next_row = r->rg_first_row[g];
    for (int32_t i = 0; i < s->n_cols && s->rows_left > 0; i++) {
      if ((rc = load_chunk(s, &s->cs[i], g, err)) < 0) {
        s->rows_left = 0; /* errors are final */
        s->rg_pos = s->n_row_groups;
        return floe_error_prefix(err, "%s: row group %" PRId32 ", column '%s'", r->name, g,
                                 s->cs[i].info->name),
               rc;
      }
    }
  }
  int32_t g = s->row_groups[s->rg_pos];
  int64_t n = s->rows_left < s->batch_size ? s->rows_left : s->batch_size;
  for (int32_t i = 0; i < s->n_cols; i++) {
    col_scan *c = &s->cs[i];
    rc = c->group >= 0 ? read_group_rows(c, s, n, err)
         : c->is_list    ? read_list_rows(c, s, n, err)
                         : read_rows(c, s, n, err);
    if (rc < 0) {
      s->rows_left = 0; /* the row group cannot be resumed */
      s->rg_pos = s->n_row_groups;
      for (int32_t j = 0; j < s->n_cols; j++) {
        if (s->cs[j].group >= 0) {
          col_scan *gc = &s->cs[j];
          floe_arrow_builder_free(gc->b);
          floe_arrow_builder_init_schema(gc->b, &gc->field, NULL);
          for (int32_t k = 0; k < gc->n_subs; k++) {
            floe_arrow_type_info t = gc->subs[k].b->type;
            floe_arrow_builder_free(gc->subs[k].b);
            floe_arrow_builder_init(gc->subs[k].b, &t);
            floe_arrow_array_release(&gc->subs[k].stage);
          }
          continue;
        }
        /* Drop the partial batch; the builders stay usable. */
        floe_arrow_builder *b = s->cs[j].is_list ? s->cs[j].b : &s->bb.columns[j];
        floe_arrow_type_info t = b->type;
        floe_arrow_builder_free(b);
        floe_arrow_builder_init(b, &t);
        if (s->cs[j].is_list) {
          b = s->cs[j].lb;
          floe_free(b->validity);
          b->validity = NULL;
          b->validity_cap = 0;
          b->length = b->null_count = 0;
        }
      }
      return floe_error_prefix(err, "%s: row group %" PRId32 ", column '%s', page at offset %" PRIu64,
                               r->name, g, c->info->name, c->page_offset),
             rc;
    }
  }
  if (s->n_cols == 0) {
    if (floe_arrow_struct_from_children(out, NULL, 0, n) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  } else if ((rc = floe_arrow_batch_builder_finish(&s->bb, out, err)) < 0) {
    return rc;
  }
  if (out_first_row) *out_first_row = s->next_row;
  s->next_row += n;
  s->rows_left -= n;
  return FLOE_OK;
}

void floe_parquet_reader_scan_free(floe_parquet_scan *s) {
  if (s == NULL) return;
  for (int32_t i = 0; s->cs != NULL && i < s->n_cols; i++) col_scan_free(&s->cs[i]);
  floe_free(s->cs);
  floe_arrow_batch_builder_free(&s->bb);
  floe_codec_ctx_free(&s->codec);
  floe_arena_free(&s->page_arena);
  floe_free(s->cols);
  floe_free(s->row_groups);
  floe_free(s);
}
