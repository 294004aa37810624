"""notebooks/replicate.ipynb runs start to finish under nbclient on the
embedded demo source, and what it shows is right."""
import json
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import floe

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "replicate.ipynb"


def test_notebook_has_one_configuration_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "CONFIG = {" in tagged[0].source
    # No other code cell names a source, target or table setting.
    others = [c.source for c in nb.cells if c.cell_type == "code" and c is not tagged[0]]
    for text in others:
        assert "sqlite:" not in text and "partition_by" not in text and '"mode":' not in text


def test_notebook_runs_start_to_finish(tmp_path):
    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / "replicate.ipynb")
    nb = nbformat.read(work / "replicate.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    line = next(l for l in text.splitlines() if l.startswith("SUMMARY "))
    summary = json.loads(line[len("SUMMARY "):])
    assert summary["demo"] is True
    assert summary["tables"] == {"orders": "ok", "customers": "ok"}
    assert summary["second_run"] == {"orders": "ok", "customers": "ok"}
    # init + batch 1 + batch 2, for each of the two tables.
    assert summary["control_rows"] == 6
    assert summary["rows_previous"] == 1200 and summary["rows_now"] == 2400
    assert summary["diff_added"] == 1200 and summary["diff_removed"] == 0
    assert summary["snapshots"] == 2
    # The run report and the control table were shown as DataFrames.
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs
                   if o.output_type == "execute_result")
    assert "floe_control" not in html and "init" in html and "rows_written" in html
    # What the notebook wrote is a real Iceberg table the package reads back.
    cat = floe.Catalog(type="sql", uri=f"sqlite:{work / 'floe-notebook' / 'catalog.db'}",
                       warehouse=work / "floe-notebook" / "warehouse")
    customers = cat.load_table("demo.customers").to_arrow()
    assert customers.num_rows == 43
    assert sorted(customers["customer_id"].to_pylist()) == list(range(1, 44))
