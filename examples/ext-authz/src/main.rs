//! `egress-policy-ext-authz`: an Envoy external authorization server (gRPC,
//! `envoy.service.auth.v3.Authorization`) that decides with egress-policy.
//!
//! ```sh
//! egress-policy-ext-authz --policy examples/policies/istio-waypoint-tls \
//!     --grpc 127.0.0.1:9191 --source-header x-egress-source
//! ```
//!
//! One engine is shared by every request; the policy paths are polled for changes (every
//! `--poll-ms`, default 1000) and reloaded through [`egress_policy::Reloader`]: a change
//! that does not load is reported on stderr and the previous engine keeps serving.
//! Denials carry the status (403 `RBAC: access denied`, 400, 502) and the
//! `x-egress-policy` / `x-egress-reason` headers; allowed requests carry the route's
//! header mutations.

mod check;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use egress_policy::{Engine, Reloader};
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse,
};
use tonic::transport::server::TcpIncoming;

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
    /// The enforcing proxy: `NS`, `NS/GATEWAY` or `NS/key=value,...`; by default the
    /// gateway the registry routes the host to.
    #[arg(long)]
    workload: Option<String>,
    /// Request header carrying the sender's principal when Envoy reports no peer
    /// certificate (only safe when Envoy strips it from untrusted clients).
    #[arg(long)]
    source_header: Option<String>,
    /// Read the principal from `x-forwarded-client-cert` when there is no peer certificate.
    #[arg(long)]
    use_xfcc: bool,
    /// Decide with this destination port instead of the authority's.
    #[arg(long)]
    port: Option<u16>,
    /// Poll interval for policy changes, in milliseconds (0 disables reloading).
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Write `{"grpc": "ADDR"}` to this file once the server listens.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

struct Service {
    reloader: Arc<Reloader>,
    mapping: check::Mapping,
}

#[tonic::async_trait]
impl Authorization for Service {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let request = check::to_request(&self.mapping, request.get_ref());
        let engine = self.reloader.current();
        Ok(tonic::Response::new(check::respond(&engine, &request)))
    }
}

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
    let engine = match Engine::from_paths(&args.policies) {
        Ok(engine) => engine,
        Err(error) => {
            log(&format!("policies do not load:\n{error}"));
            return ExitCode::from(2);
        }
    };
    for warning in engine.warnings() {
        log(&warning.to_string());
    }
    log(&format!("loaded {} rules", engine.rule_count()));
    let reloader = Arc::new(Reloader::new(engine));
    let mapping = check::Mapping {
        workload,
        source_header: args.source_header.map(|h| h.to_ascii_lowercase()),
        use_xfcc: args.use_xfcc,
        port: args.port,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = (args.poll_ms > 0).then(|| {
        let reloader = Arc::clone(&reloader);
        let stop = Arc::clone(&stop);
        let paths = args.policies.clone();
        let interval = Duration::from_millis(args.poll_ms);
        std::thread::spawn(move || watch::poll(&reloader, &paths, interval, &stop, log))
    });

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            log(&format!("cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(
        args.grpc,
        args.ready_file,
        Service { reloader, mapping },
    ));
    stop.store(true, Ordering::Relaxed);
    if let Some(watcher) = watcher {
        let _ = watcher.join();
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log(&error);
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    address: std::net::SocketAddr,
    ready_file: Option<PathBuf>,
    service: Service,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    log(&format!("gRPC listening on {bound}"));
    if let Some(path) = ready_file {
        let text = format!("{{\"grpc\": \"{bound}\"}}\n");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    tonic::transport::Server::builder()
        .add_service(AuthorizationServer::new(service))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown())
        .await
        .map_err(|e| format!("gRPC server failed: {e}"))
}

async fn shutdown() {
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
    log("shutting down");
}
