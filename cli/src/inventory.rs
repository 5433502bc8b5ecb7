//! `egress-policy inventory`: what the loaded policies mention — identities, hosts,
//! gateways and policies, each with where it came from (the core's
//! `tools::inventory`, the same report Python and WASM return).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use egress_policy::tools::inventory::{inventory, Inventory};
use egress_policy::tools::render::Table;

use crate::args::PolicyArgs;
use crate::error::{Error, Result};
use crate::load;

/// Arguments of `inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Print the inventory as JSON.
    #[arg(long = "json")]
    pub json: bool,
}

/// Runs `inventory` (exit status 0; 2 when the policies do not load).
pub fn run(args: &InventoryArgs) -> Result<ExitCode> {
    let engine = load::engine(&args.policies.policy)?;
    let found = inventory(engine.model());
    let text = if args.json {
        serde_json::to_string_pretty(&found).unwrap_or_default() + "\n"
    } else {
        human(&found)
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(Error::Write)?;
    Ok(ExitCode::SUCCESS)
}

fn human(found: &Inventory) -> String {
    let mut out = format!(
        "trust domain: {}\noutbound traffic policy: {}\n",
        found.trust_domain, found.outbound
    );
    let mut section = |title: &str, table: Table| {
        out.push_str(&format!("\n{title}:\n"));
        out.push_str(&table.render("  "));
    };
    let mut identities = Table::new(&["IDENTITY", "MENTIONED BY"]);
    for entry in &found.identities {
        identities.row(vec![entry.principal.clone(), entry.sources.join(", ")]);
    }
    section("identities", identities);
    let mut hosts = Table::new(&["HOST", "MENTIONED BY"]);
    for entry in &found.hosts {
        hosts.row(vec![entry.host.clone(), entry.sources.join(", ")]);
    }
    section("hosts", hosts);
    let mut gateways = Table::new(&["GATEWAY", "KIND", "WORKLOAD", "LOCATION"]);
    for entry in &found.gateways {
        let labels: Vec<String> = entry
            .workload
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        gateways.row(vec![
            entry.id.to_string(),
            entry.kind.clone(),
            format!("{}/{}", entry.workload.namespace, labels.join(",")),
            entry.location.to_string(),
        ]);
    }
    section("gateways", gateways);
    let mut policies = Table::new(&["POLICY", "ACTION", "VENDOR", "DRY-RUN", "RULES", "LOCATION"]);
    for entry in &found.policies {
        policies.row(vec![
            entry.id.to_string(),
            entry.action.clone(),
            entry.vendor.clone(),
            if entry.dry_run { "yes" } else { "no" }.to_string(),
            entry.rules.len().to_string(),
            entry.location.to_string(),
        ]);
    }
    section("policies", policies);
    out
}
