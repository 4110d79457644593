"""TDM workflow: levels -> MAP fit -> forecast with intervals -> dose search.

:func:`run_tdm` is what ``neurodose tdm`` calls; it returns a
:class:`TdmReport` whose :meth:`~TdmReport.to_json` is the CLI JSON contract
(see ``docs/mipd.md``). Everything clinical comes from the knowledge base:

* target: ``tdm.reference_range`` of the drug record (for amitriptyline the
  AMI + NT range 80-200 ng/mL, Mayo AMTRP; a depression range, so a lower
  target may be given for pain);
* tablet strengths: the drug record's RxNorm SCD identifiers
  (e.g. "amitriptyline HCl 10 MG Oral Tablet"); if none are recorded the
  report says so and ``strengths`` must be given;
* maximum daily dose: ``doses.<indication>.maximum``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurodose import citations
from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import InputError, ref
from neurodose.knowledge import record
from neurodose.mipd.discrepancy import FarLevel, far_level
from neurodose.mipd.dose_search import DoseRecommendation, search_dose, what_if
from neurodose.mipd.engine import prior_model
from neurodose.mipd.estimate import MapResult, fit_map
from neurodose.mipd.forecast import Forecast, forecast, forecast_grid, moiety_name
from neurodose.mipd.levels import Observations
from neurodose.mipd.model import require_oral
from neurodose.simulation import tdm_reference_range

__all__ = [
    "CONTRADICTION_RATIO",
    "INTERVALS_AFTER_LAST_DOSE",
    "KbDosing",
    "TdmReport",
    "kb_dosing",
    "levels_after_history",
    "levels_vs_prediction",
    "parse_target",
    "run_tdm",
    "tablet_strengths",
]

_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*MG\b.*\b(tablet|capsule)", re.IGNORECASE)


def parse_target(text: str) -> tuple[float, float]:
    """Parse ``"LO-HI"`` (ng/mL; a unit may follow, e.g. ``"50-150 ng/mL"``).

    >>> parse_target("50-150")
    (50.0, 150.0)
    """
    from neurodose.units import parse_unit

    m = re.match(r"^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*(\S+)?\s*$", str(text))
    if not m:
        raise InputError("target", text, "a range LOW-HIGH in ng/mL, e.g. '50-150'")
    lo, hi = float(m.group(1)), float(m.group(2))
    if m.group(3):
        dim, f = parse_unit(m.group(3))
        if dim != "concentration":
            raise InputError("target", text, "a concentration range such as '50-150 ng/mL'")
        lo, hi = lo * f, hi * f
    if not 0 <= lo < hi:
        raise InputError("target", text, "LOW < HIGH, both >= 0")
    return lo, hi


def tablet_strengths(drug: str) -> tuple[list[float], list[str]]:
    """Oral solid strengths (mg) from the drug record's RxNorm SCD identifiers,
    with their source keys; empty when the knowledge base has none."""
    rec = record(drug)
    out: set[float] = set()
    srcs: set[str] = set()
    for ident in rec.identifiers:
        if ident.system != "RxNorm-SCD" or not ident.display:
            continue
        m = _STRENGTH.search(ident.display)
        if m:
            out.add(float(m.group(1)))
            srcs.add(ident.source)
    return sorted(out), sorted(srcs)


@dataclass(frozen=True)
class KbDosing:
    """Target, strengths and maximum dose as used, with their sources."""

    target: tuple[float, float]
    target_source: str
    target_note: str
    strengths: list[float]
    strengths_source: str
    max_daily_mg: float
    max_source: str
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "target_ng_per_ml": list(self.target),
            "target_source": self.target_source,
            "target_note": self.target_note,
            "strengths_mg": self.strengths,
            "strengths_source": self.strengths_source,
            "max_daily_mg": self.max_daily_mg,
            "max_daily_source": self.max_source,
        }


#: indications for which the knowledge-base TDM reference ranges apply: the cited ranges
#: (AGNP 2017, Mayo and other laboratory ranges) are antidepressant therapeutic ranges
TDM_RANGE_INDICATIONS: tuple[str, ...] = ("depression",)


def default_target_problem(drug: str, indication: str) -> str | None:
    """Why the knowledge-base TDM range cannot be the default target for ``indication``,
    or ``None`` when it can (or when there is no range at all: :func:`kb_dosing` says so).

    The cited ranges (AGNP 2017, Mayo and other laboratory ranges) are therapeutic ranges
    for depression; the evidence gives no pain-specific target level for any drug, so for
    neuropathic pain a target must be given.

    >>> default_target_problem("amitriptyline", "depression") is None
    True
    >>> "not for neuropathic_pain" in default_target_problem("amitriptyline", "neuropathic_pain")
    True
    """
    if indication in TDM_RANGE_INDICATIONS:
        return None
    rec = record(drug)
    q = rec.tdm.reference_range if rec.tdm is not None else None
    kb_range = tdm_reference_range(rec)
    if q is None or kb_range is None:
        return None
    return (
        f"the knowledge base's TDM range for {drug} ({kb_range[0]:g}-{kb_range[1]:g} ng/mL, "
        f"{q.source}) is a range for {'/'.join(TDM_RANGE_INDICATIONS)}, not for {indication}, "
        f"and the evidence gives no {indication} target level"
    )


def kb_dosing(
    drug: str,
    indication: str = "neuropathic_pain",
    target: tuple[float, float] | None = None,
    strengths: Sequence[float] | None = None,
    max_daily_mg: float | None = None,
) -> KbDosing:
    """Target range, tablet strengths and maximum daily dose (KB unless given).

    The knowledge-base TDM range is the default target only for an indication in
    :data:`TDM_RANGE_INDICATIONS`; for neuropathic pain no target level is cited, so a
    ``target`` must be given (the error says why).
    """
    rec = record(drug)
    notes: list[str] = []
    if target is None:
        q = rec.tdm.reference_range if rec.tdm is not None else None
        kb_range = tdm_reference_range(rec)
        if q is None or kb_range is None:
            raise InputError(
                "target", None, f"a target range: the knowledge base has no TDM range for {drug}"
            )
        problem = default_target_problem(drug, indication)
        if problem is not None:
            raise InputError(
                "target",
                None,
                f"a target range LOW-HIGH ng/mL: {problem}; give a target (or indication "
                "'depression' to use that range)",
            )
        tgt, t_src, t_note = kb_range, q.source, q.locator
    else:
        tgt, t_src, t_note = target, "user", "target given by the user"
    if strengths is None:
        s, srcs = tablet_strengths(drug)
        if not s:
            raise InputError(
                "strengths",
                None,
                f"tablet strengths: the knowledge base lists none for {drug} "
                "(no RxNorm SCD tablet identifiers); give them, e.g. 10, 25, 50 mg",
            )
        st, st_src = s, ",".join(srcs)
        citations.register_many(srcs)
    else:
        st, st_src = sorted(float(x) for x in strengths), "user"
    if max_daily_mg is None:
        dg = rec.doses.get(indication)
        if dg is None or dg.maximum is None:
            raise InputError(
                "max_daily_mg",
                None,
                f"a maximum daily dose: the knowledge base has none for {drug} / {indication} "
                f"(indications with doses: {', '.join(sorted(rec.doses)) or 'none'})",
            )
        mx = dg.maximum.canonical()
        m_src = f"{dg.maximum.source} ({dg.maximum.locator})"
        if not dg.maximum.verified:
            notes.append(f"maximum dose {dg.maximum.display()} is UNVERIFIED")
        citations.register(dg.maximum.source)
    else:
        mx, m_src = float(max_daily_mg), "user"
    return KbDosing(tgt, t_src, t_note, st, st_src, float(mx), m_src, notes)


@dataclass(frozen=True)
class TdmReport:
    """Everything ``neurodose tdm`` shows."""

    drug: str
    fit: MapResult
    forecast: Forecast
    recommendation: DoseRecommendation | None
    dosing: KbDosing | None
    what_if: list[dict[str, Any]]
    sources: list[str]
    notes: list[str]
    consistency: list[str] = field(default_factory=list)
    accepted_inconsistent: bool = False
    far: FarLevel | None = None

    def to_json(self) -> dict[str, Any]:
        f = self.fit
        lo_hi = f.interval(0.90)
        obs = f.obs
        levels = [
            {
                "time_h": float(obs.times_h[i]),
                "analyte": obs.analyte[i],
                "value_ng_per_ml": float(obs.value[i]),
                "blq": bool(obs.blq[i]),
                "lloq_ng_per_ml": float(obs.lloq[i]),
                "ipred_ng_per_ml": round(f.diagnostics.ipred[i], 4),
                "pred_ng_per_ml": round(f.diagnostics.pred[i], 4),
                "iwres": f.diagnostics.iwres[i],
            }
            for i in range(len(obs))
        ]
        d = f.diagnostics
        rec = None
        if self.recommendation is not None:
            rec = self.recommendation.to_json()
            if self.dosing is not None:
                rec.update(self.dosing.to_json())
        return {
            "drug": self.drug,
            "individual": {k: round(v, 6) for k, v in f.individual.items()},
            "individual_p05_p95": {k: [round(a, 6), round(b, 6)] for k, (a, b) in lo_hi.items()},
            "prior": {k: round(v, 6) for k, v in f.prior.items()},
            "eta": {n: round(float(e), 6) for n, e in zip(f.model.param_names, f.eta, strict=True)},
            "objective": {
                "ofv": round(f.ofv, 6),
                "data": round(f.ofv_data, 6),
                "prior": round(f.ofv_prior, 6),
                "definition": "-2LL (normal residuals, M3 for BLQ) + eta' Omega^-1 eta",
            },
            "levels": levels,
            "diagnostics": {
                "converged": d.converged,
                "n_iter": d.n_iter,
                "n_starts": d.n_starts,
                "n_distinct_optima": d.n_distinct_optima,
                "gradient_norm": d.gradient_norm,
                "posterior_sd_ratio": d.posterior_sd_ratio,
                "warnings": d.warnings,
            },
            "predicted": self.forecast.to_json(),
            "uncertainty": {"method": self.forecast.method, "level": self.forecast.level},
            "target_applies_to": moiety_name(f.model),
            "recommendation": rec,
            "what_if": self.what_if,
            "consistency": {
                "consistent": not self.consistency,
                "warnings": list(self.consistency),
                "accepted": self.accepted_inconsistent,
            },
            "far_from_prediction": None if self.far is None else self.far.to_json(),
            "notes": self.notes,
            "sources": self.sources,
        }


def _check_timing(
    obs: Observations | None, doses: ExpandedDoses, accept_inconsistent: bool
) -> list[str]:
    """Samples long after the recorded history: an error unless accepted (then warnings)."""
    if obs is None or not len(obs):
        return []
    obs.check_after(doses.first_h)
    timing = levels_after_history(obs, doses)
    if timing and not accept_inconsistent:
        raise InputError(
            "levels",
            timing[0],
            "samples within the dosing history: give the doses actually taken up to "
            f"the samples ({ref('days')}/{ref('doses')}/{ref('regimen')}), or "
            f"{ref('accept_levels')} to fit anyway",
        )
    return timing


@dataclass(frozen=True)
class _Search:
    """The dose search as run_tdm configures it (the patient's fit, or a what-if's)."""

    intervals_h: Sequence[float]
    metric: Literal["trough", "auc24"]
    seed: int
    eta_s: Any

    def __call__(self, f: MapResult, kb: KbDosing) -> DoseRecommendation:
        return search_dose(
            f,
            kb.target,
            kb.strengths,
            kb.max_daily_mg,
            intervals_h=self.intervals_h,
            metric=self.metric,
            seed=self.seed,
            eta_samples=self.eta_s[: min(300, len(self.eta_s))],
        )


def _what_if_one(
    label: str,
    new: list[Any],
    fit: MapResult,
    doses: ExpandedDoses,
    search: _Search,
    dosing: KbDosing | None,
) -> dict[str, Any]:
    f2 = what_if(fit, comedications=new)
    scen: dict[str, Any] = {"scenario": label}
    if len(doses):
        from neurodose.mipd.dose_search import steady_state_metric

        every = _last_interval(doses)
        cur = steady_state_metric(
            f2.model,
            np.vstack([fit.eta[None, :], search.eta_s[:300]]),
            doses,
            float(doses.amounts[-1]),
            every,
            doses.last_h + every,
            metric=search.metric,
        )
        scen["current_dose_mg"] = float(doses.amounts[-1])
        scen["current_every_h"] = every
        scen["predicted_ss_" + search.metric] = round(float(cur[0]), 3)
        scen["p05"] = round(float(np.percentile(cur[1:], 5)), 3)
        scen["p95"] = round(float(np.percentile(cur[1:], 95)), 3)
    if dosing is not None:
        r2 = search(f2, dosing)
        scen["recommendation"] = {k: v for k, v in r2.to_json().items() if k != "candidates"}
    scen["notes"] = list(f2.model.notes)
    return scen


def _far(
    fit: MapResult,
    obs: Observations | None,
    doses: ExpandedDoses,
    drug: str,
    patient: Any,
    comeds: Sequence[Any],
) -> FarLevel | None:
    if obs is None or not len(obs):
        return None
    every = _last_interval(doses) if len(doses) else 24.0
    return far_level(fit, CONTRADICTION_RATIO, drug, every, doses.last_h, patient, comeds)


def _forecast(
    fit: MapResult,
    doses: ExpandedDoses,
    obs: Observations | None,
    step_h: float,
    n_draws: int,
    method: Literal["laplace", "sir"],
    seed: int,
    eta_s: Any,
) -> Forecast:
    last_t = max(doses.last_h, float(obs.times_h.max()) if obs is not None and len(obs) else 0)
    grid = forecast_grid(doses, step_h=step_h, extra_h=max(24.0, last_t - doses.last_h + 24))
    return forecast(fit, grid, n=n_draws, method=method, seed=seed, eta_samples=eta_s)


def run_tdm(
    drug: str,
    doses: ExpandedDoses,
    obs: Observations | None = None,
    patient: Any = None,
    comedications: Sequence[Any] = (),
    target: tuple[float, float] | None = None,
    indication: str = "neuropathic_pain",
    strengths: Sequence[float] | None = None,
    max_daily_mg: float | None = None,
    intervals_h: Sequence[float] = (24.0,),
    metric: Literal["trough", "auc24"] = "trough",
    method: Literal["laplace", "sir"] = "sir",
    add_drugs: Sequence[Any] = (),
    stop_drugs: Sequence[str] = (),
    step_h: float = 2.0,
    n_draws: int = 500,
    seed: int = 0,
    recommend: bool = True,
    accept_inconsistent: bool = False,
    without_target: Literal["error", "fit_only"] = "error",
) -> TdmReport:
    """Fit, forecast and recommend for one patient (see module docstring).

    ``add_drugs`` / ``stop_drugs`` give "what if" scenarios: the same
    individual (eta kept) with a co-medication added or stopped; each reports
    the predicted steady-state moiety trough on the current dose and the
    recommended dose under that scenario.

    Levels are checked against the dosing history (:func:`levels_vs_history`): a sample
    long after the last recorded dose is an error, and levels that contradict the
    history by an order of magnitude withhold the dose search, unless
    ``accept_inconsistent`` (then both are loud warnings in the report). Either way a
    level far from the prediction gets the safe direction and the likely explanations
    (:func:`neurodose.mipd.discrepancy.far_level`).

    Without ``target``, the knowledge-base TDM range is the default only for an indication
    it applies to (:func:`default_target_problem`); otherwise ``without_target="error"``
    raises (the CLI: ``--target`` required, with the reason) and ``"fit_only"`` fits and
    forecasts but recommends no dose, with a note saying why (the clinic service).
    """
    require_oral(doses)
    if metric == "auc24" and target is None:
        raise InputError("target", None, "a target AUC24 range (ng*h/mL) for metric auc24")
    with citations.tracking() as used:
        model = prior_model(drug, patient, comedications)
        consistency = _check_timing(obs, doses, accept_inconsistent)
        fit = fit_map(model, doses, obs, seed=seed)
        far = _far(fit, obs, doses, drug, patient, comedications)
        if obs is not None and len(obs):
            consistency += levels_vs_prediction(obs, fit)
        if consistency and not accept_inconsistent:
            recommend = False
        eta_s = fit.sample(n_draws, np.random.default_rng(seed), method=method)
        fc = _forecast(fit, doses, obs, step_h, n_draws, method, seed, eta_s)
        notes = list(model.notes)
        rec = None
        dosing = None
        search = _Search(intervals_h, metric, seed, eta_s)
        problem = default_target_problem(drug, indication) if target is None else None
        if recommend and problem is not None and without_target == "fit_only":
            recommend = False
            notes.append(
                f"no dose recommendation: {problem}; give a target range (ng/mL) to get one"
            )
        if recommend:
            dosing = kb_dosing(drug, indication, target, strengths, max_daily_mg)
            notes += dosing.notes
            rec = search(fit, dosing)
        current = list(comedications)
        scenarios = [
            _what_if_one(label, new, fit, doses, search, dosing if recommend else None)
            for label, new in [
                *[(f"add {a if isinstance(a, str) else a.drug}", [*current, a]) for a in add_drugs],
                *[(f"stop {s}", _without(current, s)) for s in stop_drugs],
            ]
        ]
    if consistency and not accept_inconsistent:
        notes.append(
            "no dose recommended: the levels are inconsistent with the dosing history (see "
            "the warnings); check the history and the sample times, or accept the levels "
            "(--accept-levels; on the page: Accept the level)"
        )
    return TdmReport(
        drug=model.drug,
        fit=fit,
        forecast=fc,
        recommendation=rec,
        dosing=dosing,
        what_if=scenarios,
        sources=sorted(used),
        notes=notes,
        consistency=consistency,
        accepted_inconsistent=bool(consistency) and accept_inconsistent,
        far=far,
    )


#: a level more than this many dosing intervals after the last recorded dose cannot be read
#: against that history (a trough is sampled within one interval of the last dose)
INTERVALS_AFTER_LAST_DOSE = 1.5
#: measured/predicted ratio (either way) read as contradicting the history: one order of
#: magnitude (issue 13: "contradicting it by orders of magnitude")
CONTRADICTION_RATIO = 10.0


def levels_after_history(obs: Observations, doses: ExpandedDoses) -> list[str]:
    """Warnings for samples taken long after the last recorded dose (empty when none).

    A sample more than :data:`INTERVALS_AFTER_LAST_DOSE` dosing intervals after the last
    dose means the history given stops before the doses actually taken (the usual error:
    ``--days`` shorter than the treatment), so the fit would read a washout as a fast
    clearance.
    """
    if not len(doses):
        return []
    every = _last_interval(doses)
    limit = doses.last_h + INTERVALS_AFTER_LAST_DOSE * every
    out = []
    for t in sorted({float(x) for x in obs.times_h if x > limit + 1e-9}):
        out.append(
            f"level at {t:g} h is {t - doses.last_h:g} h after the last recorded dose "
            f"({doses.last_h:g} h; more than {INTERVALS_AFTER_LAST_DOSE:g} dosing intervals of "
            f"{every:g} h)"
        )
    return out


def levels_vs_prediction(obs: Observations, fit: MapResult) -> list[str]:
    """Warnings for levels that differ from the population prediction by >= 10x either way."""
    out = []
    pred = fit.diagnostics.pred
    for i in range(len(obs)):
        if bool(obs.blq[i]) or not pred[i] > 0:
            continue
        ratio = float(obs.value[i]) / pred[i]
        if ratio >= CONTRADICTION_RATIO or ratio <= 1 / CONTRADICTION_RATIO:
            out.append(
                f"level of {obs.analyte[i]} at {float(obs.times_h[i]):g} h: measured "
                f"{float(obs.value[i]):g} ng/mL is {ratio:.3g}x the population prediction "
                f"{pred[i]:.3g} ng/mL for this dosing history (an order of magnitude or more)"
            )
    return out


def _without(comeds: Sequence[Any], name: str) -> list[Any]:
    from neurodose.knowledge import resolve_name

    def name_of(c: Any) -> str:
        return str(c.split(":")[0] if isinstance(c, str) else c.drug)

    key = resolve_name(name)
    kept = [c for c in comeds if resolve_name(name_of(c)) != key]
    if len(kept) == len(comeds):
        names = [name_of(c) for c in comeds]
        raise InputError("stop_drugs", name, f"a current co-medication ({names or 'none'})")
    return kept


def _last_interval(doses: ExpandedDoses) -> float:
    if len(doses) >= 2:
        return float(doses.times[-1] - doses.times[-2])
    ii = float(doses.ii[-1])
    return ii if ii > 0 else 24.0
