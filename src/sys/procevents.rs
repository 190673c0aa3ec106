//! `vrrp_track_process` I/O: the kernel's process-events connector, with a fallback for where
//! it is unavailable, and /proc reads. What matches and when it is reported lives in the pure
//! `check::track_process`.
//!
//! - **Connector** (as keepalived): a NETLINK_CONNECTOR socket bound to CN_IDX_PROC, switched on
//!   with PROC_CN_MCAST_LISTEN; fork / exec / comm / exit events arrive as they happen. The
//!   kernel only offers it in the initial network namespace, and answers LISTEN only for
//!   callers in the initial PID and user namespaces (we wait for its acknowledgement to know).
//! - **Fallback** (containers, network namespaces): every counted process gets a pidfd in a
//!   private epoll set, so an exit is seen at once; new processes (and renames) are found by
//!   scanning /proc every [`SCAN_INTERVAL`]. Without pidfd (Linux < 5.3) exits are also only
//!   seen by the scan. The log says which mode runs.
//!
//! After lost events (ENOBUFS) a full /proc scan recounts everything.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use log::{debug, info, warn};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{MsgFlags, NetlinkAddr, bind, recvfrom, sendto, setsockopt, sockopt};

use super::SysError;
use super::error::Ctx;
use crate::check::track_process::{ProcInfo, ProcessTracker};
use crate::time::{Duration, Instant};
use crate::vrrp::TrackerUpdate;
use crate::vrrp::spec::TrackProcessSpec;

/// How often the fallback scans /proc for new processes.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(1);
/// How long to wait for the kernel's answer to PROC_CN_MCAST_LISTEN.
const LISTEN_ACK_WAIT_MS: u16 = 200;
const NLMSG_HDRLEN: usize = 16;
/// struct cn_msg: cb_id (idx, val), seq, ack, len (u16), flags (u16).
const CN_MSG_LEN: usize = 20;
/// Offset of event_data in struct proc_event (what, cpu, 8-byte-aligned timestamp_ns).
const EV_DATA: usize = 16;
const RCVBUF: usize = 4 << 20;

/// One process event (threads already filtered out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    Fork {
        parent: i32,
        child: i32,
    },
    Exec {
        pid: i32,
    },
    Comm {
        pid: i32,
        comm: String,
    },
    Exit {
        pid: i32,
    },
    /// PROC_EVENT_NONE: the acknowledgement of LISTEN (`err` 0 = ok).
    Ack {
        err: u32,
    },
    /// Events were lost (ENOBUFS): rescan.
    Overrun,
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ne_i32(b: &[u8], at: usize) -> Option<i32> {
    ne_u32(b, at).map(|v| v as i32)
}

/// Parse one datagram of the connector into events (malformed parts are skipped).
pub fn parse_datagram(buf: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let Some(len) = ne_u32(buf, off).map(|l| l as usize) else {
            break;
        };
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        let ty = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let msg = &buf[off + NLMSG_HDRLEN..off + len];
        off += (len + 3) & !3;
        if ty == libc::NLMSG_ERROR as u16 || ty == libc::NLMSG_NOOP as u16 {
            continue;
        }
        let (Some(idx), Some(val)) = (ne_u32(msg, 0), ne_u32(msg, 4)) else {
            continue;
        };
        if idx != libc::CN_IDX_PROC || val != libc::CN_VAL_PROC {
            continue;
        }
        let ev = match msg.get(CN_MSG_LEN..) {
            Some(e) => e,
            None => continue,
        };
        let Some(what) = ne_u32(ev, 0) else { continue };
        let d = EV_DATA;
        let parsed = match what {
            libc::PROC_EVENT_NONE => ne_u32(ev, d).map(|err| ProcEvent::Ack { err }),
            libc::PROC_EVENT_FORK => {
                // parent_pid, parent_tgid, child_pid, child_tgid; a new thread has
                // child_pid != child_tgid.
                match (ne_i32(ev, d + 4), ne_i32(ev, d + 8), ne_i32(ev, d + 12)) {
                    (Some(ptgid), Some(cpid), Some(ctgid)) if cpid == ctgid => {
                        Some(ProcEvent::Fork {
                            parent: ptgid,
                            child: ctgid,
                        })
                    }
                    _ => None,
                }
            }
            libc::PROC_EVENT_EXEC => match (ne_i32(ev, d), ne_i32(ev, d + 4)) {
                (Some(pid), Some(tgid)) if pid == tgid => Some(ProcEvent::Exec { pid }),
                _ => None,
            },
            libc::PROC_EVENT_COMM => {
                match (ne_i32(ev, d), ne_i32(ev, d + 4), ev.get(d + 8..d + 24)) {
                    (Some(pid), Some(tgid), Some(c)) if pid == tgid => {
                        let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
                        Some(ProcEvent::Comm {
                            pid,
                            comm: String::from_utf8_lossy(&c[..end]).into_owned(),
                        })
                    }
                    _ => None,
                }
            }
            libc::PROC_EVENT_EXIT => match (ne_i32(ev, d), ne_i32(ev, d + 4)) {
                (Some(pid), Some(tgid)) if pid == tgid => Some(ProcEvent::Exit { pid }),
                _ => None,
            },
            _ => None,
        };
        out.extend(parsed);
    }
    out
}

/// The process-events connector socket.
pub struct ProcConnector {
    fd: OwnedFd,
}

impl ProcConnector {
    /// Open, bind to CN_IDX_PROC, send LISTEN and wait (briefly) for the kernel's
    /// acknowledgement. An error means: use the fallback.
    pub fn open() -> Result<Self, SysError> {
        // SAFETY: plain socket(2) call with constant arguments; the returned fd is checked and
        // immediately owned by an OwnedFd.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_CONNECTOR,
            )
        };
        if raw < 0 {
            return Err(SysError::new(
                "socket(NETLINK_CONNECTOR)",
                "process events",
                Errno::last(),
            ));
        }
        // SAFETY: `raw` is a fresh, valid fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let obj = "process events";
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, libc::CN_IDX_PROC))
            .ctx("bind(CN_IDX_PROC)", obj)?;
        if setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
        }
        let c = ProcConnector { fd };
        c.send_op(libc::PROC_CN_MCAST_LISTEN)?;
        // The acknowledgement arrives as a multicast PROC_EVENT_NONE (other events may come
        // first).
        let deadline = std::time::Instant::now()
            + std::time::Duration::from_millis(u64::from(LISTEN_ACK_WAIT_MS));
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(SysError::new(
                    "PROC_CN_MCAST_LISTEN (no answer: not in the initial PID/user namespace?)",
                    obj,
                    Errno::ETIMEDOUT,
                ));
            }
            let ms = u16::try_from(left.as_millis())
                .unwrap_or(LISTEN_ACK_WAIT_MS)
                .max(1);
            let mut fds = [PollFd::new(c.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(SysError::new("poll", obj, e)),
            }
            for ev in c.read()? {
                if let ProcEvent::Ack { err } = ev {
                    if err == 0 {
                        return Ok(c);
                    }
                    return Err(SysError::new(
                        "PROC_CN_MCAST_LISTEN",
                        obj,
                        Errno::from_raw(err as i32),
                    ));
                }
            }
        }
    }

    fn send_op(&self, op: u32) -> Result<(), SysError> {
        let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
        let mut m = Vec::with_capacity(total);
        m.extend_from_slice(&(total as u32).to_ne_bytes());
        m.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes()); // flags
        m.extend_from_slice(&0u32.to_ne_bytes()); // seq
        m.extend_from_slice(&std::process::id().to_ne_bytes());
        m.extend_from_slice(&libc::CN_IDX_PROC.to_ne_bytes());
        m.extend_from_slice(&libc::CN_VAL_PROC.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes()); // seq
        m.extend_from_slice(&0u32.to_ne_bytes()); // ack
        m.extend_from_slice(&4u16.to_ne_bytes()); // len
        m.extend_from_slice(&0u16.to_ne_bytes()); // flags
        m.extend_from_slice(&op.to_ne_bytes());
        sendto(
            self.fd.as_raw_fd(),
            &m,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .ctx("sendto(PROC_CN_MCAST_LISTEN)", "process events")?;
        Ok(())
    }

    /// Every queued event (until EAGAIN). ENOBUFS yields [`ProcEvent::Overrun`].
    pub fn read(&self) -> Result<Vec<ProcEvent>, SysError> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), &mut buf) {
                Ok((0, _)) => break,
                Ok((n, from)) => {
                    // Only the kernel (port 0) speaks here.
                    if from.is_some_and(|a| a.pid() != 0) {
                        continue;
                    }
                    out.extend(parse_datagram(&buf[..n]));
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => out.push(ProcEvent::Overrun),
                Err(e) => return Err(SysError::new("recvfrom", "process events", e)),
            }
        }
        Ok(out)
    }
}

impl Drop for ProcConnector {
    fn drop(&mut self) {
        let _ = self.send_op(libc::PROC_CN_MCAST_IGNORE);
    }
}

impl AsRawFd for ProcConnector {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Read what matching needs of one process from `/proc/PID` (`proc_root` is "/proc" except in
/// tests). None for a process that is gone or a zombie.
pub fn read_proc(proc_root: &Path, pid: i32, with_cmdline: bool) -> Option<ProcInfo> {
    let dir = proc_root.join(pid.to_string());
    // /proc/PID/stat: "pid (comm) S ..." — comm may contain ')' and spaces.
    let stat = std::fs::read(dir.join("stat")).ok()?;
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    if close < open || stat.get(close + 2) == Some(&b'Z') {
        return None;
    }
    let comm = String::from_utf8_lossy(&stat[open + 1..close]).into_owned();
    let cmdline = if with_cmdline {
        std::fs::read(dir.join("cmdline")).unwrap_or_default()
    } else {
        Vec::new()
    };
    Some(ProcInfo { pid, comm, cmdline })
}

/// Every process (thread group leaders) visible in `proc_root`.
pub fn scan_procs(proc_root: &Path, with_cmdline: bool) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter_map(|pid| read_proc(proc_root, pid, with_cmdline))
        .collect()
}

/// pidfd_open(2): an fd that becomes readable when `pid` exits.
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no pointers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// The fallback's exit watch: one pidfd per counted process in a private epoll set whose fd
/// is readable when any of them exited.
pub struct PidWatch {
    epoll: Epoll,
    pids: HashMap<i32, OwnedFd>,
    /// pidfd_open failed with ENOSYS: exits are found by scanning only.
    unsupported: bool,
}

impl PidWatch {
    pub fn new() -> Result<Self, SysError> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).ctx("epoll_create1", "pidfds")?;
        Ok(PidWatch {
            epoll,
            pids: HashMap::new(),
            unsupported: false,
        })
    }

    /// Watch exactly `pids`. Returns pids that are already gone (pidfd_open ESRCH).
    pub fn set(&mut self, pids: &std::collections::HashSet<i32>) -> Vec<i32> {
        self.pids.retain(|p, fd| {
            let keep = pids.contains(p);
            if !keep {
                let _ = self.epoll.delete(fd.as_fd());
            }
            keep
        });
        let mut gone = Vec::new();
        if self.unsupported {
            return gone;
        }
        for &pid in pids {
            if self.pids.contains_key(&pid) {
                continue;
            }
            match pidfd_open(pid) {
                Ok(fd) => {
                    let ev = EpollEvent::new(EpollFlags::EPOLLIN, pid as u64);
                    if let Err(e) = self.epoll.add(fd.as_fd(), ev) {
                        warn!("epoll_ctl(ADD) pidfd {pid}: {e}");
                        continue;
                    }
                    self.pids.insert(pid, fd);
                }
                Err(Errno::ESRCH) => gone.push(pid),
                Err(Errno::ENOSYS) => {
                    warn!("pidfd_open not supported: process exits are seen by /proc scans only");
                    self.unsupported = true;
                    return gone;
                }
                Err(e) => warn!("pidfd_open({pid}): {e}"),
            }
        }
        gone
    }

    /// Pids whose process exited (their watches are removed).
    pub fn exited(&mut self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut evs = [EpollEvent::empty(); 64];
        loop {
            match self.epoll.wait(&mut evs, EpollTimeout::ZERO) {
                Ok(0) => break,
                Ok(n) => {
                    for e in &evs[..n] {
                        let pid = e.data() as i32;
                        if let Some(fd) = self.pids.remove(&pid) {
                            let _ = self.epoll.delete(fd.as_fd());
                            out.push(pid);
                        }
                    }
                    if n < evs.len() {
                        break;
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    warn!("epoll_wait(pidfds): {e}");
                    break;
                }
            }
        }
        out
    }
}

impl AsRawFd for PidWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.0.as_raw_fd()
    }
}

enum Source {
    Connector(ProcConnector),
    Fallback(PidWatch),
}

/// Every `vrrp_track_process` of the running configuration, with its event source.
pub struct ProcWatch {
    source: Source,
    tracker: ProcessTracker,
    next_scan: Option<Instant>,
}

impl ProcWatch {
    /// Connector if possible, else the fallback; then a first full scan (the updates are
    /// available from [`poll_update`](Self::poll_update) at once).
    pub fn start(specs: &[TrackProcessSpec], now: Instant) -> Result<Self, SysError> {
        Self::start_with(specs, now, true)
    }

    /// As [`start`](Self::start), but never the connector (tests, and a switch for
    /// environments where it misbehaves).
    pub fn start_fallback(specs: &[TrackProcessSpec], now: Instant) -> Result<Self, SysError> {
        Self::start_with(specs, now, false)
    }

    fn start_with(
        specs: &[TrackProcessSpec],
        now: Instant,
        connector: bool,
    ) -> Result<Self, SysError> {
        let opened = if connector {
            ProcConnector::open()
        } else {
            Err(SysError::new(
                "fallback requested",
                "process events",
                Errno::ENOTSUP,
            ))
        };
        let source = match opened {
            Ok(c) => {
                info!("Tracking processes with the kernel's process events connector");
                Source::Connector(c)
            }
            Err(e) => {
                let w = PidWatch::new()?;
                warn!(
                    "process events connector unavailable ({e}): falling back to /proc scans every {} for new processes; exits are seen at once through pidfds",
                    SCAN_INTERVAL
                );
                Source::Fallback(w)
            }
        };
        let mut w = ProcWatch {
            source,
            tracker: ProcessTracker::new(specs),
            next_scan: None,
        };
        w.rescan(now);
        Ok(w)
    }

    /// Whether the connector (not the fallback) is in use.
    pub fn uses_connector(&self) -> bool {
        matches!(self.source, Source::Connector(_))
    }

    pub fn reload(&mut self, specs: &[TrackProcessSpec], now: Instant) {
        let mut t = ProcessTracker::new(specs);
        t.carry_over(&self.tracker);
        self.tracker = t;
        self.rescan(now);
    }

    fn rescan(&mut self, now: Instant) {
        let procs = scan_procs(Path::new("/proc"), self.tracker.needs_cmdline());
        self.tracker.scan(now, &procs);
        self.after_change(now);
        // Only the fallback scans periodically, and only while something is tracked (a stale
        // deadline would make the daemon's timer fire in a loop).
        self.next_scan = (matches!(self.source, Source::Fallback(_)) && !self.tracker.is_empty())
            .then(|| now + SCAN_INTERVAL);
    }

    /// Keep the fallback's pidfds in step with the counted processes.
    fn after_change(&mut self, now: Instant) {
        if let Source::Fallback(w) = &mut self.source {
            let pids = self.tracker.pids();
            for pid in w.set(&pids) {
                self.tracker.exit(now, pid);
            }
        }
    }

    /// The source fd is readable.
    pub fn on_readable(&mut self, now: Instant) {
        let with_cmdline = self.tracker.needs_cmdline();
        match &mut self.source {
            Source::Connector(c) => {
                let evs = match c.read() {
                    Ok(e) => e,
                    Err(e) => {
                        warn!("{e}");
                        return;
                    }
                };
                let mut overrun = false;
                for ev in evs {
                    match ev {
                        ProcEvent::Fork { parent, child } => self.tracker.fork(now, parent, child),
                        ProcEvent::Exec { pid } => {
                            // A process already gone is handled by its exit event.
                            if let Some(info) = read_proc(Path::new("/proc"), pid, with_cmdline) {
                                self.tracker.rematch(now, &info, false);
                            }
                        }
                        ProcEvent::Comm { pid, comm } => {
                            let info = ProcInfo {
                                pid,
                                comm,
                                cmdline: Vec::new(),
                            };
                            self.tracker.rematch(now, &info, true);
                        }
                        ProcEvent::Exit { pid } => self.tracker.exit(now, pid),
                        ProcEvent::Ack { .. } => {}
                        ProcEvent::Overrun => overrun = true,
                    }
                }
                if overrun {
                    warn!("process events lost (ENOBUFS): rescanning /proc");
                    self.rescan(now);
                }
            }
            Source::Fallback(w) => {
                for pid in w.exited() {
                    debug!("tracked process {pid} exited");
                    self.tracker.exit(now, pid);
                }
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_scan.is_some_and(|t| t <= now) {
            self.rescan(now);
        }
        self.tracker.handle_timeout(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_scan, self.tracker.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_update(&mut self) -> Option<TrackerUpdate> {
        self.tracker.poll_update()
    }

    pub fn counts(&self) -> HashMap<String, u32> {
        self.tracker.counts()
    }
}

impl AsFd for ProcWatch {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.source {
            Source::Connector(c) => c.fd.as_fd(),
            Source::Fallback(w) => w.epoll.0.as_fd(),
        }
    }
}

impl AsFd for ProcConnector {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for ProcWatch {
    fn as_raw_fd(&self) -> RawFd {
        match &self.source {
            Source::Connector(c) => c.as_raw_fd(),
            Source::Fallback(w) => w.as_raw_fd(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(what: u32, data: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend_from_slice(&what.to_ne_bytes());
        ev.extend_from_slice(&0u32.to_ne_bytes()); // cpu
        ev.extend_from_slice(&0u64.to_ne_bytes()); // timestamp
        for d in data {
            ev.extend_from_slice(&d.to_ne_bytes());
        }
        let mut cn = Vec::new();
        cn.extend_from_slice(&libc::CN_IDX_PROC.to_ne_bytes());
        cn.extend_from_slice(&libc::CN_VAL_PROC.to_ne_bytes());
        cn.extend_from_slice(&[0; 8]);
        cn.extend_from_slice(&(ev.len() as u16).to_ne_bytes());
        cn.extend_from_slice(&[0; 2]);
        cn.extend_from_slice(&ev);
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + cn.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&cn);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn parses_events_and_skips_threads() {
        let mut buf = msg(libc::PROC_EVENT_FORK, &[10, 10, 11, 11]);
        buf.extend(msg(libc::PROC_EVENT_FORK, &[10, 10, 12, 10])); // thread
        buf.extend(msg(libc::PROC_EVENT_EXEC, &[11, 11]));
        buf.extend(msg(libc::PROC_EVENT_EXIT, &[11, 11, 0, 17, 10, 10]));
        buf.extend(msg(libc::PROC_EVENT_EXIT, &[12, 10, 0, 17, 10, 10])); // thread
        buf.extend(msg(libc::PROC_EVENT_NONE, &[0]));
        let mut comm = vec![11u32, 11];
        let name = *b"fakesvc\0\0\0\0\0\0\0\0\0";
        for c in name.chunks(4) {
            comm.push(u32::from_ne_bytes(c.try_into().unwrap()));
        }
        buf.extend(msg(libc::PROC_EVENT_COMM, &comm));
        buf.extend_from_slice(&[1, 2, 3]); // trailing garbage
        assert_eq!(
            parse_datagram(&buf),
            vec![
                ProcEvent::Fork {
                    parent: 10,
                    child: 11
                },
                ProcEvent::Exec { pid: 11 },
                ProcEvent::Exit { pid: 11 },
                ProcEvent::Ack { err: 0 },
                ProcEvent::Comm {
                    pid: 11,
                    comm: "fakesvc".into()
                },
            ]
        );
    }

    #[test]
    fn reads_own_process_and_pidfd_sees_exit() {
        let me = std::process::id() as i32;
        let info = read_proc(Path::new("/proc"), me, true).expect("own /proc entry");
        assert!(!info.comm.is_empty());
        assert!(!info.cmdline.is_empty());
        assert!(
            scan_procs(Path::new("/proc"), false)
                .iter()
                .any(|p| p.pid == me)
        );

        let mut child = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let mut w = PidWatch::new().unwrap();
        let gone = w.set(&[pid].into_iter().collect());
        assert!(gone.is_empty());
        assert!(w.exited().is_empty());
        child.kill().unwrap();
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = w.exited();
            if !seen.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = child.wait();
        assert_eq!(seen, vec![pid]);
    }
}
