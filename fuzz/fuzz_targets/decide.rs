//! `cargo +nightly fuzz run decide`: the compiled matcher decides exactly like the reference
//! evaluator (and `explain`) on arbitrary requests.
//!
//! The engines are compiled once from the seed scenarios (`examples/policies/*`) and from
//! generated workloads (`workload::generate(50, seed)`). A fuzz input picks an engine and
//! either edits one of the known requests (the scenarios' `demo.jsonl` and the generated
//! requests) field by field, with values drawn from the words of the policies or raw fuzz
//! strings, or gives the request as raw JSON.

#![no_main]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use egress_policy::request::{HeaderValue, Jwt, Protocol, Workload};
use egress_policy::workload::generate;
use egress_policy::{Engine, Request};
use libfuzzer_sys::fuzz_target;

/// Seeds of the generated workloads.
const GENERATED_SEEDS: [u64; 3] = [1, 2, 3];
/// Generated requests kept as bases per workload.
const GENERATED_BASES: usize = 64;

/// Values that matter to the matchers but may not appear in the policies.
const EXTRA_WORDS: &[&str] = &[
    "",
    "*",
    "/",
    "//",
    "/..",
    "/../",
    "%2E%2E",
    "%2F",
    "%00",
    "%2e",
    "?",
    "#",
    ":",
    ":80",
    ":443",
    ":8080",
    ".",
    "..",
    "GET",
    "get",
    "POST",
    "HEAD",
    "CONNECT",
    "OPTIONS",
    "DELETE",
    "PATCH",
    "http://",
    "https://",
    "spiffe://",
    "cluster.local/ns/",
    "/sa/",
    "x-forwarded-for",
    "authorization",
    "host",
    ":authority",
    "10.0.0.1",
    "10.0.0.0/8",
    "::1",
    "2001:db8::1",
    "0.0.0.0",
    "127.0.0.1",
    "httpbin.org",
    "HTTPBIN.ORG",
    "www.google.com",
    "example.com",
    "a.b.example.com",
    "istio-egress",
    "default",
    "app",
    "egress",
    "gateway.networking.k8s.io/gateway-name",
    "istio.io/gateway-name",
    "istio",
    "request.auth.claims[groups]",
    "iss/sub",
    "true",
    "false",
    "\u{0}",
    "\u{7f}",
    "é",
    "\t",
    " ",
];

struct Fixture {
    /// `(name, engine)`.
    engines: Vec<(String, Engine)>,
    /// Known requests to start from.
    bases: Vec<Request>,
    /// Words of the policies and requests.
    words: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn tokens(text: &str, into: &mut BTreeSet<String>) {
    for token in text.split(|c: char| c.is_whitespace() || "[]{},\"'".contains(c)) {
        let token = token.trim_end_matches(':');
        if !token.is_empty() && token.len() <= 100 {
            into.insert(token.to_string());
        }
    }
}

fn build() -> Fixture {
    let mut engines = Vec::new();
    let mut bases = Vec::new();
    let mut words = BTreeSet::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap_or_else(|e| panic!("{}: {e}", examples.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let engine = Engine::from_paths(&[&dir])
            .unwrap_or_else(|e| panic!("{} must load: {e}", dir.display()));
        engines.push((dir.display().to_string(), engine));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            tokens(&text, &mut words);
            if file.file_name().is_some_and(|n| n == "demo.jsonl") {
                for line in text.lines() {
                    let case: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                    if let Ok(request) = serde_json::from_value::<Request>(case["request"].clone())
                    {
                        bases.push(request);
                    }
                }
            }
        }
    }
    for seed in GENERATED_SEEDS {
        let workload = generate(50, seed);
        let engine =
            Engine::from_files(workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap_or_else(|e| panic!("generated workload {seed} must load: {e}"));
        engines.push((format!("generate(50, {seed})"), engine));
        for (_, text) in &workload.files {
            tokens(text, &mut words);
        }
        bases.extend(workload.requests.into_iter().take(GENERATED_BASES));
    }
    words.extend(EXTRA_WORDS.iter().map(|w| w.to_string()));
    Fixture {
        engines,
        bases,
        words: words.into_iter().collect(),
    }
}

/// A string: a word of the policies, a raw fuzz string, or a combination.
#[derive(Arbitrary, Debug)]
enum Text {
    Word(u16),
    Raw(String),
    Join(u16, u16),
    WordThen(u16, String),
    ThenWord(String, u16),
    Upper(u16),
}

impl Text {
    fn get(&self, words: &[String]) -> String {
        let word = |i: &u16| {
            words
                .get(usize::from(*i) % words.len().max(1))
                .cloned()
                .unwrap_or_default()
        };
        match self {
            Text::Word(i) => word(i),
            Text::Raw(s) => s.clone(),
            Text::Join(a, b) => word(a) + &word(b),
            Text::WordThen(i, s) => word(i) + s,
            Text::ThenWord(s, i) => s.clone() + &word(i),
            Text::Upper(i) => word(i).to_ascii_uppercase(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Claim {
    Str(Text),
    List(Vec<Text>),
    Bool(bool),
    Int(i64),
}

#[derive(Arbitrary, Debug)]
struct JwtInput {
    principal: Option<Text>,
    audiences: Vec<Text>,
    presenter: Option<Text>,
    claims: Vec<(Text, Claim)>,
}

/// One change to the base request.
#[derive(Arbitrary, Debug)]
enum Edit {
    Principal(Option<Text>),
    Ip(Option<Text>),
    RemoteIp(Option<Text>),
    SourceLabel(Text, Text),
    ClearSourceLabels,
    Cluster(Option<Text>),
    Workload(Option<(Text, Vec<(Text, Text)>)>),
    WorkloadOf(u16),
    Protocol(u8),
    Url(Option<Text>),
    Host(Option<Text>),
    Port(Option<u16>),
    Method(Option<Text>),
    Path(Option<Text>),
    Header(Text, Vec<Text>),
    ClearHeaders,
    Sni(Option<Text>),
    Jwt(Option<JwtInput>),
    Custom(Text, bool),
    DestinationIp(Option<Text>),
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// Start from a known request and change some fields.
    Edit {
        engine: u8,
        base: u16,
        edits: Vec<Edit>,
    },
    /// The request as JSON (only valid request JSON is decided).
    Json { engine: u8, json: String },
}

fn apply(request: &mut Request, edit: &Edit, f: &Fixture) {
    let w = &f.words;
    let text = |t: &Option<Text>| t.as_ref().map(|t| t.get(w));
    match edit {
        Edit::Principal(t) => request.source.principal = text(t),
        Edit::Ip(t) => request.source.ip = text(t),
        Edit::RemoteIp(t) => request.source.remote_ip = text(t),
        Edit::SourceLabel(k, v) => {
            request.source.labels.insert(k.get(w), v.get(w));
        }
        Edit::ClearSourceLabels => request.source.labels.clear(),
        Edit::Cluster(t) => request.source.cluster = text(t),
        Edit::Workload(None) => request.workload = None,
        Edit::Workload(Some((namespace, labels))) => {
            request.workload = Some(Workload {
                namespace: namespace.get(w),
                labels: labels.iter().map(|(k, v)| (k.get(w), v.get(w))).collect(),
            })
        }
        Edit::WorkloadOf(i) => {
            let base = f.bases.get(usize::from(*i) % f.bases.len().max(1));
            request.workload = base.and_then(|b| b.workload.clone());
        }
        Edit::Protocol(p) => {
            request.protocol = Some(match p % 3 {
                0 => Protocol::Http,
                1 => Protocol::Tls,
                _ => Protocol::Tcp,
            })
        }
        Edit::Url(t) => request.url = text(t),
        Edit::Host(t) => request.host = text(t),
        Edit::Port(p) => request.port = *p,
        Edit::Method(t) => request.method = text(t),
        Edit::Path(t) => request.path = text(t),
        Edit::Header(name, values) => {
            let value = match values.as_slice() {
                [one] => HeaderValue::One(one.get(w)),
                many => HeaderValue::Many(many.iter().map(|v| v.get(w)).collect()),
            };
            request.headers.insert(name.get(w), value);
        }
        Edit::ClearHeaders => request.headers.clear(),
        Edit::Sni(t) => request.sni = text(t),
        Edit::Jwt(None) => request.jwt = None,
        Edit::Jwt(Some(jwt)) => {
            request.jwt = Some(Jwt {
                principal: text(&jwt.principal),
                audiences: jwt.audiences.iter().map(|a| a.get(w)).collect(),
                presenter: text(&jwt.presenter),
                claims: jwt
                    .claims
                    .iter()
                    .map(|(k, v)| {
                        let value = match v {
                            Claim::Str(s) => serde_json::Value::from(s.get(w)),
                            Claim::List(items) => serde_json::Value::from(
                                items.iter().map(|i| i.get(w)).collect::<Vec<_>>(),
                            ),
                            Claim::Bool(b) => serde_json::Value::from(*b),
                            Claim::Int(n) => serde_json::Value::from(*n),
                        };
                        (k.get(w), value)
                    })
                    .collect(),
            })
        }
        Edit::Custom(name, verdict) => {
            request.custom.insert(name.get(w), *verdict);
        }
        Edit::DestinationIp(t) => request.destination_ip = text(t),
    }
}

fn check(name: &str, engine: &Engine, request: &Request) {
    let compiled = engine.decide(request);
    let reference = engine.decide_reference(request);
    let json = serde_json::to_string(request).unwrap_or_default();
    assert_eq!(
        compiled, reference,
        "compiled vs reference on {name}, request {json}"
    );
    let explained = engine.explain(request).decision;
    assert_eq!(
        explained, reference,
        "explain vs reference on {name}, request {json}"
    );
}

fuzz_target!(|input: Input| {
    let f = fixture();
    let (engine, request) = match &input {
        Input::Edit {
            engine,
            base,
            edits,
        } => {
            let mut request = f
                .bases
                .get(usize::from(*base) % f.bases.len().max(1))
                .cloned()
                .unwrap_or_default();
            for edit in edits.iter().take(16) {
                apply(&mut request, edit, f);
            }
            (engine, request)
        }
        Input::Json { engine, json } => match serde_json::from_str::<Request>(json) {
            Ok(request) => (engine, request),
            Err(_) => return,
        },
    };
    if let Some((name, engine)) = f.engines.get(usize::from(*engine) % f.engines.len().max(1)) {
        check(name, engine, &request);
    }
});
