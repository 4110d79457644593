import numpy as np
import pytest

from neurodose.case import DoseEvent, Regimen, read_csv_text, to_csv
from neurodose.errors import RegimenError, UnitError


def test_oral_days_and_units():
    r = Regimen.oral("0.025 g", every="1 d", days=28)
    d = r.expand()
    assert len(d) == 28
    assert np.all(d.amounts == 25.0)
    assert d.times[-1] == 27 * 24


def test_divided_and_night_dosing():
    r = Regimen.oral("300 mg", per_day=3, days=2)
    assert r.expand().amounts.tolist() == [100.0] * 6
    assert r.expand().times.tolist() == [0, 8, 16, 24, 32, 40]
    n = Regimen.oral("10 mg", clock="22:30", doses=2)
    assert n.expand().times.tolist() == [22.5, 46.5]


def test_steps_hold_until_next():
    r = Regimen.steps(
        [
            {"start_day": 0, "dose_mg": 10},
            {"start_day": 7, "dose_mg": 20},
            {"start_day": 14, "dose_mg": 30, "times_per_day": 2},
        ],
        days=21,
    )
    d = r.expand()
    assert d.amounts[:7].tolist() == [10.0] * 7
    assert d.amounts[7:14].tolist() == [20.0] * 7
    assert d.amounts[14:].tolist() == [15.0] * 14
    assert r.daily_dose_at(14 * 24) == 30.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dose": "0 mg"}, "dose"),
        ({"dose": "-5 mg"}, "dose"),
        ({"dose": "25 mg", "every": "0 h"}, "every"),
        ({"dose": "25 mg", "doses": 0}, "doses"),
        ({"dose": "25 mg", "clock": "25:00"}, "clock"),
    ],
)
def test_bad_oral_input_names_field(kwargs, field):
    with pytest.raises(RegimenError) as exc:
        Regimen.oral(**kwargs)
    assert exc.value.field == field


def test_bad_unit():
    with pytest.raises(UnitError, match="dose"):
        Regimen.oral("25 h")


def test_overlapping_steps_rejected():
    with pytest.raises(RegimenError, match="overlap"):
        Regimen.steps(
            [{"start_day": 0, "dose_mg": 10, "end_day": 10}, {"start_day": 7, "dose_mg": 20}],
            days=14,
        )
    with pytest.raises(RegimenError, match="start_day"):
        Regimen.steps([{"start_day": 0, "dose_mg": 10}, {"start_day": 0, "dose_mg": 20}], days=3)
    with pytest.raises(RegimenError, match="end_day"):
        Regimen.steps([{"start_day": 0, "dose_mg": 10}])


def test_dose_event_validation():
    with pytest.raises(RegimenError, match="ii"):
        DoseEvent(amt=10, addl=3)
    with pytest.raises(RegimenError, match="ss"):
        DoseEvent(amt=10, ii=24, ss=3)
    with pytest.raises(RegimenError, match="time"):
        DoseEvent(amt=10, time=-1)
    with pytest.raises(RegimenError, match="amt"):
        DoseEvent(amt=float("nan"))


def test_from_mapping_variants():
    assert len(Regimen.from_mapping({"dose": "25 mg", "days": 2}).expand()) == 2
    r = Regimen.from_mapping({"events": [{"amt": 5, "time": 0, "ii": 12, "addl": 1}]})
    assert r.expand().times.tolist() == [0.0, 12.0]
    with pytest.raises(RegimenError):
        Regimen.from_mapping({"foo": 1})


def test_nonmem_roundtrip():
    regs = {
        1: Regimen.oral("25 mg", doses=3),
        2: Regimen.from_events(
            [DoseEvent(amt=10, time=0, ii=24, ss=1), DoseEvent(50, 5, route="iv")]
        ),
    }
    text = to_csv(regs, times_h=[1, 2], dv={1: [3.0, 4.0], 2: [1.0, 2.0]})
    back, obs = read_csv_text(text)
    for k in regs:
        a, b = regs[k].expand(), back[k].expand()
        assert np.array_equal(a.times, b.times)
        assert np.array_equal(a.amounts, b.amounts)
        assert np.array_equal(a.ss, b.ss)
        assert np.array_equal(a.iv, b.iv)
    assert obs[1] == [(1.0, 3.0), (2.0, 4.0)]


def test_nonmem_bad_rows():
    with pytest.raises(RegimenError, match="EVID"):
        read_csv_text("ID,TIME,AMT,EVID\n1,0,10,4\n")
    with pytest.raises(RegimenError, match="columns"):
        read_csv_text("A,B\n1,2\n")
    with pytest.raises(RegimenError, match="amt"):
        read_csv_text("ID,TIME,AMT,EVID,CMT\n1,0,0,1,1\n")


def test_expanded_doses_cut_and_join_keep_every_field() -> None:
    from neurodose.case import ExpandedDoses

    a = Regimen.oral("25 mg", every="24 h", days=3, ss=True).expand()
    b = Regimen.oral("50 mg", every="12 h", doses=2, start=60).expand()
    joined = a.until(48.0).then(b)
    assert joined.times.tolist() == [0.0, 24.0, 60.0, 72.0]
    assert joined.amounts.tolist() == [25.0, 25.0, 50.0, 50.0]
    assert joined.ss.tolist() == [1, 0, 0, 0] and joined.ii.tolist() == [24.0, 24.0, 12.0, 12.0]
    assert (joined.first_h, joined.last_h) == (0.0, 72.0)
    assert len(a.until(0.0)) == 0 and len(ExpandedDoses.empty()) == 0
    assert ExpandedDoses.empty().then(b).times.tolist() == b.times.tolist()
    assert (ExpandedDoses.empty().first_h, ExpandedDoses.empty().last_h) == (0.0, 0.0)
