"""The assessment of a patient and starting a medicine from it: ``/patients/{pid}``,
``/patients/{pid}/start``."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.pages.common import (
    SEVERITIES,
    Feedback,
    Posted,
    SignedIn,
    Viewer,
    form_date,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}", response_class=HTMLResponse)
def assessment(v: SignedIn, pid: str) -> Response:
    return _assessment(v, pid)


def _assessment(v: Viewer, pid: str, back: Feedback | None = None) -> Response:
    """The assessment; ``back.errors`` by option (``start-<drug>``) beside its Start form."""
    back = back or Feedback()
    with v.db() as s:
        _rec, out = v.patient(s, pid)
        a = store.assessment(s, v.user, pid)
    return v.page(
        "assessment.html",
        back.status,
        p=out,
        a=a,
        severities=SEVERITIES,
        today=dt.date.today().isoformat(),
        errors=back.errors,
        form=back.form,
    )


@router.post("/patients/{pid}/start")
def start(v: Posted, pid: str, drug: str = Form(""), start_date: str = Form("")) -> Response:
    try:
        params = {"drug": drug, "start_date": form_date("start_date", start_date)}
        with v.db() as s:
            store.make_plan(s, v.user, pid, "titration", params)
    except (NeurodoseError, store.ConflictError) as exc:
        back = Feedback({f"start-{drug}": str(exc)}, {"drug": drug, "start_date": start_date}, 422)
        return _assessment(v, pid, back)
    return RedirectResponse(f"/patients/{pid}/plan", status_code=303)
