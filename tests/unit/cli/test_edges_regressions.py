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


# --- silent nonsense -> clear error or explained result -------------------------------------


def _json(args: list[str]) -> dict:
    import json

    res = runner.invoke(app, args)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    return json.loads(res.stdout)


def test_implausible_dose_refused_with_the_cited_maximum() -> None:
    from neurodose.knowledge.limits import max_daily_dose

    line = _err(["simulate", "--drug", "amitriptyline", "--dose", "25000 mg"])
    lim = max_daily_dose("amitriptyline")
    assert lim is not None
    assert "--dose" in line and "25000" in line and f"{lim.mg:g} mg/day" in line
    assert lim.source in line and "--allow-above-max" in line


def test_above_max_accepted_only_with_a_loud_warning_in_text_and_json() -> None:
    args = ["simulate", "--drug", "duloxetine", "--dose", "240 mg", "--allow-above-max"]
    data = _json([*args, "--json"])
    assert data["warnings"] and data["warnings"][0].startswith("ABOVE MAXIMUM")
    res = runner.invoke(app, args)
    assert res.exit_code == 0
    assert "WARNING: ABOVE MAXIMUM" in res.stdout


def test_taper_from_implausible_dose_refused() -> None:
    line = _err(["plan", "taper", "--drug", "amitriptyline", "--current-dose", "6000"])
    assert "--current-dose" in line and "6000" in line


def test_duloxetine_taper_from_7_mg_is_not_a_silent_stop() -> None:
    line = _err(["plan", "taper", "--drug", "duloxetine", "--current-dose", "7"])
    assert "current_dose" in line and "20 mg" in line  # the lowest capsule


def test_taper_from_the_lowest_dose_says_why_it_stops() -> None:
    data = _json(["plan", "taper", "--drug", "duloxetine", "--current-dose", "20", "--json"])
    assert [s["daily_mg"] for s in data["steps"]] == [0.0]
    assert any("already the lowest practical dose" in n for n in data["notes"])


@pytest.mark.parametrize("flag,value", [("--dose", "25"), ("--every", "24")])
def test_unitless_dose_or_interval_refused(flag: str, value: str) -> None:
    args = ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", flag, value]
    line = _err(args)
    assert flag in line and "unit" in line


def test_comedication_without_dose_says_what_is_assumed() -> None:
    data = _json(
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--with", "fluoxetine", "--json"]
    )
    assert any(n.startswith("fluoxetine: no dose given") for n in data["notes"])
    assert any("--every 24 h (default)" in d for d in data["defaults_applied"])
    assert any(d.startswith("doses: 1") for d in data["defaults_applied"])


def test_comedication_unitless_dose_refused() -> None:
    line = _err(
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--with", "fluoxetine:20"]
    )
    assert "--with" in line and "unit" in line


def test_readme_tdm_example_is_consistent() -> None:
    """README: 28 days of 50 mg; the levels sit inside that history."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert '--levels examples/tdm/levels.csv --dose "50 mg" --days 28' in readme
    levels = str(Path(__file__).resolve().parents[3] / "examples" / "tdm" / "levels.csv")
    base = ["tdm", "--drug", "amitriptyline", "--levels", levels, "--dose", "50 mg"]
    base += ["--target", "50-150"]  # a pain dose: no KB target (issue 14)
    data = _json([*base, "--days", "28", "--json"])
    assert data["consistency"]["consistent"] is True
    assert data["recommendation"] is not None
    # the old example (a week after the history ends) is refused, naming the gap
    line = _err([*base, "--days", "21"])
    assert "levels" in line and "after the last recorded dose" in line


def test_level_far_after_history_refused_and_accepted_only_loudly(tmp_path: Path) -> None:
    p = tmp_path / "late.csv"
    p.write_text("time_h,analyte,value,unit\n5000,amitriptyline,20,ng/mL\n", encoding="utf-8")
    base = ["tdm", "--drug", "amitriptyline", "--levels", str(p), "--dose", "50 mg"]
    base += ["--target", "50-150"]
    assert "5000" in _err([*base, "--days", "28"])
    data = _json([*base, "--days", "28", "--accept-levels", "--json"])
    assert data["consistency"]["accepted"] is True and data["consistency"]["warnings"]


def test_levels_contradicting_history_withhold_the_recommendation(tmp_path: Path) -> None:
    p = tmp_path / "hi.csv"
    p.write_text("time_h,analyte,value,unit\n647,amitriptyline,1400,ng/mL\n", encoding="utf-8")
    args = ["tdm", "--drug", "amitriptyline", "--levels", str(p), "--dose", "50 mg"]
    args += ["--target", "50-150"]
    data = _json([*args, "--days", "28", "--json"])
    assert data["recommendation"] is None
    assert data["consistency"]["consistent"] is False
    assert any("order of magnitude" in w for w in data["consistency"]["warnings"])


def test_response_first_dose_after_the_diary_refused() -> None:
    diary = str(Path(__file__).resolve().parents[3] / "examples" / "tdm" / "diary.csv")
    args = ["response", "--drug", "amitriptyline", "--diary", diary, "--dose", "25 mg"]
    line = _err([*args, "--days", "42", "--first-dose", "2026-06-01"])
    assert "first_dose" in line and "last diary entry" in line


def test_assess_non_pain_drug_refused() -> None:
    sample = str(Path(__file__).resolve().parents[3] / "examples" / "patients" / "sample.json")
    line = _err(["assess", sample, "--drug", "omeprazole"])
    assert "omeprazole" in line and "neuropathic-pain option" in line


@pytest.mark.parametrize("command", ["simulate", "explain"])
def test_drug_in_kb_without_pk_model_says_so(command: str) -> None:
    line = _err([command, "--drug", "lidocaine", "--dose", "25 mg"])
    assert "no PK model" in line and "unknown drug" not in line


def test_population_is_bounded_and_shown_in_text() -> None:
    line = _err(
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--population", "2000000"]
    )
    assert "--population" in line
    res = runner.invoke(
        app,
        [
            "simulate",
            "--drug",
            "amitriptyline",
            "--dose",
            "25 mg",
            "--days",
            "3",
            "--population",
            "20",
            "--seed",
            "1",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert "Population: 20 virtual subjects" in res.stdout and "p95" in res.stdout


def test_tmax_is_time_after_dose() -> None:
    data = _json(
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--days", "14", "--json"]
    )
    for s in data["summary"].values():
        assert 0 <= s["tmax_after_dose_h"] < 24 <= s["tmax_h"]


def test_response_parameters_have_units() -> None:
    diary = str(Path(__file__).resolve().parents[3] / "examples" / "tdm" / "diary.csv")
    res = runner.invoke(
        app,
        [
            "response",
            "--drug",
            "amitriptyline",
            "--diary",
            diary,
            "--dose",
            "25 mg",
            "--days",
            "42",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert "baseline_pain:" in res.stdout and "(0-10 scale)" in res.stdout


def test_html_plot_works_offline(tmp_path: Path) -> None:
    out = tmp_path / "c.html"
    res = runner.invoke(
        app, ["simulate", "--drug", "duloxetine", "--dose", "60 mg", "--plot", str(out)]
    )
    assert res.exit_code == 0, res.stderr
    html = out.read_text(encoding="utf-8")
    assert '<script src="https://cdn' not in html and "plotly" in html and len(html) > 1_000_000


def test_simulate_csv(tmp_path: Path) -> None:
    import csv

    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["simulate", "--drug", "duloxetine", "--dose", "60 mg", "--days", "2", "--csv", str(out)],
    )
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert rows and "duloxetine_ng_per_ml" in rows[0] and float(rows[0]["time_h"]) == 0.0


# --- display and exports --------------------------------------------------------------------

TWO_AMI = """
name = "two_ami"
weeks = 4
condition = "postherpetic_neuralgia"
n_per_arm = 60
seed = 3

[[arms]]
name = "placebo"
drug = "placebo"

[[arms]]
name = "amitriptyline_25"
drug = "amitriptyline"
regimen = [
  { start_day = 1, dose_mg = 10, every_h = 24 },
  { start_day = 8, dose_mg = 25, every_h = 24 },
]

[[arms]]
name = "amitriptyline_75"
drug = "amitriptyline"
regimen = [
  { start_day = 1, dose_mg = 25, every_h = 24 },
  { start_day = 8, dose_mg = 75, every_h = 24 },
]
"""


def test_trial_table_fits_80_columns_and_tells_arms_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "two.toml"
    p.write_text(TWO_AMI, encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app, ["trial", str(p)])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    table_lines = [ln for ln in lines if ln[:1] in "┏┃┡│└"]
    assert table_lines and max(len(ln) for ln in table_lines) <= 80
    assert "B = amitriptyline_25: amitriptyline 10 -> 25 mg/day" in res.stdout
    assert "C = amitriptyline_75: amitriptyline 25 -> 75 mg/day" in res.stdout
    assert "NNTB" in res.stdout or "NNTH" in res.stdout or "no difference" in res.stdout
    assert not any(
        ch.isdigit() and "-" + ch in ln for ln in lines if "NNT" in ln for ch in "123456789"
    )


def test_nn_wording_never_prints_negative_numbers() -> None:
    from neurodose.cli.trial import nn_text

    assert nn_text(-40.0, [-80.0, -20.0], benefit_outcome=True) == "NNTH 40 (20 to 80)"
    assert nn_text(10.5, [6.7, 24.7], benefit_outcome=False) == "NNTH 10.5 (6.7 to 24.7)"
    assert nn_text(-50.0, [None, -15.5], benefit_outcome=False) == "NNTB 50 (15.5 to ∞)"


def test_trial_csv_and_per_subject(tmp_path: Path) -> None:
    import csv

    p = tmp_path / "two.toml"
    p.write_text(TWO_AMI, encoding="utf-8")
    arms_csv, subj_csv = tmp_path / "arms.csv", tmp_path / "subjects.csv"
    res = runner.invoke(
        app, ["trial", str(p), "--csv", str(arms_csv), "--per-subject", str(subj_csv)]
    )
    assert res.exit_code == 0, res.stderr
    arms = list(csv.DictReader(arms_csv.read_text(encoding="utf-8").splitlines()))
    assert [a["arm"] for a in arms] == ["placebo", "amitriptyline_25", "amitriptyline_75"]
    subj = list(csv.DictReader(subj_csv.read_text(encoding="utf-8").splitlines()))
    assert len(subj) == 3 * 60
    for arm in arms:  # the per-subject rows add up to the arm summary
        rows = [s for s in subj if s["arm"] == arm["arm"]]
        r30 = sum(int(s["responder_30"]) for s in rows) / len(rows)
        assert abs(r30 - float(arm["responders_30"])) < 1e-4  # summaries keep 4 decimals


def test_tdm_csv(tmp_path: Path) -> None:
    import csv

    levels = str(Path(__file__).resolve().parents[3] / "examples" / "tdm" / "levels.csv")
    out = tmp_path / "tdm.csv"
    res = runner.invoke(
        app,
        ["tdm", "--drug", "amitriptyline", "--levels", levels, "--dose", "50 mg", "--days", "28",
         "--uncertainty", "laplace", "--target", "50-150", "--csv", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"forecast", "level"}
    assert len([r for r in rows if r["kind"] == "level"]) == 4


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    """SIGINT during a long trial: exit 130, one line, no traceback, no half-written plot."""
    import signal
    import subprocess
    import sys
    import time

    big = TINY_TRIAL.replace("n_per_arm = 8", "n_per_arm = 100000").replace(
        "weeks = 2", "weeks = 12"
    )
    design = tmp_path / "big.toml"
    design.write_text(big, encoding="utf-8")
    plot = tmp_path / "big.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurodose", "trial", str(design), "--plot", str(plot)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(6)
    assert proc.poll() is None, "the trial ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == ["error: interrupted (Ctrl-C); no output file was written"], err[-2000:]
    assert not plot.exists()


@pytest.mark.parametrize(
    "extra,field",
    [
        (["--max-daily", "1e9"], "--max-daily"),
        (["--intervals", "1e9"], "--intervals"),
        (["--target", "0-1e12"], "--target"),
    ],
)
def test_tdm_implausible_options_refused(extra: list[str], field: str) -> None:
    levels = str(Path(__file__).resolve().parents[3] / "examples" / "tdm" / "levels.csv")
    args = ["tdm", "--drug", "amitriptyline", "--levels", levels, "--dose", "50 mg"]
    line = _err([*args, "--days", "28", *extra])
    assert line.startswith(f"error: {field}:")


def test_assess_shows_the_default_start_date() -> None:
    sample = str(Path(__file__).resolve().parents[3] / "examples" / "patients" / "minimal.json")
    data = _json(["assess", sample, "--json"])
    assert any(d.startswith("--start-date") for d in data["defaults_applied"])


def test_comedication_dose_above_its_maximum_refused() -> None:
    line = _err(
        ["simulate", "--drug", "amitriptyline", "--dose", "25 mg", "--with", "duloxetine:6000 mg"]
    )
    assert line.startswith("error: --with:") and "6000" in line
