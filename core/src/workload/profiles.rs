//! Workload profiles: the same generator shaped like different clusters, so that the
//! engine's numbers are measured on every policy shape rather than one.
//!
//! Every profile writes real Istio YAML (gateways, RequestAuthentications where JWT
//! claims are read, AuthorizationPolicies with [`RULES_PER_POLICY`] rules) and a request
//! mix of hits (built from a sampled rule so that it matches it) and misses.

use std::fmt::Write;
use std::str::FromStr;

use crate::request::{HeaderValue, Jwt, Request, RequestSource, Workload};

use super::{GeneratedWorkload, SplitMix64, NAMESPACES, RULES_PER_POLICY};

/// The shape of a generated workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The original workload: one exact principal per rule, four egress gateways.
    Today,
    /// 1–5 exact principals per rule (75 %), source namespaces (20 %), any source (5 %).
    Principals,
    /// Sources by namespace (60 %), service account (20 %), trust domain (10 %),
    /// principal (10 %).
    Namespaces,
    /// Rules without `from` (70 %) and with one principal (30 %).
    AnySource,
    /// Hosts: `*.suffix` (30 %), `prefix*` (20 %), `*suffix` without dot (10 %), `*` (5 %),
    /// exact (35 %).
    Wildcards,
    /// Half of the policies DENY.
    Deny,
    /// 64 classic egress gateways and 64 waypoints (policies with `targetRefs`).
    Gateways,
    /// Every rule has `when` conditions on a header, the SNI or a JWT claim.
    Conditions,
    /// `notPrincipals`, `notNamespaces`, `notHosts`, `notMethods`, `notPaths`.
    NotX,
    /// Each policy takes the shape of a randomly chosen other profile.
    Mixed,
}

impl Profile {
    /// Every profile, in a fixed order.
    pub const ALL: [Profile; 10] = [
        Profile::Today,
        Profile::Principals,
        Profile::Namespaces,
        Profile::AnySource,
        Profile::Wildcards,
        Profile::Deny,
        Profile::Gateways,
        Profile::Conditions,
        Profile::NotX,
        Profile::Mixed,
    ];

    /// The profile's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Today => "today",
            Profile::Principals => "principals",
            Profile::Namespaces => "namespaces",
            Profile::AnySource => "any-source",
            Profile::Wildcards => "wildcards",
            Profile::Deny => "deny",
            Profile::Gateways => "gateways",
            Profile::Conditions => "conditions",
            Profile::NotX => "notx",
            Profile::Mixed => "mixed",
        }
    }

    fn gateways(self) -> usize {
        match self {
            Profile::Gateways | Profile::Mixed => 64,
            _ => super::GATEWAYS,
        }
    }

    fn waypoints(self) -> usize {
        match self {
            Profile::Gateways | Profile::Mixed => 64,
            _ => 0,
        }
    }
}

/// The member of `all` named `text` (the `FromStr` of the command-line enums), or an error
/// listing the names.
fn by_name<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
    text: &str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|v| name(*v) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            format!("unknown {what} `{text}` (one of: {})", names.join(", "))
        })
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Profile::ALL, Profile::name, "profile", s)
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the policies are laid out in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Multi-document YAML files of 250 policies each.
    #[default]
    Files,
    /// One `kind: List` file holding every policy (as `kubectl get -o yaml` writes it).
    List,
    /// One rule per policy, in multi-document files of 1 000 policies (the shape of a
    /// cluster where every team writes its own small policy).
    PolicyPerRule,
}

impl Layout {
    /// Rules per generated policy.
    fn rules_per_policy(self) -> usize {
        match self {
            Layout::PolicyPerRule => 1,
            Layout::Files | Layout::List => RULES_PER_POLICY,
        }
    }

    /// Policies per file (`List`: all of them in one).
    fn policies_per_file(self) -> usize {
        match self {
            Layout::PolicyPerRule => 1_000,
            Layout::Files | Layout::List => 250,
        }
    }
}

impl Layout {
    /// Every layout, in the order `bench --layout` lists them.
    pub const ALL: [Layout; 3] = [Layout::Files, Layout::List, Layout::PolicyPerRule];

    /// The name `bench --layout` takes.
    ///
    /// ```
    /// use egress_policy::workload::Layout;
    /// assert_eq!("per-rule".parse::<Layout>(), Ok(Layout::PolicyPerRule));
    /// assert_eq!(Layout::List.name(), "list");
    /// assert!("tree".parse::<Layout>().is_err());
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Layout::Files => "files",
            Layout::List => "list",
            Layout::PolicyPerRule => "per-rule",
        }
    }
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Layout::ALL, Layout::name, "layout", s)
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one generated rule needs from a request to match.
#[derive(Debug, Clone, Default)]
struct Sample {
    /// Where the request is enforced.
    point: usize,
    principal: String,
    host: String,
    method: &'static str,
    path: String,
    header: Option<(String, String)>,
    sni: Option<String>,
    claim: Option<String>,
}

struct Ctx {
    accounts: usize,
    host_count: usize,
    domains: usize,
    gateways: usize,
    waypoints: usize,
}

fn principal_of(account: usize) -> String {
    format!(
        "cluster.local/ns/ns-{}/sa/sa-{account}",
        account % NAMESPACES
    )
}

/// An account living in namespace `ns` (accounts are spread over namespaces by modulo).
fn account_in(rng: &mut SplitMix64, ctx: &Ctx, ns: usize) -> usize {
    let per_ns = (ctx.accounts / NAMESPACES).max(1);
    ns + NAMESPACES * rng.below(per_ns)
}

/// Renders a YAML flow list of quoted strings.
fn list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The enforcement point (request `workload`) of point index `point`: classic gateways
/// first, then waypoints.
fn point_workload(ctx: &Ctx, point: usize) -> Workload {
    if point < ctx.gateways {
        Workload {
            namespace: format!("egress-{point}"),
            labels: [("app".to_string(), format!("egress-gw-{point}"))]
                .into_iter()
                .collect(),
        }
    } else {
        let w = point - ctx.gateways;
        Workload {
            namespace: format!("wp-{w}"),
            labels: [(
                crate::model::GATEWAY_NAME_LABEL.to_string(),
                format!("waypoint-{w}"),
            )]
            .into_iter()
            .collect(),
        }
    }
}

/// The `from` block and a principal that satisfies it.
fn source(rng: &mut SplitMix64, ctx: &Ctx, shape: Profile) -> (String, String) {
    let account = rng.below(ctx.accounts);
    let one = principal_of(account);
    let principals = |rng: &mut SplitMix64, n: usize| -> Vec<String> {
        let mut v = vec![principal_of(account)];
        v.extend((1..n).map(|_| principal_of(rng.below(ctx.accounts))));
        v
    };
    let namespaces = |rng: &mut SplitMix64| -> (String, String) {
        let ns = rng.below(NAMESPACES);
        let extra = rng.below(NAMESPACES);
        let sample = principal_of(account_in(rng, ctx, ns));
        (format!("namespaces: [\"ns-{ns}\", \"ns-{extra}\"]"), sample)
    };
    let field = match shape {
        Profile::Principals => match rng.below(100) {
            0..=74 => {
                let n = 1 + rng.below(5);
                format!("principals: {}", list(&principals(rng, n)))
            }
            75..=94 => {
                let (f, p) = namespaces(rng);
                return (block(&f), p);
            }
            _ => return (String::new(), one),
        },
        Profile::Namespaces => match rng.below(100) {
            0..=59 => {
                let (f, p) = namespaces(rng);
                return (block(&f), p);
            }
            60..=79 => format!(
                "serviceAccounts: [\"ns-{}/sa-{account}\"]",
                account % NAMESPACES
            ),
            80..=89 => "trustDomains: [\"cluster.local\"]\n        namespaces: [\"ns-X\"]"
                .replace("ns-X", &format!("ns-{}", account % NAMESPACES)),
            _ => format!("principals: [\"{one}\"]"),
        },
        Profile::AnySource => {
            if rng.chance(70) {
                return (String::new(), one);
            }
            format!("principals: [\"{one}\"]")
        }
        Profile::NotX => match rng.below(3) {
            0 => format!(
                "notPrincipals: [\"{}\"]",
                principal_of((account + 1) % ctx.accounts.max(1))
            ),
            1 => format!(
                "namespaces: [\"ns-{}\"]\n        notPrincipals: [\"cluster.local/ns/ns-{}/sa/blocked\"]",
                account % NAMESPACES,
                account % NAMESPACES
            ),
            _ => format!("notNamespaces: [\"ns-{}\"]", (account + 1) % NAMESPACES),
        },
        _ => format!("principals: [\"{one}\"]"),
    };
    (block(&field), one)
}

fn block(field: &str) -> String {
    format!("  - from:\n    - source:\n        {field}\n")
}

/// A host pattern and a request host it matches.
fn host(rng: &mut SplitMix64, ctx: &Ctx, shape: Profile) -> (String, String) {
    let domain = rng.below(ctx.domains);
    let svc = rng.below(ctx.host_count);
    let exact = format!("svc-{svc}.ext-{domain}.com");
    let roll = rng.below(100);
    match shape {
        Profile::Wildcards => match roll {
            0..=4 => ("*".to_string(), exact),
            5..=34 => (format!("*.ext-{domain}.com"), exact),
            35..=54 => (format!("svc-{svc}.*"), exact),
            55..=64 => (format!("*ext-{domain}.com"), exact),
            _ => (exact.clone(), exact),
        },
        _ => match roll {
            0 => ("*".to_string(), exact),
            1..=10 => (format!("*.ext-{domain}.com"), exact),
            _ => (exact.clone(), exact),
        },
    }
}

const METHOD_SETS: [&[&str]; 4] = [&["GET"], &["GET", "HEAD"], &["POST", "PUT"], &[]];

/// One rule of a policy enforced at `point`: YAML text and its sample.
fn rule(rng: &mut SplitMix64, ctx: &Ctx, shape: Profile, point: usize) -> (String, Sample) {
    let (mut text, principal) = source(rng, ctx, shape);
    let (pattern, request_host) = host(rng, ctx, shape);
    let methods = METHOD_SETS
        .get(rng.below(METHOD_SETS.len()))
        .copied()
        .unwrap_or(&[]);
    let path = match rng.below(4) {
        0 => format!("/api/v{}/items", rng.below(3)),
        1 => "/api/*".to_string(),
        2 => "/api/{*}/items".to_string(),
        _ => String::new(),
    };
    text.push_str(if text.is_empty() {
        "  - to:\n"
    } else {
        "    to:\n"
    });
    let _ = writeln!(text, "    - operation:\n        hosts: [\"{pattern}\"]");
    if shape == Profile::NotX {
        let _ = writeln!(
            text,
            "        notHosts: [\"blocked-{}.ext-0.com\"]\n        notMethods: [\"DELETE\"]\n        notPaths: [\"/admin/*\"]",
            rng.below(100)
        );
    }
    if !methods.is_empty() {
        let _ = writeln!(text, "        methods: [{}]", methods.join(", "));
    }
    if !path.is_empty() {
        let _ = writeln!(text, "        paths: [\"{path}\"]");
    }
    let mut sample = Sample {
        point,
        principal,
        host: request_host.clone(),
        method: methods.first().copied().unwrap_or("GET"),
        path: match path.as_str() {
            "" | "/api/*" => "/api/v1/items".to_string(),
            "/api/{*}/items" => format!("/api/v{}/items", rng.below(3)),
            exact => exact.to_string(),
        },
        ..Sample::default()
    };
    if shape == Profile::Conditions {
        text.push_str("    when:\n");
        match rng.below(3) {
            0 => {
                let team = format!("team-{}", rng.below(50));
                let _ = writeln!(
                    text,
                    "    - key: request.headers[x-team]\n      values: [\"{team}\"]"
                );
                sample.header = Some(("x-team".to_string(), team));
            }
            1 => {
                let _ = writeln!(
                    text,
                    "    - key: connection.sni\n      values: [\"{request_host}\"]"
                );
                sample.sni = Some(request_host);
            }
            _ => {
                let group = format!("group-{}", rng.below(50));
                let _ = writeln!(
                    text,
                    "    - key: request.auth.claims[groups]\n      values: [\"{group}\"]"
                );
                sample.claim = Some(group);
            }
        }
    }
    (text, sample)
}

/// The resources every policy needs: gateways, waypoints, RequestAuthentications.
fn infrastructure(ctx: &Ctx, profile: Profile) -> String {
    let mut text = String::new();
    for g in 0..ctx.gateways {
        let _ = write!(
            text,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: egress-gw-{g}\n  namespace: egress-{g}\nspec:\n  selector:\n    app: egress-gw-{g}\n  servers:\n  - port: {{number: 80, name: http, protocol: HTTP}}\n    hosts: [\"*\"]\n---\n"
        );
        if matches!(profile, Profile::Conditions | Profile::Mixed) {
            let _ = write!(
                text,
                "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: jwt\n  namespace: egress-{g}\nspec:\n  selector:\n    matchLabels:\n      app: egress-gw-{g}\n  jwtRules:\n  - issuer: \"https://issuer.example\"\n---\n"
            );
        }
    }
    for w in 0..ctx.waypoints {
        let _ = write!(
            text,
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: waypoint-{w}\n  namespace: wp-{w}\nspec:\n  gatewayClassName: istio-waypoint\n  listeners:\n  - name: mesh\n    port: 15008\n    protocol: HBONE\n---\n"
        );
    }
    text
}

const SHAPES: [Profile; 8] = [
    Profile::Principals,
    Profile::Namespaces,
    Profile::AnySource,
    Profile::Wildcards,
    Profile::Deny,
    Profile::Gateways,
    Profile::Conditions,
    Profile::NotX,
];

/// One policy document (without the `---` separator) and the samples of its rules.
fn policy(
    rng: &mut SplitMix64,
    ctx: &Ctx,
    profile: Profile,
    index: usize,
    rules: usize,
) -> (String, Vec<Sample>) {
    let shape = if profile == Profile::Mixed {
        SHAPES
            .get(rng.below(SHAPES.len()))
            .copied()
            .unwrap_or(profile)
    } else {
        profile
    };
    let deny = rng.chance(if shape == Profile::Deny { 50 } else { 10 });
    let points = if shape == Profile::Gateways {
        ctx.gateways + ctx.waypoints
    } else {
        super::GATEWAYS.min(ctx.gateways)
    };
    let point = if shape == Profile::Gateways {
        rng.below(points)
    } else {
        index % points.max(1)
    };
    let attach = if point < ctx.gateways {
        format!("namespace: egress-{point}\nspec:\n  selector:\n    matchLabels:\n      app: egress-gw-{point}")
    } else {
        let w = point - ctx.gateways;
        format!("namespace: wp-{w}\nspec:\n  targetRefs:\n  - kind: Gateway\n    group: gateway.networking.k8s.io\n    name: waypoint-{w}")
    };
    let mut text = format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p-{index}\n  {attach}\n  action: {}\n  rules:\n",
        if deny { "DENY" } else { "ALLOW" }
    );
    let mut samples = Vec::with_capacity(rules);
    for _ in 0..rules {
        let (body, sample) = rule(rng, ctx, shape, point);
        text.push_str(&body);
        samples.push(sample);
    }
    (text, samples)
}

/// Indents a YAML document as one item of a `List`'s `items`.
fn as_item(document: &str, out: &mut String) {
    for (i, line) in document.lines().enumerate() {
        out.push_str(if i == 0 { "- " } else { "  " });
        out.push_str(line);
        out.push('\n');
    }
}

/// Generates `rules` rules of `profile` (rounded up to whole policies) laid out as
/// `layout`, and `rules.clamp(1000, 10000)` requests, deterministically from `seed`.
pub fn generate_profile(
    rules: usize,
    seed: u64,
    profile: Profile,
    layout: Layout,
) -> GeneratedWorkload {
    if profile == Profile::Today && layout == Layout::Files {
        return super::generate(rules, seed);
    }
    let mut rng = SplitMix64::new(seed ^ 0x0f11_e5ee_d000_0000);
    let ctx = Ctx {
        accounts: (rules / 10).max(NAMESPACES),
        host_count: (rules / 4).max(1),
        domains: (rules / 200).max(1),
        gateways: profile.gateways(),
        waypoints: profile.waypoints(),
    };
    let per_policy = layout.rules_per_policy();
    let per_file = layout.policies_per_file();
    let policies = rules.div_ceil(per_policy);
    let mut files = vec![("gateways.yaml".to_string(), infrastructure(&ctx, profile))];
    let mut samples: Vec<Sample> = Vec::new();
    let mut text = String::new();
    if layout == Layout::List {
        text.push_str("apiVersion: v1\nkind: List\nitems:\n");
    }
    for index in 0..policies {
        let in_policy = per_policy.min(rules - index * per_policy);
        let (doc, mut rule_samples) = policy(&mut rng, &ctx, profile, index, in_policy);
        match layout {
            Layout::List => as_item(&doc, &mut text),
            Layout::Files | Layout::PolicyPerRule => {
                text.push_str(&doc);
                text.push_str("---\n");
                if (index + 1) % per_file == 0 {
                    files.push((
                        format!("policies-{:04}.yaml", index / per_file),
                        std::mem::take(&mut text),
                    ));
                }
            }
        }
        if samples.len() < 20_000 {
            samples.append(&mut rule_samples);
        }
    }
    if !text.is_empty() {
        let name = match layout {
            Layout::List => "policies-list.yaml".to_string(),
            Layout::Files | Layout::PolicyPerRule => {
                format!("policies-{:04}.yaml", policies / per_file)
            }
        };
        files.push((name, text));
    }
    let requests = requests(&mut rng, &ctx, &samples, rules.clamp(1_000, 10_000));
    GeneratedWorkload { files, requests }
}

/// Hits (built from sampled rules) and misses, interleaved.
fn requests(rng: &mut SplitMix64, ctx: &Ctx, samples: &[Sample], count: usize) -> Vec<Request> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let sample = match samples.get(rng.below(samples.len())) {
            Some(s) if i % 2 == 0 => s.clone(),
            _ => Sample {
                point: rng.below(ctx.gateways + ctx.waypoints),
                principal: principal_of(rng.below(ctx.accounts)),
                host: format!(
                    "svc-{}.ext-{}.com",
                    rng.below(ctx.host_count),
                    rng.below(ctx.domains)
                ),
                method: if rng.chance(50) { "GET" } else { "DELETE" },
                path: format!("/miss/{}", rng.below(1000)),
                ..Sample::default()
            },
        };
        out.push(Request {
            source: RequestSource {
                principal: Some(sample.principal),
                ..RequestSource::default()
            },
            workload: Some(point_workload(ctx, sample.point)),
            host: Some(sample.host),
            method: Some(sample.method.to_string()),
            path: Some(sample.path),
            headers: sample
                .header
                .into_iter()
                .map(|(k, v)| (k, HeaderValue::One(v)))
                .collect(),
            sni: sample.sni,
            jwt: sample.claim.map(|group| Jwt {
                principal: Some("https://issuer.example/user-1".to_string()),
                claims: [(
                    "groups".to_string(),
                    serde_json::Value::Array(vec![serde_json::Value::String(group)]),
                )]
                .into_iter()
                .collect(),
                ..Jwt::default()
            }),
            ..Request::default()
        });
    }
    out
}
