"""The ``neurodose`` command line (typer + rich). Thin: translates I/O only.

Each command group lives in its own module ``neurodose.cli.<name>`` exposing
``register(app)``; they are listed in :data:`COMMAND_MODULES`. A module that is
not written yet is skipped; a module that fails to import for any other reason
is an error.

Errors: a :class:`~neurodose.errors.NeurodoseError` raised by any command is
printed as one line ``error: ...`` on stderr and the exit code is 2, both when
run as the ``neurodose`` script and under :class:`typer.testing.CliRunner`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from neurodose import __version__
from neurodose.errors import NeurodoseError

__all__ = ["COMMAND_MODULES", "EXIT_INPUT_ERROR", "app", "main"]

#: exit code for bad input (a NeurodoseError); click uses 2 for usage errors too
EXIT_INPUT_ERROR = 2


def _echo_error(exc: NeurodoseError) -> None:
    typer.echo(f"error: {exc}", err=True)


class _NeurodoseGroup(TyperGroup):
    """Top-level group: turns a NeurodoseError in any sub-command into one line + exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NeurodoseError as exc:
            _echo_error(exc)
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


#: command modules; each defines ``register(app: typer.Typer) -> None``
COMMAND_MODULES = [
    "neurodose.cli.drugs",
    "neurodose.cli.demo",
    "neurodose.cli.simulate",
    "neurodose.cli.trial",
    "neurodose.cli.explain",
    "neurodose.cli.assess",
    "neurodose.cli.plan",
    "neurodose.cli.rules",
    "neurodose.cli.tdm",
    "neurodose.cli.response",
    "neurodose.cli.cds",
]

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command group not written yet
        if _exc.name != _name:
            raise
        continue
    _mod.register(app)


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
