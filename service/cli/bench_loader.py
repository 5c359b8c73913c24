"""Load a benchmark module from `experiments/bench/` of the checkout (benchmarks are not part of the installed
packages, so `leanplan bench …` needs the source checkout)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

CHECKOUT = Path(__file__).resolve().parents[2]


def load(name: str) -> ModuleType:
    """`experiments.bench.<name>`; raises `ModuleNotFoundError` with what to do when there is no checkout."""
    if not (CHECKOUT / "experiments" / "bench" / "__init__.py").is_file():
        raise ModuleNotFoundError(
            f"benchmark {name!r} needs the leanplan source checkout (experiments/bench/ next to service/); "
            "run `leanplan bench` from an editable install (`make setup`)"
        )
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    return importlib.import_module(f"experiments.bench.{name}")


__all__ = ["CHECKOUT", "load"]
