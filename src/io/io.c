/*
 * io/io: the storage-neutral half of floe's file-system interface.
 *
 * Each floe_io_* call dispatches through the implementation's operation
 * table (include/floe/io.h), so the layers above never know whether bytes
 * live on a local disk or in an object store. The helpers that can be built
 * from the primitive operations live here once, for every implementation:
 * bounded whole-file reads, recursive delete, exact reads, listing cleanup
 * and random UUIDs for new file names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "floe/io.h"

int floe_io_is_s3(const char *location) {
  return location != NULL && (strncmp(location, "s3://", 5) == 0 ||
                              strncmp(location, "s3a://", 6) == 0 ||
                              strncmp(location, "s3n://", 6) == 0);
}

/* The scheme table: a new store is one more branch here and one file
 * implementing struct floe_io_ops. */
int floe_io_open_for(const char *location, const floe_io_options *options,
                     floe_io **out, floe_error *err) {
  static const floe_io_options defaults = {{1}, {0}};
  if (options == NULL) options = &defaults;
  *out = NULL;
  if (floe_io_is_s3(location)) return floe_io_s3_open(&options->s3, out, err);
  if (location == NULL || floe_io_local_path(location) != NULL)
    return floe_io_local_open(&options->local, out, err);
  const char *colon = strstr(location, "://");
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "%s: unsupported location scheme %.*s (expected a "
                        "local path, file:// or s3://)",
                        location, colon ? (int)(colon - location) : 0,
                        location);
}

void floe_io_free(floe_io *io) {
  if (io == NULL) return;
  io->ops->destroy(io);
}

int floe_io_open_read(floe_io *io, const char *path, floe_io_file **out,
                      floe_error *err) {
  *out = NULL;
  return io->ops->open_read(io, path, out, err);
}

int floe_io_file_read_at(floe_io_file *file, uint64_t offset, void *buf,
                         size_t len, size_t *out_read, floe_error *err) {
  return file->ops->read_at(file, offset, buf, len, out_read, err);
}

int floe_io_file_read_exact(floe_io_file *file, uint64_t offset, void *buf,
                            size_t len, floe_error *err) {
  size_t got = 0;
  int rc = file->ops->read_at(file, offset, buf, len, &got, err);
  if (rc < 0) return rc;
  if (got != len)
    return floe_error_set(err, FLOE_EFORMAT,
                          "%s: wanted %zu bytes at offset %llu, file has %llu",
                          file->path, len, (unsigned long long)offset,
                          (unsigned long long)file->size);
  return FLOE_OK;
}

void floe_io_file_close(floe_io_file *file) {
  if (file == NULL) return;
  file->ops->close(file);
}

int floe_io_create(floe_io *io, const char *path, floe_io_writer **out,
                   floe_error *err) {
  *out = NULL;
  return io->ops->create(io, path, out, err);
}

int floe_io_writer_write(floe_io_writer *writer, const void *data, size_t len,
                         floe_error *err) {
  return writer->ops->write(writer, data, len, err);
}

int floe_io_writer_close(floe_io_writer *writer, floe_error *err) {
  if (writer == NULL) return FLOE_OK;
  return writer->ops->close(writer, err);
}

void floe_io_writer_abort(floe_io_writer *writer) {
  if (writer == NULL) return;
  writer->ops->abort(writer);
}

int floe_io_write_atomic(floe_io *io, const char *path, const void *data,
                         size_t len, int flags, floe_error *err) {
  return io->ops->write_atomic(io, path, data, len, flags, err);
}

int floe_io_rename_noreplace(floe_io *io, const char *from, const char *to,
                             floe_error *err) {
  return io->ops->rename_noreplace(io, from, to, err);
}

int floe_io_delete(floe_io *io, const char *path, floe_error *err) {
  return io->ops->remove(io, path, err);
}

int floe_io_delete_many(floe_io *io, const char *const *paths, size_t count,
                        size_t *out_deleted, floe_error *err) {
  size_t done = 0;
  int rc = FLOE_OK;
  if (io->ops->remove_many != NULL) {
    rc = io->ops->remove_many(io, paths, count, &done, err);
  } else {
    for (; done < count; done++) {
      rc = io->ops->remove(io, paths[done], err);
      if (rc == FLOE_ENOTFOUND) rc = FLOE_OK;
      if (rc < 0) break;
    }
  }
  if (out_deleted != NULL) *out_deleted = done;
  return rc;
}

int floe_io_rmdir(floe_io *io, const char *path, floe_error *err) {
  return io->ops->rmdir(io, path, err);
}

int floe_io_exists(floe_io *io, const char *path, int *out_exists,
                   int *out_is_dir, floe_error *err) {
  int is_dir = 0;
  *out_exists = 0;
  int rc = io->ops->exists(io, path, out_exists, &is_dir, err);
  if (out_is_dir != NULL) *out_is_dir = is_dir;
  return rc;
}

int floe_io_mkdirs(floe_io *io, const char *path, floe_error *err) {
  return io->ops->mkdirs(io, path, err);
}

int floe_io_list(floe_io *io, const char *dir, floe_io_listing *out,
                 floe_error *err) {
  out->entries = NULL;
  out->count = 0;
  return io->ops->list(io, dir, out, err);
}

void floe_io_listing_reset(floe_io_listing *listing) {
  if (listing == NULL) return;
  for (size_t i = 0; i < listing->count; i++)
    floe_free(listing->entries[i].name);
  floe_free(listing->entries);
  listing->entries = NULL;
  listing->count = 0;
}

int floe_io_set_fault(floe_io *io, const floe_io_fault *fault,
                      floe_error *err) {
  if (io->ops->set_fault == NULL)
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "io %s: fault injection is not supported",
                          io->ops->name);
  return io->ops->set_fault(io, fault, err);
}

int floe_io_fault_calls(floe_io *io, long *out_calls, floe_error *err) {
  *out_calls = 0;
  if (io->ops->fault_calls == NULL)
    return floe_error_set(err, FLOE_EUNSUPPORTED,
                          "io %s: fault injection is not supported",
                          io->ops->name);
  *out_calls = io->ops->fault_calls(io);
  return FLOE_OK;
}

int floe_io_read_all(floe_io *io, const char *path, size_t max_bytes,
                     char **out, size_t *out_len, floe_error *err) {
  int rc = FLOE_OK;
  floe_io_file *file = NULL;
  char *data = NULL;
  *out = NULL;
  if (out_len != NULL) *out_len = 0;
  FLOE_TRY(floe_io_open_read(io, path, &file, err));
  if (file->size > max_bytes) {
    rc = floe_error_set(err, FLOE_ERANGE,
                        "read %s: file has %llu bytes, more than the limit "
                        "of %zu",
                        path, (unsigned long long)file->size, max_bytes);
    goto cleanup;
  }
  size_t size = (size_t)file->size;
  data = floe_malloc(size + 1);
  if (data == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "read %s: out of memory for %zu "
                        "bytes", path, size);
    goto cleanup;
  }
  FLOE_TRY(floe_io_file_read_exact(file, 0, data, size, err));
  data[size] = '\0';
  *out = data;
  data = NULL;
  if (out_len != NULL) *out_len = size;
cleanup:
  floe_free(data);
  floe_io_file_close(file);
  return rc;
}

static int join_path(const char *dir, const char *name, char **out,
                     floe_error *err) {
  size_t dlen = strlen(dir), nlen = strlen(name);
  int slash = dlen > 0 && dir[dlen - 1] != '/';
  char *path = floe_malloc(dlen + (size_t)slash + nlen + 1);
  if (path == NULL)
    return floe_error_set(err, FLOE_ENOMEM, "path %s/%s: out of memory", dir,
                          name);
  memcpy(path, dir, dlen);
  if (slash) path[dlen] = '/';
  memcpy(path + dlen + (size_t)slash, name, nlen + 1);
  *out = path;
  return FLOE_OK;
}

int floe_io_delete_tree(floe_io *io, const char *path, floe_error *err) {
  int rc = FLOE_OK;
  int exists = 0, is_dir = 0;
  floe_io_listing listing = {NULL, 0};
  char *child = NULL;
  FLOE_TRY(floe_io_exists(io, path, &exists, &is_dir, err));
  if (!exists) goto cleanup;
  if (!is_dir) {
    rc = floe_io_delete(io, path, err);
    if (rc == FLOE_ENOTFOUND) rc = FLOE_OK;
    goto cleanup;
  }
  FLOE_TRY(floe_io_list(io, path, &listing, err));
  for (size_t i = 0; i < listing.count; i++) {
    FLOE_TRY(join_path(path, listing.entries[i].name, &child, err));
    FLOE_TRY(floe_io_delete_tree(io, child, err));
    floe_free(child);
    child = NULL;
  }
  rc = floe_io_rmdir(io, path, err);
  if (rc == FLOE_ENOTFOUND) rc = FLOE_OK;
cleanup:
  floe_free(child);
  floe_io_listing_reset(&listing);
  return rc;
}

int floe_io_uuid4(char out[37], floe_error *err) {
  uint8_t bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return floe_error_errno(err, errno, "uuid: getrandom");
    }
    got += (size_t)n;
  }
  /* RFC 9562 section 5.4: version 4 in the high nibble of byte 6, variant
   * 10xx in the high bits of byte 8. */
  bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);
  bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  size_t pos = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[pos++] = '-';
    out[pos++] = hex[bytes[i] >> 4];
    out[pos++] = hex[bytes[i] & 0x0f];
  }
  out[pos] = '\0';
  return FLOE_OK;
}
