"""Rules of the bill of materials that span tables, checked on every import before anything is written.

A BOM line is judged against the rows already stored plus the rows of the same import (an import's items,
routings and bom replace the stored rows with the same key):

- the lines must not form a cycle: the reason names it (``A → B → C → A``) on every line of the import on it;
- a bought item (``make_or_buy`` buy) has no components, and an item that turns 'buy' must not be a parent;
- a made parent has a routing, and a line's ``op`` (when not 0) is one of the parent's routing ops.

Unknown SKUs, ``qty_per`` ≤ 0 and a component listed twice for one parent and op are the contract's own checks
(`pipelines.contracts`, applied by `pipelines.ingest.parse_table`). A cycle is a cycle whatever the lines'
validity dates: an item may never contain itself.

Public interface: `cross_table_issues(conn, inputs) -> list[list[RowIssue]]` (one list per input, rows counted
from 1), `MAX_CYCLES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from optimizer.mrp.graph import find_cycle
from pipelines.ingest import MAX_ISSUES, RowIssue

__all__ = ["MAX_CYCLES", "cross_table_issues"]

#: At most this many cycles are named per import (each costs one pass over the lines).
MAX_CYCLES = 20


def _stored(conn: Connection, sql: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(conn.exec_driver_sql(sql).all(), columns=columns)


def _merged(stored: pd.DataFrame, batch: list[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    """Stored rows overlaid by the import's rows of the same key (the import wins, as the upsert will)."""
    frames = [f for f in (stored, *(b[stored.columns] for b in batch)) if not f.empty]
    if not frames:
        return stored
    return pd.concat(frames, ignore_index=True).drop_duplicates(key, keep="last").reset_index(drop=True)


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def cross_table_issues(conn: Connection, inputs: Sequence[tuple[str, pd.DataFrame]]) -> list[list[RowIssue]]:
    """Problems of each validated input `(table, frame)` against the stored rows plus the whole import."""
    issues: list[list[RowIssue]] = [[] for _ in inputs]
    tables = {table for table, _ in inputs}
    if not tables & {"bom", "items"}:
        return issues
    q = conn.dialect.identifier_preparer.quote
    items = _merged(
        _stored(conn, f"SELECT sku, make_or_buy FROM {q('items')}", ["sku", "make_or_buy"]),
        [f for t, f in inputs if t == "items"],
        ["sku"],
    )
    routings = _merged(
        _stored(conn, f"SELECT DISTINCT sku, op FROM {q('routings')}", ["sku", "op"]),
        [f for t, f in inputs if t == "routings"],
        ["sku", "op"],
    )
    stored_bom = _stored(
        conn, f"SELECT parent_sku, component_sku, op FROM {q('bom')}", ["parent_sku", "component_sku", "op"]
    )
    batch_bom = [(i, f) for i, (t, f) in enumerate(inputs) if t == "bom"]
    kind = dict(zip(items["sku"], items["make_or_buy"], strict=True))
    ops: dict[str, list[int]] = {}
    for sku, op in zip(routings["sku"], routings["op"], strict=True):
        ops.setdefault(sku, []).append(int(op))
    ops = {sku: sorted(found) for sku, found in ops.items()}
    for index, frame in batch_bom:
        issues[index] += _line_issues(frame, kind, ops)
    _cycle_issues(stored_bom, batch_bom, issues)
    parents = set(stored_bom["parent_sku"]).union(*(set(f["parent_sku"]) for _, f in batch_bom))
    for index, (table, frame) in enumerate(inputs):
        if table == "items":
            issues[index] += _bought_parents(frame, parents)
    for found in issues:
        found.sort(key=lambda issue: (issue.row or 0, issue.column or ""))
    return issues


def _line_issues(frame: pd.DataFrame, kind: dict[str, str], ops: dict[str, list[int]]) -> list[RowIssue]:
    """A bought parent, a made parent without a routing, an op the parent's routing does not have."""
    out: list[RowIssue] = []
    for position, (parent, op) in enumerate(zip(frame["parent_sku"], frame["op"], strict=True)):
        row = position + 1
        if kind.get(parent) == "buy":
            reason = (
                f"{parent} is a bought item (make_or_buy 'buy') and cannot have components; "
                "set make_or_buy to 'make' in items or remove this line"
            )
            out.append(RowIssue(row, "parent_sku", parent, reason))
        elif kind.get(parent) == "make" and parent not in ops:
            reason = (
                f"{parent} is a made item without a routing; load its routings (sku, op, line_id, rate_per_hour) first"
            )
            out.append(RowIssue(row, "parent_sku", parent, reason))
        elif parent in ops and int(op) != 0 and int(op) not in ops[parent]:
            listed = ", ".join(map(str, ops[parent]))
            reason = f"{parent}'s routing has no op {int(op)} (its ops: {listed}); use one of them, or 0 for no step"
            out.append(RowIssue(row, "op", int(op), reason))
    return out


def _cycle_issues(stored: pd.DataFrame, batch: list[tuple[int, pd.DataFrame]], issues: list[list[RowIssue]]) -> None:
    """Name every cycle the import's lines close, on each of its lines on the cycle (stored lines are acyclic)."""
    if not batch:
        return
    parts = [f[["parent_sku", "component_sku", "op"]].assign(_input=i, _row=range(1, len(f) + 1)) for i, f in batch]
    if not stored.empty:
        parts.insert(0, stored.assign(_input=-1, _row=0))
    lines = pd.concat(parts, ignore_index=True)
    lines = lines.drop_duplicates(["parent_sku", "component_sku", "op"], keep="last")
    for _ in range(MAX_CYCLES):
        cycle = find_cycle(lines["parent_sku"].tolist(), lines["component_sku"].tolist())
        if cycle is None:
            return
        edges = set(pairwise(cycle))
        on_cycle = [(p, c) in edges for p, c in zip(lines["parent_sku"], lines["component_sku"], strict=True)]
        mine = lines[pd.Series(on_cycle, index=lines.index) & (lines["_input"] >= 0)]
        if mine.empty:
            return  # a cycle in stored rows alone cannot be pinned on this import's rows
        named = " → ".join(_starting_at(cycle, mine.sort_values(["_input", "_row"])["parent_sku"].iloc[0]))
        for input_index, row, component in zip(mine["_input"], mine["_row"], mine["component_sku"], strict=True):
            if len(issues[input_index]) < MAX_ISSUES:
                reason = f"closes a cycle in the bill of materials: {named}; an item cannot contain itself"
                issues[input_index].append(RowIssue(int(row), "component_sku", _py(component), reason))
        lines = lines.drop(index=mine.index)


def _starting_at(cycle: list[str], first: str) -> list[str]:
    """The cycle `[A, B, C, A]` rotated to start at `first` (the parent of the import's first line on it)."""
    ring = cycle[:-1]
    start = ring.index(first)
    return [*ring[start:], *ring[:start], first]


def _bought_parents(items: pd.DataFrame, parents: set[str]) -> list[RowIssue]:
    """Items an import turns 'buy' while they have components in the bill of materials."""
    bad = (items["make_or_buy"] == "buy") & items["sku"].isin(parents)
    return [
        RowIssue(
            int(position) + 1,
            "make_or_buy",
            "buy",
            f"{items['sku'].iloc[position]} has components in bom; a bought item cannot have components: keep 'make'",
        )
        for position in bad.to_numpy().nonzero()[0]
    ]
