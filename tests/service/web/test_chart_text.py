"""Plotly figures show data-borne text (SKUs, supplier ids, families, messages) as typed: never as links or markup."""

from __future__ import annotations

import json
import re
from typing import Any

from service.web.render import chart, plotly_text
from service.web.sku import _lead_chart

HOSTILE = '<a href="https://evil.example/">open</a>%{x}&'


def _figure(markup: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" class="chart-spec">(.*)</script>', str(markup))
    assert found is not None
    figure: dict[str, Any] = json.loads(found.group(1))
    return figure


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_plotly_text_escapes_markup_and_templates() -> None:
    assert plotly_text(HOSTILE) == '&lt;a href="https://evil.example/"&gt;open&lt;/a&gt;&#37;{x}&amp;'


def test_data_strings_are_escaped_and_the_page_markup_kept() -> None:
    spec: dict[str, Any] = {
        "data": [
            {
                "type": "bar", "x": [HOSTILE, "B-2"], "y": [1, 2], "name": HOSTILE,
                "customdata": [[HOSTILE, 3.5]], "text": [HOSTILE],
                "hovertemplate": "<b>%{customdata[0]}</b><extra></extra>",
            }
        ],
        "layout": {"yaxis": {"type": "category", "categoryarray": [HOSTILE]}, "xaxis": {"title": {"text": "x <b>"}}},
    }  # fmt: skip
    figure = _figure(chart(spec))
    trace = figure["data"][0]
    assert trace["x"] == [plotly_text(HOSTILE), "B-2"] and trace["name"] == plotly_text(HOSTILE)
    assert trace["customdata"] == [[plotly_text(HOSTILE), 3.5]] and trace["text"] == [plotly_text(HOSTILE)]
    assert figure["layout"]["yaxis"]["categoryarray"] == [plotly_text(HOSTILE)]
    assert trace["hovertemplate"] == "<b>%{customdata[0]}</b><extra></extra>"  # the page's own markup stays
    assert figure["layout"]["xaxis"]["title"]["text"] == "x <b>"
    assert spec["data"][0]["x"][0] == HOSTILE  # the caller's figure is not changed


def test_a_hostile_sku_in_the_lead_time_chart() -> None:
    receipts = {"lead_times": [3, 4], "supplier_lead_times": [3, 4, 5, 9], "supplier": HOSTILE}
    spec, _ = _lead_chart(HOSTILE, receipts, 7.0)
    assert spec is not None
    texts = _strings(_figure(chart(spec))["data"])
    assert not any("<a" in t or "%{x}&" in t for t in texts), texts
