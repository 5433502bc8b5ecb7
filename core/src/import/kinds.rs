//! The kinds of the API groups egress-policy reads, for what a load says about a resource
//! no importer took.
//!
//! A kind that does not exist in one of these groups is what the Kubernetes API server
//! rejects, so it is a located error with a "did you mean" (a misspelt
//! `AuthorisationPolicy` must not silently drop a policy). A real kind that egress-policy
//! does not model, and any kind of another group (`apps/v1` `Deployment`), is skipped with
//! one warning per resource.

use super::decode::Cx;
use super::Doc;

/// Every kind of every API group egress-policy reads resources of, modelled or not.
const KNOWN_KINDS: &[(&str, &[&str])] = &[
    (
        "security.istio.io",
        &[
            "AuthorizationPolicy",
            "PeerAuthentication",
            "RequestAuthentication",
        ],
    ),
    (
        "networking.istio.io",
        &[
            "DestinationRule",
            "EnvoyFilter",
            "Gateway",
            "ProxyConfig",
            "ServiceEntry",
            "Sidecar",
            "VirtualService",
            "WorkloadEntry",
            "WorkloadGroup",
        ],
    ),
    ("telemetry.istio.io", &["Telemetry"]),
    ("extensions.istio.io", &["WasmPlugin"]),
    ("install.istio.io", &["IstioOperator"]),
    (
        "gateway.networking.k8s.io",
        &[
            "BackendLBPolicy",
            "BackendTLSPolicy",
            "GRPCRoute",
            "Gateway",
            "GatewayClass",
            "HTTPRoute",
            "ListenerSet",
            "ReferenceGrant",
            "TCPRoute",
            "TLSRoute",
            "UDPRoute",
        ],
    ),
    (
        "api.tsb.tetrate.io",
        &[
            "API",
            "Application",
            "Cluster",
            "Organization",
            "OrganizationSetting",
            "ServiceAccount",
            "Team",
            "Tenant",
            "TenantSetting",
            "User",
            "Workspace",
            "WorkspaceSetting",
        ],
    ),
    (
        "tsb.tetrate.io",
        &[
            "Organization",
            "OrganizationSetting",
            "Tenant",
            "TenantSetting",
            "Workspace",
            "WorkspaceSetting",
        ],
    ),
    (
        "gateway.tsb.tetrate.io",
        &[
            "EgressGateway",
            "Gateway",
            "Group",
            "IngressGateway",
            "Tier1Gateway",
        ],
    ),
    (
        "traffic.tsb.tetrate.io",
        &[
            "Group",
            "ServiceRoute",
            "ServiceTrafficSetting",
            "TrafficSetting",
        ],
    ),
    (
        "security.tsb.tetrate.io",
        &["Group", "SecuritySetting", "ServiceSecuritySetting"],
    ),
    (
        "networking.gloo.solo.io",
        &[
            "ExternalEndpoint",
            "ExternalService",
            "RouteTable",
            "VirtualDestination",
            "VirtualGateway",
        ],
    ),
    (
        "security.policy.gloo.solo.io",
        &[
            "AccessPolicy",
            "CORSPolicy",
            "CSRFPolicy",
            "ClientTLSPolicy",
            "DLPPolicy",
            "ExtAuthPolicy",
            "GraphQLAllowedQueryPolicy",
            "JWTPolicy",
            "WAFPolicy",
        ],
    ),
];

/// Reports a resource no importer took: an error when its kind does not exist in its
/// (known) API group, a warning when egress-policy does not model it. Both are anchored at
/// the `kind:` line.
pub(crate) fn report_skipped(cx: &mut Cx, doc: &Doc) {
    let at = doc.node.get("kind").unwrap_or(doc.node);
    let api_version = if doc.group.is_empty() {
        doc.version.clone()
    } else {
        format!("{}/{}", doc.group, doc.version)
    };
    match kinds_of(&doc.group) {
        Some(kinds) if !kinds.contains(&doc.kind.as_str()) => cx.error(
            at,
            "kind",
            unknown_kind_message(&doc.kind, &doc.group, kinds),
        ),
        // A real kind egress-policy does not model, or a kind of another API group.
        _ => cx.warn(
            at,
            "kind",
            format!(
                "skipped {} ({api_version}): egress-policy does not model it",
                doc.kind
            ),
        ),
    }
}

/// The kinds of a known API group.
fn kinds_of(group: &str) -> Option<&'static [&'static str]> {
    KNOWN_KINDS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, kinds)| *kinds)
}

/// Why `kind` is not a kind of `group`, with the closest spelling or the group that has it.
fn unknown_kind_message(kind: &str, group: &str, kinds: &[&str]) -> String {
    let head = format!("`{kind}` is not a kind of API group `{group}`");
    let elsewhere: Vec<&str> = KNOWN_KINDS
        .iter()
        .filter(|(_, ks)| ks.contains(&kind))
        .map(|(g, _)| *g)
        .collect();
    if let Some(other) = elsewhere.first() {
        return format!("{head}; `{kind}` belongs to `{other}`");
    }
    match closest(kind, kinds) {
        Some(best) => format!("{head}; did you mean `{best}`?"),
        None => format!("{head}; its kinds are {}", super::decode::quoted(kinds)),
    }
}

/// The kind nearest to `kind` (case-insensitive edit distance), if it is near enough to be
/// a misspelling: at most a third of the longer name.
fn closest<'k>(kind: &str, kinds: &[&'k str]) -> Option<&'k str> {
    let wanted = kind.to_ascii_lowercase();
    kinds
        .iter()
        .map(|k| (edit_distance(&wanted, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d * 3 <= kind.len().max(k.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two strings (by characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut next = Vec::with_capacity(row.len());
        next.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX) + 1;
            let left = next.last().copied().unwrap_or(usize::MAX) + 1;
            diagonal = row.get(j + 1).copied().unwrap_or(usize::MAX);
            next.push(substitute.min(above).min(left));
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, KNOWN_KINDS};

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn misspelt_kinds_find_their_neighbour() {
        let security = KNOWN_KINDS
            .iter()
            .find(|(g, _)| *g == "security.istio.io")
            .map(|(_, k)| *k)
            .unwrap_or_default();
        assert_eq!(
            closest("AuthorisationPolicy", security),
            Some("AuthorizationPolicy")
        );
        assert_eq!(
            closest("authorizationpolicy", security),
            Some("AuthorizationPolicy")
        );
        assert_eq!(closest("Deployment", security), None);
    }

    #[test]
    fn the_table_has_no_duplicate_group_or_kind() {
        for (i, (group, kinds)) in KNOWN_KINDS.iter().enumerate() {
            assert!(
                KNOWN_KINDS.iter().skip(i + 1).all(|(g, _)| g != group),
                "{group} twice"
            );
            for (j, kind) in kinds.iter().enumerate() {
                assert!(!kinds.iter().skip(j + 1).any(|k| k == kind), "{kind} twice");
            }
        }
    }
}
