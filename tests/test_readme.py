"""The README's first hour: it says how to get ``neurodose`` on the PATH before the first
bare command, and the quickstart output it shows is the script's real output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_path_is_explained_before_the_first_bare_command() -> None:
    first = re.search(r"(?m)^neurodose (?!is )[a-z-]+", README)  # a command line
    assert first is not None
    before = README[: first.start()]
    assert "source .venv/bin/activate" in before and ".venv/bin/neurodose" in before


def test_quickstart_output_is_the_real_output(tmp_path: Path) -> None:
    m = re.search(
        r"Real output of `python examples/quickstart.py`:\n\n```text\n(.*?)```", README, re.S
    )
    assert m is not None
    env = {**os.environ, "NEURODOSE_OUTPUT_DIR": str(tmp_path), "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert m.group(1) == out


def test_make_run_shows_progress_and_what_to_try_next() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
        assert f'@echo "==> {step}' in make, step
    assert "source $(VENV)/bin/activate" in make and "Then try:" in make
