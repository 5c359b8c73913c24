"""`/app`: the planner pages (HTML), their downloads and the what-if JSON endpoint; not part of the OpenAPI schema.

Handlers stay thin: check the session, call a view-model module (`service.web.overview`, `.sku`, `.lines`,
`.schedule`, `.models`, `.mrp`) or a service module, render a template.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine

from service import mrp_reads, plans
from service.settings import Settings
from service.web import render, whatif
from service.web.lines import LineQuery, lines_page
from service.web.models import METRICS, models_page
from service.web.mrp import OrderQuery, item_page, mrp_page, mrp_plan
from service.web.overview import overview
from service.web.plans import replenishment_plan
from service.web.render import page
from service.web.schedule import schedule_page
from service.web.session import PREFIX, SignedIn, Throttled, check_csrf, login_token, sign_in, sign_out, signed_in
from service.web.sku import find_skus, sku_page
from service.whatif import UnknownSkus

router = APIRouter(prefix=PREFIX, include_in_schema=False)
YEAR = "public, max-age=31536000, immutable"


def planner(request: Request) -> SignedIn:
    """The signed-in planner (pages redirect to the sign-in form without one)."""
    user = signed_in(request)
    request.state.planner = user
    return user


Planner = Annotated[SignedIn, Depends(planner)]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _safe_next(target: str | None) -> str:
    """Only redirect to our own pages after sign-in."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/"


# --- sign-in ----------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "", out: bool = False) -> HTMLResponse:
    message = "You are signed out." if out else ""
    return page(request, "login.html", next=_safe_next(next), message=message, error="", csrf=login_token(request))


@router.post("/login", response_model=None)
def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        error = sign_in(request, key, csrf)
    except Throttled as err:
        response = page(request, "login.html", status_code=429, next=_safe_next(next), message="", error=str(err),
                        csrf=login_token(request))  # fmt: skip
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    if error:
        return page(request, "login.html", status_code=401, next=_safe_next(next), message="", error=error,
                    csrf=login_token(request))  # fmt: skip
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, user: Planner, csrf: Annotated[str, Form()] = "") -> Response:
    if not check_csrf(user, csrf):
        return Response("the form expired; reload the page and try again", status_code=403, media_type="text/plain")
    sign_out(request)
    return RedirectResponse(f"{PREFIX}/login?out=1", status_code=303)


# --- assets -----------------------------------------------------------------------------------------------------


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(render.PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": YEAR})


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = render.STATIC_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return Response(f"no static file {name!r}", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": YEAR})


# --- pages ------------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, user: Planner) -> HTMLResponse:
    o = overview(_engine(request), _settings(request).home)
    with _engine(request).connect() as conn:
        mrp = mrp_plan(conn)
    return page(request, "overview.html", active="overview", charts=o.frontier is not None, o=o, mrp=mrp)


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def _take_flash(request: Request) -> dict[str, str] | None:
    flash: dict[str, str] | None = request.session.pop("flash", None)
    return flash


@router.get("/replenishment", response_class=HTMLResponse)
def replenishment(
    request: Request,
    user: Planner,
    plan: str | None = None,
    abc: str = "",
    supplier: str = "",
    alert: str = "",
    orders: str = "",
    q: str = "",
    sort: str = "",
    dir: str = "",
    page_number: Annotated[str, Query(alias="page")] = "",
) -> HTMLResponse:
    engine = _engine(request)
    with engine.connect() as conn:
        ref = replenishment_plan(conn, plan)
    query = LineQuery.of(abc=abc, supplier=supplier, alert=alert, orders=orders, q=q, sort=sort, dir=dir,
                         page=page_number)  # fmt: skip
    view = lines_page(engine, ref, query) if ref is not None else None
    status = 404 if plan and ref is None else 200
    return page(request, "replenishment.html", status, active="replenishment", v=view, flash=_take_flash(request))


@router.post("/plans/{plan_id}/approve")
def approve(request: Request, user: Planner, plan_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    if not check_csrf(user, csrf):
        return Response("the form expired; reload the page and try again", status_code=403, media_type="text/plain")
    try:
        plans.approve(_engine(request), plan_id, by=user.name)
        _flash(request, "ok", f"Plan {plan_id} approved by {user.name}.")
    except (plans.PlanNotFound, plans.PlanNotReady, plans.AlreadyApproved) as err:
        _flash(request, "error", str(err).replace("GET /v1/plans", "the API"))
    return RedirectResponse(f"{PREFIX}/replenishment?plan={quote(plan_id, safe='')}", status_code=303)


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/plans/{plan_id}/{what}.{fmt}")
def download(request: Request, user: Planner, plan_id: str, what: str, fmt: str) -> Response:
    """A plan's replenishment lines or schedule as CSV or XLSX (the API's exports)."""
    if what not in ("replenishment", "schedule") or fmt not in MEDIA:
        return Response(
            "download replenishment.csv, replenishment.xlsx, schedule.csv or schedule.xlsx",
            status_code=404, media_type="text/plain",
        )  # fmt: skip
    engine = _engine(request)
    try:
        header = plans.require_plan(engine, plan_id, done=True)
    except (plans.PlanNotFound, plans.PlanNotReady) as err:
        return Response(str(err), status_code=404, media_type="text/plain")
    body = plans.export_csv(engine, header, what) if fmt == "csv" else plans.export_xlsx(engine, header, what)
    disposition = f'attachment; filename="{plan_id}-{what}.{fmt}"'
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.get("/schedule", response_class=HTMLResponse)
def schedule(request: Request, user: Planner, plan: str | None = None) -> HTMLResponse:
    view = schedule_page(_engine(request), plan)
    status = 404 if plan and view.plan is None else 200
    return page(request, "schedule.html", status, active="schedule", charts=view.chart is not None, s=view)


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, user: Planner) -> HTMLResponse:
    view = models_page(_engine(request), _settings(request).mlflow_tracking_uri)
    return page(request, "models.html", active="models", p=view, metrics=METRICS)


@router.get("/what-if", response_class=HTMLResponse)
def what_if_page(request: Request, user: Planner, sku: str = "") -> HTMLResponse:
    engine = _engine(request)
    chosen = sku.strip() or whatif.default_sku(engine)
    figures = whatif.current(engine, chosen) if chosen else None
    status = 404 if sku and figures is None else 200
    return page(request, "whatif.html", status, active="whatif", c=figures, sku=sku)


@router.post("/what-if")
def what_if(
    request: Request,
    user: Planner,
    body: whatif.WhatIfRequest,
    token: Annotated[str, Header(alias="X-CSRF-Token")] = "",
) -> JSONResponse:
    """Baseline and scenario of one SKU as JSON (the page's fetch)."""
    if not check_csrf(user, token):
        return JSONResponse({"detail": "the page expired; reload it and try again"}, status_code=403)
    try:
        result = whatif.evaluate(_engine(request), body.sku.strip(), body.change())
    except UnknownSkus:
        return JSONResponse({"detail": f"SKU {body.sku!r} not found; pick one from the replenishment list"}, 404)
    return JSONResponse(result)


@router.get("/skus", response_model=None)
def sku_search(request: Request, user: Planner, q: str = "") -> HTMLResponse | RedirectResponse:
    text = q.strip()
    if not text:
        return RedirectResponse(f"{PREFIX}/replenishment", status_code=303)
    with _engine(request).connect() as conn:
        found = find_skus(conn, text)
    exact = next((s for s in found if s.lower() == text.lower()), None)
    if exact or len(found) == 1:
        return RedirectResponse(f"{PREFIX}/skus/{quote(exact or found[0], safe='')}", status_code=303)
    return page(request, "search.html", active="", q=text, found=found)


@router.get("/skus/{sku:path}", response_class=HTMLResponse)
def sku_view(request: Request, user: Planner, sku: str) -> HTMLResponse:
    p = sku_page(_engine(request), sku, _settings(request).mlflow_tracking_uri)
    charts = bool(p.demand_chart or p.lead_chart or p.projection_chart)
    return page(request, "sku.html", status_code=200 if p.item else 404, active="", charts=charts, p=p, q=sku)


# --- MRP ----------------------------------------------------------------------------------------------------------


@router.get("/mrp", response_class=HTMLResponse)
def mrp(
    request: Request,
    user: Planner,
    plan: str | None = None,
    sku: str = "",
    make_or_buy: str = "",
    expedite: str = "",
    kind: str = "",
    page_number: Annotated[str, Query(alias="page")] = "",
) -> HTMLResponse:
    query = OrderQuery.of(sku=sku, make_or_buy=make_or_buy, expedite=expedite, kind=kind, page=page_number)
    view = mrp_page(_engine(request), plan, query)
    status = 404 if plan and view.plan is None else 200
    return page(request, "mrp.html", status, active="mrp", v=view, requested=plan if view.plan is None else None)


@router.get("/mrp/planned-orders.csv")
def mrp_planned_orders_csv(request: Request, user: Planner, plan: str | None = None) -> Response:
    """Every planned order of the MRP plan (default: the newest) as CSV (the API's export)."""
    engine = _engine(request)
    with engine.connect() as conn:
        ref = mrp_plan(conn, plan)
    if ref is None:
        return Response(f"no MRP plan {plan or ''}".rstrip() + "; compute one with `leanplan plan mrp`",
                        status_code=404, media_type="text/plain")  # fmt: skip
    body = mrp_reads.planned_orders_csv(engine, {"id": ref.id, "model_version": ref.model_version})
    disposition = f'attachment; filename="{ref.id}-planned-orders.csv"'
    return Response(body, media_type=MEDIA["csv"], headers={"Content-Disposition": disposition})


@router.get("/mrp/items", response_model=None)
def mrp_item_search(request: Request, user: Planner, sku: str = "", plan: str = "") -> RedirectResponse:
    text = sku.strip()
    suffix = f"?plan={quote(plan, safe='')}" if plan else ""
    if not text:
        return RedirectResponse(f"{PREFIX}/mrp{suffix}", status_code=303)
    return RedirectResponse(f"{PREFIX}/mrp/items/{quote(text, safe='')}{suffix}", status_code=303)


@router.get("/mrp/items/{sku:path}", response_class=HTMLResponse)
def mrp_item(request: Request, user: Planner, sku: str, plan: str | None = None) -> HTMLResponse:
    view = item_page(_engine(request), sku, plan)
    return page(request, "mrp_item.html", 200 if view.item else 404, active="mrp", p=view)
