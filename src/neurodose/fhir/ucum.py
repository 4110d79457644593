"""UCUM units at the FHIR boundary: UCUM codes to the units :mod:`neurodose.units` knows.

A FHIR ``Quantity`` carries a UCUM ``code`` (``system = http://unitsofmeasure.org``)
and a free-text ``unit``. The code is preferred; the text is accepted where it is a
unit neurodose parses. Annotations in braces (``{score}``, ``{1.73_m2}``) are UCUM
comments: ``mL/min/{1.73_m2}`` is mL/min normalised to body surface area.

Examples
--------
>>> quantity_value({"value": 1.2, "code": "mL/s"}, "renal_function")
72.0
>>> quantity_value({"value": 0.48, "code": "s"}, "interval")
480.0
>>> quantity_value({"value": 25, "unit": "mg"}, "mass")
25.0
"""

from __future__ import annotations

from typing import Any

from neurodose.errors import FhirError, UnitError
from neurodose.units import convert, dimension_of

__all__ = ["UCUM", "quantity_value", "ucum_code"]

#: UCUM code -> (a unit neurodose parses, factor); definitional conversions only
UCUM: dict[str, tuple[str, float]] = {
    "mg": ("mg", 1.0),
    "g": ("g", 1.0),
    "ug": ("ug", 1.0),
    "ng": ("ng", 1.0),
    "ms": ("ms", 1.0),
    "s": ("ms", 1000.0),
    "h": ("h", 1.0),
    "min": ("min", 1.0),
    "d": ("d", 1.0),
    "wk": ("wk", 1.0),
    "mL/min": ("mL/min", 1.0),
    "mL/min/{1.73_m2}": ("mL/min/1.73m2", 1.0),
    "mL/min/1.73.m2": ("mL/min/1.73m2", 1.0),
    "mL/min/(173.10*-2.m2)": ("mL/min/1.73m2", 1.0),
    "mL/s": ("mL/min", 60.0),
    "mL/s/{1.73_m2}": ("mL/min/1.73m2", 60.0),
    "ng/mL": ("ng/mL", 1.0),
    "ug/L": ("ug/L", 1.0),
    "mg/L": ("mg/L", 1.0),
    "nmol/L": ("nmol/L", 1.0),
    "U/L": ("U/L", 1.0),
    "[iU]/L": ("U/L", 1.0),
    "{score}": ("score", 1.0),
    "{Score}": ("score", 1.0),
    "1": ("score", 1.0),
}

#: canonical neurodose unit -> UCUM code, for output
_OUT = {"mg": "mg", "ms": "ms", "h": "h", "mL/min": "mL/min", "ng/mL": "ng/mL", "score": "{score}"}


def ucum_code(unit: str) -> str:
    """The UCUM code for a neurodose unit (``"score"`` -> ``"{score}"``)."""
    if unit == "mL/min/1.73m2":
        return "mL/min/{1.73_m2}"
    return _OUT.get(unit, unit)


def quantity_value(q: Any, dimension: str, *, where: str = "valueQuantity") -> float:
    """The value of a FHIR Quantity in the canonical unit of ``dimension``.

    ``dimension`` is a :mod:`neurodose.units` dimension (``"mass"``, ``"interval"``,
    ``"renal_function"``, ``"score"`` ...). A missing value, or a unit that is not of
    that dimension, raises :class:`FhirError` naming ``where``.
    """
    if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
        raise FhirError(f"{where}.value", q, "a Quantity with a numeric value")
    value = float(q["value"])
    code = q.get("code")
    text = q.get("unit")
    candidates: list[tuple[str, float]] = []
    if isinstance(code, str) and code in UCUM:
        candidates.append(UCUM[code])
    for raw in (code, text):
        if isinstance(raw, str) and raw:
            candidates.append((raw, 1.0))
            if raw in UCUM:
                candidates.append(UCUM[raw])
    if not candidates and dimension == "score":
        return value
    for unit, factor in candidates:
        try:
            dim = dimension_of(unit)
        except UnitError:
            continue
        if dim != dimension:
            continue
        return convert(value * factor, unit, _canonical(dimension))
    allowed = sorted(k for k, (u, _) in UCUM.items() if _dim_or_none(u) == dimension)
    raise FhirError(
        f"{where}.code", code or text, f"a UCUM unit of {dimension} ({', '.join(allowed)})"
    )


def _dim_or_none(unit: str) -> str | None:
    try:
        return dimension_of(unit)
    except UnitError:
        return None


def _canonical(dimension: str) -> str:
    from neurodose.units import CANONICAL

    return CANONICAL[dimension]
