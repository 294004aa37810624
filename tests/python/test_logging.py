"""floe's log events reach Python's logging (logger "floe")."""
import logging

import floe
from conftest import job_config


def test_log_events_reach_the_floe_logger(tmp_path, source, caplog):
    caplog.set_level(logging.INFO, logger="floe")
    report = floe.Job(job_config(tmp_path)).run()
    records = [r for r in caplog.records if r.name == "floe"]
    events = [r.floe_event for r in records]
    assert "control_insert" in events and "commit" in events and "table_done" in events
    commit = next(r for r in records if r.floe_event == "commit")
    assert commit.levelno == logging.INFO
    assert "table=orders" in commit.getMessage()
    assert f"run_id={report.run_id}" in next(
        r.getMessage() for r in records if r.floe_event == "run")


def test_logger_level_filters_what_floe_renders(tmp_path, source, caplog):
    caplog.set_level(logging.WARNING, logger="floe")
    floe.Job(job_config(tmp_path)).run()
    assert [r for r in caplog.records if r.name == "floe" and r.levelno < logging.WARNING] == []


def test_debug_level_adds_file_events(tmp_path, source, caplog):
    caplog.set_level(logging.DEBUG, logger="floe")
    floe.Job(job_config(tmp_path)).run()
    files = [r for r in caplog.records if getattr(r, "floe_event", None) == "file_written"
             and r.levelno == logging.DEBUG]
    assert len(files) == 3 and all("path=" in r.getMessage() for r in files)
