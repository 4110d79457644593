"""Test fixtures for the trial layer.

``fake_exposure`` is a deliberately simple test double (one-compartment oral
superposition with made-up parameters) so trial-layer tests do not depend on the
PK engine; it is never used by the product code.
"""

from __future__ import annotations

import numpy as np
import pytest

_FAKE = {  # drug -> list of (analyte, CL L/h, V L, ka 1/h, fraction of dose)
    "amitriptyline": [
        ("amitriptyline", 40.0, 1200.0, 0.5, 1.0),
        ("nortriptyline", 60.0, 1600.0, 0.3, 0.6),
    ],
    "duloxetine": [("duloxetine", 60.0, 1600.0, 0.4, 1.0)],
}


def fake_exposure(drug, regimen, pop, rng, times):
    n = len(pop)
    out = {}
    scale = np.exp(0.3 * rng.standard_normal(n))
    for analyte, cl, v, ka, frac in _FAKE[drug]:
        k = cl / v
        c = np.zeros(times.shape[0])
        doses = regimen.expand()
        for t0, dose in zip(doses.times, doses.amounts, strict=True):
            dt = times - t0
            m = dt > 0
            c[m] += frac * dose * ka / (v * (ka - k)) * (np.exp(-k * dt[m]) - np.exp(-ka * dt[m]))
        out[analyte] = scale[:, None] * c[None, :] * 1000.0
    return out


@pytest.fixture
def exposure():
    return fake_exposure
