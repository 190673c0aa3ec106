//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) advertisements: checked view, validated
//! `Advert` representation, parse and emit, checksums.
//!
//! Contract shared by the wire code and the state machines (the types and signatures below are
//! fixed; their bodies are filled in by the wire work).

use std::fmt;
use std::net::IpAddr;

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

/// Parse a VRRP message (the IP payload: header, addresses, v2 auth data). `family` is the
/// family of the IP packet it arrived in. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8], family: Family, ctx: &ChecksumCtx) -> Result<Advert, WireError> {
    let _ = (bytes, family, ctx);
    Err(WireError::Length)
}

/// Bytes needed to emit `advert`.
pub fn buffer_len(advert: &Advert) -> usize {
    let addr_len: usize = advert
        .addrs
        .iter()
        .map(|a| if a.is_ipv4() { 4 } else { 16 })
        .sum();
    8 + addr_len
        + match advert.version {
            Version::V2 => 8,
            Version::V3 => 0,
        }
}

/// Emit `advert` (header, addresses, v2 auth data) with its checksum into a new buffer.
pub fn emit(advert: &Advert, ctx: &ChecksumCtx) -> Vec<u8> {
    let _ = ctx;
    vec![0; buffer_len(advert)]
}
