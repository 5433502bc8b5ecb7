//! Suggest the least-privilege egress policy that allows exactly the observed traffic.
//!
//! Input: observed requests ([`Observation`], usually read from access logs with a
//! [`LogReader`]). Output: one multi-document YAML text.
//!
//! # Istio (`Vendor::Istio`)
//!
//! Ambient egress (istio.io "Egress gateways" for ambient): the `istio-egress` namespace, an
//! egress waypoint, one `ServiceEntry` per observed host (every observed port, protocol
//! HTTP / TLS / TCP, `istio.io/use-waypoint` label), one ALLOW `AuthorizationPolicy` per
//! host at the waypoint, and the mesh config `outboundTrafficPolicy: REGISTRY_ONLY`.
//!
//! # Gloo (`Vendor::Gloo`) and TSB (`Vendor::Tsb`)
//!
//! The same observations in each product's own resources (the `gloo` and `tsb`
//! submodules say what each product cannot express and what is written instead; every
//! such loss is also a note of the [`Suggestion`]).
//!
//! # Generalization rules (the `generalize` knob, N ≥ 0)
//!
//! 1. Identities, hosts (as sent, port included), ports and methods are never generalized.
//! 2. Paths are cut after N segments: a path longer than that becomes the prefix
//!    `/seg1/…/segN/*`, a path of at most N segments stays exact; N = 0 drops paths.
//! 3. Rules are exact products: per identity and host, paths with the same set of methods
//!    share one rule (`methods` × `paths`), and identities with identical operations share
//!    one rule (`principals`). No method is allowed on a path it was not observed on
//!    (after rule 2).
//! 4. Plaintext senders (no identity) are matched with `notPrincipals: ["*"]`.
//! 5. HTTP rules name the observed ports (`ports`), so they never meet TLS traffic to
//!    another port of the host. TLS traffic is allowed by port and SNI
//!    (`connection.sni`); TCP traffic by port only (the proxy sees no host attribute), the
//!    host restriction coming from the registry (REGISTRY_ONLY and the observed host's
//!    ServiceEntry).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::PathNormalization;
use crate::request::{Protocol, Request};

use crate::engine::Engine;

use super::replay::{path_class, LineError, LogReader, MALFORMED_SAMPLES};

mod gloo;
mod istio;
mod tsb;

/// The namespace the suggested resources live in.
pub const EGRESS_NAMESPACE: &str = "istio-egress";
/// The egress waypoint's name.
pub const WAYPOINT: &str = "egress-waypoint";
/// The waypoint of hosts reached only over TLS or TCP: their port-level rules and the
/// HTTP rules of other hosts never meet at one proxy.
pub const OPAQUE_WAYPOINT: &str = "egress-waypoint-tls";

/// The product whose resources are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Istio (ambient egress waypoint, ServiceEntry, AuthorizationPolicy).
    #[default]
    Istio,
    /// Tetrate TSB (tenancy, TrafficSetting egress, EgressGateway authorization).
    Tsb,
    /// Solo Gloo Mesh (VirtualGateway, ExternalService, AccessPolicy).
    Gloo,
}

impl std::str::FromStr for Vendor {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "istio" => Ok(Vendor::Istio),
            "tsb" => Ok(Vendor::Tsb),
            "gloo" => Ok(Vendor::Gloo),
            other => Err(format!(
                "unsupported vendor `{other}`: expected istio, tsb or gloo"
            )),
        }
    }
}

/// Options of [`suggest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuggestOptions {
    /// The product.
    pub vendor: Vendor,
    /// Path segments kept (rule 2 of the module docs).
    pub generalize: usize,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            vendor: Vendor::Istio,
            generalize: 1,
        }
    }
}

/// One observed request, reduced to what a policy can name. Ordered and hashable so that
/// sets of them merge (threads, files, Spark partitions).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Observation {
    /// The sender's principal (`cluster.local/ns/x/sa/y`), `None` for plaintext.
    pub identity: Option<String>,
    /// `http`, `tls` or `tcp`.
    pub protocol: String,
    /// The host, lower-cased, without port.
    pub host: String,
    /// `:authority` as sent (HTTP), else the host.
    pub authority: String,
    /// The destination port.
    pub port: u16,
    /// Method (HTTP).
    pub method: Option<String>,
    /// Path class after generalization (HTTP): exact path or `prefix/*`.
    pub path: Option<String>,
}

impl Observation {
    /// Reduces a request; `None` when Istio would reject it before authorization or it
    /// names no host.
    pub fn of(request: &Request, generalize: usize) -> Option<Observation> {
        let normalized = request.normalize(PathNormalization::default()).ok()?;
        let host = normalized.host.clone().or_else(|| normalized.sni.clone())?;
        let identity = normalized
            .peer_uri
            .as_deref()
            .map(|p| p.strip_prefix("spiffe://").unwrap_or(p).to_string());
        let protocol = match normalized.protocol {
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Tcp => "tcp",
        };
        let http = normalized.protocol == Protocol::Http;
        Some(Observation {
            identity,
            protocol: protocol.to_string(),
            authority: if http {
                normalized
                    .authority
                    .as_deref()
                    .map_or_else(|| host.to_string(), str::to_string)
            } else {
                host.to_string()
            },
            host: host.to_ascii_lowercase(),
            port: normalized.port,
            method: if http {
                normalized
                    .method
                    .as_deref()
                    .map(str::to_string)
                    .or(Some("GET".into()))
            } else {
                None
            },
            path: if http && generalize > 0 {
                Some(path_class(
                    normalized.path.as_deref().unwrap_or("/"),
                    generalize,
                ))
            } else {
                None
            },
        })
    }
}

/// The answer of [`suggest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The resources, one multi-document YAML text.
    pub yaml: String,
    /// Hosts registered.
    pub hosts: Vec<String>,
    /// Number of authorization rules written.
    pub rules: usize,
    /// Things a reader should know (port-level rules for TLS/TCP).
    pub notes: Vec<String>,
}

/// Writes the smallest policy set that allows exactly `observations` (after
/// generalization) and nothing else.
pub fn suggest<'o>(
    observations: impl IntoIterator<Item = &'o Observation>,
    options: &SuggestOptions,
) -> Suggestion {
    let hosts = traffic(observations);
    let mut suggestion = match options.vendor {
        Vendor::Istio => istio::write(&hosts),
        Vendor::Gloo => gloo::write(&hosts),
        Vendor::Tsb => tsb::write(&hosts),
    };
    let mut seen = BTreeSet::new();
    suggestion.notes.retain(|note| seen.insert(note.clone()));
    suggestion
}

/// A YAML scalar: JSON string syntax is valid YAML.
fn q(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
}

fn list(values: &BTreeSet<String>) -> String {
    let items: Vec<String> = values.iter().map(|v| q(v)).collect();
    format!("[{}]", items.join(", "))
}

/// A DNS-1123 name for a host.
fn resource_name(prefix: &str, host: &str) -> String {
    let mut name: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches(|c| c == '-' || c == '.').to_string();
    if name.is_empty() {
        name.push_str("host");
    }
    let full = format!("{prefix}{name}");
    full.chars().take(253).collect()
}

/// An observed HTTP destination: authority, port, path class.
type Seen = (String, u16, Option<String>);

/// The operation of one HTTP rule: exact products of what was observed (rule 3).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Operation {
    methods: BTreeSet<String>,
    hosts: BTreeSet<String>,
    ports: BTreeSet<String>,
    paths: BTreeSet<String>,
}

/// The protocol a host was observed with on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortProtocol {
    Http,
    Tls,
    Tcp,
}

impl PortProtocol {
    /// The registry's name of the protocol (ServiceEntry / ExternalService `protocol`).
    fn registry_name(self) -> &'static str {
        match self {
            PortProtocol::Http => "HTTP",
            PortProtocol::Tls => "TLS",
            PortProtocol::Tcp => "TCP",
        }
    }
}

/// What was observed towards one host.
#[derive(Default)]
struct HostTraffic {
    ports: BTreeMap<u16, PortProtocol>,
    /// identity → (authority, port, path) → methods.
    http: BTreeMap<Option<String>, BTreeMap<Seen, BTreeSet<String>>>,
    /// port → identities (TLS / TCP).
    opaque: BTreeMap<u16, BTreeSet<Option<String>>>,
}

impl HostTraffic {
    /// The registry protocol name of an observed port (`TCP` when it was never seen).
    fn port_kind(&self, port: u16) -> &'static str {
        self.ports
            .get(&port)
            .copied()
            .unwrap_or(PortProtocol::Tcp)
            .registry_name()
    }
}

/// Observations grouped by host (lower case, no port).
fn traffic<'o>(
    observations: impl IntoIterator<Item = &'o Observation>,
) -> BTreeMap<String, HostTraffic> {
    let mut hosts: BTreeMap<String, HostTraffic> = BTreeMap::new();
    for o in observations {
        let traffic = hosts.entry(o.host.clone()).or_default();
        let protocol = match o.protocol.as_str() {
            "tls" => PortProtocol::Tls,
            "tcp" => PortProtocol::Tcp,
            _ => PortProtocol::Http,
        };
        traffic.ports.entry(o.port).or_insert(protocol);
        if protocol == PortProtocol::Http {
            traffic
                .http
                .entry(o.identity.clone())
                .or_default()
                .entry((o.authority.clone(), o.port, o.path.clone()))
                .or_default()
                .insert(o.method.clone().unwrap_or_else(|| "GET".into()));
        } else {
            traffic
                .opaque
                .entry(o.port)
                .or_default()
                .insert(o.identity.clone());
        }
    }
    hosts
}

/// Rule 3: per identity, paths with the same methods share an operation; then identities
/// with identical operations share it. Ports keep each operation to the HTTP ports it was
/// observed on (TLS on another port of the host never meets it).
fn http_operations(traffic: &HostTraffic) -> BTreeMap<Operation, BTreeSet<Option<String>>> {
    let mut operations: BTreeMap<Operation, BTreeSet<Option<String>>> = BTreeMap::new();
    for (identity, requests) in &traffic.http {
        let mut by_methods: BTreeMap<&BTreeSet<String>, Vec<&Seen>> = BTreeMap::new();
        for (request, methods) in requests {
            by_methods.entry(methods).or_default().push(request);
        }
        for (methods, requests) in by_methods {
            let authorities: BTreeSet<&String> = requests.iter().map(|r| &r.0).collect();
            // Hosts × paths must stay exact: several authorities with paths split.
            let groups: Vec<Vec<&Seen>> =
                if authorities.len() > 1 && requests.iter().any(|r| r.2.is_some()) {
                    requests.iter().map(|r| vec![*r]).collect()
                } else {
                    vec![requests]
                };
            for group in groups {
                let operation = Operation {
                    methods: methods.clone(),
                    hosts: group.iter().map(|r| r.0.clone()).collect(),
                    ports: group.iter().map(|r| r.1.to_string()).collect(),
                    paths: group.iter().filter_map(|r| r.2.clone()).collect(),
                };
                operations
                    .entry(operation)
                    .or_default()
                    .insert(identity.clone());
            }
        }
    }
    operations
}

/// `cluster.local/ns/NS/sa/SA` → `(NS, SA)`.
fn namespace_and_account(principal: &str) -> Option<(&str, &str)> {
    let rest = principal.split_once("/ns/")?.1;
    let (namespace, rest) = rest.split_once("/sa/")?;
    (!namespace.is_empty() && !rest.is_empty() && !rest.contains('/')).then_some((namespace, rest))
}
/// A [`Suggestion`] and what was read to make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestReport {
    /// The suggestion (`yaml`, `hosts`, `rules`, `notes`).
    #[serde(flatten)]
    pub suggestion: Suggestion,
    /// Requests read.
    pub requests: u64,
    /// Requests left out because existing policies already allow them.
    pub already_allowed: u64,
    /// Lines that could not be read.
    pub malformed: u64,
}

/// Distinct observations read from logs, with line counts (mergeable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    /// The distinct observations.
    pub set: BTreeSet<Observation>,
    /// Lines read.
    pub lines: u64,
    /// Requests read.
    pub requests: u64,
    /// Requests left out because `existing` policies already allow them.
    pub already_allowed: u64,
    /// Lines that could not be read.
    pub malformed: u64,
    /// The first of them.
    pub malformed_samples: Vec<LineError>,
}

impl Observations {
    /// Reads lines (numbered from `first_line`) into the set. With `existing`, requests those policies
    /// already allow are left out, so the suggestion only adds what is missing.
    pub fn read<'l>(
        &mut self,
        reader: &LogReader,
        file: &str,
        first_line: u64,
        lines: impl IntoIterator<Item = &'l str>,
        generalize: usize,
        existing: Option<&Engine>,
    ) {
        for (i, line) in lines.into_iter().enumerate() {
            self.lines += 1;
            let request = match reader.observe(line).and_then(|o| match o {
                Some(o) => reader.to_request(&o).map(Some),
                None => Ok(None),
            }) {
                Ok(Some(request)) => request,
                Ok(None) => continue,
                Err(message) => {
                    self.malformed += 1;
                    if self.malformed_samples.len() < MALFORMED_SAMPLES {
                        self.malformed_samples.push(LineError {
                            file: file.to_string(),
                            line: first_line + i as u64,
                            message,
                        });
                    }
                    continue;
                }
            };
            self.requests += 1;
            if let Some(engine) = existing {
                let prepared = engine.prepare(&request);
                if engine.decide_prepared(&prepared).allowed() {
                    self.already_allowed += 1;
                    continue;
                }
            }
            if let Some(observation) = Observation::of(&request, generalize) {
                self.set.insert(observation);
            }
        }
    }

    /// The suggestion for these observations, with what was read (the report of the CLI,
    /// Python `suggest()` and WASM `suggest()`).
    pub fn suggest(&self, options: &SuggestOptions) -> SuggestReport {
        SuggestReport {
            suggestion: suggest(&self.set, options),
            requests: self.requests,
            already_allowed: self.already_allowed,
            malformed: self.malformed,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Observations) {
        self.set.extend(other.set);
        self.lines += other.lines;
        self.requests += other.requests;
        self.already_allowed += other.already_allowed;
        self.malformed += other.malformed;
        for sample in other.malformed_samples {
            if self.malformed_samples.len() < MALFORMED_SAMPLES {
                self.malformed_samples.push(sample);
            }
        }
    }
}
