//! Hand-rolled decoding of located trees: type checks, unknown-field detection and field
//! paths, collecting every problem instead of stopping at the first.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::source::{Node, Value};

/// Decoding context of one resource: where diagnostics go and how they are labelled.
pub(crate) struct Cx<'a> {
    /// File name.
    pub file: &'a str,
    /// `Kind namespace/name` of the resource being decoded.
    pub resource: Option<String>,
    /// Collected diagnostics.
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Cx<'_> {
    fn push(&mut self, severity: Severity, line: u32, column: u32, field: &str, message: String) {
        self.diags.push(Diagnostic {
            severity,
            location: Location {
                file: self.file.to_string(),
                line,
                column,
            },
            resource: self.resource.clone(),
            field: (!field.is_empty()).then(|| field.to_string()),
            message,
            help: None,
            code: None,
        });
    }

    /// Reports an error at `node` for field path `field`.
    pub fn error(&mut self, node: &Node, field: &str, message: impl Into<String>) {
        self.push(
            Severity::Error,
            node.line,
            node.column,
            field,
            message.into(),
        );
    }

    /// Reports a warning at `node` for field path `field`.
    pub fn warn(&mut self, node: &Node, field: &str, message: impl Into<String>) {
        self.push(
            Severity::Warning,
            node.line,
            node.column,
            field,
            message.into(),
        );
    }

    /// Number of errors so far (to tell whether a resource decoded cleanly).
    pub fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// Joins a parent path and a key: `spec` + `rules` = `spec.rules`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A mapping whose keys were checked against the allowed set.
pub(crate) struct Map<'n> {
    /// The mapping node.
    pub node: &'n Node,
    /// Its field path.
    pub path: String,
}

impl<'n> Map<'n> {
    /// The value of `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key).filter(|n| n.value != Value::Null)
    }

    /// Whether `key` is written (even as null or empty).
    pub fn has(&self, key: &str) -> bool {
        self.node.get(key).is_some()
    }

    /// The field path of `key`.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// A string field.
    pub fn str(&self, cx: &mut Cx, key: &str) -> Option<String> {
        let node = self.get(key)?;
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            // The path is built only for the error.
            _ => string(cx, node, &self.path_of(key)),
        }
    }

    /// A boolean field.
    pub fn bool(&self, cx: &mut Cx, key: &str) -> Option<bool> {
        let node = self.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                cx.error(
                    node,
                    &self.path_of(key),
                    format!("expected a boolean, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// A port field (integer, or a string of digits).
    pub fn port(&self, cx: &mut Cx, key: &str) -> Option<u16> {
        let node = self.get(key)?;
        // The path is built only for the error.
        port_value(node).or_else(|| port(cx, node, &self.path_of(key)))
    }

    /// A list of strings; every item is checked (non-empty string).
    pub fn str_list(&self, cx: &mut Cx, key: &str) -> Vec<Item<'n>> {
        match self.get(key) {
            Some(node) => str_list(cx, node, &self.path_of(key)),
            None => Vec::new(),
        }
    }

    /// The texts of a list of strings (see [`Map::str_list`]), without their nodes.
    pub fn str_values(&self, cx: &mut Cx, key: &str) -> Vec<String> {
        self.str_list(cx, key)
            .into_iter()
            .map(|i| i.value)
            .collect()
    }

    /// A list of mappings or other values, with each item's path.
    pub fn list(&self, cx: &mut Cx, key: &str) -> Vec<(&'n Node, String)> {
        match self.get(key) {
            Some(node) => list(cx, node, &self.path_of(key)),
            None => Vec::new(),
        }
    }

    /// A nested mapping with its allowed keys.
    pub fn map(&self, cx: &mut Cx, key: &str, allowed: &[&str]) -> Option<Map<'n>> {
        self.get(key)
            .and_then(|n| map(cx, n, self.path_of(key), allowed))
    }

    /// A `string: string` mapping (labels, annotations).
    pub fn labels(&self, cx: &mut Cx, key: &str) -> BTreeMap<String, String> {
        match self.get(key) {
            Some(node) => labels(cx, node, &self.path_of(key)),
            None => BTreeMap::new(),
        }
    }
}

/// A string item of a list with its node and path (for located value errors).
#[derive(Debug, Clone)]
pub(crate) struct Item<'n> {
    /// The string.
    pub value: String,
    /// Its node.
    pub node: &'n Node,
    /// The list's field path, shared by its items (an item's own path is only needed
    /// for an error: built then).
    list: Rc<str>,
    /// Its index in the list.
    index: usize,
}

impl Item<'_> {
    /// Its field path (`...paths[2]`).
    pub fn path(&self) -> String {
        format!("{}[{}]", self.list, self.index)
    }
}

/// Checks that `node` is a mapping whose keys are all in `allowed` (and not repeated).
/// `allowed` containing `"*"` accepts any key.
pub(crate) fn map<'n, P: AsRef<str> + Into<String>>(
    cx: &mut Cx,
    node: &'n Node,
    path: P,
    allowed: &[&str],
) -> Option<Map<'n>> {
    // A path given as a `String` becomes the map's own without a copy.
    let owned = path;
    let path = owned.as_ref();
    let Value::Map(entries) = &node.value else {
        cx.error(
            node,
            path,
            format!("expected a mapping, found {}", node.type_name()),
        );
        return None;
    };
    for (at, (key, _)) in entries.iter().enumerate() {
        let key_node = Node {
            value: Value::Null,
            line: key.line,
            column: key.column,
        };
        let earlier = entries.get(..at).unwrap_or_default();
        if earlier.iter().any(|(k, _)| k.name == key.name) {
            cx.error(
                &key_node,
                &join(path, &key.name),
                format!("duplicate field `{}`", key.name),
            );
        }
        if !allowed.contains(&"*") && !allowed.contains(&key.name.as_str()) {
            let mut expected: Vec<&str> = allowed.to_vec();
            expected.sort_unstable();
            cx.error(
                &key_node,
                &join(path, &key.name),
                format!(
                    "unknown field `{}`, expected one of {}",
                    key.name,
                    expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    Some(Map {
        node,
        path: owned.into(),
    })
}

/// A string node.
pub(crate) fn string(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        _ => {
            cx.error(
                node,
                path,
                format!("expected a string, found {}", node.type_name()),
            );
            None
        }
    }
}

/// A port: an integer 0..=65535 or a string of digits in that range.
pub(crate) fn port(cx: &mut Cx, node: &Node, path: &str) -> Option<u16> {
    let parsed = port_value(node);
    if parsed.is_none() {
        let shown = match &node.value {
            Value::Int(i) => i.to_string(),
            Value::Str(s) => format!("`{s}`"),
            _ => node.type_name().to_string(),
        };
        cx.error(
            node,
            path,
            format!("port {shown} is not a number in 0..65535"),
        );
    }
    parsed
}

/// The port `node` holds, if it is one (see [`port`]).
fn port_value(node: &Node) -> Option<u16> {
    match &node.value {
        Value::Int(i) => u16::try_from(*i).ok(),
        Value::Str(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// A list node, each item with its path.
pub(crate) fn list<'n>(cx: &mut Cx, node: &'n Node, path: &str) -> Vec<(&'n Node, String)> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (item, format!("{path}[{i}]")))
            .collect(),
        _ => {
            cx.error(
                node,
                path,
                format!("expected a list, found {}", node.type_name()),
            );
            Vec::new()
        }
    }
}

/// A list of non-empty strings.
pub(crate) fn str_list<'n>(cx: &mut Cx, node: &'n Node, path: &str) -> Vec<Item<'n>> {
    let Value::Seq(items) = &node.value else {
        // Reports the type error.
        list(cx, node, path);
        return Vec::new();
    };
    let shared: Rc<str> = Rc::from(path);
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match &item.value {
            Value::Str(value) if !value.is_empty() => out.push(Item {
                value: value.clone(),
                node: item,
                list: Rc::clone(&shared),
                index,
            }),
            Value::Str(_) => cx.error(
                item,
                &format!("{path}[{index}]"),
                "empty string is not allowed",
            ),
            _ => {
                // Reports the type error.
                string(cx, item, &format!("{path}[{index}]"));
            }
        }
    }
    out
}

/// A `string: string` mapping; scalar values are rendered as text.
pub(crate) fn labels(cx: &mut Cx, node: &Node, path: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Value::Map(entries) = &node.value else {
        cx.error(
            node,
            path,
            format!("expected a mapping, found {}", node.type_name()),
        );
        return out;
    };
    for (key, value) in entries {
        let text = match &value.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Null => String::new(),
            Value::Seq(_) | Value::Map(_) => {
                cx.error(
                    value,
                    &join(path, &key.name),
                    format!("expected a string, found {}", value.type_name()),
                );
                continue;
            }
        };
        out.insert(key.name.clone(), text);
    }
    out
}

// ------------------------------------------------------------------------------------------
// Helpers shared by the vendor importers

/// The top-level keys of every resource egress-policy reads.
pub(crate) const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Checks the top-level keys of a resource against [`TOP_LEVEL_FIELDS`].
pub(crate) fn top_level(cx: &mut Cx, doc: &super::Doc) {
    map(cx, doc.node, "", TOP_LEVEL_FIELDS);
}

/// Where something was written, for diagnostics raised after the import of its resource
/// (in an importer's `link`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Site {
    location: Location,
    resource: Option<String>,
    field: String,
}

impl Site {
    /// The place of `node` (field path `field`) in the resource `cx` decodes.
    pub(crate) fn new(cx: &Cx, node: &Node, field: &str) -> Self {
        Site {
            location: node.location(cx.file),
            resource: cx.resource.clone(),
            field: field.to_string(),
        }
    }

    /// A warning at this place.
    pub(crate) fn warning(&self, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            location: self.location.clone(),
            resource: self.resource.clone(),
            field: (!self.field.is_empty()).then(|| self.field.clone()),
            message,
            help: None,
            code: None,
        }
    }
}

/// A required field: reports it when missing (or null); `hint` is appended to the message.
pub(crate) fn required<'n>(cx: &mut Cx, m: &Map<'n>, key: &str, hint: &str) -> Option<&'n Node> {
    let node = m.get(key);
    if node.is_none() {
        cx.error(
            m.node,
            &m.path_of(key),
            format!("missing field `{key}`{hint}"),
        );
    }
    node
}

/// A string field restricted to `allowed` values (compared exactly); reports other values.
pub(crate) fn enum_field(cx: &mut Cx, m: &Map, key: &str, allowed: &[&str]) -> Option<String> {
    let node = m.get(key)?;
    let path = m.path_of(key);
    let value = string(cx, node, &path)?;
    checked_enum(cx, node, &path, key, value.clone(), &value, allowed)
}

/// A string field holding one word of the closed vocabulary `T` (compared exactly);
/// reports other values with the list of known ones.
pub(crate) fn vocabulary_field<T: crate::model::Closed>(
    cx: &mut Cx,
    m: &Map,
    key: &str,
) -> Option<T> {
    // A value of the vocabulary needs no list of the allowed ones (built for the error).
    if let Some(Value::Str(text)) = m.get(key).map(|n| &n.value) {
        if let Some(value) = T::parse_wire(text) {
            return Some(value);
        }
    }
    let allowed: Vec<String> = T::all().iter().map(ToString::to_string).collect();
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    enum_field(cx, m, key, &allowed).and_then(|value| T::parse_wire(&value))
}

/// Like [`enum_field`], but the value is upper-cased first (Gloo accepts protocol and mode
/// names in any case); returns the upper-cased value.
pub(crate) fn upper_enum_field(
    cx: &mut Cx,
    m: &Map,
    key: &str,
    allowed: &[&str],
) -> Option<String> {
    let node = m.get(key)?;
    let path = m.path_of(key);
    let value = string(cx, node, &path)?;
    checked_enum(
        cx,
        node,
        &path,
        key,
        value.to_ascii_uppercase(),
        &value,
        allowed,
    )
}

/// `candidate` if it is in `allowed`, else a located error naming what was `written`.
fn checked_enum(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    key: &str,
    candidate: String,
    written: &str,
    allowed: &[&str],
) -> Option<String> {
    if allowed.contains(&candidate.as_str()) {
        return Some(candidate);
    }
    cx.error(
        node,
        path,
        format!(
            "unknown value `{written}` for `{key}`, expected one of {}",
            quoted(allowed)
        ),
    );
    None
}

/// The values as a list of back-quoted words: `` `A`, `B` ``.
pub(crate) fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A model field that matches any of `values` (and has no negated values).
pub(crate) fn values<P>(values: Vec<P>) -> crate::model::Field<P> {
    crate::model::Field {
        values,
        not_values: Vec::new(),
    }
}

/// Whether `key` is written with content: anything but null or an empty list.
pub(crate) fn written(m: &Map, key: &str) -> bool {
    match m.get(key).map(|n| &n.value) {
        Some(Value::Seq(items)) => !items.is_empty(),
        Some(_) => true,
        None => false,
    }
}

/// Whether the node is an empty list.
pub(crate) fn is_empty_list(node: &Node) -> bool {
    matches!(&node.value, Value::Seq(items) if items.is_empty())
}

/// Which letters a DNS label may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Lower case only: Kubernetes object names (namespaces, service accounts), which the
    /// API server rejects in upper case.
    Lower,
    /// Either case: host names, which DNS compares without case (Istio accepts `Example.COM`).
    Any,
}

/// An RFC 1123 label: 1–63 ASCII letters (of the given [`Case`]), digits and `-`, neither
/// starting nor ending with `-`.
pub(crate) fn is_dns_label(text: &str, case: Case) -> bool {
    let letter_ok = |c: char| match case {
        Case::Lower => c.is_ascii_lowercase(),
        Case::Any => c.is_ascii_alphabetic(),
    };
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| letter_ok(c) || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// An RFC 1123 subdomain in lower case (Kubernetes service account names): dot-separated
/// [`Case::Lower`] labels, at most 253 characters.
pub(crate) fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text
            .split('.')
            .all(|label| is_dns_label(label, Case::Lower))
}

/// The checks a TSB or Gloo resource gets before its decoder: its top-level keys, then its
/// API version (see [`require_version`]); whether the decoder should run.
pub(crate) fn header_ok(cx: &mut Cx, doc: &super::Doc, versions: &[&str]) -> bool {
    top_level(cx, doc);
    require_version(cx, doc, versions)
}

/// Checks the document's API version against the `versions` egress-policy reads for its
/// kind; reports a located error at `apiVersion` when it is not one of them.
pub(crate) fn require_version(cx: &mut Cx, doc: &super::Doc, versions: &[&str]) -> bool {
    if versions.contains(&doc.version.as_str()) {
        return true;
    }
    let at = doc.node.get("apiVersion").unwrap_or(doc.node);
    let expected: Vec<String> = versions
        .iter()
        .map(|v| format!("`{}/{v}`", doc.group))
        .collect();
    cx.error(
        at,
        "apiVersion",
        format!(
            "unsupported apiVersion `{}/{}` for {}, expected {}",
            doc.group,
            doc.version,
            doc.kind,
            match expected.as_slice() {
                [one] => one.clone(),
                _ => format!("one of {}", expected.join(", ")),
            }
        ),
    );
    false
}

#[cfg(test)]
mod tests {
    use super::{is_dns_label, is_dns_subdomain, Case};

    #[test]
    fn dns_labels_follow_the_case_rule() {
        assert!(is_dns_label("istio-system", Case::Lower));
        assert!(!is_dns_label("Istio-System", Case::Lower));
        assert!(is_dns_label("Istio-System", Case::Any));
        for bad in ["", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad, Case::Any), "{bad}");
        }
        assert!(is_dns_subdomain("my.account"));
        assert!(!is_dns_subdomain("My.account"));
    }
}
