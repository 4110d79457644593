"""Architecture: `import neurodose` is light, and the import layers hold.

The layer contract lives in pyproject.toml ([tool.importlinter]). Besides
running it, we check that it *can* fail: a scratch copy of the package with an
upward import (errors -> cli) must break the contract.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "neurodose"

#: packages that `import neurodose` must not pull in (web, plotting, JIT, parallel, scipy)
HEAVY = ["fastapi", "starlette", "matplotlib", "plotly", "numba", "dask", "distributed", "scipy"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import neurodose",
        "import neurodose; neurodose.get_drug('amitriptyline')",
        "import neurodose.knowledge, neurodose.units, neurodose.citations, neurodose.errors",
    ],
)
def test_import_is_light(code: str) -> None:
    loaded = _modules_after(code)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"{code!r} imported {heavy}"


def test_import_neurodose_defers_the_knowledge_base() -> None:
    loaded = _modules_after("import neurodose")
    assert "pydantic" not in loaded and "neurodose.knowledge" not in loaded


def test_cli_startup_avoids_plotting_and_web() -> None:
    loaded = _modules_after("import neurodose.cli.main")
    heavy = sorted(
        {m.split(".")[0] for m in loaded} & {"fastapi", "starlette", "matplotlib", "plotly"}
    )
    assert heavy == []


def _lint_imports(
    config: Path, cwd: Path, extra_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), "import-linter is not installed in this environment"
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [str(exe), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_layer_contract_lists_the_documented_layers() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = cfg["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    flat = [p.strip().strip("()") for layer in layers for p in layer.split("|")]
    assert flat[0] == "neurodose.cli"
    assert flat[-1] == "neurodose.errors"
    for pkg in ("advice", "safety", "mipd", "trial", "pd", "pk", "case", "knowledge"):
        assert f"neurodose.{pkg}" in flat


def test_layers_hold() -> None:
    proc = _lint_imports(ROOT / "pyproject.toml", ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_layer_check_fails_on_an_upward_import(tmp_path: Path) -> None:
    copy = tmp_path / "src" / "neurodose"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    errors_py = copy / "errors.py"
    errors_py.write_text(
        errors_py.read_text(encoding="utf-8") + "\n\nimport neurodose.cli.main  # noqa: E402\n",
        encoding="utf-8",
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    proc = _lint_imports(tmp_path / "pyproject.toml", tmp_path, extra_path=tmp_path / "src")
    assert proc.returncode != 0, proc.stdout
    assert "neurodose.errors is not allowed to import neurodose.cli" in proc.stdout


def _public_symbols() -> list[tuple[str, str, object]]:
    import importlib
    import pkgutil

    import neurodose

    out: list[tuple[str, str, object]] = [("neurodose", "", neurodose)]
    for info in pkgutil.walk_packages(neurodose.__path__, "neurodose."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        out.append((info.name, "", module))
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if getattr(obj, "__module__", None) == info.name and callable(obj):
                out.append((info.name, name, obj))
    return out


def test_public_api_is_documented() -> None:
    """Every module, and every function or class a module exports in __all__, has a docstring."""
    missing = [
        f"{mod}.{name}" if name else f"{mod} (module)"
        for mod, name, obj in _public_symbols()
        if not (obj.__doc__ or "").strip()
    ]
    assert missing == [], "public symbols without a docstring: " + ", ".join(missing)


def _private_cross_module_imports() -> list[str]:
    """``from neurodose.x import _name`` (or a ``_module``) in another module of src."""
    import ast

    hits = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if not node.module.startswith("neurodose") or node.module == mod:
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            private += [p for p in node.module.split(".") if p.startswith("_")]
            hits += [f"{mod}: from {node.module} import {n}" for n in private]
    return [h for h in hits if "__" not in h.split("import ")[-1]]


def test_no_private_imports_across_modules() -> None:
    assert _private_cross_module_imports() == []


#: deprecated import paths (docs/architecture.md): gone, and they stay banned
DEPRECATED = ("neurodose.dosing", "neurodose.pk.patient", "neurodose.safety.patient")


def _deprecated_imports(path: Path, source: str) -> list[str]:
    """Imports of a deprecated alias module (or a name from it) in ``source``."""
    import ast

    def deprecated(name: str) -> bool:
        return any(name == d or name.startswith(d + ".") for d in DEPRECATED)

    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            hits += [f"{path}: import {a.name}" for a in node.names if deprecated(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if deprecated(node.module):
                hits.append(f"{path}: from {node.module} import ...")
            hits += [
                f"{path}: from {node.module} import {a.name}"
                for a in node.names
                if deprecated(f"{node.module}.{a.name}")
            ]
    return hits


def test_no_deprecated_alias_is_imported_inside_the_package() -> None:
    aliases = {SRC / "dosing", SRC / "pk" / "patient.py"}
    hits = []
    for path in sorted(SRC.rglob("*.py")):
        if any(path == a or a in path.parents for a in aliases):
            continue
        hits += _deprecated_imports(path.relative_to(SRC), path.read_text(encoding="utf-8"))
    assert hits == [], "import neurodose.case instead: " + "; ".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        "from neurodose.dosing import Regimen",
        "from neurodose.dosing.regimen import Regimen",
        "import neurodose.pk.patient",
        "from neurodose.pk import patient",
        "from neurodose import dosing",
        "from neurodose.safety.patient import load_patient",
    ],
)
def test_the_deprecated_import_check_can_fail(line: str) -> None:
    assert _deprecated_imports(Path("x.py"), line) != []
    assert _deprecated_imports(Path("x.py"), "from neurodose.case import Regimen") == []
