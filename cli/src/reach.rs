//! `egress-policy reach`: who may reach a host, or which hosts an identity may reach,
//! computed from the policies (one request per class of indistinguishable requests).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use egress_policy::tools::reach::valid_authority;
use egress_policy::tools::{reach_host, reach_identity, Access, ReachOptions, ReachReport};
use egress_policy::Engine;

use crate::args::PolicyArgs;
use crate::check::parse_workload;
use crate::error::{Error, Result};
use crate::load;
use egress_policy::tools::render;

/// Arguments of `reach`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("query").required(true).args(["host", "from"]))]
pub struct ReachArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// List the identities that may reach this host (an authority as clients send it:
    /// `httpbin.org`, `api.example.com:8443`).
    #[arg(long = "host", value_name = "HOST")]
    pub host: Option<String>,
    /// List the hosts this identity may reach (`cluster.local/ns/NS/sa/SA`, a `spiffe://`
    /// URI, or `none` for plaintext).
    #[arg(long = "from", value_name = "IDENTITY")]
    pub from: Option<String>,
    /// Decide at this proxy instead of the gateway the registry routes to (`NS/NAME` or
    /// `NS/key=value,...`, as for `check`); repeatable.
    #[arg(short = 'w', long = "workload", value_name = "NS/NAME")]
    pub workloads: Vec<String>,
    /// Also decide at every loaded gateway, as if requests named it as their workload.
    #[arg(long = "all-gateways")]
    pub all_gateways: bool,
    /// Print the report as JSON.
    #[arg(long = "json")]
    pub json: bool,
}

/// Runs `reach` (exit status 0; 2 when the policies do not load).
pub fn run(args: &ReachArgs) -> Result<ExitCode> {
    let engine = load::engine(&args.policies.policy)?;
    let options = options(&engine, &args.workloads, args.all_gateways)?;
    let report = match (&args.host, &args.from) {
        (Some(host), _) if !valid_authority(host) => {
            return Err(Error::Host(host.clone()));
        }
        (Some(host), _) => reach_host(&engine, host, &options),
        (None, from) => {
            let identity = from
                .as_deref()
                .and_then(egress_policy::request::sender_identity);
            reach_identity(&engine, identity, &options)
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{json}").map_err(Error::Write)?;
    } else {
        write!(out, "{}", human(&report)).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)?;
    Ok(ExitCode::SUCCESS)
}

/// The points of `--workload` and `--all-gateways` (routed alone when neither is given).
pub fn options(engine: &Engine, workloads: &[String], all_gateways: bool) -> Result<ReachOptions> {
    let named = workloads
        .iter()
        .map(|w| parse_workload(w))
        .collect::<Result<Vec<_>>>()?;
    Ok(ReachOptions::for_model(engine.model(), named, all_gateways))
}

fn decided_by(access: &Access) -> String {
    let by = render::deciding(access.policy.as_ref(), access.rule);
    match access.reason.as_str() {
        "passthrough" => "passthrough (not enforced by any gateway)".to_string(),
        "no_allow_policies" => "no ALLOW policy at the gateway".to_string(),
        reason if by == "-" => reason.to_string(),
        _ => by,
    }
}

fn human(report: &ReachReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let host_query = report.host.is_some();
    match (&report.host, &report.identity) {
        (Some(host), _) => {
            let _ = writeln!(out, "who may reach {host}:");
        }
        (None, Some(identity)) => {
            let _ = writeln!(out, "what {identity} may reach:");
        }
        (None, None) => {}
    }
    if report.entries.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            if host_query {
                "nobody (every request class is denied)"
            } else {
                "nothing (every request class is denied)"
            }
        );
    }
    let mut point = "";
    for entry in &report.entries {
        if entry.point != point {
            point = &entry.point;
            let _ = writeln!(out, "  {point}");
        }
        let classes = if host_query {
            &entry.identities
        } else {
            &entry.hosts
        };
        if entry.any {
            let _ = writeln!(
                out,
                "    {}",
                if host_query {
                    "any identity"
                } else {
                    "any host"
                }
            );
        } else {
            for class in classes {
                let _ = writeln!(out, "    {}", class.label);
            }
        }
        for access in &entry.access {
            let methods = match access.methods.as_slice() {
                [any] if any == "any" => "any method".to_string(),
                list => list.join(", "),
            };
            let paths = match access.paths.as_slice() {
                [any] if any == "any" => "any path".to_string(),
                list => list.join(", "),
            };
            let what = if methods == "any method" && paths == "any path" {
                "anything".to_string()
            } else {
                format!("{methods} {paths}")
            };
            let _ = writeln!(out, "      {what}: {}", decided_by(access));
        }
    }
    for caveat in &report.caveats {
        let _ = writeln!(out, "note: {caveat}");
    }
    let _ = writeln!(out, "({} request classes decided)", report.cells);
    out
}
