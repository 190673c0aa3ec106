//! The mio event loop joining `sys/` and `vrrp::Node`. Not yet implemented.
