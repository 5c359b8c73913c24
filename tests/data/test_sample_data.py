"""The committed sample data set: rebuilt byte for byte by its generator, and loadable as it stands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from pipelines import sample_data
from service.db.importer import import_path

SAMPLE = sample_data.DEFAULT_OUT_DIR


@pytest.fixture(scope="module")
def generated() -> dict[str, pd.DataFrame]:
    return sample_data.generate()


def test_generator_reproduces_the_committed_files(generated: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    written = sample_data.write(generated, tmp_path)
    assert written
    for path in written:
        committed = SAMPLE / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run `leanplan sample-data`"


def test_real_demand_is_copied_unchanged(generated: dict[str, pd.DataFrame]) -> None:
    raf = pd.read_csv(sample_data.DEFAULT_REAL_DIR / "raf_spare_parts" / "raf_demand_monthly.csv")
    wide = generated["demand.raf"]
    assert wide.drop(columns="sku").to_numpy().sum() == raf.drop(columns="item_id").to_numpy().sum() == 605_764
    pbs = pd.read_csv(sample_data.DEFAULT_REAL_DIR / "pbs" / "pbs_monthly.csv")
    assert generated["demand.pbs"]["qty"].sum() == pbs["scripts"].sum()


def test_master_data_is_consistent(generated: dict[str, pd.DataFrame]) -> None:
    items, offers = generated["items"], generated["suppliers"]
    buy = set(items.loc[items.make_or_buy == "buy", "sku"])
    per_sku = offers.groupby("sku").size()
    assert set(per_sku.index) == buy and per_sku.between(1, 3).all()
    receipts = generated["receipts"]
    done = receipts.dropna(subset=["received_date"])
    late = pd.to_datetime(done.received_date) > pd.to_datetime(done.promised_date)
    on_time = (~late).groupby(done.supplier_id).mean()
    assert on_time.quantile(0.05) < 0.7 and on_time.quantile(0.95) > 0.95  # heterogeneous reliability
    assert (done.qty_received < done.qty_ordered).mean() > 0.02  # some short deliveries
    make = set(items.loc[items.make_or_buy == "make", "sku"])
    routings = generated["routings"]
    ops = routings.groupby("sku")["op"].nunique()
    assert ops[ops.index.str.startswith("PBS-")].eq(2).all() and ops[~ops.index.str.startswith("PBS-")].eq(1).all()
    assert set(routings.sku) == make
    assert routings.line_id.nunique() >= 8


def test_sample_directory_imports_into_both_databases(engine: Engine) -> None:
    report = import_path(engine, SAMPLE)
    loaded = {r.table: 0 for _, r in report.results}
    for _, r in report.results:
        loaded[r.table] += r.inserted
    assert loaded["items"] == 5_334 + 210  # RAF and PBS, plus the factory's 86 made and 124 bought items
    assert loaded["bom"] == 2_576
    assert loaded["demand"] == 5_000 * 84 + 67_476
    assert not report.skipped  # truth/ is a subdirectory, not a table file
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT sku) FROM suppliers")).scalar() == 5_000 + 124
    again = import_path(engine, SAMPLE)
    assert all(r.inserted == r.updated == 0 for _, r in again.results)


def test_factory_is_connected(generated: dict[str, pd.DataFrame]) -> None:
    """Every PBS product sits on a BOM of at least three levels whose purchased leaves have suppliers and history."""
    from optimizer.mrp.graph import low_level_codes

    items, bom = generated["items"].set_index("sku"), generated["bom"]
    names = sorted(set(bom.parent_sku) | set(bom.component_sku))
    index = {sku: i for i, sku in enumerate(names)}
    codes = pd.Series(
        low_level_codes(bom.parent_sku.map(index).to_numpy(), bom.component_sku.map(index).to_numpy(), len(names)),
        index=names,
    )
    products = [sku for sku in items.index if sku.startswith("PBS-")]
    assert set(bom.parent_sku) >= set(products) and codes[products].eq(0).all() and codes.max() >= 2
    leaves = sorted(set(bom.component_sku) - set(bom.parent_sku))
    assert items.loc[leaves, "make_or_buy"].eq("buy").all()
    assert items.loc[sorted(set(bom.parent_sku)), "make_or_buy"].eq("make").all()
    users = bom.groupby("component_sku")["parent_sku"].nunique()
    assert (users >= 20).sum() >= 20  # excipients and packaging shared by many products
    assert set(generated["suppliers"].sku) >= set(leaves)
    receipts = generated["receipts"][generated["receipts"].sku.isin(leaves)]
    assert receipts.sku.nunique() == len(leaves) and receipts.received_date.notna().mean() > 0.8
    open_po = generated["open_orders"][generated["open_orders"].sku.isin(leaves)]
    assert len(open_po) == receipts.received_date.isna().sum() > 0
    assert set(generated["inventory"].sku) >= set(names)
    assert set(items.loc[items.pull, :].index) == {"EXC-MGST", "PK-CAP", "PK-LABEL", "PK-SHIPPER"}
