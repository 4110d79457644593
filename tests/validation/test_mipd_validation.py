"""Validation of MAP estimation: a smaller run of the simulation-estimation study
(the 1,000-patient run is in docs/validation_mipd.md; same code, same design).

Tolerances: statistical (binomial bands for coverage, standard errors for bias),
plus the objective gap to a brute-force multi-start reference (< 1e-4, the S4
criterion in shared/design/anchors.md §8).
"""

from __future__ import annotations

import math

import pytest

from neurodose.mipd.validation import run_study

N = 150


@pytest.fixture(scope="module")
def study():
    return run_study(n=N, seed=777, n_reference=10, n_draws=400, method="sir")


@pytest.mark.validation
def test_map_reaches_the_brute_force_optimum(study):
    gap = study["objective_gap"]
    assert gap["n"] == 10
    assert gap["max"] < 1e-4
    assert study["n_not_converged"] == 0


@pytest.mark.validation
def test_parameter_recovery_unbiased(study):
    for name, bias, rmse in zip(
        study["eta_names"], study["eta_bias"], study["eta_rmse"], strict=True
    ):
        se = rmse / math.sqrt(N)
        assert abs(bias) < 3.5 * se + 0.02, name
    # the data inform the clearances: RMSE well below the prior SD
    for name, rmse, sd in zip(
        study["eta_names"], study["eta_rmse"], study["omega_sd"], strict=True
    ):
        if name in ("CL", "CL_m"):
            assert rmse < 0.8 * sd, name


@pytest.mark.validation
def test_levels_improve_the_forecast(study):
    assert study["forecast_map"]["mape_pct"] < 0.6 * study["forecast_a_priori"]["mape_pct"]
    assert abs(study["forecast_map"]["median_pe_pct"]) < 10


@pytest.mark.validation
def test_prediction_interval_coverage(study):
    # 90 % PI of the next measured trough; 99 % binomial band around 0.90
    half = 2.58 * math.sqrt(0.9 * 0.1 / N)
    assert 0.9 - half <= study["pi_coverage_by_method"]["sir"] <= 0.9 + half
    assert study["pi_coverage_by_method"]["laplace"] >= 0.9 - half - 0.03
    for c in study["eta_ci_coverage"]:
        assert 0.9 - half - 0.03 <= c <= 0.9 + half


@pytest.mark.validation
def test_diary_response_forecast_is_informative_and_calibrated():
    from neurodose.mipd.validation import run_response_study

    s = run_response_study(n=120, seed=99)
    assert s["brier_fit"] < 0.6 * s["brier_prior"]
    # calibration in the large; the extreme bands (most patients) within 0.1.
    # Middle bands hold few patients; see docs/validation_mipd.md for the 1,000-patient run.
    assert abs(s["mean_predicted"] - s["responder_rate"]) < 0.1
    for band in s["calibration"]:
        if band["n"] >= 20 and band["band"] in ("0.0-0.2", "0.8-1.0"):
            assert abs(band["mean_predicted"] - band["observed_rate"]) < 0.1
