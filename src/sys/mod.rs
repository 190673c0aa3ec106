//! Everything that touches the kernel. The only module where `unsafe` is allowed.
//!
//! Every failure is a [`SysError`] naming the syscall (or socket option) and the object it was
//! applied to, so the daemon can log e.g. `setsockopt(IP_MULTICAST_ALL) on eth1: Operation not
//! permitted` without further context.
#![allow(unsafe_code)]

pub mod daemonize;
pub mod error;
pub mod link;
pub mod netlink;
pub mod notify;
pub mod pidfile;
pub mod process;
pub mod signal;
pub mod socket;
pub mod syslog;
pub mod timer;

pub use error::{Errno, SysError};
