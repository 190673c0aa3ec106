//! Random input sequences to the sans-IO core: a Node running three instances (one multicast
//! VRRPv2 with PASS auth, optionally on a VMAC; one unicast VRRPv3, optionally without accept
//! mode; one VRRPv2 with `auth_type AH`), optionally with static addresses/routes/rules, gets
//! packets with arbitrary payloads (plain or as AH datagrams), valid adverts built from the
//! fuzz bytes (plain, AH-wrapped with the right or a wrong key, one byte altered), link
//! changes (parent and VMAC), address deletions, tracker updates, reloads to another variant
//! of the configuration, dumps and time steps decoded from the fuzz input. It must never
//! panic, whatever the order of inputs and however time advances.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use rkeepalived::time::{Centis, Duration, Instant};
use rkeepalived::vrrp::ah;
use rkeepalived::vrrp::spec::{
    Auth, Family, InstanceSpec, NodeSpec, PeerSpec, RouteSpec, RuleSpec, ScriptSpec, StaticSpec,
    TrackRef, Version, VipSpec, VmacSpec,
};
use rkeepalived::vrrp::wire::{self, Advert, ChecksumCtx, WireAuth};
use rkeepalived::vrrp::{Input, LinkState, Node, RxPacket, TrackerUpdate};

const PASS: [u8; 8] = *b"secret\0\0";
const AH_KEY: [u8; 8] = *b"secret12";
const VMAC: &str = "vrrp.51";

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// One of 128 variants of the configuration (bits of `variant` switch features on).
fn spec(variant: u8) -> NodeSpec {
    let mut a = InstanceSpec::new("VI_1", "eth1", 51);
    a.auth = Auth::Pass(PASS);
    a.vips = vec![VipSpec::new(v4(100))];
    a.track_scripts = vec![TrackRef {
        name: "chk".into(),
        weight: if variant & 64 != 0 { -20 } else { 0 },
        reverse: false,
    }];
    if variant & 1 != 0 {
        a.vmac = Some(VmacSpec {
            name: VMAC.into(),
            xmit_base: variant & 2 != 0,
        });
    }
    if variant & 32 != 0 {
        let mut r = RouteSpec::new(IpAddr::V4(Ipv4Addr::new(192, 168, 7, 0)), 24);
        r.gateway = Some(v4(254));
        a.virtual_routes = vec![r];
        a.virtual_rules = vec![RuleSpec::new(100)];
        a.excluded_vips = vec![VipSpec::new(v4(110))];
    }
    let mut b = InstanceSpec::new("VI_2", "eth1", 52);
    b.version = Version::V3;
    b.family = Family::V4;
    b.advert_int = Centis(10);
    b.unicast_src = Some(v4(1));
    b.unicast_peers = vec![PeerSpec {
        addr: v4(2),
        min_ttl: None,
        max_ttl: None,
    }];
    b.vips = vec![VipSpec::new(v4(101))];
    b.accept = variant & 4 == 0;
    b.initial_master = variant & 4 != 0;
    let mut c = InstanceSpec::new("VI_3", "eth1", 53);
    c.auth = if variant & 8 != 0 {
        Auth::Pass(AH_KEY)
    } else {
        Auth::Ah(AH_KEY)
    };
    c.priority = 150;
    c.vips = vec![VipSpec::new(v4(102))];
    let mut statics = StaticSpec::default();
    if variant & 16 != 0 {
        let mut addr = VipSpec::new(v4(200));
        addr.dev = Some("eth1".into());
        statics.addresses = vec![addr];
        statics.routes = vec![RouteSpec::new(
            IpAddr::V4(Ipv4Addr::new(192, 168, 9, 0)),
            24,
        )];
        statics.rules = vec![RuleSpec::new(200)];
    }
    NodeSpec {
        instances: vec![a, b, c],
        scripts: vec![ScriptSpec {
            name: "chk".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            ..ScriptSpec::default()
        }],
        statics,
        ..NodeSpec::default()
    }
}

fn link(ifname: &str, exists: bool, up: bool) -> LinkState {
    LinkState {
        exists,
        up,
        ..LinkState::up_v4(ifname, Ipv4Addr::new(10, 0, 0, 1))
    }
}

/// Reads fuzz bytes as a stream; zeros once exhausted.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// A valid advert for one of the three instances (or a stranger VRID), from fuzz bytes:
/// (payload, src, dst).
fn advert(b: &mut Bytes, flags: u8) -> (Vec<u8>, IpAddr, IpAddr) {
    let which = b.u8();
    let priority = b.u8();
    let src = v4(b.u8());
    let count = b.u8() % 4;
    let addrs = (0..count).map(|n| v4(100 + n)).collect();
    let (vrid, version, auth, dst) = match which % 4 {
        0 => (
            51,
            Version::V2,
            WireAuth::Pass(PASS),
            wire::VRRP_MCAST_V4.into(),
        ),
        1 => (52, Version::V3, WireAuth::None, v4(1)),
        2 => (53, Version::V2, WireAuth::Ah, wire::VRRP_MCAST_V4.into()),
        _ => (
            which,
            Version::V2,
            WireAuth::None,
            wire::VRRP_MCAST_V4.into(),
        ),
    };
    let adver_int = match version {
        Version::V2 => Centis(u16::from(b.u8() % 4) * 100),
        Version::V3 => Centis(u16::from(b.u8()) % 200),
    };
    let adv = Advert {
        version,
        vrid,
        priority,
        adver_int,
        auth,
        addrs,
    };
    let ctx = ChecksumCtx {
        src,
        dst,
        v3_ipv4_pseudo_header: flags & 1 == 0,
        kernel_checksum: false,
    };
    (wire::emit(&adv, &ctx), src, dst)
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut now = Instant::from_micros(1_000_000);
    let mut node = Node::new(spec(b.u8()), now);
    node.handle(now, Input::Link(link("eth1", true, true)));
    let mut ah_seq = 1u32;
    while !b.0.is_empty() {
        let op = b.u8();
        let flags = op >> 4;
        let arg = b.u8();
        let packet = |payload: Vec<u8>, src: IpAddr, dst: IpAddr, ttl: u8, ipsec_ah: bool| {
            Input::Packet(RxPacket {
                ifname: if flags & 8 != 0 { VMAC } else { "eth1" }.into(),
                family: Family::V4,
                src,
                dst,
                ttl,
                payload,
                ipsec_ah,
            })
        };
        match op % 16 {
            // Arbitrary bytes, as a VRRP message or as an AH datagram.
            0 | 1 => {
                let dst = if op % 16 == 0 {
                    wire::VRRP_MCAST_V4.into()
                } else {
                    v4(1)
                };
                let ttl = b.u8();
                let len = usize::from(b.u8() % 96);
                let payload = b.take(len).to_vec();
                node.handle(now, packet(payload, v4(arg), dst, ttl, flags & 1 != 0));
            }
            // A valid advert, maybe inside AH (right or wrong key), maybe with a byte altered.
            8 => {
                let (mut payload, src, dst) = advert(&mut b, flags);
                let wrap = arg & 1 != 0;
                if wrap {
                    let key = if arg & 2 != 0 { *b"secret13" } else { AH_KEY };
                    let seq = if arg & 4 != 0 { b.u32() } else { ah_seq };
                    ah_seq = ah_seq.wrapping_add(1);
                    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
                        unreachable!()
                    };
                    payload = ah::emit_ipv4(s, d, 255, seq, &key, &payload);
                }
                if arg & 8 != 0 {
                    let at = usize::from(b.u8()) % payload.len();
                    payload[at] ^= b.u8() | 1;
                }
                let ipsec_ah = wrap != (arg & 16 != 0);
                let ttl = if arg & 32 != 0 { b.u8() } else { 255 };
                node.handle(now, packet(payload, src, dst, ttl, ipsec_ah));
            }
            2 => node.handle(now, Input::Link(link("eth1", arg & 2 == 0, arg & 1 == 0))),
            9 => node.handle(now, Input::Link(link(VMAC, arg & 2 == 0, arg & 1 == 0))),
            3 => node.handle(
                now,
                Input::AddressDeleted {
                    ifname: if flags & 1 != 0 { VMAC } else { "eth1" }.into(),
                    addr: v4(arg),
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
            5 => node.handle(now, Input::Reload(spec(arg))),
            10 => node.set_epoch_offset(i64::from(b.u32() as i32) * 1_000_000),
            11 => {
                let _ = node.dump_stats();
                let _ = node.dump_json(now);
                let _ = node.dump_data(now);
                let _ = node.interfaces();
                if arg & 1 != 0 {
                    node.clear_stats();
                }
                if arg & 2 != 0 {
                    node.send_reload_adverts(now);
                }
            }
            15 if flags == 15 => {
                // A long jump (up to ~136 years).
                now += Duration::from_secs(u64::from(b.u32()));
                node.handle(now, Input::Timeout);
            }
            _ => {
                // Advance time: to the core's next deadline, or by an arbitrary step.
                let step = Duration::from_micros(u64::from(arg) * 10_000 + 1);
                now = match node.poll_timeout() {
                    Some(t) if op & 1 == 0 && t > now => t,
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
