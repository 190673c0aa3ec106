//! GARP and unsolicited NA frames both ways against keepalived 2.2.7's own (see
//! tests/vectors/README.md for the capture).

mod wire_common;

use std::net::{Ipv4Addr, Ipv6Addr};

use rkeepalived::vrrp::arp::{self, ArpFrame, ArpRepr};
use rkeepalived::vrrp::ndisc::{self, NaFrame, NaRepr};
use wire_common::frames;

const GARP: &str = include_str!("vectors/garp.hex");
const NA: &str = include_str!("vectors/unsolicited_na.hex");
const MAC: [u8; 6] = [0x02, 0, 0, 0, 0x99, 0x01];

#[test]
fn garp_parse_captured() {
    let f = frames(GARP);
    let p = ArpFrame::parse(&f[0]).unwrap();
    let vip = Ipv4Addr::new(10, 99, 0, 55);
    assert_eq!(
        p,
        ArpFrame {
            eth_dst: [0xff; 6],
            eth_src: MAC,
            arp: ArpRepr {
                operation: arp::OP_REQUEST,
                sender_mac: MAC,
                sender_ip: vip,
                target_mac: [0xff; 6],
                target_ip: vip,
            },
        }
    );
    assert!(p.arp.is_gratuitous());
    assert_eq!(f[0].len(), arp::GARP_FRAME_LEN);
}

#[test]
fn garp_emit_matches_every_captured_frame() {
    for f in frames(GARP) {
        let p = ArpFrame::parse(&f).unwrap();
        assert_eq!(arp::garp_frame(MAC, p.arp.target_ip)[..], f[..]);
    }
}

#[test]
fn garp_burst_is_five_per_vip_per_block() {
    // keepalived: garp_master_repeat 5 on becoming MASTER, again after garp_master_delay 5 s.
    let all = frames(GARP);
    for last in [51u8, 52, 53, 54, 55] {
        let vip = Ipv4Addr::new(10, 99, 0, last);
        let n = all
            .iter()
            .filter(|f| ArpFrame::parse(f).unwrap().arp.target_ip == vip)
            .count();
        assert_eq!(n, 10, "{vip}");
    }
}

#[test]
fn garp_padding_tolerated_and_non_garp_recognised() {
    let mut f = frames(GARP).remove(0);
    f.resize(60, 0);
    assert!(ArpFrame::parse(&f).unwrap().arp.is_gratuitous());
    let mut who_has = ArpFrame::gratuitous(MAC, Ipv4Addr::new(10, 0, 0, 1));
    who_has.arp.target_ip = Ipv4Addr::new(10, 0, 0, 2);
    assert!(
        !ArpFrame::parse(&who_has.emit())
            .unwrap()
            .arp
            .is_gratuitous()
    );
}

#[test]
fn na_parse_captured() {
    let f = frames(NA);
    let vip: Ipv6Addr = "fd00:99::55".parse().unwrap();
    let p = NaFrame::parse(&f[0]).unwrap();
    assert_eq!(
        p,
        NaFrame {
            eth_dst: [0x33, 0x33, 0, 0, 0, 1],
            eth_src: MAC,
            src: vip,
            dst: ndisc::ALL_NODES,
            hop_limit: 255,
            na: NaRepr {
                router: false,
                solicited: false,
                override_flag: true,
                target: vip,
                target_mac: Some(MAC),
            },
        }
    );
    assert_eq!(f[0].len(), ndisc::NA_FRAME_LEN);
}

#[test]
fn na_emit_matches_every_captured_frame() {
    let vip: Ipv6Addr = "fd00:99::55".parse().unwrap();
    let f = frames(NA);
    assert_eq!(f.len(), 10, "two blocks of five");
    for frame in f {
        assert_eq!(ndisc::unsolicited_na_frame(MAC, vip, false), frame);
    }
}

#[test]
fn na_router_flag_round_trips() {
    let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let bytes = ndisc::unsolicited_na_frame(MAC, vip, true);
    let p = NaFrame::parse(&bytes).unwrap();
    assert_eq!(p, NaFrame::unsolicited(MAC, vip, true));
    assert_eq!(bytes[14 + 40 + 4], 0xa0, "Router + Override");
}
