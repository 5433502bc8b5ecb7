//! `egress-policy validate`: load policies and report every error and warning.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::args::ValidateArgs;
use crate::error::{Error, Result};
use crate::{load, EXIT_INVALID};

/// Runs `validate`: diagnostics go to stderr (`file:line:col: severity: …`), the summary line
/// to stdout.
pub fn run(args: &ValidateArgs) -> Result<ExitCode> {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match load::model(&args.policies.policy) {
        Ok(model) => {
            for warning in &model.warnings {
                let _ = writeln!(err, "{warning}");
            }
            for (policy, caveat) in &model.assumptions {
                let _ = writeln!(
                    err,
                    "{policy}: assumption: {} [{}]",
                    caveat.message, caveat.code
                );
            }
            let assumed = model.warnings.len() + model.assumptions.len();
            if args.strict && assumed > 0 {
                writeln!(
                    out,
                    "invalid (--strict): {} warning(s), {} assumption(s)",
                    model.warnings.len(),
                    model.assumptions.len()
                )
                .map_err(Error::Write)?;
                return Ok(ExitCode::from(EXIT_INVALID));
            }
            writeln!(
                out,
                "ok: {}, {} gateway(s); {} warning(s)",
                load::contents(&model),
                model.gateways.len(),
                model.warnings.len()
            )
            .map_err(Error::Write)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                let _ = writeln!(err, "{diagnostic}");
            }
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = diagnostics.len() - errors;
            writeln!(out, "invalid: {errors} error(s), {warnings} warning(s)")
                .map_err(Error::Write)?;
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}
