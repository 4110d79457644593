"""RFC 5545 export checked line by line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from neurodose.advice.ics import escape_text, fold, parse_ics, to_ics, write_ics
from neurodose.advice.plans import switch_plan, taper_plan, titration_plan

D0 = dt.date(2026, 1, 5)
STAMP = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_every_line_is_crlf_and_at_most_75_octets() -> None:
    text = to_ics(switch_plan("amitriptyline", "duloxetine", 50, start_date=D0), stamp=STAMP)
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)


def test_one_event_per_step_and_review_with_dates() -> None:
    plan = titration_plan("amitriptyline", start_date=D0)
    events = parse_ics(to_ics(plan, stamp=STAMP))
    assert len(events) == len(plan.steps) + len(plan.reviews)
    assert events[0]["DTSTART;VALUE=DATE"] == "20260105"
    assert events[1]["DTSTART;VALUE=DATE"] == "20260112"
    assert events[0]["SUMMARY"] == "amitriptyline 10 mg once a day\\, at night"
    assert len({e["UID"] for e in events}) == len(events)
    assert all(e["DTSTAMP"] == "20260101T120000Z" for e in events)
    assert events[0]["DTEND;VALUE=DATE"] == "20260106"


def test_text_escaping_and_unfolding_round_trip() -> None:
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    long = "DESCRIPTION:" + "é" * 80
    folded = fold(long)
    assert all(len(x.encode()) <= 75 for x in folded.split("\r\n") if x)
    assert parse_ics("BEGIN:VCALENDAR\r\n" + "END:VCALENDAR\r\n") == []
    unfolded = folded.replace("\r\n ", "").rstrip("\r\n")
    assert unfolded == long


def test_parser_rejects_bad_structure() -> None:
    with pytest.raises(ValueError):
        parse_ics("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    with pytest.raises(ValueError):
        parse_ics("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n")


def test_write_ics_keeps_crlf(tmp_path: Path) -> None:
    out = write_ics(taper_plan("duloxetine", 60, start_date=D0), tmp_path / "t.ics")
    data = out.read_bytes()
    assert b"\r\n" in data and b"SUMMARY:duloxetine: stop" in data
