#!/usr/bin/env bash
# Gate for the Python bindings: build and install them into .venv (release, reusing the
# cargo target dir), then pytest -W error, mypy --strict, and stubtest.
#
#   scripts/test-python.sh            # everything
#   scripts/test-python.sh -k vector  # extra arguments go to pytest
#   TEST_PYTHON_WHEEL=1 scripts/test-python.sh   # also build the abi3 wheel and install it
#                                                # into a fresh venv (no network needed)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -x .venv/bin/maturin ] || [ ! -x .venv/bin/mitmdump ]; then
  scripts/setup-python.sh
fi
# shellcheck disable=SC1091
. .venv/bin/activate

step() { printf '\n== %s\n' "$*"; }

step "pip install ./bindings-python (PEP 517 build through maturin, reusing the cargo target dir)"
python -m pip install --quiet --force-reinstall --no-deps ./bindings-python

# The debug CLI with the workspace's features is what the gate's rust stage built: reusing it
# saves a release build of the core and the CLI (~5 min of the CI run on 2 cores).
step "build the CLI (the tests compare to_dict() with its JSON; the workspace's debug build)"
cargo build --workspace --all-targets
export EGRESS_POLICY_CLI="$CARGO_TARGET_DIR/debug/egress-policy"

step "pytest -W error"
# test_spark.py is the spark stage's (scripts/test-spark.sh): it needs Java and PySpark.
python -m pytest -W error bindings-python/tests --ignore=bindings-python/tests/test_spark.py "$@"

step "mypy --strict (examples, package + stubs, tests, bench)"
mypy_cache="$CARGO_TARGET_DIR/mypy-cache"
python -m mypy --strict --python-version 3.10 --cache-dir "$mypy_cache" \
  examples/python bindings-python/python/egress_policy bindings-python/bench
(cd bindings-python/tests && python -m mypy --strict --python-version 3.10 --cache-dir "$mypy_cache/tests" .)

step "stubtest (stubs match the runtime)"
# stubtest writes .mypy_cache/ into the working directory: run it from the cache dir.
mkdir -p "$mypy_cache"
(cd "$mypy_cache" && python -m mypy.stubtest egress_policy \
  --allowlist "$root/bindings-python/stubtest-allowlist.txt")

if [ "${TEST_PYTHON_WHEEL:-0}" = "1" ]; then
  step "abi3 wheel into a fresh venv"
  wheels="$(mktemp -d)"
  trap 'rm -rf "$wheels"' EXIT
  (cd bindings-python && maturin build --release --out "$wheels")
  ls "$wheels"
  python3 -m venv "$wheels/venv"
  "$wheels/venv/bin/pip" install --no-index --quiet "$wheels"/egress_policy-*-abi3-*.whl
  "$wheels/venv/bin/python" -c "import egress_policy; e = egress_policy.Engine.from_paths('examples/policies/istio-waypoint'); d = e.check(source='cluster.local/ns/bookinfo/sa/bookinfo-productpage', url='http://httpbin.org/get', method='GET'); assert d.allowed, d; print('wheel ok:', egress_policy.__version__, d)"
fi

step "python bindings: all gates passed"
