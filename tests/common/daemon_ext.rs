//! Extra helpers for daemon-level namespace tests (tests/netns_daemon.rs and friends), on top
//! of [`super::netns`]: environment wrappers, a stand-in for systemd's notify socket, process
//! inspection (fds, zombies, namespace pids), a VIP watcher and small config builders.

use std::fs::{self, File};
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netns::{Lab, write_file};

/// A shell wrapper `/tmp/rk-.../NAME.sh` that exports `env` and `exec`s `bin "$@"`: the pid
/// stays the daemon's, so [`Lab::spawn_daemon`] with this as `bin` runs the daemon with extra
/// environment variables (NOTIFY_SOCKET, TMPDIR) without touching the test process's env.
pub fn env_wrapper(dir: &Path, name: &str, bin: &Path, env: &[(&str, &str)]) -> PathBuf {
    let mut s = String::from("#!/bin/sh\n");
    for (k, v) in env {
        s.push_str(&format!("export {k}='{v}'\n"));
    }
    s.push_str(&format!("exec '{}' \"$@\"\n", bin.display()));
    let p = dir.join(format!("{name}.sh"));
    write_file(&p, &s, 0o755);
    p
}

/// A per-node TMPDIR (root, 0755) for dump files.
pub fn node_tmp(lab: &Lab, node: &str) -> PathBuf {
    let d = lab.node_dir(node).join("tmp");
    fs::create_dir_all(&d).expect("mkdir tmp");
    d
}

// ------------------------------------------------------------------ sd_notify stand-in

/// A unix datagram socket playing systemd's `NOTIFY_SOCKET`.
pub struct NotifySocket {
    sock: UnixDatagram,
    /// The value for `NOTIFY_SOCKET` (`/path` or `@name`).
    pub env_value: String,
}

impl NotifySocket {
    /// Binds a path socket (works from any network namespace: path sockets live in the
    /// filesystem).
    pub fn bind_path(path: &Path) -> NotifySocket {
        let _ = fs::remove_file(path);
        let sock = UnixDatagram::bind(path).expect("bind notify socket");
        NotifySocket {
            sock,
            env_value: path.display().to_string(),
        }
    }

    /// Binds an abstract socket `@name` inside network namespace `ns`: the abstract namespace
    /// is per network namespace, so it must be created where the daemon runs. The socket is
    /// created on a short-lived thread that entered `ns` (setns affects only that thread).
    pub fn bind_abstract_in(ns: &str, name: &str) -> NotifySocket {
        let ns_path = format!("/run/netns/{ns}");
        let name_owned = name.to_string();
        let sock = std::thread::spawn(move || {
            let f = File::open(&ns_path).unwrap_or_else(|e| panic!("open {ns_path}: {e}"));
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {ns_path}: {e}"));
            let addr = SocketAddr::from_abstract_name(name_owned.as_bytes()).expect("abstract");
            UnixDatagram::bind_addr(&addr).expect("bind abstract notify socket")
        })
        .join()
        .expect("setns thread");
        NotifySocket {
            sock,
            env_value: format!("@{name}"),
        }
    }

    /// The next notification, or None after `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<String> {
        self.sock
            .set_read_timeout(Some(timeout))
            .expect("set_read_timeout");
        let mut buf = [0u8; 4096];
        match self.sock.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// Whatever is queued right now (no waiting).
    pub fn drain(&self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(m) = self.recv(Duration::from_millis(50)) {
            v.push(m);
        }
        v
    }
}

// ------------------------------------------------------------------ processes

/// The pid of host process `pid` inside its innermost PID namespace (`NSpid:` last field).
pub fn ns_pid(pid: i32) -> Option<i32> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// Number of open file descriptors of `pid`.
pub fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// `readlink` of every fd of `pid` (sorted), for a readable leak report.
pub fn fd_targets(pid: i32) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let t = fs::read_link(e.path())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    format!("{}->{t}", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `(pid, state char)` of the host processes whose parent is `ppid`.
pub fn children_states(ppid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let st = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        if f.next().and_then(|p| p.parse::<i32>().ok()) == Some(ppid) {
            out.push((pid, st));
        }
    }
    out
}

/// Fields of `/proc/PID/stat` after the command name: [state, ppid, pgrp, session, tty_nr, ...].
pub fn stat_fields(stat: &str) -> Vec<String> {
    stat.rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Sends signal number `sig` (also real-time ones) to host pid `pid` with kill(1).
pub fn kill_num(pid: i32, sig: i32) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

// ------------------------------------------------------------------ watching a VIP

/// Polls `ip -n NS -o addr show dev DEV` on a thread until stopped; records how often the
/// address was absent (and when first).
pub struct VipWatch {
    stop: Arc<AtomicBool>,
    samples: Arc<AtomicUsize>,
    absent: Arc<AtomicUsize>,
    handle: Option<JoinHandle<Option<Duration>>>,
}

/// What a [`VipWatch`] saw.
#[derive(Debug)]
pub struct VipWatchReport {
    pub samples: usize,
    pub absent: usize,
    pub first_absent: Option<Duration>,
}

impl VipWatch {
    pub fn start(ns: &str, dev: &str, cidr: &str) -> VipWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicUsize::new(0));
        let absent = Arc::new(AtomicUsize::new(0));
        let (s2, n2, a2) = (stop.clone(), samples.clone(), absent.clone());
        let (ns, dev, cidr) = (ns.to_string(), dev.to_string(), cidr.to_string());
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut first = None;
            while !s2.load(Ordering::SeqCst) {
                let out = Command::new("ip")
                    .args(["-n", &ns, "-o", "addr", "show", "dev", &dev])
                    .output();
                let Ok(out) = out else { continue };
                n2.fetch_add(1, Ordering::SeqCst);
                let present = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .any(|t| t == cidr);
                if !present {
                    a2.fetch_add(1, Ordering::SeqCst);
                    first.get_or_insert(t0.elapsed());
                }
            }
            first
        });
        VipWatch {
            stop,
            samples,
            absent,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> VipWatchReport {
        self.stop.store(true, Ordering::SeqCst);
        let first_absent = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or(None);
        VipWatchReport {
            samples: self.samples.load(Ordering::SeqCst),
            absent: self.absent.load(Ordering::SeqCst),
            first_absent,
        }
    }
}

impl Drop for VipWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

// ------------------------------------------------------------------ logs and JSON

/// The part of `log` after the first line containing `marker` (empty if none).
pub fn log_after<'a>(log: &'a str, marker: &str) -> &'a str {
    match log.find(marker) {
        Some(i) => &log[i..],
        None => "",
    }
}

/// Nth (0-based) occurrence split: the part of `log` after the `n`th line containing `marker`.
pub fn log_after_nth<'a>(log: &'a str, marker: &str, n: usize) -> &'a str {
    let mut off = 0;
    for k in 0..=n {
        match log[off..].find(marker) {
            Some(i) => {
                off += i;
                if k < n {
                    off += marker.len();
                }
            }
            None => return "",
        }
    }
    &log[off..]
}

/// Whether `path` holds valid JSON (python3's parser), with the parser's complaint if not.
pub fn json_valid(path: &Path) -> Result<(), String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys; json.load(open(sys.argv[1]))",
            &path.to_string_lossy(),
        ])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs a python3 expression over the parsed JSON in `path` (bound to `j`); its printed value.
pub fn json_eval(path: &Path, expr: &str) -> String {
    let code = format!("import json,sys; j=json.load(open(sys.argv[1])); print({expr})");
    let out = Command::new("python3")
        .args(["-c", &code, &path.to_string_lossy()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python3 {expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ------------------------------------------------------------------ configs

/// One `vrrp_instance` block. `vips` are full address lines; `unicast` = (src, peers).
pub struct Inst<'a> {
    pub name: &'a str,
    pub state: &'a str,
    pub vrid: u8,
    pub prio: u8,
    pub advert: &'a str,
    pub version: Option<u8>,
    pub nopreempt: bool,
    pub vips: Vec<String>,
    pub unicast: Option<(&'a str, Vec<&'a str>)>,
    pub auth: bool,
    pub extra: &'a str,
}

impl Default for Inst<'_> {
    fn default() -> Self {
        Inst {
            name: "VI_1",
            state: "BACKUP",
            vrid: 51,
            prio: 100,
            advert: "1",
            version: None,
            nopreempt: false,
            vips: Vec::new(),
            unicast: None,
            auth: false,
            extra: "",
        }
    }
}

impl Inst<'_> {
    pub fn render(&self) -> String {
        let mut s = format!(
            "vrrp_instance {} {{\n    state {}\n    interface eth1\n    virtual_router_id {}\n    priority {}\n    advert_int {}\n",
            self.name, self.state, self.vrid, self.prio, self.advert
        );
        if let Some(v) = self.version {
            s.push_str(&format!("    version {v}\n"));
        }
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if self.auth {
            s.push_str(
                "    authentication {\n        auth_type PASS\n        auth_pass rktest\n    }\n",
            );
        }
        s.push_str("    virtual_ipaddress {\n");
        for v in &self.vips {
            s.push_str(&format!("        {v}\n"));
        }
        s.push_str("    }\n");
        if let Some((src, peers)) = &self.unicast {
            s.push_str(&format!("    unicast_src_ip {src}\n    unicast_peer {{\n"));
            for p in peers {
                s.push_str(&format!("        {p}\n"));
            }
            s.push_str("    }\n");
        }
        s.push_str(self.extra);
        s.push_str("}\n");
        s
    }
}

/// A whole config: `global_defs` (router_id + `globals` lines) and the instances.
pub fn conf(router_id: &str, globals: &str, instances: &[Inst]) -> String {
    let mut s = format!("global_defs {{\n    router_id {router_id}\n{globals}}}\n");
    for i in instances {
        s.push_str(&i.render());
    }
    s
}
