"""The fuzz tier's real server: ``neurodose serve`` on SQLite in a subprocess, started once
per session with the service tests' own :class:`Server` (loaded from
``tests/service/conftest.py``, so both tiers start the server the same way)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parents[1] / "service" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_neurodose_test_servers", _PATH)
assert _spec is not None and _spec.loader is not None
servers: Any = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = servers
_spec.loader.exec_module(servers)


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A running server and a clinician's bearer token."""
    d = tmp_path_factory.mktemp("fuzz-clinic")
    server = servers.Server(servers.sqlite_url(d), d)
    server.add_user("fuzz", "a")
    server.start()
    try:
        yield server, server.token("fuzz")
    finally:
        server.stop()
