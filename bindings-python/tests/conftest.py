"""Shared fixtures: repository paths and engines for the seed scenarios."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import egress_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICIES = REPO_ROOT / "examples" / "policies"
VECTORS = REPO_ROOT / "tests" / "vectors"



def generated_and_vector_cases(
    rules: int, seed: int, limit: int
) -> list[tuple[egress_policy.Engine, dict[str, Any]]]:
    """(engine, request) pairs: the first `limit` requests of a generated workload, then every
    case of the shared vectors that load policies."""
    files, requests = egress_policy._native._generate_workload(rules, seed)
    engine = egress_policy.Engine(files)
    cases = [(engine, request) for request in requests[:limit]]
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text(encoding="utf-8"))
        if "policy_paths" not in vector:
            continue
        engine = egress_policy.Engine.from_paths(*[VECTORS.parents[1] / p for p in vector["policy_paths"]])
        cases += [(engine, case["request"]) for case in vector["cases"]]
    return cases


PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage"
REVIEWS = "cluster.local/ns/bookinfo/sa/bookinfo-reviews"


def cli_binary() -> Path | None:
    """The `egress-policy` CLI: `$EGRESS_POLICY_CLI`, else a cargo build in target/, else PATH."""
    explicit = os.environ.get("EGRESS_POLICY_CLI")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    for profile in ("release", "debug"):
        candidate = target / profile / "egress-policy"
        if candidate.is_file():
            return candidate
    found = shutil.which("egress-policy")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def istio_waypoint() -> egress_policy.Engine:
    return egress_policy.Engine.from_paths(POLICIES / "istio-waypoint")


@pytest.fixture(scope="session")
def gloo() -> egress_policy.Engine:
    return egress_policy.Engine.from_paths(POLICIES / "gloo")


@pytest.fixture(scope="session")
def tsb() -> egress_policy.Engine:
    return egress_policy.Engine.from_paths(POLICIES / "tsb")
