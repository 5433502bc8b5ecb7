"""Replay and suggest as PySpark jobs over a DataFrame of access-log lines.

Install with the extra ``egress-policy[spark]`` (PySpark and PyArrow; Spark needs Java 17+).
Each partition is read with ``mapInArrow``: the Rust core decides its lines (the same code
as ``egress-policy replay``) and returns one partial tally (or, for ``suggest``, the set of
distinct observations); the driver merges the partials. Partials are bounded by the number
of distinct request classes, never by the number of lines, so days of logs stay cheap to
collect.

>>> from pyspark.sql import SparkSession          # doctest: +SKIP
>>> import egress_policy, egress_policy.spark as eps  # doctest: +SKIP
>>> spark = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
>>> lines = spark.read.text("s3a://logs/egress/2026-11-*/*.log")   # doctest: +SKIP
>>> engine = egress_policy.Engine.from_paths("policies/")           # doctest: +SKIP
>>> report = eps.replay(lines, engine)   # the CLI's `replay --json` # doctest: +SKIP
>>> print(eps.suggest(lines)["yaml"])                                # doctest: +SKIP

The engines travel to the executors pickled (as their policy texts), so policy files need
not exist on the cluster's machines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from egress_policy._native import Engine, _Partial, _report, _suggest_from

# PySpark and PyArrow are optional (the `spark` extra): they are imported where used, and
# typed as `Any` here so that the package type-checks without them.
DataFrame = Any
RecordBatch = Any

__all__ = ["replay", "suggest"]

_PARTIAL_SCHEMA = "partial string"


def _lines_of(batch: RecordBatch, column: int) -> list[str]:
    return [line for line in batch.column(column).to_pylist() if line is not None]


def _column_index(df: DataFrame, column: str | None) -> tuple[DataFrame, int]:
    if column is None:
        if len(df.columns) != 1:
            raise ValueError(f"the DataFrame has columns {df.columns}: name the log-line column")
        column = df.columns[0]
    return df.select(column), 0


def replay(
    df: DataFrame,
    policies: Engine,
    *,
    column: str | None = None,
    format: str = "envoy-json",
    before: Engine | None = None,
    mappings: Mapping[str, str] | None = None,
    identities: Mapping[str, str] | None = None,
    text_format: str | None = None,
) -> dict[str, Any]:
    """Replays every line of ``df`` (one string column, or ``column``) against ``policies``.

    Returns the report dict of ``egress_policy.replay`` / the CLI's ``replay --json``: the
    same counts and rows; a row's ``example`` names the Spark partition
    (``partition-N:LINE``) instead of the file.
    """
    frame, index = _column_index(df, column)
    mapping = dict(mappings or {})
    ids = dict(identities or {})

    def run(batches: Iterator[RecordBatch]) -> Iterator[RecordBatch]:
        import pyarrow as pa  # type: ignore[import-not-found,import-untyped,unused-ignore]
        from pyspark import TaskContext  # type: ignore[import-not-found,unused-ignore]

        context = TaskContext.get()
        # One partial per partition, kept in Rust across batches (lines numbered on).
        partial = _Partial(
            format=format,  # type: ignore[arg-type]
            mappings=mapping,
            identities=ids,
            text_format=text_format,
            file=f"partition-{context.partitionId() if context else 0}",
        )
        fed = False
        for batch in batches:
            partial.replay(_lines_of(batch, index), policies, before)
            fed = True
        if fed:
            yield pa.RecordBatch.from_pydict({"partial": [partial.tally_json()]})

    partials = [row.partial for row in frame.mapInArrow(run, _PARTIAL_SCHEMA).collect()]
    return _report(partials, before is not None)


def suggest(
    df: DataFrame,
    *,
    column: str | None = None,
    format: str = "envoy-json",
    vendor: str = "istio",
    policies: Engine | None = None,
    generalize: int = 1,
    mappings: Mapping[str, str] | None = None,
    identities: Mapping[str, str] | None = None,
    text_format: str | None = None,
) -> dict[str, Any]:
    """The smallest policy set that allows exactly the traffic of ``df``'s lines: the dict of
    ``egress_policy.suggest`` (``yaml``, ``hosts``, ``rules``, ``notes``, counts)."""
    frame, index = _column_index(df, column)
    mapping = dict(mappings or {})
    ids = dict(identities or {})

    def run(batches: Iterator[RecordBatch]) -> Iterator[RecordBatch]:
        import pyarrow as pa  # type: ignore[import-not-found,import-untyped,unused-ignore]

        partial = _Partial(
            format=format,  # type: ignore[arg-type]
            mappings=mapping,
            identities=ids,
            text_format=text_format,
        )
        fed = False
        for batch in batches:
            partial.observe(_lines_of(batch, index), policies, generalize)
            fed = True
        if fed:
            yield pa.RecordBatch.from_pydict({"partial": [partial.observations_json()]})

    partials = [row.partial for row in frame.mapInArrow(run, _PARTIAL_SCHEMA).collect()]
    return _suggest_from(partials, vendor=vendor, generalize=generalize)  # type: ignore[arg-type]
