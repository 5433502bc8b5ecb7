//! Reload faults: each bad policy set is rejected with its reason in the metrics, and the
//! previous engine keeps serving (the test-mode generation header proves which engine
//! answered).

#[cfg(test)]
mod common;

use std::path::Path;

use common::{check, eventually, outcome, scenario_copy, start, Options, PRODUCTPAGE};

#[cfg(test)]
fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_rejected_and_the_previous_engine_serves() {
    let dir = scenario_copy("istio-waypoint-tls", "reload");
    let policies = dir.join("policies");
    let backup = dir.join("backup");
    copy_dir(&policies, &backup);
    let server = start(&dir, Options::default()).await;
    let mut client = server.client().await;
    let authz = policies.join("httpbin-authz.yaml");
    let good = std::fs::read_to_string(&authz).unwrap();
    let mut generation = 0u64;
    let mut failures = 0u64;

    type Fault = (&'static str, Box<dyn Fn(&Path)>);
    let faults: Vec<Fault> = vec![
        (
            "invalid",
            // Half-written: the writer stopped in the middle of a flow sequence.
            Box::new(|p: &Path| {
                let text = std::fs::read_to_string(p.join("httpbin-authz.yaml")).unwrap();
                let cut = text.find("methods:").unwrap() + 14;
                std::fs::write(p.join("httpbin-authz.yaml"), text.get(..cut).unwrap()).unwrap();
            }),
        ),
        (
            "not_found",
            Box::new(|p: &Path| std::fs::remove_dir_all(p).unwrap()),
        ),
        (
            "too_large",
            Box::new(|p: &Path| {
                let comment = format!("# {}\n", "x".repeat(1000));
                std::fs::write(p.join("padding.yaml"), comment.repeat(2000)).unwrap();
            }),
        ),
        (
            "enforces_nothing",
            Box::new(|p: &Path| {
                let text = std::fs::read_to_string(p.join("httpbin-authz.yaml")).unwrap();
                let moved = text.replace("name: egress-waypoint", "name: another-waypoint");
                assert_ne!(text, moved);
                std::fs::write(p.join("httpbin-authz.yaml"), moved).unwrap();
            }),
        ),
        (
            "permission",
            Box::new(|p: &Path| {
                use std::os::unix::fs::PermissionsExt;
                let file = p.join("httpbin-authz.yaml");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
            }),
        ),
    ];
    for (kind, fault) in faults {
        fault(&policies);
        if kind == "permission" && std::fs::read(&authz).is_ok() {
            // Running as root: permissions do not stop reads; nothing to reject.
            eprintln!("skipping the permission fault: files stay readable (root)");
            let _ = std::fs::remove_dir_all(&policies);
            copy_dir(&backup, &policies);
            generation += 1;
            eventually("the restore", || {
                server.state.reloader.generation() >= generation
            })
            .await;
            generation = server.state.reloader.generation();
            continue;
        }
        failures += 1;
        // The watcher may look at one change twice (a notification and its poll), and a
        // reload already under way may finish with the set from before the fault: wait for
        // the rejection to be both counted and the last word.
        eventually(&format!("the {kind} rejection"), || {
            let text = server.metrics_text();
            metric(
                &text,
                &format!("egress_policy_reloads_total{{result=\"failure\",kind=\"{kind}\"}}"),
            ) >= 1
                && text.contains(&format!("egress_policy_last_reload_error{{kind=\"{kind}\""))
        })
        .await;
        generation = server.state.reloader.generation();
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
        assert_eq!(
            outcome(&answer),
            (200, String::new(), generation.to_string()),
            "{kind}: the previous engine answers"
        );
        // Restore the good set: generation + 1.
        let _ = std::fs::remove_dir_all(&policies);
        copy_dir(&backup, &policies);
        generation += 1;
        eventually(&format!("the restore after {kind}"), || {
            server.state.reloader.generation() >= generation
        })
        .await;
        // Let the watcher settle (its poll may still reload the restored set once, from a
        // snapshot taken mid-restore) before the next fault, so that no late success of the
        // good set lands between a fault's rejection and the checks of its metrics.
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        generation = server.state.reloader.generation();
    }
    let text = server.metrics_text();
    let total: u64 = text
        .lines()
        .filter(|l| l.starts_with("egress_policy_reloads_total{result=\"failure\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        total >= failures,
        "every fault counted: {total} < {failures}\n{text}"
    );
    assert_eq!(
        metric(
            &text,
            "egress_policy_reloads_total{result=\"success\",kind=\"ok\"}"
        ),
        generation
    );
    assert!(!text.contains("egress_policy_last_reload_error{"), "{text}");
    // A POST stays denied throughout: the allow list never changed.
    let answer = client
        .check(check(
            "POST",
            "httpbin.org",
            "/post",
            &[("x-egress-source", PRODUCTPAGE)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcome(&answer).0, 403);
    assert_eq!(good, std::fs::read_to_string(&authz).unwrap());
}
