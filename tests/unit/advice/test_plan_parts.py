"""Titration and taper plans, piece by piece: the rules the plan builders are made of."""

from __future__ import annotations

import pytest

from neurodose.advice.plans import _check_taper_args, _Limits, _taper_notes, _titration_doses
from neurodose.errors import InputError, RegimenError


def _limits(step: float | None = 10.0, interval: float | None = 7.0) -> _Limits:
    return _Limits(
        start=10.0,
        step=step,
        interval_days=interval,
        target=30.0,
        maximum=50.0,
        sources=[],
        notes=[],
        verified=True,
    )


def test_titration_steps_to_target_then_optional_to_maximum() -> None:
    doses = _titration_doses(_limits(), None, include_optional=True)
    assert [(d, mg, opt) for d, mg, opt, _ in doses] == [
        (0, 10.0, False),
        (7, 20.0, False),
        (14, 30.0, False),
        (21, 40.0, True),
        (28, 50.0, True),
    ]
    assert doses[0][3] == "start" and doses[-1][3] == "only if needed and tolerated"


def test_titration_without_optional_steps_stops_at_target() -> None:
    doses = _titration_doses(_limits(), None, include_optional=False)
    assert [mg for _, mg, _, _ in doses] == [10.0, 20.0, 30.0]


def test_titration_continues_from_the_current_dose() -> None:
    doses = _titration_doses(_limits(), 40.0, include_optional=True)
    assert [(mg, note) for _, mg, _, note in doses] == [
        (40.0, "current dose"),
        (50.0, "only if needed and tolerated"),
    ]


@pytest.mark.parametrize("step,interval", [(None, 7.0), (10.0, None)])
def test_titration_without_step_or_interval_is_one_step(
    step: float | None, interval: float | None
) -> None:
    assert len(_titration_doses(_limits(step, interval), None, True)) == 1


def test_taper_arguments_named_when_wrong() -> None:
    with pytest.raises(InputError, match="method"):
        _check_taper_args("linear", 10.0)
    with pytest.raises(RegimenError, match="current_dose"):
        _check_taper_args("proportional", 0)


def test_taper_notes_say_when_only_stopping_is_left() -> None:
    notes = _taper_notes("amitriptyline", 10.0, [0.0], 10.0, slow=False)
    assert any("the only step left is stopping" in n for n in notes)
    assert any("Last dose before stopping about 0 mg/day" in n for n in notes)
    assert not any("most likely to cause withdrawal" in n for n in notes)
