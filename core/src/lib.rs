//! egress-policy: decide whether a mesh workload may send a request out of the mesh, and
//! how it leaves, exactly as Istio, Tetrate TSB and Solo Gloo egress gateways decide.
//!
//! Data flows one way: files → [`import`] → [`model::Model`] → [`Engine`] →
//! [`Engine::decide`] → [`Decision`].
//!
//! # Module map
//!
//! [`source`] (located YAML) → [`import`] (one importer per vendor) → [`model`] →
//! [`road`] (where a request is enforced: Sidecar, registry, routes, gateways) →
//! [`eval`] (reference) and [`compile`] (fast path) → [`decision`] and [`response`]
//! (what Envoy answers); [`BatchLine`] is the one JSON-lines shape of batch decisions; [`tools`] (lint, test
//! files, reach, diff, inventory, replay, suggest, text renderers) work on the same engine. `docs/ARCHITECTURE.md` says where new kinds, tools and binding calls go.
//!
//! # API themes
//!
//! - **Loading fails, deciding never does.** [`Loader::load`] returns every problem of a
//!   load as located [`Diagnostic`]s (file, line, column, resource, field path) and never a
//!   partial model; [`Engine::decide`] is total: malformed requests are denied with 400.
//! - **Two evaluators, one answer.** [`Engine::decide`] uses the compiled matcher
//!   ([`compile`]); [`Engine::decide_reference`] and [`Engine::explain`] use the reference
//!   evaluator ([`eval`]), a literal transcription of `docs/SEMANTICS.md`. Property tests hold
//!   them equal on every field of the decision.
//! - **Prepare once, decide without allocating.** [`Engine::prepare`] digests a request
//!   (normalisation, lower-casing, index keys); [`Engine::decide_prepared`] then allocates
//!   nothing and returns a borrowed [`compile::Verdict`].
//! - **Share and swap.** [`Engine`] is an immutable `Arc` (`Clone + Send + Sync`);
//!   [`Reloader`] swaps engines atomically and keeps the old one when a reload fails.
//! - **Tooling on the same model.** [`tools`] lints policies, runs policy test files and
//!   answers who-can-reach and what-changed questions.
//!
//! ```
//! use egress_policy::{Engine, Request};
//!
//! let engine = Engine::from_yaml("policies.yaml", r#"
//! apiVersion: security.istio.io/v1
//! kind: AuthorizationPolicy
//! metadata: {name: only-get, namespace: istio-egress}
//! spec:
//!   rules:
//!   - to: [{operation: {methods: ["GET"]}}]
//! "#)?;
//! let mut request = Request::default();
//! request.workload = Some(egress_policy::request::Workload {
//!     namespace: "istio-egress".into(),
//!     labels: Default::default(),
//! });
//! request.host = Some("httpbin.org".into());
//! request.method = Some("POST".into());
//! let decision = engine.decide(&request);
//! assert!(!decision.allowed);
//! assert_eq!(decision.status, 403);
//! # Ok::<(), egress_policy::Error>(())
//! ```

mod batch;
pub mod bench;
pub mod compile;
pub mod decision;
pub mod diagnostic;
mod engine;
pub mod error;
pub mod eval;
#[cfg(feature = "yaml")]
pub mod import;
pub mod model;
#[cfg(feature = "yaml")]
mod reload;
pub mod request;
pub mod response;
pub mod road;
#[cfg(feature = "yaml")]
pub mod source;
pub mod tools;
pub mod workload;

pub use batch::{BatchLine, DecideLines};
pub use compile::Connection;
pub use decision::{Decision, Explanation, Reason, Route};
pub use diagnostic::{Diagnostic, Location, Severity};
pub use engine::Engine;
pub use error::{Error, Result};
#[cfg(feature = "yaml")]
pub use import::Loader;
#[cfg(feature = "yaml")]
pub use reload::{ReloadOutcome, Reloader};
pub use request::Request;
