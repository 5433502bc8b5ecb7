#!/usr/bin/env bash
# Portability gate: the core library builds for WebAssembly, in the browser
# (wasm32-unknown-unknown, no wasm-bindgen in the core) and under WASI (wasm32-wasip1).
# Installs the two targets when missing (idempotent; a few seconds each when downloaded).
#
#   scripts/check-wasm.sh            # both targets, dev profile
#   scripts/check-wasm.sh --release  # extra arguments go to every cargo build
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

targets=(wasm32-unknown-unknown wasm32-wasip1)

step() { printf '\n==> %s\n' "$*"; }

installed="$(rustup target list --installed 2>/dev/null || true)"
missing=()
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || missing+=("$target")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "rustup target add ${missing[*]}"
  rustup target add "${missing[@]}"
fi

for target in "${targets[@]}"; do
  step "cargo build -p egress-policy --target ${target} $*"
  cargo build -p egress-policy --target "$target" "$@"
done

# The core must not pull wasm-bindgen (or js-sys) in: bindings-wasm/ adds the JS glue.
step "no wasm-bindgen in the core's dependency tree"
if cargo tree -p egress-policy --target wasm32-unknown-unknown -e normal --prefix none \
  | grep -E '^(wasm-bindgen|js-sys|web-sys|getrandom) '; then
  echo "error: the core depends on a JS-glue crate for wasm32-unknown-unknown" >&2
  exit 1
fi

step "wasm builds passed: ${targets[*]}"
