//! `egress-policy bench`: measure the engine on the user's own policies and requests, or
//! write a generated workload to measure.
//!
//! * `bench --generate N DIR [--seed S] [--profile P] [--layout L | --list]` writes
//!   `workload::generate_profile(N, S, P, layout)` as Istio YAML files (or one `kind: List`
//!   file) into `DIR` plus `DIR/requests.jsonl` (one request JSON per line);
//! * `bench --policy PATH... --requests FILE [--decisions K] [--reference] [--json]` loads
//!   the policies, prepares the requests and prints load and compile time, peak RSS, rule
//!   count, prepare and prepare + decide latency, decide latency (p50, p99, mean) and
//!   throughput of the compiled engine, and with
//!   `--reference` of the reference evaluator too, with a check that both agree on every
//!   request.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use egress_policy::bench::{
    candidates, peak_rss, show, time_compiled, time_prepare, time_prepare_on, time_reference,
    Candidates, Latency,
};
use egress_policy::compile::Prepared;
use egress_policy::workload::{generate_profile, Layout, Profile};
use egress_policy::{Engine, Request};
use serde_json::Value;

use crate::args::BenchArgs;
use crate::error::{Error, Result};
use crate::load;

/// The file `--generate` writes the requests to, inside `DIR`.
pub const REQUESTS_FILE: &str = "requests.jsonl";

/// Runs `bench`.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    match (args.generate, &args.dir) {
        (Some(rules), Some(dir)) => {
            let layout = if args.list { Layout::List } else { args.layout };
            write_workload(rules, args.seed, args.profile, layout, dir)
        }
        _ => measure(args),
    }
}

/// `--generate N DIR`: writes the policy files and `requests.jsonl`.
fn write_workload(
    rules: usize,
    seed: u64,
    profile: Profile,
    layout: Layout,
    dir: &Path,
) -> Result<ExitCode> {
    let workload = generate_profile(rules, seed, profile, layout);
    std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
    let written: Vec<&str> = workload.files.iter().map(|(n, _)| n.as_str()).collect();
    let strays = stray_policy_files(dir, &written);
    for (name, text) in &workload.files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| write_error(&path, source))?;
    }
    let mut lines = String::new();
    for request in &workload.requests {
        lines.push_str(&request_line(request));
        lines.push('\n');
    }
    let path = dir.join(REQUESTS_FILE);
    std::fs::write(&path, lines).map_err(|source| write_error(&path, source))?;

    if strays > 0 {
        let _ = writeln!(
            io::stderr(),
            "warning: {} also holds {strays} other policy file(s); `--policy {}` loads them too",
            dir.display(),
            dir.display()
        );
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "wrote {rules} rules ({profile} profile) in {} YAML file(s) and {} requests ({}) to {} (seed {seed})",
        workload.files.len(),
        workload.requests.len(),
        REQUESTS_FILE,
        dir.display()
    )
    .map_err(Error::Write)?;
    writeln!(
        out,
        "measure with: egress-policy bench --policy {} --requests {}",
        dir.display(),
        path.display()
    )
    .map_err(Error::Write)?;
    Ok(ExitCode::SUCCESS)
}

fn write_error(path: &Path, source: io::Error) -> Error {
    Error::WriteFile {
        path: path.display().to_string(),
        source,
    }
}

/// How many `*.yaml`, `*.yml`, `*.json` files directly in `dir` are not about to be written.
fn stray_policy_files(dir: &Path, written: &[&str]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let policy = [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext));
            policy && !written.contains(&name.as_ref())
        })
        .count()
}

/// One request as compact JSON: absent (`null`) and empty fields are left out.
fn request_line(request: &Request) -> String {
    let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
    prune(&mut value);
    value.to_string()
}

fn prune(value: &mut Value) {
    if let Value::Object(map) = value {
        for field in map.values_mut() {
            prune(field);
        }
        map.retain(|_, field| match field {
            Value::Null => false,
            Value::Object(inner) => !inner.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => true,
        });
    }
}

/// Reads one request JSON per line; blank lines are skipped, the first invalid line is an
/// error naming it.
fn read_requests(path: &Path) -> Result<Vec<Request>> {
    let name = path.display().to_string();
    let read_error = |source| Error::Read {
        path: name.clone(),
        source,
    };
    let input: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(File::open(path).map_err(read_error)?))
    };
    let mut requests = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let request =
            serde_json::from_str::<Request>(line.trim()).map_err(|e| Error::BadRequest {
                path: name.clone(),
                line: index + 1,
                message: e.to_string(),
            })?;
        requests.push(request);
    }
    if requests.is_empty() {
        return Err(Error::NoRequests(name));
    }
    Ok(requests)
}

/// Everything `bench` measured.
struct Report {
    policies: usize,
    rules: usize,
    requests: usize,
    load: Duration,
    compile: Duration,
    prepare: Duration,
    warm_prepare: Latency,
    prepare_decide: Latency,
    /// The same on connections (`Engine::prepare_on`).
    prepare_on: Latency,
    prepare_on_decide: Latency,
    peak_rss: Option<u64>,
    decisions: usize,
    compiled: Latency,
    candidates: Candidates,
    reference: Option<(Latency, usize)>,
}

/// `--policy … --requests …`: loads, compiles, times.
fn measure(args: &BenchArgs) -> Result<ExitCode> {
    let Some(requests_path) = args.requests.as_deref() else {
        return Err(Error::NoRequests("--requests".to_string()));
    };
    let requests = read_requests(requests_path)?;
    let start = Instant::now();
    let model = load::deciding_model(&args.policy).map_err(Error::Policies)?;
    let load_time = start.elapsed();
    {
        let stderr = io::stderr();
        let mut err = stderr.lock();
        for warning in &model.warnings {
            let _ = writeln!(err, "{warning}");
        }
    }
    let policies = model.policies.len();
    let start = Instant::now();
    let engine = Engine::from_model(model);
    let compile = start.elapsed();

    let start = Instant::now();
    let prepared: Vec<Prepared> = requests.iter().map(|r| engine.prepare(r)).collect();
    let prepare = start.elapsed() / u32::try_from(requests.len().max(1)).unwrap_or(u32::MAX);
    let peak = peak_rss();

    let decisions = args.decisions.max(1);
    let (warm_prepare, prepare_decide) = time_prepare(&engine, &requests, decisions);
    let (prepare_on, prepare_on_decide) = time_prepare_on(&engine, &requests, decisions);
    let compiled = time_compiled(&engine, &prepared, decisions);
    let reference = args.reference.then(|| {
        let agree = requests
            .iter()
            .filter(|r| engine.decide(r) == engine.decide_reference(r))
            .count();
        (time_reference(&engine, &requests, decisions), agree)
    });
    let report = Report {
        policies,
        rules: engine.rule_count(),
        requests: requests.len(),
        load: load_time,
        compile,
        prepare,
        warm_prepare,
        prepare_decide,
        prepare_on,
        prepare_on_decide,
        peak_rss: peak,
        decisions,
        compiled,
        candidates: candidates(&engine, &prepared),
        reference,
    };
    let text = if args.json {
        format!("{}\n", json(&report))
    } else {
        human(&report)
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    out.write_all(text.as_bytes()).map_err(Error::Write)?;
    out.flush().map_err(Error::Write)?;
    match report.reference {
        Some((_, agree)) if agree != report.requests => Err(Error::Disagreement {
            disagree: report.requests - agree,
            requests: report.requests,
        }),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn human(r: &Report) -> String {
    let mut lines: Vec<(String, String)> = vec![
        ("policies".into(), r.policies.to_string()),
        ("rules".into(), r.rules.to_string()),
        ("requests".into(), r.requests.to_string()),
        ("load".into(), show(r.load)),
        ("compile".into(), show(r.compile)),
        (
            "peak RSS after compile".into(),
            r.peak_rss.map_or("unknown".into(), |b| {
                format!("{:.0} MB", b as f64 / 1_048_576.0)
            }),
        ),
        ("prepare mean (first sight)".into(), show(r.prepare)),
        ("decisions".into(), r.decisions.to_string()),
    ];
    let mut series = |name: &str, latency: &Latency| {
        lines.push((format!("{name} p50"), show(latency.p50)));
        lines.push((format!("{name} p99"), show(latency.p99)));
        lines.push((format!("{name} mean"), show(latency.mean)));
        lines.push((
            format!("{name} decisions/s"),
            format!("{:.0}", latency.per_second()),
        ));
    };
    series("prepare", &r.warm_prepare);
    series("prepare+decide", &r.prepare_decide);
    series("prepare on a connection", &r.prepare_on);
    series("prepare+decide on a connection", &r.prepare_on_decide);
    series("compiled", &r.compiled);
    if let Some((reference, agree)) = &r.reference {
        series("reference", reference);
        lines.push((
            "speed-up (p50)".into(),
            format!("{:.1}x", speed_up(reference, &r.compiled)),
        ));
        lines.push(("agreement".into(), format!("{agree}/{}", r.requests)));
    }
    let c = &r.candidates;
    lines.push((
        "candidates examined".into(),
        format!("p50 {} p99 {} max {} mean {}", c.p50, c.p99, c.max, c.mean),
    ));
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}\n", format!("{key}:")))
        .collect()
}

fn speed_up(reference: &Latency, compiled: &Latency) -> f64 {
    reference.p50.as_nanos() as f64 / compiled.p50.as_nanos().max(1) as f64
}

fn latency_json(latency: &Latency) -> Value {
    serde_json::json!({
        "p50_ns": latency.p50.as_nanos() as u64,
        "p99_ns": latency.p99.as_nanos() as u64,
        "mean_ns": latency.mean.as_nanos() as u64,
        "decisions_per_second": latency.per_second().round() as u64,
    })
}

fn json(r: &Report) -> Value {
    let mut value = serde_json::json!({
        "policies": r.policies,
        "rules": r.rules,
        "requests": r.requests,
        "load_ns": r.load.as_nanos() as u64,
        "compile_ns": r.compile.as_nanos() as u64,
        "prepare_mean_ns": r.prepare.as_nanos() as u64,
        "peak_rss_bytes": r.peak_rss,
        "prepare": latency_json(&r.warm_prepare),
        "prepare_decide": latency_json(&r.prepare_decide),
        "prepare_on": latency_json(&r.prepare_on),
        "prepare_on_decide": latency_json(&r.prepare_on_decide),
        "decisions": r.decisions,
        "compiled": latency_json(&r.compiled),
        "candidates": {
            "p50": r.candidates.p50,
            "p99": r.candidates.p99,
            "max": r.candidates.max,
            "mean": r.candidates.mean,
        },
    });
    if let (Some((reference, agree)), Value::Object(map)) = (&r.reference, &mut value) {
        map.insert("reference".into(), latency_json(reference));
        map.insert("agreement".into(), Value::from(*agree));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_leave_out_empty_fields_and_round_trip() {
        let workload = generate_profile(20, 1, Profile::Conditions, Layout::Files);
        for request in workload.requests.iter().take(50) {
            let line = request_line(request);
            assert!(!line.contains("null"), "{line}");
            let back: std::result::Result<Request, _> = serde_json::from_str(&line);
            assert!(back.as_ref().is_ok_and(|b| b == request), "{line}");
        }
    }
}
