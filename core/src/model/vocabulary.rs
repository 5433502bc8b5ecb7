//! Closed vocabularies of the resources: TLS modes, port protocols, resolutions and the
//! kinds a `targetRef` may name. Each serialises as the exact string written in the
//! resources (`ISTIO_MUTUAL`, `HTTP`, `DNS_ROUND_ROBIN`, `ServiceEntry`), so the model's
//! JSON reads as before; importers parse into them and everything after compares values.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A closed vocabulary, for importers that check a field against it.
#[cfg_attr(not(feature = "yaml"), allow(dead_code))] // only the importers use it
pub(crate) trait Closed: Copy + fmt::Display + 'static {
    /// Every value, in the order errors list them.
    fn all() -> &'static [Self];
    /// The value spelled exactly `text`, if any.
    fn parse_wire(text: &str) -> Option<Self>;
}

/// Defines a closed vocabulary: the enum, its wire strings, `ALL`, `as_str`, `from_wire`,
/// Display and serde as the wire string.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order importers list them in their errors.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling in the resources.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value spelled exactly `text`, if any.
            pub fn from_wire(text: &str) -> Option<Self> {
                match text {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Closed for $name {
            fn all() -> &'static [Self] {
                $name::ALL
            }

            fn parse_wire(text: &str) -> Option<Self> {
                $name::from_wire(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::from_wire(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown value `{text}`, expected one of {}",
                        $name::ALL
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            }
        }
    };
}

/// Defines an open vocabulary: known wire strings plus `Other(String)` for whatever else
/// the resources may carry (the importer accepts any value there).
macro_rules! open_vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value outside the known ones, as written.
            Other(String),
        }

        impl $name {
            /// The spelling in the resources.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(text) => text,
                }
            }

            /// The value for `text`: a known one when spelled exactly so, else `Other`.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $($wire => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::from_wire(&String::deserialize(deserializer)?))
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::from_wire(text)
            }
        }
    };
}

vocabulary! {
    /// Client-side TLS mode: DestinationRule `trafficPolicy.tls.mode`, Gloo
    /// `clientsideTls.mode`, and the TLS a proxy originates.
    TlsMode {
        /// `DISABLE`: plaintext upstream (the proto zero value).
        Disable = "DISABLE",
        /// `SIMPLE`: one-way TLS.
        Simple = "SIMPLE",
        /// `MUTUAL`: TLS with a client certificate.
        Mutual = "MUTUAL",
        /// `ISTIO_MUTUAL`: mTLS with the workload's Istio certificate.
        IstioMutual = "ISTIO_MUTUAL",
    }
}

open_vocabulary! {
    /// Server-side TLS mode of a gateway server: networking.istio.io `servers[].tls.mode`
    /// or Gateway API `listeners[].tls.mode`, as written (the importer does not check it).
    ServerTlsMode {
        /// `PASSTHROUGH`: SNI routing, TLS is not terminated.
        Passthrough = "PASSTHROUGH",
        /// `SIMPLE`: terminates one-way TLS.
        Simple = "SIMPLE",
        /// `MUTUAL`: terminates TLS and requires a client certificate.
        Mutual = "MUTUAL",
        /// `AUTO_PASSTHROUGH`: SNI-routed passthrough without a VirtualService.
        AutoPassthrough = "AUTO_PASSTHROUGH",
        /// `ISTIO_MUTUAL`: terminates Istio mTLS, so the sender's identity reaches it.
        IstioMutual = "ISTIO_MUTUAL",
        /// `OPTIONAL_MUTUAL`: client certificate requested, not required.
        OptionalMutual = "OPTIONAL_MUTUAL",
        /// Gateway API `Terminate`.
        Terminate = "Terminate",
        /// Gateway API `Passthrough`.
        ListenerPassthrough = "Passthrough",
    }
}

open_vocabulary! {
    /// A port's protocol, upper case: ServiceEntry `ports[].protocol`, gateway server and
    /// listener `protocol`, Gloo `ExternalService` ports. Istio accepts any value there.
    PortProtocol {
        /// Not written (the empty string).
        Unspecified = "",
        /// `HTTP`.
        Http = "HTTP",
        /// `HTTPS`.
        Https = "HTTPS",
        /// `HTTP2`.
        Http2 = "HTTP2",
        /// `GRPC`.
        Grpc = "GRPC",
        /// `GRPC-WEB`.
        GrpcWeb = "GRPC-WEB",
        /// `TLS`.
        Tls = "TLS",
        /// `TCP`.
        Tcp = "TCP",
        /// `MONGO`.
        Mongo = "MONGO",
        /// `MYSQL`.
        Mysql = "MYSQL",
        /// `REDIS`.
        Redis = "REDIS",
        /// `UDP`.
        Udp = "UDP",
        /// `HBONE`: the waypoint's tunnel listener.
        Hbone = "HBONE",
    }
}

impl PortProtocol {
    /// Upper-cases `text` and parses it (how every importer reads a protocol).
    pub fn from_any_case(text: &str) -> Self {
        PortProtocol::from_wire(&text.to_ascii_uppercase())
    }
}

vocabulary! {
    /// ServiceEntry `resolution`.
    Resolution {
        /// `NONE`: the original destination address is used.
        None = "NONE",
        /// `STATIC`: the listed endpoints.
        Static = "STATIC",
        /// `DNS`: resolved by DNS, all addresses.
        Dns = "DNS",
        /// `DNS_ROUND_ROBIN`: resolved by DNS, one address at a time.
        DnsRoundRobin = "DNS_ROUND_ROBIN",
        /// `DYNAMIC_DNS`: resolved per request.
        DynamicDns = "DYNAMIC_DNS",
    }
}

impl Resolution {
    /// Whether the proxy resolves the hosts by DNS itself (`DNS`, `DNS_ROUND_ROBIN`), which a
    /// wildcard host cannot be without endpoints.
    pub fn resolves_hosts(self) -> bool {
        matches!(self, Resolution::Dns | Resolution::DnsRoundRobin)
    }
}

vocabulary! {
    /// The kinds an AuthorizationPolicy `targetRef(s)` may name.
    TargetKind {
        /// Core `Service`.
        Service = "Service",
        /// `gateway.networking.k8s.io` `Gateway`.
        Gateway = "Gateway",
        /// `gateway.networking.k8s.io` `GatewayClass`.
        GatewayClass = "GatewayClass",
        /// `networking.istio.io` `ServiceEntry`.
        ServiceEntry = "ServiceEntry",
    }
}

impl TargetKind {
    /// The API group of the kind (empty for core).
    pub fn group(self) -> &'static str {
        match self {
            TargetKind::Service => "",
            TargetKind::Gateway | TargetKind::GatewayClass => "gateway.networking.k8s.io",
            TargetKind::ServiceEntry => "networking.istio.io",
        }
    }

    /// The kind written as `group`/`kind`, if a policy may target it.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Self> {
        TargetKind::from_wire(kind).filter(|k| k.group() == group)
    }

    /// Whether the kind names a registry entry (a waypoint's service-scoped policy).
    pub fn is_service(self) -> bool {
        matches!(self, TargetKind::Service | TargetKind::ServiceEntry)
    }
}

vocabulary! {
    /// The word of an AuthorizationPolicy `action` ([`Action`](super::Action) also carries
    /// a CUSTOM policy's provider).
    ActionKind {
        /// `ALLOW` (the default).
        Allow = "ALLOW",
        /// `DENY`.
        Deny = "DENY",
        /// `AUDIT`.
        Audit = "AUDIT",
        /// `CUSTOM`.
        Custom = "CUSTOM",
    }
}

vocabulary! {
    /// How a route answers instead of forwarding.
    AnswerKind {
        /// VirtualService `directResponse`.
        DirectResponse = "directResponse",
        /// VirtualService `redirect`.
        Redirect = "redirect",
        /// VirtualService `fault.abort`.
        FaultAbort = "fault.abort",
        /// Gateway API `HTTPRoute` filter `RequestRedirect`.
        RequestRedirect = "RequestRedirect",
    }
}

vocabulary! {
    /// Gateway API listener `allowedRoutes.namespaces.from`: which namespaces' routes may
    /// attach.
    AllowedRoutes {
        /// A networking.istio.io server, whose `hosts` entries carry the namespace instead
        /// (the empty string).
        NotApplicable = "",
        /// Routes of every namespace.
        All = "All",
        /// Routes of the gateway's own namespace (the default).
        Same = "Same",
        /// Routes of the namespaces a label selector picks.
        Selector = "Selector",
        /// No routes.
        None = "None",
    }
}

open_vocabulary! {
    /// A waypoint's `istio.io/waypoint-for` label: which traffic it takes (the importer
    /// keeps any value).
    WaypointFor {
        /// `service`: traffic to services (the default).
        Service = "service",
        /// `workload`: traffic to workloads only.
        Workload = "workload",
        /// `all`: both.
        All = "all",
        /// `none`: no traffic.
        None = "none",
    }
}

impl WaypointFor {
    /// Whether the waypoint takes traffic addressed to services (everything but
    /// `workload` and `none`).
    pub fn takes_service_traffic(&self) -> bool {
        !matches!(self, WaypointFor::Workload | WaypointFor::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_vocabularies_round_trip_their_wire_strings() {
        let wire = |all: Vec<(&'static str, String, String)>| {
            for (text, shown, json) in all {
                assert_eq!(shown, text);
                assert_eq!(json, format!("\"{text}\""));
            }
        };
        wire(
            TlsMode::ALL
                .iter()
                .map(|m| {
                    (
                        m.as_str(),
                        m.to_string(),
                        serde_json::to_string(m).unwrap_or_default(),
                    )
                })
                .collect(),
        );
        assert_eq!(
            TlsMode::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]
        );
        assert_eq!(
            Resolution::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"]
        );
        assert_eq!(
            ActionKind::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["ALLOW", "DENY", "AUDIT", "CUSTOM"]
        );
        assert_eq!(
            AnswerKind::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            [
                "directResponse",
                "redirect",
                "fault.abort",
                "RequestRedirect"
            ]
        );
        assert_eq!(
            serde_json::to_string(&AllowedRoutes::NotApplicable).unwrap_or_default(),
            "\"\""
        );
        assert_eq!(AllowedRoutes::from_wire("Same"), Some(AllowedRoutes::Same));
        assert_eq!(
            TargetKind::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["Service", "Gateway", "GatewayClass", "ServiceEntry"]
        );
        for kind in TargetKind::ALL {
            assert_eq!(TargetKind::from_wire(kind.as_str()), Some(*kind));
            assert_eq!(
                TargetKind::from_group_kind(kind.group(), kind.as_str()),
                Some(*kind)
            );
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(serde_json::from_str::<TargetKind>(&json).ok(), Some(*kind));
        }
        assert_eq!(TargetKind::from_group_kind("", "Gateway"), None);
        assert_eq!(TlsMode::from_wire("simple"), None);
        assert_eq!(Resolution::from_wire("DNS"), Some(Resolution::Dns));
        let err = serde_json::from_str::<TlsMode>("\"DISABLED\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("unknown value `DISABLED`, expected one of `DISABLE`, `SIMPLE`"),
            "{err}"
        );
    }

    #[test]
    fn open_vocabularies_keep_unknown_values_as_written() {
        assert_eq!(
            PortProtocol::from_any_case("grpc-web"),
            PortProtocol::GrpcWeb
        );
        assert_eq!(PortProtocol::from_any_case(""), PortProtocol::Unspecified);
        assert_eq!(
            PortProtocol::from_any_case("quic"),
            PortProtocol::Other("QUIC".to_string())
        );
        assert_eq!(PortProtocol::Other("QUIC".into()).to_string(), "QUIC");
        assert_eq!(
            ServerTlsMode::from_wire("Terminate"),
            ServerTlsMode::Terminate
        );
        assert!(!WaypointFor::from_wire("workload").takes_service_traffic());
        assert!(!WaypointFor::from_wire("none").takes_service_traffic());
        assert!(WaypointFor::from_wire("all").takes_service_traffic());
        assert!(WaypointFor::from_wire("Workload").takes_service_traffic());
        assert_eq!(
            ServerTlsMode::from_wire("istio_mutual"),
            ServerTlsMode::Other("istio_mutual".to_string())
        );
        for (mode, text) in [
            (ServerTlsMode::IstioMutual, "ISTIO_MUTUAL"),
            (ServerTlsMode::ListenerPassthrough, "Passthrough"),
            (ServerTlsMode::Other("x".into()), "x"),
        ] {
            let json = serde_json::to_string(&mode).unwrap_or_default();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<ServerTlsMode>(&json).ok(),
                Some(mode)
            );
        }
    }
}
