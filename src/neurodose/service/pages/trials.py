"""Virtual trials in the clinic: ``/trials`` (the design as TOML, typed or uploaded, and
the clinician's jobs), ``/trials/{job}`` (progress, cancel, retry, results with the chart
and the CSV). The jobs are the API's (:mod:`neurodose.service.jobs`); no trial logic here.
"""

from __future__ import annotations

import csv
import io
import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from neurodose.errors import NeurodoseError
from neurodose.service import jobs
from neurodose.service.api import check_start, my_job, start_job
from neurodose.service.models import Clinician, TrialJob
from neurodose.service.pages import charts
from neurodose.service.pages.common import check_csrf, page, session, state

__all__ = ["EXAMPLE_DESIGN", "router", "summary_rows"]

router = APIRouter(include_in_schema=False)

#: the design the form starts with (a small, quick trial; examples/trials has larger ones)
EXAMPLE_DESIGN = """\
name = "amitriptyline_vs_placebo"
weeks = 8
condition = "diabetic_neuropathy"
n_per_arm = 200
seed = 1

[[arms]]
name = "amitriptyline_25"
drug = "amitriptyline"
regimen = [{ start_day = 1, dose_mg = 25, every_h = 24 }]

[[arms]]
name = "placebo"
drug = "placebo"
"""

#: the per-arm columns of the results table and the CSV: (key, heading)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "patients"),
    ("mean_baseline", "mean baseline pain (0-10)"),
    ("mean_change", "mean change at the end (points)"),
    ("responders_30", "share with >= 30 % relief"),
    ("responders_50", "share with >= 50 % relief"),
    ("any_adverse_event", "share with any adverse event"),
    ("withdrawal_ae", "share withdrawn for adverse events"),
)


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per arm: the arm's name and :data:`COLUMNS` from the job's result."""
    return [
        {"arm": name, **{k: arm.get(k) for k, _ in COLUMNS}}
        for name, arm in (result.get("arms") or {}).items()
    ]


def _my_jobs(s: Any, user: Clinician) -> list[TrialJob]:
    q = select(TrialJob).where(TrialJob.owner == user.id).order_by(TrialJob.created_at.desc())
    return list(s.scalars(q.limit(50)))


def _list(
    request: Request,
    user: Clinician,
    csrf: str,
    error: str | None = None,
    status: int = 200,
    text: str | None = None,
) -> Response:
    with state(request).db.session() as s:
        mine = [
            {
                "id": j.id,
                "name": (j.design or {}).get("name", ""),
                "state": j.state,
                "progress": j.progress,
                "created": j.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for j in _my_jobs(s, user)
        ]
    return page(
        request,
        "trials.html",
        status,
        user=user,
        csrf=csrf,
        jobs=mine,
        error=error,
        design=EXAMPLE_DESIGN if text is None else text,
        limit=jobs.jobs_per_user(),
    )


@router.get("/trials", response_class=HTMLResponse)
def trials_page(request: Request) -> Response:
    user, csrf = session(request)
    return _list(request, user, csrf)


def _design(text: str, upload: bytes) -> dict[str, Any]:
    raw = upload.decode("utf-8", errors="strict") if upload else text
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"design: not valid TOML ({exc})") from None


@router.post("/trials")
async def start_trial_page(
    request: Request,
    design: str = Form(""),
    design_file: Annotated[UploadFile | None, File()] = None,
    csrf: str = Form(""),
) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    upload = await design_file.read(1_000_001) if design_file is not None else b""
    try:
        if len(upload) > 1_000_000:
            raise ValueError("design file: larger than 1 MB")
        job = start_job(state(request), user, _design(design, upload))
    except jobs.JobLimitError as exc:
        return _list(request, user, token, str(exc), 429, design)
    except (ValueError, NeurodoseError) as exc:
        return _list(request, user, token, str(exc), 422, design)
    return RedirectResponse(f"/trials/{job.id}", status_code=303)


@router.get("/trials/{job}", response_class=HTMLResponse)
def trial_page(request: Request, job: str) -> Response:
    user, csrf = session(request)
    with state(request).db.session() as s:
        j = my_job(s, user, job)
        view = {
            "id": j.id,
            "name": (j.design or {}).get("name", ""),
            "state": j.state,
            "progress": j.progress,
            "error": j.error,
            "active": j.state in jobs.ACTIVE,
        }
        result = j.result if j.state == "done" else None
    return page(
        request,
        "trial.html",
        user=user,
        csrf=csrf,
        job=view,
        rows=summary_rows(result) if result else [],
        columns=COLUMNS,
        fig=charts.trial_pain(result) if result else None,
    )


@router.post("/trials/{job}/cancel")
def cancel_trial_page(request: Request, job: str, csrf: str = Form("")) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    with state(request).db.session() as s:
        jobs.cancel(s, my_job(s, user, job))
    return RedirectResponse(f"/trials/{job}", status_code=303)


def _detached_job(request: Request, user: Clinician, job: str) -> TrialJob:
    with state(request).db.session() as s:
        j = my_job(s, user, job)
        s.expunge(j)
    return j


@router.post("/trials/{job}/retry")
def retry_trial_page(request: Request, job: str, csrf: str = Form("")) -> Response:
    user, token = session(request)
    check_csrf(request, csrf, token)
    st, old = state(request), _detached_job(request, user, job)
    try:
        new = jobs.retry(
            st.db, old, st.jobs, lambda d: check_start(st, d), st.settings.dask_scheduler
        )
    except jobs.JobLimitError as exc:
        return _list(request, user, token, str(exc), 429)
    except jobs.JobStateError as exc:
        return _list(request, user, token, str(exc), 409)
    return RedirectResponse(f"/trials/{new.id}", status_code=303)


@router.get("/trials/{job}/results.csv")
def trial_csv(request: Request, job: str) -> Response:
    user, _csrf = session(request)
    with state(request).db.session() as s:
        j = my_job(s, user, job)
        rows = summary_rows(j.result) if j.state == "done" and j.result else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["arm", *(k for k, _ in COLUMNS)])
    for r in rows:
        w.writerow([r["arm"], *(r[k] for k, _ in COLUMNS)])
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{job}.csv"'},
    )
