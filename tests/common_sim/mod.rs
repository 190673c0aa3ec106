//! Builders shared by the simulated-LAN scenario and property tests.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use rkeepalived::time::{Centis, Duration, Instant};
use rkeepalived::vrrp::action::{Action, NotifyState};
use rkeepalived::vrrp::input::LinkState;
use rkeepalived::vrrp::sim::{Lan, SimIf};
use rkeepalived::vrrp::spec::{InstanceSpec, NodeSpec, PeerSpec, TrackRef, VipSpec};

pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

pub fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

pub fn ipa(last: u8) -> IpAddr {
    IpAddr::V4(ip(last))
}

/// A multicast v2 instance VI_1 on eth0, VRID 51, one VIP.
pub fn inst(prio: u8) -> InstanceSpec {
    let mut s = InstanceSpec::new("VI_1", "eth0", 51);
    s.priority = prio;
    s.vips = vec![VipSpec::new(IpAddr::V4(VIP))];
    s
}

pub fn node_spec(instances: Vec<InstanceSpec>) -> NodeSpec {
    NodeSpec {
        instances,
        ..Default::default()
    }
}

pub fn eth0(last: u8) -> Vec<SimIf> {
    vec![SimIf {
        link: LinkState::up_v4("eth0", ip(last)),
        segment: 0,
    }]
}

/// Add node `10.0.0.<last>` running `spec`.
pub fn add(lan: &mut Lan, last: u8, spec: InstanceSpec) -> usize {
    lan.add_node(&format!("n{last}"), node_spec(vec![spec]), eth0(last))
}

pub fn script(name: &str, weight: i32) -> TrackRef {
    TrackRef {
        name: name.into(),
        weight,
        reverse: false,
    }
}

/// The seed's instance (VI_NG): BACKUP + nopreempt, advert_int 2, PASS, unicast, chk_ng.
pub fn seed_instance(prio: u8, me: u8, peer: u8) -> InstanceSpec {
    let mut s = InstanceSpec::new("VI_NG", "eth1", 76);
    s.priority = prio;
    s.nopreempt = true;
    s.advert_int = Centis(200);
    s.auth = rkeepalived::vrrp::spec::Auth::Pass(*b"dWc4Tddl");
    let mut v = VipSpec::new(IpAddr::V4(Ipv4Addr::new(10, 16, 200, 200)));
    v.dev = Some("eth1".into());
    v.label = Some("eth1:1".into());
    s.vips = vec![v];
    s.unicast_src = Some(ipa(me));
    s.unicast_peers = vec![PeerSpec {
        addr: ipa(peer),
        min_ttl: None,
        max_ttl: None,
    }];
    s.track_scripts = vec![script("chk_ng", 0)];
    s
}

pub fn eth1(last: u8) -> Vec<SimIf> {
    vec![SimIf {
        link: LinkState::up_v4("eth1", ip(last)),
        segment: 0,
    }]
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// v2 skew (256 - prio) / 256 s in integer µs.
pub fn skew_v2(prio: u8) -> Duration {
    Duration::from_micros((256 - prio as u64) * 1_000_000 / 256)
}

/// First instant node `i` announced MASTER for `name`.
pub fn first_master(lan: &Lan, i: usize, name: &str) -> Option<Instant> {
    lan.notify_times(i, name, NotifyState::Master)
        .first()
        .copied()
}

pub fn last_master(lan: &Lan, i: usize, name: &str) -> Option<Instant> {
    lan.notify_times(i, name, NotifyState::Master)
        .last()
        .copied()
}

/// Non-advert actions of node `i` since `from` (adverts are the normal heartbeat).
pub fn non_advert_actions(lan: &Lan, i: usize, from: Instant) -> Vec<Action> {
    lan.actions_since(i, from)
        .into_iter()
        .filter(|a| !matches!(a, Action::SendAdvert { .. }))
        .cloned()
        .collect()
}
