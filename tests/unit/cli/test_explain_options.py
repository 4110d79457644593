"""`neurodose explain` takes every option `simulate` takes; `--scr` reaches gabapentin."""

from __future__ import annotations

import json

import typer.main
from typer.testing import CliRunner

from neurodose.cli.main import app

runner = CliRunner()


def _options(command: str) -> set[str]:
    import click

    cmd = typer.main.get_command(app)
    with click.Context(cmd) as ctx:
        sub = cmd.get_command(ctx, command)  # type: ignore[attr-defined]
    assert sub is not None, command
    return {o for p in sub.params for o in getattr(p, "opts", [])}


def test_explain_accepts_every_simulate_option():
    # output options differ by command: simulate's --csv is its concentration table
    # simulate --pd goes on to the PD chain, which explain always runs
    missing = _options("simulate") - _options("explain") - {"--csv", "--pd"}
    assert not missing, f"explain lacks {sorted(missing)}"


def test_explain_single_dose_and_population_bands():
    r = runner.invoke(
        app,
        ["explain", "--drug", "paroxetine", "--dose", "20 mg", "--doses", "1", "--json"],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    sert = d["occupancy"]["SERT"]["fraction"]
    assert max(sert) > sert[-1]  # a single dose: occupancy falls again
    r = runner.invoke(
        app,
        [
            *("explain", "--drug", "escitalopram", "--dose", "10 mg", "--days", "7"),
            *("--population", "40", "--seed", "2", "--hours", "240", "--json"),
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    band = d["occupancy"]["SERT"]["population"]
    assert len(d["relief"]["day"]) == 11
    assert all(lo <= hi for lo, hi in zip(band["p05"], band["p95"], strict=True))
    assert band["p95"][-1] > band["p05"][-1]


def test_gabapentin_scr_changes_levels_and_crcl_alone_is_refused():
    base = ["simulate", "--drug", "gabapentin", "--dose", "300 mg", "--every", "8 h"]
    base += ["--days", "5", "--json"]
    lo = json.loads(runner.invoke(app, [*base, "--scr", "0.8"]).stdout)
    hi = json.loads(runner.invoke(app, [*base, "--scr", "4.0"]).stdout)
    c_lo = lo["summary"]["gabapentin"]["cmin_ss_ng_per_ml"]
    c_hi = hi["summary"]["gabapentin"]["cmin_ss_ng_per_ml"]
    assert c_hi > 2 * c_lo
    r = runner.invoke(app, [*base, "--crcl", "15"])
    assert r.exit_code == 2
    assert "--scr" in r.stderr and "Cockcroft-Gault" in r.stderr
    # with age, weight and sex the CrCl is converted and changes the levels
    cg = json.loads(
        runner.invoke(
            app, [*base, "--crcl", "15", "--age", "70", "--weight", "70", "--sex", "male"]
        ).stdout
    )
    cg_hi = json.loads(
        runner.invoke(
            app, [*base, "--crcl", "120", "--age", "70", "--weight", "70", "--sex", "male"]
        ).stdout
    )
    assert (
        cg["summary"]["gabapentin"]["cmin_ss_ng_per_ml"]
        > 2 * cg_hi["summary"]["gabapentin"]["cmin_ss_ng_per_ml"]
    )


def test_kb_drug_without_pk_model_is_not_called_unknown():
    r = runner.invoke(app, ["simulate", "--drug", "bupropion", "--dose", "50 mg"])
    assert r.exit_code == 2
    assert "in the knowledge base but has no PK model" in r.stderr
    assert "unknown drug" not in r.stderr


def test_explain_never_prints_minus_zero_percent():
    """A share that rounds to zero is '0.0 %', never '-0.0 %' (floating-point noise)."""
    import re

    from typer.testing import CliRunner

    from neurodose.cli.main import app

    for drug in ("amitriptyline", "duloxetine", "pregabalin", "venlafaxine"):
        res = CliRunner().invoke(app, ["explain", "--drug", drug, "--dose", "25 mg"])
        assert res.exit_code == 0, res.output
        assert not re.search(r"-0(\.0+)? %", res.output), res.output


def test_formulation_option_at_the_cli():
    base = ["simulate", "--drug", "venlafaxine", "--dose", "75 mg", "--hours", "24", "--json"]
    xr = json.loads(runner.invoke(app, [*base, "--formulation", "extended_release"]).stdout)
    ir = json.loads(runner.invoke(app, base).stdout)
    assert xr["summary"]["venlafaxine"]["tmax_h"] > ir["summary"]["venlafaxine"]["tmax_h"]
    bad = runner.invoke(app, [*base, "--formulation", "patch"])
    assert bad.exit_code != 0
    assert "formulation" in bad.output and "extended_release" in bad.output
