//! Every wire parser on arbitrary bytes: none may panic, and an accepted VRRP message must
//! re-emit to bytes that parse to the same advert.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use rkeepalived::vrrp::arp::ArpFrame;
use rkeepalived::vrrp::ip::{self, Ipv6Repr};
use rkeepalived::vrrp::ndisc::NaFrame;
use rkeepalived::vrrp::spec::Family;
use rkeepalived::vrrp::wire::{self, ChecksumCtx};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the checksum context; the rest is the packet.
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    for family in [Family::V4, Family::V6] {
        let (src, dst): (IpAddr, IpAddr) = match family {
            Family::V4 => (
                Ipv4Addr::new(10, 0, 0, 1).into(),
                if sel & 4 != 0 {
                    wire::VRRP_MCAST_V4.into()
                } else {
                    Ipv4Addr::new(10, 0, 0, 2).into()
                },
            ),
            Family::V6 => (
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1).into(),
                wire::VRRP_MCAST_V6.into(),
            ),
        };
        let ctx = ChecksumCtx {
            src,
            dst,
            v3_ipv4_pseudo_header: sel & 1 != 0,
            kernel_checksum: sel & 2 != 0,
        };
        if let Ok(p) = wire::parse_with_fallback(bytes, family, &ctx) {
            let again = wire::emit_with_form(&p.advert, &ctx, p.checksum.sendable());
            assert_eq!(again.len(), bytes.len());
            let back = wire::parse_with_fallback(&again, family, &ctx).expect("re-parse");
            assert_eq!(back.advert, p.advert);
        }
    }
    let _ = ip::parse_datagram(bytes);
    let _ = Ipv6Repr::parse(bytes);
    let _ = ArpFrame::parse(bytes);
    let _ = NaFrame::parse(bytes);
});
