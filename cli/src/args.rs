//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Decide whether a mesh workload may send a request out of the mesh, as Istio, Tetrate TSB
/// and Solo Gloo egress gateways decide.
#[derive(Debug, Parser)]
#[command(name = "egress-policy", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide requests read as JSON lines; print one `{"line", "decision", "error"}` JSON
    /// per line, in order.
    ///
    /// A line that is not valid request JSON yields `{"line": N, "decision": null,
    /// "error": "..."}` in its place; the command then exits with status 2. Blank lines are
    /// skipped (their numbers count).
    Eval(EvalArgs),
    /// Decide one request described by flags. Exit status 0 when allowed, 1 when denied.
    Check(CheckArgs),
    /// Load policies and print every error and warning. Exit status 2 on errors.
    Validate(ValidateArgs),
    /// Load policies once and write a compiled-policy bundle (JSON): the imported policies,
    /// versioned, for engines that only decide (the WASM bundle module
    /// `egress-policy-wasm/bundle`, `Engine::from_bundle_json`). Exit status 2 when the
    /// policies do not load.
    Compile(crate::compile::CompileArgs),
    /// Run the example scenarios (one directory each, with a `demo.jsonl`) and print a table.
    Demo(DemoArgs),
    /// Measure compile time and decide latency on your policies and requests, or write a
    /// generated workload (`--generate N DIR`) to measure.
    Bench(BenchArgs),
    /// Report the pitfalls of egress authorization in the policies (`file:line:col` plus a
    /// help line each). Exit status 1 when there are findings.
    Lint(crate::lint::LintArgs),
    /// Run policy test files (policies plus requests with expected decisions). Exit status 1
    /// when a case fails.
    Test(crate::test_cmd::TestArgs),
    /// Who may reach a host (`--host`), or which hosts an identity may reach (`--from`).
    Reach(crate::reach::ReachArgs),
    /// List what the policies mention: identities, hosts, gateways (with the request
    /// `workload` that evaluates there) and policies, each with where it came from.
    Inventory(crate::inventory::InventoryArgs),
    /// Every class of requests whose decision changes between two policy sets. Exit status 1
    /// when anything changes.
    Diff(crate::diff::DiffArgs),
    /// Decide every request of access logs (Envoy JSON, Istio text, ztunnel, Request JSON)
    /// and count allowed / denied per identity, host, method and path class; with
    /// `--before`, only what changes. Exit status 1 when observed traffic is (or becomes)
    /// denied.
    Replay(crate::replay::ReplayArgs),
    /// Write the smallest policy set that allows exactly the traffic of access logs, plus
    /// REGISTRY_ONLY.
    Suggest(crate::suggest::SuggestArgs),
}

/// Where the policies come from.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Policy file or directory (`*.yaml`, `*.yml`, `*.json`, searched recursively).
    /// Repeat the flag or list several paths.
    #[arg(
        short = 'p',
        long = "policy",
        value_name = "PATH",
        required = true,
        num_args = 1..
    )]
    pub policy: Vec<PathBuf>,
}

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// File with one request JSON per line; `-` or absent reads standard input.
    #[arg(short = 'r', long = "requests", value_name = "FILE")]
    pub requests: Option<PathBuf>,
}

/// The transport of a `check` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Plain HTTP: host, method, path and headers are visible.
    Http,
    /// TLS passthrough: only SNI and port are visible.
    Tls,
    /// Opaque TCP: only the port is visible.
    Tcp,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["url", "host"]))]
pub struct CheckArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// The sender's mTLS identity (`cluster.local/ns/NS/sa/SA` or a `spiffe://` URI);
    /// `none` or absent means plaintext.
    #[arg(long = "from", value_name = "IDENTITY")]
    pub from: Option<String>,
    /// The request URL (`http://host[:port]/path?query`); fills host, path and port.
    #[arg(short = 'u', long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// The raw `:authority` (may include `:port`), instead of or overriding `--url`.
    #[arg(long = "host", value_name = "AUTHORITY")]
    pub host: Option<String>,
    /// HTTP method (default `GET` for HTTP requests).
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// Request header `name: value`; repeatable (a repeated name keeps every value).
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Destination port at the enforcing proxy (default: from the URL, else 80 / 443).
    #[arg(long = "port", value_name = "N")]
    pub port: Option<u16>,
    /// TLS SNI (default for `--protocol tls`: the host).
    #[arg(long = "sni", value_name = "NAME")]
    pub sni: Option<String>,
    /// Transport the enforcing proxy sees (default: `tls` for an `https://` URL — the client
    /// does TLS itself — else `http`; `--protocol http` with an `https://` URL means plain
    /// HTTP to port 443).
    #[arg(long = "protocol", value_enum)]
    pub protocol: Option<ProtocolArg>,
    /// The enforcing proxy: `NS/NAME` for the Gateway-API gateway NAME in NS, or
    /// `NS/key=value,key2=value2` for pods with those labels in NS. Absent: the gateway the
    /// registry routes the host to.
    #[arg(short = 'w', long = "workload", value_name = "NS/NAME")]
    pub workload: Option<String>,
    /// Decide at a `--workload` even when no loaded gateway runs there and no policy
    /// attaches (the decision then carries the caveat `workload_matches_no_proxy`).
    #[arg(long = "allow-unknown-workload")]
    pub allow_unknown_workload: bool,
    /// The sender's namespace when it has no mTLS identity (`--from none`), for Sidecar
    /// scoping; must agree with `--from` otherwise.
    #[arg(long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,
    /// A pod label of the sender (Sidecar workload selectors); repeatable.
    #[arg(long = "pod-label", value_name = "KEY=VALUE")]
    pub pod_labels: Vec<String>,
    /// A label of the sender's service account (Gloo selectors); repeatable.
    #[arg(long = "source-label", value_name = "KEY=VALUE")]
    pub source_labels: Vec<String>,
    /// The sender's cluster (TSB `cluster/namespace` selectors).
    #[arg(long = "cluster", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Also show every attached policy and rule with its verdict.
    #[arg(long = "explain")]
    pub explain: bool,
    /// Print the decision (or explanation) JSON instead of the human summary.
    #[arg(long = "json")]
    pub json: bool,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Treat every warning (an unmodelled kind, a resource a route or policy names that is
    /// not loaded, an assumption decisions would carry as a caveat) as an error: for CI.
    #[arg(long = "strict")]
    pub strict: bool,
}

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory of scenario directories, each with policies and a `demo.jsonl` (or one
    /// such scenario directory).
    #[arg(
        long = "policies",
        value_name = "DIR",
        default_value = "examples/policies"
    )]
    pub policies: PathBuf,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Write a generated workload of N rules (Istio YAML) and `DIR/requests.jsonl` into DIR
    /// instead of measuring.
    #[arg(
        long = "generate",
        value_name = "N",
        requires = "dir",
        conflicts_with_all = ["policy", "requests", "reference", "json"]
    )]
    pub generate: Option<usize>,
    /// Seed of the generated workload.
    #[arg(long = "seed", value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Shape of the generated workload: today, principals, namespaces, any-source,
    /// wildcards, deny, gateways, conditions, notx, mixed.
    #[arg(
        long = "profile",
        value_name = "P",
        default_value = "today",
        requires = "generate"
    )]
    pub profile: egress_policy::workload::Profile,
    /// How the generated policies are laid out: `files` (ten rules per policy, files of
    /// 250 policies), `list` (the same policies in one `kind: List` file, as `kubectl get
    /// -o yaml` writes it) or `per-rule` (one rule per policy, files of 1 000 policies).
    #[arg(
        long = "layout",
        value_name = "L",
        default_value = "files",
        requires = "generate"
    )]
    pub layout: egress_policy::workload::Layout,
    /// Shorthand for `--layout list`.
    #[arg(long = "list", requires = "generate", conflicts_with = "layout")]
    pub list: bool,
    /// The directory `--generate` writes to.
    #[arg(value_name = "DIR", requires = "generate")]
    pub dir: Option<PathBuf>,
    /// Policy file or directory (`*.yaml`, `*.yml`, `*.json`, searched recursively).
    #[arg(
        short = 'p',
        long = "policy",
        value_name = "PATH",
        num_args = 1..,
        required_unless_present = "generate"
    )]
    pub policy: Vec<PathBuf>,
    /// File with one request JSON per line (`-` reads standard input); the requests are
    /// decided in a cycle.
    #[arg(
        short = 'r',
        long = "requests",
        value_name = "FILE",
        required_unless_present = "generate"
    )]
    pub requests: Option<PathBuf>,
    /// How many decisions to time.
    #[arg(
        short = 'n',
        long = "decisions",
        value_name = "K",
        default_value_t = 200_000
    )]
    pub decisions: usize,
    /// Also time the reference evaluator and check that it agrees with the compiled engine
    /// on every request (exit status 2 if not).
    #[arg(long = "reference")]
    pub reference: bool,
    /// Print one JSON object (durations in nanoseconds) instead of `key: value` lines.
    #[arg(long = "json")]
    pub json: bool,
}
