//! `egress-policy check`: decide one request described by flags.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use egress_policy::model::Labels;
use egress_policy::request::{HeaderValue, Protocol, Workload};
use egress_policy::Request;

use crate::args::{CheckArgs, ProtocolArg};
use crate::error::{Error, Result};
use crate::load;
use egress_policy::tools::render;

/// Exit status of a denied request.
const EXIT_DENIED: u8 = 1;

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let request = build_request(args)?;
    let engine = if args.explain {
        load::explaining_engine(&args.policies.policy)?
    } else {
        load::engine(&args.policies.policy)?
    };
    if let (Some(value), false) = (&args.workload, args.allow_unknown_workload) {
        let decision = engine.decide(&request);
        if let Some(caveat) = decision
            .caveats
            .iter()
            .find(|c| c.code == "workload_matches_no_proxy")
        {
            return Err(Error::UnknownWorkload {
                value: value.clone(),
                message: caveat.message.clone(),
            });
        }
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let allowed = if args.explain {
        let explanation = engine.explain(&request);
        if args.json {
            let json = serde_json::to_string(&explanation).unwrap_or_default();
            writeln!(out, "{json}").map_err(Error::Write)?;
        } else {
            write!(out, "{}", render::explanation(&explanation)).map_err(Error::Write)?;
        }
        explanation.decision.allowed
    } else {
        let decision = engine.decide(&request);
        if args.json {
            writeln!(out, "{}", decision.to_json()).map_err(Error::Write)?;
        } else {
            write!(out, "{}", render::decision(&decision)).map_err(Error::Write)?;
        }
        decision.allowed
    };
    out.flush().map_err(Error::Write)?;
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENIED)
    })
}

/// Builds the request JSON the flags describe.
pub fn build_request(args: &CheckArgs) -> Result<Request> {
    let mut request = Request::default();
    request.source.principal = args
        .from
        .as_deref()
        .and_then(egress_policy::request::sender_identity)
        .map(str::to_string);
    request.source.cluster = args.cluster.clone();
    request.source.labels = parse_labels(&args.source_labels)?;
    request.source.namespace = args.namespace.clone();
    request.source.pod_labels = parse_labels(&args.pod_labels)?;
    request.protocol = args.protocol.map(|p| match p {
        ProtocolArg::Http => Protocol::Http,
        ProtocolArg::Tls => Protocol::Tls,
        ProtocolArg::Tcp => Protocol::Tcp,
    });
    let https_url = args
        .url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
    let protocol = request.protocol.unwrap_or(if https_url {
        Protocol::Tls
    } else {
        Protocol::Http
    });
    request.url = args.url.clone();
    request.host = args.host.clone();
    request.port = args.port;
    request.method = match (&args.method, protocol) {
        (Some(method), _) => Some(method.clone()),
        (None, Protocol::Http) => Some("GET".to_string()),
        (None, _) => None,
    };
    request.headers = parse_headers(&args.headers)?;
    request.sni = args.sni.clone().or_else(|| {
        (protocol == Protocol::Tls && request.protocol.is_some())
            .then(|| target_host(args))
            .flatten()
    });
    request.workload = args.workload.as_deref().map(parse_workload).transpose()?;
    Ok(request)
}

/// The host (without port) of `--host` or `--url`, for the default SNI.
fn target_host(args: &CheckArgs) -> Option<String> {
    let authority = match (&args.host, &args.url) {
        (Some(host), _) => host.as_str(),
        (None, Some(url)) => {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            rest.split(['/', '?', '#']).next().unwrap_or(rest)
        }
        (None, None) => return None,
    };
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Parses `-H 'name: value'` flags; a repeated name keeps every value in order.
pub fn parse_headers(flags: &[String]) -> Result<BTreeMap<String, HeaderValue>> {
    let mut headers: BTreeMap<String, HeaderValue> = BTreeMap::new();
    for flag in flags {
        let (name, value) = flag
            .split_once(':')
            .ok_or_else(|| Error::Header(flag.clone()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Header(flag.clone()));
        }
        let value = value.trim().to_string();
        let entry = headers.remove(name);
        let merged = match entry {
            None => HeaderValue::One(value),
            Some(HeaderValue::One(first)) => HeaderValue::Many(vec![first, value]),
            Some(HeaderValue::Many(mut all)) => {
                all.push(value);
                HeaderValue::Many(all)
            }
        };
        headers.insert(name.to_string(), merged);
    }
    Ok(headers)
}

/// Parses `--source-label key=value` flags.
fn parse_labels(flags: &[String]) -> Result<Labels> {
    let mut labels = Labels::new();
    for flag in flags {
        match flag.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                labels.insert(key.trim().to_string(), value.trim().to_string());
            }
            _ => return Err(Error::Label(flag.clone())),
        }
    }
    Ok(labels)
}

/// Parses `NS/NAME` (a Gateway-API gateway) or `NS/key=value,key2=value2` (pod labels).
pub fn parse_workload(value: &str) -> Result<Workload> {
    value.parse().map_err(
        |e: egress_policy::request::InvalidWorkload| Error::Workload {
            value: value.to_string(),
            reason: e.0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_forms() {
        let w = parse_workload("istio-egress/egress-waypoint").unwrap();
        assert_eq!(w.namespace, "istio-egress");
        assert_eq!(
            w.labels[egress_policy::model::GATEWAY_NAME_LABEL],
            "egress-waypoint"
        );
        let w = parse_workload("ns/app=a, tier=b").unwrap();
        assert_eq!(w.labels["app"], "a");
        assert_eq!(w.labels["tier"], "b");
        assert!(parse_workload("nope").is_err());
        assert!(parse_workload("/x").is_err());
        assert!(parse_workload("ns/").is_err());
        assert!(parse_workload("ns/a=b,c").is_err());
    }

    #[test]
    fn headers_repeat() {
        let h = parse_headers(&["X-A: 1".into(), "X-A:2".into(), "b:".into()]).unwrap();
        assert_eq!(h["X-A"], HeaderValue::Many(vec!["1".into(), "2".into()]));
        assert_eq!(h["b"], HeaderValue::One(String::new()));
        assert!(parse_headers(&["nocolon".into()]).is_err());
    }
}
