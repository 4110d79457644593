"""``neurodose assess PATIENT.json [--json] [--drug NAME] [--start-date D]``.

Screens, ranks and plans the eight neuropathic-pain options for a patient profile
(schema: :mod:`neurodose.case.patient`). ``--json`` prints the contract::

    {"patient_summary": {...},
     "options": [{"drug", "verdict", "rank", "findings": [{"severity", "code",
                  "message", "sources", ...}], "plan": {"steps": [{"day", "dose_mg",
                  "every_h", "time_of_day", ...}]}, ...}],
     "findings": [...], "sources": [...]}
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from neurodose.advice.assess import Assessment, OptionResult
from neurodose.cli.common import escape, make_console, print_json, print_sources, step_row
from neurodose.knowledge import DATA_DIR
from neurodose.workflows.patients import PatientResult

__all__ = ["SAMPLE_PATIENT", "assess_command", "demo_section", "parse_date", "register", "render"]

#: the sample patient shown by ``neurodose demo`` (examples/patients/sample.json)
SAMPLE_PATIENT = {
    "age": 67,
    "sex": "female",
    "weight_kg": 72,
    "height_cm": 163,
    "conditions": ["diabetic_neuropathy", "insomnia", "depression"],
    "medications": [
        {"name": "omeprazole", "dose_mg": 20, "every_h": 24},
    ],
    "genotypes": {"CYP2D6": "*1/*41", "CYP2C19": "*1/*17"},
    "labs": {"crcl_ml_min": 52, "qtc_ms": 438},
    "pain": {"condition": "diabetic_neuropathy", "score": 7},
    "priorities": ["sleep", "mood"],
}

_STYLE = {
    "contraindicated": "bold red",
    "avoid": "red",
    "caution": "yellow",
    "monitor": "cyan",
    "info": "dim",
    "recommended": "bold green",
    "acceptable": "green",
}


def parse_date(text: str | None, field: str = "start-date") -> dt.date:
    """ISO date (YYYY-MM-DD) within the horizon (:func:`neurodose.limits.plan_date`) or
    today; a bad value is an InputError naming the option and the allowed range."""
    from neurodose.limits import plan_date

    if text is None:
        return dt.date.today()
    return plan_date(text, field)


def _mark(sev: str) -> str:
    st = _STYLE.get(sev, "")
    return f"[{st}]{sev}[/{st}]" if st else sev


def _table(title: str, columns: tuple[str, ...], **kw: Any) -> Table:
    t = Table(title=title, **kw)
    for col in columns:
        t.add_column(col)
    return t


def _print_unchecked(console: Console, a: Assessment) -> None:
    if not a.patient.unchecked:
        return
    ut = _table(
        "UNCHECKED: not in the knowledge base (silence is not safety)",
        ("Kind", "As given", "What was not checked"),
    )
    for u in a.patient.unchecked:
        ut.add_row(u.kind, escape(u.name), escape(u.reason))
    console.print(ut)


def _print_patient(console: Console, a: Assessment) -> None:
    s = a.patient.summary()
    console.print(
        f"Age {s['age']:g}"
        + (f", {s['sex']}" if s["sex"] else "")
        + f"; conditions: {', '.join(s['conditions']) or 'none'}; "
        f"medications: {', '.join(m['name'] for m in s['medications']) or 'none'}"
    )
    if s["genotypes"]:
        console.print(
            "Genotypes: "
            + "; ".join(
                f"{g} {v['diplotype'] or ''} {v['phenotype']}" for g, v in s["genotypes"].items()
            )
        )


def _print_options(console: Console, options: list[OptionResult]) -> None:
    t = _table(
        "Options, ranked",
        ("#", "Option", "Verdict", "NNT", "Worst findings", "Why"),
        show_lines=False,
    )
    for o in options:
        worst = [f for f in o.findings if f.severity in ("contraindicated", "avoid", "caution")][:3]
        t.add_row(
            str(o.rank),
            o.display_name,
            _mark(o.verdict),
            f"{o.nnt:g}" if o.nnt else "-",
            "\n".join(f"{_mark(f.severity)} {escape(f.title)}" for f in worst) or "-",
            "\n".join(escape(r.text) for r in o.reasons[1:3]) or "-",
        )
    console.print(t)
    for o in options:
        if not o.findings:
            continue
        ft = _table(
            f"{o.display_name}: findings",
            ("Severity", "Code", "Message", "Sources"),
            show_lines=False,
        )
        for f in o.findings:
            ft.add_row(
                _mark(f.severity),
                f.code,
                escape(f.message) + ("" if f.verified else " [UNVERIFIED]"),
                ", ".join(f.sources[:3]),
            )
        console.print(ft)


def _print_current_and_gaps(console: Console, a: Assessment, drug: str | None) -> None:
    if a.findings:
        ct = _table("Current medicines: findings", ("Severity", "Drug", "Message"))
        for f in a.findings:
            ct.add_row(_mark(f.severity), f.drug or "-", escape(f.message))
        console.print(ct)
    gaps = [c for c in a.not_checked() if drug is None or c.drug == drug or c in a.current_checks]
    if gaps:
        gt = _table("Not checked (silence is not safety)", ("Drug", "Domain", "Why not"))
        for c in gaps:
            gt.add_row(c.drug, c.domain, escape(c.reason))
        console.print(gt)


def _print_top_plan(console: Console, options: list[OptionResult]) -> None:
    top = next((o for o in options if o.plan is not None), None)
    if top is None or top.plan is None:
        return
    plan = top.plan
    pt = _table(f"Plan: {top.display_name}", ("Day", "Date", "Dose", "Every (h)", "When", "Take"))
    for st in plan.steps:
        pt.add_row(*step_row(st, plan.unit))
    console.print(pt)
    for r in plan.reviews:
        console.print(f"Day {r.day} ({r.date}): {escape(r.text)}")
    for n in plan.notes:
        console.print(f"[dim]{escape(n)}[/dim]")


def render(
    console: Console, a: Assessment, *, drug: str | None = None, compact_sources: bool = False
) -> None:
    """Rich tables: ranked options, findings per option, current-medicine findings."""
    console.rule("[bold]neurodose assess[/bold]")
    _print_unchecked(console, a)
    _print_patient(console, a)
    console.print(
        "[italic]Decision support only; not a substitute for clinical judgement.[/italic]"
    )
    options = [o for o in a.options if drug is None or o.drug == drug]
    _print_options(console, options)
    _print_current_and_gaps(console, a, drug)
    _print_top_plan(console, options)
    console.print(f"[dim]Non-drug measures: {escape(a.non_drug['statement'])}[/dim]")
    print_sources(console, a.sources, compact=compact_sources)


def assess_command(
    patient: Annotated[Path, typer.Argument(help="patient profile JSON file")],
    json_out: Annotated[bool, typer.Option("--json", help="print the JSON contract")] = False,
    drug: Annotated[
        str | None, typer.Option("--drug", help="assess only this drug (any KB name)")
    ] = None,
    start_date: Annotated[
        str | None, typer.Option("--start-date", help="day 0 of the plans, YYYY-MM-DD")
    ] = None,
    patient_text: Annotated[
        bool, typer.Option("--patient-text", help="also print the plain-language plan")
    ] = False,
    fhir: Annotated[
        bool,
        typer.Option(
            "--fhir",
            help="print a FHIR R4 Bundle (DetectedIssue per finding, CarePlan of the top option)",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="refuse a patient with an unknown medicine or condition (default: assess "
            "and list it as unchecked)",
        ),
    ] = False,
) -> None:
    """Screen, rank and plan neuropathic-pain options for PATIENT (JSON profile or FHIR Bundle)."""
    from neurodose.workflows import AssessRequest, assess

    built = _read_patient(patient, strict=strict)
    d0 = parse_date(start_date)
    res = assess(AssessRequest(built.patient, d0, (drug,) if drug is not None else None))
    a = res.assessment
    if fhir:
        from neurodose.fhir.outbound import assessment_bundle

        print_json(assessment_bundle(a, patient_id=built.patient_id))
        return
    if json_out:
        data = res.to_json()
        if start_date is None:  # the service's assessment (same JSON) always has a date
            data["defaults_applied"] = _defaults(start_date, d0)
        if patient_text:
            data["patient_text"] = res.patient_text()
        print_json(data)
        return
    console = make_console()
    render(console, a, drug=res.drugs[0] if res.drugs else None)
    for line in _defaults(start_date, d0):
        console.print(f"assumed: {escape(line)}")
    if patient_text:
        text = res.patient_text()
        if text is not None:
            console.rule("For the patient")
            console.print(escape(text))


def _defaults(start_date: str | None, d0: dt.date) -> list[str]:
    """The defaults this run applied (shown in the text and the JSON)."""
    return [] if start_date is not None else [f"--start-date {d0.isoformat()} (default: today)"]


def _read_patient(path: Path, *, strict: bool = False) -> PatientResult:
    """A patient profile JSON, or a FHIR Bundle (translated by :mod:`neurodose.fhir.inbound`),
    built by :func:`neurodose.workflows.build_patient`."""
    from neurodose.errors import PatientError
    from neurodose.inputs import read_json
    from neurodose.workflows import PatientRequest, build_patient

    data = read_json(path, "patient file", PatientError)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        from neurodose.fhir.inbound import case_from_bundle

        case = case_from_bundle(data)
        for u in case.unrecognised:
            typer.echo(f"note: {u.where}: {u.text!r} {u.reason}", err=True)
        return build_patient(PatientRequest(case, strict=strict))
    return build_patient(PatientRequest(data, strict=strict))


def demo_section(console: Console) -> None:
    """Assessment and plan of the sample patient (called by ``neurodose demo``)."""
    console.rule("[bold]Sample patient: assessment and plan[/bold]")
    from neurodose.workflows import AssessRequest, PatientRequest, assess, build_patient

    patient = build_patient(PatientRequest(SAMPLE_PATIENT)).patient
    res = assess(AssessRequest(patient, dt.date(2026, 1, 5)))
    render(console, res.assessment, compact_sources=True)
    text = res.patient_text()
    if text is not None:
        console.rule("For the patient")
        console.print(escape(text))


def register(app: typer.Typer) -> None:
    """Add ``assess`` to the main app."""
    app.command("assess")(assess_command)


_ = DATA_DIR
