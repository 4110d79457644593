"""Fixtures for mipd tests: a small closed-form parent -> metabolite model.

This is a *test fixture* for the estimator machinery (not a drug model): the
real PK equations live in :mod:`neurodose.pk` and are exercised through
:func:`neurodose.mipd.engine.prior_model` in ``test_engine.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.case import Regimen
from neurodose.mipd.model import PriorModel, ResidualError


def _bateman(dt, ka, k):
    return (np.exp(-k * dt) - np.exp(-ka * dt)) / (ka - k)


def toy_predict(theta, doses, t):
    cl, v, clm = (theta[p][:, None, None] for p in ("CL", "V", "CLm"))
    ka, fm, vm = (theta[p][:, None, None] for p in ("ka", "fm", "Vm"))
    k, km = cl / v, clm / vm
    dt = t[None, :, None] - doses.times[None, None, :]
    on = dt >= 0
    dt = np.where(on, dt, 0.0)
    amt = doses.amounts[None, None, :]
    ap = amt * ka * _bateman(dt, ka, k)
    am = (
        fm
        * k
        * amt
        * ka
        / (ka - k)
        * (
            (np.exp(-k * dt) - np.exp(-km * dt)) / (km - k)
            - (np.exp(-ka * dt) - np.exp(-km * dt)) / (km - ka)
        )
    )
    cp = np.sum(np.where(on, ap, 0.0), axis=2) / v[:, :, 0] * 1000.0
    cm = np.sum(np.where(on, am, 0.0), axis=2) / vm[:, :, 0] * 1000.0
    return {"parent": cp, "metabolite": cm}


def make_toy(typical=None, omega=None):
    typ = {"CL": 70.0, "V": 2300.0, "CLm": 38.0, "ka": 0.9, "fm": 0.25, "Vm": 1633.0}
    if typical:
        typ.update(typical)
    return PriorModel(
        drug="toy",
        param_names=("CL", "V", "CLm"),
        typical=typ,
        omega=np.diag([0.16, 0.09, 0.16]) if omega is None else omega,
        residual={"parent": ResidualError(0.2, 1.0), "metabolite": ResidualError(0.2, 1.0)},
        predict_fn=toy_predict,
        moiety=("parent", "metabolite"),
    )


@pytest.fixture
def toy():
    return make_toy()


@pytest.fixture
def daily25():
    return Regimen.oral(25.0, 24.0, doses=28).expand()


@pytest.fixture
def toy_factory():
    return make_toy
