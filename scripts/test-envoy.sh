#!/usr/bin/env bash
# Gate for the Envoy enforcement points: builds the proxy-wasm filter (wasm32-wasip1,
# release), the ext_authz server and the CLI (debug, shared with scripts/test.sh), then runs
# tests/envoy against the real Envoy: `envoy --mode validate` on every shipped config, the
# seed scenarios through the wasm filter and through ext_authz (allowed requests reach a
# local upstream with the route's headers, denied ones never do, path traversal is denied
# with and without Envoy's normalize_path, mTLS identity, bad configs refused, hot reload,
# fail-closed), the services (tests/envoy/test_service.py: one identity header only and never
# forwarded, the wasm filter deciding as its proxy from node metadata and refusing to enforce
# nothing, the server's generation header across reloads, server down => 403, and a 10 s
# load run with egress-policy-loadgen whose every answer equals the CLI's), and the
# differential test against Envoy's own RBAC filter. The soak test (tests/envoy/soak.py)
# runs for minutes and is not part of this gate.
#
#   scripts/test-envoy.sh                     # everything
#   scripts/test-envoy.sh test_differential   # extra arguments select unittest modules/tests
#   DIFF_SETS=100 scripts/test-envoy.sh test_differential   # a bigger differential run
#
# Loopback only; every process a test starts is stopped by that test (by PID).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x .venv-envoy/bin/python ] || ! .venv-envoy/bin/python -c 'import envoy' 2>/dev/null \
  || ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  scripts/setup-envoy.sh
fi

step "build the proxy-wasm filter (wasm32-wasip1, release)"
cargo build -p egress-policy-envoy-wasm --target wasm32-wasip1 --release
ls -l "$CARGO_TARGET_DIR/wasm32-wasip1/release/egress_policy_envoy_wasm.wasm"

step "clippy on the wasm32 build (the host-call module only exists there)"
cargo clippy -p egress-policy-envoy-wasm --target wasm32-wasip1 --release -- -D warnings

# The same command as the gate's rust stage, so these debug binaries are the ones it built:
# `-p egress-policy-ext-authz -p egress-policy-cli` unifies other features and compiled a
# second copy of the core and of tonic (CI once ran out of disk right there).
step "build the ext_authz server, its load generator and the CLI (debug, with the workspace's features)"
cargo build --workspace --all-targets

step "tests/envoy (unittest; real Envoy $(.venv-envoy/bin/envoy --version 2>&1 | grep -o '/1\.[0-9.]*/' | tr -d /))"
cd tests/envoy
if [ "$#" -eq 0 ]; then
  set -- discover -v -s . -p 'test_*.py'
else
  set -- -v "$@"
fi
timeout 1200 ../../.venv-envoy/bin/python -m unittest "$@"

step "envoy tests passed"
