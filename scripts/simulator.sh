#!/usr/bin/env bash
# Builds the in-browser egress policy simulator and serves it on http://127.0.0.1:PORT/
# (default 8080) with bindings-wasm/simulator/serve.mjs (static files, precompressed).
# Everything runs in the page: no server logic, works offline.
#
#   scripts/simulator.sh [PORT]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="${1:-8080}"

want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ] || [ ! -x bindings-wasm/node_modules/.bin/esbuild ]; then
  SETUP_WASM_BROWSER=0 scripts/setup-wasm.sh
fi
bindings-wasm/build.sh
node bindings-wasm/simulator/build.mjs
echo "simulator: http://127.0.0.1:${port}/  (Ctrl-C stops the server)"
exec node bindings-wasm/simulator/serve.mjs "$port"
