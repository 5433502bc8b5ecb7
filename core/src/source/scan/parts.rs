//! Parsing the items of a big sequence (a `List` file's `items`) in parts, on several
//! threads: see [`Scanner::split_seq`].

use super::{memchr, Scanner};
use crate::source::{Node, Value};

/// Sequences at the top of a document with at least this many bytes after their start (the
/// `items` of a big `List` file) are parsed in parts on several threads.
pub(super) const SPLIT_BYTES: usize = 2 << 20;

/// Sequences parsed in parts, for the tests.
#[cfg(test)]
pub(super) static SPLITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Most parts a sequence is parsed in.
const MAX_PARTS: usize = 4;

impl<'t> Scanner<'t> {
    /// Parses a long sequence at the top of a document (the `items` of a `List` file) in
    /// parts, each on its own thread: the text is cut at lines that start an item at the
    /// sequence's indentation, every part but the last is parsed as the same sequence up to
    /// its cut, which it must reach exactly (else the cut was not between two of its items:
    /// `None`, and the caller parses the sequence in one go), and the last part goes on to
    /// the sequence's end. An item's lines are all indented deeper than its `-` (the scanner
    /// handles no construct that could hide such a line), so the parts' items are the items
    /// of the whole.
    pub(super) fn split_seq(
        &mut self,
        indent: usize,
        depth: usize,
        indentless: bool,
    ) -> Option<Node> {
        let parts = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_PARTS);
        if parts < 2 {
            return None;
        }
        let rest = self.bytes.len().saturating_sub(self.pos);
        // Where each part starts: (first byte, its line, that line's start).
        let mut starts = vec![(self.pos, self.line, self.line_start)];
        let mut line = self.line;
        let mut counted = self.line_start;
        for k in 1..parts {
            let from = self.pos + rest / parts * k;
            let cut = self.item_line_after(from.max(counted + 1), indent)?;
            line += self
                .bytes
                .get(counted..cut)?
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted = cut;
            starts.push((cut + indent, line, cut));
        }
        let ends: Vec<usize> = starts
            .iter()
            .skip(1)
            .map(|&(_, _, cut)| cut)
            .chain([self.bytes.len()])
            .collect();
        let max_depth = self.max_depth;
        let text = self.text;
        let run = move |(start, line, line_start): (usize, usize, usize), end: usize| {
            let text = text.get(..end)?;
            let mut part = Scanner {
                text,
                bytes: text.as_bytes(),
                pos: start,
                line,
                line_start,
                max_depth,
                nodes: 0,
                collections: 0,
                items: Vec::new(),
                entries: Vec::new(),
                split_tried: true,
            };
            let node = part.seq_items(indent, depth, indentless)?;
            Some((node, part))
        };
        let results: Vec<Option<(Node, Scanner<'t>)>> = std::thread::scope(|scope| {
            let mut handles = Vec::with_capacity(parts);
            for (&start, &end) in starts.iter().zip(&ends).skip(1) {
                let spawned =
                    std::thread::Builder::new().spawn_scoped(scope, move || run(start, end));
                handles.push(spawned.ok());
            }
            let mut results = Vec::with_capacity(parts);
            results.push(
                starts
                    .first()
                    .zip(ends.first())
                    .and_then(|(&s, &e)| run(s, e)),
            );
            // Joined explicitly (see `import::parse_in_order`).
            for handle in handles {
                results.push(handle.and_then(|h| h.join().ok()).flatten());
            }
            results
        });
        let mut done = Vec::with_capacity(parts);
        for (result, &end) in results.into_iter().zip(&ends) {
            let (node, part) = result?;
            if part.pos < end && end != self.bytes.len() {
                return None;
            }
            let Value::Seq(items) = node.value else {
                return None;
            };
            done.push((node.line, node.column, items, part));
        }
        let mut items = Vec::with_capacity(done.iter().map(|(_, _, items, _)| items.len()).sum());
        let (line, column) = done.first().map(|&(line, column, ..)| (line, column))?;
        for (_, _, part_items, part) in done {
            items.extend(part_items);
            // Each part counted the sequence itself once.
            self.nodes += part.nodes.saturating_sub(1);
            self.collections += part.collections.saturating_sub(1);
            (self.pos, self.line, self.line_start) = (part.pos, part.line, part.line_start);
        }
        self.nodes += 1;
        self.collections += 1;
        #[cfg(test)]
        SPLITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Node {
            value: Value::Seq(items),
            line,
            column,
        })
    }

    /// The start of the first line at or after `from` that starts an item of a block
    /// sequence at `indent`.
    fn item_line_after(&self, from: usize, indent: usize) -> Option<usize> {
        let mut at = from;
        loop {
            // The start of the line holding `at - 1`'s successor: a line start at or after `from`.
            let start = if self.at(at.checked_sub(1)?) == b'\n' {
                at
            } else {
                at + memchr(b'\n', self.bytes.get(at..)?)? + 1
            };
            let spaces = self
                .bytes
                .get(start..)?
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
            if spaces == indent && self.entry_at(start + indent) {
                return Some(start);
            }
            at = start + 1;
        }
    }
}
