//! The Gloo Mesh suggestion, in the layout of Solo's "Block egress traffic with an egress
//! gateway" guide: one `VirtualGateway` on the egress gateway exposing every observed host,
//! one `ExternalService` per host (every observed port, routed through the gateway by
//! `egressGatewayRoutes`), one `AccessPolicy` per operation (rule 3 of [`super`]), and the
//! mesh config `outboundTrafficPolicy: REGISTRY_ONLY`.
//!
//! What Gloo cannot say, and what is written instead (each a note of the suggestion):
//! - An AccessPolicy names no host value (its destination is the ExternalService), so the
//!   authorities a host was reached with (`host` vs `host:8080`) are not told apart.
//! - `allowedClients` selects service accounts; a plaintext sender (or an identity that is
//!   not `TD/ns/NS/sa/SA`) can only be admitted by an empty client, which admits everyone
//!   for that operation.
//! - Gloo routes only HTTP ports through the egress gateway (`egressGatewayRoutes`): TLS
//!   and TCP ports are registered and reached directly, without authorization.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    http_operations, list, namespace_and_account, q, resource_name, HostTraffic, PortProtocol,
    Suggestion,
};

/// The namespace of the gateway, its VirtualGateway and the AccessPolicies.
pub const GATEWAY_NAMESPACE: &str = "gloo-mesh-gateways";
/// The namespace of the ExternalServices (the guide's `global`).
pub const SERVICE_NAMESPACE: &str = "global";
/// The VirtualGateway's name.
pub const VIRTUAL_GATEWAY: &str = "egress-vg";

/// The Gloo resources (module docs).
pub(super) fn write(hosts: &BTreeMap<String, HostTraffic>) -> Suggestion {
    let mut out = String::new();
    let mut notes = Vec::new();
    let mut rules_total = 0;
    out.push_str(
        "# Suggested by `egress-policy suggest --vendor gloo` from observed traffic: exactly what\n\
         # was seen leaves, through the egress gateway; every other destination is unregistered\n\
         # (REGISTRY_ONLY, 502) and every other client of a registered host is denied (403).\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\n\
         data:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n",
    );
    out.push_str(&format!(
        "---\napiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata:\n  name: {VIRTUAL_GATEWAY}\n  namespace: {GATEWAY_NAMESPACE}\nspec:\n  listeners:\n  - exposedExternalServices:\n"
    ));
    for host in hosts.keys() {
        out.push_str(&format!("    - host: {}\n", q(host)));
    }
    out.push_str(&format!(
        "    appProtocol: HTTPS\n    port:\n      number: 443\n    tls:\n      mode: ISTIO_MUTUAL\n    http: {{}}\n  workloads:\n  - selector:\n      labels:\n        app: istio-egressgateway\n        istio: egressgateway\n      namespace: {GATEWAY_NAMESPACE}\n"
    ));

    for (host, traffic) in hosts {
        let service = resource_name("", host);
        out.push_str(&format!(
            "---\napiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\nmetadata:\n  name: {service}\n  namespace: {SERVICE_NAMESPACE}\nspec:\n  hosts:\n  - {}\n  ports:\n",
            q(host)
        ));
        for (port, protocol) in &traffic.ports {
            let name = protocol.registry_name();
            out.push_str(&format!(
                "  - name: {}-{port}\n    number: {port}\n    protocol: {name}\n",
                name.to_ascii_lowercase()
            ));
            if *protocol == PortProtocol::Http {
                out.push_str(&format!(
                    "    egressGatewayRoutes:\n      virtualGatewayRefs:\n      - name: {VIRTUAL_GATEWAY}\n        namespace: {GATEWAY_NAMESPACE}\n"
                ));
            }
        }
        // Gloo scopes an AccessPolicy to ports; with one gateway port the whole entry says
        // the same, and egress-policy (which applies policies to every port) needs no warning.
        let http_ports = traffic
            .ports
            .values()
            .filter(|p| **p == PortProtocol::Http)
            .count();

        let mut index = 0usize;
        let mut policy = |ports: &BTreeSet<String>, clients: String, extra: String| {
            index += 1;
            let mut text = format!(
                "---\napiVersion: security.policy.gloo.solo.io/v2\nkind: AccessPolicy\nmetadata:\n  name: {}\n  namespace: {GATEWAY_NAMESPACE}\nspec:\n  applyToDestinations:\n",
                resource_name("allow-", &format!("{host}-{index}"))
            );
            if http_ports > 1 {
                for port in ports {
                    text.push_str(&format!(
                        "  - kind: EXTERNAL_SERVICE\n    port:\n      number: {port}\n    selector:\n      name: {service}\n      namespace: {SERVICE_NAMESPACE}\n"
                    ));
                }
            } else {
                text.push_str(&format!(
                    "  - kind: EXTERNAL_SERVICE\n    selector:\n      name: {service}\n      namespace: {SERVICE_NAMESPACE}\n"
                ));
            }
            text.push_str("  config:\n    authz:\n");
            text.push_str(&clients);
            text.push_str(&extra);
            text
        };

        for (operation, identities) in &http_operations(traffic) {
            let mut extra = format!("      allowedMethods: {}\n", list(&operation.methods));
            if !operation.paths.is_empty() {
                extra.push_str(&format!("      allowedPaths: {}\n", list(&operation.paths)));
            }
            let clients = allowed_clients(host, identities, &mut notes);
            out.push_str(&policy(&operation.ports, clients, extra));
            rules_total += 1;
        }
        if traffic.http.values().any(|seen| {
            seen.keys()
                .map(|(authority, _, _)| authority)
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        }) {
            notes.push(format!(
                "{host}: an AccessPolicy names no host value, so the authorities it was reached \
                 with are not told apart"
            ));
        }
        for port in traffic.opaque.keys() {
            let kind = traffic.port_kind(*port);
            notes.push(format!(
                "{host}:{port} is {kind}: Gloo routes only HTTP ports through the egress gateway, so \
                 it is registered and reached directly, without authorization (any client may reach it)"
            ));
        }
        if http_ports > 1 {
            notes.push(format!(
                "{host}: AccessPolicies name their ports; egress-policy applies them to every port of the entry (validate warns)"
            ));
        }
    }
    Suggestion {
        yaml: out,
        hosts: hosts.keys().cloned().collect(),
        rules: rules_total,
        notes,
    }
}

/// `allowedClients` for `identities`: one `serviceAccountSelector` each; an empty client
/// (everyone) when a sender has no identity Gloo can select.
fn allowed_clients(
    host: &str,
    identities: &BTreeSet<Option<String>>,
    notes: &mut Vec<String>,
) -> String {
    let mut selectors = Vec::new();
    let mut everyone = None;
    for identity in identities {
        match identity.as_deref().map(|p| (p, namespace_and_account(p))) {
            Some((_, Some((namespace, account)))) => selectors.push(format!(
                "      - serviceAccountSelector:\n          name: {}\n          namespace: {}\n",
                q(account),
                q(namespace)
            )),
            Some((principal, None)) => everyone = Some(format!("identity `{principal}`")),
            None => everyone = Some("plaintext senders".to_string()),
        }
    }
    if let Some(who) = everyone {
        notes.push(format!(
            "{host}: {who} cannot be selected by a Gloo AccessPolicy client: an empty client \
             admits every client for that operation"
        ));
        return "      allowedClients:\n      - {}\n".to_string();
    }
    format!("      allowedClients:\n{}", selectors.concat())
}
