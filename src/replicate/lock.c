/*
 * replicate/lock: one `floe run` at a time per table — a lease row per
 * table in a lock table next to the control table, in the source database.
 *
 * Why: reconciliation treats a control row above the last commit as the
 * leftover of a dead run and compensates it. That is only true when no
 * other run is loading the table right now; a second run starting while
 * the first is between its control insert and its commit would delete the
 * first one's row and load the range again (a double load). So a run takes
 * the table's lock before it reads or repairs anything, and holds it until
 * the table is done.
 *
 * The lock is a row (table_name, run_id, host, pid, acquired_at,
 * expires_at) in `<control>_lock`; times are epoch seconds of the
 * database's clock, so hosts with skewed clocks agree. Taking it:
 *
 *   1. insert the row if the table has none (ON CONFLICT DO NOTHING; one of
 *      two racing inserts wins);
 *   2. otherwise read the holder: it is ours (re-entrant), or it may be
 *      taken over when its lease expired, or when it was taken on this
 *      host by a process that no longer exists (kill -9, a crash: the next
 *      run need not wait out the lease); the takeover is an UPDATE guarded
 *      by the holder's run id (compare-and-swap), so two waiters cannot
 *      both win;
 *   3. otherwise wait (backoff 50 ms .. 1 s) and try again, up to the wait
 *      limit, then fail the table with the holder named.
 *
 * The holder renews its lease before each unit and right before each
 * catalog commit; a renewal that finds the row gone or taken over fails
 * the commit (the holder was presumed dead: it must not commit on top of
 * the new holder). Release deletes the row. Leases are 120 s and the wait
 * is 600 s by default; FLOE_LOCK_LEASE_SECONDS and FLOE_LOCK_WAIT_SECONDS
 * change them (tests, very long units).
 *
 * Limits: a holder on another host that died is taken over only after its
 * lease; a pid reused on the same host by a live process looks alive, so
 * that case also waits out the lease (safe, only slower). Snowflake has no
 * INSERT ... ON CONFLICT: the insert is a MERGE, which Snowflake runs one
 * at a time per table.
 */
#include "replicate/engine_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "floe/log.h"
#include "floe/source.h"
#include "floe/time.h"

enum { L_CREATE, L_INSERT, L_HOLDER, L_TAKE, L_RENEW, L_RELEASE, L_COUNT };

/* {lock} is the lock table, {now} the database clock in epoch seconds.
 * Parameters are numbered in order of first use (SQLite numbers its $N
 * names that way). */
static const char *const generic_sql[L_COUNT] = {
    "CREATE TABLE IF NOT EXISTS {lock} (\n"
    "  table_name  TEXT   NOT NULL PRIMARY KEY,\n"
    "  run_id      TEXT   NOT NULL,\n"
    "  host        TEXT   NOT NULL,\n"
    "  pid         BIGINT NOT NULL,\n"
    "  acquired_at BIGINT NOT NULL,\n"
    "  expires_at  BIGINT NOT NULL\n"
    ")",
    "INSERT INTO {lock} (table_name, run_id, host, pid, acquired_at, expires_at)\n"
    "VALUES ($1, $2, $3, $4, {now}, {now} + $5) ON CONFLICT (table_name) DO NOTHING",
    "SELECT run_id || ' ' || CAST(pid AS TEXT) || ' ' || CAST(expires_at - {now} AS TEXT)"
    " || ' ' || host FROM {lock} WHERE table_name = $1",
    "UPDATE {lock} SET run_id = $1, host = $2, pid = $3, acquired_at = {now},\n"
    "  expires_at = {now} + $4 WHERE table_name = $5 AND run_id = $6",
    "UPDATE {lock} SET expires_at = {now} + $1 WHERE table_name = $2 AND run_id = $3",
    "DELETE FROM {lock} WHERE table_name = $1 AND run_id = $2",
};

static const char *const snowflake_sql[L_COUNT] = {
    "CREATE TABLE IF NOT EXISTS {lock} (\n"
    "  table_name  VARCHAR NOT NULL PRIMARY KEY,\n"
    "  run_id      VARCHAR NOT NULL,\n"
    "  host        VARCHAR NOT NULL,\n"
    "  pid         NUMBER  NOT NULL,\n"
    "  acquired_at NUMBER  NOT NULL,\n"
    "  expires_at  NUMBER  NOT NULL\n"
    ")",
    "MERGE INTO {lock} l USING (SELECT :1 AS table_name) s ON l.table_name = s.table_name\n"
    "WHEN NOT MATCHED THEN INSERT (table_name, run_id, host, pid, acquired_at, expires_at)\n"
    "VALUES (:1, :2, :3, :4, {now}, {now} + :5)",
    "SELECT run_id || ' ' || CAST(pid AS VARCHAR) || ' ' || CAST(expires_at - {now} AS VARCHAR)"
    " || ' ' || host FROM {lock} WHERE table_name = :1",
    "UPDATE {lock} SET run_id = :1, host = :2, pid = :3, acquired_at = {now},\n"
    "  expires_at = {now} + :4 WHERE table_name = :5 AND run_id = :6",
    "UPDATE {lock} SET expires_at = {now} + :1 WHERE table_name = :2 AND run_id = :3",
    "DELETE FROM {lock} WHERE table_name = :1 AND run_id = :2",
};

static const char *now_sql(const char *dialect) {
  if (strcmp(dialect, "postgres") == 0)
    return "CAST(extract(epoch FROM clock_timestamp()) AS bigint)";
  if (strcmp(dialect, "snowflake") == 0) return "DATE_PART(epoch_second, CURRENT_TIMESTAMP())";
  return "CAST(strftime('%s', 'now') AS INTEGER)";
}

/* The lock table's quoted name: the control table's with "_lock" added to
 * its last part (inside the closing quote when it is quoted). */
static char *lock_table_sql(const floe_control *ctl) {
  const char *t = ctl->table_sql;
  size_t len = strlen(t);
  bool upper = strcmp(floe_source_dialect(ctl->src), "snowflake") == 0;
  const char *suffix = upper ? "_LOCK" : "_lock";
  if (len > 0 && (t[len - 1] == '"' || t[len - 1] == '`'))
    return floe_replicate_strdupf("%.*s%s%c", (int)(len - 1), t, suffix, t[len - 1]);
  return floe_replicate_strdupf("%s%s", t, suffix);
}

/* Replaces {lock} and {now} in `tmpl`. */
static int statement(const floe_control *ctl, int which, char **out, floe_error *err) {
  const char *dialect = floe_source_dialect(ctl->src);
  const char *tmpl = strcmp(dialect, "snowflake") == 0 ? snowflake_sql[which] : generic_sql[which];
  char *lock = lock_table_sql(ctl);
  floe_buf b;
  floe_buf_init(&b);
  int rc = lock ? FLOE_OK : FLOE_ENOMEM;
  for (const char *p = tmpl; rc == FLOE_OK && *p != '\0';) {
    if (strncmp(p, "{lock}", 6) == 0) {
      rc = floe_buf_append_str(&b, lock);
      p += 6;
    } else if (strncmp(p, "{now}", 5) == 0) {
      rc = floe_buf_append_str(&b, now_sql(dialect));
      p += 5;
    } else {
      rc = floe_buf_append(&b, p, 1);
      p++;
    }
  }
  if (rc == FLOE_OK) rc = floe_buf_terminate(&b);
  floe_free(lock);
  if (rc < 0) {
    floe_buf_free(&b);
    return floe_error_set(err, FLOE_ENOMEM, "out of memory");
  }
  *out = (char *)b.data;
  return FLOE_OK;
}

static int64_t env_seconds(const char *name, int64_t dflt) {
  const char *v = getenv(name);
  if (v == NULL || v[0] == '\0') return dflt;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  return end != v && *end == '\0' && n >= 0 ? (int64_t)n : dflt;
}

static void host_name(char *out, size_t size) {
  if (gethostname(out, size) != 0 || out[0] == '\0') snprintf(out, size, "localhost");
  out[size - 1] = '\0';
  for (char *p = out; *p; p++)
    if (*p == ' ') *p = '_';
}

/* Whether `pid` names a live process on this host (EPERM: it exists). */
static bool pid_alive(int64_t pid) {
  if (pid <= 0) return true; /* unknown: assume alive, wait for the lease */
  if (kill((pid_t)pid, 0) == 0) return true;
  return errno != ESRCH;
}

static int exec_rows(floe_control *ctl, int which, const floe_source_param *params, size_t n,
                     int64_t *rows, floe_error *err) {
  char *sql = NULL;
  int rc = statement(ctl, which, &sql, err);
  if (rc == FLOE_OK) rc = floe_source_exec(ctl->src, sql, params, n, rows, err);
  floe_free(sql);
  return rc;
}

typedef struct holder {
  char run_id[64];
  char host[256];
  int64_t pid;
  int64_t expires_in; /* seconds; <= 0 expired */
} holder;

/* Reads the table's lock row; *found false when there is none. */
static int read_holder(floe_control *ctl, const char *table_name, holder *h, bool *found,
                       floe_error *err) {
  char *sql = NULL, *text = NULL;
  floe_source_param p = floe_param_text(table_name);
  *found = false;
  memset(h, 0, sizeof *h);
  int rc = statement(ctl, L_HOLDER, &sql, err);
  if (rc == FLOE_OK) rc = floe_source_query_text(ctl->src, sql, &p, 1, &text, err);
  if (rc == FLOE_OK && text != NULL) {
    long long pid = 0, expires = 0;
    int used = 0;
    if (sscanf(text, "%63s %lld %lld %n", h->run_id, &pid, &expires, &used) >= 3) {
      snprintf(h->host, sizeof h->host, "%s", text + used);
      h->pid = pid;
      h->expires_in = expires;
      *found = true;
    } else {
      rc = floe_error_set(err, FLOE_ESOURCE, "unreadable lock row: %s", text);
    }
  }
  floe_free(text);
  floe_free(sql);
  return rc;
}

int floe_table_lock_acquire(floe_control *ctl, const char *table_name, const char *run_id,
                            floe_error *err) {
  int rc = FLOE_OK;
  char host[256];
  host_name(host, sizeof host);
  int64_t pid = (int64_t)getpid();
  int64_t lease = env_seconds("FLOE_LOCK_LEASE_SECONDS", 120);
  int64_t wait_s = env_seconds("FLOE_LOCK_WAIT_SECONDS", 600);
  int64_t started = floe_now_micros();
  int64_t backoff_ms = 50;
  bool logged_wait = false;
  rc = exec_rows(ctl, L_CREATE, NULL, 0, NULL, err);
  if (rc == FLOE_ESOURCE) { /* a concurrent create (see floe_control_create) */
    if (err) floe_error_init(err);
    rc = exec_rows(ctl, L_CREATE, NULL, 0, NULL, err);
  }
  if (rc < 0) goto cleanup;
  for (;;) {
    int64_t inserted = 0;
    floe_source_param ins[5] = {floe_param_text(table_name), floe_param_text(run_id),
                                floe_param_text(host), floe_param_int64(pid),
                                floe_param_int64(lease)};
    FLOE_TRY(exec_rows(ctl, L_INSERT, ins, 5, &inserted, err));
    if (inserted == 1) break;
    holder h;
    bool found = false;
    FLOE_TRY(read_holder(ctl, table_name, &h, &found, err));
    if (!found) continue; /* released meanwhile: insert again */
    if (strcmp(h.run_id, run_id) == 0) break;
    bool dead = strcmp(h.host, host) == 0 && !pid_alive(h.pid);
    if (dead || h.expires_in <= 0) {
      int64_t taken = 0;
      floe_source_param take[6] = {floe_param_text(run_id),   floe_param_text(host),
                                   floe_param_int64(pid),     floe_param_int64(lease),
                                   floe_param_text(table_name), floe_param_text(h.run_id)};
      FLOE_TRY(exec_rows(ctl, L_TAKE, take, 6, &taken, err));
      if (taken == 1) {
        floe_log(FLOE_LOG_WARN, "lock",
                 "table=%s action=take_over holder_run_id=%s holder_host=%s holder_pid=%lld "
                 "reason=%s",
                 table_name, h.run_id, h.host, (long long)h.pid,
                 dead ? "holder_process_gone" : "lease_expired");
        break;
      }
      continue; /* someone else took it first: look again */
    }
    int64_t waited_ms = (floe_now_micros() - started) / 1000;
    if (waited_ms >= wait_s * 1000) {
      rc = floe_error_set(err, FLOE_ECONFLICT,
                          "table is being loaded by another floe run (run_id %s on host %s, "
                          "pid %lld; its lease ends in %lld s); waited %lld s",
                          h.run_id, h.host, (long long)h.pid, (long long)h.expires_in,
                          (long long)(waited_ms / 1000));
      goto cleanup;
    }
    if (!logged_wait) {
      floe_log(FLOE_LOG_INFO, "lock", "table=%s action=wait holder_run_id=%s holder_host=%s "
               "holder_pid=%lld lease_left_s=%lld",
               table_name, h.run_id, h.host, (long long)h.pid, (long long)h.expires_in);
      logged_wait = true;
    }
    struct timespec ts = {backoff_ms / 1000, (long)(backoff_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
  }
  floe_log(FLOE_LOG_INFO, "lock", "table=%s action=acquire run_id=%s lease_s=%lld waited_ms=%lld",
           table_name, run_id, (long long)lease,
           (long long)((floe_now_micros() - started) / 1000));
cleanup:
  if (rc < 0) floe_error_prefix(err, "table lock");
  return rc;
}

int floe_table_lock_renew(floe_control *ctl, const char *table_name, const char *run_id,
                          floe_error *err) {
  int64_t renewed = 0;
  floe_source_param p[3] = {floe_param_int64(env_seconds("FLOE_LOCK_LEASE_SECONDS", 120)),
                            floe_param_text(table_name), floe_param_text(run_id)};
  int rc = exec_rows(ctl, L_RENEW, p, 3, &renewed, err);
  if (rc == FLOE_OK && renewed != 1)
    rc = floe_error_set(err, FLOE_ECONFLICT,
                        "this run no longer holds the table's lock (its lease expired and "
                        "another run took the table over); nothing more is committed");
  if (rc < 0) floe_error_prefix(err, "table lock");
  return rc;
}

void floe_table_lock_release(floe_control *ctl, const char *table_name, const char *run_id) {
  floe_error err = {0};
  floe_source_param p[2] = {floe_param_text(table_name), floe_param_text(run_id)};
  if (exec_rows(ctl, L_RELEASE, p, 2, NULL, &err) < 0)
    floe_log(FLOE_LOG_WARN, "lock", "table=%s action=release ok=0 error=%s", table_name,
             err.message);
}
