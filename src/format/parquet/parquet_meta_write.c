/*
 * format/parquet/parquet_meta_write: Thrift compact-protocol encoding of the
 * Parquet footer (FileMetaData) and page headers (PageHeader).
 *
 * The compact protocol (Thrift spec: thrift-compact-protocol.md) writes each
 * struct field as a header byte holding the field-id delta from the previous
 * field (1..15) in the high nibble and the type in the low nibble, or a type
 * byte followed by the zigzag-varint field id when the delta does not fit;
 * booleans travel in the type nibble itself (1 = true, 2 = false); integers
 * are zigzag varints; binary is a varint length and the bytes; lists are a
 * size/element-type byte (size >= 15 spills into a varint); a struct ends
 * with a 0 byte. Field ids below are those of parquet.thrift.
 *
 * Errors are sticky: every append goes through a small writer that records
 * the first allocation failure, so the encoders read like the IDL they
 * mirror and report once at the end.
 */
#include <string.h>

#include "format/parquet/parquet_meta.h"

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
  CT_STRUCT = 12
};

typedef struct tw {
  floe_buf *out;
  int rc;
} tw;

static void put_byte(tw *w, uint8_t b) {
  if (w->rc == 0) w->rc = floe_buf_append_byte(w->out, b);
}

static void put_uvarint(tw *w, uint64_t v) {
  if (w->rc == 0) w->rc = floe_buf_append_uvarint(w->out, v);
}

static void put_zigzag(tw *w, int64_t v) {
  if (w->rc == 0) w->rc = floe_buf_append_zigzag(w->out, v);
}

/* Field header; *last is the previous field id of the enclosing struct. */
static void field(tw *w, int16_t *last, int16_t id, uint8_t type) {
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    put_byte(w, (uint8_t)(delta << 4 | type));
  } else {
    put_byte(w, type);
    put_zigzag(w, id);
  }
  *last = id;
}

static void field_i32(tw *w, int16_t *last, int16_t id, int32_t v) {
  field(w, last, id, CT_I32);
  put_zigzag(w, v);
}

static void field_i64(tw *w, int16_t *last, int16_t id, int64_t v) {
  field(w, last, id, CT_I64);
  put_zigzag(w, v);
}

static void field_bool(tw *w, int16_t *last, int16_t id, bool v) {
  field(w, last, id, v ? CT_TRUE : CT_FALSE);
}

static void put_binary(tw *w, const void *data, int64_t len) {
  put_uvarint(w, (uint64_t)len);
  if (w->rc == 0 && len > 0) w->rc = floe_buf_append(w->out, data, (size_t)len);
}

static void field_binary(tw *w, int16_t *last, int16_t id, const void *data,
                         int64_t len) {
  field(w, last, id, CT_BINARY);
  put_binary(w, data, len);
}

static void field_string(tw *w, int16_t *last, int16_t id, const char *s) {
  field_binary(w, last, id, s, (int64_t)strlen(s));
}

static void list_header(tw *w, int64_t size, uint8_t elem_type) {
  if (size < 15) {
    put_byte(w, (uint8_t)(size << 4 | elem_type));
  } else {
    put_byte(w, (uint8_t)(0xF0 | elem_type));
    put_uvarint(w, (uint64_t)size);
  }
}

static void stop(tw *w) { put_byte(w, CT_STOP); }

/* An empty struct as a field (the members of LogicalType, TimeUnit and
 * ColumnOrder unions). */
static void field_empty_struct(tw *w, int16_t *last, int16_t id) {
  field(w, last, id, CT_STRUCT);
  stop(w);
}

/* parquet.thrift: Statistics. */
static void write_statistics(tw *w, const pq_statistics *s) {
  int16_t last = 0;
  if (s->has_max) field_binary(w, &last, 1, s->max.data, s->max.len);
  if (s->has_min) field_binary(w, &last, 2, s->min.data, s->min.len);
  if (s->has_null_count) field_i64(w, &last, 3, s->null_count);
  if (s->has_distinct_count) field_i64(w, &last, 4, s->distinct_count);
  if (s->has_max_value)
    field_binary(w, &last, 5, s->max_value.data, s->max_value.len);
  if (s->has_min_value)
    field_binary(w, &last, 6, s->min_value.data, s->min_value.len);
  if (s->has_is_max_value_exact)
    field_bool(w, &last, 7, s->is_max_value_exact);
  if (s->has_is_min_value_exact)
    field_bool(w, &last, 8, s->is_min_value_exact);
  stop(w);
}

/* parquet.thrift: TimeUnit union (MILLIS = 1, MICROS = 2, NANOS = 3). */
static void write_time_unit(tw *w, pq_time_unit unit) {
  int16_t last = 0;
  field_empty_struct(w, &last, (int16_t)unit);
  stop(w);
}

/* parquet.thrift: LogicalType union; the member's field id is its kind. */
static void write_logical_type(tw *w, const pq_logical_type *lt) {
  int16_t last = 0;
  int16_t inner = 0;
  field(w, &last, (int16_t)lt->kind, CT_STRUCT);
  switch (lt->kind) {
    case PQ_LT_DECIMAL:
      field_i32(w, &inner, 1, lt->decimal_scale);
      field_i32(w, &inner, 2, lt->decimal_precision);
      break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
      field_bool(w, &inner, 1, lt->is_adjusted_to_utc);
      field(w, &inner, 2, CT_STRUCT);
      write_time_unit(w, lt->unit);
      break;
    case PQ_LT_INTEGER:
      field(w, &inner, 1, CT_BYTE);
      put_byte(w, (uint8_t)lt->bit_width);
      field_bool(w, &inner, 2, lt->is_signed);
      break;
    default: /* STRING, DATE, UUID, JSON, ...: empty structs */
      break;
  }
  stop(w); /* the member struct */
  stop(w); /* the union */
}

/* parquet.thrift: SchemaElement. */
static void write_schema_element(tw *w, const pq_schema_element *e) {
  int16_t last = 0;
  if (e->has_type) field_i32(w, &last, 1, (int32_t)e->type);
  if (e->has_type_length) field_i32(w, &last, 2, e->type_length);
  if (e->has_repetition) field_i32(w, &last, 3, (int32_t)e->repetition);
  field_string(w, &last, 4, e->name != NULL ? e->name : "");
  if (e->has_num_children) field_i32(w, &last, 5, e->num_children);
  if (e->has_converted_type)
    field_i32(w, &last, 6, (int32_t)e->converted_type);
  if (e->has_scale) field_i32(w, &last, 7, e->scale);
  if (e->has_precision) field_i32(w, &last, 8, e->precision);
  if (e->has_field_id) field_i32(w, &last, 9, e->field_id);
  if (e->has_logical_type && e->logical_type.kind != PQ_LT_NONE) {
    field(w, &last, 10, CT_STRUCT);
    write_logical_type(w, &e->logical_type);
  }
  stop(w);
}

static void write_key_values(tw *w, int16_t *last, int16_t id,
                             const pq_key_value *kv, int32_t n) {
  field(w, last, id, CT_LIST);
  list_header(w, n, CT_STRUCT);
  for (int32_t i = 0; i < n; i++) {
    int16_t inner = 0;
    field_binary(w, &inner, 1, kv[i].key.data, kv[i].key.len);
    if (kv[i].has_value)
      field_binary(w, &inner, 2, kv[i].value.data, kv[i].value.len);
    stop(w);
  }
}

/* parquet.thrift: ColumnMetaData. */
static void write_column_meta(tw *w, const pq_column_meta *m) {
  int16_t last = 0;
  field_i32(w, &last, 1, (int32_t)m->type);
  field(w, &last, 2, CT_LIST);
  list_header(w, m->n_encodings, CT_I32);
  for (int32_t i = 0; i < m->n_encodings; i++)
    put_zigzag(w, (int32_t)m->encodings[i]);
  field(w, &last, 3, CT_LIST);
  list_header(w, m->n_path, CT_BINARY);
  for (int32_t i = 0; i < m->n_path; i++)
    put_binary(w, m->path_in_schema[i], (int64_t)strlen(m->path_in_schema[i]));
  field_i32(w, &last, 4, (int32_t)m->codec);
  field_i64(w, &last, 5, m->num_values);
  field_i64(w, &last, 6, m->total_uncompressed_size);
  field_i64(w, &last, 7, m->total_compressed_size);
  if (m->n_key_value > 0)
    write_key_values(w, &last, 8, m->key_value, m->n_key_value);
  field_i64(w, &last, 9, m->data_page_offset);
  if (m->has_index_page_offset) field_i64(w, &last, 10, m->index_page_offset);
  if (m->has_dictionary_page_offset)
    field_i64(w, &last, 11, m->dictionary_page_offset);
  if (m->has_statistics) {
    field(w, &last, 12, CT_STRUCT);
    write_statistics(w, &m->statistics);
  }
  stop(w);
}

/* parquet.thrift: ColumnChunk. */
static void write_column_chunk(tw *w, const pq_column_chunk *c) {
  int16_t last = 0;
  if (c->file_path != NULL) field_string(w, &last, 1, c->file_path);
  field_i64(w, &last, 2, c->file_offset);
  if (c->has_meta_data) {
    field(w, &last, 3, CT_STRUCT);
    write_column_meta(w, &c->meta_data);
  }
  if (c->has_offset_index) {
    field_i64(w, &last, 4, c->offset_index_offset);
    field_i32(w, &last, 5, c->offset_index_length);
  }
  if (c->has_column_index) {
    field_i64(w, &last, 6, c->column_index_offset);
    field_i32(w, &last, 7, c->column_index_length);
  }
  stop(w);
}

/* parquet.thrift: RowGroup. */
static void write_row_group(tw *w, const pq_row_group *g) {
  int16_t last = 0;
  field(w, &last, 1, CT_LIST);
  list_header(w, g->n_columns, CT_STRUCT);
  for (int32_t i = 0; i < g->n_columns; i++)
    write_column_chunk(w, &g->columns[i]);
  field_i64(w, &last, 2, g->total_byte_size);
  field_i64(w, &last, 3, g->num_rows);
  if (g->n_sorting_columns > 0) {
    field(w, &last, 4, CT_LIST);
    list_header(w, g->n_sorting_columns, CT_STRUCT);
    for (int32_t i = 0; i < g->n_sorting_columns; i++) {
      int16_t inner = 0;
      field_i32(w, &inner, 1, g->sorting_columns[i].column_idx);
      field_bool(w, &inner, 2, g->sorting_columns[i].descending);
      field_bool(w, &inner, 3, g->sorting_columns[i].nulls_first);
      stop(w);
    }
  }
  if (g->has_file_offset) field_i64(w, &last, 5, g->file_offset);
  if (g->has_total_compressed_size)
    field_i64(w, &last, 6, g->total_compressed_size);
  if (g->has_ordinal) {
    field(w, &last, 7, CT_I16);
    put_zigzag(w, g->ordinal);
  }
  stop(w);
}

int pq_file_meta_write(const pq_file_meta *meta, floe_buf *out) {
  tw w = {out, 0};
  int16_t last = 0;
  field_i32(&w, &last, 1, meta->version);
  field(&w, &last, 2, CT_LIST);
  list_header(&w, meta->n_schema, CT_STRUCT);
  for (int32_t i = 0; i < meta->n_schema; i++)
    write_schema_element(&w, &meta->schema[i]);
  field_i64(&w, &last, 3, meta->num_rows);
  field(&w, &last, 4, CT_LIST);
  list_header(&w, meta->n_row_groups, CT_STRUCT);
  for (int32_t i = 0; i < meta->n_row_groups; i++)
    write_row_group(&w, &meta->row_groups[i]);
  if (meta->n_key_value > 0)
    write_key_values(&w, &last, 5, meta->key_value, meta->n_key_value);
  if (meta->created_by != NULL) field_string(&w, &last, 6, meta->created_by);
  if (meta->n_column_orders > 0) {
    /* ColumnOrder is a union whose only member is TYPE_ORDER (field 1, an
     * empty TypeDefinedOrder struct). */
    field(&w, &last, 7, CT_LIST);
    list_header(&w, meta->n_column_orders, CT_STRUCT);
    for (int32_t i = 0; i < meta->n_column_orders; i++) {
      int16_t inner = 0;
      field_empty_struct(&w, &inner, 1);
      stop(&w);
    }
  }
  stop(&w);
  return w.rc;
}

int pq_page_header_write(const pq_page_header *h, floe_buf *out) {
  tw w = {out, 0};
  int16_t last = 0;
  field_i32(&w, &last, 1, (int32_t)h->type);
  field_i32(&w, &last, 2, h->uncompressed_page_size);
  field_i32(&w, &last, 3, h->compressed_page_size);
  if (h->has_crc) field_i32(&w, &last, 4, h->crc);
  if (h->has_data_page_header) {
    const pq_data_page_header *d = &h->data_page_header;
    int16_t inner = 0;
    field(&w, &last, 5, CT_STRUCT);
    field_i32(&w, &inner, 1, d->num_values);
    field_i32(&w, &inner, 2, (int32_t)d->encoding);
    field_i32(&w, &inner, 3, (int32_t)d->definition_level_encoding);
    field_i32(&w, &inner, 4, (int32_t)d->repetition_level_encoding);
    if (d->has_statistics) {
      field(&w, &inner, 5, CT_STRUCT);
      write_statistics(&w, &d->statistics);
    }
    stop(&w);
  }
  if (h->has_dictionary_page_header) {
    const pq_dictionary_page_header *d = &h->dictionary_page_header;
    int16_t inner = 0;
    field(&w, &last, 7, CT_STRUCT);
    field_i32(&w, &inner, 1, d->num_values);
    field_i32(&w, &inner, 2, (int32_t)d->encoding);
    if (d->has_is_sorted) field_bool(&w, &inner, 3, d->is_sorted);
    stop(&w);
  }
  if (h->has_data_page_header_v2) {
    const pq_data_page_header_v2 *d = &h->data_page_header_v2;
    int16_t inner = 0;
    field(&w, &last, 8, CT_STRUCT);
    field_i32(&w, &inner, 1, d->num_values);
    field_i32(&w, &inner, 2, d->num_nulls);
    field_i32(&w, &inner, 3, d->num_rows);
    field_i32(&w, &inner, 4, (int32_t)d->encoding);
    field_i32(&w, &inner, 5, d->definition_levels_byte_length);
    field_i32(&w, &inner, 6, d->repetition_levels_byte_length);
    if (!d->is_compressed) field_bool(&w, &inner, 7, false);
    if (d->has_statistics) {
      field(&w, &inner, 8, CT_STRUCT);
      write_statistics(&w, &d->statistics);
    }
    stop(&w);
  }
  stop(&w);
  return w.rc;
}
