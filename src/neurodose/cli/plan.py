"""``neurodose plan titrate|taper|switch ... [--ics FILE] [--json]``.

Examples::

    neurodose plan titrate --drug amitriptyline --start-date 2026-01-05 --ics ami.ics
    neurodose plan titrate --drug pregabalin --patient examples/patients/older_falls_opioid.json
    neurodose plan taper --drug venlafaxine --current-dose 150 --method hyperbolic
    neurodose plan switch --from amitriptyline --to duloxetine --current-dose 50
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from neurodose.advice.ics import write_ics
from neurodose.advice.patient_text import patient_plan_text
from neurodose.advice.plans import Plan
from neurodose.case.patient import Patient, load_patient_file
from neurodose.cli.assess import parse_date
from neurodose.cli.common import escape, make_console, print_json, print_sources, step_row
from neurodose.cli.options import (
    AllowAboveMax,
    Mkdir,
    applied_defaults,
    option_group,
    out_path,
)
from neurodose.errors import InputError
from neurodose.inputs import writing
from neurodose.knowledge import get_drug
from neurodose.units import parse_quantity
from neurodose.workflows.plans import PlanRequest

__all__ = ["plan_app", "register", "render_plan"]

plan_app = typer.Typer(
    help="Dated titration, taper and switch plans (exportable as iCalendar).",
    no_args_is_help=True,
)

DrugOpt = Annotated[str, typer.Option("--drug", help="drug name (any KB name)")]
StartOpt = Annotated[str | None, typer.Option("--start-date", help="day 0, YYYY-MM-DD")]
IcsOpt = Annotated[Path | None, typer.Option("--ics", help="write the plan as .ics")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the plan as JSON")]
FhirOpt = Annotated[
    bool,
    typer.Option("--fhir", help="print the plan as a FHIR R4 CarePlan (staged MedicationRequest)"),
]
PatientOpt = Annotated[
    Path | None, typer.Option("--patient", help="patient JSON (renal, genotype adjustments)")
]
TextOpt = Annotated[bool, typer.Option("--patient-text", help="print the patient version")]


def _dose(text: str) -> float:
    """``--current-dose`` in mg (a bare number is mg, as the option says); the workflow
    checks it against the knowledge base's maximum."""
    from neurodose.inputs import finite_number

    try:
        mg = float(text)
    except ValueError:
        mg = parse_quantity(text, "mass", field="--current-dose")
    return finite_number(mg, "--current-dose", low=0, low_inclusive=False, unit="mg")


def _make(req: PlanRequest) -> tuple[Plan, list[str]]:
    """The plan of ``req`` (:func:`neurodose.workflows.make_plan`), request fields named
    by their flags in errors."""
    from neurodose.cli.options import WORKFLOW_FLAGS, as_flags
    from neurodose.workflows import make_plan

    with as_flags(WORKFLOW_FLAGS):
        res = make_plan(req)
    return res.plan, list(res.warnings)


def render_plan(console: Console, plan: Plan) -> None:
    """A rich table of the plan's steps, reviews and notes."""
    names = " -> ".join(get_drug(d).display_name for d in plan.drugs)
    t = Table(title=f"{plan.kind}: {names} (from {plan.start_date})")
    for col in ("Day", "Date", "Drug", "Dose", "Every (h)", "When", "Daily", "Take"):
        t.add_column(col)
    for s in plan.steps:
        t.add_row(*step_row(s, plan.unit, drug_and_daily=True))
    console.print(t)
    for r in plan.reviews:
        console.print(f"Day {r.day} ({r.date}): {escape(r.text)}")
    for n in plan.notes:
        console.print(f"[dim]{escape(n)}[/dim]")
    if not plan.verified:
        console.print("[yellow]Some numbers behind this plan are UNVERIFIED.[/yellow]")
    print_sources(console, plan.sources)


@dataclass(frozen=True)
class _Outputs:
    """The output options every ``plan`` command takes (declared once by
    :data:`_outputs`)."""

    ics: Path | None = None
    json_out: bool = False
    patient_text: bool = False
    fhir: bool = False
    mkdir: bool = False
    allow_above_max: bool = False


_NO_OUTPUTS = _Outputs()

#: ``--ics``, ``--json``, ``--patient-text``, ``--fhir``, ``--mkdir``, ``--allow-above-max``
_outputs = option_group(
    "out",
    zip(
        ("ics", "json_out", "patient_text", "fhir", "mkdir", "allow_above_max"),
        (IcsOpt, JsonOpt, TextOpt, FhirOpt, Mkdir, AllowAboveMax),
        strict=True,
    ),
    _Outputs,
    vars(_NO_OUTPUTS),
)


def _run(out: _Outputs, request: Callable[[bool], PlanRequest]) -> None:
    """Check the output path, make the plan of ``request(allow_above_max)`` and print
    or write it."""
    ics = out_path(out.ics, "--ics", (".ics",), out.mkdir)
    plan, warnings = _make(request(out.allow_above_max))
    if ics is not None:
        with writing(ics, "--ics"):
            write_ics(plan, ics)
    if out.fhir:
        from neurodose.fhir.outbound import care_plan

        print_json(care_plan(plan))
        return
    if out.json_out:
        _print_plan_json(plan, warnings, out.patient_text, ics)
        return
    console = make_console()
    for w in warnings:
        console.print(f"[bold red]WARNING: {escape(w)}[/bold red]")
    render_plan(console, plan)
    for dflt in applied_defaults():
        console.print(f"assumed: {escape(dflt)}")
    for w in warnings:
        console.print(f"[bold red]WARNING: {escape(w)}[/bold red]")
    if ics is not None:
        console.print(f"Calendar written to {ics}")
    if out.patient_text:
        console.rule("For the patient")
        console.print(escape(patient_plan_text(plan)))


def _print_plan_json(plan: Plan, warnings: list[str], text: bool, ics: Path | None) -> None:
    d = plan.to_dict()
    d["warnings"] = warnings
    d["defaults_applied"] = applied_defaults()
    if text:
        d["patient_text"] = patient_plan_text(plan)
    if ics is not None:
        d["ics"] = str(ics)
    print_json(d)


def _patient(path: Path | None) -> Patient | None:
    return load_patient_file(path) if path is not None else None


def _start(start_date: str | None) -> dt.date:
    return parse_date(start_date) or dt.date.today()


@plan_app.command("titrate")
@_outputs
def titrate(
    drug: DrugOpt,
    start_date: StartOpt = None,
    current_dose: Annotated[
        str | None, typer.Option("--current-dose", help="continue from this daily dose (mg)")
    ] = None,
    patient: PatientOpt = None,
    out: _Outputs = _NO_OUTPUTS,
) -> None:
    """Titration schedule from the cited start dose, steps and maximum."""
    _run(
        out,
        lambda allow: PlanRequest(
            "titration",
            drug,
            _start(start_date),
            current_daily_mg=_dose(current_dose) if current_dose else None,
            patient=_patient(patient),
            allow_above_max=allow,
        ),
    )


@plan_app.command("taper")
@_outputs
def taper(
    drug: DrugOpt,
    current_dose: Annotated[str, typer.Option("--current-dose", help="current daily dose (mg)")],
    start_date: StartOpt = None,
    method: Annotated[
        str, typer.Option("--method", help="proportional (NICE NG222) or hyperbolic")
    ] = "proportional",
    out: _Outputs = _NO_OUTPUTS,
) -> None:
    """Taper to stopping in proportional steps using marketed strengths and liquids."""
    _run(
        out,
        lambda allow: PlanRequest(
            "taper",
            drug,
            _start(start_date),
            current_daily_mg=_dose(current_dose),
            method=method,
            allow_above_max=allow,
        ),
    )


@plan_app.command("switch")
@_outputs
def switch(
    from_drug: Annotated[str, typer.Option("--from", help="current drug")],
    to_drug: Annotated[str, typer.Option("--to", help="new drug")],
    current_dose: Annotated[
        str, typer.Option("--current-dose", help="current daily dose of --from (mg)")
    ],
    start_date: StartOpt = None,
    patient: PatientOpt = None,
    out: _Outputs = _NO_OUTPUTS,
) -> None:
    """Switch by cross-taper, or taper + washout (MAOI gap, fluoxetine)."""

    def request(allow: bool) -> PlanRequest:
        if not from_drug or not to_drug:
            raise InputError("from/to", (from_drug, to_drug), "two drug names")
        return PlanRequest(
            "switch",
            from_drug,
            _start(start_date),
            current_daily_mg=_dose(current_dose),
            patient=_patient(patient),
            to=to_drug,
            allow_above_max=allow,
        )

    _run(out, request)


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command group to the main app."""
    app.add_typer(plan_app, name="plan")
