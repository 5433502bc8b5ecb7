//! gRPC health, metrics, and graceful shutdown of the in-process server.

#[cfg(test)]
mod common;

use std::time::{Duration, Instant};

use common::{check, eventually, outcome, scenario_copy, start, Options, PRODUCTPAGE};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

async fn health(channel: tonic::transport::Channel, service: &str) -> i32 {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;
const AUTHZ: &str = "envoy.service.auth.v3.Authorization";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_age_of_the_last_good_set() {
    let dir = scenario_copy("istio-waypoint-tls", "health");
    let mut server = start(
        &dir,
        Options {
            max_age: Some(Duration::from_millis(500)),
            ..Options::default()
        },
    )
    .await;
    let channel = server.channel().await;
    assert_eq!(health(channel.clone(), "").await, SERVING);
    assert_eq!(health(channel.clone(), AUTHZ).await, SERVING);
    let metrics = server.metrics_text();
    for needle in [
        "egress_policy_engine_generation 0",
        "egress_policy_rules_loaded ",
        "egress_policy_serving 1",
    ] {
        assert!(metrics.contains(needle), "{needle}:\n{metrics}");
    }
    // A broken update: rejected, and after the max age the server is NOT_SERVING (it
    // still answers with the last good set).
    let authz = dir.join("policies/httpbin-authz.yaml");
    let good = std::fs::read_to_string(&authz).unwrap();
    std::fs::write(
        &authz,
        good.replace("methods: [\"GET\"]", "methods: [\"\"]"),
    )
    .unwrap();
    let started = Instant::now();
    let mut status = SERVING;
    while status != NOT_SERVING {
        assert!(started.elapsed() < Duration::from_secs(10), "still SERVING");
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = health(channel.clone(), "").await;
    }
    assert!(started.elapsed() >= Duration::from_millis(500));
    let mut client = server.client().await;
    let answer = client
        .check(check(
            "GET",
            "httpbin.org",
            "/get",
            &[("x-egress-source", PRODUCTPAGE)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcome(&answer), (200, String::new(), "0".to_string()));
    // Fixed: SERVING again, generation 1.
    std::fs::write(&authz, &good).unwrap();
    let started = Instant::now();
    while health(channel.clone(), "").await != SERVING {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still NOT_SERVING"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually("generation 1 in the metrics", || {
        server
            .metrics_text()
            .contains("egress_policy_engine_generation 1")
    })
    .await;
    // Shutdown: NOT_SERVING, then the server returns within the drain bound.
    let started = Instant::now();
    server.shutdown().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// The names of this process's threads that serve gRPC connections.
fn serving_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.starts_with("ext-authz-"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_served_on_every_thread_and_the_port_closes_on_shutdown() {
    let dir = scenario_copy("istio-waypoint-tls", "threads");
    let mut server = start(&dir, Options::default()).await;
    // `workers: 2` (tests/common): two serving threads, each with its own runtime.
    assert!(
        serving_threads() >= 2,
        "{} serving threads",
        serving_threads()
    );
    // Four connections, handed round-robin to the threads, each with 32 checks in flight:
    // every check answered, each the same way.
    let mut calls = Vec::new();
    for _ in 0..4 {
        let client = server.client().await;
        for n in 0..32 {
            let mut client = client.clone();
            let path = if n % 2 == 0 { "/get" } else { "/post" };
            calls.push(tokio::spawn(async move {
                let answer = client
                    .check(check(
                        "GET",
                        "httpbin.org",
                        path,
                        &[("x-egress-source", PRODUCTPAGE)],
                    ))
                    .await
                    .unwrap()
                    .into_inner();
                (path, outcome(&answer))
            }));
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for call in calls {
        let (path, answer) = call.await.unwrap();
        assert_eq!(*seen.entry(path).or_insert_with(|| answer.clone()), answer);
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(seen["/get"], (200, String::new(), "0".to_string()));
    // Shutdown: the listening port closes (no thread keeps accepting).
    let grpc = server.grpc;
    server.shutdown().await.unwrap();
    assert!(
        std::net::TcpStream::connect(grpc).is_err(),
        "still accepting"
    );
}
