//! `engine.replay(log, options)` and `suggest(log, options)`: access logs held in memory (a
//! file the user dropped on the simulator), read with the core's `LogOptions` and decided
//! with the core's replay and suggest. Only the option names are converted here
//! (camelCase `textFormat`; `identities` as an object or as the text of an
//! `ADDRESS IDENTITY` file).

use egress_policy::tools::replay::{
    parse_identities, replay_lines, Engines, LogOptions, LogReader, ReplayReport,
};
use egress_policy::tools::suggest::{Observations, SuggestOptions, SuggestReport, Vendor};
use egress_policy::Engine;
use serde_json::Value;

use crate::ArgError;

/// The name log lines are located by in reports.
const LOG_NAME: &str = "<log>";

/// The options of `replay` / `suggest`, read from a JavaScript options object.
#[derive(Debug, Default)]
pub struct LogQuery {
    log: LogOptions,
    vendor: Vendor,
    generalize: usize,
}

impl LogQuery {
    /// Reads `{format?, mappings?, identities?, textFormat?, vendor?, generalize?}`;
    /// `suggest_keys` admits the last two.
    pub fn from_json(value: &Value, suggest_keys: bool) -> Result<Self, ArgError> {
        let mut query = LogQuery {
            generalize: 1,
            ..LogQuery::default()
        };
        let Some(object) = value.as_object() else {
            return match value {
                Value::Null => Ok(query),
                _ => Err(ArgError::Type("options must be an object".into())),
            };
        };
        let text = |key: &str, v: &Value| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| ArgError::Type(format!("`{key}` must be a string")))
        };
        for (key, v) in object {
            match key.as_str() {
                "format" => query.log.format = Some(text(key, v)?),
                "textFormat" => query.log.text_format = Some(text(key, v)?),
                "mappings" => {
                    query.log.mappings = serde_json::from_value(v.clone()).map_err(|e| {
                        ArgError::Type(format!("`mappings` must map fields to keys: {e}"))
                    })?;
                }
                "identities" => {
                    query.log.identities = match v {
                        Value::String(file) => parse_identities(file)
                            .map_err(|(line, message)| {
                                ArgError::Range(format!("identities line {line}: {message}"))
                            })?
                            .into_iter()
                            .collect(),
                        _ => serde_json::from_value(v.clone()).map_err(|e| {
                            ArgError::Type(format!(
                                "`identities` must map addresses to identities or be an `ADDRESS IDENTITY` text: {e}"
                            ))
                        })?,
                    };
                }
                "vendor" if suggest_keys => {
                    query.vendor = text(key, v)?.parse().map_err(ArgError::Range)?;
                }
                "generalize" if suggest_keys => {
                    query.generalize = v
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| {
                            ArgError::Type("`generalize` must be a whole number".into())
                        })?;
                }
                other => return Err(ArgError::Type(format!("unknown option `{other}`"))),
            }
        }
        Ok(query)
    }

    fn reader(&self) -> Result<LogReader, ArgError> {
        self.log.reader().map_err(ArgError::Range)
    }
}

/// Decides every line of `log` with `engine` (and `before`, for a change report): the
/// CLI's `replay --json` report.
pub fn replay_text(
    engine: &Engine,
    before: Option<&Engine>,
    log: &str,
    query: &LogQuery,
) -> Result<ReplayReport, ArgError> {
    let reader = query.reader()?;
    let engines = Engines {
        after: engine,
        before,
    };
    let tally = replay_lines(engines, &reader, LOG_NAME, log.lines());
    Ok(ReplayReport::from_tally(tally, before.is_some()))
}

/// The smallest policy set that allows exactly the traffic of `log` (less what `existing`
/// already allows).
pub fn suggest_text(
    log: &str,
    existing: Option<&Engine>,
    query: &LogQuery,
) -> Result<SuggestReport, ArgError> {
    let reader = query.reader()?;
    let mut observations = Observations::default();
    observations.read(
        &reader,
        LOG_NAME,
        1,
        log.lines(),
        query.generalize,
        existing,
    );
    Ok(observations.suggest(&SuggestOptions {
        vendor: query.vendor,
        generalize: query.generalize,
    }))
}
