"""Plan data for advice: the cited values of ``knowledge/plans.toml``
(:func:`neurodose.knowledge.plans.plan_data`: review points, taper steps, switch gaps,
titration fill-ins for what a drug record lacks, ranking evidence fall-backs) and
marketed strengths from the drug records.

>>> review("response_fraction").value
0.3
>>> dose_guidance("amitriptyline")["start"].value
10.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from neurodose.errors import UnknownNameError
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.plans import plan_data
from neurodose.knowledge.schema import PlanSchedule, Quantity

__all__ = [
    "Strength",
    "dose_guidance",
    "evidence_fallback",
    "review",
    "schedule_info",
    "strengths",
    "switch_gap",
    "taper_value",
]

_DOSE_KEYS = ("start", "titration_step", "titration_interval", "usual_low", "maximum")
_INFO_KEYS = ("time_of_day", "doses_per_day", "unit_kind", "repeat_days")


@cache
def _data() -> dict[str, Any]:
    d = plan_data()
    titration = {
        drug: {
            "info": {k: getattr(t, k) for k in _INFO_KEYS if getattr(t, k) is not None},
            "meta": t,
            "doses": {k: getattr(t, k) for k in _DOSE_KEYS if getattr(t, k) is not None},
        }
        for drug, t in d.titration.items()
    }
    evidence = {drug: {"nnt": e.nnt, "nnh": e.nnh, "meta": e} for drug, e in d.evidence.items()}
    return {
        "reviews": d.reviews,
        "taper": d.taper,
        "switch": d.switch,
        "titration": titration,
        "evidence": evidence,
    }


def review(name: str) -> Quantity:
    """A cited review point (tolerability, effect, effect_tca, response_fraction).

    Unknown names raise with close matches.
    """
    d = _data()["reviews"]
    if name not in d:
        raise UnknownNameError("review point", name, d)
    return d[name]


def taper_value(name: str) -> Quantity:
    """A cited taper parameter (``large_step_fraction``, ``step_interval`` ...)."""
    d = _data()["taper"]
    if name not in d:
        raise UnknownNameError("taper parameter", name, d)
    return d[name]


def switch_gap(name: str) -> Quantity:
    """A cited switch gap in days (``maoi_after_tca``, ``fluoxetine_washout`` ...)."""
    d = _data()["switch"]
    if name not in d:
        raise UnknownNameError("switch gap", name, d)
    return d[name]


def schedule_info(drug: str) -> tuple[dict[str, Any], PlanSchedule | None]:
    """``(info, schedule)``: time of day, doses per day (and the cited schedule) for
    ``drug``."""
    t = _data()["titration"].get(resolve_name(drug))
    if t is None:
        return {"time_of_day": "as directed", "doses_per_day": 1}, None
    return dict(t["info"]), t["meta"]


def dose_guidance(drug: str) -> dict[str, Quantity]:
    """Neuropathic-pain dose guidance: the record's values, gaps filled from
    ``knowledge/plans.toml``."""
    name = resolve_name(drug)
    rec = record(name)
    out: dict[str, Quantity] = {}
    g = rec.doses.get("neuropathic_pain")
    if g is not None:
        for k in _DOSE_KEYS:
            q = getattr(g, k)
            if q is not None:
                out[k] = q
    fill = _data()["titration"].get(name, {}).get("doses", {})
    for k, q in fill.items():
        out.setdefault(k, q)
    return out


def evidence_fallback(drug: str) -> dict[str, Any] | None:
    """NNT/NNH for ranking where the drug record has none (cited)."""
    return _data()["evidence"].get(resolve_name(drug))


@dataclass(frozen=True)
class Strength:
    """A marketed strength from the RxNorm SCD identifiers in the drug record."""

    mg: float
    form: str  # "solid" or "liquid"
    per_ml: bool
    display: str
    rxcui: str
    source: str


_SCD = re.compile(r"(\d+(?:\.\d+)?)\s*MG(\s*/\s*ML)?", re.IGNORECASE)


def strengths(drug: str) -> list[Strength]:
    """Marketed strengths (RxNorm SCDs in the record), modified-release preferred where present.

    >>> [s.mg for s in strengths("amitriptyline")][:3]
    [10.0, 25.0, 50.0]
    """
    return list(_strengths(resolve_name(drug)))


@cache
def _strengths(name: str) -> tuple[Strength, ...]:
    rec = record(name)
    out: list[Strength] = []
    for ident in rec.identifiers:
        if ident.system != "RxNorm-SCD" or not ident.display:
            continue
        m = _SCD.search(ident.display)
        if not m:
            continue
        per_ml = bool(m.group(2))
        low = ident.display.lower()
        form = "liquid" if per_ml or "solution" in low else "solid"
        out.append(
            Strength(float(m.group(1)), form, per_ml, ident.display, ident.code, ident.source)
        )
    er = [s for s in out if "extended release" in s.display.lower()]
    if er:
        out = er + [s for s in out if s.form == "liquid" and s not in er]
    out.sort(key=lambda s: (s.form != "solid", s.mg))
    seen: set[tuple[float, str]] = set()
    uniq = []
    for s in out:
        if (s.mg, s.form) not in seen:
            seen.add((s.mg, s.form))
            uniq.append(s)
    return tuple(uniq)
