#!/usr/bin/env bash
# Builds the release binary once and runs the seed scenarios under examples/policies:
# for each scenario, which requests leave the mesh, with status, reason, deciding policy and
# route. Extra arguments go to `egress-policy demo` (for example `--policies DIR`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release --quiet -p egress-policy-cli --bin egress-policy
binary="${CARGO_TARGET_DIR:-${root}/target}/release/egress-policy"

if [ "$#" -eq 0 ]; then
  set -- --policies examples/policies
fi
exec "$binary" demo "$@"
