"""The enforcement points as services, through a real Envoy: the identity header (one
value, believed only from trusted clients, never forwarded), the wasm filter deciding as the
proxy it runs in, the ext_authz server's generation header, reloads and fail-closed
behaviour, and a 10-second load run whose every answer equals the CLI's.

Run by scripts/test-envoy.sh (which builds the wasm module, the ext_authz server, the load
generator and the CLI first). Loopback only; every process started here is stopped here.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any, ClassVar

import envoyconf as conf
from harness import (
    Client,
    Envoy,
    ExtAuthz,
    Upstream,
    cli_eval,
    ext_authz_binary,
    loadgen_binary,
    replace_file,
    validate_config,
    wasm_module,
)
from scenarios import POLICIES, scenario_dir, scenarios

PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage"
TLS = "istio-waypoint-tls"


def raw_request(port: int, headers: list[tuple[str, str]], path: str = "/get", method: str = "GET") -> tuple[int, dict[str, str], str]:
    """One request with repeated headers allowed (http.client.putheader keeps them all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "httpbin.org")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


class Service(unittest.TestCase):
    """One Envoy with the wasm filter and ext_authz side by side on the gloo and TLS
    scenarios (only productpage may call httpbin.org in gloo)."""

    upstream: ClassVar[Upstream]
    envoy: ClassVar[Envoy]
    servers: ClassVar[dict[str, ExtAuthz]]
    tmp: ClassVar[tempfile.TemporaryDirectory[str]]

    @classmethod
    def setUpClass(cls) -> None:
        if not wasm_module().exists() or not ext_authz_binary().exists():
            raise unittest.SkipTest("wasm module or ext_authz server not built (scripts/test-envoy.sh builds them)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="envoy-service-")
        work = Path(cls.tmp.name)
        cls.upstream = Upstream().__enter__()
        cls.servers = {}
        try:
            reload_dir = work / "reload-policies"
            shutil.copytree(scenario_dir(TLS), reload_dir)
            for name, policies, workload in [
                ("gloo", scenario_dir("gloo"), conf.WORKLOADS["gloo"]),
                ("reload", reload_dir, conf.WORKLOADS[TLS]),
            ]:
                cls.servers[name] = ExtAuthz(
                    [policies],
                    work,
                    f"authz-{name}",
                    ["--workload", workload, "--source-header", conf.SOURCE_HEADER, "--test-mode", "--debounce-ms", "50"],
                ).start()
            gloo_files = conf.scenario_files("gloo")
            listeners = [
                conf.listener(
                    "wasm",
                    [conf.wasm_filter(conf.plugin_configuration(gloo_files, workload=conf.WORKLOADS["gloo"]), wasm_module(), name="gloo")],
                ),
                conf.listener("authz", [conf.ext_authz_filter("authz-gloo")]),
                # Clients on loopback are not trusted here: Envoy strips the identity header.
                conf.listener(
                    "wasm-untrusted",
                    [conf.wasm_filter(conf.plugin_configuration(gloo_files, workload=conf.WORKLOADS["gloo"]), wasm_module(), name="gloo-u")],
                    trusted_cidrs=["10.0.0.0/8"],
                ),
                conf.listener("authz-untrusted", [conf.ext_authz_filter("authz-gloo")], trusted_cidrs=["10.0.0.0/8"]),
                conf.listener("authz-reload", [conf.ext_authz_filter("authz-reload")]),
            ]
            clusters = [conf.cluster("upstream", cls.upstream.port)]
            clusters += [conf.cluster(f"authz-{n}", s.port, http2=True) for n, s in cls.servers.items()]
            cls.envoy = Envoy(conf.bootstrap(listeners, clusters), work, "envoy-service").start()
        except Exception:
            cls._stop_all()
            raise

    @classmethod
    def _stop_all(cls) -> None:
        if hasattr(cls, "envoy"):
            cls.envoy.stop()
        for server in cls.servers.values():
            server.stop()
        cls.upstream.__exit__()

    @classmethod
    def tearDownClass(cls) -> None:
        cls._stop_all()
        cls.tmp.cleanup()

    def port(self, name: str) -> int:
        return self.envoy.ports[name]

    def test_two_identity_headers_are_refused_alike(self) -> None:
        for listener in ("wasm", "authz"):
            with self.subTest(listener=listener):
                self.upstream.take()
                two = [(conf.SOURCE_HEADER, PRODUCTPAGE), (conf.SOURCE_HEADER, "cluster.local/ns/x/sa/y")]
                status, headers, body = raw_request(self.port(listener), two)
                self.assertEqual((status, headers.get("x-egress-reason")), (400, "ambiguous_identity"), body)
                self.assertIn("ambiguous identity", body)
                joined = [(conf.SOURCE_HEADER, f"{PRODUCTPAGE},cluster.local/ns/x/sa/y")]
                status, headers, _ = raw_request(self.port(listener), joined)
                self.assertEqual((status, headers.get("x-egress-reason")), (400, "ambiguous_identity"))
                self.assertEqual(self.upstream.take(), [])

    def test_identity_header_is_not_forwarded_and_untrusted_clients_cannot_set_it(self) -> None:
        for listener in ("wasm", "authz"):
            with self.subTest(listener=listener):
                self.upstream.take()
                status, _, body = raw_request(self.port(listener), [(conf.SOURCE_HEADER, PRODUCTPAGE)])
                self.assertEqual(status, 200, body)
                hits = self.upstream.take()
                self.assertEqual(len(hits), 1)
                self.assertNotIn(conf.SOURCE_HEADER, hits[0].headers)
                # The same request from a client outside internal_address_config: Envoy
                # drops the header before the filter runs, so there is no identity.
                status, headers, _ = raw_request(self.port(f"{listener}-untrusted"), [(conf.SOURCE_HEADER, PRODUCTPAGE)])
                self.assertEqual((status, headers.get("x-egress-reason")), (403, "no_allow_match"))
                self.assertEqual(self.upstream.take(), [])

    def test_generation_header_and_reload_through_envoy(self) -> None:
        server = self.servers["reload"]
        port = self.port("authz-reload")
        ok = [(conf.SOURCE_HEADER, PRODUCTPAGE)]
        status, headers, _ = raw_request(port, ok)
        self.assertEqual((status, headers.get("x-egress-generation")), (200, "0"))
        status, headers, _ = raw_request(port, ok, "/post", "POST")
        self.assertEqual((status, headers.get("x-egress-generation")), (403, "0"))
        authz = Path(self.tmp.name) / "reload-policies" / "httpbin-authz.yaml"
        text = authz.read_text()
        # Half-written: rejected, generation 0 keeps answering.
        replace_file(authz, text[: text.index("methods:") + 12])
        deadline = time.monotonic() + 15
        while server.metric('egress_policy_reloads_total{result="failure",kind="invalid"}') < 1:
            self.assertLess(time.monotonic(), deadline, server.log())
            time.sleep(0.05)
        status, headers, _ = raw_request(port, ok)
        self.assertEqual((status, headers.get("x-egress-generation")), (200, "0"))
        # Fixed and widened to POST: generation 1 answers.
        replace_file(authz, text.replace('methods: ["GET"]', 'methods: ["GET", "POST"]').replace('paths: ["/get"]', 'paths: ["/get", "/post"]'))
        deadline = time.monotonic() + 15
        while True:
            status, headers, _ = raw_request(port, ok, "/post", "POST")
            if status == 200:
                break
            self.assertLess(time.monotonic(), deadline, server.log())
            time.sleep(0.05)
        self.assertEqual(headers.get("x-egress-generation"), "1")
        self.assertEqual(server.metric("egress_policy_engine_generation"), 1)


class ServerDown(unittest.TestCase):
    def test_unreachable_server_denies(self) -> None:
        """failure_mode_allow: false — with the server gone Envoy answers 403, never lets
        the request through."""
        if not ext_authz_binary().exists():
            self.skipTest("ext_authz server not built")
        with tempfile.TemporaryDirectory(prefix="envoy-down-") as tmp, Upstream() as upstream:
            work = Path(tmp)
            server = ExtAuthz([scenario_dir(TLS)], work, "authz", ["--workload", conf.WORKLOADS[TLS], "--source-header", conf.SOURCE_HEADER]).start()
            config = conf.bootstrap(
                [conf.listener("authz", [conf.ext_authz_filter("authz", timeout="0.5s")])],
                [conf.cluster("upstream", upstream.port), conf.cluster("authz", server.port, http2=True)],
            )
            with Envoy(config, work, "envoy-down") as envoy:
                client = Client(envoy.ports["authz"])
                try:
                    self.assertEqual(client.request("GET", "/get", "httpbin.org").status, 200)
                    server.stop()
                    self.assertEqual(server.proc.returncode if server.proc else None, 0, server.log())
                    upstream.take()
                    for _ in range(3):
                        r = client.request("GET", "/get", "httpbin.org")
                        self.assertEqual(r.status, 403, r)
                    self.assertEqual(upstream.take(), [])
                finally:
                    client.close()


class WasmWorkload(unittest.TestCase):
    """The wasm filter decides as the proxy it runs in (Envoy node metadata) and refuses to
    start when its policies attach nothing there."""

    def setUp(self) -> None:
        if not wasm_module().exists():
            self.skipTest("wasm module not built")

    def config(self, node: dict[str, Any] | None, port: int, **plugin: Any) -> dict[str, Any]:
        files = conf.scenario_files(TLS)
        return conf.bootstrap(
            [conf.listener("wasm", [conf.wasm_filter(conf.plugin_configuration(files, **plugin), wasm_module())])],
            [conf.cluster("upstream", port)],
            node=node,
        )

    def test_node_metadata_is_the_workload(self) -> None:
        with tempfile.TemporaryDirectory(prefix="envoy-node-") as tmp, Upstream() as upstream:
            config = self.config(conf.node_for(conf.WORKLOADS[TLS]), upstream.port)
            with Envoy(config, Path(tmp), "envoy-node") as envoy:
                client = Client(envoy.ports["wasm"])
                try:
                    self.assertEqual(client.request("GET", "/get", "httpbin.org").status, 200)
                    r = client.request("POST", "/post", "httpbin.org")
                    self.assertEqual((r.status, r.body), (403, "RBAC: access denied"))
                finally:
                    client.close()
                self.assertIn("deciding at workload istio-egress", envoy.log())

    def test_placed_where_nothing_attaches_or_nowhere_it_refuses(self) -> None:
        with tempfile.TemporaryDirectory(prefix="envoy-refuse-") as tmp:
            work = Path(tmp)
            cases = [
                ("elsewhere", conf.node_for("default/app=sleep"), {}, "no policy attaches"),
                ("nowhere", None, {}, "no workload"),
                ("typo", None, {"workload": "istio-egress/egress-waypiont"}, "no policy attaches"),
            ]
            for name, node, plugin, message in cases:
                with self.subTest(case=name):
                    path = work / f"{name}.json"
                    path.write_text(json.dumps(self.config(node, 8080, **plugin)))
                    result = validate_config(path)
                    output = result.stdout + result.stderr
                    self.assertNotEqual(result.returncode, 0, output)
                    self.assertIn(message, output)
            # Explicitly deciding by the registry is allowed.
            path = work / "registry.json"
            path.write_text(json.dumps(self.config(None, 8080, route_by_registry=True)))
            result = validate_config(path)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class LoadRun(unittest.TestCase):
    """10 s of load (2 s per seed scenario, 16 streams): no errors, and every answer equal
    to the CLI's for the same request at the same workload."""

    def test_load_answers_equal_the_cli(self) -> None:
        if not ext_authz_binary().exists() or not loadgen_binary().exists():
            self.skipTest("ext_authz server or load generator not built")
        with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
            work = Path(tmp)
            total = 0
            for scenario in scenarios():
                workload = conf.WORKLOADS[scenario]
                lines = [json.loads(l) for l in (POLICIES / scenario / "demo.jsonl").read_text().splitlines() if l.strip()]
                # What an ext_authz check can carry: HTTP requests with a principal.
                requests = [
                    {**item["request"], "workload": conf.workload_json(workload)}
                    for item in lines
                    if set(item["request"]) <= {"source", "method", "url", "host", "path", "headers"}
                    and set(item["request"].get("source", {})) <= {"principal"}
                ]
                if not requests:
                    continue
                file = work / f"{scenario}.jsonl"
                file.write_text("".join(json.dumps(r) + "\n" for r in requests))
                expected = cli_eval([scenario_dir(scenario)], requests)
                with ExtAuthz([scenario_dir(scenario)], work, f"authz-{scenario}", ["--workload", workload]) as server:
                    out = subprocess.run(
                        [
                            str(loadgen_binary()),
                            "--target",
                            f"127.0.0.1:{server.port}",
                            "--requests",
                            str(file),
                            "--streams",
                            "16",
                            "--connections",
                            "2",
                            "--duration-secs",
                            "2",
                            "--warmup-secs",
                            "0.2",
                        ],
                        capture_output=True,
                        text=True,
                        timeout=60,
                        check=False,
                    )
                    self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
                    report = json.loads(out.stdout)
                    self.assertEqual((report["errors"], report["inconsistent"]), (0, 0), report)
                    self.assertGreater(report["checks"], 100, report)
                    for seen, decision in zip(report["requests"], expected, strict=True):
                        with self.subTest(scenario=scenario, label=seen["label"]):
                            self.assertGreater(seen["count"], 0)
                            self.assertEqual(seen["status"], decision["status"], (seen, decision))
                            reason = "" if decision["allowed"] else decision["reason"]
                            self.assertEqual(seen["reason"], reason, (seen, decision))
                    answered = server.metric("egress_policy_decision_seconds_count")
                    self.assertGreaterEqual(answered, report["checks"])
                    total += report["checks"]
            self.assertGreater(total, 1000)


if __name__ == "__main__":
    unittest.main()
