"""The committed calibration still reproduces its training data (drift guard, real PK).

These are calibration fits, not validation: the test only detects that a change
elsewhere (PK engine, knowledge base) has moved the model away from its fit, in
which case calibration/calibrate_pd.py must be re-run.
"""

from __future__ import annotations

from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial


def test_training_targets_still_reproduced() -> None:
    d = parse_design(
        {
            "name": "drift",
            "weeks": 12,
            "condition": "diabetic_neuropathy",
            "n_per_arm": 3000,
            "seed": 99,
            "arms": [
                {"name": "placebo", "drug": "placebo"},
                {
                    "name": "dlx",
                    "drug": "duloxetine",
                    "regimen": [{"start_day": 1, "dose_mg": 60, "every_h": 24}],
                },
                {
                    "name": "dlx120",
                    "drug": "duloxetine",
                    "regimen": [
                        {"start_day": 1, "dose_mg": 60, "every_h": 24},
                        {"start_day": 8, "dose_mg": 60, "every_h": 12},
                    ],
                },
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
        }
    )
    out = run_trial(d).to_dict()
    pl, dlx = out["arms"]["placebo"], out["arms"]["dlx"]
    assert abs(pl["mean_change"] - (-1.54)) < 0.2  # Frisaldi 2023
    assert abs(pl["responders_50"] - 0.25) < 0.035
    assert abs(dlx["responders_50"] - 0.425) < 0.045  # Lunn 2014 / Finnerup SNRI (fit 0.425)
    assert abs(dlx["adverse_events"]["nausea"] - 0.29) < 0.035  # Sultan 2008
    assert 2.6 < out["comparisons"]["ami_vs_placebo"]["nnt_50"] < 5.0  # Finnerup TCA 3.6
    # Lunn 2009 (efficacy stage, issue 20 item 3): 120 mg's drug effect ~1.14 x 60 mg's
    d60 = dlx["mean_change"] - pl["mean_change"]
    d120 = out["arms"]["dlx120"]["mean_change"] - pl["mean_change"]
    assert 0.9 < d120 / d60 < 1.4
