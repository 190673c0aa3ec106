//! Child processes: track scripts and notify scripts, spawned and reaped without blocking.
//!
//! Every child gets the environment keepalived gives its scripts (reference §4.4): its own
//! process group (so a timeout can kill the script *and* whatever it started), the configured
//! supplementary groups, gid and uid, an empty signal mask and default signal dispositions
//! (the daemon blocks signals for its signalfd, and a blocked mask is inherited across exec),
//! `PR_SET_PDEATHSIG = SIGTERM` (scripts die with the daemon), stdin/stdout/stderr on
//! `/dev/null`, no `LD_PRELOAD`/`LD_LIBRARY_PATH`/`IFS`/`NOTIFY_SOCKET` in the environment, and
//! no inherited file descriptors above 2.
//!
//! Children are started with `std::process::Command` (which reports exec failures back to us
//! synchronously through its close-on-exec pipe) and then *forgotten*: std's `Child` does not
//! wait on drop, so [`reap`] (`waitpid(-1, WNOHANG)` in a loop, called when SIGCHLD shows up on
//! the signalfd) is the only place exits are collected. Requirements on the caller: SIGCHLD must
//! be blocked (signalfd) or defaulted, never `SIG_IGN` (that makes the kernel auto-reap), and
//! only one thread may spawn/reap at a time. `PR_SET_PDEATHSIG` fires when the *thread* that
//! spawned the child exits, so spawn from the daemon's main thread.

use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::check::{ExitStatus, KillSignal};
use crate::vrrp::spec::ScriptCmd;

/// Environment variables never passed to scripts (keepalived 2.4.0 hardening, plus systemd's
/// notification socket, which belongs to the daemon).
pub const REMOVED_ENV: &[&str] = &["LD_PRELOAD", "LD_LIBRARY_PATH", "IFS", "NOTIFY_SOCKET"];

/// The shell used for scripts that are not directly executable (keepalived compat: `system()`).
pub const SHELL: &str = "/bin/sh";

/// Upper bound of the descriptor sweep used when `close_range(2)` is unavailable (Linux < 5.11).
const FD_SWEEP_MAX: libc::c_int = 65_536;

/// A started child. It leads its own process group, so `pgid == pid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Child {
    pub pid: i32,
    pub pgid: i32,
}

/// A child could not be started.
#[derive(Debug)]
pub struct SpawnError {
    /// The program that was to be run (`/bin/sh` for shell-run scripts is reported as the
    /// script's own argv[0]).
    pub program: String,
    pub error: io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot run script `{}`: {}", self.program, self.error)
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Quote `argv` for `/bin/sh -c`: every word in single quotes, embedded `'` as `'\''`.
pub fn shell_command(argv: &[String]) -> String {
    let mut s = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push('\'');
        s.push_str(&a.replace('\'', r"'\''"));
        s.push('\'');
    }
    s
}

/// Start `cmd` as described in the module docs; `extra_env_remove` names further environment
/// variables to withhold. Never blocks beyond fork+exec.
pub fn spawn(cmd: &ScriptCmd, extra_env_remove: &[&str]) -> Result<Child, SpawnError> {
    let program = cmd.argv.first().cloned().unwrap_or_default();
    let err = |error: io::Error| SpawnError {
        program: program.clone(),
        error,
    };
    if program.is_empty() {
        return Err(err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty command",
        )));
    }
    let mut command = if cmd.via_shell {
        // keepalived compat (§4.4): a file that is not a real executable runs through the shell
        // with its arguments single-quoted.
        let mut c = Command::new(SHELL);
        c.arg("-c").arg(shell_command(&cmd.argv));
        c
    } else {
        let mut c = Command::new(&program);
        c.args(&cmd.argv[1..]);
        c
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // setpgid(0, 0) in the child: its own process group, killable as a whole.
        .process_group(0);
    for v in REMOVED_ENV.iter().chain(extra_env_remove) {
        command.env_remove(v);
    }

    // Everything the child needs is computed here, before fork: the closure below runs between
    // fork and exec and may only make async-signal-safe calls (no allocation, no locks).
    let creds = Creds::for_cmd(cmd);
    let parent = nix::unistd::getpid().as_raw();
    let sweep_max = fd_sweep_limit();

    // SAFETY: the closure only calls async-signal-safe functions (pthread_sigmask, sigaction,
    // setgroups, setgid, setuid, prctl, getppid, syscall(close_range), fcntl), on data owned by
    // the closure or on the stack; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || child_setup(&creds, parent, sweep_max));
    }

    let child = command.spawn().map_err(err)?;
    let pid = child.id() as i32;
    // Dropping std's Child neither waits nor kills; reap() collects the exit status.
    drop(child);
    Ok(Child { pid, pgid: pid })
}

/// Credentials to switch to in the child, decided in the parent.
struct Creds {
    /// `None`: keep the daemon's credentials (already the requested ones).
    change: Option<(libc::uid_t, libc::gid_t)>,
    groups: Vec<libc::gid_t>,
}

impl Creds {
    fn for_cmd(cmd: &ScriptCmd) -> Creds {
        let same = cmd.uid == nix::unistd::geteuid().as_raw()
            && cmd.gid == nix::unistd::getegid().as_raw()
            && cmd.groups.is_empty();
        Creds {
            change: (!same).then_some((cmd.uid, cmd.gid)),
            groups: cmd.groups.clone(),
        }
    }
}

fn fd_sweep_limit() -> libc::c_int {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => libc::c_int::try_from(soft)
            .unwrap_or(FD_SWEEP_MAX)
            .min(FD_SWEEP_MAX),
        Err(_) => FD_SWEEP_MAX,
    }
}

/// Runs in the child between fork and exec (after std's own stdio/pgid setup).
/// Async-signal-safe calls only.
fn child_setup(creds: &Creds, parent: libc::pid_t, sweep_max: libc::c_int) -> io::Result<()> {
    // Clear the signal mask inherited from the daemon (which blocks everything it reads from
    // its signalfd) and reset every disposition to the default: the one async-signal-safe
    // routine in sys::signal does both.
    super::signal::reset_for_child();

    if let Some((uid, gid)) = creds.change {
        // Order matters: groups and gid need privilege, which setuid gives up.
        // SAFETY: the pointer and length describe `creds.groups`, alive for the call.
        if unsafe { libc::setgroups(creds.groups.len(), creds.groups.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: plain syscalls on integer arguments.
        if unsafe { libc::setgid(gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        if unsafe { libc::setuid(uid) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }

    // After setuid, which clears the parent-death signal.
    // SAFETY: prctl with integer arguments.
    if unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // The daemon may have died before prctl took effect: then nobody would ever stop us.
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }

    // Descriptors above 2 must not reach the script. std opens its own fds close-on-exec, but
    // sockets or files from elsewhere might not be; mark them all close-on-exec rather than
    // closing them, so std's exec-error pipe keeps working until the exec.
    // SAFETY: close_range with the CLOEXEC flag only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        for fd in 3..sweep_max {
            // SAFETY: F_SETFD on a possibly closed fd just fails with EBADF.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

impl KillSignal {
    fn raw(self) -> libc::c_int {
        match self {
            KillSignal::Term => libc::SIGTERM,
            KillSignal::Kill => libc::SIGKILL,
        }
    }
}

/// Send `signal` to process group `pgid`. `Ok(false)` if the group no longer exists.
/// Refuses `pgid <= 1` (0 would be our own group, 1 init's).
pub fn kill_group(pgid: i32, signal: KillSignal) -> io::Result<bool> {
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: killpg with integer arguments.
    if unsafe { libc::killpg(pgid, signal.raw()) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Collect every exited child without blocking: `waitpid(-1, WNOHANG)` until nothing is left.
pub fn reap() -> Vec<(i32, ExitStatus)> {
    let mut out = Vec::new();
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid out-pointer. libc is used rather than nix so that a child
        // killed by a real-time signal (which nix's Signal cannot represent) is still reported.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            if libc::WIFEXITED(status) {
                out.push((pid, ExitStatus::Exited(libc::WEXITSTATUS(status))));
            } else if libc::WIFSIGNALED(status) {
                out.push((pid, ExitStatus::Signaled(libc::WTERMSIG(status))));
            }
            // Stopped/continued are not requested (no WUNTRACED/WCONTINUED).
            continue;
        }
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        // 0: children exist but none has exited; -1/ECHILD: no children at all.
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        let argv = vec!["/x/my script".to_string(), "it's".into(), "$HOME".into()];
        assert_eq!(shell_command(&argv), r"'/x/my script' 'it'\''s' '$HOME'");
    }

    #[test]
    fn kill_group_refuses_own_and_init_group() {
        assert!(kill_group(0, KillSignal::Term).is_err());
        assert!(kill_group(1, KillSignal::Term).is_err());
        assert!(kill_group(-5, KillSignal::Term).is_err());
    }

    #[test]
    fn empty_command_is_an_error() {
        let e = spawn(&ScriptCmd::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("empty command"));
    }

    #[test]
    fn missing_program_is_reported_with_its_name() {
        let cmd = ScriptCmd {
            argv: vec!["/nonexistent/rkeepalived-check".into()],
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            ..Default::default()
        };
        let e = spawn(&cmd, &[]).unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent/rkeepalived-check"),
            "{e}"
        );
        assert_eq!(e.error.kind(), io::ErrorKind::NotFound);
    }
}
