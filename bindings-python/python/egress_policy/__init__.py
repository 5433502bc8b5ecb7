"""Decide whether a mesh workload may send a request out of the mesh, exactly as Istio,
Tetrate TSB and Solo Gloo egress gateways decide.

>>> import egress_policy
>>> engine = egress_policy.Engine.from_paths("examples/policies/istio-waypoint")  # doctest: +SKIP
>>> decision = engine.check(source="cluster.local/ns/bookinfo/sa/productpage",
...                         url="http://httpbin.org/get", method="GET")  # doctest: +SKIP
>>> bool(decision), decision.status, decision.reason  # doctest: +SKIP
(True, 200, 'allowed_by_policy')

Every decision is made by the Rust core (`egress_policy._native`); this package only
re-exports it.
"""

from egress_policy._native import (
    Decision,
    Diagnostic,
    DryRunOutcome,
    Engine,
    Explanation,
    HeaderMutations,
    PolicyError,
    PolicyVerdict,
    ResourceRef,
    Route,
    RouteTls,
    RuleVerdict,
    __version__,
)

PolicyRef = ResourceRef
"""The deciding policy of a `Decision` (an alias of `ResourceRef`)."""

__all__ = [
    "Decision",
    "Diagnostic",
    "DryRunOutcome",
    "Engine",
    "Explanation",
    "HeaderMutations",
    "PolicyError",
    "PolicyRef",
    "PolicyVerdict",
    "ResourceRef",
    "Route",
    "RouteTls",
    "RuleVerdict",
    "__version__",
]
