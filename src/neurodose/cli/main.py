"""The ``neurodose`` command line (typer + rich). Thin: translates I/O only.

Each command group lives in its own module ``neurodose.cli.<name>`` exposing
``register(app)``. :data:`COMMANDS` lists every command explicitly: its name, the
module that registers it and its one-line help. A module is imported only when its
command runs (or its own ``--help`` is asked for), so ``neurodose --help`` and a
command's start-up do not pay for the others' imports (numba, scipy, the knowledge
base). A listed module that is missing is an error, never skipped;
``tests/unit/cli/test_main.py`` checks that every listed command exists with the
listed help.

Errors: a :class:`~neurodose.errors.NeurodoseError` raised by any command is
printed as one line ``error: ...`` on stderr and the exit code is 2, both when
run as the ``neurodose`` script and under :class:`typer.testing.CliRunner`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from neurodose import __version__
from neurodose.errors import NeurodoseError, rename_refs

__all__ = ["COMMANDS", "EXIT_INPUT_ERROR", "app", "load_command", "main"]

#: exit code for bad input (a NeurodoseError); click uses 2 for usage errors too
EXIT_INPUT_ERROR = 2
#: exit code after Ctrl-C (128 + SIGINT, the shell convention)
EXIT_INTERRUPTED = 130


#: the flag of each input field a library error may point to (``errors.ref``): the
#: library speaks of fields, the command line of flags
FIELD_FLAGS: dict[str, str] = {
    "accept_levels": "--accept-levels",
    "crcl": "--crcl",
    "days": "--days",
    "doses": "--doses",
    "first_dose": "--first-dose",
    "force": "--force",
    "from_drug": "--from",
    "mkdir": "--mkdir",
    "regimen": "--regimen",
    "scr": "--scr",
}


def _echo_error(exc: NeurodoseError) -> None:
    typer.echo(f"error: {rename_refs(str(exc), FIELD_FLAGS)}", err=True)


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """click's UsageError as typer uses it (typer >= 0.20 vendors click as typer._click)."""
    found: list[type[BaseException]] = []
    for mod in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(mod).UsageError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


_USAGE_ERRORS = _usage_error_types()


#: every command: name -> (module defining ``register(app)``, one-line help), in help order
COMMANDS: dict[str, tuple[str, str]] = {
    "sources": (
        "neurodose.cli.drugs",
        "List every reference (CSL-JSON), or show one with the records that cite it.",
    ),
    "demo": (
        "neurodose.cli.demo",
        "A short tour: amitriptyline's targets, doses for pain vs depression, evidence.",
    ),
    "simulate": (
        "neurodose.cli.simulate",
        "Simulate concentrations (total and unbound) with sources.",
    ),
    "trial": (
        "neurodose.cli.trial",
        "Run a virtual trial from a TOML design (ITT, BOCF; NNT/NNH vs placebo).",
    ),
    "explain": (
        "neurodose.cli.explain",
        "Occupancy of each target, each pathway's share of relief, side-effect drivers.",
    ),
    "assess": (
        "neurodose.cli.assess",
        "Screen, rank and plan neuropathic-pain options for PATIENT (JSON profile or FHIR Bundle).",
    ),
    "tdm": (
        "neurodose.cli.tdm",
        "Fit individual PK parameters to measured levels (MAP), forecast, and recommend a dose "
        "and interval for the target range.",
    ),
    "response": (
        "neurodose.cli.tdm",
        "Learn the individual response from a pain diary and forecast the chance of >= 30 % "
        "relief by week 8 if the dose is kept, raised or the drug switched; flag rising side "
        "effects and withdrawal-like symptoms.",
    ),
    "cds-check": (
        "neurodose.cli.cds",
        "Test a CDS Hooks service as an EHR would: every service its discovery declares.",
    ),
    "cds-serve": (
        "neurodose.cli.cds",
        "Serve the CDS Hooks services alone (without the clinic).",
    ),
    "cds-keygen": (
        "neurodose.cli.cds",
        "Write a test EHR signing key and the clients file the server needs.",
    ),
    "drugs": (
        "neurodose.cli.drugs",
        "Browse drug records: targets, PK, doses, TDM, evidence, safety.",
    ),
    "plan": (
        "neurodose.cli.plan",
        "Dated titration, taper and switch plans (exportable as iCalendar).",
    ),
    "rules": ("neurodose.cli.rules", "The safety rule base."),
    "serve": (
        "neurodose.cli.serve",
        "Start the clinic web service (creates and migrates the database on first start).",
    ),
    "users": ("neurodose.cli.serve", "Clinic accounts (clinicians and admins)."),
    "db": (
        "neurodose.cli.db",
        "Database operations: upgrade, backup, restore, export, erase-patient.",
    ),
    "warmup": (
        "neurodose.cli.warmup",
        "Compile the PK engine's numba kernels into the on-disk cache.",
    ),
}

_LOADED: dict[str, Any] = {}


def load_command(name: str) -> Any:
    """The (typer) click command ``name`` of :data:`COMMANDS`, importing its module on first use."""
    if name not in _LOADED:
        module = importlib.import_module(COMMANDS[name][0])
        sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        module.register(sub)
        group = typer.main.get_command(sub)
        found = dict(getattr(group, "commands", None) or {group.name: group})
        for cmd_name, cmd in found.items():
            if cmd_name in COMMANDS and COMMANDS[cmd_name][0] == module.__name__:
                _LOADED[cmd_name] = cmd
        if name not in _LOADED:
            raise LookupError(f"{module.__name__}.register does not define command {name!r}")
    return _LOADED[name]


class _NeurodoseGroup(TyperGroup):
    """Top-level group: commands from :data:`COMMANDS`, imported when used; a
    NeurodoseError or a usage error (bad option value, unknown option) in any
    sub-command becomes one line ``error: ...`` and exit 2."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # the top-level help needs names and one-line helps only
            return TyperCommand(cmd_name, short_help=COMMANDS[cmd_name][1])
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NeurodoseError as exc:
            _echo_error(exc)
            raise typer.Exit(EXIT_INPUT_ERROR) from exc
        except KeyboardInterrupt:
            typer.echo("error: interrupted (Ctrl-C); no output file was written", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except _USAGE_ERRORS as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group called bare: its help
                raise
            sub = getattr(exc, "ctx", None)
            path = sub.command_path if sub is not None else "neurodose"
            message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
            typer.echo(f"error: {message} (see '{path} --help')", err=True)
            raise typer.Exit(EXIT_INPUT_ERROR) from exc


app = typer.Typer(
    name="neurodose",
    cls=_NeurodoseGroup,
    help="Cited pharmacology and decision support for antidepressants and "
    "alternatives in neuropathic pain. Decision support, never a substitute "
    "for clinical judgement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurodose {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Cited pharmacology and decision support for antidepressants and alternatives
    in neuropathic pain. Decision support, never a substitute for clinical judgement."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``neurodose`` script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    A NeurodoseError that escapes the group (e.g. raised while parsing an
    option) is also printed as one line and exits with code 2.
    """
    try:
        app(args=argv, prog_name="neurodose")
    except NeurodoseError as exc:
        _echo_error(exc)
        sys.exit(EXIT_INPUT_ERROR)


if __name__ == "__main__":
    main()
