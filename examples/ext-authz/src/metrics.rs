//! Prometheus metrics (OpenMetrics text, `prometheus-client`) and their HTTP endpoint.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `egress_policy_decisions_total` | counter | `reason`, `status` |
//! | `egress_policy_decision_seconds` | histogram | |
//! | `egress_policy_engine_generation` | gauge | |
//! | `egress_policy_rules_loaded` | gauge | |
//! | `egress_policy_reloads_total` | counter | `result` (`success`/`failure`), `kind` |
//! | `egress_policy_last_reload_error` | gauge (1, info style) | `kind`, `message` |
//! | `egress_policy_last_reload_success_timestamp_seconds` | gauge | |
//! | `egress_policy_serving` | gauge (1 = gRPC health SERVING) | |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request as HttpRequest, Response as HttpResponse, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `egress_policy_decisions_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// Reason code.
    pub reason: &'static str,
    /// HTTP status.
    pub status: u16,
}

/// Labels of `egress_policy_reloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `success` or `failure`.
    pub result: &'static str,
    /// `ok`, or why the reload was rejected (see [`crate::watch::RejectKind`]).
    pub kind: &'static str,
}

/// Labels of `egress_policy_last_reload_error`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Why the reload was rejected.
    pub kind: &'static str,
    /// The first line of the error (at most 200 characters).
    pub message: String,
}

/// Every metric of the server, registered in one [`Registry`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    generation: Gauge,
    rules: Gauge,
    reloads: Family<ReloadLabels, Counter>,
    last_error: Family<ErrorLabels, Gauge>,
    last_success: Gauge,
    serving: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("egress_policy");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Checks answered, by reason code and HTTP status",
            decisions.clone(),
        );
        // 1 µs .. ~16 ms.
        let latency = Histogram::new(exponential_buckets(1e-6, 2.0, 15));
        registry.register(
            "decision_seconds",
            "Time to map and decide one check (excluding gRPC transport)",
            latency.clone(),
        );
        let generation = Gauge::default();
        registry.register(
            "engine_generation",
            "Generation of the policy set serving (0 = the set loaded at start)",
            generation.clone(),
        );
        let rules = Gauge::default();
        registry.register("rules_loaded", "Compiled rules serving", rules.clone());
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Policy reloads by result and rejection kind",
            reloads.clone(),
        );
        let last_error = Family::<ErrorLabels, Gauge>::default();
        registry.register(
            "last_reload_error",
            "The last rejected reload (1), cleared by a successful one",
            last_error.clone(),
        );
        let last_success = Gauge::default();
        registry.register(
            "last_reload_success_timestamp_seconds",
            "Unix time of the last successful load",
            last_success.clone(),
        );
        let serving = Gauge::default();
        registry.register(
            "serving",
            "1 when the gRPC health status is SERVING",
            serving.clone(),
        );
        Metrics {
            registry,
            decisions,
            latency,
            generation,
            rules,
            reloads,
            last_error,
            last_success,
            serving,
        }
    }

    /// Records one answered check.
    pub fn decision(&self, reason: &'static str, status: u16, seconds: f64) {
        self.decisions
            .get_or_create(&DecisionLabels { reason, status })
            .inc();
        self.latency.observe(seconds);
    }

    /// Records a successful load of `rules` rules at `generation`.
    pub fn loaded(&self, generation: u64, rules: usize, initial: bool) {
        self.generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
        self.rules.set(i64::try_from(rules).unwrap_or(i64::MAX));
        self.last_error.clear();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.last_success.set(i64::try_from(now).unwrap_or(0));
        if !initial {
            // Counted last, as in `rejected`.
            self.reloads
                .get_or_create(&ReloadLabels {
                    result: "success",
                    kind: "ok",
                })
                .inc();
        }
    }

    /// Records a rejected reload.
    pub fn rejected(&self, kind: &'static str, message: &str) {
        let first: String = message
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        self.last_error.clear();
        self.last_error
            .get_or_create(&ErrorLabels {
                kind,
                message: first,
            })
            .set(1);
        // Counted last: a scrape that sees the failure counted sees its error too.
        self.reloads
            .get_or_create(&ReloadLabels {
                result: "failure",
                kind,
            })
            .inc();
    }

    /// Records the health status.
    pub fn set_serving(&self, serving: bool) {
        self.serving.set(i64::from(serving));
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Serves `GET /metrics` (and `/healthz`) on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<crate::state::State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: HttpRequest<Incoming>| {
                let state = Arc::clone(&state);
                async move { Ok::<_, std::convert::Infallible>(answer(&req, &state.metrics)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn answer(req: &HttpRequest<Incoming>, metrics: &Metrics) -> HttpResponse<Full<Bytes>> {
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_string(),
        ),
    };
    let mut response = HttpResponse::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// Binds the metrics listener.
pub async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} (metrics): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_metric() {
        let m = Metrics::new();
        m.loaded(0, 3, true);
        m.decision("allowed_by_policy", 200, 0.000_01);
        m.decision("no_allow_match", 403, 0.000_02);
        m.rejected("invalid", "a.yaml:1:2: error: bad\nmore");
        let text = m.encode();
        for needle in [
            "egress_policy_decisions_total{reason=\"allowed_by_policy\",status=\"200\"} 1",
            "egress_policy_decisions_total{reason=\"no_allow_match\",status=\"403\"} 1",
            "egress_policy_decision_seconds_count 2",
            "egress_policy_engine_generation 0",
            "egress_policy_rules_loaded 3",
            "egress_policy_reloads_total{result=\"failure\",kind=\"invalid\"} 1",
            "egress_policy_last_reload_error{kind=\"invalid\",message=\"a.yaml:1:2: error: bad\"} 1",
        ] {
            assert!(text.contains(needle), "{needle} not in\n{text}");
        }
        m.loaded(1, 4, false);
        let text = m.encode();
        assert!(!text.contains("last_reload_error{"), "{text}");
        assert!(text.contains("egress_policy_reloads_total{result=\"success\",kind=\"ok\"} 1"));
    }
}
