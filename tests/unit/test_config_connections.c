/*
 * Unit tests of config/connections.c: `source.connection: NAME` completes a
 * Snowflake source from Snowflake's connections.toml, found as the drivers
 * find it (SNOWFLAKE_HOME, ~/.snowflake, XDG), with the job file's keys
 * winning, the drivers' authenticator names translated, permissions checked
 * as the Python connector does, the default connection resolved, and every
 * TOML error reported as file:line:col. Also the query_tag key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "floe/config.h"
#include "test.h"

static char home[256];
static char toml_path[300];

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return;
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static void write_connections(const char *text) { write_file(toml_path, text, 0600); }

static int load(floe_config *cfg, const char *source_keys, floe_error *err) {
  char text[2048];
  snprintf(text, sizeof text,
           "version: 1\n"
           "source:\n"
           "  type: snowflake\n"
           "%s"
           "target:\n"
           "  warehouse: /tmp/wh\n"
           "  catalog: {type: hadoop}\n"
           "tables:\n"
           "  orders: {}\n",
           source_keys);
  return floe_config_load_string(cfg, "floe.yaml", text, strlen(text), NULL, 0, err);
}

static const char *const good_file =
    "# written by snow connection add\n"
    "[prod]\n"
    "account = \"myorg-prod\"\n"
    "user = 'LOADER'   # literal string\n"
    "authenticator = \"SNOWFLAKE_JWT\"\n"
    "private_key_path = \"/keys/loader.p8\"\n"
    "warehouse = \"LOAD_WH\"\n"
    "role = \"LOADER_ROLE\"\n"
    "database = \"RAW\"\n"
    "schema = \"SALES\"\n"
    "port = 443\n"
    "client_session_keep_alive = true\n"
    "password = \"not used by floe\"\n"
    "\n"
    "[\"dev box\"]\n"
    "account = \"myorg-dev\"\n"
    "user = \"ME\"\n"
    "authenticator = \"oauth\"\n"
    "token = \"tok\\u00e9n-123\"\n";

static void test_connection_fills_what_the_job_leaves_out(void) {
  floe_config cfg;
  floe_error err = {0};
  write_connections(good_file);
  REQUIRE_OK(load(&cfg, "  connection: prod\n  schema: ORDERS_ONLY\n", &err), &err);
  CHECK_STR_EQ(cfg.source.account, "myorg-prod");
  CHECK_STR_EQ(cfg.source.user, "LOADER");
  CHECK_INT_EQ(cfg.source.authenticator, FLOE_SNOWFLAKE_AUTH_KEYPAIR);
  CHECK_STR_EQ(cfg.source.private_key_file, "/keys/loader.p8");
  CHECK_STR_EQ(cfg.source.warehouse, "LOAD_WH");
  CHECK_STR_EQ(cfg.source.role, "LOADER_ROLE");
  CHECK_STR_EQ(cfg.source.database, "RAW");
  CHECK_STR_EQ(cfg.source.schema, "ORDERS_ONLY"); /* the job file wins */
  CHECK_STR_EQ(cfg.source.connection, "prod");
  floe_config_free(&cfg);

  REQUIRE_OK(load(&cfg, "  connection: dev box\n", &err), &err);
  CHECK_STR_EQ(cfg.source.account, "myorg-dev");
  CHECK_INT_EQ(cfg.source.authenticator, FLOE_SNOWFLAKE_AUTH_OAUTH);
  CHECK_STR_EQ(cfg.source.token, "tok\xc3\xa9n-123");
  floe_config_free(&cfg);
}

static void test_default_connection_follows_the_drivers_rules(void) {
  floe_config cfg;
  floe_error err = {0};
  char config_toml[300];
  snprintf(config_toml, sizeof config_toml, "%s/config.toml", home);
  write_connections(good_file);
  /* No config.toml, no variable: the table named "default". */
  unlink(config_toml);
  CHECK(load(&cfg, "  connection: default\n", &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "connection 'default' is not in") != NULL);
  CHECK(strstr(err.message, "(it has: prod, dev box)") != NULL);
  floe_config_free(&cfg);
  /* config.toml names it. */
  write_file(config_toml, "default_connection_name = \"dev box\"\n[cli.logs]\nsave_logs = false\n",
             0600);
  REQUIRE_OK(load(&cfg, "  connection: default\n", &err), &err);
  CHECK_STR_EQ(cfg.source.account, "myorg-dev");
  floe_config_free(&cfg);
  /* The environment variable wins over config.toml. */
  setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "prod", 1);
  REQUIRE_OK(load(&cfg, "  connection: default\n", &err), &err);
  CHECK_STR_EQ(cfg.source.account, "myorg-prod");
  floe_config_free(&cfg);
  unsetenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME");
  unlink(config_toml);
}

static void test_file_writable_by_others_is_refused(void) {
  floe_config cfg;
  floe_error err = {0};
  write_connections(good_file);
  chmod(toml_path, 0620);
  CHECK(load(&cfg, "  connection: prod\n", &err) == FLOE_EINVAL);
  CHECK(strstr(err.message, "floe.yaml:4:15: source.connection: ") == err.message);
  CHECK(strstr(err.message, "is writable by group or others (mode 620)") != NULL);
  floe_config_free(&cfg);
  /* Readable by others is only a warning (logged). */
  chmod(toml_path, 0644);
  REQUIRE_OK(load(&cfg, "  connection: prod\n", &err), &err);
  floe_config_free(&cfg);
}

static void test_missing_file_and_unknown_connection_say_where_they_looked(void) {
  floe_config cfg;
  floe_error err = {0};
  unlink(toml_path);
  CHECK(load(&cfg, "  connection: prod\n", &err) == FLOE_EINVAL);
  char want[600];
  snprintf(want, sizeof want,
           "floe.yaml:4:15: source.connection: connection 'prod': %s does not exist (set "
           "SNOWFLAKE_HOME to the directory that holds connections.toml)",
           toml_path);
  CHECK_STR_EQ(err.message, want);
  floe_config_free(&cfg);
}

/* Each malformed file: the exact message, with file:line:col. */
static void test_toml_errors_name_file_line_and_column(void) {
  static const struct {
    const char *text;
    int line, column;
    const char *message;
  } cases[] = {
      {"[prod]\naccount = \"x\nuser = \"y\"\n", 2, 13, "unterminated string"},
      {"[prod]\naccount = x\n", 2, 11, "not a string, integer or boolean (strings need quotes)"},
      {"[prod]\nport = 0443\n", 2, 8, "not a string, integer or boolean (strings need quotes)"},
      {"[prod]\nhosts = [\"a\"]\n", 2, 9, "arrays and inline tables are not supported in this file"},
      {"[prod]\naccount = \"a\"\naccount = \"b\"\n", 3, 1, "duplicate key"},
      {"[prod]\naccount = \"a\" user = \"b\"\n", 2, 15,
       "unexpected text after the value (one key = value per line)"},
      {"[prod\naccount = \"a\"\n", 1, 6, "']' expected at the end of a table header"},
      {"[prod]\n[prod]\n", 2, 7, "table defined twice"},
      {"[[prod]]\n", 1, 2, "arrays of tables ([[...]]) are not supported in this file"},
      {"[prod]\nuser = \"a\\qb\"\n", 2, 11, "unknown escape sequence in a string"},
      {"[prod]\nuser = \"\"\"a\"\"\"\n", 2, 8, "multi-line strings are not supported in this file"},
      {"[prod]\na.b = 1\n", 2, 2, "dotted keys are not supported in this file (use a [table] header)"},
      {"[prod]\n= 1\n", 2, 1, "a key expected"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    floe_config cfg;
    floe_error err = {0};
    write_connections(cases[i].text);
    CHECK(load(&cfg, "  connection: prod\n", &err) != FLOE_OK);
    char want[600];
    snprintf(want, sizeof want, "%s:%d:%d: %s", toml_path, cases[i].line, cases[i].column,
             cases[i].message);
    if (strcmp(err.message, want) != 0)
      TEST_FAIL_AT(__FILE__, __LINE__, "case %zu:\n      got      %s\n      expected %s", i,
                   err.message, want);
    floe_config_free(&cfg);
  }
}

static void test_values_from_the_file_are_checked_where_they_were_written(void) {
  floe_config cfg;
  floe_error err = {0};
  write_connections("[prod]\naccount = \"a\"\nuser = \"u\"\nauthenticator = \"externalbrowser\"\n"
                    "private_key_file = \"/k.p8\"\nprivate_key_file_pwd = \"secret\"\n");
  CHECK(load(&cfg, "  connection: prod\n", &err) == FLOE_EINVAL);
  char want[800];
  snprintf(want, sizeof want,
           "%s:4:17: source.authenticator: authenticator 'externalbrowser' from connection "
           "'prod' is not one floe signs in with (SNOWFLAKE_JWT, OAUTH or "
           "PROGRAMMATIC_ACCESS_TOKEN) (and 1 more error)",
           toml_path);
  CHECK_STR_EQ(err.message, want);
  CHECK_INT_EQ(floe_config_error_count(&cfg), 2);
  if (floe_config_error_count(&cfg) == 2) {
    snprintf(want, sizeof want,
             "%s:6:1: prod.private_key_file_pwd: not read by floe: set "
             "source.private_key_passphrase_env in the job file",
             toml_path);
    CHECK_STR_EQ(floe_config_error_message(&cfg, 1), want);
  }
  floe_config_free(&cfg);
  /* A connection on a postgres source is a mistake worth naming. */
  const char *pg =
      "version: 1\nsource: {type: postgres, conninfo: \"dbname=x\", connection: prod}\n"
      "target: {warehouse: /tmp/wh, catalog: {type: hadoop}}\ntables: {orders: {}}\n";
  CHECK(floe_config_load_string(&cfg, "floe.yaml", pg, strlen(pg), NULL, 0, &err) ==
        FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "floe.yaml:2:48: source.connection: not used by a postgres source "
                            "(it is a snowflake setting)");
  floe_config_free(&cfg);
}

static void test_query_tag_key(void) {
  floe_config cfg;
  floe_error err = {0};
  REQUIRE_OK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n", &err), &err);
  CHECK(!cfg.source.query_tag_set);
  floe_config_free(&cfg);
  REQUIRE_OK(load(&cfg,
                  "  account: a\n  user: u\n  private_key_file: /k.p8\n"
                  "  query_tag: \"nightly {run_id}\"\n",
                  &err),
             &err);
  CHECK(cfg.source.query_tag_set);
  CHECK_STR_EQ(cfg.source.query_tag, "nightly {run_id}");
  floe_config_free(&cfg);
  REQUIRE_OK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n  query_tag: null\n",
                  &err),
             &err);
  CHECK(cfg.source.query_tag_set);
  CHECK(cfg.source.query_tag == NULL);
  floe_config_free(&cfg);
}

static void test_prefetch_partitions_key(void) {
  floe_config cfg;
  floe_error err = {0};
  REQUIRE_OK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n", &err), &err);
  CHECK_INT_EQ(cfg.source.prefetch_partitions, 0); /* not set: the driver's default */
  floe_config_free(&cfg);
  REQUIRE_OK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n"
                        "  prefetch_partitions: 8\n", &err),
             &err);
  CHECK_INT_EQ(cfg.source.prefetch_partitions, 8);
  floe_config_free(&cfg);
  CHECK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n"
                   "  prefetch_partitions: 0\n", &err) == FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "floe.yaml:7:24: source.prefetch_partitions: must be at least 1, "
                            "got '0'");
  floe_config_free(&cfg);
  CHECK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n"
                   "  prefetch_partitions: 65\n", &err) == FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "floe.yaml:7:24: source.prefetch_partitions: must be at most 64, "
                            "got 65");
  floe_config_free(&cfg);
  CHECK(load(&cfg, "  account: a\n  user: u\n  private_key_file: /k.p8\n"
                   "  prefetch_partitions: lots\n", &err) == FLOE_EINVAL);
  CHECK_STR_EQ(err.message, "floe.yaml:7:24: source.prefetch_partitions: integer expected, "
                            "got 'lots'");
  floe_config_free(&cfg);
}

int main(void) {
  char tmpl[] = "/tmp/floe-connections-XXXXXX";
  if (mkdtemp(tmpl) == NULL) return 1;
  snprintf(home, sizeof home, "%s", tmpl);
  snprintf(toml_path, sizeof toml_path, "%s/connections.toml", home);
  setenv("SNOWFLAKE_HOME", home, 1);
  unsetenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME");
  RUN(test_connection_fills_what_the_job_leaves_out);
  RUN(test_default_connection_follows_the_drivers_rules);
  RUN(test_file_writable_by_others_is_refused);
  RUN(test_missing_file_and_unknown_connection_say_where_they_looked);
  RUN(test_toml_errors_name_file_line_and_column);
  RUN(test_values_from_the_file_are_checked_where_they_were_written);
  RUN(test_query_tag_key);
  RUN(test_prefetch_partitions_key);
  unlink(toml_path);
  rmdir(home);
  return test_report();
}
