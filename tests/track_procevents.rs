//! `vrrp_track_process` against the real kernel, without network namespaces: the process
//! events connector (where the kernel offers it: root in the initial namespaces) and the
//! pidfd + /proc fallback, each timed from `kill` to the count reaching the tracker.
//!
//! The connector needs root in the initial namespaces; where it is refused the connector test
//! skips with a printed reason, or fails when `CI` is set. Only a netlink socket and throwaway
//! processes (copies of `sleep` named `fksvc-*`) are used; no interface is touched (the
//! daemon test runs a configuration without any VRRP instance).

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant as StdInstant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rkeepalived::sys::procevents::{ProcConnector, ProcWatch, SCAN_INTERVAL};
use rkeepalived::sys::timer;
use rkeepalived::vrrp::TrackerUpdate;
use rkeepalived::vrrp::spec::TrackProcessSpec;

/// A copy of `sleep` named `name` (≤ 15 chars) in a fresh directory, so its comm is `name`.
fn fake_binary(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rk-procev-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join(name);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("sleep binary");
    std::fs::copy(sleep, &bin).unwrap();
    bin
}

/// A running fake service, killed on drop.
struct Svc(Child);

impl Svc {
    /// Spawns `bin`. A sibling test thread that forks while `fs::copy` still holds `bin` open
    /// for writing leaves that descriptor in its child until the child execs, and exec then
    /// fails with ETXTBSY; that window is short, so retry for a while.
    fn start(bin: &PathBuf) -> Svc {
        let deadline = StdInstant::now() + Duration::from_secs(5);
        loop {
            match Command::new(bin).arg("1000").spawn() {
                Ok(child) => return Svc(child),
                Err(e)
                    if e.raw_os_error() == Some(libc::ETXTBSY) && StdInstant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("spawn fake service {}: {e}", bin.display()),
            }
        }
    }
    fn kill(&mut self) {
        let _ = self.0.kill();
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spec(name: &str, process: &str) -> TrackProcessSpec {
    TrackProcessSpec {
        name: name.into(),
        process: process.into(),
        quorum: 1,
        ..Default::default()
    }
}

fn updates(w: &mut ProcWatch) -> Vec<u32> {
    std::iter::from_fn(|| w.poll_update())
        .map(|u| match u {
            TrackerUpdate::Process { running, .. } => running,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// Drives `w` as the daemon does (fd readable, or the next timeout) until an update reports
/// `want`; the elapsed time.
fn drive_until(w: &mut ProcWatch, want: u32, limit: Duration) -> Option<Duration> {
    let start = StdInstant::now();
    while start.elapsed() < limit {
        {
            let mut fds = [PollFd::new(w.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(2u16));
        }
        let now = timer::now();
        w.on_readable(now);
        if w.poll_timeout().is_some_and(|t| t <= now) {
            w.handle_timeout(now);
        }
        if updates(w).contains(&want) {
            return Some(start.elapsed());
        }
    }
    None
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[test]
fn connector_sees_a_stop_and_a_start_at_once() {
    if let Err(e) = ProcConnector::open() {
        let why = format!("process events connector unavailable: {e}");
        if std::env::var_os("CI").is_some() {
            panic!("{why} and CI is set");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let bin = fake_binary("fksvc-conn");
    let mut svc = Svc::start(&bin);
    std::thread::sleep(Duration::from_millis(50));
    let mut w = ProcWatch::start(&[spec("svc", "fksvc-conn")], timer::now()).unwrap();
    assert!(w.uses_connector());
    assert_eq!(
        updates(&mut w),
        vec![1],
        "first scan counts the running service"
    );

    let t0 = StdInstant::now();
    svc.kill();
    let took = drive_until(&mut w, 0, Duration::from_secs(2)).expect("stop not seen");
    let stop = t0.elapsed();
    eprintln!(
        "connector: stop seen {} after kill (drive loop {})",
        ms(stop),
        ms(took)
    );
    assert!(stop < Duration::from_secs(1), "stop seen after {stop:?}");

    let t0 = StdInstant::now();
    let _svc2 = Svc::start(&bin);
    drive_until(&mut w, 1, Duration::from_secs(2)).expect("start not seen");
    let start = t0.elapsed();
    eprintln!("connector: start seen {} after spawn", ms(start));
    assert!(start < Duration::from_secs(1), "start seen after {start:?}");
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

#[test]
fn fallback_sees_a_stop_at_once_and_a_start_within_the_scan_interval() {
    let bin = fake_binary("fksvc-fall");
    let mut svc = Svc::start(&bin);
    std::thread::sleep(Duration::from_millis(50));
    let mut w = ProcWatch::start_fallback(&[spec("svc", "fksvc-fall")], timer::now()).unwrap();
    assert!(!w.uses_connector());
    assert_eq!(updates(&mut w), vec![1]);

    let t0 = StdInstant::now();
    svc.kill();
    drive_until(&mut w, 0, Duration::from_secs(3)).expect("stop not seen");
    let stop = t0.elapsed();
    eprintln!("fallback (pidfd): stop seen {} after kill", ms(stop));
    assert!(stop < Duration::from_secs(1), "stop seen after {stop:?}");

    let t0 = StdInstant::now();
    let _svc2 = Svc::start(&bin);
    drive_until(&mut w, 1, SCAN_INTERVAL.to_std() * 3).expect("start not seen");
    let start = t0.elapsed();
    eprintln!(
        "fallback (/proc scan every {}): start seen {} after spawn",
        SCAN_INTERVAL,
        ms(start)
    );
    assert!(start <= SCAN_INTERVAL.to_std() + Duration::from_millis(500));
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

/// The daemon itself in connector mode: a configuration with a `vrrp_track_process` and no
/// VRRP instance (so no interface, address or packet is involved), run in the current
/// namespaces; the time from `kill` to its "stopped" log line is printed.
#[test]
fn daemon_logs_a_stop_at_once_with_the_connector() {
    if let Err(e) = ProcConnector::open() {
        let why = format!("process events connector unavailable: {e}");
        if std::env::var_os("CI").is_some() {
            panic!("{why} and CI is set");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let bin = fake_binary("fksvc-daemon");
    let dir = bin.parent().unwrap().to_path_buf();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n    router_id conn\n}\nvrrp_track_process fk {\n    process fksvc-daemon\n    weight 0\n}\n",
    )
    .unwrap();
    let mut svc = Svc::start(&bin);
    let log_path = dir.join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let daemon = Command::new(env!("CARGO_BIN_EXE_rkeepalived"))
        .args(["-n", "-l", "-D", "-G", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-r")
        .arg(dir.join("v.pid"))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn daemon");
    let daemon = Svc(daemon);
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let t = StdInstant::now();
    while !read().contains("Track process fk now running") && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        read().contains("process events connector"),
        "not in connector mode:\n{}",
        read()
    );
    let t0 = StdInstant::now();
    svc.kill();
    while !read().contains("Track process fk stopped") && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_micros(500));
    }
    let took = t0.elapsed();
    assert!(
        read().contains("Track process fk stopped"),
        "log:\n{}",
        read()
    );
    eprintln!("daemon (connector): stop logged {} after kill", ms(took));
    assert!(took < Duration::from_secs(1));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
