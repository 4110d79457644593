"""The covariates of :class:`neurodose.case.Patient`, declared once: unit, bounds, basis.

One row of :data:`COVARIATES` per covariate field of ``Patient``: its unit, the range a
value must lie in (what the error names as allowed), where it sits in the patient JSON
(``assess``), which doors carry it (the ``simulate``/``explain`` options, the API's
request bodies, the clinic's new-patient form, the FHIR map) and the basis of the value.
``Patient`` validation and the JSON schema (``PatientIn``) read their bounds from here;
``tests/unit/case/test_covariate_doors.py`` enumerates every door and fails when a door
misses a covariate declared for it, carries one not declared for it, or disagrees on its
bounds or unit.

The bounds are plausibility limits of the input (a value outside them is a typing or unit
error), not clinical thresholds: a clinical threshold lives in the knowledge base with its
source (e.g. ``knowledge/measurements.toml``). Where the covariate itself is defined by a
cited method, :attr:`Covariate.source` names its reference key.

>>> covariate("crcl").allowed
'0 <= CrCl <= 300 mL/min'
>>> covariate("weight").json, covariate("weight").unit
('weight_kg', 'kg')
>>> covariate("weight").pydantic_bounds()
{'gt': 0, 'le': 400}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["COVARIATES", "DOORS", "Covariate", "covariate", "ranges"]

#: the doors a covariate can enter by: the ``simulate``/``explain`` options (``cli``),
#: the API request bodies of ``/simulate`` and ``/explain`` (``api``), the clinic's
#: new-patient form (``form``) and the FHIR R4 map (``fhir``); every covariate with a
#: JSON path also enters by the patient JSON (``assess``, the API's profiles)
DOORS = ("cli", "api", "form", "fhir")


@dataclass(frozen=True)
class Covariate:
    """One covariate field of ``Patient``.

    ``name``: the ``Patient`` field (also the CLI option and API field name);
    ``json``: its path in the patient JSON (``labs.crcl_ml_min``; ``None``: not in the
    JSON); ``kind``: a number, a choice of ``choices``, or a flag; ``unit`` (a number's;
    ``ucum``: the same unit in UCUM, as FHIR sends it); ``low``/``high`` the bounds
    (``low_inclusive``: ``>=`` rather than ``>``); ``allowed``: the allowed values as an
    error names them; ``doors``: the doors of :data:`DOORS` that carry it; ``fhir``: the
    FHIR source (the observation kind of ``knowledge/terminology/codes.toml``, or the
    ``Patient`` resource element); ``source``: the reference key of the method that
    defines the value (``None``: a plain measurement).
    """

    name: str
    json: str | None
    kind: Literal["number", "choice", "flag"]
    allowed: str
    unit: str = ""
    ucum: str | None = None
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = False
    choices: tuple[str, ...] = ()
    doors: frozenset[str] = frozenset()
    fhir: str | None = None
    source: str | None = None

    def pydantic_bounds(self) -> dict[str, float]:
        """The bounds as pydantic ``Field`` keywords (``gt``/``ge``, ``le``; a whole number
        as an integer, as the schema and the messages show it)."""
        if self.low is None or self.high is None:
            return {}
        return {("ge" if self.low_inclusive else "gt"): _num(self.low), "le": _num(self.high)}

    def json_field(self, default: Any = ...) -> Any:
        """A pydantic ``Field`` of the patient JSON with the declared bounds."""
        from pydantic import Field

        b = self.pydantic_bounds()
        return Field(default, gt=b.get("gt"), ge=b.get("ge"), le=b.get("le"))


def _num(v: float) -> float:
    return int(v) if float(v).is_integer() else v


def _doors(*names: str) -> frozenset[str]:
    unknown = set(names) - set(DOORS)
    if unknown:
        raise ValueError(f"unknown doors {sorted(unknown)}; allowed: {', '.join(DOORS)}")
    return frozenset(names)


#: every covariate field of ``Patient``, in the order ``Patient`` validates them
COVARIATES: tuple[Covariate, ...] = (
    Covariate(
        "age", "age", "number", "0 < age <= 120 years", "years", "a", 0.0, 120.0,
        doors=_doors("cli", "api", "form", "fhir"), fhir="Patient.birthDate",
    ),
    Covariate(
        "weight", "weight_kg", "number", "0 < weight <= 400 kg", "kg", "kg", 0.0, 400.0,
        doors=_doors("cli", "api", "form"),
    ),
    Covariate(
        "height_cm", "height_cm", "number", "30 < height <= 260 cm", "cm", "cm", 30.0, 260.0,
        doors=_doors("form"),
    ),
    Covariate(
        "crcl", "labs.crcl_ml_min", "number", "0 <= CrCl <= 300 mL/min", "mL/min", "mL/min",
        0.0, 300.0, True, doors=_doors("cli", "api", "form", "fhir"), fhir="crcl",
        source="cockcroft_gault1976",
    ),
    Covariate(
        "egfr", "labs.egfr", "number", "0 <= eGFR <= 300 mL/min", "mL/min/1.73 m²",
        "mL/min/{1.73_m2}", 0.0, 300.0, True, doors=_doors("form", "fhir"), fhir="egfr",
    ),
    Covariate(
        "scr", None, "number", "0 < serum creatinine <= 20 mg/dL", "mg/dL", "mg/dL", 0.0,
        20.0, doors=_doors("cli"),
    ),
    Covariate(
        "qtc_ms", "labs.qtc_ms", "number", "250 <= QTc <= 800 ms", "ms", "ms", 250.0, 800.0,
        True, doors=_doors("form", "fhir"), fhir="qtc",
    ),
    Covariate(
        "alt_u_per_l", "labs.alt_u_per_l", "number", "0 <= ALT <= 10000 U/L", "U/L", "U/L",
        0.0, 10000.0, True, doors=_doors("fhir"), fhir="alt",
    ),
    Covariate(
        "pain_score", "pain.score", "number", "a pain score 0..10", "0-10", "{score}", 0.0,
        10.0, True, doors=_doors("form", "fhir"), fhir="pain_score",
    ),
    Covariate(
        "sex", "sex", "choice", "'male' or 'female'", choices=("male", "female"),
        doors=_doors("cli", "api", "form", "fhir"), fhir="Patient.gender",
    ),
    Covariate(
        "hepatic", "labs.child_pugh", "choice", "Child-Pugh class 'A', 'B' or 'C'",
        choices=("A", "B", "C"), source="pugh1973",
    ),
    Covariate("smoker", "smoker", "flag", "true or false", doors=_doors("cli", "api")),
    Covariate("pregnant", "pregnant", "flag", "true or false"),
    Covariate("breastfeeding", "breastfeeding", "flag", "true or false"),
)  # fmt: skip


def covariate(name: str) -> Covariate:
    """The declaration of covariate ``name`` (a ``Patient`` field)."""
    for c in COVARIATES:
        if c.name == name:
            return c
    from neurodose.errors import UnknownNameError

    raise UnknownNameError("covariate", name, [c.name for c in COVARIATES])


def ranges() -> dict[str, tuple[float, float, bool, str]]:
    """``{field: (low, high, low inclusive, allowed)}`` of the numeric covariates."""
    return {
        c.name: (c.low, c.high, c.low_inclusive, c.allowed)
        for c in COVARIATES
        if c.kind == "number" and c.low is not None and c.high is not None
    }
