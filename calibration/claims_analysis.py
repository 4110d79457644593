"""Run the virtual experiments behind docs/claims.md (analysis, NOT calibration).

Uses the calibrated model as it is (nothing is fitted here). Writes
``calibration/claims_results.json`` and ``docs/figures/pd_*.png``. Run::

    .venv/bin/python calibration/claims_analysis.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.case import Regimen  # noqa: E402
from neurodose.cli.trial import plot_trial  # noqa: E402
from neurodose.pd.params import load_pd_parameters  # noqa: E402
from neurodose.simulation import explain  # noqa: E402
from neurodose.trial.design import arm_table as arm  # noqa: E402
from neurodose.trial.design import load_design, parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

FIG = ROOT / "docs" / "figures"
OUT = ROOT / "calibration" / "claims_results.json"
SEED = 424242


AMI_TITR = [(1, 10, 24), (8, 20, 24), (15, 30, 24), (22, 40, 24), (29, 50, 24)]


def trial(arms: list[dict[str, Any]], n: int, weeks: int = 12, **kw: Any) -> dict[str, Any]:
    d = {
        "name": kw.pop("name", "claims"),
        "weeks": weeks,
        "condition": kw.pop("condition", "diabetic_neuropathy"),
        "n_per_arm": n,
        "seed": SEED,
        "arms": [arm("placebo", "placebo", []), *arms],
        **kw,
    }
    return parse_design(d)


def run(design: Any, params: Any = None, knockout: tuple[str, ...] = ()) -> dict[str, Any]:
    if knockout:
        design = replace(design, knockout=knockout)
    return run_trial(design, params=params).to_dict()


def _fig(name: str) -> Path:
    FIG.mkdir(parents=True, exist_ok=True)
    return FIG / name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    n = ap.parse_args(argv).n
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, Any] = {"n_per_arm": n, "seed": SEED}
    p = load_pd_parameters()
    completers = p.with_values(withdrawal_hazard_base=0.0, withdrawal_hazard_per_ae=0.0)

    # A. demo trial
    demo = load_design(ROOT / "examples" / "trials" / "demo.toml")
    demo = replace(demo, n_per_arm=n)
    res = run_trial(demo)
    plot_trial(res, _fig("pd_demo_trial.png"))
    out["demo"] = res.to_dict()
    out["demo"].pop("sources")
    print("demo done", flush=True)

    # B/C. mechanism dissection by target knockout (same patients, same seed)
    mech_arms = [
        arm("amitriptyline_50", "amitriptyline", AMI_TITR),
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
        arm("pregabalin_300", "pregabalin", [(1, 150, 12)]),
    ]
    d = trial(mech_arms, n)
    mech: dict[str, Any] = {}
    for ko in (
        (),
        ("SERT", "NET"),
        ("sodium_channel", "NMDA"),
        ("sodium_channel",),
        ("NMDA",),
        ("NET",),
        ("SERT",),
    ):
        r = run(d, completers, ko)
        key = "none" if not ko else "+".join(ko)
        mech[key] = {
            a: {
                "responders_50": r["arms"][a]["responders_50"],
                "responders_30": r["arms"][a]["responders_30"],
                "mean_change": r["arms"][a]["mean_change"],
                "nnt_50": r["comparisons"].get(f"{a}_vs_placebo", {}).get("nnt_50"),
            }
            for a in r["arms"]
        }
    out["mechanism_knockout_completers"] = mech
    shares = {}
    for drug, reg in (
        ("amitriptyline", Regimen.oral("50 mg", every="24 h", days=84)),
        ("duloxetine", Regimen.oral("60 mg", every="24 h", days=84)),
        ("pregabalin", Regimen.oral("150 mg", every="12 h", days=84)),
    ):
        e = explain(drug, reg, days=84)
        shares[drug] = {
            "occupancy_last_day": {
                t: round(float(np.mean(v["fraction"][-24:])), 4) for t, v in e["occupancy"].items()
            },
            "pathway_share_day84": {
                k: (v["share_of_relief"] or [None])[-1] for k, v in e["pathways"].items()
            },
            "relief_day84": e["relief"]["drug_attributable_fraction"][-1],
            "unavailable": list(e["unavailable_targets"]),
        }
    out["explain_typical"] = shares
    fig, ax = plt.subplots(figsize=(9, 4.5))
    drugs = list(shares)
    bottom = np.zeros(len(drugs))
    for k in (
        "descending_serotonergic",
        "descending_noradrenergic",
        "sodium_channel",
        "NMDA",
        "alpha2delta",
    ):
        # an unknown pathway has no value (None, not 0): drawn as no bar
        vals = np.array([shares[dr]["pathway_share_day84"][k] or 0.0 for dr in drugs])
        ax.bar(drugs, vals, bottom=bottom, label=k)
        bottom += vals
    ax.set_ylabel("share of modelled relief, day 84")
    ax.set_title("Which pathway carries the relief (typical patient; explain)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(_fig("pd_mechanism.png"), dpi=110)
    plt.close(fig)
    print("mechanism done", flush=True)

    # D. stopping, abrupt vs taper
    stop_arms = [
        arm("amitriptyline_50", "amitriptyline", AMI_TITR),
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
    ]
    stop = {}
    for label, taper in (("abrupt", 0), ("taper_2x7d", 2)):
        ds = trial(stop_arms, n, weeks=20, stop={"day": 85, "taper_steps": taper})
        stop[label] = run(ds, completers)
        stop[label].pop("sources")
    out["stop"] = {
        k: {
            a: {
                "weekly_mean_pain": v["arms"][a]["weekly_mean_pain"],
                "discontinuation_symptoms": v["arms"][a]["discontinuation_symptoms"],
            }
            for a in v["arms"]
        }
        for k, v in stop.items()
    }
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for a in ("placebo", "amitriptyline_50", "duloxetine_60"):
        ax[0].plot(stop["abrupt"]["arms"][a]["weekly_mean_pain"], marker="o", ms=3, label=a)
    ax[0].axvline(12, color="k", ls=":")
    ax[0].set_xlabel("week (drug stopped at the start of week 13)")
    ax[0].set_ylabel("mean pain (completers)")
    ax[0].set_title("Relief does not outlast the drug")
    ax[0].legend(fontsize=8)
    labels = ["amitriptyline_50", "duloxetine_60", "placebo"]
    x = np.arange(len(labels))
    for i, k in enumerate(("abrupt", "taper_2x7d")):
        ax[1].bar(
            x + (i - 0.5) * 0.4,
            [stop[k]["arms"][a]["discontinuation_symptoms"] for a in labels],
            0.4,
            label=k,
        )
    ax[1].set_xticks(x, labels)
    ax[1].set_ylabel("discontinuation symptoms (fraction)")
    ax[1].set_title("Abrupt stop vs 2-step taper")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(_fig("pd_stop_taper.png"), dpi=110)
    plt.close(fig)
    print("stop done", flush=True)

    # E. dose-response (amitriptyline fixed doses; duloxetine 60 vs 120)
    doses = [10, 25, 50, 75, 150]
    dr_arms = [arm(f"amitriptyline_{m}", "amitriptyline", [(1, m, 24)]) for m in doses]
    dr_arms += [
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
        arm("duloxetine_120", "duloxetine", [(1, 60, 12)]),
    ]
    r = run(trial(dr_arms, n))
    out["dose_response"] = {
        a: {
            k: r["arms"][a][k]
            for k in (
                "responders_50",
                "responders_30",
                "mean_change",
                "withdrawal_ae",
                "cardiac_alert",
                "any_adverse_event",
            )
        }
        | {
            "adverse_events": r["arms"][a]["adverse_events"],
            "nnt_50": r["comparisons"].get(f"{a}_vs_placebo", {}).get("nnt_50"),
            "nnh_withdrawal": r["comparisons"].get(f"{a}_vs_placebo", {}).get("nnh_withdrawal"),
        }
        for a in r["arms"]
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ami = [f"amitriptyline_{m}" for m in doses]
    ax.plot(doses, [r["arms"][a]["responders_50"] for a in ami], "o-", label="≥50 % responders")
    ax.plot(
        doses, [r["arms"][a]["adverse_events"]["dry_mouth"] for a in ami], "s-", label="dry mouth"
    )
    ax.plot(doses, [r["arms"][a]["withdrawal_ae"] for a in ami], "^-", label="AE withdrawal")
    ax.plot(
        doses,
        [r["arms"][a]["cardiac_alert"] for a in ami],
        "x-",
        label="AMI+NT > TDM alert (cardiac flag)",
    )
    ax.axhline(r["arms"]["placebo"]["responders_50"], color="grey", ls=":", label="placebo ≥50 %")
    ax.set_xscale("log")
    ax.set_xlabel("amitriptyline mg/day (fixed from day 1)")
    ax.set_ylabel("fraction of patients (ITT, BOCF)")
    ax.plot(
        doses,
        [r["arms"][a]["adverse_events"]["fall_risk_effects"] for a in ami],
        "v-",
        label="fall-risk effects",
    )
    ax.set_title("Amitriptyline: side effects rise faster with dose than relief")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(_fig("pd_dose_response.png"), dpi=110)
    plt.close(fig)
    print("dose done", flush=True)

    # F. time course in completers: pain and sleep, relative to week 12 relief
    tc = run(trial(mech_arms, n), completers)
    pl = np.array(tc["arms"]["placebo"]["weekly_mean_pain"])
    pls = np.array(tc["arms"]["placebo"]["weekly_mean_sleep_interference"])
    tcout = {}
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for a in ("amitriptyline_50", "duloxetine_60", "pregabalin_300"):
        w = np.array(tc["arms"][a]["weekly_mean_pain"])
        s = np.array(tc["arms"][a]["weekly_mean_sleep_interference"])
        diff = pl - w  # drug minus placebo relief, points
        sdiff = pls - s
        frac = diff / diff[-1]
        sfrac = sdiff / sdiff[-1] if sdiff[-1] != 0 else sdiff
        tcout[a] = {
            "pain_vs_placebo_points": [round(float(x), 3) for x in diff],
            "sleep_vs_placebo_points": [round(float(x), 3) for x in sdiff],
            "fraction_of_week12_pain_effect": [round(float(x), 3) for x in frac],
            "fraction_of_week12_sleep_effect": [round(float(x), 3) for x in sfrac],
        }
        ax[0].plot(frac, marker="o", ms=3, label=f"{a} pain")
        ax[0].plot(sfrac, ls="--", label=f"{a} sleep")
        ax[1].plot(diff, marker="o", ms=3, label=a)
    ax[0].axhline(0.9, color="grey", ls=":")
    ax[0].set_xlabel("week")
    ax[0].set_ylabel("fraction of the week-12 drug-vs-placebo effect")
    ax[0].set_title("Onset: sleep vs pain (completers)")
    ax[0].legend(fontsize=7)
    ax[1].set_xlabel("week")
    ax[1].set_ylabel("drug minus placebo pain reduction (points)")
    ax[1].set_title("Effect size over time")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(_fig("pd_time_course.png"), dpi=110)
    plt.close(fig)
    out["time_course_completers"] = tcout
    print("time course done", flush=True)

    # H. adverse effects fade (demo weekly prevalence)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for a, ae in (
        ("duloxetine_60", "nausea"),
        ("pregabalin_300", "dizziness"),
        ("amitriptyline_10_to_50", "dry_mouth"),
        ("amitriptyline_10_to_50", "constipation"),
    ):
        v = out["demo"]["arms"][a]["weekly_ae_prevalence"][ae]
        ax.plot(v, marker="o", ms=3, label=f"{a}: {ae}")
    ax.set_xlabel("week")
    ax.set_ylabel("drug-induced effect present (fraction)")
    ax.set_title("Side effects over time (tolerance; titration for amitriptyline)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(_fig("pd_ae_fade.png"), dpi=110)
    plt.close(fig)

    # conditions: placebo response by syndrome (direction from Cepeda 2012)
    cond = {}
    for c in (
        "diabetic_neuropathy",
        "postherpetic_neuralgia",
        "hiv_neuropathy",
        "central_post_stroke_pain",
    ):
        rr = run(trial([arm("duloxetine_60", "duloxetine", [(1, 60, 24)])], n, condition=c))
        cond[c] = {
            a: {
                "responders_50": rr["arms"][a]["responders_50"],
                "mean_change": rr["arms"][a]["mean_change"],
            }
            for a in rr["arms"]
        }
    out["conditions"] = cond
    print("conditions done", flush=True)

    # G. round 2 (issue 14): SSRIs and imipramine vs duloxetine; gabapentin (T4 check)
    g_arms = [
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
        arm("paroxetine_20", "paroxetine", [(1, 20, 24)]),
        arm("escitalopram_10", "escitalopram", [(1, 10, 24)]),
        arm("sertraline_100", "sertraline", [(1, 50, 24), (8, 100, 24)]),
        arm("fluoxetine_20", "fluoxetine", [(1, 20, 24)]),
        arm("imipramine_75", "imipramine", [(1, 25, 24), (8, 50, 24), (15, 75, 24)]),
        arm("gabapentin_1800", "gabapentin", [(1, 300, 8), (8, 600, 8)]),
        arm("citalopram_20", "citalopram", [(1, 20, 24)]),
        arm("milnacipran_100", "milnacipran", [(1, 25, 12), (4, 50, 12)]),
    ]
    rg = run(trial(g_arms, n))
    out["round2_arms"] = {
        a: {
            k: rg["arms"][a][k]
            for k in ("responders_50", "responders_30", "mean_change", "withdrawal_ae")
        }
        | {
            "adverse_events": rg["arms"][a]["adverse_events"],
            "nnt_50": rg["comparisons"].get(f"{a}_vs_placebo", {}).get("nnt_50"),
            "nnh_withdrawal": rg["comparisons"].get(f"{a}_vs_placebo", {}).get("nnh_withdrawal"),
        }
        for a in rg["arms"]
    }
    print("round 2 arms done", flush=True)

    # I. age: the same regimens in virtual 75- vs 45-year-olds, across the plausible range
    # of the age susceptibility (0 .. 0.033 per year; docs/model.md section 5)
    age_arms = [
        arm("amitriptyline_50", "amitriptyline", AMI_TITR),
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
        arm("pregabalin_300", "pregabalin", [(1, 150, 12)]),
    ]
    q_age = p.quantities["ae_age_susceptibility"]
    age_out: dict[str, Any] = {}
    for beta in sorted(
        {float(q_age.low or 0.0), p.value("ae_age_susceptibility"), float(q_age.high or 0.0)}
    ):
        pb = p.with_values(ae_age_susceptibility=beta)
        by_age = {}
        for label, age in (("age_45", 45.0), ("age_75", 75.0)):
            ra = run(
                trial(
                    age_arms,
                    n,
                    population={"age_mean": age, "age_sd": 0.001, "age_min": 18, "age_max": 85},
                ),
                pb,
            )
            by_age[label] = {
                a: {
                    k: ra["arms"][a][k]
                    for k in ("responders_50", "mean_change", "withdrawal_ae", "cardiac_alert")
                }
                | {
                    "adverse_events": ra["arms"][a]["adverse_events"],
                    "nnt_50": ra["comparisons"].get(f"{a}_vs_placebo", {}).get("nnt_50"),
                    "nnh_withdrawal": ra["comparisons"]
                    .get(f"{a}_vs_placebo", {})
                    .get("nnh_withdrawal"),
                }
                for a in ra["arms"]
            }
        age_out[f"beta_{beta:g}"] = by_age
    out["age"] = age_out
    print("age done", flush=True)

    # J. SERT share of descending inhibition (serotonin_weight): no number in the evidence,
    # so it is carried over its plausible range 0 .. 0.5 (noradrenaline at least as
    # important as serotonin for spinal analgesia; SSRIs weaker). For each value the
    # descending maximum inhibition is refitted to the SAME training target (duloxetine
    # responders, calibration/fit_efficacy.py), then the claims that depend on the split
    # are re-run.
    from scipy.optimize import brentq

    n_w = min(n, 2000)
    w_arms = [
        arm("amitriptyline_50", "amitriptyline", AMI_TITR),
        arm("duloxetine_60", "duloxetine", [(1, 60, 24)]),
        arm("paroxetine_20", "paroxetine", [(1, 20, 24)]),
        arm("escitalopram_10", "escitalopram", [(1, 10, 24)]),
        arm("venlafaxine_75", "venlafaxine", [(1, 75, 24)]),
        arm("venlafaxine_225", "venlafaxine", [(1, 75, 24), (8, 150, 24), (15, 225, 24)]),
    ]
    dlx_design = trial([arm("duloxetine_60", "duloxetine", [(1, 60, 24)])], n_w)
    pl50 = run(dlx_design, p)["arms"]["placebo"]["responders_50"]
    dlx_target = (0.445 + (pl50 + 1 / 6.4)) / 2  # as in calibrate_pd.py
    sweep: dict[str, Any] = {}
    for w in (0.0, 0.25, 0.5):

        def f(g: float, w: float = w) -> float:
            pw = p.with_values(serotonin_weight=w, descending_max_inhibition=g)
            return float(run(dlx_design, pw)["arms"]["duloxetine_60"]["responders_50"] - dlx_target)

        lo, hi = 0.0, 0.99
        g = brentq(f, lo, hi, xtol=1e-4, rtol=1e-3) if f(lo) * f(hi) < 0 else float("nan")
        pw = p.with_values(serotonin_weight=w, descending_max_inhibition=g if g == g else 0.0)
        rw = run(trial(w_arms, n_w), pw)
        ex = {}
        for drug, reg in (
            ("amitriptyline", Regimen.oral("50 mg", every="24 h", days=84)),
            ("duloxetine", Regimen.oral("60 mg", every="24 h", days=84)),
        ):
            from neurodose.simulation import simulate

            e = simulate(drug, reg, pd=pw, days=84)
            assert e.pd is not None
            ex[drug] = {k: round(float(v[0, -1]), 3) for k, v in e.pd.pain.pathways.items()}
        sweep[f"w_{w:g}"] = {
            "serotonin_weight": w,
            "descending_max_inhibition_refit": g,
            "arms": {
                a: {
                    "responders_50": rw["arms"][a]["responders_50"],
                    "nnt_50": rw["comparisons"].get(f"{a}_vs_placebo", {}).get("nnt_50"),
                }
                for a in rw["arms"]
            },
            "pathway_share_day84": ex,
        }
        print(f"serotonin_weight {w}: maximum inhibition {g:.4g}", flush=True)
    out["serotonin_weight_sweep"] = {"n_per_arm": n_w, "values": sweep}

    # K. gabapentin potency (T4 check, NOT a fit): the model scales pregabalin's calibrated
    # potency by the same-assay in-vitro ratio (Suman-Chauhan 1993: 80 vs 80 nM, ratio 1).
    # How much weaker would gabapentin have to be for Finnerup's NNT 6.3? A diagnostic only:
    # the model keeps ratio 1 (no cited number supports another), and T4 stays a check.
    from neurodose.pd.occupancy import alpha2delta_potency_ratio, drug_targets, free_nm

    ref = drug_targets("pregabalin").analytes[0]
    gbp = drug_targets("gabapentin").analytes[0]
    k_ref = float(free_nm(p.value("alpha2delta_ec50_pregabalin"), ref.fu, ref.molar_mass))
    ratio0 = alpha2delta_potency_ratio("gabapentin") or 1.0
    g_design = trial([arm("gabapentin_1800", "gabapentin", [(1, 300, 8), (8, 600, 8)])], n_w)
    gab: dict[str, Any] = {}
    for mult in (1.0, 2.0, 4.0, 8.0):
        k_g = k_ref * ratio0 * mult  # free nM
        ec50_g = k_g * gbp.molar_mass / (1000.0 * gbp.fu)  # back to total ng/mL
        rg2 = run(g_design, p.with_values(alpha2delta_ec50_gabapentin=ec50_g))
        gab[f"x{mult:g}"] = {
            "potency_ratio": ratio0 * mult,
            "ec50_total_ng_ml": round(ec50_g, 1),
            "responders_50": rg2["arms"]["gabapentin_1800"]["responders_50"],
            "withdrawal_ae": rg2["arms"]["gabapentin_1800"]["withdrawal_ae"],
            "nnt_50": rg2["comparisons"].get("gabapentin_1800_vs_placebo", {}).get("nnt_50"),
        }
    out["gabapentin_potency_diagnostic"] = {"n_per_arm": n_w, "values": gab}
    print("gabapentin diagnostic done", flush=True)
    OUT.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
