//! The fastest path of [`super::parse_documents_with`]: a hand-written scanner for the
//! block-style YAML that `kubectl` and people write, building located trees straight from
//! the bytes.
//!
//! About 60 % of a big load went to the general YAML scanner (`granit-parser`, under the
//! [`super::fast`] path), which handles all of YAML. Policy files use a small part of it:
//! block mappings and sequences, plain and quoted one-line scalars, one-line flow
//! collections, comments and `---` between documents. This module handles exactly that
//! subset and answers `None` at the first thing outside it — a tab, a carriage return or a
//! non-ASCII byte anywhere, anchors, aliases, tags, block scalars other than a literal `|`
//! or `|-` mapping value (kubectl's `last-applied-configuration`), multi-line scalars or
//! flow collections, empty values, complex or duplicate keys, document end markers and
//! directives, anything it does not recognise — so that the granit path (and then the serde
//! path) decides, with their error messages. When it answers, the trees, values and
//! locations are those of the granit path (the tests compare both on every YAML file of the
//! repository, on generated workloads and on generated YAML-like text); scalars are typed
//! and keys checked by the same rules ([`super::fast::plain_value`],
//! [`super::fast::plain_key`]), and the depth, document, node and event budgets are checked
//! as there.
//!
//! It never indexes out of bounds: every byte is read through [`Scanner::at`], which gives
//! 0 past the end (the text holds no NUL byte, checked first).

use super::fast::{has_duplicates, plain_key, plain_value};
use super::{to_u32, Key, Limits, Node, Value};
#[cfg(test)]
use parts::SPLITS;
use parts::SPLIT_BYTES;

/// Nesting this scanner recurses to at most, whatever the limits say: deeper documents go to
/// the other paths (which do not recurse), so no input can overflow the stack here.
const MAX_RECURSION: usize = 200;

/// Longest key kept here: YAML bounds simple keys (1024 characters), the parsers' look-ahead
/// option may be lower; longer keys go to the other paths.
const MAX_KEY: usize = 128;

/// Parses `text` into its non-empty located documents, or `None` when the other paths must
/// decide (see the module documentation).
pub(super) fn parse(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    let bytes = text.as_bytes();
    // Printable ASCII and line feeds only: columns are byte offsets, no BOM, no tab, no CR.
    let printable = |ok: bool, &b: &u8| ok & ((b == b'\n') | ((0x20..0x7f).contains(&b)));
    if !bytes
        .chunks(256)
        .all(|chunk| chunk.iter().fold(true, printable))
    {
        return None;
    }
    let budget = limits.budget(text.len());
    let mut scanner = Scanner {
        text,
        bytes,
        pos: 0,
        line: 1,
        line_start: 0,
        max_depth: limits.max_depth.min(MAX_RECURSION),
        nodes: 0,
        collections: 0,
        items: Vec::new(),
        entries: Vec::new(),
        split_tried: false,
    };
    let (docs, documents) = scanner.stream()?;
    // A document start and end event each, the stream's start and end, one per scalar and
    // two per collection: the event count of the granit path for the same text.
    let events = documents
        .saturating_mul(2)
        .saturating_add(2)
        .saturating_add(scanner.nodes)
        .saturating_add(scanner.collections);
    let fits = documents < budget.max_documents
        && scanner.nodes < budget.max_nodes
        && events < budget.max_events
        && text.len() <= budget.max_total_scalar_bytes;
    fits.then_some(docs)
}

struct Scanner<'t> {
    /// The text (a part's ends where the part does).
    text: &'t str,
    /// Its bytes.
    bytes: &'t [u8],
    /// The next byte to read.
    pos: usize,
    /// 1-based line of `line_start`.
    line: usize,
    /// Offset of the first byte of the current line.
    line_start: usize,
    /// Collections may nest this deep (enclosing collections of a collection < this).
    max_depth: usize,
    /// Scalars (keys included) and collections.
    nodes: usize,
    /// Collections.
    collections: usize,
    /// Children of the open sequences, innermost last (see `fast::Scratch`).
    items: Vec<Node>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<(Key, Node)>,
    /// Whether a sequence was parsed in parts (or tried to be) already.
    split_tried: bool,
}

/// How a plain scalar ended.
#[derive(PartialEq)]
enum End {
    /// At the end of its line or at a comment.
    Line,
    /// At `: ` or `:` before the end of the line: the scalar is a mapping key.
    Colon,
}

impl<'t> Scanner<'t> {
    /// The byte at `i`, or 0 past the end.
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    /// Line and 1-based column of the current byte.
    fn here(&self) -> (u32, u32) {
        (
            to_u32(self.line as u64),
            to_u32(self.pos.saturating_sub(self.line_start) as u64 + 1),
        )
    }

    /// Whether `b` ends a token: a blank, a line feed or the end of the text.
    fn is_break(b: u8) -> bool {
        matches!(b, b' ' | b'\n' | 0)
    }

    fn skip_spaces(&mut self) {
        while self.cur() == b' ' {
            self.pos += 1;
        }
    }

    /// Moves to the start of the next line (or the end of the text).
    fn next_line(&mut self) {
        match self
            .bytes
            .get(self.pos..)
            .and_then(|rest| memchr(b'\n', rest))
        {
            Some(offset) => {
                self.pos += offset + 1;
                self.line += 1;
                self.line_start = self.pos;
            }
            None => self.pos = self.bytes.len(),
        }
    }

    /// Ends a line after a token: blanks, then a comment (after a blank) or the line end.
    fn finish_line(&mut self) -> Option<()> {
        let start = self.pos;
        self.skip_spaces();
        match self.cur() {
            b'\n' | 0 => {}
            b'#' if self.pos > start => {}
            _ => return None,
        }
        self.next_line();
        Some(())
    }

    /// From the start of a line, skips blank and comment lines; stops at the start of the
    /// next line with content and returns its indentation, or `None` at the end of the text.
    fn skip_blank(&mut self) -> Option<usize> {
        loop {
            let mut i = self.pos;
            while self.at(i) == b' ' {
                i += 1;
            }
            match self.at(i) {
                0 => {
                    self.pos = self.bytes.len();
                    return None;
                }
                b'\n' | b'#' => {
                    self.pos = i;
                    self.next_line();
                }
                _ => return Some(i - self.pos),
            }
        }
    }

    /// Whether the current line (at its start) is a `---` or `...` marker line.
    fn at_marker(&self) -> bool {
        let p = self.pos;
        let three = self.bytes.get(p..p + 3);
        (three == Some(b"---") || three == Some(b"...")) && Self::is_break(self.at(p + 3))
    }

    /// Whether a block sequence entry (`-` then a blank or the line end) starts at `i`.
    fn entry_at(&self, i: usize) -> bool {
        self.at(i) == b'-' && Self::is_break(self.at(i + 1))
    }

    /// The documents of the text and how many documents the granit path counts.
    fn stream(&mut self) -> Option<(Vec<Node>, usize)> {
        let mut docs = Vec::new();
        let mut documents = 0usize;
        // A `---` was read and its document has no content yet.
        let mut open = false;
        // The current document has its node: only a marker or the end may follow.
        let mut full = false;
        while let Some(indent) = self.skip_blank() {
            if indent == 0 && self.at_marker() {
                if self.cur() != b'-' {
                    return None;
                }
                self.pos += 3;
                self.finish_line()?;
                if open {
                    // The previous document is empty: the granit path gives it a null.
                    self.nodes += 1;
                }
                documents += 1;
                open = true;
                full = false;
                continue;
            }
            if full {
                return None;
            }
            if !open {
                documents += 1;
            }
            open = false;
            full = true;
            self.pos += indent;
            let node = self.block_node(0, 0, true)?;
            if node.value != Value::Null {
                docs.push(node);
            }
        }
        if open {
            self.nodes += 1;
        }
        Some((docs, documents))
    }

    /// A node starting at the current byte (the first of its line's content, or after `- `
    /// when `compact`: then it may be a block mapping or sequence starting on this line).
    /// Consumes its lines; stops at the start of the line after it.
    fn block_node(&mut self, parent: usize, depth: usize, compact: bool) -> Option<Node> {
        let column = self.pos.saturating_sub(self.line_start);
        match self.cur() {
            b'|' if !compact => self.literal(parent),
            b'-' if Self::is_break(self.at(self.pos + 1)) => {
                if !compact {
                    return None;
                }
                self.block_seq(column, depth, false)
            }
            b'[' | b'{' => {
                let node = self.flow(depth)?;
                self.finish_line()?;
                Some(node)
            }
            b'"' | b'\'' => {
                let (line, col) = self.here();
                let start = self.pos;
                let text = self.quoted()?;
                if self.cur() == b':' && Self::is_break(self.at(self.pos + 1)) {
                    if !compact {
                        return None;
                    }
                    self.pos = start;
                    return self.block_map(column, depth);
                }
                self.finish_line()?;
                self.nodes += 1;
                Some(Node {
                    value: Value::Str(text),
                    line,
                    column: col,
                })
            }
            b => {
                if !plain_start(b, self.at(self.pos + 1)) {
                    return None;
                }
                let (line, col) = self.here();
                let start = self.pos;
                let (end, how) = self.plain_block()?;
                if how == End::Colon {
                    if !compact {
                        return None;
                    }
                    self.pos = start;
                    return self.block_map(column, depth);
                }
                let text = self.text.get(start..end)?;
                let value = plain_value(text)?;
                self.finish_line()?;
                self.nodes += 1;
                Some(Node {
                    value,
                    line,
                    column: col,
                })
            }
        }
    }

    /// A literal block scalar as a mapping's value: `|` or `|-` alone at the end of its line,
    /// then lines indented deeper than the mapping (`parent`), the first of them with text.
    /// Blank-only lines, a first empty line, a comment line ending it and a last line without
    /// a line break are left to the other paths, as are the other block scalar headers.
    fn literal(&mut self, parent: usize) -> Option<Node> {
        let mut p = self.pos + 1;
        let strip = self.at(p) == b'-';
        if strip {
            p += 1;
        }
        while self.at(p) == b' ' {
            p += 1;
        }
        if self.at(p) != b'\n' {
            return None;
        }
        self.pos = p;
        self.next_line();
        let indent = self.spaces(self.pos);
        if indent <= parent || matches!(self.at(self.pos + indent), b'\n' | 0) {
            return None;
        }
        // The granit path places the scalar at its first line's text.
        let (line, column) = (to_u32(self.line as u64), to_u32(indent as u64 + 1));
        let mut out = String::new();
        let mut breaks = 0usize;
        loop {
            let spaces = self.spaces(self.pos);
            match self.at(self.pos + spaces) {
                0 if spaces == 0 => break,
                b'\n' if spaces == 0 => {
                    breaks += 1;
                    self.next_line();
                    continue;
                }
                b'\n' | 0 | b'#' if spaces < indent => return None,
                b'\n' | 0 => return None,
                _ if spaces < indent => break,
                _ => {}
            }
            let start = self.pos + indent;
            let end = start + memchr(b'\n', self.bytes.get(start..)?)?;
            for _ in 0..breaks {
                out.push('\n');
            }
            breaks = 0;
            out.push_str(self.text.get(start..end)?);
            out.push('\n');
            self.pos = end;
            self.next_line();
        }
        if strip {
            out.pop();
        }
        self.nodes += 1;
        Some(Node {
            value: Value::Str(out),
            line,
            column,
        })
    }

    /// The number of blanks from `i` on.
    fn spaces(&self, i: usize) -> usize {
        self.bytes
            .get(i..)
            .map_or(0, |rest| rest.iter().take_while(|&&b| b == b' ').count())
    }

    /// Scans a plain scalar in block context from the current byte, to the end of its line,
    /// a comment or a `:` indicator; returns where its text ends (trailing blanks dropped)
    /// and leaves the position there.
    fn plain_block(&mut self) -> Option<(usize, End)> {
        let mut i = self.pos;
        let mut end = i;
        let how = loop {
            match self.at(i) {
                b'\n' | 0 => break End::Line,
                b' ' => {
                    if self.at(i + 1) == b'#' {
                        break End::Line;
                    }
                }
                b':' if Self::is_break(self.at(i + 1)) => break End::Colon,
                _ => end = i + 1,
            }
            i += 1;
        };
        if how == End::Colon && end != i {
            // `key :` — blanks before the indicator.
            return None;
        }
        self.pos = end;
        Some((end, how))
    }

    /// A block mapping whose first key starts at the current byte, at `indent`.
    fn block_map(&mut self, indent: usize, depth: usize) -> Option<Node> {
        if depth >= self.max_depth {
            return None;
        }
        let (line, column) = self.here();
        let start = self.entries.len();
        loop {
            let key = self.key()?;
            // After the `:`: the value on this line or on the next ones.
            self.pos += 1;
            let value = self.value(indent, depth + 1, true)?;
            self.entries.push((key, value));
            match self.skip_blank() {
                None => break,
                Some(0) if self.at_marker() => break,
                Some(i) if i < indent => break,
                Some(i) if i == indent && !self.entry_at(self.pos + i) => self.pos += i,
                Some(_) => return None,
            }
        }
        let entries = self.entries.split_off(start);
        if has_duplicates(&entries) {
            return None;
        }
        self.nodes += 1;
        self.collections += 1;
        Some(Node {
            value: Value::Map(entries),
            line,
            column,
        })
    }

    /// A mapping key at the current byte; leaves the position at its `:`.
    fn key(&mut self) -> Option<Key> {
        let (line, column) = self.here();
        let start = self.pos;
        let name = match self.cur() {
            b'"' | b'\'' => self.quoted()?,
            b => {
                if !plain_start(b, self.at(self.pos + 1)) {
                    return None;
                }
                let (end, how) = self.plain_block()?;
                if how != End::Colon {
                    return None;
                }
                let text = self.text.get(start..end)?;
                if !plain_key(text) {
                    return None;
                }
                text.to_owned()
            }
        };
        if self.pos.saturating_sub(start) > MAX_KEY
            || self.cur() != b':'
            || !Self::is_break(self.at(self.pos + 1))
        {
            return None;
        }
        self.nodes += 1;
        Some(Key { name, line, column })
    }

    /// The value after a mapping's `:` or a sequence's `-` (the position is just after it)
    /// of a collection at `indent`; `in_map` allows an indentless sequence.
    fn value(&mut self, indent: usize, depth: usize, in_map: bool) -> Option<Node> {
        self.skip_spaces();
        match self.cur() {
            b'\n' | 0 | b'#' => {
                self.next_line();
                let next = self.skip_blank()?;
                if next > indent {
                    self.pos += next;
                    self.block_node(indent, depth, true)
                } else if in_map && next == indent && self.entry_at(self.pos + next) {
                    self.pos += next;
                    self.block_seq(indent, depth, true)
                } else {
                    // An empty value: where the granit path places its null is not modelled.
                    None
                }
            }
            _ => self.block_node(indent, depth, !in_map),
        }
    }

    /// A block sequence whose first `-` is the current byte, at `indent`; `indentless` when
    /// it is a mapping's value at the mapping's own indentation.
    fn block_seq(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node> {
        if depth >= self.max_depth {
            return None;
        }
        if depth == 1
            && !self.split_tried
            && self.bytes.len().saturating_sub(self.pos) >= SPLIT_BYTES
        {
            // Once per text: a failed attempt costs a parse of the rest of the text.
            self.split_tried = true;
            let saved = (self.pos, self.line, self.line_start);
            if let Some(node) = self.split_seq(indent, depth, indentless) {
                return Some(node);
            }
            (self.pos, self.line, self.line_start) = saved;
        }
        self.seq_items(indent, depth, indentless)
    }

    /// The items of the block sequence whose first `-` is the current byte (see
    /// [`Self::block_seq`]).
    fn seq_items(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node> {
        // The granit path places a block sequence at its first `-`, and an indentless one
        // after that `-` and the blanks after it (at the line end when the item starts on
        // the next line; past a comment there, which is left to it).
        let (line, column) = if indentless {
            let mut first = self.pos + 1;
            while self.at(first) == b' ' {
                first += 1;
            }
            if self.at(first) == b'#' {
                return None;
            }
            (
                to_u32(self.line as u64),
                to_u32(first.saturating_sub(self.line_start) as u64 + 1),
            )
        } else {
            self.here()
        };
        let start = self.items.len();
        loop {
            self.pos += 1;
            let item = self.value(indent, depth + 1, false)?;
            self.items.push(item);
            match self.skip_blank() {
                None => break,
                Some(0) if self.at_marker() => break,
                Some(i) if i < indent => break,
                Some(i) if i == indent && self.entry_at(self.pos + i) => self.pos += i,
                Some(i) if i == indent && indentless => break,
                Some(_) => return None,
            }
        }
        let items = self.items.split_off(start);
        self.nodes += 1;
        self.collections += 1;
        Some(Node {
            value: Value::Seq(items),
            line,
            column,
        })
    }

    /// A flow collection on one line, from its `[` or `{` to after its closing bracket.
    fn flow(&mut self, depth: usize) -> Option<Node> {
        if depth >= self.max_depth {
            return None;
        }
        let (line, column) = self.here();
        let open = self.cur();
        self.pos += 1;
        self.skip_spaces();
        let value = if open == b'[' {
            let start = self.items.len();
            if self.cur() != b']' {
                loop {
                    let item = self.flow_node(depth + 1)?;
                    self.items.push(item);
                    if !self.flow_separator(b']')? {
                        break;
                    }
                }
            }
            Value::Seq(self.items.split_off(start))
        } else {
            let start = self.entries.len();
            if self.cur() != b'}' {
                loop {
                    let (key_line, key_column) = self.here();
                    let name = match self.cur() {
                        b'"' | b'\'' => self.quoted()?,
                        _ => {
                            let text = self.plain_flow(true)?;
                            if !plain_key(text) {
                                return None;
                            }
                            text.to_owned()
                        }
                    };
                    if self.cur() != b':' || self.at(self.pos + 1) != b' ' {
                        return None;
                    }
                    self.pos += 2;
                    self.skip_spaces();
                    self.nodes += 1;
                    let key = Key {
                        name,
                        line: key_line,
                        column: key_column,
                    };
                    let value = self.flow_node(depth + 1)?;
                    self.entries.push((key, value));
                    if !self.flow_separator(b'}')? {
                        break;
                    }
                }
            }
            let entries = self.entries.split_off(start);
            if has_duplicates(&entries) {
                return None;
            }
            Value::Map(entries)
        };
        // The closing bracket.
        self.pos += 1;
        self.nodes += 1;
        self.collections += 1;
        Some(Node {
            value,
            line,
            column,
        })
    }

    /// After a flow item: `,` and the next item (`true`), or the closing bracket (`false`,
    /// left at it).
    fn flow_separator(&mut self, close: u8) -> Option<bool> {
        self.skip_spaces();
        match self.cur() {
            b',' => {
                self.pos += 1;
                self.skip_spaces();
                // A trailing comma.
                if self.cur() == close {
                    return None;
                }
                Some(true)
            }
            b if b == close => Some(false),
            _ => None,
        }
    }

    /// A node inside a flow collection.
    fn flow_node(&mut self, depth: usize) -> Option<Node> {
        let (line, column) = self.here();
        let value = match self.cur() {
            b'[' | b'{' => return self.flow(depth),
            b'"' | b'\'' => Value::Str(self.quoted()?),
            _ => plain_value(self.plain_flow(false)?)?,
        };
        self.nodes += 1;
        Some(Node {
            value,
            line,
            column,
        })
    }

    /// A plain scalar inside a flow collection, up to a flow indicator (or, for a `key`, its
    /// `: `), blanks after it skipped. A `:` elsewhere, a comment or the line end sends the
    /// text to the other paths.
    fn plain_flow(&mut self, key: bool) -> Option<&'t str> {
        if !plain_start(self.cur(), self.at(self.pos + 1)) {
            return None;
        }
        let start = self.pos;
        let mut end = start;
        loop {
            match self.cur() {
                b',' | b'[' | b']' | b'{' | b'}' => break,
                b':' if key && end == self.pos && self.at(self.pos + 1) == b' ' => break,
                b':' | b'\n' | 0 => return None,
                b' ' if self.at(self.pos + 1) == b'#' => return None,
                b' ' => {}
                _ => end = self.pos + 1,
            }
            self.pos += 1;
        }
        if key && self.cur() != b':' {
            return None;
        }
        self.pos = end;
        self.skip_spaces();
        self.text.get(start..end)
    }

    /// A quoted scalar on one line, from its opening quote to after its closing one.
    fn quoted(&mut self) -> Option<String> {
        let quote = self.cur();
        self.pos += 1;
        let mut out = String::new();
        loop {
            let b = self.cur();
            match b {
                b'\n' | 0 => return None,
                b'\'' if quote == b'\'' => {
                    if self.at(self.pos + 1) == b'\'' {
                        out.push('\'');
                        self.pos += 2;
                        continue;
                    }
                    self.pos += 1;
                    break;
                }
                b'"' if quote == b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' if quote == b'"' => {
                    let (c, len) = self.escape()?;
                    out.push(c);
                    self.pos += len;
                    continue;
                }
                _ => out.push(char::from(b)),
            }
            self.pos += 1;
        }
        Some(out)
    }

    /// The character of the escape at the current `\` and its length in bytes.
    fn escape(&self) -> Option<(char, usize)> {
        let c = match self.at(self.pos + 1) {
            b'\\' => '\\',
            b'"' => '"',
            b'/' => '/',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'u' => {
                let hex = self.text.get(self.pos + 2..self.pos + 6)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                return Some((c, 6));
            }
            _ => return None,
        };
        Some((c, 2))
    }
}

/// Whether a plain scalar may start with `b` (followed by `next`) in the subset handled
/// here: not an indicator, and `-` only before a non-blank (`-1`, `-x`).
fn plain_start(b: u8, next: u8) -> bool {
    match b {
        b'-' => !Scanner::is_break(next),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | 0 => false,
        _ => true,
    }
}

/// The offset of the first `needle` in `haystack`.
fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

mod parts;
#[cfg(test)]
mod tests;
