#!/usr/bin/env bash
# Prepares a fresh machine of the project's kind (Debian, rustup stable preinstalled) to build
# and test egress-policy. Idempotent: re-running only does what is missing.
#
#   scripts/setup.sh                 # every component listed below
#   scripts/setup.sh rust python     # only these components
#
# Each component is a function `setup_<name>` below or a script `scripts/setup-<name>.sh`.
# Later work appends its component (python, wasm, chromium, ...) to `components`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

components=(rust python wasm envoy)

log() { printf '==> %s\n' "$*"; }

setup_rust() {
  command -v cargo >/dev/null || {
    echo "cargo not found: install the Rust toolchain with rustup first" >&2
    exit 1
  }
  if command -v rustup >/dev/null; then
    for component in rustfmt clippy; do
      if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        log "rustup component add ${component}"
        rustup component add "${component}"
      fi
    done
  fi
  log "cargo fetch"
  cargo fetch
}

if [ "$#" -gt 0 ]; then
  components=("$@")
fi

for component in "${components[@]}"; do
  log "setup: ${component}"
  if declare -F "setup_${component}" >/dev/null; then
    "setup_${component}"
  elif [ -x "${root}/scripts/setup-${component}.sh" ]; then
    "${root}/scripts/setup-${component}.sh"
  else
    echo "unknown setup component: ${component}" >&2
    exit 2
  fi
done
log "setup done"
