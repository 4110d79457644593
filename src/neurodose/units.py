"""Units: one canonical set (mg, L, h, ng/mL) converted at the boundary.

Inside neurodose, amounts are mg, volumes L, times h, concentrations ng/mL,
clearances L/h, rate constants 1/h, affinities nM (binding) or µM (channels,
both stored as given and converted with :func:`convert`). User input such as
``"25 mg"``, ``"0.025 g"``, ``"12 h"`` or ``"2 d"`` is parsed here.

A small explicit table is used instead of a general unit library: the set of
units in pharmacology records is small, parsing must be fast at import, and
every conversion factor is visible below.

Examples
--------
>>> to_canonical(0.025, "g")
(25.0, 'mg')
>>> parse_quantity("2 d", "time")
48.0
>>> parse_quantity("25mg", "mass")
25.0
>>> convert(1.0, "mL/min", "L/h")
0.06
"""

from __future__ import annotations

import math
import re

from neurodose.errors import UnitError, close_matches

__all__ = [
    "CANONICAL",
    "DIMENSIONS",
    "convert",
    "dimension_of",
    "molar_to_mass",
    "parse_quantity",
    "parse_unit",
    "to_canonical",
]

#: canonical unit per dimension
CANONICAL: dict[str, str] = {
    "mass": "mg",
    "volume": "L",
    "time": "h",
    "concentration": "ng/mL",
    "molar": "nM",
    "clearance": "L/h",
    "rate": "1/h",
    "dimensionless": "1",
    "volume_per_mass": "L/kg",
    "clearance_per_mass": "L/h/kg",
    "length": "cm",
    "body_mass": "kg",
    "renal_function": "mL/min",
    "interval": "ms",
    "enzyme_activity": "U/L",
    "amount_per_time": "mg/h",
    "score": "score",
    "patches": "patch",
    "mass_per_day": "mg/d",
    "molar_mass": "g/mol",
    "exposure": "ng*h/mL",
    "serum_level": "mmol/L",
    "pressure": "mmHg",
    "heart_rate": "/min",
}

# unit -> (dimension, factor to canonical)
_UNITS: dict[str, tuple[str, float]] = {
    # mass (canonical mg)
    "ng": ("mass", 1e-6),
    "ug": ("mass", 1e-3),
    "µg": ("mass", 1e-3),
    "mcg": ("mass", 1e-3),
    "mg": ("mass", 1.0),
    "g": ("mass", 1e3),
    # body mass
    "kg": ("body_mass", 1.0),
    # volume (canonical L)
    "mL": ("volume", 1e-3),
    "ml": ("volume", 1e-3),
    "L": ("volume", 1.0),
    "l": ("volume", 1.0),
    # time (canonical h)
    "s": ("time", 1 / 3600),
    "sec": ("time", 1 / 3600),
    "min": ("time", 1 / 60),
    "h": ("time", 1.0),
    "hr": ("time", 1.0),
    "hour": ("time", 1.0),
    "hours": ("time", 1.0),
    "d": ("time", 24.0),
    "day": ("time", 24.0),
    "days": ("time", 24.0),
    "wk": ("time", 168.0),
    "week": ("time", 168.0),
    "weeks": ("time", 168.0),
    # exposure (AUC; canonical ng*h/mL)
    "ng*h/mL": ("exposure", 1.0),
    "ng h/mL": ("exposure", 1.0),
    # concentration (canonical ng/mL == µg/L)
    "ng/mL": ("concentration", 1.0),
    "ng/ml": ("concentration", 1.0),
    "ug/L": ("concentration", 1.0),
    "µg/L": ("concentration", 1.0),
    "ug/mL": ("concentration", 1e3),
    "µg/mL": ("concentration", 1e3),
    "mg/L": ("concentration", 1e3),
    "mg/mL": ("concentration", 1e6),
    "ng/L": ("concentration", 1e-3),
    # molar concentration (canonical nM)
    "pM": ("molar", 1e-3),
    "nM": ("molar", 1.0),
    "uM": ("molar", 1e3),
    "µM": ("molar", 1e3),
    "mM": ("molar", 1e6),
    "nmol/L": ("molar", 1.0),
    "umol/L": ("molar", 1e3),
    "µmol/L": ("molar", 1e3),
    "mmol/L": ("serum_level", 1.0),
    # clearance
    "L/h": ("clearance", 1.0),
    "mL/min": ("renal_function", 1.0),
    "mL/min/1.73m2": ("renal_function", 1.0),
    # rate
    "1/h": ("rate", 1.0),
    "1/d": ("rate", 1 / 24),
    "1/min": ("rate", 60.0),
    # dimensionless
    "1": ("dimensionless", 1.0),
    "fraction": ("dimensionless", 1.0),
    "%": ("dimensionless", 0.01),
    "ratio": ("dimensionless", 1.0),
    # per-mass
    "L/kg": ("volume_per_mass", 1.0),
    "L/h/kg": ("clearance_per_mass", 1.0),
    # misc
    "cm": ("length", 1.0),
    "m": ("length", 100.0),
    "ms": ("interval", 1.0),
    "mmHg": ("pressure", 1.0),
    "/min": ("heart_rate", 1.0),
    "U/L": ("enzyme_activity", 1.0),
    "mg/h": ("amount_per_time", 1.0),
    "score": ("score", 1.0),
    "points": ("score", 1.0),
    "patch": ("patches", 1.0),
    "mg/d": ("mass_per_day", 1.0),
    "mg/day": ("mass_per_day", 1.0),
    "g/mol": ("molar_mass", 1.0),
}

DIMENSIONS: frozenset[str] = frozenset(d for d, _ in _UNITS.values())

#: significant digits kept after a conversion (hides binary noise such as 0.06000000000000001)
_SIG_DIGITS = 12


def _tidy(x: float) -> float:
    """Round to :data:`_SIG_DIGITS` significant digits (relative, never absolute)."""
    return float(f"{x:.{_SIG_DIGITS}g}")


_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def parse_unit(unit: str) -> tuple[str, float]:
    """Return ``(dimension, factor_to_canonical)`` for ``unit``.

    Raises
    ------
    UnitError
        If the unit is not known; the message lists close matches.

    >>> parse_unit("µg/mL")
    ('concentration', 1000.0)
    """
    if not isinstance(unit, str):
        raise UnitError(f"unit: {unit!r} is not a unit; expected text such as 'mg' or 'ng/mL'")
    key = unit.strip()
    if key in _UNITS:
        return _UNITS[key]
    hint = close_matches(str(unit), _UNITS)
    extra = f"; did you mean {', '.join(map(repr, hint))}?" if hint else ""
    raise UnitError(f"unit: {unit!r} is not a known unit{extra}")


def dimension_of(unit: str) -> str:
    """Return the dimension name of ``unit`` (e.g. ``'time'`` for ``'d'``)."""
    return parse_unit(unit)[0]


def to_canonical(value: float, unit: str) -> tuple[float, str]:
    """Convert ``value`` in ``unit`` to the canonical unit of its dimension."""
    dim, factor = parse_unit(unit)
    return _tidy(float(value) * factor), CANONICAL[dim]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between two units of the same dimension.

    Clearance ``mL/min`` and ``L/h`` are both accepted (factor 0.06).

    >>> convert(48, "h", "d")
    2.0
    """
    if from_unit == to_unit:
        return float(value)
    d1, f1 = parse_unit(from_unit)
    d2, f2 = parse_unit(to_unit)
    flow = {"clearance", "renal_function"}
    if d1 in flow and d2 in flow and d1 != d2:
        # mL/min -> L/h: x 60 / 1000
        v_lh = value * f1 * (0.06 if d1 == "renal_function" else 1.0)
        return _tidy(v_lh / f2 / (0.06 if d2 == "renal_function" else 1.0))
    if d1 != d2:
        raise UnitError(
            f"unit: cannot convert {from_unit!r} ({d1}) to {to_unit!r} ({d2}); dimensions differ"
        )
    return _tidy(float(value) * f1 / f2)


def parse_quantity(text: str | float | int, dimension: str, field: str = "quantity") -> float:
    """Parse user input like ``"25 mg"`` into the canonical unit of ``dimension``.

    A bare number is taken to be in the canonical unit already.

    Parameters
    ----------
    text : str or float
        What the user typed, e.g. ``"0.025 g"``, ``"12 h"``, ``"2 d"``.
    dimension : str
        Expected dimension: ``"mass"``, ``"time"``, ``"concentration"`` ...
    field : str
        Name of the input field, used in error messages.

    Returns
    -------
    float
        Value in the canonical unit (mg, h, ng/mL ...).

    >>> parse_quantity("12 h", "time")
    12.0
    >>> parse_quantity(20, "mass")
    20.0
    """
    if dimension not in DIMENSIONS:
        raise UnitError(f"dimension: {dimension!r} is not known; allowed: {sorted(DIMENSIONS)}")
    if isinstance(text, bool):
        raise UnitError(f"{field}: {text!r} is not a quantity")
    if isinstance(text, int | float):
        if not math.isfinite(text):
            raise UnitError(f"{field}: {text!r} is not a finite number")
        return float(text)
    if not isinstance(text, str):
        raise UnitError(
            f"{field}: {text!r} is not a quantity; expected a number and a unit "
            f"such as '25 {CANONICAL[dimension]}'"
        )
    m = _NUMBER.match(text)
    rest = text[m.end() :] if m else ""
    if not m or (rest[:1] and rest[0] in "0123456789.+-eE"):
        raise UnitError(
            f"{field}: {text!r} is not a quantity; expected a number and a unit "
            f"such as '25 {CANONICAL[dimension]}'"
        )
    number = float(m.group(1))
    unit = rest.strip()
    if not unit:
        return number
    try:
        dim, factor = parse_unit(unit)
    except UnitError as exc:
        raise UnitError(f"{field}: {text!r}: {exc}") from None
    if dim != dimension:
        raise UnitError(
            f"{field}: {text!r} has unit {unit!r} ({dim}); expected a {dimension} "
            f"such as '{CANONICAL[dimension]}'"
        )
    return _tidy(number * factor)


def molar_to_mass(conc_nM: float, molar_mass_g_per_mol: float) -> float:
    """Convert a molar concentration (nM) to ng/mL given the molar mass (g/mol).

    1 nM = 1 nmol/L = MW ng/L = MW/1000 ng/mL.

    >>> round(molar_to_mass(1000.0, 277.4), 1)
    277.4
    """
    return conc_nM * molar_mass_g_per_mol / 1000.0
