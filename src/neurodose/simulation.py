"""Simulation: model + individual parameters + regimen + solver -> result with sources.

>>> from neurodose.case import Regimen
>>> r = simulate("nortriptyline", Regimen.oral("25 mg", every="24 h", days=14))
>>> r.summary["nortriptyline"]["half_life_h"] > 20
True
>>> sorted(r.to_json())
['analytes', 'drug', 'notes', 'sources', 'summary', 'unverified']
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose import citations
from neurodose.case.patient import Comedication, Patient
from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import InputError
from neurodose.pk import population as _population
from neurodose.pk.individual import ParameterSet, individual_parameters, terminal_half_lives
from neurodose.pk.parameters import get_pkmodel
from neurodose.pk.solve import concentrations, validate_times

__all__ = ["SimulationResult", "simulate", "tdm_reference_range", "terminal_half_lives"]

Arr = NDArray[np.float64]


@dataclass(frozen=True)
class SimulationResult:
    """Concentrations over time for one patient (and optionally a population).

    Attributes
    ----------
    drug : str
    times_h : ndarray (T,)
    concentrations : dict[analyte, ndarray (T,)]   total, ng/mL (typical patient)
    unbound : dict[analyte, ndarray (T,)]          free = fu x total, ng/mL
    population : dict[analyte, dict[str, ndarray]] p05/p50/p95 (when simulated)
    summary : dict[analyte, dict[str, float | None]]
    parameters : ParameterSet
    sources : list of str
    """

    drug: str
    times_h: Arr
    concentrations: dict[str, Arr]
    unbound: dict[str, Arr]
    summary: dict[str, dict[str, float | None]]
    parameters: ParameterSet
    sources: list[str]
    population: dict[str, dict[str, Arr]] = field(default_factory=dict)
    tdm_range: tuple[float, float] | None = None
    tdm_analytes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The CLI JSON contract (plain Python types)."""
        analytes: dict[str, Any] = {}
        for a, c in self.concentrations.items():
            d: dict[str, Any] = {
                "time_h": _list(self.times_h),
                "concentration_ng_per_ml": _list(c),
                "unbound_concentration_ng_per_ml": _list(self.unbound[a]),
            }
            for k, v in self.population.get(a, {}).items():
                d[k] = _list(v)
            analytes[a] = d
        return {
            "drug": self.drug,
            "analytes": analytes,
            "summary": self.summary,
            "sources": list(self.sources),
            "notes": list(self.notes),
            "unverified": list(self.parameters.unverified),
        }

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), allow_nan=False)


def _list(a: Arr) -> list[float]:
    return [float(round(x, 6)) for x in np.asarray(a, dtype=np.float64)]


def _trough_ss(ps: ParameterSet, regimen: Regimen) -> dict[str, float | None]:
    last = regimen.events[-1]
    if last.ii <= 0:
        return dict.fromkeys(ps.model.analytes)
    ss = Regimen((DoseEvent(amt=last.amt, time=0.0, ii=last.ii, ss=1, route=last.route),))
    if ps.values["tlag"] >= last.ii:
        return dict.fromkeys(ps.model.analytes)
    t = np.linspace(0.0, last.ii, 241)
    c = concentrations(ps.model, ps.values, ss, t)
    return {a: float(v[0].min()) for a, v in c.items()}


def tdm_reference_range(record: Any) -> tuple[float, float] | None:
    """A drug's TDM reference range in canonical units (ng/mL), registering its source.

    Parameters
    ----------
    record : neurodose.knowledge.schema.DrugRecord
        The drug's knowledge-base record; its ``tdm.reference_range`` (a range, or a
        point used as both bounds) is converted from its unit.

    Returns
    -------
    tuple of float or None
        ``(low, high)`` in ng/mL; None when the record has no TDM reference range.

    Examples
    --------
    >>> from neurodose.knowledge import get_drug
    >>> tdm_reference_range(get_drug("nortriptyline"))
    (70.0, 170.0)
    """
    if record.tdm is None or record.tdm.reference_range is None:
        return None
    q = record.tdm.reference_range
    lo = q.low if q.low is not None else q.point
    hi = q.high if q.high is not None else q.point
    f = q.canonical() / q.point if q.point else 1.0
    citations.register(q.source)
    return (float(lo * f), float(hi * f))


def _summary(t: Arr, c: Arr) -> dict[str, float]:
    i = int(np.argmax(c))
    return {
        "cmax_ng_per_ml": float(c[i]),
        "tmax_h": float(t[i]),
        "auc_ng_h_per_ml": float(np.sum(0.5 * (c[1:] + c[:-1]) * np.diff(t))),
    }


def simulate(
    drug: str,
    regimen: Regimen,
    patient: Patient | None = None,
    comedications: Iterable[Comedication | str] = (),
    times_h: ArrayLike | None = None,
    population: int | None = None,
    seed: int | None = None,
    *,
    draw_genotypes: bool = False,
) -> SimulationResult:
    """Simulate ``drug`` for one patient (and optionally a population of ``population``).

    Parameters
    ----------
    drug : str
        Drug with a PK parameter set (amitriptyline, nortriptyline, duloxetine,
        venlafaxine, gabapentin, pregabalin).
    regimen : Regimen
    patient : Patient, optional
    comedications : iterable of Comedication or "DRUG:DOSE[:EVERY]"
    times_h : array-like, optional
        Output times (h). Default: hourly from 0 to the last dose + five terminal
        half-lives of the longest-lived analyte.
    population : int, optional
        Number of virtual subjects (IIV) for p05/p50/p95 bands.
    seed : int, optional
    draw_genotypes : bool
        Population only: draw phenotypes from the shared frequencies.
    """
    if not isinstance(regimen, Regimen):
        raise InputError("regimen", type(regimen).__name__, "a neurodose.case.Regimen")
    comeds = list(comedications)
    with citations.tracking() as used:
        spec = get_pkmodel(drug)
        ps = individual_parameters(drug, patient, comeds)
        hl = terminal_half_lives(ps)
        if times_h is None:
            end = regimen.last_dose_time + 5.0 * max(hl.values())
            t = np.arange(0.0, math.ceil(end) + 1e-9, 1.0)
        else:
            t = validate_times(times_h)
        conc = concentrations(ps.model, ps.values, regimen, t, changes=ps.changes)
        conc1 = {a: c[0] for a, c in conc.items()}
        unbound = {a: c * ps.fu.get(a, 1.0) for a, c in conc1.items()}
        trough = _trough_ss(ps, regimen)
        summary: dict[str, dict[str, float | None]] = {}
        for a, c in conc1.items():
            s: dict[str, float | None] = dict(_summary(t, c))
            s["half_life_h"] = hl[a]
            s["cmin_ss_ng_per_ml"] = trough[a]
            summary[a] = s
        pop: dict[str, dict[str, Arr]] = {}
        if population is not None:
            if isinstance(population, bool) or int(population) != population or population < 1:
                raise InputError("population", population, "a whole number >= 1")
            pp = _population.sample(
                drug,
                int(population),
                seed,
                patient=patient,
                comedications=comeds,
                draw_genotypes=draw_genotypes,
                horizon_h=float(t[-1]),
            )
            pc = _population.simulate_population(pp, regimen, t)
            pop = {a: _population.percentiles(c) for a, c in pc.items()}
        tdm_range = None
        try:
            from neurodose.knowledge.registry import _load, resolve_name

            # _load: only the TDM source is registered
            tdm_range = tdm_reference_range(_load(resolve_name(spec.name)))
        except Exception:
            tdm_range = None
        citations.register_many(ps.sources)
    return SimulationResult(
        drug=spec.name,
        times_h=t,
        concentrations=conc1,
        unbound=unbound,
        summary=summary,
        parameters=ps,
        sources=sorted(used),
        population=pop,
        tdm_range=tdm_range,
        tdm_analytes=tuple(spec.tdm_sum),
        notes=ps.notes,
    )
