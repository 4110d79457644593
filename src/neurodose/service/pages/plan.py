"""The plan of a patient and what changes it: ``/patients/{pid}/plan`` (and its
calendar, ``plan.ics``), the diary link, taper and switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import library, store
from neurodose.service.api import plan_ics_response
from neurodose.service.models import Clinician
from neurodose.service.pages import charts
from neurodose.service.pages.common import (
    check_csrf,
    form_date,
    page,
    session,
    state,
    templates,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _is_topical(drug: str) -> bool:
    """Whether the knowledge base gives ``drug`` only topical routes (a patch or plaster)."""
    from neurodose.knowledge.registry import get_drug

    try:
        routes = get_drug(drug).routes or []
    except NeurodoseError:
        return False
    return bool(routes) and all(r == "topical" for r in routes)


@router.get("/patients/{pid}/plan", response_class=HTMLResponse)
def plan_page(request: Request, pid: str) -> Response:
    user, csrf = session(request)
    return _plan(request, user, csrf, pid)


def _plan(
    request: Request,
    user: Clinician,
    csrf: str,
    pid: str,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The plan page; ``errors`` (``taper.<field>``, ``switch.<field>``) beside the
    taper and switch forms, which keep what was typed (``form``)."""
    with state(request).db.session() as s:
        rec = store.get_patient(s, user, pid)
        plan = store.current_plan(s, pid)
        reg = store.current_regimen(s, pid)
        out = store.patient_out(s, rec)
        if plan is not None:
            store.audit(s, user.name, "plan.read", pid)
        course = store.course_plan(s, pid) if reg is not None else None
    chart_note = None
    topical = sorted(
        d for d in (plan.plan.get("drugs", []) if plan is not None else []) if _is_topical(d)
    )
    curve = None
    if plan is not None and reg is not None and course is not None:
        try:
            curve = library.plan_levels(rec.profile, course, reg.drug, days=84)
        except NeurodoseError as exc:
            chart_note = (
                "No blood-level chart: applied on the skin, this medicine acts where it "
                "is applied, and neurodose has no model of its blood level."
                if reg.drug in topical
                else f"No level chart: {exc}"
            )
    return page(
        request,
        "plan.html",
        status,
        user=user,
        csrf=csrf,
        p=out,
        plan=plan.plan if plan else None,
        fig=charts.plan_levels(curve) if curve is not None else None,
        chart_note=chart_note,
        topical=topical,
        errors=errors or {},
        form=form or {},
    )


@router.get("/patients/{pid}/plan.ics")
def plan_ics(request: Request, pid: str) -> Response:
    user, _csrf = session(request)
    return plan_ics_response(state(request), user, pid)


@router.post("/patients/{pid}/diary-link")
def make_link(request: Request, pid: str, csrf: str = Form("")) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    st = state(request)
    with st.db.session() as s:
        tok, _exp = store.create_diary_link(s, user, pid, st.settings.diary_link_days)
    base = (st.settings.public_url or str(request.base_url)).rstrip("/")
    return templates.TemplateResponse(request, "_link.html", {"url": f"{base}/d/{tok}"})


@router.post("/patients/{pid}/taper")
def taper(
    request: Request,
    pid: str,
    method: str = Form("proportional"),
    start_date: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    return _replan(
        request,
        user,
        token,
        pid,
        "taper",
        {"method": method, "start_date": start_date},
    )


@router.post("/patients/{pid}/switch")
def switch(
    request: Request,
    pid: str,
    to: str = Form(""),
    start_date: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    return _replan(request, user, token, pid, "switch", {"to": to, "start_date": start_date})


def _replan(
    request: Request,
    user: Clinician,
    csrf: str,
    pid: str,
    kind: str,
    fields: dict[str, str],
) -> Response:
    """Make a taper or switch plan from the form, or the plan page with the error
    beside the field it names."""
    try:
        params: dict[str, Any] = {k: v.strip() for k, v in fields.items() if k != "start_date"}
        params["start_date"] = form_date("start_date", fields.get("start_date", ""))
        with state(request).db.session() as s:
            store.make_plan(s, user, pid, kind, params)
    except (NeurodoseError, store.ConflictError) as exc:
        field = getattr(exc, "field", "") or "form"
        field = {"drug": "to"}.get(str(field), str(field)) if kind == "switch" else field
        key = f"{kind}.{field}" if field in fields else f"{kind}.form"
        form = {f"{kind}.{k}": v for k, v in fields.items()}
        return _plan(request, user, csrf, pid, errors={key: str(exc)}, form=form, status=422)
    return RedirectResponse(f"/patients/{pid}/plan", status_code=303)
