//! No accept mode (`vrrp_strict`, `no_accept`) in network namespaces: the MASTER drops traffic
//! to and from its VIPs with nftables, with exactly the tables keepalived 2.2.7 installs (the
//! `nft list ruleset` text of both daemons is compared), updates the sets on reload, and
//! removes the tables at exit.
//!
//! Needs root, `nft` and Debian's keepalived; skips with a printed reason otherwise, and fails
//! instead when `CI` is set. Addresses (only inside the lab's namespaces): node1 10.16.200.11/16,
//! client 10.16.200.50/16 on `eth1`; VIPs 10.16.200.200-202, fe80::200, fd00:16::200.

mod common;

use std::path::Path;
use std::time::Duration;

use common::netns::{
    Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step, wait_until,
};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

fn strict_conf(v4_vips: &str, extra_global: &str) -> String {
    format!(
        "global_defs {{
    router_id fw
    vrrp_garp_master_delay 0
{extra_global}}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth1
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {{
{v4_vips}    }}
}}
vrrp_instance VI_6 {{
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {{
        fe80::200/64
        fd00:16::200/64
    }}
}}
"
    )
}

const V4_VIPS: &str = "        10.16.200.200/16\n        10.16.200.201\n";

fn ruleset(lab: &Lab, node: &str) -> String {
    lab.exec_ok(node, &["nft", "list", "ruleset"])
}

fn lab() -> Lab {
    let mut lab = Lab::new("fw");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("client", "eth1", &["10.16.200.50/16"]);
    lab
}

/// Start `bin` on node1 with `conf`, wait until both instances are MASTER and the ruleset
/// satisfies `ready`, and return the ruleset then.
fn start_masters_until(
    lab: &Lab,
    bin: &Path,
    conf: &str,
    ready: impl Fn(&str) -> bool,
) -> (common::netns::DaemonHandle, String) {
    let d = lab.spawn_daemon("node1", bin, conf, &[]);
    for i in ["VI_1", "VI_6"] {
        d.wait_log(
            &format!("({i}) Entering MASTER STATE"),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    }
    // The set elements follow the VIPs (a netlink round trip later).
    let mut text = String::new();
    wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        text = ruleset(lab, "node1");
        ready(&text)
    })
    .unwrap_or_else(|| panic!("ruleset not complete:\n{text}\n{}", d.log()));
    (d, text)
}

/// [`start_masters_until`] every VIP of [`strict_conf`] is in the sets.
fn start_masters(lab: &Lab, bin: &Path, conf: &str) -> (common::netns::DaemonHandle, String) {
    start_masters_until(lab, bin, conf, |t| {
        t.contains("10.16.200.201") && t.contains("fe80::200")
    })
}

#[test]
fn strict_master_drops_vip_traffic_with_keepalived_s_exact_nftables_rules() {
    if !(require_root_or_skip()
        && require_tools_or_skip(&["ip", "nsenter", "nft", "ping", KEEPALIVED]))
    {
        return;
    }
    let conf = strict_conf(V4_VIPS, "    vrrp_strict\n");

    // keepalived 2.2.7 first: the reference ruleset.
    let ka_rules = {
        let lab = lab();
        let (mut d, text) = start_masters(&lab, Path::new(KEEPALIVED), &conf);
        d.signal(Signal::SIGTERM);
        d.wait_exit(Duration::from_secs(10));
        text
    };
    step(format!("keepalived's ruleset:\n{ka_rules}"));

    let lab = lab();
    let (mut d, text) = start_masters(&lab, &daemon_bin(), &conf);
    assert_eq!(
        text, ka_rules,
        "rkeepalived's ruleset differs from keepalived's"
    );
    // keepalived compat: IPv6 VIPs are added without duplicate address detection.
    let v6 = lab.exec_ok("node1", &["ip", "-6", "addr", "show", "dev", "eth1"]);
    assert!(
        v6.contains("inet6 fd00:16::200/64 scope global nodad"),
        "{v6}"
    );
    // The client cannot reach the VIPs; the node's own address still answers.
    assert!(lab.has_addr("node1", "eth1", "10.16.200.200/16"));
    assert!(
        !lab.ping("client", "10.16.200.200"),
        "VIP answered in strict mode"
    );
    assert!(
        !lab.ping("client", "10.16.200.201"),
        "VIP answered in strict mode"
    );
    assert!(lab.ping("client", "10.16.200.11"));
    step("strict MASTER: VIPs dropped, node address answers");

    // SIGHUP: a VIP leaves (and its set element), another comes in.
    let changed = strict_conf(
        "        10.16.200.200/16\n        10.16.200.202\n",
        "    vrrp_strict\n",
    );
    lab.install_etc_file("node1", "keepalived.conf", &changed, 0o644);
    d.signal(Signal::SIGHUP);
    d.wait_log("Reload complete", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut now = String::new();
    wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        now = ruleset(&lab, "node1");
        now.contains("10.16.200.202") && !now.contains("10.16.200.201")
    })
    .unwrap_or_else(|| panic!("set not updated by the reload:\n{now}"));
    assert!(!lab.ping("client", "10.16.200.202"));

    // SIGTERM: the tables go with the VIPs.
    d.signal(Signal::SIGTERM);
    d.wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no exit; log:\n{}", d.log()));
    assert_eq!(ruleset(&lab, "node1").trim(), "", "tables left behind");
    assert!(!d.log().contains("nftables batch"), "{}", d.log());
}

#[test]
fn without_strict_mode_the_vips_answer_and_no_table_is_made() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter", "nft", "ping"])) {
        return;
    }
    let lab = lab();
    let (mut d, _) = {
        let conf = strict_conf(V4_VIPS, "");
        let d = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
        d.wait_log("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        (d, ())
    };
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(20), || lab
            .ping("client", "10.16.200.200"))
        .is_some(),
        "VIP does not answer in accept mode"
    );
    assert_eq!(ruleset(&lab, "node1").trim(), "");

    // `no_accept` alone (no strict mode) makes the firewall too.
    let conf = strict_conf(V4_VIPS, "").replace(
        "    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        10.16",
        "    priority 100\n    advert_int 1\n    no_accept\n    virtual_ipaddress {\n        10.16",
    );
    assert!(conf.contains("no_accept"));
    d.signal(Signal::SIGTERM);
    d.wait_exit(Duration::from_secs(10));
    let d = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
    d.wait_log("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        ruleset(&lab, "node1").contains("10.16.200.201")
    })
    .unwrap_or_else(|| panic!("no_accept VIPs not blocked:\n{}", ruleset(&lab, "node1")));
    assert!(!lab.ping("client", "10.16.200.200"));
}

#[test]
fn nftables_table_name_priority_and_counters_match_keepalived() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter", "nft", KEEPALIVED])) {
        return;
    }
    let conf = strict_conf(
        V4_VIPS,
        "    vrrp_strict\n    nftables rk_fw\n    nftables_priority -5\n    nftables_counters\n",
    );
    let mut rules = vec![];
    for bin in [Path::new(KEEPALIVED).to_path_buf(), daemon_bin()] {
        let lab = lab();
        let (mut d, text) = start_masters(&lab, &bin, &conf);
        d.signal(Signal::SIGTERM);
        d.wait_exit(Duration::from_secs(10));
        assert_eq!(ruleset(&lab, "node1").trim(), "", "tables left behind");
        // The counters count real packets (an IPv6 link-local advert may or may not have
        // left yet): compare the rules, not the numbers.
        let counted = normalized_counters(&text);
        rules.push(counted);
    }
    step(format!("keepalived's ruleset:\n{}", rules[0]));
    for want in [
        "table ip rk_fw {",
        "table ip6 rk_fw {",
        "priority filter - 5;",
        "ip daddr @vips counter packets N bytes N drop",
    ] {
        assert!(
            rules[0].contains(want),
            "{want:?} not in keepalived's ruleset"
        );
    }
    assert_eq!(
        rules[1], rules[0],
        "rkeepalived's ruleset differs from keepalived's"
    );
}

/// `use_vmac`: keepalived's rules that send a VMAC's IGMP / MLD reports from the parent
/// instead (and drop IPv6 router solicitations from it), alone and with strict mode.
#[test]
fn vmac_rules_match_keepalived_with_and_without_strict_mode() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter", "nft", KEEPALIVED])) {
        return;
    }
    for strict in [false, true] {
        let global = if strict { "    vrrp_strict\n" } else { "" };
        let conf = strict_conf(V4_VIPS, global).replace(
            "    advert_int 1\n    virtual_ipaddress",
            "    advert_int 1\n    use_vmac\n    virtual_ipaddress",
        );
        assert_eq!(conf.matches("use_vmac").count(), 2);
        let mut rules = vec![];
        for bin in [Path::new(KEEPALIVED).to_path_buf(), daemon_bin()] {
            let lab = lab();
            let want = if strict { "10.16.200.201" } else { "vrrp.52" };
            let (mut d, text) = start_masters_until(&lab, &bin, &conf, |t| {
                t.contains(want) && t.contains("fe80::200") == strict
            });
            d.signal(Signal::SIGTERM);
            d.wait_exit(Duration::from_secs(10));
            assert_eq!(ruleset(&lab, "node1").trim(), "", "tables left behind");
            rules.push(text);
        }
        step(format!(
            "keepalived's ruleset (strict {strict}):\n{}",
            rules[0]
        ));
        assert!(rules[0].contains("dup to ip daddr device oif map @vmac_map drop"));
        assert_eq!(
            rules[1], rules[0],
            "rkeepalived's ruleset differs (strict {strict})"
        );
    }
}

/// What the VMAC rules are for: a BACKUP's VMAC joins the VRRP group, and its IGMP report
/// must leave with the parent's MAC, never the virtual one (a switch would learn the virtual
/// MAC on the BACKUP's port).
#[test]
fn vmac_multicast_joins_leave_from_the_parent_mac() {
    if !(require_root_or_skip() && require_tools_or_skip(&["ip", "nsenter", "tshark", "tcpdump"])) {
        return;
    }
    let conf = strict_conf(V4_VIPS, "").replace(
        "    advert_int 1\n    virtual_ipaddress",
        "    advert_int 1\n    use_vmac\n    virtual_ipaddress",
    );
    let lab = lab();
    let mut cap = lab.capture(lab.lan_ns(), "br0", "igmp or icmp6");
    let d = lab.spawn_daemon("node1", &daemon_bin(), &conf, &[]);
    d.wait_log("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    std::thread::sleep(Duration::from_secs(1));
    let parent = lab.mac_of("node1", "eth1");
    cap.stop();
    let rows = cap.fields(
        "igmp || icmpv6.type == 143",
        &["eth.src", "ip.dst", "ipv6.dst"],
    );
    step(format!("listener reports on the wire: {rows:?}"));
    assert!(
        rows.iter().any(|r| r[0] == parent),
        "no listener report from the parent MAC {parent}"
    );
    assert!(
        !rows.iter().any(|r| r[0].starts_with("00:00:5e:00:0")),
        "a listener report left with a virtual MAC: {rows:?}"
    );
}

/// `counter packets 12 bytes 1340` -> `counter packets N bytes N`.
fn normalized_counters(text: &str) -> String {
    let mut out = Vec::new();
    let mut words = text.split(' ').peekable();
    while let Some(w) = words.next() {
        out.push(w.to_string());
        if w == "packets" || w == "bytes" {
            if let Some(n) = words.next() {
                let rest = n.trim_start_matches(|c: char| c.is_ascii_digit());
                out.push(format!("N{rest}"));
            }
        }
    }
    out.join(" ")
}
