//! Random input sequences to the sans-IO core: a Node running two instances (one multicast
//! VRRPv2 with PASS auth, one unicast VRRPv3) gets packets with arbitrary payloads, link
//! changes, address deletions, tracker updates, reloads and time steps decoded from the fuzz
//! input. It must never panic, whatever the order of inputs and however time advances.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use rkeepalived::time::{Centis, Duration, Instant};
use rkeepalived::vrrp::spec::{
    Auth, Family, InstanceSpec, NodeSpec, PeerSpec, ScriptSpec, TrackRef, VipSpec, Version,
};
use rkeepalived::vrrp::{Input, LinkState, Node, RxPacket, TrackerUpdate};

fn spec() -> NodeSpec {
    let mut a = InstanceSpec::new("VI_1", "eth1", 51);
    a.auth = Auth::Pass(*b"secret\0\0");
    a.vips = vec![VipSpec::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)))];
    a.track_scripts = vec![TrackRef {
        name: "chk".into(),
        weight: 0,
        reverse: false,
    }];
    let mut b = InstanceSpec::new("VI_2", "eth1", 52);
    b.version = Version::V3;
    b.family = Family::V4;
    b.advert_int = Centis(10);
    b.unicast_src = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    b.unicast_peers = vec![PeerSpec {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        min_ttl: None,
        max_ttl: None,
    }];
    b.vips = vec![VipSpec::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 101)))];
    NodeSpec {
        instances: vec![a, b],
        scripts: vec![ScriptSpec {
            name: "chk".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            ..ScriptSpec::default()
        }],
        ..NodeSpec::default()
    }
}

fn link(up: bool) -> LinkState {
    LinkState {
        up,
        ..LinkState::up_v4("eth1", Ipv4Addr::new(10, 0, 0, 1))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::from_micros(1_000_000);
    let mut node = Node::new(spec(), now);
    node.handle(now, Input::Link(link(true)));
    let mut chunks = data.chunks(24);
    while let Some(c) = chunks.next() {
        let op = c[0] % 8;
        let arg = c.get(1).copied().unwrap_or(0);
        match op {
            0 | 1 => node.handle(
                now,
                Input::Packet(RxPacket {
                    ifname: "eth1".into(),
                    family: Family::V4,
                    src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, arg)),
                    dst: if op == 0 {
                        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))
                    } else {
                        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
                    },
                    ttl: c.get(2).copied().unwrap_or(255),
                    payload: c.get(3..).unwrap_or(&[]).to_vec(),
                    ipsec_ah: false,
                }),
            ),
            2 => node.handle(now, Input::Link(link(arg & 1 == 0))),
            3 => node.handle(
                now,
                Input::AddressDeleted {
                    ifname: "eth1".into(),
                    addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, arg)),
                    prefix_len: 32,
                },
            ),
            4 => node.handle(
                now,
                Input::Tracker(TrackerUpdate::Script {
                    name: "chk".into(),
                    ok: arg & 1 == 0,
                }),
            ),
            5 => node.handle(now, Input::Reload(spec())),
            _ => {
                // Advance time: to the core's next deadline, or by an arbitrary step.
                let step = Duration::from_micros(u64::from(arg) * 10_000 + 1);
                now = match node.poll_timeout() {
                    Some(t) if op == 6 && t > now => t,
                    _ => now + step,
                };
                node.handle(now, Input::Timeout);
            }
        }
        while node.poll_action().is_some() {}
    }
    node.handle(now, Input::Shutdown { release_vips: true });
    while node.poll_action().is_some() {}
});
