"""iCalendar (RFC 5545) export of a plan: one all-day event per dose step and review.

Written by hand (no dependency): CRLF line ends, lines folded at 75 octets,
TEXT values escaped (backslash, semicolon, comma, newline), UID and DTSTAMP on
every VEVENT.

Examples
--------
>>> import datetime as dt
>>> from neurodose.advice.plans import titration_plan
>>> p = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
>>> text = to_ics(p, stamp=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
>>> text.startswith("BEGIN:VCALENDAR\\r\\n") and text.endswith("END:VCALENDAR\\r\\n")
True
>>> parse_ics(text)[0]["DTSTART;VALUE=DATE"]
'20260105'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from neurodose.advice.plans import Plan, schedule_text

__all__ = ["escape_text", "fold", "parse_ics", "to_ics", "write_ics"]

PRODID = "-//neurodose//neurodose plan//EN"


def escape_text(s: str) -> str:
    r"""Escape a TEXT value (RFC 5545 3.3.11).

    >>> escape_text("a,b;c\\d\ne")
    'a\\,b\\;c\\\\d\\ne'
    """
    return (
        s.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (continuation lines start with a space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    cur = b""
    limit = 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > limit:
            parts.append(cur.decode("utf-8"))
            cur = b""
            limit = 74  # continuation lines carry a leading space
        cur += b
    parts.append(cur.decode("utf-8"))
    return "\r\n ".join(parts) + "\r\n"


def _uid(plan: Plan, i: int, what: str) -> str:
    h = hashlib.sha1(f"{plan.kind}|{'|'.join(plan.drugs)}|{plan.start_date}|{i}|{what}".encode())
    return f"{h.hexdigest()[:20]}@neurodose"


def _event(plan: Plan, i: int, date: dt.date, summary: str, desc: str, stamp: str) -> list[str]:
    end = date + dt.timedelta(days=1)
    return [
        "BEGIN:VEVENT",
        f"UID:{_uid(plan, i, summary)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{date:%Y%m%d}",
        f"DTEND;VALUE=DATE:{end:%Y%m%d}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(desc)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def to_ics(plan: Plan, *, stamp: dt.datetime | None = None) -> str:
    """The plan as an iCalendar string (one VEVENT per step and per review)."""
    st = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp_s = st.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text('neurodose ' + plan.kind + ': ' + ' -> '.join(plan.drugs))}",
    ]
    i = 0
    for s in plan.steps:
        if s.daily_mg == 0 and s.note == "stop":
            summary = f"{s.drug}: stop"
        elif s.daily_mg == 0:
            summary = f"{s.drug}: {s.units}"
        else:
            summary = f"{s.drug} {schedule_text(s, plan.unit)}"
        desc = (
            f"Daily total {s.daily_mg:g} {plan.unit}. Take: {s.units}. {s.note}".strip()
            + ("" if not s.optional else " Optional: only if needed and tolerated.")
            + "\nDecision support from neurodose; follow your prescriber's instructions."
            + "\nSources: "
            + ", ".join(plan.sources)
        )
        lines += _event(plan, i, s.date, summary, desc, stamp_s)
        i += 1
    for r in plan.reviews:
        lines += _event(plan, i, r.date, "Review: " + r.text.split(":")[0], r.text, stamp_s)
        i += 1
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)


def write_ics(plan: Plan, path: str | Path) -> Path:
    """Write :func:`to_ics` to ``path`` (bytes as given: CRLF preserved)."""
    p = Path(path)
    p.write_bytes(to_ics(plan).encode("utf-8"))
    return p


def parse_ics(text: str) -> list[dict[str, str]]:
    """Minimal RFC 5545 reader (unfolds lines; returns each VEVENT's properties).

    Used by the tests to check the output; raises ValueError on structural errors.
    """
    if "\r\n" not in text:
        raise ValueError("iCalendar lines must end with CRLF")
    raw = text.split("\r\n")
    if raw[-1] != "":
        raise ValueError("text must end with CRLF")
    lines: list[str] = []
    for line in raw[:-1]:
        if line.startswith((" ", "\t")):
            if not lines:
                raise ValueError("continuation line at the start")
            lines[-1] += line[1:]
        else:
            lines.append(line)
    if lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        raise ValueError("not a VCALENDAR")
    events: list[dict[str, str]] = []
    cur: dict[str, str] | None = None
    for line in lines[1:-1]:
        if ":" not in line:
            raise ValueError(f"bad content line {line!r}")
        name, value = line.split(":", 1)
        if name == "BEGIN" and value == "VEVENT":
            if cur is not None:
                raise ValueError("nested VEVENT")
            cur = {}
        elif name == "END" and value == "VEVENT":
            if cur is None:
                raise ValueError("END without BEGIN")
            for req in ("UID", "DTSTAMP", "DTSTART;VALUE=DATE"):
                if req not in cur:
                    raise ValueError(f"VEVENT without {req}")
            events.append(cur)
            cur = None
        elif cur is not None:
            cur[name] = value
    if cur is not None:
        raise ValueError("unterminated VEVENT")
    return events
