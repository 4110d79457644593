"""FHIR validation remembers resources that passed, never ones that failed."""

from __future__ import annotations

import copy

import pytest

from neurodose.errors import FhirError
from neurodose.fhir import validate
from neurodose.fhir.validate import VALID, validate_resource

OBS = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2951-2"}]},
    "valueQuantity": {"value": 139.0, "unit": "mmol/L"},
}


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the model validations (the library's class, wrapped)."""
    seen: list[str] = []
    real = validate.resource_class

    def counting(rtype: str) -> object:
        seen.append(rtype)
        return real(rtype)

    monkeypatch.setattr(validate, "resource_class", counting)
    return seen


def test_a_valid_resource_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    VALID.clear()
    seen = _calls(monkeypatch)
    first = copy.deepcopy(OBS)
    assert validate_resource(first) is first
    # the same content again (another dict, keys in another order): no model build
    again = dict(reversed(list(copy.deepcopy(OBS).items())))
    assert validate_resource(again) is again
    assert seen == ["Observation"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"effectiveDateTime": "last year"}, "Observation.effectiveDateTime"),
        ({"valueQuantity": {"value": "high"}}, "Observation.valueQuantity.value"),
        ({"valueQuantity": {"value": True}}, "Observation.valueQuantity.value"),
    ],
)
def test_bad_input_is_rejected_every_time(change: dict[str, object], path: str) -> None:
    validate_resource(copy.deepcopy(OBS))  # the good one is remembered
    bad = {**copy.deepcopy(OBS), **change}
    for _ in range(2):  # a failure is never remembered
        with pytest.raises(FhirError, match=path):
            validate_resource(bad, where="entry[0]")


def test_an_expected_type_is_checked_before_the_memory() -> None:
    validate_resource(copy.deepcopy(OBS))
    with pytest.raises(FhirError, match="Patient"):
        validate_resource(copy.deepcopy(OBS), expect="Patient")


def test_not_plain_json_is_validated_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    VALID.clear()
    seen = _calls(monkeypatch)
    odd = {**copy.deepcopy(OBS), "valueQuantity": {"value": float("nan")}}
    for _ in range(2):
        with pytest.raises(FhirError):
            validate_resource(odd)
    assert seen == ["Observation", "Observation"]
