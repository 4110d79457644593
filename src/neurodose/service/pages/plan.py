"""The plan of a patient and what changes it: ``/patients/{pid}/plan`` (and its
calendar, ``plan.ics``), the diary link, taper and switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import library, store
from neurodose.service.api import plan_ics_response
from neurodose.service.pages import charts
from neurodose.service.pages.common import (
    Feedback,
    Posted,
    SignedIn,
    Viewer,
    form_date,
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
def plan_page(v: SignedIn, pid: str) -> Response:
    return _plan(v, pid)


def _plan(v: Viewer, pid: str, back: Feedback | None = None) -> Response:
    """The plan page; ``back.errors`` (``taper.<field>``, ``switch.<field>``) beside the
    taper and switch forms, which keep what was typed (``back.form``)."""
    back = back or Feedback()
    with v.db() as s:
        rec, out = v.patient(s, pid)
        plan = store.current_plan(s, pid)
        reg = store.current_regimen(s, pid)
        if plan is not None:
            store.audit(s, v.user.name, "plan.read", pid)
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
    return v.page(
        "plan.html",
        back.status,
        p=out,
        plan=plan.plan if plan else None,
        fig=charts.plan_levels(curve) if curve is not None else None,
        chart_note=chart_note,
        topical=topical,
        errors=back.errors,
        form=back.form,
    )


@router.get("/patients/{pid}/plan.ics")
def plan_ics(v: SignedIn, pid: str) -> Response:
    return plan_ics_response(state(v.request), v.user, pid)


@router.post("/patients/{pid}/diary-link")
def make_link(v: Posted, pid: str) -> Response:
    request = v.request
    st = state(request)
    with st.db.session() as s:
        tok, _exp = store.create_diary_link(s, v.user, pid, st.settings.diary_link_days)
    base = (st.settings.public_url or str(request.base_url)).rstrip("/")
    return templates.TemplateResponse(request, "_link.html", {"url": f"{base}/d/{tok}"})


@router.post("/patients/{pid}/taper")
def taper(
    v: Posted, pid: str, method: str = Form("proportional"), start_date: str = Form("")
) -> Response:
    return _replan(v, pid, "taper", {"method": method, "start_date": start_date})


@router.post("/patients/{pid}/switch")
def switch(v: Posted, pid: str, to: str = Form(""), start_date: str = Form("")) -> Response:
    return _replan(v, pid, "switch", {"to": to, "start_date": start_date})


def _replan(v: Viewer, pid: str, kind: str, fields: dict[str, str]) -> Response:
    """Make a taper or switch plan from the form, or the plan page with the error
    beside the field it names."""
    try:
        params: dict[str, Any] = {k: x.strip() for k, x in fields.items() if k != "start_date"}
        params["start_date"] = form_date("start_date", fields.get("start_date", ""))
        with v.db() as s:
            store.make_plan(s, v.user, pid, kind, params)
    except (NeurodoseError, store.ConflictError) as exc:
        field = getattr(exc, "field", "") or "form"
        field = {"drug": "to"}.get(str(field), str(field)) if kind == "switch" else field
        key = f"{kind}.{field}" if field in fields else f"{kind}.form"
        form = {f"{kind}.{k}": x for k, x in fields.items()}
        return _plan(v, pid, Feedback({key: str(exc)}, form, 422))
    return RedirectResponse(f"/patients/{pid}/plan", status_code=303)
