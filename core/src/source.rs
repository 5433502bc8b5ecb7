//! Located YAML/JSON trees: every node remembers the line and column it came from.
//!
//! Importers walk this tree by hand instead of deriving `Deserialize` for the resource
//! structs, because a derive stops at the first problem of a document while users expect
//! one load to report *every* unknown field and invalid value, each with its field path.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Location};

#[cfg(test)]
mod corpus;
mod fast;
mod scan;

/// Largest policy file accepted by default, in bytes. Larger inputs are refused before
/// parsing (see [`Limits`]).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;
/// Deepest nesting accepted in one document by default.
pub const MAX_DEPTH: usize = 48;
/// Most YAML documents accepted in one file by default.
pub const MAX_DOCUMENTS: usize = 1_000_000;
/// Default alias amplification bound: events replayed from aliases may add at most this
/// many events per byte of input (a node takes at least a byte of text without aliases,
/// so 1 allows an alias-heavy file to roughly double, while a "billion laughs" bomb needs
/// millions of replayed events per byte).
pub const MAX_ALIAS_AMPLIFICATION: usize = 1;
/// Replayed alias events always allowed, whatever the file size (small files with anchors).
const ALIAS_FLOOR: usize = 100_000;

/// The parser's budgets. They stop YAML bombs — alias amplification, deep nesting,
/// document storms, oversized inputs — not big files: the node, event and scalar budgets
/// of the parser grow with the input (a node needs at least one byte of text), so a
/// single `kind: List` file of 100 000 policies loads.
///
/// The process-wide limits apply to every load; [`Limits::install`] changes them:
///
/// ```
/// use egress_policy::source::{parse_documents, Limits};
/// let bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n\
///             c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n\
///             e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
/// let tight = Limits { alias_floor: 1_000, ..Limits::default() };
/// assert!(egress_policy::source::parse_documents_with("bomb.yaml", bomb, &tight).is_err());
/// assert!(parse_documents("ok.yaml", "a: &a [x]\nb: *a\n").is_ok());
/// assert_eq!(Limits::current(), Limits::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_file_bytes: usize,
    /// Deepest nesting of one document.
    pub max_depth: usize,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Events replayed from aliases per byte of input.
    pub max_alias_amplification: usize,
    /// Replayed alias events allowed whatever the input size.
    pub alias_floor: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: MAX_FILE_BYTES,
            max_depth: MAX_DEPTH,
            max_documents: MAX_DOCUMENTS,
            max_alias_amplification: MAX_ALIAS_AMPLIFICATION,
            alias_floor: ALIAS_FLOOR,
        }
    }
}

static INSTALLED: std::sync::RwLock<Option<Limits>> = std::sync::RwLock::new(None);

impl Limits {
    /// The limits every load uses now.
    pub fn current() -> Limits {
        INSTALLED.read().ok().and_then(|l| *l).unwrap_or_default()
    }

    /// Makes these the limits of every later load in this process.
    pub fn install(self) {
        if let Ok(mut installed) = INSTALLED.write() {
            *installed = Some(self);
        }
    }

    fn budget(&self, bytes: usize) -> serde_saphyr::Budget {
        let mut budget = serde_saphyr::Budget::default();
        budget.max_depth = self.max_depth + 2;
        budget.max_documents = self.max_documents;
        // Without aliases a node takes at least one byte: these grow with the input.
        budget.max_nodes = budget.max_nodes.max(bytes.saturating_add(1024));
        budget.max_events = budget
            .max_events
            .max(bytes.saturating_mul(2).saturating_add(1024));
        budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(bytes);
        budget.max_reader_input_bytes = Some(self.max_file_bytes);
        budget.max_anchors = budget.max_anchors.max(bytes / 16);
        budget.max_aliases = budget.max_aliases.max(bytes / 16);
        budget
    }

    fn alias_limits(&self, bytes: usize) -> serde_saphyr::options::AliasLimits {
        let mut limits = serde_saphyr::options::AliasLimits::default();
        limits.max_total_replayed_events = bytes
            .saturating_mul(self.max_alias_amplification)
            .max(self.alias_floor);
        limits
    }
}

/// One node of a parsed document together with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// 1-based line of the node's first character.
    pub line: u32,
    /// 1-based column of the node's first character.
    pub column: u32,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string (quoted or plain).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; keys keep their own locations.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text (scalars of other types are rendered as text).
    pub name: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Node {
    /// A short, user-facing name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node's location in `file`.
    pub fn location(&self, file: &str) -> Location {
        Location {
            file: file.to_string(),
            line: self.line,
            column: self.column,
        }
    }

    /// Looks up a key of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this is a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn depth(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Value::Map(entries) => 1 + entries.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((
                Key {
                    name: key.value.0,
                    line: to_u32(key.referenced.line()),
                    column: to_u32(key.referenced.column()),
                },
                value,
            ));
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            value: spanned.value,
            line: to_u32(spanned.referenced.line()),
            column: to_u32(spanned.referenced.column()),
        })
    }
}

/// A mapping key: any scalar, kept as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Str(s) => Ok(KeyText(s)),
            Value::Int(i) => Ok(KeyText(i.to_string())),
            Value::Bool(b) => Ok(KeyText(b.to_string())),
            Value::Float(f) => Ok(KeyText(f.to_string())),
            Value::Null => Ok(KeyText(String::new())),
            Value::Seq(_) | Value::Map(_) => Err(de::Error::custom("mapping keys must be scalars")),
        }
    }
}

/// Parses a multi-document YAML (or JSON) text into located trees.
///
/// Empty documents (for example a trailing `---`) are dropped. Errors carry the file name
/// and the position the parser reported.
// A diagnostic is the error of parsing a whole file: one per file, off any hot path, so
// its size (with the optional lint code and help) does not matter.
#[allow(clippy::result_large_err)]
pub fn parse_documents(file: &str, text: &str) -> Result<Vec<Node>, Diagnostic> {
    parse_documents_with(file, text, &Limits::current())
}

/// [`parse_documents`] under explicit `limits`.
// A diagnostic is the error of parsing a whole file: one per file, off any hot path, so
// its size (with the optional lint code and help) does not matter.
#[allow(clippy::result_large_err)]
pub fn parse_documents_with(
    file: &str,
    text: &str,
    limits: &Limits,
) -> Result<Vec<Node>, Diagnostic> {
    if text.len() > limits.max_file_bytes {
        return Err(Diagnostic::error(
            Location::start_of(file),
            format!(
                "file is {} bytes, larger than the limit of {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        ));
    }
    if let Some(docs) = scan::parse(text, limits) {
        return Ok(docs);
    }
    if let Some(mut docs) = fast::parse(text, limits) {
        docs.retain(|n| n.value != Value::Null);
        return Ok(docs);
    }
    parse_with_serde(file, text, limits)
}

/// The serde path of [`parse_documents_with`]: every YAML feature, every error message.
// A diagnostic is the error of parsing a whole file (see `parse_documents`).
#[allow(clippy::result_large_err)]
fn parse_with_serde(file: &str, text: &str, limits: &Limits) -> Result<Vec<Node>, Diagnostic> {
    let max_depth = limits.max_depth;
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.budget = Some(limits.budget(text.len()));
    options.alias_limits = limits.alias_limits(text.len());
    let docs: Vec<Option<Node>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|err| yaml_error(file, &err))?;
    let docs: Vec<Node> = docs
        .into_iter()
        .flatten()
        .filter(|n| n.value != Value::Null)
        .collect();
    for doc in &docs {
        if doc.depth() > max_depth {
            return Err(Diagnostic::error(
                doc.location(file),
                format!("document nests deeper than the limit of {max_depth} levels"),
            ));
        }
    }
    Ok(docs)
}

fn yaml_error(file: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = err
        .location()
        .map(|l| (to_u32(l.line()).max(1), to_u32(l.column()).max(1)))
        .unwrap_or((1, 1));
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The parser prefixes "line N column M: "; the diagnostic already carries the position.
    let message = match first.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") && prefix.contains(" column ") => rest,
        _ => first,
    };
    Diagnostic::error(
        Location {
            file: file.to_string(),
            line,
            column,
        },
        format!("invalid YAML: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_of_keys_and_values() {
        let docs =
            parse_documents("a.yaml", "kind: X\nspec:\n  hosts:\n  - a.com\n---\nb: 1\n").unwrap();
        assert_eq!(docs.len(), 2);
        let spec = docs[0].get("spec").unwrap();
        let hosts = spec.get("hosts").unwrap();
        match &hosts.value {
            Value::Seq(items) => {
                assert_eq!(items[0].as_str(), Some("a.com"));
                assert_eq!((items[0].line, items[0].column), (4, 5));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(docs[1].get("b").unwrap().value, Value::Int(1));
    }

    #[test]
    fn parses_json_with_tabs() {
        let docs =
            parse_documents("a.json", "{\n\t\"kind\": \"X\",\n\t\"n\": [1, 2]\n}\n").unwrap();
        assert_eq!(docs[0].get("kind").unwrap().as_str(), Some("X"));
        assert_eq!(docs[0].get("kind").unwrap().line, 2);
    }

    #[test]
    fn reports_broken_yaml_with_position() {
        let err = parse_documents("b.yaml", "a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(err.location.file, "b.yaml");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn big_files_load_and_bombs_do_not() {
        // 300 000 nodes in one file: over the parser's fixed default budget, fine here.
        let mut big = String::from("items:\n");
        for i in 0..100_000 {
            big.push_str(&format!("- {{a: {i}}}\n"));
        }
        assert_eq!(parse_documents("big.yaml", &big).map(|d| d.len()), Ok(1));
        // A billion-laughs bomb: 9 levels of 10 aliases each.
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let prev = format!("*l{}", level - 1);
            let refs = [prev.as_str(); 10].join(", ");
            bomb.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        let err = parse_documents("bomb.yaml", &bomb).unwrap_err();
        assert!(
            err.message.contains("alias") || err.message.contains("budget"),
            "{}",
            err.message
        );
        // Limits are configurable per call.
        let small = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        assert!(parse_documents_with("big.yaml", &big, &small).is_err());
        let shallow = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse_documents_with("d.yaml", "a: {b: {c: [1]}}\n", &shallow).is_err());
        assert!(parse_documents_with("d.yaml", "a: {b: 1}\n", &shallow).is_ok());
    }

    #[test]
    fn rejects_too_deep_documents() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_documents("d.yaml", &deep).is_err());
    }
}
