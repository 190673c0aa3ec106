//! Unsolicited Neighbor Advertisements (RFC 4861 §4.4, §7.2.6; RFC 5798 §6.4.1 for IPv6 VIPs)
//! as a whole Ethernet + IPv6 + ICMPv6 frame, as keepalived sends them through `AF_PACKET`.
//!
//! keepalived compat (captured from Debian's 2.2.7, tests/vectors/unsolicited_na.hex): Ethernet
//! 33:33:00:00:00:01 ← interface MAC; IPv6 traffic class 0, flow label 0, hop limit 255, source
//! **the VIP itself**, destination ff02::1; ICMPv6 type 136 code 0, flags Override (+ Router
//! when IPv6 forwarding is on for the interface), target = VIP, one Target Link-Layer Address
//! option carrying the interface MAC. 86 bytes.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::ip::{IPV6_HEADER_LEN, Ipv6Repr};
use super::wire::internet_checksum;

/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IPv6 next header ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 type Neighbor Advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// NDP option Target Link-Layer Address.
pub const OPT_TARGET_LL_ADDR: u8 = 2;
/// All-nodes multicast address.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Ethernet address of ff02::1 (RFC 2464 §7: 33:33 + low 32 bits).
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// NA body without options: type, code, checksum, flags/reserved, target.
pub const NA_LEN: usize = 24;
/// NA with one Target Link-Layer Address option.
pub const NA_WITH_TLLA_LEN: usize = NA_LEN + 8;
/// The whole frame keepalived sends.
pub const NA_FRAME_LEN: usize = 14 + IPV6_HEADER_LEN + NA_WITH_TLLA_LEN;
/// Hop limit of ND messages (RFC 4861 §7.1.2 requires 255 on receipt).
pub const ND_HOP_LIMIT: u8 = 255;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// Why bytes are not an Ethernet/IPv6 Neighbor Advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NdiscError {
    Truncated,
    /// Ethertype not IPv6 or IPv6 version nibble wrong.
    NotIpv6,
    /// Next header is not ICMPv6.
    NotIcmpv6,
    /// ICMPv6 type/code is not NA.
    NotNeighborAdvert,
    Checksum,
    /// An option with length 0 or running past the end.
    BadOption,
}

impl fmt::Display for NdiscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NdiscError::Truncated => "truncated frame",
            NdiscError::NotIpv6 => "not an IPv6 frame",
            NdiscError::NotIcmpv6 => "not ICMPv6",
            NdiscError::NotNeighborAdvert => "not a neighbor advertisement",
            NdiscError::Checksum => "invalid ICMPv6 checksum",
            NdiscError::BadOption => "malformed ND option",
        })
    }
}

impl std::error::Error for NdiscError {}

/// A Neighbor Advertisement message (RFC 4861 §4.4).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |     Code      |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |R|S|O|                     Reserved                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Target Address (128 bits)               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Options: Type 2 | Length 1 | Target link-layer address ...
/// +-+-+-+-+-+-+-+-+-+-+-+-
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaRepr {
    pub router: bool,
    pub solicited: bool,
    pub override_flag: bool,
    pub target: Ipv6Addr,
    /// The Target Link-Layer Address option, if present.
    pub target_mac: Option<[u8; 6]>,
}

impl NaRepr {
    /// Bytes of the ICMPv6 message.
    pub fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            NA_WITH_TLLA_LEN
        } else {
            NA_LEN
        }
    }

    /// Parse an ICMPv6 message sent from `src` to `dst`, verifying its checksum.
    pub fn parse(icmp: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<NaRepr, NdiscError> {
        let head = icmp.get(..NA_LEN).ok_or(NdiscError::Truncated)?;
        if head[0] != ICMPV6_NEIGHBOR_ADVERT || head[1] != 0 {
            return Err(NdiscError::NotNeighborAdvert);
        }
        if icmpv6_checksum(src, dst, icmp) != 0 {
            return Err(NdiscError::Checksum);
        }
        let mut target = [0u8; 16];
        target.copy_from_slice(&head[8..24]);
        let mut target_mac = None;
        let mut opts = &icmp[NA_LEN..];
        while !opts.is_empty() {
            // RFC 4861 §4.6: type, length in units of 8 octets (0 is invalid).
            let (ty, len) = match opts {
                [ty, len, ..] if *len != 0 => (*ty, usize::from(*len) * 8),
                _ => return Err(NdiscError::BadOption),
            };
            let opt = opts.get(..len).ok_or(NdiscError::BadOption)?;
            if ty == OPT_TARGET_LL_ADDR && len == 8 {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&opt[2..8]);
                target_mac = Some(mac);
            }
            opts = &opts[len..];
        }
        Ok(NaRepr {
            router: head[4] & FLAG_ROUTER != 0,
            solicited: head[4] & FLAG_SOLICITED != 0,
            override_flag: head[4] & FLAG_OVERRIDE != 0,
            target: Ipv6Addr::from(target),
            target_mac,
        })
    }

    /// Write the message with its checksum (pseudo-header `src`, `dst`) into
    /// `buf[..buffer_len()]`.
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> Result<(), NdiscError> {
        let len = self.buffer_len();
        let b = buf.get_mut(..len).ok_or(NdiscError::Truncated)?;
        b.fill(0);
        b[0] = ICMPV6_NEIGHBOR_ADVERT;
        b[4] = (if self.router { FLAG_ROUTER } else { 0 })
            | (if self.solicited { FLAG_SOLICITED } else { 0 })
            | (if self.override_flag { FLAG_OVERRIDE } else { 0 });
        b[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            b[24] = OPT_TARGET_LL_ADDR;
            b[25] = 1;
            b[26..32].copy_from_slice(&mac);
        }
        let c = icmpv6_checksum(src, dst, b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

/// The ICMPv6 checksum (RFC 4443 §2.3) over the IPv6 pseudo-header and `msg` as it stands:
/// with the checksum field zero this is the value to store; over a received message it is 0
/// when the checksum verifies.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut data = Vec::with_capacity(40 + msg.len());
    data.extend_from_slice(&src.octets());
    data.extend_from_slice(&dst.octets());
    data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, IPPROTO_ICMPV6]);
    data.extend_from_slice(msg);
    internet_checksum(&data)
}

/// A Neighbor Advertisement with its IPv6 and Ethernet headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub na: NaRepr,
}

impl NaFrame {
    /// The unsolicited NA keepalived sends for `vip` from an interface with MAC `mac`:
    /// source address = the VIP, to ff02::1, Override set, Router = `router` (IPv6 forwarding
    /// enabled on the interface), Target Link-Layer Address = `mac`.
    pub fn unsolicited(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> NaFrame {
        NaFrame {
            eth_dst: ALL_NODES_MAC,
            eth_src: mac,
            // keepalived compat: the VIP itself is the source, not the link-local address.
            src: vip,
            dst: ALL_NODES,
            hop_limit: ND_HOP_LIMIT,
            na: NaRepr {
                router,
                // RFC 4861 §7.2.6: unsolicited ⇒ Solicited clear.
                solicited: false,
                override_flag: true,
                target: vip,
                target_mac: Some(mac),
            },
        }
    }

    pub fn buffer_len(&self) -> usize {
        14 + IPV6_HEADER_LEN + self.na.buffer_len()
    }

    /// The whole frame (traffic class and flow label 0).
    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.buffer_len()];
        out[0..6].copy_from_slice(&self.eth_dst);
        out[6..12].copy_from_slice(&self.eth_src);
        out[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        let ip = Ipv6Repr {
            src: self.src,
            dst: self.dst,
            next_header: IPPROTO_ICMPV6,
            hop_limit: self.hop_limit,
            traffic_class: 0,
            flow_label: 0,
            payload_len: self.na.buffer_len(),
        };
        // Neither can fail: `out` was sized from the same lengths.
        let _ = ip.emit(&mut out[14..]);
        let _ = self
            .na
            .emit(self.src, self.dst, &mut out[14 + IPV6_HEADER_LEN..]);
        out
    }

    /// Parse an Ethernet frame (no VLAN tag) carrying an NA directly after the IPv6 header.
    pub fn parse(frame: &[u8]) -> Result<NaFrame, NdiscError> {
        let eth = frame.get(..14).ok_or(NdiscError::Truncated)?;
        if u16::from_be_bytes([eth[12], eth[13]]) != ETHERTYPE_IPV6 {
            return Err(NdiscError::NotIpv6);
        }
        let (ip, payload) = Ipv6Repr::parse(&frame[14..]).map_err(|e| match e {
            super::ip::IpError::Version => NdiscError::NotIpv6,
            _ => NdiscError::Truncated,
        })?;
        if ip.next_header != IPPROTO_ICMPV6 {
            return Err(NdiscError::NotIcmpv6);
        }
        let mut eth_dst = [0u8; 6];
        eth_dst.copy_from_slice(&eth[0..6]);
        let mut eth_src = [0u8; 6];
        eth_src.copy_from_slice(&eth[6..12]);
        Ok(NaFrame {
            eth_dst,
            eth_src,
            src: ip.src,
            dst: ip.dst,
            hop_limit: ip.hop_limit,
            na: NaRepr::parse(payload, ip.src, ip.dst)?,
        })
    }
}

/// The unsolicited NA frame for `vip` (what `Action::SendGarp` puts on the wire for an IPv6
/// address).
pub fn unsolicited_na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> Vec<u8> {
    NaFrame::unsolicited(mac, vip, router).emit()
}

/// Convenience for callers holding an `IpAddr`: `None` for IPv4.
pub fn unsolicited_na_frame_for(mac: [u8; 6], addr: IpAddr, router: bool) -> Option<Vec<u8>> {
    match addr {
        IpAddr::V6(a) => Some(unsolicited_na_frame(mac, a, router)),
        IpAddr::V4(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_flag_and_bad_options() {
        let vip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let f = unsolicited_na_frame([2, 0, 0, 0, 0, 1], vip, true);
        let p = NaFrame::parse(&f).unwrap();
        assert!(p.na.router && p.na.override_flag && !p.na.solicited);
        // Zero-length option.
        let mut g = f.clone();
        g[14 + 40 + 25] = 0;
        let mut icmp = g[54..].to_vec();
        icmp[2] = 0;
        icmp[3] = 0;
        let c = icmpv6_checksum(vip, ALL_NODES, &icmp);
        g[56..58].copy_from_slice(&c.to_be_bytes());
        assert_eq!(NaFrame::parse(&g), Err(NdiscError::BadOption));
        // Checksum.
        let mut g = f.clone();
        g[60] ^= 1;
        assert_eq!(NaFrame::parse(&g), Err(NdiscError::Checksum));
        for n in 0..f.len() {
            assert!(NaFrame::parse(&f[..n]).is_err());
        }
    }
}
