"""The fhirServer fetch connects to the address checked: a host name is resolved once, the
address is checked (public only), and every request goes to that address with the
original Host header, so a second DNS answer (rebinding to 127.0.0.1) is never used.

The resolver is the operating system's (``socket.getaddrinfo``), replaced here by one
that answers like a rebinding DNS server; the FHIR server is real, on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from neurodose.service.cds.prefetch import (
    PrefetchUnavailableError,
    fetch_missing,
    pinned_get,
    resolve_fhir_server,
)

HOST = "fhir.rebind.test"
PUBLIC = "93.184.216.34"


class _Fhir(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *_a: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Host")))
        body = json.dumps({"resourceType": "Patient", "id": "p1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fhir() -> Iterator[Any]:
    srv: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Fhir)
    srv.seen = []
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """HOST resolves to a public address the first time, to 127.0.0.1 afterwards."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *a: Any, **kw: Any) -> Any:
        if host != HOST:
            return real(host, port, *a, **kw)
        asked.append(host)
        addr = PUBLIC if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_host_name_is_resolved_once_and_the_fetch_goes_to_that_address(
    fhir: Any, rebinding_dns: list[str]
) -> None:
    base = f"http://{HOST}:{fhir.server_address[1]}"
    assert resolve_fhir_server(base, [base]).pin == PUBLIC
    rebinding_dns.clear()
    with pytest.raises(PrefetchUnavailableError):
        fetch_missing(
            {"patient": "Patient/{{context.patientId}}"},
            {},
            context={"patientId": "p1"},
            fhir_server=base,
            authorization={"access_token": "secret-token"},
            timeout_s=1.0,
            budget_s=1.5,
            registered=[base],
        )
    # one resolution (the check); the rebinding answer (127.0.0.1) was never used
    assert rebinding_dns == [HOST]
    assert fhir.seen == []


def test_a_loopback_answer_at_check_time_is_refused(rebinding_dns: list[str]) -> None:
    rebinding_dns.append("first answer used up")  # the next answer is 127.0.0.1
    base = f"https://{HOST}"
    with pytest.raises(PrefetchUnavailableError, match="loopback, link-local or private"):
        resolve_fhir_server(base, [base])


def test_the_pinned_request_keeps_the_host_header(fhir: Any) -> None:
    port = fhir.server_address[1]
    with httpx.Client() as client:
        r = pinned_get(client, f"http://{HOST}:{port}/Patient/p1", "127.0.0.1", timeout=5)
    assert r.status_code == 200 and r.json()["id"] == "p1"
    assert fhir.seen == [("/Patient/p1", f"{HOST}:{port}")]
    # an IP-address base URL is not pinned (nothing to resolve)
    assert resolve_fhir_server("http://127.0.0.1:9/", ["http://127.0.0.1:9"]).pin is None
