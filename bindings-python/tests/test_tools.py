"""The policy tools: lint, test files, reach and diff — the core's reports through the
Python API, checked on the repository's fixtures and against the CLI's JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import egress_policy
from conftest import POLICIES, PRODUCTPAGE, REPO_ROOT, REVIEWS, cli_binary
from egress_policy import (
    CaseResult,
    Change,
    DiffReport,
    Engine,
    Lint,
    Mismatch,
    Outcome,
    PolicyError,
    ReachReport,
    RequestClass,
    ResourceRef,
    TestReport,
)

LINT_FIXTURES = REPO_ROOT / "tests" / "lint"
TEST_FILES = REPO_ROOT / "examples" / "tests"
BROKEN_TEST_FILES = REPO_ROOT / "tests" / "testfiles"
LINT_FILES = sorted(LINT_FIXTURES.glob("*/*.yaml"))
SEED_TESTS = sorted(TEST_FILES.glob("*.yaml"))
SEEDS = ["istio-waypoint", "istio-waypoint-tls", "gloo", "tsb", "tsb-deny-all"]


def run_cli(*args: str) -> tuple[int, Any]:
    """Runs the CLI and parses its JSON output; skips when the CLI is not built."""
    binary = cli_binary()
    if binary is None:
        pytest.skip("the egress-policy CLI is not built (cargo build -p egress-policy-cli)")
    result = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


# ------------------------------------------------------------------------------------------
# lint


def test_every_lint_code_has_fixtures() -> None:
    assert set(egress_policy.LINT_CODES) == {d.name for d in LINT_FIXTURES.iterdir() if d.is_dir()}
    assert all(summary for summary in egress_policy.LINT_CODES.values())
    assert len(LINT_FILES) >= 28


@pytest.mark.parametrize("path", LINT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lint_fixture_yields_exactly_its_code(path: Path) -> None:
    code = path.parent.name
    findings = egress_policy.lint(path)
    if path.name.startswith("bad"):
        assert {f.code for f in findings} == {code}, findings
        for finding in findings:
            assert isinstance(finding, Lint)
            assert finding.severity == "warning"
            assert finding.file == str(path)
            assert finding.line > 1 and finding.column >= 1
            assert finding.message and finding.help
            assert str(finding).startswith(f"{path}:{finding.line}:{finding.column}: warning: ")
            assert str(finding).endswith(f"[{code}]")
    else:
        assert path.name.startswith("good")
        assert findings == [], findings
    # The engine lints its own source texts and locates the findings the same way.
    assert Engine.from_paths(path).lint() == findings


def test_lint_points_at_the_offending_value() -> None:
    path = LINT_FIXTURES / "deny-host-without-port" / "bad.yaml"
    [finding] = egress_policy.lint(str(path))
    line = path.read_text(encoding="utf-8").splitlines()[finding.line - 1]
    assert line[finding.column - 1 :].lstrip("[").startswith('"api.example.com"'), line
    assert finding.field == "spec.rules[0].to[0].operation.hosts[0]"
    assert finding.resource == "AuthorizationPolicy istio-egress/deny-admin"
    assert set(finding.to_dict()) == {
        "code", "severity", "file", "line", "column", "resource", "field", "message", "help",
    }
    assert repr(finding).startswith("Lint(code='deny-host-without-port', file=")
    with pytest.raises(AttributeError):
        finding.code = "x"  # type: ignore[misc]


def test_lint_of_texts_without_files() -> None:
    path = LINT_FIXTURES / "host-suffix-without-dot" / "bad.yaml"
    engine = Engine.from_yaml(path.read_text(encoding="utf-8"), name="inline.yaml")
    findings = engine.lint()
    assert {f.code for f in findings} == {"host-suffix-without-dot"}
    assert {f.file for f in findings} == {"inline.yaml"}
    assert [(f.line, f.column) for f in findings] == [
        (f.line, f.column) for f in egress_policy.lint(path)
    ]


def test_lint_is_silent_on_the_seeds() -> None:
    for seed in SEEDS:
        assert egress_policy.lint(POLICIES / seed) == [], seed


def test_lint_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        egress_policy.lint()
    with pytest.raises(FileNotFoundError):
        egress_policy.lint(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        "metadata: {name: x, namespace: y}\nspec:\n  action: DENY\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as info:
        egress_policy.lint(broken)
    assert any(e.file == str(broken) and e.severity == "error" for e in info.value.errors)


@pytest.mark.parametrize("path", LINT_FILES[:6], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lint_to_dict_equals_the_cli_json(path: Path) -> None:
    status, cli = run_cli("lint", "--format", "json", "--policy", str(path))
    findings = egress_policy.lint(str(path))
    assert status == (1 if findings else 0)
    assert cli == [f.to_dict() for f in findings]


# ------------------------------------------------------------------------------------------
# test files


@pytest.mark.parametrize("path", SEED_TESTS, ids=lambda p: p.name)
def test_seed_test_files_pass(path: Path) -> None:
    report = egress_policy.run_tests(path)
    assert isinstance(report, TestReport)
    assert report.passed and report, str(report)
    assert report.errors == [] and report.failures == []
    assert report.failed_count == 0 and report.passed_count == len(report.cases) >= 2
    assert report.file == str(path)
    assert report.policies and all(Path(p).exists() for p in report.policies)
    for case in report.cases:
        assert isinstance(case, CaseResult)
        assert case.passed and case
        assert case.mismatches == [] and case.explanation is None and case.explanation_text is None
        assert str(case).startswith(f"PASS  {case.name}  (")
    assert str(report).endswith(f"{report.passed_count} passed, 0 failed")


def test_a_failing_file_reports_and_explains_the_failure() -> None:
    report = egress_policy.run_tests(str(BROKEN_TEST_FILES / "failing.yaml"))
    assert not report.passed and not report
    assert (report.passed_count, report.failed_count) == (1, 1)
    assert report.name == "failing"
    ok, failed = report.cases
    assert ok.passed and ok.decision.allowed and ok.explanation is None
    assert report.failures == [failed]
    assert (failed.name, failed.passed, failed.line) == ("wrongly expects POST /post to be allowed", False, 13)
    # The actual decision, and each unmet expectation with both sides.
    assert (failed.decision.allowed, failed.decision.status, failed.decision.reason) == (False, 403, "no_allow_match")
    assert failed.mismatches == sorted(failed.mismatches, key=lambda m: ["allowed", "reason", "policy"].index(m.field))
    by_field = {m.field: (m.expected, m.actual) for m in failed.mismatches}
    assert by_field == {
        "allowed": ("true", "false"),
        "reason": ("allowed_by_policy", "no_allow_match"),
        "policy": ("AuthorizationPolicy istio-egress/httpbin", "null"),
    }
    assert all(isinstance(m, Mismatch) for m in failed.mismatches)
    assert str(failed.mismatches[0]) == "allowed: expected true, got false"
    # Why: the attached policy and the field that failed, structured and as text.
    explanation = failed.explanation
    assert explanation is not None and explanation.decision == failed.decision
    [verdict] = explanation.policies
    assert verdict.policy == ResourceRef("AuthorizationPolicy", "istio-egress", "httpbin")
    assert verdict.rules[0].failed_field == "to[0].operation.methods"
    text = failed.explanation_text
    assert text is not None
    assert text.splitlines()[0] == "allowed: expected true, got false"
    assert "policy: expected AuthorizationPolicy istio-egress/httpbin, got null" in text
    assert "spec.rules[0].to[0].operation.methods: method POST not in [GET]" in text
    assert str(failed).startswith(f"FAIL  {failed.name}  (")
    # The core renders test results once: Python prints exactly what `egress-policy test` does.
    assert "FAIL  wrongly expects POST /post to be allowed" in str(report)
    assert "spec.rules[0].to[0].operation.methods: method POST not in [GET]" in str(failed)
    assert str(report).endswith("1 passed, 1 failed")
    assert repr(report).startswith("TestReport(file=")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invalid.yaml", [(12, "unknown field `verdict`"), (15, "unknown field `uri`"), (20, "`reason` must be a reason code")]),
        ("missing-policies.yaml", [(3, "policy path `../does-not-exist` cannot be read")]),
    ],
)
def test_broken_test_files_report_located_errors(name: str, expected: list[tuple[int, str]]) -> None:
    path = BROKEN_TEST_FILES / name
    report = egress_policy.run_tests(path)
    assert not report.passed and report.cases == []
    for line, message in expected:
        assert any(e.line == line and message in e.message and e.file == str(path) for e in report.errors), (
            line, message, report.errors,
        )
    assert "not run" in str(report)


def test_an_unreadable_test_file_is_a_report_error(tmp_path: Path) -> None:
    report = egress_policy.run_tests(tmp_path / "missing.yaml")
    assert not report.passed and report.cases == []
    assert "cannot read" in report.errors[0].message


def test_test_report_to_dict_equals_the_cli_json() -> None:
    files = [str(p) for p in SEED_TESTS] + [str(BROKEN_TEST_FILES / "failing.yaml")]
    status, cli = run_cli("test", "--json", *files)
    assert status == 1
    assert cli == [egress_policy.run_tests(f).to_dict() for f in files]
    report = egress_policy.run_tests(files[-1])
    assert json.loads(report.to_json()) == report.to_dict()
    assert report.to_dict()["cases"][1] == report.cases[1].to_dict()
    assert (report.to_dict()["passed"], report.to_dict()["failed"]) == (1, 1)


def test_test_report_is_not_collected_by_pytest() -> None:
    # Imported into this module, `TestReport` would be collected (and warn) without it.
    assert TestReport.__test__ is False


# ------------------------------------------------------------------------------------------
# reach


def test_reach_host_on_the_waypoint_seed(istio_waypoint: Engine) -> None:
    report = istio_waypoint.reach(host="httpbin.org")
    assert isinstance(report, ReachReport) and report
    assert (report.host, report.identity) == ("httpbin.org", None)
    [entry] = report.entries
    assert entry.point == "routed"
    # Any identity — productpage included — may GET /get, by the waypoint's ALLOW rule.
    assert entry.any
    assert [h.label for h in entry.hosts] == ["httpbin.org"]
    [access] = entry.access
    assert (access.methods, access.paths, access.reason) == (["GET"], ["/get"], "allowed_by_policy")
    assert (access.policy, access.rule) == (ResourceRef("AuthorizationPolicy", "istio-egress", "httpbin"), 0)
    assert istio_waypoint.check(access.example).allowed
    assert istio_waypoint.check(source=PRODUCTPAGE, method="GET", url="http://httpbin.org/get").allowed
    assert report.cells >= 1 and report.caveats == []
    # The other direction: productpage may reach httpbin.org (GET /get) and, under ALLOW_ANY,
    # any unregistered host directly.
    mine = istio_waypoint.reach(identity=PRODUCTPAGE)
    assert mine.identity == PRODUCTPAGE
    assert {i.label for e in mine.entries for i in e.identities} == {PRODUCTPAGE}
    [httpbin] = [e for e in mine.entries if [h.label for h in e.hosts] == ["httpbin.org"]]
    assert [(a.methods, a.paths) for a in httpbin.access] == [(["GET"], ["/get"])]
    # An explicit port defeats the exact host value: nobody reaches httpbin.org:80.
    nobody = istio_waypoint.reach(host="httpbin.org:80")
    assert not nobody and nobody.entries == []


def test_reach_host_lists_the_productpage_identity_for_gloo(gloo: Engine) -> None:
    report = gloo.reach(host="httpbin.org")
    [entry] = report.entries
    assert not entry.any
    assert [i.label for i in entry.identities] == [PRODUCTPAGE]
    assert isinstance(entry.identities[0], RequestClass)
    assert entry.identities[0].example == f"spiffe://{PRODUCTPAGE}"
    [access] = entry.access
    assert access.methods == ["any"] and access.policy is not None
    assert access.policy.name == "httpbin-access"
    assert gloo.check(access.example).allowed
    assert not gloo.check({**access.example, "source": {"principal": REVIEWS}}).allowed


def test_reach_identity(tsb: Engine) -> None:
    report = tsb.reach(identity="cluster.local/ns/ns1/sa/app")
    assert report.identity == "cluster.local/ns/ns1/sa/app"
    assert [h.label for e in report.entries for h in e.hosts] == ["www.httpbin.org"]
    details = tsb.reach(identity="cluster.local/ns/default/sa/bookinfo-details")
    hosts = {h.label for e in details.entries for h in e.hosts}
    assert {"www.httpbin.org", "any other host"} <= hosts
    assert any(a.rule == 1 for e in details.entries for a in e.access)
    # Plaintext senders ("none", as for the CLI) are not routed to the TSB gateway.
    for plaintext in ("none", "NONE", ""):
        report = tsb.reach(identity=plaintext)
        assert report.identity == "none"
        assert {a.reason for e in report.entries for a in e.access} == {"passthrough"}


def test_reach_at_workloads(tsb: Engine) -> None:
    by_string = tsb.reach(host="www.httpbin.org", workloads=["tsb-egress/app=tsb-egress"])
    by_dict = tsb.reach(host="www.httpbin.org", workloads=[{"namespace": "tsb-egress", "labels": {"app": "tsb-egress"}}])
    assert by_string == by_dict and by_string.entries
    for entry in by_string.entries:
        assert entry.point == "workload tsb-egress/app=tsb-egress"
        assert all(a.reason != "passthrough" for a in entry.access)
    everywhere = tsb.reach(host="www.httpbin.org", all_gateways=True)
    assert {e.point for e in everywhere.entries} == {"routed", "at EgressGateway tsb-egress/my-egress"}


def test_reach_to_dict_equals_the_cli_json(gloo: Engine, tsb: Engine) -> None:
    _, cli = run_cli("reach", "-p", str(POLICIES / "gloo"), "--host", "httpbin.org", "--json")
    assert cli == gloo.reach(host="httpbin.org").to_dict()
    _, cli = run_cli("reach", "-p", str(POLICIES / "tsb"), "--from", "cluster.local/ns/default/sa/bookinfo-details",
                     "--all-gateways", "--json")
    report = tsb.reach(identity="cluster.local/ns/default/sa/bookinfo-details", all_gateways=True)
    assert cli == report.to_dict() == json.loads(report.to_json())


def test_reach_argument_errors(tsb: Engine) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        tsb.reach()
    with pytest.raises(TypeError, match="exactly one"):
        tsb.reach(host="a.example", identity="none")
    with pytest.raises(TypeError):
        tsb.reach("www.httpbin.org")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="invalid host"):
        tsb.reach(host="http://x/")
    with pytest.raises(ValueError, match=r"workloads\[0\]: invalid workload"):
        tsb.reach(host="x", workloads=["nope"])
    with pytest.raises(TypeError, match="workloads must be a list"):
        tsb.reach(host="x", workloads="tsb-egress/app=tsb-egress")
    with pytest.raises(ValueError, match=r"workloads\[0\]"):
        tsb.reach(host="x", workloads=[{"namespace": "a", "pods": {}}])


# ------------------------------------------------------------------------------------------
# diff


def test_diff_of_tsb_to_deny_all_lists_the_newly_denied(tsb: Engine) -> None:
    deny_all = Engine.from_paths(POLICIES / "tsb-deny-all")
    report = egress_policy.diff(tsb, deny_all)
    assert isinstance(report, DiffReport)
    assert report.changed and report
    assert report.newly_denied == len(report.changes) > 0 and report.newly_allowed == 0
    assert report.points[0] == "routed" and report.cells > 0
    for change in report.changes:
        assert isinstance(change, Change)
        assert isinstance(change.before, Outcome) and isinstance(change.after, Outcome)
        assert change.before and not change.after
        assert change.after.reason == "gateway_denies_all"
        assert all(c.label for c in (change.identity, change.host, change.method, change.path))
        # The example request really changes decision.
        assert tsb.check(change.request).allowed
        assert not deny_all.check(change.request).allowed
    assert any(
        c.identity.label == "cluster.local/ns/default/sa/bookinfo-details" and c.host.label == "any other host"
        for c in report.changes
    )
    # Nothing is newly allowed the other way round.
    back = egress_policy.diff(deny_all, tsb)
    assert back.newly_allowed == len(back.changes) == len(report.changes) and back.newly_denied == 0


def test_diff_of_equivalent_policies(istio_waypoint: Engine) -> None:
    report = egress_policy.diff(istio_waypoint, Engine.from_paths(POLICIES / "istio-waypoint-tls"))
    assert not report.changed and not report and report.changes == []
    assert egress_policy.diff(istio_waypoint, istio_waypoint, compare_reason=True).changes == []


def test_diff_at_workloads(tsb: Engine) -> None:
    deny_all = Engine.from_paths(POLICIES / "tsb-deny-all")
    by_string = egress_policy.diff(tsb, deny_all, workloads=["tsb-egress/app=tsb-egress"])
    by_dict = egress_policy.diff(tsb, deny_all, workloads=[{"namespace": "tsb-egress", "labels": {"app": "tsb-egress"}}])
    assert by_string == by_dict and by_string.changed
    assert by_string.points == ["workload tsb-egress/app=tsb-egress"]
    assert {c.point for c in by_string.changes} == {"workload tsb-egress/app=tsb-egress"}


def test_diff_to_dict_equals_the_cli_json(tsb: Engine) -> None:
    status, cli = run_cli("diff", "--before", str(POLICIES / "tsb"), "--after", str(POLICIES / "tsb-deny-all"), "--json")
    assert status == 1
    report = egress_policy.diff(tsb, Engine.from_paths(POLICIES / "tsb-deny-all"))
    assert cli == report.to_dict() == json.loads(report.to_json())
    assert report.changes[0].to_dict() == cli["changes"][0]
    assert report.changes[0].request == cli["changes"][0]["request"]


def test_diff_argument_errors(tsb: Engine) -> None:
    with pytest.raises(TypeError):
        egress_policy.diff(tsb, POLICIES / "tsb")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        egress_policy.diff(tsb, tsb, ["tsb-egress/x"])  # type: ignore[call-arg]
