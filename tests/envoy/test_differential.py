"""Differential test: Envoy's own RBAC filter vs the egress-policy wasm filter.

Random AuthorizationPolicies from the subset that maps 1:1 onto Envoy RBAC (rbacgen.py)
are loaded twice into one Envoy: as the RBAC filters istiod would generate, and as YAML for
the egress-policy filter. The same random requests go through both listeners; allow/deny
(and the denial body) must be identical. The library (`egress-policy eval`, on the raw
request) must agree as well, and says which side is wrong when they disagree.

Environment: DIFF_SEED (default 20261122), DIFF_SETS (policy sets, default 40),
DIFF_REQUESTS (requests per set, default 60).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import unittest
from pathlib import Path

import envoyconf as conf
import rbacgen
from harness import Client, Envoy, cli_eval, wasm_module

SEED = int(os.environ.get("DIFF_SEED", "20261122"))
SETS = int(os.environ.get("DIFF_SETS", "40"))
PER_SET = int(os.environ.get("DIFF_REQUESTS", "60"))
MINIMUM = int(os.environ.get("DIFF_MINIMUM", "2000"))


class RbacDifferential(unittest.TestCase):
    def test_wasm_filter_agrees_with_envoy_rbac(self) -> None:
        wasm = wasm_module()
        if not wasm.exists():
            self.skipTest(f"{wasm} not built (scripts/test-envoy.sh builds it)")
        rng = random.Random(SEED)
        sets = [
            (rbacgen.random_policies(rng, i), [rbacgen.random_request(rng) for _ in range(PER_SET)])
            for i in range(SETS)
        ]
        with tempfile.TemporaryDirectory(prefix="envoy-diff-") as tmp:
            work = Path(tmp)
            listeners = []
            for i, (policies, _) in enumerate(sets):
                files = {f"p{j}.json": json.dumps(p, indent=1) for j, p in enumerate(policies)}
                policy_dir = work / f"set{i}"
                policy_dir.mkdir()
                for name, text in files.items():
                    (policy_dir / name).write_text(text)
                listeners.append(conf.listener(f"rbac-{i}", rbacgen.rbac_filters(policies), upstream=None))
                configuration = conf.plugin_configuration(files, workload=rbacgen.WORKLOAD)
                listeners.append(
                    conf.listener(
                        f"wasm-{i}", [conf.wasm_filter(configuration, wasm, name=f"diff-{i}")], upstream=None
                    )
                )
            started = time.monotonic()
            compared = allowed = 0
            mismatches: list[str] = []
            with Envoy(conf.bootstrap(listeners, []), work, "envoy-diff") as envoy:
                for i, (policies, requests) in enumerate(sets):
                    rbac = Client(envoy.ports[f"rbac-{i}"])
                    filt = Client(envoy.ports[f"wasm-{i}"])
                    library = cli_eval([work / f"set{i}"], [r.as_json() for r in requests])
                    for request, decision in zip(requests, library, strict=True):
                        a = rbac.request(request.method, request.path, request.host, request.headers())
                        b = filt.request(request.method, request.path, request.host, request.headers())
                        compared += 1
                        allowed += a.status == 200
                        # The library sees the raw request (Envoy normalises the path for
                        # both filters): agreement also pins the core's path normalisation
                        # to Envoy's normalize_path.
                        if (a.status, a.body) != (b.status, b.body) or (a.status == 200) != decision["allowed"]:
                            mismatches.append(
                                f"set {i} {request}: envoy-rbac {a.status} {a.body!r}, egress-policy filter "
                                f"{b.status} {b.body!r} ({b.headers.get('x-egress-reason')}), library "
                                f"{decision['status']} {decision['reason']}\n  policies: {json.dumps(policies)}"
                            )
                    rbac.close()
                    filt.close()
            elapsed = time.monotonic() - started
        print(
            f"\ndifferential (seed {SEED}): {compared} requests compared through Envoy RBAC and the "
            f"egress-policy wasm filter ({allowed} allowed, {compared - allowed} denied), "
            f"{len(mismatches)} mismatches, {elapsed:.1f}s",
            file=sys.stderr,
        )
        self.assertEqual(mismatches[:5], [], f"{len(mismatches)} mismatches")
        self.assertGreaterEqual(compared, min(MINIMUM, SETS * PER_SET))
        # Both outcomes must be well represented, or the comparison proves little.
        self.assertGreater(allowed, compared // 10)
        self.assertGreater(compared - allowed, compared // 10)


if __name__ == "__main__":
    unittest.main()
