//! `egress-policy compile`: load the policies once and write a compiled-policy bundle, the
//! imported model as versioned JSON (`egress_policy::Engine::from_bundle_json`), for
//! engines that only decide: the WASM bundle module (`egress-policy-wasm/bundle`) loads it
//! without the YAML parser and the importers.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::args::PolicyArgs;
use crate::error::{Error, Result};
use crate::load;

/// Arguments of `compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The policies.
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Where to write the bundle (JSON); `-` writes it to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `compile`: warnings and the summary line go to stderr (stdout may be the bundle).
pub fn run(args: &CompileArgs) -> Result<ExitCode> {
    // The bundle carries no source texts: load without them.
    let model = load::deciding_model(&args.policies.policy).map_err(Error::Policies)?;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for warning in &model.warnings {
        let _ = writeln!(err, "{warning}");
    }
    let bundle = model
        .to_bundle_json()
        .map_err(|e| Error::Policies(e.diagnostics().to_vec()))?;
    let shown = if args.output.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        out.write_all(bundle.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(Error::Write)?;
        "standard output".to_string()
    } else {
        std::fs::write(&args.output, &bundle).map_err(|source| Error::WriteFile {
            path: args.output.display().to_string(),
            source,
        })?;
        args.output.display().to_string()
    };
    let _ = writeln!(
        err,
        "compiled {} into {shown} ({} bytes); {} warning(s)",
        load::contents(&model),
        bundle.len(),
        model.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}
