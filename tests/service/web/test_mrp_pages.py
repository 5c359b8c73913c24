"""The MRP pages on SQLite and Postgres: view models (plan headline, exceptions by money at stake, planned orders
filtered and paged, kanban loops worked out by hand, the item's grid, where-used, components and pegging tree) and
the routes (status, content, empty states, unknown plan and SKU, the CSV download, the overview link)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from service import mrp_reads
from service.auth import create_key
from service.db.tables import Plan
from service.main import create_app
from service.web.mrp import GRID_ROWS, OrderQuery, item_page, mrp_page, mrp_plan, time_phased_grid
from tests.service.api.conftest import settings_for
from tests.service.web.mrp_sample import PULL, PULL_DEFAULT, seed_mrp
from tests.service.web.test_routes import sign_in


@pytest.fixture(scope="module")
def seeded(module_engine: Engine) -> tuple[Engine, str]:
    """One MRP plan per database for the tests that only read it."""
    return module_engine, seed_mrp(module_engine)


def _client(engine: Engine, home: Path) -> Iterator[TestClient]:
    app = create_app(settings_for(engine, home), engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        _, key = create_key(engine, "planner", "MRP tester")
        sign_in(test_client, key)
        yield test_client


@pytest.fixture
def client(seeded: tuple[Engine, str], tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(seeded[0], tmp_path / "home")


@pytest.fixture
def empty_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(engine, tmp_path / "home")


# --- view models ------------------------------------------------------------------------------------------------


def test_no_mrp_plan(engine: Engine) -> None:
    with engine.connect() as conn:
        assert mrp_plan(conn) is None
    assert mrp_page(engine, None, OrderQuery()).plan is None
    page = item_page(engine, "FG-1")
    assert page.plan is None and page.item is None


def test_only_mrp_plans_are_shown(engine: Engine) -> None:
    plan_id = seed_mrp(engine)
    with engine.begin() as conn:
        conn.execute(insert(Plan).values(id="pp-other", status="done", params={"kind": "production"}, summary={}))
    with engine.connect() as conn:
        latest = mrp_plan(conn)
        assert latest is not None and latest.id == plan_id
        assert mrp_plan(conn, "pp-other") is None and mrp_plan(conn, "nope") is None
    assert mrp_page(engine, "pp-other", OrderQuery()).plan is None


def test_plan_page(seeded: tuple[Engine, str]) -> None:
    engine, plan_id = seeded
    v = mrp_page(engine, None, OrderQuery())
    assert v.plan is not None and v.plan.id == plan_id
    h = v.headline
    # FG-1: 2 orders, SA-1: 2, RM-1: 1, PK-1: 2, PK-2: 2
    assert (h["items"], h["planned_orders"], h["make_orders"], h["buy_orders"]) == (5, 9, 4, 5)
    assert v.exception_kinds[0][0] == "blocked_order" and sum(n for _, n in v.exception_kinds) == h["exceptions"]
    money = [e["value_at_risk"] for e in v.exceptions]
    assert money == sorted(money, reverse=True) and len(v.exceptions) == h["exceptions"]
    # RM-1 is needed at the plan date (1,800 for SA-1's release) with a two-week lead time: 1,770 × 1.5 at stake
    assert (v.exceptions[0]["sku"], v.exceptions[0]["type"], v.exceptions[0]["value_at_risk"]) == (
        "RM-1", "mrp_expedite", pytest.approx(2655.0)
    )  # fmt: skip
    expedite = mrp_page(engine, None, OrderQuery.of(kind="expedite"))
    assert {e["type"] for e in expedite.exceptions} == {"mrp_expedite"} and expedite.shown_exceptions == 4
    assert v.matching == 9 and [o["release_date"] for o in v.orders] == sorted(o["release_date"] for o in v.orders)


@pytest.mark.parametrize(
    ("raw", "skus", "matching"),
    [
        ({"sku": "pk-"}, {"PK-1", "PK-2"}, 4),
        ({"make_or_buy": "make"}, {"FG-1", "SA-1"}, 4),
        ({"expedite": "1"}, {"PK-1", "PK-2", "RM-1", "SA-1"}, 4),
        ({"sku": "SA", "expedite": "1"}, {"SA-1"}, 1),
        ({"sku": "none"}, set(), 0),
    ],
)
def test_planned_order_filters(seeded: tuple[Engine, str], raw: dict[str, str], skus: set[str], matching: int) -> None:
    engine, plan_id = seeded
    v = mrp_page(engine, plan_id, OrderQuery.of(**raw))
    assert {o["sku"] for o in v.orders} == skus and v.matching == matching


def test_planned_orders_are_paged_in_sql(seeded: tuple[Engine, str]) -> None:
    engine, plan_id = seeded
    plan = {"id": plan_id, "model_version": None}
    first, matching = mrp_reads.find_planned_orders(engine, plan, limit=4)
    rest, _ = mrp_reads.find_planned_orders(engine, plan, offset=4, limit=10)
    assert matching == 9 and len(first) == 4 and len(rest) == 5
    assert {o["order_id"] for o in first}.isdisjoint(o["order_id"] for o in rest)


def test_order_query_sanitises() -> None:
    q = OrderQuery.of(sku="  PK- ", make_or_buy="both", expedite="1", kind="nonsense", page="-3")
    assert (q.sku, q.make_or_buy, q.expedite, q.kind, q.page) == ("PK-", "", True, "", 1)
    assert OrderQuery.of(page="x").page == 1 and OrderQuery.of(page="10000000000").page == 1_000_000
    assert q.params(page=3) == "sku=PK-&expedite=1&page=3" and q.params(expedite=False) == "sku=PK-"


def test_kanban_loops_by_hand(seeded: tuple[Engine, str]) -> None:
    engine, plan_id = seeded
    k = mrp_page(engine, plan_id, OrderQuery()).kanban
    assert k["periods"][0] == "2024-03-01" and len(k["periods"]) == 8 and k["not_in_plan"] == []
    loops = {it["sku"]: it for it in k["items"]}
    assert set(loops) == {PULL, PULL_DEFAULT}
    # PK-1: one per FG-1 released (100 in week 1, 200 in week 3) → gross 100, 0, 200, 0…: 37.5 a week; one-week
    # lead time; containers of 40 → ⌈37.5 × 1 × 1.1 / 40⌉ = ⌈1.03⌉ = 2 cards; cumulative 100, 100, 300 over 40 →
    # 2, 2, 7 containers emptied → signals 2, 0, 5
    pk1 = loops[PULL]
    assert (pk1["demand_per_week"], pk1["lead_time_periods"], pk1["container_qty"], pk1["cards"]) == (37.5, 1, 40, 2)
    assert pk1["signals"] == [2, 0, 5, 0, 0, 0, 0, 0] and pk1["loop_qty"] == 80 and pk1["mrp_orders"] == 2
    # PK-2: half per FG-1 → 18.75 a week; no container size: a week in lots of 25 → 25; ⌈18.75 × 1.1 / 25⌉ = 1
    pk2 = loops[PULL_DEFAULT]
    assert (pk2["container_qty"], pk2["container_source"], pk2["cards"]) == (25, "a week of demand in lots", 1)
    assert pk2["signals"] == [2, 0, 4, 0, 0, 0, 0, 0]


def test_item_page(seeded: tuple[Engine, str]) -> None:
    engine, plan_id = seeded
    p = item_page(engine, "SA-1")
    assert p.plan is not None and p.item is not None and p.master["name"] == "sub-assembly"
    assert [r["label"] for r in p.grid] == [label for _, label in GRID_ROWS] and len(p.weeks) == 8
    grid = {r["key"]: [c["value"] for c in r["cells"]] for r in p.grid}
    # two SA-1 per FG-1 released: 100 at the plan date, 200 two weeks later
    assert grid["gross_requirements"] == [200, 0, 400, 0, 0, 0, 0, 0]
    assert grid["planned_releases"] == [600, 0, 0, 0, 0, 0, 0, 0]
    assert [u["parent_sku"] for u in p.item["where_used"]] == ["FG-1"]
    assert [c["component_sku"] for c in p.item["components"]] == ["RM-1"]
    assert {e["type"] for e in p.exceptions} == {"mrp_expedite", "mrp_blocked_order"} and p.kanban is None
    assert item_page(engine, PULL, plan_id).kanban is not None
    missing = item_page(engine, "NOPE")
    assert missing.plan is not None and missing.item is None


def test_pegging_tree_climbs_to_the_end_item(seeded: tuple[Engine, str]) -> None:
    engine = seeded[0]
    tree = item_page(engine, "RM-1").tree
    assert tree["more_orders"] == 0 and not tree["truncated"]
    (order,) = tree["orders"]
    # RM-1's one order (1,770: 1,800 needed less 30 on hand) serves CO-B with 1,200 (400 SA-1 × 3) and CO-A with
    # the rest; upward: the SA-1 order for each, then the FG-1 order for each customer order
    assert order["order_id"] == "MRP-RM-1-20240301-1" and order["shared_qty"] is None
    assert [(s["demand_id"], s["end_sku"], s["qty"]) for s in order["serves"]] == [
        ("CO-B", "FG-1", pytest.approx(1200)), ("CO-A", "FG-1", pytest.approx(570))
    ]  # fmt: skip
    chains = [(sa["order_id"], [fg["order_id"] for fg in sa["parents"]]) for sa in order["parents"]]
    assert chains == [
        ("MRP-SA-1-20240315-1", ["MRP-FG-1-20240329-1"]),
        ("MRP-SA-1-20240301-1", ["MRP-FG-1-20240315-1"]),
    ]
    assert [sa["shared_qty"] for sa in order["parents"]] == [pytest.approx(1200), pytest.approx(570)]
    end = order["parents"][0]["parents"][0]
    assert end["end_item"] and end["parents"] == [] and [s["demand_id"] for s in end["serves"]] == ["CO-B"]
    assert not order["end_item"] and not order["parents"][0]["end_item"]
    assert item_page(engine, "FG-1").tree["orders"][0]["end_item"]


def test_grid_flags_negative_and_low_stock() -> None:
    record = {key: [0.0, 0.0, 0.0] for key, _ in GRID_ROWS}
    record["projected_on_hand"] = [5.0, -2.0, 1.0]
    rows, negative = time_phased_grid(record, safety_stock=3.0)
    flags = {r["key"]: [c["flag"] for c in r["cells"]] for r in rows}
    assert flags["projected_on_hand"] == ["", "neg", "low"] and negative == 1
    assert flags["gross_requirements"] == ["", "", ""]


# --- routes -----------------------------------------------------------------------------------------------------


def test_pages_need_a_session(engine: Engine, tmp_path: Path) -> None:
    app = create_app(settings_for(engine, tmp_path / "home"), engine)
    with TestClient(app) as anonymous:
        r = anonymous.get("/app/mrp/items/FG-1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/login?next=%2Fapp%2Fmrp%2Fitems%2FFG-1"


def test_empty_database_routes(empty_client: TestClient) -> None:
    client = empty_client
    r = client.get("/app/mrp")
    assert r.status_code == 200 and "No MRP plan yet" in r.text and "leanplan plan mrp" in r.text
    r = client.get("/app/mrp/items/FG-1")
    assert r.status_code == 404 and "No MRP plan" in r.text
    r = client.get("/app/mrp/planned-orders.csv")
    assert r.status_code == 404 and "compute one with `leanplan plan mrp`" in r.text
    assert 'id="mrp-plan"' not in client.get("/app/").text


def test_seeded_routes(client: TestClient, seeded: tuple[Engine, str]) -> None:
    plan_id = seeded[1]
    for path in ("/app/mrp", "/app/mrp?kind=blocked_order&make_or_buy=buy&expedite=1&page=2", "/app/mrp/items/RM-1",
                 f"/app/mrp/items/{PULL}?plan={plan_id}", "/app/mrp/items/FG-1"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 200, path
        assert "{{" not in r.text and "None" not in r.text, path
    page = client.get("/app/mrp").text
    assert plan_id in page and 'href="/app/mrp" class="active"' in page
    assert 'id="kanban"' in page and "PK-2" in page and "MRP-SA-1-20240315-1" in page
    assert "customer order CO-B for FG-1" in page  # a blocked order among the exceptions
    item = client.get("/app/mrp/items/RM-1").text
    assert 'id="pegging-tree"' in item and "customer order <strong>CO-A</strong>" in item
    assert "MRP-FG-1-20240315-1" in item and 'href="/app/mrp/items/SA-1?plan=' in item
    assert item.count('<tr data-row="') == 6
    filtered = client.get("/app/mrp?sku=pk-").text
    assert "4 of 9 orders" in filtered and "MRP-RM-1" not in filtered
    overview = client.get("/app/").text
    assert 'id="mrp-plan"' in overview and "9 planned orders" in overview


def test_unknown_plan_and_sku(client: TestClient, seeded: tuple[Engine, str]) -> None:
    plan_id = seeded[1]
    r = client.get("/app/mrp?plan=nope")
    assert r.status_code == 404 and "No MRP plan nope" in r.text
    r = client.get("/app/mrp/items/NOPE")
    assert r.status_code == 404 and f"SKU 'NOPE' is not in MRP plan {plan_id}" in r.text
    assert client.get("/app/mrp/planned-orders.csv?plan=nope").status_code == 404


def test_item_jump_and_csv(client: TestClient, seeded: tuple[Engine, str]) -> None:
    plan_id = seeded[1]
    r = client.get(f"/app/mrp/items?sku=+SA-1+&plan={plan_id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/app/mrp/items/SA-1?plan={plan_id}"
    assert client.get("/app/mrp/items?sku=", follow_redirects=False).headers["location"] == "/app/mrp"
    r = client.get("/app/mrp/planned-orders.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{plan_id}-planned-orders.csv"'
    table = pd.read_csv(io.BytesIO(r.content))
    assert len(table) == 9 and set(table["plan_id"]) == {plan_id}
