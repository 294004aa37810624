/*
 * source/snowflake_prefetch: several result partitions in flight.
 *
 * A large Snowflake result arrives as numbered partitions ("Retrieving
 * additional partitions": GET /api/v2/statements/{handle}?partition=N),
 * each a separate download of a few MB. Fetched one after another, a load
 * waits for every partition's round trip and decode in turn. Here `depth`
 * worker threads, each with its own HTTP connection (floe_sf_http) and its
 * own decoder, fetch and decode the partitions ahead of the reader, and
 * the reader takes their Arrow batches strictly in partition order, so the
 * rows come out exactly as the one-at-a-time path delivers them.
 *
 * Memory: a partition occupies one of `depth` slots from the moment a
 * worker claims it until the reader has taken its last batch; a worker
 * claims the next partition only when a slot is free. At most `depth`
 * decoded partitions (plus one partition's download buffer per worker,
 * which libcurl streams into the decoder) are held at a time, whatever the
 * size of the result.
 *
 * Errors: each partition is fetched with floe_sf_http_call, so 429, 503,
 * 504, dropped connections and a 401 (one token refresh) are retried per
 * partition exactly as a single fetch is; a retry drops what the attempt
 * had decoded. A partition that fails for good stops further claims; its
 * error reaches the reader after the batches of every earlier partition,
 * with the partition's number. Freeing the prefetcher (end of stream, the
 * reader's own failure, an interrupt) raises the stop flag: downloads
 * abort at their next progress callback, backoff sleeps end, and the
 * workers are joined before anything is freed.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "floe/log.h"
#include "floe/time.h"
#include "source/snowflake_internal.h"

enum { SLOT_FREE, SLOT_FETCHING, SLOT_READY, SLOT_FAILED };

typedef struct prefetch_slot {
  int state;
  int64_t partition;
  struct ArrowArray *batches;
  struct ArrowSchema *schemas;
  int64_t n_batches, next_batch;
  int rc;
  floe_error err;
} prefetch_slot;

typedef struct prefetch_worker {
  floe_sf_prefetch *p;
  pthread_t thread;
  bool started;
  floe_sf_http *http;
  floe_sf_decoder *dec;
  /* the partition being fetched: its batches so far */
  struct ArrowArray *batches;
  struct ArrowSchema *schemas;
  int64_t n_batches, cap;
  int64_t first_row, skip;
} prefetch_worker;

struct floe_sf_prefetch {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  char *handle;
  int64_t end, batch_rows;
  int64_t *first_rows; /* 1-based first row of each partition */
  int64_t skip_first;  /* rows of partition `first` already delivered */
  int64_t first;
  int depth;
  prefetch_slot *slots; /* partition k lives in slots[k % depth] */
  prefetch_worker *workers;
  int n_workers;
  int64_t next_claim; /* next partition a worker takes */
  int64_t next_read;  /* partition the reader is on */
  bool failed;        /* a partition failed: claim no more */
  volatile sig_atomic_t stop;
  const volatile sig_atomic_t *interrupt;
};

static void drop_batches(struct ArrowArray *batches, struct ArrowSchema *schemas,
                         int64_t from, int64_t n) {
  for (int64_t i = from; i < n; i++) {
    floe_arrow_array_release(&batches[i]);
    floe_arrow_schema_release(&schemas[i]);
  }
}

static void slot_clear(prefetch_slot *s) {
  drop_batches(s->batches, s->schemas, s->next_batch, s->n_batches);
  floe_free(s->batches);
  floe_free(s->schemas);
  memset(s, 0, sizeof *s);
}

/* Moves the decoder's rows into the worker's batch list. */
static int worker_take(prefetch_worker *w, floe_error *err) {
  if (w->n_batches == w->cap) {
    int64_t cap = w->cap ? w->cap * 2 : 8;
    struct ArrowArray *b = floe_realloc(w->batches, (size_t)cap * sizeof *b);
    if (b == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    w->batches = b;
    struct ArrowSchema *s = floe_realloc(w->schemas, (size_t)cap * sizeof *s);
    if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    w->schemas = s;
    w->cap = cap;
  }
  int rc = floe_sf_decoder_take_batch(w->dec, &w->batches[w->n_batches],
                                      &w->schemas[w->n_batches], err);
  if (rc < 0) return rc;
  w->n_batches++;
  return FLOE_OK;
}

/* Sink: every attempt starts the partition over. */
static void worker_reset(void *ctx) {
  prefetch_worker *w = ctx;
  drop_batches(w->batches, w->schemas, 0, w->n_batches);
  w->n_batches = 0;
  floe_sf_decoder_reset(w->dec, w->first_row);
  floe_sf_decoder_skip(w->dec, w->skip);
}

static int worker_write(void *ctx, const void *bytes, size_t len, floe_error *err) {
  prefetch_worker *w = ctx;
  if (w->p->stop) return floe_error_set(err, FLOE_ECANCELED, "stopped");
  int rc = floe_sf_decoder_feed(w->dec, bytes, len, err);
  if (rc < 0) return rc;
  if (floe_sf_decoder_rows(w->dec) >= w->p->batch_rows) return worker_take(w, err);
  return FLOE_OK;
}

/* Fetches and decodes one partition into w->batches. */
static int worker_fetch(prefetch_worker *w, int64_t partition, floe_error *err) {
  floe_sf_prefetch *p = w->p;
  char path[200];
  snprintf(path, sizeof path, "/api/v2/statements/%s?partition=%" PRId64, p->handle,
           partition);
  w->first_row = p->first_rows[partition];
  w->skip = partition == p->first ? p->skip_first : 0;
  floe_sf_sink sink = {worker_reset, worker_write, w};
  floe_buf answer = FLOE_BUF_INIT;
  long status = 0;
  double started = floe_monotonic_seconds();
  int rc = floe_sf_http_call(w->http, "GET", path, NULL, NULL, &sink, &status, &answer, err);
  if (rc == FLOE_OK && status != 200) rc = floe_sf_status_error(status, &answer, err);
  if (rc == FLOE_OK) rc = floe_sf_decoder_finish(w->dec, err);
  if (rc == FLOE_OK && floe_sf_decoder_rows(w->dec) > 0) rc = worker_take(w, err);
  floe_buf_free(&answer);
  if (rc < 0) {
    drop_batches(w->batches, w->schemas, 0, w->n_batches);
    w->n_batches = 0;
    floe_error_prefix(err, "partition %" PRId64, partition);
  } else {
    floe_log(FLOE_LOG_DEBUG, "snowflake.partition",
             "handle=%s partition=%" PRId64 " first_row=%" PRId64 " batches=%" PRId64
             " seconds=%.3f prefetched=1",
             p->handle, partition, w->first_row, w->n_batches,
             floe_monotonic_seconds() - started);
  }
  return rc;
}

static void *worker_main(void *arg) {
  prefetch_worker *w = arg;
  floe_sf_prefetch *p = w->p;
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    while (!p->stop && !p->failed && p->next_claim < p->end &&
           p->next_claim >= p->next_read + p->depth)
      pthread_cond_wait(&p->changed, &p->mutex);
    if (p->stop || p->failed || p->next_claim >= p->end) break;
    int64_t partition = p->next_claim++;
    prefetch_slot *slot = &p->slots[partition % p->depth];
    slot->state = SLOT_FETCHING;
    slot->partition = partition;
    pthread_mutex_unlock(&p->mutex);

    floe_error err;
    floe_error_init(&err);
    int rc = worker_fetch(w, partition, &err);

    pthread_mutex_lock(&p->mutex);
    if (rc < 0) {
      slot->state = SLOT_FAILED;
      slot->rc = rc;
      slot->err = err;
      p->failed = true;
    } else {
      slot->state = SLOT_READY;
      slot->batches = w->batches;
      slot->schemas = w->schemas;
      slot->n_batches = w->n_batches;
      slot->next_batch = 0;
      w->batches = NULL;
      w->schemas = NULL;
      w->n_batches = w->cap = 0;
    }
    pthread_cond_broadcast(&p->changed);
  }
  pthread_mutex_unlock(&p->mutex);
  return NULL;
}

int floe_sf_prefetch_start(floe_sf_prefetch **out, const floe_sf_prefetch_options *o,
                           floe_error *err) {
  int rc = FLOE_OK;
  *out = NULL;
  floe_sf_prefetch *p = floe_calloc(1, sizeof *p);
  if (p == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->changed, NULL);
  p->end = o->n_partitions;
  p->first = p->next_claim = p->next_read = o->first_partition;
  p->skip_first = o->skip_first;
  p->batch_rows = o->batch_rows > 0 ? o->batch_rows : FLOE_SOURCE_DEFAULT_BATCH_ROWS;
  p->depth = o->depth > 0 ? o->depth : 1;
  p->interrupt = o->interrupt;
  int64_t remaining = p->end - p->first;
  p->n_workers = remaining < p->depth ? (int)(remaining > 0 ? remaining : 0) : p->depth;
  p->handle = floe_strdup(o->handle);
  p->first_rows = floe_calloc((size_t)(p->end > 0 ? p->end : 1), sizeof *p->first_rows);
  p->slots = floe_calloc((size_t)p->depth, sizeof *p->slots);
  p->workers = floe_calloc((size_t)(p->n_workers ? p->n_workers : 1), sizeof *p->workers);
  if (p->handle == NULL || p->first_rows == NULL || p->slots == NULL || p->workers == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int64_t i = 0, row = 1; i < p->end; i++) {
    p->first_rows[i] = row;
    row += o->partition_rows != NULL ? o->partition_rows[i] : 0;
  }
  /* Workers abort on the prefetcher's own stop flag; the reader watches
   * the user's interrupt and raises it. */
  floe_sf_http_options http = *o->http;
  http.interrupt = &p->stop;
  for (int i = 0; i < p->n_workers; i++) {
    prefetch_worker *w = &p->workers[i];
    w->p = p;
    FLOE_TRY(floe_sf_http_new(&w->http, &http, err));
    FLOE_TRY(floe_sf_decoder_new(&w->dec, err));
    FLOE_TRY(floe_sf_decoder_set_columns(w->dec, o->columns, o->n_columns, err));
    FLOE_TRY(floe_sf_decoder_set_targets(w->dec, o->targets, o->n_columns, err));
  }
  for (int i = 0; i < p->n_workers; i++) {
    if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "cannot start a partition fetch thread");
      goto cleanup;
    }
    p->workers[i].started = true;
  }
  floe_log(FLOE_LOG_DEBUG, "snowflake.prefetch",
           "handle=%s partitions=%" PRId64 " first=%" PRId64 " depth=%d workers=%d",
           p->handle, p->end, p->first, p->depth, p->n_workers);
  *out = p;
  p = NULL;
cleanup:
  floe_sf_prefetch_free(p);
  return rc;
}

int floe_sf_prefetch_next(floe_sf_prefetch *p, struct ArrowArray *out,
                          struct ArrowSchema *out_schema, int64_t *out_partition,
                          floe_error *err) {
  int rc = 0;
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    if (p->next_read >= p->end) break;
    prefetch_slot *slot = &p->slots[p->next_read % p->depth];
    if (slot->partition == p->next_read && slot->state == SLOT_FAILED) {
      rc = slot->rc;
      if (err != NULL) *err = slot->err;
      break;
    }
    if (slot->partition == p->next_read && slot->state == SLOT_READY) {
      if (slot->next_batch < slot->n_batches) {
        floe_arrow_array_move(&slot->batches[slot->next_batch], out);
        *out_schema = slot->schemas[slot->next_batch];
        memset(&slot->schemas[slot->next_batch], 0, sizeof slot->schemas[0]);
        slot->next_batch++;
        *out_partition = p->next_read;
        rc = 1;
        break;
      }
      /* The partition is read: its slot takes the next claim. */
      slot_clear(slot);
      p->next_read++;
      pthread_cond_broadcast(&p->changed);
      continue;
    }
    if (p->interrupt != NULL && *p->interrupt != 0) {
      p->stop = 1;
      pthread_cond_broadcast(&p->changed);
      rc = floe_error_set(err, FLOE_ECANCELED, "interrupted");
      break;
    }
    /* Wait for the worker; wake now and then to notice an interrupt. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->changed, &p->mutex, &until);
  }
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

void floe_sf_prefetch_free(floe_sf_prefetch *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&p->mutex);
  p->stop = 1;
  pthread_cond_broadcast(&p->changed);
  pthread_mutex_unlock(&p->mutex);
  for (int i = 0; p->workers != NULL && i < p->n_workers; i++) {
    prefetch_worker *w = &p->workers[i];
    if (w->started) pthread_join(w->thread, NULL);
    drop_batches(w->batches, w->schemas, 0, w->n_batches);
    floe_free(w->batches);
    floe_free(w->schemas);
    floe_sf_decoder_free(w->dec);
    floe_sf_http_free(w->http);
  }
  for (int i = 0; p->slots != NULL && i < p->depth; i++) slot_clear(&p->slots[i]);
  pthread_cond_destroy(&p->changed);
  pthread_mutex_destroy(&p->mutex);
  floe_free(p->workers);
  floe_free(p->slots);
  floe_free(p->first_rows);
  floe_free(p->handle);
  floe_free(p);
}
