"""Write the generated tables of docs/model.md (parameters; calibration targets vs achieved).

Run after ``calibration/calibrate_pd.py``::

    .venv/bin/python calibration/report.py

Replaces the text between ``<!-- BEGIN GENERATED: NAME -->`` and
``<!-- END GENERATED: NAME -->`` markers in docs/model.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neurodose.pd.occupancy import TARGETS, drug_targets  # noqa: E402
from neurodose.pd.params import load_pd_parameters  # noqa: E402

DOC = ROOT / "docs" / "model.md"
RESULTS = ROOT / "calibration" / "results.json"
DRUGS = (
    "amitriptyline",
    "nortriptyline",
    "duloxetine",
    "venlafaxine",
    "pregabalin",
    "gabapentin",
    "paroxetine",
    "fluoxetine",
    "sertraline",
    "escitalopram",
    "imipramine",
)


def parameters_table() -> str:
    p = load_pd_parameters()
    rows = [
        "| parameter | value | unit | status | source (locator) / calibrated to |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(p.quantities):
        q = p.quantities[name]
        if q.calibrated:
            status, where = "calibrated", "; ".join(q.calibrated_to)
        elif q.source == "neurodose_pd_assumption":
            status, where = "assumption (unverified)", q.locator
        else:
            status = "cited" + ("" if q.verified else " (unverified / direction only)")
            where = f"{q.source} ({q.locator})"
        v = q.value if q.value is not None else q.point
        if q.low is not None and q.high is not None and q.value is not None:
            where += f"; plausible range {q.low:g}-{q.high:g}"
        rows.append(f"| `{name}` | {v:.4g} | {q.unit} | {status} | {where} |")
    return "\n".join(rows)


def targets_table() -> str:
    head = "| drug | " + " | ".join(TARGETS) + " |"
    rows = [head, "|---|" + "---|" * len(TARGETS)]
    for d in DRUGS:
        try:
            dt = drug_targets(d)
        except Exception as exc:
            rows.append(f"| {d} | " + f"not available: {exc} |" + " |" * (len(TARGETS) - 1))
            continue
        cells = []
        for t in TARGETS:
            bs = dt.bindings.get(t)
            if bs:
                cells.append(
                    "; ".join(
                        f"{b.analyte[:4]} {b.K_nM:.3g}{'*' if not b.verified else ''}"
                        + ("†" if b.low_trust else "")
                        for b in bs
                    )
                )
            elif t == "alpha2delta" and p_has(f"alpha2delta_ec50_{d}"):
                cells.append("calibrated EC50")
            else:
                cells.append("–")
        rows.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def p_has(name: str) -> bool:
    return load_pd_parameters().has(name)


def calibration_table() -> str:
    r = json.loads(RESULTS.read_text(encoding="utf-8"))
    rows = [
        f"n = {r['n_per_arm']} per arm (common random numbers), seed {r['seed']}, "
        f"{r['rounds']} rounds"
        + (
            f" (last run: `--block {r['block']}`; the other values are held from the full fit)."
            if r.get("block", "all") != "all"
            else "."
        ),
        "",
        "| training target | published | achieved |",
        "|---|---|---|",
    ]
    for k, t in r["targets"].items():
        a = r["achieved"][k]
        rows.append(f"| {k} | {t} | {a:.4g} |" if isinstance(a, float) else f"| {k} | {t} | {a} |")
    return "\n".join(rows)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    for name, fn in (
        ("parameters", parameters_table),
        ("targets", targets_table),
        ("calibration", calibration_table),
    ):
        pat = re.compile(
            rf"(<!-- BEGIN GENERATED: {name} -->\n).*?(\n<!-- END GENERATED: {name} -->)", re.S
        )
        if not pat.search(text):
            raise SystemExit(f"{DOC}: marker for {name!r} missing")
        text = pat.sub(lambda m, fn=fn: m.group(1) + fn() + m.group(2), text)
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
