//! What stays fixed for one connection: who sends (the peer's mTLS identity, namespace,
//! pod labels, cluster) and which proxy enforces. A proxy knows these when the connection
//! opens; [`Engine::prepare_on`](crate::Engine::prepare_on) then reads only the request's
//! own fields per request, and the sender's half of the road memo's key is written and
//! hashed once per connection instead of once per request.

use crate::model::Labels;
use crate::request::{Request, RequestRef, Workload};

use super::road_key::SenderKey;

/// The sender's fields of requests on one connection, with their half of the road memo's
/// key written and hashed once.
///
/// A request prepared on a connection ([`Engine::prepare_on`](crate::Engine::prepare_on))
/// decides exactly as the same request carrying these fields itself
/// ([`Engine::prepare_ref`](crate::Engine::prepare_ref) of [`Connection::view`]): the
/// connection's principal, source namespace, pod labels, cluster and workload replace the
/// request's. Everything else (addresses, JWT, service-account labels, CUSTOM verdicts)
/// stays the request's own, since it may change from one request to the next (a
/// forwarded client address, a token).
///
/// ```
/// use egress_policy::request::{RequestRef, Workload};
/// use egress_policy::{Connection, Engine};
///
/// let engine = Engine::from_files([("p.yaml", "
/// apiVersion: security.istio.io/v1
/// kind: AuthorizationPolicy
/// metadata: {name: egress, namespace: istio-system}
/// spec:
///   selector: {matchLabels: {istio: egressgateway}}
///   action: ALLOW
///   rules:
///   - from: [{source: {principals: [cluster.local/ns/shop/sa/cart]}}]
///     to: [{operation: {hosts: [api.example.com]}}]
/// ")])?;
/// let gateway = Workload {
///     namespace: "istio-system".into(),
///     labels: [("istio".to_string(), "egressgateway".to_string())].into(),
/// };
/// let cart = Connection::new(&RequestRef {
///     principal: Some("cluster.local/ns/shop/sa/cart"),
///     workload: Some(&gateway),
///     ..RequestRef::default()
/// });
/// for (host, status) in [("api.example.com", 200), ("evil.example.com", 403)] {
///     let request = RequestRef { host: Some(host), ..RequestRef::default() };
///     let prepared = engine.prepare_on(&cart, &request);
///     assert_eq!(engine.decide_prepared(&prepared).status(), status);
/// }
/// # Ok::<(), egress_policy::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Connection {
    principal: Option<Box<str>>,
    source_namespace: Option<Box<str>>,
    pod_labels: Option<Labels>,
    cluster: Option<Box<str>>,
    workload: Option<Workload>,
    key: SenderKey,
}

impl Connection {
    /// The connection of `view`'s sender fields (`principal`, `source_namespace`,
    /// `pod_labels`, `cluster`, `workload`); its other fields are not read.
    pub fn new(view: &RequestRef<'_>) -> Self {
        Connection {
            principal: view.principal.map(Box::from),
            source_namespace: view.source_namespace.map(Box::from),
            // No labels and an empty map are one sender (the road key says so too).
            pod_labels: view.pod_labels.filter(|l| !l.is_empty()).cloned(),
            cluster: view.cluster.map(Box::from),
            workload: view.workload.cloned(),
            key: SenderKey::of(view),
        }
    }

    /// The connection of the sender fields a front end was given as a request JSON holding
    /// `source` and `workload` (Python's `Connection(source=..., workload=...)`, WASM's
    /// `new Connection({source, workload})`). `Err` names, as a request JSON path, the
    /// first field that is the request's own rather than the connection's: `source.ip`,
    /// `source.remote_ip` and `source.labels` may change from one request to the next, and
    /// so may every field outside `source` and `workload` (`request`).
    pub fn from_sender(request: &Request) -> Result<Self, &'static str> {
        let own = [
            ("source.ip", request.source.ip.is_some()),
            ("source.remote_ip", request.source.remote_ip.is_some()),
            ("source.labels", !request.source.labels.is_empty()),
        ];
        if let Some((field, _)) = own.iter().find(|(_, given)| *given) {
            return Err(field);
        }
        let sender = Request {
            source: request.source.clone(),
            workload: request.workload.clone(),
            ..Request::default()
        };
        if *request != sender {
            return Err("request");
        }
        Ok(Connection::new(&request.view()))
    }

    /// The request JSON path of a field [`Connection::replaced_field`] names
    /// (`"principal"` → `"source.principal"`), for front ends' messages.
    pub fn field_path(field: &str) -> &'static str {
        match field {
            "principal" => "source.principal",
            "source_namespace" => "source.namespace",
            "pod_labels" => "source.pod_labels",
            "cluster" => "source.cluster",
            _ => "workload",
        }
    }

    /// Why a front end refuses a connection given `field` (a request JSON path that
    /// [`Connection::from_sender`] names), worded once for every front end, which puts
    /// where it was given in front.
    pub fn own_field_message(field: &str) -> String {
        format!(
            "{field} is the request's own (it may change from one request to the next): give it with each request"
        )
    }

    /// Why a front end refuses a request on a connection that sets the sender `field`
    /// itself (a name [`Connection::replaced_field`] gives), as a request JSON path first:
    /// the front end puts where the request was given in front (`request.`,
    /// `requests[3].`).
    pub fn sender_field_message(field: &str) -> String {
        format!(
            "{} is the connection's: a request given on a connection carries no sender field",
            Self::field_path(field)
        )
    }

    /// `request` on this connection: its sender fields replaced by the connection's.
    #[inline]
    pub fn view<'a>(&'a self, request: &RequestRef<'a>) -> RequestRef<'a> {
        RequestRef {
            principal: self.principal.as_deref(),
            source_namespace: self.source_namespace.as_deref(),
            pod_labels: self.pod_labels.as_ref(),
            cluster: self.cluster.as_deref(),
            workload: self.workload.as_ref(),
            ..*request
        }
    }

    /// The first sender field `request` sets itself (`"principal"`, `"source_namespace"`,
    /// `"pod_labels"`, `"cluster"` or `"workload"`), which a request on a connection does
    /// not carry: [`Engine::prepare_on`](crate::Engine::prepare_on) replaces it. Front
    /// ends that take a request for a connection refuse one with such a field rather than
    /// drop it unseen. Empty pod labels are no labels.
    pub fn replaced_field(request: &RequestRef<'_>) -> Option<&'static str> {
        if request.principal.is_some() {
            Some("principal")
        } else if request.source_namespace.is_some() {
            Some("source_namespace")
        } else if request.pod_labels.is_some_and(|l| !l.is_empty()) {
            Some("pod_labels")
        } else if request.cluster.is_some() {
            Some("cluster")
        } else if request.workload.is_some() {
            Some("workload")
        } else {
            None
        }
    }

    /// The sender's mTLS identity.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The sender's namespace.
    pub fn source_namespace(&self) -> Option<&str> {
        self.source_namespace.as_deref()
    }

    /// The sender's pod labels (`None` for none).
    pub fn pod_labels(&self) -> Option<&Labels> {
        self.pod_labels.as_ref()
    }

    /// The sender's cluster.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    /// The enforcing proxy (`None`: the gateway the registry routes to).
    pub fn workload(&self) -> Option<&Workload> {
        self.workload.as_ref()
    }

    /// The sender's half of the road memo's key.
    #[inline]
    pub(crate) fn key(&self) -> &SenderKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate_profile, Layout, Profile};
    use crate::Engine;

    /// Every profile's requests, prepared on a connection made of their sender fields and
    /// given with other sender fields of their own (which the connection replaces): the
    /// full decision is the one of the request as it is, and the connection's requests
    /// find the roads the plain ones walked (one memo for both).
    #[test]
    fn a_request_on_a_connection_decides_as_the_request_with_its_sender() {
        let stranger = Workload {
            namespace: "elsewhere".into(),
            labels: [("app".to_string(), "stranger".to_string())].into(),
        };
        for profile in Profile::ALL {
            let w = generate_profile(300, 11, profile, Layout::Files);
            let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap_or_else(|e| panic!("{e}"));
            // A fresh engine walks each road from the connection's requests first; the
            // warm one finds the roads its plain requests walked.
            let fresh = Engine::from_model(engine.model().clone());
            for request in &w.requests {
                let view = request.view();
                let _ = engine.decide_prepared(&engine.prepare_ref(&view));
            }
            let roads = engine.compiled().memoized_roads();
            for request in &w.requests {
                let view = request.view();
                let plain = engine
                    .decide_prepared(&engine.prepare_ref(&view))
                    .to_decision();
                let connection = Connection::new(&view);
                let other_sender = RequestRef {
                    principal: Some("cluster.local/ns/elsewhere/sa/stranger"),
                    source_namespace: Some("elsewhere"),
                    cluster: Some("nowhere"),
                    workload: Some(&stranger),
                    ..view
                };
                for e in [&fresh, &engine] {
                    let on = e
                        .decide_prepared(&e.prepare_on(&connection, &other_sender))
                        .to_decision();
                    assert_eq!(on, plain, "{profile}: {request:?}");
                }
                assert_eq!(plain, engine.decide_reference(request), "{profile}");
            }
            assert_eq!(engine.compiled().memoized_roads(), roads, "{profile}");
        }
    }

    #[test]
    fn a_connection_keeps_the_sender_fields_it_was_given() {
        let labels: Labels = [("app".to_string(), "cart".to_string())].into();
        let empty = Labels::new();
        let c = Connection::new(&RequestRef {
            principal: Some("cluster.local/ns/shop/sa/cart"),
            source_namespace: Some("shop"),
            pod_labels: Some(&labels),
            cluster: Some("east"),
            host: Some("ignored.example.com"),
            ..RequestRef::default()
        });
        assert_eq!(c.principal(), Some("cluster.local/ns/shop/sa/cart"));
        assert_eq!(c.source_namespace(), Some("shop"));
        assert_eq!(c.pod_labels(), Some(&labels));
        assert_eq!(c.cluster(), Some("east"));
        assert_eq!(c.workload(), None);
        let viewed = c.view(&RequestRef {
            host: Some("a.com"),
            principal: Some("replaced"),
            ..RequestRef::default()
        });
        assert_eq!(viewed.host, Some("a.com"));
        assert_eq!(viewed.principal, Some("cluster.local/ns/shop/sa/cart"));
        assert_eq!(
            Connection::replaced_field(&RequestRef {
                host: Some("a.com"),
                cluster: Some("east"),
                ..RequestRef::default()
            }),
            Some("cluster")
        );
        assert_eq!(
            Connection::replaced_field(&RequestRef {
                host: Some("a.com"),
                source_ip: Some("10.0.0.1"),
                pod_labels: Some(&empty),
                ..RequestRef::default()
            }),
            None
        );
        // No pod labels and an empty map are one sender.
        let none = Connection::new(&RequestRef {
            pod_labels: Some(&empty),
            ..RequestRef::default()
        });
        assert_eq!(none.pod_labels(), None);
    }

    #[test]
    fn a_connection_from_sender_fields_refuses_the_requests_own() {
        let read = |json: &str| -> Request { serde_json::from_str(json).expect("request JSON") };
        let c = Connection::from_sender(&read(
            r#"{"source": {"principal": "cluster.local/ns/shop/sa/cart", "namespace": "shop"},
                "workload": {"namespace": "istio-system", "labels": {"istio": "egressgateway"}}}"#,
        ))
        .expect("sender fields only");
        assert_eq!(c.principal(), Some("cluster.local/ns/shop/sa/cart"));
        assert_eq!(c.source_namespace(), Some("shop"));
        assert_eq!(
            c.workload().map(|w| w.namespace.as_str()),
            Some("istio-system")
        );
        for (json, field) in [
            (r#"{"source": {"ip": "10.0.0.1"}}"#, "source.ip"),
            (
                r#"{"source": {"remote_ip": "10.0.0.1"}}"#,
                "source.remote_ip",
            ),
            (
                r#"{"source": {"labels": {"app": "cart"}}}"#,
                "source.labels",
            ),
            (r#"{"host": "a.com"}"#, "request"),
            (
                r#"{"source": {"principal": "p"}, "custom": {"opa": true}}"#,
                "request",
            ),
        ] {
            assert_eq!(
                Connection::from_sender(&read(json)).err(),
                Some(field),
                "{json}"
            );
        }
        for (field, path) in [
            ("principal", "source.principal"),
            ("source_namespace", "source.namespace"),
            ("pod_labels", "source.pod_labels"),
            ("cluster", "source.cluster"),
            ("workload", "workload"),
        ] {
            assert_eq!(Connection::field_path(field), path);
            assert!(Connection::sender_field_message(field)
                .starts_with(&format!("{path} is the connection's: ")));
        }
        assert!(Connection::own_field_message("source.ip")
            .starts_with("source.ip is the request's own (it may change"));
    }
}
