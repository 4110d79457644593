"""Measurements a patient profile may carry, and the conditions they imply (cited).

Loaded from ``knowledge/measurements.toml`` through
:func:`~neurodose.knowledge.registry.load_validated`. A measurement has a unit, a
LOINC code, a plausible range (outside it the input is malformed and refused) and
thresholds below or above which it implies a condition the rules read (sodium
below 135 mmol/L implies ``hyponatraemia``; heart rate below 50/min ``bradycardia``).

>>> m = measurement_defs()["sodium_mmol_l"]
>>> m.unit, m.implies[0].condition
('mmol/L', 'hyponatraemia')
>>> implied_conditions({"sodium_mmol_l": 128.0})[0][0]
'hyponatraemia'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import Quantity

__all__ = ["Implication", "MeasurementDef", "implied_conditions", "measurement_defs"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Implication(_Frozen):
    """A condition implied when the value is beyond a cited threshold."""

    condition: str
    op: Literal["<", "<=", ">", ">="]
    threshold: Quantity
    sex: Literal["male", "female"] | None = Field(
        None, description="applies to this sex only (QTc limits differ)"
    )
    below: Quantity | None = Field(
        None, description="upper bound (exclusive): the condition holds inside [threshold, below)"
    )


class MeasurementDef(_Frozen):
    """One measurement: JSON field id, label, unit, LOINC code, plausible range."""

    id: str
    label: str
    unit: str
    loinc: str | None = None
    low: float
    high: float
    implies: list[Implication] = Field(default_factory=list)


class _File(_Frozen):
    schema_version: int = 1
    measurement: list[MeasurementDef]


@cache
def measurement_defs() -> dict[str, MeasurementDef]:
    """Every measurement, keyed by its JSON field id (condition ids checked)."""
    from neurodose.knowledge.conditions import condition_ids

    data = load_validated(DATA_DIR / "measurements.toml", _File)
    known = set(condition_ids())
    out: dict[str, MeasurementDef] = {}
    for m in data.measurement:
        if m.id in out:
            raise KnowledgeBaseError(f"measurements.toml: {m.id!r} listed twice")
        for imp in m.implies:
            if imp.condition not in known:
                raise KnowledgeBaseError(
                    f"measurements.toml: {m.id!r} implies unknown condition {imp.condition!r}"
                )
        out[m.id] = m
    return out


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def implied_conditions(
    values: Mapping[str, float], sex: str | None = None
) -> list[tuple[str, str, Quantity]]:
    """``(condition, basis text, threshold)`` for every threshold the values cross.

    A sex-specific threshold applies only when ``sex`` is that sex; with the sex unknown
    the higher (less sensitive) of the two limits is used, never the lower.
    """
    out = []
    defs = measurement_defs()
    for key, v in values.items():
        d = defs.get(key)
        if d is None or v is None:
            continue
        for imp in d.implies:
            if imp.sex is not None and sex is not None and imp.sex != sex:
                continue
            if imp.sex is not None and sex is None:
                same = [i for i in d.implies if i.condition == imp.condition and i.sex]
                if imp is not max(same, key=lambda i: i.threshold.point):
                    continue
            t = imp.threshold.point
            if imp.below is not None and not float(v) < imp.below.point:
                continue
            if _OPS[imp.op](float(v), t):
                unit = "" if d.unit == "1" else f" {d.unit}"
                basis = f"{d.label} {float(v):g}{unit} ({imp.op} {t:g})"
                out.append((imp.condition, basis, imp.threshold))
    return out


class _Band(_Frozen):
    low: float
    high: float
    points: int = Field(ge=1, le=3)


class _Item(_Frozen):
    measurement: str
    bands: list[_Band]


class _ChildPughFile(_Frozen):
    schema_version: int = 1
    source: str
    locator: str
    verified: bool = False
    item: list[_Item]
    classes: dict[str, list[int]]


#: ascites / encephalopathy words -> Child-Pugh points
CLINICAL_POINTS = {"none": 1, "absent": 1, "mild": 2, "moderate-severe": 3, "severe": 3}


@cache
def _child_pugh_table() -> _ChildPughFile:
    from neurodose.knowledge.registry import check_sources

    data = load_validated(DATA_DIR / "child_pugh.toml", _ChildPughFile)
    for it in data.item:
        if it.measurement not in measurement_defs():
            raise KnowledgeBaseError(f"child_pugh.toml: unknown measurement {it.measurement!r}")
    _ = check_sources
    return data


def child_pugh_class(score: float) -> str | None:
    """The Child-Pugh class of a total score (child_pugh.toml cut-offs), None outside 5-15.

    >>> child_pugh_class(8), child_pugh_class(4)
    ('B', None)
    """
    t = _child_pugh_table()
    return next((c for c, (lo, hi) in t.classes.items() if lo <= score <= hi), None)


def child_pugh(
    values: Mapping[str, float], ascites: str | None = None, encephalopathy: str | None = None
) -> tuple[str, int, bool, str] | None:
    """``(class, score, complete, basis)`` of the Child-Pugh score, or ``None`` when a
    laboratory item (bilirubin, albumin, INR) is missing.

    Without ascites or encephalopathy each counts 1 point: the score is then a lower
    bound (``complete`` False) and the class is "at least" that class.

    >>> child_pugh({"bilirubin_umol_l": 60, "albumin_g_l": 25, "inr": 2.0})[:3]
    ('C', 10, False)
    """
    t = _child_pugh_table()
    score = 0
    parts = []
    for it in t.item:
        v = values.get(it.measurement)
        if v is None:
            return None
        band = next((b for b in it.bands if b.low <= float(v) < b.high), None)
        if band is None:
            return None
        score += band.points
        parts.append(f"{measurement_defs()[it.measurement].label} {float(v):g}: {band.points}")
    complete = True
    for name, word in (("ascites", ascites), ("encephalopathy", encephalopathy)):
        if word is None:
            complete = False
            score += 1
            parts.append(f"{name} not given: 1 (lower bound)")
        else:
            pts = CLINICAL_POINTS[word]
            score += pts
            parts.append(f"{name} {word}: {pts}")
    cls = next(c for c, (lo, hi) in t.classes.items() if lo <= score <= hi)
    basis = (
        f"Child-Pugh {'' if complete else 'at least '}{cls} (score {score}"
        f"{'' if complete else '+'}: {'; '.join(parts)})"
    )
    return cls, score, complete, basis
