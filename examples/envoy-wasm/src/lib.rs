//! An Envoy HTTP filter (proxy-wasm, built for `wasm32-wasip1`) that enforces
//! egress-policy decisions inside Envoy.
//!
//! * `on_configure` compiles the policies handed over in the plugin configuration once
//!   (see [`config`]); a configuration that does not load is refused (the plugin fails to
//!   start and Envoy rejects the filter) with every located error in Envoy's log.
//! * Each request is read in place into the core's borrowed view
//!   ([`egress_policy::request::RequestRef`]: `:authority`, `:method`, `:path`, the peer
//!   certificate's URI SAN or a configured stand-in, and only the headers, addresses and SNI
//!   that some loaded policy can read; see [`mapping::decide_headers`] and
//!   [`config::Needs`]) and decided with the compiled engine. The header map is read in
//!   one host call and parsed in place ([`headers`]); nothing of it is copied.
//! * A denial is answered locally with the decision's status and Envoy's body for it
//!   ([`egress_policy::response`]: 403 `RBAC: access denied`, 400 malformed or ambiguous
//!   identity, 502 `not_in_registry`, ...) with `x-egress-policy` naming the deciding
//!   policy and `x-egress-reason` the reason code. An allowed request gets the route's
//!   header mutations and, when normalisation changed it, the normalised `:path`; the
//!   stand-in identity header is removed before it goes upstream.
//! * The filter decides as the proxy it runs in ([`config::resolve_workload`]) and
//!   refuses to start when its policies attach nothing there.
//!
//! * The proxy-wasm ABI (version 0.2.1) is spoken by this crate itself (`src/abi.rs`, built
//!   for `wasm32` only): the module exports only the callbacks the filter uses, because
//!   Envoy calls every exported callback on every request, and each call into the Wasm VM
//!   costs about a thousand instructions whether it does anything or not (the SDK exports
//!   all of them; see [`Host`]).
//!
//! Build: `cargo build -p egress-policy-envoy-wasm --target wasm32-wasip1 --release`
//! (output `target/wasm32-wasip1/release/egress_policy_envoy_wasm.wasm`).

pub mod config;
pub mod headers;
pub mod mapping;

#[cfg(target_arch = "wasm32")]
mod abi;
#[cfg(test)]
mod filter_tests;

use std::rc::Rc;

use crate::config::Settings;
use crate::headers::HeaderMap;
use crate::mapping::Connection;

/// Envoy's log levels (proxy-wasm ABI `LogLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `trace`
    Trace = 0,
    /// `debug`
    Debug = 1,
    /// `info`
    Info = 2,
    /// `warn`
    Warn = 3,
    /// `error`
    Error = 4,
    /// `critical`
    Critical = 5,
}

/// A host call that did not succeed: the proxy-wasm ABI status Envoy returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostStatus(pub u32);

/// The host calls the filter makes: Envoy's proxy-wasm ABI inside the VM (`src/abi.rs`),
/// a recording fake in the tests. Calls on the request act on the request whose callback
/// is running.
pub trait Host {
    /// The plugin configuration (`configuration` of the Wasm filter), empty when there is none.
    fn plugin_configuration(&self) -> Vec<u8>;
    /// A property (`["connection", "uri_san_peer_certificate"]`, ...): `Ok(None)` when
    /// Envoy has no value for it.
    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostStatus>;
    /// The request's headers, pseudo-headers included, serialized as Envoy lists them.
    fn request_headers(&self) -> Result<HeaderMap, HostStatus>;
    /// Answers the request locally.
    fn send_local_response(
        &self,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostStatus>;
    /// Appends a request header.
    fn add_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus>;
    /// Replaces a request header (adds it when absent).
    fn replace_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus>;
    /// Removes a request header.
    fn remove_request_header(&self, name: &str) -> Result<(), HostStatus>;
    /// Writes to Envoy's log (component `wasm`).
    fn log(&self, level: LogLevel, message: &str);
}

/// What Envoy does with the request after the filter's callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on to the next filter.
    Continue = 0,
    /// Stop here (the filter answered locally).
    Pause = 1,
}

/// The plugin's root context: holds the compiled policies.
#[derive(Debug, Default)]
pub struct Root {
    settings: Option<Rc<Settings>>,
}

impl Root {
    /// Compiles the plugin configuration (`proxy_on_configure`). On failure every located
    /// error goes to Envoy's log, no settings are kept (the requests of an HTTP context
    /// created anyway are answered 503) and `false` makes Envoy refuse the plugin.
    pub fn configure(&mut self, host: &impl Host) -> bool {
        let bytes = host.plugin_configuration();
        let loaded = config::load(&bytes).and_then(|mut settings| {
            // Decide as this proxy: the configured workload, else the node's identity.
            config::resolve_workload(&mut settings, |path| node_metadata(host, path))?;
            Ok(settings)
        });
        match loaded {
            Ok(settings) => {
                for warning in &settings.warnings {
                    host.log(LogLevel::Warn, &format!("egress-policy: {warning}"));
                }
                let at = settings.workload.as_ref().map_or_else(
                    || "the gateway the registry routes each host to".to_string(),
                    |w| format!("workload {} {:?}", w.namespace, w.labels),
                );
                host.log(
                    LogLevel::Info,
                    &format!(
                        "egress-policy: loaded {} rules from the plugin configuration; deciding at {at}",
                        settings.engine.rule_count()
                    ),
                );
                self.settings = Some(Rc::new(settings));
                true
            }
            Err(error) => {
                // Keep no settings: Envoy refuses the plugin, and should it create HTTP
                // contexts anyway they answer 503.
                self.settings = None;
                host.log(
                    LogLevel::Critical,
                    &format!("egress-policy: configuration rejected:\n{error}"),
                );
                false
            }
        }
    }

    /// The compiled policies, once configured.
    pub fn settings(&self) -> Option<Rc<Settings>> {
        self.settings.clone()
    }
}

/// A string of Envoy's node metadata (`xds.node.metadata.NAMESPACE`,
/// `xds.node.metadata.LABELS.app`; `node.` without the `xds.` prefix on Envoy versions
/// before the prefix was introduced).
fn node_metadata(host: &impl Host, path: &[&str]) -> Option<String> {
    ["xds", ""].iter().find_map(|prefix| {
        let mut full: Vec<&str> = Vec::new();
        if !prefix.is_empty() {
            full.push(prefix);
        }
        full.extend(["node", "metadata"]);
        full.extend_from_slice(path);
        host.property(&full)
            .ok()
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|s| !s.is_empty())
    })
}

/// Decides one request (`proxy_on_request_headers`) and acts on the decision: the route's
/// header changes and `Continue`, or a local reply and `Pause`. No settings (the
/// configuration was refused), an unreadable header map or a failed host call: a local
/// reply (fail closed).
pub fn on_request_headers(settings: Option<&Settings>, host: &impl Host) -> Flow {
    let Some(settings) = settings else {
        return answer(
            host,
            503,
            &[(mapping::REASON_HEADER, "not_configured")],
            b"egress-policy: not configured",
        );
    };
    match decide(settings, host) {
        Ok(mapping::Action::Allow {
            add,
            set,
            remove,
            path,
        }) => {
            let changed = change_request(host, &remove, &set, &add, path.as_deref());
            match changed {
                Ok(()) => Flow::Continue,
                // A request must not leave without the changes its route makes (the
                // stand-in identity header among them).
                Err(status) => host_failure(host, "changing the request headers", status),
            }
        }
        Ok(mapping::Action::Deny {
            status,
            body,
            policy,
            reason,
        }) => answer(
            host,
            status,
            &[
                (mapping::POLICY_HEADER, policy.as_str()),
                (mapping::REASON_HEADER, reason),
            ],
            body.as_bytes(),
        ),
        Err(status) => host_failure(host, "reading the request", status),
    }
}

/// The route's changes to an allowed request, in Envoy's order: removals, replacements,
/// additions, then the normalised `:path`.
fn change_request(
    host: &impl Host,
    remove: &[String],
    set: &[(String, String)],
    add: &[(String, String)],
    path: Option<&str>,
) -> Result<(), HostStatus> {
    for name in remove {
        host.remove_request_header(name)?;
    }
    for (name, value) in set {
        host.replace_request_header(name, value)?;
    }
    for (name, value) in add {
        host.add_request_header(name, value)?;
    }
    if let Some(path) = path {
        host.replace_request_header(":path", path)?;
    }
    Ok(())
}

/// The decision on the request the host shows; `Err` when a host call failed.
fn decide(settings: &Settings, host: &impl Host) -> Result<mapping::Action, HostStatus> {
    let string = |path: &[&str]| -> Result<Option<String>, HostStatus> {
        Ok(host
            .property(path)?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|s| !s.is_empty()))
    };
    // Each property read is a host call: read only what the policies can use.
    let needs = &settings.needs;
    let read = |needed: bool, path: &[&str]| if needed { string(path) } else { Ok(None) };
    let connection = Connection {
        peer_uri_san: string(&["connection", "uri_san_peer_certificate"])?,
        source_address: read(needs.source_ip, &["source", "address"])?,
        destination_address: read(needs.destination_ip, &["destination", "address"])?,
        sni: read(needs.sni, &["connection", "requested_server_name"])?,
    };
    let map = host.request_headers()?;
    Ok(match map.pairs() {
        // The request is read in place from the header map (no `Request` built).
        Some(pairs) => match mapping::decide_headers(settings, pairs, &connection) {
            Ok(action) => action,
            Err(denial) => {
                host.log(
                    LogLevel::Debug,
                    &format!("egress-policy: {}: {}", denial.status, denial.body),
                );
                mapping::deny(denial)
            }
        },
        None => {
            host.log(
                LogLevel::Warn,
                "egress-policy: 400: unreadable request headers",
            );
            mapping::malformed()
        }
    })
}

/// A local reply; `Pause` whether or not Envoy took it (nothing else is left to do).
fn answer(host: &impl Host, status: u32, headers: &[(&str, &str)], body: &[u8]) -> Flow {
    if let Err(HostStatus(code)) = host.send_local_response(status, headers, body) {
        host.log(
            LogLevel::Error,
            &format!("egress-policy: the local reply {status} failed (host status {code})"),
        );
    }
    Flow::Pause
}

/// A host call failed mid-request: answer 503 rather than decide on what could not be read.
fn host_failure(host: &impl Host, doing: &str, HostStatus(code): HostStatus) -> Flow {
    host.log(
        LogLevel::Error,
        &format!("egress-policy: 503: a host call failed while {doing} (status {code})"),
    );
    answer(
        host,
        503,
        &[(mapping::REASON_HEADER, "host_error")],
        b"egress-policy: host call failed",
    )
}
