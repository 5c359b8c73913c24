"""`sku_pattern` is matched by RE2 in linear time: a pattern that makes Python's `re` backtrack for minutes answers
at once, and patterns RE2 cannot match in linear time are refused with 422 naming the pattern."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.db.forecasts import load_demand
from service.db.importer import RawInput, import_frames
from service.sku_pattern import SkuPatternError, compile_sku_pattern, matches
from tests.factories import valid_tables
from tests.service.api.conftest import auth

EVIL = "(A+)+$"  # exponential in Python's re on "AAAA…B"


def test_a_backtracking_pattern_answers_at_once() -> None:
    skus = ["A" * 5000 + "B", "AAAA", "A-1"]
    started = time.perf_counter()
    assert matches(skus, EVIL) == [False, True, False]
    assert time.perf_counter() - started < 0.5


def test_match_is_anchored_at_the_start_like_re_match() -> None:
    assert matches(["RAF-001", "X-RAF-001"], "RAF-") == [True, False]


@pytest.mark.parametrize("pattern", [r"(A)\1", "A(?=B)", "(["])
def test_patterns_re2_refuses(pattern: str) -> None:
    with pytest.raises(SkuPatternError, match="is not a valid regular expression"):
        compile_sku_pattern(pattern)


def test_load_demand_filters_with_the_pattern(engine: Engine) -> None:
    tables = valid_tables()
    import_frames(engine, [RawInput(t, f, t) for t, f in tables.items()])
    assert set(load_demand(engine, "A-").sku) == set(tables["demand"].sku[tables["demand"].sku.str.startswith("A-")])
    assert load_demand(engine, EVIL).empty
    assert isinstance(load_demand(engine), pd.DataFrame)


def test_the_api_refuses_a_lookaround_pattern(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/training-runs", json={"sku_pattern": "RAF(?!-9)"}, headers=auth(keys["scientist"]))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("sku_pattern 'RAF(?!-9)' is not a valid regular expression")
