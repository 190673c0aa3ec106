//! The VRRP protocol core: pure, sans-IO.

pub mod spec;
pub mod wire;
