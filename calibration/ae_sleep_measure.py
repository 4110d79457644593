"""Measure AE withdrawal, per-AE rates and sleep by drug and dose (issue 20 item 6).

The before/after table of docs/validation.md ("Adverse effects and sleep"): PDN, 12 weeks,
ITT/BOCF, the model as it is (nothing fitted here). Run::

    PYTHONPATH=src .venv/bin/python calibration/ae_sleep_measure.py [N] [OUT.json]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.trial.design import arm_table as arm  # noqa: E402
from neurodose.trial.design import parse_design  # noqa: E402
from neurodose.trial.run import run_trial  # noqa: E402

AES = ("drowsiness", "dizziness", "oedema", "weight_gain", "nausea", "dry_mouth")


ARMS = [
    arm("placebo", "placebo", []),
    arm("pgb150", "pregabalin", [(1, 75, 12)]),
    arm("pgb300", "pregabalin", [(1, 150, 12)]),
    arm("pgb600", "pregabalin", [(1, 300, 12)]),
    arm("gbp1200", "gabapentin", [(1, 400, 8)]),
    arm("gbp1800", "gabapentin", [(1, 300, 8), (8, 600, 8)]),
    arm("gbp3600", "gabapentin", [(1, 600, 8), (8, 1200, 8)]),
    arm("ami25", "amitriptyline", [(1, 25, 24)]),
    arm("ami50", "amitriptyline", [(1, 10, 24), (8, 25, 24), (15, 50, 24)]),
    arm("ami75", "amitriptyline", [(1, 75, 24)]),
    arm("dlx60", "duloxetine", [(1, 60, 24)]),
]


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 2000
    out_path = Path(argv[1]) if len(argv) > 1 else None
    t = time.process_time()
    d = parse_design(
        {
            "name": "ae-measure",
            "weeks": 12,
            "condition": "diabetic_neuropathy",
            "n_per_arm": n,
            "seed": 31337,
            "arms": ARMS,
            "analysis": {"nnt": False},
        }
    )
    r = run_trial(d).to_dict()
    out: dict[str, Any] = {}
    for a, s in r["arms"].items():
        out[a] = {
            "wd_ae": s["withdrawal_ae"],
            "resp50": s["responders_50"],
            **{k: s["adverse_events"].get(k) for k in AES},
            "pain_w": [s["weekly_mean_pain"][i] for i in (0, 1, 2, 12)],
            "sleep_w": [s["weekly_mean_sleep_interference"][i] for i in (0, 1, 2, 12)],
        }
        print(a, json.dumps(out[a]))
    print("cpu", round(time.process_time() - t, 1), "s")
    if out_path:
        out_path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
