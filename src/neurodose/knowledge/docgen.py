"""Generate ``docs/knowledge_base.md`` and ``docs/evidence_gaps.md`` from the data files.

Run ``python -m neurodose.knowledge.docgen`` (``make docs``) after any change to
``knowledge/drugs/*.toml`` or ``knowledge/pgx/*.toml``; ``--check`` exits 1 when the
committed documents differ from what the data would generate.

Every cited item is listed with value, unit, source key, locator and flags
(UNVERIFIED, low-trust, derived, calibrated). The gaps document lists, per drug and
per PGx table, every unverified, low-trust or derived value and every field the
record names in ``missing``.

Vocabulary
----------
:data:`CLASS_TAGS` and :data:`CONDITION_IDS` are the tags full records use in
``classes`` and as contraindication/caution ids; both are printed at the top of
``docs/knowledge_base.md``. A caution id may also be a drug name (e.g.
``fluvoxamine``) or one of :data:`EXTRA_STATEMENT_IDS`.

>>> text = render_knowledge_base()
>>> text.startswith("# neurodose knowledge base")
True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel

from neurodose.knowledge import pgx
from neurodose.knowledge.registry import drug_names, get_drug, load_toml
from neurodose.knowledge.schema import (
    Affinity,
    EnzymeEffect,
    Flag,
    Identifier,
    QtRisk,
    Quantity,
    Sourced,
    Statement,
    iter_sourced,
)

__all__ = [
    "CLASS_TAGS",
    "CONDITION_IDS",
    "EXTRA_STATEMENT_IDS",
    "main",
    "render_evidence_gaps",
    "render_knowledge_base",
]

#: class tags used in ``classes`` of full records (partner records use the same words)
CLASS_TAGS: dict[str, str] = {
    "antidepressant": "licensed as an antidepressant",
    "tca": "tricyclic antidepressant",
    "ssri": "selective serotonin reuptake inhibitor",
    "snri": "serotonin-noradrenaline reuptake inhibitor",
    "gabapentinoid": "alpha2delta ligand (gabapentin, pregabalin)",
    "topical": "applied to the skin (plaster or patch)",
    "local_anaesthetic": "sodium-channel local anaesthetic",
    "opioid": "opioid analgesic",
    "serotonergic": "raises synaptic serotonin (serotonin-syndrome rules)",
    "sedating": "somnolence/sedation is a common adverse effect",
    "anticholinergic": "ACB score 3 (definite anticholinergic)",
    "cns_active": "on the Beers 2023 CNS-active list (three or more: avoid)",
    "cyp2d6_inhibitor": "CYP2D6 inhibitor (FDA strength in interactions.inhibits)",
    "cyp2d6_prodrug": "activated by CYP2D6 (tamoxifen, codeine, tramadol): inhibitors cut efficacy",
    "cyp2c19_inhibitor": "CYP2C19 inhibitor (FDA strength in interactions.inhibits)",
    "qt_prolonging": "listed with a QT/TdP risk (see interactions.qt_risk and its flags)",
    "metabolite": "an active metabolite with its own record (see parent)",
}

#: condition ids used for contraindications and cautions
CONDITION_IDS: dict[str, str] = {
    "diabetic_neuropathy": "painful diabetic neuropathy",
    "postherpetic_neuralgia": "postherpetic neuralgia",
    "hiv_neuropathy": "HIV neuropathy",
    "chemotherapy_neuropathy": "chemotherapy-induced neuropathy",
    "central_post_stroke_pain": "central post-stroke pain",
    "spinal_cord_injury_pain": "spinal cord injury pain",
    "trigeminal_neuralgia": "trigeminal neuralgia",
    "depression": "depression",
    "anxiety": "anxiety",
    "insomnia": "insomnia",
    "bipolar_disorder": "bipolar disorder",
    "mania": "mania",
    "narrow_angle_glaucoma": "narrow-angle glaucoma",
    "uncontrolled_narrow_angle_glaucoma": "uncontrolled narrow-angle glaucoma",
    "hyponatraemia": "hyponatraemia or SIADH",
    "bleeding_risk": "bleeding risk",
    "recent_stroke": "recent stroke",
    "parkinsons_disease": "Parkinson's disease",
    "substance_use_disorder": "substance misuse",
    "urinary_retention": "urinary retention",
    "benign_prostatic_hyperplasia": "benign prostatic hyperplasia",
    "recent_myocardial_infarction": "recent myocardial infarction",
    "coronary_artery_insufficiency": "coronary artery insufficiency",
    "heart_block": "heart block",
    "arrhythmia": "cardiac rhythm disorder",
    "heart_failure": "(congestive) heart failure",
    "long_qt_syndrome": "long QT syndrome / QT risk",
    "dementia": "dementia",
    "delirium": "delirium",
    "falls_history": "history of falls",
    "epilepsy": "epilepsy",
    "hepatic_impairment": "hepatic impairment (any degree)",
    "severe_hepatic_impairment": "severe hepatic impairment",
    "renal_impairment": "renal impairment (threshold in the text)",
    "uncontrolled_hypertension": "uncontrolled hypertension",
    "alcohol_use_disorder": "alcohol use disorder / substantial alcohol use",
    "copd": "chronic obstructive pulmonary disease",
    "chronic_constipation": "chronic constipation",
    "pregnancy": "pregnancy",
    "suicidal_ideation": "suicidal ideation",
    "maoi": "taking (or recently stopped) a monoamine-oxidase inhibitor",
}

#: other statement ids allowed for contraindications/cautions (drug combinations, groups)
EXTRA_STATEMENT_IDS: dict[str, str] = {
    "older_adults_anticholinergic": "older adults: strongly anticholinergic antidepressant",
    "cns_polypharmacy": "three or more CNS-active drugs",
    "opioid_coprescription": "with an opioid",
    "gabapentinoid_coprescription": "with gabapentin or pregabalin",
    "serotonergic_combination": "with another serotonergic drug",
    "linezolid_methylene_blue": "with linezolid or IV methylene blue",
    "linezolid_methylene_blue_washout": "washout before linezolid or IV methylene blue",
    "cyp2d6_cyp3a4_inhibitors": "with combined CYP2D6 and CYP3A4 inhibitors",
    "enoxacin": "with enoxacin (CYP1A2 inhibitor; no drug record)",
}

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
HEADER = "<!-- generated by `python -m neurodose.knowledge.docgen`; do not edit by hand -->"


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _describe(item: Sourced) -> tuple[str, str]:
    """(value text, unit) for any cited item."""
    if isinstance(item, Quantity):
        if item.value is not None:
            v = _fmt(item.value)
            if item.low is not None and item.high is not None:
                v += f" (range {_fmt(item.low)}-{_fmt(item.high)})"
        else:
            v = f"{_fmt(item.low)}-{_fmt(item.high)}"
        extra = []
        if item.sd is not None:
            extra.append(f"SD {_fmt(item.sd)}")
        if item.cv is not None:
            extra.append(f"CV {_fmt(item.cv)}")
        if item.ci_low is not None or item.ci_high is not None:
            extra.append(f"95% CI {_fmt(item.ci_low)}-{_fmt(item.ci_high)}")
        if item.n is not None:
            extra.append(f"n={item.n}")
        if extra:
            v += " [" + "; ".join(extra) + "]"
        prefix = ""
        if isinstance(item, Affinity):
            prefix = f"{item.kind} "
        return prefix + v, item.unit
    if isinstance(item, Identifier):
        return f"{item.system} {item.code}" + (f" ({item.display})" if item.display else ""), ""
    if isinstance(item, Flag):
        return str(item.value).lower(), ""
    if isinstance(item, EnzymeEffect):
        return f"{item.enzyme}: {item.strength}", ""
    if isinstance(item, QtRisk):
        return item.category, ""
    if isinstance(item, Statement):
        return f"{item.id}: {item.text}", ""
    text = getattr(item, "text", None)
    return (str(text) if text else type(item).__name__), ""


def _flags(item: Sourced) -> str:
    out = []
    if not item.verified:
        out.append("UNVERIFIED")
    if item.low_trust:
        out.append("low-trust")
    if isinstance(item, Quantity):
        if item.derived:
            out.append("derived from " + ", ".join(item.derived_from))
        if item.calibrated:
            out.append("calibrated to " + ", ".join(item.calibrated_to))
    return "; ".join(out)


def _label(path: str, item: Sourced) -> str:
    if isinstance(item, Affinity):
        bits = [item.target] + [x for x in (item.subtype, item.state, item.species) if x]
        return f"{path} ({', '.join(bits)})"
    return path


def _table(items: Iterable[tuple[str, Sourced]]) -> list[str]:
    lines = [
        "| field | value | unit | source | locator | verified | flags / population / note |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, item in items:
        value, unit = _describe(item)
        notes = [x for x in (_flags(item), item.population, item.note) if x]
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    _label(path, item),
                    value,
                    unit,
                    item.source,
                    item.locator,
                    "yes" if item.verified else "no",
                    "; ".join(notes),
                )
            )
            + " |"
        )
    return lines


def _pgx_items() -> list[tuple[str, list[tuple[str, Sourced]]]]:
    out: list[tuple[str, list[tuple[str, Sourced]]]] = []
    for gene in pgx.GENES:
        out.append((f"pgx/{gene.lower()}.toml", _walk(pgx.gene_table(gene))))
    out.append(("pgx/cpic_tca.toml", _walk(pgx.cpic_table())))
    out.append(("pgx/dpwg_tca.toml", _walk(pgx.dpwg_table())))
    return out


def _walk(obj: BaseModel) -> list[tuple[str, Sourced]]:
    return iter_sourced(obj)


def _pgx_label(path: str, item: Sourced) -> str:
    key = getattr(item, "allele", None) or getattr(item, "phenotype", None)
    if isinstance(item, pgx.DpwgFactor):
        key = f"{item.drug} {item.gene} {item.phenotype}"
    if isinstance(item, pgx.PhenotypeBin):
        key = f"{item.version} {item.describe()}"
    return f"{path} ({key})" if key else path


def _count(items: Sequence[tuple[str, Sourced]]) -> tuple[int, int]:
    nums = [i for _, i in items if isinstance(i, Quantity)]
    return len(nums), sum(1 for i in nums if not i.verified)


def render_knowledge_base() -> str:
    """The text of ``docs/knowledge_base.md``."""
    names = drug_names()
    lines = [
        "# neurodose knowledge base",
        "",
        HEADER,
        "",
        "Every cited item in `src/neurodose/knowledge/drugs/*.toml` and `knowledge/pgx/*.toml`,",
        "with value, unit, source key (see `knowledge/references/*.json`), locator and flags.",
        "UNVERIFIED = the evidence marks it unverified (`verified = false`); low-trust = secondary",
        "source; derived = computed from the cited inputs listed. Gaps: `docs/evidence_gaps.md`.",
        "",
        "## Vocabulary",
        "",
        "Class tags (`classes`):",
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in CLASS_TAGS.items()]
    lines += ["", "Condition ids (contraindication and caution `id`):", ""]
    lines += [f"- `{k}`: {v}" for k, v in CONDITION_IDS.items()]
    lines += [
        "",
        "Other contraindication/caution ids: a drug name (a combination with that drug) or:",
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in EXTRA_STATEMENT_IDS.items()]
    lines += [
        "",
        "## Summary",
        "",
        "| drug | record | class | numbers | unverified numbers | cited items | missing fields |",
        "|---|---|---|---|---|---|---|",
    ]
    total_n = total_u = 0
    records = [get_drug(n) for n in names]
    for rec in records:
        items = rec.iter_sourced()
        n, u = _count(items)
        total_n += n
        total_u += u
        lines.append(
            f"| [{rec.display_name}](#{rec.name}) | {rec.record} | {rec.drug_class} | {n} | {u} "
            f"| {len(items)} | {len(rec.missing)} |"
        )
    pg = _pgx_items()
    for fname, items in pg:
        n, u = _count(items)
        total_n += n
        total_u += u
        lines.append(f"| {fname} | pgx | - | {n} | {u} | {len(items)} | - |")
    lines += [
        "",
        f"Totals: {len(records)} drug records "
        f"({sum(r.record == 'full' for r in records)} full), {total_n} numbers, "
        f"{total_u} unverified numbers.",
        "",
    ]
    for rec in records:
        lines += [f'<a id="{rec.name}"></a>', "", f"## {rec.display_name} (`{rec.name}`)", ""]
        meta = [
            f"record: {rec.record}",
            f"class: {rec.drug_class}",
            f"classes: {', '.join(rec.classes) or '-'}",
            f"routes: {', '.join(rec.routes)}",
        ]
        if rec.aliases:
            meta.append(f"aliases: {', '.join(rec.aliases)}")
        if rec.parent:
            meta.append(f"parent: {rec.parent}")
        if rec.active_metabolites:
            meta.append(f"active metabolites: {', '.join(rec.active_metabolites)}")
        if rec.tdm:
            meta.append(f"TDM analytes: {', '.join(rec.tdm.analytes)}")
        if rec.withdrawal:
            meta.append(f"withdrawal risk: {rec.withdrawal.risk}")
        lines += [f"- {m}" for m in meta] + [""]
        lines += _table(rec.iter_sourced())
        if rec.missing:
            lines += ["", "Missing (no evidence): " + "; ".join(rec.missing)]
        lines.append("")
    lines += ["## Pharmacogenetics tables", ""]
    for fname, items in pg:
        lines += [f"### {fname}", ""]
        lines += _table((_pgx_label(p, i), i) for p, i in items)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _gap_rows(items: Iterable[tuple[str, Sourced]]) -> list[str]:
    rows = []
    for path, item in items:
        if item.verified and not item.low_trust and not getattr(item, "derived", False):
            continue
        value, unit = _describe(item)
        rows.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    path,
                    f"{value} {unit}".strip() if unit != "1" else value,
                    item.source,
                    item.locator,
                    _flags(item),
                )
            )
            + " |"
        )
    return rows


def _sensitivity_section() -> list[str]:
    """The PD parameters ranked by the Sobol analysis (``pdmodels/sensitivity_ranking.json``,
    written by ``calibration/sensitivity.py``), listed first (issue 20 item 7)."""
    import json

    from neurodose.knowledge.registry import DATA_DIR

    path = DATA_DIR / "pdmodels" / "sensitivity_ranking.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    out = [
        "## Ranked by sensitivity (PD parameters; docs/sensitivity.md)",
        "",
        "Unverified and calibrated PD parameters in the order of their largest total Sobol "
        f"index over the prediction outputs (Saltelli base N = {data['n_base']}, "
        f"{data.get('method', 'Sobol')}; see docs/sensitivity.md for the intervals and "
        "convergence), then the others by their Morris mu* (relative to the largest of "
        "an output): evidence for the first rows moves the predictions most. The per-drug "
        "sections below follow.",
        "",
        "| rank | parameter | status | max ST (± CI half-width) | output |",
        "|---|---|---|---|---|",
    ]
    for i, r in enumerate(data["ranking"], 1):
        if r.get("screened_out"):
            what = f"Morris only: mu* {r['morris_mu_star_norm']:.2f} of the largest"
        else:
            what = f"{r['max_ST']:.2f} (± {r['ST_conf']:.2f})"
        out.append(f"| {i} | `{r['parameter']}` | {r['status']} | {what} | {r['output']} |")
    return [*out, ""]


def render_evidence_gaps() -> str:
    """The text of ``docs/evidence_gaps.md``."""
    lines = [
        "# neurodose evidence gaps",
        "",
        HEADER,
        "",
        "Per drug and PGx table: every value stored as UNVERIFIED, low-trust or derived",
        "(check the primary source before clinical use), and every field the record leaves",
        "empty for lack of evidence (`missing`).",
        "",
        *_sensitivity_section(),
    ]
    head = ["| field | value | source | locator | flags |", "|---|---|---|---|---|"]
    for name in drug_names():
        rec = get_drug(name)
        rows = _gap_rows(rec.iter_sourced())
        if not rows and not rec.missing:
            continue
        lines += [f"## {rec.display_name} (`{rec.name}`, {rec.record})", ""]
        if rows:
            lines += head + rows + [""]
        if rec.missing:
            lines += ["Missing:", ""] + [f"- {m}" for m in rec.missing] + [""]
    lines += ["## Pharmacogenetics tables", ""]
    for fname, items in _pgx_items():
        rows = _gap_rows((_pgx_label(p, i), i) for p, i in items)
        lines += [f"### {fname}", ""]
        lines += (head + rows) if rows else ["No unverified, low-trust or derived values."]
        if fname.endswith("dpwg_tca.toml") and not pgx.dpwg_table().citation_verified:
            lines += ["", "Every row cites `dpwg_tca`, whose year and authors are UNVERIFIED."]
        lines.append("")
    lines += [
        "### Not encoded",
        "",
        "- CPIC population-specific frequency tables (UNVERIFIED; release files only).",
        "- DPWG TCA guideline year and authors (UNVERIFIED; reference `dpwg_tca`).",
        "- CYP2D6 allele values under the 2016 CPIC TCA guideline (only the 2016 bins are given).",
        "- CYP2C19 IM/RM/UM effects on amitriptyline clearance (no published values).",
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_formulary() -> str:
    """The formulary's coverage: substances per area, codes, and properties x substances
    (how many substances carry each property, and how many leave its aspect unknown)."""
    out = [
        "# The coded formulary: coverage",
        "",
        "Generated from `src/neurodose/knowledge/formulary/*.toml` by "
        "`python -m neurodose.knowledge.docgen`; do not edit by hand.",
        "",
        _formulary_counts(),
        "",
        "| Area file | Substances |",
        "|---|---|",
        *_formulary_areas(),
        "",
        "## Properties x substances",
        "",
        "How many substances carry each property (from their class or their own entry), and how "
        "many name the aspect as not checked (`unknown`): a property a substance does not list is "
        "absent only where its aspect was checked.",
        "",
        "| Property | Group | Substances with it | Via class | Aspect unknown |",
        "|---|---|---|---|---|",
        *_formulary_properties(),
        "",
    ]
    return "\n".join(out)


def _formulary_counts() -> str:
    """The formulary's size and how many substances carry each code."""
    from neurodose.knowledge.substances import (
        class_defs,
        combinations,
        property_defs,
        substances,
    )

    subs = substances()
    n = len(subs)
    rx = sum(1 for s in subs.values() if s.rxnorm)
    atc = sum(1 for s in subs.values() if s.atc)
    hl = sum(1 for s in subs.values() if s.half_life_h is not None)
    unver = sum(1 for s in subs.values() if not s.verified)
    return (
        f"{n} substances, {len(combinations())} combination products, {len(class_defs())} "
        f"classes, {len(property_defs())} properties. RxNorm ingredient code: {rx} "
        f"({100 * rx / n:.0f} %); ATC code: {atc} ({100 * atc / n:.0f} %); parent half-life: "
        f"{hl} ({100 * hl / n:.0f} %). Stored `verified = false` (not in the evidence packs; "
        f"shown UNVERIFIED): {unver}."
    )


def _formulary_areas() -> list[str]:
    """One table row per area file with substances."""
    from collections import Counter

    from neurodose.knowledge.substances import FORMULARY_DIR

    area: Counter[str] = Counter()
    for path in sorted(FORMULARY_DIR.glob("*.toml")):
        data = load_toml(path)
        area[path.stem] += len(data.get("substance", []))
    return [f"| `{a}.toml` | {c} |" for a, c in sorted(area.items()) if c]


def _formulary_properties() -> list[str]:
    """One table row per property: substances with it, via a class, aspect unknown."""
    from neurodose.knowledge.substances import properties_of, property_defs, substances

    subs = substances()
    facts = {name: properties_of(name) for name in subs}
    rows = []
    for pid, pdef in property_defs().items():
        have = [f[pid] for f in facts.values() if pid in f]
        via_class = sum(1 for f in have if f.via.startswith("class:"))
        stem = pid.split("_")[0]
        unknown = sum(1 for s in subs.values() if any(stem in u or pid in u for u in s.unknown))
        rows.append(f"| `{pid}` | {pdef.group} | {len(have)} | {via_class} | {unknown} |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the generated documents; return an exit code."""
    ap = argparse.ArgumentParser(prog="python -m neurodose.knowledge.docgen")
    ap.add_argument("--check", action="store_true", help="fail if the docs are out of date")
    ap.add_argument("--out", type=Path, default=DOCS, help="output folder (default docs/)")
    args = ap.parse_args(argv)
    docs = {
        "knowledge_base.md": render_knowledge_base(),
        "evidence_gaps.md": render_evidence_gaps(),
        "formulary.md": render_formulary(),
    }
    stale = []
    for fname, text in docs.items():
        path = args.out / fname
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if args.check:
            if old != text:
                stale.append(str(path))
        elif old != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python -m neurodose.knowledge.docgen): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
