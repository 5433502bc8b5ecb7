"""Type stubs of the native module `egress_policy._native` (hand-written; checked against
the runtime by `python -m mypy.stubtest egress_policy`)."""

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias, final


__all__ = [
    "Engine",
    "replay",
    "suggest",
    "_Partial",
    "_report",
    "_suggest_from",
    "_generate_workload",
    "PolicyError",
    "Connection",
    "_decision_from_json",
    "Decision",
    "Diagnostic",
    "DryRunOutcome",
    "Explanation",
    "HeaderMutations",
    "PolicyVerdict",
    "ResourceRef",
    "Route",
    "RouteTls",
    "RuleVerdict",
    "Lint",
    "Mismatch",
    "CaseResult",
    "TestReport",
    "RequestClass",
    "Access",
    "ReachEntry",
    "ReachReport",
    "Outcome",
    "Change",
    "DiffReport",
    "lint",
    "run_tests",
    "diff",
    "LINT_CODES",
    "__version__",
]

__version__: str

_JsonValue: TypeAlias = Any
"""A JSON-shaped Python value: dict, list, str, int, float, bool or None."""

_Reason: TypeAlias = Literal[
    "allowed_by_policy",
    "no_allow_policies",
    "passthrough",
    "denied_by_policy",
    "no_allow_match",
    "allow_nothing",
    "gateway_denies_all",
    "denied_by_custom",
    "not_in_registry",
    "malformed_request",
    "direct_response",
    "no_route",
    "no_listener",
    "invalid_token",
]
"""The stable reason codes of a decision."""

_Workload: TypeAlias = str | Mapping[str, Any]
"""A proxy to decide at: `"NS/NAME"` (a Gateway-API gateway), `"NS/key=value,..."` (pod
labels), or a request's `workload` dict `{"namespace": ..., "labels": {...}}`."""

LINT_CODES: dict[str, str]
"""Every lint code with a one-line summary."""

class PolicyError(ValueError):
    """Policies could not be loaded.

    `errors` lists every finding of the load (errors and the warnings found along the way).
    `str(error)` renders the errors one per line as `file:line:col: error: Kind ns/name: field: message`.
    """

    errors: list[Diagnostic]

@final
class Diagnostic:
    """One finding about the policies, with its file, line, column, resource and field path."""

    def __new__(
        cls,
        file: str,
        line: int,
        column: int,
        message: str,
        severity: Literal["error", "warning"] = "error",
        resource: str | None = None,
        field: str | None = None,
    ) -> Diagnostic: ...
    @property
    def severity(self) -> Literal["error", "warning"]:
        """`"error"` or `"warning"`."""
    @property
    def file(self) -> str:
        """The file name as given to the loader."""
    @property
    def line(self) -> int:
        """1-based line."""
    @property
    def column(self) -> int:
        """1-based column."""
    @property
    def resource(self) -> str | None:
        """The resource, as `Kind namespace/name`, when the finding is inside one."""
    @property
    def field(self) -> str | None:
        """The field path inside the resource (`spec.rules[0].to[0].operation.paths[1]`)."""
    @property
    def message(self) -> str:
        """What is wrong, in one sentence."""
    def to_dict(self) -> dict[str, Any]:
        """`{"severity", "file", "line", "column", "resource", "field", "message"}`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class ResourceRef:
    """A reference to a resource: its kind, namespace and name."""

    def __new__(cls, kind: str, namespace: str, name: str) -> ResourceRef: ...
    @property
    def kind(self) -> str:
        """Kubernetes kind, such as `AuthorizationPolicy`."""
    @property
    def namespace(self) -> str:
        """Namespace."""
    @property
    def name(self) -> str:
        """Name."""
    def __getnewargs__(self) -> tuple[str, str, str]: ...
    def to_dict(self) -> dict[str, str]:
        """`{"kind": ..., "namespace": ..., "name": ...}`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class DryRunOutcome:
    """What the dry-run policies would have decided had they been enforced."""

    @property
    def allowed(self) -> bool:
        """Whether the request would have been allowed."""
    @property
    def reason(self) -> _Reason:
        """The reason code it would have had."""
    @property
    def policy(self) -> ResourceRef | None:
        """The policy that would have decided."""
    @property
    def rule(self) -> int | None:
        """The rule that would have decided."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class HeaderMutations:
    """Request header mutations applied on the way out. Falsy when empty."""

    @property
    def add(self) -> dict[str, str]:
        """Headers appended."""
    @property
    def set(self) -> dict[str, str]:
        """Headers overwritten."""
    @property
    def remove(self) -> list[str]:
        """Headers removed."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class RouteTls:
    """TLS origination applied on the way out."""

    @property
    def mode(self) -> str:
        """`SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`."""
    @property
    def sni(self) -> str:
        """SNI sent upstream."""
    @property
    def origin(self) -> ResourceRef:
        """The resource that asked for TLS origination."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Route:
    """How an allowed request leaves the mesh."""

    @property
    def gateway(self) -> ResourceRef | None:
        """The gateway that carries the request, if any."""
    @property
    def service(self) -> ResourceRef | None:
        """The registry entry that matched the host, if any."""
    @property
    def host(self) -> str:
        """Upstream host."""
    @property
    def port(self) -> int:
        """Upstream port."""
    @property
    def tls(self) -> RouteTls | None:
        """TLS origination, when the gateway originates TLS."""
    @property
    def headers(self) -> HeaderMutations:
        """Request header mutations."""
    @property
    def virtual_service(self) -> ResourceRef | None:
        """The VirtualService that supplied the header mutations."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Connection:
    """Who sends (`source`: a request's `source` dict without its addresses and service
    account labels, or the principal as a string) and which proxy enforces (`workload`),
    read once for every request given with it to `Engine.check_on`."""

    def __new__(
        cls,
        *,
        source: str | Mapping[str, _JsonValue] | None = None,
        workload: Mapping[str, _JsonValue] | None = None,
    ) -> Connection: ...
    @property
    def principal(self) -> str | None:
        """The sender's mTLS identity."""
    @property
    def namespace(self) -> str | None:
        """The sender's namespace."""
    @property
    def cluster(self) -> str | None:
        """The sender's cluster."""
    @property
    def workload_namespace(self) -> str | None:
        """The enforcing workload's namespace (`None`: the gateway the registry routes to)."""

@final
class Decision:
    """The answer for one request. Truthy when the request may leave.

    `allowed`, `status`, `reason`, `rule` and `audit` are known when `check` returns; the
    message, policy, route, hops, caveats and dry run are built on first access (from the
    same engine and request, so they are the ones `check` decided)."""

    @property
    def allowed(self) -> bool:
        """Whether the request may leave."""
    @property
    def status(self) -> int:
        """HTTP status: 200, 400, 403 or 502."""
    @property
    def reason(self) -> _Reason:
        """Stable reason code, such as `denied_by_policy`."""
    @property
    def message(self) -> str:
        """What the client sees (`RBAC: access denied` for 403) or a short summary."""
    @property
    def policy(self) -> ResourceRef | None:
        """The deciding policy."""
    @property
    def rule(self) -> int | None:
        """The deciding rule's index in that policy."""
    @property
    def dry_run(self) -> DryRunOutcome | None:
        """Outcome of dry-run policies, when any applied."""
    @property
    def audit(self) -> bool:
        """Whether an AUDIT policy matched."""
    @property
    def route(self) -> Route | None:
        """The route, when allowed."""
    @property
    def hops(self) -> list[dict[str, Any]]:
        """The road the request takes, one dict per hop."""
    @property
    def caveats(self) -> list[dict[str, Any]]:
        """Every assumption the engine made, one dict per caveat."""
    def __bool__(self) -> bool: ...
    def __reduce__(self) -> tuple[Any, tuple[str]]: ...
    def to_dict(self) -> dict[str, Any]:
        """The CLI's decision JSON, as plain Python objects."""
    def to_json(self) -> str:
        """The CLI's decision JSON text."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class RuleVerdict:
    """How one rule of an attached policy fared."""

    @property
    def index(self) -> int:
        """Index of the rule in its policy."""
    @property
    def matched(self) -> bool:
        """Whether it matched."""
    @property
    def failed_field(self) -> str | None:
        """For a rule that did not match: the first field that failed (`to[0].operation.methods`)."""
    @property
    def note(self) -> str | None:
        """A human explanation of the failure or of a special treatment."""
    @property
    def field(self) -> str | None:
        """The failing field as a path in the file the user wrote (`spec.config.authz.allowedClients[0].serviceAccountSelector.labels`)."""
    @property
    def location(self) -> str | None:
        """`file:line:column` of the failing field."""
    @property
    def got(self) -> str | None:
        """The request's value of the failing attribute (`POST`); `None` when it carries none."""
    @property
    def wanted(self) -> list[str]:
        """What the rule wanted (for a `notX` field: the values that excluded the request)."""
    @property
    def mismatch(self) -> str | None:
        """The mismatch in words: `method POST not in [GET, HEAD]`."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class PolicyVerdict:
    """How one attached policy fared."""

    @property
    def policy(self) -> ResourceRef:
        """The policy."""
    @property
    def action(self) -> str:
        """`ALLOW`, `DENY`, `AUDIT` or `CUSTOM`."""
    @property
    def dry_run(self) -> bool:
        """Whether it is a dry-run policy."""
    @property
    def matched(self) -> bool:
        """Whether any rule matched."""
    @property
    def rules(self) -> list[RuleVerdict]:
        """Every rule, in order."""
    @property
    def location(self) -> str:
        """File and line of the policy."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Explanation:
    """A decision with the reasoning behind it. Truthy when the request may leave."""

    @property
    def decision(self) -> Decision:
        """The decision (identical to `Engine.check`)."""
    @property
    def gateway(self) -> ResourceRef | None:
        """The enforcing gateway, if any."""
    @property
    def service(self) -> ResourceRef | None:
        """The registry entry, if any."""
    @property
    def steps(self) -> list[str]:
        """Steps of the pipeline in order, in plain words."""
    @property
    def policies(self) -> list[PolicyVerdict]:
        """Every policy attached at the enforcing point, with its rules' verdicts."""
    @property
    def enforced_at(self) -> str | None:
        """Where authorization was enforced, in words; `None` when no proxy enforced the request."""
    def __bool__(self) -> bool: ...
    def __str__(self) -> str:
        """The CLI's `check --explain` text."""
    def to_dict(self) -> dict[str, Any]:
        """The CLI's `check --explain --json` output, as plain Python objects."""
    def to_json(self) -> str:
        """The CLI's `check --explain --json` text."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Engine:
    """Loaded policies, ready to decide. Immutable and safe to share between threads;
    pickles as its source texts and is rebuilt from them."""

    def __new__(
        cls, files: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> Engine:
        """Loads named texts (`{"policies.yaml": text}` or `(name, text)` pairs), in order."""
    @staticmethod
    def from_yaml(text: str, name: str = "<string>") -> Engine:
        """Loads one multi-document YAML (or JSON) text; `name` is the file name in diagnostics."""
    @staticmethod
    def from_paths(*paths: str | os.PathLike[str]) -> Engine:
        """Loads files and directories (`*.yaml`, `*.yml`, `*.json`, recursively), like the CLI."""
    @staticmethod
    def from_json(
        resources: str | Mapping[str, _JsonValue] | list[Any],
        name: str = "<json>",
    ) -> Engine:
        """Loads already-parsed resources: a dict, a list of dicts, or a JSON text."""
    @property
    def sources(self) -> dict[str, str]:
        """The source texts, file name → text, in load order."""
    @property
    def warnings(self) -> list[Diagnostic]:
        """Warnings found while loading."""
    def check(
        self,
        request: Mapping[str, _JsonValue] | None = None,
        /,
        *,
        source: str | Mapping[str, _JsonValue] | None = None,
        workload: Mapping[str, _JsonValue] | None = None,
        protocol: str | None = None,
        url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        method: str | None = None,
        path: str | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        sni: str | None = None,
        jwt: Mapping[str, _JsonValue] | None = None,
        custom: Mapping[str, bool] | None = None,
        destination_ip: str | None = None,
    ) -> Decision:
        """Decides one request (the README's request JSON as a dict, or its fields as keywords)."""
    def check_on(
        self,
        connection: Connection,
        request: Mapping[str, _JsonValue] | None = None,
        /,
        *,
        source: str | Mapping[str, _JsonValue] | None = None,
        workload: Mapping[str, _JsonValue] | None = None,
        protocol: str | None = None,
        url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        method: str | None = None,
        path: str | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        sni: str | None = None,
        jwt: Mapping[str, _JsonValue] | None = None,
        custom: Mapping[str, bool] | None = None,
        destination_ip: str | None = None,
    ) -> Decision:
        """Decides one request on `connection` (the request without sender fields)."""
    def _check_fast(self, request: Mapping[str, _JsonValue]) -> Decision | None:
        """`check`'s in-place reader alone (test hook): `None` when it leaves the request to the serde reader."""
    def check_many(self, requests: Iterable[Mapping[str, _JsonValue]]) -> list[Decision]:
        """Decides many requests, in order, without holding the GIL."""
    def check_many_on(
        self, connection: Connection, requests: Iterable[Mapping[str, _JsonValue]]
    ) -> list[Decision]:
        """Decides many requests on `connection`, in order: `check_many` as `check_on` is `check`."""
    def inventory(self) -> dict[str, _JsonValue]:
        """What the policies mention: identities, hosts, gateways, policies (`egress-policy inventory --json`)."""
    def eval_lines(self, text: str) -> list[dict[str, _JsonValue]]:
        """Decides JSON lines like `egress-policy eval`: `{"line", "decision", "error"}` dicts."""
    def explain(
        self,
        request: Mapping[str, _JsonValue] | None = None,
        /,
        *,
        source: str | Mapping[str, _JsonValue] | None = None,
        workload: Mapping[str, _JsonValue] | None = None,
        protocol: str | None = None,
        url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        method: str | None = None,
        path: str | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        sni: str | None = None,
        jwt: Mapping[str, _JsonValue] | None = None,
        custom: Mapping[str, bool] | None = None,
        destination_ip: str | None = None,
    ) -> Explanation:
        """Decides one request and explains why."""
    def lint(self) -> list[Lint]:
        """Lints the loaded policies, locating each finding at the offending value."""
    def reach(
        self,
        *,
        host: str | None = None,
        identity: str | None = None,
        workloads: Iterable[_Workload] | None = None,
        all_gateways: bool = False,
    ) -> ReachReport:
        """Who may reach `host`, or which hosts `identity` may reach (exactly one of the two)."""
    def __reduce__(self) -> tuple[type[Engine], tuple[list[tuple[str, str]]]]: ...

def _decision_from_json(text: str) -> Decision:
    """Rebuilds a decision from its JSON (used by pickle)."""

def _generate_workload(
    rules: int, seed: int = 42, profile: str = "today"
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The core's seeded benchmark workload: `{file name: YAML}` and request dicts."""

@final
class Lint:
    """One lint finding: a pitfall of egress authorization, located at the offending value."""

    @property
    def code(self) -> str:
        """Stable code, such as `deny-host-without-port` (see `LINT_CODES`)."""
    @property
    def severity(self) -> Literal["error", "warning"]:
        """Always `"warning"`: lints never stop a load."""
    @property
    def file(self) -> str:
        """The file name."""
    @property
    def line(self) -> int:
        """1-based line of the offending rule or value."""
    @property
    def column(self) -> int:
        """1-based column."""
    @property
    def resource(self) -> str | None:
        """The resource, as `Kind namespace/name`."""
    @property
    def field(self) -> str | None:
        """The field path, such as `spec.rules[0].to[0].operation.hosts[0]`."""
    @property
    def message(self) -> str:
        """What goes wrong at run time, in one sentence."""
    @property
    def help(self) -> str:
        """What to write instead."""
    def to_dict(self) -> dict[str, Any]:
        """One element of the CLI's `lint --format json` array."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Mismatch:
    """One expectation of a test case that the decision did not meet."""

    @property
    def field(self) -> Literal["allowed", "status", "reason", "policy", "rule", "message"]:
        """The `expect` key."""
    @property
    def expected(self) -> str:
        """What the test expects, as text."""
    @property
    def actual(self) -> str:
        """What the engine decided, as text."""
    def to_dict(self) -> dict[str, str]:
        """`{field, expected, actual}`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class CaseResult:
    """The result of one test case. Truthy when it passed."""

    @property
    def name(self) -> str:
        """The case name."""
    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
    @property
    def line(self) -> int:
        """1-based line of the case in the test file."""
    @property
    def column(self) -> int:
        """1-based column of the case in the test file."""
    @property
    def decision(self) -> Decision:
        """The engine's (actual) decision."""
    @property
    def mismatches(self) -> list[Mismatch]:
        """The expectations that did not hold (empty when the case passed)."""
    @property
    def explanation(self) -> Explanation | None:
        """For a failed case: every attached policy and rule with its verdict."""
    @property
    def explanation_text(self) -> str | None:
        """For a failed case, the failure in words; `None` when the case passed."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """One case of the CLI's `test --json` report."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class TestReport:
    """The result of one test file. Truthy when the file loaded and every case passed."""

    __test__: ClassVar[bool]
    @property
    def file(self) -> str:
        """The test file."""
    @property
    def name(self) -> str | None:
        """Its `name`, when given."""
    @property
    def policies(self) -> list[str]:
        """The policy paths, resolved against the test file's directory."""
    @property
    def cases(self) -> list[CaseResult]:
        """Every case, in file order (empty when `errors` is not)."""
    @property
    def passed(self) -> bool:
        """Whether the file and its policies loaded and every case passed."""
    @property
    def passed_count(self) -> int:
        """How many cases passed."""
    @property
    def failed_count(self) -> int:
        """How many cases failed."""
    @property
    def failures(self) -> list[CaseResult]:
        """The cases that failed."""
    @property
    def errors(self) -> list[Diagnostic]:
        """Problems with the test file or its policies; no case runs when there are any."""
    @property
    def warnings(self) -> list[Diagnostic]:
        """Warnings found while loading the policies."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """One element of the CLI's `test --json` array (`passed`/`failed` are counts)."""
    def to_json(self) -> str:
        """The JSON text of `to_dict()`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class RequestClass:
    """A class of values of one request dimension that the policies cannot tell apart."""

    @property
    def label(self) -> str:
        """What the class holds, in words (`httpbin.org`, `any other host`, ...)."""
    @property
    def example(self) -> str | None:
        """The representative value (`None` for the plaintext identity)."""
    def to_dict(self) -> dict[str, Any]:
        """`{label, example}`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Access:
    """One group of allowed requests: methods × paths, with the deciding policy."""

    @property
    def methods(self) -> list[str]:
        """Method classes (`["any"]` when every method is allowed)."""
    @property
    def paths(self) -> list[str]:
        """Path classes (`["any"]` when every path is allowed)."""
    @property
    def reason(self) -> _Reason:
        """Why these requests are allowed."""
    @property
    def policy(self) -> ResourceRef | None:
        """The deciding policy, if one decided."""
    @property
    def rule(self) -> int | None:
        """The deciding rule."""
    @property
    def example(self) -> dict[str, Any]:
        """One concrete request of the group, as a request dict."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class ReachEntry:
    """Subjects (identity or host classes) that share the same access at one point."""

    @property
    def point(self) -> str:
        """Where the requests are decided."""
    @property
    def identities(self) -> list[RequestClass]:
        """The identity classes."""
    @property
    def hosts(self) -> list[RequestClass]:
        """The host classes."""
    @property
    def any(self) -> bool:
        """Whether the group holds every class of its dimension."""
    @property
    def access(self) -> list[Access]:
        """What they may send."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class ReachReport:
    """Who may reach a host, or which hosts an identity may reach. Truthy when anything is reachable."""

    @property
    def host(self) -> str | None:
        """The host asked about, for a host query."""
    @property
    def identity(self) -> str | None:
        """The identity asked about, for an identity query (`none` for plaintext)."""
    @property
    def entries(self) -> list[ReachEntry]:
        """Groups of subjects with the same access."""
    @property
    def cells(self) -> int:
        """Number of request classes decided."""
    @property
    def caveats(self) -> list[str]:
        """Rules that read attributes the enumeration leaves absent."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """The CLI's `reach --json` output, as plain Python objects."""
    def to_json(self) -> str:
        """The CLI's `reach --json` text (compact)."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Outcome:
    """The parts of a decision that reach and diff compare. Truthy when allowed."""

    @property
    def allowed(self) -> bool:
        """Whether the request may leave."""
    @property
    def status(self) -> int:
        """HTTP status: 200, 400, 403 or 502."""
    @property
    def reason(self) -> _Reason:
        """Stable reason code."""
    @property
    def policy(self) -> ResourceRef | None:
        """The deciding policy."""
    @property
    def rule(self) -> int | None:
        """The deciding rule."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """`{allowed, status, reason, policy, rule}`."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Change:
    """One class of requests whose decision changes."""

    @property
    def point(self) -> str:
        """Where the requests are decided."""
    @property
    def identity(self) -> RequestClass:
        """The identity class."""
    @property
    def host(self) -> RequestClass:
        """The authority class."""
    @property
    def method(self) -> RequestClass:
        """The method class."""
    @property
    def path(self) -> RequestClass:
        """The path class."""
    @property
    def request(self) -> dict[str, Any]:
        """A concrete request of the class, as a request dict."""
    @property
    def before(self) -> Outcome:
        """Its decision before the change."""
    @property
    def after(self) -> Outcome:
        """Its decision after the change."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as plain Python objects."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class DiffReport:
    """Every class of requests whose decision changes between two policy sets. Truthy when anything changes."""

    @property
    def changed(self) -> bool:
        """Whether any decision changes."""
    @property
    def changes(self) -> list[Change]:
        """Classes whose decision changes, in enumeration order."""
    @property
    def newly_denied(self) -> int:
        """How many changes go from allowed to denied."""
    @property
    def newly_allowed(self) -> int:
        """How many changes go from denied to allowed."""
    @property
    def points(self) -> list[str]:
        """The points compared."""
    @property
    def cells(self) -> int:
        """Number of request classes compared."""
    @property
    def mesh(self) -> list[str]:
        """Mesh settings that differ."""
    @property
    def caveats(self) -> list[str]:
        """Rules (of either set) that read attributes the enumeration leaves absent."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """The CLI's `diff --json` output, as plain Python objects."""
    def to_json(self) -> str:
        """The CLI's `diff --json` text (compact)."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

def lint(*paths: str | os.PathLike[str]) -> list[Lint]:
    """Loads files and directories and lints them (raises `PolicyError`/`OSError` if they do not load)."""

def run_tests(path: str | os.PathLike[str]) -> TestReport:
    """Reads and runs a YAML test file; load problems are the report's `errors`."""

def diff(
    before: Engine,
    after: Engine,
    *,
    workloads: Iterable[_Workload] | None = None,
    compare_reason: bool = False,
) -> DiffReport:
    """Every class of requests whose decision changes between `before` and `after`."""

_LogFormat: TypeAlias = Literal["envoy-json", "istio-text", "ztunnel", "requests"]

def replay(
    policies: Engine,
    *,
    logs: Iterable[str | os.PathLike[str]] | None = None,
    lines: Iterable[str] | None = None,
    format: _LogFormat = "envoy-json",
    before: Engine | None = None,
    mappings: Mapping[str, str] | None = None,
    identities: Mapping[str, str] | None = None,
    text_format: str | None = None,
    threads: int = 2,
) -> dict[str, Any]:
    """Decides every request of access logs (or `lines`); the report dict equals the CLI's `replay --json`."""

def suggest(
    *,
    logs: Iterable[str | os.PathLike[str]] | None = None,
    lines: Iterable[str] | None = None,
    format: _LogFormat = "envoy-json",
    vendor: Literal["istio", "tsb", "gloo"] = "istio",
    policies: Engine | None = None,
    generalize: int = 1,
    mappings: Mapping[str, str] | None = None,
    identities: Mapping[str, str] | None = None,
    text_format: str | None = None,
) -> dict[str, Any]:
    """The smallest policy set allowing exactly the observed traffic: `yaml`, `hosts`, `rules`, `notes`, counts."""

@final
class _Partial:
    """A Spark partition's partial replay tally or suggest observations, fed batch by batch."""

    def __new__(
        cls,
        *,
        format: _LogFormat = "envoy-json",
        mappings: Mapping[str, str] | None = None,
        identities: Mapping[str, str] | None = None,
        text_format: str | None = None,
        file: str = "<lines>",
    ) -> _Partial: ...
    def replay(self, lines: Iterable[str], policies: Engine, before: Engine | None = None) -> None: ...
    def observe(self, lines: Iterable[str], policies: Engine | None = None, generalize: int = 1) -> None: ...
    def tally_json(self) -> str: ...
    def observations_json(self) -> str: ...

def _report(tallies: list[str], compare: bool) -> dict[str, Any]: ...
def _suggest_from(
    observations: list[str], *, vendor: Literal["istio", "tsb", "gloo"] = "istio", generalize: int = 1
) -> dict[str, Any]: ...
