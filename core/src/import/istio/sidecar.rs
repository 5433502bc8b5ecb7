//! `networking.istio.io` Sidecar and `security.istio.io` RequestAuthentication: the
//! sender's outbound view and the JWTs a proxy validates (SEMANTICS.md §9).

use crate::model::{EgressProxy, Model, OutboundMode, RequestAuthn, ResourceRef, Sidecar};

use super::super::decode::{map, Cx};
use super::super::Doc;
use super::{enum_field, top_level};

/// Sidecar → [`Sidecar`] (istio/api networking/v1alpha3/sidecar.proto).
pub(super) fn sidecar(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut sidecar = Sidecar {
        id: ResourceRef::new("Sidecar", &namespace, &doc.meta.name),
        location: doc.location(),
        workload_selector: None,
        egress_hosts: Vec::new(),
        egress_written: false,
        outbound: None,
        egress_proxy: None,
    };
    let Some(spec) = doc.spec(
        cx,
        &[
            "workloadSelector",
            "ingress",
            "egress",
            "outboundTrafficPolicy",
            "inboundConnectionPool",
        ],
        false,
    ) else {
        model.sidecars.push(sidecar);
        return;
    };
    if let Some(selector) = spec.map(cx, "workloadSelector", &["labels"]) {
        sidecar.workload_selector = Some(selector.labels(cx, "labels"));
    }
    if spec.get("egress").is_some() {
        sidecar.egress_written = true;
        for (node, path) in spec.list(cx, "egress") {
            let Some(listener) = map(cx, node, &path, &["port", "bind", "captureMode", "hosts"])
            else {
                continue;
            };
            let hosts = listener.str_list(cx, "hosts");
            if hosts.is_empty() {
                cx.error(
                    node,
                    &listener.path_of("hosts"),
                    "egress listener needs `hosts`",
                );
            }
            for item in hosts {
                if !item.value.contains('/') {
                    cx.error(
                        item.node,
                        &item.path(),
                        format!(
                            "egress host `{}` must be `namespace/dnsName` (sidecar.proto)",
                            item.value
                        ),
                    );
                    continue;
                }
                sidecar.egress_hosts.push(item.value);
            }
        }
    }
    if let Some(policy) = spec.map(cx, "outboundTrafficPolicy", &["mode", "egressProxy"]) {
        sidecar.outbound =
            match enum_field(cx, &policy, "mode", &["ALLOW_ANY", "REGISTRY_ONLY"]).as_deref() {
                Some("ALLOW_ANY") => Some(OutboundMode::AllowAny),
                Some("REGISTRY_ONLY") => Some(OutboundMode::RegistryOnly),
                _ => None,
            };
        sidecar.egress_proxy = egress_proxy(cx, &policy);
    }
    model.sidecars.push(sidecar);
}

/// `egressProxy` (a `Destination`: host, subset, port.number).
pub(super) fn egress_proxy(cx: &mut Cx, policy: &super::super::decode::Map) -> Option<EgressProxy> {
    let dest = policy.map(cx, "egressProxy", &["host", "subset", "port"])?;
    let host = dest.str(cx, "host").unwrap_or_default();
    if host.is_empty() {
        let node = dest.get("host").unwrap_or(dest.node);
        cx.error(node, &dest.path_of("host"), "egressProxy needs `host`");
        return None;
    }
    Some(EgressProxy {
        host,
        subset: dest.str(cx, "subset"),
        port: dest
            .map(cx, "port", &["number"])
            .and_then(|p| p.port(cx, "number")),
    })
}

/// RequestAuthentication → [`RequestAuthn`] (security/v1/request_authentication.proto).
pub(super) fn request_authentication(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    top_level(cx, doc);
    let namespace = doc.namespace();
    let mut authn = RequestAuthn {
        id: ResourceRef::new("RequestAuthentication", &namespace, &doc.meta.name),
        location: doc.location(),
        selector: None,
        target_gateways: Vec::new(),
        issuers: Vec::new(),
    };
    if let Some(spec) = doc.spec(
        cx,
        &["selector", "targetRef", "targetRefs", "jwtRules"],
        false,
    ) {
        if let Some(selector) = spec.map(cx, "selector", &["matchLabels"]) {
            authn.selector = Some(selector.labels(cx, "matchLabels"));
        }
        let mut targets = Vec::new();
        if let Some(node) = spec.get("targetRef") {
            targets.push((node, spec.path_of("targetRef")));
        }
        targets.extend(spec.list(cx, "targetRefs"));
        for (node, path) in targets {
            let Some(t) = map(cx, node, &path, &["group", "kind", "name", "namespace"]) else {
                continue;
            };
            let name = t.str(cx, "name").unwrap_or_default();
            let ns = t.str(cx, "namespace").unwrap_or_else(|| namespace.clone());
            authn.target_gateways.push(format!("{ns}/{name}"));
        }
        for (node, path) in spec.list(cx, "jwtRules") {
            let Some(rule) = map(
                cx,
                node,
                &path,
                &[
                    "issuer",
                    "audiences",
                    "jwksUri",
                    "jwks",
                    "fromHeaders",
                    "fromParams",
                    "fromCookies",
                    "outputPayloadToHeader",
                    "forwardOriginalToken",
                    "outputClaimToHeaders",
                    "timeout",
                ],
            ) else {
                continue;
            };
            let issuer = rule.str(cx, "issuer").unwrap_or_default();
            if issuer.is_empty() {
                cx.error(node, &rule.path_of("issuer"), "missing field `issuer`");
                continue;
            }
            let audiences = rule.str_values(cx, "audiences");
            authn.issuers.push((issuer, audiences));
        }
    }
    model.request_authns.push(authn);
}
