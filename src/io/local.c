/*
 * io/local: floe's file-system interface on the local (POSIX) file system.
 *
 * New files are created with O_EXCL and published atomically: whole-file
 * writes go to a temporary name in the target directory and are then
 * renamed into place, with renameat2(RENAME_NOREPLACE) -- or link(2) where
 * the file system lacks it -- when the caller forbids replacing, so that of
 * two racing writers exactly one wins the name (the Hadoop catalog's commit
 * rests on this). When the io is durable, file contents are fsynced before
 * they are published and the directory after, so a published name survives
 * a crash with its contents.
 *
 * Every write, fsync and publish goes through one checked wrapper, which is
 * where the test fault (fail the Nth call with EIO or ENOSPC) is injected.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "floe/io.h"

typedef struct local_io {
  floe_io base;
  int durable;
  floe_io_fault fault;
  long fault_calls; /* calls of fault.op since the fault was set */
} local_io;

typedef struct local_file {
  floe_io_file base;
  int fd;
} local_file;

typedef struct local_writer {
  floe_io_writer base;
  local_io *io;
  int fd;
  char *resolved; /* plain path */
} local_writer;

/* ---- fault injection seam ---------------------------------------------- */

/* Returns 1 (with errno set) when this call of `op` must fail. */
static int fault_fires(local_io *io, floe_io_fault_op op) {
  if (io->fault.op != op || op == FLOE_IO_FAULT_NONE) return 0;
  long call = ++io->fault_calls;
  if (call == io->fault.nth || (io->fault.sticky && call > io->fault.nth)) {
    errno = io->fault.errnum;
    return 1;
  }
  return 0;
}

static ssize_t checked_write(local_io *io, int fd, const void *buf, size_t n) {
  if (fault_fires(io, FLOE_IO_FAULT_WRITE)) return -1;
  return write(fd, buf, n);
}

static int checked_fsync(local_io *io, int fd) {
  if (fault_fires(io, FLOE_IO_FAULT_FSYNC)) return -1;
  return fsync(fd);
}

static int checked_rename(local_io *io, const char *from, const char *to) {
  if (fault_fires(io, FLOE_IO_FAULT_RENAME)) return -1;
  return rename(from, to);
}

/* rename without replacing: renameat2(RENAME_NOREPLACE), or where the file
 * system does not support it (EINVAL), link + unlink, which gives the same
 * guarantee for regular files: link(2) fails with EEXIST on a taken name. */
static int checked_rename_noreplace(local_io *io, const char *from,
                                    const char *to) {
  if (fault_fires(io, FLOE_IO_FAULT_RENAME)) return -1;
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (link(from, to) != 0) return -1;
  unlink(from);
  return 0;
}

static int set_fault(floe_io *base, const floe_io_fault *fault,
                     floe_error *err) {
  (void)err;
  local_io *io = (local_io *)base;
  memset(&io->fault, 0, sizeof io->fault);
  io->fault_calls = 0;
  if (fault != NULL) io->fault = *fault;
  return FLOE_OK;
}

static long fault_calls(floe_io *base) {
  return ((local_io *)base)->fault_calls;
}

/* ---- paths ---------------------------------------------------------------- */

const char *floe_io_local_path(const char *location) {
  if (location == NULL) return NULL;
  if (strncmp(location, "file:", 5) != 0) {
    /* A scheme is letters, digits, '+', '-', '.' followed by "://". */
    const char *p = location;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
      p++;
    if (p != location && strncmp(p, "://", 3) == 0) return NULL;
    return location;
  }
  const char *rest = location + 5;
  if (strncmp(rest, "//", 2) != 0) return rest; /* file:/abs */
  rest += 2;
  if (rest[0] == '/') return rest; /* file:///abs */
  if (strncmp(rest, "localhost/", 10) == 0) return rest + 9;
  return NULL; /* file://remote-host/... */
}

static int resolve(const char *location, const char **out, floe_error *err) {
  const char *path = floe_io_local_path(location);
  if (path == NULL || path[0] == '\0')
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "location '%s': the local file system handles "
                          "file: URIs and plain paths only",
                          location ? location : "(null)");
  *out = path;
  return FLOE_OK;
}

static int fsync_dir_of(local_io *io, const char *path, floe_error *err) {
  if (!io->durable) return FLOE_OK;
  const char *slash = strrchr(path, '/');
  char *dir = slash == NULL ? floe_strdup(".")
              : slash == path ? floe_strdup("/")
                              : floe_strndup(path, (size_t)(slash - path));
  if (dir == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "fsync directory of %s: out of "
                          "memory", path);
  int rc = FLOE_OK;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    rc = floe_error_errno(err, errno, "open directory %s", dir);
  } else {
    if (checked_fsync(io, fd) != 0)
      rc = floe_error_errno(err, errno, "fsync directory %s", dir);
    close(fd);
  }
  floe_free(dir);
  return rc;
}

static int mkdirs_plain(const char *path, floe_error *err) {
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return FLOE_OK;
    return floe_error_set(err, FLOE_EIO, "mkdir %s: exists and is not a "
                          "directory", path);
  }
  char *copy = floe_strdup(path);
  if (copy == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "mkdir %s: out of memory", path);
  int rc = FLOE_OK;
  for (char *p = copy + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
      rc = floe_error_errno(err, errno, "mkdir %s", copy);
      if (rc == FLOE_EEXISTS) rc = FLOE_EIO;
      break;
    }
    *p = saved;
    if (saved == '\0') break;
  }
  if (rc == FLOE_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
    rc = floe_error_set(err, FLOE_EIO, "mkdir %s: exists and is not a "
                        "directory", path);
  floe_free(copy);
  return rc;
}

static int mkdirs_parent(const char *path, floe_error *err) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path) return FLOE_OK;
  char *dir = floe_strndup(path, (size_t)(slash - path));
  if (dir == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "mkdir parent of %s: out of "
                          "memory", path);
  int rc = mkdirs_plain(dir, err);
  floe_free(dir);
  return rc;
}

static int write_all(local_io *io, int fd, const void *data, size_t len,
                     const char *path, floe_error *err) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = checked_write(io, fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return floe_error_errno(err, errno, "write %s", path);
    }
    p += n;
    len -= (size_t)n;
  }
  return FLOE_OK;
}

/* ---- reading -------------------------------------------------------------- */

static int file_read_at(floe_io_file *base, uint64_t offset, void *buf,
                        size_t len, size_t *out_read, floe_error *err) {
  local_file *file = (local_file *)base;
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(file->fd, (uint8_t *)buf + got, len - got,
                      (off_t)(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      *out_read = got;
      return floe_error_errno(err, errno, "read %s at offset %llu",
                              base->path, (unsigned long long)(offset + got));
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  *out_read = got;
  return FLOE_OK;
}

static void file_close(floe_io_file *base) {
  local_file *file = (local_file *)base;
  if (file->fd >= 0) close(file->fd);
  floe_free(base->path);
  floe_free(file);
}

static const floe_io_file_ops local_file_ops = {file_read_at, file_close};

static int local_open_read(floe_io *io, const char *location,
                           floe_io_file **out, floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  local_file *file = floe_calloc(1, sizeof *file);
  if (file == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "open %s: out of memory", location);
  file->fd = -1;
  file->base.ops = &local_file_ops;
  file->base.path = floe_strdup(location);
  if (file->base.path == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "open %s: out of memory", location);
    goto fail;
  }
  file->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (file->fd < 0) {
    rc = floe_error_errno(err, errno, "open %s", location);
    goto fail;
  }
  struct stat st;
  if (fstat(file->fd, &st) != 0) {
    rc = floe_error_errno(err, errno, "stat %s", location);
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = floe_error_set(err, FLOE_EIO, "open %s: is a directory", location);
    goto fail;
  }
  file->base.size = (uint64_t)st.st_size;
  *out = &file->base;
  return FLOE_OK;
fail:
  file_close(&file->base);
  return rc;
}

/* ---- streaming writes ----------------------------------------------------- */

static void writer_free(local_writer *writer) {
  if (writer->fd >= 0) close(writer->fd);
  floe_free(writer->base.path);
  floe_free(writer->resolved);
  floe_free(writer);
}

static int writer_write(floe_io_writer *base, const void *data, size_t len,
                        floe_error *err) {
  local_writer *writer = (local_writer *)base;
  int rc = write_all(writer->io, writer->fd, data, len, base->path, err);
  if (rc == FLOE_OK) base->written += len;
  return rc;
}

static void writer_abort(floe_io_writer *base) {
  local_writer *writer = (local_writer *)base;
  if (writer->fd >= 0) close(writer->fd);
  writer->fd = -1;
  unlink(writer->resolved);
  writer_free(writer);
}

static int writer_close(floe_io_writer *base, floe_error *err) {
  local_writer *writer = (local_writer *)base;
  int rc = FLOE_OK;
  if (writer->io->durable && checked_fsync(writer->io, writer->fd) != 0)
    rc = floe_error_errno(err, errno, "fsync %s", base->path);
  if (close(writer->fd) != 0 && rc == FLOE_OK)
    rc = floe_error_errno(err, errno, "close %s", base->path);
  writer->fd = -1;
  if (rc == FLOE_OK) rc = fsync_dir_of(writer->io, writer->resolved, err);
  if (rc < 0) unlink(writer->resolved);
  writer_free(writer);
  return rc;
}

static const floe_io_writer_ops local_writer_ops = {writer_write, writer_close,
                                                    writer_abort};

static int local_create(floe_io *base, const char *location,
                        floe_io_writer **out, floe_error *err) {
  local_io *io = (local_io *)base;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  local_writer *writer = floe_calloc(1, sizeof *writer);
  if (writer == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "create %s: out of memory",
                          location);
  writer->fd = -1;
  writer->io = io;
  writer->base.ops = &local_writer_ops;
  writer->base.path = floe_strdup(location);
  writer->resolved = floe_strdup(path);
  if (writer->base.path == NULL || writer->resolved == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "create %s: out of memory", location);
    goto fail;
  }
  rc = mkdirs_parent(path, err);
  if (rc < 0) goto fail;
  writer->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (writer->fd < 0) {
    rc = floe_error_errno(err, errno, "create %s", location);
    goto fail;
  }
  *out = &writer->base;
  return FLOE_OK;
fail:
  writer_free(writer);
  return rc;
}

/* ---- whole-file atomic writes and renames ------------------------------- */

static int local_write_atomic(floe_io *base, const char *location,
                              const void *data, size_t len, int flags,
                              floe_error *err) {
  local_io *io = (local_io *)base;
  const char *path = NULL;
  char *temp = NULL;
  int fd = -1;
  char uuid[37];
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  FLOE_TRY(mkdirs_parent(path, err));
  FLOE_TRY(floe_io_uuid4(uuid, err));
  /* The temporary name sits in the target directory (so rename stays
   * within one file system) and starts with '.' so listings that look for
   * table files skip it. */
  const char *slash = strrchr(path, '/');
  size_t dir_len = slash == NULL ? 0 : (size_t)(slash - path) + 1;
  size_t temp_len = strlen(path) + 1 + 1 + 36 + 4 + 1;
  temp = floe_malloc(temp_len);
  if (temp == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "write %s: out of memory", location);
    goto cleanup;
  }
  snprintf(temp, temp_len, "%.*s.%s.%s.tmp", (int)dir_len, path,
           path + dir_len, uuid);
  fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = floe_error_errno(err, errno, "create %s (temporary for %s)", temp,
                          location);
    if (rc == FLOE_EEXISTS) rc = FLOE_EIO;
    goto cleanup;
  }
  rc = write_all(io, fd, data, len, temp, err);
  if (rc == FLOE_OK && io->durable && checked_fsync(io, fd) != 0)
    rc = floe_error_errno(err, errno, "fsync %s", temp);
  if (close(fd) != 0 && rc == FLOE_OK)
    rc = floe_error_errno(err, errno, "close %s", temp);
  fd = -1;
  if (rc < 0) goto cleanup;
  if (flags & FLOE_IO_NO_REPLACE) {
    if (checked_rename_noreplace(io, temp, path) != 0) {
      rc = floe_error_errno(err, errno, "publish %s", location);
      goto cleanup;
    }
  } else if (checked_rename(io, temp, path) != 0) {
    rc = floe_error_errno(err, errno, "rename %s to %s", temp, location);
    goto cleanup;
  }
  floe_free(temp);
  temp = NULL;
  rc = fsync_dir_of(io, path, err);
  /* A failed call must not leave the name published: the caller (a hadoop
   * commit) reports failure, and a visible v<N+1> would be a commit it
   * denies. With NO_REPLACE the name was free, so it is ours to take back. */
  if (rc < 0 && (flags & FLOE_IO_NO_REPLACE)) unlink(path);
cleanup:
  if (fd >= 0) close(fd);
  if (temp != NULL) unlink(temp);
  floe_free(temp);
  return rc;
}

static int local_rename_noreplace(floe_io *base, const char *from,
                                  const char *to, floe_error *err) {
  local_io *io = (local_io *)base;
  const char *from_path = NULL, *to_path = NULL;
  int rc = resolve(from, &from_path, err);
  if (rc == FLOE_OK) rc = resolve(to, &to_path, err);
  if (rc < 0) return rc;
  if (checked_rename_noreplace(io, from_path, to_path) != 0)
    return floe_error_errno(err, errno, "rename %s to %s", from, to);
  rc = fsync_dir_of(io, to_path, err);
  /* As in write_atomic: a failed rename leaves the old name, not the new. */
  if (rc < 0 && renameat2(AT_FDCWD, to_path, AT_FDCWD, from_path,
                          RENAME_NOREPLACE) != 0 &&
      (errno == EINVAL || errno == ENOSYS) &&
      link(to_path, from_path) == 0)
    unlink(to_path);
  return rc;
}

/* ---- namespace operations ------------------------------------------------- */

static int local_remove(floe_io *io, const char *location, floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  if (unlink(path) != 0) return floe_error_errno(err, errno, "delete %s",
                                                 location);
  return FLOE_OK;
}

static int local_rmdir(floe_io *io, const char *location, floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  if (rmdir(path) != 0) {
    rc = floe_error_errno(err, errno, "remove directory %s", location);
    return rc == FLOE_EEXISTS ? FLOE_EIO : rc;
  }
  return FLOE_OK;
}

static int local_exists(floe_io *io, const char *location, int *out_exists,
                        int *out_is_dir, floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      *out_exists = 0;
      *out_is_dir = 0;
      return FLOE_OK;
    }
    return floe_error_errno(err, errno, "stat %s", location);
  }
  *out_exists = 1;
  *out_is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
  return FLOE_OK;
}

static int local_mkdirs(floe_io *io, const char *location, floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  return mkdirs_plain(path, err);
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const floe_io_entry *)a)->name,
                ((const floe_io_entry *)b)->name);
}

static int local_list(floe_io *io, const char *location, floe_io_listing *out,
                      floe_error *err) {
  (void)io;
  const char *path = NULL;
  int rc = resolve(location, &path, err);
  if (rc < 0) return rc;
  DIR *dir = opendir(path);
  if (dir == NULL) return floe_error_errno(err, errno, "list %s", location);
  size_t cap = 0;
  struct dirent *entry;
  for (;;) {
    errno = 0;
    entry = readdir(dir);
    if (entry == NULL) {
      if (errno != 0) rc = floe_error_errno(err, errno, "list %s", location);
      break;
    }
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    if (out->count == cap) {
      size_t new_cap = cap ? cap * 2 : 16;
      floe_io_entry *grown =
          floe_realloc(out->entries, new_cap * sizeof *grown);
      if (grown == NULL) {
        rc = floe_error_set(err, FLOE_ENOMEM, "list %s: out of memory",
                            location);
        break;
      }
      out->entries = grown;
      cap = new_cap;
    }
    floe_io_entry *e = &out->entries[out->count];
    memset(e, 0, sizeof *e);
    struct stat st;
    if (fstatat(dirfd(dir), entry->d_name, &st, 0) != 0) {
      if (errno == ENOENT) continue; /* deleted while listing */
      rc = floe_error_errno(err, errno, "stat %s/%s", location, entry->d_name);
      break;
    }
    e->name = floe_strdup(entry->d_name);
    if (e->name == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "list %s: out of memory",
                          location);
      break;
    }
    e->is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
    e->size = e->is_dir ? 0 : (uint64_t)st.st_size;
    e->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
                  (int64_t)st.st_mtim.tv_nsec / 1000000;
    out->count++;
  }
  closedir(dir);
  if (rc < 0) {
    floe_io_listing_reset(out);
    return rc;
  }
  if (out->count > 1) qsort(out->entries, out->count, sizeof *out->entries,
                            entry_cmp);
  return FLOE_OK;
}

static void local_destroy(floe_io *io) { floe_free(io); }

static const floe_io_ops local_ops = {
    .name = "local",
    .open_read = local_open_read,
    .create = local_create,
    .write_atomic = local_write_atomic,
    .rename_noreplace = local_rename_noreplace,
    .remove = local_remove,
    .rmdir = local_rmdir,
    .exists = local_exists,
    .mkdirs = local_mkdirs,
    .list = local_list,
    .set_fault = set_fault,
    .destroy = local_destroy,
    .fault_calls = fault_calls,
};

int floe_io_local_open(const floe_io_local_options *options, floe_io **out,
                       floe_error *err) {
  *out = NULL;
  local_io *io = floe_calloc(1, sizeof *io);
  if (io == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "local io: out of memory");
  io->base.ops = &local_ops;
  io->durable = options == NULL ? 1 : options->durable;
  *out = &io->base;
  return FLOE_OK;
}
