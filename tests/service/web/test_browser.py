"""The planner pages in real headless Chromium (Debian `chromium`, `make browser`) against a real uvicorn server on
a seeded database: sign in → overview → SKU → what-if → replenishment download → schedule → models → sign out; the
MRP plan and item pages; and refused keys. Every page: content asserted, no console errors, a screenshot under
var/test-output/screenshots (or $LEANPLAN_TEST_OUTPUT/screenshots)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.auth import create_key
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.main import create_app
from service.settings import REPO_ROOT, Settings
from tests.service.web.mrp_sample import seed_mrp
from tests.service.web.sample import seed_sample, write_frontier

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(os.environ.get("LEANPLAN_TEST_OUTPUT", REPO_ROOT / "var" / "test-output")) / "screenshots"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"),
    reason="Debian chromium is not installed; run `make browser`",
)


@dataclass
class Server:
    url: str
    keys: dict[str, str]
    ids: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    home = tmp_path_factory.mktemp("home")
    engine = make_engine(f"sqlite:///{home / 'leanplan.db'}")
    upgrade(engine)
    ids = seed_sample(engine)
    ids["mrp_plan_id"] = seed_mrp(engine)
    write_frontier(home)
    keys = {role: create_key(engine, role, f"{role.title()} Tester")[1] for role in ("erp", "planner", "admin")}
    settings = Settings(home=home, database_url=str(engine.url), mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    port = _free_port()
    config = uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start within 30 s"
    yield Server(f"http://127.0.0.1:{port}", keys, ids)
    uv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Console:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


def _shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def _sign_in(page: Any, server: Server, key: str) -> None:
    page.goto(f"{server.url}/app/")
    assert "/app/login" in page.url
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def _charts_drawn(page: Any, count: int) -> None:
    # locators, not wait_for_function: the pages' CSP forbids evaluating strings as JavaScript
    page.locator(".chart .main-svg").nth(count - 1).wait_for(timeout=15_000)


def test_planner_journey(server: Server, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    console = Console(page)

    _sign_in(page, server, server.keys["planner"])
    # overview
    assert page.url.rstrip("/").endswith("/app")
    assert page.locator("h1").inner_text() == "Overview"
    assert server.ids["plan_id"] in page.locator(".page-head .sub").inner_text()
    kpis = page.locator(".kpi").all_inner_texts()
    assert any(k.startswith("INVENTORY VALUE") or k.lower().startswith("inventory value") for k in kpis)
    assert page.locator(f"text=vs plan {server.ids['previous_plan_id']}").count() == 1
    assert page.locator("#severity .sev").count() >= 4
    _charts_drawn(page, 1)
    assert page.locator(".chart[data-chart=frontier] .scatterlayer .trace").count() >= 3
    _shot(page, "01-overview")

    # SKU page via the search box
    page.fill("form.search input", "RAF-0003")
    page.press("form.search input", "Enter")
    page.wait_for_url("**/app/skus/RAF-0003")
    assert page.locator("h1").inner_text().startswith("RAF-0003")
    _charts_drawn(page, 2)
    legend = page.locator(".chart[data-chart=demand] g.legend").text_content() or ""
    assert "90 % interval (q0.05–q0.95)" in legend and "80 % interval (q0.1–q0.9)" in legend
    assert "Safety stock" in page.locator("#policy").inner_text()
    assert page.locator(".chart[data-chart=projection]").count() == 1
    _shot(page, "02-sku")

    # what-if: change the lead time, the table answers without a reload
    page.click("text=What-if for RAF-0003")
    page.wait_for_selector("#whatif-table tbody tr[data-metric=safety_stock]")
    page.fill("#w-lead", "10")
    page.locator(
        "#whatif-table tr[data-metric=lead_time_days] td:nth-child(3)", has_text=re.compile(r"^10 d$")
    ).wait_for(timeout=30_000)
    row = page.locator("#whatif-table tr[data-metric=safety_stock] td").all_inner_texts()
    assert row[0] == "Safety stock (units)" and row[1] != "—"
    assert "as of" in page.locator("#whatif-status").inner_text()
    _shot(page, "03-whatif")

    # replenishment list: filter, sort, download
    page.click("nav >> text=Replenishment")
    page.wait_for_selector("#lines")
    total = page.locator("#matching").inner_text()
    assert total.endswith("of 30 SKUs")
    page.click("#lines th >> text=Order qty")
    page.wait_for_url("**sort=order_qty**")
    page.select_option("#f-abc", "A")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**abc=A**")
    classes = page.locator("#lines tbody tr td:nth-child(2)").all_inner_texts()
    assert classes and all(c.startswith("A") for c in classes)
    _shot(page, "04-replenishment")
    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename == f"{server.ids['plan_id']}-replenishment.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("plan_id,sku,") and len(lines) == 31
    page.click("#approve")
    page.wait_for_selector("#flash")
    assert "approved by Planner Tester" in page.locator("#flash").inner_text()
    assert page.locator("#approve").count() == 0

    # schedule
    page.click("nav >> text=Schedule")
    _charts_drawn(page, 1)
    assert server.ids["schedule_plan_id"] in page.locator(".page-head .sub").inner_text()
    assert page.locator("#late-orders tbody tr").count() == 1
    assert "PO-3" in page.locator("#late-orders").inner_text()
    names = page.locator(".chart[data-chart=gantt] g.legend").text_content() or ""
    assert "changeover" in names and "late" in names
    _shot(page, "05-schedule")

    # models: no MLflow store in this home
    page.click("nav >> text=Models")
    assert "No registered model yet" in page.locator(".empty").inner_text()
    assert page.locator("#forecast-sets tbody tr").count() == 1  # the published synthetic set
    _shot(page, "06-models")

    page.click("text=Sign out")
    page.wait_for_url("**/app/login?out=1")
    page.goto(f"{server.url}/app/replenishment")
    assert "/app/login" in page.url
    assert console.errors == []
    context.close()


def test_mrp_pages(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    console = Console(page)
    _sign_in(page, server, server.keys["planner"])
    plan_id = server.ids["mrp_plan_id"]
    assert plan_id in page.locator("#mrp-plan").inner_text()

    # the plan: headline, exceptions by money at stake, planned orders filtered, pull items
    page.click("nav >> text=MRP")
    page.wait_for_url("**/app/mrp")
    assert page.locator("h1").inner_text() == "MRP plan" and plan_id in page.locator(".page-head .sub").inner_text()
    assert page.locator(".kpi").count() == 5 and page.locator("#exceptions tbody tr").count() == 10
    assert page.locator("#kanban tbody tr").count() == 2
    page.select_option("#o-mob", "make")
    page.click("#order-filters button[type=submit]")
    page.wait_for_url("**make_or_buy=make**")
    assert set(page.locator("#planned-orders tbody tr td:nth-child(3)").all_inner_texts()) == {"make"}
    page.click("#exception-kinds >> text=expedite")
    page.wait_for_url("**kind=expedite**")
    assert set(page.locator("#exceptions tbody tr td:nth-child(3)").all_inner_texts()) == {"expedite"}
    _shot(page, "07-mrp")

    # an item: the grid, where-used and the pegging tree up to the customer orders
    page.fill("#item-jump input[name=sku]", "RM-1")
    page.click("#item-jump button")
    page.wait_for_url("**/app/mrp/items/RM-1**")
    assert page.locator("#mrp-grid tbody tr").count() == 6
    assert "SA-1" in page.locator("#where-used").inner_text()
    tree = page.locator("#pegging-tree")
    assert "customer order CO-B" in tree.inner_text() and "MRP-FG-1-20240329-1" in tree.inner_text()
    page.locator("#pegging-tree details details details > summary").first.click()  # open an end item's level
    assert page.locator("#pegging-tree details details details[open]").count() >= 1
    _shot(page, "08-mrp-item")
    page.click("#where-used >> text=SA-1")
    page.wait_for_url("**/app/mrp/items/SA-1**")
    assert "RM-1" in page.locator("#components").inner_text()
    assert console.errors == []
    context.close()


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("wrong", "That key is not valid"),
        ("erp", "This key has role 'erp'; the planner pages need a planner, scientist or admin key."),
    ],
)
def test_refused_keys(server: Server, browser: Any, role: str, message: str) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    console = Console(page)
    key = server.keys.get(role, "lp_000000000000_not-a-real-key")
    _sign_in(page, server, key)
    assert "/app/login" in page.url
    assert message in page.locator("#signin-error").inner_text()
    _shot(page, f"00-signin-refused-{role}")
    page.goto(f"{server.url}/app/")
    assert "/app/login" in page.url
    assert [e for e in console.errors if "401" not in e] == []
    context.close()
