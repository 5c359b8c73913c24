"""The `leanplan` command line: one module per area registers its commands on the apps of `service.cli.apps`."""

from __future__ import annotations

import sys

from service.cli import api_bench as _api_bench  # noqa: F401  (registers commands)
from service.cli import data as _data  # noqa: F401  (registers commands)
from service.cli import forecast as _forecast  # noqa: F401
from service.cli import forecast_bench as _forecast_bench  # noqa: F401  (registers commands)
from service.cli import inventory as _inventory  # noqa: F401  (registers commands)
from service.cli import meio as _meio  # noqa: F401  (registers commands)
from service.cli import mrp as _mrp  # noqa: F401  (registers commands)
from service.cli import mrp_value as _mrp_value  # noqa: F401  (registers commands)
from service.cli import pages_bench as _pages_bench  # noqa: F401  (registers commands)
from service.cli import plan_mrp as _plan_mrp  # noqa: F401  (registers commands)
from service.cli import plan_placement as _plan_placement  # noqa: F401  (registers commands)
from service.cli import schedule as _schedule  # noqa: F401  (registers commands)
from service.cli import serve as _serve  # noqa: F401  (registers commands)
from service.cli import upload_bench as _upload_bench  # noqa: F401  (registers commands)
from service.cli import worker as _worker  # noqa: F401  (registers commands)
from service.cli.apps import app


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
