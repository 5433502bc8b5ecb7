#!/usr/bin/env bash
# The project's gate: formatting, lints, then every test of the workspace.
# Exits non-zero on the first failing step.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

# Build every target once; `cargo test` then reuses these artifacts.
step "cargo build (all targets)"
cargo build --workspace --all-targets

step "cargo test"
cargo test --workspace

step "all checks passed"
