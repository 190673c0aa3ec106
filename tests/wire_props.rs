//! Property tests with an in-test xorshift PRNG (deterministic seeds, no dependencies):
//! the parsers never panic on arbitrary bytes or on mutations of the captured vectors, and
//! parse(emit(x)) == x for random valid adverts.

mod wire_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rkeepalived::time::Centis;
use rkeepalived::vrrp::arp::ArpFrame;
use rkeepalived::vrrp::ip::{self, Ipv6Repr};
use rkeepalived::vrrp::ndisc::NaFrame;
use rkeepalived::vrrp::spec::{Family, Version};
use rkeepalived::vrrp::wire::{
    self, Advert, ChecksumCtx, ChecksumForm, WireAuth, emit, emit_checksum_form,
    parse_with_fallback,
};
use wire_common::frames;

/// xorshift64* — good enough to spread test cases, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
    fn v4(&mut self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self.next() as u32))
    }
    fn v6(&mut self) -> IpAddr {
        IpAddr::V6(Ipv6Addr::from(
            (u128::from(self.next()) << 64) | u128::from(self.next()),
        ))
    }
    fn addr(&mut self, family: Family) -> IpAddr {
        match family {
            Family::V4 => self.v4(),
            Family::V6 => self.v6(),
        }
    }
}

const ALL_VECTORS: [&str; 9] = [
    include_str!("vectors/v2_ipv4_mcast_pass.hex"),
    include_str!("vectors/v2_ipv4_unicast_pass.hex"),
    include_str!("vectors/v3_ipv4_mcast.hex"),
    include_str!("vectors/v3_ipv4_mcast_as_v2.hex"),
    include_str!("vectors/v3_ipv4_unicast.hex"),
    include_str!("vectors/v3_ipv6_mcast.hex"),
    include_str!("vectors/garp.hex"),
    include_str!("vectors/unsolicited_na.hex"),
    "",
];

fn random_ctx(rng: &mut Rng, family: Family) -> ChecksumCtx {
    let dst = match (family, rng.below(3)) {
        (Family::V4, 0) => IpAddr::V4(wire::VRRP_MCAST_V4),
        (Family::V6, 0) => IpAddr::V6(wire::VRRP_MCAST_V6),
        (f, _) => rng.addr(f),
    };
    ChecksumCtx {
        src: rng.addr(family),
        dst,
        v3_ipv4_pseudo_header: rng.bool(),
        kernel_checksum: rng.bool(),
    }
}

/// Every parser in the wire modules, fed the same bytes. Only "does not panic" matters here,
/// plus: whatever parses must re-emit to something that parses to the same advert.
fn feed_everything(bytes: &[u8], rng: &mut Rng) {
    for family in [Family::V4, Family::V6] {
        let ctx = random_ctx(rng, family);
        if let Ok(p) = parse_with_fallback(bytes, family, &ctx) {
            // An accepted message is exactly the re-emitted one, except for the v3 reserved
            // bits and checksum forms we may re-emit differently.
            let again = emit(&p.advert, &ctx);
            assert_eq!(again.len(), bytes.len());
            let ctx_k = ChecksumCtx {
                kernel_checksum: true,
                ..ctx
            };
            if family == Family::V6 || p.advert.version == Version::V2 {
                assert_eq!(
                    parse_with_fallback(&again, family, &ctx_k).map(|q| q.advert),
                    Ok(p.advert.clone())
                );
            }
        }
        let _ = wire::Packet::new_checked(bytes, family).map(|p| {
            let _ = (p.addr(300), p.auth_data(), p.message_len());
            p.detect_checksum_form(ctx.src, ctx.dst)
        });
    }
    let _ = ip::parse_datagram(bytes);
    let _ = Ipv6Repr::parse(bytes);
    let _ = ArpFrame::parse(bytes);
    let _ = NaFrame::parse(bytes);
}

#[test]
fn parsers_never_panic_on_random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100_000 {
        let len = match rng.below(4) {
            0 => rng.below(16),
            1 => rng.below(64),
            _ => rng.below(600),
        } as usize;
        let mut bytes = rng.bytes(len);
        // Bias half the cases towards plausible VRRP headers so the deeper checks run.
        if len > 0 && rng.bool() {
            bytes[0] = if rng.bool() { 0x21 } else { 0x31 };
            if len > 3 && rng.bool() {
                let fam_len = if rng.bool() { 4 } else { 16 };
                let auth = if bytes[0] == 0x21 { 8 } else { 0 };
                bytes[3] = (len.saturating_sub(8 + auth) / fam_len).min(255) as u8;
            }
        }
        feed_everything(&bytes, &mut rng);
    }
}

#[test]
fn parsers_never_panic_on_mutated_vectors() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for text in ALL_VECTORS {
        for f in frames(text).into_iter().take(3) {
            // The whole frame, the L3 datagram, and (for IP) the VRRP payload.
            inputs.push(f[14..].to_vec());
            if f.len() > 34 {
                inputs.push(f[34..].to_vec());
            }
            if f.len() > 54 {
                inputs.push(f[54..].to_vec());
            }
            inputs.push(f);
        }
    }
    let mut cases = 0;
    while cases < 50_000 {
        for base in &inputs {
            let mut b = base.clone();
            match rng.below(5) {
                0 => {
                    let n = rng.below(b.len() as u64 + 1) as usize;
                    b.truncate(n);
                }
                1 => {
                    let n = rng.below(40) as usize;
                    b.extend(rng.bytes(n));
                }
                _ => {
                    for _ in 0..=rng.below(4) {
                        if !b.is_empty() {
                            let i = rng.below(b.len() as u64) as usize;
                            b[i] ^= 1 << rng.below(8);
                        }
                    }
                }
            }
            feed_everything(&b, &mut rng);
            cases += 1;
        }
    }
}

fn random_advert(rng: &mut Rng) -> (Advert, Family) {
    let version = if rng.bool() { Version::V2 } else { Version::V3 };
    let family = if version == Version::V3 && rng.bool() {
        Family::V6
    } else {
        Family::V4
    };
    let n = match rng.below(10) {
        0 => 0,
        1 => 255,
        _ => rng.below(20) as usize,
    };
    let addrs = (0..n).map(|_| rng.addr(family)).collect();
    let (adver_int, auth) = match version {
        Version::V2 => (
            Centis(rng.below(256) as u16 * 100),
            match rng.below(3) {
                0 => WireAuth::None,
                1 => WireAuth::Pass(rng.bytes(8).try_into().unwrap()),
                _ => WireAuth::Ah,
            },
        ),
        Version::V3 => (Centis(rng.below(4096) as u16), WireAuth::None),
    };
    (
        Advert {
            version,
            vrid: rng.u8(),
            priority: rng.u8(),
            adver_int,
            auth,
            addrs,
        },
        family,
    )
}

#[test]
fn parse_of_emit_is_identity_for_random_adverts() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..20_000 {
        let (advert, family) = random_advert(&mut rng);
        let ctx = random_ctx(&mut rng, family);
        let bytes = emit(&advert, &ctx);
        assert_eq!(bytes.len(), wire::buffer_len(&advert));
        let parsed = parse_with_fallback(&bytes, family, &ctx)
            .unwrap_or_else(|e| panic!("{e}: {advert:?} {ctx:?}"));
        assert_eq!(parsed.advert, advert);
        let expected_form = match emit_checksum_form(advert.version, &ctx) {
            ChecksumForm::V3Ipv6PseudoHeader if ctx.kernel_checksum => ChecksumForm::V3Ipv6Kernel,
            f => f,
        };
        assert_eq!(parsed.checksum, expected_form);
        // And any single flipped bit is caught (by the checksum or a header check), unless it
        // is in a v3 reserved bit (ignored, RFC 5798 §5.2.5) or the kernel does the checking.
        if !(family == Family::V6 && ctx.kernel_checksum) {
            let i = rng.below(bytes.len() as u64) as usize;
            let bit = rng.below(8) as u8;
            if !(advert.version == Version::V3 && i == 4 && bit >= 4) {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                // A flip can coincide with the difference between the two IPv4 pseudo-header
                // destinations; then the old-unicast fallback legitimately accepts it.
                let r = parse_with_fallback(&bad, family, &ctx);
                assert!(
                    r.is_err() || r.unwrap().checksum == ChecksumForm::V3Ipv4OldUnicast,
                    "bit {bit} of byte {i} flipped in {advert:?}"
                );
            }
        }
    }
}
