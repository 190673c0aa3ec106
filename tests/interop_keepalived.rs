//! Interop in network namespaces: the daemon under test (the crate's binary, or `$RK_DAEMON`)
//! paired with Debian's keepalived (`$RK_PEER`, default /usr/sbin/keepalived) on one bridge,
//! in both roles, with the seed's instance shape (PASS auth, VIP with label, unicast or
//! multicast). With `RK_DAEMON=/usr/sbin/keepalived` this is keepalived against itself, which
//! proves the expectations. Needs root; skips with a printed reason otherwise (fails under CI;
//! also skips, or fails under CI, when keepalived is not installed).

mod common;

use common::netns::{Lab, Signal, daemon_bin, require_tools_or_skip, step, wait_until};
use common::seed::*;
use std::path::PathBuf;
use std::time::Duration;

fn peer_bin() -> PathBuf {
    std::env::var_os("RK_PEER")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/keepalived"))
}

fn can_run_interop() -> bool {
    can_run() && require_tools_or_skip(&[&peer_bin().to_string_lossy()])
}

const U1: Option<(&str, &str)> = Some(("10.16.200.11", "10.16.200.12"));
const U2: Option<(&str, &str)> = Some(("10.16.200.12", "10.16.200.11"));

/// Watches for `d` that exactly `node` holds the VIP the whole time.
fn assert_steady(lab: &Lab, node: &str, d: Duration) {
    let changed = wait_until(d, Duration::from_millis(100), || {
        lab.holders(&NODES, "eth1", VIP32) != [node]
    });
    assert!(
        changed.is_none(),
        "VIP holders changed to {:?} after {changed:?} (expected {node} alone)",
        lab.holders(&NODES, "eth1", VIP32)
    );
    step(format!("  {node} alone held the VIP for {}", secs(d)));
}

/// Ours (prio 100) MASTER, keepalived (prio 90) BACKUP; SIGTERM ours: keepalived takes over at
/// once (priority 0 advert); ours restarted with nopreempt stays BACKUP.
#[test]
fn interop_ours_master_keepalived_backup_unicast() {
    if !can_run_interop() {
        return;
    }
    let lab = seed_lab("ia");
    let (mut d1, _) = start_master(
        &lab,
        "node1",
        &daemon_bin(),
        &conf(100, U1, true),
        Duration::from_secs(10),
    );
    step(format!("start {} on node2", peer_bin().display()));
    let _d2 = lab.spawn_daemon("node2", &peer_bin(), &conf(90, U2, true), &[]);
    // keepalived's own down timer is 3 x 1 + 0.65 s: it must hear our adverts.
    assert_steady(&lab, "node1", Duration::from_secs(5));
    assert_serving(&lab, "node1");

    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp");
    step("SIGTERM ours on node1");
    d1.signal(Signal::SIGTERM);
    let limit = skew(90) + Duration::from_secs(1);
    let took = wait_until(
        limit + Duration::from_secs(3),
        Duration::from_millis(20),
        || lab.holders(&NODES, "eth1", VIP32) == ["node2"],
    )
    .expect("keepalived did not take over after SIGTERM of ours");
    step(format!(
        "  keepalived owns the VIP {} after SIGTERM (limit {})",
        secs(took),
        secs(limit)
    ));
    assert!(took <= limit, "takeover took {took:?} > {limit:?}");
    let st = d1
        .wait_exit(Duration::from_secs(10))
        .expect("ours did not exit after SIGTERM");
    assert!(st.success(), "exit status after SIGTERM: {st}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&lab, "node2");
    assert!(count_garps(&lab, &mut cap, "node2") >= 5);

    step("restart ours on node1 (nopreempt: keepalived keeps the VIP)");
    let _d1 = lab.spawn_daemon("node1", &daemon_bin(), &conf(100, U1, true), &[]);
    assert_steady(&lab, "node2", Duration::from_secs(6));
    assert_serving(&lab, "node2");
}

/// keepalived (prio 100) MASTER, ours (prio 90) BACKUP; SIGKILL keepalived: ours takes over
/// after its master-down interval and announces the VIP with 5 gratuitous ARPs.
#[test]
fn interop_keepalived_master_ours_backup_unicast() {
    if !can_run_interop() {
        return;
    }
    let lab = seed_lab("ib");
    let (mut d1, _) = start_master(
        &lab,
        "node1",
        &peer_bin(),
        &conf(100, U1, true),
        Duration::from_secs(10),
    );
    step(format!("start {} on node2", daemon_bin().display()));
    let mut d2 = lab.spawn_daemon("node2", &daemon_bin(), &conf(90, U2, true), &[]);
    assert_steady(&lab, "node1", Duration::from_secs(5));
    assert!(d2.is_running(), "ours exited:\n{}", d2.log());
    assert_serving(&lab, "node1");

    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp");
    step("SIGKILL keepalived on node1");
    d1.kill();
    let _ = lab.exec("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let down = Duration::from_secs(3) + skew(90);
    let limit = down + Duration::from_secs(1);
    let took = wait_until(
        limit + Duration::from_secs(3),
        Duration::from_millis(20),
        || lab.has_addr("node2", "eth1", VIP32),
    )
    .expect("ours did not take over after SIGKILL of keepalived");
    step(format!(
        "  ours owns the VIP {} after SIGKILL (master-down interval {}; limit {})",
        secs(took),
        secs(down),
        secs(limit)
    ));
    assert!(took <= limit, "takeover took {took:?} > {limit:?}");
    assert!(
        took >= down - Duration::from_millis(1100),
        "takeover after {took:?}: sooner than the master-down timer allows"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&lab, "node2");
    let garps = count_garps(&lab, &mut cap, "node2");
    step(format!("  {garps} gratuitous ARPs from ours"));
    assert!(garps >= 5, "{garps} gratuitous ARPs, expected 5");
}

/// Multicast (no unicast_peer), preemptive: keepalived (prio 90) is MASTER first; ours
/// (prio 100) starts, preempts it after its down timer, and keepalived yields.
#[test]
fn interop_multicast_ours_preempts_keepalived() {
    if !can_run_interop() {
        return;
    }
    let lab = seed_lab("ic");
    let (_d2, _) = start_master(
        &lab,
        "node2",
        &peer_bin(),
        &conf(90, None, false),
        Duration::from_secs(10),
    );
    step(format!(
        "start {} on node1 (prio 100, preemptive)",
        daemon_bin().display()
    ));
    let mut d1 = lab.spawn_daemon("node1", &daemon_bin(), &conf(100, None, false), &[]);
    // Ours discards the lower-priority adverts and claims after 3 x 1 + skew(100) s.
    let limit = Duration::from_secs(3) + skew(100) + Duration::from_secs(2);
    let took = wait_until(limit, Duration::from_millis(50), || {
        !d1.is_running() || lab.holders(&NODES, "eth1", VIP32) == ["node1"]
    });
    assert!(d1.is_running(), "ours exited:\n{}", d1.log());
    let took = took.unwrap_or_else(|| {
        panic!(
            "ours did not preempt within {limit:?}; holders {:?}",
            lab.holders(&NODES, "eth1", VIP32)
        )
    });
    step(format!(
        "  ours preempted keepalived {} after start",
        secs(took)
    ));
    assert_steady(&lab, "node1", Duration::from_secs(4));
    assert_serving(&lab, "node1");
}
