/*
 * format/parquet/parquet_meta_read: decodes the Parquet footer
 * (FileMetaData) and page headers from the Thrift compact protocol into the
 * structs of parquet_meta.h.
 *
 * The input is untrusted, so the decoder is written around one cursor that
 * never moves past the end of its buffer: every varint, string and list is
 * checked against the bytes that remain before it is touched. A list's
 * element count must be justified by the remaining input (every element
 * costs at least one byte on the wire), so allocations stay proportional to
 * the input. Unknown fields of every type are skipped (Thrift compact
 * protocol spec: "Struct encoding", "List and set"), with nesting bounded by
 * MAX_DEPTH. Strings and binary values point into the input buffer; names
 * that must be C strings are copied into the arena with a terminating NUL.
 * Field ids follow parquet-format's parquet.thrift.
 */
#include <inttypes.h>
#include <string.h>

#include "format/parquet/parquet_meta.h"

#define MAX_DEPTH 32

/* Compact protocol type codes. */
enum {
  CT_STOP = 0,
  CT_TRUE = 1,
  CT_FALSE = 2,
  CT_BYTE = 3,
  CT_I16 = 4,
  CT_I32 = 5,
  CT_I64 = 6,
  CT_DOUBLE = 7,
  CT_BINARY = 8,
  CT_LIST = 9,
  CT_SET = 10,
  CT_MAP = 11,
  CT_STRUCT = 12,
  CT_UUID = 13
};

typedef struct reader {
  const uint8_t *start, *p, *end;
  floe_arena *arena;
  floe_error *err;
  int depth;
} reader;

static int fail(reader *r, const char *what) {
  return floe_error_set(r->err, FLOE_EFORMAT, "thrift: %s at byte %td", what,
                        r->p - r->start);
}

static int read_uvarint(reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return fail(r, "truncated varint");
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return FLOE_OK;
    }
  }
  return fail(r, "varint longer than 10 bytes");
}

static int read_i64(reader *r, int64_t *out) {
  uint64_t u;
  int rc = read_uvarint(r, &u);
  if (rc < 0) return rc;
  *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return FLOE_OK;
}

static int read_i32(reader *r, int32_t *out) {
  int64_t v;
  int rc = read_i64(r, &v);
  if (rc < 0) return rc;
  if (v < INT32_MIN || v > INT32_MAX) return fail(r, "i32 out of range");
  *out = (int32_t)v;
  return FLOE_OK;
}

static int read_binary(reader *r, pq_bytes *out) {
  uint64_t len;
  int rc = read_uvarint(r, &len);
  if (rc < 0) return rc;
  if (len > (uint64_t)(r->end - r->p)) return fail(r, "string longer than the input");
  out->data = r->p;
  out->len = (int64_t)len;
  r->p += len;
  return FLOE_OK;
}

static int read_string(reader *r, const char **out) {
  pq_bytes b = {NULL, 0};
  int rc = read_binary(r, &b);
  if (rc < 0) return rc;
  char *s = floe_arena_strndup(r->arena, (const char *)b.data, (size_t)b.len);
  if (s == NULL) return floe_error_set(r->err, FLOE_ENOMEM, "out of memory");
  *out = s;
  return FLOE_OK;
}

/* A list or set header: element type and count. The count is bounded by
 * the remaining input (each element takes at least one byte, bools
 * included) so callers may allocate count elements. */
static int read_list_header(reader *r, int *elem_type, int64_t *count) {
  if (r->p >= r->end) return fail(r, "truncated list header");
  uint8_t h = *r->p++;
  uint64_t n = h >> 4;
  if (n == 15) {
    int rc = read_uvarint(r, &n);
    if (rc < 0) return rc;
  }
  *elem_type = h & 0x0f;
  if (n > (uint64_t)(r->end - r->p)) return fail(r, "list longer than the input");
  *count = (int64_t)n;
  return FLOE_OK;
}

static int skip_value(reader *r, int type);

static int skip_struct(reader *r) {
  if (++r->depth > MAX_DEPTH) return fail(r, "structs nested too deeply");
  for (;;) {
    if (r->p >= r->end) return fail(r, "truncated struct");
    uint8_t h = *r->p++;
    if (h == CT_STOP) break;
    if ((h >> 4) == 0) {
      int64_t id;
      int rc = read_i64(r, &id);
      if (rc < 0) return rc;
    }
    int rc = skip_value(r, h & 0x0f);
    if (rc < 0) return rc;
  }
  r->depth--;
  return FLOE_OK;
}

/* Skips one value of compact type `type` (Thrift compact protocol). */
static int skip_value(reader *r, int type) {
  uint64_t u;
  pq_bytes b = {NULL, 0};
  int rc;
  switch (type) {
    case CT_TRUE:
    case CT_FALSE:
      return FLOE_OK; /* a field's bool lives in its header */
    case CT_BYTE:
      if (r->p >= r->end) return fail(r, "truncated byte");
      r->p++;
      return FLOE_OK;
    case CT_I16:
    case CT_I32:
    case CT_I64:
      return read_uvarint(r, &u);
    case CT_DOUBLE:
      if (r->end - r->p < 8) return fail(r, "truncated double");
      r->p += 8;
      return FLOE_OK;
    case CT_UUID:
      if (r->end - r->p < 16) return fail(r, "truncated uuid");
      r->p += 16;
      return FLOE_OK;
    case CT_BINARY:
      return read_binary(r, &b);
    case CT_LIST:
    case CT_SET: {
      int elem;
      int64_t n;
      if ((rc = read_list_header(r, &elem, &n)) < 0) return rc;
      if (++r->depth > MAX_DEPTH) return fail(r, "lists nested too deeply");
      for (int64_t i = 0; i < n; i++) {
        /* Bools inside a list take one byte each. */
        if (elem == CT_TRUE || elem == CT_FALSE) elem = CT_BYTE;
        if ((rc = skip_value(r, elem)) < 0) return rc;
      }
      r->depth--;
      return FLOE_OK;
    }
    case CT_MAP: {
      if ((rc = read_uvarint(r, &u)) < 0) return rc;
      if (u == 0) return FLOE_OK;
      if (u > (uint64_t)(r->end - r->p)) return fail(r, "map longer than the input");
      if (r->p >= r->end) return fail(r, "truncated map header");
      uint8_t kv = *r->p++;
      int kt = kv >> 4, vt = kv & 0x0f;
      if (kt == CT_TRUE || kt == CT_FALSE) kt = CT_BYTE;
      if (vt == CT_TRUE || vt == CT_FALSE) vt = CT_BYTE;
      if (++r->depth > MAX_DEPTH) return fail(r, "maps nested too deeply");
      for (uint64_t i = 0; i < u; i++) {
        if ((rc = skip_value(r, kt)) < 0) return rc;
        if ((rc = skip_value(r, vt)) < 0) return rc;
      }
      r->depth--;
      return FLOE_OK;
    }
    case CT_STRUCT:
      return skip_struct(r);
    default:
      return fail(r, "unknown compact type");
  }
}

/* Iterates a struct's fields: returns 1 with the id and type set, 0 at STOP. */
static int next_field(reader *r, int16_t *last_id, int16_t *id, int *type) {
  if (r->p >= r->end) return fail(r, "truncated struct");
  uint8_t h = *r->p++;
  if (h == CT_STOP) return 0;
  int delta = h >> 4;
  if (delta != 0) {
    *id = (int16_t)(*last_id + delta);
  } else {
    int64_t v;
    int rc = read_i64(r, &v);
    if (rc < 0) return rc;
    if (v < INT16_MIN || v > INT16_MAX) return fail(r, "field id out of range");
    *id = (int16_t)v;
  }
  *last_id = *id;
  *type = h & 0x0f;
  return 1;
}

/* Typed field readers: a field of the wrong wire type is a format error,
 * not something to reinterpret. */
static int field_i32(reader *r, int type, int32_t *out) {
  if (type != CT_I32 && type != CT_I16 && type != CT_BYTE)
    return fail(r, "expected an i32 field");
  if (type == CT_BYTE) {
    if (r->p >= r->end) return fail(r, "truncated byte");
    *out = (int8_t)*r->p++;
    return FLOE_OK;
  }
  return read_i32(r, out);
}

static int field_i64(reader *r, int type, int64_t *out) {
  if (type != CT_I64 && type != CT_I32 && type != CT_I16)
    return fail(r, "expected an i64 field");
  return read_i64(r, out);
}

static int field_bool(reader *r, int type, bool *out) {
  if (type != CT_TRUE && type != CT_FALSE) return fail(r, "expected a bool field");
  *out = type == CT_TRUE;
  return FLOE_OK;
}

static int field_binary(reader *r, int type, pq_bytes *out) {
  if (type != CT_BINARY) return fail(r, "expected a binary field");
  return read_binary(r, out);
}

static int field_string(reader *r, int type, const char **out) {
  if (type != CT_BINARY) return fail(r, "expected a string field");
  return read_string(r, out);
}

static int enter_struct(reader *r, int type) {
  if (type != CT_STRUCT) return fail(r, "expected a struct field");
  if (++r->depth > MAX_DEPTH) return fail(r, "structs nested too deeply");
  return FLOE_OK;
}

/* Reads a list<struct> header and allocates its elements (zeroed). */
static int struct_list(reader *r, int type, size_t elem_size, void **out,
                       int32_t *out_n) {
  int elem;
  int64_t n;
  if (type != CT_LIST && type != CT_SET) return fail(r, "expected a list field");
  int rc = read_list_header(r, &elem, &n);
  if (rc < 0) return rc;
  if (elem != CT_STRUCT && n > 0) return fail(r, "expected a list of structs");
  if (n > INT32_MAX) return fail(r, "list too long");
  *out = floe_arena_calloc(r->arena, (size_t)(n ? n : 1), elem_size);
  if (*out == NULL) return floe_error_set(r->err, FLOE_ENOMEM, "out of memory");
  *out_n = (int32_t)n;
  return FLOE_OK;
}

#define FIELDS_BEGIN                                   \
  int16_t last_id_ = 0, id;                            \
  int type, more;                                      \
  while ((more = next_field(r, &last_id_, &id, &type)) > 0) { \
    switch (id) {
#define FIELDS_END                                     \
      default:                                         \
        rc = skip_value(r, type);                      \
    }                                                  \
    if (rc < 0) return rc;                             \
  }                                                    \
  if (more < 0) return more;                           \
  r->depth--;                                          \
  return FLOE_OK;

static int read_key_value(reader *r, pq_key_value *kv) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_binary(r, type, &kv->key); break;
  case 2:
    rc = field_binary(r, type, &kv->value);
    kv->has_value = true;
    break;
  FIELDS_END
}

static int read_key_values(reader *r, int type, pq_key_value **out, int32_t *n) {
  int rc = struct_list(r, type, sizeof **out, (void **)out, n);
  for (int32_t i = 0; rc == FLOE_OK && i < *n; i++)
    if ((rc = enter_struct(r, CT_STRUCT)) == FLOE_OK)
      rc = read_key_value(r, &(*out)[i]);
  return rc;
}

static int read_statistics(reader *r, pq_statistics *s) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_binary(r, type, &s->max); s->has_max = true; break;
  case 2: rc = field_binary(r, type, &s->min); s->has_min = true; break;
  case 3: rc = field_i64(r, type, &s->null_count); s->has_null_count = true; break;
  case 4: rc = field_i64(r, type, &s->distinct_count); s->has_distinct_count = true; break;
  case 5: rc = field_binary(r, type, &s->max_value); s->has_max_value = true; break;
  case 6: rc = field_binary(r, type, &s->min_value); s->has_min_value = true; break;
  case 7:
    rc = field_bool(r, type, &s->is_max_value_exact);
    s->has_is_max_value_exact = true;
    break;
  case 8:
    rc = field_bool(r, type, &s->is_min_value_exact);
    s->has_is_min_value_exact = true;
    break;
  FIELDS_END
}

/* TimeUnit is a union of empty structs: MILLIS=1, MICROS=2, NANOS=3. */
static int read_time_unit(reader *r, pq_time_unit *unit) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: case 2: case 3:
    *unit = (pq_time_unit)id;
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = skip_struct(r), r->depth--;
    break;
  FIELDS_END
}

/* TimeType and TimestampType share field ids: 1 isAdjustedToUTC, 2 unit. */
static int read_time_type(reader *r, pq_logical_type *lt) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_bool(r, type, &lt->is_adjusted_to_utc); break;
  case 2:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_time_unit(r, &lt->unit);
    break;
  FIELDS_END
}

static int read_decimal_type(reader *r, pq_logical_type *lt) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &lt->decimal_scale); break;
  case 2: rc = field_i32(r, type, &lt->decimal_precision); break;
  FIELDS_END
}

static int read_int_type(reader *r, pq_logical_type *lt) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1:
    rc = field_i32(r, type, &v);
    lt->bit_width = (int8_t)v;
    break;
  case 2: rc = field_bool(r, type, &lt->is_signed); break;
  FIELDS_END
}

/* LogicalType is a union: exactly one member field is set. Members floe
 * does not know decode as PQ_LT_NONE (the converted type still applies). */
static int read_logical_type(reader *r, pq_logical_type *lt) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case PQ_LT_STRING: case PQ_LT_MAP: case PQ_LT_LIST: case PQ_LT_ENUM:
  case PQ_LT_DATE: case PQ_LT_UNKNOWN: case PQ_LT_JSON: case PQ_LT_BSON:
  case PQ_LT_UUID: case PQ_LT_FLOAT16:
    lt->kind = (pq_logical_kind)id;
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = skip_struct(r), r->depth--;
    break;
  case PQ_LT_DECIMAL:
    lt->kind = PQ_LT_DECIMAL;
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_decimal_type(r, lt);
    break;
  case PQ_LT_TIME: case PQ_LT_TIMESTAMP:
    lt->kind = (pq_logical_kind)id;
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_time_type(r, lt);
    break;
  case PQ_LT_INTEGER:
    lt->kind = PQ_LT_INTEGER;
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_int_type(r, lt);
    break;
  FIELDS_END
}

static int read_schema_element(reader *r, pq_schema_element *e) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1:
    rc = field_i32(r, type, &v);
    if (rc == FLOE_OK && (v < PQ_BOOLEAN || v > PQ_FIXED_LEN_BYTE_ARRAY))
      rc = fail(r, "unknown physical type");
    e->type = (pq_type)v;
    e->has_type = true;
    break;
  case 2: rc = field_i32(r, type, &e->type_length); e->has_type_length = true; break;
  case 3:
    rc = field_i32(r, type, &v);
    if (rc == FLOE_OK && (v < PQ_REQUIRED || v > PQ_REPEATED))
      rc = fail(r, "unknown repetition type");
    e->repetition = (pq_repetition)v;
    e->has_repetition = true;
    break;
  case 4: rc = field_string(r, type, &e->name); break;
  case 5: rc = field_i32(r, type, &e->num_children); e->has_num_children = true; break;
  case 6:
    rc = field_i32(r, type, &v);
    e->converted_type = (pq_converted_type)v;
    e->has_converted_type = true;
    break;
  case 7: rc = field_i32(r, type, &e->scale); e->has_scale = true; break;
  case 8: rc = field_i32(r, type, &e->precision); e->has_precision = true; break;
  case 9: rc = field_i32(r, type, &e->field_id); e->has_field_id = true; break;
  case 10:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_logical_type(r, &e->logical_type);
    e->has_logical_type = rc == FLOE_OK && e->logical_type.kind != PQ_LT_NONE;
    break;
  FIELDS_END
}

static int read_column_meta(reader *r, pq_column_meta *m) {
  int rc = FLOE_OK;
  int32_t v;
  int elem;
  int64_t n;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &v); m->type = (pq_type)v; break;
  case 2:
    if (type != CT_LIST) { rc = fail(r, "encodings: expected a list"); break; }
    if ((rc = read_list_header(r, &elem, &n)) < 0) break;
    if (n > 0 && elem != CT_I32) { rc = fail(r, "encodings: expected i32 elements"); break; }
    m->encodings = floe_arena_calloc(r->arena, (size_t)(n ? n : 1), sizeof *m->encodings);
    if (m->encodings == NULL) { rc = floe_error_set(r->err, FLOE_ENOMEM, "out of memory"); break; }
    m->n_encodings = (int32_t)n;
    for (int64_t i = 0; rc == FLOE_OK && i < n; i++) {
      rc = read_i32(r, &v);
      m->encodings[i] = (pq_encoding)v;
    }
    break;
  case 3:
    if (type != CT_LIST) { rc = fail(r, "path_in_schema: expected a list"); break; }
    if ((rc = read_list_header(r, &elem, &n)) < 0) break;
    if (n > 0 && elem != CT_BINARY) { rc = fail(r, "path_in_schema: expected strings"); break; }
    m->path_in_schema = floe_arena_calloc(r->arena, (size_t)(n ? n : 1), sizeof(char *));
    if (m->path_in_schema == NULL) { rc = floe_error_set(r->err, FLOE_ENOMEM, "out of memory"); break; }
    m->n_path = (int32_t)n;
    for (int64_t i = 0; rc == FLOE_OK && i < n; i++) rc = read_string(r, &m->path_in_schema[i]);
    break;
  case 4: rc = field_i32(r, type, &v); m->codec = (pq_codec)v; break;
  case 5: rc = field_i64(r, type, &m->num_values); break;
  case 6: rc = field_i64(r, type, &m->total_uncompressed_size); break;
  case 7: rc = field_i64(r, type, &m->total_compressed_size); break;
  case 8: rc = read_key_values(r, type, &m->key_value, &m->n_key_value); break;
  case 9: rc = field_i64(r, type, &m->data_page_offset); break;
  case 10:
    rc = field_i64(r, type, &m->index_page_offset);
    m->has_index_page_offset = true;
    break;
  case 11:
    rc = field_i64(r, type, &m->dictionary_page_offset);
    m->has_dictionary_page_offset = true;
    break;
  case 12:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_statistics(r, &m->statistics);
    m->has_statistics = true;
    break;
  FIELDS_END
}

static int read_column_chunk(reader *r, pq_column_chunk *c) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_string(r, type, &c->file_path); break;
  case 2: rc = field_i64(r, type, &c->file_offset); break;
  case 3:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_column_meta(r, &c->meta_data);
    c->has_meta_data = true;
    break;
  case 4: rc = field_i64(r, type, &c->offset_index_offset); c->has_offset_index = true; break;
  case 5: rc = field_i32(r, type, &c->offset_index_length); break;
  case 6: rc = field_i64(r, type, &c->column_index_offset); c->has_column_index = true; break;
  case 7: rc = field_i32(r, type, &c->column_index_length); break;
  FIELDS_END
}

static int read_sorting_column(reader *r, pq_sorting_column *s) {
  int rc = FLOE_OK;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &s->column_idx); break;
  case 2: rc = field_bool(r, type, &s->descending); break;
  case 3: rc = field_bool(r, type, &s->nulls_first); break;
  FIELDS_END
}

static int read_row_group(reader *r, pq_row_group *g) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1:
    rc = struct_list(r, type, sizeof *g->columns, (void **)&g->columns, &g->n_columns);
    for (int32_t i = 0; rc == FLOE_OK && i < g->n_columns; i++)
      if ((rc = enter_struct(r, CT_STRUCT)) == FLOE_OK)
        rc = read_column_chunk(r, &g->columns[i]);
    break;
  case 2: rc = field_i64(r, type, &g->total_byte_size); break;
  case 3: rc = field_i64(r, type, &g->num_rows); break;
  case 4:
    rc = struct_list(r, type, sizeof *g->sorting_columns, (void **)&g->sorting_columns,
                     &g->n_sorting_columns);
    for (int32_t i = 0; rc == FLOE_OK && i < g->n_sorting_columns; i++)
      if ((rc = enter_struct(r, CT_STRUCT)) == FLOE_OK)
        rc = read_sorting_column(r, &g->sorting_columns[i]);
    break;
  case 5: rc = field_i64(r, type, &g->file_offset); g->has_file_offset = true; break;
  case 6:
    rc = field_i64(r, type, &g->total_compressed_size);
    g->has_total_compressed_size = true;
    break;
  case 7:
    rc = field_i32(r, type, &v);
    g->ordinal = (int16_t)v;
    g->has_ordinal = true;
    break;
  FIELDS_END
}

static int read_file_meta(reader *r, pq_file_meta *m) {
  int rc = FLOE_OK;
  int elem;
  int64_t n;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &m->version); break;
  case 2:
    rc = struct_list(r, type, sizeof *m->schema, (void **)&m->schema, &m->n_schema);
    for (int32_t i = 0; rc == FLOE_OK && i < m->n_schema; i++)
      if ((rc = enter_struct(r, CT_STRUCT)) == FLOE_OK)
        rc = read_schema_element(r, &m->schema[i]);
    break;
  case 3: rc = field_i64(r, type, &m->num_rows); break;
  case 4:
    rc = struct_list(r, type, sizeof *m->row_groups, (void **)&m->row_groups,
                     &m->n_row_groups);
    for (int32_t i = 0; rc == FLOE_OK && i < m->n_row_groups; i++)
      if ((rc = enter_struct(r, CT_STRUCT)) == FLOE_OK)
        rc = read_row_group(r, &m->row_groups[i]);
    break;
  case 5: rc = read_key_values(r, type, &m->key_value, &m->n_key_value); break;
  case 6: rc = field_string(r, type, &m->created_by); break;
  case 7:
    /* list<ColumnOrder>: only the count matters (TYPE_ORDER everywhere). */
    if (type != CT_LIST) { rc = fail(r, "column_orders: expected a list"); break; }
    if ((rc = read_list_header(r, &elem, &n)) < 0) break;
    m->n_column_orders = (int32_t)n;
    if (++r->depth > MAX_DEPTH) { rc = fail(r, "lists nested too deeply"); break; }
    for (int64_t i = 0; rc == FLOE_OK && i < n; i++) rc = skip_value(r, elem);
    r->depth--;
    break;
  FIELDS_END
}

int pq_file_meta_read(const uint8_t *data, size_t len, floe_arena *arena,
                      pq_file_meta *out, floe_error *err) {
  reader r = {data, data, data + len, arena, err, 1};
  memset(out, 0, sizeof *out);
  int rc = read_file_meta(&r, out);
  if (rc < 0) return floe_error_prefix(err, "FileMetaData"), rc;
  for (int32_t i = 0; i < out->n_schema; i++)
    if (out->schema[i].name == NULL)
      return floe_error_set(err, FLOE_EFORMAT,
                            "FileMetaData: schema element %" PRId32 " has no name", i);
  return FLOE_OK;
}

static int read_data_page_header(reader *r, pq_data_page_header *h) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &h->num_values); break;
  case 2: rc = field_i32(r, type, &v); h->encoding = (pq_encoding)v; break;
  case 3: rc = field_i32(r, type, &v); h->definition_level_encoding = (pq_encoding)v; break;
  case 4: rc = field_i32(r, type, &v); h->repetition_level_encoding = (pq_encoding)v; break;
  case 5:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_statistics(r, &h->statistics);
    h->has_statistics = true;
    break;
  FIELDS_END
}

static int read_dictionary_page_header(reader *r, pq_dictionary_page_header *h) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &h->num_values); break;
  case 2: rc = field_i32(r, type, &v); h->encoding = (pq_encoding)v; break;
  case 3: rc = field_bool(r, type, &h->is_sorted); h->has_is_sorted = true; break;
  FIELDS_END
}

static int read_data_page_header_v2(reader *r, pq_data_page_header_v2 *h) {
  int rc = FLOE_OK;
  int32_t v;
  h->is_compressed = true; /* parquet.thrift: default true */
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &h->num_values); break;
  case 2: rc = field_i32(r, type, &h->num_nulls); break;
  case 3: rc = field_i32(r, type, &h->num_rows); break;
  case 4: rc = field_i32(r, type, &v); h->encoding = (pq_encoding)v; break;
  case 5: rc = field_i32(r, type, &h->definition_levels_byte_length); break;
  case 6: rc = field_i32(r, type, &h->repetition_levels_byte_length); break;
  case 7: rc = field_bool(r, type, &h->is_compressed); break;
  case 8:
    if ((rc = enter_struct(r, type)) == FLOE_OK) rc = read_statistics(r, &h->statistics);
    h->has_statistics = true;
    break;
  FIELDS_END
}

static int read_page_header(reader *r, pq_page_header *h) {
  int rc = FLOE_OK;
  int32_t v;
  FIELDS_BEGIN
  case 1: rc = field_i32(r, type, &v); h->type = (pq_page_type)v; break;
  case 2: rc = field_i32(r, type, &h->uncompressed_page_size); break;
  case 3: rc = field_i32(r, type, &h->compressed_page_size); break;
  case 4: rc = field_i32(r, type, &h->crc); h->has_crc = true; break;
  case 5:
    if ((rc = enter_struct(r, type)) == FLOE_OK)
      rc = read_data_page_header(r, &h->data_page_header);
    h->has_data_page_header = true;
    break;
  case 7:
    if ((rc = enter_struct(r, type)) == FLOE_OK)
      rc = read_dictionary_page_header(r, &h->dictionary_page_header);
    h->has_dictionary_page_header = true;
    break;
  case 8:
    if ((rc = enter_struct(r, type)) == FLOE_OK)
      rc = read_data_page_header_v2(r, &h->data_page_header_v2);
    h->has_data_page_header_v2 = true;
    break;
  FIELDS_END
}

int pq_page_header_read(const uint8_t *data, size_t len, floe_arena *arena,
                        pq_page_header *out, size_t *out_consumed,
                        floe_error *err) {
  reader r = {data, data, data + len, arena, err, 1};
  memset(out, 0, sizeof *out);
  out->data_page_header_v2.is_compressed = true;
  int rc = read_page_header(&r, out);
  if (rc < 0) return floe_error_prefix(err, "PageHeader"), rc;
  *out_consumed = (size_t)(r.p - data);
  return FLOE_OK;
}
