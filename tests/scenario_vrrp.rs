//! Scenario tests of the VRRP core on the simulated LAN, named after the behaviour they pin.
//! Instants are asserted exactly where RFC 3768 / RFC 5798 fix them (integer microseconds).

mod common_sim;

use std::net::IpAddr;

use common_sim::*;
use rkeepalived::time::{Centis, Duration, Instant};
use rkeepalived::vrrp::action::{Action, NotifyKind, NotifyState};
use rkeepalived::vrrp::input::{Input, LinkState, TrackerUpdate};
use rkeepalived::vrrp::sim::{Lan, SimIf};
use rkeepalived::vrrp::spec::{
    Auth, InstanceSpec, OldUnicastChecksum, PeerSpec, RouteSpec, RouteType, RuleSpec,
    SyncGroupSpec, Version, VipSpec,
};
use rkeepalived::vrrp::types::State;

fn vip() -> IpAddr {
    IpAddr::V4(VIP)
}

fn script_update(name: &str, ok: bool) -> Input {
    Input::Tracker(TrackerUpdate::Script {
        name: name.into(),
        ok,
    })
}

#[test]
fn startup_election_highest_priority_wins_at_its_master_down_interval() {
    let mut lan = Lan::new(1);
    let t0 = lan.now;
    let a = add(&mut lan, 1, inst(100));
    let b = add(&mut lan, 2, inst(150));
    let c = add(&mut lan, 3, inst(50));
    // keepalived compat: every instance first enters BACKUP (init) and announces it.
    for n in [a, b, c] {
        assert_eq!(lan.notify_times(n, "VI_1", NotifyState::Backup), vec![t0]);
        assert_eq!(lan.state(n, "VI_1"), State::Backup);
    }
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    // RFC 3768 §6.4.1: Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time.
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(t0 + secs(3) + skew_v2(150))
    );
    assert_eq!(first_master(&lan, a, "VI_1"), None);
    assert_eq!(first_master(&lan, c, "VI_1"), None);
    assert!(lan.has_vip(b, vip()));
    assert!(!lan.has_vip(a, vip()) && !lan.has_vip(c, vip()));
}

#[test]
fn becoming_master_sends_advert_first_then_vips_then_garps_then_notify() {
    let mut lan = Lan::new(1);
    let a = add(&mut lan, 1, inst(100));
    lan.drive_for(secs(10));
    let t = first_master(&lan, a, "VI_1").unwrap();
    let acts: Vec<&Action> = lan
        .trace
        .iter()
        .filter(|e| e.node == a && e.at == t)
        .map(|e| &e.action)
        .collect();
    assert!(
        matches!(acts[0], Action::SendAdvert { advert, ttl: 255, .. } if advert.priority == 100)
    );
    assert!(matches!(acts[1], Action::AddVip { vip, .. } if vip.addr == IpAddr::V4(VIP)));
    for a in &acts[2..7] {
        assert!(matches!(a, Action::SendGarp { addr, .. } if *addr == IpAddr::V4(VIP)));
    }
    assert!(
        matches!(acts[7], Action::Notify(n) if n.state == NotifyState::Master && n.priority == 100)
    );
    assert_eq!(acts.len(), 8);
    // Second GARP block after garp_master_delay (5 s).
    let second = lan
        .trace
        .iter()
        .filter(|e| e.node == a && e.at == t + secs(5))
        .filter(|e| matches!(e.action, Action::SendGarp { .. }))
        .count();
    assert_eq!(second, 5);
}

#[test]
fn backup_takes_over_exactly_master_down_interval_after_last_advert() {
    let mut lan = Lan::new(2);
    let a = add(&mut lan, 1, inst(200));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    lan.crash(a);
    let last = lan.adverts_sent(a).last().unwrap().0;
    lan.drive_for(secs(10));
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(last + lan.delay + secs(3) + skew_v2(100))
    );
    assert_eq!(lan.masters(51), vec![b]);
    assert!(lan.has_vip(b, vip()));
}

#[test]
fn graceful_shutdown_sends_priority_zero_and_backup_takes_over_after_skew() {
    let mut lan = Lan::new(3);
    let a = add(&mut lan, 1, inst(200));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let t = lan.now;
    lan.input(a, Input::Shutdown { release_vips: true });
    let acts = lan.actions_since(a, t);
    assert!(matches!(acts[0], Action::SendAdvert { advert, .. } if advert.priority == 0));
    assert!(matches!(acts[1], Action::DelVip { .. }));
    assert!(matches!(acts[2], Action::Notify(n) if n.state == NotifyState::Stop));
    assert!(!lan.has_vip(a, vip()));
    lan.drive_for(secs(5));
    // RFC 3768 §6.4.2: priority 0 ⇒ Master_Down_Timer := Skew_Time.
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(t + lan.delay + skew_v2(100))
    );
    let st = &lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert_eq!(st.pri_zero_rcvd, 1);
    assert_eq!(
        lan.nodes[a]
            .node
            .instance("VI_1")
            .unwrap()
            .stats
            .pri_zero_sent,
        1
    );
}

#[test]
fn shutdown_with_dont_release_vrrp_keeps_vips_and_sends_no_priority_zero() {
    let mut lan = Lan::new(3);
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    let t = lan.now;
    lan.input(
        a,
        Input::Shutdown {
            release_vips: false,
        },
    );
    let acts = lan.actions_since(a, t);
    assert_eq!(acts.len(), 1);
    assert!(matches!(acts[0], Action::Notify(n) if n.state == NotifyState::Stop));
    assert!(lan.has_vip(a, vip()));
    assert_eq!(lan.nodes[a].node.poll_timeout(), None);
}

#[test]
fn higher_priority_backup_preempts_a_lower_master() {
    let mut lan = Lan::new(4);
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    let t1 = lan.now;
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    // A discards B's lower-priority adverts, so its first down timer runs out.
    let ta = first_master(&lan, a, "VI_1").unwrap();
    assert_eq!(ta, t1 + secs(3) + skew_v2(200));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(
        lan.notify_times(b, "VI_1", NotifyState::Backup)
            .last()
            .copied(),
        Some(ta + lan.delay)
    );
    assert!(!lan.has_vip(b, vip()));
}

#[test]
fn seed_pair_nopreempt_fault_moves_vip_and_it_stays_after_recovery() {
    let mut lan = Lan::new(5);
    let t0 = lan.now;
    let n1 = lan.add_node(
        "lwz1",
        node_spec(vec![seed_instance(100, 152, 156)]),
        eth1(152),
    );
    let n2 = lan.add_node(
        "lwz2",
        node_spec(vec![seed_instance(90, 156, 152)]),
        eth1(156),
    );
    // Weight-0 track script: INIT until its first result (no notify yet).
    assert_eq!(lan.state(n1, "VI_NG"), State::Init);
    assert!(
        lan.notify_times(n1, "VI_NG", NotifyState::Backup)
            .is_empty()
    );
    lan.input(n1, script_update("chk_ng", true));
    lan.input(n2, script_update("chk_ng", true));
    assert_eq!(lan.state(n1, "VI_NG"), State::Backup);
    // keepalived compat: unicast instance leaving its script wait announces its own address.
    assert!(
        lan.actions_since(n1, t0)
            .iter()
            .any(|a| matches!(a, Action::SendGarp { addr, .. } if *addr == ipa(152)))
    );
    lan.drive_for(secs(20));
    // advert_int 2: 3 × 2 s + (256 − 100)/256 s.
    assert_eq!(
        first_master(&lan, n1, "VI_NG"),
        Some(t0 + secs(6) + skew_v2(100))
    );
    assert_eq!(lan.masters(76), vec![n1]);
    let seed_vip: IpAddr = "10.16.200.200".parse().unwrap();
    assert!(lan.has_vip(n1, seed_vip));

    // chk_ng fails on node1: FAULT, priority-0 advert, node2 takes over after its skew.
    let tf = lan.now;
    lan.input(n1, script_update("chk_ng", false));
    assert_eq!(lan.state(n1, "VI_NG"), State::Fault);
    assert_eq!(
        lan.adverts_sent(n1).last().copied(),
        Some((tf, 0)),
        "priority 0 on entering FAULT"
    );
    assert!(!lan.has_vip(n1, seed_vip));
    lan.drive_for(secs(5));
    assert_eq!(
        first_master(&lan, n2, "VI_NG"),
        Some(tf + lan.delay + skew_v2(90))
    );
    assert!(lan.has_vip(n2, seed_vip));

    // The script recovers: node1 comes back as BACKUP and, nopreempt, leaves the VIP alone.
    let tr = lan.now;
    lan.input(n1, script_update("chk_ng", true));
    assert_eq!(
        lan.notify_times(n1, "VI_NG", NotifyState::Backup).last(),
        Some(&tr)
    );
    lan.drive_for(secs(60));
    assert_eq!(lan.masters(76), vec![n2]);
    assert!(lan.has_vip(n2, seed_vip) && !lan.has_vip(n1, seed_vip));
    assert_eq!(lan.state(n1, "VI_NG"), State::Backup);
    let st = lan.nodes[n1].node.instance("VI_NG").unwrap().stats;
    assert_eq!(st.auth_failure, 0);
    assert!(st.advert_rcvd >= 25);
}

#[test]
fn preempt_delay_holds_preemption_for_the_configured_time() {
    let mut lan = Lan::new(6);
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let t1 = lan.now;
    let mut s = inst(200);
    s.preempt_delay = secs(10);
    let a = add(&mut lan, 1, s);
    lan.drive_for(secs(30));
    let arrivals: Vec<_> = lan
        .adverts_sent(b)
        .iter()
        .map(|(t, _)| *t + lan.delay)
        .filter(|t| *t > t1)
        .collect();
    let tf = arrivals[0];
    // Adverts keep being accepted until tf + 10 s; the last one accepted is tf + 9 s.
    assert_eq!(
        first_master(&lan, a, "VI_1"),
        Some(tf + secs(9) + secs(3) + skew_v2(200))
    );
    assert_eq!(lan.masters(51), vec![a]);
}

#[test]
fn address_owner_starts_master_immediately() {
    let mut lan = Lan::new(7);
    let t0 = lan.now;
    let b = add(&mut lan, 2, inst(100));
    let mut s = inst(255);
    s.initial_master = true;
    let a = add(&mut lan, 1, s);
    assert_eq!(first_master(&lan, a, "VI_1"), Some(t0));
    assert!(lan.notify_times(a, "VI_1", NotifyState::Backup).is_empty());
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(first_master(&lan, b, "VI_1"), None);
}

#[test]
fn equal_priorities_higher_address_wins() {
    let mut lan = Lan::new(8);
    let t0 = lan.now;
    let a = add(&mut lan, 1, inst(100));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    // Both time out at the same instant; RFC 5798 §6.4.3: the higher primary address wins.
    assert_eq!(
        first_master(&lan, a, "VI_1"),
        Some(t0 + secs(3) + skew_v2(100))
    );
    assert_eq!(lan.masters(51), vec![b]);
    assert!(lan.has_vip(b, vip()) && !lan.has_vip(a, vip()));
    assert_eq!(
        lan.nodes[a]
            .node
            .instance("VI_1")
            .unwrap()
            .stats
            .release_master,
        1
    );
    // keepalived compat: the winner answered the lower advert with GARPs (5 now, 5 later).
    let tm = t0 + secs(3) + skew_v2(100) + lan.delay;
    let garps = |at| {
        lan.trace
            .iter()
            .filter(|e| e.node == b && e.at == at)
            .filter(|e| matches!(e.action, Action::SendGarp { .. }))
            .count()
    };
    assert_eq!(garps(tm), 5);
    assert_eq!(garps(tm + secs(5)), 5);
}

#[test]
fn partition_then_heal_leaves_one_master_within_one_advert_interval() {
    let mut lan = Lan::new(9);
    let a = add(&mut lan, 1, inst(200));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    lan.partition(a, b, true);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a, b], "split brain while partitioned");
    lan.heal_all();
    lan.drive_for(secs(1) + us(2 * 100));
    assert_eq!(lan.masters(51), vec![a]);
    assert!(lan.has_vip(a, vip()) && !lan.has_vip(b, vip()));
}

#[test]
fn tracker_weight_crossing_the_peer_priority_moves_mastership() {
    let mut lan = Lan::new(10);
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", -20)];
    let a = add(&mut lan, 1, s);
    let b = add(&mut lan, 2, inst(90));
    lan.input(a, script_update("chk", true));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    let t = lan.now;
    lan.input(a, script_update("chk", false));
    assert_eq!(lan.nodes[a].node.instance_states()[0].2, 80);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    // B discards A's priority-80 adverts: its timer runs from A's last priority-100 advert.
    let last100 = lan
        .adverts_sent(a)
        .iter()
        .rfind(|(at, p)| *at <= t && *p == 100)
        .unwrap()
        .0;
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(last100 + lan.delay + secs(3) + skew_v2(90))
    );
    // Recovery: A back to 100 preempts B.
    let t2 = lan.now;
    lan.input(a, script_update("chk", true));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    let last_b = lan
        .adverts_sent(b)
        .iter()
        .rfind(|(at, _)| *at + lan.delay <= t2)
        .unwrap()
        .0;
    assert_eq!(
        last_master(&lan, a, "VI_1"),
        Some(last_b + lan.delay + secs(3) + skew_v2(100))
    );
}

#[test]
fn link_down_means_fault_and_link_up_recovers_through_backup() {
    let mut lan = Lan::new(11);
    let a = add(&mut lan, 1, inst(200));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let t = lan.now;
    lan.set_link_up(a, "eth0", false);
    assert_eq!(lan.state(a, "VI_1"), State::Fault);
    assert_eq!(lan.notify_times(a, "VI_1", NotifyState::Fault), vec![t]);
    assert!(!lan.has_vip(a, vip()));
    // The priority-0 advert cannot leave a dead link: B needs the full down interval.
    let last = lan
        .adverts_sent(a)
        .iter()
        .rfind(|(_, p)| *p != 0)
        .unwrap()
        .0;
    lan.drive_for(secs(10));
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(last + lan.delay + secs(3) + skew_v2(100))
    );
    // While FAULT: no adverts.
    assert!(lan.adverts_sent(a).iter().all(|(at, _)| *at <= t));
    let tu = lan.now;
    lan.set_link_up(a, "eth0", true);
    assert_eq!(
        lan.notify_times(a, "VI_1", NotifyState::Backup).last(),
        Some(&tu)
    );
    lan.drive_for(secs(10));
    assert_eq!(
        last_master(&lan, a, "VI_1"),
        Some(tu + secs(3) + skew_v2(200))
    );
    assert_eq!(lan.masters(51), vec![a]);
}

#[test]
fn v2_advert_interval_mismatch_is_dropped_and_counted() {
    let mut lan = Lan::new(12);
    let a = add(&mut lan, 1, inst(200));
    let mut s = inst(100);
    s.advert_int = Centis(200);
    let b = add(&mut lan, 2, s);
    lan.drive_for(secs(20));
    // RFC 3768 §7.1: MUST be discarded, so both end up MASTER.
    assert_eq!(lan.masters(51), vec![a, b]);
    let sb = lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert!(sb.advert_interval_err > 0);
    assert_eq!(sb.advert_rcvd, 0);
}

#[test]
fn v3_backup_adopts_master_interval_and_reverts_when_master() {
    let mut lan = Lan::new(13);
    let mut sa = inst(200);
    sa.version = Version::V3;
    sa.advert_int = Centis(100);
    let mut sb = inst(100);
    sb.version = Version::V3;
    sb.advert_int = Centis(300);
    let a = add(&mut lan, 1, sa);
    let b = add(&mut lan, 2, sb);
    lan.drive_for(secs(20));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(
        lan.nodes[b].node.instance("VI_1").unwrap().master_adver_int,
        Centis(100)
    );
    lan.crash(a);
    let last = lan.adverts_sent(a).last().unwrap().0;
    lan.drive_for(secs(20));
    // RFC 5798 §6.1: Skew_Time = ((256 − 100) × 1 s) / 256 with the adopted interval.
    let tb = first_master(&lan, b, "VI_1").unwrap();
    assert_eq!(tb, last + lan.delay + secs(3) + us(609_375));
    let ib = lan.nodes[b].node.instance("VI_1").unwrap();
    assert_eq!(ib.master_adver_int, Centis(300));
    let sent: Vec<_> = lan
        .adverts_sent(b)
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= tb)
        .collect();
    assert_eq!(sent[1] - sent[0], secs(3));
}

#[test]
fn reload_with_identical_config_makes_no_actions() {
    let mut lan = Lan::new(14);
    let a = add(&mut lan, 1, inst(200));
    let _b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let before = lan.nodes[a].node.instance("VI_1").unwrap().stats;
    let t = lan.now;
    lan.input(a, Input::Reload(node_spec(vec![inst(200)])));
    assert!(lan.actions_since(a, t).is_empty());
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.nodes[a].node.instance("VI_1").unwrap().stats, before);
    lan.drive_for(secs(5));
    assert!(non_advert_actions(&lan, a, t).is_empty());
    assert_eq!(lan.masters(51), vec![a]);
}

#[test]
fn reload_renamed_instance_keeps_master_without_vip_flap() {
    let mut lan = Lan::new(15);
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    let t = lan.now;
    let mut s = inst(200);
    s.name = "VI_renamed".into();
    lan.input(a, Input::Reload(node_spec(vec![s])));
    assert_eq!(lan.state(a, "VI_renamed"), State::Master);
    lan.drive_for(secs(5));
    assert!(non_advert_actions(&lan, a, t).is_empty());
    assert!(lan.has_vip(a, vip()));
    assert_eq!(
        lan.nodes[a]
            .node
            .instance("VI_renamed")
            .unwrap()
            .stats
            .become_master,
        1
    );
}

#[test]
fn reload_of_a_master_adds_and_removes_only_changed_vips() {
    let mut lan = Lan::new(16);
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    let t = lan.now;
    let vip2: IpAddr = "10.0.0.101".parse().unwrap();
    let mut s = inst(200);
    s.vips = vec![VipSpec::new(vip2)];
    lan.input(a, Input::Reload(node_spec(vec![s])));
    let acts = non_advert_actions(&lan, a, t);
    assert!(matches!(&acts[0], Action::DelVip { vip, .. } if vip.addr == IpAddr::V4(VIP)));
    assert!(matches!(&acts[1], Action::AddVip { vip, .. } if vip.addr == vip2));
    assert!(
        acts[2..]
            .iter()
            .all(|a| matches!(a, Action::SendGarp { .. }))
    );
    assert!(!acts.iter().any(|a| matches!(a, Action::Notify(_))));
    assert!(lan.has_vip(a, vip2) && !lan.has_vip(a, vip()));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
}

#[test]
fn reload_removing_a_master_resigns_with_priority_zero() {
    let mut lan = Lan::new(17);
    let a = add(&mut lan, 1, inst(200));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let t = lan.now;
    let mut other = inst(200);
    other.vrid = 52;
    other.name = "VI_2".into();
    lan.input(a, Input::Reload(node_spec(vec![other])));
    let acts = lan.actions_since(a, t);
    assert!(
        matches!(acts[0], Action::SendAdvert { advert, .. } if advert.priority == 0 && advert.vrid == 51)
    );
    assert!(matches!(acts[1], Action::DelVip { .. }));
    assert!(
        matches!(acts[2], Action::Notify(n) if n.name == "VI_1" && n.state == NotifyState::Fault)
    );
    assert_eq!(lan.state(a, "VI_2"), State::Backup);
    lan.drive_for(secs(2));
    assert_eq!(
        first_master(&lan, b, "VI_1"),
        Some(t + lan.delay + skew_v2(100))
    );
}

#[test]
fn auth_mismatch_is_dropped_and_counted() {
    let mut lan = Lan::new(18);
    let mut sa = inst(200);
    sa.auth = Auth::Pass(*b"secret1\0");
    let mut sb = inst(100);
    sb.auth = Auth::Pass(*b"secret2\0");
    let mut sc = inst(50);
    sc.auth = Auth::None;
    let a = add(&mut lan, 1, sa);
    let b = add(&mut lan, 2, sb);
    let c = add(&mut lan, 3, sc);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a, b, c]);
    let sb = lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert!(sb.auth_failure > 0, "{sb:?}");
    assert!(sb.authtype_mismatch > 0, "{sb:?}");
    assert_eq!(sb.advert_rcvd, 0);
    let dump = lan.nodes[b].node.dump_stats();
    assert!(dump.contains("  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: "));
}

#[test]
fn vip_list_mismatch_is_accepted_and_counted() {
    let mut lan = Lan::new(19);
    let mut sa = inst(200);
    sa.vips.push(VipSpec::new("10.0.0.150".parse().unwrap()));
    let a = add(&mut lan, 1, sa);
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(20));
    // keepalived ≥ 2.3.3: no split brain over differing VIP lists.
    assert_eq!(lan.masters(51), vec![a]);
    let sb = lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert!(sb.addr_list_err > 0);
    assert!(sb.advert_rcvd > 0);
}

#[test]
fn multicast_advert_with_ttl_below_255_is_dropped() {
    let mut lan = Lan::new(20);
    let b = add(&mut lan, 2, inst(100));
    let adv = lan.nodes[b]
        .node
        .instance("VI_1")
        .unwrap()
        .build_advert(200);
    let now = lan.now;
    lan.nodes[b].node.handle_advert(
        now,
        "eth0",
        rkeepalived::vrrp::spec::Family::V4,
        ipa(1),
        "224.0.0.18".parse().unwrap(),
        64,
        &adv,
    );
    let st = lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert_eq!(st.ip_ttl_err, 1);
    assert_eq!(st.advert_rcvd, 0);
}

#[test]
fn vip_deleted_externally_sends_master_to_backup() {
    let mut lan = Lan::new(21);
    let a = add(&mut lan, 1, inst(200));
    let _b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let t = lan.now;
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: vip(),
            prefix_len: 32,
        },
    );
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
    lan.drive_for(secs(5));
    // keepalived compat: A resigned with priority 0 and re-armed its own timer to its skew
    // time, shorter than B's, so A re-takes MASTER first and re-adds the VIP; B never holds
    // it (no dual master).
    assert_eq!(last_master(&lan, a, "VI_1"), Some(t + skew_v2(200)));
    assert!(lan.has_vip(a, vip()));
    assert_eq!(last_master(&lan, _b, "VI_1"), None);
    assert!(!lan.has_vip(_b, vip()));
}

#[test]
fn no_track_vip_deleted_externally_keeps_master() {
    let mut lan = Lan::new(22);
    let mut s = inst(200);
    s.vips[0].no_track = true;
    let a = add(&mut lan, 1, s);
    lan.drive_for(secs(10));
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: vip(),
            prefix_len: 32,
        },
    );
    assert_eq!(lan.state(a, "VI_1"), State::Master);
}

fn two_if_node(lan: &mut Lan, last: u8, prio: u8) -> usize {
    let mut v1 = inst(prio);
    v1.sync_group = Some("G".into());
    let mut v2 = inst(prio);
    v2.name = "VI_2".into();
    v2.interface = "eth1".into();
    v2.vrid = 52;
    v2.vips = vec![VipSpec::new("10.1.0.100".parse().unwrap())];
    v2.sync_group = Some("G".into());
    let mut spec = node_spec(vec![v1, v2]);
    spec.sync_groups = vec![SyncGroupSpec {
        name: "G".into(),
        members: vec!["VI_1".into(), "VI_2".into()],
        ..Default::default()
    }];
    let ifs = vec![
        SimIf {
            link: LinkState::up_v4("eth0", ip(last)),
            segment: 0,
        },
        SimIf {
            link: LinkState::up_v4("eth1", std::net::Ipv4Addr::new(10, 1, 0, last)),
            segment: 1,
        },
    ];
    lan.add_node(&format!("n{last}"), spec, ifs)
}

#[test]
fn sync_group_members_fail_over_together() {
    let mut lan = Lan::new(23);
    let a = two_if_node(&mut lan, 1, 200);
    let b = two_if_node(&mut lan, 2, 100);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);
    let group_master = lan.trace.iter().any(|e| {
        e.node == a
            && matches!(&e.action, Action::Notify(n) if n.kind == NotifyKind::Group && n.state == NotifyState::Master)
    });
    assert!(group_master);
    // eth1 fails on A: VI_2 FAULT drags VI_1 into FAULT; B takes both.
    lan.set_link_up(a, "eth1", false);
    assert_eq!(lan.state(a, "VI_1"), State::Fault);
    assert_eq!(lan.state(a, "VI_2"), State::Fault);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    assert_eq!(lan.masters(52), vec![b]);
    lan.set_link_up(a, "eth1", true);
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.masters(52), vec![a]);
}

#[test]
fn generic_notify_gets_four_arguments_after_the_specific_one() {
    use rkeepalived::vrrp::spec::ScriptCmd;
    let mut lan = Lan::new(24);
    let mut s = inst(100);
    s.notify.master = Some(ScriptCmd {
        argv: vec!["/bin/m".into()],
        ..Default::default()
    });
    s.notify.generic = Some(ScriptCmd {
        argv: vec!["/bin/g".into(), "x".into()],
        ..Default::default()
    });
    let a = add(&mut lan, 1, s);
    lan.drive_for(secs(5));
    let n = lan
        .trace
        .iter()
        .filter(|e| e.node == a)
        .find_map(|e| match &e.action {
            Action::Notify(n) if n.state == NotifyState::Master => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(n.scripts[0].argv, vec!["/bin/m"]);
    assert_eq!(
        n.scripts[1].argv,
        vec!["/bin/g", "x", "INSTANCE", "VI_1", "MASTER", "100"]
    );
    assert_eq!(n.fifo_line(), "INSTANCE \"VI_1\" MASTER 100\n");
}

#[test]
fn dumps_show_state_and_counters() {
    let mut lan = Lan::new(25);
    let a = add(&mut lan, 1, inst(200));
    let _b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let n = &lan.nodes[a].node;
    let j = n.dump_json(lan.now);
    assert!(j.starts_with("[{\"data\":{\"iname\":\"VI_1\""), "{j}");
    assert!(j.contains("\"state\":2"));
    assert!(
        j.contains("\"vips\":[\"10.0.0.100\\/32 dev eth0 scope global set\"]"),
        "{j}"
    );
    assert!(j.contains("\"stats\":{\"advert_rcvd\":0,\"advert_sent\":"));
    let d = n.dump_data(lan.now);
    for want in [
        " VRRP Instance = VI_1\n   VRRP Version = 2\n   State = MASTER\n   Wantstate = MASTER\n",
        "   Interface = eth0\n",
        "   Gratuitous ARP delay = 5\n",
        "   Virtual Router ID = 51\n",
        "   Virtual IP (1):\n     10.0.0.100/32 dev eth0 scope global set\n",
        "   Advert interval = 1 sec\n",
        "   Master down timer = 3218750 usecs\n",
    ] {
        assert!(d.contains(want), "{want:?} not in\n{d}");
    }
    let s = n.dump_stats();
    assert!(s.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 7\n  Became master: 1\n"), "{s}");
    let mut spec2 = node_spec(vec![inst(200)]);
    spec2.globals.json_version = 2;
    let n2 = rkeepalived::vrrp::node::Node::new(spec2, lan.now);
    assert!(n2.dump_json(lan.now).starts_with("{\"vrrp\":[{\"data\":"));
    let mut n = lan.nodes.remove(a).node;
    n.clear_stats();
    assert!(n.dump_stats().contains("    Sent: 0\n"));
}

/// The same elections with adverts travelling as bytes (`wire::emit` → `Input::Packet` →
/// `wire::parse`): v2 PASS unicast (the seed), v3 multicast IPv4 with the pseudo-header
/// checksum, v3 unicast, and v3 over IPv6. Needs the wire bodies (wire branch).
#[test]
fn elections_work_over_the_wire_bytes() {
    // Seed pair.
    let mut lan = Lan::new(30);
    lan.use_wire = true;
    let n1 = lan.add_node(
        "lwz1",
        node_spec(vec![seed_instance(100, 152, 156)]),
        eth1(152),
    );
    let n2 = lan.add_node(
        "lwz2",
        node_spec(vec![seed_instance(90, 156, 152)]),
        eth1(156),
    );
    lan.input(n1, script_update("chk_ng", true));
    lan.input(n2, script_update("chk_ng", true));
    lan.drive_for(secs(20));
    assert_eq!(lan.masters(76), vec![n1]);
    let st = lan.nodes[n2].node.instance("VI_NG").unwrap().stats;
    assert!(st.advert_rcvd >= 6, "{st:?}");
    assert_eq!(
        st.packet_len_err + st.auth_failure + st.authtype_mismatch,
        0
    );
    lan.input(n1, script_update("chk_ng", false));
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(76), vec![n2]);

    // v3 multicast and unicast over IPv4.
    for unicast in [false, true] {
        let mut lan = Lan::new(31);
        lan.use_wire = true;
        let mk = |prio: u8, me: u8, peer: u8| {
            let mut s = inst(prio);
            s.version = Version::V3;
            s.advert_int = Centis(50);
            if unicast {
                s.unicast_src = Some(ipa(me));
                s.unicast_peers = vec![rkeepalived::vrrp::spec::PeerSpec {
                    addr: ipa(peer),
                    min_ttl: None,
                    max_ttl: None,
                }];
            }
            s
        };
        let a = add(&mut lan, 1, mk(200, 1, 2));
        let b = add(&mut lan, 2, mk(100, 2, 1));
        lan.drive_for(secs(5));
        assert_eq!(lan.masters(51), vec![a], "unicast={unicast}");
        let st = lan.nodes[b].node.instance("VI_1").unwrap().stats;
        assert!(st.advert_rcvd > 5, "unicast={unicast} {st:?}");
    }

    // v3 over IPv6 (link-local sources, ff02::12).
    let mut lan = Lan::new(32);
    lan.use_wire = true;
    let v6 = |prio: u8| {
        let mut s = inst(prio);
        s.version = Version::V3;
        s.family = rkeepalived::vrrp::spec::Family::V6;
        s.mcast_dst = "ff02::12".parse().unwrap();
        s.vips = vec![VipSpec::new("fe80::100".parse().unwrap())];
        s
    };
    let link6 = |last: u16| {
        let mut l = LinkState::up_v4("eth0", ip(last as u8));
        l.ipv6_ll = Some(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last));
        vec![SimIf {
            link: l,
            segment: 0,
        }]
    };
    let a = lan.add_node("a", node_spec(vec![v6(200)]), link6(1));
    let b = lan.add_node("b", node_spec(vec![v6(100)]), link6(2));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert!(
        lan.nodes[b]
            .node
            .instance("VI_1")
            .unwrap()
            .stats
            .advert_rcvd
            > 3
    );
}

#[test]
fn ipv6_instances_elect_on_link_local_addresses() {
    let mut lan = Lan::new(33);
    let v6 = |prio: u8| {
        let mut s = inst(prio);
        s.version = Version::V3;
        s.family = rkeepalived::vrrp::spec::Family::V6;
        s.mcast_dst = "ff02::12".parse().unwrap();
        s.vips = vec![VipSpec::new("fe80::100".parse().unwrap())];
        s
    };
    let link6 = |last: u16| {
        let mut l = LinkState::up_v4("eth0", ip(last as u8));
        l.ipv6_ll = Some(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last));
        vec![SimIf {
            link: l,
            segment: 0,
        }]
    };
    // Equal priorities: the higher link-local address wins.
    let _a = lan.add_node("a", node_spec(vec![v6(100)]), link6(1));
    let b = lan.add_node("b", node_spec(vec![v6(100)]), link6(2));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![b]);
    let sent = lan.trace.iter().find_map(|e| match &e.action {
        Action::SendAdvert { src, dst, .. } if e.node == b => Some((*src, *dst)),
        _ => None,
    });
    assert_eq!(
        sent,
        Some(("fe80::2".parse().unwrap(), "ff02::12".parse().unwrap()))
    );
}

#[test]
fn startup_delay_holds_instances_in_init() {
    let mut lan = Lan::new(34);
    let t0 = lan.now;
    let mut spec = node_spec(vec![inst(100)]);
    spec.globals.startup_delay = secs(5);
    let a = lan.add_node("a", spec, eth0(1));
    assert_eq!(lan.state(a, "VI_1"), State::Init);
    lan.drive_for(secs(20));
    assert_eq!(
        lan.notify_times(a, "VI_1", NotifyState::Backup),
        vec![t0 + secs(5)]
    );
    assert_eq!(
        first_master(&lan, a, "VI_1"),
        Some(t0 + secs(5) + secs(3) + skew_v2(100))
    );
}

#[test]
fn instance_waits_in_init_until_its_interface_is_reported() {
    let mut lan = Lan::new(35);
    let a = lan.add_node("a", node_spec(vec![inst(100)]), vec![]);
    lan.drive_for(secs(10));
    assert_eq!(lan.state(a, "VI_1"), State::Init);
    let t = lan.now;
    lan.input(a, Input::Link(LinkState::up_v4("eth0", ip(1))));
    assert_eq!(lan.notify_times(a, "VI_1", NotifyState::Backup), vec![t]);
    // Interface without an IPv4 address: FAULT (keepalived: "no IPv4 address for interface").
    let mut l = LinkState::up_v4("eth0", ip(1));
    l.ipv4.clear();
    lan.input(a, Input::Link(l));
    assert_eq!(lan.state(a, "VI_1"), State::Fault);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let mut lan = Lan::new(36);
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    let adv = lan.nodes[a].node.instance("VI_1").unwrap().build_advert(0);
    let t = lan.now;
    lan.nodes[a].node.handle_advert(
        t,
        "eth0",
        rkeepalived::vrrp::spec::Family::V4,
        ipa(9),
        "224.0.0.18".parse().unwrap(),
        255,
        &adv,
    );
    let a0 = lan.nodes[a].node.poll_action();
    assert!(matches!(a0, Some(Action::SendAdvert { advert, .. }) if advert.priority == 200));
    assert_eq!(
        lan.nodes[a]
            .node
            .instance("VI_1")
            .unwrap()
            .stats
            .pri_zero_rcvd,
        1
    );
}

#[test]
fn weight_zero_tracker_at_startup_goes_to_fault_without_backup_first() {
    let mut lan = Lan::new(37);
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", 0)];
    let a = add(&mut lan, 1, s);
    let t = lan.now;
    lan.input(a, script_update("chk", false));
    assert_eq!(lan.state(a, "VI_1"), State::Fault);
    assert_eq!(lan.notify_times(a, "VI_1", NotifyState::Fault), vec![t]);
    assert!(lan.notify_times(a, "VI_1", NotifyState::Backup).is_empty());
    lan.input(a, script_update("chk", true));
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
}

#[test]
fn priority_change_is_published_when_notify_priority_changes_is_set() {
    let mut lan = Lan::new(38);
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", -30)];
    let mut spec = node_spec(vec![s]);
    spec.globals.notify_priority_changes = true;
    let a = lan.add_node("a", spec, eth0(1));
    lan.input(a, script_update("chk", true));
    lan.drive_for(secs(5));
    lan.input(a, script_update("chk", false));
    let n = lan
        .trace
        .iter()
        .rev()
        .find_map(|e| match &e.action {
            Action::Notify(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(n.fifo_line(), "INSTANCE \"VI_1\" MASTER_PRIORITY 70\n");
    assert!(n.scripts.is_empty());
}

#[test]
fn rogue_owner_that_never_yields_makes_us_step_down_to_254() {
    let mut lan = Lan::new(40);
    let owner = |ignore: bool| {
        let mut s = inst(255);
        s.initial_master = true;
        s.owner_ignore_adverts = ignore;
        s
    };
    // B (10.0.0.1) is an RFC-literal owner that ignores adverts; A (10.0.0.2) wins the
    // address tie-break but B never yields.
    let b = add(&mut lan, 1, owner(true));
    let a = add(&mut lan, 2, owner(false));
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![b]);
    let ia = lan.nodes[a].node.instance("VI_1").unwrap();
    assert!(ia.owner_demoted);
    assert_eq!(ia.priority, 254);
    // B goes away: A takes over and is the owner again.
    lan.crash(b);
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![a]);
    let ia = lan.nodes[a].node.instance("VI_1").unwrap();
    assert!(!ia.owner_demoted);
    assert_eq!(ia.priority, 255);
}

#[test]
fn two_keepalived_owners_resolve_by_address() {
    let mut lan = Lan::new(41);
    let owner = || {
        let mut s = inst(255);
        s.initial_master = true;
        s
    };
    let _a = add(&mut lan, 1, owner());
    let b = add(&mut lan, 2, owner());
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![b]);
    assert!(!lan.nodes[b].node.instance("VI_1").unwrap().owner_demoted);
}

#[test]
fn check_unicast_src_and_peer_ttl_range_reject_without_resetting_the_timer() {
    use rkeepalived::vrrp::spec::{Family, PeerSpec};
    let mut lan = Lan::new(42);
    let t0 = lan.now;
    let mut s = inst(100);
    s.unicast_src = Some(ipa(1));
    s.unicast_peers = vec![PeerSpec {
        addr: ipa(2),
        min_ttl: Some(250),
        max_ttl: None,
    }];
    s.check_unicast_src = true;
    let a = add(&mut lan, 1, s);
    let adv = lan.nodes[a]
        .node
        .instance("VI_1")
        .unwrap()
        .build_advert(200);
    for k in 1..=3u64 {
        let now = t0 + secs(k);
        lan.drive_until(now);
        // From a stranger, and from the peer with a TTL below its min_ttl.
        lan.nodes[a]
            .node
            .handle_advert(now, "eth0", Family::V4, ipa(9), ipa(1), 255, &adv);
        lan.nodes[a]
            .node
            .handle_advert(now, "eth0", Family::V4, ipa(2), ipa(1), 64, &adv);
    }
    lan.drive_for(secs(5));
    assert_eq!(
        first_master(&lan, a, "VI_1"),
        Some(t0 + secs(3) + skew_v2(100))
    );
    let st = lan.nodes[a].node.instance("VI_1").unwrap().stats;
    assert_eq!(st.ip_ttl_err, 3);
    // keepalived counts these as received (type, version and length were fine).
    assert_eq!(st.advert_rcvd, 6);
}

#[test]
fn sync_group_goes_master_only_when_every_member_wants_it() {
    let mut lan = Lan::new(43);
    // A runs only VI_1 (master). B runs the group {VI_1, VI_2}; nobody else runs VI_2.
    let a = add(&mut lan, 1, inst(200));
    let b = two_if_node(&mut lan, 2, 100);
    lan.drive_for(secs(20));
    assert_eq!(lan.masters(51), vec![a]);
    // VI_2's timer ran out long ago, but VI_1 still hears A: the group holds VI_2 back.
    assert_eq!(lan.state(b, "VI_2"), State::Backup);
    assert!(lan.nodes[b].node.instance("VI_2").unwrap().want_master);
    lan.crash(a);
    lan.drive_for(secs(10));
    let t1 = first_master(&lan, b, "VI_1").unwrap();
    assert_eq!(first_master(&lan, b, "VI_2"), Some(t1));
    assert_eq!(lan.masters(52), vec![b]);
}

/// The GARPs / NAs `node` sent, as (instant, interface, address), in trace order.
fn garps_of(lan: &Lan, node: usize) -> Vec<(Instant, String, IpAddr)> {
    lan.trace
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match &e.action {
            Action::SendGarp { ifname, addr } => Some((e.at, ifname.clone(), *addr)),
            _ => None,
        })
        .collect()
}

#[test]
fn vrrp_garp_interval_paces_announcements_per_interface() {
    let mut lan = Lan::new(44);
    let mut spec = node_spec(vec![inst(100)]);
    spec.globals.garp_interval = us(100_000);
    let a = lan.add_node("a", spec, eth0(1));
    lan.drive_for(secs(6));
    let t = first_master(&lan, a, "VI_1").unwrap();
    let garps: Vec<_> = garps_of(&lan, a).into_iter().map(|g| g.0).collect();
    // keepalived compat (observed with 2.2.7 on the wire): the first of the 5 goes out at
    // once, the second waits its turn, and the other 3 find the address already waiting.
    assert_eq!(garps, vec![t, t + us(100_000)]);
    // A VIP removed while GARPs are queued: the queue is dropped with it.
    let mut lan = Lan::new(45);
    let mut spec = node_spec(vec![inst(100)]);
    spec.globals.garp_interval = us(100_000);
    let a = lan.add_node("a", spec, eth0(1));
    lan.drive_for(secs(3) + skew_v2(100));
    let t = first_master(&lan, a, "VI_1").unwrap();
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: vip(),
            prefix_len: 32,
        },
    );
    // Until this lone node re-takes MASTER at its skew time (keepalived compat), nothing of
    // the old queue may go out.
    lan.drive_for(skew_v2(100).saturating_sub(us(1)));
    let after = lan
        .trace
        .iter()
        .filter(|e| e.node == a && e.at > t && matches!(e.action, Action::SendGarp { .. }))
        .count();
    assert_eq!(after, 0);
}

/// keepalived compat (keepalived 2.2.7 observed with tcpdump, same shape in
/// tests/netns_garp.rs): a `garp_group` interface paces GARPs and unsolicited NAs on two
/// separate timelines, sends an announcement at once when its timeline is free, marks the
/// address waiting otherwise (a repeat for a waiting address is dropped), and serves waiting
/// addresses one per interval in configuration order. An interface outside the group keeps
/// the global pacing (here none).
#[test]
fn garp_group_paces_garps_and_nas_of_its_interface_separately() {
    use rkeepalived::vrrp::spec::GarpDelay;
    let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut i = inst(100);
    i.garp.master_delay = Duration::ZERO;
    i.garp.master_repeat = 2;
    for a in ["10.0.0.101", "10.0.0.102"] {
        i.vips.push(VipSpec::new(v4(a)));
    }
    let mut other = VipSpec::new(v4("10.1.0.100"));
    other.dev = Some("eth1".into());
    i.vips.push(other);
    for a in ["fd00::200", "fd00::201"] {
        let mut v = VipSpec::new(v4(a));
        v.prefix_len = 64;
        v.dev = Some("eth0".into());
        i.excluded_vips.push(v);
    }
    let mut spec = node_spec(vec![i]);
    spec.globals.garp_groups.insert(
        "eth0".into(),
        GarpDelay {
            garp_interval: us(200_000),
            gna_interval: us(300_000),
        },
    );
    let mut ifs = eth0(1);
    ifs.push(SimIf {
        link: LinkState::up_v4("eth1", "10.1.0.1".parse().unwrap()),
        segment: 1,
    });
    let mut lan = Lan::new(46);
    let a = lan.add_node("a", spec, ifs);
    lan.drive_for(secs(6));
    let t = first_master(&lan, a, "VI_1").unwrap();
    let mut got = garps_of(&lan, a);
    got.sort();
    let ms = |n: u64| t + us(n * 1000);
    let mut want: Vec<(Instant, String, IpAddr)> = [
        (ms(0), "eth0", "10.0.0.100"),
        (ms(200), "eth0", "10.0.0.100"),
        (ms(400), "eth0", "10.0.0.101"),
        (ms(600), "eth0", "10.0.0.102"),
        (ms(0), "eth1", "10.1.0.100"),
        (ms(0), "eth1", "10.1.0.100"),
        (ms(0), "eth0", "fd00::200"),
        (ms(300), "eth0", "fd00::200"),
        (ms(600), "eth0", "fd00::201"),
    ]
    .into_iter()
    .map(|(at, i, a)| (at, i.to_string(), v4(a)))
    .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn json_dump_matches_keepalived_2_2_7_byte_for_byte() {
    use rkeepalived::vrrp::spec::{InstanceSpec, PeerSpec, ScriptCmd, ScriptSpec};
    // Captured from Debian's keepalived 2.2.7 (signal 36) for the same configuration: a
    // unicast nopreempt BACKUP that became MASTER and sent two adverts.
    let golden = r#"[{"data":{"iname":"VI_1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth1","master_priority":0,"last_transition":1795577751.753234,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":51,"base_priority":100,"effective_priority":100,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":true,"preempt_delay":0,"state":2,"wantstate":2,"version":2,"smtp_alert":false,"notify_deleted":false,"vips":["10.99.0.200\/24 dev eth1 scope global label eth1:1 set"],"track_script":["'\/usr\/bin\/true'"],"auth_type":1,"auth_data":"1111"},"stats":{"advert_rcvd":0,"advert_sent":2,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]"#;
    let mut s = InstanceSpec::new("VI_1", "eth1", 51);
    s.nopreempt = true;
    s.auth = Auth::Pass(*b"1111\0\0\0\0");
    let mut v = VipSpec::new("10.99.0.200".parse().unwrap());
    v.prefix_len = 24;
    v.dev = Some("eth1".into());
    v.label = Some("eth1:1".into());
    s.vips = vec![v];
    s.unicast_src = Some("10.99.0.1".parse().unwrap());
    s.unicast_peers = vec![PeerSpec {
        addr: "10.99.0.2".parse().unwrap(),
        min_ttl: None,
        max_ttl: None,
    }];
    s.track_scripts = vec![script("chk_ng", 0)];
    let mut spec = node_spec(vec![s]);
    spec.scripts = vec![ScriptSpec {
        name: "chk_ng".into(),
        cmd: ScriptCmd {
            argv: vec!["/usr/bin/true".into()],
            ..Default::default()
        },
        ..Default::default()
    }];
    let mut lan = Lan::new(46);
    let a = lan.add_node(
        "a",
        spec,
        vec![SimIf {
            link: LinkState::up_v4("eth1", "10.99.0.1".parse().unwrap()),
            segment: 0,
        }],
    );
    lan.input(a, script_update("chk_ng", true));
    lan.drive_for(secs(5));
    let t = first_master(&lan, a, "VI_1").unwrap();
    lan.nodes[a]
        .node
        .set_epoch_offset(1_795_577_751_753_234 - t.as_micros() as i64);
    // Two adverts sent by t0 + 5 s (at t and t + 1 s).
    let now = lan.now;
    assert_eq!(lan.nodes[a].node.dump_json(now), golden);
}

#[test]
fn echo_of_our_own_vip_deletion_does_not_demote_the_master() {
    let mut lan = Lan::new(47);
    let a = add(&mut lan, 1, inst(200));
    lan.drive_for(secs(10));
    // Reload changes the VIP's label: DelVip + AddVip of the same address.
    let mut s = inst(200);
    s.vips[0].label = Some("eth0:1".into());
    lan.input(a, Input::Reload(node_spec(vec![s])));
    lan.drive_for(us(1_000));
    // The kernel reports the deletion we asked for.
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: vip(),
            prefix_len: 32,
        },
    );
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    // A later deletion by someone else still counts.
    lan.drive_for(secs(5));
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: vip(),
            prefix_len: 32,
        },
    );
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
}

#[test]
fn track_file_contribution_is_capped_at_253_before_other_trackers_count() {
    // keepalived compat: 100 + min(300 × 1, 253) - 200 = 153 (not clamp(100 + 300 - 200) = 200).
    let mut lan = Lan::new(31);
    let mut s = inst(100);
    s.track_files = vec![script("f", 1)];
    s.track_scripts = vec![script("chk", -200)];
    let a = add(&mut lan, 1, s);
    let b = add(&mut lan, 2, inst(180));
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::File {
            name: "f".into(),
            value: 300,
        }),
    );
    lan.input(a, script_update("chk", false));
    assert_eq!(lan.nodes[a].node.instance_states()[0].2, 153);
    lan.drive_for(secs(10));
    // 153 < 180: B wins (with 200, A would have won).
    assert_eq!(lan.masters(51), vec![b]);
    // A value whose contribution is -254 or less is a FAULT.
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::File {
            name: "f".into(),
            value: -254,
        }),
    );
    assert_eq!(lan.state(a, "VI_1"), State::Fault);
}

/// v3 unicast instance on 10.0.0.<me> with peer 10.0.0.<peer>.
fn v3_unicast(prio: u8, me: u8, peer: u8, old: OldUnicastChecksum) -> InstanceSpec {
    let mut s = inst(prio);
    s.version = Version::V3;
    s.unicast_src = Some(ipa(me));
    s.unicast_peers = vec![PeerSpec {
        addr: ipa(peer),
        min_ttl: None,
        max_ttl: None,
    }];
    s.old_unicast_checksum = old;
    s
}

#[test]
fn old_unicast_checksum_peer_is_detected_over_the_wire_and_adopted() {
    // A plays keepalived < 1.3.6 (`old_unicast_checksum`: multicast group in the pseudo-header).
    let mut lan = Lan::new(40);
    lan.use_wire = true;
    let a = add(
        &mut lan,
        1,
        v3_unicast(200, 1, 2, OldUnicastChecksum::Always),
    );
    let b = add(&mut lan, 2, v3_unicast(100, 2, 1, OldUnicastChecksum::Auto));
    assert!(!lan.nodes[b].node.instance("VI_1").unwrap().old_checksum());
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    let ib = lan.nodes[b].node.instance("VI_1").unwrap();
    assert!(ib.old_checksum(), "B switched to the old unicast checksum");
    assert_eq!(ib.stats.chk_err, 0);
    assert!(ib.stats.advert_rcvd > 5);
    // B now sends the old form too: A (which only accepts the old form) hears B when B
    // takes over, and yields back to nobody (single master throughout).
    lan.input(a, Input::Shutdown { release_vips: true });
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![b]);
    let sent = lan.trace.iter().rev().find_map(|e| match &e.action {
        Action::SendAdvert { checksum, .. } if e.node == b => Some(*checksum),
        _ => None,
    });
    assert_eq!(
        sent.map(|c| c.dst),
        Some(IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 18))),
        "pseudo-header destination is the multicast group"
    );
    assert!(
        lan.nodes[b]
            .node
            .dump_data(lan.now)
            .contains("Unicast checksum compatibility = auto")
    );
}

#[test]
fn old_unicast_checksum_never_rejects_old_form_adverts_as_checksum_errors() {
    let mut lan = Lan::new(41);
    lan.use_wire = true;
    let a = add(
        &mut lan,
        1,
        v3_unicast(200, 1, 2, OldUnicastChecksum::Always),
    );
    let b = add(
        &mut lan,
        2,
        v3_unicast(100, 2, 1, OldUnicastChecksum::Never),
    );
    lan.drive_for(secs(10));
    let ib = lan.nodes[b].node.instance("VI_1").unwrap();
    assert!(!ib.old_checksum());
    assert_eq!(ib.stats.advert_rcvd, 0);
    assert!(ib.stats.chk_err > 5, "{:?}", ib.stats);
    // B never hears A, so both are master (the misconfiguration is visible).
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    assert!(
        lan.nodes[b]
            .node
            .dump_data(lan.now)
            .contains(&format!("Errors: checksum {} version 0", ib.stats.chk_err))
    );
    // Two current peers (both default) never switch and see no checksum errors.
    let mut lan = Lan::new(42);
    lan.use_wire = true;
    let a = add(&mut lan, 1, v3_unicast(200, 1, 2, OldUnicastChecksum::Auto));
    let b = add(
        &mut lan,
        2,
        v3_unicast(100, 2, 1, OldUnicastChecksum::Never),
    );
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    for n in [a, b] {
        let i = lan.nodes[n].node.instance("VI_1").unwrap();
        assert!(!i.old_checksum());
        assert_eq!(i.stats.chk_err, 0);
    }
}

#[test]
fn corrupted_checksum_is_counted_and_ipv6_kernel_checksum_is_trusted() {
    use rkeepalived::vrrp::input::RxPacket;
    use rkeepalived::vrrp::spec::Family;
    use rkeepalived::vrrp::wire::{self, Advert, ChecksumCtx, WireAuth};
    let mut lan = Lan::new(43);
    lan.use_wire = true;
    let b = add(&mut lan, 2, v3_unicast(100, 2, 1, OldUnicastChecksum::Auto));
    let adv = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        adver_int: Centis(100),
        auth: WireAuth::None,
        addrs: vec![vip()],
    };
    let ctx = ChecksumCtx {
        src: ipa(1),
        dst: ipa(2),
        v3_ipv4_pseudo_header: true,
        kernel_checksum: false,
    };
    let mut bytes = wire::emit(&adv, &ctx);
    bytes[6] ^= 0x55;
    let pkt = |payload: Vec<u8>| {
        Input::Packet(RxPacket {
            ifname: "eth0".into(),
            family: Family::V4,
            src: ipa(1),
            dst: ipa(2),
            ttl: 255,
            payload,
            ipsec_ah: false,
        })
    };
    lan.input(b, pkt(bytes));
    let i = lan.nodes[b].node.instance("VI_1").unwrap();
    assert_eq!((i.stats.chk_err, i.stats.advert_rcvd), (1, 0));
    assert!(
        !i.old_checksum(),
        "a corrupt packet does not switch the form"
    );
    lan.input(b, pkt(wire::emit(&adv, &ctx)));
    let i = lan.nodes[b].node.instance("VI_1").unwrap();
    assert_eq!((i.stats.chk_err, i.stats.advert_rcvd), (1, 1));

    // IPv6: the kernel verified the checksum (IPV6_CHECKSUM), so even a zero field passes.
    let mut lan = Lan::new(44);
    let mut s = inst(100);
    s.version = Version::V3;
    s.family = Family::V6;
    s.mcast_dst = "ff02::12".parse().unwrap();
    s.vips = vec![VipSpec::new("fe80::100".parse().unwrap())];
    let mut l = LinkState::up_v4("eth0", ip(2));
    l.ipv6_ll = Some("fe80::2".parse().unwrap());
    let b = lan.add_node(
        "b",
        node_spec(vec![s]),
        vec![SimIf {
            link: l,
            segment: 0,
        }],
    );
    let adv6 = Advert {
        addrs: vec!["fe80::100".parse().unwrap()],
        ..adv
    };
    let ctx6 = ChecksumCtx {
        src: "fe80::1".parse().unwrap(),
        dst: "ff02::12".parse().unwrap(),
        v3_ipv4_pseudo_header: true,
        kernel_checksum: true,
    };
    let mut bytes = wire::emit(&adv6, &ctx6);
    bytes[6] = 0;
    bytes[7] = 0;
    lan.input(
        b,
        Input::Packet(RxPacket {
            ifname: "eth0".into(),
            family: Family::V6,
            src: "fe80::1".parse().unwrap(),
            dst: "ff02::12".parse().unwrap(),
            ttl: 255,
            payload: bytes,
            ipsec_ah: false,
        }),
    );
    let i = lan.nodes[b].node.instance("VI_1").unwrap();
    assert_eq!((i.stats.chk_err, i.stats.advert_rcvd), (0, 1));
}

/// (kind, name, state) of every state notify node `i` emitted, in order.
fn state_notifies(lan: &Lan, i: usize) -> Vec<String> {
    lan.trace
        .iter()
        .filter(|e| e.node == i)
        .filter_map(|e| match &e.action {
            Action::Notify(n)
                if matches!(
                    n.state,
                    NotifyState::Master | NotifyState::Backup | NotifyState::Fault
                ) =>
            {
                Some(n.fifo_line().trim_end().to_string())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn sync_group_members_notify_like_keepalived_2_2_7() {
    // Observed with Debian's keepalived 2.2.7 (one node, group G = {VI_1 on eth1, VI_2 on
    // eth2}, notify_* on the group and on both members): every member transition runs the
    // member's own notifies, also when the member only follows its group (VI_1 forced to FAULT
    // by VI_2's link, and back to BACKUP), and the group's notifies run once per group
    // transition. Nothing is suppressed; a member whose state does not change notifies nothing.
    let mut lan = Lan::new(45);
    let a = two_if_node(&mut lan, 1, 100);
    let t0 = lan.now;
    lan.drive_for(secs(6));
    let mut got = state_notifies(&lan, a);
    got.sort();
    let mut want = vec![
        "INSTANCE \"VI_1\" BACKUP 100",
        "INSTANCE \"VI_2\" BACKUP 100",
        "GROUP \"G\" BACKUP 0",
        "INSTANCE \"VI_1\" MASTER 100",
        "INSTANCE \"VI_2\" MASTER 100",
        "GROUP \"G\" MASTER 0",
    ];
    want.sort();
    assert_eq!(got, want);
    let n0 = state_notifies(&lan, a).len();
    // VI_2's link fails: VI_2 FAULT, the group drags VI_1 into FAULT; both notify, once each.
    lan.set_link_up(a, "eth1", false);
    lan.drive_for(secs(3));
    let mut got = state_notifies(&lan, a)[n0..].to_vec();
    got.sort();
    assert_eq!(
        got,
        vec![
            "GROUP \"G\" FAULT 0",
            "INSTANCE \"VI_1\" FAULT 100",
            "INSTANCE \"VI_2\" FAULT 100",
        ]
    );
    let n1 = state_notifies(&lan, a).len();
    // Back up: both BACKUP then both MASTER, with the group's notifies.
    lan.set_link_up(a, "eth1", true);
    lan.drive_for(secs(6));
    let got = state_notifies(&lan, a)[n1..].to_vec();
    let (mut backup, mut master) = (got[..3].to_vec(), got[3..].to_vec());
    backup.sort();
    master.sort();
    assert_eq!(
        backup,
        vec![
            "GROUP \"G\" BACKUP 0",
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_2\" BACKUP 100",
        ]
    );
    assert_eq!(
        master,
        vec![
            "GROUP \"G\" MASTER 0",
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_2\" MASTER 100",
        ]
    );
    // A higher-priority router appears for VI_1 only: VI_1 yields, the group syncs VI_2 to
    // BACKUP; again each member notifies (observed the same way with keepalived 2.2.7).
    let n2 = state_notifies(&lan, a).len();
    let _b = add(&mut lan, 2, inst(200));
    lan.drive_for(secs(8));
    let mut got = state_notifies(&lan, a)[n2..].to_vec();
    got.sort();
    assert_eq!(
        got,
        vec![
            "GROUP \"G\" BACKUP 0",
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_2\" BACKUP 100",
        ]
    );
    assert_eq!(lan.state(a, "VI_2"), State::Backup);
    let _ = t0;
}

#[test]
fn data_dump_shows_tracker_values_and_the_checkers_script_state() {
    use rkeepalived::vrrp::node::ScriptDumpInfo;
    use rkeepalived::vrrp::spec::{ParamMatch, ScriptSpec, TrackFileSpec, TrackProcessSpec};
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", -20)];
    s.track_files = vec![script("tf", 2)];
    s.track_processes = vec![script("nginx", 10)];
    let mut spec = node_spec(vec![s]);
    spec.scripts = vec![ScriptSpec {
        name: "chk".into(),
        rise: 2,
        fall: 3,
        weight: -20,
        ..Default::default()
    }];
    spec.track_files = vec![TrackFileSpec {
        name: "tf".into(),
        path: "/run/tf".into(),
        weight: 1,
        ..Default::default()
    }];
    spec.track_processes = vec![TrackProcessSpec {
        name: "nginx".into(),
        process: "/usr/sbin/nginx".into(),
        params: vec!["-g".into(), "daemon off;".into()],
        param_match: ParamMatch::Partial,
        full_command: true,
        quorum: 2,
        quorum_max: Some(4),
        weight: 10,
        ..Default::default()
    }];
    let mut lan = Lan::new(46);
    let a = lan.add_node("a", spec, eth0(1));
    let d = lan.nodes[a].node.dump_data(lan.now);
    for want in [
        "   Tracked files :\n     tf weight 2\n",
        "   Tracked processes :\n     nginx weight 10\n",
        " VRRP Track file = tf\n   File = /run/tf\n   Status = not read yet\n",
        "   Current processes = not counted yet\n",
        " VRRP Script = chk\n",
        "   Status = INIT\n",
    ] {
        assert!(d.contains(want), "{want:?} not in\n{d}");
    }
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::File {
            name: "tf".into(),
            value: 7,
        }),
    );
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::Process {
            name: "nginx".into(),
            running: 3,
        }),
    );
    let info = [ScriptDumpInfo {
        name: "chk".into(),
        status: "BAD",
        state: "running",
        counter: 1,
        rise: 2,
        fall: 3,
        last_result: Some("exit status 1".into()),
    }];
    let d = lan.nodes[a].node.dump_data_with(lan.now, &info);
    for want in [
        " VRRP Track file = tf\n   File = /run/tf\n   Status = 7\n   Weight = 1\n   Tracking instances :\n     VI_1, weight 2\n",
        " VRRP Track process = nginx\n   Process = /usr/sbin/nginx\n   Parameters = -g daemon off;\n   Param match = partial\n   Min processes = 2\n   Max processes = 4\n   Current processes = 3\n   Have quorum = true\n   Weight = 10\n",
        "   Full command = true\n   Tracking instances :\n     VI_1, weight 10\n",
        "   Status = BAD\n",
        "   State = running\n   Rise/fall counter = 1 (GOOD from 2, of 4)\n   Last result = exit status 1\n",
        "   Errors: checksum 0 version 0\n",
    ] {
        assert!(d.contains(want), "{want:?} not in\n{d}");
    }
    // 100 + 7 × 2 + 10 = 124 (the script has not reported to the core yet).
    assert_eq!(lan.nodes[a].node.instance_states()[0].2, 124);
}

fn route(dst: &str, plen: u8) -> RouteSpec {
    let mut r = RouteSpec::new(dst.parse().unwrap(), plen);
    r.gateway = Some(ipa(254));
    r.dev = Some("eth0".into());
    r
}

fn route_actions(acts: &[&Action]) -> Vec<String> {
    acts.iter()
        .filter_map(|a| match a {
            Action::AddVip { vip, .. } => Some(format!("+vip {}", vip.addr)),
            Action::DelVip { vip, .. } => Some(format!("-vip {}", vip.addr)),
            Action::AddRoute { route, .. } => Some(format!("+route {route}")),
            Action::DelRoute { route, .. } => Some(format!("-route {route}")),
            Action::AddRule { rule, .. } => Some(format!("+rule {rule}")),
            Action::DelRule { rule, .. } => Some(format!("-rule {rule}")),
            _ => None,
        })
        .collect()
}

#[test]
fn virtual_routes_follow_the_vips_on_master_shutdown_and_reload() {
    let mut lan = Lan::new(41);
    let mut s = inst(200);
    let mut bh = RouteSpec::new("10.98.0.0".parse().unwrap(), 16);
    bh.kind = RouteType::Blackhole;
    s.virtual_routes = vec![route("10.99.0.0", 16), bh.clone()];
    let a = add(&mut lan, 1, s.clone());
    let b = add(&mut lan, 2, {
        let mut s2 = s.clone();
        s2.priority = 100;
        s2
    });
    lan.drive_for(secs(10));
    // keepalived compat: the startup clean slate removes stale routes too.
    let start: Vec<&Action> = lan.actions_since(a, Instant::ZERO);
    let all = route_actions(&start);
    assert_eq!(
        all,
        [
            "-vip 10.0.0.100",
            "-route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "-route blackhole 10.98.0.0/16",
            "+vip 10.0.0.100",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+route blackhole 10.98.0.0/16",
        ]
    );
    assert!(
        !route_actions(&lan.actions_since(b, Instant::ZERO))
            .iter()
            .any(|x| x.starts_with("+route"))
    );

    // Reload of the kept MASTER: removed routes go, every configured one is (re-)added.
    let t = lan.now;
    let mut s3 = s.clone();
    s3.virtual_routes = vec![route("10.99.0.0", 16), route("10.97.0.0", 24)];
    lan.input(a, Input::Reload(node_spec(vec![s3.clone()])));
    assert_eq!(
        route_actions(&lan.actions_since(a, t)),
        [
            "-route blackhole 10.98.0.0/16",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+route 10.97.0.0/24 via 10.0.0.254 dev eth0"
        ]
    );

    // Shutdown with release: routes leave after the VIPs; the backup takes over with them.
    lan.drive_for(secs(1));
    let t = lan.now;
    lan.input(a, Input::Shutdown { release_vips: true });
    assert_eq!(
        route_actions(&lan.actions_since(a, t)),
        [
            "-vip 10.0.0.100",
            "-route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "-route 10.97.0.0/24 via 10.0.0.254 dev eth0"
        ]
    );
    let t = lan.now;
    lan.drive_for(secs(5));
    assert_eq!(
        route_actions(&lan.actions_since(b, t)),
        [
            "+vip 10.0.0.100",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+route blackhole 10.98.0.0/16"
        ]
    );
}

#[test]
fn virtual_rules_follow_the_routes_and_reload_changes_only_the_changed_ones() {
    let mut lan = Lan::new(42);
    let mut s = inst(200);
    s.virtual_routes = vec![route("10.99.0.0", 16)];
    let mut r1 = RuleSpec::new(100);
    r1.from = Some((ipa(100), 32));
    r1.table = Some(100);
    let mut r2 = RuleSpec::new(101);
    r2.to = Some(("10.99.0.0".parse().unwrap(), 16));
    s.virtual_rules = vec![r1.clone(), r2.clone()];
    let a = add(&mut lan, 1, s.clone());
    lan.drive_for(secs(10));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    let acts = route_actions(&lan.actions_since(a, Instant::ZERO));
    let plus: Vec<&String> = acts.iter().filter(|x| x.starts_with('+')).collect();
    assert_eq!(
        plus,
        [
            "+vip 10.0.0.100",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+rule 100: from 10.0.0.100/32 table 100",
            "+rule 101: from all to 10.99.0.0/16 table 254",
        ]
    );
    let t = lan.now;
    let mut r3 = RuleSpec::new(102);
    r3.fwmark = Some(7);
    let mut s2 = s.clone();
    s2.virtual_rules = vec![r1.clone(), r3];
    lan.input(a, Input::Reload(node_spec(vec![s2])));
    let acts = route_actions(&lan.actions_since(a, t));
    assert_eq!(
        acts,
        [
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "-rule 101: from all to 10.99.0.0/16 table 254",
            "+rule 102: from all fwmark 0x7 table 254",
        ]
    );
    lan.drive_for(secs(1));
    let t = lan.now;
    lan.input(
        a,
        Input::Shutdown {
            release_vips: false,
        },
    );
    assert!(
        route_actions(&lan.actions_since(a, t)).is_empty(),
        "-V keeps rules"
    );
}

#[test]
fn static_items_are_installed_at_start_restored_reloaded_and_removed_at_shutdown() {
    let mut lan = Lan::new(43);
    let mut spec = node_spec(vec![inst(100)]);
    let mut a1 = VipSpec::new("10.0.0.50".parse().unwrap());
    a1.prefix_len = 24;
    a1.dev = Some("eth0".into());
    let mut a2 = a1.clone();
    a2.addr = "10.0.0.51".parse().unwrap();
    let mut r1 = RuleSpec::new(100);
    r1.from = Some(("10.0.0.50".parse().unwrap(), 32));
    r1.table = Some(100);
    spec.statics.addresses = vec![a1.clone(), a2.clone()];
    spec.statics.routes = vec![route("10.99.0.0", 16)];
    spec.statics.rules = vec![r1.clone()];
    let a = lan.add_node("n1", spec.clone(), eth0(1));
    lan.drive_for(secs(1));
    // Whatever the VRRP state (still BACKUP here), after the clean slate of the VIPs.
    assert_eq!(lan.state(a, "VI_1"), State::Backup);
    let acts = route_actions(&lan.actions_since(a, Instant::ZERO));
    assert_eq!(
        acts,
        [
            "-vip 10.0.0.100",
            "+vip 10.0.0.50",
            "+vip 10.0.0.51",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+rule 100: from 10.0.0.50/32 table 100",
        ]
    );

    // Deleted by someone else: put back at once. Another address on eth0: left alone.
    let t = lan.now;
    for addr in ["10.0.0.51", "10.0.0.77"] {
        lan.input(
            a,
            Input::AddressDeleted {
                ifname: "eth0".into(),
                addr: addr.parse().unwrap(),
                prefix_len: 24,
            },
        );
    }
    assert_eq!(route_actions(&lan.actions_since(a, t)), ["+vip 10.0.0.51"]);
    // ... but not on another interface.
    lan.drive_for(secs(1));
    let t = lan.now;
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth9".into(),
            addr: "10.0.0.51".parse().unwrap(),
            prefix_len: 24,
        },
    );
    assert!(route_actions(&lan.actions_since(a, t)).is_empty());

    // Reload: the removed address goes, the new one comes, the kept one stays; the route is
    // re-added; the unchanged rule is left alone, the new one added.
    lan.drive_for(secs(1));
    let t = lan.now;
    let mut spec2 = spec.clone();
    let mut a3 = a1.clone();
    a3.addr = "10.0.0.52".parse().unwrap();
    let mut r2 = RuleSpec::new(101);
    r2.to = Some(("10.98.0.0".parse().unwrap(), 16));
    spec2.statics.addresses = vec![a1.clone(), a3];
    spec2.statics.rules = vec![r1.clone(), r2];
    lan.input(a, Input::Reload(spec2));
    assert_eq!(
        route_actions(&lan.actions_since(a, t)),
        [
            "-vip 10.0.0.51",
            "+vip 10.0.0.52",
            "+route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "+rule 101: from all to 10.98.0.0/16 table 254",
        ]
    );
    // An address no longer configured is not restored when it disappears.
    lan.drive_for(secs(1));
    let t = lan.now;
    lan.input(
        a,
        Input::AddressDeleted {
            ifname: "eth0".into(),
            addr: "10.0.0.51".parse().unwrap(),
            prefix_len: 24,
        },
    );
    assert!(route_actions(&lan.actions_since(a, t)).is_empty());

    // keepalived compat: shutdown removes them even with -V (which keeps the VIPs).
    lan.drive_for(secs(10));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    let t = lan.now;
    lan.input(
        a,
        Input::Shutdown {
            release_vips: false,
        },
    );
    assert_eq!(
        route_actions(&lan.actions_since(a, t)),
        [
            "-rule 100: from 10.0.0.50/32 table 100",
            "-rule 101: from all to 10.98.0.0/16 table 254",
            "-route 10.99.0.0/16 via 10.0.0.254 dev eth0",
            "-vip 10.0.0.50",
            "-vip 10.0.0.52",
        ]
    );
}

fn firewall_actions(acts: &[&Action]) -> Vec<String> {
    acts.iter()
        .filter_map(|a| match a {
            Action::AddVip { vip, .. } => Some(format!("+vip {}", vip.addr)),
            Action::DelVip { vip, .. } => Some(format!("-vip {}", vip.addr)),
            Action::BlockVip { addr, ifname, .. } => Some(format!("block {addr} {ifname}")),
            Action::UnblockVip { addr, ifname, .. } => Some(format!("unblock {addr} {ifname}")),
            _ => None,
        })
        .collect()
}

#[test]
fn no_accept_master_blocks_its_vips_after_adding_them_and_unblocks_before_removing() {
    let mut lan = Lan::new(44);
    let mut s = inst(100);
    s.accept = false;
    let mut extra = VipSpec::new("10.0.0.101".parse().unwrap());
    extra.dev = Some("eth9".into());
    s.vips.push(extra);
    let a = add(&mut lan, 1, s.clone());
    lan.drive_for(secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    let acts = firewall_actions(&lan.actions_since(a, Instant::ZERO));
    let from_master: Vec<&String> = acts.iter().skip_while(|x| !x.starts_with('+')).collect();
    assert_eq!(
        from_master,
        [
            "+vip 10.0.0.100",
            "block 10.0.0.100 eth0",
            "+vip 10.0.0.101",
            "block 10.0.0.101 eth9",
        ]
    );

    // Reload: a VIP goes (unblocked first), another comes (blocked after it is added).
    lan.drive_for(secs(1));
    let t = lan.now;
    let mut s2 = s.clone();
    s2.vips[1] = VipSpec::new("10.0.0.102".parse().unwrap());
    lan.input(a, Input::Reload(node_spec(vec![s2.clone()])));
    assert_eq!(
        firewall_actions(&lan.actions_since(a, t)),
        [
            "unblock 10.0.0.101 eth9",
            "-vip 10.0.0.101",
            "+vip 10.0.0.102",
            "block 10.0.0.102 eth0",
        ]
    );

    // Reload into accept mode: the kept VIPs stay, only unblocked.
    lan.drive_for(secs(1));
    let t = lan.now;
    let mut s3 = s2.clone();
    s3.accept = true;
    lan.input(a, Input::Reload(node_spec(vec![s3.clone()])));
    assert_eq!(
        firewall_actions(&lan.actions_since(a, t)),
        ["unblock 10.0.0.100 eth0", "unblock 10.0.0.102 eth0"]
    );

    // And back; then shutdown unblocks before removing.
    lan.drive_for(secs(1));
    lan.input(a, Input::Reload(node_spec(vec![s2.clone()])));
    lan.drive_for(secs(1));
    let t = lan.now;
    lan.input(a, Input::Shutdown { release_vips: true });
    assert_eq!(
        firewall_actions(&lan.actions_since(a, t)),
        [
            "unblock 10.0.0.100 eth0",
            "-vip 10.0.0.100",
            "unblock 10.0.0.102 eth0",
            "-vip 10.0.0.102",
        ]
    );
}

#[test]
fn accept_mode_master_blocks_nothing() {
    let mut lan = Lan::new(45);
    let a = add(&mut lan, 1, inst(100));
    lan.drive_for(secs(5));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    lan.input(a, Input::Shutdown { release_vips: true });
    let acts = firewall_actions(&lan.actions_since(a, Instant::ZERO));
    assert!(!acts.iter().any(|x| x.contains("block")), "{acts:?}");
}

// ------------------------------------------------------------------ use_vmac

fn vmac_inst(prio: u8, xmit_base: bool) -> InstanceSpec {
    let mut s = inst(prio);
    s.vmac = Some(rkeepalived::vrrp::spec::VmacSpec {
        name: "vrrp.51".into(),
        xmit_base,
    });
    s
}

#[test]
fn use_vmac_creates_the_vmac_first_and_waits_for_it() {
    let mut lan = Lan::new(40);
    let a = add(&mut lan, 1, vmac_inst(200, false));
    let acts = lan.actions_since(a, Instant(0));
    // The VMAC is asked for before the stale-VIP clean-up, which targets it.
    assert!(matches!(
        acts[0],
        Action::CreateVmac { name, parent, mac, .. }
            if name == "vrrp.51" && parent == "eth0" && *mac == [0, 0, 0x5e, 0, 1, 51]
    ));
    assert!(matches!(acts[1], Action::DelVip { ifname, .. } if ifname == "vrrp.51"));
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, Action::CreateVmac { .. }))
            .count(),
        1,
        "one request, even though eth0 was reported after it"
    );
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![a]);
    // VIPs and GARPs on the VMAC, adverts from it.
    assert!(lan.nodes[a].vips.contains(&("vrrp.51".to_string(), vip())));
    let acts = lan.actions_since(a, Instant(0));
    assert!(acts.iter().any(
        |a| matches!(a, Action::SendGarp { ifname, addr } if ifname == "vrrp.51" && *addr == vip())
    ));
    assert!(
        acts.iter()
            .all(|a| !matches!(a, Action::SendAdvert { ifname, .. } if ifname != "vrrp.51"))
    );
}

#[test]
fn use_vmac_instance_stays_init_until_its_vmac_is_reported() {
    let spec = node_spec(vec![vmac_inst(100, false)]);
    let t0 = Instant(1_000_000);
    let mut node = rkeepalived::vrrp::node::Node::new(spec, t0);
    while node.poll_action().is_some() {}
    node.handle(t0, Input::Link(LinkState::up_v4("eth0", ip(1))));
    assert_eq!(node.instance("VI_1").unwrap().state, State::Init);
    // Creation failed: FAULT, and no second request (no loop).
    node.handle(
        t0,
        Input::Link(LinkState {
            ifname: "vrrp.51".into(),
            exists: false,
            ..LinkState::default()
        }),
    );
    assert_eq!(node.instance("VI_1").unwrap().state, State::Fault);
    let mut again = 0;
    while let Some(a) = node.poll_action() {
        again += matches!(a, Action::CreateVmac { .. }) as u32;
    }
    assert_eq!(again, 0);
    // The parent goes away and comes back: one new request.
    node.handle(
        t0,
        Input::Link(LinkState {
            ifname: "eth0".into(),
            exists: false,
            ..LinkState::default()
        }),
    );
    node.handle(t0, Input::Link(LinkState::up_v4("eth0", ip(1))));
    let mut n = 0;
    while let Some(a) = node.poll_action() {
        n += matches!(a, Action::CreateVmac { .. }) as u32;
    }
    assert_eq!(n, 1);
    let mut l = LinkState::up_v4("vrrp.51", ip(1));
    l.ipv4.clear();
    node.handle(t0, Input::Link(l));
    assert_eq!(node.instance("VI_1").unwrap().state, State::Backup);
}

#[test]
fn use_vmac_failover_moves_the_vip_between_vmacs_and_shutdown_deletes_the_vmac() {
    let mut lan = Lan::new(41);
    let a = add(&mut lan, 1, vmac_inst(200, false));
    let b = add(&mut lan, 2, vmac_inst(100, false));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
    let t = lan.now;
    lan.input(a, Input::Shutdown { release_vips: true });
    let acts = lan.actions_since(a, t);
    let del_vip = acts
        .iter()
        .position(|a| matches!(a, Action::DelVip { ifname, .. } if ifname == "vrrp.51"))
        .expect("VIP removed from the VMAC");
    let del_vmac = acts
        .iter()
        .position(|a| matches!(a, Action::DeleteVmac { name, .. } if name == "vrrp.51"))
        .expect("VMAC deleted at shutdown");
    assert!(del_vip < del_vmac);
    lan.drive_for(secs(5));
    assert_eq!(lan.masters(51), vec![b]);
    assert!(lan.nodes[b].vips.contains(&("vrrp.51".to_string(), vip())));
}

#[test]
fn use_vmac_with_dont_release_keeps_the_vmac() {
    let mut lan = Lan::new(42);
    let a = add(&mut lan, 1, vmac_inst(200, false));
    lan.drive_for(secs(5));
    let t = lan.now;
    lan.input(
        a,
        Input::Shutdown {
            release_vips: false,
        },
    );
    assert!(
        lan.actions_since(a, t)
            .iter()
            .all(|a| !matches!(a, Action::DeleteVmac { .. }))
    );
}

#[test]
fn vmac_xmit_base_sends_adverts_on_the_parent_and_keeps_vips_on_the_vmac() {
    let mut lan = Lan::new(43);
    let a = add(&mut lan, 1, vmac_inst(200, true));
    let b = add(&mut lan, 2, vmac_inst(100, true));
    lan.drive_for(secs(10));
    assert_eq!(lan.masters(51), vec![a]);
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
    let acts = lan.actions_since(a, Instant(0));
    assert!(acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
    assert!(
        acts.iter()
            .all(|a| !matches!(a, Action::SendAdvert { ifname, .. } if ifname != "eth0"))
    );
    assert!(lan.nodes[a].vips.contains(&("vrrp.51".to_string(), vip())));
}

#[test]
fn reload_removing_a_vmac_instance_deletes_its_vmac() {
    let mut lan = Lan::new(44);
    let a = add(&mut lan, 1, vmac_inst(200, false));
    lan.drive_for(secs(5));
    let t = lan.now;
    let mut other = inst(200);
    other.name = "VI_2".into();
    other.vrid = 52;
    lan.input(a, Input::Reload(node_spec(vec![other])));
    let acts = lan.actions_since(a, t);
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::DeleteVmac { name, .. } if name == "vrrp.51"))
    );
    // Gaining a VMAC by reload makes a new instance, which asks for its VMAC.
    let t = lan.now;
    lan.input(a, Input::Reload(node_spec(vec![vmac_inst(200, false)])));
    assert!(
        lan.actions_since(a, t)
            .iter()
            .any(|a| matches!(a, Action::CreateVmac { name, .. } if name == "vrrp.51"))
    );
}

fn ah_inst(prio: u8, key: &[u8; 8]) -> InstanceSpec {
    let mut s = inst(prio);
    s.auth = Auth::Ah(*key);
    s
}

#[test]
fn ipsec_ah_pair_elects_one_master_and_sends_increasing_sequence_numbers() {
    let mut lan = Lan::new(46);
    lan.use_wire = true;
    let a = add(&mut lan, 1, ah_inst(100, b"secret12"));
    let b = add(&mut lan, 2, ah_inst(90, b"secret12"));
    lan.drive_for(secs(10));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
    let ib = lan.nodes[b].node.instance("VI_1").unwrap();
    assert!(ib.stats.advert_rcvd >= 5, "{:?}", ib.stats);
    assert_eq!(ib.stats.auth_failure, 0);
    let seqs: Vec<u32> = lan
        .actions_since(a, Instant::ZERO)
        .iter()
        .filter_map(|x| match x {
            Action::SendAdvert { ah: Some(s), .. } => Some(s.seq),
            _ => None,
        })
        .collect();
    assert!(seqs.len() >= 6);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(seqs[0], 1);
}

#[test]
fn ipsec_ah_wrong_key_is_rejected_and_counted_on_both_sides() {
    let mut lan = Lan::new(47);
    lan.use_wire = true;
    let a = add(&mut lan, 1, ah_inst(100, b"secret12"));
    let b = add(&mut lan, 2, ah_inst(90, b"secret13"));
    lan.drive_for(secs(10));
    assert_eq!(lan.state(a, "VI_1"), State::Master);
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    for n in [a, b] {
        let i = lan.nodes[n].node.instance("VI_1").unwrap();
        assert!(i.stats.auth_failure >= 3, "{:?}", i.stats);
        assert_eq!(i.stats.advert_rcvd, 0);
    }
}

#[test]
fn ipsec_ah_replayed_or_headerless_adverts_are_dropped() {
    use rkeepalived::vrrp::RxPacket;
    use rkeepalived::vrrp::ah;
    use rkeepalived::vrrp::spec::Family;
    use rkeepalived::vrrp::wire::{self, ChecksumCtx};
    let mut lan = Lan::new(48);
    lan.use_wire = true;
    let b = add(&mut lan, 2, ah_inst(90, b"secret12"));
    lan.drive_for(secs(1));
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
    // A higher-priority master's advert, sealed with sequence number 7.
    let adv = wire::Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: Centis(100),
        addrs: vec![vip()],
        auth: wire::WireAuth::Ah,
    };
    let ctx = ChecksumCtx {
        src: ipa(1),
        dst: "224.0.0.18".parse().unwrap(),
        v3_ipv4_pseudo_header: true,
        kernel_checksum: false,
    };
    let vrrp = wire::emit(&adv, &ctx);
    let sealed = |seq| {
        ah::emit_ipv4(
            ip(1),
            "224.0.0.18".parse().unwrap(),
            255,
            seq,
            b"secret12",
            &vrrp,
        )
    };
    let pkt = |payload: Vec<u8>, ipsec_ah| {
        Input::Packet(RxPacket {
            ifname: "eth0".into(),
            family: Family::V4,
            src: ipa(1),
            dst: "224.0.0.18".parse().unwrap(),
            ttl: 255,
            payload,
            ipsec_ah,
        })
    };
    lan.input(b, pkt(sealed(7), true));
    let st = |lan: &Lan| lan.nodes[b].node.instance("VI_1").unwrap().stats;
    assert_eq!((st(&lan).advert_rcvd, st(&lan).auth_failure), (1, 0));
    // The same packet again, and an older one: replays.
    lan.input(b, pkt(sealed(7), true));
    lan.input(b, pkt(sealed(3), true));
    assert_eq!((st(&lan).advert_rcvd, st(&lan).auth_failure), (1, 2));
    lan.input(b, pkt(sealed(8), true));
    assert_eq!((st(&lan).advert_rcvd, st(&lan).auth_failure), (2, 2));
    // The bare VRRP message (auth type AH, no header) must not pass.
    lan.input(b, pkt(vrrp.clone(), false));
    assert_eq!((st(&lan).advert_rcvd, st(&lan).auth_failure), (2, 3));
    // A state change forgets the sequence numbers (a restarted master starts from 1 again).
    lan.drive_for(secs(5));
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    lan.input(b, pkt(sealed(1), true));
    assert_eq!(lan.state(b, "VI_1"), State::Backup);
}

fn ah_seqs(lan: &Lan, n: usize) -> Vec<u32> {
    lan.actions_since(n, Instant::ZERO)
        .iter()
        .filter_map(|x| match x {
            Action::SendAdvert { ah: Some(s), .. } => Some(s.seq),
            _ => None,
        })
        .collect()
}

#[test]
fn ipsec_ah_sequence_starts_from_the_wall_clock_and_a_new_master_continues_the_group_s() {
    let mut lan = Lan::new(49);
    lan.use_wire = true;
    let a = add(&mut lan, 1, ah_inst(100, b"secret12"));
    let b = add(&mut lan, 2, ah_inst(90, b"secret12"));
    // 2026-12-05 00:00:00 UTC: 4 numbers per second since 2020-01-01.
    lan.nodes[a].node.set_epoch_offset(1_796_428_800_000_000);
    lan.drive_for(secs(10));
    let sa = ah_seqs(&lan, a);
    let base = (1_796_428_800 - 1_577_836_800) * 4;
    assert!(sa[0] > base && sa[0] <= base + 4 * 2, "{sa:?}");
    // The backup, whose own clock says 1970, continues the master's sequence when it takes
    // over (as keepalived does), so keepalived peers that saw the master's numbers accept it.
    lan.crash(a);
    lan.drive_for(secs(5));
    assert_eq!(lan.state(b, "VI_1"), State::Master);
    let sb = ah_seqs(&lan, b);
    assert_eq!(sb[0], sa.last().unwrap() + 1, "{sb:?}");
}
