"""The decision surface: attributes, repr, to_dict against the CLI, request conversion."""

from __future__ import annotations

import json
import subprocess
from collections import OrderedDict
from types import MappingProxyType

import pytest

import egress_policy
from conftest import POLICIES, PRODUCTPAGE, REPO_ROOT, cli_binary
from egress_policy import Decision, Engine, ResourceRef

GET = {"source": {"principal": PRODUCTPAGE}, "method": "GET", "url": "http://httpbin.org/get"}
POST = {"source": {"principal": PRODUCTPAGE}, "method": "POST", "url": "http://httpbin.org/post"}


def test_public_names() -> None:
    assert egress_policy.__version__ == egress_policy._native.__version__
    for name in egress_policy.__all__:
        assert hasattr(egress_policy, name), name
    assert egress_policy.Engine is egress_policy._native.Engine
    assert egress_policy.PolicyRef is egress_policy.ResourceRef
    assert egress_policy.Engine.__module__ == "egress_policy"
    assert issubclass(egress_policy.PolicyError, ValueError)


def test_keywords_equal_the_dict(istio_waypoint: Engine) -> None:
    by_dict = istio_waypoint.check(GET)
    assert istio_waypoint.check(source=PRODUCTPAGE, method="GET", url="http://httpbin.org/get") == by_dict
    assert istio_waypoint.check(source={"principal": PRODUCTPAGE}, method="GET", url="http://httpbin.org/get") == by_dict
    assert istio_waypoint.check({"source": {"principal": PRODUCTPAGE}}, method="GET", url="http://httpbin.org/get") == by_dict
    # None keywords are absent fields.
    assert istio_waypoint.check(GET, sni=None, port=None) == by_dict
    # Any mapping will do.
    assert istio_waypoint.check(OrderedDict(GET)) == by_dict
    assert istio_waypoint.check(MappingProxyType(GET)) == by_dict


def test_full_request_shape(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(
        {
            "source": {
                "principal": PRODUCTPAGE,
                "ip": "10.0.0.1",
                "remote_ip": "192.0.2.1",
                "labels": {"app": "productpage"},
                "cluster": "c1",
            },
            "protocol": "http",
            "host": "httpbin.org",
            "port": 80,
            "method": "GET",
            "path": "/get?x=1",
            "headers": {"x-one": "1", "x-many": ["a", "b"]},
            "jwt": {"principal": "iss/sub", "audiences": ["a"], "presenter": "p", "claims": {"groups": ["g"], "n": 1.5}},
            "custom": {"ext-authz": True},
            "destination_ip": "203.0.113.1",
            "sni": None,
            "workload": None,
        }
    )
    assert decision.allowed, decision


def test_decision_attributes_and_repr(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(GET)
    assert isinstance(decision, Decision)
    assert repr(decision) == (
        "Decision(allowed=True, status=200, reason='allowed_by_policy', "
        f"message={decision.message!r}, policy='AuthorizationPolicy istio-egress/httpbin', "
        "rule=0, route='httpbin.org:80')"
    )
    denied = istio_waypoint.check(POST)
    assert repr(denied).startswith("Decision(allowed=False, status=403, reason='no_allow_match', message='RBAC: access denied'")
    policy = decision.policy
    assert policy is not None
    assert (policy.kind, policy.namespace, policy.name) == ("AuthorizationPolicy", "istio-egress", "httpbin")
    assert str(policy) == "AuthorizationPolicy istio-egress/httpbin"
    assert repr(policy) == "ResourceRef(kind='AuthorizationPolicy', namespace='istio-egress', name='httpbin')"
    assert policy.to_dict() == {"kind": "AuthorizationPolicy", "namespace": "istio-egress", "name": "httpbin"}
    assert hash(policy) == hash(ResourceRef("AuthorizationPolicy", "istio-egress", "httpbin"))
    assert len({policy, decision.policy}) == 1
    route = decision.route
    assert route is not None
    assert route.to_dict() == decision.to_dict()["route"]
    assert "Route(gateway='Gateway istio-egress/egress-waypoint'" in repr(route)
    assert route.headers.to_dict() == {"add": {}, "set": {}, "remove": []}
    assert not route.headers


def test_decisions_are_frozen(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(GET)
    with pytest.raises(AttributeError):
        decision.allowed = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        decision.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        hash(decision)


def test_to_dict_equals_to_json(istio_waypoint: Engine) -> None:
    for request in (GET, POST):
        decision = istio_waypoint.check(request)
        assert json.loads(decision.to_json()) == decision.to_dict()
        assert set(decision.to_dict()) == {
            "allowed", "status", "reason", "message", "policy", "rule", "dry_run", "audit", "route",
            "hops", "caveats",
        }
        assert decision.hops == decision.to_dict()["hops"]
        assert decision.caveats == decision.to_dict()["caveats"]


def test_to_dict_equals_the_cli_json(tmp_path: object) -> None:
    binary = cli_binary()
    if binary is None:
        pytest.skip("the egress-policy CLI is not built (cargo build -p egress-policy-cli)")
    requests = [GET, POST, {**GET, "url": "http://www.google.com/"}, {**GET, "method": "get"}]
    for scenario in ("istio-waypoint", "istio-waypoint-tls", "gloo", "tsb"):
        directory = POLICIES / scenario
        engine = Engine.from_paths(directory)
        result = subprocess.run(
            [str(binary), "eval", "--policy", str(directory)],
            input="".join(json.dumps(r) + "\n" for r in requests),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == len(requests)
        for line, request in zip(lines, requests):
            assert json.loads(line)["decision"] == engine.check(request).to_dict(), (scenario, request)


def test_explain_to_dict_equals_the_cli_json() -> None:
    binary = cli_binary()
    if binary is None:
        pytest.skip("the egress-policy CLI is not built (cargo build -p egress-policy-cli)")
    directory = POLICIES / "istio-waypoint"
    result = subprocess.run(
        [str(binary), "check", "--policy", str(directory), "--from", PRODUCTPAGE,
         "--url", "http://httpbin.org/post", "--method", "POST", "--explain", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    engine = Engine.from_paths(directory)
    assert json.loads(result.stdout) == engine.explain(POST).to_dict()
    # The text form is rendered once, in the core: `str()` prints what `check --explain` does.
    text = subprocess.run(
        [str(binary), "check", "--policy", str(directory), "--from", PRODUCTPAGE,
         "--url", "http://httpbin.org/post", "--method", "POST", "--explain"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert text.stdout == str(engine.explain(POST))
    assert "no match" in text.stdout
    assert "spec.rules[0].to[0].operation.methods: method POST not in [GET]" in text.stdout
    assert "httpbin-authz.yaml:17:" in text.stdout


def test_check_many(istio_waypoint: Engine) -> None:
    requests = [GET, POST] * 5000
    decisions = istio_waypoint.check_many(requests)
    assert [d.allowed for d in decisions] == [True, False] * 5000
    assert decisions[0] == istio_waypoint.check(GET)
    assert istio_waypoint.check_many([]) == []
    assert istio_waypoint.check_many(iter([GET])) == [istio_waypoint.check(GET)]
    assert istio_waypoint.check_many(r for r in (POST,)) == [istio_waypoint.check(POST)]


def test_inventory_matches_the_cli() -> None:
    engine = Engine.from_paths(POLICIES / "gloo")
    inventory = engine.inventory()
    assert [i["principal"] for i in inventory["identities"]] == [
        "cluster.local/ns/bookinfo/sa/bookinfo-productpage",
        "cluster.local/ns/bookinfo/sa/bookinfo-reviews",
        "cluster.local/ns/bookinfo/sa/default",
    ]
    assert inventory["outbound"] == "REGISTRY_ONLY"
    binary = cli_binary()
    if binary is None:
        pytest.skip("the egress-policy CLI is not built (cargo build -p egress-policy-cli)")
    result = subprocess.run(
        [str(binary), "inventory", "--policy", str(POLICIES / "gloo"), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == inventory


def test_eval_lines_matches_the_cli() -> None:
    """tests/batch: the same JSON lines as `egress-policy eval` and WASM `evalLines`."""
    batch = REPO_ROOT / "tests" / "batch"
    engine = Engine.from_paths(POLICIES / "istio-egress-gateway")
    got = engine.eval_lines((batch / "requests.jsonl").read_text())
    expected = [json.loads(line) for line in (batch / "expected.jsonl").read_text().splitlines()]
    assert got == expected
    assert [line["line"] for line in got] == [1, 3, 4, 5, 6, 7]
    assert engine.eval_lines("") == []


def test_engine_surface(istio_waypoint: Engine) -> None:
    assert repr(istio_waypoint).startswith("<Engine: 3 file(s), ")
    sources = istio_waypoint.sources
    assert sorted(sources) == sorted(str(p) for p in (POLICIES / "istio-waypoint").glob("*.yaml"))
    for name, text in sources.items():
        with open(name, encoding="utf-8") as f:
            assert f.read() == text
    assert isinstance(istio_waypoint.warnings, list)


def test_constructors_agree(istio_waypoint: Engine) -> None:
    by_texts = Engine(istio_waypoint.sources)
    by_pairs = Engine(list(istio_waypoint.sources.items()))
    joined = "\n---\n".join(istio_waypoint.sources.values())
    by_yaml = Engine.from_yaml(joined, name="all.yaml")
    for engine in (by_texts, by_pairs, by_yaml):
        for request in (GET, POST):
            assert engine.check(request) == istio_waypoint.check(request)


def test_from_json(istio_waypoint: Engine) -> None:
    resources = [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "httpbin", "namespace": "istio-egress",
                         "labels": {"istio.io/use-waypoint": "egress-waypoint"}},
            "spec": {"hosts": ["httpbin.org"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                     "resolution": "DNS"},
        },
    ]
    from_list = Engine.from_json(resources)
    from_text = Engine.from_json(json.dumps(resources[0]))
    from_dict = Engine.from_json(resources[0])
    request = {"method": "GET", "url": "http://httpbin.org/get"}
    assert from_list.check(request) == from_text.check(request) == from_dict.check(request)
    assert list(from_list.sources) == ["<json>"]
    assert json.loads(from_list.sources["<json>"])["kind"] == "List"
    assert list(Engine.from_json(resources, name="mine.json").sources) == ["mine.json"]
