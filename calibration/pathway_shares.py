"""Per-pathway shares of relief and NNT by drug and dose (issue 20 item 3; fits nothing).

One virtual trial, diabetic neuropathy, 12 weeks, ITT with BOCF, seed 31337, every arm
against one placebo arm. For each arm: NNT for >= 50 % relief (95 % CI), >= 50 %
responders, and the mean share of drug-attributable relief (-log R) carried by each
pathway over the last week (docs/model.md §3). Run::

    PYTHONPATH=src .venv/bin/python calibration/pathway_shares.py --n 500 --label before

and it writes ``calibration/pathway_shares_<label>_<basis>_n<n>.json`` (``--basis
pet_anchored`` for the other occupancy basis). With ``--validate`` it also checks every target
of ``knowledge/pdmodels/efficacy_targets/pathway_targets.toml`` (training and held out; a
target measured at 6 or 8 weeks gets its own trial of that length, same seed) and writes the
verdicts into the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.knowledge.schema import Quantity  # noqa: E402
from neurodose.pd.pain import PATHWAYS  # noqa: E402
from neurodose.pd.params import OCCUPANCY_BASES, PD_DIR, load_pd_parameters  # noqa: E402
from neurodose.trial.design import parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

#: arm name -> (drug, [(start_day, dose_mg, every_h), ...]); a step holds until the next
ARMS: dict[str, tuple[str, list[tuple[int, float, int]]]] = {
    "placebo": ("placebo", []),
    "dul60": ("duloxetine", [(1, 60, 24)]),
    "dul120": ("duloxetine", [(1, 60, 24), (8, 60, 12)]),
    "ven75": ("venlafaxine", [(1, 75, 24)]),
    "ven150": ("venlafaxine", [(1, 75, 24), (8, 150, 24)]),
    "ven225": ("venlafaxine", [(1, 75, 24), (8, 150, 24), (15, 225, 24)]),
    "mil100": ("milnacipran", [(1, 50, 12)]),
    "ami25": ("amitriptyline", [(1, 10, 24), (8, 25, 24)]),
    "ami50": ("amitriptyline", [(1, 10, 24), (8, 25, 24), (15, 50, 24)]),
    "ami75": ("amitriptyline", [(1, 25, 24), (8, 75, 24)]),
    "nor75": ("nortriptyline", [(1, 25, 24), (8, 75, 24)]),
    "imi75": ("imipramine", [(1, 75, 24)]),
    "esc10": ("escitalopram", [(1, 10, 24)]),
    "cit20": ("citalopram", [(1, 20, 24)]),
    "cit40": ("citalopram", [(1, 20, 24), (8, 40, 24)]),
    "par20": ("paroxetine", [(1, 20, 24)]),
    "par40": ("paroxetine", [(1, 20, 24), (8, 40, 24)]),
    "flu20": ("fluoxetine", [(1, 20, 24)]),
    "ser50": ("sertraline", [(1, 50, 24)]),
    "pgb300": ("pregabalin", [(1, 150, 12)]),
    "pgb600": ("pregabalin", [(1, 150, 12), (8, 300, 12)]),
    "gbp1800": ("gabapentin", [(1, 300, 8), (8, 600, 8)]),
}


TARGETS_FILE = PD_DIR / "efficacy_targets" / "pathway_targets.toml"


def load_targets(path: Path = TARGETS_FILE) -> list[dict[str, Any]]:
    """The cited targets (each ``quantity`` validated as a :class:`Quantity`)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for t in data["targets"]:
        Quantity.model_validate(t["quantity"])
        unknown = [a for a in [*t["arms"], t.get("reference", "dul60")] if a not in ARMS]
        if unknown:
            raise ValueError(f"{path}: target {t['name']!r} names unknown arms {unknown}")
        out.append(t)
    return out


def verdict(t: dict[str, Any], rows: dict[str, Any]) -> dict[str, Any]:
    """Model value of one target and whether it meets the target's check."""
    check, arms = t["check"], t["arms"]
    if check == "nnt_in":
        got = rows[arms[0]]["nnt_50"]
        ok = got is not None and t["band_low"] <= got <= t["band_high"]
    elif check == "ratio_in":
        pl = rows["placebo"]["mean_change"]
        ref = rows[t["reference"]]["mean_change"] - pl
        got = round((rows[arms[0]]["mean_change"] - pl) / ref, 3) if ref else None
        ok = got is not None and t["band_low"] <= got <= t["band_high"]
    elif check == "better":
        got = round(rows[arms[0]]["responders_50"] - rows[t["reference"]]["responders_50"], 4)
        ok = got > 0
    elif check == "similar":
        rs = [rows[a]["responders_50"] for a in arms]
        got = round(max(rs) - min(rs), 4)
        ok = got <= t["band_high"]
    else:
        raise ValueError(f"unknown check {check!r}")
    return {"name": t["name"], "role": t["role"], "check": check, "model": got, "met": ok}


def validate(n: int, params: Any, rows12: dict[str, Any]) -> list[dict[str, Any]]:
    """Verdicts for every target; 12-week targets use ``rows12``, others their own trial."""
    targets = load_targets()
    by_weeks: dict[int, dict[str, Any]] = {12: rows12}
    out = []
    for t in targets:
        w = int(t["weeks"])
        if w not in by_weeks:
            need = {a for u in targets if int(u["weeks"]) == w for a in u["arms"]}
            need |= {u["reference"] for u in targets if int(u["weeks"]) == w and "reference" in u}
            arms = {k: ARMS[k] for k in ["placebo", *sorted(need)]}
            d = design(n, arms)
            d["weeks"] = w
            by_weeks[w] = summarise(run_trial(parse_design(d), params=params).to_dict())
        out.append({**verdict(t, by_weeks[w]), "weeks": w})
    return out


def design(n: int, arms: dict[str, tuple[str, list[tuple[int, float, int]]]]) -> dict[str, Any]:
    out = []
    for name, (drug, steps) in arms.items():
        arm: dict[str, Any] = {"name": name, "drug": drug}
        if steps:
            arm["regimen"] = [{"start_day": d, "dose_mg": m, "every_h": h} for d, m, h in steps]
        out.append(arm)
    return {
        "name": "pathway_shares",
        "weeks": 12,
        "condition": "diabetic_neuropathy",
        "n_per_arm": n,
        "seed": 31337,
        "arms": out,
    }


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """NNT, responders and last-week pathway shares per arm (from ``TrialResult.to_dict``)."""
    rows: dict[str, Any] = {}
    comps = {k.split("_vs_")[0]: v for k, v in result["comparisons"].items()}
    for name, a in result["arms"].items():
        shares = a.get("weekly_relief_share") or {}
        last = {k: (v[-1] if v else None) for k, v in shares.items() if k in PATHWAYS}
        c = comps.get(name, {})
        rows[name] = {
            "responders_50": a.get("responders_50"),
            "mean_change": a.get("mean_change"),
            "nnt_50": c.get("nnt_50"),
            "nnt_50_ci": c.get("nnt_50_ci"),
            "share_last_week": last,
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--basis", choices=OCCUPANCY_BASES, default="in_vitro")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--label", default="current")
    ap.add_argument("--arms", nargs="*", help="subset of arm names (placebo is always run)")
    ap.add_argument("--validate", action="store_true", help="check the cited targets too")
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override PD parameters (e.g. a refit at another descending_d50)",
    )
    a = ap.parse_args(argv)
    arms = ARMS if not a.arms else {k: ARMS[k] for k in ["placebo", *a.arms]}
    t = time.process_time()
    params = load_pd_parameters().with_basis(a.basis)
    overrides = {k: float(v) for k, v in (x.split("=", 1) for x in a.set)}
    if overrides:
        params = params.with_values(**overrides)
    r = run_trial(parse_design(design(a.n, arms)), params=params).to_dict()
    out = {
        "label": a.label,
        "basis": a.basis,
        "n_per_arm": a.n,
        "seed": 31337,
        "overrides": overrides,
        "arms": summarise(r),
    }
    if a.validate:
        out["targets"] = validate(a.n, params, out["arms"])
    out["cpu_s"] = round(time.process_time() - t, 1)
    path = ROOT / "calibration" / f"pathway_shares_{a.label}_{a.basis}_n{a.n}.json"
    path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    for name, row in out["arms"].items():
        sh = ", ".join(
            f"{k[:12]} {v:.2f}" for k, v in row["share_last_week"].items() if v is not None and v
        )
        print(f"{name:8s} NNT {row['nnt_50']!s:>6} resp {row['responders_50']}  {sh}")
    for v in out.get("targets", []):
        print(f"{v['role']:10s} {v['name']:50s} model {v['model']!s:>8} met {v['met']}")
    print("cpu", out["cpu_s"], "s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
