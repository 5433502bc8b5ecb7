#!/usr/bin/env bash
# Gate for `egress_policy.spark`: installs what Spark's local mode needs (scripts/setup-spark.sh:
# Debian's OpenJDK when missing, PySpark + PyArrow into .venv), makes sure the package is
# installed (the Python stage installs it; alone, this builds it), then runs
# bindings-python/tests/test_spark.py, where a missing piece is a failure, not a skip.
#
#   scripts/test-spark.sh                       # 1 M generated lines
#   SPARK_TEST_LINES=200000 scripts/test-spark.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n== %s\n' "$*"; }

if [ ! -x .venv/bin/maturin ]; then
  scripts/setup-python.sh
fi
step "setup-spark (Java, pyspark, pyarrow: only what is missing)"
scripts/setup-spark.sh
# shellcheck disable=SC1091
. .venv/bin/activate

if ! python -c "import egress_policy" 2>/dev/null; then
  step "pip install ./bindings-python"
  python -m pip install --quiet --force-reinstall --no-deps ./bindings-python
fi

step "pytest test_spark.py (local[2])"
EGRESS_POLICY_SPARK_REQUIRED=1 python -m pytest -W error -s bindings-python/tests/test_spark.py
