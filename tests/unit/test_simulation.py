import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neurodose.case import Patient, Regimen
from neurodose.errors import InputError
from neurodose.simulation import simulate


def test_result_contract_and_sources():
    r = simulate("amitriptyline", Regimen.oral("25 mg", days=7), population=30, seed=1)
    js = json.loads(r.to_json_text())
    assert js["drug"] == "amitriptyline"
    for a in ("amitriptyline", "nortriptyline"):
        d = js["analytes"][a]
        assert len(d["time_h"]) == len(d["concentration_ng_per_ml"]) == len(d["p50"])
        assert np.all(np.diff(d["time_h"]) <= 1.0)
        s = js["summary"][a]
        assert {
            "cmax_ng_per_ml",
            "tmax_h",
            "auc_ng_h_per_ml",
            "half_life_h",
            "cmin_ss_ng_per_ml",
        } <= set(s)
    assert "koh2019" in js["sources"] or "evidence_pk_derived" in js["sources"]
    # default horizon: last dose + five half-lives
    assert js["analytes"]["nortriptyline"]["time_h"][-1] >= 6 * 24 + 5 * 29
    # unbound = fu x total
    np.testing.assert_allclose(r.unbound["amitriptyline"], 0.05 * r.concentrations["amitriptyline"])


def test_cyp2d6_pm_raises_exposure():
    r = Regimen.oral("25 mg", days=28)
    nm = simulate("nortriptyline", r)
    pm = simulate("nortriptyline", r, Patient().with_genotype(CYP2D6="PM"))
    ratio = (
        pm.summary["nortriptyline"]["cmin_ss_ng_per_ml"]
        / nm.summary["nortriptyline"]["cmin_ss_ng_per_ml"]
    )
    # the mean exposure ratio is the DPWG 2.5; the trough ratio is a little higher because
    # the PM's longer half-life (63 vs 25 h, nortriptyline CL from Dawling 1981) flattens
    # the profile
    assert 2.5 <= ratio < 3.5


def test_bad_regimen_type():
    with pytest.raises(InputError):
        simulate("amitriptyline", "25 mg")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cli():
    from neurodose.cli.main import app

    return CliRunner(), app


def test_cli_json(cli, tmp_path):
    runner, app = cli
    res = runner.invoke(
        app,
        [
            "simulate",
            "--drug",
            "duloxetine",
            "--dose",
            "60 mg",
            "--days",
            "3",
            "--json",
            "--hours",
            "96",
            "--with",
            "paroxetine:20 mg",
        ],
    )
    assert res.exit_code == 0, res.output
    js = json.loads(res.output)
    assert js["analytes"]["duloxetine"]["time_h"][-1] == 96.0


def test_cli_regimen_file_and_plot(cli, tmp_path):
    runner, app = cli
    f = tmp_path / "reg.toml"
    f.write_text(
        "days = 14\n[[steps]]\nstart_day = 0\ndose_mg = 10\n"
        "[[steps]]\nstart_day = 7\ndose_mg = 20\n"
    )
    png = tmp_path / "x.png"
    res = runner.invoke(
        app, ["simulate", "--drug", "amitriptyline", "--regimen", str(f), "--plot", str(png)]
    )
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 1000
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "steps": [
                    {"start_day": 0, "dose_mg": 10, "end_day": 9},
                    {"start_day": 7, "dose_mg": 20},
                ],
                "days": 14,
            }
        )
    )
    res = runner.invoke(app, ["simulate", "--drug", "amitriptyline", "--regimen", str(bad)])
    assert res.exit_code != 0
    assert "overlap" in res.output + str(res.exception)
