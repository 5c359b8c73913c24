"""From plant tables (production orders, lines, calendars, downtime, routings, changeovers) to a `Problem`, and back.

Conventions:

- Time is integer minutes from the plan origin (a naive plant-local date-time); the model horizon is the plan
  horizon plus as many days again (`horizon_slack_days`), so late orders still fit.
- Each production order is a job; its operations are the SKU's routing steps (`op` 1, 2, …) in order. An
  operation's duration on a line = ceil(qty / rate_per_hour × 60) minutes.
- **An operation runs uninterrupted inside one working window of its line, its changeover right before it.**
  A planner expects a batch that is started to be finished by the same crew without the line standing
  half-cleared overnight (GMP batch records, line clearance), so shift ends and downtime are blocked on each line
  as fixed intervals; netting caps lots at the max batch (`NettingOptions.max_batch_hours`, 12 h: a 16-hour
  shift holds the longest lot plus the longest changeover) so that every lot fits a shift.
- Changeovers are by product family (`items.family`): the '*' rows of `changeovers` apply to every line, rows
  naming a line override them. A pair of different families missing from both counts as the largest changeover
  of that line (logged), the same family as 0. Items without a family never need a changeover.
- Job weight = the order's weight (customer priority); due = the order's due date-time.
- Materials (with `MaterialTables`): each order consumes its BOM components at the start of the routing step they
  belong to, and stock, receipts and the plan's own orders of a component supply it
  (`optimizer.schedule.plant_materials`); orders that can never get a component in full are left out and listed in
  `PlantIndex.blocked`.

Public interface: `PlantIndex`, `build_problem(...) -> (Problem, PlantIndex)`, `setup_matrices`, `durations`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.schedule.calendar import to_minutes, unavailable_periods
from optimizer.schedule.plant_materials import (
    BLOCKED_COLUMNS,
    MaterialTables,
    cover,
    explode,
    plant_materials,
    supply_events,
)
from optimizer.schedule.problem import Fixed, Job, Operation, Problem
from optimizer.schedule.requirements import active_bom

log = logging.getLogger(__name__)


@dataclass
class PlantIndex:
    """How problem indices map back to plant ids: jobs → orders, machines → lines, families → names; `blocked`:
    orders left out because a component can never be there in full (`plant_materials.BLOCKED_COLUMNS`)."""

    origin: dt.datetime
    orders: pd.DataFrame
    lines: list[str]
    families: list[str]
    op_numbers: list[list[int]]
    line_index: dict[str, int] = field(default_factory=dict)
    job_index: dict[str, int] = field(default_factory=dict)
    blocked: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BLOCKED_COLUMNS))

    def __post_init__(self) -> None:
        self.line_index = {line: m for m, line in enumerate(self.lines)}
        self.job_index = {order_id: j for j, order_id in enumerate(self.orders["order_id"])}

    def minutes(self, when: dt.datetime | pd.Timestamp) -> int:
        return to_minutes(pd.Timestamp(when).to_pydatetime(), self.origin)


def setup_matrices(changeovers: pd.DataFrame, lines: list[str], families: list[str]) -> dict[int, np.ndarray]:
    """Per line index, the F×F changeover minutes: line rows override '*' rows; see the module docstring."""
    n = len(families)
    pos = {f: i for i, f in enumerate(families)}
    generic = changeovers[changeovers["line_id"] == "*"]
    matrices: dict[int, np.ndarray] = {}
    for m, line in enumerate(lines):
        matrix = np.full((n, n), -1, dtype=np.int64)
        for rows in (generic, changeovers[changeovers["line_id"] == line]):
            for row in rows.to_dict("records"):
                if row["from_family"] in pos and row["to_family"] in pos:
                    matrix[pos[row["from_family"]], pos[row["to_family"]]] = math.ceil(float(row["minutes"]))
        np.fill_diagonal(matrix, np.where(np.diag(matrix) < 0, 0, np.diag(matrix)))
        missing = matrix < 0
        if missing.any():
            fill = int(matrix.max()) if matrix.max() > 0 else 0
            log.warning("line %s: %d family pairs have no changeover time; using %d minutes", line, missing.sum(), fill)
            matrix[missing] = fill
        if matrix.any():
            matrices[m] = matrix
    return matrices


def durations(qty: float, rate_per_hour: float) -> int:
    """Minutes to make `qty` units at `rate_per_hour` (rounded up, at least 1)."""
    return max(1, math.ceil(qty / rate_per_hour * 60.0 - 1e-9))


def build_problem(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    lines: pd.DataFrame,
    routings: pd.DataFrame,
    changeovers: pd.DataFrame,
    line_downtime: pd.DataFrame,
    origin: dt.datetime | pd.Timestamp,
    horizon_days: float,
    horizon_slack_days: float | None = None,
    fixed: pd.DataFrame | None = None,
    initial_family: dict[str, str] | None = None,
    materials: MaterialTables | None = None,
) -> tuple[Problem, PlantIndex]:
    """The `Problem` of scheduling `orders` (columns order_id, sku, qty, release, due, weight) on the plant.

    `fixed` rows (order_id, op, line_id, start) keep operations where they are (e.g. started before `origin`);
    `initial_family` maps a line to the family it ran last before `origin`; with `materials`, no operation starts
    before its components are there (module docstring).
    """
    as_of = pd.Timestamp(origin)
    slack = horizon_days if horizon_slack_days is None else horizon_slack_days
    uses = supply = blocked = None
    if materials is not None:
        uses = explode(orders, materials.bom, routings, as_of)
        components = sorted(set(uses["component"].astype(str)))
        supply = supply_events(components, orders, materials, as_of)
        cutoff = as_of + pd.Timedelta(days=horizon_days + slack / 2)
        valid_bom = active_bom(materials.bom, as_of)
        blocked, planned = cover(orders, uses, supply, valid_bom, as_of, cutoff, materials.lead_days)
        if not planned.empty:
            log.info("%d planned purchase(s) cover material shortages", len(planned))
            supply = pd.concat([supply, planned], ignore_index=True)
        if not blocked.empty:
            log.warning("%d order(s) can never get a component in full; left out", blocked["order_id"].nunique())
            orders = orders[~orders["order_id"].isin(set(blocked["order_id"]))]
    origin = as_of.to_pydatetime()
    horizon = int((horizon_days + slack) * 24 * 60)
    line_ids = list(lines["line_id"])
    line_pos = {line: m for m, line in enumerate(line_ids)}
    family_of = items.set_index("sku")["family"]
    families = sorted({str(f) for f in family_of.reindex(orders["sku"].unique()).dropna()})
    family_pos = {f: i for i, f in enumerate(families)}
    steps: dict[str, list[tuple[int, list[tuple[int, float]]]]] = {}
    for row in routings.sort_values(["sku", "op", "line_id"]).to_dict("records"):
        if row["line_id"] not in line_pos:
            continue
        route = steps.setdefault(str(row["sku"]), [])
        if not route or route[-1][0] != int(row["op"]):
            route.append((int(row["op"]), []))
        route[-1][1].append((line_pos[row["line_id"]], float(row["rate_per_hour"])))
    missing = sorted(set(orders["sku"]) - set(steps))
    if missing:
        raise ValueError(f"{len(missing)} ordered SKU(s) have no routing, e.g. {missing[:3]}; add routings rows")
    jobs: list[Job] = []
    op_numbers: list[list[int]] = []
    for order in orders.to_dict("records"):
        route = steps[order["sku"]]
        operations = tuple(
            Operation(modes=tuple((m, durations(float(order["qty"]), rate)) for m, rate in modes), name=str(op))
            for op, modes in route
        )
        family = family_of.get(order["sku"])
        jobs.append(
            Job(
                name=str(order["order_id"]),
                operations=operations,
                release=max(0, to_minutes(pd.Timestamp(order["release"]).to_pydatetime(), origin)),
                due=to_minutes(pd.Timestamp(order["due"]).to_pydatetime(), origin),
                weight=int(order["weight"]),
                family=family_pos.get(str(family)) if family is not None and not pd.isna(family) else None,
            )
        )
        op_numbers.append([op for op, _ in route])
    downtime: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for row in line_downtime.to_dict("records"):
        downtime.setdefault(str(row["line_id"]), []).append(
            (pd.Timestamp(row["start"]).to_pydatetime(), pd.Timestamp(row["end"]).to_pydatetime())
        )
    unavailable = {
        m: tuple(unavailable_periods(str(shifts), origin, horizon, downtime.get(line, ())))
        for m, (line, shifts) in enumerate(zip(lines["line_id"], lines["shifts"], strict=True))
    }
    index = PlantIndex(
        origin=origin, orders=orders.reset_index(drop=True), lines=line_ids, families=families, op_numbers=op_numbers
    )
    if blocked is not None:
        index.blocked = blocked
    fixed_ops: dict[tuple[int, int], Fixed] = {}
    if fixed is not None:
        for row in fixed.to_dict("records"):
            j = index.job_index.get(str(row["order_id"]))
            if j is None or row["line_id"] not in line_pos or int(row["op"]) not in op_numbers[j]:
                continue
            k = op_numbers[j].index(int(row["op"]))
            fixed_ops[(j, k)] = Fixed(line_pos[row["line_id"]], index.minutes(row["start"]))
    problem = Problem(
        machines=tuple(line_ids),
        jobs=tuple(jobs),
        families=tuple(families),
        setup=setup_matrices(changeovers, line_ids, families),
        initial_family={
            line_pos[line]: family_pos[f]
            for line, f in (initial_family or {}).items()
            if line in line_pos and f in family_pos
        },
        unavailable={m: spans for m, spans in unavailable.items() if spans},
        fixed=fixed_ops,
        horizon=horizon,
        materials=()
        if uses is None or supply is None
        else plant_materials(index.orders, uses, supply, op_numbers, origin),
    )
    return problem, index
