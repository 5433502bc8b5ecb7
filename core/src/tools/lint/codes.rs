//! The lint codes: one enum, its kebab-case strings (serde and `Display`) and the [`CODES`]
//! table, all generated from one list.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! lint_codes {
    ($($variant:ident => $code:literal, $summary:literal;)*) => {
        /// A stable lint code. Serialises (and prints) as its kebab-case name, such as
        /// `deny-host-without-port`; [`LintCode::summary`] says what it finds.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum LintCode {
            $(
                #[doc = $summary]
                #[serde(rename = $code)]
                $variant,
            )*
        }

        impl LintCode {
            /// Every code, in the order of [`CODES`].
            pub const ALL: &'static [LintCode] = &[$(LintCode::$variant),*];

            /// The kebab-case name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(LintCode::$variant => $code,)*
                }
            }

            /// The code named `name` (its kebab-case form).
            pub fn parse(name: &str) -> Option<LintCode> {
                LintCode::ALL.iter().copied().find(|c| c.as_str() == name)
            }

            /// What the code finds, in one line.
            pub const fn summary(self) -> &'static str {
                match self {
                    $(LintCode::$variant => $summary,)*
                }
            }
        }

        /// Every lint code with a one-line summary (`(name, summary)`, in [`LintCode::ALL`]
        /// order).
        pub const CODES: &[(&str, &str)] = &[$(($code, $summary)),*];
    };
}

lint_codes! {
    DenyHostWithoutPort => "deny-host-without-port", "a DENY `hosts` (or ALLOW `notHosts`) value without its `host:*` twin: clients bypass it by sending `Host: host:80`";
    AllowHostWithoutPort => "allow-host-without-port", "an ALLOW `hosts` value without `host:*` for a host registered on a non-default port: its clients send `host:port` and are denied";
    HostSuffixWithoutDot => "host-suffix-without-dot", "`*example.com` (no dot) also matches `evilexample.com`";
    LiteralStar => "literal-star", "a `*` inside a value is a literal character, not a wildcard";
    SpiffePrincipal => "spiffe-principal", "a principal written with `spiffe://` never matches: Istio adds the scheme itself";
    NeverMatches => "never-matches", "a rule (or value) whose conditions contradict each other, so it can never match";
    ShadowedByDeny => "shadowed-by-deny", "an ALLOW rule whose every request is denied by a DENY rule of the same scope";
    RedundantRule => "redundant-rule", "a rule made redundant by a broader rule of the same action and scope";
    HttpOnlyOnTcp => "http-only-on-tcp", "HTTP-only fields in a policy that also sees TCP/TLS traffic: ALLOW rules are skipped, DENY rules lose the constraint";
    HostsOnTls => "hosts-on-tls", "`hosts` in a policy that sees TLS traffic, where only the SNI is visible";
    RegistryOnlyNotSet => "registry-only-not-set", "egress gateways enforce ALLOW policies but outboundTrafficPolicy is not REGISTRY_ONLY: unregistered hosts leave directly";
    HostNotInRegistry => "host-not-in-registry", "a policy names a host no registry entry routes to its gateway: the rule never sees that traffic";
    UnreachableService => "unreachable-service", "a registry entry that no identity may reach";
    UnattachedPolicy => "unattached-policy", "a policy that attaches to no gateway or workload";
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for LintCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
