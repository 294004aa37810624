-- floe control table: Snowflake.
--
-- The insert-only ledger of replicated batches (docs/replicate.md, "The
-- control table"). floe runs exactly these statements, with floe_control
-- replaced by the configured control.table (quoted); tests check that this
-- file matches the engine. Parameters are written :1, :2, ... (SQL API v2
-- numbered bindings); in a worksheet, replace them with literals.
-- Snowflake does not enforce the primary key: floe never inserts a
-- (table_name, batch_sk) that exists.
--
-- Columns: table_name  the key under `tables:` in floe.yaml
--          batch_sk    the batch number loaded up to (0: first sight; for
--                      cursor tables and full loads without a batch
--                      column: a load counter)
--          run_id      the run that inserted the row
--          inserted_at when (UTC)
--          watermark   cursor tables: the cursor value loaded up to
--          kind        init | load | repair: rows floe writes while loading
--                      (with a floe run id, a UUID); baseline: start_after
--                      or on_existing; manual: the user's (the default)
--
-- A last batch you provide (docs/replicate.md, "Switching to floe"): insert
-- a row of kind 'manual' (or run `floe control set TABLE N --reason ...`);
-- floe takes batches up to N as loaded and records a baseline commit on
-- the Iceberg table instead of compensating the row:
--   INSERT INTO floe_control (table_name, batch_sk, run_id, kind)
--   VALUES ('orders', 500, 'manual', 'manual');
-- Any row floe did not write while loading counts the same way, so rows
-- of a notebook-era control table are honoured as they are.

-- name: create
-- Creates the table when it is missing (floe does this on its first run).
CREATE TABLE IF NOT EXISTS floe_control (
  table_name  VARCHAR       NOT NULL,
  batch_sk    NUMBER(38, 0) NOT NULL,
  run_id      VARCHAR       NOT NULL,
  inserted_at TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),
  watermark   VARCHAR,
  kind        VARCHAR       NOT NULL DEFAULT 'manual',
  PRIMARY KEY (table_name, batch_sk)
);

-- name: latest
-- The latest batch replicated for table :1 (NULL: never seen).
SELECT max(batch_sk) FROM floe_control WHERE table_name = :1;

-- name: previous
-- The batch before :2 for table :1: the low end of the range :2 loaded.
SELECT max(batch_sk) FROM floe_control WHERE table_name = :1 AND batch_sk < :2;

-- name: history
-- Every row of table :1, oldest first. inserted_at is read as a typed value
-- (the SQL API sends it in a fixed encoding), never CAST to VARCHAR, which
-- would follow the account's TIMESTAMP_OUTPUT_FORMAT.
SELECT batch_sk, run_id, inserted_at, watermark, kind
FROM floe_control WHERE table_name = :1 ORDER BY batch_sk;

-- name: insert
-- Records a batch: :1 table, :2 batch_sk, :3 run_id, :4 watermark (or NULL),
-- :5 kind. Idempotent by itself: running it twice (a retried request)
-- inserts one row, since Snowflake does not enforce the primary key.
INSERT INTO floe_control (table_name, batch_sk, run_id, watermark, kind)
SELECT :1, :2, :3, :4, :5
WHERE NOT EXISTS (SELECT 1 FROM floe_control WHERE table_name = :1 AND batch_sk = :2);

-- name: compensate
-- Manual compensation: deletes the row (:1 table, :2 batch_sk) inserted by
-- run :3, and only while it is the table's latest row, so an older batch
-- can never be deleted by mistake. The next `floe run` loads the range
-- again. (floe compensates by itself when a load fails.)
DELETE FROM floe_control
WHERE table_name = :1 AND batch_sk = :2 AND run_id = :3
  AND batch_sk = (SELECT max(batch_sk) FROM floe_control WHERE table_name = :1);

-- name: latest_all
-- The latest batch of every table, and how many rows each has.
SELECT table_name, max(batch_sk) AS batch_sk, count(*) AS loads
FROM floe_control GROUP BY table_name ORDER BY table_name;
