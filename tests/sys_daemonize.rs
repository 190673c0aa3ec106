//! `daemonize()` in a subprocess (it forks and exits the caller): the survivor must be a new
//! session leader's child with cwd `/` and stdio on /dev/null.

use std::process::Command;
use std::time::{Duration, Instant};

const OUT_ENV: &str = "RKA_DAEMONIZE_TEST_OUT";

#[test]
fn daemonize_detaches_into_a_new_session() {
    if let Ok(out) = std::env::var(OUT_ENV) {
        // Child mode: we were re-executed by the test below with --test-threads=1.
        rkeepalived::sys::daemonize::daemonize().unwrap();
        let pid = nix::unistd::getpid();
        let sid = nix::unistd::getsid(None).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let stdout = std::fs::read_link("/proc/self/fd/1").unwrap();
        let text = format!(
            "pid={} sid={} pgid={} cwd={} stdout={}\n",
            pid,
            sid,
            nix::unistd::getpgrp(),
            cwd.display(),
            stdout.display()
        );
        std::fs::write(format!("{out}.tmp"), text).unwrap();
        std::fs::rename(format!("{out}.tmp"), &out).unwrap();
        return;
    }
    let out = std::env::temp_dir().join(format!("rka-daemonize-{}", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "daemonize_detaches_into_a_new_session",
            "--exact",
            "--test-threads=1",
        ])
        .env(OUT_ENV, &out)
        .output()
        .unwrap()
        .status;
    assert!(status.success(), "the foreground process exits 0 at once");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() {
        assert!(
            Instant::now() < deadline,
            "daemon never wrote {}",
            out.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let field = |k: &str| {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_string()
    };
    assert_eq!(field("cwd"), "/", "{text}");
    assert_eq!(field("stdout"), "/dev/null", "{text}");
    // Second fork: the daemon is not the session leader, so it can never reacquire a tty.
    assert_ne!(field("pid"), field("sid"), "{text}");
    assert_ne!(field("sid"), std::process::id().to_string());
}
