//! Compiled-policy bundles (`Engine::to_bundle_json` / `Engine::from_bundle_json`): an
//! engine built from the bundle decides exactly like the engine built from the YAML — every
//! field of the decision, with the compiled matcher and the reference evaluator — and
//! explains exactly like that YAML loaded without its sources. Proved on every example of
//! `examples/policies` (the requests of its test file, one per identity × host of its
//! inventory, and random ones), on generated workloads, and on the differential test's
//! random road configurations. Bad bundles are refused, located.
#![cfg(feature = "yaml")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

// The differential test's generators (road configurations and requests); `run_road` and
// the views are not used here.
#[allow(dead_code)]
#[path = "differential/road_gen.rs"]
mod road_gen;
#[allow(dead_code)]
#[path = "differential/views.rs"]
mod views;

use egress_policy::model::{Model, BUNDLE_VERSION};
use egress_policy::tools::inventory::inventory;
use egress_policy::{Engine, Error, Loader, Request};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// The engine from YAML (sources kept), the same without sources, and the bundle's engine.
struct Three {
    yaml: Engine,
    plain: Engine,
    bundle: Engine,
}

fn three(files: &[(String, String)]) -> Three {
    let load = |keep: bool| {
        let mut loader = Loader::new();
        loader.keep_sources(keep);
        for (name, text) in files {
            loader.add_str(name, text);
        }
        Engine::from_model(loader.load().unwrap())
    };
    let yaml = load(true);
    let text = yaml.to_bundle_json().unwrap();
    let bundle = Engine::from_bundle_json("policies.bundle.json", &text).unwrap();
    // The bundle of the bundle's engine is the same text: nothing is lost or added.
    assert_eq!(bundle.to_bundle_json().unwrap(), text);
    assert_eq!(bundle.rule_count(), yaml.rule_count());
    assert_eq!(bundle.warnings(), yaml.warnings());
    assert_eq!(bundle.sources().len(), 0);
    Three {
        yaml,
        plain: load(false),
        bundle,
    }
}

/// Every decision field, both evaluators, and the explanation.
fn assert_same(engines: &Three, request: &Request, what: &str) {
    let Three {
        yaml,
        plain,
        bundle,
    } = engines;
    let json = serde_json::to_string(request).unwrap();
    let decided = bundle.decide(request);
    assert_eq!(decided, yaml.decide(request), "{what}: {json}");
    assert_eq!(
        bundle.decide_reference(request),
        yaml.decide_reference(request),
        "{what} (reference): {json}"
    );
    for view in views::view_decisions(bundle, plain, request) {
        assert_eq!(view, decided, "{what} (view): {json}");
    }
    let explained = bundle.explain(request);
    assert_eq!(
        explained,
        plain.explain(request),
        "{what} (explain): {json}"
    );
    assert_eq!(
        explained.decision,
        yaml.explain(request).decision,
        "{what}: {json}"
    );
}

fn policy_files(dir: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), text)
        })
        .collect()
}

/// The requests of an example's test file (`examples/tests/<name>.yaml`).
fn test_file_requests(name: &str) -> Vec<Request> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/tests/{name}.yaml"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    doc["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|case| serde_json::from_value(case["request"].clone()).unwrap())
        .collect()
}

/// One request per identity × host × method of the inventory, with and without each
/// gateway's workload.
fn inventory_requests(model: &Model) -> Vec<Request> {
    let found = inventory(model);
    let mut workloads: Vec<Value> = vec![Value::Null];
    workloads.extend(
        found
            .gateways
            .iter()
            .map(|g| serde_json::to_value(&g.workload).unwrap()),
    );
    let mut principals: Vec<Value> = vec![Value::Null];
    principals.extend(found.identities.iter().map(|i| json!(i.principal)));
    let mut out = Vec::new();
    for host in &found.hosts {
        for principal in &principals {
            for workload in &workloads {
                for method in ["GET", "POST"] {
                    let mut request = json!({"url": host.url, "method": method});
                    if !principal.is_null() {
                        request["source"] = json!({"principal": principal});
                    }
                    if !workload.is_null() {
                        request["workload"] = workload.clone();
                    }
                    out.push(serde_json::from_value(request).unwrap());
                }
            }
        }
    }
    out
}

fn random_requests(count: usize, seed: u64) -> Vec<Request> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &seed.to_le_bytes().repeat(4),
        ),
    );
    (0..count)
        .map(|_| {
            let value = road_gen::request().new_tree(&mut runner).unwrap().current();
            serde_json::from_value(value).unwrap()
        })
        .collect()
}

#[test]
fn every_example_decides_and_explains_the_same_from_its_bundle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 9, "examples: {dirs:?}");
    let mut compared = 0;
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let engines = three(&policy_files(&dir));
        let mut requests = test_file_requests(&name);
        assert!(!requests.is_empty(), "{name}: no test cases");
        requests.extend(inventory_requests(engines.yaml.model()));
        requests.extend(random_requests(200, compared as u64 + 1));
        for request in &requests {
            assert_same(&engines, request, &name);
        }
        compared += requests.len();
    }
    eprintln!("compared {compared} requests");
}

#[test]
fn generated_workloads_decide_the_same_from_their_bundle() {
    for (rules, seed) in [(1_000, 7), (300, 42)] {
        let workload = egress_policy::workload::generate(rules, seed);
        let engines = three(&workload.files);
        for request in workload.requests.iter().take(1_500) {
            assert_same(&engines, request, "workload");
        }
    }
}

#[test]
fn random_road_configurations_decide_the_same_from_their_bundle() {
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        road_gen::configuration(),
        proptest::collection::vec(road_gen::request(), 24),
    );
    runner
        .run(&strategy, |(docs, requests)| {
            let yaml = road_gen::yaml(&docs);
            // Configurations the loader refuses are the differential test's concern.
            if Engine::from_yaml("road.yaml", &yaml).is_err() {
                return Ok(());
            }
            let engines = three(&[("road.yaml".to_string(), yaml.clone())]);
            for json in requests {
                let request: Request = serde_json::from_value(json).unwrap();
                assert_same(&engines, &request, &yaml);
            }
            Ok(())
        })
        .unwrap();
}

const POLICY: &str = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: istio-egress}
spec:
  rules:
  - to: [{operation: {hosts: [httpbin.org], paths: [\"/store/{**}/cart\"]}}]
    from: [{source: {ipBlocks: [10.0.0.0/8]}}]
";

fn bundle_value() -> Value {
    let engine = Engine::from_yaml("p.yaml", POLICY).unwrap();
    serde_json::from_str(&engine.to_bundle_json().unwrap()).unwrap()
}

/// The one diagnostic of a refused bundle: `file:line:column: message`.
fn refusal(bundle: &str) -> String {
    match Engine::from_bundle_json("b.json", bundle) {
        Err(Error::Invalid(diagnostics)) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            diagnostics[0].to_string()
        }
        Err(other) => panic!("not Invalid: {other}"),
        Ok(_) => panic!("bundle accepted"),
    }
}

fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = bundle_value();
    edit(&mut value);
    serde_json::to_string(&value).unwrap()
}

fn rule(v: &mut Value) -> &mut Value {
    &mut v["model"]["policies"][0]["rules"][0]
}

#[test]
fn bad_bundles_are_refused_with_a_located_reason() {
    let cases: Vec<(String, &str)> = vec![
        ("apiVersion: v1".to_string(), "not a bundle"),
        ("{\"format\": \"x\"}".to_string(), "not a policy bundle"),
        (
            edited(|v| v["version"] = json!(BUNDLE_VERSION + 1)),
            "bundle format version 2 is not supported",
        ),
        (
            edited(|v| v["engine"] = json!("0.0.1")),
            "bundle compiled by egress-policy 0.0.1",
        ),
        (edited(|v| v["extra"] = json!(1)), "unknown field `extra`"),
        (
            edited(|v| rule(v)["surprise"] = json!(true)),
            "unknown field `surprise`",
        ),
        (
            edited(|v| rule(v)["from"][0]["ip_blocks"]["values"][0] = json!("10.0.0.0/40")),
            "invalid IP block `10.0.0.0/40`",
        ),
        (
            edited(|v| {
                rule(v)["to"][0]["paths"]["values"][0]["template"]["raw"] =
                    json!("/store/{**}/{*}");
            }),
            "no operator may follow",
        ),
        (
            edited(|v| rule(v)["to"][0]["hosts"]["values"][0]["raw"] = json!("evil.org")),
            "does not match its parsed form",
        ),
        (
            edited(|v| {
                v["model"]["policies"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("rules");
            }),
            "missing field `rules`",
        ),
    ];
    for (bundle, wanted) in cases {
        let message = refusal(&bundle);
        assert!(message.starts_with("b.json:"), "{message}");
        assert!(message.contains(wanted), "{wanted:?} not in {message}");
    }
}

#[test]
fn a_bad_virtual_service_regex_is_refused_at_its_resource() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [httpbin.org]
  http:
  - match: [{uri: {regex: \"/a+\"}}]
    route: [{destination: {host: httpbin.org}}]
";
    let engine = Engine::from_yaml("vs.yaml", text).unwrap();
    let bundle = engine.to_bundle_json().unwrap();
    let broken = bundle.replace("\"/a+\"", "\"/a(\"");
    assert_ne!(broken, bundle);
    let message = refusal(&broken);
    assert!(
        message.starts_with("vs.yaml:1:1:") && message.contains("invalid regex `/a(`"),
        "{message}"
    );
}

#[test]
fn a_bundle_engine_keeps_every_location_and_has_no_sources() {
    let yaml = Engine::from_yaml("p.yaml", POLICY).unwrap();
    let bundle =
        Engine::from_bundle_json("p.bundle.json", &yaml.to_bundle_json().unwrap()).unwrap();
    let (a, b) = (&yaml.model().policies[0], &bundle.model().policies[0]);
    assert_eq!(
        (&a.location, &a.rules[0].location),
        (&b.location, &b.rules[0].location)
    );
    assert_eq!(b.location.to_string(), "p.yaml:1:1");
    // The origins (field paths in the user's terms) travel in the bundle.
    assert_eq!(
        b.rules[0].origin.get().map(|o| o.rule.as_str()),
        Some("spec.rules[0]")
    );
    let policy = &a.id;
    assert!(yaml.locate(policy, "spec.rules[0].to").is_some());
    assert_eq!(bundle.locate(policy, "spec.rules[0].to"), None);
}
