"""floe.Job: loading and validating job files (dict, YAML file, YAML text),
run / status / validate / control, reports and error mapping."""
import json

import pytest

import floe
from conftest import add_orders, job_config, source_rows


def test_job_from_dict_runs_and_reports_per_table(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    assert job.tables == ["orders"]
    report = job.run()
    assert report.status == "ok" and report.exit_code == 0 and report.ok
    t = report["orders"]
    assert t["status"] == "ok"
    assert t["target"] == "sales.orders"
    assert t["range"] == {"batch_sk_low": 0, "batch_sk_high": 2}
    assert t["rows_source"] == 1000 and t["rows_written"] == 1000
    assert t["commits"] == 1 and t["files"] == 3  # three days, day(order_ts)
    df = report.to_pandas()
    assert list(df["table"]) == ["orders"]
    assert int(df.loc[0, "rows_written"]) == 1000
    assert int(df.loc[0, "batch_sk_high"]) == 2
    assert df.loc[0, "snapshot_id"] == job.table("orders").current_snapshot_id


def test_second_run_is_nothing_new_then_a_new_batch_loads_only_its_rows(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    job.run()
    again = job.run()
    assert again["orders"]["status"] == "nothing_new" and again.exit_code == 0
    add_orders(source, 1001, 250, 3)
    third = job.run()
    assert third["orders"]["range"] == {"batch_sk_low": 2, "batch_sk_high": 3}
    assert third["orders"]["rows_written"] == 250
    assert job.table("orders").scan().count() == 1250


def test_from_yaml_file_resolves_relative_paths_against_the_file(tmp_path, source):
    (tmp_path / "floe.yaml").write_text(
        "version: 1\n"
        "source: {type: sqlite, path: ./source.db}\n"
        "target:\n"
        "  warehouse: ./warehouse\n"
        "  catalog: {type: sql, uri: 'sqlite:./catalog.db'}\n"
        "  namespace: sales\n"
        "tables:\n"
        "  orders: {}\n")
    job = floe.Job.from_yaml(tmp_path / "floe.yaml")
    assert job.path == str(tmp_path / "floe.yaml")
    report = job.run()
    assert report["orders"]["rows_written"] == 1000
    assert (tmp_path / "catalog.db").exists()
    # The same job as YAML text, with an override as `floe run --set` takes.
    text = (tmp_path / "floe.yaml").read_text().replace("./", str(tmp_path) + "/")
    job2 = floe.Job.from_yaml(text, overrides=["tables.orders.mode=overwrite"])
    assert job2.targets()[0]["mode"] == "overwrite"
    assert "mode: overwrite" in job2.to_yaml()


def test_config_errors_name_the_key_path_and_carry_exit_code_2(tmp_path, source):
    cfg = job_config(tmp_path, mode="upsert")
    cfg["tables"]["orders"]["stratgy"] = "full"
    with pytest.raises(floe.ConfigError) as e:
        floe.Job(cfg)
    err = e.value
    assert err.exit_code == 2 and err.code_name == "EINVAL"
    text = "\n".join(err.errors)
    assert len(err.errors) == 2
    assert "tables.orders.mode" in text and "did you mean merge" in text
    assert "tables.orders.stratgy" in text and "strategy" in text
    assert "tables.orders.mode" in str(err)


def test_yaml_syntax_error_is_a_config_error(tmp_path):
    with pytest.raises(floe.ConfigError) as e:
        floe.Job.from_yaml("version: 1\nsource: [unclosed\n")
    assert e.value.code_name == "EFORMAT" and e.value.exit_code == 2
    assert "floe.yaml" in str(e.value)


def test_missing_job_file_is_not_found(tmp_path):
    with pytest.raises(floe.NotFoundError) as e:
        floe.Job.from_yaml(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(e.value) and e.value.code_name == "ENOTFOUND"


def test_unknown_table_name_raises_before_anything_runs(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    with pytest.raises(floe.ConfigError) as e:
        job.run(tables=["nope"])
    assert "nope" in str(e.value) and "orders" in str(e.value)
    assert e.value.exit_code == 2
    assert job.control() == []


def test_a_failing_table_raises_run_error_with_the_report_and_exit_code_1(tmp_path, source):
    cfg = job_config(tmp_path)
    cfg["tables"]["ghost"] = {"source": "no_such_table"}
    job = floe.Job(cfg)
    with pytest.raises(floe.RunError) as e:
        job.run()
    err = e.value
    assert err.exit_code == 1
    assert err.report["orders"]["status"] == "ok"
    assert err.report["ghost"]["status"] == "failed"
    assert "no_such_table" in err.report["ghost"]["message"]
    # check=False returns the report instead.
    report = job.run(check=False)
    assert report.exit_code == 1 and report["orders"]["status"] == "nothing_new"


def test_dry_run_plans_and_writes_nothing(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    report = job.run(dry_run=True)
    assert report.dry_run and report["orders"]["status"] == "planned"
    assert report["orders"]["range"] == {"batch_sk_low": 0, "batch_sk_high": 2}
    assert job.control() == []
    assert job.status()[0]["table_exists"] is False


def test_status_and_control_table(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    report = job.run()
    st = job.status()
    assert len(st) == 1
    s = st[0]
    assert s["table"] == "orders" and s["target"] == "sales.orders"
    assert s["control_max"] == 2 and s["committed_high"] == 2
    assert s["live_rows"] == 1000 and s["last_run_id"] == report.run_id
    ctl = job.control()
    assert [(r["table_name"], r["batch_sk"], r["kind"]) for r in ctl] == \
        [("orders", 0, "init"), ("orders", 2, "load")]
    assert ctl[1]["run_id"] == report.run_id
    # The same rows as the source database holds them.
    assert source_rows(source, "SELECT table_name, batch_sk, run_id FROM floe_control "
                               "ORDER BY batch_sk") == \
        [(r["table_name"], r["batch_sk"], r["run_id"]) for r in ctl]
    assert list(ctl.to_pandas().columns) == ["table_name", "batch_sk", "run_id",
                                            "inserted_at", "watermark", "kind"]


def test_validate_recounts_and_reports_a_mismatch_with_exit_code_3(tmp_path, source):
    job = floe.Job(job_config(tmp_path))
    job.run()
    ok = job.validate()
    assert ok["orders"]["status"] == "ok" and ok.command == "validate"
    # Someone deletes source rows of a committed batch: validation must see it.
    import sqlite3
    db = sqlite3.connect(source)
    db.execute("DELETE FROM orders WHERE order_id <= 10")
    db.commit()
    db.close()
    with pytest.raises(floe.RunError) as e:
        job.validate()
    assert e.value.exit_code == 3
    assert e.value.report["orders"]["status"] == "mismatch"


def test_report_json_matches_the_cli_shape(tmp_path, source):
    report = floe.Job(job_config(tmp_path)).run()
    data = json.loads(report.to_json())
    assert set(data) >= {"run_id", "command", "dry_run", "started_ms", "finished_ms", "status",
                         "exit_code", "counts", "tables"}
    assert data["counts"]["ok"] == 1


def test_a_failing_check_raises_check_failed_with_the_failing_checks(tmp_path, source):
    cfg = job_config(tmp_path, checks=[
        {"type": "not_null", "column": "status", "name": "status_set"},
        {"type": "not_null", "column": "customer_id"},
        {"type": "range", "column": "amount", "min": 1000, "severity": "warn"}])
    job = floe.Job(cfg)
    with pytest.raises(floe.CheckFailed) as e:
        job.run()
    err = e.value
    assert isinstance(err, floe.RunError) and err.exit_code == 6
    assert err.tables == ["orders"]
    assert err.report["orders"]["status"] == "check_failed"
    # Only the failing check of severity fail; the warn one is in the report.
    nulls = source_rows(source, "SELECT count(*) FROM orders WHERE status IS NULL")[0][0]
    assert nulls > 0
    assert [(c["table"], c["name"], c["failing"]) for c in err.checks] == \
        [("orders", "status_set", nulls)]
    assert err.checks[0]["type"] == "not_null" and err.checks[0]["column"] == "status"
    warned = [c for c in err.report["orders"]["checks"] if c["severity"] == "warn"]
    assert len(warned) == 1 and not warned[0]["passed"]
    # Nothing committed, the control row compensated.
    assert [r["batch_sk"] for r in job.control()] == [0]
    report = job.run(check=False)
    assert report.exit_code == 6 and report.status == "check_failed"


def test_late_rows_fail_raises_late_rows_error_naming_the_range(tmp_path, source):
    job = floe.Job(job_config(tmp_path, late_rows="fail"))
    job.run()
    add_orders(source, 5001, 7, 1)  # arrives after batch 1 was loaded
    with pytest.raises(floe.LateRowsError) as e:
        job.run()
    err = e.value
    assert isinstance(err, floe.RunError) and err.exit_code == 5
    assert len(err.late) == 1 and err.late[0]["table"] == "orders"
    assert err.late[0]["rows_late"] == 7
    assert [(r["batch_sk_low"], r["batch_sk_high"]) for r in err.late[0]["late_ranges"]] == [(0, 2)]


def test_source_behind_fail_raises_source_behind_error(tmp_path, source):
    job = floe.Job(job_config(tmp_path, on_source_behind="fail"))
    job.run()
    import sqlite3
    db = sqlite3.connect(source)
    db.execute("DELETE FROM orders WHERE batch_sk = 2")
    db.commit()
    db.close()
    with pytest.raises(floe.SourceBehindError) as e:
        job.run()
    assert e.value.exit_code == 4 and e.value.tables == ["orders"]
    assert e.value.report["orders"]["status"] == "source_behind"
