//! Everything that touches the kernel. The only module where `unsafe` is allowed.
//!
//! Every failure is a [`SysError`] naming the syscall (or socket option) and the object it was
//! applied to, so the daemon can log e.g. `setsockopt(IP_MULTICAST_ALL) on eth1: Operation not
//! permitted` without further context.
//!
//! What the daemon uses (all fds are nonblocking + close-on-exec and implement `AsRawFd` for
//! `mio::unix::SourceFd`):
//!
//! | module | for |
//! |---|---|
//! | [`socket`] | `RecvSocket::open(ifname, ifindex, family, &RecvMode)` / `.recv()`; `SendSocket::open(ifname, ifindex, family)` / `.send(src, dst, ttl, payload)` |
//! | [`netlink`] | `NlRequests` (`add_address`, `del_address`, `poll_acks`), `NlMonitor::read_events`, `dump`, `InterfaceTable` |
//! | [`link`] | `PacketSender::send_frame(ifindex, frame)` for GARP / NA; `ifindex(name)` |
//! | [`timer`] | `now()` (the one clock), `Timer::arm(deadline)` / `disarm` / `read` |
//! | [`process`] | script children: spawn, kill_group, reap (owned by the process helper) |
//! | [`signal`] | `block_all_before_threads()`, `SignalFd::read() -> Signal`, `reset_for_child()`, `signum(name)` |
//! | [`notify`] | `Notifier::from_env()`, `ready` / `reloading` / `stopping` / `status` |
//! | [`pidfile`] | `PidFile::create(path)` / `remove`, `running_pid(path)`, `make_dir` / `remove_dir_if_empty` |
//! | [`netns`] | `enter(name)`: `net_namespace` (setns into /run/netns/NAME, own mount namespace with a fresh /sys) |
//! | [`daemonize`] | `daemonize()` (without `-n`, before any thread) |
//! | [`fifo`] | `NotifyFifo::open(path, before_open)` / `write_line` (notify FIFO, created if missing) |
//! | [`inotify`] | `TrackFiles::start(&specs)` / `read_events()` / `reload(&specs)` → `TrackerUpdate::File` |
//! | [`procevents`] | `ProcWatch::start(&specs, now)`: process-events connector or /proc + pidfd fallback → `TrackerUpdate::Process` |
//! | [`vmac`] | `use_vmac`: `create(name, parent, ifindex, mac, family)` (macvlan + sysctls, up), `delete(name)`, `RpFilter::adjust` / `restore` |
//! | [`syslog`] | `init(LogConfig)`: `log` backend for /dev/log and the console |
//! | [`smtp`] | `Mailer::start(registry, now, cfg, subject, message)` / `ready(token)` / `handle_timeout`: e-mail alerts over non-blocking TCP; `local_date()` |
#![allow(unsafe_code)]

pub mod daemonize;
pub mod error;
pub mod fifo;
pub mod inotify;
pub mod link;
pub mod netlink;
pub mod netns;
pub mod nftables;
pub mod notify;
pub mod pidfile;
pub mod process;
pub mod procevents;
pub mod sched;
pub mod signal;
pub mod smtp;
pub mod socket;
pub mod syslog;
pub mod timer;
pub mod vmac;

pub use error::{Errno, SysError};
