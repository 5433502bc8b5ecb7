//! The Istio suggestion: an ambient egress waypoint, one ServiceEntry and one ALLOW
//! AuthorizationPolicy per host, REGISTRY_ONLY (rules in the docs of [`super`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    http_operations, list, q, resource_name, HostTraffic, PortProtocol, Suggestion,
    EGRESS_NAMESPACE, OPAQUE_WAYPOINT, WAYPOINT,
};

/// The Istio resources (module docs of [`super`]).
pub(super) fn write(hosts: &BTreeMap<String, HostTraffic>) -> Suggestion {
    let mut out = String::new();
    let mut notes = Vec::new();
    let mut rules_total = 0;
    out.push_str(&format!(
        "# Suggested by `egress-policy suggest` from observed traffic: exactly what was seen\n\
         # leaves, through the egress waypoint; every other destination is unregistered\n\
         # (REGISTRY_ONLY, 502) and every other request to a registered host is denied (403).\n\
         apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {EGRESS_NAMESPACE}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: {WAYPOINT}\n  namespace: {EGRESS_NAMESPACE}\n\
         spec:\n  gatewayClassName: istio-waypoint\n  listeners:\n  - name: mesh\n    port: 15008\n    protocol: HBONE\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\n\
         data:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n"
    ));
    if hosts.values().any(|t| t.http.is_empty()) {
        out.push_str(&format!(
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: {OPAQUE_WAYPOINT}\n  namespace: {EGRESS_NAMESPACE}\n\
             spec:\n  gatewayClassName: istio-waypoint\n  listeners:\n  - name: mesh\n    port: 15008\n    protocol: HBONE\n"
        ));
    }
    for (host, traffic) in hosts {
        let waypoint = if traffic.http.is_empty() {
            OPAQUE_WAYPOINT
        } else {
            WAYPOINT
        };
        out.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: {}\n  namespace: {EGRESS_NAMESPACE}\n  labels:\n    istio.io/use-waypoint: {waypoint}\nspec:\n  hosts:\n  - {}\n  ports:\n",
            resource_name("", host),
            q(host)
        ));
        for (port, protocol) in &traffic.ports {
            let protocol = protocol.registry_name();
            out.push_str(&format!(
                "  - number: {port}\n    name: {}-{port}\n    protocol: {protocol}\n",
                protocol.to_ascii_lowercase()
            ));
        }
        out.push_str("  resolution: DNS\n");

        let operations = http_operations(traffic);
        let mut rules = String::new();
        for (operation, identities) in &operations {
            rules.push_str(&from_clause(identities));
            rules.push_str(&format!(
                "    to:\n    - operation:\n        hosts: {}\n        ports: {}\n        methods: {}\n",
                list(&operation.hosts),
                list(&operation.ports),
                list(&operation.methods)
            ));
            if !operation.paths.is_empty() {
                rules.push_str(&format!("        paths: {}\n", list(&operation.paths)));
            }
            rules_total += 1;
        }
        for (port, identities) in &traffic.opaque {
            rules.push_str(&from_clause(identities));
            rules.push_str(&format!(
                "    to:\n    - operation:\n        ports: [\"{port}\"]\n"
            ));
            if traffic.ports.get(port) == Some(&PortProtocol::Tls) {
                rules.push_str(&format!(
                    "    when:\n    - key: connection.sni\n      values: [{}]\n",
                    q(host)
                ));
            } else {
                notes.push(format!(
                    "{host}:{port} is TCP: allowed by port for its identities (rule 5)"
                ));
            }
            rules_total += 1;
        }
        out.push_str(&format!(
            "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: {}\n  namespace: {EGRESS_NAMESPACE}\nspec:\n  targetRefs:\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: {waypoint}\n  action: ALLOW\n  rules:\n{rules}",
            resource_name("allow-", host)
        ));
    }
    Suggestion {
        yaml: out,
        hosts: hosts.keys().cloned().collect(),
        rules: rules_total,
        notes,
    }
}

fn from_clause(identities: &BTreeSet<Option<String>>) -> String {
    let named: BTreeSet<String> = identities.iter().flatten().cloned().collect();
    let mut out = String::new();
    if !named.is_empty() {
        out.push_str(&format!(
            "  - from:\n    - source:\n        principals: {}\n",
            list(&named)
        ));
        if identities.contains(&None) {
            // Plaintext senders too: a second source, no principal.
            out.push_str("    - source:\n        notPrincipals: [\"*\"]\n");
        }
    } else {
        out.push_str("  - from:\n    - source:\n        notPrincipals: [\"*\"]\n");
    }
    out
}
