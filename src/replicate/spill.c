/*
 * replicate/spill: scratch files of length-prefixed records (spill.h).
 *
 * Each file is a plain file descriptor with one buffer that serves first
 * for appending, then, after a rewind, for reading: a file is written
 * completely before it is read, so one buffer per file is enough, and a
 * file not yet written costs no memory. Records are a 4-byte little-endian
 * length and the bytes; the read buffer grows only when a single record is
 * larger than it. Files are unlinked when dropped and the directory is
 * removed when the spill is freed, on success and failure alike.
 */
#include "replicate/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct spill_file {
  int fd;        /* -1: not created yet, or dropped */
  bool reading;
  uint8_t *buf;
  size_t cap;
  size_t len;    /* writing: bytes buffered; reading: bytes in buf */
  size_t pos;    /* reading: next unread byte */
  bool eof;
  int64_t bytes;   /* appended, record prefixes included */
  int64_t records; /* appended */
} spill_file;

struct floe_spill {
  char *dir;
  int32_t n_files;
  size_t buffer_size;
  spill_file *files;
  int64_t bytes;
};

static void file_path(const floe_spill *s, int32_t file, char *out, size_t size) {
  snprintf(out, size, "%s/%d.spill", s->dir, (int)file);
}

int floe_spill_open(floe_spill **out, const char *parent, const char *label,
                    int32_t n_files, size_t buffer_size, floe_error *err) {
  *out = NULL;
  if (parent == NULL || parent[0] == '\0') parent = getenv("TMPDIR");
  if (parent == NULL || parent[0] == '\0') parent = "/tmp";
  if (n_files <= 0 || buffer_size < 16)
    return floe_error_set(err, FLOE_EINVAL, "spill: bad file count or buffer size");
  floe_spill *s = floe_calloc(1, sizeof *s);
  if (s == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  size_t n = strlen(parent) + strlen(label) + 32;
  s->dir = floe_malloc(n);
  s->files = floe_calloc((size_t)n_files, sizeof *s->files);
  if (s->dir == NULL || s->files == NULL) {
    floe_free(s->dir);
    floe_free(s->files);
    floe_free(s);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  s->n_files = n_files;
  s->buffer_size = buffer_size;
  for (int32_t i = 0; i < n_files; i++) s->files[i].fd = -1;
  snprintf(s->dir, n, "%s/floe-%s-XXXXXX", parent, label);
  if (mkdtemp(s->dir) == NULL) {
    int rc = floe_error_errno(err, errno, "spill: cannot create a directory in %s", parent);
    s->dir[0] = '\0';
    floe_spill_free(s);
    return rc;
  }
  *out = s;
  return FLOE_OK;
}

static int file_flush(floe_spill *s, int32_t file, floe_error *err) {
  spill_file *f = &s->files[file];
  size_t done = 0;
  while (done < f->len) {
    ssize_t w = write(f->fd, f->buf + done, f->len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      char path[4200];
      file_path(s, file, path, sizeof path);
      return floe_error_errno(err, errno, "spill: writing %s", path);
    }
    done += (size_t)w;
  }
  f->len = 0;
  return FLOE_OK;
}

int floe_spill_append(floe_spill *s, int32_t file, const void *record,
                      size_t len, floe_error *err) {
  spill_file *f = &s->files[file];
  if (f->reading)
    return floe_error_set(err, FLOE_EINVAL, "spill: append to file %d after rewind", (int)file);
  if (f->fd < 0) {
    char path[4200];
    file_path(s, file, path, sizeof path);
    f->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) return floe_error_errno(err, errno, "spill: creating %s", path);
  }
  if (f->buf == NULL) {
    f->buf = floe_malloc(s->buffer_size);
    if (f->buf == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    f->cap = s->buffer_size;
  }
  uint32_t l32 = (uint32_t)len;
  const uint8_t *parts[2] = {(const uint8_t *)&l32, record};
  size_t sizes[2] = {4, len};
  for (int k = 0; k < 2; k++) {
    const uint8_t *p = parts[k];
    size_t n = sizes[k];
    while (n > 0) {
      if (f->len == f->cap) {
        int rc = file_flush(s, file, err);
        if (rc < 0) return rc;
      }
      size_t take = f->cap - f->len < n ? f->cap - f->len : n;
      memcpy(f->buf + f->len, p, take);
      f->len += take;
      p += take;
      n -= take;
    }
  }
  s->bytes += (int64_t)len + 4;
  f->bytes += (int64_t)len + 4;
  f->records++;
  return FLOE_OK;
}

int floe_spill_rewind(floe_spill *s, int32_t file, floe_error *err) {
  spill_file *f = &s->files[file];
  f->reading = true;
  f->pos = 0;
  f->eof = f->fd < 0;
  if (f->fd < 0) {
    f->len = 0;
    return FLOE_OK;
  }
  int rc = file_flush(s, file, err);
  if (rc < 0) return rc;
  if (lseek(f->fd, 0, SEEK_SET) < 0) return floe_error_errno(err, errno, "spill: rewinding");
  return FLOE_OK;
}

/* Makes at least `need` unread bytes available in the buffer unless the
 * file ends first. */
static int file_fill(floe_spill *s, int32_t file, size_t need, floe_error *err) {
  spill_file *f = &s->files[file];
  if (f->len - f->pos >= need || f->eof) return FLOE_OK;
  memmove(f->buf, f->buf + f->pos, f->len - f->pos);
  f->len -= f->pos;
  f->pos = 0;
  if (need > f->cap) {
    uint8_t *b = floe_realloc(f->buf, need);
    if (b == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
    f->buf = b;
    f->cap = need;
  }
  while (f->len < need) {
    ssize_t r = read(f->fd, f->buf + f->len, f->cap - f->len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return floe_error_errno(err, errno, "spill: reading file %d", (int)file);
    if (r == 0) {
      f->eof = true;
      break;
    }
    f->len += (size_t)r;
  }
  return FLOE_OK;
}

int floe_spill_next(floe_spill *s, int32_t file, const uint8_t **record,
                    size_t *len, floe_error *err) {
  spill_file *f = &s->files[file];
  *record = NULL;
  *len = 0;
  if (!f->reading)
    return floe_error_set(err, FLOE_EINVAL, "spill: read of file %d before rewind", (int)file);
  if (f->fd < 0) return FLOE_OK;
  int rc = file_fill(s, file, 4, err);
  if (rc < 0) return rc;
  size_t have = f->len - f->pos;
  if (have == 0) return FLOE_OK;
  if (have < 4) return floe_error_set(err, FLOE_EFORMAT, "spill: file %d is truncated", (int)file);
  uint32_t l32;
  memcpy(&l32, f->buf + f->pos, 4);
  rc = file_fill(s, file, 4 + (size_t)l32, err);
  if (rc < 0) return rc;
  if (f->len - f->pos < 4 + (size_t)l32)
    return floe_error_set(err, FLOE_EFORMAT, "spill: file %d is truncated", (int)file);
  *record = f->buf + f->pos + 4;
  *len = l32;
  f->pos += 4 + (size_t)l32;
  return FLOE_OK;
}

void floe_spill_drop(floe_spill *s, int32_t file) {
  if (s == NULL || file < 0 || file >= s->n_files) return;
  spill_file *f = &s->files[file];
  if (f->fd >= 0) {
    char path[4200];
    file_path(s, file, path, sizeof path);
    close(f->fd);
    unlink(path);
  }
  floe_free(f->buf);
  memset(f, 0, sizeof *f);
  f->fd = -1;
  f->reading = true;
  f->eof = true;
}

int floe_spill_add_files(floe_spill *s, int32_t n, int32_t *first, floe_error *err) {
  if (n <= 0 || s->n_files > INT32_MAX - n)
    return floe_error_set(err, FLOE_EINVAL, "spill: bad file count");
  spill_file *files = floe_realloc(s->files, (size_t)(s->n_files + n) * sizeof *files);
  if (files == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  memset(files + s->n_files, 0, (size_t)n * sizeof *files);
  for (int32_t i = 0; i < n; i++) files[s->n_files + i].fd = -1;
  s->files = files;
  *first = s->n_files;
  s->n_files += n;
  return FLOE_OK;
}

int64_t floe_spill_file_bytes(const floe_spill *s, int32_t file) {
  return s != NULL && file >= 0 && file < s->n_files ? s->files[file].bytes : 0;
}

int64_t floe_spill_file_records(const floe_spill *s, int32_t file) {
  return s != NULL && file >= 0 && file < s->n_files ? s->files[file].records : 0;
}

int64_t floe_spill_bytes(const floe_spill *s) { return s != NULL ? s->bytes : 0; }

const char *floe_spill_dir(const floe_spill *s) { return s != NULL ? s->dir : NULL; }

void floe_spill_free(floe_spill *s) {
  if (s == NULL) return;
  for (int32_t i = 0; i < s->n_files; i++) floe_spill_drop(s, i);
  if (s->dir != NULL && s->dir[0] != '\0') rmdir(s->dir);
  floe_free(s->files);
  floe_free(s->dir);
  floe_free(s);
}
