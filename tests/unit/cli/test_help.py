"""``--help`` works for every command and sub-command of the CLI.

The commands are enumerated from the typer app (``neurodose.cli.main.COMMANDS`` loaded
through the group, and the sub-commands of every group found), never listed by hand, so
a new command is covered without editing this file. The help is rendered with rich (as a
terminal user sees it), which is where a stray ``[/...]`` in a help text breaks.
"""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import COMMANDS, app, load_command


def _paths() -> list[tuple[str, ...]]:
    """Every command path below ``neurodose``: each command, and each sub-command of a group."""
    out: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        out.append(path)
        if hasattr(cmd, "list_commands"):  # a group (typer vendors click: no isinstance)
            for name in cmd.list_commands(None):
                sub = cmd.get_command(None, name)
                assert sub is not None, (*path, name)
                walk(sub, (*path, name))

    for name in COMMANDS:
        walk(load_command(name), (name,))
    return out


PATHS = _paths()


def test_the_walk_finds_commands_and_sub_commands():
    assert len(PATHS) > len(COMMANDS)  # at least one group has sub-commands
    assert ("cds-serve",) in PATHS


@pytest.mark.parametrize("path", [(), *PATHS], ids=lambda p: " ".join(p) or "neurodose")
def test_help_renders(path):
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="neurodose", color=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
