//! Signals through a signalfd: every signal the daemon reacts to is blocked in all threads
//! (call [`block_all_before_threads`] first thing in `main`) and read as a typed [`Signal`].
//!
//! keepalived compat: the JSON and STATS_CLEAR signals are pinned to 36 and 63, the numbers
//! glibc's keepalived computes (SIGRTMIN+2, SIGRTMAX-1) and that `keepalived --signum` prints on
//! every existing host; a musl build computing SIGRTMIN+2 would say 37.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::SysError;

/// keepalived's SIGJSON on glibc (SIGRTMIN+2 with SIGRTMIN = 34).
pub const SIGJSON: i32 = 36;
/// keepalived's SIGSTATS_CLEAR on glibc (SIGRTMAX-1 with SIGRTMAX = 64).
pub const SIGSTATS_CLEAR: i32 = 63;

/// What a received signal asks the daemon to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: reload the configuration.
    Reload,
    /// SIGTERM / SIGINT: orderly shutdown.
    Stop { sigint: bool },
    /// SIGUSR1: write keepalived.data.
    DumpData,
    /// SIGUSR2: write keepalived.stats.
    DumpStats,
    /// Signal 36: write keepalived.json.
    DumpJson,
    /// Signal 63: write keepalived.stats, then zero the counters.
    ClearStats,
    /// SIGCHLD: reap children.
    Child,
}

impl Signal {
    /// Map a raw signal number; `None` for signals we did not ask for.
    pub fn from_raw(signo: i32) -> Option<Signal> {
        Some(match signo {
            libc::SIGHUP => Signal::Reload,
            libc::SIGTERM => Signal::Stop { sigint: false },
            libc::SIGINT => Signal::Stop { sigint: true },
            libc::SIGUSR1 => Signal::DumpData,
            libc::SIGUSR2 => Signal::DumpStats,
            libc::SIGCHLD => Signal::Child,
            SIGJSON => Signal::DumpJson,
            SIGSTATS_CLEAR => Signal::ClearStats,
            _ => return None,
        })
    }
}

/// The signals routed to the signalfd.
pub const HANDLED: [i32; 8] = [
    libc::SIGHUP,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGCHLD,
    SIGJSON,
    SIGSTATS_CLEAR,
];

/// `--signum` answers: keepalived's names for the signal functions.
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => SIGSTATS_CLEAR,
        "JSON" => SIGJSON,
        _ => return None,
    })
}

fn handled_set() -> Result<libc::sigset_t, SysError> {
    check_realtime_range()?;
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole sigset_t it is given.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: initialised by sigemptyset just above.
    let mut set = unsafe { set.assume_init() };
    for sig in HANDLED {
        // SAFETY: `set` is a valid sigset_t; `sig` is in range (checked above for the
        // realtime ones, libc constants for the rest).
        if unsafe { libc::sigaddset(&mut set, sig) } != 0 {
            return Err(SysError::new("sigaddset", sig.to_string(), Errno::last()));
        }
    }
    Ok(set)
}

/// 36 and 63 must be realtime signals on this libc (glibc: 34..=64, musl: 35..=64).
pub fn check_realtime_range() -> Result<(), SysError> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    for sig in [SIGJSON, SIGSTATS_CLEAR] {
        if sig < min || sig > max {
            return Err(SysError::new(
                "SIGRTMIN..=SIGRTMAX",
                format!("signal {sig} (realtime range {min}..={max})"),
                Errno::EINVAL,
            ));
        }
    }
    Ok(())
}

/// Block every handled signal in the calling thread (threads spawned later inherit the mask)
/// and ignore SIGPIPE. Call first thing in `main`, before any thread exists.
pub fn block_all_before_threads() -> Result<(), SysError> {
    let set = handled_set()?;
    // SAFETY: `set` is a valid, initialised sigset_t; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(SysError::new(
            "pthread_sigmask(SIG_BLOCK)",
            "daemon signals",
            Errno::from_raw(rc),
        ));
    }
    // SIGPIPE: a write to a closed FIFO reader or socket must be an EPIPE error, not a death.
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; no handler function is installed.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    }
    .map_err(|e| SysError::new("signal(SIGPIPE, SIG_IGN)", "", e))?;
    Ok(())
}

/// In a freshly forked child, before exec: default dispositions for every signal and an empty
/// mask, so scripts do not inherit our blocked set or ignored SIGPIPE. Only async-signal-safe
/// calls (sigaction, sigemptyset, sigprocmask); errors are ignored because there is nobody to
/// report them to and exec must still happen.
pub fn reset_for_child() {
    // SAFETY: sigaction and sigprocmask are async-signal-safe; the sigaction struct is zeroed
    // (a valid "SIG_DFL, empty mask, no flags" value) and lives on this stack frame.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut act.sa_mask);
        let max = libc::SIGRTMAX();
        let mut sig = 1;
        while sig <= max {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                // Fails harmlessly (EINVAL) for signals the libc reserves for itself.
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
            sig += 1;
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// A nonblocking, close-on-exec signalfd for the handled signals. The signals must already be
/// blocked ([`block_all_before_threads`]) or they are delivered the default way instead.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    pub fn new() -> Result<Self, SysError> {
        let set = handled_set()?;
        // SAFETY: -1 asks for a new fd; `set` is a valid sigset_t; flags are libc constants.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if raw < 0 {
            return Err(SysError::new("signalfd", "daemon signals", Errno::last()));
        }
        // SAFETY: signalfd returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(SignalFd { fd })
    }

    /// Next pending signal, `Ok(None)` when none is pending (EAGAIN). Signals we did not ask
    /// for cannot arrive here; should one, it is skipped.
    pub fn read(&self) -> Result<Option<Signal>, SysError> {
        loop {
            match self.read_raw()? {
                None => return Ok(None),
                Some(info) => {
                    if let Some(s) = Signal::from_raw(info.ssi_signo as i32) {
                        return Ok(Some(s));
                    }
                }
            }
        }
    }

    /// Next pending signal with its sender pid, raw number and (for SIGCHLD) child pid.
    pub fn read_raw(&self) -> Result<Option<libc::signalfd_siginfo>, SysError> {
        // SAFETY: signalfd_siginfo is plain old data; all-zero is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: `info` is a writable buffer of exactly `size` bytes owned by this frame.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n < 0 {
                match Errno::last() {
                    Errno::EINTR => continue,
                    Errno::EAGAIN => return Ok(None),
                    e => return Err(SysError::new("read(signalfd)", "daemon signals", e)),
                }
            }
            if n as usize != size {
                return Err(SysError::new("read(signalfd)", "short read", Errno::EIO));
            }
            return Ok(Some(info));
        }
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_numbers_and_signum_names() {
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("TDATA"), None);
        assert_eq!(Signal::from_raw(36), Some(Signal::DumpJson));
        assert_eq!(Signal::from_raw(63), Some(Signal::ClearStats));
        assert_eq!(
            Signal::from_raw(libc::SIGTERM),
            Some(Signal::Stop { sigint: false })
        );
        assert_eq!(Signal::from_raw(libc::SIGWINCH), None);
        check_realtime_range().unwrap();
    }

    // Signal masks are per thread: this test blocks in its own thread and sends to that thread
    // only (tgkill), so other tests running in parallel are unaffected.
    #[test]
    fn signalfd_receives_usr1_sent_to_own_thread() {
        std::thread::spawn(|| {
            let set = handled_set().unwrap();
            // SAFETY: valid sigset_t; blocks in this test thread only.
            let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
            assert_eq!(rc, 0);
            let sfd = SignalFd::new().unwrap();
            assert_eq!(sfd.read().unwrap(), None);
            let pid = nix::unistd::getpid().as_raw();
            let tid = nix::unistd::gettid().as_raw();
            for sig in [libc::SIGUSR1, SIGJSON] {
                // SAFETY: sends a blocked signal to this very thread; it stays pending.
                let rc = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) };
                assert_eq!(rc, 0);
            }
            // A thread-directed pending signal is readable through a signalfd of that thread.
            let mut got = vec![];
            while let Some(s) = sfd.read().unwrap() {
                got.push(s);
            }
            got.sort_by_key(|s| format!("{s:?}"));
            assert_eq!(got, vec![Signal::DumpData, Signal::DumpJson]);
        })
        .join()
        .unwrap();
    }
}
