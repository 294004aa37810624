/*
 * floe/io.h: where bytes live. One file-system interface for every storage
 * floe writes to: the local file system now, object stores (S3) later.
 *
 * A floe_io is a table of operations (struct floe_io_ops) plus its
 * implementation's state. Callers use the floe_io_* functions below, which
 * dispatch through the table; an implementation fills the table. The
 * operations are the ones an Iceberg writer needs and an object store can
 * honour: read at an offset, create a new object by streaming (never
 * replacing one), put a whole object atomically (optionally refusing to
 * replace), rename without replacing, delete, exists, list, mkdir -p.
 *
 * DESIGN.md rule 2, "nothing reachable is ever overwritten": floe_io_create
 * fails with FLOE_EEXISTS when the path exists, and floe_io_write_atomic with
 * FLOE_IO_NO_REPLACE publishes a file only if its name is free, so two
 * writers racing for one name get exactly one winner.
 *
 * Locations: "file:///abs/path", "file:/abs/path" (as Hadoop and Iceberg Java
 * print them) and plain absolute or relative paths name local files. Other
 * schemes fail with FLOE_EUNSUPPORTED in the local implementation.
 * "s3://bucket/key" (and "s3a://", "s3n://", as Hadoop writes them) name
 * objects in S3 or an S3-compatible store (src/io/s3.c). An implementation
 * for another store is one more file filling struct floe_io_ops plus one
 * line in floe_io_open_for (src/io/io.c), which picks the implementation
 * from a location's scheme.
 *
 * Threads: one floe_io may be used by two threads at once, each file and
 * writer by one of them (the copy-on-write merge reads on one thread while
 * it writes on the other). The local implementation keeps no state a read
 * changes; S3 requests take turns under the io's mutex.
 *
 * Errors name the path and the operating system's reason:
 * "create /w/t/metadata/v2.metadata.json: File exists", or for an object
 * store the bucket, key, HTTP status and the store's error code:
 * "s3 PUT bucket=b key=w/t/x.parquet: HTTP 403 AccessDenied: ...".
 * Credentials never appear in an error or a log line.
 */
#ifndef FLOE_IO_H
#define FLOE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "floe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_io floe_io;
typedef struct floe_io_file floe_io_file;
typedef struct floe_io_writer floe_io_writer;

/* One directory entry from floe_io_list. */
typedef struct floe_io_entry {
  char *name;    /* the entry's name, not its full path */
  int is_dir;    /* 1 for a directory (a "prefix" on object stores) */
  uint64_t size; /* bytes; 0 for directories */
  int64_t mtime_ms; /* last modification, ms since the epoch; 0 if unknown */
} floe_io_entry;

/* A directory listing, sorted by name. Owned by the caller; release with
 * floe_io_listing_reset. */
typedef struct floe_io_listing {
  floe_io_entry *entries;
  size_t count;
} floe_io_listing;

/* Flags for floe_io_write_atomic. */
#define FLOE_IO_NO_REPLACE 1 /* fail with FLOE_EEXISTS if the path exists */

/* Fault injection (tests): make the Nth call of one kind of operation fail
 * with a chosen errno, as a full disk or a failing device would. Counting
 * starts when the fault is set; nth = 1 fails the next call. The failure is
 * reported exactly as the real errno would be. */
typedef enum floe_io_fault_op {
  FLOE_IO_FAULT_NONE = 0,
  FLOE_IO_FAULT_WRITE,  /* write(2) of file contents */
  FLOE_IO_FAULT_FSYNC,  /* fsync(2) of a file or directory */
  FLOE_IO_FAULT_RENAME, /* rename(2), link(2) or renameat2(2) publishing a name */
} floe_io_fault_op;

typedef struct floe_io_fault {
  floe_io_fault_op op;
  long nth;   /* which call fails, counted from when the fault was set */
  int errnum; /* EIO, ENOSPC, ... */
  int sticky; /* 1: every call from the nth on fails, not only the nth */
} floe_io_fault;

/* The operations an implementation provides. Paths are the caller's
 * locations, unresolved; each function reports errors naming the path. */
typedef struct floe_io_ops {
  const char *name; /* "local", "s3" */
  int (*open_read)(floe_io *io, const char *path, floe_io_file **out,
                   floe_error *err);
  int (*create)(floe_io *io, const char *path, floe_io_writer **out,
                floe_error *err);
  int (*write_atomic)(floe_io *io, const char *path, const void *data,
                      size_t len, int flags, floe_error *err);
  int (*rename_noreplace)(floe_io *io, const char *from, const char *to,
                          floe_error *err);
  int (*remove)(floe_io *io, const char *path, floe_error *err);
  int (*rmdir)(floe_io *io, const char *path, floe_error *err);
  int (*exists)(floe_io *io, const char *path, int *out_exists,
                int *out_is_dir, floe_error *err);
  int (*mkdirs)(floe_io *io, const char *path, floe_error *err);
  int (*list)(floe_io *io, const char *dir, floe_io_listing *out,
              floe_error *err);
  int (*set_fault)(floe_io *io, const floe_io_fault *fault, floe_error *err);
  void (*destroy)(floe_io *io);
  /* Optional (may be NULL): calls of the fault's op since it was set. */
  long (*fault_calls)(floe_io *io);
  /* Optional (may be NULL): deletes many files in as few requests as the
   * store allows; missing files count as deleted. *out_failed gets the
   * index of the first path that could not be deleted (or count). Without
   * it, floe_io_delete_many calls remove once per path. */
  int (*remove_many)(floe_io *io, const char *const *paths, size_t count,
                     size_t *out_failed, floe_error *err);
} floe_io_ops;

/* Every implementation's object begins with this header. */
struct floe_io {
  const floe_io_ops *ops;
};

/* A file open for reading: random access with pread semantics. */
typedef struct floe_io_file_ops {
  int (*read_at)(floe_io_file *file, uint64_t offset, void *buf, size_t len,
                 size_t *out_read, floe_error *err);
  void (*close)(floe_io_file *file);
} floe_io_file_ops;

struct floe_io_file {
  const floe_io_file_ops *ops;
  uint64_t size; /* bytes, fixed when the file was opened */
  char *path;    /* the location it was opened with (owned) */
};

/* A new file being written front to back. */
typedef struct floe_io_writer_ops {
  int (*write)(floe_io_writer *writer, const void *data, size_t len,
               floe_error *err);
  int (*close)(floe_io_writer *writer, floe_error *err);
  void (*abort)(floe_io_writer *writer);
} floe_io_writer_ops;

struct floe_io_writer {
  const floe_io_writer_ops *ops;
  uint64_t written; /* bytes accepted so far */
  char *path;       /* the location being written (owned) */
};

/* Options of the local implementation. */
typedef struct floe_io_local_options {
  /* 1: fsync each new file before close returns and fsync the directory
   * after publishing a name, so a commit survives power loss. 0: leave it to
   * the kernel (tests, scratch data). */
  int durable;
} floe_io_local_options;

/* Opens the local file-system implementation. `options` may be NULL
 * (durable = 1). The caller owns *out and frees it with floe_io_free.
 * Errors: FLOE_ENOMEM. */
int floe_io_local_open(const floe_io_local_options *options, floe_io **out,
                       floe_error *err);

#define FLOE_S3_ADDRESSING_AUTO 0
#define FLOE_S3_ADDRESSING_PATH 1
#define FLOE_S3_ADDRESSING_VIRTUAL 2

/* Options of the S3 implementation (src/io/s3.c). Strings are borrowed for
 * the duration of floe_io_s3_open only (the io copies them). Zero / NULL
 * means the default named on each field. */
typedef struct floe_io_s3_options {
  /* Region for signing and the default endpoint. NULL: AWS_REGION,
   * AWS_DEFAULT_REGION, the profile's region, then "us-east-1". */
  const char *region;
  /* Custom endpoint, "http(s)://host[:port]" (MinIO, R2, test servers).
   * NULL: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then
   * https://s3.<region>.amazonaws.com. */
  const char *endpoint;
  /* Addressing: FLOE_S3_ADDRESSING_AUTO (0) is path-style
   * (endpoint/bucket/key) with a custom endpoint and virtual-hosted
   * (bucket.s3.<region>.amazonaws.com/key) on AWS. */
  int addressing;
  /* Shared config/credentials profile. NULL: AWS_PROFILE, then "default".
   * An explicitly configured profile is consulted before the environment's
   * keys. */
  const char *profile;
  /* Static credentials (from config keys that reference ${ENV} or
   * ${file:...}). NULL: the default chain (see docs/config.md). */
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;
  /* STS endpoint for AssumeRoleWithWebIdentity. NULL:
   * AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, then https://sts.<region>... */
  const char *sts_endpoint;
  /* Objects up to this size are written with one PUT; larger ones by a
   * multipart upload in parts of part_size bytes (memory held per open
   * writer: one part). Defaults 16 MiB and 8 MiB; part_size >= 5 MiB
   * except in tests. */
  size_t multipart_threshold;
  size_t part_size;
  /* Bytes fetched past a read's end for the next read; default 256 KiB. */
  size_t read_ahead;
  /* Attempts per request on 500/503/SlowDown/RequestTimeout and dropped
   * connections (default 6), with exponential backoff and full jitter from
   * backoff_base_ms (default 100) up to backoff_max_ms (default 5000). */
  int max_attempts;
  int backoff_base_ms;
  int backoff_max_ms;
  /* 0 (default): never-replace writes use a conditional create
   * (If-None-Match: *). 1: the store lacks conditional writes: check with
   * HEAD, then PUT (a window in which a racing writer can be replaced;
   * docs/config.md). */
  int no_conditional_writes;
  /* Keys per ListObjectsV2 page (default and most S3 allows: 1000). */
  int list_max_keys;
  /* Per-request timeouts; defaults 10 s to connect, 300 s in total. */
  long connect_timeout_ms;
  long request_timeout_ms;
} floe_io_s3_options;

/* Opens the S3 implementation. `options` may be NULL (all defaults).
 * Credentials are resolved on first use, not here. The caller owns *out
 * and frees it with floe_io_free. Errors: FLOE_EINVAL (bad endpoint),
 * FLOE_ENOMEM, FLOE_ENETWORK (libcurl failed to start). */
int floe_io_s3_open(const floe_io_s3_options *options, floe_io **out,
                    floe_error *err);

/* Credentials a catalog vends for one table's files (Iceberg REST: the
 * s3.* keys of a LoadTableResult's `config` or `storage-credentials`).
 * Strings are borrowed for the duration of the call they are passed to. */
typedef struct floe_io_s3_credentials {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token; /* NULL for long-term keys */
  int64_t expires_ms;        /* ms since the epoch; 0: not announced */
} floe_io_s3_credentials;

/* Asked for fresh vended credentials when the current ones are within five
 * minutes of `expires_ms` (the table reloads itself from its catalog). The
 * strings *out points to must stay valid until the callback is called
 * again or the io is freed. */
typedef int (*floe_io_s3_refresh_fn)(void *ctx, floe_io_s3_credentials *out,
                                     floe_error *err);

/* Opens an S3 io for one table's files that signs with vended `creds`
 * instead of the provider chain. Settings (region, endpoint, addressing,
 * part sizes, retries, timeouts) are those of `base` when it is an S3 io,
 * else the defaults; `endpoint`, `region` (NULL: keep) and `path_style`
 * (-1: keep, 0: virtual-hosted, 1: path-style) override them. `refresh`
 * (may be NULL) is called with `ctx` before the credentials expire. The
 * caller owns *out (floe_io_free). Errors: FLOE_EINVAL (no key or secret,
 * bad endpoint), FLOE_ENOMEM, FLOE_ENETWORK. */
int floe_io_s3_open_vended(const floe_io *base, const char *endpoint,
                           const char *region, int path_style,
                           const floe_io_s3_credentials *creds,
                           floe_io_s3_refresh_fn refresh, void *ctx,
                           floe_io **out, floe_error *err);

/* Replaces the credentials of an io from floe_io_s3_open_vended (a table
 * reloaded with new vended credentials). Errors: FLOE_EINVAL (not such an
 * io, or no key or secret), FLOE_ENOMEM. */
int floe_io_s3_set_credentials(floe_io *io, const floe_io_s3_credentials *creds,
                               floe_error *err);

/* Storage options for floe_io_open_for: one block per implementation. */
typedef struct floe_io_options {
  floe_io_local_options local;
  floe_io_s3_options s3;
} floe_io_options;

/* Opens the implementation for `location`'s scheme: local paths and
 * file: URIs -> local; s3://, s3a://, s3n:// -> S3. `options` may be NULL
 * (defaults). Errors: FLOE_EUNSUPPORTED (another scheme), and those of the
 * implementation's open. */
int floe_io_open_for(const char *location, const floe_io_options *options,
                     floe_io **out, floe_error *err);

/* Wraps `inner` (taking ownership, also on failure) in an io that reads
 * and writes every location starting with the prefix `from` (at a '/'
 * boundary) at `to` + the rest instead: a table copied out of its
 * warehouse, read under its original file names. Other locations pass
 * through. *out is freed with floe_io_free (which frees inner). */
int floe_io_remap_open(floe_io *inner, const char *from, const char *to,
                       floe_io **out, floe_error *err);

/* 1 when `location` names an object in S3 (s3://, s3a://, s3n://). */
int floe_io_is_s3(const char *location);

/* Frees an io object. Accepts NULL. Files and writers it opened must be
 * closed first. */
void floe_io_free(floe_io *io);

/* Resolves a local location to a plain path: strips "file://" (with an
 * empty or "localhost" authority) or "file:". Returns a pointer into
 * `location`, or NULL when it names another scheme or a remote host. */
const char *floe_io_local_path(const char *location);

/* Opens `path` for reading. *out is owned by the caller and closed with
 * floe_io_file_close; (*out)->size holds the size. Errors: FLOE_ENOTFOUND,
 * FLOE_EIO, FLOE_EUNSUPPORTED (scheme), FLOE_ENOMEM. */
int floe_io_open_read(floe_io *io, const char *path, floe_io_file **out,
                      floe_error *err);

/* Reads up to `len` bytes at `offset` into buf; *out_read gets the count,
 * which is less than len only at end of file. Errors: FLOE_EIO. */
int floe_io_file_read_at(floe_io_file *file, uint64_t offset, void *buf,
                         size_t len, size_t *out_read, floe_error *err);

/* Reads exactly `len` bytes at `offset`; a short file is FLOE_EFORMAT
 * ("<path>: wanted N bytes at offset O, file has S"). */
int floe_io_file_read_exact(floe_io_file *file, uint64_t offset, void *buf,
                            size_t len, floe_error *err);

static inline uint64_t floe_io_file_size(const floe_io_file *file) {
  return file->size;
}

/* Closes a file. Accepts NULL. */
void floe_io_file_close(floe_io_file *file);

/* Creates a new file for streaming writes; fails with FLOE_EEXISTS when
 * `path` exists (O_EXCL). Parent directories are created as needed. The
 * caller finishes with floe_io_writer_close (which publishes the file and,
 * when the io is durable, fsyncs it) or floe_io_writer_abort (which removes
 * the partial file). Errors: FLOE_EEXISTS, FLOE_EIO, FLOE_ENOMEM. */
int floe_io_create(floe_io *io, const char *path, floe_io_writer **out,
                   floe_error *err);

/* Appends `len` bytes. On failure the writer must still be aborted. */
int floe_io_writer_write(floe_io_writer *writer, const void *data, size_t len,
                         floe_error *err);

/* Flushes (fsync when durable), closes and frees the writer, whatever the
 * outcome; on failure the partial file is removed. Accepts NULL (FLOE_OK). */
int floe_io_writer_close(floe_io_writer *writer, floe_error *err);

/* Closes and frees the writer and deletes the partial file. Accepts NULL. */
void floe_io_writer_abort(floe_io_writer *writer);

/* Writes a whole file atomically: readers see the old contents or the new,
 * never a mix. The bytes go to a temporary file in the same directory,
 * which is fsynced (when durable) and then published under `path`: by
 * rename (replacing) or, with FLOE_IO_NO_REPLACE, by link/RENAME_NOREPLACE
 * so that an existing file is never replaced (FLOE_EEXISTS). Parent
 * directories are created as needed. No temporary file is left behind on
 * any failure, and with FLOE_IO_NO_REPLACE a failure (including the
 * directory fsync after the publish) leaves `path` unpublished. Errors:
 * FLOE_EEXISTS, FLOE_EIO, FLOE_ENOMEM. */
int floe_io_write_atomic(floe_io *io, const char *path, const void *data,
                         size_t len, int flags, floe_error *err);

/* Renames `from` to `to`, failing with FLOE_EEXISTS when `to` exists.
 * Errors: FLOE_ENOTFOUND (from), FLOE_EEXISTS, FLOE_EIO. */
int floe_io_rename_noreplace(floe_io *io, const char *from, const char *to,
                             floe_error *err);

/* Deletes a file. Errors: FLOE_ENOTFOUND, FLOE_EIO. */
int floe_io_delete(floe_io *io, const char *path, floe_error *err);

/* Deletes files; a missing file counts as deleted. Object stores batch the
 * requests (S3: DeleteObjects, up to 1000 keys each). *out_deleted (may be
 * NULL) gets how many of paths[0..count) were deleted before the first
 * failure, in order. Errors: those of floe_io_delete. */
int floe_io_delete_many(floe_io *io, const char *const *paths, size_t count,
                        size_t *out_deleted, floe_error *err);

/* Deletes an empty directory. Errors: FLOE_ENOTFOUND, FLOE_EIO (not empty). */
int floe_io_rmdir(floe_io *io, const char *path, floe_error *err);

/* Deletes a directory and everything under it (or a single file). A missing
 * path is FLOE_OK. Errors: FLOE_EIO, FLOE_ENOMEM. */
int floe_io_delete_tree(floe_io *io, const char *path, floe_error *err);

/* Sets *out_exists to 1 when `path` exists, and *out_is_dir (may be NULL)
 * to 1 when it is a directory. Errors: FLOE_EIO (other than ENOENT). */
int floe_io_exists(floe_io *io, const char *path, int *out_exists,
                   int *out_is_dir, floe_error *err);

/* Creates a directory and its missing parents (mkdir -p). An existing
 * directory is FLOE_OK. Errors: FLOE_EIO (e.g. a file is in the way). */
int floe_io_mkdirs(floe_io *io, const char *path, floe_error *err);

/* Lists the entries of directory `dir` (without "." and ".."), sorted by
 * name, into *out, which the caller releases with floe_io_listing_reset.
 * Errors: FLOE_ENOTFOUND, FLOE_EIO, FLOE_ENOMEM. */
int floe_io_list(floe_io *io, const char *dir, floe_io_listing *out,
                 floe_error *err);

/* Frees a listing's entries and leaves it empty. Accepts NULL. */
void floe_io_listing_reset(floe_io_listing *listing);

/* Reads a whole file into a new NUL-terminated buffer (*out, freed by the
 * caller with floe_free; *out_len excludes the NUL and may be NULL). Files
 * larger than max_bytes fail with FLOE_ERANGE, so a corrupt or hostile
 * pointer cannot make floe allocate without bound. */
int floe_io_read_all(floe_io *io, const char *path, size_t max_bytes,
                     char **out, size_t *out_len, floe_error *err);

/* Installs (or with NULL / op NONE, clears) a fault. Implementations
 * without fault injection return FLOE_EUNSUPPORTED. */
int floe_io_set_fault(floe_io *io, const floe_io_fault *fault,
                      floe_error *err);

/* Sets *out_calls to the number of calls of the installed fault's kind of
 * operation made since floe_io_set_fault, whether or not they failed. A
 * test arms a fault that never fires (nth = LONG_MAX), runs an operation
 * and so learns how many writes, fsyncs or publishes it makes, then fails
 * each in turn. Errors: FLOE_EUNSUPPORTED without fault injection. */
int floe_io_fault_calls(floe_io *io, long *out_calls, floe_error *err);

/* Writes a random (version 4) UUID in canonical text form, 36 characters
 * plus NUL, into out[37]. Used for new file names (DESIGN.md rule 2).
 * Errors: FLOE_EIO when the kernel's random source fails. */
int floe_io_uuid4(char out[37], floe_error *err);

#ifdef __cplusplus
}
#endif
#endif
