"""The ``neurodose`` command line (typer + rich). Thin: translates I/O only.

Each command group lives in its own module ``neurodose.cli.<name>`` exposing
``register(app)``; they are listed in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import sys

import typer

from neurodose.errors import NeurodoseError

app = typer.Typer(
    name="neurodose",
    help="Cited pharmacology and decision support for antidepressants and "
    "alternatives in neuropathic pain. Decision support, never a substitute "
    "for clinical judgement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: command modules; each defines ``register(app: typer.Typer) -> None``
COMMAND_MODULES = [
    "neurodose.cli.drugs",
    "neurodose.cli.demo",
    "neurodose.cli.simulate",
    "neurodose.cli.trial",
    "neurodose.cli.explain",
    "neurodose.cli.assess",
    "neurodose.cli.plan",
    "neurodose.cli.tdm",
]

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command group not written yet
        if _exc.name != _name:
            raise
        continue
    _mod.register(app)


def main() -> None:
    """Entry point: run the app; a NeurodoseError prints one line and exits 2."""
    try:
        app(standalone_mode=False)
    except NeurodoseError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        if code is None:
            code = getattr(exc, "code", 0)
        sys.exit(code or 0)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
