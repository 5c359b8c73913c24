"""Read networks in the format of the Willems (2008) data set: ``stages.csv`` and ``arcs.csv``.

stages.csv: ``chain, stage_name, stage_type, rel_depth, stage_cost, stage_time, std_dev_stage_time, avg_demand,
std_dev_demand, service_level, max_service_time, x_pos, y_pos`` (an empty cell: not given); arcs.csv: ``chain,
source_stage, destination_stage, quantity``. The key is (chain, stage_name): the same name in two chains is two
stages, so a file with several chains needs `chain`. Chain ids are read as text ("01", not 1). A file without a
``chain`` column is one network. Only the mean stage time is used (the model's stage times are deterministic).

Public interface: `read_willems(stages_path, arcs_path, chain=None) -> (stages, arcs)` in the frames
`optimizer.placement.network.build_network` takes, `chain_ids(stages_path)`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.placement.network import NetworkError

__all__ = ["chain_ids", "read_willems"]

_STAGE_RENAME = {
    "stage_name": "stage",
    "avg_demand": "demand_mean",
    "std_dev_demand": "demand_std",
}
_ARC_RENAME = {"source_stage": "source", "destination_stage": "destination", "quantity": "qty"}


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"chain": str, "stage_name": str, "source_stage": str, "destination_stage": str})
    except FileNotFoundError as err:
        raise NetworkError(f"{path}: no such file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise NetworkError(f"{path}: not a readable CSV file ({err})") from err


def chain_ids(stages_path: str | Path) -> list[str]:
    """The chain ids in a stages file, sorted (one empty id when the file has no ``chain`` column)."""
    frame = _read(Path(stages_path))
    return sorted(frame["chain"].unique().tolist()) if "chain" in frame.columns else [""]


def _pick_chain(frame: pd.DataFrame, chain: str | None, path: Path) -> pd.DataFrame:
    if "chain" not in frame.columns:
        if chain:
            raise NetworkError(f"{path} has no 'chain' column, so --chain {chain!r} cannot be chosen")
        return frame
    chains = sorted(frame["chain"].unique().tolist())
    if chain is None:
        if len(chains) > 1:
            raise NetworkError(f"{path} holds {len(chains)} chains ({chains[0]}…{chains[-1]}); choose one with --chain")
        return frame
    if chain not in chains:
        raise NetworkError(f"{path}: chain {chain!r} not found; chains present: {', '.join(chains[:40])}")
    return frame[frame["chain"] == chain]


def read_willems(
    stages_path: str | Path, arcs_path: str | Path, chain: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stages and arcs frames of one chain, renamed to the `build_network` columns."""
    stages_path, arcs_path = Path(stages_path), Path(arcs_path)
    stages = _pick_chain(_read(stages_path), chain, stages_path).rename(columns=_STAGE_RENAME)
    arcs = _pick_chain(_read(arcs_path), chain, arcs_path).rename(columns=_ARC_RENAME)
    for col in ("stage", "stage_time", "stage_cost"):
        if col not in stages.columns:
            raise NetworkError(f"{stages_path} needs a {col!r} column (Willems 2008 format: stage_name, stage_time, …)")
    for col in ("source", "destination"):
        if col not in arcs.columns:
            raise NetworkError(f"{arcs_path} needs a {col!r} column (source_stage, destination_stage, quantity)")
    keep = [c for c in ("stage", "stage_type", "stage_time", "stage_cost", "demand_mean", "demand_std",
                        "service_level", "max_service_time") if c in stages.columns]  # fmt: skip
    arc_cols = [c for c in ("source", "destination", "qty") if c in arcs.columns]
    return stages[keep].reset_index(drop=True), arcs[arc_cols].reset_index(drop=True)
