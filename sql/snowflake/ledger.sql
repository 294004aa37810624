-- floe change capture on Snowflake: the stream ledger and the CHANGES window.
--
-- What floe runs for a table with `cdc: {type: stream, stream: ...}` or
-- `cdc: {type: changes}` (docs/snowflake.md, "The seed workflow on
-- Snowflake"). The statements depend on the table's columns, so this file
-- shows them for one example, written as floe sends them (identifiers are
-- quoted on the wire: "ITEMS" there is ITEMS here); tests/e2e/snowflake.
-- test.mjs checks that floe sends exactly these for the same table:
--
--   CREATE TABLE items (id NUMBER(10,0) PRIMARY KEY, name VARCHAR, price NUMBER(10,2));
--   CREATE STREAM items_changes ON TABLE items;
--   floe.yaml:  items: {mode: merge, cdc: {type: stream, stream: items_changes}}
--
-- Parameters are :1, :2 (SQL API bindings); {1}, {2} are literals.
--
-- The ledger, <table>_FLOE_LEDGER (the key under `tables:`, in control.schema
-- when set, else beside the source table): the stream's columns and
-- METADATA$ columns, the batch number floe stamped (FLOE_BATCH_SK; the
-- control table's batch_sk of that load) and the row's place in the batch
-- (FLOE_ROW: deletes first, so a key's old row precedes its new one). A
-- batch stays until the next one is staged, so the last load can be
-- inspected; nothing else reads the ledger.
--
-- Exactly once: a stream's offset moves only when a DML statement that reads
-- it commits. floe reads the stream only inside the `stage` transaction,
-- which also puts every row it read into the ledger, so either both happen
-- or neither. The merge into Iceberg then reads the ledger, and the Iceberg
-- commit records the batch (floe.batch-sk.high). A run that finds
-- max(FLOE_BATCH_SK) above the last committed batch (a crash or failure
-- after `stage`) loads that batch from the ledger and does not read the
-- stream.

-- name: create
-- Made (or completed with ADD COLUMN for source columns added later) at the
-- start of every run of the table.
CREATE TABLE IF NOT EXISTS ITEMS_FLOE_LEDGER (
  ID NUMBER(10,0),
  NAME TEXT,
  PRICE NUMBER(10,2),
  METADATA$ACTION   VARCHAR,
  METADATA$ISUPDATE BOOLEAN,
  METADATA$ROW_ID   VARCHAR,
  FLOE_BATCH_SK     NUMBER(38, 0) NOT NULL,
  FLOE_ROW          NUMBER(38, 0) NOT NULL
);

-- name: staged_max
-- The last staged batch; above the committed one: finish it.
SELECT max(FLOE_BATCH_SK) FROM ITEMS_FLOE_LEDGER;

-- name: pending
-- Whether the stream has changes (a SELECT does not move its offset).
SELECT count(*) FROM ITEMS_CHANGES;

-- name: stage
-- One SQL API request, one transaction: drop the batches up to {1} (the
-- last committed one), copy the stream in as batch {2}. The transaction is
-- a Snowflake Scripting block sent with EXECUTE IMMEDIATE, whose handler
-- rolls back and re-raises, so a failing statement never leaves the
-- transaction open (a session that ends inside one leaves it detached,
-- holding locks). Bind variables are not supported in multi-statement
-- requests, so {1} and {2} are sent as integer literals, not :1 and :2.
EXECUTE IMMEDIATE 'BEGIN
BEGIN TRANSACTION;
DELETE FROM ITEMS_FLOE_LEDGER WHERE FLOE_BATCH_SK <= {1};
INSERT INTO ITEMS_FLOE_LEDGER (ID, NAME, PRICE, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, FLOE_BATCH_SK, FLOE_ROW)
SELECT ID, NAME, PRICE, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, {2}, ROW_NUMBER() OVER (ORDER BY METADATA$ACTION, METADATA$ROW_ID)
FROM ITEMS_CHANGES;
COMMIT;
EXCEPTION
  WHEN OTHER THEN
    ROLLBACK;
    RAISE;
END;';

-- name: staged_rows
-- Rows staged under batch :1 (0: the stream emptied meanwhile; nothing new).
SELECT count(*) FROM ITEMS_FLOE_LEDGER WHERE FLOE_BATCH_SK = :1;

-- name: load
-- The change rows merged into Iceberg for the batches (:1, :2]: an update is
-- a DELETE and an INSERT with METADATA$ISUPDATE; the merge applies D as a
-- delete of the key and I/U as an upsert, the last row of a key winning.
SELECT ID, NAME, PRICE, CASE WHEN METADATA$ACTION = 'DELETE' THEN 'D' WHEN METADATA$ISUPDATE THEN 'U' ELSE 'I' END AS FLOE$OP FROM ITEMS_FLOE_LEDGER WHERE FLOE_BATCH_SK > :1 AND FLOE_BATCH_SK <= :2 ORDER BY FLOE_BATCH_SK, FLOE_ROW;

-- name: load_count
-- Validation: rows of the same batches.
SELECT count(*) FROM ITEMS_FLOE_LEDGER WHERE FLOE_BATCH_SK > :1 AND FLOE_BATCH_SK <= :2;

-- name: copy
-- The first load of a stream or CHANGES table copies it whole, as inserts.
SELECT ID, NAME, PRICE, 'I' AS FLOE$OP FROM ITEMS;

-- CHANGES (`cdc: {type: changes}`, the table needs CHANGE_TRACKING = TRUE):
-- no ledger. The window (:1, :2] is fixed by two positions, so reading it
-- again reads the same changes ("CHANGES": END is inclusive; AT is the
-- Time Travel point, whose state includes changes made at that instant, so
-- consecutive windows chain without overlap); :1 is floe.changes.end of the last commit,
-- :2 the source's CURRENT_TIMESTAMP() read at the start of the run, both as
-- text ("2024-05-01 10:00:00.123456+00:00"). The commit records both
-- (floe.changes.start, floe.changes.end) and the control row's watermark
-- holds :2.

-- name: now
SELECT CURRENT_TIMESTAMP();

-- name: changes_probe
-- The first run's check that the table tracks changes: the changes since
-- :1 (the copy's position) with END omitted, which "CHANGES" documents (the
-- interval then ends now). A window whose END equals its AT is not
-- documented and is not used.
SELECT count(*) FROM ITEMS CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => TO_TIMESTAMP_TZ(:1));

-- name: changes
SELECT ID, NAME, PRICE, CASE WHEN METADATA$ACTION = 'DELETE' THEN 'D' WHEN METADATA$ISUPDATE THEN 'U' ELSE 'I' END AS FLOE$OP FROM ITEMS CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => TO_TIMESTAMP_TZ(:1)) END(TIMESTAMP => TO_TIMESTAMP_TZ(:2)) ORDER BY METADATA$ACTION;

-- name: changes_count
SELECT count(*) FROM ITEMS CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => TO_TIMESTAMP_TZ(:1)) END(TIMESTAMP => TO_TIMESTAMP_TZ(:2));
