"""Plant side: calendars to windows, net requirements to orders, plant tables to a problem, schedule reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.schedule.calendar import unavailable_periods, working_windows
from optimizer.schedule.plant import build_problem, durations, setup_matrices
from optimizer.schedule.problem import violations
from optimizer.schedule.report import TABLE_COLUMNS, gantt_data, kpis, schedule_table, write_csv, write_xlsx
from optimizer.schedule.requirements import NettingOptions, gross_requirements, production_orders
from optimizer.schedule.solve import SolveOptions, solve

TUESDAY = dt.datetime(2008, 7, 1)  # the PBS plan date is a Tuesday
AS_OF = pd.Timestamp(TUESDAY)


# --- calendars ------------------------------------------------------------------------------------------------


def test_shift_windows_from_a_tuesday_origin() -> None:
    windows = working_windows("Mon-Fri 06:00-22:00", TUESDAY, 7 * 1440)
    assert windows[0] == (360, 1320)  # Tuesday 06:00-22:00
    assert len(windows) == 5  # Tue-Fri and the next Monday
    assert windows[-1] == (6 * 1440 + 360, 6 * 1440 + 1320)


def test_night_shift_from_the_day_before_reaches_into_the_first_day() -> None:
    assert working_windows("daily 22:00-06:00", TUESDAY, 1440)[0] == (0, 360)


def test_unavailable_is_the_complement_plus_downtime() -> None:
    down = [(dt.datetime(2008, 7, 2, 6), dt.datetime(2008, 7, 2, 14))]  # Wednesday morning
    off = unavailable_periods("Mon-Fri 06:00-22:00", TUESDAY, 2 * 1440, down)
    assert off == [(0, 360), (1320, 1440 + 840), (1440 + 1320, 2 * 1440)]
    assert unavailable_periods("24/7", TUESDAY, 1440) == []


# --- net requirements -----------------------------------------------------------------------------------------


def plant_tables() -> dict[str, pd.DataFrame]:
    """Two make SKUs of two families on two lines, with a shift line and a round-the-clock line."""
    items = pd.DataFrame(
        {
            "sku": ["P-1", "P-2", "B-1"],
            "family": ["A", "B", None],
            "lot_size": [100.0, 50.0, 1.0],
            "moq": [300.0, 50.0, 0.0],
            "make_or_buy": ["make", "make", "buy"],
        }
    )
    months = pd.date_range("2007-07-01", "2008-06-01", freq="MS")
    demand = pd.DataFrame(
        {
            "sku": ["P-1"] * 12 + ["P-2"] * 12,
            "date": list(months) * 2,
            "qty": [3650.0 / 12] * 12 + [365.0 / 12] * 12,  # 10 and 1 units per day over the trailing year
        }
    )
    return {
        "items": items,
        "demand": demand,
        "inventory": pd.DataFrame(
            {"sku": ["P-1", "P-2"], "as_of": [AS_OF, AS_OF], "on_hand": [100.0, 0.0], "backorders": [0.0, 10.0]}
        ),
        "open_orders": pd.DataFrame(
            {
                "id": ["MO-1"],
                "sku": ["P-1"],
                "qty": [200.0],
                "due_date": [AS_OF + pd.Timedelta(days=3)],
                "kind": ["production"],
                "supplier_id": [None],
            }
        ),
        "customer_orders": pd.DataFrame(
            {
                "id": ["CO-1"],
                "sku": ["P-1"],
                "qty": [250.0],
                "due_date": [AS_OF + pd.Timedelta(days=2)],
                "priority": [1],
            }
        ),
        "routings": pd.DataFrame(
            {
                "sku": ["P-1", "P-1", "P-2"],
                "op": [1, 2, 1],
                "line_id": ["L1", "L2", "L1"],
                "rate_per_hour": [100.0, 200.0, 50.0],
            }
        ),
        "lines": pd.DataFrame({"line_id": ["L1", "L2"], "shifts": ["Mon-Fri 06:00-22:00", "24/7"]}),
        "line_downtime": pd.DataFrame(
            {"line_id": ["L2"], "start": [pd.Timestamp("2008-07-02 06:00")], "end": [pd.Timestamp("2008-07-02 12:00")]}
        ),
        "changeovers": pd.DataFrame(
            {
                "line_id": ["*", "*", "L1"],
                "from_family": ["A", "B", "A"],
                "to_family": ["B", "A", "B"],
                "minutes": [30.0, 40.0, 45.0],
            }
        ),
    }


def test_firm_orders_weigh_by_priority_and_consume_the_forecast() -> None:
    t = plant_tables()
    options = NettingOptions(as_of=AS_OF, horizon_days=14)
    req = gross_requirements(t["items"], t["demand"], t["customer_orders"], options)
    p1 = req[req["sku"] == "P-1"]
    firm = p1[p1["source"] == "CO-1"].iloc[0]
    assert firm["weight"] == 4 and firm["date"] == AS_OF + pd.Timedelta(days=2) and firm["qty"] == 250
    # fallback forecast: the trailing 12 months (366 days: 2008 is a leap year) per day; July's forecast minus
    # the 250 firm units, spread over July's 31 days, 14 of which are in the horizon
    daily = 3650.0 / 366
    forecast = p1[p1["source"] == "forecast"]
    assert forecast["qty"].sum() == pytest.approx((daily * 31 - 250) * 14 / 31, rel=1e-6)
    assert set(req["sku"]) == {"P-1", "P-2"}  # buy items are not planned


def test_a_given_forecast_replaces_the_fallback() -> None:
    t = plant_tables()
    forecast = pd.DataFrame(
        {"sku": ["P-2", "P-2"], "date": [AS_OF, AS_OF + pd.offsets.MonthBegin(1)], "mean": [620.0, 0.0]}
    )
    req = gross_requirements(
        t["items"], t["demand"], t["customer_orders"], NettingOptions(as_of=AS_OF, horizon_days=7), forecast=forecast
    )
    assert req[req["sku"] == "P-2"]["qty"].sum() == pytest.approx(620.0 * 7 / 31)


def test_netting_lot_sizes_and_due_dates() -> None:
    t = plant_tables()
    options = NettingOptions(
        as_of=AS_OF, horizon_days=14, cover_days=7, max_batch_hours=2.0, safety_days=1.0, release_window_days=None
    )
    orders = production_orders(
        t["items"], t["demand"], t["inventory"], t["open_orders"], t["customer_orders"], t["routings"], options
    )
    planned = orders[orders["kind"] == "planned"]
    p1 = planned[planned["sku"] == "P-1"]
    # max batch: slowest P-1 rate 100/h x 2 h = 200 units, a multiple of the 100 lot size
    assert (p1["qty"] <= 200).all() and (p1["qty"] % 100 == 0).all()
    p2 = planned[planned["sku"] == "P-2"]
    assert (p2["qty"] % 50 == 0).all() and (p2["qty"] >= 50).all()
    # P-2 starts below its safety stock (10 backordered): its first lot is due at as_of + 1 day, at least the MOQ
    assert p2["due"].min() == AS_OF + pd.Timedelta(days=1) and p2["qty"].iloc[0] == 50
    # the open production order is an order to schedule too, due at the end of its day
    open_ = orders[orders["kind"] == "open"]
    assert list(open_["order_id"]) == ["MO-1"] and open_.iloc[0]["due"] == AS_OF + pd.Timedelta(days=4)
    # projected stock never ends below the safety stock: on hand 100 + open 200 + lots >= firm 250 + forecast
    forecast = (3650.0 / 366 * 31 - 250) * 14 / 31  # July's remaining forecast over the 14 days (all in July)
    assert 100 + 200 + p1["qty"].sum() >= 250 + forecast + 3650.0 / 366
    assert (planned["release"] == AS_OF).all()


def test_routing_missing_for_a_make_sku_is_an_error() -> None:
    t = plant_tables()
    with pytest.raises(ValueError, match="have no routing"):
        production_orders(
            t["items"],
            t["demand"],
            t["inventory"],
            t["open_orders"],
            t["customer_orders"],
            t["routings"][t["routings"]["sku"] != "P-2"],
            NettingOptions(as_of=AS_OF),
        )


# --- plant problem --------------------------------------------------------------------------------------------


def test_setup_matrices_line_rows_override_star_rows() -> None:
    t = plant_tables()
    matrices = setup_matrices(t["changeovers"], ["L1", "L2"], ["A", "B"])
    assert matrices[0].tolist() == [[0, 45], [40, 0]]
    assert matrices[1].tolist() == [[0, 30], [40, 0]]


def test_missing_family_pairs_take_the_largest_changeover() -> None:
    frame = pd.DataFrame({"line_id": ["*"], "from_family": ["A"], "to_family": ["B"], "minutes": [25.0]})
    assert setup_matrices(frame, ["L"], ["A", "B", "C"])[0].tolist() == [[0, 25, 25], [25, 0, 25], [25, 25, 0]]


def test_durations_round_up_to_whole_minutes() -> None:
    assert durations(100, 60) == 100 and durations(1, 1000) == 1 and durations(101, 100) == 61


def solved_plant(horizon_days: int = 7) -> tuple:
    t = plant_tables()
    orders = production_orders(
        t["items"],
        t["demand"],
        t["inventory"],
        t["open_orders"],
        t["customer_orders"],
        t["routings"],
        NettingOptions(as_of=AS_OF, horizon_days=horizon_days, cover_days=3),
    )
    problem, index = build_problem(
        orders, t["items"], t["lines"], t["routings"], t["changeovers"], t["line_downtime"], AS_OF, horizon_days
    )
    result = solve(problem, SolveOptions(time_limit=5, workers=2, objective="weighted"))
    return t, orders, problem, index, result


def test_plant_schedule_respects_shifts_downtime_and_changeovers() -> None:
    _, orders, problem, index, result = solved_plant()
    assert len(problem.jobs) == len(orders) and problem.machines == ("L1", "L2")
    assert result.schedule is not None and violations(problem, result.schedule) == []
    table = schedule_table(problem, index, result.schedule)
    l1 = table[table["line"] == "L1"]
    for row in l1.to_dict("records"):  # shift line: every run and changeover inside Mon-Fri 06:00-22:00 of one day
        begin = pd.Timestamp(row["start"]) - pd.Timedelta(minutes=float(row["setup_minutes"]))
        end = pd.Timestamp(row["end"])
        assert begin.weekday() < 5 and begin.hour >= 6 and end.date() == begin.date()
        assert end <= end.normalize() + pd.Timedelta(hours=22)
    l2 = table[table["line"] == "L2"]
    down = (pd.Timestamp("2008-07-02 06:00"), pd.Timestamp("2008-07-02 12:00"))
    assert not ((l2["start"] < down[1]) & (l2["end"] > down[0])).any()


def test_report_table_kpis_gantt_and_files(tmp_path: Path) -> None:
    t, orders, problem, index, result = solved_plant()
    table = schedule_table(problem, index, result.schedule)
    assert list(table.columns[: len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    last = table.dropna(subset=["lateness_minutes"])
    assert len(last) == len(orders)  # one lateness per order, on its last operation
    summary = kpis(table, t["lines"], t["line_downtime"], TUESDAY, TUESDAY + dt.timedelta(days=7))
    assert summary["orders"] == len(orders) and summary["operations"] == len(table)
    assert 0 <= summary["on_time_pct"] <= 100
    assert summary["changeover_hours"] == pytest.approx(table["setup_minutes"].sum() / 60, abs=0.01)
    assert set(summary["utilization"]) == {"L1", "L2"} and all(0 <= u <= 1 for u in summary["utilization"].values())
    bars = gantt_data(table)
    assert sum(1 for b in bars if b["kind"] == "run") == len(table)
    assert sum(1 for b in bars if b["kind"] == "setup") == int((table["setup_minutes"] > 0).sum())
    csv_path = write_csv(table, tmp_path / "s.csv")
    back = pd.read_csv(csv_path)
    assert list(back.columns) == TABLE_COLUMNS and back["start"].str.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d").all()
    xlsx = pd.read_excel(write_xlsx(table, summary, tmp_path / "s.xlsx"), sheet_name=None)
    assert set(xlsx) == {"schedule", "kpis", "utilization"} and len(xlsx["schedule"]) == len(table)
    assert np.isclose(xlsx["utilization"]["utilization"].max(), max(summary["utilization"].values()))
