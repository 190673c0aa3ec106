//! The VRRP protocol core: pure, sans-IO.

pub mod arp;
pub mod ip;
pub mod ndisc;
pub mod spec;
pub mod wire;
