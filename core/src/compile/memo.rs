//! An insert-only concurrent hash table: lookups take no lock and hand out references
//! that live as long as the table (the road memo lends roads to prepared requests).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Chunks (picked by the hash's top bits), each allocated on its first insert.
const CHUNKS: usize = 64;
/// Slots per chunk (probed linearly from the hash's low bits).
const SLOTS: usize = 512;
/// How many slots an insert or lookup probes before giving up.
const PROBES: usize = 48;

type Chunk<T> = Box<[OnceLock<Box<Entry<T>>>]>;

/// A stored value after its hash, in this order: a lookup reads the hash, then the start
/// of the value, from one cache line.
#[repr(C)]
struct Entry<T> {
    hash: u64,
    value: T,
}

/// Values by 64-bit hash (equal hashes are told apart by the caller's predicate). Never
/// removes anything; holds at most `capacity` values.
pub(crate) struct Memo<T> {
    chunks: Box<[OnceLock<Chunk<T>>]>,
    len: AtomicUsize,
    capacity: usize,
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

fn start(hash: u64) -> (usize, usize) {
    ((hash >> 58) as usize % CHUNKS, hash as usize % SLOTS)
}

impl<T> Memo<T> {
    /// An empty table for up to `capacity` values (at most half the slots).
    pub(crate) fn new(capacity: usize) -> Self {
        Memo {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            capacity: capacity.min(CHUNKS * SLOTS / 2),
        }
    }

    /// How many values it holds.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn probe(&self, hash: u64) -> impl Iterator<Item = &OnceLock<Box<Entry<T>>>> {
        let (chunk, first) = start(hash);
        let chunk = self.chunks.get(chunk).and_then(OnceLock::get);
        (0..PROBES).filter_map(move |i| chunk.and_then(|c| c.get((first + i) % SLOTS)))
    }

    /// The value stored under `hash` for which `same` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut same: impl FnMut(&T) -> bool) -> Option<&T> {
        for slot in self.probe(hash) {
            match slot.get() {
                None => return None,
                Some(entry) if entry.hash == hash && same(&entry.value) => {
                    return Some(&entry.value)
                }
                Some(_) => {}
            }
        }
        None
    }

    /// Stores `value` under `hash` and lends it back; gives it back when the table is
    /// full (or the probed slots are). Two threads storing equal values at once may both
    /// succeed: lookups find the first. (`Err(None)`: stored but not readable back, which
    /// a `OnceLock` that was just set cannot do.)
    pub(crate) fn insert(&self, hash: u64, value: T) -> Result<&T, Option<T>> {
        if self.len() >= self.capacity {
            return Err(Some(value));
        }
        let (chunk, _) = start(hash);
        if let Some(c) = self.chunks.get(chunk) {
            c.get_or_init(|| (0..SLOTS).map(|_| OnceLock::new()).collect());
        }
        let mut entry = Box::new(Entry { hash, value });
        for slot in self.probe(hash) {
            if slot.get().is_some() {
                continue;
            }
            match slot.set(entry) {
                Ok(()) => {
                    self.len.fetch_add(1, Ordering::Relaxed);
                    return slot.get().map(|e| &e.value).ok_or(None);
                }
                Err(back) => entry = back,
            }
        }
        Err(Some(entry.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stores_and_stops_at_capacity() {
        let memo = Memo::new(100);
        // Colliding hashes (the predicate tells the values apart).
        let hash = |i: u64| (i % 7).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for i in 0..100u64 {
            assert_eq!(memo.insert(hash(i), i).ok(), Some(&i));
        }
        assert_eq!(memo.insert(hash(3), 1000), Err(Some(1000)));
        assert_eq!(memo.len(), 100);
        for i in 0..100u64 {
            assert_eq!(memo.find(hash(i), |v| *v == i), Some(&i));
        }
        assert_eq!(memo.find(hash(3), |v| *v == 1000), None);
        // A full probe run gives the value back.
        let crowded = Memo::new(1000);
        let stored = (0..100u64)
            .filter(|i| crowded.insert(0, *i).is_ok())
            .count();
        assert_eq!(stored, PROBES);
        assert_eq!(crowded.insert(0, 7), Err(Some(7)));
        assert_eq!(memo.find(1 << 60, |_| true), None);
    }
}
