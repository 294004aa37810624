/*
 * iceberg/maintain_internal.h: the sort buffer (maintain_sort.c) that
 * sorted compaction (maintain_rewrite.c) and the data writer's sorted mode
 * (data_writer.c, floe_table_writer_options.sort_order) share.
 */
#ifndef FLOE_ICEBERG_MAINTAIN_INTERNAL_H
#define FLOE_ICEBERG_MAINTAIN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/iceberg.h"
#include "floe/table_writer.h"

typedef struct maintain_sorter maintain_sorter;

/* A sort buffer for batches described by `batch_schema` (borrowed; must
 * outlive the sorter), ordered by `order` over `schema`'s columns, flushing
 * when it holds about `buffer_bytes`. Errors: FLOE_EUNSUPPORTED for a sort
 * field on a nested or non-primitive column or an unknown transform. */
int maintain_sorter_open(maintain_sorter **out, const floe_iceberg_schema *schema,
                         const floe_iceberg_sort_order *order,
                         const struct ArrowSchema *batch_schema, int64_t buffer_bytes,
                         floe_error *err);
/* Sort fields that order rows (void fields are left out). */
int32_t maintain_sorter_n_fields(const maintain_sorter *sorter);
/* Takes `batch` (moved in, released by the sorter). *out_full: the buffer
 * reached its size; flush before adding more. */
int maintain_sorter_add(maintain_sorter *sorter, struct ArrowArray *batch, bool *out_full,
                        floe_error *err);
/* Writes the buffered rows to `writer` in sort order and empties the
 * buffer (also on failure). */
int maintain_sorter_flush(maintain_sorter *sorter, floe_data_writer *writer, floe_error *err);
/* Where flush_to sends each sorted batch (described by the sorter's batch
 * schema; borrowed for the call). */
typedef int (*maintain_sorter_sink)(void *ctx, const struct ArrowSchema *schema,
                                    const struct ArrowArray *batch, floe_error *err);
/* As maintain_sorter_flush, handing the sorted batches to `sink`. */
int maintain_sorter_flush_to(maintain_sorter *sorter, maintain_sorter_sink sink, void *ctx,
                             floe_error *err);
/* Rows buffered now. */
int64_t maintain_sorter_rows(const maintain_sorter *sorter);
bool maintain_sorter_empty(const maintain_sorter *sorter);
void maintain_sorter_free(maintain_sorter *sorter);

#endif
