//! `egress-policy-loadgen`: drives an egress-policy ext_authz server (or any
//! `envoy.service.auth.v3.Authorization` server) on the loopback interface with N
//! concurrent gRPC streams, for a bounded time and count, and reports throughput,
//! latency percentiles, errors, and the answer seen for each request.
//!
//! ```sh
//! egress-policy-loadgen --target 127.0.0.1:9191 \
//!     --requests examples/policies/istio-waypoint-tls/demo.jsonl \
//!     --streams 64 --duration-secs 60
//! ```
//!
//! Requests are JSON lines, each a core request or `{"label": ..., "request": {...}}`
//! (the scenarios' `demo.jsonl`); they are sent round-robin. The sender principal goes in
//! the peer principal Envoy would report for a client certificate. Every answer to the
//! same request must be the same (the policies do not change during a run): a request
//! answered two ways is counted in `inconsistent`. The report is one JSON object on
//! stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use egress_policy::response::REASON_HEADER;
use egress_policy::Request;
use envoy_types::ext_authz::v3::pb::{CheckRequest, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{
    HttpRequest, Peer, Request as AttrRequest,
};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};

/// Load generator for the egress-policy ext_authz server (loopback only).
#[derive(Debug, Parser)]
#[command(name = "egress-policy-loadgen", version)]
struct Args {
    /// The server (a loopback address).
    #[arg(long, default_value = "127.0.0.1:9191")]
    target: SocketAddr,
    /// JSON-lines file of requests; repeatable.
    #[arg(long = "requests", required = true)]
    requests: Vec<PathBuf>,
    /// Concurrent streams (in-flight checks).
    #[arg(long, default_value_t = 64)]
    streams: usize,
    /// HTTP/2 connections the streams are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Stop after this many checks (0 = no limit).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Seconds of warm-up before measuring (checks sent, not counted).
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Per-check deadline, in milliseconds (a later answer is an error).
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
}

/// What one request was answered.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct Seen {
    index: usize,
    label: String,
    status: u16,
    reason: String,
    count: u64,
    inconsistent: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    target: String,
    streams: usize,
    connections: usize,
    seconds: f64,
    checks: u64,
    errors: u64,
    checks_per_second: f64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    max_us: u64,
    inconsistent: u64,
    requests: Vec<Seen>,
}

fn load_requests(paths: &[PathBuf]) -> Result<Vec<(String, Request)>, String> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            let (label, request) = match value.get("request") {
                Some(request) => (
                    value
                        .get("label")
                        .and_then(|l| l.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    request.clone(),
                ),
                None => (format!("{}:{}", path.display(), n + 1), value),
            };
            let request: Request = serde_json::from_value(request)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            out.push((label, request));
        }
    }
    if out.is_empty() {
        return Err("no requests".into());
    }
    Ok(out)
}

/// The `CheckRequest` Envoy would send for `request`.
fn check_request(request: &Request) -> CheckRequest {
    let (mut host, mut path) = (request.host.clone(), request.path.clone());
    if let Some(url) = &request.url {
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        host.get_or_insert_with(|| authority.to_string());
        path.get_or_insert_with(|| if tail.is_empty() { "/" } else { tail }.to_string());
    }
    let host = host.unwrap_or_default();
    let path = path.unwrap_or_else(|| "/".to_string());
    let method = request.method.clone().unwrap_or_else(|| "GET".to_string());
    let mut headers: std::collections::HashMap<String, String> = request
        .headers
        .iter()
        .map(|(k, v)| match v {
            egress_policy::request::HeaderValue::One(v) => (k.clone(), v.clone()),
            egress_policy::request::HeaderValue::Many(vs) => (k.clone(), vs.join(",")),
        })
        .collect();
    headers.insert(":authority".into(), host.clone());
    headers.insert(":method".into(), method.clone());
    headers.insert(":path".into(), path.clone());
    CheckRequest {
        attributes: Some(AttributeContext {
            source: Some(Peer {
                principal: request.source.principal.clone().unwrap_or_default(),
                ..Peer::default()
            }),
            request: Some(AttrRequest {
                http: Some(HttpRequest {
                    host,
                    method,
                    path,
                    headers,
                    protocol: "HTTP/1.1".into(),
                    ..HttpRequest::default()
                }),
                ..AttrRequest::default()
            }),
            ..AttributeContext::default()
        }),
    }
}

/// The HTTP status and reason a `CheckResponse` stands for.
fn outcome(response: &envoy_types::ext_authz::v3::pb::CheckResponse) -> (u16, String) {
    match &response.http_response {
        Some(HttpResponse::DeniedResponse(denied)) => {
            let status = denied
                .status
                .as_ref()
                .and_then(|s| u16::try_from(s.code).ok())
                .unwrap_or(403);
            let reason = denied
                .headers
                .iter()
                .filter_map(|h| h.header.as_ref())
                .find(|h| h.key == REASON_HEADER)
                .map(|h| h.value.clone())
                .unwrap_or_default();
            (status, reason)
        }
        _ if response.status.as_ref().is_none_or(|s| s.code == 0) => (200, String::new()),
        _ => (403, String::new()),
    }
}

struct Worker {
    latencies: Vec<u32>,
    errors: u64,
    seen: Vec<Option<(u16, String, u64, u64)>>,
}

async fn worker(
    mut client: AuthorizationClient<Channel>,
    checks: Arc<Vec<CheckRequest>>,
    next: Arc<AtomicU64>,
    measure_from: Instant,
    until: Instant,
    limit: u64,
    timeout: Duration,
) -> Worker {
    let mut out = Worker {
        latencies: Vec::new(),
        errors: 0,
        seen: vec![None; checks.len()],
    };
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let n = next.fetch_add(1, Ordering::Relaxed);
        if limit > 0 && n >= limit {
            break;
        }
        let index = usize::try_from(n).unwrap_or(0) % checks.len();
        let Some(check) = checks.get(index) else {
            break;
        };
        let start = Instant::now();
        let answer = tokio::time::timeout(timeout, client.check(check.clone())).await;
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        let counted = start >= measure_from;
        match answer {
            Ok(Ok(response)) => {
                let (status, reason) = outcome(response.get_ref());
                if counted {
                    out.latencies.push(micros);
                }
                if let Some(slot) = out.seen.get_mut(index) {
                    match slot {
                        Some((s, r, count, bad)) => {
                            *count = count.saturating_add(1);
                            if *s != status || *r != reason {
                                *bad = bad.saturating_add(1);
                            }
                        }
                        None => *slot = Some((status, reason, 1, 0)),
                    }
                }
            }
            _ => {
                if counted {
                    out.errors = out.errors.saturating_add(1);
                }
            }
        }
    }
    out
}

fn percentile(sorted: &[u32], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    let index = rank.saturating_sub(1).min(sorted.len() - 1);
    sorted.get(index).copied().map_or(0, u64::from)
}

async fn run(args: Args) -> Result<Report, String> {
    if !args.target.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address: the load generator only drives local servers",
            args.target
        ));
    }
    let requests = load_requests(&args.requests)?;
    let checks: Arc<Vec<CheckRequest>> =
        Arc::new(requests.iter().map(|(_, r)| check_request(r)).collect());
    let endpoint = Endpoint::from_shared(format!("http://{}", args.target))
        .map_err(|e| e.to_string())?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(
            endpoint
                .connect()
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", args.target))?,
        );
    }
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup_secs.max(0.0));
    let until = measure_from + Duration::from_secs_f64(args.duration_secs.max(0.0));
    // The bound counts every check sent, warm-up included.
    let limit = args.count;
    let mut tasks = Vec::new();
    for n in 0..args.streams.max(1) {
        let channel = channels
            .get(n % channels.len().max(1))
            .cloned()
            .ok_or("no connection")?;
        tasks.push(tokio::spawn(worker(
            AuthorizationClient::new(channel).max_decoding_message_size(8 * 1024 * 1024),
            Arc::clone(&checks),
            Arc::clone(&next),
            measure_from,
            until,
            limit,
            Duration::from_millis(args.timeout_ms),
        )));
    }
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut seen: Vec<Option<(u16, String, u64, u64)>> = vec![None; checks.len()];
    let mut inconsistent = 0u64;
    for task in tasks {
        let w = task.await.map_err(|e| format!("worker failed: {e}"))?;
        latencies.extend(w.latencies);
        errors = errors.saturating_add(w.errors);
        for (slot, mine) in seen.iter_mut().zip(w.seen) {
            let Some((status, reason, count, bad)) = mine else {
                continue;
            };
            inconsistent = inconsistent.saturating_add(bad);
            match slot {
                Some((s, r, c, b)) => {
                    *c = c.saturating_add(count);
                    if *s != status || *r != reason {
                        *b = b.saturating_add(count);
                        inconsistent = inconsistent.saturating_add(count);
                    }
                }
                None => *slot = Some((status, reason, count, bad)),
            }
        }
    }
    let seconds = Instant::now()
        .min(until)
        .saturating_duration_since(measure_from)
        .as_secs_f64()
        .max(1e-9);
    latencies.sort_unstable();
    let checks_done = latencies.len() as u64;
    Ok(Report {
        target: args.target.to_string(),
        streams: args.streams,
        connections: args.connections,
        seconds,
        checks: checks_done,
        errors,
        checks_per_second: (checks_done as f64) / seconds,
        p50_us: percentile(&latencies, 0.50),
        p90_us: percentile(&latencies, 0.90),
        p99_us: percentile(&latencies, 0.99),
        max_us: latencies.last().copied().map_or(0, u64::from),
        inconsistent,
        requests: requests
            .iter()
            .zip(seen)
            .enumerate()
            .map(|(index, ((label, _), seen))| {
                let (status, reason, count, inconsistent) =
                    seen.unwrap_or((0, String::new(), 0, 0));
                Seen {
                    index,
                    label: label.clone(),
                    status,
                    reason,
                    count,
                    inconsistent,
                }
            })
            .collect(),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("egress-policy-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            if report.errors > 0 || report.inconsistent > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("egress-policy-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}
