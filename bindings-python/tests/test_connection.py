"""`Engine.check_on(connection, request)`: the sender and enforcing workload read once
(`Connection(source=..., workload=...)`), the request giving only its own fields. It must
decide as `check` of the same request carrying the connection's fields, every decision
field included (src/connection.rs, the core's `Engine::prepare_on`)."""

from __future__ import annotations

from typing import Any

import pytest

import egress_policy
from egress_policy._native import _generate_workload
from conftest import generated_and_vector_cases

SENDER = ("principal", "namespace", "cluster", "pod_labels")


def _split(request: dict[str, Any]) -> tuple[egress_policy.Connection, dict[str, Any]]:
    """The request's connection, and the request without the connection's fields."""
    source = request.get("source")
    if isinstance(source, str):
        source = {"principal": source}
    source = dict(source or {})
    sender = {k: source.pop(k) for k in SENDER if k in source}
    own = {k: v for k, v in request.items() if k not in ("source", "workload")}
    if source:
        own["source"] = source
    connection = egress_policy.Connection(source=sender or None, workload=request.get("workload"))
    return connection, own


def _cases() -> list[tuple[egress_policy.Engine, dict[str, Any]]]:
    cases = generated_and_vector_cases(300, 7, 800)
    generated = sum(1 for engine, _ in cases if engine is cases[0][0])
    assert generated > 500 and len(cases) - generated > 50, (generated, len(cases))
    return cases


def test_a_request_on_its_connection_decides_as_the_whole_request() -> None:
    cases = _cases()
    for engine, request in cases:
        connection, own = _split(request)
        on = engine.check_on(connection, own)
        whole = engine.check(request)
        assert (on.allowed, on.status, on.reason) == (whole.allowed, whole.status, whole.reason), request
        assert on.to_dict() == whole.to_dict(), request
        # Keywords as in `check`.
        assert engine.check_on(connection, **own).to_dict() == whole.to_dict(), request


def test_one_connection_serves_requests_of_every_host() -> None:
    files, requests = _generate_workload(200, 3)
    engine = egress_policy.Engine(files)
    first = requests[0]
    connection, _ = _split(first)
    for request in requests[:300]:
        mine = dict(request, source=first["source"], workload=first.get("workload"))
        _, own = _split(mine)
        assert engine.check_on(connection, own).to_dict() == engine.check(mine).to_dict()


def test_a_request_on_a_connection_carries_no_sender_field() -> None:
    engine = egress_policy.Engine(_generate_workload(20, 1)[0])
    connection = egress_policy.Connection(source="cluster.local/ns/a/sa/b")
    for request, field in [
        ({"host": "a.com", "source": {"principal": "cluster.local/ns/x/sa/y"}}, "source.principal"),
        ({"host": "a.com", "source": {"namespace": "x"}}, "source.namespace"),
        ({"host": "a.com", "source": {"cluster": "east"}}, "source.cluster"),
        ({"host": "a.com", "source": {"pod_labels": {"app": "x"}}}, "source.pod_labels"),
        ({"host": "a.com", "workload": {"namespace": "istio-system"}}, "workload"),
    ]:
        with pytest.raises(ValueError, match=f"request.{field} is the connection's"):
            engine.check_on(connection, request)
    with pytest.raises(ValueError, match="request.source.principal is the connection's"):
        engine.check_on(connection, host="a.com", source="cluster.local/ns/x/sa/y")
    # The request's own source fields are welcome.
    decision = engine.check_on(connection, {"host": "a.com", "source": {"ip": "10.0.0.1"}})
    assert decision.status in (200, 403, 502)


def test_a_connection_takes_only_sender_fields() -> None:
    connection = egress_policy.Connection(
        source={"principal": "cluster.local/ns/shop/sa/cart", "namespace": "shop", "cluster": "east"},
        workload={"namespace": "istio-system", "labels": {"istio": "egressgateway"}},
    )
    assert connection.principal == "cluster.local/ns/shop/sa/cart"
    assert connection.namespace == "shop"
    assert connection.cluster == "east"
    assert connection.workload_namespace == "istio-system"
    assert repr(connection) == (
        "Connection(principal='cluster.local/ns/shop/sa/cart', namespace='shop', "
        "cluster='east', workload_namespace='istio-system')"
    )
    assert egress_policy.Connection().principal is None
    assert egress_policy.Connection(source="cluster.local/ns/a/sa/b").principal == "cluster.local/ns/a/sa/b"
    for field in ("ip", "remote_ip"):
        with pytest.raises(ValueError, match=f"source.{field} is the request's own"):
            egress_policy.Connection(source={"principal": "p", field: "10.0.0.1"})
    with pytest.raises(ValueError, match="source.labels is the request's own"):
        egress_policy.Connection(source={"labels": {"team": "a"}})
    with pytest.raises(ValueError, match="unknown field"):
        egress_policy.Connection(source={"principle": "typo"})
    with pytest.raises(TypeError):
        egress_policy.Connection(workload={"namespace": 3})


def test_check_many_on_decides_each_request_as_check_on_in_order() -> None:
    """A batch long enough for several chunks (the reader hands full chunks to worker
    threads, src/batch.rs) and a short one decided on the calling thread."""
    files, requests = _generate_workload(300, 11)
    engine = egress_policy.Engine(files)
    connection, _ = _split(requests[0])
    owns = []
    for request in requests:
        mine = dict(request, source=requests[0]["source"], workload=requests[0].get("workload"))
        owns.append(_split(mine)[1])
    batch = (owns * (5000 // len(owns) + 1))[:5000]
    many = engine.check_many_on(connection, batch)
    assert len(many) == len(batch)
    singles = {i: engine.check_on(connection, own) for i, own in enumerate(owns)}
    for i, decision in enumerate(many):
        assert decision == singles[i % len(owns)], i
    assert engine.check_many_on(connection, iter(batch[:3])) == many[:3]
    assert engine.check_many_on(connection, []) == []
    # The lazy decision rebuilt on its connection equals the one `check` builds whole.
    whole = dict(owns[1], source=requests[0]["source"], workload=requests[0].get("workload"))
    assert many[1].to_dict() == engine.check(whole).to_dict()


def test_check_many_on_refuses_a_sender_field_naming_its_index() -> None:
    files, requests = _generate_workload(50, 5)
    engine = egress_policy.Engine(files)
    connection, own = _split(requests[0])
    batch = [own] * 1500 + [dict(own, source={"principal": "cluster.local/ns/x/sa/y"})]
    with pytest.raises(ValueError, match=r"requests\[1500\]\.source\.principal is the connection's"):
        engine.check_many_on(connection, batch)
    with pytest.raises(ValueError, match=r"requests\[2\]\.workload is the connection's"):
        engine.check_many_on(connection, [own, own, dict(own, workload={"namespace": "a"})])
    # The engine still decides after a refused batch.
    assert engine.check_many_on(connection, [own]) == [engine.check_on(connection, own)]
