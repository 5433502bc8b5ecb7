"""Benchmark of the Python bindings, side by side with cedarpy and pycasbin.

    .venv/bin/python bindings-python/bench/bench.py [--rules 10000] [--seed 42] [--seconds 2]

The workload is the core's seeded generator (`egress_policy::workload::generate`, exposed
as `egress_policy._native._generate_workload`): `rules` Istio AuthorizationPolicy rules over
about `rules / 10` service accounts in 20 namespaces and four egress gateways — exact hosts,
`*.suffix` wildcards and a few `*`, method subsets, exact, prefix (`/api/*`) and template
(`/api/{*}/items`) paths, about 10% DENY — and up to 10 000 requests, hits and misses
interleaved. `--workload DIR` instead reads `DIR/*.yaml` and `DIR/requests.jsonl` (the
layout `egress-policy bench --generate N DIR` writes).

The same rules are translated to a Cedar policy set (one `permit`/`forbid` per rule,
principal and action in the scope, gateway/host/path in `when`, wildcards as `like`) and to
a Casbin model + policy lines (`regexMatch` for host, method and path; deny-overrides
effect). The translations are checked against egress-policy's decisions on every measured
request and the agreement is printed; they cover exactly this generator's rule shapes.

Measured:
* per-call: `engine.check(request_dict)` in a Python loop (request conversion, decision,
  `Decision` object) — against `cedarpy.is_authorized(request, policy_set, entities)` with a
  pre-parsed `PolicySet`, `casbin.Enforcer.enforce(...)`, and `casbin.FastEnforcer` with its
  policy filter keyed on (subject, gateway);
* batch: `engine.check_many(requests)` against `cedarpy.is_authorized_batch`.

Each figure is the best of several rounds of about `--seconds` each. Slow engines are
measured on a prefix of the requests, bounded by time.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import egress_policy
from egress_policy import _native

# ruamel.yaml ships with mitmproxy; only the cross-engine translation needs it.
HAVE_YAML = importlib.util.find_spec("ruamel") is not None and importlib.util.find_spec("ruamel.yaml") is not None


@dataclass(frozen=True)
class Rule:
    """One generated rule, in a vendor-neutral shape."""

    gateway: str
    deny: bool
    principal: str
    host: str
    methods: tuple[str, ...]
    path: str


@dataclass
class Result:
    """One measured engine."""

    name: str
    per_call_us: float | None = None
    per_call_cpu_us: float | None = None
    batch_per_s: float | None = None
    batch_cpu_per_s: float | None = None
    calls: int = 0
    agreement: str = ""
    note: str = ""


def compact(request: dict[str, Any]) -> dict[str, Any]:
    """Drops null and empty fields, as a client would send the request JSON."""
    out: dict[str, Any] = {}
    for key, value in request.items():
        if value is None or value == {} or value == []:
            continue
        if key == "protocol" and value == "http":
            continue
        out[key] = compact(value) if isinstance(value, dict) and key not in ("labels", "headers", "custom", "claims") else value
    return out


def load_workload(args: argparse.Namespace) -> tuple[dict[str, str], list[dict[str, Any]], str]:
    if args.workload:
        directory = Path(args.workload)
        files = {str(p): p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}
        with open(directory / "requests.jsonl", encoding="utf-8") as f:
            requests = [json.loads(line) for line in f if line.strip()]
        return files, requests, f"{directory} ({len(files)} files)"
    files, requests = _native._generate_workload(args.rules, args.seed)
    return files, [compact(r) for r in requests], f"egress_policy::workload::generate({args.rules}, seed={args.seed})"


def parse_rules(files: dict[str, str]) -> list[Rule]:
    """The generated AuthorizationPolicies as `Rule`s (needs ruamel.yaml)."""
    yaml: Any = importlib.import_module("ruamel.yaml").YAML(typ="safe", pure=False)
    rules: list[Rule] = []
    for text in files.values():
        for doc in yaml.load_all(text):
            if not doc or doc.get("kind") != "AuthorizationPolicy":
                continue
            gateway = doc["metadata"]["namespace"]
            deny = doc["spec"].get("action", "ALLOW") == "DENY"
            for rule in doc["spec"].get("rules", []):
                [source] = rule["from"]
                [principal] = source["source"]["principals"]
                [to] = rule["to"]
                operation = to["operation"]
                [host] = operation["hosts"]
                methods = tuple(operation.get("methods", ()))
                paths = operation.get("paths", [""])
                rules.append(Rule(gateway, deny, principal, host, methods, paths[0]))
    return rules


def request_fields(request: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """(principal, gateway namespace, host, method, path) of a generated request."""
    return (
        request["source"]["principal"],
        request["workload"]["namespace"],
        request["host"],
        request["method"],
        request["path"],
    )


# --- Cedar ---------------------------------------------------------------------------


def cedar_string(text: str) -> str:
    return json.dumps(text)


def cedar_pattern(pattern: str) -> str:
    """A glob (`*` any run of characters) as a Cedar `like` pattern literal."""
    return '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cedar_policies(rules: Sequence[Rule]) -> str:
    out = []
    for n, rule in enumerate(rules):
        effect = "forbid" if rule.deny else "permit"
        if rule.methods:
            actions = ", ".join(f"Action::{cedar_string(m)}" for m in rule.methods)
            action = f"action in [{actions}]"
        else:
            action = "action"
        conditions = [f"context.gateway == {cedar_string(rule.gateway)}"]
        if rule.host == "*":
            pass
        elif rule.host.startswith("*"):
            conditions.append(f"context.host like {cedar_pattern(rule.host)}")
        else:
            conditions.append(f"context.host == {cedar_string(rule.host)}")
        if rule.path == "/api/{*}/items":
            conditions.append(f"context.path like {cedar_pattern('/api/*/items')}")
        elif rule.path.endswith("/*"):
            conditions.append(f"context.path like {cedar_pattern(rule.path[:-1] + '*')}")
        elif rule.path:
            conditions.append(f"context.path == {cedar_string(rule.path)}")
        out.append(
            f'@id("r{n}")\n{effect}(principal == Principal::{cedar_string(rule.principal)}, {action}, resource)\n'
            f"when {{ {' && '.join(conditions)} }};"
        )
    return "\n".join(out)


def cedar_request(request: dict[str, Any]) -> dict[str, Any]:
    principal, gateway, host, method, path = request_fields(request)
    return {
        "principal": f"Principal::{cedar_string(principal)}",
        "action": f"Action::{cedar_string(method)}",
        "resource": f"Host::{cedar_string(host)}",
        "context": {"gateway": gateway, "host": host, "path": path},
    }


# --- Casbin --------------------------------------------------------------------------

CASBIN_MODEL = """
[request_definition]
r = sub, gw, host, act, path

[policy_definition]
p = sub, gw, host, act, path, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.sub == p.sub && r.gw == p.gw && regexMatch(r.host, p.host) && regexMatch(r.act, p.act) && regexMatch(r.path, p.path)
"""


def casbin_policies(rules: Sequence[Rule]) -> list[list[str]]:
    lines = []
    for rule in rules:
        if rule.host == "*":
            host = ".*"
        elif rule.host.startswith("*"):
            host = "^.*" + re.escape(rule.host[1:]) + "$"
        else:
            host = "^" + re.escape(rule.host) + "$"
        act = "^(" + "|".join(rule.methods) + ")$" if rule.methods else ".*"
        if rule.path == "/api/{*}/items":
            path = "^/api/[^/]+/items$"
        elif rule.path.endswith("/*"):
            path = "^" + re.escape(rule.path[:-1]) + ".*$"
        elif rule.path:
            path = "^" + re.escape(rule.path) + "$"
        else:
            path = ".*"
        lines.append([rule.principal, rule.gateway, host, act, path, "deny" if rule.deny else "allow"])
    return lines


# --- timing --------------------------------------------------------------------------


def best_per_call(
    fn: Callable[[Any], object], items: Sequence[Any], seconds: float, rounds: int
) -> tuple[float, float, int]:
    """Best mean wall-clock and CPU seconds per call over `rounds` rounds of about `seconds`
    each (CPU time discounts the time the process waited for a core on a shared machine)."""
    best = best_cpu = float("inf")
    calls = 0
    for _ in range(rounds):
        done = 0
        gc.disable()
        start = time.perf_counter()
        start_cpu = time.process_time()
        deadline = start + seconds
        while True:
            for item in items:
                fn(item)
            done += len(items)
            if time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start
        elapsed_cpu = time.process_time() - start_cpu
        gc.enable()
        best = min(best, elapsed / done)
        best_cpu = min(best_cpu, elapsed_cpu / done)
        calls += done
    return best, best_cpu, calls


def bounded_prefix(fn: Callable[[Any], object], items: Sequence[Any], seconds: float) -> list[Any]:
    """The longest prefix of `items` that `fn` gets through in about `seconds`."""
    start = time.perf_counter()
    for n, item in enumerate(items):
        fn(item)
        if time.perf_counter() - start > seconds:
            return list(items[: n + 1])
    return list(items)


def best_batch(fn: Callable[[], Sized], seconds: float, rounds: int) -> tuple[float, float]:
    """Best decisions per wall-clock second and per CPU second (all threads) of `fn()`, which
    decides a batch and returns the results."""
    best = best_cpu = 0.0
    for _ in range(rounds):
        n = 0
        start = time.perf_counter()
        start_cpu = time.process_time()
        while True:
            n += len(fn())
            if time.perf_counter() - start >= seconds:
                break
        best = max(best, n / (time.perf_counter() - start))
        best_cpu = max(best_cpu, n / max(time.process_time() - start_cpu, 1e-9))
    return best, best_cpu


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratio(value: float | None, base: float | None) -> str:
    return "-" if not value or not base else f"{value / base:.1f}"


def agreement(mine: Sequence[bool], theirs: Sequence[bool]) -> str:
    same = sum(a == b for a, b in zip(mine, theirs))
    return f"{same}/{len(theirs)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workload", help="read DIR/*.yaml + DIR/requests.jsonl instead of generating")
    parser.add_argument("--skip-others", action="store_true", help="measure egress-policy only")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()} on {platform.machine()}, egress-policy {egress_policy.__version__}")
    files, requests, origin = load_workload(args)
    print(f"workload: {origin}: {len(requests)} requests")

    start = time.perf_counter()
    engine = egress_policy.Engine(files)
    load_s = time.perf_counter() - start
    print(f"egress-policy: loaded {engine!r} in {load_s:.2f} s")
    expected = [d.allowed for d in engine.check_many(requests)]
    print(f"  {sum(expected)} of {len(expected)} requests allowed")

    results: list[Result] = []
    mine = Result("egress-policy")
    per_call, per_call_cpu, mine.calls = best_per_call(engine.check, requests, args.seconds, args.rounds)
    mine.per_call_us, mine.per_call_cpu_us = per_call * 1e6, per_call_cpu * 1e6
    mine.batch_per_s, mine.batch_cpu_per_s = best_batch(
        lambda: engine.check_many(requests), args.seconds, args.rounds
    )
    mine.agreement = "-"
    results.append(mine)

    kwargs_requests = requests
    kw = Result("egress-policy check(**kwargs)")
    kw_per_call, kw_cpu, kw.calls = best_per_call(
        lambda r: engine.check(**r), kwargs_requests, args.seconds, args.rounds
    )
    kw.per_call_us, kw.per_call_cpu_us = kw_per_call * 1e6, kw_cpu * 1e6
    kw.agreement = "-"
    results.append(kw)

    if args.skip_others:
        pass
    elif not HAVE_YAML:
        print("ruamel.yaml is not installed: cannot translate the rules for cedarpy/casbin")
    else:
        rules = parse_rules(files)
        print(f"translated {len(rules)} rules ({sum(r.deny for r in rules)} DENY) for cedarpy and casbin")
        results.extend(bench_cedar(rules, requests, expected, args))
        results.extend(bench_casbin(rules, requests, expected, args))

    print()
    header = (
        f"{'engine':<34} {'µs/call wall':>12} {'cpu':>8} {'× slower':>9}"
        f" {'batch/s wall':>13} {'cpu':>11} {'× slower':>9}  {'agreement':>9}  note"
    )
    print(header)
    for r in results:
        print(
            f"{r.name:<34} {fmt(r.per_call_us, '.2f'):>12} {fmt(r.per_call_cpu_us, '.2f'):>8}"
            f" {ratio(r.per_call_cpu_us, mine.per_call_cpu_us):>9}"
            f" {fmt(r.batch_per_s, ',.0f'):>13} {fmt(r.batch_cpu_per_s, ',.0f'):>11}"
            f" {ratio(mine.batch_cpu_per_s, r.batch_cpu_per_s):>9}  {r.agreement:>9}  {r.note}"
        )
    print(
        "× slower: CPU-time ratio to egress-policy (per call; per decision for batches);"
        " agreement: same allow/deny as egress-policy on the measured requests"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"workload": origin, "requests": len(requests), "load_seconds": load_s,
                 "results": [r.__dict__ for r in results]},
                f,
                indent=2,
            )
    return 0


def bench_cedar(rules: Sequence[Rule], requests: Sequence[dict[str, Any]], expected: Sequence[bool], args: argparse.Namespace) -> list[Result]:
    try:
        cedarpy: Any = importlib.import_module("cedarpy")
    except ImportError:
        print("cedarpy is not installed (SETUP_PYTHON_BENCH=1 scripts/setup-python.sh)")
        return []
    start = time.perf_counter()
    policy_set = cedarpy.PolicySet.from_str(cedar_policies(rules))
    entities = cedarpy.Entities.from_json_str("[]")
    print(f"cedarpy {getattr(cedarpy, '__version__', '')}: parsed the policy set in {time.perf_counter() - start:.2f} s")
    cedar_requests = [cedar_request(r) for r in requests]

    def one(request: dict[str, Any]) -> bool:
        return bool(cedarpy.is_authorized(request, policy_set, entities).allowed)

    sample = bounded_prefix(one, cedar_requests, args.seconds)
    result = Result("cedarpy is_authorized (PolicySet)")
    per_call, per_call_cpu, result.calls = best_per_call(one, sample, args.seconds, args.rounds)
    result.per_call_us, result.per_call_cpu_us = per_call * 1e6, per_call_cpu * 1e6
    decided = [one(r) for r in sample]
    result.agreement = agreement(expected[: len(sample)], decided)
    result.note = f"{len(sample)} requests"
    batch = Result("cedarpy is_authorized_batch")
    batch_sample = sample[: max(1, min(len(sample), 1000))]
    batch.batch_per_s, batch.batch_cpu_per_s = best_batch(
        lambda: cedarpy.is_authorized_batch(batch_sample, policy_set, entities), args.seconds, args.rounds
    )
    batch.note = f"batches of {len(batch_sample)}"
    batch.agreement = "-"
    return [result, batch]


def bench_casbin(rules: Sequence[Rule], requests: Sequence[dict[str, Any]], expected: Sequence[bool], args: argparse.Namespace) -> list[Result]:
    try:
        casbin: Any = importlib.import_module("casbin")
    except ImportError:
        print("casbin is not installed (SETUP_PYTHON_BENCH=1 scripts/setup-python.sh)")
        return []
    import logging

    logging.getLogger("casbin").setLevel(logging.WARNING)
    lines = casbin_policies(rules)
    fields = [request_fields(r) for r in requests]
    results = []
    fast_model: Any = importlib.import_module("casbin.model").FastModel
    makers: list[tuple[str, Callable[[], Any], Callable[[Any], Any]]] = [
        ("casbin Enforcer", casbin.Model, lambda m: casbin.Enforcer(m)),
        (
            "casbin FastEnforcer (sub, gw)",
            lambda: fast_model([0, 1]),
            lambda m: casbin.FastEnforcer(m, cache_key_order=[0, 1]),
        ),
    ]
    for name, new_model, make in makers:
        model = new_model()
        model.load_model_from_text(CASBIN_MODEL)
        start = time.perf_counter()
        enforcer: Any = make(model)
        enforcer.add_policies(lines)
        load = time.perf_counter() - start

        def one(f: tuple[str, str, str, str, str], enforcer: Any = enforcer) -> bool:
            return bool(enforcer.enforce(*f))

        sample = bounded_prefix(one, fields, args.seconds)
        result = Result(name)
        per_call, per_call_cpu, result.calls = best_per_call(one, sample, args.seconds, min(args.rounds, 2))
        result.per_call_us, result.per_call_cpu_us = per_call * 1e6, per_call_cpu * 1e6
        result.agreement = agreement(expected[: len(sample)], [one(f) for f in sample])
        result.note = f"{len(sample)} requests; load {load:.2f} s"
        results.append(result)
    return results


if __name__ == "__main__":
    sys.exit(main())
