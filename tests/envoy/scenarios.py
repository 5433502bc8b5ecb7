"""The seed scenarios (examples/policies/*/demo.jsonl) as HTTP requests through Envoy."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envoyconf import SOURCE_HEADER, WORKLOADS
from harness import ROOT

POLICIES = ROOT / "examples" / "policies"


@dataclass
class DemoRequest:
    scenario: str
    label: str
    request: dict[str, Any]  # the Request JSON (what the library decides)
    method: str
    host: str
    path: str
    headers: dict[str, str]


def scenarios() -> list[str]:
    """The seed scenarios whose enforcing workload the Envoy configurations know."""
    return sorted(
        p.name for p in POLICIES.iterdir() if (p / "demo.jsonl").exists() and p.name in WORKLOADS
    )


def http_view(scenario: str, label: str, request: dict[str, Any]) -> DemoRequest | None:
    """The request as a client of the egress listener sends it, or None when Envoy cannot
    express it (a named enforcing workload, non-HTTP protocols, JWT, ...)."""
    supported = {"source", "method", "url", "host", "path", "headers"}
    if set(request) - supported or set(request.get("source", {})) - {"principal"}:
        return None
    if "url" in request:
        parts = urllib.parse.urlsplit(request["url"])
        host = request.get("host", parts.netloc)
        path = request.get("path", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    else:
        host, path = request["host"], request.get("path", "/")
    headers = {k: v for k, v in request.get("headers", {}).items() if isinstance(v, str)}
    principal = request.get("source", {}).get("principal")
    if principal:
        headers[SOURCE_HEADER] = principal
    return DemoRequest(scenario, label, request, request.get("method", "GET"), host, path, headers)


def demo_requests(scenario: str) -> list[DemoRequest]:
    out = []
    for line in (POLICIES / scenario / "demo.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        view = http_view(scenario, item["label"], item["request"])
        if view is not None:
            out.append(view)
    return out


def policy_header(decision: dict[str, Any]) -> str:
    """What `x-egress-policy` carries for a decision."""
    p = decision.get("policy")
    return f"{p['kind']} {p['namespace']}/{p['name']}" if p else "-"


def scenario_dir(scenario: str) -> Path:
    return POLICIES / scenario
