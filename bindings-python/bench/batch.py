"""Batch throughput: `check_many` and `check_many_on` on the core's generated workload.

    .venv/bin/python bindings-python/bench/batch.py --rules 100 --rounds 15 [--profile P,Q]

Builds `Engine(files)` from `_native._generate_workload(rules, 42, profile)` for each
profile (the names of `egress-policy bench --generate N DIR --profile P`), compacts the requests
(as a client sends them), then times, per round, `check_many` of the requests repeated to
`--size`, and `check_many_on` of the same requests' own fields on the first request's
connection. Prints decisions per second (wall): median, best and every round, since single
rounds on a shared VM vary by up to 2x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Sequence

import egress_policy
from egress_policy import _native

from bench import compact

SENDER = ("principal", "namespace", "cluster", "pod_labels")


def own_fields(request: dict[str, Any]) -> dict[str, Any]:
    """The request without its sender fields (what a request on a connection carries)."""
    own = {k: v for k, v in request.items() if k not in ("source", "workload")}
    rest = {k: v for k, v in (request.get("source") or {}).items() if k not in SENDER}
    if rest:
        own["source"] = rest
    return own


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--size", type=int, default=100_000, help="requests per call")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", default="today", help="comma-separated profile names")
    args = parser.parse_args(argv)
    for profile in args.profile.split(","):
        if "," in args.profile:
            print(f"{profile}:")
        run(args.rules, args.size, args.rounds, profile)
    return 0


def run(rules: int, size: int, rounds: int, profile: str) -> None:
    """Times both batch calls on one profile's workload and prints their rates."""
    files, requests = _native._generate_workload(rules, 42, profile)
    engine = egress_policy.Engine(files)
    requests = [compact(r) for r in requests]
    batch = (requests * (size // len(requests) + 1))[:size]
    first = requests[0]
    source = {k: v for k, v in (first.get("source") or {}).items() if k in SENDER}
    connection = egress_policy.Connection(source=source or None, workload=first.get("workload"))
    own = [own_fields(r) for r in batch]

    rates: dict[str, list[float]] = {"check_many": [], "check_many_on": []}
    for _ in range(rounds):
        start = time.perf_counter()
        decisions = engine.check_many(batch)
        rates["check_many"].append(len(decisions) / (time.perf_counter() - start) / 1e6)
        del decisions
        start = time.perf_counter()
        decisions = engine.check_many_on(connection, own)
        rates["check_many_on"].append(len(decisions) / (time.perf_counter() - start) / 1e6)
        del decisions
    for name, values in rates.items():
        every = " ".join(f"{v:.2f}" for v in values)
        print(f"{name}: median {statistics.median(values):.2f} best {max(values):.2f} M/s ({every})")


if __name__ == "__main__":
    raise SystemExit(main())
