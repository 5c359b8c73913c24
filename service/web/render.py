"""Templates and assets: the Jinja2 environment (with the number filters of `service.web.fmt`), static files
(`/app/static/…`, content-hashed URLs, cached for a year) and Plotly's bundle from the installed `plotly` package.

Public interface: `templates`, `page`, `asset`, `chart`, `STATIC_DIR`, `PLOTLY_JS`.
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


def chart(spec: dict[str, Any] | None, height: int = 320, name: str = "") -> Markup:
    """A Plotly figure (`{"data": [...], "layout": {...}}`): a box and the JSON `app.js` draws in it."""
    if spec is None:
        return Markup("")
    text = json.dumps(_clean(spec), default=str, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    box = f'<div class="chart" data-chart="{Markup.escape(name)}" style="height:{int(height)}px"></div>'
    return Markup(f'{box}<script type="application/json" class="chart-spec">{text}</script>')


templates.env.globals.update(asset=asset, chart=chart, prefix=PREFIX)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template `name` with `context` (plus the request and the signed-in planner, when there is one)."""
    context.setdefault("user", getattr(request.state, "planner", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


__all__ = ["PLOTLY_JS", "STATIC_DIR", "asset", "chart", "page", "templates"]
