"""``neurodose rules``: the safety rule base (coverage matrix). Thin: I/O only.

``neurodose rules matrix`` prints the coverage matrix (risk factor x option drug,
each cell a tier + rule ids or a cited not-applicable reason) as Markdown, the
same text as ``docs/safety_matrix.md``; ``--json`` prints it as JSON. The exit
code is 1 when any cell is empty (a gap in the rule base).
"""

from __future__ import annotations

import json

import typer

__all__ = ["register", "rules_app"]

rules_app = typer.Typer(help="The safety rule base.", no_args_is_help=True)


@rules_app.command("matrix")
def matrix(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of Markdown."),
) -> None:
    """Coverage matrix: every risk factor against every option drug (tier + rule, or n/a)."""
    from neurodose.safety.matrix import build_matrix, render_matrix_markdown

    m = build_matrix()
    if as_json:
        typer.echo(json.dumps(m.to_dict(), indent=2))
    else:
        typer.echo(render_matrix_markdown(m))
    if m.empty():
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``rules`` command group to the main app."""
    app.add_typer(rules_app, name="rules")
