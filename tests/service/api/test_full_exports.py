"""Full exports: the forecast CSV download streams every row (more than a JSON page holds) in chunks, while JSON and
CSV with `limit`/`cursor` keep cursor pages (SQLite and Postgres)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from experiments.bench.api.seed import forecast_frame
from service import forecast_reads as reads
from service.db.forecasts import write_forecast_set
from service.db.importer import RawInput, import_frames
from tests.service.api.conftest import auth

SKUS = [f"S-{i:03d}" for i in range(60)] + ["Q,1"]
PERIODS = 24
ROWS = len(SKUS) * PERIODS  # 1,464: more than the default JSON page of 1,000


@pytest.fixture
def published(engine: Engine) -> str:
    items = pd.DataFrame({"sku": SKUS, "unit_cost": "1", "lot_size": "1", "moq": "0", "make_or_buy": "buy"})
    import_frames(engine, [RawInput("items", items, "test")])
    write_forecast_set(engine, "v1", forecast_frame(SKUS, PERIODS), publish_now=True)
    return "v1"


def test_the_csv_download_holds_every_row(client: TestClient, keys: dict[str, str], published: str) -> None:
    assert ROWS > reads.DEFAULT_LIMIT
    response = client.get("/v1/forecasts?format=csv", headers=auth(keys["erp"]))
    assert response.status_code == 200
    assert "link" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="forecasts.csv"'
    frame = pd.read_csv(io.StringIO(response.text), dtype={"sku": str})
    assert len(frame) == ROWS and frame["sku"].nunique() == len(SKUS) and "Q,1" in set(frame["sku"])
    assert list(frame[["sku", "date"]].itertuples(index=False)) == sorted(
        frame[["sku", "date"]].itertuples(index=False)
    )
    assert set(frame["model_version"]) == {published}
    again = client.get(
        "/v1/forecasts?format=csv", headers={**auth(keys["erp"]), "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    one_quantile = client.get("/v1/forecasts?format=csv&quantiles=0.5&sku=S-001,S-002", headers=auth(keys["erp"]))
    assert list(pd.read_csv(io.StringIO(one_quantile.text)).columns) == [
        "sku", "date", "horizon", "mean", "q0.5", "model_version",
    ]  # fmt: skip
    assert len(one_quantile.text.splitlines()) == 1 + 2 * PERIODS


def test_json_and_limited_csv_keep_pages(client: TestClient, keys: dict[str, str], published: str) -> None:
    page = client.get("/v1/forecasts", headers=auth(keys["erp"])).json()
    assert page["count"] == reads.DEFAULT_LIMIT and page["next_cursor"]
    limited = client.get("/v1/forecasts?format=csv&limit=100", headers=auth(keys["erp"]))
    assert len(limited.text.splitlines()) == 101 and 'rel="next"' in limited.headers["link"]


def test_the_stream_reads_in_chunks(engine: Engine, published: str) -> None:
    stream = reads.stream_csv(engine, reads.ForecastQuery(), chunk_rows=100)
    chunks = list(stream.chunks)
    assert len(chunks) == 1 + -(-ROWS // 100)  # the header, then one chunk per 100 rows
    assert b"".join(chunks).count(b"\n") == ROWS + 1
    unchanged = reads.stream_csv(engine, reads.ForecastQuery(since="v1"))
    assert unchanged.unchanged and list(unchanged.chunks) == [chunks[0]]


def test_errors_come_before_the_stream(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    assert client.get("/v1/forecasts?format=csv", headers=auth(keys["erp"])).status_code == 404
