//! Istio importer tests: AuthorizationPolicy translation.

#[allow(clippy::wildcard_imports)]
use super::*;

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
            match_labels: labels.into()
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

/// Policies with the same selector share one label map; different selectors stay apart.
#[test]
fn equal_selectors_share_one_map() {
    let doc = |name: &str, labels: &str| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {{name: {name}, namespace: egress}}\n\
             spec:\n  selector:\n    matchLabels: {labels}\n  rules:\n  - {{}}\n"
        )
    };
    let text = [
        doc("a", "{app: gw-1}"),
        doc("b", "{app: gw-2}"),
        doc("c", "{app: gw-1}"),
        doc("d", "{app: gw-1, tier: edge}"),
    ]
    .join("---\n");
    let model = load(&text);
    let labels = |name: &str| match &policy(&model, name).scope {
        Scope::Selector { match_labels } => std::sync::Arc::clone(match_labels),
        other => panic!("{other:?}"),
    };
    let expect = |pairs: &[(&str, &str)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(*labels("a"), expect(&[("app", "gw-1")]));
    assert_eq!(*labels("b"), expect(&[("app", "gw-2")]));
    assert_eq!(*labels("c"), expect(&[("app", "gw-1")]));
    assert_eq!(*labels("d"), expect(&[("app", "gw-1"), ("tier", "edge")]));
    assert!(std::sync::Arc::ptr_eq(&labels("a"), &labels("c")));
    assert!(!std::sync::Arc::ptr_eq(&labels("a"), &labels("b")));
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
                match_labels: Labels::new().into()
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
