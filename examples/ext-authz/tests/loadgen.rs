//! The load generator against the in-process server: every answer consistent, and
//! `--rate` holds the checks to the schedule.

#[cfg(test)]
mod common;

use common::{scenario_copy, start, Options, ROOT};

#[cfg(test)]
fn loadgen(target: std::net::SocketAddr, extra: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_egress-policy-loadgen"))
        .args(["--target", &target.to_string(), "--requests"])
        .arg(format!(
            "{ROOT}/examples/policies/istio-waypoint-tls/demo.jsonl"
        ))
        .args([
            "--streams",
            "8",
            "--connections",
            "2",
            "--warmup-secs",
            "0.2",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generator_answers_consistently_and_keeps_to_the_rate() {
    let dir = scenario_copy("istio-waypoint-tls", "loadgen");
    let mut server = start(&dir, Options::default()).await;
    let grpc = server.grpc;
    let (free, paced) = tokio::task::spawn_blocking(move || {
        (
            loadgen(grpc, &["--duration-secs", "1"]),
            loadgen(grpc, &["--duration-secs", "2", "--rate", "400"]),
        )
    })
    .await
    .unwrap();
    for report in [&free, &paced] {
        assert_eq!(report["errors"], 0, "{report}");
        assert_eq!(report["inconsistent"], 0, "{report}");
        // Every demo request answered, allowed and denied ones.
        let requests = report["requests"].as_array().unwrap();
        assert!(
            requests.iter().all(|r| r["count"].as_u64() > Some(0)),
            "{report}"
        );
        assert!(requests.iter().any(|r| r["status"] == 200), "{report}");
        assert!(requests.iter().any(|r| r["status"] == 403), "{report}");
    }
    // 400 checks/s for 2 s (after 0.2 s of warm-up): 800 measured, give or take the edges.
    let checks = paced["checks"].as_u64().unwrap();
    assert!((760..=840).contains(&checks), "{paced}");
    assert_eq!(paced["rate"], 400.0);
    server.shutdown().await.unwrap();
}
