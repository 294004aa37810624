/*
 * replicate/engine: `floe run` — the control-table contract of DESIGN.md
 * carried out table by table, with the exactly-once reconciliation around
 * it.
 *
 * Per table: describe the source and find its columns (plan.c); load the
 * Iceberg table or create it from the source's schema, and evolve its
 * schema when the source drifted (schema_map.c; a schema commit before any
 * data commit); reconcile the control rows with the table's committed
 * history (reconcile.c) and repair; then decide what is new and load it as
 * one or more *units*, each one atomic commit:
 *
 *   incremental  one unit (previous, new]            one control row
 *   chunked      one unit per batch value / N rows   one control row each
 *   partition    one unit per partition value that   one control row for the
 *                has rows in (previous, new]         range; commits "i/n"
 *   full         one unit reading the whole table    one control row
 *
 * The control row is inserted before the data is read and deleted again
 * (compensation) when the unit's write or commit fails; every commit carries
 * floe.source-table, floe.batch-sk.low/high and floe.run-id in its snapshot
 * summary, which is what reconciliation trusts on the next run, and sets
 * the table property floe.watermark.<table> in the same metadata file; the
 * commit is conditional on that committed watermark ending at the unit's
 * low end (watermark.c), so no range is ever committed twice. After each
 * commit the engine validates: source count over the range against the
 * committed snapshot's added-records (merge: the merge's expected net change
 * against total-records), and optionally per-column checksums of the source
 * batches against the files the snapshot added.
 *
 * Scans of the source around a load: before it, ONE statement reads
 * max(batch) and the late-rows check's counts (floe_job_batch_totals); the
 * validate count runs on the source thread as soon as the load's
 * statement has ended (pipeline.c), a fresh statement on the same
 * connection, overlapping the encoding of the last batches and the commit;
 * its result is compared after the commit. Rows that arrive between that
 * count and the commit are in neither: the next run's late-rows check
 * finds them. The control table shares the source's connection, so the
 * commit's lock renewal first waits for the source thread to let it go.
 *
 * Memory: rows stream a batch at a time from the source into the data
 * writer (or the merge), so a run's memory does not grow with the table.
 * Files written by a unit that fails before its commit is attempted are
 * deleted; once a commit was attempted they are left alone (rule 2: if the
 * commit did land, they are the table).
 */
#include "replicate/engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "floe/io.h"
#include "floe/log.h"
#include "floe/merge.h"
#include "floe/parquet_reader.h"
#include "floe/scan.h"
#include "floe/table.h"
#include "floe/table_writer.h"
#include "floe/time.h"
#include "replicate/pipeline.h"

typedef struct engine {
  floe_session s;
  const floe_run_options *opt;
  char run_id[37];
  bool dry_run;
  bool ctl_exists; /* the control table exists (dry run checks, never creates) */
} engine;

/* A table written next to the target in the same unit, committed just
 * before the unit's own commit: the quarantine (rows that fail checks) and
 * the changelog (every change a merge applies). Its rows are some of the
 * source columns, by name, then columns of its own. */
typedef struct side_table {
  const char *kind; /* "quarantine", "changelog": logs, summary, crash point */
  floe_table *table;
  struct ArrowSchema schema; /* the batch layout of its rows */
  int64_t *src_index;        /* schema child k < n_src copies batch child src_index[k] */
  int64_t n_src;
  int64_t n_extra;
} side_table;

typedef struct job_state {
  engine *e;
  floe_job job;
  floe_run_table *rep;
  floe_table *table; /* NULL in a dry run of a table not created yet */
  floe_schema_drift map;
  int64_t started_us;
  int64_t last_progress_us;
  int64_t progress_rows, progress_bytes;
  int rc_mismatch; /* FLOE_EVALIDATE once a unit mismatched */
  int32_t meta_ids[4]; /* load metadata columns' field ids (0: not added) */
  floe_quality *quality; /* the table's checks, NULL when none */
  /* tables.<t>.quarantine and tables.<t>.changelog (side tables below);
   * .table NULL when off. */
  side_table quarantine, changelog;
  /* The running unit's source thread (pipeline.c) while it may still use
   * the source's connection (its validate count); NULL otherwise. */
  floe_pipeline *pipe;
} job_state;

/* One commit's worth of rows. */
typedef struct unit {
  floe_unit_filter filter;   /* which source rows */
  int64_t batch_low, batch_high; /* for the summary */
  const char *wm_low, *wm_high;  /* cursor summary */
  int part_i, part_n;            /* partition strategy: i/n, else 0 */
  const char *part_value;        /* for logs */
  /* Snowflake change capture (sf_cdc.c): the unit reads this query instead
   * of a batch range of the source table, and records the CHANGES window. */
  const floe_cdc_query *cdc;
  const char *changes_start, *changes_end;
  /* late_rows: reload (reload_late): the unit reads a committed range
   * again, as an overwrite of (low, high] (append, overwrite) or a merge of
   * (low, control max] (merge); the committed watermark stays at
   * reload_max and its source-rows trades reload_loaded, what the range's
   * loads had read, for this unit's rows. */
  bool reload;
  int64_t reload_max, reload_loaded;
  bool baseline; /* a baseline commit (batches loaded by the user's word) */
} unit;

static double seconds_since(int64_t us) { return (double)(floe_now_micros() - us) / 1e6; }

static void progress(job_state *js, bool force) {
  const floe_run_options *o = js->e->opt;
  if (o == NULL || o->progress == NULL) return;
  int64_t now = floe_now_micros();
  if (!force && now - js->last_progress_us < 100000) return;
  js->last_progress_us = now;
  floe_run_progress p = {js->rep->name, js->progress_rows, js->progress_bytes,
                         seconds_since(js->started_us)};
  o->progress(o->progress_ctx, &p);
}

/* FLOE_ECANCELED when the embedding program asked the run to stop
 * (floe_run_options.interrupt); the caller's failure path compensates. */
static bool interrupted(const engine *e) {
  return e->opt != NULL && e->opt->interrupt != NULL && *e->opt->interrupt != 0;
}

static int check_interrupt(const engine *e, floe_error *err) {
  if (!interrupted(e)) return FLOE_OK;
  return floe_error_set(err, FLOE_ECANCELED, "interrupted");
}

static int set_message(floe_run_table *rep, const char *text) {
  floe_free(rep->message);
  rep->message = floe_strdup(text);
  return rep->message ? FLOE_OK : FLOE_ENOMEM;
}

/* ---- table: load, create, evolve ------------------------------------------ */

static const char *config_transform_text(const floe_config_partition_field *f, char *buf,
                                         size_t size) {
  const char *name = floe_config_transform_name(f->transform);
  if (strcmp(name, "bucket") == 0 || strcmp(name, "truncate") == 0)
    snprintf(buf, size, "%s[%d]", name, (int)f->argument);
  else
    snprintf(buf, size, "%s", name);
  return buf;
}

/* The spec for a new table: partition_by, or for strategy partition without
 * one, identity(partition_column). */
static int build_spec(job_state *js, const floe_iceberg_schema *schema,
                      floe_iceberg_partition_spec **out, floe_error *err) {
  const floe_config_table *t = js->job.t;
  int rc = FLOE_OK;
  *out = NULL;
  int32_t last = 999;
  FLOE_TRY(floe_iceberg_partition_spec_new(out, 0, err));
  for (size_t i = 0; i < t->n_partition_by; i++) {
    const floe_config_partition_field *f = &t->partition_by[i];
    const floe_iceberg_field *col = floe_iceberg_schema_find_name(schema, f->column, false);
    char tr[32];
    if (col == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "partition_by: column '%s' is not a column of the source",
                          f->column);
      goto cleanup;
    }
    /* a top-level column by its table spelling; a field inside a struct
     * (Iceberg allows a source reached through structs only) by its path */
    bool top = col >= schema->root.fields && col < schema->root.fields + schema->root.n_fields;
    FLOE_TRY(floe_iceberg_partition_spec_add_field(*out, schema, top ? col->name : f->column,
                                                   config_transform_text(f, tr, sizeof tr),
                                                   NULL, &last, err));
  }
  if (t->n_partition_by == 0 && js->job.part_idx >= 0)
    FLOE_TRY(floe_iceberg_partition_spec_add_field(
        *out, schema, js->job.desc.columns[js->job.part_idx].name, "identity", NULL, &last, err));
cleanup:
  if (rc < 0) {
    floe_iceberg_partition_spec_free(*out);
    *out = NULL;
  }
  return rc;
}

/* The sort order sort_by asks for: "col [asc|desc] [nulls first|last]"
 * per item (Iceberg spec: Sorting; the null order defaults as Spark's:
 * first when ascending, last when descending). No items: unsorted. */
static int build_sort_order(job_state *js, const floe_iceberg_schema *schema,
                            floe_iceberg_sort_order **out, floe_error *err) {
  const floe_config_table *t = js->job.t;
  int rc = FLOE_OK;
  char *copy = NULL;
  *out = NULL;
  FLOE_TRY(floe_iceberg_sort_order_new(out, t->n_sort_by > 0 ? 1 : 0, err));
  for (size_t i = 0; i < t->n_sort_by; i++) {
    floe_free(copy);
    copy = floe_strdup(t->sort_by[i]);
    if (copy == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    char *words[5];
    int n = 0;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w != NULL;
         w = strtok_r(NULL, " \t", &save)) {
      if (n == 5) {
        n = 6;
        break;
      }
      words[n++] = w;
    }
    floe_iceberg_sort_direction dir = FLOE_SORT_ASC;
    int k = 1;
    bool ok = n >= 1 && n <= 4;
    if (ok && k < n && (strcasecmp(words[k], "asc") == 0 || strcasecmp(words[k], "desc") == 0))
      dir = strcasecmp(words[k++], "desc") == 0 ? FLOE_SORT_DESC : FLOE_SORT_ASC;
    floe_iceberg_null_order nulls = dir == FLOE_SORT_ASC ? FLOE_NULLS_FIRST : FLOE_NULLS_LAST;
    if (ok && k < n) {
      ok = k + 2 == n && strcasecmp(words[k], "nulls") == 0 &&
           (strcasecmp(words[k + 1], "first") == 0 || strcasecmp(words[k + 1], "last") == 0);
      if (ok) nulls = strcasecmp(words[k + 1], "first") == 0 ? FLOE_NULLS_FIRST : FLOE_NULLS_LAST;
    }
    if (!ok) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "sort_by[%zu]: '%s' is not 'column [asc|desc] [nulls first|last]'", i,
                          t->sort_by[i]);
      goto cleanup;
    }
    const floe_iceberg_field *col = floe_iceberg_schema_find_name(schema, words[0], false);
    if (col == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL, "sort_by[%zu]: column '%s' is not a column of the table",
                          i, words[0]);
      goto cleanup;
    }
    FLOE_TRY(floe_iceberg_sort_order_add_field(*out, schema, col->name, "identity", dir, nulls,
                                               err));
  }
cleanup:
  floe_free(copy);
  if (rc < 0) {
    floe_iceberg_sort_order_free(*out);
    *out = NULL;
  }
  return rc;
}

/* "[1000: created_at_day=day(2), ...]" of a spec, for the log. */
static void spec_text(const floe_iceberg_partition_spec *spec, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "%d:[", spec ? (int)spec->spec_id : 0);
  for (int32_t i = 0; spec != NULL && i < spec->n_fields && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s=%s(%d)#%d", i ? ", " : "",
                             spec->fields[i].name, spec->fields[i].transform_text,
                             (int)spec->fields[i].source_id, (int)spec->fields[i].field_id);
  if (used < size) snprintf(buf + used, size - used, "]");
}

static void order_text(const floe_iceberg_sort_order *order, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "%d:[", order ? (int)order->order_id : 0);
  for (int32_t i = 0; order != NULL && i < order->n_fields && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%d %s nulls %s", i ? ", " : "",
                             (int)order->fields[i].source_id,
                             order->fields[i].direction == FLOE_SORT_DESC ? "desc" : "asc",
                             order->fields[i].null_order == FLOE_NULLS_LAST ? "last" : "first");
  if (used < size) snprintf(buf + used, size - used, "]");
}

/* Partition and sort-order evolution of an existing table: when the job
 * writes partition_by (sort_by) and it differs from the table's default
 * spec (order), the table gets a new default (Iceberg spec: Partition
 * Evolution, Sorting): files already written keep their spec, new data is
 * written in the new one. An unchanged layout commits nothing. */
static int evolve_layout(job_state *js, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_iceberg_partition_spec *spec = NULL;
  floe_iceberg_sort_order *order = NULL;
  floe_iceberg_metadata *probe = NULL;
  int rc = FLOE_OK;
  if (!t->has_partition_by && !t->has_sort_by) return FLOE_OK;
  const floe_iceberg_schema *schema = floe_table_schema(js->table);
  if (t->has_partition_by) {
    FLOE_TRY(build_spec(js, schema, &spec, err));
    FLOE_TRY(floe_iceberg_metadata_copy(&probe, floe_table_metadata(js->table), err));
    int32_t id = -1;
    FLOE_TRY(floe_iceberg_metadata_evolve_spec(probe, spec, &id, err));
    const floe_iceberg_metadata *md = floe_table_metadata(js->table);
    if (id != md->default_spec_id) {
      char before[512], after[512];
      spec_text(floe_iceberg_metadata_default_spec(md), before, sizeof before);
      spec_text(floe_iceberg_metadata_spec(probe, id), after, sizeof after);
      floe_log(FLOE_LOG_INFO, "partition_evolution", "table=%s target=%s old=%s new=%s dry_run=%d",
               t->name, js->rep->target, before, after, (int)e->dry_run);
      if (!e->dry_run) FLOE_TRY(floe_table_evolve_spec(js->table, spec, err));
    }
    floe_iceberg_metadata_free(probe);
    probe = NULL;
  }
  if (t->has_sort_by) {
    FLOE_TRY(build_sort_order(js, floe_table_schema(js->table), &order, err));
    FLOE_TRY(floe_iceberg_metadata_copy(&probe, floe_table_metadata(js->table), err));
    int32_t id = -1;
    FLOE_TRY(floe_iceberg_metadata_add_sort_order(probe, order, true, &id, err));
    const floe_iceberg_metadata *md = floe_table_metadata(js->table);
    if (id != md->default_sort_order_id) {
      char before[512], after[512];
      order_text(floe_iceberg_metadata_sort_order(md, md->default_sort_order_id), before,
                 sizeof before);
      order_text(floe_iceberg_metadata_sort_order(probe, id), after, sizeof after);
      floe_log(FLOE_LOG_INFO, "sort_order_evolution", "table=%s target=%s old=%s new=%s dry_run=%d",
               t->name, js->rep->target, before, after, (int)e->dry_run);
      if (!e->dry_run) FLOE_TRY(floe_table_set_sort_order(js->table, order, err));
    }
  }
cleanup:
  floe_iceberg_metadata_free(probe);
  floe_iceberg_partition_spec_free(spec);
  floe_iceberg_sort_order_free(order);
  return rc;
}

/* ---- load metadata columns ------------------------------------------------ */

/* metadata_columns (docs/config.md, "Load metadata columns"): per row the
 * control batch its unit loaded, the unit's load start, the run id and
 * the operation that wrote it. Every value but the merge's operation is
 * the same for the whole unit, so each batch gets constant columns. */
enum { META_BATCH_SK = 0, META_LOADED_AT, META_RUN_ID, META_OP, N_META };
static const char *const meta_keys[N_META] = {"batch_sk", "loaded_at", "run_id", "op"};

static const char *meta_name(const floe_config_table *t, int k) {
  const floe_config_metadata_columns *mc = &t->metadata_columns;
  return k == META_BATCH_SK ? mc->batch_sk : k == META_LOADED_AT ? mc->loaded_at
                                         : k == META_RUN_ID      ? mc->run_id
                                                                 : mc->op;
}

static floe_iceberg_type meta_type(int k) {
  return floe_iceberg_type_of(k == META_BATCH_SK    ? FLOE_ICEBERG_LONG
                              : k == META_LOADED_AT ? FLOE_ICEBERG_TIMESTAMPTZ
                                                    : FLOE_ICEBERG_STRING);
}

/* The configured metadata columns `base` lacks, added as optional columns
 * with ids after *last_column_id (*out NULL: none missing). A source
 * column of the same name (any case) or a table column of that name with
 * another type is refused. */
static int metadata_columns_add(job_state *js, const floe_iceberg_schema *base,
                                int32_t *last_column_id, floe_iceberg_schema **out, int *n_added,
                                floe_error *err) {
  const floe_config_table *t = js->job.t;
  const floe_source_table *d = &js->job.desc;
  floe_iceberg_schema *work = NULL;
  int rc = FLOE_OK;
  *out = NULL;
  *n_added = 0;
  for (int k = 0; k < N_META; k++) {
    const char *name = meta_name(t, k);
    if (name == NULL) continue;
    for (int64_t i = 0; i < d->n_columns; i++)
      if (strcasecmp(d->columns[i].name, name) == 0) {
        rc = floe_error_set(err, FLOE_EINVAL,
                            "metadata_columns.%s: the source already has a column '%s'; give the "
                            "metadata column another name (metadata_columns: {%s: _loaded_%s})",
                            meta_keys[k], d->columns[i].name, meta_keys[k], meta_keys[k]);
        goto cleanup;
      }
    floe_iceberg_type type = meta_type(k);
    const floe_iceberg_field *f =
        floe_iceberg_schema_find_name(work != NULL ? work : base, name, false);
    if (f != NULL) {
      if (f->type.id != type.id) {
        char have[64], want[64];
        floe_iceberg_type_format(&f->type, have, sizeof have);
        floe_iceberg_type_format(&type, want, sizeof want);
        rc = floe_error_set(err, FLOE_EINVAL,
                            "metadata_columns.%s: the table's column '%s' is %s, not %s",
                            meta_keys[k], name, have, want);
        goto cleanup;
      }
      continue;
    }
    floe_iceberg_schema *next = NULL;
    FLOE_TRY(floe_iceberg_schema_add_column(&next, work != NULL ? work : base, NULL, name, &type,
                                            "floe load metadata", last_column_id, err));
    floe_iceberg_schema_free(work);
    work = next;
    (*n_added)++;
  }
  *out = work;
  work = NULL;
cleanup:
  floe_iceberg_schema_free(work);
  if (rc < 0) floe_error_prefix(err, "table %s", t->name);
  return rc;
}

/* js->meta_ids from the table's current schema. */
static void metadata_columns_resolve(job_state *js) {
  memset(js->meta_ids, 0, sizeof js->meta_ids);
  if (js->table == NULL) return;
  for (int k = 0; k < N_META; k++) {
    const char *name = meta_name(js->job.t, k);
    const floe_iceberg_field *f =
        name ? floe_iceberg_schema_find_name(floe_table_schema(js->table), name, false) : NULL;
    js->meta_ids[k] = f != NULL ? f->id : 0;
  }
}

/* The constant columns a unit's batches get: which, their Arrow schema
 * (the source batch's children followed by them) and their values. */
typedef struct meta_cols {
  int n;
  int kinds[N_META];
  floe_arrow_type_info types[N_META];
  struct ArrowSchema schema;
  int64_t batch_sk, loaded_at_us;
  const char *run_id;
} meta_cols;

static void meta_cols_reset(meta_cols *mc) {
  floe_arrow_schema_release(&mc->schema);
  memset(mc, 0, sizeof *mc);
}

/* For a merge the operation column is left to the merge (I or U by what it
 * did); otherwise every row is an insert. */
static int meta_cols_init(meta_cols *mc, job_state *js, const unit *u, bool is_merge,
                          int64_t loaded_at_us, const struct ArrowSchema *source_schema,
                          floe_error *err) {
  memset(mc, 0, sizeof *mc);
  const floe_iceberg_schema *schema = floe_table_schema(js->table);
  for (int k = 0; k < N_META; k++) {
    if (js->meta_ids[k] <= 0 || (k == META_OP && is_merge)) continue;
    const floe_iceberg_field *f = floe_iceberg_schema_find_id(schema, js->meta_ids[k]);
    int rc = floe_iceberg_type_to_arrow(&f->type, &mc->types[mc->n], err);
    if (rc < 0) return rc;
    mc->kinds[mc->n++] = k;
  }
  if (mc->n == 0) return FLOE_OK;
  mc->batch_sk = u->batch_high;
  mc->loaded_at_us = loaded_at_us;
  mc->run_id = js->e->run_id;
  int64_t n_src = source_schema->n_children;
  if (floe_arrow_schema_init_struct(&mc->schema, source_schema->name, n_src + mc->n) != 0)
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n_src; i++)
    if (floe_arrow_schema_copy(mc->schema.children[i], source_schema->children[i]) != 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int j = 0; j < mc->n; j++) {
    const floe_iceberg_field *f = floe_iceberg_schema_find_id(schema, js->meta_ids[mc->kinds[j]]);
    if (floe_arrow_schema_init(mc->schema.children[n_src + j], f->name, &mc->types[j], true,
                               f->id) != 0)
      return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  return FLOE_OK;
}

/* Replaces *batch by itself plus the constant columns (its children are
 * moved, not copied). */
static int meta_cols_extend(const meta_cols *mc, struct ArrowArray *batch, floe_error *err) {
  int64_t n_src = batch->n_children, len = batch->length;
  int rc = FLOE_OK;
  struct ArrowArray *children = floe_calloc((size_t)(n_src + mc->n), sizeof *children);
  floe_arrow_builder b;
  bool b_ready = false;
  if (children == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n_src; i++) floe_arrow_array_move(batch->children[i], &children[i]);
  for (int j = 0; j < mc->n; j++) {
    if (floe_arrow_builder_init(&b, &mc->types[j]) != 0) goto nomem;
    b_ready = true;
    if (floe_arrow_builder_reserve(&b, len, 0) != 0) goto nomem;
    for (int64_t r = 0; r < len; r++) {
      int brc;
      switch (mc->kinds[j]) {
        case META_BATCH_SK: brc = floe_arrow_builder_append_int64(&b, mc->batch_sk); break;
        case META_LOADED_AT: brc = floe_arrow_builder_append_int64(&b, mc->loaded_at_us); break;
        case META_RUN_ID: brc = floe_arrow_builder_append_bytes(&b, mc->run_id, strlen(mc->run_id)); break;
        default: brc = floe_arrow_builder_append_bytes(&b, "I", 1); break;
      }
      if (brc != 0) goto nomem;
    }
    if (floe_arrow_builder_finish(&b, &children[n_src + j]) != 0) goto nomem;
    floe_arrow_builder_free(&b);
    b_ready = false;
  }
  struct ArrowArray out;
  memset(&out, 0, sizeof out);
  if (floe_arrow_struct_from_children(&out, children, n_src + mc->n, len) != 0) goto nomem;
  floe_arrow_array_release(batch);
  floe_arrow_array_move(&out, batch);
  floe_free(children);
  return FLOE_OK;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
  if (b_ready) floe_arrow_builder_free(&b);
  for (int64_t i = 0; i < n_src + mc->n; i++) floe_arrow_array_release(&children[i]);
  floe_free(children);
  floe_arrow_array_release(batch);
  return rc;
}

static const char *const *op_exclude(job_state *js, size_t *n) {
  static const char *one[1];
  *n = 0;
  if (js->job.op_idx < 0) return NULL;
  one[0] = js->job.desc.columns[js->job.op_idx].name;
  *n = 1;
  return one;
}

static int ensure_namespace(engine *e, const char *ns, floe_error *err) {
  int exists = 0;
  int rc = floe_catalog_namespace_exists(e->s.catalog, ns, &exists, err);
  if (rc < 0 || exists) return rc;
  rc = floe_catalog_namespace_create(e->s.catalog, ns, NULL, 0, err);
  return rc == FLOE_EEXISTS ? FLOE_OK : rc;
}

static int open_table(job_state *js, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_catalog_ident ident = floe_job_ident(&js->job);
  floe_iceberg_schema *schema = NULL;
  floe_iceberg_partition_spec *spec = NULL;
  floe_iceberg_sort_order *order = NULL;
  floe_iceberg_property *props = NULL;
  bool created = false;
  size_t n_ex = 0;
  const char *const *ex = op_exclude(js, &n_ex);
  int rc = FLOE_OK;
  for (size_t i = 0; i < t->n_properties; i++)
    if (strcmp(t->properties[i].key, "format-version") == 0 &&
        strtol(t->properties[i].value, NULL, 10) >= 3) {
      rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                          "properties: format-version %s: floe does not write Iceberg v3 "
                          "tables yet (deletion vectors, row lineage); use format-version 2",
                          t->properties[i].value);
      goto cleanup;
    }
  rc = floe_table_load(e->s.catalog, ident, &js->table, err);
  if (rc == FLOE_OK && floe_table_metadata(js->table)->format_version >= 3) {
    /* Iceberg spec v3: a merge's deletes must be deletion vectors merged
     * with the data file's existing one, and every commit must keep row
     * lineage right. floe writes neither yet: refuse before anything is
     * written rather than write a v3 table wrongly. */
    rc = floe_error_set(err, FLOE_EUNSUPPORTED,
                        "the table is Iceberg format-version %d (written by another engine); "
                        "floe does not write v3 tables yet (deletion vectors, row lineage), so "
                        "nothing was written: replicate into a format-version 2 table",
                        (int)floe_table_metadata(js->table)->format_version);
    goto cleanup;
  }
  if (rc == FLOE_ENOTFOUND) {
    if (err) floe_error_init(err);
    FLOE_TRY(floe_schema_from_source(&js->job.desc, ex, n_ex, &schema, err));
    {
      floe_iceberg_schema *with = NULL;
      int32_t last = floe_iceberg_schema_highest_field_id(schema);
      int n_added = 0;
      FLOE_TRY(metadata_columns_add(js, schema, &last, &with, &n_added, err));
      if (with != NULL) {
        floe_iceberg_schema_free(schema);
        schema = with;
      }
    }
    if (e->dry_run) {
      /* Map against the schema the table would get. */
      FLOE_TRY(floe_schema_map(schema, &js->job.desc, ex, n_ex, t->name, &js->map, err));
      floe_log(FLOE_LOG_INFO, "plan", "table=%s target=%s action=create_table", t->name,
               js->rep->target);
      goto cleanup;
    }
    FLOE_TRY(build_spec(js, schema, &spec, err));
    if (t->n_sort_by > 0) FLOE_TRY(build_sort_order(js, schema, &order, err));
    props = floe_calloc(t->n_properties + 1, sizeof *props);
    if (props == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    for (size_t i = 0; i < t->n_properties; i++) {
      props[i].key = t->properties[i].key;
      props[i].value = t->properties[i].value;
    }
    FLOE_TRY(ensure_namespace(e, ident.ns, err));
    rc = floe_table_create(e->s.catalog, ident, schema, spec, order, props,
                           (int32_t)t->n_properties, NULL, &js->table, err);
    if (rc == FLOE_EEXISTS) /* another run created it meanwhile */
      rc = floe_table_load(e->s.catalog, ident, &js->table, err);
    if (rc < 0) goto cleanup;
    created = true;
    floe_log(FLOE_LOG_INFO, "create_table", "table=%s target=%s columns=%d partition_fields=%d",
             t->name, js->rep->target, (int)schema->root.n_fields,
             spec ? (int)spec->n_fields : 0);
  } else if (rc < 0) {
    goto cleanup;
  }
  FLOE_TRY(floe_schema_map(floe_table_schema(js->table), &js->job.desc, ex, n_ex, t->name,
                           &js->map, err));
  if (js->map.evolved != NULL) {
    js->rep->schema_changes = js->map.n_added + js->map.n_widened + js->map.n_made_optional;
    floe_log(FLOE_LOG_INFO, "schema_change", "table=%s changes=%s dry_run=%d", t->name,
             js->map.description ? js->map.description : "", (int)e->dry_run);
    if (!e->dry_run) {
      FLOE_TRY(floe_table_set_schema(js->table, js->map.evolved, err));
      /* Field ids of the committed schema: equal to the evolved one's. */
      floe_schema_drift again;
      FLOE_TRY(floe_schema_map(floe_table_schema(js->table), &js->job.desc, ex, n_ex, t->name,
                               &again, err));
      floe_schema_drift_free(&js->map);
      js->map = again;
    }
  }
  if (!created) {
    /* Load metadata columns an existing table lacks: schema evolution. */
    floe_iceberg_schema *with = NULL;
    int32_t last = floe_table_metadata(js->table)->last_column_id;
    int n_added = 0;
    FLOE_TRY(metadata_columns_add(js, floe_table_schema(js->table), &last, &with, &n_added, err));
    if (with != NULL) {
      js->rep->schema_changes += n_added;
      floe_log(FLOE_LOG_INFO, "schema_change", "table=%s changes=\"metadata columns added: %d\" dry_run=%d",
               t->name, n_added, (int)e->dry_run);
      rc = e->dry_run ? FLOE_OK : floe_table_set_schema(js->table, with, err);
      floe_iceberg_schema_free(with);
      if (rc < 0) goto cleanup;
    }
    /* After the schema: a new partition or sort column may be a new column. */
    FLOE_TRY(evolve_layout(js, err));
  }
  metadata_columns_resolve(js);
cleanup:
  floe_iceberg_schema_free(schema);
  floe_iceberg_sort_order_free(order);
  floe_iceberg_partition_spec_free(spec);
  floe_free(props);
  if (rc < 0) floe_error_prefix(err, "target %s.%s", ident.ns, ident.name);
  return rc;
}

/* ---- reconciliation ------------------------------------------------------- */

static int baseline_commit(job_state *js, int64_t low, int64_t high, const char *reason,
                           bool replace_rows, floe_error *err);

static int reconcile(job_state *js, floe_control_rows *history, floe_error *err) {
  engine *e = js->e;
  const char *name = js->job.t->name;
  floe_commit_list commits;
  floe_repair *repairs = NULL;
  size_t n = 0;
  memset(&commits, 0, sizeof commits);
  int rc = floe_commits_collect(js->table ? floe_table_metadata(js->table) : NULL, name,
                                &commits, err);
  if (rc < 0) return rc;
  FLOE_TRY(floe_reconcile_plan(history, &commits, &repairs, &n, err));
  for (size_t i = 0; i < n; i++) {
    const floe_repair *r = &repairs[i];
    const char *action = r->action == FLOE_REPAIR_COMPENSATE ? "compensate"
                         : r->action == FLOE_REPAIR_BASELINE ? "baseline"
                                                             : "reinsert";
    floe_log(FLOE_LOG_WARN, "repair", "table=%s batch_sk=%lld action=%s run_id=%s dry_run=%d",
             name, (long long)r->batch_sk, action, r->run_id ? r->run_id : "",
             (int)e->dry_run);
    js->rep->repairs++;
    if (e->dry_run) continue;
    floe_debug_crash_point("during_repair");
    if (r->action == FLOE_REPAIR_BASELINE) {
      if (js->table == NULL) {
        rc = floe_error_set(err, FLOE_EINVAL, "no target table to record the baseline in");
        goto cleanup;
      }
      FLOE_TRY(baseline_commit(js, r->batch_low, r->batch_sk, "control_row", false, err));
    } else if (r->action == FLOE_REPAIR_COMPENSATE) {
      int64_t deleted = 0;
      FLOE_TRY(floe_control_compensate(&e->s.ctl, name, r->batch_sk,
                                       r->run_id ? r->run_id : "", &deleted, err));
      if (deleted != 1) {
        rc = floe_error_set(err, FLOE_ECONFLICT,
                            "repair: control row (%s, %lld) changed while floe repaired it "
                            "(another run?)",
                            name, (long long)r->batch_sk);
        goto cleanup;
      }
    } else {
      FLOE_TRY(floe_control_insert(&e->s.ctl, name, r->batch_sk,
                                   r->run_id ? r->run_id : e->run_id, r->watermark, "repair",
                                   err));
    }
  }
  if (n > 0 && !e->dry_run) {
    floe_control_rows_free(history);
    FLOE_TRY(floe_control_history(&e->s.ctl, name, history, err));
  } else if (n > 0 && e->dry_run) {
    /* Simulate: drop compensated rows from the in-memory history. */
    size_t w = 0;
    for (size_t i = 0; i < history->n; i++) {
      bool gone = false;
      for (size_t j = 0; j < n && !gone; j++)
        gone = repairs[j].action == FLOE_REPAIR_COMPENSATE &&
               repairs[j].batch_sk == history->rows[i].batch_sk;
      if (gone) {
        floe_free(history->rows[i].run_id);
        floe_free(history->rows[i].inserted_at);
        floe_free(history->rows[i].watermark);
        floe_free(history->rows[i].kind);
      } else {
        history->rows[w++] = history->rows[i];
      }
    }
    history->n = w;
  }
cleanup:
  floe_free(repairs);
  floe_commit_list_free(&commits);
  if (rc < 0) floe_error_prefix(err, "reconcile");
  return rc;
}

/* ---- one unit: extract, write, commit, validate --------------------------- */

typedef struct hook_ctx {
  int unused;
} hook_ctx;

static int commit_hook(void *ctx, floe_table_op *op, int attempt) {
  job_state *js = ctx;
  (void)op;
  (void)attempt;
  /* Manifests and manifest list are written; the metadata file and the
   * catalog pointer swap come next (their crash points are in the
   * catalog). A run whose table lock was taken over must not commit. */
  int rc = floe_debug_fail_point("commit", NULL);
  /* The control table shares the source's connection: once the source
   * thread is done with it (its validate count may still be running). */
  if (rc == FLOE_OK && js != NULL && js->pipe != NULL) (void)floe_pipeline_wait(js->pipe, NULL);
  if (rc == FLOE_OK && js != NULL)
    rc = floe_table_lock_renew(&js->e->s.ctl, js->job.t->name, js->e->run_id, NULL);
  return rc;
}

static int fmt_i64(char *buf, size_t size, int64_t v) {
  return snprintf(buf, size, "%" PRId64, v);
}

typedef struct summary {
  floe_iceberg_property props[16];
  char low[32], high[32], part[32];
  char source_rows[32]; /* floe.source-rows, set once the rows are read */
  int32_t n;
} summary;

static void summary_build(summary *s, job_state *js, const unit *u) {
  memset(s, 0, sizeof *s);
  fmt_i64(s->low, sizeof s->low, u->batch_low);
  fmt_i64(s->high, sizeof s->high, u->batch_high);
#define PUT(k, v) (s->props[s->n].key = (char *)(k), s->props[s->n].value = (char *)(v), s->n++)
  PUT("floe.source-table", js->job.t->name);
  PUT("floe.batch-sk.low", s->low);
  PUT("floe.batch-sk.high", s->high);
  PUT("floe.run-id", js->e->run_id);
  PUT("floe.strategy", floe_config_strategy_name(js->job.t->strategy));
  PUT("floe.mode", floe_config_mode_name(js->job.t->mode));
  if (u->wm_high != NULL) {
    if (u->wm_low != NULL) PUT("floe.watermark.low", u->wm_low);
    PUT("floe.watermark.high", u->wm_high);
  }
  if (u->part_n > 0) {
    snprintf(s->part, sizeof s->part, "%d/%d", u->part_i, u->part_n);
    PUT("floe.part", s->part);
  }
  if (js->job.t->cdc.type == FLOE_CDC_STREAM) PUT("floe.stream", js->job.t->cdc.stream);
  if (u->changes_end != NULL) {
    if (u->changes_start != NULL) PUT("floe.changes.start", u->changes_start);
    PUT("floe.changes.end", u->changes_end);
  }
  if (u->reload) PUT("floe.reload", "late_rows");
#undef PUT
}

/* What a unit's commit records as the table's committed watermark and
 * checks before it commits (watermark.c). */
typedef struct unit_watermark {
  const char *table_name;
  floe_watermark w; /* borrows the run id and cursor values */
  /* The commit condition: w, but a reload's is the latest load's end. */
  floe_watermark check;
  char *run_id; /* a reload keeps the latest load's run id: owned */
  char *key, *value;
} unit_watermark;

static int unit_watermark_build(unit_watermark *uw, job_state *js, const unit *u,
                                floe_error *err) {
  memset(uw, 0, sizeof *uw);
  uw->table_name = js->job.t->name;
  uw->w.batch_low = u->batch_low;
  uw->w.batch_high = u->batch_high;
  uw->w.run_id = js->e->run_id;
  uw->w.watermark_low = (char *)u->wm_low;
  uw->w.watermark_high = (char *)u->wm_high;
  uw->w.part_i = u->part_n > 0 ? u->part_i : 0;
  uw->w.part_n = u->part_n;
  uw->w.source_rows = -1;
  uw->check = uw->w;
  if (u->reload) {
    /* A reload does not move the committed watermark: it rewrites it as
     * it stands (the latest load's), commits only while it ends at the
     * control max, and updates source-rows (unit_watermark_count_rows). */
    floe_watermark prev;
    bool found = false;
    int rc = floe_watermark_read(floe_table_metadata(js->table), uw->table_name, &prev, &found,
                                 err);
    if (rc < 0) return rc;
    if (!found || !floe_watermark_complete(&prev) || prev.batch_high != u->reload_max) {
      floe_watermark_free(&prev);
      return floe_error_set(err, FLOE_ECONFLICT,
                            "reload (%lld, %lld]: the table's committed watermark no longer "
                            "ends at the control max %lld",
                            (long long)u->batch_low, (long long)u->batch_high,
                            (long long)u->reload_max);
    }
    uw->w.batch_low = prev.batch_low;
    uw->w.batch_high = prev.batch_high;
    uw->w.source_rows = prev.source_rows;
    uw->run_id = prev.run_id;
    prev.run_id = NULL;
    uw->w.run_id = uw->run_id;
    floe_watermark_free(&prev);
    memset(&uw->check, 0, sizeof uw->check);
    uw->check.batch_low = u->reload_max;
    uw->check.batch_high = u->reload_max;
  }
  uw->key = floe_watermark_key(uw->table_name);
  if (uw->key == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  return floe_watermark_format(&uw->w, &uw->value, err);
}

static void unit_watermark_free(unit_watermark *uw) {
  floe_free(uw->key);
  floe_free(uw->value);
  floe_free(uw->run_id);
}

/* Loads that read a batch range (floe_late_rows_counted) record the
 * source rows they read: this unit's in the summary (floe.source-rows) and
 * every load's so far in the committed watermark (the previous property's
 * count plus this unit's rows; a reload's replaces what the range's loads
 * had read). The previous count is read from the table now: if another
 * load committed since, the commit condition fails anyway. Unknown (an
 * older table, a first load that is not from 0, a baseline) leaves the
 * watermark's count out, and late rows unchecked (late.c). */
static int unit_watermark_count_rows(unit_watermark *uw, summary *sm, job_state *js,
                                     const unit *u, int64_t rows, floe_error *err) {
  const floe_config_table *t = js->job.t;
  if (!floe_late_rows_counted(t, js->job.batch_idx >= 0) || u->part_n > 0 || u->cdc != NULL)
    return FLOE_OK;
  fmt_i64(sm->source_rows, sizeof sm->source_rows, rows);
  sm->props[sm->n].key = (char *)"floe.source-rows";
  sm->props[sm->n].value = sm->source_rows;
  sm->n++;
  int64_t before = -1;
  if (u->reload) {
    if (uw->w.source_rows >= 0) before = uw->w.source_rows - u->reload_loaded;
  } else {
    floe_watermark prev;
    bool found = false;
    int rc = floe_watermark_read(floe_table_metadata(js->table), t->name, &prev, &found, err);
    if (rc < 0) return rc;
    if (found && floe_watermark_complete(&prev) && prev.batch_high == u->batch_low)
      before = prev.source_rows;
    else if (!found && u->batch_low == 0 &&
             (u->baseline ||
              floe_iceberg_metadata_current_snapshot(floe_table_metadata(js->table)) == NULL))
      before = 0; /* the first floe commit (a baseline may follow a foreign writer's) */
    floe_watermark_free(&prev);
  }
  uw->w.source_rows = before >= 0 ? before + rows : -1;
  floe_free(uw->value);
  uw->value = NULL;
  return floe_watermark_format(&uw->w, &uw->value, err);
}

/* The commit condition, run by every commit attempt on its base. */
static int unit_watermark_check(void *ctx, const floe_iceberg_metadata *base, floe_error *err) {
  const unit_watermark *uw = ctx;
  return floe_watermark_check(base, uw->table_name, &uw->check, err);
}

/* Sets the watermark property and the condition on a table op. */
static int unit_watermark_attach(unit_watermark *uw, floe_table_op *op, floe_error *err) {
  int rc = floe_table_op_set_property(op, uw->key, uw->value, err);
  if (rc == FLOE_OK) floe_table_op_set_precondition(op, unit_watermark_check, uw);
  return rc;
}

static int64_t summary_i64(const floe_iceberg_snapshot *snap, const char *key) {
  const char *value = floe_iceberg_snapshot_summary(snap, key);
  return value != NULL ? strtoll(value, NULL, 10) : -1;
}

/* The query's expected columns: the source's, typed and numbered as the
 * table columns they write. */
static int query_columns(job_state *js, floe_source_column **out, floe_error *err) {
  int64_t n = js->job.desc.n_columns;
  floe_source_column *cols = floe_calloc((size_t)n + 1, sizeof *cols);
  if (cols == NULL) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) {
    cols[i] = js->job.desc.columns[i];
    cols[i].type = js->map.types[i];
    cols[i].field_id = js->map.field_ids[i];
    if (js->map.arrow_fields != NULL && js->map.arrow_fields[i].release != NULL) {
      cols[i].arrow_field = &js->map.arrow_fields[i]; /* a nested declared shape */
    } else if (cols[i].type.id == FLOE_ARROW_LIST) {
      cols[i].element = js->map.element_types[i];
      cols[i].element_field_id = js->map.element_ids[i];
      cols[i].element_nullable = true; /* the writer checks the table's rule */
    }
  }
  *out = cols;
  return FLOE_OK;
}

static int select_sql(job_state *js, const unit *u, floe_buf *sql, floe_source_param *params,
                      size_t *n_params, floe_error *err) {
  int rc = floe_buf_append_str(sql, "SELECT ");
  for (int64_t i = 0; i < js->job.desc.n_columns && rc == 0; i++) {
    char *q = NULL;
    int qrc = floe_source_quote_ident(js->e->s.src, js->job.desc.columns[i].name, &q, err);
    if (qrc < 0) return qrc;
    rc |= floe_buf_appendf(sql, "%s%s", i ? ", " : "", q);
    floe_free(q);
  }
  rc |= floe_buf_appendf(sql, " FROM %s", js->job.source_sql);
  if (rc) return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  int wrc = floe_job_where(&js->job, &u->filter, sql, params, n_params, err);
  if (wrc < 0) return wrc;
  return floe_buf_terminate(sql) < 0 ? floe_error_set(err, FLOE_ENOMEM, "out of memory") : FLOE_OK;
}

/* A Parquet reader's byte source over the table's io (local or S3). */
static int io_source_read(void *ctx, uint64_t offset, void *buf, size_t n, floe_error *err) {
  return floe_io_file_read_exact(ctx, offset, buf, n, err);
}

static void io_source_close(void *ctx) { floe_io_file_close(ctx); }

static int open_committed_parquet(floe_io *io, const char *path, floe_parquet_reader **out,
                                  floe_error *err) {
  floe_io_file *file = NULL;
  int rc = floe_io_open_read(io, path, &file, err);
  if (rc < 0) return rc;
  floe_parquet_source source = {file, floe_io_file_size(file), io_source_read, io_source_close};
  return floe_parquet_reader_open_source(out, &source, path, err);
}

/* Checksums the data files `snapshot_id` added, read back from storage. */
static bool listed(const floe_content_file_list *list, const char *path) {
  for (int32_t i = 0; list != NULL && i < list->n_files; i++)
    if (strcmp(list->files[i].file_path, path) == 0) return true;
  return false;
}

static int checksum_committed(job_state *js, int64_t snapshot_id,
                              const floe_content_file_list *not_loaded, floe_checksum *out,
                              bool *skipped, floe_error *err) {
  floe_table_files files = {0};
  floe_parquet_reader *reader = NULL;
  floe_parquet_scan *scan = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray batch = {0};
  int rc = FLOE_OK;
  *skipped = false;
  const floe_iceberg_snapshot *snap =
      floe_iceberg_metadata_snapshot(floe_table_metadata(js->table), snapshot_id);
  FLOE_TRY(floe_table_files_read(js->table, snap, &files, err));
  for (int32_t i = 0; i < files.n; i++) {
    const floe_table_file *f = &files.files[i];
    if (f->file.content != FLOE_CONTENT_DATA || f->snapshot_id != snapshot_id ||
        f->status != FLOE_ENTRY_ADDED || listed(not_loaded, f->file.file_path))
      continue;
    FLOE_TRY(open_committed_parquet(floe_table_io(js->table), f->file.file_path, &reader, err));
    floe_parquet_scan_options so;
    memset(&so, 0, sizeof so);
    so.field_ids = out->field_ids;
    so.n_field_ids = out->n_columns;
    FLOE_TRY(floe_parquet_reader_scan_open(&scan, reader, &so, err));
    FLOE_TRY(floe_parquet_reader_scan_schema(scan, &schema, err));
    for (;;) {
      FLOE_TRY(floe_parquet_reader_scan_next(scan, &batch, NULL, err));
      if (batch.release == NULL) break;
      FLOE_TRY(floe_checksum_add(out, &schema, &batch, err));
      floe_arrow_array_release(&batch);
    }
    floe_arrow_schema_release(&schema);
    floe_parquet_reader_scan_free(scan);
    scan = NULL;
    floe_parquet_reader_free(reader);
    reader = NULL;
  }
cleanup:
  floe_arrow_array_release(&batch);
  floe_arrow_schema_release(&schema);
  floe_parquet_reader_scan_free(scan);
  floe_parquet_reader_free(reader);
  floe_table_files_reset(&files);
  return rc;
}

static int merge_kind_options(job_state *js, floe_merge_options *mo, int32_t *keys,
                              floe_error *err) {
  const floe_config_table *t = js->job.t;
  const floe_source_table *d = &js->job.desc;
  memset(mo, 0, sizeof *mo);
  /* Streams and CHANGES arrive as I/U/D rows in FLOE$OP (sf_cdc.c). */
  bool sf_cdc = t->cdc.type == FLOE_CDC_STREAM || t->cdc.type == FLOE_CDC_CHANGES;
  mo->kind = t->cdc.type == FLOE_CDC_OP_COLUMN || sf_cdc ? FLOE_MERGE_CDC_OP
             : t->cdc.type == FLOE_CDC_HASH_DIFF       ? FLOE_MERGE_HASH_DIFF
                                                       : FLOE_MERGE_UPSERT;
  mo->deletes = t->merge.deletes == FLOE_DELETES_EQUALITY        ? FLOE_MERGE_EQUALITY_DELETES
                : t->merge.deletes == FLOE_DELETES_COPY_ON_WRITE ? FLOE_MERGE_COPY_ON_WRITE
                                                                 : FLOE_MERGE_POSITION_DELETES;
  int32_t n = 0;
  if (t->n_primary_key > 0) {
    for (size_t i = 0; i < t->n_primary_key; i++) {
      int64_t idx = floe_schema_find_column(d, t->primary_key[i]);
      if (idx < 0 || js->map.field_ids[idx] <= 0)
        return floe_error_set(err, FLOE_EINVAL,
                              "primary_key: '%s' is not a column of the source",
                              t->primary_key[i]);
      keys[n++] = js->map.field_ids[idx];
    }
  } else {
    for (int32_t ord = 1; ord <= (int32_t)d->n_columns; ord++)
      for (int64_t i = 0; i < d->n_columns; i++)
        if (d->columns[i].pk_ordinal == ord && js->map.field_ids[i] > 0)
          keys[n++] = js->map.field_ids[i];
  }
  if (n == 0)
    return floe_error_set(err, FLOE_EINVAL,
                          "mode merge needs a key: set primary_key (the source declares none)");
  mo->key_field_ids = keys;
  mo->n_key_field_ids = n;
  /* Stream and CHANGES rows come in change order (a key's delete before
   * its insert): arrival order decides unless merge.order_by says.
   * Otherwise the batch (or cursor) column decides first and the sequence
   * or merge.order_by second, so a run loading batches 2 and 3 together
   * ends where a run per batch does (docs/replicate.md). */
  const char *batch = js->job.batch_idx >= 0    ? d->columns[js->job.batch_idx].name
                      : js->job.cursor_idx >= 0 ? d->columns[js->job.cursor_idx].name
                                                : NULL;
  const char *then = t->merge.order_by ? t->merge.order_by : sf_cdc ? NULL : t->cdc.sequence;
  const char *order = sf_cdc ? t->merge.order_by : batch ? batch : then;
  if (order == then) then = NULL;
  mo->order_field_id = -1;
  mo->then_order_field_id = -1;
  const char *names[2] = {order, then};
  int32_t *ids[2] = {&mo->order_field_id, &mo->then_order_field_id};
  for (int k = 0; k < 2; k++) {
    if (names[k] == NULL) continue;
    int64_t idx = floe_schema_find_column(d, names[k]);
    if (idx < 0 || js->map.field_ids[idx] <= 0)
      return floe_error_set(err, FLOE_EINVAL, "merge order column '%s' is not a column of the source",
                            names[k]);
    *ids[k] = js->map.field_ids[idx];
  }
  if (mo->then_order_field_id == mo->order_field_id) mo->then_order_field_id = -1;
  if (sf_cdc) {
    mo->op_column = FLOE_CDC_OP_NAME;
    mo->op_insert = "I";
    mo->op_update = "U";
    mo->op_delete = "D";
  } else if (mo->kind == FLOE_MERGE_CDC_OP) {
    mo->op_column = d->columns[js->job.op_idx].name;
    mo->op_insert = t->cdc.insert_value;
    mo->op_update = t->cdc.update_value;
    mo->op_delete = t->cdc.delete_value;
  }
  return FLOE_OK;
}

/* ---- side tables: quarantine and changelog -------------------------------------- */


typedef struct side_column {
  const char *name;
  floe_arrow_type arrow;
  floe_iceberg_type_id iceberg;
  bool optional;
} side_column;

static void side_close(side_table *s) {
  floe_table_free(s->table);
  floe_arrow_schema_release(&s->schema);
  floe_free(s->src_index);
  memset(s, 0, sizeof *s);
}

/* Loads or creates the side table ns.name: every source column but `skip`
 * (-1: none) as an optional column typed as the load converts it, then
 * `extra` (required unless marked optional). An existing table must have every column by name. */
static int side_open(job_state *js, side_table *s, const char *kind, const char *ns,
                     const char *name, const side_column *extra, int64_t n_extra, int64_t skip,
                     floe_error *err) {
  engine *e = js->e;
  const floe_source_table *d = &js->job.desc;
  floe_catalog_ident ident = {ns, name};
  floe_iceberg_column *cols = NULL;
  floe_iceberg_schema *schema = NULL;
  int rc = FLOE_OK;
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->n_extra = n_extra;
  s->src_index = floe_calloc((size_t)d->n_columns + 1, sizeof *s->src_index);
  cols = floe_calloc((size_t)(d->n_columns + n_extra), sizeof *cols);
  if (s->src_index == NULL || cols == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int64_t i = 0; i < d->n_columns; i++)
    if (i != skip) s->src_index[s->n_src++] = i;
  int64_t n = s->n_src;
  rc = floe_table_load(e->s.catalog, ident, &s->table, err);
  if (rc == FLOE_ENOTFOUND) {
    if (err) floe_error_init(err);
    for (int64_t k = 0; k < n; k++) {
      cols[k].id = (int32_t)k + 1;
      cols[k].name = d->columns[s->src_index[k]].name;
      FLOE_TRY(floe_iceberg_type_from_arrow(&js->map.types[s->src_index[k]], &cols[k].type, err));
    }
    for (int64_t k = 0; k < n_extra; k++) {
      cols[n + k].id = (int32_t)(n + k) + 1;
      cols[n + k].name = extra[k].name;
      cols[n + k].required = !extra[k].optional;
      cols[n + k].type = floe_iceberg_type_of(extra[k].iceberg);
    }
    FLOE_TRY(floe_iceberg_schema_new(&schema, 0, cols, (int32_t)(n + n_extra), err));
    FLOE_TRY(ensure_namespace(e, ident.ns, err));
    rc = floe_table_create(e->s.catalog, ident, schema, NULL, NULL, NULL, 0, NULL, &s->table, err);
    if (rc == FLOE_EEXISTS) rc = floe_table_load(e->s.catalog, ident, &s->table, err);
    if (rc < 0) goto cleanup;
    floe_log(FLOE_LOG_INFO, "create_table", "table=%s target=%s.%s %s=1", js->job.t->name,
             ident.ns, ident.name, kind);
  } else if (rc < 0) {
    goto cleanup;
  }
  const floe_iceberg_schema *current = floe_table_schema(s->table);
  if (floe_arrow_schema_init_struct(&s->schema, "", n + n_extra) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  for (int64_t k = 0; k < n + n_extra; k++) {
    const char *col = k < n ? d->columns[s->src_index[k]].name : extra[k - n].name;
    const floe_iceberg_field *f = floe_iceberg_schema_find_name(current, col, true);
    if (f == NULL) {
      rc = floe_error_set(err, FLOE_EINVAL,
                          "it has no column '%s' (the source gained it after the table was "
                          "created: add the column or drop the table)",
                          col);
      goto cleanup;
    }
    floe_arrow_type_info type =
        k < n ? js->map.types[s->src_index[k]] : floe_arrow_type_of(extra[k - n].arrow);
    bool nullable = k < n || extra[k - n].optional;
    if (floe_arrow_schema_init(s->schema.children[k], col, &type, nullable, f->id) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  }
cleanup:
  floe_iceberg_schema_free(schema);
  floe_free(cols);
  if (rc < 0) floe_error_prefix(err, "%s %s.%s", kind, ident.ns ? ident.ns : "", ident.name);
  return rc;
}

/* Opens the side table's writer on first use. */
static int side_writer(job_state *js, side_table *s, const unit *u, floe_data_writer **w,
                       floe_error *err) {
  if (*w != NULL) return FLOE_OK;
  floe_table_writer_options wo;
  char prefix[80], uuid[37];
  int rc = FLOE_OK;
  (void)js;
  floe_table_writer_options_init(&wo);
  FLOE_TRY(floe_table_writer_options_from_metadata(&wo, floe_table_metadata(s->table), err));
  wo.io = floe_table_io(s->table);
  FLOE_TRY(floe_io_uuid4(uuid, err));
  snprintf(prefix, sizeof prefix, "00000-%d-%s", u->part_i, uuid);
  wo.file_prefix = prefix;
  FLOE_TRY(floe_data_writer_open(w, &wo, err));
cleanup:
  return rc;
}

/* Whether a live file of the side table was committed for a unit whose own
 * commit never landed: a commit of this source table whose range ends
 * above the unit's low end (the commit condition lets the target's
 * committed range end exactly there), other than an earlier part of this
 * run's own group. Those rows are written again by this unit. */
static bool side_file_is_stale(const floe_iceberg_metadata *md, const floe_table_file *f,
                               job_state *js, const unit *u) {
  const floe_iceberg_snapshot *s = floe_iceberg_metadata_snapshot(md, f->snapshot_id);
  if (s == NULL) return false;
  const char *src = floe_iceberg_snapshot_summary(s, "floe.source-table");
  const char *hi = floe_iceberg_snapshot_summary(s, "floe.batch-sk.high");
  const char *run = floe_iceberg_snapshot_summary(s, "floe.run-id");
  if (src == NULL || hi == NULL || strcmp(src, js->job.t->name) != 0) return false;
  int64_t high = strtoll(hi, NULL, 10);
  if (high <= u->batch_low) return false;
  /* An earlier part of this run's group committed its own unit. A redo of
   * this very unit (a merge that lost its commit) replaces its rows. */
  const char *part = floe_iceberg_snapshot_summary(s, "floe.part");
  if (run != NULL && strcmp(run, js->e->run_id) == 0 && high == u->batch_high && part != NULL &&
      u->part_n > 0 && atoi(part) < u->part_i)
    return false;
  return true;
}

/* Commits the unit's side rows (closing w), before the unit's own commit,
 * with the unit's summary (source table, batch range, run, part). Files
 * that an attempt whose own commit never landed left are deleted in the
 * same commit, so each row is there once (docs/replicate.md, "Changelog
 * tables"). *out_rows gets the rows added. */
static int side_commit(job_state *js, side_table *s, const unit *u, floe_data_writer *w,
                       int64_t *out_rows, floe_error *err) {
  floe_content_file_list files = {0};
  floe_table_files live = {0};
  floe_table_op *op = NULL;
  summary sm;
  int64_t stale = 0, snapshot_id = 0;
  int rc = FLOE_OK;
  char key[64], crash[64];
  *out_rows = 0;
  /* The writer borrows the metadata it was opened on: close it first. */
  if (w != NULL) FLOE_TRY(floe_data_writer_close(w, &files, err));
  FLOE_TRY(floe_table_refresh(s->table, err));
  for (int32_t i = 0; i < files.n_files; i++) *out_rows += files.files[i].record_count;
  summary_build(&sm, js, u);
  const floe_iceberg_metadata *md = floe_table_metadata(s->table);
  FLOE_TRY(floe_table_files_read(s->table, NULL, &live, err));
  for (int32_t i = 0; i < live.n; i++) stale += side_file_is_stale(md, &live.files[i], js, u);
  if (files.n_files == 0 && stale == 0) goto cleanup;
  FLOE_TRY(floe_table_op_new(&op, s->table, stale > 0 ? FLOE_TABLE_OVERWRITE : FLOE_TABLE_APPEND,
                             err));
  for (int32_t i = 0; i < live.n; i++)
    if (side_file_is_stale(md, &live.files[i], js, u))
      FLOE_TRY(floe_table_op_delete_path(op, live.files[i].file.file_path, err));
  for (int32_t i = 0; i < files.n_files; i++)
    FLOE_TRY(floe_table_op_add_file(op, &files.files[i], err));
  for (int32_t i = 0; i < sm.n; i++)
    FLOE_TRY(floe_table_op_set_summary(op, sm.props[i].key, sm.props[i].value, err));
  snprintf(key, sizeof key, "floe.%s-of", s->kind);
  FLOE_TRY(floe_table_op_set_summary(op, key, js->rep->target, err));
  FLOE_TRY(floe_table_op_commit(op, &snapshot_id, err));
  floe_log(FLOE_LOG_INFO, s->kind,
           "table=%s batch_sk_low=%lld batch_sk_high=%lld rows=%lld files=%d replaced_files=%lld "
           "snapshot=%lld run_id=%s",
           js->job.t->name, (long long)u->batch_low, (long long)u->batch_high,
           (long long)*out_rows, (int)files.n_files, (long long)stale, (long long)snapshot_id,
           js->e->run_id);
  /* The side rows are committed; the unit's own commit comes next. */
  snprintf(crash, sizeof crash, "after_%s_commit", s->kind);
  floe_debug_crash_point(crash);
cleanup:
  floe_table_op_free(op);
  floe_table_files_reset(&live);
  floe_content_file_list_free(&files);
  if (rc < 0) floe_error_prefix(err, "%s commit", s->kind);
  return rc;
}

/* Quarantine columns after the source's: the first failing check, the run,
 * the unit's batch. */
static const side_column quarantine_columns[] = {
    {"_floe_check", FLOE_ARROW_UTF8, FLOE_ICEBERG_STRING, false},
    {"_floe_run_id", FLOE_ARROW_UTF8, FLOE_ICEBERG_STRING, false},
    {"_floe_batch_sk", FLOE_ARROW_INT64, FLOE_ICEBERG_LONG, false}};

/* Changelog columns after the source's (the op column left out). */
static const side_column changelog_columns[] = {
    {"_op", FLOE_ARROW_UTF8, FLOE_ICEBERG_STRING, false},
    {"_sequence", FLOE_ARROW_UTF8, FLOE_ICEBERG_STRING, true},
    {"_batch_sk", FLOE_ARROW_INT64, FLOE_ICEBERG_LONG, false},
    {"_run_id", FLOE_ARROW_UTF8, FLOE_ICEBERG_STRING, false},
    {"_loaded_at", FLOE_ARROW_TIMESTAMP_US_TZ, FLOE_ICEBERG_TIMESTAMPTZ, false}};

/* Splits a checked batch: rows marked in `marks` (1 + the failing check's
 * index) go to the quarantine writer (opened on the first one), the others
 * replace *batch. *moved gets the rows quarantined. */
static int quarantine_split(job_state *js, const unit *u, const struct ArrowSchema *schema,
                            struct ArrowArray *batch, const uint16_t *marks,
                            floe_data_writer **qwriter, int64_t *moved, floe_error *err) {
  side_table *q = &js->quarantine;
  floe_arrow_batch_builder good, bad;
  struct ArrowArray good_arr = {0}, bad_arr = {0};
  bool good_ok = false, bad_ok = false;
  int64_t n = q->n_src;
  int rc = FLOE_OK;
  *moved = 0;
  for (int64_t i = 0; i < batch->length; i++) *moved += marks[i] != 0;
  if (*moved == 0) return FLOE_OK;
  FLOE_TRY(floe_arrow_batch_builder_init(&good, schema, err));
  good_ok = true;
  FLOE_TRY(floe_arrow_batch_builder_init(&bad, &q->schema, err));
  bad_ok = true;
  for (int64_t c = 0; c < schema->n_children; c++) {
    floe_arrow_view v;
    FLOE_TRY(floe_arrow_view_init(&v, schema->children[c], batch->children[c], err));
    /* c is also the quarantine column: every source column is copied. */
    for (int64_t i = 0; i < batch->length;) {
      int64_t j = i;
      bool is_bad = marks[i] != 0;
      while (j < batch->length && (marks[j] != 0) == is_bad) j++;
      if (!is_bad)
        rc = floe_arrow_builder_append_view(&good.columns[c], &v, i, j - i);
      else if (c < n)
        rc = floe_arrow_builder_append_view(&bad.columns[c], &v, i, j - i);
      if (rc < 0) {
        rc = floe_error_set(err, rc, "quarantine: copying column %lld", (long long)c);
        goto cleanup;
      }
      i = j;
    }
  }
  for (int64_t i = 0; i < batch->length && rc == FLOE_OK; i++) {
    if (marks[i] == 0) continue;
    const char *check = floe_quality_check_name(js->quality, (size_t)(marks[i] - 1));
    rc = floe_arrow_builder_append_bytes(&bad.columns[n], check, strlen(check));
    if (rc == FLOE_OK)
      rc = floe_arrow_builder_append_bytes(&bad.columns[n + 1], js->e->run_id,
                                           strlen(js->e->run_id));
    if (rc == FLOE_OK) rc = floe_arrow_builder_append_int64(&bad.columns[n + 2], u->batch_high);
  }
  if (rc < 0) {
    rc = floe_error_set(err, rc, "quarantine: out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_arrow_batch_builder_finish(&good, &good_arr, err));
  FLOE_TRY(floe_arrow_batch_builder_finish(&bad, &bad_arr, err));
  FLOE_TRY(side_writer(js, q, u, qwriter, err));
  FLOE_TRY(floe_data_writer_write(*qwriter, &q->schema, &bad_arr, err));
  floe_arrow_array_release(batch);
  floe_arrow_array_move(&good_arr, batch);
cleanup:
  floe_arrow_array_release(&good_arr);
  floe_arrow_array_release(&bad_arr);
  if (good_ok) floe_arrow_batch_builder_free(&good);
  if (bad_ok) floe_arrow_batch_builder_free(&bad);
  return rc;
}

/* Writes the changes of one batch (the rows the merge receives) to the
 * changelog: the source columns, then _op (I/U/D from the change-capture
 * operation; U for a keyed upsert, which inserts or updates), _sequence
 * (cdc.sequence or merge.order_by as text, else null), _batch_sk (the
 * unit's), _run_id and _loaded_at (when the unit started). */
static int changelog_add(job_state *js, const unit *u, const struct ArrowSchema *schema,
                         const struct ArrowArray *batch, int64_t loaded_at_us,
                         floe_data_writer **w, floe_error *err) {
  side_table *cl = &js->changelog;
  const floe_config_table *t = js->job.t;
  floe_arrow_batch_builder b;
  struct ArrowArray out = {0};
  floe_buf text;
  bool b_ok = false;
  int rc = FLOE_OK;
  int64_t n = cl->n_src;
  floe_buf_init(&text);
  if (batch->length == 0) return FLOE_OK;
  FLOE_TRY(floe_arrow_batch_builder_init(&b, &cl->schema, err));
  b_ok = true;
  for (int64_t k = 0; k < n; k++) {
    floe_arrow_view v;
    int64_t c = cl->src_index[k];
    FLOE_TRY(floe_arrow_view_init(&v, schema->children[c], batch->children[c], err));
    rc = floe_arrow_builder_append_view(&b.columns[k], &v, 0, batch->length);
    if (rc < 0) {
      rc = floe_error_set(err, rc, "changelog: copying column %lld", (long long)c);
      goto cleanup;
    }
  }
  bool sf_cdc = t->cdc.type == FLOE_CDC_STREAM || t->cdc.type == FLOE_CDC_CHANGES;
  int64_t op_idx = sf_cdc ? js->job.desc.n_columns : js->job.op_idx;
  const char *seq_name = t->cdc.sequence ? t->cdc.sequence : t->merge.order_by;
  int64_t seq_idx = seq_name ? floe_schema_find_column(&js->job.desc, seq_name) : -1;
  floe_arrow_view op, seq;
  bool has_op = op_idx >= 0 && op_idx < batch->n_children, has_seq = seq_idx >= 0;
  if (has_op) FLOE_TRY(floe_arrow_view_init(&op, schema->children[op_idx], batch->children[op_idx], err));
  if (has_seq)
    FLOE_TRY(floe_arrow_view_init(&seq, schema->children[seq_idx], batch->children[seq_idx], err));
  for (int64_t i = 0; i < batch->length && rc == FLOE_OK; i++) {
    const char *code = "U";
    if (has_op && !floe_arrow_view_is_null(&op, i)) {
      size_t len = 0;
      const char *value = (const char *)floe_arrow_view_bytes(&op, i, &len);
      const char *ins = sf_cdc ? "I" : t->cdc.insert_value, *del = sf_cdc ? "D" : t->cdc.delete_value;
      if (strlen(ins) == len && memcmp(value, ins, len) == 0) code = "I";
      else if (strlen(del) == len && memcmp(value, del, len) == 0) code = "D";
    }
    rc = floe_arrow_builder_append_bytes(&b.columns[n], code, 1);
    if (rc == FLOE_OK) {
      if (has_seq && !floe_arrow_view_is_null(&seq, i)) {
        text.len = 0;
        rc = floe_arrow_view_format(&seq, i, &text);
        if (rc == FLOE_OK) rc = floe_arrow_builder_append_bytes(&b.columns[n + 1], text.data, text.len);
      } else {
        rc = floe_arrow_builder_append_null(&b.columns[n + 1]);
      }
    }
    if (rc == FLOE_OK) rc = floe_arrow_builder_append_int64(&b.columns[n + 2], u->batch_high);
    if (rc == FLOE_OK)
      rc = floe_arrow_builder_append_bytes(&b.columns[n + 3], js->e->run_id, strlen(js->e->run_id));
    if (rc == FLOE_OK) rc = floe_arrow_builder_append_int64(&b.columns[n + 4], loaded_at_us);
  }
  if (rc < 0) {
    rc = floe_error_set(err, rc, "changelog: out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_arrow_batch_builder_finish(&b, &out, err));
  FLOE_TRY(side_writer(js, cl, u, w, err));
  FLOE_TRY(floe_data_writer_write(*w, &cl->schema, &out, err));
cleanup:
  floe_arrow_array_release(&out);
  if (b_ok) floe_arrow_batch_builder_free(&b);
  floe_buf_free(&text);
  return rc;
}

/* Rows of the table's last complete loads, newest first (the volume
 * guard's history): added-records of floe's commits of this source table,
 * baselines and empty commits left out. */
static int recent_loads(job_state *js, int64_t *out, size_t cap, size_t *n_out, floe_error *err) {
  floe_commit_list list;
  memset(&list, 0, sizeof list);
  *n_out = 0;
  int rc = floe_commits_collect(floe_table_metadata(js->table), js->job.t->name, &list, err);
  if (rc < 0) return rc;
  for (size_t i = 0; i < list.n && *n_out < cap; i++) {
    const floe_commit_info *c = &list.commits[i];
    if (c->baseline || c->from_property || !c->complete || c->added_records <= 0) continue;
    out[(*n_out)++] = c->added_records;
  }
  floe_commit_list_free(&list);
  return FLOE_OK;
}

/* The batch column holding field `field_id` (-1: none). */
static int64_t column_of_field(const job_state *js, int32_t field_id) {
  for (int64_t i = 0; field_id > 0 && i < js->job.desc.n_columns; i++)
    if (js->map.field_ids[i] == field_id) return i;
  return -1;
}

/* What `unique` means for the table's mode (docs/config.md "checks"):
 * scope: table is for append tables (a merge replaces keys already in the
 * table, an overwrite the rows it loads again); on a merge table a unique
 * check on a key column counts the changes the merge cannot order. */
static int quality_for_mode(job_state *js, floe_error *err) {
  const floe_config_table *t = js->job.t;
  for (size_t i = 0; i < t->n_checks; i++)
    if (t->checks[i].type == FLOE_CHECK_UNIQUE && t->checks[i].scope_table &&
        (t->mode != FLOE_MODE_APPEND || t->cdc.type != FLOE_CDC_NONE))
      return floe_error_set(err, FLOE_EINVAL,
                            "%s:%d: tables.%s.checks: %s has scope: table, which is for append "
                            "tables; this table's mode is %s (a merge replaces keys already in "
                            "the table; its unique check on a key column fails on changes the "
                            "merge cannot order)",
                            t->checks[i].location.file ? t->checks[i].location.file : "config",
                            t->checks[i].location.line, t->name, t->checks[i].name,
                            t->cdc.type != FLOE_CDC_NONE ? "merge (cdc)"
                                                         : floe_config_mode_name(t->mode));
  if (t->mode != FLOE_MODE_MERGE) return FLOE_OK;
  floe_merge_options mo;
  int32_t keys[64];
  int rc = merge_kind_options(js, &mo, keys, err);
  if (rc < 0) return rc;
  int64_t key_cols[64], order_cols[2];
  for (int32_t k = 0; k < mo.n_key_field_ids; k++) key_cols[k] = column_of_field(js, keys[k]);
  order_cols[0] = column_of_field(js, mo.order_field_id);
  order_cols[1] = column_of_field(js, mo.then_order_field_id);
  return floe_quality_set_merge_key(js->quality, key_cols, (size_t)mo.n_key_field_ids, order_cols,
                                    2, err);
}

/* Decides the unit's checks once its rows are read: each is logged
 * (event=check), and a failing check of severity fail stops the unit
 * (FLOE_ECHECK) before its commit, so the group compensates its control
 * row and nothing is committed. With a quarantine table, failing row
 * checks have sent their rows there and only unit checks can stop it. */
static int run_checks(job_state *js, const unit *u, int64_t quarantined, floe_error *err) {
  const floe_config_table *t = js->job.t;
  int64_t recent[1024];
  size_t n_recent = 0;
  floe_buf line;
  floe_buf_init(&line);
  int rc = FLOE_OK;
  FLOE_TRY(recent_loads(js, recent, 1024, &n_recent, err));
  FLOE_TRY(floe_quality_finish(js->quality, recent, n_recent, floe_now_micros(), err));
  if (floe_quality_wants_table(js->quality) && js->table != NULL)
    FLOE_TRY(floe_quality_check_table(js->quality, floe_table_metadata(js->table),
                                      floe_table_io(js->table), js->map.field_ids, err));
  for (size_t i = 0; i < floe_quality_count(js->quality); i++) {
    line.len = 0;
    if (floe_quality_samples(js->quality, i, &line) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    int64_t failing = floe_quality_unit_failing(js->quality, i);
    bool is_warn = floe_quality_is_warn(js->quality, i);
    const char *detail = floe_quality_detail(js->quality, i);
    floe_log(failing == 0 ? FLOE_LOG_INFO : is_warn ? FLOE_LOG_WARN : FLOE_LOG_ERROR, "check",
             "table=%s check=%s severity=%s batch_sk_low=%lld batch_sk_high=%lld passed=%d "
             "failing=%lld samples=%s detail=%s",
             t->name, floe_quality_check_name(js->quality, i), is_warn ? "warn" : "fail",
             (long long)u->batch_low, (long long)u->batch_high, (int)(failing == 0),
             (long long)failing, (const char *)line.data, detail ? detail : "");
  }
  if (quarantined > 0)
    floe_log(FLOE_LOG_WARN, "check", "table=%s batch_sk_low=%lld batch_sk_high=%lld quarantined=%lld",
             t->name, (long long)u->batch_low, (long long)u->batch_high, (long long)quarantined);
  const char *failed = NULL;
  if (floe_quality_failed(js->quality, js->quarantine.table != NULL, &failed)) {
    for (size_t i = 0; i < floe_quality_count(js->quality); i++)
      if (strcmp(floe_quality_check_name(js->quality, i), failed) == 0) {
        line.len = 0;
        if (floe_quality_describe(js->quality, i, &line) < 0 || floe_buf_terminate(&line) < 0) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
    rc = floe_error_set(err, FLOE_ECHECK, "data-quality check failed before the commit: %s",
                        (const char *)line.data);
  }
cleanup:
  floe_buf_free(&line);
  return rc;
}

/* The validate count of a unit: the source's rows over the unit's range,
 * counted by the source thread as soon as the load's statement is done
 * (pipeline.c), while the engine encodes the last batches and commits. */
typedef struct validate_count {
  job_state *js;
  const unit *u;
  int64_t source_rows;
} validate_count;

static int count_source_rows(void *ctx, floe_error *err) {
  validate_count *vc = ctx;
  return vc->u->cdc != NULL ? floe_cdc_query_count(&vc->js->job, vc->u->cdc, &vc->source_rows, err)
                            : floe_job_count(&vc->js->job, &vc->u->filter, &vc->source_rows, err);
}

/* Loads one unit. On failure nothing of it is committed (or, when the
 * commit's outcome is unknown, reconciliation settles it next run). */
static int load_unit(job_state *js, const unit *u, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_source_column *cols = NULL;
  floe_source_stream *stream = NULL;
  floe_pipeline *pipe = NULL;
  floe_data_writer *writer = NULL;
  floe_merge *merge = NULL;
  floe_content_file_list files = {0};
  floe_overwrite_specs_result respec = {0};
  floe_table_op *op = NULL;
  floe_checksum src_sum, tbl_sum;
  unit_watermark uw;
  struct ArrowArray batch = {0};
  meta_cols meta;
  floe_buf sql;
  floe_source_param params[5];
  size_t n_params = 0;
  char prefix[80], uuid[37];
  int64_t snapshot_id = 0, rows = 0, bytes = 0, files_n = 0;
  bool is_merge = t->mode == FLOE_MODE_MERGE;
  /* Quarantined rows leave the source's checksum: counts only then. */
  bool want_checksum = t->validate.checksum && !is_merge && js->quarantine.table == NULL;
  bool commit_attempted = false;
  floe_data_writer *qwriter = NULL, *clwriter = NULL;
  uint16_t *marks = NULL;
  int64_t marks_cap = 0, quarantined = 0;
  int32_t keys[64];
  int rc = FLOE_OK;
  int64_t unit_started = floe_now_micros();
  validate_count vc = {js, u, 0};
  floe_buf_init(&sql);
  memset(&meta, 0, sizeof meta);
  memset(&src_sum, 0, sizeof src_sum);
  memset(&tbl_sum, 0, sizeof tbl_sum);
  memset(&uw, 0, sizeof uw);

  int64_t n_query_columns = js->job.desc.n_columns;
  if (u->cdc != NULL) {
    n_params = u->cdc->n_params;
    memcpy(params, u->cdc->params, n_params * sizeof params[0]);
    if (floe_buf_append_str(&sql, u->cdc->select_sql) < 0 || floe_buf_terminate(&sql) < 0) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
  } else {
    FLOE_TRY(select_sql(js, u, &sql, params, &n_params, err));
  }
  FLOE_TRY(query_columns(js, &cols, err));
  if (u->cdc != NULL) {
    /* query_columns leaves room for one more: the operation. */
    floe_source_column *op_col = &cols[n_query_columns++];
    op_col->name = (char *)FLOE_CDC_OP_NAME;
    op_col->declared_type = (char *)"VARCHAR";
    op_col->nullable = false;
    op_col->type = floe_arrow_type_of(FLOE_ARROW_UTF8);
  }
  if (want_checksum) {
    int32_t ids[1024];
    int32_t n = 0;
    for (int64_t i = 0; i < js->job.desc.n_columns && n < 1024; i++)
      if (js->map.field_ids[i] > 0) ids[n++] = js->map.field_ids[i];
    FLOE_TRY(floe_checksum_init(&src_sum, ids, n, err));
    FLOE_TRY(floe_checksum_init(&tbl_sum, ids, n, err));
  }
  const floe_iceberg_metadata *md = floe_table_metadata(js->table);
  int64_t live_before = 0;
  if (is_merge) FLOE_TRY(floe_table_live_rows(js->table, NULL, &live_before, err));
  summary sm;
  summary_build(&sm, js, u);
  FLOE_TRY(unit_watermark_build(&uw, js, u, err));
  floe_iceberg_property wm_prop = {uw.key, uw.value};

  if (is_merge) {
    floe_merge_options mo;
    FLOE_TRY(merge_kind_options(js, &mo, keys, err));
    mo.summary = sm.props;
    mo.n_summary = sm.n;
    mo.properties = &wm_prop;
    mo.n_properties = 1;
    mo.precondition = unit_watermark_check;
    mo.precondition_ctx = &uw;
    mo.memory_bytes = t->merge.memory_mb << 20;
    mo.spill_dir = e->s.cfg->run.spill_dir;
    mo.threads = e->s.cfg->run.threads;
    mo.op_field_id = js->meta_ids[META_OP];
    mo.unhashed_field_ids = js->meta_ids;
    mo.n_unhashed_field_ids = META_OP; /* batch_sk, loaded_at, run_id */
    FLOE_TRY(floe_merge_begin(&merge, js->table, &mo, err));
  } else {
    floe_table_writer_options wo;
    floe_table_writer_options_init(&wo);
    FLOE_TRY(floe_table_writer_options_from_metadata(&wo, md, err));
    wo.io = floe_table_io(js->table);
    /* Data files in the table's default sort order (sort_by). */
    wo.sort_order = floe_iceberg_metadata_sort_order(md, md->default_sort_order_id);
    FLOE_TRY(floe_io_uuid4(uuid, err));
    snprintf(prefix, sizeof prefix, "00000-%d-%s", u->part_i, uuid);
    wo.file_prefix = prefix;
    FLOE_TRY(floe_data_writer_open(&writer, &wo, err));
  }

  /* Still this table's only run (lock.c)? */
  FLOE_TRY(floe_table_lock_renew(&e->s.ctl, t->name, e->run_id, err));
  floe_log(FLOE_LOG_INFO, "extract",
           "table=%s batch_sk_low=%lld batch_sk_high=%lld watermark_low=%s watermark_high=%s "
           "partition=%s",
           t->name, (long long)u->batch_low, (long long)u->batch_high,
           u->wm_low ? u->wm_low : "", u->wm_high ? u->wm_high : "",
           u->part_value ? u->part_value : "");
  floe_source_query_spec qs;
  memset(&qs, 0, sizeof qs);
  qs.sql = (const char *)sql.data;
  qs.params = params;
  qs.n_params = n_params;
  qs.columns = cols;
  qs.n_columns = n_query_columns;
  qs.table = t->source ? t->source : t->name;
  FLOE_TRY(floe_source_query(e->s.src, &qs, &stream, err));
  const struct ArrowSchema *bschema = floe_source_stream_schema(stream);
  FLOE_TRY(meta_cols_init(&meta, js, u, is_merge, unit_started, bschema, err));
  /* The source (and its checksum) on a thread of its own, when run.threads
   * allows (pipeline.c); batches arrive in stream order either way. The
   * pipeline takes the stream; once it ended, the same thread runs the
   * validate count (a fresh statement, after the load's). */
  bool want_count = t->validate.count || want_checksum;
  floe_source_stream *taken = stream;
  stream = NULL;
  FLOE_TRY(floe_pipeline_start(&pipe, taken, want_checksum ? &src_sum : NULL,
                               floe_pipeline_threads(e->s.cfg->run.threads),
                               FLOE_PIPELINE_DEPTH, want_count ? count_source_rows : NULL, &vc,
                               err));
  js->pipe = pipe;
  bschema = meta.n > 0 ? &meta.schema : floe_pipeline_schema(pipe);
  if (js->quality != NULL) floe_quality_begin_unit(js->quality);
  for (;;) {
    rc = floe_pipeline_next(pipe, &batch, err);
    if (rc < 0) goto cleanup;
    if (rc == 0) break;
    if (js->quality != NULL) {
      uint16_t *m = NULL;
      if (js->quarantine.table != NULL) {
        if (batch.length > marks_cap) {
          uint16_t *grown = floe_realloc(marks, (size_t)batch.length * sizeof *marks);
          if (grown == NULL) {
            rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
            goto cleanup;
          }
          marks = grown;
          marks_cap = batch.length;
        }
        memset(marks, 0, (size_t)batch.length * sizeof *marks);
        m = marks;
      }
      FLOE_TRY(floe_quality_add(js->quality, bschema, &batch, m, err));
      if (m != NULL) {
        int64_t moved = 0;
        FLOE_TRY(quarantine_split(js, u, bschema, &batch, m, &qwriter, &moved, err));
        quarantined += moved;
      }
    }
    if (js->changelog.table != NULL)
      FLOE_TRY(changelog_add(js, u, bschema, &batch, unit_started, &clwriter, err));
    if (meta.n > 0) FLOE_TRY(meta_cols_extend(&meta, &batch, err));
    if (is_merge) {
      FLOE_TRY(floe_merge_add(merge, bschema, &batch, err));
    } else {
      FLOE_TRY(floe_debug_fail_point("write", err));
      FLOE_TRY(floe_data_writer_write(writer, bschema, &batch, err));
    }
    rows += batch.length;
    js->progress_rows += batch.length;
    floe_arrow_array_release(&batch);
    progress(js, false);
    /* A batch is in the writer, the source stream still open. */
    floe_debug_crash_point("during_extract");
    FLOE_TRY(check_interrupt(e, err));
  }
  rc = FLOE_OK;

  /* The checks decide before anything of the unit is committed. */
  if (js->quality != NULL) FLOE_TRY(run_checks(js, u, quarantined, err));
  if (js->quarantine.table != NULL) {
    int64_t committed_rows = 0;
    floe_data_writer *w = qwriter;
    qwriter = NULL; /* closed (and its files committed or left) by the commit */
    rc = side_commit(js, &js->quarantine, u, w, &committed_rows, err);
    floe_data_writer_free(w);
    if (rc < 0) goto cleanup;
  }
  if (js->changelog.table != NULL) {
    int64_t changes = 0;
    floe_data_writer *w = clwriter;
    clwriter = NULL;
    rc = side_commit(js, &js->changelog, u, w, &changes, err);
    floe_data_writer_free(w);
    if (rc < 0) goto cleanup;
    js->rep->changelog_rows += changes;
  }
  floe_merge_result mr;
  memset(&mr, 0, sizeof mr);
  /* Every row is read; nothing of the commit is written yet (the writer
   * still holds its last files open). */
  floe_debug_crash_point("before_commit");
  FLOE_TRY(check_interrupt(e, err));
  int32_t n_summary_read = sm.n;
  FLOE_TRY(unit_watermark_count_rows(&uw, &sm, js, u, rows, err));
  if (is_merge) {
    for (int32_t i = n_summary_read; i < sm.n; i++)
      FLOE_TRY(floe_merge_set_summary(merge, sm.props[i].key, sm.props[i].value, err));
    FLOE_TRY(floe_merge_set_property(merge, uw.key, uw.value, err));
    commit_attempted = true;
    /* FLOE_FAIL_AT=commit reaches merges here (their commit is not a
     * table op with the engine's hook). */
    FLOE_TRY(floe_debug_fail_point("commit", err));
    FLOE_TRY(floe_merge_commit(merge, &mr, err));
    snapshot_id = mr.snapshot_id;
    files_n = mr.data_files + mr.delete_files;
    bytes = mr.bytes_written;
    if (snapshot_id == 0) {
      /* Nothing changed: still record the range in an (empty) commit, so
       * the control row has its proof. */
      FLOE_TRY(floe_table_op_new(&op, js->table, FLOE_TABLE_APPEND, err));
      for (int32_t i = 0; i < sm.n; i++)
        FLOE_TRY(floe_table_op_set_summary(op, sm.props[i].key, sm.props[i].value, err));
      FLOE_TRY(unit_watermark_attach(&uw, op, err));
      floe_table_op_set_commit_hook(op, commit_hook, js);
      FLOE_TRY(floe_table_op_commit(op, &snapshot_id, err));
    }
  } else {
    FLOE_TRY(floe_data_writer_close(writer, &files, err));
    for (int32_t i = 0; i < files.n_files; i++) {
      bytes += files.files[i].file_size_in_bytes;
      floe_log(FLOE_LOG_DEBUG, "file_written", "table=%s path=%s rows=%lld bytes=%lld", t->name,
               files.files[i].file_path, (long long)files.files[i].record_count,
               (long long)files.files[i].file_size_in_bytes);
    }
    files_n = files.n_files;
    js->progress_bytes += bytes;
    floe_log(FLOE_LOG_INFO, "file_written", "table=%s files=%d rows=%lld bytes=%lld", t->name,
             (int)files.n_files, (long long)rows, (long long)bytes);

    bool overwrite =
        u->reload || t->mode == FLOE_MODE_OVERWRITE || t->strategy == FLOE_STRATEGY_PARTITION;
    FLOE_TRY(floe_table_op_new(&op, js->table, overwrite ? FLOE_TABLE_OVERWRITE : FLOE_TABLE_APPEND,
                               err));
    for (int32_t i = 0; i < files.n_files; i++)
      FLOE_TRY(floe_table_op_add_file(op, &files.files[i], err));
    bool by_partition = t->strategy == FLOE_STRATEGY_PARTITION ||
                        (overwrite && !u->reload && t->overwrite == FLOE_OVERWRITE_PARTITIONS);
    if (by_partition) {
      FLOE_TRY(floe_table_op_delete_added_partitions(op, err));
      /* Rows of those partitions in files of older specs (overwrite_specs.c). */
      char respec_prefix[80];
      FLOE_TRY(floe_io_uuid4(uuid, err));
      snprintf(respec_prefix, sizeof respec_prefix, "00000-respec-%s", uuid);
      FLOE_TRY(floe_overwrite_older_specs(js->table, op, &files, respec_prefix, &respec, err));
      if (respec.rows_kept > 0) {
        char n_text[32];
        snprintf(n_text, sizeof n_text, "%lld", (long long)respec.rows_kept);
        FLOE_TRY(floe_table_op_set_summary(op, "floe.rows-rewritten", n_text, err));
      }
      if (respec.files_dropped + respec.files_read > 0)
        floe_log(FLOE_LOG_INFO, "overwrite_older_specs",
                 "table=%s dropped_files=%lld read_files=%lld rewritten_files=%lld "
                 "rows_removed=%lld rows_kept=%lld",
                 t->name, (long long)respec.files_dropped, (long long)respec.files_read,
                 (long long)respec.files_rewritten, (long long)respec.rows_removed,
                 (long long)respec.rows_kept);
    } else if (overwrite) {
      if (!u->reload && t->overwrite == FLOE_OVERWRITE_TABLE) {
        FLOE_TRY(floe_table_op_delete_all(op, err));
      } else {
        /* range: the rows of (low, high] on the batch column. */
        if (js->job.batch_idx < 0) {
          rc = floe_error_set(err, FLOE_EINVAL,
                              "overwrite: range needs a batch_column (integer) to select the "
                              "rows to replace");
          goto cleanup;
        }
        int32_t fid = js->map.field_ids[js->job.batch_idx];
        const floe_iceberg_field *f =
            floe_iceberg_schema_find_id(floe_table_schema(js->table), fid);
        floe_table_range range;
        memset(&range, 0, sizeof range);
        range.column = f->name;
        range.has_lo = u->filter.has_low;
        range.has_hi = u->filter.has_high;
        range.lo_exclusive = true;
        range.hi_inclusive = true;
        if (f->type.id == FLOE_ICEBERG_INT) {
          range.lo.v.i32 = (int32_t)u->filter.low;
          range.hi.v.i32 = (int32_t)u->filter.high;
        } else if (f->type.id == FLOE_ICEBERG_DECIMAL) {
          range.lo.v.dec = (floe_int128)u->filter.low;
          range.hi.v.dec = (floe_int128)u->filter.high;
        } else {
          range.lo.v.i64 = u->filter.low;
          range.hi.v.i64 = u->filter.high;
        }
        FLOE_TRY(floe_table_op_delete_range(op, &range, err));
      }
    }
    for (int32_t i = 0; i < sm.n; i++)
      FLOE_TRY(floe_table_op_set_summary(op, sm.props[i].key, sm.props[i].value, err));
    FLOE_TRY(unit_watermark_attach(&uw, op, err));
    floe_table_op_set_commit_hook(op, commit_hook, js);
    commit_attempted = true;
    FLOE_TRY(floe_table_op_commit(op, &snapshot_id, err));
  }
  /* Ties: one warning per batch (the merge orders by the batch first),
   * with its number of tied keys; a cursor table's, or one without a
   * batch, once for the load. */
  if (mr.tied_keys > 0 && js->job.batch_idx >= 0 && u->cdc == NULL) {
    for (int32_t g = 0; g < mr.n_tie_groups; g++)
      floe_log(FLOE_LOG_WARN, "merge_tie",
               "table=%s batch_sk=%lld tied_keys=%lld message=\"changes of one key with equal "
               "batch and order values: the later row in source order won\"",
               t->name, (long long)mr.tie_groups[g].order, (long long)mr.tie_groups[g].tied_keys);
    if (mr.tied_other > 0)
      floe_log(FLOE_LOG_WARN, "merge_tie",
               "table=%s batch_sk_low=%lld batch_sk_high=%lld tied_keys=%lld message=\"ties in "
               "further batches of the load: the later row in source order won\"",
               t->name, (long long)u->batch_low, (long long)u->batch_high,
               (long long)mr.tied_other);
  } else if (mr.tied_keys > 0) {
    floe_log(FLOE_LOG_WARN, "merge_tie",
             "table=%s batch_sk_low=%lld batch_sk_high=%lld tied_keys=%lld message=\"changes of one "
             "key with equal batch and order values: the later row in source order won\"",
             t->name, (long long)u->batch_low, (long long)u->batch_high, (long long)mr.tied_keys);
  }
  floe_log(FLOE_LOG_INFO, "commit",
           "table=%s snapshot=%lld batch_sk_low=%lld batch_sk_high=%lld rows=%lld files=%lld "
           "bytes=%lld run_id=%s",
           t->name, (long long)snapshot_id, (long long)u->batch_low, (long long)u->batch_high,
           (long long)rows, (long long)files_n, (long long)bytes, e->run_id);
  floe_debug_crash_point("after_commit");
  js->rep->commits++;
  js->rep->snapshot_id = snapshot_id;
  js->rep->rows_written += rows;
  js->rep->files += files_n;
  js->rep->bytes += bytes;
  js->rep->rows_inserted += mr.rows_inserted;
  js->rep->rows_updated += mr.rows_updated;
  js->rep->rows_deleted += mr.rows_deleted;
  js->rep->spill_bytes += mr.spill_bytes;
  js->rep->rows_quarantined += quarantined;

  /* Validation: the commit stands whatever the outcome. The source's
   * count was taken by the source thread once the load's statement ended
   * (count_source_rows); rows arriving between that count and the commit
   * are the next run's late rows (late.c). */
  floe_debug_crash_point("during_validation");
  if (want_count) {
    floe_error verr = {0};
    const floe_iceberg_snapshot *snap =
        floe_iceberg_metadata_snapshot(floe_table_metadata(js->table), snapshot_id);
    char msg[512] = "";
    int vrc = floe_pipeline_wait(pipe, &verr);
    int64_t source_rows = vc.source_rows;
    if (vrc < 0) {
      rc = floe_error_set(err, vrc, "validate: %s", verr.message);
      goto cleanup;
    }
    js->rep->rows_source += source_rows;
    if (is_merge) {
      int64_t live_after = 0;
      FLOE_TRY(floe_table_live_rows(js->table, snap, &live_after, err));
      /* Measured against the commit's parent: when another writer
       * committed meanwhile and the merge was rebased onto it, that
       * writer's rows are not this merge's change. */
      const floe_iceberg_snapshot *parent =
          snap != NULL && snap->has_parent
              ? floe_iceberg_metadata_snapshot(floe_table_metadata(js->table),
                                               snap->parent_snapshot_id)
              : NULL;
      if (parent != NULL) FLOE_TRY(floe_table_live_rows(js->table, parent, &live_before, err));
      if (t->validate.count && source_rows - quarantined != mr.input_rows)
        snprintf(msg, sizeof msg,
                 "count mismatch in (%lld, %lld]: source has %lld rows, merge received %lld",
                 (long long)u->batch_low, (long long)u->batch_high, (long long)source_rows,
                 (long long)mr.input_rows);
      else if (t->validate.count && mr.snapshot_id != 0 &&
               live_after - live_before != mr.net_row_change)
        snprintf(msg, sizeof msg,
                 "row count mismatch in (%lld, %lld]: the merge expected a net change of %lld "
                 "rows, the table's live rows changed by %lld (%lld -> %lld)",
                 (long long)u->batch_low, (long long)u->batch_high,
                 (long long)mr.net_row_change, (long long)(live_after - live_before),
                 (long long)live_before, (long long)live_after);
    } else {
      int64_t added = summary_i64(snap, "added-records");
      if (added < 0) added = 0;
      added -= respec.rows_kept; /* older-spec rows rewritten, not loaded */
      if (t->validate.count && (source_rows - quarantined != added || rows != added))
        snprintf(msg, sizeof msg,
                 "count mismatch in (%lld, %lld]: source has %lld rows, snapshot %lld added "
                 "%lld (read %lld)",
                 (long long)u->batch_low, (long long)u->batch_high, (long long)source_rows,
                 (long long)snapshot_id, (long long)added, (long long)rows);
    }
    if (msg[0] == '\0' && want_checksum) {
      bool skipped = false;
      FLOE_TRY(checksum_committed(js, snapshot_id, &respec.files, &tbl_sum, &skipped, err));
      int32_t bad = skipped ? -1 : floe_checksum_compare(&src_sum, &tbl_sum);
      if (bad >= 0) {
        const floe_iceberg_field *f =
            floe_iceberg_schema_find_id(floe_table_schema(js->table), src_sum.field_ids[bad]);
        snprintf(msg, sizeof msg,
                 "checksum mismatch in (%lld, %lld], column '%s': source sum %016llx nulls %lld, "
                 "table sum %016llx nulls %lld",
                 (long long)u->batch_low, (long long)u->batch_high, f ? f->name : "?",
                 (unsigned long long)src_sum.sums[bad], (long long)src_sum.nulls[bad],
                 (unsigned long long)tbl_sum.sums[bad], (long long)tbl_sum.nulls[bad]);
      }
    }
    floe_log(msg[0] ? FLOE_LOG_ERROR : FLOE_LOG_INFO, "validate",
             "table=%s snapshot=%lld source_rows=%lld written_rows=%lld checksum=%d ok=%d%s%s",
             t->name, (long long)snapshot_id, (long long)source_rows, (long long)rows,
             (int)want_checksum, msg[0] == '\0', msg[0] ? " message=" : "", msg[0] ? msg : "");
    if (msg[0] != '\0') {
      js->rc_mismatch = FLOE_EVALIDATE;
      if (set_message(js->rep, msg) < 0) {
        rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
        goto cleanup;
      }
    }
  }
  (void)unit_started;
cleanup:
  floe_arrow_array_release(&batch);
  js->pipe = NULL;
  floe_pipeline_free(pipe); /* joins the source thread, frees the stream */
  floe_source_stream_free(stream);
  if (rc < 0 && !commit_attempted && writer != NULL) floe_data_writer_abort(writer);
  floe_overwrite_specs_result_free(&respec, rc < 0 && !commit_attempted);
  floe_data_writer_free(writer);
  floe_data_writer_free(qwriter); /* not committed: deletes its files */
  floe_data_writer_free(clwriter);
  floe_free(marks);
  floe_merge_free(merge);
  floe_content_file_list_free(&files);
  floe_table_op_free(op);
  floe_checksum_free(&src_sum);
  floe_checksum_free(&tbl_sum);
  unit_watermark_free(&uw);
  meta_cols_reset(&meta);
  floe_free(cols);
  floe_buf_free(&sql);
  return rc;
}

/* ---- groups: control row + units + compensation -------------------------- */

/* Inserts the control row, runs the units, compensates on failure. */
/* ---- baselines: batches loaded by the user's word ----------------------------- */

/* A commit without data that records batches (low, high] of the source
 * table as loaded: summary floe.source-table / floe.batch-sk.* plus
 * floe.baseline = reason, and the committed watermark property, under the
 * same commit condition as a load (docs/replicate.md, "Switching to floe").
 * With replace_rows, the commit also deletes every live file (on_existing:
 * overwrite). */
static int baseline_commit(job_state *js, int64_t low, int64_t high, const char *reason,
                           bool replace_rows, floe_error *err) {
  floe_table_op *op = NULL;
  unit u;
  unit_watermark uw;
  summary sm;
  int64_t snapshot_id = 0;
  int rc = FLOE_OK;
  memset(&u, 0, sizeof u);
  memset(&uw, 0, sizeof uw);
  u.batch_low = low;
  u.batch_high = high;
  u.baseline = true;
  summary_build(&sm, js, &u);
  FLOE_TRY(unit_watermark_build(&uw, js, &u, err));
  if (floe_late_rows_counted(js->job.t, js->job.batch_idx >= 0)) {
    /* The source rows of the baseline's batches count as loaded (the
     * user's word), so rows arriving in them later are found as late. */
    int64_t rows = 0;
    u.filter.has_low = u.filter.has_high = true;
    u.filter.low = low;
    u.filter.high = high;
    FLOE_TRY(floe_job_count(&js->job, &u.filter, &rows, err));
    FLOE_TRY(unit_watermark_count_rows(&uw, &sm, js, &u, rows, err));
  }
  FLOE_TRY(floe_table_op_new(&op, js->table,
                             replace_rows ? FLOE_TABLE_OVERWRITE : FLOE_TABLE_APPEND, err));
  if (replace_rows) FLOE_TRY(floe_table_op_delete_all(op, err));
  for (int32_t i = 0; i < sm.n; i++)
    FLOE_TRY(floe_table_op_set_summary(op, sm.props[i].key, sm.props[i].value, err));
  FLOE_TRY(floe_table_op_set_summary(op, "floe.baseline", reason, err));
  FLOE_TRY(unit_watermark_attach(&uw, op, err));
  floe_table_op_set_commit_hook(op, commit_hook, js);
  floe_debug_crash_point("before_baseline_commit");
  FLOE_TRY(floe_table_op_commit(op, &snapshot_id, err));
  floe_log(FLOE_LOG_WARN, "baseline",
           "table=%s batch_sk_low=%lld batch_sk_high=%lld reason=%s replaced_rows=%d "
           "snapshot=%lld run_id=%s",
           js->job.t->name, (long long)low, (long long)high, reason, (int)replace_rows,
           (long long)snapshot_id, js->e->run_id);
  js->rep->baselines++;
cleanup:
  floe_table_op_free(op);
  unit_watermark_free(&uw);
  if (rc < 0)
    floe_error_prefix(err, "baseline (%lld, %lld]", (long long)low, (long long)high);
  return rc;
}

/* The highest batch the user states as loaded: start_after or the highest
 * control row floe did not write while loading; 0 when none. */
static int64_t provided_batch(const floe_config_table *t, const floe_control_rows *history) {
  int64_t provided = t->has_start_after ? t->start_after : 0;
  for (size_t i = 0; i < history->n; i++)
    if (!floe_control_row_is_load(&history->rows[i]) && history->rows[i].batch_sk > provided)
      provided = history->rows[i].batch_sk;
  return provided;
}

/* Live rows of a target that no floe commit for this source table explains
 * (another writer filled it); 0 for floe's own tables. A table without a
 * visible floe commit but with floe's load rows in the control table is
 * floe's (its summaries expired before the watermark property existed). */
static int foreign_rows(job_state *js, const floe_control_rows *history, int64_t *out,
                        floe_error *err) {
  floe_commit_list commits;
  int rc = FLOE_OK;
  *out = 0;
  memset(&commits, 0, sizeof commits);
  if (js->table == NULL) return FLOE_OK;
  const floe_iceberg_metadata *md = floe_table_metadata(js->table);
  if (floe_iceberg_metadata_current_snapshot(md) == NULL) return FLOE_OK;
  FLOE_TRY(floe_commits_collect(md, js->job.t->name, &commits, err));
  if (commits.n > 0) goto cleanup;
  for (size_t i = 0; i < history->n; i++)
    if (history->rows[i].batch_sk > 0 && floe_control_row_is_load(&history->rows[i]))
      goto cleanup;
  FLOE_TRY(floe_table_live_rows(js->table, NULL, out, err));
cleanup:
  floe_commit_list_free(&commits);
  return rc;
}

/* A target that already holds another writer's rows: on_existing decides.
 * adopt: its rows are the batches up to the provided batch; append: keep
 * them; overwrite: replace them. Each records a baseline at the provided
 * batch (0 when none), so the table is floe's from then on. */
static int adopt_existing(job_state *js, floe_control_rows *history, int64_t rows,
                          floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  int rc = FLOE_OK;
  int64_t provided = provided_batch(t, history);
  const floe_control_row *latest = floe_control_rows_latest(history);
  switch (t->on_existing) {
  case FLOE_ON_EXISTING_FAIL:
    return floe_error_set(
        err, FLOE_ECONFLICT,
        "target %s already holds %lld rows that no floe commit for source table '%s' "
        "explains (another writer filled it); loading would duplicate them. Set "
        "tables.%s.on_existing: adopt (they are the batches up to start_after or your "
        "control rows), append (keep them and load into the table) or overwrite (the "
        "first load replaces them); docs/replicate.md, \"Switching to floe\"",
        js->rep->target, (long long)rows, t->name, t->name);
  case FLOE_ON_EXISTING_ADOPT:
    if (provided <= 0)
      return floe_error_set(
          err, FLOE_EINVAL,
          "target %s holds %lld rows of another writer and on_existing is adopt, but no "
          "batch says what they hold: set tables.%s.start_after to the last batch_sk they "
          "contain, or run floe control set %s BATCH_SK",
          js->rep->target, (long long)rows, t->name, t->name);
    break;
  default:
    break;
  }
  const char *reason = floe_config_on_existing_name(t->on_existing);
  floe_log(FLOE_LOG_WARN, "adopt",
           "table=%s target=%s foreign_rows=%lld on_existing=%s batch_sk=%lld dry_run=%d",
           t->name, js->rep->target, (long long)rows, reason, (long long)provided,
           (int)e->dry_run);
  if (e->dry_run) return FLOE_OK;
  if (provided > 0 && (latest == NULL || latest->batch_sk < provided)) {
    /* The row first: a crash before the commit leaves a row that the next
     * run's reconciliation rolls forward. */
    FLOE_TRY(floe_control_insert(&e->s.ctl, t->name, provided, e->run_id, NULL, "baseline",
                                 err));
  }
  FLOE_TRY(baseline_commit(js, 0, provided, reason,
                           t->on_existing == FLOE_ON_EXISTING_OVERWRITE, err));
  floe_control_rows_free(history);
  FLOE_TRY(floe_control_history(&e->s.ctl, t->name, history, err));
cleanup:
  return rc;
}

/* start_after: batches up to it count as loaded. Applied once, while the
 * control table is below it. */
static int apply_start_after(job_state *js, floe_control_rows *history, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_commit_list commits;
  int rc = FLOE_OK;
  memset(&commits, 0, sizeof commits);
  const floe_control_row *latest = floe_control_rows_latest(history);
  if (!t->has_start_after || (latest != NULL && latest->batch_sk >= t->start_after))
    return FLOE_OK;
  floe_log(FLOE_LOG_INFO, "start_after", "table=%s batch_sk=%lld control_max=%lld dry_run=%d",
           t->name, (long long)t->start_after, latest ? (long long)latest->batch_sk : 0LL,
           (int)e->dry_run);
  if (e->dry_run || js->table == NULL) return FLOE_OK;
  FLOE_TRY(floe_commits_collect(floe_table_metadata(js->table), t->name, &commits, err));
  const floe_commit_info *committed = floe_commits_latest(&commits);
  int64_t low = committed != NULL ? committed->batch_high : 0;
  FLOE_TRY(floe_control_insert(&e->s.ctl, t->name, t->start_after, e->run_id, NULL, "baseline",
                               err));
  FLOE_TRY(baseline_commit(js, low, t->start_after, "start_after", false, err));
  floe_control_rows_free(history);
  FLOE_TRY(floe_control_history(&e->s.ctl, t->name, history, err));
cleanup:
  floe_commit_list_free(&commits);
  return rc;
}

/* floe control set: the user's last batch, recorded now. */
static int control_set(job_state *js, const floe_control_rows *history, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_commit_list commits;
  char reason[512];
  int rc = FLOE_OK;
  memset(&commits, 0, sizeof commits);
  int64_t n = e->opt->set_batch_sk;
  const floe_control_row *latest = floe_control_rows_latest(history);
  if (js->table != NULL)
    FLOE_TRY(floe_commits_collect(floe_table_metadata(js->table), t->name, &commits, err));
  const floe_commit_info *committed = floe_commits_latest(&commits);
  int64_t control_max = latest ? latest->batch_sk : 0;
  int64_t committed_high = committed ? committed->batch_high : 0;
  if (n <= control_max || n <= committed_high) {
    rc = floe_error_set(err, FLOE_EINVAL,
                        "batch_sk %lld is not above the table's last batch (control max %lld, "
                        "committed %lld): the control table only moves forward; to load "
                        "batches again use mode overwrite with overwrite: range",
                        (long long)n, (long long)control_max, (long long)committed_high);
    goto cleanup;
  }
  snprintf(reason, sizeof reason, "control_set: %s",
           e->opt->set_reason && e->opt->set_reason[0] ? e->opt->set_reason : "(no reason)");
  floe_log(FLOE_LOG_INFO, "control_set", "table=%s batch_sk=%lld reason=%s dry_run=%d",
           t->name, (long long)n, reason, (int)e->dry_run);
  js->rep->has_range = true;
  js->rep->batch_low = committed_high;
  js->rep->batch_high = n;
  if (e->dry_run || js->table == NULL) {
    js->rep->status = FLOE_RUN_PLANNED;
    goto cleanup;
  }
  FLOE_TRY(floe_control_insert(&e->s.ctl, t->name, n, e->run_id, NULL, "manual", err));
  floe_debug_crash_point("after_control_set_insert");
  FLOE_TRY(baseline_commit(js, committed_high, n, reason, false, err));
  js->rep->status = FLOE_RUN_OK;
  set_message(js->rep, reason);
cleanup:
  floe_commit_list_free(&commits);
  return rc;
}

static int load_group(job_state *js, int64_t batch_sk, const char *watermark, unit *units,
                      int n_units, floe_error *err) {
  engine *e = js->e;
  const char *name = js->job.t->name;
  int rc = check_interrupt(e, err);
  if (rc < 0) return rc;
  rc = floe_control_insert(&e->s.ctl, name, batch_sk, e->run_id, watermark, "load", err);
  if (rc < 0) return rc;
  floe_log(FLOE_LOG_INFO, "control_insert", "table=%s batch_sk=%lld watermark=%s run_id=%s",
           name, (long long)batch_sk, watermark ? watermark : "", e->run_id);
  floe_debug_crash_point("after_control_insert");
  for (int i = 0; i < n_units && rc == FLOE_OK; i++) {
    rc = load_unit(js, &units[i], err);
    if (rc == FLOE_ECONFLICT && js->job.t->mode == FLOE_MODE_MERGE) {
      /* A merge that lost its commit to a concurrent one (typically a
       * compaction that replaced the data files its deletes name) is
       * redone once on the table as it is now: read the range again, match
       * it against the current files, commit. Nothing of the lost attempt
       * was committed and the control row is still this run's, so the
       * range still lands exactly once; a second conflict fails it as
       * before (compensated, the next run loads it). */
      floe_log(FLOE_LOG_WARN, "merge_redo", "table=%s batch_sk_low=%lld batch_sk_high=%lld error=%s",
               name, (long long)units[i].batch_low, (long long)units[i].batch_high,
               err ? err->message : "");
      if (err) floe_error_init(err);
      rc = floe_table_refresh(js->table, err);
      if (rc == FLOE_OK) rc = load_unit(js, &units[i], err);
    }
  }
  if (rc == FLOE_OK) return FLOE_OK;

  floe_debug_crash_point("during_compensation");
  floe_error cerr = {0};
  int64_t deleted = 0;
  int crc = floe_control_compensate(&e->s.ctl, name, batch_sk, e->run_id, &deleted, &cerr);
  floe_log(FLOE_LOG_ERROR, "compensate",
           "table=%s batch_sk=%lld batch_sk_low=%lld deleted=%lld ok=%d error=%s", name,
           (long long)batch_sk, (long long)units[0].batch_low, (long long)deleted, crc == 0,
           err ? err->message : "");
  char range[160];
  if (units[0].wm_high != NULL)
    snprintf(range, sizeof range, "cursor range (%s, %s]",
             units[0].wm_low ? units[0].wm_low : "-inf", watermark ? watermark : "");
  else
    snprintf(range, sizeof range, "batch range (%lld, %lld]", (long long)units[0].batch_low,
             (long long)batch_sk);
  if (crc < 0)
    floe_error_prefix(err, "%s failed and its control row could not be deleted (%s; the next "
                           "run repairs it)",
                      range, cerr.message);
  else
    floe_error_prefix(err, "%s failed (control row compensated)", range);
  return rc;
}

/* ---- per table -------------------------------------------------------------- */

/* Distinct partition values (as text) of the rows under `f`. */
static int partition_values(job_state *js, const floe_unit_filter *f, char ***out, size_t *n_out,
                            floe_error *err) {
  floe_buf sql;
  floe_source_param params[5];
  size_t n_params = 0;
  floe_source_stream *stream = NULL;
  struct ArrowArray batch = {0};
  char **values = NULL;
  size_t n = 0, cap = 0;
  int rc = FLOE_OK;
  floe_buf_init(&sql);
  const char *d = floe_source_dialect(js->e->s.src);
  floe_unit_filter g = *f;
  g.has_part = false;
  if (floe_buf_appendf(&sql, "SELECT DISTINCT CAST(%s AS %s) FROM %s", js->job.part_sql,
                       strcmp(d, "snowflake") == 0 ? "VARCHAR" : "TEXT", js->job.source_sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  FLOE_TRY(floe_job_where(&js->job, &g, &sql, params, &n_params, err));
  if (floe_buf_appendf(&sql, " ORDER BY 1") < 0 || floe_buf_terminate(&sql) < 0) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  floe_source_column col;
  memset(&col, 0, sizeof col);
  col.name = (char *)"value";
  col.declared_type = (char *)"";
  col.nullable = true;
  col.type = floe_arrow_type_of(FLOE_ARROW_UTF8);
  floe_source_query_spec qs;
  memset(&qs, 0, sizeof qs);
  qs.sql = (const char *)sql.data;
  qs.params = params;
  qs.n_params = n_params;
  qs.columns = &col;
  qs.n_columns = 1;
  FLOE_TRY(floe_source_query(js->e->s.src, &qs, &stream, err));
  const struct ArrowSchema *schema = floe_source_stream_schema(stream);
  for (;;) {
    rc = floe_source_stream_next(stream, &batch, err);
    if (rc < 0) goto cleanup;
    if (rc == 0) break;
    floe_arrow_view v;
    FLOE_TRY(floe_arrow_view_init(&v, schema->children[0], batch.children[0], err));
    for (int64_t r = 0; r < batch.length; r++) {
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        char **grown = floe_realloc(values, ncap * sizeof *grown);
        if (grown == NULL) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
        values = grown;
        cap = ncap;
      }
      values[n] = NULL;
      if (!floe_arrow_view_is_null(&v, r)) {
        size_t len;
        const uint8_t *b = floe_arrow_view_bytes(&v, r, &len);
        if ((values[n] = floe_strndup((const char *)b, len)) == NULL) {
          rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
          goto cleanup;
        }
      }
      n++;
    }
    floe_arrow_array_release(&batch);
  }
  rc = FLOE_OK;
cleanup:
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  floe_buf_free(&sql);
  if (rc < 0) {
    for (size_t i = 0; i < n; i++) floe_free(values[i]);
    floe_free(values);
    values = NULL;
    n = 0;
  }
  *out = values;
  *n_out = n;
  return rc;
}

static void free_values(char **values, size_t n) {
  for (size_t i = 0; i < n; i++) floe_free(values[i]);
  floe_free(values);
}

/* Loads (low, high] (or the cursor range) as one group: one unit, or for the
 * partition strategy one unit per partition value with rows in the range. */
static int load_range(job_state *js, int64_t batch_sk, int64_t low, int64_t high, bool has_low,
                      bool has_high, const char *wm_low, const char *wm_high, floe_error *err) {
  const floe_config_table *t = js->job.t;
  unit base;
  memset(&base, 0, sizeof base);
  base.batch_low = low;
  base.batch_high = batch_sk;
  base.filter.has_low = has_low;
  base.filter.low = low;
  base.filter.has_high = has_high;
  base.filter.high = high;
  base.filter.wm_low = wm_low;
  base.filter.wm_high = wm_high;
  base.wm_low = wm_low;
  base.wm_high = wm_high;
  bool first = !js->rep->has_range;
  if (first) js->rep->batch_low = low;
  js->rep->has_range = true;
  js->rep->batch_high = batch_sk;
  if (wm_high != NULL) {
    if (first && wm_low != NULL) js->rep->watermark_low = floe_strdup(wm_low);
    floe_free(js->rep->watermark_high);
    js->rep->watermark_high = floe_strdup(wm_high);
  }
  if (t->strategy == FLOE_STRATEGY_FULL) {
    /* The whole table as of high: no low bound. */
    base.filter.has_low = false;
    base.filter.wm_low = NULL;
  }
  if (js->e->dry_run) {
    int64_t count = 0;
    int rc = floe_job_count(&js->job, &base.filter, &count, err);
    if (rc < 0) return rc;
    js->rep->rows_source += count;
    floe_log(FLOE_LOG_INFO, "plan", "table=%s batch_sk=%lld batch_sk_low=%lld rows=%lld dry_run=1",
             t->name, (long long)batch_sk, (long long)low, (long long)count);
    return FLOE_OK;
  }
  if (t->strategy != FLOE_STRATEGY_PARTITION) return load_group(js, batch_sk, wm_high, &base, 1, err);

  char **values = NULL;
  size_t n = 0;
  int rc = partition_values(js, &base.filter, &values, &n, err);
  if (rc < 0) return rc;
  unit *units = floe_calloc(n + 1, sizeof *units);
  if (units == NULL) {
    free_values(values, n);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    units[i] = base;
    /* The whole partition up to high: dynamic overwrite replaces it. */
    units[i].filter.has_low = false;
    units[i].filter.wm_low = NULL;
    units[i].filter.has_part = true;
    units[i].filter.part_value = values[i];
    units[i].part_value = values[i] ? values[i] : "null";
    units[i].part_i = (int)i + 1;
    units[i].part_n = (int)n;
  }
  if (n == 0) {
    /* Rows filtered away: record the range with an empty commit. */
    units[0] = base;
    n = 0;
    rc = load_group(js, batch_sk, wm_high, units, 1, err);
  } else {
    rc = load_group(js, batch_sk, wm_high, units, (int)n, err);
  }
  floe_free(units);
  free_values(values, n);
  return rc;
}

/* The next chunk's high end after `low`: the next batch value, or the
 * batch value N rows on. */
static int next_chunk_batch(job_state *js, int64_t low, int64_t max, int64_t *out, floe_error *err) {
  const floe_config_table *t = js->job.t;
  floe_buf sql;
  floe_source_param params[6];
  size_t n = 0;
  bool is_null = false;
  floe_unit_filter f;
  memset(&f, 0, sizeof f);
  f.has_low = f.has_high = true;
  f.low = low;
  f.high = max;
  floe_buf_init(&sql);
  int rc = FLOE_OK;
  if (t->chunk.by == FLOE_CHUNK_BY_ROWS)
    rc = floe_buf_appendf(&sql, "SELECT %s FROM %s", js->job.batch_sql, js->job.source_sql);
  else
    rc = floe_buf_appendf(&sql, "SELECT min(%s) FROM %s", js->job.batch_sql, js->job.source_sql);
  if (rc < 0) goto nomem;
  FLOE_TRY(floe_job_where(&js->job, &f, &sql, params, &n, err));
  if (t->chunk.by == FLOE_CHUNK_BY_ROWS &&
      floe_buf_appendf(&sql, " ORDER BY %s LIMIT 1 OFFSET %lld", js->job.batch_sql,
                       (long long)(t->chunk.rows - 1)) < 0)
    goto nomem;
  if (floe_buf_terminate(&sql) < 0) goto nomem;
  FLOE_TRY(floe_source_query_int64(js->e->s.src, (const char *)sql.data, params, n, out, &is_null,
                                   err));
  if (is_null) *out = max;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_buf_free(&sql);
  return rc;
}

static int next_chunk_cursor(job_state *js, const char *low, const char *max, char **out,
                             floe_error *err) {
  floe_buf sql;
  floe_source_param params[6];
  size_t n = 0;
  floe_unit_filter f;
  memset(&f, 0, sizeof f);
  f.wm_low = low;
  f.wm_high = max;
  floe_buf_init(&sql);
  const char *d = floe_source_dialect(js->e->s.src);
  int rc = FLOE_OK;
  *out = NULL;
  if (floe_buf_appendf(&sql, "SELECT CAST(%s AS %s) FROM %s", js->job.cursor_sql,
                       strcmp(d, "snowflake") == 0 ? "VARCHAR" : "TEXT", js->job.source_sql) < 0)
    goto nomem;
  FLOE_TRY(floe_job_where(&js->job, &f, &sql, params, &n, err));
  if (floe_buf_appendf(&sql, " ORDER BY %s LIMIT 1 OFFSET %lld", js->job.cursor_sql,
                       (long long)(js->job.t->chunk.rows - 1)) < 0 ||
      floe_buf_terminate(&sql) < 0)
    goto nomem;
  FLOE_TRY(floe_source_query_text(js->e->s.src, (const char *)sql.data, params, n, out, err));
  if (*out == NULL && (*out = floe_strdup(max)) == NULL) goto nomem;
  goto cleanup;
nomem:
  rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
cleanup:
  floe_buf_free(&sql);
  return rc;
}

/* late_rows: reload. Append and overwrite tables: each late range
 * (low, high] is read again and replaces the table's rows of that range
 * (an overwrite of the range, as overwrite: range does). Merge tables: the
 * rows of (lowest late low, control max] are merged again in batch order,
 * so every key touched since ends as the latest change left it (merging a
 * change again is idempotent; merging only the late range would put an
 * older change over a newer one). No control row: the control max does
 * not move; each commit is conditional on the committed watermark still
 * ending at it, and a crash before a commit leaves the range to the next
 * run's check. */
static int reload_late(job_state *js, int64_t control_max, const floe_late_rows *late,
                       floe_error *err) {
  const floe_config_table *t = js->job.t;
  bool merge = t->mode == FLOE_MODE_MERGE;
  for (size_t i = 0; i < late->n_ranges; i++) {
    /* A baseline's batches were never floe's to load: reported only. */
    bool blocked = late->ranges[i].baseline;
    for (size_t k = 0; merge && !blocked && k < late->n_committed; k++)
      blocked = late->committed[k].baseline && late->committed[k].low >= late->ranges[i].low;
    if (blocked) {
      floe_log(FLOE_LOG_WARN, "late_rows_not_reloaded",
               "table=%s batch_sk_low=%lld batch_sk_high=%lld message=\"%s\"", t->name,
               (long long)late->ranges[i].low, (long long)late->ranges[i].high,
               late->ranges[i].baseline
                   ? "batches recorded as loaded by a baseline (start_after, an adopted table, "
                     "a control row of yours) are not reloaded"
                   : "a merge reload would merge again the batches of a baseline above it");
      continue;
    }
    unit u;
    memset(&u, 0, sizeof u);
    u.reload = true;
    u.reload_max = control_max;
    u.batch_low = late->ranges[i].low;
    u.batch_high = merge ? control_max : late->ranges[i].high;
    for (size_t k = 0; k < late->n_committed; k++)
      if (late->committed[k].low >= u.batch_low && late->committed[k].high <= u.batch_high)
        u.reload_loaded += late->committed[k].loaded_rows;
    u.filter.has_low = u.filter.has_high = true;
    u.filter.low = u.batch_low;
    u.filter.high = u.batch_high;
    int64_t written = js->rep->rows_written, commits = js->rep->commits;
    int rc = load_unit(js, &u, err);
    if (rc < 0) {
      floe_error_prefix(err, "late_rows: reload (%lld, %lld]", (long long)u.batch_low,
                        (long long)u.batch_high);
      return rc;
    }
    /* A reload is not the run's load: its rows are reported apart. */
    int64_t rows = js->rep->rows_written - written;
    js->rep->rows_written = written;
    js->rep->commits = commits;
    js->rep->rows_reloaded += rows;
    floe_log(FLOE_LOG_WARN, "late_rows_reloaded",
             "table=%s batch_sk_low=%lld batch_sk_high=%lld rows=%lld loaded_before=%lld "
             "snapshot=%lld",
             t->name, (long long)u.batch_low, (long long)u.batch_high, (long long)rows,
             (long long)u.reload_loaded, (long long)js->rep->snapshot_id);
    if (merge) break; /* one merge from the lowest late range covers the rest */
  }
  return FLOE_OK;
}

/* Rows floe will never load (late.c), looked for on every run of a batch
 * table before anything loads: logged at warning level and reported;
 * late_rows: fail fails the table (exit code 5) before any control row is
 * inserted; reload reloads the late ranges. */
static int check_late_rows(job_state *js, const floe_batch_totals *totals, floe_error *err) {
  const floe_config_table *t = js->job.t;
  floe_late_rows late;
  int rc = FLOE_OK;
  int64_t control_max = totals->control_max;
  const char *column = js->job.desc.columns[js->job.batch_idx].name;
  FLOE_TRY(floe_late_rows_find(&js->job, js->table ? floe_table_metadata(js->table) : NULL,
                               totals, &late, err));
  if (!late.checked) goto cleanup;
  js->rep->rows_invalid = late.rows_invalid;
  js->rep->rows_late = late.rows_late;
  if (late.n_ranges > 0) {
    js->rep->late_ranges = floe_calloc(late.n_ranges, sizeof *js->rep->late_ranges);
    if (js->rep->late_ranges == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    memcpy(js->rep->late_ranges, late.ranges, late.n_ranges * sizeof *late.ranges);
    js->rep->n_late_ranges = late.n_ranges;
  }
  if (late.rows_invalid > 0)
    floe_log(FLOE_LOG_WARN, "invalid_rows",
             "table=%s rows=%lld message=\"rows whose %s is NULL, 0 or negative are never "
             "loaded\"",
             t->name, (long long)late.rows_invalid, column);
  for (size_t i = 0; i < late.n_ranges; i++)
    floe_log(FLOE_LOG_WARN, "late_rows",
             "table=%s rows=%lld batch_sk_low=%lld batch_sk_high=%lld source_rows=%lld "
             "loaded_rows=%lld message=\"rows arrived in a batch range after it was loaded\"",
             t->name, (long long)(late.ranges[i].source_rows - late.ranges[i].loaded_rows),
             (long long)late.ranges[i].low, (long long)late.ranges[i].high,
             (long long)late.ranges[i].source_rows, (long long)late.ranges[i].loaded_rows);
  if (t->late_rows == FLOE_LATE_ROWS_FAIL && (late.rows_invalid > 0 || late.rows_late > 0)) {
    char where[160] = "";
    if (late.n_ranges > 0)
      snprintf(where, sizeof where, " (first in batch range (%lld, %lld])",
               (long long)late.ranges[0].low, (long long)late.ranges[0].high);
    js->rep->late_rows_fails = true;
    rc = floe_error_set(err, FLOE_EINVAL,
                        "late_rows: fail: %lld source row(s) with a NULL, 0 or negative %s and "
                        "%lld late row(s) in loaded batch ranges%s; nothing was loaded",
                        (long long)late.rows_invalid, column,
                        (long long)(late.rows_late > 0 ? late.rows_late : 0), where);
    goto cleanup;
  }
  if (t->late_rows == FLOE_LATE_ROWS_RELOAD && late.n_ranges > 0 && !js->e->dry_run)
    FLOE_TRY(reload_late(js, control_max, &late, err));
cleanup:
  floe_late_rows_free(&late);
  return rc;
}

static void nothing_new(job_state *js, const char *why) {
  js->rep->status = FLOE_RUN_NOTHING_NEW;
  set_message(js->rep, why);
  floe_log(FLOE_LOG_INFO, "nothing_new", "table=%s reason=%s", js->job.t->name, why);
}

/* The source's max is below what the control table says was loaded (rows
 * deleted, batch numbers reset, the table reloaded): the contract says
 * "else alert the user", so this is not a routine "nothing new". Nothing
 * is loaded; on_source_behind: fail makes the run exit 4. */
static void source_behind(job_state *js, const char *why) {
  const floe_config_table *t = js->job.t;
  bool fails = t->on_source_behind == FLOE_SOURCE_BEHIND_FAIL;
  js->rep->status = FLOE_RUN_SOURCE_BEHIND;
  js->rep->source_behind_fails = fails;
  char *text = floe_replicate_strdupf("source behind the control table: %s (rows deleted, "
                                      "batch numbers reset or the table reloaded?); nothing "
                                      "loaded",
                                      why);
  set_message(js->rep, text ? text : why);
  floe_free(text);
  floe_log(fails ? FLOE_LOG_ERROR : FLOE_LOG_WARN, "source_behind",
           "table=%s reason=%s on_source_behind=%s", t->name, why, fails ? "fail" : "warn");
}

/* One change-capture load under its own control row (batch_sk a load
 * counter; watermark the CHANGES end), or its plan in a dry run. */
static int load_cdc(job_state *js, unit *u, const char *watermark, floe_error *err) {
  if (!js->rep->has_range) js->rep->batch_low = u->batch_low;
  js->rep->has_range = true;
  js->rep->batch_high = u->batch_high;
  if (!js->e->dry_run) return load_group(js, u->batch_high, watermark, u, 1, err);
  int64_t count = 0;
  int rc = floe_cdc_query_count(&js->job, u->cdc, &count, err);
  if (rc < 0) return rc;
  js->rep->rows_source += count;
  floe_log(FLOE_LOG_INFO, "plan", "table=%s batch_sk=%lld batch_sk_low=%lld rows=%lld dry_run=1",
           js->job.t->name, (long long)u->batch_high, (long long)u->batch_low, (long long)count);
  return FLOE_OK;
}

/* Snowflake change capture (sf_cdc.c). The first load copies the table as
 * inserts (for CHANGES, from a position read before the copy, so changes
 * during the copy are applied again later: merging a net change twice is
 * harmless). Then a stream table merges one ledger batch: a batch staged
 * by an earlier run and not committed yet (ledger max > committed) is
 * finished; otherwise the stream is consumed into the ledger first. A
 * CHANGES table merges the changes from the last commit's floe.changes.end
 * to now. */
static int run_sf_cdc(job_state *js, int64_t prev, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  bool is_stream = t->cdc.type == FLOE_CDC_STREAM;
  floe_cdc_ledger ledger;
  floe_cdc_query q;
  unit u;
  char *start = NULL, *end = NULL;
  int64_t staged = 0, pending = 0, batch = 0;
  bool copied = false;
  int rc = FLOE_OK;
  memset(&ledger, 0, sizeof ledger);
  memset(&q, 0, sizeof q);
  memset(&u, 0, sizeof u);
  u.cdc = &q;
  if (is_stream) {
    FLOE_TRY(floe_cdc_ledger_open(&ledger, &js->job, err));
    if (!e->dry_run) {
      FLOE_TRY(floe_cdc_ledger_create(&ledger, &js->job, err));
      FLOE_TRY(floe_cdc_ledger_max(&ledger, &js->job, &staged, err));
    } else {
      floe_error ignored = {0}; /* a dry run before the first run: no ledger yet */
      if (floe_cdc_ledger_max(&ledger, &js->job, &staged, &ignored) < 0) staged = 0;
    }
  } else {
    FLOE_TRY(floe_cdc_committed_position(js->table ? floe_table_metadata(js->table) : NULL,
                                         t->name, &start, err));
  }

  if (is_stream ? prev == 0 : start == NULL) {
    /* Ledger batches at or below the copy's number are covered by it. */
    batch = (is_stream && staged > prev ? staged : prev) + 1;
    if (!is_stream) {
      FLOE_TRY(floe_cdc_now(&js->job, &end, err));
      /* Fail on this run, not on every later one, when the table does not
       * track changes: an empty window at the copy's position. */
      FLOE_TRY(floe_cdc_changes_probe(&js->job, end, &q, err));
      rc = floe_cdc_query_count(&js->job, &q, &pending, err);
      floe_cdc_query_free(&q);
      if (rc < 0) {
        floe_error_prefix(err, "cdc changes needs change tracking on the table (ALTER TABLE %s "
                               "SET CHANGE_TRACKING = TRUE)",
                          js->job.source_sql);
        goto cleanup;
      }
    }
    FLOE_TRY(floe_cdc_copy_query(&js->job, &q, err));
    u.batch_low = prev;
    u.batch_high = batch;
    u.changes_end = u.wm_high = end;
    floe_log(FLOE_LOG_INFO, "cdc_copy", "table=%s cdc=%s batch_sk=%lld position=%s", t->name,
             floe_config_cdc_type_name(t->cdc.type), (long long)batch, end ? end : "");
    FLOE_TRY(load_cdc(js, &u, end, err));
    floe_cdc_query_free(&q);
    copied = true;
    prev = batch;
    if (!is_stream || e->dry_run) goto cleanup; /* the CHANGES window starts at the copy */
  }

  memset(&u, 0, sizeof u);
  u.cdc = &q;
  if (is_stream) {
    if (staged > prev) {
      batch = staged;
      floe_log(FLOE_LOG_WARN, "stream_resume",
               "table=%s stream=%s ledger=%s batch_sk=%lld committed=%lld", t->name,
               t->cdc.stream, ledger.ledger_name, (long long)batch, (long long)prev);
    } else {
      FLOE_TRY(floe_cdc_stream_pending(&ledger, &js->job, &pending, err));
      batch = prev + 1;
      if (pending > 0 && e->dry_run) {
        js->rep->has_range = true;
        js->rep->batch_low = prev;
        js->rep->batch_high = batch;
        js->rep->rows_source += pending;
        floe_log(FLOE_LOG_INFO, "plan", "table=%s stream=%s batch_sk=%lld rows=%lld dry_run=1",
                 t->name, t->cdc.stream, (long long)batch, (long long)pending);
        goto cleanup;
      }
      if (pending > 0) {
        FLOE_TRY(floe_cdc_stream_stage(&ledger, &js->job, prev, batch, err));
        FLOE_TRY(floe_cdc_ledger_rows(&ledger, &js->job, batch, &pending, err));
        floe_log(FLOE_LOG_INFO, "stream_consume", "table=%s stream=%s ledger=%s batch_sk=%lld rows=%lld",
                 t->name, t->cdc.stream, ledger.ledger_name, (long long)batch, (long long)pending);
        floe_debug_crash_point("after_stream_consume");
      }
      if (pending == 0) {
        if (!copied) {
          char why[256];
          snprintf(why, sizeof why, "stream %s has no changes", t->cdc.stream);
          nothing_new(js, why);
        }
        goto cleanup;
      }
    }
    FLOE_TRY(floe_cdc_ledger_query(&js->job, &ledger, prev, batch, &q, err));
    u.batch_low = prev;
    u.batch_high = batch;
    FLOE_TRY(load_cdc(js, &u, NULL, err));
  } else {
    FLOE_TRY(floe_cdc_now(&js->job, &end, err));
    FLOE_TRY(floe_cdc_changes_query(&js->job, start, end, &q, err));
    FLOE_TRY(floe_cdc_query_count(&js->job, &q, &pending, err));
    if (pending == 0) {
      char why[256];
      snprintf(why, sizeof why, "no changes to %s between %s and %s", js->job.source_sql, start,
               end);
      nothing_new(js, why);
      goto cleanup;
    }
    u.batch_low = prev;
    u.batch_high = prev + 1;
    u.changes_start = u.wm_low = start;
    u.changes_end = u.wm_high = end;
    FLOE_TRY(load_cdc(js, &u, end, err));
  }
cleanup:
  floe_cdc_query_free(&q);
  floe_cdc_ledger_close(&ledger);
  floe_free(start);
  floe_free(end);
  return rc;
}

static int run_table(job_state *js, floe_error *err) {
  engine *e = js->e;
  const floe_config_table *t = js->job.t;
  floe_control_rows history;
  char *src_wm = NULL, *chunk_wm = NULL, *prev_wm_copy = NULL;
  memset(&history, 0, sizeof history);
  int rc = FLOE_OK;
  bool locked = false;

  if (!e->dry_run && !e->ctl_exists) {
    FLOE_TRY(floe_control_create(&e->s.ctl, err));
    e->ctl_exists = true;
  }
  /* One run per table at a time (lock.c): reconciliation below takes a
   * control row above the last commit for a dead run's. */
  if (!e->dry_run) {
    FLOE_TRY(floe_table_lock_acquire(&e->s.ctl, t->name, e->run_id, err));
    locked = true;
  }
  FLOE_TRY(open_table(js, err));
  if (t->n_checks > 0) {
    bool sf_cdc = t->cdc.type == FLOE_CDC_STREAM || t->cdc.type == FLOE_CDC_CHANGES;
    int64_t op = sf_cdc ? js->job.desc.n_columns
                 : t->cdc.type == FLOE_CDC_OP_COLUMN ? js->job.op_idx
                                                     : -1;
    FLOE_TRY(floe_quality_open(&js->quality, t->checks, t->n_checks, &js->job.desc, op,
                               sf_cdc ? "D" : t->cdc.delete_value, err));
    FLOE_TRY(quality_for_mode(js, err));
    if (t->quarantine_name != NULL && !e->dry_run)
      FLOE_TRY(side_open(js, &js->quarantine, "quarantine", t->quarantine_namespace,
                         t->quarantine_name, quarantine_columns, 3, -1, err));
  }
  if (t->changelog_name != NULL && !e->dry_run)
    FLOE_TRY(side_open(js, &js->changelog, "changelog", t->changelog_namespace, t->changelog_name,
                       changelog_columns, 5, js->job.op_idx, err));

  if (e->ctl_exists || !e->dry_run) {
    FLOE_TRY(floe_control_history(&e->s.ctl, t->name, &history, err));
    floe_log(FLOE_LOG_INFO, "control_read", "table=%s rows=%zu", t->name, history.n);
    int64_t foreign = 0;
    FLOE_TRY(foreign_rows(js, &history, &foreign, err));
    if (foreign > 0) FLOE_TRY(adopt_existing(js, &history, foreign, err));
    FLOE_TRY(reconcile(js, &history, err));
    if (e->opt != NULL && e->opt->control_set) {
      FLOE_TRY(control_set(js, &history, err));
      goto cleanup;
    }
    FLOE_TRY(apply_start_after(js, &history, err));
  }
  const floe_control_row *latest = floe_control_rows_latest(&history);
  if (latest == NULL) {
    /* Case 1: first sight. */
    floe_log(FLOE_LOG_INFO, "control_insert", "table=%s batch_sk=0 kind=init dry_run=%d", t->name,
             (int)e->dry_run);
    if (!e->dry_run)
      FLOE_TRY(floe_control_insert(&e->s.ctl, t->name, 0, e->run_id, NULL, "init", err));
  }
  int64_t prev = latest ? latest->batch_sk : 0;
  if (latest != NULL && latest->watermark != NULL &&
      (prev_wm_copy = floe_strdup(latest->watermark)) == NULL) {
    rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
    goto cleanup;
  }
  const char *prev_wm = prev_wm_copy;
  floe_log(FLOE_LOG_INFO, "plan", "table=%s strategy=%s mode=%s control_max=%lld watermark=%s",
           t->name, floe_config_strategy_name(t->strategy), floe_config_mode_name(t->mode),
           (long long)prev, prev_wm ? prev_wm : "");

  if (t->cdc.type == FLOE_CDC_STREAM || t->cdc.type == FLOE_CDC_CHANGES) {
    FLOE_TRY(run_sf_cdc(js, prev, err));
  } else if (js->job.batch_idx >= 0) {
    /* One statement reads max(batch) and the late-rows check's counts:
     * the only scan of the source before the load. */
    floe_batch_totals totals;
    bool count_invalid = false, count_range = false;
    floe_late_rows_counts_needed(&js->job, js->table ? floe_table_metadata(js->table) : NULL, prev,
                                 &count_invalid, &count_range);
    FLOE_TRY(floe_job_batch_totals(&js->job, count_invalid, count_range, prev, &totals, err));
    int64_t src_max = totals.max;
    bool is_null = totals.max_is_null;
    FLOE_TRY(check_late_rows(js, &totals, err));
    if (is_null || src_max <= prev) {
      char why[160];
      snprintf(why, sizeof why, "source max(%s) = %s, control max = %lld",
               js->job.desc.columns[js->job.batch_idx].name, is_null ? "null" : "", (long long)prev);
      if (!is_null)
        snprintf(why, sizeof why, "source max(%s) = %lld, control max = %lld",
                 js->job.desc.columns[js->job.batch_idx].name, (long long)src_max, (long long)prev);
      /* Strategy full copies the whole table whatever its max: only the
       * incremental strategies lose rows when the source moved back. */
      if ((is_null ? prev > 0 : src_max < prev) && t->strategy != FLOE_STRATEGY_FULL)
        source_behind(js, why);
      else
        nothing_new(js, why);
      if (js->rep->rows_reloaded > 0) js->rep->status = FLOE_RUN_OK;
      goto cleanup;
    }
    if (t->strategy == FLOE_STRATEGY_CHUNKED && !e->dry_run) {
      int64_t low = prev;
      while (low < src_max) {
        int64_t high = 0;
        FLOE_TRY(next_chunk_batch(js, low, src_max, &high, err));
        if (high <= low) high = src_max;
        FLOE_TRY(load_range(js, high, low, high, true, true, NULL, NULL, err));
        low = high;
      }
    } else {
      FLOE_TRY(load_range(js, src_max, prev, src_max, true, true, NULL, NULL, err));
    }
  } else if (js->job.cursor_idx >= 0) {
    FLOE_TRY(floe_job_max_cursor(&js->job, &src_wm, err));
    int64_t newer = 0;
    if (src_wm != NULL && prev_wm != NULL) {
      floe_unit_filter f;
      memset(&f, 0, sizeof f);
      f.wm_low = prev_wm;
      FLOE_TRY(floe_job_count(&js->job, &f, &newer, err));
    }
    if (src_wm == NULL || (prev_wm != NULL && newer == 0)) {
      char why[256];
      snprintf(why, sizeof why, "source max(%s) = %s, control watermark = %s",
               js->job.desc.columns[js->job.cursor_idx].name, src_wm ? src_wm : "null",
               prev_wm ? prev_wm : "none");
      /* No row above the watermark and a max other than it: the max is
       * below the watermark (or the source is empty). */
      if (prev_wm != NULL && (src_wm == NULL || strcmp(src_wm, prev_wm) != 0) &&
          t->strategy != FLOE_STRATEGY_FULL)
        source_behind(js, why);
      else
        nothing_new(js, why);
      goto cleanup;
    }
    if (t->strategy == FLOE_STRATEGY_CHUNKED && !e->dry_run) {
      char *low = prev_wm ? floe_strdup(prev_wm) : NULL;
      int64_t counter = prev;
      for (;;) {
        FLOE_TRY(next_chunk_cursor(js, low, src_wm, &chunk_wm, err));
        counter++;
        rc = load_range(js, counter, counter - 1, counter, false, false, low, chunk_wm, err);
        floe_free(low);
        low = chunk_wm;
        chunk_wm = NULL;
        if (rc < 0) break;
        if (strcmp(low, src_wm) == 0) break;
      }
      floe_free(low);
      if (rc < 0) goto cleanup;
    } else {
      FLOE_TRY(load_range(js, prev + 1, prev, prev + 1, false, false, prev_wm, src_wm, err));
    }
  } else {
    /* full without a batch column: a load counter, every run. */
    FLOE_TRY(load_range(js, prev + 1, prev, prev + 1, false, false, NULL, NULL, err));
  }
  if (js->rep->status != FLOE_RUN_NOTHING_NEW && js->rep->status != FLOE_RUN_SOURCE_BEHIND)
    js->rep->status = e->dry_run ? FLOE_RUN_PLANNED : js->rc_mismatch ? FLOE_RUN_MISMATCH : FLOE_RUN_OK;
cleanup:
  /* The job's maintenance: still under the table's lock, so the next run
   * of this table waits rather than racing it (other writers may; the
   * operations validate against them). */
  if (rc == FLOE_OK && !e->dry_run && t->maintenance.enabled && js->table != NULL &&
      (js->rep->status == FLOE_RUN_OK || js->rep->status == FLOE_RUN_NOTHING_NEW)) {
    floe_error merr = {0};
    if (floe_replicate_maintain(js->table, &t->maintenance, &js->rep->maintenance, &merr) < 0)
      floe_log(FLOE_LOG_ERROR, "maintain_failed", "table=%s error=%s", t->name, merr.message);
  }
  if (locked) floe_table_lock_release(&e->s.ctl, t->name, e->run_id);
  floe_free(src_wm);
  floe_free(chunk_wm);
  floe_free(prev_wm_copy);
  floe_control_rows_free(&history);
  return rc;
}

/* ---- the run ------------------------------------------------------------------ */

static bool selected(const floe_run_options *o, const char *name) {
  if (o == NULL || o->n_tables == 0) return true;
  for (size_t i = 0; i < o->n_tables; i++)
    if (strcmp(o->tables[i], name) == 0) return true;
  return false;
}

int floe_replicate_check_tables(const floe_config *cfg, const floe_run_options *o,
                                floe_error *err);
int floe_replicate_check_tables(const floe_config *cfg, const floe_run_options *o,
                                floe_error *err) {
  for (size_t i = 0; o != NULL && i < o->n_tables; i++)
    if (floe_config_table_find(cfg, o->tables[i]) == NULL) {
      floe_buf names;
      floe_buf_init(&names);
      for (size_t k = 0; k < cfg->n_tables; k++)
        floe_buf_appendf(&names, "%s%s", k ? ", " : "", cfg->tables[k].name);
      floe_buf_terminate(&names);
      int rc = floe_error_set(err, FLOE_EINVAL, "--table %s: no such table in %s (tables: %s)",
                              o->tables[i], cfg->path ? cfg->path : "the configuration",
                              names.data ? (char *)names.data : "");
      floe_buf_free(&names);
      return rc;
    }
  return FLOE_OK;
}

int floe_replicate_run(const floe_config *cfg, const floe_run_options *options,
                       floe_run_report *out, floe_error *err) {
  engine e;
  int rc = FLOE_OK, worst = FLOE_OK;
  memset(&e, 0, sizeof e);
  memset(out, 0, sizeof *out);
  e.opt = options;
  e.dry_run = options != NULL && options->dry_run;
  out->command = "run";
  out->dry_run = e.dry_run;
  out->started_ms = floe_now_micros() / 1000;
  FLOE_TRY(floe_io_uuid4(e.run_id, err));
  memcpy(out->run_id, e.run_id, sizeof e.run_id);
  FLOE_TRY(floe_replicate_check_tables(cfg, options, err));
  FLOE_TRY(floe_session_open_run(&e.s, cfg, options ? options->interrupt : NULL, e.run_id, err));
  floe_log(FLOE_LOG_INFO, "run", "run_id=%s tables=%zu dry_run=%d", e.run_id, cfg->n_tables,
           (int)e.dry_run);
  /* The control table is created by the first table that loads (run_table),
   * not here: a job whose tables all fail discovery leaves the source as
   * it was. */
  FLOE_TRY(floe_control_exists(&e.s.ctl, &e.ctl_exists, err));

  for (size_t i = 0; i < cfg->n_tables; i++) {
    const floe_config_table *t = &cfg->tables[i];
    if (!selected(options, t->name)) continue;
    if (interrupted(&e)) {
      /* Tables not started are left alone: no report entry, no control
       * row; the next run loads them. */
      floe_log(FLOE_LOG_WARN, "interrupted", "run_id=%s next_table=%s", e.run_id, t->name);
      if (worst == FLOE_OK || worst == FLOE_EVALIDATE) {
        worst = floe_error_set(err, FLOE_ECANCELED, "run interrupted before table %s", t->name);
      }
      break;
    }
    floe_run_table *rep = NULL;
    FLOE_TRY(floe_run_report_add(out, &rep, err));
    job_state js;
    memset(&js, 0, sizeof js);
    js.e = &e;
    js.rep = rep;
    js.started_us = floe_now_micros();
    rep->name = floe_strdup(t->name);
    rep->target = floe_replicate_strdupf("%s.%s", t->target_namespace ? t->target_namespace : "default",
                                         t->target_name ? t->target_name : t->name);
    rep->strategy = floe_config_strategy_name(t->strategy);
    rep->mode = floe_config_mode_name(t->mode);
    rep->rows_late = -1;
    if (rep->name == NULL || rep->target == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    floe_error terr = {0};
    int trc = floe_job_open(&js.job, &e.s, t, &terr);
    if (trc == FLOE_OK) {
      trc = run_table(&js, &terr);
      if (trc < 0) floe_error_prefix(&terr, "table %s", t->name);
    }
    if (trc == FLOE_OK && js.rc_mismatch) trc = FLOE_EVALIDATE;
    if (js.quality != NULL) {
      floe_error qerr = {0};
      if (floe_quality_json(js.quality, &rep->checks, &qerr) < 0 && trc == FLOE_OK) {
        trc = qerr.code;
        terr = qerr;
      }
      floe_quality_free(js.quality);
      js.quality = NULL;
    }
    side_close(&js.quarantine);
    side_close(&js.changelog);
    if (trc < 0 && trc != FLOE_EVALIDATE) {
      rep->status = trc == FLOE_ECHECK ? FLOE_RUN_CHECK_FAILED : FLOE_RUN_FAILED;
      set_message(rep, terr.message);
      floe_log(FLOE_LOG_ERROR, "table_failed", "table=%s error=%s", t->name, terr.message);
      if (worst == FLOE_OK || worst == FLOE_EVALIDATE) {
        worst = trc;
        if (err) *err = terr;
      }
    } else if (trc == FLOE_EVALIDATE && worst == FLOE_OK) {
      worst = trc;
      floe_error_set(err, FLOE_EVALIDATE, "table %s: %s", t->name,
                     rep->message ? rep->message : "validation mismatch");
    }
    progress(&js, true);
    rep->seconds = seconds_since(js.started_us);
    floe_log(FLOE_LOG_INFO, "table_done",
             "table=%s status=%s rows=%lld files=%lld bytes=%lld commits=%lld seconds=%.3f",
             t->name, floe_run_status_name(rep->status), (long long)rep->rows_written,
             (long long)rep->files, (long long)rep->bytes, (long long)rep->commits, rep->seconds);
    floe_schema_drift_free(&js.map);
    floe_table_free(js.table);
    floe_job_close(&js.job);
  }
  rc = worst;
cleanup:
  out->finished_ms = floe_now_micros() / 1000;
  floe_session_close(&e.s);
  return rc;
}

/* ---- floe validate ---------------------------------------------------------- */

/* Checksums the source rows under `u`. */
static int source_checksum(job_state *js, const unit *u, floe_checksum *sum, floe_error *err) {
  floe_buf sql;
  floe_source_param params[5];
  size_t n_params = 0;
  floe_source_column *cols = NULL;
  floe_source_stream *stream = NULL;
  struct ArrowArray batch = {0};
  int rc = FLOE_OK;
  floe_buf_init(&sql);
  FLOE_TRY(select_sql(js, u, &sql, params, &n_params, err));
  FLOE_TRY(query_columns(js, &cols, err));
  floe_source_query_spec qs;
  memset(&qs, 0, sizeof qs);
  qs.sql = (const char *)sql.data;
  qs.params = params;
  qs.n_params = n_params;
  qs.columns = cols;
  qs.n_columns = js->job.desc.n_columns;
  qs.table = js->job.t->source ? js->job.t->source : js->job.t->name;
  FLOE_TRY(floe_source_query(js->e->s.src, &qs, &stream, err));
  for (;;) {
    rc = floe_source_stream_next(stream, &batch, err);
    if (rc < 0) goto cleanup;
    if (rc == 0) break;
    FLOE_TRY(floe_checksum_add(sum, floe_source_stream_schema(stream), &batch, err));
    floe_arrow_array_release(&batch);
  }
  rc = FLOE_OK;
cleanup:
  floe_arrow_array_release(&batch);
  floe_source_stream_free(stream);
  floe_free(cols);
  floe_buf_free(&sql);
  return rc;
}

static int validate_table(job_state *js, floe_error *err) {
  const floe_config_table *t = js->job.t;
  floe_commit_list commits;
  floe_checksum a, b;
  memset(&commits, 0, sizeof commits);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  int rc = FLOE_OK;
  char msg[512] = "";
  int64_t expired = 0;
  FLOE_TRY(open_table(js, err));
  if (js->table == NULL) {
    js->rep->status = FLOE_RUN_NOTHING_NEW;
    set_message(js->rep, "table not created yet");
    goto cleanup;
  }
  FLOE_TRY(floe_commits_collect(floe_table_metadata(js->table), t->name, &commits, err));
  const floe_commit_info *latest = floe_commits_latest(&commits);
  if (latest == NULL) {
    js->rep->status = FLOE_RUN_NOTHING_NEW;
    set_message(js->rep, "no floe commit on the table yet");
    goto cleanup;
  }
  bool is_merge = t->mode == FLOE_MODE_MERGE;
  bool whole = t->strategy == FLOE_STRATEGY_FULL;
  if (is_merge || t->strategy == FLOE_STRATEGY_PARTITION) {
    set_message(js->rep, is_merge ? "merge loads are validated when they commit (net row change)"
                                  : "partition loads are validated when they commit");
    js->rep->status = FLOE_RUN_OK;
    goto cleanup;
  }
  js->rep->has_range = true;
  js->rep->batch_high = latest->batch_high;
  js->rep->batch_low = latest->batch_high;
  js->rep->snapshot_id = latest->snapshot_id;
  /* Oldest first, so the first mismatch reported is the earliest. */
  for (size_t k = commits.n; k-- > 0;) {
    const floe_commit_info *c = &commits.commits[k];
    if (!c->complete || c->baseline) continue;
    if (whole && c != latest) continue; /* older full copies are superseded */
    /* A later reload of late rows (late_rows: reload) replaced the rows of
     * the ranges it covers: it is checked instead. */
    bool reloaded = false;
    for (size_t j = 0; j < k && !reloaded; j++)
      reloaded = commits.commits[j].reload && commits.commits[j].batch_low <= c->batch_low &&
                 c->batch_high <= commits.commits[j].batch_high;
    if (reloaded) continue;
    if (c->from_property) { /* its snapshot expired: no added-records to recount */
      expired++;
      continue;
    }
    unit u;
    memset(&u, 0, sizeof u);
    u.batch_low = c->batch_low;
    u.batch_high = c->batch_high;
    if (js->job.batch_idx >= 0) {
      u.filter.has_low = !whole;
      u.filter.low = c->batch_low;
      u.filter.has_high = true;
      u.filter.high = c->batch_high;
    } else if (js->job.cursor_idx >= 0) {
      u.filter.wm_low = whole ? NULL : c->watermark_low;
      u.filter.wm_high = c->watermark_high;
    } else if (c != latest) {
      continue; /* a full copy without a batch column: only the latest is checkable */
    }
    if (c->batch_low < js->rep->batch_low) js->rep->batch_low = c->batch_low;
    int64_t source_rows = 0;
    FLOE_TRY(floe_job_count(&js->job, &u.filter, &source_rows, err));
    int64_t added = c->added_records < 0 ? 0 : c->added_records;
    js->rep->rows_source += source_rows;
    js->rep->rows_written += added;
    js->rep->commits++;
    floe_log(source_rows == added ? FLOE_LOG_INFO : FLOE_LOG_ERROR, "validate",
             "table=%s snapshot=%lld batch_sk_low=%lld batch_sk_high=%lld source_rows=%lld "
             "committed_rows=%lld ok=%d",
             t->name, (long long)c->snapshot_id, (long long)c->batch_low,
             (long long)c->batch_high, (long long)source_rows, (long long)added,
             source_rows == added);
    if (source_rows != added && msg[0] == '\0')
      snprintf(msg, sizeof msg,
               "count mismatch in (%lld, %lld]: source has %lld rows, snapshot %lld added %lld",
               (long long)c->batch_low, (long long)c->batch_high, (long long)source_rows,
               (long long)c->snapshot_id, (long long)added);
    if (c == latest && t->validate.checksum && msg[0] == '\0') {
      int32_t ids[1024];
      int32_t n = 0;
      for (int64_t i = 0; i < js->job.desc.n_columns && n < 1024; i++)
        if (js->map.field_ids[i] > 0) ids[n++] = js->map.field_ids[i];
      FLOE_TRY(floe_checksum_init(&a, ids, n, err));
      FLOE_TRY(floe_checksum_init(&b, ids, n, err));
      FLOE_TRY(source_checksum(js, &u, &a, err));
      bool skipped = false;
      FLOE_TRY(checksum_committed(js, c->snapshot_id, NULL, &b, &skipped, err));
      /* Rewritten older-spec rows are among the commit's files: counts
       * only (the load itself checked its checksum when it committed). */
      if (c->rows_rewritten > 0) skipped = true;
      int32_t bad = skipped ? -1 : floe_checksum_compare(&a, &b);
      if (bad >= 0) {
        const floe_iceberg_field *f =
            floe_iceberg_schema_find_id(floe_table_schema(js->table), a.field_ids[bad]);
        snprintf(msg, sizeof msg,
                 "checksum mismatch in (%lld, %lld], column '%s': source sum %016llx nulls %lld, "
                 "table sum %016llx nulls %lld",
                 (long long)c->batch_low, (long long)c->batch_high, f ? f->name : "?",
                 (unsigned long long)a.sums[bad], (long long)a.nulls[bad],
                 (unsigned long long)b.sums[bad], (long long)b.nulls[bad]);
      }
    }
  }
  if (msg[0] != '\0') {
    js->rep->status = FLOE_RUN_MISMATCH;
    js->rc_mismatch = FLOE_EVALIDATE;
    set_message(js->rep, msg);
  } else {
    js->rep->status = FLOE_RUN_OK;
    if (expired > 0) {
      snprintf(msg, sizeof msg,
               "the snapshot of the latest load (batch_sk up to %lld) expired: only the committed "
               "watermark property remains, nothing to recount for it",
               (long long)latest->batch_high);
      set_message(js->rep, msg);
    }
  }
cleanup:
  floe_checksum_free(&a);
  floe_checksum_free(&b);
  floe_commit_list_free(&commits);
  return rc;
}

int floe_replicate_validate(const floe_config *cfg, const floe_run_options *options,
                            floe_run_report *out, floe_error *err) {
  engine e;
  int rc = FLOE_OK, worst = FLOE_OK;
  memset(&e, 0, sizeof e);
  memset(out, 0, sizeof *out);
  e.opt = options;
  e.dry_run = true; /* validate never writes */
  out->command = "validate";
  out->started_ms = floe_now_micros() / 1000;
  FLOE_TRY(floe_io_uuid4(e.run_id, err));
  memcpy(out->run_id, e.run_id, sizeof e.run_id);
  FLOE_TRY(floe_replicate_check_tables(cfg, options, err));
  FLOE_TRY(floe_session_open_run(&e.s, cfg, options ? options->interrupt : NULL, e.run_id, err));
  for (size_t i = 0; i < cfg->n_tables; i++) {
    const floe_config_table *t = &cfg->tables[i];
    if (!selected(options, t->name)) continue;
    floe_run_table *rep = NULL;
    FLOE_TRY(floe_run_report_add(out, &rep, err));
    job_state js;
    memset(&js, 0, sizeof js);
    js.e = &e;
    js.rep = rep;
    js.started_us = floe_now_micros();
    rep->name = floe_strdup(t->name);
    rep->target = floe_replicate_strdupf("%s.%s", t->target_namespace ? t->target_namespace : "default",
                                         t->target_name ? t->target_name : t->name);
    rep->strategy = floe_config_strategy_name(t->strategy);
    rep->mode = floe_config_mode_name(t->mode);
    rep->rows_late = -1;
    if (rep->name == NULL || rep->target == NULL) {
      rc = floe_error_set(err, FLOE_ENOMEM, "out of memory");
      goto cleanup;
    }
    floe_error terr = {0};
    int trc = floe_job_open(&js.job, &e.s, t, &terr);
    if (trc == FLOE_OK) trc = validate_table(&js, &terr);
    if (trc < 0) {
      floe_error_prefix(&terr, "table %s", t->name);
      rep->status = FLOE_RUN_FAILED;
      set_message(rep, terr.message);
      if (worst == FLOE_OK || worst == FLOE_EVALIDATE) {
        worst = trc;
        if (err) *err = terr;
      }
    } else if (js.rc_mismatch && worst == FLOE_OK) {
      worst = FLOE_EVALIDATE;
      floe_error_set(err, FLOE_EVALIDATE, "table %s: %s", t->name, rep->message);
    }
    rep->seconds = seconds_since(js.started_us);
    floe_schema_drift_free(&js.map);
    floe_table_free(js.table);
    floe_job_close(&js.job);
  }
  rc = worst;
cleanup:
  out->finished_ms = floe_now_micros() / 1000;
  floe_session_close(&e.s);
  return rc;
}
