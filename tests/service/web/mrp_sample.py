"""A three-level factory for the MRP page tests, beside any other data: end item FG-1 (made, one week of queue
time) from two SA-1 sub-assemblies (made) of three RM-1 each (bought, two weeks), packed with PK-1 (one per FG-1,
kanban containers of 40) and PK-2 (half per FG-1, kanban without a container size, lots of 25); customer orders
CO-A (120 FG-1 due 2024-03-15) and CO-B (200 due 2024-03-29); 20 FG-1 and 30 RM-1 on hand, PO-R1 (100 RM-1) due
2024-03-20. Planned on customer orders over 8 weeks from 2024-03-01."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from service.db.importer import RawInput, import_frames
from service.planning.lifecycle import compute_now

AS_OF = "2024-03-01"
WEEKS = 8
END_ITEM, SUB_ASSEMBLY, RAW, PULL, PULL_DEFAULT = "FG-1", "SA-1", "RM-1", "PK-1", "PK-2"

TABLES: dict[str, dict[str, list[str | None]]] = {
    "items": {
        "sku": [END_ITEM, SUB_ASSEMBLY, RAW, PULL, PULL_DEFAULT],
        "name": ["finished good", "sub-assembly", "raw material", "carton", "insert"],
        "unit_cost": ["20", "6", "1.5", "0.4", "0.1"],
        "lot_size": ["1", "1", "1", "1", "25"],
        "moq": ["0", "0", "0", "0", "0"],
        "make_or_buy": ["make", "make", "buy", "buy", "buy"],
        "queue_days": ["7", "7", "0", "0", "0"],
        "pull": ["false", "false", "false", "true", "true"],
        "container_qty": [None, None, None, "40", None],
    },
    "suppliers": {
        "supplier_id": ["SUP-R", "SUP-P", "SUP-P"],
        "sku": [RAW, PULL, PULL_DEFAULT],
        "unit_price": ["1.5", "0.4", "0.1"],
        "nominal_lead_time_days": ["14", "7", "7"],
    },
    "lines": {"line_id": ["FL1"], "name": ["final line"]},
    "routings": {
        "sku": [END_ITEM, SUB_ASSEMBLY],
        "op": ["1", "1"],
        "line_id": ["FL1", "FL1"],
        "rate_per_hour": ["100", "100"],
    },
    "bom": {
        "parent_sku": [END_ITEM, SUB_ASSEMBLY, END_ITEM, END_ITEM],
        "component_sku": [SUB_ASSEMBLY, RAW, PULL, PULL_DEFAULT],
        "qty_per": ["2", "3", "1", "0.5"],
    },
    "inventory": {"sku": [END_ITEM, RAW], "as_of": [AS_OF, AS_OF], "on_hand": ["20", "30"]},
    "open_orders": {
        "id": ["PO-R1"],
        "sku": [RAW],
        "qty": ["100"],
        "due_date": ["2024-03-20"],
        "supplier_id": ["SUP-R"],
    },
    "customer_orders": {
        "id": ["CO-A", "CO-B"],
        "sku": [END_ITEM, END_ITEM],
        "qty": ["120", "200"],
        "due_date": ["2024-03-15", "2024-03-29"],
    },
}


def seed_mrp(engine: Engine) -> str:
    """Import the factory and store its MRP plan; returns the plan id."""
    import_frames(engine, [RawInput(t, pd.DataFrame(columns), t) for t, columns in TABLES.items()])
    request = {"as_of": AS_OF, "demand_source": "orders", "horizon_weeks": WEEKS}
    return compute_now(engine, "mrp", request).plan_id
