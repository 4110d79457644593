"""The store: SQLAlchemy 2 models (schema changes go through Alembic migrations).

Tables: ``clinicians`` (accounts), ``patients`` (pseudonymous id, the ``assess``
profile), ``regimens`` (history; the current one has ``ended_at`` NULL),
``plans`` (titration, taper and switch plans as the library's plan JSON),
``levels`` (drug levels as the ``tdm`` CSV rows), ``diary_links`` (hashed
patient tokens), ``diary_entries`` (client UUIDs), ``audit`` (who read or
changed which patient, when), ``trial_jobs``, ``login_throttle`` (failed
sign-ins per client address and per account name, and their lockouts) and the SMART
launch tables ``smart_launches``, ``smart_user_links``, ``smart_patient_links``
(``service/smart.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditEvent",
    "Base",
    "Clinician",
    "DiaryEntry",
    "DiaryLink",
    "Level",
    "LoginThrottle",
    "PatientRecord",
    "PlanRecord",
    "RegimenRecord",
    "SmartLaunch",
    "SmartPatientLink",
    "SmartUserLink",
    "TrialJob",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Now, UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class _PatientRecordMixin:
    """The columns of a row a clinician wrote about one patient: ``id``, ``patient_id``
    (indexed), ``created_by``, ``created_at`` (in that place in the table: the ids
    first, the authorship after the table's own columns)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True, sort_order=-1)
    created_by: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), sort_order=1)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, sort_order=1
    )


class Clinician(Base):
    """An account: a clinician or an admin of one clinic."""

    __tablename__ = "clinicians"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    clinic: Mapped[str] = mapped_column(String(80), default="default")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: every token carries it; disable, remove, a password reset and sign-out move it on
    token_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: set when the account is removed (the row stays: ids are never reused)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PatientRecord(Base):
    """A patient: pseudonymous id, owning clinic and the ``assess`` profile (JSON)."""

    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clinic: Mapped[str] = mapped_column(String(80), index=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanRecord(_PatientRecordMixin, Base):
    """A plan made for a patient: the request (``params``) and the library's plan JSON."""

    __tablename__ = "plans"
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    patient_text: Mapped[str] = mapped_column(Text, default="")


class RegimenRecord(_PatientRecordMixin, Base):
    """A drug course: drug, first day, the plan it follows; current while ``ended_at`` is NULL."""

    __tablename__ = "regimens"
    drug: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, sort_order=2
    )


class Level(_PatientRecordMixin, Base):
    """One measured drug level: a row of the ``tdm`` levels CSV (strings, as given)."""

    __tablename__ = "levels"
    row: Mapped[dict[str, Any]] = mapped_column(JSON)


class DiaryLink(_PatientRecordMixin, Base):
    """A patient's diary link; only the SHA-256 of the token is stored."""

    __tablename__ = "diary_links"
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DiaryEntry(Base):
    """One day of the pain diary; ``id`` is the client's UUID (idempotent writes)."""

    __tablename__ = "diary_entries"
    __table_args__ = (UniqueConstraint("patient_id", "date", name="uq_diary_patient_date"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    pain: Mapped[float] = mapped_column(Float)
    sleep: Mapped[float | None] = mapped_column(Float, nullable=True)
    side_effects: Mapped[float | None] = mapped_column(Float, nullable=True)
    dose_mg: Mapped[float | None] = mapped_column(Float, nullable=True)
    missed_dose: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Who read or changed which patient, when (never the data itself)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_patient_at", "patient_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str] = mapped_column(String(255), default="")


class TrialJob(Base):
    """A virtual trial run in the background: state, progress 0-1, result JSON."""

    __tablename__ = "trial_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    design: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginThrottle(Base):
    """Failed sign-ins of one client address or one account name in the current
    window, and the lockout they earned (``service/login.py``). Kept in the database
    so every worker process sees the same counts. Times are Unix seconds."""

    __tablename__ = "login_throttle"
    #: ``a:<address>`` or ``u:<SHA-256 of the name as typed>`` (never the name itself)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[float] = mapped_column(Float, index=True)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)


class SmartLaunch(Base):
    """One SMART App Launch in progress (``service/smart.py``): kept in the database so
    that the worker answering the callback knows the launch another worker began.
    Times are Unix seconds; only hashes of the ``state`` and of the browser's binding
    cookie are kept."""

    __tablename__ = "smart_launches"
    #: SHA-256 of the ``state`` sent to the authorization server
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the launch cookie of the browser that began it
    browser_sha256: Mapped[str] = mapped_column(String(64), index=True)
    iss: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    token_endpoint: Mapped[str] = mapped_column(String(1000))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    #: the PKCE ``code_verifier`` (RFC 7636), sent once, to the token endpoint
    verifier: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    #: when the callback took this state (a second callback with it is refused)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: the token response's context: ``patient``, ``fhirUser``, the access token
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: when the launch reached a clinic page (the access token is then forgotten)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SmartUserLink(Base):
    """An EHR user (``fhirUser`` of an issuer) linked to a clinic account."""

    __tablename__ = "smart_user_links"
    __table_args__ = (UniqueConstraint("iss", "fhir_user", name="uq_smart_user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iss: Mapped[str] = mapped_column(String(500))
    fhir_user: Mapped[str] = mapped_column(String(500))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SmartPatientLink(Base):
    """An EHR patient (its id at an issuer) linked to a clinic patient of one clinic."""

    __tablename__ = "smart_patient_links"
    __table_args__ = (UniqueConstraint("iss", "ehr_patient", "clinic", name="uq_smart_patient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iss: Mapped[str] = mapped_column(String(500))
    ehr_patient: Mapped[str] = mapped_column(String(200))
    clinic: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
