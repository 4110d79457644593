"""The input boundary: files, output paths and numbers checked in one place.

Every reader of a user file (patient JSON, levels and diary CSV, regimen and
trial-design TOML) goes through :func:`read_text`; every writer of a user path
(plots, calendars, CSV exports) through :func:`output_path` and
:func:`writing`; numbers from the outside through :func:`finite_number` and
:func:`count`. The command line, the library and the clinic service share
these checks, so a bad input gets the same one-line
:class:`~neurodose.errors.InputError` everywhere, naming the field, the value
and what is allowed.

Rules
-----
- an input file must exist, be a regular file (not a folder, device or pipe),
  be readable, be UTF-8 text and be no larger than :func:`max_input_bytes`
  (``NEURODOSE_MAX_INPUT_BYTES``, default 5 MiB); it is read with a bound, so
  ``/dev/zero`` or a huge file never exhausts memory;
- an output path must name a file (not a folder) whose folder already exists;
  folders are created only when asked (``mkdir=True``, the ``--mkdir`` flag),
  never silently;
- a number must be finite and inside its allowed range.

Examples
--------
>>> finite_number(2.5, "days", low=0, low_inclusive=False)
2.5
>>> finite_number(float("nan"), "days")
Traceback (most recent call last):
...
neurodose.errors.InputError: days: nan is not allowed; expected a finite number
>>> count(0, "chunk-size", low=1)
Traceback (most recent call last):
...
neurodose.errors.InputError: chunk-size: 0 is not allowed; expected a whole number >= 1
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from neurodose.errors import InputError, ref

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "count",
    "finite_number",
    "max_input_bytes",
    "output_dir",
    "output_path",
    "read_json",
    "read_text",
    "save_figure",
    "writing",
]

#: default size limit of one input file (bytes); ``NEURODOSE_MAX_INPUT_BYTES`` overrides it
DEFAULT_MAX_INPUT_BYTES = 5 * 1024 * 1024


def max_input_bytes() -> int:
    """The size limit of one input file, bytes (``NEURODOSE_MAX_INPUT_BYTES`` or 5 MiB).

    >>> max_input_bytes() > 0
    True
    """
    raw = os.environ.get("NEURODOSE_MAX_INPUT_BYTES")
    if raw is None or not raw.strip():
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise InputError("NEURODOSE_MAX_INPUT_BYTES", raw, "a whole number of bytes") from None
    if value < 1:
        raise InputError("NEURODOSE_MAX_INPUT_BYTES", raw, "a whole number of bytes >= 1")
    return value


def _size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def read_json(path: str | Path, field: str, error: type[InputError] = InputError) -> Any:
    """A user's JSON file (:func:`read_text`, then parsed); an unreadable file or bad
    JSON is an ``error`` naming ``field`` and the file.

    >>> read_json("/nonexistent.json", "patient file")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: patient file: '/nonexistent.json' is not allowed; ...
    """
    import json

    p = Path(path)
    try:
        text = read_text(p, field)  # regular, UTF-8, size-limited
    except InputError as exc:
        raise error(field, str(p), exc.allowed) from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise error(field, str(p), f"valid JSON ({exc})") from None


def read_text(path: str | Path, field: str, *, max_bytes: int | None = None) -> str:
    """Read a user's text file, checked: regular, readable, UTF-8, size-limited.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    field : str
        The input's name in errors (``"--levels"``, ``"patient file"``).
    max_bytes : int, optional
        Size limit in bytes (default :func:`max_input_bytes`).

    Returns
    -------
    str
        The text, with a leading UTF-8 byte-order mark removed.

    Raises
    ------
    InputError
        Missing, a folder, a device or pipe, unreadable, too large or not UTF-8.

    Examples
    --------
    >>> read_text("/nonexistent/x.json", "patient file")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: patient file: '/nonexistent/x.json' is not allowed; expected an ...
    """
    p = Path(path)
    limit = max_input_bytes() if max_bytes is None else max_bytes
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(field, str(p), "an existing file") from None
    except (OSError, ValueError) as exc:
        raise InputError(field, str(p), f"a readable file ({_os_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(field, str(p), "a file, not a folder")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(field, str(p), "a regular file (not a device, pipe or socket)")
    if st.st_size > limit:
        raise InputError(
            field,
            str(p),
            f"a file of at most {_size_text(limit)} (it has {_size_text(st.st_size)}; "
            "NEURODOSE_MAX_INPUT_BYTES raises the limit)",
        )
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(field, str(p), f"a readable file ({_os_reason(exc)})") from None
    if len(data) > limit:  # grew while we looked
        raise InputError(field, str(p), f"a file of at most {_size_text(limit)}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            field, str(p), f"UTF-8 text (byte 0x{bad} at offset {exc.start} is not UTF-8)"
        ) from None
    return text.removeprefix("\ufeff")


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


def output_path(
    path: str | Path,
    field: str,
    *,
    suffixes: Sequence[str] = (),
    mkdir: bool = False,
) -> Path:
    """Check a path the user asked us to write; create its folder only if ``mkdir``.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write.
    field : str
        The option's name in errors (``"--plot"``).
    suffixes : sequence of str
        Allowed endings (lower case, with the dot), e.g. ``(".png", ".html")``; empty: any.
    mkdir : bool
        Create a missing folder (and its parents); otherwise a missing folder is an error.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        Wrong ending, a folder, a device, a missing or unwritable folder.

    Examples
    --------
    >>> output_path("/nonexistent/x.png", "--plot", suffixes=(".png",))
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: --plot: '/nonexistent/x.png' is not allowed; expected a path in an
    existing folder ('/nonexistent' does not exist; create it first or pass `mkdir`)
    """
    p = Path(path)
    if not str(path).strip() or p.name in ("", ".", ".."):
        raise InputError(field, str(path), "a file name")
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(field, str(p), "a file name ending in " + " or ".join(suffixes))
    try:
        if p.is_dir():
            raise InputError(field, str(p), "a file path, not a folder")
        if p.exists() and not p.is_file():
            raise InputError(field, str(p), "a regular file (not a device, pipe or socket)")
        parent = p.parent
        if not parent.exists():
            if not mkdir:
                raise InputError(
                    field,
                    str(p),
                    f"a path in an existing folder ({str(parent)!r} does not exist; "
                    f"create it first or pass {ref('mkdir')})",
                )
            parent.mkdir(parents=True, exist_ok=True)
        if not parent.is_dir():
            raise InputError(field, str(p), f"a path in a folder ({str(parent)!r} is a file)")
    except OSError as exc:
        raise InputError(field, str(p), f"a writable path ({_os_reason(exc)})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(field, str(p), f"a path in a writable folder ({str(parent)!r} is not)")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(field, str(p), "a writable file")
    return p


def output_dir(path: str | Path, field: str, *, mkdir: bool = False) -> Path:
    """Check a folder the user asked us to write into; create it only if ``mkdir``.

    Examples
    --------
    >>> output_dir("/nonexistent/keys", "directory")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: directory: '/nonexistent/keys' is not allowed; expected an
    existing folder (create it first or pass `mkdir`)
    """
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            raise InputError(field, str(p), "a folder (this is a file)")
        if not p.exists():
            if not mkdir:
                raise InputError(
                    field, str(p), f"an existing folder (create it first or pass {ref('mkdir')})"
                )
            p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(field, str(p), f"a writable folder ({_os_reason(exc)})") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(field, str(p), "a writable folder")
    return p


@contextlib.contextmanager
def writing(path: str | Path, field: str) -> Iterator[Path]:
    """Context for writing ``path``: an ``OSError`` becomes an InputError naming ``field``.

    >>> with writing("/nonexistent/x.txt", "--csv") as p:
    ...     p.write_text("x")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: --csv: '/nonexistent/x.txt' is not allowed; expected a writable
    path (no such file or directory)
    """
    p = Path(path)
    try:
        yield p
    except OSError as exc:
        raise InputError(field, str(p), f"a writable path ({_os_reason(exc)})") from None


def finite_number(
    value: object,
    field: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    unit: str = "",
) -> float:
    """``value`` as a finite float inside ``[low, high]`` (``low`` exclusive if asked).

    Parameters
    ----------
    value : object
        A number or numeric text.
    field : str
        The input's name in errors.
    low, high : float, optional
        Bounds (``high`` inclusive).
    low_inclusive : bool
        Whether ``low`` itself is allowed.
    unit : str
        Unit shown in the error, e.g. ``"h"``.

    Examples
    --------
    >>> finite_number("12", "hours", low=0, low_inclusive=False, unit="h")
    12.0
    >>> finite_number(-1, "hours", low=0, low_inclusive=False, unit="h")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: hours: -1 is not allowed; expected a finite number > 0 h
    """
    u = f" {unit}" if unit else ""
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low:g}{u}")
    if high is not None:
        parts.append(f"<= {high:g}{u}")
    allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, bool):
        raise InputError(field, value, allowed)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(field, value, allowed) from None
    if not math.isfinite(x):
        raise InputError(field, value, allowed)
    if low is not None and (x < low or (x == low and not low_inclusive)):
        raise InputError(field, value, allowed)
    if high is not None and x > high:
        raise InputError(field, value, allowed)
    return x


def count(value: object, field: str, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as a whole number in ``[low, high]``.

    Examples
    --------
    >>> count(3, "population", low=1, high=100_000)
    3
    >>> count(2_000_000, "population", low=1, high=100_000)
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: population: 2000000 is not allowed; expected a whole number >= 1
    and <= 100,000
    """
    allowed = f"a whole number >= {low:,}" + ("" if high is None else f" and <= {high:,}")
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            f = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(field, value, allowed) from None
        if not math.isfinite(f) or f != int(f):
            raise InputError(field, value, allowed)
        value = int(f)
    if value < low or (high is not None and value > high):
        raise InputError(field, value, allowed)
    return int(value)


def save_figure(fig: Any, path: str | Path, flag: str = "--plot") -> None:
    """Lay out a matplotlib figure, write it to ``path`` (110 dpi; a write error names
    ``flag``, :func:`writing`) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        with writing(Path(path), flag):
            fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
