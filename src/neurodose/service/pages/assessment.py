"""The assessment of a patient and starting a medicine from it: ``/patients/{pid}``,
``/patients/{pid}/start``."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.models import Clinician
from neurodose.service.pages.common import (
    SEVERITIES,
    check_csrf,
    form_date,
    page,
    session,
    state,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}", response_class=HTMLResponse)
def assessment(request: Request, pid: str) -> Response:
    user, csrf = session(request)
    return _assessment(request, user, csrf, pid)


def _assessment(
    request: Request,
    user: Clinician,
    csrf: str,
    pid: str,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The assessment; ``errors`` by option (``start-<drug>``) beside its Start form."""
    with state(request).db.session() as s:
        rec = store.get_patient(s, user, pid)
        a = store.assessment(s, user, pid)
        out = store.patient_out(s, rec)
    return page(
        request,
        "assessment.html",
        status,
        user=user,
        csrf=csrf,
        p=out,
        a=a,
        severities=SEVERITIES,
        today=dt.date.today().isoformat(),
        errors=errors or {},
        form=form or {},
    )


@router.post("/patients/{pid}/start")
def start(
    request: Request,
    pid: str,
    drug: str = Form(""),
    start_date: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    try:
        params = {"drug": drug, "start_date": form_date("start_date", start_date)}
        with state(request).db.session() as s:
            store.make_plan(s, user, pid, "titration", params)
    except (NeurodoseError, store.ConflictError) as exc:
        return _assessment(
            request,
            user,
            token,
            pid,
            errors={f"start-{drug}": str(exc)},
            form={"drug": drug, "start_date": start_date},
            status=422,
        )
    return RedirectResponse(f"/patients/{pid}/plan", status_code=303)
