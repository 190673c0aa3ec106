//! Byte-vector tests both ways against packets captured from Debian's keepalived 2.2.7
//! (tests/vectors/README.md says how): parse a captured packet → expected `Advert`; emit that
//! `Advert` → the captured bytes exactly.

mod wire_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rkeepalived::time::Centis;
use rkeepalived::vrrp::ip;
use rkeepalived::vrrp::spec::{Family, Version};
use rkeepalived::vrrp::wire::{
    self, Advert, ChecksumCtx, ChecksumForm, WireAuth, WireError, emit, emit_with_form, parse,
    parse_with_fallback,
};
use wire_common::{frames, vrrp_from_frame};

const V2_MCAST_PASS: &str = include_str!("vectors/v2_ipv4_mcast_pass.hex");
const V2_UNICAST_PASS: &str = include_str!("vectors/v2_ipv4_unicast_pass.hex");
const V3_MCAST: &str = include_str!("vectors/v3_ipv4_mcast.hex");
const V3_MCAST_AS_V2: &str = include_str!("vectors/v3_ipv4_mcast_as_v2.hex");
const V3_UNICAST: &str = include_str!("vectors/v3_ipv4_unicast.hex");
const V3_V6_MCAST: &str = include_str!("vectors/v3_ipv6_mcast.hex");

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn ctx(src: IpAddr, dst: IpAddr, pseudo: bool, kernel: bool) -> ChecksumCtx {
    ChecksumCtx {
        src,
        dst,
        v3_ipv4_pseudo_header: pseudo,
        kernel_checksum: kernel,
    }
}

fn first(text: &str) -> Vec<u8> {
    frames(text).into_iter().next().expect("a frame")
}

/// Parse, compare with `expected`, re-emit, compare with the captured bytes, and check the
/// IPv4 header keepalived built.
fn both_ways(frame: &[u8], c: &ChecksumCtx, expected: &Advert, form: ChecksumForm) {
    let rx = vrrp_from_frame(frame);
    assert_eq!((rx.src, rx.dst), (c.src, c.dst));
    let parsed = parse_with_fallback(rx.payload, rx.family, c).expect("parses");
    assert_eq!(&parsed.advert, expected);
    assert_eq!(parsed.checksum, form);
    assert_eq!(parse(rx.payload, rx.family, c).as_ref(), Ok(expected));
    assert_eq!(wire::buffer_len(expected), rx.payload.len());
    assert_eq!(
        emit_with_form(expected, c, form),
        rx.payload,
        "emit with {form:?}"
    );
    if rx.family == Family::V4 {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (rx.src, rx.dst) else {
            unreachable!()
        };
        assert_eq!(rx.ttl, 255);
        let hdr = ip::vrrp_header(s, d, 255, rx.ident, rx.payload.len());
        assert_eq!(
            &hdr[..],
            rx.ip_header,
            "IPv4 header as keepalived builds it"
        );
    }
}

fn v2_pass_advert() -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: Centis(200),
        auth: WireAuth::Pass(*b"secret12"),
        addrs: vec![v4(10, 99, 0, 51)],
    }
}

#[test]
fn v2_ipv4_multicast_pass_both_ways() {
    let c = ctx(v4(10, 99, 0, 1), v4(224, 0, 0, 18), true, false);
    let expected = v2_pass_advert();
    both_ways(&first(V2_MCAST_PASS), &c, &expected, ChecksumForm::V2);
    assert_eq!(
        emit(&expected, &c),
        vrrp_from_frame(&first(V2_MCAST_PASS)).payload
    );
}

#[test]
fn v2_ipv4_multicast_priority_zero_at_shutdown() {
    // The last frame is keepalived's "sent 0 priority" on SIGTERM.
    let all = frames(V2_MCAST_PASS);
    let rx = vrrp_from_frame(all.last().unwrap());
    let c = ctx(rx.src, rx.dst, true, false);
    let a = parse(rx.payload, rx.family, &c).unwrap();
    assert_eq!(a.priority, 0);
    assert_eq!(emit(&a, &c), rx.payload);
}

#[test]
fn v2_ipv4_unicast_pass_both_ways() {
    // auth_pass "1234" is zero-padded to 8 bytes.
    let c = ctx(v4(10, 99, 0, 1), v4(10, 99, 0, 2), true, false);
    let expected = Advert {
        version: Version::V2,
        vrid: 52,
        priority: 100,
        adver_int: Centis(100),
        auth: WireAuth::Pass(*b"1234\0\0\0\0"),
        addrs: vec![v4(10, 99, 0, 52)],
    };
    both_ways(&first(V2_UNICAST_PASS), &c, &expected, ChecksumForm::V2);
}

fn v3_mcast_advert() -> Advert {
    Advert {
        version: Version::V3,
        vrid: 53,
        priority: 150,
        adver_int: Centis(100),
        auth: WireAuth::None,
        addrs: vec![v4(10, 99, 0, 53), v4(10, 99, 0, 54)],
    }
}

#[test]
fn v3_ipv4_multicast_pseudo_header_both_ways() {
    let c = ctx(v4(10, 99, 0, 1), v4(224, 0, 0, 18), true, false);
    both_ways(
        &first(V3_MCAST),
        &c,
        &v3_mcast_advert(),
        ChecksumForm::V3Ipv4PseudoHeader,
    );
    assert_eq!(
        emit(&v3_mcast_advert(), &c),
        vrrp_from_frame(&first(V3_MCAST)).payload
    );
}

#[test]
fn v3_ipv4_multicast_rejected_without_pseudo_header() {
    // keepalived's default form does not verify for a peer configured v3_checksum_as_v2.
    let frame = first(V3_MCAST);
    let rx = vrrp_from_frame(&frame);
    let c = ctx(rx.src, rx.dst, false, false);
    assert_eq!(parse(rx.payload, rx.family, &c), Err(WireError::Checksum));
}

#[test]
fn v3_ipv4_as_v2_both_ways() {
    let c = ctx(v4(10, 99, 0, 1), v4(224, 0, 0, 18), false, false);
    let frame = first(V3_MCAST_AS_V2);
    both_ways(
        &frame,
        &c,
        &v3_mcast_advert(),
        ChecksumForm::V3Ipv4NoPseudoHeader,
    );
    assert_eq!(
        emit(&v3_mcast_advert(), &c),
        vrrp_from_frame(&frame).payload
    );
    // And it does not verify for keepalived's default.
    let rx = vrrp_from_frame(&frame);
    let c = ctx(rx.src, rx.dst, true, false);
    assert_eq!(parse(rx.payload, rx.family, &c), Err(WireError::Checksum));
    let p = wire::Packet::new_checked(rx.payload, Family::V4).unwrap();
    assert_eq!(
        p.detect_checksum_form(rx.src, rx.dst),
        Some(ChecksumForm::V3Ipv4NoPseudoHeader)
    );
}

fn v3_unicast_advert(priority: u8) -> Advert {
    Advert {
        version: Version::V3,
        vrid: 54,
        priority,
        adver_int: Centis(50),
        auth: WireAuth::None,
        addrs: vec![v4(10, 99, 0, 55)],
    }
}

#[test]
fn v3_ipv4_unicast_pseudo_header_uses_real_destination() {
    let c = ctx(v4(10, 99, 0, 1), v4(10, 99, 0, 2), true, false);
    both_ways(
        &first(V3_UNICAST),
        &c,
        &v3_unicast_advert(100),
        ChecksumForm::V3Ipv4PseudoHeader,
    );
    let all = frames(V3_UNICAST);
    let rx = vrrp_from_frame(all.last().unwrap());
    assert_eq!(parse(rx.payload, rx.family, &c), Ok(v3_unicast_advert(0)));
}

#[test]
fn v3_ipv4_unicast_old_checksum_is_detected() {
    // keepalived < 1.3.6 used 224.0.0.18 in the pseudo-header of unicast adverts.
    let c = ctx(v4(10, 99, 0, 1), v4(10, 99, 0, 2), true, false);
    let old = emit_with_form(&v3_unicast_advert(100), &c, ChecksumForm::V3Ipv4OldUnicast);
    assert_ne!(old, vrrp_from_frame(&first(V3_UNICAST)).payload);
    let parsed = parse_with_fallback(&old, Family::V4, &c).unwrap();
    assert_eq!(parsed.checksum, ChecksumForm::V3Ipv4OldUnicast);
    assert_eq!(parsed.advert, v3_unicast_advert(100));
    // The old form is exactly the multicast form: a multicast receiver gets it right, and
    // for a multicast destination there is nothing to fall back to.
    let mcast = ctx(v4(10, 99, 0, 1), v4(224, 0, 0, 18), true, false);
    assert_eq!(emit(&v3_unicast_advert(100), &mcast), old);
    let mut bad = old.clone();
    bad[7] ^= 0x40;
    assert_eq!(parse(&bad, Family::V4, &mcast), Err(WireError::Checksum));
    assert_eq!(parse(&bad, Family::V4, &c), Err(WireError::Checksum));
}

fn v6_advert(priority: u8) -> Advert {
    Advert {
        version: Version::V3,
        vrid: 55,
        priority,
        adver_int: Centis(100),
        auth: WireAuth::None,
        addrs: vec![IpAddr::V6("fd00:99::55".parse().unwrap())],
    }
}

#[test]
fn v3_ipv6_multicast_both_ways() {
    let src: Ipv6Addr = "fe80::ff:fe00:9901".parse().unwrap();
    let c = ctx(src.into(), wire::VRRP_MCAST_V6.into(), true, false);
    let frame = first(V3_V6_MCAST);
    both_ways(
        &frame,
        &c,
        &v6_advert(200),
        ChecksumForm::V3Ipv6PseudoHeader,
    );
    let rx = vrrp_from_frame(&frame);
    assert_eq!(rx.ttl, 255, "hop limit");
    // With the kernel verifying (IPV6_CHECKSUM), a bad checksum is not our business.
    let mut bad = rx.payload.to_vec();
    bad[6] ^= 0xff;
    assert_eq!(parse(&bad, Family::V6, &c), Err(WireError::Checksum));
    let k = ctx(src.into(), wire::VRRP_MCAST_V6.into(), true, true);
    let p = parse_with_fallback(&bad, Family::V6, &k).unwrap();
    assert_eq!(p.checksum, ChecksumForm::V3Ipv6Kernel);
    // emit computes the checksum even when the kernel will.
    assert_eq!(emit(&v6_advert(200), &k), rx.payload);
}

#[test]
fn every_captured_advert_round_trips() {
    for text in [
        V2_MCAST_PASS,
        V2_UNICAST_PASS,
        V3_MCAST,
        V3_MCAST_AS_V2,
        V3_UNICAST,
        V3_V6_MCAST,
    ] {
        let pseudo = !std::ptr::eq(text, V3_MCAST_AS_V2);
        for frame in frames(text) {
            let rx = vrrp_from_frame(&frame);
            let c = ctx(rx.src, rx.dst, pseudo, false);
            let a =
                parse(rx.payload, rx.family, &c).unwrap_or_else(|e| panic!("{e}: {frame:02x?}"));
            assert_eq!(emit(&a, &c), rx.payload);
        }
    }
}

#[test]
fn ethernet_padding_after_ip_total_length_is_tolerated() {
    // keepalived issue #2422: a 40-byte v2 datagram received with 2 padding bytes.
    let mut frame = first(V2_UNICAST_PASS);
    frame.extend_from_slice(&[0, 0]);
    let rx = vrrp_from_frame(&frame);
    let c = ctx(rx.src, rx.dst, true, false);
    assert_eq!(rx.payload.len(), 20);
    assert!(parse(rx.payload, rx.family, &c).is_ok());
    // But within the IP payload the message must fit exactly (keepalived: "too long").
    let mut long = rx.payload.to_vec();
    long.extend_from_slice(&[0, 0]);
    assert_eq!(parse(&long, Family::V4, &c), Err(WireError::Length));
}

#[test]
fn errors_map_to_counters() {
    let rx_frame = first(V2_MCAST_PASS);
    let rx = vrrp_from_frame(&rx_frame);
    let c = ctx(rx.src, rx.dst, true, false);
    let good = rx.payload.to_vec();
    let fix = |mut b: Vec<u8>| {
        let mut p = wire::Packet::new_unchecked(&mut b[..], Family::V4);
        p.fill_checksum(ChecksumForm::V2, rx.src, rx.dst);
        b
    };
    // Short.
    assert_eq!(parse(&good[..7], Family::V4, &c), Err(WireError::Length));
    assert_eq!(parse(&good[..19], Family::V4, &c), Err(WireError::Length));
    // Count inconsistent with length.
    let mut b = good.clone();
    b[3] = 2;
    assert_eq!(parse(&fix(b), Family::V4, &c), Err(WireError::Length));
    // Version.
    let mut b = good.clone();
    b[0] = 0x41;
    assert_eq!(parse(&fix(b), Family::V4, &c), Err(WireError::Version));
    assert_eq!(parse(&good, Family::V6, &c), Err(WireError::Version));
    // Type.
    let mut b = good.clone();
    b[0] = 0x22;
    assert_eq!(parse(&fix(b), Family::V4, &c), Err(WireError::Type));
    // Auth type.
    let mut b = good.clone();
    b[4] = 3;
    assert_eq!(parse(&fix(b), Family::V4, &c), Err(WireError::AuthType));
    // Checksum.
    let mut b = good.clone();
    b[2] = 99;
    assert_eq!(parse(&b, Family::V4, &c), Err(WireError::Checksum));
    // Auth none and AH parse.
    let mut b = good.clone();
    b[4] = 0;
    assert_eq!(parse(&fix(b), Family::V4, &c).unwrap().auth, WireAuth::None);
    let mut b = good;
    b[4] = 2;
    assert_eq!(parse(&fix(b), Family::V4, &c).unwrap().auth, WireAuth::Ah);
}

#[test]
fn v3_reserved_bits_ignored_on_receive_and_zero_on_send() {
    let rx_frame = first(V3_MCAST);
    let rx = vrrp_from_frame(&rx_frame);
    let c = ctx(rx.src, rx.dst, true, false);
    let mut b = rx.payload.to_vec();
    b[4] |= 0xf0;
    let mut p = wire::Packet::new_unchecked(&mut b[..], Family::V4);
    p.fill_checksum(ChecksumForm::V3Ipv4PseudoHeader, rx.src, rx.dst);
    let parsed = parse_with_fallback(&b, Family::V4, &c).unwrap();
    assert_eq!(parsed.v3_reserved, 0xf);
    assert_eq!(parsed.advert, v3_mcast_advert());
    assert_eq!(emit(&parsed.advert, &c)[4] >> 4, 0);
}

#[test]
fn v3_interval_is_twelve_bit_centiseconds() {
    let c = ctx(v4(10, 0, 0, 1), v4(224, 0, 0, 18), true, false);
    let mut a = v3_mcast_advert();
    a.adver_int = Centis(4095);
    let b = emit(&a, &c);
    assert_eq!((b[4], b[5]), (0x0f, 0xff));
    assert_eq!(parse(&b, Family::V4, &c).unwrap().adver_int, Centis(4095));
    a.adver_int = Centis(5000); // saturates
    assert_eq!(
        parse(&emit(&a, &c), Family::V4, &c).unwrap().adver_int,
        Centis(4095)
    );
    // v2 carries whole seconds.
    let mut a = v2_pass_advert();
    a.adver_int = Centis(300);
    let b = emit(&a, &c);
    assert_eq!(b[5], 3);
    assert_eq!(parse(&b, Family::V4, &c).unwrap().adver_int, Centis(300));
}
