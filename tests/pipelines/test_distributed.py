"""The per-SKU work on a real Dask cluster gives the same numbers as local processes."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.forecast import run_forecast
from tests.factories_demand import demand_panel
from tests.pipelines.test_forecast_pipeline import small_config


@pytest.fixture(scope="module")
def cluster() -> object:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def test_dask_cluster_equals_local(cluster: object) -> None:
    history = demand_panel(n_per_pattern=4)
    local = run_forecast(history, small_config(workers=2))
    remote = run_forecast(history, small_config(executor="dask", scheduler=cluster.scheduler_address))  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(local.forecast, remote.forecast)
    pd.testing.assert_frame_equal(local.champions, remote.champions)


def test_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        run_forecast(demand_panel(n_per_pattern=1), small_config(executor="dask", scheduler="tcp://127.0.0.1:1"))
