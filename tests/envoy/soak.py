"""Soak test of the ext_authz server: sustained load while the policy files change every
second, good or bad at random. Not part of the test command (it runs for minutes):

    cargo build --release -p egress-policy-ext-authz -p egress-policy-cli
    EGRESS_PROFILE=release python3 tests/envoy/soak.py --seconds 600

Checks, and exits 1 if any fails:
* RSS flat: after the warm-up (the first fifth), the server's resident memory never exceeds
  the level at the end of the warm-up by more than 5 %;
* reloads counted exactly: `egress_policy_reloads_total` has one success per good write and
  one failure per bad write (a file cut in the middle, as a writer that stopped half-way
  leaves it); each write is one change (temporary file + rename, as kubelet updates a
  ConfigMap) so that the count is exact — a file caught while being written in place is
  rejected too, and counted (tests/reload.rs);
* no decision from a half-loaded set: every good write is the same policy set (a comment
  differs), so every answer of the run must be the same per request (the load generator's
  `inconsistent` is 0), and none is an error.
Prints one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envoyconf import WORKLOADS
from harness import ExtAuthz, loadgen_binary, replace_file
from scenarios import scenario_dir

SCENARIO = "istio-waypoint-tls"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = Path(tmp)
        policies = work / "policies"
        shutil.copytree(scenario_dir(SCENARIO), policies)
        authz = policies / "httpbin-authz.yaml"
        good = authz.read_text()
        requests = work / "requests.jsonl"
        requests.write_text((scenario_dir(SCENARIO) / "demo.jsonl").read_text())
        server = ExtAuthz(
            [policies],
            work,
            "soak",
            ["--workload", WORKLOADS[SCENARIO], "--debounce-ms", "100", "--poll-ms", "1000"],
        ).start()
        try:
            load = subprocess.Popen(
                [
                    str(loadgen_binary()),
                    "--target",
                    f"127.0.0.1:{server.port}",
                    "--requests",
                    str(requests),
                    "--streams",
                    str(args.streams),
                    "--connections",
                    "2",
                    "--duration-secs",
                    str(args.seconds),
                    "--warmup-secs",
                    "0",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            goods = bads = 0
            samples: list[tuple[float, int]] = []
            start = time.monotonic()
            n = 0
            while time.monotonic() - start < args.seconds:
                n += 1
                if rng.random() < 0.5:
                    replace_file(authz, good + f"# revision {n}\n")
                    goods += 1
                else:
                    cut = rng.randrange(good.index("rules:"), len(good) - 2)
                    replace_file(authz, good[:cut] + "\n  - to: [{operation: {methods: [\n")
                    bads += 1
                time.sleep(1.0)
                samples.append((time.monotonic() - start, rss_kib(server.proc.pid)))  # type: ignore[union-attr]
            time.sleep(2.5)
            successes = server.metric('egress_policy_reloads_total{result="success",kind="ok"}')
            failures = sum(
                float(line.rsplit(" ", 1)[1])
                for line in server.metrics_text().splitlines()
                if line.startswith('egress_policy_reloads_total{result="failure"')
            )
            out, err = load.communicate(timeout=120)
        finally:
            server.stop()
        report = json.loads(out) if out.strip() else {"error": err}
        warm = [rss for t, rss in samples if t <= args.seconds / 5]
        after = [rss for t, rss in samples if t > args.seconds / 5]
        baseline = warm[-1] if warm else 0
        peak = max(after) if after else 0
        growth = (peak - baseline) / baseline if baseline else 0.0
        summary = {
            "seconds": args.seconds,
            "good_writes": goods,
            "bad_writes": bads,
            "reload_successes": successes,
            "reload_failures": failures,
            "rss_kib_after_warmup": baseline,
            "rss_kib_peak_after": peak,
            "rss_kib_end": samples[-1][1] if samples else 0,
            "rss_growth": round(growth, 4),
            "checks": report.get("checks"),
            "checks_per_second": report.get("checks_per_second"),
            "errors": report.get("errors"),
            "inconsistent": report.get("inconsistent"),
            "p99_us": report.get("p99_us"),
        }
        print(json.dumps(summary))
        ok = (
            successes == goods
            and failures == bads
            and growth <= 0.05
            and report.get("errors") == 0
            and report.get("inconsistent") == 0
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
