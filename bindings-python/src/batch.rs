//! `check_many` and `check_many_on`: requests are decided while the rest are still being read.
//!
//! Reading a request dict needs the GIL, so it runs on the calling thread, one request after
//! the other; deciding does not. Before, a batch was read whole and then decided on the
//! core's threads: the cores waited for the reader, and the reader for the cores. Here the
//! reader queues each full chunk of requests for the worker threads and goes on reading;
//! the workers decide without the GIL. When the reader is done it lets go of the GIL,
//! decides what is still queued alongside the workers, waits for them, and builds the lazy
//! `Decision`s in order.
//!
//! The request objects (`BatchItem`: Python strings held by `PyBackedStr`, or an owned
//! `Request`) travel to a worker and back to the calling thread, which drops them with the
//! GIL held; a worker never touches a Python object.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use egress_policy::compile::Summary;
use egress_policy::{Connection, Engine};
use pyo3::prelude::*;

use crate::decision::PyDecision;
use crate::view::BatchItem;

/// Requests a worker takes at a time: large enough that handing one over costs little
/// next to deciding it, small enough that the last chunk leaves no worker waiting long.
const CHUNK: usize = 512;

/// A chunk of requests and its place in the batch.
type Chunk = (usize, Vec<BatchItem>);

/// Chunks decided by one thread, each with its place in the batch.
type Decided = Vec<(usize, Vec<BatchItem>, Vec<Summary>)>;

/// The queue of chunks not yet decided, which every worker (and, once it has read the
/// batch, the reader) takes from.
type Queue = Mutex<mpsc::Receiver<Chunk>>;

/// Takes chunks from `queue` and decides them until it is closed and empty.
fn decide_queued(engine: &Engine, connection: Option<&Connection>, queue: &Queue) -> Decided {
    let mut decided = Vec::new();
    loop {
        // The lock is held only to take a chunk, not to decide it; a poisoned lock means
        // a worker panicked, which `finish` surfaces.
        let next = match queue.lock() {
            Ok(chunks) => chunks.recv(),
            Err(_) => break,
        };
        let Ok((place, chunk)) = next else { break };
        let summaries = chunk
            .iter()
            .map(|item| item.summary(engine, connection))
            .collect();
        decided.push((place, chunk, summaries));
    }
    decided
}

/// The workers of one batch: the queue they take from and their handles.
struct Workers<'scope> {
    sender: mpsc::Sender<Chunk>,
    queue: &'scope Queue,
    handles: Vec<ScopedJoinHandle<'scope, Decided>>,
    /// Chunks handed out so far.
    given: usize,
}

impl<'scope> Workers<'scope> {
    /// Starts one worker per core but the reader's (at least one): a worker more would
    /// take turns with the reader, whose pace is the batch's while it reads. The reader
    /// joins them when it is done (`finish`).
    fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        queue: &'env Queue,
        sender: mpsc::Sender<Chunk>,
        engine: &'env Engine,
        connection: Option<&'env Connection>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let handles = (0..cores.saturating_sub(1).max(1))
            .map(|_| scope.spawn(move || decide_queued(engine, connection, queue)))
            .collect();
        Workers {
            sender,
            queue,
            handles,
            given: 0,
        }
    }

    /// Queues `chunk` for the next free worker.
    fn give(&mut self, chunk: Vec<BatchItem>) {
        // The queue's receiver lives as long as the workers (it is the scope's), so the
        // send cannot fail.
        let _ = self.sender.send((self.given, chunk));
        self.given += 1;
    }

    /// Closes the queue, decides what is left in it alongside the workers, waits for them:
    /// every chunk decided, in the order given.
    fn finish(self, engine: &Engine, connection: Option<&Connection>) -> Decided {
        drop(self.sender);
        let mut decided = decide_queued(engine, connection, self.queue);
        for handle in self.handles {
            match handle.join() {
                Ok(chunks) => decided.extend(chunks),
                // Deciding is total; a panic there is a bug to surface, not to hide.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        decided.sort_unstable_by_key(|(place, _, _)| *place);
        decided
    }
}

/// Decides every request of `requests` (an iterable), in order, on `connection` when given.
/// `read` reads the request at an index (in place or by the serde reader) and raises for
/// one of the wrong shape, which ends the batch with that error.
pub fn check_batch(
    py: Python<'_>,
    engine: &Engine,
    connection: Option<Arc<Connection>>,
    requests: &Bound<'_, PyAny>,
    mut read: impl FnMut(usize, &Bound<'_, PyAny>) -> PyResult<BatchItem>,
) -> PyResult<Vec<PyDecision>> {
    let on = connection.as_deref();
    // The queue outlives the workers; it closes when its last sender (this one, then the
    // workers') is dropped.
    let (sender, receiver) = mpsc::channel();
    let queue = Mutex::new(receiver);
    std::thread::scope(|scope| {
        // Moved in, so an unwinding reader drops it too and the workers stop: the scope
        // waits for them before the panic goes on.
        let sender = sender;
        let mut workers: Option<Workers<'_>> = None;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut count = 0;
        let read_all = (|| -> PyResult<()> {
            for (index, request) in requests.try_iter()?.enumerate() {
                chunk.push(read(index, &request?)?);
                count += 1;
                if chunk.len() == CHUNK {
                    // Workers start with the first full chunk: a short batch is decided
                    // on this thread, without starting any.
                    workers
                        .get_or_insert_with(|| {
                            Workers::start(scope, &queue, sender.clone(), engine, on)
                        })
                        .give(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                }
            }
            Ok(())
        })();
        // The rest is decided without the GIL: the last (partial) chunk here, the others
        // by the workers, which this thread then waits for.
        drop(sender);
        let (decided, last) = py.detach(|| {
            let last: Vec<Summary> = if read_all.is_ok() {
                chunk.iter().map(|item| item.summary(engine, on)).collect()
            } else {
                Vec::new()
            };
            let decided = workers.map(|w| w.finish(engine, on)).unwrap_or_default();
            (decided, last)
        });
        // On an error the requests read so far are dropped here, with the GIL held.
        read_all?;
        let mut decisions = Vec::with_capacity(count);
        let chunks = decided
            .into_iter()
            .map(|(_, items, summaries)| (items, summaries));
        for (items, summaries) in chunks.chain([(chunk, last)]) {
            decisions.extend(items.into_iter().zip(summaries).map(|(item, summary)| {
                PyDecision::lazy(summary, engine, item, connection.clone())
            }));
        }
        Ok(decisions)
    })
}
