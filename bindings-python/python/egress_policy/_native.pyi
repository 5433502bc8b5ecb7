"""Type stubs of the native module `egress_policy._native` (hand-written; checked against
the runtime by `python -m mypy.stubtest egress_policy`)."""

import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias, final


__all__ = [
    "Engine",
    "_generate_workload",
    "PolicyError",
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
]
"""The stable reason codes of a decision."""

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
class Decision:
    """The answer for one request. Truthy when the request may leave."""

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
    def __bool__(self) -> bool: ...
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
        self, request: Mapping[str, _JsonValue] | None = None, /, **fields: _JsonValue
    ) -> Decision:
        """Decides one request (the README's request JSON as a dict, and/or keywords)."""
    def check_many(self, requests: Iterable[Mapping[str, _JsonValue]]) -> list[Decision]:
        """Decides many requests, in order, without holding the GIL."""
    def explain(
        self, request: Mapping[str, _JsonValue] | None = None, /, **fields: _JsonValue
    ) -> Explanation:
        """Decides one request and explains why."""
    def __reduce__(self) -> tuple[type[Engine], tuple[list[tuple[str, str]]]]: ...

def _decision_from_json(text: str) -> Decision:
    """Rebuilds a decision from its JSON (used by pickle)."""

def _generate_workload(rules: int, seed: int = 42) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The core's seeded benchmark workload: `{file name: YAML}` and request dicts."""
