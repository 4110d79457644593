"""The REST API under ``/api/v1`` (FastAPI router; see ``docs/clinic.md`` for the table).

Auth rules: ``POST /token`` takes a clinician's name and password; every other
route except ``/diary/{token}/...`` needs a clinician's bearer token (missing,
wrong or expired: a bare ``401``) and sees only its own clinic's patients
(another clinic's patient: ``404``). ``/diary/{token}/...`` routes are reached
with a patient's diary token only (unknown, expired or revoked: ``401``) and
see only that patient's entries and plain-language plan.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from neurodose.case import PatientIn
from neurodose.errors import InputError, NeurodoseError
from neurodose.service import accounts, jobs, library, store
from neurodose.service.login import LoginGate
from neurodose.service.models import Clinician, TrialJob
from neurodose.service.problems import (
    ERROR_RESPONSES,
    NotFound,
    Problem,
    Unauthorized,
    input_error,
)
from neurodose.service.schemas import (
    AssessmentOut,
    AuditEntry,
    ConditionOut,
    DiaryEntryIn,
    DiaryEntryOut,
    DiaryLinkOut,
    DiaryPlanOut,
    DrugRecordOut,
    DrugSummary,
    ExplainIn,
    ExplainOut,
    LevelRow,
    LevelsAdded,
    LevelsIn,
    PatientCreated,
    PatientOut,
    PatientPage,
    PlanOut,
    RegimenIn,
    ResponseOut,
    SimulateIn,
    SimulateOut,
    SourceOut,
    SwitchIn,
    TaperIn,
    TdmOut,
    TokenOut,
    TrialDesignIn,
    TrialJobOut,
)
from neurodose.service.security import issue_token, read_token

__all__ = ["ClinicState", "client_address", "csv_rows", "current_clinician", "router", "too_many"]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/token", auto_error=False)
router = APIRouter(prefix="/api/v1")
_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": Problem, "description": "conflict"}}
_AUTH: dict[int | str, dict[str, Any]] = {
    401: ERROR_RESPONSES[401],
    422: ERROR_RESPONSES[422],
    429: {
        "model": Problem,
        "description": "too many failed sign-ins from this address or for this name: "
        "locked; the Retry-After header gives the seconds left",
    },
    503: {
        "model": Problem,
        "description": "too many sign-ins waiting to be checked; retry after Retry-After s",
    },
}
#: for the routes that pass the library's JSON through: a field it leaves out stays out
_AS_GIVEN: dict[str, Any] = {"response_model_exclude_unset": True}


class ClinicState:
    """What the routes share: settings, database, background-job threads, the
    sign-in gate (limits and the Argon2 pool)."""

    def __init__(self, settings: Any, db: Any) -> None:
        self.settings = settings
        self.db = db
        self.jobs: dict[str, threading.Thread] = {}
        self.login = LoginGate(settings, db)
        #: jobs left queued or running by a stopped server, marked failed at start-up
        self.jobs_recovered = jobs.recover_interrupted(db)


def state(request: Request) -> ClinicState:
    """The app's :class:`ClinicState`."""
    st: ClinicState = request.app.state.clinic
    return st


State = Annotated[ClinicState, Depends(state)]


def current_clinician(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Clinician:
    """The active clinician of a valid bearer token, else a bare ``401``."""
    st = state(request)
    claims = read_token(st.settings.secret_key, token or "", "access") if token else None
    if claims is None:
        raise Unauthorized()
    with st.db.session() as s:
        user = accounts.user_for_claims(s, claims)
        if user is None:
            raise Unauthorized()
        return user


User = Annotated[Clinician, Depends(current_clinician)]


def diary_patient_id(st: ClinicState, token: str) -> str:
    """The patient of a live diary token, else a bare ``401``."""
    with st.db.session() as s:
        pid = store.diary_patient(s, token)
    if pid is None:
        raise Unauthorized()
    return pid


# ------------------------------------------------------------------ auth
@router.post("/token", response_model=TokenOut, responses=_AUTH, tags=["auth"])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=256)],
) -> Any:
    """OAuth2 password login: a short-lived signed bearer token (no auth needed).

    Failed sign-ins are counted per client address and per name; past the limit the
    address or name is locked (``429`` with ``Retry-After``, see ``docs/clinic.md``)."""
    st = state(request)
    out = await st.login.attempt(username, password, client_address(request), "login")
    if out.status in (429, 503):
        return too_many(out.status, out.retry_after)
    if out.status != 200:
        raise Unauthorized()
    token, _ = issue_token(
        st.settings.secret_key, str(out.user_id), "access", st.settings.token_minutes, **out.claims
    )
    return TokenOut(access_token=token, expires_in=st.settings.token_minutes * 60)


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, the one it forwards: see docs/clinic.md)."""
    return request.client.host if request.client else "unknown"


def too_many(status: int, retry_after: int) -> JSONResponse:
    """The ``429`` (locked) or ``503`` (busy) answer to a sign-in, with ``Retry-After``."""
    why = (
        "too many failed sign-ins from this address or for this name"
        if status == 429
        else "too many sign-ins are being checked"
    )
    return JSONResponse(
        {"detail": f"{why}; try again in {retry_after} s"},
        status_code=status,
        headers={"Retry-After": str(retry_after)},
    )


# ------------------------------------------------------------------ knowledge
@router.get(
    "/drugs", response_model=list[DrugSummary], responses=ERROR_RESPONSES, tags=["knowledge"]
)
def drugs(user: User) -> list[dict[str, Any]]:
    """Every drug in the knowledge base: name, display name, class, record kind."""
    from neurodose.knowledge.registry import drug_names, get_drug

    out = []
    for n in drug_names():
        r = get_drug(n)
        out.append(
            {
                "name": r.name,
                "display_name": r.display_name,
                "drug_class": r.drug_class,
                "record": r.record,
                "classes": list(r.classes),
            }
        )
    return out


@router.get(
    "/drugs/{name}",
    response_model=DrugRecordOut,
    responses=ERROR_RESPONSES,
    tags=["knowledge"],
    **_AS_GIVEN,
)
def drug(user: User, name: str) -> dict[str, Any]:
    """The full cited record (as ``neurodose drugs show NAME --json``); unknown: ``404``."""
    from neurodose.knowledge.registry import get_drug, resolve_name

    return _known("drug", lambda: get_drug(resolve_name(name)).model_dump(mode="json"))


@router.get(
    "/sources/{key}",
    response_model=SourceOut,
    responses=ERROR_RESPONSES,
    tags=["knowledge"],
    **_AS_GIVEN,
)
def source(user: User, key: str) -> dict[str, Any]:
    """One reference as CSL-JSON (as ``neurodose sources KEY --json``); unknown: ``404``."""
    from neurodose.knowledge.registry import get_reference

    return _known("source", lambda: dict(get_reference(key)))


def _known(what: str, look_up: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A knowledge-base entry as JSON; a name the knowledge base does not know: ``404``."""
    from neurodose.errors import UnknownNameError

    try:
        return look_up()
    except UnknownNameError as exc:
        raise NotFound(f"{what} ({exc})") from None


@router.get(
    "/conditions", response_model=list[ConditionOut], responses=ERROR_RESPONSES, tags=["knowledge"]
)
def conditions(user: User) -> list[dict[str, Any]]:
    """Condition ids the patient profile accepts (for autocomplete)."""
    from neurodose.knowledge.conditions import condition, condition_ids

    return [
        {"id": c, "label": condition(c).label, "kind": condition(c).kind} for c in condition_ids()
    ]


# ------------------------------------------------------------------ patients
@router.post(
    "/patients",
    status_code=201,
    response_model=PatientCreated,
    responses=ERROR_RESPONSES,
    tags=["patients"],
)
def create_patient(
    st: State,
    user: User,
    body: PatientIn,
    strict: Annotated[
        bool,
        Query(description="refuse an unknown medicine or condition (default: keep it, unchecked)"),
    ] = False,
) -> PatientCreated:
    """Store a patient profile (the ``assess`` schema); returns the pseudonymous id.

    A medicine or condition the knowledge base does not know is kept and listed as
    ``unchecked`` in the assessment; ``strict=true`` refuses it (422) instead."""
    with st.db.session() as s:
        rec = store.create_patient(s, user, body.model_dump(exclude_defaults=True), strict=strict)
        return PatientCreated(id=rec.id)


@router.get("/patients", response_model=PatientPage, responses=ERROR_RESPONSES, tags=["patients"])
def list_patients(
    st: State,
    user: User,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PatientPage:
    """The clinic's patients, newest first, with "review due" and "level due" flags."""
    with st.db.session() as s:
        rows, total = store.list_patients(s, user, offset, limit)
        items = [PatientOut(**store.patient_out(s, r)) for r in rows]
    return PatientPage(items=items, total=total, offset=offset, limit=limit)


@router.get(
    "/patients/{pid}", response_model=PatientOut, responses=ERROR_RESPONSES, tags=["patients"]
)
def get_patient(st: State, user: User, pid: str) -> PatientOut:
    """One patient (``404`` if not in the caller's clinic)."""
    with st.db.session() as s:
        rec = store.get_patient(s, user, pid)
        store.audit(s, user.name, "patient.read", pid)
        return PatientOut(**store.patient_out(s, rec))


@router.put(
    "/patients/{pid}", response_model=PatientOut, responses=ERROR_RESPONSES, tags=["patients"]
)
def put_patient(st: State, user: User, pid: str, body: PatientIn) -> PatientOut:
    """Replace the patient's profile."""
    with st.db.session() as s:
        rec = store.update_patient(s, user, pid, body.model_dump(exclude_defaults=True))
        return PatientOut(**store.patient_out(s, rec))


@router.get(
    "/patients/{pid}/assessment",
    response_model=AssessmentOut,
    responses=ERROR_RESPONSES,
    tags=["patients"],
    **_AS_GIVEN,
)
def assessment(st: State, user: User, pid: str) -> dict[str, Any]:
    """``neurodose assess --json`` of the stored profile (plans dated from today)."""
    with st.db.session() as s:
        return store.assessment(s, user, pid)


@router.get(
    "/patients/{pid}/audit",
    response_model=list[AuditEntry],
    responses=ERROR_RESPONSES,
    tags=["patients"],
)
def audit_trail(st: State, user: User, pid: str) -> list[dict[str, Any]]:
    """Who read or changed this patient, when (newest first)."""
    with st.db.session() as s:
        return store.audit_trail(s, user, pid)


# ------------------------------------------------------------------ plans
def _conflict(exc: store.ConflictError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


def _or_conflict(st: ClinicState, work: Callable[[Session], Any]) -> Any:
    """``work`` in one transaction; a :class:`store.ConflictError` answers ``409``."""
    try:
        with st.db.session() as s:
            return work(s)
    except store.ConflictError as exc:
        return _conflict(exc)


def _make_plan(st: ClinicState, user: Clinician, pid: str, kind: str, body: BaseModel) -> Any:
    return _or_conflict(st, lambda s: store.make_plan(s, user, pid, kind, body.model_dump()))


#: the routes that store a new plan (``201`` with the plan, ``409`` without a current drug)
_NEW_PLAN: dict[str, Any] = {
    "status_code": 201,
    "response_model": PlanOut,
    "responses": {**ERROR_RESPONSES, **_CONFLICT},
    "tags": ["plans"],
    **_AS_GIVEN,
}


@router.post("/patients/{pid}/regimen", **_NEW_PLAN)
def start_regimen(st: State, user: User, pid: str, body: RegimenIn) -> Any:
    """Start a drug: the titration plan (``neurodose plan titrate --json``) becomes the
    current regimen."""
    return _make_plan(st, user, pid, "titration", body)


@router.post("/patients/{pid}/plan/taper", **_NEW_PLAN)
def taper(st: State, user: User, pid: str, body: TaperIn) -> Any:
    """Taper the current drug to stopping (``neurodose plan taper --json``)."""
    return _make_plan(st, user, pid, "taper", body)


@router.post("/patients/{pid}/plan/switch", **_NEW_PLAN)
def switch(st: State, user: User, pid: str, body: SwitchIn) -> Any:
    """Switch from the current drug (``neurodose plan switch --json``)."""
    return _make_plan(st, user, pid, "switch", body)


@router.get(
    "/patients/{pid}/plan",
    response_model=PlanOut,
    responses=ERROR_RESPONSES,
    tags=["plans"],
    **_AS_GIVEN,
)
def get_plan(st: State, user: User, pid: str) -> dict[str, Any]:
    """The current plan (JSON as ``neurodose plan ... --json --patient-text``); none: ``404``."""
    with st.db.session() as s:
        store.get_patient(s, user, pid)
        return store.read_plan(s, user.name, pid, "plan.read").plan


@router.get(
    "/patients/{pid}/plan.ics",
    responses={**ERROR_RESPONSES, 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
    tags=["plans"],
)
def get_plan_ics(st: State, user: User, pid: str) -> Response:
    """The current plan as an iCalendar file."""
    return plan_ics_response(st, user, pid)


def plan_ics_response(st: ClinicState, user: Clinician, pid: str) -> Response:
    """The patient's current plan as an iCalendar download (audited); shared by the API and UI."""
    with st.db.session() as s:
        rec = store.get_patient(s, user, pid)
        plan = store.read_plan(s, user.name, pid, "plan.ics")
        text = library.plan_ics(rec.profile, plan.params)
    return Response(
        text,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="plan-{pid}.ics"'},
    )


# ------------------------------------------------------------------ levels, tdm
def csv_rows(text: str) -> list[dict[str, Any]]:
    """Rows of a levels CSV (analyte, value, unit, ...), for the API and the clinic UI."""
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in ("analyte", "value", "unit") if c not in cols]
    if "time_h" not in cols and "datetime" not in cols:
        missing.insert(0, "time_h or datetime")
    if missing:
        raise InputError("levels", ",".join(cols), f"CSV columns incl. {', '.join(missing)}")
    out = []
    for i, row in enumerate(reader, start=1):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not any(r.values()):
            continue
        unknown = set(r) - set(LevelRow.model_fields)
        if unknown:
            raise InputError(f"levels row {i}", sorted(unknown)[0], "tdm CSV columns")
        out.append({k: v for k, v in r.items() if v != ""})
    return out


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` references replaced by the definitions."""
    defs = schema.pop("$defs", {})

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            if "$ref" in x:
                return walk(defs[x["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    out: dict[str, Any] = walk(schema)
    return out


_LEVELS_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": _inline(LevelsIn.model_json_schema())},
            "text/csv": {"schema": {"type": "string"}},
        },
        "required": True,
    }
}


@router.post(
    "/patients/{pid}/levels",
    status_code=201,
    response_model=LevelsAdded,
    responses={**ERROR_RESPONSES, **_CONFLICT},
    openapi_extra=_LEVELS_BODY,
    tags=["levels"],
)
async def add_levels(st: State, user: User, pid: str, request: Request) -> Any:
    """Add drug levels: JSON ``{"rows": [...]}`` or a ``text/csv`` body with the
    ``tdm`` CSV columns (``time_h|datetime, analyte, value, unit[, lloq]``); datetimes
    count from 00:00 of the regimen's first day."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        if ctype == "text/csv":
            rows = csv_rows(raw.decode("utf-8-sig"))
            LevelsIn.model_validate({"rows": rows})
        else:
            rows = [r.model_dump() for r in LevelsIn.model_validate_json(raw or b"{}").rows]
    except ValidationError as exc:
        items = [
            {
                "loc": ["body", *e["loc"]],
                "msg": f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}",
                "type": e["type"],
                "value": str(e.get("input"))[:200],
                "allowed": e["msg"],
                "suggestions": [],
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": items}, status_code=422)
    except (UnicodeDecodeError, NeurodoseError) as exc:
        err = exc if isinstance(exc, NeurodoseError) else InputError("body", "bytes", "UTF-8 CSV")
        return JSONResponse({"detail": [input_error(err).model_dump()]}, status_code=422)
    return _or_conflict(st, lambda s: _levels_added(store.add_levels(s, user, pid, rows)))


def _levels_added(stored: list[dict[str, Any]]) -> dict[str, Any]:
    return {"added": len(stored), "rows": stored}


@router.get(
    "/patients/{pid}/tdm",
    response_model=TdmOut,
    responses={**ERROR_RESPONSES, **_CONFLICT},
    tags=["levels"],
    **_AS_GIVEN,
)
def get_tdm(
    st: State,
    user: User,
    pid: str,
    target: Annotated[
        str | None,
        Query(
            max_length=40,
            description="target range LOW-HIGH ng/mL, e.g. 50-150. Needed for a dose "
            "recommendation: the knowledge-base TDM ranges are depression ranges and the "
            "evidence gives no pain target, so without it the report has the fit and forecast "
            "only, with a note saying why",
        ),
    ] = None,
) -> Any:
    """``neurodose tdm --json`` for the current regimen and the stored levels."""
    try:
        return _or_conflict(st, lambda s: store.tdm(s, user, pid, target=target))
    except InputError as exc:
        if exc.field != "target":
            raise
        return JSONResponse({"detail": [input_error(exc, ("query",)).model_dump()]}, 422)


# ------------------------------------------------------------------ diary
@router.post(
    "/patients/{pid}/diary-link",
    status_code=201,
    response_model=DiaryLinkOut,
    responses=ERROR_RESPONSES,
    tags=["diary"],
)
def diary_link(st: State, user: User, pid: str, request: Request) -> DiaryLinkOut:
    """A new diary link for the patient (the token is shown only here)."""
    with st.db.session() as s:
        token, expires = store.create_diary_link(s, user, pid, st.settings.diary_link_days)
    base = (st.settings.public_url or str(request.base_url)).rstrip("/")
    return DiaryLinkOut(url=f"{base}/d/{token}", token=token, expires=expires)


@router.delete(
    "/patients/{pid}/diary-link",
    status_code=204,
    response_class=Response,
    responses=ERROR_RESPONSES,
    tags=["diary"],
)
def revoke_diary_link(st: State, user: User, pid: str) -> Response:
    """Revoke every diary link of the patient."""
    with st.db.session() as s:
        store.revoke_diary_links(s, user, pid)
    return Response(status_code=204)


@router.get(
    "/patients/{pid}/diary",
    response_model=list[DiaryEntryOut],
    responses=ERROR_RESPONSES,
    tags=["diary"],
)
def patient_diary(st: State, user: User, pid: str) -> list[dict[str, Any]]:
    """The patient's diary entries, oldest first."""
    with st.db.session() as s:
        store.get_patient(s, user, pid)
        return store.diary_entries(s, pid, user.name)


@router.get(
    "/patients/{pid}/response",
    response_model=ResponseOut,
    responses={**ERROR_RESPONSES, **_CONFLICT},
    tags=["diary"],
    **_AS_GIVEN,
)
def get_response(st: State, user: User, pid: str) -> Any:
    """``neurodose response --json`` from the stored diary and regimen."""
    return _or_conflict(st, lambda s: store.response(s, user, pid))


@router.post(
    "/diary/{token}/entries",
    status_code=201,
    response_model=DiaryEntryOut,
    responses={**ERROR_RESPONSES, **_CONFLICT, 200: {"model": DiaryEntryOut}},
    tags=["diary"],
)
def add_entry(st: State, token: str, body: DiaryEntryIn, response: Response) -> Any:
    """Add today's entry (diary token only). ``201`` when stored, ``200`` for a replay
    of the same body, ``409`` for other content under the same id or a second entry
    for the same date."""
    pid = diary_patient_id(st, token)
    data = body.model_dump()
    try:  # acknowledged once its shared transaction is committed (store_commit)
        entry, created = st.db.group.run(lambda s: store.add_diary_entry(s, pid, data))
    except store.ConflictError as exc:
        return _conflict(exc)
    response.status_code = 201 if created else 200
    return entry


@router.get(
    "/diary/{token}/entries",
    response_model=list[DiaryEntryOut],
    responses=ERROR_RESPONSES,
    tags=["diary"],
)
def list_entries(st: State, token: str) -> list[dict[str, Any]]:
    """The patient's own entries (diary token only)."""
    pid = diary_patient_id(st, token)
    with st.db.session() as s:
        return store.diary_entries(s, pid, "diary")


@router.get(
    "/diary/{token}/plan", response_model=DiaryPlanOut, responses=ERROR_RESPONSES, tags=["diary"]
)
def diary_plan(st: State, token: str) -> dict[str, Any]:
    """The patient's plan in plain language (diary token only); none yet: ``404``."""
    pid = diary_patient_id(st, token)
    with st.db.session() as s:
        plan = store.read_plan(s, "diary", pid, "plan.read")
        return {
            "patient_text": plan.patient_text,
            "steps": [
                {k: st_[k] for k in ("date", "drug", "dose_mg", "time_of_day", "units")}
                for st_ in plan.plan["steps"]
            ],
        }


# ------------------------------------------------------------------ models
@router.post(
    "/simulate", response_model=SimulateOut, responses=ERROR_RESPONSES, tags=["models"], **_AS_GIVEN
)
def simulate(user: User, body: SimulateIn) -> dict[str, Any]:
    """``neurodose simulate --json`` (the options as JSON)."""
    return library.simulate_json(
        body.drug,
        body.regimen,
        body.covariates(),
        body.with_,
        body.hours,
        body.allow_above_max,
        population=body.population,
        seed=body.seed,
    )


@router.post(
    "/explain", response_model=ExplainOut, responses=ERROR_RESPONSES, tags=["models"], **_AS_GIVEN
)
def explain(user: User, body: ExplainIn) -> dict[str, Any]:
    """``neurodose explain --json`` (the options as JSON)."""
    return library.explain_json(
        body.drug,
        body.dose,
        body.every,
        body.days,
        body.covariates(),
        body.with_,
        body.allow_above_max,
    )


def _job_out(j: TrialJob) -> TrialJobOut:
    return TrialJobOut(
        job=j.id,
        state=j.state,
        progress=round(j.progress, 4),
        result=j.result,
        error=j.error,
    )


def start_job(st: ClinicState, user: Clinician, design: dict[str, Any]) -> TrialJob:
    """Check the design and the caller's limit, then queue the job (pages use it too)."""

    return jobs.start(
        st.db, user.id, design, st.jobs, lambda d: check_start(st, d), st.settings.dask_scheduler
    )


def check_start(st: ClinicState, design: Any) -> None:
    """Refuse a design the service will not run (:func:`neurodose.workflows.trial_design`)."""
    from neurodose.workflows.trials import trial_design

    trial_design(dict(design), max_patients=st.settings.trial_max_patients)


_TOO_MANY = {"model": Problem, "description": "too many jobs queued or running"}


def _too_many(exc: jobs.JobLimitError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "60"})


@router.post(
    "/trials",
    status_code=202,
    response_model=TrialJobOut,
    responses={
        **ERROR_RESPONSES,
        429: _TOO_MANY,
    },
    tags=["models"],
)
def start_trial(st: State, user: User, body: TrialDesignIn) -> Any:
    """Run a virtual trial (a design as ``neurodose trial`` reads it) in the background;
    ``429`` when the caller already has the per-user number of jobs queued or running."""
    try:
        return _job_out(start_job(st, user, body.model_dump(exclude_unset=True)))
    except jobs.JobLimitError as exc:
        return _too_many(exc)


def my_job(s: Any, user: Clinician, job: str) -> TrialJob:
    j = s.get(TrialJob, job)
    if j is None or j.owner != user.id:
        raise NotFound("job")
    return j


@router.get("/trials/{job}", response_model=TrialJobOut, responses=ERROR_RESPONSES, tags=["models"])
def trial_status(st: State, user: User, job: str) -> TrialJobOut:
    """``{"state", "progress", "result"}`` of the caller's job."""
    with st.db.session() as s:
        return _job_out(my_job(s, user, job))


@router.delete(
    "/trials/{job}", response_model=TrialJobOut, responses=ERROR_RESPONSES, tags=["models"]
)
def cancel_trial(st: State, user: User, job: str) -> TrialJobOut:
    """Cancel the caller's job in any state: queued or running -> ``cancelled`` at once
    (a running chunk finishes in the background and is discarded); a finished job is
    returned as it is."""
    with st.db.session() as s:
        return _job_out(jobs.cancel(s, my_job(s, user, job)))


@router.post(
    "/trials/{job}/retry",
    status_code=202,
    response_model=TrialJobOut,
    responses={
        **ERROR_RESPONSES,
        409: {"model": Problem, "description": "the job is still queued or running"},
        429: _TOO_MANY,
    },
    tags=["models"],
)
def retry_trial(st: State, user: User, job: str) -> Any:
    """A new job with the design of the caller's failed, cancelled or finished job."""
    with st.db.session() as s:
        old = my_job(s, user, job)
        s.expunge(old)
    try:
        new = jobs.retry(
            st.db, old, st.jobs, lambda d: check_start(st, d), st.settings.dask_scheduler
        )
        return _job_out(new)
    except jobs.JobStateError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except jobs.JobLimitError as exc:
        return _too_many(exc)
