//! How to read a log, as every front end passes it: the CLI's flags, Python's keywords and
//! the WASM options object all become one [`LogOptions`], so the rules (default format,
//! `FIELD=KEY` mappings, `spiffe://` stripping, the `ADDRESS IDENTITY` file) live here once.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::logs::{Field, LogFormat, LogReader};

/// How to read a log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogOptions {
    /// `envoy-json` (the default), `istio-text`, `ztunnel` or `requests`.
    pub format: Option<String>,
    /// Field → log key overrides (`identity` → `source_identity`, ...).
    pub mappings: BTreeMap<String, String>,
    /// Source address → identity (`spiffe://` optional), for logs without identities.
    pub identities: BTreeMap<String, String>,
    /// A custom text format replacing Istio's default (`istio-text`).
    pub text_format: Option<String>,
}

impl LogOptions {
    /// The reader these options describe; an error names the bad option.
    pub fn reader(&self) -> Result<LogReader, String> {
        let format: LogFormat = self.format.as_deref().unwrap_or("envoy-json").parse()?;
        let mut mappings = Vec::new();
        for (field, key) in &self.mappings {
            let field: Field = field.trim().parse()?;
            mappings.push((field, key.trim().to_string()));
        }
        let identities = self
            .identities
            .iter()
            .map(|(address, identity)| (address.clone(), bare_identity(identity)))
            .collect();
        LogReader::new(format, &mappings, self.text_format.as_deref(), identities)
    }
}

fn bare_identity(identity: &str) -> String {
    identity
        .strip_prefix("spiffe://")
        .unwrap_or(identity)
        .to_string()
}

/// Parses an `ADDRESS IDENTITY` file (one pair per line, `#` comments, blank lines
/// skipped). An error carries the 1-based line and what is wrong.
pub fn parse_identities(text: &str) -> Result<HashMap<String, String>, (usize, String)> {
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(ip), Some(identity), None) if ip.parse::<std::net::IpAddr>().is_ok() => {
                map.insert(ip.to_string(), bare_identity(identity));
            }
            _ => {
                return Err((
                    i + 1,
                    "expected `ADDRESS IDENTITY` (an IP address and a principal)".to_string(),
                ))
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_build_the_reader_and_name_bad_values() {
        let options: LogOptions = serde_json::from_value(serde_json::json!({
            "format": "istio-text",
            "identities": {"10.0.0.1": "spiffe://cluster.local/ns/a/sa/b"},
        }))
        .unwrap();
        assert!(options.reader().is_ok());
        let bad = LogOptions {
            format: Some("syslog".into()),
            ..LogOptions::default()
        };
        assert!(bad.reader().unwrap_err().contains("syslog"));
        let bad = LogOptions {
            mappings: [("colour".to_string(), "x".to_string())].into(),
            ..LogOptions::default()
        };
        assert!(bad.reader().is_err());
        assert!(serde_json::from_value::<LogOptions>(serde_json::json!({"nope": 1})).is_err());
    }

    #[test]
    fn identities_file() {
        let map =
            parse_identities("# comment\n10.0.0.1 spiffe://td/ns/a/sa/b\n\n::1 td/ns/c/sa/d # x\n")
                .unwrap();
        assert_eq!(
            map.get("10.0.0.1").map(String::as_str),
            Some("td/ns/a/sa/b")
        );
        assert_eq!(map.get("::1").map(String::as_str), Some("td/ns/c/sa/d"));
        assert_eq!(parse_identities("a b\n").unwrap_err().0, 1);
        assert_eq!(parse_identities("10.0.0.1\n").unwrap_err().0, 1);
    }
}
