"""Drug levels of a patient: the individual fit and forecast, and the CSV upload:
``/patients/{pid}/levels``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neurodose.errors import NeurodoseError
from neurodose.service import store
from neurodose.service.api import csv_rows
from neurodose.service.pages import charts
from neurodose.service.pages.common import Posted, SignedIn, Viewer

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/patients/{pid}/levels", response_class=HTMLResponse)
def levels_page(v: SignedIn, pid: str, target: str = "", accept: str = "") -> Response:
    return _levels(v, pid, target, accept=accept == "1")


def _pct(p: float) -> str:
    return "< 1 %" if p < 0.01 else "> 99 %" if p > 0.99 else f"{round(p * 100)} %"


def recommendation_view(rec: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The dose recommendation as a clinician reads it: one sentence and a table of
    (what, value with unit) rows, from ``neurodose tdm --json``'s ``recommendation``."""
    trough = rec.get("metric", "trough") == "trough"
    key = "predicted_trough_ng_per_ml" if trough else "predicted_auc24"
    unit = "ng/mL" if trough else "ng·h/mL"
    what = "steady-state trough" if trough else "steady-state AUC24"
    lo_k = next((k for k in rec if k.startswith("p") and k[1:].isdigit() and int(k[1:]) < 50), "")
    hi_k = next((k for k in rec if k.startswith("p") and k[1:].isdigit() and int(k[1:]) > 50), "")
    level = f"{int(hi_k[1:]) - int(lo_k[1:])} %" if lo_k and hi_k else "90 %"
    tlo, thi = rec.get("target") or rec.get("target_ng_per_ml") or (None, None)
    pred, lo, hi = rec.get(key), rec.get(lo_k), rec.get(hi_k)
    dose = f"{rec['dose_mg']:g} mg every {rec.get('every_h', 24):g} h"
    chance = _pct(float(rec.get("p_in_target", 0.0)))
    if rec.get("target_reachable", True):
        sentence = (
            f"Give {dose} ({rec.get('daily_dose_mg', rec['dose_mg']):g} mg a day): the "
            f"predicted {what} is {pred:.3g} {unit} ({level} interval {lo:.3g} to "
            f"{hi:.3g}), with a {chance} chance of lying in the target {tlo:g}-{thi:g} {unit}."
        )
    else:
        sentence = (
            f"The target {tlo:g}-{thi:g} {unit} cannot be reached within the maximum daily "
            f"dose; the closest is {dose}, predicted {what} {pred:.3g} {unit} ({level} interval "
            f"{lo:.3g} to {hi:.3g}; {chance} chance in the target)."
        )
    rows = [
        ("Dose", dose),
        ("Daily dose", f"{rec.get('daily_dose_mg', rec['dose_mg']):g} mg"),
        (f"Predicted {what}", f"{pred:.3g} {unit}"),
        (f"{level} interval", f"{lo:.3g} to {hi:.3g} {unit}"),
        ("Chance in the target", chance),
        ("Target", f"{tlo:g}-{thi:g} {unit} (source: {rec.get('target_source', 'user')})"),
    ]
    if rec.get("max_daily_mg") is not None:
        rows.append(
            ("Maximum daily dose", f"{rec['max_daily_mg']:g} mg ({rec.get('max_daily_source')})")
        )
    if rec.get("strengths_mg"):
        rows.append(("Tablet strengths", ", ".join(f"{x:g}" for x in rec["strengths_mg"]) + " mg"))
    return sentence, rows


def _levels(
    v: Viewer,
    pid: str,
    target: str = "",
    error: str | None = None,
    status: int = 200,
    csv_text: str | None = None,
    accept: bool = False,
) -> Response:
    """The levels page; ``error`` (a failed upload) shown above the upload form."""
    target = target.strip()[:40]
    with v.db() as s:
        _rec, out = v.patient(s, pid)
        report = None
        problem = None
        if store.current_regimen(s, pid) is not None:
            try:
                report = store.tdm(s, v.user, pid, target=target or None, accept_levels=accept)
            except NeurodoseError as exc:
                problem = str(exc)
    return v.page(
        "levels.html",
        status,
        p=out,
        report=report,
        fig=charts.tdm_fit(report) if report is not None else None,
        problem=problem,
        target=target,
        accepted=accept,
        rec_view=recommendation_view(report["recommendation"])
        if report is not None and report.get("recommendation")
        else None,
        upload_error=error,
        csv_text=csv_text,
    )


@router.post("/patients/{pid}/levels")
def add_levels(v: Posted, pid: str, csv_text: str = Form("")) -> Response:
    try:
        rows = csv_rows(csv_text.strip() + "\n")
        with v.db() as s:
            store.add_levels(s, v.user, pid, rows)
    except (NeurodoseError, store.ConflictError) as exc:
        return _levels(v, pid, error=str(exc), status=422, csv_text=csv_text)
    return RedirectResponse(f"/patients/{pid}/levels", status_code=303)
