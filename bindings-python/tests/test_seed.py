"""The seed scenarios of examples/policies, through the Python API."""

from __future__ import annotations

import egress_policy
from conftest import POLICIES, PRODUCTPAGE, REVIEWS
from egress_policy import Engine, ResourceRef


def test_istio_waypoint_get_allowed(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="GET")
    assert decision
    assert (decision.allowed, decision.status, decision.reason) == (True, 200, "allowed_by_policy")
    assert decision.policy == ResourceRef("AuthorizationPolicy", "istio-egress", "httpbin")
    assert decision.policy == egress_policy.PolicyRef("AuthorizationPolicy", "istio-egress", "httpbin")
    assert decision.rule == 0
    assert decision.dry_run is None
    assert decision.audit is False
    route = decision.route
    assert route is not None
    assert route.gateway == ResourceRef("Gateway", "istio-egress", "egress-waypoint")
    assert (route.host, route.port) == ("httpbin.org", 80)
    assert route.tls is None


def test_istio_waypoint_post_denied(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(source=PRODUCTPAGE, url="http://httpbin.org/post", method="POST")
    assert not decision
    assert (decision.status, decision.reason, decision.message) == (403, "no_allow_match", "RBAC: access denied")
    assert decision.policy is None and decision.rule is None and decision.route is None


def test_istio_waypoint_dot_dot_is_normalised(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(source=PRODUCTPAGE, url="http://httpbin.org/get/../post", method="GET")
    assert decision.status == 403


def test_istio_waypoint_malformed_is_a_400_decision(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="get")
    assert (decision.allowed, decision.status, decision.reason) == (False, 400, "malformed_request")


def test_istio_waypoint_tls_origination() -> None:
    engine = Engine.from_paths(POLICIES / "istio-waypoint-tls")
    decision = engine.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="GET")
    assert decision.allowed
    route = decision.route
    assert route is not None and route.tls is not None
    assert (route.port, route.tls.mode, route.tls.sni) == (443, "SIMPLE", "httpbin.org")
    assert route.tls.origin == ResourceRef("DestinationRule", "istio-egress", "httpbin.org-tls")
    assert route.headers.add == {"my-added-header": "added-value"}
    assert route.headers
    assert route.virtual_service == ResourceRef("VirtualService", "istio-egress", "httpbin")


def test_gloo(gloo: Engine) -> None:
    allowed = gloo.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="GET")
    assert allowed.allowed and allowed.policy == ResourceRef("AccessPolicy", "bookinfo", "httpbin-access")
    reviews = gloo.check(source=REVIEWS, url="http://httpbin.org/get", method="GET")
    assert (reviews.allowed, reviews.status, reviews.reason) == (False, 403, "no_allow_match")
    unregistered = gloo.check(source=PRODUCTPAGE, url="http://www.google.com/", method="GET")
    assert (unregistered.allowed, unregistered.status, unregistered.reason) == (False, 502, "not_in_registry")


def test_tsb(tsb: Engine) -> None:
    w1 = "cluster.local/ns/ns1/sa/app"
    allowed = tsb.check(source=w1, url="http://www.httpbin.org/get", method="GET")
    assert allowed.allowed and allowed.policy is not None and allowed.policy.kind == "EgressGateway"
    denied = tsb.check(source=w1, url="http://example.com/", method="GET")
    assert (denied.allowed, denied.status) == (False, 403)
    details = tsb.check(source="cluster.local/ns/default/sa/bookinfo-details", url="http://example.com/", method="GET")
    assert details.allowed and details.rule == 1


def test_tsb_deny_all() -> None:
    engine = Engine.from_paths(POLICIES / "tsb-deny-all")
    decision = engine.check(source="cluster.local/ns/ns1/sa/app", url="http://www.httpbin.org/get", method="GET")
    assert (decision.allowed, decision.status) == (False, 403)


def test_explain_names_the_failing_field(istio_waypoint: Engine) -> None:
    explanation = istio_waypoint.explain(source=PRODUCTPAGE, url="http://httpbin.org/post", method="POST")
    assert not explanation
    assert explanation.decision.status == 403
    assert explanation.gateway == ResourceRef("Gateway", "istio-egress", "egress-waypoint")
    assert explanation.steps and all(isinstance(s, str) for s in explanation.steps)
    [policy] = [p for p in explanation.policies if p.policy.name == "httpbin"]
    assert policy.action == "ALLOW" and not policy.matched and not policy.dry_run
    assert policy.location
    assert policy.rules and not policy.rules[0].matched
    assert policy.rules[0].index == 0
    assert policy.rules[0].failed_field
    data = explanation.to_dict()
    assert data["decision"] == explanation.decision.to_dict()
    assert data["policies"][0]["rules"][0]["failed_field"] == policy.rules[0].failed_field
    assert repr(explanation).startswith("Explanation(decision=Decision(allowed=False")


def test_explain_speaks_the_users_file_for_gloo_and_tsb() -> None:
    gloo = Engine.from_paths(POLICIES / "gloo")
    explanation = gloo.explain(source=REVIEWS, url="http://httpbin.org/get", method="GET")
    assert not explanation
    [policy] = [p for p in explanation.policies if p.policy.name == "httpbin-access"]
    rule = policy.rules[0]
    assert rule.failed_field == "from[0].source.serviceAccountSelector.labels"
    assert rule.field == "spec.config.authz.allowedClients[0].serviceAccountSelector.labels"
    assert rule.location is not None and rule.location.endswith("httpbin-accesspolicy.yaml:18:13")
    assert (rule.got, rule.wanted) == ("{account=reviews}", ["{account=productpage}"])
    assert rule.mismatch == "service account labels {account=reviews} do not include [{account=productpage}]"
    assert rule.to_dict()["field"] == rule.field
    assert explanation.enforced_at is not None and "(egress gateway, port 80)" in explanation.enforced_at
    text = str(explanation)
    assert "no ALLOW policy matched (1 attached)" in text
    assert "spec.config.authz.allowedClients[0].serviceAccountSelector.labels: service account labels" in text

    tsb = Engine.from_paths(POLICIES / "tsb")
    explanation = tsb.explain(
        source="cluster.local/ns/ns1/sa/app",
        url="http://example.com/",
        method="GET",
        workload={"namespace": "tsb-egress", "labels": {"app": "tsb-egress"}},
    )
    [policy] = explanation.policies
    rule = policy.rules[0]
    assert rule.field == "spec.authorization[0].to"
    assert rule.mismatch == "host example.com does not match [www.httpbin.org]"
    assert rule.location is not None and rule.location.endswith("egress-gateway.yaml:18:9")
