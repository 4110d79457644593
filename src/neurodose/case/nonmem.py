"""NONMEM-style CSV import/export (ID, TIME, AMT, EVID, CMT, II, ADDL, SS, DV).

EVID 1 rows are doses, EVID 0 rows observations (DV in ng/mL; ``.`` or empty for
none). CMT 1 = depot (oral), 2 = central (IV bolus). Times in h, amounts in mg.

Examples
--------
>>> from neurodose.case import Regimen
>>> text = to_csv({1: Regimen.oral("25 mg", every="24 h", doses=2)}, times_h=[0, 12])
>>> print(text.splitlines()[0])
ID,TIME,AMT,EVID,CMT,II,ADDL,SS,DV
>>> regs, obs = read_csv_text(text)
>>> regs[1].expand().times.tolist()
[0.0, 24.0]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import RegimenError
from neurodose.inputs import read_text

__all__ = ["COLUMNS", "read_csv", "read_csv_text", "to_csv", "write_csv"]

COLUMNS = ("ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "SS", "DV")


def _num(row: Mapping[str, str], col: str, line: int, default: float | None = None) -> float:
    raw = (row.get(col) or "").strip()
    if raw in ("", "."):
        if default is None:
            raise RegimenError(f"line {line} {col}", raw, "a number")
        return default
    try:
        return float(raw)
    except ValueError:
        raise RegimenError(f"line {line} {col}", raw, "a number") from None


def read_csv_text(
    text: str,
) -> tuple[dict[int, Regimen], dict[int, list[tuple[float, float]]]]:
    """Parse NONMEM-style CSV text into regimens and observations per ID.

    Returns
    -------
    regimens : dict[int, Regimen]
    observations : dict[int, list[(time_h, dv_ng_per_ml)]]
    """
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().upper(): c for c in (reader.fieldnames or [])}
    for need in ("ID", "TIME", "EVID"):
        if need not in cols:
            raise RegimenError("columns", sorted(cols), f"a header with {', '.join(COLUMNS)}")
    doses: dict[int, list[DoseEvent]] = {}
    obs: dict[int, list[tuple[float, float]]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip().upper(): v for k, v in raw.items() if k is not None}
        sid = int(_num(row, "ID", line))
        evid = int(_num(row, "EVID", line))
        t = _num(row, "TIME", line)
        if evid == 1:
            cmt = int(_num(row, "CMT", line, 1.0))
            if cmt not in (1, 2):
                raise RegimenError(f"line {line} CMT", cmt, "1 (depot, oral) or 2 (central, iv)")
            ev = DoseEvent(
                amt=_num(row, "AMT", line),
                time=t,
                ii=_num(row, "II", line, 0.0),
                addl=int(_num(row, "ADDL", line, 0.0)),
                ss=int(_num(row, "SS", line, 0.0)),
                route="iv" if cmt == 2 else "oral",
                cmt=cmt,
            )
            doses.setdefault(sid, []).append(ev)
        elif evid == 0:
            dv = (row.get("DV") or "").strip()
            if dv not in ("", "."):
                obs.setdefault(sid, []).append((t, _num(row, "DV", line)))
            else:
                obs.setdefault(sid, [])
        else:
            raise RegimenError(f"line {line} EVID", evid, "0 (observation) or 1 (dose)")
    regs = {sid: Regimen.from_events(evs) for sid, evs in doses.items()}
    return regs, obs


def read_csv(
    path: str | Path,
) -> tuple[dict[int, Regimen], dict[int, list[tuple[float, float]]]]:
    """Read a NONMEM-style CSV file (see :func:`read_csv_text`)."""
    return read_csv_text(read_text(path, "NONMEM CSV"))


def to_csv(
    regimens: Mapping[int, Regimen],
    times_h: Iterable[float] = (),
    dv: Mapping[int, Iterable[float]] | None = None,
) -> str:
    """NONMEM-style CSV text: dose rows (EVID 1) and observation rows (EVID 0).

    ``dv`` optionally gives, per ID, one value (ng/mL) per entry of ``times_h``.
    """
    times = [float(t) for t in times_h]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for sid in sorted(regimens):
        rows: list[tuple[float, int, list[object]]] = []
        for e in regimens[sid].events:
            rows.append(
                (e.time, 0, [sid, _g(e.time), _g(e.amt), 1, e.cmt, _g(e.ii), e.addl, e.ss, "."])
            )
        values = list(dv[sid]) if dv is not None and sid in dv else None
        if values is not None and len(values) != len(times):
            raise RegimenError(f"dv[{sid}]", len(values), f"{len(times)} values (one per time)")
        for i, t in enumerate(times):
            d = _g(values[i]) if values is not None else "."
            rows.append((t, 1, [sid, _g(t), 0, 0, 2, 0, 0, 0, d]))
        rows.sort(key=lambda r: (r[0], r[1]))
        for _, _, r in rows:
            w.writerow(r)
    return buf.getvalue()


def write_csv(
    path: str | Path, regimens: Mapping[int, Regimen], times_h: Iterable[float] = ()
) -> None:
    """Write :func:`to_csv` output to ``path``."""
    Path(path).write_text(to_csv(regimens, times_h), encoding="utf-8")


def _g(x: float) -> str:
    return f"{float(x):.10g}"
