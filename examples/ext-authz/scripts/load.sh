#!/usr/bin/env bash
# The load benchmark of the README ("Load"): starts the release server on 127.0.0.1 with
# the TLS scenario, drives it with egress-policy-loadgen, prints the load average before
# the run and the report without its per-request list (CPU per check included), and stops
# the server by its PID.
#
#   examples/ext-authz/scripts/load.sh [SECONDS] [STREAMS] [CONNECTIONS] [loadgen args...]
#
# BIN (default: $CARGO_TARGET_DIR or target, /release) holds the two binaries; build them
# with `cargo build --release -p egress-policy-ext-authz --bins`. SERVER_ARGS are added to
# the server's command line (e.g. `--workers 1`).
set -euo pipefail
cd "$(dirname "$0")/../../.."
seconds=${1:-60}
streams=${2:-64}
connections=${3:-4}
shift $(($# < 3 ? $# : 3))
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release}
scenario=examples/policies/istio-waypoint-tls
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck disable=SC2086
setsid "$bin/egress-policy-ext-authz" --policy "$scenario" \
    --workload istio-egress/egress-waypoint --grpc 127.0.0.1:0 --metrics off \
    --ready-file "$work/ready.json" ${SERVER_ARGS:-} 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
target=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc"])' "$work/ready.json")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
status=0
"$bin/egress-policy-loadgen" --target "$target" --requests "$scenario/demo.jsonl" \
    --streams "$streams" --connections "$connections" --duration-secs "$seconds" \
    --server-pid "$server" "$@" >"$work/report.json" || status=$?
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r.get("cpu") or {}
print(f"{r['checks_per_second']:.0f} checks/s over {r['seconds']:.1f} s ({r['checks']} checks, "
      f"{r['streams']} streams, {r['connections']} connections), errors {r['errors']}, "
      f"answers that changed {r['inconsistent']}")
print(f"latency p50 {r['p50_us']/1000:.2f} ms, p90 {r['p90_us']/1000:.2f} ms, "
      f"p99 {r['p99_us']/1000:.2f} ms, max {r['max_us']/1000:.2f} ms")
if c:
    print(f"CPU per check: server {c.get('server_us_per_check') or 0:.1f} us, "
          f"loadgen {c['loadgen_us_per_check']:.1f} us, total {c.get('total_us_per_check') or 0:.1f} us")
PY
exit "$status"
