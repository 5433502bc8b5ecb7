//! Access-log lines → [`Observed`] fields → [`Request`]s.
//!
//! Four formats are read:
//!
//! * **Envoy JSON** access logs with the keys of Istio's `accessLogEncoding: JSON` default
//!   (`authority`, `method`, `path`, `downstream_remote_address`, `requested_server_name`,
//!   `upstream_cluster`, …), plus a field mapping for custom Telemetry formats;
//! * **Istio's default TEXT format**, parsed from its format string ([`ISTIO_TEXT_FORMAT`]);
//! * **ztunnel** access logs (`src.identity="spiffe://…" dst.hbone_addr=… dst.service="…"`);
//! * **Request JSON** lines (README "Request JSON"), decided as written.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::request::{Protocol, Request, RequestRef, RequestSource};

/// Istio's default TEXT access log format: `EnvoyTextLogFormat` in istio/istio
/// `pilot/pkg/model/telemetry_logging.go`, documented on istio.io "Envoy Access Logs"
/// ("Default access log format"). Each `%COMMAND%` is one field; everything else is literal.
pub const ISTIO_TEXT_FORMAT: &str = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

/// The log formats replay and suggest read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Envoy JSON access logs with Istio's standard keys.
    #[default]
    EnvoyJson,
    /// Istio's default TEXT access log format (or another Envoy format string).
    IstioText,
    /// ztunnel access logs (`key=value` pairs).
    Ztunnel,
    /// Request JSON lines.
    Requests,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "envoy-json" | "json" => Ok(LogFormat::EnvoyJson),
            "istio-text" | "text" => Ok(LogFormat::IstioText),
            "ztunnel" => Ok(LogFormat::Ztunnel),
            "requests" | "request-json" => Ok(LogFormat::Requests),
            other => Err(format!(
                "unknown log format `{other}`: expected envoy-json, istio-text, ztunnel or requests"
            )),
        }
    }
}

/// A request attribute a log field can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The sender's mTLS identity (`spiffe://…` or `cluster.local/ns/…/sa/…`).
    Identity,
    /// `:authority`.
    Authority,
    /// `:method`.
    Method,
    /// `:path`.
    Path,
    /// The direct peer address (`ip:port`), looked up in the address → identity map.
    SourceAddress,
    /// TLS SNI.
    Sni,
    /// Envoy's upstream cluster (`outbound|443||api.example.com`): port and host fallback.
    UpstreamCluster,
    /// The destination port.
    Port,
}

impl FromStr for Field {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        Ok(match value {
            "identity" => Field::Identity,
            "authority" | "host" => Field::Authority,
            "method" => Field::Method,
            "path" => Field::Path,
            "source_address" | "source" => Field::SourceAddress,
            "sni" => Field::Sni,
            "upstream_cluster" => Field::UpstreamCluster,
            "port" => Field::Port,
            other => {
                return Err(format!(
                    "unknown field `{other}`: expected identity, authority, method, path, \
                     source_address, sni, upstream_cluster or port"
                ))
            }
        })
    }
}

/// Istio's JSON keys (and the common custom ones) and the attribute each fills.
const JSON_KEYS: &[(&str, Field)] = &[
    ("authority", Field::Authority),
    ("method", Field::Method),
    ("path", Field::Path),
    ("downstream_remote_address", Field::SourceAddress),
    ("requested_server_name", Field::Sni),
    ("upstream_cluster", Field::UpstreamCluster),
    ("downstream_peer_uri_san", Field::Identity),
    ("source_principal", Field::Identity),
];

/// Envoy command operators and the attribute each fills (text formats).
const TEXT_COMMANDS: &[(&str, Field)] = &[
    ("REQ(:AUTHORITY)", Field::Authority),
    ("REQ(:METHOD)", Field::Method),
    ("REQ(X-ENVOY-ORIGINAL-PATH?:PATH)", Field::Path),
    ("REQ(:PATH)", Field::Path),
    ("DOWNSTREAM_REMOTE_ADDRESS", Field::SourceAddress),
    ("REQUESTED_SERVER_NAME", Field::Sni),
    ("UPSTREAM_CLUSTER", Field::UpstreamCluster),
    ("UPSTREAM_CLUSTER_RAW", Field::UpstreamCluster),
    ("DOWNSTREAM_PEER_URI_SAN", Field::Identity),
];

/// The attributes one log line carries, borrowed from the line where possible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed<'a> {
    /// Sender identity.
    pub identity: Option<Cow<'a, str>>,
    /// `:authority`.
    pub authority: Option<Cow<'a, str>>,
    /// Method.
    pub method: Option<Cow<'a, str>>,
    /// Path.
    pub path: Option<Cow<'a, str>>,
    /// Peer address.
    pub source_address: Option<Cow<'a, str>>,
    /// SNI.
    pub sni: Option<Cow<'a, str>>,
    /// Upstream cluster.
    pub upstream_cluster: Option<Cow<'a, str>>,
    /// Destination port.
    pub port: Option<u16>,
    /// A whole Request JSON line (format `requests`).
    pub request: Option<Box<Request>>,
}

impl<'a> Observed<'a> {
    pub(super) fn set(&mut self, field: Field, value: Cow<'a, str>) {
        if value.is_empty() || value == "-" {
            return;
        }
        match field {
            Field::Identity => self.identity = Some(value),
            Field::Authority => self.authority = Some(value),
            Field::Method => self.method = Some(value),
            Field::Path => self.path = Some(value),
            Field::SourceAddress => self.source_address = Some(value),
            Field::Sni => self.sni = Some(value),
            Field::UpstreamCluster => self.upstream_cluster = Some(value),
            Field::Port => self.port = value.parse().ok(),
        }
    }
}

/// One piece of an Envoy format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Command(Option<Field>),
}

/// How to read lines: the format, the key → attribute table, and the address → identity
/// map. Build once, share between threads.
#[derive(Debug, Clone)]
pub struct LogReader {
    format: LogFormat,
    /// The key → attribute table by key length (the index): a JSON key is compared with
    /// the few of its length.
    by_length: Vec<Vec<(String, Field)>>,
    pieces: Vec<Piece>,
    identities: HashMap<String, String>,
}

impl LogReader {
    /// A reader of `format`. `mappings` are `FIELD=KEY` overrides (a JSON key, a text
    /// command operator such as `%REQ(X-SOURCE)%`, or a ztunnel key); `text_format` replaces
    /// [`ISTIO_TEXT_FORMAT`]; `identities` maps source IPs to identities.
    pub fn new(
        format: LogFormat,
        mappings: &[(Field, String)],
        text_format: Option<&str>,
        identities: HashMap<String, String>,
    ) -> Result<Self, String> {
        let defaults: &[(&str, Field)] = match format {
            LogFormat::EnvoyJson => JSON_KEYS,
            LogFormat::IstioText => TEXT_COMMANDS,
            LogFormat::Ztunnel => &[
                ("src.identity", Field::Identity),
                ("src.addr", Field::SourceAddress),
            ],
            LogFormat::Requests => &[],
        };
        let mut keys: Vec<(String, Field)> = Vec::new();
        for (field, key) in mappings {
            let key = key.trim_matches('%').to_string();
            if key.is_empty() {
                return Err(format!("empty key for field {field:?}"));
            }
            keys.retain(|(k, f)| k != &key && f != field);
            keys.push((key, *field));
        }
        // Defaults fill only the fields the caller did not map (a field may have several
        // default keys, such as `%REQ(:PATH)%` and `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`).
        let mapped: Vec<Field> = keys.iter().map(|(_, f)| *f).collect();
        for (key, field) in defaults {
            if !mapped.contains(field) && !keys.iter().any(|(k, _)| k == key) {
                keys.push(((*key).to_string(), *field));
            }
        }
        let pieces = if format == LogFormat::IstioText {
            compile_format(text_format.unwrap_or(ISTIO_TEXT_FORMAT), &keys)?
        } else {
            Vec::new()
        };
        let mut by_length: Vec<Vec<(String, Field)>> = Vec::new();
        for (key, field) in &keys {
            if by_length.len() <= key.len() {
                by_length.resize_with(key.len() + 1, Vec::new);
            }
            if let Some(same_length) = by_length.get_mut(key.len()) {
                same_length.push((key.clone(), *field));
            }
        }
        Ok(LogReader {
            format,
            by_length,
            pieces,
            identities,
        })
    }

    /// The format.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Reads one line; `Ok(None)` for a blank line.
    pub fn observe<'a>(&self, line: &'a str) -> Result<Option<Observed<'a>>, String> {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let observed = match self.format {
            LogFormat::EnvoyJson => self.json(line)?,
            LogFormat::IstioText => self.text(line)?,
            LogFormat::Ztunnel => self.ztunnel(line)?,
            LogFormat::Requests => {
                let request: Request =
                    serde_json::from_str(line).map_err(|e| format!("invalid request JSON: {e}"))?;
                Observed {
                    request: Some(Box::new(request)),
                    ..Observed::default()
                }
            }
        };
        Ok(Some(observed))
    }

    fn field_of(&self, key: &str) -> Option<Field> {
        self.by_length
            .get(key.len())?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, f)| *f)
    }

    fn json<'a>(&self, line: &'a str) -> Result<Observed<'a>, String> {
        // The flat, escape-free lines Envoy writes take the fast path; every other line
        // (and every error message) is serde_json's.
        if let Some(observed) = super::json_scan::scan(line, |key| self.field_of(key)) {
            return Ok(observed);
        }
        self.json_with_serde(line)
    }

    fn json_with_serde<'a>(&self, line: &'a str) -> Result<Observed<'a>, String> {
        let mut de = serde_json::Deserializer::from_str(line);
        let observed = de
            .deserialize_map(LineVisitor { reader: self })
            .map_err(|e| format!("invalid JSON log line: {e}"))?;
        de.end()
            .map_err(|e| format!("invalid JSON log line: {e}"))?;
        Ok(observed)
    }

    fn text<'a>(&self, line: &'a str) -> Result<Observed<'a>, String> {
        let mut observed = Observed::default();
        let mut rest = line;
        let mut pieces = self.pieces.iter().peekable();
        while let Some(piece) = pieces.next() {
            match piece {
                Piece::Literal(lit) => {
                    rest = rest.strip_prefix(lit.as_str()).ok_or_else(|| {
                        format!("does not match the access log format: expected `{lit}`")
                    })?;
                }
                Piece::Command(field) => {
                    let end = match pieces.peek() {
                        Some(Piece::Literal(next)) => {
                            rest.find(next.as_str()).ok_or_else(|| {
                                format!("does not match the access log format: expected `{next}`")
                            })?
                        }
                        _ => rest.len(),
                    };
                    let (value, tail) = rest.split_at(end);
                    if let Some(field) = field {
                        observed.set(*field, Cow::Borrowed(value));
                    }
                    rest = tail;
                }
            }
        }
        Ok(observed)
    }

    fn ztunnel<'a>(&self, line: &'a str) -> Result<Observed<'a>, String> {
        let mut observed = Observed::default();
        let mut seen = false;
        let mut service: Option<&'a str> = None;
        let mut hosts: Option<&'a str> = None;
        let mut target: Option<&'a str> = None;
        let mut rest = line;
        while let Some(eq) = rest.find('=') {
            let key_start = rest
                .get(..eq)
                .and_then(|k| k.rfind(|c: char| c.is_whitespace()))
                .map_or(0, |i| i + 1);
            let key = rest.get(key_start..eq).unwrap_or("");
            let after = rest.get(eq + 1..).unwrap_or("");
            let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
                let close = quoted
                    .find('"')
                    .ok_or_else(|| format!("unterminated quoted value of `{key}`"))?;
                (
                    quoted.get(..close).unwrap_or(""),
                    quoted.get(close + 1..).unwrap_or(""),
                )
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (
                    after.get(..end).unwrap_or(""),
                    after.get(end..).unwrap_or(""),
                )
            };
            seen = true;
            match key {
                "dst.hosts" => hosts = Some(value),
                "dst.service" => service = Some(value),
                "dst.hbone_addr" => target = Some(value),
                "dst.addr" if target.is_none() => target = Some(value),
                _ => {
                    if let Some(field) = self.field_of(key) {
                        observed.set(field, Cow::Borrowed(value));
                    }
                }
            }
            rest = tail;
        }
        if !seen {
            return Err("no key=value pairs: not a ztunnel access log line".into());
        }
        let host = hosts
            .and_then(|h| h.split(',').next())
            .or(service)
            .filter(|h| !h.is_empty());
        if let Some(port) = target.and_then(|t| t.rsplit_once(':')).map(|(_, p)| p) {
            observed.port = Some(
                port.parse()
                    .map_err(|_| format!("invalid port in destination address `{port}`"))?,
            );
        }
        // ztunnel is L4: the destination is a host and a port, never a method or path.
        if let Some(host) = host {
            observed.sni = Some(Cow::Borrowed(host));
        }
        Ok(observed)
    }

    /// The request a line stands for, as the enforcing proxy sees it (see the module docs
    /// of [`super`] for the mapping), owned.
    pub fn to_request(&self, observed: &Observed<'_>) -> Result<Request, String> {
        if let Some(request) = &observed.request {
            return Ok((**request).clone());
        }
        let view = self.to_view(observed)?;
        let text = |value: Option<&str>| value.map(str::to_string);
        Ok(Request {
            source: RequestSource {
                principal: text(view.principal),
                ..RequestSource::default()
            },
            protocol: view.protocol,
            host: text(view.host),
            port: view.port,
            method: text(view.method),
            path: text(view.path),
            sni: text(view.sni),
            ..Request::default()
        })
    }

    /// [`LogReader::to_request`] as a borrowed view of the line (replay decides it with
    /// `Engine::prepare_ref`, no copy).
    pub fn to_view<'s>(&'s self, observed: &'s Observed<'_>) -> Result<RequestRef<'s>, String> {
        if let Some(request) = &observed.request {
            return Ok(request.view());
        }
        let mut request = RequestRef {
            principal: self.identity_of(observed),
            ..RequestRef::default()
        };
        let (cluster_port, cluster_host) = observed
            .upstream_cluster
            .as_deref()
            .map(parse_cluster)
            .unwrap_or((None, None));
        let port = observed.port.or(cluster_port);
        match (&observed.method, &observed.authority) {
            (Some(method), Some(authority)) => {
                request.host = Some(authority);
                request.method = Some(method);
                request.path = observed.path.as_deref();
                request.port = port;
            }
            _ => {
                let host = observed
                    .sni
                    .as_deref()
                    .or(observed.authority.as_deref())
                    .or(cluster_host);
                let tls = observed.sni.is_some() && self.format != LogFormat::Ztunnel
                    || self.format == LogFormat::Ztunnel && port == Some(443);
                if tls {
                    request.protocol = Some(Protocol::Tls);
                    request.sni = host;
                    request.host = host;
                } else {
                    request.protocol = Some(Protocol::Tcp);
                    request.host = host;
                }
                request.port = port;
                if host.is_none() {
                    return Err("no destination: no authority, SNI, service or cluster".into());
                }
                if port.is_none() && request.protocol == Some(Protocol::Tcp) {
                    return Err("no destination port for a TCP connection".into());
                }
            }
        }
        Ok(request)
    }

    fn identity_of<'s>(&'s self, observed: &'s Observed<'_>) -> Option<&'s str> {
        if let Some(id) = observed.identity.as_deref() {
            return Some(id.strip_prefix("spiffe://").unwrap_or(id));
        }
        let address = observed.source_address.as_deref()?;
        let ip = match address.rsplit_once(':') {
            Some((ip, port)) if port.bytes().all(|b| b.is_ascii_digit()) => ip,
            _ => address,
        };
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        self.identities.get(ip).map(String::as_str)
    }
}

/// `outbound|443||api.example.com` → port and host.
fn parse_cluster(cluster: &str) -> (Option<u16>, Option<&str>) {
    let mut parts = cluster.split('|');
    let direction = parts.next();
    if direction != Some("outbound") && direction != Some("inbound") {
        return (None, None);
    }
    let port = parts.next().and_then(|p| p.parse().ok());
    let host = parts.nth(1).filter(|h| !h.is_empty());
    (port, host)
}

/// Splits an Envoy format string into literals and command operators.
fn compile_format(format: &str, keys: &[(String, Field)]) -> Result<Vec<Piece>, String> {
    let format = format.trim_end_matches('\n');
    let mut pieces = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find('%') {
        let literal = rest.get(..start).unwrap_or("");
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal.to_string()));
        }
        let after = rest.get(start + 1..).unwrap_or("");
        let end = after
            .find('%')
            .ok_or_else(|| format!("unterminated command operator in format `{format}`"))?;
        let command = after.get(..end).unwrap_or("");
        if matches!(pieces.last(), Some(Piece::Command(_))) {
            return Err(format!(
                "two command operators with nothing between them (`%{command}%`): cannot split"
            ));
        }
        let field = keys.iter().find(|(k, _)| k == command).map(|(_, f)| *f);
        pieces.push(Piece::Command(field));
        rest = after.get(end + 1..).unwrap_or("");
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_string()));
    }
    Ok(pieces)
}

/// A JSON string borrowed from the line when it has no escapes.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

struct LineVisitor<'r> {
    reader: &'r LogReader,
}

impl<'de> Visitor<'de> for LineVisitor<'_> {
    type Value = Observed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut observed = Observed::default();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_deref().and_then(|k| self.reader.field_of(k)) {
                Some(field) => {
                    if let Text(Some(value)) = map.next_value::<Text<'de>>()? {
                        observed.set(field, value);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(observed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn reader(format: LogFormat) -> LogReader {
        LogReader::new(format, &[], None, HashMap::new()).unwrap()
    }

    /// The JSON fast path reads a line exactly as serde_json does, or leaves it to it.
    fn same_as_serde(r: &LogReader, line: &str) -> bool {
        let fast = super::super::json_scan::scan(line, |k| r.field_of(k));
        if let Some(fast) = &fast {
            assert_eq!(Ok(fast.clone()), r.json_with_serde(line), "{line}");
        }
        fast.is_some()
    }

    #[test]
    fn json_fast_path_agrees_with_serde_on_the_sample_logs() {
        let r = reader(LogFormat::EnvoyJson);
        let mut fast = 0;
        for file in ["envoy-json.log", "gateway-custom-json.log"] {
            let path = format!("{}/../examples/logs/{file}", env!("CARGO_MANIFEST_DIR"));
            for line in std::fs::read_to_string(path).unwrap().lines() {
                fast += usize::from(same_as_serde(&r, line));
            }
        }
        assert!(
            fast >= 8,
            "the sample logs should take the fast path ({fast})"
        );
    }

    #[test]
    fn json_fast_path_edges() {
        let r = reader(LogFormat::EnvoyJson);
        for (line, fast) in [
            (
                r#"{"authority":"a.example.com","method":"GET","path":"/x"}"#,
                true,
            ),
            (
                r#" { "authority" : "a" , "response_code" : 200 , "x": -1.5e+3, "y": null, "z": true } "#,
                true,
            ),
            (r#"{}"#, true),
            (r#"{"authority":"a\u0041"}"#, false),
            (r#"{"auth\nority":"a"}"#, false),
            (r#"{"method":1}"#, false),
            (
                r#"{"authority":null,"authority":"b","authority":"-"}"#,
                true,
            ),
            (r#"{"x":{"y":1},"authority":"a"}"#, false),
            (r#"{"x":[1],"authority":"a"}"#, false),
            (r#"{"authority":"a",}"#, false),
            (r#"{"authority":"a"} x"#, false),
            (r#"{"x":01}"#, false),
            (r#"{"x":1.}"#, false),
            (r#"{"x":tru}"#, false),
            ("{\"authority\":\"a\tb\"}", false),
            (r#"{"authority":"a""#, false),
            (r#"["authority"]"#, false),
        ] {
            assert_eq!(same_as_serde(&r, line), fast, "{line}");
        }
    }

    proptest::proptest! {
        /// Lines built from JSON-ish pieces: whatever the fast path reads, serde_json reads
        /// the same way.
        #[test]
        fn json_fast_path_never_disagrees(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\u0041", "\t",
                    "\"authority\"", "\"method\"", "\"path\"", "\"x\"",
                    "\"a.example.com\"", "\"GET\"", "\"-\"", "\"\"",
                    "0", "-1", "12", "1.5", "2e9", "01", "null", "true", "false", "nul", "é",
                ]),
                0..24,
            )
        ) {
            let line: String = pieces.concat();
            let r = reader(LogFormat::EnvoyJson);
            same_as_serde(&r, &line);
        }
    }

    #[test]
    fn text_format_fields_and_tls() {
        let line = r#"[2026-11-30T10:00:04.018Z] "- - -" 0 - - - "-" 517 4891 120 - "-" "-" "-" "-" "140.82.112.6:443" outbound|443||api.github.com 10.244.2.7:33870 140.82.112.6:443 10.244.2.7:33868 api.github.com -"#;
        let r = reader(LogFormat::IstioText);
        let observed = r.observe(line).unwrap().unwrap();
        assert_eq!(observed.sni.as_deref(), Some("api.github.com"));
        assert_eq!(observed.method, None);
        let request = r.to_request(&observed).unwrap();
        assert_eq!(request.protocol, Some(Protocol::Tls));
        assert_eq!(request.port, Some(443));
    }

    #[test]
    fn custom_text_format_with_identity() {
        let keys = vec![(Field::Identity, "%REQ(X-WHO)%".to_string())];
        let r = LogReader::new(
            LogFormat::IstioText,
            &keys,
            Some("%REQ(:METHOD)% %REQ(:AUTHORITY)% %REQ(:PATH)% by %REQ(X-WHO)%"),
            HashMap::new(),
        )
        .unwrap();
        let o = r
            .observe("GET httpbin.org /get by spiffe://td/ns/a/sa/b")
            .unwrap()
            .unwrap();
        let request = r.to_request(&o).unwrap();
        assert_eq!(request.source.principal.as_deref(), Some("td/ns/a/sa/b"));
        assert_eq!(request.path.as_deref(), Some("/get"));
        assert!(LogReader::new(LogFormat::IstioText, &[], Some("%A%%B%"), HashMap::new()).is_err());
    }

    #[test]
    fn json_escapes_numbers_and_errors() {
        let r = reader(LogFormat::EnvoyJson);
        let o = r
            .observe(r#"{"method":"GET","path":"/a\u0062","authority":"h","response_code":200,"x":{"y":[1]}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(o.path.as_deref(), Some("/ab"));
        assert!(r.observe("{\"method\":").is_err());
        assert!(r.observe("[1]").is_err());
        assert!(r.observe("   ").unwrap().is_none());
    }

    #[test]
    fn ztunnel_hosts_and_ports() {
        let r = reader(LogFormat::Ztunnel);
        let o = r
            .observe(r#"ts info access connection complete src.identity="spiffe://td/ns/a/sa/b" dst.hbone_addr=1.2.3.4:5432 dst.hosts="db.example.com,db2""#)
            .unwrap()
            .unwrap();
        let request = r.to_request(&o).unwrap();
        assert_eq!(request.protocol, Some(Protocol::Tcp));
        assert_eq!(request.host.as_deref(), Some("db.example.com"));
        assert_eq!(request.port, Some(5432));
        assert!(r.observe("no pairs here").is_err());
        assert!(r.observe(r#"a="unterminated"#).is_err());
    }

    #[test]
    fn parse_formats_and_fields() {
        assert_eq!("istio-text".parse::<LogFormat>(), Ok(LogFormat::IstioText));
        assert!("csv".parse::<LogFormat>().is_err());
        assert_eq!("identity".parse::<Field>(), Ok(Field::Identity));
        assert!("who".parse::<Field>().is_err());
        assert_eq!(
            parse_cluster("outbound|80||h.org"),
            (Some(80), Some("h.org"))
        );
        assert_eq!(parse_cluster("PassthroughCluster"), (None, None));
    }
}
