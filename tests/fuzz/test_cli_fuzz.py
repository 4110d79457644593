"""Property-based fuzzing of every command (issue 13): never a traceback, never silent nonsense.

Hypothesis draws arguments and input files for each command from pools that mix
good values with malformed, extreme, non-UTF-8, huge, folder, missing-parent,
NaN/inf, unit-less and unknown ones. Each case runs in-process (typer's
``CliRunner``) in a fresh folder, and must end in one of two ways:

- exit 2 with exactly one ``error:`` line on stderr that names the field, or
- exit 0 with a result that passes its invariants (JSON parses without NaN,
  concentrations finite and >= 0, a dose above the knowledge base's maximum
  never accepted without ``--allow-above-max`` and then only with a warning,
  unit-less doses never accepted, taper steps never increasing ...).

Never a traceback, and never a file outside the requested output paths (the
folder is compared before and after; folders appear only with ``--mkdir``).

``NEURODOSE_FUZZ_REPORT=path.json`` writes the counts (cases run, errors,
accepted) per command; ``NEURODOSE_FUZZ_EXAMPLES`` scales the number of cases.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurodose.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCALE = float(os.environ.get("NEURODOSE_FUZZ_EXAMPLES", "1"))
#: input-size limit during the fuzz run, so that "huge" files stay cheap to write
LIMIT = 100_000

COUNTS: dict[str, Counter[str]] = defaultdict(Counter)


def _report() -> None:  # pragma: no cover - only with NEURODOSE_FUZZ_REPORT
    path = os.environ.get("NEURODOSE_FUZZ_REPORT")
    if path and COUNTS:
        total = Counter[str]()
        for c in COUNTS.values():
            total.update(c)
        data = {"total": dict(total), "by_command": {k: dict(v) for k, v in COUNTS.items()}}
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")


atexit.register(_report)


def _settings(n: int) -> Any:
    return settings(
        max_examples=max(1, round(n * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=os.environ.get("NEURODOSE_FUZZ_RANDOM") is None,
    )


# --- running one case -------------------------------------------------------------------


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="ndfuzz") as d:
        os.chdir(d)
        try:
            yield Path(d)
        finally:
            os.chdir(old)


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _no_nan(text: str) -> Any:
    def bad(const: str) -> Any:
        raise AssertionError(f"non-finite number {const} in JSON")

    return json.loads(text, parse_constant=bad)


FIELD_LINE = re.compile(
    r"^error: (unknown [\w ]+ '|[^:]{1,200}: |Invalid value for |No such |Missing |Got unexpected)"
)


def run_case(command: str, args: list[str], work: Path, outputs: Sequence[Path] = ()) -> Any:
    """Run one case and check the universal invariants; return the result (exit 0 or 2)."""
    before = _tree(work)
    outside = Path("/nonexistent_ndfuzz")
    res = runner.invoke(app, args, env={"NEURODOSE_MAX_INPUT_BYTES": str(LIMIT), "COLUMNS": "100"})
    COUNTS[command]["run"] += 1
    text = res.stdout + res.stderr
    assert not (res.exception is not None and not isinstance(res.exception, SystemExit)), (
        args,
        repr(res.exception),
    )
    assert "Traceback" not in text, (args, text[-2000:])
    assert res.exit_code in (0, 2), (args, res.exit_code, text[-2000:])
    assert not outside.exists(), args
    new = _tree(work) - before
    allowed = set()
    for o in outputs:
        p = (work / o).resolve() if not o.is_absolute() else o
        allowed.add(p)
        if "--mkdir" in args:
            allowed.update(q for q in p.parents if str(q).startswith(str(work)))
    stray = {p for p in new if p.resolve() not in allowed}
    assert not stray, (args, sorted(map(str, stray)))
    if res.exit_code == 2:
        COUNTS[command]["errors"] += 1
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, (args, res.stderr)
        assert FIELD_LINE.match(lines[0]), (args, lines[0])
        if os.environ.get("NEURODOSE_FUZZ_LOG"):
            with open(os.environ["NEURODOSE_FUZZ_LOG"], "a", encoding="utf-8") as fh:
                fh.write(f"{command}\t{lines[0][:150]}\n")
        for o in outputs:  # a refused command writes nothing
            assert not (work / o).exists() or (work / o) in before, (args, o)
    else:
        COUNTS[command]["accepted"] += 1
        if "--json" in args:
            _no_nan(res.stdout)
    return res


# --- value pools: good and bad mixed -------------------------------------------------------


def _mix(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """A bad value one time in eight, so that most cases get past parsing to the engines.

    (Hypothesis favours small integers, so the bad branch is the largest one.)
    """
    return st.integers(0, 7).flatmap(lambda i: st.sampled_from(bad if i == 7 else good))


PK_DRUGS = [
    "amitriptyline",
    "nortriptyline",
    "duloxetine",
    "venlafaxine",
    "pregabalin",
    "gabapentin",
]
DRUG = _mix(
    [*PK_DRUGS, "AMITRIPTYLINE"], ["lidocaine", "omeprazole", "amitriptylin", "", "x" * 300, "é☃"]
)
DOSE = _mix(
    ["25 mg", "60 mg", "0.05 g", "150 mg", " 10 mg ", "300 mg", "1000 mg"],
    [
        "25",
        "",
        "-5 mg",
        "0 mg",
        "nan mg",
        "inf mg",
        "1e309 mg",
        "25 kg",
        "25 mgg",
        "25000 mg",
        "1e-9 mg",
        "💊",
        "10 mg 5",
    ],
)
EVERY = _mix(["24 h", "12 h", "1 d", "8 h"], ["0 h", "-1 h", "24", "nan h", "1e9 h", "x"])
DAYS = _mix(["1", "3", "14", "0.5"], ["0", "-3", "nan", "inf", "1e9", "x", "3653"])
DOSES = _mix(["1", "3"], ["0", "-1", "1.5", "99999999", "x"])
AGE = _mix(["70", "35", "88"], ["0", "-1", "200", "nan", "inf", "x"])
WEIGHT = _mix(["70", "50"], ["0", "-5", "1e6", "nan", "x"])
CRCL = _mix(["90", "25"], ["0", "-1", "1e9", "nan"])
SEX = _mix(["male", "female"], ["x", ""])
CYP2D6 = _mix(["*1/*1", "*4/*4", "PM", "UM"], ["*99/*1", "2.5", "nan", ""])
WITH = _mix(
    ["paroxetine:20 mg", "fluoxetine", "fluvoxamine:50 mg:12 h", "rifampicin:600 mg"],
    ["fluoxetine:20", "notadrug:1 mg", ":::", "paroxetine:-1 mg", "paroxetine:20 mg:0 h"],
)
POPULATION = _mix(["5", "20"], ["0", "-1", "2000000", "x"])
HOURS = _mix(["48", "200"], ["0", "-1", "nan", "1e12", "x"])
SEED = _mix(["1", "7"], ["-1", "x"])
DATE = _mix(["2026-01-05"], ["2026-02-30", "yesterday", "", "9999-12-31"])


def _opt(flag: str, strat: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), strat.map(lambda v: [flag, v]))


def _flag(flag: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [flag]])


def _concat(*parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*parts).map(lambda xs: [a for x in xs for a in x])


OUTPUT_KINDS = [
    "ok",
    "ok",
    "ok",
    "missing_parent",
    "folder",
    "wrong_suffix",
    "outside",
    "deep_missing",
]


def _output(work: Path, kind: str, suffix: str) -> Path:
    if kind == "ok":
        return work / f"out{suffix}"
    if kind == "missing_parent":
        return work / "new" / f"out{suffix}"
    if kind == "deep_missing":
        return work / "a" / "b" / f"out{suffix}"
    if kind == "folder":
        p = work / f"dir{suffix}"
        p.mkdir(exist_ok=True)
        return p
    if kind == "wrong_suffix":
        return work / "out.txt"
    return Path("/nonexistent_ndfuzz") / f"x{suffix}"


# --- oracles for "silent nonsense" ---------------------------------------------------------


def _max_daily(drug: str, dose: str, every: str, doses: str | None, days: str | None) -> Any:
    """The regimen's largest 24 h dose and the KB limit, or None when the input is invalid."""
    from neurodose.cli import options as opt
    from neurodose.errors import NeurodoseError
    from neurodose.knowledge.limits import max_daily_dose

    try:
        reg = opt.regimen_from_options(
            dose, every, int(doses) if doses else None, float(days) if days else None
        )
        lim = max_daily_dose(drug)
    except (NeurodoseError, ValueError, OverflowError):
        return None
    return None if lim is None else (reg.max_daily_dose(), lim.mg)


def _check_dose_oracle(args: list[str], res: Any) -> None:
    """Accepted runs: a unit on every dose; above the maximum only with the flag and a warning."""
    if res.exit_code != 0:
        return
    vals = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
    dose = vals.get("--dose")
    if dose is None:
        return
    assert not _is_number(dose), f"unit-less dose {dose!r} accepted: {args}"
    for i in range(len(args) - 1):
        if args[i] == "--with":
            parts = args[i + 1].split(":")
            assert not any(_is_number(x) for x in parts[1:]), f"unit-less --with: {args}"
    got = _max_daily(
        vals["--drug"], dose, vals.get("--every", "24 h"), vals.get("--doses"), vals.get("--days")
    )
    if got is None:
        return
    daily, limit = got
    if daily > limit * (1 + 1e-9):
        assert "--allow-above-max" in args, f"{daily} mg/day > {limit} accepted silently: {args}"
        assert "ABOVE MAXIMUM" in res.stdout, args


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _add_output(args: list[str], work: Path, kind: str, suffix: str, flag: str) -> Path:
    """Append ``flag PATH``; never ask --mkdir for a path outside the case's folder."""
    p = _output(work, kind, suffix)
    if kind == "outside" and "--mkdir" in args:
        args.remove("--mkdir")
    args += [flag, str(p)]
    return p


# --- the commands --------------------------------------------------------------------------

REGIMEN = _concat(
    _opt("--drug", DRUG).map(lambda x: x or ["--drug", "amitriptyline"]),
    st.integers(0, 7).flatmap(
        lambda i: st.just([]) if i == 7 else DOSE.map(lambda v: ["--dose", v])
    ),
    _opt("--every", EVERY),
    _opt("--days", DAYS),
)
PATIENT = _concat(
    _opt("--age", AGE),
    _opt("--weight", WEIGHT),
    _opt("--sex", SEX),
    _opt("--crcl", CRCL),
    _opt("--cyp2d6", CYP2D6),
    _opt("--with", WITH),
)


@_settings(80)
@given(
    reg=REGIMEN,
    pat=PATIENT,
    extra=_concat(
        _opt("--hours", HOURS),
        _opt("--population", POPULATION),
        _opt("--seed", SEED),
        _flag("--json"),
        _flag("--allow-above-max"),
        _flag("--mkdir"),
    ),
    out=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(OUTPUT_KINDS), st.sampled_from([".png", ".html", ".csv"])),
    ),
)
@example(
    reg=["--drug", "amitriptyline", "--dose", "25 mg", "--days", "14"],
    pat=["--age", "70", "--cyp2d6", "*4/*4"],
    extra=["--json"],
    out=("ok", ".html"),
)
@example(
    reg=["--drug", "duloxetine", "--dose", "60 mg", "--days", "7"],
    pat=["--with", "fluvoxamine:50 mg"],
    extra=["--population", "20", "--seed", "1"],
    out=("ok", ".csv"),
)
@example(
    reg=["--drug", "pregabalin", "--dose", "150 mg", "--days", "3"],
    pat=["--crcl", "25"],
    extra=["--json", "--allow-above-max"],
    out=("missing_parent", ".png"),
)
@example(
    reg=["--drug", "venlafaxine", "--dose", "600 mg", "--days", "2"],
    pat=[],
    extra=["--allow-above-max", "--mkdir"],
    out=("deep_missing", ".png"),
)
@example(
    reg=["--drug", "gabapentin", "--dose", "300 mg", "--days", "2"],
    pat=["--weight", "50", "--sex", "female"],
    extra=[],
    out=None,
)
def test_fuzz_simulate(reg: list[str], pat: list[str], extra: list[str], out: Any) -> None:
    with _workdir() as work:
        args = ["simulate", *reg, *pat, *extra]
        outputs: list[Path] = []
        if out is not None:
            flag = "--csv" if out[1] == ".csv" else "--plot"
            outputs.append(_add_output(args, work, out[0], out[1], flag))
        res = run_case("simulate", args, work, outputs)
        _check_dose_oracle(args, res)
        if res.exit_code == 0 and "--json" in args:
            data = json.loads(res.stdout)
            for a in data["analytes"].values():
                assert all(c >= 0 for c in a["concentration_ng_per_ml"]), args
            assert isinstance(data["defaults_applied"], list)


@_settings(25)
@given(
    reg=REGIMEN,
    pat=PATIENT,
    extra=_concat(_flag("--json"), _flag("--allow-above-max"), _flag("--mkdir")),
    out=st.one_of(st.none(), st.sampled_from(OUTPUT_KINDS)),
)
@example(
    reg=["--drug", "amitriptyline", "--dose", "25 mg", "--days", "3"],
    pat=["--cyp2d6", "PM"],
    extra=["--json"],
    out="ok",
)
@example(reg=["--drug", "duloxetine", "--dose", "60 mg", "--days", "2"], pat=[], extra=[], out=None)
@example(
    reg=["--drug", "duloxetine", "--dose", "240 mg", "--days", "2"],
    pat=[],
    extra=["--allow-above-max", "--json"],
    out=None,
)
def test_fuzz_explain(reg: list[str], pat: list[str], extra: list[str], out: Any) -> None:
    with _workdir() as work:
        # explain simulates --days (default 42) at hourly resolution; keep the horizon short
        reg = [*reg, "--days", "3"] if "--days" not in reg else reg
        args = ["explain", *reg, *pat, *extra]
        outputs = []
        if out is not None:
            outputs.append(_add_output(args, work, out, ".png", "--plot"))
        res = run_case("explain", args, work, outputs)
        _check_dose_oracle(args, res)


CURRENT_DOSE = st.sampled_from(
    ["60", "50 mg", "7", "6000", "0", "-10", "nan", "inf", "x", "20", "0.1 g"]
)
PLAN_DRUG = st.sampled_from(
    [
        "amitriptyline",
        "duloxetine",
        "venlafaxine",
        "pregabalin",
        "nortriptyline",
        "omeprazole",
        "nosuch",
        "",
        "paroxetine",
    ]
)


@_settings(60)
@given(
    kind=st.sampled_from(["titrate", "taper", "switch"]),
    drug=PLAN_DRUG,
    to=PLAN_DRUG,
    dose=st.integers(0, 5).flatmap(lambda i: st.none() if i == 5 else CURRENT_DOSE),
    extra=_concat(
        _opt("--start-date", DATE),
        _flag("--json"),
        _flag("--allow-above-max"),
        _flag("--mkdir"),
        _flag("--patient-text"),
        _opt("--method", st.sampled_from(["proportional", "hyperbolic", "fast"])),
    ),
    out=st.one_of(st.none(), st.sampled_from(OUTPUT_KINDS)),
)
@example(
    kind="titrate",
    drug="amitriptyline",
    to="duloxetine",
    dose=None,
    extra=["--json", "--start-date", "2026-01-05"],
    out="ok",
)
@example(
    kind="taper",
    drug="venlafaxine",
    to="duloxetine",
    dose="150 mg",
    extra=["--json", "--method", "hyperbolic"],
    out=None,
)
@example(
    kind="taper",
    drug="duloxetine",
    to="duloxetine",
    dose="60",
    extra=["--json"],
    out="missing_parent",
)
@example(
    kind="switch",
    drug="amitriptyline",
    to="duloxetine",
    dose="50",
    extra=["--json", "--patient-text"],
    out=None,
)
def test_fuzz_plan(kind: str, drug: str, to: str, dose: Any, extra: list[str], out: Any) -> None:
    with _workdir() as work:
        if kind == "switch" and to == drug:
            to = "duloxetine" if drug != "duloxetine" else "pregabalin"
        if kind == "switch":
            args = ["plan", "switch", "--from", drug, "--to", to]
            extra = [
                e for e in extra if e not in ("--method", "proportional", "hyperbolic", "fast")
            ]
        else:
            args = ["plan", kind, "--drug", drug]
            if kind == "titrate":
                extra = [
                    e for e in extra if e not in ("--method", "proportional", "hyperbolic", "fast")
                ]
        if dose is not None:
            args += ["--current-dose", dose]
        args += extra
        outputs = []
        if out is not None:
            outputs.append(_add_output(args, work, out, ".ics", "--ics"))
        res = run_case("plan " + kind, args, work, outputs)
        if res.exit_code == 0 and "--json" in args:
            data = json.loads(res.stdout)
            steps = data["steps"]
            assert all(s["daily_mg"] >= 0 for s in steps), args
            if kind == "taper":
                daily = [s["daily_mg"] for s in steps]
                assert daily == sorted(daily, reverse=True) and daily[-1] == 0, args
                assert "--allow-above-max" in args or not data["warnings"], args


# --- file inputs ---------------------------------------------------------------------------

BAD_FILES = [
    "non_utf8",
    "empty",
    "folder",
    "missing",
    "dev_zero",
    "huge",
    "garbage",
    "truncated",
    "nan",
]
#: a good file half of the time
FILE_KINDS = st.integers(0, 1).flatmap(lambda i: st.sampled_from(BAD_FILES if i else ["good"]))


def _file(work: Path, kind: str, good: bytes, name: str, garbage: bytes) -> Path:
    p = work / name
    if kind == "good":
        p.write_bytes(good)
    elif kind == "non_utf8":
        p.write_bytes(good[: len(good) // 2] + b"\xff\xfe" + good[len(good) // 2 :])
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "folder":
        p.mkdir()
    elif kind == "missing":
        p = work / "nope" / name
    elif kind == "dev_zero":
        p = Path("/dev/zero")
    elif kind == "huge":
        p.write_bytes(good + b" " * (LIMIT + 10))
    elif kind == "garbage":
        p.write_bytes(garbage)
    elif kind == "truncated":
        p.write_bytes(good[: max(1, len(good) // 3)])
    else:  # numbers replaced by NaN / inf
        p.write_bytes(
            re.sub(
                rb"\b\d+(\.\d+)?\b",
                lambda m: b"nan" if len(m.group()) % 2 else b"inf",
                good,
                count=3,
            )
        )
    return p


GARBAGE = st.binary(max_size=300)


@_settings(40)
@given(
    kind=FILE_KINDS,
    sample=st.sampled_from(sorted(p.name for p in (EXAMPLES / "patients").glob("*.json"))),
    garbage=GARBAGE,
    extra=_concat(
        _opt("--drug", st.sampled_from(["duloxetine", "omeprazole", "nosuch", "lidocaine", ""])),
        _opt("--start-date", DATE),
        _flag("--json"),
        _flag("--patient-text"),
    ),
)
@example(kind="good", sample="sample.json", garbage=b"", extra=["--json"])
@example(kind="good", sample="older_falls_opioid.json", garbage=b"", extra=["--drug", "duloxetine"])
@example(kind="good", sample="minimal.json", garbage=b"", extra=["--json", "--patient-text"])
def test_fuzz_assess(kind: str, sample: str, garbage: bytes, extra: list[str]) -> None:
    with _workdir() as work:
        good = (EXAMPLES / "patients" / sample).read_bytes()
        p = _file(work, kind, good, "patient.json", garbage)
        res = run_case("assess", ["assess", str(p), *extra], work)
        if res.exit_code == 0 and "--json" in extra:
            data = json.loads(res.stdout)
            from neurodose.advice.assess import OPTIONS
            from neurodose.knowledge import get_drug

            for o in data["options"]:
                assert o["drug"] in OPTIONS or "neuropathic_pain" in get_drug(o["drug"]).doses


@_settings(20)
@given(
    kind=FILE_KINDS,
    garbage=GARBAGE,
    days=st.sampled_from(["28", "21", "1", "0", "x"]),
    dose=st.sampled_from(["50 mg", "50", "5000 mg"]),
    extra=_concat(
        _flag("--accept-levels"),
        _flag("--allow-above-max"),
        _opt("--target", st.sampled_from(["50-150", "150-50", "x", "nan-1"])),
    ),
)
@example(kind="good", garbage=b"", days="28", dose="50 mg", extra=[])
@example(kind="good", garbage=b"", days="21", dose="50 mg", extra=["--accept-levels"])
@example(kind="good", garbage=b"", days="28", dose="50 mg", extra=["--target", "50-150"])
def test_fuzz_tdm(kind: str, garbage: bytes, days: str, dose: str, extra: list[str]) -> None:
    with _workdir() as work:
        good = (EXAMPLES / "tdm" / "levels.csv").read_bytes()
        p = _file(work, kind, good, "levels.csv", garbage)
        args = [
            "tdm",
            "--drug",
            "amitriptyline",
            "--levels",
            str(p),
            "--dose",
            dose,
            "--days",
            days,
            "--uncertainty",
            "laplace",
            "--json",
            *extra,
        ]
        res = run_case("tdm", args, work)
        _check_dose_oracle(args, res)
        if res.exit_code == 0:
            data = json.loads(res.stdout)
            cons = data["consistency"]
            assert cons["consistent"] or cons["accepted"] or data["recommendation"] is None, args
            r = data["recommendation"]
            if r is not None:
                assert 0 < r["daily_dose_mg"] <= r["max_daily_mg"] + 1e-9, args


@_settings(8)
@given(
    kind=FILE_KINDS,
    garbage=GARBAGE,
    first=st.one_of(st.none(), st.sampled_from(["2026-03-01", "2026-06-01", "1900-01-01", "x"])),
)
@example(kind="good", garbage=b"", first=None)
@example(kind="good", garbage=b"", first="2026-02-20")
def test_fuzz_response(kind: str, garbage: bytes, first: Any) -> None:
    with _workdir() as work:
        good = (EXAMPLES / "tdm" / "diary.csv").read_bytes()
        p = _file(work, kind, good, "diary.csv", garbage)
        args = [
            "response",
            "--drug",
            "amitriptyline",
            "--diary",
            str(p),
            "--dose",
            "25 mg",
            "--days",
            "42",
            "--json",
        ]
        if first is not None:
            args += ["--first-dose", first]
        res = run_case("response", args, work)
        if res.exit_code == 0:
            data = json.loads(res.stdout)
            for s in data["scenarios"]:
                assert 0 <= s["p_relief_30_week8"] <= 1, args


TINY = b"""name = "tiny"
weeks = 2
condition = "diabetic_neuropathy"
n_per_arm = 6
seed = 1

[[arms]]
name = "placebo"
drug = "placebo"

[[arms]]
name = "dlx"
drug = "duloxetine"
regimen = [{ start_day = 1, dose_mg = 60, every_h = 24 }]
"""


@_settings(15)
@given(
    kind=FILE_KINDS,
    garbage=GARBAGE,
    extra=_concat(
        _opt("--chunk-size", st.sampled_from(["1", "3", "0", "-1", "1000000000", "x"])),
        _opt("--scheduler", st.sampled_from(["nowhere", "tcp://", "tcp://host:99999"])),
        _flag("--json"),
        _flag("--mkdir"),
    ),
    out=st.one_of(st.none(), st.sampled_from(OUTPUT_KINDS)),
)
@example(kind="good", garbage=b"", extra=["--json"], out="ok")
@example(kind="good", garbage=b"", extra=["--chunk-size", "4"], out=None)
def test_fuzz_trial(kind: str, garbage: bytes, extra: list[str], out: Any) -> None:
    with _workdir() as work:
        p = _file(work, kind, TINY, "design.toml", garbage)
        args = ["trial", str(p), *extra]
        outputs = []
        if out is not None:
            outputs.append(_add_output(args, work, out, ".png", "--plot"))
        res = run_case("trial", args, work, outputs)
        if res.exit_code == 0 and "--json" in args:
            data = json.loads(res.stdout)
            for a in data["arms"].values():
                assert 0 <= a["responders_30"] <= 1, args


@_settings(15)
@given(
    cmd=st.sampled_from(["drugs show", "sources"]),
    name=st.sampled_from(
        ["amitriptyline", "duloxetine", "nice_cg96", "nosuch", "", "é", "x" * 500]
    ),
    as_json=_flag("--json"),
)
def test_fuzz_reference_commands(cmd: str, name: str, as_json: list[str]) -> None:
    with _workdir() as work:
        run_case(cmd, [*cmd.split(), name, *as_json], work)


@_settings(6)
@given(
    args=st.sampled_from(
        [
            ["drugs", "list"],
            ["drugs", "list", "--json"],
            ["drugs", "list", "--record", "partner"],
            ["drugs", "list", "--record", "x"],
            ["rules", "matrix"],
            ["rules", "matrix", "--json"],
        ]
    )
)
def test_fuzz_listing_commands(args: list[str]) -> None:
    with _workdir() as work:
        run_case(" ".join(args[:2]), args, work)


@_settings(8)
@given(
    kind=st.sampled_from(["existing", "missing", "file", "deep_missing"]),
    iss=st.sampled_from(["https://ehr.test/x", "", "x" * 500]),
)
def test_fuzz_cds_keygen(kind: str, iss: str) -> None:
    with _workdir() as work:
        d = {
            "existing": work / "keys",
            "missing": work / "new",
            "file": work / "f",
            "deep_missing": work / "a" / "b",
        }[kind]
        if kind == "existing":
            d.mkdir()
        if kind == "file":
            d.write_text("x", encoding="utf-8")
        outputs = [d / "client-key.json", d / "cds-clients.json"]
        run_case("cds-keygen", ["cds-keygen", str(d), "--iss", iss], work, outputs)


def test_fuzz_counts_are_recorded() -> None:
    """The counters the closing note reports are filled (when the fuzz tests ran first)."""
    if not COUNTS:
        pytest.skip("run with the fuzz tests")
    for c in COUNTS.values():
        assert c["run"] == c["errors"] + c["accepted"]
