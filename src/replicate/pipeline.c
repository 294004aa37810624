/*
 * replicate/pipeline: the source side of a load on its own thread.
 *
 * One producer thread calls floe_source_stream_next (and the checksum) and
 * puts each batch into a ring of `depth` slots; the engine's thread takes
 * them out in ring order. A mutex and two condition variables (not empty,
 * not full) are all the synchronisation: the batches are moved, not
 * copied, and each Arrow array belongs to exactly one thread at a time.
 * The producer stops at the end of the stream, at its first error (kept
 * with its message until the consumer reaches it, so batches queued before
 * the error still arrive first), or when the consumer cancels. The stream
 * is only ever touched by one thread at a time: the producer while it runs,
 * the caller after floe_pipeline_free has joined it.
 */
#include "replicate/pipeline.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct floe_pipeline {
  floe_source_stream *stream;
  floe_checksum *checksum;
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mutex;
  pthread_cond_t not_empty, not_full;
  struct ArrowArray *ring;
  int depth, head, count;
  bool done;      /* the producer will queue nothing more */
  bool cancelled; /* the consumer stopped reading */
  int producer_rc;
  floe_error producer_err;
};

/* One batch from the stream, folded into the checksum. */
static int pull(floe_pipeline *p, struct ArrowArray *out, floe_error *err) {
  int rc = floe_source_stream_next(p->stream, out, err);
  if (rc <= 0 || p->checksum == NULL) return rc;
  int crc = floe_checksum_add(p->checksum, floe_source_stream_schema(p->stream), out, err);
  if (crc < 0) {
    floe_arrow_array_release(out);
    return crc;
  }
  return rc;
}

static void *produce(void *arg) {
  floe_pipeline *p = arg;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  floe_error err = {0};
  for (;;) {
    int rc = pull(p, &batch, &err);
    pthread_mutex_lock(&p->mutex);
    if (rc <= 0) {
      p->producer_rc = rc;
      if (rc < 0) p->producer_err = err;
      p->done = true;
      pthread_cond_signal(&p->not_empty);
      pthread_mutex_unlock(&p->mutex);
      return NULL;
    }
    while (p->count == p->depth && !p->cancelled) pthread_cond_wait(&p->not_full, &p->mutex);
    if (p->cancelled) {
      p->done = true;
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

int floe_pipeline_start(floe_pipeline **out, floe_source_stream *stream,
                        floe_checksum *checksum, int64_t threads, int depth,
                        floe_error *err) {
  *out = NULL;
  floe_pipeline *p = floe_calloc(1, sizeof *p);
  if (p == NULL) return floe_error_set(err, FLOE_ENOMEM, "pipeline: out of memory");
  p->stream = stream;
  p->checksum = checksum;
  if (threads <= 1) {
    *out = p;
    return FLOE_OK;
  }
  p->depth = depth > 0 ? depth : 1;
  p->ring = floe_calloc((size_t)p->depth, sizeof *p->ring);
  if (p->ring == NULL) {
    floe_free(p);
    return floe_error_set(err, FLOE_ENOMEM, "pipeline: out of memory");
  }
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->not_empty, NULL);
  pthread_cond_init(&p->not_full, NULL);
  int rc = pthread_create(&p->thread, NULL, produce, p);
  if (rc != 0) {
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->mutex);
    floe_free(p->ring);
    floe_free(p);
    return floe_error_set(err, FLOE_EIO, "pipeline: cannot start the source thread: %s",
                          strerror(rc));
  }
  p->threaded = true;
  *out = p;
  return FLOE_OK;
}

int floe_pipeline_next(floe_pipeline *p, struct ArrowArray *out, floe_error *err) {
  if (!p->threaded) return pull(p, out, err);
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
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->mutex);
    floe_free(p->ring);
  }
  floe_free(p);
}
