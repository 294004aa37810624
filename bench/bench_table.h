/*
 * bench/bench_table.h: what the benchmarks over a table of floe's own
 * (bench/scan.c, bench/maintain.c) share: the clock, dying with a message,
 * a hadoop catalog in a work directory, creating table bench.<name> with a
 * builder for its rows, writer options for its files, and a full scan
 * summing the id column (the first) to check what was read.
 *
 * Header-only (each file of bench/ is a program of its own): the includer
 * defines BENCH_NAME (the program's name in messages) first.
 */
#ifndef FLOE_BENCH_TABLE_H
#define FLOE_BENCH_TABLE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "floe/catalog.h"
#include "floe/scan.h"
#include "floe/table.h"
#include "floe/table_writer.h"

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what, const floe_error *err) {
  fprintf(stderr, BENCH_NAME ": %s: %s\n", what, err ? err->message : "");
  exit(1);
}

static inline floe_catalog *open_catalog(const char *dir) {
  floe_catalog_config cfg = {0};
  cfg.type = FLOE_CATALOG_HADOOP;
  cfg.warehouse = dir;
  cfg.durable = -1;
  floe_catalog *cat = NULL;
  floe_error err = {0};
  if (floe_catalog_open(&cfg, &cat, &err) != 0) die("catalog", &err);
  return cat;
}

/* Creates namespace bench and table bench.NAME of COLS in CAT; *as gets
 * the table's Arrow schema and *bb a builder of its rows (the caller
 * releases both). */
static inline floe_table *create_table(floe_catalog *cat, const char *name,
                                       const floe_iceberg_column *cols, int n_cols,
                                       struct ArrowSchema *as, floe_arrow_batch_builder *bb) {
  floe_error err = {0};
  floe_iceberg_schema *schema = NULL;
  if (floe_iceberg_schema_new(&schema, 0, cols, n_cols, &err) != 0) die("schema", &err);
  if (floe_catalog_namespace_create(cat, "bench", NULL, 0, &err) != 0) die("namespace", &err);
  floe_catalog_ident id = {"bench", name};
  floe_table *table = NULL;
  if (floe_table_create(cat, id, schema, NULL, NULL, NULL, 0, NULL, &table, &err) != 0)
    die("create", &err);
  floe_iceberg_schema_free(schema);
  if (floe_iceberg_schema_to_arrow(floe_table_schema(table), NULL, 0, as, &err) != 0)
    die("arrow schema", &err);
  if (floe_arrow_batch_builder_init(bb, as, &err) != 0) die("builder", &err);
  return table;
}

/* Writer options for TABLE's files, named PREFIX-... (PREFIX must outlive
 * the writer). */
static inline void writer_options(floe_table *table, const char *prefix,
                                  floe_table_writer_options *o) {
  floe_error err = {0};
  floe_table_writer_options_init(o);
  if (floe_table_writer_options_from_metadata(o, floe_table_metadata(table), &err) != 0)
    die("writer options", &err);
  o->io = floe_table_io(table);
  o->file_prefix = prefix;
}

/* A full scan of TABLE with OPTIONS (NULL: every column, no filter):
 * *rows read and *id_sum, the sum of the first column (long). */
static inline void scan_id_sum(floe_table *table, const floe_scan_options *options,
                               int64_t *rows, uint64_t *id_sum) {
  floe_error err = {0};
  floe_scan *scan = NULL;
  if (floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), options, &err) != 0)
    die("scan", &err);
  *rows = 0;
  *id_sum = 0;
  for (;;) {
    struct ArrowArray b;
    if (floe_scan_next(scan, &b, &err) != 0) die("scan next", &err);
    if (b.release == NULL) break;
    const int64_t *ids = (const int64_t *)b.children[0]->buffers[1] + b.children[0]->offset;
    for (int64_t r = 0; r < b.length; r++) *id_sum += (uint64_t)ids[r];
    *rows += b.length;
    floe_arrow_array_release(&b);
  }
  floe_scan_free(scan);
}

#endif
