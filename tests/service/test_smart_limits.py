"""The rate limit of the SMART launch per client address, over HTTP against two real
clinic server processes on one database and the test EHR: past the limit, a friendly
page with ``429`` and ``Retry-After``, from either process (the count is in the
database), without contacting the EHR; after the wait, launches go on.
"""

from __future__ import annotations

import time

import pytest

from .conftest import Server
from .smart_ehr import smart_world

LIMIT = 3
WINDOW_S = 10


def test_launches_past_the_limit_get_429_from_every_worker(tmp_path):
    w = smart_world(
        tmp_path,
        NEURODOSE_SMART_RATE_LIMIT=str(LIMIT),
        NEURODOSE_SMART_RATE_WINDOW_SECONDS=str(WINDOW_S),
    )
    other = Server(w.clinic.db_url, tmp_path, env_extra=w.clinic.env_extra)
    try:
        other.start()
        c = w.clinic.client()
        params = {"iss": w.ehr.iss}
        t0 = time.monotonic()
        for _ in range(LIMIT - 1):
            assert c.get("/smart/launch", params=params).status_code == 303
        assert c.get("/smart/callback", params={"code": "x", "state": "y"}).status_code == 400
        seen = len(w.ehr.requests)
        r = c.get("/smart/launch", params=params)
        assert time.monotonic() - t0 < WINDOW_S, "the machine was too slow for this window"
        assert r.status_code == 429, r.text[-400:]
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= WINDOW_S
        assert "Too many launches" in r.text and f"wait {wait} seconds" in r.text
        assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text
        assert "Content-Security-Policy" in r.headers and "location" not in r.headers
        assert c.get("/smart/callback", params={"code": "x", "state": "y"}).status_code == 429
        # the other worker process counts on the same rows
        r = other.client().get("/smart/launch", params=params)
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert len(w.ehr.requests) == seen  # the EHR was not contacted past the limit
        # the limit is per address: the sign-in and the pages are not affected
        assert c.get("/login").status_code == 200
        time.sleep(int(r.headers["Retry-After"]) + 0.5)
        assert c.get("/smart/launch", params=params).status_code == 303
        assert other.client().get("/smart/launch", params=params).status_code == 303
    finally:
        other.stop()
        w.stop()


@pytest.mark.parametrize(
    ("name", "value"),
    [("NEURODOSE_SMART_RATE_LIMIT", "0"), ("NEURODOSE_SMART_RATE_WINDOW_SECONDS", "a minute")],
)
def test_rate_limit_settings_are_checked(monkeypatch, tmp_path, name, value):
    from neurodose.errors import InputError
    from neurodose.service.settings import Settings

    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=name):
        Settings.from_env(data_dir=tmp_path, secret_key="k" * 32)


def test_rate_limit_defaults(monkeypatch, tmp_path):
    from neurodose.service.settings import Settings

    monkeypatch.delenv("NEURODOSE_SMART_RATE_LIMIT", raising=False)
    monkeypatch.delenv("NEURODOSE_SMART_RATE_WINDOW_SECONDS", raising=False)
    s = Settings.from_env(data_dir=tmp_path, secret_key="k" * 32)
    assert (s.smart_rate_limit, s.smart_rate_window_s, s.smart_keys_s) == (120, 60, 3600)
