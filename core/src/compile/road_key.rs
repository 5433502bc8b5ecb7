//! The road memo's key: everything `road::walk` and `road::route` read of a normalised
//! request (SEMANTICS §9), written once as one flat byte string so that a memo hit
//! compares one contiguous buffer instead of chasing a dozen heap strings and maps.

use std::hash::Hasher;

use crate::model::Labels;
use crate::request::{FoldedHeaders, Normalized};

use super::hash::FxHasher;
use super::prepare::RouteReads;

/// Where the bytes of one request's key go ([`KeyBytes`], which the hash and the memo's
/// comparison both read).
/// Every item is length-prefixed, so equal byte streams mean equal keys.
trait KeyOut {
    fn bytes(&mut self, b: &[u8]);

    #[inline(always)]
    fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.bytes(&u32::MAX.to_le_bytes()),
            Some(t) => {
                self.bytes(&u32::try_from(t.len()).unwrap_or(u32::MAX - 1).to_le_bytes());
                self.bytes(t.as_bytes());
            }
        }
    }

    /// The peer, written as its SPIFFE URI (the memo lends it to prepared requests).
    fn peer(&mut self, peer: Option<&str>);

    #[inline(always)]
    fn count(&mut self, n: usize) {
        self.bytes(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }

    fn labels(&mut self, labels: &Labels) {
        self.count(labels.len());
        for (k, v) in labels {
            self.text(Some(k));
            self.text(Some(v));
        }
    }

    fn headers(&mut self, headers: &FoldedHeaders<'_>) {
        self.count(headers.len());
        for (k, v) in headers.iter() {
            self.text(Some(k));
            self.text(Some(v));
        }
    }
}

const SCHEME: &str = "spiffe://";

/// Writes the key of `n` (whose peer is `peer`, its SPIFFE URI without the scheme): protocol,
/// port, destination address (ambient capture reads it), registry name (host, SNI), sender
/// (origin namespace and labels, peer identity, cluster), named workload, the JWT's issuer,
/// and method, path and headers only when some route match reads them.
fn write(n: &Normalized<'_>, peer: Option<&str>, reads: RouteReads, out: &mut impl KeyOut) {
    out.bytes(&[n.protocol as u8]);
    out.bytes(&n.port.to_le_bytes());
    match n.destination_ip {
        None => out.bytes(&[0]),
        Some(std::net::IpAddr::V4(ip)) => {
            out.bytes(&[4]);
            out.bytes(&ip.octets());
        }
        Some(std::net::IpAddr::V6(ip)) => {
            out.bytes(&[6]);
            out.bytes(&ip.octets());
        }
    }
    out.text(n.host.as_deref());
    out.text(n.sni.as_deref());
    out.peer(peer);
    out.text(n.origin_namespace.as_deref());
    out.labels(&n.origin_labels);
    out.text(n.cluster.as_deref());
    match n.workload.as_deref() {
        None => out.bytes(&[0]),
        Some(w) => {
            out.bytes(&[1]);
            out.text(Some(&w.namespace));
            out.labels(&w.labels);
        }
    }
    // The issuer part of the JWT principal (`iss/sub`), as the road's JWT check reads it.
    match &n.jwt {
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
        out.text(n.method.as_deref());
    }
    if reads.path {
        out.text(n.path.as_deref());
    }
    if reads.headers {
        out.headers(&n.headers);
    }
}

/// How many key bytes are written on the stack; a longer key (many labels, long
/// headers) continues on the heap.
const INLINE: usize = 384;

/// One request's key, written once: its hash and the memo's comparison both read these
/// bytes (one walk of the request instead of one per use).
pub(crate) struct KeyBytes {
    inline: [u8; INLINE],
    len: usize,
    /// The whole key when it outgrew `inline` (then `inline` is unused).
    heap: Vec<u8>,
    /// Where the peer's SPIFFE URI lies in the key.
    peer: Option<(usize, usize)>,
}

impl KeyOut for KeyBytes {
    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        let end = self.len + b.len();
        if self.heap.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len..end) {
                slot.copy_from_slice(b);
                self.len = end;
                return;
            }
            self.heap.reserve(end.max(2 * INLINE));
            self.heap
                .extend_from_slice(self.inline.get(..self.len).unwrap_or_default());
        }
        self.heap.extend_from_slice(b);
        self.len = end;
    }

    fn peer(&mut self, peer: Option<&str>) {
        let Some(p) = peer else {
            self.text(None);
            return;
        };
        let len = p.len().saturating_add(SCHEME.len());
        self.bytes(&u32::try_from(len).unwrap_or(u32::MAX - 1).to_le_bytes());
        let at = self.len;
        self.bytes(SCHEME.as_bytes());
        self.bytes(p.as_bytes());
        self.peer = Some((at, self.len));
    }
}

impl KeyBytes {
    /// An empty key (the caller's stack holds it: a key is written in place, not moved).
    #[inline]
    pub(crate) fn new() -> Self {
        KeyBytes {
            inline: [0; INLINE],
            len: 0,
            heap: Vec::new(),
            peer: None,
        }
    }

    /// Writes the key of `n` (whose peer is `peer`).
    #[inline]
    pub(crate) fn write(&mut self, n: &Normalized<'_>, peer: Option<&str>, reads: RouteReads) {
        write(n, peer, reads, self);
    }

    /// The key of `n` (whose peer is `peer`).
    #[cfg(test)]
    pub(crate) fn of(n: &Normalized<'_>, peer: Option<&str>, reads: RouteReads) -> Self {
        let mut key = KeyBytes::new();
        key.write(n, peer, reads);
        key
    }

    /// The key's bytes.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        if self.heap.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.heap
        }
    }

    /// The memo's hash of the key.
    #[inline]
    pub(crate) fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write(self.as_slice());
        // The memo's table uses the hash as it is: spread the bits.
        let mut x = h.finish();
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }

    /// The key to store in the memo (a miss).
    pub(crate) fn to_key(&self) -> RoadKey {
        let bytes: Box<[u8]> = self.as_slice().into();
        // Checked as UTF-8 once here, so a memo hit lends it as it is.
        let peer_uri = self
            .peer
            .and_then(|(from, to)| bytes.get(from..to))
            .and_then(|uri| std::str::from_utf8(uri).ok())
            .map(Box::from);
        RoadKey { bytes, peer_uri }
    }
}

/// A stored road key (built on a memo miss only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoadKey {
    bytes: Box<[u8]>,
    /// The peer's SPIFFE URI (also in `bytes`).
    peer_uri: Option<Box<str>>,
}

impl RoadKey {
    /// The key of `n` with peer `peer`.
    #[cfg(test)]
    pub(crate) fn of(n: &Normalized<'_>, peer: Option<&str>, reads: RouteReads) -> Self {
        KeyBytes::of(n, peer, reads).to_key()
    }

    /// Whether a request's key is this one.
    #[inline]
    pub(crate) fn is(&self, key: &KeyBytes) -> bool {
        *self.bytes == *key.as_slice()
    }

    /// Whether `n` (with peer `peer`) has this key.
    #[cfg(test)]
    pub(crate) fn same(&self, n: &Normalized<'_>, peer: Option<&str>, reads: RouteReads) -> bool {
        self.is(&KeyBytes::of(n, peer, reads))
    }

    /// The peer's SPIFFE URI, as stored in the key.
    pub(crate) fn peer_uri(&self) -> Option<&str> {
        self.peer_uri.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RequestRef;

    fn digest<'a>(r: &RequestRef<'a>) -> (Normalized<'a>, Option<&'a str>) {
        crate::request::digest(r, crate::model::PathNormalization::Base, false, false).unwrap()
    }

    #[test]
    fn keys_tell_requests_apart_and_lend_the_peer_uri() {
        let reads = RouteReads::default();
        let base = RequestRef {
            host: Some("a.com"),
            principal: Some("cluster.local/ns/x/sa/y"),
            ..RequestRef::default()
        };
        let (n, peer) = digest(&base);
        let key = RoadKey::of(&n, peer, reads);
        assert!(key.same(&n, peer, reads));
        assert_eq!(key.peer_uri(), Some("spiffe://cluster.local/ns/x/sa/y"));
        // The same peer written with its scheme has the same key.
        let spiffe = RequestRef {
            principal: Some("spiffe://cluster.local/ns/x/sa/y"),
            ..base
        };
        let (m, p) = digest(&spiffe);
        assert!(key.same(&m, p, reads));
        assert_eq!(
            KeyBytes::of(&n, peer, reads).hash(),
            KeyBytes::of(&m, p, reads).hash()
        );
        for other in [
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
                source_namespace: Some("x"),
                sni: Some("a.com"),
                ..base
            },
        ] {
            let (o, p) = digest(&other);
            assert!(!key.same(&o, p, reads), "{other:?}");
        }
        // A method is part of the key only when a route reads it.
        let post = RequestRef {
            method: Some("POST"),
            ..base
        };
        let (o, p) = digest(&post);
        assert!(key.same(&o, p, reads));
        let methods = RouteReads {
            method: true,
            ..reads
        };
        assert!(!RoadKey::of(&n, peer, methods).same(&o, p, methods));
    }

    #[test]
    fn keys_longer_than_the_stack_buffer_continue_on_the_heap() {
        let reads = RouteReads::default();
        // A host longer than the inline buffer: the peer is written after the spill.
        let host = format!("{}.example.com", "a".repeat(INLINE));
        let long = RequestRef {
            host: Some(&host),
            principal: Some("cluster.local/ns/x/sa/y"),
            ..RequestRef::default()
        };
        let (n, peer) = digest(&long);
        let key = KeyBytes::of(&n, peer, reads);
        assert!(key.as_slice().len() > INLINE);
        let stored = key.to_key();
        assert_eq!(stored.peer_uri(), Some("spiffe://cluster.local/ns/x/sa/y"));
        assert!(stored.is(&KeyBytes::of(&n, peer, reads)));
        assert_eq!(key.hash(), KeyBytes::of(&n, peer, reads).hash());
        // A difference after the spill point still tells the keys apart.
        let other_peer = RequestRef {
            principal: Some("cluster.local/ns/x/sa/z"),
            ..long
        };
        let (o, p) = digest(&other_peer);
        assert!(!stored.is(&KeyBytes::of(&o, p, reads)));
        // The same request with a short host fits inline and differs.
        let short = RequestRef {
            host: Some("a.example.com"),
            ..long
        };
        let (s, p) = digest(&short);
        let inline = KeyBytes::of(&s, p, reads);
        assert!(inline.as_slice().len() < INLINE);
        assert!(!stored.is(&inline));
        assert_eq!(
            inline.to_key().peer_uri(),
            Some("spiffe://cluster.local/ns/x/sa/y")
        );
    }
}
