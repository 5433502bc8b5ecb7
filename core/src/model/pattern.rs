//! The value patterns of Istio authorization, each with the exact semantics of the
//! Envoy matcher Istio generates for it (SEMANTICS.md §1.4–§1.10).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The four string forms of Istio authorization values (SEMANTICS.md §1.4).
///
/// A `*` anywhere but the very start or end is a literal character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum StringPattern {
    /// The whole value equals the text.
    Exact(String),
    /// The value starts with the text (policy value `text*`).
    Prefix(String),
    /// The value ends with the text (policy value `*text`).
    Suffix(String),
    /// The value is present and non-empty (policy value `*`).
    Presence,
}

impl StringPattern {
    /// Classifies a policy value into its form.
    ///
    /// ```
    /// use egress_policy::model::StringPattern;
    /// assert_eq!(StringPattern::parse("*.example.com"), StringPattern::Suffix(".example.com".into()));
    /// assert_eq!(StringPattern::parse("/api/*"), StringPattern::Prefix("/api/".into()));
    /// assert_eq!(StringPattern::parse("a*b"), StringPattern::Exact("a*b".into()));
    /// assert_eq!(StringPattern::parse("*"), StringPattern::Presence);
    /// ```
    pub fn parse(value: &str) -> Self {
        if value == "*" {
            StringPattern::Presence
        } else if let Some(rest) = value.strip_prefix('*') {
            StringPattern::Suffix(rest.to_string())
        } else if let Some(rest) = value.strip_suffix('*') {
            StringPattern::Prefix(rest.to_string())
        } else {
            StringPattern::Exact(value.to_string())
        }
    }

    /// Case-sensitive match.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringPattern::Exact(text) => value == text,
            StringPattern::Prefix(text) => value.starts_with(text.as_str()),
            StringPattern::Suffix(text) => value.ends_with(text.as_str()),
            StringPattern::Presence => !value.is_empty(),
        }
    }

    /// The same pattern with its text lower-cased (for case-insensitive fields).
    pub fn to_lowercase(&self) -> Self {
        match self {
            StringPattern::Exact(t) => StringPattern::Exact(t.to_ascii_lowercase()),
            StringPattern::Prefix(t) => StringPattern::Prefix(t.to_ascii_lowercase()),
            StringPattern::Suffix(t) => StringPattern::Suffix(t.to_ascii_lowercase()),
            StringPattern::Presence => StringPattern::Presence,
        }
    }

    /// The same pattern with `prefix` prepended to the text it compares from the start
    /// (used to turn Istio principal values into SPIFFE URI patterns).
    pub fn with_leading(&self, prefix: &str) -> Self {
        match self {
            StringPattern::Exact(t) => StringPattern::Exact(format!("{prefix}{t}")),
            StringPattern::Prefix(t) => StringPattern::Prefix(format!("{prefix}{t}")),
            other => other.clone(),
        }
    }
}

impl fmt::Display for StringPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringPattern::Exact(t) => f.write_str(t),
            StringPattern::Prefix(t) => write!(f, "{t}*"),
            StringPattern::Suffix(t) => write!(f, "*{t}"),
            StringPattern::Presence => f.write_str("*"),
        }
    }
}

/// An authorization `hosts` value: a [`StringPattern`] compared case-insensitively with the
/// raw `:authority`, port included (SEMANTICS.md §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "HostPatternWire")]
pub struct HostPattern {
    /// The value as written in the policy.
    pub raw: String,
    /// The lower-cased pattern.
    pub pattern: StringPattern,
}

impl HostPattern {
    /// Parses a policy `hosts` value.
    ///
    /// ```
    /// use egress_policy::model::HostPattern;
    /// let p = HostPattern::parse("*.Example.com");
    /// assert!(p.matches("API.example.COM"));
    /// assert!(!p.matches("example.com"));
    /// assert!(!p.matches("evilexample.com"));
    /// assert!(!p.matches("api.example.com:443"));
    /// ```
    pub fn parse(raw: &str) -> Self {
        HostPattern {
            raw: raw.to_string(),
            pattern: StringPattern::parse(raw).to_lowercase(),
        }
    }

    /// Matches the raw authority (which may carry `:port`).
    pub fn matches(&self, authority: &str) -> bool {
        self.pattern.matches(&authority.to_ascii_lowercase())
    }
}

/// The characters Envoy's URI template accepts inside one path segment (RFC 3986 pchar
/// without `/`): a literal `*` in a request path never satisfies `{*}`.
fn is_pchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'()+,;:@=".contains(c)
}

/// One piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    /// Literal text, compared exactly.
    Literal(String),
    /// `{*}`: one or more pchar characters (one non-empty segment).
    OneSegment,
    /// `{**}`: zero or more pchar characters or `/`.
    AnySegments,
}

/// A `paths` value: one of the string forms, or an Envoy URI template (`{*}`, `{**}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "PathPatternWire")]
pub enum PathPattern {
    /// Exact, prefix, suffix or presence, case-sensitive.
    String {
        /// The pattern.
        pattern: StringPattern,
    },
    /// A URI template.
    Template {
        /// The value as written.
        raw: String,
        /// The pieces in order.
        parts: Vec<TemplatePart>,
    },
}

/// Why a `paths` value is not a valid path (SEMANTICS.md §1.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPath(pub String);

impl PathPattern {
    /// Parses and validates a policy `paths` value like Istio's `CheckValidPathTemplate`.
    ///
    /// ```
    /// use egress_policy::model::PathPattern;
    /// let t = PathPattern::parse("/store/{**}/cart").unwrap();
    /// assert!(t.matches("/store//cart"));
    /// assert!(t.matches("/store/a/b/cart"));
    /// assert!(!t.matches("/store/cart"));
    /// assert!(PathPattern::parse("/{buzz}").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, InvalidPath> {
        let is_template = raw.contains("{*}") || raw.contains("{**}");
        let trimmed = raw.trim_matches('/');
        if !is_template {
            if raw.contains('{') || raw.contains('}') {
                return Err(InvalidPath(format!(
                    "`{raw}` contains `{{` or `}}` outside of a `{{*}}` or `{{**}}` operator"
                )));
            }
            return Ok(PathPattern::String {
                pattern: StringPattern::parse(raw),
            });
        }
        let segments: Vec<&str> = trimmed.split('/').collect();
        let mut seen_any = false;
        for segment in &segments {
            match *segment {
                "{*}" | "{**}" if seen_any => {
                    return Err(InvalidPath(format!(
                        "`{raw}`: no operator may follow `{{**}}`"
                    )))
                }
                "{**}" => seen_any = true,
                "{*}" => {}
                literal => {
                    if literal.is_empty() || !literal.chars().all(is_pchar) {
                        return Err(InvalidPath(format!(
                            "`{raw}`: segment `{literal}` must be `{{*}}`, `{{**}}` or literal path characters"
                        )));
                    }
                }
            }
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = raw;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{**}") {
                flush(&mut literal, &mut parts);
                parts.push(TemplatePart::AnySegments);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{*}") {
                flush(&mut literal, &mut parts);
                parts.push(TemplatePart::OneSegment);
                rest = after;
            } else {
                let mut chars = rest.chars();
                if let Some(c) = chars.next() {
                    literal.push(c);
                }
                rest = chars.as_str();
            }
        }
        flush(&mut literal, &mut parts);
        Ok(PathPattern::Template {
            raw: raw.to_string(),
            parts,
        })
    }

    /// Matches a normalised path without query or fragment.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::String { pattern } => pattern.matches(path),
            PathPattern::Template { parts, .. } => template_matches(parts, path),
        }
    }
}

fn flush(literal: &mut String, parts: &mut Vec<TemplatePart>) {
    if !literal.is_empty() {
        parts.push(TemplatePart::Literal(std::mem::take(literal)));
    }
}

/// Backtracking match of template parts; templates are short and `{**}` appears at most once.
fn template_matches(parts: &[TemplatePart], path: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return path.is_empty();
    };
    match first {
        TemplatePart::Literal(text) => path
            .strip_prefix(text.as_str())
            .is_some_and(|after| template_matches(rest, after)),
        TemplatePart::OneSegment => {
            let run = path.find(|c: char| !is_pchar(c)).unwrap_or(path.len());
            (1..=run).any(|n| {
                path.get(n..)
                    .is_some_and(|after| template_matches(rest, after))
            })
        }
        TemplatePart::AnySegments => {
            let run = path
                .find(|c: char| !(is_pchar(c) || c == '/'))
                .unwrap_or(path.len());
            (0..=run).any(|n| {
                path.get(n..)
                    .is_some_and(|after| template_matches(rest, after))
            })
        }
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathPattern::String { pattern } => pattern.fmt(f),
            PathPattern::Template { raw, .. } => f.write_str(raw),
        }
    }
}

/// A `namespaces` value: every `*` is a glob; matched as Envoy regex `.*/ns/<glob>/.*`
/// (full match) against the peer's SPIFFE URI (SEMANTICS.md §1.9).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NamespacePattern {
    /// The glob as written.
    pub glob: String,
}

impl NamespacePattern {
    /// Matches a SPIFFE URI such as `spiffe://cluster.local/ns/default/sa/sleep`.
    ///
    /// ```
    /// use egress_policy::model::NamespacePattern;
    /// let p = NamespacePattern { glob: "ns-*-prod".into() };
    /// assert!(p.matches_uri("spiffe://td/ns/ns-a-prod/sa/x"));
    /// assert!(!p.matches_uri("spiffe://td/ns/ns-a-dev/sa/x"));
    /// ```
    pub fn matches_uri(&self, uri: &str) -> bool {
        // `.*/ns/` then the glob then `/.*`: try every occurrence of `/ns/`.
        let mut start = 0;
        while let Some(found) = uri.get(start..).and_then(|s| s.find("/ns/")) {
            let after = start + found + 4;
            if let Some(rest) = uri.get(after..) {
                let glob_then_slash = format!("{}/*", self.glob);
                if glob_match(&glob_then_slash, rest) {
                    return true;
                }
            }
            start += found + 1;
        }
        false
    }

    /// Matches a plain namespace name (used by the `source.namespace` condition's
    /// equivalent identity check when no URI is available).
    pub fn matches_name(&self, namespace: &str) -> bool {
        glob_match(&self.glob, namespace)
    }
}

/// `*` matches any run of characters (including `/`); everything else is literal.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let pattern: Vec<char> = glob.chars().collect();
    let input: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < input.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if Some(c) == input.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// A `serviceAccounts` value resolved to namespace and name (SEMANTICS.md §1.9).
///
/// Matched like Istio's regex `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRef {
    /// Namespace of the service account.
    pub namespace: String,
    /// Service account name.
    pub name: String,
}

impl ServiceAccountRef {
    /// Matches a SPIFFE URI.
    ///
    /// ```
    /// use egress_policy::model::ServiceAccountRef;
    /// let sa = ServiceAccountRef { namespace: "default".into(), name: "sleep".into() };
    /// assert!(sa.matches_uri("spiffe://cluster.local/ns/default/sa/sleep"));
    /// assert!(!sa.matches_uri("spiffe://cluster.local/ns/default/sa/sleepy"));
    /// ```
    pub fn matches_uri(&self, uri: &str) -> bool {
        let Some(rest) = uri.strip_prefix("spiffe://") else {
            return false;
        };
        let ns_marker = format!("/ns/{}/", self.namespace);
        let sa_marker = format!("sa/{}", self.name);
        // `.+` before `/ns/`: the marker must not start at offset 0.
        let mut search = 0;
        while let Some(found) = rest.get(search..).and_then(|s| s.find(&ns_marker)) {
            let at = search + found;
            if at > 0 {
                if let Some(tail) = rest.get(at + ns_marker.len()..) {
                    if sa_tail_matches(tail, &sa_marker) {
                        return true;
                    }
                }
            }
            search = at + 1;
        }
        false
    }
}

/// `(.+/|)sa/<sa>(/.+)?` as a full match of `tail`.
fn sa_tail_matches(tail: &str, sa_marker: &str) -> bool {
    let ends_right = |after: &str| after.is_empty() || (after.len() > 1 && after.starts_with('/'));
    if let Some(after) = tail.strip_prefix(sa_marker) {
        if ends_right(after) {
            return true;
        }
    }
    let mut search = 0;
    while let Some(found) = tail
        .get(search..)
        .and_then(|s| s.find(&format!("/{sa_marker}")))
    {
        let at = search + found;
        if at > 0 {
            if let Some(after) = tail.get(at + 1 + sa_marker.len()..) {
                if ends_right(after) {
                    return true;
                }
            }
        }
        search = at + 1;
    }
    false
}

/// A `trustDomains` value (SEMANTICS.md §1.9).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrustDomainPattern {
    /// The value as written (after alias expansion).
    pub value: String,
}

impl TrustDomainPattern {
    /// Matches the trust domain part of a SPIFFE URI.
    pub fn matches_uri(&self, uri: &str) -> bool {
        let Some(rest) = uri.strip_prefix("spiffe://") else {
            return false;
        };
        let Some((domain, _)) = rest.split_once('/') else {
            return false;
        };
        match StringPattern::parse(&self.value) {
            StringPattern::Presence => true,
            pattern => pattern.matches(domain),
        }
    }
}

/// An IP address or CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpBlock {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl IpBlock {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1` or `2001:db8::/32`.
    ///
    /// ```
    /// use egress_policy::model::IpBlock;
    /// let block = IpBlock::parse("10.0.0.0/8").unwrap();
    /// assert!(block.contains("10.1.2.3".parse().unwrap()));
    /// assert!(IpBlock::parse("10.0.0.0/33").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(bits) if !bits.is_empty() && bits.chars().all(|c| c.is_ascii_digit()) => {
                bits.parse::<u8>().ok().filter(|b| *b <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(IpBlock { addr, prefix })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpBlock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads the serialized form (`10.0.0.0/8`) back through [`IpBlock::parse`]: a compiled
/// bundle's blocks are validated like the policies' own.
impl<'de> Deserialize<'de> for IpBlock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        IpBlock::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid IP block `{text}`")))
    }
}

/// The serialized form of a [`HostPattern`], checked against its `raw` value when read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostPatternWire {
    raw: String,
    pattern: StringPattern,
}

impl TryFrom<HostPatternWire> for HostPattern {
    type Error = String;

    fn try_from(wire: HostPatternWire) -> Result<Self, String> {
        let parsed = HostPattern::parse(&wire.raw);
        if parsed.pattern != wire.pattern {
            return Err(format!(
                "host pattern `{}` does not match its parsed form",
                wire.raw
            ));
        }
        Ok(parsed)
    }
}

/// The serialized form of a [`PathPattern`]; a template is parsed again from `raw`
/// ([`PathPattern::parse`] validates it) and must equal its serialized parts.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum PathPatternWire {
    String {
        pattern: StringPattern,
    },
    Template {
        raw: String,
        parts: Vec<TemplatePart>,
    },
}

impl TryFrom<PathPatternWire> for PathPattern {
    type Error = String;

    fn try_from(wire: PathPatternWire) -> Result<Self, String> {
        match wire {
            PathPatternWire::String { pattern } => Ok(PathPattern::String { pattern }),
            PathPatternWire::Template { raw, parts } => {
                let parsed = PathPattern::parse(&raw).map_err(|e| e.0)?;
                let expected = PathPattern::Template { raw, parts };
                if parsed != expected {
                    return Err(format!("path template `{parsed}` does not match its parts"));
                }
                Ok(parsed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_suffix_respects_boundaries_case_and_port() {
        let p = HostPattern::parse("*.example.com");
        assert!(p.matches("a.example.com"));
        assert!(p.matches("a.b.example.com"));
        assert!(p.matches("A.EXAMPLE.COM"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("evilexample.com"));
        assert!(!p.matches("a.example.com:443"));
        assert!(!p.matches("a.example.com."));
        assert!(HostPattern::parse("*example.com").matches("evilexample.com"));
        assert!(HostPattern::parse("example.*").matches("example.com:8080"));
        assert!(!HostPattern::parse("example.com").matches("example.com:8080"));
        assert!(HostPattern::parse("a*b.com").matches("a*b.com"));
        assert!(!HostPattern::parse("a*b.com").matches("axb.com"));
    }

    #[test]
    fn templates_follow_envoy() {
        let one = PathPattern::parse("/foo/{*}/bar").unwrap();
        assert!(one.matches("/foo/x/bar"));
        assert!(!one.matches("/foo//bar"));
        assert!(!one.matches("/foo/a/b/bar"));
        assert!(!one.matches("/foo/*/bar"));
        let admin = PathPattern::parse("/allow/admin/{**}").unwrap();
        assert!(admin.matches("/allow/admin/"));
        assert!(admin.matches("/allow/admin/x/y"));
        assert!(!admin.matches("/allow/admin"));
        assert!(PathPattern::parse("/foo/{**}/bar").is_ok());
        for bad in [
            "/foo/{*}/bar/*",
            "/{buzz}",
            "/foo/{*}.txt",
            "/{**}/{*}",
            "/foo/{**}bar",
            "/{x}",
            "/{x=*}",
            "/?abc/{*}",
            "/{**}/{**}",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_case_sensitive_and_prefix_needs_slash() {
        let p = PathPattern::parse("/a/*").unwrap();
        assert!(p.matches("/a/"));
        assert!(p.matches("/a/b/c"));
        assert!(!p.matches("/a"));
        assert!(!PathPattern::parse("/public").unwrap().matches("/Public"));
    }

    #[test]
    fn namespaces_glob_everywhere() {
        let p = NamespacePattern {
            glob: "ns.*.prod".into(),
        };
        assert!(p.matches_uri("spiffe://td/ns/ns.a.b.prod/sa/x"));
        assert!(!p.matches_uri("spiffe://td/ns/nsxaprod/sa/x"));
        let plain = NamespacePattern { glob: "foo".into() };
        assert!(plain.matches_uri("spiffe://td/ns/foo/sa/x"));
        assert!(!plain.matches_uri("spiffe://td/ns/foo"));
        assert!(!plain.matches_uri("spiffe://td/ns/foobar/sa/x"));
    }

    #[test]
    fn service_account_boundaries() {
        let sa = ServiceAccountRef {
            namespace: "ns".into(),
            name: "sa".into(),
        };
        assert!(sa.matches_uri("spiffe://td/ns/ns/sa/sa"));
        assert!(sa.matches_uri("spiffe://td/ns/ns/k/v/sa/sa"));
        assert!(sa.matches_uri("spiffe://td/ns/ns/sa/sa/k/v"));
        assert!(!sa.matches_uri("spiffe://td/ns/ns/sa/sab"));
        assert!(!sa.matches_uri("spiffe://td/ns/ns/sa/sa/"));
        assert!(!sa.matches_uri("spiffe:///ns/ns/sa/sa"));
    }

    #[test]
    fn trust_domains() {
        let uri = "spiffe://td1.corp/ns/a/sa/b";
        assert!(TrustDomainPattern {
            value: "td1.corp".into()
        }
        .matches_uri(uri));
        assert!(TrustDomainPattern {
            value: "td1*".into()
        }
        .matches_uri(uri));
        assert!(TrustDomainPattern {
            value: "*corp".into()
        }
        .matches_uri(uri));
        assert!(TrustDomainPattern { value: "*".into() }.matches_uri(uri));
        assert!(!TrustDomainPattern {
            value: "td1".into()
        }
        .matches_uri(uri));
    }

    #[test]
    fn ip_blocks() {
        let b = IpBlock::parse("192.168.0.0/16").unwrap();
        assert!(b.contains("192.168.3.4".parse().unwrap()));
        assert!(!b.contains("192.169.0.1".parse().unwrap()));
        assert!(IpBlock::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpBlock::parse("fe80::/10")
            .unwrap()
            .contains("fe80::1".parse().unwrap()));
        assert!(IpBlock::parse("1.2.3").is_none());
        assert!(IpBlock::parse("1.2.3.4/").is_none());
    }
}
