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
//! stdout; with `--server-pid` it carries the CPU time of the server and of the generator
//! over the measured window, per check.
//!
//! The generator is built to cost little per check, since it shares the cores with the
//! server it measures: every request is encoded and framed once and sent as the same
//! bytes, the answers are compared as bytes (decoded only when they differ from the first
//! answer), the streams drive `h2` client connections directly (no task, channel or codec
//! per call), and one thread runs them all by default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use clap::Parser;
use egress_policy::response::REASON_HEADER;
use egress_policy::Request;
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{
    HttpRequest, Peer, Request as AttrRequest,
};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use http::{HeaderMap, HeaderValue, Method, Uri};
use prost::Message;
use serde::Serialize;

// See Cargo.toml: allocation is a visible share of a check's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Threads of the generator: 1 (the default) runs every stream on one thread, which
    /// costs the least CPU per check when the server shares the cores.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The server's process id: its CPU time (user + system, from `/proc/PID/stat`) over
    /// the measured window is reported per check, next to the generator's own.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Checks per second for all streams together, sent on a fixed schedule (0 = each
    /// stream sends its next check as soon as its answer arrives). A check's latency is
    /// then counted from the time it was due, so a late send counts as waiting.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
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
    /// `--rate` (0 = as fast as the streams go).
    rate: f64,
    seconds: f64,
    checks: u64,
    errors: u64,
    checks_per_second: f64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    max_us: u64,
    inconsistent: u64,
    cpu: Option<Cpu>,
    requests: Vec<Seen>,
}

/// CPU time (user + system) over the measured window, and per measured check.
#[derive(Debug, Serialize)]
struct Cpu {
    loadgen_seconds: f64,
    loadgen_us_per_check: f64,
    server_seconds: Option<f64>,
    server_us_per_check: Option<f64>,
    total_us_per_check: Option<f64>,
}

/// Clock ticks per second of `/proc/PID/stat` (`USER_HZ`: 100 on Linux, every architecture
/// this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU ticks of a process (every thread), from `/proc/PID/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, may hold spaces): field 3 onwards;
    // utime and stime are fields 14 and 15.
    let rest = text.get(text.rfind(')')?.saturating_add(1)..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user.saturating_add(system))
}

/// CPU ticks of the generator and, when known, of the server.
fn cpu_sample(server: Option<u32>) -> (Option<u64>, Option<u64>) {
    (
        cpu_ticks("self"),
        server.and_then(|pid| cpu_ticks(&pid.to_string())),
    )
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
fn outcome(response: &CheckResponse) -> (u16, String) {
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

/// The gRPC method every check calls.
const CHECK_PATH: &str = "/envoy.service.auth.v3.Authorization/Check";

/// Answers larger than this are errors (no `CheckResponse` comes near it).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// `message` as one gRPC length-prefixed message (not compressed), ready to send.
fn framed(message: &[u8]) -> Result<Bytes, String> {
    let length = u32::try_from(message.len()).map_err(|_| "request too large".to_string())?;
    let mut out = BytesMut::with_capacity(message.len().saturating_add(5));
    out.put_u8(0);
    out.put_u32(length);
    out.put_slice(message);
    Ok(out.freeze())
}

/// What every check sends besides its body: the method's URI and gRPC's request headers.
#[derive(Debug, Clone)]
struct Head {
    uri: Uri,
    headers: HeaderMap,
}

impl Head {
    fn new(target: SocketAddr) -> Result<Self, String> {
        let uri: Uri = format!("http://{target}{CHECK_PATH}")
            .parse()
            .map_err(|e| format!("{target}: {e}"))?;
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        Ok(Head { uri, headers })
    }

    fn request(&self) -> http::Request<()> {
        let mut request = http::Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One HTTP/2 connection, driven by `h2` directly: a check queues its frames on the
/// connection's stream state and waits for its answer, without a task, a channel or a
/// codec of its own.
async fn connect(target: SocketAddr) -> Result<h2::client::SendRequest<Bytes>, String> {
    let stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(target),
    )
    .await
    .map_err(|_| format!("cannot connect to {target}: timed out"))?
    .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
    // Windows large enough that the answers in flight never wait for a WINDOW_UPDATE.
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(8 << 20)
        .handshake(stream)
        .await
        .map_err(|e| format!("HTTP/2 handshake with {target}: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("egress-policy-loadgen: connection: {e}");
        }
    });
    Ok(send)
}

/// One unary gRPC call: sends the framed `body`, returns the answer's message bytes, or
/// why the call failed (an HTTP or gRPC error status, a malformed answer).
async fn call(
    client: &mut h2::client::SendRequest<Bytes>,
    head: &Head,
    body: &Bytes,
) -> Result<Bytes, String> {
    let ready = client.clone().ready().await.map_err(|e| e.to_string())?;
    *client = ready;
    let (answer, mut send) = client
        .send_request(head.request(), false)
        .map_err(|e| e.to_string())?;
    send.send_data(body.clone(), true)
        .map_err(|e| e.to_string())?;
    let (parts, mut body) = answer.await.map_err(|e| e.to_string())?.into_parts();
    if parts.status != http::StatusCode::OK {
        return Err(format!("HTTP status {}", parts.status));
    }
    // A trailers-only answer carries its gRPC status in the headers.
    if let Some(status) = parts.headers.get("grpc-status") {
        return Err(format!("gRPC status {status:?}"));
    }
    let mut data = BytesMut::new();
    let mut first: Option<Bytes> = None;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if data.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
            return Err("answer too large".to_string());
        }
        // Usually the whole answer is one DATA frame: kept as it came, no copy.
        match first.take() {
            None if data.is_empty() => first = Some(chunk),
            held => {
                if let Some(held) = held {
                    data.put(held);
                }
                data.put(chunk);
            }
        }
    }
    let trailers = body.trailers().await.map_err(|e| e.to_string())?;
    match trailers.as_ref().and_then(|t| t.get("grpc-status")) {
        Some(status) if status.as_bytes() == b"0" => {}
        status => return Err(format!("gRPC status {status:?}")),
    }
    let mut message = first.unwrap_or_else(|| data.freeze());
    if message.len() < 5 || message.first() != Some(&0) {
        return Err("malformed gRPC message".to_string());
    }
    message.advance(1);
    let length = usize::try_from(message.get_u32()).unwrap_or(usize::MAX);
    if length != message.len() {
        return Err("malformed gRPC message".to_string());
    }
    Ok(message)
}

/// The first answer to one request, and how often it was answered (and answered another
/// way).
#[derive(Debug, Clone)]
struct First {
    raw: Bytes,
    status: u16,
    reason: String,
    count: u64,
    inconsistent: u64,
}

impl First {
    fn of(raw: Bytes) -> Self {
        let (status, reason) = outcome_of(&raw);
        First {
            raw,
            status,
            reason,
            count: 1,
            inconsistent: 0,
        }
    }

    /// Counts another answer; a different status or reason is inconsistent.
    fn record(&mut self, raw: &Bytes) {
        self.count = self.count.saturating_add(1);
        if *raw != self.raw {
            let (status, reason) = outcome_of(raw);
            if status != self.status || reason != self.reason {
                self.inconsistent = self.inconsistent.saturating_add(1);
            }
        }
    }
}

/// Status and reason of an encoded `CheckResponse` (an undecodable one: status 0).
fn outcome_of(raw: &[u8]) -> (u16, String) {
    CheckResponse::decode(raw).map_or((0, "undecodable answer".to_string()), |r| outcome(&r))
}

struct Worker {
    latencies: Vec<u32>,
    errors: u64,
    seen: Vec<Option<First>>,
}

/// What every stream sends, and for how long.
struct Plan {
    head: Head,
    /// The framed requests, sent round-robin.
    checks: Vec<Bytes>,
    /// The number of the next check (all streams).
    next: AtomicU64,
    measure_from: Instant,
    until: Instant,
    /// Most checks sent, warm-up included (0 = no limit).
    limit: u64,
    timeout: Duration,
    /// With `--rate`: when the run started and how many checks are due per second.
    schedule: Option<(Instant, f64)>,
}

async fn worker(mut client: h2::client::SendRequest<Bytes>, plan: Arc<Plan>) -> Worker {
    let Plan {
        head,
        checks,
        next,
        measure_from,
        until,
        limit,
        timeout,
        schedule,
    } = &*plan;
    let (measure_from, until, limit, timeout) = (*measure_from, *until, *limit, *timeout);
    let mut out = Worker {
        latencies: Vec::with_capacity(1 << 16),
        errors: 0,
        seen: vec![None; checks.len()],
    };
    loop {
        let mut start = Instant::now();
        if start >= until {
            break;
        }
        let n = next.fetch_add(1, Ordering::Relaxed);
        if limit > 0 && n >= limit {
            break;
        }
        if let Some((from, rate)) = *schedule {
            let Some(due) = Duration::try_from_secs_f64((n as f64) / rate)
                .ok()
                .and_then(|after| from.checked_add(after))
                .filter(|due| *due < until)
            else {
                break;
            };
            if due > start {
                tokio::time::sleep_until(due.into()).await;
            }
            start = due;
        }
        let index = usize::try_from(n).unwrap_or(0) % checks.len();
        let Some(check) = checks.get(index) else {
            break;
        };
        let answer = tokio::time::timeout(timeout, call(&mut client, head, check)).await;
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        let counted = start >= measure_from;
        match answer {
            Ok(Ok(raw)) => {
                if counted {
                    out.latencies.push(micros);
                }
                if let Some(slot) = out.seen.get_mut(index) {
                    match slot {
                        Some(first) => first.record(&raw),
                        None => *slot = Some(First::of(raw)),
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
    // Encoded and framed once: a check sends these bytes as they are.
    let checks: Vec<Bytes> = requests
        .iter()
        .map(|(_, r)| framed(&check_request(r).encode_to_vec()))
        .collect::<Result<_, _>>()?;
    let count = checks.len();
    let mut connections = Vec::new();
    for _ in 0..args.connections.max(1) {
        connections.push(connect(args.target).await?);
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup_secs.max(0.0));
    let until = measure_from + Duration::from_secs_f64(args.duration_secs.max(0.0));
    let plan = Arc::new(Plan {
        head: Head::new(args.target)?,
        checks,
        next: AtomicU64::new(0),
        measure_from,
        until,
        limit: args.count,
        timeout: Duration::from_millis(args.timeout_ms),
        schedule: (args.rate > 0.0).then_some((start, args.rate)),
    });
    let server_pid = args.server_pid;
    let cpu_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        cpu_sample(server_pid)
    });
    let mut tasks = Vec::new();
    for n in 0..args.streams.max(1) {
        let connection = connections
            .get(n % connections.len().max(1))
            .cloned()
            .ok_or("no connection")?;
        tasks.push(tokio::spawn(worker(connection, Arc::clone(&plan))));
    }
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut seen: Vec<Option<First>> = vec![None; count];
    let mut inconsistent = 0u64;
    for task in tasks {
        let w = task.await.map_err(|e| format!("worker failed: {e}"))?;
        latencies.extend(w.latencies);
        errors = errors.saturating_add(w.errors);
        for (slot, mine) in seen.iter_mut().zip(w.seen) {
            let Some(mine) = mine else {
                continue;
            };
            inconsistent = inconsistent.saturating_add(mine.inconsistent);
            match slot {
                Some(first) => {
                    first.count = first.count.saturating_add(mine.count);
                    if first.status != mine.status || first.reason != mine.reason {
                        first.inconsistent = first.inconsistent.saturating_add(mine.count);
                        inconsistent = inconsistent.saturating_add(mine.count);
                    }
                }
                None => *slot = Some(mine),
            }
        }
    }
    let cpu_end = cpu_sample(server_pid);
    let seconds = Instant::now()
        .min(until)
        .saturating_duration_since(measure_from)
        .as_secs_f64()
        .max(1e-9);
    latencies.sort_unstable();
    let checks_done = latencies.len() as u64;
    let cpu = match cpu_start.await {
        Ok((Some(own_start), server_start)) if checks_done > 0 => {
            let per_check =
                |ticks: u64| (ticks as f64) / TICKS_PER_SECOND * 1e6 / (checks_done as f64);
            let own = cpu_end.0.map_or(0, |end| end.saturating_sub(own_start));
            let server = server_start
                .zip(cpu_end.1)
                .map(|(from, to)| to.saturating_sub(from));
            Some(Cpu {
                loadgen_seconds: (own as f64) / TICKS_PER_SECOND,
                loadgen_us_per_check: per_check(own),
                server_seconds: server.map(|t| (t as f64) / TICKS_PER_SECOND),
                server_us_per_check: server.map(per_check),
                total_us_per_check: server.map(|t| per_check(t.saturating_add(own))),
            })
        }
        _ => None,
    };
    Ok(Report {
        target: args.target.to_string(),
        streams: args.streams,
        connections: args.connections,
        rate: args.rate,
        seconds,
        checks: checks_done,
        errors,
        checks_per_second: (checks_done as f64) / seconds,
        p50_us: percentile(&latencies, 0.50),
        p90_us: percentile(&latencies, 0.90),
        p99_us: percentile(&latencies, 0.99),
        max_us: latencies.last().copied().map_or(0, u64::from),
        inconsistent,
        cpu,
        requests: requests
            .iter()
            .zip(seen)
            .enumerate()
            .map(|(index, ((label, _), seen))| {
                let (status, reason, count, inconsistent) = seen
                    .map_or((0, String::new(), 0, 0), |f| {
                        (f.status, f.reason, f.count, f.inconsistent)
                    });
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
    let runtime = match args.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
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
