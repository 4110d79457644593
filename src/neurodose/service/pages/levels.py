"""Drug levels of a patient: the individual fit and forecast, and the CSV upload:
``/patients/{pid}/levels``."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.api import csv_rows
from neurodose.service.models import Clinician
from neurodose.service.pages import charts
from neurodose.service.pages.common import check_csrf, page, session, state

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}/levels", response_class=HTMLResponse)
def levels_page(request: Request, pid: str, target: str = "") -> Response:
    user, csrf = session(request)
    return _levels(request, user, csrf, pid, target)


def _levels(
    request: Request,
    user: Clinician,
    csrf: str,
    pid: str,
    target: str = "",
    error: str | None = None,
    status: int = 200,
    csv_text: str | None = None,
) -> Response:
    """The levels page; ``error`` (a failed upload) shown above the upload form."""
    target = target.strip()[:40]
    with state(request).db.session() as s:
        rec = store.get_patient(s, user, pid)
        out = store.patient_out(s, rec)
        report = None
        problem = None
        if store.current_regimen(s, pid) is not None:
            try:
                report = store.tdm(s, user, pid, target=target or None)
            except NeurodoseError as exc:
                problem = str(exc)
    return page(
        request,
        "levels.html",
        status,
        user=user,
        csrf=csrf,
        p=out,
        report=report,
        fig=charts.tdm_fit(report) if report is not None else None,
        problem=problem,
        target=target,
        upload_error=error,
        csv_text=csv_text,
    )


@router.post("/patients/{pid}/levels")
def add_levels(
    request: Request, pid: str, csv_text: str = Form(""), csrf: str = Form("")
) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    try:
        rows = csv_rows(csv_text.strip() + "\n")
        with state(request).db.session() as s:
            store.add_levels(s, user, pid, rows)
    except (NeurodoseError, store.ConflictError) as exc:
        return _levels(request, user, token, pid, error=str(exc), status=422, csv_text=csv_text)
    return RedirectResponse(f"/patients/{pid}/levels", status_code=303)
