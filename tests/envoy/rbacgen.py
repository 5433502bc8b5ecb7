"""Random Istio AuthorizationPolicies restricted to the subset that maps 1:1 onto Envoy's
RBAC filter, and that mapping (what istiod generates, SEMANTICS.md §1.2–§1.9):

* hosts / notHosts   -> header `:authority`, case-insensitive exact / prefix / suffix, `*` = `.+`
* methods / notMethods -> header `:method`, exact / prefix / suffix, `*` = `.+`
* paths / notPaths   -> url_path (path without the query), exact / prefix / suffix, `*` = `.+`
* principals / notPrincipals -> the stand-in header carrying the peer principal (the
  Istio form without `spiffe://`), exact / prefix / suffix, `*` = `.+`
* DENY policies -> one RBAC filter with action DENY; ALLOW policies -> one RBAC filter with
  action ALLOW after it (none when there is no ALLOW policy); an ALLOW policy without rules
  -> a never-matching RBAC policy (it still "exists", so everything else is denied).

Within a rule: `from` entries OR-ed, `to` entries OR-ed, fields AND-ed, values OR-ed,
`notX` = NOT(any value).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from envoyconf import SOURCE_HEADER

NAMESPACE = "istio-egress"
WORKLOAD_LABELS = {"app": "istio-egressgateway"}
WORKLOAD: dict[str, Any] = {"namespace": NAMESPACE, "labels": WORKLOAD_LABELS}

HOSTS = [
    "api.example.com",
    "www.example.com",
    "example.com",
    "evilexample.com",
    "a.b.example.org",
    "example.org",
    "API.Example.COM",
    "example.com:8080",
    "api.example.com:443",
    "db.internal",
]
HOST_PATTERNS = [
    "api.example.com",
    "example.com",
    "example.org",
    "db.internal",
    "*.example.com",
    "*example.com",
    "*.org",
    "example.*",
    "api.*",
    "*",
    "example.com:*",
    "Example.COM",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
METHOD_PATTERNS = ["GET", "POST", "PUT", "DELETE", "PATCH", "P*", "*T", "*"]
PATHS = [
    "/",
    "/get",
    "/post",
    "/api/v1/items",
    "/api/v2/items/7",
    "/api",
    "/admin",
    "/admin/users",
    "/static/app.js",
    "/get?x=1",
    "/api/v1/items?page=2",
    "/api/../admin",
    "/static/../get",
    "/API/v1/items",
    "/public/%2E%2E/admin",
    "/a//b",
]
PATH_PATTERNS = ["/get", "/post", "/admin", "/api/*", "/admin*", "*.js", "*/items", "/api", "/", "*", "/a//b"]
PRINCIPALS = [
    "cluster.local/ns/a/sa/x",
    "cluster.local/ns/a/sa/y",
    "cluster.local/ns/b/sa/x",
    "td2/ns/a/sa/x",
    None,
]
PRINCIPAL_PATTERNS = [
    "cluster.local/ns/a/sa/x",
    "cluster.local/ns/b/sa/x",
    "td2/ns/a/sa/x",
    "cluster.local/ns/a/*",
    "*/sa/x",
    "*/ns/b/sa/x",
    "*",
]


@dataclass
class DiffRequest:
    method: str
    host: str
    path: str
    principal: str | None

    def headers(self) -> dict[str, str]:
        return {SOURCE_HEADER: self.principal} if self.principal else {}

    def as_json(self) -> dict[str, Any]:
        """The same request for the library (`egress-policy eval`)."""
        request: dict[str, Any] = {
            "workload": WORKLOAD,
            "method": self.method,
            "host": self.host,
            "path": self.path,
        }
        if self.principal:
            request["source"] = {"principal": self.principal}
            request["headers"] = self.headers()
        return request


def _values(rng: random.Random, pool: list[str]) -> list[str]:
    return sorted(set(rng.sample(pool, rng.randint(1, 3))))


def random_operation(rng: random.Random) -> dict[str, Any]:
    op: dict[str, Any] = {}
    while not op:
        if rng.random() < 0.5:
            op["hosts"] = _values(rng, HOST_PATTERNS)
        if rng.random() < 0.12:
            op["notHosts"] = _values(rng, HOST_PATTERNS)
        if rng.random() < 0.45:
            op["methods"] = _values(rng, METHOD_PATTERNS)
        if rng.random() < 0.12:
            op["notMethods"] = _values(rng, METHOD_PATTERNS)
        if rng.random() < 0.45:
            op["paths"] = _values(rng, PATH_PATTERNS)
        if rng.random() < 0.12:
            op["notPaths"] = _values(rng, PATH_PATTERNS)
    return op


def random_source(rng: random.Random) -> dict[str, Any]:
    src: dict[str, Any] = {}
    while not src:
        if rng.random() < 0.7:
            src["principals"] = _values(rng, PRINCIPAL_PATTERNS)
        if rng.random() < 0.3:
            src["notPrincipals"] = _values(rng, PRINCIPAL_PATTERNS)
    return src


def random_rule(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.04:
        return {}  # the empty rule matches everything
    rule: dict[str, Any] = {}
    if rng.random() < 0.5:
        rule["from"] = [{"source": random_source(rng)} for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.85 or not rule:
        rule["to"] = [{"operation": random_operation(rng)} for _ in range(rng.randint(1, 2))]
    return rule


def random_policies(rng: random.Random, set_index: int) -> list[dict[str, Any]]:
    policies = []
    for i in range(rng.randint(1, 4)):
        action = "DENY" if rng.random() < 0.3 else "ALLOW"
        spec: dict[str, Any] = {"action": action}
        if action == "DENY" or rng.random() > 0.05:
            spec["rules"] = [random_rule(rng) for _ in range(rng.randint(1, 3))]
        policies.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {"name": f"set{set_index}-p{i}", "namespace": NAMESPACE},
                "spec": spec,
            }
        )
    return policies


def random_request(rng: random.Random) -> DiffRequest:
    return DiffRequest(rng.choice(METHODS), rng.choice(HOSTS), rng.choice(PATHS), rng.choice(PRINCIPALS))


# ------------------------------------------------------------------ Istio -> Envoy RBAC


def _string_match(value: str, ignore_case: bool = False) -> dict[str, Any]:
    if value == "*":
        return {"safe_regex": {"regex": ".+"}}
    if value.startswith("*"):
        m: dict[str, Any] = {"suffix": value[1:]}
    elif value.endswith("*"):
        m = {"prefix": value[:-1]}
    else:
        m = {"exact": value}
    if ignore_case:
        m["ignore_case"] = True
    return m


def _header(name: str, value: str, ignore_case: bool = False) -> dict[str, Any]:
    return {"header": {"name": name, "string_match": _string_match(value, ignore_case)}}


def _any_of_permissions(matchers: list[dict[str, Any]]) -> dict[str, Any]:
    return matchers[0] if len(matchers) == 1 else {"or_rules": {"rules": matchers}}


def _any_of_ids(matchers: list[dict[str, Any]]) -> dict[str, Any]:
    return matchers[0] if len(matchers) == 1 else {"or_ids": {"ids": matchers}}


def _operation_permission(op: dict[str, Any]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []

    def field(values: list[str], make: Callable[[str], dict[str, Any]], negate: bool) -> None:
        matcher = _any_of_permissions([make(v) for v in values])
        parts.append({"not_rule": matcher} if negate else matcher)

    def host(value: str) -> dict[str, Any]:
        return _header(":authority", value, ignore_case=True)

    def method(value: str) -> dict[str, Any]:
        return _header(":method", value)

    def path(value: str) -> dict[str, Any]:
        return {"url_path": {"path": _string_match(value)}}
    for key, make in (("hosts", host), ("methods", method), ("paths", path)):
        if key in op:
            field(op[key], make, False)
        not_key = "not" + key[0].upper() + key[1:]
        if not_key in op:
            field(op[not_key], make, True)
    return parts[0] if len(parts) == 1 else {"and_rules": {"rules": parts}}


def _source_principal(src: dict[str, Any]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []

    def principal(value: str) -> dict[str, Any]:
        return _header(SOURCE_HEADER, value)

    if "principals" in src:
        parts.append(_any_of_ids([principal(v) for v in src["principals"]]))
    if "notPrincipals" in src:
        parts.append({"not_id": _any_of_ids([principal(v) for v in src["notPrincipals"]])})
    return parts[0] if len(parts) == 1 else {"and_ids": {"ids": parts}}


def rbac_policy(rule: dict[str, Any]) -> dict[str, Any]:
    to = rule.get("to")
    frm = rule.get("from")
    permission = (
        {"any": True} if not to else _any_of_permissions([_operation_permission(t["operation"]) for t in to])
    )
    principal = {"any": True} if not frm else _any_of_ids([_source_principal(f["source"]) for f in frm])
    return {"permissions": [permission], "principals": [principal]}


NEVER = {"permissions": [{"not_rule": {"any": True}}], "principals": [{"not_id": {"any": True}}]}


def rbac_filters(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The RBAC HTTP filters istiod would generate for `policies` (DENY, then ALLOW)."""
    from envoyconf import rbac_filter

    by_action: dict[str, dict[str, Any]] = {"DENY": {}, "ALLOW": {}}
    for p in policies:
        name = f"ns[{p['metadata']['namespace']}]-policy[{p['metadata']['name']}]"
        spec = p["spec"]
        action = spec.get("action", "ALLOW")
        rules = spec.get("rules")
        if rules is None:
            by_action[action][f"{name}-rule[0]"] = NEVER
            continue
        for i, rule in enumerate(rules):
            by_action[action][f"{name}-rule[{i}]"] = rbac_policy(rule)
    filters = []
    for action in ("DENY", "ALLOW"):
        if any(p["spec"].get("action", "ALLOW") == action for p in policies):
            filters.append(rbac_filter(action, by_action[action], name=f"envoy.filters.http.rbac.{action.lower()}"))
    return filters
