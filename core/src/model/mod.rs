//! The vendor-neutral model every importer produces and every evaluator reads.
//!
//! Istio, TSB and Gloo resources all become [`Policy`] values (actions, scopes, rules over
//! sources, operations and conditions), [`ExternalService`] registry entries, [`Gateway`]s,
//! header routes and TLS settings. Vendor-specific meaning is resolved at import time so
//! that deciding needs only this model.

mod bundle;
mod origin;
mod pattern;
mod road;
mod rule;
mod sourcemap;
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Location};

pub use road::{
    kube_service_host, Answer, EgressProxy, ExportTo, GatewayServer, HeaderMutations, HttpRoute,
    KubePort, KubeService, L4Match, L4Route, RegistryScope, RequestAuthn, RouteDestination,
    RouteMatch, Sidecar, UriMatch, VirtualService,
};

use bundle::map_as_pairs;
pub use bundle::{BUNDLE_FORMAT, BUNDLE_VERSION};
pub use origin::{Origin, OriginField, RuleOrigin};
pub use rule::{Condition, Field, Operation, Policy, Rule, Source};
pub use sourcemap::SourceMap;
#[cfg(feature = "yaml")]
pub(crate) use vocabulary::Closed;
pub use vocabulary::{
    ActionKind, AllowedRoutes, AnswerKind, PortProtocol, Resolution, ServerTlsMode, TargetKind,
    TlsMode, WaypointFor,
};

pub use pattern::{
    glob_match, HostPattern, InvalidPath, IpBlock, NamespacePattern, PathPattern,
    ServiceAccountRef, StringPattern, TemplatePart, TrustDomainPattern,
};

/// The label Gateway-API gateways and waypoints carry on their pods.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// The GatewayClass of the Gateway-API gateways Istio runs as waypoints.
pub const WAYPOINT_CLASS: &str = "istio-waypoint";

/// An assumption the engine made because something was missing or cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

    /// The pod labels of a gateway known only by this reference (not loaded): a Gateway-API
    /// `Gateway`'s pods carry [`GATEWAY_NAME_LABEL`]; of other kinds nothing is known.
    pub fn assumed_gateway_labels(&self) -> Labels {
        let mut labels = Labels::new();
        if self.kind == "Gateway" {
            labels.insert(GATEWAY_NAME_LABEL.to_string(), self.name.clone());
        }
        labels
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Which product a resource came from; decides a few reason codes and explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
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
    /// The action's word, without a CUSTOM policy's provider.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Allow => ActionKind::Allow,
            Action::Deny => ActionKind::Deny,
            Action::Audit => ActionKind::Audit,
            Action::Custom(_) => ActionKind::Custom,
        }
    }

    /// The Istio spelling (`ALLOW`, `DENY`, `AUDIT`, `CUSTOM`).
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// A `targetRef` / `targetRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRef {
    /// API group (`gateway.networking.k8s.io`, `networking.istio.io`, or empty for core).
    pub group: String,
    /// Kind: `Gateway`, `GatewayClass`, `Service` or `ServiceEntry`.
    pub kind: TargetKind,
    /// Name of the target.
    pub name: String,
    /// Namespace of the target (the policy's own namespace when not written).
    pub namespace: String,
}

impl TargetRef {
    /// Whether this target names the registry entry `id` (a `Service` or `ServiceEntry`
    /// target of the same name and namespace).
    pub fn names_service(&self, id: &ResourceRef) -> bool {
        self.kind.is_service()
            && id.kind == self.kind.as_str()
            && id.name == self.name
            && id.namespace == self.namespace
    }

    /// Whether this target is the `istio-waypoint` GatewayClass (every waypoint).
    pub fn is_waypoint_class(&self) -> bool {
        self.kind == TargetKind::GatewayClass && self.name == WAYPOINT_CLASS
    }
}

/// Which enforcement points a policy attaches to (SEMANTICS.md §1.1, §8.2 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Istio `selector`: workloads whose labels include these (empty: every workload in
    /// scope of the namespace).
    Selector {
        /// Labels that must all be present with these values. Shared: the loader gives
        /// every policy of a load with the same labels the same map (a map of one label
        /// takes half a kilobyte).
        #[serde(
            serialize_with = "serialize_shared",
            deserialize_with = "deserialize_shared"
        )]
        match_labels: Arc<Labels>,
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

/// Serializes a shared value as the value itself.
fn serialize_shared<T: Serialize, S: serde::Serializer>(
    value: &Arc<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.as_ref().serialize(serializer)
}

/// Reads a shared value (the loader shares equal maps again: [`Model::from_bundle_json`]).
fn deserialize_shared<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<T>, D::Error> {
    T::deserialize(deserializer).map(Arc::new)
}

/// A port of a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePort {
    /// Service port number.
    pub number: u16,
    /// Protocol (`HTTP`, `HTTPS`, `TLS`, `TCP`, `GRPC`, `HTTP2`, ...), upper case.
    pub protocol: PortProtocol,
    /// Port name.
    pub name: String,
    /// `targetPort`, when the upstream port differs.
    pub target_port: Option<u16>,
}

/// TLS origination on the way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsOrigination {
    /// `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`.
    pub mode: TlsMode,
    /// SNI to send, when configured.
    pub sni: Option<String>,
    /// The resource that configured it.
    pub origin: ResourceRef,
}

/// A registry entry: a host set the mesh knows how to reach (ServiceEntry, Gloo
/// ExternalService).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// `resolution`.
    pub resolution: Resolution,
    /// `exportTo` (empty: everywhere).
    pub export_to: Vec<String>,
    /// The gateway (waypoint or egress gateway) that carries its traffic.
    pub gateway: Option<ResourceRef>,
    /// Gloo `egressGatewayRoutes.portMatch`: the port clients use towards the gateway.
    pub gateway_port: Option<u16>,
    /// TLS origination defined on the entry itself (Gloo `clientsideTls`).
    pub tls: Option<TlsOrigination>,
    /// `addresses` (VIPs or CIDRs): the destinations ambient capture recognises.
    pub addresses: Vec<IpBlock>,
    /// Whether Istio allocates a VIP for each non-wildcard host (no `addresses` and no
    /// `networking.istio.io/enable-autoallocate-ip: "false"` label).
    pub auto_allocated: bool,
}

/// The ranges Istio allocates ServiceEntry VIPs from: the class E block 240.240.0.0/16
/// and the RFC 5180 benchmarking block 2001:2::/48 (pilot/pkg/model/service.go,
/// `AutoAllocatedIPv4Address`; the ip-autoallocate controller writes them to
/// `status.addresses`, and ztunnel's DNS proxy hands them out for the hosts).
pub const AUTO_ALLOCATED_RANGES: [&str; 2] = ["240.240.0.0/16", "2001:2::/48"];

impl ExternalService {
    /// Whether ambient capture (by destination address) recognises `ip` as this entry's:
    /// one of its `addresses`, or, without them, an address of Istio's allocation ranges
    /// (which one a host received is not knowable offline).
    pub fn captures_address(&self, ip: std::net::IpAddr) -> bool {
        if !self.addresses.is_empty() {
            return self.addresses.iter().any(|b| b.contains(ip));
        }
        self.auto_allocated
            && AUTO_ALLOCATED_RANGES
                .iter()
                .filter_map(|r| IpBlock::parse(r))
                .any(|b| b.contains(ip))
    }

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSetting {
    /// The DestinationRule.
    pub origin: ResourceRef,
    /// Its `host`.
    pub host: String,
    /// `trafficPolicy.tls.mode` for every port.
    pub mode: Option<TlsMode>,
    /// `trafficPolicy.tls.sni`.
    pub sni: Option<String>,
    /// `portLevelSettings`: port number, mode, sni.
    pub ports: Vec<(u16, TlsMode, Option<String>)>,
    /// `workloadSelector.matchLabels`: the proxies it applies to (`None`: all).
    pub workload_selector: Option<Labels>,
    /// `exportTo`.
    pub export_to: ExportTo,
    /// Where it starts.
    pub location: Option<Location>,
}

/// A Kubernetes ServiceAccount, for label-based selection (Gloo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
}

/// One `namespaceSelector.names` entry of TSB (`cluster/namespace`, `*` allowed in each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
    #[serde(with = "map_as_pairs")]
    pub waypoint_for: BTreeMap<ResourceRef, WaypointFor>,
    /// Registry entries that only some namespaces see, beyond `exportTo` (Gloo workspaces).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry_scopes: Vec<RegistryScope>,
    /// Caveats that hold whenever the named registry entry serves a request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_caveats: Vec<(ResourceRef, Caveat)>,
    /// Assumptions that hold whenever the named policy attaches at the enforcing proxy
    /// (a workspace it names is not loaded, labels are taken from the request, ...): every
    /// decision made there carries them as caveats.
    pub assumptions: Vec<(ResourceRef, Caveat)>,
    /// Warnings found while loading (skipped kinds, suspicious values).
    #[serde(with = "bundle::warnings")]
    pub warnings: Vec<Diagnostic>,
    /// The source texts and the located document of every resource (empty when the loader
    /// was told not to keep them): where each field was written. Not serialized: an
    /// engine built from a compiled bundle has none ([`Model::from_bundle_json`]).
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
            policy.shrink_to_fit();
        }
    }
}
