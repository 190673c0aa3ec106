//! Interop with Debian's keepalived 2.2.7, one VRRP mode per test: rkeepalived (priority 100,
//! node n1) and keepalived (priority 90, node n2) in one group on one bridge, each with its own
//! config, pidfiles, log and `$TMPDIR`.
//!
//! Every test drives the same story and asserts, at each step, which daemon is MASTER and that
//! exactly that node holds the VIP:
//! 1. both start at once (state BACKUP): rkeepalived wins the election, keepalived stays BACKUP
//!    (so keepalived accepts our adverts — a rejected advert would make it MASTER too);
//! 2. SIGTERM rkeepalived: its priority-0 advert hands the VIP to keepalived (time printed);
//! 3. rkeepalived starts again: it preempts keepalived (or, with nopreempt, does not);
//! 4. on the wire (capture on the bridge): every advert rkeepalived sent is VRRP of the right
//!    version with a checksum tshark calls Good and TTL 255, one of them with priority 0; both
//!    daemons announced the VIP (gratuitous ARPs / unsolicited NAs) when they took it;
//! 5. keepalived's SIGUSR2 stats count no packet or authentication error, its log has no
//!    complaint about a packet, and ours neither.
//!
//! `v3_checksum_as_v2` is unknown to keepalived 2.2.7 (`keepalived -t` says "Unknown keyword"),
//! so that mode runs rkeepalived against rkeepalived with tshark's
//! `vrrp.v3_checksum_as_in_v2:TRUE` (see docs/interop.md).
//!
//! Needs root, tcpdump, tshark and /usr/sbin/keepalived; skips otherwise (fails when CI is set).

mod common;

use common::interop_ext::*;
use common::netns::step;
use std::time::Duration;

struct Mode {
    tag: &'static str,
    rk: Conf,
    ka: Conf,
    version: u8,
    /// tshark `-o` preferences needed to validate the checksum.
    prefs: &'static [&'static str],
    /// Impl on n2 (keepalived normally; rkeepalived for modes 2.2.7 does not know).
    n2: Impl,
}

fn advert_of(c: &Conf) -> Duration {
    Duration::from_secs_f64(c.advert_int.parse::<f64>().expect("advert_int"))
}

/// Runs the story; returns the lab (keeps the capture file alive), the capture and n1's MAC.
fn run_story(m: Mode) -> (common::netns::Lab, common::netns::Capture, String) {
    let lab = interop_lab(m.tag);
    let vip = m.rk.vip_cidr();
    let advert = advert_of(&m.rk);
    let v3 = m.version == 3;
    let (rk_mac, ka_mac) = (lab.mac_of("n1", IFACE), lab.mac_of("n2", IFACE));
    let mut cap = capture_bridge(&lab);

    step(format!(
        "[{}] 1. election at startup: rkeepalived prio {} on n1, {} prio {} on n2",
        m.tag,
        m.rk.priority,
        m.n2.name(),
        m.ka.priority
    ));
    let ka = spawn(&lab, "n2", m.n2, &m.ka);
    let mut rk = spawn(&lab, "n1", Impl::Rk, &m.rk);
    // Whoever's down timer fires first may be MASTER for a moment; the higher priority wins.
    let limit = master_down(advert, m.ka.priority, v3) + Duration::from_secs(4);
    let t = wait_master(&lab, &[&rk, &ka], "n1", &vip, limit);
    step(format!("  rkeepalived MASTER {} after start", secs(t)));
    let hold = (advert * 3).max(Duration::from_millis(1500));
    assert_master(&lab, &[&rk, &ka], "n1", &vip, "BACKUP", hold);

    step("2. SIGTERM rkeepalived (priority 0 advert)");
    rk.handle.signal(common::netns::Signal::SIGTERM);
    let skew = master_down(advert, m.ka.priority, v3) - advert * 3;
    let limit = skew + Duration::from_secs(1);
    let t = wait_master(&lab, &[&ka], "n2", &vip, limit + Duration::from_secs(3));
    step(format!(
        "  {} on n2 took over {} after SIGTERM (limit skew + 1 s = {})",
        m.n2.name(),
        secs(t),
        secs(limit)
    ));
    assert!(t <= limit, "takeover after SIGTERM took {t:?} > {limit:?}");
    assert!(
        rk.handle.wait_exit(Duration::from_secs(5)).is_some(),
        "rkeepalived did not exit"
    );
    assert!(!lab.has_addr("n1", IFACE, &vip), "n1 kept the VIP");
    assert_master(&lab, &[&ka], "n2", &vip, "BACKUP", hold / 2);

    let preempt = !m.rk.nopreempt;
    step(format!(
        "3. restart rkeepalived ({})",
        if preempt {
            "it preempts"
        } else {
            "nopreempt: n2 keeps the VIP"
        }
    ));
    let rk = spawn(&lab, "n1", Impl::Rk, &m.rk);
    if preempt {
        let limit = master_down(advert, m.rk.priority, v3) + Duration::from_secs(2);
        let t = wait_master(&lab, &[&rk, &ka], "n1", &vip, limit);
        step(format!("  rkeepalived preempted {} after start", secs(t)));
        assert_master(&lab, &[&rk, &ka], "n1", &vip, "BACKUP", hold);
    } else {
        let _ = rk
            .handle
            .wait_log("Entering BACKUP STATE", Duration::from_secs(5));
        assert_master(
            &lab,
            &[&rk, &ka],
            "n2",
            &vip,
            "BACKUP",
            master_down(advert, m.rk.priority, v3) + advert * 2,
        );
    }

    step("4. on the wire");
    let rep = check_adverts(&mut cap, m.prefs, &rk_mac, m.version);
    assert!(
        rep.adverts >= 3,
        "too few adverts from rkeepalived: {rep:?}"
    );
    assert!(
        rep.prio_zero >= 1,
        "no priority 0 advert from rkeepalived on SIGTERM"
    );
    assert!(
        rep.priorities
            .iter()
            .all(|p| *p == u32::from(m.rk.priority) || *p == 0),
        "unexpected priorities {:?}",
        rep.priorities
    );
    let vip_addr = &m.rk.vips[0];
    assert!(
        count_announcements(&mut cap, &rk_mac, vip_addr) >= 1,
        "rkeepalived did not announce the VIP when it took it"
    );
    assert!(
        count_announcements(&mut cap, &ka_mac, vip_addr) >= 1,
        "n2 did not announce the VIP when it took it"
    );
    // Our adverts carry the same header fields as keepalived's for the same config.
    let (ours, theirs) = (
        advert_shapes(&mut cap, m.prefs, &rk_mac, m.rk.unicast.is_none()),
        advert_shapes(&mut cap, m.prefs, &ka_mac, m.rk.unicast.is_none()),
    );
    step(format!("  advert shape: {ours:?}"));
    assert_eq!(ours, theirs, "rkeepalived's adverts differ from n2's");
    // Our announcements look exactly like keepalived's (same frame fields).
    let (ours, theirs) = (
        announcement_shapes(&mut cap, &rk_mac, vip_addr),
        announcement_shapes(&mut cap, &ka_mac, vip_addr),
    );
    step(format!("  announcement shape: {ours:?}"));
    assert_eq!(
        ours, theirs,
        "rkeepalived's VIP announcements differ from n2's"
    );
    // IPv4 identification: each instance numbers its adverts from 1, on both sides.
    if m.rk.family == Fam::V4 {
        for (who, mac) in [("rkeepalived", &rk_mac), (m.n2.name(), &ka_mac)] {
            let ids = ipv4_ids(&mut cap, mac);
            assert!(ids_count_from_one(&ids), "{who}'s IPv4 ids: {ids:?}");
        }
    }
    // Hop limit: ours is always 255 (checked above); keepalived 2.2.7 leaves IPv6 unicast
    // adverts at the kernel default 64 (docs/interop.md). Unicast receivers do not check it.
    let theirs = hop_limits(&mut cap, &ka_mac);
    step(format!("  {} TTL / hop limit: {theirs:?}", m.n2.name()));
    let v6_unicast = m.rk.family == Fam::V6 && m.rk.unicast.is_some();
    let expect = if v6_unicast && m.n2 == Impl::Ka {
        "64"
    } else {
        "255"
    };
    assert_eq!(theirs, [expect], "n2's TTL / hop limit");

    step("5. counters and logs");
    if m.n2 == Impl::Ka {
        assert_ka_clean(&ka);
        assert!(
            ka.handle
                .log()
                .contains("Backup received priority 0 advertisement"),
            "keepalived did not log our priority 0 advert"
        );
    }
    assert!(
        ka.stats().vi1("Priority Zero/Received") >= 1,
        "n2 did not count our priority 0 advert"
    );
    let st = rk.stats();
    assert_eq!(
        st.errors(),
        vec![],
        "rkeepalived counted errors: {:?}",
        st.0
    );
    assert!(
        st.vi1("Advertisements/Received") >= 1,
        "rkeepalived received no advert: {:?}",
        st.0
    );
    let complaints = packet_complaints(&rk.handle.log());
    assert!(
        complaints.is_empty(),
        "rkeepalived complains about packets:\n{}",
        complaints.join("\n")
    );
    (lab, cap, rk_mac)
}

#[test]
fn interop_v2_multicast() {
    if !can_run() {
        return;
    }
    let _ = run_story(Mode {
        tag: "v2mc",
        rk: Conf::v2(100),
        ka: Conf::v2(90),
        version: 2,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// The seed's pair (unicast, PASS, state BACKUP + nopreempt; advert_int 1 to be fast).
#[test]
fn interop_v2_unicast_pass_nopreempt() {
    if !can_run() {
        return;
    }
    let _ = run_story(Mode {
        tag: "v2uc",
        rk: Conf::seed(100, &node_ip4(0), &node_ip4(1)),
        ka: Conf::seed(90, &node_ip4(1), &node_ip4(0)),
        version: 2,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// VRRPv3 over IPv4 with keepalived's default checksum (IPv4 pseudo-header), which is also
/// tshark's default (`vrrp.v3_checksum_as_in_v2: FALSE`).
#[test]
fn interop_v3_ipv4_pseudo_header_checksum() {
    if !can_run() {
        return;
    }
    let v3 = |p| Conf {
        version3: true,
        ..Conf::v2(p)
    };
    let _ = run_story(Mode {
        tag: "v3v4",
        rk: v3(100),
        ka: v3(90),
        version: 3,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// VRRPv3 over IPv4 unicast: keepalived's pseudo-header checksum uses the actual destination
/// (the peer), not the multicast group.
#[test]
fn interop_v3_ipv4_unicast() {
    if !can_run() {
        return;
    }
    let uc = |p, src: usize, peer: usize| Conf {
        version3: true,
        unicast: Some((node_ip4(src), vec![node_ip4(peer)])),
        ..Conf::v2(p)
    };
    let _ = run_story(Mode {
        tag: "v3uc",
        rk: uc(100, 0, 1),
        ka: uc(90, 1, 0),
        version: 3,
        prefs: &[],
        n2: Impl::Ka,
    });
}

#[test]
fn interop_v3_ipv6() {
    if !can_run() {
        return;
    }
    let _ = run_story(Mode {
        tag: "v3v6",
        rk: Conf::v3_ipv6(100),
        ka: Conf::v3_ipv6(90),
        version: 3,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// VRRPv3 over IPv6 unicast (global unicast_src_ip / unicast_peer).
#[test]
fn interop_v3_ipv6_unicast() {
    if !can_run() {
        return;
    }
    let uc = |p, src: &str, peer: &str| Conf {
        unicast: Some((src.into(), vec![peer.into()])),
        ..Conf::v3_ipv6(p)
    };
    let _ = run_story(Mode {
        tag: "v3v6uc",
        rk: uc(100, "fd16::11", "fd16::12"),
        ka: uc(90, "fd16::12", "fd16::11"),
        version: 3,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// VRRPv3 with a 100 ms advert interval (centisecond field 10).
#[test]
fn interop_v3_advert_int_centis() {
    if !can_run() {
        return;
    }
    let fast = |p| Conf {
        version3: true,
        advert_int: "0.1".into(),
        ..Conf::v2(p)
    };
    let _ = run_story(Mode {
        tag: "v3fast",
        rk: fast(100),
        ka: fast(90),
        version: 3,
        prefs: &[],
        n2: Impl::Ka,
    });
}

/// `v3_checksum_as_v2` (RFC 9568: no pseudo-header for IPv4). keepalived 2.2.7 does not know
/// the keyword, so: prove that with `keepalived -t`, then run rkeepalived against rkeepalived
/// and validate the checksums with tshark's `vrrp.v3_checksum_as_in_v2:TRUE` — and check that
/// tshark's default (pseudo-header) calls the same packets Bad, so the option is what matters.
#[test]
fn interop_v3_checksum_as_v2_rk_pair() {
    if !can_run() {
        return;
    }
    let conf = |p| Conf {
        version3: true,
        v3_checksum_as_v2: true,
        ..Conf::v2(p)
    };
    // keepalived 2.2.7 rejects the keyword (config test exit 5, "Unknown keyword").
    let dir = std::env::temp_dir().join(format!("rk-interop-cav2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let f = dir.join("k.conf");
    std::fs::write(&f, conf(100).render().replace(IFACE, "lo")).expect("write conf");
    let out = std::process::Command::new("unshare")
        .args(["-n", KEEPALIVED, "-t"])
        .arg("-f")
        .arg(&f)
        .output()
        .expect("keepalived -t");
    let _ = std::fs::remove_dir_all(&dir);
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    step(format!(
        "keepalived -t on a config with v3_checksum_as_v2: {} / {:?}",
        out.status,
        text.lines()
            .find(|l| l.contains("v3_checksum_as_v2"))
            .unwrap_or("")
    ));
    assert!(
        text.contains("Unknown keyword 'v3_checksum_as_v2'"),
        "keepalived 2.2.7 now knows v3_checksum_as_v2? update the test and docs/interop.md:\n{text}"
    );

    let (_lab, cap, rk_mac) = run_story(Mode {
        tag: "v3cav2",
        rk: conf(100),
        ka: conf(90),
        version: 3,
        prefs: &["vrrp.v3_checksum_as_in_v2:TRUE"],
        n2: Impl::Rk,
    });
    // Negative control: with tshark's default (pseudo-header) the same adverts are Bad.
    let rows = tshark_rows(
        cap.file(),
        &[],
        &format!("vrrp && eth.src == {rk_mac}"),
        &["vrrp.checksum.status"],
    );
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r[0] == "0"),
        "tshark's default should call RFC 9568 checksums Bad: {rows:?}"
    );
    step(format!(
        "  negative control: tshark's default prefs call all {} of them Bad",
        rows.len()
    ));
}
