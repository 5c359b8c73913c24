"""`/v1/forecasts`: filters, quantiles, cursor pages, ETag/304, since=, CSV, roles and errors (SQLite and Postgres)."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from experiments.bench.api.seed import forecast_frame
from service.api.deps import UNAUTHORIZED
from service.api.fast_forecast import ForecastFastPath
from service.auth import ROLES
from service.db.forecasts import write_forecast_set
from service.db.importer import RawInput, import_frames
from service.forecast_reads import NOT_PUBLISHED
from service.main import create_app
from tests.service.api.conftest import auth

SKUS = ["A-1", "A-2", "B,3", "C-4"]
PERIODS = 6
ALL_ROWS = len(SKUS) * PERIODS
LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9]
COLUMNS = ["sku", "date", "horizon", "mean", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "model_version"]
BAD_CURSOR = "cursor is not valid; pass the next_cursor of the previous page unchanged"


def _items(engine: Engine, skus: list[str]) -> None:
    frame = pd.DataFrame({"sku": skus, "unit_cost": "10", "lot_size": "1", "moq": "1", "make_or_buy": "buy"})
    import_frames(engine, [RawInput("items", frame, "test")])


@pytest.fixture
def published(engine: Engine) -> str:
    """Items (plus one without a forecast) and a published set 'v1' of SKUS × PERIODS × 5 quantiles."""
    _items(engine, [*SKUS, "NO-FC"])
    write_forecast_set(engine, "v1", forecast_frame(SKUS, PERIODS), publish_now=True)
    return "v1"


def _get(client: TestClient, key: str, url: str, **headers: str) -> tuple[int, dict, dict]:
    response = client.get(url, headers={**auth(key), **headers})
    return response.status_code, response.json() if response.content else {}, dict(response.headers)


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"sku": str})


def test_nothing_published_is_404(client: TestClient, keys: dict[str, str]) -> None:
    for url in ("/v1/forecasts", "/v1/forecasts?format=csv", "/v1/forecasts/A-1"):
        response = client.get(url, headers=auth(keys["erp"]))
        assert response.status_code == 404
        assert response.json() == {"detail": NOT_PUBLISHED}
    assert NOT_PUBLISHED == "no forecast is published yet; train a model with POST /v1/training-runs"


def test_needs_a_key(client: TestClient, published: str) -> None:
    for headers in ({}, {"X-API-Key": "lp_nope_nope"}, {"Authorization": "Bearer wrong"}):
        response = client.get("/v1/forecasts", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": UNAUTHORIZED}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads(client: TestClient, keys: dict[str, str], published: str, role: str) -> None:
    status, body, _ = _get(client, keys[role], "/v1/forecasts")
    assert status == 200
    assert body["count"] == ALL_ROWS


def test_json_rows(client: TestClient, keys: dict[str, str], published: str) -> None:
    status, body, headers = _get(client, keys["erp"], "/v1/forecasts")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["x-model-version"] == "v1"
    assert body["model_version"] == "v1"
    assert body["quantiles"] == LEVELS
    assert body["next_cursor"] is None
    rows = body["rows"]
    assert len(rows) == ALL_ROWS
    assert all(r["model_version"] == "v1" for r in rows)
    assert list(rows[0]) == [
        "sku",
        "date",
        "horizon",
        "mean",
        "q0.1",
        "q0.25",
        "q0.5",
        "q0.75",
        "q0.9",
        "model_version",
    ]
    assert [(r["sku"], r["date"]) for r in rows] == sorted((r["sku"], r["date"]) for r in rows)
    expected = forecast_frame(SKUS, PERIODS).set_index(["sku", "horizon"])
    for row in rows:
        assert row["mean"] == pytest.approx(expected.loc[(row["sku"], row["horizon"]), "mean"])
        assert row["q0.9"] == pytest.approx(expected.loc[(row["sku"], row["horizon"]), "q0.9"])


def test_sku_filter_repeated_and_comma_separated(client: TestClient, keys: dict[str, str], published: str) -> None:
    _, repeated, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-1&sku=C-4")
    _, commas, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-1,C-4")
    assert {r["sku"] for r in repeated["rows"]} == {"A-1", "C-4"}
    assert repeated["rows"] == commas["rows"]
    _, single, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-2")
    assert {r["sku"] for r in single["rows"]} == {"A-2"} and single["count"] == PERIODS
    _, unknown, _ = _get(client, keys["erp"], "/v1/forecasts?sku=ZZZ")
    assert unknown["rows"] == [] and unknown["quantiles"] == LEVELS


def test_date_range(client: TestClient, keys: dict[str, str], published: str) -> None:
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-1&from=2026-02-01&to=2026-04-01")
    assert [r["date"] for r in body["rows"]] == ["2026-02-01", "2026-03-01", "2026-04-01"]
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts?from=2026-05-01&to=2026-02-01")
    assert status == 422
    assert body == {"detail": "from (2026-05-01) is after to (2026-02-01); swap them"}
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts?from=May")
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "from"]


def test_quantile_selection(client: TestClient, keys: dict[str, str], published: str) -> None:
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-1&quantiles=0.9,0.1")
    assert body["quantiles"] == [0.9, 0.1]
    assert list(body["rows"][0]) == ["sku", "date", "horizon", "mean", "q0.9", "q0.1", "model_version"]
    _, repeated, _ = _get(client, keys["erp"], "/v1/forecasts?sku=A-1&quantiles=q0.9&quantiles=0.10")
    assert repeated == body


@pytest.mark.parametrize(
    ("levels", "detail"),
    [
        ("0.3", "quantile 0.3 not in the published forecast; available: 0.1, 0.25, 0.5, 0.75, 0.9"),
        ("0.1,0.3,0.95", "quantiles 0.3, 0.95 not in the published forecast; available: 0.1, 0.25, 0.5, 0.75, 0.9"),
        ("high", "quantile 'high' is not a number; write levels like quantiles=0.1,0.5,0.9"),
        ("1.5", "quantile '1.5' is outside (0, 1); write levels like quantiles=0.1,0.5,0.9"),
    ],
)
def test_unknown_quantiles_are_422(
    client: TestClient, keys: dict[str, str], published: str, levels: str, detail: str
) -> None:
    for url in (f"/v1/forecasts?quantiles={levels}", f"/v1/forecasts?quantiles={levels}&format=csv&sku=ZZZ"):
        status, body, _ = _get(client, keys["erp"], url)
        assert (status, body) == (422, {"detail": detail})


def test_cursor_walk_sees_every_row_once(client: TestClient, keys: dict[str, str], published: str) -> None:
    seen: list[tuple[str, str]] = []
    url: str | None = "/v1/forecasts?limit=5"
    pages = 0
    while url:
        status, body, headers = _get(client, keys["erp"], url)
        assert status == 200
        assert body["count"] <= 5
        seen += [(r["sku"], r["date"]) for r in body["rows"]]
        pages += 1
        if body["next_cursor"]:
            assert headers["link"].endswith('>; rel="next"')
            url = f"/v1/forecasts?limit=5&cursor={body['next_cursor']}"
        else:
            assert "link" not in headers
            url = None
    assert pages == -(-ALL_ROWS // 5)
    assert len(seen) == ALL_ROWS == len(set(seen))
    assert seen == sorted(seen)


def test_csv_walk_follows_link_headers(client: TestClient, keys: dict[str, str], published: str) -> None:
    frames, url = [], "/v1/forecasts?format=csv&limit=7&quantiles=0.5"
    while url:
        response = client.get(url, headers=auth(keys["erp"]))
        assert response.status_code == 200
        frames.append(_csv(response.text))
        url = response.links.get("next", {}).get("url")
    frame = pd.concat(frames)
    assert len(frames) == -(-ALL_ROWS // 7)
    assert list(frame.columns) == ["sku", "date", "horizon", "mean", "q0.5", "model_version"]
    assert len(frame) == ALL_ROWS == len(frame.drop_duplicates(["sku", "date"]))


def test_bad_cursor_and_limit(client: TestClient, keys: dict[str, str], published: str) -> None:
    for cursor in ("garbage", "WyJhIl0", "!!!"):
        status, body, _ = _get(client, keys["erp"], f"/v1/forecasts?cursor={cursor}")
        assert (status, body) == (
            422,
            {"detail": "cursor is not valid; pass the next_cursor of the previous page unchanged"},
        )
    for limit in (0, 50_001):
        status, body, _ = _get(client, keys["erp"], f"/v1/forecasts?limit={limit}")
        assert status == 422
        assert body["detail"][0]["loc"] == ["query", "limit"]


def test_cursor_of_a_superseded_version_is_409(
    client: TestClient, keys: dict[str, str], published: str, engine: Engine
) -> None:
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts?limit=3")
    write_forecast_set(engine, "v2", forecast_frame(SKUS, PERIODS, seed=2), publish_now=True)
    for fmt in ("json", "csv"):
        status, answer, _ = _get(
            client, keys["erp"], f"/v1/forecasts?limit=3&format={fmt}&cursor={body['next_cursor']}"
        )
        assert status == 409
        assert answer == {
            "detail": "the published forecast changed from model version v1 to v2 while paging; "
            "fetch again without cursor"
        }


def test_etag_and_304(client: TestClient, keys: dict[str, str], published: str, engine: Engine) -> None:
    for url in ("/v1/forecasts?sku=A-1", "/v1/forecasts?format=csv", "/v1/forecasts/A-1"):
        first = client.get(url, headers=auth(keys["erp"]))
        tag = first.headers["etag"]
        assert first.status_code == 200 and tag.startswith('"')
        again = client.get(url, headers={**auth(keys["erp"]), "If-None-Match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
        listed = client.get(url, headers={**auth(keys["planner"]), "If-None-Match": f'"other", W/{tag}'})
        assert listed.status_code == 304
    json_tag = client.get("/v1/forecasts", headers=auth(keys["erp"])).headers["etag"]
    csv_tag = client.get("/v1/forecasts?format=csv", headers=auth(keys["erp"])).headers["etag"]
    other = client.get("/v1/forecasts?sku=A-2", headers=auth(keys["erp"])).headers["etag"]
    assert len({json_tag, csv_tag, other}) == 3
    write_forecast_set(engine, "v2", forecast_frame(SKUS, PERIODS, seed=2), publish_now=True)
    changed = client.get("/v1/forecasts", headers={**auth(keys["erp"]), "If-None-Match": json_tag})
    assert changed.status_code == 200
    assert changed.json()["model_version"] == "v2"


def test_since(client: TestClient, keys: dict[str, str], published: str, engine: Engine) -> None:
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts?since=v1")
    assert status == 200
    assert body == {"model_version": "v1", "quantiles": LEVELS, "count": 0, "next_cursor": None, "rows": []}
    response = client.get("/v1/forecasts?since=v1&format=csv", headers=auth(keys["erp"]))
    assert response.text == "sku,date,horizon,mean,q0.1,q0.25,q0.5,q0.75,q0.9,model_version\n"
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts/A-1?since=v1")
    assert body["rows"] == []
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts?since=v0")
    assert body["count"] == ALL_ROWS
    write_forecast_set(engine, "v2", forecast_frame(SKUS, PERIODS, seed=2), publish_now=True)
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts?since=v1")
    assert body["model_version"] == "v2"
    assert body["count"] == ALL_ROWS
    assert {r["model_version"] for r in body["rows"]} == {"v2"}


def test_csv_export_parses_back(client: TestClient, keys: dict[str, str], published: str) -> None:
    response = client.get("/v1/forecasts?format=csv", headers=auth(keys["erp"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="forecasts.csv"'
    frame = _csv(response.text)
    assert list(frame.columns) == [
        "sku",
        "date",
        "horizon",
        "mean",
        "q0.1",
        "q0.25",
        "q0.5",
        "q0.75",
        "q0.9",
        "model_version",
    ]
    assert len(frame) == ALL_ROWS
    assert set(frame["sku"]) == set(SKUS)  # "B,3" is quoted
    assert (frame["model_version"] == "v1").all()
    as_json = pd.DataFrame(client.get("/v1/forecasts", headers=auth(keys["erp"])).json()["rows"])
    pd.testing.assert_frame_equal(frame, as_json[frame.columns], check_dtype=False)
    accepted = client.get("/v1/forecasts", headers={**auth(keys["erp"]), "Accept": "text/csv"})
    assert accepted.text == response.text
    forced = client.get("/v1/forecasts?format=json", headers={**auth(keys["erp"]), "Accept": "text/csv"})
    assert forced.headers["content-type"] == "application/json"


def test_one_sku(client: TestClient, keys: dict[str, str], published: str) -> None:
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts/B,3")
    assert status == 200
    assert body["count"] == PERIODS and {r["sku"] for r in body["rows"]} == {"B,3"}
    assert all(r["model_version"] == "v1" for r in body["rows"])
    response = client.get("/v1/forecasts/A-1?format=csv&quantiles=0.5", headers=auth(keys["erp"]))
    assert response.headers["content-disposition"] == 'attachment; filename="forecast-A-1.csv"'
    frame = _csv(response.text)
    assert list(frame.columns) == ["sku", "date", "horizon", "mean", "q0.5", "model_version"]
    assert len(frame) == PERIODS
    _, body, _ = _get(client, keys["erp"], "/v1/forecasts/A-1?from=2030-01-01")
    assert body["rows"] == []


def test_one_sku_not_found(client: TestClient, keys: dict[str, str], published: str) -> None:
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts/NOPE-9")
    assert (status, body) == (404, {"detail": "SKU 'NOPE-9' not found; list SKUs with GET /v1/skus"})
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts/NOPE-9?format=csv&from=2026-01-01")
    assert (status, body) == (404, {"detail": "SKU 'NOPE-9' not found; list SKUs with GET /v1/skus"})
    status, body, _ = _get(client, keys["erp"], "/v1/forecasts/NO-FC")
    assert (status, body) == (
        404,
        {"detail": "SKU 'NO-FC' has no forecast in model version v1; list the forecast SKUs with GET /v1/forecasts"},
    )


def test_too_many_skus(client: TestClient, keys: dict[str, str], published: str) -> None:
    many = ",".join(f"S{i}" for i in range(10_001))
    status, body, _ = _get(client, keys["erp"], f"/v1/forecasts?sku={many}")
    assert (status, body) == (
        422,
        {"detail": "10001 SKUs in one request; ask for at most 10000, or leave sku out to get all"},
    )


def test_fast_path_answers_exactly_as_the_routed_handler(
    app: FastAPI, client: TestClient, keys: dict[str, str], published: str
) -> None:
    routed_app = create_app(app.state.settings, app.state.engine)
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not ForecastFastPath]
    with TestClient(routed_app) as routed:
        for sku in ("A-1", "B,3"):
            fast = client.get(f"/v1/forecasts/{sku}", headers=auth(keys["erp"]))
            slow = routed.get(f"/v1/forecasts/{sku}", headers=auth(keys["erp"]))
            assert fast.status_code == slow.status_code == 200
            assert fast.content == slow.content
            for header in ("etag", "x-model-version", "content-type", "cache-control"):
                assert fast.headers[header] == slow.headers[header]
            again = client.get(
                f"/v1/forecasts/{sku}", headers={"X-API-Key": keys["erp"], "If-None-Match": fast.headers["etag"]}
            )
            assert again.status_code == 304 and again.content == b""
    # what the fast path does not answer still gets the routed answers
    assert client.get("/v1/forecasts/A-1").status_code == 401
    assert client.get("/v1/forecasts/NOPE-9", headers=auth(keys["erp"])).status_code == 404
    assert client.get("/v1/forecasts/A-1", headers={**auth(keys["erp"]), "Accept": "text/csv"}).text.startswith("sku,")
    metrics = client.get("/metrics").text
    assert 'route="/v1/forecasts/{sku}",status="200"' in metrics


def test_fast_path_cache_follows_a_newly_published_version(
    app: FastAPI, keys: dict[str, str], published: str, engine: Engine
) -> None:
    settings = app.state.settings.model_copy(update={"forecast_cache_seconds": 0.3})
    with TestClient(create_app(settings, engine)) as cached:
        first = cached.get("/v1/forecasts/A-1", headers=auth(keys["erp"]))
        assert first.headers["x-model-version"] == "v1"
        write_forecast_set(engine, "v2", forecast_frame(SKUS, PERIODS, seed=5), publish_now=True)
        deadline = time.monotonic() + 5
        while cached.get("/v1/forecasts/A-1", headers=auth(keys["erp"])).headers["x-model-version"] != "v2":
            assert time.monotonic() < deadline, "the new version never reached the fast path"
            time.sleep(0.05)
        fresh = cached.get("/v1/forecasts/A-1", headers=auth(keys["erp"]))
        assert fresh.json()["rows"] != first.json()["rows"] and fresh.headers["etag"] != first.headers["etag"]
