"""Learning the individual response from a pain diary.

Model: the PD engineer's pain-pathway model, :func:`neurodose.pd.pain.simulate_pain`
(occupancy -> daily pain), driven by the daily mean target occupancies of the
patient's actual doses (PK engine: typical values for this patient's
covariates, genotype and co-medication, or the individual MAP estimate when
levels are given; :func:`neurodose.pd.occupancy.drug_occupancy`).
Three patient-level parameters of that model are estimated by MAP:

* ``baseline`` B (pain 0-10 without treatment),
* ``placebo`` p (placebo / natural-course fraction),
* ``log_sensitivity`` log(eta) (individual pharmacological sensitivity),

with the population distributions of the PD parameter set as prior
(``baseline_pain_mean/sd``, ``placebo_mean/sd`` with the age and baseline
modifiers used by the virtual-trial population, ``sensitivity_omega``; all in
``knowledge/pdmodels``). The day-to-day diary noise SD is profiled out
(concentrated likelihood, plus the rounding noise of an integer score, 1/12),
so no residual SD is assumed. The placebo prior is truncated at 0 unless the diary
shows pain above the patient's own baseline (:func:`worsening_evidence`).
Uncertainty: SIR around the Laplace approximation (better calibrated than Laplace
alone in the validation study).

Forecast: P(>= 30 % relief by week 8) — the IMMPACT "moderately important"
threshold (source ``dworkin2008_immpact``) — as the share of posterior draws
whose recorded week-8 mean pain (days 50-56; daily model pain plus the fitted
diary noise, clipped to 0-10) is at most 70 % of the individual baseline, for
three scenarios from the day after the last diary entry: keep the dose; raise
it by the knowledge-base titration step (capped at the maximum); switch to
another drug (old drug stopped, new drug from its KB start dose to its usual
dose after one titration interval; occupancies of the two combined as
independent, 1 - (1 - o1)(1 - o2)). The
patient-level parameters carry over to the new drug, as the PD model treats
them as traits of the patient.

Diary signals (side effects rising rather than fading; withdrawal-like
symptoms after a missed dose or stop) come from :mod:`neurodose.mipd.signals`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurodose import citations
from neurodose.case.regimen import ExpandedDoses, Regimen
from neurodose.errors import InputError
from neurodose.findings import Finding
from neurodose.inputs import save_figure
from neurodose.knowledge import record, resolve_name
from neurodose.mipd.diary import Diary
from neurodose.mipd.engine import prior_model
from neurodose.mipd.estimate import newton_minimise
from neurodose.mipd.history import taken_expanded
from neurodose.mipd.levels import Observations
from neurodose.mipd.signals import SideEffectTrend, side_effect_trend, withdrawal_signals
from neurodose.pd.pain import simulate_pain
from neurodose.pd.params import PDParameters, load_pd_parameters
from neurodose.simulation import daily_drives, daily_sample_times

__all__ = [
    "Baseline",
    "PainPrior",
    "ResponseFit",
    "ResponseReport",
    "daily_occupancy",
    "fit_response",
    "own_baseline",
    "pain_prior",
    "percent",
    "probability_interval",
    "relief_probabilities",
    "run_response",
    "simulate_patient_pain",
]

#: longest span from the first dose to the last diary entry, days (bounds the work)
MAX_RESPONSE_DAYS = 3653

FloatArray = NDArray[np.float64]

NAMES = ("baseline", "placebo", "log_sensitivity")
RELIEF = 0.30  # IMMPACT moderately important (dworkin2008_immpact)
RELIEF_SOURCE = "dworkin2008_immpact"
WEEK8 = (50, 56)
_SAMPLES_PER_DAY = 8
_MIN_VAR = 1.0 / 12.0  # rounding noise of an integer 0-10 score
PLACEBO_MAX = 0.95  # the pain model's upper clip of the placebo fraction (trial population too)


def daily_occupancy(
    drug: str,
    doses: ExpandedDoses,
    days: int,
    patient: Any,
    comeds: Sequence[Any],
    pd: PDParameters,
    pk_eta: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Daily mean occupancy per target, (1, days), day d = column d-1; PK at the
    typical values, or at the individual MAP estimate ``pk_eta`` from levels.

    The occupancy -> drive stage is the pipeline's
    :func:`neurodose.simulation.daily_drives` on its daily grid.
    """
    if not len(doses):
        return {}
    model = prior_model(drug, patient, comeds)
    t = daily_sample_times(days, _SAMPLES_PER_DAY)
    eta = np.zeros((1, model.k)) if pk_eta is None else np.atleast_2d(pk_eta)
    conc = model.predict(eta, doses, t)
    return daily_drives(drug, conc, days, pd, samples_per_day=_SAMPLES_PER_DAY).mean


def _combine(a: dict[str, FloatArray], b: dict[str, FloatArray]) -> dict[str, FloatArray]:
    out = dict(a)
    for k, v in b.items():
        out[k] = 1.0 - (1.0 - out[k]) * (1.0 - v) if k in out else v
    return out


@dataclass(frozen=True)
class PainPrior:
    """Population prior of (baseline, placebo, log sensitivity): means and SDs.

    With ``nonnegative_placebo`` (the default for a fit) the placebo fraction's prior is
    the calibrated normal truncated to 0-0.95 (the model's own range for a placebo
    share, as in the virtual-trial population): the fit estimates logit(placebo / 0.95),
    so it cannot report a negative placebo response. :func:`fit_response` drops the truncation only
    when the diary itself shows a worsening (:func:`worsening_evidence`).
    """

    mean: FloatArray
    sd: FloatArray
    nonnegative_placebo: bool = False

    def to_model(self, z: FloatArray) -> FloatArray:
        """Model parameters (baseline, placebo, log sensitivity) from the fitted ones."""
        u = np.array(np.atleast_2d(z), dtype=np.float64)
        if self.nonnegative_placebo:
            u[:, 1] = PLACEBO_MAX / (1.0 + np.exp(-np.clip(u[:, 1], -40.0, 40.0)))
        return u

    def to_fitted(self, u: FloatArray) -> FloatArray:
        """The inverse of :meth:`to_model` for one row (placebo kept in 0.001-0.949)."""
        z = np.array(u, dtype=np.float64)
        if self.nonnegative_placebo:
            p = float(np.clip(z[1], 1e-3, PLACEBO_MAX - 1e-3))
            z[1] = float(np.log(p / (PLACEBO_MAX - p)))
        return z

    def ofv(self, z: FloatArray) -> FloatArray:
        """-2 log prior density of the fitted parameters (with the Jacobian of the logit
        placebo when truncated)."""
        zz = np.atleast_2d(z)
        d = (self.to_model(zz) - self.mean) / self.sd
        out = np.sum(d * d, axis=1)
        if self.nonnegative_placebo:
            v = np.clip(zz[:, 1], -40.0, 40.0)
            log_jac = np.log(PLACEBO_MAX) - np.logaddexp(0.0, -v) - np.logaddexp(0.0, v)
            out = out - 2.0 * log_jac
        return np.asarray(out)

    def truncated(self, on: bool) -> PainPrior:
        return PainPrior(self.mean, self.sd, on)


def pain_prior(pd: PDParameters, age: float | None, condition: str) -> PainPrior:
    """The prior of the patient-level pain-model parameters for ``condition`` and ``age``:
    the virtual-trial population's distributions (``placebo_mean``/``placebo_sd`` are
    calibrated to Frisaldi 2023, ``knowledge/pdmodels/calibrated.toml``; the baseline and
    sensitivity spreads are labelled assumptions, ``assumptions.toml``)."""
    cond = pd.condition(condition)
    m_cond = 1.0 if cond.placebo_multiplier == "reference" else pd.value(cond.placebo_multiplier)
    mod_age = 1.0 if age is None else max(0.0, 1.0 - pd.value("placebo_age_decline") * (age - 60))
    b_mean = pd.value("baseline_pain_mean")
    p_mean = pd.value("placebo_mean") * m_cond * mod_age
    return PainPrior(
        np.array([b_mean, p_mean, 0.0]),
        np.array(
            [pd.value("baseline_pain_sd"), pd.value("placebo_sd"), pd.value("sensitivity_omega")]
        ),
    )


@dataclass(frozen=True)
class Baseline:
    """The patient's own baseline pain: the mean of the diary scores before the first
    dose, or, without any, the score recorded on the first day of treatment."""

    value: float
    n_scores: int
    how: str

    def to_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 3), "n_scores": self.n_scores, "how": self.how}


def own_baseline(model_day: NDArray[np.int64], pain: FloatArray) -> Baseline:
    """The patient's baseline from diary scores on model days (0 = before the first dose)."""
    before = pain[model_day == 0]
    if before.size:
        return Baseline(
            float(before.mean()), int(before.size), "mean of the diary scores before the first dose"
        )
    first = int(model_day.min())
    day1 = pain[model_day == first]
    return Baseline(
        float(day1.mean()),
        int(day1.size),
        f"the diary score on treatment day {first} (no score before the first dose)",
    )


def worsening_evidence(model_day: NDArray[np.int64], pain: FloatArray, base: Baseline) -> bool:
    """True when the diary shows pain above the patient's baseline: the mean of the scores
    after the first week of treatment exceeds the baseline by more than two standard
    errors (a one-sided test at about 2.5 %; day-to-day SD floored at the rounding noise
    of an integer score). Only then may the fit report a negative placebo response."""
    later = pain[model_day > 7]
    if later.size < 3:
        return False
    sd = max(float(np.std(later, ddof=1)), float(np.sqrt(_MIN_VAR)))
    se = sd * float(np.sqrt(1.0 / later.size + 1.0 / max(base.n_scores, 1)))
    return float(later.mean()) - base.value > 2.0 * se


def simulate_patient_pain(
    u: FloatArray, occ: dict[str, FloatArray], days: int, pd: PDParameters
) -> Any:
    """Pain trajectories for rows of ``u`` = (baseline, placebo, log sensitivity) driven by
    the daily mean occupancies ``occ`` (target -> (1 or n, days))."""
    u = np.atleast_2d(u)
    n = u.shape[0]
    b = np.clip(u[:, 0], 0.05, 10.0)
    p = np.clip(u[:, 1], -1.0, 0.95)
    eta = np.exp(np.clip(u[:, 2], -6, 3))
    o = {k: np.ascontiguousarray(np.broadcast_to(v[:, :days], (n, days))) for k, v in occ.items()}
    return simulate_pain(o, b, p, eta, pd, days=days)


@dataclass(frozen=True)
class ResponseFit:
    """MAP fit of the pain model to the diary.

    ``u`` and ``cov`` are on the model scale (baseline, placebo, log sensitivity; the
    placebo SD by the delta method when the fit used log placebo); ``z`` and ``cov_z``
    on the fitted scale (see :class:`PainPrior`), where the posterior is sampled.
    """

    u: FloatArray
    cov: FloatArray
    noise_sd: float
    prior: PainPrior
    n_days: int
    ofv: float
    converged: bool
    objective: Any = field(default=None, repr=False, compare=False)
    z: FloatArray | None = field(default=None, repr=False, compare=False)
    cov_z: FloatArray | None = field(default=None, repr=False, compare=False)
    problems: tuple[str, ...] = ()

    def sample(self, n: int, rng: np.random.Generator, method: str = "sir") -> FloatArray:
        """Posterior draws of (baseline, placebo, log sensitivity): Laplace, or SIR
        (multivariate t proposals, 5 df, Laplace covariance x 1.5; Dosne 2016), on the
        fitted scale, returned on the model scale."""
        z0 = self.u if self.z is None else self.z
        cz = self.cov if self.cov_z is None else self.cov_z
        L = np.linalg.cholesky(cz + 1e-12 * np.eye(3))
        if method == "laplace" or self.objective is None:
            return self.prior.to_model(z0 + rng.standard_normal((n, 3)) @ L.T)
        if method != "sir":
            raise InputError("method", method, "'laplace' or 'sir'")
        m, df = max(5 * n, 1000), 5.0
        Ls = L * np.sqrt(1.5)
        zt = rng.standard_normal((m, 3)) / np.sqrt(rng.chisquare(df, m) / df)[:, None]
        x = z0 + zt @ Ls.T
        logw = -0.5 * self.objective(x) + 0.5 * (df + 3) * np.log1p(np.sum(zt * zt, axis=1) / df)
        logw[~np.isfinite(logw)] = -np.inf
        w = np.exp(logw - np.max(logw))
        w /= w.sum()
        idx = rng.choice(m, size=min(n, int(np.count_nonzero(w))), replace=False, p=w)
        return self.prior.to_model(x[idx])

    def noise_draws(self, n: int, rng: np.random.Generator) -> FloatArray:
        """Draws of the diary noise SD from its posterior (scaled inverse chi-square with
        n_scores - 3 degrees of freedom, at least 1; plus the rounding noise): a
        short diary says little about the day-to-day noise."""
        df = max(self.n_days - 3, 1)
        rss = max(self.noise_sd**2 - _MIN_VAR, 0.0) * self.n_days
        return np.asarray(np.sqrt(rss / rng.chisquare(df, n) + _MIN_VAR))

    def placebo_note(self) -> str | None:
        """A note when the fitted placebo fraction is below 0 (pain rose beyond the
        baseline apart from the drug) and the reported share was clipped to 0."""
        raw = float(self.u[1])
        if raw >= 0:
            return None
        return (
            f"placebo_fraction: the fit gave {raw:.2f} (pain above the baseline apart from "
            "the drug: a natural worsening, not a placebo effect); shown as 0"
        )

    def individual(self) -> dict[str, float]:
        """The individual parameters as reported: the placebo share of relief clipped to
        0-0.95 (a share of relief is never negative; :meth:`placebo_note` says when the
        fit fell below 0)."""
        return {
            "baseline_pain": float(np.clip(self.u[0], 0.05, 10)),
            "placebo_fraction": float(np.clip(self.u[1], 0.0, 0.95)),
            "sensitivity": float(np.exp(self.u[2])),
            "diary_noise_sd": self.noise_sd,
        }


def _fit_problems(converged: bool, hess_ok: bool) -> tuple[str, ...]:
    out = []
    if not converged:
        out.append("the optimiser did not converge")
    if not hess_ok:
        out.append("the objective is not curved at the optimum (parameters not identified)")
    return tuple(out)


def fit_response(
    diary_day: NDArray[np.int64],
    pain: FloatArray,
    occ: dict[str, FloatArray],
    days: int,
    pd: PDParameters,
    prior: PainPrior,
    baseline: Baseline | None = None,
) -> ResponseFit:
    """MAP of (baseline, placebo, log sensitivity) from daily pain on model days.

    The placebo fraction's prior is truncated at 0 unless the diary shows a worsening
    (:func:`worsening_evidence` against the patient's own baseline)."""
    if diary_day.size == 0:
        raise InputError("diary", "no pain scores", "at least one pain score")
    m = diary_day.size
    base = baseline or own_baseline(diary_day, pain)
    prior = prior.truncated(not worsening_evidence(diary_day, pain, base))

    def ofv(z: FloatArray) -> FloatArray:
        res = simulate_patient_pain(prior.to_model(z), occ, days, pd)
        f = res.pain[:, diary_day]
        rss = np.sum((pain[None, :] - f) ** 2, axis=1)
        var = rss / m + _MIN_VAR  # continuous day-to-day noise plus integer rounding
        return np.asarray(m * np.log(var) + m + prior.ofv(z))

    s0 = prior.mean.copy()
    s0[1] = max(float(s0[1]), 0.05) if prior.nonnegative_placebo else s0[1]
    s1 = s0.copy()
    s1[0] = base.value
    best = min((newton_minimise(ofv, prior.to_fitted(s)) for s in (s0, s1)), key=lambda r: r.ofv)
    H = (best.hess + best.hess.T) / 2
    hess_ok = bool(np.min(np.linalg.eigvalsh(H)) > 0)
    cov_z = 2.0 * np.linalg.inv(H) if hess_ok else np.diag(prior.sd**2)
    u = prior.to_model(best.eta)[0]
    J = np.eye(3)
    if prior.nonnegative_placebo:
        J[1, 1] = u[1]
    res = simulate_patient_pain(u, occ, days, pd)
    rss = float(np.sum((pain - res.pain[0, diary_day]) ** 2))
    return ResponseFit(
        np.asarray(u, dtype=np.float64),
        np.asarray(J @ cov_z @ J.T, dtype=np.float64),
        float(np.sqrt(rss / m + _MIN_VAR)),
        prior,
        m,
        best.ofv,
        best.converged and hess_ok,
        ofv,
        np.asarray(best.eta, dtype=np.float64),
        np.asarray(cov_z, dtype=np.float64),
        _fit_problems(best.converged, hess_ok),
    )


def probability_interval(p: float, n: int, level: float = 0.90) -> tuple[float, float, float]:
    """The reported probability and its interval from the model's posterior-predictive
    probability ``p`` and the number of diary scores ``n``: the mean and the central
    ``level`` interval of Beta(n p + 1/2, n (1 - p) + 1/2) (a Jeffreys interval that
    treats the diary's scores as the sample size). A short diary cannot give 0 or 1."""
    from scipy.stats import beta

    n = max(int(n), 1)
    a, b = n * p + 0.5, n * (1.0 - p) + 0.5
    q = (1.0 - level) / 2.0
    return a / (a + b), float(beta.ppf(q, a, b)), float(beta.ppf(1.0 - q, a, b))


def percent(p: float) -> str:
    """A probability as a clinician reads it: whole percent, never 0 % or 100 %."""
    if p < 0.01:
        return "< 1 %"
    if p > 0.99:
        return "> 99 %"
    return f"{round(p * 100)} %"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    p_relief: float | None  # None: the fit did not converge, no probability shown
    week8_pain: float
    week8_lo: float
    week8_hi: float
    trajectory: FloatArray
    p_interval: tuple[float, float] | None = None
    p_model: float | None = None

    def to_json(self) -> dict[str, Any]:
        shown = self.p_relief is not None and self.p_interval is not None
        text = (
            f"{percent(self.p_relief)} (90 % interval {percent(self.p_interval[0])} to "  # type: ignore[arg-type,index]
            f"{percent(self.p_interval[1])})"  # type: ignore[index]
            if shown
            else "not shown: the diary fit did not converge"
        )
        return {
            "scenario": self.name,
            "description": self.description,
            "p_relief_30_week8": None if self.p_relief is None else round(self.p_relief, 3),
            "p_relief_90": None
            if self.p_interval is None
            else [round(self.p_interval[0], 3), round(self.p_interval[1], 3)],
            "p_relief_model": None if self.p_model is None else round(self.p_model, 3),
            "p_relief_text": text,
            "predicted_week8_mean_pain": round(self.week8_pain, 3),
            "p05": round(self.week8_lo, 3),
            "p95": round(self.week8_hi, 3),
        }


@dataclass(frozen=True)
class ResponseReport:
    drug: str
    fit: ResponseFit
    scenarios: list[Scenario]
    side_effects: SideEffectTrend
    findings: list[Finding]
    diary: Diary
    first_dose: dt.date
    sources: list[str]
    notes: list[str] = field(default_factory=list)
    baseline: Baseline | None = None

    def to_json(self) -> dict[str, Any]:
        pr = self.fit.prior
        base = self.baseline or Baseline(self.fit.individual()["baseline_pain"], 0, "model fit")
        return {
            "drug": self.drug,
            "model": {
                "name": "neurodose.pd pain-pathway model (simulate_pain), MAP of patient-level "
                "parameters",
                "estimated": list(NAMES),
                "relief_threshold": RELIEF,
                "relief_threshold_source": RELIEF_SOURCE,
            },
            "baseline": base.to_json(),
            "individual": {k: round(v, 4) for k, v in self.fit.individual().items()},
            "individual_sd": {
                n: round(float(np.sqrt(self.fit.cov[i, i])), 4) for i, n in enumerate(NAMES)
            },
            "prior": {
                **{
                    n: {"mean": round(float(pr.mean[i]), 4), "sd": round(float(pr.sd[i]), 4)}
                    for i, n in enumerate(NAMES)
                },
                "placebo_truncated_at_0": pr.nonnegative_placebo,
            },
            "fit": {
                "n_pain_scores": self.fit.n_days,
                "gap_days": self.diary.n_gap_days,
                "converged": self.fit.converged,
                "problems": list(self.fit.problems),
                "forecast_shown": self.fit.converged,
                "ofv": round(self.fit.ofv, 4),
            },
            "first_dose": self.first_dose.isoformat(),
            "scenarios": [s.to_json() for s in self.scenarios],
            "side_effects": self.side_effects.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "notes": self.notes,
            "sources": self.sources,
        }

    def plot(self, path: str | Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        p = Path(path)
        if p.suffix.lower() != ".png":
            raise InputError("path", str(path), "a file ending in .png")
        off = (self.diary.start - self.first_dose).days + 1
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ax.scatter(self.diary.day + off, self.diary.pain, s=12, color="k", label="diary pain")
        for s in self.scenarios:
            ax.plot(np.arange(s.trajectory.size), s.trajectory, label=f"{s.name}")
        b = self.baseline.value if self.baseline else self.fit.individual()["baseline_pain"]
        ax.axhline(b * (1 - RELIEF), ls=":", color="grey", label="30 % relief (own baseline)")
        ax.set_xlabel("day since first dose (days)")
        ax.set_ylabel("pain (0-10 numeric rating scale)")
        ax.set_ylim(0, 10)
        ax.legend(fontsize=8)
        save_figure(fig, p)


def _step_doses(drug: str) -> tuple[float | None, float | None, float, float | None]:
    g = record(drug).doses.get("neuropathic_pain")
    if g is None:
        return None, None, 7.0, None
    q = [g.start, g.titration_step, g.titration_interval, g.usual_low, g.maximum]
    for x in q:
        if x is not None:
            citations.register(x.source)
    start = g.start.canonical() if g.start else (g.usual_low.canonical() if g.usual_low else None)
    step = g.titration_step.canonical() if g.titration_step else None
    interval = g.titration_interval.canonical() / 24.0 if g.titration_interval else 7.0
    usual = g.usual_low.canonical() if g.usual_low else None
    return start, step, interval, usual


def _check_first_dose(diary: Diary, first: dt.date) -> None:
    diary_end = diary.start + dt.timedelta(days=diary.n_days - 1)
    if first > diary_end:
        raise InputError(
            "first_dose",
            first.isoformat(),
            f"a date on or before the last diary entry ({diary_end.isoformat()}): a first "
            "dose after the diary would leave every entry before treatment",
        )
    if (diary_end - first).days > MAX_RESPONSE_DAYS:
        raise InputError(
            "first_dose",
            first.isoformat(),
            f"a first dose at most {MAX_RESPONSE_DAYS:,} days (10 years) before the last "
            f"diary entry ({diary_end.isoformat()})",
        )


@dataclass(frozen=True)
class _Course:
    """What the forecasts share: the drug, the patient, the PD set, the PK eta, the grid."""

    drug: str
    patient: Any
    comeds: Sequence[Any]
    pd: PDParameters
    pk_eta: FloatArray | None
    horizon: int

    def occ(self, doses: ExpandedDoses, drug: str | None = None) -> dict[str, FloatArray]:
        own = drug is None or drug == self.drug
        return daily_occupancy(
            drug or self.drug,
            doses,
            self.horizon,
            self.patient,
            self.comeds,
            self.pd,
            self.pk_eta if own else None,
        )


def _pk_individual(
    drug: str,
    doses: ExpandedDoses,
    levels: Observations | None,
    patient: Any,
    comeds: Sequence[Any],
    seed: int,
) -> tuple[FloatArray | None, list[str]]:
    if levels is not None and len(levels):
        from neurodose.mipd.estimate import fit_map

        pk_fit = fit_map(prior_model(drug, patient, comeds), doses, levels, seed=seed)
        return pk_fit.eta, [
            f"PK individualised from {len(levels)} level(s) (MAP; see `neurodose tdm`)"
        ]
    return None, [
        "PK at the typical values for this patient (covariates, genotype, "
        "co-medication); give --levels to individualise it"
    ]


def _own_scenarios(
    drug: str, hist: ExpandedDoses, doses: ExpandedDoses, last_day: int, horizon: int
) -> tuple[list[tuple[str, str, ExpandedDoses]], float, list[str]]:
    """Keep and raise: the doses, the time of the next dose (h) and notes."""
    per_dose = float(hist.amounts[-1]) if len(hist) else float(doses.amounts[0])
    every = 24.0
    if len(hist) >= 2:
        every = float(hist.times[-1] - hist.times[-2]) or 24.0
    clock = float(hist.times[-1] % every) if len(hist) else 21.0
    t_next = last_day * 24.0 + clock
    n_future = int(np.ceil((horizon * 24.0 - t_next) / every)) + 1
    out = [
        (
            "keep",
            f"{per_dose:g} mg every {every:g} h",
            hist.then(Regimen.oral(per_dose, every, doses=n_future, start=t_next).expand()),
        )
    ]
    _start, step, _interval_d, _usual = _step_doses(drug)
    if step is None:
        return out, t_next, [f"raise: no titration step for {drug} in the knowledge base"]
    g = record(drug).doses.get("neuropathic_pain")
    per_day = 24.0 / every
    raised = per_dose + step / per_day
    if g is not None and g.maximum is not None:
        citations.register(g.maximum.source)
        raised = min(raised, g.maximum.canonical() / per_day)
    if raised <= per_dose:
        return out, t_next, ["raise: already at the knowledge-base maximum; not forecast"]
    rs = hist.then(Regimen.oral(raised, every, doses=n_future, start=t_next).expand())
    out.append(("raise", f"{raised:g} mg every {every:g} h (KB titration step)", rs))
    return out, t_next, []


def _switch_doses(
    drug: str, target: str, t_next: float, horizon: int
) -> tuple[str, ExpandedDoses] | None:
    """The new drug's doses from ``t_next``: KB start dose, then its usual dose."""
    s_start, _s_step, s_int, s_usual = _step_doses(target)
    if s_start is None:
        return None
    n1 = max(1, round(s_int))
    if s_usual is not None and s_usual > s_start:
        n2 = max(1, int(np.ceil((horizon * 24.0 - t_next) / 24.0)) - n1 + 1)
        new = Regimen.oral(s_start, 24.0, doses=n1, start=t_next).expand()
        new = new.then(Regimen.oral(s_usual, 24.0, doses=n2, start=t_next + 24.0 * n1).expand())
        return (
            f"stop {drug}; {target} {s_start:g} mg daily for {n1} days, then "
            f"{s_usual:g} mg daily (KB start and usual dose)"
        ), new
    n2 = int(np.ceil((horizon * 24.0 - t_next) / 24.0)) + 1
    new = Regimen.oral(s_start, 24.0, doses=n2, start=t_next).expand()
    return f"stop {drug}; {target} {s_start:g} mg daily (KB start dose)", new


def _diary_signals(
    diary: Diary, regimen: Regimen, last_day: int, off: int
) -> tuple[SideEffectTrend, list[Finding]]:
    stop_day = None
    if regimen.last_dose_time < last_day * 24.0 - 24.0:
        stop_day = int(regimen.last_dose_time // 24.0) + 1 - off
    trend = side_effect_trend(diary)
    findings = withdrawal_signals(diary, stop_day=stop_day)
    if trend.direction == "rising":
        findings.insert(
            0,
            Finding(
                code="side_effects_rising",
                severity="monitor",
                day=int(diary.day[-1]),
                message=(
                    f"side effects are rising ({trend.slope_per_week:+.2f} points/week since "
                    f"diary day {trend.from_day}) rather than fading; consider a level "
                    "(neurodose tdm) and a dose review"
                ),
                details=trend.to_json(),
            ),
        )
    return trend, findings


def _not_converged(fit: ResponseFit, diary: Diary) -> Finding:
    return Finding(
        code="response_fit_not_converged",
        severity="caution",
        day=int(diary.day[-1]),
        message=(
            "the diary fit is not reliable ("
            + "; ".join(fit.problems)
            + "): no probability of relief is shown; review the diary and the doses, or "
            "wait for more entries"
        ),
    )


def run_response(
    drug: str,
    regimen: Regimen,
    diary: Diary,
    first_dose: dt.date | None = None,
    patient: Any = None,
    comedications: Sequence[Any] = (),
    switch_to: str | None = None,
    levels: Observations | None = None,
    condition: str = "diabetic_neuropathy",
    n_draws: int = 400,
    seed: int = 0,
) -> ResponseReport:
    """Fit the diary and forecast the week-8 response under three scenarios."""
    with citations.tracking() as used:
        drug = resolve_name(drug)
        pd = load_pd_parameters()
        citations.register_many(pd.sources())
        citations.register(RELIEF_SOURCE)
        first = first_dose or diary.start
        _check_first_dose(diary, first)
        off = (diary.start - first).days  # diary day 0 = model day off + 1
        model_day = np.maximum(diary.day + off + 1, 0)
        last_day = int(model_day.max())
        horizon = max(WEEK8[1], last_day)
        doses = taken_expanded(regimen, diary, first)
        pk_eta, notes = _pk_individual(drug, doses, levels, patient, comedications, seed)
        course = _Course(drug, patient, comedications, pd, pk_eta, horizon)
        hist = doses.until(last_day * 24.0)
        occ_hist = course.occ(hist)
        base = own_baseline(model_day, diary.pain)
        prior = pain_prior(pd, getattr(patient, "age", None), condition)
        fit = fit_response(model_day, diary.pain, occ_hist, horizon, pd, prior, base)
        own, t_next, more = _own_scenarios(drug, hist, doses, last_day, horizon)
        notes += more
        rng = np.random.default_rng(seed)
        draws = fit.sample(n_draws, rng, method="sir")
        sig = fit.noise_draws(draws.shape[0], rng)
        scen = [
            _forecast(name, desc, fit, draws, sig, course.occ(dh), course, rng, base)
            for name, desc, dh in own
        ]
        target = resolve_name(
            switch_to or ("duloxetine" if drug != "duloxetine" else "amitriptyline")
        )
        sw = _switch_doses(drug, target, t_next, horizon)
        if sw is None:
            notes.append(f"switch: no neuropathic-pain doses for {target} in the knowledge base")
        else:
            occ = _combine(occ_hist, course.occ(sw[1], target))
            scen.append(
                _forecast(f"switch to {target}", sw[0], fit, draws, sig, occ, course, rng, base)
            )
            notes.append(
                "switch: occupancies of the stopped and the new drug combined as independent; "
                "patient-level parameters carried over"
            )
        trend, findings = _diary_signals(diary, regimen, last_day, off)
    if not fit.converged:
        findings.insert(0, _not_converged(fit, diary))
    clipped = fit.placebo_note()
    if clipped is not None:
        notes.append(clipped)
    return ResponseReport(
        drug=drug,
        fit=fit,
        scenarios=scen,
        side_effects=trend,
        findings=findings,
        diary=diary,
        first_dose=first,
        sources=sorted(used),
        notes=notes,
        baseline=base,
    )


def week8_pain_draws(
    draws: FloatArray,
    noise_sd: float,
    occ: dict[str, FloatArray],
    days: int,
    pd: PDParameters,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Recorded week-8 mean pain per posterior draw, and the draws' baselines.

    The diary process is simulated: daily score = model pain + normal noise
    (the fitted diary SD), clipped to 0-10, averaged over days 50-56. Clipping
    matters for good responders, whose recorded scores cannot go below 0.
    """
    res = simulate_patient_pain(draws, occ, days, pd)
    lo, hi = WEEK8
    daily = res.pain[:, lo : hi + 1]
    rec = np.clip(daily + noise_sd * rng.standard_normal(daily.shape), 0.0, 10.0)
    return rec.mean(axis=1), np.clip(draws[:, 0], 0.05, 10)


def relief_probabilities(
    draws: FloatArray,
    sigma: FloatArray,
    occ: dict[str, FloatArray],
    days: int,
    pd: PDParameters,
    baseline: float,
) -> tuple[FloatArray, FloatArray]:
    """P(recorded week-8 mean pain <= 70 % of ``baseline``) per posterior draw, and the
    model's week-8 mean pain per draw. The recorded mean of the 7 week-8 days is normal
    around the model's mean with SD sigma / sqrt(7) (each draw's own diary noise; the
    0-10 clipping ignored, which matters only far from the threshold)."""
    from scipy.stats import norm

    res = simulate_patient_pain(draws, occ, days, pd)
    lo, hi = WEEK8
    mu = res.pain[:, lo : hi + 1].mean(axis=1)
    se = sigma / np.sqrt(hi - lo + 1)
    return np.asarray(norm.cdf((baseline * (1.0 - RELIEF) - mu) / se)), np.asarray(mu)


def _forecast(
    name: str,
    desc: str,
    fit: ResponseFit,
    draws: FloatArray,
    sigma: FloatArray,
    occ: dict[str, FloatArray],
    course: _Course,
    rng: np.random.Generator,
    base: Baseline,
) -> Scenario:
    days, pd = course.horizon, course.pd
    probs, mu = relief_probabilities(draws, sigma, occ, days, pd, base.value)
    rec = np.clip(
        mu + sigma / np.sqrt(WEEK8[1] - WEEK8[0] + 1) * rng.standard_normal(mu.size), 0, 10
    )
    lo, hi = WEEK8
    at_map = simulate_patient_pain(fit.u, occ, days, pd).pain[0]
    p_model = float(np.mean(probs))
    p, p_lo, p_hi = probability_interval(p_model, fit.n_days)
    shown = fit.converged
    return Scenario(
        name,
        desc,
        p if shown else None,
        float(at_map[lo : hi + 1].mean()),
        float(np.percentile(rec, 5)),
        float(np.percentile(rec, 95)),
        at_map,
        (p_lo, p_hi) if shown else None,
        p_model if shown else None,
    )
