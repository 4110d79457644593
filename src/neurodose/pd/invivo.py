"""In-vivo transporter potency from human PET/SPECT (issue 20, item 2).

In-vitro affinities (:mod:`neurodose.pd.occupancy`) put the SSRIs at 93-97 % SERT occupancy at
their lowest effective doses, where human PET finds about 80 %. This module anchors SERT and NET
occupancy to the human imaging studies in ``knowledge/pet/pet_occupancy.toml``:

.. math::

    \\mathrm{occ}_T = E_{\\max,T}\\,\\frac{s\\,S}{1 + s\\,S},\\qquad
    S = \\sum_i C_{u,i}/K_{i,T}

with :math:`S` the in-vitro potency sum of :func:`~neurodose.pd.occupancy.competitive_occupancy`
(free plasma nM over in-vitro K) and :math:`s` a free-plasma-to-site factor:

* **PET**: a drug with its own *training* PET data gets its own factor (geometric mean of the
  factors its training points imply; an EC50 gives :math:`s = 1/S(\\mathrm{EC50})`);
* **translated**: any other drug gets the transporter's factor, the geometric mean over the
  training drugs (each drug once), with a 90 % prediction interval from the between-drug spread.

:math:`E_{\\max}` is the SERT plateau reported in a training study (about 85 %, Meyer 2001);
NET has no reported plateau and uses 1 (an assumption). The fitted numbers are stored in the
TOML (``[translation]``, ``[drug_factors]``) and :func:`fit_translation` recomputes them from
the training studies only; a validation test checks they agree. Validation studies (held out
before fitting) are predicted by :func:`prediction_rows` (docs/validation_pet.md).

>>> round(site_occupancy(1.0, 1.0, 1.0), 2)
0.5
>>> round(implied_factor(0.5, 1.0, 1.0), 3)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from neurodose import citations
from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import DATA_DIR, load_validated, references
from neurodose.knowledge.schema import Quantity

if TYPE_CHECKING:
    from neurodose.pd.occupancy import DrugTargets

Array = NDArray[np.float64]

__all__ = [
    "PET_FILE",
    "TRANSPORTERS",
    "FitResult",
    "PETFile",
    "PETPoint",
    "PredictionRow",
    "TransporterPotency",
    "fit_translation",
    "implied_factor",
    "in_vivo_factors",
    "in_vivo_occupancy",
    "in_vivo_sources",
    "pet_file",
    "point_potency",
    "prediction_rows",
    "site_occupancy",
    "transporter_potency",
]

PET_FILE = DATA_DIR / "pet" / "pet_occupancy.toml"
TRANSPORTERS: tuple[str, ...] = ("SERT", "NET")
#: two-sided 90 % normal quantile for the prediction interval of the translated factor
_Z90 = 1.6449


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PETPoint(_Frozen):
    """One observed mean occupancy at a dose (and scan time) of one drug."""

    drug: str
    transporter: Literal["SERT", "NET"]
    dose_mg: float = Field(gt=0)
    per_day: int = Field(1, ge=1)
    days: int = Field(1, ge=1)
    scan_h: float | None = Field(None, ge=0)
    conc: Quantity | None = None
    occupancy: Quantity


class PETEC50(_Frozen):
    """A plasma (total) concentration giving half-maximal occupancy."""

    drug: str
    transporter: Literal["SERT", "NET"]
    conc: Quantity


class PETPlateau(_Frozen):
    """A reported occupancy plateau (the study's highest doses)."""

    transporter: Literal["SERT", "NET"]
    occupancy: Quantity


class PETStudy(_Frozen):
    """One imaging study: its source, role (training or validation) and data."""

    source: str
    role: Literal["training", "validation"]
    population: str
    design: str
    radioligand: str
    note: str | None = None
    ec50: list[PETEC50] = Field(default_factory=list)
    points: list[PETPoint] = Field(default_factory=list)
    plateau: PETPlateau | None = None


class PETFile(_Frozen):
    """Schema of ``knowledge/pet/pet_occupancy.toml``: studies, plateaus and fitted factors."""

    schema_version: int = 1
    kind: str | None = None
    #: concentration the factor applies to: "free" (fu x total) or "total" plasma
    basis: Literal["free", "total"] = "free"
    basis_note: str = ""
    studies: dict[str, PETStudy]
    #: plateau occupancy per transporter (a reported value or an assumption), fraction
    emax: dict[str, Quantity] = Field(default_factory=dict)
    #: fitted factor per transporter (``ci_low``/``ci_high``: 90 % prediction interval)
    translation: dict[str, Quantity] = Field(default_factory=dict)
    drug_factors: dict[str, dict[str, Quantity]] = Field(default_factory=dict)


@cache
def pet_file() -> PETFile:
    """The PET study file, validated (schema, units, source keys)."""
    f = load_validated(PET_FILE, PETFile)
    refs = references()
    for key, st in f.studies.items():
        if st.source not in refs:
            raise KnowledgeBaseError(
                f"{PET_FILE}: study {key!r}: source {st.source!r} not in the references"
            )
    return f


def site_occupancy(potency_sum: float, factor: float, emax: float) -> float:
    """``emax * s S / (1 + s S)`` for one site (``potency_sum`` = S, ``factor`` = s)."""
    x = factor * potency_sum
    return emax * x / (1.0 + x)


def implied_factor(occupancy: float, potency_sum: float, emax: float) -> float | None:
    """The factor ``s`` for which :func:`site_occupancy` equals ``occupancy``; None when
    the occupancy is at or above ``emax`` (no finite factor)."""
    if not 0.0 < occupancy < emax or potency_sum <= 0:
        return None
    return occupancy / (emax - occupancy) / potency_sum


def _frac(q: Quantity) -> float:
    return float(q.canonical())


def _bounds(q: Quantity) -> tuple[float, float]:
    if q.value is not None:
        v = _frac(q)
        return v, v
    lo = Quantity(value=q.low, unit=q.unit, source=q.source, locator=q.locator)
    hi = Quantity(value=q.high, unit=q.unit, source=q.source, locator=q.locator)
    return _frac(lo), _frac(hi)


def _potency_sum(
    drug: str, transporter: str, conc_ng_ml: Mapping[str, float], basis: str | None = None
) -> float:
    """S = sum_i C_i / K_i (nM over in-vitro K nM), C free (``basis="free"``) or total
    (``"total"``; default: the file's ``basis``); analytes missing from ``conc_ng_ml`` count 0."""
    from neurodose.pd.occupancy import drug_targets

    b_ = basis or pet_file().basis
    tg = drug_targets(drug)
    props = {a.name: a for a in tg.analytes}
    s = 0.0
    for b in tg.bindings.get(transporter, ()):
        if b.analyte in conc_ng_ml:
            a = props[b.analyte]
            fu = a.fu if b_ == "free" else 1.0
            s += fu * float(conc_ng_ml[b.analyte]) * 1000.0 / a.molar_mass / b.K_nM
    return s


def _model_conc(p: PETPoint) -> dict[str, float]:
    """Typical-patient concentrations (ng/mL) at the scan (or over the last interval)."""
    from neurodose.case.regimen import Regimen
    from neurodose.pk.individual import individual_parameters
    from neurodose.pk.solve import concentrations

    every = 24.0 / p.per_day
    n = p.days * p.per_day
    reg = Regimen.oral(dose=f"{p.dose_mg} mg", every=f"{every} h", doses=n)
    last = (n - 1) * every
    t = np.array([last + p.scan_h]) if p.scan_h is not None else np.linspace(last, last + every, 49)
    ps = individual_parameters(p.drug)
    c = concentrations(ps.model, ps.values, reg, t, changes=ps.changes)
    return {a: float(np.asarray(v)[0].mean()) for a, v in c.items()}


def point_potency(p: PETPoint, basis: str | None = None) -> float:
    """In-vitro potency sum S at a PET point: from the measured concentration when the
    study reports one (parent drug), else from the PK model's typical patient."""
    if p.conc is not None:
        return _potency_sum(p.drug, p.transporter, {p.drug: _frac(p.conc)}, basis)
    return _potency_sum(p.drug, p.transporter, _model_conc(p), basis)


def _emax(transporter: str) -> float:
    q = pet_file().emax.get(transporter)
    return 1.0 if q is None else _frac(q)


@dataclass(frozen=True)
class FitResult:
    """The translation factor of one transporter, fitted on the training studies."""

    transporter: str
    emax: float
    scale: float
    log_sd: float = 0.0
    interval90: tuple[float, float] = (0.0, math.inf)
    drug_factors: dict[str, float] = field(default_factory=dict)
    studies: tuple[str, ...] = ()
    n_points: int = 0
    note: str = ""


def _training_factors(
    transporter: str, emax: float, basis: str
) -> tuple[dict[str, list[float]], set[str]]:
    per_drug: dict[str, list[float]] = {}
    used: set[str] = set()
    for key, st in pet_file().studies.items():
        if st.role != "training":
            continue
        for e in st.ec50:
            if e.transporter == transporter:
                s0 = _potency_sum(e.drug, transporter, {e.drug: _frac(e.conc)}, basis)
                per_drug.setdefault(e.drug, []).append(1.0 / s0)
                used.add(key)
        for p in st.points:
            if p.transporter != transporter:
                continue
            lo, hi = _bounds(p.occupancy)
            f = implied_factor(0.5 * (lo + hi), point_potency(p, basis), emax)
            if f is not None:
                per_drug.setdefault(p.drug, []).append(f)
                used.add(key)
    return per_drug, used


def fit_translation(
    basis: str | None = None, log_sd_fallback: float | None = None
) -> dict[str, FitResult]:
    """Fit the factor of each transporter on the *training* studies only.

    Each training drug's factor is the geometric mean of the factors its points imply; the
    transporter's factor is the geometric mean over drugs (each drug counts once). Its 90 %
    prediction interval for a new drug uses the between-drug SD of log factors; a transporter
    with a single training drug borrows the SD of the other transporter (stated in ``note``).
    """
    out: dict[str, FitResult] = {}
    spreads: dict[str, float] = {}
    raw: dict[str, tuple[float, dict[str, float], set[str], int]] = {}
    for t in TRANSPORTERS:
        emax = _emax(t)
        per_drug, used = _training_factors(t, emax, basis or pet_file().basis)
        if not per_drug:
            continue
        drug_f = {d: math.exp(float(np.mean(np.log(v)))) for d, v in per_drug.items()}
        logs = np.log(list(drug_f.values()))
        if len(logs) > 1:
            spreads[t] = float(np.std(logs, ddof=1))
        raw[t] = (emax, drug_f, used, sum(len(v) for v in per_drug.values()))
    for t, (emax, drug_f, used, n) in raw.items():
        logs = np.log(list(drug_f.values()))
        note = ""
        if t in spreads:
            sd = spreads[t]
        else:
            other = [v for k, v in spreads.items() if k != t]
            sd = other[0] if other else (log_sd_fallback or 0.0)
            donors = ", ".join(k for k in spreads if k != t)
            note = f"one training drug: between-drug SD borrowed from {donors}"
        m = float(np.mean(logs))
        half = _Z90 * sd * math.sqrt(1.0 + 1.0 / len(logs))
        out[t] = FitResult(
            transporter=t,
            emax=emax,
            scale=math.exp(m),
            log_sd=sd,
            interval90=(math.exp(m - half), math.exp(m + half)),
            drug_factors=drug_f,
            studies=tuple(sorted(used)),
            n_points=n,
            note=note,
        )
    return out


@dataclass(frozen=True)
class TransporterPotency:
    """How one drug's occupancy of one transporter is computed."""

    drug: str
    transporter: str
    factor: float
    emax: float
    basis: Literal["PET", "translated", "in-vitro"]
    sources: tuple[str, ...]
    interval90: tuple[float, float] | None = None


def transporter_potency(drug: str, transporter: str) -> TransporterPotency:
    """The stored factor and Emax of ``drug`` at ``transporter`` with its basis.

    >>> transporter_potency("duloxetine", "SERT").basis
    'PET'
    >>> transporter_potency("fluoxetine", "SERT").basis
    'translated'
    """
    if transporter not in TRANSPORTERS:
        raise UnknownNameError("transporter", transporter, set(TRANSPORTERS))
    f = pet_file()
    tr = f.translation.get(transporter)
    if tr is None:
        return TransporterPotency(drug, transporter, 1.0, 1.0, "in-vitro", ())
    emax_q = f.emax[transporter]
    own = f.drug_factors.get(drug, {}).get(transporter)
    if own is not None:
        return TransporterPotency(
            drug, transporter, _frac(own), _frac(emax_q), "PET", (own.source, emax_q.source)
        )
    lo = tr.ci_low
    hi = tr.ci_high
    return TransporterPotency(
        drug,
        transporter,
        _frac(tr),
        _frac(emax_q),
        "translated",
        (tr.source, emax_q.source),
        (lo, hi) if lo is not None and hi is not None else None,
    )


def in_vivo_sources(drug: str, reached: Iterable[str]) -> set[str]:
    """Source keys of the in-vivo factors and Emax of the transporters ``drug`` reaches
    (listed with :meth:`~neurodose.pd.occupancy.DrugTargets.sources`)."""
    return {k for t in reached if t in TRANSPORTERS for k in transporter_potency(drug, t).sources}


def in_vivo_factors(drug: str) -> dict[str, TransporterPotency]:
    """:func:`transporter_potency` for both transporters, registering their sources."""
    out = {t: transporter_potency(drug, t) for t in TRANSPORTERS}
    for tp in out.values():
        citations.register_many(tp.sources)
    return out


def in_vivo_occupancy(targets: DrugTargets, conc_ng_ml: Mapping[str, Array]) -> dict[str, Array]:
    """SERT and NET occupancy (fractions, arrays like the concentrations) of a drug from
    total concentrations, with its in-vivo factor and Emax (:func:`transporter_potency`).

    Only the transporters the drug reaches (an in-vitro K for at least one analyte) are
    returned; the potency sum uses the file's ``basis`` (free or total concentration).
    """
    f = pet_file()
    props = {a.name: a for a in targets.analytes}
    out: dict[str, Array] = {}
    for t, tp in in_vivo_factors(targets.drug).items():
        bs = targets.bindings.get(t)
        if not bs:
            continue
        s: Array | None = None
        for b in bs:
            a = props[b.analyte]
            fu = a.fu if f.basis == "free" else 1.0
            term = (
                fu * np.asarray(conc_ng_ml[b.analyte], dtype=float) * 1000.0 / a.molar_mass / b.K_nM
            )
            s = term if s is None else s + term
        assert s is not None
        x = tp.factor * s
        out[t] = tp.emax * x / (1.0 + x)
    return out


@dataclass(frozen=True)
class PredictionRow:
    """One PET observation against the model (docs/validation_pet.md)."""

    study: str
    role: str
    drug: str
    transporter: str
    dose: str
    observed: tuple[float, float]
    predicted: float
    predicted_invitro: float
    basis: str
    independent: bool

    @property
    def within(self) -> bool:
        """Inside the reported bounds (a point value: within 5 percentage points)."""
        lo, hi = self.observed
        if lo == hi:
            return abs(self.predicted - lo) <= 0.05
        return lo <= self.predicted <= hi

    @property
    def fold(self) -> float:
        """Predicted / observed (mid-point of a range); > 1 is over-prediction."""
        lo, hi = self.observed
        return self.predicted / (0.5 * (lo + hi))


def _dose_text(p: PETPoint) -> str:
    daily = p.dose_mg * p.per_day
    base = f"{p.dose_mg:g} mg single" if p.days == 1 else f"{daily:g} mg/day x {p.days} d"
    if p.conc is not None:
        return base + f", measured {p.conc.value:g} ng/mL"
    return base + (f", {p.scan_h:g} h" if p.scan_h is not None else ", interval mean")


def prediction_rows() -> list[PredictionRow]:
    """Every PET point (and EC50, as 50 % of Emax at that concentration) predicted."""
    f = pet_file()
    trained = {(d, t) for d, ts in f.drug_factors.items() for t in ts}
    rows: list[PredictionRow] = []
    for key, st in f.studies.items():
        items: list[tuple[PETPoint | PETEC50, float, float, tuple[float, float], str]] = []
        for e in st.ec50:
            c = {e.drug: _frac(e.conc)}
            half = 0.5 * _emax(e.transporter)
            s0 = _potency_sum(e.drug, e.transporter, c)
            s_free = _potency_sum(e.drug, e.transporter, c, "free")
            items.append((e, s0, s_free, (half, half), f"EC50 {e.conc.value:g} ng/mL"))
        for p in st.points:
            items.append(
                (p, point_potency(p), point_potency(p, "free"), _bounds(p.occupancy), _dose_text(p))
            )
        for obj, s0, s_free, obs, dose in items:
            tp = transporter_potency(obj.drug, obj.transporter)
            independent = st.role == "validation" and (obj.drug, obj.transporter) not in trained
            predicted = site_occupancy(s0, tp.factor, tp.emax)
            rows.append(
                PredictionRow(
                    key,
                    st.role,
                    obj.drug,
                    obj.transporter,
                    dose,
                    obs,
                    predicted,
                    site_occupancy(s_free, 1.0, 1.0),
                    tp.basis,
                    independent,
                )
            )
    return rows
