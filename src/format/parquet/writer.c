/*
 * format/parquet/writer: floe's streaming Parquet writer for Iceberg schemas
 * of primitives, structs, lists and maps nested to any depth
 * (include/floe/parquet_writer.h).
 *
 * Nested columns are shredded into one Parquet column per leaf (Dremel;
 * parquet-format README "Nested Encoding"): a struct is a group, a list the
 * standard 3-level form `<opt|req> group <name> (LIST) { repeated group
 * list { <opt|req> ... element; } }`, a map `<opt|req> group <name> (MAP) {
 * repeated group key_value { required ... key; <opt|req> ... value; } }`
 * (parquet-format LogicalTypes.md, "Lists" and "Maps"), with the Iceberg
 * field id on every group and leaf (list element-id on "element", key-id
 * and value-id on "key" and "value"). Each leaf knows the path of levels
 * above it; per row it walks the Arrow views down that path and emits
 * (repetition, definition, value) entries: an optional level adds one to
 * the definition level when present, a list or map one more per entry and
 * one to the repetition level of every entry after a list's first. A null
 * (or empty) level emits one entry at the definition level reached. Pages
 * are cut only between rows, so no row spans two pages.
 *
 * Shape: each column keeps one page under construction (definition levels,
 * and either PLAIN values or dictionary indices) and the finished,
 * compressed data pages of its current column chunk. A page is cut, encoded
 * and compressed as soon as it reaches page_bytes, so a row group costs
 * about its compressed size in memory; when the columns together reach
 * row_group_bytes the row group goes to the sink: per column the dictionary
 * page (if any) and then its data pages, which is why data pages are held
 * back until the dictionary is final.
 *
 * Whether the page is full is asked before every value, but answered per
 * run: a run of up to 4096 values that provably cannot reach any limit
 * (run_fits bounds each term of page_full by its largest growth) goes
 * unchecked, the values near a page's end are checked one by one, and the
 * bulk copy of PLAIN fixed-width values stops where the per-value check
 * would. So pages end at the same value whatever the batch boundaries,
 * and the cost of the check is per run, not per value.
 *
 * Dictionary policy, per column chunk (as parquet-mr does): start with
 * RLE_DICTIONARY; when the first page is cut, keep the dictionary only if
 * dictionary + indices are smaller than PLAIN would be (otherwise the page
 * is re-encoded PLAIN and the chunk stays PLAIN: a column of unique ids
 * costs one page of hashing per row group); when the dictionary outgrows
 * dictionary_page_bytes, cut the page and write the rest of the chunk
 * PLAIN. Pages are data page v1 (parquet-format: DataPageHeader), the
 * format every reader supports.
 *
 * Statistics follow each type's sort order (parquet-format: "Statistics",
 * ColumnOrder TYPE_ORDER): signed for integers, decimals, dates, times and
 * timestamps; unsigned byte-wise for strings, binary, uuid and fixed;
 * floats ignore NaN and write -0.0 as a zero minimum and +0.0 as a zero
 * maximum. Dictionary-encoded values update min/max only when they enter
 * the dictionary. The same per-file statistics become Iceberg's bounds on
 * close (Iceberg spec: Appendix D, and truncate(16) metrics mode).
 *
 * A batch is validated before any of it is encoded (nulls in required
 * columns, decimals beyond their precision), so a rejected batch leaves the
 * writer as it was; an I/O or allocation failure midway poisons the writer,
 * and close then refuses to write a footer over a half-written row group.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/compress.h"
#include "core/truncate.h"
#include "floe/parquet_writer.h"
#include "format/parquet/encode.h"
#include "format/parquet/parquet_meta.h"

#define FLOE_PARQUET_CREATED_BY "floe version 0.1.0"

#define FLOE_TRY_RETURN(expr)  \
  do {                         \
    int rc_ = (expr);          \
    if (rc_ < 0) return rc_;   \
  } while (0)

typedef enum {
  K_BOOL,
  K_I32,
  K_I64,
  K_F32,
  K_F64,
  K_FLBA,
  K_BA
} phys_kind;

/* min/max/null/NaN counts of a chunk or a whole file. */
typedef struct col_stats {
  bool has_minmax;
  int64_t min_i, max_i;        /* BOOL, I32, I64 */
  double min_d, max_d;         /* F32, F64 */
  floe_int128 min_dec, max_dec; /* decimals stored as FLBA */
  floe_buf min_b, max_b;       /* BA and non-decimal FLBA */
  int64_t null_count;
  int64_t nan_count;
  int64_t value_count; /* including nulls */
} col_stats;

typedef struct pq_col {
  char *name;
  int32_t field_id;
  floe_arrow_type_info type;
  bool nullable;
  phys_kind kind;
  pq_type ptype;
  int32_t width;   /* bytes per PLAIN value for fixed widths (FLBA: L) */
  bool is_decimal; /* Arrow decimal128 input */
  /* nested leaf: the levels from its top-level column down to the leaf
   * (the last level is the leaf itself), its path in the Parquet schema
   * and the views of the batch being written at each level */
  bool is_list;     /* nested: a leaf below a struct, list or map */
  bool under_repeated; /* a list or map above (no bounds in metrics) */
  int32_t top;      /* index of its top-level column */
  int n_levels;
  struct pq_level *levels;
  floe_arrow_view *vstack;
  char **path;
  int n_path;
  char *list_name;  /* dotted path, for messages */
  int max_def;      /* flat: 1 when nullable */
  int max_rep;
  uint8_t *reps;    /* nested: repetition level per level entry */
  size_t reps_cap;
  floe_int128 decimal_limit; /* 10^precision */

  /* dictionary state of the current chunk */
  bool dict_allowed;
  bool dict_on;      /* the page under construction is dictionary-encoded */
  bool dict_checked; /* the pay-off check ran for this chunk */
  bool dict_used;    /* some data page of the chunk refers to dict */
  bool dict_full;    /* cut the page and fall back after this value */
  pq_dict dict;

  /* page under construction */
  floe_buf values;   /* PLAIN values */
  uint32_t *indices; /* dictionary indices of the non-null values */
  size_t indices_cap;
  uint8_t *defs;     /* definition level per value (optional columns) */
  size_t defs_cap;
  int64_t page_n;        /* values including nulls */
  int64_t page_nonnull;
  int64_t page_plain;    /* PLAIN size of the page's non-null values */
  int64_t page_limit;    /* cut when page_est reaches this */

  /* current column chunk */
  floe_buf chunk;              /* data pages: header + compressed body */
  int64_t chunk_uncompressed;  /* data pages: header + uncompressed body */
  int64_t chunk_values;
  bool chunk_plain_pages;
  col_stats chunk_stats;

  /* whole file */
  col_stats file_stats;
  int64_t file_column_size;
} pq_col;

/* One level on the way from a top-level column to a leaf. */
typedef struct pq_level {
  floe_arrow_type kind; /* STRUCT, LIST, MAP or (last level) the leaf's */
  bool nullable;
  int32_t child;        /* STRUCT: field index on the way; MAP: 0 key, 1 value */
  uint8_t def_present;  /* definition level when this level is not null */
  uint8_t def_entry;    /* LIST/MAP: definition level of an entry */
  uint8_t rep_entry;    /* LIST/MAP: repetition level of entries after the first */
  uint8_t path_len;     /* names of the leaf's path up to this level's own */
} pq_level;

struct floe_parquet_writer {
  floe_parquet_writer_options options;
  char *created_by;
  char **keys, **values;
  struct ArrowSchema schema;
  int32_t n_top; /* top-level columns (children of the schema) */
  int32_t n_cols; /* leaf columns */
  pq_col *cols;
  floe_parquet_sink sink;
  FILE *file;
  floe_codec codec;
  floe_codec_ctx codec_ctx;
  int64_t offset;     /* bytes written to the sink */
  int64_t rows;       /* rows accepted */
  int64_t group_rows; /* rows in the buffered row group */
  int64_t group_rows_hint; /* rows per slice while filling a row group */
  floe_arena arena;   /* footer metadata of finished row groups */
  pq_row_group *groups;
  int32_t n_groups, groups_cap;
  floe_buf page_buf, comp_buf, header_buf;
  bool failed;
  bool closed;
};

/* ---- options, metrics --------------------------------------------------- */

void floe_parquet_writer_options_init(floe_parquet_writer_options *options) {
  memset(options, 0, sizeof *options);
  options->compression = FLOE_PARQUET_ZSTD;
  options->compression_level = 0; /* codec default */
  options->row_group_bytes = 128 * 1024 * 1024;
  options->page_bytes = 1024 * 1024;
  options->dictionary_page_bytes = 1024 * 1024;
  options->dictionary = true;
  options->truncate_length = 16;
  options->created_by = NULL;
}

void floe_parquet_file_metrics_free(floe_parquet_file_metrics *metrics) {
  if (metrics == NULL) return;
  for (int32_t i = 0; i < metrics->n_columns; i++) {
    floe_free(metrics->columns[i].lower_bound);
    floe_free(metrics->columns[i].upper_bound);
  }
  floe_free(metrics->columns);
  floe_free(metrics->split_offsets);
  memset(metrics, 0, sizeof *metrics);
}

/* ---- statistics ---------------------------------------------------------- */

static void stats_free(col_stats *s) {
  floe_buf_free(&s->min_b);
  floe_buf_free(&s->max_b);
}

static void stats_reset(col_stats *s) {
  s->has_minmax = false;
  s->null_count = s->nan_count = s->value_count = 0;
  floe_buf_reset(&s->min_b);
  floe_buf_reset(&s->max_b);
}

/* Unsigned byte-wise order; a prefix sorts first. */
static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n > 0 ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static inline void stats_int(col_stats *s, int64_t v) {
  if (!s->has_minmax) {
    s->min_i = s->max_i = v;
    s->has_minmax = true;
    return;
  }
  if (v < s->min_i) s->min_i = v;
  if (v > s->max_i) s->max_i = v;
}

static inline void stats_double(col_stats *s, double v) {
  if (v != v) {
    s->nan_count++;
    return;
  }
  if (!s->has_minmax) {
    s->min_d = s->max_d = v;
    s->has_minmax = true;
    return;
  }
  if (v < s->min_d) s->min_d = v;
  if (v > s->max_d) s->max_d = v;
}

static inline void stats_dec(col_stats *s, floe_int128 v) {
  if (!s->has_minmax) {
    s->min_dec = s->max_dec = v;
    s->has_minmax = true;
    return;
  }
  if (v < s->min_dec) s->min_dec = v;
  if (v > s->max_dec) s->max_dec = v;
}

static int stats_bytes(col_stats *s, const uint8_t *p, size_t n) {
  if (!s->has_minmax) {
    floe_buf_reset(&s->min_b);
    floe_buf_reset(&s->max_b);
    if (floe_buf_append(&s->min_b, p, n) < 0 ||
        floe_buf_append(&s->max_b, p, n) < 0)
      return FLOE_ENOMEM;
    s->has_minmax = true;
    return FLOE_OK;
  }
  if (bytes_cmp(p, n, s->min_b.data, s->min_b.len) < 0) {
    floe_buf_reset(&s->min_b);
    if (floe_buf_append(&s->min_b, p, n) < 0) return FLOE_ENOMEM;
  }
  if (bytes_cmp(p, n, s->max_b.data, s->max_b.len) > 0) {
    floe_buf_reset(&s->max_b);
    if (floe_buf_append(&s->max_b, p, n) < 0) return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

/* Folds chunk statistics into the file's. */
static int stats_merge(const pq_col *c, col_stats *into, const col_stats *from) {
  into->null_count += from->null_count;
  into->nan_count += from->nan_count;
  into->value_count += from->value_count;
  if (!from->has_minmax) return FLOE_OK;
  switch (c->kind) {
    case K_BOOL:
    case K_I32:
    case K_I64:
      stats_int(into, from->min_i);
      stats_int(into, from->max_i);
      return FLOE_OK;
    case K_F32:
    case K_F64: {
      int64_t nans = into->nan_count;
      stats_double(into, from->min_d);
      stats_double(into, from->max_d);
      into->nan_count = nans;
      return FLOE_OK;
    }
    case K_FLBA:
    case K_BA:
      if (c->is_decimal) {
        stats_dec(into, from->min_dec);
        stats_dec(into, from->max_dec);
        return FLOE_OK;
      }
      if (stats_bytes(into, from->min_b.data, from->min_b.len) < 0 ||
          stats_bytes(into, from->max_b.data, from->max_b.len) < 0)
        return FLOE_ENOMEM;
      return FLOE_OK;
  }
  return FLOE_OK;
}

/* Big-endian two's complement of v in n bytes (n <= 16). */
static void int128_to_be(floe_int128 v, int32_t n, uint8_t *out) {
  unsigned __int128 u = (unsigned __int128)v;
  for (int32_t i = n - 1; i >= 0; i--) {
    out[i] = (uint8_t)u;
    u >>= 8;
  }
}

/* Bytes of the shortest two's-complement form of v (Java's
 * BigInteger.toByteArray, as Iceberg Appendix D asks for decimals). */
static int32_t int128_min_bytes(floe_int128 v) {
  for (int32_t n = 1; n < 16; n++) {
    floe_int128 lim = (floe_int128)1 << (8 * n - 1);
    if (v >= -lim && v < lim) return n;
  }
  return 16;
}

/* The PLAIN bytes of a statistic as Parquet stores it: out holds >= 16
 * bytes, or for byte strings *ptr points at them. */
static size_t stat_value(const pq_col *c, const col_stats *s, bool max,
                         uint8_t *out, const uint8_t **ptr) {
  *ptr = out;
  switch (c->kind) {
    case K_BOOL:
      out[0] = (uint8_t)(max ? s->max_i : s->min_i);
      return 1;
    case K_I32:
      floe_store_u32le(out, (uint32_t)(int32_t)(max ? s->max_i : s->min_i));
      return 4;
    case K_I64:
      floe_store_u64le(out, (uint64_t)(max ? s->max_i : s->min_i));
      return 8;
    case K_F32:
    case K_F64: {
      double d = max ? s->max_d : s->min_d;
      /* parquet-format Statistics: a zero minimum is written as -0.0, a
       * zero maximum as +0.0. */
      if (d == 0) d = max ? 0.0 : -0.0;
      if (c->kind == K_F32) {
        float f = (float)d;
        memcpy(out, &f, 4);
        return 4;
      }
      memcpy(out, &d, 8);
      return 8;
    }
    case K_FLBA:
    case K_BA:
      if (c->is_decimal) {
        int128_to_be(max ? s->max_dec : s->min_dec, c->width, out);
        return (size_t)c->width;
      }
      *ptr = max ? s->max_b.data : s->min_b.data;
      return max ? s->max_b.len : s->min_b.len;
  }
  return 0;
}

/* ---- schema mapping ------------------------------------------------------ */

/* Smallest FIXED_LEN_BYTE_ARRAY that holds every precision-digit decimal
 * (parquet-format LogicalTypes.md: DECIMAL). */
static int32_t decimal_flba_width(int32_t precision) {
  for (int32_t n = 1; n <= 16; n++) {
    /* largest value in n bytes: 2^(8n-1) - 1 >= 10^p - 1 */
    double max_digits = floor(log10(pow(2.0, 8.0 * n - 1) - 1));
    if (max_digits >= precision) return n;
  }
  return 16;
}

static int map_column(pq_col *c, const struct ArrowSchema *field,
                      const floe_parquet_writer_options *options,
                      floe_error *err) {
  int rc = floe_arrow_schema_type(field, &c->type, err);
  if (rc < 0) return rc;
  c->nullable = (field->flags & ARROW_FLAG_NULLABLE) != 0;
  c->field_id = floe_arrow_schema_field_id(field);
  c->max_def = c->nullable ? 1 : 0;
  c->name = floe_strdup(field->name != NULL ? field->name : "");
  if (c->name == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  c->dict_allowed = options->dictionary;
  switch (c->type.id) {
    case FLOE_ARROW_BOOL:
      c->kind = K_BOOL, c->ptype = PQ_BOOLEAN, c->width = 0;
      c->dict_allowed = false;
      break;
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32:
      c->kind = K_I32, c->ptype = PQ_INT32, c->width = 4;
      break;
    case FLOE_ARROW_INT64:
    case FLOE_ARROW_TIME64_US:
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
      c->kind = K_I64, c->ptype = PQ_INT64, c->width = 8;
      break;
    case FLOE_ARROW_FLOAT:
      c->kind = K_F32, c->ptype = PQ_FLOAT, c->width = 4;
      break;
    case FLOE_ARROW_DOUBLE:
      c->kind = K_F64, c->ptype = PQ_DOUBLE, c->width = 8;
      break;
    case FLOE_ARROW_DECIMAL128:
      if (c->type.precision < 1 || c->type.precision > 38 ||
          c->type.scale < 0 || c->type.scale > c->type.precision)
        return floe_error_set(err, FLOE_EINVAL,
                              "column '%s': invalid decimal(%d,%d)", c->name,
                              c->type.precision, c->type.scale);
      c->is_decimal = true;
      c->decimal_limit = floe_int128_pow10(c->type.precision);
      if (c->type.precision <= 9) {
        c->kind = K_I32, c->ptype = PQ_INT32, c->width = 4;
      } else if (c->type.precision <= 18) {
        c->kind = K_I64, c->ptype = PQ_INT64, c->width = 8;
      } else {
        c->kind = K_FLBA, c->ptype = PQ_FIXED_LEN_BYTE_ARRAY;
        c->width = decimal_flba_width(c->type.precision);
      }
      break;
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
      c->kind = K_BA, c->ptype = PQ_BYTE_ARRAY, c->width = 0;
      break;
    case FLOE_ARROW_UUID:
      if (c->type.byte_width != 16)
        return floe_error_set(err, FLOE_EINVAL,
                              "column '%s': uuid must be 16 bytes wide, not %d",
                              c->name, c->type.byte_width);
      c->kind = K_FLBA, c->ptype = PQ_FIXED_LEN_BYTE_ARRAY, c->width = 16;
      break;
    case FLOE_ARROW_FIXED:
      if (c->type.byte_width < 1)
        return floe_error_set(err, FLOE_EINVAL,
                              "column '%s': fixed width %d is not positive",
                              c->name, c->type.byte_width);
      c->kind = K_FLBA, c->ptype = PQ_FIXED_LEN_BYTE_ARRAY;
      c->width = c->type.byte_width;
      break;
    default: {
      char tname[64];
      floe_arrow_type_name(&c->type, tname, sizeof tname);
      return floe_error_set(err, FLOE_EUNSUPPORTED,
                            "column '%s': type %s cannot be written to Parquet "
                            "by floe (flat Iceberg primitives only)",
                            c->name, tname);
    }
  }
  int32_t dict_width = c->kind == K_BA ? 0 : c->width;
  pq_dict_init(&c->dict, dict_width);
  c->dict_on = c->dict_allowed;
  return FLOE_OK;
}

/* Fills a leaf SchemaElement (Iceberg spec: Parquet type mapping). */
static void schema_element(const pq_col *c, pq_schema_element *e) {
  memset(e, 0, sizeof *e);
  e->name = c->name;
  e->has_type = true;
  e->type = c->ptype;
  e->has_repetition = true;
  e->repetition = c->nullable ? PQ_OPTIONAL : PQ_REQUIRED;
  if (c->field_id >= 0) {
    e->has_field_id = true;
    e->field_id = c->field_id;
  }
  if (c->kind == K_FLBA) {
    e->has_type_length = true;
    e->type_length = c->width;
  }
  pq_logical_type *lt = &e->logical_type;
  switch (c->type.id) {
    case FLOE_ARROW_UTF8:
      e->has_logical_type = true, lt->kind = PQ_LT_STRING;
      e->has_converted_type = true, e->converted_type = PQ_CT_UTF8;
      break;
    case FLOE_ARROW_DECIMAL128:
      e->has_logical_type = true, lt->kind = PQ_LT_DECIMAL;
      lt->decimal_precision = c->type.precision;
      lt->decimal_scale = c->type.scale;
      e->has_converted_type = true, e->converted_type = PQ_CT_DECIMAL;
      e->has_scale = e->has_precision = true;
      e->scale = c->type.scale;
      e->precision = c->type.precision;
      break;
    case FLOE_ARROW_DATE32:
      e->has_logical_type = true, lt->kind = PQ_LT_DATE;
      e->has_converted_type = true, e->converted_type = PQ_CT_DATE;
      break;
    case FLOE_ARROW_TIME64_US:
      e->has_logical_type = true, lt->kind = PQ_LT_TIME;
      lt->is_adjusted_to_utc = false, lt->unit = PQ_UNIT_MICROS;
      e->has_converted_type = true, e->converted_type = PQ_CT_TIME_MICROS;
      break;
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
      e->has_logical_type = true, lt->kind = PQ_LT_TIMESTAMP;
      lt->is_adjusted_to_utc = c->type.id == FLOE_ARROW_TIMESTAMP_US_TZ;
      lt->unit = PQ_UNIT_MICROS;
      e->has_converted_type = true;
      e->converted_type = PQ_CT_TIMESTAMP_MICROS;
      break;
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
      e->has_logical_type = true, lt->kind = PQ_LT_TIMESTAMP;
      lt->is_adjusted_to_utc = c->type.id == FLOE_ARROW_TIMESTAMP_NS_TZ;
      lt->unit = PQ_UNIT_NANOS;
      break;
    case FLOE_ARROW_UUID:
      e->has_logical_type = true, lt->kind = PQ_LT_UUID;
      break;
    default:
      break;
  }
}

/* Number of Parquet schema elements of Arrow field `f` (groups and
 * leaves), and of its leaves. */
static int32_t count_elements(const struct ArrowSchema *f, int32_t *leaves) {
  const char *fmt = f->format != NULL ? f->format : "";
  if (strcmp(fmt, "+s") == 0) {
    int32_t n = 1;
    for (int64_t i = 0; i < f->n_children; i++) n += count_elements(f->children[i], leaves);
    return n;
  }
  if (strcmp(fmt, "+l") == 0) return 2 + count_elements(f->children[0], leaves);
  if (strcmp(fmt, "+m") == 0) {
    const struct ArrowSchema *e = f->children[0];
    return 2 + count_elements(e->children[0], leaves) + count_elements(e->children[1], leaves);
  }
  (*leaves)++;
  return 1;
}

static void group_element(pq_schema_element *e, const char *name, pq_repetition repetition,
                          int32_t n_children, int32_t field_id) {
  memset(e, 0, sizeof *e);
  e->name = name;
  e->has_repetition = true;
  e->repetition = repetition;
  e->has_num_children = true;
  e->num_children = n_children;
  if (field_id >= 0) {
    e->has_field_id = true;
    e->field_id = field_id;
  }
}

static void schema_element(const pq_col *c, pq_schema_element *e);

/* Emits the schema elements of Arrow field `f` (named `name`, forced
 * required when `required`) depth first at schema[*at]; leaves take the
 * next pq_cols in order (*leaf). Parquet LogicalTypes.md: LIST outer group
 * with a repeated group "list" of one "element"; MAP outer group with a
 * repeated group "key_value" of a required "key" and a "value". */
static void emit_elements(const floe_parquet_writer *w, const struct ArrowSchema *f,
                          const char *name, bool required, pq_schema_element *schema,
                          int32_t *at, int32_t *leaf) {
  const char *fmt = f->format != NULL ? f->format : "";
  pq_repetition r =
      !required && (f->flags & ARROW_FLAG_NULLABLE) != 0 ? PQ_OPTIONAL : PQ_REQUIRED;
  int32_t id = floe_arrow_schema_field_id(f);
  if (strcmp(fmt, "+s") == 0) {
    group_element(&schema[(*at)++], name, r, (int32_t)f->n_children, id);
    for (int64_t i = 0; i < f->n_children; i++)
      emit_elements(w, f->children[i], f->children[i]->name ? f->children[i]->name : "", false,
                    schema, at, leaf);
    return;
  }
  if (strcmp(fmt, "+l") == 0 || strcmp(fmt, "+m") == 0) {
    bool map = fmt[1] == 'm';
    pq_schema_element *outer = &schema[(*at)++];
    group_element(outer, name, r, 1, id);
    outer->has_converted_type = true;
    outer->converted_type = map ? PQ_CT_MAP : PQ_CT_LIST;
    outer->has_logical_type = true;
    outer->logical_type.kind = map ? PQ_LT_MAP : PQ_LT_LIST;
    group_element(&schema[(*at)++], map ? "key_value" : "list", PQ_REPEATED, map ? 2 : 1, -1);
    if (map) {
      const struct ArrowSchema *e = f->children[0];
      emit_elements(w, e->children[0], "key", true, schema, at, leaf);
      emit_elements(w, e->children[1], "value", false, schema, at, leaf);
    } else {
      emit_elements(w, f->children[0], "element", false, schema, at, leaf);
    }
    return;
  }
  pq_schema_element *e = &schema[(*at)++];
  schema_element(&w->cols[(*leaf)++], e);
  e->name = name;
}

/* ---- output -------------------------------------------------------------- */

static int sink_write(floe_parquet_writer *w, const void *data, size_t n,
                      floe_error *err) {
  if (n == 0) return FLOE_OK;
  int rc = w->sink.write(w->sink.ctx, data, n, err);
  if (rc < 0) {
    w->failed = true;
    return rc;
  }
  w->offset += (int64_t)n;
  return FLOE_OK;
}

static int file_sink_write(void *ctx, const void *data, size_t n,
                           floe_error *err) {
  FILE *f = ctx;
  if (fwrite(data, 1, n, f) != n)
    return floe_error_errno(err, errno, "parquet: write failed");
  return FLOE_OK;
}

/* Compresses body into w->comp_buf (or points at body when uncompressed). */
static int compress_body(floe_parquet_writer *w, const uint8_t *body, size_t n,
                         const uint8_t **out, size_t *out_len,
                         floe_error *err) {
  if (w->codec == FLOE_CODEC_NONE) {
    *out = body;
    *out_len = n;
    return FLOE_OK;
  }
  floe_buf_reset(&w->comp_buf);
  int rc = floe_compress(&w->codec_ctx, w->codec, body, n, &w->comp_buf, err);
  if (rc < 0) return rc;
  *out = w->comp_buf.data;
  *out_len = w->comp_buf.len;
  return FLOE_OK;
}

/* ---- pages ----------------------------------------------------------------- */

static int nomem(floe_parquet_writer *w, floe_error *err) {
  w->failed = true;
  return floe_error_set(err, FLOE_ENOMEM, "parquet writer: out of memory");
}

/* PLAIN-encodes the dictionary-encoded values of the page (the dictionary
 * did not pay) into c->values. */
static int reencode_plain(pq_col *c) {
  floe_buf_reset(&c->values);
  if (c->dict.width > 0 && c->dict.width <= 8) {
    size_t w = (size_t)c->dict.width;
    if (floe_buf_reserve(&c->values, (size_t)c->page_nonnull * w) < 0) return FLOE_ENOMEM;
    for (int64_t i = 0; i < c->page_nonnull; i++)
      floe_buf_put(&c->values, c->dict.plain.data + (size_t)c->indices[i] * w, w);
    return FLOE_OK;
  }
  for (int64_t i = 0; i < c->page_nonnull; i++) {
    size_t len;
    uint32_t idx = c->indices[i];
    const uint8_t *p = pq_dict_entry(&c->dict, idx, &len);
    if (c->dict.width == 0) {
      if (floe_buf_append_u32le(&c->values, (uint32_t)len) < 0)
        return FLOE_ENOMEM;
    }
    if (floe_buf_append(&c->values, p, len) < 0) return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

/* Encodes, compresses and stores the page under construction. */
static int cut_page(floe_parquet_writer *w, pq_col *c, floe_error *err) {
  int rc;
  if (c->page_n == 0) return FLOE_OK;
  if (c->dict_on && !c->dict_checked) {
    /* parquet-mr's rule: keep the dictionary only if it beats PLAIN on the
     * first page. */
    c->dict_checked = true;
    int bw = pq_bit_width(c->dict.count > 0 ? c->dict.count - 1 : 0);
    int64_t dict_cost = (int64_t)c->dict.plain.len +
                        (c->page_nonnull * (bw > 0 ? bw : 1) + 7) / 8;
    if (dict_cost >= c->page_plain) {
      if (reencode_plain(c) < 0) return nomem(w, err);
      c->dict_on = false;
      c->dict_full = false;
      pq_dict_clear(&c->dict);
    }
  }

  floe_buf *page = &w->page_buf;
  floe_buf_reset(page);
  if (c->is_list) {
    /* Data page v1: repetition levels (when some level repeats), then
     * definition levels (when some level is optional or repeated), each an
     * RLE run with a 4-byte length (parquet-format Encodings.md). */
    size_t at = 0;
    if (c->max_rep > 0) {
      if (floe_buf_resize(page, 4) < 0 ||
          pq_rle_encode_u8(c->reps, (size_t)c->page_n, pq_bit_width((uint32_t)c->max_rep),
                           page) < 0)
        return nomem(w, err);
      floe_store_u32le(page->data, (uint32_t)(page->len - 4));
      at = page->len;
    }
    if (c->max_def > 0) {
      if (floe_buf_resize(page, at + 4) < 0 ||
          pq_rle_encode_u8(c->defs, (size_t)c->page_n, pq_bit_width((uint32_t)c->max_def),
                           page) < 0)
        return nomem(w, err);
      floe_store_u32le(page->data + at, (uint32_t)(page->len - at - 4));
    }
  } else if (c->nullable) {
    if (floe_buf_resize(page, 4) < 0) return nomem(w, err);
    if (pq_rle_encode_u8(c->defs, (size_t)c->page_n, 1, page) < 0)
      return nomem(w, err);
    floe_store_u32le(page->data, (uint32_t)(page->len - 4));
  }
  pq_encoding encoding;
  if (c->dict_on) {
    int bw = pq_bit_width(c->dict.count > 0 ? c->dict.count - 1 : 0);
    if (bw == 0) bw = 1;
    if (floe_buf_append_byte(page, (uint8_t)bw) < 0 ||
        pq_rle_encode_u32(c->indices, (size_t)c->page_nonnull, bw, page) < 0)
      return nomem(w, err);
    encoding = PQ_ENC_RLE_DICTIONARY;
    c->dict_used = true;
  } else {
    if (floe_buf_append(page, c->values.data, c->values.len) < 0)
      return nomem(w, err);
    encoding = PQ_ENC_PLAIN;
    c->chunk_plain_pages = true;
  }
  if (page->len > INT32_MAX)
    return floe_error_set(err, FLOE_ERANGE,
                          "column '%s': page of %zu bytes exceeds 2 GiB",
                          c->name, page->len);

  const uint8_t *body;
  size_t body_len;
  rc = compress_body(w, page->data, page->len, &body, &body_len, err);
  if (rc < 0) {
    w->failed = true;
    return floe_error_prefix(err, "column '%s'", c->name), rc;
  }
  pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = PQ_PAGE_DATA;
  h.uncompressed_page_size = (int32_t)page->len;
  h.compressed_page_size = (int32_t)body_len;
  h.has_data_page_header = true;
  h.data_page_header.num_values = (int32_t)c->page_n;
  h.data_page_header.encoding = encoding;
  h.data_page_header.definition_level_encoding = PQ_ENC_RLE;
  h.data_page_header.repetition_level_encoding = PQ_ENC_RLE;
  floe_buf_reset(&w->header_buf);
  if (pq_page_header_write(&h, &w->header_buf) < 0 ||
      floe_buf_append(&c->chunk, w->header_buf.data, w->header_buf.len) < 0 ||
      floe_buf_append(&c->chunk, body, body_len) < 0)
    return nomem(w, err);
  c->chunk_uncompressed += (int64_t)(w->header_buf.len + page->len);
  c->chunk_values += c->page_n;

  c->page_n = c->page_nonnull = c->page_plain = 0;
  floe_buf_reset(&c->values);
  if (c->dict_full) {
    c->dict_on = false;
    c->dict_full = false;
  }
  return FLOE_OK;
}

/* Estimated bytes of the page under construction. */
static inline int64_t page_estimate(const pq_col *c) {
  int64_t values;
  if (c->dict_on) {
    int bw = pq_bit_width(c->dict.count);
    values = (c->page_nonnull * (bw > 0 ? bw : 1) + 7) / 8;
  } else {
    values = (int64_t)c->values.len;
  }
  return values + (c->is_list ? c->page_n / 2 : c->nullable ? c->page_n / 8 : 0);
}

/* Whether the page under construction is full: page_bytes reached, or
 * MAX_PAGE_VALUES values (small values would otherwise make pages of
 * millions of values: bits of booleans, dictionary indices). */
#define MAX_PAGE_VALUES (1 << 18)
static inline bool page_full(const pq_col *c) {
  /* Until the dictionary has proved itself on the first page, that page may
   * still be re-encoded PLAIN, so it is also cut at its PLAIN size. */
  if (c->dict_on && !c->dict_checked && c->page_plain >= c->page_limit)
    return true;
  return c->page_n >= MAX_PAGE_VALUES || page_estimate(c) >= c->page_limit;
}

/* ---- encoding values --------------------------------------------------------- */

/* Grows a per-page array p (levels or dictionary indices) to hold at least
 * `want` entries of `size` bytes, by half again plus 64; *out is the array
 * to keep (p when it was large enough). FLOE_ENOMEM leaves p as it was. */
static int grow_array(void *p, size_t *cap, size_t want, size_t size, void **out) {
  *out = p;
  if (want <= *cap) return FLOE_OK;
  size_t n = want + want / 2 + 64;
  void *q = floe_realloc(p, n * size);
  if (q == NULL) return FLOE_ENOMEM;
  *out = q;
  *cap = n;
  return FLOE_OK;
}

/* Rows [r0, r1) of column c, already validated. The page buffers have room
 * for r1 - r0 more values (reserve_slice). */
static int reserve_slice(floe_parquet_writer *w, pq_col *c,
                         const floe_arrow_view *v, int64_t r0, int64_t r1,
                         floe_error *err) {
  size_t n = (size_t)(r1 - r0);
  size_t want = (size_t)c->page_n + n;
  void *grown;
  if (c->nullable) {
    if (grow_array(c->defs, &c->defs_cap, want, 1, &grown) < 0) return nomem(w, err);
    c->defs = grown;
  }
  if (c->dict_allowed) {
    if (grow_array(c->indices, &c->indices_cap, want, sizeof *c->indices, &grown) < 0)
      return nomem(w, err);
    c->indices = grown;
  }
  size_t bytes;
  if (c->kind == K_BOOL)
    bytes = n / 8 + 2;
  else if (c->kind == K_BA)
    bytes = n * 4 + (size_t)(v->offsets[v->offset + r1] - v->offsets[v->offset + r0]);
  else
    bytes = n * (size_t)c->width;
  if (floe_buf_reserve(&c->values, bytes) < 0) return nomem(w, err);
  return FLOE_OK;
}

static inline int64_t load_int(const pq_col *c, const floe_arrow_view *v,
                               int64_t i) {
  if (c->is_decimal) return (int64_t)floe_arrow_view_decimal(v, i);
  if (c->kind == K_I32) return floe_arrow_view_int32(v, i);
  return floe_arrow_view_int64(v, i);
}

static int dict_overflow_check(floe_parquet_writer *w, pq_col *c) {
  if ((int64_t)c->dict.plain.len > w->options.dictionary_page_bytes)
    c->dict_full = true;
  return FLOE_OK;
}

/* The hot path of PLAIN fixed-width columns without nulls in the slice:
 * copies values [i, r1) up to the page limit in bulk, with a min/max loop
 * the compiler can vectorise. Returns the next row. The page is not full
 * on entry and the buffers have room (reserve_slice). */
static int64_t plain_fixed_run(pq_col *c, const floe_arrow_view *v, int64_t i,
                               int64_t r1) {
  col_stats *st = &c->chunk_stats;
  /* As many values as page_full, asked before each of them, lets in: the
   * k-th (from 0) goes in while the page's estimate with k more values
   * (their bytes and, for a nullable column, their levels) is below the
   * limit. So the page ends at the same value however the rows arrive in
   * batches. */
  int64_t fit_lo = 0, fit_hi = MAX_PAGE_VALUES - c->page_n;
  if (fit_hi > r1 - i) fit_hi = r1 - i;
  while (fit_lo < fit_hi) { /* the largest count whose last value is let in */
    int64_t k = fit_lo + (fit_hi - fit_lo + 1) / 2;
    int64_t est = (int64_t)c->values.len + (k - 1) * c->width +
                  (c->nullable ? (c->page_n + k - 1) / 8 : 0);
    if (est < c->page_limit)
      fit_lo = k;
    else
      fit_hi = k - 1;
  }
  int64_t n = fit_lo;
  if (n <= 0) return i;
  if (c->nullable) memset(c->defs + c->page_n, 1, (size_t)n);
  uint8_t *dst = c->values.data + c->values.len;
  int64_t lo, hi;
  switch (c->kind) {
    case K_I32: {
      int32_t mn = INT32_MAX, mx = INT32_MIN;
      if (c->is_decimal) {
        for (int64_t k = 0; k < n; k++) {
          int32_t x = (int32_t)floe_arrow_view_decimal(v, i + k);
          memcpy(dst + 4 * k, &x, 4);
          mn = x < mn ? x : mn;
          mx = x > mx ? x : mx;
        }
      } else {
        const int32_t *src = (const int32_t *)(const void *)v->values + v->offset + i;
        memcpy(dst, src, (size_t)n * 4);
        for (int64_t k = 0; k < n; k++) {
          mn = src[k] < mn ? src[k] : mn;
          mx = src[k] > mx ? src[k] : mx;
        }
      }
      lo = mn, hi = mx;
      stats_int(st, lo);
      stats_int(st, hi);
      break;
    }
    case K_I64: {
      int64_t mn = INT64_MAX, mx = INT64_MIN;
      if (c->is_decimal) {
        for (int64_t k = 0; k < n; k++) {
          int64_t x = (int64_t)floe_arrow_view_decimal(v, i + k);
          memcpy(dst + 8 * k, &x, 8);
          mn = x < mn ? x : mn;
          mx = x > mx ? x : mx;
        }
      } else {
        const int64_t *src = (const int64_t *)(const void *)v->values + v->offset + i;
        memcpy(dst, src, (size_t)n * 8);
        for (int64_t k = 0; k < n; k++) {
          mn = src[k] < mn ? src[k] : mn;
          mx = src[k] > mx ? src[k] : mx;
        }
      }
      stats_int(st, mn);
      stats_int(st, mx);
      break;
    }
    case K_F32: {
      const float *src = (const float *)(const void *)v->values + v->offset + i;
      memcpy(dst, src, (size_t)n * 4);
      for (int64_t k = 0; k < n; k++) stats_double(st, src[k]);
      break;
    }
    case K_F64: {
      const double *src = (const double *)(const void *)v->values + v->offset + i;
      memcpy(dst, src, (size_t)n * 8);
      for (int64_t k = 0; k < n; k++) stats_double(st, src[k]);
      break;
    }
    default:
      break;
  }
  c->values.len += (size_t)n * (size_t)c->width;
  c->page_n += n;
  c->page_nonnull += n;
  c->page_plain += n * c->width;
  return i + n;
}

static inline int put_value(floe_parquet_writer *w, pq_col *c, const floe_arrow_view *v,
                            int64_t i, floe_error *err);

/* Whether k more values from row i can be appended without page_full
 * turning true before any of them: page_full's terms after the first
 * k - 1 of them, each bounded by its largest possible growth (one byte
 * array's 4 + length, a fixed width, one dictionary entry per value). All
 * terms only grow, so the bound at k - 1 covers every check before. */
static bool run_fits(const pq_col *c, const floe_arrow_view *v, int64_t i, int64_t k) {
  int64_t j = k - 1;
  if (c->page_n + j >= MAX_PAGE_VALUES) return false;
  int64_t plain_growth;
  if (c->kind == K_BA)
    plain_growth = 4 * j + (v->offsets[v->offset + i + j] - v->offsets[v->offset + i]);
  else if (c->kind == K_BOOL)
    plain_growth = j / 8 + 1;
  else
    plain_growth = j * c->width;
  int64_t levels = c->nullable ? (c->page_n + j) / 8 : 0;
  if (c->dict_on) {
    if (!c->dict_checked && c->page_plain + plain_growth >= c->page_limit) return false;
    int bw = pq_bit_width(c->dict.count + (uint32_t)j);
    int64_t values = ((c->page_nonnull + j) * (bw > 0 ? bw : 1) + 7) / 8;
    return values + levels < c->page_limit;
  }
  return (int64_t)c->values.len + plain_growth + levels < c->page_limit;
}

/* How many values from row i (up to r1) need no page_full check: the
 * largest of 4096, 2048, ... 32 that run_fits, else 0 (near the page's
 * end every value is checked, so pages end exactly where they did). */
#define RUN_MAX 4096
#define RUN_MIN 32
static int64_t unchecked_run(const pq_col *c, const floe_arrow_view *v, int64_t i, int64_t r1) {
  int64_t k = r1 - i < RUN_MAX ? r1 - i : RUN_MAX;
  for (; k >= RUN_MIN; k /= 2)
    if (run_fits(c, v, i, k)) return k;
  return 0;
}

static int encode_slice(floe_parquet_writer *w, pq_col *c,
                        const floe_arrow_view *v, int64_t r0, int64_t r1,
                        floe_error *err) {
  int rc;
  col_stats *st = &c->chunk_stats;
  st->value_count += r1 - r0;
  int64_t i = r0;
  while (i < r1) {
    if (page_full(c) || c->dict_full) FLOE_TRY(cut_page(w, c, err));
    FLOE_TRY(reserve_slice(w, c, v, i, r1, err));
    if (!c->dict_on && v->validity == NULL && c->kind >= K_I32 &&
        c->kind <= K_F64) {
      i = plain_fixed_run(c, v, i, r1);
      continue;
    }
    /* Values until this page is full (at least one): a run that cannot
     * fill it goes without the per-value check; near the page's end the
     * check runs for every value, RUN_MIN at a time. */
    int64_t run = unchecked_run(c, v, i, r1);
    bool checked = run == 0;
    int64_t end = checked ? (r1 - i < RUN_MIN ? r1 : i + RUN_MIN) : i + run;
    for (; i < end; i++) {
      if (c->dict_full || (checked && page_full(c))) break;
      bool present = !floe_arrow_view_is_null(v, i);
      if (c->nullable) c->defs[c->page_n] = present;
      c->page_n++;
      if (!present) {
        st->null_count++;
        continue;
      }
      FLOE_TRY(put_value(w, c, v, i, err));
    }
  }
  rc = FLOE_OK;
cleanup:
  return rc;
}

/* Appends the non-null value i of v to the page (PLAIN or dictionary) and
 * to the chunk statistics. The buffers have room (reserve_slice). */
static inline int put_value(floe_parquet_writer *w, pq_col *c, const floe_arrow_view *v,
                            int64_t i, floe_error *err) {
  col_stats *st = &c->chunk_stats;
  {
    {
      bool inserted = false;
      int64_t idx = 0;
      switch (c->kind) {
        case K_BOOL: {
          bool b = floe_arrow_view_bool(v, i);
          int64_t bit = c->page_nonnull;
          if ((bit & 7) == 0) floe_buf_put_byte(&c->values, 0);
          if (b) c->values.data[c->values.len - 1] |= (uint8_t)(1u << (bit & 7));
          stats_int(st, b);
          c->page_plain += 0; /* bits; counted through values.len */
          break;
        }
        case K_I32:
        case K_I64: {
          int64_t x = load_int(c, v, i);
          c->page_plain += c->width;
          if (c->dict_on) {
            uint64_t key = c->kind == K_I32 ? (uint64_t)(uint32_t)(int32_t)x
                                            : (uint64_t)x;
            idx = pq_dict_put_fixed(&c->dict, key, &inserted);
            if (idx < 0) return nomem(w, err);
            c->indices[c->page_nonnull] = (uint32_t)idx;
            if (inserted) {
              stats_int(st, x);
              dict_overflow_check(w, c);
            }
          } else {
            if (c->kind == K_I32) {
              int32_t x32 = (int32_t)x;
              floe_buf_put(&c->values, &x32, 4);
            } else {
              floe_buf_put(&c->values, &x, 8);
            }
            stats_int(st, x);
          }
          break;
        }
        case K_F32:
        case K_F64: {
          uint64_t key = 0;
          double d;
          if (c->kind == K_F32) {
            float f = floe_arrow_view_float(v, i);
            memcpy(&key, &f, 4);
            d = f;
          } else {
            d = floe_arrow_view_double(v, i);
            memcpy(&key, &d, 8);
          }
          c->page_plain += c->width;
          if (c->dict_on) {
            idx = pq_dict_put_fixed(&c->dict, key, &inserted);
            if (idx < 0) return nomem(w, err);
            c->indices[c->page_nonnull] = (uint32_t)idx;
            if (inserted) {
              int64_t nans = st->nan_count;
              stats_double(st, d);
              st->nan_count = nans;
              dict_overflow_check(w, c);
            }
            if (d != d) st->nan_count++;
          } else {
            floe_buf_put(&c->values, &key, (size_t)c->width);
            stats_double(st, d);
          }
          break;
        }
        case K_FLBA: {
          uint8_t tmp[16];
          const uint8_t *p;
          size_t len;
          floe_int128 dec = 0;
          if (c->is_decimal) {
            dec = floe_arrow_view_decimal(v, i);
            int128_to_be(dec, c->width, tmp);
            p = tmp;
            len = (size_t)c->width;
          } else {
            p = floe_arrow_view_bytes(v, i, &len);
          }
          c->page_plain += c->width;
          if (c->dict_on) {
            if (c->width <= 8) {
              uint64_t key = 0;
              memcpy(&key, p, len);
              idx = pq_dict_put_fixed(&c->dict, key, &inserted);
            } else {
              idx = pq_dict_put_bytes(&c->dict, p, len, &inserted);
            }
            if (idx < 0) return nomem(w, err);
            c->indices[c->page_nonnull] = (uint32_t)idx;
            if (inserted) dict_overflow_check(w, c);
          } else {
            floe_buf_put(&c->values, p, len);
          }
          if (!c->dict_on || inserted) {
            if (c->is_decimal)
              stats_dec(st, dec);
            else if (stats_bytes(st, p, len) < 0)
              return nomem(w, err);
          }
          break;
        }
        case K_BA: {
          size_t len;
          const uint8_t *p = floe_arrow_view_bytes(v, i, &len);
          c->page_plain += 4 + (int64_t)len;
          if (c->dict_on) {
            idx = pq_dict_put_bytes(&c->dict, p, len, &inserted);
            if (idx < 0) return nomem(w, err);
            c->indices[c->page_nonnull] = (uint32_t)idx;
            if (inserted) dict_overflow_check(w, c);
          } else {
            uint8_t lenbytes[4];
            floe_store_u32le(lenbytes, (uint32_t)len);
            floe_buf_put(&c->values, lenbytes, 4);
            floe_buf_put(&c->values, p, len);
          }
          if ((!c->dict_on || inserted) && stats_bytes(st, p, len) < 0)
            return nomem(w, err);
          break;
        }
      }
      c->page_nonnull++;
    }
  }
  return FLOE_OK;
}

/* Room for n more level entries in the page under construction. */
static int reserve_levels(floe_parquet_writer *w, pq_col *c, int64_t n, floe_error *err) {
  size_t want = (size_t)c->page_n + (size_t)n;
  void *grown;
  if (grow_array(c->defs, &c->defs_cap, want, 1, &grown) < 0) return nomem(w, err);
  c->defs = grown;
  if (grow_array(c->reps, &c->reps_cap, want, 1, &grown) < 0) return nomem(w, err);
  c->reps = grown;
  if (c->dict_allowed) {
    if (grow_array(c->indices, &c->indices_cap, want, sizeof *c->indices, &grown) < 0)
      return nomem(w, err);
    c->indices = grown;
  }
  return FLOE_OK;
}

/* One level entry of a nested leaf: a null (or empty) at definition level
 * `def`, or (value_index >= 0) the leaf's value at that index. */
static int emit_entry(floe_parquet_writer *w, pq_col *c, int rep, int def,
                      const floe_arrow_view *leaf, int64_t value_index, floe_error *err) {
  int rc;
  FLOE_TRY(reserve_levels(w, c, 1, err));
  c->reps[c->page_n] = (uint8_t)rep;
  c->defs[c->page_n] = (uint8_t)def;
  c->page_n++;
  c->chunk_stats.value_count++;
  if (value_index < 0) {
    c->chunk_stats.null_count++;
    return FLOE_OK;
  }
  FLOE_TRY(reserve_slice(w, c, leaf, value_index, value_index + 1, err));
  FLOE_TRY(put_value(w, c, leaf, value_index, err));
cleanup:
  return rc;
}

/* Walks value `idx` of level k of a nested leaf (c->vstack[k] is its view)
 * and emits its entries; with `validate` it only checks them (a null where
 * a level is required, a decimal beyond its precision) against row `row`. */
static int shred(floe_parquet_writer *w, pq_col *c, int k, int64_t idx, int rep, int def_parent,
                 bool validate, int64_t row, floe_error *err) {
  const pq_level *l = &c->levels[k];
  const floe_arrow_view *v = &c->vstack[k];
  bool leaf = k == c->n_levels - 1;
  if (floe_arrow_view_is_null(v, idx)) {
    if (!l->nullable) {
      if (!validate) return FLOE_OK;
      if (k == 0 && l->kind == FLOE_ARROW_LIST)
        return floe_error_set(err, FLOE_EINVAL, "column '%s' row %" PRId64 ": null in a required list",
                              c->path[0], row);
      if (k > 0 && c->levels[k - 1].kind == FLOE_ARROW_LIST && leaf)
        return floe_error_set(err, FLOE_EINVAL,
                              "column '%s' row %" PRId64 ": null element in a list of required elements",
                              c->path[0], row);
      char dotted[256];
      size_t at = 0;
      dotted[0] = '\0';
      for (int i = 0; i < l->path_len && i < c->n_path && at < sizeof dotted; i++)
        at += (size_t)snprintf(dotted + at, at < sizeof dotted ? sizeof dotted - at : 0, "%s%s",
                               i > 0 ? "." : "", c->path[i]);
      return floe_error_set(err, FLOE_EINVAL,
                            "column '%s' row %" PRId64 ": null in required field '%s'", c->path[0],
                            row, dotted);
    }
    return validate ? FLOE_OK : emit_entry(w, c, rep, def_parent, NULL, -1, err);
  }
  int def = l->def_present;
  if (leaf) {
    if (validate) {
      if (c->is_decimal) {
        floe_int128 d = floe_arrow_view_decimal(v, idx);
        if (d >= c->decimal_limit || d <= -c->decimal_limit)
          return floe_error_set(err, FLOE_ERANGE,
                                "column '%s' row %" PRId64 ": decimal value in '%s' exceeds precision %d",
                                c->path[0], row, c->list_name, c->type.precision);
      }
      return FLOE_OK;
    }
    return emit_entry(w, c, rep, def, v, idx, err);
  }
  if (l->kind == FLOE_ARROW_STRUCT)
    return shred(w, c, k + 1, idx, rep, def, validate, row, err);
  int64_t s, e;
  floe_arrow_view_list_range(v, idx, &s, &e);
  if (e <= s) return validate ? FLOE_OK : emit_entry(w, c, rep, def, NULL, -1, err);
  for (int64_t j = s; j < e; j++) {
    int rc = shred(w, c, k + 1, j, j == s ? rep : l->rep_entry, l->def_entry, validate, row, err);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

/* Opens the views of every level of nested leaf c over top-level view v. */
static int open_vstack(pq_col *c, const floe_arrow_view *v, floe_error *err) {
  c->vstack[0] = *v;
  for (int k = 0; k + 1 < c->n_levels; k++) {
    const pq_level *l = &c->levels[k];
    floe_arrow_view keys, values;
    int rc;
    if (l->kind == FLOE_ARROW_STRUCT) {
      rc = floe_arrow_view_struct_child(&c->vstack[k], l->child, &c->vstack[k + 1], err);
    } else if (l->kind == FLOE_ARROW_LIST) {
      rc = floe_arrow_view_list_child(&c->vstack[k], &c->vstack[k + 1], err);
    } else {
      rc = floe_arrow_view_map_entries(&c->vstack[k], &keys, &values, err);
      c->vstack[k + 1] = l->child == 0 ? keys : values;
    }
    if (rc < 0) return floe_error_prefix(err, "column '%s'", c->list_name), rc;
  }
  return FLOE_OK;
}

/* Rows [r0, r1) of a nested leaf, already validated (vstack open). */
static int encode_nested_slice(floe_parquet_writer *w, pq_col *c, int64_t r0, int64_t r1,
                               floe_error *err) {
  int rc;
  for (int64_t i = r0; i < r1; i++) {
    if (page_full(c) || c->dict_full) FLOE_TRY(cut_page(w, c, err));
    FLOE_TRY(shred(w, c, 0, i, 0, 0, false, w->rows + i - r0, err));
  }
  rc = FLOE_OK;
cleanup:
  return rc;
}

/* ---- row groups -------------------------------------------------------------- */

static int64_t group_estimate(const floe_parquet_writer *w) {
  int64_t total = 0;
  for (int32_t i = 0; i < w->n_cols; i++) {
    const pq_col *c = &w->cols[i];
    total += c->chunk_uncompressed + page_estimate(c);
    if (c->dict_on || c->dict_used) total += (int64_t)c->dict.plain.len;
  }
  return total;
}

static int write_dictionary_page(floe_parquet_writer *w, pq_col *c,
                                 int64_t *uncompressed, floe_error *err) {
  const uint8_t *body;
  size_t body_len;
  int rc = compress_body(w, c->dict.plain.data, c->dict.plain.len, &body,
                         &body_len, err);
  if (rc < 0) {
    w->failed = true;
    return rc;
  }
  pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = PQ_PAGE_DICTIONARY;
  h.uncompressed_page_size = (int32_t)c->dict.plain.len;
  h.compressed_page_size = (int32_t)body_len;
  h.has_dictionary_page_header = true;
  h.dictionary_page_header.num_values = (int32_t)c->dict.count;
  h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
  floe_buf_reset(&w->header_buf);
  if (pq_page_header_write(&h, &w->header_buf) < 0) return nomem(w, err);
  FLOE_TRY(sink_write(w, w->header_buf.data, w->header_buf.len, err));
  FLOE_TRY(sink_write(w, body, body_len, err));
  *uncompressed = (int64_t)(w->header_buf.len + c->dict.plain.len);
cleanup:
  return rc;
}

/* Copies a statistic into the footer arena. */
static int footer_stat(floe_parquet_writer *w, const pq_col *c,
                       const col_stats *s, bool max, pq_bytes *out) {
  uint8_t tmp[16];
  const uint8_t *p;
  size_t n = stat_value(c, s, max, tmp, &p);
  uint8_t *copy = floe_arena_memdup(&w->arena, n > 0 ? p : tmp, n);
  if (copy == NULL) return FLOE_ENOMEM;
  out->data = copy;
  out->len = (int64_t)n;
  return FLOE_OK;
}

static int flush_row_group(floe_parquet_writer *w, floe_error *err) {
  int rc = FLOE_OK;
  if (w->group_rows == 0) return FLOE_OK;
  for (int32_t i = 0; i < w->n_cols; i++)
    FLOE_TRY(cut_page(w, &w->cols[i], err));
  if (w->n_groups == w->groups_cap) {
    int32_t cap = w->groups_cap == 0 ? 8 : w->groups_cap * 2;
    pq_row_group *groups = floe_realloc(w->groups, (size_t)cap * sizeof *groups);
    if (groups == NULL) return nomem(w, err);
    w->groups = groups;
    w->groups_cap = cap;
  }
  pq_row_group *g = &w->groups[w->n_groups];
  memset(g, 0, sizeof *g);
  g->columns = floe_arena_calloc(&w->arena, (size_t)w->n_cols, sizeof *g->columns);
  if (g->columns == NULL) return nomem(w, err);
  g->n_columns = w->n_cols;
  g->num_rows = w->group_rows;
  g->has_file_offset = true;
  g->file_offset = w->offset;
  g->has_ordinal = true;
  g->ordinal = (int16_t)w->n_groups;

  for (int32_t i = 0; i < w->n_cols; i++) {
    pq_col *c = &w->cols[i];
    pq_column_chunk *cc = &g->columns[i];
    pq_column_meta *m = &cc->meta_data;
    int64_t start = w->offset;
    int64_t uncompressed = 0;
    if (c->dict_used) {
      FLOE_TRY(write_dictionary_page(w, c, &uncompressed, err));
      m->has_dictionary_page_offset = true;
      m->dictionary_page_offset = start;
    }
    int64_t data_start = w->offset;
    FLOE_TRY(sink_write(w, c->chunk.data, c->chunk.len, err));
    uncompressed += c->chunk_uncompressed;

    cc->file_offset = start;
    cc->has_meta_data = true;
    m->type = c->ptype;
    m->encodings = floe_arena_alloc(&w->arena, 3 * sizeof *m->encodings);
    m->path_in_schema = floe_arena_alloc(&w->arena, 3 * sizeof *m->path_in_schema);
    if (m->encodings == NULL || m->path_in_schema == NULL) return nomem(w, err);
    if (c->dict_used) m->encodings[m->n_encodings++] = PQ_ENC_RLE_DICTIONARY;
    if (c->chunk_plain_pages || c->dict_used)
      m->encodings[m->n_encodings++] = PQ_ENC_PLAIN;
    m->encodings[m->n_encodings++] = PQ_ENC_RLE;
    if (c->is_list) {
      m->path_in_schema = (const char **)c->path;
      m->n_path = c->n_path;
    } else {
      m->path_in_schema[0] = c->name;
      m->n_path = 1;
    }
    m->codec = (pq_codec)w->options.compression;
    m->num_values = c->chunk_values;
    m->total_uncompressed_size = uncompressed;
    m->total_compressed_size = w->offset - start;
    m->data_page_offset = data_start;
    m->has_statistics = true;
    pq_statistics *ps = &m->statistics;
    const col_stats *s = &c->chunk_stats;
    ps->has_null_count = true;
    ps->null_count = s->null_count;
    if (s->has_minmax) {
      ps->has_min_value = ps->has_max_value = true;
      if (footer_stat(w, c, s, false, &ps->min_value) < 0 ||
          footer_stat(w, c, s, true, &ps->max_value) < 0)
        return nomem(w, err);
      /* The deprecated min/max (fields 1, 2) were compared signed by old
       * readers: safe only where the type order is signed. */
      if (c->kind != K_BA && c->kind != K_FLBA) {
        ps->has_min = ps->has_max = true;
        ps->min = ps->min_value;
        ps->max = ps->max_value;
      }
    }
    g->total_byte_size += uncompressed;
    g->total_compressed_size += m->total_compressed_size;
    c->file_column_size += m->total_compressed_size;
    if (stats_merge(c, &c->file_stats, s) < 0) return nomem(w, err);

    /* Reset the chunk. */
    floe_buf_reset(&c->chunk);
    c->chunk_uncompressed = 0;
    c->chunk_values = 0;
    c->chunk_plain_pages = false;
    stats_reset(&c->chunk_stats);
    pq_dict_clear(&c->dict);
    c->dict_on = c->dict_allowed;
    c->dict_checked = c->dict_used = c->dict_full = false;
  }
  g->has_total_compressed_size = true;
  w->n_groups++;
  w->group_rows = 0;
cleanup:
  return rc;
}

/* ---- open / write / close ---------------------------------------------------- */

static void col_free(pq_col *c) {
  floe_free(c->name);
  floe_free(c->list_name);
  for (int i = 0; c->path != NULL && i < c->n_path; i++) floe_free(c->path[i]);
  floe_free(c->path);
  floe_free(c->levels);
  floe_free(c->vstack);
  floe_free(c->reps);
  pq_dict_free(&c->dict);
  floe_buf_free(&c->values);
  floe_free(c->indices);
  floe_free(c->defs);
  floe_buf_free(&c->chunk);
  stats_free(&c->chunk_stats);
  stats_free(&c->file_stats);
}

void floe_parquet_writer_free(floe_parquet_writer *w) {
  if (w == NULL) return;
  for (int32_t i = 0; w->cols != NULL && i < w->n_cols; i++) col_free(&w->cols[i]);
  floe_free(w->cols);
  for (int32_t i = 0; i < w->options.n_key_value; i++) {
    if (w->keys != NULL) floe_free(w->keys[i]);
    if (w->values != NULL) floe_free(w->values[i]);
  }
  floe_free(w->keys);
  floe_free(w->values);
  floe_free(w->created_by);
  floe_arrow_schema_release(&w->schema);
  floe_codec_ctx_free(&w->codec_ctx);
  floe_arena_free(&w->arena);
  floe_free(w->groups);
  floe_buf_free(&w->page_buf);
  floe_buf_free(&w->comp_buf);
  floe_buf_free(&w->header_buf);
  if (w->file != NULL) fclose(w->file);
  floe_free(w);
}

/* Deepest nesting floe writes (levels from a top-level column to a leaf). */
#define MAX_LEVELS 32

/* Checks that a nested field's children fit its format, recursively. */
static int check_field(const struct ArrowSchema *f, int depth, floe_error *err) {
  const char *fmt = f->format != NULL ? f->format : "";
  const char *name = f->name != NULL ? f->name : "";
  if (depth >= MAX_LEVELS)
    return floe_error_set(err, FLOE_EUNSUPPORTED, "column '%s': nested deeper than %d levels",
                          name, MAX_LEVELS);
  if (fmt[0] != '+') return FLOE_OK;
  if (strcmp(fmt, "+s") == 0) {
    if (f->n_children < 1)
      return floe_error_set(err, FLOE_EINVAL, "column '%s': a struct needs fields", name);
  } else if (strcmp(fmt, "+l") == 0) {
    if (f->n_children != 1 || f->children[0] == NULL)
      return floe_error_set(err, FLOE_EINVAL, "column '%s': a list needs one child", name);
  } else if (strcmp(fmt, "+m") == 0) {
    const struct ArrowSchema *e = f->n_children == 1 ? f->children[0] : NULL;
    if (e == NULL || e->format == NULL || strcmp(e->format, "+s") != 0 || e->n_children != 2)
      return floe_error_set(err, FLOE_EINVAL,
                            "column '%s': a map needs entries of a key and a value", name);
    FLOE_TRY_RETURN(check_field(e->children[0], depth + 1, err));
    return check_field(e->children[1], depth + 1, err);
  } else {
    return floe_error_set(err, FLOE_EUNSUPPORTED, "column '%s': arrow format '%s' is not written",
                          name, fmt);
  }
  for (int64_t i = 0; i < f->n_children; i++)
    FLOE_TRY_RETURN(check_field(f->children[i], depth + 1, err));
  return FLOE_OK;
}

/* Creates the leaf columns of Arrow field `f` (top-level column `top`)
 * depth first: levels[0..n_levels) and names[0..n_names) describe the way
 * down to f, which is named `name` and forced required when `required`
 * (map keys). */
static int build_leaves(floe_parquet_writer *w, int32_t top, const struct ArrowSchema *f,
                        const char *name, bool required, pq_level *levels, int n_levels,
                        const char **names, int n_names, int32_t *leaf, floe_error *err) {
  const char *fmt = f->format != NULL ? f->format : "";
  pq_level *l = &levels[n_levels];
  memset(l, 0, sizeof *l);
  l->nullable = !required && (f->flags & ARROW_FLAG_NULLABLE) != 0;
  int def = n_levels > 0 ? (levels[n_levels - 1].kind == FLOE_ARROW_LIST ||
                                    levels[n_levels - 1].kind == FLOE_ARROW_MAP
                                ? levels[n_levels - 1].def_entry
                                : levels[n_levels - 1].def_present)
                         : 0;
  int rep = 0;
  for (int k = 0; k < n_levels; k++)
    if (levels[k].kind == FLOE_ARROW_LIST || levels[k].kind == FLOE_ARROW_MAP) rep = levels[k].rep_entry;
  l->def_present = (uint8_t)(def + (l->nullable ? 1 : 0));
  names[n_names++] = name;
  l->path_len = (uint8_t)n_names;
  if (strcmp(fmt, "+s") == 0) {
    l->kind = FLOE_ARROW_STRUCT;
    for (int64_t i = 0; i < f->n_children; i++) {
      l->child = (int32_t)i;
      const struct ArrowSchema *child = f->children[i];
      FLOE_TRY_RETURN(build_leaves(w, top, child, child->name ? child->name : "", false, levels,
                                   n_levels + 1, names, n_names, leaf, err));
    }
    return FLOE_OK;
  }
  if (strcmp(fmt, "+l") == 0 || strcmp(fmt, "+m") == 0) {
    bool map = fmt[1] == 'm';
    l->kind = map ? FLOE_ARROW_MAP : FLOE_ARROW_LIST;
    l->def_entry = (uint8_t)(l->def_present + 1);
    l->rep_entry = (uint8_t)(rep + 1);
    names[n_names++] = map ? "key_value" : "list";
    if (!map) {
      l->child = 0;
      return build_leaves(w, top, f->children[0], "element", false, levels, n_levels + 1, names,
                          n_names, leaf, err);
    }
    const struct ArrowSchema *e = f->children[0];
    l->child = 0;
    FLOE_TRY_RETURN(build_leaves(w, top, e->children[0], "key", true, levels, n_levels + 1, names,
                                 n_names, leaf, err));
    l->child = 1;
    return build_leaves(w, top, e->children[1], "value", false, levels, n_levels + 1, names,
                        n_names, leaf, err);
  }
  pq_col *c = &w->cols[(*leaf)++];
  c->top = top;
  FLOE_TRY_RETURN(map_column(c, f, &w->options, err));
  if (required) c->nullable = false;
  if (n_levels == 0) {
    c->max_def = c->nullable ? 1 : 0;
    return FLOE_OK;
  }
  /* A nested leaf. */
  c->is_list = true;
  l->kind = c->type.id;
  c->n_levels = n_levels + 1;
  c->max_def = l->def_present;
  c->max_rep = rep;
  c->levels = floe_calloc((size_t)c->n_levels, sizeof *c->levels);
  c->vstack = floe_calloc((size_t)c->n_levels, sizeof *c->vstack);
  c->path = floe_calloc((size_t)n_names, sizeof *c->path);
  if (c->levels == NULL || c->vstack == NULL || c->path == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  memcpy(c->levels, levels, (size_t)c->n_levels * sizeof *levels);
  size_t dotted = 1;
  for (int i = 0; i < n_names; i++) {
    if ((c->path[i] = floe_strdup(names[i])) == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    c->n_path = i + 1;
    dotted += strlen(names[i]) + 1;
  }
  for (int k = 0; k < n_levels; k++)
    if (levels[k].kind == FLOE_ARROW_LIST || levels[k].kind == FLOE_ARROW_MAP)
      c->under_repeated = true;
  if ((c->list_name = floe_malloc(dotted)) == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  c->list_name[0] = '\0';
  for (int i = 0; i < n_names; i++) {
    if (i > 0) strcat(c->list_name, ".");
    strcat(c->list_name, names[i]);
  }
  return FLOE_OK;
}

int floe_parquet_writer_open(floe_parquet_writer **out,
                             const struct ArrowSchema *schema,
                             const floe_parquet_writer_options *options,
                             floe_parquet_sink sink, floe_error *err) {
  int rc = FLOE_OK;
  floe_parquet_writer *w = NULL;
  *out = NULL;
  if (schema == NULL || schema->format == NULL ||
      strcmp(schema->format, "+s") != 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: schema must be a struct (\"+s\")");
  if (schema->n_children < 1 || schema->n_children > INT32_MAX)
    return floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: schema has no columns");
  if (sink.write == NULL)
    return floe_error_set(err, FLOE_EINVAL, "parquet writer: sink has no write");

  w = floe_calloc(1, sizeof *w);
  if (w == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  floe_codec_ctx_init(&w->codec_ctx);
  floe_arena_init(&w->arena, 0);
  if (options != NULL)
    w->options = *options;
  else
    floe_parquet_writer_options_init(&w->options);
  floe_parquet_writer_options *o = &w->options;
  if (o->row_group_bytes <= 0) o->row_group_bytes = 128 * 1024 * 1024;
  if (o->page_bytes <= 0) o->page_bytes = 1024 * 1024;
  if (o->dictionary_page_bytes <= 0) o->dictionary_page_bytes = 1024 * 1024;
  if (o->truncate_length < 0) o->truncate_length = 0;
  switch (o->compression) {
    case FLOE_PARQUET_UNCOMPRESSED: w->codec = FLOE_CODEC_NONE; break;
    case FLOE_PARQUET_SNAPPY: w->codec = FLOE_CODEC_SNAPPY; break;
    case FLOE_PARQUET_GZIP:
      w->codec = FLOE_CODEC_GZIP;
      if (o->compression_level != 0) {
        if (o->compression_level < 1 || o->compression_level > 9) {
          rc = floe_error_set(err, FLOE_EINVAL,
                              "parquet writer: gzip level %d not in 1..9",
                              o->compression_level);
          goto cleanup;
        }
        w->codec_ctx.gzip_level = o->compression_level;
      }
      break;
    case FLOE_PARQUET_ZSTD:
      w->codec = FLOE_CODEC_ZSTD;
      if (o->compression_level != 0) {
        if (o->compression_level < 1 || o->compression_level > 22) {
          rc = floe_error_set(err, FLOE_EINVAL,
                              "parquet writer: zstd level %d not in 1..22",
                              o->compression_level);
          goto cleanup;
        }
        w->codec_ctx.zstd_level = o->compression_level;
      }
      break;
    default:
      rc = floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: unsupported compression %d",
                          (int)o->compression);
      goto cleanup;
  }
  /* Own copies of the option strings. */
  w->created_by = floe_strdup(o->created_by != NULL ? o->created_by
                                                    : FLOE_PARQUET_CREATED_BY);
  if (w->created_by == NULL) goto nomem;
  if (o->n_key_value > 0) {
    w->keys = floe_calloc((size_t)o->n_key_value, sizeof *w->keys);
    w->values = floe_calloc((size_t)o->n_key_value, sizeof *w->values);
    if (w->keys == NULL || w->values == NULL) goto nomem;
    for (int32_t i = 0; i < o->n_key_value; i++) {
      w->keys[i] = floe_strdup(o->keys[i]);
      if (w->keys[i] == NULL) goto nomem;
      if (o->values[i] != NULL) {
        w->values[i] = floe_strdup(o->values[i]);
        if (w->values[i] == NULL) goto nomem;
      }
    }
  } else {
    o->n_key_value = 0;
  }
  o->created_by = NULL;
  o->keys = NULL;
  o->values = NULL;

  if (floe_arrow_schema_copy(&w->schema, schema) < 0) goto nomem;
  w->n_top = (int32_t)schema->n_children;
  w->n_cols = 0;
  for (int32_t i = 0; i < w->n_top; i++) {
    FLOE_TRY(check_field(w->schema.children[i], 0, err));
    count_elements(w->schema.children[i], &w->n_cols);
  }
  w->cols = floe_calloc((size_t)(w->n_cols ? w->n_cols : 1), sizeof *w->cols);
  if (w->cols == NULL) goto nomem;
  {
    int32_t leaf = 0;
    pq_level levels[MAX_LEVELS];
    const char *names[2 * MAX_LEVELS];
    for (int32_t i = 0; i < w->n_top; i++)
      FLOE_TRY(build_leaves(w, i, w->schema.children[i], w->schema.children[i]->name, false,
                            levels, 0, names, 0, &leaf, err));
  }
  for (int32_t i = 0; i < w->n_cols; i++) w->cols[i].page_limit = o->page_bytes;
  w->group_rows_hint = 1024;
  w->sink = sink;
  FLOE_TRY(sink_write(w, "PAR1", 4, err));
  *out = w;
  return FLOE_OK;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "parquet writer: out of memory");
cleanup:
  floe_parquet_writer_free(w);
  return rc;
}

int floe_parquet_writer_open_file(floe_parquet_writer **out, const char *path,
                                  const struct ArrowSchema *schema,
                                  const floe_parquet_writer_options *options,
                                  floe_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "wb");
  if (f == NULL) return floe_error_errno(err, errno, "parquet: create %s", path);
  floe_parquet_sink sink = {f, file_sink_write};
  int rc = floe_parquet_writer_open(out, schema, options, sink, err);
  if (rc < 0) {
    fclose(f);
    return floe_error_prefix(err, "%s", path), rc;
  }
  (*out)->file = f;
  return FLOE_OK;
}

/* Checks that the batch's values fit their columns before any is encoded. */
static int validate_batch(floe_parquet_writer *w, const floe_arrow_view *views,
                          int64_t length, floe_error *err) {
  for (int32_t k = 0; k < w->n_cols; k++) {
    pq_col *c = &w->cols[k];
    const floe_arrow_view *v = &views[c->top];
    if (c->is_list) {
      /* Every level of the leaf's path, row by row. */
      FLOE_TRY_RETURN(open_vstack(c, v, err));
      for (int64_t i = 0; i < length; i++)
        FLOE_TRY_RETURN(shred(w, c, 0, i, 0, 0, true, w->rows + i, err));
      continue;
    }
    if (!c->nullable && v->validity != NULL) {
      for (int64_t i = 0; i < length; i++)
        if (floe_arrow_view_is_null(v, i))
          return floe_error_set(err, FLOE_EINVAL,
                                "column '%s' row %" PRId64
                                ": null in a required column",
                                c->name, w->rows + i);
    }
    if (c->is_decimal) {
      floe_int128 lim = c->decimal_limit;
      for (int64_t i = 0; i < length; i++) {
        if (floe_arrow_view_is_null(v, i)) continue;
        floe_int128 d = floe_arrow_view_decimal(v, i);
        if (d >= lim || d <= -lim) {
          char text[64];
          floe_decimal_format(d, c->type.scale, text, sizeof text);
          return floe_error_set(err, FLOE_ERANGE,
                                "column '%s' row %" PRId64
                                ": decimal value %s exceeds precision %d",
                                c->name, w->rows + i, text, c->type.precision);
        }
      }
    }
  }
  return FLOE_OK;
}

int floe_parquet_writer_write(floe_parquet_writer *w,
                              const struct ArrowArray *batch, floe_error *err) {
  int rc = FLOE_OK;
  floe_arrow_view *views = NULL;
  if (w->failed || w->closed)
    return floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: %s", w->closed ? "already closed"
                                                          : "an earlier write failed");
  if (batch == NULL || batch->n_children != w->n_top)
    return floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: batch has %" PRId64
                          " columns, schema has %d",
                          batch != NULL ? batch->n_children : 0, w->n_top);
  int64_t length = batch->length;
  if (length == 0) return FLOE_OK;
  views = floe_calloc((size_t)(w->n_top ? w->n_top : 1), sizeof *views);
  if (views == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t k = 0; k < w->n_top; k++) {
    const struct ArrowArray *child = batch->children[k];
    FLOE_TRY(floe_arrow_view_init(&views[k], w->schema.children[k], child, err));
    if (child->length < batch->offset + length) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "column '%s': child array has %" PRId64
                          " rows, batch needs %" PRId64,
                          w->schema.children[k]->name ? w->schema.children[k]->name : "",
                          child->length, batch->offset + length);
      goto cleanup;
    }
    views[k].offset += batch->offset;
    views[k].length = length;
    if (views[k].validity == NULL && child->null_count != 0 &&
        child->buffers[0] != NULL)
      views[k].validity = child->buffers[0];
  }
  FLOE_TRY(validate_batch(w, views, length, err));

  /* Slices of rows, column by column, so that row groups are cut close to
   * row_group_bytes whatever the batch size. */
  int64_t row = 0;
  while (row < length) {
    int64_t n = w->group_rows_hint;
    if (n > length - row) n = length - row;
    for (int32_t k = 0; k < w->n_cols; k++) {
      if (w->cols[k].is_list)
        FLOE_TRY(encode_nested_slice(w, &w->cols[k], row, row + n, err));
      else
        FLOE_TRY(encode_slice(w, &w->cols[k], &views[w->cols[k].top], row, row + n, err));
    }
    row += n;
    w->rows += n;
    w->group_rows += n;
    int64_t est = group_estimate(w);
    if (est >= w->options.row_group_bytes) {
      FLOE_TRY(flush_row_group(w, err));
    } else {
      /* Aim the next slice at the remaining room. */
      int64_t per_row = est / (w->group_rows > 0 ? w->group_rows : 1);
      if (per_row < 1) per_row = 1;
      int64_t room = (w->options.row_group_bytes - est) / per_row + 1;
      w->group_rows_hint = room < 1 ? 1 : room > 65536 ? 65536 : room;
    }
  }
cleanup:
  if (rc < 0 && rc != FLOE_EINVAL && rc != FLOE_ERANGE) w->failed = true;
  floe_free(views);
  return rc;
}

int64_t floe_parquet_writer_estimated_size(const floe_parquet_writer *w) {
  int64_t buffered = 0;
  for (int32_t i = 0; i < w->n_cols; i++) {
    const pq_col *c = &w->cols[i];
    buffered += (int64_t)c->chunk.len + page_estimate(c);
    if (c->dict_on || c->dict_used) buffered += (int64_t)c->dict.plain.len;
  }
  return w->offset + buffered;
}

int64_t floe_parquet_writer_rows(const floe_parquet_writer *w) {
  return w->rows;
}

/* ---- Iceberg metrics ---------------------------------------------------------- */

static int set_bound(uint8_t **out, size_t *out_len, const uint8_t *p,
                     size_t n) {
  *out = floe_malloc(n > 0 ? n : 1);
  if (*out == NULL) return FLOE_ENOMEM;
  if (n > 0) memcpy(*out, p, n);
  *out_len = n;
  return FLOE_OK;
}

/* Iceberg UnicodeUtil.truncateStringMin/Max and BinaryUtil.truncateBinary
 * Min/Max (core/truncate). Returns 1 when no upper bound exists. limit 0:
 * no truncation. */
static int truncated_bound(const uint8_t *p, size_t n, int32_t limit, bool upper,
                           bool utf8, uint8_t **out, size_t *out_len) {
  if (limit == 0) return set_bound(out, out_len, p, n);
  if (!upper)
    return set_bound(out, out_len, p,
                     utf8 ? floe_utf8_prefix_len(p, n, limit)
                          : (n < (size_t)limit ? n : (size_t)limit));
  int rc = set_bound(out, out_len, p, n);
  if (rc < 0) return rc;
  bool exists;
  *out_len = utf8 ? floe_utf8_truncate_upper(*out, n, limit, &exists)
                  : floe_binary_truncate_upper(*out, n, (size_t)limit, &exists);
  if (exists) return FLOE_OK;
  floe_free(*out);
  *out = NULL;
  *out_len = 0;
  return 1;
}

static int column_bounds(const floe_parquet_writer *w, const pq_col *c,
                         floe_parquet_column_metrics *m) {
  const col_stats *s = &c->file_stats;
  if (!s->has_minmax) return FLOE_OK;
  for (int side = 0; side < 2; side++) {
    bool upper = side == 1;
    uint8_t **out = upper ? &m->upper_bound : &m->lower_bound;
    size_t *out_len = upper ? &m->upper_bound_len : &m->lower_bound_len;
    uint8_t tmp[16];
    const uint8_t *p;
    int rc;
    if (c->is_decimal) {
      /* Iceberg Appendix D: unscaled two's complement, big-endian, minimum
       * bytes. */
      floe_int128 d = upper ? s->max_dec : s->min_dec;
      if (c->kind != K_FLBA) d = upper ? s->max_i : s->min_i;
      int32_t n = int128_min_bytes(d);
      int128_to_be(d, n, tmp);
      rc = set_bound(out, out_len, tmp, (size_t)n);
    } else if (c->kind == K_BA || (c->kind == K_FLBA && c->type.id != FLOE_ARROW_UUID)) {
      size_t n = stat_value(c, s, upper, tmp, &p);
      rc = truncated_bound(p, n, w->options.truncate_length, upper,
                           c->type.id == FLOE_ARROW_UTF8, out, out_len);
      if (rc == 1) rc = FLOE_OK; /* no upper bound */
    } else {
      /* int/date 4 bytes LE, long/time/timestamp 8 bytes LE, float/double
       * IEEE LE, boolean one byte, uuid its 16 bytes: the PLAIN form. */
      size_t n = stat_value(c, s, upper, tmp, &p);
      rc = set_bound(out, out_len, p, n);
    }
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

static int fill_metrics(const floe_parquet_writer *w,
                        floe_parquet_file_metrics *metrics, floe_error *err) {
  memset(metrics, 0, sizeof *metrics);
  metrics->record_count = w->rows;
  metrics->file_size = w->offset;
  metrics->columns = floe_calloc((size_t)w->n_cols, sizeof *metrics->columns);
  metrics->split_offsets =
      floe_calloc(w->n_groups > 0 ? (size_t)w->n_groups : 1, sizeof(int64_t));
  if (metrics->columns == NULL || metrics->split_offsets == NULL) goto nomem;
  metrics->n_columns = w->n_cols;
  for (int32_t g = 0; g < w->n_groups; g++)
    metrics->split_offsets[g] = w->groups[g].file_offset;
  metrics->n_split_offsets = w->n_groups;
  for (int32_t i = 0; i < w->n_cols; i++) {
    const pq_col *c = &w->cols[i];
    floe_parquet_column_metrics *m = &metrics->columns[i];
    m->field_id = c->field_id;
    m->column_size = c->file_column_size;
    m->value_count = c->file_stats.value_count;
    m->null_count = c->file_stats.null_count;
    m->has_nan_count = c->kind == K_F32 || c->kind == K_F64;
    m->nan_count = c->file_stats.nan_count;
    /* Bounds of leaves under a list or map are left out, as Iceberg Java
     * does (ParquetUtil: bounds only for a path of struct fields to a
     * primitive); leaves inside structs keep theirs. */
    if (!c->under_repeated && column_bounds(w, c, m) < 0) goto nomem;
  }
  return FLOE_OK;
nomem:
  floe_parquet_file_metrics_free(metrics);
  return floe_error_set(err, FLOE_ENOMEM, "parquet writer: out of memory");
}

int floe_parquet_writer_close(floe_parquet_writer *w,
                              floe_parquet_file_metrics *metrics,
                              floe_error *err) {
  int rc = FLOE_OK;
  floe_buf footer = FLOE_BUF_INIT;
  pq_schema_element *schema = NULL;
  pq_key_value *kv = NULL;
  if (metrics != NULL) memset(metrics, 0, sizeof *metrics);
  if (w->closed)
    return floe_error_set(err, FLOE_EINVAL, "parquet writer: already closed");
  if (w->failed)
    return floe_error_set(err, FLOE_EINVAL,
                          "parquet writer: an earlier write failed; no footer "
                          "written");
  FLOE_TRY(flush_row_group(w, err));

  int32_t n_elements = 1, n_leaves = 0;
  for (int32_t i = 0; i < w->n_top; i++)
    n_elements += count_elements(w->schema.children[i], &n_leaves);
  schema = floe_calloc((size_t)n_elements, sizeof *schema);
  if (w->options.n_key_value > 0)
    kv = floe_calloc((size_t)w->options.n_key_value, sizeof *kv);
  if (schema == NULL || (w->options.n_key_value > 0 && kv == NULL)) {
    rc = nomem(w, err);
    goto cleanup;
  }
  schema[0].name = "schema";
  schema[0].has_num_children = true;
  schema[0].num_children = w->n_top;
  for (int32_t i = 0, at = 1, leaf = 0; i < w->n_top; i++) {
    const struct ArrowSchema *f = w->schema.children[i];
    emit_elements(w, f, f->name ? f->name : "", false, schema, &at, &leaf);
  }
  for (int32_t i = 0; i < w->options.n_key_value; i++) {
    kv[i].key.data = (const uint8_t *)w->keys[i];
    kv[i].key.len = (int64_t)strlen(w->keys[i]);
    if (w->values[i] != NULL) {
      kv[i].has_value = true;
      kv[i].value.data = (const uint8_t *)w->values[i];
      kv[i].value.len = (int64_t)strlen(w->values[i]);
    }
  }
  pq_file_meta meta;
  memset(&meta, 0, sizeof meta);
  meta.version = 1;
  meta.n_schema = n_elements;
  meta.schema = schema;
  meta.num_rows = w->rows;
  meta.n_row_groups = w->n_groups;
  meta.row_groups = w->groups;
  meta.n_key_value = w->options.n_key_value;
  meta.key_value = kv;
  meta.created_by = w->created_by;
  meta.n_column_orders = w->n_cols;
  if (pq_file_meta_write(&meta, &footer) < 0 ||
      floe_buf_append_u32le(&footer, (uint32_t)footer.len) < 0 ||
      floe_buf_append(&footer, "PAR1", 4) < 0) {
    rc = nomem(w, err);
    goto cleanup;
  }
  FLOE_TRY(sink_write(w, footer.data, footer.len, err));
  if (w->file != NULL) {
    FILE *f = w->file;
    w->file = NULL;
    if (fclose(f) != 0) {
      w->failed = true;
      rc = floe_error_errno(err, errno, "parquet: close failed");
      goto cleanup;
    }
  }
  w->closed = true;
  if (metrics != NULL) FLOE_TRY(fill_metrics(w, metrics, err));
cleanup:
  floe_buf_free(&footer);
  floe_free(schema);
  floe_free(kv);
  return rc;
}
