"""``neurodose drugs list|show`` and ``neurodose sources``: browse the knowledge base.

Every value is shown with its source key and locator; numbers the evidence
marks UNVERIFIED carry that mark. ``--json`` prints the full record
(:meth:`pydantic.BaseModel.model_dump`), every number with value, unit,
source, locator and verified flag.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from neurodose.cli.common import (
    cited_table,
    count_numbers,
    escape,
    format_quantity,
    format_reference,
    format_source,
    make_console,
    marks,
    print_json,
    print_sources,
    qty_cell,
    reference_link,
    reference_year,
)
from neurodose.knowledge.registry import drug_names, get_drug, get_reference, references
from neurodose.knowledge.schema import (
    DoseGuidance,
    DrugRecord,
    EnzymeEffect,
    Flag,
    Quantity,
    Statement,
)
from neurodose.safety.context import INTERACTION_FLAGS

__all__ = ["dose_table", "drug_summary", "register", "show_drug", "sources_citing"]

drugs_app = typer.Typer(
    help="Browse drug records: targets, PK, doses, TDM, evidence, safety.",
    no_args_is_help=True,
)


class RecordKind(StrEnum):
    """Which kind of record to list."""

    full = "full"
    partner = "partner"


def drug_summary(rec: DrugRecord) -> dict[str, Any]:
    """Name, class, record kind, codes, properties and counts of cited numbers."""
    from neurodose.knowledge.substances import record_properties, substance

    counts = count_numbers(rec.iter_sourced())
    sub = substance(rec.name)
    rx = [i.code for i in rec.identifiers if i.system == "RxNorm-IN"]
    atc = [i.code for i in rec.identifiers if i.system == "ATC"]
    if sub is not None:
        rx = rx or ([sub.rxnorm] if sub.rxnorm else [])
        atc = list(dict.fromkeys([*atc, *sub.atc]))
    return {
        "name": rec.name,
        "display_name": rec.display_name,
        "drug_class": rec.drug_class,
        "record": rec.record,
        "classes": list(rec.classes),
        "rxnorm": rx[0] if rx else None,
        "atc": atc,
        "properties": list(record_properties(rec)),
        "in_formulary": sub is not None,
        **counts,
    }


@drugs_app.command("list")
def list_drugs(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    record: RecordKind | None = typer.Option(
        None, "--record", help="Only full records or only interaction partners."
    ),
) -> None:
    """List every drug in the knowledge base with counts of cited numbers."""
    from neurodose.knowledge.substances import substances

    names = drug_names(record.value if record else None)
    if record is None or record.value == "partner":  # formulary substances are partners
        full = set(drug_names("full")) if record is not None else set()
        names = sorted({*names, *(n for n in substances() if n not in full)})
    rows = [drug_summary(get_drug(n)) for n in names]
    if as_json:
        print_json(rows)
        return
    console = make_console()
    table = Table(title=f"neurodose knowledge base: {len(rows)} drugs", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("class", overflow="fold")
    table.add_column("record", no_wrap=True)
    for col in ("#numbers", "#cited", "#unverified"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        unv = r["unverified_items"]
        table.add_row(
            escape(r["name"]),
            escape(r["drug_class"]),
            r["record"],
            str(r["numbers"]),
            str(r["cited_items"]),
            f"[yellow]{unv}[/yellow]" if unv else "0",
        )
    console.print(table)
    console.print(
        "#numbers: cited quantities; #cited: all cited facts (numbers, flags, statements, "
        "codes); #unverified: cited facts stored with verified = false (UNVERIFIED in the "
        "evidence). Details: neurodose drugs show NAME"
    )


# ---------------------------------------------------------------- show helpers


def _quantity_table(title: str, items: dict[str, Quantity], console: Console) -> None:
    if not items:
        return
    table = cited_table(title, ["item", "value", "population / note", "source (locator)", "marks"])
    for key, q in items.items():
        pop = "; ".join(x for x in (q.population, q.note) if x)
        table.add_row(
            escape(key),
            escape(format_quantity(q, flags=False)),
            escape(pop),
            escape(format_source(q)),
            marks(q),
        )
    console.print(table)


def _statement_table(title: str, items: list[Statement], console: Console) -> None:
    if not items:
        return
    table = cited_table(title, ["id", "statement", "source (locator)", "marks"])
    for s in items:
        table.add_row(escape(s.id), escape(s.text), escape(format_source(s)), marks(s))
    console.print(table)


_DOSE_FIELDS = [
    "start",
    "titration_step",
    "titration_interval",
    "usual_low",
    "usual_high",
    "maximum",
    "divided_doses",
]


def dose_table(doses: dict[str, DoseGuidance], console: Console) -> None:
    """Doses side by side per indication (e.g. neuropathic pain vs depression)."""
    if not doses:
        return
    indications = list(doses)
    table = cited_table(
        "Doses by indication (value, then source key)", ["", *[i for i in indications]]
    )
    for field in _DOSE_FIELDS:
        cells = [getattr(doses[i], field) for i in indications]
        if all(c is None for c in cells):
            continue
        table.add_row(field.replace("_", " "), *[qty_cell(c) for c in cells])
    console.print(table)
    for ind in indications:
        _statement_table(f"Dosing statements: {ind}", doses[ind].statements, console)


def _header(rec: DrugRecord, console: Console) -> None:
    console.rule(f"[bold]{escape(rec.display_name)}[/bold] ({escape(rec.name)})")
    lines = [
        ("record", rec.record),
        ("class", rec.drug_class),
        ("tags", ", ".join(rec.classes)),
        ("routes", ", ".join(rec.routes)),
    ]
    if rec.aliases:
        lines.append(("aliases", ", ".join(rec.aliases)))
    if rec.parent:
        lines.append(("parent", rec.parent))
    if rec.active_metabolites:
        lines.append(("active metabolites", ", ".join(rec.active_metabolites)))
    if rec.molar_mass is not None:
        lines.append(
            (
                "molar mass",
                f"{format_quantity(rec.molar_mass)}  ({format_source(rec.molar_mass)})",
            )
        )
    counts = count_numbers(rec.iter_sourced())
    lines.append(
        (
            "cited numbers",
            f"{counts['numbers']} ({counts['unverified_numbers']} UNVERIFIED); "
            f"{counts['cited_items']} cited items in all",
        )
    )
    if rec.missing:
        lines.append(("missing (no evidence)", ", ".join(rec.missing)))
    for k, v in lines:
        console.print(f"[bold]{escape(k)}:[/bold] {escape(v)}")


def _identifiers(rec: DrugRecord, console: Console) -> None:
    if not rec.identifiers:
        return
    table = cited_table("Identifiers", ["system", "code", "display", "source (locator)", "marks"])
    for i in rec.identifiers:
        table.add_row(
            i.system, escape(i.code), escape(i.display or ""), escape(format_source(i)), marks(i)
        )
    console.print(table)


def _targets(rec: DrugRecord, console: Console) -> None:
    if not rec.targets:
        return
    table = cited_table(
        "Targets (lower = more potent)",
        ["target", "kind", "value", "species / state", "source (locator)", "marks"],
    )
    for a in rec.targets:
        name = a.target + (f" {a.subtype}" if a.subtype else "")
        where = a.species + (f"; {a.state}" if a.state else "")
        table.add_row(
            escape(name),
            a.kind,
            escape(format_quantity(a, flags=False)),
            escape(where),
            escape(format_source(a)),
            marks(a),
        )
    console.print(table)


def _tdm(rec: DrugRecord, console: Console) -> None:
    if rec.tdm is None:
        return
    t = rec.tdm
    items = {
        k: q
        for k, q in (("reference_range", t.reference_range), ("alert", t.alert), ("toxic", t.toxic))
        if q is not None
    }
    _quantity_table(f"TDM (analytes: {' + '.join(t.analytes)})", items, console)
    _statement_table("TDM statements", t.statements, console)


def _adverse(rec: DrugRecord, console: Console) -> None:
    if not rec.adverse_effects:
        return
    table = cited_table("Adverse effects (incidence)", ["effect", "on drug", "on placebo", "NNH"])
    for name, ae in rec.adverse_effects.items():
        table.add_row(
            escape(name),
            qty_cell(ae.active),
            qty_cell(ae.placebo),
            qty_cell(ae.nnh),
        )
    console.print(table)


def _enzymes(title: str, items: list[EnzymeEffect], table: Table) -> None:
    for e in items:
        table.add_row(
            title,
            escape(f"{e.enzyme} ({e.strength})"),
            escape(format_source(e)),
            marks(e),
        )


def _interactions(rec: DrugRecord, console: Console) -> None:
    ip = rec.interactions
    table = cited_table("Interaction profile", ["property", "value", "source (locator)", "marks"])
    _enzymes("substrate of", ip.substrate_of, table)
    _enzymes("inhibits", ip.inhibits, table)
    _enzymes("induces", ip.induces, table)
    for field in INTERACTION_FLAGS:
        flag: Flag | None = getattr(ip, field)
        if flag is not None:
            table.add_row(
                field.replace("_", " "),
                "yes" if flag.value else "no",
                escape(format_source(flag)),
                marks(flag),
            )
    if ip.anticholinergic_acb is not None:
        q = ip.anticholinergic_acb
        table.add_row(
            "anticholinergic burden (ACB)",
            escape(format_quantity(q, flags=False)),
            escape(format_source(q)),
            marks(q),
        )
    if ip.qt_risk is not None:
        table.add_row(
            "QT risk",
            ip.qt_risk.category,
            escape(format_source(ip.qt_risk)),
            marks(ip.qt_risk),
        )
    if table.row_count:
        console.print(table)
    _statement_table("Interaction notes", ip.notes, console)


def _properties(rec: DrugRecord, console: Console) -> set[str]:
    """The formulary's view of the drug: properties (with where each comes from), codes,
    label wordings and what its entry leaves unknown. Returns the sources shown."""
    from neurodose.knowledge.substances import properties_of, property_defs, substance

    facts = properties_of(rec.name)
    sub = substance(rec.name)
    if not facts and sub is None:
        return set()
    table = cited_table("Properties (formulary)", ["property", "from", "source (locator)", "marks"])
    defs = property_defs()
    for pid, f in sorted(facts.items()):
        table.add_row(
            escape(defs[pid].title if pid in defs else pid),
            escape(f.via),
            escape(f"{f.source} ({f.locator})"),
            "" if f.verified else "[yellow]UNVERIFIED[/yellow]",
        )
    console.print(table)
    if sub is not None:
        bits = [
            f"pregnancy: {sub.pregnancy}" if sub.pregnancy else "",
            f"breastfeeding: {sub.breastfeeding}" if sub.breastfeeding else "",
            f"licensed from age {sub.min_age_years:g}" if sub.min_age_years is not None else "",
            f"avoid below CrCl {sub.renal_avoid_below_crcl:g} mL/min"
            if sub.renal_avoid_below_crcl
            else "",
            f"longest half-life (parent or active metabolite) {sub.half_life_max_h:g} h"
            if sub.half_life_max_h
            else "",
        ]
        label = "; ".join(b for b in bits if b)
        if label:
            console.print(f"Label: {escape(label)}")
        if sub.unknown:
            console.print(f"[yellow]Not established:[/yellow] {escape(', '.join(sub.unknown))}")
    return {f.source for f in facts.values()} | ({sub.source} if sub else set())


def show_drug(rec: DrugRecord, console: Console) -> None:
    """Print every section of a drug record as readable tables, with sources."""
    _header(rec, console)
    _identifiers(rec, console)
    _targets(rec, console)
    _quantity_table("Protein binding", rec.protein_binding, console)
    _quantity_table("Pharmacokinetics (label level)", rec.pk, console)
    dose_table(rec.doses, console)
    _tdm(rec, console)
    _quantity_table("Efficacy", rec.efficacy, console)
    _adverse(rec, console)
    _statement_table("Contraindications", rec.contraindications, console)
    _statement_table("Cautions", rec.cautions, console)
    if rec.withdrawal is not None:
        _statement_table(
            f"Withdrawal (risk: {rec.withdrawal.risk})", rec.withdrawal.statements, console
        )
    _interactions(rec, console)
    extra_sources = _properties(rec, console)
    _statement_table("Other statements", rec.statements, console)
    keys = sorted({item.source for _, item in rec.iter_sourced()} | extra_sources)
    print_sources(console, keys, title=f"Sources of {rec.display_name}")
    console.print(
        "[dim]Decision support, never a substitute for clinical judgement. "
        "UNVERIFIED: stored as given by the evidence, not yet checked against the "
        "primary source.[/dim]"
    )


@drugs_app.command("show")
def show(
    name: str = typer.Argument(..., help="Drug name or alias, e.g. amitriptyline."),
    as_json: bool = typer.Option(False, "--json", help="Print the full record as JSON."),
) -> None:
    """Show one drug record, section by section, each value with its source."""
    rec = get_drug(name)  # unknown names raise UnknownDrugError with close matches
    if as_json:
        print_json(rec.model_dump(mode="json"))
        return
    show_drug(rec, make_console())


# ---------------------------------------------------------------- sources


def sources_citing(key: str) -> dict[str, int]:
    """How many cited items of each drug record rest on source ``key``."""
    out: dict[str, int] = {}
    for name in drug_names():
        n = sum(1 for _, item in get_drug(name).iter_sourced() if item.source == key)
        if n:
            out[name] = n
    return out


def sources(
    key: str | None = typer.Argument(None, help="A source key; omit to list all sources."),
    as_json: bool = typer.Option(False, "--json", help="Print CSL-JSON."),
) -> None:
    """List every reference (CSL-JSON), or show one with the records that cite it."""
    if key is None:
        refs = references()
        if as_json:
            print_json(list(refs.values()))
            return
        console = make_console()
        table = Table(title=f"{len(refs)} sources", title_justify="left")
        table.add_column("key", no_wrap=True)
        table.add_column("year", no_wrap=True)
        table.add_column("title", overflow="fold")
        table.add_column("link", overflow="fold")
        for k, ref in sorted(refs.items()):
            table.add_row(
                escape(k),
                reference_year(ref),
                escape(str(ref.get("title", ""))),
                escape(reference_link(ref)),
            )
        console.print(table)
        return
    ref = get_reference(key)  # unknown keys raise UnknownSourceError with close matches
    cited_by = sources_citing(key)
    if as_json:
        print_json({**ref, "cited_by": cited_by})
        return
    console = make_console()
    console.print(f"[bold cyan]{escape(key)}[/bold cyan]: {escape(format_reference(ref))}")
    for field in ("type", "container-title", "volume", "page", "publisher", "note", "URL"):
        if ref.get(field):
            console.print(f"  [bold]{field}:[/bold] {escape(str(ref[field]))}")
    if cited_by:
        used = ", ".join(f"{k} ({n})" for k, n in cited_by.items())
        console.print(f"  [bold]cited by:[/bold] {escape(used)}")
    else:
        console.print("  [bold]cited by:[/bold] no drug record (may be used by rules or models)")


def register(app: typer.Typer) -> None:
    """Add ``drugs`` and ``sources`` to the main app."""
    app.add_typer(drugs_app, name="drugs")
    app.command("sources")(sources)
