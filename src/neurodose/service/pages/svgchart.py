"""Charts drawn on the server as SVG: no chart script in the page (the pages load only
htmx, 51 kB of JavaScript), and the same picture on screen and in print.

:func:`render` draws the Plotly-style figure specs of :mod:`neurodose.service.pages.charts`
(``{"data": traces, "layout": ...}``): scatter traces as lines and/or markers (``mode``),
an interval polygon (``fill: "toself"``), a second y axis (``yaxis: "y2"``), dashed
lines, shapes (``rect`` and ``line``, in data or ``paper`` coordinates), ISO dates or
numbers on x, axis titles with units, a title and a legend. Every text is escaped.

>>> svg = render({"data": [{"x": [0, 1], "y": [1, 2], "name": "a<b", "mode": "lines"}],
...               "layout": {"xaxis": {"title": {"text": "day"}}}}, "demo")
>>> svg.startswith("<svg") and "a&lt;b" in svg and ">day</text>" in svg
True
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["render"]

#: Plotly's default colour cycle (the charts' look stays as before)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_DASH = {"dash": "6 4", "dot": "2 3", "dashdot": "6 3 2 3"}
WIDTH = 760


def _num(v: Any) -> float | None:
    """A number for a value: ISO dates become days since 1970-01-01; None stays None."""
    if v is None:
        return None
    if isinstance(v, str):
        try:
            return float(dt.date.fromisoformat(v[:10]).toordinal() - 719163)
        except ValueError:
            return None
    f = float(v)
    return f if math.isfinite(f) else None


def _is_date(traces: Sequence[Mapping[str, Any]]) -> bool:
    return any(isinstance(x, str) for t in traces for x in (t.get("x") or [])[:1])


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float, date: bool) -> str:
    if date:
        return dt.date.fromordinal(round(v) + 719163).strftime("%d %b")
    return f"{v:g}"


def _extent(values: Iterable[float | None], given: Any) -> tuple[float, float]:
    if isinstance(given, (list, tuple)) and len(given) == 2:
        return float(given[0]), float(given[1])
    vals = [v for v in values if v is not None]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.05 or 1.0
    return (0.0 if lo >= 0 and lo - pad < 0 else lo - pad), hi + pad


def _title(axis: Mapping[str, Any] | None) -> str:
    t = (axis or {}).get("title")
    return str(t.get("text", "")) if isinstance(t, dict) else str(t or "")


def _values(
    traces: Sequence[Mapping[str, Any]],
    shapes: Sequence[Mapping[str, Any]],
    axis: str,
    second: bool = False,
) -> list[float | None]:
    """Every value on ``axis`` ("x" or "y"; the second y axis with ``second``), from the
    traces and from the shapes drawn in data coordinates."""
    ref = f"{axis}ref"
    out = [
        _num(v)
        for t in traces
        if axis == "x" or (t.get("yaxis") == "y2") == second
        for v in t.get(axis) or []
    ]
    if not second:
        out += [
            _num(sh.get(f"{axis}{i}")) for sh in shapes if sh.get(ref, axis) == axis for i in (0, 1)
        ]
    return out


def _axis(lay: Mapping[str, Any], name: str) -> Any:
    return (lay.get(name) or {}).get("range")


class _Frame:
    """The plot area and the data -> pixel maps."""

    def __init__(self, spec: Mapping[str, Any], width: int) -> None:
        lay = spec.get("layout", {})
        traces = spec.get("data", [])
        shapes = lay.get("shapes", [])
        self.date = _is_date(traces)
        self.has_y2 = any(t.get("yaxis") == "y2" for t in traces)
        self.legend = lay.get("showlegend", True) is not False and len(traces) > 0
        per_row = max(1, (width - 80) // 230)
        legend_rows = math.ceil(len(traces) / per_row) if self.legend else 0
        self.height = int(lay.get("height", 360)) + 18 * max(legend_rows - 1, 0)
        self.left, self.right = 64, (64 if self.has_y2 else 20)
        self.top = 34 if lay.get("title") else 14
        self.bottom = 52 + 18 * legend_rows
        self.width = width
        self.x0, self.x1 = _extent(_values(traces, shapes, "x"), _axis(lay, "xaxis"))
        self.x1 = max(self.x1, self.x0 + 1e-9)
        self.ya = _extent(_values(traces, shapes, "y"), _axis(lay, "yaxis"))
        self.yb = _extent(_values(traces, shapes, "y", True), _axis(lay, "yaxis2"))

    @property
    def pw(self) -> float:
        return float(self.width - self.left - self.right)

    @property
    def ph(self) -> float:
        return float(self.height - self.top - self.bottom)

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.pw

    def py(self, y: float, second: bool = False) -> float:
        lo, hi = self.yb if second else self.ya
        span = (hi - lo) or 1.0
        return self.top + (1 - (y - lo) / span) * self.ph


def _axes(f: _Frame, lay: Mapping[str, Any]) -> list[str]:
    out = []
    bottom = f.top + f.ph
    for v in _nice_ticks(*f.ya):
        y = f.py(v)
        out.append(
            f'<line x1="{f.left}" x2="{f.left + f.pw:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb"/>'
        )
        out.append(
            f'<text x="{f.left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v, False)}</text>'
        )
    for v in _nice_ticks(f.x0, f.x1, 6):
        x = f.px(v)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom:.1f}" y2="{bottom + 4:.1f}" '
            'stroke="#425563"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 17:.1f}" text-anchor="middle">'
            f"{escape(_fmt(v, f.date))}</text>"
        )
    if f.has_y2:
        right = f.left + f.pw
        for v in _nice_ticks(*f.yb):
            y = f.py(v, True)
            out.append(f'<text x="{right + 6:.1f}" y="{y + 4:.1f}">{_fmt(v, False)}</text>')
        out.append(
            f'<text class="axis-title" transform="translate({f.width - 10},'
            f'{f.top + f.ph / 2:.1f}) rotate(90)" text-anchor="middle">'
            f"{escape(_title(lay.get('yaxis2')))}</text>"
        )
    out.append(
        f'<rect x="{f.left}" y="{f.top}" width="{f.pw:.1f}" height="{f.ph:.1f}" '
        'fill="none" stroke="#425563"/>'
    )
    out.append(
        f'<text class="axis-title" x="{f.left + f.pw / 2:.1f}" y="{bottom + 36:.1f}" '
        f'text-anchor="middle">{escape(_title(lay.get("xaxis")))}</text>'
    )
    out.append(
        f'<text class="axis-title" transform="translate(14,{f.top + f.ph / 2:.1f}) '
        f'rotate(-90)" text-anchor="middle">{escape(_title(lay.get("yaxis")))}</text>'
    )
    return out


def _shape(f: _Frame, s: Mapping[str, Any]) -> str:
    def xs(k: str) -> float:
        v = _num(s.get(k)) or 0.0
        return f.left + v * f.pw if s.get("xref") == "paper" else f.px(v)

    def ys(k: str) -> float:
        v = _num(s.get(k)) or 0.0
        return f.top + (1 - v) * f.ph if s.get("yref") == "paper" else f.py(v)

    x0, x1, y0, y1 = xs("x0"), xs("x1"), ys("y0"), ys("y1")
    line = s.get("line") or {}
    if s.get("type") == "line":
        dash = _DASH.get(str(line.get("dash", "")), "")
        return (
            f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y0:.1f}" y2="{y1:.1f}" '
            f'stroke="{escape(str(line.get("color", "#425563")))}" stroke-width="1.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
    return (
        f'<rect x="{min(x0, x1):.1f}" y="{min(y0, y1):.1f}" width="{abs(x1 - x0):.1f}" '
        f'height="{abs(y1 - y0):.1f}" fill="{escape(str(s.get("fillcolor", "#005eb8")))}" '
        f'fill-opacity="{float(s.get("opacity", 0.1)):g}"/>'
    )


def _points(f: _Frame, t: Mapping[str, Any]) -> list[tuple[float, float] | None]:
    second = t.get("yaxis") == "y2"
    out: list[tuple[float, float] | None] = []
    for x, y in zip(t.get("x") or [], t.get("y") or [], strict=False):
        nx, ny = _num(x), _num(y)
        out.append(None if nx is None or ny is None else (f.px(nx), f.py(ny, second)))
    return out


def _trace(f: _Frame, t: Mapping[str, Any], colour: str) -> list[str]:
    pts = _points(f, t)
    line = t.get("line") or {}
    colour = escape(str(line.get("color") or (t.get("marker") or {}).get("color") or colour))
    if t.get("fill") == "toself":
        poly = " ".join(f"{x:.1f},{y:.1f}" for p in pts if p for x, y in [p])
        op = float(t.get("opacity", 0.25))
        return [f'<polygon points="{poly}" fill="{colour}" fill-opacity="{op:g}" stroke="none"/>']
    mode = str(t.get("mode", "lines"))
    out = []
    if "lines" in mode:
        dash = _DASH.get(str(line.get("dash", "")), "")
        run: list[str] = []
        for p in [*pts, None]:
            if p is not None:
                run.append(f"{p[0]:.1f},{p[1]:.1f}")
            elif run:
                out.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    'stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
                )
                run = []
    if "markers" in mode:
        r = float((t.get("marker") or {}).get("size", 6)) / 2
        out += [
            f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="{r:g}" fill="{colour}"/>'
            for p in pts
            if p is not None
        ]
    return out


def _legend(f: _Frame, traces: Sequence[Mapping[str, Any]], colours: list[str]) -> list[str]:
    if not f.legend:
        return []
    out, per_row = [], max(1, (f.width - 80) // 230)
    y0 = f.top + f.ph + 50
    for i, (t, c) in enumerate(zip(traces, colours, strict=True)):
        x = f.left + (i % per_row) * 230
        y = y0 + (i // per_row) * 18
        out.append(
            f'<rect x="{x}" y="{y - 9}" width="14" height="10" fill="{escape(c)}"/>'
            f'<text x="{x + 19}" y="{y}">{escape(str(t.get("name", "")))}</text>'
        )
    return out


def render(spec: Mapping[str, Any], label: str, key: str = "chart", width: int = WIDTH) -> str:
    """The figure ``spec`` as an SVG element (``role="img"``, ``label`` its name; ``key``
    makes its clip-path id unique in the page)."""
    lay = spec.get("layout", {})
    traces = list(spec.get("data", []))
    f = _Frame(spec, width)
    colours = [
        str((t.get("line") or {}).get("color") or PALETTE[i % len(PALETTE)])
        for i, t in enumerate(traces)
    ]
    clip = escape(f"{key}-clip")
    body = [
        f'<clipPath id="{clip}"><rect x="{f.left}" y="{f.top}" width="{f.pw:.1f}" '
        f'height="{f.ph:.1f}"/></clipPath>'
    ]
    body += _axes(f, lay)
    plot = [_shape(f, s) for s in lay.get("shapes", [])]
    for t, c in zip(traces, colours, strict=True):
        plot += _trace(f, t, c)
    body.append(f'<g clip-path="url(#{clip})">' + "".join(plot) + "</g>")
    title = lay.get("title")
    if title:
        text = title.get("text", "") if isinstance(title, dict) else str(title)
        body.append(f'<text class="chart-title" x="{f.left}" y="20">{escape(str(text))}</text>')
    body += _legend(f, traces, colours)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.width} {f.height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" font-family="sans-serif" '
        f'font-size="12" fill="#212b32">' + "".join(body) + "</svg>"
    )
