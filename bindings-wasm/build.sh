#!/usr/bin/env bash
# Builds the npm package of egress-policy into bindings-wasm/pkg/:
#   pkg/node/  `wasm-bindgen --target nodejs` (CommonJS glue) + ESM/CJS entry points
#   pkg/web/   `wasm-bindgen --target web` (ES module glue, `init()` loads the .wasm)
# Three modules, each shared by both flavours, built with LTO at opt-level "z" (the decision
# path faster, see the profiles in the root Cargo.toml) and shrunk with wasm-opt -Oz from
# the npm package binaryen (WASM_OPT=0 skips it):
#   egress_policy_wasm        the engine (`--no-default-features --features yaml`: no
#                             tools, regex without its perf features; profile
#                             `wasm-engine`, the core at "s"): load, validate, check,
#                             explain, evalLines, inventory; the package's main entry
#   egress_policy_wasm_bundle the engine without YAML (`--no-default-features`: no YAML
#                             stack, no importers; profile `wasm-bundle`): compiled-policy
#                             bundles only (`Engine.fromBundle`); the `bundle` entry
#   egress_policy_wasm_tools  the same crate with the feature `tools` (a superset: lint, test
#                             files, reach, diff, replay, suggest; profile `wasm-release`,
#                             the core at 3); the `tools` entry and `loadTools()`
#
#   bindings-wasm/build.sh            # release build (what the tests and the simulator use)
#   WASM_PROFILE=release bindings-wasm/build.sh   # another cargo profile (both modules)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
engine_profile="${WASM_PROFILE:-wasm-engine}"
tools_profile="${WASM_PROFILE:-wasm-release}"
bundle_profile="${WASM_PROFILE:-wasm-bundle}"
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

# One crate, two feature sets: cargo names both cdylibs egress_policy_wasm.wasm and would
# take the other flavour's file for up to date, so each build starts without it (only the
# bindings crate is relinked; the dependencies stay built).
# The modules are copied to one directory (that of the tools' profile).
out_dir="$target_dir/wasm32-unknown-unknown/$tools_profile"
build_module() { # module-name profile cargo-feature-args...
  local module="$1" profile="$2" dir="$target_dir/wasm32-unknown-unknown/$2"
  shift 2
  rm -f "$dir/$crate.wasm" "$dir/deps/$crate.wasm"
  log "cargo build --profile $profile $* ($module)"
  cargo build -p egress-policy-wasm --target wasm32-unknown-unknown --profile "$profile" "$@"
  mkdir -p "$out_dir/modules"
  cp "$dir/$crate.wasm" "$out_dir/modules/$module.wasm"
}
build_module "$crate" "$engine_profile" --no-default-features --features yaml
build_module "${crate}_tools" "$tools_profile" --features tools
build_module "${crate}_bundle" "$bundle_profile" --no-default-features

# wasm-bindgen and wasm-opt for one module, skipped (tens of seconds) when it has not changed.
bindgen_module() { # module-name
  local module="$1" wasm="$out_dir/modules/$1.wasm" key
  key="$(sha256sum "$wasm" | cut -d' ' -f1) wasm-bindgen=$have wasm-opt=${WASM_OPT:-1}"
  if [ -f "$pkg/.build-key-$module" ] && [ "$(cat "$pkg/.build-key-$module")" = "$key" ] \
    && [ -f "$pkg/web/${module}_bg.wasm" ] && [ -f "$pkg/node/${module}_bg.wasm" ]; then
    log "$module unchanged: reusing pkg/ (delete bindings-wasm/pkg to force)"
    return
  fi
  rm -f "$pkg"/{node,web}/"${module}"{.js,.d.ts,_bg.wasm,_bg.wasm.d.ts} "$pkg/.build-key-$module"
  mkdir -p "$pkg/node" "$pkg/web"
  log "wasm-bindgen --target nodejs / web ($module)"
  wasm-bindgen --target nodejs --out-dir "$pkg/node" --remove-name-section --remove-producers-section "$wasm"
  wasm-bindgen --target web --out-dir "$pkg/web" --remove-name-section --remove-producers-section "$wasm"
  wc -c < "$pkg/web/${module}_bg.wasm" > "$pkg/.bindgen-size-$module"

  # wasm-opt from the npm package `binaryen` (pinned in package-lock.json). Debian's binaryen
  # 108 is too old: it rewrites the externref table that wasm-bindgen's glue fills, and the
  # module then fails to instantiate ("function-typed object must be null").
  local wasm_opt="$here/node_modules/.bin/wasm-opt"
  if [ "${WASM_OPT:-1}" != "0" ] && [ -x "$wasm_opt" ]; then
    log "wasm-opt -Oz ($module; $("$wasm_opt" --version))"
    "$wasm_opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-reference-types \
      "$pkg/web/${module}_bg.wasm" -o "$pkg/web/${module}_bg.wasm.opt"
    mv "$pkg/web/${module}_bg.wasm.opt" "$pkg/web/${module}_bg.wasm"
    cp "$pkg/web/${module}_bg.wasm" "$pkg/node/${module}_bg.wasm"
  else
    log "wasm-opt skipped (WASM_OPT=0, or npm ci not run in bindings-wasm)"
  fi
  printf '%s\n' "$key" > "$pkg/.build-key-$module"
}
mkdir -p "$pkg"
bindgen_module "$crate"
bindgen_module "${crate}_tools"
bindgen_module "${crate}_bundle"

# Entry points and the PolicyError class (see src/lib.rs).
printf '{"type": "commonjs"}\n' > "$pkg/node/package.json"
cp "$here/js/policy-error.cjs" "$pkg/node/policy-error.js"
cp "$here/js/policy-error.d.ts" "$pkg/node/policy-error.d.ts"
cp "$here/js/node-index.mjs" "$pkg/node/index.mjs"
cp "$here/js/node-index.cjs" "$pkg/node/index.cjs"
cp "$here/js/node-index.d.ts" "$pkg/node/index.d.ts"
cp "$here/js/node-tools.mjs" "$pkg/node/tools.mjs"
cp "$here/js/node-tools.cjs" "$pkg/node/tools.cjs"
cp "$here/js/node-tools.d.ts" "$pkg/node/tools.d.ts"
cp "$here/js/policy-error.mjs" "$pkg/web/policy-error.js"
# codec.js (the decoder of decisions and the packer of requests, imported by the glue): ES
# module for the web, the same code as CommonJS for Node (`export` dropped, module.exports).
cp "$here/js/codec.js" "$pkg/web/codec.js"
{
  printf '"use strict";\n'
  sed 's/^export function /function /' "$here/js/codec.js"
  printf 'module.exports = { decodeValue, packRequest, packRequests };\n'
} > "$pkg/node/codec.js"
cp "$here/js/policy-error.d.ts" "$pkg/web/policy-error.d.ts"
cp "$here/js/web-index.js" "$pkg/web/index.js"
cp "$here/js/web-index.d.ts" "$pkg/web/index.d.ts"
cp "$here/js/web-tools.js" "$pkg/web/tools.js"
cp "$here/js/web-tools.d.ts" "$pkg/web/tools.d.ts"
cp "$here/js/node-bundle.mjs" "$pkg/node/bundle.mjs"
cp "$here/js/node-bundle.cjs" "$pkg/node/bundle.cjs"
cp "$here/js/node-bundle.d.ts" "$pkg/node/bundle.d.ts"
cp "$here/js/web-bundle.js" "$pkg/web/bundle.js"
cp "$here/js/web-bundle.d.ts" "$pkg/web/bundle.d.ts"

# size.json: the engine module's sizes at the top level (what the main entry downloads),
# the tools module's under "tools", the bundle module's under "bundle".
sizes() { # module-name
  local module="$1"
  printf '{"cargo": %d, "bindgen": %d, "raw": %d, "gzip": %d}' \
    "$(wc -c < "$out_dir/modules/$module.wasm")" "$(cat "$pkg/.bindgen-size-$module")" \
    "$(wc -c < "$pkg/web/${module}_bg.wasm")" "$(gzip -9 -c "$pkg/web/${module}_bg.wasm" | wc -c)"
}
engine_sizes="$(sizes "$crate")"
tools_sizes="$(sizes "${crate}_tools")"
bundle_sizes="$(sizes "${crate}_bundle")"
printf '%s, "tools": %s, "bundle": %s}\n' "${engine_sizes%\}}" "$tools_sizes" "$bundle_sizes" > "$pkg/size.json"
log "sizes (bytes; gzip -9): $(cat "$pkg/size.json")"
