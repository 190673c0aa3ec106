//! Simulated LAN (test support). Filled in below.
