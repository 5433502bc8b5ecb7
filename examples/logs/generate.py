#!/usr/bin/env python3
"""Writes a large synthetic Envoy JSON access log (Istio's JSON keys plus the peer SAN of a
custom Telemetry format) for replay benchmarks and the Spark tests.

    python3 examples/logs/generate.py 1000000 /tmp/egress-1m.log [--seed 7]

Traffic: 40 identities in 8 namespaces call 12 external hosts with a skewed mix of
methods and paths (ids in paths, query strings), a few TLS passthrough connections, and
one malformed line in every 50 000.
"""
from __future__ import annotations

import argparse
import json
import random

HOSTS = [
    "httpbin.org", "api.stripe.com", "api.github.com", "hooks.slack.com",
    "storage.googleapis.com", "s3.amazonaws.com", "sts.amazonaws.com",
    "login.microsoftonline.com", "api.openai.com", "registry.npmjs.org",
    "pypi.org", "example.com",
]
METHODS = ["GET"] * 12 + ["POST"] * 4 + ["PUT", "DELETE", "PATCH"]
PATHS = ["/get", "/status/200", "/v1/charges", "/repos/{}/pulls", "/anything/orders/{}",
         "/upload/{}", "/v2/objects/{}?versionId={}", "/"]


def lines(count: int, seed: int):
    rng = random.Random(seed)
    identities = [f"spiffe://cluster.local/ns/ns{i % 8}/sa/app{i}" for i in range(40)]
    for n in range(count):
        if n % 50_000 == 49_999:
            yield '{"start_time":"2026-11-30T10:00:00Z","method":"GET"'
            continue
        ident = identities[min(int(rng.expovariate(0.15)), 39)]
        host = HOSTS[min(int(rng.expovariate(0.35)), len(HOSTS) - 1)]
        if rng.random() < 0.03:
            record = {"start_time": "2026-11-30T10:00:00.000Z", "method": None, "path": None,
                      "protocol": None, "response_code": 0, "authority": None,
                      "upstream_cluster": f"outbound|443||{host}",
                      "downstream_remote_address": f"10.244.{n % 7}.{n % 200}:40000",
                      "requested_server_name": host, "downstream_peer_uri_san": ident}
        else:
            path = rng.choice(PATHS).format(rng.randrange(1000), rng.randrange(9))
            record = {"start_time": "2026-11-30T10:00:00.000Z", "method": rng.choice(METHODS),
                      "path": path, "protocol": "HTTP/1.1", "response_code": 200,
                      "response_flags": "-", "bytes_received": 0, "bytes_sent": 256,
                      "duration": 12, "user_agent": "curl/8.5.0",
                      "request_id": f"{n:032x}", "authority": host,
                      "upstream_cluster": f"outbound|80||{host}",
                      "upstream_host": "34.195.4.62:80",
                      "downstream_remote_address": f"10.244.{n % 7}.{n % 200}:40000",
                      "requested_server_name": None, "downstream_peer_uri_san": ident}
        yield json.dumps(record, separators=(",", ":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as out:
        for line in lines(args.count, args.seed):
            out.write(line)
            out.write("\n")


if __name__ == "__main__":
    main()
