//! Kubernetes `Service` (core v1): a gateway's Service port → container port, and which
//! pods it selects (SEMANTICS.md §9: the port authorization sees at a gateway).

use crate::model::{KubePort, KubeService, Model, ResourceRef};
use crate::source::Value;

use super::decode::{map, Cx};
use super::Doc;

/// Service → [`KubeService`].
pub(crate) fn import(cx: &mut Cx, doc: &Doc, model: &mut Model) {
    map(
        cx,
        doc.node,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    );
    let namespace = doc.namespace();
    let mut service = KubeService {
        id: ResourceRef::new("Service", &namespace, &doc.meta.name),
        location: doc.location(),
        selector: Default::default(),
        ports: Vec::new(),
        labels: doc.meta.labels.clone(),
    };
    if let Some(spec) = doc.spec(cx, &["*"], false) {
        service.selector = spec.labels(cx, "selector");
        for (node, path) in spec.list(cx, "ports") {
            let Some(port) = map(
                cx,
                node,
                &path,
                &[
                    "name",
                    "port",
                    "targetPort",
                    "protocol",
                    "nodePort",
                    "appProtocol",
                ],
            ) else {
                continue;
            };
            let Some(number) = port.port(cx, "port") else {
                cx.error(node, &port.path_of("port"), "missing field `port`");
                continue;
            };
            // A named targetPort refers to a container port name the Service does not
            // show; the numeric form is the only one that can be known here.
            let target_port = match port.get("targetPort").map(|n| &n.value) {
                Some(Value::Int(_)) => port.port(cx, "targetPort").unwrap_or(number),
                _ => number,
            };
            service.ports.push(KubePort {
                port: number,
                target_port,
                name: port.str(cx, "name").unwrap_or_default(),
            });
        }
    }
    model.kube_services.push(service);
}
