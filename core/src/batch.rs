//! Batch decisions: many requests at once, and the one JSON-lines shape every front end
//! prints (`egress-policy eval`, Python `Engine.eval_lines`, WASM `engine.evalLines`).
//!
//! A JSON-lines input is decided line by line: blank lines are skipped (their numbers
//! still count), every other line gives one [`BatchLine`]:
//! `{"line": N, "decision": {...}, "error": null}`, or `{"line": N, "decision": null,
//! "error": "..."}` when the line is not a request. Line numbers are 1-based, as an editor shows them.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::compile::Summary;
use crate::decision::Decision;
use crate::engine::Engine;
use crate::request::{Request, RequestRef};

/// Below this many requests per thread, [`Engine::decide_many`] stays on one thread (a
/// decision takes about a microsecond; spawning costs more than small batches save).
const MIN_BATCH_PER_THREAD: usize = 4096;

/// One decided line of a JSON-lines batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchLine {
    /// 1-based line number in the input.
    pub line: usize,
    /// The decision, when the line is a request (`null` otherwise).
    pub decision: Option<Decision>,
    /// Why the line is not a request (invalid JSON, an unknown field, invalid UTF-8);
    /// `null` for a request. Both keys are always written, so every line has one shape.
    pub error: Option<String>,
}

impl BatchLine {
    /// The line as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        // A struct of a number, a decision and a string always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Engine {
    /// Decides every request, in order. Large batches are split over the available cores
    /// (on targets without threads, such as wasm32, everything runs on the caller's thread).
    ///
    /// ```
    /// use egress_policy::{Engine, Request};
    ///
    /// let engine = Engine::from_yaml("p.yaml", "")?;
    /// let requests = vec![Request::default(); 3];
    /// assert_eq!(engine.decide_many(&requests).len(), 3);
    /// # Ok::<(), egress_policy::Error>(())
    /// ```
    pub fn decide_many(&self, requests: &[Request]) -> Vec<Decision> {
        self.map_many(requests, |r| self.decide(r))
    }

    /// [`Engine::decide_many`] over borrowed views: what a binding that reads its own
    /// request objects in place (Python `check_many`) hands over, no `Request` built.
    ///
    /// ```
    /// use egress_policy::request::RequestRef;
    /// use egress_policy::Engine;
    ///
    /// let engine = Engine::from_yaml("p.yaml", "")?;
    /// let view = RequestRef { host: Some("httpbin.org"), ..RequestRef::default() };
    /// let decisions = engine.decide_many_ref(&[view, view]);
    /// assert_eq!(decisions.len(), 2);
    /// assert_eq!(decisions[0], engine.decide(&egress_policy::Request {
    ///     host: Some("httpbin.org".into()),
    ///     ..Default::default()
    /// }));
    /// # Ok::<(), egress_policy::Error>(())
    /// ```
    pub fn decide_many_ref(&self, requests: &[RequestRef<'_>]) -> Vec<Decision> {
        self.map_many(requests, |r| {
            self.decide_prepared(&self.prepare_ref(r)).to_decision()
        })
    }

    /// The [`Summary`] of each request's verdict, in order, split over the cores like
    /// [`Engine::decide_many_ref`]: what a binding needs to answer a batch before anyone
    /// asks for messages, routes or hops (those need [`Verdict::to_decision`]).
    ///
    /// ```
    /// use egress_policy::request::RequestRef;
    /// use egress_policy::Engine;
    ///
    /// let engine = Engine::from_yaml("p.yaml", "")?;
    /// let view = RequestRef { host: Some("httpbin.org"), ..RequestRef::default() };
    /// let summaries = engine.summarize_many_ref(&[view]);
    /// let decision = engine.decide_many_ref(&[view]).remove(0);
    /// assert_eq!(summaries[0].allowed, decision.allowed);
    /// assert_eq!(summaries[0].reason, decision.reason);
    /// # Ok::<(), egress_policy::Error>(())
    /// ```
    ///
    /// [`Verdict::to_decision`]: crate::compile::Verdict::to_decision
    pub fn summarize_many_ref(&self, requests: &[RequestRef<'_>]) -> Vec<Summary> {
        self.map_many(requests, |r| {
            self.decide_prepared(&self.prepare_ref(r)).summary()
        })
    }

    /// `decide` over `items` in order, split over the available cores for large batches.
    fn map_many<T: Sync, U: Send>(&self, items: &[T], decide: impl Fn(&T) -> U + Sync) -> Vec<U> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = cores.min(items.len() / MIN_BATCH_PER_THREAD).max(1);
        if threads == 1 {
            return items.iter().map(&decide).collect();
        }
        let chunk = items.len().div_ceil(threads);
        let decide = &decide;
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(decide).collect::<Vec<_>>()))
                .collect();
            let mut decisions = Vec::with_capacity(items.len());
            for handle in handles {
                match handle.join() {
                    Ok(part) => decisions.extend(part),
                    // `decide` is total; a panic there is a bug to surface, not to hide.
                    Err(payload) => std::panic::resume_unwind(payload),
                }
            }
            decisions
        })
    }

    /// Decides one line of JSON lines; `None` for a blank line.
    pub fn decide_line(&self, line: usize, text: &str) -> Option<BatchLine> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match serde_json::from_str::<Request>(text) {
            Ok(request) => BatchLine {
                line,
                decision: Some(self.decide(&request)),
                error: None,
            },
            Err(e) => BatchLine {
                line,
                decision: None,
                error: Some(e.to_string()),
            },
        })
    }

    /// Decides a whole JSON-lines text held in memory.
    ///
    /// ```
    /// use egress_policy::Engine;
    ///
    /// let engine = Engine::from_yaml("p.yaml", "")?;
    /// let lines = engine.decide_text("{\"host\": \"httpbin.org\"}\n\nnot json\n");
    /// assert_eq!(lines.len(), 2);
    /// assert!(lines[0].decision.is_some());
    /// assert_eq!((lines[1].line, lines[1].error.is_some()), (3, true));
    /// # Ok::<(), egress_policy::Error>(())
    /// ```
    pub fn decide_text(&self, jsonl: &str) -> Vec<BatchLine> {
        jsonl
            .lines()
            .enumerate()
            .filter_map(|(index, text)| self.decide_line(index + 1, text))
            .collect()
    }

    /// Decides JSON lines read from `input` as they arrive (constant memory). Yields an
    /// I/O error when reading fails; a line that is not UTF-8 is a [`BatchLine`] error.
    pub fn decide_lines<R: BufRead>(&self, input: R) -> DecideLines<'_, R> {
        DecideLines {
            engine: self,
            input,
            buffer: Vec::new(),
            number: 0,
        }
    }
}

/// The iterator of [`Engine::decide_lines`].
#[derive(Debug)]
pub struct DecideLines<'e, R> {
    engine: &'e Engine,
    input: R,
    buffer: Vec<u8>,
    number: usize,
}

impl<R: BufRead> Iterator for DecideLines<'_, R> {
    type Item = std::io::Result<BatchLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buffer.clear();
            match self.input.read_until(b'\n', &mut self.buffer) {
                Err(e) => return Some(Err(e)),
                Ok(0) => return None,
                Ok(_) => {}
            }
            self.number += 1;
            let decided = match std::str::from_utf8(&self.buffer) {
                Ok(text) => self.engine.decide_line(self.number, text),
                Err(_) => Some(BatchLine {
                    line: self.number,
                    decision: None,
                    error: Some("line is not valid UTF-8".to_string()),
                }),
            };
            if let Some(line) = decided {
                return Some(Ok(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::from_yaml(
            "p.yaml",
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
             metadata: {name: only-get, namespace: istio-egress}\n\
             spec:\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n",
        )
        .unwrap()
    }

    #[test]
    fn streamed_and_in_memory_batches_agree_line_for_line() {
        let text = "{\"workload\": {\"namespace\": \"istio-egress\"}, \"host\": \"a.com\", \"method\": \"GET\"}\n\
                    \n\
                    {\"workload\": {\"namespace\": \"istio-egress\"}, \"host\": \"a.com\", \"method\": \"POST\"}\r\n\
                    {\"nope\": 1}\n\
                    \u{0}";
        let streamed: Vec<BatchLine> = engine()
            .decide_lines(text.as_bytes())
            .collect::<std::io::Result<_>>()
            .unwrap();
        assert_eq!(streamed, engine().decide_text(text));
        let numbers: Vec<usize> = streamed.iter().map(|l| l.line).collect();
        assert_eq!(numbers, [1, 3, 4, 5]);
        assert!(streamed[0].decision.as_ref().unwrap().allowed);
        assert_eq!(streamed[1].decision.as_ref().unwrap().status, 403);
        assert!(streamed[2].error.as_ref().unwrap().contains("nope"));
        assert!(streamed[3].error.is_some());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&streamed[2].to_json()).unwrap(),
            serde_json::json!({"line": 4, "decision": null, "error": streamed[2].error})
        );
    }

    #[test]
    fn invalid_utf8_is_a_line_error_not_a_stop() {
        let input: &[u8] = b"\xff\xfe\n{\"host\": \"a.com\"}\n";
        let lines: Vec<BatchLine> = engine()
            .decide_lines(input)
            .collect::<std::io::Result<_>>()
            .unwrap();
        assert_eq!(lines[0].error.as_deref(), Some("line is not valid UTF-8"));
        assert!(lines[1].decision.is_some());
    }

    #[test]
    fn decide_many_keeps_order_across_threads() {
        let engine = engine();
        let requests: Vec<Request> = (0..3 * MIN_BATCH_PER_THREAD)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "workload": {"namespace": "istio-egress"},
                    "host": "a.com",
                    "method": if i % 3 == 0 { "GET" } else { "POST" },
                }))
                .unwrap()
            })
            .collect();
        let decisions = engine.decide_many(&requests);
        for (i, (request, decision)) in requests.iter().zip(&decisions).enumerate() {
            assert_eq!(decision, &engine.decide(request), "request {i}");
            assert_eq!(decision.allowed, i % 3 == 0);
        }
    }
}
