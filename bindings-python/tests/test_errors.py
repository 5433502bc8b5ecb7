"""Every error path: load errors (PolicyError, OSError), request-shape errors
(TypeError/ValueError), and malformed requests (a 400 decision, never an exception)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import egress_policy
from conftest import PRODUCTPAGE
from egress_policy import Diagnostic, Engine, PolicyError

INVALID = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: invalid
  namespace: istio-egress
spec:
  rules:
  - to:
    - operation:
        ports: ["70000"]
"""

VALID = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-get, namespace: istio-egress}
spec:
  rules:
  - to: [{operation: {methods: ["GET"]}}]
"""


def test_policy_error_carries_located_diagnostics() -> None:
    with pytest.raises(PolicyError) as info:
        Engine.from_yaml(INVALID, name="invalid.yaml")
    error = info.value
    assert isinstance(error, ValueError)
    errors = [e for e in error.errors if e.severity == "error"]
    assert errors
    first = errors[0]
    assert isinstance(first, Diagnostic)
    assert first.file == "invalid.yaml"
    assert first.line == 10
    assert first.column >= 1
    assert first.resource == "AuthorizationPolicy istio-egress/invalid"
    assert first.field is not None and "ports" in first.field
    assert first.message
    # str(error) is the rendered errors, one per line, compiler style.
    assert str(error).splitlines()[0] == str(first)
    assert str(first).startswith(f"invalid.yaml:10:{first.column}: error: AuthorizationPolicy istio-egress/invalid: ")
    assert first.to_dict() == {
        "severity": "error",
        "file": "invalid.yaml",
        "line": 10,
        "column": first.column,
        "resource": first.resource,
        "field": first.field,
        "message": first.message,
    }
    assert repr(first).startswith("Diagnostic(file='invalid.yaml', line=10, ")


def test_policy_error_reports_every_file() -> None:
    with pytest.raises(PolicyError) as info:
        Engine({"a.yaml": INVALID, "b.yaml": "key: [unclosed\n", "c.yaml": VALID})
    files = {e.file for e in info.value.errors if e.severity == "error"}
    assert files == {"a.yaml", "b.yaml"}


def test_policy_error_pickles() -> None:
    with pytest.raises(PolicyError) as info:
        Engine.from_yaml(INVALID, name="invalid.yaml")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is PolicyError
    assert str(copy) == str(info.value)
    assert copy.errors == info.value.errors


def test_yaml_syntax_error() -> None:
    with pytest.raises(PolicyError) as info:
        Engine.from_yaml("a: [1, 2\n", name="broken.yaml")
    [error] = [e for e in info.value.errors if e.severity == "error"]
    assert error.file == "broken.yaml" and error.line >= 1


def test_missing_path_is_an_os_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(FileNotFoundError) as info:
        Engine.from_paths(missing)
    assert info.value.filename == str(missing)
    assert info.value.errno == 2


def test_from_paths_needs_a_path() -> None:
    with pytest.raises(TypeError, match="at least one"):
        Engine.from_paths()
    with pytest.raises(TypeError):
        Engine.from_paths(3)  # type: ignore[arg-type]


def test_from_paths_reads_directories_like_the_cli(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(VALID, encoding="utf-8")
    (tmp_path / "a.json").write_text('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    engine = Engine.from_paths(tmp_path)
    assert list(engine.sources) == [str(tmp_path / "a.json"), str(tmp_path / "sub" / "b.yml")]
    assert Engine.from_paths(str(tmp_path)).sources == engine.sources


def test_non_utf8_file_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(PolicyError) as info:
        Engine.from_paths(tmp_path)
    [error] = info.value.errors
    assert error.file == str(tmp_path / "bad.yaml")
    assert "UTF-8" in error.message


def test_engine_constructor_type_errors() -> None:
    with pytest.raises(TypeError, match="mapping of file name to text"):
        Engine("policies.yaml")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping of file name to text"):
        Engine({"a.yaml": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping of file name to text"):
        Engine(3)  # type: ignore[arg-type]


def test_from_json_errors() -> None:
    with pytest.raises(TypeError, match="takes a dict, a list of dicts or a JSON string"):
        Engine.from_json(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"resources\.metadata: invalid type: set"):
        Engine.from_json({"apiVersion": "v1", "kind": "Namespace", "metadata": {1, 2}})
    with pytest.raises(TypeError, match="keys must be strings"):
        Engine.from_json({"apiVersion": "v1", "kind": "Namespace", "metadata": {1: "x"}})
    with pytest.raises(PolicyError):
        Engine.from_json("{not json")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_yaml(VALID, name="valid.yaml")


@pytest.mark.parametrize(
    ("request_", "kwargs", "error", "message"),
    [
        ({"bogus": 1}, {}, ValueError, r"^request: unknown field `bogus`, expected one of `source`"),
        (None, {"bogus": 1}, TypeError, r"got an unexpected keyword argument 'bogus'"),
        ({"source": {"principle": "x"}}, {}, ValueError, r"^request\.source: unknown field `principle`"),
        ({"host": "a"}, {"host": "b"}, ValueError, r"^request: duplicate field `host`"),
        (None, {"port": "80"}, TypeError, r"^request\.port: invalid type: string \"80\", expected u16"),
        (None, {"port": 70000}, ValueError, r"^request\.port: invalid value: integer `70000`, expected u16"),
        (None, {"port": -1}, ValueError, r"^request\.port: invalid value: integer `-1`, expected u16"),
        (None, {"port": True}, TypeError, r"^request\.port: invalid type: boolean `true`"),
        (None, {"port": 2**70}, ValueError, r"^request\.port: integer \d+ is out of range"),
        (None, {"protocol": "udp"}, ValueError, r"^request\.protocol: unknown variant `udp`"),
        (None, {"protocol": 1}, TypeError, r"^request\.protocol: invalid type: int, expected a string"),
        (None, {"source": 3}, TypeError, r"^request\.source: invalid type: integer `3`"),
        ({"source": "cluster.local/ns/a/sa/b"}, {}, TypeError, r"^request\.source: invalid type: string"),
        (None, {"source": {"principal": 3}}, TypeError, r"^request\.source\.principal: invalid type: integer `3`, expected a string"),
        (None, {"source": {"labels": {"app": 1}}}, TypeError, r"^request\.source\.labels\.app: invalid type"),
        (None, {"headers": {"x": 1}}, TypeError, r"^request\.headers\.x: invalid type: expected a string or a list of strings"),
        (None, {"headers": {"x": ["a", 1]}}, TypeError, r"^request\.headers\.x: invalid type"),
        (None, {"workload": {"labels": {}}}, ValueError, r"^request\.workload: missing field `namespace`"),
        (None, {"custom": {"p": "yes"}}, TypeError, r"^request\.custom\.p: invalid type: string \"yes\", expected a boolean"),
        (None, {"jwt": {"audiences": "a"}}, TypeError, r"^request\.jwt\.audiences: invalid type: string"),
        (None, {"url": b"http://a/"}, TypeError, r"^request\.url: invalid type: bytes"),
        (None, {"method": object()}, TypeError, r"^request\.method: invalid type: object"),
        ([("host", "a")], {}, TypeError, r"^request: must be a dict \(the request JSON\), not list"),
        ("http://a/", {}, TypeError, r"^request: must be a dict \(the request JSON\), not str"),
    ],
)
def test_request_shape_errors(
    engine: Engine, request_: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        engine.check(request_, **kwargs)
    assert not isinstance(info.value, PolicyError)
    with pytest.raises(error, match=message):
        engine.explain(request_, **kwargs)


def test_check_many_errors_name_the_request(engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"^requests\[1\]: unknown field `hostx`"):
        engine.check_many([{"host": "a"}, {"hostx": "a"}])
    with pytest.raises(TypeError, match=r"^requests\[0\]\.port: invalid type"):
        engine.check_many([{"port": "x"}])
    with pytest.raises(TypeError, match=r"^requests\[0\]: invalid type: string"):
        engine.check_many(["http://a/"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        engine.check_many(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "http://httpbin.org/get", "method": "get"},
        {"url": "httpbin.org/get", "method": "GET"},
        {"url": "ftp://httpbin.org/", "method": "GET"},
        {"method": "GET"},
        {"url": "http://httpbin.org/a%00b", "method": "GET"},
        {"url": "http://httpbin.org/", "method": "GET", "source": {"ip": "not-an-ip"}},
        {"host": "httpbin.org:99999", "method": "GET"},
        {"url": "http://httpbin.org/", "headers": {"bad name": "x"}},
    ],
)
def test_malformed_requests_are_400_decisions(engine: Engine, fields: dict[str, Any]) -> None:
    decision = engine.check(fields, workload={"namespace": "istio-egress"})
    assert (decision.allowed, decision.status, decision.reason) == (False, 400, "malformed_request")
    assert decision.message


def test_diagnostic_constructor() -> None:
    d = Diagnostic("a.yaml", 1, 2, "boom", "warning", "Kind ns/n", "spec.x")
    assert (d.file, d.line, d.column, d.message, d.severity, d.resource, d.field) == (
        "a.yaml", 1, 2, "boom", "warning", "Kind ns/n", "spec.x",
    )
    assert str(d) == "a.yaml:1:2: warning: Kind ns/n: spec.x: boom"
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(ValueError, match="severity"):
        Diagnostic("a.yaml", 1, 1, "x", "fatal")  # type: ignore[arg-type]


def test_warnings_are_diagnostics() -> None:
    engine = Engine.from_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", name="cm.yaml")
    [warning] = engine.warnings
    assert warning.severity == "warning"
    assert warning.file == "cm.yaml"
    assert "ConfigMap" in warning.message


def test_check_never_raises_policy_error(engine: Engine) -> None:
    decision = engine.check(source=PRODUCTPAGE, url="http://httpbin.org/get", method="GET")
    assert decision.status in (200, 403)
