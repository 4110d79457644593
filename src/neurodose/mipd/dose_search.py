"""Dose search: the regimen whose predicted steady-state trough (or AUC24)
falls in a target range, using real tablet strengths and maximum doses.

For each candidate (dose per administration made of at most ``max_tablets``
tablets of the available strengths, interval from ``intervals``, daily dose
not above the maximum), the new regimen is appended to the patient's dose
history from ``start_h`` and given for ``horizon_days``; the metric is read at
the end (trough just before the next dose; AUC over the last 24 h). The
probability that the metric lies in the target range is the share of
posterior draws of eta (Laplace or SIR) that put it there.

Choice rule (documented in docs/mipd.md): when some candidate has a
probability of being in range of at least 0.5, the lowest daily dose (then the
longest interval) among candidates within 0.05 of the highest probability;
otherwise the candidate whose MAP prediction is closest to the range (then the
higher probability, then the lower daily dose). The target counts as reachable
when the chosen regimen's MAP prediction lies inside it; otherwise the result
says so, with the probability.

Examples
--------
>>> doses_from_strengths([10, 25, 50], max_tablets=2, max_dose=60)
[10.0, 20.0, 25.0, 35.0, 50.0, 60.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError
from neurodose.mipd.estimate import MapResult
from neurodose.mipd.model import PriorModel

__all__ = [
    "Candidate",
    "DoseRecommendation",
    "doses_from_strengths",
    "search_dose",
    "steady_state_metric",
    "what_if",
]

FloatArray = NDArray[np.float64]
Metric = Literal["trough", "auc24"]


def doses_from_strengths(
    strengths: Sequence[float], max_tablets: int = 3, max_dose: float = float("inf")
) -> list[float]:
    """All doses made of 1..``max_tablets`` whole tablets, at most ``max_dose`` mg."""
    s = sorted({float(x) for x in strengths})
    if not s or any(x <= 0 for x in s):
        raise InputError("strengths", strengths, "tablet strengths > 0 mg")
    out: set[float] = set()
    for n in range(1, max_tablets + 1):
        for combo in itertools.combinations_with_replacement(s, n):
            d = round(sum(combo), 6)
            if d <= max_dose + 1e-9:
                out.add(d)
    return sorted(out)


def steady_state_metric(
    model: PriorModel,
    eta: FloatArray,
    history: ExpandedDoses,
    dose_mg: float,
    every_h: float,
    start_h: float,
    horizon_days: float = 42.0,
    metric: Metric = "trough",
) -> FloatArray:
    """Moiety trough (ng/mL) or AUC24 (ng·h/mL) after ``horizon_days`` on the new
    regimen, for each row of ``eta`` -> (n,)."""
    n_doses = int(np.ceil(horizon_days * 24.0 / every_h))
    new = Regimen.oral(dose_mg, every_h, doses=n_doses, start=start_h).expand()
    doses = history.until(start_h).then(new) if len(history) else new
    t_end = start_h + n_doses * every_h
    if metric == "trough":
        return model.predict_moiety(eta, doses, [t_end - 1e-6])[:, 0]
    if metric == "auc24":
        t = np.linspace(t_end - 24.0, t_end, 97)
        c = model.predict_moiety(eta, doses, t)
        return np.asarray(np.trapezoid(c, t, axis=1))
    raise InputError("metric", metric, "'trough' or 'auc24'")


@dataclass(frozen=True)
class Candidate:
    dose_mg: float
    every_h: float
    daily_mg: float
    predicted: float
    lower: float
    upper: float
    p_in_range: float

    def to_json(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DoseRecommendation:
    """The chosen regimen with its predicted metric and interval."""

    dose_mg: float
    every_h: float
    daily_mg: float
    metric: Metric
    predicted: float
    lower: float
    upper: float
    p_in_range: float
    target: tuple[float, float]
    reachable: bool
    level: float
    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        key = "predicted_trough_ng_per_ml" if self.metric == "trough" else "predicted_auc24"
        lo = f"p{round(50 - self.level * 50):02d}"
        hi = f"p{round(50 + self.level * 50):02d}"
        return {
            "dose_mg": self.dose_mg,
            "every_h": self.every_h,
            "daily_dose_mg": self.daily_mg,
            key: round(self.predicted, 3),
            lo: round(self.lower, 3),
            hi: round(self.upper, 3),
            "p_in_target": round(self.p_in_range, 3),
            "metric": self.metric,
            "target": list(self.target),
            "target_reachable": self.reachable,
            "notes": self.notes,
            "candidates": [c.to_json() for c in self.candidates],
        }


def search_dose(
    result: MapResult,
    target: tuple[float, float],
    strengths: Sequence[float],
    max_daily_mg: float,
    intervals_h: Sequence[float] = (24.0,),
    max_tablets: int = 3,
    start_h: float | None = None,
    horizon_days: float = 42.0,
    metric: Metric = "trough",
    n: int = 300,
    level: float = 0.90,
    method: Literal["laplace", "sir"] = "laplace",
    seed: int = 0,
    eta_samples: FloatArray | None = None,
) -> DoseRecommendation:
    """Search dose and interval for a target range of the moiety trough or AUC24.

    Parameters
    ----------
    result : MapResult
        The individual fit (or an a-priori result without levels).
    target : (low, high)
        Target range (ng/mL for a trough, ng·h/mL for AUC24).
    strengths : sequence of float
        Available tablet strengths (mg).
    max_daily_mg : float
        Maximum daily dose (mg/day), e.g. the knowledge base's ``doses.*.maximum``.
    intervals_h : sequence of float
        Dosing intervals to consider (h).
    start_h : float, optional
        Time of the first dose of the new regimen (default: 24 h after the last
        dose given).
    """
    lo_t, hi_t = float(target[0]), float(target[1])
    if not (0 <= lo_t < hi_t):
        raise InputError("target", target, "a range LOW-HIGH with 0 <= LOW < HIGH")
    if not max_daily_mg > 0:
        raise InputError("max_daily_mg", max_daily_mg, "a maximum daily dose > 0 mg")
    if start_h is None:
        start_h = (result.doses.last_h + 24.0) if len(result.doses) else 0.0
    rng = np.random.default_rng(seed)
    eta_s = result.sample(n, rng, method=method) if eta_samples is None else eta_samples
    eta_all = np.vstack([result.eta[None, :], eta_s])
    q_lo, q_hi = 50 - level * 50, 50 + level * 50
    cands: list[Candidate] = []
    for every in intervals_h:
        if not every > 0:
            raise InputError("every", every, "an interval > 0 h")
        per_day = 24.0 / every
        for d in doses_from_strengths(strengths, max_tablets, max_daily_mg / per_day):
            vals = steady_state_metric(
                result.model, eta_all, result.doses, d, every, start_h, horizon_days, metric
            )
            draws = vals[1:]
            lo, hi = np.percentile(draws, [q_lo, q_hi])
            p_in = float(np.mean((draws >= lo_t) & (draws <= hi_t)))
            cands.append(
                Candidate(d, float(every), d * per_day, float(vals[0]), float(lo), float(hi), p_in)
            )
    if not cands:
        raise InputError(
            "max_daily_mg",
            max_daily_mg,
            f"a maximum that allows the smallest tablet ({min(strengths)} mg)",
        )
    best_p = max(c.p_in_range for c in cands)
    notes: list[str] = []

    def distance(c: Candidate) -> float:
        return max(lo_t - c.predicted, 0.0, c.predicted - hi_t)

    if best_p >= 0.5:
        pool = [c for c in cands if c.p_in_range >= best_p - 0.05]
        chosen = min(pool, key=lambda c: (c.daily_mg, -c.every_h))
    else:
        chosen = min(cands, key=lambda c: (round(distance(c), 9), -c.p_in_range, c.daily_mg))
    reachable = lo_t <= chosen.predicted <= hi_t
    if not reachable:
        side = "below" if chosen.predicted < lo_t else "above"
        limit = (
            f"even the largest allowed dose ({max_daily_mg:g} mg/day)"
            if side == "below"
            else "even the smallest tablet"
        )
        notes.append(
            f"target not reachable: {limit} is predicted {side} the target; the regimen "
            f"closest to it is shown (probability in target {chosen.p_in_range:.0%})"
        )
    elif best_p < 0.5:
        notes.append(
            f"the predicted {metric} is inside the target but the probability of being in "
            f"range is only {chosen.p_in_range:.0%}; consider a level after the change"
        )
    return DoseRecommendation(
        dose_mg=chosen.dose_mg,
        every_h=chosen.every_h,
        daily_mg=chosen.daily_mg,
        metric=metric,
        predicted=chosen.predicted,
        lower=chosen.lower,
        upper=chosen.upper,
        p_in_range=chosen.p_in_range,
        target=(lo_t, hi_t),
        reachable=reachable,
        level=level,
        candidates=sorted(cands, key=lambda c: (c.every_h, c.dose_mg)),
        notes=notes,
    )


def what_if(result: MapResult, **changes: Any) -> MapResult:
    """The same individual (same eta and uncertainty) under a changed prior model.

    ``changes`` go to the model's ``rebuild`` (e.g. ``comedications=[...]``):
    typical values are recomputed (a CYP2D6 inhibitor added or stopped, ...) and
    the patient's own deviations eta are kept.
    """
    if result.model.rebuild is None:
        raise InputError(
            "what_if", sorted(changes), "a model built by the PK engine adapter (rebuild)"
        )
    new_model = result.model.rebuild(**changes)
    if new_model.param_names != result.model.param_names:
        raise InputError(
            "what_if", new_model.param_names, f"the same parameters {result.model.param_names}"
        )
    from dataclasses import replace

    return replace(result, model=new_model)
