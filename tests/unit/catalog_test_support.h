/*
 * tests/unit/catalog_test_support.h: shared set-up for the catalog tests:
 * scratch directories, a throwaway PostgreSQL server (tests/support/pg.sh)
 * and opening each kind of catalog (hadoop; sql on SQLite; sql on
 * PostgreSQL) with one call, so every behaviour test runs on all three.
 */
#ifndef FLOE_CATALOG_TEST_SUPPORT_H
#define FLOE_CATALOG_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floe/catalog.h"

typedef enum { KIND_HADOOP, KIND_SQLITE, KIND_POSTGRES } catalog_kind;

static const char *const kind_names[] = {"hadoop", "sqlite", "postgres"};

static char pg_dir[256];
static char pg_conninfo[512];
static const char *pg_skip_reason; /* non-NULL when PostgreSQL is missing */

/* A fresh absolute scratch directory build/tmp/<name>. */
static inline int scratch_path(const char *name, char *out, size_t cap) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "rm -rf 'tmp/%s' && mkdir -p 'tmp/%s'", name,
           name);
  if (system(cmd) != 0) return -1;
  snprintf(cmd, sizeof cmd, "tmp/%s", name);
  char *abs = realpath(cmd, NULL);
  if (abs == NULL) return -1;
  snprintf(out, cap, "%s", abs);
  free(abs);
  return 0;
}

/* Starts the PostgreSQL server once per test binary. */
static inline void pg_start(void) {
  snprintf(pg_dir, sizeof pg_dir, "/tmp/floe-pg.XXXXXX");
  if (mkdtemp(pg_dir) == NULL) {
    pg_skip_reason = "mkdtemp failed";
    return;
  }
  char cmd[1024];
  /* pg.sh's watchdog stops the server if this process dies early. */
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh start '%s' %d",
           FLOE_SOURCE_DIR, pg_dir, (int)getpid());
  FILE *p = popen(cmd, "r");
  if (p == NULL) {
    pg_skip_reason = "cannot run tests/support/pg.sh";
    return;
  }
  if (fgets(pg_conninfo, sizeof pg_conninfo, p) == NULL) pg_conninfo[0] = 0;
  int status = pclose(p);
  size_t len = strlen(pg_conninfo);
  while (len > 0 && pg_conninfo[len - 1] == '\n') pg_conninfo[--len] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
    pg_skip_reason =
        WIFEXITED(status) && WEXITSTATUS(status) == 77
            ? "PostgreSQL binaries missing (Debian package postgresql-15)"
            : "tests/support/pg.sh could not start PostgreSQL";
    fprintf(stderr, "postgres tests will fail: %s\n", pg_skip_reason);
    rmdir(pg_dir);
    pg_dir[0] = '\0';
  }
}

static inline void pg_stop(void) {
  if (pg_dir[0] == '\0') return;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/tests/support/pg.sh stop '%s'",
           FLOE_SOURCE_DIR, pg_dir);
  if (system(cmd) != 0) fprintf(stderr, "pg.sh stop failed\n");
}

/* Everything a test needs to (re)open one catalog. */
typedef struct catalog_env {
  catalog_kind kind;
  char dir[4096];       /* scratch directory */
  char warehouse[4200]; /* <dir>/warehouse */
  char sql_uri[4300];   /* SQLite file or PostgreSQL conninfo */
  char name[128];       /* catalog_name: unique per test on PostgreSQL */
} catalog_env;

/* Prepares env for `test` on `kind`; returns a skip reason or NULL. */
static inline const char *catalog_env_init(catalog_env *env, catalog_kind kind,
                                           const char *test) {
  memset(env, 0, sizeof *env);
  env->kind = kind;
  char scratch[256];
  snprintf(scratch, sizeof scratch, "%s_%s", test, kind_names[kind]);
  if (scratch_path(scratch, env->dir, sizeof env->dir) != 0)
    return "cannot make a scratch directory";
  snprintf(env->warehouse, sizeof env->warehouse, "%s/warehouse", env->dir);
  snprintf(env->name, sizeof env->name, "%s_%d", test, (int)getpid());
  if (kind == KIND_SQLITE)
    snprintf(env->sql_uri, sizeof env->sql_uri, "%s/catalog.db", env->dir);
  if (kind == KIND_POSTGRES) {
    if (pg_skip_reason != NULL) return pg_skip_reason;
    snprintf(env->sql_uri, sizeof env->sql_uri, "%s", pg_conninfo);
  }
  return NULL;
}

static inline int catalog_env_open(const catalog_env *env, floe_catalog **out,
                                   floe_error *err) {
  floe_catalog_config config = {0};
  config.type = env->kind == KIND_HADOOP ? FLOE_CATALOG_HADOOP
                                         : FLOE_CATALOG_SQL;
  config.name = env->name;
  config.warehouse = env->warehouse;
  config.sql_uri = env->kind == KIND_HADOOP ? NULL : env->sql_uri;
  config.durable = -1;
  return floe_catalog_open(&config, out, err);
}

#endif
