//! Gloo `Workspace` / `WorkspaceSettings` (SEMANTICS.md §8.4, issue 12 point 4), through the
//! public API, on `core/tests/gloo-workspaces`: workspaces `egress` (egress gateway
//! and httpbin.org, exported to `team: web`, service isolation on), `web` (imports from
//! `egress`) and `reviews` (imports nothing).
//!
//! Sources: solo-apis `api/gloo.solo.io/admin/v2/workspace_settings.proto` (branch
//! `gloo-mesh-v2.6.x`): `importFrom` "Objects must both be exported by the workspace that is
//! being imported and imported into this workspace in order to be shared across
//! workspaces"; `serviceIsolation.enabled` "blocks any access from non-importing workspaces
//! into any destination in the current workspaces"; `common/v2/selectors.proto`
//! `ObjectSelector.workspace` "Only select objects in the given workspace".

// Test helpers outside `#[test]` functions: a failed setup should stop the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use egress_policy::{Decision, Engine, Request};
use serde_json::json;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The scenario's files, with `edit` applied to each (name, text).
fn scenario(edit: impl Fn(&str, String) -> String) -> Vec<(String, String)> {
    let dir = root().join("core/tests/gloo-workspaces");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("scenario dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            let text = std::fs::read_to_string(&p).expect("read");
            let text = edit(&name, text);
            (name, text)
        })
        .collect();
    out.sort();
    out
}

fn engine_of(files: &[(String, String)]) -> Engine {
    Engine::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .unwrap_or_else(|e| panic!("load failed:\n{e}"))
}

fn decide(engine: &Engine, request: serde_json::Value) -> Decision {
    let request: Request = serde_json::from_value(request).expect("request");
    let compiled = engine.decide(&request);
    let reference = engine.decide_reference(&request);
    assert_eq!(compiled, reference, "compiled and reference disagree");
    compiled
}

fn codes(d: &Decision) -> Vec<&str> {
    d.caveats.iter().map(|c| c.code.as_str()).collect()
}

/// A sidecar request from `namespace` to httpbin.org on the gateway's `portMatch`.
fn from_sidecar(namespace: &str) -> serde_json::Value {
    json!({"source": {"principal": format!("cluster.local/ns/{namespace}/sa/app")},
           "method": "GET", "url": "http://httpbin.org/get"})
}

/// The same request decided at the egress gateway itself (as the ext_authz server or the
/// wasm filter placed in it decide): the sender's registry is not consulted there.
fn at_gateway(namespace: &str) -> serde_json::Value {
    json!({"source": {"principal": format!("cluster.local/ns/{namespace}/sa/app")},
           "workload": {"namespace": "istio-egress", "labels": {"app": "istio-egressgateway"}},
           "method": "GET", "url": "http://httpbin.org/get"})
}

/// Text of `file` in `files`.
fn text_of<'a>(files: &'a [(String, String)], file: &str) -> &'a str {
    files
        .iter()
        .find(|(n, _)| n == file)
        .map(|(_, t)| t.as_str())
        .expect("file")
}

/// (a) exported by `egress` and imported by `web`: a `web` sidecar has httpbin.org in its
/// registry, the request goes through the egress gateway, and service isolation admits it.
#[test]
fn exported_and_imported_external_service_is_reachable() {
    let engine = engine_of(&scenario(|_, t| t));
    for namespace in ["bookinfo", "bookinfo-v2", "global"] {
        let d = decide(&engine, from_sidecar(namespace));
        assert_eq!((d.allowed, d.status), (true, 200), "{namespace}: {d:?}");
        let route = d.route.as_ref().expect("route");
        assert_eq!(
            route.gateway.as_ref().map(|g| g.name.as_str()),
            Some("egress-vg")
        );
        assert_eq!(
            d.policy
                .as_ref()
                .map(|p| (p.kind.as_str(), p.name.as_str())),
            Some(("WorkspaceSettings", "egress")),
            "the isolation policy decides"
        );
    }
}

/// (b) the same without `importFrom` on the `web` side: Gloo translates the service for
/// the namespaces of `egress` only, so a `web` sidecar does not have it (REGISTRY_ONLY:
/// 502), and the registry hop says why. `reviews`, which imports nothing, is in the same
/// position with the full scenario.
#[test]
fn without_import_the_external_service_is_not_in_the_registry() {
    let without_import = scenario(|name, text| {
        if name == "workspace-settings.yaml" {
            let cut = text.find("---").expect("two documents");
            text[..cut].to_string()
        } else {
            text
        }
    });
    let engine = engine_of(&without_import);
    let d = decide(&engine, from_sidecar("bookinfo"));
    assert_eq!((d.allowed, d.status), (false, 502), "{d:?}");
    assert_eq!(d.reason.to_string(), "not_in_registry");
    let registry = d
        .hops
        .iter()
        .find(|h| {
            h.outcome
                .contains("not in the registry of namespace bookinfo")
        })
        .unwrap_or_else(|| panic!("no registry hop saying why: {:#?}", d.hops));
    assert!(
        registry.outcome.contains("workspace `egress`"),
        "{}",
        registry.outcome
    );

    // Exported but not imported is not enough; the full scenario still serves `web`.
    let engine = engine_of(&scenario(|_, t| t));
    let d = decide(&engine, from_sidecar("reviews"));
    assert_eq!((d.allowed, d.status), (false, 502), "{d:?}");
    assert!(decide(&engine, from_sidecar("bookinfo")).allowed);

    // Imported but not exported: `web` imports, `egress` exports to nobody.
    let not_exported = scenario(|name, text| {
        if name == "workspace-settings.yaml" {
            text.replace("team: web", "team: nobody")
        } else {
            text
        }
    });
    let d = decide(&engine_of(&not_exported), from_sidecar("bookinfo"));
    assert_eq!((d.allowed, d.status), (false, 502), "{d:?}");
}

/// (c) service isolation: at the egress gateway, a client of `reviews` (which does not
/// import from `egress`) is denied; clients of `egress` and `web` are admitted. An
/// AccessPolicy on the service overrides the isolation ("Applying AccessPolicies to
/// destinations in this workspace will override the default service isolation
/// behavior").
#[test]
fn service_isolation_denies_a_client_of_a_non_importing_workspace() {
    let engine = engine_of(&scenario(|_, t| t));
    let d = decide(&engine, at_gateway("reviews"));
    assert_eq!((d.allowed, d.status), (false, 403), "{d:?}");
    assert_eq!(d.reason.to_string(), "no_allow_match");
    let d = decide(&engine, at_gateway("outside"));
    assert_eq!(
        (d.allowed, d.status),
        (false, 403),
        "a namespace of no workspace"
    );
    assert!(decide(&engine, at_gateway("bookinfo")).allowed);
    assert!(decide(&engine, at_gateway("istio-egress")).allowed);
    // Isolation is enforced with mTLS: a plaintext client has no namespace to match.
    let plaintext = json!({"workload": {"namespace": "istio-egress", "labels": {"app": "istio-egressgateway"}},
                           "method": "GET", "url": "http://httpbin.org/get"});
    assert!(!decide(&engine, plaintext).allowed);

    // Isolation off: nothing attaches at the gateway.
    let open = scenario(|_, t| t.replace("enabled: true", "enabled: false"));
    assert!(decide(&engine_of(&open), at_gateway("reviews")).allowed);

    // An AccessPolicy on the service replaces the isolation policy.
    let mut with_policy = scenario(|_, t| t);
    with_policy.push((
        "open.yaml".into(),
        r#"apiVersion: security.policy.gloo.solo.io/v2
kind: AccessPolicy
metadata: {name: open, namespace: istio-egress}
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector: {name: httpbin.org, namespace: global}
  config:
    authz:
      allowedClients: [{}]
"#
        .into(),
    ));
    let d = decide(&engine_of(&with_policy), at_gateway("reviews"));
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.policy.as_ref().map(|p| p.name.as_str()), Some("open"));
}

/// (d) `serviceAccountSelector.workspace: web` admits exactly the namespaces of `web`
/// (`bookinfo*`); a workspace that is not loaded leaves the selector unnarrowed, with a
/// caveat.
#[test]
fn service_account_selector_workspace_matches_the_workspace_namespaces() {
    let policy = |workspace: &str| {
        format!(
            r#"apiVersion: security.policy.gloo.solo.io/v2
kind: AccessPolicy
metadata: {{name: web-only, namespace: istio-egress}}
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector: {{name: httpbin.org, namespace: global}}
  config:
    authz:
      allowedClients:
      - serviceAccountSelector: {{workspace: {workspace}}}
"#
        )
    };
    let mut files = scenario(|_, t| t);
    files.push(("web-only.yaml".into(), policy("web")));
    let engine = engine_of(&files);
    for (namespace, allowed) in [
        ("bookinfo", true),
        ("bookinfo-v2", true),
        ("reviews", false),
        ("istio-egress", false),
        ("global", false),
    ] {
        let d = decide(&engine, at_gateway(namespace));
        assert_eq!(d.allowed, allowed, "{namespace}: {d:?}");
        assert!(!codes(&d).contains(&"gloo_workspace_not_loaded"));
    }

    let mut files = scenario(|_, t| t);
    files.push(("web-only.yaml".into(), policy("nowhere")));
    let engine = engine_of(&files);
    let d = decide(&engine, at_gateway("reviews"));
    assert!(
        d.allowed,
        "a workspace that is not loaded narrows nothing: {d:?}"
    );
    assert!(codes(&d).contains(&"gloo_workspace_not_loaded"), "{d:?}");
}

/// (e) resources in a namespace no Workspace selects: a load warning at the resource's
/// line, and a caveat on every decision that uses it. Without any Workspace loaded nothing
/// changes and nothing is said.
#[test]
fn a_resource_outside_every_workspace_is_said() {
    let stray = r#"apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: stray, namespace: stray}
spec:
  hosts: [stray.example.com]
  ports:
  - {name: http, number: 80, protocol: HTTP}
"#;
    let mut files = scenario(|_, t| t);
    files.push(("stray.yaml".into(), stray.into()));
    let engine = engine_of(&files);
    let warning = engine
        .warnings()
        .iter()
        .find(|w| w.message.contains("which no loaded Workspace selects"))
        .unwrap_or_else(|| panic!("no warning: {:#?}", engine.warnings()));
    assert_eq!(warning.location.file, "stray.yaml");
    assert_eq!(warning.location.line, 1);
    let request = json!({"source": {"principal": "cluster.local/ns/bookinfo/sa/app"},
                         "method": "GET", "url": "http://stray.example.com/"});
    let d = decide(&engine, request.clone());
    assert!(d.allowed, "kept visible everywhere: {d:?}");
    assert!(codes(&d).contains(&"gloo_outside_workspace"), "{d:?}");

    // The egress gateway's namespace in no workspace: its routes are kept, and said.
    let files = scenario(|name, text| {
        if name == "workspaces.yaml" {
            text.replace("    - name: istio-egress\n", "")
        } else {
            text
        }
    });
    let engine = engine_of(&files);
    assert!(
        engine.warnings().iter().any(|w| w.location.file == "egress.yaml"
            && w.message.contains("VirtualGateway istio-egress/egress-vg is in namespace istio-egress, which no loaded Workspace selects")),
        "{:#?}",
        engine.warnings()
    );
    let d = decide(&engine, from_sidecar("bookinfo"));
    assert!(d.allowed, "{d:?}");
    assert!(codes(&d).contains(&"gloo_outside_workspace"), "{d:?}");

    // No Workspace at all: the behaviour without workspaces, without a word.
    let engine = engine_of(&[("stray.yaml".into(), stray.into())]);
    assert!(engine.warnings().is_empty(), "{:#?}", engine.warnings());
    let d = decide(&engine, request);
    assert!(!codes(&d).contains(&"gloo_outside_workspace"));
}

/// An AccessPolicy of `reviews` that selects the service of `egress` (not imported): Gloo
/// does not apply it (warning at the selector, caveat on the service's decisions); the
/// service stays under its own workspace's isolation.
#[test]
fn an_access_policy_does_not_select_a_service_its_workspace_does_not_import() {
    let mut files = scenario(|_, t| t);
    let policy = r#"apiVersion: security.policy.gloo.solo.io/v2
kind: AccessPolicy
metadata: {name: foreign, namespace: reviews}
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector: {name: httpbin.org, namespace: global}
  config:
    authz:
      allowedClients: [{}]
"#;
    files.push(("foreign.yaml".into(), policy.into()));
    let engine = engine_of(&files);
    assert!(
        engine
            .warnings()
            .iter()
            .any(|w| w.location.file == "foreign.yaml"
                && w.message.contains("Gloo does not apply the policy")),
        "{:#?}",
        engine.warnings()
    );
    let d = decide(&engine, at_gateway("reviews"));
    assert_eq!((d.allowed, d.status), (false, 403), "{d:?}");
    assert!(codes(&d).contains(&"gloo_policy_not_applied"), "{d:?}");
    assert_ne!(d.policy.as_ref().map(|p| p.name.as_str()), Some("foreign"));
}

/// A VirtualGateway of a workspace that does not see the service: Gloo generates no egress
/// route for it; the request leaves from the sender's sidecar, and the decision says so.
#[test]
fn a_gateway_route_across_workspaces_needs_the_service_shared() {
    let files = scenario(|name, text| {
        if name == "workspaces.yaml" {
            // `istio-egress` moves to workspace `reviews`, which does not import.
            text.replace("    - name: istio-egress\n", "").replace(
                "    - name: reviews\n",
                "    - name: reviews\n    - name: istio-egress\n",
            )
        } else {
            text
        }
    });
    assert!(text_of(&files, "workspaces.yaml").contains("- name: istio-egress"));
    let engine = engine_of(&files);
    let d = decide(&engine, from_sidecar("bookinfo"));
    assert!(codes(&d).contains(&"gloo_route_not_applied"), "{d:?}");
    assert_eq!(d.reason.to_string(), "passthrough");
    assert!(engine
        .warnings()
        .iter()
        .any(|w| w.message.contains("Gloo generates no egress gateway route")));
}
