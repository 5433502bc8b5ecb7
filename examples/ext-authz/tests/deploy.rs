//! The Kubernetes manifests in deploy/ load through the project's own loader without
//! errors, and the policies they ship enforce at the egress gateway they configure.

use std::path::Path;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[test]
fn every_manifest_loads() {
    let deploy = Path::new(ROOT).join("deploy");
    let mut manifests: Vec<_> = std::fs::read_dir(&deploy)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 4, "{manifests:?}");
    let mut all = egress_policy::Loader::new();
    for path in &manifests {
        let mut one = egress_policy::Loader::new();
        one.add_path(path).unwrap();
        if let Err(e) = one.load() {
            panic!("{}: {e}", path.display());
        }
        all.add_path(path).unwrap();
    }
    let model = all.load().unwrap();
    let errors: Vec<_> = model.warnings.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn the_configmap_policies_enforce_at_the_gateway() {
    // The ConfigMap carries the policies the server is started with; the Deployment's
    // `--workload` must be a place where they attach.
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/configmap.yaml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let data = doc["data"].as_object().unwrap();
    let files: Vec<(&str, &str)> = data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let engine = egress_policy::Engine::from_files(files).unwrap();
    let deployment =
        std::fs::read_to_string(Path::new(ROOT).join("deploy/deployment.yaml")).unwrap();
    let workload = deployment
        .lines()
        .find_map(|l| l.trim().strip_prefix("- --workload="))
        .unwrap();
    let workload =
        egress_policy_ext_authz::check::parse_workload(workload.trim_matches('"')).unwrap();
    assert_eq!(
        egress_policy::response::enforces_nothing(&engine, &workload),
        None
    );
}
