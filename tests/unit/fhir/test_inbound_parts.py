"""FHIR in, piece by piece: the small rules case_from_resources is built from."""

from __future__ import annotations

import datetime as dt

from neurodose.fhir.inbound import (
    Order,
    _age_years,
    _condition_inactive,
    _keeps_new,
    _lab_values,
    case_from_resources,
)

TODAY = dt.date(2026, 1, 5)


def _order(ref: str, daily: float | None) -> Order:
    dose = None if daily is None else daily / 2
    return Order(
        ref=ref, drug="amitriptyline", text="", codes=(), dose_mg=dose, every_h=12.0, resource={}
    )


def test_age_counts_whole_years_birthday_not_yet_reached() -> None:
    assert _age_years(dt.date(1950, 1, 6), TODAY) == 75
    assert _age_years(dt.date(1950, 1, 5), TODAY) == 76


def test_a_current_order_wins_over_a_stopped_one_whatever_the_dose() -> None:
    stopped = (_order("a", 100.0), 5.0)
    assert _keeps_new(stopped, _order("b", 10.0), None) is True
    assert _keeps_new((_order("a", 10.0), None), _order("b", 100.0), 3.0) is False


def test_between_two_current_orders_the_higher_daily_dose_wins() -> None:
    assert _keeps_new((_order("a", 10.0), None), _order("b", 20.0), None) is True
    assert _keeps_new((_order("a", 20.0), None), _order("b", 10.0), None) is False


def test_condition_inactive_by_clinical_or_verification_status() -> None:
    def cc(code: str) -> dict:
        return {"coding": [{"code": code}]}

    assert _condition_inactive({"clinicalStatus": cc("resolved")})
    assert _condition_inactive({"verificationStatus": cc("refuted")})
    assert not _condition_inactive({"clinicalStatus": cc("recurrence")})
    assert not _condition_inactive({})


def test_lab_values_latest_under_profile_keys_then_measurements() -> None:
    labs = {
        "m:potassium": [(TODAY, 4.1)],
        "qtc": [(dt.date(2025, 1, 1), 430.0), (TODAY, 470.0)],
        "egfr": [(TODAY, 55.0)],
    }
    assert _lab_values(labs) == {"egfr": 55.0, "qtc_ms": 470.0, "potassium": 4.1}


def test_unused_resource_types_listed_known_context_ones_skipped() -> None:
    case = case_from_resources(
        [
            {"resourceType": "Patient", "id": "p1", "birthDate": "1950-06-01"},
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"code": "AMB"},
            },
            {"resourceType": "Group", "id": "g1", "type": "person", "actual": True},
        ],
        today=TODAY,
    )
    assert [(u.kind, u.text) for u in case.unrecognised] == [("resource", "Group")]
