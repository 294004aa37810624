/*
 * floe/_floe.c: the CPython extension under the `floe` package, a thin
 * binding over libfloe's public headers (include/floe.h), built against the
 * limited API (Py_LIMITED_API 3.9) so that one abi3 wheel serves every
 * CPython from 3.9 on.
 *
 * It exposes the few objects the Python layer (floe/__init__.py) composes:
 * Config (a loaded job file), Catalog, Table, and Scan, plus run / validate
 * / status / control over a Config. Everything else (reports as
 * DataFrames, progress bars, diffs) is Python.
 *
 * Threads and signals. Runs and scans release the GIL: a run calls
 * floe_replicate_run with the GIL released; a scan leaves as an Arrow C
 * stream (ArrowArrayStream in a "arrow_array_stream" PyCapsule) whose
 * get_next calls floe_scan_next without touching Python, so the consumer
 * (pyarrow, polars, DuckDB) reads it with the GIL released. floe's log
 * lines and run progress re-acquire the GIL (PyGILState_Ensure) to call
 * the Python callbacks. During a run started on the main thread, SIGINT is
 * caught by a C handler that sets the run's interrupt flag
 * (floe_run_options.interrupt): the engine compensates the table being
 * loaded and stops; the Python layer then raises KeyboardInterrupt. A
 * progress callback that raises stops the run the same way.
 *
 * Zero copy: batches are floe's own Arrow arrays, handed to the consumer
 * as they come from floe_scan_next; their release callbacks free floe's
 * buffers whenever the consumer is done with them.
 */
#define Py_LIMITED_API 0x03090000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "floe.h"

/* ==== Arrow C stream interface (Arrow: The Arrow C stream interface) ==== */
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};
#endif

/* ==== errors ============================================================ */

/* floe.Error factory installed by floe/__init__.py: called as
 * factory(code, code_name, message) and returns the exception instance. */
static PyObject *error_factory = NULL;

static PyObject *raise_floe(int code, const char *message) {
  if (error_factory == NULL) {
    PyErr_SetString(PyExc_RuntimeError, message);
    return NULL;
  }
  PyObject *exc = PyObject_CallFunction(error_factory, "iss", code, floe_error_code_name(code),
                                        message);
  if (exc == NULL) return NULL;
  PyObject *type = PyObject_Type(exc);
  PyErr_SetObject(type, exc);
  Py_DECREF(type);
  Py_DECREF(exc);
  return NULL;
}

static PyObject *raise_err(const floe_error *err, int rc) {
  return raise_floe(err->code ? err->code : rc, err->message[0] ? err->message : "error");
}

static PyObject *set_error_factory(PyObject *self, PyObject *arg) {
  (void)self;
  Py_XDECREF(error_factory);
  Py_INCREF(arg);
  error_factory = arg;
  Py_RETURN_NONE;
}

/* ==== logging =========================================================== */

/* Python callable log_sink(level_name, line), or NULL. */
static PyObject *log_callback = NULL;

static void log_sink(void *ctx, floe_log_level level, const char *line) {
  (void)ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  if (log_callback != NULL) {
    PyObject *exc_type = NULL, *exc_value = NULL, *exc_tb = NULL;
    /* Keep a pending exception (e.g. KeyboardInterrupt) intact. */
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *r = PyObject_CallFunction(log_callback, "ss", floe_log_level_name(level), line);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
    PyErr_Restore(exc_type, exc_value, exc_tb);
  }
  PyGILState_Release(g);
}

static PyObject *set_log_callback(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *fn;
  const char *level = "info";
  if (!PyArg_ParseTuple(args, "O|s", &fn, &level)) return NULL;
  int lv = floe_log_level_parse(level);
  if (lv < 0) {
    PyErr_Format(PyExc_ValueError, "unknown log level %s", level);
    return NULL;
  }
  Py_XDECREF(log_callback);
  log_callback = NULL;
  if (fn != Py_None) {
    Py_INCREF(fn);
    log_callback = fn;
    floe_log_set_sink(log_sink, NULL);
  } else {
    floe_log_set_sink(NULL, NULL);
  }
  floe_log_set_level((floe_log_level)lv);
  floe_log_set_format(FLOE_LOG_LOGFMT);
  Py_RETURN_NONE;
}

static PyObject *set_log_level(PyObject *self, PyObject *arg) {
  (void)self;
  PyObject *bytes = PyUnicode_AsUTF8String(arg);
  if (bytes == NULL) return NULL;
  int lv = floe_log_level_parse(PyBytes_AsString(bytes));
  Py_DECREF(bytes);
  if (lv < 0) {
    PyErr_SetString(PyExc_ValueError, "unknown log level");
    return NULL;
  }
  floe_log_set_level((floe_log_level)lv);
  Py_RETURN_NONE;
}

/* ==== helpers =========================================================== */

/* A new instance of one of this module's heap types (tp_alloc zeroes it). */
static PyObject *new_object(PyObject *type) {
  PyTypeObject *tp = (PyTypeObject *)type;
  allocfunc tp_alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
  return tp_alloc(tp, 0);
}

/* The end of every dealloc: frees self and drops its heap type. */
static void free_object(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  tp_free(self);
  Py_DECREF(tp);
}

/* An optional integer argument: None leaves *has false, an int sets *has
 * and *out; -1 with an exception set when it is neither (or too large). */
static int optional_int64(PyObject *obj, bool *has, int64_t *out) {
  *has = false;
  if (obj == NULL || obj == Py_None) return 0;
  long long v = PyLong_AsLongLong(obj);
  if (v == -1 && PyErr_Occurred()) return -1;
  *has = true;
  *out = (int64_t)v;
  return 0;
}

/* The UTF-8 bytes of a str as a new bytes object in *keep (the caller
 * releases it); PyUnicode_AsUTF8AndSize joined the limited API only in
 * 3.10. NULL with an exception set when obj is not a str. */
static const char *utf8(PyObject *obj, PyObject **keep, Py_ssize_t *len) {
  *keep = NULL;
  if (obj == NULL || !PyUnicode_Check(obj)) {
    PyErr_SetString(PyExc_TypeError, "expected a str");
    return NULL;
  }
  *keep = PyUnicode_AsUTF8String(obj);
  if (*keep == NULL) return NULL;
  if (len != NULL) *len = PyBytes_Size(*keep);
  return PyBytes_AsString(*keep);
}

static int dict_set_steal(PyObject *d, const char *key, PyObject *value) {
  if (value == NULL) return -1;
  int rc = PyDict_SetItemString(d, key, value);
  Py_DECREF(value);
  return rc;
}

static PyObject *str_or_none(const char *s) {
  if (s == NULL) Py_RETURN_NONE;
  return PyUnicode_FromString(s);
}

/* A sequence-of-str argument (tables=, overrides=, columns=) as the
 * NULL-terminated UTF-8 array the C API takes; None: no items (NULL). */
typedef struct {
  const char **items;
  size_t n;
  PyObject *keep; /* the list holding the UTF-8 bytes the items point into */
} str_array;

static void str_array_release(str_array *a) {
  PyMem_Free(a->items);
  Py_XDECREF(a->keep);
  memset(a, 0, sizeof *a);
}

/* Fills *a from seq; -1 with an exception set when seq is not a sequence
 * of str. str_array_release undoes it (also after a failure). */
static int str_array_from(PyObject *seq, str_array *a) {
  memset(a, 0, sizeof *a);
  if (seq == NULL || seq == Py_None) return 0;
  PyObject *list = PySequence_List(seq);
  if (list == NULL) return -1;
  Py_ssize_t n = PyList_Size(list);
  const char **items = PyMem_Calloc((size_t)n + 1, sizeof *items);
  if (items == NULL) {
    Py_DECREF(list);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *bytes = NULL;
    items[i] = utf8(PyList_GetItem(list, i), &bytes, NULL);
    /* The list now keeps the bytes, not the str. */
    if (items[i] == NULL || PyList_SetItem(list, i, bytes) < 0) {
      PyMem_Free(items);
      Py_DECREF(list);
      return -1;
    }
  }
  a->items = items;
  a->n = (size_t)n;
  a->keep = list;
  return 0;
}

/* Run options naming TABLES (none: every table of the job). */
static floe_run_options run_options_for(const str_array *tables) {
  floe_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.tables = tables->items;
  opt.n_tables = tables->n;
  return opt;
}

/* ==== Config ============================================================ */

typedef struct {
  PyObject_HEAD
  floe_config cfg;
} ConfigObject;

static PyObject *ConfigType = NULL;

static void Config_dealloc(PyObject *self) {
  ConfigObject *c = (ConfigObject *)self;
  floe_config_free(&c->cfg);
  free_object(self);
}

/* load_config(path=None, text=None, name="floe.yaml", overrides=()) */
static PyObject *load_config(PyObject *self, PyObject *args, PyObject *kwargs) {
  (void)self;
  static char *kw[] = {"path", "text", "name", "overrides", NULL};
  const char *path = NULL, *text = NULL, *name = "floe.yaml";
  Py_ssize_t text_len = 0;
  PyObject *overrides = NULL;
  str_array ov;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|zz#zO", kw, &path, &text, &text_len, &name,
                                   &overrides))
    return NULL;
  if ((path == NULL) == (text == NULL)) {
    PyErr_SetString(PyExc_TypeError, "give path or text");
    return NULL;
  }
  if (str_array_from(overrides, &ov) < 0) goto fail;
  ConfigObject *c = (ConfigObject *)new_object(ConfigType);
  if (c == NULL) goto fail;
  floe_config_init(&c->cfg);
  floe_error err = {0};
  int rc;
  if (path != NULL)
    rc = floe_config_load(&c->cfg, path, ov.items, ov.n, &err);
  else
    rc = floe_config_load_string(&c->cfg, name ? name : "floe.yaml", text, (size_t)text_len,
                                 ov.items, ov.n, &err);
  if (rc < 0) {
    /* Every message, one per line: "file:line:col: key.path: what". */
    PyObject *lines = PyList_New(0);
    size_t n = floe_config_error_count(&c->cfg);
    for (size_t i = 0; lines != NULL && i < n; i++) {
      PyObject *s = PyUnicode_FromString(floe_config_error_message(&c->cfg, i));
      if (s == NULL || PyList_Append(lines, s) < 0) Py_CLEAR(lines);
      Py_XDECREF(s);
    }
    if (lines != NULL && error_factory != NULL) {
      PyObject *exc = PyObject_CallFunction(error_factory, "issO", rc, floe_error_code_name(rc),
                                            err.message, lines);
      if (exc != NULL) {
        PyObject *type = PyObject_Type(exc);
        PyErr_SetObject(type, exc);
        Py_DECREF(type);
        Py_DECREF(exc);
      }
    } else if (lines != NULL) {
      raise_err(&err, rc);
    }
    Py_XDECREF(lines);
    Py_DECREF(c);
    c = NULL;
  }
  str_array_release(&ov);
  return (PyObject *)c;
fail:
  str_array_release(&ov);
  return NULL;
}

static PyObject *Config_dump(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  floe_buf out = FLOE_BUF_INIT;
  floe_error err = {0};
  int rc = floe_config_dump(&c->cfg, &out, &err);
  if (rc < 0) {
    floe_buf_free(&out);
    return raise_err(&err, rc);
  }
  PyObject *s = PyUnicode_FromStringAndSize((const char *)out.data, (Py_ssize_t)out.len);
  floe_buf_free(&out);
  return s;
}

/* [{name, source, target_namespace, target_name, strategy, mode}] */
static PyObject *Config_tables(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  PyObject *list = PyList_New(0);
  for (size_t i = 0; list != NULL && i < c->cfg.n_tables; i++) {
    const floe_config_table *t = &c->cfg.tables[i];
    PyObject *d = PyDict_New();
    if (d == NULL || dict_set_steal(d, "name", str_or_none(t->name)) < 0 ||
        dict_set_steal(d, "source", str_or_none(t->source ? t->source : t->name)) < 0 ||
        dict_set_steal(d, "namespace",
                       str_or_none(t->target_namespace ? t->target_namespace : "default")) < 0 ||
        dict_set_steal(d, "target_name", str_or_none(t->target_name ? t->target_name : t->name)) <
            0 ||
        dict_set_steal(d, "strategy", str_or_none(floe_config_strategy_name(t->strategy))) < 0 ||
        dict_set_steal(d, "mode", str_or_none(floe_config_mode_name(t->mode))) < 0 ||
        PyList_Append(list, d) < 0)
      Py_CLEAR(list);
    Py_XDECREF(d);
  }
  return list;
}

static PyObject *Config_source_type(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  return PyUnicode_FromString(floe_config_source_type_name(c->cfg.source.type));
}

static PyObject *Config_source_path(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  return str_or_none(c->cfg.source.path);
}

static PyObject *Config_log_level(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  return PyUnicode_FromString(floe_log_level_name(c->cfg.logging.level));
}

static PyObject *Config_report_path(PyObject *self, PyObject *unused) {
  (void)unused;
  ConfigObject *c = (ConfigObject *)self;
  return str_or_none(c->cfg.run.report);
}

/* ---- runs ---------------------------------------------------------------- */

typedef struct run_ctx {
  PyObject *progress; /* callable(table, rows, bytes, seconds) or NULL */
  PyObject *exc_type, *exc_value, *exc_tb; /* what the callback raised */
  volatile sig_atomic_t *interrupt;
} run_ctx;

/* The interrupt flag of the run in progress, for the SIGINT handler. One
 * run at a time per process may catch SIGINT (the main thread's). */
static volatile sig_atomic_t main_interrupt;

static void on_sigint(int signo) {
  (void)signo;
  main_interrupt = 1;
}

static void run_progress(void *ctx, const floe_run_progress *p) {
  run_ctx *rc = ctx;
  if (rc->progress == NULL || rc->exc_type != NULL) return;
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *r = PyObject_CallFunction(rc->progress, "sLLd", p->table ? p->table : "",
                                      (long long)p->rows, (long long)p->bytes, p->seconds);
  if (r == NULL) {
    /* The callback raised (KeyboardInterrupt from a signal check, or any
     * error): stop the run cleanly and re-raise afterwards. */
    PyErr_Fetch(&rc->exc_type, &rc->exc_value, &rc->exc_tb);
    *rc->interrupt = 1;
  }
  Py_XDECREF(r);
  PyGILState_Release(g);
}

static int is_main_thread(void) {
  PyObject *threading = PyImport_ImportModule("threading");
  if (threading == NULL) return -1;
  PyObject *cur = PyObject_CallMethod(threading, "current_thread", NULL);
  PyObject *main = PyObject_CallMethod(threading, "main_thread", NULL);
  Py_DECREF(threading);
  int same = cur != NULL && main != NULL && cur == main;
  Py_XDECREF(cur);
  Py_XDECREF(main);
  if (PyErr_Occurred()) return -1;
  return same;
}

typedef int (*run_fn)(const floe_config *, const floe_run_options *, floe_run_report *,
                      floe_error *);

/* Runs fn with the GIL released. Returns (rc, exit_code, report_json,
 * error_code, error_message, interrupted). */
static PyObject *do_run(ConfigObject *c, PyObject *tables, int dry_run, PyObject *progress,
                        run_fn fn) {
  str_array names;
  PyObject *result = NULL;
  volatile sig_atomic_t local_interrupt = 0;
  run_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  if (str_array_from(tables, &names) < 0) goto done;
  int on_main = is_main_thread();
  if (on_main < 0) goto done;
  ctx.progress = progress == Py_None ? NULL : progress;
  ctx.interrupt = on_main ? &main_interrupt : &local_interrupt;
  floe_run_options opt = run_options_for(&names);
  opt.dry_run = dry_run != 0;
  opt.progress = run_progress;
  opt.progress_ctx = &ctx;
  opt.interrupt = ctx.interrupt;
  floe_run_report report;
  floe_error err = {0};
  memset(&report, 0, sizeof report);
  int rc;
  struct sigaction sa, old;
  if (on_main) {
    main_interrupt = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
  }
  Py_BEGIN_ALLOW_THREADS
  rc = fn(&c->cfg, &opt, &report, &err);
  Py_END_ALLOW_THREADS
  int interrupted = *ctx.interrupt != 0;
  if (on_main) {
    sigaction(SIGINT, &old, NULL);
    main_interrupt = 0;
  }
  /* What the progress callback raised travels back as a value, so that
   * the Python layer keeps the report before re-raising it. */
  PyObject *callback_exc = Py_None;
  if (ctx.exc_type != NULL) {
    PyErr_NormalizeException(&ctx.exc_type, &ctx.exc_value, &ctx.exc_tb);
    if (ctx.exc_tb != NULL && ctx.exc_value != NULL)
      PyException_SetTraceback(ctx.exc_value, ctx.exc_tb);
    callback_exc = ctx.exc_value ? ctx.exc_value : Py_None;
  }
  floe_buf json = FLOE_BUF_INIT;
  floe_error jerr = {0};
  int exit_code = floe_run_report_exit_code(&report, rc);
  if (floe_run_report_json(&report, &json, &jerr) < 0) {
    floe_run_report_free(&report);
    floe_buf_free(&json);
    raise_err(&jerr, FLOE_ENOMEM);
    goto done;
  }
  result = Py_BuildValue("iis#isOO", rc, exit_code, (const char *)json.data,
                         (Py_ssize_t)json.len, rc < 0 ? (err.code ? err.code : rc) : 0,
                         rc < 0 ? err.message : "", interrupted ? Py_True : Py_False,
                         callback_exc);
  floe_buf_free(&json);
  floe_run_report_free(&report);
done:
  Py_XDECREF(ctx.exc_type);
  Py_XDECREF(ctx.exc_value);
  Py_XDECREF(ctx.exc_tb);
  str_array_release(&names);
  return result;
}

static PyObject *Config_run(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"tables", "dry_run", "progress", NULL};
  PyObject *tables = Py_None, *progress = Py_None;
  int dry_run = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OpO", kw, &tables, &dry_run, &progress))
    return NULL;
  return do_run((ConfigObject *)self, tables, dry_run, progress, floe_replicate_run);
}

static PyObject *Config_validate(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"tables", NULL};
  PyObject *tables = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kw, &tables)) return NULL;
  return do_run((ConfigObject *)self, tables, 0, Py_None, floe_replicate_validate);
}

static PyObject *Config_status(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"tables", NULL};
  PyObject *tables = Py_None, *list = NULL;
  str_array names;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kw, &tables)) return NULL;
  if (str_array_from(tables, &names) < 0) return NULL;
  floe_run_options opt = run_options_for(&names);
  floe_status_report st;
  floe_error err = {0};
  memset(&st, 0, sizeof st);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_replicate_status(&((ConfigObject *)self)->cfg, &opt, &st, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) {
    raise_err(&err, rc);
    goto done;
  }
  list = PyList_New(0);
  for (size_t i = 0; list != NULL && i < st.n_tables; i++) {
    const floe_status_table *t = &st.tables[i];
    PyObject *d = PyDict_New();
    PyObject *none = Py_None;
    if (d == NULL || dict_set_steal(d, "table", str_or_none(t->name)) < 0 ||
        dict_set_steal(d, "target", str_or_none(t->target)) < 0 ||
        dict_set_steal(d, "control_max", t->has_control ? PyLong_FromLongLong(t->control_max)
                                                         : (Py_INCREF(none), none)) < 0 ||
        dict_set_steal(d, "control_rows", PyLong_FromLongLong(t->control_rows)) < 0 ||
        dict_set_steal(d, "control_watermark", str_or_none(t->control_watermark)) < 0 ||
        dict_set_steal(d, "table_exists", PyBool_FromLong(t->table_exists)) < 0 ||
        dict_set_steal(d, "snapshot_id", t->has_snapshot ? PyLong_FromLongLong(t->snapshot_id)
                                                         : (Py_INCREF(none), none)) < 0 ||
        dict_set_steal(d, "live_rows", t->total_records >= 0
                                           ? PyLong_FromLongLong(t->total_records)
                                           : (Py_INCREF(none), none)) < 0 ||
        dict_set_steal(d, "committed_high", t->has_committed
                                                ? PyLong_FromLongLong(t->committed_high)
                                                : (Py_INCREF(none), none)) < 0 ||
        dict_set_steal(d, "committed_watermark", str_or_none(t->committed_watermark)) < 0 ||
        dict_set_steal(d, "last_run_id", str_or_none(t->last_run_id)) < 0 ||
        dict_set_steal(d, "last_commit_ms", t->last_commit_ms
                                                ? PyLong_FromLongLong(t->last_commit_ms)
                                                : (Py_INCREF(none), none)) < 0 ||
        dict_set_steal(d, "message", str_or_none(t->message)) < 0 || PyList_Append(list, d) < 0)
      Py_CLEAR(list);
    Py_XDECREF(d);
  }
done:
  floe_status_report_free(&st);
  str_array_release(&names);
  return list;
}

static PyObject *Config_control(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"tables", NULL};
  PyObject *tables = Py_None, *list = NULL;
  str_array names;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kw, &tables)) return NULL;
  if (str_array_from(tables, &names) < 0) return NULL;
  floe_run_options opt = run_options_for(&names);
  floe_control_report cr;
  floe_error err = {0};
  memset(&cr, 0, sizeof cr);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_replicate_control(&((ConfigObject *)self)->cfg, &opt, &cr, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) {
    raise_err(&err, rc);
    goto done;
  }
  list = PyList_New(0);
  for (size_t i = 0; list != NULL && i < cr.n_entries; i++) {
    const floe_control_entry *e = &cr.entries[i];
    PyObject *d = PyDict_New();
    if (d == NULL || dict_set_steal(d, "table_name", str_or_none(e->table_name)) < 0 ||
        dict_set_steal(d, "batch_sk", PyLong_FromLongLong(e->batch_sk)) < 0 ||
        dict_set_steal(d, "run_id", str_or_none(e->run_id)) < 0 ||
        dict_set_steal(d, "inserted_at", str_or_none(e->inserted_at)) < 0 ||
        dict_set_steal(d, "watermark", str_or_none(e->watermark)) < 0 ||
        dict_set_steal(d, "kind", str_or_none(e->kind)) < 0 || PyList_Append(list, d) < 0)
      Py_CLEAR(list);
    Py_XDECREF(d);
  }
done:
  floe_control_report_free(&cr);
  str_array_release(&names);
  return list;
}

static PyObject *open_job_catalog(PyObject *self, PyObject *unused);

static PyMethodDef Config_methods[] = {
    {"dump", Config_dump, METH_NOARGS, "The effective configuration as YAML (secrets masked)."},
    {"tables", Config_tables, METH_NOARGS, "The job's tables with their targets."},
    {"source_type", Config_source_type, METH_NOARGS, NULL},
    {"source_path", Config_source_path, METH_NOARGS, NULL},
    {"log_level", Config_log_level, METH_NOARGS, NULL},
    {"report_path", Config_report_path, METH_NOARGS, NULL},
    {"run", (PyCFunction)(void (*)(void))Config_run, METH_VARARGS | METH_KEYWORDS, NULL},
    {"validate", (PyCFunction)(void (*)(void))Config_validate, METH_VARARGS | METH_KEYWORDS,
     NULL},
    {"status", (PyCFunction)(void (*)(void))Config_status, METH_VARARGS | METH_KEYWORDS, NULL},
    {"control", (PyCFunction)(void (*)(void))Config_control, METH_VARARGS | METH_KEYWORDS, NULL},
    {"catalog", open_job_catalog, METH_NOARGS, "The job's target catalog."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Config_slots[] = {{Py_tp_dealloc, (void *)Config_dealloc},
                                     {Py_tp_methods, Config_methods},
                                     {Py_tp_doc, "A loaded floe job file (floe_config)."},
                                     {0, NULL}};
static PyType_Spec Config_spec = {"floe._floe.Config", sizeof(ConfigObject), 0,
                                  Py_TPFLAGS_DEFAULT, Config_slots};

/* ==== Catalog =========================================================== */

typedef struct {
  PyObject_HEAD
  floe_catalog *catalog;
} CatalogObject;

static PyObject *CatalogType = NULL;
static PyObject *TableType = NULL;
static PyObject *ScanType = NULL;

static void Catalog_dealloc(PyObject *self) {
  CatalogObject *c = (CatalogObject *)self;
  floe_catalog_free(c->catalog);
  free_object(self);
}

static CatalogObject *catalog_new(void) {
  CatalogObject *c = (CatalogObject *)new_object(CatalogType);
  if (c != NULL) c->catalog = NULL;
  return c;
}

static PyObject *open_job_catalog(PyObject *self, PyObject *unused) {
  (void)unused;
  CatalogObject *c = catalog_new();
  if (c == NULL) return NULL;
  floe_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_replicate_open_catalog(&((ConfigObject *)self)->cfg, &c->catalog, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) {
    Py_DECREF(c);
    return raise_err(&err, rc);
  }
  return (PyObject *)c;
}

/* open_catalog(type, warehouse, uri=None, name=None) */
static PyObject *open_catalog(PyObject *self, PyObject *args, PyObject *kwargs) {
  (void)self;
  static char *kw[] = {"type", "warehouse", "uri", "name", NULL};
  const char *type = NULL, *warehouse = NULL, *uri = NULL, *name = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sz|zz", kw, &type, &warehouse, &uri, &name))
    return NULL;
  floe_catalog_config cc;
  memset(&cc, 0, sizeof cc);
  if (strcmp(type, "sql") == 0) {
    cc.type = FLOE_CATALOG_SQL;
    if (uri == NULL) return raise_floe(FLOE_EINVAL, "catalog sql: uri is required");
    /* "sqlite:PATH" as in the job file. */
    cc.sql_uri = strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
  } else if (strcmp(type, "hadoop") == 0) {
    cc.type = FLOE_CATALOG_HADOOP;
  } else {
    char msg[160];
    snprintf(msg, sizeof msg, "catalog type %s: expected sql or hadoop", type);
    return raise_floe(FLOE_EINVAL, msg);
  }
  cc.name = name;
  cc.warehouse = warehouse;
  CatalogObject *c = catalog_new();
  if (c == NULL) return NULL;
  floe_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_catalog_open(&cc, &c->catalog, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) {
    Py_DECREF(c);
    return raise_err(&err, rc);
  }
  return (PyObject *)c;
}

static PyObject *names_to_list(const floe_catalog_names *names) {
  PyObject *list = PyList_New(0);
  for (size_t i = 0; list != NULL && i < names->count; i++) {
    PyObject *s = PyUnicode_FromString(names->items[i]);
    if (s == NULL || PyList_Append(list, s) < 0) Py_CLEAR(list);
    Py_XDECREF(s);
  }
  return list;
}

static PyObject *Catalog_namespaces(PyObject *self, PyObject *args) {
  const char *parent = NULL;
  if (!PyArg_ParseTuple(args, "|z", &parent)) return NULL;
  floe_catalog_names names = {0};
  floe_error err = {0};
  int rc = floe_catalog_namespace_list(((CatalogObject *)self)->catalog, parent, &names, &err);
  if (rc < 0) return raise_err(&err, rc);
  PyObject *list = names_to_list(&names);
  floe_catalog_names_reset(&names);
  return list;
}

static PyObject *Catalog_tables(PyObject *self, PyObject *args) {
  const char *ns = NULL;
  if (!PyArg_ParseTuple(args, "s", &ns)) return NULL;
  floe_catalog_names names = {0};
  floe_error err = {0};
  int rc = floe_catalog_table_list(((CatalogObject *)self)->catalog, ns, &names, &err);
  if (rc < 0) return raise_err(&err, rc);
  PyObject *list = names_to_list(&names);
  floe_catalog_names_reset(&names);
  return list;
}

/* ==== Table ============================================================= */

typedef struct {
  PyObject_HEAD
  PyObject *catalog; /* the CatalogObject the table borrows */
  floe_table *table;
} TableObject;

static void Table_dealloc(PyObject *self) {
  TableObject *t = (TableObject *)self;
  floe_table_free(t->table);
  Py_XDECREF(t->catalog);
  free_object(self);
}

static PyObject *Catalog_load_table(PyObject *self, PyObject *args) {
  const char *ns = NULL, *name = NULL;
  if (!PyArg_ParseTuple(args, "ss", &ns, &name)) return NULL;
  TableObject *t = (TableObject *)new_object(TableType);
  if (t == NULL) return NULL;
  t->table = NULL;
  Py_INCREF(self);
  t->catalog = self;
  floe_catalog_ident ident = {ns, name};
  floe_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_table_load(((CatalogObject *)self)->catalog, ident, &t->table, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) {
    Py_DECREF(t);
    return raise_err(&err, rc);
  }
  return (PyObject *)t;
}

static PyMethodDef Catalog_methods[] = {
    {"namespaces", Catalog_namespaces, METH_VARARGS, NULL},
    {"tables", Catalog_tables, METH_VARARGS, NULL},
    {"load_table", Catalog_load_table, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Catalog_slots[] = {{Py_tp_dealloc, (void *)Catalog_dealloc},
                                      {Py_tp_methods, Catalog_methods},
                                      {Py_tp_doc, "An Iceberg catalog (floe_catalog)."},
                                      {0, NULL}};
static PyType_Spec Catalog_spec = {"floe._floe.Catalog", sizeof(CatalogObject), 0,
                                   Py_TPFLAGS_DEFAULT, Catalog_slots};

static PyObject *Table_name(PyObject *self, PyObject *unused) {
  (void)unused;
  return PyUnicode_FromString(floe_table_name(((TableObject *)self)->table));
}

static PyObject *Table_metadata_location(PyObject *self, PyObject *unused) {
  (void)unused;
  return str_or_none(floe_table_metadata_location(((TableObject *)self)->table));
}

static PyObject *Table_metadata_json(PyObject *self, PyObject *unused) {
  (void)unused;
  char *json = NULL;
  size_t len = 0;
  floe_error err = {0};
  int rc = floe_iceberg_metadata_to_json(floe_table_metadata(((TableObject *)self)->table), &json,
                                         &len, &err);
  if (rc < 0) return raise_err(&err, rc);
  PyObject *s = PyUnicode_FromStringAndSize(json, (Py_ssize_t)len);
  floe_free(json);
  return s;
}

static PyObject *Table_refresh(PyObject *self, PyObject *unused) {
  (void)unused;
  floe_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_table_refresh(((TableObject *)self)->table, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) return raise_err(&err, rc);
  Py_RETURN_NONE;
}

/* data_files(snapshot_id=None) -> [path] of the live data files. */
static PyObject *Table_data_files(PyObject *self, PyObject *args) {
  PyObject *sid = Py_None;
  if (!PyArg_ParseTuple(args, "|O", &sid)) return NULL;
  floe_table *table = ((TableObject *)self)->table;
  const floe_iceberg_snapshot *snap = NULL;
  bool has_id = false;
  int64_t id = 0;
  if (optional_int64(sid, &has_id, &id) < 0) return NULL;
  if (has_id) {
    snap = floe_iceberg_metadata_snapshot(floe_table_metadata(table), id);
    if (snap == NULL) {
      char msg[128];
      snprintf(msg, sizeof msg, "table %s: no snapshot %lld", floe_table_name(table),
               (long long)id);
      return raise_floe(FLOE_ENOTFOUND, msg);
    }
  }
  floe_table_files files = {0};
  floe_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_table_files_read(table, snap, &files, &err);
  Py_END_ALLOW_THREADS
  if (rc < 0) return raise_err(&err, rc);
  PyObject *list = PyList_New(0);
  for (int32_t i = 0; list != NULL && i < files.n; i++) {
    if (files.files[i].file.content != FLOE_CONTENT_DATA) continue;
    PyObject *s = PyUnicode_FromString(files.files[i].file.file_path);
    if (s == NULL || PyList_Append(list, s) < 0) Py_CLEAR(list);
    Py_XDECREF(s);
  }
  floe_table_files_reset(&files);
  return list;
}

/* ==== Scan ============================================================== */

/* A scan's options, owned: strings copied so the Scan object can open the
 * same scan again for every __arrow_c_stream__ call. */
typedef struct {
  PyObject_HEAD
  PyObject *table; /* TableObject */
  floe_scan_options opt;
  char **columns;
  int32_t n_columns;
  char **data_files;
  int32_t n_data_files;
  floe_scan_predicate *filter;
  int32_t n_filter;
  floe_iceberg_value *values; /* every literal, owned */
  int32_t n_values;
} ScanObject;

static void free_strings(char **s, int32_t n) {
  for (int32_t i = 0; s != NULL && i < n; i++) floe_free(s[i]);
  floe_free(s);
}

static void Scan_dealloc(PyObject *self) {
  ScanObject *s = (ScanObject *)self;
  free_strings(s->columns, s->n_columns);
  free_strings(s->data_files, s->n_data_files);
  for (int32_t i = 0; i < s->n_filter; i++) floe_free((void *)s->filter[i].column);
  floe_free(s->filter);
  for (int32_t i = 0; i < s->n_values; i++) floe_iceberg_value_free(&s->values[i]);
  floe_free(s->values);
  Py_XDECREF(s->table);
  free_object(self);
}

static int copy_strings(PyObject *seq, char ***out, int32_t *out_n) {
  str_array a;
  *out = NULL;
  *out_n = 0;
  if (str_array_from(seq, &a) < 0) return -1;
  if (a.keep == NULL) return 0;
  size_t n = a.n;
  char **copy = floe_calloc(n + 1, sizeof *copy);
  int ok = copy != NULL;
  for (size_t i = 0; ok && i < n; i++) ok = (copy[i] = floe_strdup(a.items[i])) != NULL;
  str_array_release(&a);
  if (!ok) {
    free_strings(copy, (int32_t)n);
    PyErr_NoMemory();
    return -1;
  }
  *out = copy;
  *out_n = (int32_t)n;
  return 0;
}

static const struct {
  const char *name;
  floe_scan_op op;
} scan_ops[] = {{"==", FLOE_SCAN_EQ},        {"=", FLOE_SCAN_EQ},       {"!=", FLOE_SCAN_NE},
                {"<", FLOE_SCAN_LT},         {"<=", FLOE_SCAN_LE},      {">", FLOE_SCAN_GT},
                {">=", FLOE_SCAN_GE},        {"is_null", FLOE_SCAN_IS_NULL},
                {"not_null", FLOE_SCAN_NOT_NULL}, {"in", FLOE_SCAN_IN}};

/* The schema filter literals are typed by: the snapshot's (time travel
 * reads with it), else the current one. */
static const floe_iceberg_schema *filter_schema(const floe_table *table,
                                                const floe_scan_options *o) {
  const floe_iceberg_metadata *md = floe_table_metadata(table);
  const floe_iceberg_snapshot *snap = NULL;
  if (o->has_snapshot_id) snap = floe_iceberg_metadata_snapshot(md, o->snapshot_id);
  if (snap != NULL && snap->has_schema_id) {
    const floe_iceberg_schema *s = floe_iceberg_metadata_schema(md, snap->schema_id);
    if (s != NULL) return s;
  }
  return floe_iceberg_metadata_current_schema(md);
}

/* filter: [(column, op, [json literal, ...])], literals as Iceberg's JSON
 * single-value form (Appendix D), parsed here against the column's type. */
static int build_filter(ScanObject *s, PyObject *filter) {
  if (filter == NULL || filter == Py_None) return 0;
  PyObject *list = PySequence_List(filter);
  if (list == NULL) return -1;
  Py_ssize_t n = PyList_Size(list);
  Py_ssize_t n_lits = 0;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *term = PyList_GetItem(list, i);
    PyObject *lits = PyTuple_Check(term) && PyTuple_Size(term) == 3 ? PyTuple_GetItem(term, 2)
                                                                      : NULL;
    if (lits == NULL || !PyList_Check(lits)) {
      PyErr_SetString(PyExc_TypeError, "filter terms are (column, op, [json literals])");
      Py_DECREF(list);
      return -1;
    }
    n_lits += PyList_Size(lits);
  }
  s->filter = floe_calloc((size_t)n + 1, sizeof *s->filter);
  s->values = floe_calloc((size_t)n_lits + 1, sizeof *s->values);
  if (s->filter == NULL || s->values == NULL) {
    Py_DECREF(list);
    PyErr_NoMemory();
    return -1;
  }
  const floe_iceberg_schema *schema =
      filter_schema(((TableObject *)s->table)->table, &s->opt);
  PyObject *column_keep = NULL, *op_keep = NULL;
  for (Py_ssize_t i = 0; i < n; i++) {
    Py_CLEAR(column_keep);
    Py_CLEAR(op_keep);
    PyObject *term = PyList_GetItem(list, i);
    const char *column = utf8(PyTuple_GetItem(term, 0), &column_keep, NULL);
    const char *op_name = column ? utf8(PyTuple_GetItem(term, 1), &op_keep, NULL) : NULL;
    if (op_name == NULL) goto fail;
    floe_scan_predicate *p = &s->filter[s->n_filter];
    int found = 0;
    for (size_t k = 0; k < sizeof scan_ops / sizeof scan_ops[0]; k++)
      if (strcmp(scan_ops[k].name, op_name) == 0) {
        p->op = scan_ops[k].op;
        found = 1;
      }
    if (!found) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "filter on %s: unknown operator '%s' (==, !=, <, <=, >, >=, in, is_null, "
               "not_null)",
               column, op_name);
      raise_floe(FLOE_EINVAL, msg);
      goto fail;
    }
    if ((p->column = floe_strdup(column)) == NULL) {
      PyErr_NoMemory();
      goto fail;
    }
    s->n_filter++;
    const floe_iceberg_field *field =
        schema ? floe_iceberg_schema_find_name(schema, column, false) : NULL;
    if (field == NULL) {
      char msg[200];
      snprintf(msg, sizeof msg, "filter: no column '%s' in the table", column);
      raise_floe(FLOE_ENOTFOUND, msg);
      goto fail;
    }
    PyObject *lits = PyTuple_GetItem(term, 2);
    Py_ssize_t nl = PyList_Size(lits);
    int32_t first = s->n_values;
    for (Py_ssize_t k = 0; k < nl; k++) {
      Py_ssize_t len = 0;
      PyObject *json_keep = NULL;
      const char *json = utf8(PyList_GetItem(lits, k), &json_keep, &len);
      if (json == NULL) goto fail;
      floe_error err = {0};
      int rc = floe_iceberg_value_from_json(&field->type, json, (size_t)len,
                                            &s->values[s->n_values], &err);
      Py_DECREF(json_keep);
      if (rc < 0) {
        floe_error_prefix(&err, "filter on %s", column);
        raise_err(&err, rc);
        goto fail;
      }
      s->n_values++;
    }
    if (p->op == FLOE_SCAN_IN) {
      p->values = &s->values[first];
      p->n_values = (int32_t)nl;
    } else if (p->op != FLOE_SCAN_IS_NULL && p->op != FLOE_SCAN_NOT_NULL) {
      if (nl != 1) {
        PyErr_SetString(PyExc_ValueError, "a comparison takes one literal");
        goto fail;
      }
      p->value = s->values[first];
      p->value.owned = NULL; /* owned by s->values */
    }
  }
  s->opt.filter = s->filter;
  s->opt.n_filter = s->n_filter;
  Py_XDECREF(column_keep);
  Py_XDECREF(op_keep);
  Py_DECREF(list);
  return 0;
fail:
  Py_XDECREF(column_keep);
  Py_XDECREF(op_keep);
  Py_DECREF(list);
  return -1;
}

/* Table.scan(columns=None, snapshot_id=None, as_of_ms=None, filter=None,
 * batch_size=0, with_file_path=False, with_pos=False, data_files=None) */
static PyObject *Table_scan(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"columns",  "snapshot_id", "as_of_ms",   "filter",
                       "batch_size", "with_file_path", "with_pos", "data_files", NULL};
  PyObject *columns = Py_None, *sid = Py_None, *as_of = Py_None, *filter = Py_None,
           *data_files = Py_None;
  long long batch_size = 0;
  int with_file_path = 0, with_pos = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOOOLppO", kw, &columns, &sid, &as_of, &filter,
                                   &batch_size, &with_file_path, &with_pos, &data_files))
    return NULL;
  ScanObject *s = (ScanObject *)new_object(ScanType);
  if (s == NULL) return NULL;
  Py_INCREF(self);
  s->table = self;
  memset(&s->opt, 0, sizeof s->opt);
  if (optional_int64(sid, &s->opt.has_snapshot_id, &s->opt.snapshot_id) < 0 ||
      optional_int64(as_of, &s->opt.has_as_of, &s->opt.as_of_timestamp_ms) < 0)
    goto fail;
  if (copy_strings(columns, &s->columns, &s->n_columns) < 0) goto fail;
  s->opt.columns = (const char *const *)s->columns;
  s->opt.n_columns = s->n_columns;
  if (data_files != Py_None) {
    if (copy_strings(data_files, &s->data_files, &s->n_data_files) < 0) goto fail;
    if (s->data_files == NULL && (s->data_files = floe_calloc(1, sizeof(char *))) == NULL) {
      PyErr_NoMemory();
      goto fail;
    }
    s->opt.data_files = (const char *const *)s->data_files;
    s->opt.n_data_files = s->n_data_files;
  }
  s->opt.batch_size = batch_size;
  s->opt.with_file_path = with_file_path != 0;
  s->opt.with_pos = with_pos != 0;
  if (build_filter(s, filter) < 0) goto fail;
  /* Check the options now (unknown column or snapshot), as floe_scan_open
   * does, so the error surfaces at scan() rather than at the first read. */
  floe_scan *probe = NULL;
  floe_error err = {0};
  floe_table *table = ((TableObject *)self)->table;
  int rc = floe_scan_open(&probe, floe_table_metadata(table), floe_table_io(table), &s->opt, &err);
  floe_scan_free(probe);
  if (rc < 0) {
    floe_error_prefix(&err, "table %s: scan", floe_table_name(table));
    raise_err(&err, rc);
    goto fail;
  }
  return (PyObject *)s;
fail:
  Py_DECREF(s);
  return NULL;
}

/* The stream's private data: the open scan, the Python objects keeping its
 * metadata and io alive, and the last error. */
typedef struct scan_stream {
  floe_scan *scan;
  PyObject *owner; /* the ScanObject (holds the Table, which holds the Catalog) */
  floe_error err;
} scan_stream;

static int stream_errno(int rc) {
  switch (rc) {
    case FLOE_ENOMEM: return 12;      /* ENOMEM */
    case FLOE_EINVAL: return 22;      /* EINVAL */
    case FLOE_ENOTFOUND: return 2;    /* ENOENT */
    case FLOE_EUNSUPPORTED: return 95; /* ENOTSUP */
    default: return 5;                /* EIO */
  }
}

static int stream_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
  scan_stream *ss = stream->private_data;
  int rc = floe_scan_schema(ss->scan, out, &ss->err);
  return rc < 0 ? stream_errno(rc) : 0;
}

static int stream_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  scan_stream *ss = stream->private_data;
  memset(out, 0, sizeof *out);
  int rc = floe_scan_next(ss->scan, out, &ss->err);
  return rc < 0 ? stream_errno(rc) : 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *stream) {
  scan_stream *ss = stream->private_data;
  return ss->err.message[0] ? ss->err.message : NULL;
}

static void stream_release(struct ArrowArrayStream *stream) {
  if (stream->release == NULL) return;
  scan_stream *ss = stream->private_data;
  floe_scan_free(ss->scan);
  if (ss->owner != NULL) {
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF(ss->owner);
    PyGILState_Release(g);
  }
  floe_free(ss);
  stream->release = NULL;
  stream->private_data = NULL;
}

static void stream_capsule_destructor(PyObject *capsule) {
  struct ArrowArrayStream *stream = PyCapsule_GetPointer(capsule, "arrow_array_stream");
  if (stream == NULL) {
    PyErr_Clear();
    return;
  }
  if (stream->release != NULL) stream->release(stream);
  floe_free(stream);
}

/* __arrow_c_stream__(requested_schema=None): a fresh scan as a capsule.
 * A requested schema is not negotiated: floe's schema is the answer. */
static PyObject *Scan_arrow_c_stream(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"requested_schema", NULL};
  PyObject *requested = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kw, &requested)) return NULL;
  ScanObject *s = (ScanObject *)self;
  floe_table *table = ((TableObject *)s->table)->table;
  struct ArrowArrayStream *stream = floe_calloc(1, sizeof *stream);
  scan_stream *ss = floe_calloc(1, sizeof *ss);
  if (stream == NULL || ss == NULL) {
    floe_free(stream);
    floe_free(ss);
    return PyErr_NoMemory();
  }
  floe_error err = {0};
  int rc = floe_scan_open(&ss->scan, floe_table_metadata(table), floe_table_io(table), &s->opt,
                          &err);
  if (rc < 0) {
    floe_free(stream);
    floe_free(ss);
    floe_error_prefix(&err, "table %s: scan", floe_table_name(table));
    return raise_err(&err, rc);
  }
  Py_INCREF(self);
  ss->owner = self;
  stream->get_schema = stream_get_schema;
  stream->get_next = stream_get_next;
  stream->get_last_error = stream_get_last_error;
  stream->release = stream_release;
  stream->private_data = ss;
  PyObject *capsule = PyCapsule_New(stream, "arrow_array_stream", stream_capsule_destructor);
  if (capsule == NULL) {
    stream->release(stream);
    floe_free(stream);
  }
  return capsule;
}

static void schema_capsule_destructor(PyObject *capsule) {
  struct ArrowSchema *schema = PyCapsule_GetPointer(capsule, "arrow_schema");
  if (schema == NULL) {
    PyErr_Clear();
    return;
  }
  if (schema->release != NULL) schema->release(schema);
  floe_free(schema);
}

/* __arrow_c_schema__(): the scan's output schema. */
static PyObject *Scan_arrow_c_schema(PyObject *self, PyObject *unused) {
  (void)unused;
  ScanObject *s = (ScanObject *)self;
  floe_table *table = ((TableObject *)s->table)->table;
  floe_scan *scan = NULL;
  floe_error err = {0};
  struct ArrowSchema *schema = floe_calloc(1, sizeof *schema);
  if (schema == NULL) return PyErr_NoMemory();
  int rc = floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), &s->opt, &err);
  if (rc == FLOE_OK) rc = floe_scan_schema(scan, schema, &err);
  floe_scan_free(scan);
  if (rc < 0) {
    floe_free(schema);
    return raise_err(&err, rc);
  }
  PyObject *capsule = PyCapsule_New(schema, "arrow_schema", schema_capsule_destructor);
  if (capsule == NULL) {
    schema->release(schema);
    floe_free(schema);
  }
  return capsule;
}

/* count(): rows the scan returns, read with the GIL released (the whole
 * scan runs; batches are dropped as they come). Also returns the scan's
 * statistics as a dict. */
static PyObject *Scan_count(PyObject *self, PyObject *unused) {
  (void)unused;
  ScanObject *s = (ScanObject *)self;
  floe_table *table = ((TableObject *)s->table)->table;
  floe_scan *scan = NULL;
  floe_error err = {0};
  floe_scan_stats st;
  memset(&st, 0, sizeof st);
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = floe_scan_open(&scan, floe_table_metadata(table), floe_table_io(table), &s->opt, &err);
  while (rc == FLOE_OK) {
    struct ArrowArray batch;
    memset(&batch, 0, sizeof batch);
    rc = floe_scan_next(scan, &batch, &err);
    if (rc < 0 || batch.release == NULL) break;
    batch.release(&batch);
  }
  if (scan != NULL) floe_scan_get_stats(scan, &st);
  floe_scan_free(scan);
  Py_END_ALLOW_THREADS
  if (rc < 0) return raise_err(&err, rc);
  return Py_BuildValue("{s:L,s:L,s:L,s:L,s:L,s:L}", "rows_returned", (long long)st.rows_returned,
                       "rows_read", (long long)st.rows_read, "rows_deleted",
                       (long long)st.rows_deleted, "rows_eq_deleted",
                       (long long)st.rows_eq_deleted, "rows_filtered",
                       (long long)st.rows_filtered, "files_read", (long long)st.files_read);
}

static PyMethodDef Scan_methods[] = {
    {"__arrow_c_stream__", (PyCFunction)(void (*)(void))Scan_arrow_c_stream,
     METH_VARARGS | METH_KEYWORDS, "The scan as an Arrow C stream (PyCapsule interface)."},
    {"__arrow_c_schema__", Scan_arrow_c_schema, METH_NOARGS, "The scan's Arrow schema."},
    {"count", Scan_count, METH_NOARGS, "Reads the scan; returns its statistics."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Scan_slots[] = {{Py_tp_dealloc, (void *)Scan_dealloc},
                                   {Py_tp_methods, Scan_methods},
                                   {Py_tp_doc, "An Iceberg table scan (floe_scan)."},
                                   {0, NULL}};
static PyType_Spec Scan_spec = {"floe._floe.Scan", sizeof(ScanObject), 0,
                                Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, Scan_slots};

static PyMethodDef Table_methods[] = {
    {"name", Table_name, METH_NOARGS, NULL},
    {"metadata_location", Table_metadata_location, METH_NOARGS, NULL},
    {"metadata_json", Table_metadata_json, METH_NOARGS, NULL},
    {"refresh", Table_refresh, METH_NOARGS, NULL},
    {"data_files", Table_data_files, METH_VARARGS, NULL},
    {"scan", (PyCFunction)(void (*)(void))Table_scan, METH_VARARGS | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL}};

static PyType_Slot Table_slots[] = {{Py_tp_dealloc, (void *)Table_dealloc},
                                    {Py_tp_methods, Table_methods},
                                    {Py_tp_doc, "An Iceberg table (floe_table)."},
                                    {0, NULL}};
static PyType_Spec Table_spec = {"floe._floe.Table", sizeof(TableObject), 0, Py_TPFLAGS_DEFAULT,
                                 Table_slots};

/* ==== module ============================================================ */

static PyObject *error_code_name(PyObject *self, PyObject *arg) {
  (void)self;
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(floe_error_code_name((int)code));
}

static PyObject *exit_code_for(PyObject *self, PyObject *arg) {
  (void)self;
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyLong_FromLong(floe_replicate_exit_code((int)code));
}

static PyObject *config_sample(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  return PyUnicode_FromString(floe_config_sample());
}

static PyMethodDef module_methods[] = {
    {"load_config", (PyCFunction)(void (*)(void))load_config, METH_VARARGS | METH_KEYWORDS,
     "Loads a job file (path=) or job text (text=)."},
    {"open_catalog", (PyCFunction)(void (*)(void))open_catalog, METH_VARARGS | METH_KEYWORDS,
     "Opens a sql or hadoop catalog."},
    {"set_error_factory", set_error_factory, METH_O, NULL},
    {"set_log_callback", set_log_callback, METH_VARARGS, NULL},
    {"set_log_level", set_log_level, METH_O, NULL},
    {"error_code_name", error_code_name, METH_O, NULL},
    {"exit_code_for", exit_code_for, METH_O, NULL},
    {"config_sample", config_sample, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_floe",
                                        "libfloe, the C core of floe (see floe/__init__.py).",
                                        -1, module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__floe(void) {
  PyObject *m = PyModule_Create(&module_def);
  if (m == NULL) return NULL;
  ConfigType = PyType_FromSpec(&Config_spec);
  CatalogType = PyType_FromSpec(&Catalog_spec);
  TableType = PyType_FromSpec(&Table_spec);
  ScanType = PyType_FromSpec(&Scan_spec);
  if (ConfigType == NULL || CatalogType == NULL || TableType == NULL || ScanType == NULL) {
    Py_DECREF(m);
    return NULL;
  }
  Py_INCREF(ConfigType);
  Py_INCREF(CatalogType);
  Py_INCREF(TableType);
  Py_INCREF(ScanType);
  if (PyModule_AddObject(m, "Config", ConfigType) < 0 ||
      PyModule_AddObject(m, "Catalog", CatalogType) < 0 ||
      PyModule_AddObject(m, "Table", TableType) < 0 ||
      PyModule_AddObject(m, "Scan", ScanType) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  PyModule_AddIntConstant(m, "EXIT_OK", FLOE_REPLICATE_EXIT_OK);
  PyModule_AddIntConstant(m, "EXIT_FAILURE", FLOE_REPLICATE_EXIT_FAILURE);
  PyModule_AddIntConstant(m, "EXIT_USAGE", FLOE_REPLICATE_EXIT_USAGE);
  PyModule_AddIntConstant(m, "EXIT_VALIDATION", FLOE_REPLICATE_EXIT_VALIDATION);
  return m;
}
