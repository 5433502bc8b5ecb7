//! The gRPC server: `envoy.service.auth.v3.Authorization`, the standard gRPC health
//! service, the metrics endpoint, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use egress_policy::Engine;
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse,
};
use tokio::sync::{mpsc, oneshot, watch};
use tonic::server::NamedService;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::ServingStatus;

use crate::check::{self, Mapping, Needs};
use crate::state::State;

/// The largest `CheckRequest` accepted (gRPC message bytes); larger ones are refused by
/// the transport with `RESOURCE_EXHAUSTED`.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How the server listens and stops.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// gRPC listen address (port 0 picks a free port).
    pub grpc: SocketAddr,
    /// Metrics listen address; `None` disables the endpoint.
    pub metrics: Option<SocketAddr>,
    /// Write `{"grpc": ADDR, "metrics": ADDR}` here once listening.
    pub ready_file: Option<PathBuf>,
    /// Report NOT_SERVING once the files have held a set that does not load for longer
    /// than this.
    pub max_age: Option<Duration>,
    /// After SIGTERM, how long in-flight checks may take before the server exits.
    pub drain: Duration,
    /// Threads serving gRPC connections (0 counts as 1). Each runs its own
    /// single-threaded runtime, and an accepted connection stays on one thread: its
    /// checks and its HTTP/2 connection task take turns on one core, so the answers
    /// decided in one turn leave in one write (see the README's "Load").
    pub workers: usize,
}

/// The Authorization service.
#[derive(Debug, Clone)]
pub struct Service {
    state: Arc<State>,
    mapping: Arc<Mapping>,
    /// The headers the serving engine reads, with the generation they were read from.
    needs: Arc<ArcSwap<(u64, Needs)>>,
}

impl Service {
    /// A service deciding with `state` and mapping with `mapping`.
    pub fn new(state: Arc<State>, mapping: Mapping) -> Self {
        let (engine, generation) = state.reloader.current_with_generation();
        let needs = Needs::of(engine.model());
        Service {
            state,
            mapping: Arc::new(mapping),
            needs: Arc::new(ArcSwap::from_pointee((generation, needs))),
        }
    }

    /// The headers `engine` (serving at `generation`) reads: computed once per
    /// generation, so a check is always mapped for the engine that decides it.
    fn needs(&self, engine: &Engine, generation: u64) -> Arc<(u64, Needs)> {
        let cached = self.needs.load_full();
        if cached.0 == generation {
            return cached;
        }
        let fresh = Arc::new((generation, Needs::of(engine.model())));
        if generation > cached.0 {
            self.needs.store(Arc::clone(&fresh));
        }
        fresh
    }
}

#[tonic::async_trait]
impl Authorization for Service {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let start = Instant::now();
        let (engine, generation) = self.state.reloader.current_with_generation();
        let needs = self.needs(&engine, generation);
        let mapped = check::map_view(&self.mapping, &needs.1, request.get_ref());
        let answer = check::respond_view(&self.mapping, &engine, generation, mapped);
        self.state
            .metrics
            .decision(answer.reason, answer.status, start.elapsed().as_secs_f64());
        Ok(tonic::Response::new(answer.response))
    }
}

const AUTHORIZATION: &str = <AuthorizationServer<Service> as NamedService>::NAME;

async fn set_health(reporter: &tonic_health::server::HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter.set_service_status(AUTHORIZATION, status).await;
}

/// Serves until `shutdown` completes, then stops accepting, reports NOT_SERVING, and
/// waits for in-flight checks at most [`ServeOptions::drain`].
pub async fn serve(
    service: Service,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    log: fn(&str),
) -> Result<(), String> {
    let state = Arc::clone(&service.state);
    let listener = tokio::net::TcpListener::bind(options.grpc)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.grpc))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    log(&format!("gRPC listening on {bound}"));
    let metrics_bound = match options.metrics {
        Some(address) => {
            let listener = crate::metrics::bind(address).await?;
            let bound = listener
                .local_addr()
                .map_err(|e| format!("cannot read the metrics address: {e}"))?;
            log(&format!("metrics on http://{bound}/metrics"));
            tokio::spawn(crate::metrics::serve(listener, Arc::clone(&state)));
            Some(bound)
        }
        None => None,
    };

    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, true).await;
    state.metrics.set_serving(true);
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    // Health follows the age of the serving set, and goes NOT_SERVING on shutdown.
    let health_task = {
        let state = Arc::clone(&state);
        let mut stopping = stopping.clone();
        let max_age = options.max_age;
        tokio::spawn(async move {
            let mut serving = true;
            loop {
                let stale = max_age.is_some_and(|max| state.stale_for().is_some_and(|s| s > max));
                let want = !*stopping.borrow() && !stale;
                if want != serving {
                    serving = want;
                    set_health(&reporter, want).await;
                    state.metrics.set_serving(want);
                    log(if want {
                        "health: SERVING"
                    } else {
                        "health: NOT_SERVING"
                    });
                }
                if !want && *stopping.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = stopping.changed() => {}
                }
            }
        })
    };

    // The serving threads run (with their runtimes) before the server says it is ready.
    let serving = Serving {
        service,
        health,
        stopping,
        drain: options.drain,
        log,
    };
    let threads = start_threads(&serving, options.workers.max(1)).await?;
    if let Some(path) = &options.ready_file {
        let metrics = metrics_bound.map_or_else(|| "null".to_string(), |m| format!("\"{m}\""));
        let text = format!("{{\"grpc\": \"{bound}\", \"metrics\": {metrics}}}\n");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }

    let signal = async move {
        shutdown.await;
        log("shutting down: no new connections, draining in-flight checks");
        let _ = stopping_tx.send(true);
    };
    let result = accept(listener, threads, signal, log).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), health_task).await;
    result
}

/// What every serving thread serves, and when and how it stops.
struct Serving<H> {
    service: Service,
    health: HealthServer<H>,
    /// Turns true on shutdown.
    stopping: watch::Receiver<bool>,
    /// How long in-flight checks may take after that.
    drain: Duration,
    log: fn(&str),
}

impl<H> Clone for Serving<H> {
    fn clone(&self) -> Self {
        Serving {
            service: self.service.clone(),
            health: self.health.clone(),
            stopping: self.stopping.clone(),
            drain: self.drain,
            log: self.log,
        }
    }
}

/// The serving threads: where connections are handed to, and how each thread ended.
struct Threads {
    hand_over: Vec<mpsc::UnboundedSender<std::net::TcpStream>>,
    finished: Vec<oneshot::Receiver<Result<(), String>>>,
}

/// Starts `workers` threads, each serving the connections handed to it on its own
/// single-threaded runtime; returns once every thread's runtime runs.
async fn start_threads<H: Health>(serving: &Serving<H>, workers: usize) -> Result<Threads, String> {
    let mut threads = Threads {
        hand_over: Vec::with_capacity(workers),
        finished: Vec::with_capacity(workers),
    };
    let mut started = Vec::with_capacity(workers);
    for n in 0..workers {
        let (tx, rx) = mpsc::unbounded_channel();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel();
        let serving = serving.clone();
        std::thread::Builder::new()
            .name(format!("ext-authz-{n}"))
            .spawn(move || {
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start serving thread {n}: {e}"))
                    .and_then(|runtime| {
                        let _ = started_tx.send(());
                        runtime.block_on(serve_connections(serving, HandedOver(rx)))
                    });
                let _ = done_tx.send(served);
            })
            .map_err(|e| format!("cannot start serving thread {n}: {e}"))?;
        threads.hand_over.push(tx);
        threads.finished.push(done_rx);
        started.push(started_rx);
    }
    for (n, started) in started.into_iter().enumerate() {
        if started.await.is_err() {
            // The thread ended before its runtime ran: its error, if it sent one.
            let error = match threads.finished.get_mut(n) {
                Some(done) => done.await.ok().and_then(Result::err),
                None => None,
            };
            return Err(error.unwrap_or_else(|| format!("serving thread {n} did not start")));
        }
    }
    Ok(threads)
}

/// Accepts connections on `listener` and hands them round-robin to the serving threads
/// until `signal` completes; then stops accepting and waits for every thread (each
/// drains at most [`Serving::drain`]).
async fn accept(
    listener: tokio::net::TcpListener,
    threads: Threads,
    signal: impl Future<Output = ()>,
    log: fn(&str),
) -> Result<(), String> {
    let Threads {
        hand_over,
        finished,
    } = threads;
    let workers = hand_over.len();
    let mut signal = std::pin::pin!(signal);
    let mut next = 0usize;
    loop {
        tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // Out of descriptors and the like: the connection is lost, the
                    // listener is not; do not spin on it.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                // Without it, Nagle holds small answers back for the peer's delayed ACK.
                let _ = stream.set_nodelay(true);
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                // A thread whose server failed has dropped its receiver: the next one
                // takes the connection; with none left, stop (the error is returned).
                let mut stream = Some(stream);
                for _ in 0..workers {
                    let (Some(worker), Some(s)) = (hand_over.get(next % workers), stream.take())
                    else {
                        break;
                    };
                    next = next.wrapping_add(1);
                    if let Err(mpsc::error::SendError(s)) = worker.send(s) {
                        stream = Some(s);
                    }
                }
                if stream.is_some() {
                    log("no serving thread left: stopping");
                    break;
                }
            }
        }
    }
    // No new connections: the port closes now, and each thread's connection stream ends.
    drop(listener);
    drop(hand_over);
    let mut result = Ok(());
    for done in finished {
        let served = done
            .await
            .unwrap_or_else(|_| Err("a serving thread stopped unexpectedly".to_string()));
        if let Err(error) = served {
            result = Err(error);
        }
    }
    result
}

/// Serves the connections of `incoming` (tonic: the Authorization and health services)
/// until [`Serving::stopping`] turns true, then drains in-flight checks at most
/// [`Serving::drain`].
async fn serve_connections<H: Health>(
    serving: Serving<H>,
    incoming: HandedOver,
) -> Result<(), String> {
    let Serving {
        service,
        health,
        mut stopping,
        drain,
        log,
    } = serving;
    let mut drain_started = stopping.clone();
    let signal = async move {
        while !*stopping.borrow() {
            if stopping.changed().await.is_err() {
                break;
            }
        }
    };
    // HTTP/2 windows and stream limits stay hyper's defaults (1 MiB windows, 200 streams
    // per connection): checks of a few hundred bytes never fill them.
    let server = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(AuthorizationServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .serve_with_incoming_shutdown(incoming, signal);
    tokio::select! {
        served = server => served.map_err(|e| format!("gRPC server failed: {e}")),
        () = async {
            while !*drain_started.borrow() {
                if drain_started.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(drain).await;
        } => {
            log("drain time over: closing the remaining connections");
            Ok(())
        }
    }
}

/// The connections the acceptor hands to one serving thread, registered with that
/// thread's runtime as they are taken.
struct HandedOver(mpsc::UnboundedReceiver<std::net::TcpStream>);

impl tokio_stream::Stream for HandedOver {
    type Item = std::io::Result<tokio::net::TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0
            .poll_recv(cx)
            .map(|stream| stream.map(tokio::net::TcpStream::from_std))
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn termination() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
