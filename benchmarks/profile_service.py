"""Where the service's time goes: CPU per request and cProfile of each hot route.

A real uvicorn server runs the clinic app (SQLite, CDS Hooks with a test client key
and real ES384 JWTs) in a thread of this process. Route functions that FastAPI would
run in its thread pool run inline on the server's event-loop thread, so one request
at a time every instruction the server spends on it is on that thread: its
``time.thread_time()`` around the request, plus the CPU of the service's helper threads
(group commit, audit flush) in that time, is the request's CPU (the client's JSON, JWT
signing and HTTP work is on other threads and not counted), and a
``cProfile.Profile`` enabled there sees all of it. Requests are sent one at a time:
this measures the work per request, not queueing (``bench_service.py`` does that).

Routes: diary write, patient read, assessment cold (a new profile each) and warm
(the same one again), CDS order-sign with a 20-medicine list, an order earning an
avoid card (the alternative is assessed), 3 drafts, and a bundle with 200
Observations (``benchmarks/hospital.py``).

Usage::

    python benchmarks/profile_service.py [--n 20] [--top 12] [--no-profile] [--write TAG]

``--write before`` puts the tables into docs/performance_service.md (between the
``cpu-before`` or ``profile-before`` markers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hospital

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance_service.md"
PASSWORD = "profile password 1"


class Meter:
    """ASGI wrapper: CPU of the server thread per request, by label, and a profile."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.label: str | None = None
        self.cpu: dict[str, list[float]] = {}
        self.prof: dict[str, cProfile.Profile] = {}
        self.profile = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        label = self.label if scope["type"] == "http" else None
        if label is None:
            await self.app(scope, receive, send)
            return
        prof = self.prof.setdefault(label, cProfile.Profile()) if self.profile else None
        t0, h0 = time.thread_time(), _helper_cpu()
        if prof is not None:
            prof.enable()
        try:
            await self.app(scope, receive, send)
        finally:
            if prof is not None:
                prof.disable()
            used = time.thread_time() - t0 + _helper_cpu() - h0
            self.cpu.setdefault(label, []).append(used)


def _helper_cpu() -> float:
    """CPU seconds of the service's own helper threads (group commit, audit flush,
    sign-in pool: names starting ``neurodose``), from /proc (nanoseconds)."""
    total = 0
    for t in threading.enumerate():
        if t.name.startswith("neurodose") and t.native_id is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/self/task/{t.native_id}/schedstat").read_text()
                total += int(stat.split()[0])
    return total / 1e9


def _inline_threadpool() -> None:
    """Run what FastAPI sends to its thread pool on the calling (event-loop) thread."""
    import anyio.to_thread

    async def run_sync(func: Callable[..., Any], *args: Any, **_kw: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp: Path) -> tuple[Meter, str, Any, Any]:
    """The clinic app with CDS Hooks on a free port, in a thread; (meter, url, key, server)."""
    import uvicorn

    from neurodose.service import store
    from neurodose.service.app import create_app
    from neurodose.service.settings import Settings
    from neurodose.testing.cds import ClientKey, make_client_key

    _inline_threadpool()
    key_file, clients = make_client_key(str(tmp))
    port = _port()
    url = f"http://127.0.0.1:{port}"
    os.environ.update(
        NEURODOSE_PUBLIC_URL=url,
        NEURODOSE_CDS_CLIENTS=str(clients),
        NEURODOSE_SECRET_KEY="p" * 48,
        NEURODOSE_DATABASE_URL=f"sqlite:///{tmp}/clinic.sqlite3",
    )
    app = create_app(Settings.from_env())
    with app.state.clinic.db.session() as s:
        store.add_user(s, "prof", "clinician", PASSWORD)
    meter = Meter(app)
    server = uvicorn.Server(uvicorn.Config(meter, port=port, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    warm = getattr(app.state, "warm", None)  # the start-up warm-up (service/readiness.py)
    if warm is not None:
        meter.cpu["warm-up at start-up (lifespan, before the first request)"] = [warm.cpu_s]
    return meter, url, ClientKey.load(key_file), server


def _ok(r: httpx.Response) -> httpx.Response:
    if r.status_code not in (200, 201):
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return r


def drive(meter: Meter, url: str, key: Any, n: int) -> None:
    """Send ``n`` requests of each route, one at a time, each labelled."""
    c = httpx.Client(base_url=url, timeout=120)
    tok = _ok(c.post("/api/v1/token", data={"username": "prof", "password": PASSWORD}))
    c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    pids = [
        _ok(c.post("/api/v1/patients", json=hospital.clinic_profile(i))).json()["id"]
        for i in range(n + 1)
    ]
    link = _ok(c.post(f"/api/v1/patients/{pids[0]}/diary-link")).json()["token"]
    meter.label = "first assessment after start-up (imports, indexes)"
    _ok(c.get(f"/api/v1/patients/{pids[0]}/assessment"))
    meter.label = None
    bodies = hospital.order_sign_bodies()
    cds = "/cds-services/neurodose-order-sign"

    def sign(body: dict[str, Any]) -> httpx.Response:
        h = {"Authorization": f"Bearer {key.sign(url + cds)}"}
        return _ok(c.post(cds, json=body, headers=h))

    for b in bodies.values():  # warm each path once, unmeasured
        sign(b)
    routes: list[tuple[str, Callable[[int], Any]]] = [
        (
            "diary write",
            lambda k: c.post(
                f"/api/v1/diary/{link}/entries",
                json=hospital.diary_body(k),
                headers={"Authorization": ""},
            ),
        ),
        ("patient read", lambda k: c.get(f"/api/v1/patients/{pids[1 + k % n]}")),
        (
            "assessment, cold (new profile)",
            lambda k: c.get(f"/api/v1/patients/{pids[1 + k]}/assessment"),
        ),
        (
            "assessment, warm (same profile)",
            lambda k: c.get(f"/api/v1/patients/{pids[1]}/assessment"),
        ),
    ]
    routes += [(f"CDS order-sign: {label}", lambda k, b=b: sign(b)) for label, b in bodies.items()]
    # the same requests from a patient the process has not seen (no cache can answer)
    routes += [
        (f"CDS order-sign: {label}, new patient", lambda k, b=b: sign(hospital.fresh(b, k)))
        for label, b in bodies.items()
        if label.startswith(("avoid", "bundle"))
    ]
    for label, call in routes:
        meter.label = label
        for k in range(n):
            _ok(call(k))
        meter.label = None
    c.close()


#: frames that only pass the request on (framework, event loop, our ASGI middleware)
_WRAPPERS = (
    "fastapi/",
    "starlette/",
    "uvicorn/",
    "asyncio",
    "anyio",
    "contextlib",
    "neurodose/service/headers.py",
    "neurodose/service/cds/app.py",
    "threading.py",
    "builtins.exec",
)


def _top(prof: cProfile.Profile, n_requests: int, top: int) -> list[str]:
    """The ``top`` cumulative entries as markdown rows, ms per request."""
    st = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (file, line, fn), (_cc, nc, _tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        if (fn.startswith("<") and fn not in ("<module>",)) or "profile_service" in file:
            continue
        where = file.split("site-packages/")[-1].split("/src/")[-1]
        rows.append((ct, nc, f"{where}:{line}({fn})"))
    rows.sort(reverse=True)
    seen = 0
    out = []
    for ct, nc, name in rows:
        if any(w in name for w in _WRAPPERS):
            continue
        out.append(f"| {1000 * ct / n_requests:.2f} | {nc / n_requests:.0f} | `{name}` |")
        seen += 1
        if seen == top:
            break
    return out


def screen_cpu(rounds: int = 50) -> dict[str, float]:
    """CPU (median ms) of the library's screen of one order (duloxetine) for a patient on
    the 20-medicine list, in this process, warm; and of the 8 default options' screen."""
    from neurodose.safety.engine import screen
    from neurodose.workflows import PatientRequest, build_patient

    meds = [{"name": n} for n in ("tramadol", *hospital.HOSPITAL_MEDICINES)]
    profile = {**hospital.clinic_profile(40), "medications": meds}
    patient = build_patient(PatientRequest(profile)).patient
    out = {}
    for label, drugs in (
        ("screen one order against a 20-medicine list", ("duloxetine",)),
        (
            "screen 8 options against a 20-medicine list",
            (
                "amitriptyline",
                "nortriptyline",
                "duloxetine",
                "venlafaxine",
                "pregabalin",
                "gabapentin",
                "tramadol",
                "lidocaine_plaster",
            ),
        ),
    ):
        for d in drugs:
            screen(patient, d)  # warm
        xs = []
        for _ in range(rounds):
            t0 = time.process_time()
            for d in drugs:
                screen(patient, d)
            xs.append(time.process_time() - t0)
        out[label] = 1000 * statistics.median(xs)
    return out


def report(meter: Meter, top: int) -> str:
    """Markdown: CPU per request by route, then the top cumulative entries per route."""
    load = os.getloadavg()
    lines = [
        f"`python benchmarks/profile_service.py --n {len(meter.cpu['diary write'])}`: "
        f"one request at a time, CPU of the server thread per request (median, ms); "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"({'under cProfile' if meter.profile else 'no profiler'}).",
        "",
        "| route | CPU ms p50 | CPU ms max |",
        "|---|---|---|",
    ]
    for label, xs in meter.cpu.items():
        lines.append(f"| {label} | {1000 * statistics.median(xs):.1f} | {1000 * max(xs):.1f} |")
    for label, ms in screen_cpu().items():
        lines.append(f"| library, in process: {label} | {ms:.2f} | |")
    for label, prof in meter.prof.items():
        lines += [
            "",
            f"**{label}**: top {top} cumulative (ms per request under cProfile, calls per request)",
            "",
            "| cum ms | calls | function |",
            "|---|---|---|",
            *_top(prof, len(meter.cpu[label]), top),
        ]
    return "\n".join(lines) + "\n"


def write_section(doc: Path, marker: str, text: str) -> None:
    """Replace the text between ``<!-- marker:start -->`` and ``<!-- marker:end -->``
    in ``doc`` (appended when the markers are missing)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    block = f"{start}\n{text}{end}"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20, help="requests per route")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--no-profile", action="store_true", help="CPU per request only")
    ap.add_argument(
        "--write",
        metavar="TAG",
        help="update docs/performance_service.md between the <!-- cpu-TAG --> "
        "(or profile-TAG) markers",
    )
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nd-prof-") as tmp:
        meter, url, key, server = start(Path(tmp))
        meter.profile = not a.no_profile
        try:
            drive(meter, url, key, a.n)
        finally:
            server.should_exit = True
            time.sleep(0.3)
    md = report(meter, a.top)
    if a.write:
        write_section(DOC, f"{'profile' if meter.profile else 'cpu'}-{a.write}", md)
    print(md)
    return md


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main(sys.argv[1:])
