//! Tests of the Istio importer, through the public loading API.

use crate::diagnostic::{Diagnostic, Severity};
use crate::import::load_str;
use crate::model::*;

const FILE: &str = "istio.yaml";

fn load(text: &str) -> Model {
    match load_str(FILE, text) {
        Ok(model) => model,
        Err(err) => panic!("unexpected load failure:\n{err}"),
    }
}

/// Every error of a failing load.
fn errors(text: &str) -> Vec<Diagnostic> {
    match load_str(FILE, text) {
        Ok(_) => panic!("expected the load to fail"),
        Err(err) => err
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect(),
    }
}

fn warnings(model: &Model) -> Vec<&Diagnostic> {
    model
        .warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

/// 1-based line and column of the `nth` occurrence (0-based) of `needle` in `text`.
fn pos_nth(text: &str, needle: &str, nth: usize) -> (u32, u32) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

fn pos(text: &str, needle: &str) -> (u32, u32) {
    pos_nth(text, needle, 0)
}

/// Finds the diagnostic for `field` and checks its position, resource and message.
#[track_caller]
fn expect<'a>(
    diags: &'a [Diagnostic],
    field: &str,
    at: (u32, u32),
    resource: &str,
    message: &str,
) -> &'a Diagnostic {
    let found = diags.iter().find(|d| {
        d.field.as_deref() == Some(field)
            && d.message.contains(message)
            && d.resource.as_deref() == Some(resource)
    });
    let Some(diag) = found else {
        panic!(
            "no diagnostic for `{field}` containing `{message}`; got:\n{}",
            diags
                .iter()
                .map(|d| format!("  {d} [field {:?}]", d.field))
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    assert_eq!(diag.location.file, FILE);
    assert_eq!(
        (diag.location.line, diag.location.column),
        at,
        "position of {diag}"
    );
    assert_eq!(diag.resource.as_deref(), Some(resource), "{diag}");
    diag
}

fn exact(text: &str) -> StringPattern {
    StringPattern::Exact(text.to_string())
}

fn policy<'m>(model: &'m Model, name: &str) -> &'m Policy {
    model
        .policies
        .iter()
        .find(|p| p.id.name == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
}

// ---------------------------------------------------------------------------------------
// Mesh settings

#[test]
fn mesh_config_from_config_map() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    accessLogFile: /dev/stdout
    defaultConfig:
      discoveryAddress: istiod.istio-system.svc:15012
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
    rootNamespace: mesh-root
    trustDomain: td1
    trustDomainAliases: [old-td, cluster.local]
    pathNormalization:
      normalization: MERGE_SLASHES
  meshNetworks: 'networks: {}'
"#;
    let model = load(text);
    let mesh = &model.mesh;
    assert_eq!(mesh.outbound, OutboundMode::RegistryOnly);
    assert_eq!(mesh.root_namespace, "mesh-root");
    assert_eq!(mesh.trust_domain, "td1");
    assert_eq!(mesh.trust_domain_aliases, vec!["old-td", "cluster.local"]);
    assert_eq!(mesh.path_normalization, PathNormalization::MergeSlashes);
    let source = mesh.source.as_ref().expect("source");
    assert_eq!((source.line, source.column), pos(text, "accessLogFile"));
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
}

#[test]
fn mesh_config_defaults_and_other_values() {
    let model = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    assert_eq!(model.mesh, MeshConfig::default());
    for (written, outbound, normalization) in [
        ("ALLOW_ANY", OutboundMode::AllowAny, "NONE"),
        (
            "ALLOW_ANY_DYNAMIC_DNS",
            OutboundMode::AllowAnyDynamicDns,
            "DEFAULT",
        ),
        ("REGISTRY_ONLY", OutboundMode::RegistryOnly, "BASE"),
        (
            "ALLOW_ANY",
            OutboundMode::AllowAny,
            "DECODE_AND_MERGE_SLASHES",
        ),
    ] {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\n\
             data:\n  mesh: |\n    outboundTrafficPolicy: {{mode: {written}}}\n    \
             pathNormalization: {{normalization: {normalization}}}\n"
        );
        let mesh = load(&text).mesh;
        assert_eq!(mesh.outbound, outbound);
        let expected = match normalization {
            "NONE" => PathNormalization::None,
            "DECODE_AND_MERGE_SLASHES" => PathNormalization::DecodeAndMergeSlashes,
            _ => PathNormalization::Base,
        };
        assert_eq!(mesh.path_normalization, expected);
        assert_eq!(mesh.trust_domain, "cluster.local");
        assert_eq!(mesh.root_namespace, "istio-system");
    }
}

#[test]
fn mesh_config_errors_point_into_the_block_scalar() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    outboundTrafficPolicy:
      mode: DENY_ALL
      mdoe: REGISTRY_ONLY
    pathNormalization:
      normalization: WEIRD
    trustDomainAliases: ["", a]
"#;
    let diags = errors(text);
    let resource = "ConfigMap istio-system/istio";
    expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mode",
        pos(text, "DENY_ALL"),
        resource,
        "unknown value `DENY_ALL` for `mode`, expected one of `ALLOW_ANY`",
    );
    expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mdoe",
        pos(text, "mdoe"),
        resource,
        "unknown field `mdoe`",
    );
    expect(
        &diags,
        "data.mesh.pathNormalization.normalization",
        pos(text, "WEIRD"),
        resource,
        "unknown value `WEIRD`",
    );
    expect(
        &diags,
        "data.mesh.trustDomainAliases[0]",
        pos(text, "\"\""),
        resource,
        "empty string",
    );
    assert_eq!(diags.len(), 4, "{diags:?}");
}

#[test]
fn mesh_config_in_a_quoted_string_names_the_inner_position() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
                data:\n  mesh: \"trustDomain: td\\noutboundTrafficPolicy: {mode: NOPE}\"\n";
    let diags = errors(text);
    let diag = expect(
        &diags,
        "data.mesh.outboundTrafficPolicy.mode",
        pos(text, "\"trustDomain"),
        "ConfigMap istio-system/istio",
        "unknown value `NOPE`",
    );
    assert!(
        diag.message
            .ends_with("(line 2, column 31 of the `data.mesh` text)"),
        "{}",
        diag.message
    );
}

#[test]
fn mesh_config_with_broken_yaml() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n\
                data:\n  mesh: |\n    trustDomain: td\n    outboundTrafficPolicy: [mode\n";
    let diags = errors(text);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let diag = &diags[0];
    assert_eq!(diag.field.as_deref(), Some("data.mesh"));
    assert!(
        diag.message.starts_with("invalid YAML in `data.mesh`"),
        "{diag}"
    );
    assert!(diag.location.line >= 6, "{diag}");
    assert_eq!(
        diag.resource.as_deref(),
        Some("ConfigMap istio-system/istio")
    );
}

#[test]
fn mesh_config_from_istio_operator() {
    let text = r#"apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: control-plane
  namespace: istio-system
spec:
  profile: default
  components:
    egressGateways:
    - name: istio-egressgateway
      enabled: true
  values:
    global: {istioNamespace: istio-system}
  meshConfig:
    enableTracing: true
    defaultProviders: {metrics: [prometheus]}
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
    trustDomain: corp.example
    pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}
"#;
    let model = load(text);
    assert_eq!(model.mesh.outbound, OutboundMode::RegistryOnly);
    assert_eq!(model.mesh.trust_domain, "corp.example");
    assert_eq!(
        model.mesh.path_normalization,
        PathNormalization::DecodeAndMergeSlashes
    );
    let source = model.mesh.source.as_ref().expect("source");
    assert_eq!((source.line, source.column), pos(text, "enableTracing"));

    let bad = text.replace("mode: REGISTRY_ONLY", "mode: registry_only");
    let diags = errors(&bad);
    expect(
        &diags,
        "spec.meshConfig.outboundTrafficPolicy.mode",
        pos(&bad, "registry_only"),
        "IstioOperator istio-system/control-plane",
        "unknown value `registry_only`",
    );
}

#[test]
fn mesh_config_sources_that_disagree_are_reported() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: istio-ca-root-cert, namespace: istio-system}
data:
  root-cert.pem: "x"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: a
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: op, namespace: istio-system}
spec:
  meshConfig: {trustDomain: b}
"#;
    let model = load(text);
    assert_eq!(model.mesh.trust_domain, "b");
    let warns = warnings(&model);
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(warns[0]
        .message
        .contains("already read from istio.yaml:12:5"));
    // Agreeing sources are not worth a warning.
    let same = text.replace("{trustDomain: b}", "{trustDomain: a}");
    assert!(warnings(&load(&same)).is_empty());
}

// ---------------------------------------------------------------------------------------
// AuthorizationPolicy: translation

const FULL_POLICY: &str = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: full
  namespace: egress
spec:
  selector:
    matchLabels:
      istio: egressgateway
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/app/sa/client", "*/ns/x/sa/y", "cluster.local/ns/web/*"]
        notPrincipals: ["*"]
        requestPrincipals: ["https://issuer.example/sub-1", "*"]
        notRequestPrincipals: ["bad-issuer/*"]
        namespaces: ["app", "team-*-prod"]
        notNamespaces: ["kube-system"]
        ipBlocks: ["10.0.0.0/8", "192.168.1.7"]
        notIpBlocks: ["10.9.0.0/16"]
        remoteIpBlocks: ["2001:db8::/32"]
        notRemoteIpBlocks: ["203.0.113.4"]
    - source:
        serviceAccounts: ["app/client", "local-sa"]
        notServiceAccounts: ["app/blocked"]
        trustDomains: ["partner.example", "*.corp"]
        notTrustDomains: ["evil*"]
    to:
    - operation:
        hosts: ["api.Example.com", "*.example.org"]
        notHosts: ["admin.example.com"]
        ports: ["443", 8443]
        notPorts: ["9000"]
        methods: ["GET", "HEAD"]
        notMethods: ["DELETE"]
        paths: ["/v1/*", "/store/{**}/cart"]
        notPaths: ["/v1/admin"]
    when:
    - key: request.headers[X-Team]
      values: ["payments"]
      notValues: ["*-test"]
    - key: source.ip
      values: ["10.1.0.0/16"]
    - key: remote.ip
      notValues: ["1.2.3.4"]
    - key: destination.ip
      values: ["8.8.8.8"]
    - key: source.namespace
      values: ["app*"]
    - key: source.principal
      values: ["cluster.local/ns/app/sa/client"]
    - key: source.serviceAccount
      values: ["app/client", "bare"]
    - key: source.trustDomain
      values: ["cluster.local"]
    - key: request.auth.principal
      values: ["iss/sub"]
    - key: request.auth.audiences
      values: ["aud-*"]
    - key: request.auth.presenter
      values: ["presenter"]
    - key: request.auth.claims[groups]
      values: ["admins"]
    - key: request.auth.claims[realm_access][roles]
      values: ["writer"]
    - key: destination.port
      values: ["443"]
      notValues: ["8443"]
    - key: connection.sni
      values: ["*.example.com"]
    - key: experimental.envoy.filters.network.mysql_proxy[db.table]
      values: ["[update]"]
"#;

#[test]
fn authorization_policy_every_field() {
    let model = load(FULL_POLICY);
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
    let p = policy(&model, "full");
    assert_eq!(
        p.id,
        ResourceRef::new("AuthorizationPolicy", "egress", "full")
    );
    assert_eq!(p.vendor, Vendor::Istio);
    assert_eq!((p.location.line, p.location.column), (1, 1));
    assert_eq!(p.location.file, FILE);
    assert_eq!(p.action, Action::Allow);
    assert!(!p.dry_run);
    let mut labels = Labels::new();
    labels.insert("istio".into(), "egressgateway".into());
    assert_eq!(
        p.scope,
        Scope::Selector {
            match_labels: labels
        }
    );
    assert_eq!(p.rules.len(), 1);
    let rule = &p.rules[0];
    let loc = rule.location.as_ref().expect("rule location");
    assert_eq!((loc.line, loc.column), pos(FULL_POLICY, "from:"));

    let from = rule.from.as_ref().expect("from");
    assert_eq!(from.len(), 2);
    let s = &from[0];
    assert_eq!(
        s.principals.values,
        vec![
            exact("spiffe://cluster.local/ns/app/sa/client"),
            StringPattern::Suffix("/ns/x/sa/y".into()),
            StringPattern::Prefix("spiffe://cluster.local/ns/web/".into()),
        ]
    );
    assert_eq!(s.principals.not_values, vec![StringPattern::Presence]);
    assert_eq!(
        s.request_principals.values,
        vec![
            exact("https://issuer.example/sub-1"),
            StringPattern::Presence
        ]
    );
    assert_eq!(
        s.request_principals.not_values,
        vec![StringPattern::Prefix("bad-issuer/".into())]
    );
    assert_eq!(
        s.namespaces.values,
        vec![
            NamespacePattern { glob: "app".into() },
            NamespacePattern {
                glob: "team-*-prod".into()
            }
        ]
    );
    assert_eq!(
        s.namespaces.not_values,
        vec![NamespacePattern {
            glob: "kube-system".into()
        }]
    );
    assert_eq!(
        s.ip_blocks.values,
        vec![
            IpBlock::parse("10.0.0.0/8").unwrap(),
            IpBlock::parse("192.168.1.7").unwrap()
        ]
    );
    assert_eq!(
        s.ip_blocks.not_values,
        vec![IpBlock::parse("10.9.0.0/16").unwrap()]
    );
    assert_eq!(
        s.remote_ip_blocks.values,
        vec![IpBlock::parse("2001:db8::/32").unwrap()]
    );
    assert_eq!(
        s.remote_ip_blocks.not_values,
        vec![IpBlock::parse("203.0.113.4").unwrap()]
    );
    assert!(!s.service_accounts.is_set());
    let s = &from[1];
    let sa = |ns: &str, name: &str| ServiceAccountRef {
        namespace: ns.into(),
        name: name.into(),
    };
    assert_eq!(
        s.service_accounts.values,
        vec![sa("app", "client"), sa("egress", "local-sa")]
    );
    assert_eq!(s.service_accounts.not_values, vec![sa("app", "blocked")]);
    let td = |v: &str| TrustDomainPattern { value: v.into() };
    assert_eq!(
        s.trust_domains.values,
        vec![td("partner.example"), td("*.corp")]
    );
    assert_eq!(s.trust_domains.not_values, vec![td("evil*")]);
    assert!(!s.principals.is_set());

    let to = rule.to.as_ref().expect("to");
    assert_eq!(to.len(), 1);
    let op = &to[0];
    assert_eq!(
        op.hosts.values,
        vec![
            HostPattern::parse("api.Example.com"),
            HostPattern::parse("*.example.org")
        ]
    );
    assert!(op.hosts.values[0].matches("API.EXAMPLE.COM"));
    assert_eq!(
        op.hosts.not_values,
        vec![HostPattern::parse("admin.example.com")]
    );
    assert_eq!(op.ports.values, vec![443, 8443]);
    assert_eq!(op.ports.not_values, vec![9000]);
    assert_eq!(op.methods.values, vec![exact("GET"), exact("HEAD")]);
    assert_eq!(op.methods.not_values, vec![exact("DELETE")]);
    assert_eq!(
        op.paths.values,
        vec![
            PathPattern::parse("/v1/*").unwrap(),
            PathPattern::parse("/store/{**}/cart").unwrap()
        ]
    );
    assert_eq!(
        op.paths.not_values,
        vec![PathPattern::parse("/v1/admin").unwrap()]
    );

    let when = &rule.when;
    assert_eq!(when.len(), 16);
    assert_eq!(
        when[0],
        Condition::RequestHeader {
            name: "x-team".into(),
            field: Field {
                values: vec![exact("payments")],
                not_values: vec![StringPattern::Suffix("-test".into())],
            }
        }
    );
    assert_eq!(
        when[1],
        Condition::SourceIp(Field {
            values: vec![IpBlock::parse("10.1.0.0/16").unwrap()],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[2],
        Condition::RemoteIp(Field {
            values: vec![],
            not_values: vec![IpBlock::parse("1.2.3.4").unwrap()],
        })
    );
    assert_eq!(
        when[3],
        Condition::DestinationIp(Field {
            values: vec![IpBlock::parse("8.8.8.8").unwrap()],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[4],
        Condition::SourceNamespace(Field {
            values: vec![NamespacePattern {
                glob: "app*".into()
            }],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[5],
        Condition::SourcePrincipal(Field {
            values: vec![exact("spiffe://cluster.local/ns/app/sa/client")],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[6],
        Condition::SourceServiceAccount(Field {
            values: vec![sa("app", "client"), sa("egress", "bare")],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[7],
        Condition::SourceTrustDomain(Field {
            values: vec![td("cluster.local")],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[8],
        Condition::RequestAuthPrincipal(Field {
            values: vec![exact("iss/sub")],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[9],
        Condition::RequestAuthAudiences(Field {
            values: vec![StringPattern::Prefix("aud-".into())],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[10],
        Condition::RequestAuthPresenter(Field {
            values: vec![exact("presenter")],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[11],
        Condition::RequestAuthClaim {
            path: vec!["groups".into()],
            field: Field {
                values: vec![exact("admins")],
                not_values: vec![],
            }
        }
    );
    assert_eq!(
        when[12],
        Condition::RequestAuthClaim {
            path: vec!["realm_access".into(), "roles".into()],
            field: Field {
                values: vec![exact("writer")],
                not_values: vec![],
            }
        }
    );
    assert_eq!(
        when[13],
        Condition::DestinationPort(Field {
            values: vec![443],
            not_values: vec![8443],
        })
    );
    assert_eq!(
        when[14],
        Condition::ConnectionSni(Field {
            values: vec![StringPattern::Suffix(".example.com".into())],
            not_values: vec![],
        })
    );
    assert_eq!(
        when[15],
        Condition::Experimental {
            key: "experimental.envoy.filters.network.mysql_proxy[db.table]".into(),
            field: Field {
                values: vec![exact("[update]")],
                not_values: vec![],
            }
        }
    );
}

#[test]
fn v1beta1_and_default_namespace() {
    let model = load(
        "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\n\
         metadata: {name: p}\nspec:\n  rules:\n  - from:\n    - source: {serviceAccounts: [sa]}\n",
    );
    let p = policy(&model, "p");
    assert_eq!(p.id.namespace, "default");
    let from = p.rules[0].from.as_ref().unwrap();
    assert_eq!(
        from[0].service_accounts.values,
        vec![ServiceAccountRef {
            namespace: "default".into(),
            name: "sa".into()
        }]
    );
}

#[test]
fn trust_domain_aliases_expand_principals_and_trust_domains() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: td2
    trustDomainAliases: [td1]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: aliases, namespace: egress}
spec:
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/a/sa/b", "td1/ns/c/sa/d", "other/ns/e/sa/f", "*/ns/g/sa/h"]
        notPrincipals: ["td2/ns/x/sa/y"]
        trustDomains: ["td1", "partner", "td2"]
    when:
    - key: source.principal
      values: ["cluster.local/ns/a/sa/b"]
    - key: source.trustDomain
      notValues: ["td2"]
"#;
    let model = load(text);
    let p = policy(&model, "aliases");
    let rule = &p.rules[0];
    let s = &rule.from.as_ref().unwrap()[0];
    assert_eq!(
        s.principals.values,
        vec![
            exact("spiffe://td2/ns/a/sa/b"),
            exact("spiffe://td1/ns/a/sa/b"),
            exact("spiffe://td2/ns/c/sa/d"),
            exact("spiffe://td1/ns/c/sa/d"),
            exact("spiffe://other/ns/e/sa/f"),
            StringPattern::Suffix("/ns/g/sa/h".into()),
        ]
    );
    assert_eq!(
        s.principals.not_values,
        vec![
            exact("spiffe://td2/ns/x/sa/y"),
            exact("spiffe://td1/ns/x/sa/y")
        ]
    );
    let td = |v: &str| TrustDomainPattern { value: v.into() };
    assert_eq!(
        s.trust_domains.values,
        vec![td("td2"), td("td1"), td("partner")]
    );
    assert_eq!(
        rule.when[0],
        Condition::SourcePrincipal(Field {
            values: vec![
                exact("spiffe://td2/ns/a/sa/b"),
                exact("spiffe://td1/ns/a/sa/b")
            ],
            not_values: vec![],
        })
    );
    assert_eq!(
        rule.when[1],
        Condition::SourceTrustDomain(Field {
            values: vec![],
            not_values: vec![td("td2"), td("td1")],
        })
    );
}

#[test]
fn cluster_local_means_the_local_trust_domain() {
    let text = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n\
                metadata: {name: op, namespace: istio-system}\nspec:\n  meshConfig: {trustDomain: corp}\n\
                ---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
                metadata: {name: p, namespace: egress}\nspec:\n  rules:\n  - from:\n    \
                - source: {principals: [cluster.local/ns/a/sa/b]}\n";
    let model = load(text);
    let s = &policy(&model, "p").rules[0].from.as_ref().unwrap()[0];
    assert_eq!(s.principals.values, vec![exact("spiffe://corp/ns/a/sa/b")]);
}

#[test]
fn dry_run_annotation_is_parsed_like_go_parse_bool() {
    for (value, expected) in [
        ("true", true),
        ("\"1\"", true),
        ("t", true),
        ("T", true),
        ("TRUE", true),
        ("True", true),
        ("false", false),
        ("\"0\"", false),
        ("f", false),
        ("F", false),
        ("FALSE", false),
        ("False", false),
    ] {
        let text = format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  \
             name: p\n  namespace: egress\n  annotations:\n    istio.io/dry-run: {value}\n\
             spec: {{}}\n"
        );
        let model = load(&text);
        assert_eq!(policy(&model, "p").dry_run, expected, "{value}");
        assert!(warnings(&model).is_empty(), "{value}: {:?}", model.warnings);
    }
    let text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  \
                name: p\n  namespace: egress\n  annotations:\n    istio.io/dry-run: \"yes\"\n\
                spec: {}\n";
    let model = load(text);
    assert!(!policy(&model, "p").dry_run);
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    assert_eq!(warns.len(), 1);
    expect(
        &warns,
        "metadata.annotations.istio.io/dry-run",
        pos(text, "\"yes\""),
        "AuthorizationPolicy egress/p",
        "the policy is enforced",
    );
}

#[test]
fn rules_absent_empty_and_empty_rule() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: egress}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-spec, namespace: egress}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty-list, namespace: egress}
spec:
  rules: []
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: egress}
spec:
  rules:
  - {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: egress}
spec:
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: egress}
spec:
  action: AUDIT
  rules:
  - to: [{operation: {methods: [POST]}}]
"#;
    let model = load(text);
    for name in ["allow-nothing", "no-spec", "empty-list"] {
        let p = policy(&model, name);
        assert_eq!(p.action, Action::Allow);
        assert!(p.rules.is_empty(), "{name}");
        assert_eq!(
            p.scope,
            Scope::Selector {
                match_labels: Labels::new()
            }
        );
    }
    let all = policy(&model, "allow-all");
    assert_eq!(all.rules.len(), 1);
    let rule = &all.rules[0];
    assert_eq!(rule.from, None);
    assert_eq!(rule.to, None);
    assert!(rule.when.is_empty());
    let loc = rule.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), pos(text, "{}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all"));
    let deny = policy(&model, "deny-all");
    assert_eq!(deny.action, Action::Deny);
    assert_eq!(deny.rules.len(), 1);
    assert_eq!(deny.rules[0].from, None);
    let audit = policy(&model, "audit");
    assert_eq!(audit.action, Action::Audit);
    assert_eq!(audit.rules[0].from, None);
    assert_eq!(audit.rules[0].to.as_ref().unwrap().len(), 1);
}

#[test]
fn custom_action_with_provider() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: egress}
spec:
  action: CUSTOM
  provider:
    name: opa
  rules:
  - to: [{operation: {paths: ["/admin/*"]}}]
    from: [{source: {ipBlocks: ["10.0.0.0/8"]}}]
    when:
    - key: source.ip
      values: ["10.0.0.1"]
"#;
    let model = load(text);
    let p = policy(&model, "ext");
    assert_eq!(p.action, Action::Custom("opa".into()));
    assert_eq!(p.rules.len(), 1);
}

#[test]
fn target_refs_scope() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: one, namespace: egress}
spec:
  targetRef:
    group: gateway.networking.k8s.io
    kind: Gateway
    name: egress-waypoint
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: many, namespace: egress}
spec:
  targetRefs:
  - kind: ServiceEntry
    group: networking.istio.io
    name: httpbin
  - kind: Service
    group: core
    name: svc
    namespace: egress
  - kind: Service
    group: ""
    name: svc2
  - kind: GatewayClass
    group: gateway.networking.k8s.io
    name: istio-waypoint
"#;
    let model = load(text);
    let target = |group: &str, kind: &str, name: &str| TargetRef {
        group: group.into(),
        kind: TargetKind::from_wire(kind).expect("a target kind"),
        name: name.into(),
        namespace: "egress".into(),
    };
    assert_eq!(
        policy(&model, "one").scope,
        Scope::TargetRefs {
            targets: vec![target(
                "gateway.networking.k8s.io",
                "Gateway",
                "egress-waypoint"
            )]
        }
    );
    assert_eq!(
        policy(&model, "many").scope,
        Scope::TargetRefs {
            targets: vec![
                target("networking.istio.io", "ServiceEntry", "httpbin"),
                target("", "Service", "svc"),
                target("", "Service", "svc2"),
                target(
                    "gateway.networking.k8s.io",
                    "GatewayClass",
                    "istio-waypoint"
                ),
            ]
        }
    );
}

// ---------------------------------------------------------------------------------------
// AuthorizationPolicy: validation

#[test]
fn scope_errors() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: both, namespace: egress}
spec:
  selector:
    matchLabels: {app: "gw*"}
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: gw
    namespace: other
  - kind: Deployment
    group: apps
    name: gw
  - group: gateway.networking.k8s.io
    name: x
  - kind: Gateway
    group: gateway.networking.k8s.io
"#;
    let diags = errors(text);
    let r = "AuthorizationPolicy egress/both";
    expect(
        &diags,
        "spec.targetRefs",
        pos(text, "kind: Gateway"),
        r,
        "only one of `selector` or `targetRef`/`targetRefs`",
    );
    expect(
        &diags,
        "spec.selector.matchLabels.app",
        pos(text, "{app"),
        r,
        "wildcard is not supported",
    );
    expect(
        &diags,
        "spec.targetRefs[0].namespace",
        pos(text, "other"),
        r,
        "cross namespace referencing is not supported",
    );
    expect(
        &diags,
        "spec.targetRefs[1].kind",
        pos(text, "Deployment"),
        r,
        "cannot target `apps/Deployment`",
    );
    expect(
        &diags,
        "spec.targetRefs[2].kind",
        pos_nth(text, "group: gateway", 1),
        r,
        "missing field `kind`",
    );
    expect(
        &diags,
        "spec.targetRefs[3].name",
        pos_nth(text, "kind: Gateway", 1),
        r,
        "missing field `name`",
    );
    assert_eq!(diags.len(), 6, "{diags:#?}");
}

#[test]
fn target_ref_and_target_refs_together() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: two, namespace: egress}
spec:
  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: a}
  targetRefs:
  - {kind: Gateway, group: gateway.networking.k8s.io, name: b}
"#;
    let diags = errors(text);
    expect(
        &diags,
        "spec.targetRefs",
        pos(
            text,
            "{kind: Gateway, group: gateway.networking.k8s.io, name: b}",
        ),
        "AuthorizationPolicy egress/two",
        "only one of `targetRef` or `targetRefs`",
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
}

#[test]
fn action_errors() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-no-rules, namespace: egress}
spec:
  action: DENY
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-empty-rules, namespace: egress}
spec:
  action: DENY
  rules: []
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom-no-provider, namespace: egress}
spec:
  action: CUSTOM
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom-empty-provider, namespace: egress}
spec:
  action: CUSTOM
  provider: {name: ""}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: provider-on-allow, namespace: egress}
spec:
  provider: {name: opa}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad-action, namespace: egress}
spec:
  action: REJECT
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom-identity, namespace: egress}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/a/sa/b"]
        notNamespaces: ["x"]
        requestPrincipals: ["iss/sub"]
        serviceAccounts: ["a/b"]
        trustDomains: ["td"]
        ipBlocks: ["10.0.0.1"]
    when:
    - key: source.principal
      values: ["a"]
    - key: request.auth.claims[iss]
      values: ["a"]
    - key: source.ip
      values: ["10.0.0.1"]
"#;
    let diags = errors(text);
    expect(
        &diags,
        "spec.rules",
        pos_nth(text, "DENY", 0),
        "AuthorizationPolicy egress/deny-no-rules",
        "DENY action without `rules`",
    );
    expect(
        &diags,
        "spec.rules",
        pos(text, "[]"),
        "AuthorizationPolicy egress/deny-empty-rules",
        "DENY action without `rules`",
    );
    expect(
        &diags,
        "spec.provider",
        pos_nth(text, "CUSTOM", 0),
        "AuthorizationPolicy egress/custom-no-provider",
        "needs `provider.name`",
    );
    expect(
        &diags,
        "spec.provider.name",
        pos(text, "\"\"}"),
        "AuthorizationPolicy egress/custom-empty-provider",
        "needs `provider.name`",
    );
    expect(
        &diags,
        "spec.rules",
        pos_nth(text, "CUSTOM", 1),
        "AuthorizationPolicy egress/custom-empty-provider",
        "CUSTOM action without `rules`",
    );
    expect(
        &diags,
        "spec.provider",
        pos(text, "{name: opa}\n  rules"),
        "AuthorizationPolicy egress/provider-on-allow",
        "`provider` must only be set with the CUSTOM action, found ALLOW",
    );
    expect(
        &diags,
        "spec.action",
        pos(text, "REJECT"),
        "AuthorizationPolicy egress/bad-action",
        "unknown value `REJECT` for `action`",
    );
    let r = "AuthorizationPolicy egress/custom-identity";
    for (field, needle) in [
        ("principals", "[\"cluster.local/ns/a/sa/b\"]"),
        ("notNamespaces", "[\"x\"]"),
        ("requestPrincipals", "[\"iss/sub\"]"),
        ("serviceAccounts", "[\"a/b\"]"),
        ("trustDomains", "[\"td\"]"),
    ] {
        expect(
            &diags,
            &format!("spec.rules[0].from[0].source.{field}"),
            pos(text, needle),
            r,
            "is not supported with the CUSTOM action",
        );
    }
    expect(
        &diags,
        "spec.rules[0].when[0].key",
        pos(text, "source.principal"),
        r,
        "`source.principal` is not supported with the CUSTOM action",
    );
    expect(
        &diags,
        "spec.rules[0].when[1].key",
        pos(text, "request.auth.claims[iss]"),
        r,
        "is not supported with the CUSTOM action",
    );
    // Two more: `serviceAccounts` next to `principals` and `notNamespaces`.
    assert_eq!(diags.len(), 16, "{diags:#?}");
}

#[test]
fn rule_structure_errors() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: egress}
spec:
  rules:
  - from: []
    to: []
  - from:
    - source: {}
    - {}
    to:
    - operation: {}
    - {}
  - from:
    - source:
        principals: []
        princpals: ["x"]
    too: []
  - from:
    - source:
        namespaces: []
"#;
    let diags = errors(text);
    let r = "AuthorizationPolicy egress/p";
    expect(
        &diags,
        "spec.rules[0].from",
        pos(text, "[]"),
        r,
        "`from` must not be empty",
    );
    expect(
        &diags,
        "spec.rules[0].to",
        pos_nth(text, "[]", 1),
        r,
        "`to` must not be empty",
    );
    expect(
        &diags,
        "spec.rules[1].from[0].source",
        pos(text, "{}"),
        r,
        "`source` must not be empty",
    );
    expect(
        &diags,
        "spec.rules[1].from[1].source",
        pos_nth(text, "{}", 1),
        r,
        "missing field `source`",
    );
    expect(
        &diags,
        "spec.rules[1].to[0].operation",
        pos_nth(text, "{}", 2),
        r,
        "`operation` must not be empty",
    );
    expect(
        &diags,
        "spec.rules[1].to[1].operation",
        pos_nth(text, "{}", 3),
        r,
        "missing field `operation`",
    );
    expect(
        &diags,
        "spec.rules[2].from[0].source.princpals",
        pos(text, "princpals"),
        r,
        "unknown field `princpals`",
    );
    // `principals: []` and an unknown field only: the unknown field is the one report.
    expect(
        &diags,
        "spec.rules[3].from[0].source",
        pos(text, "namespaces: []"),
        r,
        "`source` must not be empty",
    );
    expect(
        &diags,
        "spec.rules[2].too",
        pos(text, "too"),
        r,
        "unknown field `too`, expected one of `from`, `to`, `when`",
    );
    assert_eq!(diags.len(), 9, "{diags:#?}");
}

#[test]
fn value_errors() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: values, namespace: egress}
spec:
  rules:
  - from:
    - source:
        principals: ["ok", ""]
        ipBlocks: ["10.0.0.0/33", "300.1.1.1", "10.0.0.1/"]
        notRemoteIpBlocks: ["not-an-ip"]
    - source:
        serviceAccounts: ["a/*", "a/b/c", "/sa", "ns/", "ok"]
        trustDomains: ["a/b", "a*b", "*a*", "*ok", "ok*", "*"]
    to:
    - operation:
        ports: ["70000", "-1", "http", 65536, ""]
        notPorts: ["0", "65535"]
        paths: ["/{buzz}", "/foo/{*}/bar/*", "/ok/{*}", "/ok/*"]
        notPaths: ["/a/{**}/{*}"]
        methods: [""]
"#;
    let diags = errors(text);
    let r = "AuthorizationPolicy egress/values";
    let src = "spec.rules[0].from[0].source";
    expect(
        &diags,
        &format!("{src}.principals[1]"),
        pos(text, "\"\"]"),
        r,
        "empty string",
    );
    expect(
        &diags,
        &format!("{src}.ipBlocks[0]"),
        pos(text, "\"10.0.0.0/33\""),
        r,
        "bad CIDR range `10.0.0.0/33`",
    );
    expect(
        &diags,
        &format!("{src}.ipBlocks[1]"),
        pos(text, "\"300.1.1.1\""),
        r,
        "bad IP address `300.1.1.1`",
    );
    expect(
        &diags,
        &format!("{src}.ipBlocks[2]"),
        pos(text, "\"10.0.0.1/\""),
        r,
        "bad CIDR range",
    );
    expect(
        &diags,
        &format!("{src}.notRemoteIpBlocks[0]"),
        pos(text, "\"not-an-ip\""),
        r,
        "bad IP address",
    );
    let src = "spec.rules[0].from[1].source";
    for (i, needle, message) in [
        (0, "\"a/*\"", "wildcards are not supported"),
        (1, "\"a/b/c\"", "expected `<namespace>/<name>` or `<name>`"),
        (2, "\"/sa\"", "must not be empty"),
        (3, "\"ns/\"", "must not be empty"),
    ] {
        expect(
            &diags,
            &format!("{src}.serviceAccounts[{i}]"),
            pos(text, needle),
            r,
            message,
        );
    }
    for (i, needle, message) in [
        (0, "\"a/b\"", "must not contain `/`"),
        (1, "\"a*b\"", "only allowed at the start or the end"),
        (2, "\"*a*\"", "at most one `*`"),
    ] {
        expect(
            &diags,
            &format!("{src}.trustDomains[{i}]"),
            pos(text, needle),
            r,
            message,
        );
    }
    let op = "spec.rules[0].to[0].operation";
    for (i, needle) in [
        (0, "\"70000\""),
        (1, "\"-1\""),
        (2, "\"http\""),
        (3, "65536"),
    ] {
        expect(
            &diags,
            &format!("{op}.ports[{i}]"),
            pos(text, needle),
            r,
            "is not a number in 0..65535",
        );
    }
    expect(
        &diags,
        &format!("{op}.ports[4]"),
        pos(text, "\"\"]\n        notPorts"),
        r,
        "empty string",
    );
    expect(
        &diags,
        &format!("{op}.paths[0]"),
        pos(text, "\"/{buzz}\""),
        r,
        "invalid path template",
    );
    expect(
        &diags,
        &format!("{op}.paths[1]"),
        pos(text, "\"/foo/{*}/bar/*\""),
        r,
        "invalid path template",
    );
    expect(
        &diags,
        &format!("{op}.notPaths[0]"),
        pos(text, "\"/a/{**}/{*}\""),
        r,
        "no operator may follow",
    );
    expect(
        &diags,
        &format!("{op}.methods[0]"),
        pos(text, "methods: [\"\"]").pipe_col(10),
        r,
        "empty string",
    );
    assert_eq!(diags.len(), 21, "{diags:#?}");
}

#[test]
fn service_account_limits_and_combinations() {
    let many: Vec<String> = (0..17).map(|i| format!("\"sa{i}\"")).collect();
    let text = format!(
        r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: sas, namespace: egress}}
spec:
  rules:
  - from:
    - source:
        serviceAccounts: [{}]
    - source:
        notServiceAccounts: ["a/b"]
        namespaces: ["x"]
    - source:
        serviceAccounts: ["a/b"]
        notPrincipals: ["x"]
    - source:
        serviceAccounts: ["a/b"]
        principals: []
"#,
        many.join(", ")
    );
    let diags = errors(&text);
    let r = "AuthorizationPolicy egress/sas";
    expect(
        &diags,
        "spec.rules[0].from[0].source.serviceAccounts",
        pos(&text, "[\"sa0\""),
        r,
        "has 17 values, more than the limit of 16",
    );
    expect(
        &diags,
        "spec.rules[0].from[1].source.notServiceAccounts",
        pos(&text, "[\"a/b\"]\n        namespaces"),
        r,
        "`notServiceAccounts` cannot be combined with `namespaces`",
    );
    expect(
        &diags,
        "spec.rules[0].from[2].source.serviceAccounts",
        pos(&text, "[\"a/b\"]\n        notPrincipals"),
        r,
        "`serviceAccounts` cannot be combined with `notPrincipals`",
    );
    assert_eq!(diags.len(), 3, "{diags:#?}");
}

#[test]
fn when_errors() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: conditions, namespace: egress}
spec:
  rules:
  - when:
    - key: request.headers[x-a]
    - key: request.headers[x-b]
      values: []
      notValues: []
    - key: destination.labels[app]
      values: ["a"]
    - key: destination.name
      values: ["a"]
    - key: destination.namespace
      values: ["a"]
    - key: destination.user
      values: ["a"]
    - key: source.nonsense
      values: ["a"]
    - key: request.headers
      values: ["a"]
    - key: request.headers[]
      values: ["a"]
    - key: request.auth.claims[a]b
      values: ["a"]
    - key: experimental.envoy.filters.x
      values: ["a"]
    - key: ""
      values: ["a"]
    - values: ["a"]
    - key: source.ip
      values: ["1.2.3.4/40"]
    - key: destination.port
      notValues: ["99999"]
    - key: connection.sni
      values: [""]
    - key: source.principal
      valuse: ["a"]
"#;
    let diags = errors(text);
    let r = "AuthorizationPolicy egress/conditions";
    let w = "spec.rules[0].when";
    expect(
        &diags,
        &format!("{w}[0]"),
        pos(text, "key: request.headers[x-a]"),
        r,
        "at least one of `values` or `notValues` must be set for key `request.headers[x-a]`",
    );
    expect(
        &diags,
        &format!("{w}[1]"),
        pos(text, "key: request.headers[x-b]"),
        r,
        "at least one of `values` or `notValues`",
    );
    for (i, needle, message) in [
        (2, "destination.labels[app]", "`selector` replaces it"),
        (3, "destination.name", "only supported in v1alpha1"),
        (
            4,
            "destination.namespace",
            "the policy's namespace replaces it",
        ),
        (5, "destination.user", "only supported in v1alpha1"),
        (6, "source.nonsense", "unknown attribute `source.nonsense`"),
        (7, "request.headers\n", "bad key `request.headers`"),
        (8, "request.headers[]", "bad key"),
        (9, "request.auth.claims[a]b", "bad key"),
        (10, "experimental.envoy.filters.x", "bad key"),
    ] {
        expect(
            &diags,
            &format!("{w}[{i}].key"),
            pos(text, needle),
            r,
            message,
        );
    }
    expect(
        &diags,
        &format!("{w}[11].key"),
        pos(text, "\"\"\n"),
        r,
        "`key` must not be empty",
    );
    expect(
        &diags,
        &format!("{w}[12].key"),
        pos(text, "values: [\"a\"]\n    - key: source.ip"),
        r,
        "missing field `key`",
    );
    expect(
        &diags,
        &format!("{w}[13].values[0]"),
        pos(text, "\"1.2.3.4/40\""),
        r,
        "bad CIDR range",
    );
    expect(
        &diags,
        &format!("{w}[14].notValues[0]"),
        pos(text, "\"99999\""),
        r,
        "is not a number in 0..65535",
    );
    expect(
        &diags,
        &format!("{w}[15].values[0]"),
        pos(text, "[\"\"]").pipe_col(1),
        r,
        "empty string",
    );
    expect(
        &diags,
        &format!("{w}[16].valuse"),
        pos(text, "valuse"),
        r,
        "unknown field `valuse`",
    );
    expect(
        &diags,
        &format!("{w}[16]"),
        pos(text, "key: source.principal"),
        r,
        "at least one of `values` or `notValues`",
    );
    assert_eq!(diags.len(), 18, "{diags:#?}");
}

/// Moves a position right by `n` columns (to step over an opening bracket).
trait PipeCol {
    fn pipe_col(self, n: u32) -> (u32, u32);
}

impl PipeCol for (u32, u32) {
    fn pipe_col(self, n: u32) -> (u32, u32) {
        (self.0, self.1 + n)
    }
}

#[test]
fn unknown_fields_and_versions() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: egress}
spec:
  action: ALLOW
  rulez: []
statuz: {}
---
apiVersion: security.istio.io/v2
kind: AuthorizationPolicy
metadata: {name: future, namespace: egress}
spec: {}
"#;
    let diags = errors(text);
    expect(
        &diags,
        "spec.rulez",
        pos(text, "rulez"),
        "AuthorizationPolicy egress/p",
        "unknown field `rulez`",
    );
    expect(
        &diags,
        "statuz",
        pos(text, "statuz"),
        "AuthorizationPolicy egress/p",
        "unknown field `statuz`",
    );
    expect(
        &diags,
        "apiVersion",
        pos(text, "security.istio.io/v2"),
        "AuthorizationPolicy egress/future",
        "unsupported apiVersion `security.istio.io/v2`",
    );
    assert_eq!(diags.len(), 3, "{diags:#?}");
}

#[test]
fn unmodelled_istio_kinds_are_skipped() {
    let model = load(
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: a}\n\
         spec: {}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
         metadata: {name: p, namespace: a}\nspec: {}\n---\napiVersion: security.istio.io/v1\n\
         kind: RequestAuthentication\nmetadata: {name: r, namespace: a}\nspec: {}\n",
    );
    // One warning for the kind egress-policy does not model, at its `kind:` line.
    let got: Vec<(u32, u32, &str)> = warnings(&model)
        .iter()
        .map(|w| (w.location.line, w.location.column, w.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![(
            7,
            7,
            "skipped PeerAuthentication (security.istio.io/v1): egress-policy does not model it"
        )]
    );
    // Sidecar and RequestAuthentication decide the road: they are modelled.
    assert_eq!(model.sidecars.len(), 1);
    assert_eq!(model.request_authns.len(), 1);
}

// ---------------------------------------------------------------------------------------
// ServiceEntry

#[test]
fn service_entry_every_field() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: httpbin
  namespace: egress
spec:
  hosts:
  - httpbin.org
  - "*.example.com"
  - api.corp.example.
  addresses: ["203.0.113.0/24", "2001:db8::1"]
  ports:
  - number: 80
    name: http
    protocol: http
  - number: 443
    name: tls
    protocol: TLS
    targetPort: 8443
  - number: 9000
  location: MESH_EXTERNAL
  resolution: DNS_ROUND_ROBIN
  endpoints:
  - address: httpbin.org
  workloadSelector:
    labels: {app: x}
  exportTo: [".", "istio-system"]
  subjectAltNames: ["spiffe://x"]
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: defaults, namespace: egress}
spec:
  hosts: [a.example]
"#;
    let model = load(text);
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
    let svc = &model.services[0];
    assert_eq!(
        svc.id,
        ResourceRef::new("ServiceEntry", "egress", "httpbin")
    );
    assert_eq!(svc.vendor, Vendor::Istio);
    assert_eq!((svc.location.line, svc.location.column), (1, 1));
    assert_eq!(
        svc.hosts,
        vec!["httpbin.org", "*.example.com", "api.corp.example."]
    );
    assert_eq!(
        svc.ports,
        vec![
            ServicePort {
                number: 80,
                protocol: "HTTP".into(),
                name: "http".into(),
                target_port: None
            },
            ServicePort {
                number: 443,
                protocol: "TLS".into(),
                name: "tls".into(),
                target_port: Some(8443)
            },
            ServicePort {
                number: 9000,
                protocol: PortProtocol::Unspecified,
                name: String::new(),
                target_port: None
            },
        ]
    );
    assert_eq!(svc.resolution, Resolution::DnsRoundRobin);
    assert_eq!(svc.export_to, vec![".", "istio-system"]);
    assert_eq!(svc.gateway, None);
    assert_eq!(svc.gateway_port, None);
    assert_eq!(svc.tls, None);
    let defaults = &model.services[1];
    assert_eq!(defaults.resolution, Resolution::None);
    assert!(defaults.ports.is_empty());
    assert!(defaults.export_to.is_empty());
}

#[test]
fn service_entry_host_validation() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hosts, namespace: egress}
spec:
  hosts:
  - "*"
  - foo.*.com
  - foo*.bar.com
  - 10.1.2.3
  - "::1"
  - bad_label.com
  - -lead.com
  - a..b
  - ok.example.com
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: none, namespace: egress}
spec:
  hosts: []
  ports:
  - {number: 0, name: zero}
  - {number: 80, name: a}
  - {number: 80, name: a}
  - name: no-number
  resolution: MAGIC
  location: SOMEWHERE
  addresses: [not-an-ip]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-wildcard, namespace: egress}
spec:
  hosts: ["*.example.com"]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: no-spec, namespace: egress}
"#;
    let diags = errors(text);
    let r = "ServiceEntry egress/hosts";
    for (i, needle, message) in [
        (0, "\"*\"", "a lone `*`"),
        (1, "foo.*.com", "a `*` may only lead the first label"),
        (2, "foo*.bar.com", "a `*` may only lead the first label"),
        (3, "10.1.2.3", "IP addresses are not hosts"),
        (4, "\"::1\"", "IP addresses are not hosts"),
        (5, "bad_label.com", "label `bad_label` is not a DNS label"),
        (6, "-lead.com", "label `-lead` is not a DNS label"),
        (7, "a..b", "label `` is not a DNS label"),
    ] {
        expect(
            &diags,
            &format!("spec.hosts[{i}]"),
            pos(text, needle),
            r,
            message,
        );
    }
    let r = "ServiceEntry egress/none";
    expect(
        &diags,
        "spec.hosts",
        pos(text, "[]"),
        r,
        "at least one host is required",
    );
    expect(
        &diags,
        "spec.ports[0].number",
        pos(text, "0, name: zero"),
        r,
        "port 0 is not a number in 1..65535",
    );
    expect(
        &diags,
        "spec.ports[2].number",
        pos_nth(text, "80, name: a", 1),
        r,
        "port number 80 is listed more than once",
    );
    expect(
        &diags,
        "spec.ports[2].name",
        pos_nth(text, "a}", 1),
        r,
        "port name `a` is listed more than once",
    );
    expect(
        &diags,
        "spec.ports[3].number",
        pos(text, "name: no-number"),
        r,
        "missing field `number`",
    );
    expect(
        &diags,
        "spec.resolution",
        pos(text, "MAGIC"),
        r,
        "unknown value `MAGIC` for `resolution`",
    );
    expect(
        &diags,
        "spec.location",
        pos(text, "SOMEWHERE"),
        r,
        "unknown value `SOMEWHERE` for `location`",
    );
    expect(
        &diags,
        "spec.addresses[0]",
        pos(text, "not-an-ip"),
        r,
        "invalid address `not-an-ip`",
    );
    expect(
        &diags,
        "spec.hosts[0]",
        pos(text, "\"*.example.com\"]\n  resolution: DNS"),
        "ServiceEntry egress/dns-wildcard",
        "cannot be resolved with resolution DNS",
    );
    expect(
        &diags,
        "spec",
        pos(
            text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: no-spec",
        ),
        "ServiceEntry egress/no-spec",
        "missing field `spec`",
    );
    assert_eq!(diags.len(), 18, "{diags:#?}");
}

#[test]
fn service_entry_partial_wildcard_warns() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: partial, namespace: egress}
spec:
  hosts: ["*foo.bar.com", "*-api.example.com"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dynamic, namespace: egress}
spec:
  hosts: ["*foo.bar.com"]
  resolution: DYNAMIC_DNS
"#;
    let model = load(text);
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    assert_eq!(warns.len(), 2, "{warns:#?}");
    expect(
        &warns,
        "spec.hosts[0]",
        pos(text, "\"*foo.bar.com\""),
        "ServiceEntry egress/partial",
        "partial wildcard host `*foo.bar.com`",
    );
    expect(
        &warns,
        "spec.hosts[1]",
        pos(text, "\"*-api"),
        "ServiceEntry egress/partial",
        "partial wildcard",
    );
    assert_eq!(model.services[0].hosts.len(), 2);
}

#[test]
fn service_entry_host_limit() {
    let hosts: Vec<String> = (0..257).map(|i| format!("h{i}.example.com")).collect();
    let text = format!(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: many, namespace: e}}\n\
         spec:\n  hosts: [{}]\n",
        hosts.join(", ")
    );
    let diags = errors(&text);
    expect(
        &diags,
        "spec.hosts",
        (5, 10),
        "ServiceEntry e/many",
        "257 hosts, more than the limit of 256",
    );
    assert_eq!(diags.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Waypoints

const WAYPOINT: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: egress-waypoint
  namespace: egress
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
"#;

fn service_entry_doc(name: &str, namespace: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\n  labels: {{{labels}}}\nspec:\n  hosts: [{name}.example.com]\n"
    )
}

fn gateway_of<'m>(model: &'m Model, name: &str) -> Option<&'m ResourceRef> {
    model
        .services
        .iter()
        .find(|s| s.id.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
        .gateway
        .as_ref()
}

#[test]
fn waypoint_linking() {
    let mut text = WAYPOINT.to_string();
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    \
         istio.io/use-waypoint: egress-waypoint\n    istio.io/use-waypoint-namespace: egress\n",
    );
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: egress\n  labels:\n    \
         istio.io/use-waypoint: egress-waypoint\n",
    );
    text.push_str(&service_entry_doc(
        "own-label",
        "other",
        "istio.io/use-waypoint: egress-waypoint, istio.io/use-waypoint-namespace: egress",
    ));
    text.push_str(&service_entry_doc("from-namespace", "apps", ""));
    text.push_str(&service_entry_doc("same-namespace", "egress", ""));
    text.push_str(&service_entry_doc(
        "opted-out",
        "apps",
        "istio.io/use-waypoint: none",
    ));
    text.push_str(&service_entry_doc("plain", "elsewhere", ""));
    let model = load(&text);
    assert!(warnings(&model).is_empty(), "{:?}", model.warnings);
    let waypoint = ResourceRef::new("Gateway", "egress", "egress-waypoint");
    assert_eq!(gateway_of(&model, "own-label"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "from-namespace"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "same-namespace"), Some(&waypoint));
    assert_eq!(gateway_of(&model, "opted-out"), None);
    assert_eq!(gateway_of(&model, "plain"), None);
    let gw = &model.gateways[0];
    assert_eq!(gw.id, waypoint);
    assert_eq!(gw.kind, GatewayKind::Waypoint);
    assert_eq!(gw.namespace, "egress");
    assert_eq!(gw.ports, vec![15008]);
    assert_eq!(
        gw.labels.get("gateway.networking.k8s.io/gateway-name"),
        Some(&"egress-waypoint".to_string())
    );
}

#[test]
fn unresolved_waypoint_is_kept_with_a_warning() {
    let mut text = service_entry_doc("remote", "apps", "istio.io/use-waypoint: wp");
    text.push_str(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns2\n  labels:\n    \
         istio.io/use-waypoint: ns-wp\n",
    );
    text.push_str(&service_entry_doc("via-ns", "ns2", ""));
    text.push_str(
        "---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: classic, namespace: apps}\n\
         spec:\n  selector: {istio: egressgateway}\n  servers:\n  - port: {number: 443, name: tls, protocol: TLS}\n    \
         hosts: [\"*\"]\n",
    );
    text.push_str(&service_entry_doc(
        "not-a-waypoint",
        "apps",
        "istio.io/use-waypoint: classic",
    ));
    let model = load(&text);
    assert_eq!(
        gateway_of(&model, "remote"),
        Some(&ResourceRef::new("Gateway", "apps", "wp"))
    );
    assert_eq!(
        gateway_of(&model, "via-ns"),
        Some(&ResourceRef::new("Gateway", "ns2", "ns-wp"))
    );
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    assert_eq!(warns.len(), 3, "{warns:#?}");
    expect(
        &warns,
        "metadata.labels.istio.io/use-waypoint",
        pos(&text, "apiVersion"),
        "ServiceEntry apps/remote",
        "waypoint Gateway apps/wp named by label `istio.io/use-waypoint` is not among the loaded",
    );
    expect(
        &warns,
        "metadata.namespace",
        pos_nth(
            &text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry",
            1,
        ),
        "ServiceEntry ns2/via-ns",
        "named by namespace ns2",
    );
    expect(
        &warns,
        "metadata.labels.istio.io/use-waypoint",
        pos_nth(
            &text,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry",
            2,
        ),
        "ServiceEntry apps/not-a-waypoint",
        "is not a waypoint",
    );
}

// ---------------------------------------------------------------------------------------
// DestinationRule

#[test]
fn destination_rule_tls() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: originate, namespace: egress}
spec:
  host: httpbin.org
  exportTo: ["."]
  workloadSelector: {matchLabels: {istio: egressgateway}}
  subsets:
  - name: tls
    trafficPolicy: {tls: {mode: SIMPLE}}
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 10}}
    outlierDetection: {consecutive5xxErrors: 3}
    tls:
      mode: SIMPLE
      sni: httpbin.org
      caCertificates: /etc/certs/ca.pem
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: MUTUAL, sni: mtls.httpbin.org, credentialName: client}
    - port: {number: 80}
      loadBalancer: {simple: LEAST_REQUEST}
    - port: {number: 8443}
      tls: {}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: mesh-mtls, namespace: egress}
spec:
  host: "*.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bare, namespace: egress}
spec:
  host: plain.example
"#;
    let model = load(text);
    let dr = &model.tls_settings[0];
    assert_eq!(
        dr.origin,
        ResourceRef::new("DestinationRule", "egress", "originate")
    );
    assert_eq!(dr.host, "httpbin.org");
    assert_eq!(dr.mode, Some(TlsMode::Simple));
    assert_eq!(dr.sni.as_deref(), Some("httpbin.org"));
    assert_eq!(
        dr.ports,
        vec![
            (443, TlsMode::Mutual, Some("mtls.httpbin.org".to_string())),
            (8443, TlsMode::Disable, None),
        ]
    );
    let mesh = &model.tls_settings[1];
    assert_eq!(mesh.mode, Some(TlsMode::IstioMutual));
    assert_eq!(mesh.sni, None);
    let bare = &model.tls_settings[2];
    assert_eq!(bare.mode, None);
    assert!(bare.ports.is_empty());
}

#[test]
fn destination_rule_errors() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad, namespace: egress}
spec:
  trafficPolicy:
    tls:
      mode: STRICT
      snii: x
    portLevelSettings:
    - tls: {mode: SIMPLE}
    - port: {number: 70000}
    loadBalancr: {}
"#;
    let diags = errors(text);
    let r = "DestinationRule egress/bad";
    expect(
        &diags,
        "spec.host",
        pos(text, "trafficPolicy"),
        r,
        "missing field `host`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.tls.mode",
        pos(text, "STRICT"),
        r,
        "unknown value `STRICT` for `mode`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.tls.snii",
        pos(text, "snii"),
        r,
        "unknown field `snii`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.portLevelSettings[0].port",
        pos(text, "tls: {mode: SIMPLE}"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.trafficPolicy.portLevelSettings[1].port.number",
        pos(text, "70000"),
        r,
        "not a number in 0..65535",
    );
    expect(
        &diags,
        "spec.trafficPolicy.loadBalancr",
        pos(text, "loadBalancr"),
        r,
        "unknown field `loadBalancr`",
    );
    assert_eq!(diags.len(), 6, "{diags:#?}");
}

// ---------------------------------------------------------------------------------------
// VirtualService

const EGRESS_VS: &str = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: via-egress, namespace: egress}
spec:
  hosts: [httpbin.org]
  gateways: [mesh, istio-egressgateway]
  exportTo: ["*"]
  http:
  - match:
    - gateways: [mesh]
      port: 80
    route:
    - destination:
        host: istio-egressgateway.istio-system.svc.cluster.local
        port: {number: 80}
  - name: at-gateway
    match:
    - gateways: [istio-egressgateway]
      port: 80
      uri: {prefix: /api}
      method: {exact: POST}
      headers:
        X-Env: {exact: prod}
        x-trace: {}
        x-id: {regex: "[0-9]+"}
    - uri: {exact: /Health}
      ignoreUriCase: true
    headers:
      request:
        add: {x-added: route}
        set: {x-set: route}
        remove: [x-internal]
    route:
    - destination:
        host: httpbin.org
        subset: v1
        port: {number: 443}
      weight: 90
      headers:
        request:
          set: {x-set: destination, x-dest: "1"}
          remove: [x-other]
        response:
          add: {x-resp: a}
    - destination: {host: backup.httpbin.org}
      weight: 10
    retries: {attempts: 3, perTryTimeout: 2s}
    timeout: 10s
    fault: {delay: {percentage: {value: 1}, fixedDelay: 1s}}
    mirror: {host: mirror.example}
    corsPolicy: {allowOrigins: [{exact: "*"}]}
    rewrite: {uri: /}
  - redirect: {uri: /moved}
  tcp:
  - match: [{port: 3306}]
    route: [{destination: {host: db.example}}]
  tls:
  - match: [{port: 443, sniHosts: [httpbin.org]}]
    route: [{destination: {host: httpbin.org}}]
"#;

#[test]
fn virtual_service_routes() {
    let model = load(EGRESS_VS);
    // The gateway Service the mesh route names is not loaded: one warning says what is assumed.
    let warns = warnings(&model);
    assert_eq!(warns.len(), 1, "{:?}", model.warnings);
    assert!(warns[0]
        .message
        .contains("routes to Service istio-system/istio-egressgateway, which is not loaded"));
    let vs = &model.virtual_services[0];
    assert_eq!(
        vs.id,
        ResourceRef::new("VirtualService", "egress", "via-egress")
    );
    assert_eq!(vs.hosts, vec!["httpbin.org"]);
    assert_eq!(vs.gateways, vec!["mesh", "istio-egressgateway"]);
    // Every route is kept with the gateways of its matches: the sidecar-only route
    // (`gateways: [mesh]`) sends mesh traffic to the egress gateway.
    assert_eq!(vs.http.len(), 3);
    assert_eq!(vs.http[0].matches[0].gateways, vec!["mesh"]);
    assert_eq!(
        vs.http[0].destination_host.as_deref(),
        Some("istio-egressgateway.istio-system.svc.cluster.local")
    );
    assert_eq!(vs.l4.len(), 2);
    let route = &vs.http[1];
    assert_eq!(route.matches.len(), 2);
    let first = &route.matches[0];
    assert_eq!(first.uri, Some(UriMatch::Prefix("/api".into())));
    assert_eq!(first.method.as_deref(), Some("POST"));
    assert_eq!(first.port, Some(80));
    assert_eq!(
        first.headers,
        vec![
            ("x-env".to_string(), UriMatch::Exact("prod".into())),
            ("x-trace".to_string(), UriMatch::Regex(".*".into())),
            ("x-id".to_string(), UriMatch::Regex("[0-9]+".into())),
        ]
    );
    let second = &route.matches[1];
    let uri = second.uri.as_ref().expect("uri");
    assert!(uri.matches("/health"));
    assert!(uri.matches("/HEALTH"));
    assert!(!uri.matches("/healthz"));
    assert_eq!(route.destination_host.as_deref(), Some("httpbin.org"));
    assert_eq!(route.destination_port, Some(443));
    let mut add = Labels::new();
    add.insert("x-added".into(), "route".into());
    let mut set = Labels::new();
    set.insert("x-set".into(), "route".into());
    set.insert("x-dest".into(), "1".into());
    assert_eq!(
        route.headers,
        HeaderMutations {
            add,
            set,
            remove: vec!["x-other".into(), "x-internal".into()],
        }
    );
    let redirect = &vs.http[2];
    assert!(redirect.matches.is_empty());
    assert_eq!(redirect.destination_host, None);
    assert!(redirect.headers.is_empty());
    assert_eq!(redirect.answer.as_ref().map(|a| a.status), Some(301));
}

#[test]
fn virtual_service_prefix_ignoring_case() {
    let text = EGRESS_VS.replace("uri: {exact: /Health}", "uri: {prefix: /Api.v1}");
    let model = load(&text);
    let uri = model.virtual_services[0].http[1].matches[1]
        .uri
        .clone()
        .expect("uri");
    assert!(uri.matches("/api.V1/x"));
    assert!(uri.matches("/API.v1"));
    assert!(uri.matches("/api.v1\nnext"));
    assert!(!uri.matches("/apixv1"));
    assert!(!uri.matches("/x/api.v1"));
    // Non-ASCII text compiles and matches itself (Envoy folds ASCII case only).
    let text = EGRESS_VS.replace("uri: {exact: /Health}", "uri: {exact: /Grüße}");
    let model = load(&text);
    let uri = model.virtual_services[0].http[1].matches[1]
        .uri
        .clone()
        .expect("uri");
    assert!(uri.matches("/grüße"));
    assert!(uri.matches("/GRüßE"));
    assert!(!uri.matches("/grüsse"));
}

#[test]
fn virtual_service_errors_and_warnings() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad, namespace: egress}
spec:
  hosts: [a.example]
  http:
  - match:
    - uri: {exact: /a, prefix: /b}
      methd: {exact: GET}
      headers:
        x-a: {suffix: b}
        x-b: {regex: "(unclosed"}
    route:
    - destination: {port: {number: 80}}
    - weight: 10
    retriez: {}
  hostz: []
"#;
    let diags = errors(text);
    let r = "VirtualService egress/bad";
    let h = "spec.http[0]";
    expect(
        &diags,
        &format!("{h}.match[0].uri"),
        pos(text, "{exact: /a"),
        r,
        "only one of `exact`, `prefix` or `regex` may be set, found `exact` and `prefix`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].methd"),
        pos(text, "methd"),
        r,
        "unknown field `methd`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].headers.x-a.suffix"),
        pos(text, "suffix"),
        r,
        "unknown field `suffix`",
    );
    expect(
        &diags,
        &format!("{h}.match[0].headers.x-b.regex"),
        pos(text, "\"(unclosed\""),
        r,
        "invalid regex `(unclosed`: unclosed group",
    );
    expect(
        &diags,
        &format!("{h}.route[0].destination.host"),
        pos(text, "{port: {number: 80}}"),
        r,
        "missing field `host`",
    );
    expect(
        &diags,
        &format!("{h}.route[1].destination"),
        pos(text, "weight: 10"),
        r,
        "missing field `destination`",
    );
    expect(
        &diags,
        &format!("{h}.retriez"),
        pos(text, "retriez"),
        r,
        "unknown field `retriez`",
    );
    expect(
        &diags,
        "spec.hostz",
        pos(text, "hostz"),
        r,
        "unknown field `hostz`",
    );
    assert_eq!(diags.len(), 8, "{diags:#?}");

    let text = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: unmodelled, namespace: egress}
spec:
  hosts: [a.example]
  http:
  - match:
    - authority: {exact: a.example}
      method: {regex: "GET|HEAD"}
      queryParams: {q: {exact: "1"}}
    route:
    - destination: {host: a.example}
"#;
    let model = load(text);
    let warns: Vec<Diagnostic> = warnings(&model).into_iter().cloned().collect();
    let r = "VirtualService egress/unmodelled";
    expect(
        &warns,
        "spec.http[0].match[0].authority",
        pos(text, "{exact: a.example}"),
        r,
        "does not model `authority` matches",
    );
    expect(
        &warns,
        "spec.http[0].match[0].method",
        pos(text, "{regex"),
        r,
        "only `exact` method matches",
    );
    expect(
        &warns,
        "spec.http[0].match[0].queryParams",
        pos(text, "{q:"),
        r,
        "does not model `queryParams` matches",
    );
    assert_eq!(warns.len(), 3);
    let m = &model.virtual_services[0].http[0].matches[0];
    assert_eq!(m.method, None);
    assert_eq!(m.uri, None);
}

// ---------------------------------------------------------------------------------------
// Gateways

#[test]
fn gateways_of_both_apis() {
    let text = r#"apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec:
  gatewayClassName: istio
  addresses: [{value: 1.2.3.4}]
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: "*.example.com", tls: {mode: Terminate}}
  - {name: http2, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: istio-egressgateway, namespace: istio-system}
spec:
  selector:
    istio: egressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.org]
  - port: {number: 443, name: tls, protocol: TLS, targetPort: 8443}
    hosts: [httpbin.org]
    tls: {mode: PASSTHROUGH}
"#;
    let model = load(text);
    let k8s = &model.gateways[0];
    assert_eq!(k8s.id, ResourceRef::new("Gateway", "ingress", "public"));
    assert_eq!(k8s.kind, GatewayKind::KubernetesGateway);
    assert_eq!(k8s.ports, vec![80, 443]);
    assert_eq!(k8s.namespace, "ingress");
    assert_eq!(
        k8s.labels.get("gateway.networking.k8s.io/gateway-name"),
        Some(&"public".to_string())
    );
    assert_eq!((k8s.location.line, k8s.location.column), (1, 1));
    let istio = &model.gateways[1];
    assert_eq!(
        istio.id,
        ResourceRef::new("Gateway", "istio-system", "istio-egressgateway")
    );
    assert_eq!(istio.kind, GatewayKind::IstioGateway);
    assert_eq!(istio.namespace, "istio-system");
    assert_eq!(istio.ports, vec![80, 443]);
    assert_eq!(
        istio.labels.get("istio"),
        Some(&"egressgateway".to_string())
    );
    assert!(!istio.originates_tls);
    assert_eq!(istio.workspace, None);
}

#[test]
fn gateway_errors() {
    let text = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g, namespace: a}
spec:
  listeners:
  - {name: http, protocol: HTTP}
  - {name: x, port: 0}
  - {name: y, port: 80, prot: TCP}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: i, namespace: a}
spec:
  selector: {istio: egressgateway}
  servers:
  - hosts: ["*"]
  - port: {number: 99999}
---
apiVersion: gateway.networking.k8s.io/v1alpha1
kind: Gateway
metadata: {name: old, namespace: a}
spec: {}
"#;
    let diags = errors(text);
    let r = "Gateway a/g";
    expect(
        &diags,
        "spec.gatewayClassName",
        pos(text, "listeners"),
        r,
        "missing field `gatewayClassName`",
    );
    expect(
        &diags,
        "spec.listeners[0].port",
        pos(text, "{name: http"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.listeners[1].port",
        pos(text, "0}"),
        r,
        "port 0",
    );
    expect(
        &diags,
        "spec.listeners[2].prot",
        pos(text, "prot:"),
        r,
        "unknown field `prot`",
    );
    let r = "Gateway a/i";
    expect(
        &diags,
        "spec.servers[0].port",
        pos(text, "hosts: [\"*\"]"),
        r,
        "missing field `port`",
    );
    expect(
        &diags,
        "spec.servers[1].port.number",
        pos(text, "99999"),
        r,
        "not a number",
    );
    expect(
        &diags,
        "apiVersion",
        pos(text, "gateway.networking.k8s.io/v1alpha1"),
        "Gateway a/old",
        "unsupported apiVersion",
    );
    assert_eq!(diags.len(), 7, "{diags:#?}");
}

// ---------------------------------------------------------------------------------------
// Robustness

#[test]
fn wrong_types_never_panic() {
    let text = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: types, namespace: egress}
spec:
  selector: [a]
  action: 3
  provider: opa
  targetRefs: {kind: Gateway}
  rules:
  - from: {source: {}}
    to: [operation]
    when: key
  - null
  - 7
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: types, namespace: egress}
spec:
  hosts: httpbin.org
  ports: {number: 80}
  resolution: [DNS]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: types, namespace: egress}
spec:
  http: {route: []}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: types, namespace: egress}
spec: [x]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: 42
"#;
    let diags = errors(text);
    assert!(diags.len() >= 12, "{diags:#?}");
    for d in &diags {
        assert!(d.resource.is_some(), "{d}");
        assert!(d.field.is_some(), "{d}");
    }
}

#[test]
fn every_error_of_a_load_is_reported() {
    let text = format!(
        "{}---\n{}",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: x}\n\
         spec:\n  action: DENY\n",
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: b, namespace: x}\n\
         spec:\n  hosts: [\"*\"]\n"
    );
    let diags = errors(&text);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(diags[0].location < diags[1].location);
}
