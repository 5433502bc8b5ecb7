//! Hostile gRPC input: every check is answered (denied with a reason) or refused by the
//! transport, and the server keeps serving.

#[cfg(test)]
mod common;

use std::io::Write;
use std::time::Duration;

use common::{check, outcome, scenario_copy, start, Options, PRODUCTPAGE};
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse};

#[derive(Clone, PartialEq, prost::Message)]
struct RawCheck {
    #[prost(message, optional, tag = "1")]
    attributes: Option<RawAttributes>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawAttributes {
    #[prost(message, optional, tag = "4")]
    request: Option<RawRequest>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(message, optional, tag = "2")]
    http: Option<RawHttp>,
}

/// `HttpRequest` with its text fields as bytes, to send what protobuf forbids.
#[derive(Clone, PartialEq, prost::Message)]
struct RawHttp {
    #[prost(bytes = "vec", tag = "2")]
    method: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    path: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    host: Vec<u8>,
}

async fn raw_check(
    channel: tonic::transport::Channel,
    message: RawCheck,
) -> Result<CheckResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/envoy.service.auth.v3.Authorization/Check",
    );
    grpc.unary(
        tonic::Request::new(message),
        path,
        tonic_prost::ProstCodec::<RawCheck, CheckResponse>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_answered_or_refused_never_fatal() {
    let dir = scenario_copy("istio-waypoint-tls", "hostile");
    let mut server = start(&dir, Options::default()).await;
    let mut client = server.client().await;
    let good = || {
        check(
            "GET",
            "httpbin.org",
            "/get",
            &[("x-egress-source", PRODUCTPAGE)],
        )
    };
    let ok = client.check(good()).await.unwrap().into_inner();
    assert_eq!(outcome(&ok).0, 200);

    // Missing attributes: decided as a request with nothing in it (denied).
    let empty = client
        .check(CheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    let (status, reason, _) = outcome(&empty);
    assert!(status >= 400 && !reason.is_empty(), "{status} {reason}");

    // 1 MB of headers and 10 000 headers: over the limits, 400 with the reason.
    let big = "x".repeat(1 << 20);
    let answer = client
        .check(check(
            "GET",
            "httpbin.org",
            "/get",
            &[("x-big", big.as_str())],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (outcome(&answer).0, outcome(&answer).1.as_str()),
        (400, "malformed_request")
    );
    let names: Vec<(String, String)> = (0..10_000)
        .map(|n| (format!("x-h-{n}"), "v".to_string()))
        .collect();
    let many: Vec<(&str, &str)> = names
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = client
        .check(check("GET", "httpbin.org", "/get", &many))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcome(&answer).0, 400);

    // NUL bytes and absurd ports: denied with a reason.
    for (host, path) in [
        ("httpbin.org", "/get\0/../post"),
        ("httpbin.org\0.evil", "/get"),
        ("httpbin.org:4294967296", "/get"),
        ("httpbin.org:0", "/get"),
        ("httpbin.org:-80", "/get"),
        ("[::1", "/get"),
    ] {
        let answer = client
            .check(check(
                "GET",
                host,
                path,
                &[("x-egress-source", PRODUCTPAGE)],
            ))
            .await
            .unwrap()
            .into_inner();
        let (status, reason, _) = outcome(&answer);
        assert!(
            status >= 400 && !reason.is_empty(),
            "{host:?} {path:?}: {status} {reason}"
        );
    }

    // Invalid UTF-8 where protobuf requires text: the transport refuses the message.
    for (host, path) in [
        (b"httpbin.org".to_vec(), b"/get\xff".to_vec()),
        (b"httpbin\xc3.org".to_vec(), b"/get".to_vec()),
    ] {
        let raw = RawCheck {
            attributes: Some(RawAttributes {
                request: Some(RawRequest {
                    http: Some(RawHttp {
                        method: b"GET".to_vec(),
                        path,
                        host,
                    }),
                }),
            }),
        };
        let refused = raw_check(server.channel().await, raw).await;
        assert!(refused.is_err(), "{refused:?}");
    }

    // A client that disconnects mid-call: a half-sent HTTP/2 request, then close.
    for cut in [10usize, 30, 60] {
        let mut stream = std::net::TcpStream::connect(server.grpc).unwrap();
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00\
                        \x00\x00\x40\x01\x04\x00\x00\x00\x01";
        let _ = stream.write_all(preface.get(..cut.min(preface.len())).unwrap_or_default());
        drop(stream);
    }
    // A call abandoned before its answer.
    let mut abandoning = server.client().await;
    let _ = tokio::time::timeout(Duration::from_micros(1), abandoning.check(good())).await;
    drop(abandoning);

    // Still serving, same engine.
    let ok = client.check(good()).await.unwrap().into_inner();
    assert_eq!(outcome(&ok).0, 200);
    let metrics = server.metrics_text();
    assert!(
        metrics
            .contains("egress_policy_decisions_total{reason=\"malformed_request\",status=\"400\"}"),
        "{metrics}"
    );
    server.shutdown().await.unwrap();
}
