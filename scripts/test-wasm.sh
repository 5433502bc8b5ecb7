#!/usr/bin/env bash
# Gate for the WebAssembly package and the simulator: build the package (node + web), run
# the node tests (shared vectors, seed scenarios, API, types, the simulator's pieces),
# type-check the TypeScript example, build the simulator and test it in headless Chromium
# at 1440×900, 1280×720 and 390×844 (every point of issue 14, axe-core, the time to the
# first decision served locally and on a throttled profile; screenshots and timings in
# target/simulator-screenshots/).
#
#   scripts/test-wasm.sh                 # everything
#   WASM_BENCH=1 scripts/test-wasm.sh    # also bench/bench.mjs (N = 10 000; needs release builds)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n== %s\n' "$*"; }

want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ] \
  || [ ! -x bindings-wasm/node_modules/.bin/tsc ] || [ ! -f bindings-wasm/node_modules/axe-core/axe.min.js ] \
  || [ bindings-wasm/package-lock.json -nt bindings-wasm/node_modules/.package-lock.json ] || [ ! -x /usr/bin/chromium ]; then
  step "setup (scripts/setup-wasm.sh)"
  scripts/setup-wasm.sh
fi

step "build the package (bindings-wasm/build.sh)"
bindings-wasm/build.sh

# The seed tests compare every decision with the native CLI; reuse the newest one built
# (the Rust stage builds target/debug, the Python stage target/release).
if [ -z "${EGRESS_POLICY_CLI:-}" ]; then
  cli="$(ls -t "$CARGO_TARGET_DIR/release/egress-policy" "$CARGO_TARGET_DIR/debug/egress-policy" 2>/dev/null | head -n 1)" || true
  if [ -n "$cli" ]; then export EGRESS_POLICY_CLI="$cli"; fi
  if [ -z "${EGRESS_POLICY_CLI:-}" ]; then
    step "build the native CLI (the seed tests compare with it)"
    cargo build -p egress-policy-cli
    export EGRESS_POLICY_CLI="$CARGO_TARGET_DIR/debug/egress-policy"
  fi
fi

cd bindings-wasm
step "node --test (vectors, seeds, API, types, simulator pieces)"
node --test tests/

step "tsc --noEmit (examples/typed.ts, examples/web.ts against the generated .d.ts)"
node_modules/.bin/tsc -p examples/tsconfig.json
echo "type check passed"

step "simulator: build (esbuild)"
node simulator/build.mjs

step "simulator: browser test (Playwright + Debian chromium; three viewports, axe-core, timings)"
node simulator/test/e2e.mjs

if [ "${WASM_BENCH:-0}" = "1" ]; then
  step "bench: Node package vs native (N = 10 000)"
  # Two commands: with `--example`, cargo builds only that target of every package named
  # (the CLI's binary would be missing).
  cargo build --release -p egress-policy-cli
  cargo build --release -p egress-policy-wasm --example native-bench
  node bench/bench.mjs
fi

step "wasm: all gates passed"
