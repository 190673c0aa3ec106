//! Elections and failovers of the daemon in network namespaces: three nodes in multicast mode,
//! VRRPv3 over IPv6 and over IPv4 with a 100 ms advert interval, a VIP deleted by hand, and a
//! master whose interface goes down.
//!
//! Needs root; skips with a printed reason otherwise, and fails instead when `CI` is set.
//! Addresses (only inside the lab's namespaces): nodeN 10.16.200.1N/16 on `eth1`; VIP
//! 10.16.200.200, IPv6 VIPs fe80::200:1 and fd00::200 (prefix 64).

mod common;

use std::time::{Duration, Instant};

use common::daemon_ext::{Inst, conf, log_after_nth};
use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until,
};

const VIP: &str = "10.16.200.200";
const VIP32: &str = "10.16.200.200/32";

fn can_run(tools: &[&str]) -> bool {
    require_root_or_skip() && require_tools_or_skip(tools)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn addr_of(node: &str) -> String {
    format!("10.16.200.1{}", &node[node.len() - 1..])
}

/// Lab with `nodes` (named node1, node2, ...).
fn lab(tag: &str, nodes: &[&str]) -> Lab {
    let mut lab = Lab::new(tag);
    for n in nodes {
        lab.add_node(n, "eth1", &[&format!("{}/16", addr_of(n))]);
    }
    lab
}

/// Waits until exactly `want` holds `cidr` among `nodes` (or panics with every log).
fn wait_sole_holder(
    lab: &Lab,
    nodes: &[&str],
    cidr: &str,
    want: &str,
    limit: Duration,
    ds: &[&DaemonHandle],
) -> Duration {
    wait_until(limit, Duration::from_millis(10), || {
        lab.holders(nodes, "eth1", cidr) == [want]
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = ds
            .iter()
            .map(|d| format!("--- {}\n{}", d.node(), d.log()))
            .collect();
        panic!(
            "{want} is not the sole holder of {cidr} after {limit:?} (holders {:?})\n{}",
            lab.holders(nodes, "eth1", cidr),
            logs.join("\n")
        )
    })
}

/// Asserts that for `hold`, the holders of `cidr` stay exactly `[want]`.
fn assert_stays(lab: &Lab, nodes: &[&str], cidr: &str, want: &str, hold: Duration) {
    let bad = wait_until(hold, Duration::from_millis(50), || {
        lab.holders(nodes, "eth1", cidr) != [want]
    });
    assert!(
        bad.is_none(),
        "holders of {cidr} changed to {:?} {bad:?} into a {hold:?} hold",
        lab.holders(nodes, "eth1", cidr)
    );
}

/// Three nodes (priorities 100, 150, 200), multicast, all `state BACKUP`, started together:
/// the highest wins; after it is SIGTERMed, the next highest takes over.
#[test]
fn three_nodes_multicast_elect_highest_then_next() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2", "node3"];
    let lab = lab("three", &nodes);
    let mk = |prio| {
        conf(
            "rk_three",
            "",
            &[Inst {
                prio,
                vips: vec![format!("{VIP} dev eth1")],
                ..Inst::default()
            }],
        )
    };
    let t0 = Instant::now();
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(150), &[]);
    let mut d3 = lab.spawn_daemon("node3", &daemon_bin(), &mk(200), &[]);
    let ds = [&d1, &d2, &d3];
    let t = wait_sole_holder(&lab, &nodes, VIP32, "node3", Duration::from_secs(10), &ds);
    step(format!(
        "node3 (prio 200) sole holder {} after start",
        secs(t)
    ));
    assert_stays(&lab, &nodes, VIP32, "node3", Duration::from_secs(3));
    for d in [&d1, &d2] {
        assert!(
            !d.log().contains("Entering MASTER"),
            "{} became MASTER:\n{}",
            d.node(),
            d.log()
        );
    }
    let t_start = t0.elapsed();

    step("SIGTERM node3");
    d3.signal(Signal::SIGTERM);
    let t = wait_sole_holder(&lab, &nodes, VIP32, "node2", Duration::from_secs(3), &ds);
    step(format!(
        "node2 (prio 150) sole holder {} after SIGTERM of node3",
        secs(t)
    ));
    // Priority 0 advert: node2 takes over within its skew time (106/256 s) plus scheduling.
    assert!(t < Duration::from_millis(1500), "takeover took {t:?}");
    assert!(d3.wait_exit(Duration::from_secs(5)).is_some());
    assert_stays(&lab, &nodes, VIP32, "node2", Duration::from_secs(3));
    assert!(
        !d1.log().contains("Entering MASTER"),
        "node1 became MASTER:\n{}",
        d1.log()
    );
    step(format!(
        "  (initial election settled within {})",
        secs(t_start)
    ));
}

/// Waits until `dev` in `node` has a non-tentative IPv6 link-local address.
fn wait_ipv6_ll(lab: &Lab, node: &str) {
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let all = lab.exec_ok(node, &["ip", "-6", "-o", "addr", "show", "dev", "eth1"]);
        all.contains("fe80::") && !all.contains("tentative")
    });
    assert!(ok.is_some(), "{node}: no usable IPv6 link-local address");
}

/// VRRPv3 over IPv6 (multicast ff02::12): the higher priority elects itself, holds both IPv6
/// VIPs and announces them with unsolicited NAs; SIGTERM moves them to the peer.
#[test]
fn vrrpv3_ipv6_elects_and_fails_over_with_unsolicited_na() {
    if !can_run(&["tcpdump", "tshark"]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("v6", &nodes);
    for n in nodes {
        wait_ipv6_ll(&lab, n);
    }
    let (ll, ula) = ("fe80::200:1/64", "fd00::200/64");
    let mk = |prio| {
        conf(
            "rk_v6",
            "",
            &[Inst {
                name: "VI_6",
                prio,
                vrid: 61,
                version: Some(3),
                vips: vec![
                    "fe80::200:1/64 dev eth1".into(),
                    "fd00::200/64 dev eth1".into(),
                ],
                ..Inst::default()
            }],
        )
    };
    let mut cap = lab.capture(lab.lan_ns(), "br0", "icmp6 or ip6 proto 112");
    let mut d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    let t = wait_sole_holder(
        &lab,
        &nodes,
        ula,
        "node1",
        Duration::from_secs(10),
        &[&d1, &d2],
    );
    step(format!("node1 holds {ula} {} after start", secs(t)));
    assert!(lab.has_addr("node1", "eth1", ll), "{ll} not on node1");
    assert_stays(&lab, &nodes, ula, "node1", Duration::from_secs(2));
    assert!(!lab.has_addr("node2", "eth1", ll));

    step("SIGTERM node1");
    d1.signal(Signal::SIGTERM);
    let t = wait_sole_holder(
        &lab,
        &nodes,
        ula,
        "node2",
        Duration::from_secs(3),
        &[&d1, &d2],
    );
    step(format!("node2 holds {ula} {} after SIGTERM", secs(t)));
    assert!(lab.has_addr("node2", "eth1", ll), "{ll} not on node2");
    assert!(d1.wait_exit(Duration::from_secs(5)).is_some());
    // tcpdump hands packets over in ring blocks retired after up to 1 s; stopping it sooner
    // loses the last packets.
    std::thread::sleep(Duration::from_millis(1500));

    let (m1, m2) = (lab.mac_of("node1", "eth1"), lab.mac_of("node2", "eth1"));
    let adverts = cap.fields(
        "vrrp",
        &["eth.src", "vrrp.version", "vrrp.prio", "ipv6.dst"],
    );
    let nas = cap.fields(
        "icmpv6.type == 136 && icmpv6.nd.na.target_address == fd00::200",
        &["eth.src", "ipv6.dst", "icmpv6.nd.na.flag.o"],
    );
    step(format!(
        "  {} VRRP adverts on the wire (first {:?}); NAs for fd00::200: {:?}",
        adverts.len(),
        adverts.first(),
        nas
    ));
    assert!(
        adverts
            .iter()
            .all(|r| r[1] == "3" && r[3].eq_ignore_ascii_case("ff02::12")),
        "adverts must be VRRPv3 to ff02::12: {adverts:?}"
    );
    assert!(
        adverts
            .iter()
            .any(|r| r[0].eq_ignore_ascii_case(&m1) && r[2] == "0"),
        "no priority 0 advert from node1 on SIGTERM"
    );
    let from = |mac: &str| {
        nas.iter()
            .filter(|r| r[0].eq_ignore_ascii_case(mac))
            .count()
    };
    assert!(from(&m1) >= 1, "no unsolicited NA from node1 as MASTER");
    assert!(from(&m2) >= 1, "no unsolicited NA from node2 as MASTER");
    assert!(
        nas.iter()
            .all(|r| r[1].eq_ignore_ascii_case("ff02::1") && r[2] == "1"),
        "unsolicited NAs go to ff02::1 with the Override flag: {nas:?}"
    );
}

/// VRRPv3 over IPv4 with advert_int 0.1: after a SIGKILL of the master, the backup takes over
/// after its master-down interval (3 x 0.1 s + skew), measured and printed.
#[test]
fn vrrpv3_ipv4_fast_adverts_sigkill_failover() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("v3fast", &nodes);
    let mk = |prio| {
        conf(
            "rk_v3fast",
            "",
            &[Inst {
                name: "VI_FAST",
                prio,
                vrid: 33,
                version: Some(3),
                advert: "0.1",
                vips: vec![format!("{VIP} dev eth1")],
                ..Inst::default()
            }],
        )
    };
    let mut d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    let t = wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node1",
        Duration::from_secs(5),
        &[&d1, &d2],
    );
    step(format!("node1 MASTER {} after start", secs(t)));
    assert_stays(&lab, &nodes, VIP32, "node1", Duration::from_secs(2));

    let mut times = Vec::new();
    step("SIGKILL node1");
    d1.kill();
    let t0 = Instant::now();
    let _ = lab.exec("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let took = wait_until(Duration::from_secs(3), Duration::from_millis(2), || {
        lab.has_addr("node2", "eth1", VIP32)
    })
    .unwrap_or_else(|| panic!("node2 did not take over:\n{}", d2.log()));
    let _ = t0;
    times.push(took);
    // RFC 5798 §6.1: Master_Down_Interval = 3 x 10 cs + (256 - 90) x 10 / 256 cs = 0.365 s.
    let down = Duration::from_micros(300_000 + 166 * 100_000 / 256);
    step(format!(
        "  node2 holds the VIP {} after SIGKILL (master-down interval {})",
        secs(took),
        secs(down)
    ));
    assert!(
        took >= down - Duration::from_millis(110),
        "takeover {took:?} sooner than the master-down interval allows"
    );
    assert!(
        took < Duration::from_millis(1500),
        "takeover {took:?} far beyond the master-down interval {down:?}"
    );
    assert!(d2.log().contains("Entering MASTER"));
}

/// Master (node1) and backup (node2) over unicast with PASS auth; `vip_opts` appended to the
/// VIP line.
fn pair(tag: &str, vip_opts: &str, nopreempt: bool) -> (Lab, DaemonHandle, DaemonHandle) {
    pair_with(tag, vip_opts, nopreempt, "")
}

/// [`pair`] with extra `global_defs` lines.
fn pair_with(
    tag: &str,
    vip_opts: &str,
    nopreempt: bool,
    globals: &str,
) -> (Lab, DaemonHandle, DaemonHandle) {
    let lab = lab(tag, &["node1", "node2"]);
    let mk = |prio, me: &str, peer: &str| {
        conf(
            "rk_pair",
            globals,
            &[Inst {
                prio,
                nopreempt,
                vips: vec![format!("{VIP} dev eth1{vip_opts}")],
                unicast: Some((&addr_of(me), vec![&addr_of(peer)])),
                auth: true,
                ..Inst::default()
            }],
        )
    };
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100, "node1", "node2"), &[]);
    wait_sole_holder(
        &lab,
        &["node1", "node2"],
        VIP32,
        "node1",
        Duration::from_secs(10),
        &[&d1],
    );
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90, "node2", "node1"), &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(lab.holders(&["node1", "node2"], "eth1", VIP32), ["node1"]);
    (lab, d1, d2)
}

/// keepalived compat: a VIP deleted by hand on the MASTER makes it leave MASTER (it goes
/// BACKUP); the pair then recovers to exactly one holder.
#[test]
fn vip_deleted_by_hand_master_leaves_and_group_recovers() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let (lab, d1, d2) = pair("vipdel", "", false);
    let masters_before = d1.count_log("Entering MASTER");
    step("ip addr del the VIP on node1");
    lab.exec_ok("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let t0 = Instant::now();
    d1.wait_log("Entering BACKUP STATE", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("node1 did not leave MASTER: {e}"));
    step(format!("  node1 left MASTER after {}", secs(t0.elapsed())));
    // Recovery: node1 (priority 100, preempting) ends up MASTER again, alone.
    let t = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        lab.holders(&nodes, "eth1", VIP32).len() == 1
            && d1.count_log("Entering MASTER") > masters_before
    })
    .unwrap_or_else(|| {
        panic!(
            "no recovery: holders {:?}\n--- node1\n{}\n--- node2\n{}",
            lab.holders(&nodes, "eth1", VIP32),
            d1.log(),
            d2.log()
        )
    });
    let holder = lab.holders(&nodes, "eth1", VIP32)[0].clone();
    step(format!(
        "  recovered: {holder} sole holder {} after the delete",
        secs(t)
    ));
    assert_stays(&lab, &nodes, VIP32, &holder, Duration::from_secs(3));
}

/// A `no_track` VIP deleted by hand does not make the MASTER leave (and is not re-added).
#[test]
fn no_track_vip_deleted_by_hand_master_stays() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let (lab, d1, d2) = pair("notrack", " no_track", false);
    let log_len = d1.log().len();
    lab.exec_ok("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    std::thread::sleep(Duration::from_secs(4));
    let log = d1.log();
    let after = &log[log_len..];
    step(format!("node1 log after the delete:\n{after}"));
    assert!(!after.contains("Entering"), "node1 changed state:\n{after}");
    assert!(
        !d2.log().contains("Entering MASTER"),
        "node2 took over:\n{}",
        d2.log()
    );
    assert!(lab.holders(&nodes, "eth1", VIP32).is_empty());
}

/// A MASTER whose interface goes down goes FAULT and the peer takes over; when the link
/// returns it comes back as BACKUP (nopreempt keeps the VIP on the peer).
#[test]
fn link_down_master_goes_fault_peer_takes_over_link_up_backup() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let (lab, d1, d2) = pair("linkdown", "", true);
    step("ip link set eth1 down on node1");
    lab.exec_ok("node1", &["ip", "link", "set", "eth1", "down"]);
    let t0 = Instant::now();
    d1.wait_log("Entering FAULT STATE", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    let fault = t0.elapsed();
    let took = wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node2",
        Duration::from_secs(6),
        &[&d1, &d2],
    );
    step(format!(
        "  node1 FAULT after {}; node2 sole holder {} after link down (master-down interval 3.65 s)",
        secs(fault),
        secs(took)
    ));
    assert!(!lab.has_addr("node1", "eth1", VIP32));

    let log_len = d1.log().len();
    step("ip link set eth1 up on node1");
    lab.exec_ok("node1", &["ip", "link", "set", "eth1", "up"]);
    let t0 = Instant::now();
    let ok = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        d1.log()[log_len..].contains("Entering")
    });
    assert!(ok.is_some(), "node1 did not leave FAULT:\n{}", d1.log());
    let log = d1.log();
    let first = log[log_len..]
        .lines()
        .find(|l| l.contains("Entering"))
        .unwrap_or("")
        .to_string();
    step(format!("  node1 after {}: {first}", secs(t0.elapsed())));
    assert!(
        first.contains("Entering BACKUP"),
        "first state after FAULT: {first}"
    );
    assert_stays(&lab, &nodes, VIP32, "node2", Duration::from_secs(4));
    assert!(
        !log_after_nth(&log, "Entering BACKUP", 1).contains("Entering MASTER"),
        "node1 became MASTER after the link returned"
    );
}

/// keepalived 2.2.7 (observed in this lab with `RK_DAEMON=/usr/sbin/keepalived`): a MASTER
/// that loses a VIP by hand logs "Entering BACKUP STATE", **sends a priority 0 advert**, and
/// re-takes MASTER after its skew time (0.61 s for priority 100) — before the peer, which got
/// the priority 0 advert and waits its own, longer skew (0.65 s for 90). So exactly one node
/// holds the VIP at any time and the VIP is back in well under a second.
#[test]
fn vip_deleted_by_hand_priority_0_advert_and_single_holder_like_keepalived() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let (lab, d1, d2) = pair("vipdel0", "", false);
    let masters_before = d1.count_log("Entering MASTER");
    lab.exec_ok("node1", &["ip", "addr", "del", VIP32, "dev", "eth1"]);
    let t0 = Instant::now();
    let mut max_holders = 0;
    let back = wait_until(Duration::from_secs(6), Duration::from_millis(5), || {
        let h = lab.holders(&nodes, "eth1", VIP32);
        max_holders = max_holders.max(h.len());
        h == ["node1"] && d1.count_log("Entering MASTER") > masters_before
    });
    step(format!(
        "VIP back on node1 after {back:?}; at most {max_holders} holder(s) at once"
    ));
    assert!(
        d2.wait_log("priority 0", Duration::from_secs(1)).is_ok(),
        "node2 saw no priority 0 advert from node1 leaving MASTER:\n{}",
        d2.log()
    );
    assert!(back.is_some(), "node1 did not recover:\n{}", d1.log());
    assert!(
        t0.elapsed() < Duration::from_millis(2000),
        "recovery took {:?} (keepalived: ~0.6 s)",
        t0.elapsed()
    );
    assert!(max_holders <= 1, "two holders at once (dual MASTER)");
    assert!(
        !d2.log().contains("Entering MASTER"),
        "node2 became MASTER:\n{}",
        d2.log()
    );
}

/// Reads one instance's counter from a keepalived.stats text (`section` "Advertisements",
/// `key` "Received"/"Sent").
fn stat_of(stats: &str, inst: &str, key: &str) -> u64 {
    let block: Vec<&str> = stats
        .lines()
        .skip_while(|l| *l != format!("VRRP Instance: {inst}"))
        .skip(1)
        .take_while(|l| !l.starts_with("VRRP Instance:"))
        .collect();
    block
        .iter()
        .skip_while(|l| !l.contains("Advertisements:"))
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} for {inst} in:\n{stats}"))
}

/// Writes keepalived.stats (SIGUSR2) of a daemon started with TMPDIR=`tmp` and returns it.
fn stats_now(d: &DaemonHandle, tmp: &std::path::Path) -> String {
    let p = tmp.join("keepalived.stats");
    let _ = std::fs::remove_file(&p);
    d.signal(Signal::SIGUSR2);
    wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        p.exists()
    })
    .expect("keepalived.stats not written");
    std::thread::sleep(Duration::from_millis(50));
    std::fs::read_to_string(&p).expect("read stats")
}

/// Three instances on one interface, IPv4 / IPv6 / IPv4 in that order: each advert is received
/// once (the backup's "Received" matches the master's "Sent"), so the two IPv4 instances share
/// one receive socket instead of opening it twice.
#[test]
fn interleaved_families_on_one_interface_receive_each_advert_once() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("interleave", &nodes);
    for n in nodes {
        wait_ipv6_ll(&lab, n);
    }
    let mk = |prio| {
        conf(
            "rk_mix",
            "",
            &[
                Inst {
                    name: "VI_A4",
                    prio,
                    vrid: 1,
                    vips: vec!["10.16.200.201 dev eth1".into()],
                    ..Inst::default()
                },
                Inst {
                    name: "VI_B6",
                    prio,
                    vrid: 2,
                    version: Some(3),
                    vips: vec!["fe80::200:2/64 dev eth1".into()],
                    ..Inst::default()
                },
                Inst {
                    name: "VI_C4",
                    prio,
                    vrid: 3,
                    vips: vec!["10.16.200.203 dev eth1".into()],
                    ..Inst::default()
                },
            ],
        )
    };
    let mut ds = Vec::new();
    let mut tmps = Vec::new();
    for (n, prio) in [("node1", 100), ("node2", 90)] {
        let tmp = common::daemon_ext::node_tmp(&lab, n);
        let w = common::daemon_ext::env_wrapper(
            &lab.node_dir(n),
            "tmp-env",
            &daemon_bin(),
            &[("TMPDIR", &tmp.to_string_lossy())],
        );
        ds.push(lab.spawn_daemon(n, &w, &mk(prio), &[]));
        tmps.push(tmp);
        if n == "node1" {
            wait_sole_holder(
                &lab,
                &nodes,
                "10.16.200.203/32",
                "node1",
                Duration::from_secs(10),
                &[&ds[0]],
            );
        }
    }
    ds[1]
        .wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_secs(4));
    // Backup first: everything it counted was sent before the master's snapshot.
    let s2 = stats_now(&ds[1], &tmps[1]);
    let s1 = stats_now(&ds[0], &tmps[0]);
    for inst in ["VI_A4", "VI_B6", "VI_C4"] {
        let (sent, rcvd) = (stat_of(&s1, inst, "Sent"), stat_of(&s2, inst, "Received"));
        step(format!("{inst}: node1 sent {sent}, node2 received {rcvd}"));
        assert!(sent >= 3, "{inst}: master sent only {sent}");
        assert!(
            rcvd <= sent,
            "{inst}: backup counted {rcvd} adverts of the {sent} sent (duplicate receive sockets?)"
        );
        assert!(
            rcvd + 2 >= sent,
            "{inst}: backup missed adverts ({rcvd} of {sent})"
        );
    }
    assert!(!ds[1].log().contains("Entering MASTER"));
}

/// The MASTER's interface is deleted (FAULT, the peer takes over after its master-down
/// interval) and then created again with a new ifindex: the instance leaves FAULT as BACKUP
/// and, with nopreempt, stays BACKUP — it receives the peer's adverts on the new interface.
#[test]
fn interface_deleted_and_recreated_master_goes_fault_then_backup() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let (lab, d1, d2) = pair_with("ifdel", "", true, "    dynamic_interfaces\n");
    step("ip link del eth1 on node1");
    lab.exec_ok("node1", &["ip", "link", "del", "eth1"]);
    d1.wait_log("FAULT", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    // node1 has no eth1 now (`holders` cannot ask it).
    let took = wait_until(Duration::from_secs(6), Duration::from_millis(10), || {
        lab.has_addr("node2", "eth1", VIP32)
    })
    .unwrap_or_else(|| panic!("node2 did not take over:\n{}", d2.log()));
    step(format!(
        "  node1 FAULT; node2 sole holder {} after the delete",
        secs(took)
    ));

    let mark = d1.log().len();
    step("re-create node1's eth1 (new veth pair)");
    let lan = lab.lan_ns().to_string();
    let ns = lab.ns("node1").to_string();
    for args in [
        vec![
            "-n", &lan, "link", "add", "p-node1", "type", "veth", "peer", "name", "eth1", "netns",
            &ns,
        ],
        vec!["-n", &lan, "link", "set", "p-node1", "master", "br0", "up"],
        vec!["-n", &ns, "addr", "add", "10.16.200.11/16", "dev", "eth1"],
        vec!["-n", &ns, "link", "set", "eth1", "up"],
    ] {
        let st = std::process::Command::new("ip")
            .args(&args)
            .status()
            .expect("ip");
        assert!(st.success(), "ip {args:?}");
    }
    let t0 = Instant::now();
    let back = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        d1.log()[mark..].contains("Entering")
    });
    let log = d1.log();
    let first = log[mark..]
        .lines()
        .find(|l| l.contains("Entering"))
        .unwrap_or("")
        .to_string();
    step(format!("  node1 after {}: {first}", secs(t0.elapsed())));
    assert!(back.is_some(), "node1 did not leave FAULT:\n{log}");
    assert!(
        first.contains("Entering BACKUP"),
        "first state after FAULT: {first}"
    );
    assert_stays(&lab, &nodes, VIP32, "node2", Duration::from_secs(5));
    assert!(
        !log[mark..].contains("Entering MASTER"),
        "node1 became MASTER: it does not hear node2 on the new interface:\n{}",
        &log[mark..]
    );
}

/// VRRPv3 over IPv6 through a link flap of the MASTER: `ip link set eth1 down` also removes
/// the IPv6 link-local address (FAULT, the peer takes over); after `up` the link-local comes
/// back (after DAD) and the instance returns as BACKUP and, with nopreempt, stays BACKUP — it
/// hears the peer's ff02::12 adverts again.
#[test]
fn vrrpv3_ipv6_link_flap_fault_then_backup() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("v6flap", &nodes);
    for n in nodes {
        wait_ipv6_ll(&lab, n);
    }
    let ula = "fd00::200/64";
    let mk = |prio| {
        conf(
            "rk_v6flap",
            "",
            &[Inst {
                name: "VI_6",
                prio,
                vrid: 62,
                version: Some(3),
                nopreempt: true,
                vips: vec![
                    "fe80::200:1/64 dev eth1".into(),
                    "fd00::200/64 dev eth1".into(),
                ],
                ..Inst::default()
            }],
        )
    };
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    wait_sole_holder(&lab, &nodes, ula, "node1", Duration::from_secs(10), &[&d1]);
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lab.holders(&nodes, "eth1", ula), ["node1"]);

    lab.exec_ok("node1", &["ip", "link", "set", "eth1", "down"]);
    d1.wait_log("FAULT", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = wait_until(Duration::from_secs(6), Duration::from_millis(10), || {
        lab.has_addr("node2", "eth1", ula)
    })
    .unwrap_or_else(|| panic!("node2 did not take over:\n{}", d2.log()));
    step(format!(
        "node1 FAULT; node2 holds {ula} {} after link down",
        secs(took)
    ));
    let mark = d1.log().len();
    lab.exec_ok("node1", &["ip", "link", "set", "eth1", "up"]);
    let t0 = Instant::now();
    let back = wait_until(Duration::from_secs(8), Duration::from_millis(20), || {
        d1.log()[mark..].contains("Entering")
    });
    let log = d1.log();
    let first = log[mark..]
        .lines()
        .find(|l| l.contains("Entering"))
        .unwrap_or("")
        .to_string();
    step(format!(
        "  node1 after link up, {}: {first}",
        secs(t0.elapsed())
    ));
    assert!(back.is_some(), "node1 did not leave FAULT:\n{log}");
    assert!(
        first.contains("Entering BACKUP"),
        "first state after FAULT: {first}"
    );
    assert_stays(&lab, &nodes, ula, "node2", Duration::from_secs(5));
    assert!(
        !log[mark..].contains("Entering MASTER"),
        "node1 became MASTER after the flap (deaf to node2?):\n{}",
        &log[mark..]
    );
}

/// The MASTER's only IPv4 address is deleted (multicast mode, no unicast_src_ip): the instance
/// has no source address and goes FAULT ("no IPv4 address for interface"), the peer takes
/// over; when the address returns the instance comes back as BACKUP (nopreempt: stays).
#[test]
fn master_losing_its_only_ipv4_address_goes_fault_and_returns_backup() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("noaddr", &nodes);
    let mk = |prio| {
        conf(
            "rk_noaddr",
            "",
            &[Inst {
                prio,
                nopreempt: true,
                vips: vec![format!("{VIP} dev eth1")],
                ..Inst::default()
            }],
        )
    };
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node1",
        Duration::from_secs(10),
        &[&d1],
    );
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));

    step("ip addr del 10.16.200.11/16 on node1");
    lab.exec_ok(
        "node1",
        &["ip", "addr", "del", "10.16.200.11/16", "dev", "eth1"],
    );
    d1.wait_log("FAULT", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node2",
        Duration::from_secs(6),
        &[&d1, &d2],
    );
    step(format!(
        "  node1 FAULT; node2 sole holder {} after the delete",
        secs(took)
    ));

    let mark = d1.log().len();
    lab.exec_ok(
        "node1",
        &["ip", "addr", "add", "10.16.200.11/16", "dev", "eth1"],
    );
    let back = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        d1.log()[mark..].contains("Entering")
    });
    let log = d1.log();
    let first = log[mark..]
        .lines()
        .find(|l| l.contains("Entering"))
        .unwrap_or("")
        .to_string();
    step(format!("  node1 after the address returned: {first}"));
    assert!(back.is_some(), "node1 did not leave FAULT:\n{log}");
    assert!(
        first.contains("Entering BACKUP"),
        "first state after FAULT: {first}"
    );
    assert_stays(&lab, &nodes, VIP32, "node2", Duration::from_secs(5));
}

/// keepalived 2.2.7 (observed here with `RK_DAEMON=/usr/sbin/keepalived`): the MASTER that
/// loses its only address logs "Entering FAULT STATE" then "sent 0 priority" — the priority 0
/// advert still goes out (from the address it had) and the peer takes over after its skew
/// time (~0.66 s) instead of the master-down interval (~3.65 s).
#[test]
fn master_losing_its_address_sends_priority_0_like_keepalived() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("noaddr0", &nodes);
    let mk = |prio| {
        conf(
            "rk_noaddr",
            "",
            &[Inst {
                prio,
                vips: vec![format!("{VIP} dev eth1")],
                ..Inst::default()
            }],
        )
    };
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node1",
        Duration::from_secs(10),
        &[&d1],
    );
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));
    lab.exec_ok(
        "node1",
        &["ip", "addr", "del", "10.16.200.11/16", "dev", "eth1"],
    );
    let took = wait_until(Duration::from_secs(6), Duration::from_millis(10), || {
        lab.has_addr("node2", "eth1", VIP32)
    })
    .unwrap_or_else(|| panic!("node2 did not take over:\n{}", d2.log()));
    step(format!(
        "node2 holds the VIP {} after node1 lost its address",
        secs(took)
    ));
    assert!(
        d2.log().contains("priority 0"),
        "node2 got no priority 0 advert:\n--- node1\n{}",
        d1.log()
    );
    assert!(took < Duration::from_millis(2000), "takeover {took:?}");
}

/// `track_interface` (weight 0) on a second interface: when it goes down the MASTER goes
/// FAULT and the peer takes over; when it comes back the instance returns as BACKUP.
#[test]
fn track_interface_down_faults_master() {
    if !can_run(&[]) {
        return;
    }
    let nodes = ["node1", "node2"];
    let lab = lab("trackif", &nodes);
    for n in nodes {
        // (no dummy driver on every kernel: a veth pair inside the node)
        lab.exec_ok(
            n,
            &[
                "ip", "link", "add", "eth2", "type", "veth", "peer", "name", "eth2p",
            ],
        );
        lab.exec_ok(n, &["ip", "link", "set", "eth2p", "up"]);
        lab.exec_ok(n, &["ip", "link", "set", "eth2", "up"]);
    }
    let mk = |prio| {
        conf(
            "rk_trackif",
            "",
            &[Inst {
                prio,
                nopreempt: true,
                vips: vec![format!("{VIP} dev eth1")],
                extra: "    track_interface {\n        eth2\n    }\n",
                ..Inst::default()
            }],
        )
    };
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &mk(100), &[]);
    wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node1",
        Duration::from_secs(10),
        &[&d1],
    );
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &mk(90), &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "down"]);
    d1.wait_log("FAULT", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = wait_sole_holder(
        &lab,
        &nodes,
        VIP32,
        "node2",
        Duration::from_secs(3),
        &[&d1, &d2],
    );
    step(format!(
        "eth2 down: node1 FAULT, node2 sole holder {} later",
        secs(took)
    ));
    assert!(
        d2.log().contains("priority 0"),
        "no priority 0 advert from node1 going FAULT"
    );
    let mark = d1.log().len();
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "up"]);
    let back = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        d1.log()[mark..].contains("Entering")
    });
    let log = d1.log();
    let first = log[mark..]
        .lines()
        .find(|l| l.contains("Entering"))
        .unwrap_or("")
        .to_string();
    step(format!("eth2 up: node1 {first}"));
    assert!(back.is_some(), "node1 did not leave FAULT:\n{log}");
    assert!(
        first.contains("Entering BACKUP"),
        "first state after FAULT: {first}"
    );
    assert_stays(&lab, &nodes, VIP32, "node2", Duration::from_secs(4));
}

/// An instance whose interface does not exist at startup (`dynamic_interfaces`) waits in
/// FAULT; when the interface appears (a new veth on the bridge) it opens its sockets and
/// elects itself.
#[test]
fn interface_created_after_start_instance_comes_up() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("lateif", &["node1"]);
    let c = conf(
        "rk_lateif",
        "    dynamic_interfaces\n",
        &[Inst {
            vips: vec!["10.16.200.200 dev eth3".into()],
            extra: "",
            ..Inst::default()
        }],
    )
    .replace("interface eth1", "interface eth3");
    let d = lab.spawn_daemon("node1", &daemon_bin(), &c, &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !d.log().contains("Entering MASTER"),
        "MASTER without its interface:\n{}",
        d.log()
    );
    let lan = lab.lan_ns().to_string();
    let ns = lab.ns("node1").to_string();
    for args in [
        vec![
            "-n", &lan, "link", "add", "p-n1b", "type", "veth", "peer", "name", "eth3", "netns",
            &ns,
        ],
        vec!["-n", &lan, "link", "set", "p-n1b", "master", "br0", "up"],
        vec!["-n", &ns, "addr", "add", "10.16.200.21/16", "dev", "eth3"],
        vec!["-n", &ns, "link", "set", "eth3", "up"],
    ] {
        let st = std::process::Command::new("ip")
            .args(&args)
            .status()
            .expect("ip");
        assert!(st.success(), "ip {args:?}");
    }
    let t0 = Instant::now();
    let up = wait_until(Duration::from_secs(8), Duration::from_millis(20), || {
        lab.has_addr("node1", "eth3", VIP32)
    });
    step(format!(
        "eth3 created: VIP on it after {:?}",
        up.map(|_| t0.elapsed())
    ));
    assert!(
        up.is_some(),
        "instance did not come up on eth3:\n{}",
        d.log()
    );
}

/// A VIP on another device than the instance's interface (`dev eth2`) is added there and
/// announced with gratuitous ARPs on that device.
#[test]
fn vip_on_other_device_gets_garp_there() {
    if !can_run(&["tcpdump", "tshark"]) {
        return;
    }
    let lab = lab("vipdev", &["node1"]);
    lab.exec_ok(
        "node1",
        &[
            "ip", "link", "add", "eth2", "type", "veth", "peer", "name", "eth2p",
        ],
    );
    lab.exec_ok("node1", &["ip", "link", "set", "eth2p", "up"]);
    lab.exec_ok(
        "node1",
        &["ip", "addr", "add", "10.17.0.1/24", "dev", "eth2"],
    );
    lab.exec_ok("node1", &["ip", "link", "set", "eth2", "up"]);
    let mut cap2 = lab.capture(lab.ns("node1"), "eth2p", "arp");
    let mut cap1 = lab.capture(lab.ns("node1"), "eth1", "arp");
    let c = conf(
        "rk_vipdev",
        "",
        &[Inst {
            vips: vec![format!("{VIP} dev eth1"), "10.17.0.100/32 dev eth2".into()],
            ..Inst::default()
        }],
    );
    let d = lab.spawn_daemon("node1", &daemon_bin(), &c, &[]);
    wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        lab.has_addr("node1", "eth2", "10.17.0.100/32")
    })
    .unwrap_or_else(|| panic!("VIP not on eth2:\n{}", d.log()));
    assert!(lab.has_addr("node1", "eth1", VIP32));
    assert!(!lab.has_addr("node1", "eth1", "10.17.0.100/32"));
    std::thread::sleep(Duration::from_millis(1500));
    let f =
        "arp.opcode == 1 && arp.src.proto_ipv4 == 10.17.0.100 && arp.dst.proto_ipv4 == 10.17.0.100";
    let on2 = cap2.fields(f, &["eth.src"]).len();
    let on1 = cap1.fields(f, &["eth.src"]).len();
    step(format!(
        "GARPs for 10.17.0.100: {on2} on eth2, {on1} on eth1"
    ));
    assert!(on2 >= 1, "no GARP on eth2");
    assert_eq!(on1, 0, "GARP for an eth2 VIP sent on eth1");
}
