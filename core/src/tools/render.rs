//! Text renderers shared by every front end: decision summaries, explanations, test
//! results and plain-text tables. The CLI prints them, Python's `str()` of test results
//! and `Explanation.text` return them, WASM `renderExplanation` too, so a failure reads
//! the same wherever it is shown.

use std::fmt::Write as _;

use crate::decision::{
    DryRunOutcome, EnforcedAt, HopStep, PolicyVerdict, ProxyKind, Route, RuleVerdict,
};
use crate::model::{HeaderMutations, ResourceRef};
use crate::request::Protocol;
#[cfg(feature = "yaml")]
use crate::tools::testfile::{CaseResult, Mismatch, TestReport};
use crate::{Decision, Explanation, Request};

/// A plain-text table: a header row and rows of cells, columns padded to their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells print empty, extra cells are kept).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table, every line prefixed with `indent`.
    pub fn render(&self, indent: &str) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (index, width) in widths.iter().enumerate() {
                let cell = row.get(index).map(String::as_str).unwrap_or("");
                line.push_str(cell);
                if index + 1 < columns {
                    let pad = width.saturating_sub(cell.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `Kind namespace/name`.
pub fn resource(r: &ResourceRef) -> String {
    r.to_string()
}

/// `ALLOWED` or `DENIED`.
pub fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "ALLOWED"
    } else {
        "DENIED"
    }
}

/// The deciding policy and rule, or `-`.
pub fn deciding(policy: Option<&ResourceRef>, rule: Option<usize>) -> String {
    match (policy, rule) {
        (Some(p), Some(r)) => format!("{p} rule {r}"),
        (Some(p), None) => p.to_string(),
        (None, _) => "-".to_string(),
    }
}

/// Header mutations in one line: `add a: 1; set b: 2; remove c`.
pub fn headers(h: &HeaderMutations) -> String {
    let mut parts = Vec::new();
    for (name, value) in &h.add {
        parts.push(format!("add {name}: {value}"));
    }
    for (name, value) in &h.set {
        parts.push(format!("set {name}: {value}"));
    }
    for name in &h.remove {
        parts.push(format!("remove {name}"));
    }
    parts.join("; ")
}

/// A route in one line: `gateway → host:port (TLS SIMPLE, 1 header change)`.
pub fn route_short(route: Option<&Route>) -> String {
    let Some(route) = route else {
        return "-".to_string();
    };
    let via = match &route.gateway {
        Some(g) => format!("{}/{}", g.namespace, g.name),
        None => "direct".to_string(),
    };
    let mut extras = Vec::new();
    if let Some(tls) = &route.tls {
        extras.push(format!("TLS {}", tls.mode));
    }
    let changes = route.headers.add.len() + route.headers.set.len() + route.headers.remove.len();
    if changes > 0 {
        extras.push(format!("{changes} header change(s)"));
    }
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" ({})", extras.join(", "))
    };
    format!("{via} -> {}:{}{extras}", route.host, route.port)
}

fn dry_run_line(outcome: &DryRunOutcome) -> String {
    let mut line = format!(
        "would {} ({})",
        if outcome.allowed { "allow" } else { "deny" },
        outcome.reason
    );
    if let Some(policy) = &outcome.policy {
        let _ = write!(line, " by {}", deciding(Some(policy), outcome.rule));
    }
    line
}

/// The multi-line human summary of a decision.
pub fn decision(d: &Decision) -> String {
    decision_with(d, deciding(d.policy.as_ref(), d.rule))
}

/// The deciding-policy line of an explanation: the policy and rule, or, when ALLOW policies
/// at the enforcing point all failed to match, `no ALLOW policy matched (N attached)` followed
/// by one line per policy.
pub fn deciding_policies(e: &Explanation) -> String {
    let d = &e.decision;
    let allows: Vec<&PolicyVerdict> = e
        .policies
        .iter()
        .filter(|p| p.action == "ALLOW" && !p.dry_run)
        .collect();
    if d.policy.is_some() || d.allowed || allows.is_empty() {
        return deciding(d.policy.as_ref(), d.rule);
    }
    let mut line = format!("no ALLOW policy matched ({} attached)", allows.len());
    for policy in allows {
        let _ = write!(
            line,
            "\n            - {} ({})",
            policy.policy, policy.location
        );
    }
    line
}

/// `sidecar of default/sleep (sidecar, port 80)`, with the gateway resource when known.
pub fn enforced_at(at: &EnforcedAt) -> String {
    let proxy = match at.proxy {
        ProxyKind::Client => "client",
        ProxyKind::Sidecar => "sidecar",
        ProxyKind::Ztunnel => "ztunnel",
        ProxyKind::Waypoint => "waypoint",
        ProxyKind::EgressGateway => "egress gateway",
        ProxyKind::Gateway => "gateway",
        ProxyKind::Upstream => "upstream",
    };
    let mut line = format!("{} ({proxy}, port {})", at.at, at.port);
    if let Some(resource) = &at.resource {
        let _ = write!(line, " [{resource}]");
    }
    line
}

fn decision_with(d: &Decision, policy: String) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} {}", verdict(d.allowed), d.status, d.reason);
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "  {:<9} {value}", format!("{name}:"));
    };
    field("message", d.message.clone());
    field("policy", policy);
    match &d.route {
        Some(route) => {
            let gateway = route
                .gateway
                .as_ref()
                .map(resource)
                .unwrap_or_else(|| "none (not carried by an egress gateway)".to_string());
            field("gateway", gateway);
            if let Some(service) = &route.service {
                field("service", resource(service));
            }
            field("upstream", format!("{}:{}", route.host, route.port));
            let tls = match &route.tls {
                Some(tls) => format!("{}, sni {} ({})", tls.mode, tls.sni, tls.origin),
                None => "none".to_string(),
            };
            field("tls", tls);
            if !route.headers.is_empty() {
                let mut text = headers(&route.headers);
                if let Some(vs) = &route.virtual_service {
                    let _ = write!(text, " ({vs})");
                }
                field("headers", text);
            }
        }
        None => field("route", "-".to_string()),
    }
    if let Some(outcome) = &d.dry_run {
        field("dry-run", dry_run_line(outcome));
    }
    if d.audit {
        field("audit", "an AUDIT policy matched".to_string());
    }
    if !d.hops.is_empty() {
        let _ = writeln!(out, "  road:");
        for (index, hop) in d.hops.iter().enumerate() {
            let by = hop
                .resource
                .as_ref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {}. {} ({}): {}{by}",
                index + 1,
                hop.at,
                step_name(hop.step),
                hop.outcome
            );
        }
    }
    for caveat in &d.caveats {
        let _ = writeln!(out, "  caveat:   {} [{}]", caveat.message, caveat.code);
    }
    out
}

fn step_name(step: HopStep) -> &'static str {
    match step {
        HopStep::Outbound => "outbound",
        HopStep::Registry => "registry",
        HopStep::Route => "route",
        HopStep::Listener => "listener",
        HopStep::Authorization => "authorization",
        HopStep::Response => "response",
        HopStep::Tls => "tls",
        HopStep::Leave => "leave",
    }
}

fn policy_rows(table: &mut Table, verdict: &PolicyVerdict) {
    let name = resource(&verdict.policy);
    let dry = if verdict.dry_run { "yes" } else { "no" };
    let matched = if verdict.matched { "match" } else { "no match" };
    if verdict.rules.is_empty() {
        table.row(vec![
            name,
            verdict.action.clone(),
            dry.to_string(),
            "-".to_string(),
            matched.to_string(),
            "no rules".to_string(),
            verdict.location.clone(),
        ]);
        return;
    }
    for (index, rule) in verdict.rules.iter().enumerate() {
        let first = index == 0;
        let detail = rule_detail(rule);
        table.row(vec![
            if first { name.clone() } else { String::new() },
            if first {
                verdict.action.clone()
            } else {
                String::new()
            },
            if first {
                dry.to_string()
            } else {
                String::new()
            },
            rule.index.to_string(),
            if rule.matched { "match" } else { "no match" }.to_string(),
            detail,
            match (&rule.location, first) {
                (Some(location), _) => location.clone(),
                (None, true) => verdict.location.clone(),
                (None, false) => String::new(),
            },
        ]);
    }
}

/// Why a rule failed, in the user's terms when known: `spec.rules[0].to[0].operation.methods:
/// method POST not in [GET, HEAD]`; else `failed at <model path>; <note>`.
pub fn rule_detail(rule: &RuleVerdict) -> String {
    let why = rule.mismatch.as_ref().or(rule.note.as_ref());
    match (&rule.field, why) {
        (Some(field), Some(why)) => format!("{field}: {why}"),
        (Some(field), None) => field.clone(),
        (None, _) => {
            let mut detail = Vec::new();
            if let Some(field) = &rule.failed_field {
                detail.push(format!("failed at {field}"));
            }
            if let Some(note) = &rule.note {
                detail.push(note.clone());
            }
            detail.join("; ")
        }
    }
}

/// The decision summary followed by the pipeline steps and the table of attached policies.
pub fn explanation(e: &Explanation) -> String {
    let mut out = decision_with(&e.decision, deciding_policies(e));
    let gateway = e.gateway.as_ref().map(resource).unwrap_or("none".into());
    let service = e.service.as_ref().map(resource).unwrap_or("none".into());
    let enforced = e
        .enforced_at
        .as_ref()
        .map(enforced_at)
        .unwrap_or_else(|| "not enforced by any proxy".to_string());
    let _ = writeln!(out, "\nenforced at:       {enforced}");
    let _ = writeln!(out, "enforcing gateway: {gateway}");
    let _ = writeln!(out, "registry entry:    {service}");
    if !e.steps.is_empty() {
        let _ = writeln!(out, "\nsteps:");
        for (index, step) in e.steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", index + 1);
        }
    }
    if e.policies.is_empty() {
        let _ = writeln!(out, "\nno policy is attached at the enforcing point");
    } else {
        let _ = writeln!(out, "\npolicies at the enforcing point:");
        let mut table = Table::new(&[
            "POLICY", "ACTION", "DRY-RUN", "RULE", "RESULT", "DETAIL", "LOCATION",
        ]);
        for verdict in &e.policies {
            policy_rows(&mut table, verdict);
        }
        out.push_str(&table.render("  "));
    }
    out
}

/// The sender in a few characters: `ns/sa` for Kubernetes identities, the identity
/// otherwise, `(plaintext)` without one.
pub fn source(request: &Request) -> String {
    let Some(principal) = request
        .source
        .principal
        .as_deref()
        .filter(|p| !p.is_empty())
    else {
        return "(plaintext)".to_string();
    };
    let bare = principal.strip_prefix("spiffe://").unwrap_or(principal);
    let segments: Vec<&str> = bare.split('/').collect();
    let after = |key: &str| {
        segments
            .windows(2)
            .find(|w| w.first() == Some(&key))
            .and_then(|w| w.get(1).copied())
    };
    match (after("ns"), after("sa")) {
        (Some(ns), Some(sa)) => format!("{ns}/{sa}"),
        _ => bare.to_string(),
    }
}

/// The request in one line: `GET http://host/path`, `tls host:443`, `tcp :9000`.
pub fn request_line(request: &Request) -> String {
    let target = match (&request.url, &request.host) {
        (_, Some(host)) => {
            let path = request.path.as_deref().unwrap_or("");
            format!("{host}{path}")
        }
        (Some(url), None) => url.clone(),
        (None, None) => String::new(),
    };
    let port = request
        .port
        .map(|p| format!(" port {p}"))
        .unwrap_or_default();
    match request.protocol.unwrap_or(Protocol::Http) {
        Protocol::Http => {
            let method = request.method.as_deref().unwrap_or("GET");
            format!("{method} {target}{port}")
        }
        Protocol::Tls => {
            let sni = request
                .sni
                .as_deref()
                .map(|s| format!(" sni {s}"))
                .unwrap_or_default();
            format!("tls {target}{sni}{port}").replace("  ", " ")
        }
        Protocol::Tcp => format!("tcp {target}{port}").replace("  ", " "),
    }
}

#[cfg(feature = "yaml")]
/// `allowed: expected true, got false`.
pub fn mismatch(m: &Mismatch) -> String {
    format!("{}: expected {}, got {}", m.field, m.expected, m.actual)
}

#[cfg(feature = "yaml")]
/// A failed case in words: each unmet expectation, then the explanation of the decision
/// (as [`explanation`] renders it). `None` when the case passed.
pub fn case_failure(case: &CaseResult) -> Option<String> {
    if case.passed {
        return None;
    }
    let mut out = String::new();
    for m in &case.mismatches {
        let _ = writeln!(out, "{}", mismatch(m));
    }
    match &case.explanation {
        Some(e) => out.push_str(&explanation(e)),
        None => out.push_str(&decision(&case.decision)),
    }
    Some(out.trim_end().to_string())
}

#[cfg(feature = "yaml")]
/// One case: `PASS  name  (ALLOWED 200 reason)`, or `FAIL  name  (file:line:col)` followed
/// by the failure, each line indented with `  | `.
pub fn case(case: &CaseResult) -> String {
    let d = &case.decision;
    match case_failure(case) {
        None => format!(
            "PASS  {}  ({} {} {})",
            case.name,
            verdict(d.allowed),
            d.status,
            d.reason
        ),
        Some(text) => {
            let mut out = format!("FAIL  {}  ({})", case.name, case.location);
            for line in text.lines() {
                let _ = write!(out, "\n  | {line}");
            }
            out
        }
    }
}

#[cfg(feature = "yaml")]
/// Test reports as `egress-policy test` prints them: each file with its errors or cases,
/// then `N passed, M failed` (and how many files did not run).
pub fn test_reports(reports: &[TestReport]) -> String {
    let mut out = String::new();
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for report in reports {
        let title = report
            .name
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{}{title}", report.file);
        for error in &report.errors {
            let _ = writeln!(out, "  {error}");
        }
        if !report.errors.is_empty() {
            broken += 1;
            let _ = writeln!(out, "  not run: the test file or its policies do not load");
            continue;
        }
        for result in &report.cases {
            for line in case(result).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        passed += report.passed;
        failed += report.failed;
    }
    let _ = write!(out, "{passed} passed, {failed} failed");
    if broken > 0 {
        let _ = write!(out, ", {broken} file(s) not run");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["xxx".into(), "y".into()]);
        assert_eq!(t.render(""), "A    BB\nxxx  y\n");
    }

    #[test]
    fn source_is_short() {
        let mut r = Request::default();
        assert_eq!(source(&r), "(plaintext)");
        r.source.principal = Some("spiffe://cluster.local/ns/a/sa/b".into());
        assert_eq!(source(&r), "a/b");
    }
}
