//! The server binary: refuses configurations that enforce nothing, and exits 0 on SIGTERM
//! after draining.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_egress-policy-ext-authz");
const POLICIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/istio-waypoint-tls"
);

#[cfg(test)]
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .args([
            "--grpc",
            "127.0.0.1:0",
            "--metrics",
            "off",
            "--poll-ms",
            "0",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_server_that_would_enforce_nothing_refuses_to_start() {
    // No workload at all: the server would not know which proxy it decides for.
    let (code, err) = run(&["--policy", POLICIES]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--workload"), "{err}");
    // A workload where no policy attaches (a typo in the gateway name).
    let (code, err) = run(&[
        "--policy",
        POLICIES,
        "--workload",
        "istio-egress/egress-waypiont",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("enforces_nothing"), "{err}");
    assert!(err.contains("no policy attaches"), "{err}");
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let dir = std::env::temp_dir().join(format!("ext-authz-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ready = dir.join("ready.json");
    let mut child = Command::new(BIN)
        .args([
            "--policy",
            POLICIES,
            "--workload",
            "istio-egress/egress-waypoint",
        ])
        .args([
            "--grpc",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--drain-ms",
            "2000",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "not ready");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut err);
    }
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("shutting down"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
