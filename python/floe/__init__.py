"""floe from Python: replicate warehouse tables into Apache Iceberg exactly
once, and read Iceberg tables fast, through libfloe (the C core of the
``floe`` command).

    import floe
    job = floe.Job.from_yaml("floe.yaml")          # or floe.Job({...})
    report = job.run()                             # GIL released; Ctrl-C compensates
    report.to_pandas()
    table = job.table("orders")                    # or floe.Catalog(...).load_table("ns.t")
    arrow_table = pyarrow.table(table.scan(columns=["id", "amount"]))

Scans are Arrow C streams (``__arrow_c_stream__``): pyarrow, polars and
DuckDB take them without copies. pyarrow is optional; ``to_arrow()``,
``to_pandas()`` and ``diff()`` need it. floe's log events go to the
``floe`` logger of :mod:`logging`.
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import json as _json
import logging as _logging
import os as _os
import sys as _sys
import uuid as _uuid
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from . import _floe

__all__ = [
    "Job", "Catalog", "Table", "Scan", "Report", "Records", "Diff", "Progress",
    "Error", "ConfigError", "NotFoundError", "SourceError", "ConflictError", "FormatError",
    "UnsupportedError", "ValidationError", "RunError", "IOError", "CheckFailed",
    "LateRowsError", "SourceBehindError",
]

__version__ = "0.1.0"

# ---- errors ---------------------------------------------------------------


class Error(Exception):
    """A floe error: ``message`` (floe's text, with context), ``code`` (the
    negative FLOE_E* code), ``code_name`` ("EINVAL", ...) and ``exit_code``
    (what the ``floe`` command would exit with: 1 failure, 2 usage or
    configuration, 3 validation mismatch)."""

    def __init__(self, message: str, code: int = -3, code_name: str = "EIO",
                 exit_code: Optional[int] = None, errors: Optional[Sequence[str]] = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_name = code_name
        self.exit_code = _floe.exit_code_for(code) if exit_code is None else exit_code
        self.errors = list(errors) if errors else [message]


class ConfigError(Error, ValueError):
    """Bad configuration or argument (EINVAL, or YAML syntax: EFORMAT at
    load). ``errors`` holds every message ("file:line:col: key.path: what")."""


class NotFoundError(Error, LookupError):
    """No such file, table, snapshot or column (ENOTFOUND)."""


class SourceError(Error):
    """The source database reported an error (ESOURCE)."""


class ConflictError(Error):
    """A commit lost its compare-and-swap after the retries (ECONFLICT)."""


class FormatError(Error):
    """A malformed file or message (EFORMAT)."""


class UnsupportedError(Error):
    """Valid input floe does not handle (EUNSUPPORTED)."""


class ValidationError(Error):
    """Validation found a mismatch (EVALIDATE; exit code 3)."""


class IOError(Error):  # noqa: A001 - floe's EIO/ENETWORK, not the builtin alias
    """An I/O or network failure (EIO, ENETWORK)."""


class RunError(Error):
    """A run or validation in which a table failed or mismatched; ``report``
    is the full :class:`Report` (the other tables ran)."""

    def __init__(self, message: str, code: int, code_name: str, exit_code: int,
                 report: "Report"):
        super().__init__(message, code, code_name, exit_code)
        self.report = report


class CheckFailed(RunError):
    """A data-quality check of severity ``fail`` stopped a table (ECHECK;
    exit code 6): nothing of that unit was committed and its control row
    was compensated. ``checks`` lists every failing ``fail`` check, each the
    report's check dict (``name``, ``type``, ``severity``, ``column``,
    ``failing``, ``samples``, ``detail``, ...) plus ``table``; ``tables``
    names the tables stopped. ``report`` is None when the error came before
    any table ran."""

    def __init__(self, message: str, code: int, code_name: str, exit_code: int = 6,
                 report: Optional["Report"] = None, errors=None):
        Error.__init__(self, message, code, code_name, exit_code, errors)
        self.report = report
        self.checks = []
        self.tables = []
        for t in (report.tables if report is not None else []):
            if t.get("status") != "check_failed":
                continue
            self.tables.append(t["table"])
            for c in t.get("checks") or []:
                if not c.get("passed", True) and c.get("severity") == "fail":
                    self.checks.append(dict(c, table=t["table"]))


class LateRowsError(RunError):
    """``late_rows: fail`` stopped a table: the source holds rows floe will
    never load (late or invalid batches; exit code 5). ``late`` lists, per
    table stopped, ``table``, ``rows_late``, ``rows_invalid`` and
    ``late_ranges`` as in the report."""

    def __init__(self, message: str, code: int, code_name: str, exit_code: int,
                 report: "Report"):
        super().__init__(message, code, code_name, exit_code, report)
        self.late = [{"table": t["table"], "rows_late": t.get("rows_late"),
                      "rows_invalid": t.get("rows_invalid"),
                      "late_ranges": t.get("late_ranges") or []}
                     for t in report.tables
                     if t.get("status") == "failed" and
                     ((t.get("rows_late") or 0) > 0 or (t.get("rows_invalid") or 0) > 0)]


class SourceBehindError(RunError):
    """``on_source_behind: fail``: a source's max batch is below its control
    max (rows deleted, batch numbers reset; exit code 4). ``tables`` names
    them."""

    def __init__(self, message: str, code: int, code_name: str, exit_code: int,
                 report: "Report"):
        super().__init__(message, code, code_name, exit_code, report)
        self.tables = [t["table"] for t in report.tables if t.get("status") == "source_behind"]


# The exit codes of `floe run` that have their own class (the rest raise
# RunError); docs/replicate.md lists the codes.
_RUN_ERROR_CLASSES = {6: CheckFailed, 5: LateRowsError, 4: SourceBehindError}

_ERROR_CLASSES = {
    "EINVAL": ConfigError, "ENOTFOUND": NotFoundError, "ESOURCE": SourceError,
    "ECONFLICT": ConflictError, "EFORMAT": FormatError, "EUNSUPPORTED": UnsupportedError,
    "EVALIDATE": ValidationError, "EIO": IOError, "ENETWORK": IOError,
    "ECHECK": CheckFailed,
}


def _make_error(code: int, code_name: str, message: str, errors=None) -> Error:
    if errors is not None and code_name in ("EINVAL", "EFORMAT"):
        # A job file that does not load: `floe run` exits 2 (configuration).
        return ConfigError(message, code, code_name, exit_code=2, errors=errors)
    cls = _ERROR_CLASSES.get(code_name, Error)
    return cls(message, code, code_name, errors=errors)


_floe.set_error_factory(_make_error)

# ---- logging --------------------------------------------------------------

logger = _logging.getLogger("floe")
_LEVELS = {"error": _logging.ERROR, "warn": _logging.WARNING, "info": _logging.INFO,
           "debug": _logging.DEBUG, "trace": 5}


def _log_event(level: str, line: str) -> None:
    # line is floe's logfmt rendering: "ts=... level=info event=commit table=..."
    event = None
    for part in line.split(" "):
        if part.startswith("event="):
            event = part[6:]
            break
    logger.log(_LEVELS.get(level, _logging.INFO), line, extra={"floe_event": event})


def _sync_log_level() -> None:
    """floe renders only the events the ``floe`` logger would keep."""
    eff = logger.getEffectiveLevel()
    if eff <= 5:
        name = "trace"
    elif eff <= _logging.DEBUG:
        name = "debug"
    elif eff <= _logging.INFO:
        name = "info"
    elif eff <= _logging.WARNING:
        name = "warn"
    else:
        name = "error"
    _floe.set_log_level(name)


_floe.set_log_callback(_log_event, "warn")

# ---- small containers -----------------------------------------------------


class Records(list):
    """A list of dicts (one per row) with ``to_pandas()`` and
    ``to_arrow()``."""

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame(list(self))

    def to_arrow(self):
        import pyarrow as pa
        return pa.Table.from_pylist(list(self))


class Report:
    """What a run or validation did: ``run_id``, ``status`` ("ok",
    "nothing_new", "planned", "failed", "mismatch"), ``exit_code``,
    ``counts``, and ``tables`` (one dict per table, as in the JSON run
    report of docs/replicate.md)."""

    def __init__(self, data: dict):
        self.data = data
        self.run_id: str = data.get("run_id", "")
        self.command: str = data.get("command", "run")
        self.dry_run: bool = bool(data.get("dry_run"))
        self.status: str = data.get("status", "")
        self.exit_code: int = int(data.get("exit_code", 0))
        self.counts: dict = data.get("counts", {})
        self.tables: list = data.get("tables", [])

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __getitem__(self, table: str) -> dict:
        for t in self.tables:
            if t["table"] == table:
                return t
        raise KeyError(table)

    def rows(self) -> Records:
        """One flat dict per table (the range split into columns)."""
        out = Records()
        for t in self.tables:
            row = {k: v for k, v in t.items() if k != "range"}
            rng = t.get("range") or {}
            row["batch_sk_low"] = rng.get("batch_sk_low")
            row["batch_sk_high"] = rng.get("batch_sk_high")
            if "watermark_low" in rng or "watermark_high" in rng:
                row["watermark_low"] = rng.get("watermark_low")
                row["watermark_high"] = rng.get("watermark_high")
            out.append(row)
        return out

    def to_pandas(self):
        return self.rows().to_pandas()

    def to_json(self) -> str:
        return _json.dumps(self.data)

    def __repr__(self) -> str:
        lines = [f"<floe.Report {self.command} {self.run_id} status={self.status} "
                 f"exit_code={self.exit_code}>"]
        for t in self.rows():
            lines.append(f"  {t['table']:<20} {t['status']:<12} "
                         f"({t['batch_sk_low']}, {t['batch_sk_high']}] "
                         f"rows={t.get('rows_written')} snapshot={t.get('snapshot_id')}")
        return "\n".join(lines)


class Progress:
    """One progress tick of a run: ``table``, ``rows`` read from the source
    so far, ``bytes`` of data files finished, ``seconds`` since the table
    started."""
    __slots__ = ("table", "rows", "bytes", "seconds")

    def __init__(self, table: str, rows: int, bytes: int, seconds: float):
        self.table, self.rows, self.bytes, self.seconds = table, rows, bytes, seconds

    def __repr__(self) -> str:
        return (f"Progress(table={self.table!r}, rows={self.rows}, bytes={self.bytes}, "
                f"seconds={self.seconds:.2f})")


class _TqdmProgress:
    """One tqdm bar per table (tqdm.auto: widgets in notebooks)."""

    def __init__(self):
        from tqdm.auto import tqdm
        self._tqdm = tqdm
        self._bars = {}

    def __call__(self, p: Progress) -> None:
        bar = self._bars.get(p.table)
        if bar is None:
            bar = self._bars[p.table] = self._tqdm(desc=p.table, unit=" rows", leave=True)
        bar.update(p.rows - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _in_notebook() -> bool:
    return "ipykernel" in _sys.modules


def _progress_callback(progress):
    """progress: None/"auto" (tqdm in a notebook when installed), True (tqdm
    when installed), False (none) or a callable taking a Progress."""
    if progress is False:
        return None, None
    if progress is None or progress == "auto" or progress is True:
        if progress is not True and not _in_notebook():
            return None, None
        try:
            bars = _TqdmProgress()
        except ImportError:
            return None, None
        return (lambda t, r, b, s: bars(Progress(t, r, b, s))), bars
    if callable(progress):
        return (lambda t, r, b, s: progress(Progress(t, r, b, s))), None
    raise TypeError("progress: None, 'auto', True, False or a callable")

# ---- jobs -----------------------------------------------------------------


def _to_list(tables) -> Optional[list]:
    if tables is None:
        return None
    if isinstance(tables, str):
        return [tables]
    return list(tables)


class Job:
    """A replication job: the YAML job file's keys (docs/config.md), loaded
    and validated by libfloe exactly as ``floe run`` does.

    ``floe.Job(dict)`` takes the keys as a dict; relative paths are relative
    to the working directory. ``floe.Job.from_yaml(path_or_text)`` takes a
    file (relative paths relative to it) or YAML text. Errors raise
    :class:`ConfigError` whose message names the key path; ``errors`` lists
    every problem found. ``overrides`` are ``"key.path=value"`` strings, as
    ``floe run --set``."""

    def __init__(self, config: dict, overrides: Optional[Sequence[str]] = None, *,
                 _cfg=None, _path: Optional[str] = None):
        if _cfg is not None:
            self._cfg = _cfg
        else:
            if not isinstance(config, dict):
                raise TypeError("floe.Job(config): config is a dict of the job file's keys; "
                                "use floe.Job.from_yaml for a file or YAML text")
            # JSON is YAML (flow style): libfloe's loader validates it as it
            # does a file, naming the key path of every problem.
            text = _json.dumps(config, indent=1, default=_json_default)
            self._cfg = _floe.load_config(text=text, name="job", overrides=list(overrides or []))
        self.path = _path
        self.last_report: Optional[Report] = None

    @classmethod
    def from_yaml(cls, path_or_text: Union[str, "_os.PathLike[str]"],
                  overrides: Optional[Sequence[str]] = None) -> "Job":
        ov = list(overrides or [])
        if isinstance(path_or_text, _os.PathLike):
            path_or_text = _os.fspath(path_or_text)
        if not isinstance(path_or_text, str):
            raise TypeError("from_yaml: a path or YAML text")
        is_text = "\n" in path_or_text or path_or_text.lstrip().startswith("{") \
            or ": " in path_or_text
        if not is_text:
            return cls(None, _cfg=_floe.load_config(path=path_or_text, overrides=ov),
                       _path=path_or_text)
        return cls(None, _cfg=_floe.load_config(text=path_or_text, name="floe.yaml",
                                                overrides=ov))

    # -- what the job holds
    @property
    def tables(self) -> list:
        """The job's table names, in file order."""
        return [t["name"] for t in self._cfg.tables()]

    def targets(self) -> Records:
        """Per table: name, source, target namespace and name, strategy, mode."""
        return Records(self._cfg.tables())

    def to_yaml(self) -> str:
        """The effective configuration (defaults applied, secrets masked)."""
        return self._cfg.dump()

    # -- commands
    def run(self, tables: Optional[Iterable[str]] = None, dry_run: bool = False,
            progress=None, check: bool = True) -> Report:
        """Runs the job (``floe run``): every table, or ``tables``, in file
        order. The GIL is released while it runs. Returns the
        :class:`Report`. With ``check`` (default), a run in which a table
        failed or mismatched raises :class:`RunError` (``.report`` holds
        the report, ``.exit_code`` 1 or 3), or one of its subclasses:
        :class:`CheckFailed` (a ``fail`` check stopped a table, exit code
        6, ``.checks`` the failing checks), :class:`LateRowsError`
        (``late_rows: fail``, 5, ``.late``), :class:`SourceBehindError`
        (``on_source_behind: fail``, 4, ``.tables``).

        Ctrl-C (SIGINT) or an exception from the progress callback stops
        the run as ``floe run`` stops on SIGINT: the table being loaded is
        compensated (its new control row deleted, nothing committed), no
        other table starts, and the exception is raised
        (KeyboardInterrupt); ``job.last_report`` holds the report.

        ``progress``: a callable taking a :class:`Progress` (about every
        100 ms), True for tqdm bars, False for none; by default tqdm bars
        in a notebook when tqdm is installed."""
        _sync_log_level()
        cb, bars = _progress_callback(progress)
        try:
            result = self._cfg.run(tables=_to_list(tables), dry_run=dry_run, progress=cb)
        finally:
            if bars is not None:
                bars.close()
        return self._finish(result, check)

    def validate(self, tables: Optional[Iterable[str]] = None, check: bool = True) -> Report:
        """Recounts the source range of every committed load (``floe
        validate``). A mismatch raises :class:`RunError` (exit code 3) when
        ``check``."""
        _sync_log_level()
        return self._finish(self._cfg.validate(tables=_to_list(tables)), check)

    def _finish(self, result, check: bool) -> Report:
        rc, exit_code, report_json, err_code, err_message, interrupted, exc = result
        report = Report(_json.loads(report_json))
        self.last_report = report
        if exc is not None:
            raise exc  # from the progress callback; the run stopped cleanly
        if interrupted:
            raise KeyboardInterrupt(f"floe run interrupted: {err_message}")
        if rc < 0 and not report.tables:
            raise _make_error(err_code, _floe.error_code_name(err_code), err_message)
        if check and exit_code != 0:
            cls = _RUN_ERROR_CLASSES.get(exit_code, RunError)
            raise cls(err_message or f"run {report.status}", err_code or rc,
                      _floe.error_code_name(err_code or rc), exit_code, report)
        return report

    def status(self, tables: Optional[Iterable[str]] = None) -> Records:
        """Per table (``floe status``): control max, committed watermark,
        current snapshot, live rows, last run."""
        _sync_log_level()
        return Records(self._cfg.status(tables=_to_list(tables)))

    def control(self, tables: Optional[Iterable[str]] = None) -> Records:
        """The control table's rows (table_name, batch_sk, run_id,
        inserted_at, watermark, kind) of every (or the named) table."""
        _sync_log_level()
        return Records(self._cfg.control(tables=_to_list(tables)))

    def catalog(self) -> "Catalog":
        """The job's target catalog."""
        _sync_log_level()
        return Catalog(_handle=self._cfg.catalog())

    def table(self, name: str) -> "Table":
        """The Iceberg table a job table (its name under ``tables:``) loads
        into."""
        for t in self._cfg.tables():
            if t["name"] == name:
                return self.catalog().load_table(f"{t['namespace']}.{t['target_name']}")
        raise NotFoundError(f"table {name}: no such table in the job (tables: "
                            f"{', '.join(self.tables)})", -6, "ENOTFOUND")

    def __repr__(self) -> str:
        return f"<floe.Job {self.path or ''} tables={self.tables}>"


def _json_default(value):
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, _os.PathLike):
        return _os.fspath(value)
    if isinstance(value, (_decimal.Decimal, _uuid.UUID)):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} into a job configuration")

# ---- catalogs and tables --------------------------------------------------


class Catalog:
    """An Iceberg catalog: ``floe.Catalog(type="sql", uri="sqlite:cat.db",
    warehouse="./warehouse", name="floe")`` (the JDBC catalog on SQLite or
    PostgreSQL) or ``floe.Catalog(type="hadoop", warehouse=...)``; a job's
    catalog is ``job.catalog()``."""

    def __init__(self, type: str = "sql", uri: Optional[str] = None,
                 warehouse: Optional[str] = None, name: Optional[str] = None, *, _handle=None):
        if _handle is not None:
            self._cat = _handle
            return
        if warehouse is not None:
            warehouse = _os.path.abspath(_os.fspath(warehouse)) \
                if "://" not in str(warehouse) else str(warehouse)
        self._cat = _floe.open_catalog(type=type, warehouse=warehouse, uri=uri, name=name)

    def namespaces(self, parent: Optional[str] = None) -> list:
        return self._cat.namespaces(parent)

    def tables(self, namespace: str) -> list:
        return self._cat.tables(namespace)

    def load_table(self, name: str) -> "Table":
        """``"namespace.table"`` (nested namespaces: ``"a.b.table"``)."""
        ns, _, tname = name.rpartition(".")
        if not ns:
            raise ConfigError(f"table {name}: give namespace.table", -2, "EINVAL")
        return Table(self._cat.load_table(ns, tname))


def _ms(value) -> int:
    """as_of: a datetime (naive = UTC), a date, or milliseconds since the epoch."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, _dt.date):
        return _ms(_dt.datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        return _ms(_dt.datetime.fromisoformat(value))
    return int(value)


def _literal_json(value) -> str:
    """A Python value as Iceberg's JSON single-value form (spec Appendix D);
    libfloe parses it against the column's type."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return _json.dumps(value)
    if isinstance(value, _dt.datetime):
        return _json.dumps(value.isoformat(timespec="microseconds"))
    if isinstance(value, (_dt.date, _dt.time)):
        return _json.dumps(value.isoformat())
    if isinstance(value, (_decimal.Decimal, _uuid.UUID)):
        return _json.dumps(str(value))
    if isinstance(value, (bytes, bytearray)):
        return _json.dumps(bytes(value).hex().upper())
    if isinstance(value, str):
        return _json.dumps(value)
    raise TypeError(f"filter literal of type {type(value).__name__}")


_OPS = {"==", "=", "!=", "<", "<=", ">", ">=", "in", "is_null", "not_null"}


def _filter_terms(filter) -> Optional[list]:
    """filter: (column, op, value) or a list of them (AND); op one of == !=
    < <= > >= in is_null not_null ("in" takes a list)."""
    if filter is None:
        return None
    if isinstance(filter, tuple):
        filter = [filter]
    terms = []
    for term in filter:
        if len(term) == 2 and term[1] in ("is_null", "not_null"):
            column, op, value = term[0], term[1], None
        else:
            column, op, value = term
        op = op.lower() if isinstance(op, str) else op
        if op not in _OPS:
            raise ConfigError(f"filter on {column}: unknown operator {op!r} "
                              "(==, !=, <, <=, >, >=, in, is_null, not_null)", -2, "EINVAL")
        if op == "in":
            lits = [_literal_json(v) for v in value]
        elif op in ("is_null", "not_null"):
            lits = []
        else:
            lits = [_literal_json(value)]
        terms.append((column, op, lits))
    return terms


class Table:
    """An Iceberg table: its snapshots and history, scans, diffs."""

    def __init__(self, handle):
        self._t = handle

    @property
    def name(self) -> str:
        return self._t.name()

    @property
    def metadata_location(self) -> str:
        return self._t.metadata_location()

    @property
    def metadata(self) -> dict:
        """The table metadata (Iceberg spec: Table Metadata) as a dict."""
        return _json.loads(self._t.metadata_json())

    def refresh(self) -> "Table":
        """Reloads the current metadata from the catalog."""
        self._t.refresh()
        return self

    @property
    def current_snapshot_id(self) -> Optional[int]:
        sid = self.metadata.get("current-snapshot-id")
        return None if sid in (None, -1) else sid

    def schema(self) -> Records:
        """The current schema's columns: id, name, type, required."""
        md = self.metadata
        schema = next(s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"])
        return Records({"id": f["id"], "name": f["name"],
                        "type": f["type"] if isinstance(f["type"], str) else f["type"]["type"],
                        "required": f["required"]} for f in schema["fields"])

    def snapshots(self) -> Records:
        """Every snapshot, oldest first: snapshot_id, parent_id, timestamp,
        operation, the floe batch range and run id when floe wrote it, and
        the whole summary."""
        out = Records()
        for s in sorted(self.metadata.get("snapshots", []),
                        key=lambda s: (s["timestamp-ms"], s.get("sequence-number", 0))):
            summary = s.get("summary", {})
            out.append({
                "snapshot_id": s["snapshot-id"],
                "parent_id": s.get("parent-snapshot-id"),
                "sequence_number": s.get("sequence-number"),
                "timestamp_ms": s["timestamp-ms"],
                "timestamp": _dt.datetime.fromtimestamp(s["timestamp-ms"] / 1000,
                                                        _dt.timezone.utc),
                "operation": summary.get("operation"),
                "added_records": _int_or_none(summary.get("added-records")),
                "total_records": _int_or_none(summary.get("total-records")),
                "floe_table": summary.get("floe.source-table"),
                "batch_sk_low": _int_or_none(summary.get("floe.batch-sk.low")),
                "batch_sk_high": _int_or_none(summary.get("floe.batch-sk.high")),
                "run_id": summary.get("floe.run-id"),
                "summary": summary,
            })
        return out

    def history(self) -> Records:
        """The snapshot log (which snapshot was current when), oldest first:
        timestamp, snapshot_id, parent_id, is_current_ancestor."""
        md = self.metadata
        snaps = {s["snapshot-id"]: s for s in md.get("snapshots", [])}
        ancestors = set()
        sid = md.get("current-snapshot-id")
        while sid is not None and sid in snaps and sid not in ancestors:
            ancestors.add(sid)
            sid = snaps[sid].get("parent-snapshot-id")
        return Records({
            "timestamp_ms": e["timestamp-ms"],
            "timestamp": _dt.datetime.fromtimestamp(e["timestamp-ms"] / 1000, _dt.timezone.utc),
            "snapshot_id": e["snapshot-id"],
            "parent_id": snaps.get(e["snapshot-id"], {}).get("parent-snapshot-id"),
            "is_current_ancestor": e["snapshot-id"] in ancestors,
        } for e in md.get("snapshot-log", []))

    def scan(self, columns: Optional[Sequence[str]] = None, snapshot_id: Optional[int] = None,
             as_of=None, filter=None, batch_size: Optional[int] = None) -> "Scan":
        """A scan: the live rows of the current snapshot, or of
        ``snapshot_id``, or of the snapshot current at ``as_of`` (datetime,
        naive = UTC, or epoch milliseconds); ``columns`` projects;
        ``filter`` is (column, op, value) or a list of them (AND), e.g.
        ``[("batch_sk", ">", 2), ("status", "in", ["new", "paid"])]``.
        Nothing is read until the scan is consumed."""
        if snapshot_id is not None and as_of is not None:
            raise ConfigError("scan: give snapshot_id or as_of, not both", -2, "EINVAL")
        return Scan(self._t.scan(columns=None if columns is None else list(columns),
                                 snapshot_id=snapshot_id,
                                 as_of_ms=None if as_of is None else _ms(as_of),
                                 filter=_filter_terms(filter), batch_size=batch_size or 0))

    def to_arrow(self, **scan_args):
        return self.scan(**scan_args).to_arrow()

    def to_pandas(self, **scan_args):
        return self.scan(**scan_args).to_pandas()

    def diff(self, a: int, b: Optional[int] = None,
             columns: Optional[Sequence[str]] = None) -> "Diff":
        """The rows added and removed from snapshot ``a`` to snapshot ``b``
        (default: the current one). A row is a position in a data file, so
        an update shows as one removed and one added row. Only the data
        files that differ between the two snapshots are read, plus, for
        files live in both, the positions deleted in between. Needs
        pyarrow."""
        import pyarrow as pa
        import pyarrow.compute as pc
        if b is None:
            b = self.current_snapshot_id
        files_a = set(self._t.data_files(a))
        files_b = set(self._t.data_files(b))
        cols = None if columns is None else list(columns)

        def read(snapshot, files, with_pos=False):
            s = self._t.scan(columns=cols, snapshot_id=snapshot, data_files=sorted(files),
                             with_file_path=with_pos, with_pos=with_pos)
            return pa.table(Scan(s))

        added = read(b, files_b - files_a)
        removed = read(a, files_a - files_b)
        common = files_a & files_b
        if common:
            # A file live in both snapshots can only have lost rows (deletes).
            then = read(a, common, with_pos=True)
            now = read(b, common, with_pos=True)
            key = lambda t: pc.binary_join_element_wise(  # noqa: E731
                t["_file"], pc.cast(t["_pos"], pa.string()), "#")
            gone = pc.invert(pc.is_in(key(then), value_set=key(now)))
            removed_common = then.filter(gone).drop_columns(["_file", "_pos"])
            removed = pa.concat_tables([removed, removed_common.cast(removed.schema)])
        return Diff(a, b, added, removed)

    def __repr__(self) -> str:
        return f"<floe.Table {self.name} snapshot={self.current_snapshot_id}>"


def _int_or_none(v):
    return None if v is None else int(v)


class Diff:
    """Rows added and removed between snapshots ``a`` and ``b`` (pyarrow
    Tables ``added`` and ``removed``)."""

    def __init__(self, a, b, added, removed):
        self.a, self.b, self.added, self.removed = a, b, added, removed

    def to_pandas(self):
        """One DataFrame: the rows with a ``_change`` column ("added" /
        "removed")."""
        import pandas as pd
        frames = []
        for name, t in (("removed", self.removed), ("added", self.added)):
            df = t.to_pandas()
            df.insert(0, "_change", name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def __repr__(self) -> str:
        return (f"<floe.Diff {self.a} -> {self.b}: +{self.added.num_rows} "
                f"-{self.removed.num_rows}>")


class Scan:
    """A table scan. It implements the Arrow PyCapsule interface:
    ``__arrow_c_stream__`` hands floe's scan to the consumer as an Arrow C
    stream (every call starts a fresh read), so ``pyarrow.table(scan)``,
    ``polars.DataFrame(scan)`` and DuckDB (``duckdb.sql("FROM scan")``)
    take floe's batches without copies; reading happens with the GIL
    released."""

    def __init__(self, handle):
        self._s = handle

    def __arrow_c_stream__(self, requested_schema=None):
        return self._s.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self):
        return self._s.__arrow_c_schema__()

    def count(self) -> int:
        """Reads the whole scan (GIL released) and returns its row count."""
        return self._s.count()["rows_returned"]

    def stats(self) -> dict:
        """Reads the whole scan; rows returned, read, deleted, filtered."""
        return self._s.count()

    def to_reader(self):
        """A pyarrow.RecordBatchReader streaming the batches (bounded
        memory: one batch at a time)."""
        import pyarrow as pa
        return pa.RecordBatchReader.from_stream(self)

    def to_arrow(self):
        import pyarrow as pa
        return pa.table(self)

    def to_pandas(self, **kwargs):
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self):
        import polars as pl
        return pl.DataFrame(self)
