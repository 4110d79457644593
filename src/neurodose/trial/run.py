"""Chunked, seeded virtual-trial runner (local or Dask), streaming summaries.

Each arm is split into chunks of at most ``chunk_size`` patients. Chunk ``c``
of arm ``a`` draws everything from ``SeedSequence([seed, a, c])``, so a chunk's
result does not depend on where or in which order it runs; chunk results are
additive sums (:class:`~neurodose.trial.endpoints.ArmAccumulator`) merged in
chunk order, which makes a Dask run equal to a local run for the same seed.
Only sums are kept: memory is bounded by one chunk per worker.

Per chunk: PD population -> PK concentrations (``neurodose.trial.exposure``,
the PK engine's population API) on a 6-hourly grid -> occupancy and daily drives
(daily mean for efficacy, daily maximum for adverse effects;
:func:`neurodose.simulation.daily_drives`, the shared stage) -> pain model, adverse effects,
AE withdrawal, other dropout, discontinuation symptoms -> ITT endpoints with
the design's imputation (BOCF default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose import citations
from neurodose.case.regimen import Regimen
from neurodose.errors import InputError
from neurodose.inputs import count
from neurodose.knowledge import get_drug
from neurodose.pd.adverse import FALL_RISK, discontinuation_symptoms, simulate_adverse
from neurodose.pd.condition_efficacy import condition_efficacy, condition_nnt
from neurodose.pd.occupancy import alpha2delta_k_nm, drug_targets, uses_pet_occupancy
from neurodose.pd.pain import PATHWAYS, simulate_pain
from neurodose.pd.params import PDParameters, load_pd_parameters
from neurodose.pd.unknowns import UnknownReport, assess
from neurodose.simulation import daily_drives, daily_sample_times
from neurodose.trial.design import Arm, Design
from neurodose.trial.endpoints import ArmAccumulator, nnt
from neurodose.trial.population import PDPopulation, sample_population

__all__ = [
    "BYTES_PER_PATIENT_DAY",
    "CHUNK_MEMORY_BYTES",
    "MAX_CHUNK_SIZE",
    "MAX_PER_SUBJECT",
    "SAMPLES_PER_DAY",
    "SCHEDULER_TIMEOUT_S",
    "ChunkSpec",
    "TrialResult",
    "bounded_chunk_size",
    "connect_scheduler",
    "run_chunk",
    "run_trial",
    "scheduler_timeout",
]

Array = NDArray[np.float64]
ExposureFn = Callable[[str, Regimen, PDPopulation, np.random.Generator, Array], dict[str, Array]]

#: PK sampling grid within each day (h after the day's start); occupancy is averaged
#: (efficacy) or maximised (adverse effects) over these points
SAMPLES_PER_DAY = 4


@dataclass(frozen=True)
class ChunkSpec:
    """One unit of work: ``n`` patients of arm ``arm_index``, chunk ``chunk_index``."""

    arm_index: int
    chunk_index: int
    n: int


def _default_exposure() -> ExposureFn:
    from neurodose.trial.exposure import population_concentrations

    return population_concentrations


def sample_times(days: int) -> Array:
    """PK sampling times (h) for days 1..``days``: shape (days * SAMPLES_PER_DAY,)."""
    return daily_sample_times(days, SAMPLES_PER_DAY)


def _weekly(x: Array, weeks: int) -> Array:
    """(n, days + 1) daily -> (n, weeks + 1): col 0 = day 0, col w = mean of week w."""
    n = x.shape[0]
    out = np.empty((n, weeks + 1))
    out[:, 0] = x[:, 0]
    out[:, 1:] = x[:, 1:].reshape(n, weeks, 7).mean(axis=2)
    return out


def run_chunk(
    design: Design,
    spec: ChunkSpec,
    params: PDParameters | None = None,
    exposure: ExposureFn | None = None,
    per_subject: bool = False,
) -> ArmAccumulator:
    """Simulate one chunk and return its sums (pure function of design, spec and seed).

    With ``per_subject`` the accumulator also keeps each patient's outcomes
    (:data:`SUBJECT_COLUMNS`) for the per-subject CSV.
    """
    params = params or load_pd_parameters()
    if design.population:
        params = params.with_values(**{k: v for k, v in design.population.items() if params.has(k)})
    arm = design.arms[spec.arm_index]
    ss = np.random.SeedSequence([design.seed, spec.arm_index, spec.chunk_index])
    r_pd, r_pk, r_ae, r_disc, r_drop = (np.random.default_rng(s) for s in ss.spawn(5))
    n, days = spec.n, design.days
    pop = sample_population(n, design.condition, params, r_pd, design.population)
    ex = _Exposure.none(n)
    if not arm.is_placebo:
        ex = _drug_exposure(design, arm, pop, params, r_pk, exposure)
    pain = simulate_pain(ex.occ_mean, pop.baseline, pop.placebo, pop.eta, params, days=days)
    stop_day = design.stop.day if design.stop else days + 1
    on_drug = np.broadcast_to(np.arange(1, days + 1)[None, :] < stop_day, (n, days))
    ae = simulate_adverse(
        ex.occ_max or {"SERT": np.zeros((n, days))},
        params,
        r_ae,
        exposed=np.array(on_drug),
        age=pop.age,
        drug=None if arm.is_placebo else arm.drug,
    )
    other_day = _other_dropout_day(design, r_drop, n)
    disc = np.zeros(n, dtype=bool)
    if design.stop is not None:
        disc = discontinuation_symptoms(
            ex.occ_mean or {"SERT": np.zeros((n, days))},
            stop_day,
            params,
            r_disc,
            not arm.is_placebo,
        )
    wd_ae = ae.withdrawal_day
    ae_first = wd_ae <= other_day
    drop_day = np.minimum(wd_ae, other_day)
    out = _Outcomes(
        pop.baseline, drop_day, ae_first, *_impute(design, pain, pop.baseline, drop_day)
    )
    acc = out.accumulator(design.weeks, ae, ex, disc)
    if per_subject:
        acc.subjects = out.subjects(ae.any_ae)
    if not arm.is_placebo:
        # drug-attributable relief < 10 % at the end of the on-drug period
        end_day = min(stop_day - 1, days)
        acc.drug_nonresponders = int((pain.relief_drug[:, end_day] < 0.10).sum())
    _weekly_sums(acc, design.weeks, out, ae, ex, pain)
    return acc


@dataclass(frozen=True)
class _Exposure:
    """One chunk's daily occupancy drives (mean for efficacy, peak for adverse effects)
    and who crossed the drug's TDM alert level."""

    occ_mean: dict[str, Array]
    occ_max: dict[str, Array]
    cardiac: NDArray[np.bool_]

    @classmethod
    def none(cls, n: int) -> _Exposure:
        return cls({}, {}, np.zeros(n, dtype=bool))


def _drug_exposure(
    design: Design,
    arm: Arm,
    pop: PDPopulation,
    params: PDParameters,
    rng: np.random.Generator,
    exposure: ExposureFn | None,
) -> _Exposure:
    """PK concentrations on the sampling grid -> daily occupancy drives; the
    concentration matrix is dropped before the pain model runs."""
    exposure = exposure or _default_exposure()
    days, drug = design.days, arm.drug
    regimen = design.regimen(arm)
    assert regimen is not None  # not placebo
    conc = exposure(drug, regimen, pop, rng, sample_times(days))
    drives = daily_drives(
        drug, conc, days, params, samples_per_day=SAMPLES_PER_DAY, exclude=design.knockout
    )
    cardiac = np.zeros(pop.baseline.shape[0], dtype=bool)
    rec = get_drug(drug)
    if rec.tdm is not None and rec.tdm.alert is not None:
        total = sum(conc[a] for a in rec.tdm.analytes if a in conc)
        if isinstance(total, np.ndarray):
            cardiac = np.asarray((total >= rec.tdm.alert.canonical()).any(axis=1))
    return _Exposure(drives.mean, drives.peak, cardiac)


def _other_dropout_day(design: Design, rng: np.random.Generator, n: int) -> Array:
    """Dropout for other reasons: weekly probability, the day uniformly within the week
    (``inf`` = none)."""
    other_day = np.full(n, np.inf)
    if design.dropout_other_weekly > 0:
        hit = rng.random((n, design.weeks)) < design.dropout_other_weekly
        wk = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        within = rng.integers(1, 8, n)
        other_day = np.where(wk >= 0, wk * 7 + within, np.inf).astype(float)
    return other_day


def _impute(design: Design, pain: Any, base: Array, drop_day: Array) -> tuple[Array, Array]:
    """Daily pain and sleep after dropout imputed by the design's rule (BOCF or LOCF)."""
    n, days = base.shape[0], design.days
    daily = pain.pain.copy()
    sleep = pain.sleep.copy()
    after = np.arange(days + 1)[None, :] >= drop_day[:, None]
    if design.imputation == "BOCF":
        return np.where(after, base[:, None], daily), np.where(after, sleep[:, :1], sleep)
    last = np.clip(drop_day - 1, 0, days).astype(int)
    last = np.where(np.isfinite(drop_day), last, days)
    lv = daily[np.arange(n), last]
    ls = sleep[np.arange(n), last]
    return np.where(after, lv[:, None], daily), np.where(after, ls[:, None], sleep)


@dataclass(frozen=True)
class _Outcomes:
    """One chunk's imputed daily outcomes and dropouts."""

    base: Array
    drop_day: Array
    ae_first: NDArray[np.bool_]
    daily: Array
    sleep: Array

    @property
    def dropped(self) -> NDArray[np.bool_]:
        return np.isfinite(self.drop_day)

    @property
    def end(self) -> Array:
        """Mean pain of the last week."""
        return np.asarray(self.daily[:, -7:].mean(axis=1))

    @property
    def relief(self) -> Array:
        return (self.base - self.end) / self.base

    def accumulator(self, weeks: int, ae: Any, ex: _Exposure, disc: Any) -> ArmAccumulator:
        """The chunk's counts and sums (weekly series are added by :func:`_weekly_sums`)."""
        end, rel, dropped = self.end, self.relief, self.dropped
        acc = ArmAccumulator(weeks=weeks, ae_names=tuple(ae.incidence), targets=tuple(ex.occ_mean))
        acc.n = int(self.base.shape[0])
        acc.responders_30 = int((rel >= 0.3).sum())
        acc.responders_50 = int((rel >= 0.5).sum())
        acc.worse = int((end > self.base).sum())
        acc.sum_change = float((end - self.base).sum())
        acc.sum_baseline = float(self.base.sum())
        acc.withdrawal_ae = int((dropped & self.ae_first).sum())
        acc.withdrawal_other = int((dropped & ~self.ae_first).sum())
        acc.discontinuation = int(disc.sum())
        acc.any_ae = int(ae.any_ae.sum())
        acc.cardiac_alert = int(ex.cardiac.sum())
        return acc

    def subjects(self, any_ae: Any) -> dict[str, Array]:
        """Each patient's outcomes (:data:`SUBJECT_COLUMNS`)."""
        end, rel, dropped = self.end, self.relief, self.dropped
        return {
            "baseline_pain": self.base.astype(np.float64),
            "end_pain": end.astype(np.float64),
            "change": (end - self.base).astype(np.float64),
            "relief_fraction": rel.astype(np.float64),
            "responder_30": (rel >= 0.3).astype(np.float64),
            "responder_50": (rel >= 0.5).astype(np.float64),
            "withdrawal_ae": (dropped & self.ae_first).astype(np.float64),
            "withdrawal_other": (dropped & ~self.ae_first).astype(np.float64),
            "dropout_day": np.where(dropped, self.drop_day, np.nan).astype(np.float64),
            "any_adverse_event": np.asarray(any_ae, dtype=np.float64),
        }


def _weekly_sums(
    acc: ArmAccumulator, weeks: int, out: _Outcomes, ae: Any, ex: _Exposure, pain: Any
) -> None:
    """Weekly sums over the chunk's patients: pain, sleep, adverse-effect prevalence
    (while in the trial), occupancy and each pathway's share of relief."""
    n, days = out.daily.shape[0], out.daily.shape[1] - 1
    acc.weekly_pain = _weekly(out.daily, weeks).sum(axis=0)
    acc.weekly_sleep = _weekly(out.sleep, weeks).sum(axis=0)
    col = np.arange(1, days + 1)[None, :]
    for k, present in ae.drug_present.items():
        acc.ae_counts[k] = int(ae.incidence[k].sum())
        pres = np.zeros((n, days + 1))
        pres[:, 1:] = present & (col < out.drop_day[:, None])
        acc.weekly_ae_prevalence[k] = _weekly(pres, weeks).sum(axis=0)
    for t, o in ex.occ_mean.items():
        full = np.zeros((n, days + 1))
        full[:, 1:] = o
        acc.weekly_occupancy[t] = _weekly(full, weeks).sum(axis=0)
    for k in PATHWAYS:
        acc.weekly_relief_share[k] = _weekly(pain.pathways[k], weeks).sum(axis=0)


#: most patients (all arms) whose per-subject outcomes a run keeps (~ 80 MB)
MAX_PER_SUBJECT = 1_000_000

#: largest chunk (patients) a caller may ask for; :func:`bounded_chunk_size` lowers it to
#: what fits :data:`CHUNK_MEMORY_BYTES` for the trial's length
MAX_CHUNK_SIZE = 200_000

#: working memory of one chunk (bytes): with the interpreter and the knowledge base
#: (about 200 MB) a local run stays within 1 GB at any trial size
CHUNK_MEMORY_BYTES = 600 * 2**20

#: working memory per patient-day of a chunk (bytes): peak RSS measured with
#: ``/usr/bin/time -v`` at 104 weeks and two chunk sizes was about 320 (duloxetine) and
#: 490 (amitriptyline, two analytes); 600 leaves a margin
BYTES_PER_PATIENT_DAY = 600


def bounded_chunk_size(requested: int, days: int) -> int:
    """``requested`` patients per chunk, lowered so that one chunk of a ``days``-day
    trial fits :data:`CHUNK_MEMORY_BYTES`.

    >>> bounded_chunk_size(20_000, 84), bounded_chunk_size(20_000, 728)
    (12336, 1438)
    """
    fits = CHUNK_MEMORY_BYTES // (BYTES_PER_PATIENT_DAY * (days + 1))
    return max(1, min(requested, fits))


#: seconds to wait for a Dask scheduler (``NEURODOSE_SCHEDULER_TIMEOUT`` overrides)
SCHEDULER_TIMEOUT_S = 10.0

_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def scheduler_timeout() -> float:
    """Seconds to wait when connecting to a Dask scheduler (``NEURODOSE_SCHEDULER_TIMEOUT``)."""
    import os

    raw = os.environ.get("NEURODOSE_SCHEDULER_TIMEOUT")
    if raw is None or not raw.strip():
        return SCHEDULER_TIMEOUT_S
    from neurodose.inputs import finite_number

    return finite_number(
        raw, "NEURODOSE_SCHEDULER_TIMEOUT", low=0, low_inclusive=False, high=3600, unit="s"
    )


def connect_scheduler(address: str) -> Any:
    """A ``distributed.Client`` for ``address``, within :func:`scheduler_timeout` seconds.

    Raises
    ------
    InputError
        A malformed address, or no scheduler answering there in time (never hangs).
    """
    import re

    text = str(address).strip()
    m = re.fullmatch(r"([a-z]+)://([^\s/:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})", text)
    inproc = text.startswith("inproc://") and len(text) > len("inproc://")
    if not inproc and (not m or m.group(1) not in _SCHEMES or not 0 < int(m.group(3)) < 65536):
        raise InputError(
            "scheduler",
            address,
            "a Dask scheduler address SCHEME://HOST:PORT, e.g. tcp://127.0.0.1:8786 "
            f"(schemes: {', '.join(_SCHEMES)})",
        )
    timeout = scheduler_timeout()
    from distributed import Client

    try:
        _probe_scheduler(text, timeout)  # never leave a half-made Client behind
        return Client(text, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, comm errors: all mean "not reachable"
        if isinstance(exc, MemoryError | UnicodeError | ValueError | TypeError):
            reason = "something answered, but not with Dask messages"
        else:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(
            "scheduler",
            address,
            f"a reachable Dask scheduler (none answered within {timeout:g} s: {reason}; "
            "NEURODOSE_SCHEDULER_TIMEOUT sets the wait)",
        ) from None


def _probe_scheduler(address: str, timeout: float) -> None:
    """Ask ``address`` for its identity within ``timeout`` s; raise if it is no Dask scheduler."""
    import asyncio

    from distributed.comm import connect

    async def probe() -> None:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            answer = await comm.read()
        finally:
            comm.abort()
        if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
            raise OSError(f"{address} answered, but not as a Dask scheduler")

    async def bounded() -> None:
        await asyncio.wait_for(probe(), timeout)

    asyncio.run(bounded())


def plan_chunks(design: Design, chunk_size: int) -> list[ChunkSpec]:
    """The chunk plan: arms in order, each split into ``ceil(n / chunk_size)`` chunks."""
    chunk_size = count(chunk_size, "chunk-size", low=1, high=MAX_CHUNK_SIZE)
    out = []
    for a in range(len(design.arms)):
        k = math.ceil(design.n_per_arm / chunk_size)
        for c in range(k):
            out.append(ChunkSpec(a, c, min(chunk_size, design.n_per_arm - c * chunk_size)))
    return out


@dataclass(frozen=True)
class TrialResult:
    design: Design
    arms: Mapping[str, ArmAccumulator]
    sources: tuple[str, ...]
    chunk_size: int
    unavailable: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    unknowns: Mapping[str, UnknownReport] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: arms, comparisons vs placebo, sources.

        Unknown is not zero (docs/model.md §2.3): an arm whose drug has no relief pathway
        with a known affinity has its efficacy fields null with
        ``efficacy_not_computable``; an adverse effect none of whose drivers is known is
        null with its reason in ``adverse_events_not_computable``; every arm lists what
        it ``rests_on_unknown``, and so does the top level (with the arm named).
        """
        arms = {name: acc.summary() for name, acc in self.arms.items()}
        for name, why in self.unavailable.items():
            arms[name]["unavailable_targets"] = dict(why)
        rests: list[dict[str, Any]] = []
        drug_of = {a.name: a.drug for a in self.design.arms}
        for name, rep in self.unknowns.items():
            _mark_unknowns(arms[name], rep)
            rests += [{"arm": name, "drug": drug_of.get(name)} | u for u in rep.to_json()]
        comparisons = self._comparisons(arms)
        rests += _condition_unknowns(comparisons, self.design)
        return {
            "design": self._design_dict(),
            "arms": arms,
            "comparisons": comparisons,
            "rests_on_unknown": rests,
            "warnings": list(self.design.warnings),
            "notes": [
                "ITT; dropouts imputed by "
                + self.design.imputation
                + "; responders at the last week's mean",
                "NNT CI limit null = unbounded (risk-difference CI includes 0)",
                "PD model: docs/model.md; calibration is not validation (docs/claims.md)",
            ],
            "sources": list(self.sources),
        }

    def _design_dict(self) -> dict[str, Any]:
        d = self.design
        return {
            "name": d.name,
            "weeks": d.weeks,
            "condition": d.condition,
            "n_per_arm": d.n_per_arm,
            "seed": d.seed,
            "imputation": d.imputation,
            "stop_day": d.stop.day if d.stop else None,
            "taper_steps": d.stop.taper_steps if d.stop else None,
            "chunk_size": self.chunk_size,
        }

    def _comparisons(self, arms: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """Each active arm vs placebo: NNT (50 %, 30 %), NNH (AE withdrawal, each AE)."""
        pl = self.design.placebo
        if pl is None or not self.design.nnt:
            return {}
        p = self.arms[pl.name]
        out: dict[str, Any] = {}
        for arm in self.design.arms:
            if arm.is_placebo:
                continue
            c = _comparison(self.arms[arm.name], p, self.unknowns.get(arm.name), arms[arm.name])
            ce = condition_efficacy(arm.drug, self.design.condition)
            c["efficacy_basis"] = ce.basis
            c["efficacy_by_condition"] = {
                **ce.to_json(),
                "nnt_50_condition": condition_nnt(c["nnt_50"], ce),
            }
            out[f"{arm.name}_vs_{pl.name}"] = c
        return out


def _condition_unknowns(comparisons: Mapping[str, Any], design: Design) -> list[dict[str, Any]]:
    """Top-level ``rests_on_unknown`` entries for comparisons whose efficacy in the trial's
    condition is extrapolated (no drug-specific trial: the effect modifier is unknown)."""
    out: list[dict[str, Any]] = []
    for arm in design.arms:
        name = f"{arm.name}_vs_{design.placebo.name}" if design.placebo else ""
        ebc = comparisons.get(name, {}).get("efficacy_by_condition", {})
        meta = {"arm": arm.name, "drug": arm.drug, "comparison": name}
        out += [meta | u for u in ebc.get("rests_on_unknown", [])]
    return out


def _mark_unknowns(a_s: dict[str, Any], rep: UnknownReport) -> None:
    """Unknown is not zero: null the arm's fields that rest on an unknown affinity, with
    the reason (relief pathways, efficacy, each adverse effect, AE totals)."""
    a_s["rests_on_unknown"] = rep.to_json()
    a_s["relief_caveat"] = rep.relief_caveat()
    shares = a_s.get("weekly_relief_share") or {}
    for k, st in rep.pathway_status.items():
        if st == "unknown" and k in shares:
            shares[k] = None  # no value, not 0
    if rep.relief_not_computable:
        for k in _EFFICACY_FIELDS:
            a_s[k] = None
        a_s["efficacy_not_computable"] = rep.relief_not_computable
    nc = dict(rep.adverse_not_computable)
    if not nc:
        return
    a_s["adverse_events_not_computable"] = nc
    for k in nc:
        for series in ("adverse_events", "weekly_ae_prevalence"):
            if k in a_s[series]:
                a_s[series][k] = None
    if set(nc) >= set(a_s["adverse_events"]) - {FALL_RISK}:
        # no adverse-effect driver known at all: AE totals and AE withdrawal
        # would be the nocebo rate alone
        no_ae = f"{rep.drug}: no adverse-effect driver has a known affinity"
        a_s["any_adverse_event"] = None
        a_s["withdrawal_ae"] = None
        nc["any_adverse_event"] = no_ae
        nc["withdrawal_ae"] = no_ae


def _comparison(
    a: ArmAccumulator,
    p: ArmAccumulator,
    urep: UnknownReport | None,
    summ: Mapping[str, Any],
) -> dict[str, Any]:
    """One active arm ``a`` vs placebo ``p``, with what is not computable and why."""
    v50, ci50 = nnt(a.rate(a.responders_50), p.rate(p.responders_50), a.n, p.n)
    v30, ci30 = nnt(a.rate(a.responders_30), p.rate(p.responders_30), a.n, p.n)
    h, hci = nnt(a.rate(a.withdrawal_ae), p.rate(p.withdrawal_ae), a.n, p.n)
    ae_nc = dict(urep.adverse_not_computable) if urep else {}
    ae_nnh: dict[str, Any] = {}
    for k in a.ae_counts:
        if k in ae_nc:
            ae_nnh[k] = {"nnh": None, "ci": [None, None], "not_computable": ae_nc[k]}
            continue
        val, ci = nnt(a.rate(a.ae_counts[k]), p.rate(p.ae_counts[k]), a.n, p.n)
        ae_nnh[k] = {"nnh": val, "ci": list(ci)}
    c: dict[str, Any] = {
        "nnt_50": v50,
        "nnt_50_ci": list(ci50),
        "nnt_30": v30,
        "nnt_30_ci": list(ci30),
        "nnh_withdrawal": h,
        "nnh_withdrawal_ci": list(hci),
        "nnh_adverse_events": ae_nnh,
        "nnt_not_computable": None,
        "nnt_caveat": urep.relief_caveat() if urep else None,
        "rests_on_unknown": urep.to_json() if urep else [],
    }
    if urep and urep.relief_not_computable:
        c.update(nnt_50=None, nnt_50_ci=[None, None], nnt_30=None)
        c.update(nnt_30_ci=[None, None], nnt_not_computable=urep.relief_not_computable)
    if summ.get("withdrawal_ae", 0) is None:
        c.update(nnh_withdrawal=None, nnh_withdrawal_ci=[None, None])
        c["nnh_withdrawal_not_computable"] = summ["adverse_events_not_computable"]["withdrawal_ae"]
    return c


#: arm-summary fields that measure the drug's relief (null when it is not computable)
_EFFICACY_FIELDS: tuple[str, ...] = (
    "responders_30",
    "responders_50",
    "mean_change",
    "worse_at_end",
    "drug_nonresponders",
    "weekly_mean_pain",
    "weekly_mean_sleep_interference",
    "weekly_relief_share",
)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    prog = Progress(
        TextColumn("[bold]trial"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} patients"),
        TimeRemainingColumn(),
        transient=True,
    )
    prog.start()
    prog.add_task("run", total=total)
    return prog


def run_trial(
    design: Design,
    *,
    chunk_size: int = 20_000,
    progress: bool = False,
    scheduler: str | Any | None = None,
    params: PDParameters | None = None,
    exposure: ExposureFn | None = None,
    on_chunk: Callable[[int], None] | None = None,
    per_subject: bool = False,
) -> TrialResult:
    """Run a virtual trial; results are identical locally and on Dask for one seed.

    Parameters
    ----------
    design : Design
    chunk_size : int
        Patients per chunk at most; lowered to what fits :data:`CHUNK_MEMORY_BYTES` for
        the trial's length (:func:`bounded_chunk_size`; the result states the one used).
    progress : bool
        Show a rich progress bar.
    scheduler : str or distributed.Client, optional
        Dask scheduler address (``tcp://host:8786``) or a Client; chunks run there.
    on_chunk : callable, optional
        Called with the number of patients of each finished chunk (local runs);
        an exception it raises stops the run (how a service cancels a job).
    per_subject : bool
        Keep each patient's outcomes (at most :data:`MAX_PER_SUBJECT` patients in all).
    """
    params = params or load_pd_parameters()
    chunk_size = bounded_chunk_size(
        count(chunk_size, "chunk-size", low=1, high=MAX_CHUNK_SIZE), design.days
    )
    specs = plan_chunks(design, chunk_size)
    total = design.n_per_arm * len(design.arms)
    if per_subject and total > MAX_PER_SUBJECT:
        raise InputError(
            "per-subject",
            f"{total:,} patients",
            f"at most {MAX_PER_SUBJECT:,} patients in all for per-subject outcomes "
            "(lower n_per_arm)",
        )
    with citations.tracking() as used:
        for arm in design.arms:
            if not arm.is_placebo:
                drug_targets(arm.drug)
                get_drug(arm.drug)
        citations.register_many(params.sources())
        citations.register_many(["dworkin2008_immpact"])
        arms = _execute(design, specs, params, exposure, scheduler, progress, on_chunk, per_subject)
    srcs = set(used)
    unavailable: dict[str, dict[str, str]] = {}
    unknowns: dict[str, UnknownReport] = {}
    drivers = {k: a.drivers for k, a in params.adverse_effects.items()}
    unknown_gains = {k: a.unknown_gain for k, a in params.adverse_effects.items()}
    for arm in design.arms:
        if not arm.is_placebo:
            tg = drug_targets(arm.drug)
            srcs.update(tg.sources(in_vivo=uses_pet_occupancy(params)))
            srcs.update(condition_efficacy(arm.drug, design.condition).sources)
            why = dict(tg.unavailable)
            modelled = set(tg.reached)
            if alpha2delta_k_nm(tg, params):
                why.pop("alpha2delta", None)
                modelled.add("alpha2delta")
            unavailable[arm.name] = why
            unknowns[arm.name] = assess(tg, modelled, drivers, unknown_gains)
    return TrialResult(
        design=design,
        arms=arms,
        sources=tuple(sorted(srcs)),
        chunk_size=chunk_size,
        unavailable=unavailable,
        unknowns=unknowns,
    )


def _execute(
    design: Design,
    specs: list[ChunkSpec],
    params: PDParameters,
    exposure: ExposureFn | None,
    scheduler: str | Any | None,
    progress: bool,
    on_chunk: Callable[[int], None] | None = None,
    per_subject: bool = False,
) -> dict[str, ArmAccumulator]:
    """Each arm's sums, merged in chunk order as the chunks finish (a local run holds one
    chunk's arrays at a time, never the whole population)."""
    prog = _progress(sum(s.n for s in specs), progress)
    arms: dict[str, ArmAccumulator] = {}

    def add(spec: ChunkSpec, acc: ArmAccumulator) -> None:
        name = design.arms[spec.arm_index].name
        if name in arms:
            arms[name].merge(acc)
        else:
            arms[name] = acc

    try:
        if scheduler is None:
            for s in specs:
                add(s, run_chunk(design, s, params, exposure, per_subject))
                if prog is not None:
                    prog.advance(prog.task_ids[0], s.n)
                if on_chunk is not None:
                    on_chunk(s.n)
            return arms
        accs = _execute_dask(design, specs, params, exposure, scheduler, prog, per_subject)
        for s, acc in zip(specs, accs, strict=True):
            add(s, acc)
        return arms
    finally:
        if prog is not None:
            prog.stop()


def _execute_dask(
    design: Design,
    specs: Iterable[ChunkSpec],
    params: PDParameters,
    exposure: ExposureFn | None,
    scheduler: str | Any,
    prog: Any,
    per_subject: bool = False,
) -> list[ArmAccumulator]:
    own = isinstance(scheduler, str)
    client = connect_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        # this thread may have no default client (a server's job thread): make ours current
        with client.as_current():
            return _gather_chunks(client, design, list(specs), params, exposure, prog, per_subject)
    finally:
        if own:
            client.close()


def _gather_chunks(
    client: Any,
    design: Design,
    specs: list[ChunkSpec],
    params: PDParameters,
    exposure: ExposureFn | None,
    prog: Any,
    per_subject: bool,
) -> list[ArmAccumulator]:
    from distributed import as_completed

    futs = client.map(
        run_chunk,
        [design] * len(specs),
        specs,
        [params] * len(specs),
        [exposure] * len(specs),
        [per_subject] * len(specs),
        pure=False,
    )
    index = {f.key: i for i, f in enumerate(futs)}
    out: list[ArmAccumulator | None] = [None] * len(specs)
    for fut in as_completed(futs):
        i = index[fut.key]
        out[i] = fut.result()
        if prog is not None:
            prog.advance(prog.task_ids[0], specs[i].n)
    return [o for o in out if o is not None]
