//! The fast path of [`super::parse_documents_with`]: located trees built straight from the
//! YAML parser's events (`granit-parser`, the parser under `serde-saphyr`), without serde.
//! It runs when the block-YAML scanner of [`super::scan`] declines a text; its helpers for
//! typing scalars and checking keys serve both.
//!
//! Building the tree through serde's `Spanned` wrapper costs about seven times the parse
//! itself. The fast path handles the YAML that policy files are made of — plain, quoted and
//! block scalars, block and flow collections, comments, several documents — and answers
//! `None` at the first thing it does not model exactly: anchors and aliases, tags, merge
//! keys, complex or duplicate keys, numeric-looking keys, scalars whose type it cannot tell
//! for sure, a budget that may be breached, any parse error. The caller then parses the text
//! again with `serde-saphyr`, so every tree, error message and location stays the one the
//! serde path gives (the tests in this module compare both on every YAML file of the
//! repository and on generated workloads).

use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

use super::{to_u32, Key, Limits, Node, Value};

/// A collection being built. Its children wait on the scratch stacks of [`Scratch`] from
/// `start` on, and move into a vector of exactly their number when it ends: one allocation
/// per collection, no growth and no spare capacity (the trees of a big load are most of
/// its memory and of its allocations).
enum Frame {
    Seq {
        start: usize,
        line: u32,
        column: u32,
    },
    Map {
        start: usize,
        key: Option<Key>,
        line: u32,
        column: u32,
    },
}

/// The children of every open collection, innermost last.
#[derive(Default)]
struct Scratch {
    items: Vec<Node>,
    entries: Vec<(Key, Node)>,
}

/// Parses `text` into located documents, or `None` when the serde path must decide (see the
/// module documentation). The documents are those of the serde path before the empty ones
/// are dropped and the depth is checked.
pub(super) fn parse(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    let budget = limits.budget(text.len());
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    options.flow_nesting_limit = budget.flow_nesting_limit;
    options.block_nesting_limit = options
        .block_nesting_limit
        .max(budget.max_depth.saturating_add(1));
    options.set_emit_comments(false);
    let mut parser = Parser::new_from_str_with_options(text, options);

    let mut docs: Vec<Node> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut scratch = Scratch::default();
    let mut documents = 0usize;
    let mut nodes = 0usize;
    let mut events = 0usize;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.ok()?;
        events += 1;
        let done = match event {
            Event::StreamStart | Event::DocumentEnd => false,
            Event::StreamEnd => true,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > budget.max_documents {
                    return None;
                }
                false
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                nodes += 1;
                let (line, column) = position(&span);
                match stack.last_mut() {
                    Some(Frame::Map {
                        key: key @ None, ..
                    }) => {
                        *key = Some(Key {
                            name: key_text(value, style)?,
                            line,
                            column,
                        });
                    }
                    _ => {
                        let node = Node {
                            value: scalar(value, style)?,
                            line,
                            column,
                        };
                        attach(&mut stack, &mut scratch, &mut docs, node)?;
                    }
                }
                false
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= limits.max_depth {
                    return None;
                }
                // A collection as a mapping key.
                if matches!(stack.last(), Some(Frame::Map { key: None, .. })) {
                    return None;
                }
                nodes += 1;
                let (line, column) = position(&span);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        start: scratch.items.len(),
                        line,
                        column,
                    }
                } else {
                    Frame::Map {
                        start: scratch.entries.len(),
                        key: None,
                        line,
                        column,
                    }
                });
                false
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop()? {
                    Frame::Seq {
                        start,
                        line,
                        column,
                    } => Node {
                        value: Value::Seq(scratch.items.split_off(start)),
                        line,
                        column,
                    },
                    Frame::Map {
                        start,
                        key: None,
                        line,
                        column,
                    } => {
                        let entries = scratch.entries.split_off(start);
                        if has_duplicates(&entries) {
                            return None;
                        }
                        Node {
                            value: Value::Map(entries),
                            line,
                            column,
                        }
                    }
                    Frame::Map { key: Some(_), .. } => return None,
                };
                attach(&mut stack, &mut scratch, &mut docs, node)?;
                false
            }
            // Aliases, anchors and anything newer than this code: the serde path decides.
            _ => return None,
        };
        if done {
            break;
        }
    }
    let fits = stack.is_empty()
        && nodes <= budget.max_nodes
        && events <= budget.max_events
        && text.len() <= budget.max_total_scalar_bytes;
    fits.then_some(docs)
}

fn position(span: &Span) -> (u32, u32) {
    (
        to_u32(span.start.line() as u64),
        to_u32(span.start.col() as u64 + 1),
    )
}

/// Puts a finished node into its parent (or makes it a document).
fn attach(
    stack: &mut [Frame],
    scratch: &mut Scratch,
    docs: &mut Vec<Node>,
    node: Node,
) -> Option<()> {
    match stack.last_mut() {
        None => docs.push(node),
        Some(Frame::Seq { .. }) => scratch.items.push(node),
        Some(Frame::Map { key, .. }) => scratch.entries.push((key.take()?, node)),
    }
    Some(())
}

/// Whether two keys of a mapping are the same text.
pub(super) fn has_duplicates(entries: &[(Key, Node)]) -> bool {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .any(|(i, (a, _))| entries.iter().skip(i + 1).any(|(b, _)| a.name == b.name));
    }
    let mut names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w.first() == w.last())
}

/// The text of a mapping key, when it is surely a string for the serde path (which renders
/// numbers, booleans and null keys as text of their value, compares integer keys by value
/// and merges `<<`).
fn key_text(value: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    if style == ScalarStyle::Plain && !plain_key(&value) {
        return None;
    }
    Some(value.into_owned())
}

/// Whether a plain scalar is a mapping key the fast paths may keep as its text.
pub(super) fn plain_key(text: &str) -> bool {
    text != "<<" && plain_kind(text) == PlainKind::Str
}

/// The value of a scalar, as the serde path types it.
fn scalar(value: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::Str(value.into_owned()));
    }
    match plain_kind(&value) {
        PlainKind::Str => Some(Value::Str(value.into_owned())),
        _ => plain_value(&value),
    }
}

/// The value of a plain scalar, as the serde path types it.
pub(super) fn plain_value(text: &str) -> Option<Value> {
    match plain_kind(text) {
        PlainKind::Str => Some(Value::Str(text.to_owned())),
        PlainKind::Null => Some(Value::Null),
        PlainKind::Bool(b) => Some(Value::Bool(b)),
        PlainKind::Int(i) => Some(Value::Int(i)),
        PlainKind::Other => typed_by_serde(text),
    }
}

#[derive(Debug, PartialEq)]
enum PlainKind {
    /// Surely a string.
    Str,
    Null,
    Bool(bool),
    /// A plain decimal integer.
    Int(i64),
    /// May be a number, a YAML 1.1 boolean, a non-finite float...: ask the serde path.
    Other,
}

/// What a plain scalar is, for the texts this module is sure about.
fn plain_kind(text: &str) -> PlainKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return PlainKind::Null,
        "true" => return PlainKind::Bool(true),
        "false" => return PlainKind::Bool(false),
        _ => {}
    }
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return PlainKind::Other;
    };
    if first.is_ascii_alphabetic() {
        // Booleans of YAML 1.1 (y, n, yes, no, on, off, in any case) and the spellings of
        // infinity and not-a-number that float parsers accept.
        const WORDS: [&str; 8] = ["y", "n", "yes", "no", "on", "off", "true", "false"];
        let word = WORDS.iter().any(|w| text.eq_ignore_ascii_case(w));
        let prefix = bytes
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"inf") || p.eq_ignore_ascii_case(b"nan"));
        if word || prefix {
            return PlainKind::Other;
        }
        return PlainKind::Str;
    }
    if first.is_ascii_digit() || first == b'-' {
        let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
        let plain_decimal = !digits.is_empty()
            && digits.len() <= 18
            && digits.iter().all(u8::is_ascii_digit)
            && (digits.len() == 1 || digits.first() != Some(&b'0'));
        if plain_decimal {
            if let Ok(i) = text.parse::<i64>() {
                return PlainKind::Int(i);
            }
        }
        return PlainKind::Other;
    }
    if matches!(first, b'+' | b'.' | b'_') {
        return PlainKind::Other;
    }
    PlainKind::Str
}

/// Types a plain scalar the fast path is not sure about by deserializing it alone with
/// `serde-saphyr`, which is what the serde path does with it in place. Texts that might not
/// parse alone as the same plain scalar (with blanks, or starting like a document marker)
/// are left to the serde path, and so is any answer other than a scalar of the same text.
fn typed_by_serde(text: &str) -> Option<Value> {
    if text.chars().any(char::is_whitespace) || text.starts_with("--") || text.starts_with("..") {
        return None;
    }
    let value: Value = serde_saphyr::from_str(text).ok()?;
    match &value {
        Value::Str(s) if s != text => None,
        Value::Seq(_) | Value::Map(_) => None,
        _ => Some(value),
    }
}

#[cfg(test)]
mod tests;
