//! The engine handle: an immutable, cheaply clonable, thread-safe view of loaded policies.

#[cfg(feature = "yaml")]
use std::path::Path;
use std::sync::Arc;

use crate::compile::{Compiled, Connection, Prepared, Verdict};
use crate::decision::{Decision, Explanation};
use crate::diagnostic::{Diagnostic, Location};
use crate::error::Result;
use crate::eval;
#[cfg(feature = "yaml")]
use crate::import::Loader;
use crate::model::{Model, ResourceRef};
use crate::request::{Request, RequestRef};

/// Loaded policies ready to decide. `Clone` is an `Arc` clone; the engine is `Send + Sync`.
///
/// Reloading means building a new engine and swapping it in; a failed load returns an
/// error and leaves the caller's current engine untouched.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    model: Model,
    compiled: Compiled,
}

impl Engine {
    /// Builds (compiles) an engine from an already loaded model.
    pub fn from_model(model: Model) -> Self {
        let compiled = Compiled::new(&model);
        Engine {
            inner: Arc::new(Inner { model, compiled }),
        }
    }

    #[cfg(feature = "yaml")]
    /// Loads one multi-document YAML or JSON text; `name` is used in diagnostics.
    pub fn from_yaml(name: &str, text: &str) -> Result<Self> {
        let mut loader = Loader::new();
        loader.add_str(name, text);
        Ok(Engine::from_model(loader.load()?))
    }

    #[cfg(feature = "yaml")]
    /// Loads several named texts (`(file name, contents)`).
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut loader = Loader::new();
        for (name, text) in files {
            loader.add_str(name, text);
        }
        Ok(Engine::from_model(loader.load()?))
    }

    #[cfg(feature = "yaml")]
    /// Loads files and directories (`*.yaml`, `*.yml`, `*.json`, recursively).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut loader = Loader::new();
        for path in paths {
            loader.add_path(path)?;
        }
        Ok(Engine::from_model(loader.load()?))
    }

    /// Builds an engine from a compiled-policy bundle ([`Engine::to_bundle_json`],
    /// `egress-policy compile`); `name` is the file name errors show. The engine decides
    /// and explains exactly like the one the bundle was written from, without source texts
    /// (see [`Model::from_bundle_json`] for what that changes and what is refused).
    pub fn from_bundle_json(name: &str, text: &str) -> Result<Self> {
        Ok(Engine::from_model(Model::from_bundle_json(name, text)?))
    }

    /// The engine's model as a compiled-policy bundle (JSON text), for
    /// [`Engine::from_bundle_json`].
    pub fn to_bundle_json(&self) -> Result<String> {
        self.inner.model.to_bundle_json()
    }

    /// Decides one request with the compiled matcher. Never fails: malformed requests are
    /// denied with 400.
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_prepared(&self.prepare(request)).to_decision()
    }

    /// Digests a request once (normalisation, lower-casing, label lookups, the road) so
    /// that [`Engine::decide_prepared`] can run without allocating. The result borrows
    /// from the request and the engine ([`Prepared::into_owned`] detaches it).
    #[inline]
    pub fn prepare<'r>(&'r self, request: &'r Request) -> Prepared<'r> {
        self.prepare_ref(&request.view())
    }

    /// [`Engine::prepare`] for a borrowed view of the request (what a proxy holds): no
    /// field is copied, and on the second sight of a road a plain request (lower-case
    /// host, a path with nothing to normalise) is digested without allocating.
    pub fn prepare_ref<'r>(&'r self, request: &RequestRef<'r>) -> Prepared<'r> {
        Prepared::for_engine(request, None, &self.inner.model, &self.inner.compiled)
    }

    /// [`Engine::prepare_ref`] for a request on `connection`: the connection's sender
    /// fields (peer identity, namespace, pod labels, cluster, enforcing workload) replace
    /// the request's, and their half of the road memo's key is not written or hashed again.
    /// Decides exactly as `prepare_ref(&connection.view(request))`.
    pub fn prepare_on<'r>(
        &'r self,
        connection: &'r Connection,
        request: &RequestRef<'r>,
    ) -> Prepared<'r> {
        Prepared::for_engine(
            &connection.view(request),
            Some(connection.key()),
            &self.inner.model,
            &self.inner.compiled,
        )
    }

    /// The hot path: decides a prepared request without heap allocation. The verdict
    /// borrows from the engine and the request.
    pub fn decide_prepared<'a>(&'a self, prepared: &'a Prepared<'_>) -> Verdict<'a> {
        self.inner.compiled.decide(&self.inner.model, prepared)
    }

    /// Decides with the reference evaluator (slow, obviously right); the compiled matcher
    /// must always agree with it.
    pub fn decide_reference(&self, request: &Request) -> Decision {
        eval::decide(&self.inner.model, request)
    }

    /// Decides and explains: every attached policy and rule with its verdict.
    pub fn explain(&self, request: &Request) -> Explanation {
        eval::explain(&self.inner.model, request)
    }

    /// The compiled engine (tests reach its internals).
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> &crate::compile::Compiled {
        &self.inner.compiled
    }

    /// The loaded model.
    pub fn model(&self) -> &Model {
        &self.inner.model
    }

    /// Number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.inner.compiled.rule_count()
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.inner.model.warnings
    }

    /// The source texts the engine was loaded from, `(file name, text)` in load order;
    /// empty when the loader did not keep them ([`Loader::keep_sources`]). Loading these
    /// texts again builds the same engine (how the Python binding pickles one).
    ///
    /// ```
    /// let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
    /// let engine = egress_policy::Engine::from_yaml("ns.yaml", text).unwrap();
    /// assert_eq!(engine.sources().collect::<Vec<_>>(), [("ns.yaml", text)]);
    /// ```
    pub fn sources(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.inner.model.sources.texts()
    }

    /// Where field `path` (`spec.rules[0].to[0].operation.hosts[1]`) of `resource` was
    /// written (see [`crate::model::SourceMap::locate`]).
    pub fn locate(&self, resource: &ResourceRef, path: &str) -> Option<Location> {
        self.inner.model.sources.locate(resource, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Engine>();
    }
}
