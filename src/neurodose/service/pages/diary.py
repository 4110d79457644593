"""A patient's diary as the clinician sees it (scores, response): ``/patients/{pid}/diary``.
The patient's own diary (``/d/{token}``) is :mod:`neurodose.service.pages.patient_diary`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.pages import charts
from neurodose.service.pages.common import SignedIn, choices

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}/diary", response_class=HTMLResponse)
def diary_page(v: SignedIn, pid: str) -> Response:
    with v.db() as s:
        _rec, out = v.patient(s, pid)
        entries = store.diary_entries(s, pid, v.user.name)
        reg = store.current_regimen(s, pid)
        report, problem = None, None
        if reg is not None and entries:
            try:
                report = store.response(s, v.user, pid)
            except NeurodoseError as exc:
                problem = str(exc)
    fig = None
    if entries:
        fig = charts.diary_scores(
            entries,
            start=reg.start_date if reg is not None else None,
            baseline_pain=report["baseline"]["value"] if report is not None else None,
        )
    return v.page(
        "diary.html",
        p=out,
        entries=entries,
        report=report,
        fig=fig,
        problem=problem,
        drug=reg.drug if reg else None,
        choices=choices(),
    )
