//! The VRRP protocol core: pure, sans-IO.

pub mod ip;
pub mod spec;
pub mod wire;
