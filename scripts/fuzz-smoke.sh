#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz targets under fuzz/ (nightly) and runs each for a
# bounded time. Fails on any crash, panic, leak or timeout libFuzzer reports; the input that
# triggered it is left under fuzz/artifacts/<target>/.
#
#   scripts/fuzz-smoke.sh                 # every target, 20 s each
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh decide
#
# Needs the nightly toolchain (`cargo fuzz` passes -Z flags) and cargo-fuzz, which is
# installed with `cargo install cargo-fuzz --locked` when missing (~80 s).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(import decide)
fi

step() { printf '\n==> %s\n' "$*"; }

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  step "rustup toolchain install nightly --profile minimal"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  step "cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked
fi

step "cargo +nightly fuzz build (${targets[*]})"
for target in "${targets[@]}"; do
  cargo +nightly fuzz build "$target"
done

for target in "${targets[@]}"; do
  corpus="fuzz/corpus/${target}"
  extra=()
  if [ "$target" = import ]; then
    extra=(-dict=fuzz/import.dict)
    # Seed a fresh corpus: each scenario as one input (its files joined with NUL bytes, which
    # the target splits at), and the bad inputs except the alias bomb, which only measures
    # the parser's node budget (seconds per run under the sanitizer).
    if [ ! -d "$corpus" ]; then
      mkdir -p "$corpus"
      for dir in examples/policies/*/; do
        name="$(basename "$dir")"
        for file in "$dir"*.yaml "$dir"*.json; do
          [ -f "$file" ] && { cat "$file"; printf '\0'; }
        done >"$corpus/scenario-${name}"
      done
      find tests/bad-input -type f \( -name '*.yaml' -o -name '*.json' \) \
        ! -name '*billion-laughs*' -exec cp {} "$corpus/" \;
    fi
  fi
  # `decide` builds its requests from the scenarios and the generated workloads itself.
  mkdir -p "$corpus"
  step "cargo +nightly fuzz run ${target} (${seconds} s)"
  # -max_len: policy files are small, larger inputs only slow the loop down.
  # -rss_limit_mb: the loader must stay within its budgets even on hostile input.
  cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}"
done

step "fuzz smoke passed: ${targets[*]}"
