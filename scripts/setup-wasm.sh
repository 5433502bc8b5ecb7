#!/usr/bin/env bash
# Prepares a machine to build and test the WebAssembly package (bindings-wasm/) and the
# simulator. Idempotent: re-running only does what is missing.
#
#   * rustup target wasm32-unknown-unknown
#   * the wasm-bindgen CLI at exactly the version of the `wasm-bindgen` crate in Cargo.lock
#     (cargo install, ~6 min on 2 cores; skipped when that version is already on PATH)
#   * Debian's chromium for the browser test (apt; SETUP_WASM_BROWSER=0 skips it)
#   * the npm packages of bindings-wasm/package-lock.json (npm ci: esbuild, CodeMirror,
#     typescript, playwright-core, binaryen for wasm-opt; no browser download)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
fi

want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
if [ -z "$want" ]; then
  echo "Cargo.lock has no wasm-bindgen entry: run cargo metadata or cargo build -p egress-policy-wasm once" >&2
  exit 1
fi
if [ "$have" != "$want" ]; then
  # No --locked: the CLI's own lockfile pins a crate version this registry lacks. The
  # profile overrides halve the build time; the CLI's output is the same.
  log "cargo install wasm-bindgen-cli --version $want (found: ${have:-none}; takes minutes)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install wasm-bindgen-cli --version "$want"
else
  log "wasm-bindgen $have already installed"
fi

if [ "${SETUP_WASM_BROWSER:-1}" != "0" ] && [ ! -x /usr/bin/chromium ]; then
  log "apt-get install chromium (Debian's; never a Playwright browser download)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cd bindings-wasm
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci (bindings-wasm)"
  npm ci --no-audit --no-fund
else
  log "bindings-wasm/node_modules up to date"
fi
