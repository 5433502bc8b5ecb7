"""`Engine.check` reads the common request shape in place (bindings-python/src/view.rs) and
leaves everything else to the serde reader. Both must decide alike: a `MappingProxyType`
is a mapping but not a dict, so it always takes the serde path and is the reference here."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

import egress_policy
from egress_policy._native import _generate_workload
from conftest import VECTORS


def _both(engine: egress_policy.Engine, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = engine.check(request).to_dict()
    slow = engine.check(MappingProxyType(request)).to_dict()
    return fast, slow


def _fast(engine: egress_policy.Engine, request: dict[str, Any]) -> dict[str, Any] | None:
    decision = engine._check_fast(request)
    return None if decision is None else decision.to_dict()


PROFILES = ["today", "principals", "namespaces", "any-source", "wildcards", "deny", "gateways", "conditions", "notx", "mixed"]


@pytest.mark.parametrize("profile", PROFILES)
def test_generated_workload_decides_alike_on_both_readers(profile: str) -> None:
    files, requests = _generate_workload(300, 7, profile)
    engine = egress_policy.Engine(files)
    assert len(requests) >= 1000
    allowed = in_place = 0
    for request in requests:
        fast, slow = _both(engine, request)
        assert fast == slow, json.dumps(request)
        taken = _fast(engine, request)
        assert taken is None or taken == slow, json.dumps(request)
        in_place += taken is not None
        allowed += fast["allowed"]
    # Hits and misses both occur, or agreement proves little.
    assert 0 < allowed < len(requests)
    # The generated shape (principal, workload, host, method, path) is the fast one; JWTs
    # (the conditions profile's, some of the mixed one's) take the serde reader.
    jwts = sum(r.get("jwt") is not None for r in requests)
    assert in_place == len(requests) - jwts
    # A batch decides each request as `check` does.
    batch = [d.to_dict() for d in engine.check_many(requests)]
    assert batch == [engine.check(r).to_dict() for r in requests]


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile `bogus` \\(one of: today, principals"):
        _generate_workload(10, 1, "bogus")


def test_every_vector_request_decides_alike_on_both_readers() -> None:
    compared = in_place = 0
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text(encoding="utf-8"))
        if "policy_paths" not in vector:
            continue
        engine = egress_policy.Engine.from_paths(
            *[VECTORS.parents[1] / p for p in vector["policy_paths"]]
        )
        for case in vector["cases"]:
            fast, slow = _both(engine, case["request"])
            assert fast == slow, f"{path.name}: {case['name']}"
            taken = _fast(engine, case["request"])
            assert taken is None or taken == slow, f"{path.name}: {case['name']}"
            compared += 1
            in_place += taken is not None
    assert compared > 50
    # Most vector requests (everything but JWTs, labels and CUSTOM verdicts) are read in place.
    assert in_place > compared // 2


def test_keywords_decide_like_the_dict(istio_waypoint: egress_policy.Engine) -> None:
    principal = "cluster.local/ns/bookinfo/sa/bookinfo-productpage"
    by_keywords = istio_waypoint.check(
        source=principal, url="http://httpbin.org/get", method="GET", sni=None
    )
    by_dict = istio_waypoint.check(
        MappingProxyType({"source": {"principal": principal}, "url": "http://httpbin.org/get", "method": "GET"})
    )
    assert by_keywords.to_dict() == by_dict.to_dict()
    assert by_keywords.allowed


# One value per top-level field of the request JSON, each different enough to change the
# decision or its explanation if it were read as another field.
EVERY_FIELD: dict[str, Any] = {
    "source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage", "namespace": "bookinfo"},
    "workload": {"namespace": "istio-egress", "labels": {"istio.io/gateway-name": "egress-waypoint"}},
    "protocol": "http",
    "url": "http://httpbin.org/get?q=1",
    "host": "httpbin.org",
    "port": 80,
    "method": "GET",
    "path": "/get",
    "headers": {"x-a": ["1", "2"], "user-agent": "curl"},
    "sni": "sni.example.com",
    "jwt": {"principal": "https://issuer.example.com/u1", "audiences": ["a"]},
    "custom": {"ext": True},
    "destination_ip": "10.0.0.9",
}


def test_every_keyword_is_its_own_field(istio_waypoint: egress_policy.Engine) -> None:
    """`check`, `check_on` and `explain` name each request field as a keyword (Python's fast
    calling convention): each keyword is read as its own field."""
    reference = istio_waypoint.check(MappingProxyType(EVERY_FIELD))
    explained = istio_waypoint.explain(MappingProxyType(EVERY_FIELD)).to_dict()
    assert istio_waypoint.check(**EVERY_FIELD) == reference
    assert istio_waypoint.explain(**EVERY_FIELD).to_dict() == explained
    for field, value in EVERY_FIELD.items():
        rest = {k: v for k, v in EVERY_FIELD.items() if k != field}
        # The field alone as a keyword, the rest as the dict (the serde reader merges them).
        assert istio_waypoint.check(rest, **{field: value}) == reference, field
        assert istio_waypoint.explain(rest, **{field: value}).to_dict() == explained, field
        # A value of no request type is refused under the keyword's own name.
        wrong: dict[str, Any] = {field: object()}
        for call in (istio_waypoint.check, istio_waypoint.explain):
            with pytest.raises(TypeError, match=rf"^request\.{field}: invalid type"):
                call(**wrong)
    # Only the request's own fields on a connection; the sender's come from it.
    sender = EVERY_FIELD["source"]
    connection = egress_policy.Connection(source=sender, workload=EVERY_FIELD["workload"])
    own = {k: v for k, v in EVERY_FIELD.items() if k not in ("source", "workload")}
    assert istio_waypoint.check_on(connection, **own) == reference
    assert istio_waypoint.check_on(connection, own) == reference
    for keyword in ("bogus", "connection"):
        unknown: dict[str, Any] = {keyword: 1}
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
            istio_waypoint.check(**unknown)
    with pytest.raises(TypeError, match="positional-only arguments passed as keyword arguments: 'request'"):
        istio_waypoint.check(request={"host": "httpbin.org"})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "request_dict",
    [
        # Header names equal but for case: joined in name order, as the serde path does.
        {"host": "httpbin.org", "method": "GET", "path": "/get", "headers": {"x-a": "1", "X-A": "2"}},
        # Repeated header values, a port, a protocol, a workload with labels.
        {"host": "httpbin.org", "headers": {"x-a": ["1", "2"]}, "port": 80, "protocol": "http"},
        {
            "url": "https://httpbin.org/get",
            "workload": {"namespace": "istio-egress", "labels": {"istio.io/gateway-name": "egress-waypoint"}},
            "source": {"principal": "cluster.local/ns/bookinfo/sa/bookinfo-productpage", "namespace": "bookinfo"},
        },
        # `None` for optional fields and empty maps, as a serialized request carries them.
        {"host": "a.com", "source": {"principal": None, "labels": {}}, "method": None, "custom": {}},
        # Malformed: decided (400), never raised, on both readers.
        {"host": "httpbin.org", "method": "get"},
        {"host": "httpbin.org", "path": "relative"},
    ],
)
def test_edge_shapes_decide_alike(istio_waypoint: egress_policy.Engine, request_dict: dict[str, Any]) -> None:
    fast, slow = _both(istio_waypoint, request_dict)
    assert fast == slow
    taken = _fast(istio_waypoint, request_dict)
    # Clashing header names and repeated values are the serde reader's; the rest is read in place.
    headers = request_dict.get("headers", {})
    left_to_serde = "X-A" in headers or any(isinstance(v, list) for v in headers.values())
    assert (taken is None) == left_to_serde
    assert taken is None or taken == slow


@pytest.mark.parametrize(
    "request_dict",
    [
        {"host": "httpbin.org", "hots": "x"},
        {"host": "httpbin.org", "port": True},
        {"host": "httpbin.org", "port": 70000},
        {"host": "httpbin.org", "protocol": "udp"},
        {"host": 5},
        {"source": "cluster.local/ns/a/sa/b", "host": "a.com"},
        {"host": "a.com", "workload": {"namespace": "x", "pods": {}}},
        {"host": "a.com", "headers": None},
        {"host": "a.com", "source": None},
        {"host": "a.com", "source": {"labels": {"app": "x"}}},
    ],
)
def test_shapes_outside_the_fast_path_raise_as_before(
    istio_waypoint: egress_policy.Engine, request_dict: dict[str, Any]
) -> None:
    """The fast reader never raises: what it does not take, the serde reader reports, with
    the same exception and message as for any other mapping."""
    outcomes: list[tuple[str, object]] = []
    for request in (request_dict, MappingProxyType(request_dict)):
        try:
            outcomes.append(("decision", istio_waypoint.check(request).to_dict()))
        except (TypeError, ValueError) as error:
            outcomes.append((type(error).__name__, str(error)))
    assert outcomes[0] == outcomes[1]
    assert _fast(istio_waypoint, request_dict) is None
    if "hots" in request_dict or request_dict.get("host") == 5:
        assert outcomes[0][0] != "decision"


def test_check_many_reads_in_place_and_decides_like_check() -> None:
    files, requests = _generate_workload(300, 11)
    engine = egress_policy.Engine(files)
    odd: list[dict[str, Any]] = [
        {"host": "svc-1.ext-0.com", "headers": {"x-a": "1", "X-A": "2"}},
        {"host": "svc-1.ext-0.com", "headers": {"x-a": ["1", "2"]}},
        {"url": "http://svc-2.ext-0.com/api/v1/items", "source": {"principal": None}},
        {"host": "svc-1.ext-0.com", "method": "get"},
    ]
    # Over 8 192 requests: the core splits the batch over two threads.
    batch = (requests + odd) * (9000 // (len(requests) + len(odd)) + 1)
    assert len(batch) > 8192
    many = [d.to_dict() for d in engine.check_many(batch)]
    assert len(many) == len(batch)
    single = [engine.check(MappingProxyType(r)).to_dict() for r in batch[: len(requests) + len(odd)]]
    for i, decision in enumerate(many):
        assert decision == single[i % len(single)], json.dumps(batch[i])


def test_check_many_errors_name_the_index() -> None:
    files, requests = _generate_workload(100, 3)
    engine = egress_policy.Engine(files)
    with pytest.raises(ValueError, match=r"requests\[2\]"):
        engine.check_many([requests[0], requests[1], {"hots": "x"}])
    # Past the first chunks (src/batch.rs hands them to worker threads as it reads): the
    # error still names its index, and the engine still decides afterwards.
    batch = (requests * (2000 // len(requests) + 1))[:2000]
    with pytest.raises(ValueError, match=r"requests\[2000\]"):
        engine.check_many([*batch, {"hots": "x"}, *batch])
    assert engine.check_many(batch[:2]) == [engine.check(r) for r in batch[:2]]


def test_check_many_keeps_order_across_chunks() -> None:
    """5 000 requests: many chunks, decided by the worker threads and by the reader once it
    has read them all; every decision in its request's place."""
    files, requests = _generate_workload(200, 9)
    engine = egress_policy.Engine(files)
    batch = (requests * (5000 // len(requests) + 1))[:5000]
    singles = [engine.check(r) for r in requests]
    many = engine.check_many(r for r in batch)
    assert len(many) == 5000
    for i, decision in enumerate(many):
        assert decision == singles[i % len(requests)], i


class _OddHash(str):
    """A `str` whose hash differs from the text's: a dict may hold it beside an equal `str`."""

    def __hash__(self) -> int:
        return 1


def test_a_workload_dict_changed_between_calls_is_read_as_it_is_now() -> None:
    """The in-place reader shares one `Workload` between requests that name the same one
    (src/view.rs, `shared_workload`): every call compares the dict's contents, so a dict
    changed in place, or one equal to a kept workload only by `str` subclass tricks, is
    decided as the serde reader decides it."""
    files, requests = _generate_workload(100, 42)
    engine = egress_policy.Engine(files)
    request = dict(requests[0])
    request["workload"] = workload = dict(request["workload"])
    seen: set[tuple[bool, int, str]] = set()

    def check(expected_fast: bool = True) -> None:
        fast, slow = _both(engine, request)
        assert fast == slow, repr(request)
        assert (_fast(engine, request) is not None) == expected_fast
        seen.add((fast["allowed"], fast["status"], fast["reason"]))

    for gateway in range(4):
        workload["namespace"] = f"egress-{gateway}"
        workload["labels"] = {"app": f"egress-gw-{gateway}"}
        check()
        # The same dict, changed in place: another gateway's labels, then none, then more.
        workload["labels"]["app"] = f"egress-gw-{(gateway + 1) % 4}"
        check()
        del workload["labels"]
        check()
        workload["labels"] = {"app": f"egress-gw-{gateway}", "version": "v1"}
        check()
        workload["labels"].pop("app")
        check()
    # A decision keeps the workload it was made with.
    workload["namespace"], workload["labels"] = "egress-1", {"app": "egress-gw-1"}
    before = engine.check(request)
    expected = engine.check(MappingProxyType(request)).to_dict()
    workload["labels"]["app"] = "egress-gw-2"
    assert before.to_dict() == expected
    # Two label keys with one text: the label map has one entry, never a kept workload's two.
    workload["labels"] = {"app": "egress-gw-1", "x": "y"}
    check()
    workload["labels"] = {"x": "y", _OddHash("x"): "y"}
    assert len(workload["labels"]) == 2
    check()
    # Labels that are not `str: str` are the serde reader's.
    workload["labels"] = {"app": 1}
    with pytest.raises(TypeError):
        engine.check(request)
    assert _fast(engine, request) is None
    # Different workloads decided differently, or the comparison proves little.
    assert len(seen) > 1, seen
