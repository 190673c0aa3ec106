//! Shared helpers for integration tests (`mod common;` in a test file).
//!
//! Every test crate compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod daemon_ext;
pub mod interop_ext;
pub mod netns;
pub mod seed;
