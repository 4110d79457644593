"""Store operations shared by the API and the pages: one function per action.

Every function takes an open session (one transaction), checks that the caller
may see the record (another clinic's patient is :class:`NotFound`), writes an
audit event for every read or change of a patient, and returns ORM rows or the
library's JSON. No clinical logic: plans, reports and checks come from
:mod:`neurodose.service.library`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neurodose.errors import InputError
from neurodose.limits import plan_date
from neurodose.service import library
from neurodose.service.models import (
    AuditEvent,
    Clinician,
    DiaryEntry,
    DiaryLink,
    Level,
    PatientRecord,
    PlanRecord,
    RegimenRecord,
    utcnow,
)
from neurodose.service.problems import NotFound
from neurodose.service.security import hash_password, new_diary_token, sha256

__all__ = [
    "ConflictError",
    "NoRegimenError",
    "add_diary_entry",
    "add_levels",
    "add_user",
    "assessment",
    "audit",
    "audit_trail",
    "course_plan",
    "create_diary_link",
    "create_patient",
    "current_plan",
    "current_regimen",
    "diary_entries",
    "diary_patient",
    "entry_dict",
    "get_patient",
    "list_patients",
    "make_plan",
    "patient_out",
    "response",
    "revoke_diary_links",
    "tdm",
    "today",
    "update_patient",
]

ROLES = ("clinician", "admin")


class ConflictError(Exception):
    """A write that conflicts with what is stored (HTTP ``409``)."""


class NoRegimenError(ConflictError):
    """The patient has no current regimen (start a drug first)."""


def today() -> dt.date:
    """Today's date in the server's time zone (the clinic's)."""
    return dt.date.today()


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


# ------------------------------------------------------------------ accounts, audit
def add_user(s: Session, name: str, role: str, password: str, clinic: str = "default") -> Clinician:
    """Create an account (Argon2id hash); a taken name or bad role is an InputError."""
    if role not in ROLES:
        raise InputError("role", role, "clinician or admin")
    if not name or len(name) > 80 or not name.replace("_", "").replace(".", "").isalnum():
        raise InputError("name", name, "1-80 letters, digits, '.' or '_'")
    from neurodose.service.accounts import check_password, first_version

    check_password(password)
    if s.scalar(select(Clinician).where(Clinician.name == name)) is not None:
        raise InputError("name", name, "a name not already taken")
    user = Clinician(
        name=name,
        role=role,
        clinic=clinic,
        password_hash=hash_password(password),
        token_version=first_version(),
    )
    s.add(user)
    s.flush()
    return user


#: actions that only read: their audit rows wait for the next write transaction (or a
#: background flush, at most 0.2 s later) instead of making the read a write with a sync
READ_ACTIONS = (".read", ".list", ".ics")


def audit(s: Session, actor: str, action: str, patient_id: str | None, detail: str = "") -> None:
    """Record who did what to which patient (no patient data in ``detail``). A change is
    audited in its own transaction; a read is stamped now and written in a batch
    (:class:`neurodose.service.store_commit.AuditBuffer`)."""
    row = {
        "actor": actor,
        "action": action,
        "patient_id": patient_id,
        "detail": detail[:255],
        "at": utcnow(),
    }
    db = s.info.get("db")
    if db is not None and action.endswith(READ_ACTIONS):
        db.audit.post(row)
    else:
        s.add(AuditEvent(**row))


def audit_trail(s: Session, user: Clinician, pid: str, limit: int = 200) -> list[dict[str, Any]]:
    """The patient's audit events, newest first (the reads waiting in the batch included)."""
    db = s.info.get("db")
    if db is not None:
        db.audit.flush()
    get_patient(s, user, pid)
    rows = s.scalars(
        select(AuditEvent)
        .where(AuditEvent.patient_id == pid)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        {"at": _aware(r.at).isoformat(), "actor": r.actor, "action": r.action, "detail": r.detail}
        for r in rows
    ]


# ------------------------------------------------------------------ patients
def get_patient(s: Session, user: Clinician, pid: str) -> PatientRecord:
    """The patient ``pid`` of the user's clinic, else :class:`NotFound`."""
    rec = s.get(PatientRecord, pid)
    if rec is None or rec.clinic != user.clinic:
        raise NotFound("patient")
    return rec


def create_patient(
    s: Session, user: Clinician, profile: Mapping[str, Any], *, strict: bool = False
) -> PatientRecord:
    """Validate the ``assess`` profile with the library and store it under a new id."""
    library.profile_patient(profile, strict=strict)
    rec = PatientRecord(
        id="p" + secrets.token_hex(8),
        clinic=user.clinic,
        profile=dict(profile),
        created_by=user.id,
    )
    s.add(rec)
    s.flush()
    audit(s, user.name, "patient.create", rec.id)
    return rec


def update_patient(
    s: Session, user: Clinician, pid: str, profile: Mapping[str, Any]
) -> PatientRecord:
    """Replace the profile (validated as on create)."""
    rec = get_patient(s, user, pid)
    library.profile_patient(profile)
    rec.profile = dict(profile)
    rec.updated_at = utcnow()
    audit(s, user.name, "patient.update", pid)
    return rec


def current_regimen(s: Session, pid: str) -> RegimenRecord | None:
    """The patient's current drug course, if any."""
    return s.scalar(
        select(RegimenRecord)
        .where(RegimenRecord.patient_id == pid, RegimenRecord.ended_at.is_(None))
        .order_by(RegimenRecord.id.desc())
    )


def current_plan(s: Session, pid: str) -> PlanRecord | None:
    """The newest plan of the patient."""
    return s.scalar(
        select(PlanRecord).where(PlanRecord.patient_id == pid).order_by(PlanRecord.id.desc())
    )


def read_plan(s: Session, actor: str, pid: str, action: str) -> PlanRecord:
    """The newest plan of the patient, its reading audited as ``action`` by ``actor``;
    :class:`NotFound` when the patient has none. The caller checks access to ``pid``."""
    plan = current_plan(s, pid)
    if plan is None:
        raise NotFound("plan")
    audit(s, actor, action, pid)
    return plan


def _flags(s: Session, rec: PatientRecord) -> tuple[bool, bool]:
    """(review due, level due) of the newest plan and the current course
    (:func:`neurodose.advice.review.review_status`: a review date of the plan has come
    and is not before the day it was made; a level for a drug with a TDM range and
    none since the course started)."""
    from neurodose.advice.plans import Plan
    from neurodose.advice.review import Course, review_status

    plan = current_plan(s, rec.id)
    if plan is None:
        return False, False
    reg = current_regimen(s, rec.id)
    n = 0
    if reg is not None:
        n = (
            s.scalar(
                select(func.count(Level.id)).where(
                    Level.patient_id == rec.id, Level.created_at >= reg.created_at
                )
            )
            or 0
        )
    course = Course(
        drug=reg.drug if reg is not None else plan.plan["drugs"][0],
        start_date=reg.start_date if reg is not None else None,
        plan=Plan.from_dict(plan.plan),
        planned_on=_aware(plan.created_at).date(),
        levels_since_start=n,
    )
    status = review_status(course, today())
    return status.review_due, status.level_due and reg is not None


def patient_out(s: Session, rec: PatientRecord) -> dict[str, Any]:
    """The API view of a patient (profile, current drug, list flags)."""
    reg = current_regimen(s, rec.id)
    review, level = _flags(s, rec)
    return {
        "id": rec.id,
        "profile": rec.profile,
        "current_drug": reg.drug if reg else None,
        "regimen_start": reg.start_date if reg else None,
        "review_due": review,
        "level_due": level,
        "created_at": _aware(rec.created_at),
        "updated_at": _aware(rec.updated_at),
    }


def list_patients(
    s: Session, user: Clinician, offset: int, limit: int
) -> tuple[list[PatientRecord], int]:
    """One page of the clinic's patients (newest first) and the total."""
    q = select(PatientRecord).where(PatientRecord.clinic == user.clinic)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(
        s.scalars(
            q.order_by(PatientRecord.created_at.desc(), PatientRecord.id)
            .offset(offset)
            .limit(limit)
        )
    )
    audit(s, user.name, "patient.list", None, f"{len(rows)} patients")
    return rows, total


def assessment(s: Session, user: Clinician, pid: str) -> dict[str, Any]:
    """``neurodose assess --json`` of the stored profile, plans from today."""
    rec = get_patient(s, user, pid)
    audit(s, user.name, "assessment.read", pid)
    return library.assessment(rec.profile, today())


# ------------------------------------------------------------------ plans, regimens
def make_plan(
    s: Session, user: Clinician, pid: str, kind: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Make and store a titration (starts a drug), taper or switch plan.

    ``params`` as :func:`neurodose.service.library.make_plan` takes them; ``drug``
    and ``current_daily_mg`` of a taper or switch default to the current regimen's
    drug and the plan's current daily dose.
    """
    rec = get_patient(s, user, pid)
    p: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
    p["kind"] = kind
    p["start_date"] = plan_date(p.get("start_date") or today(), "start_date").isoformat()
    reg = current_regimen(s, pid)
    if kind in ("taper", "switch"):
        if reg is None and not p.get("drug"):
            raise NoRegimenError("the patient has no current drug: start one, or name the drug")
        p.setdefault("drug", reg.drug if reg else None)
        if "current_daily_mg" not in p:
            plan = current_plan(s, pid)
            if plan is None or reg is None:
                raise InputError("current_daily_mg", None, "the current daily dose, mg/day")
            from neurodose.advice.plans import Plan

            when = dt.date.fromisoformat(p["start_date"])
            step = Plan.from_dict(plan.plan).step_on(p["drug"], when)
            if step is None:
                raise InputError("current_daily_mg", None, "the current daily dose, mg/day")
            p["current_daily_mg"] = step.daily_mg
    data = library.make_plan(rec.profile, p)
    row = PlanRecord(
        patient_id=pid,
        kind=kind,
        params=p,
        plan=data,
        patient_text=data.get("patient_text", ""),
        created_by=user.id,
    )
    s.add(row)
    s.flush()
    new_drug = data["drugs"][-1] if kind != "taper" else None
    if reg is not None:
        reg.ended_at = utcnow()
    if new_drug is not None:
        first = next(st for st in data["steps"] if st["drug"] == new_drug)
        s.add(
            RegimenRecord(
                patient_id=pid,
                drug=new_drug,
                start_date=dt.date.fromisoformat(first["date"]),
                plan_id=row.id,
                created_by=user.id,
            )
        )
    elif reg is not None:  # a taper keeps the course, now following the taper plan
        s.add(
            RegimenRecord(
                patient_id=pid,
                drug=reg.drug,
                start_date=reg.start_date,
                plan_id=row.id,
                created_by=user.id,
            )
        )
    audit(s, user.name, f"plan.{kind}", pid, p["drug"])
    return data


def _course(s: Session, pid: str) -> tuple[RegimenRecord, dict[str, Any]]:
    """The current regimen and the whole dosing history of its drug as one plan
    (:func:`neurodose.advice.plans.join_course` of the stored plans, as JSON)."""
    from neurodose.advice.plans import Plan, join_course

    reg = current_regimen(s, pid)
    if reg is None:
        raise NoRegimenError("the patient has no current drug: POST /patients/{id}/regimen first")
    plans = s.scalars(
        select(PlanRecord).where(PlanRecord.patient_id == pid).order_by(PlanRecord.id)
    )
    course = join_course([Plan.from_dict(pl.plan) for pl in plans], reg.drug, reg.start_date)
    return reg, course.to_dict()


def course_plan(s: Session, pid: str) -> dict[str, Any]:
    """The current drug's dosing history as one plan (see :func:`_course`)."""
    return _course(s, pid)[1]


def add_levels(
    s: Session, user: Clinician, pid: str, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Validate level rows as ``tdm`` reads them and store them."""
    rec = get_patient(s, user, pid)
    reg, plan = _course(s, pid)
    clean = [{k: v for k, v in r.items() if v is not None} for r in rows]
    library.level_observations(rec.profile, reg.drug, plan, clean).check_after(0.0)
    for r in clean:
        s.add(Level(patient_id=pid, row=r, created_by=user.id))
    audit(s, user.name, "levels.add", pid, f"{len(clean)} rows")
    return clean


def _levels(s: Session, pid: str, since: dt.date) -> list[dict[str, Any]]:
    rows = s.scalars(select(Level).where(Level.patient_id == pid).order_by(Level.id))
    return [r.row for r in rows]


def tdm(
    s: Session, user: Clinician, pid: str, target: str | None = None, accept_levels: bool = False
) -> dict[str, Any]:
    """``neurodose tdm --json`` for the stored course, diary (doses taken) and levels
    (``target`` "LOW-HIGH" ng/mL: without it no dose is recommended for a pain dose, see
    ``library.tdm_report``; ``accept_levels``: recommend despite a level far off)."""
    rec = get_patient(s, user, pid)
    reg, plan = _course(s, pid)
    levels = _levels(s, pid, reg.start_date)
    entries = [entry_dict(e) for e in _entries(s, pid)]
    audit(s, user.name, "tdm.read", pid)
    return library.tdm_report(
        rec.profile,
        reg.drug,
        plan,
        levels,
        max(today(), reg.start_date),
        target=target,
        entries=entries,
        accept_levels=accept_levels,
    )


def response(s: Session, user: Clinician, pid: str) -> dict[str, Any]:
    """``neurodose response --json`` from the stored diary, course and levels."""
    rec = get_patient(s, user, pid)
    reg, plan = _course(s, pid)
    entries = [entry_dict(e) for e in _entries(s, pid)]
    levels = _levels(s, pid, reg.start_date)
    audit(s, user.name, "response.read", pid)
    return library.response_report(rec.profile, reg.drug, plan, entries, levels)


# ------------------------------------------------------------------ diary
def create_diary_link(s: Session, user: Clinician, pid: str, days: int) -> tuple[str, dt.datetime]:
    """A new random diary token for the patient (stored hashed) and its expiry."""
    get_patient(s, user, pid)
    token = new_diary_token()
    expires = utcnow() + dt.timedelta(days=days)
    s.add(
        DiaryLink(
            patient_id=pid, token_sha256=sha256(token), expires_at=expires, created_by=user.id
        )
    )
    audit(s, user.name, "diary_link.create", pid)
    return token, expires


def revoke_diary_links(s: Session, user: Clinician, pid: str) -> int:
    """Revoke every live diary link of the patient; returns how many."""
    get_patient(s, user, pid)
    n = 0
    for link in s.scalars(
        select(DiaryLink).where(DiaryLink.patient_id == pid, DiaryLink.revoked_at.is_(None))
    ):
        link.revoked_at = utcnow()
        n += 1
    audit(s, user.name, "diary_link.revoke", pid, f"{n} links")
    return n


def diary_patient(s: Session, token: str) -> str | None:
    """The patient id of a live diary token, else ``None``."""
    if not token or len(token) > 128:
        return None
    link = s.scalar(select(DiaryLink).where(DiaryLink.token_sha256 == sha256(token)))
    if link is None or link.revoked_at is not None or _aware(link.expires_at) <= utcnow():
        return None
    return link.patient_id


def entry_dict(e: DiaryEntry) -> dict[str, Any]:
    """The API view of a diary entry."""
    return {
        "id": e.id,
        "date": e.date,
        "pain": e.pain,
        "sleep": e.sleep,
        "side_effects": e.side_effects,
        "dose_mg": e.dose_mg,
        "notes": e.notes,
        "missed_dose": e.missed_dose,
    }


def _entries(s: Session, pid: str) -> list[DiaryEntry]:
    return list(
        s.scalars(select(DiaryEntry).where(DiaryEntry.patient_id == pid).order_by(DiaryEntry.date))
    )


def diary_entries(s: Session, pid: str, actor: str) -> list[dict[str, Any]]:
    """The patient's diary, oldest first."""
    audit(s, actor, "diary.read", pid)
    return [entry_dict(e) for e in _entries(s, pid)]


def add_diary_entry(s: Session, pid: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Store an entry (``(entry, True)``), or return the stored one for a replay
    (``(entry, False)``). Another body under the same id, or a second entry for the
    same date, is a :class:`ConflictError`. The caller commits."""
    eid = str(body["id"])
    date = body["date"]
    if date > today() + dt.timedelta(days=1):
        raise InputError("date", date.isoformat(), "today or an earlier date")
    old = s.get(DiaryEntry, eid)
    if old is not None:
        return _replay(old, pid, body)
    entry = DiaryEntry(
        id=eid,
        patient_id=pid,
        date=date,
        pain=float(body["pain"]),
        sleep=body.get("sleep"),
        side_effects=body.get("side_effects"),
        dose_mg=body.get("dose_mg"),
        missed_dose=bool(body.get("missed_dose", False)),
        notes=body.get("notes") or "",
    )
    try:
        with s.begin_nested():
            s.add(entry)
            s.flush()
    except IntegrityError:
        old = s.get(DiaryEntry, eid)
        if old is not None:
            return _replay(old, pid, body)
        raise ConflictError(f"there is already an entry for {date.isoformat()}") from None
    audit(s, "diary", "diary.add", pid)
    return entry_dict(entry), True


def _replay(old: DiaryEntry, pid: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    stored = entry_dict(old)
    new = {**stored, **{k: body.get(k) for k in stored if k != "id"}}
    new["notes"] = new["notes"] or ""
    new["missed_dose"] = bool(new["missed_dose"])
    if old.patient_id != pid or new != stored:
        raise ConflictError("an entry with this id exists with other content")
    return stored, False
