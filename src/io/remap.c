/*
 * io/remap: a floe_io that rewrites locations before another io sees them.
 *
 * A table copied out of its warehouse still names its files by their
 * original locations (s3a://bucket/warehouse/t/data/...). Reading the copy
 * needs those names moved under the copy's root: every path starting with
 * the prefix `from` (at a '/' boundary) is passed on as `to` + the rest.
 * Wrapping the io rather than teaching each reader to remap keeps metadata,
 * manifest lists, manifests, data and delete files, and puffin blobs on
 * one rule. Other paths pass through unchanged.
 */
#include <string.h>

#include "floe/buffer.h"
#include "floe/io.h"

typedef struct remap_io {
  floe_io base;
  floe_io *inner; /* owned */
  char *from, *to;
} remap_io;

/* *out: the rewritten path (owned, to free) or NULL when `path` is used as
 * it is. */
static int rewrite(remap_io *r, const char *path, char **out,
                   floe_error *err) {
  *out = NULL;
  size_t fl = strlen(r->from);
  if (strncmp(path, r->from, fl) != 0) return FLOE_OK;
  const char *rest = path + fl;
  if (*rest != '\0' && *rest != '/' && (fl == 0 || r->from[fl - 1] != '/'))
    return FLOE_OK;
  floe_buf b = FLOE_BUF_INIT;
  if (floe_buf_append_str(&b, r->to) != 0 ||
      floe_buf_append_str(&b, rest) != 0 || floe_buf_terminate(&b) != 0) {
    floe_buf_free(&b);
    return floe_error_set(err, FLOE_ENOMEM, "remap %s: out of memory", path);
  }
  *out = (char *)floe_buf_detach(&b, NULL);
  return FLOE_OK;
}

#define REMAPPED(path, call)                          \
  remap_io *r = (remap_io *)base;                     \
  char *mapped = NULL;                                \
  int rc = rewrite(r, path, &mapped, err);            \
  if (rc < 0) return rc;                              \
  const char *p = mapped ? mapped : path;             \
  rc = call;                                          \
  floe_free(mapped);                                  \
  return rc

static int r_open_read(floe_io *base, const char *path, floe_io_file **out,
                       floe_error *err) {
  REMAPPED(path, r->inner->ops->open_read(r->inner, p, out, err));
}

static int r_create(floe_io *base, const char *path, floe_io_writer **out,
                    floe_error *err) {
  REMAPPED(path, r->inner->ops->create(r->inner, p, out, err));
}

static int r_write_atomic(floe_io *base, const char *path, const void *data,
                          size_t len, int flags, floe_error *err) {
  REMAPPED(path,
           r->inner->ops->write_atomic(r->inner, p, data, len, flags, err));
}

static int r_rename(floe_io *base, const char *from, const char *to,
                    floe_error *err) {
  remap_io *r = (remap_io *)base;
  char *a = NULL, *b = NULL;
  int rc = rewrite(r, from, &a, err);
  if (rc == FLOE_OK) rc = rewrite(r, to, &b, err);
  if (rc == FLOE_OK)
    rc = r->inner->ops->rename_noreplace(r->inner, a ? a : from, b ? b : to,
                                         err);
  floe_free(a);
  floe_free(b);
  return rc;
}

static int r_remove(floe_io *base, const char *path, floe_error *err) {
  REMAPPED(path, r->inner->ops->remove(r->inner, p, err));
}

static int r_rmdir(floe_io *base, const char *path, floe_error *err) {
  REMAPPED(path, r->inner->ops->rmdir(r->inner, p, err));
}

static int r_exists(floe_io *base, const char *path, int *out_exists,
                    int *out_is_dir, floe_error *err) {
  REMAPPED(path,
           r->inner->ops->exists(r->inner, p, out_exists, out_is_dir, err));
}

static int r_mkdirs(floe_io *base, const char *path, floe_error *err) {
  REMAPPED(path, r->inner->ops->mkdirs(r->inner, p, err));
}

static int r_list(floe_io *base, const char *dir, floe_io_listing *out,
                  floe_error *err) {
  REMAPPED(dir, r->inner->ops->list(r->inner, p, out, err));
}

static void r_destroy(floe_io *base) {
  remap_io *r = (remap_io *)base;
  floe_io_free(r->inner);
  floe_free(r->from);
  floe_free(r->to);
  floe_free(r);
}

static const floe_io_ops remap_ops = {
    .name = "remap",
    .open_read = r_open_read,
    .create = r_create,
    .write_atomic = r_write_atomic,
    .rename_noreplace = r_rename,
    .remove = r_remove,
    .rmdir = r_rmdir,
    .exists = r_exists,
    .mkdirs = r_mkdirs,
    .list = r_list,
    .destroy = r_destroy,
};

int floe_io_remap_open(floe_io *inner, const char *from, const char *to,
                       floe_io **out, floe_error *err) {
  *out = NULL;
  remap_io *r = floe_calloc(1, sizeof *r);
  if (r == NULL) {
    floe_io_free(inner);
    return floe_error_set(err, FLOE_ENOMEM, "remap: out of memory");
  }
  r->base.ops = &remap_ops;
  r->inner = inner;
  size_t fl = strlen(from), tl = strlen(to);
  while (fl > 1 && from[fl - 1] == '/') fl--;
  while (tl > 1 && to[tl - 1] == '/') tl--;
  r->from = floe_strndup(from, fl);
  r->to = floe_strndup(to, tl);
  if (r->from == NULL || r->to == NULL) {
    r_destroy(&r->base);
    return floe_error_set(err, FLOE_ENOMEM, "remap: out of memory");
  }
  *out = &r->base;
  return FLOE_OK;
}
