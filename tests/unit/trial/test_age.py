"""Age in virtual trials: PK covariates by age band and age-dependent susceptibility.

Claim 10 ("TCAs are a poor fit for older patients") must come from the model: the same
amitriptyline titration in virtual 75- vs 45-year-olds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodose.case import Regimen
from neurodose.trial.design import parse_design
from neurodose.trial.exposure import population_concentrations
from neurodose.trial.run import run_trial

TIMES = np.arange(1, 15) * 24.0


def _conc(drug: str, ages: list[float], dose: float, every: float) -> dict[str, np.ndarray]:
    regimen = Regimen.oral(f"{dose:g} mg", every=f"{every:g} h", days=14)

    class Pop:
        age = np.asarray(ages, dtype=float)

        def __len__(self) -> int:
            return len(ages)

    return population_concentrations(drug, regimen, Pop(), np.random.default_rng(3), TIMES)


def test_age_reaches_pk_models_with_an_age_covariate() -> None:
    # pregabalin V/F falls with age (Shoji 2011 (age/59)^-0.125): peak/trough differ by band
    young = _conc("pregabalin", [30.0] * 200, 150.0, 12.0)["pregabalin"]
    old = _conc("pregabalin", [80.0] * 200, 150.0, 12.0)["pregabalin"]
    assert not np.allclose(young, old)


def test_models_without_an_age_term_ignore_age() -> None:
    # amitriptyline: no age effect on clearance (Schulz 1983), so none in the model
    young = _conc("amitriptyline", [30.0] * 50, 50.0, 24.0)
    old = _conc("amitriptyline", [80.0] * 50, 50.0, 24.0)
    for k in young:
        assert np.array_equal(young[k], old[k])


def _age_trial(age: float) -> dict[str, Any]:
    d = parse_design(
        {
            "name": "age",
            "weeks": 8,
            "condition": "diabetic_neuropathy",
            "n_per_arm": 1500,
            "seed": 5,
            "arms": [
                {"name": "placebo", "drug": "placebo"},
                {
                    "name": "ami",
                    "drug": "amitriptyline",
                    "regimen": [
                        {"start_day": 1, "dose_mg": 10, "every_h": 24},
                        {"start_day": 8, "dose_mg": 25, "every_h": 24},
                        {"start_day": 15, "dose_mg": 50, "every_h": 24},
                    ],
                },
            ],
            "population": {"age_mean": age, "age_sd": 0.001, "age_min": 18, "age_max": 85},
        }
    )
    return run_trial(d).to_dict()["arms"]["ami"]


def test_claim10_older_patients_have_more_tca_harm() -> None:
    old, young = _age_trial(75.0), _age_trial(45.0)
    for effect in ("confusion", "orthostatic_hypotension", "fall_risk_effects", "dry_mouth"):
        assert old["adverse_events"][effect] > young["adverse_events"][effect]
    assert old["withdrawal_ae"] > young["withdrawal_ae"]
