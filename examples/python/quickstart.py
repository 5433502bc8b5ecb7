"""Decide a few requests against the seed scenarios and print the decisions.

    python examples/python/quickstart.py [examples/policies/istio-waypoint]
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import egress_policy

PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage"
ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    policy_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "examples" / "policies" / "istio-waypoint"
    try:
        engine = egress_policy.Engine.from_paths(policy_dir)
    except egress_policy.PolicyError as error:
        for diagnostic in error.errors:
            print(diagnostic, file=sys.stderr)
        return 2
    for warning in engine.warnings:
        print(warning, file=sys.stderr)

    # Keyword form: a string `source` is the sender's principal.
    decision = engine.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="GET")
    print(f"GET  /get  -> {decision.status} {decision.reason} (policy: {decision.policy})")

    # Dict form: the README's request JSON.
    request = {"source": {"principal": PRODUCTPAGE}, "method": "POST", "url": "http://httpbin.org/post"}
    denied = engine.check(request)
    print(f"POST /post -> {denied.status} {denied.reason}: {denied.message}")
    explanation = engine.explain(request)
    for verdict in explanation.policies:
        for rule in verdict.rules:
            if not rule.matched:
                print(f"  {verdict.policy} rule {rule.index}: first failing field {rule.failed_field}")

    # The decision JSON, exactly as the CLI prints it.
    print(json.dumps(decision.to_dict(), sort_keys=True))

    # Many requests at once (the GIL is released while the core decides), from threads.
    batch = [request, {**request, "method": "GET", "url": "http://httpbin.org/get"}] * 1000
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(engine.check_many, [batch, batch]))
    allowed = sum(d.allowed for decisions in results for d in decisions)
    print(f"check_many: {allowed} of {2 * len(batch)} allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
