"""Simulation: the one PK -> PD pipeline.

``simulate(drug, regimen, patient, comedications, *, pd=...)`` joins the model, the
patient's individual parameters, the regimen and the exact solver (PK), and with
``pd`` continues down the chain: free concentrations -> target occupancy
(:mod:`neurodose.pd.occupancy`) -> daily drives (daily mean occupancy drives pain,
daily peak drives adverse effects) -> pain (:func:`neurodose.pd.pain.simulate_pain`)
and adverse-effect drivers. Every consumer of the chain uses these stages:

- :func:`simulate` with ``pd``: one patient (``neurodose explain``, :func:`explain`);
- :func:`daily_drives`: the occupancy -> drives stage for concentrations computed
  elsewhere (a virtual-trial population in :mod:`neurodose.trial.run`, the MAP
  individual of :mod:`neurodose.mipd.response`), on the grid of
  :func:`daily_sample_times`.

>>> from neurodose.case import Regimen
>>> r = simulate("nortriptyline", Regimen.oral("25 mg", every="24 h", days=14))
>>> r.summary["nortriptyline"]["half_life_h"] > 20
True
>>> sorted(r.to_json())
['analytes', 'drug', 'notes', 'sources', 'summary', 'unverified']
>>> e = simulate("duloxetine", Regimen.oral("60 mg", days=14), pd=True, days=14)
>>> bool(e.pd.pain.pain[0, -1] < e.pd.pain.pain[0, 0])
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurodose import citations
from neurodose.case.patient import Comedication, Patient
from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import InputError, UnknownDrugError
from neurodose.knowledge import record
from neurodose.limits import (
    MAX_POPULATION,
    MAX_POPULATION_POINTS,
    POPULATION_BAND_CELLS,
    POPULATION_BAND_PRECISION,
    POPULATION_CHUNK_POINTS,
    population_allowed,
)
from neurodose.pk import population as _population
from neurodose.pk.individual import ParameterSet, individual_parameters, terminal_half_lives
from neurodose.pk.parameters import get_pkmodel
from neurodose.pk.solve import concentrations, validate_times

if TYPE_CHECKING:
    from neurodose.pd.occupancy import DrugTargets
    from neurodose.pd.pain import PainResult
    from neurodose.pd.params import PDParameters
    from neurodose.pd.unknowns import UnknownReport

__all__ = [
    "MAX_POPULATION",
    "MAX_POPULATION_POINTS",
    "Drives",
    "PDResult",
    "SimulationResult",
    "band_notes",
    "daily_drives",
    "daily_sample_times",
    "explain",
    "population_chunk",
    "simulate",
    "tdm_reference_range",
    "terminal_half_lives",
]

# caps of a population simulation: neurodose.limits (the same at every door)

Arr = NDArray[np.float64]


def daily_sample_times(days: int, samples_per_day: int) -> Arr:
    """PK sampling times (h) for days 1..``days``: the midpoints of ``samples_per_day``
    equal bins of each day, shape ``(days * samples_per_day,)``.

    >>> daily_sample_times(2, 4).tolist()
    [3.0, 9.0, 15.0, 21.0, 27.0, 33.0, 39.0, 45.0]
    """
    step = 24.0 / samples_per_day
    offsets = np.arange(samples_per_day) * step + step / 2.0
    return np.asarray((np.arange(days)[:, None] * 24.0 + offsets[None, :]).ravel())


@dataclass(frozen=True)
class Drives:
    """Target occupancy on a daily grid and the daily drives of the PD models.

    Attributes
    ----------
    targets : DrugTargets
        The drug's targets, affinities and analytes (``pd.occupancy.drug_targets``).
    occupancy : dict[target, ndarray (n, days * samples_per_day)]
        Occupancy (0-1) at the sampling times of :func:`daily_sample_times`.
    mean : dict[target, ndarray (n, days)]
        Daily mean occupancy: the drive of the pain model.
    peak : dict[target, ndarray (n, days)]
        Daily maximum occupancy: the drive of the adverse-effect model.
    """

    targets: DrugTargets
    occupancy: dict[str, Arr]
    mean: dict[str, Arr]
    peak: dict[str, Arr]
    days: int
    samples_per_day: int


def daily_drives(
    drug: str,
    conc_ng_ml: Mapping[str, Arr],
    days: int,
    pd: PDParameters,
    *,
    samples_per_day: int,
    exclude: Iterable[str] = (),
) -> Drives:
    """Occupancy and daily drives from total concentrations on the daily grid.

    Parameters
    ----------
    drug : str
    conc_ng_ml : mapping analyte -> ndarray (n, days * samples_per_day)
        Total concentrations (ng/mL) at :func:`daily_sample_times` ``(days, samples_per_day)``.
    days : int
    pd : PDParameters
        Site factors and calibrated potencies (``pd.params.load_pd_parameters``).
    samples_per_day : int
    exclude : iterable of str
        Targets left out of the drives (mechanism knock-out); still in ``occupancy``.
    """
    from neurodose.pd.occupancy import drug_occupancy, drug_targets

    tg = drug_targets(drug)
    occ = drug_occupancy(tg, dict(conc_ng_ml), pd)
    skip = set(exclude)
    mean: dict[str, Arr] = {}
    peak: dict[str, Arr] = {}
    for t, o in occ.items():
        if t in skip:
            continue
        y = o.reshape(o.shape[0], days, samples_per_day)
        mean[t], peak[t] = y.mean(axis=2), y.max(axis=2)
    return Drives(tg, occ, mean, peak, days, samples_per_day)


@dataclass(frozen=True)
class PDResult:
    """The PD end of :func:`simulate` for one typical patient.

    Attributes
    ----------
    drives : Drives
        Occupancy and daily drives (n = 1).
    pain : PainResult
        Daily pain, sleep interference, drug-attributable relief and pathway shares
        (no placebo response, sensitivity 1, ``baseline_pain`` at day 0).
    adverse : dict[effect, dict]
        Per adverse effect: the reached driver ``targets``, their ``gains`` and the
        ``intensity`` over time (ndarray (T,); before tolerance, 1 = threshold of a
        median patient).
    baseline_pain : float
    unknowns : UnknownReport or None
        What rests on an affinity the knowledge base lacks (:mod:`neurodose.pd.unknowns`):
        unknown pathways, relief or adverse effects that are not computable.
    """

    drives: Drives
    pain: PainResult
    adverse: dict[str, dict[str, Any]]
    baseline_pain: float
    unknowns: UnknownReport | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``simulate --pd`` JSON block: relief, pathway shares, AE drivers, unknowns."""
        rep = self.unknowns
        nc = rep.relief_not_computable if rep else None
        relief = None if nc else [round(float(x), 4) for x in self.pain.relief_drug[0]]
        return {
            "days": self.drives.days,
            "relief": {
                "drug_attributable_fraction": relief,
                "not_computable": nc,
                "rests_on_unknown": rep.relief_rests_on if rep else [],
                "caveat": rep.relief_caveat() if rep else None,
            },
            "pathway_share_last_day": {
                k: (
                    None
                    if rep and rep.pathway_status.get(k) == "unknown"
                    else round(float(v[0, -1]), 4)
                )
                for k, v in self.pain.pathways.items()
            },
            "pathway_status": dict(rep.pathway_status) if rep else {},
            "adverse_not_computable": dict(rep.adverse_not_computable) if rep else {},
            "rests_on_unknown": rep.to_json() if rep else [],
        }


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
    pd : PDResult or None                          occupancy -> pain, AEs (``pd=``)
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
    pd: PDResult | None = None

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
        } | ({"pd": self.pd.to_json()} if self.pd is not None else {})

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), allow_nan=False)


def _list(a: Arr) -> list[float]:
    return [float(round(x, 6)) for x in np.asarray(a, dtype=np.float64)]


def _trough_ss(ps: ParameterSet, regimen: Regimen) -> dict[str, float | None]:
    last = regimen.events[-1]
    if last.ii <= 0:
        return dict.fromkeys(ps.model.analytes)
    if ps.values["tlag"] >= last.ii:
        return dict.fromkeys(ps.model.analytes)
    if ps.model.saturable:
        # no closed-form steady state for a nonlinear model: repeat the last dose for ten
        # saturated (longest) half-lives and take the last interval
        v = ps.values
        hl = math.log(2.0) * v["V"] / v["CL"]
        n_doses = max(2, math.ceil(10.0 * hl / last.ii) + 1)
        rep = Regimen(
            (DoseEvent(amt=last.amt, time=0.0, ii=last.ii, addl=n_doses - 1, route=last.route),)
        )
        t0 = (n_doses - 1) * last.ii
        t = np.linspace(t0, t0 + last.ii, 241)
        c = concentrations(ps.model, ps.values, rep, t)
        return {a: float(v_[0].min()) for a, v_ in c.items()}
    ss = Regimen((DoseEvent(amt=last.amt, time=0.0, ii=last.ii, ss=1, route=last.route),))
    t = np.linspace(0.0, last.ii, 241)
    c = concentrations(ps.model, ps.values, ss, t)
    return {a: float(v[0].min()) for a, v in c.items()}


def _steady_state_consistent(
    analyte: str, s: dict[str, float | None], t: Arr, c: Arr, regimen: Regimen
) -> list[str]:
    """Keep the summary consistent (Cmin <= Cmax): the steady-state trough of the last
    dose continued indefinitely is reported only if the simulated course reaches it;
    otherwise it is withheld with a note, and the trough of the last simulated dosing
    interval (``cmin_last_interval_ng_per_ml``) is given instead."""
    last = regimen.events[-1]
    t_last = regimen.last_dose_time
    window = (t >= t_last) & (t <= t_last + last.ii) if last.ii > 0 else np.zeros_like(t, bool)
    s["cmin_last_interval_ng_per_ml"] = (
        float(c[window].min()) if window.any() and t[-1] >= t_last + last.ii else None
    )
    ss, cmax = s.get("cmin_ss_ng_per_ml"), s.get("cmax_ng_per_ml")
    if ss is None or cmax is None or ss <= cmax:
        return []
    s["cmin_ss_ng_per_ml"] = None
    hl = s.get("half_life_h")
    why = f" (t1/2 {hl:.3g} h)" if hl else ""
    return [
        f"{analyte}: steady state not reached within the regimen{why}: its steady-state "
        f"trough ({ss:.3g} ng/mL) would exceed every simulated level (Cmax {cmax:.3g} "
        "ng/mL), so Cmin,ss is not shown; cmin_last_interval_ng_per_ml is the simulated "
        "trough of the last dosing interval"
    ]


def renal_range_notes(spec: Any, patient: Patient | None) -> list[str]:
    """Where a PK parameter scales with renal function (CrCl or SCr) and this patient's
    lies on the impaired side of the model's reference: the range of renal function the
    model was built on is not stored in the knowledge base, so it is stated as unknown
    (never invented) and the prediction flagged as a possible extrapolation."""
    if patient is None:
        return []
    from neurodose.pk.individual import covariate_values

    cov = covariate_values(patient, spec)
    out: list[str] = []
    for cv in spec.covariates:
        if cv.covariate not in ("crcl", "scr") or cv.reference is None:
            continue
        x = cov.get(cv.covariate)
        if not isinstance(x, int | float) or isinstance(x, bool):
            continue
        ref = float(cv.reference.value)
        impaired = x > ref if cv.covariate == "scr" else x < ref
        if not impaired:
            continue
        what = "serum creatinine" if cv.covariate == "scr" else "creatinine clearance"
        unit = "mg/dL" if cv.covariate == "scr" else "mL/min"
        out.append(
            f"RENAL RANGE: {spec.name}'s {cv.parameter} scales with {what} "
            f"({cv.reference.source}, reference {ref:g} {unit}); the range of renal function "
            f"that model was built on is not stored in the knowledge base (unknown), so at "
            f"{what} {x:.3g} {unit} the prediction may extrapolate beyond it"
        )
    return out


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


def _after_dose(t_h: float, dose_times: Arr) -> float | None:
    """Hours from the most recent dose at or before ``t_h`` (``None`` before the first dose)."""
    before = dose_times[dose_times <= t_h + 1e-9]
    return float(t_h - before.max()) if before.size else None


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
    pd: PDParameters | bool | None = None,
    days: float | None = None,
    samples_per_day: int = 24,
    baseline_pain: float = 7.0,
    progress: Callable[[int, int], None] | None = None,
    formulation: str | None = None,
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
        half-lives of the longest-lived analyte; with ``pd``, the daily grid of
        :func:`daily_sample_times` (``days`` x ``samples_per_day``).
    population : int, optional
        Number of virtual subjects (IIV) for p05/p50/p95 bands (at most
        :func:`~neurodose.limits.population_allowed`); beyond one chunk of
        :data:`~neurodose.limits.POPULATION_CHUNK_POINTS` they are streamed and a note
        states their precision.
    seed : int, optional
    draw_genotypes : bool
        Population only: draw phenotypes from the shared frequencies.
    pd : PDParameters or True, optional
        Continue down the chain to occupancy, daily drives, pain and adverse-effect
        drivers (``True``: the knowledge-base PD parameter set); the result's ``pd``.
    days : float, optional
        With ``pd``: the horizon in days (whole days; default 42).
    samples_per_day : int
        With ``pd``: PK samples per day for the daily drives (default hourly).
    baseline_pain : float
        With ``pd``: the typical patient's 0-10 pain at day 0.
    progress : callable, optional
        ``progress(done, population)`` after each chunk of virtual subjects.
    formulation : str, optional
        A formulation of the drug's PK model (e.g. venlafaxine ``"extended_release"``);
        default: the model's own absorption.
    """
    if not isinstance(regimen, Regimen):
        raise InputError("regimen", type(regimen).__name__, "a neurodose.case.Regimen")
    comeds = list(comedications)
    n_days = 0
    if pd is not None and pd is not False:
        n_days, times_h = _pd_grid(times_h, days, samples_per_day)
    with citations.tracking() as used:
        spec = get_pkmodel(drug)
        ps = individual_parameters(drug, patient, comeds, formulation=formulation)
        hl = terminal_half_lives(ps)
        t = _default_times(ps, hl, regimen) if times_h is None else validate_times(times_h)
        conc = concentrations(ps.model, ps.values, regimen, t, changes=ps.changes)
        conc1 = {a: c[0] for a, c in conc.items()}
        unbound = {a: c * ps.fu.get(a, 1.0) for a, c in conc1.items()}
        summary, extra_notes = _summaries(t, conc1, hl, _trough_ss(ps, regimen), regimen)
        extra_notes += renal_range_notes(spec, patient)
        pop: dict[str, dict[str, Arr]] = {}
        if population is not None:
            streamed = _population_bands(
                drug,
                regimen,
                t,
                population,
                seed,
                patient,
                comeds,
                draw_genotypes,
                progress,
                formulation=formulation,
            )
            pop = streamed.bands
            extra_notes += band_notes(streamed)
        tdm_range = _tdm_range(spec.name)
        citations.register_many(ps.sources)
        pd_result = None
        if n_days and pd is not None:
            pd_result = _pd_chain(
                spec.name,
                conc,
                n_days,
                samples_per_day,
                pd,
                baseline_pain,
                age=patient.age if patient is not None else None,
            )
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
        notes=(*ps.notes, *extra_notes),
        pd=pd_result,
    )


def _pd_grid(
    times_h: ArrayLike | None, days: float | None, samples_per_day: int
) -> tuple[int, Arr]:
    """Whole days (default 42) and the daily sample times of the PD chain."""
    if times_h is not None:
        raise InputError("times_h", "given", "no times with pd (the PD chain samples each day)")
    horizon = 42.0 if days is None else days
    if not horizon >= 1:
        raise InputError("days", days, "at least 1 day")
    n_days = max(1, round(horizon))
    return n_days, daily_sample_times(n_days, samples_per_day)


def _default_times(ps: Any, hl: Mapping[str, float], regimen: Regimen) -> Arr:
    """Hourly from 0 to the last dose + five terminal half-lives of the longest-lived
    analyte (a saturable model: its linear-part half-life counts too)."""
    longest = max(hl.values())
    if ps.model.saturable:  # saturated (linear-part) half-life is the longest
        longest = max(longest, math.log(2.0) * ps.values["V"] / ps.values["CL"])
    end = regimen.last_dose_time + 5.0 * longest
    return np.arange(0.0, math.ceil(end) + 1e-9, 1.0)


def _summaries(
    t: Arr,
    conc1: Mapping[str, Arr],
    hl: Mapping[str, float],
    trough: Mapping[str, float | None],
    regimen: Regimen,
) -> tuple[dict[str, dict[str, float | None]], list[str]]:
    """Per-analyte summaries, and notes where the steady-state trough is withheld."""
    summary: dict[str, dict[str, float | None]] = {}
    notes: list[str] = []
    dose_times = regimen.expand().times
    for a, c in conc1.items():
        s: dict[str, float | None] = dict(_summary(t, c))
        s["tmax_after_dose_h"] = _after_dose(float(s["tmax_h"] or 0.0), dose_times)
        s["half_life_h"] = hl[a]
        s["cmin_ss_ng_per_ml"] = trough[a]
        notes += _steady_state_consistent(a, s, t, c, regimen)
        summary[a] = s
    return summary, notes


def population_chunk(n_times: int) -> int:
    """Virtual subjects simulated at once for ``n_times`` time points
    (:data:`~neurodose.limits.POPULATION_CHUNK_POINTS` subject-time points)."""
    return max(POPULATION_CHUNK_POINTS // max(n_times, 1), 1)


def band_notes(streamed: _population.StreamedBands) -> list[str]:
    """The note stating how streamed bands were made (none when exact)."""
    if streamed.precision is None:
        return []
    return [
        f"population bands streamed: {streamed.n:,} virtual subjects in {streamed.chunks:,} "
        "chunks; each percentile is read from log-spaced histograms per time point, within "
        f"{streamed.precision:.2%} of the exact percentile (values below 1e-9 of the peak "
        "count as 0)"
    ]


def _population_bands(
    drug: str,
    regimen: Regimen,
    t: Arr,
    population: int,
    seed: int | None,
    patient: Patient | None,
    comeds: list[Any],
    draw_genotypes: bool,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk: int | None = None,
    exact: bool | None = None,
    then: Callable[[dict[str, Arr]], Mapping[str, Arr]] | None = None,
    formulation: str | None = None,
) -> _population.StreamedBands:
    """p05/p50/p95 of ``population`` virtual subjects (of ``then(concentrations)`` when
    given), streamed in chunks (:func:`population_chunk`, or ``chunk``) beyond one chunk;
    exact within one chunk unless ``exact=False``."""
    if isinstance(population, bool) or int(population) != population or population < 1:
        raise InputError("population", population, "a whole number >= 1")
    population_allowed(int(population), len(t))
    cache: dict[tuple[str, ...], ParameterSet] = {}

    def draw(m: int, s: int | None) -> Mapping[str, Arr]:
        pp = _population.sample(
            drug,
            m,
            s,
            patient=patient,
            comedications=comeds,
            draw_genotypes=draw_genotypes,
            horizon_h=float(t[-1]),
            cache=cache,
            formulation=formulation,
        )
        pc = _population.simulate_population(pp, regimen, t)
        return pc if then is None else then(pc)

    return _population.streamed_bands(
        draw,
        int(population),
        seed,
        chunk or population_chunk(len(t)),
        precision=POPULATION_BAND_PRECISION,
        max_cells=POPULATION_BAND_CELLS,
        exact=exact,
        progress=progress,
    )


def _tdm_range(name: str) -> Any:
    """The knowledge base's TDM range of a drug (None: no drug record for the model)."""
    try:
        rec = record(name)  # registers nothing: only the TDM source is cited
    except UnknownDrugError:  # a PK model without a drug record
        return None
    return tdm_reference_range(rec)


def _pd_chain(
    drug: str,
    conc: Mapping[str, Arr],
    days: int,
    samples_per_day: int,
    pd: PDParameters | bool,
    baseline_pain: float,
    age: float | None = None,
) -> PDResult:
    """Occupancy -> daily drives -> pain and AE drivers for one typical patient.

    With ``age`` (years) the intensity of the age-susceptible effects is scaled by
    :func:`neurodose.pd.adverse.age_susceptibility`.
    """
    from neurodose.pd.adverse import ae_gain, age_susceptibility
    from neurodose.pd.occupancy import uses_pet_occupancy
    from neurodose.pd.pain import simulate_pain
    from neurodose.pd.params import load_pd_parameters

    params = load_pd_parameters() if pd is True else pd
    assert not isinstance(params, bool)
    tg = _targets(drug)
    analyte_conc = {a.name: np.asarray(conc[a.name]) for a in tg.analytes}
    drives = daily_drives(drug, analyte_conc, days, params, samples_per_day=samples_per_day)
    citations.register_many(tg.sources(in_vivo=uses_pet_occupancy(params)))
    pain = simulate_pain(
        drives.mean,
        np.array([baseline_pain]),
        np.array([0.0]),
        np.array([1.0]),
        params,
        days=days,  # a drug with no target affinities in the KB (tramadol) has no arrays
    )
    occ = drives.occupancy
    adverse: dict[str, dict[str, Any]] = {}
    for name, ae in params.adverse_effects.items():
        reached = [t for t in ae.drivers if t in occ and t not in ae.unknown_gain]
        if not reached:
            continue
        gains = {t: ae_gain(params, name, t, drug) for t in reached}
        s_age = float(age_susceptibility(params, age)) if ae.age_susceptible else 1.0
        adverse[name] = {
            "targets": reached,
            "gains": gains,
            "intensity": s_age * sum(gains[t] * occ[t][0] for t in reached),
            "age_susceptibility": s_age,
            "low_trust": [t for t in reached if any(b.low_trust for b in tg.bindings.get(t, ()))],
        }
    from neurodose.pd.unknowns import assess

    aes = params.adverse_effects.items()
    unknowns = assess(
        tg, set(occ), {k: a.drivers for k, a in aes}, {k: a.unknown_gain for k, a in aes}
    )
    for name, why in unknowns.adverse_not_computable.items():
        adverse[name] = {"not_computable": why}
    for name, ts in unknowns.adverse_partial.items():
        if name in adverse:
            adverse[name]["rests_on_unknown"] = list(ts)
    return PDResult(drives, pain, adverse, float(baseline_pain), unknowns)


def _targets(drug: str) -> DrugTargets:
    from neurodose.pd.occupancy import drug_targets

    return drug_targets(drug)


def explain(
    drug: str,
    regimen: Regimen,
    patient: Patient | None = None,
    comedications: Iterable[Comedication | str] = (),
    days: float = 42.0,
    baseline_pain: float = 7.0,
    population: int | None = None,
    seed: int | None = None,
    formulation: str | None = None,
) -> dict[str, Any]:
    """Why a drug relieves pain and what drives its side effects (JSON-ready).

    Runs :func:`simulate` with ``pd`` on an hourly grid for ``days`` and reports, for
    one typical patient: the occupancy of every target over time, each pathway's
    share of the modelled relief, the relief and pain trajectories, the intensity of
    each adverse-effect driver, the affinities used and the sources.

    Parameters
    ----------
    drug : str
    regimen : Regimen
    patient : Patient, optional
    comedications : iterable, optional
        As for :func:`simulate` (PK interactions only).
    days : float
        Horizon (whole days are used by the daily pain model).
    baseline_pain : float
        Baseline 0-10 pain for the illustrative pain trajectory.
    population : int, optional
        Virtual subjects (PK IIV; CYP phenotypes drawn unless the patient fixes them):
        adds p05/p50/p95 occupancy bands per target (``occupancy[target]["population"]``).
    seed : int, optional
        Random seed for ``population``.
    formulation : str, optional
        A formulation of the drug's PK model, as for :func:`simulate`.
    """
    with citations.tracking() as used:
        res = simulate(
            drug,
            regimen,
            patient,
            comedications,
            pd=True,
            days=days,
            samples_per_day=24,
            baseline_pain=baseline_pain,
            formulation=formulation,
        )
    assert res.pd is not None
    tg = res.pd.drives.targets
    occ = res.pd.drives.occupancy
    pain = res.pd.pain
    n_days = res.pd.drives.days
    times = res.times_h
    from neurodose.pd.condition_efficacy import by_condition, condition_sources
    from neurodose.pd.occupancy import TARGETS

    bands: dict[str, dict[str, list[float]]] = {}
    band_note: list[str] = []
    if population is not None:
        with citations.tracking() as used_pop:
            bands, band_note = _occupancy_bands(
                drug,
                regimen,
                times,
                tg,
                population,
                seed,
                patient,
                comedications,
                formulation=formulation,
            )
        used = set(used) | set(used_pop)
    occupancy = {
        t: {"time_h": times.tolist(), "fraction": [round(float(x), 5) for x in occ[t][0]]}
        | ({"population": bands[t]} if t in bands else {})
        for t in TARGETS
        if t in occ
    }
    rep = res.pd.unknowns
    assert rep is not None
    ebc = by_condition(tg.drug)
    return {
        "drug": tg.drug,
        "regimen": repr(regimen),
        "occupancy": occupancy,
        "unavailable_targets": dict(tg.unavailable),
        "pathways": {
            k: _pathway_json(v, rep.pathway_status.get(k, "modelled"), n_days)
            for k, v in pain.pathways.items()
        },
        "relief": _relief_json(pain, rep, n_days),
        "side_effect_drivers": {name: _driver_json(d) for name, d in res.pd.adverse.items()},
        "affinities": {t: [_binding_json(b) for b in bs] for t, bs in tg.bindings.items()},
        "unverified_inputs": tg.unverified(),
        "low_trust_inputs": tg.low_trust(),
        "rests_on_unknown": rep.to_json(),
        "efficacy_by_condition": ebc,
        "notes": [
            "typical patient (no placebo response, sensitivity 1); docs/model.md",
            "relief as calibrated in diabetic neuropathy; other aetiologies: efficacy_by_condition",
            "ion-channel sites use calibrated site factors (channel_site_factor, "
            "nmda_site_factor); descending inhibition is a saturable Emax of SERT/NET "
            "occupancy (calibrated maximum); alpha2delta potency of gabapentinoids is "
            "calibrated",
            *band_note,
        ],
        "sources": sorted(set(used) | set(res.sources) | condition_sources(ebc)),
    }


def _occupancy_bands(
    drug: str,
    regimen: Regimen,
    times: Arr,
    tg: Any,
    population: int,
    seed: int | None,
    patient: Patient | None,
    comedications: Iterable[Comedication | str],
    formulation: str | None = None,
) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """p05/p50/p95 occupancy per target of ``population`` virtual subjects (CYP
    phenotypes drawn unless the patient fixes them; streamed as concentration bands),
    and the note stating a streamed band's precision."""
    from neurodose.pd.occupancy import drug_occupancy
    from neurodose.pd.params import load_pd_parameters

    pd_params = load_pd_parameters()

    def occupancy(pc: dict[str, Arr]) -> Mapping[str, Arr]:
        return drug_occupancy(tg, {a.name: pc[a.name] for a in tg.analytes}, pd_params)

    comeds = list(comedications)
    streamed = _population_bands(
        drug,
        regimen,
        times,
        population,
        seed,
        patient,
        comeds,
        True,
        then=occupancy,
        formulation=formulation,
    )
    bands = {
        t: {k: [round(float(x), 5) for x in v] for k, v in b.items()}
        for t, b in streamed.bands.items()
    }
    return bands, band_notes(streamed)


def _pathway_json(v: Arr, st: str, n_days: int) -> dict[str, Any]:
    """One pathway's share of the relief by day (None where its affinity is unknown)."""
    entry: dict[str, Any] = {"day": list(range(n_days + 1)), "status": st}
    if st == "unknown":
        # not zero: no analyte of the drug has a known affinity at this target
        entry["share_of_relief"] = None
        entry["unknown"] = "affinity unknown (not in the knowledge base); no value"
        return entry
    entry["share_of_relief"] = [round(float(x), 4) for x in v[0]]
    if st == "partial":
        entry["unknown"] = "lower bound: some analytes' affinity unknown"
    return entry


def _driver_json(d: Mapping[str, Any]) -> dict[str, Any]:
    """One adverse-effect driver: its targets, gains and peak intensity."""
    if "not_computable" in d:
        return {"targets": [], "peak_intensity": None, "not_computable": d["not_computable"]}
    return {
        "targets": d["targets"],
        "gains": {t: round(g, 4) for t, g in d["gains"].items()},
        "peak_intensity": round(float(np.max(d["intensity"])), 4),
        "age_susceptibility": round(d["age_susceptibility"], 4),
        "low_trust_targets": d["low_trust"],
        "rests_on_unknown": d.get("rests_on_unknown", []),
        "note": "intensity before tolerance (x age susceptibility where it applies); "
        "1 = threshold of a median patient"
        + ("; a lower bound (some drivers unknown)" if d.get("rests_on_unknown") else ""),
    }


def _relief_json(pain: Any, rep: Any, n_days: int) -> dict[str, Any]:
    nc = rep.relief_not_computable
    return {
        "day": list(range(n_days + 1)),
        "drug_attributable_fraction": (
            None if nc else [round(float(x), 4) for x in pain.relief_drug[0]]
        ),
        "pain_without_placebo": None if nc else [round(float(x), 3) for x in pain.pain[0]],
        "sleep_interference": None if nc else [round(float(x), 3) for x in pain.sleep[0]],
        "not_computable": nc,
        "rests_on_unknown": rep.relief_rests_on,
        "caveat": rep.relief_caveat(),
    }


def _binding_json(b: Any) -> dict[str, Any]:
    return {
        "analyte": b.analyte,
        "K_nM": round(b.K_nM, 4),
        "kind": b.kind,
        "verified": b.verified,
        "low_trust": b.low_trust,
        "sources": list(b.sources),
        "note": b.note,
    }
