//! The seed story in network namespaces: two daemons on one bridge, nginx on each node, a
//! client fetching the page through the VIP.
//!
//! The daemon under test is the crate's own binary, or `$RK_DAEMON` (e.g.
//! `RK_DAEMON=/usr/sbin/keepalived cargo test --test netns_seed -- --nocapture --test-threads=1`
//! proves the harness and the expectations against Debian's keepalived). Needs root; skips
//! with a printed reason otherwise, and fails instead when `CI` is set.
//!
//! Addresses (only inside the lab's namespaces): node1 10.16.200.11/16, node2 10.16.200.12/16,
//! client 10.16.200.100/16 on `eth1`; VIP 10.16.200.200 (label eth1:1).

mod common;

use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until,
};
use common::seed::*;
use std::time::Duration;

#[test]
fn harness_isolates_nodes() {
    if !require_root_or_skip() || !require_tools_or_skip(&["nginx", "curl", "setpriv"]) {
        return;
    }
    let host_etc_before: Vec<_> = std::fs::read_dir("/etc/keepalived")
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let (ns, dir);
    {
        let mut lab = Lab::new("iso");
        lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
        lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
        ns = lab.ns("node1").to_string();
        dir = lab.node_dir("node1");
        for n in NODES {
            lab.install_etc_file(n, "checkng.sh", CHECKNG, 0o755);
        }
        lab.start_nginx("node1", "node1");
        // ps is per node: node2's check must not see node1's nginx.
        assert!(lab.nginx_count("node1") >= 1);
        assert_eq!(lab.nginx_count("node2"), 0);
        let check = |n| lab.exec(n, &["/etc/keepalived/checkng.sh"]).status.code();
        assert_eq!(
            check("node1"),
            Some(0),
            "seed check on node1 (nginx running)"
        );
        assert_eq!(check("node2"), Some(1), "seed check on node2 (no nginx)");
        lab.stop_nginx("node1");
        assert_eq!(
            check("node1"),
            Some(1),
            "seed check on node1 after nginx stopped"
        );
        // /etc/keepalived inside a node is the node's own directory.
        let inside = lab.exec_ok("node2", &["ls", "/etc/keepalived"]);
        assert_eq!(inside.trim(), "checkng.sh");
        // The LAN works and the nodes have their addresses on eth1.
        assert!(lab.has_addr("node1", "eth1", "10.16.200.11/16"));
        assert_eq!(
            lab.label_of("node1", "eth1", "10.16.200.11/16").as_deref(),
            Some("eth1")
        );
        assert!(lab.ping("node2", "10.16.200.11"), "node2 cannot ping node1");
        lab.start_nginx("node1", "hello from node1");
        assert_eq!(
            lab.fetch("node2", "http://10.16.200.11/").as_deref(),
            Some("hello from node1")
        );
    }
    let host_etc_after: Vec<_> = std::fs::read_dir("/etc/keepalived")
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(
        host_etc_before, host_etc_after,
        "host /etc/keepalived changed"
    );
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&ns),
        "namespace {ns} left behind"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// The seed's two configs, as adapted for the lab, pass `-t` on their nodes (exit 0: the
/// script is secure, eth1 exists).
#[test]
fn seed_configs_pass_config_test() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("cfg");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    for (node, conf) in [("node1", NODE1_CONF), ("node2", NODE2_CONF)] {
        lab.install_etc_file(node, "checkng.sh", CHECKNG, 0o755);
        let out = lab.config_test(node, &daemon_bin(), conf);
        let err = String::from_utf8_lossy(&out.stderr);
        step(format!("  {node}: -t -> {} {}", out.status, err.trim()));
        assert_eq!(out.status.code(), Some(0), "{node}: -t failed: {err}");
    }
}

/// The seed's story with its exact configs and timing: node1 (prio 100) serves; nginx stops on
/// node1; after `fall` (5) failed checks, every `interval` (10 s), node1 goes FAULT and node2
/// serves; nginx comes back on node1, and nopreempt keeps the VIP on node2.
#[test]
fn seed_story_nginx_failover_and_nopreempt() {
    if !can_run() {
        return;
    }
    let (advert, interval, fall) = (Duration::from_secs(2), Duration::from_secs(10), 5u32);
    let lab = seed_lab("seed");
    step("nginx running on node1 and node2");
    // 3 x advert_int + skew, plus the first check run and process start-up.
    let (_d1, _) = start_first_master(&lab, NODE1_CONF, Duration::from_secs(15));
    step("start the daemon on node2");
    let _d2 = lab.spawn_daemon("node2", &daemon_bin(), NODE2_CONF, &[]);
    std::thread::sleep(Duration::from_secs(3));
    assert_serving(&lab, "node1");

    step("stop nginx on node1");
    lab.stop_nginx("node1");
    let stopped = std::time::Instant::now();
    // The first failing run is at most one interval after the stop; `fall` failures later node1
    // is FAULT (priority 0 advert), and node2 takes over within its skew time.
    let limit = interval * fall + skew(90) + Duration::from_secs(1);
    let mut premature = None;
    let moved = wait_until(
        limit + Duration::from_secs(5),
        Duration::from_millis(100),
        || {
            let h = lab.holders(&NODES, "eth1", VIP32);
            if h.len() != 1 || (h[0] == "node2" && stopped.elapsed() < interval * (fall - 1)) {
                premature.get_or_insert((stopped.elapsed(), h.clone()));
            }
            h == ["node2"]
        },
    )
    .expect("VIP did not move to node2");
    step(format!(
        "  VIP moved to node2 {} after nginx stopped (limit fall x interval + skew + 1 s = {})",
        secs(moved),
        secs(limit)
    ));
    if let Some((t, h)) = premature {
        // Both/no holders for a moment during the handover is a failure too (split brain).
        assert!(
            h.is_empty() && moved - t < Duration::from_secs(1),
            "bad VIP holders {h:?} at {t:?} after the stop"
        );
    }
    assert!(moved <= limit, "failover took {moved:?} > {limit:?}");
    assert!(
        moved >= interval * (fall - 1) - Duration::from_secs(1),
        "failover after {moved:?}: before {fall} checks could have failed"
    );
    assert_serving(&lab, "node2");

    step("start nginx on node1 again (nopreempt: the VIP must stay on node2)");
    lab.start_nginx("node1", "node1");
    let hold = advert * 3 + interval * 2;
    let left = wait_until(hold, Duration::from_millis(250), || {
        lab.holders(&NODES, "eth1", VIP32) != ["node2"]
    });
    assert!(
        left.is_none(),
        "VIP left node2 {left:?} after nginx came back on node1"
    );
    step(format!("  VIP stayed on node2 for {}", secs(hold)));
    assert_serving(&lab, "node2");
}

/// Fast pair: node1 prio 100 MASTER, node2 prio 90 BACKUP (advert_int 1, no scripts); a
/// capture of ARP on the bridge runs from before the takeover.
fn fast_pair(tag: &str) -> (Lab, DaemonHandle, DaemonHandle) {
    let lab = seed_lab(tag);
    let (d1, _) = start_first_master(
        &lab,
        &fast_conf(100, "10.16.200.11", "10.16.200.12"),
        Duration::from_secs(10),
    );
    step("start the daemon on node2");
    let d2 = lab.spawn_daemon(
        "node2",
        &daemon_bin(),
        &fast_conf(90, "10.16.200.12", "10.16.200.11"),
        &[],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&lab, "node1");
    (lab, d1, d2)
}

/// SIGTERM on the master: it sends a priority 0 advert and drops the VIP; the backup takes over
/// within its skew time (plus scheduling), and announces the VIP with gratuitous ARPs.
#[test]
fn sigterm_master_backup_takes_over_within_skew() {
    if !can_run() {
        return;
    }
    let (lab, mut d1, _d2) = fast_pair("term");
    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp");
    step("SIGTERM the daemon on node1");
    d1.signal(Signal::SIGTERM);
    let limit = skew(90) + Duration::from_secs(1);
    let took = wait_until(
        limit + Duration::from_secs(3),
        Duration::from_millis(20),
        || lab.holders(&NODES, "eth1", VIP32) == ["node2"],
    )
    .unwrap_or_else(|| {
        panic!(
            "node2 did not take over; node2 holds: {}",
            lab.has_addr("node2", "eth1", VIP32)
        )
    });
    step(format!(
        "  node2 owns the VIP alone {} after SIGTERM (limit skew + 1 s = {})",
        secs(took),
        secs(limit)
    ));
    assert!(
        took <= limit,
        "takeover after SIGTERM took {took:?} > {limit:?}"
    );
    let st = d1
        .wait_exit(Duration::from_secs(10))
        .expect("node1 daemon did not exit after SIGTERM");
    step(format!("  node1 daemon exited: {st}"));
    assert!(st.success(), "node1 daemon exit status after SIGTERM: {st}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&lab, "node2");
    let garps = count_garps(&lab, &mut cap, "node2");
    step(format!(
        "  {garps} gratuitous ARPs for {VIP} from node2 on the wire"
    ));
    // keepalived compat: garp_master_repeat defaults to 5 GARPs at once on becoming MASTER.
    assert!(
        garps >= 5,
        "{garps} gratuitous ARPs from the new master, expected 5"
    );
}

/// SIGKILL on the master (every process of it): no priority 0 advert, so the backup takes over
/// when its master-down timer (3 x advert_int + skew) expires.
#[test]
fn sigkill_master_backup_takes_over_within_master_down_interval() {
    if !can_run() {
        return;
    }
    let (lab, mut d1, _d2) = fast_pair("kill");
    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp");
    step("SIGKILL the daemon on node1 (and its children)");
    d1.kill();
    // A SIGKILLed daemon leaves its VIP behind (nobody removes it): remove it by hand, as a
    // dead machine would; what matters is when node2 claims it.
    let _ = lab.exec("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let down = Duration::from_secs(3) + skew(90);
    let limit = down + Duration::from_secs(1);
    let took = wait_until(
        limit + Duration::from_secs(3),
        Duration::from_millis(20),
        || lab.has_addr("node2", "eth1", VIP32),
    )
    .expect("node2 did not take over after SIGKILL of node1");
    step(format!(
        "  node2 owns the VIP {} after SIGKILL (master-down interval {}; limit {})",
        secs(took),
        secs(down),
        secs(limit)
    ));
    assert!(
        took <= limit,
        "takeover after SIGKILL took {took:?} > {limit:?}"
    );
    // The last advert was at most one advert_int before the kill.
    assert!(
        took >= down - Duration::from_secs(1) - Duration::from_millis(100),
        "takeover after {took:?}: sooner than the master-down timer allows"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&lab, "node2");
    let garps = count_garps(&lab, &mut cap, "node2");
    step(format!(
        "  {garps} gratuitous ARPs for {VIP} from node2 on the wire"
    ));
    // keepalived compat: garp_master_repeat defaults to 5 GARPs at once on becoming MASTER.
    assert!(
        garps >= 5,
        "{garps} gratuitous ARPs from the new master, expected 5"
    );
}
