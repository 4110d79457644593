"""Calibration of the diary response forecast on diaries simulated by the trial engine.

Virtual patients come from the virtual-trial engine (:mod:`neurodose.trial`): its PD
population (:func:`neurodose.trial.population.sample_population`: baseline pain,
age, placebo fraction, sensitivity), its PK population with variability and drawn
genotypes (:func:`neurodose.trial.exposure.population_concentrations`) and its
pain model (:func:`neurodose.pd.pain.simulate_pain` on the pipeline's daily drives).
Each patient takes ``--dose`` mg of ``--drug`` once daily from day 1. Their diary is
the model's daily pain plus independent normal day-to-day noise (SD ``--noise``, a
design choice of this check, not a clinical number), rounded to whole scores and
clipped to 0-10.

Split (named):

* **training window** (what the forecaster sees): ``--baseline-days`` diary days before
  the first dose and days 1-``--diary-days`` on the drug;
* **validation window** (held out, the outcome): the recorded mean pain of days 50-56
  (week 8), >= 30 % below the patient's own baseline (the mean of the recorded
  pre-treatment scores; IMMPACT moderately important, ``dworkin2008_immpact``);
* **patients**: a development cohort (seed ``--seed``) used while writing this script
  and a validation cohort (seed ``--seed + 1``); nothing in the forecaster was fitted
  or tuned to either; the figures reported in docs/mipd.md are the validation cohort's.

The forecaster does not know the patient's PK (typical values, as in clinic without a
level) nor the trial population's draws: it runs :func:`neurodose.mipd.response.
fit_response` and the forecast of :func:`neurodose.mipd.response.run_response`.

Outputs: ``calibration/response_forecast.json`` (Brier scores, reliability bins with
Wilson 90 % intervals) and ``docs/figures/response_reliability.png``.

Run::

    PYTHONPATH=src python calibration/response_forecast.py            # n = 300 per cohort
    PYTHONPATH=src python calibration/response_forecast.py --n 40     # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurodose.case.regimen import Regimen
from neurodose.mipd.response import (
    RELIEF,
    WEEK8,
    daily_occupancy,
    fit_response,
    own_baseline,
    pain_prior,
    probability_interval,
    relief_probabilities,
)
from neurodose.pd.pain import simulate_pain
from neurodose.pd.params import load_pd_parameters
from neurodose.simulation import daily_drives
from neurodose.trial.exposure import population_concentrations
from neurodose.trial.population import sample_population
from neurodose.trial.run import SAMPLES_PER_DAY, sample_times

HERE = Path(__file__).resolve().parent
EDGES = np.linspace(0.0, 1.0, 11)


def simulate_cohort(
    n: int, seed: int, drug: str, dose: float, noise: float, pre_days: int
) -> dict[str, Any]:
    """True daily pain (n, 57) and recorded diaries from the trial engine's building blocks."""
    pd = load_pd_parameters()
    rng = np.random.default_rng(seed)
    days = WEEK8[1]
    pop = sample_population(n, "diabetic_neuropathy", pd, rng)
    reg = Regimen.oral(dose, 24.0, doses=days)
    conc = population_concentrations(drug, reg, pop, rng, sample_times(days))
    occ = daily_drives(drug, conc, days, pd, samples_per_day=SAMPLES_PER_DAY).mean
    true = simulate_pain(occ, pop.baseline, pop.placebo, pop.eta, pd, days=days).pain
    rec = np.clip(np.round(true + noise * rng.standard_normal(true.shape)), 0, 10)
    pre = np.clip(
        np.round(pop.baseline[:, None] + noise * rng.standard_normal((n, pre_days))), 0, 10
    )
    return {"true": true, "recorded": rec, "pre": pre, "pop": pop}


def forecast_cohort(
    cohort: dict[str, Any], drug: str, dose: float, diary_days: int, n_draws: int, seed: int
) -> dict[str, np.ndarray]:
    pd = load_pd_parameters()
    rng = np.random.default_rng(seed + 10_000)
    days = WEEK8[1]
    occ = daily_occupancy(drug, Regimen.oral(dose, 24.0, doses=days).expand(), days, None, (), pd)
    prior = pain_prior(pd, None, "diabetic_neuropathy")
    rec, pre = cohort["recorded"], cohort["pre"]
    n, n_pre = rec.shape[0], pre.shape[1]
    obs_days = np.concatenate([np.zeros(n_pre, dtype=np.int64), np.arange(1, diary_days + 1)])
    lo, hi = WEEK8
    out = {k: np.zeros(n) for k in ("p_model", "p_reported", "lo", "hi", "outcome", "converged")}
    out["placebo"] = np.zeros(n)
    for i in range(n):
        y = np.concatenate([pre[i], rec[i, 1 : diary_days + 1]])
        base = own_baseline(obs_days, y)
        fit = fit_response(obs_days, y, occ, days, pd, prior, base)
        draws = fit.sample(n_draws, rng, method="sir")
        probs, _mu = relief_probabilities(
            draws, fit.noise_draws(draws.shape[0], rng), occ, days, pd, base.value
        )
        pm = float(np.mean(probs))
        p, p_lo, p_hi = probability_interval(pm, fit.n_days)
        out["p_model"][i], out["p_reported"][i], out["lo"][i], out["hi"][i] = pm, p, p_lo, p_hi
        out["converged"][i] = fit.converged
        out["placebo"][i] = fit.u[1]
        wk8 = rec[i, lo : hi + 1].mean()
        out["outcome"][i] = (base.value - wk8) / max(base.value, 1e-9) >= RELIEF
    return out


def wilson(k: float, n: int, z: float = 1.6449) -> tuple[float, float]:
    """Wilson score interval (90 % with the default z)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (float(c - h), float(c + h))


def reliability(p: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    bins = []
    for e0, e1 in itertools.pairwise(EDGES):
        sel = (p >= e0) & ((p < e1) if e1 < 1 else (p <= e1))
        n = int(sel.sum())
        if n:
            k = float(y[sel].sum())
            bins.append(
                {
                    "bin": f"{e0:.1f}-{e1:.1f}",
                    "n": n,
                    "mean_predicted": float(p[sel].mean()),
                    "observed": k / n,
                    "observed_90": list(wilson(k, n)),
                }
            )
    return bins


def summarise(f: dict[str, np.ndarray]) -> dict[str, Any]:
    ok = f["converged"] > 0
    y = f["outcome"][ok]
    pr, pm = f["p_reported"][ok], f["p_model"][ok]
    return {
        "n": int(f["outcome"].size),
        "n_converged": int(ok.sum()),
        "responder_rate": float(y.mean()),
        "mean_predicted_reported": float(pr.mean()),
        "brier_reported": float(np.mean((pr - y) ** 2)),
        "brier_model": float(np.mean((pm - y) ** 2)),
        "brier_base_rate": float(np.mean((y.mean() - y) ** 2)),
        "reported_min": float(pr.min()),
        "reported_max": float(pr.max()),
        "share_placebo_negative": float(np.mean(f["placebo"][ok] < 0)),
        "mean_interval_width": float(np.mean(f["hi"][ok] - f["lo"][ok])),
        "reliability_reported": reliability(pr, y),
    }


def plot(summary: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    ax.plot([0, 100], [0, 100], ls=":", color="grey", label="perfect calibration")
    b = summary["reliability_reported"]
    x = np.array([r["mean_predicted"] for r in b]) * 100
    yv = np.array([r["observed"] for r in b]) * 100
    lo = yv - np.array([r["observed_90"][0] for r in b]) * 100
    hi = np.array([r["observed_90"][1] for r in b]) * 100 - yv
    ax.errorbar(
        x,
        yv,
        yerr=[lo, hi],
        fmt="o-",
        color="#1f5f99",
        capsize=3,
        label="validation cohort (90 % Wilson interval)",
    )
    for xi, yi, r in zip(x, yv, b, strict=True):
        ax.annotate(
            f"n={r['n']}", (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("predicted probability of >= 30 % relief at week 8 (%)")
    ax.set_ylabel("observed share with >= 30 % relief at week 8 (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="patients per cohort")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--drug", default="amitriptyline")
    ap.add_argument("--dose", type=float, default=25.0, help="mg once daily")
    ap.add_argument("--noise", type=float, default=0.8, help="diary day-to-day SD (points)")
    ap.add_argument("--baseline-days", type=int, default=3)
    ap.add_argument("--diary-days", type=int, default=14)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--out", type=Path, default=HERE / "response_forecast.json")
    ap.add_argument(
        "--figure", type=Path, default=HERE.parent / "docs/figures/response_reliability.png"
    )
    a = ap.parse_args()
    t0 = time.process_time()
    res: dict[str, Any] = {
        "design": {k: v for k, v in vars(a).items() if k not in ("out", "figure")},
        "split": {
            "training_window": f"{a.baseline_days} pre-treatment days + days 1-{a.diary_days}",
            "validation_window": f"days {WEEK8[0]}-{WEEK8[1]} (week 8), recorded mean",
            "development_cohort_seed": a.seed,
            "validation_cohort_seed": a.seed + 1,
        },
    }
    for name, seed in (("development", a.seed), ("validation", a.seed + 1)):
        c = simulate_cohort(a.n, seed, a.drug, a.dose, a.noise, a.baseline_days)
        f = forecast_cohort(c, a.drug, a.dose, a.diary_days, a.draws, seed)
        res[name] = summarise(f)
    res["cpu_s"] = round(time.process_time() - t0, 1)
    a.out.write_text(json.dumps(res, indent=1) + "\n")
    v = res["validation"]
    plot(
        v,
        a.figure,
        f"Response forecast, validation cohort (n = {v['n_converged']}, seed {a.seed + 1}): "
        f"Brier {v['brier_reported']:.3f}",
    )
    print(json.dumps({k: v[k] for k in v if k != "reliability_reported"}, indent=1))
    print(f"cpu {res['cpu_s']} s; wrote {a.out} and {a.figure}")


if __name__ == "__main__":
    main()
