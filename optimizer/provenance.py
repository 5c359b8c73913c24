"""Provenance of a plan: fingerprints of its inputs, per-line input hashes and the code version.

Public interface: `frame_fingerprint`, `inputs_fingerprint`, `row_hashes`, `combine_hashes`, `code_version`.

Fingerprints are SHA-256 over pandas' stable per-row hashes of each frame, sorted by the frame's columns, so the same
data in any row order gives the same fingerprint and any changed cell changes it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out = out[sorted(out.columns)]
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = (
                out[c].dt.tz_localize(None).astype("datetime64[ns]").astype("int64")
                if out[c].dt.tz
                else out[c].astype("datetime64[ns]").astype("int64")
            )
        elif out[c].dtype == object:
            out[c] = out[c].astype(str)
    return out.sort_values(list(out.columns), kind="stable").reset_index(drop=True) if len(out.columns) else out


def frame_fingerprint(frame: pd.DataFrame | None) -> str:
    """SHA-256 (hex) of a frame's content, independent of row order; 'none' for a missing frame."""
    if frame is None:
        return "none"
    canon = _canonical(frame)
    digest = hashlib.sha256(json.dumps(list(canon.columns)).encode())
    digest.update(pd.util.hash_pandas_object(canon, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def inputs_fingerprint(frames: dict[str, pd.DataFrame | None]) -> tuple[str, dict[str, str]]:
    """One fingerprint over named frames, and each frame's own."""
    each = {name: frame_fingerprint(frame) for name, frame in sorted(frames.items())}
    return hashlib.sha256(json.dumps(each, sort_keys=True).encode()).hexdigest(), each


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A stable 64-bit hash per row of `frame` (all columns), as uint64."""
    return pd.util.hash_pandas_object(_canonical_columns(frame), index=False).to_numpy()


def _canonical_columns(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[sorted(frame.columns)].copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].astype(str)
    return out


def combine_hashes(*parts: np.ndarray) -> np.ndarray:
    """Per row, a 16-hex-digit hash combining several uint64 hash arrays of equal length."""
    frame = pd.DataFrame({f"h{i}": p.astype(np.uint64) for i, p in enumerate(parts)})
    combined = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return np.char.mod("%016x", combined.astype(np.uint64))


@lru_cache
def code_version() -> str:
    """`git describe --always --dirty` of the checkout when available, else the installed package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        described = out.stdout.strip()
        if described:
            return f"git:{described}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"leanplan {metadata.version('leanplan')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, timestamps and NaN to JSON-friendly values (recursively)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (pd.Timestamp,)):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
