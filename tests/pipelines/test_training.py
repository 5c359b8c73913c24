"""Training tracked in MLflow: one parent run with child runs per family, one registered pyfunc, gated aliases."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipelines import registry, train
from tests.factories_demand import demand_panel
from tests.pipelines.test_forecast_pipeline import small_config


@pytest.fixture()
def tracking(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return uri


def test_training_run_registry_and_pyfunc(tracking: str) -> None:
    history = demand_panel(n_per_pattern=3)
    first = train.run(small_config(), history, tracking_uri=tracking)
    client = MlflowClient()
    run = client.get_run(first.run_id)
    assert run.data.params["horizon"] == "6" and run.data.tags["data_fingerprint"] == first.fingerprint
    assert {"all.pinball", "all.mase", "smooth.pinball", "lumpy.rmsse", "all.coverage_80"} <= set(run.data.metrics)
    children = client.search_runs([first.experiment_id], f"tags.mlflow.parentRunId = '{first.run_id}'")
    assert {c.info.run_name for c in children} >= {"statsforecast", "lightgbm", "empirical"}
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "report")}
    assert {"report/champions.csv", "report/top_value_skus.png", "report/worst_skus.png"} <= artifacts
    assert any(a.path == "train.log" for a in client.list_artifacts(first.run_id))
    assert first.decision.alias == "champion" and first.model_version == "1"

    model = mlflow.pyfunc.load_model("models:/leanplan-demand@champion")
    stored = model.predict(pd.DataFrame({"sku": ["SMOOTH-1", "LUMPY-0"], "horizon": [3, 3]}))
    assert set(stored["sku"]) == {"SMOOTH-1", "LUMPY-0"} and stored["horizon"].max() == 3
    refit = model.predict(history[history["sku"] == "INTER-2"])
    assert len(refit) == 6 and (refit["q0.9"] >= refit["q0.1"]).all()
    with pytest.raises(Exception, match="unknown to this model"):
        model.predict(pd.DataFrame({"sku": ["NOPE"]}))

    second = train.run(small_config(), history, tracking_uri=tracking)  # same data, same score: not better
    assert second.decision.alias == "challenger" and "does not beat" in second.decision.reason
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, "champion").version) == "1"
    registry.promote("2")
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, "champion").version) == "2"
    assert registry.rollback() == "1"
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, "champion").version) == "1"
    listed = registry.list_versions()
    assert listed["version"].tolist() == [1, 2] and "champion" in listed.iloc[0]["aliases"]


def test_a_better_version_takes_the_champion_alias(tracking: str) -> None:
    history = demand_panel(n_per_pattern=3)
    weak = small_config().model_copy(update={"candidates": {p: ["naive"] for p in small_config().candidates}})
    assert train.run(weak, history, tracking_uri=tracking).decision.alias == "champion"
    better = train.run(small_config(), history, tracking_uri=tracking)
    assert better.decision.alias == "champion" and "beats champion v1" in better.decision.reason


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_training_against_a_shared_tracking_server(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts"),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(120):
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start")
        mlflow.set_tracking_uri(uri)
        result = train.run(small_config(), demand_panel(n_per_pattern=2), tracking_uri=uri)
        assert result.decision.alias == "champion"
        model = mlflow.pyfunc.load_model("models:/leanplan-demand@champion")
        assert len(model.predict(pd.DataFrame({"sku": ["SMOOTH-0"]}))) == 6
        assert (tmp_path / "artifacts").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
