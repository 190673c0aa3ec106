//! Interop with Debian's keepalived 2.2.7: `auth_type AH` (IPsec Authentication Header,
//! VRRPv2 over IPv4). rkeepalived and keepalived in one group (n1 = 10.16.200.11 priority 100,
//! n2 = 10.16.200.12 priority 90, multicast), each side in turn the higher priority: election,
//! SIGTERM hand-over, the restarted master preempts again (its sequence numbers start from 1),
//! SIGKILL take-over; every packet on the wire is AH (IP protocol 51) with VRRP inside, and
//! keepalived counts no error. Then a wrong key: both reject, both count it, both MASTER.
//!
//! Needs root, tcpdump, tshark and /usr/sbin/keepalived; skips otherwise (fails when CI is set).

mod common;

use common::interop_ext::*;
use common::netns::{Signal, step};
use std::time::Duration;

const ADVERT: Duration = Duration::from_secs(1);

fn ah_conf(priority: u8, key: &str) -> String {
    format!(
        "global_defs {{
    router_id rk_interop
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface {IFACE}
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type AH
        auth_pass {key}
    }}
    virtual_ipaddress {{
        {VIP4} dev {IFACE} label {IFACE}:1
    }}
}}
"
    )
}

fn other(i: Impl) -> Impl {
    match i {
        Impl::Ka => Impl::Rk,
        Impl::Rk => Impl::Ka,
    }
}

fn ah_story(tag: &str, high: Impl) {
    let lab = interop_lab(tag);
    let vip = &vip_cidr(VIP4);
    let mut cap = lab.capture(lab.lan_ns(), "br0", "ip proto 51 or ip proto 112");
    step(format!(
        "[{tag}] AH: {} prio 100 on n1, {} prio 90 on n2",
        high.name(),
        other(high).name()
    ));
    let mut p1 = spawn_text(&lab, "n1", high, &ah_conf(100, "secret12"));
    let mut p2 = spawn_text(&lab, "n2", other(high), &ah_conf(90, "secret12"));
    let t = wait_master(
        &lab,
        &[&p1, &p2],
        "n1",
        vip,
        master_down(ADVERT, 90, false) + Duration::from_secs(4),
    );
    step(format!("  election: n1 MASTER {} after start", secs(t)));
    assert_master(&lab, &[&p1, &p2], "n1", vip, "BACKUP", ADVERT * 3);

    // SIGTERM: priority 0 inside AH, n2 takes over within its skew time (plus slack).
    p1.stop();
    let t = wait_master(
        &lab,
        &[&p2],
        "n2",
        vip,
        skew_v2(90) + Duration::from_secs(2),
    );
    step(format!("  SIGTERM of n1: n2 MASTER after {}", secs(t)));

    // The restarted n1 starts its sequence numbers from 1 again and still preempts.
    p1 = spawn_text(&lab, "n1", high, &ah_conf(100, "secret12"));
    let t = wait_master(
        &lab,
        &[&p1, &p2],
        "n1",
        vip,
        master_down(ADVERT, 100, false) + Duration::from_secs(4),
    );
    step(format!("  restarted n1 preempts after {}", secs(t)));
    assert_master(&lab, &[&p1, &p2], "n1", vip, "BACKUP", ADVERT * 3);

    // keepalived saw nothing wrong with our AH packets (nor with its own restart).
    for p in [&p1, &p2] {
        if p.imp == Impl::Ka {
            assert_ka_clean(p);
        }
    }

    // SIGKILL: n2 takes over on its master-down timer.
    p1.handle.signal(Signal::SIGKILL);
    p1.handle.wait_exit(Duration::from_secs(5));
    let _ = lab.exec("n1", &["ip", "addr", "del", vip, "dev", IFACE]);
    let t = wait_master(
        &lab,
        &[&p2],
        "n2",
        vip,
        master_down(ADVERT, 90, false) + Duration::from_secs(2),
    );
    step(format!("  SIGKILL of n1: n2 MASTER after {}", secs(t)));

    p2.stop();

    // On the wire: only AH datagrams carrying VRRPv2 with auth type 2, from both nodes.
    cap.stop();
    let rows = tshark_rows(
        cap.file(),
        &[],
        "vrrp || ah",
        &[
            "ip.src",
            "ip.proto",
            "ah.spi",
            "ah.sequence",
            "vrrp.auth_type",
        ],
    );
    assert!(!rows.is_empty(), "nothing captured");
    for r in &rows {
        assert_eq!(r[1], "51", "not AH: {r:?}");
        assert_eq!(r[4], "2", "VRRP auth type: {r:?}");
    }
    for src in ["10.16.200.11", "10.16.200.12"] {
        assert!(rows.iter().any(|r| r[0] == src), "no AH advert from {src}");
    }
    step(format!(
        "  {} AH adverts on the wire, all VRRPv2 auth type 2",
        rows.len()
    ));
}

#[test]
fn ah_failover_rk_high_ka_low() {
    if can_run() {
        ah_story("ah1", Impl::Rk);
    }
}

#[test]
fn ah_failover_ka_high_rk_low() {
    if can_run() {
        ah_story("ah2", Impl::Ka);
    }
}

#[test]
fn ah_wrong_key_both_reject_and_count() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("ah3");
    let mut ka = spawn_text(&lab, "n1", Impl::Ka, &ah_conf(100, "secret12"));
    let mut rk = spawn_text(&lab, "n2", Impl::Rk, &ah_conf(90, "wrongkey"));
    for p in [&ka, &rk] {
        p.handle
            .wait_log("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{} never MASTER: {e}", p.imp.name()));
    }
    std::thread::sleep(ADVERT * 3);
    let (sk, sr) = (ka.stats(), rk.stats());
    step(format!(
        "  keepalived: Failure {}, received {}; rkeepalived: Failure {}, received {}",
        sk.vi1("Authentication Errors/Failure"),
        sk.vi1("Advertisements/Received"),
        sr.vi1("Authentication Errors/Failure"),
        sr.vi1("Advertisements/Received")
    ));
    // keepalived falls silent while the other master's adverts keep arriving (docs/interop.md),
    // so we may see only its first ones.
    assert!(sr.vi1("Authentication Errors/Failure") >= 1, "{:?}", sr.0);
    assert!(sk.vi1("Authentication Errors/Failure") >= 2, "{:?}", sk.0);
    assert_eq!(sr.vi1("Advertisements/Received"), 0);
    assert_eq!(sk.vi1("Advertisements/Received"), 0, "{:?}", sk.0);
    assert_eq!(ka.state().as_deref(), Some("MASTER"));
    assert_eq!(rk.state().as_deref(), Some("MASTER"));
    ka.stop();
    rk.stop();
}
