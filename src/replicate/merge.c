/*
 * replicate/merge: applying a change set to an Iceberg table in one commit
 * (include/floe/merge.h): upsert on a key, change capture from an operation
 * column, and hash-diff of a full source against the table.
 *
 * The merge runs in three phases, each bounded by the change set, never by
 * the table:
 *
 *  1. add: change rows are copied, columnar, into chunks of CHUNK_ROWS
 *     rows in the table's column layout (missing optional columns become
 *     nulls). Each row's key is encoded (merge_key_encode) into an arena and
 *     entered in an open-addressing hash table of entries; a later change of
 *     a key wins over an earlier one when its ordering value is larger or
 *     equal (ties go to arrival order), so each entry holds the winning row
 *     and its action (upsert or delete).
 *  2. table pass: one scan of the table's live rows reading only what the
 *     delete kind needs: the key columns plus _file/_pos (position deletes,
 *     copy-on-write), plus the partition source columns (equality deletes:
 *     the delete must live in the partition of the row it deletes), or
 *     every column (hash-diff, hashed on the fly). A range or IN filter on
 *     the first key column lets the scan prune data files by partition and
 *     column bounds. Each live row whose key is in the change set is marked
 *     on its entry and deleted (position delete, equality delete, or
 *     remembered for rewriting); for hash-diff, rows whose hash matches the
 *     source are left alone and rows whose key the source lacks are deleted.
 *  3. write and commit: the winning upserts go through the data writer
 *     (partitioned like the table), deletes through the position or
 *     equality delete writer; copy-on-write rewrites each affected data
 *     file without its replaced rows. One row-delta (or overwrite) snapshot
 *     carries everything plus the caller's summary properties. A commit
 *     hook turns a rebase into a clean conflict when a concurrent commit
 *     added data that may hold keys of this change set (or, for hash-diff,
 *     changed the table at all).
 *
 * Bounded memory (options.memory_bytes, merge.memory_mb): rows deleted in
 * the table are marked in a bitmap per data file (a bit per row), written
 * as position deletes in file and position order or skipped by the copy-
 * on-write rewrite after the pass. When the buffered change set outgrows
 * the budget, the merge spills (replicate/spill.h): each key's winning row
 * so far, then every later change row, goes to one of up to
 * SPILL_MAX_PARTS files by the key hash's top bits, and a (blocked) Bloom
 * filter learns the key. The table
 * pass then writes each live row whose key the filter may hold (key, data
 * file and position, the row hash for hash-diff, the delete's values for
 * equality deletes) to the matching table-side file; a hash-diff row whose
 * key the filter lacks is deleted at once. The commit merges partition by
 * partition: its change rows are read back into the buffer and key table
 * in arrival order (so winners, ties and counts are those of the in-memory
 * merge), its table rows are matched in scan order as phase 2 does, its
 * new rows are written and its counts added; then the buffer is emptied
 * for the next. A partition too large for the budget is first split by
 * further hash bits (merge_spilled), recursively, so the memory a
 * partition needs stays bounded at any change-set size. The scans of the
 * table take the key range as a pruning filter only (every row's key is
 * looked up anyway), and copy-on-write reads only the data files that
 * hold replaced rows; its scan leaves those rows out itself (so kept rows
 * are copied once) and runs on a second thread (options.threads) while
 * the caller's thread encodes what it read (cow_rewrite).
 * The data writers' row groups are bounded by half the
 * budget. The spill directory is removed when the commit ends, whatever
 * its outcome.
 *
 * Equality deletes and same-commit inserts: a row's new version and the
 * equality delete of its old version land in one snapshot, so both get the
 * same data sequence number, and an equality delete applies only to data
 * files with a strictly smaller one (Iceberg spec: Scan Planning, "An
 * equality delete file must be applied to a data file when ... the data
 * file's data sequence number is strictly less than the delete's"). The
 * new version therefore survives its own delete.
 */
#include "floe/merge.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "floe/scan.h"
#include "replicate/pipeline.h"
#include "floe/table.h"
#include "floe/table_writer.h"
#include "replicate/merge_internal.h"
#include "replicate/spill.h"


#define CHUNK_ROWS 65536
#define OUT_BATCH_ROWS 65536
/* Up to this many changed keys the scan filter is an IN list (precise
 * bounds and partition pruning); above it, a [min, max] range. */
#define IN_FILTER_MAX 64
/* Spilling: the default change-set budget; the most hash partitions a
 * spill (or a split partition) fans out to (a partition is merged in
 * memory on its own); each spill file's buffer. The fan-out is also held
 * to the budget: its buffers (two files a partition) take at most a
 * sixteenth of it, so 256 partitions from 128 MiB up, 2 at 1 MiB. */
#define DEFAULT_MEMORY_BYTES (INT64_C(128) << 20)
#define SPILL_MAX_PARTS 256
#define SPILL_BUFFER (16 * 1024)
/* A spilled partition is split again (by further bits of the key hash)
 * when its change rows, as buffered in memory (record bytes plus about
 * SPILL_ROW_OVERHEAD a row for the key table), would pass half the
 * budget, unless it holds fewer than SPLIT_MIN_ROWS rows. */
#define SPILL_ROW_OVERHEAD 112
#define SPLIT_MIN_ROWS 64
/* Bloom filter over the spilled change set's keys: at most this many
 * bytes (and at most an eighth of the budget), BLOOM_PROBES bits a key. */
#define BLOOM_MAX_BYTES ((size_t)16 << 20)
#define BLOOM_PROBES 4

enum { ACT_UPSERT = 0, ACT_DELETE = 1 };
enum {
  F_EXISTS = 1,    /* the table held a live row with this key */
  F_UNCHANGED = 2, /* hash-diff: the table row equals the source row */
  F_ORDER_NULL = 4, /* the winning row's ordering value is null */
  F_THEN_NULL = 8   /* the winning row's second ordering value is null */
};

typedef struct merge_entry {
  uint64_t hash;
  const uint8_t *key; /* in merge->arena */
  uint32_t key_len;
  uint8_t action;
  uint8_t flags;
  int64_t row;        /* winning buffered row: chunk * CHUNK_ROWS + index */
  floe_int128 order;  /* its ordering value */
  floe_int128 then;   /* its second ordering value */
  uint64_t row_hash;  /* hash-diff: of the winning row's non-key columns */
} merge_entry;

typedef struct merge_column {
  int32_t field_id;
  const char *name;
  bool required;
  const floe_iceberg_type *type;
  floe_arrow_type_info arrow;
  int32_t key_index; /* position in the key, or -1 */
  bool unhashed;      /* hash-diff leaves it out (load metadata) */
  bool is_op;         /* filled with I/U when written (options.op_field_id) */
} merge_column;

typedef struct merge_chunk {
  struct ArrowArray array;
  floe_arrow_view *views; /* one per table column */
  int64_t length;
} merge_chunk;

/* Rows of one data file that the merge deletes: a bit per position. */
typedef struct task_rows {
  uint8_t *bits;
  size_t n_bytes;
} task_rows;

struct floe_merge {
  floe_table *table;
  floe_iceberg_metadata *md; /* copy of the table's metadata at begin */
  const floe_iceberg_schema *schema;
  const floe_iceberg_partition_spec *spec;
  floe_merge_kind kind;
  floe_merge_deletes deletes;
  int32_t order_field_id;
  int32_t order_column;      /* index into columns, or -1 */
  int32_t then_field_id;
  int32_t then_column;       /* second ordering column, or -1 */
  char *op_column, *op_insert, *op_update, *op_delete;
  int32_t n_summary;
  floe_iceberg_property *summary;
  int32_t n_properties;
  floe_iceberg_property *properties;
  floe_table_precondition precondition;
  void *precondition_ctx;
  char *name; /* table name for messages */

  int32_t n_columns;
  merge_column *columns;
  int32_t n_keys;
  int32_t *key_columns; /* indices into columns, in key order */
  struct ArrowSchema row_schema;

  /* buffered change rows */
  floe_arrow_batch_builder builder;
  int64_t builder_rows;
  merge_chunk *chunks;
  int64_t n_chunks, cap_chunks;
  int64_t n_batches;

  int64_t chunk_bytes; /* buffers held by the sealed chunks */

  /* the key table */
  floe_arena arena;
  merge_entry *entries;
  int64_t n_entries, cap_entries;
  int32_t *slots; /* entry index + 1; 0 = empty */
  uint64_t n_slots;

  floe_buf scratch;
  floe_merge_result result;
  int64_t table_rows_deleted;
  int64_t rows_written;
  bool committed, failed;

  /* writers (open while the merge's files are not committed) */
  floe_table_writer_options wopts;
  char *prefix_base;
  floe_data_writer *data_writer;
  floe_position_delete_writer *pos_writer;
  floe_equality_delete_writer *eq_writer;
  floe_content_file_list data_files, pos_files, eq_files;

  /* concurrency check */
  int64_t base_sequence_number;
  bool has_key_range;
  floe_iceberg_value key_lo, key_hi;
  floe_buf range_lo, range_hi; /* first key column encodings seen */
  bool range_seen;
  char conflict[512];
  int64_t threads; /* options.threads: the copy-on-write rewrite's */

  /* spilling (options.memory_bytes) */
  int64_t memory_budget;
  char *spill_parent;
  floe_spill *spill; /* set once the change set spilled: files 0..spill_parts-1
                      * hold change rows, the next spill_parts table keys
                      * (split partitions add files) */
  int32_t spill_parts, spill_bits; /* spill_parts = 1 << spill_bits */
  uint8_t *bloom;
  uint64_t bloom_bits; /* a power of two */
  floe_buf record;
  const floe_arrow_view **spill_cols; /* per table column, for records */
  int64_t *spill_rows;
};

/* ==== hashing (XXH64) ================================================= */

#define XXH_P1 UINT64_C(11400714785074694791)
#define XXH_P2 UINT64_C(14029467366897019727)
#define XXH_P3 UINT64_C(1609587929392839161)
#define XXH_P4 UINT64_C(9650029242287828579)
#define XXH_P5 UINT64_C(2870177450012600261)

static inline uint64_t rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}
static inline uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v; /* little-endian hosts only, as the rest of floe */
}
static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * XXH_P2;
  acc = rotl64(acc, 31);
  return acc * XXH_P1;
}
static inline uint64_t xxh_merge(uint64_t acc, uint64_t val) {
  acc ^= xxh_round(0, val);
  return acc * XXH_P1 + XXH_P4;
}

uint64_t floe_merge_xxh64(const void *data, size_t len, uint64_t seed) {
  const uint8_t *p = data, *end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed,
             v4 = seed - XXH_P1;
    const uint8_t *limit = end - 32;
    do {
      v1 = xxh_round(v1, rd64(p));
      v2 = xxh_round(v2, rd64(p + 8));
      v3 = xxh_round(v3, rd64(p + 16));
      v4 = xxh_round(v4, rd64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = xxh_merge(h, v1);
    h = xxh_merge(h, v2);
    h = xxh_merge(h, v3);
    h = xxh_merge(h, v4);
  } else {
    h = seed + XXH_P5;
  }
  h += (uint64_t)len;
  while (p + 8 <= end) {
    h ^= xxh_round(0, rd64(p));
    h = rotl64(h, 27) * XXH_P1 + XXH_P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= (uint64_t)rd32(p) * XXH_P1;
    h = rotl64(h, 23) * XXH_P2 + XXH_P3;
    p += 4;
  }
  while (p < end) {
    h ^= (uint64_t)(*p) * XXH_P5;
    h = rotl64(h, 11) * XXH_P1;
    p++;
  }
  h ^= h >> 33;
  h *= XXH_P2;
  h ^= h >> 29;
  h *= XXH_P3;
  h ^= h >> 32;
  return h;
}

/* ==== keys and row hashes ============================================= */

/* Appends the key encoding of one non-null value: fixed-width types as
 * their little-endian bytes, variable-width as a 4-byte length then the
 * bytes, so a concatenation of key columns is unambiguous. Change rows and
 * scanned rows both arrive in the table's Arrow types, so equal values
 * encode equally. */
static int key_append(floe_buf *out, const floe_arrow_view *v, int64_t i) {
  switch (v->type.id) {
    case FLOE_ARROW_BOOL: {
      uint8_t b = floe_arrow_view_bool(v, i) ? 1 : 0;
      return floe_buf_append(out, &b, 1);
    }
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY: {
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
      uint32_t l32 = (uint32_t)len;
      int rc = floe_buf_append(out, &l32, 4);
      if (rc < 0) return rc;
      return floe_buf_append(out, bytes, len);
    }
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: {
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
      return floe_buf_append(out, bytes, len);
    }
    default: {
      int32_t size = floe_arrow_type_value_size(&v->type);
      return floe_buf_append(out, v->values + (v->offset + i) * size,
                             (size_t)size);
    }
  }
}

/* Appends row i's value of a column (typed `type`) to a row-hash input:
 * 0x00 for null, else 0x01, a 4-byte length and the Appendix D binary
 * single-value serialization (Iceberg spec: Appendix D), so the hash of a
 * row is stable across runs, machines and file layouts. */
static int row_hash_append(floe_buf *out, const floe_iceberg_type *type,
                           const floe_arrow_view *v, int64_t i,
                           floe_error *err) {
  uint8_t marker = floe_arrow_view_is_null(v, i) ? 0 : 1;
  int rc = floe_buf_append(out, &marker, 1);
  if (rc < 0 || marker == 0) return rc;
  size_t len_at = out->len;
  uint32_t l32 = 0;
  rc = floe_buf_append(out, &l32, 4);
  if (rc < 0) return rc;
  if (type->id == FLOE_ICEBERG_LIST) {
    /* A list: its element count, then each element as a value of its own
     * (null marker, length, bytes), so [a, b] and [ab] differ. */
    floe_arrow_view child;
    rc = floe_arrow_view_list_child(v, &child, err);
    if (rc < 0) return rc;
    int64_t start, end;
    floe_arrow_view_list_range(v, i, &start, &end);
    uint32_t count = (uint32_t)(end - start);
    rc = floe_buf_append(out, &count, 4);
    for (int64_t k = start; rc == FLOE_OK && k < end; k++)
      rc = row_hash_append(out, &type->fields[0].type, &child, k, err);
    if (rc < 0) return rc;
  } else if (type->id == FLOE_ICEBERG_STRUCT) {
    /* A struct: its field count, then each field's id and value, fields in
     * ascending id order (the order of the schema's ids, not of the file's
     * columns). */
    uint32_t count = (uint32_t)type->n_fields;
    rc = floe_buf_append(out, &count, 4);
    int32_t last_id = INT32_MIN;
    for (int32_t n = 0; rc == FLOE_OK && n < type->n_fields; n++) {
      int32_t next = -1;
      for (int32_t k = 0; k < type->n_fields; k++)
        if (type->fields[k].id > last_id && (next < 0 || type->fields[k].id < type->fields[next].id))
          next = k;
      if (next < 0) break;
      last_id = type->fields[next].id;
      floe_arrow_view child;
      rc = floe_arrow_view_struct_child(v, next, &child, err);
      if (rc == FLOE_OK) rc = floe_buf_append(out, &last_id, 4);
      if (rc == FLOE_OK) rc = row_hash_append(out, &type->fields[next].type, &child, i, err);
    }
    if (rc < 0) return rc;
  } else if (type->id == FLOE_ICEBERG_MAP) {
    /* A map: its entry count, then each entry's key and value in stored
     * order, so the same entries in another order hash differently (a
     * reordered map counts as changed; docs/config.md). */
    floe_arrow_view keys, values;
    rc = floe_arrow_view_map_entries(v, &keys, &values, err);
    if (rc < 0) return rc;
    int64_t start, end;
    floe_arrow_view_list_range(v, i, &start, &end);
    uint32_t count = (uint32_t)(end - start);
    rc = floe_buf_append(out, &count, 4);
    for (int64_t k = start; rc == FLOE_OK && k < end; k++) {
      rc = row_hash_append(out, &type->fields[0].type, &keys, k, err);
      if (rc == FLOE_OK) rc = row_hash_append(out, &type->fields[1].type, &values, k, err);
    }
    if (rc < 0) return rc;
  } else {
    floe_iceberg_value value;
    rc = floe_iceberg_value_from_arrow(type, v, i, &value, err);
    if (rc < 0) return rc;
    rc = floe_iceberg_value_to_binary(type, &value, out, err);
    if (rc < 0) return rc;
  }
  l32 = (uint32_t)(out->len - len_at - 4);
  memcpy(out->data + len_at, &l32, 4);
  return FLOE_OK;
}

/* ==== buffered rows =================================================== */

/* Appends row i of view v to builder b (same Arrow type). */
static int append_value(floe_arrow_builder *b, const floe_arrow_view *v,
                        int64_t i) {
  if (floe_arrow_view_is_null(v, i)) return floe_arrow_builder_append_null(b);
  switch (b->type.id) {
    case FLOE_ARROW_LIST: /* nested values, copied whole */
    case FLOE_ARROW_STRUCT:
    case FLOE_ARROW_MAP:
      return floe_arrow_builder_append_view(b, v, i, 1);
    case FLOE_ARROW_BOOL:
      return floe_arrow_builder_append_bool(b, floe_arrow_view_bool(v, i));
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32:
      return floe_arrow_builder_append_int32(b, floe_arrow_view_int32(v, i));
    case FLOE_ARROW_FLOAT:
      return floe_arrow_builder_append_float(b, floe_arrow_view_float(v, i));
    case FLOE_ARROW_DOUBLE:
      return floe_arrow_builder_append_double(b, floe_arrow_view_double(v, i));
    case FLOE_ARROW_DECIMAL128:
      return floe_arrow_builder_append_decimal(b, floe_arrow_view_decimal(v, i));
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: {
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
      return floe_arrow_builder_append_bytes(b, bytes, len);
    }
    default:
      return floe_arrow_builder_append_int64(b, floe_arrow_view_int64(v, i));
  }
}

/* Appends rows [start, start+n) of v to b, bulk-copying fixed-width values
 * when the column has no nulls. */
static int append_range(floe_arrow_builder *b, const floe_arrow_view *v,
                        int64_t start, int64_t n) {
  if (floe_arrow_type_is_nested(b->type.id)) return floe_arrow_builder_append_view(b, v, start, n);
  int32_t size = floe_arrow_type_value_size(&b->type);
  if (size > 0 && v->validity == NULL && b->validity == NULL) {
    int rc = floe_arrow_builder_reserve(b, n, 0);
    if (rc < 0) return rc;
    memcpy(b->values + (size_t)b->length * (size_t)size,
           v->values + (size_t)(v->offset + start) * (size_t)size,
           (size_t)n * (size_t)size);
    b->length += n;
    return FLOE_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    int rc = append_value(b, v, start + i);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

/* Moves the rows built so far into a new chunk. */
static int seal_chunk(floe_merge *m, floe_error *err) {
  if (m->builder_rows == 0) return FLOE_OK;
  if (m->n_chunks == m->cap_chunks) {
    int64_t cap = m->cap_chunks ? m->cap_chunks * 2 : 16;
    merge_chunk *c = floe_realloc(m->chunks, (size_t)cap * sizeof *c);
    if (c == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    m->chunks = c;
    m->cap_chunks = cap;
  }
  merge_chunk *c = &m->chunks[m->n_chunks];
  memset(c, 0, sizeof *c);
  for (int32_t i = 0; i < m->builder.n_columns; i++) {
    const floe_arrow_builder *b = &m->builder.columns[i];
    m->chunk_bytes += (int64_t)(b->validity_cap + b->values_cap + b->data_cap);
  }
  int rc = floe_arrow_batch_builder_finish(&m->builder, &c->array, err);
  if (rc < 0) return rc;
  m->n_chunks++;
  c->length = c->array.length;
  c->views = floe_calloc((size_t)m->n_columns, sizeof *c->views);
  if (c->views == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t k = 0; k < m->n_columns; k++) {
    rc = floe_arrow_view_init(&c->views[k], m->row_schema.children[k],
                              c->array.children[k], err);
    if (rc < 0) return rc;
  }
  m->builder_rows = 0;
  return FLOE_OK;
}

static inline const floe_arrow_view *row_view(const floe_merge *m, int64_t row,
                                              int32_t column, int64_t *index) {
  const merge_chunk *c = &m->chunks[row / CHUNK_ROWS];
  *index = row % CHUNK_ROWS;
  return &c->views[column];
}

/* ==== the key table =================================================== */

static int entries_grow(floe_merge *m, floe_error *err) {
  if (m->n_entries < m->cap_entries) return FLOE_OK;
  int64_t cap = m->cap_entries ? m->cap_entries * 2 : 1024;
  merge_entry *e = floe_realloc(m->entries, (size_t)cap * sizeof *e);
  if (e == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  m->entries = e;
  m->cap_entries = cap;
  return FLOE_OK;
}

static int slots_grow(floe_merge *m, floe_error *err) {
  if ((uint64_t)(m->n_entries + 1) * 2 <= m->n_slots) return FLOE_OK;
  uint64_t n = m->n_slots ? m->n_slots * 2 : 2048;
  int32_t *slots = floe_calloc((size_t)n, sizeof *slots);
  if (slots == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < m->n_entries; i++) {
    uint64_t s = m->entries[i].hash & (n - 1);
    while (slots[s] != 0) s = (s + 1) & (n - 1);
    slots[s] = (int32_t)(i + 1);
  }
  floe_free(m->slots);
  m->slots = slots;
  m->n_slots = n;
  return FLOE_OK;
}

/* The entry of a key, or NULL; *slot gets the slot it is in or would go. */
static merge_entry *entry_find(const floe_merge *m, const uint8_t *key,
                               size_t len, uint64_t hash, uint64_t *slot) {
  if (m->n_slots == 0) return NULL;
  uint64_t s = hash & (m->n_slots - 1);
  while (m->slots[s] != 0) {
    merge_entry *e = &m->entries[m->slots[s] - 1];
    if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0) {
      if (slot) *slot = s;
      return e;
    }
    s = (s + 1) & (m->n_slots - 1);
  }
  if (slot) *slot = s;
  return NULL;
}

/* ==== options and columns ============================================= */

static int column_index(const floe_merge *m, int32_t field_id) {
  for (int32_t i = 0; i < m->n_columns; i++)
    if (m->columns[i].field_id == field_id) return i;
  return -1;
}

static bool order_type_ok(floe_arrow_type id) {
  switch (id) {
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_INT64:
    case FLOE_ARROW_DATE32:
    case FLOE_ARROW_TIME64_US:
    case FLOE_ARROW_TIMESTAMP_US:
    case FLOE_ARROW_TIMESTAMP_US_TZ:
    case FLOE_ARROW_TIMESTAMP_NS:
    case FLOE_ARROW_TIMESTAMP_NS_TZ:
    case FLOE_ARROW_DECIMAL128:
      return true;
    default:
      return false;
  }
}

static floe_int128 order_value(const floe_arrow_view *v, int64_t i) {
  switch (v->type.id) {
    case FLOE_ARROW_INT32:
    case FLOE_ARROW_DATE32:
      return floe_arrow_view_int32(v, i);
    case FLOE_ARROW_DECIMAL128:
      return floe_arrow_view_decimal(v, i);
    default:
      return floe_arrow_view_int64(v, i);
  }
}

/* Orders two ordering values, a null below every value. */
static int order_cmp(bool a_null, floe_int128 a, bool b_null, floe_int128 b) {
  if (a_null || b_null) return a_null == b_null ? 0 : a_null ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

static char *dup_or(const char *s, const char *fallback) {
  return floe_strdup(s != NULL ? s : fallback);
}

/* Copies n properties into *out (values may be NULL when null_values). */
static int copy_properties(const floe_iceberg_property *in, int32_t n,
                           floe_iceberg_property **out, int32_t *out_n,
                           bool null_values, floe_error *err) {
  if (n <= 0) return FLOE_OK;
  *out = floe_calloc((size_t)n, sizeof **out);
  if (*out == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t i = 0; i < n; i++) {
    (*out)[i].key = floe_strdup(in[i].key);
    (*out)[i].value = in[i].value ? floe_strdup(in[i].value) : NULL;
    *out_n = i + 1;
    if ((*out)[i].key == NULL || ((*out)[i].value == NULL && (in[i].value || !null_values)))
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return FLOE_OK;
}

/* One more key decided by arrival order, under ordering value `order`. */
static void count_tie(floe_merge_result *r, floe_int128 order) {
  r->tied_keys++;
  for (int32_t g = 0; g < r->n_tie_groups; g++) {
    if (r->tie_groups[g].order == order) {
      r->tie_groups[g].tied_keys++;
      return;
    }
  }
  if (r->n_tie_groups == FLOE_MERGE_TIE_GROUPS) {
    r->tied_other++;
    return;
  }
  r->tie_groups[r->n_tie_groups].order = order;
  r->tie_groups[r->n_tie_groups].tied_keys = 1;
  r->n_tie_groups++;
}

/* Sets key = value in the list (*p, *n), replacing an entry of that key. */
static int set_property(floe_iceberg_property **p, int32_t *n, const char *key,
                        const char *value, floe_error *err) {
  char *v = floe_strdup(value);
  if (v == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t i = 0; i < *n; i++) {
    if (strcmp((*p)[i].key, key) == 0) {
      floe_free((*p)[i].value);
      (*p)[i].value = v;
      return FLOE_OK;
    }
  }
  floe_iceberg_property *grown = floe_realloc(*p, (size_t)(*n + 1) * sizeof *grown);
  char *k = floe_strdup(key);
  if (grown != NULL) *p = grown;
  if (grown == NULL || k == NULL) {
    floe_free(v);
    floe_free(k);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  grown[*n].key = k;
  grown[*n].value = v;
  (*n)++;
  return FLOE_OK;
}

static void free_properties(floe_iceberg_property *p, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    floe_free(p[i].key);
    floe_free(p[i].value);
  }
  floe_free(p);
}

int floe_merge_begin(floe_merge **out, struct floe_table *table,
                     const floe_merge_options *options, floe_error *err) {
  int rc = FLOE_OK;
  floe_merge *m = NULL;
  *out = NULL;
  if (table == NULL || options == NULL)
    return floe_error_set(err, FLOE_EINVAL, "merge: no table or options");
  const char *tname = floe_table_name(table);
  if (options->kind < FLOE_MERGE_UPSERT || options->kind > FLOE_MERGE_HASH_DIFF ||
      options->deletes < FLOE_MERGE_POSITION_DELETES ||
      options->deletes > FLOE_MERGE_COPY_ON_WRITE)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: unknown merge kind %d or delete kind %d",
                          tname, (int)options->kind, (int)options->deletes);
  if (options->n_key_field_ids <= 0 || options->key_field_ids == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: no key columns given", tname);
  if (options->kind == FLOE_MERGE_CDC_OP && options->op_column == NULL)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: cdc needs the operation column's name",
                          tname);

  m = floe_calloc(1, sizeof *m);
  if (m == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  m->table = table;
  m->kind = options->kind;
  m->deletes = options->deletes;
  m->order_field_id = options->order_field_id;
  m->order_column = -1;
  m->then_field_id = options->then_order_field_id;
  m->then_column = -1;
  floe_arena_init(&m->arena, 0);
  floe_buf_init(&m->scratch);
  floe_buf_init(&m->record);
  floe_buf_init(&m->range_lo);
  floe_buf_init(&m->range_hi);
  if (options->memory_bytes < 0) {
    rc = floe_error_set(err, FLOE_EINVAL, "merge into %s: negative memory budget", tname);
    goto cleanup;
  }
  m->memory_budget = options->memory_bytes > 0 ? options->memory_bytes : DEFAULT_MEMORY_BYTES;
  m->threads = options->threads;
  m->name = floe_strdup(tname);
  if (options->spill_dir != NULL) m->spill_parent = floe_strdup(options->spill_dir);
  if (m->name == NULL || (options->spill_dir != NULL && m->spill_parent == NULL)) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  rc = floe_iceberg_metadata_copy(&m->md, floe_table_metadata(table), err);
  if (rc < 0) goto cleanup;
  m->schema = floe_iceberg_metadata_current_schema(m->md);
  m->spec = floe_iceberg_metadata_default_spec(m->md);
  /* Partition evolution: an equality delete applies only to data files of
   * its own spec and partition (or everywhere from an unpartitioned spec;
   * Iceberg spec: Scan Planning), so once the table has several specs the
   * merge deletes by position, which carries each data file's own spec. */
  if (m->deletes == FLOE_MERGE_EQUALITY_DELETES && m->md->n_specs > 1)
    m->deletes = FLOE_MERGE_POSITION_DELETES;
  /* Likewise when a partition field's source is a field inside a struct:
   * the table pass reads top-level columns only, so the delete's partition
   * is taken from the data file it deletes from. */
  for (int32_t f = 0; m->deletes == FLOE_MERGE_EQUALITY_DELETES && m->spec != NULL &&
                      f < m->spec->n_fields; f++) {
    bool top = false;
    for (int32_t i = 0; i < m->schema->root.n_fields; i++)
      top |= m->schema->root.fields[i].id == m->spec->fields[f].source_id;
    if (!top) m->deletes = FLOE_MERGE_POSITION_DELETES;
  }
  if (m->schema == NULL) {
    rc = floe_error_set(err, FLOE_EINVAL, "merge into %s: table has no schema",
                        tname);
    goto cleanup;
  }
  {
    const floe_iceberg_snapshot *snap =
        floe_iceberg_metadata_current_snapshot(m->md);
    m->base_sequence_number = snap != NULL ? snap->sequence_number : 0;
  }

  /* columns: every top-level column, a primitive or (not as a key or an
   * ordering column) a list, struct or map nested to any depth */
  m->n_columns = m->schema->root.n_fields;
  m->columns = floe_calloc((size_t)m->n_columns + 1, sizeof *m->columns);
  m->key_columns = floe_calloc((size_t)options->n_key_field_ids,
                               sizeof *m->key_columns);
  m->spill_cols = floe_calloc((size_t)m->n_columns + 1, sizeof *m->spill_cols);
  m->spill_rows = floe_calloc((size_t)m->n_columns + 1, sizeof *m->spill_rows);
  if (m->columns == NULL || m->key_columns == NULL || m->spill_cols == NULL ||
      m->spill_rows == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int32_t i = 0; i < m->n_columns; i++) {
    const floe_iceberg_field *f = &m->schema->root.fields[i];
    merge_column *c = &m->columns[i];
    c->field_id = f->id;
    c->name = f->name;
    c->required = f->required;
    c->type = &f->type;
    c->key_index = -1;
    rc = floe_iceberg_type_to_arrow(&f->type, &c->arrow, err);
    if (rc < 0) {
      floe_error_prefix(err, "merge into %s: column '%s'", tname, f->name);
      goto cleanup;
    }
  }
  for (int32_t i = 0; i < m->n_columns; i++) {
    merge_column *c = &m->columns[i];
    c->is_op = options->op_field_id > 0 && c->field_id == options->op_field_id;
    c->unhashed = c->is_op;
    for (int32_t k = 0; k < options->n_unhashed_field_ids; k++)
      c->unhashed |= c->field_id == options->unhashed_field_ids[k];
    if (c->is_op && c->arrow.id != FLOE_ARROW_UTF8) {
      rc = floe_error_set(err, FLOE_EINVAL, "merge into %s: operation column '%s' is not a string",
                          tname, c->name);
      goto cleanup;
    }
  }
  m->n_keys = options->n_key_field_ids;
  for (int32_t k = 0; k < m->n_keys; k++) {
    int idx = column_index(m, options->key_field_ids[k]);
    if (idx < 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: key field id %d is not a top-level "
                          "column of the table",
                          tname, (int)options->key_field_ids[k]);
      goto cleanup;
    }
    if (m->columns[idx].key_index >= 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: key column '%s' is listed twice",
                          tname, m->columns[idx].name);
      goto cleanup;
    }
    if (!floe_iceberg_type_is_primitive(m->columns[idx].type->id)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: key column '%s' is nested; keys must be "
                          "primitive columns",
                          tname, m->columns[idx].name);
      goto cleanup;
    }
    m->columns[idx].key_index = k;
    m->key_columns[k] = idx;
  }
  if (m->order_field_id >= 0) {
    m->order_column = column_index(m, m->order_field_id);
    if (m->order_column < 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: ordering field id %d is not a "
                          "top-level column of the table",
                          tname, (int)m->order_field_id);
      goto cleanup;
    }
    if (!order_type_ok(m->columns[m->order_column].arrow.id)) {
      char tn[32];
      floe_iceberg_type_format(m->columns[m->order_column].type, tn, sizeof tn);
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: ordering column '%s' is %s; it must "
                          "be an integer, decimal, date, time or timestamp",
                          tname, m->columns[m->order_column].name, tn);
      goto cleanup;
    }
  }
  if (m->then_field_id > 0 && m->order_column >= 0) {
    m->then_column = column_index(m, m->then_field_id);
    if (m->then_column < 0 || !order_type_ok(m->columns[m->then_column].arrow.id)) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: second ordering field id %d is not an integer, "
                          "decimal, date, time or timestamp column of the table",
                          tname, (int)m->then_field_id);
      goto cleanup;
    }
    if (m->then_column == m->order_column) m->then_column = -1;
  }
  if (m->kind == FLOE_MERGE_CDC_OP) {
    m->op_column = floe_strdup(options->op_column);
    m->op_insert = dup_or(options->op_insert, "I");
    m->op_update = dup_or(options->op_update, "U");
    m->op_delete = dup_or(options->op_delete, "D");
    if (!m->op_column || !m->op_insert || !m->op_update || !m->op_delete) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    for (int32_t i = 0; i < m->n_columns; i++)
      if (strcmp(m->columns[i].name, m->op_column) == 0) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "merge into %s: the operation column '%s' is a "
                            "table column; it must not be written to the table",
                            tname, m->op_column);
        goto cleanup;
      }
  }
  rc = copy_properties(options->summary, options->n_summary, &m->summary, &m->n_summary,
                       false, err);
  if (rc < 0) goto cleanup;
  rc = copy_properties(options->properties, options->n_properties, &m->properties,
                       &m->n_properties, true, err);
  if (rc < 0) goto cleanup;
  m->precondition = options->precondition;
  m->precondition_ctx = options->precondition_ctx;
  rc = floe_iceberg_schema_to_arrow(m->schema, NULL, 0, &m->row_schema, err);
  if (rc < 0) goto cleanup;
  rc = floe_arrow_batch_builder_init(&m->builder, &m->row_schema, err);
  if (rc < 0) goto cleanup;
  *out = m;
  m = NULL;
cleanup:
  if (rc < 0 && err != NULL && strncmp(err->message, "merge", 5) != 0)
    floe_error_prefix(err, "merge into %s", tname);
  floe_merge_free(m);
  return rc;
}

/* ==== add ============================================================= */

static bool arrow_type_equal(const floe_arrow_type_info *a,
                             const floe_arrow_type_info *b) {
  if (a->id != b->id) return false;
  if (a->id == FLOE_ARROW_DECIMAL128)
    return a->precision == b->precision && a->scale == b->scale;
  if (a->id == FLOE_ARROW_FIXED) return a->byte_width == b->byte_width;
  return true;
}

typedef enum { OP_INSERT, OP_UPDATE, OP_DELETE } cdc_op;

static bool key_first_kind(const floe_merge *m, bool *is_int32, bool *is_int64,
                           bool *is_str);

/* ==== change rows, the budget and the spill ========================== */

/* One change row, worked out once: its key (in m->scratch while adding,
 * in a spill record while reloading), action and ordering values. */
typedef struct change_row {
  const uint8_t *key;
  size_t key_len;
  uint64_t hash;
  uint8_t action;
  uint8_t flags; /* F_ORDER_NULL, F_THEN_NULL */
  floe_int128 order, then;
} change_row;

/* The value of the first key column in a key encoding. */
static floe_iceberg_value key_first_value(const uint8_t *key, bool is_int32,
                                          bool is_int64) {
  floe_iceberg_value v;
  memset(&v, 0, sizeof v);
  if (is_int32) {
    memcpy(&v.v.i32, key, 4);
  } else if (is_int64) {
    memcpy(&v.v.i64, key, 8);
  } else {
    uint32_t len;
    memcpy(&len, key, 4);
    v.bytes = key + 4;
    v.len = len;
  }
  return v;
}

static int key_value_cmp(const floe_iceberg_value *a, const floe_iceberg_value *b,
                         bool is_int32, bool is_int64) {
  if (is_int32) return a->v.i32 < b->v.i32 ? -1 : a->v.i32 > b->v.i32;
  if (is_int64) return a->v.i64 < b->v.i64 ? -1 : a->v.i64 > b->v.i64;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->bytes, b->bytes, n) : 0;
  if (c != 0) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

/* Widens the change set's range of first-key values (kept as encodings,
 * so it survives spilling) by the key encoding `key`. */
static int range_note(floe_merge *m, const uint8_t *key) {
  bool is_int32, is_int64, is_str;
  if (!key_first_kind(m, &is_int32, &is_int64, &is_str)) return FLOE_OK;
  floe_iceberg_value v = key_first_value(key, is_int32, is_int64);
  size_t size = is_int32 ? 4 : is_int64 ? 8 : 4 + v.len;
  bool below = !m->range_seen, above = !m->range_seen;
  if (m->range_seen) {
    floe_iceberg_value lo = key_first_value(m->range_lo.data, is_int32, is_int64);
    floe_iceberg_value hi = key_first_value(m->range_hi.data, is_int32, is_int64);
    below = key_value_cmp(&v, &lo, is_int32, is_int64) < 0;
    above = key_value_cmp(&v, &hi, is_int32, is_int64) > 0;
  }
  m->range_seen = true;
  if (below) {
    m->range_lo.len = 0;
    if (floe_buf_append(&m->range_lo, key, size) < 0) return FLOE_ENOMEM;
  }
  if (above) {
    m->range_hi.len = 0;
    if (floe_buf_append(&m->range_hi, key, size) < 0) return FLOE_ENOMEM;
  }
  return FLOE_OK;
}

/* Works out change row r of a batch (views by batch child, source per
 * table column): its key goes to m->scratch. */
static int row_change(floe_merge *m, const floe_arrow_view *views, const int32_t *source,
                      int64_t op_child, int64_t r, change_row *ch, floe_error *err) {
  m->scratch.len = 0;
  for (int32_t k = 0; k < m->n_keys; k++)
    if (key_append(&m->scratch, &views[source[m->key_columns[k]]], r) < 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  ch->key = m->scratch.data;
  ch->key_len = m->scratch.len;
  ch->action = ACT_UPSERT;
  if (op_child >= 0) {
    size_t len;
    const uint8_t *op = floe_arrow_view_bytes(&views[op_child], r, &len);
    if (len == strlen(m->op_delete) && memcmp(op, m->op_delete, len) == 0)
      ch->action = ACT_DELETE;
  }
  bool order_null = false, then_null = false;
  ch->order = ch->then = 0;
  if (m->order_column >= 0) {
    const floe_arrow_view *ov = &views[source[m->order_column]];
    order_null = floe_arrow_view_is_null(ov, r);
    if (!order_null) ch->order = order_value(ov, r);
  }
  if (m->then_column >= 0) {
    const floe_arrow_view *tv = &views[source[m->then_column]];
    then_null = floe_arrow_view_is_null(tv, r);
    if (!then_null) ch->then = order_value(tv, r);
  }
  ch->flags = (uint8_t)((order_null ? F_ORDER_NULL : 0) | (then_null ? F_THEN_NULL : 0));
  ch->hash = floe_merge_xxh64(ch->key, ch->key_len, 0);
  if (range_note(m, ch->key) < 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return FLOE_OK;
}

/* Enters change `ch`, buffered as row `row`, in the key table: a new key
 * gets an entry; for a known key the larger (order, then) wins, a null
 * below any value, and on a tie the later row wins (and is counted:
 * docs/replicate.md). */
static int entry_note(floe_merge *m, const change_row *ch, int64_t row, floe_error *err) {
  uint64_t slot;
  merge_entry *e = entry_find(m, ch->key, ch->key_len, ch->hash, &slot);
  if (e != NULL) {
    m->result.duplicate_keys++;
    bool wins = true;
    if (m->order_column >= 0) {
      int c = order_cmp((ch->flags & F_ORDER_NULL) != 0, ch->order,
                        (e->flags & F_ORDER_NULL) != 0, e->order);
      if (c == 0 && m->then_column >= 0)
        c = order_cmp((ch->flags & F_THEN_NULL) != 0, ch->then,
                      (e->flags & F_THEN_NULL) != 0, e->then);
      if (c == 0) count_tie(&m->result, (ch->flags & F_ORDER_NULL) ? 0 : ch->order);
      wins = c >= 0;
    }
    if (wins) {
      e->row = row;
      e->action = ch->action;
      e->order = ch->order;
      e->then = ch->then;
      e->flags = (uint8_t)((e->flags & ~(F_ORDER_NULL | F_THEN_NULL)) | ch->flags);
    }
    return FLOE_OK;
  }
  int rc;
  if ((rc = entries_grow(m, err)) < 0 || (rc = slots_grow(m, err)) < 0) return rc;
  entry_find(m, ch->key, ch->key_len, ch->hash, &slot);
  uint8_t *key = floe_arena_memdup(&m->arena, ch->key, ch->key_len);
  if (key == NULL && ch->key_len > 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  e = &m->entries[m->n_entries];
  memset(e, 0, sizeof *e);
  e->hash = ch->hash;
  e->key = key;
  e->key_len = (uint32_t)ch->key_len;
  e->row = row;
  e->action = ch->action;
  e->order = ch->order;
  e->then = ch->then;
  e->flags = ch->flags;
  m->slots[slot] = (int32_t)(m->n_entries + 1);
  m->n_entries++;
  return FLOE_OK;
}

/* Bytes the buffered change set holds: chunks, the builder, the key table. */
static int64_t core_bytes(const floe_merge *m) {
  int64_t bytes = m->chunk_bytes;
  for (int32_t i = 0; i < m->builder.n_columns; i++) {
    const floe_arrow_builder *b = &m->builder.columns[i];
    bytes += (int64_t)(b->validity_cap + b->values_cap + b->data_cap);
  }
  bytes += m->cap_entries * (int64_t)sizeof(merge_entry);
  bytes += (int64_t)m->n_slots * (int64_t)sizeof(int32_t);
  bytes += (int64_t)m->arena.allocated;
  return bytes;
}

/* Empties the buffered change set (rows and key table); `release` also
 * returns the key table's memory. */
static void core_reset(floe_merge *m, bool release) {
  for (int64_t i = 0; i < m->n_chunks; i++) {
    floe_arrow_array_release(&m->chunks[i].array);
    floe_free(m->chunks[i].views);
  }
  m->n_chunks = 0;
  m->chunk_bytes = 0;
  m->n_entries = 0;
  if (release) {
    floe_free(m->chunks);
    m->chunks = NULL;
    m->cap_chunks = 0;
    floe_free(m->entries);
    m->entries = NULL;
    m->cap_entries = 0;
    floe_free(m->slots);
    m->slots = NULL;
    m->n_slots = 0;
    floe_arena_free(&m->arena);
    floe_arena_init(&m->arena, 0);
  } else {
    if (m->slots != NULL) memset(m->slots, 0, (size_t)m->n_slots * sizeof *m->slots);
    floe_arena_reset(&m->arena);
  }
}

/* The partition of a key hash at a split level: `bits` bits after the
 * first `used` (the top level takes the top spill_bits). */
static inline uint32_t hash_bits(uint64_t hash, int32_t used, int32_t bits) {
  return (uint32_t)((hash << used) >> (64 - bits));
}

static inline uint32_t spill_part(const floe_merge *m, uint64_t hash) {
  return hash_bits(hash, 0, m->spill_bits);
}

/* The number of hash bits (a fan-out of 1 << bits, 1..8 bits) whose
 * spill buffers stay within a sixteenth of the budget. */
static int32_t spill_fanout_bits(const floe_merge *m) {
  int32_t bits = 1;
  while (bits < 8 && ((int64_t)2 << (bits + 1)) * SPILL_BUFFER <= m->memory_budget / 16) bits++;
  return bits;
}

/* The Bloom filter is blocked: a key's BLOOM_PROBES bits lie in one
 * 64-byte block (chosen by hash bits the partition number does not use),
 * so a probe of the table pass costs one cache miss, not BLOOM_PROBES. */
static inline uint8_t *bloom_block(const floe_merge *m, uint64_t hash) {
  uint64_t blocks = m->bloom_bits / 512;
  return m->bloom + ((hash >> 16) & (blocks - 1)) * 64;
}

static inline uint64_t bloom_bits_of(uint64_t hash) {
  return rotl64(hash, 29) * XXH_P2; /* 9 bits a probe */
}

static void bloom_add(floe_merge *m, uint64_t hash) {
  uint8_t *block = bloom_block(m, hash);
  uint64_t bits = bloom_bits_of(hash);
  for (int i = 0; i < BLOOM_PROBES; i++, bits >>= 9) {
    uint32_t bit = (uint32_t)(bits & 511);
    block[bit >> 3] |= (uint8_t)(1u << (bit & 7));
  }
}

static bool bloom_has(const floe_merge *m, uint64_t hash) {
  const uint8_t *block = bloom_block(m, hash);
  uint64_t bits = bloom_bits_of(hash);
  for (int i = 0; i < BLOOM_PROBES; i++, bits >>= 9) {
    uint32_t bit = (uint32_t)(bits & 511);
    if (!(block[bit >> 3] & (1u << (bit & 7)))) return false;
  }
  return true;
}

/* Appends a value for the spill: 0 for null, else 1 and the value (fixed
 * width: its bytes; variable width: a 4-byte length and the bytes). */
static int value_put(floe_buf *out, const floe_arrow_view *v, int64_t i) {
  if (v == NULL || floe_arrow_view_is_null(v, i)) return floe_buf_append_byte(out, 0);
  int rc = floe_buf_append_byte(out, 1);
  if (rc < 0) return rc;
  switch (v->type.id) {
    case FLOE_ARROW_BOOL:
      return floe_buf_append_byte(out, floe_arrow_view_bool(v, i) ? 1 : 0);
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: {
      size_t len;
      const uint8_t *bytes = floe_arrow_view_bytes(v, i, &len);
      uint32_t l32 = (uint32_t)len;
      rc = floe_buf_append(out, &l32, 4);
      return rc < 0 ? rc : floe_buf_append(out, bytes, len);
    }
    case FLOE_ARROW_LIST: {
      /* element count, then each element as a value of its own */
      floe_arrow_view child;
      floe_error ignored = {0};
      if (floe_arrow_view_list_child(v, &child, &ignored) < 0) return FLOE_EFORMAT;
      int64_t start, end;
      floe_arrow_view_list_range(v, i, &start, &end);
      uint32_t n = (uint32_t)(end - start);
      rc = floe_buf_append(out, &n, 4);
      for (int64_t e = start; rc >= 0 && e < end; e++) rc = value_put(out, &child, e);
      return rc;
    }
    case FLOE_ARROW_STRUCT: {
      /* each field as a value of its own, in the struct's order */
      floe_error ignored = {0};
      for (int64_t k = 0; rc >= 0 && k < v->n_children; k++) {
        floe_arrow_view child;
        if (floe_arrow_view_struct_child(v, k, &child, &ignored) < 0) return FLOE_EFORMAT;
        rc = value_put(out, &child, i);
      }
      return rc;
    }
    case FLOE_ARROW_MAP: {
      /* entry count, then each entry's key and value */
      floe_arrow_view keys, values;
      floe_error ignored = {0};
      if (floe_arrow_view_map_entries(v, &keys, &values, &ignored) < 0) return FLOE_EFORMAT;
      int64_t start, end;
      floe_arrow_view_list_range(v, i, &start, &end);
      uint32_t n = (uint32_t)(end - start);
      rc = floe_buf_append(out, &n, 4);
      for (int64_t e = start; rc >= 0 && e < end; e++) {
        rc = value_put(out, &keys, e);
        if (rc >= 0) rc = value_put(out, &values, e);
      }
      return rc;
    }
    default: {
      int32_t size = floe_arrow_type_value_size(&v->type);
      return floe_buf_append(out, v->values + (v->offset + i) * size, (size_t)size);
    }
  }
}

/* Reads a value_put value from *p (not past end) into builder b. */
static int value_take(floe_arrow_builder *b, const uint8_t **p, const uint8_t *end) {
  const uint8_t *q = *p;
  if (q >= end) return FLOE_EFORMAT;
  if (*q++ == 0) {
    *p = q;
    return floe_arrow_builder_append_null(b);
  }
  int rc;
  switch (b->type.id) {
    case FLOE_ARROW_BOOL:
      if (q + 1 > end) return FLOE_EFORMAT;
      rc = floe_arrow_builder_append_bool(b, *q != 0);
      q += 1;
      break;
    case FLOE_ARROW_UTF8:
    case FLOE_ARROW_BINARY:
    case FLOE_ARROW_FIXED:
    case FLOE_ARROW_UUID: {
      uint32_t len;
      if (q + 4 > end) return FLOE_EFORMAT;
      memcpy(&len, q, 4);
      q += 4;
      if ((size_t)(end - q) < len) return FLOE_EFORMAT;
      rc = floe_arrow_builder_append_bytes(b, q, len);
      q += len;
      break;
    }
    case FLOE_ARROW_LIST: {
      uint32_t n;
      if (q + 4 > end) return FLOE_EFORMAT;
      memcpy(&n, q, 4);
      q += 4;
      floe_arrow_builder *child;
      rc = floe_arrow_builder_list_start(b, &child);
      for (uint32_t e = 0; rc >= 0 && e < n; e++) rc = value_take(child, &q, end);
      if (rc >= 0) rc = floe_arrow_builder_list_end(b);
      break;
    }
    case FLOE_ARROW_STRUCT: {
      floe_arrow_builder *fields;
      int64_t n_fields;
      rc = floe_arrow_builder_struct_start(b, &fields, &n_fields);
      for (int64_t k = 0; rc >= 0 && k < n_fields; k++) rc = value_take(&fields[k], &q, end);
      if (rc >= 0) rc = floe_arrow_builder_struct_end(b);
      break;
    }
    case FLOE_ARROW_MAP: {
      uint32_t n;
      if (q + 4 > end) return FLOE_EFORMAT;
      memcpy(&n, q, 4);
      q += 4;
      floe_arrow_builder *keys, *values;
      rc = floe_arrow_builder_map_start(b, &keys, &values);
      for (uint32_t e = 0; rc >= 0 && e < n; e++) {
        rc = value_take(keys, &q, end);
        if (rc >= 0) rc = value_take(values, &q, end);
      }
      if (rc >= 0) rc = floe_arrow_builder_map_end(b);
      break;
    }
    default: {
      int32_t size = floe_arrow_type_value_size(&b->type);
      if (size <= 0 || (size_t)(end - q) < (size_t)size) return FLOE_EFORMAT;
      switch (b->type.id) {
        case FLOE_ARROW_INT32:
        case FLOE_ARROW_DATE32: {
          int32_t v;
          memcpy(&v, q, 4);
          rc = floe_arrow_builder_append_int32(b, v);
          break;
        }
        case FLOE_ARROW_FLOAT: {
          float v;
          memcpy(&v, q, 4);
          rc = floe_arrow_builder_append_float(b, v);
          break;
        }
        case FLOE_ARROW_DOUBLE: {
          double v;
          memcpy(&v, q, 8);
          rc = floe_arrow_builder_append_double(b, v);
          break;
        }
        case FLOE_ARROW_DECIMAL128: {
          floe_int128 v;
          memcpy(&v, q, 16);
          rc = floe_arrow_builder_append_decimal(b, v);
          break;
        }
        default: {
          int64_t v;
          memcpy(&v, q, 8);
          rc = floe_arrow_builder_append_int64(b, v);
          break;
        }
      }
      q += size;
      break;
    }
  }
  *p = q;
  return rc;
}

/* Writes change `ch` to its partition: action, flags, ordering values (when
 * the merge has them), the key, then every table column's value (cols[i]
 * row rows[i]; a NULL view is a null). */
static int spill_change_row(floe_merge *m, const change_row *ch,
                            const floe_arrow_view *const *cols, const int64_t *rows,
                            floe_error *err) {
  floe_buf *rec = &m->record;
  rec->len = 0;
  uint32_t kl = (uint32_t)ch->key_len;
  int rc = floe_buf_append_byte(rec, ch->action);
  rc |= floe_buf_append_byte(rec, ch->flags);
  if (m->order_column >= 0) rc |= floe_buf_append(rec, &ch->order, sizeof ch->order);
  if (m->then_column >= 0) rc |= floe_buf_append(rec, &ch->then, sizeof ch->then);
  rc |= floe_buf_append(rec, &kl, 4);
  rc |= floe_buf_append(rec, ch->key, ch->key_len);
  for (int32_t i = 0; i < m->n_columns; i++)
    rc |= value_put(rec, cols[i], rows[i]);
  if (rc != 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  bloom_add(m, ch->hash);
  return floe_spill_append(m->spill, (int32_t)spill_part(m, ch->hash), rec->data, rec->len,
                           err);
}

/* Spills change row r of a batch (views by batch child, source per table
 * column). */
static int spill_change(floe_merge *m, const change_row *ch, const floe_arrow_view *views,
                        const int32_t *source, int64_t r, floe_error *err) {
  const floe_arrow_view **cols = m->spill_cols;
  for (int32_t i = 0; i < m->n_columns; i++) {
    cols[i] = source[i] >= 0 ? &views[source[i]] : NULL;
    m->spill_rows[i] = r;
  }
  return spill_change_row(m, ch, cols, m->spill_rows, err);
}

typedef struct row_entry {
  int64_t row;
  int64_t entry;
} row_entry;

static int compare_row_entry(const void *a, const void *b) {
  int64_t x = ((const row_entry *)a)->row, y = ((const row_entry *)b)->row;
  return x < y ? -1 : x > y;
}

/* The change set outgrew its budget: opens the spill, writes each buffered
 * key's winning row to its partition in arrival order (a later change
 * then compares against it exactly as in memory), and frees the buffer. */
static int spill_begin(floe_merge *m, floe_error *err) {
  int rc = seal_chunk(m, err);
  if (rc < 0) return rc;
  row_entry *order = NULL;
  m->spill_bits = spill_fanout_bits(m);
  m->spill_parts = 1 << m->spill_bits;
  rc = floe_spill_open(&m->spill, m->spill_parent, "merge", 2 * m->spill_parts, SPILL_BUFFER,
                       err);
  if (rc < 0) {
    floe_error_prefix(err, "merge into %s: spilling the change set", m->name);
    return rc;
  }
  size_t bloom_bytes = (size_t)(m->memory_budget / 8);
  if (bloom_bytes > BLOOM_MAX_BYTES) bloom_bytes = BLOOM_MAX_BYTES;
  size_t pow2 = 4096;
  while (pow2 * 2 <= bloom_bytes) pow2 *= 2;
  m->bloom = floe_calloc(pow2, 1);
  m->bloom_bits = (uint64_t)pow2 * 8;
  order = floe_malloc(((size_t)m->n_entries + 1) * sizeof *order);
  if (m->bloom == NULL || order == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int64_t i = 0; i < m->n_entries; i++) {
    order[i].row = m->entries[i].row;
    order[i].entry = i;
  }
  qsort(order, (size_t)m->n_entries, sizeof *order, compare_row_entry);
  for (int64_t i = 0; i < m->n_entries; i++) {
    const merge_entry *e = &m->entries[order[i].entry];
    change_row ch = {e->key, e->key_len, e->hash, e->action,
                     (uint8_t)(e->flags & (F_ORDER_NULL | F_THEN_NULL)), e->order, e->then};
    for (int32_t c = 0; c < m->n_columns; c++)
      m->spill_cols[c] = row_view(m, e->row, c, &m->spill_rows[c]);
    rc = spill_change_row(m, &ch, m->spill_cols, m->spill_rows, err);
    if (rc < 0) goto cleanup;
  }
  core_reset(m, true);
#ifdef __GLIBC__
  /* hand the buffer's pages back now: the commit's partitions and writers
   * would not reuse most of them (fragmentation), and RSS is the bound */
  malloc_trim(0);
#endif
cleanup:
  floe_free(order);
  return rc;
}

/* Keeps only each key's winning row in the buffer: copies them, in
 * arrival order, into new chunks and points the entries at them (a
 * later change still compares against the entry as before). */
static int core_compact(floe_merge *m, floe_error *err) {
  int rc = seal_chunk(m, err);
  if (rc < 0) return rc;
  row_entry *order = floe_malloc(((size_t)m->n_entries + 1) * sizeof *order);
  merge_chunk *old = m->chunks;
  int64_t n_old = m->n_chunks;
  if (order == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < m->n_entries; i++) {
    order[i].row = m->entries[i].row;
    order[i].entry = i;
  }
  qsort(order, (size_t)m->n_entries, sizeof *order, compare_row_entry);
  m->chunks = NULL;
  m->n_chunks = m->cap_chunks = 0;
  m->chunk_bytes = 0;
  for (int64_t i = 0; i < m->n_entries && rc >= 0; i++) {
    merge_entry *e = &m->entries[order[i].entry];
    const merge_chunk *c = &old[e->row / CHUNK_ROWS];
    int64_t idx = e->row % CHUNK_ROWS;
    for (int32_t k = 0; k < m->n_columns && rc >= 0; k++)
      rc = append_value(&m->builder.columns[k], &c->views[k], idx);
    if (rc < 0) {
      rc = floe_error_set(err, rc, "out of memory");
      break;
    }
    e->row = m->n_chunks * CHUNK_ROWS + m->builder_rows;
    if (++m->builder_rows == CHUNK_ROWS) rc = seal_chunk(m, err);
  }
  if (rc >= 0) rc = seal_chunk(m, err);
  for (int64_t i = 0; i < n_old; i++) {
    floe_arrow_array_release(&old[i].array);
    floe_free(old[i].views);
  }
  floe_free(old);
  floe_free(order);
  return rc;
}

/* Reads change partition file q back into the (empty) buffer and key
 * table, in arrival order, so winners and counts come out as in memory. */
static int load_partition(floe_merge *m, int32_t q, floe_error *err) {
  int rc = floe_spill_rewind(m->spill, q, err);
  if (rc < 0) return rc;
  for (;;) {
    const uint8_t *rec;
    size_t len;
    rc = floe_spill_next(m->spill, q, &rec, &len, err);
    if (rc < 0) return rc;
    if (rec == NULL) break;
    const uint8_t *p = rec, *end = rec + len;
    change_row ch;
    memset(&ch, 0, sizeof ch);
    size_t fixed = 2 + (m->order_column >= 0 ? 16 : 0) + (m->then_column >= 0 ? 16 : 0) + 4;
    if (len < fixed) goto bad;
    ch.action = *p++;
    ch.flags = *p++;
    if (m->order_column >= 0) {
      memcpy(&ch.order, p, 16);
      p += 16;
    }
    if (m->then_column >= 0) {
      memcpy(&ch.then, p, 16);
      p += 16;
    }
    uint32_t kl;
    memcpy(&kl, p, 4);
    p += 4;
    if ((size_t)(end - p) < kl) goto bad;
    ch.key = p;
    ch.key_len = kl;
    ch.hash = floe_merge_xxh64(ch.key, ch.key_len, 0);
    p += kl;
    for (int32_t c = 0; c < m->n_columns; c++) {
      rc = value_take(&m->builder.columns[c], &p, end);
      if (rc == FLOE_EFORMAT) goto bad;
      if (rc < 0) return floe_error_set(err, rc, "out of memory");
    }
    int64_t row = m->n_chunks * CHUNK_ROWS + m->builder_rows;
    m->builder_rows++;
    rc = entry_note(m, &ch, row, err);
    if (rc < 0) return rc;
    if (m->builder_rows == CHUNK_ROWS) {
      rc = seal_chunk(m, err);
      if (rc < 0) return rc;
      int64_t bytes = core_bytes(m);
      if (bytes > m->result.spill_peak_bytes) m->result.spill_peak_bytes = bytes;
      /* a partition that could not be split (one key's many changes)
       * keeps only each key's winning row once past the budget */
      if (bytes > m->memory_budget && m->n_entries * 2 <= m->n_chunks * CHUNK_ROWS) {
        rc = core_compact(m, err);
        if (rc < 0) return rc;
      }
    }
  }
  floe_spill_drop(m->spill, q);
  rc = seal_chunk(m, err);
  int64_t bytes = core_bytes(m);
  if (bytes > m->result.spill_peak_bytes) m->result.spill_peak_bytes = bytes;
  return rc;
bad:
  return floe_error_set(err, FLOE_EFORMAT, "merge into %s: spill partition %d is corrupt",
                        m->name, (int)q);
}


int floe_merge_add(floe_merge *m, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, floe_error *err) {
  int rc = FLOE_OK;
  int32_t *source = NULL;            /* per table column: batch child or -1 */
  floe_arrow_view *views = NULL;     /* per batch child */
  int64_t op_child = -1;
  if (m == NULL || schema == NULL || batch == NULL)
    return floe_error_set(err, FLOE_EINVAL, "merge: no merge or batch");
  if (m->committed || m->failed)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: add after commit or failure", m->name);
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0 ||
      schema->n_children != batch->n_children)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: batch %" PRId64
                          " is not a struct batch matching its schema",
                          m->name, m->n_batches + 1);
  m->n_batches++;
  source = floe_malloc(((size_t)m->n_columns + 1) * sizeof *source);
  views = floe_calloc((size_t)schema->n_children + 1, sizeof *views);
  if (source == NULL || views == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int32_t i = 0; i < m->n_columns; i++) source[i] = -1;
  for (int64_t c = 0; c < schema->n_children; c++) {
    const struct ArrowSchema *child = schema->children[c];
    const char *cname = child->name ? child->name : "";
    rc = floe_arrow_view_init(&views[c], child, batch->children[c], err);
    if (rc < 0) {
      floe_error_prefix(err, "merge into %s: batch %" PRId64 " column '%s'",
                        m->name, m->n_batches, cname);
      goto cleanup;
    }
    int32_t id = floe_arrow_schema_field_id(child);
    if (m->kind == FLOE_MERGE_CDC_OP && strcmp(cname, m->op_column) == 0) {
      if (views[c].type.id != FLOE_ARROW_UTF8) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "merge into %s: batch %" PRId64
                            ": operation column '%s' must be a string",
                            m->name, m->n_batches, cname);
        goto cleanup;
      }
      op_child = c;
      continue;
    }
    int idx = id >= 0 ? column_index(m, id) : -1;
    if (idx < 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: batch %" PRId64
                          ": column '%s' (field id %d) is not a column of "
                          "the table",
                          m->name, m->n_batches, cname, (int)id);
      goto cleanup;
    }
    if (!arrow_type_equal(&views[c].type, &m->columns[idx].arrow)) {
      char have[32], want[32];
      floe_arrow_type_name(&views[c].type, have, sizeof have);
      floe_arrow_type_name(&m->columns[idx].arrow, want, sizeof want);
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: batch %" PRId64
                          ": column '%s' is %s, the table column is %s",
                          m->name, m->n_batches, cname, have, want);
      goto cleanup;
    }
    if (source[idx] >= 0) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: batch %" PRId64
                          ": column '%s' appears twice",
                          m->name, m->n_batches, cname);
      goto cleanup;
    }
    source[idx] = (int32_t)c;
  }
  for (int32_t i = 0; i < m->n_columns; i++) {
    if (source[i] >= 0) continue;
    if (m->columns[i].required || m->columns[i].key_index >= 0 ||
        i == m->order_column || i == m->then_column) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: batch %" PRId64
                          ": %s column '%s' is missing",
                          m->name, m->n_batches,
                          m->columns[i].key_index >= 0 ? "key"
                          : i == m->order_column || i == m->then_column ? "ordering"
                                                        : "required",
                          m->columns[i].name);
      goto cleanup;
    }
  }
  if (m->kind == FLOE_MERGE_CDC_OP && op_child < 0) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "merge into %s: batch %" PRId64
                        ": operation column '%s' is missing",
                        m->name, m->n_batches, m->op_column);
    goto cleanup;
  }

  /* Check every row before buffering any: null keys, required nulls, ops. */
  for (int64_t r = 0; r < batch->length; r++) {
    for (int32_t i = 0; i < m->n_columns; i++) {
      if (source[i] < 0 || !floe_arrow_view_is_null(&views[source[i]], r))
        continue;
      if (m->columns[i].key_index >= 0 || m->columns[i].required) {
        /* Name the row as the other value errors do: by its ordering
         * (batch) value and the key values it has, not by an ordinal. */
        floe_buf row;
        floe_buf_init(&row);
        int32_t named[2] = {m->order_column, m->then_column};
        int frc = 0;
        for (int32_t k = 0; k < 2; k++)
          if (named[k] >= 0 && source[named[k]] >= 0) {
            frc |= floe_buf_appendf(&row, "%s%s=", row.len ? ", " : "", m->columns[named[k]].name);
            frc |= floe_arrow_view_format(&views[source[named[k]]], r, &row);
          }
        for (int32_t k = 0; k < m->n_keys; k++) {
          int32_t col = m->key_columns[k];
          if (col == i || col == named[0] || col == named[1]) continue;
          frc |= floe_buf_appendf(&row, "%s%s=", row.len ? ", " : "", m->columns[col].name);
          frc |= floe_arrow_view_format(&views[source[col]], r, &row);
        }
        frc |= floe_buf_terminate(&row);
        if (frc != 0) {
          floe_buf_free(&row);
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
        rc = floe_error_set(err, FLOE_EINVAL, "merge into %s: %s column '%s' is null in the row %s",
                            m->name, m->columns[i].key_index >= 0 ? "key" : "required",
                            m->columns[i].name,
                            row.len ? (const char *)row.data : "(no other key or order values)");
        floe_buf_free(&row);
        goto cleanup;
      }
    }
    if (op_child >= 0) {
      const floe_arrow_view *ov = &views[op_child];
      size_t len = 0;
      const uint8_t *op =
          floe_arrow_view_is_null(ov, r) ? NULL : floe_arrow_view_bytes(ov, r, &len);
      bool known = op != NULL &&
                   ((len == strlen(m->op_insert) && memcmp(op, m->op_insert, len) == 0) ||
                    (len == strlen(m->op_update) && memcmp(op, m->op_update, len) == 0) ||
                    (len == strlen(m->op_delete) && memcmp(op, m->op_delete, len) == 0));
      if (!known) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "merge into %s: batch %" PRId64 " row %" PRId64
                            ": operation '%.*s' is none of '%s', '%s', '%s'",
                            m->name, m->n_batches, r, op ? (int)len : 4,
                            op ? (const char *)op : "null", m->op_insert,
                            m->op_update, m->op_delete);
        goto cleanup;
      }
    }
  }

  if (m->spill != NULL) {
    /* spilled: every change row goes to its key's partition */
    for (int64_t r = 0; r < batch->length; r++) {
      change_row ch;
      rc = row_change(m, views, source, op_child, r, &ch, err);
      if (rc < 0) goto cleanup;
      rc = spill_change(m, &ch, views, source, r, err);
      if (rc < 0) goto cleanup;
    }
    m->result.input_rows += batch->length;
    goto cleanup;
  }
  int64_t done = 0;
  while (done < batch->length) {
    int64_t seg = batch->length - done;
    if (seg > CHUNK_ROWS - m->builder_rows) seg = CHUNK_ROWS - m->builder_rows;
    int64_t first_row = m->n_chunks * CHUNK_ROWS + m->builder_rows;
    for (int32_t i = 0; i < m->n_columns; i++) {
      floe_arrow_builder *b = &m->builder.columns[i];
      rc = source[i] >= 0 ? append_range(b, &views[source[i]], done, seg)
                          : floe_arrow_builder_append_nulls(b, seg);
      if (rc < 0) {
        rc = floe_error_set(err, rc, "merge into %s: buffering batch %" PRId64,
                            m->name, m->n_batches);
        goto cleanup;
      }
    }
    m->builder_rows += seg;
    for (int64_t j = 0; j < seg; j++) {
      change_row ch;
      rc = row_change(m, views, source, op_child, done + j, &ch, err);
      if (rc < 0) goto cleanup;
      rc = entry_note(m, &ch, first_row + j, err);
      if (rc < 0) goto cleanup;
    }
    done += seg;
    if (m->builder_rows == CHUNK_ROWS) {
      rc = seal_chunk(m, err);
      if (rc < 0) goto cleanup;
    }
  }
  m->result.input_rows += batch->length;
  if (core_bytes(m) > m->memory_budget) rc = spill_begin(m, err);
  goto cleanup;
cleanup:
  if (rc < 0 && rc != FLOE_EINVAL) m->failed = true;
  floe_free(source);
  floe_free(views);
  return rc;
}

/* ==== writers ========================================================= */

static int writer_options(floe_merge *m, const char *suffix,
                          floe_table_writer_options *out, char *prefix,
                          size_t prefix_size, floe_error *err) {
  if (m->prefix_base == NULL) {
    char uuid[37];
    int rc = floe_iceberg_uuid_random(uuid, err);
    if (rc < 0) return rc;
    m->prefix_base = floe_strdup(uuid);
    if (m->prefix_base == NULL)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  floe_table_writer_options_init(out);
  int rc = floe_table_writer_options_from_metadata(out, m->md, err);
  if (rc < 0) return rc;
  out->io = floe_table_io(m->table);
  /* the writer holds a row group until it is complete: bound it by half
   * the merge's budget (at least 1 MiB), as the change set is */
  out->max_row_group_bytes = m->memory_budget / 2 > (1 << 20) ? m->memory_budget / 2 : (1 << 20);
  snprintf(prefix, prefix_size, "00000-merge-%s-%s", m->prefix_base, suffix);
  out->file_prefix = prefix;
  return FLOE_OK;
}

static int data_writer_get(floe_merge *m, floe_error *err) {
  if (m->data_writer != NULL) return FLOE_OK;
  floe_table_writer_options o;
  char prefix[128];
  int rc = writer_options(m, "data", &o, prefix, sizeof prefix, err);
  if (rc < 0) return rc;
  /* New rows and copy-on-write rewrites are written in the table's sort
   * order, the sort buffer taking a quarter of the budget. */
  o.sort_order = floe_iceberg_metadata_sort_order(m->md, m->md->default_sort_order_id);
  o.sort_buffer_bytes = m->memory_budget / 4 > (1 << 20) ? m->memory_budget / 4 : (1 << 20);
  return floe_data_writer_open(&m->data_writer, &o, err);
}

static int pos_writer_get(floe_merge *m, floe_error *err) {
  if (m->pos_writer != NULL) return FLOE_OK;
  floe_table_writer_options o;
  char prefix[128];
  int rc = writer_options(m, "pos", &o, prefix, sizeof prefix, err);
  if (rc < 0) return rc;
  /* After partition evolution the table's data files have several specs;
   * a position delete goes into the spec of the file it deletes from. */
  return floe_position_delete_writer_open_specs(
      &m->pos_writer, &o, (const floe_iceberg_partition_spec *const *)m->md->specs,
      m->md->n_specs, err);
}

static int eq_writer_get(floe_merge *m, floe_error *err) {
  if (m->eq_writer != NULL) return FLOE_OK;
  floe_table_writer_options o;
  char prefix[128];
  int rc = writer_options(m, "eq", &o, prefix, sizeof prefix, err);
  if (rc < 0) return rc;
  int32_t *ids = floe_malloc((size_t)m->n_keys * sizeof *ids);
  if (ids == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t k = 0; k < m->n_keys; k++)
    ids[k] = m->columns[m->key_columns[k]].field_id;
  rc = floe_equality_delete_writer_open(&m->eq_writer, &o, ids, m->n_keys, err);
  floe_free(ids);
  return rc;
}

/* Writes the rows built in `bb` (described by `schema`) with `write`. */
typedef int (*batch_sink)(floe_merge *m, const struct ArrowSchema *schema,
                          const struct ArrowArray *batch, floe_error *err);

static int sink_data(floe_merge *m, const struct ArrowSchema *schema,
                     const struct ArrowArray *batch, floe_error *err) {
  int rc = data_writer_get(m, err);
  if (rc < 0) return rc;
  m->rows_written += batch->length;
  return floe_data_writer_write(m->data_writer, schema, batch, err);
}

static int sink_eq(floe_merge *m, const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, floe_error *err) {
  int rc = eq_writer_get(m, err);
  if (rc < 0) return rc;
  return floe_equality_delete_writer_write(m->eq_writer, schema, batch, err);
}

static int flush_builder(floe_merge *m, floe_arrow_batch_builder *bb,
                         const struct ArrowSchema *schema, batch_sink sink,
                         floe_error *err) {
  if (bb->n_columns == 0 || bb->columns[0].length == 0) return FLOE_OK;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  int rc = floe_arrow_batch_builder_finish(bb, &batch, err);
  if (rc < 0) return rc;
  rc = sink(m, schema, &batch, err);
  floe_arrow_array_release(&batch);
  return rc;
}

/* ==== the table pass ================================================== */

typedef struct table_pass {
  floe_scan *scan;
  const floe_scan_plan_info *plan;
  struct ArrowSchema out_schema;
  int32_t *col_child; /* per table column: child of the scan batch, or -1 */
  int64_t pos_child;
  int32_t cur_task;   /* the plan task of the batch being read */
  /* per plan task: the rows deletes remove; whether deletes touch it */
  task_rows *rows;
  bool *touched;
  /* equality deletes: key (+ partition source) columns of deleted rows */
  struct ArrowSchema eq_schema;
  floe_arrow_batch_builder eq_bb;
  int32_t *eq_child; /* per eq_schema child: child of the scan batch */
  int32_t n_eq;
  bool eq_ready;
} table_pass;

static void table_pass_reset(table_pass *p) {
  floe_arrow_schema_release(&p->out_schema);
  floe_free(p->col_child);
  if (p->rows != NULL && p->plan != NULL)
    for (int32_t t = 0; t < p->plan->n_tasks; t++) floe_free(p->rows[t].bits);
  floe_free(p->rows);
  floe_free(p->touched);
  floe_arrow_schema_release(&p->eq_schema);
  if (p->eq_ready) floe_arrow_batch_builder_free(&p->eq_bb);
  floe_free(p->eq_child);
  floe_scan_free(p->scan); /* last: p->plan lives in it */
  memset(p, 0, sizeof *p);
}

/* Adds id to ids[0..*n) unless present. */
static void id_add(int32_t *ids, int32_t *n, int32_t id) {
  for (int32_t i = 0; i < *n; i++)
    if (ids[i] == id) return;
  ids[(*n)++] = id;
}

/* The filter that lets the scan prune files: `key IN (...)` for a few
 * changed keys (bounds and partition pruning per value), else
 * `key >= min AND key <= max` over the first key column (bounds pruning:
 * effective when changed keys are clustered, e.g. monotonic ids; random
 * keys span the whole range and prune nothing). Only integer-backed and
 * string first key columns get a filter. */
static bool key_first_kind(const floe_merge *m, bool *is_int32, bool *is_int64,
                           bool *is_str) {
  floe_arrow_type t = m->columns[m->key_columns[0]].arrow.id;
  *is_int32 = t == FLOE_ARROW_INT32 || t == FLOE_ARROW_DATE32;
  *is_int64 = t == FLOE_ARROW_INT64 || t == FLOE_ARROW_TIME64_US ||
              t == FLOE_ARROW_TIMESTAMP_US || t == FLOE_ARROW_TIMESTAMP_US_TZ ||
              t == FLOE_ARROW_TIMESTAMP_NS || t == FLOE_ARROW_TIMESTAMP_NS_TZ;
  *is_str = t == FLOE_ARROW_UTF8;
  return *is_int32 || *is_int64 || *is_str;
}

/* Sets key_lo/key_hi to the smallest and largest first-key value of the
 * change set (when that column is integer-backed or a string). */
static void key_range(floe_merge *m) {
  bool is_int32, is_int64, is_str;
  m->has_key_range = false;
  if (!m->range_seen || !key_first_kind(m, &is_int32, &is_int64, &is_str)) return;
  m->has_key_range = true;
  m->key_lo = key_first_value(m->range_lo.data, is_int32, is_int64);
  m->key_hi = key_first_value(m->range_hi.data, is_int32, is_int64);
}

/* The filter that lets the scan prune files: `key IN (...)` for a few
 * changed keys (bounds and partition pruning per value), else
 * `key >= min AND key <= max` over the first key column (bounds pruning:
 * effective when changed keys are clustered, e.g. monotonic ids; random
 * keys span the whole range and prune nothing). Only integer-backed and
 * string first key columns get a filter. */
static int key_filter(floe_merge *m, floe_scan_predicate *terms, int32_t *n_terms,
                      floe_iceberg_value **in_values, floe_error *err) {
  *n_terms = 0;
  const merge_column *kc = &m->columns[m->key_columns[0]];
  bool is_int32, is_int64, is_str;
  if (!m->has_key_range || !key_first_kind(m, &is_int32, &is_int64, &is_str))
    return FLOE_OK;
  if (m->spill == NULL && m->n_entries <= IN_FILTER_MAX) {
    floe_iceberg_value *values = floe_calloc((size_t)m->n_entries, sizeof *values);
    if (values == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    int32_t n = 0;
    for (int64_t i = 0; i < m->n_entries; i++)
      values[n++] = key_first_value(m->entries[i].key, is_int32, is_int64);
    *in_values = values;
    terms[0].column = NULL;
    terms[0].field_id = kc->field_id;
    terms[0].op = FLOE_SCAN_IN;
    terms[0].values = values;
    terms[0].n_values = n;
    *n_terms = 1;
    return FLOE_OK;
  }
  terms[0].column = NULL;
  terms[0].field_id = kc->field_id;
  terms[0].op = FLOE_SCAN_GE;
  terms[0].value = m->key_lo;
  terms[1] = terms[0];
  terms[1].op = FLOE_SCAN_LE;
  terms[1].value = m->key_hi;
  *n_terms = 2;
  return FLOE_OK;
}

/* Rows a scan leaves out for its caller (floe_scan_options.exclude_rows). */
typedef int (*pass_exclude)(void *ctx, int32_t task, int64_t first_row, int64_t n,
                            uint8_t *keep, floe_error *err);

/* Opens a scan of the table's live rows with the given columns (NULL: all)
 * plus _pos when with_position (the batch's data file is its plan task,
 * floe_scan_batch_task), leaving out the rows `exclude` (may be NULL)
 * drops. */
static int pass_open(floe_merge *m, table_pass *p, const int32_t *ids,
                     int32_t n_ids, bool with_position,
                     const floe_scan_predicate *filter, int32_t n_filter,
                     const char *const *data_files, int32_t n_data_files,
                     pass_exclude exclude, void *exclude_ctx, floe_error *err) {
  floe_scan_options so;
  memset(&so, 0, sizeof so);
  so.exclude_rows = exclude;
  so.exclude_ctx = exclude_ctx;
  so.data_files = data_files;
  so.n_data_files = n_data_files;
  so.field_ids = ids;
  so.n_field_ids = n_ids;
  so.with_pos = with_position;
  so.filter = filter;
  so.n_filter = n_filter;
  so.filter_prunes_only = true; /* every row's key is looked up anyway */
  int rc = floe_scan_open(&p->scan, m->md, floe_table_io(m->table), &so, err);
  if (rc < 0) return rc;
  rc = floe_scan_plan(p->scan, &p->plan, err);
  if (rc < 0) return rc;
  rc = floe_scan_schema(p->scan, &p->out_schema, err);
  if (rc < 0) return rc;
  p->col_child = floe_malloc(((size_t)m->n_columns + 1) * sizeof *p->col_child);
  p->rows = floe_calloc((size_t)p->plan->n_tasks + 1, sizeof *p->rows);
  p->touched = floe_calloc((size_t)p->plan->n_tasks + 1, sizeof *p->touched);
  if (p->col_child == NULL || p->rows == NULL || p->touched == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int32_t i = 0; i < m->n_columns; i++) p->col_child[i] = -1;
  p->pos_child = -1;
  p->cur_task = -1;
  for (int64_t c = 0; c < p->out_schema.n_children; c++) {
    int32_t id = floe_arrow_schema_field_id(p->out_schema.children[c]);
    if (id == FLOE_SCAN_FIELD_ID_POS)
      p->pos_child = c;
    else {
      int idx = column_index(m, id);
      if (idx >= 0) p->col_child[idx] = (int32_t)c;
    }
  }
  return FLOE_OK;
}

/* The plan task of data file `path` in p's plan, or -1. */
static int32_t pass_task_of(const table_pass *p, const char *path) {
  for (int32_t t = 0; t < p->plan->n_tasks; t++)
    if (strcmp(p->plan->tasks[t].file.file_path, path) == 0) return t;
  return -1;
}

/* Points p->cur_task at the plan task of the batch just read. */
static int pass_batch_task(floe_merge *m, table_pass *p, floe_error *err) {
  p->cur_task = floe_scan_batch_task(p->scan);
  if (p->cur_task >= 0 && p->cur_task < p->plan->n_tasks) return FLOE_OK;
  return floe_error_set(err, FLOE_EFORMAT, "merge into %s: scan returned rows of task %d, "
                        "which is not in its plan", m->name, (int)p->cur_task);
}

/* Marks row `pos` of plan task t deleted. */
static int mark_row(table_pass *p, int32_t t, int64_t pos, floe_error *err) {
  if (t < 0 || t >= p->plan->n_tasks || pos < 0)
    return floe_error_set(err, FLOE_EFORMAT, "merge: row %" PRId64 " of task %d is out of range",
                          pos, (int)t);
  task_rows *tr = &p->rows[t];
  size_t need = (size_t)(pos / 8) + 1;
  if (need > tr->n_bytes) {
    int64_t records = p->plan->tasks[t].file.record_count;
    size_t n = records > 0 ? (size_t)((records + 7) / 8) : 0;
    if (n < need) n = need + need / 2;
    uint8_t *bits = floe_realloc(tr->bits, n);
    if (bits == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    memset(bits + tr->n_bytes, 0, n - tr->n_bytes);
    tr->bits = bits;
    tr->n_bytes = n;
  }
  tr->bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
  p->touched[t] = true;
  return FLOE_OK;
}

static bool row_marked(const table_pass *p, int32_t t, int64_t pos) {
  const task_rows *tr = &p->rows[t];
  return pos >= 0 && (size_t)(pos / 8) < tr->n_bytes && (tr->bits[pos / 8] >> (pos % 8)) & 1;
}

/* Deletes row r of a scanned batch (views by scan child). */
static int pass_delete_row(floe_merge *m, table_pass *p,
                           const floe_arrow_view *views, int64_t r,
                           floe_error *err) {
  int rc;
  m->table_rows_deleted++;
  if (m->deletes == FLOE_MERGE_EQUALITY_DELETES && p->pos_child >= 0) {
    /* Mixed specs (partition evolution): an equality delete applies only
     * to data files of its own spec and partition (Iceberg spec: Scan
     * Planning), and it is written in the default spec; a row of a file
     * in an older spec is deleted by position instead. */
    const floe_scan_task *task = &p->plan->tasks[p->cur_task];
    if (m->spec != NULL && task->file.spec_id != m->spec->spec_id) {
      p->touched[p->cur_task] = true;
      rc = pos_writer_get(m, err);
      if (rc < 0) return rc;
      return floe_position_delete_writer_add_spec(
          m->pos_writer, task->file.spec_id,
          task->file.n_partition > 0 ? task->file.partition : NULL, task->file.file_path,
          floe_arrow_view_int64(&views[p->pos_child], r), err);
    }
  }
  if (m->deletes == FLOE_MERGE_EQUALITY_DELETES) {
    for (int32_t j = 0; j < p->n_eq; j++) {
      rc = append_value(&p->eq_bb.columns[j], &views[p->eq_child[j]], r);
      if (rc < 0) return floe_error_set(err, rc, "out of memory");
    }
    if (p->eq_bb.columns[0].length >= OUT_BATCH_ROWS)
      return flush_builder(m, &p->eq_bb, &p->eq_schema, sink_eq, err);
    return FLOE_OK;
  }
  return mark_row(p, p->cur_task, floe_arrow_view_int64(&views[p->pos_child], r), err);
}

/* Hash of the non-key columns of a row: views[col_of(i)] per table column
 * i (col_of < 0: the column is null). */
static int row_hash(floe_merge *m, const floe_arrow_view *const *cols,
                    const int64_t *rows, uint64_t *out, floe_error *err) {
  m->scratch.len = 0;
  for (int32_t i = 0; i < m->n_columns; i++) {
    if (m->columns[i].key_index >= 0 || m->columns[i].unhashed) continue;
    int rc;
    if (cols[i] == NULL) {
      uint8_t marker = 0;
      rc = floe_buf_append(&m->scratch, &marker, 1);
    } else {
      rc = row_hash_append(&m->scratch, m->columns[i].type, cols[i], rows[i], err);
    }
    if (rc < 0) return rc;
  }
  *out = floe_merge_xxh64(m->scratch.data, m->scratch.len, 0);
  return FLOE_OK;
}

/* hash-diff: the row hash of each buffered key's winning row. */
static int hash_entries(floe_merge *m, floe_error *err) {
  if (m->kind != FLOE_MERGE_HASH_DIFF) return FLOE_OK;
  for (int64_t i = 0; i < m->n_entries; i++) {
    merge_entry *e = &m->entries[i];
    for (int32_t c = 0; c < m->n_columns; c++)
      m->spill_cols[c] = row_view(m, e->row, c, &m->spill_rows[c]);
    int rc = row_hash(m, m->spill_cols, m->spill_rows, &e->row_hash, err);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

/* Spilled table pass, row r (its key in m->scratch unless null_key): a
 * row whose key may be in the change set (Bloom filter) goes to the key's
 * partition as key, task and position (not for equality deletes), row
 * hash (hash-diff) and the equality delete's values (equality deletes);
 * for hash-diff a row whose key the source surely lacks is deleted now. */
static int spill_table_row(floe_merge *m, table_pass *p, const floe_arrow_view *views,
                           const floe_arrow_view *const *cols, int64_t r, bool null_key,
                           floe_error *err) {
  int rc;
  if (!null_key) {
    uint64_t hash = floe_merge_xxh64(m->scratch.data, m->scratch.len, 0);
    if (bloom_has(m, hash)) {
      floe_buf *rec = &m->record;
      rec->len = 0;
      uint32_t kl = (uint32_t)m->scratch.len;
      rc = floe_buf_append(rec, &kl, 4);
      rc |= floe_buf_append(rec, m->scratch.data, m->scratch.len);
      if (rc != 0) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      if (m->deletes != FLOE_MERGE_EQUALITY_DELETES) {
        int32_t task = p->cur_task;
        int64_t pos = floe_arrow_view_int64(&views[p->pos_child], r);
        if (floe_buf_append(rec, &task, 4) < 0 || floe_buf_append(rec, &pos, 8) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      }
      if (m->kind == FLOE_MERGE_HASH_DIFF) {
        uint64_t h;
        for (int32_t c = 0; c < m->n_columns; c++) m->spill_rows[c] = r;
        rc = row_hash(m, cols, m->spill_rows, &h, err);
        if (rc < 0) return rc;
        if (floe_buf_append(rec, &h, 8) < 0)
          return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      }
      if (m->deletes == FLOE_MERGE_EQUALITY_DELETES)
        for (int32_t j = 0; j < p->n_eq; j++)
          if (value_put(rec, &views[p->eq_child[j]], r) < 0)
            return floe_error_set(err, FLOE_ENOMEM, "out of memory");
      return floe_spill_append(m->spill, m->spill_parts + (int32_t)spill_part(m, hash), rec->data,
                               rec->len, err);
    }
  }
  if (m->kind != FLOE_MERGE_HASH_DIFF) return FLOE_OK;
  m->result.rows_deleted++; /* in the table, not in the source */
  return pass_delete_row(m, p, views, r, err);
}

/* Adds the outcome of each buffered key to the result counts. */
static void count_entries(floe_merge *m) {
  floe_merge_result *res = &m->result;
  for (int64_t i = 0; i < m->n_entries; i++) {
    const merge_entry *e = &m->entries[i];
    if (e->action == ACT_UPSERT) {
      if (e->flags & F_UNCHANGED)
        res->rows_unchanged++;
      else if (e->flags & F_EXISTS)
        res->rows_updated++;
      else
        res->rows_inserted++;
    } else if (e->flags & F_EXISTS) {
      res->rows_deleted++;
    } else {
      res->deletes_missing++;
    }
  }
}

static int write_new_rows(floe_merge *m, floe_error *err);

/* Merges one spilled partition (change rows in file q, table rows in
 * file `file`): its change rows into the key table, then its table rows
 * (in scan order) against them, as the in-memory table pass does row by
 * row; then writes its new rows and counts its keys. */
static int merge_partition(floe_merge *m, table_pass *p, int32_t q, int32_t file,
                           floe_error *err) {
  int rc = load_partition(m, q, err);
  if (rc < 0) return rc;
  rc = hash_entries(m, err);
  if (rc < 0) return rc;
  rc = floe_spill_rewind(m->spill, file, err);
  if (rc < 0) return rc;
  bool positions = m->deletes != FLOE_MERGE_EQUALITY_DELETES;
  bool diff = m->kind == FLOE_MERGE_HASH_DIFF;
  for (;;) {
    const uint8_t *rec;
    size_t len;
    rc = floe_spill_next(m->spill, file, &rec, &len, err);
    if (rc < 0) return rc;
    if (rec == NULL) break;
    const uint8_t *at = rec, *end = rec + len;
    uint32_t kl;
    int32_t task = -1;
    int64_t pos = -1;
    uint64_t h = 0;
    if (len < 4) goto bad;
    memcpy(&kl, at, 4);
    at += 4;
    if ((size_t)(end - at) < (size_t)kl + (positions ? 12 : 0) + (diff ? 8 : 0)) goto bad;
    const uint8_t *key = at;
    at += kl;
    if (positions) {
      memcpy(&task, at, 4);
      memcpy(&pos, at + 4, 8);
      at += 12;
    }
    if (diff) {
      memcpy(&h, at, 8);
      at += 8;
    }
    merge_entry *e = entry_find(m, key, kl, floe_merge_xxh64(key, kl, 0), NULL);
    if (!diff) {
      if (e == NULL) continue;
      e->flags |= F_EXISTS;
    } else if (e != NULL && !(e->flags & F_EXISTS)) {
      e->flags |= F_EXISTS;
      if (h == e->row_hash) {
        e->flags |= F_UNCHANGED;
        continue;
      }
    } else if (e == NULL) {
      m->result.rows_deleted++; /* a Bloom filter false positive */
    }
    m->table_rows_deleted++;
    if (positions) {
      rc = mark_row(p, task, pos, err);
      if (rc < 0) return rc;
      continue;
    }
    for (int32_t j = 0; j < p->n_eq; j++) {
      rc = value_take(&p->eq_bb.columns[j], &at, end);
      if (rc == FLOE_EFORMAT) goto bad;
      if (rc < 0) return floe_error_set(err, rc, "out of memory");
    }
    if (p->eq_bb.columns[0].length >= OUT_BATCH_ROWS) {
      rc = flush_builder(m, &p->eq_bb, &p->eq_schema, sink_eq, err);
      if (rc < 0) return rc;
    }
  }
  floe_spill_drop(m->spill, file);
  rc = write_new_rows(m, err);
  if (rc < 0) return rc;
  count_entries(m);
  core_reset(m, false);
  return FLOE_OK;
bad:
  return floe_error_set(err, FLOE_EFORMAT, "merge into %s: spill partition %d is corrupt",
                        m->name, (int)file);
}

/* The key hash of a spill record: a change record's key follows its
 * action, flags and ordering values; a table record starts with its key. */
static int record_key_hash(const floe_merge *m, const uint8_t *rec, size_t len, bool change,
                           uint64_t *hash) {
  size_t at = change ? 2 + (m->order_column >= 0 ? 16 : 0) + (m->then_column >= 0 ? 16 : 0) : 0;
  uint32_t kl;
  if (len < at + 4) return FLOE_EFORMAT;
  memcpy(&kl, rec + at, 4);
  if (len - at - 4 < kl) return FLOE_EFORMAT;
  *hash = floe_merge_xxh64(rec + at + 4, kl, 0);
  return FLOE_OK;
}

/* Moves every record of file `from` to file first + (its key's next
 * `bits` hash bits after `used`), in order; counts each child's records
 * in counts (may be NULL); drops `from`. */
static int spill_split_file(floe_merge *m, int32_t from, bool change, int32_t first,
                            int32_t used, int32_t bits, int64_t *counts, floe_error *err) {
  int rc = floe_spill_rewind(m->spill, from, err);
  if (rc < 0) return rc;
  for (;;) {
    const uint8_t *rec;
    size_t len;
    uint64_t hash;
    rc = floe_spill_next(m->spill, from, &rec, &len, err);
    if (rc < 0) return rc;
    if (rec == NULL) break;
    if (record_key_hash(m, rec, len, change, &hash) < 0)
      return floe_error_set(err, FLOE_EFORMAT, "merge into %s: spill partition %d is corrupt",
                            m->name, (int)from);
    uint32_t child = hash_bits(hash, used, bits);
    if (counts != NULL) counts[child]++;
    rc = floe_spill_append(m->spill, first + (int32_t)child, rec, len, err);
    if (rc < 0) return rc;
  }
  floe_spill_drop(m->spill, from);
  return FLOE_OK;
}

/* Merges a spilled partition (change rows in file q, table rows in file
 * `file`, keys sharing their first `used` hash bits). One whose change
 * rows would not fit half the budget in memory is split first by the next
 * hash bits into as many parts as make each fit (at most SPILL_MAX_PARTS,
 * and at most the top level's fan-out), recursively: records keep their
 * order within each part, so every part merges as the whole would have.
 * A split that cannot separate the rows (one key's many changes) is not
 * repeated; load_partition then keeps only winning rows. */
static int merge_spilled(floe_merge *m, table_pass *p, int32_t q, int32_t file, int32_t used,
                         bool splittable, floe_error *err) {
  int64_t records = floe_spill_file_records(m->spill, q);
  int64_t need = floe_spill_file_bytes(m->spill, q) + records * SPILL_ROW_OVERHEAD;
  if (!splittable || used >= 64 || records < SPLIT_MIN_ROWS || need <= m->memory_budget / 2)
    return merge_partition(m, p, q, file, err);
  int32_t bits = 1;
  while (bits < m->spill_bits && need / ((int64_t)1 << bits) > m->memory_budget / 2) bits++;
  if (bits > 64 - used) bits = 64 - used;
  int32_t parts = 1 << bits, first;
  int64_t *counts = floe_calloc((size_t)parts, sizeof *counts);
  if (counts == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int rc = floe_spill_add_files(m->spill, 2 * parts, &first, err);
  if (rc >= 0) rc = spill_split_file(m, q, true, first, used, bits, counts, err);
  if (rc >= 0) rc = spill_split_file(m, file, false, first + parts, used, bits, NULL, err);
  if (rc >= 0) m->result.spill_splits++;
  for (int32_t c = 0; c < parts && rc >= 0; c++)
    rc = merge_spilled(m, p, first + c, first + parts + c, used + bits, counts[c] < records,
                       err);
  floe_free(counts);
  return rc;
}

/* Writes the position deletes marked in the task bitmaps, file by file in
 * plan order and by position. */
static int emit_position_deletes(floe_merge *m, table_pass *p, floe_error *err) {
  for (int32_t t = 0; t < p->plan->n_tasks; t++) {
    if (!p->touched[t]) continue;
    const floe_scan_task *task = &p->plan->tasks[t];
    const task_rows *tr = &p->rows[t];
    int rc = pos_writer_get(m, err);
    if (rc < 0) return rc;
    for (size_t i = 0; i < tr->n_bytes; i++) {
      if (tr->bits[i] == 0) continue;
      for (int b = 0; b < 8; b++) {
        if (!((tr->bits[i] >> b) & 1)) continue;
        /* in the data file's own spec (partition evolution) */
        rc = floe_position_delete_writer_add_spec(
            m->pos_writer, task->file.spec_id,
            task->file.n_partition > 0 ? task->file.partition : NULL, task->file.file_path,
            (int64_t)i * 8 + b, err);
        if (rc < 0) return rc;
      }
    }
  }
  return FLOE_OK;
}

/* Scans the table's live rows and marks, deletes or diffs them against the
 * change set (see the file comment). */
static int table_pass_run(floe_merge *m, table_pass *p, floe_error *err) {
  int rc = FLOE_OK;
  int32_t *ids = NULL;
  floe_iceberg_value *in_values = NULL;
  const floe_arrow_view **cols = NULL;
  int64_t *col_rows = NULL;
  floe_arrow_view *views = NULL;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);

  int32_t n_ids = 0;
  ids = floe_malloc(((size_t)m->n_columns + 1) * sizeof *ids);
  cols = floe_calloc((size_t)m->n_columns + 1, sizeof *cols);
  col_rows = floe_calloc((size_t)m->n_columns + 1, sizeof *col_rows);
  if (ids == NULL || cols == NULL || col_rows == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int32_t k = 0; k < m->n_keys; k++)
    id_add(ids, &n_ids, m->columns[m->key_columns[k]].field_id);
  int32_t n_eq_ids = n_ids;
  if (m->deletes == FLOE_MERGE_EQUALITY_DELETES && m->spec != NULL)
    for (int32_t f = 0; f < m->spec->n_fields; f++)
      if (column_index(m, m->spec->fields[f].source_id) >= 0)
        id_add(ids, &n_ids, m->spec->fields[f].source_id);
  n_eq_ids = n_ids;
  if (m->kind == FLOE_MERGE_HASH_DIFF)
    for (int32_t i = 0; i < m->n_columns; i++) id_add(ids, &n_ids, m->columns[i].field_id);

  floe_scan_predicate terms[2];
  memset(terms, 0, sizeof terms);
  int32_t n_terms = 0;
  if (m->kind != FLOE_MERGE_HASH_DIFF) {
    rc = key_filter(m, terms, &n_terms, &in_values, err);
    if (rc < 0) goto cleanup;
  }
  rc = pass_open(m, p, ids, n_ids,
                 m->deletes != FLOE_MERGE_EQUALITY_DELETES || m->md->n_specs > 1, terms,
                 n_terms, NULL, 0, NULL, NULL, err);
  if (rc < 0) goto cleanup;

  if (m->deletes == FLOE_MERGE_EQUALITY_DELETES) {
    rc = floe_iceberg_schema_to_arrow(m->schema, ids, n_eq_ids, &p->eq_schema, err);
    if (rc < 0) goto cleanup;
    rc = floe_arrow_batch_builder_init(&p->eq_bb, &p->eq_schema, err);
    if (rc < 0) goto cleanup;
    p->eq_ready = true;
    p->n_eq = n_eq_ids;
    p->eq_child = floe_malloc((size_t)n_eq_ids * sizeof *p->eq_child);
    if (p->eq_child == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    for (int32_t j = 0; j < n_eq_ids; j++)
      p->eq_child[j] = p->col_child[column_index(m, ids[j])];
  }

  rc = hash_entries(m, err);
  if (rc < 0) goto cleanup;

  views = floe_calloc((size_t)p->out_schema.n_children + 1, sizeof *views);
  if (views == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (;;) {
    rc = floe_scan_next(p->scan, &batch, err);
    if (rc < 0) goto cleanup;
    if (batch.release == NULL) break;
    for (int64_t c = 0; c < p->out_schema.n_children; c++) {
      rc = floe_arrow_view_init(&views[c], p->out_schema.children[c],
                                batch.children[c], err);
      if (rc < 0) goto cleanup;
    }
    for (int32_t c = 0; c < m->n_columns; c++) {
      cols[c] = p->col_child[c] >= 0 ? &views[p->col_child[c]] : NULL;
    }
    rc = pass_batch_task(m, p, err);
    if (rc < 0) goto cleanup;
    for (int64_t r = 0; r < batch.length; r++) {
      m->scratch.len = 0;
      bool null_key = false;
      for (int32_t k = 0; k < m->n_keys; k++) {
        const floe_arrow_view *kv = &views[p->col_child[m->key_columns[k]]];
        if (floe_arrow_view_is_null(kv, r)) {
          null_key = true;
          break;
        }
        rc = key_append(&m->scratch, kv, r);
        if (rc < 0) goto cleanup;
      }
      if (m->spill != NULL) {
        rc = spill_table_row(m, p, views, cols, r, null_key, err);
        if (rc < 0) goto cleanup;
        continue;
      }
      merge_entry *e = NULL;
      if (!null_key) {
        uint64_t hash = floe_merge_xxh64(m->scratch.data, m->scratch.len, 0);
        e = entry_find(m, m->scratch.data, m->scratch.len, hash, NULL);
      }
      if (m->kind != FLOE_MERGE_HASH_DIFF) {
        if (e == NULL) continue;
        e->flags |= F_EXISTS;
        rc = pass_delete_row(m, p, views, r, err);
        if (rc < 0) goto cleanup;
        continue;
      }
      /* hash-diff */
      if (e != NULL && !(e->flags & F_EXISTS)) {
        e->flags |= F_EXISTS;
        for (int32_t c = 0; c < m->n_columns; c++) col_rows[c] = r;
        uint64_t h;
        rc = row_hash(m, cols, col_rows, &h, err);
        if (rc < 0) goto cleanup;
        if (h == e->row_hash) {
          e->flags |= F_UNCHANGED;
          continue;
        }
      } else if (e == NULL) {
        m->result.rows_deleted++; /* in the table, not in the source */
      }
      /* changed, absent from the source, or a second live row of a key */
      rc = pass_delete_row(m, p, views, r, err);
      if (rc < 0) goto cleanup;
    }
    floe_arrow_array_release(&batch);
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_free(ids);
  floe_free(in_values);
  floe_free(cols);
  floe_free(col_rows);
  floe_free(views);
  return rc;
}

/* The reading side of a copy-on-write rewrite: a scan of the touched data
 * files that leaves out the replaced rows itself (cow_exclude), so each
 * kept row is copied once, from the decoded page into the batch the
 * writer takes. With a second thread it runs there (replicate/pipeline.h)
 * while the caller's thread encodes the batch before; it reads only the
 * first pass's marks and the merge's column layout, which nothing changes
 * meanwhile. Its batches are the same whatever the thread count, so the
 * files written are too. */
typedef struct cow_reader {
  floe_merge *m;
  const table_pass *p; /* the first pass: which rows are replaced */
  table_pass rp;       /* the rewrite's scan */
  bool same_layout;    /* the scan's batches have the row layout as they are */
  floe_arrow_view *views;
  floe_arrow_batch_builder bb; /* else: rows copied into the row layout */
  bool bb_ready;
} cow_reader;

/* floe_scan_options.exclude_rows of the rewrite: clears keep[] for the
 * rows the first pass marked in the batch's data file. */
static int cow_exclude(void *ctx, int32_t task, int64_t first_row, int64_t n, uint8_t *keep,
                       floe_error *err) {
  cow_reader *cr = ctx;
  const char *path = task >= 0 && task < cr->rp.plan->n_tasks
                         ? cr->rp.plan->tasks[task].file.file_path
                         : "?";
  /* the first pass's plan numbers the touched tasks; this scan plans
   * no other file */
  int32_t t = task >= 0 && task < cr->rp.plan->n_tasks ? pass_task_of(cr->p, path) : -1;
  if (t < 0 || !cr->p->touched[t])
    return floe_error_set(err, FLOE_EFORMAT, "merge into %s: rewrite read %s, which the merge "
                          "does not touch", cr->m->name, path);
  const task_rows *tr = &cr->p->rows[t];
  int64_t marked_end = (int64_t)tr->n_bytes * 8;
  int64_t end = first_row + n < marked_end ? first_row + n : marked_end;
  for (int64_t pos = first_row; pos < end;) {
    if ((pos & 7) == 0 && pos + 8 <= end && tr->bits[pos / 8] == 0) {
      pos += 8; /* eight kept rows */
      continue;
    }
    if (row_marked(cr->p, t, pos)) keep[pos - first_row] = 0;
    pos++;
  }
  return FLOE_OK;
}

static int cow_reader_pull(void *ctx, struct ArrowArray *out, floe_error *err) {
  cow_reader *cr = ctx;
  floe_merge *m = cr->m;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  int rc = floe_scan_next(cr->rp.scan, &batch, err);
  if (rc < 0 || batch.release == NULL) return rc < 0 ? rc : 0;
  if (cr->same_layout) {
    floe_arrow_array_move(&batch, out);
    return 1;
  }
  /* columns in another order, or missing from the scan (null) */
  for (int64_t c = 0; c < cr->rp.out_schema.n_children; c++) {
    rc = floe_arrow_view_init(&cr->views[c], cr->rp.out_schema.children[c], batch.children[c],
                              err);
    if (rc < 0) goto cleanup;
  }
  for (int32_t c = 0; c < m->n_columns; c++) {
    floe_arrow_builder *b = &cr->bb.columns[c];
    rc = cr->rp.col_child[c] >= 0
             ? floe_arrow_builder_append_view(b, &cr->views[cr->rp.col_child[c]], 0, batch.length)
             : floe_arrow_builder_append_nulls(b, batch.length);
    if (rc < 0) {
      rc = floe_error_set(err, rc, "merge into %s: rewriting a data file: %s", m->name,
                          rc == FLOE_ENOMEM ? "out of memory" : "a column's layout differs");
      goto cleanup;
    }
  }
  rc = floe_arrow_batch_builder_finish(&cr->bb, out, err);
  if (rc == FLOE_OK) rc = 1;
cleanup:
  floe_arrow_array_release(&batch);
  return rc;
}

/* Whether the scan's batches are in the merge's row layout: the same
 * columns in the same order with the same Arrow formats. */
static bool cow_same_layout(const floe_merge *m, const table_pass *rp) {
  if (rp->out_schema.n_children != m->n_columns ||
      m->row_schema.n_children != m->n_columns)
    return false;
  for (int32_t c = 0; c < m->n_columns; c++)
    if (rp->col_child[c] != c ||
        strcmp(rp->out_schema.children[c]->format, m->row_schema.children[c]->format) != 0 ||
        rp->out_schema.children[c]->n_children != 0)
      return false;
  return true;
}

/* Queue depth of the rewrite: batches decoded ahead of the encoder. */
#define COW_PIPELINE_DEPTH 2

/* Copy-on-write: reads every live row of the touched data files (the scan
 * plans only those) and writes the ones the merge does not replace. With
 * options.threads != 1 the reading runs on a second thread, at most
 * COW_PIPELINE_DEPTH batches ahead of the writer. */
static int cow_rewrite(floe_merge *m, table_pass *p, floe_error *err) {
  int rc = FLOE_OK;
  cow_reader cr;
  memset(&cr, 0, sizeof cr);
  cr.m = m;
  cr.p = p;
  floe_pipeline *pipe = NULL;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  const char **paths = NULL;
  int32_t n_paths = 0;

  paths = floe_calloc((size_t)p->plan->n_tasks + 1, sizeof *paths);
  if (paths == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int32_t t = 0; t < p->plan->n_tasks; t++)
    if (p->touched[t]) paths[n_paths++] = p->plan->tasks[t].file.file_path;
  rc = pass_open(m, &cr.rp, NULL, 0, false, NULL, 0, paths, n_paths, cow_exclude, &cr, err);
  if (rc < 0) goto cleanup;
  cr.same_layout = cow_same_layout(m, &cr.rp);
  if (!cr.same_layout) {
    rc = floe_arrow_batch_builder_init(&cr.bb, &m->row_schema, err);
    if (rc < 0) goto cleanup;
    cr.bb_ready = true;
    cr.views = floe_calloc((size_t)cr.rp.out_schema.n_children + 1, sizeof *cr.views);
    if (cr.views == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
  /* the writer is opened on this thread before the reader starts */
  rc = data_writer_get(m, err);
  if (rc < 0) goto cleanup;
  rc = floe_pipeline_start_pull(&pipe, cow_reader_pull, &cr, floe_pipeline_threads(m->threads),
                                COW_PIPELINE_DEPTH, err);
  if (rc < 0) goto cleanup;
  for (;;) {
    rc = floe_pipeline_next(pipe, &batch, err);
    if (rc <= 0) break;
    rc = sink_data(m, &m->row_schema, &batch, err);
    floe_arrow_array_release(&batch);
    if (rc < 0) break;
  }
cleanup:
  floe_pipeline_free(pipe); /* joins the reader before its state goes */
  floe_arrow_array_release(&batch);
  if (cr.bb_ready) floe_arrow_batch_builder_free(&cr.bb);
  floe_free(cr.views);
  floe_free(paths);
  table_pass_reset(&cr.rp);
  return rc;
}

/* Row numbers in arrival order, ignoring write_new_rows' update bit. */
static int compare_row(const void *a, const void *b) {
  const int64_t mask = ~(INT64_C(1) << 62);
  int64_t x = *(const int64_t *)a & mask, y = *(const int64_t *)b & mask;
  return x < y ? -1 : x > y;
}

/* Writes the winning upserts (skipping hash-diff's unchanged rows) in
 * arrival order through the data writer. */

static int write_new_rows(floe_merge *m, floe_error *err) {
  int rc = FLOE_OK;
  int64_t *rows = NULL;
  floe_arrow_batch_builder bb;
  bool bb_ready = false;
  int64_t n = 0;
  rows = floe_malloc(((size_t)m->n_entries + 1) * sizeof *rows);
  if (rows == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  /* A row number is below 2^62; its top bit tells an update (the key was in
   * the table) for the operation column. */
  const int64_t updated = INT64_C(1) << 62;
  for (int64_t i = 0; i < m->n_entries; i++) {
    const merge_entry *e = &m->entries[i];
    if (e->action == ACT_UPSERT && !(e->flags & F_UNCHANGED))
      rows[n++] = e->row | ((e->flags & F_EXISTS) ? updated : 0);
  }
  if (n == 0) goto cleanup;
  /* entries are made in arrival order; only a later winning change of a
   * known key puts a row out of order */
  bool sorted = true;
  for (int64_t i = 1; i < n && sorted; i++)
    sorted = (rows[i - 1] & ~updated) < (rows[i] & ~updated);
  if (!sorted) qsort(rows, (size_t)n, sizeof *rows, compare_row);
  rc = floe_arrow_batch_builder_init(&bb, &m->row_schema, err);
  if (rc < 0) goto cleanup;
  bb_ready = true;
  for (int64_t i = 0; i < n;) {
    /* a run of consecutive buffered rows of one chunk, copied in bulk */
    int64_t row = rows[i] & ~updated;
    const merge_chunk *ch = &m->chunks[row / CHUNK_ROWS];
    int64_t idx = row % CHUNK_ROWS, len = 1;
    while (i + len < n && (rows[i + len] & ~updated) == row + len &&
           idx + len < ch->length && bb.columns[0].length + len < OUT_BATCH_ROWS)
      len++;
    for (int32_t c = 0; c < m->n_columns; c++) {
      if (m->columns[c].is_op) {
        for (int64_t k = 0; k < len && rc >= 0; k++)
          rc = floe_arrow_builder_append_bytes(&bb.columns[c],
                                               (rows[i + k] & updated) ? "U" : "I", 1);
      } else {
        rc = floe_arrow_builder_append_view(&bb.columns[c], &ch->views[c], idx, len);
      }
      if (rc < 0) {
        rc = floe_error_set(err, rc, "merge into %s: writing new rows: %s", m->name,
                            rc == FLOE_ENOMEM ? "out of memory" : "a column's layout differs");
        goto cleanup;
      }
    }
    i += len;
    if (bb.columns[0].length >= OUT_BATCH_ROWS) {
      rc = flush_builder(m, &bb, &m->row_schema, sink_data, err);
      if (rc < 0) goto cleanup;
    }
  }
  rc = flush_builder(m, &bb, &m->row_schema, sink_data, err);
cleanup:
  if (bb_ready) floe_arrow_batch_builder_free(&bb);
  floe_free(rows);
  return rc;
}

/* ==== commit ========================================================== */

/* Whether a content file's bounds on the first key column can hold a key
 * in [key_lo, key_hi] (missing bounds: yes). */
static bool file_may_hold_keys(const floe_merge *m,
                               const floe_iceberg_content_file *f) {
  if (!m->has_key_range) return true;
  const merge_column *kc = &m->columns[m->key_columns[0]];
  for (int32_t c = 0; c < f->n_columns; c++) {
    const floe_iceberg_column_metrics *cm = &f->columns[c];
    if (cm->field_id != kc->field_id) continue;
    if (cm->lower_bound == NULL || cm->upper_bound == NULL) return true;
    floe_iceberg_value lo, hi;
    if (floe_iceberg_value_from_binary(kc->type, cm->lower_bound,
                                       cm->lower_bound_len, &lo, NULL) < 0 ||
        floe_iceberg_value_from_binary(kc->type, cm->upper_bound,
                                       cm->upper_bound_len, &hi, NULL) < 0)
      return true;
    floe_arrow_type t = kc->arrow.id;
    if (t == FLOE_ARROW_INT32 || t == FLOE_ARROW_DATE32)
      return !(hi.v.i32 < m->key_lo.v.i32 || lo.v.i32 > m->key_hi.v.i32);
    if (t == FLOE_ARROW_UTF8) {
      /* string upper bounds may be truncated upward; compare prefixes */
      size_t n = hi.len < m->key_lo.len ? hi.len : m->key_lo.len;
      int c1 = memcmp(hi.bytes, m->key_lo.bytes, n);
      if (c1 < 0) return false;
      n = lo.len < m->key_hi.len ? lo.len : m->key_hi.len;
      int c2 = memcmp(lo.bytes, m->key_hi.bytes, n);
      if (c2 > 0 || (c2 == 0 && lo.len > m->key_hi.len)) return false;
      return true;
    }
    return !(hi.v.i64 < m->key_lo.v.i64 || lo.v.i64 > m->key_hi.v.i64);
  }
  return true;
}

/* Runs before every commit attempt on the table state the attempt builds
 * on: files committed since the merge's base that may hold keys of this
 * change set would make a rebase wrong (a key's old row could survive, or
 * a key could end up twice), so the commit stops with a conflict. Hash-
 * diff compares against the whole table: any concurrent change conflicts. */
static int merge_commit_hook(void *ctx, floe_table_op *op, int attempt) {
  (void)op;
  (void)attempt;
  floe_merge *m = ctx;
  const floe_iceberg_snapshot *snap =
      floe_iceberg_metadata_current_snapshot(floe_table_metadata(m->table));
  int64_t seq = snap != NULL ? snap->sequence_number : 0;
  if (seq <= m->base_sequence_number) return 0;
  floe_table_files files = {0};
  if (floe_table_files_read(m->table, NULL, &files, NULL) < 0) {
    snprintf(m->conflict, sizeof m->conflict,
             "cannot list the files of the concurrent commit");
    return FLOE_ECONFLICT;
  }
  int rc = 0;
  for (int32_t i = 0; i < files.n && rc == 0; i++) {
    const floe_table_file *tf = &files.files[i];
    if (tf->sequence_number <= m->base_sequence_number) continue;
    bool conflict = m->kind == FLOE_MERGE_HASH_DIFF ||
                    (tf->file.content == FLOE_CONTENT_DATA &&
                     file_may_hold_keys(m, &tf->file));
    if (conflict) {
      snprintf(m->conflict, sizeof m->conflict,
               "snapshot %" PRId64 " added %s, which may hold changed keys",
               tf->snapshot_id, tf->file.file_path);
      rc = FLOE_ECONFLICT;
    }
  }
  floe_table_files_reset(&files);
  return rc;
}

static int add_files(floe_table_op *op, const floe_content_file_list *list,
                     floe_merge_result *res, bool data, floe_error *err) {
  for (int32_t i = 0; i < list->n_files; i++) {
    int rc = floe_table_op_add_file(op, &list->files[i], err);
    if (rc < 0) return rc;
    if (data)
      res->data_files++;
    else
      res->delete_files++;
    res->bytes_written += list->files[i].file_size_in_bytes;
  }
  return FLOE_OK;
}

static void abort_writers(floe_merge *m) {
  floe_data_writer_abort(m->data_writer);
  floe_position_delete_writer_abort(m->pos_writer);
  floe_equality_delete_writer_abort(m->eq_writer);
}

int floe_merge_commit(floe_merge *m, floe_merge_result *out, floe_error *err) {
  int rc = FLOE_OK;
  table_pass pass;
  memset(&pass, 0, sizeof pass);
  floe_table_op *op = NULL;
  if (out != NULL) memset(out, 0, sizeof *out);
  if (m == NULL) return floe_error_set(err, FLOE_EINVAL, "merge: no merge");
  if (m->committed || m->failed)
    return floe_error_set(err, FLOE_EINVAL,
                          "merge into %s: commit after commit or failure", m->name);
  m->failed = true; /* until it succeeds */
  rc = seal_chunk(m, err);
  if (rc < 0) goto cleanup;
  key_range(m);

  bool has_rows = floe_iceberg_metadata_current_snapshot(m->md) != NULL;
  if (has_rows && (m->spill != NULL || m->n_entries > 0 || m->kind == FLOE_MERGE_HASH_DIFF)) {
    rc = table_pass_run(m, &pass, err);
    if (rc < 0) goto cleanup;
  }
  if (m->spill != NULL) {
    for (int32_t q = 0; q < m->spill_parts; q++) {
      rc = merge_spilled(m, &pass, q, m->spill_parts + q, m->spill_bits, true, err);
      if (rc < 0) goto cleanup;
    }
  }
  if (pass.eq_ready) {
    rc = flush_builder(m, &pass.eq_bb, &pass.eq_schema, sink_eq, err);
    if (rc < 0) goto cleanup;
  }
  if (m->deletes == FLOE_MERGE_POSITION_DELETES && pass.plan != NULL) {
    rc = emit_position_deletes(m, &pass, err);
    if (rc < 0) goto cleanup;
  }
  bool cow_files = false;
  if (m->deletes == FLOE_MERGE_COPY_ON_WRITE && pass.plan != NULL) {
    for (int32_t t = 0; t < pass.plan->n_tasks; t++) cow_files |= pass.touched[t];
    if (cow_files) {
      rc = cow_rewrite(m, &pass, err);
      if (rc < 0) goto cleanup;
    }
  }
  if (m->spill == NULL) {
    rc = write_new_rows(m, err);
    if (rc < 0) goto cleanup;
    count_entries(m);
  }
  floe_merge_result *res = &m->result;
  int64_t new_rows = res->rows_inserted + res->rows_updated;
  res->net_row_change = new_rows - m->table_rows_deleted;

  if (m->data_writer != NULL) {
    rc = floe_data_writer_close(m->data_writer, &m->data_files, err);
    if (rc < 0) goto cleanup;
  }
  if (m->pos_writer != NULL) {
    rc = floe_position_delete_writer_close(m->pos_writer, &m->pos_files, err);
    if (rc < 0) goto cleanup;
  }
  if (m->eq_writer != NULL) {
    rc = floe_equality_delete_writer_close(m->eq_writer, &m->eq_files, err);
    if (rc < 0) goto cleanup;
  }
  if (m->data_files.n_files + m->pos_files.n_files + m->eq_files.n_files == 0 &&
      !cow_files) {
    m->committed = true; /* nothing changed: no snapshot */
    m->failed = false;
    goto cleanup;
  }

  rc = floe_table_op_new(&op, m->table,
                         cow_files ? FLOE_TABLE_OVERWRITE : FLOE_TABLE_ROW_DELTA,
                         err);
  if (rc < 0) goto cleanup;
  if ((rc = add_files(op, &m->data_files, res, true, err)) < 0 ||
      (rc = add_files(op, &m->pos_files, res, false, err)) < 0 ||
      (rc = add_files(op, &m->eq_files, res, false, err)) < 0)
    goto cleanup;
  if (pass.plan != NULL) {
    for (int32_t t = 0; t < pass.plan->n_tasks; t++) {
      if (!pass.touched[t]) continue;
      const floe_scan_task *task = &pass.plan->tasks[t];
      const char *path = task->file.file_path;
      rc = cow_files ? floe_table_op_delete_path(op, path, err)
                     : floe_table_op_reference_data_file(op, path, err);
      if (rc < 0) goto cleanup;
      /* A position delete file that deletes only from the file being
       * rewritten (referenced_data_file) goes with it: left behind it
       * would count deleted rows of a file no longer in the table (its
       * rows are in the rewrite already, as the scan applied it). */
      for (int32_t k = 0; cow_files && k < task->n_deletes; k++) {
        const floe_iceberg_content_file *d = &task->deletes[k]->file;
        if (d->content != FLOE_CONTENT_POSITION_DELETES || d->referenced_data_file == NULL ||
            strcmp(d->referenced_data_file, path) != 0)
          continue;
        rc = floe_table_op_delete_path(op, d->file_path, err);
        if (rc < 0) goto cleanup;
      }
    }
  }
  for (int32_t i = 0; i < m->n_summary; i++) {
    rc = floe_table_op_set_summary(op, m->summary[i].key, m->summary[i].value, err);
    if (rc < 0) goto cleanup;
  }
  for (int32_t i = 0; i < m->n_properties; i++) {
    rc = floe_table_op_set_property(op, m->properties[i].key, m->properties[i].value, err);
    if (rc < 0) goto cleanup;
  }
  if (m->precondition != NULL)
    floe_table_op_set_precondition(op, m->precondition, m->precondition_ctx);
  floe_table_op_set_commit_hook(op, merge_commit_hook, m);
  m->conflict[0] = '\0';
  rc = floe_table_op_commit(op, &res->snapshot_id, err);
  if (rc < 0) {
    if (m->conflict[0] != '\0')
      floe_error_set(err, rc, "concurrent commit: %s", m->conflict);
    goto cleanup;
  }
  m->committed = true;
  m->failed = false;
cleanup:
  if (m->spill != NULL) {
    m->result.spill_bytes = floe_spill_bytes(m->spill);
    floe_spill_free(m->spill); /* the spill directory goes, whatever happened */
    m->spill = NULL;
  }
  if (rc < 0) {
    abort_writers(m);
    if (err != NULL && strncmp(err->message, "merge into", 10) != 0)
      floe_error_prefix(err, "merge into %s", m->name);
  } else if (out != NULL) {
    *out = m->result;
  }
  floe_table_op_free(op);
  table_pass_reset(&pass);
  return rc;
}

void floe_merge_free(floe_merge *m) {
  if (m == NULL) return;
  if (!m->committed) abort_writers(m);
  floe_data_writer_free(m->data_writer);
  floe_position_delete_writer_free(m->pos_writer);
  floe_equality_delete_writer_free(m->eq_writer);
  floe_content_file_list_free(&m->data_files);
  floe_content_file_list_free(&m->pos_files);
  floe_content_file_list_free(&m->eq_files);
  for (int64_t i = 0; i < m->n_chunks; i++) {
    floe_arrow_array_release(&m->chunks[i].array);
    floe_free(m->chunks[i].views);
  }
  floe_free(m->chunks);
  if (m->builder.columns != NULL) floe_arrow_batch_builder_free(&m->builder);
  floe_arrow_schema_release(&m->row_schema);
  floe_arena_free(&m->arena);
  floe_free(m->entries);
  floe_free(m->slots);
  floe_buf_free(&m->scratch);
  floe_buf_free(&m->record);
  floe_buf_free(&m->range_lo);
  floe_buf_free(&m->range_hi);
  floe_spill_free(m->spill);
  floe_free(m->bloom);
  floe_free(m->spill_cols);
  floe_free(m->spill_rows);
  floe_free(m->spill_parent);
  floe_free(m->columns);
  floe_free(m->key_columns);
  floe_free(m->op_column);
  floe_free(m->op_insert);
  floe_free(m->op_update);
  floe_free(m->op_delete);
  for (int32_t i = 0; i < m->n_summary; i++) {
    floe_free(m->summary[i].key);
    floe_free(m->summary[i].value);
  }
  floe_free(m->summary);
  free_properties(m->properties, m->n_properties);
  floe_free(m->prefix_base);
  floe_iceberg_metadata_free(m->md);
  floe_free(m->name);
  floe_free(m);
}

int floe_merge_set_summary(floe_merge *merge, const char *key, const char *value,
                           floe_error *err) {
  return set_property(&merge->summary, &merge->n_summary, key, value, err);
}

int floe_merge_set_property(floe_merge *merge, const char *key, const char *value,
                            floe_error *err) {
  return set_property(&merge->properties, &merge->n_properties, key, value, err);
}
