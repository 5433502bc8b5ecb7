//! An in-process ext_authz server for the integration tests.
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egress_policy_ext_authz::check::{parse_workload, Mapping};
use egress_policy_ext_authz::server::{self, ServeOptions, Service};
use egress_policy_ext_authz::state::{Source, State};
use egress_policy_ext_authz::watch::{self, WatchOptions};
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{
    HttpRequest, Peer, Request as AttrRequest,
};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use tonic::transport::Channel;

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
pub const WAYPOINT: &str = "istio-egress/egress-waypoint";
pub const PRODUCTPAGE: &str = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";

pub fn log(message: &str) {
    eprintln!("[server] {message}");
}

/// A private copy of a seed scenario.
pub fn scenario_copy(scenario: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ext-authz-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let from = Path::new(ROOT).join("examples/policies").join(scenario);
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, policies.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

pub struct Running {
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    pub state: Arc<State>,
    pub dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stop_watch: Arc<AtomicBool>,
    pub handle: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

pub struct Options {
    pub max_age: Option<Duration>,
    pub max_bytes: u64,
    pub drain: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_age: None,
            max_bytes: 1 << 20,
            drain: Duration::from_secs(2),
        }
    }
}

pub async fn start(dir: &Path, options: Options) -> Running {
    let workload = parse_workload(WAYPOINT).unwrap();
    let source = Source {
        paths: vec![dir.join("policies")],
        workload: Some(workload.clone()),
        max_bytes: options.max_bytes,
    };
    let state = Arc::new(State::load(source).unwrap());
    let mapping = Mapping {
        workload: Some(workload),
        source_header: Some("x-egress-source".into()),
        test_mode: true,
        ..Mapping::default()
    };
    let stop_watch = Arc::new(AtomicBool::new(false));
    {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop_watch);
        std::thread::spawn(move || {
            watch::run(
                &state,
                WatchOptions {
                    debounce: Duration::from_millis(50),
                    poll: Duration::from_millis(300),
                    notify: true,
                },
                &stop,
                log,
            )
        });
    }
    let ready = dir.join("ready.json");
    let _ = std::fs::remove_file(&ready);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server::serve(
        Service::new(Arc::clone(&state), mapping),
        ServeOptions {
            grpc: "127.0.0.1:0".parse().unwrap(),
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            ready_file: Some(ready.clone()),
            max_age: options.max_age,
            drain: options.drain,
            workers: 2,
        },
        async move {
            let _ = rx.await;
        },
        log,
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text;
        }
        assert!(Instant::now() < deadline, "server not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    Running {
        grpc: json["grpc"].as_str().unwrap().parse().unwrap(),
        metrics: json["metrics"].as_str().unwrap().parse().unwrap(),
        state,
        dir: dir.to_path_buf(),
        stop: Some(tx),
        stop_watch,
        handle: Some(handle),
    }
}

impl Running {
    pub async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn client(&self) -> AuthorizationClient<Channel> {
        AuthorizationClient::new(self.channel().await).max_encoding_message_size(64 << 20)
    }

    pub fn metrics_text(&self) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.metrics).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    pub async fn shutdown(&mut self) -> Result<(), String> {
        self.stop_watch
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(handle) => handle.await.map_err(|e| e.to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_watch
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn check(method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let mut map: std::collections::HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.insert(":authority".into(), host.into());
    map.insert(":method".into(), method.into());
    map.insert(":path".into(), path.into());
    CheckRequest {
        attributes: Some(AttributeContext {
            source: Some(Peer::default()),
            request: Some(AttrRequest {
                http: Some(HttpRequest {
                    host: host.into(),
                    method: method.into(),
                    path: path.into(),
                    headers: map,
                    ..HttpRequest::default()
                }),
                ..AttrRequest::default()
            }),
            ..AttributeContext::default()
        }),
    }
}

/// (HTTP status, reason header, generation header) of an answer.
pub fn outcome(response: &CheckResponse) -> (u16, String, String) {
    let header = |headers: &[envoy_types::ext_authz::v3::pb::HeaderValueOption], name: &str| {
        headers
            .iter()
            .filter_map(|h| h.header.as_ref())
            .find(|h| h.key == name)
            .map(|h| h.value.clone())
            .unwrap_or_default()
    };
    match &response.http_response {
        Some(HttpResponse::DeniedResponse(d)) => (
            d.status
                .as_ref()
                .map_or(403, |s| u16::try_from(s.code).unwrap_or(0)),
            header(&d.headers, "x-egress-reason"),
            header(&d.headers, "x-egress-generation"),
        ),
        Some(HttpResponse::OkResponse(ok)) => (
            200,
            String::new(),
            header(&ok.response_headers_to_add, "x-egress-generation"),
        ),
        _ => (0, String::new(), String::new()),
    }
}

/// Waits until `f` holds (at most 10 s).
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
