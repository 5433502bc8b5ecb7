//! The candidate index: which rules a request must check.
//!
//! Every rule is filed under (host key, source key, scope key) triples, as a
//! [`Candidate`] that carries what decide needs to skip it without reading the rule:
//!
//! * host: the exact lower-cased host, a `.suffix` tail (`*.example.com`), the first or
//!   last [`hash::AFFIX`] bytes of another prefix or suffix pattern, or "any" (`*`, no
//!   `hosts`);
//! * source: an exact principal, a peer namespace (`namespaces` without globs, the
//!   namespace of `serviceAccounts`), an exact trust domain, or "any" (no `from`, `not*`
//!   only, globs, IP blocks, request principals);
//! * scope: the namespace of the enforcing proxy for policies that can attach only there
//!   (selector policies outside the root namespace, policies targeting only gateways), or
//!   "any".
//!
//! A request looks up each of its host keys that some rule uses (a Bloom filter drops the
//! others first), then binary-searches that host's short bucket for each of its (source,
//! scope) pairs, so its candidates are the rules filed under its host, its identity and
//! its proxy, whatever the policy shape, and the memory it touches grows with its number
//! of host keys, not with the product of its keys. TCP and TLS requests, which carry no
//! `hosts`, look in a second index whose only host is "any". Keys are hashes: a collision
//! only adds candidates, each checked in full.

use std::collections::HashMap;

use crate::model::StringPattern;

use super::hash::{self, ANY};
use super::matchers::CRule;
use super::path_head::PathHead;
use super::prepare::Digest;
use super::{Attachment, CPolicy, CScope, PolicyClass};

/// A blocked Bloom filter over 64-bit keys: three bits in one 64-bit word per key, so a
/// probe touches one word. Most probes of a request (host suffixes nobody wrote,
/// principals without own rules) stop here, in a table small enough for the CPU cache,
/// instead of missing in a big one.
#[derive(Debug, Clone, Default)]
struct Bloom {
    words: Vec<u64>,
}

/// Words (a power of two, about 16 bits per key) of a filter over `keys` keys.
fn bloom_words(keys: usize) -> usize {
    (keys.max(16) / 4).next_power_of_two()
}

/// Where `key` lives in a filter of `words` words: (word, bits).
#[inline]
fn bloom_locate(words: usize, key: u64) -> (usize, u64) {
    let mask = words.saturating_sub(1) as u64;
    let word = (key.rotate_left(23) & mask) as usize;
    let bits = 1u64 << (key & 63) | 1u64 << ((key >> 6) & 63) | 1u64 << ((key >> 12) & 63);
    (word, bits)
}

/// Sets `key` in the filter `words`.
fn bloom_insert(words: &mut [u64], key: u64) {
    let (word, bits) = bloom_locate(words.len(), key);
    if let Some(w) = words.get_mut(word) {
        *w |= bits;
    }
}

/// Whether the filter `words` may hold `key`.
#[inline]
fn bloom_contains(words: &[u64], key: u64) -> bool {
    let (word, bits) = bloom_locate(words.len(), key);
    words.get(word).is_some_and(|w| w & bits == bits)
}

impl Bloom {
    fn with_keys(keys: impl ExactSizeIterator<Item = u64>) -> Self {
        let mut words = vec![0; bloom_words(keys.len())];
        for key in keys {
            bloom_insert(&mut words, key);
        }
        Bloom { words }
    }

    #[inline]
    fn maybe_contains(&self, key: u64) -> bool {
        bloom_contains(&self.words, key)
    }
}

/// One candidate as the index stores it: the rule with what decide needs to skip it
/// without reading the rule or its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Rule id (position in `Compiled::rules`, model order).
    pub(crate) rule: u32,
    /// Policy id of the rule.
    pub(crate) policy: u32,
    /// Standard methods (bits) an HTTP request with a standard method must carry for
    /// the rule to match ([`CRule::method_mask`]).
    pub(crate) methods: u16,
    /// What the path of an HTTP request must start with for the rule to match
    /// ([`CRule::path_head`]).
    pub(crate) path: PathHead,
    /// Action class of the policy.
    pub(crate) class: PolicyClass,
    /// Whether the policy is dry-run.
    pub(crate) dry_run: bool,
    /// Whether the policy's attachment depends only on the enforcement point (then the
    /// point's bitset answers it).
    pub(crate) point_ref: bool,
}

/// A host bucket: its entries and its filter over their pair keys.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: u32,
    len: u32,
    /// A short bucket: one bit per pair key ([`pair_bit`]), so most pair keys a request
    /// probes stop here instead of binary-searching the entries. A long bucket: where its
    /// own filter lies in `HostIndex::bloom` (offset in the high half, words in the low).
    filter: u64,
}

/// The bit of a pair key in a short bucket's filter (the key's top bits: the Bloom
/// filters use the low ones).
#[inline]
fn pair_bit(key: u64) -> u64 {
    1 << (key >> 58)
}

/// One (source key, scope key) entry of a host bucket: a range of candidates.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    offset: u32,
    len: u32,
}

/// Candidates by host key, then by (source key, scope key): a host bucket is a short
/// sorted run of entries, so one host costs one table lookup and a binary search in a
/// cache line or two, whatever the number of source and scope keys a request has. Keys
/// are hashes, so the index is lossy on purpose: a collision only adds candidates, and
/// every candidate is checked in full.
#[derive(Debug, Clone, Default)]
struct HostIndex {
    /// Host key → bucket.
    buckets: HashMap<u64, Bucket, hash::IdentityBuild>,
    /// Entries of each bucket, sorted by key.
    entries: Vec<Entry>,
    candidates: Vec<Candidate>,
    /// Every host key with a bucket.
    filter: Bloom,
    /// Entries of buckets longer than [`SMALL`], by `hash::pair(host, pair key)`: a
    /// request looks them up instead of binary-searching a long bucket.
    big: HashMap<u64, (u32, u32), hash::IdentityBuild>,
    /// The filters of long buckets over their pair keys, one after the other (a bucket
    /// every request reads, "any", keeps its small filter in cache).
    bloom: Vec<u64>,
}

/// Buckets up to this many entries are binary-searched (a cache line or two); longer
/// ones (the "any" host, a popular suffix) are looked up by hash.
const SMALL: usize = 16;

/// Key of a (source key, scope key) pair inside a host bucket.
#[inline]
fn pair_key(source: u64, scope: u64) -> u64 {
    hash::combine(ANY, source, scope)
}

impl HostIndex {
    /// Builds from `(host key, pair key, candidate)` triples.
    fn build(mut triples: Vec<(u64, u64, Candidate)>) -> Self {
        // Within a list, ALLOW candidates come last, in rule order: once a request has its
        // first matching ALLOW rule below them, `visit` stops the list there.
        triples.sort_unstable_by_key(|(h, k, c)| (*h, *k, c.class == PolicyClass::Allow, c.rule));
        triples.dedup_by_key(|(h, k, c)| (*h, *k, c.rule));
        let mut index = HostIndex {
            candidates: Vec::with_capacity(triples.len()),
            ..HostIndex::default()
        };
        let mut hosts = Vec::new();
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut at = 0usize;
        while let Some(&(host, _, _)) = triples.get(at) {
            let bucket_start = index.entries.len();
            while let Some(&(h, key, _)) = triples.get(at) {
                if h != host {
                    break;
                }
                let offset = index.candidates.len();
                while let Some(&(h2, k2, c)) = triples.get(at) {
                    if h2 != host || k2 != key {
                        break;
                    }
                    index.candidates.push(c);
                    at += 1;
                }
                index.entries.push(Entry {
                    key,
                    offset: to_u32(offset),
                    len: to_u32(index.candidates.len() - offset),
                });
            }
            let bucket_len = index.entries.len() - bucket_start;
            let bloom_at = index.bloom.len();
            let mut filter = 0u64;
            if bucket_len <= SMALL {
                for e in index.entries.get(bucket_start..).unwrap_or_default() {
                    filter |= pair_bit(e.key);
                }
            } else {
                index.bloom.resize(bloom_at + bloom_words(bucket_len), 0);
                for e in index.entries.get(bucket_start..).unwrap_or_default() {
                    index.big.insert(hash::pair(host, e.key), (e.offset, e.len));
                    if let Some(words) = index.bloom.get_mut(bloom_at..) {
                        bloom_insert(words, e.key);
                    }
                }
                filter = (bloom_at as u64) << 32 | (index.bloom.len() - bloom_at) as u64;
            }
            index.buckets.insert(
                host,
                Bucket {
                    start: to_u32(bucket_start),
                    len: to_u32(bucket_len),
                    filter,
                },
            );
            hosts.push(host);
        }
        index.filter = Bloom::with_keys(hosts.into_iter());
        index
    }

    /// The bucket of `host`, when some rule is filed under it.
    #[inline]
    fn bucket(&self, host: u64) -> Option<&Bucket> {
        if !self.filter.maybe_contains(host) {
            return None;
        }
        self.buckets.get(&host)
    }

    /// The candidate list of `bucket` (the bucket of `host`) under pair key `key`, as
    /// (offset, length) in `candidates`, when there is one.
    #[inline(always)]
    fn range(&self, host: u64, bucket: &Bucket, key: u64) -> Option<(u32, u32)> {
        let (start, len) = (bucket.start as usize, bucket.len as usize);
        if len <= SMALL {
            if bucket.filter & pair_bit(key) == 0 {
                return None;
            }
            let entries = self.entries.get(start..start + len).unwrap_or_default();
            let at = entries.partition_point(|e| e.key < key);
            entries
                .get(at)
                .filter(|e| e.key == key)
                .map(|e| (e.offset, e.len))
        } else {
            let at = (bucket.filter >> 32) as usize;
            let words = self
                .bloom
                .get(at..at + (bucket.filter & u64::from(u32::MAX)) as usize)
                .unwrap_or_default();
            if bloom_contains(words, key) {
                self.big.get(&hash::pair(host, key)).copied()
            } else {
                None
            }
        }
    }

    /// The candidate list at `offset` (`len` long): other classes first, then ALLOW
    /// by rule id.
    #[inline(always)]
    fn list(&self, (offset, len): (u32, u32)) -> &[Candidate] {
        let (offset, len) = (offset as usize, len as usize);
        self.candidates
            .get(offset..offset + len)
            .unwrap_or_default()
    }

    /// The largest candidate list of one entry (the worst case a probe can scan).
    fn longest(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.len as usize)
            .max()
            .unwrap_or(0)
    }
}

/// Which key forms the compiled rules use, so a request derives only those.
#[derive(Debug, Clone, Copy, Default)]
struct KeyForms {
    dot_suffix: bool,
    /// `prefix*` hosts are keyed by their first `head` bytes (0: there are none): the
    /// shortest such prefix, at most [`hash::AFFIX`] bytes, so a request probes one
    /// head key.
    head: usize,
    /// `*suffix` hosts (without a leading dot) are keyed by their last `tail` bytes,
    /// chosen the same way.
    tail: usize,
    namespace: bool,
    trust_domain: bool,
}

/// The candidate index of a compiled engine.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// HTTP candidates by host key, then (source key, scope key).
    http: HostIndex,
    /// TCP/TLS candidates, all under the "any" host: `hosts` are not visible there.
    tcp: HostIndex,
    /// Every source key some rule is filed under.
    source_filter: Bloom,
    /// Every scope key some rule is filed under.
    scope_filter: Bloom,
    forms: KeyForms,
}

impl Index {
    /// Files every rule (rule ids are positions in `rules`).
    pub(crate) fn build(rules: &[CRule], policies: &[CPolicy]) -> Self {
        let mut triples: Vec<(u64, u64, Candidate)> = Vec::with_capacity(rules.len());
        let mut tcp_triples: Vec<(u64, u64, Candidate)> = Vec::new();
        let (mut source_set, mut scope_set) = (Vec::new(), Vec::new());
        let mut forms = KeyForms::default();
        (forms.head, forms.tail) = affix_lengths(rules);
        for (id, rule) in rules.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let policy = policies.get(rule.policy as usize);
            let candidate = Candidate {
                rule: id,
                policy: rule.policy,
                methods: rule.method_mask(),
                path: rule.path_head(),
                class: policy.map_or(PolicyClass::Audit, |p| p.class),
                dry_run: policy.is_some_and(|p| p.dry_run),
                point_ref: policy.is_some_and(|p| p.attachment == Attachment::PointRef),
            };
            let narrows =
                policy.is_some_and(|p| matches!(p.class, PolicyClass::Allow | PolicyClass::Custom));
            let scopes = policy.map_or_else(|| vec![ANY], scope_keys);
            let sources = source_keys(rule, &mut forms);
            if !(narrows && rule.http_only) {
                for src in &sources {
                    tcp_triples.extend(
                        scopes
                            .iter()
                            .map(|sc| (ANY, pair_key(*src, *sc), candidate)),
                    );
                }
            }
            for host in host_keys(rule, &mut forms) {
                for src in &sources {
                    triples.extend(
                        scopes
                            .iter()
                            .map(|sc| (host, pair_key(*src, *sc), candidate)),
                    );
                }
            }
            source_set.extend(sources.iter().copied());
            scope_set.extend(scopes.iter().copied());
        }
        let filter = |mut keys: Vec<u64>| {
            keys.sort_unstable();
            keys.dedup();
            Bloom::with_keys(keys.into_iter())
        };
        Index {
            http: HostIndex::build(triples),
            tcp: HostIndex::build(tcp_triples),
            source_filter: filter(source_set),
            scope_filter: filter(scope_set),
            forms,
        }
    }

    /// The longest candidate list of one (host, source, scope) key (the worst case one
    /// probe scans).
    pub(crate) fn longest(&self) -> usize {
        self.http.longest().max(self.tcp.longest())
    }

    /// Calls `visit` with the candidate lists of `req` enforced in `namespace` (together a
    /// superset of the rules that can match and attach; some more than once), each in
    /// order: other classes first, then ALLOW rules by id.
    ///
    /// Inlined into `decide` for the memo's lists, the common case; the probe of the index
    /// stays out of line ([`Index::probe`]), so that how much the compiler inlines does not
    /// depend on the size of the rest of the crate.
    #[inline(always)]
    pub(crate) fn candidates(
        &self,
        req: &Digest,
        namespace: &str,
        known: Option<&IndexKeys>,
        visit: &mut impl FnMut(&[Candidate]),
    ) {
        let tcp = req.is_tcp;
        let index = if tcp { &self.tcp } else { &self.http };
        let authority = if tcp { None } else { req.authority_lower() };
        // The memo's lists hold for the authority they were found for (requests on one
        // road may write it differently, `a.com` and `a.com:80`).
        if let Some(lists) = known.and_then(|k| k.lists_for(tcp, authority)) {
            for list in lists {
                visit(index.list(*list));
            }
            return;
        }
        self.probe(req, namespace, known, authority, visit);
    }

    /// [`Index::candidates`] without the memo's lists: probes the index.
    #[inline(never)]
    fn probe(
        &self,
        req: &Digest,
        namespace: &str,
        known: Option<&IndexKeys>,
        authority: Option<&str>,
        visit: &mut impl FnMut(&[Candidate]),
    ) {
        let tcp = req.is_tcp;
        let index = if tcp { &self.tcp } else { &self.http };
        let peer_uri = req.peer_uri();
        // The request's (source, scope) pair keys, computed once for every host (or once
        // per road, by the road memo).
        let computed;
        let pairs = match known {
            Some(known) => &known.pairs,
            None => {
                computed = self.pair_keys(peer_uri, namespace);
                &computed
            }
        };
        self.each_list(tcp, peer_uri, namespace, authority, pairs, &mut |list| {
            visit(index.list(list));
        });
    }

    /// Calls `f` with the candidate lists (offset, length) of a request from `peer_uri`
    /// (pair keys `pairs`) enforced in `namespace` with `:authority` `authority` (lower
    /// case), in the order [`Index::candidates`] visits them.
    fn each_list(
        &self,
        tcp: bool,
        peer_uri: Option<&str>,
        namespace: &str,
        authority: Option<&str>,
        pairs: &KeyBuf,
        f: &mut impl FnMut((u32, u32)),
    ) {
        let index = if tcp { &self.tcp } else { &self.http };
        let mut per_host = |host: u64| {
            let Some(bucket) = index.bucket(host) else {
                return;
            };
            if pairs.overflow {
                let scopes = self.scopes(namespace);
                self.for_each_source_key(peer_uri, &mut |src| {
                    for sc in scopes.keys() {
                        if let Some(list) = index.range(host, bucket, pair_key(src, *sc)) {
                            f(list);
                        }
                    }
                });
            } else {
                for key in pairs.keys() {
                    if let Some(list) = index.range(host, bucket, *key) {
                        f(list);
                    }
                }
            }
        };
        if tcp {
            per_host(ANY);
            return;
        }
        self.for_each_host_key(authority, &mut per_host);
    }

    /// What `candidates` reads for a request from `peer_uri` enforced in `namespace` with
    /// `:authority` `authority` (lower case; `None` for TCP): the pair keys and every
    /// candidate list, which the road memo keeps with each road, so a request on a known
    /// road walks its lists without probing the index.
    pub(crate) fn keys_of(
        &self,
        peer_uri: Option<&str>,
        namespace: &str,
        authority: Option<&str>,
        tcp: bool,
    ) -> IndexKeys {
        let pairs = self.pair_keys(peer_uri, namespace);
        let authority = authority.filter(|_| !tcp);
        let mut lists = Vec::new();
        self.each_list(tcp, peer_uri, namespace, authority, &pairs, &mut |list| {
            lists.push(list);
        });
        IndexKeys {
            pairs,
            lists: Lists {
                tcp,
                authority: authority.map(Box::from),
                lists: lists.into_boxed_slice(),
            },
        }
    }

    /// The (source, scope) pair keys of a request from `peer_uri` enforced in
    /// `namespace`: what [`Index::candidates`] probes each host key with.
    fn pair_keys(&self, peer_uri: Option<&str>, namespace: &str) -> KeyBuf {
        let scopes = self.scopes(namespace);
        let mut pairs = KeyBuf::default();
        self.for_each_source_key(peer_uri, &mut |src| {
            for sc in scopes.keys() {
                pairs.push(pair_key(src, *sc));
            }
        });
        pairs
    }

    /// The scope keys of a proxy in `namespace` ("any", and the namespace when some rule
    /// may be indexed under it).
    fn scopes(&self, namespace: &str) -> KeyBuf {
        let mut scopes = KeyBuf::default();
        scopes.push(ANY);
        let scope = hash::key_hash(hash::TAG_SCOPE, namespace);
        if self.scope_filter.maybe_contains(scope) {
            scopes.push(scope);
        }
        scopes
    }

    /// The host keys of `authority` that some rule may be indexed under ("any"
    /// included).
    fn for_each_host_key(&self, authority: Option<&str>, f: &mut impl FnMut(u64)) {
        f(ANY);
        let Some(authority) = authority else {
            return;
        };
        f(hash::key_hash(hash::TAG_EXACT_HOST, authority));
        let bytes = authority.as_bytes();
        if self.forms.dot_suffix {
            // A byte loop: host names are short, and `match_indices` costs more to set up
            // than to run on them.
            for (at, &b) in bytes.iter().enumerate() {
                if b == b'.' {
                    f(hash::key_hash_bytes(
                        hash::TAG_HOST_SUFFIX,
                        bytes.get(at..).unwrap_or_default(),
                    ));
                }
            }
        }
        let n = self.forms.head;
        if n > 0 {
            if let Some(head) = bytes.get(..n) {
                f(hash::key_hash_bytes(hash::TAG_HOST_HEAD, head));
            }
        }
        let n = self.forms.tail;
        if n > 0 {
            if let Some(tail) = bytes.len().checked_sub(n).and_then(|at| bytes.get(at..)) {
                f(hash::key_hash_bytes(hash::TAG_HOST_TAIL, tail));
            }
        }
    }

    /// The source keys of the request's peer that some rule is indexed under ("any"
    /// included): its URI, every `/ns/<name>/` segment, its trust domain.
    fn for_each_source_key(&self, peer_uri: Option<&str>, f: &mut impl FnMut(u64)) {
        f(ANY);
        let Some(uri) = peer_uri else {
            return;
        };
        let mut keep = |key: u64| {
            if self.source_filter.maybe_contains(key) {
                f(key);
            }
        };
        keep(hash::key_hash(hash::TAG_PRINCIPAL, uri));
        let bytes = uri.as_bytes();
        if self.forms.namespace {
            for (at, window) in bytes.windows(4).enumerate() {
                if window != b"/ns/" {
                    continue;
                }
                let rest = bytes.get(at + 4..).unwrap_or_default();
                if let Some(end) = rest.iter().position(|b| *b == b'/') {
                    keep(hash::key_hash_bytes(
                        hash::TAG_NAMESPACE,
                        rest.get(..end).unwrap_or_default(),
                    ));
                }
            }
        }
        if self.forms.trust_domain {
            if let Some(rest) = uri.strip_prefix("spiffe://") {
                if let Some((domain, _)) = rest.split_once('/') {
                    keep(hash::key_hash(hash::TAG_TRUST_DOMAIN, domain));
                }
            }
        }
    }
}

/// What [`Index::candidates`] reads for the requests on one road (see
/// [`Index::keys_of`]); the road memo keeps it with each road.
///
/// The lists first (`repr(C)`): a request on the road reads them, and the pair keys
/// only when its authority differs.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub(crate) struct IndexKeys {
    /// The candidate lists, found for one authority.
    lists: Lists,
    /// (source, scope) pair keys: the road key holds everything they depend on.
    pairs: KeyBuf,
}

/// Candidate lists (offset, length) in visiting order, and what they were found for.
#[derive(Debug, Clone, Default)]
#[repr(C)]
struct Lists {
    lists: Box<[(u32, u32)]>,
    /// The lower-cased `:authority` (`None` for TCP).
    authority: Option<Box<str>>,
    tcp: bool,
}

impl IndexKeys {
    /// The candidate lists, when they were found for this transport and authority.
    #[inline]
    fn lists_for(&self, tcp: bool, authority: Option<&str>) -> Option<&[(u32, u32)]> {
        let found = &self.lists;
        (found.tcp == tcp && found.authority.as_deref() == authority).then_some(&*found.lists)
    }
}

/// A few keys, without allocating.
#[derive(Debug, Clone, Default)]
struct KeyBuf {
    buf: [u64; 16],
    len: usize,
    /// More keys than fit: callers recompute them instead.
    overflow: bool,
}

impl KeyBuf {
    fn push(&mut self, key: u64) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = key;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    fn keys(&self) -> &[u64] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Every host key under which `rule` can match: its operations' host values (exact,
/// `.suffix`, the first or last [`hash::AFFIX`] bytes of other affixes), or "any" when an
/// operation leaves the host open or allows every host (`*`).
fn host_keys(rule: &CRule, forms: &mut KeyForms) -> Vec<u64> {
    let Some(ops) = &rule.to else {
        return vec![ANY];
    };
    let mut keys = Vec::new();
    for op in ops {
        if op.host_values().is_empty() {
            return vec![ANY];
        }
        for value in op.host_values() {
            keys.push(match value {
                StringPattern::Exact(h) => hash::key_hash(hash::TAG_EXACT_HOST, h),
                StringPattern::Suffix(s) if s.starts_with('.') => {
                    forms.dot_suffix = true;
                    hash::key_hash(hash::TAG_HOST_SUFFIX, s)
                }
                StringPattern::Suffix(s) => {
                    // Every such suffix is at least `forms.tail` bytes long.
                    let bytes = s.as_bytes();
                    let n = forms.tail;
                    if n == 0 || bytes.len() < n {
                        return vec![ANY];
                    }
                    let tail = bytes.get(bytes.len() - n..);
                    hash::key_hash_bytes(hash::TAG_HOST_TAIL, tail.unwrap_or_default())
                }
                StringPattern::Prefix(p) => {
                    let bytes = p.as_bytes();
                    let n = forms.head;
                    if n == 0 || bytes.len() < n {
                        return vec![ANY];
                    }
                    let head = bytes.get(..n);
                    hash::key_hash_bytes(hash::TAG_HOST_HEAD, head.unwrap_or_default())
                }
                StringPattern::Presence => return vec![ANY],
            });
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The key lengths of `prefix*` and `*suffix` hosts (no leading dot): the shortest
/// non-empty such pattern among `rules`, at most [`hash::AFFIX`] bytes (0 when there is
/// none). Keying every pattern of a kind by the same length lets a request probe one key
/// per kind; empty patterns are filed under "any" instead.
fn affix_lengths(rules: &[CRule]) -> (usize, usize) {
    let (mut head, mut tail) = (0usize, 0usize);
    let shortest = |slot: &mut usize, len: usize| {
        if len > 0 {
            let len = len.min(hash::AFFIX);
            *slot = if *slot == 0 { len } else { (*slot).min(len) };
        }
    };
    let values = rules
        .iter()
        .filter_map(|r| r.to.as_ref())
        .flatten()
        .flat_map(|op| op.host_values());
    for value in values {
        match value {
            StringPattern::Prefix(p) => shortest(&mut head, p.len()),
            StringPattern::Suffix(s) if !s.starts_with('.') => shortest(&mut tail, s.len()),
            _ => {}
        }
    }
    (head, tail)
}

/// Source keys under which `rule` can match (see `CSource::index_keys`), or "any" when
/// some source of it may match any peer.
fn source_keys(rule: &CRule, forms: &mut KeyForms) -> Vec<u64> {
    let Some(sources) = &rule.from else {
        return vec![ANY];
    };
    let mut keys = Vec::new();
    for source in sources {
        let Some(list) = source.index_keys() else {
            return vec![ANY];
        };
        for &(tag, key) in list {
            forms.namespace |= tag == hash::TAG_NAMESPACE;
            forms.trust_domain |= tag == hash::TAG_TRUST_DOMAIN;
            keys.push(key);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Enforcement-point namespaces where a policy can attach, or "any": a selector policy
/// outside the root namespace attaches only in its own namespace, a policy targeting only
/// gateways only in theirs.
fn scope_keys(p: &CPolicy) -> Vec<u64> {
    match &p.scope {
        CScope::Selector(_) if !p.in_root => vec![hash::key_hash(hash::TAG_SCOPE, &p.namespace)],
        CScope::TargetRefs {
            gateways,
            waypoint_class: false,
            services,
        } if services.is_empty() => {
            let mut keys: Vec<u64> = gateways
                .iter()
                .map(|(_, ns)| hash::key_hash(hash::TAG_SCOPE, ns))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        }
        _ => vec![ANY],
    }
}

#[cfg(test)]
mod tests;
