"""`check` and `check_many` answer with the verdict's summary (allowed, status, reason,
rule, audit) and build the rest of the decision on first access (bindings-python/src/
decision.rs). The lazy decision must be the decision: every field equal to the reference
evaluator's (`explain(...).decision`), whichever field is read first, after the request
dict was changed, through pickle and equality."""

from __future__ import annotations

import copy
import json
import pickle
from types import MappingProxyType
from typing import Any

import egress_policy
from egress_policy._native import _generate_workload
from conftest import generated_and_vector_cases

SUMMARY = ("allowed", "status", "reason", "rule", "audit")


def _summary(decision: egress_policy.Decision) -> dict[str, Any]:
    return {name: getattr(decision, name) for name in SUMMARY}


def _cases() -> list[tuple[egress_policy.Engine, dict[str, Any]]]:
    return generated_and_vector_cases(200, 5, 600)


def test_every_field_equals_the_reference_decision() -> None:
    cases = _cases()
    assert len(cases) > 650
    reasons = set()
    for engine, request in cases:
        reference = engine.explain(request).decision.to_dict()
        for reader in (request, MappingProxyType(request)):
            decision = engine.check(reader)
            # The summary is answered before anything is built, and again after.
            summary = _summary(decision)
            assert summary == {k: reference[k] for k in SUMMARY}, json.dumps(request)
            assert decision.to_dict() == reference, json.dumps(request)
            assert _summary(decision) == summary
            assert bool(decision) is reference["allowed"]
        reasons.add(reference["reason"])
    assert {"allowed_by_policy", "denied_by_policy"} <= reasons, reasons


def test_any_field_may_be_read_first() -> None:
    files, requests = _generate_workload(100, 9)
    engine = egress_policy.Engine(files)
    request = next(r for r in requests if engine.check(r).allowed)
    expected = engine.check(request).to_dict()
    for first in ("message", "policy", "route", "hops", "caveats", "dry_run", "__repr__", "to_json"):
        decision = engine.check(request)
        getattr(decision, first)() if first in ("__repr__", "to_json") else getattr(decision, first)
        assert decision.to_dict() == expected, first
    decision = engine.check(request)
    assert decision.message.startswith("allowed")
    assert decision.policy is not None and decision.route is not None
    assert decision.hops == expected["hops"]


def test_a_changed_request_dict_does_not_change_a_decision() -> None:
    files, requests = _generate_workload(100, 9)
    engine = egress_policy.Engine(files)
    request = copy.deepcopy(next(r for r in requests if engine.check(r).allowed))
    expected = engine.check(copy.deepcopy(request)).to_dict()
    decisions = [engine.check(request), engine.check(**request), engine.check_many([request])[0]]
    # The dict and its nested dicts change after `check`; the decisions were made.
    request["host"] = "changed.example"
    request["method"] = "DELETE"
    request["source"]["principal"] = "cluster.local/ns/other/sa/other"
    request["workload"]["namespace"] = "elsewhere"
    for decision in decisions:
        assert decision.to_dict() == expected


def test_check_many_equals_check_and_pickles() -> None:
    files, requests = _generate_workload(300, 3)
    engine = egress_policy.Engine(files)
    # Large enough for the core to split the batch over threads.
    batch = requests[:2500] + [MappingProxyType(requests[0]), {"host": "httpbin.org"}]
    decisions = engine.check_many(batch)
    assert len(decisions) == len(batch)
    for request, decision in zip(batch, decisions):
        single = engine.check(request)
        assert _summary(decision) == _summary(single)
        assert decision == single
    for decision in decisions[:200]:
        again = pickle.loads(pickle.dumps(decision))
        assert again == decision and again.to_dict() == decision.to_dict()
    allowed = sum(d.allowed for d in decisions)
    assert 0 < allowed < len(decisions)


def test_equality_compares_whole_decisions() -> None:
    files, requests = _generate_workload(100, 9)
    engine = egress_policy.Engine(files)
    allowed = [r for r in requests if engine.check(r).allowed]
    first = engine.check(allowed[0])
    # Another allowed request with the same summary (same reason, rule index, audit) but
    # another policy or route: the summaries are equal, the decisions are not.
    twin = next(
        r
        for r in allowed[1:]
        if _summary(engine.check(r)) == _summary(first) and engine.check(r).to_dict() != first.to_dict()
    )
    assert engine.check(allowed[0]) == first
    assert engine.check(twin) != first
    assert not (engine.check(twin) == first)
