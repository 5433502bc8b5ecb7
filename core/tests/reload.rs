//! Hot reload under load: reader threads decide through a [`Reloader`] while the main thread
//! alternates good and bad policy directories. Every decision ever observed is the answer of
//! the engine of its generation; a bad update never replaces a good engine; the generation
//! only increases, and only on success.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use egress_policy::request::Workload;
use egress_policy::{Decision, Engine, Error, Reloader, Request};

/// Policy A allows only GET, policy B only POST (same name, so the deciding policy is the
/// same and only the verdicts differ).
fn policy(method: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: methods, namespace: istio-egress}}\nspec:\n  rules:\n  - to: [{{operation: {{methods: [\"{method}\"]}}}}]\n"
    )
}

/// A scratch directory for this test run (removed at the end).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("egress-policy-reload-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn dir(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn requests() -> Vec<Request> {
    ["GET", "POST", "PUT", "get"]
        .iter()
        .map(|method| Request {
            workload: Some(Workload {
                namespace: "istio-egress".into(),
                labels: Default::default(),
            }),
            host: Some("httpbin.org".into()),
            method: Some((*method).into()),
            path: Some("/anything".into()),
            ..Request::default()
        })
        .collect()
}

fn answers(dir: &Path, requests: &[Request]) -> Vec<Decision> {
    let engine = Engine::from_paths(&[dir]).unwrap();
    requests.iter().map(|r| engine.decide(r)).collect()
}

#[test]
fn readers_only_ever_see_good_engines() {
    let scratch = Scratch::new();
    let good_a = scratch.dir("good-a", &[("policy.yaml", &policy("GET"))]);
    let good_b = scratch.dir("good-b", &[("policy.yaml", &policy("POST"))]);
    let broken_yaml = scratch.dir(
        "bad-yaml",
        &[(
            "policy.yaml",
            "kind: AuthorizationPolicy\nspec: [unclosed\n",
        )],
    );
    let unknown_field = scratch.dir(
        "bad-field",
        &[
            ("a.yaml", &policy("GET")),
            ("b.yaml", &policy("POST").replace("rules:", "rulez:")),
        ],
    );
    let missing = scratch.0.join("does-not-exist");
    let bad: [&Path; 3] = [&broken_yaml, &unknown_field, &missing];

    let requests = requests();
    let expect_a = answers(&good_a, &requests);
    let expect_b = answers(&good_b, &requests);
    assert_ne!(
        expect_a, expect_b,
        "the two good engines must be told apart"
    );
    assert!(expect_a[0].allowed && !expect_a[1].allowed);
    assert!(!expect_b[0].allowed && expect_b[1].allowed);
    // Generation g serves A when g is even (A at 0, B at 1, A at 2, …).
    let expected = |generation: u64| {
        if generation.is_multiple_of(2) {
            &expect_a
        } else {
            &expect_b
        }
    };

    let reloader = Reloader::new(Engine::from_paths(&[&good_a]).unwrap());
    let stop = AtomicBool::new(false);
    let observed = AtomicU64::new(0);
    let generations_seen = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_millis(1500);

    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut last_generation = 0;
                    let mut seen = 0u64;
                    let mut distinct = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let (engine, generation) = reloader.current_with_generation();
                        assert!(
                            generation >= last_generation,
                            "generation went back: {last_generation} -> {generation}"
                        );
                        if generation != last_generation || seen == 0 {
                            distinct += 1;
                        }
                        last_generation = generation;
                        let want = expected(generation);
                        for (request, want) in requests.iter().zip(want) {
                            assert_eq!(&engine.decide(request), want, "generation {generation}");
                        }
                        // The convenience path answers like one of the good engines.
                        let d = reloader.decide(&requests[0]);
                        assert!(d == expect_a[0] || d == expect_b[0], "{d:?}");
                        seen += 1;
                    }
                    observed.fetch_add(seen, Ordering::Relaxed);
                    generations_seen.fetch_add(distinct, Ordering::Relaxed);
                    last_generation
                })
            })
            .collect();

        let mut generation = 0;
        let mut swaps = 0;
        while Instant::now() < deadline || swaps < 10 {
            // A bad update first: rejected, nothing changes.
            let path = bad[swaps % bad.len()];
            match reloader.reload_from_paths(&[path]) {
                Err(Error::Invalid(diagnostics)) => {
                    assert!(diagnostics.iter().any(|d| d.is_error()));
                }
                Err(Error::Io { .. }) => assert_eq!(path, missing.as_path()),
                Err(other) => panic!("unexpected error: {other}"),
                Ok(outcome) => panic!("{} loaded: {outcome:?}", path.display()),
            }
            assert_eq!(reloader.generation(), generation, "a failed reload counted");
            let current = reloader.current();
            for (request, want) in requests.iter().zip(expected(generation)) {
                assert_eq!(
                    &current.decide(request),
                    want,
                    "a bad update replaced the engine"
                );
            }
            // Then the other good one.
            let next = if generation.is_multiple_of(2) {
                &good_b
            } else {
                &good_a
            };
            let outcome = reloader.reload_from_paths(&[next]).unwrap();
            assert_eq!(outcome.generation, generation + 1);
            assert_eq!(outcome.rules, 1);
            assert!(outcome.warnings.is_empty());
            generation = outcome.generation;
            assert_eq!(reloader.generation(), generation);
            swaps += 1;
            std::thread::yield_now();
        }
        // `swap` counts too.
        let engine = Engine::from_paths(&[if generation.is_multiple_of(2) {
            &good_b
        } else {
            &good_a
        }])
        .unwrap();
        generation = reloader.swap(engine);
        assert_eq!(reloader.generation(), generation);
        std::thread::sleep(Duration::from_millis(20));

        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            let last = reader.join().unwrap();
            assert!(last <= generation);
        }
        assert!(swaps >= 10, "{swaps} swaps");
        eprintln!(
            "{swaps} good and {swaps} bad reloads; readers checked {} snapshots over {} generation changes",
            observed.load(Ordering::Relaxed),
            generations_seen.load(Ordering::Relaxed)
        );
    });
    assert!(
        observed.load(Ordering::Relaxed) > 0,
        "the readers decided nothing"
    );
    // The readers raced the swaps: together they saw more generations than the readers.
    assert!(generations_seen.load(Ordering::Relaxed) > 3);
}
