"""PD parameter files: every number sourced; calibrated ones say to what."""

from __future__ import annotations

import pytest

from neurodose.errors import UnknownNameError
from neurodose.pd.params import load_pd_parameters


def test_every_parameter_is_sourced_and_labelled() -> None:
    p = load_pd_parameters()
    for name, q in p.quantities.items():
        assert q.source, name
        if q.source == "neurodose_pd_assumption":
            assert not q.verified, name
        if q.source == "neurodose_pd_calibration":
            assert q.calibrated and q.calibrated_to, name


def test_calibrated_parameters_name_training_data_only() -> None:
    allowed = (
        "frisaldi2023",
        "lunn2014",
        "lunn2009_dare",
        "finnerup2015",
        "sultan2008",
        "straube2008",
        "nhs_gloucestershire_tca",
        "scotgov_antidepressants_2024",
        "geometric mean",
        # adverse effects and sleep (issue 20 item 6; ae_sleep_stage.TRAINING)
        "lyrica_uspi_dpn_table",
        "parsons2018_pregabalin_sleep",
    )
    for name, q in load_pd_parameters().calibrated().items():
        for item in q.calibrated_to:
            assert item.startswith(allowed), (name, item)


def test_unknown_parameter_and_condition_errors() -> None:
    p = load_pd_parameters()
    with pytest.raises(UnknownNameError, match="did you mean"):
        p.value("descending_max_inhibiton")
    with pytest.raises(UnknownNameError):
        p.condition("diabetic_neuropaty")
    assert p.with_values(descending_d50=0.5).value("descending_d50") == 0.5
