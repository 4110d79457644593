"""Shared helpers for the command line: console, JSON output, cited values.

Every command prints values with their source key, and marks numbers the
evidence flags as UNVERIFIED (``verified = false``) so they stand out.

Examples
--------
>>> from neurodose.knowledge.schema import Quantity
>>> q = Quantity(value=75, unit="mg", source="nice_cg96", locator="CG96", verified=False)
>>> format_quantity(q)
'75 mg [UNVERIFIED]'
>>> format_source(q)
'nice_cg96 (CG96)'
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from neurodose.knowledge.registry import Reference, get_reference
from neurodose.knowledge.schema import Quantity, Sourced

__all__ = [
    "UNVERIFIED",
    "busy",
    "cited_table",
    "count_numbers",
    "escape",
    "flags_of",
    "format_quantity",
    "format_reference",
    "format_source",
    "make_console",
    "marks",
    "percent",
    "print_json",
    "print_sources",
    "progress_bar",
    "qty_cell",
    "reference_link",
    "reference_year",
]

#: the mark shown next to a number the evidence marks UNVERIFIED
UNVERIFIED = "UNVERIFIED"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as ``'12.3 %'``; a value that rounds to zero is ``'0.0 %'``, never
    ``'-0.0 %'`` (floating-point noise below zero is not a negative share).

    >>> percent(-1e-9), percent(0.1234), percent(-0.25, 0)
    ('0.0 %', '12.3 %', '-25 %')
    """
    x = 100.0 * float(fraction)
    if round(x, digits) == 0:
        x = 0.0
    return f"{x:.{digits}f} %"


def make_console(stderr: bool = False) -> Console:
    """A rich console; 120 columns when output is not a terminal (pipes, tests).

    Colour follows rich's rules (``NO_COLOR`` is honoured); highlighting of
    numbers is off so that UNVERIFIED marks are the only emphasis.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty() and "COLUMNS" not in os.environ:
        width = 120
    return Console(stderr=stderr, highlight=False, width=width, soft_wrap=False)


@contextlib.contextmanager
def busy(text: str) -> Iterator[None]:
    """A spinner with elapsed time on stderr while something slow runs (terminals only).

    Used around population simulations, fits and diaries; pipes and tests see nothing.
    """
    console = make_console(stderr=True)
    if not console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), console=console, transient=True
    ) as prog:
        prog.add_task(text, total=None)
        yield


@contextlib.contextmanager
def progress_bar(text: str, total: int, unit: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar (done of ``total`` ``unit``, elapsed and remaining time) on stderr
    for long runs (terminals only: elsewhere ``None``); yields ``update(done, total)``."""
    console = make_console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn(text), BarColumn(), MofNCompleteColumn(), TextColumn(unit))
    with Progress(
        *columns, TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True
    ) as prog:
        task = prog.add_task(text, total=total)

        def update(done: int, of: int) -> None:
            prog.update(task, completed=done, total=of)

        yield update


def step_row(step: Any, unit: str, *, drug_and_daily: bool = False) -> list[str]:
    """A plan step as table cells: day, date, [drug,] dose, every (h), when, [daily,]
    what to take."""
    from neurodose.advice.plans import frequency_text

    cells = [
        str(step.day),
        step.date.isoformat(),
        f"{step.dose_mg:g} {unit}",
        f"{step.every_h:g}",
        frequency_text(step),
        escape(step.units) + (" (optional)" if step.optional else ""),
    ]
    if drug_and_daily:
        cells.insert(2, step.drug)
        cells.insert(6, f"{step.daily_mg:g}")
    return cells


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout (plain text, no colour)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def flags_of(item: Sourced) -> list[str]:
    """The marks a cited item carries: UNVERIFIED, low-trust, derived, calibrated."""
    flags: list[str] = []
    if not item.verified:
        flags.append(UNVERIFIED)
    if item.low_trust:
        flags.append("low-trust source")
    if isinstance(item, Quantity):
        if item.derived:
            flags.append("derived")
        if item.calibrated:
            flags.append("calibrated")
    return flags


def marks(item: Sourced) -> str:
    """Rich markup for the marks of a cited item (yellow), or ``''``."""
    flags = flags_of(item)
    return f"[yellow]{', '.join(flags)}[/yellow]" if flags else ""


def qty_cell(q: Quantity | None) -> str:
    """Rich markup for a table cell: the value with marks, then the source key (dim)."""
    if q is None:
        return "[dim]-[/dim]"
    text = escape(format_quantity(q, flags=False))
    if flags_of(q):
        text += f" {marks(q)}"
    return f"{text}\n[dim]{escape(q.source)}[/dim]"


def _num(x: float) -> str:
    return f"{x:g}"


def format_quantity(q: Quantity, flags: bool = True) -> str:
    """Readable text for a cited number: value or range, spread, unit, marks.

    >>> from neurodose.knowledge.schema import Quantity
    >>> format_quantity(Quantity(value=3.6, ci_low=3.0, ci_high=4.4, unit="1",
    ...                          source="finnerup2018_bja", locator="Table 1"))
    '3.6 (CI 3-4.4)'
    >>> format_quantity(Quantity(low=80, high=200, unit="ng/mL", source="mayo_amtrp",
    ...                          locator="AMTRP"))
    '80-200 ng/mL'
    """
    if q.value is not None:
        text = _num(q.value)
        if q.sd is not None:
            text += f" ± {_num(q.sd)}"
    else:
        assert q.low is not None and q.high is not None  # the schema guarantees a range
        text = f"{_num(q.low)}-{_num(q.high)}"
    if q.unit not in ("1", "score"):
        text += f" {q.unit}"
    extra = []
    if q.value is not None and q.low is not None and q.high is not None:
        extra.append(f"range {_num(q.low)}-{_num(q.high)}")
    if q.ci_low is not None and q.ci_high is not None:
        extra.append(f"CI {_num(q.ci_low)}-{_num(q.ci_high)}")
    if q.cv is not None:
        extra.append(f"CV {_num(100 * q.cv)} %")
    if q.n is not None:
        extra.append(f"n = {q.n}")
    if extra:
        text += f" ({'; '.join(extra)})"
    if flags and (marks := flags_of(q)):
        text += f" [{', '.join(marks)}]"
    return text


def format_source(item: Sourced) -> str:
    """``source_key (locator)`` for a cited item."""
    return f"{item.source} ({item.locator})"


def reference_year(ref: Reference) -> str:
    """Year of a CSL-JSON item, or ``''``."""
    try:
        return str(ref["issued"]["date-parts"][0][0])
    except (KeyError, IndexError, TypeError):
        return ""


def _authors(ref: Reference) -> str:
    names = [a.get("family") or a.get("literal", "") for a in ref.get("author", [])]
    names = [n for n in names if n]
    if not names:
        return ref.get("publisher", "") or ""
    return names[0] + (" et al." if len(names) > 1 else "")


def reference_link(ref: Reference) -> str:
    """DOI, PMID, PMCID or URL of a CSL-JSON item (first that is present)."""
    if ref.get("DOI"):
        return f"doi:{ref['DOI']}"
    if ref.get("PMID"):
        return f"PMID {ref['PMID']}"
    if ref.get("PMCID"):
        return str(ref["PMCID"])
    return str(ref.get("URL", ""))


def format_reference(ref: Reference) -> str:
    """One-line citation: authors (year). Title. Container. Link.

    >>> format_reference({"id": "x", "title": "A trial", "author": [{"family": "Smith"}],
    ...                   "issued": {"date-parts": [[2015]]}, "DOI": "10.1/x"})
    'Smith (2015). A trial. doi:10.1/x'
    """
    parts = []
    who, year = _authors(ref), reference_year(ref)
    if who or year:
        parts.append(f"{who} ({year})." if year else f"{who}.")
    parts.append(str(ref.get("title", "")).rstrip(".") + ".")
    if ref.get("container-title"):
        parts.append(str(ref["container-title"]) + ".")
    parts.append(reference_link(ref))
    return " ".join(p for p in parts if p).strip()


def cited_table(title: str, columns: Iterable[str]) -> Table:
    """A table whose last columns are the source and the marks."""
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def print_sources(
    console: Console, keys: Iterable[str], title: str = "Sources", *, compact: bool = False
) -> None:
    """Print the references behind ``keys`` (unknown keys raise UnknownSourceError).

    With ``compact=True`` only the keys are listed, on one wrapped line, with a pointer to
    ``neurodose sources KEY`` for the full reference (used by the demo, where full lists
    would bury the results).
    """
    keys = sorted(set(keys))
    console.print(f"[bold]{escape(title)}[/bold] ({len(keys)})")
    if compact:
        for key in keys:
            get_reference(key)  # every key must still resolve
        console.print("  " + escape(", ".join(keys)))
        console.print("  [dim]full references: neurodose sources KEY[/dim]")
        return
    for key in keys:
        ref = get_reference(key)
        console.print(f"  [cyan]{escape(key)}[/cyan]: {escape(format_reference(ref))}")


def count_numbers(items: Iterable[tuple[str, Sourced]]) -> Mapping[str, int]:
    """Count cited items, numbers and UNVERIFIED numbers/items."""
    n_items = n_numbers = n_unverified_numbers = n_unverified_items = 0
    for _, item in items:
        n_items += 1
        if not item.verified:
            n_unverified_items += 1
        if isinstance(item, Quantity):
            n_numbers += 1
            if not item.verified:
                n_unverified_numbers += 1
    return {
        "cited_items": n_items,
        "numbers": n_numbers,
        "unverified_numbers": n_unverified_numbers,
        "unverified_items": n_unverified_items,
    }
