"""Decide whether a mesh workload may send a request out of the mesh, exactly as Istio,
Tetrate TSB and Solo Gloo egress gateways decide.

>>> import egress_policy
>>> engine = egress_policy.Engine.from_paths("examples/policies/istio-waypoint")  # doctest: +SKIP
>>> decision = engine.check(source="cluster.local/ns/bookinfo/sa/productpage",
...                         url="http://httpbin.org/get", method="GET")  # doctest: +SKIP
>>> bool(decision), decision.status, decision.reason  # doctest: +SKIP
(True, 200, 'allowed_by_policy')

Every decision is made by the Rust core (`egress_policy._native`); this package only
re-exports it. The policy tools of the core are here too: `lint(*paths)` / `Engine.lint()`,
`run_tests(path)`, `Engine.reach(host=... | identity=...)`, `diff(before, after)`,
`replay(engine, logs=[...])` and `suggest(logs=[...])` (access logs; `egress_policy.spark`
runs both as PySpark jobs, extra `egress-policy[spark]`).
"""

from egress_policy._native import (
    LINT_CODES,
    Access,
    CaseResult,
    Change,
    Connection,
    Decision,
    Diagnostic,
    DiffReport,
    DryRunOutcome,
    Engine,
    Explanation,
    HeaderMutations,
    Lint,
    Mismatch,
    Outcome,
    PolicyError,
    PolicyVerdict,
    ReachEntry,
    ReachReport,
    RequestClass,
    ResourceRef,
    Route,
    RouteTls,
    RuleVerdict,
    TestReport,
    __version__,
    diff,
    lint,
    replay,
    run_tests,
    suggest,
)

PolicyRef = ResourceRef
"""The deciding policy of a `Decision` (an alias of `ResourceRef`)."""

__all__ = [
    "LINT_CODES",
    "Access",
    "CaseResult",
    "Change",
    "Connection",
    "Decision",
    "Diagnostic",
    "DiffReport",
    "DryRunOutcome",
    "Engine",
    "Explanation",
    "HeaderMutations",
    "Lint",
    "Mismatch",
    "Outcome",
    "PolicyError",
    "PolicyRef",
    "PolicyVerdict",
    "ReachEntry",
    "ReachReport",
    "RequestClass",
    "ResourceRef",
    "Route",
    "RouteTls",
    "RuleVerdict",
    "TestReport",
    "__version__",
    "diff",
    "lint",
    "replay",
    "run_tests",
    "suggest",
]
