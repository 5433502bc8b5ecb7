//! The vendor-neutral model every importer produces and every evaluator reads.
//!
//! Istio, TSB and Gloo resources all become [`Policy`] values (actions, scopes, rules over
//! sources, operations and conditions), [`ExternalService`] registry entries, [`Gateway`]s,
//! header routes and TLS settings. Vendor-specific meaning is resolved at import time so
//! that deciding needs only this model.

mod pattern;
mod road;
mod sourcemap;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Location};

pub use road::{
    kube_service_host, Answer, EgressProxy, ExportTo, GatewayServer, KubePort, KubeService,
    RequestAuthn, RouteDestination, Sidecar,
};
pub use sourcemap::SourceMap;

pub use pattern::{
    glob_match, HostPattern, InvalidPath, IpBlock, NamespacePattern, PathPattern,
    ServiceAccountRef, StringPattern, TemplatePart, TrustDomainPattern,
};

/// The label Gateway-API gateways and waypoints carry on their pods.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// An assumption the engine made because something was missing or cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Caveat {
    /// Stable snake_case code, such as `gateway_service_not_loaded`.
    pub code: String,
    /// What was assumed, in plain words.
    pub message: String,
    /// The resource it concerns.
    pub resource: Option<ResourceRef>,
}

/// Label maps (`app: httpbin`), ordered for stable output.
pub type Labels = BTreeMap<String, String>;

/// Names a resource: its kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct ResourceRef {
    /// Kubernetes kind, such as `AuthorizationPolicy` or `EgressGateway`.
    pub kind: String,
    /// Namespace (for TSB resources, the gateway's namespace or the TSB path).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceRef {
    /// Builds a reference.
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ResourceRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Which product a resource came from; decides a few reason codes and explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Istio resources.
    Istio,
    /// Tetrate Service Bridge resources.
    Tsb,
    /// Solo Gloo Mesh resources.
    Gloo,
}

/// `outboundTrafficPolicy.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboundMode {
    /// Unknown destinations pass through (Istio's effective default).
    #[default]
    AllowAny,
    /// Only registered destinations are reachable; others get 502.
    RegistryOnly,
    /// Like `ALLOW_ANY`, with per-request DNS.
    AllowAnyDynamicDns,
}

/// Mesh `pathNormalization.normalization` (SEMANTICS.md §1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PathNormalization {
    /// The raw path is evaluated.
    None,
    /// RFC 3986 normalisation, unreserved percent-decoding, `\` to `/` (the default).
    #[default]
    Base,
    /// `BASE` plus merging of repeated slashes.
    MergeSlashes,
    /// Decodes `%2F` and `%5C` first, then `MERGE_SLASHES`.
    DecodeAndMergeSlashes,
}

/// Mesh-wide settings, with Istio's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeshConfig {
    /// Outbound traffic policy; default `ALLOW_ANY`.
    pub outbound: OutboundMode,
    /// Root namespace; default `istio-system`.
    pub root_namespace: String,
    /// Trust domain; default `cluster.local`.
    pub trust_domain: String,
    /// Trust domain aliases.
    pub trust_domain_aliases: Vec<String>,
    /// Path normalisation; default `BASE`.
    pub path_normalization: PathNormalization,
    /// Where the settings were read from, if not defaults.
    pub source: Option<Location>,
    /// `outboundTrafficPolicy.egressProxy`.
    pub egress_proxy: Option<EgressProxy>,
    /// `defaultServiceExportTo` (empty: `*`).
    pub default_service_export_to: Vec<String>,
    /// `defaultVirtualServiceExportTo` (empty: `*`).
    pub default_virtual_service_export_to: Vec<String>,
    /// `defaultDestinationRuleExportTo` (empty: `*`).
    pub default_destination_rule_export_to: Vec<String>,
    /// Names of `extensionProviders`; `None` when no mesh config was loaded (then a
    /// CUSTOM policy's provider cannot be checked).
    pub extension_providers: Option<Vec<String>>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            outbound: OutboundMode::AllowAny,
            root_namespace: "istio-system".to_string(),
            trust_domain: "cluster.local".to_string(),
            trust_domain_aliases: Vec::new(),
            path_normalization: PathNormalization::Base,
            source: None,
            egress_proxy: None,
            default_service_export_to: Vec::new(),
            default_virtual_service_export_to: Vec::new(),
            default_destination_rule_export_to: Vec::new(),
            extension_providers: None,
        }
    }
}

/// What a policy does when one of its rules matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(
    tag = "action",
    content = "provider",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Action {
    /// Allow (the default action).
    Allow,
    /// Deny.
    Deny,
    /// Mark for audit; never changes the verdict.
    Audit,
    /// Delegate to the named external authorization provider.
    Custom(String),
}

impl Action {
    /// The Istio spelling (`ALLOW`, `DENY`, `AUDIT`, `CUSTOM`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Allow => "ALLOW",
            Action::Deny => "DENY",
            Action::Audit => "AUDIT",
            Action::Custom(_) => "CUSTOM",
        }
    }
}

/// A `targetRef` / `targetRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TargetRef {
    /// API group (`gateway.networking.k8s.io`, `networking.istio.io`, or empty for core).
    pub group: String,
    /// Kind: `Gateway`, `GatewayClass`, `Service` or `ServiceEntry`.
    pub kind: String,
    /// Name of the target.
    pub name: String,
    /// Namespace of the target (the policy's own namespace when not written).
    pub namespace: String,
}

/// Which enforcement points a policy attaches to (SEMANTICS.md §1.1, §8.2 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Istio `selector`: workloads whose labels include these (empty: every workload in
    /// scope of the namespace).
    Selector {
        /// Labels that must all be present with these values.
        match_labels: Labels,
    },
    /// Istio `targetRef(s)`: only Kubernetes-Gateway-API gateways and waypoints.
    TargetRefs {
        /// The targets.
        targets: Vec<TargetRef>,
    },
    /// Vendor policies bound to a gateway resource (TSB `EgressGateway`).
    Gateway {
        /// The gateway.
        gateway: ResourceRef,
    },
    /// Vendor policies bound to registry entries (Gloo `AccessPolicy`); an empty list means
    /// every external service of the policy's workspace.
    Services {
        /// The external services.
        services: Vec<ResourceRef>,
    },
}

/// A match field with positive and negative values (`principals` / `notPrincipals`).
///
/// Unset when both lists are empty. Values are OR-ed; the field holds when (no values or
/// some value matches) and no negative value matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field<P> {
    /// Positive values.
    pub values: Vec<P>,
    /// Negative values.
    pub not_values: Vec<P>,
}

impl<P> Default for Field<P> {
    fn default() -> Self {
        Field {
            values: Vec::new(),
            not_values: Vec::new(),
        }
    }
}

impl<P> Field<P> {
    fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.not_values.shrink_to_fit();
    }

    /// Whether the policy set this field at all.
    pub fn is_set(&self) -> bool {
        !self.values.is_empty() || !self.not_values.is_empty()
    }

    /// Evaluates the field with `matches` deciding one value; `None` attribute means the
    /// request does not carry it (positive values fail, negative values hold).
    pub fn holds(&self, mut matches: impl FnMut(&P) -> bool) -> bool {
        (self.values.is_empty() || self.values.iter().any(&mut matches))
            && !self.not_values.iter().any(matches)
    }
}

/// `from[].source`: who sends the request. All set fields must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Source {
    /// `principals`: patterns over the peer's full SPIFFE URI (Istio values get
    /// `spiffe://` prepended; trust domain aliases already expanded).
    pub principals: Field<StringPattern>,
    /// `namespaces`.
    pub namespaces: Field<NamespacePattern>,
    /// `serviceAccounts`.
    pub service_accounts: Field<ServiceAccountRef>,
    /// `trustDomains`.
    pub trust_domains: Field<TrustDomainPattern>,
    /// `requestPrincipals`: patterns over the JWT `iss/sub`.
    pub request_principals: Field<StringPattern>,
    /// `ipBlocks`: the direct peer address.
    pub ip_blocks: Field<IpBlock>,
    /// `remoteIpBlocks`: the original client address.
    pub remote_ip_blocks: Field<IpBlock>,
    /// TSB: workspaces (by name) whose namespaces the source must be in.
    pub workspaces: Field<String>,
    /// TSB: groups (`workspace/group`) whose namespaces the source must be in.
    pub groups: Field<String>,
    /// Gloo: labels the source's service account must carry (all of them); several maps
    /// are alternatives.
    pub service_account_labels: Field<Labels>,
}

/// `to[].operation`: what is requested. All set fields must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Operation {
    /// `hosts` (HTTP only).
    pub hosts: Field<HostPattern>,
    /// `ports`.
    pub ports: Field<u16>,
    /// `methods` (HTTP only).
    pub methods: Field<StringPattern>,
    /// `paths` (HTTP only).
    pub paths: Field<PathPattern>,
}

/// The attribute a `when` condition reads (SEMANTICS.md §1.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "key", content = "matcher", rename_all = "snake_case")]
pub enum Condition {
    /// `request.headers[name]` (name lower-cased). `*` means "present", even if empty.
    RequestHeader {
        /// Lower-cased header name.
        name: String,
        /// Values.
        field: Field<StringPattern>,
    },
    /// `source.ip`.
    SourceIp(Field<IpBlock>),
    /// `remote.ip`.
    RemoteIp(Field<IpBlock>),
    /// `destination.ip`.
    DestinationIp(Field<IpBlock>),
    /// `source.namespace`.
    SourceNamespace(Field<NamespacePattern>),
    /// `source.principal` (patterns over the SPIFFE URI).
    SourcePrincipal(Field<StringPattern>),
    /// `source.serviceAccount`.
    SourceServiceAccount(Field<ServiceAccountRef>),
    /// `source.trustDomain`.
    SourceTrustDomain(Field<TrustDomainPattern>),
    /// `request.auth.principal`.
    RequestAuthPrincipal(Field<StringPattern>),
    /// `request.auth.audiences`.
    RequestAuthAudiences(Field<StringPattern>),
    /// `request.auth.presenter`.
    RequestAuthPresenter(Field<StringPattern>),
    /// `request.auth.claims[a][b]`.
    RequestAuthClaim {
        /// Claim path.
        path: Vec<String>,
        /// Values.
        field: Field<StringPattern>,
    },
    /// `destination.port`.
    DestinationPort(Field<u16>),
    /// `connection.sni`.
    ConnectionSni(Field<StringPattern>),
    /// `experimental.envoy.filters.*[...]`: dynamic metadata the simulator never has.
    Experimental {
        /// The full key.
        key: String,
        /// Values.
        field: Field<StringPattern>,
    },
}

impl Condition {
    /// Whether the attribute exists only for HTTP requests (SEMANTICS.md §1.11).
    pub fn is_http_only(&self) -> bool {
        matches!(
            self,
            Condition::RequestHeader { .. }
                | Condition::RequestAuthPrincipal(_)
                | Condition::RequestAuthAudiences(_)
                | Condition::RequestAuthPresenter(_)
                | Condition::RequestAuthClaim { .. }
        )
    }

    /// The Istio key, such as `request.headers[x-team]`.
    pub fn key(&self) -> String {
        match self {
            Condition::RequestHeader { name, .. } => format!("request.headers[{name}]"),
            Condition::SourceIp(_) => "source.ip".into(),
            Condition::RemoteIp(_) => "remote.ip".into(),
            Condition::DestinationIp(_) => "destination.ip".into(),
            Condition::SourceNamespace(_) => "source.namespace".into(),
            Condition::SourcePrincipal(_) => "source.principal".into(),
            Condition::SourceServiceAccount(_) => "source.serviceAccount".into(),
            Condition::SourceTrustDomain(_) => "source.trustDomain".into(),
            Condition::RequestAuthPrincipal(_) => "request.auth.principal".into(),
            Condition::RequestAuthAudiences(_) => "request.auth.audiences".into(),
            Condition::RequestAuthPresenter(_) => "request.auth.presenter".into(),
            Condition::RequestAuthClaim { path, .. } => {
                let parts: Vec<String> = path.iter().map(|p| format!("[{p}]")).collect();
                format!("request.auth.claims{}", parts.concat())
            }
            Condition::DestinationPort(_) => "destination.port".into(),
            Condition::ConnectionSni(_) => "connection.sni".into(),
            Condition::Experimental { key, .. } => key.clone(),
        }
    }
}

/// One rule: `from`, `to`, `when`. `None` lists were not written (match anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Rule {
    /// `from`: any source may match; `None` when absent.
    pub from: Option<Vec<Source>>,
    /// `to`: any operation may match; `None` when absent.
    pub to: Option<Vec<Operation>>,
    /// `when`: all conditions must hold.
    pub when: Vec<Condition>,
    /// Where the rule starts in its file.
    pub location: Option<Location>,
}

/// One authorization policy in vendor-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The resource this policy came from.
    pub id: ResourceRef,
    /// The product that defined it.
    pub vendor: Vendor,
    /// Where the resource starts.
    pub location: Location,
    /// The action.
    pub action: Action,
    /// Where it attaches.
    pub scope: Scope,
    /// `istio.io/dry-run`: evaluated and reported, never enforced.
    pub dry_run: bool,
    /// The rules. Empty: an ALLOW policy that allows nothing (still counts as an ALLOW policy).
    pub rules: Vec<Rule>,
}

/// A port of a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePort {
    /// Service port number.
    pub number: u16,
    /// Protocol (`HTTP`, `HTTPS`, `TLS`, `TCP`, `GRPC`, `HTTP2`, ...), upper case.
    pub protocol: String,
    /// Port name.
    pub name: String,
    /// `targetPort`, when the upstream port differs.
    pub target_port: Option<u16>,
}

/// TLS origination on the way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsOrigination {
    /// `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`.
    pub mode: String,
    /// SNI to send, when configured.
    pub sni: Option<String>,
    /// The resource that configured it.
    pub origin: ResourceRef,
}

/// A registry entry: a host set the mesh knows how to reach (ServiceEntry, Gloo
/// ExternalService).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalService {
    /// The resource.
    pub id: ResourceRef,
    /// The product that defined it.
    pub vendor: Vendor,
    /// Where it starts.
    pub location: Location,
    /// Host names, with an optional leading `*` wildcard.
    pub hosts: Vec<String>,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// `resolution` (upper case).
    pub resolution: String,
    /// `exportTo` (empty: everywhere).
    pub export_to: Vec<String>,
    /// The gateway (waypoint or egress gateway) that carries its traffic.
    pub gateway: Option<ResourceRef>,
    /// Gloo `egressGatewayRoutes.portMatch`: the port clients use towards the gateway.
    pub gateway_port: Option<u16>,
    /// TLS origination defined on the entry itself (Gloo `clientsideTls`).
    pub tls: Option<TlsOrigination>,
}

impl ExternalService {
    /// Registry host matching (SEMANTICS.md §2): string suffix after a leading `*`,
    /// compared case-insensitively as Envoy's virtual-host lookup does.
    pub fn host_matches(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| registry_host_matches(h, host))
    }
}

/// Matches a registry host (`httpbin.org`, `*.example.com`, `*`) against a request host
/// without port, ignoring ASCII case.
pub fn registry_host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix) && host.len() > suffix.len(),
        None => host == pattern,
    }
}

/// Which product's gateway this is, and therefore how policies attach to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    /// Gateway API `Gateway` of class `istio-waypoint`.
    Waypoint,
    /// Gateway API `Gateway` of another class.
    KubernetesGateway,
    /// `networking.istio.io` `Gateway` (classic `istio-egressgateway` deployment).
    IstioGateway,
    /// Gloo `VirtualGateway`.
    GlooVirtualGateway,
    /// TSB `EgressGateway`.
    TsbEgressGateway,
}

/// A gateway that enforces policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gateway {
    /// The resource.
    pub id: ResourceRef,
    /// Kind of gateway.
    pub kind: GatewayKind,
    /// Where it starts.
    pub location: Location,
    /// Namespace of the gateway pods.
    pub namespace: String,
    /// Labels of the gateway pods (for Gateway API gateways:
    /// `gateway.networking.k8s.io/gateway-name`).
    pub labels: Labels,
    /// Ports the gateway listens on.
    pub ports: Vec<u16>,
    /// TSB: the workspace (name) the gateway belongs to.
    pub workspace: Option<String>,
    /// TSB: the group (`workspace/group`) the gateway belongs to.
    pub group: Option<String>,
    /// TSB: one-way TLS towards external hosts.
    pub originates_tls: bool,
    /// networking.istio.io `servers` (empty for other kinds).
    pub servers: Vec<GatewayServer>,
}

/// TLS settings from a DestinationRule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSetting {
    /// The DestinationRule.
    pub origin: ResourceRef,
    /// Its `host`.
    pub host: String,
    /// `trafficPolicy.tls.mode` for every port.
    pub mode: Option<String>,
    /// `trafficPolicy.tls.sni`.
    pub sni: Option<String>,
    /// `portLevelSettings`: port number, mode, sni.
    pub ports: Vec<(u16, String, Option<String>)>,
    /// `workloadSelector.matchLabels`: the proxies it applies to (`None`: all).
    pub workload_selector: Option<Labels>,
    /// `exportTo`.
    pub export_to: ExportTo,
    /// Where it starts.
    pub location: Option<Location>,
}

/// Request header mutations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
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
}

/// One `http` route of a VirtualService, reduced to what egress needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
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
        headers: &BTreeMap<String, String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct L4Route {
    /// `match[]` entries: (port, sniHosts, gateways); empty matches everything.
    pub matches: Vec<L4Match>,
    /// First destination.
    pub destination: Option<RouteDestination>,
}

/// A `tls[].match[]` / `tcp[].match[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct L4Match {
    /// `port`.
    pub port: Option<u16>,
    /// `sniHosts` (TLS only).
    pub sni_hosts: Vec<String>,
    /// `gateways`.
    pub gateways: Vec<String>,
}

/// A Kubernetes ServiceAccount, for label-based selection (Gloo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAccountInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
}

/// One `namespaceSelector.names` entry of TSB (`cluster/namespace`, `*` allowed in each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceSelector {
    /// Cluster name or `*`.
    pub cluster: String,
    /// Namespace name or `*`.
    pub namespace: String,
}

impl NamespaceSelector {
    /// Whether a source in `cluster` (if known) and `namespace` is selected.
    pub fn selects(&self, cluster: Option<&str>, namespace: &str) -> bool {
        // TSB documents `*` and prefix wildcards (`c1/ns*`); a glob covers both.
        let cluster_ok =
            self.cluster == "*" || cluster.is_none_or(|c| glob_match(&self.cluster, c));
        cluster_ok && glob_match(&self.namespace, namespace)
    }
}

/// A TSB workspace or group: a named set of namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceSet {
    /// The resource.
    pub id: ResourceRef,
    /// Workspace name, or `workspace/group` for groups.
    pub name: String,
    /// Selected namespaces.
    pub namespaces: Vec<NamespaceSelector>,
}

/// TSB `TrafficSetting.egress.host`: sources in these namespaces send external traffic to
/// this gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EgressRoute {
    /// The TrafficSetting.
    pub origin: ResourceRef,
    /// Sources covered (the namespaces of the setting's workspace or group).
    pub sources: Vec<NamespaceSelector>,
    /// The gateway, as written (`namespace/service`).
    pub host: String,
    /// The resolved gateway.
    pub gateway: Option<ResourceRef>,
    /// What was assumed to build this route (its group or workspace is not loaded, its
    /// gateway was found by label in another namespace, ...): every request that takes the
    /// route carries these caveats.
    pub caveats: Vec<Caveat>,
}

/// Everything loaded, in vendor-neutral form.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Model {
    /// Mesh settings.
    pub mesh: MeshConfig,
    /// Authorization policies of every vendor.
    pub policies: Vec<Policy>,
    /// The registry.
    pub services: Vec<ExternalService>,
    /// Gateways.
    pub gateways: Vec<Gateway>,
    /// DestinationRule TLS settings.
    pub tls_settings: Vec<TlsSetting>,
    /// VirtualServices.
    pub virtual_services: Vec<VirtualService>,
    /// Service accounts (with labels).
    pub service_accounts: Vec<ServiceAccountInfo>,
    /// Namespaces with their labels.
    pub namespaces: BTreeMap<String, Labels>,
    /// TSB workspaces.
    pub workspaces: Vec<NamespaceSet>,
    /// TSB security groups.
    pub groups: Vec<NamespaceSet>,
    /// TSB egress routes.
    pub egress_routes: Vec<EgressRoute>,
    /// Istio Sidecars.
    pub sidecars: Vec<Sidecar>,
    /// Kubernetes Services.
    pub kube_services: Vec<KubeService>,
    /// Istio RequestAuthentications.
    pub request_authns: Vec<RequestAuthn>,
    /// Gateway API gateways' `istio.io/waypoint-for` label (`service` when absent).
    pub waypoint_for: BTreeMap<ResourceRef, String>,
    /// Assumptions that hold whenever the named policy attaches at the enforcing proxy
    /// (a workspace it names is not loaded, labels are taken from the request, ...): every
    /// decision made there carries them as caveats.
    pub assumptions: Vec<(ResourceRef, Caveat)>,
    /// Warnings found while loading (skipped kinds, suspicious values).
    pub warnings: Vec<Diagnostic>,
    /// The source texts and the located document of every resource (empty when the loader
    /// was told not to keep them): where each field was written.
    #[serde(skip)]
    pub sources: SourceMap,
}

impl Model {
    /// The assumptions recorded for policy `id`.
    pub fn assumptions_of<'a>(&'a self, id: &'a ResourceRef) -> impl Iterator<Item = &'a Caveat> {
        self.assumptions
            .iter()
            .filter(move |(p, _)| p == id)
            .map(|(_, c)| c)
    }

    /// Releases spare capacity left by decoding (lists grown by pushing): at 100 000 rules
    /// this is most of the model's memory.
    pub fn shrink_to_fit(&mut self) {
        self.policies.shrink_to_fit();
        for policy in &mut self.policies {
            policy.rules.shrink_to_fit();
            for rule in &mut policy.rules {
                rule.when.shrink_to_fit();
                for source in rule.from.iter_mut().flatten() {
                    source.principals.shrink_to_fit();
                    source.namespaces.shrink_to_fit();
                    source.service_accounts.shrink_to_fit();
                    source.trust_domains.shrink_to_fit();
                    source.request_principals.shrink_to_fit();
                    source.ip_blocks.shrink_to_fit();
                    source.remote_ip_blocks.shrink_to_fit();
                    source.workspaces.shrink_to_fit();
                    source.groups.shrink_to_fit();
                    source.service_account_labels.shrink_to_fit();
                }
                if let Some(from) = &mut rule.from {
                    from.shrink_to_fit();
                }
                for operation in rule.to.iter_mut().flatten() {
                    operation.hosts.shrink_to_fit();
                    operation.ports.shrink_to_fit();
                    operation.methods.shrink_to_fit();
                    operation.paths.shrink_to_fit();
                }
                if let Some(to) = &mut rule.to {
                    to.shrink_to_fit();
                }
            }
        }
    }
}
