"""Trial designs, piece by piece: the rules parse_design is built from."""

from __future__ import annotations

import pytest

from neurodose.errors import DesignError
from neurodose.trial.design import _NO_STOP, _n_per_arm, _stop_table


def test_stop_from_top_level_keys_or_the_stop_table() -> None:
    assert _stop_table({}) is _NO_STOP
    assert _stop_table({"stop": {"day": 20}}) == {"day": 20}
    assert _stop_table({"stop_day": 20, "taper_steps": 2}) == {"day": 20, "taper_steps": 2}


def test_stop_given_twice_is_named() -> None:
    with pytest.raises(DesignError, match="either top-level stop_day or \\[stop\\]"):
        _stop_table({"stop_day": 20, "stop": {"day": 20}})


@pytest.mark.parametrize("bad", [0, True, 2.5, "10"])
def test_n_per_arm_must_be_a_whole_number_of_patients(bad: object) -> None:
    with pytest.raises(DesignError, match="n_per_arm"):
        _n_per_arm({"n_per_arm": bad})


def test_n_per_arm_given_is_kept() -> None:
    assert _n_per_arm({"n_per_arm": 40}) == 40
