"""Held-out virtual-trial NNT table for one SERT/NET occupancy basis (fits nothing).

docs/validation.md, "PET-anchored occupancy: refit". Diabetic neuropathy, 12 weeks,
seed 31337; NNT for >= 50 % relief against the placebo arm. Run::

    PYTHONPATH=src .venv/bin/python calibration/refit_nnt.py --basis in_vitro --n 1000
    PYTHONPATH=src .venv/bin/python calibration/refit_nnt.py --basis pet_anchored --n 1000

and it writes ``calibration/refit_nnt_<basis>_n<n>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.params import OCCUPANCY_BASES, load_pd_parameters  # noqa: E402
from neurodose.trial.design import parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

#: arm name -> (drug, [(start_day, dose_mg, every_h), ...])
ARMS: dict[str, tuple[str, list[tuple[int, float, int]]]] = {
    "placebo": ("placebo", []),
    "dul60": ("duloxetine", [(1, 60, 24)]),
    "dul120": ("duloxetine", [(1, 60, 24), (8, 120, 24)]),
    "ven150": ("venlafaxine", [(1, 75, 24), (8, 150, 24)]),
    "mil100": ("milnacipran", [(1, 50, 12)]),
    "ami75": ("amitriptyline", [(1, 25, 24), (8, 75, 24)]),
    "nor75": ("nortriptyline", [(1, 25, 24), (8, 75, 24)]),
    "imi75": ("imipramine", [(1, 75, 24)]),
    "esc10": ("escitalopram", [(1, 10, 24)]),
    "cit20": ("citalopram", [(1, 20, 24)]),
    "par20": ("paroxetine", [(1, 20, 24)]),
    "flu20": ("fluoxetine", [(1, 20, 24)]),
    "ser50": ("sertraline", [(1, 50, 24)]),
    "pgb300": ("pregabalin", [(1, 150, 12)]),
    "gbp1800": ("gabapentin", [(1, 300, 8), (8, 600, 8)]),
}


def design(n: int) -> dict:
    arms = []
    for name, (drug, steps) in ARMS.items():
        arm: dict = {"name": name, "drug": drug}
        if steps:
            arm["regimen"] = [{"start_day": d, "dose_mg": m, "every_h": h} for d, m, h in steps]
        arms.append(arm)
    return {
        "name": "refit_nnt",
        "weeks": 12,
        "condition": "diabetic_neuropathy",
        "n_per_arm": n,
        "seed": 31337,
        "arms": arms,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--basis", choices=OCCUPANCY_BASES, required=True)
    ap.add_argument("--n", type=int, default=1000)
    a = ap.parse_args(argv)
    t = time.process_time()
    params = load_pd_parameters().with_basis(a.basis)
    r = run_trial(parse_design(design(a.n)), params=params).to_dict()
    out = {
        "basis": a.basis,
        "n_per_arm": a.n,
        "seed": 31337,
        "nnt_50": {k.split("_vs_")[0]: v.get("nnt_50") for k, v in r["comparisons"].items()},
        "nnt_50_ci": {k.split("_vs_")[0]: v.get("nnt_50_ci") for k, v in r["comparisons"].items()},
        "responders_50": {k: v.get("responders_50") for k, v in r["arms"].items()},
        "cpu_s": round(time.process_time() - t, 1),
    }
    path = ROOT / "calibration" / f"refit_nnt_{a.basis}_n{a.n}.json"
    path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(json.dumps(out["nnt_50"], indent=1), "cpu", out["cpu_s"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
