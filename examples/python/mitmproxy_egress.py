"""A mitmproxy addon that enforces egress policy with egress-policy.

Run it as an explicit HTTP proxy in front of the outside world::

    mitmdump --listen-host 127.0.0.1 --listen-port 8080 \\
        -s examples/python/mitmproxy_egress.py \\
        --set egress_policy=examples/policies/istio-waypoint \\
        --set egress_identity_header=x-egress-identity

    curl -x http://127.0.0.1:8080 -H 'x-egress-identity: cluster.local/ns/bookinfo/sa/bookinfo-productpage' \\
        http://httpbin.org/get

Every request is decided by the engine before mitmproxy connects upstream:

* The sender's identity (the mTLS principal a mesh proxy would see) comes from a request
  header (`egress_identity_header`, removed before forwarding) or from a JSON file mapping
  client IP addresses to identities (`egress_identity_map`); with neither, the request is
  plaintext (no principal).
* A denied request never reaches the upstream: it is answered with the decision's status —
  403 for a policy denial, 502 for a host not in the registry (`not_in_registry`), 400 for a
  malformed request — a plain-text body with the reason, and an `x-egress-policy` header
  naming the deciding policy (`-` when none decided) plus `x-egress-reason`.
* A `CONNECT` (HTTPS through the proxy) is decided first as TLS passthrough — only the SNI
  (the CONNECT host) and the port are visible, as at a mesh proxy that does not terminate
  TLS — and refused the same way when denied. Requests mitmproxy then decrypts inside an
  allowed tunnel are decided again as HTTP.
* An allowed request gets the route's header mutations (a VirtualService's `add`/`set`/
  `remove`) and is forwarded unchanged otherwise.

Options (``--set name=value``):

``egress_policy``
    Policy files or directories, separated by ``,`` (required).
``egress_identity_header``
    Header carrying the sender's identity (default ``x-egress-identity``; empty disables).
``egress_identity_map``
    JSON file ``{"client ip": "cluster.local/ns/NS/sa/SA", ...}`` (optional).
``egress_workload_namespace``
    Namespace of the enforcing proxy, when the engine should not pick the gateway the
    registry routes to (optional).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

import egress_policy

__all__ = ["EgressPolicy", "addons", "build_request"]

logger = logging.getLogger(__name__)

POLICY_HEADER = "x-egress-policy"
REASON_HEADER = "x-egress-reason"


def build_request(
    flow: http.HTTPFlow,
    *,
    identity_header: str,
    identity_map: dict[str, str],
    workload_namespace: str,
) -> dict[str, Any]:
    """The engine's request JSON (as a dict) for a proxied HTTP request, or for a `CONNECT`
    (decided as TLS passthrough: SNI and port only)."""
    request = flow.request
    client_ip = flow.client_conn.peername[0] if flow.client_conn.peername else None
    principal: str | None = None
    if identity_header and identity_header in request.headers:
        principal = request.headers[identity_header]
    elif client_ip is not None:
        principal = identity_map.get(client_ip)
    source: dict[str, Any] = {}
    if principal:
        source["principal"] = principal
    if client_ip is not None:
        source["ip"] = client_ip
    workload = {"workload": {"namespace": workload_namespace}} if workload_namespace else {}
    if request.method == "CONNECT":
        return {"source": source, "protocol": "tls", "sni": request.host, "port": request.port, **workload}
    headers: dict[str, list[str]] = {}
    for name in request.headers:
        if identity_header and name.lower() == identity_header.lower():
            continue
        headers[name.lower()] = request.headers.get_all(name)
    result: dict[str, Any] = {
        "source": source,
        "method": request.method,
        # The absolute URL as the client asked for it (scheme, authority, path and query).
        "url": request.url,
        "headers": headers,
    }
    result.update(workload)
    return result


class EgressPolicy:
    """Decides every request with an `egress_policy.Engine`; denies before connecting."""

    def __init__(self) -> None:
        self.engine: egress_policy.Engine | None = None
        self.identity_map: dict[str, str] = {}

    def load(self, loader: Loader) -> None:
        loader.add_option("egress_policy", str, "", "Policy files or directories, separated by ','.")
        loader.add_option(
            "egress_identity_header",
            str,
            "x-egress-identity",
            "Request header carrying the sender's identity (removed before forwarding); empty disables.",
        )
        loader.add_option(
            "egress_identity_map",
            str,
            "",
            "JSON file mapping client IP addresses to identities (cluster.local/ns/NS/sa/SA).",
        )
        loader.add_option(
            "egress_workload_namespace",
            str,
            "",
            "Namespace of the enforcing proxy; empty lets the engine use the gateway the registry routes to.",
        )

    def configure(self, updated: set[str]) -> None:
        if "egress_policy" in updated:
            paths = [p.strip() for p in ctx.options.egress_policy.split(",") if p.strip()]
            self.engine = load_engine(paths) if paths else None
        if "egress_identity_map" in updated:
            path = ctx.options.egress_identity_map
            self.identity_map = load_identity_map(Path(path)) if path else {}

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """A `CONNECT host:port`: decided as TLS passthrough before the tunnel opens."""
        self.request(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        if self.engine is None:
            deny(flow, 503, "egress_policy_not_loaded", "egress policy is not configured", None)
            return
        identity_header: str = ctx.options.egress_identity_header
        request = build_request(
            flow,
            identity_header=identity_header,
            identity_map=self.identity_map,
            workload_namespace=ctx.options.egress_workload_namespace,
        )
        decision = self.engine.check(request)
        policy = str(decision.policy) if decision.policy is not None else "-"
        flow.metadata["egress_policy_decision"] = decision.to_dict()
        if not decision.allowed:
            logger.info("egress denied: %s %s -> %d %s (%s)", flow.request.method, flow.request.pretty_url,
                        decision.status, decision.reason, policy)
            deny(flow, decision.status, decision.reason, decision.message, decision.policy)
            return
        if flow.request.method == "CONNECT":
            return
        if identity_header:
            flow.request.headers.pop(identity_header, None)
        if decision.route is not None:
            mutations = decision.route.headers
            for name in mutations.remove:
                flow.request.headers.pop(name, None)
            for name, value in mutations.set.items():
                flow.request.headers[name] = value
            for name, value in mutations.add.items():
                flow.request.headers.add(name, value)

    def response(self, flow: http.HTTPFlow) -> None:
        decision = flow.metadata.get("egress_policy_decision")
        if flow.response is not None and isinstance(decision, dict) and decision.get("allowed"):
            policy = decision.get("policy")
            flow.response.headers[POLICY_HEADER] = format_policy(policy)
            flow.response.headers[REASON_HEADER] = str(decision.get("reason"))


def format_policy(policy: object) -> str:
    """`Kind namespace/name` of a decision's `policy` dict, or `-`."""
    if isinstance(policy, dict):
        return f"{policy.get('kind')} {policy.get('namespace')}/{policy.get('name')}"
    return "-"


def deny(
    flow: http.HTTPFlow,
    status: int,
    reason: str,
    message: str,
    policy: egress_policy.ResourceRef | None,
) -> None:
    """Answers the flow locally; mitmproxy never connects upstream."""
    body = f"{message}\nreason: {reason}\n"
    if policy is not None:
        body += f"policy: {policy}\n"
    flow.response = http.Response.make(
        status,
        body.encode(),
        {
            "content-type": "text/plain; charset=utf-8",
            POLICY_HEADER: str(policy) if policy is not None else "-",
            REASON_HEADER: reason,
        },
    )


def load_engine(paths: Sequence[str]) -> egress_policy.Engine:
    """Loads the policies; a load error stops mitmproxy with every diagnostic."""
    try:
        engine = egress_policy.Engine.from_paths(*paths)
    except egress_policy.PolicyError as error:
        for diagnostic in error.errors:
            logger.error("%s", diagnostic)
        raise
    for warning in engine.warnings:
        logger.warning("%s", warning)
    logger.info("egress policy loaded: %r", engine)
    return engine


def load_identity_map(path: Path) -> dict[str, str]:
    """Reads `{"client ip": "identity"}`."""
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of client IP to identity strings")
    return dict(data)


addons = [EgressPolicy()]
