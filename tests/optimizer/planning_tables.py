"""A small planning data set where every edge case of the replenishment plan has one SKU (text cells, as a CSV
delivers them): FAST (two offers, one capacity-bound), ZERO-LT (same-day supplier S3, no receipts), FREE (unit cost
0), NEW (no demand history), NOSUP (a buy item without an offer), MAKE (a make item: lot size and MOQ), SHELF
(60-day shelf life, overstocked)."""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF = "2024-01-01"


def planning_tables(seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2022-01-01", periods=24, freq="MS").strftime("%Y-%m-%d")
    series = {
        "FAST": rng.poisson(20, 24),
        "ZERO-LT": rng.poisson(5, 24),
        "FREE": rng.poisson(3, 24),
        "NOSUP": rng.poisson(4, 24),
        "MAKE": rng.poisson(80, 24),
        "SHELF": rng.poisson(10, 24),
    }
    demand = pd.DataFrame(
        [(sku, m, str(q)) for sku, qty in series.items() for m, q in zip(months, qty, strict=True)],
        columns=["sku", "date", "qty"],
    )
    items = pd.DataFrame(
        {
            "sku": ["FAST", "ZERO-LT", "FREE", "NEW", "NOSUP", "MAKE", "SHELF"],
            "unit_cost": ["4", "2", "0", "10", "3", "8", "5"],
            "price": ["6", "3", "", "15", "4", "12", "7"],
            "shelf_life_days": ["", "", "", "", "", "", "60"],
            "lot_size": ["1", "1", "1", "1", "1", "50", "1"],
            "moq": ["0", "0", "0", "0", "0", "100", "0"],
            "make_or_buy": ["buy", "buy", "buy", "buy", "buy", "make", "buy"],
        }
    )
    suppliers = pd.DataFrame(
        {
            "supplier_id": ["S1", "S2", "S3", "S2", "S1", "S1"],
            "sku": ["FAST", "FAST", "ZERO-LT", "FREE", "NEW", "SHELF"],
            "unit_price": ["4", "3.8", "2", "0", "10", "5"],
            "moq": ["0", "0", "0", "0", "0", "0"],
            "lot_multiple": ["10", "1", "1", "1", "1", "1"],
            "nominal_lead_time_days": ["30", "60", "0", "30", "30", "30"],
            "capacity_per_period": ["", "15", "", "", "", ""],
        }
    )
    inventory = pd.DataFrame(
        {
            "sku": ["FAST", "ZERO-LT", "FREE", "NOSUP", "MAKE", "SHELF"],
            "as_of": ["2023-12-31"] * 6,
            "on_hand": ["10", "50", "0", "5", "20", "200"],
            "backorders": ["0", "0", "2", "0", "0", "0"],
        }
    )
    open_orders = pd.DataFrame(
        {
            "id": ["PO-9", "MO-1"],
            "sku": ["FAST", "MAKE"],
            "qty": ["30", "100"],
            "due_date": ["2024-01-20", "2024-01-10"],
            "kind": ["purchase", "production"],
            "supplier_id": ["S1", ""],
        }
    )
    receipts = pd.DataFrame(
        {
            "po_id": [f"PO-{i}" for i in range(1, 9)],
            "supplier_id": ["S1"] * 6 + ["S2"] * 2,
            "sku": ["FAST"] * 6 + ["FAST", "FREE"],
            "qty_ordered": ["40"] * 8,
            "order_date": [
                "2023-01-05",
                "2023-03-01",
                "2023-05-02",
                "2023-07-03",
                "2023-09-01",
                "2023-11-01",
                "2023-06-01",
                "2023-08-01",
            ],
            "promised_date": [
                "2023-02-04",
                "2023-03-31",
                "2023-06-01",
                "2023-08-02",
                "2023-10-01",
                "2023-12-01",
                "2023-07-31",
                "2023-08-31",
            ],
            "received_date": [
                "2023-02-10",
                "2023-04-10",
                "2023-06-01",
                "2023-08-20",
                "2023-10-12",
                "",
                "2023-07-31",
                "2023-09-02",
            ],
            "qty_received": ["40", "36", "40", "40", "30", "0", "40", "40"],
        }
    )
    empty = {"lines", "line_downtime", "routings", "changeovers", "customer_orders"}
    tables = {
        "items": items,
        "suppliers": suppliers,
        "demand": demand,
        "inventory": inventory,
        "open_orders": open_orders,
        "receipts": receipts,
    }
    assert not empty & set(tables)
    return {name: frame.astype(object).replace({"": None}) for name, frame in tables.items()}
