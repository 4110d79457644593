"""No error raised below the CLI names a command-line flag: the library names fields
by their path (``errors.ref``), the CLI maps them to flags and the API to JSON pointers.

The scan reads every module of ``src/neurodose`` outside ``cli/`` and looks at the
string constants (f-string parts included) inside ``raise`` statements and inside calls
of ``...Error(...)`` constructors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import neurodose
from neurodose.errors import InputError, json_pointer, ref, rename_refs

ROOT = Path(neurodose.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

#: (module, flag) left as they are, with the reason
KNOWN = {
    # knowledge/ is being changed by another engineer (issue 19, step 4): to move
    # to ref('allow_above_max') when that work lands
    ("knowledge/limits.py", "--allow-above-max"),
}


def _error_strings(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []

    def strings(node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                out.append((sub.lineno, sub.value))

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            strings(node.exc)
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name.endswith("Error"):
                strings(node)
    return out


def _flags_in_errors() -> set[tuple[str, int, str]]:
    found = set()
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("cli/", "testing/")):
            continue
        for line, text in _error_strings(ast.parse(path.read_text(encoding="utf-8"))):
            for flag in FLAG.findall(text):
                found.add((rel, line, flag))
    return found


def test_no_error_below_the_cli_names_a_flag():
    found = {(rel, line, flag) for rel, line, flag in _flags_in_errors()}
    unknown = sorted(f for f in found if (f[0], f[2]) not in KNOWN)
    assert not unknown, unknown


def test_the_scan_finds_a_flag_in_an_error():
    tree = ast.parse('raise InputError("x", 1, f"pass --mkdir or {y}")')
    assert {f for _, t in _error_strings(tree) for f in FLAG.findall(t)} == {"--mkdir"}


def test_every_ref_in_an_error_the_cli_can_show_has_a_flag():
    """Each field a library error points to has a flag in the CLI's table."""
    from neurodose.cli.main import FIELD_FLAGS

    refs = set()
    pat = re.compile(r"ref\('([a-z_]+)'\)|ref\(\"([a-z_]+)\"\)")
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).parts[0] in ("cli", "service", "fhir"):
            continue
        for a, b in pat.findall(path.read_text(encoding="utf-8")):
            refs.add(a or b)
    assert refs and refs <= set(FIELD_FLAGS), refs - set(FIELD_FLAGS)


def test_doors_map_a_field_to_their_terms():
    exc = InputError("levels", "x", f"samples after the first dose, or {ref('accept_levels')}")
    assert rename_refs(str(exc), {"accept_levels": "--accept-levels"}).endswith(
        "or --accept-levels"
    )
    assert json_pointer("regimen.dose") == "/regimen/dose"


def test_the_cli_prints_the_flag(tmp_path, capsys):
    import pytest

    from neurodose.cli.main import main

    with pytest.raises(SystemExit):
        main(["cds-keygen", str(tmp_path / "missing" / "deeper")])
    err = capsys.readouterr().err
    assert "pass --mkdir" in err and "`mkdir`" not in err
