//! `AuthorizationPolicy` (security.istio.io v1 / v1beta1), validated like Istio's
//! `ValidateAuthorizationPolicy` (SEMANTICS.md §1.13) and translated with the
//! conventions of SEMANTICS.md §1.4–§1.10.

use crate::model::{
    Action, ActionKind, Condition, Field, HostPattern, IpBlock, Labels, Model, NamespacePattern,
    Operation, PathPattern, Policy, ResourceRef, Rule, Scope, ServiceAccountRef, Source,
    StringPattern, TargetKind, TargetRef, TrustDomainPattern, Vendor,
};
use crate::source::{Node, Value};

use super::super::decode::{self, list, map, vocabulary_field, Cx, Item, Map};
use super::super::Doc;
use super::{top_level, written};

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

pub(super) fn import(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let dry_run = dry_run(cx, doc);
    let mut bundle = vec![model.mesh.trust_domain.clone()];
    bundle.extend(model.mesh.trust_domain_aliases.iter().cloned());

    let mut action = Action::Allow;
    let mut scope = Scope::Selector {
        match_labels: Labels::new(),
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
        scope = decode_scope(cx, &spec, &namespace);

        let ctx = Ctx {
            namespace: namespace.clone(),
            bundle,
            custom: matches!(action, Action::Custom(_)),
        };
        for (node, path) in spec.list(cx, "rules") {
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

/// `selector` or `targetRef` / `targetRefs`.
fn decode_scope(cx: &mut Cx, spec: &Map, namespace: &str) -> Scope {
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
    Scope::Selector { match_labels }
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
        ..Rule::default()
    };
    if let Some(from) = m.get("from") {
        let mut sources = Vec::new();
        let items = list(cx, from, &m.path_of("from"));
        if items.is_empty() && matches!(from.value, Value::Seq(_)) {
            cx.error(from, &m.path_of("from"), "`from` must not be empty");
        }
        for (item, item_path) in items {
            let Some(entry) = map(cx, item, &item_path, &["source"]) else {
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
        let mut operations = Vec::new();
        let items = list(cx, to, &m.path_of("to"));
        if items.is_empty() && matches!(to.value, Value::Seq(_)) {
            cx.error(to, &m.path_of("to"), "`to` must not be empty");
        }
        for (item, item_path) in items {
            let Some(entry) = map(cx, item, &item_path, &["operation"]) else {
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

/// Converts the (non-empty string) items of one list.
type Convert<P> = fn(&mut Cx, &[Item], &Ctx) -> Vec<P>;

/// A field and its `not` counterpart.
fn pair<P>(
    cx: &mut Cx,
    m: &Map,
    key: &str,
    not_key: &str,
    ctx: &Ctx,
    convert: Convert<P>,
) -> Field<P> {
    let values = m.str_list(cx, key);
    let not_values = m.str_list(cx, not_key);
    Field {
        values: convert(cx, &values, ctx),
        not_values: convert(cx, &not_values, ctx),
    }
}

fn strings(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<StringPattern> {
    items
        .iter()
        .map(|i| StringPattern::parse(&i.value))
        .collect()
}

fn hosts(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<HostPattern> {
    items.iter().map(|i| HostPattern::parse(&i.value)).collect()
}

fn namespaces(_cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<NamespacePattern> {
    items
        .iter()
        .map(|i| NamespacePattern {
            glob: i.value.clone(),
        })
        .collect()
}

fn paths(cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<PathPattern> {
    let mut out = Vec::new();
    for item in items {
        match PathPattern::parse(&item.value) {
            Ok(pattern) => out.push(pattern),
            Err(invalid) => cx.error(
                item.node,
                &item.path,
                format!("invalid path template: {}", invalid.0),
            ),
        }
    }
    out
}

fn ip_blocks(cx: &mut Cx, items: &[Item], _ctx: &Ctx) -> Vec<IpBlock> {
    let mut out = Vec::new();
    for item in items {
        match IpBlock::parse(&item.value) {
            Some(block) => out.push(block),
            None => {
                let what = if item.value.contains('/') {
                    "CIDR range"
                } else {
                    "IP address"
                };
                cx.error(
                    item.node,
                    &item.path,
                    format!("bad {what} `{}`", item.value),
                );
            }
        }
    }
    out
}

/// Principals, with trust domain aliases expanded (SEMANTICS.md §1.9), as patterns over the
/// peer's SPIFFE URI.
fn principals(_cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<StringPattern> {
    items
        .iter()
        .flat_map(|i| expand_principal(&i.value, &ctx.bundle))
        .map(|v| StringPattern::parse(&v).with_leading("spiffe://"))
        .collect()
}

/// `serviceAccounts`: `ns/sa`, or a bare `sa` in the policy's namespace.
fn service_accounts(cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<ServiceAccountRef> {
    let mut out = Vec::new();
    for item in items {
        let value = &item.value;
        let problem = if value.contains('*') {
            Some("wildcards are not supported")
        } else if value.matches('/').count() > 1 {
            Some("expected `<namespace>/<name>` or `<name>`")
        } else if value.starts_with('/') || value.ends_with('/') {
            Some("namespace and name must not be empty")
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.error(
                item.node,
                &item.path,
                format!("invalid service account `{value}`: {problem}"),
            );
            continue;
        }
        let (namespace, name) = value
            .split_once('/')
            .unwrap_or((ctx.namespace.as_str(), value.as_str()));
        out.push(ServiceAccountRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        });
    }
    out
}

/// `trustDomains`: validated, then values naming a member of the trust domain bundle
/// expand to the whole bundle (duplicates dropped).
fn trust_domains(cx: &mut Cx, items: &[Item], ctx: &Ctx) -> Vec<TrustDomainPattern> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let value = &item.value;
        let stars = value.matches('*').count();
        let problem = if value.contains('/') {
            Some("a trust domain must not contain `/`")
        } else if stars > 1 {
            Some("at most one `*` is allowed")
        } else if stars == 1 && !value.starts_with('*') && !value.ends_with('*') {
            Some("`*` is only allowed at the start or the end")
        } else {
            None
        };
        if let Some(problem) = problem {
            cx.error(
                item.node,
                &item.path,
                format!("invalid trust domain `{value}`: {problem}"),
            );
            continue;
        }
        let expanded: Vec<String> = if ctx.bundle.contains(value) {
            ctx.bundle.clone()
        } else {
            vec![value.clone()]
        };
        for v in expanded {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out.into_iter()
        .map(|value| TrustDomainPattern { value })
        .collect()
}

/// Ports written as strings (Istio's type) or integers.
fn ports(cx: &mut Cx, m: &Map, key: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for (node, path) in m.list(cx, key) {
        if node.as_str() == Some("") {
            cx.error(node, &path, "empty string is not allowed");
        } else if let Some(port) = decode::port(cx, node, &path) {
            out.push(port);
        }
    }
    out
}

/// Istio's `ReplaceTrustDomainAliases` for one principal value (`pilot/pkg/security/
/// trustdomain/bundle.go`): a `<td>/ns/<ns>/sa/<sa>` value whose trust domain is in the
/// bundle (by the string forms) or is literally `cluster.local` becomes one value per bundle
/// member; everything else is kept as written.
fn expand_principal(principal: &str, bundle: &[String]) -> Vec<String> {
    let parts: Vec<&str> = principal.split('/').collect();
    let (Some(domain), Some(rest)) = (parts.first(), parts.get(1..)) else {
        return vec![principal.to_string()];
    };
    if parts.len() != 5 || *domain == "*" {
        return vec![principal.to_string()];
    }
    let in_bundle = bundle.iter().any(|td| {
        td == domain
            || td == "*"
            || prefix_match(domain, td)
            || prefix_match(td, domain)
            || suffix_match(domain, td)
            || suffix_match(td, domain)
    });
    if !in_bundle && *domain != CLUSTER_LOCAL {
        return vec![principal.to_string()];
    }
    let tail = rest.join("/");
    let mut out: Vec<String> = Vec::new();
    for td in bundle {
        let replaced = if suffix_match(td, domain) {
            principal.to_string()
        } else {
            format!("{td}/{tail}")
        };
        if !out.contains(&replaced) {
            out.push(replaced);
        }
    }
    out
}

/// `pattern` ends in `*` and `text` starts with the rest.
fn prefix_match(text: &str, pattern: &str) -> bool {
    pattern
        .strip_suffix('*')
        .is_some_and(|prefix| text.starts_with(prefix))
}

/// `pattern` starts with `*` and `text` ends with the rest.
fn suffix_match(text: &str, pattern: &str) -> bool {
    pattern
        .strip_prefix('*')
        .is_some_and(|suffix| text.ends_with(suffix))
}

/// The attribute a `when` key names.
enum Key {
    Header(String),
    SourceIp,
    RemoteIp,
    DestinationIp,
    SourceNamespace,
    SourcePrincipal,
    SourceServiceAccount,
    SourceTrustDomain,
    AuthPrincipal,
    AuthAudiences,
    AuthPresenter,
    AuthClaim(Vec<String>),
    DestinationPort,
    ConnectionSni,
    Experimental,
}

impl Key {
    /// Classifies a key like Istio's `ValidateAttribute`; `Err` says why it is rejected.
    fn parse(key: &str) -> Result<Key, String> {
        let simple = match key {
            "source.ip" => Some(Key::SourceIp),
            "remote.ip" => Some(Key::RemoteIp),
            "destination.ip" => Some(Key::DestinationIp),
            "source.namespace" => Some(Key::SourceNamespace),
            "source.principal" => Some(Key::SourcePrincipal),
            "source.serviceAccount" => Some(Key::SourceServiceAccount),
            "source.trustDomain" => Some(Key::SourceTrustDomain),
            "request.auth.principal" => Some(Key::AuthPrincipal),
            "request.auth.audiences" => Some(Key::AuthAudiences),
            "request.auth.presenter" => Some(Key::AuthPresenter),
            "destination.port" => Some(Key::DestinationPort),
            "connection.sni" => Some(Key::ConnectionSni),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        if let Some(rest) = key.strip_prefix("request.headers") {
            return match bracketed(rest).as_deref() {
                Some([name]) => Ok(Key::Header(name.to_ascii_lowercase())),
                _ => Err(format!(
                    "bad key `{key}`: expected `request.headers[<header name>]`"
                )),
            };
        }
        if let Some(rest) = key.strip_prefix("request.auth.claims") {
            return match bracketed(rest) {
                Some(path) => Ok(Key::AuthClaim(path)),
                None => Err(format!(
                    "bad key `{key}`: expected `request.auth.claims[<claim>]` or \
                     `request.auth.claims[<claim>][<nested claim>]...`"
                )),
            };
        }
        if key.starts_with("experimental.envoy.filters.") {
            let open = key.find('[');
            return match open {
                Some(open) if key.ends_with(']') && open + 2 < key.len() => Ok(Key::Experimental),
                _ => Err(format!("bad key `{key}`: should have the format `a[b]`")),
            };
        }
        Err(match key {
            "destination.namespace" => {
                format!("attribute `{key}` is not supported; the policy's namespace replaces it")
            }
            "destination.name" | "destination.user" => {
                format!("deprecated attribute `{key}` is only supported in v1alpha1")
            }
            _ if key.starts_with("destination.labels") => {
                format!("attribute `{key}` is not supported; `selector` replaces it")
            }
            _ => format!("unknown attribute `{key}`"),
        })
    }

    /// Keys that need an identity: not allowed with CUSTOM.
    fn is_identity(&self) -> bool {
        matches!(
            self,
            Key::SourceNamespace
                | Key::SourcePrincipal
                | Key::SourceServiceAccount
                | Key::SourceTrustDomain
                | Key::AuthPrincipal
                | Key::AuthAudiences
                | Key::AuthPresenter
                | Key::AuthClaim(_)
        )
    }
}

/// `[a][b]...` into `["a", "b"]`; `None` when malformed or a name is empty.
fn bracketed(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let name = inner.get(..close)?;
        if name.is_empty() || name.contains('[') {
            return None;
        }
        out.push(name.to_string());
        rest = inner.get(close + 1..)?;
    }
    (!out.is_empty()).then_some(out)
}

fn decode_condition(cx: &mut Cx, node: &Node, path: &str, ctx: &Ctx) -> Option<Condition> {
    let m = map(cx, node, path, &["key", "values", "notValues"])?;
    let key_node = m.get("key").unwrap_or(node);
    let key = match m.str(cx, "key") {
        Some(key) if !key.is_empty() => key,
        Some(_) => {
            cx.error(key_node, &m.path_of("key"), "`key` must not be empty");
            return None;
        }
        None => {
            if m.get("key").is_none() {
                cx.error(node, &m.path_of("key"), "missing field `key`");
            }
            return None;
        }
    };
    let parsed = match Key::parse(&key) {
        Ok(parsed) => parsed,
        Err(message) => {
            cx.error(key_node, &m.path_of("key"), message);
            return None;
        }
    };
    if ctx.custom && parsed.is_identity() {
        cx.error(
            key_node,
            &m.path_of("key"),
            format!("`{key}` is not supported with the CUSTOM action"),
        );
    }
    if !written(&m, "values") && !written(&m, "notValues") {
        cx.error(
            node,
            path,
            format!("at least one of `values` or `notValues` must be set for key `{key}`"),
        );
    }
    let (v, nv) = ("values", "notValues");
    Some(match parsed {
        Key::Header(name) => Condition::RequestHeader {
            name,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
        Key::SourceIp => Condition::SourceIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::RemoteIp => Condition::RemoteIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::DestinationIp => Condition::DestinationIp(pair(cx, &m, v, nv, ctx, ip_blocks)),
        Key::SourceNamespace => Condition::SourceNamespace(pair(cx, &m, v, nv, ctx, namespaces)),
        Key::SourcePrincipal => Condition::SourcePrincipal(pair(cx, &m, v, nv, ctx, principals)),
        Key::SourceServiceAccount => {
            Condition::SourceServiceAccount(pair(cx, &m, v, nv, ctx, service_accounts))
        }
        Key::SourceTrustDomain => {
            Condition::SourceTrustDomain(pair(cx, &m, v, nv, ctx, trust_domains))
        }
        Key::AuthPrincipal => Condition::RequestAuthPrincipal(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthAudiences => Condition::RequestAuthAudiences(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthPresenter => Condition::RequestAuthPresenter(pair(cx, &m, v, nv, ctx, strings)),
        Key::AuthClaim(path) => Condition::RequestAuthClaim {
            path,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
        Key::DestinationPort => Condition::DestinationPort(Field {
            values: ports(cx, &m, v),
            not_values: ports(cx, &m, nv),
        }),
        Key::ConnectionSni => Condition::ConnectionSni(pair(cx, &m, v, nv, ctx, strings)),
        Key::Experimental => Condition::Experimental {
            key,
            field: pair(cx, &m, v, nv, ctx, strings),
        },
    })
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
