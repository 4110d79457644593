"""The patient list and the new-patient form: ``/patients``, ``/patients/new``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neurodose.errors import NeurodoseError
from neurodose.service import library, store
from neurodose.service.pages.common import check_csrf, choices, num, page, session, state
from neurodose.service.problems import input_error

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: the form ``/patients/new?sample=1`` opens with (a worked example)
_SAMPLE_FORM = {
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


def _csv_list(text: str) -> list[str]:
    """The non-empty, trimmed items of a comma-separated form field."""
    return [x.strip() for x in text.split(",") if x.strip()]


def _numbers(f: dict[str, str], keys: tuple[str, ...]) -> dict[str, Any]:
    """The form's numeric fields among ``keys`` that were filled in."""
    vals = {k: num(f.get(k, "")) for k in keys}
    return {k: v for k, v in vals.items() if v is not None}


def _pain_from_form(f: dict[str, str]) -> dict[str, Any] | None:
    """The profile's ``pain`` block (condition and optional score); None without a condition."""
    if not f.get("pain_condition", "").strip():
        return None
    pain: dict[str, Any] = {"condition": f["pain_condition"].strip()}
    score = num(f.get("pain_score", ""))
    if score is not None:
        pain["score"] = score
    return pain


def _profile_from_form(f: dict[str, str]) -> dict[str, Any]:
    """The ``assess`` profile from the new-patient form (empty fields left out)."""
    p: dict[str, Any] = {"age": num(f.get("age", ""))}
    if f.get("sex"):
        p["sex"] = f["sex"]
    p.update(_numbers(f, ("weight_kg", "height_cm")))
    optional: dict[str, Any] = {
        "conditions": _csv_list(f.get("conditions", "")),
        "medications": _csv_list(f.get("medications", "")),
        "genotypes": {
            g: f[k].strip()
            for g, k in (("CYP2D6", "cyp2d6"), ("CYP2C19", "cyp2c19"))
            if f.get(k, "").strip()
        },
        "labs": _numbers(f, ("crcl_ml_min", "egfr", "qtc_ms")),
        "pain": _pain_from_form(f),
        "priorities": [x for x in ("sleep", "mood", "anxiety", "pain") if f.get(f"prio_{x}")],
    }
    p.update({k: v for k, v in optional.items() if v})
    return p


def _validate_profile(p: dict[str, Any]) -> dict[str, Any]:
    from neurodose.case import PatientIn

    PatientIn.model_validate(p)
    library.profile_patient(p)
    return p


@router.get("/patients", response_class=HTMLResponse)
def patients(request: Request, offset: int = 0) -> Response:
    user, csrf = session(request)
    offset = max(offset, 0)
    with state(request).db.session() as s:
        rows, total = store.list_patients(s, user, offset, 50)
        items = [store.patient_out(s, r) for r in rows]
    return page(
        request, "patients.html", user=user, csrf=csrf, items=items, total=total, offset=offset
    )


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, sample: int = 0) -> Response:
    user, csrf = session(request)
    form: dict[str, str] = dict(_SAMPLE_FORM) if sample else {}
    return page(
        request,
        "new_patient.html",
        user=user,
        csrf=csrf,
        form=form,
        errors={},
        choices=choices(),
    )


@router.post("/patients/new", response_class=HTMLResponse)
async def create_patient(request: Request) -> Response:
    user, csrf = session(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""), csrf)
    profile = _profile_from_form(form)
    try:
        _validate_profile(profile)
    except (ValidationError, NeurodoseError) as exc:
        return page(
            request,
            "new_patient.html",
            422,
            user=user,
            csrf=csrf,
            form=form,
            errors=_errors(exc),
            choices=choices(),
        )
    with state(request).db.session() as s:
        rec = store.create_patient(s, user, profile)
    return RedirectResponse(f"/patients/{rec.id}", status_code=303)
