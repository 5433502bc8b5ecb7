//! The egress-policy Envoy external authorization server as a library: request mapping
//! ([`check`]), the serving state and reload rules ([`state`]), file watching
//! ([`watch`]), Prometheus metrics ([`metrics`]) and the gRPC server with health and
//! graceful shutdown ([`server`]). The binaries `egress-policy-ext-authz` (the server)
//! and `egress-policy-loadgen` (a load generator) are built on it.

pub mod check;
pub mod metrics;
pub mod server;
pub mod state;
pub mod watch;
