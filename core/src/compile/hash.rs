//! Hashing for the compiled indexes.
//!
//! The indexes are built from policy text and only *probed* with request text, so an
//! attacker cannot grow collision chains (the HashDoS concern that SipHash addresses);
//! a multiply-rotate hash is several times cheaper on the short keys of the hot path.
//! A hash collision only adds candidates, which are verified in full anyway.

use std::hash::{BuildHasher, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Tag of exact-host keys.
pub(crate) const TAG_EXACT_HOST: u8 = 1;
/// Tag of `.suffix` host keys.
pub(crate) const TAG_HOST_SUFFIX: u8 = 2;
/// Tag of exact-principal keys.
pub(crate) const TAG_PRINCIPAL: u8 = 3;
/// Tag of peer-namespace keys (`namespaces`, and the namespace of `serviceAccounts`).
pub(crate) const TAG_NAMESPACE: u8 = 4;
/// Tag of trust-domain keys.
pub(crate) const TAG_TRUST_DOMAIN: u8 = 5;
/// Tag of host-prefix keys (the first [`AFFIX`] bytes at most of a `prefix*` host).
pub(crate) const TAG_HOST_HEAD: u8 = 6;
/// Tag of host-tail keys (the last [`AFFIX`] bytes at most of a `*suffix` host whose
/// suffix does not start with a dot).
pub(crate) const TAG_HOST_TAIL: u8 = 7;
/// Tag of enforcement-point namespace keys (policies that attach only in their own
/// namespace).
pub(crate) const TAG_SCOPE: u8 = 8;
/// How many bytes of a prefix or suffix host pattern key it: a request probes its first
/// and last 1..=AFFIX bytes.
pub(crate) const AFFIX: usize = 16;
/// Key of "any host" and of "any principal".
pub(crate) const ANY: u64 = 0x2545_f491_4f6c_dd1d;

/// Multiply-rotate hasher over bytes (the FxHash construction).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (slot, byte) in word.iter_mut().zip(rest) {
                *slot = *byte;
            }
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

/// Hash of a tagged string key (the tag separates key spaces such as exact hosts and
/// host suffixes).
#[inline]
pub(crate) fn key_hash(tag: u8, text: &str) -> u64 {
    key_hash_bytes(tag, text.as_bytes())
}

/// [`key_hash`] over bytes (affix keys need not end on a character boundary).
#[inline]
pub(crate) fn key_hash_bytes(tag: u8, bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u8(tag);
    h.write(bytes);
    // Final avalanche so that combining two hashes spreads well.
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// Combines a host-key hash and a principal-key hash into one index key.
#[inline]
pub(crate) fn pair(host: u64, principal: u64) -> u64 {
    host ^ principal
        .rotate_left(29)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Combines host, source and scope key hashes into one index key.
#[inline]
pub(crate) fn combine(host: u64, source: u64, scope: u64) -> u64 {
    pair(host, source) ^ scope.rotate_left(47).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
}

/// Identity hasher for keys that are already hashes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for [`IdentityHasher`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdentityBuild;

impl BuildHasher for IdentityBuild {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher::default()
    }
}
