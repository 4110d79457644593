"""Measured drug levels (TDM samples): reading, checking and converting.

CSV format (one row per measured analyte; see ``docs/mipd.md``)::

    time_h,analyte,value,unit,lloq
    335.5,amitriptyline,62,ng/mL,5
    335.5,nortriptyline,48,ng/mL,5
    647.0,amitriptyline,<5,ng/mL,5

* ``time_h`` — hours after the first dose; **or** ``datetime`` (ISO 8601,
  e.g. ``2026-03-02 08:30``) together with the first-dose date-time.
* ``analyte`` — a model analyte or alias (``AMI``, ``NT``), case-insensitive; a
  summed result is written with ``+`` (``AMI+NT``; its residual variance is the sum
  of the analytes' variances).
* ``value`` — a number, or ``<X`` / ``BLQ`` for a result below the lower limit
  of quantification (M3 likelihood; ``lloq`` needed for ``BLQ``).
* ``unit`` — a concentration unit (ng/mL, µg/L, mg/L ...) or a molar unit
  (nmol/L, nM) when the analyte's molar mass is in the knowledge base.
* ``lloq`` — optional, same unit as ``value``. A value below ``lloq`` is
  treated as BLQ.

Examples
--------
>>> obs = Observations.from_rows(
...     [{"time_h": "12", "analyte": "AMI", "value": "40", "unit": "ng/mL"}],
...     analytes=("amitriptyline", "nortriptyline"))
>>> obs.analyte, obs.value.tolist()
(('amitriptyline',), [40.0])
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurodose.errors import InputError, UnitError, UnknownNameError, ref
from neurodose.inputs import read_text
from neurodose.units import parse_unit

__all__ = [
    "ANALYTE_ALIASES",
    "MAX_LEVEL_ROWS",
    "Observations",
    "parse_datetime",
    "parse_number",
    "read_levels_csv",
]

#: most rows a levels file may hold; bounds the fitting work
MAX_LEVEL_ROWS = 1000

FloatArray = NDArray[np.float64]

#: common laboratory abbreviations -> knowledge-base names
ANALYTE_ALIASES: dict[str, str] = {
    "ami": "amitriptyline",
    "amt": "amitriptyline",
    "nt": "nortriptyline",
    "nor": "nortriptyline",
    "ntp": "nortriptyline",
    "dlx": "duloxetine",
    "ven": "venlafaxine",
    "odv": "o_desmethylvenlafaxine",
    "gbp": "gabapentin",
    "pgb": "pregabalin",
}


def parse_datetime(text: str, field: str = "datetime") -> dt.datetime:
    """Parse an ISO 8601 date-time (``2026-03-02 08:30`` or ``2026-03-02T08:30``)."""
    try:
        return dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(field, text, "an ISO 8601 date-time such as '2026-03-02 08:30'") from None


def parse_number(text: str, field: str) -> float:
    """A finite number from a CSV cell (levels, diaries); errors name ``field``.

    >>> parse_number(" 12.5", "levels.csv row 2: value")
    12.5
    >>> parse_number("nan", "diary.csv row 3: pain")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: diary.csv row 3: pain: 'nan' is not allowed; ...number
    """
    try:
        x = float(text)
    except ValueError:
        raise InputError(field, text, "a number") from None
    if not np.isfinite(x):
        raise InputError(field, text, "a finite number")
    return x


@dataclass(frozen=True)
class Observations:
    """Measured levels of one patient, in canonical units.

    Attributes
    ----------
    times_h : (m,) float
        Sample times, hours after the first dose.
    analyte : tuple of str
        Analyte per sample.
    value : (m,) float
        Measured concentration in ng/mL (for BLQ rows: the LLOQ).
    lloq : (m,) float
        Lower limit of quantification in ng/mL (0 when not given).
    blq : (m,) bool
        Below the LLOQ (handled with the M3 likelihood).
    """

    times_h: FloatArray
    analyte: tuple[str, ...]
    value: FloatArray
    lloq: FloatArray
    blq: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.times_h.size)

    @classmethod
    def empty(cls) -> Observations:
        """No levels (a-priori prediction)."""
        z = np.zeros(0)
        return cls(z, (), z.copy(), z.copy(), np.zeros(0, dtype=bool))

    @classmethod
    def from_arrays(
        cls,
        times_h: Sequence[float] | FloatArray,
        analyte: Sequence[str],
        value: Sequence[float] | FloatArray,
        lloq: Sequence[float] | FloatArray | None = None,
        analytes: Sequence[str] | None = None,
    ) -> Observations:
        """Build from canonical arrays (ng/mL, h); BLQ where ``value < lloq``."""
        t = np.asarray(times_h, dtype=float).ravel()
        v = np.asarray(value, dtype=float).ravel()
        q = np.zeros_like(t) if lloq is None else np.asarray(lloq, dtype=float).ravel()
        names = tuple(_resolve_analyte(a, analytes, i + 1) for i, a in enumerate(analyte))
        if not (t.size == v.size == q.size == len(names)):
            raise InputError("levels", "arrays of different lengths", "one entry per sample")
        for i in range(t.size):
            _check_row(i + 1, t[i], v[i], q[i])
        blq = v < q
        v = np.where(blq, q, v)
        return cls(t, names, v, q, blq)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, str | None]],
        analytes: Sequence[str],
        first_dose: dt.datetime | None = None,
        molar_mass: Mapping[str, float] | None = None,
        where: str = "levels",
    ) -> Observations:
        """Build from CSV-like rows (strings); see the module docstring."""
        times: list[float] = []
        names: list[str] = []
        vals: list[float] = []
        lloqs: list[float] = []
        blqs: list[bool] = []
        for i, row in enumerate(rows, start=1):
            if None in row:
                raise InputError(
                    f"{where} row {i}",
                    row[None],  # type: ignore[index]
                    "no more fields than the header",
                )
            row_s: dict[str, str] = {
                (k or "").strip().lower(): (v or "").strip() for k, v in row.items()
            }
            if not any(row_s.values()):
                continue  # blank line
            t = _row_time(row_s, i, first_dose, where)
            name = _resolve_analyte(row_s.get("analyte", ""), analytes, i, where)
            unit = row_s.get("unit", "")
            if not unit:
                raise InputError(
                    f"{where} row {i}: unit", unit, "a concentration unit such as ng/mL"
                )
            factor = _unit_factor(unit, name, molar_mass or {}, i, where)
            raw = row_s.get("value", "")
            lloq_txt = row_s.get("lloq", "")
            lloq = parse_number(lloq_txt, f"{where} row {i}: lloq") * factor if lloq_txt else 0.0
            if lloq < 0:
                raise InputError(f"{where} row {i}: lloq", lloq_txt, "a limit >= 0")
            blq = False
            if raw.upper() in {"BLQ", "<LLOQ", "ND"}:
                if lloq <= 0:
                    raise InputError(
                        f"{where} row {i}: lloq", lloq_txt, "a limit > 0 when value is BLQ"
                    )
                value, blq = lloq, True
            elif raw.startswith("<"):
                value = parse_number(raw[1:], f"{where} row {i}: value") * factor
                if value <= 0:
                    raise InputError(f"{where} row {i}: value", raw, "'<X' with X > 0")
                lloq = max(lloq, value)
                value, blq = lloq, True
            else:
                value = parse_number(raw, f"{where} row {i}: value") * factor
                _check_row(i, t, value, lloq, where)
                if lloq > 0 and value < lloq:
                    value, blq = lloq, True
            times.append(t)
            names.append(name)
            vals.append(value)
            lloqs.append(lloq)
            blqs.append(blq)
        if not times:
            return cls.empty()
        return cls(
            np.asarray(times),
            tuple(names),
            np.asarray(vals),
            np.asarray(lloqs),
            np.asarray(blqs, dtype=bool),
        )

    def check_after(self, first_dose_h: float, where: str = "levels") -> None:
        """Raise if any sample is before ``first_dose_h``."""
        bad = np.nonzero(self.times_h < first_dose_h)[0]
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"{where} row {i + 1}: time_h",
                float(self.times_h[i]),
                f"a sample time at or after the first dose (time {first_dose_h:g} h)",
            )

    def index_by_analyte(self, analytes: Sequence[str]) -> dict[str, NDArray[np.intp]]:
        """Row indices per analyte (only analytes present)."""
        out: dict[str, NDArray[np.intp]] = {}
        arr = np.asarray(self.analyte, dtype=object)
        for a in analytes:
            idx = np.nonzero(arr == a)[0]
            if idx.size:
                out[a] = idx
        return out


def _resolve_analyte(
    raw: str, analytes: Sequence[str] | None, row: int, where: str = "levels"
) -> str:
    name = str(raw).strip()
    if not name:
        raise InputError(f"{where} row {row}: analyte", raw, "an analyte name")
    key = name.lower().replace("-", "_").replace(" ", "")
    if "+" in key:  # a summed result, e.g. "AMI+NT" (total of amitriptyline and nortriptyline)
        parts = [_resolve_analyte(p, analytes, row, where) for p in key.split("+") if p]
        if len(set(parts)) != len(parts) or len(parts) < 2:
            raise InputError(
                f"{where} row {row}: analyte", name, "a sum of different analytes, e.g. AMI+NT"
            )
        if analytes is not None:
            parts.sort(key=list(analytes).index)
        return "+".join(parts)
    key = ANALYTE_ALIASES.get(key, key)
    if analytes is None:
        return key
    if key in analytes:
        return key
    raise UnknownNameError(
        f"analyte ({where} row {row})", name, [*analytes, "+".join(analytes), *ANALYTE_ALIASES]
    )


def _row_time(row: Mapping[str, str], i: int, first_dose: dt.datetime | None, where: str) -> float:
    if row.get("time_h"):
        return parse_number(row["time_h"], f"{where} row {i}: time_h")
    if row.get("datetime"):
        when = parse_datetime(row["datetime"], f"{where} row {i}: datetime")
        if first_dose is None:
            raise InputError(
                f"{where} row {i}: datetime",
                row["datetime"],
                "time_h, or a datetime together with the first-dose date-time "
                f"({ref('first_dose')})",
            )
        return (when - first_dose).total_seconds() / 3600.0
    raise InputError(f"{where} row {i}: time_h", "", "a time_h or datetime column")


def _unit_factor(
    unit: str, analyte: str, molar_mass: Mapping[str, float], i: int, where: str
) -> float:
    try:
        dim, factor = parse_unit(unit)
    except UnitError as exc:
        raise UnitError(f"{where} row {i}: {exc}") from None
    if dim == "concentration":
        return factor
    if dim == "molar":
        if analyte not in molar_mass:
            raise UnitError(
                f"{where} row {i}: unit {unit!r} is molar but no molar mass of {analyte!r} "
                "is in the knowledge base; give the value in ng/mL"
            )
        return factor * molar_mass[analyte] / 1000.0
    raise UnitError(
        f"{where} row {i}: unit {unit!r} is a {dim}; expected a concentration such as ng/mL"
    )


def _check_row(i: int, t: float, value: float, lloq: float, where: str = "levels") -> None:
    if not np.isfinite(t):
        raise InputError(f"{where} row {i}: time_h", t, "a finite time")
    if not np.isfinite(value):
        raise InputError(f"{where} row {i}: value", value, "a finite concentration")
    if value < 0:
        raise InputError(f"{where} row {i}: value", value, "a concentration >= 0")
    if lloq < 0:
        raise InputError(f"{where} row {i}: lloq", lloq, "a limit >= 0")


def read_levels_csv(
    path: str | Path,
    analytes: Sequence[str],
    first_dose: dt.datetime | None = None,
    molar_mass: Mapping[str, float] | None = None,
) -> Observations:
    """Read a levels CSV (see the module docstring) into :class:`Observations`.

    Raises
    ------
    InputError
        Missing columns, bad numbers, negative concentrations (naming the row).
    UnknownNameError
        An analyte the model does not predict (with close matches).
    UnitError
        An unknown unit or one that is not a concentration.
    """
    p = Path(path)
    text = read_text(p, "levels")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    cols = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in ("analyte", "value", "unit") if c not in cols]
    if "time_h" not in cols and "datetime" not in cols:
        missing.insert(0, "time_h or datetime")
    if missing:
        raise InputError(f"{p.name}: columns", cols, f"columns including {', '.join(missing)}")
    rows = list(itertools.islice(reader, MAX_LEVEL_ROWS + 1))
    if len(rows) > MAX_LEVEL_ROWS:
        raise InputError(
            f"{p.name}: rows", f"more than {MAX_LEVEL_ROWS}", f"at most {MAX_LEVEL_ROWS:,} levels"
        )
    return Observations.from_rows(
        rows, analytes, first_dose=first_dose, molar_mass=molar_mass, where=p.name
    )
