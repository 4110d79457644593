"""Diary parsing, gaps, errors, side-effect trend and withdrawal signals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from neurodose.errors import InputError
from neurodose.mipd.diary import Diary, read_diary_csv
from neurodose.mipd.signals import side_effect_trend, withdrawal_signals


def _rows(n, pain=6.0, se=None, sleep=None, dose=None, skip=()):
    start = dt.date(2026, 3, 1)
    rows = []
    for i in range(n):
        if i in skip:
            continue
        r = {"date": (start + dt.timedelta(days=i)).isoformat(), "pain": str(pain)}
        if se is not None:
            r["side_effects"] = str(se(i))
        if sleep is not None:
            r["sleep"] = str(sleep(i))
        if dose is not None:
            r["dose_mg"] = str(dose(i))
        rows.append(r)
    return rows


def test_csv_with_gaps_and_missing_cells(tmp_path):
    p = tmp_path / "diary.csv"
    p.write_text(
        "date,pain,sleep,side_effects,dose_mg,notes\n"
        "2026-03-01,7,6,0,10,\n"
        "2026-03-02,7,,1,10,dry mouth\n"
        "2026-03-05,6,5,,0,forgot\n",
        encoding="utf-8",
    )
    d = read_diary_csv(p)
    assert d.day.tolist() == [0, 1, 4]
    assert d.n_gap_days == 2
    assert np.isnan(d.sleep[1]) and np.isnan(d.side_effects[2])
    assert d.dose_mg.tolist() == [10, 10, 0]
    assert d.notes[1] == "dry mouth"


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("2026-03-01,11,5,0", "pain"),
        ("2026-03-01,-1,5,0", "pain"),
        ("2026-03-01,5,12,0", "sleep"),
        ("2026-03-01,5,5,10.5", "side_effects"),
        ("2026-13-01,5,5,0", "date"),
        ("2026-03-01,,5,0", "pain"),
        ("2026-03-01,five,5,0", "pain"),
    ],
)
def test_bad_values_name_field_and_row(tmp_path, row, needle):
    p = tmp_path / "d.csv"
    p.write_text("date,pain,sleep,side_effects\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=needle) as info:
        read_diary_csv(p)
    assert "row 1" in str(info.value)


def test_duplicate_date_and_unknown_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("date,pain\n2026-03-01,5\n2026-03-01,6\n", encoding="utf-8")
    with pytest.raises(InputError, match="each date once"):
        read_diary_csv(p)
    p.write_text("date,pain,mood\n2026-03-01,5,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="mood"):
        read_diary_csv(p)
    p.write_text("day,pain\n1,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="date"):
        read_diary_csv(p)


def test_side_effects_rising_fading_stable():
    rise = Diary.from_rows(_rows(21, se=lambda i: min(10, 1 + i * 0.3)))
    fade = Diary.from_rows(_rows(21, se=lambda i: max(0, 6 - i * 0.3)))
    flat = Diary.from_rows(_rows(21, se=lambda i: 3 + (i % 2)))
    assert side_effect_trend(rise).direction == "rising"
    assert side_effect_trend(fade).direction == "fading"
    assert side_effect_trend(flat).direction == "stable"
    short = Diary.from_rows(_rows(4, se=lambda i: i))
    assert side_effect_trend(short).direction == "not enough data"


def test_side_effects_constant_score_is_stable_and_finite():
    same = side_effect_trend(Diary.from_rows(_rows(14, se=lambda i: 2)))
    assert same.direction == "stable"
    assert all(np.isfinite(same.ci90)) and same.to_json()["ci90"] == [0.0, 0.0]


def test_trend_starts_at_last_dose_change():
    # side effects rise for a week after a dose increase on day 14 from a low level
    d = Diary.from_rows(
        _rows(
            28,
            se=lambda i: 2 if i < 14 else min(10, 2 + (i - 14) * 0.4),
            dose=lambda i: 10 if i < 14 else 25,
        )
    )
    tr = side_effect_trend(d)
    assert tr.from_day == 14
    assert tr.direction == "rising"


def test_withdrawal_after_missed_dose():
    dose = lambda i: 0 if i == 20 else 25  # noqa: E731
    sleep = lambda i: 7 if i in (21, 22) else 3 + (i % 2) * 0.5  # noqa: E731
    d = Diary.from_rows(_rows(30, sleep=sleep, dose=dose))
    f = withdrawal_signals(d)
    assert len(f) == 1
    assert f[0].day == 20 and f[0].details["event"] == "missed dose"
    assert "sleep" in f[0].details["rises"]
    assert f[0].sources == ("nice_ng222",)


def test_no_withdrawal_signal_without_symptoms_or_with_gaps():
    dose = lambda i: 0 if i >= 20 else 25  # noqa: E731
    d = Diary.from_rows(_rows(30, sleep=lambda i: 3, se=lambda i: 1, dose=dose, skip=(5, 6)))
    assert withdrawal_signals(d) == []
    d2 = Diary.from_rows(_rows(30, se=lambda i: 6 if i in (21, 22) else 1, dose=dose))
    f = withdrawal_signals(d2)
    assert f and f[0].details["event"] == "stop"
