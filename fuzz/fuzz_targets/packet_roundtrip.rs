//! Build a valid advert from fuzz bytes, emit it, parse it back: it must be the same advert,
//! verified with the checksum form it was emitted with.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use rkeepalived::time::Centis;
use rkeepalived::vrrp::spec::{Family, Version};
use rkeepalived::vrrp::wire::{self, Advert, ChecksumCtx, ChecksumForm, WireAuth};

/// Reads fuzz bytes as a stream; zeros once exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.u8())
    }
    fn addr(&mut self, family: Family) -> IpAddr {
        match family {
            Family::V4 => Ipv4Addr::from(self.array::<4>()).into(),
            Family::V6 => Ipv6Addr::from(self.array::<16>()).into(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let flags = b.u8();
    let version = if flags & 1 == 0 {
        Version::V2
    } else {
        Version::V3
    };
    let family = if version == Version::V3 && flags & 2 != 0 {
        Family::V6
    } else {
        Family::V4
    };
    let vrid = b.u8();
    let priority = b.u8();
    let int_raw = u16::from_be_bytes(b.array::<2>());
    let (adver_int, auth) = match version {
        Version::V2 => (
            Centis(u16::from(int_raw as u8) * 100),
            match flags >> 6 {
                0 => WireAuth::None,
                1 => WireAuth::Pass(b.array::<8>()),
                _ => WireAuth::Ah,
            },
        ),
        Version::V3 => (Centis(int_raw & 0x0fff), WireAuth::None),
    };
    let ctx = ChecksumCtx {
        src: b.addr(family),
        dst: b.addr(family),
        v3_ipv4_pseudo_header: flags & 4 != 0,
        kernel_checksum: flags & 8 != 0,
    };
    let count = b.u8();
    let addrs = (0..count).map(|_| b.addr(family)).collect();
    let advert = Advert {
        version,
        vrid,
        priority,
        adver_int,
        auth,
        addrs,
    };
    let bytes = wire::emit(&advert, &ctx);
    assert_eq!(bytes.len(), wire::buffer_len(&advert));
    let parsed = wire::parse_with_fallback(&bytes, family, &ctx).expect("emitted advert parses");
    assert_eq!(parsed.advert, advert);
    let form = wire::emit_checksum_form(version, &ctx);
    if parsed.checksum != ChecksumForm::V3Ipv6Kernel {
        assert_eq!(parsed.checksum, form);
    }
});
