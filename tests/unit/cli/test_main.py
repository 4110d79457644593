"""The command table of ``neurodose.cli.main``: explicit, complete, and lazy."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import typer

import neurodose.cli
from neurodose.cli.main import COMMANDS, load_command


def _registered() -> dict[str, str]:
    """Every command any ``neurodose.cli`` module registers -> its module."""
    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(neurodose.cli.__path__):
        module = importlib.import_module(f"neurodose.cli.{info.name}")
        if not hasattr(module, "register"):
            continue
        sub = typer.Typer()
        module.register(sub)
        group = typer.main.get_command(sub)
        names = list(getattr(group, "commands", None) or [group.name])
        out.update(dict.fromkeys(names, module.__name__))
    return out


def test_every_registered_command_is_listed_with_its_module():
    assert _registered() == {name: mod for name, (mod, _) in COMMANDS.items()}


def test_listed_help_is_the_commands_own_short_help():
    for name, (_, short) in COMMANDS.items():
        cmd = load_command(name)
        assert cmd.get_short_help_str(limit=1000) == short, name


def test_top_level_help_imports_no_command_module():
    code = (
        "import sys\n"
        "from neurodose.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('neurodose.cli.') "
        "and m not in ('neurodose.cli.main',))\n"
        "heavy = sorted(m for m in ('numba', 'scipy', 'matplotlib', 'pydantic') "
        "if m in sys.modules)\n"
        "print(loaded, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[] []"
