"""Per-condition NNT and dose-response tables (issue 20 item 4; fits nothing).

docs/validation.md, "Efficacy by condition and dose-response (issue 20 item 4)". Virtual trials
with the model as it is on disk (``calibrated.toml`` and ``efficacy_by_condition.toml``) against
cited per-condition and per-dose results, each row labelled with its role:

- ``training (efficacy calibration)``: a number ``calibrate_pd.py`` fitted to;
- ``training (condition modifier)``: a number an ``effect_sized`` modifier was derived from
  (the row checks the arithmetic of the modifier, not the model);
- ``held out``: used for no fit anywhere in this project.

Run (about half a minute of CPU at 1000 per arm)::

    PYTHONPATH=src .venv/bin/python calibration/condition_validation.py --n 1000

It writes ``calibration/condition_validation_n<n>.json`` (rows, sizes, seed, the git commit and
the SHA-256 of the parameter files it ran with) and, with ``--markdown``, prints the two tables
of docs/validation.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.condition_efficacy import (  # noqa: E402
    EFFICACY_PATH,
    condition_efficacy,
    load_efficacy_by_condition,
)
from neurodose.pd.params import PD_DIR  # noqa: E402
from neurodose.trial.design import parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

SEED = 2020

#: regimen name -> (drug, [(start_day, dose_mg, every_h), ...])
REGIMENS: dict[str, tuple[str, list[tuple[int, float, int]]]] = {
    "dul60": ("duloxetine", [(1, 60, 24)]),
    "dul120": ("duloxetine", [(1, 60, 24), (8, 120, 24)]),
    "dul30to60": ("duloxetine", [(1, 30, 24), (8, 60, 24)]),
    "pgb150": ("pregabalin", [(1, 75, 12)]),
    "pgb300": ("pregabalin", [(1, 150, 12)]),
    "pgb400": ("pregabalin", [(1, 200, 12)]),
    "pgb450": ("pregabalin", [(1, 225, 12)]),
    "pgb600": ("pregabalin", [(1, 300, 12)]),
    "gbp1800": ("gabapentin", [(1, 300, 8), (8, 600, 8)]),
    "ami25": ("amitriptyline", [(1, 25, 24)]),
    "ami50": ("amitriptyline", [(1, 10, 24), (8, 25, 24), (15, 50, 24)]),
    "ami75": ("amitriptyline", [(1, 25, 24), (8, 50, 24), (15, 75, 24)]),
}

#: trial name -> (condition, weeks, regimens)
TRIALS: dict[str, tuple[str, int, list[str]]] = {
    "dpn": (
        "diabetic_neuropathy",
        12,
        ["dul60", "dul120", "pgb150", "pgb300", "pgb600", "gbp1800", "ami25", "ami50", "ami75"],
    ),
    "phn": ("postherpetic_neuralgia", 12, ["pgb150", "pgb300", "pgb600", "gbp1800", "ami75"]),
    "sci": ("spinal_cord_injury_pain", 12, ["pgb450", "pgb600"]),
    "cpsp": ("central_post_stroke_pain", 12, ["pgb300", "dul120", "ami75"]),
    "hiv": ("hiv_neuropathy", 14, ["pgb400", "ami50"]),
    "cipn": ("chemotherapy_neuropathy", 5, ["dul30to60"]),
}

CAL = "training (efficacy calibration)"
MOD = "training (condition modifier)"
HELD = "held out"


@dataclass(frozen=True)
class Cited:
    """One cited result a simulated comparison is set against."""

    trial: str
    regimen: str
    outcome: str  # "nnt_50" | "nnt_30" | "mean_diff" (drug minus placebo fall, points) |
    # "placebo_fall" (fall in pain on placebo, points)
    value: float | None
    ci: tuple[float | None, float | None]
    source: str
    role: str
    note: str = ""
    derived: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


PER_CONDITION: list[Cited] = [
    Cited("dpn", "dul60", "nnt_50", 5, (4, 7), "lunn2014", CAL, "Cochrane SoF 1, <= 12 weeks"),
    Cited(
        "dpn",
        "pgb600",
        "nnt_50",
        5.0,
        (4.0, 6.6),
        "cochrane2009_pregabalin",
        MOD,
        "reference NNT of the PHN and central-pain modifiers (secondary summary, low trust)",
    ),
    Cited(
        "dpn",
        "pgb600",
        "nnt_50",
        3.8,
        (2.5, 8.3),
        "arezzo2008_dpn_pgb",
        HELD,
        "49 % vs 23 % responders (n 82/85), 13 weeks; NNT and Wald CI derived here",
        derived=True,
    ),
    Cited("dpn", "gbp1800", "nnt_50", 6.6, (5.0, 9.7), "wiffen2017_gabapentin", MOD, "SoF 2"),
    Cited("phn", "pgb600", "nnt_50", 3.9, (3.1, 5.1), "cochrane2009_pregabalin", MOD, ""),
    Cited("phn", "gbp1800", "nnt_50", 6.9, (5.5, 9.4), "wiffen2017_gabapentin", MOD, "SoF 1"),
    Cited(
        "phn",
        "ami75",
        "nnt_50",
        3.2,
        (None, None),
        "max1988",
        HELD,
        "47 % vs 16 % with moderate or better relief (not >= 50 % reduction), mean 65 mg/day, "
        "crossover; NNT derived here",
        derived=True,
    ),
    Cited(
        "sci",
        "pgb600",
        "nnt_50",
        5.6,
        (3.5, 14),
        "cochrane2009_pregabalin",
        MOD,
        "central neuropathic pain, mostly spinal cord injury",
    ),
    Cited(
        "cipn",
        "dul30to60",
        "mean_diff",
        0.72,
        (None, None),
        "smith2013_cipn_dlx",
        HELD,
        "BPI-SF average pain fall 1.06 vs 0.34 over the first 5-week period (crossover); "
        "difference derived here",
        derived=True,
    ),
    Cited(
        "hiv",
        "pgb400",
        "mean_diff",
        0.25,
        (None, None),
        "simpson2010_hiv_pgb",
        HELD,
        "NPRS fall 2.88 vs 2.63, p = 0.39 (no effect; mean dose 386 mg/day)",
        derived=True,
    ),
    Cited(
        "hiv",
        "ami50",
        "mean_diff",
        0.0,
        (None, None),
        "dinat2015_hiv_ami",
        HELD,
        "worst-pain fall 2.8 vs 2.8 (antiretroviral-naive group; no effect)",
        derived=True,
    ),
    Cited(
        "cpsp",
        "pgb300",
        "mean_diff",
        0.2,
        (-0.4, 0.7),
        "kim2011_cpsp_pgb",
        HELD,
        "LS mean difference -0.2 (-0.7 to 0.4) as pain score, i.e. a fall 0.2 larger on "
        "pregabalin 150-600 mg/day; p = 0.58 (no effect)",
    ),
    Cited(
        "sci",
        "pgb450",
        "mean_diff",
        1.46,
        (None, None),
        "siddall2006_sci_pgb",
        HELD,
        "fall 6.54 -> 4.62 on pregabalin (mean 460 mg/day) vs 6.73 -> 6.27 on placebo, "
        "12 weeks; difference derived here",
        derived=True,
    ),
    # placebo arms: the condition placebo multipliers are assumptions (direction cited,
    # Cepeda 2012) except diabetic neuropathy (calibrated to Frisaldi 2023)
    Cited(
        "dpn",
        "pgb600",
        "placebo_fall",
        1.54,
        (1.52, 1.56),
        "frisaldi2023",
        CAL,
        "21 RCTs, 2425 placebo patients",
    ),
    Cited(
        "sci",
        "pgb450",
        "placebo_fall",
        0.46,
        (None, None),
        "siddall2006_sci_pgb",
        HELD,
        "6.73 -> 6.27 (n 67); derived",
        derived=True,
    ),
    Cited(
        "hiv",
        "pgb400",
        "placebo_fall",
        2.63,
        (None, None),
        "simpson2010_hiv_pgb",
        HELD,
        "NPRS fall on placebo (n 151), 14 weeks",
    ),
    Cited(
        "cipn",
        "dul30to60",
        "placebo_fall",
        0.34,
        (0.01, 0.66),
        "smith2013_cipn_dlx",
        HELD,
        "BPI-SF average pain, placebo first, 5 weeks",
    ),
]

DOSE_RESPONSE: list[Cited] = [
    Cited(
        "dpn",
        "pgb150",
        "nnt_50",
        None,
        (None, None),
        "richter2005_dpn_pgb",
        HELD,
        "150 mg/day 'essentially no different from placebo' (6 weeks; no number retrieved)",
    ),
    Cited(
        "dpn",
        "pgb300",
        "nnt_50",
        7.7,
        (6.5, 9.4),
        "finnerup2015",
        CAL,
        "pregabalin class NNT, fitted at 300 mg/day (calibrate_pd.py)",
    ),
    Cited("dpn", "pgb600", "nnt_50", 5.0, (4.0, 6.6), "cochrane2009_pregabalin", MOD, "600 mg"),
    Cited(
        "phn",
        "pgb150",
        "nnt_30",
        4.6,
        (2.9, 11),
        "bandolier2010_pgb",
        HELD,
        ">= 30 % relief 39 % vs 17 % (1 trial, n 180)",
    ),
    Cited(
        "phn",
        "pgb300",
        "nnt_30",
        4.0,
        (2.9, 6.5),
        "bandolier2010_pgb",
        HELD,
        ">= 30 % relief 49 % vs 24 % (2 trials, n 369)",
    ),
    Cited(
        "phn",
        "pgb600",
        "nnt_30",
        2.7,
        (2.2, 3.4),
        "bandolier2010_pgb",
        HELD,
        ">= 30 % relief 62 % vs 24 % (3 trials, n 537)",
    ),
    Cited(
        "dpn",
        "dul60",
        "nnt_50",
        5.8,
        (4.5, 8.4),
        "sultan2008",
        HELD,
        "DPN and fibromyalgia pooled, 12-13 weeks (Lunn 2014 DPN 60 mg is training)",
    ),
    Cited(
        "dpn",
        "dul120",
        "nnt_50",
        5.7,
        (None, None),
        "sultan2008",
        HELD,
        "120 mg; the CI printed in the retrieved abstract (4.5 to 5.7) is not usable; "
        "'no difference in NNTs' between 60 and 120 mg",
    ),
    Cited(
        "dpn",
        "ami25",
        "nnt_50",
        None,
        (None, None),
        "mcquay1993",
        HELD,
        "crossover 25/50/75 mg (n 29, chronic pain): 75 mg beat both lower doses",
    ),
    Cited(
        "dpn",
        "ami50",
        "nnt_50",
        3.6,
        (3.0, 4.4),
        "finnerup2015",
        CAL,
        "TCA class NNT, fitted at amitriptyline 10 -> 25 -> 50 mg (no dose-response across "
        "TCA trials)",
    ),
    Cited(
        "dpn",
        "ami75",
        "nnt_50",
        None,
        (None, None),
        "mcquay1993",
        HELD,
        "75 mg beat 25 and 50 mg (crossover, n 29)",
    ),
]


def _design(trial: str, n: int) -> dict[str, Any]:
    cond, weeks, regs = TRIALS[trial]
    arms: list[dict[str, Any]] = [{"name": "placebo", "drug": "placebo"}]
    for r in regs:
        drug, steps = REGIMENS[r]
        arms.append(
            {
                "name": r,
                "drug": drug,
                "regimen": [{"start_day": d, "dose_mg": m, "every_h": h} for d, m, h in steps],
            }
        )
    return {
        "name": f"condition_validation_{trial}",
        "weeks": weeks,
        "condition": cond,
        "n_per_arm": n,
        "seed": SEED,
        "arms": arms,
    }


def _simulated(out: dict[str, Any], regimen: str) -> dict[str, Any]:
    c = out["comparisons"][f"{regimen}_vs_placebo"]
    arm, pl = out["arms"][regimen], out["arms"]["placebo"]
    ebc = c["efficacy_by_condition"]
    diff = None
    if arm.get("mean_change") is not None and pl.get("mean_change") is not None:
        diff = round(pl["mean_change"] - arm["mean_change"], 2)  # change < 0 = pain fell
    placebo_fall = None if pl.get("mean_change") is None else round(-pl["mean_change"], 2)
    return {
        "nnt_50": c["nnt_50"],
        "nnt_50_ci": c["nnt_50_ci"],
        "nnt_30": c["nnt_30"],
        "nnt_30_ci": c["nnt_30_ci"],
        "mean_diff": diff,
        "placebo_fall": placebo_fall,
        "responders_50": [arm["responders_50"], pl["responders_50"]],
        "responders_30": [arm["responders_30"], pl["responders_30"]],
        "efficacy_basis": ebc["efficacy_basis"],
        "nnt_50_condition": ebc["nnt_50_condition"],
    }


def _row(cited: Cited, sims: dict[str, dict[str, Any]]) -> dict[str, Any]:
    cond, weeks, _ = TRIALS[cited.trial]
    sim = sims[cited.trial][cited.regimen]
    return {
        "condition": cond,
        "weeks": weeks,
        "regimen": cited.regimen,
        "drug": REGIMENS[cited.regimen][0],
        "outcome": cited.outcome,
        "cited": cited.value,
        "cited_ci": list(cited.ci),
        "source": cited.source,
        "role": cited.role,
        "derived": cited.derived,
        "note": cited.note,
        "simulated": sim,
        "within_ci": _within(cited, sim),
    }


def _within(cited: Cited, sim: dict[str, Any]) -> bool | None:
    """Whether the condition output (NNT after the modifier) lies in the cited CI."""
    lo, hi = cited.ci
    if lo is None or hi is None:
        return None
    v = sim["nnt_50_condition"] if cited.outcome == "nnt_50" else sim[cited.outcome]
    return None if v is None else bool(lo <= v <= hi)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _commit() -> str | None:
    """HEAD, with ``+dirty`` when tracked files differ from it (the run used the work tree)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return (head + ("+dirty" if dirty else "")) or None


def run(n: int) -> dict[str, Any]:
    t0, c0 = time.time(), time.process_time()
    sims: dict[str, dict[str, Any]] = {}
    for trial in TRIALS:
        out = run_trial(parse_design(_design(trial, n))).to_dict()
        sims[trial] = {r: _simulated(out, r) for r in TRIALS[trial][2]}
    return {
        "n_per_arm": n,
        "seed": SEED,
        "trials": {k: {"condition": c, "weeks": w, "arms": r} for k, (c, w, r) in TRIALS.items()},
        "regimens": {k: {"drug": d, "steps": s} for k, (d, s) in REGIMENS.items()},
        "model": {
            "git_commit": _commit(),
            "calibrated_toml_sha256": _sha(PD_DIR / "calibrated.toml"),
            "efficacy_by_condition_sha256": _sha(EFFICACY_PATH),
        },
        "coverage": coverage(),
        "per_condition": [_row(c, sims) for c in PER_CONDITION],
        "dose_response": [_row(c, sims) for c in DOSE_RESPONSE],
        "cpu_s": round(time.process_time() - c0, 1),
        "wall_s": round(time.time() - t0, 1),
    }


#: the drugs a trial can simulate (they have a PK model), for the coverage matrix
COVERAGE_DRUGS = (
    "amitriptyline", "nortriptyline", "imipramine", "duloxetine", "venlafaxine", "milnacipran",
    "pregabalin", "gabapentin", "citalopram", "escitalopram", "fluoxetine", "paroxetine",
    "sertraline", "tramadol",
)  # fmt: skip


def coverage() -> dict[str, dict[str, str]]:
    """``{drug: {aetiology: basis}}`` for every non-reference aetiology of the efficacy file."""
    data = load_efficacy_by_condition()
    conds = [c for c in data.aetiologies if c != data.reference]
    return {d: {c: condition_efficacy(d, c).basis for c in conds} for d in COVERAGE_DRUGS}


_ABBR = {"no_effect": "none", "effect_shown": "shown", "effect_sized": "sized", "extrapolated": "–"}


def coverage_markdown(cov: dict[str, dict[str, str]]) -> str:
    conds = list(next(iter(cov.values())))
    head = "| Drug | " + " | ".join(c.replace("_", " ") for c in conds) + " |"
    lines = [head, "|---" * (len(conds) + 1) + "|"]
    for drug, row in cov.items():
        lines.append(f"| {drug} | " + " | ".join(_ABBR[row[c]] for c in conds) + " |")
    return "\n".join(lines)


def _fmt(v: Any, ci: list[Any] | tuple[Any, ...] = (None, None)) -> str:
    if v is None:
        return "–"
    lo, hi = ci
    if lo is None and hi is None:
        return f"{v:g}"
    return f"{v:g} ({'∞' if lo is None else f'{lo:g}'}–{'∞' if hi is None else f'{hi:g}'})"


def _sim_cell(r: dict[str, Any]) -> str:
    s = r["simulated"]
    if r["outcome"] in ("mean_diff", "placebo_fall"):
        v = s[r["outcome"]]
        return f"{v:g} points" if v is not None else "–"
    return _fmt(s[r["outcome"]], s[r["outcome"] + "_ci"])


def _cond_cell(r: dict[str, Any]) -> str:
    s = r["simulated"]
    basis = s["efficacy_basis"].replace("_", " ")
    if r["outcome"] == "placebo_fall":
        return "placebo arm"
    if r["outcome"] != "nnt_50" or basis in ("reference", "extrapolated", "effect shown"):
        return basis
    return f"{basis}: {_fmt(s['nnt_50_condition'])}" if s["nnt_50_condition"] else basis


def markdown(res: dict[str, Any]) -> str:
    lines = [
        "| Condition, weeks | Regimen | Outcome | Simulated (95 % CI) | Condition output "
        "| Cited (95 % CI) | Source | Role | In CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["per_condition"]:
        lines.append(_md_row(r))
    lines += [
        "",
        "| Condition, weeks | Regimen | Outcome | Simulated (95 % CI) | Responders, drug / placebo "
        "| Cited (95 % CI) | Source | Role | In CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["dose_response"]:
        a, p = r["simulated"]["responders_30" if r["outcome"] == "nnt_30" else "responders_50"]
        resp = f"{a:.0%} / {p:.0%}"
        lines.append(
            f"| {r['condition'].replace('_', ' ')}, {r['weeks']} | {r['regimen']} "
            f"| {r['outcome']} | {_sim_cell(r)} | {resp} | {_fmt(r['cited'], r['cited_ci'])} "
            f"| `{r['source']}` | {r['role']} | {_IN[r['within_ci']]} |"
        )
    return "\n".join(lines)


_IN = {True: "yes", False: "no", None: "–"}


def _md_row(r: dict[str, Any]) -> str:
    within = _IN[r["within_ci"]]
    cited = _fmt(r["cited"], r["cited_ci"]) + (" (derived)" if r["derived"] else "")
    return (
        f"| {r['condition'].replace('_', ' ')}, {r['weeks']} | {r['regimen']} | {r['outcome']} "
        f"| {_sim_cell(r)} | {_cond_cell(r)} | {cited} | `{r['source']}` | {r['role']} "
        f"| {within} |"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="patients per arm (default 1000)")
    ap.add_argument("--markdown", action="store_true", help="print the docs tables")
    args = ap.parse_args(argv)
    res = run(args.n)
    out = ROOT / "calibration" / f"condition_validation_n{args.n}.json"
    out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)} (cpu {res['cpu_s']} s, wall {res['wall_s']} s)")
    if args.markdown:
        print(markdown(res))
        print()
        print(coverage_markdown(res["coverage"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
