//! The first bytes every path a rule accepts starts with, kept in the index's candidate so
//! that decide can skip a rule whose `paths` cannot match without reading the rule.
//!
//! At 100 000 rules a candidate's full check costs several cache misses (the rule, its
//! operations, their patterns live in separate allocations), while its posting-list entry
//! is already in cache. Methods were the only attribute checked there; paths are the next
//! most written one (`/api/*`, `/v1/items`, `/store/{*}/cart`), and a request whose path
//! starts differently — most requests, when rules name different routes — is skipped for
//! the price of a mask and a compare.

use crate::model::{PathPattern, StringPattern, TemplatePart};

/// Up to 8 leading bytes of a path, packed little-endian, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PathHead {
    bytes: u64,
    len: u8,
}

impl PathHead {
    /// No constraint: admits every request.
    pub(crate) const ANY: PathHead = PathHead { bytes: 0, len: 0 };

    /// The first (up to) 8 bytes of `text`.
    #[inline]
    pub(crate) fn of(text: &[u8]) -> Self {
        let mut packed = [0u8; 8];
        let len = text.len().min(8);
        if let (Some(dst), Some(src)) = (packed.get_mut(..len), text.get(..len)) {
            dst.copy_from_slice(src);
        }
        PathHead {
            bytes: u64::from_le_bytes(packed),
            len: len as u8,
        }
    }

    /// Whether a request whose path starts with `request` (its own [`PathHead::of`]) may
    /// match a rule with this head: the request has at least as many bytes and they agree.
    #[inline]
    pub(crate) fn admits(self, request: PathHead) -> bool {
        if self.len == 0 {
            return true;
        }
        let mask = if self.len >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * u32::from(self.len))) - 1
        };
        request.len >= self.len && request.bytes & mask == self.bytes
    }
}

/// The literal bytes every path `pattern` matches starts with (empty when it constrains
/// no prefix: `*suffix`, `*`, a template opening with `{*}`).
pub(crate) fn literal_head(pattern: &PathPattern) -> &[u8] {
    match pattern {
        PathPattern::String {
            pattern: StringPattern::Exact(text) | StringPattern::Prefix(text),
        } => text.as_bytes(),
        PathPattern::String { .. } => b"",
        PathPattern::Template { parts, .. } => match parts.first() {
            Some(TemplatePart::Literal(text)) => text.as_bytes(),
            _ => b"",
        },
    }
}

/// The longest common prefix of `a` and `b`.
pub(crate) fn common_prefix<'a>(a: &'a [u8], b: &[u8]) -> &'a [u8] {
    let n = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    a.get(..n).unwrap_or_default()
}

/// The head shared by every path of a positive `paths` list (`None` for an empty list:
/// no constraint).
pub(crate) fn list_head(values: &[PathPattern]) -> Option<&[u8]> {
    let mut heads = values.iter().map(literal_head);
    let first = heads.next()?;
    Some(heads.fold(first, common_prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(values: &[&str]) -> PathHead {
        let parsed: Vec<PathPattern> = values
            .iter()
            .map(|v| PathPattern::parse(v).unwrap_or_else(|e| panic!("{v}: {e:?}")))
            .collect();
        list_head(&parsed).map_or(PathHead::ANY, PathHead::of)
    }

    /// The head never rejects a path one of the patterns matches (a necessary condition
    /// only), and rejects paths that start differently.
    #[test]
    fn heads_are_necessary_conditions() {
        let lists: [&[&str]; 9] = [
            &["/api/v1/items"],
            &["/api/*"],
            &["/api/{*}/items"],
            &["/api/v1/items", "/api/v2/items"],
            &["/a", "/b"],
            &["*/items"],
            &["*"],
            &["/store/{**}/cart", "/store/x"],
            &["/very/long/literal/prefix/*"],
        ];
        let paths = [
            "/",
            "/a",
            "/b",
            "/api",
            "/api/",
            "/api/v1/items",
            "/api/v2/items",
            "/api/x/items",
            "/apix",
            "/items",
            "/x/items",
            "/store//cart",
            "/store/x",
            "/very/long/literal/prefix/",
            "/very/long/literal/prefix/z",
            "/very/lonG",
            "",
        ];
        for list in lists {
            let parsed: Vec<PathPattern> = list
                .iter()
                .map(|v| PathPattern::parse(v).unwrap_or_else(|e| panic!("{v}: {e:?}")))
                .collect();
            let head = head_of(list);
            for path in paths {
                let matches = parsed.iter().any(|p| p.matches(path));
                let admitted = head.admits(PathHead::of(path.as_bytes()));
                assert!(!matches || admitted, "{list:?} rejects {path} it matches");
            }
        }
        assert!(!head_of(&["/api/*"]).admits(PathHead::of(b"/miss/1")));
        assert!(!head_of(&["/api/v1/items"]).admits(PathHead::of(b"/api/v2/items")));
        assert!(!head_of(&["/api/*"]).admits(PathHead::of(b"/ap")));
        assert_eq!(head_of(&["/a", "/b"]), PathHead::of(b"/"));
        assert_eq!(head_of(&["*"]), PathHead::ANY);
        assert!(PathHead::ANY.admits(PathHead::of(b"")));
    }
}
