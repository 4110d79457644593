"""Diary writes during a flood of failed sign-ins (issue 22: a login flood of
100 requests/s should leave diary-write p99 within 2x of its quiet value).

A real ``neurodose serve`` (one process, SQLite) in a subprocess; ``--clients``
clients each post ``--writes`` diary entries one after another, first with no other
load (quiet), then while a flood sends wrong passwords to ``POST /api/v1/token`` at
``--rate`` requests/s, each for a new random name (so no name is ever locked) from
127.0.0.1. With no option it runs the service's default limits and then the Argon2 pool
alone (address limit 100000), prints JSON and writes ``docs/performance_login_flood.md``;
``--address-limit`` (``NEURODOSE_LOGIN_ADDRESS_FAILURES``) or ``--src`` (another
checkout's ``src``, e.g. the code before the limits) run one scenario and only print.

Usage::

    python benchmarks/bench_login_flood.py [--rate 100] [--address-limit 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

PASSWORD = "bench-password-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, NEURODOSE_DATA_DIR=str(folder), NEURODOSE_SECRET_KEY="b" * 48)
    env.update(env_extra)
    subprocess.run(
        [sys.executable, "-m", "neurodose", "users", "add", "bench", "--password-stdin"],
        input=(PASSWORD + "\n").encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurodose", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _pct(x: list[float]) -> dict[str, float]:
    a = np.asarray(x) * 1000.0
    return {
        "n": int(a.size),
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
    }


async def _writes(c: httpx.AsyncClient, links: list[str], writes: int, day0: int) -> list[float]:
    async def writer(link: str) -> list[float]:
        out = []
        for k in range(writes):
            body = {
                "id": str(uuid.uuid4()),
                "date": (dt.date.today() - dt.timedelta(days=day0 + k)).isoformat(),
                "pain": k % 11,
            }
            t0 = time.perf_counter()
            r = await c.post(
                f"/api/v1/diary/{link}/entries", json=body, headers={"Authorization": ""}
            )
            out.append(time.perf_counter() - t0)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"diary write: {r.status_code} {r.text[:200]}")
        return out

    res = await asyncio.gather(*(writer(x) for x in links))
    return [t for xs in res for t in xs]


async def _run(url: str, clients: int, writes: int, rate: float) -> dict[str, Any]:
    from neurodose.cli.assess import SAMPLE_PATIENT

    limits = httpx.Limits(max_connections=clients + 400, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as c:
        r = await c.post("/api/v1/token", data={"username": "bench", "password": PASSWORD})
        hdr = {"Authorization": f"Bearer {r.json()['access_token']}"}
        links = []
        for _ in range(clients):
            pid = (await c.post("/api/v1/patients", json=SAMPLE_PATIENT, headers=hdr)).json()["id"]
            links.append(
                (await c.post(f"/api/v1/patients/{pid}/diary-link", headers=hdr)).json()["token"]
            )
        await _writes(c, links, 2, 200)  # warm
        quiet = await _writes(c, links, writes, 0)

        codes: Counter[int] = Counter()
        login_lat: list[float] = []
        stop = asyncio.Event()

        async def one() -> None:
            t0 = time.perf_counter()
            try:
                rr = await c.post(
                    "/api/v1/token",
                    data={"username": "x" + secrets.token_hex(6), "password": "wrong-password"},
                )
                codes[rr.status_code] += 1
            except httpx.HTTPError:
                codes[0] += 1
            login_lat.append(time.perf_counter() - t0)

        async def flood() -> None:
            tasks = set()
            t_next = time.perf_counter()
            while not stop.is_set():
                t = asyncio.create_task(one())
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                t_next += 1.0 / rate
                await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
            await asyncio.gather(*tasks)

        f = asyncio.create_task(flood())
        await asyncio.sleep(2.0)  # let the flood reach its steady state
        t0 = time.perf_counter()
        loud = await _writes(c, links, writes, 50)
        wall = time.perf_counter() - t0
        stop.set()
        await f
    return {
        "quiet_write": _pct(quiet),
        "flood_write": _pct(loud),
        "flood_logins": {"sent": sum(codes.values()), "codes": dict(codes), **_pct(login_lat)},
        "flood_wall_s": wall,
    }


def _scenario(env: dict[str, str], clients: int, writes: int, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        proc, url = _start(Path(d), env)
        try:
            return asyncio.run(_run(url, clients, writes, rate))
        finally:
            proc.terminate()
            proc.wait(15)


def to_markdown(runs: dict[str, dict[str, Any]], rate: float) -> str:
    """The fragment ``docs/performance_login_flood.md``."""
    lines = [
        "## Diary writes during a login flood (`benchmarks/bench_login_flood.py`)",
        "",
        f"Wrong passwords at {rate:g} requests/s for new random names from one address, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end. "
        "Latency client side, ms.",
        "",
        "| scenario | quiet write p50 / p99 | write during flood p50 / p99 | flood answers |",
        "|---|---|---|---|",
    ]
    for name, r in runs.items():
        q, f = r["quiet_write"], r["flood_write"]
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["flood_logins"]["codes"].items()))
        lines.append(
            f"| {name} | {q['p50_ms']:.1f} / {q['p99_ms']:.1f} | "
            f"{f['p50_ms']:.1f} / {f['p99_ms']:.1f} | {codes} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--writes", type=int, default=20)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--address-limit", type=int, default=None)
    p.add_argument("--src", default=None, help="another checkout's src folder to serve")
    a = p.parse_args(argv)
    if a.address_limit is None and a.src is None:
        # the default run (benchmarks/run_all.py): the service's limits, then the
        # Argon2 pool alone (no address ever locked); writes the fragment
        scenarios = {
            "default limits (address locked after 50)": {},
            "pool alone (address limit 100000)": {"NEURODOSE_LOGIN_ADDRESS_FAILURES": "100000"},
        }
    else:
        env: dict[str, str] = {}
        if a.address_limit is not None:
            env["NEURODOSE_LOGIN_ADDRESS_FAILURES"] = str(a.address_limit)
        if a.src:
            env["PYTHONPATH"] = a.src
        scenarios = {json.dumps(env): env}
    runs = {k: _scenario(env, a.clients, a.writes, a.rate) for k, env in scenarios.items()}
    res: dict[str, Any] = {"runs": runs, "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    if a.address_limit is None and a.src is None:
        out = Path(__file__).resolve().parents[1] / "docs" / "performance_login_flood.md"
        out.write_text(to_markdown(runs, a.rate), encoding="utf-8")
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
