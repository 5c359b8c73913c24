"""Templates and assets: the Jinja2 environment (with the number filters of `service.web.fmt`), static files
(`/app/static/…`, content-hashed URLs, cached for a year) and Plotly's bundle from the installed `plotly` package.

Plotly reads the text it draws (names, hover and tick labels) as a small HTML dialect (`<a href>`, `<b>`, `<br>`):
`chart` escapes every string of the traces' data (`x`, `y`, `text`, `hovertext`, `customdata`, `name`, …) and of
the axes' categories, so a SKU, supplier id or message shows as typed and never becomes a link or markup;
`plotly_text` escapes a value put into a `hovertemplate` (also its `%`, so `%{…}` in a SKU is not a template).

Public interface: `templates`, `page`, `asset`, `chart`, `plotly_text`, `STATIC_DIR`, `PLOTLY_JS`.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import plotly
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from service.web.fmt import FILTERS
from service.web.session import PREFIX

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(FILTERS)


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset(name: str) -> str:
    """URL of a static file, with its content hash (so a year of caching is safe)."""
    if name == "plotly.min.js":
        return f"{PREFIX}/static/plotly.min.js?v={plotly.__version__}"
    return f"{PREFIX}/static/{name}?v={_digest(STATIC_DIR / name)}"


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


PLOTLY_DATA_KEYS = frozenset({"x", "y", "z", "text", "hovertext", "customdata", "name", "labels", "legendgroup"})
PLOTLY_AXIS_KEYS = frozenset({"categoryarray", "ticktext"})


def plotly_text(value: str) -> str:
    """`value` as literal Plotly text: `& < >` as entities (Plotly decodes them when drawing) and `%` as `&#37;`."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "&#37;")


def _literal(value: Any) -> Any:
    """Every string in `value` (nested lists and dicts) escaped with `plotly_text`."""
    if isinstance(value, str):
        return plotly_text(value)
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_literal(v) for v in value]
    return value


def _escaped(spec: dict[str, Any]) -> dict[str, Any]:
    """The figure with the data-borne strings of its traces and axis categories escaped (see the module)."""
    data = [
        {k: _literal(v) if k in PLOTLY_DATA_KEYS else v for k, v in trace.items()} for trace in spec.get("data", [])
    ]
    layout = {
        k: {a: _literal(b) if a in PLOTLY_AXIS_KEYS else b for a, b in v.items()}
        if k.startswith(("xaxis", "yaxis")) and isinstance(v, dict)
        else v
        for k, v in spec.get("layout", {}).items()
    }
    return {**spec, "data": data, "layout": layout}


def chart(spec: dict[str, Any] | None, height: int = 320, name: str = "") -> Markup:
    """A Plotly figure (`{"data": [...], "layout": {...}}`): a box and the JSON `app.js` draws in it; the strings the
    data brings (SKUs, supplier ids, messages) are escaped so Plotly shows them as typed."""
    if spec is None:
        return Markup("")
    text = json.dumps(_clean(_escaped(spec)), default=str, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    box = f'<div class="chart" data-chart="{Markup.escape(name)}" style="height:{int(height)}px"></div>'
    return Markup(f'{box}<script type="application/json" class="chart-spec">{text}</script>')


templates.env.globals.update(asset=asset, chart=chart, prefix=PREFIX)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template `name` with `context` (plus the request and the signed-in planner, when there is one)."""
    context.setdefault("user", getattr(request.state, "planner", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


__all__ = ["PLOTLY_JS", "STATIC_DIR", "asset", "chart", "page", "plotly_text", "templates"]
