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
