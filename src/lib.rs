//! rkeepalived: a keepalived-compatible VRRP daemon.
//!
//! ```text
//!               config/ (pure)            check/ (pure policy)
//!                    \                        |
//!    sys/ (all syscalls, all unsafe) --Input--> vrrp::Node (pure, sans-IO) --Action--> sys/
//!         ^  raw VRRP sockets, netlink,             handle(now, input)
//!         |  timerfd, signalfd, children,           poll_action() / poll_timeout()
//!         |  AF_PACKET (GARP / NA)
//!    daemon.rs: one mio Poll loop — fd readiness -> Input; drain Actions -> sys; re-arm the timerfd
//! ```
//!
//! The drain rule: after every input given to the core, the daemon drains every pending action
//! and then re-arms its single timer from `poll_timeout()`, in exactly one function.
//!
//! `unsafe` is denied crate-wide and allowed only in `sys/`, where every block carries a
//! `// SAFETY:` comment.

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod mail;
pub mod sys;
pub mod time;
pub mod vrrp;
