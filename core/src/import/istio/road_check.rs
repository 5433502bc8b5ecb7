//! Load-time warnings for the road (SEMANTICS.md §9): resources that routes, Sidecars and
//! the mesh config name but that are not loaded. Decisions that depend on them carry a
//! caveat; `validate` shows these warnings with file and line.

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{kube_service_host, GatewayKind, Model};

/// Istio's default egress gateway Service, assumed when it is named and not loaded.
const DEFAULT_EGRESS_SERVICE: &str = "istio-egressgateway";

/// Warns about every gateway Service a route, Sidecar or mesh config sends traffic to that
/// is not among the loaded resources.
pub(super) fn warn_missing(model: &Model, diags: &mut Vec<Diagnostic>) {
    let loaded = |host: &str| model.kube_services.iter().any(|s| s.is_named_by(host));
    let generated = |name: &str, ns: &str| {
        model.gateways.iter().any(|g| {
            g.kind != GatewayKind::IstioGateway
                && g.namespace == ns
                && name
                    .strip_prefix(g.id.name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
        })
    };
    let mut check = |host: &str,
                     resource: String,
                     location: Option<crate::diagnostic::Location>,
                     via_gateway: bool| {
        let Some((name, Some(ns))) = kube_service_host(host) else {
            return;
        };
        if loaded(host) {
            return;
        }
        let assumed = if name == DEFAULT_EGRESS_SERVICE {
            "Istio's default egress gateway install is assumed (80→8080, 443→8443)"
        } else if generated(&name, &ns) {
            "the Service Istio generates for the Gateway-API gateway is assumed"
        } else if via_gateway {
            "decisions that route through it assume the pods of the Gateway resources the route is bound to"
        } else {
            return;
        };
        let Some(location) = location else {
            return;
        };
        diags.push(Diagnostic {
            severity: Severity::Warning,
            location,
            resource: Some(resource),
            field: None,
            message: format!("routes to Service {ns}/{name}, which is not loaded: {assumed}"),
            help: None,
            code: None,
        });
    };
    for vs in &model.virtual_services {
        let hosts = vs
            .http
            .iter()
            .filter_map(|r| r.destination_host.as_deref())
            .chain(
                vs.l4
                    .iter()
                    .filter_map(|r| r.destination.as_ref().map(|d| d.host.as_str())),
            );
        let via_gateway = vs.gateways.iter().any(|g| g != "mesh");
        for host in hosts {
            check(host, vs.id.to_string(), vs.location.clone(), via_gateway);
        }
    }
    for sidecar in &model.sidecars {
        if let Some(proxy) = &sidecar.egress_proxy {
            check(
                &proxy.host,
                sidecar.id.to_string(),
                Some(sidecar.location.clone()),
                true,
            );
        }
    }
}
