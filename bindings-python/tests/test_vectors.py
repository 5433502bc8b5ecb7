"""The shared test vectors (`tests/vectors/*.json`, format in `tests/vectors/README.md`),
run through the Python API: every case is one test."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

import egress_policy
from conftest import REPO_ROOT, VECTORS

EXPECT_KEYS = {"allowed", "status", "reason", "message", "policy", "rule", "route", "dry_run", "audit", "hops", "caveats"}


def _vector_files() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


@functools.cache
def _vector(name: str) -> dict[str, Any]:
    with open(VECTORS / f"{name}.json", encoding="utf-8") as f:
        vector: dict[str, Any] = json.load(f)
    return vector


def _file_text(text: str | list[str]) -> str:
    """A policy file: one string, or a list of lines joined with `\\n`."""
    return text if isinstance(text, str) else "\n".join(text) + "\n"


def _sources(vector: dict[str, Any]) -> dict[str, str]:
    """Named texts of a vector: `policy_paths` (read like the CLI) then `policy_files`."""
    files: dict[str, str] = {}
    paths = [REPO_ROOT / p for p in vector.get("policy_paths", [])]
    if paths:
        files.update(egress_policy.Engine.from_paths(*paths).sources)
    for name, text in vector.get("policy_files", {}).items():
        files[name] = _file_text(text)
    return files


@functools.cache
def _engine(name: str) -> egress_policy.Engine:
    return egress_policy.Engine(_sources(_vector(name)))


def _subset_mismatches(path: str, expected: Any, actual: Any) -> list[str]:
    """`expected` is a recursive subset of `actual`: dicts compare only the keys `expected`
    lists; lists of equal length compare element by element; everything else compares for
    equality."""
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out_list: list[str] = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out_list.extend(_subset_mismatches(f"{path}[{i}]", e, a))
        return out_list
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: expected {value!r}, missing")
            else:
                out.extend(_subset_mismatches(f"{path}.{key}", value, actual[key]))
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def _cases() -> list[Any]:
    params = []
    for file in _vector_files():
        vector = _vector(file.stem)
        if vector.get("load_error"):
            continue
        for case in vector["cases"]:
            params.append(pytest.param(file.stem, case["name"], id=f"{file.stem}/{case['name']}"))
    return params


def _load_error_vectors() -> list[Any]:
    return [
        pytest.param(file.stem, id=file.stem)
        for file in _vector_files()
        if _vector(file.stem).get("load_error")
    ]


def _case(vector_name: str, case_name: str) -> dict[str, Any]:
    for case in _vector(vector_name)["cases"]:
        if case["name"] == case_name:
            return dict(case)
    raise LookupError(case_name)


def test_vectors_exist() -> None:
    assert _vector_files(), f"no vectors in {VECTORS}"


@pytest.mark.parametrize(("vector_name", "case_name"), _cases())
def test_vector_case(vector_name: str, case_name: str) -> None:
    case = _case(vector_name, case_name)
    assert set(case["expect"]) <= EXPECT_KEYS, "unknown expect key"
    engine = _engine(vector_name)
    decision = engine.check(case["request"])
    actual = decision.to_dict()
    mismatches = _subset_mismatches("decision", case["expect"], actual)
    assert not mismatches, "\n".join(mismatches) + f"\ndecision: {json.dumps(actual)}"
    # The attributes agree with the dict, and explain() decides the same.
    assert decision.allowed is actual["allowed"] is bool(decision)
    assert decision.status == actual["status"]
    assert decision.reason == actual["reason"]
    assert engine.explain(case["request"]).decision == decision


@pytest.mark.parametrize(
    "vector_name",
    [p.stem for p in _vector_files() if not _vector(p.stem).get("load_error")],
)
def test_vector_check_many_matches_check(vector_name: str) -> None:
    vector = _vector(vector_name)
    engine = _engine(vector_name)
    requests = [case["request"] for case in vector["cases"]]
    assert engine.check_many(requests) == [engine.check(r) for r in requests]


@pytest.mark.parametrize("vector_name", _load_error_vectors())
def test_vector_load_error(vector_name: str) -> None:
    vector = _vector(vector_name)
    with pytest.raises(egress_policy.PolicyError) as info:
        egress_policy.Engine(_sources(vector))
    errors = info.value.errors
    assert any(e.severity == "error" for e in errors)
    for error in errors:
        assert isinstance(error, egress_policy.Diagnostic)
        assert error.line >= 1 and error.column >= 1
        assert error.file in vector.get("policy_files", {}) or Path(error.file).exists()
