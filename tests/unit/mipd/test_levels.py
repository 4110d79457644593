"""Levels CSV: parsing, units, BLQ and errors that name the field."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from neurodose.errors import InputError, UnitError, UnknownNameError
from neurodose.mipd.levels import Observations, read_levels_csv

AN = ("amitriptyline", "nortriptyline")


def _write(tmp_path, text):
    p = tmp_path / "levels.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_time_h_units_and_blq(tmp_path):
    p = _write(
        tmp_path,
        "time_h,analyte,value,unit,lloq\n"
        "335.5,AMI,62,ng/mL,5\n"
        "335.5,nortriptyline,0.048,mg/L,\n"
        "647,amitriptyline,<5,ng/mL,\n"
        "647,NT,BLQ,ng/mL,5\n"
        "671,NT,3,ng/mL,5\n",
    )
    o = read_levels_csv(p, AN)
    assert o.analyte == (
        "amitriptyline",
        "nortriptyline",
        "amitriptyline",
        "nortriptyline",
        "nortriptyline",
    )
    assert o.value.tolist() == pytest.approx([62, 48, 5, 5, 5])
    assert o.blq.tolist() == [False, False, True, True, True]
    assert o.lloq.tolist() == pytest.approx([5, 0, 5, 5, 5])


def test_molar_units_need_molar_mass(tmp_path):
    p = _write(tmp_path, "time_h,analyte,value,unit\n10,AMI,100,nmol/L\n")
    with pytest.raises(UnitError, match="molar mass"):
        read_levels_csv(p, AN)
    o = read_levels_csv(p, AN, molar_mass={"amitriptyline": 277.4})
    assert o.value[0] == pytest.approx(27.74)


def test_datetime_rows(tmp_path):
    p = _write(tmp_path, "datetime,analyte,value,unit\n2026-03-02 09:00,AMI,40,ng/mL\n")
    with pytest.raises(InputError, match="first-dose"):
        read_levels_csv(p, AN)
    o = read_levels_csv(p, AN, first_dose=dt.datetime(2026, 3, 1, 21, 0))
    assert o.times_h.tolist() == [12.0]


@pytest.mark.parametrize(
    ("row", "exc", "needle"),
    [
        ("10,AMI,-3,ng/mL", InputError, "value"),
        ("10,AMI,abc,ng/mL", InputError, "value"),
        ("10,AMI,30,ng/dL", UnitError, "ng/dL"),
        ("10,AMI,30,mg", UnitError, "mass"),
        ("10,amitriptylin,30,ng/mL", UnknownNameError, "amitriptyline"),
        ("10,duloxetine,30,ng/mL", UnknownNameError, "duloxetine"),
        ("x,AMI,30,ng/mL", InputError, "time_h"),
        ("10,AMI,30,", InputError, "unit"),
    ],
)
def test_bad_rows_name_the_field(tmp_path, row, exc, needle):
    p = _write(tmp_path, "time_h,analyte,value,unit\n" + row + "\n")
    with pytest.raises(exc, match=needle) as info:
        read_levels_csv(p, AN)
    assert "row 1" in str(info.value)


def test_missing_columns(tmp_path):
    p = _write(tmp_path, "analyte,value\nAMI,3\n")
    with pytest.raises(InputError, match="time_h or datetime"):
        read_levels_csv(p, AN)


def test_missing_file():
    with pytest.raises(InputError, match="levels"):
        read_levels_csv("/nonexistent/levels.csv", AN)


def test_before_first_dose():
    o = Observations.from_arrays([-1.0], ["AMI"], [3.0], analytes=AN)
    with pytest.raises(InputError, match="first dose"):
        o.check_after(0.0)


def test_negative_values_in_arrays():
    with pytest.raises(InputError, match="value"):
        Observations.from_arrays([1.0], ["AMI"], [-1.0], analytes=AN)
    with pytest.raises(InputError, match="time_h"):
        Observations.from_arrays([np.nan], ["AMI"], [1.0], analytes=AN)


def test_summed_analyte(tmp_path):
    p = _write(tmp_path, "time_h,analyte,value,unit\n10,NT+AMI,30,ng/mL\n11,ami + nt,31,ng/mL\n")
    o = read_levels_csv(p, AN)
    assert o.analyte == ("amitriptyline+nortriptyline",) * 2
    for bad in ("AMI+AMI", "AMI+clomipramine"):
        p = _write(tmp_path, f"time_h,analyte,value,unit\n10,{bad},30,ng/mL\n")
        with pytest.raises((InputError, UnknownNameError)):
            read_levels_csv(p, AN)
