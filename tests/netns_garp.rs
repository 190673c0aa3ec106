//! `garp_group` in network namespaces: the GARPs and unsolicited NAs of a new MASTER on an
//! interface of a `garp_group`, measured on the wire for Debian's keepalived 2.2.7 and for
//! rkeepalived with the same config.
//!
//! Needs root, tcpdump and tshark (and keepalived for the comparison); skips with a printed
//! reason otherwise, and fails instead when `CI` is set. Addresses (only inside the lab's
//! namespaces): node1 10.16.200.11/16 on `eth1`; VIPs 10.16.200.200-202, fd00::200-201.

mod common;

use std::time::Duration;

use common::interop_ext::KEEPALIVED;
use common::netns::{Lab, daemon_bin, require_root_or_skip, require_tools_or_skip, step};

/// Two instances on eth1 (IPv4 VI_1 with 3 VIPs, IPv6 VI_6 with 2), both MASTER alone on the
/// LAN, 2 announcements per VIP at once and no second block; eth1 in a garp_group that paces
/// GARPs every 0.2 s and NAs every 0.3 s.
const CONF: &str = "\
global_defs {
    router_id rk_garp
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 2
}
garp_group {
    garp_interval 0.2
    gna_interval 0.3
    interface eth1
}
vrrp_instance VI_1 {
    interface eth1
    state MASTER
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.16.200.200/16
        10.16.200.201/16
        10.16.200.202/16
    }
}
vrrp_instance VI_6 {
    interface eth1
    state MASTER
    virtual_router_id 52
    priority 200
    advert_int 1
    virtual_ipaddress {
        fd00::200/64
        fd00::201/64
    }
}
";

/// (epoch seconds, address) of every GARP (ARP request, sender = target) and every
/// unsolicited NA to ff02::1 in the capture, split by family.
type Announcements = (Vec<(f64, String)>, Vec<(f64, String)>);

fn announcements(bin: &std::path::Path) -> Announcements {
    let mut lab = Lab::new("garpgrp");
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp or icmp6");
    let mut d = lab.spawn_daemon("node1", bin, CONF, &[]);
    // BACKUP for 3 adverts + skew, then MASTER; the last NA is due 0.6 s after that.
    std::thread::sleep(Duration::from_secs(7));
    d.kill();
    let rows = |cap: &mut common::netns::Capture, filter: &str, field: &str| {
        cap.fields(filter, &["frame.time_epoch", field])
            .into_iter()
            .filter_map(|r| Some((r.first()?.parse().ok()?, r.get(1)?.clone())))
            .collect::<Vec<(f64, String)>>()
    };
    let garps = rows(
        &mut cap,
        "arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4",
        "arp.src.proto_ipv4",
    );
    let nas = rows(
        &mut cap,
        "icmpv6.type == 136 && ipv6.dst == ff02::1",
        "icmpv6.nd.na.target_address",
    );
    (garps, nas)
}

/// The addresses in order and the gaps (seconds) between consecutive announcements.
fn shape(v: &[(f64, String)]) -> (Vec<String>, Vec<f64>) {
    let addrs = v.iter().map(|x| x.1.clone()).collect();
    let gaps = v.windows(2).map(|w| w[1].0 - w[0].0).collect();
    (addrs, gaps)
}

/// Every gap is the interval: never early (1 ms for the clocks), at most 120 ms late (a
/// busy shared machine).
fn assert_paced(what: &str, gaps: &[f64], interval: f64) {
    for g in gaps {
        assert!(
            *g >= interval - 0.001 && *g <= interval + 0.12,
            "{what}: gap {g:.3} s, expected {interval} s ({gaps:?})"
        );
    }
}

/// keepalived 2.2.7 (observed): on a garp_group interface GARPs and NAs run on separate
/// timelines; the first announcement goes out at once, a repeat for an address already
/// waiting is dropped, waiting addresses follow one per interval in configuration order.
/// With 2 per VIP that is GARPs 200, 200, 201, 202 every 0.2 s and NAs ::200, ::200, ::201
/// every 0.3 s; rkeepalived sends the same on the wire.
#[test]
fn garp_group_spacing_on_the_wire_matches_keepalived() {
    if !(require_root_or_skip() && require_tools_or_skip(&["tcpdump", "tshark", KEEPALIVED])) {
        return;
    }
    let want_garps: Vec<String> = ["200", "200", "201", "202"]
        .iter()
        .map(|x| format!("10.16.200.{x}"))
        .collect();
    let want_nas: Vec<String> = ["200", "200", "201"]
        .iter()
        .map(|x| format!("fd00::{x}"))
        .collect();
    let mut seen = Vec::new();
    for bin in [std::path::PathBuf::from(KEEPALIVED), daemon_bin()] {
        let (garps, nas) = announcements(&bin);
        let (ga, gg) = shape(&garps);
        let (na, ng) = shape(&nas);
        step(format!(
            "{}: GARPs {ga:?} gaps {gg:.3?}; NAs {na:?} gaps {ng:.3?}",
            bin.display()
        ));
        assert_eq!(ga, want_garps, "{}: GARP order", bin.display());
        assert_eq!(na, want_nas, "{}: NA order", bin.display());
        assert_paced(&format!("{} GARPs", bin.display()), &gg, 0.2);
        assert_paced(&format!("{} NAs", bin.display()), &ng, 0.3);
        seen.push((ga, na));
    }
    assert_eq!(seen[0], seen[1], "keepalived and rkeepalived differ");
}
