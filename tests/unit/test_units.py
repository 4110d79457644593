"""Units: parsing user input, conversion, errors with suggestions, round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodose.errors import UnitError
from neurodose.units import (
    _UNITS,
    CANONICAL,
    DIMENSIONS,
    convert,
    dimension_of,
    molar_to_mass,
    parse_quantity,
    parse_unit,
    to_canonical,
)


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("25 mg", "mass", 25.0),
        ("25mg", "mass", 25.0),
        ("0.025 g", "mass", 25.0),
        ("500 µg", "mass", 0.5),
        ("500 mcg", "mass", 0.5),
        ("12 h", "time", 12.0),
        ("2 d", "time", 48.0),
        ("90 min", "time", 1.5),
        ("1 week", "time", 168.0),
        ("  1e2 ng/mL ", "concentration", 100.0),
        ("0.1 mg/L", "concentration", 100.0),
        ("0.58 µM", "molar", 580.0),
        ("7", "time", 7.0),
        (7, "time", 7.0),
        (2.5, "mass", 2.5),
    ],
)
def test_parse_quantity(text: str | float, dimension: str, expected: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-12)


def test_bad_unit_suggests_close_match() -> None:
    with pytest.raises(UnitError, match=r"'Mg' is not a known unit; did you mean 'mg'"):
        parse_quantity("25 Mg", "mass")
    with pytest.raises(UnitError, match="did you mean 'hour'"):
        parse_unit("hourz")


def test_wrong_dimension_names_field_and_expected() -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity("12 h", "mass", field="dose")
    msg = str(info.value)
    assert msg.startswith("dose: '12 h'")
    assert "(time)" in msg and "expected a mass" in msg


@pytest.mark.parametrize("text", ["", "mg", "twelve h", "1..2 mg", "nan mg"])
def test_not_a_quantity(text: str) -> None:
    with pytest.raises(UnitError, match="is not a quantity"):
        parse_quantity(text, "mass", field="dose")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_rejected(value: float) -> None:
    with pytest.raises(UnitError, match="not a finite number"):
        parse_quantity(value, "mass")


def test_bool_and_other_types_rejected() -> None:
    with pytest.raises(UnitError):
        parse_quantity(True, "mass")
    with pytest.raises(UnitError):
        parse_quantity([25], "mass")  # type: ignore[arg-type]
    with pytest.raises(UnitError):
        parse_unit(None)  # type: ignore[arg-type]


def test_unknown_dimension() -> None:
    with pytest.raises(UnitError, match="dimension: 'weight' is not known"):
        parse_quantity("25 mg", "weight")


def test_convert_and_canonical() -> None:
    assert convert(1.0, "mL/min", "L/h") == 0.06
    assert convert(6.0, "L/h", "mL/min") == pytest.approx(100.0)
    assert convert(48, "h", "d") == 2.0
    assert to_canonical(0.025, "g") == (25.0, "mg")
    assert dimension_of("d") == "time"
    with pytest.raises(UnitError, match="dimensions differ"):
        convert(1, "mg", "h")


def test_every_dimension_has_a_canonical_unit_in_the_table() -> None:
    assert set(CANONICAL) >= DIMENSIONS
    for dim in DIMENSIONS:
        canon = CANONICAL[dim]
        assert parse_unit(canon) == (dim, 1.0), canon


def test_small_values_keep_relative_precision() -> None:
    # absolute rounding would turn 1 pg into 0 mg
    assert convert(1e-3, "ng", "mg") == pytest.approx(1e-9, rel=1e-12)
    assert convert(1e-6, "ng", "g") == pytest.approx(1e-15, rel=1e-12)


def test_molar_to_mass() -> None:
    # 1 µM of a 277.4 g/mol drug is 277.4 ng/mL
    assert molar_to_mass(1000.0, 277.4) == pytest.approx(277.4)


_BY_DIM: dict[str, list[str]] = {}
for _u, (_d, _) in _UNITS.items():
    _BY_DIM.setdefault(_d, []).append(_u)
_PAIRS = [(a, b) for units in _BY_DIM.values() for a in units for b in units]


@settings(deadline=None)  # shared 2-core machines: no per-example time limit
@given(
    pair=st.sampled_from(_PAIRS),
    value=st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False),
)
def test_round_trip_convert(pair: tuple[str, str], value: float) -> None:
    a, b = pair
    back = convert(convert(value, a, b), b, a)
    assert back == pytest.approx(value, rel=1e-10)


@settings(deadline=None)
@given(
    unit=st.sampled_from(sorted(_UNITS)),
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
)
def test_parse_quantity_matches_to_canonical(unit: str, value: float) -> None:
    dim = _UNITS[unit][0]
    parsed = parse_quantity(f"{value!r} {unit}", dim)
    assert parsed == pytest.approx(to_canonical(value, unit)[0], rel=1e-10, abs=1e-300)


def test_rate_units_starting_with_one() -> None:
    assert parse_quantity("0.5 1/h", "rate") == 0.5
    assert parse_quantity("24 1/d", "rate") == pytest.approx(1.0)


def test_unknown_unit_in_quantity_names_the_field() -> None:
    with pytest.raises(UnitError, match=r"^dose: '25 mgs': unit: 'mgs' is not a known unit"):
        parse_quantity("25 mgs", "mass", field="dose")
