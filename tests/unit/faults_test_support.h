/*
 * tests/unit/faults_test_support.h: what the fault-injection and orphan
 * tests share: a table db.<name> (id long required, name string,
 * unpartitioned) on a hadoop or SQLite SQL catalog opened *durable* (so
 * fsyncs happen and can fail), the three snapshot operations under test
 * done end to end (Parquet data files written through floe's data writer,
 * position deletes through the delete writer, then one commit), and the
 * table's rows read back through a scan as sorted text ("1|a;2|b").
 *
 * The base table holds rows 1..3 in one data file. The operations and the
 * rows they leave:
 *   append     + rows 4, 5                          -> 1..5
 *   overwrite  delete everything, add rows 10, 11   -> 10, 11
 *   row delta  + row 6, position delete of id 1     -> 2, 3, 6
 */
#ifndef FLOE_FAULTS_TEST_SUPPORT_H
#define FLOE_FAULTS_TEST_SUPPORT_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "floe/catalog.h"
#include "floe/maintain.h"
#include "floe/scan.h"
#include "floe/table.h"
#include "floe/table_writer.h"

typedef enum { FX_HADOOP, FX_SQLITE } fx_kind;
static const char *const fx_kind_names[] = {"hadoop", "sqlite"};

typedef enum { FX_APPEND, FX_OVERWRITE, FX_ROW_DELTA } fx_op;
static const char *const fx_op_names[] = {"append", "overwrite", "row-delta"};
static const char *const fx_base_rows = "1|a;2|b;3|c";
static const char *const fx_expected_rows[] = {
    "1|a;2|b;3|c;4|d;5|e", "10|j;11|k", "2|b;3|c;6|f"};

typedef struct fx_env {
  fx_kind kind;
  char dir[1024];
  char warehouse[1100];
  char sql_uri[1100];
  floe_catalog *cat;
  int files; /* writer prefixes */
} fx_env;

/* Opens a durable catalog in a fresh scratch directory tmp/<name>_<kind>.
 * busy_timeout_ms / max_attempts apply to the SQL catalog (0: defaults). */
static inline bool fx_open(fx_env *env, fx_kind kind, const char *name,
                           int busy_timeout_ms, int max_attempts,
                           floe_error *err) {
  memset(env, 0, sizeof *env);
  env->kind = kind;
  char cmd[2400];
  snprintf(cmd, sizeof cmd, "rm -rf 'tmp/%s_%s' && mkdir -p 'tmp/%s_%s'", name,
           fx_kind_names[kind], name, fx_kind_names[kind]);
  if (system(cmd) != 0) return false;
  snprintf(cmd, sizeof cmd, "tmp/%s_%s", name, fx_kind_names[kind]);
  if (realpath(cmd, env->dir) == NULL) return false;
  snprintf(env->warehouse, sizeof env->warehouse, "%s/warehouse", env->dir);
  snprintf(env->sql_uri, sizeof env->sql_uri, "%s/catalog.db", env->dir);
  floe_catalog_config cfg = {0};
  cfg.type = kind == FX_HADOOP ? FLOE_CATALOG_HADOOP : FLOE_CATALOG_SQL;
  cfg.warehouse = env->warehouse;
  cfg.sql_uri = kind == FX_HADOOP ? NULL : env->sql_uri;
  cfg.durable = 0; /* durable: fsync files and directories */
  cfg.busy_timeout_ms = busy_timeout_ms;
  cfg.max_attempts = max_attempts;
  if (floe_catalog_open(&cfg, &env->cat, err) != 0) return false;
  return floe_catalog_namespace_create(env->cat, "db", NULL, 0, err) == 0;
}

static inline void fx_close(fx_env *env) {
  floe_catalog_free(env->cat);
  env->cat = NULL;
}

static inline floe_io *fx_io(fx_env *env) { return floe_catalog_io(env->cat); }

static inline floe_iceberg_schema *fx_schema(void) {
  floe_iceberg_column cols[] = {
      {1, "id", true, floe_iceberg_type_of(FLOE_ICEBERG_LONG), NULL},
      {2, "name", false, floe_iceberg_type_of(FLOE_ICEBERG_STRING), NULL},
  };
  floe_iceberg_schema *s = NULL;
  floe_error err = {0};
  if (floe_iceberg_schema_new(&s, 0, cols, 2, &err) != 0) return NULL;
  return s;
}

/* A two-column batch of ids; names are 'a' + id - 1. */
static inline int fx_batch(const int64_t *ids, int n, struct ArrowSchema *schema,
                           struct ArrowArray *batch, floe_error *err) {
  int rc = FLOE_OK;
  floe_arrow_batch_builder bb;
  bool bb_ready = false;
  memset(schema, 0, sizeof *schema);
  memset(batch, 0, sizeof *batch);
  if ((rc = floe_arrow_schema_init_struct(schema, NULL, 2)) != 0) goto fail;
  floe_arrow_type_info t64 = floe_arrow_type_of(FLOE_ARROW_INT64);
  floe_arrow_type_info tstr = floe_arrow_type_of(FLOE_ARROW_UTF8);
  if ((rc = floe_arrow_schema_init(schema->children[0], "id", &t64, false, 1)) != 0 ||
      (rc = floe_arrow_schema_init(schema->children[1], "name", &tstr, true, 2)) != 0)
    goto fail;
  if ((rc = floe_arrow_batch_builder_init(&bb, schema, err)) != 0) goto fail;
  bb_ready = true;
  for (int i = 0; i < n; i++) {
    char name = (char)('a' + ids[i] - 1);
    if ((rc = floe_arrow_builder_append_int64(&bb.columns[0], ids[i])) != 0 ||
        (rc = floe_arrow_builder_append_bytes(&bb.columns[1], &name, 1)) != 0)
      goto fail;
  }
  rc = floe_arrow_batch_builder_finish(&bb, batch, err);
  floe_arrow_batch_builder_free(&bb);
  if (rc != 0) goto fail_released;
  return FLOE_OK;
fail:
  if (bb_ready) floe_arrow_batch_builder_free(&bb);
fail_released:
  if (schema->release != NULL) floe_arrow_schema_release(schema);
  if (rc > 0 || (err != NULL && err->code == 0)) floe_error_set(err, FLOE_ENOMEM, "batch: out of memory");
  return rc < 0 ? rc : FLOE_ENOMEM;
}

static inline int fx_writer_options(fx_env *env, floe_table *table,
                                    floe_table_writer_options *o, char *prefix,
                                    size_t cap, floe_error *err) {
  floe_table_writer_options_init(o);
  int rc = floe_table_writer_options_from_metadata(o, floe_table_metadata(table), err);
  o->io = floe_table_io(table);
  snprintf(prefix, cap, "00000-%d-fx", ++env->files);
  o->file_prefix = prefix;
  return rc;
}

/* Writes rows `ids` as data files into *out (the caller frees the list).
 * On failure the writer has removed what it wrote. */
static inline int fx_write_data(fx_env *env, floe_table *table, const int64_t *ids,
                                int n, floe_content_file_list *out, floe_error *err) {
  struct ArrowSchema s;
  struct ArrowArray b;
  floe_table_writer_options o;
  char prefix[64];
  floe_data_writer *w = NULL;
  int rc = fx_writer_options(env, table, &o, prefix, sizeof prefix, err);
  if (rc != 0) return rc;
  rc = fx_batch(ids, n, &s, &b, err);
  if (rc != 0) return rc;
  rc = floe_data_writer_open(&w, &o, err);
  if (rc == 0) rc = floe_data_writer_write(w, &s, &b, err);
  if (rc == 0) rc = floe_data_writer_close(w, out, err);
  floe_data_writer_free(w);
  floe_arrow_array_release(&b);
  floe_arrow_schema_release(&s);
  return rc;
}

/* The path of the base table's one data file (the first live data file). */
static inline int fx_base_data_file(floe_table *table, char *out, size_t cap,
                                    floe_error *err) {
  floe_table_files files = {0};
  int rc = floe_table_files_read(table, NULL, &files, err);
  if (rc != 0) return rc;
  rc = FLOE_ENOTFOUND;
  for (int32_t i = 0; i < files.n; i++)
    if (files.files[i].file.content == FLOE_CONTENT_DATA) {
      snprintf(out, cap, "%s", files.files[i].file.file_path);
      rc = FLOE_OK;
      break;
    }
  floe_table_files_reset(&files);
  if (rc != 0) floe_error_set(err, rc, "no data file");
  return rc;
}

/* Runs one operation end to end: write its files, then commit them. Files
 * of a failed commit are left where they are (orphans), as a crashed or
 * failed writer leaves them. */
static inline int fx_run_op(fx_env *env, floe_table *table, fx_op op, floe_error *err) {
  static const int64_t append_ids[] = {4, 5}, overwrite_ids[] = {10, 11},
                       delta_ids[] = {6};
  floe_content_file_list data = {0}, deletes = {0};
  floe_table_op *top = NULL;
  floe_position_delete_writer *pw = NULL;
  char base_file[1024];
  int rc = FLOE_OK;
  if (op == FX_APPEND) {
    rc = fx_write_data(env, table, append_ids, 2, &data, err);
    if (rc == 0)
      rc = floe_table_append(table, data.files, data.n_files, NULL, 0, NULL, err);
    goto done;
  }
  if (op == FX_ROW_DELTA &&
      (rc = fx_base_data_file(table, base_file, sizeof base_file, err)) != 0)
    goto done;
  rc = fx_write_data(env, table, op == FX_OVERWRITE ? overwrite_ids : delta_ids,
                     op == FX_OVERWRITE ? 2 : 1, &data, err);
  if (rc != 0) goto done;
  if (op == FX_ROW_DELTA) {
    floe_table_writer_options o;
    char prefix[64];
    rc = fx_writer_options(env, table, &o, prefix, sizeof prefix, err);
    if (rc == 0) rc = floe_position_delete_writer_open(&pw, &o, err);
    if (rc == 0) rc = floe_position_delete_writer_add(pw, NULL, base_file, 0, err);
    if (rc == 0) rc = floe_position_delete_writer_close(pw, &deletes, err);
    if (rc != 0) goto done;
  }
  rc = floe_table_op_new(&top, table,
                         op == FX_OVERWRITE ? FLOE_TABLE_OVERWRITE : FLOE_TABLE_ROW_DELTA,
                         err);
  if (rc == 0 && op == FX_OVERWRITE) rc = floe_table_op_delete_all(top, err);
  for (int32_t i = 0; rc == 0 && i < data.n_files; i++)
    rc = floe_table_op_add_file(top, &data.files[i], err);
  for (int32_t i = 0; rc == 0 && i < deletes.n_files; i++)
    rc = floe_table_op_add_file(top, &deletes.files[i], err);
  if (rc == 0) rc = floe_table_op_commit(top, NULL, err);
done:
  floe_table_op_free(top);
  floe_position_delete_writer_free(pw);
  floe_content_file_list_free(&data);
  floe_content_file_list_free(&deletes);
  return rc;
}

/* Creates db.<name> and appends the base rows 1..3. */
static inline int fx_create_table(fx_env *env, const char *name, floe_table **out,
                                  floe_error *err) {
  static const int64_t base_ids[] = {1, 2, 3};
  floe_iceberg_schema *schema = fx_schema();
  floe_catalog_ident ident = {"db", name};
  floe_content_file_list data = {0};
  *out = NULL;
  int rc = floe_table_create(env->cat, ident, schema, NULL, NULL, NULL, 0, NULL, out, err);
  floe_iceberg_schema_free(schema);
  if (rc == 0) rc = fx_write_data(env, *out, base_ids, 3, &data, err);
  if (rc == 0) rc = floe_table_append(*out, data.files, data.n_files, NULL, 0, NULL, err);
  floe_content_file_list_free(&data);
  return rc;
}

static inline int fx_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rows of a freshly loaded db.<name> as sorted "id|name" joined by ';'
 * (malloc'd), or "error: ..." when the load or scan fails. */
static inline char *fx_rows(fx_env *env, const char *name) {
  floe_error err = {0};
  floe_table *table = NULL;
  floe_scan *scan = NULL;
  struct ArrowSchema s;
  memset(&s, 0, sizeof s);
  char **lines = NULL;
  size_t n = 0, cap = 0;
  char *text = NULL;
  floe_catalog_ident ident = {"db", name};
  int rc = floe_table_load(env->cat, ident, &table, &err);
  if (rc == 0) rc = floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), NULL, &err);
  if (rc == 0) rc = floe_scan_schema(scan, &s, &err);
  while (rc == 0) {
    struct ArrowArray b;
    memset(&b, 0, sizeof b);
    rc = floe_scan_next(scan, &b, &err);
    if (rc != 0 || b.release == NULL) break;
    floe_arrow_view v[2];
    floe_arrow_view_init(&v[0], s.children[0], b.children[0], &err);
    floe_arrow_view_init(&v[1], s.children[1], b.children[1], &err);
    for (int64_t r = 0; r < b.length; r++) {
      floe_buf line;
      floe_buf_init(&line);
      floe_arrow_view_format(&v[0], r, &line);
      floe_buf_append_byte(&line, '|');
      floe_arrow_view_format(&v[1], r, &line);
      floe_buf_terminate(&line);
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        lines = realloc(lines, cap * sizeof *lines);
      }
      lines[n++] = strdup((char *)line.data);
      floe_buf_free(&line);
    }
    floe_arrow_array_release(&b);
  }
  if (rc != 0) {
    size_t len = strlen(err.message) + 16;
    text = malloc(len);
    snprintf(text, len, "error: %s", err.message);
  } else {
    /* Numeric order of ids: pad to compare, then print as read. */
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++)
        if (atoll(lines[j]) < atoll(lines[i])) {
          char *x = lines[i];
          lines[i] = lines[j];
          lines[j] = x;
        }
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(lines[i]) + 1;
    text = malloc(len);
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
      if (i) strcat(text, ";");
      strcat(text, lines[i]);
    }
  }
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
  if (s.release != NULL) floe_arrow_schema_release(&s);
  floe_scan_free(scan);
  floe_table_free(table);
  return text;
}

/* ---- files on disk ------------------------------------------------------ */

/* Every regular file under `dir` as "path size mtime-ns" lines into a
 * sorted list (malloc'd strings). */
typedef struct fx_files {
  char **items;
  size_t n, cap;
} fx_files;

static inline void fx_files_free(fx_files *f) {
  for (size_t i = 0; i < f->n; i++) free(f->items[i]);
  free(f->items);
  memset(f, 0, sizeof *f);
}

static inline void fx_files_walk(const char *dir, fx_files *out, bool with_stat) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      fx_files_walk(path, out, with_stat);
      continue;
    }
    char line[4200];
    if (with_stat)
      snprintf(line, sizeof line, "%s %lld %lld.%09ld", path, (long long)st.st_size,
               (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    else
      snprintf(line, sizeof line, "%s", path);
    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 64;
      out->items = realloc(out->items, out->cap * sizeof *out->items);
    }
    out->items[out->n++] = strdup(line);
  }
  closedir(d);
  if (out->n > 1) qsort(out->items, out->n, sizeof *out->items, fx_cmp_str);
}

/* Items of `b` that are not in `a` (both sorted), joined by '\n'. */
static inline char *fx_files_added(const fx_files *a, const fx_files *b) {
  size_t len = 1;
  for (size_t i = 0; i < b->n; i++) len += strlen(b->items[i]) + 1;
  char *out = malloc(len);
  out[0] = '\0';
  size_t i = 0;
  for (size_t j = 0; j < b->n; j++) {
    while (i < a->n && strcmp(a->items[i], b->items[j]) < 0) i++;
    if (i < a->n && strcmp(a->items[i], b->items[j]) == 0) continue;
    if (out[0]) strcat(out, "\n");
    strcat(out, b->items[j]);
  }
  return out;
}

/* Orphan paths of a listing joined by '\n' (already sorted). */
static inline char *fx_orphan_paths(const floe_maintain_orphan_list *list) {
  size_t len = 1;
  for (size_t i = 0; i < list->n_files; i++) len += strlen(list->files[i].path) + 1;
  char *out = malloc(len);
  out[0] = '\0';
  for (size_t i = 0; i < list->n_files; i++) {
    if (i) strcat(out, "\n");
    strcat(out, list->files[i].path);
  }
  return out;
}

static inline int64_t fx_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
