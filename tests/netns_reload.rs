//! Reloads that change the election, and stop variants, in network namespaces. Every test here
//! also passes with Debian's keepalived 2.2.7 as the daemon (`RK_DAEMON=/usr/sbin/keepalived`),
//! which is how the expectations were checked.
//!
//! Needs root; skips with a printed reason otherwise, and fails instead when `CI` is set.
//! Addresses (only inside the lab's namespaces): node1 10.16.200.11/16, node2 10.16.200.12/16
//! on `eth1`; VIPs 10.16.200.200 and .201.

mod common;

use std::time::{Duration, Instant};

use common::daemon_ext::{Inst, conf, log_after_nth};
use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, step, wait_until,
};

const VIP: &str = "10.16.200.200";
const VIP32: &str = "10.16.200.200/32";
const NODES: [&str; 2] = ["node1", "node2"];

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn addr_of(node: &str) -> &'static str {
    if node == "node1" {
        "10.16.200.11"
    } else {
        "10.16.200.12"
    }
}

fn peer_of(node: &str) -> &'static str {
    if node == "node1" { "node2" } else { "node1" }
}

/// The pair's config for `node`: one unicast PASS instance (VRID `vrid`, VIP `vip`), plus
/// `globals` lines and per-instance `extra` lines.
fn node_conf(node: &str, prio: u8, vrid: u8, vip: &str, extra: &str) -> String {
    conf(
        &format!("rk_{node}"),
        "",
        &[Inst {
            prio,
            vrid,
            vips: vec![format!("{vip} dev eth1")],
            unicast: Some((addr_of(node), vec![addr_of(peer_of(node))])),
            auth: true,
            extra,
            ..Inst::default()
        }],
    )
}

fn lab(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    lab
}

fn sole(lab: &Lab, node: &str, limit: Duration, ds: &[&DaemonHandle]) -> Duration {
    wait_until(limit, Duration::from_millis(10), || {
        lab.holders(&NODES, "eth1", VIP32) == [node]
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = ds
            .iter()
            .map(|d| format!("--- {}\n{}", d.node(), d.log()))
            .collect();
        panic!(
            "{node} not sole holder within {limit:?} (holders {:?})\n{}",
            lab.holders(&NODES, "eth1", VIP32),
            logs.join("\n")
        )
    })
}

/// node1 MASTER (prio 100), node2 BACKUP (prio 90), both settled.
fn pair(tag: &str, extra_args: &[&str]) -> (Lab, DaemonHandle, DaemonHandle) {
    let lab = lab(tag);
    let d1 = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &node_conf("node1", 100, 51, VIP, ""),
        extra_args,
    );
    sole(&lab, "node1", Duration::from_secs(10), &[&d1]);
    let d2 = lab.spawn_daemon(
        "node2",
        &daemon_bin(),
        &node_conf("node2", 90, 51, VIP, ""),
        extra_args,
    );
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node1"]);
    (lab, d1, d2)
}

/// Rewrites `node`'s config and sends SIGHUP; returns when the log shows the reload ended.
fn reload(lab: &Lab, d: &DaemonHandle, conf_text: &str) {
    lab.install_etc_file(d.node(), "keepalived.conf", conf_text, 0o644);
    let before = d.count_log("Reload");
    d.signal(Signal::SIGHUP);
    // rkeepalived: "Reloading" + "Reload complete"; keepalived: "Reloading ..." and
    // "Reload finished in N usec" (both daemons: at least two lines containing "Reload").
    wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        d.count_log("Reload") >= before + 2
    })
    .unwrap_or_else(|| panic!("reload did not finish:\n{}", d.log()));
}

fn require() -> bool {
    require_root_or_skip()
}

/// A reload that removes the MASTER's instance (another VRID replaces it): the old instance
/// resigns with a priority 0 advert and drops its VIP, so the peer takes over within its skew
/// time instead of the master-down interval.
#[test]
fn sighup_removing_master_instance_sends_priority_0_peer_takes_over() {
    if !require() {
        return;
    }
    let (lab, d1, d2) = pair("rmmaster", &[]);
    let t0 = Instant::now();
    reload(&lab, &d1, &node_conf("node1", 100, 52, "10.16.200.201", ""));
    let took = sole(&lab, "node2", Duration::from_secs(3), &[&d1, &d2]);
    step(format!(
        "node2 sole holder {} after SIGHUP removed node1's instance",
        secs(took.max(t0.elapsed()))
    ));
    d2.wait_log("priority 0", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("no priority 0 advert seen by node2: {e}"));
    assert!(
        t0.elapsed() < Duration::from_millis(2500),
        "takeover took {:?}: slower than a priority 0 advert allows",
        t0.elapsed()
    );
    // The new instance (VRID 52, no peer configured for it) becomes MASTER of its own VIP.
    wait_until(Duration::from_secs(6), Duration::from_millis(20), || {
        lab.has_addr("node1", "eth1", "10.16.200.201/32")
    })
    .unwrap_or_else(|| panic!("new instance did not start:\n{}", d1.log()));
}

/// A reload raising the BACKUP's priority above the MASTER's makes it preempt (after its
/// master-down interval); the old MASTER yields to the higher priority.
#[test]
fn sighup_raising_backup_priority_preempts() {
    if !require() {
        return;
    }
    let (lab, d1, d2) = pair("raise", &[]);
    let t0 = Instant::now();
    reload(&lab, &d2, &node_conf("node2", 110, 51, VIP, ""));
    let took = sole(&lab, "node2", Duration::from_secs(8), &[&d1, &d2]);
    step(format!("node2 (prio 90 -> 110) sole holder {}", secs(took)));
    let _ = t0;
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node2"]);
    assert!(
        log_after_nth(&d1.log(), "Entering MASTER", 0).contains("Entering BACKUP"),
        "node1 did not go BACKUP:\n{}",
        d1.log()
    );
}

/// A reload lowering the MASTER's priority below the preempting BACKUP's: the BACKUP discards
/// the lower-priority adverts and takes over.
#[test]
fn sighup_lowering_master_priority_lets_backup_preempt() {
    if !require() {
        return;
    }
    let (lab, d1, d2) = pair("lower", &[]);
    reload(&lab, &d1, &node_conf("node1", 80, 51, VIP, ""));
    let took = sole(&lab, "node2", Duration::from_secs(8), &[&d1, &d2]);
    step(format!(
        "node2 (90) sole holder {} after node1 went 100 -> 80",
        secs(took)
    ));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node2"]);
}

/// An instance in FAULT (weight-0 track script failing) stays FAULT across an unchanged
/// reload: no BACKUP/MASTER flap, no VIP.
#[test]
fn sighup_fault_instance_stays_fault() {
    if !require() {
        return;
    }
    let lab = lab("hupfault");
    let c = format!(
        "global_defs {{\n    router_id rk_fault\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script chk_false {{\n    script \"/bin/false\"\n    interval 1\n    fall 1\n    rise 1\n}}\n{}",
        Inst {
            prio: 100,
            vips: vec![format!("{VIP} dev eth1")],
            extra: "    track_script {\n        chk_false\n    }\n",
            ..Inst::default()
        }
        .render()
    );
    let d = lab.spawn_daemon("node1", &daemon_bin(), &c, &[]);
    // keepalived 2.2.7 logs no state line for an instance whose script fails before it
    // started (it stays FAULT quietly); rkeepalived logs "Entering FAULT STATE".
    d.wait_log("VRRP_Script(chk_false) failed", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(4000));
    assert!(
        !lab.has_addr("node1", "eth1", VIP32),
        "FAULT instance took the VIP"
    );
    assert!(!d.log().contains("Entering MASTER"));
    let mark = d.log().len();
    reload(&lab, &d, &c);
    std::thread::sleep(Duration::from_secs(5));
    let log = d.log();
    let after = &log[mark..];
    step(format!("log after the reload:\n{after}"));
    assert!(
        !after.contains("Entering BACKUP") && !after.contains("Entering MASTER"),
        "FAULT instance left FAULT across the reload:\n{after}"
    );
    assert!(!lab.has_addr("node1", "eth1", VIP32));
}

/// SIGINT stops like SIGTERM: priority 0 advert, VIP released, peer takes over within skew.
#[test]
fn sigint_stops_like_sigterm() {
    if !require() {
        return;
    }
    let (lab, mut d1, d2) = pair("sigint", &[]);
    d1.signal(Signal::SIGINT);
    let took = sole(&lab, "node2", Duration::from_secs(3), &[&d1, &d2]);
    step(format!("node2 sole holder {} after SIGINT", secs(took)));
    assert!(took < Duration::from_millis(2000), "takeover {took:?}");
    let st = d1.wait_exit(Duration::from_secs(5)).expect("no exit");
    assert!(st.success(), "exit status {st}");
}

/// `-V` (dont_release_vrrp): a stopping MASTER leaves its VIP in place.
#[test]
fn dont_release_vrrp_keeps_vip_on_stop() {
    if !require() {
        return;
    }
    let lab = lab("keepvip");
    let mut d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &node_conf("node1", 100, 51, VIP, ""),
        &["-V"],
    );
    sole(&lab, "node1", Duration::from_secs(10), &[&d]);
    d.signal(Signal::SIGTERM);
    let st = d.wait_exit(Duration::from_secs(8)).expect("no exit");
    step(format!(
        "exited {st}; VIP still on node1: {}",
        lab.has_addr("node1", "eth1", VIP32)
    ));
    assert!(
        lab.has_addr("node1", "eth1", VIP32),
        "-V: VIP removed on stop"
    );
}

/// Five SIGHUPs sent back to back: every reload is processed (or coalesced), the MASTER never
/// leaves and its VIP never goes.
#[test]
fn sighup_burst_keeps_master() {
    if !require() {
        return;
    }
    let (lab, d1, d2) = pair("hupburst", &[]);
    let watch = common::daemon_ext::VipWatch::start(lab.ns("node1"), "eth1", VIP32);
    let t0 = Instant::now();
    for _ in 0..5 {
        d1.signal(Signal::SIGHUP);
    }
    let done = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        d1.count_log("Reload") >= 2
    });
    std::thread::sleep(Duration::from_secs(2));
    let w = watch.finish();
    step(format!(
        "5 SIGHUPs: first reload done {done:?}; {} reload lines in {}; VIP watch {w:?}",
        d1.count_log("Reload"),
        secs(t0.elapsed())
    ));
    assert!(done.is_some(), "no reload:\n{}", d1.log());
    assert_eq!(w.absent, 0, "VIP absent: {w:?}");
    let log = d1.log();
    assert!(!log_after_nth(&log, "Reload", 0).contains("Entering"));
    assert!(!d2.log().contains("Entering MASTER"));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node1"]);
}

/// A daemon restarted after a crash (SIGKILL left its VIP behind) while the peer is MASTER:
/// startup removes the stale VIP ("removing VIPs"), so exactly one node holds it.
#[test]
fn restart_after_sigkill_removes_stale_vip() {
    if !require() {
        return;
    }
    let (lab, mut d1, d2) = pair("restart", &[]);
    d1.kill();
    // node2 takes over after its master-down interval; node1 still has the stale VIP.
    wait_until(Duration::from_secs(6), Duration::from_millis(10), || {
        lab.has_addr("node2", "eth1", VIP32)
    })
    .unwrap_or_else(|| panic!("node2 did not take over:\n{}", d2.log()));
    assert!(lab.has_addr("node1", "eth1", VIP32), "stale VIP expected");
    // Restart node1 with nopreempt so that node2 keeps the VIP.
    let c = node_conf("node1", 100, 51, VIP, "    nopreempt\n");
    let t0 = Instant::now();
    let d1b = lab.spawn_daemon("node1", &daemon_bin(), &c, &[]);
    let gone = wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        !lab.has_addr("node1", "eth1", VIP32)
    });
    step(format!("stale VIP removed {gone:?} after restart"));
    assert!(gone.is_some(), "stale VIP kept:\n{}", d1b.log());
    let _ = t0;
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node2"]);
    assert!(!d1b.log().contains("Entering MASTER"));
}

/// A reload that adds a failing weight-0 track script to the MASTER puts it in FAULT: it
/// resigns (priority 0) and the peer takes over within its skew time.
#[test]
fn sighup_adding_failing_script_faults_master() {
    if !require() {
        return;
    }
    let (lab, d1, d2) = pair("addscript", &[]);
    let c = format!(
        "global_defs {{\n    router_id rk_node1\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script chk_false {{\n    script \"/bin/false\"\n    interval 1\n    fall 1\n    rise 1\n}}\n{}",
        Inst {
            prio: 100,
            vrid: 51,
            vips: vec![format!("{VIP} dev eth1")],
            unicast: Some((addr_of("node1"), vec![addr_of("node2")])),
            auth: true,
            extra: "    track_script {\n        chk_false\n    }\n",
            ..Inst::default()
        }
        .render()
    );
    let t0 = Instant::now();
    reload(&lab, &d1, &c);
    let took = sole(&lab, "node2", Duration::from_secs(5), &[&d1, &d2]);
    step(format!(
        "node2 sole holder {} after the reload added a failing script to node1",
        secs(took.max(t0.elapsed()))
    ));
    d2.wait_log("priority 0", Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("node1 did not resign with priority 0: {e}"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.holders(&NODES, "eth1", VIP32), ["node2"]);
}

/// A reload adding a unicast peer to the MASTER reaches that peer. Before: node1 (100)
/// advertises only to node2, so node3 (80, peers node1 and node2) hears no MASTER and elects
/// itself (two holders). After node1's reload adds node3 as a peer, node3 receives the
/// higher-priority adverts and goes BACKUP: one holder.
#[test]
fn sighup_adding_unicast_peer_reaches_new_peer() {
    if !require() {
        return;
    }
    add_peer_reload();
}

/// keepalived 2.2.7 (RK_DAEMON=/usr/sbin/keepalived: 0.02 s; reference §2.1 step 7): a MASTER
/// kept across a reload sends its next advert at once, so the new peer yields immediately.
#[test]
fn sighup_kept_master_advertises_at_once_like_keepalived() {
    if !require() {
        return;
    }
    let t = add_peer_reload();
    assert!(
        t < Duration::from_millis(500),
        "new peer yielded after {t:?}"
    );
}

/// The scenario of [`sighup_adding_unicast_peer_reaches_new_peer`]; returns the time from the
/// end of the reload until node1 is the only holder.
fn add_peer_reload() -> Duration {
    let mut lab = lab("addpeer");
    lab.add_node("node3", "eth1", &["10.16.200.13/16"]);
    let mk = |me: &str, prio: u8, peers: Vec<&str>| {
        conf(
            &format!("rk_{prio}"),
            "",
            &[Inst {
                prio,
                vips: vec![format!("{VIP} dev eth1")],
                unicast: Some((me, peers)),
                auth: true,
                ..Inst::default()
            }],
        )
    };
    let (a1, a2, a3) = ("10.16.200.11", "10.16.200.12", "10.16.200.13");
    let all = ["node1", "node2", "node3"];
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(a1, 100, vec![a2]), &[]);
    let t = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        lab.has_addr("node1", "eth1", VIP32)
    });
    assert!(t.is_some(), "node1 not MASTER:\n{}", d1.log());
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(a2, 90, vec![a1, a3]), &[]);
    let d3 = lab.spawn_daemon("node3", &daemon_bin(), &mk(a3, 80, vec![a1, a2]), &[]);
    let split = wait_until(Duration::from_secs(8), Duration::from_millis(20), || {
        lab.holders(&all, "eth1", VIP32) == ["node1", "node3"]
    });
    step(format!(
        "before the reload: holders {:?} ({split:?})",
        lab.holders(&all, "eth1", VIP32)
    ));
    assert!(
        split.is_some(),
        "setup: node3 should be deaf to node1\n--- node3\n{}",
        d3.log()
    );
    let mark = d3.log().len();
    reload(&lab, &d1, &mk(a1, 100, vec![a2, a3]));
    let t0 = Instant::now();
    let one = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        lab.holders(&all, "eth1", VIP32) == ["node1"]
    });
    step(format!(
        "after the reload: holders {:?} after {}",
        lab.holders(&all, "eth1", VIP32),
        secs(t0.elapsed())
    ));
    assert!(
        one.is_some(),
        "node3 still MASTER:\n--- node3\n{}\n--- node1\n{}",
        &d3.log()[mark..],
        d1.log()
    );
    assert!(d3.log()[mark..].contains("Entering BACKUP"));
    assert!(!d2.log().contains("Entering MASTER"));
    one.unwrap_or_default()
}
