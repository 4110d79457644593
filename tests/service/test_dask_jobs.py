"""``--dask-scheduler`` / ``NEURODOSE_DASK_SCHEDULER``: a trial job posted to the service
runs its chunks on the Dask cluster (here a local one in the test process, reached over
TCP like a remote one), and the job's result comes back through the database as usual."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from .conftest import Server, sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def test_trial_job_runs_on_the_dask_scheduler(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        # the scheduler's HTTP server on a free port, not 8787 (another cluster may hold it)
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        server = Server(
            sqlite_url(tmp_path),
            tmp_path,
            env_extra={"NEURODOSE_DASK_SCHEDULER": cluster.scheduler_address},
        )
        server.add_user("dana")
        server.start()
        try:
            api = server.client(server.token("dana"))
            design = tomllib.loads((ROOT / "examples/trials/demo.toml").read_text())
            design["n_per_arm"] = 100
            design["weeks"] = 6
            r = api.post("/api/v1/trials", json=design)
            assert r.status_code == 202, r.text
            job = r.json()["job"]
            for _ in range(900):
                st = api.get(f"/api/v1/trials/{job}").json()
                if st["state"] in ("done", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            assert st["state"] == "done", (st, api.get(f"/api/v1/trials/{job}").json().get("error"))
            assert set(st["result"]["arms"]) == {a["name"] for a in design["arms"]}
            ran = [k for k in cluster.scheduler.task_prefixes if k.startswith("run_chunk")]
            assert ran, sorted(cluster.scheduler.task_prefixes)
        finally:
            server.stop()
