//! Known differences between rkeepalived and Debian's keepalived 2.2.7, pinned in a mixed
//! group (see docs/interop.md for the list and the reasons).
//!
//! Differing VIP lists: keepalived ≤ 2.3.2 drops an advert whose address list differs from its
//! own configuration (counted as "Address List" packet errors); rkeepalived — like keepalived
//! ≥ 2.3.3 — accepts it, logs a warning once and counts it too. With rkeepalived the master and
//! keepalived the backup, keepalived therefore hears no valid advert and becomes MASTER as well.
//!
//! Needs root, tcpdump, tshark and /usr/sbin/keepalived; skips otherwise (fails when CI is set).

mod common;

use common::interop_ext::*;
use common::netns::step;
use std::time::Duration;

const ADVERT: Duration = Duration::from_secs(1);
const VIP4B: &str = "10.16.200.201";

fn two_vips(p: u8) -> Conf {
    Conf {
        vips: vec![VIP4.into(), VIP4B.into()],
        ..Conf::v2(p)
    }
}

fn holders(lab: &common::netns::Lab, vip: &str) -> Vec<String> {
    lab.holders(&NODES, IFACE, &vip_cidr(vip))
}

/// rkeepalived (priority 100, VIPs .200 and .201) is MASTER; keepalived (priority 90, VIP .200
/// only) rejects every advert (address count 2 ≠ 1) and becomes MASTER too: both hold .200
/// (split brain) for as long as both run. rkeepalived accepts keepalived's adverts with a
/// warning ("Address List" counter), stays MASTER (keepalived's priority is lower) and answers
/// each lower-priority advert with an advert of its own.
#[test]
fn differing_vip_lists_rk_master_ka_backup_both_master() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("vipd1");
    let mut cap = capture_bridge(&lab);
    let rk = spawn(&lab, "n1", Impl::Rk, &two_vips(100));
    let ka = spawn(&lab, "n2", Impl::Ka, &Conf::v2(90));
    let vip = vip_cidr(VIP4);
    let t = wait_all_masters(
        &lab,
        &[&rk, &ka],
        &vip,
        master_down(ADVERT, 90, false) + Duration::from_secs(4),
    );
    step(format!("  both MASTER {} after start", secs(t)));
    assert_all_masters(&lab, &[&rk, &ka], &vip, ADVERT * 4);
    assert_eq!(holders(&lab, VIP4B), ["n1"], "holders of {VIP4B}");
    let (sr, sk) = (rk.stats(), ka.stats());
    step(format!(
        "  Address List errors: rkeepalived {}, keepalived {}; adverts sent: rkeepalived {}, keepalived {}",
        sr.vi1("Packet Errors/Address List"),
        sk.vi1("Packet Errors/Address List"),
        sr.vi1("Advertisements/Sent"),
        sk.vi1("Advertisements/Sent"),
    ));
    assert!(
        sk.vi1("Packet Errors/Address List") >= 3,
        "keepalived should drop our adverts as address-list errors: {:?}",
        sk.0
    );
    let ka_complaints = packet_complaints(&ka.handle.log());
    step(format!(
        "  keepalived logs: {:?}",
        ka_complaints
            .first()
            .map(|l| l.split(": ").nth(1).unwrap_or(l))
    ));
    assert!(
        ka_complaints
            .iter()
            .any(|l| l.contains("unexpected ip number count 2, expected 1")),
        "keepalived did not log the address count mismatch: {ka_complaints:?}"
    );
    // Whatever keepalived sent, we accepted and counted (a valid but different list).
    let ka_sent = sk.vi1("Advertisements/Sent");
    if ka_sent > 0 {
        assert!(
            sr.vi1("Packet Errors/Address List") >= 1,
            "rkeepalived did not count keepalived's differing list: {:?}",
            sr.0
        );
        assert!(
            rk.handle.log().contains("not present in MASTER advert"),
            "rkeepalived did not warn about the differing list"
        );
        // RFC 3768 §6.4.3: a master hearing a lower priority answers with an advert
        // (keepalived compat: "forcing new election"); a backup (if keepalived was first)
        // discards it and preempts.
        let log = rk.handle.log();
        assert!(
            log.contains("with lower priority 90, ours 100, forcing new election")
                || log.contains("received lower priority (90) advert"),
            "rkeepalived did not notice keepalived's lower-priority advert"
        );
    }
    assert_eq!(rk.state().as_deref(), Some("MASTER"));
    // Our adverts stay valid VRRP (2 addresses) on the wire.
    let rep = check_adverts(&mut cap, &[], &lab.mac_of("n1", IFACE), 2);
    assert!(rep.adverts >= 3);
    let naddr = tshark_rows(
        cap.file(),
        &[],
        &format!("vrrp && eth.src == {}", lab.mac_of("n1", IFACE)),
        &["vrrp.addr_count"],
    );
    assert!(
        naddr.iter().all(|r| r[0] == "2"),
        "address counts {naddr:?}"
    );
}

/// keepalived (priority 100, VIP .200) is MASTER; rkeepalived (priority 90, VIPs .200 and
/// .201) accepts its adverts with a warning and stays BACKUP: one master, .200 served, .201
/// served by nobody. (keepalived 2.2.7 in our place would become MASTER too.)
#[test]
fn differing_vip_lists_ka_master_rk_backup_accepts() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("vipd2");
    let ka = spawn(&lab, "n1", Impl::Ka, &Conf::v2(100));
    // rkeepalived joins a running master: started together, a loaded machine can let its
    // master-down timer (39 ms after keepalived's) fire before keepalived's first advert
    // arrives, and its one advert would count as an address-list error at keepalived.
    ka.handle
        .wait_log(
            "(VI_1) Entering MASTER STATE",
            master_down(ADVERT, 100, false) * 3,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let rk = spawn(&lab, "n2", Impl::Rk, &two_vips(90));
    let vip = vip_cidr(VIP4);
    let t = wait_master(
        &lab,
        &[&ka, &rk],
        "n1",
        &vip,
        master_down(ADVERT, 90, false) + Duration::from_secs(4),
    );
    step(format!("  keepalived MASTER {} after start", secs(t)));
    assert_master(
        &lab,
        &[&ka, &rk],
        "n1",
        &vip,
        "BACKUP",
        master_down(ADVERT, 90, false) + ADVERT * 2,
    );
    assert!(
        holders(&lab, VIP4B).is_empty(),
        "{VIP4B} is held by someone"
    );
    let sr = rk.stats();
    step(format!(
        "  rkeepalived BACKUP, Address List errors {}, adverts received {}; {VIP4B} held by nobody",
        sr.vi1("Packet Errors/Address List"),
        sr.vi1("Advertisements/Received")
    ));
    assert!(
        sr.vi1("Packet Errors/Address List") >= 3,
        "rkeepalived did not count the differing lists: {:?}",
        sr.0
    );
    let warn = rk
        .handle
        .log()
        .lines()
        .find(|l| l.contains("not present in MASTER advert"))
        .map(str::to_string);
    step(format!("  rkeepalived warns: {warn:?}"));
    assert!(warn.is_some(), "rkeepalived did not warn about the list");
    assert_ka_clean(&ka);
}

/// `v3_checksum_as_v2` on rkeepalived only (keepalived 2.2.7 cannot be configured with it): the
/// two sides compute VRRPv3/IPv4 checksums differently (RFC 9568 without, keepalived's default
/// with the IPv4 pseudo-header), each rejects the other's adverts as bad checksums, and both
/// become MASTER. Pins that the option is not negotiated or auto-detected (only
/// `old_unicast_checksum` is).
#[test]
fn v3_checksum_as_v2_against_keepalived_2_2_7_both_master() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("cksum");
    let mut cap = capture_bridge(&lab);
    let rk_conf = Conf {
        version3: true,
        v3_checksum_as_v2: true,
        ..Conf::v2(100)
    };
    let ka_conf = Conf {
        version3: true,
        ..Conf::v2(90)
    };
    let rk = spawn(&lab, "n1", Impl::Rk, &rk_conf);
    let ka = spawn(&lab, "n2", Impl::Ka, &ka_conf);
    let vip = vip_cidr(VIP4);
    let t = wait_all_masters(
        &lab,
        &[&rk, &ka],
        &vip,
        master_down(ADVERT, 90, true) + Duration::from_secs(4),
    );
    step(format!("  both MASTER {} after start", secs(t)));
    assert_all_masters(&lab, &[&rk, &ka], &vip, ADVERT * 2);
    let ka_says = packet_complaints(&ka.handle.log());
    let rk_says = packet_complaints(&rk.handle.log());
    step(format!(
        "  keepalived logs {:?}; rkeepalived logs {:?}",
        ka_says.first().map(|l| l.split(": ").nth(1).unwrap_or(l)),
        rk_says.first().map(|l| l.split(": ").nth(1).unwrap_or(l)),
    ));
    assert!(
        ka_says.iter().any(|l| l.contains("checksum")),
        "keepalived did not reject our checksum: {ka_says:?}"
    );
    assert!(
        rk_says.iter().any(|l| l.contains("checksum")),
        "rkeepalived did not reject keepalived's checksum: {rk_says:?}"
    );
    // On the wire our adverts are RFC 9568 checksums.
    let rep = check_adverts(
        &mut cap,
        &["vrrp.v3_checksum_as_in_v2:TRUE"],
        &lab.mac_of("n1", IFACE),
        3,
    );
    assert!(rep.adverts >= 2);
}

/// Reference for `differing_vip_lists_rk_master_ka_backup_both_master`: the same configs with
/// keepalived 2.2.7 on both nodes end the same way (both MASTER, the common VIP on both), so
/// the split brain in the mixed group is keepalived 2.2.7's rule, not something we add.
#[test]
fn differing_vip_lists_keepalived_pair_reference() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("vipd0");
    let k1 = spawn(&lab, "n1", Impl::Ka, &two_vips(100));
    let k2 = spawn(&lab, "n2", Impl::Ka, &Conf::v2(90));
    let vip = vip_cidr(VIP4);
    let t = wait_all_masters(
        &lab,
        &[&k1, &k2],
        &vip,
        master_down(ADVERT, 90, false) + Duration::from_secs(4),
    );
    step(format!(
        "  keepalived pair with differing lists: both MASTER {} after start",
        secs(t)
    ));
    assert_all_masters(&lab, &[&k1, &k2], &vip, ADVERT * 2);
    // Which of the two falls silent (keepalived postpones its adverts while it receives the
    // other's) varies, so only the sum of the rejections is pinned.
    let (e1, e2) = (
        k1.stats().vi1("Packet Errors/Address List"),
        k2.stats().vi1("Packet Errors/Address List"),
    );
    step(format!("  Address List errors: n1 {e1}, n2 {e2}"));
    assert!(e1 + e2 >= 2, "keepalived pair counted {e1} + {e2}");
}
