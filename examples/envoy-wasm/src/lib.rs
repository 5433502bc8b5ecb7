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
//! Build: `cargo build -p egress-policy-envoy-wasm --target wasm32-wasip1 --release`
//! (output `target/wasm32-wasip1/release/egress_policy_envoy_wasm.wasm`).

pub mod config;
pub mod headers;
pub mod mapping;

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::config::Settings;
use crate::mapping::Connection;

/// The module's entry point (`_initialize`, exported by `proxy_wasm::main!`). Private so
/// that the generated function needs no documentation; the export does not depend on it.
mod start {
    use super::{LogLevel, Root, RootContext};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
    }}
}

/// The plugin's root context: holds the compiled policies.
#[derive(Default)]
struct Root {
    settings: Option<Rc<Settings>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let loaded = config::load(&bytes).and_then(|mut settings| {
            // Decide as this proxy: the configured workload, else the node's identity.
            config::resolve_workload(&mut settings, |path| self.node_metadata(path))?;
            Ok(settings)
        });
        match loaded {
            Ok(settings) => {
                for warning in &settings.warnings {
                    log(LogLevel::Warn, &format!("egress-policy: {warning}"));
                }
                let at = settings.workload.as_ref().map_or_else(
                    || "the gateway the registry routes each host to".to_string(),
                    |w| format!("workload {} {:?}", w.namespace, w.labels),
                );
                log(
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
                // contexts anyway they deny everything.
                self.settings = None;
                log(
                    LogLevel::Critical,
                    &format!("egress-policy: configuration rejected:\n{error}"),
                );
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            settings: self.settings.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One request's filter instance.
struct Filter {
    settings: Option<Rc<Settings>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(settings) = self.settings.clone() else {
            // Fail closed: no policies were loaded.
            self.send_http_response(
                503,
                vec![(mapping::REASON_HEADER, "not_configured")],
                Some(b"egress-policy: not configured"),
            );
            return Action::Pause;
        };
        // Each property read is a host call: read only what the policies can use.
        let needs = &settings.needs;
        let connection = Connection {
            peer_uri_san: self.property_string(&["connection", "uri_san_peer_certificate"]),
            source_address: needs
                .source_ip
                .then(|| self.property_string(&["source", "address"]))
                .flatten(),
            destination_address: needs
                .destination_ip
                .then(|| self.property_string(&["destination", "address"]))
                .flatten(),
            sni: needs
                .sni
                .then(|| self.property_string(&["connection", "requested_server_name"]))
                .flatten(),
        };
        let map = headers::request_headers();
        let action = match map.pairs() {
            // The request is read in place from the header map (no `Request` built).
            Some(pairs) => match mapping::decide_headers(&settings, pairs, &connection) {
                Ok(action) => action,
                Err(denial) => {
                    log(
                        LogLevel::Debug,
                        &format!("egress-policy: {}: {}", denial.status, denial.body),
                    );
                    mapping::deny(denial)
                }
            },
            // An unreadable header map: fail closed.
            None => {
                log(
                    LogLevel::Warn,
                    "egress-policy: 400: unreadable request headers",
                );
                mapping::malformed()
            }
        };
        match action {
            mapping::Action::Allow {
                add,
                set,
                remove,
                path,
            } => {
                for name in &remove {
                    self.remove_http_request_header(name);
                }
                for (name, value) in &set {
                    self.set_http_request_header(name, Some(value));
                }
                for (name, value) in &add {
                    self.add_http_request_header(name, value);
                }
                if let Some(path) = &path {
                    self.set_http_request_header(":path", Some(path));
                }
                Action::Continue
            }
            mapping::Action::Deny {
                status,
                body,
                policy,
                reason,
            } => {
                self.send_http_response(
                    status,
                    vec![
                        (mapping::POLICY_HEADER, policy.as_str()),
                        (mapping::REASON_HEADER, reason),
                    ],
                    Some(body.as_bytes()),
                );
                Action::Pause
            }
        }
    }
}

impl Root {
    /// A string of Envoy's node metadata (`xds.node.metadata.NAMESPACE`,
    /// `xds.node.metadata.LABELS.app`; `node.` without the `xds.` prefix on Envoy versions
    /// before the prefix was introduced).
    fn node_metadata(&self, path: &[&str]) -> Option<String> {
        ["xds", ""].iter().find_map(|prefix| {
            let mut full: Vec<&str> = Vec::new();
            if !prefix.is_empty() {
                full.push(prefix);
            }
            full.extend(["node", "metadata"]);
            full.extend_from_slice(path);
            self.get_property(full)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|s| !s.is_empty())
        })
    }
}

impl Filter {
    fn property_string(&self, path: &[&str]) -> Option<String> {
        let bytes = self.get_property(path.to_vec())?;
        String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    }
}

fn log(level: LogLevel, message: &str) {
    // Logging can only fail when the host is gone; nothing useful is left to do then.
    let _ = proxy_wasm::hostcalls::log(level, message);
}
