//! `virtual_routes` and `virtual_rules` installed by the daemon, in network namespaces: the MASTER has them, the
//! BACKUP does not, and they move with mastership when the master stops (SIGTERM).
//!
//! Needs root; skips with a printed reason otherwise, and fails instead when `CI` is set.
//! Addresses (only inside the lab's namespaces): node1 10.16.200.11/16 + fd00:16::11/64,
//! node2 10.16.200.12/16 + fd00:16::12/64 on `eth1`; VIP 10.16.200.200.

mod common;

use std::time::Duration;

use common::daemon_ext::{Inst, conf};
use common::netns::{
    Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step, wait_until,
};

const VIP32: &str = "10.16.200.200/32";
const ROUTES: &str = "    virtual_routes {
        10.99.0.0/16 via 10.16.200.1 dev eth1
        blackhole 10.98.0.0/16 dev eth1
        2001:db8:99::/48 via fd00:16::1 dev eth1 metric 7
    }
    virtual_rules {
        from 10.16.200.200 table 100 preference 100
        from all to 2001:db8:99::/48 table 100 preference 101
    }
";

/// The virtual rules (`ip rule`) and routes (main table) `node` has, IPv4 and IPv6.
fn routes(lab: &Lab, node: &str) -> Vec<String> {
    let mut out = vec![];
    for fam in ["-4", "-6"] {
        let rules = lab.exec_ok(node, &["ip", fam, "rule", "show"]);
        out.extend(
            rules
                .lines()
                .filter(|l| l.contains("lookup 100"))
                .map(|l| l.trim().replace('\t', " ")),
        );
        let shown = lab.exec_ok(node, &["ip", fam, "route", "show"]);
        out.extend(
            shown
                .lines()
                .filter(|l| l.contains("proto keepalived"))
                .map(|l| l.trim().to_string()),
        );
    }
    out
}

fn expected() -> Vec<String> {
    vec![
        "10.99.0.0/16 via 10.16.200.1 dev eth1 proto keepalived".to_string(),
        "blackhole 10.98.0.0/16 proto keepalived".to_string(),
        "2001:db8:99::/48 via fd00:16::1 dev eth1 proto keepalived metric 7 pref medium"
            .to_string(),
        "100: from 10.16.200.200 lookup 100 proto keepalived".to_string(),
        "101: from all to 2001:db8:99::/48 lookup 100 proto keepalived".to_string(),
    ]
}

fn wait_routes(lab: &Lab, node: &str, want: &[String], limit: Duration) -> Duration {
    let mut sorted = want.to_vec();
    sorted.sort();
    wait_until(limit, Duration::from_millis(20), || {
        let mut r = routes(lab, node);
        r.sort();
        r == sorted
    })
    .unwrap_or_else(|| panic!("{node}: routes {:?}, wanted {want:?}", routes(lab, node)))
}

#[test]
fn virtual_routes_and_rules_follow_mastership_and_leave_on_sigterm() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter"])) {
        return;
    }
    let mut lab = Lab::new("routes");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    for (n, a) in [("node1", "fd00:16::11/64"), ("node2", "fd00:16::12/64")] {
        lab.exec_ok(n, &["ip", "-6", "addr", "add", a, "dev", "eth1", "nodad"]);
    }
    let g = "    vrrp_garp_master_delay 0\n";
    let inst = |state, prio, extra| Inst {
        state,
        prio,
        vips: vec!["10.16.200.200 dev eth1".to_string()],
        extra,
        ..Inst::default()
    };
    let d1 = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &conf("n1", g, &[inst("MASTER", 150, ROUTES)]),
        &[],
    );
    let t = wait_routes(&lab, "node1", &expected(), Duration::from_secs(10));
    step(format!("node1 MASTER with its routes after {t:?}"));
    assert!(lab.has_addr("node1", "eth1", VIP32));
    let mut d2 = lab.spawn_daemon(
        "node2",
        &daemon_bin(),
        &conf("n2", g, &[inst("BACKUP", 100, ROUTES)]),
        &[],
    );
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        routes(&lab, "node2"),
        Vec::<String>::new(),
        "BACKUP has routes"
    );
    assert_eq!(routes(&lab, "node1").len(), 5);

    let mut d1 = d1;
    d1.signal(Signal::SIGTERM);
    d1.wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("node1 did not exit; log:\n{}", d1.log()));
    assert_eq!(
        routes(&lab, "node1"),
        Vec::<String>::new(),
        "routes left behind after SIGTERM; log:\n{}",
        d1.log()
    );
    let t = wait_routes(&lab, "node2", &expected(), Duration::from_secs(10));
    step(format!(
        "node2 took over the routes {t:?} after node1 stopped"
    ));
    assert!(lab.has_addr("node2", "eth1", VIP32));
    assert!(!d2.log().contains("failed to add"), "{}", d2.log());

    // SIGHUP with a changed list on the MASTER: the removed route and rule go, the new route
    // comes, the kept ones stay.
    let changed = "    virtual_routes {
        10.99.0.0/16 via 10.16.200.1 dev eth1
        10.97.0.0/16 via 10.16.200.1 dev eth1
        2001:db8:99::/48 via fd00:16::1 dev eth1 metric 7
    }
    virtual_rules {
        from 10.16.200.200 table 100 preference 100
    }
";
    lab.install_etc_file(
        "node2",
        "keepalived.conf",
        &conf("n2", g, &[inst("BACKUP", 100, changed)]),
        0o644,
    );
    d2.signal(Signal::SIGHUP);
    d2.wait_log("Reload complete", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut want = expected();
    want.retain(|l| !l.contains("10.98.0.0") && !l.starts_with("101:"));
    want.push("10.97.0.0/16 via 10.16.200.1 dev eth1 proto keepalived".to_string());
    let t = wait_routes(&lab, "node2", &want, Duration::from_secs(5));
    step(format!("node2 routes/rules updated {t:?} after the reload"));
    d2.signal(Signal::SIGTERM);
    d2.wait_exit(Duration::from_secs(5));
    assert_eq!(routes(&lab, "node2"), Vec::<String>::new());
}

const STATICS: &str = "static_ipaddress {
    10.16.200.50/16 dev eth1
    fd00:16::50/64 dev eth1
}
static_routes {
    10.96.0.0/16 via 10.16.200.1 dev eth1
}
static_rules {
    from 10.16.200.50 table 100 preference 150
}
";

/// The static items of node1 (only those: the instance's VIP is not listed).
fn statics(lab: &Lab) -> Vec<String> {
    let mut out: Vec<String> = routes(lab, "node1")
        .into_iter()
        .filter(|l| l.contains("10.96.0.0") || l.starts_with("150:"))
        .collect();
    for cidr in ["10.16.200.50/16", "fd00:16::50/64"] {
        if lab.has_addr("node1", "eth1", cidr) {
            out.push(cidr.to_string());
        }
    }
    out.sort();
    out
}

fn wait_statics(lab: &Lab, want: &[&str], limit: Duration) -> Duration {
    let mut sorted: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    wait_until(limit, Duration::from_millis(20), || statics(lab) == sorted)
        .unwrap_or_else(|| panic!("static items {:?}, wanted {sorted:?}", statics(lab)))
}

#[test]
fn static_items_are_installed_at_start_restored_reloaded_and_removed_at_sigterm() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter"])) {
        return;
    }
    let mut lab = Lab::new("statics");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    let g = "    vrrp_garp_master_delay 0\n";
    let inst = Inst {
        state: "BACKUP",
        prio: 100,
        vips: vec!["10.16.200.200 dev eth1".to_string()],
        ..Inst::default()
    };
    let all = [
        "10.16.200.50/16",
        "fd00:16::50/64",
        "10.96.0.0/16 via 10.16.200.1 dev eth1 proto keepalived",
        "150: from 10.16.200.50 lookup 100 proto keepalived",
    ];
    let text = format!("{}{STATICS}", conf("n1", g, std::slice::from_ref(&inst)));
    let mut d1 = lab.spawn_daemon("node1", &daemon_bin(), &text, &["-V"]);
    // Installed at start, before (and whatever) the VRRP state.
    let t = wait_statics(&lab, &all, Duration::from_secs(5));
    step(format!("static items installed {t:?} after start"));
    d1.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!lab.has_addr("node1", "eth1", VIP32), "BACKUP has the VIP");

    // A static address deleted by hand is put back at once (keepalived does the same).
    lab.exec_ok(
        "node1",
        &["ip", "addr", "del", "10.16.200.50/16", "dev", "eth1"],
    );
    let t = wait_statics(&lab, &all, Duration::from_secs(2));
    step(format!("deleted static address restored after {t:?}"));
    d1.wait_log(
        "Restoring deleted static address 10.16.200.50/16",
        Duration::from_secs(1),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // SIGHUP with the IPv6 address and the rule gone, the route deleted by hand meanwhile:
    // the removed items go, the route is re-added.
    lab.exec_ok("node1", &["ip", "route", "del", "10.96.0.0/16"]);
    let fewer = "static_ipaddress {
    10.16.200.50/16 dev eth1
}
static_routes {
    10.96.0.0/16 via 10.16.200.1 dev eth1
}
";
    lab.install_etc_file(
        "node1",
        "keepalived.conf",
        &format!("{}{fewer}", conf("n1", g, std::slice::from_ref(&inst))),
        0o644,
    );
    d1.signal(Signal::SIGHUP);
    d1.wait_log("Reload complete", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = wait_statics(&lab, &[all[0], all[2]], Duration::from_secs(5));
    step(format!("static items updated {t:?} after the reload"));

    // SIGTERM with -V (keep the VIPs): the static items leave anyway, as with keepalived.
    d1.wait_log("Entering MASTER STATE", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    d1.signal(Signal::SIGTERM);
    d1.wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("node1 did not exit; log:\n{}", d1.log()));
    assert_eq!(statics(&lab), Vec::<String>::new(), "log:\n{}", d1.log());
    assert!(lab.has_addr("node1", "eth1", VIP32), "-V keeps the VIP");
    assert!(!d1.log().contains("failed"), "{}", d1.log());
}
