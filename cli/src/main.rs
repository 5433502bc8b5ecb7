//! The `egress-policy` command.
fn main() {}
