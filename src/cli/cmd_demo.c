/*
 * cli/cmd_demo: `floe demo [--dir DIR]` — the main job on the embedded
 * default, start to finish, in a fresh directory.
 *
 * It builds a SQLite source with three tables that carry batch_sk (orders:
 * partitioned by day and bucketed by customer; customers: upserted on their
 * key; account_changes: change capture from an I/U/D column), writes the
 * job file, and then runs floe the way a data engineer would every hour:
 * case 1 (tables new to the control table), case 2 (new batches), nothing
 * new, then `floe status` and a few verification rows read back from the
 * Iceberg tables with `floe table scan`. Everything goes through the same
 * public API and sub-commands the user has; `make demo` calls this.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "floe.h"

#include "cli.h"

static const char *const schema_sql[] = {
    "CREATE TABLE orders ("
    " order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,"
    " order_ts TIMESTAMP NOT NULL, amount DECIMAL(10,2) NOT NULL,"
    " status TEXT, batch_sk INTEGER NOT NULL)",
    "CREATE TABLE customers ("
    " customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT,"
    " signup_date DATE, vip BOOLEAN NOT NULL, batch_sk INTEGER NOT NULL)",
    "CREATE TABLE account_changes ("
    " change_seq INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
    " op TEXT NOT NULL, owner TEXT, balance DECIMAL(12,2),"
    " batch_sk INTEGER NOT NULL)",
};

/* Batch 1: 1,200 orders over three days, 40 customers, 6 accounts. */
static const char *const batch1_sql[] = {
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)"
    " INSERT INTO orders SELECT i, 1 + (i * 7) % 40,"
    " datetime('2024-01-01', '+' || (i % 3) || ' days', '+' || (i * 37 % 86400) || ' seconds'),"
    " printf('%d.%02d', 5 + i * 13 % 500, i % 100),"
    " CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' ELSE 'shipped' END, 1 FROM n",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
    " INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com',"
    " date('2023-01-01', '+' || (i * 9) || ' days'), i % 5 = 0, 1 FROM n",
    "INSERT INTO account_changes VALUES"
    " (1, 101, 'I', 'ada', '120.00', 1), (2, 102, 'I', 'grace', '75.50', 1),"
    " (3, 103, 'I', 'alan', '10.00', 1), (4, 104, 'I', 'edsger', '999.99', 1),"
    " (5, 105, 'I', 'barbara', '0.00', 1), (6, 106, 'I', 'ken', '42.00', 1)",
};

/* Batches 2 and 3: 600 more orders on two new days; five customers change
 * (batch_sk moves to 2) and three are new; accounts are updated, deleted
 * and inserted. */
static const char *const batch2_sql[] = {
    "WITH RECURSIVE n(i) AS (SELECT 1201 UNION ALL SELECT i + 1 FROM n WHERE i < 1800)"
    " INSERT INTO orders SELECT i, 1 + (i * 7) % 43,"
    " datetime('2024-01-04', '+' || (i % 2) || ' days', '+' || (i * 37 % 86400) || ' seconds'),"
    " printf('%d.%02d', 5 + i * 13 % 500, i % 100), 'new', 2 + i % 2 FROM n",
    "UPDATE customers SET email = 'c' || customer_id || '@new.example.com', vip = 1,"
    " batch_sk = 2 WHERE customer_id IN (3, 7, 11, 19, 23)",
    "INSERT INTO customers VALUES"
    " (41, 'customer 41', 'c41@example.com', '2024-01-04', 0, 2),"
    " (42, 'customer 42', NULL, '2024-01-04', 1, 2),"
    " (43, 'customer 43', 'c43@example.com', NULL, 0, 3)",
    "INSERT INTO account_changes VALUES"
    " (7, 101, 'U', 'ada', '150.00', 2), (8, 103, 'D', NULL, NULL, 2),"
    " (9, 107, 'I', 'frances', '5.25', 2), (10, 104, 'U', 'edsger', '1000.00', 2),"
    " (11, 107, 'U', 'frances', '6.25', 3), (12, 105, 'D', NULL, NULL, 3)",
};

static const char job_yaml[] =
    "# floe demo job: a SQLite source into a local Iceberg warehouse with the\n"
    "# SQL catalog on SQLite. Run it yourself: floe run -c floe.yaml\n"
    "version: 1\n"
    "source:\n"
    "  type: sqlite\n"
    "  path: source.db\n"
    "target:\n"
    "  warehouse: warehouse\n"
    "  catalog: {type: sql, uri: \"sqlite:catalog.db\", name: floe}\n"
    "  namespace: demo\n"
    "logging:\n"
    "  level: warn\n"
    "run:\n"
    "  report: run-report.json\n"
    "defaults:\n"
    "  strategy: incremental\n"
    "  batch_column: batch_sk\n"
    "  mode: append\n"
    "  validate: {count: true, checksum: true}\n"
    "tables:\n"
    "  orders:                      # append, partitioned by day and bucketed\n"
    "    source: orders\n"
    "    target: demo.orders\n"
    "    partition_by: [day(order_ts), bucket(8, customer_id)]\n"
    "  customers:                   # upsert on the primary key\n"
    "    source: customers\n"
    "    target: demo.customers\n"
    "    mode: merge\n"
    "    primary_key: [customer_id]\n"
    "  accounts:                    # change capture: I/U/D in column op\n"
    "    source: account_changes\n"
    "    target: demo.accounts\n"
    "    mode: merge\n"
    "    primary_key: [account_id]\n"
    "    cdc: {type: op_column, column: op, sequence: change_seq}\n";

static int run_sql(floe_source *src, const char *const *sql, size_t n, floe_error *err) {
  for (size_t i = 0; i < n; i++) {
    int rc = floe_source_exec(src, sql[i], NULL, 0, NULL, err);
    if (rc < 0) return rc;
  }
  return FLOE_OK;
}

static int load_source(const char *path, const char *const *sql, size_t n, bool create) {
  floe_error err = {0};
  floe_source *src = NULL;
  floe_source_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.type = FLOE_SOURCE_SQLITE;
  cfg.sqlite_path = path;
  cfg.sqlite_create = create;
  int rc = floe_source_open(&src, &cfg, &err);
  if (rc == FLOE_OK && create)
    rc = run_sql(src, schema_sql, sizeof schema_sql / sizeof schema_sql[0], &err);
  if (rc == FLOE_OK) rc = run_sql(src, sql, n, &err);
  floe_source_close(src);
  if (rc < 0) fprintf(stderr, "floe demo: %s: %s\n", path, err.message);
  return rc;
}

static void heading(const char *text) { printf("\n=== %s\n\n", text); fflush(stdout); }

/* Runs a floe sub-command in this process, as if typed after `floe`. */
static int sub(int (*command)(int, char **), const char *const *args, int n) {
  char *argv[16];
  printf("$ floe");
  for (int i = 0; i < n && i < 16; i++) {
    argv[i] = (char *)args[i];
    printf(" %s", args[i]);
  }
  printf("\n");
  fflush(stdout);
  int code = command(n, argv);
  fflush(stdout);
  return code;
}

static int usage(FILE *out, int code) {
  fprintf(out,
          "usage: floe demo [--dir DIR]\n"
          "\n"
          "Builds a SQLite source (DIR/source.db) with three tables carrying batch_sk,\n"
          "writes the job file DIR/floe.yaml, and replicates into an Iceberg warehouse\n"
          "(DIR/warehouse, SQL catalog DIR/catalog.db): case 1, new batches (case 2),\n"
          "nothing new, then status and verification rows. DIR (default ./demo) is\n"
          "replaced.\n");
  return code;
}

int floe_cli_demo(int argc, char **argv) {
  const char *dir = "demo";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      dir = argv[++i];
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return usage(stdout, FLOE_EXIT_OK);
    else
      return usage(stderr, FLOE_EXIT_USAGE);
  }
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf -- '%s' && mkdir -p -- '%s'", dir, dir);
  if (strchr(dir, '\'') != NULL || system(cmd) != 0) {
    fprintf(stderr, "floe demo: cannot create directory '%s'\n", dir);
    return FLOE_EXIT_FAILURE;
  }
  if (chdir(dir) != 0) {
    fprintf(stderr, "floe demo: %s: %s\n", dir, strerror(errno));
    return FLOE_EXIT_FAILURE;
  }
  FILE *f = fopen("floe.yaml", "w");
  if (f == NULL || fputs(job_yaml, f) == EOF || fclose(f) != 0) {
    fprintf(stderr, "floe demo: cannot write floe.yaml\n");
    return FLOE_EXIT_FAILURE;
  }

  heading("1. a SQLite source with three tables carrying batch_sk (batch 1)");
  if (load_source("source.db", batch1_sql, sizeof batch1_sql / sizeof batch1_sql[0], true) < 0)
    return FLOE_EXIT_FAILURE;
  printf("%s/source.db: orders (1200 rows), customers (40), account_changes (6 I/U/D rows)\n"
         "%s/floe.yaml:\n\n%s", dir, dir, job_yaml);

  static const char *const run[] = {"run", "-c", "floe.yaml"};
  static const char *const status[] = {"status", "-c", "floe.yaml"};
  heading("2. first run (case 1: tables new to the control table get (table, 0), then load 0 < batch_sk <= max)");
  if (sub(floe_cli_run, run, 3) != 0) return FLOE_EXIT_FAILURE;

  heading("3. new batches arrive: 600 orders (batches 2-3), 5 customers change and 3 are new, accounts updated/deleted/inserted");
  if (load_source("source.db", batch2_sql, sizeof batch2_sql / sizeof batch2_sql[0], false) < 0)
    return FLOE_EXIT_FAILURE;
  heading("4. second run (case 2: source max > control max -> insert a control row, load the new range)");
  if (sub(floe_cli_run, run, 3) != 0) return FLOE_EXIT_FAILURE;

  heading("5. third run: nothing new (not an error)");
  if (sub(floe_cli_run, run, 3) != 0) return FLOE_EXIT_FAILURE;

  heading("6. status: control table max, committed watermark, snapshot, rows");
  if (sub(floe_cli_status, status, 3) != 0) return FLOE_EXIT_FAILURE;

  heading("7. verification: read the Iceberg tables back");
  static const char *const scan_customers[] = {
      "table", "scan", "demo.customers", "-c", "floe.yaml",
      "--columns", "customer_id,email,vip,batch_sk", "--limit", "8"};
  static const char *const scan_accounts[] = {"table", "scan", "demo.accounts", "-c", "floe.yaml"};
  static const char *const inspect_orders[] = {"table", "inspect", "demo.orders", "-c",
                                               "floe.yaml", "--limit", "6"};
  if (sub(floe_cli_table, scan_customers, 9) != 0) return FLOE_EXIT_FAILURE;
  printf("\n");
  if (sub(floe_cli_table, scan_accounts, 5) != 0) return FLOE_EXIT_FAILURE;
  printf("\n");
  if (sub(floe_cli_table, inspect_orders, 7) != 0) return FLOE_EXIT_FAILURE;

  printf("\nThe warehouse is in %s/warehouse, the catalog in %s/catalog.db (JDBC catalog\n"
         "schema: Spark, PyIceberg and DuckDB read it; see README, \"Reading the result\").\n"
         "Try: cd %s && floe run -c floe.yaml --dry-run\n",
         dir, dir, dir);
  return FLOE_EXIT_OK;
}
