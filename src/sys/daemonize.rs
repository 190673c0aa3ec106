//! Classic double-fork detach for running without `-n` / `--dont-fork`: the caller's process
//! exits, the survivor is a session-less grandchild with cwd `/` and stdio on /dev/null.
//!
//! Must be called before any thread is spawned (only the calling thread survives a fork) and
//! before the pidfile is written (the pid changes).

use std::os::fd::AsRawFd;

use nix::unistd::{ForkResult, dup2_stderr, dup2_stdin, dup2_stdout, fork, setsid};

use super::SysError;
use super::error::Ctx;

fn exit_now() -> ! {
    // SAFETY: _exit ends the intermediate process at once without running atexit handlers or
    // flushing stdio buffers the surviving process also owns.
    unsafe { libc::_exit(0) }
}

/// Detach from the terminal and the parent. Returns in the daemon (grandchild) only.
pub fn daemonize() -> Result<(), SysError> {
    // SAFETY: called while the process is single-threaded (documented precondition); the child
    // continues with ordinary code, which is sound in a single-threaded process.
    match unsafe { fork() }.ctx("fork", "daemonize")? {
        ForkResult::Parent { .. } => exit_now(),
        ForkResult::Child => {}
    }
    setsid().ctx("setsid", "daemonize")?;
    // SAFETY: as above; still single-threaded.
    match unsafe { fork() }.ctx("fork", "daemonize (second)")? {
        ForkResult::Parent { .. } => exit_now(),
        ForkResult::Child => {}
    }
    std::env::set_current_dir("/").ctx("chdir", "/")?;
    redirect_stdio_to_dev_null()
}

/// Point stdin, stdout and stderr at /dev/null.
pub fn redirect_stdio_to_dev_null() -> Result<(), SysError> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ctx("open", "/dev/null")?;
    dup2_stdin(&null).ctx("dup2(stdin)", "/dev/null")?;
    dup2_stdout(&null).ctx("dup2(stdout)", "/dev/null")?;
    dup2_stderr(&null).ctx("dup2(stderr)", "/dev/null")?;
    // `null` itself (fd >= 3 unless stdio was closed) is closed on drop; 0, 1, 2 keep the
    // duplicates.
    if null.as_raw_fd() <= libc::STDERR_FILENO {
        std::mem::forget(null);
    }
    Ok(())
}
