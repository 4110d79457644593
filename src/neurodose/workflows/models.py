"""Simulate concentrations, and explain a drug's effect, for one patient.

>>> from neurodose.case import Regimen
>>> r = simulate(SimulateRequest("duloxetine", Regimen.oral("60 mg", every="24 h", days=3)))
>>> r.warnings, sorted(r.to_json())[:3]
((), ['analytes', 'drug', 'notes'])
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neurodose.case import Comedication, Patient, Regimen
from neurodose.limits import days_allowed, hours_allowed, regimen_allowed
from neurodose.plausibility import age_warnings
from neurodose.simulation import SimulationResult
from neurodose.workflows.checks import (
    comedication_notes,
    request_warnings,
)

__all__ = [
    "ExplainRequest",
    "ExplainResult",
    "SimulateRequest",
    "SimulateResult",
    "explain",
    "simulate",
]


@dataclass(frozen=True)
class SimulateRequest:
    """What to simulate: ``drug`` on ``regimen`` for ``patient`` (typical adult by
    default) with ``comedications``; concentrations hourly to ``hours`` (default: last
    dose + 5 terminal half-lives); ``population`` virtual subjects (bands) with
    ``seed``; a dose above the maximum only with ``allow_above_max``; with ``pd`` the
    chain goes on to occupancy, relief and adverse-effect drivers over ``hours`` (whole
    days, default 42 days) on the daily grid, with what rests on unknown affinities."""

    drug: str
    regimen: Regimen
    patient: Patient = field(default_factory=Patient)
    comedications: tuple[Comedication, ...] = ()
    hours: float | None = None
    population: int | None = None
    seed: int | None = None
    allow_above_max: bool = False
    pd: bool = False
    #: ``progress(done, population)`` after each chunk of virtual subjects (a door's bar)
    progress: Callable[[int, int], None] | None = field(default=None, compare=False, repr=False)
    #: a formulation of the drug's PK model (venlafaxine ``extended_release``); None: the
    #: model's own absorption (its default formulation)
    formulation: str | None = None


@dataclass(frozen=True)
class SimulateResult:
    """The simulation, the regimen it ran, warnings (doses above a maximum, allowed)
    and notes (the model's, then the co-medications')."""

    result: SimulationResult
    regimen: Regimen
    warnings: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """``neurodose simulate --json``: the result with ``regimen``, ``warnings``,
        ``notes`` (and ``population`` when simulated)."""
        data = dict(json.loads(self.result.to_json_text()))
        data["regimen"] = repr(self.regimen)
        data["warnings"] = list(self.warnings)
        data["notes"] = list(self.notes)
        return data


def simulate(req: SimulateRequest) -> SimulateResult:
    """Check the doses (``regimen``, ``comedications``) and simulate."""
    import numpy as np

    from neurodose.simulation import simulate as run

    ex = req.regimen.expand()
    last_h = float(ex.times[-1]) if len(ex) else 0.0
    regimen_allowed(len(ex), last_h, "regimen.days", int(last_h // 24.0) + 1)
    if req.hours is not None:
        hours_allowed(req.hours, "hours")
    warnings = request_warnings(req)
    warnings += age_warnings(req.patient.age)
    times = None if req.hours is None else np.arange(0.0, req.hours + 1e-9, 1.0)
    pd_days = None
    if req.pd:
        times = None
        pd_days = 42.0 if req.hours is None else max(1.0, req.hours / 24.0)
    res = run(
        req.drug,
        req.regimen,
        req.patient,
        list(req.comedications),
        times_h=times,
        population=req.population,
        seed=req.seed,
        pd=True if req.pd else None,
        days=pd_days,
        progress=req.progress,
        formulation=req.formulation,
    )
    notes = (*res.notes, *comedication_notes(req.comedications))
    return SimulateResult(res, req.regimen, tuple(warnings), notes)


@dataclass(frozen=True)
class ExplainRequest:
    """What to explain: ``drug`` on ``regimen`` for ``patient`` over ``days`` (the
    horizon, 1 day to 10 years), with occupancy bands for ``population`` subjects."""

    drug: str
    regimen: Regimen
    days: float = 42.0
    patient: Patient = field(default_factory=Patient)
    comedications: tuple[Comedication, ...] = ()
    population: int | None = None
    seed: int | None = None
    allow_above_max: bool = False
    #: a formulation of the drug's PK model (as in :class:`SimulateRequest`)
    formulation: str | None = None


@dataclass(frozen=True)
class ExplainResult:
    """Occupancy, pathway shares of relief, side-effect drivers (``data``, as
    :func:`neurodose.simulation.explain` gives it, its ``notes`` followed by the
    co-medications'), and warnings."""

    data: dict[str, Any]
    warnings: tuple[str, ...]

    @property
    def notes(self) -> list[str]:
        return list(self.data.get("notes", []))

    def to_json(self) -> dict[str, Any]:
        """``neurodose explain --json``."""
        return {**self.data, "warnings": list(self.warnings)}


def explain(req: ExplainRequest) -> ExplainResult:
    """Check the horizon and the doses, and explain (one typical patient)."""
    from neurodose.simulation import explain as run

    days_allowed(req.days, "days")
    warnings = request_warnings(req)
    warnings += age_warnings(req.patient.age)
    data = run(
        req.drug,
        req.regimen,
        req.patient,
        list(req.comedications),
        days=req.days,
        population=req.population,
        seed=req.seed,
        formulation=req.formulation,
    )
    data["notes"] = [*data.get("notes", []), *comedication_notes(req.comedications)]
    return ExplainResult(data, tuple(warnings))
