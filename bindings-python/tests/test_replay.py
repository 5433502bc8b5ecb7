"""`egress_policy.replay` / `suggest`: the same reports as the CLI's `replay --json`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Literal

import pytest

import egress_policy

from conftest import POLICIES, PRODUCTPAGE, REPO_ROOT, REVIEWS, cli_binary

LOGS = REPO_ROOT / "examples" / "logs"
IDENTITIES = {"10.244.1.12": PRODUCTPAGE, "10.244.1.13": REVIEWS,
              "10.244.2.7": "spiffe://cluster.local/ns/payments/sa/billing"}


def _rows(report: dict[str, Any]) -> set[tuple[str, str, str, str, bool, int]]:
    return {
        (r["identity"], r["host"], r["method"], r["path"], r["after"]["allowed"], r["count"])
        for r in report["rows"]
    }


def test_replay_text_log(istio_waypoint: egress_policy.Engine) -> None:
    report = egress_policy.replay(
        istio_waypoint, logs=[LOGS / "istio-text.log"], format="istio-text",
        identities=IDENTITIES,
    )
    assert (PRODUCTPAGE, "httpbin.org", "GET", "/get", True, 3) in _rows(report)
    assert (PRODUCTPAGE, "httpbin.org", "POST", "/post", False, 1) in _rows(report)
    assert report["malformed"] == 1
    assert report["malformed_samples"][0]["line"] == 7
    assert report["denied"] == 2


def test_replay_lines_and_mapping(istio_waypoint: egress_policy.Engine) -> None:
    lines = (LOGS / "gateway-custom-json.log").read_text().splitlines()
    report = egress_policy.replay(istio_waypoint, lines=lines,
                                  mappings={"identity": "source_identity"})
    identities = {r["identity"] for r in report["rows"]}
    assert PRODUCTPAGE in identities
    with pytest.raises(ValueError, match="unknown field"):
        egress_policy.replay(istio_waypoint, lines=lines, mappings={"who": "x"})
    with pytest.raises(ValueError, match="unknown log format"):
        egress_policy.replay(istio_waypoint, lines=lines, format="csv")  # type: ignore[arg-type]


def test_replay_equals_cli(istio_waypoint: egress_policy.Engine) -> None:
    cli = cli_binary()
    if cli is None:
        pytest.skip("the egress-policy CLI is not built")
    log = LOGS / "ztunnel.log"
    out = subprocess.run(
        [str(cli), "replay", "--json", "-p", str(POLICIES / "istio-waypoint"), "-l", str(log),
         "-f", "ztunnel"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    report = egress_policy.replay(istio_waypoint, logs=[log], format="ztunnel")
    assert report == json.loads(out.stdout)


def test_suggest_then_replay_denies_nothing(tmp_path: Path) -> None:
    suggestion = egress_policy.suggest(
        logs=[LOGS / "istio-text.log"], format="istio-text", identities=IDENTITIES,
        generalize=1,
    )
    assert suggestion["hosts"] == ["api.github.com", "httpbin.org"]
    assert "REGISTRY_ONLY" in suggestion["yaml"]
    (tmp_path / "suggested.yaml").write_text(suggestion["yaml"])
    engine = egress_policy.Engine.from_paths(tmp_path)
    report = egress_policy.replay(engine, logs=[LOGS / "istio-text.log"], format="istio-text",
                                  identities=IDENTITIES)
    assert report["denied"] == 0 and report["allowed"] == 6
    # Already-allowed traffic is left out when existing policies are given.
    partial = egress_policy.suggest(
        logs=[LOGS / "istio-text.log"], format="istio-text", identities=IDENTITIES,
        policies=engine,
    )
    assert partial["already_allowed"] == 6 and partial["hosts"] == []


@pytest.mark.parametrize("vendor", ["gloo", "tsb"])
def test_suggest_for_other_vendors_loads_and_allows_what_it_can(
    tmp_path: Path, vendor: Literal["gloo", "tsb"]
) -> None:
    suggestion = egress_policy.suggest(
        logs=[LOGS / "istio-text.log"], format="istio-text", identities=IDENTITIES, vendor=vendor,
    )
    (tmp_path / "suggested.yaml").write_text(suggestion["yaml"])
    engine = egress_policy.Engine.from_paths(tmp_path)
    assert engine.warnings == []
    report = egress_policy.replay(engine, logs=[LOGS / "istio-text.log"], format="istio-text",
                                  identities=IDENTITIES)
    assert report["allowed"] > 0
    # What the product cannot express is a note, never silence.
    if report["denied"]:
        assert suggestion["notes"], suggestion


def test_partials_merge_to_the_whole(istio_waypoint: egress_policy.Engine) -> None:
    from egress_policy._native import _Partial, _report, _suggest_from

    lines = (LOGS / "istio-text.log").read_text().splitlines()
    whole = egress_policy.replay(istio_waypoint, lines=lines, format="istio-text",
                                 identities=IDENTITIES)
    # Two partitions; the second is fed in two batches and numbers its lines on.
    first = _Partial(format="istio-text", identities=IDENTITIES, file="<lines>")
    first.replay(lines[:3], istio_waypoint)
    second = _Partial(format="istio-text", identities=IDENTITIES, file="second")
    second.replay(lines[3:4], istio_waypoint)
    second.replay(lines[4:], istio_waypoint)
    merged = _report([first.tally_json(), second.tally_json()], False)
    assert _rows(merged) == _rows(whole)
    assert merged["requests"] == whole["requests"]
    # Line numbers go on across batches: a bad line in a third batch is named by its place.
    before = json.loads(second.tally_json())["malformed_samples"]
    second.replay(["not an access log line"], istio_waypoint)
    samples = json.loads(second.tally_json())["malformed_samples"]
    assert [(m["file"], m["line"]) for m in samples[len(before):]] == [("second", len(lines) - 2)]
    observed = [_Partial(format="istio-text", identities=IDENTITIES),
                _Partial(format="istio-text", identities=IDENTITIES)]
    observed[0].observe(lines[:2])
    observed[1].observe(lines[2:])
    assert _suggest_from([o.observations_json() for o in observed])["yaml"] == egress_policy.suggest(
        lines=lines, format="istio-text", identities=IDENTITIES)["yaml"]
