"""Knowledge-base schema: the validation rules every cited number obeys."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from neurodose.knowledge.schema import (
    PLAUSIBLE,
    Affinity,
    DrugRecord,
    Flag,
    Quantity,
    Statement,
)
from neurodose.units import CANONICAL

CITE = {"source": "finnerup2015", "locator": "Table 2"}


def q(**kw: Any) -> Quantity:
    return Quantity(**{**CITE, **kw})


def _messages(exc: ValidationError) -> str:
    return " | ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def test_a_valid_quantity() -> None:
    x = q(value=25, unit="mg")
    assert x.point == 25
    assert x.canonical() == 25
    assert x.dimension == "mass"
    assert x.verified and not x.low_trust and not x.derived and not x.calibrated


def test_canonical_converts_units() -> None:
    assert q(value=0.58, unit="µM").canonical() == pytest.approx(580.0)
    assert q(value=2, unit="d").canonical() == 48.0


def test_range_point_is_midpoint() -> None:
    x = q(low=80, high=200, unit="ng/mL")
    assert x.value is None
    assert x.point == 140


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"source": ""}, "needs a source key"),
        ({"source": "   "}, "needs a source key"),
        ({"locator": ""}, "needs a locator"),
        ({"unit": "mgs"}, "not a known unit"),
        ({"value": None}, "give 'value' or both 'low' and 'high'"),
        ({"value": None, "low": 1.0}, "give 'value' or both 'low' and 'high'"),
        ({"value": None, "low": 5.0, "high": 1.0}, "low 5.0 > high 1.0"),
        ({"value": float("nan")}, "value is NaN"),
        ({"value": -1.0}, "outside the plausible range"),
        ({"value": 1e9}, "outside the plausible range"),
        ({"derived": True}, "derived_from"),
        ({"calibrated": True}, "calibrated_to"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_quantity_rules(kw: dict[str, Any], needle: str) -> None:
    base: dict[str, Any] = {**CITE, "value": 25.0, "unit": "mg"}
    with pytest.raises(ValidationError) as info:
        Quantity(**{**base, **kw})
    assert needle in _messages(info.value)


def test_plausible_range_uses_canonical_units() -> None:
    # 0.1 g is 100 mg: fine; 200 kg in a mass field would be 2e8 mg: not plausible
    assert q(value=0.1, unit="g").canonical() == 100.0
    with pytest.raises(ValidationError, match="plausible range"):
        q(value=200_000, unit="g")


def test_every_dimension_has_a_plausible_range() -> None:
    assert set(CANONICAL) == set(PLAUSIBLE)


def test_derived_and_calibrated_with_inputs_are_fine() -> None:
    x = q(value=1.0, unit="1", derived=True, derived_from=["a", "b"])
    y = q(value=1.0, unit="1", calibrated=True, calibrated_to=["koh2019 Table 3"])
    assert x.derived_from == ["a", "b"]
    assert y.calibrated_to == ["koh2019 Table 3"]


def test_quantities_are_immutable() -> None:
    x = q(value=25, unit="mg")
    with pytest.raises(ValidationError):
        x.value = 50  # type: ignore[misc]


def test_display_marks_unverified() -> None:
    assert q(value=75, unit="mg", verified=False).display() == "75 mg [UNVERIFIED]"
    assert q(low=80, high=200, unit="ng/mL").display() == "80-200 ng/mL"


def test_affinity_requires_kind_and_species() -> None:
    a = Affinity(**CITE, target="SERT", kind="Kd", value=4.3, unit="nM", species="human")
    assert a.canonical() == 4.3
    with pytest.raises(ValidationError):
        Affinity(**CITE, target="SERT", kind="Kx", value=4.3, unit="nM", species="human")
    with pytest.raises(ValidationError):
        Affinity(**CITE, target="SERT", kind="Kd", value=4.3, unit="nM")  # type: ignore[call-arg]


def test_statement_and_flag_need_sources() -> None:
    Statement(**CITE, id="heart_block", text="Heart block.")
    Flag(**CITE, value=True)
    with pytest.raises(ValidationError, match="needs a source key"):
        Statement(source="", locator="x", id="a", text="b")


def _minimal_record(**kw: Any) -> dict[str, Any]:
    return {
        "name": "testdrug",
        "display_name": "Testdrug",
        "record": "partner",
        "drug_class": "test",
        "classes": ["test"],
        **kw,
    }


def test_drug_record_minimal_and_iter_sourced() -> None:
    rec = DrugRecord.model_validate(
        _minimal_record(
            pk={"F": {**CITE, "value": 0.5, "unit": "1"}},
            contraindications=[{**CITE, "id": "x", "text": "X."}],
        )
    )
    paths = [p for p, _ in rec.iter_sourced()]
    assert paths == ["pk.F", "contraindications[0]"]


@pytest.mark.parametrize("name", ["TestDrug", "test drug"])
def test_drug_name_must_be_lowercase_identifier(name: str) -> None:
    with pytest.raises(ValidationError, match="lowercase"):
        DrugRecord.model_validate(_minimal_record(name=name))


def test_drug_record_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        DrugRecord.model_validate(_minimal_record(halflife=3))


def test_json_round_trip_of_a_real_record() -> None:
    from neurodose.knowledge import get_drug

    rec = get_drug("amitriptyline")
    again = DrugRecord.model_validate(rec.model_dump(mode="json"))
    assert again == rec
