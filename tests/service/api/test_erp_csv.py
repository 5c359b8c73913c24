"""CSV as ERP systems write it: `;` delimiters and decimal commas (sniffed, or named by `delimiter=` / `decimal=`
and `leanplan import --delimiter/--decimal`), and strict ISO 8601 dates (others rejected naming row and column)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from pipelines.ingest import sniff_delimiter
from tests.factories import valid_tables
from tests.service.api.conftest import auth
from tests.service.api.test_data_upload import csv_of

ITEMS = (
    "sku;name;unit_cost;price;lot_size;moq;make_or_buy\n"
    "E-1;Schraube M8;1,25;2,5;10;0;buy\n"
    "E-2;Mutter;0,2;0,35;1;0;buy\n"
)


def _post(client: TestClient, key: str, table: str, body: bytes, **params: str) -> Any:
    headers = {**auth(key), "Content-Type": "text/csv"}
    return client.post(f"/v1/data/{table}", content=body, headers=headers, params=params)


def _costs(engine: Engine) -> dict[str, tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sku, unit_cost, price FROM items WHERE sku LIKE 'E-%'"))
        return {r[0]: (float(r[1]), float(r[2])) for r in rows}


def test_sniffing() -> None:
    assert sniff_delimiter("a;b;c\n1;2,5;3") == ";"
    assert sniff_delimiter("a\tb\n") == "\t"
    assert sniff_delimiter("a,b;c\n") == ","  # a tie keeps the comma
    assert sniff_delimiter("sku\nA-1\n") == ","


def test_semicolons_and_decimal_commas_are_sniffed(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    response = _post(client, keys["erp"], "items", ITEMS.encode())
    assert response.status_code == 200, response.text
    assert _costs(engine) == {"E-1": (1.25, 2.5), "E-2": (0.2, 0.35)}
    again = _post(client, keys["erp"], "items", ITEMS.encode(), delimiter=";", decimal=",")
    assert again.status_code == 200 and again.json()["unchanged"] == 2


def test_delimiter_and_decimal_parameters(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    tabbed = ITEMS.replace(";", "\t").replace("0,", "0.").replace("1,25", "1.25").replace("2,5", "2.5").encode()
    assert _post(client, keys["erp"], "items", tabbed, delimiter="tab").status_code == 200
    assert _costs(engine) == {"E-1": (1.25, 2.5), "E-2": (0.2, 0.35)}
    points = ITEMS.replace("1,25", "1.5").replace("2,5", "3").replace("0,2", "0.25").replace("0,35", "0.5")
    assert _post(client, keys["erp"], "items", points.encode(), decimal=".").status_code == 200
    assert _costs(engine) == {"E-1": (1.5, 3.0), "E-2": (0.25, 0.5)}


def test_bad_csv_options_are_rejected(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    both = _post(client, keys["erp"], "items", csv_of(valid_tables()["items"]), delimiter=",", decimal=",")
    assert both.status_code == 422 and "decimal ',' needs another delimiter" in both.text
    assert _post(client, keys["erp"], "items", ITEMS.encode(), delimiter=":").status_code == 422
    thousands = ITEMS.replace("1,25", "1.234,5").encode()  # thousands separators are not guessed
    refused = _post(client, keys["erp"], "items", thousands)
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "row": 1, "column": "unit_cost", "value": "1.234.5", "reason": "is not a number",
    }  # fmt: skip
    assert _costs(engine) == {}


@pytest.mark.parametrize("date", ["2003/01/01", "31/12/2001", "20030101", "2003-1-1", "2003"])
def test_dates_must_be_iso_8601(client: TestClient, keys: dict[str, str], engine: Engine, date: str) -> None:
    assert _post(client, keys["erp"], "items", csv_of(valid_tables()["items"])).status_code == 200
    body = f"sku,date,qty\nA-1,2024-01-01,3\nA-2,{date},4\n".encode()
    response = _post(client, keys["erp"], "demand", body)
    assert response.status_code == 422, date
    assert {"row": 2, "column": "date", "value": date, "reason": "is not a date (use ISO 8601: YYYY-MM-DD)"} in (
        response.json()["errors"]
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM demand")).scalar() == 0


def test_iso_dates_and_date_times_still_pass(client: TestClient, keys: dict[str, str]) -> None:
    assert _post(client, keys["erp"], "items", csv_of(valid_tables()["items"])).status_code == 200
    body = b"sku,date,qty\nA-1,2024-01-01,3\nA-2,2024-01-08T00:00:00,4\nA-2,2024-01-15 00:00,5\nA-2,2024-02,6\n"
    assert _post(client, keys["erp"], "demand", body).status_code == 200


def test_cli_import_options(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS.replace(";", "|"))
    env_home = tmp_path / "home"
    command = [sys.executable, "-m", "service.cli", "import", str(tmp_path / "items.csv")]
    env = {"LEANPLAN_HOME": str(env_home), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = subprocess.run(
        [*command, "--delimiter", "|", "--decimal", ","], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert run.returncode == 0, run.stderr
    assert "items" in run.stdout
