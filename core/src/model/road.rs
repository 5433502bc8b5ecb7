//! The resources that decide the road a request takes before and after authorization
//! (SEMANTICS.md §9): Sidecars, Kubernetes Services, RequestAuthentications, gateway
//! servers, VirtualServices (routes, their matches and the answers they give) and the
//! header mutations routes apply.

use serde::{Deserialize, Serialize};

use super::{
    registry_host_matches, AllowedRoutes, AnswerKind, Labels, NamespaceSelector, OutboundMode,
    PortProtocol, ResourceRef, ServerTlsMode,
};
use crate::diagnostic::Location;

/// `exportTo` as written: which namespaces see a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportTo {
    /// The written values (`*`, `.`, `~` or namespace names); empty when not written.
    pub values: Vec<String>,
}

impl ExportTo {
    /// Whether a resource of `owner` namespace is visible from `namespace`, with `default`
    /// (the mesh's `default*ExportTo`) when nothing was written.
    pub fn visible_from(&self, owner: &str, namespace: &str, default: &[String]) -> bool {
        let values = if self.values.is_empty() {
            default
        } else {
            &self.values
        };
        if values.is_empty() {
            return true;
        }
        values.iter().any(|v| match v.as_str() {
            "*" => true,
            "." => owner == namespace,
            "~" => false,
            other => other == namespace,
        })
    }
}

/// The namespaces whose proxies have a registry entry at all, when a vendor narrows it
/// beyond `exportTo`: Gloo translates an `ExternalService` for the namespaces of its own
/// workspace and of the workspaces it is exported to and imported by (SEMANTICS.md §8.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryScope {
    /// The registry entry.
    pub service: ResourceRef,
    /// The namespaces (per cluster) that see it.
    pub visible_in: Vec<NamespaceSelector>,
    /// Why other namespaces do not see it, in words.
    pub why: String,
}

impl RegistryScope {
    /// Whether a proxy in `namespace` (of `cluster`, if known) sees the entry.
    pub fn shows(&self, cluster: Option<&str>, namespace: &str) -> bool {
        self.visible_in
            .iter()
            .any(|s| s.selects(cluster, namespace))
    }
}

/// `Sidecar.outboundTrafficPolicy.egressProxy` / MeshConfig `egressProxy`: where unknown
/// traffic goes instead of the passthrough cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressProxy {
    /// Service host (`istio-egressgateway.istio-system.svc.cluster.local`).
    pub host: String,
    /// Subset, when written.
    pub subset: Option<String>,
    /// Port, when written.
    pub port: Option<u16>,
}

/// An Istio `Sidecar` (networking.istio.io): the outbound view of the workloads it selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// The resource.
    pub id: ResourceRef,
    /// Where it starts.
    pub location: Location,
    /// `workloadSelector.labels`; `None` for the namespace (or root namespace) default.
    pub workload_selector: Option<Labels>,
    /// `egress[].hosts` flattened (`namespace/dnsName`); empty when `egress` is absent.
    pub egress_hosts: Vec<String>,
    /// Whether `egress` was written at all (an absent `egress` keeps every host visible).
    pub egress_written: bool,
    /// `outboundTrafficPolicy.mode`, when written.
    pub outbound: Option<OutboundMode>,
    /// `outboundTrafficPolicy.egressProxy`, when written.
    pub egress_proxy: Option<EgressProxy>,
}

impl Sidecar {
    /// Whether `egress.hosts` makes `host` of a resource in namespace `owner` visible to a
    /// workload in this Sidecar's namespace (`sidecar.proto`: `*`, `.` and `~` namespaces).
    pub fn shows(&self, owner: &str, host: &str) -> bool {
        if !self.egress_written {
            return true;
        }
        self.egress_hosts.iter().any(|entry| {
            let (ns, dns) = entry.split_once('/').unwrap_or(("*", entry.as_str()));
            let ns_ok = match ns {
                "*" => true,
                "." => owner == self.id.namespace,
                "~" => false,
                other => other == owner,
            };
            ns_ok && (super::registry_host_matches(dns, host) || dns_covers(dns, host))
        })
    }
}

/// `*.example.com` covers `*.api.example.com` and `*` covers everything: a registry host
/// that is itself a wildcard is visible when the Sidecar's pattern is wider.
fn dns_covers(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.strip_prefix('*'), host.strip_prefix('*')) {
        (Some(wide), Some(narrow)) => narrow
            .to_ascii_lowercase()
            .ends_with(&wide.to_ascii_lowercase()),
        _ => false,
    }
}

/// A Kubernetes `Service` port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubePort {
    /// `port`: what clients connect to.
    pub port: u16,
    /// `targetPort` when numeric (defaults to `port`).
    pub target_port: u16,
    /// `name`.
    pub name: String,
}

/// A Kubernetes `Service`: how a gateway's Service port maps to the port its Envoy listens
/// on, and which pods it selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeService {
    /// The resource.
    pub id: ResourceRef,
    /// Where it starts.
    pub location: Location,
    /// `spec.selector`.
    pub selector: Labels,
    /// `spec.ports`.
    pub ports: Vec<KubePort>,
    /// `metadata.labels` (waypoint labels such as `istio.io/use-waypoint`).
    pub labels: Labels,
}

impl KubeService {
    /// Whether `host` names this Service (`name`, `name.ns`, `name.ns.svc`,
    /// `name.ns.svc.<domain>`), compared case-insensitively.
    pub fn is_named_by(&self, host: &str) -> bool {
        kube_service_host(host).is_some_and(|(name, ns)| {
            name == self.id.name && ns.is_none_or(|ns| ns == self.id.namespace)
        })
    }
}

/// Splits a Kubernetes service host into (name, namespace) when it has that shape:
/// `name.ns.svc.cluster.local`, `name.ns.svc`, or a single label.
pub fn kube_service_host(host: &str) -> Option<(String, Option<String>)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] => Some(((*name).to_string(), None)),
        [name, ns, "svc", ..] => Some(((*name).to_string(), Some((*ns).to_string()))),
        _ => None,
    }
}

/// One `RequestAuthentication` (security.istio.io): the JWT issuers a workload accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestAuthn {
    /// The resource.
    pub id: ResourceRef,
    /// Where it starts.
    pub location: Location,
    /// `selector.matchLabels`; `None` for every workload of the namespace.
    pub selector: Option<Labels>,
    /// `targetRef(s)` names of Gateway-API gateways (`namespace/name`).
    pub target_gateways: Vec<String>,
    /// `jwtRules[].issuer` with their `audiences`.
    pub issuers: Vec<(String, Vec<String>)>,
}

/// A `servers[]` entry of a networking.istio.io `Gateway`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayServer {
    /// `port.number` (a Service port; istiod listens on its `targetPort`).
    pub port: u16,
    /// `port.protocol`, upper case.
    pub protocol: PortProtocol,
    /// `hosts` (`namespace/host` or `host`).
    pub hosts: Vec<String>,
    /// `tls.mode`, when written.
    pub tls_mode: Option<ServerTlsMode>,
    /// Gateway API listeners: `allowedRoutes.namespaces.from` (`Same`, `All`, `Selector`,
    /// `None`); `NotApplicable` for networking.istio.io servers (whose `hosts` carry the
    /// namespace).
    pub from_namespaces: AllowedRoutes,
}

impl GatewayServer {
    /// Whether the server terminates Istio mTLS (`tls.mode: ISTIO_MUTUAL`): the only way a
    /// sender's mTLS identity reaches a classic gateway; any other server takes the
    /// sidecar's plaintext.
    pub fn carries_peer_identity(&self) -> bool {
        self.tls_mode == Some(ServerTlsMode::IstioMutual)
    }

    /// Whether this server accepts `host` bound by a VirtualService in `vs_namespace`
    /// (gateway.proto: `hosts` entries `ns/host`, `./host` for the Gateway's own
    /// namespace, `*/host` or a bare `host` for any namespace).
    pub fn serves(&self, gateway_namespace: &str, vs_namespace: &str, host: &str) -> bool {
        if self.from_namespaces != AllowedRoutes::NotApplicable {
            // Gateway API: a listener without hostname serves every host.
            let ns_ok =
                self.from_namespaces != AllowedRoutes::Same || vs_namespace == gateway_namespace;
            return ns_ok
                && (self.hosts.is_empty()
                    || self
                        .hosts
                        .iter()
                        .any(|h| h == "*" || super::registry_host_matches(h, host)));
        }
        self.hosts.iter().any(|entry| {
            let (ns, dns) = entry.split_once('/').unwrap_or(("*", entry.as_str()));
            let ns_ok = match ns {
                "*" => true,
                "." => vs_namespace == gateway_namespace,
                other => other == vs_namespace,
            };
            ns_ok && (dns == "*" || super::registry_host_matches(dns, host))
        })
    }
}

/// Where a VirtualService route sends a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDestination {
    /// `destination.host`.
    pub host: String,
    /// `destination.port.number`.
    pub port: Option<u16>,
    /// `destination.subset`.
    pub subset: Option<String>,
}

/// A route that answers instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// HTTP status the client gets.
    pub status: u16,
    /// `directResponse`, `fault.abort`, `redirect` or `RequestRedirect`.
    pub kind: AnswerKind,
    /// Whether the answer applies to every request (`fault.abort` below 100 % does not).
    pub always: bool,
}

/// Request header mutations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HeaderMutations {
    /// Headers appended.
    pub add: Labels,
    /// Headers overwritten.
    pub set: Labels,
    /// Headers removed.
    pub remove: Vec<String>,
}

impl HeaderMutations {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.set.is_empty() && self.remove.is_empty()
    }

    /// These mutations, then `later`'s: `later`'s `set` wins, removals are kept once.
    /// Envoy applies a weighted cluster's mutations before its route's, and a request
    /// crossing two routes gets the first route's before the second's.
    ///
    /// ```
    /// use egress_policy::model::HeaderMutations;
    ///
    /// let cluster = HeaderMutations {
    ///     set: [("x-env".to_string(), "blue".to_string())].into(),
    ///     remove: vec!["x-a".to_string()],
    ///     ..HeaderMutations::default()
    /// };
    /// let route = HeaderMutations {
    ///     set: [("x-env".to_string(), "green".to_string())].into(),
    ///     remove: vec!["x-a".to_string(), "x-b".to_string()],
    ///     ..HeaderMutations::default()
    /// };
    /// let both = cluster.then(route);
    /// assert_eq!(both.set.get("x-env").map(String::as_str), Some("green"));
    /// assert_eq!(both.remove, ["x-a", "x-b"]);
    /// ```
    #[must_use]
    pub fn then(mut self, later: HeaderMutations) -> HeaderMutations {
        self.add.extend(later.add);
        self.set.extend(later.set);
        for name in later.remove {
            if !self.remove.contains(&name) {
                self.remove.push(name);
            }
        }
        self
    }
}

/// One `http` route of a VirtualService, reduced to what egress needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    /// Path / method / header / port matches; empty matches everything.
    pub matches: Vec<RouteMatch>,
    /// Request header mutations (route level plus destination level).
    pub headers: HeaderMutations,
    /// Destination host, when the route names one.
    pub destination_host: Option<String>,
    /// Destination port, when named.
    pub destination_port: Option<u16>,
    /// A `directResponse`, `redirect` or `fault.abort` that answers instead of forwarding.
    pub answer: Option<Answer>,
}

/// A VirtualService `http[].match[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// `uri` as exact / prefix / regex.
    pub uri: Option<UriMatch>,
    /// `method` exact.
    pub method: Option<String>,
    /// `port`.
    pub port: Option<u16>,
    /// `headers` exact or prefix.
    pub headers: Vec<(String, UriMatch)>,
    /// `gateways` (empty: the VirtualService's own `gateways`).
    pub gateways: Vec<String>,
}

impl RouteMatch {
    /// Whether the request's method, normalised path, port and lower-cased headers satisfy
    /// this match (its `gateways` are checked by the caller).
    pub fn holds(
        &self,
        method: Option<&str>,
        path: Option<&str>,
        port: u16,
        headers: &crate::request::FoldedHeaders<'_>,
    ) -> bool {
        self.uri
            .as_ref()
            .is_none_or(|u| path.is_some_and(|p| u.matches(p)))
            && self
                .method
                .as_ref()
                .is_none_or(|m| method == Some(m.as_str()))
            && self.port.is_none_or(|p| p == port)
            && self.headers.iter().all(|(name, matcher)| {
                headers
                    .get(&name.to_ascii_lowercase())
                    .is_some_and(|v| matcher.matches(v))
            })
    }
}

/// A string match of a VirtualService.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum UriMatch {
    /// `exact`.
    Exact(String),
    /// `prefix`.
    Prefix(String),
    /// `regex` (RE2 full match).
    Regex(String),
}

impl UriMatch {
    /// Whether the value matches (regex: full match; an invalid regex never matches).
    pub fn matches(&self, value: &str) -> bool {
        match self {
            UriMatch::Exact(text) => value == text,
            UriMatch::Prefix(text) => value.starts_with(text.as_str()),
            UriMatch::Regex(re) => regex::Regex::new(&format!("^(?:{re})$"))
                .map(|r| r.is_match(value))
                .unwrap_or(false),
        }
    }
}

/// A VirtualService.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualService {
    /// The resource.
    pub id: ResourceRef,
    /// `hosts`.
    pub hosts: Vec<String>,
    /// `gateways` (empty: `mesh`).
    pub gateways: Vec<String>,
    /// Routes in order; the first matching one applies.
    pub http: Vec<HttpRoute>,
    /// `tls` and `tcp` routes in order (TLS passthrough and plain TCP).
    pub l4: Vec<L4Route>,
    /// `exportTo`.
    pub export_to: ExportTo,
    /// Where it starts.
    pub location: Option<Location>,
}

impl VirtualService {
    /// A route resource with nothing written yet (an importer fills it in).
    pub fn empty(id: ResourceRef, location: Option<Location>) -> Self {
        VirtualService {
            id,
            hosts: Vec::new(),
            gateways: Vec::new(),
            http: Vec::new(),
            l4: Vec::new(),
            export_to: ExportTo::default(),
            location,
        }
    }

    /// Whether the VirtualService applies at `gateway` (`mesh` for sidecars), given the
    /// namespace of the Gateway resource: `gateways` entries are `name` (own namespace),
    /// `ns/name` or `mesh`; none written means `mesh`.
    pub fn bound_to(&self, gateways: &[String], gateway: &str, gateway_namespace: &str) -> bool {
        let list: &[String] = if gateways.is_empty() {
            &self.gateways
        } else {
            gateways
        };
        if list.is_empty() {
            return gateway == "mesh";
        }
        list.iter().any(|g| {
            if gateway == "mesh" {
                return g == "mesh";
            }
            match g.split_once('/') {
                Some((ns, name)) => ns == gateway_namespace && name == gateway,
                None => g == gateway && self.id.namespace == gateway_namespace,
            }
        })
    }
}

/// A `tls` or `tcp` route of a VirtualService.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L4Route {
    /// `match[]` entries: (port, sniHosts, gateways); empty matches everything.
    pub matches: Vec<L4Match>,
    /// First destination.
    pub destination: Option<RouteDestination>,
}

/// A `tls[].match[]` / `tcp[].match[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct L4Match {
    /// `port`.
    pub port: Option<u16>,
    /// `sniHosts` (TLS only).
    pub sni_hosts: Vec<String>,
    /// `gateways`.
    pub gateways: Vec<String>,
}

impl L4Match {
    /// Whether a connection to `port` with registry name `name` (SNI or host) satisfies
    /// this match (its `gateways` are checked by the caller).
    pub fn holds(&self, port: u16, name: &str) -> bool {
        self.port.is_none_or(|p| p == port)
            && (self.sni_hosts.is_empty()
                || self
                    .sni_hosts
                    .iter()
                    .any(|h| registry_host_matches(h, name)))
    }
}
