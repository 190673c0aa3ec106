//! The seed story's lab and configs, shared by the namespace tests (netns_seed, interop_*).
//!
//! Addresses (only inside the lab's namespaces): node1 10.16.200.11/16, node2 10.16.200.12/16,
//! client 10.16.200.100/16 on `eth1`; VIP 10.16.200.200 (label eth1:1).

use super::netns::{
    Capture, DaemonHandle, Lab, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until,
};
use std::path::Path;
use std::time::Duration;

pub const VIP: &str = "10.16.200.200";
pub const VIP32: &str = "10.16.200.200/32";
pub const NODES: [&str; 2] = ["node1", "node2"];
pub const NODE1_CONF: &str = include_str!("../../config/demo/node1.conf");
pub const NODE2_CONF: &str = include_str!("../../config/demo/node2.conf");
pub const CHECKNG: &str = include_str!("../../config/demo/checkng.sh");

/// VRRPv2 skew time of a priority (RFC 3768: (256 - prio) / 256 s).
pub fn skew(prio: u32) -> Duration {
    Duration::from_micros(u64::from(256 - prio) * 1_000_000 / 256)
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn can_run() -> bool {
    require_root_or_skip()
        && require_tools_or_skip(&["nginx", "curl", "ping", "tcpdump", "tshark", "setpriv"])
}

/// Lab with node1/node2 (nginx serving their names) and a client.
pub fn seed_lab(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    lab.add_node("client", "eth1", &["10.16.200.100/16"]);
    for n in NODES {
        lab.install_etc_file(n, "checkng.sh", CHECKNG, 0o755);
        lab.start_nginx(n, n);
    }
    lab
}

/// A short config in the seed's shape (unicast, PASS auth, nopreempt, VIP with label) but
/// advert_int 1 and no track script, for the takeover tests.
pub fn fast_conf(prio: u32, src: &str, peer: &str) -> String {
    conf(prio, Some((src, peer)), true)
}

/// The seed's instance with advert_int 1 and no track script: unicast from `src` to `peer`
/// if given (else multicast to 224.0.0.18), with or without `nopreempt`.
pub fn conf(prio: u32, unicast: Option<(&str, &str)>, nopreempt: bool) -> String {
    let nopreempt = if nopreempt { "    nopreempt\n" } else { "" };
    let unicast = unicast
        .map(|(src, peer)| {
            format!("    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n")
        })
        .unwrap_or_default();
    format!(
        "global_defs {{\n    router_id rk_fast\n}}\n\
         vrrp_instance VI_FAST {{\n    state BACKUP\n{nopreempt}    interface eth1\n\
         \x20   virtual_router_id 76\n    priority {prio}\n    advert_int 1\n\
         \x20   authentication {{\n        auth_type PASS\n        auth_pass dWc4Tddl\n    }}\n\
         \x20   virtual_ipaddress {{\n        {VIP} dev eth1 label eth1:1\n    }}\n\
         {unicast}}}\n"
    )
}

/// Asserts exactly `node` holds the VIP as /32 with label eth1:1 and the client reaches it.
pub fn assert_serving(lab: &Lab, node: &str) {
    assert_eq!(
        lab.holders(&NODES, "eth1", VIP32),
        vec![node.to_string()],
        "VIP holders"
    );
    assert_eq!(
        lab.label_of(node, "eth1", VIP32).as_deref(),
        Some("eth1:1"),
        "VIP label"
    );
    assert!(lab.ping("client", VIP), "client cannot ping the VIP");
    let page = lab.fetch("client", &format!("http://{VIP}/"));
    assert_eq!(page.as_deref(), Some(node), "page fetched through the VIP");
    step(format!(
        "  VIP {VIP32} (label eth1:1) on {node} only; client ping ok; GET / -> {page:?}"
    ));
}

/// Starts node1 with the daemon under test and waits for it to take the VIP; returns
/// (handle, startup-to-MASTER time).
pub fn start_first_master(lab: &Lab, conf: &str, limit: Duration) -> (DaemonHandle, Duration) {
    start_master(lab, "node1", &daemon_bin(), conf, limit)
}

/// Starts `bin` on `node` and waits for it to take the VIP (panics at once if the daemon
/// exits); returns (handle, startup-to-MASTER time).
pub fn start_master(
    lab: &Lab,
    node: &str,
    bin: &Path,
    conf: &str,
    limit: Duration,
) -> (DaemonHandle, Duration) {
    step(format!("start {} on {node}", bin.display()));
    let mut d1 = lab.spawn_daemon(node, bin, conf, &[]);
    let t = wait_until(limit, Duration::from_millis(50), || {
        !d1.is_running() || lab.has_addr(node, "eth1", VIP32)
    });
    if let Some(st) = d1.wait_exit(Duration::ZERO) {
        panic!("the daemon on {node} exited ({st}); log:\n{}", d1.log());
    }
    let t = t.unwrap_or_else(|| {
        panic!(
            "{node} did not take the VIP within {limit:?}; log:\n{}",
            d1.log()
        )
    });
    step(format!("  {node} MASTER (VIP set) {} after start", secs(t)));
    (d1, t)
}

/// Counts the gratuitous ARPs for the VIP (ARP requests with sender = target = VIP, to the
/// broadcast MAC) sent with `node`'s MAC in the capture (which is stopped).
pub fn count_garps(lab: &Lab, cap: &mut Capture, node: &str) -> usize {
    let mac = lab.mac_of(node, "eth1");
    let rows = cap.fields(
        &format!("arp.opcode == 1 && arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP}"),
        &["frame.time_relative", "arp.src.hw_mac", "eth.dst"],
    );
    for r in &rows {
        step(format!("    GARP: {}", r.join(" ")));
    }
    let n = rows
        .iter()
        .filter(|r| r.get(1).map(|m| m.eq_ignore_ascii_case(&mac)) == Some(true))
        .count();
    assert!(
        rows.iter()
            .all(|r| r.get(2).map(String::as_str) == Some("ff:ff:ff:ff:ff:ff")),
        "GARPs must be broadcast"
    );
    n
}
