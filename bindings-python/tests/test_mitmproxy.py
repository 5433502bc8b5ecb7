"""Integration: mitmdump with examples/python/mitmproxy_egress.py in front of a local
upstream. An allowed request reaches the upstream; denied ones are answered by the proxy
(403 / 502) and never reach it.

Everything listens on 127.0.0.1 (free ports). mitmdump is started in its own session and
stopped by its PID (process group) in the fixture's teardown; every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import PRODUCTPAGE, REPO_ROOT, REVIEWS

ADDON = REPO_ROOT / "examples" / "python" / "mitmproxy_egress.py"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0


def _mitmdump() -> str | None:
    beside_python = Path(sys.executable).with_name("mitmdump")
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("mitmdump")


pytestmark = pytest.mark.skipif(
    _mitmdump() is None, reason="mitmproxy is not installed (scripts/setup-python.sh installs it)"
)


@dataclass
class Upstream:
    port: int
    hits: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A tiny HTTP server on 127.0.0.1 that records every request it receives."""
    state = Upstream(port=0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                state.hits.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            body = b"hello from upstream\n"
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _record
        do_POST = _record

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _policies(directory: Path, upstream_port: int) -> Path:
    """Istio ambient egress for `localhost:<upstream_port>`: only productpage may `GET /get`;
    REGISTRY_ONLY, so unregistered hosts are refused with 502 before any connection."""
    directory.mkdir()
    (directory / "mesh.yaml").write_text(
        """\
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
""",
        encoding="utf-8",
    )
    (directory / "waypoint.yaml").write_text(
        """\
apiVersion: v1
kind: Namespace
metadata: {name: istio-egress}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: egress-waypoint, namespace: istio-egress}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
""",
        encoding="utf-8",
    )
    (directory / "upstream.yaml").write_text(
        f"""\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: local-upstream
  namespace: istio-egress
  labels: {{istio.io/use-waypoint: egress-waypoint}}
spec:
  hosts: [localhost]
  ports:
  - {{number: {upstream_port}, name: http, protocol: HTTP}}
  resolution: DNS
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: upstream-get, namespace: istio-egress}}
spec:
  targetRefs:
  - {{kind: Gateway, group: gateway.networking.k8s.io, name: egress-waypoint}}
  action: ALLOW
  rules:
  - from: [{{source: {{principals: ["{PRODUCTPAGE}"]}}}}]
    to: [{{operation: {{methods: [GET], paths: [/get]}}}}]
""",
        encoding="utf-8",
    )
    return directory


@dataclass
class Proxy:
    port: int
    log: Path


@pytest.fixture
def proxy(tmp_path: Path, upstream: Upstream) -> Iterator[Proxy]:
    mitmdump = _mitmdump()
    assert mitmdump is not None
    policies = _policies(tmp_path / "policies", upstream.port)
    identity_map = tmp_path / "identities.json"
    # Clients without the identity header are taken to be `reviews`.
    identity_map.write_text(json.dumps({"127.0.0.1": REVIEWS}), encoding="utf-8")
    port = _free_port()
    log = tmp_path / "mitmdump.log"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [
                mitmdump,
                "--listen-host", "127.0.0.1",
                "--listen-port", str(port),
                "--set", f"confdir={tmp_path / 'mitmproxy-conf'}",
                "--set", "connection_strategy=lazy",
                "--set", "termlog_verbosity=info",
                "-s", str(ADDON),
                "--set", f"egress_policy={policies}",
                "--set", "egress_identity_header=x-egress-identity",
                "--set", f"egress_identity_map={identity_map}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # setsid: its own process group, stopped by its PID below
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"mitmdump exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"mitmdump did not listen within {START_TIMEOUT}s:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
        yield Proxy(port=port, log=log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def _via_proxy(
    proxy: Proxy, method: str, url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """Sends an absolute-form request to the proxy, as an HTTP client configured with it would."""
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, url, body=b"" if method == "POST" else None, headers=headers or {})
        response = connection.getresponse()
        body = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def test_allowed_request_reaches_the_upstream(proxy: Proxy, upstream: Upstream) -> None:
    url = f"http://localhost:{upstream.port}/get"
    status, headers, body = _via_proxy(proxy, "GET", url, {"x-egress-identity": PRODUCTPAGE})
    assert status == 200, body
    assert body == "hello from upstream\n"
    assert headers["x-egress-policy"] == "AuthorizationPolicy istio-egress/upstream-get"
    assert headers["x-egress-reason"] == "allowed_by_policy"
    assert len(upstream.hits) == 1
    method, path, seen = upstream.hits[0]
    assert (method, path) == ("GET", "/get")
    assert "x-egress-identity" not in seen  # the identity header is not forwarded


def test_denied_request_is_403_and_never_reaches_the_upstream(proxy: Proxy, upstream: Upstream) -> None:
    status, headers, body = _via_proxy(
        proxy, "POST", f"http://localhost:{upstream.port}/post", {"x-egress-identity": PRODUCTPAGE}
    )
    assert status == 403
    assert "RBAC: access denied" in body and "reason: no_allow_match" in body
    assert headers["x-egress-policy"] == "-"
    assert headers["x-egress-reason"] == "no_allow_match"
    assert upstream.hits == []


def test_identity_from_the_client_address_map(proxy: Proxy, upstream: Upstream) -> None:
    # No header: 127.0.0.1 maps to reviews, which may not GET.
    status, _, body = _via_proxy(proxy, "GET", f"http://localhost:{upstream.port}/get")
    assert status == 403, body
    assert upstream.hits == []
    # The header wins over the map.
    status, _, _ = _via_proxy(proxy, "GET", f"http://localhost:{upstream.port}/get", {"x-egress-identity": PRODUCTPAGE})
    assert status == 200
    assert [hit[:2] for hit in upstream.hits] == [("GET", "/get")]


def test_unregistered_host_is_502(proxy: Proxy, upstream: Upstream) -> None:
    status, headers, body = _via_proxy(
        proxy, "GET", "http://unregistered.invalid/get", {"x-egress-identity": PRODUCTPAGE}
    )
    assert status == 502
    assert "reason: not_in_registry" in body
    assert headers["x-egress-reason"] == "not_in_registry"
    assert upstream.hits == []


def test_connect_to_an_unregistered_host_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    # HTTPS through the proxy: the CONNECT is decided as TLS passthrough (SNI + port).
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("CONNECT", "unregistered.invalid:443", headers={"x-egress-identity": PRODUCTPAGE})
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert response.status == 502, body
    assert response.getheader("x-egress-reason") == "not_in_registry"
    assert upstream.hits == []
