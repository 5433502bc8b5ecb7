"""One engine shared by threads; engines and decisions survive pickling."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import egress_policy
from conftest import POLICIES, PRODUCTPAGE, REVIEWS
from egress_policy import Engine

REQUESTS = [
    {"source": {"principal": PRODUCTPAGE}, "method": "GET", "url": "http://httpbin.org/get"},
    {"source": {"principal": PRODUCTPAGE}, "method": "POST", "url": "http://httpbin.org/post"},
    {"source": {"principal": REVIEWS}, "method": "GET", "url": "http://httpbin.org/get"},
    {"source": {"principal": PRODUCTPAGE}, "method": "GET", "url": "http://www.google.com/"},
]


def test_engine_shared_across_threads(gloo: Engine) -> None:
    expected = [gloo.check(r).to_dict() for r in REQUESTS]
    barrier = threading.Barrier(8)

    def work(n: int) -> list[dict[str, object]]:
        barrier.wait(timeout=30)
        out = []
        for i in range(500):
            request = REQUESTS[(n + i) % len(REQUESTS)]
            out.append(gloo.check(request).to_dict())
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8), timeout=120))
    for n, result in enumerate(results):
        for i, decision in enumerate(result):
            assert decision == expected[(n + i) % len(REQUESTS)]


def test_check_many_from_threads(gloo: Engine) -> None:
    batch = REQUESTS * 3000
    expected = [gloo.check(r) for r in REQUESTS] * 3000
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: gloo.check_many(batch), range(4), timeout=120))
    assert all(r == expected for r in results)


def test_engine_pickles_as_its_sources(tmp_path: Path) -> None:
    # Load from a copy so that deleting the files proves the pickle carries the texts.
    source = POLICIES / "gloo"
    for file in source.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    engine = Engine.from_paths(tmp_path)
    data = pickle.dumps(engine)
    for file in tmp_path.iterdir():
        file.unlink()
    copy = pickle.loads(data)
    assert isinstance(copy, Engine)
    assert copy.sources == engine.sources
    assert [copy.check(r) for r in REQUESTS] == [engine.check(r) for r in REQUESTS]
    assert repr(copy) == repr(engine)


def test_engine_pickles_with_every_protocol(istio_waypoint: Engine) -> None:
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(istio_waypoint, protocol=protocol))
        assert copy.check(REQUESTS[0]) == istio_waypoint.check(REQUESTS[0])


def test_results_pickle(istio_waypoint: Engine) -> None:
    decision = istio_waypoint.check(REQUESTS[0])
    assert pickle.loads(pickle.dumps(decision)) == decision
    policy = decision.policy
    assert policy is not None
    assert pickle.loads(pickle.dumps(policy)) == policy


def test_engine_in_a_process_pool() -> None:
    # Pickling is what multiprocessing needs; spawn a real worker once.
    import multiprocessing

    engine = Engine.from_paths(POLICIES / "istio-waypoint")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        remote = pool.apply_async(_decide_remotely, (engine, REQUESTS[0])).get(timeout=120)
    assert remote == engine.check(REQUESTS[0]).to_dict()


def _decide_remotely(engine: egress_policy.Engine, request: dict[str, object]) -> dict[str, object]:
    return engine.check(request).to_dict()
