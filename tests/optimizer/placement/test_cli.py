"""`leanplan meio` end to end on files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.cli.meio import MEIO_STAGE_COLUMNS, MEIO_SUMMARY_KEYS
from tests.optimizer.placement.helpers import WILLEMS


@pytest.mark.skipif(not WILLEMS.is_dir(), reason="Willems (2008) data not found")
def test_meio_writes_stages_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "meio",
            "--stages",
            str(WILLEMS / "stages.csv"),
            "--arcs",
            str(WILLEMS / "arcs.csv"),
            "--chain",
            "01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    stages = pd.read_csv(out / "stages.csv")
    assert tuple(stages.columns) == MEIO_STAGE_COLUMNS
    assert len(stages) == 8
    summary = json.loads((out / "summary.json").read_text())
    assert tuple(summary)[: len(MEIO_SUMMARY_KEYS)] == MEIO_SUMMARY_KEYS
    assert summary["proven_optimal"] is True
    assert stages["safety_stock_cost"].sum() == pytest.approx(summary["total_safety_stock_cost"], rel=1e-9)


def _write(tmp_path: Path, stages: str, arcs: str) -> tuple[Path, Path]:
    (tmp_path / "stages.csv").write_text(stages)
    (tmp_path / "arcs.csv").write_text(arcs)
    return tmp_path / "stages.csv", tmp_path / "arcs.csv"


STAGES = "stage_name,stage_cost,stage_time,avg_demand,std_dev_demand,service_level,max_service_time\n"


@pytest.mark.parametrize(
    ("stages", "arcs", "message"),
    [
        (STAGES + "P,1,5,,,,\nR,2,1,10,3,0.95,0\n", "source_stage,destination_stage\nP,R\nQ,R\n", "unknown stage 'Q'"),
        (STAGES + "P,1,-5,,,,\nR,2,1,10,3,0.95,0\n", "source_stage,destination_stage\nP,R\n", "stage 'P': stage_time"),
        (STAGES + "P,1,5,,,,\nR,2,1,,,0.95,0\n", "source_stage,destination_stage\nP,R\n", "end item 'R'"),
        (STAGES + "P,1,5,,,,\nR,2,1,10,3,0.95,0\n", "source_stage,destination_stage\nP,R\nR,P\n", "cycle"),
    ],
)
def test_meio_bad_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, stages: str, arcs: str, message: str
) -> None:
    s, a = _write(tmp_path, stages, arcs)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["meio", "--stages", str(s), "--arcs", str(a), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_meio_needs_chain_for_multi_chain_files(tmp_path: Path) -> None:
    s, a = _write(
        tmp_path,
        "chain,stage_name,stage_cost,stage_time,std_dev_demand\n01,R,1,1,1\n02,R,1,1,1\n",
        "chain,source_stage,destination_stage\n",
    )
    result = CliRunner().invoke(app, ["meio", "--stages", str(s), "--arcs", str(a), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "choose one with --chain" in result.output
