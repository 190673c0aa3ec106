//! A minimal IPv4 header view: parse what a raw `IPPROTO_VRRP` socket delivers (header
//! included) and build the header keepalived sends with `IP_HDRINCL`.
//!
//! keepalived compat: the sent header is TOS 0xC0 (internet control), no DF, no options,
//! TTL 255 (or `unicast_ttl`), protocol 112, and an identification that keepalived counts up
//! per instance from 1 (seen on the wire from Debian's 2.2.7; id 0 would make Linux pick one).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::wire::{IPPROTO_VRRP, internet_checksum};

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// TOS keepalived puts on adverts (IPTOS_PREC_INTERNETCONTROL).
pub const TOS_INTERNET_CONTROL: u8 = 0xc0;
/// TTL / hop limit of multicast adverts (RFC 3768 §5.2.3, RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;

/// Why a received IPv4 datagram was rejected. All map to keepalived's packet_len_err except
/// `Checksum` (a corrupt header the kernel would normally have dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpError {
    /// Fewer bytes than a header, than IHL says, or than Total Length says.
    Truncated,
    /// Version nibble is not 4.
    Version,
    /// IHL < 5, or Total Length smaller than the header.
    HeaderLen,
    /// Header checksum does not verify.
    Checksum,
}

impl fmt::Display for IpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpError::Truncated => "truncated IPv4 datagram",
            IpError::Version => "not an IPv4 header",
            IpError::HeaderLen => "invalid IPv4 header length",
            IpError::Checksum => "invalid IPv4 header checksum",
        })
    }
}

impl std::error::Error for IpError {}

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// A view over an IPv4 datagram (RFC 791 §3.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |Type of Service|          Total Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Identification        |Flags|      Fragment Offset    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Source Address                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Destination Address                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options                    |    Padding    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap bytes without checks (only for buffers sized by this crate).
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wrap received bytes after `check_len`; afterwards no accessor can panic.
    pub fn new_checked(buffer: T) -> Result<Self, IpError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The buffer must hold the whole header and at least Total Length bytes.
    ///
    /// keepalived compat (2.3.2+, issue #2422): bytes beyond Total Length are link-layer
    /// (Ethernet minimum-frame) padding that some drivers leave on the datagram; they are
    /// tolerated and excluded from [`payload`](Self::payload).
    pub fn check_len(&self) -> Result<(), IpError> {
        let d = self.buffer.as_ref();
        if d.len() < IPV4_HEADER_LEN {
            return Err(IpError::Truncated);
        }
        if self.version() != 4 {
            return Err(IpError::Version);
        }
        let hl = self.header_len();
        if hl < IPV4_HEADER_LEN {
            return Err(IpError::HeaderLen);
        }
        if d.len() < hl {
            return Err(IpError::Truncated);
        }
        let total = usize::from(self.total_len());
        if total < hl {
            return Err(IpError::HeaderLen);
        }
        if d.len() < total {
            return Err(IpError::Truncated);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn total_len(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::LENGTH.start], d[field::LENGTH.start + 1]])
    }

    pub fn ident(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::IDENT.start], d[field::IDENT.start + 1]])
    }

    /// Flags (3 bits) and fragment offset (13 bits) as on the wire.
    pub fn flags_frag(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::FLG_OFF.start], d[field::FLG_OFF.start + 1]])
    }

    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & 0x4000 != 0
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn header_checksum(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::CHECKSUM.start], d[field::CHECKSUM.start + 1]])
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(d[12], d[13], d[14], d[15])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(d[16], d[17], d[18], d[19])
    }

    /// Whether the header checksum verifies (RFC 791: over the header incl. options).
    pub fn verify_checksum(&self) -> bool {
        internet_checksum(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// The IP payload: from the end of the header to Total Length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Version 4 and IHL 5 (no options).
    pub fn set_version_ihl_no_options(&mut self) {
        self.buffer.as_mut()[field::VER_IHL] = 0x45;
    }
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }
    pub fn set_total_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }
    pub fn set_ident(&mut self, id: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&id.to_be_bytes());
    }
    pub fn set_flags_frag(&mut self, v: u16) {
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }
    pub fn set_protocol(&mut self, proto: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = proto;
    }
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.octets());
    }
    /// Compute and store the header checksum.
    pub fn fill_checksum(&mut self) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let hl = self.header_len();
        let c = internet_checksum(&self.buffer.as_ref()[..hl]);
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

/// The fields of an IPv4 header that matter to VRRP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    /// Length of the payload (Total Length − header length).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Read the header of a checked packet, verifying its checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr, IpError> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(IpError::Checksum);
        }
        Ok(Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }

    /// Always 20: we never send options.
    pub const fn buffer_len(&self) -> usize {
        IPV4_HEADER_LEN
    }

    /// Write a 20-byte header without options, no DF, with its checksum, into `buf[..20]`.
    /// Returns `IpError::Truncated` if `buf` is shorter or the datagram would exceed 65535.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), IpError> {
        let total =
            u16::try_from(IPV4_HEADER_LEN + self.payload_len).map_err(|_| IpError::Truncated)?;
        let hdr = buf.get_mut(..IPV4_HEADER_LEN).ok_or(IpError::Truncated)?;
        let mut p = Ipv4Packet::new_unchecked(hdr);
        p.set_version_ihl_no_options();
        p.set_tos(self.tos);
        p.set_total_len(total);
        p.set_ident(self.ident);
        // keepalived compat: no DF, no fragment offset.
        p.set_flags_frag(0);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
        Ok(())
    }
}

/// Parse a datagram from a raw IPv4 socket: the header (checksum verified) and the payload
/// (Ethernet padding beyond Total Length dropped).
pub fn parse_datagram(bytes: &[u8]) -> Result<(Ipv4Repr, &[u8]), IpError> {
    let packet = Ipv4Packet::new_checked(bytes)?;
    let repr = Ipv4Repr::parse(&packet)?;
    // Slice `bytes` itself so the payload outlives the view.
    let payload = &bytes[packet.header_len()..usize::from(packet.total_len())];
    Ok((repr, payload))
}

/// The 20-byte IPv4 header keepalived puts in front of a VRRP message sent with `IP_HDRINCL`:
/// TOS 0xC0, the given identification, no DF, `ttl`, protocol 112, header checksum.
pub fn vrrp_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    ident: u16,
    payload_len: usize,
) -> [u8; IPV4_HEADER_LEN] {
    let mut buf = [0u8; IPV4_HEADER_LEN];
    let repr = Ipv4Repr {
        src,
        dst,
        protocol: IPPROTO_VRRP,
        ttl,
        tos: TOS_INTERNET_CONTROL,
        ident,
        // A VRRP message is at most 8 + 255 × 16 bytes; clamp so emit cannot fail.
        payload_len: payload_len.min(usize::from(u16::MAX) - IPV4_HEADER_LEN),
    };
    let _ = repr.emit(&mut buf);
    buf
}

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

/// The fixed IPv6 header (RFC 8200 §3), as needed for NA frames and for recognising VRRP
/// packets in captures (a raw IPv6 socket delivers the payload only).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Traffic Class |           Flow Label                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Payload Length        |  Next Header  |   Hop Limit   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                Source Address (128 bits)                      |
/// |                Destination Address (128 bits)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// Parse the fixed header; returns it with its payload (bytes beyond Payload Length are
    /// dropped as link-layer padding). Extension headers are not walked: `next_header` is the
    /// first one.
    pub fn parse(bytes: &[u8]) -> Result<(Ipv6Repr, &[u8]), IpError> {
        let hdr = bytes.get(..IPV6_HEADER_LEN).ok_or(IpError::Truncated)?;
        if hdr[0] >> 4 != 6 {
            return Err(IpError::Version);
        }
        let payload_len = usize::from(u16::from_be_bytes([hdr[4], hdr[5]]));
        let payload = bytes
            .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)
            .ok_or(IpError::Truncated)?;
        let mut src = [0u8; 16];
        src.copy_from_slice(&hdr[8..24]);
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&hdr[24..40]);
        let vtf = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        Ok((
            Ipv6Repr {
                src: Ipv6Addr::from(src),
                dst: Ipv6Addr::from(dst),
                next_header: hdr[6],
                hop_limit: hdr[7],
                traffic_class: (vtf >> 20) as u8,
                flow_label: vtf & 0x000f_ffff,
                payload_len,
            },
            payload,
        ))
    }

    pub const fn buffer_len(&self) -> usize {
        IPV6_HEADER_LEN
    }

    /// Write the 40-byte header into `buf[..40]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), IpError> {
        let plen = u16::try_from(self.payload_len).map_err(|_| IpError::Truncated)?;
        let hdr = buf.get_mut(..IPV6_HEADER_LEN).ok_or(IpError::Truncated)?;
        let vtf =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        hdr[0..4].copy_from_slice(&vtf.to_be_bytes());
        hdr[4..6].copy_from_slice(&plen.to_be_bytes());
        hdr[6] = self.next_header;
        hdr[7] = self.hop_limit;
        hdr[8..24].copy_from_slice(&self.src.octets());
        hdr[24..40].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // keepalived 2.2.7, VRRPv2 vrid 51 to 224.0.0.18 (tests/vectors/v2_ipv4_mcast_pass.hex).
    const HDR: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x2e, 0x0a, 0x63, 0x00,
        0x01, 0xe0, 0x00, 0x00, 0x12,
    ];

    #[test]
    fn parse_keepalived_header() {
        let mut dgram = HDR.to_vec();
        dgram.extend_from_slice(&[0u8; 20]);
        let (repr, payload) = parse_datagram(&dgram).unwrap();
        assert_eq!(repr.src, Ipv4Addr::new(10, 99, 0, 1));
        assert_eq!(repr.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(
            (repr.ttl, repr.protocol, repr.tos, repr.ident),
            (255, 112, 0xc0, 1)
        );
        assert_eq!(payload.len(), 20);
    }

    #[test]
    fn emit_matches_keepalived_header() {
        let h = vrrp_header(
            Ipv4Addr::new(10, 99, 0, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            255,
            1,
            20,
        );
        assert_eq!(h, HDR);
    }

    #[test]
    fn padding_is_tolerated_and_excluded() {
        let mut dgram = HDR.to_vec();
        dgram.extend_from_slice(&[0u8; 22]);
        let (_, payload) = parse_datagram(&dgram).unwrap();
        assert_eq!(payload.len(), 20);
    }

    #[test]
    fn rejects_bad_headers() {
        let mut dgram = HDR.to_vec();
        dgram.extend_from_slice(&[0u8; 20]);
        assert_eq!(parse_datagram(&dgram[..39]), Err(IpError::Truncated));
        assert_eq!(parse_datagram(&dgram[..10]), Err(IpError::Truncated));
        let mut bad = dgram.clone();
        bad[10] ^= 1;
        assert_eq!(parse_datagram(&bad), Err(IpError::Checksum));
        let mut bad = dgram.clone();
        bad[0] = 0x65;
        assert_eq!(parse_datagram(&bad), Err(IpError::Version));
        let mut bad = dgram.clone();
        bad[0] = 0x44;
        assert_eq!(parse_datagram(&bad), Err(IpError::HeaderLen));
        let mut bad = dgram;
        bad.resize(60, 0);
        bad[0] = 0x4f; // 60-byte header but 40-byte total length
        assert_eq!(parse_datagram(&bad), Err(IpError::HeaderLen));
    }
}
