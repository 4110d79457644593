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
from neurodose.pd.occupancy import alpha2delta_k_nm, drug_targets
from neurodose.pd.pain import PATHWAYS, simulate_pain
from neurodose.pd.params import PDParameters, load_pd_parameters
from neurodose.pd.unknowns import UnknownReport, assess
from neurodose.simulation import daily_drives, daily_sample_times
from neurodose.trial.design import Design
from neurodose.trial.endpoints import ArmAccumulator, nnt
from neurodose.trial.population import PDPopulation, sample_population

__all__ = [
    "MAX_CHUNK_SIZE",
    "MAX_PER_SUBJECT",
    "SAMPLES_PER_DAY",
    "SCHEDULER_TIMEOUT_S",
    "ChunkSpec",
    "TrialResult",
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
    n, days, weeks = spec.n, design.days, design.weeks
    pop = sample_population(n, design.condition, params, r_pd, design.population)
    occ_mean: dict[str, Array] = {}
    occ_max: dict[str, Array] = {}
    cardiac = np.zeros(n, dtype=bool)
    if not arm.is_placebo:
        exposure = exposure or _default_exposure()
        times = sample_times(days)
        regimen = design.regimen(arm)
        assert regimen is not None  # not placebo
        conc = exposure(arm.drug, regimen, pop, r_pk, times)
        drives = daily_drives(
            arm.drug,
            conc,
            days,
            params,
            samples_per_day=SAMPLES_PER_DAY,
            exclude=design.knockout,
        )
        occ_mean, occ_max = drives.mean, drives.peak
        rec = get_drug(arm.drug)
        if rec.tdm is not None and rec.tdm.alert is not None:
            total = sum(conc[a] for a in rec.tdm.analytes if a in conc)
            if isinstance(total, np.ndarray):
                cardiac = np.asarray((total >= rec.tdm.alert.canonical()).any(axis=1))
        del conc, drives
    pain = simulate_pain(occ_mean, pop.baseline, pop.placebo, pop.eta, params, days=days)
    stop_day = design.stop.day if design.stop else days + 1
    on_drug = np.broadcast_to(np.arange(1, days + 1)[None, :] < stop_day, (n, days))
    ae = simulate_adverse(
        occ_max or {"SERT": np.zeros((n, days))},
        params,
        r_ae,
        exposed=np.array(on_drug),
        age=pop.age,
    )
    # other dropout: weekly probability, day of dropout uniformly within the week
    other_day = np.full(n, np.inf)
    if design.dropout_other_weekly > 0:
        u = r_drop.random((n, weeks))
        hit = u < design.dropout_other_weekly
        wk = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        within = r_drop.integers(1, 8, n)
        other_day = np.where(wk >= 0, wk * 7 + within, np.inf).astype(float)
    disc = np.zeros(n, dtype=bool)
    if design.stop is not None:
        disc = discontinuation_symptoms(
            occ_mean or {"SERT": np.zeros((n, days))}, stop_day, params, r_disc, not arm.is_placebo
        )
    wd_ae = ae.withdrawal_day
    ae_first = wd_ae <= other_day
    drop_day = np.minimum(wd_ae, other_day)
    dropped = np.isfinite(drop_day)
    # imputation
    daily = pain.pain.copy()
    sleep = pain.sleep.copy()
    col = np.arange(days + 1)[None, :]
    after = col >= drop_day[:, None]
    if design.imputation == "BOCF":
        daily = np.where(after, pop.baseline[:, None], daily)
        sleep = np.where(after, sleep[:, :1], sleep)
    else:  # LOCF
        last = np.clip(drop_day - 1, 0, days).astype(int)
        last = np.where(dropped, last, days)
        lv = daily[np.arange(n), last]
        ls = sleep[np.arange(n), last]
        daily = np.where(after, lv[:, None], daily)
        sleep = np.where(after, ls[:, None], sleep)
    wk_pain = _weekly(daily, weeks)
    wk_sleep = _weekly(sleep, weeks)
    base = pop.baseline
    end = wk_pain[:, -1]
    rel = (base - end) / base
    acc = ArmAccumulator(weeks=weeks, ae_names=tuple(ae.incidence), targets=tuple(occ_mean))
    acc.n = n
    acc.responders_30 = int((rel >= 0.3).sum())
    acc.responders_50 = int((rel >= 0.5).sum())
    acc.worse = int((end > base).sum())
    acc.sum_change = float((end - base).sum())
    acc.sum_baseline = float(base.sum())
    acc.withdrawal_ae = int((dropped & ae_first).sum())
    acc.withdrawal_other = int((dropped & ~ae_first).sum())
    acc.discontinuation = int(disc.sum())
    acc.any_ae = int(ae.any_ae.sum())
    acc.cardiac_alert = int(cardiac.sum())
    if per_subject:
        acc.subjects = {
            "baseline_pain": base.astype(np.float64),
            "end_pain": end.astype(np.float64),
            "change": (end - base).astype(np.float64),
            "relief_fraction": rel.astype(np.float64),
            "responder_30": (rel >= 0.3).astype(np.float64),
            "responder_50": (rel >= 0.5).astype(np.float64),
            "withdrawal_ae": (dropped & ae_first).astype(np.float64),
            "withdrawal_other": (dropped & ~ae_first).astype(np.float64),
            "dropout_day": np.where(dropped, drop_day, np.nan).astype(np.float64),
            "any_adverse_event": np.asarray(ae.any_ae, dtype=np.float64),
        }
    acc.weekly_pain = wk_pain.sum(axis=0)
    acc.weekly_sleep = wk_sleep.sum(axis=0)
    if not arm.is_placebo:
        # drug-attributable relief < 10 % at the end of the on-drug period
        end_day = min(stop_day - 1, days)
        acc.drug_nonresponders = int((pain.relief_drug[:, end_day] < 0.10).sum())
    for k, present in ae.drug_present.items():
        acc.ae_counts[k] = int(ae.incidence[k].sum())
        pres = np.zeros((n, days + 1))
        pres[:, 1:] = present & (col[:, 1:] < drop_day[:, None])
        acc.weekly_ae_prevalence[k] = _weekly(pres, weeks).sum(axis=0)
    for t, o in occ_mean.items():
        full = np.zeros((n, days + 1))
        full[:, 1:] = o
        acc.weekly_occupancy[t] = _weekly(full, weeks).sum(axis=0)
    for k in PATHWAYS:
        acc.weekly_relief_share[k] = _weekly(pain.pathways[k], weeks).sum(axis=0)
    return acc


#: most patients (all arms) whose per-subject outcomes a run keeps (~ 80 MB)
MAX_PER_SUBJECT = 1_000_000

#: largest chunk (patients); memory is about 5 kB per patient-week, so 200,000 x 12 weeks ~ 12 GB
MAX_CHUNK_SIZE = 200_000

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
            a_s: dict[str, Any] = arms[name]
            a_s["rests_on_unknown"] = rep.to_json()
            a_s["relief_caveat"] = rep.relief_caveat()
            rests += [{"arm": name, "drug": drug_of.get(name)} | u for u in rep.to_json()]
            shares = a_s.get("weekly_relief_share") or {}
            for k, st in rep.pathway_status.items():
                if st == "unknown" and k in shares:
                    shares[k] = None  # no value, not 0
            if rep.relief_not_computable:
                for k in _EFFICACY_FIELDS:
                    a_s[k] = None
                a_s["efficacy_not_computable"] = rep.relief_not_computable
            nc = dict(rep.adverse_not_computable)
            if nc:
                a_s["adverse_events_not_computable"] = nc
                for k in nc:
                    if k in a_s["adverse_events"]:
                        a_s["adverse_events"][k] = None
                    if k in a_s["weekly_ae_prevalence"]:
                        a_s["weekly_ae_prevalence"][k] = None
                if set(nc) >= set(a_s["adverse_events"]) - {FALL_RISK}:
                    # no adverse-effect driver known at all: AE totals and AE withdrawal
                    # would be the nocebo rate alone
                    no_ae = f"{rep.drug}: no adverse-effect driver has a known affinity"
                    a_s["any_adverse_event"] = None
                    a_s["withdrawal_ae"] = None
                    a_s["adverse_events_not_computable"]["any_adverse_event"] = no_ae
                    a_s["adverse_events_not_computable"]["withdrawal_ae"] = no_ae
        comparisons: dict[str, Any] = {}
        pl = self.design.placebo
        if pl is not None and self.design.nnt:
            p = self.arms[pl.name]
            for arm in self.design.arms:
                if arm.is_placebo:
                    continue
                a = self.arms[arm.name]
                urep = self.unknowns.get(arm.name)
                v50, ci50 = nnt(a.rate(a.responders_50), p.rate(p.responders_50), a.n, p.n)
                v30, ci30 = nnt(a.rate(a.responders_30), p.rate(p.responders_30), a.n, p.n)
                h, hci = nnt(a.rate(a.withdrawal_ae), p.rate(p.withdrawal_ae), a.n, p.n)
                ae_nnh: dict[str, Any] = {}
                ae_nc = dict(urep.adverse_not_computable) if urep else {}
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
                summ: dict[str, Any] = arms[arm.name]
                if summ.get("withdrawal_ae", 0) is None:
                    c.update(nnh_withdrawal=None, nnh_withdrawal_ci=[None, None])
                    c["nnh_withdrawal_not_computable"] = summ["adverse_events_not_computable"][
                        "withdrawal_ae"
                    ]
                ce = condition_efficacy(arm.drug, self.design.condition)
                c["efficacy_basis"] = ce.basis
                c["efficacy_by_condition"] = {
                    **ce.to_json(),
                    "nnt_50_condition": condition_nnt(c["nnt_50"], ce),
                }
                comparisons[f"{arm.name}_vs_{pl.name}"] = c
        d = self.design
        return {
            "design": {
                "name": d.name,
                "weeks": d.weeks,
                "condition": d.condition,
                "n_per_arm": d.n_per_arm,
                "seed": d.seed,
                "imputation": d.imputation,
                "stop_day": d.stop.day if d.stop else None,
                "taper_steps": d.stop.taper_steps if d.stop else None,
                "chunk_size": self.chunk_size,
            },
            "arms": arms,
            "comparisons": comparisons,
            "rests_on_unknown": rests,
            "notes": [
                "ITT; dropouts imputed by " + d.imputation + "; responders at the last week's mean",
                "NNT CI limit null = unbounded (risk-difference CI includes 0)",
                "PD model: docs/model.md; calibration is not validation (docs/claims.md)",
            ],
            "sources": list(self.sources),
        }


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
        Patients per chunk (memory scales with it, about 5 kB per patient-week).
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
        accs = _execute(design, specs, params, exposure, scheduler, progress, on_chunk, per_subject)
    arms: dict[str, ArmAccumulator] = {}
    for spec, acc in zip(specs, accs, strict=True):
        name = design.arms[spec.arm_index].name
        if name in arms:
            arms[name].merge(acc)
        else:
            arms[name] = acc
    srcs = set(used)
    unavailable: dict[str, dict[str, str]] = {}
    unknowns: dict[str, UnknownReport] = {}
    drivers = {k: a.drivers for k, a in params.adverse_effects.items()}
    for arm in design.arms:
        if not arm.is_placebo:
            tg = drug_targets(arm.drug)
            srcs.update(tg.sources())
            srcs.update(condition_efficacy(arm.drug, design.condition).sources)
            why = dict(tg.unavailable)
            modelled = set(tg.reached)
            if alpha2delta_k_nm(tg, params):
                why.pop("alpha2delta", None)
                modelled.add("alpha2delta")
            unavailable[arm.name] = why
            unknowns[arm.name] = assess(tg, modelled, drivers)
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
) -> list[ArmAccumulator]:
    prog = _progress(sum(s.n for s in specs), progress)
    try:
        if scheduler is None:
            out = []
            for s in specs:
                out.append(run_chunk(design, s, params, exposure, per_subject))
                if prog is not None:
                    prog.advance(prog.task_ids[0], s.n)
                if on_chunk is not None:
                    on_chunk(s.n)
            return out
        return _execute_dask(design, specs, params, exposure, scheduler, prog, per_subject)
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
    from distributed import as_completed

    own = isinstance(scheduler, str)
    client = connect_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        specs = list(specs)
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
    finally:
        if own:
            client.close()
