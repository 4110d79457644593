"""The patient's own diary: ``/d/{token}`` (the diary link; no account, no cookie).
An unknown, revoked or expired link is a friendly ``404`` page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.pages import charts
from neurodose.service.pages.common import num, page, state
from neurodose.service.schemas import DiaryEntryIn

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _uuid_or_new(text: str) -> str:
    """``text`` if it is a UUID (a form sent again keeps its entry id), else a new one."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid4())


def _diary_pid(request: Request, token: str) -> str | None:
    with state(request).db.session() as s:
        return store.diary_patient(s, token)


def _no_diary(request: Request) -> Response:
    """A friendly page for an unknown, revoked or expired diary link (``404``)."""
    return page(request, "diary_gone.html", 404)


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
    with state(request).db.session() as s:
        plan = store.current_plan(s, pid)
        entries = store.diary_entries(s, pid, "diary")
    today = dt.date.today()
    done = any(e["date"] == today for e in entries)
    saved_on = next((e["date"].isoformat() for e in entries if saved and e["id"] == saved), "")
    return page(
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
        fig=charts.patient_pain(entries) if entries else None,
        n=len(entries),
    )


@router.get("/d/{token}", response_class=HTMLResponse)
def diary_home(request: Request, token: str, saved: str = "") -> Response:
    pid = _diary_pid(request, token)
    if pid is None:
        return _no_diary(request)
    return _diary(request, token, pid, saved=saved)


@router.post("/d/{token}")
async def diary_save(request: Request, token: str) -> Response:
    pid = _diary_pid(request, token)
    if pid is None:
        return _no_diary(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    body: dict[str, Any] = {
        "id": form.get("entry_id", ""),
        "date": form.get("date") or dt.date.today().isoformat(),
        "pain": num(form.get("pain", "")),
        "missed_dose": form.get("missed_dose") == "on",
        "notes": form.get("notes", ""),
    }
    for k in ("sleep", "side_effects"):
        v = num(form.get(k, ""))
        if v is not None:
            body[k] = v
    try:
        entry = DiaryEntryIn.model_validate(body)
        with state(request).db.session() as s:
            store.add_diary_entry(s, pid, entry.model_dump())
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(x) for x in e["loc"])
        msg = f"{field}: {e['msg']}"
        return _diary(request, token, pid, error=msg, status=422, form=form)
    except (store.ConflictError, NeurodoseError) as exc:
        return _diary(request, token, pid, error=str(exc), status=422, form=form)
    return RedirectResponse(f"/d/{token}?saved={entry.id}", status_code=303)
