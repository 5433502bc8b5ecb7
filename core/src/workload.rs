//! A seeded generator of realistic egress workloads, for benchmarks and scale tests.
//!
//! `rules` rules over about `rules / 10` service accounts in 20 namespaces, split over
//! four classic egress gateways; exact hosts, `*.suffix` wildcards and a few `*` hosts;
//! method subsets; exact, prefix and template paths; about 10% DENY. The policies are real
//! Istio YAML (so loading them exercises the importer too) and the requests mix hits and
//! misses.
//!
//! ```
//! let workload = egress_policy::workload::generate(200, 7);
//! let engine = egress_policy::Engine::from_files(
//!     workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
//! ).unwrap();
//! assert_eq!(engine.rule_count(), 200);
//! let decision = engine.decide(&workload.requests[0]);
//! assert!(decision.status == 200 || decision.status == 403);
//! ```

use std::fmt::Write;

use crate::request::{Request, RequestSource, Workload};

mod profiles;

pub use profiles::{generate_profile, Layout, Profile};

/// Rules per generated policy.
pub const RULES_PER_POLICY: usize = 10;
/// Egress gateways the policies are split over.
pub const GATEWAYS: usize = 4;
/// Namespaces the service accounts live in.
pub const NAMESPACES: usize = 20;
/// Policies per generated file (keeps every file well inside the parser's budgets).
const POLICIES_PER_FILE: usize = 250;

/// A generated workload.
#[derive(Debug, Clone)]
pub struct GeneratedWorkload {
    /// `(file name, YAML text)` pairs.
    pub files: Vec<(String, String)>,
    /// Requests, hits and misses interleaved.
    pub requests: Vec<Request>,
}

/// A small, fast, seeded PRNG (SplitMix64): benchmarks must be reproducible without
/// pulling a random-number crate into the library.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; returns 0 for `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % (n as u64)).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

struct GeneratedRule {
    principal: String,
    host: String,
    methods: &'static [&'static str],
    path: String,
}

fn gateway_labels(gateway: usize) -> Workload {
    Workload {
        namespace: format!("egress-{gateway}"),
        labels: [("app".to_string(), format!("egress-gw-{gateway}"))]
            .into_iter()
            .collect(),
    }
}

/// Generates `rules` rules (rounded up to whole policies) and `rules.clamp(1000, 10000)`
/// requests, deterministically from `seed`.
pub fn generate(rules: usize, seed: u64) -> GeneratedWorkload {
    let mut rng = SplitMix64::new(seed);
    let accounts = (rules / 10).max(1);
    let host_count = (rules / 4).max(1);
    let domains = (rules / 200).max(1);
    let policies = rules.div_ceil(RULES_PER_POLICY);
    const METHOD_SETS: [&[&str]; 4] = [&["GET"], &["GET", "HEAD"], &["POST", "PUT"], &[]];

    let principal_of = |account: usize| {
        format!(
            "cluster.local/ns/ns-{}/sa/sa-{account}",
            account % NAMESPACES
        )
    };
    let mut files = Vec::new();
    let mut text = String::new();
    for gateway in 0..GATEWAYS {
        let _ = write!(
            text,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: egress-gw-{gateway}\n  namespace: egress-{gateway}\nspec:\n  selector:\n    app: egress-gw-{gateway}\n  servers:\n  - port: {{number: 80, name: http, protocol: HTTP}}\n    hosts: [\"*\"]\n---\n"
        );
    }
    files.push(("gateways.yaml".to_string(), std::mem::take(&mut text)));

    let mut samples: Vec<(usize, GeneratedRule)> = Vec::new();
    for policy in 0..policies {
        let gateway = policy % GATEWAYS;
        let deny = rng.chance(10);
        let _ = write!(
            text,
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p-{policy}\n  namespace: egress-{gateway}\nspec:\n  selector:\n    matchLabels:\n      app: egress-gw-{gateway}\n  action: {}\n  rules:\n",
            if deny { "DENY" } else { "ALLOW" }
        );
        let in_policy = RULES_PER_POLICY.min(rules - policy * RULES_PER_POLICY);
        for _ in 0..in_policy {
            let account = rng.below(accounts);
            let domain = rng.below(domains);
            let host = match rng.below(100) {
                0 => "*".to_string(),
                1..=10 => format!("*.ext-{domain}.com"),
                _ => format!("svc-{}.ext-{domain}.com", rng.below(host_count)),
            };
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
            let principal = principal_of(account);
            let _ = write!(
                text,
                "  - from:\n    - source:\n        principals: [\"{principal}\"]\n    to:\n    - operation:\n        hosts: [\"{host}\"]\n"
            );
            if !methods.is_empty() {
                let _ = writeln!(text, "        methods: [{}]", methods.join(", "));
            }
            if !path.is_empty() {
                let _ = writeln!(text, "        paths: [\"{path}\"]");
            }
            if samples.len() < 20_000 {
                samples.push((
                    gateway,
                    GeneratedRule {
                        principal,
                        host,
                        methods,
                        path,
                    },
                ));
            }
        }
        text.push_str("---\n");
        if (policy + 1) % POLICIES_PER_FILE == 0 {
            files.push((
                format!("policies-{:04}.yaml", policy / POLICIES_PER_FILE),
                std::mem::take(&mut text),
            ));
        }
    }
    if !text.is_empty() {
        files.push((
            format!("policies-{:04}.yaml", policies / POLICIES_PER_FILE),
            text,
        ));
    }

    let request_count = rules.clamp(1_000, 10_000);
    let mut requests = Vec::with_capacity(request_count);
    for i in 0..request_count {
        let hit = i % 2 == 0 && !samples.is_empty();
        let request = if hit {
            let (gateway, rule) = match samples.get(rng.below(samples.len())) {
                Some(s) => s,
                None => continue,
            };
            let host = match rule.host.strip_prefix('*') {
                Some(suffix) => format!("x{}{suffix}", rng.below(100)),
                None => rule.host.clone(),
            };
            let host = if host.is_empty() {
                "anything.example".to_string()
            } else {
                host
            };
            let path = match rule.path.as_str() {
                "" | "/api/*" => "/api/v1/items".to_string(),
                "/api/{*}/items" => format!("/api/v{}/items", rng.below(3)),
                exact => exact.to_string(),
            };
            Request {
                source: RequestSource {
                    principal: Some(rule.principal.clone()),
                    ..RequestSource::default()
                },
                workload: Some(gateway_labels(*gateway)),
                host: Some(host),
                method: Some(rule.methods.first().copied().unwrap_or("GET").to_string()),
                path: Some(path),
                ..Request::default()
            }
        } else {
            Request {
                source: RequestSource {
                    principal: Some(principal_of(rng.below(accounts))),
                    ..RequestSource::default()
                },
                workload: Some(gateway_labels(rng.below(GATEWAYS))),
                host: Some(format!(
                    "svc-{}.ext-{}.com",
                    rng.below(host_count),
                    rng.below(domains)
                )),
                method: Some(if rng.chance(50) { "GET" } else { "DELETE" }.to_string()),
                path: Some(format!("/miss/{}", rng.below(1000))),
                ..Request::default()
            }
        };
        requests.push(request);
    }
    GeneratedWorkload { files, requests }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    #[test]
    fn every_profile_loads_with_its_rule_count_and_decides_both_ways() {
        for profile in Profile::ALL {
            for layout in [Layout::Files, Layout::List, Layout::PolicyPerRule] {
                let workload = generate_profile(230, 3, profile, layout);
                let engine = Engine::from_files(
                    workload.files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
                )
                .unwrap_or_else(|e| panic!("{profile} {layout:?}: {e}"));
                assert_eq!(engine.rule_count(), 230, "{profile} {layout:?}");
                let statuses: Vec<u16> = workload
                    .requests
                    .iter()
                    .map(|r| engine.decide(r).status)
                    .collect();
                assert!(
                    statuses.contains(&200),
                    "{profile} {layout:?}: no allowed request"
                );
                assert!(
                    statuses.contains(&403),
                    "{profile} {layout:?}: no denied request"
                );
            }
        }
    }

    #[test]
    fn profiles_parse_by_name() {
        for profile in Profile::ALL {
            assert_eq!(profile.name().parse::<Profile>(), Ok(profile));
        }
        assert!("nope".parse::<Profile>().is_err());
    }
}
