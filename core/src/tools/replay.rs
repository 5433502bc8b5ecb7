//! Replay access logs against policies: decide every logged request and count, per source
//! identity × host × method × path class, how many would be allowed or denied and why;
//! against a second (`before`) policy set, only what changes.
//!
//! Reading is streamed: lines are cut into blocks, blocks are decided on worker threads
//! (each with its own [`Tally`]) and tallies merge at the end, so memory grows with the
//! number of distinct request classes, never with the log. Identical requests are decided
//! once per worker (a bounded decision cache keyed by every attribute the log carries).
//!
//! How a log line becomes a request ([`LogReader::to_request`]):
//!
//! * HTTP (a method and an authority are logged): `host` = `:authority` as sent,
//!   `method`, `path`, `port` from the upstream cluster (`outbound|PORT||host`) when known;
//! * TLS passthrough (no method, an SNI): `protocol: tls`, `sni` and `host` = the SNI;
//! * TCP (no method, no SNI): `protocol: tcp` to the cluster's host and port;
//! * ztunnel: the destination service (`dst.hosts`, else `dst.service`) and the port of
//!   `dst.hbone_addr` (`tls` for 443, else `tcp`);
//! * the sender's principal: the identity field (`DOWNSTREAM_PEER_URI_SAN`, `src.identity`,
//!   or a `--map identity=KEY` field), else the source address looked up in the address →
//!   identity map; none means plaintext.
//!
//! Path class: the path without query, cut after its first segment (`/api/v1/x` →
//! `/api/*`); TLS and TCP requests have the class `-`.

mod class;
mod json_scan;
pub mod logs;
mod options;
mod report;
mod tally;

use std::fmt::Write as _;
use std::hash::BuildHasher as _;
use std::io::{self, BufRead};
use std::sync::mpsc;

use crate::engine::Engine;

use class::{classify_view, write_class};
use tally::{row_key, write_verdict};

pub use class::{classify, path_class};
pub use logs::{Field, LogFormat, LogReader, Observed, ISTIO_TEXT_FORMAT};
pub use options::{parse_identities, LogOptions};
pub use report::ReplayReport;
pub use tally::{LineError, Row, Tally, TallyOutcome};

/// How many malformed lines are kept as examples.
pub const MALFORMED_SAMPLES: usize = 10;

/// Entries of a worker's decision cache before it is emptied (bounds memory).
const CACHE_LIMIT: usize = 1 << 18;

/// Bytes per block handed to a worker.
const BLOCK_BYTES: usize = 1 << 20;

/// Separates the parts of a row or cache key (a control character no log field carries).
const SEPARATOR: char = '\u{1f}';

/// The policies to decide with: `after` (the policies) and optionally `before`.
#[derive(Debug, Clone, Copy)]
pub struct Engines<'a> {
    /// The policies replayed.
    pub after: &'a Engine,
    /// The policies before the change, for a change report.
    pub before: Option<&'a Engine>,
}

/// One worker's state: a tally plus a scratch key.
struct Worker<'a> {
    engines: Engines<'a>,
    reader: &'a LogReader,
    tally: Tally,
    key: String,
    row_key: String,
}

impl<'a> Worker<'a> {
    fn new(engines: Engines<'a>, reader: &'a LogReader) -> Self {
        Worker {
            engines,
            reader,
            tally: Tally::default(),
            key: String::new(),
            row_key: String::new(),
        }
    }

    fn line(&mut self, file: &str, number: u64, line: &str) {
        self.tally.lines += 1;
        let observed = match self.reader.observe(line) {
            Ok(Some(observed)) => observed,
            Ok(None) => return,
            Err(message) => return self.tally.note_malformed(file, number, message),
        };
        self.tally.requests += 1;
        if observed.request.is_none() {
            cache_key(&mut self.key, &observed);
            if let Some(row) = self
                .tally
                .cache
                .get(self.key.as_str())
                .and_then(|&i| self.tally.rows.get_mut(i))
            {
                row.count += 1;
                return;
            }
        }
        let request = match self.reader.to_view(&observed) {
            Ok(request) => request,
            Err(message) => {
                self.tally.requests -= 1;
                return self.tally.note_malformed(file, number, message);
            }
        };
        // The row key is written from the request and the verdicts in place; a Row (with
        // its owned strings) is built only for a class not seen before.
        let after_prepared = self.engines.after.prepare_ref(&request);
        let after = self.engines.after.decide_prepared(&after_prepared);
        let before_prepared = self.engines.before.map(|e| (e, e.prepare_ref(&request)));
        let before = before_prepared
            .as_ref()
            .map(|(engine, prepared)| engine.decide_prepared(prepared));
        let key = &mut self.row_key;
        key.clear();
        write_class(key, &request);
        if let Some(before) = &before {
            write_verdict(key, before);
        }
        key.push(SEPARATOR);
        write_verdict(key, &after);
        let index = match self.tally.index.get(key.as_str()).copied() {
            Some(i) => {
                if let Some(existing) = self.tally.rows.get_mut(i) {
                    existing.count += 1;
                }
                i
            }
            None => {
                let (identity, host, method, path) = classify_view(&request);
                let row = Row {
                    identity,
                    host,
                    method,
                    path,
                    before: before.as_ref().map(TallyOutcome::of),
                    after: TallyOutcome::of(&after),
                    count: 1,
                    example: format!("{file}:{number}"),
                };
                debug_assert_eq!(row_key(&row), *key);
                self.tally.index.insert(key.clone(), self.tally.rows.len());
                self.tally.rows.push(row);
                self.tally.rows.len() - 1
            }
        };
        if observed.request.is_none() {
            let hash = self.tally.seen.hasher().hash_one(self.key.as_str());
            if self.tally.seen.len() >= CACHE_LIMIT {
                self.tally.seen.clear();
            }
            if self.tally.seen.insert(hash) {
                return;
            }
            if self.tally.cache.len() >= CACHE_LIMIT {
                self.tally.cache.clear();
            }
            self.tally.cache.insert(self.key.clone(), index);
        }
    }
}

fn cache_key(key: &mut String, o: &Observed<'_>) {
    key.clear();
    // The source address only matters when there is no identity (address map lookup).
    let address = if o.identity.is_some() {
        &None
    } else {
        &o.source_address
    };
    for part in [
        &o.identity,
        &o.authority,
        &o.method,
        &o.path,
        address,
        &o.sni,
        &o.upstream_cluster,
    ] {
        if let Some(value) = part {
            key.push_str(value);
        }
        key.push(SEPARATOR);
    }
    if let Some(port) = o.port {
        let _ = write!(key, "{port}");
    }
}

/// Replays lines held in memory (`file` names them in examples and errors; line numbers
/// start at 1).
pub fn replay_lines<'l>(
    engines: Engines<'_>,
    reader: &LogReader,
    file: &str,
    lines: impl IntoIterator<Item = &'l str>,
) -> Tally {
    let mut tally = Tally::default();
    replay_into(&mut tally, engines, reader, file, 1, lines);
    tally
}

/// Adds lines to a partial tally, numbering them from `first_line`: a stream read batch by
/// batch (a Spark partition) keeps one tally, and its decision cache, across batches.
pub fn replay_into<'l>(
    tally: &mut Tally,
    engines: Engines<'_>,
    reader: &LogReader,
    file: &str,
    first_line: u64,
    lines: impl IntoIterator<Item = &'l str>,
) {
    let mut worker = Worker::new(engines, reader);
    worker.tally = std::mem::take(tally);
    for (i, line) in lines.into_iter().enumerate() {
        worker.line(file, first_line + i as u64, line);
    }
    *tally = worker.tally;
}

/// Replays a stream on `threads` workers (at least 1) in constant memory. `progress` is
/// called with the bytes read so far after each block.
pub fn replay_reader<R: BufRead>(
    engines: Engines<'_>,
    reader: &LogReader,
    file: &str,
    mut input: R,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<Tally> {
    let threads = threads.max(1);
    // Blocks go to the workers with the line number of their first line and how many of
    // their bytes are input; the workers hand them back for the next reads, so the reader
    // reads straight into memory already faulted in (no copy from a buffer, no fresh
    // pages per block).
    let (send, receive) = mpsc::sync_channel::<(u64, Vec<u8>, usize)>(threads * 2);
    let receive = std::sync::Mutex::new(receive);
    let (give_back, returned) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 0..threads {
            let receive = &receive;
            let give_back = give_back.clone();
            handles.push(scope.spawn(move || {
                let mut worker = Worker::new(engines, reader);
                loop {
                    let next = match receive.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => break,
                    };
                    let Ok((first, block, filled)) = next else {
                        break;
                    };
                    let bytes = block.get(..filled).unwrap_or_default();
                    // Logs are UTF-8 but for the odd damaged line: check the whole block at
                    // once (vectorized) and fall back to the lossy copy only when it fails.
                    let text = match std::str::from_utf8(bytes) {
                        Ok(text) => std::borrow::Cow::Borrowed(text),
                        Err(_) => String::from_utf8_lossy(bytes),
                    };
                    // Lines cut with the `memchr` crate's vectorized search (the `str`
                    // splitter's byte search is several times slower on long blocks).
                    let mut start = 0;
                    let mut number = first;
                    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
                        worker.line(file, number, text.get(start..end).unwrap_or_default());
                        start = end + 1;
                        number += 1;
                    }
                    if let Some(last) = text.get(start..).filter(|rest| !rest.is_empty()) {
                        worker.line(file, number, last);
                    }
                    drop(text);
                    // The reader may be gone (an error); the block is then just dropped.
                    let _ = give_back.send(block);
                }
                worker.tally
            }));
        }
        drop(give_back);
        let mut read = 0u64;
        let mut line_no = 1u64;
        let mut outcome = Ok(());
        // Blocks are cut at the last newline of about BLOCK_BYTES of input (the rest starts
        // the next block), so the input is scanned for newlines once, by the workers.
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let mut block = returned.try_recv().unwrap_or_default();
            // A carried line longer than a block reads on until its newline.
            let want = if carry.len() >= BLOCK_BYTES {
                carry.len() + BLOCK_BYTES
            } else {
                BLOCK_BYTES
            };
            if block.len() < want {
                block.resize(want, 0);
            }
            let mut filled = carry.len();
            if let Some(start) = block.get_mut(..filled) {
                start.copy_from_slice(&carry);
            }
            carry.clear();
            let mut eof = false;
            while filled < want {
                let Some(free) = block.get_mut(filled..want) else {
                    break;
                };
                match input.read(free) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            let valid = block.get(..filled).unwrap_or_default();
            if !eof && outcome.is_ok() {
                // Keep the unfinished last line for the next block (a line longer than a
                // block grows the next one until its newline).
                match memchr::memrchr(b'\n', valid) {
                    Some(end) => {
                        carry.extend_from_slice(valid.get(end + 1..).unwrap_or_default());
                        filled = end + 1;
                    }
                    None => {
                        carry.extend_from_slice(valid);
                        continue;
                    }
                }
            }
            let valid = block.get(..filled).unwrap_or_default();
            if valid.is_empty() {
                break;
            }
            let lines = memchr::memchr_iter(b'\n', valid).count() as u64
                + u64::from(valid.last() != Some(&b'\n'));
            read += filled as u64;
            if send.send((line_no, block, filled)).is_err() {
                break;
            }
            line_no += lines;
            progress(read);
            if outcome.is_err() || eof {
                break;
            }
        }
        drop(send);
        let mut tally = Tally::default();
        for handle in handles {
            if let Ok(part) = handle.join() {
                tally.merge(part);
            }
        }
        outcome.map(|()| tally)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn path_classes() {
        assert_eq!(path_class("/api/v1/x?q=1", 1), "/api/*");
        assert_eq!(path_class("/get", 1), "/get");
        assert_eq!(path_class("/", 1), "/");
        assert_eq!(path_class("/a/b/c", 2), "/a/b/*");
        assert_eq!(path_class("/a/b", 0), "/*");
    }

    /// Blocks are cut at newlines of a buffered stream: line numbers, counts and rows of a
    /// multi-block stream on several threads (a line longer than a block, a last line
    /// without newline, malformed lines on both sides of block edges) equal the in-memory
    /// replay of the same lines.
    #[test]
    fn streamed_blocks_equal_the_in_memory_replay() {
        let engine = Engine::from_yaml(
            "p.yaml",
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: istio-system}\nspec:\n  action: ALLOW\n  rules:\n  - to:\n    - operation: {hosts: [a.example.com]}\n",
        )
        .unwrap();
        let reader = LogReader::new(LogFormat::Requests, &[], None, HashMap::new()).unwrap();
        let engines = Engines {
            after: &engine,
            before: None,
        };
        let mut lines: Vec<String> = Vec::new();
        for i in 0..24_000 {
            lines.push(match i % 997 {
                0 => format!("not json {i}"),
                _ => format!(
                    r#"{{"source":{{"principal":"cluster.local/ns/n{}/sa/s"}},"url":"http://{}.example.com/p/{i}"}}"#,
                    i % 7,
                    if i % 3 == 0 { "a" } else { "b" }
                ),
            });
        }
        lines.insert(11_000, "x".repeat(BLOCK_BYTES + BLOCK_BYTES / 2));
        let mut text = lines.join("\n");
        let expected = replay_lines(engines, &reader, "log", lines.iter().map(String::as_str));
        for (threads, newline_at_end) in [(1, true), (3, false)] {
            if newline_at_end {
                text.push('\n');
            } else {
                text.pop();
            }
            let input = io::BufReader::with_capacity(8192, text.as_bytes());
            let got = replay_reader(engines, &reader, "log", input, threads, &mut |_| {}).unwrap();
            let (want, got) = (
                ReplayReport::from_tally(expected.clone(), false),
                ReplayReport::from_tally(got, false),
            );
            assert!(want.malformed > 20, "{}", want.malformed);
            assert_eq!(got, want, "threads {threads}");
        }
    }
}
