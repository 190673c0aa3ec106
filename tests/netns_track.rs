//! Trackers and notifications end to end, in network namespaces (tests/common/netns.rs): two
//! daemons on one bridge, node1 (priority 100) and node2 (priority 90), advert_int 1, both
//! preemptive, VIP 10.16.200.200 on eth1.
//!
//! - track_file: a value change moves the priority across the peer's, and the VIP moves;
//! - vrrp_track_process: a process stop is noticed at once (the time from `kill` to the
//!   daemon's log line and to the VIP removal is printed; inside a network namespace the
//!   kernel offers no process-events connector, so this measures the pidfd fallback — the
//!   connector is timed in tests/track_procevents.rs);
//! - notify FIFO lines arrive in transition order, notify scripts get keepalived's arguments,
//!   `notify_fifo_script` gets the FIFO name, a slow `notify_stop` is killed after 1 s;
//! - track_interface with weight 0 (FAULT) and with a weight crossing the peer's priority;
//! - a two-instance vrrp_sync_group fails over together.
//!
//! The seed's checkng.sh with `script_user root` + `enable_script_security` is covered by
//! tests/netns_seed.rs (`seed_story_nginx_failover_and_nopreempt`).
//!
//! Needs root; skips with a printed reason otherwise, and fails instead when `CI` is set.

mod common;

use common::netns::{Lab, Signal, daemon_bin, require_root_or_skip, step, wait_until};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const VIP32: &str = "10.16.200.200/32";
const VIP2_32: &str = "10.16.200.201/32";
const NODES: [&str; 2] = ["node1", "node2"];

fn can_run() -> bool {
    require_root_or_skip()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn lab2(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    lab
}

fn addr_of(node: &str) -> (&'static str, &'static str) {
    if node == "node1" {
        ("10.16.200.11", "10.16.200.12")
    } else {
        ("10.16.200.12", "10.16.200.11")
    }
}

/// One instance block (unicast, like the seed). `extra` goes inside the block.
fn instance(name: &str, vrid: u8, node: &str, prio: u32, vip: &str, extra: &str) -> String {
    let (src, peer) = addr_of(node);
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth1\n    virtual_router_id {vrid}\n\
         \x20   priority {prio}\n    advert_int 1\n\
         \x20   authentication {{\n        auth_type PASS\n        auth_pass dWc4Tddl\n    }}\n\
         \x20   virtual_ipaddress {{\n        {vip} dev eth1\n    }}\n\
         \x20   unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n{extra}}}\n"
    )
}

fn globals(extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id rk_track\n    script_user root\n    enable_script_security\n{extra}}}\n"
    )
}

/// Starts node1 with `conf1`, waits until it holds `vip`, then starts node2 with `conf2`.
fn start_pair(
    lab: &Lab,
    conf1: &str,
    conf2: &str,
    vip: &str,
) -> (common::netns::DaemonHandle, common::netns::DaemonHandle) {
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), conf1, &[]);
    let t = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        lab.has_addr("node1", "eth1", vip)
    })
    .unwrap_or_else(|| panic!("node1 did not take {vip}; log:\n{}", d1.log()));
    step(format!("  node1 MASTER {} after start", ms(t)));
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), conf2, &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lab.holders(&NODES, "eth1", vip), vec!["node1"]);
    (d1, d2)
}

fn wait_holder(lab: &Lab, vip: &str, node: &str, limit: Duration) -> Duration {
    wait_until(limit, Duration::from_millis(20), || {
        lab.holders(&NODES, "eth1", vip) == [node]
    })
    .unwrap_or_else(|| {
        panic!(
            "{vip} not (only) on {node} within {limit:?}: holders {:?}",
            lab.holders(&NODES, "eth1", vip)
        )
    })
}

/// Host pids whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid_of = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid_of == Some(ppid) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn track_file_value_moves_the_vip_across_the_peer() {
    if !can_run() {
        return;
    }
    let lab = lab2("tfile");
    let tf =
        "track_file tf {\n    file /etc/keepalived/prio.val\n    weight -20\n    init_file 0\n}\n";
    let conf1 = format!(
        "{}{tf}{}",
        globals(""),
        instance(
            "VI_1",
            61,
            "node1",
            100,
            "10.16.200.200",
            "    track_file {\n        tf\n    }\n"
        )
    );
    let conf2 = format!(
        "{}{}",
        globals(""),
        instance("VI_1", 61, "node2", 90, "10.16.200.200", "")
    );
    let (d1, _d2) = start_pair(&lab, &conf1, &conf2, VIP32);
    let file = lab.etc_dir("node1").join("prio.val");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "0\n",
        "init_file created the file with 0"
    );

    step("write 1 to the track file: 100 + 1 x -20 = 80 < 90");
    std::fs::write(&file, "1\n").unwrap();
    d1.wait_log("Track file tf value changed to 1", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("{e}"));
    let moved = wait_holder(&lab, VIP32, "node2", Duration::from_secs(8));
    step(format!(
        "  VIP moved to node2 {} after the write",
        ms(moved)
    ));

    step("editor-style rename of 0 over the file: back to 100, node1 preempts");
    let tmp = lab.etc_dir("node1").join(".prio.val.tmp");
    std::fs::write(&tmp, "0").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let back = wait_holder(&lab, VIP32, "node1", Duration::from_secs(8));
    step(format!("  VIP back on node1 {} after the rename", ms(back)));

    step("SIGHUP with a second track file (init_file 1, weight -30): 100 - 30 = 70 < 90");
    let tf2 = "track_file tf2 {\n    file /etc/keepalived/other.val\n    weight -30\n    init_file 1\n}\n";
    let conf1 = format!(
        "{}{tf}{tf2}{}",
        globals(""),
        instance(
            "VI_1",
            61,
            "node1",
            100,
            "10.16.200.200",
            "    track_file {\n        tf\n        tf2\n    }\n"
        )
    );
    lab.install_etc_file("node1", "keepalived.conf", &conf1, 0o644);
    d1.signal(Signal::SIGHUP);
    d1.wait_log("Reload complete", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::fs::read_to_string(lab.etc_dir("node1").join("other.val")).unwrap(),
        "1\n",
        "init_file on reload creates a missing file"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "0",
        "an existing file is not overwritten on reload"
    );
    let moved = wait_holder(&lab, VIP32, "node2", Duration::from_secs(8));
    step(format!(
        "  VIP moved to node2 {} after the reload",
        ms(moved)
    ));
    std::fs::write(lab.etc_dir("node1").join("other.val"), "0\n").unwrap();
    let back = wait_holder(&lab, VIP32, "node1", Duration::from_secs(8));
    step(format!(
        "  VIP back on node1 {} after writing 0 to the new file",
        ms(back)
    ));
}

#[test]
fn track_process_stop_is_noticed_at_once_and_the_vip_moves() {
    if !can_run() {
        return;
    }
    let lab = lab2("tproc");
    // A copy of sleep named fakesvc: its comm is "fakesvc".
    let bin = lab.etc_dir("node1").join("fakesvc");
    std::fs::copy("/bin/sleep", &bin).expect("copy sleep");
    let mut svc: Child = lab
        .command("node1", &["/etc/keepalived/fakesvc", "1000"])
        .stdin(Stdio::null())
        .spawn()
        .expect("start fakesvc");
    let svc_pid = wait_until(Duration::from_secs(3), Duration::from_millis(5), || {
        !children_of(svc.id() as i32).is_empty()
    })
    .map(|_| children_of(svc.id() as i32)[0])
    .expect("fakesvc host pid");
    let tp = "vrrp_track_process fks {\n    process fakesvc\n    weight 0\n}\n";
    let conf1 = format!(
        "{}{tp}{}",
        globals(""),
        instance(
            "VI_1",
            62,
            "node1",
            100,
            "10.16.200.200",
            "    track_process {\n        fks\n    }\n"
        )
    );
    let conf2 = format!(
        "{}{}",
        globals(""),
        instance("VI_1", 62, "node2", 90, "10.16.200.200", "")
    );
    let (d1, _d2) = start_pair(&lab, &conf1, &conf2, VIP32);
    let mode = if d1.log().contains("connector unavailable") {
        "pidfd fallback (no connector in a network namespace)"
    } else {
        "process events connector"
    };

    step(format!("kill fakesvc (host pid {svc_pid}) on node1"));
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(svc_pid), Signal::SIGKILL).unwrap();
    let seen = wait_until(Duration::from_secs(3), Duration::from_millis(1), || {
        d1.log().contains("Track process fks stopped")
    })
    .unwrap_or_else(|| panic!("no stop in the log:\n{}", d1.log()));
    let gone = wait_until(Duration::from_secs(3), Duration::from_millis(1), || {
        !lab.has_addr("node1", "eth1", VIP32)
    })
    .expect("VIP not removed from node1");
    let gone = t0.elapsed().min(seen + gone);
    step(format!(
        "  [{mode}] stop noticed {} after kill (log line), VIP removed from node1 {} after kill",
        ms(seen),
        ms(gone)
    ));
    assert!(seen < Duration::from_secs(1), "stop noticed after {seen:?}");
    let _ = svc.kill();
    let _ = svc.wait();
    d1.wait_log("Entering FAULT STATE", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("{e}"));
    let moved = wait_holder(&lab, VIP32, "node2", Duration::from_secs(5));
    step(format!("  node2 holds the VIP {} after kill", ms(moved)));

    step("start fakesvc again: node1 leaves FAULT and preempts");
    let mut svc2 = lab
        .command("node1", &["/etc/keepalived/fakesvc", "1000"])
        .stdin(Stdio::null())
        .spawn()
        .expect("restart fakesvc");
    let back = wait_holder(&lab, VIP32, "node1", Duration::from_secs(10));
    step(format!("  VIP back on node1 {} after restart", ms(back)));
    // The lab kills every process of the node; the nsenter parents are ours to reap.
    let _ = svc2.kill();
    let _ = svc2.wait();
}

/// Reads a FIFO from the host side on a thread until EOF; returns its lines.
fn fifo_reader(path: std::path::PathBuf) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .expect("open fifo");
        let mut all = String::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let mut buf = [0u8; 4096];
            match f.read(&mut buf) {
                Ok(0) if !path.exists() => break,
                Ok(0) => std::thread::sleep(Duration::from_millis(10)),
                Ok(n) => all.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        all
    })
}

#[test]
fn notify_fifo_lines_in_transition_order_and_notify_arguments() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("fifo");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    let note = "#!/bin/bash\necho \"$*\" >> /etc/keepalived/notes.log\n";
    lab.install_etc_file("node1", "note.sh", note, 0o755);
    let slow = "#!/bin/bash\necho stop-started >> /etc/keepalived/notes.log\nsleep 5\necho stop-finished >> /etc/keepalived/notes.log\n";
    lab.install_etc_file("node1", "slow_stop.sh", slow, 0o755);
    let notify = "    notify_master \"/etc/keepalived/note.sh master-arg\"\n    notify /etc/keepalived/note.sh\n    notify_stop /etc/keepalived/slow_stop.sh\n";
    // A single node (its peer address is unused): BACKUP at start, MASTER after the
    // master-down timer.
    let conf = format!(
        "{}{}",
        globals("    notify_fifo /etc/keepalived/notify.fifo\n"),
        instance("VI_1", 63, "node1", 100, "10.16.200.200", notify)
    );
    let mut d1 = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
    let fifo = lab.etc_dir("node1").join("notify.fifo");
    wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        fifo.exists()
    })
    .unwrap_or_else(|| panic!("FIFO not created; log:\n{}", d1.log()));
    let reader = fifo_reader(fifo.clone());
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        lab.has_addr("node1", "eth1", VIP32)
    })
    .expect("node1 did not become MASTER");
    std::thread::sleep(Duration::from_millis(300));

    step("SIGTERM: notify_stop sleeps 5 s and must be killed after 1 s");
    let t0 = Instant::now();
    d1.signal(Signal::SIGTERM);
    let st = d1
        .wait_exit(Duration::from_secs(4))
        .expect("daemon did not exit");
    let took = t0.elapsed();
    step(format!("  daemon exited {} after SIGTERM ({st})", ms(took)));
    assert!(st.success());
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    assert!(
        d1.log()
            .contains("still running after 1 s at shutdown: killed"),
        "log:\n{}",
        d1.log()
    );
    let lines = reader.join().unwrap();
    step(format!(
        "  FIFO lines: {:?}",
        lines.lines().collect::<Vec<_>>()
    ));
    let got: Vec<&str> = lines.lines().collect();
    assert!(
        got.len() >= 2,
        "expected at least BACKUP and MASTER lines, got {got:?}"
    );
    assert_eq!(got[0], "INSTANCE \"VI_1\" BACKUP 100");
    assert_eq!(got[1], "INSTANCE \"VI_1\" MASTER 100");
    for l in &got[2..] {
        assert!(
            l.contains(" STOP ") || l.contains(" FAULT "),
            "unexpected {l}"
        );
    }
    assert!(
        !fifo.exists(),
        "the FIFO the daemon created is removed at exit"
    );

    std::thread::sleep(Duration::from_millis(300));
    let notes = std::fs::read_to_string(lab.etc_dir("node1").join("notes.log")).unwrap();
    step(format!(
        "  notify script calls: {:?}",
        notes.lines().collect::<Vec<_>>()
    ));
    let calls: Vec<&str> = notes.lines().collect();
    for want in [
        "INSTANCE VI_1 BACKUP 100",
        "master-arg",
        "INSTANCE VI_1 MASTER 100",
        "stop-started",
    ] {
        assert!(calls.contains(&want), "no {want:?} in {calls:?}");
    }
    assert!(
        !calls.contains(&"stop-finished"),
        "notify_stop was not killed"
    );

    step("notify_fifo_script gets the FIFO name as its last argument");
    let reader_sh = "#!/bin/bash\necho \"args: $*\" >> /etc/keepalived/reader.log\nwhile read -r line; do echo \"$line\" >> /etc/keepalived/reader.log; done < \"${@: -1}\"\n";
    lab.install_etc_file("node1", "reader.sh", reader_sh, 0o755);
    let conf = format!(
        "{}{}",
        globals(
            "    notify_fifo /etc/keepalived/notify.fifo\n    notify_fifo_script \"/etc/keepalived/reader.sh first\"\n"
        ),
        instance("VI_1", 63, "node1", 100, "10.16.200.200", "")
    );
    let d2 = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
    let log = lab.etc_dir("node1").join("reader.log");
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("MASTER"))
    })
    .unwrap_or_else(|| {
        panic!(
            "reader saw no MASTER line: {:?}; daemon log:\n{}",
            std::fs::read_to_string(&log),
            d2.log()
        )
    });
    let r = std::fs::read_to_string(&log).unwrap();
    step(format!("  reader.log: {:?}", r.lines().collect::<Vec<_>>()));
    let rl: Vec<&str> = r.lines().collect();
    assert_eq!(rl[0], "args: first /etc/keepalived/notify.fifo");
    assert_eq!(
        &rl[1..3],
        &[
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" MASTER 100"
        ]
    );
}

/// A second interface `dev` in `node`: a veth pair (`dev` + `dev`p) with both ends up (the
/// kernel here may lack the dummy driver).
fn add_dummy(lab: &Lab, node: &str, dev: &str) {
    let peer = format!("{dev}p");
    lab.exec_ok(
        node,
        &[
            "ip", "link", "add", dev, "type", "veth", "peer", "name", &peer,
        ],
    );
    lab.exec_ok(node, &["ip", "link", "set", &peer, "up"]);
    lab.exec_ok(node, &["ip", "link", "set", dev, "up"]);
}

#[test]
fn track_interface_weight_0_faults_and_weighted_crosses_the_peer() {
    if !can_run() {
        return;
    }
    let lab = lab2("tif");
    add_dummy(&lab, "node1", "eth2");
    let conf2 = format!(
        "{}{}",
        globals(""),
        instance("VI_1", 64, "node2", 90, "10.16.200.200", "")
    );

    step("track_interface { eth2 } (weight 0): eth2 down => FAULT => VIP moves");
    let conf1 = format!(
        "{}{}",
        globals(""),
        instance(
            "VI_1",
            64,
            "node1",
            100,
            "10.16.200.200",
            "    track_interface {\n        eth2\n    }\n"
        )
    );
    let (mut d1, mut d2) = start_pair(&lab, &conf1, &conf2, VIP32);
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "down"]);
    let moved = wait_holder(&lab, VIP32, "node2", Duration::from_secs(5));
    d1.wait_log("Entering FAULT STATE", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("{e}"));
    step(format!("  VIP on node2 {} after eth2 down", ms(moved)));
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "up"]);
    let back = wait_holder(&lab, VIP32, "node1", Duration::from_secs(10));
    step(format!("  VIP back on node1 {} after eth2 up", ms(back)));
    d1.kill();
    d2.kill();
    let _ = lab.exec("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let _ = lab.exec("node2", &["ip", "addr", "del", VIP32, "dev", "eth1"]);

    step("track_interface { eth2 weight -20 }: eth2 down => 80 < 90 => VIP moves");
    let conf1 = format!(
        "{}{}",
        globals(""),
        instance(
            "VI_1",
            64,
            "node1",
            100,
            "10.16.200.200",
            "    track_interface {\n        eth2 weight -20\n    }\n"
        )
    );
    let (d1, _d2) = start_pair(&lab, &conf1, &conf2, VIP32);
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "down"]);
    let moved = wait_holder(&lab, VIP32, "node2", Duration::from_secs(8));
    assert!(
        !d1.log().contains("Entering FAULT STATE"),
        "weighted interface must not FAULT"
    );
    step(format!(
        "  VIP on node2 {} after eth2 down (priority 80)",
        ms(moved)
    ));
}

#[test]
fn sync_group_fails_over_together() {
    if !can_run() {
        return;
    }
    let lab = lab2("sync");
    add_dummy(&lab, "node1", "eth2");
    let group = "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n";
    let conf = |node: &str, prio: u32, track: &str| {
        format!(
            "{}{group}{}{}",
            globals(""),
            instance("VI_1", 65, node, prio, "10.16.200.200", ""),
            instance("VI_2", 66, node, prio, "10.16.200.201", track)
        )
    };
    let conf1 = conf("node1", 100, "    track_interface {\n        eth2\n    }\n");
    let conf2 = conf("node2", 90, "");
    let (_d1, _d2) = start_pair(&lab, &conf1, &conf2, VIP32);
    wait_holder(&lab, VIP2_32, "node1", Duration::from_secs(5));
    step("eth2 down on node1: VI_2 FAULT => the group (VI_1 too) fails over");
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "down"]);
    let t1 = wait_holder(&lab, VIP32, "node2", Duration::from_secs(5));
    let t2 = wait_holder(&lab, VIP2_32, "node2", Duration::from_secs(5));
    step(format!(
        "  both VIPs on node2: VI_1 {} / VI_2 {} after eth2 down",
        ms(t1),
        ms(t2)
    ));
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "up"]);
    wait_holder(&lab, VIP32, "node1", Duration::from_secs(10));
    wait_holder(&lab, VIP2_32, "node1", Duration::from_secs(10));
    step("  both VIPs back on node1 after eth2 up");
}

/// `notify_in_order` (rkeepalived extension): an instance's notify scripts run one after
/// another in transition order. The control run without it shows keepalived's fire-and-forget
/// overlap, so the test can tell the two apart.
#[test]
fn notify_in_order_runs_an_instances_scripts_one_after_another() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("notifyord");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    let slow = "#!/bin/bash\necho \"start $*\" >> /etc/keepalived/order.log\nsleep 1\necho \"end $*\" >> /etc/keepalived/order.log\n";
    lab.install_etc_file("node1", "slow.sh", slow, 0o755);
    let log = lab.etc_dir("node1").join("order.log");
    let run = |in_order: bool| -> Vec<String> {
        let _ = std::fs::remove_file(&log);
        let extra = format!(
            "    notify_master \"/etc/keepalived/slow.sh M\"\n    notify /etc/keepalived/slow.sh\n{}",
            if in_order {
                "    notify_in_order\n"
            } else {
                ""
            }
        );
        let conf = format!(
            "{}{}",
            globals(""),
            instance("VI_1", 64, "node1", 100, "10.16.200.200", &extra)
        );
        let mut d = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            lab.has_addr("node1", "eth1", VIP32)
        })
        .unwrap_or_else(|| panic!("node1 did not become MASTER; log:\n{}", d.log()));
        // MASTER's two scripts take 1 s each: 2.5 s covers both, in order or not.
        std::thread::sleep(Duration::from_millis(2500));
        d.kill();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains(" M") || l.contains("MASTER"))
            .map(str::to_string)
            .collect()
    };

    step("notify_in_order: notify_master, then the generic notify, never overlapping");
    let ordered = run(true);
    step(format!("  {ordered:?}"));
    assert_eq!(
        ordered,
        vec![
            "start M",
            "end M",
            "start INSTANCE VI_1 MASTER 100",
            "end INSTANCE VI_1 MASTER 100"
        ],
    );

    step("control, keepalived's fire-and-forget: both MASTER scripts start before either ends");
    let free = run(false);
    step(format!("  {free:?}"));
    assert_eq!(free.len(), 4, "{free:?}");
    assert!(
        free[0].starts_with("start") && free[1].starts_with("start"),
        "{free:?}"
    );
}
