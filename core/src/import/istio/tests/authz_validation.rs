//! Istio importer tests: AuthorizationPolicy validation.

#[allow(clippy::wildcard_imports)]
use super::*;

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
