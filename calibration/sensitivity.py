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

Convergence (issue 20 item 7): the Saltelli sample of base size N contains the one of
size N/2 (SALib's scrambled Sobol sequence is nested; checked at run time), so one run
gives the indices at N/2 and N; both are reported with bootstrap 95 % CIs, the sum of
the first-order indices with its bootstrap CI (it must not exceed 1 within the CI), the
largest change of a total index between N/2 and N, and the rank correlation of the total
indices. The ranking is also written to ``knowledge/pdmodels/sensitivity_ranking.json``,
from which ``docs/evidence_gaps.md`` lists the ranked parameters first.

Run (issue 20 asks for N >= 512: 512 x (D + 2) trials, about 18 000, which is days of CPU
on two busy cores; the committed docs say which N they come from)::

    .venv/bin/python calibration/sensitivity.py [--n-base 512] [--n 400] [--spread 1.5]
        [--workers 2 | --scheduler tcp://host:8786 | --serial]

The draws run on Dask: a local cluster of ``--workers`` processes (default 2), or the
cluster at ``--scheduler``; the result is identical to ``--serial`` (each draw is a
deterministic trial). Writes ``calibration/sensitivity_results.json``,
``docs/sensitivity.md``, ``docs/figures/sensitivity_sobol.png`` and the ranking file.

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
    "nmda_site_factor_bounds_high",
    "discontinuation_gain",
    "discontinuation_placebo_rate",
    "withdrawal_adaptation_tau",
    "ae_age_reference",
)
#: fractions kept in [0, 1]
FRACTIONS = (
    "descending_max_inhibition",
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
    return evaluate(*args)  # type: ignore[no-any-return]


RANKING = ROOT / "src" / "neurodose" / "knowledge" / "pdmodels" / "sensitivity_ranking.json"


def _run_draws(tasks: list[tuple[Any, ...]], a: argparse.Namespace) -> np.ndarray:
    """Evaluate the draws serially, on a local Dask cluster, or on ``--scheduler``."""
    if a.serial:
        return np.array([_evaluate_star(t) for t in tasks], dtype=float)
    from distributed import Client, LocalCluster

    if a.scheduler:
        client = Client(a.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = client.map(_evaluate_star, tasks, pure=False)
        return np.array(client.gather(futures), dtype=float)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _indices(prob: dict[str, Any], y: np.ndarray, resamples: int) -> dict[str, Any]:
    """S1/ST with bootstrap CIs and the bootstrap CI of the sum of S1."""
    from SALib.analyze import sobol

    Si = sobol.analyze(
        prob,
        y,
        calc_second_order=False,
        num_resamples=resamples,
        keep_resamples=True,
        seed=SEED,
    )
    # one S1 vector per bootstrap resample (SALib keep_resamples)
    sums = np.asarray(Si["S1_conf_all"]).sum(axis=1)
    lo, hi = np.percentile(sums, [2.5, 97.5])
    return {
        "S1": [float(x) for x in Si["S1"]],
        "S1_conf": [float(x) for x in Si["S1_conf"]],
        "ST": [float(x) for x in Si["ST"]],
        "ST_conf": [float(x) for x in Si["ST_conf"]],
        "S1_sum": float(np.sum(Si["S1"])),
        "S1_sum_ci": [float(lo), float(hi)],
    }


def _convergence(half: dict[str, Any], full: dict[str, Any]) -> dict[str, float]:
    """How much the indices moved from N/2 to N."""
    from scipy.stats import spearmanr

    a, b = np.array(half["ST"]), np.array(full["ST"])
    rho = spearmanr(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
    return {
        "max_abs_dST": float(np.max(np.abs(a - b))),
        "spearman_ST": float(rho),
        "max_ST_conf": float(np.max(full["ST_conf"])),
    }


def main(argv: list[str] | None = None) -> int:
    from SALib.sample import sobol as sobol_sample

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-base", type=int, default=512, help="Saltelli base sample (power of 2)")
    ap.add_argument("--n", type=int, default=400, help="patients per arm in each trial")
    ap.add_argument("--spread", type=float, default=1.5, help="x/÷ range of each parameter")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address")
    ap.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    ap.add_argument("--serial", action="store_true", help="no Dask (same result)")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    a = ap.parse_args(argv)
    if a.n_base < 4 or a.n_base & (a.n_base - 1):
        ap.error(f"--n-base {a.n_base}: expected a power of 2 >= 4")
    prob, base = problem()
    X = sobol_sample.sample(prob, a.n_base, calc_second_order=False, seed=SEED)
    per = prob["num_vars"] + 2
    half_n = a.n_base // 2
    X_half = sobol_sample.sample(prob, half_n, calc_second_order=False, seed=SEED)
    if not np.allclose(X[: half_n * per], X_half):  # the convergence check relies on it
        raise RuntimeError("the Saltelli sample of N/2 is not nested in that of N")
    names = prob["names"]
    tasks = [(list(map(float, row)), names, base, a.n, a.spread) for row in X]
    t0, c0 = time.time(), time.process_time()
    Y = _run_draws(tasks, a)
    elapsed = time.time() - t0
    res: dict[str, Any] = {
        "n_base": a.n_base,
        "n_per_arm": a.n,
        "spread": a.spread,
        "n_evaluations": len(X),
        "seconds": round(elapsed, 1),
        "driver_cpu_seconds": round(time.process_time() - c0, 1),
        "runner": "serial" if a.serial else (a.scheduler or f"dask LocalCluster x{a.workers}"),
        "parameters": names,
        "base": base,
        "outputs": {},
        "half": {},
        "convergence": {},
    }
    for j, out in enumerate(OUTPUTS):
        full = _indices(prob, Y[:, j], a.resamples)
        half = _indices(prob, Y[: half_n * per, j], a.resamples)
        res["outputs"][out] = {
            "mean": float(Y[:, j].mean()),
            "sd": float(Y[:, j].std()),
            **full,
        }
        res["half"][out] = half
        res["convergence"][out] = _convergence(half, full)
    OUT_JSON.write_text(json.dumps(res, indent=1), encoding="utf-8")
    write_doc(res)
    write_ranking(res)
    print(f"wrote {OUT_JSON}, {DOC}, {FIG}, {RANKING} ({len(X)} trials, {elapsed:.0f} s)")
    return 0


def _ranking(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Parameters by their largest total index over the outputs (with its CI)."""
    names = res["parameters"]
    ST = np.clip(np.array([res["outputs"][o]["ST"] for o in OUTPUTS]), 0.0, None)
    conf = np.array([res["outputs"][o]["ST_conf"] for o in OUTPUTS])
    rows = []
    for i in np.argsort(-ST.max(axis=0)):
        j = int(np.argmax(ST[:, i]))
        rows.append(
            {
                "parameter": names[i],
                "status": _status(names[i]),
                "max_ST": round(float(ST[j, i]), 4),
                "ST_conf": round(float(conf[j, i]), 4),
                "output": OUTPUTS[j],
            }
        )
    return rows


def write_ranking(res: dict[str, Any]) -> None:
    """The ranking for docs/evidence_gaps.md (rendered by neurodose.knowledge.docgen)."""
    doc = {
        "note": "written by calibration/sensitivity.py; do not edit by hand",
        "n_base": res["n_base"],
        "n_per_arm": res["n_per_arm"],
        "ranking": _ranking(res),
    }
    RANKING.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _status(name: str) -> str:
    q = load_pd_parameters().quantities[name]
    return "calibrated" if q.calibrated else "unverified"


def _shown(name: str) -> str:
    q = load_pd_parameters().quantities[name]
    return f"{q.point:.4g} {q.unit}".replace(" 1", "")


def _honesty(res: dict[str, Any]) -> str:
    """What this run can and cannot support."""
    if res["n_base"] >= 512:
        return (
            f"Base sample N = {res['n_base']} (issue 20 asks for >= 512). Read the ranking "
            "with the convergence table below."
        )
    return (
        f"**Smaller than asked.** Issue 20 asks for a base sample >= 512; this run has "
        f"N = {res['n_base']} ({res['n_evaluations']} trials), because 512 x (D + 2) trials "
        "do not fit on the two shared cores of this machine in one session. The runner does "
        "the full run unchanged (`--n-base 512`, Dask workers or a cluster). Where the "
        "convergence table shows a first-order sum above 1 or wide intervals, the indices "
        "of this run are not converged and only the top of the ranking is informative."
    )


def _assessment(res: dict[str, Any]) -> str:
    """A reading of the convergence table (computed, not hand-written)."""
    outs = [o for o in OUTPUTS if o in res.get("convergence", {})]
    if not outs:
        return ""
    moves = [abs(res["outputs"][o]["S1_sum"] - res["half"][o]["S1_sum"]) for o in outs]
    widths = [res["outputs"][o]["S1_sum_ci"][1] - res["outputs"][o]["S1_sum_ci"][0] for o in outs]
    over = [o for o in outs if res["outputs"][o]["S1_sum_ci"][0] > 1.0]
    conf = max(res["convergence"][o]["max_ST_conf"] for o in outs)
    converged = max(moves) < 0.1 and max(widths) < 0.5 and not over
    return (
        f"**Assessment:** from N/2 to N the first-order sums moved by up to {max(moves):.2f}, "
        f"their 95 % intervals are up to {max(widths):.2f} wide, and the largest total-index "
        f"half-width is {conf:.2f}; "
        + (
            "the indices look converged (sums stable within 0.1, intervals narrower than 0.5). "
            if converged
            else "the indices are **not converged**: the sums are consistent with <= 1 only "
            "because the intervals are wide, not because they are precise. "
        )
        + "The N/2 and N indices share half of their draws, so their rank correlation "
        "overstates stability; an independent second sample (a different seed) is the "
        "stronger check."
    )


def write_doc(res: dict[str, Any]) -> None:
    """docs/sensitivity.md and the figure from the results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = res["parameters"]
    ST = np.array([res["outputs"][o]["ST"] for o in OUTPUTS])  # (outputs, params)
    ST = np.clip(ST, 0.0, None)
    order = np.argsort(-ST.max(axis=0))
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
    conv = res.get("convergence", {})
    lines = [
        "# Global sensitivity of headline outputs to unverified and calibrated PD parameters",
        "",
        "Generated by `.venv/bin/python calibration/sensitivity.py` "
        f"(Saltelli base N = {res['n_base']}, {res['n_evaluations']} virtual trials of "
        f"{res['n_per_arm']} patients per arm, {res['seconds']:.0f} s wall on "
        f"{res.get('runner', 'serial')}). Method and outputs: see the script's docstring. "
        "A parameter stored with a plausible range is drawn uniformly within it "
        "(`serotonin_weight` 0-0.5, the SERT share of descending inhibition with no number "
        "in the evidence; the H1 drowsiness tolerance; the age susceptibility 0-0.033/year); "
        f"every other one log-uniformly within x/÷{res['spread']} of its value (no source "
        "gives a range for them). Outputs are risk differences (1/NNT, 1/NNH) because NNT "
        "is unbounded near zero. The recalibration of the PD fit is not redone per draw "
        "(indices are *without recalibration*).",
        "",
        _honesty(res),
        "",
        "PK parameters stored `verified = false` are not varied here (their effect on "
        "exposure is shown by docs/validation.md); sensitivity is not validation. "
        "`ae_age_susceptibility` cannot move these outputs (the trial population is centred "
        "on its reference age, 60), yet claim 10 (older patients) rests on it entirely; "
        "docs/claims.md re-runs that claim across its range.",
        "",
        "## Convergence (indices at N/2 and N from the same nested sample)",
        "",
        f"| output | sum S1 at N/2 = {res['n_base'] // 2} (95 % CI) | sum S1 at N = "
        f"{res['n_base']} (95 % CI) | sum S1 <= 1 within CI | max abs change of ST | "
        "rank correlation of ST | largest ST CI half-width |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in OUTPUTS:
        if o not in conv:
            continue
        h, f, c = res["half"][o], res["outputs"][o], conv[o]
        ok = "yes" if f["S1_sum_ci"][0] <= 1.0 else "NO"
        lines.append(
            f"| {o} | {h['S1_sum']:.2f} ({h['S1_sum_ci'][0]:.2f}-{h['S1_sum_ci'][1]:.2f}) | "
            f"{f['S1_sum']:.2f} ({f['S1_sum_ci'][0]:.2f}-{f['S1_sum_ci'][1]:.2f}) | {ok} | "
            f"{c['max_abs_dST']:.2f} | {c['spearman_ST']:.2f} | {c['max_ST_conf']:.2f} |"
        )
    lines += [
        "",
        _assessment(res),
        "",
        "![Sobol](figures/sensitivity_sobol.png)",
        "",
        "## Ranking (largest total index over the outputs)",
        "",
        "| rank | parameter | status | value | max ST (95 % CI half-width) | "
        "output where largest |",
        "|---|---|---|---|---|---|",
    ]
    for rank, row in enumerate(_ranking(res), 1):
        name = row["parameter"]
        lines.append(
            f"| {rank} | `{name}` | {row['status']} | {_shown(name)} | "
            f"{row['max_ST']:.2f} (±{row['ST_conf']:.2f}) | {row['output']} |"
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
