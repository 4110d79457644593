"""Every top-level example script (examples/*.py) runs cleanly.

Scripts run in a subprocess with warnings as errors, from a temporary folder,
with ``NEURODOSE_OUTPUT_DIR`` pointing there: an example that writes files
must honour it so the tests never touch tracked files. A script that takes
longer than a minute or two belongs in benchmarks/, not examples/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/ holds no scripts"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEURODOSE_OUTPUT_DIR": str(tmp_path),
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
    }
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"


def test_affinity_figure_is_written_where_asked(tmp_path: Path) -> None:
    script = ROOT / "examples" / "plot_affinities.py"
    env = {**os.environ, "NEURODOSE_OUTPUT_DIR": str(tmp_path), "MPLBACKEND": "Agg"}
    subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    png = tmp_path / "readme_affinities.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
