"""Target potency of amitriptyline and nortriptyline, from the knowledge base.

Every point is a cited Kd, Ki or IC50 from ``knowledge/drugs/<drug>.toml``,
converted to nM; hollow markers are values the evidence marks UNVERIFIED.
Lower is more potent. The figure is written to ``out/readme_affinities.png`` (or to
``$NEURODOSE_OUTPUT_DIR`` when set: ``docs/figures`` refreshes the README's figure).

Run: ``python examples/plot_affinities.py``
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from neurodose import citations, get_drug
from neurodose.knowledge.schema import Affinity
from neurodose.units import convert, dimension_of

DRUGS = ["amitriptyline", "nortriptyline"]
STYLE = {"amitriptyline": ("tab:blue", "o"), "nortriptyline": ("tab:orange", "s")}
ROOT = Path(__file__).resolve().parents[1]


def label(a: Affinity) -> str:
    """Target name with subtype and (short) channel state."""
    text = a.target.replace("_", " ")
    if a.subtype:
        text += f" {a.subtype}"
    if a.state in ("resting", "inactivated", "open"):
        text += f" ({a.state})"
    return text


def collect() -> dict[str, list[tuple[str, float, Affinity]]]:
    """Per drug: (label, value in nM, record) for every molar affinity."""
    out: dict[str, list[tuple[str, float, Affinity]]] = {}
    for drug in DRUGS:
        rec = get_drug(drug)
        out[drug] = [
            (label(a), convert(a.point, a.unit, "nM"), a)
            for a in rec.targets
            if dimension_of(a.unit) == "molar"
        ]
    return out


def plot(data: dict[str, list[tuple[str, float, Affinity]]], path: Path) -> None:
    # order targets by the most potent value seen for each
    best: dict[str, float] = {}
    for rows in data.values():
        for name, nM, _ in rows:
            best[name] = min(nM, best.get(name, float("inf")))
    order = sorted(best, key=best.__getitem__)
    y = {name: i for i, name in enumerate(order)}
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(order) + 1.9), dpi=110)
    offsets = {drug: (i - (len(DRUGS) - 1) / 2) * 0.3 for i, drug in enumerate(DRUGS)}
    for drug, rows in data.items():
        colour, marker = STYLE[drug]
        # several values for one target (other source or condition): spread them a little
        seen: dict[str, int] = {}
        ypos = []
        for name, _, _ in rows:
            k = seen.get(name, 0)
            seen[name] = k + 1
            ypos.append(y[name] + offsets[drug] + 0.14 * k)
        for verified in (True, False):
            pts = [
                (nM, yy)
                for (_, nM, a), yy in zip(rows, ypos, strict=True)
                if a.verified == verified
            ]
            if not pts:
                continue
            ax.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                marker=marker,
                s=55,
                color=colour if verified else "white",
                edgecolors=colour,
                linewidths=1.5,
                label=drug if verified else f"{drug} (UNVERIFIED)",
                zorder=3,
            )
        for (_, nM, a), yy in zip(rows, ypos, strict=True):
            ax.annotate(
                a.kind,
                (nM, yy),
                xytext=(6, -3),
                textcoords="offset points",
                fontsize=7,
                color="0.35",
            )
    lo = min(nM for rows in data.values() for _, nM, _ in rows)
    hi = max(nM for rows in data.values() for _, nM, _ in rows)
    ax.set_xlim(lo / 2, hi * 6)  # room for the labels
    ax.set_xscale("log")
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    ax.set_xlabel("Kd / IC50 (nM, log scale; lower = more potent)")
    ax.set_title("Where amitriptyline and nortriptyline act", fontsize=11)
    ax.grid(axis="x", which="major", color="0.9", zorder=0)
    ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9)
    keys = sorted({a.source for rows in data.values() for *_, a in rows})
    fig.text(0.01, 0.01, "Sources: " + ", ".join(keys), fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def main() -> Path:
    # out/ by default (ignored by git): the README's figure in docs/figures is refreshed
    # only on purpose, with NEURODOSE_OUTPUT_DIR=docs/figures
    out_dir = Path(os.environ.get("NEURODOSE_OUTPUT_DIR", ROOT / "out"))
    path = out_dir / "readme_affinities.png"
    with citations.tracking() as used:
        data = collect()
    plot(data, path)
    n = sum(len(rows) for rows in data.values())
    print(f"wrote {path} ({n} cited affinities)")
    print("sources: " + ", ".join(sorted(used & {a.source for r in data.values() for *_, a in r})))
    return path


if __name__ == "__main__":
    main()
