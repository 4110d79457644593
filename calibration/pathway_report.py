"""Markdown tables for docs/validation.md, "Pathway structure refit (issue 20 item 3)".

Reads ``calibration/pathway_shares_{before,after}_<basis>_n<n>.json`` (written by
``pathway_shares.py --validate``) and prints the target table (training vs held out, before
and after) and the per-pathway shares::

    python calibration/pathway_report.py --basis in_vitro --n 2000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "calibration"))

from pathway_shares import load_targets  # noqa: E402

GROUPS = {
    "descending": ("descending_serotonergic", "descending_noradrenergic"),
    "Na": ("sodium_channel",),
    "NMDA": ("NMDA",),
    "α2δ": ("alpha2delta",),
}


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _shares(row: dict[str, Any]) -> str:
    sh = row["share_last_week"]
    parts = []
    for g, keys in GROUPS.items():
        vals = [sh.get(k) for k in keys]
        if any(v for v in vals):
            parts.append(f"{g} {round(100 * sum(v or 0 for v in vals))}")
    return ", ".join(parts) or "–"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--basis", default="in_vitro")
    ap.add_argument("--n", type=int, default=2000)
    a = ap.parse_args(argv)
    runs = {
        k: json.loads(
            (ROOT / "calibration" / f"pathway_shares_{k}_{a.basis}_n{a.n}.json").read_text()
        )
        for k in ("before", "after")
    }
    cited = {t["name"]: t for t in load_targets()}
    print("| role | target | cited | band | before | after |")
    print("|---|---|---|---|---|---|")
    verdicts = {k: {v["name"]: v for v in r["targets"]} for k, r in runs.items()}
    for name, t in cited.items():
        q = t["quantity"]
        val = q.get("value", f"{q.get('low')}-{q.get('high')}")
        band = f"{t.get('band_low', '')}–{t.get('band_high', '')}".strip("–")
        if t["check"] == "better":
            band = "direction"
        cells = []
        for k in ("before", "after"):
            v = verdicts[k][name]
            cells.append(f"{_fmt(v['model'])} ({_fmt(v['met'])})")
        print(
            f"| {t['role']} | {name} ({q['source']}) | {val} | {band} | {cells[0]} | {cells[1]} |"
        )
    print()
    print("| arm | NNT before | NNT after | shares before (%) | shares after (%) |")
    print("|---|---|---|---|---|")
    for arm in runs["after"]["arms"]:
        if arm == "placebo":
            continue
        b, f = runs["before"]["arms"][arm], runs["after"]["arms"][arm]
        print(
            f"| {arm} | {_fmt(b['nnt_50'])} | {_fmt(f['nnt_50'])} | {_shares(b)} | {_shares(f)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
