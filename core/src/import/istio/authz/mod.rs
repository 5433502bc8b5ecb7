//! `AuthorizationPolicy` (security.istio.io v1 / v1beta1), validated like Istio's
//! `ValidateAuthorizationPolicy` (SEMANTICS.md §1.13) and translated with the
//! conventions of SEMANTICS.md §1.4–§1.10.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{
    Action, ActionKind, Condition, Field, HostPattern, IpBlock, Labels, Model, NamespacePattern,
    Operation, Origin, PathPattern, Policy, ResourceRef, Rule, RuleOrigin, Scope,
    ServiceAccountRef, Source, StringPattern, TargetKind, TargetRef, TrustDomainPattern, Vendor,
};
use crate::source::{Node, Value};

use super::super::decode::{self, list, map, vocabulary_field, Cx, Item, Map};
use super::super::Doc;
use super::{top_level, written};

mod conditions;
mod values;

use conditions::*;
use values::*;

const SPEC_FIELDS: &[&str] = &[
    "selector",
    "targetRef",
    "targetRefs",
    "rules",
    "action",
    "provider",
];

const SOURCE_FIELDS: &[&str] = &[
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
    "ipBlocks",
    "notIpBlocks",
    "remoteIpBlocks",
    "notRemoteIpBlocks",
    "serviceAccounts",
    "notServiceAccounts",
    "trustDomains",
    "notTrustDomains",
];

/// Source fields that need a peer or request identity: not allowed with CUSTOM.
const IDENTITY_FIELDS: &[&str] = &[
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
    "serviceAccounts",
    "notServiceAccounts",
    "trustDomains",
    "notTrustDomains",
];

const OPERATION_FIELDS: &[&str] = &[
    "hosts",
    "notHosts",
    "ports",
    "notPorts",
    "methods",
    "notMethods",
    "paths",
    "notPaths",
];

/// Most `serviceAccounts` (and `notServiceAccounts`) values Istio accepts.
const MAX_SERVICE_ACCOUNTS: usize = 16;

/// Istio's default trust domain, which policies use to mean "the local trust domain".
const CLUSTER_LOCAL: &str = "cluster.local";

/// What rule decoding needs from the policy and the mesh.
struct Ctx {
    /// The policy's namespace (for bare `serviceAccounts` values).
    namespace: String,
    /// Trust domain followed by its aliases.
    bundle: Vec<String>,
    /// Whether the action is CUSTOM (identity fields are rejected).
    custom: bool,
}

/// Decodes one AuthorizationPolicy into `model`; `selectors` holds the selector label maps
/// of the load so far (a policy whose labels are there shares that map).
pub(super) fn import(
    cx: &mut Cx,
    doc: &Doc,
    model: &mut Model,
    selectors: &mut HashSet<Arc<Labels>>,
) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let dry_run = dry_run(cx, doc);
    let mut bundle = vec![model.mesh.trust_domain.clone()];
    bundle.extend(model.mesh.trust_domain_aliases.iter().cloned());

    let mut action = Action::Allow;
    let mut scope = Scope::Selector {
        match_labels: shared(selectors, Labels::new()),
    };
    let mut rules = Vec::new();
    if let Some(spec) = doc.spec(cx, SPEC_FIELDS, false) {
        let action_kind = vocabulary_field(cx, &spec, "action");
        let action_node = spec.get("action").unwrap_or(spec.node);
        let provider = spec.map(cx, "provider", &["name"]);
        let provider_name = provider
            .as_ref()
            .and_then(|p| p.str(cx, "name"))
            .filter(|n| !n.is_empty());
        if let Some(p) = &provider {
            if action_kind != Some(ActionKind::Custom) {
                cx.error(
                    p.node,
                    &p.path,
                    format!(
                        "`provider` must only be set with the CUSTOM action, found {}",
                        action_kind.unwrap_or(ActionKind::Allow)
                    ),
                );
            }
        }
        action = match action_kind.unwrap_or(ActionKind::Allow) {
            ActionKind::Allow => Action::Allow,
            ActionKind::Deny => Action::Deny,
            ActionKind::Audit => Action::Audit,
            ActionKind::Custom => {
                if provider_name.is_none() {
                    let (node, path) = match &provider {
                        Some(p) => (p.get("name").unwrap_or(p.node), p.path_of("name")),
                        None => (action_node, spec.path_of("provider")),
                    };
                    cx.error(
                        node,
                        &path,
                        "the CUSTOM action needs `provider.name`, the extension provider to call",
                    );
                }
                Action::Custom(provider_name.unwrap_or_default())
            }
        };
        scope = decode_scope(cx, &spec, &namespace, selectors);

        let ctx = Ctx {
            namespace: namespace.clone(),
            bundle,
            custom: matches!(action, Action::Custom(_)),
        };
        let items = spec.list(cx, "rules");
        rules.reserve_exact(items.len());
        for (node, path) in items {
            if let Some(rule) = decode_rule(cx, node, &path, &ctx) {
                rules.push(rule);
            }
        }
        if !written(&spec, "rules") && matches!(action, Action::Deny | Action::Custom(_)) {
            let node = spec.node.get("rules").unwrap_or(action_node);
            cx.error(
                node,
                &spec.path_of("rules"),
                format!(
                    "{} action without `rules` is meaningless as it never triggers; add an \
                     empty rule `{{}}` to trigger it for every request",
                    action.as_str()
                ),
            );
        }
    }

    model.policies.push(Policy {
        id: ResourceRef::new("AuthorizationPolicy", &namespace, &doc.meta.name),
        vendor: Vendor::Istio,
        location: doc.location(),
        action,
        scope,
        dry_run,
        rules,
    });
}

/// `metadata.annotations["istio.io/dry-run"]`, parsed like Go's `strconv.ParseBool`; an
/// unparsable value is reported and the policy is enforced (as Istio does).
fn dry_run(cx: &mut Cx, doc: &Doc) -> bool {
    const KEY: &str = "istio.io/dry-run";
    let Some(value) = doc.meta.annotations.get(KEY) else {
        return false;
    };
    match value.as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
        "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
        other => {
            let node = doc
                .node
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get(KEY))
                .unwrap_or(doc.node);
            cx.warn(
                node,
                &format!("metadata.annotations.{KEY}"),
                format!(
                    "`{other}` is not a boolean (expected true, false, 1, 0, t, f, TRUE, \
                     FALSE, True or False); the policy is enforced"
                ),
            );
            false
        }
    }
}

/// The map of `selectors` equal to `labels`, added first when there is none.
fn shared(selectors: &mut HashSet<Arc<Labels>>, labels: Labels) -> Arc<Labels> {
    if let Some(known) = selectors.get(&labels) {
        return Arc::clone(known);
    }
    let labels = Arc::new(labels);
    selectors.insert(Arc::clone(&labels));
    labels
}

/// `selector` or `targetRef` / `targetRefs`.
fn decode_scope(
    cx: &mut Cx,
    spec: &Map,
    namespace: &str,
    selectors: &mut HashSet<Arc<Labels>>,
) -> Scope {
    let mut targets = Vec::new();
    if let Some(m) = spec.map(cx, "targetRef", TARGET_REF_FIELDS) {
        targets.extend(target_ref(cx, &m, namespace));
    }
    for (node, path) in spec.list(cx, "targetRefs") {
        if let Some(m) = map(cx, node, &path, TARGET_REF_FIELDS) {
            targets.extend(target_ref(cx, &m, namespace));
        }
    }
    let has_target = spec.get("targetRef").is_some() || written(spec, "targetRefs");
    if let (Some(_), true) = (spec.get("targetRef"), written(spec, "targetRefs")) {
        let node = spec.get("targetRefs").unwrap_or(spec.node);
        cx.error(
            node,
            &spec.path_of("targetRefs"),
            "only one of `targetRef` or `targetRefs` may be set",
        );
    }
    let selector = spec.map(cx, "selector", &["matchLabels"]);
    let mut match_labels = Labels::new();
    if let Some(selector) = &selector {
        match_labels = selector.labels(cx, "matchLabels");
        let labels_node = selector.get("matchLabels").unwrap_or(selector.node);
        for (key, value) in &match_labels {
            let path = format!("{}.{key}", selector.path_of("matchLabels"));
            if key.is_empty() {
                cx.error(labels_node, &path, "empty label key in `selector`");
            }
            if key.contains('*') || value.contains('*') {
                cx.error(
                    labels_node,
                    &path,
                    format!("wildcard is not supported in `selector`: `{key}={value}`"),
                );
            }
        }
        if match_labels.is_empty() {
            cx.warn(
                selector.node,
                &selector.path,
                "`selector` without labels selects every workload of the namespace",
            );
        }
    }
    if has_target {
        if let Some(selector) = &selector {
            let node = spec
                .get("targetRef")
                .or_else(|| spec.get("targetRefs"))
                .unwrap_or(selector.node);
            let key = if spec.get("targetRef").is_some() {
                "targetRef"
            } else {
                "targetRefs"
            };
            cx.error(
                node,
                &spec.path_of(key),
                "only one of `selector` or `targetRef`/`targetRefs` may be set",
            );
        }
        return Scope::TargetRefs { targets };
    }
    Scope::Selector {
        match_labels: shared(selectors, match_labels),
    }
}

const TARGET_REF_FIELDS: &[&str] = &["group", "kind", "name", "namespace"];

fn target_ref(cx: &mut Cx, m: &Map, namespace: &str) -> Option<TargetRef> {
    let group = m.str(cx, "group").unwrap_or_default();
    let group = if group == "core" {
        String::new()
    } else {
        group
    };
    let kind = m.str(cx, "kind").unwrap_or_default();
    let name = m.str(cx, "name").unwrap_or_default();
    let target_namespace = m.str(cx, "namespace").unwrap_or_default();
    let mut ok = true;
    let target_kind = TargetKind::from_group_kind(&group, &kind);
    if kind.is_empty() {
        cx.error(m.node, &m.path_of("kind"), "missing field `kind`");
        ok = false;
    } else if target_kind.is_none() {
        cx.error(
            m.get("kind").unwrap_or(m.node),
            &m.path_of("kind"),
            format!(
                "cannot target `{group}/{kind}`; supported kinds are core/Service, \
                 gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass and \
                 networking.istio.io/ServiceEntry"
            ),
        );
        ok = false;
    }
    if name.is_empty() {
        cx.error(m.node, &m.path_of("name"), "missing field `name`");
        ok = false;
    }
    if !target_namespace.is_empty() && target_namespace != namespace {
        cx.error(
            m.get("namespace").unwrap_or(m.node),
            &m.path_of("namespace"),
            format!(
                "cross namespace referencing is not supported: `{target_namespace}` is not the \
                 policy's namespace `{namespace}`"
            ),
        );
        ok = false;
    }
    let kind = target_kind.filter(|_| ok)?;
    Some(TargetRef {
        group,
        kind,
        name,
        namespace: namespace.to_string(),
    })
}

fn decode_rule(cx: &mut Cx, node: &Node, path: &str, ctx: &Ctx) -> Option<Rule> {
    let m = map(cx, node, path, &["from", "to", "when"])?;
    let mut rule = Rule {
        location: Some(node.location(cx.file)),
        origin: RuleOrigin::new(Origin::at(path.to_string())),
        ..Rule::default()
    };
    if let Some(from) = m.get("from") {
        let items = list(cx, from, &m.path_of("from"));
        let mut sources = Vec::with_capacity(items.len());
        if items.is_empty() && matches!(from.value, Value::Seq(_)) {
            cx.error(from, &m.path_of("from"), "`from` must not be empty");
        }
        for (item, item_path) in items {
            let Some(entry) = map(cx, item, item_path, &["source"]) else {
                continue;
            };
            match entry.get("source") {
                Some(source) => {
                    if let Some(source) = decode_source(cx, source, &entry.path_of("source"), ctx) {
                        sources.push(source);
                    }
                }
                None => cx.error(item, &entry.path_of("source"), "missing field `source`"),
            }
        }
        rule.from = Some(sources);
    }
    if let Some(to) = m.get("to") {
        let items = list(cx, to, &m.path_of("to"));
        let mut operations = Vec::with_capacity(items.len());
        if items.is_empty() && matches!(to.value, Value::Seq(_)) {
            cx.error(to, &m.path_of("to"), "`to` must not be empty");
        }
        for (item, item_path) in items {
            let Some(entry) = map(cx, item, item_path, &["operation"]) else {
                continue;
            };
            match entry.get("operation") {
                Some(operation) => {
                    if let Some(operation) =
                        decode_operation(cx, operation, &entry.path_of("operation"))
                    {
                        operations.push(operation);
                    }
                }
                None => cx.error(
                    item,
                    &entry.path_of("operation"),
                    "missing field `operation`",
                ),
            }
        }
        rule.to = Some(operations);
    }
    for (item, item_path) in m.list(cx, "when") {
        if let Some(condition) = decode_condition(cx, item, &item_path, ctx) {
            rule.when.push(condition);
        }
    }
    Some(rule)
}

fn decode_source(cx: &mut Cx, node: &Node, path: &str, ctx: &Ctx) -> Option<Source> {
    let m = map(cx, node, path, SOURCE_FIELDS)?;
    if !SOURCE_FIELDS.iter().any(|key| written(&m, key)) && !has_unknown_keys(node, SOURCE_FIELDS) {
        cx.error(
            node,
            path,
            "`source` must not be empty; omit `from` to match any source",
        );
    }
    if ctx.custom {
        for key in IDENTITY_FIELDS {
            if let Some(value) = m.get(key).filter(|_| written(&m, key)) {
                cx.error(
                    value,
                    &m.path_of(key),
                    format!("`{key}` is not supported with the CUSTOM action"),
                );
            }
        }
    }
    for key in ["serviceAccounts", "notServiceAccounts"] {
        if !written(&m, key) {
            continue;
        }
        for other in ["principals", "notPrincipals", "namespaces", "notNamespaces"] {
            if written(&m, other) {
                cx.error(
                    m.get(key).unwrap_or(node),
                    &m.path_of(key),
                    format!("`{key}` cannot be combined with `{other}`"),
                );
            }
        }
        if let Some(Value::Seq(items)) = m.get(key).map(|n| &n.value) {
            if items.len() > MAX_SERVICE_ACCOUNTS {
                cx.error(
                    m.get(key).unwrap_or(node),
                    &m.path_of(key),
                    format!(
                        "`{key}` has {} values, more than the limit of {MAX_SERVICE_ACCOUNTS}",
                        items.len()
                    ),
                );
            }
        }
    }
    Some(Source {
        principals: pair(cx, &m, "principals", "notPrincipals", ctx, principals),
        namespaces: pair(cx, &m, "namespaces", "notNamespaces", ctx, namespaces),
        service_accounts: pair(
            cx,
            &m,
            "serviceAccounts",
            "notServiceAccounts",
            ctx,
            service_accounts,
        ),
        trust_domains: pair(
            cx,
            &m,
            "trustDomains",
            "notTrustDomains",
            ctx,
            trust_domains,
        ),
        request_principals: pair(
            cx,
            &m,
            "requestPrincipals",
            "notRequestPrincipals",
            ctx,
            strings,
        ),
        ip_blocks: pair(cx, &m, "ipBlocks", "notIpBlocks", ctx, ip_blocks),
        remote_ip_blocks: pair(
            cx,
            &m,
            "remoteIpBlocks",
            "notRemoteIpBlocks",
            ctx,
            ip_blocks,
        ),
        ..Source::default()
    })
}

fn decode_operation(cx: &mut Cx, node: &Node, path: &str) -> Option<Operation> {
    let m = map(cx, node, path, OPERATION_FIELDS)?;
    if !OPERATION_FIELDS.iter().any(|key| written(&m, key))
        && !has_unknown_keys(node, OPERATION_FIELDS)
    {
        cx.error(
            node,
            path,
            "`operation` must not be empty; omit `to` to match any operation",
        );
    }
    let ctx = Ctx {
        namespace: String::new(),
        bundle: Vec::new(),
        custom: false,
    };
    Some(Operation {
        hosts: pair(cx, &m, "hosts", "notHosts", &ctx, hosts),
        ports: Field {
            values: ports(cx, &m, "ports"),
            not_values: ports(cx, &m, "notPorts"),
        },
        methods: pair(cx, &m, "methods", "notMethods", &ctx, strings),
        paths: pair(cx, &m, "paths", "notPaths", &ctx, paths),
    })
}

/// Whether a mapping has keys outside `allowed` (already reported as unknown fields; an
/// "empty" complaint on top would only repeat them).
fn has_unknown_keys(node: &Node, allowed: &[&str]) -> bool {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|(key, _)| !allowed.contains(&key.name.as_str())),
        _ => false,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn bundle(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// The cases of Istio's `TestReplaceTrustDomainAliases`.
    #[test]
    fn alias_expansion_follows_istio_bundle_tests() {
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (
                &["cluster.local"],
                &["cluster.local/ns/foo/sa/bar"],
                &["cluster.local/ns/foo/sa/bar"],
            ),
            (&["cluster.local"], &["*"], &["*"]),
            (
                &["cluster.local"],
                &["*/ns/foo/sa/bar"],
                &["*/ns/foo/sa/bar"],
            ),
            (
                &["td2", "td1"],
                &["td1/ns/foo/sa/bar"],
                &["td2/ns/foo/sa/bar", "td1/ns/foo/sa/bar"],
            ),
            (
                &["td1", "cluster.local"],
                &["cluster.local/ns/foo/sa/bar", "cluster.local/ns/yyy/sa/zzz"],
                &[
                    "td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                    "td1/ns/yyy/sa/zzz",
                    "cluster.local/ns/yyy/sa/zzz",
                ],
            ),
            (
                &["td1", "cluster.local"],
                &["*/ns/foo/sa/bar", "*sa/zzz", "*"],
                &["*/ns/foo/sa/bar", "*sa/zzz", "*"],
            ),
            (
                &["td2", "td1", "cluster.local"],
                &["cluster.local/ns/foo/sa/bar", "td1/ns/yyy/sa/zzz"],
                &[
                    "td2/ns/foo/sa/bar",
                    "td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                    "td2/ns/yyy/sa/zzz",
                    "td1/ns/yyy/sa/zzz",
                    "cluster.local/ns/yyy/sa/zzz",
                ],
            ),
            (
                &["td2", "foo-td1", "cluster.local"],
                &["*-td1/ns/foo/sa/bar"],
                &[
                    "td2/ns/foo/sa/bar",
                    "*-td1/ns/foo/sa/bar",
                    "cluster.local/ns/foo/sa/bar",
                ],
            ),
            (
                &["td1", "td2"],
                &["some-td/ns/foo/sa/bar"],
                &["some-td/ns/foo/sa/bar"],
            ),
            (
                &["td1", "td2", "some-td"],
                &["some-td/ns/foo/sa/bar"],
                &[
                    "td1/ns/foo/sa/bar",
                    "td2/ns/foo/sa/bar",
                    "some-td/ns/foo/sa/bar",
                ],
            ),
            (
                &["new-td", "td2", "td3"],
                &["td1/ns/some-ns/sa/some-sa", "td2/ns/foo/sa/bar"],
                &[
                    "td1/ns/some-ns/sa/some-sa",
                    "new-td/ns/foo/sa/bar",
                    "td2/ns/foo/sa/bar",
                    "td3/ns/foo/sa/bar",
                ],
            ),
            // `cluster.local` means the local trust domain even when it is not in the bundle.
            (&["td1"], &["cluster.local/ns/a/sa/b"], &["td1/ns/a/sa/b"]),
        ];
        for (domains, input, expected) in cases {
            let b = bundle(domains);
            let got: Vec<String> = input.iter().flat_map(|p| expand_principal(p, &b)).collect();
            assert_eq!(got, bundle(expected), "bundle {domains:?}, input {input:?}");
        }
    }

    #[test]
    fn bracketed_keys() {
        assert_eq!(bracketed("[a]"), Some(vec!["a".to_string()]));
        assert_eq!(
            bracketed("[a][b]"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(bracketed(""), None);
        assert_eq!(bracketed("[]"), None);
        assert_eq!(bracketed("[a]x"), None);
        assert_eq!(bracketed("a]"), None);
        assert_eq!(bracketed("[a"), None);
    }
}
