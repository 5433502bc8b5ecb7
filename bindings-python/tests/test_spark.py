"""`egress_policy.spark` in Spark's local mode equals the single-process replay / suggest
(which equal the CLI) on a generated log of 1 M lines. Needs `egress-policy[spark]` and
Java 17+: `scripts/setup-spark.sh` installs both; skipped when they are missing."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import egress_policy

from conftest import POLICIES

# The gate's spark stage sets EGRESS_POLICY_SPARK_REQUIRED=1: there a missing piece is a
# failure, not a skip (a skipped stage would pass CI without testing anything).
if os.environ.get("EGRESS_POLICY_SPARK_REQUIRED") == "1":
    import pyarrow  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    import pyspark  # type: ignore[import-not-found,unused-ignore]

    assert shutil.which("java"), "no Java runtime (scripts/setup-spark.sh installs one)"
else:
    pyspark = pytest.importorskip("pyspark", reason="egress-policy[spark] is not installed")
    pytest.importorskip("pyarrow", reason="egress-policy[spark] is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (scripts/setup-spark.sh installs one)", allow_module_level=True)

from pyspark.sql import DataFrame, SparkSession  # type: ignore[import-not-found,unused-ignore]  # noqa: E402
from pyspark.sql import functions as F  # type: ignore[import-not-found,unused-ignore]  # noqa: E402

import egress_policy.spark as eps  # noqa: E402

LINES = int(os.environ.get("SPARK_TEST_LINES", "1000000"))
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("egress-policy-test")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.enabled", "false")
        # The console progress bar fills CI logs with carriage-return frames.
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _generated(spark: SparkSession, lines: int) -> DataFrame:
    """Envoy JSON lines: 52 identities, 4 hosts, 3 methods, 50 path prefixes, a malformed
    line in every 100 000."""
    n = F.col("id")
    method = F.element_at(F.array(F.lit("GET"), F.lit("POST"), F.lit("DELETE")),
                          (n % 3 + 1).cast("int"))
    host = F.element_at(F.array(F.lit("httpbin.org"), F.lit("api.stripe.com"),
                                F.lit("example.com"), F.lit("pypi.org")),
                        (n % 4 + 1).cast("int"))
    line = F.format_string(
        '{"start_time":"2026-11-30T10:00:00.000Z","method":"%s","path":"/api/%d/items/%d",'
        '"protocol":"HTTP/1.1","response_code":200,"authority":"%s",'
        '"upstream_cluster":"outbound|80||%s","downstream_remote_address":"10.244.1.%d:40000",'
        '"downstream_peer_uri_san":"spiffe://cluster.local/ns/ns%d/sa/app%d"}',
        method, n % 50, n, host, host, n % 200, n % 4, n % 13,
    )
    value = F.when(n % 100_000 == 99_999, F.lit("{truncated")).otherwise(line)
    return spark.range(0, lines, numPartitions=4).select(value.alias("value"))


def _without_examples(report: dict[str, Any]) -> dict[str, Any]:
    rows = sorted(
        ({k: v for k, v in r.items() if k != "example"} for r in report["rows"]),
        key=lambda r: (r["identity"], r["host"], r["method"], r["path"]),
    )
    samples = len(report["malformed_samples"])
    return {**report, "rows": rows, "malformed_samples": samples}


def test_spark_replay_and_suggest_equal_single_process(
    spark: SparkSession, tmp_path: Path
) -> None:
    out = tmp_path / "log"
    _generated(spark, LINES).write.text(str(out))
    files = sorted(str(p) for p in out.glob("part-*"))
    df = spark.read.text(str(out))
    engine = egress_policy.Engine.from_paths(POLICIES / "istio-waypoint")

    start = time.perf_counter()
    distributed = eps.replay(df, engine)
    elapsed = time.perf_counter() - start
    print(f"\nspark local[2] replay: {LINES} lines in {elapsed:.1f} s "
          f"= {LINES / elapsed:,.0f} lines/s")
    local = egress_policy.replay(engine, logs=files)
    assert distributed["lines"] == LINES
    assert distributed["malformed"] == LINES // 100_000
    assert _without_examples(distributed) == _without_examples(local)

    suggested = eps.suggest(df, generalize=1)
    assert suggested == egress_policy.suggest(logs=files, generalize=1)
    # The suggestion allows every generated request.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "suggested.yaml").write_text(suggested["yaml"])
    check = eps.replay(df, egress_policy.Engine.from_paths(tmp_path / "policy"))
    assert check["denied"] == 0 and check["allowed"] == LINES - LINES // 100_000

    # A change report: before = the suggestion, after = the seed policy.
    change = eps.replay(df, engine, before=egress_policy.Engine.from_paths(tmp_path / "policy"))
    assert change["newly_denied"] == local["denied"]
