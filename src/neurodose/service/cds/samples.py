"""The sample patients of ``examples/cds`` as an EHR would send them: FHIR resources,
a draft order and the expected cards, dates shifted to today. Read by the
``/ehr-demo`` page and by the conformance kit (:mod:`neurodose.testing.cds`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Sample", "bundle", "load_samples", "prefetch_for", "shift_dates"]

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")


def shift_dates(obj: Any, days: int) -> Any:
    """A copy of ``obj`` with every ISO date (and date-time) moved by ``days``."""
    if isinstance(obj, dict):
        return {k: shift_dates(v, days) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shift_dates(v, days) for v in obj]
    if isinstance(obj, str):
        m = _DATE.match(obj)
        if m:
            try:
                d = dt.date.fromisoformat(m.group(1)) + dt.timedelta(days=days)
            except ValueError:
                return obj
            return d.isoformat() + m.group(2)
    return obj


@dataclass(frozen=True)
class Sample:
    """One sample patient: bundle, draft order, expectations (dates shifted to today)."""

    name: str
    patient_id: str
    resources: list[dict[str, Any]]
    order: dict[str, Any]
    expect_rules: tuple[str, ...]
    expect_indicator: str


def load_samples(directory: str | Path, today: dt.date | None = None) -> list[Sample]:
    """The sample files of ``directory`` (examples/cds), dates shifted to ``today``."""
    today = today or dt.date.today()
    out = []
    for f in sorted(Path(directory).glob("*.json")):
        raw = json.loads(f.read_text(encoding="utf-8"))
        ref = dt.date.fromisoformat(raw.get("reference_date", today.isoformat()))
        delta = (today - ref).days
        pat = shift_dates(raw["patient"], delta)
        res = [e["resource"] for e in pat["entry"]]
        pid = next(r["id"] for r in res if r["resourceType"] == "Patient")
        # birth dates keep the age the sample was written for
        for r in res:
            if r["resourceType"] == "Patient":
                born = dt.date.fromisoformat(r["birthDate"])
                r["birthDate"] = born.isoformat()
        out.append(
            Sample(
                name=f.stem,
                patient_id=pid,
                resources=res,
                order=shift_dates(raw["order"], delta),
                expect_rules=tuple(raw["expect"]["rules"]),
                expect_indicator=raw["expect"]["indicator"],
            )
        )
    return out


def bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    """A FHIR Bundle of ``resources``."""
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def prefetch_for(sample: Sample) -> dict[str, Any]:
    """The full prefetch an EHR would send for ``sample`` (keys as in discovery)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in sample.resources:
        by.setdefault(r["resourceType"], []).append(r)
    meds = by.get("MedicationRequest", [])
    active = [m for m in meds if m.get("status") in ("active", "on-hold")]
    past = [m for m in meds if m.get("status") in ("stopped", "completed")]
    return {
        "patient": by["Patient"][0],
        "medications": bundle(active),
        "recentMedications": bundle(past) if past else None,
        "conditions": bundle(by.get("Condition", [])),
        "observations": bundle(by.get("Observation", [])),
        "allergies": None,
    }
