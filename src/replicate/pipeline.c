/*
 * replicate/pipeline: the source side of a load on its own thread.
 *
 * One producer thread calls floe_source_stream_next (and the checksum) and
 * puts each batch into a ring of `depth` slots; the engine's thread takes
 * them out in ring order. A mutex and three condition variables (not
 * empty, not full, source idle) are all the synchronisation: the batches
 * are moved, not copied, and each Arrow array belongs to exactly one
 * thread at a time. The producer stops at the end of the stream, at its
 * first error (kept with its message until the consumer reaches it, so
 * batches queued before the error still arrive first), or when the
 * consumer cancels. At the end of the stream it frees the stream at once
 * (the statement and its read transaction end, so what runs next sees a
 * fresh snapshot), tells the consumer, and only then runs the tail work,
 * so the tail overlaps the consumer's encoding of the queued batches
 * instead of following it. The batches' schema is a copy taken at start:
 * the consumer still needs it after the producer freed the stream. The
 * stream is only ever touched by one thread at a time: the producer while
 * it runs, floe_pipeline_free after it has joined it. The producer may
 * also be any pull function instead of a stream (floe_pipeline_start_pull:
 * the merge's copy-on-write rewrite reads and filters data files on it);
 * there is then no schema, checksum or tail.
 */
#include "replicate/pipeline.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct floe_pipeline {
  floe_source_stream *stream; /* owned; NULL once freed at its end */
  struct ArrowSchema schema;  /* copy of the stream's */
  floe_checksum *checksum;
  floe_pipeline_tail tail;
  void *tail_ctx;
  floe_pipeline_pull pull_fn; /* instead of the stream, when set */
  void *pull_ctx;
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mutex;
  pthread_cond_t not_empty, not_full, source_idle;
  struct ArrowArray *ring;
  int depth, head, count;
  bool done;      /* the producer will queue nothing more */
  bool cancelled; /* the consumer stopped reading */
  int producer_rc;
  floe_error producer_err;
  bool tail_done; /* the producer is finished with the connection */
  int tail_rc;
  floe_error tail_err;
};

/* One batch from the stream, folded into the checksum. */
static int pull(floe_pipeline *p, struct ArrowArray *out, floe_error *err) {
  if (p->pull_fn != NULL) return p->pull_fn(p->pull_ctx, out, err);
  int rc = floe_source_stream_next(p->stream, out, err);
  if (rc <= 0 || p->checksum == NULL) return rc;
  int crc = floe_checksum_add(p->checksum, &p->schema, out, err);
  if (crc < 0) {
    floe_arrow_array_release(out);
    return crc;
  }
  return rc;
}

/* The tail's outcome once the stream ended with `stream_rc` (0: its end);
 * the stream is freed first when it ended. */
static int run_tail(floe_pipeline *p, int stream_rc, bool cancelled, floe_error *err) {
  if (stream_rc < 0 || cancelled)
    return floe_error_set(err, FLOE_EINVAL, "the source stream did not reach its end");
  if (p->tail == NULL) return FLOE_OK;
  return p->tail(p->tail_ctx, err);
}

static void *produce(void *arg) {
  floe_pipeline *p = arg;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  floe_error err = {0};
  for (;;) {
    int rc = pull(p, &batch, &err);
    if (rc == 0) {
      floe_source_stream_free(p->stream);
      p->stream = NULL;
    }
    pthread_mutex_lock(&p->mutex);
    if (rc <= 0) {
      p->producer_rc = rc;
      if (rc < 0) p->producer_err = err;
      p->done = true;
      bool cancelled = p->cancelled;
      pthread_cond_signal(&p->not_empty);
      pthread_mutex_unlock(&p->mutex);
      floe_error tail_err = {0};
      int tail_rc = run_tail(p, rc, cancelled, &tail_err);
      pthread_mutex_lock(&p->mutex);
      p->tail_rc = tail_rc;
      p->tail_err = tail_err;
      p->tail_done = true;
      pthread_cond_broadcast(&p->source_idle);
      pthread_mutex_unlock(&p->mutex);
      return NULL;
    }
    while (p->count == p->depth && !p->cancelled) pthread_cond_wait(&p->not_full, &p->mutex);
    if (p->cancelled) {
      p->done = true;
      p->tail_done = true;
      p->tail_rc = floe_error_set(&p->tail_err, FLOE_EINVAL,
                                  "the source stream did not reach its end");
      pthread_cond_broadcast(&p->source_idle);
      pthread_mutex_unlock(&p->mutex);
      floe_arrow_array_release(&batch);
      return NULL;
    }
    floe_arrow_array_move(&batch, &p->ring[(p->head + p->count) % p->depth]);
    p->count++;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->mutex);
  }
}

int64_t floe_pipeline_threads(int64_t configured) {
  if (configured > 0) return configured;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? (int64_t)cores : 1;
}

static int start(floe_pipeline **out, floe_source_stream *stream, floe_checksum *checksum,
                 floe_pipeline_pull pull_fn, void *pull_ctx, int64_t threads, int depth,
                 floe_pipeline_tail tail, void *tail_ctx, floe_error *err) {
  *out = NULL;
  floe_pipeline *p = floe_calloc(1, sizeof *p);
  if (p == NULL) {
    floe_source_stream_free(stream);
    return floe_error_set(err, FLOE_ENOMEM, "pipeline: out of memory");
  }
  p->stream = stream;
  p->checksum = checksum;
  p->tail = tail;
  p->tail_ctx = tail_ctx;
  p->pull_fn = pull_fn;
  p->pull_ctx = pull_ctx;
  if (stream != NULL &&
      floe_arrow_schema_copy(&p->schema, floe_source_stream_schema(stream)) < 0) {
    floe_pipeline_free(p);
    return floe_error_set(err, FLOE_ENOMEM, "pipeline: out of memory");
  }
  if (threads <= 1) {
    *out = p;
    return FLOE_OK;
  }
  p->depth = depth > 0 ? depth : 1;
  p->ring = floe_calloc((size_t)p->depth, sizeof *p->ring);
  if (p->ring == NULL) {
    floe_pipeline_free(p);
    return floe_error_set(err, FLOE_ENOMEM, "pipeline: out of memory");
  }
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->not_empty, NULL);
  pthread_cond_init(&p->not_full, NULL);
  pthread_cond_init(&p->source_idle, NULL);
  int rc = pthread_create(&p->thread, NULL, produce, p);
  if (rc != 0) {
    pthread_cond_destroy(&p->source_idle);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->mutex);
    floe_pipeline_free(p);
    return floe_error_set(err, FLOE_EIO, "pipeline: cannot start the %s thread: %s",
                          pull_fn != NULL ? "producer" : "source", strerror(rc));
  }
  p->threaded = true;
  *out = p;
  return FLOE_OK;
}

int floe_pipeline_start(floe_pipeline **out, floe_source_stream *stream,
                        floe_checksum *checksum, int64_t threads, int depth,
                        floe_pipeline_tail tail, void *tail_ctx, floe_error *err) {
  return start(out, stream, checksum, NULL, NULL, threads, depth, tail, tail_ctx, err);
}

int floe_pipeline_start_pull(floe_pipeline **out, floe_pipeline_pull pull, void *ctx,
                             int64_t threads, int depth, floe_error *err) {
  return start(out, NULL, NULL, pull, ctx, threads, depth, NULL, NULL, err);
}

const struct ArrowSchema *floe_pipeline_schema(const floe_pipeline *p) { return &p->schema; }

int floe_pipeline_next(floe_pipeline *p, struct ArrowArray *out, floe_error *err) {
  if (!p->threaded) {
    if (p->tail_done) { /* called again after the end or an error */
      if (p->producer_rc < 0 && err != NULL) *err = p->producer_err;
      return p->producer_rc;
    }
    int rc = pull(p, out, err);
    if (rc > 0) return rc;
    if (rc == 0) {
      floe_source_stream_free(p->stream);
      p->stream = NULL;
    } else if (err != NULL) {
      p->producer_err = *err;
    }
    p->producer_rc = rc;
    p->tail_rc = run_tail(p, rc, false, &p->tail_err);
    p->tail_done = true;
    return rc;
  }
  pthread_mutex_lock(&p->mutex);
  while (p->count == 0 && !p->done) pthread_cond_wait(&p->not_empty, &p->mutex);
  int rc;
  if (p->count > 0) {
    floe_arrow_array_move(&p->ring[p->head], out);
    p->head = (p->head + 1) % p->depth;
    p->count--;
    pthread_cond_signal(&p->not_full);
    rc = 1;
  } else {
    rc = p->producer_rc;
    if (rc < 0 && err != NULL) *err = p->producer_err;
  }
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

int floe_pipeline_wait(floe_pipeline *p, floe_error *err) {
  int rc;
  if (!p->threaded) {
    if (!p->tail_done)
      return floe_error_set(err, FLOE_EINVAL, "the source stream did not reach its end");
    rc = p->tail_rc;
    if (rc < 0 && err != NULL) *err = p->tail_err;
    return rc;
  }
  pthread_mutex_lock(&p->mutex);
  while (!p->tail_done) pthread_cond_wait(&p->source_idle, &p->mutex);
  rc = p->tail_rc;
  if (rc < 0 && err != NULL) *err = p->tail_err;
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

void floe_pipeline_free(floe_pipeline *p) {
  if (p == NULL) return;
  if (p->threaded) {
    pthread_mutex_lock(&p->mutex);
    p->cancelled = true;
    pthread_cond_signal(&p->not_full);
    pthread_mutex_unlock(&p->mutex);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < p->count; i++)
      floe_arrow_array_release(&p->ring[(p->head + i) % p->depth]);
    pthread_cond_destroy(&p->source_idle);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->mutex);
  }
  floe_free(p->ring);
  floe_source_stream_free(p->stream);
  if (p->schema.release != NULL) floe_arrow_schema_release(&p->schema);
  floe_free(p);
}
