"""calibration/sensitivity.py (issue 20 item 7): the parameter set comes from the
knowledge base, the Morris and Sobol code paths recover the known indices of the
Ishigami function (serially and on Dask), and the trial model replays each arm's PK
(common random numbers) without changing a trial's result."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from neurodose.pd.params import load_pd_parameters

SCRIPT = Path(__file__).resolve().parents[3] / "calibration" / "sensitivity.py"

#: Ishigami (a = 7, b = 0.1): analytic first-order and total indices
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def _module():
    if "sensitivity_script" in sys.modules:
        return sys.modules["sensitivity_script"]
    spec = importlib.util.spec_from_file_location("sensitivity_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["sensitivity_script"] = mod
    spec.loader.exec_module(mod)
    return mod


def ishigami(ctx, names, row):
    """The model signature of the runner: (context, parameter names, row) -> outputs."""
    x1, x2, x3 = row[:3]
    return [np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)]


def test_every_uncertain_parameter_is_varied_within_its_stored_range():
    mod = _module()
    p = load_pd_parameters()
    prob, base = mod.problem(p)
    uncertain = {k for k, v in p.quantities.items() if v.calibrated or not v.verified}
    assert set(prob["names"]) == uncertain  # read from the knowledge base, none left out
    assert prob["num_vars"] == len(prob["bounds"]) == len(base)
    for name, b in zip(prob["names"], prob["bounds"], strict=True):
        q = p.quantities[name]
        if q.low is not None and q.high is not None and q.low < q.high:
            f = q.canonical() / q.point
            assert b == [q.low * f, q.high * f], name
        else:
            assert b == [-1.0, 1.0], name  # log-scale x/÷ spread


def test_sobol_stage_recovers_the_ishigami_indices():
    mod = _module()
    res = mod.sobol_stage(ISHIGAMI, ishigami, None, mod.Runner(serial=True), 1024, 100, 512)
    y = res["outputs"]["y0"]
    assert np.allclose(y["S1"], ISHIGAMI_S1, atol=0.06)
    assert np.allclose(y["ST"], ISHIGAMI_ST, atol=0.06)
    lo, hi = y["S1_sum_ci"]
    assert lo <= 1.0 and hi > 0.6  # the first-order sum (0.76) is <= 1 within its CI
    # the N/2 and the independent N/2 estimates agree with each other
    assert res["conv_half"]["y0"]["max_abs_dST"] < 0.1
    assert res["conv_replicate"]["y0"]["max_abs_dST"] < 0.1
    assert res["n_replicate"] == 512


def test_morris_screen_ranks_ishigami_and_drops_an_inert_input():
    mod = _module()
    prob = {**ISHIGAMI, "num_vars": 4, "names": [*ISHIGAMI["names"], "inert"],
            "bounds": [*ISHIGAMI["bounds"], [0.0, 1.0]]}  # fmt: skip
    runner = mod.Runner(serial=True)
    a = mod.morris_screen(prob, ishigami, None, runner, 20, 1)
    b = mod.morris_screen(prob, ishigami, None, runner, 20, 2)
    assert mod.kept(prob, [a, b], 0.05) == ["x1", "x2", "x3"]
    stab = mod.screen_stability(prob, a, b, 0.05)
    assert stab["kept_both"] == 3 and stab["spearman_mu_star"] > 0.7
    assert runner.log[0]["draws"] == 20 * 5


@pytest.mark.slow
def test_dask_gives_the_serial_result():
    from distributed import LocalCluster

    mod = _module()
    X = mod.sobol_sample(ISHIGAMI, 16, mod.SEED)
    serial = mod.Runner(serial=True).run("s", ishigami, None, ISHIGAMI["names"], X)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        runner = mod.Runner(scheduler=cluster.scheduler_address, block=7)
        runner.start()
        try:
            dask = runner.run("d", ishigami, None, ISHIGAMI["names"], X)
        finally:
            runner.close()
    assert np.array_equal(serial, dask)


def test_replayed_pk_gives_the_trial_engine_result_and_is_not_recomputed():
    from neurodose.trial.run import run_trial

    mod = _module()
    p = load_pd_parameters()
    ctx = mod.make_context(20, 1.5, p)
    recorded = {k: e.misses for k, e in ctx.exposure.items()}
    sim = mod._simulate(ctx, p)
    for key, design in ctx.designs.items():
        pp = p.with_values(**mod.DESIGN_OVERRIDES.get(key, {}))
        direct = run_trial(design, params=pp).arms
        for arm, acc in direct.items():
            got = sim[key][arm]
            assert (got.responders_50, got.withdrawal_ae) == (
                acc.responders_50,
                acc.withdrawal_ae,
            ), (key, arm)
            assert np.allclose(got.weekly_pain, acc.weekly_pain)
    prob, _ = mod.problem(p)
    lo = [b[0] for b in prob["bounds"]]
    hi = [b[1] for b in prob["bounds"]]
    y_lo, y_hi = mod.evaluate(ctx, prob["names"], lo), mod.evaluate(ctx, prob["names"], hi)
    assert len(y_lo) == len(mod.OUTPUTS) and y_lo != y_hi  # the draws move the outputs
    assert {k: e.misses for k, e in ctx.exposure.items()} == recorded  # PK replayed


def test_a_stage_is_resumed_from_its_cache(tmp_path):
    mod = _module()
    X = mod.sobol_sample(ISHIGAMI, 8, mod.SEED)
    first = mod.Runner(serial=True, cache=tmp_path)
    y1 = first.run("a", ishigami, None, ISHIGAMI["names"], X)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = mod.Runner(serial=True, cache=tmp_path)
    calls = []

    def counted(ctx, names, row):
        calls.append(1)
        return ishigami(ctx, names, row)

    counted.__qualname__ = ishigami.__qualname__  # the same model
    assert np.array_equal(again.run("a", counted, None, ISHIGAMI["names"], X), y1)
    assert calls == [] and again.log == first.log
    other = again.run("b", counted, None, ISHIGAMI["names"], X[:-1])  # other draws: computed
    assert len(calls) == len(X) - 1 and other.shape == (len(X) - 1, 1)
