/*
 * replicate/pipeline.h: a load's source side on a thread of its own.
 *
 * The pipeline pulls Arrow batches from a source stream on a producer
 * thread (SQLite stepping, PostgreSQL cursor fetches, value conversion, and
 * the source checksum) into a bounded queue, while the engine's thread
 * takes them in order and encodes them (data writer or merge). Batches
 * leave in the order the stream produced them, so what is written does not
 * depend on the thread count. Memory: at most `depth` queued batches plus
 * the one the producer is filling. Once the stream has ended, the producer
 * frees it (ending its statement and read transaction) and runs the
 * caller's tail work on the same connection (the engine's validate count),
 * while the engine still encodes the queued batches and commits.
 * Private to src/replicate.
 *
 * Rule for the engine: between floe_pipeline_start and floe_pipeline_wait
 * (or floe_pipeline_free) nothing else may use the source's connection
 * (control table, lock renewal, counts): the producer owns it, and SQLite
 * is opened without its connection mutex (SQLITE_OPEN_NOMUTEX).
 */
#ifndef FLOE_REPLICATE_PIPELINE_H
#define FLOE_REPLICATE_PIPELINE_H

#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/source.h"
#include "replicate/engine_internal.h"

typedef struct floe_pipeline floe_pipeline;

/* A producer: puts the next batch in *out and returns 1, returns 0 at the
 * end, or a negative FLOE_E* code with err set. With a thread it runs on
 * the producer thread only, so it must touch nothing the consumer uses. */
typedef int (*floe_pipeline_pull)(void *ctx, struct ArrowArray *out, floe_error *err);

/* Queue depth used by the engine: batches in flight between the threads. */
#define FLOE_PIPELINE_DEPTH 4

/* Work run once the stream has delivered its last batch and was freed:
 * on the producer thread (in floe_pipeline_next when unthreaded), with
 * the source's connection idle and the producer's to use. Its result is
 * kept for floe_pipeline_wait. */
typedef int (*floe_pipeline_tail)(void *ctx, floe_error *err);

/* Starts pulling from `stream`, which the pipeline takes (it frees it at
 * the end of the stream, or in floe_pipeline_free; also on failure here).
 * Each batch is folded into `checksum` (borrowed, may be NULL) on the
 * producer side, before it is queued. `tail` (may be NULL) runs after the
 * stream's end (never after an error or a cancel). threads <= 1 starts no
 * thread: floe_pipeline_next then pulls from the stream itself, as a plain
 * loop would. *out owns the pipeline. Errors: FLOE_ENOMEM, FLOE_EIO (the
 * thread could not start). */
int floe_pipeline_start(floe_pipeline **out, floe_source_stream *stream,
                        floe_checksum *checksum, int64_t threads, int depth,
                        floe_pipeline_tail tail, void *tail_ctx, floe_error *err);

/* The batches' schema: a copy of the stream's, owned by the pipeline (it
 * outlives the stream). */
const struct ArrowSchema *floe_pipeline_schema(const floe_pipeline *p);

/* As floe_pipeline_start, for any producer: `pull` is called with `ctx`
 * (borrowed: it must outlive the pipeline) on the producer thread, or on
 * the caller's when threads <= 1. The merge's copy-on-write rewrite uses
 * it to decode and filter a data file while the caller encodes. */
int floe_pipeline_start_pull(floe_pipeline **out, floe_pipeline_pull pull, void *ctx,
                             int64_t threads, int depth, floe_error *err);

/* The next batch in stream order: 1 with *out set (the caller owns and
 * releases it), 0 at the end of the stream, or the producer's error (the
 * stream's or the checksum's, with its message). */
int floe_pipeline_next(floe_pipeline *p, struct ArrowArray *out, floe_error *err);

/* Waits until the producer is done with the source's connection and
 * returns the tail's result: FLOE_OK (also without a tail), the tail's
 * error with its message, or FLOE_EINVAL when the stream never reached its
 * end (an error or a cancel: no tail ran). The connection is the caller's
 * again afterwards. May be called more than once. */
int floe_pipeline_wait(floe_pipeline *p, floe_error *err);

/* Stops the producer when it is still running (it finishes the batch it is
 * reading, or the tail it is running, then exits), releases the queued
 * batches, joins the thread and frees the stream if the producer had not.
 * The checksum holds every batch floe_pipeline_next returned and possibly
 * some that were queued. Accepts NULL. */
void floe_pipeline_free(floe_pipeline *p);

/* The thread count `run.threads` asks for: its value, or the number of
 * online cores when it is 0 (at least 1). */
int64_t floe_pipeline_threads(int64_t configured);

#endif
