"""The browser pages: Jinja2 templates with htmx, every asset served from the package.

Clinicians sign in with a session cookie (signed, ``HttpOnly``, ``SameSite=Strict``,
``Secure`` unless ``NEURODOSE_SECURE_COOKIES=0``); every form carries a CSRF token bound
to the session. Patients open ``/d/{token}`` (their diary link): no account, no cookie.
The pages call the same store functions as the API; no clinical logic here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select

from neurodose.errors import InputError, NeurodoseError
from neurodose.service import accounts, library, store
from neurodose.service.api import ClinicState, csv_rows, plan_ics_response
from neurodose.service.models import Clinician
from neurodose.service.problems import NotFound, input_error
from neurodose.service.schemas import DiaryEntryIn
from neurodose.service.security import issue_token, read_token, same, verify_password

__all__ = ["mount_ui"]

HERE = Path(__file__).parent
COOKIE = "nd_session"
PRE = "nd_login"
templates = Jinja2Templates(directory=str(HERE / "templates"))
SEVERITIES = ("contraindicated", "avoid", "caution", "monitor", "info")


class _RedirectError(Exception):
    """Send the browser elsewhere (to the login page)."""

    def __init__(self, url: str) -> None:
        self.url = url


def _st(request: Request) -> ClinicState:
    st: ClinicState = request.app.state.clinic
    return st


def _session(request: Request) -> tuple[Clinician, str]:
    """The signed-in clinician and the session's CSRF token, else to the login page."""
    st = _st(request)
    claims = read_token(st.settings.secret_key, request.cookies.get(COOKIE, ""), "session")
    if claims is not None:
        with st.db.session() as s:
            user = accounts.user_for_claims(s, claims)
            if user is not None:
                return user, str(claims["csrf"])
    raise _RedirectError("/login?next=" + quote(request.url.path))


def _check_csrf(request: Request, csrf: str, expected: str) -> None:
    if not csrf or not same(csrf, expected):
        raise _RedirectError("/login?expired=1")


def _page(request: Request, name: str, status: int = 200, **ctx: object) -> HTMLResponse:
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _errors(exc: Exception) -> dict[str, str]:
    """Form errors by field path (``age``, ``labs.crcl_ml_min``, ...)."""
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"])
            out[loc or "form"] = f"{e['msg']} (you gave {e.get('input')!r})"
    elif isinstance(exc, NeurodoseError):
        item = input_error(exc, prefix=())
        key = ".".join(str(x) for x in item.loc) or "form"
        if key.startswith("medications"):
            key = "medications"
        elif key in ("condition", "pain.condition"):
            key = "conditions" if key == "condition" else key
        out[key] = item.msg
    return out


def _num(text: str) -> float | str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # the validator names it


def _profile_from_form(f: dict[str, str]) -> dict[str, Any]:
    """The ``assess`` profile from the new-patient form (empty fields left out)."""
    p: dict[str, Any] = {"age": _num(f.get("age", ""))}
    if f.get("sex"):
        p["sex"] = f["sex"]
    for key in ("weight_kg", "height_cm"):
        v = _num(f.get(key, ""))
        if v is not None:
            p[key] = v
    conds = [c.strip() for c in f.get("conditions", "").split(",") if c.strip()]
    if conds:
        p["conditions"] = conds
    meds = [m.strip() for m in f.get("medications", "").split(",") if m.strip()]
    if meds:
        p["medications"] = meds
    genes = {
        g: f[k].strip()
        for g, k in (("CYP2D6", "cyp2d6"), ("CYP2C19", "cyp2c19"))
        if f.get(k, "").strip()
    }
    if genes:
        p["genotypes"] = genes
    labs = {k: _num(f.get(k, "")) for k in ("crcl_ml_min", "egfr", "qtc_ms")}
    labs = {k: v for k, v in labs.items() if v is not None}
    if labs:
        p["labs"] = labs
    if f.get("pain_condition", "").strip():
        pain: dict[str, Any] = {"condition": f["pain_condition"].strip()}
        score = _num(f.get("pain_score", ""))
        if score is not None:
            pain["score"] = score
        p["pain"] = pain
    prios = [x for x in ("sleep", "mood", "anxiety", "pain") if f.get(f"prio_{x}")]
    if prios:
        p["priorities"] = prios
    return p


def _validate_profile(p: dict[str, Any]) -> dict[str, Any]:
    from neurodose.case import PatientIn

    PatientIn.model_validate(p)
    library.profile_patient(p)
    return p


def _choices() -> dict[str, list[str]]:
    from neurodose.knowledge.conditions import condition, condition_ids
    from neurodose.knowledge.registry import drug_names

    return {
        "drugs": list(drug_names()),
        "conditions": list(condition_ids()),
        "pain_conditions": [c for c in condition_ids() if condition(c).kind == "pain"],
    }


def _form_date(field: str, text: str) -> str | None:
    """A date field of a form: ``None`` when empty, else ISO ``YYYY-MM-DD`` or an
    :class:`~neurodose.errors.InputError` naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(field, text[:40], "a date as YYYY-MM-DD, e.g. 2026-01-31") from None


def _is_topical(drug: str) -> bool:
    """Whether the knowledge base gives ``drug`` only topical routes (a patch or plaster)."""
    from neurodose.knowledge.registry import get_drug

    try:
        routes = get_drug(drug).routes or []
    except NeurodoseError:
        return False
    return bool(routes) and all(r == "topical" for r in routes)


_LOCAL_PATH = re.compile(r"/[A-Za-z0-9/_.-]{0,200}")


def _local_path(text: str) -> str:
    """``text`` if it is a plain path on this site (where to go after signing in),
    else ``/patients``: no other site, no query string carried into the page."""
    ok = _LOCAL_PATH.fullmatch(text) and not text.startswith("//")
    return text if ok else "/patients"


#: the paths of the browser pages (errors there are pages, never JSON)
_PAGES = ("/login", "/logout", "/patients", "/sources/", "/d/")


def _is_page(path: str) -> bool:
    return path == "/" or path.startswith(_PAGES)


def _error_page(request: Request, status: int, title: str, messages: list[str]) -> Response:
    """An error as a page (the clinic's look, a way back), for the browser routes."""
    return _page(request, "error.html", status, title=title, messages=messages)


def _uuid_or_new(text: str) -> str:
    """``text`` if it is a UUID (a form sent again keeps its entry id), else a new one."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid4())


def _plotly_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _fig(traces: list[dict[str, Any]], **layout: Any) -> str:
    """A Plotly figure as JSON for ``Plotly.newPlot``."""
    base = {
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "height": 360,
        "legend": {"orientation": "h", "y": -0.25},
        "font": {"size": 13},
    }
    text = json.dumps({"data": traces, "layout": {**base, **layout}}, allow_nan=False)
    # it is placed inside a <script> element: no "</script>" or "<!--" can end it early
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def mount_ui(app: FastAPI) -> None:
    """Add the pages and static assets to ``app``."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from neurodose.service import problems

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return problems.validation_response(request, exc)
        assert isinstance(exc, RequestValidationError)
        msgs = [
            f"{'.'.join(str(x) for x in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return _error_page(request, 422, "Something in the request is not valid", msgs)

    @app.exception_handler(NeurodoseError)
    async def _library_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request.url.path):
            return problems.library_response(request, exc)
        return _error_page(request, 422, "This could not be done", [str(exc)])

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not _is_page(request.url.path) or exc.status_code not in (400, 404, 405, 409):
            return await http_exception_handler(request, exc)
        title = "Not found" if exc.status_code == 404 else "This could not be done"
        return _error_page(request, exc.status_code, title, [str(exc.detail)])

    @app.exception_handler(_RedirectError)
    async def _redirect(_r: Request, exc: Exception) -> Response:
        assert isinstance(exc, _RedirectError)
        return RedirectResponse(exc.url, status_code=303)

    @app.get("/static-plotly/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_path(), media_type="text/javascript")

    # ---------------------------------------------------------------- sign in
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/patients", status_code=303)

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/patients", expired: int = 0) -> Response:
        pre = secrets.token_urlsafe(24)
        next = _local_path(next)
        resp = _page(request, "login.html", pre=pre, next=next, expired=expired, error=None)
        resp.set_cookie(
            PRE,
            pre,
            httponly=True,
            samesite="strict",
            secure=_st(request).settings.secure_cookies,
            max_age=1800,
        )
        return resp

    @app.post("/login", include_in_schema=False, response_class=HTMLResponse)
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf: str = Form(""),
        next: str = Form("/patients"),
    ) -> Response:
        st = _st(request)
        pre = request.cookies.get(PRE, "")
        if not pre or not same(pre, csrf):
            return _page(
                request,
                "login.html",
                400,
                pre=pre,
                next=next,
                expired=1,
                error="The form expired; please sign in again.",
            )
        with st.db.session() as s:
            user = s.scalar(select(Clinician).where(Clinician.name == username))
            ok = verify_password(user.password_hash if user else None, password)
            if user is None or not ok or not user.active:
                return _page(
                    request,
                    "login.html",
                    401,
                    pre=pre,
                    next=next,
                    expired=0,
                    error="Name or password not recognised.",
                )
            store.audit(s, user.name, "login.browser", None)
            uid, claims = user.id, accounts.token_claims(user)
        token, _ = issue_token(
            st.settings.secret_key,
            str(uid),
            "session",
            st.settings.token_minutes,
            csrf=secrets.token_urlsafe(24),
            **claims,
        )
        dest = _local_path(next)
        resp = RedirectResponse(dest, status_code=303)
        resp.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=st.settings.secure_cookies,
            max_age=st.settings.token_minutes * 60,
        )
        resp.delete_cookie(PRE)
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
        # the session ends on the server, not only in this browser: the account's token
        # version moves on (this ends its other sessions and API tokens too)
        with _st(request).db.session() as s:
            row = s.get(Clinician, user.id)
            if row is not None:
                accounts.revoke_tokens(s, row, row.name, "signed out")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # ---------------------------------------------------------------- patients
    @app.get("/patients", include_in_schema=False, response_class=HTMLResponse)
    def patients(request: Request, offset: int = 0) -> Response:
        user, csrf = _session(request)
        offset = max(offset, 0)
        with _st(request).db.session() as s:
            rows, total = store.list_patients(s, user, offset, 50)
            items = [store.patient_out(s, r) for r in rows]
        return _page(
            request, "patients.html", user=user, csrf=csrf, items=items, total=total, offset=offset
        )

    @app.get("/patients/new", include_in_schema=False, response_class=HTMLResponse)
    def new_patient(request: Request, sample: int = 0) -> Response:
        user, csrf = _session(request)
        form: dict[str, str] = {}
        if sample:
            form = {
                "age": "67",
                "sex": "female",
                "weight_kg": "72",
                "height_cm": "163",
                "conditions": "diabetic_neuropathy, insomnia, depression",
                "medications": "omeprazole",
                "cyp2d6": "*1/*41",
                "cyp2c19": "*1/*17",
                "crcl_ml_min": "52",
                "qtc_ms": "438",
                "pain_condition": "diabetic_neuropathy",
                "pain_score": "7",
                "prio_sleep": "on",
                "prio_mood": "on",
            }
        return _page(
            request,
            "new_patient.html",
            user=user,
            csrf=csrf,
            form=form,
            errors={},
            choices=_choices(),
        )

    @app.post("/patients/new", include_in_schema=False, response_class=HTMLResponse)
    async def create_patient(request: Request) -> Response:
        user, csrf = _session(request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        _check_csrf(request, form.get("csrf", ""), csrf)
        profile = _profile_from_form(form)
        try:
            _validate_profile(profile)
        except (ValidationError, NeurodoseError) as exc:
            return _page(
                request,
                "new_patient.html",
                422,
                user=user,
                csrf=csrf,
                form=form,
                errors=_errors(exc),
                choices=_choices(),
            )
        with _st(request).db.session() as s:
            rec = store.create_patient(s, user, profile)
        return RedirectResponse(f"/patients/{rec.id}", status_code=303)

    @app.get("/patients/{pid}", include_in_schema=False, response_class=HTMLResponse)
    def assessment(request: Request, pid: str) -> Response:
        user, csrf = _session(request)
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
        with _st(request).db.session() as s:
            rec = store.get_patient(s, user, pid)
            a = store.assessment(s, user, pid)
            out = store.patient_out(s, rec)
        return _page(
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

    @app.post("/patients/{pid}/start", include_in_schema=False)
    def start(
        request: Request,
        pid: str,
        drug: str = Form(""),
        start_date: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
        try:
            params = {"drug": drug, "start_date": _form_date("start_date", start_date)}
            with _st(request).db.session() as s:
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

    @app.get("/patients/{pid}/plan", include_in_schema=False, response_class=HTMLResponse)
    def plan_page(request: Request, pid: str) -> Response:
        user, csrf = _session(request)
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
        with _st(request).db.session() as s:
            rec = store.get_patient(s, user, pid)
            plan = store.current_plan(s, pid)
            reg = store.current_regimen(s, pid)
            out = store.patient_out(s, rec)
            if plan is not None:
                store.audit(s, user.name, "plan.read", pid)
            course = store.course_plan(s, pid) if reg is not None else None
        fig = None
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
        if curve is not None:
            traces: list[dict[str, Any]] = [
                {
                    "x": curve["time_d"],
                    "y": ys,
                    "name": f"{name} (expected, ng/mL)",
                    "type": "scatter",
                    "mode": "lines",
                }
                for name, ys in curve["series"].items()
            ]
            shapes = []
            if curve["tdm_range"]:
                lo, hi = curve["tdm_range"]
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": lo,
                        "y1": hi,
                        "fillcolor": "#007f3b",
                        "opacity": 0.12,
                        "line": {"width": 0},
                    }
                )
            if curve["relief_pct"]:
                traces.append(
                    {
                        "x": curve["relief_day"],
                        "y": curve["relief_pct"],
                        "name": "expected relief from the drug (%)",
                        "type": "scatter",
                        "mode": "lines",
                        "yaxis": "y2",
                        "line": {"dash": "dash", "color": "#330072"},
                    }
                )
            fig = _fig(
                traces,
                shapes=shapes,
                xaxis={"title": "days since the first dose"},
                yaxis={"title": "concentration (ng/mL)"},
                yaxis2={
                    "title": "relief (%)",
                    "overlaying": "y",
                    "side": "right",
                    "range": [0, 100],
                },
                title={
                    "text": "Expected level and relief over 12 weeks (typical for this patient)"
                },
            )
        return _page(
            request,
            "plan.html",
            status,
            user=user,
            csrf=csrf,
            p=out,
            plan=plan.plan if plan else None,
            fig=fig,
            chart_note=chart_note,
            topical=topical,
            errors=errors or {},
            form=form or {},
        )

    @app.get("/patients/{pid}/plan.ics", include_in_schema=False)
    def plan_ics(request: Request, pid: str) -> Response:
        user, _csrf = _session(request)
        return plan_ics_response(_st(request), user, pid)

    @app.post("/patients/{pid}/diary-link", include_in_schema=False)
    def make_link(request: Request, pid: str, csrf: str = Form("")) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
        st = _st(request)
        with st.db.session() as s:
            tok, _exp = store.create_diary_link(s, user, pid, st.settings.diary_link_days)
        base = (st.settings.public_url or str(request.base_url)).rstrip("/")
        return templates.TemplateResponse(request, "_link.html", {"url": f"{base}/d/{tok}"})

    @app.post("/patients/{pid}/taper", include_in_schema=False)
    def taper(
        request: Request,
        pid: str,
        method: str = Form("proportional"),
        start_date: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
        return _replan(
            request,
            user,
            token,
            pid,
            "taper",
            {"method": method, "start_date": start_date},
        )

    @app.post("/patients/{pid}/switch", include_in_schema=False)
    def switch(
        request: Request,
        pid: str,
        to: str = Form(""),
        start_date: str = Form(""),
        csrf: str = Form(""),
    ) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
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
            params["start_date"] = _form_date("start_date", fields.get("start_date", ""))
            with _st(request).db.session() as s:
                store.make_plan(s, user, pid, kind, params)
        except (NeurodoseError, store.ConflictError) as exc:
            field = getattr(exc, "field", "") or "form"
            field = {"drug": "to"}.get(str(field), str(field)) if kind == "switch" else field
            key = f"{kind}.{field}" if field in fields else f"{kind}.form"
            form = {f"{kind}.{k}": v for k, v in fields.items()}
            return _plan(request, user, csrf, pid, errors={key: str(exc)}, form=form, status=422)
        return RedirectResponse(f"/patients/{pid}/plan", status_code=303)

    @app.get("/patients/{pid}/levels", include_in_schema=False, response_class=HTMLResponse)
    def levels_page(request: Request, pid: str, target: str = "") -> Response:
        user, csrf = _session(request)
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
        with _st(request).db.session() as s:
            rec = store.get_patient(s, user, pid)
            out = store.patient_out(s, rec)
            report = None
            problem = None
            if store.current_regimen(s, pid) is not None:
                try:
                    report = store.tdm(s, user, pid, target=target or None)
                except NeurodoseError as exc:
                    problem = str(exc)
        fig = None
        if report is not None:
            traces: list[dict[str, Any]] = []
            for name, ser in report["predicted"].items():
                t = [x / 24 for x in ser["time_h"]]
                bands = [k for k in ser if k.startswith("p") and k[1:].isdigit()]
                if len(bands) == 2:
                    lo, hi = sorted(bands)
                    traces.append(
                        {
                            "x": t + t[::-1],
                            "y": ser[hi] + ser[lo][::-1],
                            "fill": "toself",
                            "name": f"{name} interval",
                            "line": {"width": 0},
                            "opacity": 0.25,
                            "type": "scatter",
                        }
                    )
                traces.append(
                    {
                        "x": t,
                        "y": ser["concentration_ng_per_ml"],
                        "type": "scatter",
                        "mode": "lines",
                        "name": f"{name} (fitted)",
                    }
                )
            for name in dict.fromkeys(lv["analyte"] for lv in report["levels"]):
                pts = [lv for lv in report["levels"] if lv["analyte"] == name]
                traces.append(
                    {
                        "x": [lv["time_h"] / 24 for lv in pts],
                        "y": [lv["value_ng_per_ml"] for lv in pts],
                        "mode": "markers",
                        "type": "scatter",
                        "name": f"{name} measured",
                        "marker": {"size": 10},
                    }
                )
            shapes = []
            rec_ = report.get("recommendation") or {}
            band = rec_.get("target") or rec_.get("target_ng_per_ml")
            if isinstance(band, list) and len(band) == 2:
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": band[0],
                        "y1": band[1],
                        "fillcolor": "#007f3b",
                        "opacity": 0.12,
                        "line": {"width": 0},
                    }
                )
            fig = _fig(
                traces,
                shapes=shapes,
                xaxis={"title": "days since the first dose"},
                yaxis={"title": "concentration (ng/mL)"},
                title={"text": "Individual fit and forecast"},
            )
        return _page(
            request,
            "levels.html",
            status,
            user=user,
            csrf=csrf,
            p=out,
            report=report,
            fig=fig,
            problem=problem,
            target=target,
            upload_error=error,
            csv_text=csv_text,
        )

    @app.post("/patients/{pid}/levels", include_in_schema=False)
    def add_levels(
        request: Request, pid: str, csv_text: str = Form(""), csrf: str = Form("")
    ) -> Response:
        user, token = _session(request)
        _check_csrf(request, csrf, token)
        try:
            rows = csv_rows(csv_text.strip() + "\n")
            with _st(request).db.session() as s:
                store.add_levels(s, user, pid, rows)
        except (NeurodoseError, store.ConflictError) as exc:
            return _levels(request, user, token, pid, error=str(exc), status=422, csv_text=csv_text)
        return RedirectResponse(f"/patients/{pid}/levels", status_code=303)

    @app.get("/patients/{pid}/diary", include_in_schema=False, response_class=HTMLResponse)
    def diary_page(request: Request, pid: str) -> Response:
        user, csrf = _session(request)
        with _st(request).db.session() as s:
            rec = store.get_patient(s, user, pid)
            out = store.patient_out(s, rec)
            entries = store.diary_entries(s, pid, user.name)
            reg = store.current_regimen(s, pid)
            report, problem = None, None
            if reg is not None and entries:
                try:
                    report = store.response(s, user, pid)
                except NeurodoseError as exc:
                    problem = str(exc)
        fig = None
        if entries:
            dates = [str(e["date"]) for e in entries]
            traces = [
                {
                    "x": dates,
                    "y": [e[k] for e in entries],
                    "name": label,
                    "type": "scatter",
                    "mode": "lines+markers",
                }
                for k, label in (
                    ("pain", "pain (0-10)"),
                    ("sleep", "sleep interference (0-10)"),
                    ("side_effects", "side effects (0-10)"),
                )
            ]
            shapes = []
            if reg is not None:
                s0 = reg.start_date
                w4, w8 = (
                    (s0 + dt.timedelta(days=28)).isoformat(),
                    (s0 + dt.timedelta(days=56)).isoformat(),
                )
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": w4,
                        "x1": w8,
                        "y0": 0,
                        "y1": 1,
                        "fillcolor": "#005eb8",
                        "opacity": 0.08,
                        "line": {"width": 0},
                    }
                )
            if report is not None:
                b = report["individual"]["baseline_pain"]
                shapes.append(
                    {
                        "type": "line",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": b * 0.7,
                        "y1": b * 0.7,
                        "line": {"dash": "dot", "color": "#425563"},
                    }
                )
            fig = _fig(
                traces,
                shapes=shapes,
                yaxis={"title": "score (0-10)", "range": [0, 10]},
                xaxis={"title": "date"},
                title={"text": "Diary (shaded: week 4-8 review; dotted: 30 % relief)"},
            )
        return _page(
            request,
            "diary.html",
            user=user,
            csrf=csrf,
            p=out,
            entries=entries,
            report=report,
            fig=fig,
            problem=problem,
            drug=reg.drug if reg else None,
            choices=_choices(),
        )

    @app.get("/patients/{pid}/audit", include_in_schema=False, response_class=HTMLResponse)
    def audit_page(request: Request, pid: str) -> Response:
        user, csrf = _session(request)
        with _st(request).db.session() as s:
            rec = store.get_patient(s, user, pid)
            out = store.patient_out(s, rec)
            trail = store.audit_trail(s, user, pid)
        return _page(request, "audit.html", user=user, csrf=csrf, p=out, trail=trail)

    @app.get("/sources/{key}", include_in_schema=False, response_class=HTMLResponse)
    def source_page(request: Request, key: str) -> Response:
        user, csrf = _session(request)
        from neurodose.errors import UnknownNameError
        from neurodose.knowledge.registry import get_reference

        try:
            ref = dict(get_reference(key))
        except UnknownNameError as exc:
            raise NotFound(f"source ({exc})") from None
        link = ref.get("URL") or (f"https://doi.org/{ref['DOI']}" if ref.get("DOI") else None)
        return _page(request, "source.html", user=user, csrf=csrf, key=key, ref=ref, link=link)

    # ---------------------------------------------------------------- patient diary
    def _diary_pid(request: Request, token: str) -> str | None:
        with _st(request).db.session() as s:
            return store.diary_patient(s, token)

    def _no_diary(request: Request) -> Response:
        """A friendly page for an unknown, revoked or expired diary link (``404``)."""
        return _page(request, "diary_gone.html", 404)

    def _diary(
        request: Request,
        token: str,
        pid: str,
        saved: str = "",
        error: str | None = None,
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        """The patient's diary; ``saved`` the id of the entry just stored (its date is
        shown), ``error`` the message of a refused entry (the form as it was sent)."""
        with _st(request).db.session() as s:
            plan = store.current_plan(s, pid)
            entries = store.diary_entries(s, pid, "diary")
        today = dt.date.today()
        done = any(e["date"] == today for e in entries)
        saved_on = next((e["date"].isoformat() for e in entries if saved and e["id"] == saved), "")
        fig = None
        if entries:
            fig = _fig(
                [
                    {
                        "x": [str(e["date"]) for e in entries],
                        "y": [e["pain"] for e in entries],
                        "name": "your pain",
                        "type": "scatter",
                        "mode": "lines+markers",
                    }
                ],
                height=260,
                yaxis={"title": "pain (0-10)", "range": [0, 10]},
                title={"text": "Your pain"},
                showlegend=False,
            )
        return _page(
            request,
            "diary_patient.html",
            status,
            token=token,
            entry_id=_uuid_or_new((form or {}).get("entry_id", "")),
            today=today.isoformat(),
            done=done,
            saved=saved_on,
            error=error,
            form=form or {},
            text=plan.patient_text if plan else None,
            fig=fig,
            n=len(entries),
        )

    @app.get("/d/{token}", include_in_schema=False, response_class=HTMLResponse)
    def diary_home(request: Request, token: str, saved: str = "") -> Response:
        pid = _diary_pid(request, token)
        if pid is None:
            return _no_diary(request)
        return _diary(request, token, pid, saved=saved)

    @app.post("/d/{token}", include_in_schema=False)
    async def diary_save(request: Request, token: str) -> Response:
        pid = _diary_pid(request, token)
        if pid is None:
            return _no_diary(request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        body: dict[str, Any] = {
            "id": form.get("entry_id", ""),
            "date": form.get("date") or dt.date.today().isoformat(),
            "pain": _num(form.get("pain", "")),
            "missed_dose": form.get("missed_dose") == "on",
            "notes": form.get("notes", ""),
        }
        for k in ("sleep", "side_effects"):
            v = _num(form.get(k, ""))
            if v is not None:
                body[k] = v
        try:
            entry = DiaryEntryIn.model_validate(body)
            with _st(request).db.session() as s:
                store.add_diary_entry(s, pid, entry.model_dump())
        except ValidationError as exc:
            e = exc.errors()[0]
            field = ".".join(str(x) for x in e["loc"])
            msg = f"{field}: {e['msg']}"
            return _diary(request, token, pid, error=msg, status=422, form=form)
        except (store.ConflictError, NeurodoseError) as exc:
            return _diary(request, token, pid, error=str(exc), status=422, form=form)
        return RedirectResponse(f"/d/{token}?saved={entry.id}", status_code=303)
