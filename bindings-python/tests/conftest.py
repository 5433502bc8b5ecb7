"""Shared fixtures: repository paths and engines for the seed scenarios."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import egress_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICIES = REPO_ROOT / "examples" / "policies"
VECTORS = REPO_ROOT / "tests" / "vectors"

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
