/*
 * replicate/pipeline.h: a load's source side on a thread of its own.
 *
 * The pipeline pulls Arrow batches from a source stream on a producer
 * thread (SQLite stepping, PostgreSQL cursor fetches, value conversion, and
 * the source checksum) into a bounded queue, while the engine's thread
 * takes them in order and encodes them (data writer or merge). Batches
 * leave in the order the stream produced them, so what is written does not
 * depend on the thread count. Memory: at most `depth` queued batches plus
 * the one the producer is filling. Private to src/replicate.
 *
 * Rule for the engine: between floe_pipeline_start and floe_pipeline_free
 * nothing else may use the source's connection (control table, lock
 * renewal, counts): the producer owns it, and SQLite is opened without its
 * connection mutex (SQLITE_OPEN_NOMUTEX).
 */
#ifndef FLOE_REPLICATE_PIPELINE_H
#define FLOE_REPLICATE_PIPELINE_H

#include "floe/arrow.h"
#include "floe/common.h"
#include "floe/source.h"
#include "replicate/engine_internal.h"

typedef struct floe_pipeline floe_pipeline;

/* Queue depth used by the engine: batches in flight between the threads. */
#define FLOE_PIPELINE_DEPTH 4

/* Starts pulling from `stream` (borrowed: it must outlive the pipeline and
 * is freed by the caller after floe_pipeline_free). Each batch is folded
 * into `checksum` (borrowed, may be NULL) on the producer side, before it
 * is queued. threads <= 1 starts no thread: floe_pipeline_next then pulls
 * from the stream itself, as a plain loop would. *out owns the pipeline.
 * Errors: FLOE_ENOMEM, FLOE_EIO (the thread could not start). */
int floe_pipeline_start(floe_pipeline **out, floe_source_stream *stream,
                        floe_checksum *checksum, int64_t threads, int depth,
                        floe_error *err);

/* The next batch in stream order: 1 with *out set (the caller owns and
 * releases it), 0 at the end of the stream, or the producer's error (the
 * stream's or the checksum's, with its message). */
int floe_pipeline_next(floe_pipeline *p, struct ArrowArray *out, floe_error *err);

/* Stops the producer when it is still running (it finishes the batch it is
 * reading, then exits), releases the queued batches and joins the thread.
 * The checksum holds every batch floe_pipeline_next returned and possibly
 * some that were queued. Accepts NULL. */
void floe_pipeline_free(floe_pipeline *p);

/* The thread count `run.threads` asks for: its value, or the number of
 * online cores when it is 0 (at least 1). */
int64_t floe_pipeline_threads(int64_t configured);

#endif
