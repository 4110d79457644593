"""Patient diaries: daily pain, sleep and side effects, with dose taken.

CSV format (one row per day; days may be missing; see ``docs/mipd.md``)::

    date,pain,sleep,side_effects,dose_mg,notes
    2026-03-01,7,6,0,10,
    2026-03-02,7,6,1,10,dry mouth
    2026-03-04,6,5,2,0,forgot

* ``date`` — ISO date (``YYYY-MM-DD``); each date at most once. Missing days
  are gaps, handled as missing data (never filled in).
* ``pain`` — average pain in the last 24 h, 0 (none) to 10 (worst imaginable)
  (numeric rating scale, as in the IMMPACT outcome set).
* ``sleep`` — optional: sleep interference, 0 (none) to 10 (completely
  interferes), as in the daily sleep-interference scale of the gabapentinoid
  trials.
* ``side_effects`` — optional: overall side-effect burden 0 (none) to 10 (worst).
* ``dose_mg`` — optional: dose taken that day (0 = missed). Without it the
  regimen is assumed to have been followed.
* ``notes`` — optional free text (kept, not interpreted).

Empty cells in optional columns are missing values. A score outside 0-10, a
malformed date, or a date given twice is an :class:`~neurodose.errors.InputError`
naming the row and field.

Examples
--------
>>> d = Diary.from_rows([{"date": "2026-03-01", "pain": "7"},
...                      {"date": "2026-03-03", "pain": "6"}])
>>> d.day.tolist(), d.n_gap_days
([0, 2], 1)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurodose.errors import InputError
from neurodose.inputs import read_text
from neurodose.mipd.levels import parse_number

__all__ = ["MAX_DIARY_ROWS", "SCORES", "Diary", "read_diary_csv"]

#: most entries a diary file may hold (about 10 years of daily entries); bounds the work
MAX_DIARY_ROWS = 3660

FloatArray = NDArray[np.float64]

#: score columns and their allowed range
SCORES: dict[str, tuple[float, float]] = {
    "pain": (0.0, 10.0),
    "sleep": (0.0, 10.0),
    "side_effects": (0.0, 10.0),
}
_KNOWN = {"date", "pain", "sleep", "side_effects", "dose_mg", "notes"}
_ALIASES = {
    "sleep_interference": "sleep",
    "side_effect": "side_effects",
    "sideeffects": "side_effects",
    "adverse_effects": "side_effects",
    "dose": "dose_mg",
    "note": "notes",
}


def _column_name(header: str | None) -> str:
    """A header cell as the diary's column name: trimmed, lower case, spaces as
    underscores, aliases (e.g. ``dose``) resolved."""
    key = (header or "").strip().lower().replace(" ", "_")
    return _ALIASES.get(key, key)


def _normalised_row(row: Mapping[str, str | None], where: str) -> dict[str, str]:
    """One CSV row keyed by column name with trimmed values; a row with more
    fields than the header is an error."""
    if None in row:
        raise InputError(
            where,
            row[None],  # type: ignore[index]
            "no more fields than the header (quote text that contains commas)",
        )
    return {_column_name(k): (v or "").strip() for k, v in row.items()}


def _row_date(r: Mapping[str, str], where: str, seen: Mapping[dt.date, int]) -> dt.date:
    """The row's ISO date, which no earlier row (``seen``: date -> row) may repeat."""
    date_txt = r.get("date", "")
    try:
        date = dt.date.fromisoformat(date_txt)
    except ValueError:
        raise InputError(f"{where}: date", date_txt, "an ISO date such as 2026-03-01") from None
    if date in seen:
        raise InputError(
            f"{where}: date",
            date_txt,
            f"each date once (already on row {seen[date]})",
        )
    return date


def _row_scores(r: Mapping[str, str], where: str) -> dict[str, float]:
    """The row's scores within their ranges (``SCORES``); pain is required, an
    empty other score is NaN."""
    vals = {}
    for name, (lo, hi) in SCORES.items():
        txt = r.get(name, "")
        if not txt:
            if name == "pain":
                raise InputError(f"{where}: pain", txt, "a pain score 0-10")
            vals[name] = np.nan
            continue
        x = parse_number(txt, f"{where}: {name}")
        if not lo <= x <= hi:
            raise InputError(f"{where}: {name}", txt, f"a score {lo:g}-{hi:g}")
        vals[name] = x
    return vals


def _row_dose(r: Mapping[str, str], where: str) -> float:
    """The row's dose taken (mg, >= 0), NaN where the cell is empty."""
    dose_txt = r.get("dose_mg", "")
    if not dose_txt:
        return float(np.nan)
    dose = parse_number(dose_txt, f"{where}: dose_mg")
    if dose < 0:
        raise InputError(f"{where}: dose_mg", dose_txt, "a dose >= 0 mg")
    return dose


@dataclass(frozen=True)
class Diary:
    """Daily diary of one patient. Missing values are NaN *only* in the arrays
    ``sleep``, ``side_effects`` and ``dose_mg`` where the cell was empty or the
    column absent; ``pain`` is always present on a recorded day.

    Attributes
    ----------
    start : date
        The first recorded date (day 0).
    day : (n,) int
        Day number of each row (days since ``start``), increasing; gaps allowed.
    pain, sleep, side_effects, dose_mg : (n,) float
    notes : tuple of str
    """

    start: dt.date
    day: NDArray[np.int64]
    pain: FloatArray
    sleep: FloatArray
    side_effects: FloatArray
    dose_mg: FloatArray
    notes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.day.size)

    @property
    def n_days(self) -> int:
        """Days from the first to the last record, inclusive."""
        return int(self.day[-1]) + 1 if self.day.size else 0

    @property
    def n_gap_days(self) -> int:
        """Days without a record between the first and the last."""
        return self.n_days - len(self)

    @property
    def has_dose_column(self) -> bool:
        return bool(np.any(np.isfinite(self.dose_mg)))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | None]], where: str = "diary") -> Diary:
        """Build from CSV-like rows of strings (see the module docstring)."""
        recs: list[tuple[dt.date, float, float, float, float, str]] = []
        seen: dict[dt.date, int] = {}
        for i, row in enumerate(rows, start=1):
            r = _normalised_row(row, f"{where} row {i}")
            if not any(r.values()):
                continue
            date = _row_date(r, f"{where} row {i}", seen)
            seen[date] = i
            vals = _row_scores(r, f"{where} row {i}")
            dose = _row_dose(r, f"{where} row {i}")
            recs.append(
                (date, vals["pain"], vals["sleep"], vals["side_effects"], dose, r.get("notes", ""))
            )
        if not recs:
            raise InputError(where, "no rows", "at least one diary day")
        recs.sort(key=lambda x: x[0])
        start = recs[0][0]
        return cls(
            start=start,
            day=np.array([(x[0] - start).days for x in recs], dtype=np.int64),
            pain=np.array([x[1] for x in recs]),
            sleep=np.array([x[2] for x in recs]),
            side_effects=np.array([x[3] for x in recs]),
            dose_mg=np.array([x[4] for x in recs]),
            notes=tuple(x[5] for x in recs),
        )

    def on_days(self, field: str) -> tuple[NDArray[np.int64], FloatArray]:
        """Days and values of ``field`` where it was recorded."""
        x = getattr(self, field)
        ok = np.isfinite(x)
        return self.day[ok], x[ok]


def read_diary_csv(path: str | Path) -> Diary:
    """Read a diary CSV (see the module docstring).

    Raises
    ------
    InputError
        Missing ``date``/``pain`` columns, unknown columns, malformed or
        out-of-range values (naming row and field).
    """
    p = Path(path)
    text = read_text(p, "diary")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    cols = [_column_name(c) for c in (reader.fieldnames or [])]
    missing = [c for c in ("date", "pain") if c not in cols]
    if missing:
        raise InputError(f"{p.name}: columns", cols, f"columns including {', '.join(missing)}")
    unknown = [c for c in cols if c not in _KNOWN]
    if unknown:
        raise InputError(f"{p.name}: column", unknown[0], f"one of {', '.join(sorted(_KNOWN))}")
    rows = list(itertools.islice(reader, MAX_DIARY_ROWS + 1))
    if len(rows) > MAX_DIARY_ROWS:
        raise InputError(
            f"{p.name}: rows",
            f"more than {MAX_DIARY_ROWS:,}",
            f"at most {MAX_DIARY_ROWS:,} diary entries (about 10 years of daily entries)",
        )
    return Diary.from_rows(rows, where=p.name)
