"""Virtual trials in the clinic: ``/trials`` (the design as TOML, typed or uploaded, or
field by field through ``/trials/form``, and the clinician's jobs), ``/trials/{job}``
(progress, cancel, retry, results with the chart and the CSV). The jobs are the API's
(:mod:`neurodose.service.jobs`); no trial logic here.
"""

from __future__ import annotations

import csv
import io
import re
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
from neurodose.service.pages.common import check_csrf, num, page, session, state

__all__ = ["EXAMPLE_DESIGN", "EXAMPLE_FORM", "design_from_form", "router", "summary_rows"]

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

#: arm rows of the field-by-field form (empty rows are left out; a trial needs 2 or more)
ARM_ROWS = 4

#: the form's starting values: the same trial as :data:`EXAMPLE_DESIGN`
EXAMPLE_FORM = {
    "name": "amitriptyline_vs_placebo",
    "condition": "diabetic_neuropathy",
    "weeks": "8",
    "n_per_arm": "200",
    "seed": "1",
    "arm0_name": "amitriptyline_25",
    "arm0_drug": "amitriptyline",
    "arm0_dose": "25",
    "arm0_every": "24",
    "arm1_name": "placebo",
    "arm1_drug": "placebo",
}

_ARM_FIELDS = ("name", "drug", "dose", "every")


def _whole(text: str) -> int | float | str | None:
    """An integer field: ``None`` when empty, else the integer, or the number or text
    as given (the design's check names the field and says what it allows)."""
    v = num(text)
    if isinstance(v, float) and v.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return int(v)
    return v


def _arm_of_row(f: dict[str, str], row: int) -> dict[str, Any]:
    arm: dict[str, Any] = {"name": f.get(f"arm{row}_name", "").strip()}
    arm["drug"] = f.get(f"arm{row}_drug", "").strip()
    dose, every = f.get(f"arm{row}_dose", ""), f.get(f"arm{row}_every", "")
    if dose.strip() or (every.strip() and arm["drug"] != "placebo"):
        step: dict[str, Any] = {"start_day": 1}
        for key, text in (("dose_mg", dose), ("every_h", every)):
            if (v := num(text)) is not None:
                step[key] = v
        arm["regimen"] = [step]
    return arm


def design_from_form(f: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
    """The design mapping (as the TOML gives it) of the form's fields, and the form row
    of each arm (empty rows are left out). Values are passed on as typed: the workflow's
    design check names what is wrong."""
    design: dict[str, Any] = {"name": f.get("name", "").strip()}
    if cond := f.get("condition", "").strip():
        design["condition"] = cond
    for key in ("weeks", "n_per_arm", "seed"):
        if (v := _whole(f.get(key, ""))) is not None:
            design[key] = v
    rows = [
        r
        for r in range(ARM_ROWS)
        if any(f.get(f"arm{r}_{k}", "").strip() for k in ("name", "drug", "dose"))
    ]
    design["arms"] = [_arm_of_row(f, r) for r in rows]
    return design, rows


_ARM_ERROR = re.compile(r"^(?:body\.)?arms\[(\d+)\]\.(name|drug|regimen)(.*)$")


def form_field(field: str, rows: list[int]) -> str:
    """The form field of a design error's field (``arms[1].regimen[0].every_h`` ->
    ``arm1_every``); ``design`` for one the form has no field for."""
    field = field.removeprefix("body.")
    if field in ("name", "condition", "weeks", "n_per_arm", "seed"):
        return field
    m = _ARM_ERROR.match(field)
    if m is None or int(m.group(1)) >= len(rows):
        return "arms" if field == "arms" else "design"
    row, part = rows[int(m.group(1))], m.group(2)
    if part == "regimen":
        part = "every" if "every_h" in m.group(3) else "dose"
    return f"arm{row}_{part}"


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
    form: dict[str, str] | None = None,
    form_errors: dict[str, str] | None = None,
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
        form=EXAMPLE_FORM if form is None else form,
        form_errors=form_errors or {},
        arm_rows=ARM_ROWS,
        trial_conditions=_trial_conditions(),
        arm_drugs=_arm_drugs(),
    )


def _trial_conditions() -> list[str]:
    from neurodose.pd.params import load_pd_parameters

    return sorted(load_pd_parameters().conditions)


def _arm_drugs() -> list[str]:
    from neurodose.pk.parameters import pkmodel_names

    return ["placebo", *pkmodel_names()]


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


def _form_values(raw: Any) -> dict[str, str]:
    keys = ["name", "condition", "weeks", "n_per_arm", "seed"]
    keys += [f"arm{r}_{k}" for r in range(ARM_ROWS) for k in _ARM_FIELDS]
    return {k: str(raw.get(k, ""))[:200] for k in keys}


@router.post("/trials/form")
async def start_trial_form(request: Request) -> Response:
    """The design field by field: the same mapping as the TOML, the same start path."""
    user, token = session(request)
    raw = await request.form()
    check_csrf(request, str(raw.get("csrf", "")), token)
    f = _form_values(raw)
    design, rows = design_from_form(f)
    try:
        if len(rows) < 2:
            raise ValueError("arms: at least 2 arm rows (a drug and a comparator, e.g. placebo)")
        job = start_job(state(request), user, design)
    except jobs.JobLimitError as exc:
        return _list(request, user, token, status=429, form=f, form_errors={"design": str(exc)})
    except NeurodoseError as exc:
        where = form_field(str(getattr(exc, "field", "design")), rows)
        return _list(request, user, token, status=422, form=f, form_errors={where: str(exc)})
    except ValueError as exc:
        return _list(request, user, token, status=422, form=f, form_errors={"arms": str(exc)})
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
