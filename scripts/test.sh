#!/usr/bin/env bash
# The project's gate, what CI runs (.ci/run): set up what is missing, then formatting,
# lints, every Rust test, the wasm32 builds of the core, the Python package, the WASM
# package and simulator (Node + headless Chromium), the Envoy integration, replay and
# suggest as Spark jobs in local mode, and a short fuzz run. Exits non-zero on the first
# failing step.
#
#   scripts/test.sh                  # everything
#   TEST_ONLY="rust python" scripts/test.sh   # a subset of: rust wasm32 python wasm envoy spark fuzz
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# The gate builds from scratch more often than not: incremental caches would only take disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

stages="${TEST_ONLY:-rust wasm32 python wasm envoy spark fuzz}"
wants() { case " $stages " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
disk_free() { df -h "$root" 2>/dev/null | awk 'NR==2 {print $4 " free"}'; }
target_size() { du -sh "$CARGO_TARGET_DIR" 2>/dev/null | awk '{print "target " $1}'; }
step() { printf '\n==> %s  [%s, %s, %s]\n' "$*" "$(date +%H:%M:%S)" "$(disk_free)" "$(target_size)"; }

step "setup (idempotent)"
scripts/setup.sh

if wants rust; then
  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "cargo clippy (all targets, warnings are errors)"
  cargo clippy --workspace --all-targets -- -D warnings
  # The WASM engine module builds the core without `regex-perf`; the WASM bundle module
  # without any default feature (no `yaml`: no YAML stack, no importers).
  cargo clippy -p egress-policy --no-default-features --lib -- -D warnings
  cargo check -p egress-policy --no-default-features --features yaml

  # Build every target once; `cargo test` then reuses these artifacts.
  step "cargo build (all targets)"
  cargo build --workspace --all-targets

  step "cargo test (unit, integration, differential 120k, doc tests)"
  cargo test --workspace

  # The core's API docs: a broken or private intra-doc link fails the build.
  step "cargo doc (the core library, warnings are errors)"
  RUSTDOCFLAGS="-D warnings" cargo doc -p egress-policy --no-deps
fi

if wants wasm32; then
  step "core builds for wasm32-unknown-unknown and wasm32-wasip1 without wasm-bindgen"
  scripts/check-wasm.sh
fi

if wants python; then
  step "Python package: pip install, pytest -W error, mypy --strict, stubtest, mitmproxy"
  scripts/test-python.sh
fi

if wants wasm && [ -x scripts/test-wasm.sh ]; then
  step "WASM package: build, node --test, tsc, simulator in headless Chromium"
  scripts/test-wasm.sh
fi

if wants envoy && [ -x scripts/test-envoy.sh ]; then
  step "Envoy: wasm filter and ext_authz against a real Envoy, RBAC differential"
  scripts/test-envoy.sh
fi

if wants spark; then
  step "Spark: egress_policy.spark replay + suggest in local mode on 1 M generated lines = single process"
  scripts/test-spark.sh
fi

if wants fuzz; then
  step "fuzz smoke: import + decide, ${FUZZ_SECONDS:-20} s each"
  scripts/fuzz-smoke.sh
fi

step "all checks passed"
