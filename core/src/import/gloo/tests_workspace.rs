//! Gloo `Workspace` / `WorkspaceSettings` import tests (decoding and what link derives),
//! through [`crate::import::load_str`]; decisions are tested in `core/tests/gloo_workspaces.rs`.

use crate::import::test_support::{self as support, vals};
use crate::model::{Action, Model, NamespaceSelector, ResourceRef, Scope, Source};

const FILE: &str = "ws.yaml";

fn load(text: &str) -> Model {
    support::load(FILE, text)
}

const SERVICE: &str = r#"apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: api, namespace: ext}
spec:
  hosts: [api.example.com]
  ports:
  - {name: http, number: 80, protocol: HTTP}
"#;

fn workspace(name: &str, labels: &str, namespaces: &str) -> String {
    format!(
        "apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {{name: {name}, namespace: gloo-mesh, labels: {{{labels}}}}}\nspec:\n  workloadClusters:\n  - name: cluster1\n    namespaces:\n{namespaces}---\n"
    )
}

#[test]
fn workspaces_become_namespace_sets() {
    let text = format!(
        "{}{}{SERVICE}",
        workspace("ext", "", "    - name: ext\n"),
        workspace("apps", "team: a", "    - name: apps-*\n    - name: web\n")
    );
    let model = load(&text);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    let names: Vec<&str> = model.workspaces.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["gloo/ext", "gloo/apps"]);
    assert_eq!(
        model.workspaces[1].namespaces,
        vec![
            NamespaceSelector {
                cluster: "cluster1".into(),
                namespace: "apps-*".into()
            },
            NamespaceSelector {
                cluster: "cluster1".into(),
                namespace: "web".into()
            },
        ]
    );
    // No settings: the service is seen in its own workspace only.
    assert_eq!(model.registry_scopes.len(), 1);
    let scope = &model.registry_scopes[0];
    assert!(scope.shows(Some("cluster1"), "ext"));
    assert!(scope.shows(None, "ext"));
    assert!(!scope.shows(Some("cluster2"), "ext"), "another cluster");
    assert!(!scope.shows(None, "apps-1"));
    assert!(scope.why.contains("no other workspace"), "{}", scope.why);
}

#[test]
fn export_and_import_by_name_label_and_resource() {
    let settings = |ns: &str, body: &str| {
        format!("apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {{name: s, namespace: {ns}}}\nspec:\n{body}---\n")
    };
    let base = format!(
        "{}{}{}",
        workspace("ext", "", "    - name: ext\n"),
        workspace("apps", "team: a", "    - name: apps\n"),
        workspace("other", "team: b", "    - name: other\n"),
    );
    let case = |export: &str, import: &str| {
        let text = format!(
            "{base}{}{}{SERVICE}",
            settings("ext", export),
            settings("apps", import)
        );
        let model = load(&text);
        assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
        model.registry_scopes[0].shows(None, "apps")
    };
    let import = "  importFrom:\n  - workspaces: [{name: ext}]\n";
    assert!(case("  exportTo:\n  - workspaces: [{name: '*'}]\n", import));
    assert!(case(
        "  exportTo:\n  - workspaces: [{name: app*}]\n",
        import
    ));
    assert!(case(
        "  exportTo:\n  - workspaces: [{selector: {team: a}}]\n",
        import
    ));
    assert!(!case(
        "  exportTo:\n  - workspaces: [{selector: {team: b}}]\n",
        import
    ));
    assert!(case(
        "  exportTo:\n  - workspaces: [{name: apps}]\n    resources: [{kind: EXTERNAL_SERVICE, name: api}]\n",
        import
    ));
    assert!(!case(
        "  exportTo:\n  - workspaces: [{name: apps}]\n    resources: [{kind: SERVICE}]\n",
        import
    ));
    assert!(!case(
        "  exportTo:\n  - workspaces: [{name: apps}]\n",
        "  importFrom:\n  - workspaces: [{name: ext}]\n    resources: [{kind: ALL, namespace: elsewhere}]\n"
    ));
    assert!(!case(
        "  exportTo:\n  - workspaces: [{name: apps}]\n",
        "  importFrom: []\n"
    ));
}

#[test]
fn global_settings_override_and_isolation_policy() {
    let text = format!(
        "{}{}{SERVICE}---\napiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {{name: global, namespace: gloo-mesh}}\nspec:\n  exportTo:\n  - workspaces: [{{name: '*'}}]\n  importFrom:\n  - workspaces: [{{name: '*'}}]\n  options:\n    serviceIsolation: {{enabled: true, trimProxyConfig: true}}\n",
        workspace("ext", "", "    - name: ext\n"),
        workspace("apps", "", "    - name: apps\n"),
    );
    let model = load(&text);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    assert!(model.registry_scopes[0].shows(None, "apps"));
    assert!(model.registry_scopes[0].why.contains("trimProxyConfig"));
    let isolation: Vec<_> = model
        .policies
        .iter()
        .filter(|p| p.id.kind == "WorkspaceSettings")
        .collect();
    assert_eq!(isolation.len(), 1);
    let policy = isolation[0];
    assert_eq!(
        policy.id,
        ResourceRef::new("WorkspaceSettings", "gloo-mesh", "global")
    );
    assert_eq!(policy.action, Action::Allow);
    assert_eq!(
        policy.scope,
        Scope::Services {
            services: vec![ResourceRef::new("ExternalService", "ext", "api")]
        }
    );
    let from = policy.rules[0].from.clone().expect("sources");
    assert_eq!(
        from,
        vec![
            Source {
                workspaces: vals(vec!["gloo/ext".to_string()]),
                ..Source::default()
            },
            Source {
                workspaces: vals(vec!["gloo/apps".to_string()]),
                ..Source::default()
            },
        ]
    );
}

#[test]
fn warnings_for_settings_and_selectors_egress_policy_cannot_resolve() {
    let text = r#"apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: w, namespace: gloo-mesh}
spec:
  workloadClusters:
  - selector: {region: us-east}
    namespaces:
    - name: w
    - labels: {team: w}
  - name: c2
---
apiVersion: admin.gloo.solo.io/v2
kind: WorkspaceSettings
metadata: {name: first, namespace: w}
spec: {}
---
apiVersion: admin.gloo.solo.io/v2
kind: WorkspaceSettings
metadata: {name: second, namespace: w}
spec: {}
---
apiVersion: admin.gloo.solo.io/v2
kind: WorkspaceSettings
metadata: {name: lost, namespace: nowhere}
spec: {}
"#;
    let model = load(text);
    let messages: Vec<&str> = model.warnings.iter().map(|w| w.message.as_str()).collect();
    let expect = [
        "KubernetesCluster labels",
        "no `namespaces`",
        "selects namespaces by labels and no loaded Namespace carries them",
        "second WorkspaceSettings of workspace `w`",
        "which no loaded Workspace selects: it configures no workspace",
    ];
    for needle in expect {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "{needle}: {messages:#?}"
        );
    }
    assert_eq!(messages.len(), expect.len(), "{messages:#?}");
    // A cluster selector egress-policy cannot evaluate selects every cluster.
    assert_eq!(
        model.workspaces[0].namespaces,
        vec![NamespaceSelector {
            cluster: "*".into(),
            namespace: "w".into()
        }]
    );
}

#[test]
fn namespaces_selected_by_labels_are_the_loaded_ones() {
    let text = r#"apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b, labels: {team: b}}
---
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: a, namespace: gloo-mesh}
spec:
  workloadClusters:
  - name: "*"
    namespaces:
    - labels: {team: a}
"#;
    let model = load(text);
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
    assert_eq!(
        model.workspaces[0].namespaces,
        vec![NamespaceSelector {
            cluster: "*".into(),
            namespace: "team-a".into()
        }]
    );
}

#[test]
fn unknown_fields_are_errors() {
    let errors = support::errors(
        FILE,
        "apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: s, namespace: x}\nspec:\n  options:\n    serviceIsolation: {enabeld: true}\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.contains("enabeld"), "{errors:#?}");
    let errors = support::errors(
        FILE,
        "apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\nmetadata: {name: s, namespace: x}\nspec:\n  exportTo:\n  - workspaces: [{name: a}]\n    resources: [{kind: BUCKET}]\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.contains("BUCKET"), "{errors:#?}");
}
