"""The alternative of an order that should not be given: the assessment's best option
other than the order's drug, computed once per request, from a door's cache if given."""

from __future__ import annotations

import datetime as dt

from neurodose.case import load_patient
from neurodose.workflows.screening import (
    DraftOrder,
    OrderScreenRequest,
    alternative_candidates,
    screen_orders,
)

DAY = dt.date(2026, 1, 5)
ON_MAOI = {"age": 60, "medications": [{"name": "phenelzine", "dose_mg": 15}]}


def test_the_alternative_is_the_first_candidate_and_never_the_order() -> None:
    p = load_patient(ON_MAOI)
    first = alternative_candidates(p, DAY)[0]
    res = screen_orders(OrderScreenRequest(p, (DraftOrder("duloxetine", 60, 24, 60),), today=DAY))
    assert any(f.severity == "contraindicated" for f in res.screens[0].findings)
    assert res.screens[0].alternative == first
    # an order of the first candidate itself gets the next one
    calls: list[dt.date] = []

    def given(patient: object, today: dt.date) -> tuple[tuple[str, object], ...]:
        calls.append(today)
        return (("duloxetine", None), ("pregabalin", None))

    orders = (DraftOrder("duloxetine", 60, 24, 60), DraftOrder("tramadol", 50, 8, 150))
    res = screen_orders(OrderScreenRequest(p, orders, today=DAY, candidates=given))
    with_alt = [s for s in res.screens if s.alternative is not None]
    assert len(with_alt) == 2 and all(s.alternative[0] != s.order.drug for s in with_alt)
    assert res.screens[0].alternative == ("pregabalin", None)
    assert calls == [DAY]  # once per request, however many orders need one
