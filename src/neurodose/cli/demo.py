"""``neurodose demo``: a short tour of what neurodose knows, with sources.

The tour reads amitriptyline's record: where it acts (targets), how it is
dosed for neuropathic pain versus depression, and what the evidence says.
Then it hands the console to the demo sections of other command groups
(``neurodose.cli.trial``, ``neurodose.cli.assess``) where those exist.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer
from rich.console import Console

from neurodose.cli.common import (
    cited_table,
    escape,
    format_quantity,
    format_source,
    make_console,
    marks,
    print_sources,
)
from neurodose.cli.drugs import dose_table
from neurodose.knowledge.registry import drug_names, get_drug
from neurodose.knowledge.schema import DoseGuidance, Sourced
from neurodose.units import convert, dimension_of

__all__ = ["DEMO_SECTIONS", "register", "run_demo"]

#: modules whose ``demo_section(console)`` is called after the tour, in order
DEMO_SECTIONS = ["neurodose.cli.trial", "neurodose.cli.assess"]

DRUG = "amitriptyline"


def _targets(console: Console, shown: set[str]) -> None:
    rec = get_drug(DRUG)
    table = cited_table(
        "1. Where amitriptyline acts: binding and block potency (lower = more potent)",
        ["target", "kind", "value", "in nM", "source (locator)", "marks"],
    )
    rows = []
    for a in rec.targets:
        nM = convert(a.point, a.unit, "nM") if dimension_of(a.unit) == "molar" else float("nan")
        rows.append((nM, a))
    for nM, a in sorted(rows, key=lambda r: r[0]):
        shown.add(a.source)
        name = a.target + (f" {a.subtype}" if a.subtype else "")
        if a.state and len(a.state) < 15:
            name += f" ({a.state})"
        table.add_row(
            escape(name),
            a.kind,
            escape(format_quantity(a, flags=False)),
            f"{nM:g}" if nM < 1000 else f"{nM:,.0f}",
            escape(format_source(a)),
            marks(a),
        )
    console.print(table)


def _doses(console: Console, shown: set[str]) -> None:
    rec = get_drug(DRUG)
    console.print("[bold]2. Doses: neuropathic pain versus depression[/bold]")
    dose_table(rec.doses, console)
    for guidance in rec.doses.values():
        shown.update(item.source for _, item in guidance_items(guidance))
    pain = rec.doses.get("neuropathic_pain")
    dep = rec.doses.get("depression")
    if pain is not None and pain.start is not None and pain.maximum is not None:
        text = (
            f"For neuropathic pain it starts at {format_quantity(pain.start)} "
            f"({pain.start.source}) and is titrated to at most "
            f"{format_quantity(pain.maximum)} ({pain.maximum.source})"
        )
        if dep is not None and dep.usual_low is not None and dep.usual_high is not None:
            text += (
                f"; for depression the usual dose is {format_quantity(dep.usual_low)} to "
                f"{format_quantity(dep.usual_high)} ({dep.usual_low.source})"
            )
        console.print(escape(text + "."))


def _evidence(console: Console, shown: set[str]) -> None:
    rec = get_drug(DRUG)
    table = cited_table(
        "3. What the evidence says",
        ["finding", "value", "population", "source (locator)", "marks"],
    )
    for key, q in rec.efficacy.items():
        shown.add(q.source)
        table.add_row(
            escape(key),
            escape(format_quantity(q, flags=False)),
            escape(q.population or ""),
            escape(format_source(q)),
            marks(q),
        )
    for name, ae in rec.adverse_effects.items():
        shown.add(ae.active.source)
        table.add_row(
            escape(f"{name} (incidence on drug)"),
            escape(format_quantity(ae.active, flags=False)),
            escape(ae.active.population or ""),
            escape(format_source(ae.active)),
            marks(ae.active),
        )
    if rec.tdm is not None and rec.tdm.reference_range is not None:
        q = rec.tdm.reference_range
        shown.add(q.source)
        table.add_row(
            escape(f"TDM reference range ({' + '.join(rec.tdm.analytes)})"),
            escape(format_quantity(q, flags=False)),
            escape(q.population or ""),
            escape(format_source(q)),
            marks(q),
        )
    console.print(table)


def _other_sections(console: Console) -> None:
    for name in DEMO_SECTIONS:
        if importlib.util.find_spec(name) is None:
            console.print(f"[dim]({name} is not installed; its demo is skipped)[/dim]")
            continue
        module = importlib.import_module(name)
        section = getattr(module, "demo_section", None)
        if section is None:
            console.print(f"[dim]({name} has no demo_section; skipped)[/dim]")
            continue
        section(console)


def guidance_items(guidance: DoseGuidance) -> list[tuple[str, Sourced]]:
    """The cited items of one indication's dose guidance."""
    out: list[tuple[str, Sourced]] = []
    for field in type(guidance).model_fields:
        value = getattr(guidance, field)
        if isinstance(value, Sourced):
            out.append((field, value))
        elif isinstance(value, list):
            out.extend((field, v) for v in value if isinstance(v, Sourced))
    return out


def run_demo(console: Console) -> set[str]:
    """Print the tour; return the source keys of the values it showed."""
    console.rule("[bold]neurodose demo[/bold]")
    console.print(
        f"The knowledge base holds {len(drug_names())} drug records "
        f"({len(drug_names('full'))} full, {len(drug_names('partner'))} interaction partners). "
        "Every number below carries its source key; UNVERIFIED marks numbers the "
        "evidence has not confirmed.\n"
        "[italic]Decision support, never a substitute for clinical judgement.[/italic]"
    )
    shown: set[str] = set()
    _targets(console, shown)
    _doses(console, shown)
    _evidence(console, shown)
    print_sources(console, shown, title="Sources of this tour")
    _other_sections(console)
    return shown


def demo() -> None:
    """A short tour: amitriptyline's targets, doses for pain vs depression, evidence."""
    run_demo(make_console())


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the main app."""
    app.command("demo")(demo)
