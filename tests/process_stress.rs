//! 10,000 runs of a fast script through spawn + reap: no zombies, no descriptor or memory leak.
//! Prints the numbers (runs/second, fd count and VmRSS before and after).

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use rkeepalived::check::ExitStatus;
use rkeepalived::sys::process;
use rkeepalived::vrrp::spec::ScriptCmd;

const RUNS: usize = 10_000;
/// Children alive at once: like many scripts due together, and it keeps the test short.
const IN_FLIGHT: usize = 32;

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

fn vm_rss_kb() -> u64 {
    let s = fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// Children of this process in state Z.
fn zombies() -> Vec<i32> {
    let me = std::process::id() as i32;
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            let Ok(s) = fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            let Some(close) = s.rfind(')') else {
                return false;
            };
            let mut it = s[close + 2..].split(' ');
            let state = it.next();
            let ppid = it.next().and_then(|v| v.parse::<i32>().ok());
            state == Some("Z") && ppid == Some(me)
        })
        .collect()
}

/// Run `n` children of `cmd`, at most IN_FLIGHT at once; returns the number of exit-0 reaps.
fn run_many(cmd: &ScriptCmd, n: usize) -> usize {
    let mut started = 0;
    let mut outstanding = std::collections::HashSet::new();
    let mut ok = 0;
    while started < n || !outstanding.is_empty() {
        while started < n && outstanding.len() < IN_FLIGHT {
            let c = process::spawn(cmd, &[]).expect("spawn /bin/true");
            outstanding.insert(c.pid);
            started += 1;
        }
        let reaped = process::reap();
        if reaped.is_empty() {
            sleep(Duration::from_micros(200));
        }
        for (pid, st) in reaped {
            assert!(outstanding.remove(&pid), "reaped unknown pid {pid}");
            if st == ExitStatus::Exited(0) {
                ok += 1;
            }
        }
    }
    ok
}

#[test]
fn ten_thousand_fast_runs_leave_no_zombie_and_no_leak() {
    let cmd = ScriptCmd {
        argv: vec!["/bin/true".into()],
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        ..Default::default()
    };
    // Warm-up: let allocator pools and lazily opened files settle.
    assert_eq!(run_many(&cmd, 200), 200);
    let (fds0, rss0) = (open_fds(), vm_rss_kb());

    let t = Instant::now();
    let ok = run_many(&cmd, RUNS);
    let secs = t.elapsed().as_secs_f64();

    let (fds1, rss1) = (open_fds(), vm_rss_kb());
    let z = zombies();
    println!(
        "{RUNS} runs of /bin/true ({IN_FLIGHT} in flight): {secs:.2} s, {:.0} runs/s; \
         open fds {fds0} -> {fds1}; VmRSS {rss0} kB -> {rss1} kB; zombies {}",
        RUNS as f64 / secs,
        z.len()
    );
    assert_eq!(ok, RUNS, "every run exits 0 and is reaped once");
    assert!(z.is_empty(), "zombies left: {z:?}");
    assert!(process::reap().is_empty());
    assert_eq!(fds0, fds1, "descriptor leak");
    assert!(
        rss1 <= rss0 + 2048,
        "VmRSS grew from {rss0} kB to {rss1} kB"
    );
}
