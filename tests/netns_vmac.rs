//! `use_vmac` in network namespaces: two nodes with a VMAC (`vrrp.51`, MAC 00:00:5e:00:01:33)
//! on `eth1` and a client on the same bridge.
//!
//! - the MASTER holds the VIP on its VMAC, which is a macvlan in mode private with the
//!   virtual MAC, up on both nodes (keepalived keeps it up in BACKUP too), with keepalived's
//!   sysctls;
//! - a client pinging the VIP learns the virtual MAC; after the MASTER is SIGTERMed the VIP
//!   moves to the other node's VMAC and the client's neighbour entry still resolves to the
//!   same virtual MAC;
//! - adverts and GARPs carry the virtual MAC as Ethernet source (and ARP sender);
//! - SIGTERM removes the VMAC link.
//!
//! Run twice: rkeepalived on both nodes, and rkeepalived against Debian's keepalived 2.2.7.
//! Needs root, tcpdump, tshark (and /usr/sbin/keepalived for the interop case); skips with a
//! printed reason otherwise, and fails instead when `CI` is set.
//! Addresses (only inside the lab's namespaces): n1 10.16.200.11/16, n2 10.16.200.12/16,
//! client 10.16.200.100/16, VIP 10.16.200.200.

mod common;

use std::time::Duration;

use common::interop_ext::{CAPTURE_FILTER, Impl, KEEPALIVED, Peer, spawn_text};
use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until,
};

const VIP: &str = "10.16.200.200";
const VIP32: &str = "10.16.200.200/32";
const VMAC: &str = "vrrp.51";
const VMAC_MAC: &str = "00:00:5e:00:01:33";

fn conf(node: &str, prio: u8) -> String {
    format!(
        "global_defs {{\n    router_id {node}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth1\n    virtual_router_id 51\n\
         \x20   priority {prio}\n    advert_int 1\n    use_vmac\n\
         \x20   virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

fn link_exists(lab: &Lab, node: &str, dev: &str) -> bool {
    lab.exec(node, &["ip", "-o", "link", "show", "dev", dev])
        .status
        .success()
}

fn link_details(lab: &Lab, node: &str, dev: &str) -> String {
    lab.exec_ok(node, &["ip", "-d", "-o", "link", "show", "dev", dev])
}

fn sysctl(lab: &Lab, node: &str, path: &str) -> String {
    lab.exec_ok(node, &["cat", &format!("/proc/sys/net/{path}")])
        .trim()
        .to_string()
}

/// The client's neighbour entry for the VIP: its MAC, if resolved.
fn neigh_mac(lab: &Lab) -> Option<String> {
    let out = lab.exec_ok("client", &["ip", "neigh", "show", VIP, "dev", "eth1"]);
    let t: Vec<&str> = out.split_whitespace().collect();
    t.iter()
        .position(|x| *x == "lladdr")
        .and_then(|i| t.get(i + 1))
        .map(|s| s.to_string())
}

fn logs(peers: &[&Peer]) -> String {
    peers
        .iter()
        .map(|p| format!("--- {} on {}\n{}", p.imp.name(), p.node, p.handle.log()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wait_vip_on(lab: &Lab, node: &str, limit: Duration, peers: &[&Peer]) -> Duration {
    wait_until(limit, Duration::from_millis(20), || {
        link_exists(lab, node, VMAC) && lab.has_addr(node, VMAC, VIP32)
    })
    .unwrap_or_else(|| {
        panic!(
            "{VIP32} not on {node}'s {VMAC} after {limit:?}\n{}",
            logs(peers)
        )
    })
}

fn client_pings_vip_and_resolves_vmac(lab: &Lab, flush: bool) {
    if flush {
        lab.exec_ok("client", &["ip", "neigh", "flush", "dev", "eth1"]);
    }
    let ok = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        lab.ping("client", VIP)
    });
    assert!(ok.is_some(), "client cannot ping {VIP}");
    assert_eq!(
        neigh_mac(lab).as_deref(),
        Some(VMAC_MAC),
        "client's neighbour entry for {VIP}"
    );
}

fn scenario(tag: &str, first: Impl, second: Impl) {
    let mut lab = Lab::new(tag);
    lab.add_node("n1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("n2", "eth1", &["10.16.200.12/16"]);
    lab.add_node("client", "eth1", &["10.16.200.100/16"]);
    // The nodes know the client already: a node answering the client's first ping from the
    // VIP would otherwise ARP for it from eth1 with the VIP as sender, and the client would
    // learn eth1's MAC for the VIP (the kernel's doing, the same with keepalived).
    for n in ["n1", "n2"] {
        assert!(lab.ping(n, "10.16.200.100"), "{n} cannot reach the client");
    }
    let mut cap = lab.capture(lab.lan_ns(), "br0", CAPTURE_FILTER);

    let mut p1 = spawn_text(&lab, "n1", first, &conf("n1", 200));
    let mut p2 = spawn_text(&lab, "n2", second, &conf("n2", 100));
    let t = wait_vip_on(&lab, "n1", Duration::from_secs(10), &[&p1, &p2]);
    step(format!(
        "n1 ({}, prio 200) holds {VIP32} on {VMAC} after {t:?}",
        first.name()
    ));
    assert!(!lab.has_addr("n1", "eth1", VIP32), "VIP on eth1 too");

    // Both nodes have the VMAC: macvlan private on eth1, virtual MAC, up (BACKUP too).
    let ok = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        link_exists(&lab, "n2", VMAC)
    });
    assert!(ok.is_some(), "no {VMAC} on n2\n{}", logs(&[&p1, &p2]));
    for n in ["n1", "n2"] {
        let d = link_details(&lab, n, VMAC);
        step(format!(
            "{n}: {}",
            d.split_whitespace().take(20).collect::<Vec<_>>().join(" ")
        ));
        assert!(d.contains(&format!("{VMAC}@eth1")), "{n}: {d}");
        assert!(d.contains(&format!("link/ether {VMAC_MAC}")), "{n}: {d}");
        assert!(d.contains("macvlan mode private"), "{n}: {d}");
        assert!(d.contains("UP,LOWER_UP"), "{n}: {d}");
        assert!(d.contains("addrgenmode none"), "{n}: {d}");
    }
    assert!(!lab.has_addr("n2", VMAC, VIP32), "n2 holds the VIP too");
    // keepalived 2.2.7's sysctls (observed), on the rkeepalived node(s) (and the same on
    // keepalived's).
    for (path, want) in [
        ("ipv4/conf/vrrp.51/arp_ignore", "1"),
        ("ipv4/conf/vrrp.51/accept_local", "1"),
        ("ipv4/conf/vrrp.51/rp_filter", "0"),
        ("ipv6/conf/vrrp.51/disable_ipv6", "1"),
        ("ipv4/conf/eth1/arp_ignore", "1"),
        ("ipv4/conf/eth1/arp_filter", "1"),
    ] {
        for n in ["n1", "n2"] {
            assert_eq!(sysctl(&lab, n, path), want, "{n} {path}");
        }
    }

    client_pings_vip_and_resolves_vmac(&lab, true);
    step(format!("client resolves {VIP} to {VMAC_MAC}"));
    // The BACKUP hears the MASTER's adverts (sent from the same virtual MAC as its own VMAC,
    // so the kernel hands them to its VMAC only): it stays BACKUP well past its
    // master-down interval (3 × 1 s + skew).
    let flip = wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        link_exists(&lab, "n2", VMAC) && lab.has_addr("n2", VMAC, VIP32)
    });
    assert!(flip.is_none(), "n2 took the VIP too\n{}", logs(&[&p1, &p2]));
    assert_eq!(
        p1.state().as_deref(),
        Some("MASTER"),
        "{}",
        logs(&[&p1, &p2])
    );
    assert_eq!(
        p2.state().as_deref(),
        Some("BACKUP"),
        "{}",
        logs(&[&p1, &p2])
    );

    step("SIGTERM n1");
    p1.term();
    let t = wait_vip_on(&lab, "n2", Duration::from_secs(5), &[&p1, &p2]);
    step(format!(
        "n2 ({}) holds {VIP32} on {VMAC} after {t:?}",
        second.name()
    ));
    p1.wait_stopped();
    assert!(
        !link_exists(&lab, "n1", VMAC),
        "n1's {VMAC} left after SIGTERM\n{}",
        p1.handle.log()
    );
    // No flush: the entry learnt from n1 still resolves, to the same virtual MAC.
    client_pings_vip_and_resolves_vmac(&lab, false);
    step(format!(
        "client still resolves {VIP} to {VMAC_MAC} after the failover"
    ));

    p2.stop();
    assert!(
        !link_exists(&lab, "n2", VMAC),
        "n2's {VMAC} left after SIGTERM"
    );

    // On the wire: every advert and every GARP for the VIP came from the virtual MAC.
    let vrrp = cap.fields("vrrp", &["eth.src", "ip.src", "vrrp.prio"]);
    let garps = cap.fields(
        &format!("arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP}"),
        &["eth.src", "arp.src.hw_mac"],
    );
    for src in ["10.16.200.11", "10.16.200.12"] {
        let from: Vec<&Vec<String>> = vrrp.iter().filter(|r| r[1] == src).collect();
        assert!(!from.is_empty(), "no advert from {src}: {vrrp:?}");
        assert!(
            from.iter().all(|r| r[0] == VMAC_MAC),
            "adverts from {src} not from {VMAC_MAC}: {from:?}"
        );
    }
    assert!(garps.len() >= 2, "GARPs for {VIP}: {garps:?}");
    assert!(
        garps.iter().all(|r| r[0] == VMAC_MAC && r[1] == VMAC_MAC),
        "GARPs not from {VMAC_MAC}: {garps:?}"
    );
    step(format!(
        "{} adverts and {} GARPs, all from {VMAC_MAC}",
        vrrp.len(),
        garps.len()
    ));
}

#[test]
fn two_nodes_use_vmac_failover_keeps_the_virtual_mac_and_sigterm_removes_the_vmac() {
    if !(require_root_or_skip() && require_tools_or_skip(&["tcpdump", "tshark", "setpriv"])) {
        return;
    }
    scenario("vmac", Impl::Rk, Impl::Rk);
}

#[test]
fn interop_use_vmac_with_keepalived_2_2_7() {
    if !(require_root_or_skip()
        && require_tools_or_skip(&["tcpdump", "tshark", "setpriv", KEEPALIVED]))
    {
        return;
    }
    // rkeepalived MASTER, keepalived BACKUP takes over; then the other way round (our
    // BACKUP hears keepalived's adverts from the same virtual MAC on its own VMAC).
    scenario("vmacka", Impl::Rk, Impl::Ka);
    scenario("vmacka2", Impl::Ka, Impl::Rk);
}

fn conf_plain(node: &str) -> String {
    conf(node, 200).replace("    use_vmac\n", "")
}

/// Rewrites the node's config and sends SIGHUP; returns when the log shows the reload ended.
fn reload(lab: &Lab, d: &DaemonHandle, conf_text: &str) {
    let before = d.count_log("Reload complete");
    lab.install_etc_file(d.node(), "keepalived.conf", conf_text, 0o644);
    d.signal(Signal::SIGHUP);
    let ok = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        d.count_log("Reload complete") > before
    });
    assert!(ok.is_some(), "reload did not complete:\n{}", d.log());
}

/// One node, like keepalived 2.2.7 was observed to behave: a VMAC deleted by hand while
/// MASTER is re-created (FAULT, then BACKUP, then MASTER again); a reload that drops
/// `use_vmac` deletes the VMAC and the VIP comes back on eth1; a reload that adds it creates
/// it again; `-V` leaves the VMAC (and the VIP) in place at exit.
#[test]
fn vmac_recreated_after_manual_delete_follows_reloads_and_stays_with_dont_release() {
    if !require_root_or_skip() {
        return;
    }
    let mut lab = Lab::new("vmacre");
    lab.add_node("n1", "eth1", &["10.16.200.11/16"]);
    let mut d = lab.spawn_daemon("n1", &daemon_bin(), &conf("n1", 200), &["-V"]);
    let on = |dev: &str, limit| {
        wait_until(limit, Duration::from_millis(20), || {
            link_exists(&lab, "n1", dev) && lab.has_addr("n1", dev, VIP32)
        })
    };
    assert!(on(VMAC, Duration::from_secs(10)).is_some(), "{}", d.log());
    step("MASTER with the VIP on vrrp.51; deleting vrrp.51 by hand");
    lab.exec_ok("n1", &["ip", "link", "del", VMAC]);
    let t = on(VMAC, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("VMAC not re-created / VIP not back:\n{}", d.log()));
    step(format!("vrrp.51 re-created, VIP back on it after {t:?}"));
    let log = d.log();
    let fault = log
        .find("Entering FAULT")
        .expect("FAULT after the deletion");
    assert!(
        log[fault..].contains("Success creating VMAC interface vrrp.51"),
        "{log}"
    );

    reload(&lab, &d, &conf_plain("n1"));
    let ok = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        !link_exists(&lab, "n1", VMAC)
    });
    assert!(
        ok.is_some(),
        "VMAC left after a reload without use_vmac:\n{}",
        d.log()
    );
    assert!(on("eth1", Duration::from_secs(10)).is_some(), "{}", d.log());
    step("reload without use_vmac: vrrp.51 deleted, VIP on eth1");

    reload(&lab, &d, &conf("n1", 200));
    assert!(on(VMAC, Duration::from_secs(10)).is_some(), "{}", d.log());
    assert!(!lab.has_addr("n1", "eth1", VIP32));
    step("reload with use_vmac: vrrp.51 back with the VIP");

    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(5)).is_some());
    assert!(link_exists(&lab, "n1", VMAC), "-V: the VMAC must stay");
    assert!(lab.has_addr("n1", VMAC, VIP32), "-V: the VIP must stay");
    step("-V: vrrp.51 and the VIP left in place at exit");
}
