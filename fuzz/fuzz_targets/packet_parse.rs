//! Every wire parser on arbitrary bytes: none may panic, and an accepted VRRP message must
//! re-emit to bytes that parse to the same advert. The IPsec AH check (`auth_type AH`) runs on
//! the bytes as they are, and on a valid AH datagram wrapped around them with one byte then
//! altered: the valid one must verify to the wrapped message, the altered one must fail unless
//! only a mutable field (TOS, header checksum) changed.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use rkeepalived::vrrp::ah;
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
    ah_checks(sel, bytes);
});

const KEY: &[u8; 8] = b"secret12";

fn ah_checks(sel: u8, bytes: &[u8]) {
    // Arbitrary bytes as a received AH datagram; what verifies must be the datagram's tail.
    if let Ok(rx) = ah::verify_ipv4(bytes, KEY) {
        assert!(rx.vrrp.len() + 20 + ah::AH_LEN <= bytes.len());
    }
    // A valid datagram around the bytes (as the VRRP message), keyed and numbered from `sel`.
    let src = Ipv4Addr::new(10, 0, 0, sel);
    let seq = u32::from(sel) << 8 | u32::from(sel ^ 0x5a);
    let dgram = ah::emit_ipv4(src, wire::VRRP_MCAST_V4, 255, seq, KEY, bytes);
    if dgram.len() > usize::from(u16::MAX) {
        return;
    }
    let rx = ah::verify_ipv4(&dgram, KEY).expect("emitted AH datagram verifies");
    assert_eq!((rx.spi, rx.seq, rx.vrrp), (u32::from(src), seq, bytes));
    let mut other_key = *KEY;
    other_key[usize::from(sel) % 8] ^= 1 << (sel % 7 + 1);
    assert!(ah::verify_ipv4(&dgram, &other_key).is_err());
    // One byte altered: the position and the XOR mask come from the first bytes.
    let [a, b, mask, ..] = *bytes else { return };
    if mask == 0 {
        return;
    }
    let at = usize::from(u16::from_be_bytes([a, b])) % dgram.len();
    let mut bad = dgram.clone();
    bad[at] ^= mask;
    let res = ah::verify_ipv4(&bad, KEY);
    match at {
        // TOS and the IP header checksum are left out of the ICV.
        1 | 10 | 11 => assert!(res.is_ok(), "mutable byte {at}: {res:?}"),
        _ => assert!(res.is_err(), "byte {at} ^ {mask:#x} still verifies"),
    }
    // And cut short anywhere.
    let cut = usize::from(mask) % dgram.len();
    assert!(ah::verify_ipv4(&dgram[..cut], KEY).is_err());
}
