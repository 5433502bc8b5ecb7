//! Gloo workspaces.
