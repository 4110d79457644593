"""Generate ``docs/safety_rules.md`` from the rule files (a test checks it is current).

Run ``python -m neurodose.safety.docs docs/safety_rules.md`` to rewrite it.

>>> text = render_rules_markdown()
>>> "maoi_irreversible_gap" in text and "| contraindicated |" in text
True
"""

from __future__ import annotations

import sys
from pathlib import Path

from neurodose.knowledge.schema import Quantity
from neurodose.safety.rules import INDICATOR, TIERS, rules_by_file

__all__ = ["render_rules_markdown", "write_rules_markdown"]


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _q(q: Quantity) -> str:
    v = f"{q.point:g}" if q.value is not None else f"{q.low:g}-{q.high:g}"
    u = "" if q.unit in ("1", "score") else f" {q.unit}"
    return v + u


def render_rules_markdown() -> str:
    """Markdown listing every rule with tier, mechanism, source and thresholds."""
    files = rules_by_file()
    out: list[str] = [
        "# Safety screening rules",
        "",
        "Generated from `src/neurodose/knowledge/rules/*.toml` by "
        "`python -m neurodose.safety.docs docs/safety_rules.md`; do not edit by hand "
        "(a test checks this file is current).",
        "",
        "Tiers and CDS Hooks card indicators: "
        + ", ".join(f"`{t}` -> `{INDICATOR[t]}`" for t in TIERS)
        + ".",
        "",
        "A rule or threshold marked **UNVERIFIED** is not supported by the evidence packs "
        "(`shared/evidence/*.md`); it is used, but shown as unverified in every finding.",
        "",
    ]
    unsupported: list[str] = []
    for stem, rf in files.items():
        out += [f"## {rf.title} (`rules/{stem}.toml`)", "", rf.description, ""]
        out += ["| Rule | Tier | Mechanism | Source |", "|---|---|---|---|"]
        for r in rf.rules:
            tier: str = r.tier
            if r.tiers:
                tier += " (" + ", ".join(f"{k}: {v}" for k, v in r.tiers.items()) + ")"
            src = f"`{r.source}` ({r.locator})"
            src += "".join(f"; `{a.source}` ({a.locator})" for a in r.also)
            flag = "" if r.verified else " **UNVERIFIED**"
            out.append(
                f"| `{r.id}`: {_cell(r.title)}{flag} | {tier} | {_cell(r.mechanism)} | "
                f"{_cell(src)} |"
            )
            if not r.verified:
                unsupported.append(f"- rule `{r.id}`: {_cell(r.note or r.locator)}")
            for k, t in r.thresholds.items():
                if not t.verified:
                    unsupported.append(
                        f"- threshold `{r.id}.{k}` = {_q(t)}: {_cell(t.note or t.locator)}"
                    )
        out.append("")
        for r in rf.rules:
            if not r.thresholds:
                continue
            out += [f"Thresholds of `{r.id}`:", ""]
            out += ["| Name | Value | Source | Verified |", "|---|---|---|---|"]
            for k, t in r.thresholds.items():
                out.append(
                    f"| {k} | {_q(t)} | `{t.source}` ({_cell(t.locator)}) | "
                    f"{'yes' if t.verified else 'UNVERIFIED'} |"
                )
            out.append("")
        out += ["Management:", ""]
        for r in rf.rules:
            out.append(f"- `{r.id}`: {_cell(r.management)}")
        out.append("")
    out += ["## Rules and thresholds the evidence could not support", ""]
    out += unsupported or ["(none)"]
    out.append("")
    return "\n".join(out)


def write_rules_markdown(path: str | Path) -> Path:
    """Write :func:`render_rules_markdown` to ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_rules_markdown(), encoding="utf-8")
    return p


if __name__ == "__main__":  # pragma: no cover
    write_rules_markdown(sys.argv[1] if len(sys.argv) > 1 else "docs/safety_rules.md")
