//! The candidate index: which rules a request must check.
//!
//! Every rule is filed under (host key, source key, scope key) triples:
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
//! A request probes the cross product of its own keys that some rule uses (three small
//! Bloom filters drop the others first), so its candidates are the rules filed under its
//! host, its identity and its proxy, whatever the policy shape. TCP and TLS requests,
//! which carry no `hosts`, probe a second index without the host dimension. Keys are
//! hashes: a collision only adds candidates, each checked in full.

use std::collections::HashMap;

use crate::model::StringPattern;

use super::hash::{self, ANY};
use super::matchers::CRule;
use super::prepare::Digest;
use super::{CPolicy, CScope, PolicyClass};

/// A two-probe Bloom filter over 64-bit keys: most probes of a request (host suffixes
/// nobody wrote, principals without own rules) stop here, in a table small enough for
/// the CPU cache, instead of missing in a big one.
#[derive(Debug, Clone, Default)]
struct Bloom {
    words: Vec<u64>,
    mask: u64,
}

impl Bloom {
    fn with_keys(keys: impl ExactSizeIterator<Item = u64>) -> Self {
        let bits = (keys.len().max(64) * 12).next_power_of_two();
        let mut bloom = Bloom {
            words: vec![0; bits / 64],
            mask: (bits as u64) - 1,
        };
        for key in keys {
            for bit in bloom.bits(key) {
                if let Some(word) = bloom.words.get_mut((bit / 64) as usize) {
                    *word |= 1 << (bit % 64);
                }
            }
        }
        bloom
    }

    #[inline]
    fn bits(&self, key: u64) -> [u64; 2] {
        [
            key & self.mask,
            (key >> 32 ^ key.rotate_left(17)) & self.mask,
        ]
    }

    #[inline]
    fn maybe_contains(&self, key: u64) -> bool {
        self.bits(key).iter().all(|bit| {
            self.words
                .get((bit / 64) as usize)
                .is_some_and(|word| word & (1 << (bit % 64)) != 0)
        })
    }
}

/// Candidate rules keyed by (host key, source key, scope key), flattened: one table of
/// ranges into one posting array. Keys are hashes, so the index is lossy on purpose: a
/// collision only adds candidates, and every candidate is checked in full.
#[derive(Debug, Clone, Default)]
struct PostingIndex {
    slots: HashMap<u64, (u32, u32), hash::IdentityBuild>,
    postings: Vec<u32>,
    bloom: Bloom,
}

impl PostingIndex {
    fn build(mut pairs: Vec<(u64, u32)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        let mut keys: Vec<u64> = pairs.iter().map(|(k, _)| *k).collect();
        keys.dedup();
        let mut index = PostingIndex {
            slots: HashMap::with_capacity_and_hasher(keys.len(), hash::IdentityBuild),
            postings: Vec::with_capacity(pairs.len()),
            bloom: Bloom::with_keys(keys.into_iter()),
        };
        let mut start = 0usize;
        while let Some(&(key, _)) = pairs.get(start) {
            let end = pairs
                .get(start..)
                .and_then(|rest| rest.iter().position(|(k, _)| *k != key))
                .map_or(pairs.len(), |n| start + n);
            let offset = u32::try_from(index.postings.len()).unwrap_or(u32::MAX);
            index.postings.extend(
                pairs
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|(_, id)| *id),
            );
            let len = u32::try_from(end - start).unwrap_or(u32::MAX);
            index.slots.insert(key, (offset, len));
            start = end;
        }
        index
    }

    #[inline]
    fn visit(&self, key: u64, f: &mut impl FnMut(u32)) {
        if !self.bloom.maybe_contains(key) {
            return;
        }
        if let Some(&(offset, len)) = self.slots.get(&key) {
            let (offset, len) = (offset as usize, len as usize);
            if let Some(list) = self.postings.get(offset..offset + len) {
                list.iter().for_each(|r| f(*r));
            }
        }
    }

    /// The largest posting list (the worst case a probe can scan).
    fn longest(&self) -> usize {
        self.slots
            .values()
            .map(|(_, len)| *len as usize)
            .max()
            .unwrap_or(0)
    }
}

/// Which key forms the compiled rules use, so a request derives only those.
#[derive(Debug, Clone, Copy, Default)]
struct KeyForms {
    dot_suffix: bool,
    head: bool,
    tail: bool,
    namespace: bool,
    trust_domain: bool,
}

/// The candidate index of a compiled engine.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// HTTP candidates by (host key, source key, scope key).
    http: PostingIndex,
    /// TCP/TLS candidates by (source key, scope key): `hosts` are not visible there.
    tcp: PostingIndex,
    /// Every host key some rule is filed under (request host keys outside it are skipped
    /// before any triple is probed).
    host_filter: Bloom,
    /// Every source key some rule is filed under.
    source_filter: Bloom,
    /// Every scope key some rule is filed under.
    scope_filter: Bloom,
    forms: KeyForms,
}

impl Index {
    /// Files every rule (rule ids are positions in `rules`).
    pub(crate) fn build(rules: &[CRule], policies: &[CPolicy]) -> Self {
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(rules.len());
        let mut tcp_pairs: Vec<(u64, u32)> = Vec::new();
        let (mut host_set, mut source_set, mut scope_set) = (Vec::new(), Vec::new(), Vec::new());
        let mut forms = KeyForms::default();
        for (id, rule) in rules.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let policy = policies.get(rule.policy as usize);
            let narrows =
                policy.is_some_and(|p| matches!(p.class, PolicyClass::Allow | PolicyClass::Custom));
            let scopes = policy.map_or_else(|| vec![ANY], scope_keys);
            let sources = source_keys(rule, &mut forms);
            if !(narrows && rule.http_only) {
                for src in &sources {
                    tcp_pairs.extend(scopes.iter().map(|sc| (hash::combine(ANY, *src, *sc), id)));
                }
            }
            for host in host_keys(rule, &mut forms) {
                for src in &sources {
                    pairs.extend(scopes.iter().map(|sc| (hash::combine(host, *src, *sc), id)));
                }
                host_set.push(host);
            }
            source_set.extend(sources.iter().copied());
            scope_set.extend(scopes.iter().copied());
        }
        let filter = |mut keys: Vec<u64>| {
            keys.sort_unstable();
            keys.dedup();
            Bloom::with_keys(keys.into_iter())
        };
        let host_filter = filter(host_set);
        let source_filter = filter(source_set);
        let scope_filter = filter(scope_set);
        Index {
            http: PostingIndex::build(pairs),
            tcp: PostingIndex::build(tcp_pairs),
            host_filter,
            source_filter,
            scope_filter,
            forms,
        }
    }

    /// The longest posting list (the worst case one probe scans).
    pub(crate) fn longest(&self) -> usize {
        self.http.longest().max(self.tcp.longest())
    }

    /// Calls `visit` with every candidate rule of `req` enforced in `namespace` (a
    /// superset of the rules that can match and attach; some more than once).
    pub(crate) fn candidates(&self, req: &Digest, namespace: &str, visit: &mut impl FnMut(u32)) {
        let mut sources = KeyBuf::default();
        self.for_each_source_key(req, &mut |k| sources.push(k));
        let scope = hash::key_hash(hash::TAG_SCOPE, namespace);
        let scopes = [ANY, scope];
        let scopes = if self.scope_filter.maybe_contains(scope) {
            &scopes[..]
        } else {
            &scopes[..1]
        };
        let mut probe = |host: u64, src: u64| {
            for sc in scopes {
                let index = if req.is_tcp { &self.tcp } else { &self.http };
                index.visit(hash::combine(host, src, *sc), visit);
            }
        };
        let mut per_host = |host: u64| {
            if sources.overflow {
                self.for_each_source_key(req, &mut |src| probe(host, src));
            } else {
                sources.keys().iter().for_each(|src| probe(host, *src));
            }
        };
        if req.is_tcp {
            per_host(ANY);
        } else {
            self.for_each_host_key(req.authority_lower.as_deref(), &mut per_host);
        }
    }

    /// The host keys of `authority` that some rule is indexed under ("any" included).
    fn for_each_host_key(&self, authority: Option<&str>, f: &mut impl FnMut(u64)) {
        f(ANY);
        let Some(authority) = authority else {
            return;
        };
        let mut keep = |key: u64| {
            if self.host_filter.maybe_contains(key) {
                f(key);
            }
        };
        keep(hash::key_hash(hash::TAG_EXACT_HOST, authority));
        if self.forms.dot_suffix {
            for (at, _) in authority.match_indices('.') {
                if let Some(tail) = authority.get(at..) {
                    keep(hash::key_hash(hash::TAG_HOST_SUFFIX, tail));
                }
            }
        }
        let bytes = authority.as_bytes();
        for n in 1..=bytes.len().min(hash::AFFIX) {
            if self.forms.head {
                if let Some(head) = bytes.get(..n) {
                    keep(hash::key_hash_bytes(hash::TAG_HOST_HEAD, head));
                }
            }
            if self.forms.tail {
                if let Some(tail) = bytes.get(bytes.len() - n..) {
                    keep(hash::key_hash_bytes(hash::TAG_HOST_TAIL, tail));
                }
            }
        }
    }

    /// The source keys of the request's peer that some rule is indexed under ("any"
    /// included): its URI, every `/ns/<name>/` segment, its trust domain.
    fn for_each_source_key(&self, req: &Digest, f: &mut impl FnMut(u64)) {
        f(ANY);
        let Some(uri) = req.normalized.peer_uri.as_deref() else {
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

/// A few source keys of one request, without allocating.
#[derive(Debug, Default)]
struct KeyBuf {
    buf: [u64; 8],
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
                    forms.tail = true;
                    let bytes = s.as_bytes();
                    let tail = bytes.get(bytes.len().saturating_sub(hash::AFFIX)..);
                    hash::key_hash_bytes(hash::TAG_HOST_TAIL, tail.unwrap_or_default())
                }
                StringPattern::Prefix(p) => {
                    forms.head = true;
                    let bytes = p.as_bytes();
                    let head = bytes.get(..bytes.len().min(hash::AFFIX));
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
        for (tag, text) in list {
            forms.namespace |= *tag == hash::TAG_NAMESPACE;
            forms.trust_domain |= *tag == hash::TAG_TRUST_DOMAIN;
            keys.push(hash::key_hash(*tag, text));
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
mod tests {
    use crate::compile::Compiled;
    use crate::workload::{generate_profile, Layout, Profile};
    use crate::Engine;

    /// Candidates stay a handful whatever the shape: the longest HTTP posting list at
    /// 5 000 rules is bounded on every profile (it was thousands for namespace sources
    /// before they were keyed).
    #[test]
    fn http_postings_stay_short_on_every_profile() {
        for profile in Profile::ALL {
            let w = generate_profile(5_000, 11, profile, Layout::Files);
            let engine = Engine::from_files(w.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .unwrap_or_else(|e| panic!("{e}"));
            let compiled = Compiled::new(engine.model());
            let longest = compiled.index.http.longest();
            assert!(
                longest <= 40,
                "{profile}: a probe can return {longest} rules"
            );
        }
    }
}
