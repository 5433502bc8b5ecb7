//! The engine handle: an immutable, cheaply clonable, thread-safe view of loaded policies.

use std::path::Path;
use std::sync::Arc;

use crate::decision::{Decision, Explanation};
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::eval;
use crate::import::Loader;
use crate::model::Model;
use crate::request::Request;

/// Loaded policies ready to decide. `Clone` is an `Arc` clone; the engine is `Send + Sync`.
///
/// Reloading means building a new engine and swapping it in; a failed load returns an
/// error and leaves the caller's current engine untouched.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Arc<Model>,
}

impl Engine {
    /// Builds an engine from an already loaded model.
    pub fn from_model(model: Model) -> Self {
        Engine {
            model: Arc::new(model),
        }
    }

    /// Loads one multi-document YAML or JSON text; `name` is used in diagnostics.
    pub fn from_yaml(name: &str, text: &str) -> Result<Self> {
        let mut loader = Loader::new();
        loader.add_str(name, text);
        Ok(Engine::from_model(loader.load()?))
    }

    /// Loads several named texts (`(file name, contents)`).
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut loader = Loader::new();
        for (name, text) in files {
            loader.add_str(name, text);
        }
        Ok(Engine::from_model(loader.load()?))
    }

    /// Loads files and directories (`*.yaml`, `*.yml`, `*.json`, recursively).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut loader = Loader::new();
        for path in paths {
            loader.add_path(path)?;
        }
        Ok(Engine::from_model(loader.load()?))
    }

    /// Decides one request. Never fails: malformed requests are denied with 400.
    pub fn decide(&self, request: &Request) -> Decision {
        eval::decide(&self.model, request)
    }

    /// Decides and explains: every attached policy and rule with its verdict.
    pub fn explain(&self, request: &Request) -> Explanation {
        eval::explain(&self.model, request)
    }

    /// The loaded model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.model.warnings
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
