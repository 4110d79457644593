"""Trial jobs over HTTP on a real server: the per-user limit (429 with the message),
cancel in every state, and a job left running by a crash (kill -9) marked failed at
the next start-up and run again by retry."""

from __future__ import annotations

import time
from typing import Any

import httpx
from tests.service.conftest import Server, sqlite_url


def _design(n: int, weeks: int, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "weeks": weeks,
        "condition": "diabetic_neuropathy",
        "n_per_arm": n,
        "seed": 3,
        "arms": [
            {"name": "placebo", "drug": "placebo"},
            {
                "name": "ami",
                "drug": "amitriptyline",
                "regimen": [{"start_day": 1, "dose_mg": 25, "every_h": 24}],
            },
        ],
    }


def _wait(api: httpx.Client, job: str, states: set[str], timeout: float = 300) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = api.get(f"/api/v1/trials/{job}").json()
        if j["state"] in states:
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job} never reached {states}: {j}")


def test_limit_cancel_crash_recovery_and_retry(tmp_path):
    srv = Server(
        sqlite_url(tmp_path),
        tmp_path,
        env_extra={"NEURODOSE_TRIAL_MAX_PATIENTS": "200000", "NEURODOSE_TRIAL_JOBS_PER_USER": "2"},
    )
    srv.add_user("tess", "a")
    srv.start()
    try:
        api = srv.client(srv.token("tess"))
        # a small job runs to the end; cancelling a finished job leaves it as it is
        small = api.post("/api/v1/trials", json=_design(20, 2, "small")).json()["job"]
        assert _wait(api, small, {"done", "failed"})["state"] == "done"
        r = api.delete(f"/api/v1/trials/{small}")
        assert r.status_code == 200 and r.json()["state"] == "done"
        # two long jobs fill the limit: a third is 429 with the reason
        a = api.post("/api/v1/trials", json=_design(100_000, 104, "long-a"))
        b = api.post("/api/v1/trials", json=_design(100_000, 104, "long-b"))
        assert a.status_code == b.status_code == 202, (a.text, b.text)
        c = api.post("/api/v1/trials", json=_design(20, 2, "third"))
        assert c.status_code == 429, c.text
        assert "limit is 2 per user" in c.json()["detail"] and c.headers["Retry-After"]
        # cancel works at once on a queued or running job
        r = api.delete(f"/api/v1/trials/{b.json()['job']}")
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        job_a = a.json()["job"]
        assert _wait(api, job_a, {"running"})["state"] == "running"
        # the server dies while job A runs; at the next start it is failed, not running
        srv.kill9()
        srv.start()
        api = srv.client(srv.token("tess"))
        j = api.get(f"/api/v1/trials/{job_a}").json()
        assert j["state"] == "failed" and j["error"].startswith("interrupted"), j
        assert api.delete(f"/api/v1/trials/{job_a}").json()["state"] == "failed"
        # retry: a new job with the same design; a running job cannot be retried (409)
        r = api.post(f"/api/v1/trials/{job_a}/retry")
        assert r.status_code == 202, r.text
        again = r.json()["job"]
        assert again != job_a
        assert api.post(f"/api/v1/trials/{again}/retry").status_code == 409
        assert api.delete(f"/api/v1/trials/{again}").json()["state"] == "cancelled"
        # a stranger cannot see, cancel or retry the job
        assert api.post("/api/v1/trials/tnosuchjob/retry").status_code == 404
    finally:
        srv.stop()
