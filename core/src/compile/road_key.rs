//! The road memo's key: the raw request fields that everything `road::walk` and
//! `road::route` read of a normalised request (SEMANTICS §9) is derived from, written
//! once as one flat byte string so that a memo hit compares one contiguous buffer instead
//! of chasing a dozen strings and maps.
//!
//! The key holds the fields as the caller gave them, before any check or normalisation:
//! two requests with the same key digest alike, so a memo hit also lends what the first
//! digest derived from them (host, port, the peer's SPIFFE parts: [`Known`]) and the
//! checks of those fields, which passed then, are not repeated (`digest_known`).
//!
//! [`Known`]: crate::request::Known

use std::cell::Cell;
use std::hash::Hasher;

use crate::model::Labels;
use crate::request::{Headers, Item, RequestRef};

use super::hash::FxHasher;
use super::prepare::RouteReads;

/// The first byte of a length that does not fit one byte (four follow).
const LONG: u8 = 0xFE;
/// An absent text (no length follows).
const ABSENT: u8 = 0xFF;

/// Where the bytes of one request's key go ([`KeyBytes`], which the hash and the memo's
/// comparison both read).
/// Every item is length-prefixed or tagged, so equal byte streams mean equal keys.
trait KeyOut {
    fn bytes(&mut self, b: &[u8]);

    /// A text, after its length: one byte below [`LONG`], else [`LONG`] and four bytes
    /// (`None` is [`ABSENT`]), so that a typical key fits two cache lines.
    #[inline(always)]
    fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.bytes(&[ABSENT]),
            Some(t) => {
                self.count(t.len());
                self.bytes(t.as_bytes());
            }
        }
    }

    /// A length or count: one byte below [`LONG`], else [`LONG`] and four bytes.
    #[inline(always)]
    fn count(&mut self, n: usize) {
        match u8::try_from(n) {
            Ok(short) if short < LONG => self.bytes(&[short]),
            _ => {
                self.bytes(&[LONG]);
                self.bytes(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
            }
        }
    }

    fn labels(&mut self, labels: Option<&Labels>) {
        // No labels and an empty map digest alike.
        let Some(labels) = labels else {
            self.count(0);
            return;
        };
        self.count(labels.len());
        for (k, v) in labels {
            self.text(Some(k));
            self.text(Some(v));
        }
    }

    /// The headers as given, in the caller's order: each line tagged `1` (one value) or
    /// `2` (the values of a repeated header, counted), `0` after the last.
    fn headers(&mut self, headers: Headers<'_>) {
        let _ = headers.try_each(|name, item| {
            self.text(Some(name));
            match item {
                Item::One(v) => {
                    self.bytes(&[1]);
                    self.text(Some(v));
                }
                Item::Many(values) => {
                    self.bytes(&[2]);
                    self.count(values.len());
                    for v in values {
                        self.text(Some(v));
                    }
                }
            }
            Ok::<(), ()>(())
        });
        self.bytes(&[0]);
    }
}

/// Writes the key of `r`: first the sender's half ([`write_sender`]: principal, source
/// namespace, pod labels, cluster, named workload; fixed per connection in a proxy, so a
/// [`Connection`](super::connection::Connection) writes and hashes it once), then the request's
/// ([`write_request`]).
///
/// One function for both halves (they are inlined into it and into [`write_rest`]):
/// calling the two in turn costs ~70 instructions more per request.
fn write(r: &RequestRef<'_>, reads: RouteReads, out: &mut KeyBytes) {
    write_sender(r, out);
    write_request(r, reads, out);
}

/// The request's half alone, after a [`SenderKey`]'s copy.
fn write_rest(r: &RequestRef<'_>, reads: RouteReads, out: &mut KeyBytes) {
    write_request(r, reads, out);
}

/// The sender's half of the key (self-delimiting: every text is length-prefixed).
#[inline(always)]
fn write_sender(r: &RequestRef<'_>, out: &mut KeyBytes) {
    out.text(r.principal);
    out.text(r.source_namespace);
    out.labels(r.pod_labels);
    out.text(r.cluster);
    match r.workload {
        None => out.bytes(&[0]),
        Some(w) => {
            out.bytes(&[1]);
            out.text(Some(&w.namespace));
            out.labels(Some(&w.labels));
        }
    }
}

/// The request's half of the key: transport, port, URL, authority, SNI and destination
/// address (registry name, ambient capture), the JWT's issuer, and method, path and
/// headers only when some route match reads them.
#[inline(always)]
fn write_request(r: &RequestRef<'_>, reads: RouteReads, out: &mut KeyBytes) {
    out.bytes(&[r.protocol.map_or(0, |p| 1 + p as u8)]);
    match r.port {
        None => out.bytes(&[0]),
        Some(port) => {
            out.bytes(&[1]);
            out.bytes(&port.to_le_bytes());
        }
    }
    out.text(r.url.map(|url| url_key(url, reads.path)));
    out.text(r.host);
    out.text(r.sni);
    out.text(r.destination_ip);
    // The issuer part of the JWT principal (`iss/sub`), as the road's JWT check reads it.
    match r.jwt {
        None => out.bytes(&[0]),
        Some(j) => {
            out.bytes(&[1]);
            out.text(
                j.principal
                    .as_deref()
                    .and_then(|p| p.rsplit_once('/').map(|(iss, _)| iss)),
            );
        }
    }
    if reads.method {
        out.text(r.method);
    }
    if reads.path {
        out.text(r.path.map(before_query));
    }
    if reads.headers {
        out.headers(r.headers);
    }
}

/// `path` without its query and fragment: what path normalisation reads (the query is the
/// request's own and would fill the memo with one road per query).
#[inline]
fn before_query(path: &str) -> &str {
    path.find(['?', '#'])
        .and_then(|at| path.get(..at))
        .unwrap_or(path)
}

/// The part of a request URL the road reads: scheme and authority, and the path (without
/// query) when `path` (some route reads it). A URL without `://` is kept whole (the
/// digest refuses it).
fn url_key(url: &str, path: bool) -> &str {
    if path {
        return before_query(url);
    }
    let Some(authority_at) = url.find("://").map(|at| at + 3) else {
        return url;
    };
    let end = url
        .get(authority_at..)
        .and_then(|rest| rest.find(['/', '?', '#']))
        .map_or(url.len(), |at| authority_at + at);
    url.get(..end).unwrap_or(url)
}

thread_local! {
    /// This thread's key buffer, lent to one key at a time: a key is written into memory
    /// already allocated, without zeroing a stack buffer first (a quarter of the write's
    /// cost when the buffer was a 384-byte array) and without a heap allocation for a
    /// long key (many pod labels).
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The largest key buffer a thread keeps between requests.
const KEPT: usize = 16 * 1024;

/// One request's key, written once: its hash and the memo's comparison both read these
/// bytes (one walk of the request instead of one per use).
pub(crate) struct KeyBytes {
    bytes: Vec<u8>,
}

impl KeyOut for KeyBytes {
    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }
}

impl KeyBytes {
    /// Writes the key of `r` and calls `f` with it and its hash ([`KeyBytes::hash`]): the
    /// sender's half copied from `sender` and hashed from where it left off when given, else
    /// all written from `r` and hashed whole. The bytes live in this thread's buffer; a
    /// nested call (none today) or a thread being torn down writes into a buffer of its own.
    #[inline]
    pub(crate) fn with<T>(
        sender: Option<&SenderKey>,
        r: &RequestRef<'_>,
        reads: RouteReads,
        f: impl FnOnce(&KeyBytes, u64) -> T,
    ) -> T {
        let mut key = KeyBytes {
            bytes: BUFFER.try_with(Cell::take).unwrap_or_default(),
        };
        key.bytes.clear();
        let hash = match sender {
            Some(sender) => {
                key.bytes.extend_from_slice(&sender.prefix);
                write_rest(r, reads, &mut key);
                // The sender's whole words are hashed already: the same hash as the whole
                // key's (`FxHasher` takes eight bytes at a time).
                let mut h = sender.state;
                h.write(key.bytes.get(sender.hashed..).unwrap_or_default());
                spread(h.finish())
            }
            None => {
                write(r, reads, &mut key);
                key.hash()
            }
        };
        let out = f(&key, hash);
        // A buffer grown by an outsized key (long headers a route reads) is not kept.
        if key.bytes.capacity() <= KEPT {
            let _ = BUFFER.try_with(|buffer| buffer.set(key.bytes));
        }
        out
    }

    /// The key of `r`.
    #[cfg(test)]
    pub(crate) fn of(r: &RequestRef<'_>, reads: RouteReads) -> Self {
        let mut key = KeyBytes::empty();
        write(r, reads, &mut key);
        key
    }

    fn empty() -> Self {
        KeyBytes { bytes: Vec::new() }
    }

    /// The key's bytes.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The memo's hash of the key.
    #[inline]
    pub(crate) fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write(self.as_slice());
        spread(h.finish())
    }

    /// The key to store in the memo (a miss).
    pub(crate) fn to_key(&self) -> RoadKey {
        RoadKey {
            bytes: self.as_slice().into(),
        }
    }
}

/// The memo's table uses a hash as it is: spread the bits.
#[inline(always)]
fn spread(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// A stored road key (built on a memo miss only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoadKey {
    bytes: Box<[u8]>,
}

impl RoadKey {
    /// The key of `r`.
    #[cfg(test)]
    pub(crate) fn of(r: &RequestRef<'_>, reads: RouteReads) -> Self {
        KeyBytes::of(r, reads).to_key()
    }

    /// Whether a request's key is this one.
    #[inline]
    pub(crate) fn is(&self, key: &KeyBytes) -> bool {
        *self.bytes == *key.as_slice()
    }

    /// Whether `r` has this key.
    #[cfg(test)]
    pub(crate) fn same(&self, r: &RequestRef<'_>, reads: RouteReads) -> bool {
        self.is(&KeyBytes::of(r, reads))
    }
}

/// The sender's half of road keys, written and hashed once ([`Connection`]): a request's
/// key then starts with a copy of these bytes and hashes only its own half.
///
/// [`Connection`]: super::connection::Connection
#[derive(Debug, Clone)]
pub(crate) struct SenderKey {
    prefix: Box<[u8]>,
    /// The hash of `prefix[..hashed]`, its whole eight-byte words: what [`KeyBytes::hash`]
    /// has hashed of them when it reaches the rest of the key.
    state: FxHasher,
    hashed: usize,
}

impl SenderKey {
    /// The sender's half of the key of `r` (its sender fields; the rest is not read).
    pub(crate) fn of(r: &RequestRef<'_>) -> Self {
        let mut key = KeyBytes::empty();
        write_sender(r, &mut key);
        let hashed = key.bytes.len() - key.bytes.len() % 8;
        let mut state = FxHasher::default();
        state.write(key.bytes.get(..hashed).unwrap_or_default());
        SenderKey {
            prefix: key.bytes.into_boxed_slice(),
            state,
            hashed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_requests_apart_by_every_raw_field_the_road_reads() {
        let reads = RouteReads::default();
        let base = RequestRef {
            host: Some("a.com"),
            principal: Some("cluster.local/ns/x/sa/y"),
            ..RequestRef::default()
        };
        let key = RoadKey::of(&base, reads);
        assert!(key.same(&base, reads));
        assert_eq!(
            KeyBytes::of(&base, reads).hash(),
            KeyBytes::of(&base, reads).hash()
        );
        let labels: Labels = [("app".to_string(), "a".to_string())].into();
        let pairs = [("x-a", "1")];
        for other in [
            // Raw: the same peer with its scheme, or the host in upper case, is another
            // key (both digest alike; the memo holds each once).
            RequestRef {
                principal: Some("spiffe://cluster.local/ns/x/sa/y"),
                ..base
            },
            RequestRef {
                host: Some("A.com"),
                ..base
            },
            RequestRef {
                host: Some("b.com"),
                ..base
            },
            RequestRef {
                host: Some("a.co"),
                ..base
            },
            RequestRef {
                principal: None,
                ..base
            },
            RequestRef {
                port: Some(81),
                ..base
            },
            RequestRef {
                protocol: Some(crate::request::Protocol::Tls),
                ..base
            },
            RequestRef {
                url: Some("http://a.com/"),
                ..base
            },
            RequestRef {
                destination_ip: Some("10.0.0.1"),
                ..base
            },
            RequestRef {
                cluster: Some("east"),
                ..base
            },
            RequestRef {
                pod_labels: Some(&labels),
                ..base
            },
            RequestRef {
                source_namespace: Some("x"),
                sni: Some("a.com"),
                ..base
            },
        ] {
            assert!(!key.same(&other, reads), "{other:?}");
        }
        // No pod labels and an empty map are one key.
        let empty = Labels::new();
        assert!(key.same(
            &RequestRef {
                pod_labels: Some(&empty),
                ..base
            },
            reads
        ));
        // Method, path and headers are part of the key only when a route reads them.
        let post = RequestRef {
            method: Some("POST"),
            path: Some("/p"),
            headers: Headers::Pairs(&pairs),
            ..base
        };
        assert!(key.same(&post, reads));
        for read in [
            RouteReads {
                method: true,
                ..reads
            },
            RouteReads {
                path: true,
                ..reads
            },
            RouteReads {
                headers: true,
                ..reads
            },
        ] {
            assert!(!RoadKey::of(&base, read).same(&post, read), "{read:?}");
        }
    }

    /// A URL's path and any query are the request's own unless a route reads the path;
    /// a `path`'s query is never part of the key.
    #[test]
    fn queries_and_unread_paths_share_a_key() {
        let reads = RouteReads::default();
        let paths = RouteReads {
            path: true,
            ..reads
        };
        let url = |u| RequestRef {
            url: Some(u),
            ..RequestRef::default()
        };
        let key = RoadKey::of(&url("https://a.com:8443/x?q=1"), reads);
        assert!(key.same(&url("https://a.com:8443/y#f"), reads));
        assert!(key.same(&url("https://a.com:8443"), reads));
        assert!(key.same(&url("https://a.com:8443?z"), reads));
        assert!(!key.same(&url("https://a.com:8444/x?q=1"), reads));
        assert!(!key.same(&url("http://a.com:8443/x?q=1"), reads));
        let key = RoadKey::of(&url("https://a.com/x?q=1"), paths);
        assert!(key.same(&url("https://a.com/x?q=2"), paths));
        assert!(!key.same(&url("https://a.com/y?q=1"), paths));
        let path = |p| RequestRef {
            host: Some("a.com"),
            path: Some(p),
            ..RequestRef::default()
        };
        let key = RoadKey::of(&path("/x?q=1"), paths);
        assert!(key.same(&path("/x#f"), paths));
        assert!(key.same(&path("/x"), paths));
        assert!(!key.same(&path("/x/"), paths));
        assert!(RoadKey::of(&path("/x"), reads).same(&path("/y?q"), reads));
    }

    /// Lengths around the one-byte boundary: a key never reads as another whatever the
    /// lengths of its texts.
    #[test]
    fn length_prefixes_stay_unambiguous_around_the_one_byte_boundary() {
        let reads = RouteReads::default();
        let texts: Vec<String> = [0, 1, 252, 253, 254, 255, 256, 300]
            .iter()
            .map(|n| "a".repeat(*n))
            .collect();
        let mut keys: Vec<(Vec<u8>, (usize, usize))> = Vec::new();
        for (i, host) in texts.iter().enumerate() {
            for (j, sni) in texts.iter().enumerate() {
                let r = RequestRef {
                    host: Some(host),
                    sni: Some(sni),
                    ..RequestRef::default()
                };
                keys.push((KeyBytes::of(&r, reads).as_slice().to_vec(), (i, j)));
            }
        }
        for (a, (ka, ia)) in keys.iter().enumerate() {
            for (kb, ib) in keys.iter().skip(a + 1) {
                assert_ne!(ka, kb, "{ia:?} and {ib:?} share a key");
            }
        }
        // An absent text is not an empty one.
        let empty = RequestRef {
            sni: Some(""),
            ..RequestRef::default()
        };
        assert!(!RoadKey::of(&empty, reads).same(&RequestRef::default(), reads));
    }

    #[test]
    fn header_items_are_delimited() {
        let reads = RouteReads {
            headers: true,
            ..RouteReads::default()
        };
        let one = [("a", "b,c")];
        let two = [("a", "b"), ("a", "c")];
        let keys: Vec<RoadKey> = [&one[..], &two[..], &[][..]]
            .into_iter()
            .map(|pairs| {
                RoadKey::of(
                    &RequestRef {
                        headers: Headers::Pairs(pairs),
                        ..RequestRef::default()
                    },
                    reads,
                )
            })
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        assert_ne!(keys[0], keys[2]);
    }

    #[test]
    fn the_thread_buffer_holds_one_key_at_a_time() {
        let reads = RouteReads::default();
        let host = format!("{}.example.com", "a".repeat(500));
        let long = RequestRef {
            host: Some(&host),
            principal: Some("cluster.local/ns/x/sa/y"),
            ..RequestRef::default()
        };
        let short = RequestRef {
            host: Some("a.example.com"),
            ..long
        };
        // A short key written after a long one is the short key alone.
        let stored = KeyBytes::with(None, &long, reads, |k, _| k.to_key());
        assert!(stored.is(&KeyBytes::of(&long, reads)));
        let (bytes, hash) = KeyBytes::with(None, &short, reads, |k, h| (k.as_slice().to_vec(), h));
        let alone = KeyBytes::of(&short, reads);
        assert_eq!(bytes, alone.as_slice());
        assert_eq!(hash, alone.hash());
        // A key written while another is lent gets its own buffer.
        KeyBytes::with(None, &long, reads, |outer, _| {
            KeyBytes::with(None, &short, reads, |inner, _| {
                assert!(stored.is(outer));
                assert!(!stored.is(inner));
                assert_eq!(inner.as_slice(), alone.as_slice());
            });
        });
        // A difference after a long text still tells keys apart.
        let other_peer = RequestRef {
            principal: Some("cluster.local/ns/x/sa/z"),
            ..long
        };
        assert!(!KeyBytes::with(None, &other_peer, reads, |k, _| stored.is(k)));
        // An outsized key's buffer is dropped, not kept for the thread's next request.
        let huge = "h".repeat(4 * KEPT);
        let outsized = RequestRef {
            host: Some(&huge),
            ..long
        };
        KeyBytes::with(None, &outsized, reads, |k, _| {
            assert!(k.as_slice().len() > KEPT)
        });
        let kept = BUFFER.with(|b| {
            let buffer = b.take();
            let capacity = buffer.capacity();
            b.set(buffer);
            capacity
        });
        assert!(kept <= KEPT, "{kept}");
    }

    /// A key begun by a connection's `SenderKey` is the request's own key, byte for byte
    /// and hash for hash, whatever the length of the sender's half (a multiple of eight
    /// bytes or not) and whether a route reads headers.
    #[test]
    fn a_connections_key_is_the_requests_own_key() {
        let labels: Labels = [("app".to_string(), "a".repeat(37))].into();
        let workload = crate::request::Workload {
            namespace: "istio-system".into(),
            labels: [("istio".to_string(), "egressgateway".to_string())].into(),
        };
        let pairs = [("x-a", "1"), ("X-B", "2")];
        for principal in [
            None,
            Some("p"),
            Some("cluster.local/ns/x/sa/y"),
            Some("a-much-longer/ns/x/sa/y"),
        ] {
            for pod_labels in [None, Some(&labels)] {
                for workload in [None, Some(&workload)] {
                    let r = RequestRef {
                        principal,
                        pod_labels,
                        workload,
                        cluster: principal.map(|_| "east"),
                        source_namespace: Some("x"),
                        host: Some("a.com"),
                        method: Some("GET"),
                        headers: Headers::Pairs(&pairs),
                        ..RequestRef::default()
                    };
                    let sender = SenderKey::of(&r);
                    assert_eq!(sender.hashed % 8, 0);
                    for reads in [
                        RouteReads::default(),
                        RouteReads {
                            method: true,
                            headers: true,
                            ..RouteReads::default()
                        },
                    ] {
                        let alone = KeyBytes::of(&r, reads);
                        KeyBytes::with(Some(&sender), &r, reads, |k, hash| {
                            assert_eq!(k.as_slice(), alone.as_slice(), "{r:?}");
                            assert_eq!(hash, alone.hash(), "{r:?}");
                        });
                        // The connection's half is the request's only through it: another
                        // sender's half makes another key.
                        let other = SenderKey::of(&RequestRef {
                            principal: Some("cluster.local/ns/x/sa/other"),
                            ..r
                        });
                        KeyBytes::with(Some(&other), &r, reads, |k, _| {
                            assert!(k.as_slice() != alone.as_slice());
                        });
                    }
                }
            }
        }
    }
}
