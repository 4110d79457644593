"""CDS order-sign wall latency at one client (the single-request goal: p50 <= 70 ms).

Starts the standalone CDS app (uvicorn, 1 worker, SQLite replay cache) on a free port,
warms each request once, then sends ``--n`` requests of each body one at a time
(``bench_cds._run``: a fresh ES384 JWT per request, signed before the timer starts) and
prints p50 per body with the load average. The server runs from ``PYTHONPATH`` (point
it at another ``src/`` to measure a baseline in the same session). Short: no 50-client
runs (``bench_cds.py`` does those).

Usage::

    PYTHONPATH=src python benchmarks/latency_cds.py [--n 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cds
import hospital


def main(argv: list[str] | None = None) -> None:
    from neurodose.testing.cds import (
        ClientKey,
        hook_request,
        load_samples,
        make_client_key,
        prefetch_for,
    )

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="requests per body")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        key_file, clients = make_client_key(tmp)
        key = ClientKey.load(key_file)
        port = bench_cds._port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "NEURODOSE_PUBLIC_URL": base,
            "NEURODOSE_CDS_CLIENTS": str(clients),
            "NEURODOSE_DATABASE_URL": f"sqlite:///{tmp}/cds.sqlite3",
        }
        cmd = [sys.executable, "-m", "uvicorn", "--factory"]
        cmd += ["neurodose.service.cds.app:app_from_env", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env)
        try:
            while True:
                try:
                    if httpx.get(base + "/cds-services", timeout=5).status_code == 401:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            s = {x.name: x for x in load_samples(bench_cds.SAMPLES)}
            sample = s["06_phenoconversion_paroxetine_nortriptyline"]
            path = "/cds-services/neurodose-order-sign"
            bodies = {
                "order-sign, full prefetch": hook_request(
                    sample, "order-sign", prefetch=prefetch_for(sample)
                ),
                **{f"order-sign, {k}": b for k, b in hospital.order_sign_bodies().items()},
            }
            for b in bodies.values():
                bench_cds._run(base, key, path, b, 3, 1)
            print("| request (1 client) | n ok | errors | p50 (ms) |\n|---|---|---|---|")
            for label, b in bodies.items():
                lat, _thr, err = bench_cds._run(base, key, path, b, a.n, 1)
                print(f"| {label} | {len(lat)} | {err} | {statistics.median(lat):.1f} |")
        finally:
            proc.terminate()
            proc.wait(30)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")


if __name__ == "__main__":
    main()
