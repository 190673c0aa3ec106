//! IPsec Authentication Header for VRRPv2 (`auth_type AH`, RFC 2338 §5.3.6.3 / RFC 2402), in
//! the form keepalived puts on the wire (IPv4 only):
//!
//! ```text
//!  IPv4 header (protocol 51, TOS 0xC0, id = AH sequence number, TTL 255)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Header=112 | Payload Len=4 |          RESERVED           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Security Parameters Index = sender's IPv4 address    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Sequence Number (from 1)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   ICV: HMAC-MD5-96 (12 bytes)                                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  VRRPv2 advert, auth type 2, authentication data zero
//! ```
//!
//! The ICV is HMAC-MD5 keyed with the 8-byte `auth_pass` (zero padded) over the whole datagram
//! with the IP TOS, the IP header checksum and the ICV itself set to zero, truncated to 96 bits
//! (checked against adverts captured from keepalived 2.2.7: `tests/vectors/`). MD5 and HMAC
//! are written out here (RFC 1321, RFC 2104): the daemon takes no crypto dependency for one
//! legacy mode.

use std::net::Ipv4Addr;

use super::wire::internet_checksum;

/// IP protocol number of the Authentication Header.
pub const IPPROTO_AH: u8 = 51;
const IPPROTO_VRRP: u8 = 112;
/// Next header, payload length, reserved, SPI, sequence number, 96-bit ICV.
pub const AH_LEN: usize = 24;
/// RFC 2402 §2.2: the AH length in 32-bit words minus 2.
const AH_PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
const ICV_LEN: usize = 12;
const ICV_AT: usize = 12;
const TOS_INTERNET_CONTROL: u8 = 0xc0;

/// Why a received AH datagram was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AhError {
    /// Not an IPv4 datagram carrying AH with VRRP inside (too short, other protocol, options).
    Malformed,
    /// The ICV does not match (wrong `auth_pass`, or altered in transit).
    BadIcv,
}

impl std::fmt::Display for AhError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AhError::Malformed => "malformed IPSEC-AH header",
            AhError::BadIcv => "IPSEC-AH authentication failed (bad ICV)",
        })
    }
}

/// A verified AH datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AhRx<'a> {
    pub spi: u32,
    pub seq: u32,
    /// The VRRP message after the AH header.
    pub vrrp: &'a [u8],
}

/// The datagram keepalived sends for `vrrp` (an already emitted VRRPv2 advert with auth type
/// AH): IPv4 header, AH with sequence number `seq` keyed by `key`, then the advert.
pub fn emit_ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    seq: u32,
    key: &[u8; 8],
    vrrp: &[u8],
) -> Vec<u8> {
    let total = 20 + AH_LEN + vrrp.len();
    let mut p = Vec::with_capacity(total);
    p.push(0x45);
    p.push(0); // TOS is zero while the ICV is computed
    p.extend_from_slice(&(total.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    // keepalived compat: the IP id carries the low half of the sequence number.
    p.extend_from_slice(&(seq as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]); // no DF, no fragment offset
    p.push(ttl);
    p.push(IPPROTO_AH);
    p.extend_from_slice(&[0, 0]); // checksum: zero for the ICV
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.push(IPPROTO_VRRP);
    p.push(AH_PAYLOAD_LEN);
    p.extend_from_slice(&[0, 0]);
    // keepalived compat: the SPI is the sender's address.
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0; ICV_LEN]);
    p.extend_from_slice(vrrp);
    let icv = hmac_md5(key, &p);
    p[20 + ICV_AT..20 + ICV_AT + ICV_LEN].copy_from_slice(&icv[..ICV_LEN]);
    p[1] = TOS_INTERNET_CONTROL;
    let sum = internet_checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Check a received datagram (IPv4 header included) against `key`.
pub fn verify_ipv4<'a>(datagram: &'a [u8], key: &[u8; 8]) -> Result<AhRx<'a>, AhError> {
    let p = datagram;
    if p.len() < 20 + AH_LEN || p[0] != 0x45 || p[9] != IPPROTO_AH {
        return Err(AhError::Malformed);
    }
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if total < 20 + AH_LEN || total > p.len() {
        return Err(AhError::Malformed);
    }
    let p = &p[..total];
    let ah = &p[20..20 + AH_LEN];
    if ah[0] != IPPROTO_VRRP || ah[1] != AH_PAYLOAD_LEN {
        return Err(AhError::Malformed);
    }
    let mut copy = p.to_vec();
    copy[1] = 0;
    copy[10] = 0;
    copy[11] = 0;
    copy[20 + ICV_AT..20 + ICV_AT + ICV_LEN].fill(0);
    let want = hmac_md5(key, &copy);
    // Compare without an early exit.
    let diff = want[..ICV_LEN]
        .iter()
        .zip(&ah[ICV_AT..ICV_AT + ICV_LEN])
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff != 0 {
        return Err(AhError::BadIcv);
    }
    let word = |at: usize| u32::from_be_bytes([ah[at], ah[at + 1], ah[at + 2], ah[at + 3]]);
    Ok(AhRx {
        spi: word(4),
        seq: word(8),
        vrrp: &p[20 + AH_LEN..],
    })
}

/// RFC 2104 HMAC with MD5 (64-byte blocks).
pub fn hmac_md5(key: &[u8], msg: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..16].copy_from_slice(&md5(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Vec::with_capacity(64 + msg.len());
    inner.extend(k.iter().map(|b| b ^ 0x36));
    inner.extend_from_slice(msg);
    let ih = md5(&inner);
    let mut outer = Vec::with_capacity(64 + 16);
    outer.extend(k.iter().map(|b| b ^ 0x5c));
    outer.extend_from_slice(&ih);
    md5(&outer)
}

/// RFC 1321 MD5.
pub fn md5(msg: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32), the table of RFC 1321 §3.4.
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut data = msg.to_vec();
    let bits = (msg.len() as u64).wrapping_mul(8);
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&bits.to_le_bytes());
    for block in data.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (i, w) in m.iter_mut().enumerate() {
            *w = u32::from_le_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let t = d;
            d = c;
            c = b;
            b = b.wrapping_add(
                a.wrapping_add(f)
                    .wrapping_add(K[i])
                    .wrapping_add(m[g])
                    .rotate_left(S[i]),
            );
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn md5_rfc1321_test_suite() {
        for (m, d) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            assert_eq!(hex(&md5(m.as_bytes())), d, "{m:?}");
        }
    }

    #[test]
    fn hmac_md5_rfc2104_vectors() {
        assert_eq!(
            hex(&hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }

    /// An advert keepalived 2.2.7 sent with `auth_type AH`, `auth_pass secret12` (VRID 51,
    /// priority 100, 10.99.0.2 -> 224.0.0.18, sequence number 1).
    const KEEPALIVED_AH: &str = "45c0 0040 0001 0000 ff33 d052 0a63 0002 e000 0012 7004 0000
        0a63 0002 0000 0001 502e 4b99 a0e4 7e12 ede5 cb0a 2133 6401 0201 6d9f 0a63 00c8 0000 0000
        0000 0000";

    #[test]
    fn keepalived_s_ah_advert_verifies_and_is_rebuilt_byte_for_byte() {
        let pkt = unhex(KEEPALIVED_AH);
        let rx = verify_ipv4(&pkt, b"secret12").unwrap();
        assert_eq!((rx.spi, rx.seq), (0x0a630002, 1));
        assert_eq!(rx.vrrp.len(), 20);
        assert_eq!(rx.vrrp[0], 0x21);
        let again = emit_ipv4(
            Ipv4Addr::new(10, 99, 0, 2),
            Ipv4Addr::new(224, 0, 0, 18),
            255,
            1,
            b"secret12",
            rx.vrrp,
        );
        assert_eq!(hex(&again), hex(&pkt));
    }

    #[test]
    fn a_wrong_key_or_a_flipped_bit_fails_and_garbage_is_malformed() {
        let pkt = unhex(KEEPALIVED_AH);
        assert_eq!(verify_ipv4(&pkt, b"secret13"), Err(AhError::BadIcv));
        for i in [4, 8, 12, 16, 24, 28, 32, 44, 50, 63] {
            let mut p = pkt.clone();
            p[i] ^= 1;
            assert_eq!(
                verify_ipv4(&p, b"secret12"),
                Err(AhError::BadIcv),
                "byte {i}"
            );
        }
        // TOS and the header checksum are mutable: changing them keeps the ICV valid.
        let mut p = pkt.clone();
        p[1] = 0;
        p[10] = 0;
        assert!(verify_ipv4(&p, b"secret12").is_ok());
        for n in 0..pkt.len() {
            assert!(verify_ipv4(&pkt[..n], b"secret12").is_err());
        }
        let mut p = pkt.clone();
        p[9] = 112;
        assert_eq!(verify_ipv4(&p, b"secret12"), Err(AhError::Malformed));
    }
}
