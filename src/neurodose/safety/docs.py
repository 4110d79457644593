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


#: the property model, for a pharmacist (prose; the counts below it are generated)
PROPERTY_MODEL = [
    "## How the screen thinks: properties, not names",
    "",
    "The screen does not keep a list of drug pairs. Every medicine the patient takes is "
    "described by what it does: its **properties** (`knowledge/formulary/properties.toml`), "
    "each a cited fact with a source, a locator and a `verified` flag. A property comes "
    "either from the medicine's **class** (every thiazide lowers sodium and potassium, "
    "every SSRI is serotonergic and raises bleeding risk) or from the medicine itself "
    "(clarithromycin is a strong CYP3A4 inhibitor; ondansetron has a known risk of "
    "torsade de pointes). The rules below then read properties and patient facts:",
    "",
    "- **Load rules** count what adds up: serotonergic agents, QT-prolonging drugs "
    "(graded by the CredibleMeds category and by risk factors: low potassium or "
    "magnesium, slow heart rate, heart failure, a long QTc), CNS and respiratory "
    "depressants, anticholinergic burden (ACB), bleeding risk, drugs that lower sodium, "
    "blood-pressure-lowering drugs in older adults, falls-risk drugs.",
    "- **Enzyme rules** combine the FDA class of the perpetrator (strong, moderate, weak "
    "inhibitor or inducer) with the victim's dependence on that enzyme (a major or a "
    "minor pathway): strong on a major pathway is graded *avoid*, strong on a minor or "
    "moderate on a major pathway *caution*, anything weaker *monitor*. Where the PK "
    "engine models the pair, its predicted change in exposure sets the grade. The same "
    "rule works in both directions (a co-medicine raising the option, or the option "
    "raising a co-medicine such as metoprolol, flecainide or tamoxifen).",
    "- **Residual rules** remember stopped drugs: a drug stopped within about five "
    "half-lives of its longest-lived active part (fluoxetine's norfluoxetine) still counts "
    "for serotonergic load and enzyme inhibition; a switch away from it never overlaps.",
    "- **Patient facts** come as conditions (285 coded conditions with SNOMED CT and "
    "ICD-10-CM codes, each implying the risk concepts it carries: haemodialysis implies "
    "CKD stage 5, atrial fibrillation an arrhythmia) and as **measurements** "
    "(`knowledge/measurements.toml`): sodium below 135 mmol/L implies hyponatraemia, "
    "potassium below 3.5 hypokalaemia, heart rate below 50 bradycardia, QTc above 450 ms "
    "(men) or 470 ms (women) a prolonged QT, platelets below 100 thrombocytopenia, INR "
    "above 3 over-anticoagulation; serum creatinine with age, weight and sex gives a "
    "Cockcroft-Gault CrCl. Each finding names the measurement it rests on.",
    "- **Label rules** read the option's licensed age, pregnancy and breastfeeding "
    "wording from its formulary entry.",
    "- A drug-specific rule remains only where a label names the pair (citalopram with "
    "other QT-prolonging drugs, tramadol with carbamazepine); such a rule also answers to "
    "the general rule it is a case of (`also_codes`).",
    "",
    "**Unknown is never safe.** A medicine, condition or free-text entry the knowledge "
    "base does not know is kept and listed first as *unchecked*, with what could not be "
    "checked for it; the rest of the assessment goes on. A property the formulary does "
    "not state for a substance is unknown for it (`unknown` in its entry), never absent.",
    "",
]


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
        *PROPERTY_MODEL,
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
