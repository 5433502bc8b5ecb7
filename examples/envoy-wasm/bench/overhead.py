"""Envoy CPU per request: no filter, Envoy's RBAC, the egress-policy wasm filter, ext_authz.

Every configuration is one Envoy (`--concurrency 1`) with one loopback listener that
answers with a direct 200 response, so what is measured is Envoy's own request handling
plus the authorization filter. The load is bounded: K requests over a few keep-alive
connections (raw sockets, one request in flight per connection). Envoy's CPU time
(utime + stime from /proc/<pid>/stat) is read before and after; the table shows CPU per
request (the best round: the least disturbed by other load) and the overhead over the
no-filter baseline. For ext_authz the authorization server's CPU is shown too. When
`perf` works (hardware counters), one more round runs under `perf stat -p` for user-space
instructions and cycles per request: far steadier than CPU time on a shared machine.

Rules are generated in the subset both engines express (rbacgen's mapping): N rules over
N/10 service accounts, one host (exact or `*.suffix`), a method subset and a path prefix
each; requests are 50% hits. "RBAC, N policies" = N RBAC policies = N Istio rules.
The generate(10000) row uses the core's own generator (`egress-policy bench --generate N`,
gateway 0 of 4) instead.

Build first (release):
    cargo build --release -p egress-policy-cli -p egress-policy-ext-authz
    cargo build --release -p egress-policy-envoy-wasm --target wasm32-wasip1
Then:
    .venv-envoy/bin/python examples/envoy-wasm/bench/overhead.py [--requests K] [--rounds R] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoyconf as conf  # noqa: E402
import rbacgen  # noqa: E402
from harness import TARGET, Envoy, ExtAuthz, cpu_seconds, wasm_module  # noqa: E402

METHOD_SETS = [["GET"], ["GET", "OPTIONS"], ["GET", "POST"], ["POST", "PUT", "PATCH"], ["DELETE"]]


def generate_rules(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` Istio rules in the RBAC-mappable subset."""
    rng = random.Random(seed)
    accounts = max(1, n // 10)
    rules = []
    for i in range(n):
        sa = rng.randrange(accounts)
        host = f"svc-{i % max(1, n // 3)}.ext-{i % 7}.com"
        if rng.random() < 0.2:
            host = f"*.ext-{i % 7}-{i % 11}.org"
        rules.append(
            {
                "from": [{"source": {"principals": [f"cluster.local/ns/ns-{sa % 20}/sa/sa-{sa}"]}}],
                "to": [
                    {
                        "operation": {
                            "hosts": [host],
                            "methods": rng.choice(METHOD_SETS),
                            "paths": [f"/api/v{rng.randint(1, 3)}/*"],
                        }
                    }
                ],
            }
        )
    return rules


GATEWAY = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "istio-egressgateway", "namespace": rbacgen.NAMESPACE},
    "spec": {
        "selector": rbacgen.WORKLOAD_LABELS,
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
    },
}


def policy_files(rules: list[dict[str, Any]]) -> dict[str, str]:
    """The egress gateway (so the engine precomputes what attaches to it) and the policies,
    100 per file (the loader's per-file budgets)."""
    policies = policies_of(rules)
    files = {"gateway.json": json.dumps(GATEWAY)}
    for i in range(0, len(policies), 100):
        files[f"policies-{i // 100:03}.json"] = json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": policies[i : i + 100]}
        )
    return files


def policies_of(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Istio AuthorizationPolicies of 10 rules each (ALLOW, namespace-wide)."""
    return [
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": f"p-{i // 10}", "namespace": rbacgen.NAMESPACE},
            "spec": {"action": "ALLOW", "rules": rules[i : i + 10]},
        }
        for i in range(0, len(rules), 10)
    ]


def requests_for(rules: list[dict[str, Any]], count: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(method, host, path, principal): half hits on a random rule, half misses."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        rule = rng.choice(rules)
        op = rule["to"][0]["operation"]
        principal = rule["from"][0]["source"]["principals"][0]
        host = op["hosts"][0].replace("*", "www")
        path = op["paths"][0].replace("*", f"items/{rng.randrange(100)}")
        method = rng.choice(op["methods"])
        if i % 2:  # a miss: wrong method, path or principal
            kind = rng.randrange(3)
            if kind == 0:
                method = "DELETE" if method != "DELETE" else "GET"
            elif kind == 1:
                path = "/other/path"
            else:
                principal = "cluster.local/ns/nobody/sa/nobody"
        out.append((method, host, path, principal))
    return out


def raw_requests(requests: list[tuple[str, str, str, str]]) -> list[bytes]:
    return [
        f"{m} {p} HTTP/1.1\r\nhost: {h}\r\n{conf.SOURCE_HEADER}: {s}\r\ncontent-length: 0\r\n\r\n".encode()
        for m, h, p, s in requests
    ]


def drive(port: int, payloads: list[bytes], total: int, connections: int) -> dict[int, int]:
    """Sends `total` requests (cycling through `payloads`) over `connections` keep-alive
    connections, one in flight each; returns the status counts."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(index: int, count: int) -> None:
        local: dict[int, int] = {}
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffer = b""
            for n in range(count):
                sock.sendall(payloads[(index + n * connections) % len(payloads)])
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("envoy closed the connection")
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                status = int(lines[0].split()[1])
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("envoy closed the connection")
                    buffer += chunk
                buffer = buffer[length:]
                local[status] = local.get(status, 0) + 1
            sock.close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        with lock:
            for k, v in local.items():
                statuses[k] = statuses.get(k, 0) + v

    per = total // connections
    threads = [threading.Thread(target=worker, args=(i, per)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    if errors:
        raise RuntimeError(f"load failed: {errors[0]!r}")
    return statuses


class Perf:
    """`perf stat -e instructions,cycles -p PID` around one load (all of Envoy's threads):
    counts that do not depend on the scheduler tick, when the machine has hardware counters."""

    def __init__(self, pid: int):
        self.proc: subprocess.Popen[str] | None = None
        if shutil.which("perf") is None:
            return
        self.proc = subprocess.Popen(
            ["perf", "stat", "-x", ",", "-e", "instructions:u,cycles:u", "-p", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.2)  # let perf attach

    def stop(self) -> dict[str, float]:
        if self.proc is None:
            return {}
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {}
        counts = {}
        for line in err.splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                counts[parts[2]] = float(parts[0])
        return counts


def callgrind_count(
    config: dict[str, Any], payloads: list[bytes], args: argparse.Namespace, work: Path, name: str
) -> float | None:
    """User-space instructions per request, counted by valgrind's callgrind (all of Envoy's
    threads, V8's generated code included), for machines whose `perf` has no hardware
    counters. A second Envoy runs under callgrind with instrumentation off while it starts
    and warms up; then `callgrind_control` turns it on, zeroes the counts after a few
    requests (so first-sight work is left out, as in the perf round), and dumps them after
    `--count-requests` more."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return None
    out = work / f"{name}.callgrind"
    wrapper = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--smc-check=all-non-file",  # V8 writes and patches code in anonymous memory
        f"--callgrind-out-file={out}",
    ]

    def control(pid: int, *command: str) -> None:
        subprocess.run(["callgrind_control", *command, str(pid)], check=True, capture_output=True, timeout=120)

    envoy = Envoy(config, work, name, wrapper=wrapper)
    envoy.start(timeout=600)
    try:
        assert envoy.proc is not None
        pid = envoy.proc.pid
        port = envoy.ports["bench"]
        drive(port, payloads, 200, args.connections)
        control(pid, "--instr=on")
        drive(port, payloads, 200, args.connections)
        control(pid, "--zero")
        drive(port, payloads, args.count_requests, args.connections)
        control(pid, "--dump")
    finally:
        envoy.stop()
    dumps = sorted(work.glob(f"{name}.callgrind.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    for dump in reversed(dumps):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1]) / args.count_requests
    return None


def measure(
    label: str,
    filters: list[dict[str, Any]],
    payloads: list[bytes],
    args: argparse.Namespace,
    work: Path,
    clusters: list[dict[str, Any]] | None = None,
    side: Any = None,
) -> dict[str, Any]:
    config = conf.bootstrap([conf.listener("bench", filters, upstream=None)], clusters or [])
    name = "envoy-" + "".join(c if c.isalnum() else "-" for c in label)
    with Envoy(config, work, name) as envoy:
        assert envoy.proc is not None
        port = envoy.ports["bench"]
        drive(port, payloads, min(2000, args.requests), args.connections)  # warm-up
        per_request, side_per_request, statuses = [], [], {}
        for _ in range(args.rounds):
            before = cpu_seconds(envoy.proc.pid)
            side_before = cpu_seconds(side.proc.pid) if side else 0.0
            started = time.monotonic()
            statuses = drive(port, payloads, args.requests, args.connections)
            wall = time.monotonic() - started
            per_request.append((cpu_seconds(envoy.proc.pid) - before) / args.requests * 1e6)
            if side:
                side_per_request.append((cpu_seconds(side.proc.pid) - side_before) / args.requests * 1e6)
        # One more round under `perf stat` (which slows Envoy down, so it is not timed):
        # user-space instructions and cycles per request, independent of the scheduler tick.
        perf = Perf(envoy.proc.pid)
        drive(port, payloads, args.requests, args.connections)
        counts = perf.stop()
        instructions = counts.get("instructions:u", 0.0) / args.requests or None
        cycles = counts.get("cycles:u", 0.0) / args.requests or None
        counter = "perf" if instructions else None
    if args.callgrind or (instructions is None and args.callgrind is None):
        instructions = callgrind_count(config, payloads, args, work, name + "-callgrind")
        counter = "callgrind" if instructions else None
    result = {
        "label": label,
        "counter": counter,
        "envoy_us": min(per_request),
        "rounds_us": [round(x, 2) for x in per_request],
        "side_us": min(side_per_request) if side_per_request else None,
        "instructions": instructions,
        "cycles": cycles,
        "statuses": statuses,
        "rps": round(args.requests / wall),
    }
    print(
        f"{label:<40} envoy {result['envoy_us']:7.2f} us/req"
        + (f" {result['instructions']:9.0f} instr/req ({counter})" if result["instructions"] else "")
        + (f" {result['cycles']:9.0f} cycles/req" if result["cycles"] else "")
        + (f"  + ext_authz server {result['side_us']:.2f} us/req" if result["side_us"] is not None else "")
        + f"  {statuses}  rounds {result['rounds_us']}",
        file=sys.stderr,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000, help="requests per round (K)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument(
        "--callgrind",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="count instructions with valgrind's callgrind (default: only when perf has no hardware counters)",
    )
    parser.add_argument(
        "--count-requests", type=int, default=2000, help="requests counted under callgrind (default 2000)"
    )
    args = parser.parse_args()

    wasm = wasm_module()
    ext_authz = TARGET / "release" / "egress-policy-ext-authz"
    cli = TARGET / "release" / "egress-policy"
    for needed in (wasm, ext_authz, cli):
        if not needed.exists():
            print(f"missing {needed}: build first (see the docstring)", file=sys.stderr)
            return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="envoy-bench-") as tmp:
        work = Path(tmp)
        base_rules = generate_rules(100, args.seed)
        base_payloads = raw_requests(requests_for(base_rules, 1000, args.seed))
        results.append(measure("no filter", [], base_payloads, args, work))
        for n in (1, 100, 1000):
            rules = generate_rules(n, args.seed)
            payloads = raw_requests(requests_for(rules, 1000, args.seed))
            rbac = rbacgen.rbac_filters(policies_of(rules))
            results.append(measure(f"Envoy RBAC, {n} policies", rbac, payloads, args, work))
        for n in (1, 100, 10000):
            rules = generate_rules(n, args.seed)
            payloads = raw_requests(requests_for(rules, 1000, args.seed))
            files = policy_files(rules)
            configuration = conf.plugin_configuration(files, workload=rbacgen.WORKLOAD)
            results.append(
                measure(f"egress-policy wasm, {n} rules", [conf.wasm_filter(configuration, wasm)], payloads, args, work)
            )
        # The core's own workload generator (egress-policy bench --generate): gateway 0.
        generated = work / "generated"
        subprocess.run([str(cli), "bench", "--generate", "10000", str(generated)], check=True, capture_output=True, timeout=300)
        files = {p.name: p.read_text() for p in sorted(generated.glob("*.yaml"))}
        gw0 = {"namespace": "egress-0", "labels": {"app": "egress-gw-0"}}
        generated_requests = []
        for line in (generated / "requests.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r.get("workload") == gw0 and r.get("protocol", "http") == "http" and "host" in r:
                principal = (r.get("source") or {}).get("principal") or "none"
                generated_requests.append((r.get("method", "GET"), r["host"], r.get("path", "/"), principal))
        configuration = conf.plugin_configuration(files, workload=gw0)
        results.append(
            measure(
                "egress-policy wasm, generate(10000)",
                [conf.wasm_filter(configuration, wasm)],
                raw_requests(generated_requests),
                args,
                work,
            )
        )
        # ext_authz (gRPC) with the 100-rule set.
        rules = generate_rules(100, args.seed)
        policy_dir = work / "ext-authz-policies"
        policy_dir.mkdir()
        for name, text in policy_files(rules).items():
            (policy_dir / name).write_text(text)
        workload = f"{rbacgen.NAMESPACE}/app={rbacgen.WORKLOAD_LABELS['app']}"
        server = ExtAuthz(
            [policy_dir],
            work,
            "bench-ext-authz",
            ["--source-header", conf.SOURCE_HEADER, "--workload", workload, "--poll-ms", "0"],
        )
        os.environ["EGRESS_EXT_AUTHZ"] = str(ext_authz)
        with server:
            results.append(
                measure(
                    "ext_authz (gRPC), 100 rules",
                    [conf.ext_authz_filter("ext_authz")],
                    raw_requests(requests_for(rules, 1000, args.seed)),
                    args,
                    work,
                    clusters=[conf.cluster("ext_authz", server.port, http2=True)],
                    side=server,
                )
            )

    base = results[0]["envoy_us"]
    base_instructions = results[0]["instructions"]
    base_cycles = results[0]["cycles"]
    lines = [
        f"Envoy 1.40, `--concurrency 1`, direct 200 response, loopback; {args.requests} requests per round over "
        f"{args.connections} keep-alive connections. CPU: utime+stime from /proc, best of {args.rounds} rounds. "
        "Instructions and cycles: user space, `perf stat -p` over one more round when the machine has hardware "
        f"counters, else instructions only, counted by valgrind's callgrind over {args.count_requests} requests "
        "(a second Envoy, after 400 warm-up requests).",
        "",
        "| configuration | Envoy CPU µs/req | vs no filter | instructions/req | vs no filter | cycles/req | vs no filter | responses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]

    def delta(value: float | None, base_value: float | None, digits: int = 0) -> str:
        if value is None or base_value is None:
            return "–"
        return f"{value - base_value:+,.{digits}f}"

    def count(value: float | None) -> str:
        return "–" if value is None else f"{value:,.0f}"

    for r in results:
        extra = f" (+{r['side_us']:.1f} server)" if r["side_us"] is not None else ""
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
        lines.append(
            f"| {r['label']} | {r['envoy_us']:.1f}{extra} | {delta(r['envoy_us'], base, 1)} "
            f"| {count(r['instructions'])} | {delta(r['instructions'], base_instructions)} "
            f"| {count(r['cycles'])} | {delta(r['cycles'], base_cycles)} | {statuses} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
