"""notebooks/report.ipynb: executed from a clean copy (no outputs) in a fresh kernel, its printed answers equal the
report's, on generated local files and from S3 (a moto server); the committed copy is executed and current."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from dataquest.config import BLS_DATA_KEY, POPULATION_KEY
from dataquest.report import builder as report
from dataquest.report.builder import ReportOptions
from tests.conftest import ROOT
from tests.support.report_inputs import PR32_TITLE, mapping_files, population_bytes, write_inputs

pytestmark = pytest.mark.integration
# The 'notebook' dependency group: make test and make notebook install it, make install does not.
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: `make test` syncs the notebook group")

NOTEBOOK = ROOT / "notebooks" / "report.ipynb"
RUNNER = ROOT / "scripts" / "run_notebook.py"


def clean_copy(folder: Path) -> Path:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.ipynb"
    nbformat.write(nb, path)
    return path


def execute(path: Path, env: dict[str, str]) -> Any:
    """Run the notebook as `make notebook` does, in a process and kernel of its own; the executed notebook."""
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(path)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return nbformat.read(path, as_version=4)


def printed(nb: Any) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stdout"
    )


def answers(nb: Any) -> dict[str, Any]:
    lines = [line for line in printed(nb).splitlines() if line.startswith("ANSWERS ")]
    assert len(lines) == 1, "the notebook prints its answers once, as 'ANSWERS {json}'"
    found: dict[str, Any] = json.loads(lines[0].removeprefix("ANSWERS "))
    return found


def assert_same_as_report(got: dict[str, Any], doc: dict[str, Any]) -> None:
    stats = doc["population_stats"]
    assert got["population_stats"]["years"] == stats["years"]
    assert got["population_stats"]["mean"] == pytest.approx(stats["mean"], rel=1e-12)
    assert got["population_stats"]["std"] == pytest.approx(stats["std"], rel=1e-12)
    for name in ("best_years", "series_population"):
        assert len(got[name]) == len(doc[name]) > 0
        for mine, theirs in zip(got[name], doc[name], strict=True):
            assert set(mine) == set(theirs), name
            for key, value in theirs.items():
                if isinstance(value, float):
                    assert mine[key] == pytest.approx(value, rel=1e-12), (name, key, theirs)
                else:
                    assert mine[key] == value, (name, key, theirs)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQ_") and k != "AWS_ENDPOINT_URL"}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def test_on_local_files_the_answers_are_the_reports(tmp_path: Path) -> None:
    data, pop = write_inputs(tmp_path / "inputs")
    nb = execute(
        clean_copy(tmp_path / "run"), {**base_env(), "DQ_DATA_FILE": str(data), "DQ_POPULATION_FILE": str(pop)}
    )
    doc = report.report_from_files(data, pop, ReportOptions()).document
    assert_same_as_report(answers(nb), doc)
    text = printed(nb)
    assert "mean 2013..2018: 322,069,808.0" in text
    assert "std 2013..2018 (sample, ddof=1): 4,158,441.040908" in text
    assert f"PRS30006032: {PR32_TITLE}" in text
    charts = [
        out.data["image/svg+xml"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "display_data" and "image/svg+xml" in out.data
    ]
    assert len(charts) == 3
    assert "population-chart" in charts[0]
    assert "series-population-chart" in charts[2]


def test_with_dq_bucket_it_reads_s3(tmp_path: Path, moto_endpoint: str) -> None:
    bucket = "dq-notebook-test"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    data, _ = write_inputs(tmp_path / "inputs")
    s3.put_object(Bucket=bucket, Key=BLS_DATA_KEY, Body=data.read_bytes())
    s3.put_object(Bucket=bucket, Key=POPULATION_KEY, Body=population_bytes())
    for name, body in mapping_files().items():
        s3.put_object(Bucket=bucket, Key=f"bls/pr/{name}", Body=body)
    env = {**base_env(), "DQ_BUCKET": bucket, "AWS_ENDPOINT_URL": moto_endpoint, "DQ_DATA_FILE": "/nonexistent"}
    nb = execute(clean_copy(tmp_path / "run"), env)
    assert f"inputs: s3://{bucket}/{BLS_DATA_KEY}" in printed(nb)
    doc = report.run_report(s3, bucket, upload=False).document
    assert_same_as_report(answers(nb), doc)


def test_the_committed_notebook_is_executed() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.execution_count for cell in code)
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not [out for cell in code for out in cell.outputs if out.output_type == "error"]


@pytest.mark.shared_data
def test_the_committed_outputs_are_the_report_on_the_real_data(shared_data: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    doc = report.report_from_files(
        shared_data / "bls-pr-2025-09" / "pr.data.0.Current",
        shared_data / "population" / "acs1-nation.tesseract.json",
        ReportOptions(),
    ).document
    assert_same_as_report(answers(nb), doc)
