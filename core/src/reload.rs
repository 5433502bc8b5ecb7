//! Hot reload: a shared slot holding the current [`Engine`], swapped atomically.

use std::path::Path;

use arc_swap::ArcSwap;

use crate::decision::Decision;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::error::Result;
use crate::request::Request;

/// The engine currently serving, with the generation it was installed at.
#[derive(Debug)]
struct Slot {
    engine: Engine,
    generation: u64,
}

/// A handle that serves decisions from the current [`Engine`] while new policies are
/// loaded and swapped in.
///
/// Readers never block and never see a half-built engine: [`Reloader::current`] is a
/// lock-free load plus one `Arc` clone, and a swap is one atomic pointer store
/// ([`arc-swap`](https://docs.rs/arc-swap)). An engine obtained before a swap keeps
/// deciding with the old policies until it is dropped, so a request is always decided by
/// exactly one policy set.
///
/// [`Reloader::reload_from_paths`] loads and compiles the new policies *before* touching
/// the slot: when loading fails, the previous engine keeps serving and the error (every
/// located diagnostic) is returned. The generation starts at 0 and increases by one on
/// every successful reload or swap, never on a failure.
///
/// `Reloader` is `Send + Sync`; share it by reference (scoped threads) or in an `Arc`.
///
/// A proxy loop: worker threads decide through the reloader while a control thread
/// reloads when the policies change (here: once).
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use egress_policy::{Engine, Reloader, Request};
///
/// let reloader = Reloader::new(Engine::from_yaml("boot.yaml", r#"
/// apiVersion: security.istio.io/v1
/// kind: AuthorizationPolicy
/// metadata: {name: only-get, namespace: istio-egress}
/// spec:
///   rules:
///   - to: [{operation: {methods: ["GET"]}}]
/// "#)?);
/// let stop = AtomicBool::new(false);
///
/// std::thread::scope(|scope| {
///     // Workers: one engine per request (or per batch), never a lock.
///     for _ in 0..2 {
///         scope.spawn(|| {
///             let mut request = Request::default();
///             request.workload = Some(egress_policy::request::Workload {
///                 namespace: "istio-egress".into(),
///                 labels: Default::default(),
///             });
///             request.host = Some("httpbin.org".into());
///             request.method = Some("GET".into());
///             while !stop.load(Ordering::Relaxed) {
///                 let engine = reloader.current();
///                 let decision = engine.decide(&request);
///                 assert!(decision.status == 200 || decision.status == 403);
///             }
///         });
///     }
///     // Control: on a change notification, reload; a bad update is reported and the
///     // previous engine keeps serving.
///     match reloader.reload_from_paths(&["/etc/egress-policy/does-not-exist"]) {
///         Ok(outcome) => println!("generation {}: {} rules", outcome.generation, outcome.rules),
///         Err(error) => eprintln!("reload rejected, still serving generation {}: {error}",
///                                 reloader.generation()),
///     }
///     stop.store(true, Ordering::Relaxed);
/// });
/// assert_eq!(reloader.generation(), 0);
/// # Ok::<(), egress_policy::Error>(())
/// ```
#[derive(Debug)]
pub struct Reloader {
    slot: ArcSwap<Slot>,
}

/// What a successful [`Reloader::reload_from_paths`] installed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReloadOutcome {
    /// The generation of the engine now serving.
    pub generation: u64,
    /// Compiled rules of the new engine.
    pub rules: usize,
    /// Warnings found while loading the new policies.
    pub warnings: Vec<Diagnostic>,
}

impl Reloader {
    /// Starts serving `engine` at generation 0.
    pub fn new(engine: Engine) -> Self {
        Reloader {
            slot: ArcSwap::from_pointee(Slot {
                engine,
                generation: 0,
            }),
        }
    }

    /// The engine serving now: a cheap clone (one `Arc`). Keep it for the duration of one
    /// request (or batch) and call `current` again for the next, so that reloads are
    /// picked up.
    pub fn current(&self) -> Engine {
        self.slot.load().engine.clone()
    }

    /// The engine serving now together with its generation, read consistently.
    pub fn current_with_generation(&self) -> (Engine, u64) {
        let slot = self.slot.load();
        (slot.engine.clone(), slot.generation)
    }

    /// The generation of the engine serving now (0 for the engine given to
    /// [`Reloader::new`]).
    pub fn generation(&self) -> u64 {
        self.slot.load().generation
    }

    /// Decides one request with the engine serving now (see [`Engine::decide`]).
    pub fn decide(&self, request: &Request) -> Decision {
        self.slot.load().engine.decide(request)
    }

    /// Installs `engine`; returns its generation. Requests already holding the previous
    /// engine finish with it.
    pub fn swap(&self, engine: Engine) -> u64 {
        let mut installed = 0;
        self.slot.rcu(|old| {
            installed = old.generation.saturating_add(1);
            Slot {
                engine: engine.clone(),
                generation: installed,
            }
        });
        installed
    }

    /// Loads and compiles the policies under `paths` (files and directories, as
    /// [`Engine::from_paths`]) and installs the new engine. On any error nothing changes:
    /// the previous engine keeps serving and the error is returned. A server only decides,
    /// so the engine keeps no source texts ([`crate::Loader::keep_sources`]).
    pub fn reload_from_paths<P: AsRef<Path>>(&self, paths: &[P]) -> Result<ReloadOutcome> {
        let mut loader = crate::Loader::new();
        loader.keep_sources(false);
        for path in paths {
            loader.add_path(path)?;
        }
        let engine = Engine::from_model(loader.load()?);
        let rules = engine.rule_count();
        let warnings = engine.warnings().to_vec();
        let generation = self.swap(engine);
        Ok(ReloadOutcome {
            generation,
            rules,
            warnings,
        })
    }
}

impl From<Engine> for Reloader {
    fn from(engine: Engine) -> Self {
        Reloader::new(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloader_is_send_sync() {
        fn assert_traits<T: Send + Sync + 'static>() {}
        assert_traits::<Reloader>();
    }

    #[test]
    fn swap_counts_generations_and_failed_reloads_do_not() -> Result<()> {
        let reloader = Reloader::new(Engine::from_yaml("empty.yaml", "")?);
        assert_eq!(reloader.generation(), 0);
        assert!(reloader
            .reload_from_paths(&["/nonexistent/egress"])
            .is_err());
        assert_eq!(reloader.generation(), 0);
        assert_eq!(reloader.swap(Engine::from_yaml("empty.yaml", "")?), 1);
        assert_eq!(reloader.current_with_generation().1, 1);
        Ok(())
    }
}
