"""Virtual patients for the PD side: baseline pain, placebo response, sensitivity.

Per patient (docs/model.md §3):

* baseline pain ``B ~ Normal(mu_B, sd_B)`` truncated to ``[min_B, 10]``;
* age ``~ Normal(age_mean, age_sd)`` truncated to ``[age_min, age_max]``;
* placebo/natural-course fraction
  ``p = mu_p * m_cond * (1 - a_age (age - 60)) * (1 + a_B (B - 6.5)) + sd_p z`` (negative: worse),
  directions from Cepeda 2012 and Freeman 2015, ``mu_p`` and ``sd_p``
  calibrated to Frisaldi 2023;
* pharmacological sensitivity ``eta ~ LogNormal(0, omega)``.

Age defaults (mean 60, sd 10, 18-85) are assumptions stated in docs/model.md;
a design may override them.

>>> import numpy as np
>>> from neurodose.pd.params import load_pd_parameters
>>> pop = sample_population(1000, "diabetic_neuropathy", load_pd_parameters(),
...                         np.random.default_rng(0))
>>> bool(pop.baseline.min() >= 4.0)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurodose.pd.params import PDParameters

__all__ = ["AGE_DEFAULTS", "PDPopulation", "sample_population"]

Array = NDArray[np.float64]

#: demographic defaults (assumption; docs/model.md §3); design [population] overrides
AGE_DEFAULTS: dict[str, float] = {
    "age_mean": 60.0,
    "age_sd": 10.0,
    "age_min": 18.0,
    "age_max": 85.0,
    "female_fraction": 0.5,
}


@dataclass(frozen=True)
class PDPopulation:
    baseline: Array
    age: Array
    female: NDArray[np.bool_]
    placebo: Array
    eta: Array

    def __len__(self) -> int:
        return int(self.baseline.shape[0])


def _truncnorm(
    rng: np.random.Generator, n: int, mu: float, sd: float, lo: float, hi: float
) -> Array:
    x = rng.normal(mu, sd, n)
    bad = (x < lo) | (x > hi)
    for _ in range(50):
        if not bad.any():
            break
        x[bad] = rng.normal(mu, sd, int(bad.sum()))
        bad = (x < lo) | (x > hi)
    return np.clip(x, lo, hi)


def sample_population(
    n: int,
    condition: str,
    params: PDParameters,
    rng: np.random.Generator,
    overrides: Mapping[str, float] | None = None,
) -> PDPopulation:
    """Draw ``n`` virtual patients (PD covariates) for ``condition``."""
    ov = dict(overrides or {})
    demo = {k: ov.get(k, v) for k, v in AGE_DEFAULTS.items()}
    p = params.with_values(**{k: v for k, v in ov.items() if k not in AGE_DEFAULTS})
    cond = p.condition(condition)
    m_cond = 1.0 if cond.placebo_multiplier == "reference" else p.value(cond.placebo_multiplier)
    lo_b = p.value("baseline_pain_min")
    baseline = _truncnorm(
        rng, n, p.value("baseline_pain_mean"), p.value("baseline_pain_sd"), lo_b, 10.0
    )
    age = _truncnorm(rng, n, demo["age_mean"], demo["age_sd"], demo["age_min"], demo["age_max"])
    female = rng.random(n) < demo["female_fraction"]
    z = rng.standard_normal(n)
    mod_age = np.clip(1.0 - p.value("placebo_age_decline") * (age - 60.0), 0.0, None)
    mod_b = np.clip(1.0 + p.value("placebo_baseline_slope") * (baseline - 6.5), 0.0, None)
    placebo = p.value("placebo_mean") * m_cond * mod_age * mod_b + p.value("placebo_sd") * z
    placebo = np.clip(placebo, -1.0, 0.95)
    eta = np.exp(p.value("sensitivity_omega") * rng.standard_normal(n))
    return PDPopulation(baseline=baseline, age=age, female=female, placebo=placebo, eta=eta)
