//! `reach` and `diff` against brute force on generated workloads of 1 000 rules.
//!
//! The partition they are built on claims that every request is decided exactly like the
//! representative of its class. These tests hold it to that on many concrete requests
//! (generated accounts and unseen ones, registered and unseen hosts, explicit ports,
//! methods and paths the policies never mention), check that the reach report says exactly
//! what the enumerated classes say, and that random sampling finds no decision change that
//! `diff` misses after random mutations of the policies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation should stop the test with a message"
)]

use std::collections::{BTreeSet, HashMap};

use egress_policy::request::{RequestSource, Workload};
use egress_policy::tools::partition::{gateway_points, HostChoice, IdentityChoice};
use egress_policy::tools::{
    diff, reach_host, DecisionSummary, DiffOptions, Partition, Point, ReachOptions,
};
use egress_policy::workload::{generate, SplitMix64};
use egress_policy::{Engine, Request};

const RULES: usize = 1_000;
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
const PATHS: [&str; 12] = [
    "/api/v0/items",
    "/api/v1/items",
    "/api/v2/items",
    "/api/x/items",
    "/api/v1/items/x",
    "/api/a/b/items",
    "/api/",
    "/api",
    "/",
    "/miss/7",
    "/API/v1/items",
    "/api//items",
];

fn engine(files: &[(String, String)]) -> Engine {
    Engine::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).expect("loads")
}

fn principal(account: usize) -> String {
    format!("cluster.local/ns/ns-{}/sa/sa-{account}", account % 20)
}

/// Every `hosts` value written in the files.
fn hosts_in(files: &[(String, String)]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for (_, text) in files {
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("hosts: [\"") {
                for host in rest.trim_end_matches("\"]").split("\", \"") {
                    out.insert(host.to_string());
                }
            }
        }
    }
    out.into_iter().collect()
}

/// A concrete authority for a `hosts` value (wildcards instantiated), maybe with a port.
fn concrete(host: &str, rng: &mut SplitMix64) -> String {
    if let Some(base) = host.strip_suffix(":*") {
        return format!("{base}:{}", [80, 443, 8080][rng.below(3)]);
    }
    let base = match host.strip_prefix('*') {
        Some("") => format!("random-{}.example", rng.below(50)),
        Some(suffix) => format!("h{}{suffix}", rng.below(20)),
        None => host.to_string(),
    };
    match rng.below(10) {
        0 => format!("{base}:80"),
        1 => format!("{base}:8080"),
        2 => base.to_ascii_uppercase(),
        _ => base,
    }
}

fn random_request(
    rng: &mut SplitMix64,
    hosts: &[String],
    points: &[Point],
    hints: &[(String, String)],
) -> Request {
    let workload = points
        .get(rng.below(points.len() + 1))
        .and_then(|p| p.workload.clone());
    let (principal, host) = match (rng.below(100), hints.is_empty()) {
        (0..=39, false) => {
            let (p, h) = &hints[rng.below(hints.len())];
            (Some(p.clone()), concrete(h, rng))
        }
        _ => {
            let principal = match rng.below(20) {
                0 => None,
                1 => Some(format!(
                    "cluster.local/ns/ns-{}/sa/unseen-{}",
                    rng.below(25),
                    rng.below(5)
                )),
                2 => Some(format!(
                    "other.domain/ns/ns-{}/sa/sa-{}",
                    rng.below(20),
                    rng.below(100)
                )),
                _ => Some(principal(rng.below(RULES / 10))),
            };
            let host = if rng.chance(70) {
                concrete(&hosts[rng.below(hosts.len())], rng)
            } else {
                format!("svc-{}.ext-{}.com", rng.below(400), rng.below(6))
            };
            (principal, host)
        }
    };
    Request {
        source: RequestSource {
            principal,
            ..RequestSource::default()
        },
        workload,
        host: Some(host),
        method: Some(METHODS[rng.below(METHODS.len())].to_string()),
        path: Some(PATHS[rng.below(PATHS.len())].to_string()),
        ..Request::default()
    }
}

/// The request and its representative are decided alike by `engine`.
fn assert_same(engine: &Engine, request: &Request, representative: &Request, what: &str) {
    let a = DecisionSummary::of(engine, request);
    let b = DecisionSummary::of(engine, representative);
    assert_eq!(
        a,
        b,
        "{what}: request and its class representative are decided differently\nrequest: {}\nrepresentative: {}",
        serde_json::to_string(request).unwrap(),
        serde_json::to_string(representative).unwrap()
    );
}

#[test]
fn reach_agrees_with_brute_force_on_1000_rules() {
    let workload = generate(RULES, 7);
    let engine = engine(&workload.files);
    let model = engine.model();
    let partition = Partition::new(&[model]);
    let mut points = vec![Point::routed()];
    points.extend(gateway_points(&[model]));
    assert_eq!(points.len(), 5);
    let options = ReachOptions {
        points: points.clone(),
    };

    let mut rng = SplitMix64::new(99);
    let written = hosts_in(&workload.files);
    let mut hosts: Vec<String> = (0..8)
        .map(|_| concrete(&written[rng.below(written.len())], &mut rng))
        .collect();
    hosts.push("svc-999.ext-0.com".to_string());
    hosts.push("unknown.example".to_string());

    let mut identities: Vec<Option<String>> = (0..RULES / 10).map(|a| Some(principal(a))).collect();
    identities.push(None);
    identities.push(Some("cluster.local/ns/ns-3/sa/stranger".into()));
    identities.push(Some("spiffe://elsewhere/ns/ns-3/sa/sa-3".into()));

    let mut checked = 0usize;
    let mut allowed = 0usize;
    for host in &hosts {
        let report = reach_host(&engine, host, &options);
        // Every allowed class of the enumeration, as (point, identity, method, path).
        let mut cells: HashMap<(String, Option<String>, String, String), bool> = HashMap::new();
        let mut method_labels: HashMap<(String, Option<String>), BTreeSet<String>> = HashMap::new();
        let mut path_labels: HashMap<(String, Option<String>), BTreeSet<String>> = HashMap::new();
        let mut requests: Vec<Request> = Vec::new();
        for point in &points {
            partition.cells(point, HostChoice::Only(host), IdentityChoice::All, |cell| {
                let key = (cell.point.clone(), cell.identity.example.clone());
                method_labels
                    .entry(key.clone())
                    .or_default()
                    .insert(cell.method.label.clone());
                path_labels
                    .entry(key)
                    .or_default()
                    .insert(cell.path.label.clone());
                let ok = engine.decide(&cell.request).allowed;
                cells.insert(
                    (
                        cell.point.clone(),
                        cell.identity.example.clone(),
                        cell.method.label.clone(),
                        cell.path.label.clone(),
                    ),
                    ok,
                );
                requests.push(cell.request);
            });
        }
        assert_eq!(report.cells, cells.len(), "{host}");

        // The report lists exactly the allowed classes.
        let mut listed: BTreeSet<(String, Option<String>, String, String)> = BTreeSet::new();
        for entry in &report.entries {
            for identity in &entry.identities {
                let key = (entry.point.clone(), identity.example.clone());
                for access in &entry.access {
                    let methods: Vec<String> = if access.methods == ["any"] {
                        method_labels[&key].iter().cloned().collect()
                    } else {
                        access.methods.clone()
                    };
                    let paths: Vec<String> = if access.paths == ["any"] {
                        path_labels[&key].iter().cloned().collect()
                    } else {
                        access.paths.clone()
                    };
                    for m in &methods {
                        for p in &paths {
                            listed.insert((key.0.clone(), key.1.clone(), m.clone(), p.clone()));
                        }
                    }
                }
            }
        }
        let enumerated: BTreeSet<_> = cells
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(
            listed, enumerated,
            "reach report of {host} differs from its classes"
        );

        // Brute force: concrete requests decide like their class representative.
        for point in &points {
            for identity in &identities {
                for method in ["GET", "HEAD", "POST", "DELETE", "PATCH"] {
                    for path in PATHS.iter().take(8) {
                        let request = Request {
                            source: RequestSource {
                                principal: identity.clone(),
                                ..RequestSource::default()
                            },
                            workload: point.workload.clone(),
                            host: Some(host.clone()),
                            method: Some(method.to_string()),
                            path: Some(path.to_string()),
                            ..Request::default()
                        };
                        let Some(rep) = partition.representative(&request) else {
                            panic!("no class for {}", serde_json::to_string(&request).unwrap());
                        };
                        // The representative names the host class; the query named the host.
                        let mut same_host = rep.clone();
                        same_host.host = Some(host.clone());
                        assert!(
                            requests.contains(&same_host),
                            "the representative of {} is not an enumerated class",
                            serde_json::to_string(&request).unwrap()
                        );
                        assert_same(&engine, &request, &rep, host);
                        checked += 1;
                        allowed += usize::from(engine.decide(&request).allowed);
                    }
                }
            }
        }
    }
    assert!(checked > 50_000, "{checked}");
    assert!(
        allowed > 100,
        "the sample should contain allowed requests: {allowed}"
    );
}

/// One random edit of the generated YAML; returns a (principal, host) hint near the edit.
fn mutate(files: &mut [(String, String)], rng: &mut SplitMix64) -> Option<(String, String)> {
    let index = 1 + rng.below(files.len() - 1);
    let (_, text) = &mut files[index];
    let rules: Vec<usize> = text.match_indices("  - from:").map(|(at, _)| at).collect();
    let at = rules[rng.below(rules.len())];
    let end = text[at + 1..]
        .find("  - from:")
        .map_or(text.len(), |e| at + 1 + e);
    let rule = text[at..end].to_string();
    let principal = rule
        .split("principals: [\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    let host = rule
        .split("hosts: [\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    let edited = match rng.below(8) {
        // Another host, a port-qualified host, a wildcard.
        0 => rule.replace(&format!("[\"{host}\"]"), &format!("[\"svc-{}.ext-0.com\"]", rng.below(300))),
        1 => rule.replace(&format!("[\"{host}\"]"), &format!("[\"{host}\", \"{host}:*\"]")),
        2 => rule.replace(&format!("[\"{host}\"]"), "[\"*.ext-1.com\"]"),
        // Methods and paths.
        3 => match rule.find("        methods:") {
            Some(m) => {
                let line_end = rule[m..].find('\n').map_or(rule.len(), |e| m + e + 1);
                format!("{}{}", &rule[..m], &rule[line_end..])
            }
            None => rule.replace("hosts: [", "methods: [DELETE]\n        hosts: ["),
        },
        4 => rule.replace("paths: [\"/api/*\"]", "paths: [\"/api/v1/*\"]").replace(
            "paths: [\"/api/{*}/items\"]",
            "paths: [\"/api/{**}\"]",
        ),
        // Another principal, a namespace instead.
        5 => rule.replace(&principal, &principal.replace("/sa/sa-", "/sa/sa-1")),
        6 => rule.replace(
            &format!("principals: [\"{principal}\"]"),
            &format!("namespaces: [\"ns-{}\"]", rng.below(20)),
        ),
        // A new rule in front: DENY-or-ALLOW for one principal everywhere.
        _ => format!(
            "  - from:\n    - source:\n        principals: [\"{principal}\"]\n    to:\n    - operation:\n        hosts: [\"*\"]\n        methods: [PATCH]\n{rule}"
        ),
    };
    text.replace_range(at..end, &edited);
    Some((principal, host))
}

#[test]
fn diff_finds_every_change_random_sampling_finds() {
    let mut rng = SplitMix64::new(2024);
    let mut total_changed = 0usize;
    for round in 0..2 {
        let before_files = generate(RULES, 100 + round).files;
        let mut after_files = before_files.clone();
        let mut hints = Vec::new();
        // Flip one policy's action, plus a few rule edits.
        let file = 1 + rng.below(after_files.len() - 1);
        let flip = &mut after_files[file].1;
        if let Some(at) = flip.find("action: ALLOW") {
            flip.replace_range(at..at + 13, "action: DENY");
        }
        for _ in 0..6 {
            if let Some(hint) = mutate(&mut after_files, &mut rng) {
                hints.push(hint);
            }
        }
        let before = engine(&before_files);
        let after = engine(&after_files);
        let report = diff(&before, &after, &DiffOptions::default());
        assert!(report.changed(), "the mutations change something");
        for change in &report.changes {
            assert_eq!(DecisionSummary::of(&before, &change.request), change.before);
            assert_eq!(DecisionSummary::of(&after, &change.request), change.after);
            assert_ne!(
                (change.before.allowed, change.before.status),
                (change.after.allowed, change.after.status)
            );
        }
        let changed: Vec<&Request> = report.changes.iter().map(|c| &c.request).collect();

        let partition = Partition::new(&[before.model(), after.model()]);
        let mut points = vec![Point::routed()];
        points.extend(gateway_points(&[before.model(), after.model()]));
        let mut hosts = hosts_in(&before_files);
        hosts.extend(hosts_in(&after_files));
        let mut found = 0usize;
        for _ in 0..3_000 {
            let request = random_request(&mut rng, &hosts, &points, &hints);
            let rep = partition.representative(&request).unwrap_or_else(|| {
                panic!("no class for {}", serde_json::to_string(&request).unwrap())
            });
            assert_same(&before, &request, &rep, "before");
            assert_same(&after, &request, &rep, "after");
            let b = DecisionSummary::of(&before, &request);
            let a = DecisionSummary::of(&after, &request);
            if (b.allowed, b.status) != (a.allowed, a.status) {
                found += 1;
                assert!(
                    changed.contains(&&rep),
                    "sampling found a change diff misses: {} ({b:?} -> {a:?})",
                    serde_json::to_string(&request).unwrap()
                );
            }
        }
        eprintln!(
            "round {round}: diff reports {} changed classes of {}; sampling found {found} changed requests",
            report.changes.len(),
            report.cells
        );
        assert!(found > 0, "round {round}: sampling should hit some change");
        total_changed += found;
    }
    assert!(total_changed > 0);
}

#[test]
fn representatives_of_a_workload_point_name_it() {
    let workload = generate(50, 3);
    let engine = engine(&workload.files);
    let partition = Partition::new(&[engine.model()]);
    let request = Request {
        workload: Some(Workload {
            namespace: "egress-0".into(),
            labels: [("app".to_string(), "egress-gw-0".to_string())]
                .into_iter()
                .collect(),
        }),
        host: Some("svc-1.ext-0.com".into()),
        method: Some("GET".into()),
        path: Some("/api/v1/items".into()),
        ..Request::default()
    };
    let rep = partition.representative(&request).unwrap();
    assert_eq!(rep.workload, request.workload);
    assert_same(&engine, &request, &rep, "workload");
    // Outside the enumerated space: headers are not enumerated.
    let mut with_header = request.clone();
    with_header.headers.insert(
        "x-team".into(),
        egress_policy::request::HeaderValue::One("a".into()),
    );
    assert!(partition.representative(&with_header).is_none());
}

/// Every pattern form at once: prefix, suffix and exact principals, namespace globs,
/// service accounts, trust domains, host prefixes and suffixes with and without ports,
/// notHosts, ports, method prefixes, path prefixes, suffixes and templates, a registry
/// with wildcards, TSB-free Istio only.
const MIXED: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress-gw, namespace: egress}
spec:
  selector: {app: gw}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wild, namespace: egress}
spec:
  hosts: ["*.wild.example", "api.example.com"]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: NONE
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: egress}
spec:
  selector: {matchLabels: {app: gw}}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/team-a/*", "*/sa/robot"]
    to:
    - operation:
        hosts: ["api.example.com", "api.example.com:*", "*.wild.example"]
        methods: ["GET", "P*"]
        paths: ["/v1/*", "*.json"]
  - from:
    - source:
        namespaces: ["team-*-prod"]
        notPrincipals: ["*/sa/intruder"]
    to:
    - operation:
        hosts: ["*.example.com"]
        notHosts: ["admin.example.com"]
        paths: ["/items/{*}/detail", "/files/{**}"]
  - from:
    - source:
        serviceAccounts: ["ops/deployer"]
    to:
    - operation:
        ports: ["8443"]
  - from:
    - source:
        trustDomains: ["partner*"]
    to:
    - operation:
        hosts: ["partner.*"]
        notMethods: ["DELETE"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: egress}
spec:
  selector: {matchLabels: {app: gw}}
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/v1/admin*", "*/secret"]
  - from:
    - source:
        principals: ["cluster.local/ns/team-a/sa/bad"]
    when:
    - key: destination.port
      values: ["8080"]
"#;

#[test]
fn mixed_pattern_forms_decide_like_their_representatives() {
    let engine = Engine::from_yaml("mixed.yaml", MIXED).expect("loads");
    let model = engine.model();
    let partition = Partition::new(&[model]);
    let mut rng = SplitMix64::new(5);
    let gateway = Workload {
        namespace: "egress".into(),
        labels: [("app".to_string(), "gw".to_string())]
            .into_iter()
            .collect(),
    };
    let principals = [
        "cluster.local/ns/team-a/sa/x",
        "cluster.local/ns/team-a/sa/bad",
        "cluster.local/ns/team-a",
        "cluster.local/ns/team-b/sa/robot",
        "other/ns/x/sa/robot",
        "cluster.local/ns/team-x-prod/sa/y",
        "cluster.local/ns/team--prod/sa/intruder",
        "cluster.local/ns/team-prod/sa/y",
        "cluster.local/ns/ops/sa/deployer",
        "cluster.local/ns/ops/sa/deployer/extra",
        "partner.io/ns/a/sa/b",
        "partnerx/ns/ops/sa/deployer",
        "spiffe://cluster.local/ns/team-a/sa/robot",
        "cluster.local/ns/default/sa/default",
    ];
    let hosts = [
        "api.example.com",
        "API.example.com",
        "api.example.com:8080",
        "api.example.com:80",
        "admin.example.com",
        "x.example.com",
        "example.com",
        "a.wild.example",
        "wild.example",
        "partner.io",
        "partner.example.com",
        "partner.example.com:8443",
        "x.example.com:8443",
        "other.org",
        "other.org:8080",
    ];
    let methods = [
        "GET", "POST", "PUT", "PATCH", "P", "DELETE", "HEAD", "OPTIONS",
    ];
    let paths = [
        "/v1/items",
        "/v1/",
        "/v1",
        "/v1/admin",
        "/v1/admin/x",
        "/data.json",
        "/v1/x.json",
        "/items/3/detail",
        "/items//detail",
        "/items/3/4/detail",
        "/files/",
        "/files",
        "/files/a/b",
        "/a/secret",
        "/v1/../v1/secret",
        "/",
    ];
    let mut checked = 0;
    for _ in 0..6_000 {
        let principal = match rng.below(principals.len() + 1) {
            0 => None,
            i => Some(principals[i - 1].to_string()),
        };
        let request = Request {
            source: RequestSource {
                principal,
                ..RequestSource::default()
            },
            workload: rng.chance(80).then(|| gateway.clone()),
            host: Some(hosts[rng.below(hosts.len())].to_string()),
            method: Some(methods[rng.below(methods.len())].to_string()),
            path: Some(paths[rng.below(paths.len())].to_string()),
            ..Request::default()
        };
        let rep = partition
            .representative(&request)
            .unwrap_or_else(|| panic!("no class for {}", serde_json::to_string(&request).unwrap()));
        assert_same(&engine, &request, &rep, "mixed");
        checked += 1;
    }
    assert_eq!(checked, 6_000);

    // Random compositions of the pattern texts' fragments.
    let pick = |rng: &mut SplitMix64, items: &[&str]| items[rng.below(items.len())].to_string();
    for _ in 0..20_000 {
        let principal = (!rng.chance(10)).then(|| {
            let mut p = format!(
                "{}/ns/{}/sa/{}",
                pick(
                    &mut rng,
                    &[
                        "cluster.local",
                        "partner.io",
                        "partnerx",
                        "other",
                        "partner"
                    ]
                ),
                pick(
                    &mut rng,
                    &[
                        "team-a",
                        "team-x-prod",
                        "team--prod",
                        "ops",
                        "default",
                        "team-prod",
                        "a",
                        "team-a-prod"
                    ]
                ),
                pick(
                    &mut rng,
                    &["x", "bad", "robot", "intruder", "deployer", "y", "robots"]
                ),
            );
            if rng.chance(10) {
                p.push_str(&pick(&mut rng, &["/extra", "/", "/sa/robot", "/ns/ops"]));
            }
            p
        });
        let mut host = String::new();
        for _ in 0..=rng.below(3) {
            host.push_str(&pick(
                &mut rng,
                &["api", "admin", "x", "partner", "wild", "a."],
            ));
            host.push('.');
        }
        host.push_str(&pick(
            &mut rng,
            &["example.com", "example", "com", "io", "wild.example"],
        ));
        if rng.chance(30) {
            host.push_str(&pick(&mut rng, &[":80", ":8080", ":8443", ":443"]));
        }
        let mut path = String::new();
        for _ in 0..=rng.below(4) {
            path.push('/');
            path.push_str(&pick(
                &mut rng,
                &[
                    "v1", "admin", "items", "3", "detail", "files", "secret", "x.json", "", "..",
                ],
            ));
        }
        let request = Request {
            source: RequestSource {
                principal,
                ..RequestSource::default()
            },
            workload: rng.chance(80).then(|| gateway.clone()),
            host: Some(host),
            method: Some(pick(
                &mut rng,
                &["GET", "POST", "P", "PA", "PATCH", "PUT", "DELETE", "X"],
            )),
            path: Some(path),
            ..Request::default()
        };
        let rep = partition
            .representative(&request)
            .unwrap_or_else(|| panic!("no class for {}", serde_json::to_string(&request).unwrap()));
        assert_same(&engine, &request, &rep, "mixed fragments");
    }
    // Some of each verdict.
    let report = reach_host(
        &engine,
        "api.example.com",
        &ReachOptions {
            points: vec![Point::at(gateway)],
        },
    );
    assert!(!report.entries.is_empty());
}

#[test]
fn seed_scenarios_decide_like_their_representatives() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies");
    let mut rng = SplitMix64::new(17);
    let pick = |rng: &mut SplitMix64, items: &[&str]| items[rng.below(items.len())].to_string();
    for scenario in [
        "istio-waypoint",
        "istio-waypoint-tls",
        "gloo",
        "tsb",
        "tsb-deny-all",
    ] {
        let engine = Engine::from_paths(&[root.join(scenario)]).expect("seed loads");
        let partition = Partition::new(&[engine.model()]);
        let points = gateway_points(&[engine.model()]);
        let mut allowed = 0;
        for _ in 0..3_000 {
            let principal = (!rng.chance(10)).then(|| {
                format!(
                    "{}/ns/{}/sa/{}",
                    pick(&mut rng, &["cluster.local", "other.td"]),
                    pick(
                        &mut rng,
                        &[
                            "bookinfo",
                            "ns1",
                            "default",
                            "tsb-egress",
                            "other",
                            "istio-egress"
                        ]
                    ),
                    pick(
                        &mut rng,
                        &[
                            "bookinfo-productpage",
                            "bookinfo-reviews",
                            "bookinfo-details",
                            "app",
                            "x"
                        ]
                    ),
                )
            });
            let mut host = pick(
                &mut rng,
                &[
                    "httpbin.org",
                    "www.httpbin.org",
                    "HTTPBIN.org",
                    "example.com",
                    "www.google.com",
                ],
            );
            if rng.chance(25) {
                host.push_str(&pick(&mut rng, &[":80", ":443", ":8080"]));
            }
            let request = Request {
                source: RequestSource {
                    principal,
                    ..RequestSource::default()
                },
                workload: points
                    .get(rng.below(points.len() * 3 + 1))
                    .and_then(|p| p.workload.clone()),
                host: Some(host),
                method: Some(pick(&mut rng, &["GET", "POST", "HEAD", "DELETE"])),
                path: Some(pick(
                    &mut rng,
                    &["/get", "/post", "/get/../post", "/", "/status/418"],
                )),
                ..Request::default()
            };
            let rep = partition.representative(&request).unwrap_or_else(|| {
                panic!("no class for {}", serde_json::to_string(&request).unwrap())
            });
            assert_same(&engine, &request, &rep, scenario);
            allowed += usize::from(engine.decide(&request).allowed);
        }
        assert!(allowed > 0, "{scenario}");
    }
}
