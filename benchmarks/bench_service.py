"""Clinic service under a hospital's request mix at 50 concurrent clients (issue 22).

A real ``neurodose serve`` (``--workers 1`` or ``2``; SQLite in WAL with
``synchronous=FULL``, or a PostgreSQL server this script starts in a temporary folder
as the tests do) with CDS Hooks on (a test client key: every CDS call carries a fresh
ES384 JWT, verified by the server). ``--clients`` asyncio clients on this machine each
send ``--rounds`` rounds of the mix (``benchmarks/hospital.py``):

* diary write (``POST /api/v1/diary/{token}/entries``, acknowledged once durable),
* patient read, assessment warm (a profile assessed before),
* assessment cold (a profile no one asked for yet, one per client),
* CDS order-sign: a 20-medicine list, an order earning a contraindicated card (the
  alternative is assessed), 3 drafts signed together, a bundle with 200 Observations.

Reported per request kind: client-side p50/p99, and for the whole run the requests/s,
the CPU the server processes used (from /proc, all workers) per request, the load
generator's own CPU (JWT signing, JSON, HTTP) and the load average before and after.
Writes a section of docs/performance_service.md (``--write``).

Usage::

    python benchmarks/bench_service.py [--db sqlite|postgresql] [--workers 1] [--clients 50]
        [--rounds 4] [--short] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hospital
from profile_service import write_section

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "performance_service.md"
PASSWORD = "benchmark password 1"
CDS = "/cds-services/neurodose-order-sign"
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder (unix socket); yields a database URL."""
    import psycopg

    def pg_bin(name: str) -> str:
        hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = shutil.which(name) or (hits[-1] if hits else None)
        if not found:
            raise SystemExit("PostgreSQL binaries not found: install the package `postgresql`")
        return found

    root = Path(tempfile.mkdtemp(prefix="nd-bench-pg-"))
    os.chmod(root, 0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = str(root / "data")
    subprocess.run(
        [*as_user, pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-k {root} -p {port} -c listen_addresses='' -c max_connections=200"
    ctl = pg_bin("pg_ctl")
    subprocess.run(
        [*as_user, ctl, "-D", data, "-o", opts, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        with psycopg.connect(
            host=str(root), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute('CREATE DATABASE "bench"')
        yield f"postgresql+psycopg://postgres@/bench?host={root}&port={port}"
    finally:
        subprocess.run([*as_user, ctl, "-D", data, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children, from /proc."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / TICK
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(x) for x in (task / "children").read_text().split()]
    return total


def _start(folder: Path, db_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str, Any]:
    from neurodose.testing.cds import ClientKey, make_client_key

    key_file, clients = make_client_key(str(folder))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        NEURODOSE_DATA_DIR=str(folder),
        NEURODOSE_SECRET_KEY="b" * 48,
        NEURODOSE_PUBLIC_URL=url,
        NEURODOSE_CDS_CLIENTS=str(clients),
        NEURODOSE_LOGIN_ADDRESS_FAILURES="100000",
    )
    db = ["--database", db_url] if db_url else []
    subprocess.run(
        [sys.executable, "-m", "neurodose", "users", "add", "bench", "--password-stdin", *db],
        input=(PASSWORD + "\n").encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    cmd = [sys.executable, "-m", "neurodose", "serve", "--port", str(port), *db]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, ClientKey.load(key_file)
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


class Mix:
    """The clients' shared state: patients, diary links, CDS bodies, latencies."""

    def __init__(self, c: httpx.AsyncClient, url: str, key: Any) -> None:
        self.c, self.url, self.key = c, url, key
        self.bodies = hospital.order_sign_bodies()
        self.lat: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.diary = False

    async def timed(self, kind: str, method: str, path: str, **kw: Any) -> None:
        t0 = time.perf_counter()
        r = await self.c.request(method, path, **kw)
        dt_ = time.perf_counter() - t0
        if r.status_code in (200, 201):
            self.lat.setdefault(kind, []).append(dt_)
        else:
            what = f"{kind}: {r.status_code}"
            self.errors[what] = self.errors.get(what, 0) + 1

    async def cds(self, label: str) -> None:
        h = {"Authorization": f"Bearer {self.key.sign(self.url + CDS)}"}
        await self.timed(
            f"CDS order-sign: {label}", "POST", CDS, json=self.bodies[label], headers=h
        )

    async def diary_only(self, link: str, rounds: int) -> None:
        for k in range(4 * rounds):
            await self.timed(
                "diary write (only)",
                "POST",
                f"/api/v1/diary/{link}/entries",
                json=hospital.diary_body(k),
                headers={"Authorization": ""},
            )

    async def client(self, i: int, pid: str, link: str, cold_pid: str, rounds: int) -> None:
        if self.diary:
            await self.diary_only(link, rounds)
            return
        await self.timed("assessment, cold", "GET", f"/api/v1/patients/{cold_pid}/assessment")
        for k in range(rounds):
            await self.timed(
                "diary write",
                "POST",
                f"/api/v1/diary/{link}/entries",
                json=hospital.diary_body(k),
                headers={"Authorization": ""},
            )
            await self.timed("patient read", "GET", f"/api/v1/patients/{pid}")
            await self.timed("assessment, warm", "GET", f"/api/v1/patients/{pid}/assessment")
            await self.cds(list(self.bodies)[(i + k) % len(self.bodies)])


async def _load(
    url: str, key: Any, clients: int, rounds: int, server_pid: int, diary: bool = False
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 10, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as c:
        tok = await c.post("/api/v1/token", data={"username": "bench", "password": PASSWORD})
        c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        mix = Mix(c, url, key)
        mix.diary = diary
        pids, links, cold = [], [], []
        for i in range(clients):
            pid = (await c.post("/api/v1/patients", json=hospital.clinic_profile(i))).json()["id"]
            pids.append(pid)
            links.append((await c.post(f"/api/v1/patients/{pid}/diary-link")).json()["token"])
            prof = hospital.clinic_profile(1000 + i)
            cold.append((await c.post("/api/v1/patients", json=prof)).json()["id"])
        # every worker warm (imports, indexes) and each warm profile assessed once
        await asyncio.gather(*(c.get(f"/api/v1/patients/{p}/assessment") for p in pids))
        for label in mix.bodies:
            await mix.cds(label)
        mix.lat.clear()
        server0, me0, t0 = _tree_cpu(server_pid), time.process_time(), time.perf_counter()
        await asyncio.gather(
            *(mix.client(i, pids[i], links[i], cold[i], rounds) for i in range(clients))
        )
        wall = time.perf_counter() - t0
        me = time.process_time() - me0
        server = _tree_cpu(server_pid) - server0
    return {
        "lat": mix.lat,
        "errors": mix.errors,
        "wall": wall,
        "client_cpu": me,
        "server_cpu": server,
    }


def run(db: str, workers: int, clients: int, rounds: int, diary: bool = False) -> dict[str, Any]:
    """One benchmark run; the figures as a dict."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nd-bench-") as tmp, contextlib.ExitStack() as st:
        db_url = st.enter_context(postgres()) if db == "postgresql" else ""
        proc, url, key = _start(Path(tmp), db_url, workers)
        try:
            res = asyncio.run(_load(url, key, clients, rounds, proc.pid, diary))
        finally:
            proc.terminate()
            proc.wait(30)
    n = sum(len(v) for v in res["lat"].values())
    res.update(
        db=db,
        workers=workers,
        clients=clients,
        rounds=rounds,
        flag=" --diary-only" if diary else "",
        n=n,
        load=(load_before, os.getloadavg()),
        cpus=os.cpu_count(),
    )
    return res


def to_markdown(r: dict[str, Any]) -> str:
    """The run as a markdown table with its conditions."""
    lb, la = r["load"]
    lines = [
        f"**{r['db']}, {r['workers']} worker{'s' if r['workers'] > 1 else ''}, "
        f"{r['clients']} clients x {r['rounds']} rounds** "
        f"(`python benchmarks/bench_service.py --db {r['db']} --workers {r['workers']} "
        f"--clients {r['clients']} --rounds {r['rounds']}{r['flag']}`): {r['n']} requests in "
        f"{r['wall']:.1f} s = {r['n'] / r['wall']:.0f} requests/s; server CPU "
        f"{r['server_cpu']:.1f} s ({1000 * r['server_cpu'] / r['n']:.1f} ms per request, all "
        f"workers), load generator CPU {r['client_cpu']:.1f} s "
        f"({1000 * r['client_cpu'] / r['n']:.1f} ms per request); load average "
        f"{lb[0]:.1f}/{lb[1]:.1f}/{lb[2]:.1f} before, {la[0]:.1f}/{la[1]:.1f}/{la[2]:.1f} after, "
        f"{r['cpus']} CPUs.",
        "",
        "| request | n | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for kind, xs in sorted(r["lat"].items()):
        a = np.asarray(xs) * 1000
        lines.append(
            f"| {kind} | {a.size} | {np.percentile(a, 50):.0f} | {np.percentile(a, 99):.0f} "
            f"| {a.max():.0f} |"
        )
    if r["errors"]:
        lines += ["", "Errors: " + ", ".join(f"{k} x{v}" for k, v in r["errors"].items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description="clinic service, hospital mix (issue 22)")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument(
        "--diary-only", action="store_true", help="diary writes only (4 per round): throughput"
    )
    ap.add_argument("--short", action="store_true", help="10 clients x 2 rounds (make bench)")
    ap.add_argument("--write", action="store_true", help="update docs/performance_service.md")
    ap.add_argument("--label", default="", help="names the run in the report (e.g. baseline)")
    # called without arguments (benchmarks/run_all.py, `make bench`): the short run, written
    a = ap.parse_args(["--short", "--write"] if argv is None else argv)
    if a.short:
        a.clients, a.rounds = 10, 2
    r = run(a.db, a.workers, a.clients, a.rounds, a.diary_only)
    md = (f"*{a.label}* " if a.label else "") + to_markdown(r)
    if a.write:
        tag = ("-diary" if a.diary_only else "") + (f"-{a.label}" if a.label else "")
        write_section(OUT, f"bench-{a.db}-{a.workers}w-{a.clients}c{tag}", md)
    print(md)
    return r


if __name__ == "__main__":
    main(sys.argv[1:])
