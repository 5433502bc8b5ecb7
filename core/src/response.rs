//! What an enforcement point inside Envoy answers: the HTTP status, body and headers of a
//! denial, the sender identity taken from a stand-in header, and the start-up check that a
//! filter or server placed in a proxy enforces something there.
//!
//! The proxy-wasm filter (`examples/envoy-wasm`) and the ext_authz server
//! (`examples/ext-authz`) both answer through this module, so they deny alike: the status
//! is the decision's ([`Decision::status`], [`Verdict::status`]) whatever the reason, the
//! body is what Envoy itself would answer with that status (403 `RBAC: access denied`, as
//! Envoy's RBAC filter), and [`POLICY_HEADER`] / [`REASON_HEADER`] name the deciding
//! policy and the reason code.
//!
//! ```
//! use egress_policy::response::{Denial, ACCESS_DENIED};
//! use egress_policy::{Engine, Request};
//!
//! let engine = Engine::from_yaml("p.yaml", r#"
//! apiVersion: security.istio.io/v1
//! kind: AuthorizationPolicy
//! metadata: {name: no-post, namespace: istio-egress}
//! spec:
//!   action: DENY
//!   rules:
//!   - to: [{operation: {methods: ["POST"]}}]
//! "#)?;
//! let mut request = Request::default();
//! request.workload = Some("istio-egress/app=egress".parse().unwrap());
//! request.host = Some("httpbin.org".into());
//! request.method = Some("POST".into());
//! let decision = engine.decide(&request);
//! let denial = Denial::of_decision(&decision).unwrap();
//! assert_eq!((denial.status, denial.body.as_ref()), (403, ACCESS_DENIED));
//! assert_eq!(denial.policy, "AuthorizationPolicy istio-egress/no-post");
//! assert_eq!(denial.reason, "denied_by_policy");
//! // The compiled path gives the same answer without building a `Decision`.
//! let prepared = engine.prepare(&request);
//! assert_eq!(Denial::of_verdict(&engine.decide_prepared(&prepared)), Some(denial));
//! # Ok::<(), egress_policy::Error>(())
//! ```

use std::borrow::Cow;

use crate::compile::Verdict;
use crate::decision::{Decision, Reason};
use crate::engine::Engine;
use crate::model::ResourceRef;
use crate::request::{Request, Workload};

/// The body Envoy's own RBAC filter answers a denial with (status 403).
pub const ACCESS_DENIED: &str = crate::decision::ACCESS_DENIED;
/// The response header naming the deciding policy (`Kind namespace/name`, `-` when no
/// single policy decided).
pub const POLICY_HEADER: &str = "x-egress-policy";
/// The response header carrying the reason code ([`Reason::as_str`]).
pub const REASON_HEADER: &str = "x-egress-reason";
/// The response header carrying the generation of the engine that decided (test modes).
pub const GENERATION_HEADER: &str = "x-egress-generation";
/// The conventional request header carrying the sender's principal when the connection
/// has no client certificate. Only trustworthy when Envoy strips it from untrusted
/// clients; the integrations remove it before forwarding upstream.
pub const SOURCE_HEADER: &str = "x-egress-source";
/// The reason code of a request whose identity header is ambiguous (several values).
pub const AMBIGUOUS_IDENTITY: &str = "ambiguous_identity";

const MALFORMED_BODY: &str = "egress-policy: malformed request";
const NOT_IN_REGISTRY_BODY: &str = "egress-policy: destination not in the registry (REGISTRY_ONLY)";
/// Envoy's `jwt_authn` filter answers a missing or invalid token with 401 and this body.
const UNAUTHENTICATED_BODY: &str = "Jwt verification fails";

/// The local reply for a denied request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// HTTP status, always 4xx or 5xx.
    pub status: u16,
    /// Response body (`text/plain`).
    pub body: Cow<'static, str>,
    /// The [`POLICY_HEADER`] value: `Kind namespace/name` of the deciding policy, or `-`.
    pub policy: String,
    /// The [`REASON_HEADER`] value: the reason code.
    pub reason: &'static str,
}

impl Denial {
    /// The reply for a denied decision; `None` when the decision allows.
    pub fn of_decision(decision: &Decision) -> Option<Denial> {
        (!decision.allowed)
            .then(|| Denial::new(decision.status, decision.reason, decision.policy.as_ref()))
    }

    /// The reply for a denied verdict of the compiled engine; `None` when it allows.
    /// Equal to [`Denial::of_decision`] of [`Verdict::to_decision`].
    pub fn of_verdict(verdict: &Verdict<'_>) -> Option<Denial> {
        (!verdict.allowed()).then(|| {
            Denial::new(
                verdict.status(),
                verdict.reason(),
                verdict.policy().map(|(policy, _)| policy),
            )
        })
    }

    /// The reply for `status` and `reason`. A status that is not an error (a denial is
    /// never 2xx or 3xx) is answered 403.
    ///
    /// ```
    /// use egress_policy::response::Denial;
    /// use egress_policy::Reason;
    /// let d = Denial::new(404, Reason::DeniedByPolicy, None);
    /// assert_eq!((d.status, d.policy.as_str()), (404, "-"));
    /// assert_eq!(Denial::new(200, Reason::DeniedByPolicy, None).status, 403);
    /// assert_eq!(Denial::new(502, Reason::NotInRegistry, None).body,
    ///            "egress-policy: destination not in the registry (REGISTRY_ONLY)");
    /// ```
    pub fn new(status: u16, reason: Reason, policy: Option<&ResourceRef>) -> Denial {
        let status = if (400..=599).contains(&status) {
            status
        } else {
            403
        };
        Denial {
            status,
            body: Cow::Borrowed(body_for(status, reason)),
            policy: policy_header(policy),
            reason: reason.as_str(),
        }
    }

    /// The reply for a request the enforcement point cannot read (400, as Istio rejects
    /// malformed requests before authorization); `detail` is appended to the body.
    ///
    /// ```
    /// let d = egress_policy::response::Denial::malformed("header `x` is not UTF-8");
    /// assert_eq!(d.status, 400);
    /// assert_eq!(d.reason, "malformed_request");
    /// assert_eq!(d.body, "egress-policy: malformed request: header `x` is not UTF-8");
    /// ```
    pub fn malformed(detail: &str) -> Denial {
        let body = if detail.is_empty() {
            Cow::Borrowed(MALFORMED_BODY)
        } else {
            Cow::Owned(format!("{MALFORMED_BODY}: {detail}"))
        };
        Denial {
            status: 400,
            body,
            policy: "-".to_string(),
            reason: Reason::MalformedRequest.as_str(),
        }
    }

    /// The reply for an ambiguous sender identity (see [`identity_from_header`]): 400
    /// with reason [`AMBIGUOUS_IDENTITY`].
    pub fn ambiguous_identity(header: &str, count: usize) -> Denial {
        Denial {
            status: 400,
            body: Cow::Owned(format!(
                "egress-policy: ambiguous identity: {count} values of `{header}`"
            )),
            policy: "-".to_string(),
            reason: AMBIGUOUS_IDENTITY,
        }
    }
}

/// The body Envoy answers `status` with for `reason`: 403 is Envoy RBAC's
/// `RBAC: access denied`, 401 `jwt_authn`'s `Jwt verification fails`, 404 (no route) is
/// empty as Envoy's own; 400 and 502 `not_in_registry` say what happened; any other
/// status gets a generic line.
///
/// ```
/// use egress_policy::response::{body_for, ACCESS_DENIED};
/// use egress_policy::Reason;
/// assert_eq!(body_for(403, Reason::DeniedByPolicy), ACCESS_DENIED);
/// assert_eq!(body_for(404, Reason::DeniedByPolicy), "");
/// assert_eq!(body_for(503, Reason::DeniedByPolicy), "egress-policy: service unavailable");
/// ```
pub fn body_for(status: u16, reason: Reason) -> &'static str {
    match (reason, status) {
        (Reason::MalformedRequest, _) | (_, 400) => MALFORMED_BODY,
        (Reason::NotInRegistry, _) => NOT_IN_REGISTRY_BODY,
        (_, 401) => UNAUTHENTICATED_BODY,
        (_, 403) => ACCESS_DENIED,
        (_, 404) => "",
        (_, 500..=599) => "egress-policy: service unavailable",
        _ => "egress-policy: request denied",
    }
}

/// The [`POLICY_HEADER`] value for a deciding policy: `Kind namespace/name`, or `-`.
pub fn policy_header(policy: Option<&ResourceRef>) -> String {
    policy.map_or_else(|| "-".to_string(), ToString::to_string)
}

/// The sender principal carried by an identity header (such as [`SOURCE_HEADER`]) that
/// appeared with `values` (one entry per occurrence, as the proxy lists them).
///
/// No occurrence, or only empty ones, is no identity (`Ok(None)`). More than one
/// non-empty occurrence, or one holding a comma (how a proxy joins repeated headers; no
/// principal contains one), is ambiguous and rejected: taking the first or the joined
/// value would let a client choose which identity is checked.
///
/// ```
/// use egress_policy::response::identity_from_header;
/// assert_eq!(identity_from_header("x-egress-source", ["ns/a"]), Ok(Some("ns/a")));
/// assert_eq!(identity_from_header("x-egress-source", [""; 0]), Ok(None));
/// assert_eq!(identity_from_header("x-egress-source", ["a", "b"]).unwrap_err().status, 400);
/// assert_eq!(identity_from_header("x-egress-source", ["a,b"]).unwrap_err().reason,
///            "ambiguous_identity");
/// ```
pub fn identity_from_header<'v>(
    header: &str,
    values: impl IntoIterator<Item = &'v str>,
) -> Result<Option<&'v str>, Denial> {
    let mut found = None;
    let mut count = 0usize;
    for value in values {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        count = count.saturating_add(value.split(',').count());
        found = Some(value);
    }
    match count {
        0 | 1 => Ok(found),
        _ => Err(Denial::ambiguous_identity(header, count)),
    }
}

/// Why an enforcement point refuses to start: placed at `workload`, the loaded policies
/// would enforce nothing there. `None` when some policy applies at the workload for some
/// registered host (or for a host outside the registry).
///
/// A filter or server placed in a proxy decides as that proxy; when no policy attaches
/// at that proxy every request would be let through unchecked (`no_allow_policies`),
/// which is almost always a misplaced workload or a missing policy file.
///
/// ```
/// use egress_policy::response::enforces_nothing;
/// use egress_policy::Engine;
/// let engine = Engine::from_yaml("p.yaml", r#"
/// apiVersion: security.istio.io/v1
/// kind: AuthorizationPolicy
/// metadata: {name: only-get, namespace: istio-egress}
/// spec:
///   rules:
///   - to: [{operation: {methods: ["GET"]}}]
/// "#)?;
/// let here = "istio-egress/app=gw".parse().unwrap();
/// let elsewhere = "default/app=gw".parse().unwrap();
/// assert_eq!(enforces_nothing(&engine, &here), None);
/// assert!(enforces_nothing(&engine, &elsewhere).unwrap().contains("default"));
/// # Ok::<(), egress_policy::Error>(())
/// ```
pub fn enforces_nothing(engine: &Engine, workload: &Workload) -> Option<String> {
    let model = engine.model();
    let hosts = model
        .services
        .iter()
        .flat_map(|s| &s.hosts)
        .map(|h| h.trim_start_matches("*."))
        .chain(std::iter::once("egress-policy.invalid"));
    for host in hosts {
        let request = Request {
            workload: Some(workload.clone()),
            host: Some(host.to_string()),
            method: Some("GET".to_string()),
            path: Some("/".to_string()),
            ..Request::default()
        };
        let explanation = engine.explain(&request);
        if !explanation.policies.is_empty() || !explanation.decision.allowed {
            return None;
        }
    }
    let labels: Vec<String> = workload
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Some(format!(
        "no policy attaches at workload `{}/{}`: every request would pass unchecked \
         (check the workload's namespace and labels, and that the policies are loaded)",
        workload.namespace,
        labels.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_an_error_status() {
        for status in [0, 200, 301, 399, 600] {
            assert_eq!(
                Denial::new(status, Reason::DeniedByPolicy, None).status,
                403
            );
        }
        for status in [400, 401, 403, 404, 429, 502, 503, 599] {
            assert_eq!(
                Denial::new(status, Reason::DeniedByPolicy, None).status,
                status
            );
        }
        assert_eq!(body_for(401, Reason::DeniedByPolicy), UNAUTHENTICATED_BODY);
        assert_eq!(
            body_for(429, Reason::DeniedByPolicy),
            "egress-policy: request denied"
        );
        assert_eq!(body_for(403, Reason::MalformedRequest), MALFORMED_BODY);
    }

    #[test]
    fn identity_values() {
        assert_eq!(identity_from_header("h", ["", " "]), Ok(None));
        assert_eq!(identity_from_header("h", ["", "a"]), Ok(Some("a")));
        let err = identity_from_header("h", ["a", "a"]).unwrap_err();
        assert_eq!(
            err.body,
            "egress-policy: ambiguous identity: 2 values of `h`"
        );
        assert!(identity_from_header("h", ["a, b"]).is_err());
        assert_eq!(Denial::malformed("").body, MALFORMED_BODY);
    }
}
