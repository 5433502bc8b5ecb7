#!/usr/bin/env bash
# Builds the npm package of egress-policy into bindings-wasm/pkg/:
#   pkg/node/  `wasm-bindgen --target nodejs` (CommonJS glue) + ESM/CJS entry points
#   pkg/web/   `wasm-bindgen --target web` (ES module glue, `init()` loads the .wasm)
# Both flavours share one .wasm, built with the `wasm-release` profile (opt-level "z", LTO)
# and shrunk with wasm-opt -Oz from the npm package binaryen (WASM_OPT=0 skips it).
#
#   bindings-wasm/build.sh            # release build (what the tests and the simulator use)
#   WASM_PROFILE=release bindings-wasm/build.sh   # another cargo profile
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
profile="${WASM_PROFILE:-wasm-release}"
crate=egress_policy_wasm
pkg="$here/pkg"

log() { printf '  [wasm] %s\n' "$*"; }

# The CLI must equal the wasm-bindgen crate version in Cargo.lock (the schema is versioned).
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen CLI ${have:-not found}, need ${want}: run scripts/setup-wasm.sh" >&2
  exit 1
fi

log "cargo build --profile $profile --target wasm32-unknown-unknown"
cargo build -p egress-policy-wasm --target wasm32-unknown-unknown --profile "$profile"
wasm="$target_dir/wasm32-unknown-unknown/$profile/$crate.wasm"

# Skip wasm-bindgen and wasm-opt (tens of seconds) when the module has not changed.
key="$(sha256sum "$wasm" | cut -d' ' -f1) wasm-bindgen=$have wasm-opt=${WASM_OPT:-1}"
if [ -f "$pkg/.build-key" ] && [ "$(cat "$pkg/.build-key")" = "$key" ] \
  && [ -f "$pkg/web/${crate}_bg.wasm" ] && [ -f "$pkg/node/${crate}_bg.wasm" ]; then
  log "module unchanged: reusing pkg/ (delete bindings-wasm/pkg to force)"
else
  rm -rf "$pkg"
  mkdir -p "$pkg/node" "$pkg/web"
  log "wasm-bindgen --target nodejs / web"
  wasm-bindgen --target nodejs --out-dir "$pkg/node" --remove-name-section --remove-producers-section "$wasm"
  wasm-bindgen --target web --out-dir "$pkg/web" --remove-name-section --remove-producers-section "$wasm"
  wc -c < "$pkg/web/${crate}_bg.wasm" > "$pkg/.bindgen-size"

  # wasm-opt from the npm package `binaryen` (pinned in package-lock.json). Debian's binaryen
  # 108 is too old: it rewrites the externref table that wasm-bindgen's glue fills, and the
  # module then fails to instantiate ("function-typed object must be null").
  wasm_opt="$here/node_modules/.bin/wasm-opt"
  if [ "${WASM_OPT:-1}" != "0" ] && [ -x "$wasm_opt" ]; then
    log "wasm-opt -Oz ($("$wasm_opt" --version))"
    "$wasm_opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-reference-types \
      "$pkg/web/${crate}_bg.wasm" -o "$pkg/web/${crate}_bg.wasm.opt"
    mv "$pkg/web/${crate}_bg.wasm.opt" "$pkg/web/${crate}_bg.wasm"
    cp "$pkg/web/${crate}_bg.wasm" "$pkg/node/${crate}_bg.wasm"
  else
    log "wasm-opt skipped (WASM_OPT=0, or npm ci not run in bindings-wasm)"
  fi
  printf '%s\n' "$key" > "$pkg/.build-key"
fi

# Entry points and the PolicyError class (see src/lib.rs).
printf '{"type": "commonjs"}\n' > "$pkg/node/package.json"
cp "$here/js/policy-error.cjs" "$pkg/node/policy-error.js"
cp "$here/js/policy-error.d.ts" "$pkg/node/policy-error.d.ts"
cp "$here/js/node-index.mjs" "$pkg/node/index.mjs"
cp "$here/js/node-index.cjs" "$pkg/node/index.cjs"
cp "$here/js/node-index.d.ts" "$pkg/node/index.d.ts"
cp "$here/js/policy-error.mjs" "$pkg/web/policy-error.js"
cp "$here/js/policy-error.d.ts" "$pkg/web/policy-error.d.ts"
cp "$here/js/web-index.js" "$pkg/web/index.js"
cp "$here/js/web-index.d.ts" "$pkg/web/index.d.ts"

raw_bindgen="$(cat "$pkg/.bindgen-size")"
raw="$(wc -c < "$pkg/web/${crate}_bg.wasm")"
gz="$(gzip -9 -c "$pkg/web/${crate}_bg.wasm" | wc -c)"
printf '{"cargo": %d, "bindgen": %d, "raw": %d, "gzip": %d}\n' \
  "$(wc -c < "$wasm")" "$raw_bindgen" "$raw" "$gz" > "$pkg/size.json"
log "size: $raw bytes raw, $gz bytes gzip -9 (after wasm-bindgen: $raw_bindgen)"
