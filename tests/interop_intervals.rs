//! Advertisement intervals across implementations (Debian's keepalived 2.2.7 and rkeepalived):
//! - VRRPv2: an advert with another interval is discarded (RFC 3768 §7.1) by both sides, so
//!   peers with different `advert_int` both become MASTER;
//! - VRRPv3: a BACKUP adopts the MASTER's interval (RFC 5798 §6.4.2 Master_Adver_Interval),
//!   whichever implementation is the backup: a backup configured with `advert_int 0.2` stays
//!   BACKUP under a 1 s master (its own master-down interval, 0.73 s, would expire between two
//!   adverts) and, after SIGKILL of the master, takes over on the adopted interval (~3.6 s).
//!
//! Needs root, tcpdump, tshark and /usr/sbin/keepalived; skips otherwise (fails when CI is set).

mod common;

use common::interop_ext::*;
use common::netns::step;
use std::time::Duration;

#[test]
fn v2_advert_int_mismatch_both_master() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("v2int");
    let rk = spawn(&lab, "n1", Impl::Rk, &Conf::v2(100));
    let ka = spawn(
        &lab,
        "n2",
        Impl::Ka,
        &Conf {
            advert_int: "2".into(),
            ..Conf::v2(90)
        },
    );
    let vip = vip_cidr(VIP4);
    let t = wait_all_masters(
        &lab,
        &[&rk, &ka],
        &vip,
        master_down(Duration::from_secs(2), 90, false) + Duration::from_secs(4),
    );
    step(format!(
        "  advert_int 1 (rkeepalived) vs 2 (keepalived): both MASTER {} after start",
        secs(t)
    ));
    assert_all_masters(&lab, &[&rk, &ka], &vip, Duration::from_secs(2));
    let (sr, sk) = (rk.stats(), ka.stats());
    let said = |p: &Peer| {
        p.handle
            .log()
            .lines()
            .find(|l| l.contains("interval mismatch"))
            .map(|l| l.split(": ").skip(1).collect::<Vec<_>>().join(": "))
    };
    step(format!(
        "  Advertisement Interval errors: rkeepalived {}, keepalived {}; logs: rkeepalived {:?}, keepalived {:?}",
        sr.vi1("Packet Errors/Advertisement Interval"),
        sk.vi1("Packet Errors/Advertisement Interval"),
        said(&rk),
        said(&ka)
    ));
    // Known difference (docs/interop.md): we count the discarded advert under "Advertisement
    // Interval"; keepalived 2.2.7 prints that counter but never increments it.
    assert!(
        sr.vi1("Packet Errors/Advertisement Interval") >= 1,
        "rkeepalived did not count the mismatch"
    );
    assert_eq!(sk.vi1("Packet Errors/Advertisement Interval"), 0);
    assert!(said(&rk).is_some(), "rkeepalived did not log the mismatch");
    assert!(said(&ka).is_some(), "keepalived did not log the mismatch");
}

/// `master` (advert_int 1, priority 100) on n1, `backup` (advert_int 0.2, priority 90) on n2.
fn adopt_round(lab: &common::netns::Lab, master: Impl, backup: Impl) {
    let vip = &vip_cidr(VIP4);
    let one = Duration::from_secs(1);
    step(format!(
        "VRRPv3: {} MASTER advert_int 1, {} BACKUP advert_int 0.2",
        master.name(),
        backup.name()
    ));
    let v3 = |p, int: &str| Conf {
        version3: true,
        advert_int: int.into(),
        ..Conf::v2(p)
    };
    let mut p1 = spawn(lab, "n1", master, &v3(100, "1"));
    wait_master(
        lab,
        &[&p1],
        "n1",
        vip,
        master_down(one, 100, true) + Duration::from_secs(3),
    );
    let mut p2 = spawn(lab, "n2", backup, &v3(90, "0.2"));
    // The backup's own master-down interval (0.73 s) may expire before the first advert
    // arrives; then the master answers its lower priority and it falls back. Let it settle.
    std::thread::sleep(Duration::from_millis(1500));
    let settled =
        common::netns::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            p2.state().as_deref() == Some("BACKUP") && lab.holders(&NODES, IFACE, vip) == ["n1"]
        });
    assert!(settled.is_some(), "the backup did not settle");
    let flaps_before = p2.handle.count_log("Entering MASTER STATE");
    // Without adopting the master's 1 s, the backup would go MASTER between two adverts.
    assert_master(
        lab,
        &[&p1, &p2],
        "n1",
        vip,
        "BACKUP",
        Duration::from_secs(4),
    );
    assert_eq!(
        p2.handle.count_log("Entering MASTER STATE"),
        flaps_before,
        "the backup went MASTER under a live master"
    );
    p1.handle.kill();
    drop_vip(lab, "n1", vip);
    // Adopted interval: 3 x 1 s + 166/256 s; own interval would give 0.73 s.
    let down = master_down(one, 90, true);
    let t = wait_master(lab, &[&p2], "n2", vip, down + Duration::from_secs(3));
    step(format!(
        "  TAKEOVER {} -> {} after SIGKILL: {} (master-down with the adopted 1 s: {}; with its own 0.2 s: {})",
        master.name(),
        backup.name(),
        secs(t),
        secs(down),
        secs(master_down(Duration::from_millis(200), 90, true))
    ));
    assert!(
        t + one + Duration::from_millis(100) >= down,
        "takeover after {t:?}: the backup did not use the master's interval"
    );
    assert!(t <= down + one, "takeover took {t:?}");
    p2.stop();
}

#[test]
fn v3_backup_adopts_master_interval_both_ways() {
    if !can_run() {
        return;
    }
    let lab = interop_lab("v3int");
    adopt_round(&lab, Impl::Ka, Impl::Rk);
    adopt_round(&lab, Impl::Rk, Impl::Ka);
}
