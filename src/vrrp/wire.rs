//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) advertisements: checked view, validated
//! `Advert` representation, parse and emit, checksums.
//!
//! Contract shared by the wire code and the state machines (the types and signatures below are
//! fixed; their bodies are filled in by the wire work).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::spec::{Family, Version};
use crate::time::Centis;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// VRRP message type ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// v2 authentication carried in an advert (RFC 3768 §5.3.6 / §5.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireAuth {
    /// Auth type 0.
    None,
    /// Auth type 1 (simple text password), 8 bytes of authentication data.
    Pass([u8; 8]),
    /// Auth type 2 (IP authentication header; deprecated by RFC 3768).
    Ah,
}

/// A validated advertisement, as the state machines see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval. v2 carries whole seconds (this is seconds × 100); v3 carries
    /// 12-bit centiseconds.
    pub adver_int: Centis,
    /// v2 only; always `WireAuth::None` for v3.
    pub auth: WireAuth,
    /// The IPvX addresses listed in the advert, all of the packet's family.
    pub addrs: Vec<IpAddr>,
}

/// How the checksum of a received or sent advert is computed and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumCtx {
    /// IP source and destination of the packet (the pseudo-header, when used).
    pub src: IpAddr,
    pub dst: IpAddr,
    /// VRRPv3 over IPv4: include the IPv4 pseudo-header (keepalived's default) or not
    /// (`v3_checksum_as_v2`, RFC 9568).
    pub v3_ipv4_pseudo_header: bool,
    /// IPv6: the kernel computes/verifies the checksum (IPV6_CHECKSUM); skip our check.
    pub kernel_checksum: bool,
}

/// Why a received VRRP message was rejected by the wire layer. Each maps to one stats counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the fixed header, or length inconsistent with the address count (+auth).
    /// Counter: packet_len_err.
    Length,
    /// Version nibble is neither 2 nor 3, or does not match the family (v2 over IPv6).
    Version,
    /// Type is not ADVERTISEMENT. Counter: invalid_type_rcvd.
    Type,
    /// Checksum does not verify.
    Checksum,
    /// v2 auth type not 0, 1 or 2. Counter: invalid_authtype.
    AuthType,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Length => "invalid packet length",
            WireError::Version => "wrong VRRP version",
            WireError::Type => "invalid VRRP packet type",
            WireError::Checksum => "invalid checksum",
            WireError::AuthType => "invalid authentication type",
        })
    }
}

impl std::error::Error for WireError {}

/// The IPv4 multicast group of VRRP (RFC 3768 §5.2.2, RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Length of the fixed VRRP header (version/type .. checksum).
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data trailer.
pub const AUTH_DATA_LEN: usize = 8;
/// v2 auth type: none.
pub const AUTH_TYPE_NONE: u8 = 0;
/// v2 auth type: simple text password.
pub const AUTH_TYPE_PASS: u8 = 1;
/// v2 auth type: IP authentication header.
pub const AUTH_TYPE_AH: u8 = 2;
/// Most addresses one advert can list (the count field is one octet).
pub const MAX_ADDRS: usize = 255;
/// Largest v3 Max Adver Int (12 bits of centiseconds).
pub const MAX_V3_ADVER_INT: u16 = 0x0fff;

/// Byte offsets of the VRRP header fields.
mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: Auth Type. v3: 4 reserved bits + the high 4 bits of Max Adver Int.
    pub const AUTH_TYPE_OR_RSVD: usize = 4;
    /// v2: Adver Int (seconds). v3: the low 8 bits of Max Adver Int.
    pub const ADVER_INT: usize = 5;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

fn addr_len(family: Family) -> usize {
    match family {
        Family::V4 => 4,
        Family::V6 => 16,
    }
}

/// Which checksum computation a message was verified with (or emitted with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumForm {
    /// VRRPv2: over the VRRP message only (RFC 3768 §5.3.8).
    V2,
    /// VRRPv3 over IPv4 with an IPv4 pseudo-header whose destination is the real IP destination
    /// (keepalived's default since 1.3.6).
    V3Ipv4PseudoHeader,
    /// VRRPv3 over IPv4 without a pseudo-header (`v3_checksum_as_v2`, RFC 9568 §5.2.8).
    V3Ipv4NoPseudoHeader,
    /// VRRPv3 unicast over IPv4 with the multicast group 224.0.0.18 as pseudo-header destination
    /// (keepalived before 1.3.6, `old_unicast_checksum`).
    V3Ipv4OldUnicast,
    /// VRRPv3 over IPv6 with the IPv6 pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1).
    V3Ipv6PseudoHeader,
    /// VRRPv3 over IPv6, verified by the kernel (`IPV6_CHECKSUM`); not checked here.
    V3Ipv6Kernel,
}

/// A successfully parsed advert plus how its checksum verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub advert: Advert,
    /// The checksum form that verified. `V3Ipv4OldUnicast` means the peer uses the pre-1.3.6
    /// unicast checksum: keepalived then logs "Setting unicast VRRPv3 checksum to old version"
    /// and sends that form to the peer from then on (unless `old_unicast_checksum never`).
    pub checksum: ChecksumForm,
    /// The raw 4 reserved bits of a v3 header (ignored on receive, RFC 5798 §5.2.5); 0 for v2.
    pub v3_reserved: u8,
}

/// A read-only or read-write view over the bytes of one VRRP message.
///
/// VRRPv2 (RFC 3768 §5.1):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Adver Int   |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (1)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            .....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (n)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (1)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (2)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv3 (RFC 5798 §5.1 / RFC 9568 §5.1); addresses are IPv4 or IPv6 per the IP packet:
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IPvX Address(es)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap bytes without any check. Accessors may then panic on short buffers: use only on
    /// buffers this crate sized itself (`emit`), never on received bytes.
    pub const fn new_unchecked(buffer: T, family: Family) -> Self {
        Packet { buffer, family }
    }

    /// Wrap received bytes after `check_len`: afterwards no accessor can panic.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check that the buffer holds a complete message of a known version valid for the family,
    /// and nothing more.
    ///
    /// keepalived compat: the VRRP message must fill the IP payload exactly (2.2.7 rejects
    /// "packet too long" with packet_len_err). Ethernet padding is not part of the IP payload:
    /// strip it with the IP header's total length first (`ip::Ipv4Packet::payload`).
    pub fn check_len(&self) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(WireError::Length);
        }
        let version = self.version().ok_or(WireError::Version)?;
        if version == Version::V2 && self.family == Family::V6 {
            // RFC 3768 is IPv4 only; IPv6 VRRP is v3 (RFC 5798 §5.1.2).
            return Err(WireError::Version);
        }
        if data.len() != self.message_len() {
            return Err(WireError::Length);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The IP family the addresses belong to.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The raw version nibble.
    pub fn version_raw(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The version, if 2 or 3.
    pub fn version(&self) -> Option<Version> {
        match self.version_raw() {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    /// The type nibble (1 = ADVERTISEMENT).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count IPvX Addrs.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 Auth Type (meaningless for v3).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE_OR_RSVD]
    }

    /// v2 Adver Int in seconds (meaningless for v3).
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3 Max Adver Int: 12 bits of centiseconds (meaningless for v2).
    pub fn max_adver_int_v3(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::AUTH_TYPE_OR_RSVD], d[field::ADVER_INT]]) & MAX_V3_ADVER_INT
    }

    /// v3 reserved bits (the high nibble of octet 4).
    pub fn reserved_v3(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE_OR_RSVD] >> 4
    }

    pub fn checksum(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::CHECKSUM.start], d[field::CHECKSUM.start + 1]])
    }

    /// Length the message must have from its version, count and family.
    pub fn message_len(&self) -> usize {
        let auth = match self.version() {
            Some(Version::V2) => AUTH_DATA_LEN,
            _ => 0,
        };
        HEADER_LEN + usize::from(self.count()) * addr_len(self.family) + auth
    }

    /// Address number `index`, if present in the buffer.
    pub fn addr(&self, index: usize) -> Option<IpAddr> {
        let d = self.buffer.as_ref();
        if index >= usize::from(self.count()) {
            return None;
        }
        let len = addr_len(self.family);
        let start = field::ADDRS + index * len;
        let bytes = d.get(start..start + len)?;
        Some(match self.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        })
    }

    /// v2 Authentication Data (the 8 bytes after the addresses), if present.
    pub fn auth_data(&self) -> Option<[u8; 8]> {
        if self.version() != Some(Version::V2) {
            return None;
        }
        let start = field::ADDRS + usize::from(self.count()) * addr_len(self.family);
        let bytes = self.buffer.as_ref().get(start..start + AUTH_DATA_LEN)?;
        <[u8; 8]>::try_from(bytes).ok()
    }

    /// Whether the message's checksum verifies in the given form.
    pub fn verify_checksum(&self, form: ChecksumForm, src: IpAddr, dst: IpAddr) -> bool {
        if form == ChecksumForm::V3Ipv6Kernel {
            return true;
        }
        let data = self.buffer.as_ref();
        let sum = pseudo_header_sum(form, src, dst, data.len()) + ones_sum(data);
        fold(sum) == 0xffff
    }

    /// The first checksum form under which this message verifies, for diagnostics (e.g. a peer
    /// configured with `v3_checksum_as_v2` while we are not).
    pub fn detect_checksum_form(&self, src: IpAddr, dst: IpAddr) -> Option<ChecksumForm> {
        let candidates: &[ChecksumForm] = match (self.version(), self.family) {
            (Some(Version::V2), _) => &[ChecksumForm::V2],
            (Some(Version::V3), Family::V4) => &[
                ChecksumForm::V3Ipv4PseudoHeader,
                ChecksumForm::V3Ipv4NoPseudoHeader,
                ChecksumForm::V3Ipv4OldUnicast,
            ],
            (Some(Version::V3), Family::V6) => &[ChecksumForm::V3Ipv6PseudoHeader],
            (None, _) => &[],
        };
        candidates
            .iter()
            .copied()
            .find(|&form| self.verify_checksum(form, src, dst))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: Version, msg_type: u8) {
        let v = match version {
            Version::V2 => 2u8,
            Version::V3 => 3u8,
        };
        self.buffer.as_mut()[field::VER_TYPE] = (v << 4) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// v2 Auth Type.
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE_OR_RSVD] = auth_type;
    }

    /// v2 Adver Int (seconds).
    pub fn set_adver_int_v2(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = secs;
    }

    /// v3 Max Adver Int; the reserved bits are written as zero (RFC 5798 §5.2.5).
    pub fn set_max_adver_int_v3(&mut self, centis: u16) {
        let [hi, lo] = (centis & MAX_V3_ADVER_INT).to_be_bytes();
        let d = self.buffer.as_mut();
        d[field::AUTH_TYPE_OR_RSVD] = hi;
        d[field::ADVER_INT] = lo;
    }

    pub fn set_checksum(&mut self, checksum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    }

    /// Write address number `index`. Addresses of the other family are written as zeros.
    pub fn set_addr(&mut self, index: usize, addr: IpAddr) {
        let family = self.family;
        let len = addr_len(family);
        let start = field::ADDRS + index * len;
        let out = &mut self.buffer.as_mut()[start..start + len];
        match (family, addr) {
            (Family::V4, IpAddr::V4(a)) => out.copy_from_slice(&a.octets()),
            (Family::V6, IpAddr::V6(a)) => out.copy_from_slice(&a.octets()),
            _ => out.fill(0),
        }
    }

    /// v2 Authentication Data (placed after `count()` addresses).
    pub fn set_auth_data(&mut self, data: [u8; 8]) {
        let start = field::ADDRS + usize::from(self.count()) * addr_len(self.family);
        self.buffer.as_mut()[start..start + AUTH_DATA_LEN].copy_from_slice(&data);
    }

    /// Compute and store the checksum in the given form.
    pub fn fill_checksum(&mut self, form: ChecksumForm, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let sum = pseudo_header_sum(form, src, dst, data.len()) + ones_sum(data);
        self.set_checksum(!fold(sum));
    }
}

/// One's-complement sum of 16-bit big-endian words (an odd last byte is padded with zero),
/// not yet folded. Buffers here are at most a few kB, so u32 cannot overflow... but fold as we
/// go anyway so any length is safe.
fn ones_sum(data: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        if sum > 0xffff_0000 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(u16::from_be_bytes([*last, 0]));
    }
    sum
}

/// Fold a 32-bit accumulator into 16 bits (end-around carry).
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The Internet checksum (RFC 1071) of `data`: the value to store in a checksum field that was
/// zero while summing.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(ones_sum(data))
}

fn v4_octets(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        // A family mismatch can only verify by accident; use zeros rather than panic.
        IpAddr::V6(_) => [0; 4],
    }
}

fn v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(_) => [0; 16],
    }
}

/// Sum of the pseudo-header for `form` (0 when the form has none).
fn pseudo_header_sum(form: ChecksumForm, src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    match form {
        ChecksumForm::V2 | ChecksumForm::V3Ipv4NoPseudoHeader | ChecksumForm::V3Ipv6Kernel => 0,
        ChecksumForm::V3Ipv4PseudoHeader | ChecksumForm::V3Ipv4OldUnicast => {
            // keepalived compat: the IPv4 pseudo-header of RFC 768/793 (src, dst, zero,
            // protocol, length). The old (pre-1.3.6) unicast form put the group address there.
            let dst = if form == ChecksumForm::V3Ipv4OldUnicast {
                VRRP_MCAST_V4.octets()
            } else {
                v4_octets(dst)
            };
            let mut ph = [0u8; 12];
            ph[0..4].copy_from_slice(&v4_octets(src));
            ph[4..8].copy_from_slice(&dst);
            ph[9] = IPPROTO_VRRP;
            ph[10..12].copy_from_slice(&(len as u16).to_be_bytes());
            ones_sum(&ph)
        }
        ChecksumForm::V3Ipv6PseudoHeader => {
            // RFC 5798 §5.2.8 / RFC 8200 §8.1: src, dst, upper-layer length (32 bits), three
            // zero octets, next header.
            let mut ph = [0u8; 40];
            ph[0..16].copy_from_slice(&v6_octets(src));
            ph[16..32].copy_from_slice(&v6_octets(dst));
            ph[32..36].copy_from_slice(&(len as u32).to_be_bytes());
            ph[39] = IPPROTO_VRRP;
            ones_sum(&ph)
        }
    }
}

/// The checksum form to send with, given the version and context (family from `ctx.dst`).
pub fn emit_checksum_form(version: Version, ctx: &ChecksumCtx) -> ChecksumForm {
    match (version, ctx.dst) {
        (Version::V2, _) => ChecksumForm::V2,
        (Version::V3, IpAddr::V4(_)) if ctx.v3_ipv4_pseudo_header => {
            ChecksumForm::V3Ipv4PseudoHeader
        }
        (Version::V3, IpAddr::V4(_)) => ChecksumForm::V3Ipv4NoPseudoHeader,
        // Computed even when the kernel will recompute it (IPV6_CHECKSUM), so the bytes are
        // right on their own and testable.
        (Version::V3, IpAddr::V6(_)) => ChecksumForm::V3Ipv6PseudoHeader,
    }
}

/// Parse a VRRP message (the IP payload: header, addresses, v2 auth data). `family` is the
/// family of the IP packet it arrived in. Never panics, whatever the bytes.
///
/// Accepts the pre-1.3.6 keepalived unicast v3 checksum like keepalived does by default; use
/// [`parse_with_fallback`] to learn which checksum form verified.
pub fn parse(bytes: &[u8], family: Family, ctx: &ChecksumCtx) -> Result<Advert, WireError> {
    parse_with_fallback(bytes, family, ctx).map(|p| p.advert)
}

/// Parse like [`parse`] and also report which checksum form verified, so the instance can
/// switch to (and log) the old unicast checksum, or refuse it (`old_unicast_checksum never`).
///
/// Check order (each failure maps to one keepalived counter): length < 8 → `Length`; version
/// nibble not 2/3, or v2 over IPv6 → `Version`; length ≠ 8 + count × addrlen (+ 8 for v2) →
/// `Length` (packet_len_err); v2 auth type > 2 → `AuthType` (invalid_authtype); type ≠ 1 →
/// `Type` (invalid_type_rcvd); checksum → `Checksum` (chk_err).
pub fn parse_with_fallback(
    bytes: &[u8],
    family: Family,
    ctx: &ChecksumCtx,
) -> Result<Parsed, WireError> {
    let packet = Packet::new_checked(bytes, family)?;
    let version = packet.version().ok_or(WireError::Version)?;

    let auth = match version {
        Version::V2 => match packet.auth_type() {
            AUTH_TYPE_NONE => WireAuth::None,
            AUTH_TYPE_PASS => WireAuth::Pass(packet.auth_data().ok_or(WireError::Length)?),
            AUTH_TYPE_AH => WireAuth::Ah,
            // RFC 3768 §7.1: unknown auth type → discard.
            _ => return Err(WireError::AuthType),
        },
        Version::V3 => WireAuth::None,
    };

    // RFC 5798 §7.1 / RFC 3768 §7.1: only ADVERTISEMENT is defined.
    if packet.msg_type() != TYPE_ADVERTISEMENT {
        return Err(WireError::Type);
    }

    let checksum = match (version, family) {
        (Version::V2, _) => verified(&packet, ChecksumForm::V2, ctx)?,
        (Version::V3, Family::V6) if ctx.kernel_checksum => ChecksumForm::V3Ipv6Kernel,
        (Version::V3, Family::V6) => verified(&packet, ChecksumForm::V3Ipv6PseudoHeader, ctx)?,
        (Version::V3, Family::V4) if !ctx.v3_ipv4_pseudo_header => {
            verified(&packet, ChecksumForm::V3Ipv4NoPseudoHeader, ctx)?
        }
        (Version::V3, Family::V4) => {
            match verified(&packet, ChecksumForm::V3Ipv4PseudoHeader, ctx) {
                Ok(form) => form,
                // keepalived compat: a unicast v3 advert from keepalived < 1.3.6 carries the
                // multicast group in its pseudo-header; keepalived auto-detects it.
                Err(e) if ctx.dst == IpAddr::V4(VRRP_MCAST_V4) => return Err(e),
                Err(e) => verified(&packet, ChecksumForm::V3Ipv4OldUnicast, ctx).map_err(|_| e)?,
            }
        }
    };

    let adver_int = match version {
        // RFC 3768 §5.3.7: whole seconds.
        Version::V2 => Centis(u16::from(packet.adver_int_v2()) * 100),
        // RFC 5798 §5.2.7: 12 bits of centiseconds; the 4 reserved bits are ignored (§5.2.5).
        Version::V3 => Centis(packet.max_adver_int_v3()),
    };
    let addrs = (0..usize::from(packet.count()))
        .map(|i| packet.addr(i).ok_or(WireError::Length))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Parsed {
        advert: Advert {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            adver_int,
            auth,
            addrs,
        },
        checksum,
        v3_reserved: match version {
            Version::V2 => 0,
            Version::V3 => packet.reserved_v3(),
        },
    })
}

fn verified(
    packet: &Packet<&[u8]>,
    form: ChecksumForm,
    ctx: &ChecksumCtx,
) -> Result<ChecksumForm, WireError> {
    if packet.verify_checksum(form, ctx.src, ctx.dst) {
        Ok(form)
    } else {
        Err(WireError::Checksum)
    }
}

/// Bytes needed to emit `advert` (at most [`MAX_ADDRS`] addresses are emitted).
pub fn buffer_len(advert: &Advert) -> usize {
    let addr_len: usize = advert
        .addrs
        .iter()
        .take(MAX_ADDRS)
        .map(|a| if a.is_ipv4() { 4 } else { 16 })
        .sum();
    HEADER_LEN
        + addr_len
        + match advert.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        }
}

/// Emit `advert` (header, addresses, v2 auth data) with its checksum into a new buffer.
///
/// The family of the message is that of `ctx.dst`; the caller (config validation) guarantees
/// that every address is of that family and that there are at most 255 (extra addresses are
/// dropped; an address of the other family is written as zeros of this family's length).
/// v2 Adver Int is `adver_int / 100` seconds (saturating at 255); v3 Max Adver Int is
/// saturated at 4095 centiseconds with the reserved bits zero. The checksum form is
/// [`emit_checksum_form`]; for the pre-1.3.6 unicast form use [`emit_with_form`].
pub fn emit(advert: &Advert, ctx: &ChecksumCtx) -> Vec<u8> {
    emit_with_form(advert, ctx, emit_checksum_form(advert.version, ctx))
}

/// Emit with an explicit checksum form (e.g. `V3Ipv4OldUnicast` once a peer was seen using it).
pub fn emit_with_form(advert: &Advert, ctx: &ChecksumCtx, form: ChecksumForm) -> Vec<u8> {
    let family = match ctx.dst {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    };
    let count = advert.addrs.len().min(MAX_ADDRS);
    let len = HEADER_LEN
        + count * addr_len(family)
        + match advert.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
    let mut packet = Packet::new_unchecked(vec![0u8; len], family);
    packet.set_version_type(advert.version, TYPE_ADVERTISEMENT);
    packet.set_vrid(advert.vrid);
    packet.set_priority(advert.priority);
    packet.set_count(count as u8);
    match advert.version {
        Version::V2 => {
            let (auth_type, data) = match advert.auth {
                WireAuth::None => (AUTH_TYPE_NONE, [0; 8]),
                WireAuth::Pass(p) => (AUTH_TYPE_PASS, p),
                WireAuth::Ah => (AUTH_TYPE_AH, [0; 8]),
            };
            packet.set_auth_type(auth_type);
            let secs = (advert.adver_int.0 / 100).min(u16::from(u8::MAX)) as u8;
            packet.set_adver_int_v2(secs);
            packet.set_auth_data(data);
        }
        Version::V3 => packet.set_max_adver_int_v3(advert.adver_int.0.min(MAX_V3_ADVER_INT)),
    }
    for (i, addr) in advert.addrs.iter().take(count).enumerate() {
        packet.set_addr(i, *addr);
    }
    packet.fill_checksum(form, ctx.src, ctx.dst);
    packet.into_inner()
}
