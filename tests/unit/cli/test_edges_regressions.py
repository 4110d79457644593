"""Regression file of issue 13 ("Trust at the edges"): one test per case in its "Why" list.

Each case was reproduced on main before it was fixed (a traceback, a silent
wrong answer, a folder created without asking, or a run that never ended).
Every bad input must now end with exit code 2 and one ``error:`` line naming
the field; every accepted input must say what it assumed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app

runner = CliRunner()

TINY_TRIAL = """
name = "tiny"
weeks = 2
condition = "diabetic_neuropathy"
n_per_arm = 8
seed = 1

[[arms]]
name = "placebo"
drug = "placebo"

[[arms]]
name = "duloxetine_60"
drug = "duloxetine"
regimen = [{ start_day = 1, dose_mg = 60, every_h = 24 }]
"""


def _err(args: list[str]) -> str:
    """Run ``args``; assert a clean input error (exit 2, one ``error:`` line); return it."""
    res = runner.invoke(app, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


@pytest.fixture
def tiny_trial(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY_TRIAL, encoding="utf-8")
    return p


# --- tracebacks -> one line, exit 2 ----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--plot"],
        ["explain", "--drug", "duloxetine", "--dose", "60 mg", "--days", "2", "--plot"],
        ["plan", "titrate", "--drug", "amitriptyline", "--ics"],
    ],
)
def test_output_into_missing_folder_is_an_error_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    target = tmp_path / "missing" / "sub" / ("x.ics" if "--ics" in args else "x.png")
    line = _err([*args, str(target)])
    assert ("--plot" in line or "--ics" in line) and "--mkdir" in line
    assert not (tmp_path / "missing").exists()  # nothing created silently


def test_output_folder_created_only_with_mkdir(tmp_path: Path) -> None:
    target = tmp_path / "new" / "plan.ics"
    res = runner.invoke(
        app, ["plan", "titrate", "--drug", "amitriptyline", "--ics", str(target), "--mkdir"]
    )
    assert res.exit_code == 0, res.stderr
    assert target.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--plot"],
        ["plan", "titrate", "--drug", "amitriptyline", "--ics"],
    ],
)
def test_output_onto_a_folder_is_an_error(tmp_path: Path, args: list[str]) -> None:
    folder = tmp_path / ("cal.ics" if "--ics" in args else "fig.png")
    folder.mkdir()
    line = _err([*args, str(folder)])
    assert "not a folder" in line


def test_assess_on_a_folder(tmp_path: Path) -> None:
    assert "not a folder" in _err(["assess", str(tmp_path)])


def test_assess_on_non_utf8_bytes(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_bytes(b'{"age": 60, "na\xffme": 1}')
    line = _err(["assess", str(p)])
    assert "UTF-8" in line and "0xff" in line


def test_trial_chunk_size_zero(tiny_trial: Path) -> None:
    line = _err(["trial", str(tiny_trial), "--chunk-size", "0"])
    assert "chunk-size" in line and ">= 1" in line


def test_trial_unreachable_scheduler_fails_fast(
    tiny_trial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("NEURODOSE_SCHEDULER_TIMEOUT", "2")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = _err(["trial", str(tiny_trial), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert "scheduler" in line and "reachable" in line


def test_trial_malformed_scheduler_address(tiny_trial: Path) -> None:
    assert "SCHEME://HOST:PORT" in _err(["trial", str(tiny_trial), "--scheduler", "nowhere"])


def test_trial_scheduler_that_is_not_dask(
    tiny_trial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that answers garbage (seen in the wild: 3 EiB allocation) is a clean error."""
    import socket
    import threading

    monkeypatch.setenv("NEURODOSE_SCHEDULER_TIMEOUT", "3")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"\xff" * 64 + b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.recv(1024)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        line = _err(["trial", str(tiny_trial), "--scheduler", f"tcp://127.0.0.1:{port}"])
    finally:
        srv.close()
        th.join(timeout=5)
    assert "scheduler" in line


def test_trial_plot_does_not_create_folders(tiny_trial: Path, tmp_path: Path) -> None:
    line = _err(["trial", str(tiny_trial), "--plot", str(tmp_path / "a" / "b" / "t.png")])
    assert "--mkdir" in line
    assert not (tmp_path / "a").exists()


# --- unbounded input ----------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_assess_dev_zero_is_refused_without_reading() -> None:
    assert "regular file" in _err(["assess", "/dev/zero"])


def test_input_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "big.json"
    p.write_text('{"age": 60}' + " " * 5000, encoding="utf-8")
    monkeypatch.setenv("NEURODOSE_MAX_INPUT_BYTES", "1000")
    line = _err(["assess", str(p)])
    assert "at most 1,000 bytes" in line and "NEURODOSE_MAX_INPUT_BYTES" in line
