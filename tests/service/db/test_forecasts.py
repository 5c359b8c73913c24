"""Forecast sets: written by model version, invisible until published, switched atomically (SQLite and Postgres)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine

from service.db.forecasts import current_version, publish, read_forecasts, write_forecast_set
from service.db.importer import RawInput, import_frames


def frame(skus: list[str], level: float) -> pd.DataFrame:
    rows = []
    for sku in skus:
        for h in (1, 2, 3):
            date = pd.Timestamp("2024-01-01") + pd.DateOffset(months=h - 1)
            quantiles = {"q0.1": 0.0, "q0.9": 2 * level * h, "cq0.1": 0.0, "cq0.9": 3 * level * h}
            rows.append({"sku": sku, "date": date, "horizon": h, "mean": level * h, **quantiles})
    return pd.DataFrame(rows)


def test_publish_switches_the_current_set(engine: Engine) -> None:
    import_frames(engine, [RawInput("items", pd.DataFrame({"sku": ["A", "B"], "unit_cost": ["1", "2"]}), "items")])
    assert current_version(engine) is None and read_forecasts(engine).empty
    write_forecast_set(engine, "1", frame(["A", "B"], 1.0), publish_now=True)
    write_forecast_set(engine, "2", frame(["A", "B"], 5.0))  # written, not published
    assert current_version(engine) == "1"
    assert read_forecasts(engine)["mean"].max() == 3.0
    publish(engine, "2")
    current = read_forecasts(engine, skus=["B"])
    assert current_version(engine) == "2" and current["mean"].tolist() == [5.0, 10.0, 15.0]
    assert current[["q0.9", "cq0.9"]].iloc[0].tolist() == [10.0, 15.0]
    with pytest.raises(ValueError, match="is published"):
        write_forecast_set(engine, "2", frame(["A"], 1.0))
    with pytest.raises(LookupError, match="no forecast set"):
        publish(engine, "9")


def test_a_failed_write_is_never_visible(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    write_forecast_set(engine, "1", frame(["A"], 1.0), publish_now=True)
    monkeypatch.setattr("service.db.forecasts.BATCH", 1)
    calls = {"n": 0}
    from sqlalchemy.engine import Connection

    real = Connection.execute

    def failing(self: Connection, statement: object, *args: object, **kwargs: object) -> object:
        if "INSERT INTO forecasts" in str(statement):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("crash while writing (injected)")
        return real(self, statement, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Connection, "execute", failing)
    with pytest.raises(RuntimeError, match="injected"):
        write_forecast_set(engine, "2", frame(["A", "B"], 9.0), publish_now=True)
    monkeypatch.setattr(Connection, "execute", real)
    assert current_version(engine) == "1" and read_forecasts(engine)["mean"].max() == 3.0
    with pytest.raises(ValueError, match="not completely written"):
        publish(engine, "2")


def test_load_demand_brings_the_item_price(engine: Engine, tmp_path: object) -> None:
    from service.db.forecasts import load_demand
    from service.db.importer import import_path
    from tests.factories import valid_tables, write_csvs

    write_csvs(valid_tables(), tmp_path)
    import_path(engine, tmp_path)  # type: ignore[arg-type]
    demand = load_demand(engine, sku_pattern="^A-")
    assert set(demand["sku"]) == {"A-1", "A-2"} and len(demand) == 3
    assert demand.set_index("sku")["price"].to_dict() == {"A-1": 2.0, "A-2": 0.3}
    assert load_demand(engine, end="2024-01-31")["date"].max() == pd.Timestamp("2024-01-01")


def test_negative_zero_is_stored_as_zero(engine: Engine) -> None:
    frame = pd.DataFrame(
        {"sku": ["A"], "date": [pd.Timestamp("2024-01-01")], "horizon": [1], "mean": [-0.0], "q0.5": [-0.0]}
    )
    write_forecast_set(engine, "z1", frame, publish_now=True)
    stored = read_forecasts(engine)
    assert str(stored.loc[0, "q0.5"]) == "0.0" and str(stored.loc[0, "mean"]) == "0.0"
