//! `egress-policy-ext-authz`: an Envoy external authorization server (gRPC,
//! `envoy.service.auth.v3.Authorization`) that decides with egress-policy.
//!
//! ```sh
//! egress-policy-ext-authz --policy examples/policies/istio-waypoint-tls \
//!     --workload istio-egress/egress-waypoint --grpc 127.0.0.1:9191 \
//!     --source-header x-egress-source
//! ```
//!
//! The server decides as the proxy it serves (`--workload`, required unless
//! `--route-by-registry` is given) and refuses to start when no policy attaches there.
//! One engine is shared by every request; the policy paths are watched (inotify, with
//! debounce, and polled as a fallback) and reloaded: a change that does not load — a
//! half-written file, a removed directory, a permission error, files over the size
//! limit, a set that enforces nothing at the workload — is logged and counted in the
//! metrics, and the previous engine keeps serving. It also serves the standard gRPC
//! health service and Prometheus metrics (127.0.0.1:9464 by default), and on SIGTERM
//! stops accepting, drains in-flight checks (at most `--drain-ms`) and exits 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use egress_policy_ext_authz::check::{self, Limits, Mapping};
use egress_policy_ext_authz::server::{self, ServeOptions, Service};
use egress_policy_ext_authz::state::{Source, State};
use egress_policy_ext_authz::watch::{self, WatchOptions};

/// Envoy ext_authz server deciding with egress-policy.
#[derive(Debug, Parser)]
#[command(name = "egress-policy-ext-authz", version)]
struct Args {
    /// Policy files or directories (`*.yaml`, `*.yml`, `*.json`, recursively); repeatable.
    #[arg(long = "policy", short = 'p', required = true)]
    policies: Vec<PathBuf>,
    /// Address of the gRPC server (port 0 picks a free port; see `--ready-file`).
    #[arg(long, default_value = "127.0.0.1:9191")]
    grpc: std::net::SocketAddr,
    /// The proxy this server decides for: `NS`, `NS/GATEWAY` or `NS/key=value,...`.
    /// Required: a server placed in a proxy decides as that proxy.
    #[arg(long, required_unless_present = "route_by_registry")]
    workload: Option<String>,
    /// Decide each request at the gateway the registry routes its host to, instead of
    /// at one `--workload` (a server shared by several gateways).
    #[arg(long, conflicts_with = "workload")]
    route_by_registry: bool,
    /// Request header carrying the sender's principal when Envoy reports no peer
    /// certificate (only safe when Envoy strips it from untrusted clients). Removed
    /// before the request goes upstream; more than one value is refused (400).
    #[arg(long)]
    source_header: Option<String>,
    /// Read the principal from `x-forwarded-client-cert` when there is no peer certificate.
    #[arg(long)]
    use_xfcc: bool,
    /// Decide with this destination port instead of the authority's.
    #[arg(long)]
    port: Option<u16>,
    /// Polling interval for policy changes, in milliseconds (0 disables reloading).
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Quiet time after a file-system event before the change is read, in milliseconds.
    #[arg(long, default_value_t = 100)]
    debounce_ms: u64,
    /// Poll only (no inotify).
    #[arg(long)]
    no_notify: bool,
    /// Report NOT_SERVING (gRPC health) once the policy files have held a set that does
    /// not load for longer than this many seconds.
    #[arg(long)]
    max_age_secs: Option<u64>,
    /// Prometheus metrics address (`off` disables it).
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: String,
    /// After SIGTERM, how long in-flight checks may take, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    drain_ms: u64,
    /// Add `x-egress-generation` (the engine generation that decided) to every answer.
    #[arg(long)]
    test_mode: bool,
    /// Most request headers in one check (more is denied with 400).
    #[arg(long, default_value_t = Limits::default().max_headers)]
    max_headers: usize,
    /// Most bytes of request headers in one check (more is denied with 400).
    #[arg(long, default_value_t = Limits::default().max_header_bytes)]
    max_header_bytes: usize,
    /// Most bytes of policy files (a larger set is rejected).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_policy_bytes: u64,
    /// Threads serving gRPC connections, each with a single-threaded runtime; a
    /// connection stays on one thread (0 = one per available core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Write `{"grpc": "ADDR", "metrics": "ADDR"}` to this file once the server listens.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

// See Cargo.toml: allocation is a visible share of a check's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn log(message: &str) {
    eprintln!("egress-policy-ext-authz: {message}");
}

fn main() -> ExitCode {
    let args = Args::parse();
    let workload = match args
        .workload
        .as_deref()
        .map(check::parse_workload)
        .transpose()
    {
        Ok(w) => w,
        Err(e) => {
            log(&e);
            return ExitCode::from(2);
        }
    };
    let metrics = match args.metrics.as_str() {
        "off" | "" => None,
        text => match text.parse() {
            Ok(address) => Some(address),
            Err(e) => {
                log(&format!("--metrics `{text}`: {e}"));
                return ExitCode::from(2);
            }
        },
    };
    let source = Source {
        paths: args.policies.clone(),
        workload: workload.clone(),
        max_bytes: args.max_policy_bytes,
    };
    let state = match State::load(source) {
        Ok(state) => state,
        Err(rejected) => {
            log(&format!(
                "refusing to start ({}):\n{}",
                rejected.kind.as_str(),
                rejected.message
            ));
            return ExitCode::from(2);
        }
    };
    let engine = state.reloader.current();
    for warning in engine.warnings() {
        log(&warning.to_string());
    }
    log(&format!("loaded {} rules", engine.rule_count()));
    drop(engine);
    let state = Arc::new(state);
    let mapping = Mapping {
        workload,
        source_header: args.source_header.map(|h| h.to_ascii_lowercase()),
        use_xfcc: args.use_xfcc,
        port: args.port,
        limits: Limits {
            max_headers: args.max_headers,
            max_header_bytes: args.max_header_bytes,
        },
        test_mode: args.test_mode,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = (args.poll_ms > 0).then(|| {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        let options = WatchOptions {
            debounce: Duration::from_millis(args.debounce_ms),
            poll: Duration::from_millis(args.poll_ms),
            notify: !args.no_notify,
        };
        std::thread::spawn(move || watch::run(&state, options, &stop, log))
    });

    // This runtime only accepts connections and runs the metrics endpoint and the health
    // task; the checks are served on `--workers` threads of their own (`ServeOptions`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            log(&format!("cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let options = ServeOptions {
        grpc: args.grpc,
        metrics,
        ready_file: args.ready_file,
        max_age: args.max_age_secs.map(Duration::from_secs),
        drain: Duration::from_millis(args.drain_ms),
        workers: match args.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        },
    };
    let served = runtime.block_on(server::serve(
        Service::new(state, mapping),
        options,
        server::termination(),
        log,
    ));
    stop.store(true, Ordering::Relaxed);
    if let Some(watcher) = watcher {
        let _ = watcher.join();
    }
    runtime.shutdown_timeout(Duration::from_millis(100));
    match served {
        Ok(()) => {
            log("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            log(&error);
            ExitCode::FAILURE
        }
    }
}
