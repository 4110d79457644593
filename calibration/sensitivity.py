"""Global sensitivity (Sobol indices) of headline outputs to the uncertain PD parameters.

Every PD parameter that is ``calibrated`` or stored ``verified = false`` and that can
change a 12-week painful-diabetic-neuropathy trial is varied (parameters of other
conditions and of the stop/taper module are left out: they cannot move these outputs).
A parameter stored with a plausible range (``low``..``high`` beside its value: the SERT
weight of descending inhibition 0..0.5, the H1 drowsiness tolerance, the age
susceptibility) is drawn uniformly within that range; every other one log-uniformly
within x/÷ ``--spread`` of its value (default 1.5: no source gives a range for them);
fractions that must stay in [0, 1] are clipped. Saltelli sampling and Sobol
analysis with SALib; first-order (S1) and total (ST) indices with bootstrap 95 % CIs.

Outputs (one virtual trial per parameter draw, common random numbers):

* NNT for >= 50 % relief per drug (amitriptyline 10 -> 50 mg, duloxetine 60 mg,
  pregabalin 300 mg/day), reported as the risk difference 1/NNT (NNT itself is
  unbounded when the difference approaches 0);
* AE-withdrawal NNH per drug, as its risk difference;
* week-2 relief: duloxetine minus placebo pain reduction at week 2 (points);
* P(>= 30 % relief by week 8): the a-priori chance for a duloxetine patient (the MIPD
  forecast before any diary), approximated by the responder rate of an 8-week arm.

Run (the docs use the defaults; about an hour on two busy cores)::

    .venv/bin/python calibration/sensitivity.py [--n-base 16] [--n 400] [--spread 1.5]
        [--scheduler tcp://host:8786]

``--scheduler`` evaluates the draws on a Dask cluster (``distributed.Client``); the result
is identical to a local run (each draw is a deterministic trial). Writes
``calibration/sensitivity_results.json``, ``docs/sensitivity.md`` and
``docs/figures/sensitivity_sobol.png``.

Sensitivity is not validation: it says which unverified numbers the headline results
depend on, so that the evidence work can target them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.params import load_pd_parameters  # noqa: E402
from neurodose.trial.design import parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

OUT_JSON = ROOT / "calibration" / "sensitivity_results.json"
DOC = ROOT / "docs" / "sensitivity.md"
FIG = ROOT / "docs" / "figures" / "sensitivity_sobol.png"
SEED = 777

#: parameters that cannot change a 12-week PDN trial without a stop (left out)
EXCLUDED = (
    "placebo_condition_central",
    "placebo_condition_chemo",
    "placebo_condition_hiv",
    "placebo_condition_phn",
    "channel_site_factor_bounds_high",
    "discontinuation_gain",
    "discontinuation_placebo_rate",
    "withdrawal_adaptation_tau",
    "ae_age_reference",
)
#: fractions kept in [0, 1]
FRACTIONS = (
    "ae_tolerance_max",
    "ae_tolerance_max_drowsiness_H1",
    "sleep_sedation_effect",
    "sleep_serotonergic_effect",
)
#: drawn over their whole range (no number in the evidence)
FULL_RANGE: dict[str, tuple[float, float]] = {}


def _ranged(p: Any) -> set[str]:
    """Parameters stored with a plausible range (``low``..``high`` beside the value)."""
    return {
        k
        for k, q in p.quantities.items()
        if q.low is not None and q.high is not None and q.low < q.high
    }


OUTPUTS = (
    "rd50_amitriptyline",
    "rd50_duloxetine",
    "rd50_pregabalin",
    "rd_withdrawal_amitriptyline",
    "rd_withdrawal_duloxetine",
    "rd_withdrawal_pregabalin",
    "week2_relief_duloxetine",
    "p30_week8_duloxetine",
)

AMI = [(1, 10, 24), (8, 25, 24), (15, 50, 24)]


def _arm(name: str, drug: str, steps: list[tuple[int, float, float]]) -> dict[str, Any]:
    if drug == "placebo":
        return {"name": name, "drug": "placebo"}
    return {
        "name": name,
        "drug": drug,
        "regimen": [{"start_day": d, "dose_mg": m, "every_h": h} for d, m, h in steps],
    }


def _design(n: int, weeks: int, arms: list[dict[str, Any]]) -> Any:
    return parse_design(
        {
            "name": "sensitivity",
            "weeks": weeks,
            "condition": "diabetic_neuropathy",
            "n_per_arm": n,
            "seed": SEED,
            "arms": [_arm("placebo", "placebo", []), *arms],
        }
    )


def problem() -> tuple[dict[str, Any], dict[str, float]]:
    """SALib problem (log-scale bounds except full-range parameters) and base values."""
    p = load_pd_parameters()
    names, bounds, base = [], [], {}
    for k, q in sorted(p.quantities.items()):
        if k in EXCLUDED or not (q.calibrated or not q.verified):
            continue
        v = q.canonical()
        base[k] = v
        names.append(k)
        if k in FULL_RANGE:
            bounds.append(list(FULL_RANGE[k]))
        elif k in _ranged(p):
            # a plausible range stated with the parameter (cited or derived): uniform in it
            assert q.low is not None and q.high is not None
            f = q.canonical() / q.point if q.point else 1.0
            bounds.append([q.low * f, q.high * f])
        else:
            bounds.append([-1.0, 1.0])  # scaled later by log(spread)
    return {"num_vars": len(names), "names": names, "bounds": bounds}, base


def evaluate(row: list[float], names: list[str], base: dict[str, float], n: int, spread: float):
    """Headline outputs for one parameter draw (a deterministic virtual trial)."""
    p = load_pd_parameters()
    ranged = _ranged(p)
    vals: dict[str, float] = {}
    for k, x in zip(names, row, strict=True):
        if k in FULL_RANGE or k in ranged:
            v = float(x)
        else:
            v = base[k] * math.exp(float(x) * math.log(spread))
        if k in FRACTIONS:
            v = min(max(v, 0.0), 1.0)
        vals[k] = v
    pp = p.with_values(**vals)
    d12 = _design(
        n,
        12,
        [
            _arm("ami", "amitriptyline", AMI),
            _arm("dlx", "duloxetine", [(1, 60, 24)]),
            _arm("pgb", "pregabalin", [(1, 150, 12)]),
        ],
    )
    r = run_trial(d12, params=pp).to_dict()["arms"]
    d8 = _design(n, 8, [_arm("dlx", "duloxetine", [(1, 60, 24)])])
    r8 = run_trial(d8, params=pp).to_dict()["arms"]
    pl = r["placebo"]
    out = {}
    for a, drug in (("ami", "amitriptyline"), ("dlx", "duloxetine"), ("pgb", "pregabalin")):
        out[f"rd50_{drug}"] = r[a]["responders_50"] - pl["responders_50"]
        out[f"rd_withdrawal_{drug}"] = r[a]["withdrawal_ae"] - pl["withdrawal_ae"]
    out["week2_relief_duloxetine"] = pl["weekly_mean_pain"][2] - r["dlx"]["weekly_mean_pain"][2]
    out["p30_week8_duloxetine"] = r8["dlx"]["responders_30"]
    return [out[k] for k in OUTPUTS]


def _evaluate_star(args: tuple[Any, ...]) -> list[float]:
    return evaluate(*args)


def main(argv: list[str] | None = None) -> int:
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-base", type=int, default=16, help="Saltelli base sample (power of 2)")
    ap.add_argument("--n", type=int, default=400, help="patients per arm in each trial")
    ap.add_argument("--spread", type=float, default=1.5, help="x/÷ range of each parameter")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address")
    a = ap.parse_args(argv)
    prob, base = problem()
    X = sobol_sample.sample(prob, a.n_base, calc_second_order=False, seed=SEED)
    names = prob["names"]
    tasks = [(list(map(float, row)), names, base, a.n, a.spread) for row in X]
    t0 = time.time()
    if a.scheduler:
        from distributed import Client

        with Client(a.scheduler) as client:
            futures = client.map(_evaluate_star, tasks)
            Y = np.array(client.gather(futures), dtype=float)
    else:
        Y = np.array([_evaluate_star(t) for t in tasks], dtype=float)
    elapsed = time.time() - t0
    res: dict[str, Any] = {
        "n_base": a.n_base,
        "n_per_arm": a.n,
        "spread": a.spread,
        "n_evaluations": len(X),
        "seconds": round(elapsed, 1),
        "parameters": names,
        "base": base,
        "outputs": {},
    }
    for j, out in enumerate(OUTPUTS):
        Si = sobol.analyze(prob, Y[:, j], calc_second_order=False, seed=SEED)
        res["outputs"][out] = {
            "mean": float(Y[:, j].mean()),
            "sd": float(Y[:, j].std()),
            "S1": [float(x) for x in Si["S1"]],
            "S1_conf": [float(x) for x in Si["S1_conf"]],
            "ST": [float(x) for x in Si["ST"]],
            "ST_conf": [float(x) for x in Si["ST_conf"]],
        }
    OUT_JSON.write_text(json.dumps(res, indent=1), encoding="utf-8")
    write_doc(res)
    print(f"wrote {OUT_JSON}, {DOC}, {FIG} ({len(X)} trials, {elapsed:.0f} s)")
    return 0


def _status(name: str) -> str:
    q = load_pd_parameters().quantities[name]
    return "calibrated" if q.calibrated else "unverified"


def _shown(name: str) -> str:
    q = load_pd_parameters().quantities[name]
    return f"{q.point:.4g} {q.unit}".replace(" 1", "")


def write_doc(res: dict[str, Any]) -> None:
    """docs/sensitivity.md and the figure from the results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = res["parameters"]
    ST = np.array([res["outputs"][o]["ST"] for o in OUTPUTS])  # (outputs, params)
    ST = np.clip(ST, 0.0, None)
    score = ST.max(axis=0)
    order = np.argsort(-score)
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(11, 7))
    im = ax.imshow(ST[:, order].T, aspect="auto", cmap="viridis", vmin=0, vmax=max(0.5, ST.max()))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f"{names[i]} ({_status(names[i])[:3]})" for i in order], fontsize=7)
    ax.set_xticks(range(len(OUTPUTS)))
    ax.set_xticklabels(OUTPUTS, rotation=35, ha="right", fontsize=7)
    fig.colorbar(im, ax=ax, label="total Sobol index ST")
    ax.set_title(
        f"Sobol total indices (Saltelli N={res['n_base']}, {res['n_evaluations']} trials "
        f"of {res['n_per_arm']}/arm; parameters x/÷{res['spread']})"
    )
    fig.tight_layout()
    fig.savefig(FIG, dpi=100)
    plt.close(fig)
    lines = [
        "# Global sensitivity of headline outputs to unverified and calibrated PD parameters",
        "",
        "Generated by `.venv/bin/python calibration/sensitivity.py` "
        f"(Saltelli base N = {res['n_base']}, {res['n_evaluations']} virtual trials of "
        f"{res['n_per_arm']} patients per arm, {res['seconds']:.0f} s; `--scheduler` runs the "
        "same draws on Dask). Method and outputs: see the script's docstring. A parameter "
        "stored with a plausible range is drawn uniformly within it (`serotonin_weight` 0-0.5, "
        "the SERT share of descending inhibition with no number in the evidence; the H1 "
        "drowsiness tolerance; the age susceptibility 0-0.033/year); every other one "
        f"log-uniformly within x/÷{res['spread']} of its value (no source gives a range for "
        "them). Outputs are risk differences (1/NNT, 1/NNH) because NNT is unbounded near zero.",
        "",
        "**Read with care.** With this small base sample the indices carry wide bootstrap "
        "intervals (in the JSON); the *ranking* of the top few parameters is what this page "
        "is for. PK parameters stored `verified = false` are not varied here (their effect "
        "on exposure is shown by docs/validation.md); sensitivity is not validation. "
        "`ae_age_susceptibility` cannot move these outputs (the trial population is centred "
        "on its reference age, 60), yet claim 10 (older patients) rests on it entirely; "
        "docs/claims.md re-runs that claim across its range, and the SERT/NET-dependent "
        "claims across the `serotonin_weight` range.",
        "",
        "![Sobol](figures/sensitivity_sobol.png)",
        "",
        "## Ranking (largest total index over the outputs)",
        "",
        "| rank | parameter | status | value | max ST | output where largest |",
        "|---|---|---|---|---|---|",
    ]
    for rank, i in enumerate(order, 1):
        j = int(np.argmax(ST[:, i]))
        lines.append(
            f"| {rank} | `{names[i]}` | {_status(names[i])} | {_shown(names[i])} | "
            f"{score[i]:.2f} | {OUTPUTS[j]} |"
        )
    lines += [
        "",
        "## Outputs across the draws",
        "",
        "| output | mean | SD | top parameters (ST) |",
        "|---|---|---|---|",
    ]
    for k, o in enumerate(OUTPUTS):
        top = np.argsort(-ST[k])[:3]
        lines.append(
            f"| {o} | {res['outputs'][o]['mean']:.3f} | {res['outputs'][o]['sd']:.3f} | "
            + ", ".join(f"`{names[i]}` {ST[k, i]:.2f}" for i in top)
            + " |"
        )
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
