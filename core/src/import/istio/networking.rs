//! `networking.istio.io` ServiceEntry, DestinationRule and VirtualService.

use std::net::IpAddr;

use crate::model::{
    ExportTo, ExternalService, IpBlock, Labels, Model, PortProtocol, Resolution, ResourceRef,
    ServicePort, TlsMode, TlsSetting, Vendor,
};

use super::super::decode::{is_dns_label, map, vocabulary_field, Case, Cx, Map};
use super::super::Doc;
use super::{enum_field, top_level, WaypointUse, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE};

mod virtual_service;

pub(super) use virtual_service::virtual_service;

/// Most hosts one ServiceEntry may list.
const MAX_HOSTS: usize = 256;

/// ServiceEntry → [`ExternalService`] (SEMANTICS.md §2), pushed last onto
/// `model.services`; returns what its own `istio.io/use-waypoint` label says, which
/// [`link`](super::link) applies (the entry's `gateway` is unset until then).
pub(super) fn service_entry(cx: &mut Cx, doc: &Doc, model: &mut Model) -> Option<WaypointUse> {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let id = ResourceRef::new("ServiceEntry", &namespace, &doc.meta.name);
    let mut service = ExternalService {
        id,
        vendor: Vendor::Istio,
        location: doc.location(),
        hosts: Vec::new(),
        ports: Vec::new(),
        resolution: Resolution::None,
        export_to: Vec::new(),
        gateway: None,
        gateway_port: None,
        tls: None,
        addresses: Vec::new(),
        auto_allocated: false,
    };
    let spec = doc.spec(
        cx,
        &[
            "hosts",
            "addresses",
            "ports",
            "location",
            "resolution",
            "endpoints",
            "workloadSelector",
            "exportTo",
            "subjectAltNames",
        ],
        true,
    );
    if let Some(spec) = spec {
        if let Some(resolution) = vocabulary_field(cx, &spec, "resolution") {
            service.resolution = resolution;
        }
        enum_field(cx, &spec, "location", &["MESH_EXTERNAL", "MESH_INTERNAL"]);
        let has_endpoints = spec.get("endpoints").is_some_and(
            |n| !matches!(&n.value, crate::source::Value::Seq(items) if items.is_empty()),
        );
        let hosts = spec.str_list(cx, "hosts");
        if hosts.is_empty() {
            let node = spec.get("hosts").unwrap_or(spec.node);
            cx.error(
                node,
                &spec.path_of("hosts"),
                "at least one host is required",
            );
        }
        if hosts.len() > MAX_HOSTS {
            let node = spec.get("hosts").unwrap_or(spec.node);
            cx.error(
                node,
                &spec.path_of("hosts"),
                format!("{} hosts, more than the limit of {MAX_HOSTS}", hosts.len()),
            );
        }
        for item in hosts {
            let dns_without_endpoints = service.resolution.resolves_hosts() && !has_endpoints;
            match check_host(&item.value) {
                Err(problem) => cx.error(
                    item.node,
                    &item.path(),
                    format!("invalid host `{}`: {problem}", item.value),
                ),
                Ok(wildcard) => {
                    if wildcard && dns_without_endpoints {
                        cx.error(
                            item.node,
                            &item.path(),
                            format!(
                                "wildcard host `{}` cannot be resolved with resolution {}; use \
                                 NONE or DYNAMIC_DNS, or list `endpoints`",
                                item.value, service.resolution
                            ),
                        );
                    } else if is_partial_wildcard(&item.value)
                        && service.resolution != Resolution::DynamicDns
                    {
                        cx.warn(
                            item.node,
                            &item.path(),
                            format!(
                                "partial wildcard host `{}` is not supported by every proxy \
                                 unless resolution is DYNAMIC_DNS",
                                item.value
                            ),
                        );
                    }
                    service.hosts.push(item.value);
                }
            }
        }
        for item in spec.str_list(cx, "addresses") {
            if let Some(block) = IpBlock::parse(&item.value) {
                service.addresses.push(block);
            } else {
                cx.error(
                    item.node,
                    &item.path(),
                    format!(
                        "invalid address `{}`: expected an IP or a CIDR range",
                        item.value
                    ),
                );
            }
        }
        for (node, path) in spec.list(cx, "ports") {
            let Some(m) = map(
                cx,
                node,
                &path,
                &["number", "protocol", "name", "targetPort"],
            ) else {
                continue;
            };
            let Some(number) = service_port(cx, &m, "number", true) else {
                continue;
            };
            if service.ports.iter().any(|p| p.number == number) {
                cx.error(
                    m.get("number").unwrap_or(node),
                    &m.path_of("number"),
                    format!("port number {number} is listed more than once"),
                );
            }
            let name = m.str(cx, "name").unwrap_or_default();
            if !name.is_empty() && service.ports.iter().any(|p| p.name == name) {
                cx.error(
                    m.get("name").unwrap_or(node),
                    &m.path_of("name"),
                    format!("port name `{name}` is listed more than once"),
                );
            }
            service.ports.push(ServicePort {
                number,
                protocol: PortProtocol::from_any_case(&m.str(cx, "protocol").unwrap_or_default()),
                name,
                target_port: service_port(cx, &m, "targetPort", false),
            });
        }
        service.export_to = spec.str_values(cx, "exportTo");
    }
    // Istio allocates a VIP per non-wildcard host of an entry without `addresses`, unless
    // the entry opts out (pilot/pkg/model/service.go; networking.istio.io/enable-autoallocate-ip).
    service.auto_allocated = service.addresses.is_empty()
        && doc
            .meta
            .labels
            .get("networking.istio.io/enable-autoallocate-ip")
            .is_none_or(|v| v != "false");
    model.services.push(service);
    waypoint_label(&doc.meta.labels, &namespace)
}

/// What the entry's own `istio.io/use-waypoint` label says, if it carries one.
fn waypoint_label(labels: &Labels, namespace: &str) -> Option<WaypointUse> {
    let name = labels.get(USE_WAYPOINT).filter(|n| !n.is_empty())?;
    if name == "none" {
        return Some(WaypointUse::OptOut);
    }
    let waypoint_namespace = labels
        .get(USE_WAYPOINT_NAMESPACE)
        .filter(|n| !n.is_empty())
        .map_or(namespace, String::as_str);
    Some(WaypointUse::Named(ResourceRef::new(
        "Gateway",
        waypoint_namespace,
        name,
    )))
}

/// A port number 1..65535 (`required`: report when missing).
fn service_port(cx: &mut Cx, m: &Map, key: &str, required: bool) -> Option<u16> {
    let Some(node) = m.get(key) else {
        if required {
            cx.error(m.node, &m.path_of(key), format!("missing field `{key}`"));
        }
        return None;
    };
    let port = m.port(cx, key)?;
    if port == 0 {
        cx.error(node, &m.path_of(key), "port 0 is not a number in 1..65535");
        return None;
    }
    Some(port)
}

/// Istio's `ValidateWildcardDomain` plus the ServiceEntry rules: a lone `*` and IP
/// addresses are rejected; a `*` may only lead the first label. `Ok(true)` for wildcards.
fn check_host(host: &str) -> Result<bool, String> {
    if host == "*" {
        return Err("a lone `*` would capture every host".to_string());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Err("IP addresses are not hosts; list them under `addresses`".to_string());
    }
    if host.len() > 255 {
        return Err("longer than 255 characters".to_string());
    }
    let (first, rest) = match host.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (host, None),
    };
    let wildcard = first.starts_with('*');
    let first_ok = first == "*"
        || (first.len() <= 63
            && is_dns_label(
                first
                    .strip_prefix("*-")
                    .or_else(|| first.strip_prefix('*'))
                    .unwrap_or(first),
                Case::Any,
            ));
    if !first_ok {
        return Err(if first.contains('*') {
            "a `*` may only lead the first label".to_string()
        } else {
            format!("label `{first}` is not a DNS label")
        });
    }
    if let Some(rest) = rest {
        let labels: Vec<&str> = rest.split('.').collect();
        let last = labels.len().saturating_sub(1);
        for (i, label) in labels.iter().enumerate() {
            // A trailing dot (fully qualified name) leaves an empty last label.
            if i == last && label.is_empty() && i > 0 {
                continue;
            }
            if !is_dns_label(label, Case::Any) {
                return Err(if label.contains('*') {
                    "a `*` may only lead the first label".to_string()
                } else {
                    format!("label `{label}` is not a DNS label")
                });
            }
        }
    }
    Ok(wildcard)
}

/// `*foo.example.com`: a wildcard that is not a whole label.
fn is_partial_wildcard(host: &str) -> bool {
    host.starts_with('*') && host.len() > 1 && !host.starts_with("*.")
}

const TLS_FIELDS: &[&str] = &[
    "mode",
    "clientCertificate",
    "privateKey",
    "caCertificates",
    "credentialName",
    "subjectAltNames",
    "sni",
    "insecureSkipVerify",
    "caCrl",
];

/// DestinationRule → [`TlsSetting`] (TLS origination on the way out).
pub(super) fn destination_rule(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let Some(spec) = doc.spec(
        cx,
        &[
            "host",
            "trafficPolicy",
            "subsets",
            "exportTo",
            "workloadSelector",
        ],
        true,
    ) else {
        return;
    };
    let host = spec.str(cx, "host").unwrap_or_default();
    if host.is_empty() {
        let node = spec.get("host").unwrap_or(spec.node);
        cx.error(node, &spec.path_of("host"), "missing field `host`");
    }
    let mut setting = TlsSetting {
        origin: ResourceRef::new("DestinationRule", &namespace, &doc.meta.name),
        host,
        mode: None,
        sni: None,
        ports: Vec::new(),
        workload_selector: spec
            .map(cx, "workloadSelector", &["matchLabels"])
            .map(|w| w.labels(cx, "matchLabels")),
        export_to: ExportTo {
            values: spec.str_values(cx, "exportTo"),
        },
        location: Some(doc.location()),
    };
    let policy_fields: &[&str] = &[
        "loadBalancer",
        "connectionPool",
        "outlierDetection",
        "tls",
        "portLevelSettings",
        "tunnel",
        "proxyProtocol",
        "retryBudget",
    ];
    if let Some(policy) = spec.map(cx, "trafficPolicy", policy_fields) {
        if let Some((mode, sni)) = client_tls(cx, &policy) {
            setting.mode = Some(mode);
            setting.sni = sni;
        }
        for (node, path) in policy.list(cx, "portLevelSettings") {
            let Some(level) = map(
                cx,
                node,
                &path,
                &[
                    "port",
                    "loadBalancer",
                    "connectionPool",
                    "outlierDetection",
                    "tls",
                ],
            ) else {
                continue;
            };
            let number = match level.map(cx, "port", &["number"]) {
                Some(port) => service_port(cx, &port, "number", true),
                None => {
                    cx.error(node, &level.path_of("port"), "missing field `port`");
                    None
                }
            };
            let tls = client_tls(cx, &level);
            if let (Some(number), Some((mode, sni))) = (number, tls) {
                setting.ports.push((number, mode, sni));
            }
        }
    }
    model.tls_settings.push(setting);
}

/// `tls` of a traffic policy: mode (default `DISABLE`, the proto zero value) and SNI.
fn client_tls(cx: &mut Cx, policy: &Map) -> Option<(TlsMode, Option<String>)> {
    let tls = policy.map(cx, "tls", TLS_FIELDS)?;
    let mode = if tls.get("mode").is_some() {
        vocabulary_field(cx, &tls, "mode")?
    } else {
        TlsMode::Disable
    };
    let sni = tls.str(cx, "sni").filter(|s| !s.is_empty());
    Some((mode, sni))
}
