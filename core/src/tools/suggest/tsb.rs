//! The Tetrate TSB suggestion, in the layout of TSB's EgressGateway reference: a tenant, a
//! workspace selecting every observed sender namespace and the gateway's, a gateway group,
//! a workspace `TrafficSetting` that sends external traffic to the egress gateway, and one
//! `EgressGateway` whose `authorization` lists, per set of service accounts, the hosts they
//! were seen reaching.
//!
//! What TSB cannot say, and what is written instead (each a note of the suggestion):
//! - EgressGateway authorization names hosts, not methods, paths or ports: every method
//!   and path to an allowed host is allowed.
//! - `mode: CUSTOM` names service accounts (`NS/SA`); a plaintext sender, or an identity
//!   that is not `TD/ns/NS/sa/SA`, cannot be named and is left out (its traffic stays
//!   denied: replay shows it).
//! - The rules' hosts are matched against the HTTP host (egress-policy imports `to` as
//!   AuthorizationPolicy `hosts`), which TLS and TCP connections do not carry: that traffic
//!   stays denied.

use std::collections::{BTreeMap, BTreeSet};

use super::{list, namespace_and_account, q, HostTraffic, Suggestion};

/// The TSB organization of the suggested resources.
pub const ORGANIZATION: &str = "tetrate";
/// The tenant.
pub const TENANT: &str = "egress";
/// The workspace of the senders and the gateway.
pub const WORKSPACE: &str = "egress-senders";
/// The gateway group.
pub const GROUP: &str = "egress-gateway";
/// The namespace (and `app` label) of the egress gateway.
pub const GATEWAY_NAMESPACE: &str = "tsb-egress";

/// The TSB resources (module docs).
pub(super) fn write(hosts: &BTreeMap<String, HostTraffic>) -> Suggestion {
    let mut notes = Vec::new();
    // `NS/SA` sets → hosts (authorities as sent for HTTP, the SNI host for TLS).
    let mut by_accounts: BTreeMap<BTreeSet<String>, BTreeSet<String>> = BTreeMap::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let mut left_out: BTreeSet<String> = BTreeSet::new();
    for (host, traffic) in hosts {
        // authority → accounts.
        let mut reached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut account = |identity: &Option<String>, authority: &str| match identity
            .as_deref()
            .and_then(namespace_and_account)
        {
            Some((namespace, name)) => {
                namespaces.insert(namespace.to_string());
                reached
                    .entry(authority.to_string())
                    .or_default()
                    .insert(format!("{namespace}/{name}"));
            }
            None => {
                left_out.insert(identity.clone().unwrap_or_else(|| "plaintext".into()));
            }
        };
        for (identity, seen) in &traffic.http {
            for (authority, _, _) in seen.keys() {
                account(identity, authority);
            }
        }
        for (port, identities) in &traffic.opaque {
            // The senders' namespaces join the workspace all the same: their traffic goes
            // through the gateway, where it is denied, rather than around it.
            for (namespace, _) in identities
                .iter()
                .filter_map(|i| i.as_deref().and_then(namespace_and_account))
            {
                namespaces.insert(namespace.to_string());
            }
            let kind = traffic.port_kind(*port);
            notes.push(format!(
                "{host}:{port} is {kind}: EgressGateway authorization matches the HTTP host, which a \
                 {kind} connection does not carry, so it stays denied"
            ));
        }
        if !traffic.http.is_empty() {
            notes.push(format!(
                "{host}: EgressGateway authorization names hosts only: every method and path to it is allowed"
            ));
        }
        for (authority, accounts) in reached {
            by_accounts.entry(accounts).or_default().insert(authority);
        }
    }
    for who in &left_out {
        notes.push(format!(
            "{who}: not a service account TSB can name (`mode: CUSTOM`), so its traffic stays denied"
        ));
    }

    let mut selected: BTreeSet<String> = namespaces.iter().map(|n| format!("*/{n}")).collect();
    selected.insert(format!("*/{GATEWAY_NAMESPACE}"));
    let mut out = format!(
        "# Suggested by `egress-policy suggest --vendor tsb` from observed traffic: the senders'\n\
         # workspace sends external traffic to the egress gateway, which allows exactly the\n\
         # hosts each service account was seen reaching (403 for any other).\n\
         apiVersion: api.tsb.tetrate.io/v2\nkind: Tenant\nmetadata:\n  name: {TENANT}\n  organization: {ORGANIZATION}\nspec:\n  displayName: Egress\n\
         ---\napiVersion: api.tsb.tetrate.io/v2\nkind: Workspace\nmetadata:\n  name: {WORKSPACE}\n  organization: {ORGANIZATION}\n  tenant: {TENANT}\nspec:\n  namespaceSelector:\n    names: {}\n\
         ---\napiVersion: gateway.tsb.tetrate.io/v2\nkind: Group\nmetadata:\n  name: {GROUP}\n  organization: {ORGANIZATION}\n  tenant: {TENANT}\n  workspace: {WORKSPACE}\nspec:\n  namespaceSelector:\n    names: [\"*/{GATEWAY_NAMESPACE}\"]\n  configMode: BRIDGED\n\
         ---\napiVersion: traffic.tsb.tetrate.io/v2\nkind: TrafficSetting\nmetadata:\n  name: egress\n  organization: {ORGANIZATION}\n  tenant: {TENANT}\n  workspace: {WORKSPACE}\nspec:\n  reachability:\n    mode: WORKSPACE\n  egress:\n    host: {GATEWAY_NAMESPACE}/{GATEWAY_NAMESPACE}\n\
         ---\napiVersion: gateway.tsb.tetrate.io/v2\nkind: EgressGateway\nmetadata:\n  name: {GATEWAY_NAMESPACE}\n  organization: {ORGANIZATION}\n  tenant: {TENANT}\n  workspace: {WORKSPACE}\n  group: {GROUP}\nspec:\n  workloadSelector:\n    namespace: {GATEWAY_NAMESPACE}\n    labels:\n      app: {GATEWAY_NAMESPACE}\n  authorization:",
        list(&selected)
    );
    if by_accounts.is_empty() {
        // An empty list denies everything (docs/SEMANTICS.md §8.3).
        out.push_str(" []\n");
    } else {
        out.push('\n');
    }
    for (accounts, authorities) in &by_accounts {
        let hosts: Vec<String> = authorities.iter().map(|a| q(a)).collect();
        out.push_str(&format!(
            "  - from:\n      mode: CUSTOM\n      serviceAccounts: {}\n    to: [{}]\n",
            list(accounts),
            hosts.join(", ")
        ));
    }
    Suggestion {
        yaml: out,
        hosts: hosts.keys().cloned().collect(),
        rules: by_accounts.len(),
        notes,
    }
}
