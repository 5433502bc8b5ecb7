#!/usr/bin/env bash
# Creates (or updates) the Python virtual environment at .venv with everything the Python
# bindings need to build, test, type-check and benchmark. Idempotent: re-running only
# installs what is missing. Installs packages from PyPI with pip; nothing else is fetched.
#
#   scripts/setup-python.sh            # build + test tools, mitmproxy (integration test)
#   SETUP_PYTHON_BENCH=1 scripts/setup-python.sh   # also cedarpy + casbin for bench/bench.py
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
venv="${root}/.venv"

if [ ! -x "${venv}/bin/python" ]; then
  "$python" -m venv "$venv"
fi

# Versions that installed and worked on the project machine (CPython 3.11, 2026-11).
requirements=(
  "maturin>=1.7,<2"
  "pytest>=8"
  "pytest-timeout>=2.3"
  "mypy>=1.10"
  "mitmproxy>=11"
)
if [ "${SETUP_PYTHON_BENCH:-0}" = "1" ]; then
  requirements+=("cedarpy>=4" "casbin>=1.36")
fi

"${venv}/bin/python" -m pip install --disable-pip-version-check --quiet "${requirements[@]}"
"${venv}/bin/python" -m pip --disable-pip-version-check list 2>/dev/null \
  | grep -i -E '^(maturin|pytest|pytest-timeout|mypy|mitmproxy|cedarpy|casbin) ' || true
