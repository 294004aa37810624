/*
 * source/snowflake_internal.h: the parts of the Snowflake driver, shared by
 * snowflake.c (the driver), snowflake_decode.c (result partitions ->
 * Arrow), snowflake_jwt.c (key-pair JWTs) and snowflake_http.c (HTTP with
 * retries), and by their unit tests, fuzz target and benchmark.
 *
 * Snowflake SQL API v2 (docs.snowflake.com/en/developer-guide/sql-api/,
 * specifications/sqlapi.yaml in snowflakedb/snowflake-rest-api-specs):
 * every result value arrives as a JSON string in a fixed encoding that does
 * not depend on session output formats ("Handling responses", "Getting the
 * data from the results"): FIXED as decimal text, REAL as float text, DATE
 * as days since the epoch, TIME as seconds since midnight with 9 fractional
 * digits, TIMESTAMP_NTZ/LTZ as seconds since the epoch, TIMESTAMP_TZ as
 * "<epoch seconds> <offset minutes + 1440>", BINARY as hex, VARIANT/OBJECT/
 * ARRAY as JSON text. SQL NULL is JSON null.
 *
 * Private to src/source/ (and tests that include it by path).
 */
#ifndef FLOE_SNOWFLAKE_INTERNAL_H
#define FLOE_SNOWFLAKE_INTERNAL_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "floe/arrow.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/source.h"

/* ---- result types (snowflake_decode.c) ------------------------------------ */

/* A rowType "type" as the SQL API names it (either case on the wire). */
typedef enum floe_sf_kind {
  FLOE_SF_OTHER = 0, /* any type not listed: its text is kept */
  FLOE_SF_FIXED,
  FLOE_SF_REAL,
  FLOE_SF_TEXT,
  FLOE_SF_BOOLEAN,
  FLOE_SF_DATE,
  FLOE_SF_TIME,
  FLOE_SF_TIMESTAMP_NTZ,
  FLOE_SF_TIMESTAMP_LTZ,
  FLOE_SF_TIMESTAMP_TZ,
  FLOE_SF_BINARY,
  FLOE_SF_VARIANT,
  FLOE_SF_OBJECT,
  FLOE_SF_ARRAY,
  FLOE_SF_GEOGRAPHY,
  FLOE_SF_GEOMETRY
} floe_sf_kind;

/* One result column as resultSetMetaData.rowType describes it. */
typedef struct floe_sf_column {
  char *name;
  floe_sf_kind kind;
  int32_t precision;
  int32_t scale;
  int64_t length;
  bool nullable;
} floe_sf_column;

/* Parses a rowType or information_schema type name ("FIXED", "fixed",
 * "NUMBER", "TIMESTAMP_TZ", "VARCHAR", ...); FLOE_SF_OTHER when unknown. */
floe_sf_kind floe_sf_kind_parse(const char *name);
/* "FIXED", "TEXT", ... (static storage). */
const char *floe_sf_kind_name(floe_sf_kind kind);
/* The floe/Iceberg type a column of this kind maps to (docs/snowflake.md):
 * FIXED(p,0) with p <= 18 -> long, other FIXED(p,s) -> decimal(p,s) (p > 38
 * -> string), REAL -> double, TEXT -> string, BINARY -> binary, BOOLEAN,
 * DATE, TIME -> time, TIMESTAMP_NTZ -> timestamp, TIMESTAMP_LTZ/TZ ->
 * timestamptz, VARIANT/OBJECT/ARRAY/GEOGRAPHY/GEOMETRY/other -> string. */
floe_arrow_type_info floe_sf_map_type(floe_sf_kind kind, int32_t precision,
                                      int32_t scale);

/* Parses a rowType array into *out (n columns, each name and the array
 * allocated; free with floe_sf_columns_free). Errors: FLOE_EFORMAT naming
 * the element that is not an object with a string "name" and "type",
 * FLOE_ENOMEM. */
int floe_sf_row_type_parse(const json_t *row_type, floe_sf_column **out,
                           int64_t *out_n, floe_error *err);
void floe_sf_columns_free(floe_sf_column *columns, int64_t n);

/* Appends one non-null value in the SQL API encoding of `kind` (scale: the
 * column's scale) to `b`, converted to b->type: FIXED/REAL/TEXT/BOOLEAN and
 * the JSON kinds by the shared text rules (floe_src_append_text); DATE,
 * TIME and the timestamps from their epoch encodings (digits beyond
 * microseconds are dropped, rounding toward the past, unless the target is
 * a nanosecond timestamp); BINARY from hex. A string target gets the
 * canonical text (ISO dates, times and timestamps, hex for binary).
 * FLOE_ERANGE (message by floe_src_value_error) when the value does not fit
 * or is malformed; FLOE_ENOMEM. */
int floe_sf_append_cell(floe_arrow_builder *b, floe_sf_kind kind,
                        int32_t scale, const char *s, size_t len,
                        floe_error *err);

/* ---- streaming partition decoder (snowflake_decode.c) ---------------------- */

/* A push parser for one SQL API response body (ResultSet, QueryStatus,
 * QueryFailureStatus, or a partition body `{"data": [...]}`). Bytes are fed
 * as they arrive; the `data` array is parsed token by token and every row is
 * converted into the decoder's column builders as soon as its closing
 * bracket arrives, so no DOM of the rows ever exists: memory is the decoded
 * partition (one Arrow batch) plus one row of raw text. Every other
 * top-level member (statementHandle, resultSetMetaData, code, message,
 * stats, ...) is kept as raw JSON, at most FLOE_SF_ENVELOPE_MAX bytes, and
 * parsed with jansson at the end (floe_sf_decoder_envelope).
 *
 * Column types: the wire kinds come from floe_sf_decoder_set_columns or,
 * when not set, from the body's own resultSetMetaData.rowType (which
 * Snowflake sends before `data`; when `data` comes first it is kept raw and
 * decoded at the end). The target types are those given to
 * floe_sf_decoder_set_targets, else floe_sf_map_type of each column. */
typedef struct floe_sf_decoder floe_sf_decoder;

#define FLOE_SF_ENVELOPE_MAX (16u << 20)

int floe_sf_decoder_new(floe_sf_decoder **out, floe_error *err);
/* Accepts NULL. */
void floe_sf_decoder_free(floe_sf_decoder *dec);
/* Fixes the target types of the n result columns (copied). A body whose
 * rowType has another column count fails with FLOE_EINVAL. */
int floe_sf_decoder_set_targets(floe_sf_decoder *dec,
                                const floe_arrow_type_info *types, int64_t n,
                                floe_error *err);
/* Fixes the wire columns (copied), for partition bodies that carry no
 * metadata. */
int floe_sf_decoder_set_columns(floe_sf_decoder *dec,
                                const floe_sf_column *columns, int64_t n,
                                floe_error *err);
/* Starts a new body: drops rows, envelope and parse state (keeps the
 * columns and targets). `first_row` is the 1-based number of the body's
 * first row in the whole result, for error messages. */
void floe_sf_decoder_reset(floe_sf_decoder *dec, int64_t first_row);
/* Parses the next bytes of the body. Errors: FLOE_EFORMAT (malformed JSON,
 * a row with the wrong number of cells, a cell that is not a string or
 * null: "row 17: 3 cells, rowType has 4 columns"), FLOE_ERANGE (a value
 * that does not fit: "column 'PRICE' row 17: value ..."), FLOE_EINVAL
 * (column count differs from the targets), FLOE_ENOMEM. After an error
 * every further call fails the same way. */
int floe_sf_decoder_feed(floe_sf_decoder *dec, const void *bytes, size_t len,
                         floe_error *err);
/* Ends the body: it must be one complete JSON object. Parses the envelope.
 * Errors as floe_sf_decoder_feed. */
int floe_sf_decoder_finish(floe_sf_decoder *dec, floe_error *err);
/* The body's members other than `data` as a JSON object (borrowed; valid
 * until the next reset), or NULL before finish. */
const json_t *floe_sf_decoder_envelope(const floe_sf_decoder *dec);
/* The wire columns (from set_columns or the body's rowType), or NULL. */
const floe_sf_column *floe_sf_decoder_columns(const floe_sf_decoder *dec,
                                              int64_t *out_n);
/* The target types (NULL until known). */
const floe_arrow_type_info *floe_sf_decoder_targets(const floe_sf_decoder *dec);
/* Whether the body had a `data` member. */
bool floe_sf_decoder_has_data(const floe_sf_decoder *dec);
/* Rows decoded since the last reset (or the last take_batch). */
int64_t floe_sf_decoder_rows(const floe_sf_decoder *dec);
/* After a reset: drops the body's first `rows` rows (parsed, not kept),
 * for a body fetched again after some of its rows were delivered. */
void floe_sf_decoder_skip(floe_sf_decoder *dec, int64_t rows);
/* Keeps at most `rows` rows of each body (0: all; kept across resets);
 * the rest are parsed and counted (floe_sf_decoder_dropped, since the last
 * reset), for a first partition that is fetched again in bounded pieces. */
void floe_sf_decoder_set_cap(floe_sf_decoder *dec, int64_t rows);
int64_t floe_sf_decoder_dropped(const floe_sf_decoder *dec);
/* Moves the decoded rows into *out (also in the middle of a body: the
 * decoder goes on with the next rows): a "+s" array with one child per
 * column, typed as the targets (the caller releases it), with its schema in
 * *out_schema when not NULL (caller releases). An empty body gives a
 * length-0 array. Errors: FLOE_EINVAL when no columns are known,
 * FLOE_ENOMEM. */
int floe_sf_decoder_take_batch(floe_sf_decoder *dec, struct ArrowArray *out,
                               struct ArrowSchema *out_schema,
                               floe_error *err);

/* ---- key-pair JWT (snowflake_jwt.c) ---------------------------------------- */

typedef struct floe_sf_key floe_sf_key;

/* Loads an RSA private key from a PEM file (PKCS#8, encrypted PKCS#8 with
 * `passphrase`, or PKCS#1), and computes its public-key fingerprint.
 * *out owns the key; free with floe_sf_key_free. Errors: FLOE_ENOTFOUND /
 * FLOE_EIO (file), FLOE_EINVAL (not an RSA private key, wrong or missing
 * passphrase: the message names the file, never the passphrase). */
int floe_sf_key_load(floe_sf_key **out, const char *pem_path,
                     const char *passphrase, floe_error *err);
/* Same from PEM text in memory. */
int floe_sf_key_from_pem(floe_sf_key **out, const void *pem, size_t len,
                         const char *passphrase, floe_error *err);
void floe_sf_key_free(floe_sf_key *key);
/* "SHA256:<base64 of SHA-256 of the DER SubjectPublicKeyInfo>" (static in
 * the key; borrowed). */
const char *floe_sf_key_fingerprint(const floe_sf_key *key);

/* The account part of the JWT claims from an account identifier, per
 * "Key-pair authentication: Generate a JWT": upper-cased; a locator with a
 * region or cloud ("xy12345.us-east-1.aws") keeps the part before the first
 * '.'; an identifier with ".global" keeps the part before the first '-';
 * "myorg-myaccount" stays as it is. out_size >= 256. */
void floe_sf_jwt_account(const char *account, char *out, size_t out_size);

/* Makes a signed RS256 JWT: header {"alg":"RS256","typ":"JWT"}, claims
 * iss = ACCOUNT.USER.<fingerprint>, sub = ACCOUNT.USER (both upper-cased,
 * account as floe_sf_jwt_account), iat = now_s, exp = now_s + lifetime_s.
 * *out is allocated (floe_free). Errors: FLOE_EINVAL (empty account or
 * user), FLOE_EIO (signing failed), FLOE_ENOMEM. */
int floe_sf_jwt_make(const floe_sf_key *key, const char *account,
                     const char *user, int64_t now_s, int64_t lifetime_s,
                     char **out, floe_error *err);

/* base64url without padding (RFC 7515 section 2) / standard base64 with
 * padding, appended to out. */
int floe_sf_base64url(floe_buf *out, const void *bytes, size_t len);
int floe_sf_base64(floe_buf *out, const void *bytes, size_t len);

/* ---- statements (snowflake.c) ------------------------------------------------ */

/* Appends the SQL literal of one parameter to out, typed as its binding
 * would be: NULL; an integer as digits (parenthesised when negative); a
 * double as CAST('<text>' AS FLOAT) ('NaN', 'inf', '-inf' for the special
 * values); text single-quoted with ' and \ doubled and NUL as \0 (UTF-8
 * checked); a blob as TO_BINARY('<HEX>', 'HEX'). Used where the SQL API
 * takes no bindings: multi-statement requests ("Submitting multiple SQL
 * statements in a single request"). Errors: FLOE_EINVAL (text not UTF-8,
 * unknown type), FLOE_ENOMEM. */
int floe_sf_literal(floe_buf *out, const floe_source_param *p, floe_error *err);

/* A context name (database, schema, warehouse, role) as the request body
 * must carry it: the body's fields are case-sensitive and match the names
 * SHOW returns ("Submitting a request"), so an unquoted name is
 * upper-cased and a double-quoted one keeps its case without the quotes
 * ("" inside is one quote). Surrounding space is dropped. *out is NULL for
 * NULL or blank, else allocated (floe_free). Returns FLOE_ENOMEM or 0. */
int floe_sf_context_name(const char *name, char **out);

/* Whether the host of "host[:port][/path]" or "[v6]:port" is a loopback
 * host: "localhost", an IPv4 address in 127.0.0.0/8 written as a dotted
 * quad, or [::1]. Names that only begin like one
 * ("localhost.example.com", "127.0.0.1.evil.net") are not. */
bool floe_sf_host_is_loopback(const char *host);

/* ---- HTTP with retries (snowflake_http.c) --------------------------------- */

/* Where a 200 response body goes, as it arrives. `reset` runs before every
 * attempt (a retry starts the body over). write returns 0 or a negative
 * floe code with its message in err; that ends the request. */
typedef struct floe_sf_sink {
  void (*reset)(void *ctx);
  int (*write)(void *ctx, const void *bytes, size_t len, floe_error *err);
  void *ctx;
} floe_sf_sink;

/* What a sink's write returns to pause a pulled transfer
 * (floe_sf_http_pull_next): the bytes are not consumed and come again
 * after the caller resumes. */
#define FLOE_SF_PAUSE 1

/* Supplies the Authorization bearer token and its
 * X-Snowflake-Authorization-Token-Type; `refresh` asks for a new one (after
 * a 401). The strings stay valid until the next call. */
typedef int (*floe_sf_token_fn)(void *ctx, bool refresh, const char **token,
                                const char **token_type, floe_error *err);

typedef struct floe_sf_http_options {
  const char *base_url;        /* "https://acct.snowflakecomputing.com" */
  floe_sf_token_fn token;
  void *token_ctx;
  long connect_timeout_ms;     /* 0: 10000 */
  long request_timeout_ms;     /* whole request; 0: 300000 */
  int max_attempts;            /* 0: 8 */
  long backoff_base_ms;        /* 0: 200 */
  long backoff_max_ms;         /* 0: 20000 */
  const volatile sig_atomic_t *interrupt; /* stop waiting when != 0 */
} floe_sf_http_options;

typedef struct floe_sf_http floe_sf_http;

int floe_sf_http_new(floe_sf_http **out, const floe_sf_http_options *options,
                     floe_error *err);
void floe_sf_http_free(floe_sf_http *http);

/* One request, retried (same body, same path; on retries `retry_path` when
 * given, e.g. with "&retry=true") on 429, 503, 504, dropped connections
 * and timeouts with jittered exponential backoff honouring Retry-After, at
 * most max_attempts times; a 401 refreshes the token once and retries.
 * A 200 body goes to `sink` (when given); any other body is returned in
 * *out_body (at most 1 MiB kept). *out_status gets the final status.
 * Errors: FLOE_ENETWORK (attempts exhausted, with the last status or curl
 * error), FLOE_ECANCELED (interrupted while waiting), what the sink
 * returned, FLOE_ENOMEM. A non-200 final status is not an error here. */
int floe_sf_http_call(floe_sf_http *http, const char *method, const char *path,
                      const char *retry_path, const char *body,
                      const floe_sf_sink *sink, long *out_status,
                      floe_buf *out_body, floe_error *err);
/* Sleeps ms milliseconds in slices, returning FLOE_ECANCELED early when
 * *interrupt becomes nonzero. */
int floe_sf_http_sleep(const floe_sf_http *http, long ms, floe_error *err);
/* While `ignore` is true the interrupt flag is not consulted (to send the
 * cancel request of an interrupted statement). */
void floe_sf_http_ignore_interrupt(floe_sf_http *http, bool ignore);
/* A GET whose body the caller pulls, for result partitions larger than
 * the batches floe holds: pull_begin starts it; each pull_next runs the
 * transfer until the sink's write returns FLOE_SF_PAUSE (returns 1: drain
 * the batch, call pull_next again), the body ends (returns 0 with the
 * final status in *out_status; a non-200 body is in out_body), or it fails
 * (negative, as floe_sf_http_call). Retries (429, 503, 504, dropped or
 * stalled connections) restart the body: the sink's reset runs first and
 * must account for what the caller already took. No other request may run
 * on the handle until the pull ends (pull_next returned <= 0, or
 * pull_end). */
int floe_sf_http_pull_begin(floe_sf_http *http, const char *path, const floe_sf_sink *sink,
                            floe_buf *out_body, floe_error *err);
int floe_sf_http_pull_next(floe_sf_http *http, long *out_status, floe_error *err);
/* Abandons a pulled transfer (accepts one that ended). */
void floe_sf_http_pull_end(floe_sf_http *http);
/* Requests sent so far (attempts included), for tests. */
int64_t floe_sf_http_requests(const floe_sf_http *http);

/* Turns a non-200 answer into an error: a QueryFailureStatus body gives
 * Snowflake's code, sqlState and message; otherwise the status and up to
 * 200 bytes of the body. FLOE_ENETWORK for 5xx, else FLOE_ESOURCE. */
int floe_sf_status_error(long status, const floe_buf *body, floe_error *err);

/* ---- partitions in flight (snowflake_prefetch.c) --------------------------- */

/* Fetches partitions [first_partition, n_partitions) of a result on `depth`
 * worker threads, each with its own connection and decoder, and hands
 * their batches over strictly in partition order. At most `depth`
 * partitions are downloading or decoded-and-waiting at a time (the one the
 * reader is on included), so memory is bounded by depth x a partition's
 * decoded size. */
typedef struct floe_sf_prefetch floe_sf_prefetch;

typedef struct floe_sf_prefetch_options {
  /* Copied for each worker's connection. The token function is called
   * from the worker threads and must be thread-safe; `interrupt` is
   * replaced by the prefetcher's stop flag. */
  const floe_sf_http_options *http;
  const char *handle;            /* statementHandle */
  int64_t first_partition;
  int64_t n_partitions;
  const int64_t *partition_rows; /* rowCount of each partition (messages) */
  int64_t skip_first;            /* rows of first_partition already delivered */
  int64_t batch_rows;            /* rows per batch; 0: the default */
  int depth;                     /* partitions in flight, >= 1 */
  const floe_sf_column *columns; /* wire columns (copied) */
  int64_t n_columns;
  const floe_arrow_type_info *targets; /* target types (copied) */
  /* The user's interrupt, watched while the reader waits. */
  const volatile sig_atomic_t *interrupt;
} floe_sf_prefetch_options;

/* Starts the workers. *out owns them; free with floe_sf_prefetch_free.
 * Errors: FLOE_ENOMEM (also when a thread cannot start). */
int floe_sf_prefetch_start(floe_sf_prefetch **out, const floe_sf_prefetch_options *options,
                           floe_error *err);
/* The next batch in result order: 1 with the batch in *out and its schema
 * in *out_schema (the caller releases both) and its partition number in
 * *out_partition; 0 after the last partition; negative: the error of the
 * first partition that failed ("partition 7: GET ...: HTTP 500 ..."), after
 * every batch of the partitions before it, or FLOE_ECANCELED when
 * interrupted. */
int floe_sf_prefetch_next(floe_sf_prefetch *p, struct ArrowArray *out,
                          struct ArrowSchema *out_schema, int64_t *out_partition,
                          floe_error *err);
/* Stops the workers (aborting their downloads), joins them and frees
 * everything. Accepts NULL. */
void floe_sf_prefetch_free(floe_sf_prefetch *p);

#endif
