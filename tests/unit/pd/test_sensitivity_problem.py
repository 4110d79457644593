"""The Sobol analysis varies every calibrated and unverified PD parameter (except the
documented ones that cannot move a 12-week PDN trial)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from neurodose.pd.params import load_pd_parameters

SCRIPT = Path(__file__).resolve().parents[3] / "calibration" / "sensitivity.py"


def _module():
    spec = importlib.util.spec_from_file_location("sensitivity_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_uncertain_parameter_is_varied_or_excluded_with_reason():
    mod = _module()
    prob, base = mod.problem()
    q = load_pd_parameters().quantities
    uncertain = {k for k, v in q.items() if v.calibrated or not v.verified}
    assert set(prob["names"]) == uncertain - set(mod.EXCLUDED)
    assert set(mod.EXCLUDED) <= set(q)  # exclusions name real parameters
    assert prob["num_vars"] == len(prob["bounds"]) == len(base)
    # a parameter stored with a plausible range is drawn within it (cited/derived range)
    for name in ("serotonin_weight", "ae_age_susceptibility", "ae_tolerance_tau_drowsiness_H1"):
        i = prob["names"].index(name)
        qq = q[name]
        assert qq.low is not None and qq.high is not None
        f = qq.canonical() / qq.point
        assert prob["bounds"][i] == [qq.low * f, qq.high * f]
    assert prob["bounds"][prob["names"].index("serotonin_weight")] == [0.0, 0.5]


def test_indices_and_convergence_on_an_additive_function():
    """Issue 20 item 7: for Y = x1 + 2 x2 (x3 inert) the first-order indices sum to 1
    within their bootstrap CI, x3 gets ~0, and the N/2 sample is nested in the N one."""
    import numpy as np
    from SALib.sample import sobol as sobol_sample

    mod = _module()
    prob = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}
    X = sobol_sample.sample(prob, 256, calc_second_order=False, seed=mod.SEED)
    half = sobol_sample.sample(prob, 128, calc_second_order=False, seed=mod.SEED)
    assert np.allclose(X[: len(half)], half)
    y = X[:, 0] + 2.0 * X[:, 1]
    full = mod._indices(prob, y, 200)
    lo, hi = full["S1_sum_ci"]
    assert lo <= 1.0 <= hi + 0.05
    assert full["ST"][1] > full["ST"][0] > 5 * abs(full["ST"][2])
    conv = mod._convergence(mod._indices(prob, y[: len(half)], 200), full)
    assert conv["max_abs_dST"] < 0.1
    assert conv["spearman_ST"] > 0.9
