//! Helpers shared by the wire tests: load the captured vectors (tests/vectors/*.hex) and split
//! Ethernet frames.
#![allow(dead_code)]

use std::net::IpAddr;

use rkeepalived::vrrp::ip::{self, Ipv6Repr};
use rkeepalived::vrrp::spec::Family;

/// Frames of a vector file: one hex line per frame, `#` lines are comments.
pub fn frames(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// A VRRP packet cut out of a captured frame.
#[derive(Debug)]
pub struct Rx<'a> {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub ident: u16,
    pub ip_header: &'a [u8],
    pub payload: &'a [u8],
}

/// Split an Ethernet frame carrying VRRP into its IP metadata and the VRRP message.
pub fn vrrp_from_frame(frame: &[u8]) -> Rx<'_> {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let l3 = &frame[14..];
    match ethertype {
        ETHERTYPE_IPV4 => {
            let (repr, payload) = ip::parse_datagram(l3).expect("IPv4 header");
            assert_eq!(repr.protocol, 112);
            Rx {
                family: Family::V4,
                src: repr.src.into(),
                dst: repr.dst.into(),
                ttl: repr.ttl,
                ident: repr.ident,
                ip_header: &l3[..20],
                payload,
            }
        }
        ETHERTYPE_IPV6 => {
            let (repr, payload) = Ipv6Repr::parse(l3).expect("IPv6 header");
            assert_eq!(repr.next_header, 112);
            Rx {
                family: Family::V6,
                src: repr.src.into(),
                dst: repr.dst.into(),
                ttl: repr.hop_limit,
                ident: 0,
                ip_header: &l3[..40],
                payload,
            }
        }
        other => panic!("unexpected ethertype {other:#06x}"),
    }
}
