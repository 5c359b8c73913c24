"""Seeded sample data set: real RAF and PBS demand plus generated item, supply and shop-floor tables.

Public interface:

- `generate(real_dir, seed) -> dict[str, DataFrame]`: every table of the sample set, keyed by file stem
  (``"items"``, ``"demand.raf"``, ``"demand.pbs"``, …, ``"truth/supplier_traits"``).
- `write(tables, out_dir) -> list[Path]`: write the tables as UTF-8 CSV with ISO dates.
- `run(out_dir, real_dir, seed) -> list[Path]`: generate and write; ``python -m pipelines.sample_data``.
- `monthly_line_hours(lines)`, `line_load(routings, demand, hours)`: line capacity and load per month.
- `DEFAULT_REAL_DIR`, `DEFAULT_OUT_DIR`, `DEFAULT_SEED`, `RAF_AS_OF`, `PBS_AS_OF`.

The RAF spare parts (5,000 SKUs, demand 1996-2002) are bought from suppliers. The PBS series (334 SKUs,
demand Jul 1991-Jun 2008) are made on ten production lines. Demand values are copied unchanged. Everything
else comes from one seed through numpy's `default_rng`, so the same seed gives byte-identical files.
`data/README.md` describes each table and how it is made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.calendars import parse_shifts, weekly_minutes
from pipelines.contracts import BOOL, DATETIME, TABLES

if TYPE_CHECKING:
    from pipelines import sample_factory

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL_DIR = ROOT / "data" / "real"
DEFAULT_OUT_DIR = ROOT / "data" / "sample"
DEFAULT_SEED = 20081

RAF_AS_OF = pd.Timestamp("2003-01-01")
PBS_AS_OF = pd.Timestamp("2008-07-01")
PO_START, PO_END = pd.Timestamp("2001-01-01"), pd.Timestamp("2002-12-31")
DAYS_PER_MONTH = 30.4
WEEKS_PER_MONTH = 52 / 12

#: (line_id, name, shifts, stage, speed): newer lines run faster.
LINES: tuple[tuple[str, str, str, str, float], ...] = (
    ("L01", "Granulation & Tablet Press 1", "Mon-Fri 06:00-22:00; Sat 06:00-14:00", "process", 0.82),
    ("L02", "Granulation & Tablet Press 2", "24/7", "process", 1.00),
    ("L03", "Granulation & Tablet Press 3", "24/7", "process", 1.18),
    ("L04", "Encapsulation", "Mon-Fri 06:00-22:00; Sat 06:00-14:00", "process", 0.95),
    ("L05", "Liquids & Semi-solids", "Mon-Fri 06:00-22:00", "process", 0.90),
    ("L06", "Packaging 1 - Blister", "Mon-Fri 06:00-22:00", "pack", 0.80),
    ("L07", "Packaging 2 - Blister", "Mon-Fri 06:00-22:00; Sat 06:00-14:00", "pack", 0.92),
    ("L08", "Packaging 3 - Bottle", "Mon-Fri 06:00-22:00; Sat 06:00-14:00", "pack", 1.00),
    ("L09", "Packaging 4 - Blister", "24/7", "pack", 1.10),
    ("L10", "Packaging 5 - Bottle & Tube", "24/7", "pack", 1.20),
)
#: Extra cleaning minutes when changing over *from* a potent or hazardous family (ATC level 1).
CLEAN_OUT = {"L": 95.0, "J": 60.0, "H": 50.0, "G": 25.0, "N": 25.0}
#: Lines with quick-change tooling: their own, shorter changeover matrix.
FAST_CHANGEOVER_LINES = ("L09", "L10")

_NAME_HEADS = (
    "Alder",
    "Bram",
    "Carr",
    "Dun",
    "Elm",
    "Fen",
    "Glen",
    "Hart",
    "Ives",
    "Kest",
    "Lang",
    "Mar",
    "Nor",
    "Oak",
    "Pen",
    "Quarry",
    "Red",
    "Sel",
    "Thorn",
    "Ux",
    "Vale",
    "Wyn",
    "Yar",
    "Ash",
)
_NAME_TAILS = ("ford", "ton", "field", "wood", "by", "mere", "ley", "combe", "gate", "bridge", "stone", "well")
_NAME_TRADES = (
    "Precision Engineering",
    "Aero Components",
    "Hydraulics",
    "Fasteners",
    "Avionics",
    "Castings",
    "Seals & Gaskets",
    "Instruments",
    "Electrical",
    "Bearings",
    "Forgings",
    "Tooling",
    "Composites",
    "Machining",
    "Springs",
    "Valves",
    "Optics",
    "Cable & Harness",
    "Rubber Products",
    "Air Systems",
)
_NAME_FORMS = ("Ltd", "Ltd", "Ltd", "Ltd", "plc", "& Co Ltd", "Group Ltd", "Industries Ltd")

_STREAMS = (
    "items",
    "suppliers",
    "offers",
    "receipts",
    "inventory",
    "production",
    "routings",
    "changeovers",
    "downtime",
    "customer_orders",
    "factory",
)


# --- real data -----------------------------------------------------------------------------------------------


def _raf(real_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RAF items (sku, name, lead_time_months, unit_cost) and wide demand (sku + one column per month)."""
    folder = real_dir / "raf_spare_parts"
    items = pd.read_csv(folder / "raf_items.csv")
    demand = pd.read_csv(folder / "raf_demand_monthly.csv")
    items = pd.DataFrame(
        {
            "sku": items["item_id"].map("RAF-{:04d}".format),
            "name": items["description"],
            "lead_time_months": items["lead_time_months"].astype(int),
            "unit_cost": items["unit_price_gbp"].round(3),  # the source has at most 3 decimals
        }
    )
    demand = demand.rename(columns={"item_id": "sku"})
    demand["sku"] = demand["sku"].map("RAF-{:04d}".format)
    _check_unique(items["sku"], "RAF")
    if demand["sku"].tolist() != items["sku"].tolist():
        raise ValueError("raf_demand_monthly.csv and raf_items.csv list different items")
    return items, demand


def _pbs(real_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PBS items (with sku) and long demand (sku, date, qty = scripts)."""
    folder = real_dir / "pbs"
    items = pd.read_csv(folder / "pbs_items.csv", keep_default_na=False, na_values=[""])
    monthly = pd.read_csv(folder / "pbs_monthly.csv")
    concession = items["concession"].map({"Concessional": "C", "General": "G"})
    kind = items["type"].map({"Co-payments": "CP", "Safety net": "SN"})
    items["sku"] = "PBS-" + concession + "-" + kind + "-" + items["atc2"]
    _check_unique(items["sku"], "PBS")
    sku_of = dict(zip(items["series_id"], items["sku"], strict=True))
    demand = pd.DataFrame(
        {
            "sku": monthly["series_id"].map(sku_of),
            "date": pd.to_datetime(monthly["month"] + "-01"),
            "qty": monthly["scripts"].astype(int),
        }
    )
    if demand["sku"].isna().any():
        raise ValueError("pbs_monthly.csv has series missing from pbs_items.csv")
    return items, demand


def _check_unique(skus: pd.Series, source: str) -> None:
    if skus.isna().any() or skus.duplicated().any():
        raise ValueError(f"{source} SKU ids are not unique: {sorted(skus[skus.duplicated()].unique())[:5]}")


def _monthly_mean(demand: pd.DataFrame, first: str, last: str) -> pd.Series:
    """Mean monthly PBS demand per SKU over months `first`..`last` (YYYY-MM-DD); SKUs without rows are absent."""
    window = demand[(demand["date"] >= first) & (demand["date"] <= last)]
    return window.groupby("sku")["qty"].sum() / _months(first, last)


def _months(first: str, last: str) -> int:
    return (pd.Timestamp(last).to_period("M") - pd.Timestamp(first).to_period("M")).n + 1


# --- items ---------------------------------------------------------------------------------------------------


def _items(raf: pd.DataFrame, pbs: pd.DataFrame, pbs_monthly: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Item master: RAF parts are bought at their source price, PBS groups are made in batches."""
    bought = pd.DataFrame(
        {
            "sku": raf["sku"],
            "name": raf["name"],
            "family": None,
            "unit_cost": raf["unit_cost"],
            "price": raf["unit_cost"],
            "shelf_life_days": pd.array([pd.NA] * len(raf), dtype="Int64"),
            "lot_size": 1.0,
            "moq": 0.0,
            "make_or_buy": "buy",
        }
    )
    price = pbs["avg_cost_per_script_aud"].to_numpy()
    mean = pbs["sku"].map(pbs_monthly).fillna(0.0).to_numpy()
    lot = np.select([mean < 2_000, mean < 50_000], [100.0, 500.0], 1000.0)
    weekly = mean / WEEKS_PER_MONTH
    made = pd.DataFrame(
        {
            "sku": pbs["sku"],
            "name": pbs["atc2_desc"] + " (" + pbs["concession"] + ", " + pbs["type"] + ")",
            "family": pbs["atc1"],
            "unit_cost": np.round(price * rng.uniform(0.45, 0.70, len(pbs)), 2),
            "price": price,
            "shelf_life_days": pd.array(rng.choice([365, 540, 730, 1095], len(pbs)), dtype="Int64"),
            "lot_size": lot,
            "moq": np.maximum(np.round(weekly / lot), 1.0) * lot,
            "make_or_buy": "make",
        }
    )
    return pd.concat([bought, made], ignore_index=True)


# --- suppliers, offers, receipts -----------------------------------------------------------------------------


def _supplier_names(n: int, rng: np.random.Generator) -> list[str]:
    """`n` distinct, made-up company names."""
    names: list[str] = []
    while len(names) < n:
        parts = (rng.choice(_NAME_HEADS), rng.choice(_NAME_TAILS), rng.choice(_NAME_TRADES), rng.choice(_NAME_FORMS))
        name = f"{parts[0]}{parts[1]} {parts[2]} {parts[3]}"
        if not any(other.startswith(parts[0] + parts[1] + " ") for other in names):
            names.append(name)
    return names


def _supplier_traits(rng: np.random.Generator, n: int = 150) -> pd.DataFrame:
    """Hidden reliability of each supplier (the generator's truth; see data/README.md)."""
    return pd.DataFrame(
        {
            "supplier_id": [f"SUP-{i:03d}" for i in range(1, n + 1)],
            "supplier_name": _supplier_names(n, rng),
            "on_time_rate": np.round(rng.uniform(0.60, 0.99, n), 3),
            "late_days_mean": np.round(rng.gamma(3.0, 5.0, n) + 3.0, 1),
            "lead_time_cv": np.round(rng.uniform(0.03, 0.30, n), 3),
            "short_delivery_prob": np.round(rng.uniform(0.0, 0.25, n), 3),
            "short_fill_mean": np.round(rng.uniform(0.50, 0.95, n), 3),
            "degrading": rng.random(n) < 0.06,
            "popularity": rng.lognormal(0.0, 0.8, n),
        }
    )


def _raf_annual_demand(demand: pd.DataFrame) -> np.ndarray:
    """Mean yearly demand per RAF SKU over 1999-2002."""
    return demand.loc[:, "1999-01":"2002-12"].sum(axis=1).to_numpy() / 4.0


def _offers(raf: pd.DataFrame, annual: np.ndarray, traits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """1-3 supplier offers per RAF SKU; the first (rank 0) is the primary source."""
    n_sku = len(raf)
    n_offers = rng.choice([1, 2, 3], n_sku, p=[0.55, 0.30, 0.15])
    # distinct suppliers per SKU, drawn by popularity (Gumbel top-k)
    keys = np.log(traits["popularity"].to_numpy()) + rng.gumbel(size=(n_sku, len(traits)))
    picks = np.argsort(-keys, axis=1)[:, :3]
    rank = np.tile(np.arange(3), n_sku)
    keep = rank < np.repeat(n_offers, 3)
    row = np.repeat(np.arange(n_sku), 3)[keep]
    rank = rank[keep]
    n = len(row)
    primary = rank == 0
    nominal = np.round(raf["lead_time_months"].to_numpy()[row] * DAYS_PER_MONTH)
    lead = np.where(primary, nominal, np.maximum(np.round(nominal * rng.uniform(0.6, 1.4, n)), 0)).astype(int)
    cost = raf["unit_cost"].to_numpy()[row]
    price = np.where(primary, cost, np.round(cost * rng.uniform(0.85, 1.25, n), 3))
    yearly = annual[row]
    lot_choices = np.select(
        [cost >= 500, yearly < 12, yearly < 60, yearly < 300],
        [np.ones(n), np.ones(n), rng.choice([1.0, 5.0], n), rng.choice([5.0, 10.0], n)],
        rng.choice([10.0, 25.0], n),
    )
    moq = np.where(rng.random(n) < 0.6, 0.0, lot_choices * rng.integers(1, 4, n))
    moq = np.where(moq > yearly, 0.0, moq)  # no MOQ above a year of demand
    capped = ~primary & (rng.random(n) < 0.35)
    capacity = np.where(capped, np.ceil(np.maximum(yearly / 12 * rng.uniform(0.5, 2.0, n), lot_choices)), np.nan)
    suppliers = traits.iloc[picks[row, rank]]
    return pd.DataFrame(
        {
            "supplier_id": suppliers["supplier_id"].to_numpy(),
            "sku": raf["sku"].to_numpy()[row],
            "supplier_name": suppliers["supplier_name"].to_numpy(),
            "unit_price": price,
            "moq": moq,
            "lot_multiple": lot_choices,
            "nominal_lead_time_days": lead,
            "capacity_per_period": capacity,
            "_row": row,
            "_rank": rank,
        }
    )


def _receipts(
    offers: pd.DataFrame, annual: np.ndarray, unit_cost: np.ndarray, traits: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Two years of POs per offer (ordered 2001-2002); arrivals after 2002-12-31 stay open."""
    n_sku = len(annual)
    cheap_factor = np.where(unit_cost < 2.0, 2.0, 1.0)  # cheap parts are bought in bigger batches
    order_qty = np.maximum(annual * rng.uniform(2, 8, n_sku) / 12 * cheap_factor, 1.0)
    expected = 2 * annual / order_qty
    total = np.where(expected < 1, 1 + (rng.random(n_sku) < expected / 2), np.maximum(rng.poisson(expected), 1))
    # split each SKU's POs over its offers; the primary always gets at least one
    shares = np.zeros((n_sku, 3))
    n_offers = offers.groupby("_row").size().to_numpy()
    shares[:, 0] = np.select(
        [n_offers == 1, n_offers == 2], [1.0, rng.uniform(0.6, 0.85, n_sku)], rng.uniform(0.5, 0.75, n_sku)
    )
    rest = rng.dirichlet([2.0, 2.0], n_sku) * (1 - shares[:, [0]])
    shares[:, 1] = np.where(n_offers >= 2, np.where(n_offers == 2, 1 - shares[:, 0], rest[:, 0]), 0.0)
    shares[:, 2] = np.where(n_offers == 3, rest[:, 1], 0.0)
    split = rng.multinomial(total - 1, shares)
    split[:, 0] += 1
    per_offer = split[offers["_row"].to_numpy(), offers["_rank"].to_numpy()]

    po = offers.loc[offers.index.repeat(per_offer)].reset_index(drop=True)
    n = len(po)
    k = np.repeat(per_offer, per_offer)
    i = po.groupby(["_row", "_rank"]).cumcount().to_numpy()
    span = (PO_END - PO_START).days + 1
    day = np.minimum(((i + rng.random(n)) / k * span).astype(int), span - 1)
    lot, moq = po["lot_multiple"].to_numpy(), po["moq"].to_numpy()
    qty = np.ceil(order_qty[po["_row"].to_numpy()] * rng.uniform(0.8, 1.25, n) / lot) * lot
    qty = np.maximum(qty, np.maximum(np.ceil(moq / lot) * lot, lot))

    calendar_day = (PO_START + pd.to_timedelta(day, unit="D")).to_numpy().astype("datetime64[D]")
    out = deliveries(po, calendar_day, qty, day / span, PO_END, traits, rng)
    out.insert(0, "po_id", [f"PO-{i:06d}" for i in range(1, len(out) + 1)])
    return out


def deliveries(
    po: pd.DataFrame,
    calendar_day: np.ndarray,
    qty: np.ndarray,
    t: np.ndarray,
    end: pd.Timestamp,
    traits: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Receipts of purchase orders (`po`: supplier_id, sku, nominal_lead_time_days) placed on `calendar_day` (rolled
    forward to a weekday) for `qty`, as each supplier's hidden `traits` deliver them; `t` in [0, 1] is how far into
    the history an order is (degrading suppliers get worse with it). Arrivals after `end` stay open."""
    n = len(po)
    trait = traits.set_index("supplier_id").loc[po["supplier_id"]]
    lead = po["nominal_lead_time_days"].to_numpy()
    degrading = trait["degrading"].to_numpy()
    late_prob = np.minimum(1 - trait["on_time_rate"].to_numpy() + np.where(degrading, 0.30 * t, 0.0), 0.95)
    growth = np.where(degrading, 1 + 2 * t, 1.0)
    late_mean = trait["late_days_mean"].to_numpy() * np.sqrt(np.maximum(lead, 14) / 91) * growth
    late = rng.random(n) < late_prob
    delay = np.maximum(np.ceil(rng.gamma(2.0, late_mean / 2)), 1)
    spread = np.abs(rng.normal(0, 1, n)) * trait["lead_time_cv"].to_numpy() * lead
    early = np.minimum(np.round(spread), np.minimum(lead, 21))
    early = np.where(rng.random(n) < 0.35, early, 0)
    offset = np.where(late, delay, -early).astype(int)

    order_date = pd.DatetimeIndex(np.busday_offset(calendar_day, 0, roll="forward"))  # POs go out Mon-Fri
    promised = order_date + pd.to_timedelta(lead, unit="D")
    arrival = promised + pd.to_timedelta(offset, unit="D")
    received = arrival <= end
    short = received & (qty >= 2) & (rng.random(n) < trait["short_delivery_prob"].to_numpy())
    mean_fill = trait["short_fill_mean"].to_numpy()
    fill = rng.beta(20 * mean_fill, 20 * (1 - mean_fill))
    got = np.where(short, np.clip(np.floor(qty * fill), 1, qty - 1), qty)
    out = pd.DataFrame(
        {
            "supplier_id": po["supplier_id"],
            "sku": po["sku"],
            "qty_ordered": qty,
            "order_date": order_date,
            "promised_date": promised,
            "received_date": arrival.where(received),
            "qty_received": np.where(received, got, 0.0),
        }
    ).sort_values(["order_date", "sku", "supplier_id"], kind="stable", ignore_index=True)
    return out


# --- stock and orders ----------------------------------------------------------------------------------------


def _inventory(
    raf: pd.DataFrame, raf_demand: pd.DataFrame, pbs_monthly: pd.Series, pbs_skus: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Stock at each set's plan date: varied for RAF spare parts, 0.3-1.5 months of demand for PBS."""
    n = len(raf)
    monthly = raf_demand.loc[:, "1999-01":"2002-12"].to_numpy().mean(axis=1)
    lead_demand = monthly * np.maximum(raf["lead_time_months"].to_numpy(), 1)
    kind = rng.choice(["zero", "normal", "overstock"], n, p=[0.15, 0.75, 0.10])
    on_hand = np.select(
        [kind == "zero", kind == "normal"],
        [np.zeros(n), np.ceil(lead_demand * rng.uniform(0.0, 2.0, n))],
        np.ceil(np.maximum(lead_demand * rng.uniform(3.0, 10.0, n), monthly * 12 * rng.uniform(2.0, 5.0, n))),
    )
    silent = raf_demand.loc[:, "2001-07":"2002-12"].sum(axis=1).to_numpy() == 0
    obsolete = silent & (rng.random(n) < 0.05)
    on_hand = np.where(obsolete, rng.integers(1, 40, n), on_hand)
    backorders = np.where((on_hand == 0) & (rng.random(n) < 0.25), np.ceil(monthly * rng.uniform(0.5, 2.0, n)), 0.0)
    raf_rows = pd.DataFrame({"sku": raf["sku"], "as_of": RAF_AS_OF, "on_hand": on_hand, "backorders": backorders})
    mean = pbs_skus.map(pbs_monthly).fillna(0.0).to_numpy()
    pbs_rows = pd.DataFrame(
        {
            "sku": pbs_skus,
            "as_of": PBS_AS_OF,
            "on_hand": np.round(mean * rng.uniform(0.3, 1.5, len(mean))),
            "backorders": 0.0,
        }
    )
    return pd.concat([raf_rows, pbs_rows], ignore_index=True)


def _weekdays_in(month: pd.Timestamp, size: int, rng: np.random.Generator) -> pd.DatetimeIndex:
    """`size` random working days (Mon-Fri) of `month`."""
    days = pd.bdate_range(month, month + pd.offsets.MonthEnd(0))
    return days[rng.integers(0, len(days), size)]


def _open_orders(
    receipts: pd.DataFrame, made: pd.DataFrame, pbs_monthly: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Open purchase orders (unreceived POs) and production orders in progress for ~20 % of PBS SKUs."""
    open_po = receipts[receipts["received_date"].isna()]
    purchases = pd.DataFrame(
        {
            "id": open_po["po_id"],
            "sku": open_po["sku"],
            "qty": open_po["qty_ordered"],
            "due_date": open_po["promised_date"],
            "kind": "purchase",
            "supplier_id": open_po["supplier_id"],
        }
    )
    mean = made["sku"].map(pbs_monthly).fillna(0.0).to_numpy()
    chosen = (mean > 0) & (rng.random(len(made)) < 0.20)
    lot, moq = made["lot_size"].to_numpy()[chosen], made["moq"].to_numpy()[chosen]
    qty = np.maximum(np.round(mean[chosen] * rng.uniform(0.25, 0.75, chosen.sum()) / lot) * lot, moq)
    production = pd.DataFrame(
        {
            "id": [f"MO-{i:06d}" for i in range(1, chosen.sum() + 1)],
            "sku": made["sku"].to_numpy()[chosen],
            "qty": qty,
            "due_date": _weekdays_in(PBS_AS_OF, int(chosen.sum()), rng),
            "kind": "production",
            "supplier_id": None,
        }
    )
    return pd.concat([purchases, production], ignore_index=True)


def _customer_orders(pbs_demand: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Firm orders for Jul-Sep 2008: 30-60 % of July's expected demand, 10-30 % of Aug and Sep."""
    wide = pbs_demand.pivot(index="sku", columns="date", values="qty").fillna(0.0)
    last = wide.loc[:, "2007-07-01":"2008-06-30"].sum(axis=1)
    before = wide.loc[:, "2006-07-01":"2007-06-30"].sum(axis=1)
    trend = (last / before.where(before > 0)).clip(0.8, 1.25).fillna(1.0)
    rows = []
    for month, low, high in (("2008-07-01", 0.3, 0.6), ("2008-08-01", 0.1, 0.3), ("2008-09-01", 0.1, 0.3)):
        expected = wide[pd.Timestamp(month) - pd.DateOffset(years=1)] * trend
        covered = np.floor(expected.to_numpy() * rng.uniform(low, high, len(expected)))
        n = np.minimum(1 + np.minimum(rng.poisson(1.5, len(covered)), 4), np.maximum(covered, 1)).astype(int)
        n = np.where(covered >= 1, n, 0)
        weights = rng.gamma(1.5, 1.0, n.sum())
        owner = np.repeat(np.arange(len(n)), n)
        share = weights / np.bincount(owner, weights)[owner]
        qty = np.floor(share * covered[owner])
        qty[np.r_[0, np.cumsum(n)[:-1]][n > 0]] += covered[n > 0] - np.bincount(owner, qty, len(n))[n > 0]
        rows.append(
            pd.DataFrame(
                {
                    "sku": expected.index.to_numpy()[owner],
                    "qty": qty,
                    "due_date": _weekdays_in(pd.Timestamp(month), len(owner), rng),
                    "priority": rng.choice([1, 2, 3], len(owner), p=[0.2, 0.5, 0.3]),
                }
            )
        )
    orders = pd.concat(rows, ignore_index=True)
    orders = orders[orders["qty"] > 0].sort_values(["due_date", "sku"], kind="stable", ignore_index=True)
    orders.insert(0, "id", [f"CO-{i:06d}" for i in range(1, len(orders) + 1)])
    return orders


# --- shop floor ----------------------------------------------------------------------------------------------


def _lines() -> pd.DataFrame:
    rows = [(line, name, shifts) for line, name, shifts, _, _ in LINES]
    return pd.DataFrame(rows, columns=["line_id", "name", "shifts"])


def monthly_line_hours(lines: pd.DataFrame) -> pd.Series:
    """Working hours per average month of each line, from its shift calendar."""
    weekly = lines["shifts"].map(lambda text: weekly_minutes(parse_shifts(text)) / 60)
    return pd.Series((weekly * WEEKS_PER_MONTH).to_numpy(), index=lines["line_id"].to_numpy())


def _line_downtime(rng: np.random.Generator, windows: int = 8) -> pd.DataFrame:
    """Planned maintenance in Jul-Sep 2008: at most one window per line and week, Mon-Fri starts at 06:00."""
    mondays = pd.date_range("2008-07-07", "2008-09-22", freq="W-MON")
    cells = rng.choice(len(LINES) * len(mondays), windows, replace=False)
    line, week = np.divmod(cells, len(mondays))
    start = mondays[week] + pd.to_timedelta(rng.integers(0, 5, windows), unit="D") + pd.Timedelta(hours=6)
    hours = rng.choice([8, 16, 24, 48], windows)
    reasons = ["planned maintenance", "preventive maintenance", "annual requalification", "tooling upgrade"]
    reason = rng.choice(reasons, windows)
    out = pd.DataFrame(
        {
            "line_id": np.array([LINES[i][0] for i in line]),
            "start": start,
            "end": start + pd.to_timedelta(hours, unit="h"),
            "reason": reason,
        }
    )
    return out.sort_values(["start", "line_id"], ignore_index=True)


def _routings(skus: Sequence[str], demand: pd.Series, lines: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Two operations per PBS SKU (process, pack); rates give the lines 72-78 % load at `demand` per month."""
    hours = monthly_line_hours(lines)
    frames = []
    for op, stage, sizes in ((1, "process", (2, 3)), (2, "pack", (2, 3, 4))):
        ids = [line for line, _, _, s, _ in LINES if s == stage]
        speed = pd.Series({line: sp for line, _, _, s, sp in LINES if s == stage})
        k = rng.choice(sizes, len(skus))
        order = np.argsort(rng.random((len(skus), len(ids))), axis=1)
        row = np.repeat(np.arange(len(skus)), k)
        col = order[row, np.concatenate([np.arange(m) for m in k])]
        line = np.array(ids)[col]
        relative = rng.lognormal(0.0, 0.25, len(skus))[row] * speed[line].to_numpy() * rng.uniform(0.95, 1.05, len(row))
        frame = pd.DataFrame({"sku": np.asarray(skus)[row], "op": op, "line_id": line, "rate": relative})
        load = line_load(frame.rename(columns={"rate": "rate_per_hour"}), demand, hours)
        scale = load.sum() / (hours[ids].sum() * rng.uniform(0.72, 0.78))
        frame["rate_per_hour"] = np.maximum(np.round(frame.pop("rate") * scale), 1.0)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values(["sku", "op", "line_id"], ignore_index=True)


def line_load(routings: pd.DataFrame, demand: pd.Series, hours: pd.Series, rounds: int = 100) -> pd.Series:
    """Hours per month each line needs for `demand` (units per month by SKU).

    Each SKU's volume is split over its eligible lines in proportion to line capacity (working hours x rate)
    times a line weight; `rounds` of proportional fitting move volume from busy to idle lines, as a planner
    balancing the load would.
    """
    frame = routings.assign(capacity=routings["line_id"].map(hours) * routings["rate_per_hour"])
    volume = frame["sku"].map(demand).fillna(0.0).to_numpy()
    groups = frame.groupby(["sku", "op"]).ngroup().to_numpy()
    line = pd.Index(hours.index).get_indexer(frame["line_id"])
    weight = np.ones(len(hours))
    for _ in range(rounds + 1):
        pull = frame["capacity"].to_numpy() * weight[line]
        share = pull / np.bincount(groups, pull)[groups]
        load = np.bincount(line, volume * share / frame["rate_per_hour"].to_numpy(), len(hours))
        busy = load / hours.to_numpy()
        weight = np.where(busy > 0, weight * np.sqrt(busy[busy > 0].mean() / np.where(busy > 0, busy, 1.0)), weight)
    return pd.Series(load, index=hours.index)


def _changeovers(families: Sequence[str], rng: np.random.Generator) -> pd.DataFrame:
    """Asymmetric family x family minutes: base + distance in a 2-D formulation space + cleaning out of the
    'from' family (a metric plus a source term, so the triangle inequality holds up to +-7 % noise)."""
    fams = sorted(families)
    point = rng.random((len(fams), 2))
    clean = np.array([CLEAN_OUT.get(f, 0.0) for f in fams]) + rng.uniform(0, 10, len(fams))
    distance = np.linalg.norm(point[:, None, :] - point[None, :, :], axis=2)
    minutes = (15.0 + 60.0 * distance + clean[:, None]) * rng.uniform(0.93, 1.07, distance.shape)
    minutes = np.clip(np.round(minutes / 5) * 5, 15, 180)
    np.fill_diagonal(minutes, 0.0)
    fast = np.where(minutes > 0, np.maximum(np.round(minutes * 0.45 / 5) * 5, 10), 0.0)
    frm, to = np.meshgrid(fams, fams, indexing="ij")
    frames = [
        pd.DataFrame({"line_id": line, "from_family": frm.ravel(), "to_family": to.ravel(), "minutes": m.ravel()})
        for line, m in (("*", minutes), *((line, fast) for line in FAST_CHANGEOVER_LINES))
    ]
    return pd.concat(frames, ignore_index=True)


# --- public interface ----------------------------------------------------------------------------------------


def generate(real_dir: Path = DEFAULT_REAL_DIR, seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Every table of the sample set, keyed by file stem; the same seed gives the same tables."""
    # one independent stream per table, all spawned from `seed`
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    streams = {name: np.random.default_rng(child) for name, child in zip(_STREAMS, children, strict=True)}
    raf, raf_demand = _raf(Path(real_dir))
    pbs, pbs_demand = _pbs(Path(real_dir))
    pbs_monthly = _monthly_mean(pbs_demand, "2007-07-01", "2008-06-01")

    items = _items(raf, pbs, pbs_monthly, streams["items"])
    traits = _supplier_traits(streams["suppliers"])
    annual = _raf_annual_demand(raf_demand)
    offers = _offers(raf, annual, traits, streams["offers"])
    receipts = _receipts(offers, annual, raf["unit_cost"].to_numpy(), traits, streams["receipts"])
    made = items[items["make_or_buy"] == "make"]
    lines = _lines()
    inventory = _inventory(raf, raf_demand, pbs_monthly, pbs["sku"], streams["inventory"])
    routings = _routings(pbs["sku"].tolist(), pbs_monthly, lines, streams["routings"])
    from pipelines import sample_factory  # it builds on this module's helpers

    factory = sample_factory.generate(
        pbs, made, pbs_monthly, monthly_line_hours(lines), len(receipts) + 1, streams["factory"]
    )
    receipts = pd.concat([receipts, factory.receipts], ignore_index=True)
    tables = {
        "items": _with_planning_columns(items, factory),
        "suppliers": pd.concat([offers.drop(columns=["_row", "_rank"]), factory.suppliers], ignore_index=True),
        "lines": lines,
        "demand.raf": raf_demand,
        "demand.pbs": pbs_demand,
        "inventory": pd.concat([inventory, factory.inventory], ignore_index=True),
        "open_orders": _open_orders(receipts, made, pbs_monthly, streams["production"]),
        "receipts": receipts,
        "line_downtime": _line_downtime(streams["downtime"]),
        "routings": pd.concat([routings, factory.routings], ignore_index=True).sort_values(
            ["sku", "op", "line_id"], ignore_index=True
        ),
        "bom": factory.bom,
        "changeovers": _changeovers(pbs["atc1"].unique().tolist(), streams["changeovers"]),
        "customer_orders": _customer_orders(pbs_demand, streams["customer_orders"]),
        "truth/supplier_traits": pd.concat([traits.drop(columns="popularity"), factory.traits], ignore_index=True),
    }
    log.info("generated %s", ", ".join(f"{name}: {len(frame):,}" for name, frame in tables.items()))
    return tables


def _with_planning_columns(items: pd.DataFrame, factory: sample_factory.FactoryTables) -> pd.DataFrame:
    """Items with every contract column: the factory's items appended, the finished goods' MRP parameters
    (moq_multiple lots, 2 days of QA release, their setup cost) set, everything else at the contract's default."""
    contract = TABLES["items"]
    out = pd.concat([items, factory.items], ignore_index=True)
    for column in contract.columns:
        if column not in out.columns:
            out[column] = contract.defaults[column]
        elif column in contract.defaults and contract.defaults[column] is not None:
            out[column] = out[column].where(out[column].notna(), contract.defaults[column])
    finished = out["sku"].isin(factory.finished["sku"])
    out.loc[finished, "lot_rule"] = "moq_multiple"
    out.loc[finished, "queue_days"] = 2.0
    out.loc[finished, "order_cost"] = out.loc[finished, "sku"].map(factory.finished.set_index("sku")["order_cost"])
    out["pull"] = out["pull"].astype(bool)
    return out[contract.columns]


def _for_csv(stem: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text (date-times as YYYY-MM-DDTHH:MM), whole-number float columns as integers."""
    kinds = TABLES[stem.split(".")[0]].kinds if stem.split(".")[0] in TABLES else {}
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if kinds.get(column) == BOOL:
            out[column] = values.map({True: "true", False: "false"})
        elif pd.api.types.is_datetime64_any_dtype(values):
            fmt = "%Y-%m-%dT%H:%M" if kinds.get(column) == DATETIME else "%Y-%m-%d"
            out[column] = values.dt.strftime(fmt).astype(object).where(values.notna(), None)
        elif pd.api.types.is_float_dtype(values) and values.dropna().eq(values.dropna().round()).all():
            out[column] = values.round().astype("Int64")
    return out


def write(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each table to `out_dir/<stem>.csv` (UTF-8, no index, ISO dates); returns the paths."""
    paths = []
    for stem, frame in tables.items():
        path = Path(out_dir) / f"{stem}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        _for_csv(stem, frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.10g")
        paths.append(path)
    log.info("wrote %d files to %s", len(paths), out_dir)
    return paths


def run(out_dir: Path = DEFAULT_OUT_DIR, real_dir: Path = DEFAULT_REAL_DIR, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the sample set from `real_dir` with `seed` and write it to `out_dir`."""
    return write(generate(real_dir, seed), out_dir)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run()
