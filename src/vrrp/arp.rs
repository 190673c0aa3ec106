//! Gratuitous ARP frames (RFC 826 packet, RFC 5227 §3 / RFC 5798 §6.4.1 announcement) exactly as
//! keepalived sends them through an `AF_PACKET` socket.
//!
//! keepalived compat (captured from Debian's 2.2.7, tests/vectors/garp.hex): a 42-byte frame
//! with no padding, Ethernet broadcast destination, source = interface MAC, ARP **request**
//! with sender IP = target IP = VIP, sender MAC = interface MAC, target MAC = broadcast.

use std::fmt;
use std::net::Ipv4Addr;

/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv4 (the ARP protocol type).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// ARP hardware type Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// ARP operation request.
pub const OP_REQUEST: u16 = 1;
/// ARP operation reply.
pub const OP_REPLY: u16 = 2;
/// Ethernet header length.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Ethernet/IPv4 ARP packet length.
pub const ARP_LEN: usize = 28;
/// A whole GARP frame as sent (no padding: the NIC pads to the minimum size).
pub const GARP_FRAME_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;
/// The Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// Why bytes are not an Ethernet/IPv4 ARP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpError {
    /// Shorter than an Ethernet header plus a 28-byte ARP packet.
    Truncated,
    /// Ethertype is not ARP.
    NotArp,
    /// Not Ethernet hardware / IPv4 protocol / 6- and 4-byte addresses.
    Format,
}

impl fmt::Display for ArpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArpError::Truncated => "truncated ARP frame",
            ArpError::NotArp => "not an ARP frame",
            ArpError::Format => "not an Ethernet/IPv4 ARP packet",
        })
    }
}

impl std::error::Error for ArpError {}

/// An Ethernet/IPv4 ARP packet (RFC 826).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Hardware type (1)        |     Protocol type (0x0800)    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  HLEN (6)     |  PLEN (4)     |          Operation            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |              Sender hardware address (6 octets)               |
/// |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               |  Sender protocol address      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  (cont.)                      |  Target hardware address      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+          (6 octets)           |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Target protocol address                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// The gratuitous ARP keepalived sends for `vip` from an interface with address `mac`.
    pub fn gratuitous(mac: [u8; 6], vip: Ipv4Addr) -> ArpRepr {
        ArpRepr {
            operation: OP_REQUEST,
            sender_mac: mac,
            sender_ip: vip,
            target_mac: BROADCAST_MAC,
            target_ip: vip,
        }
    }

    /// A gratuitous ARP announces the sender's own address: sender IP = target IP
    /// (RFC 5227 §3; request or reply).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
            && (self.operation == OP_REQUEST || self.operation == OP_REPLY)
    }

    /// Parse the 28-byte ARP packet (bytes after it are ignored: padding).
    pub fn parse(bytes: &[u8]) -> Result<ArpRepr, ArpError> {
        let b = bytes.get(..ARP_LEN).ok_or(ArpError::Truncated)?;
        let htype = u16::from_be_bytes([b[0], b[1]]);
        let ptype = u16::from_be_bytes([b[2], b[3]]);
        if htype != HTYPE_ETHERNET || ptype != ETHERTYPE_IPV4 || b[4] != 6 || b[5] != 4 {
            return Err(ArpError::Format);
        }
        let mac = |s: &[u8]| -> [u8; 6] { [s[0], s[1], s[2], s[3], s[4], s[5]] };
        Ok(ArpRepr {
            operation: u16::from_be_bytes([b[6], b[7]]),
            sender_mac: mac(&b[8..14]),
            sender_ip: Ipv4Addr::new(b[14], b[15], b[16], b[17]),
            target_mac: mac(&b[18..24]),
            target_ip: Ipv4Addr::new(b[24], b[25], b[26], b[27]),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ARP_LEN
    }

    /// Write the 28-byte packet into `buf[..28]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), ArpError> {
        let b = buf.get_mut(..ARP_LEN).ok_or(ArpError::Truncated)?;
        b[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&self.operation.to_be_bytes());
        b[8..14].copy_from_slice(&self.sender_mac);
        b[14..18].copy_from_slice(&self.sender_ip.octets());
        b[18..24].copy_from_slice(&self.target_mac);
        b[24..28].copy_from_slice(&self.target_ip.octets());
        Ok(())
    }
}

/// An ARP packet with its Ethernet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub arp: ArpRepr,
}

impl ArpFrame {
    /// The whole GARP frame keepalived sends for `vip` from interface MAC `mac`.
    pub fn gratuitous(mac: [u8; 6], vip: Ipv4Addr) -> ArpFrame {
        ArpFrame {
            eth_dst: BROADCAST_MAC,
            eth_src: mac,
            arp: ArpRepr::gratuitous(mac, vip),
        }
    }

    /// Parse an Ethernet frame (no VLAN tag) carrying ARP; trailing padding is ignored.
    pub fn parse(frame: &[u8]) -> Result<ArpFrame, ArpError> {
        let eth = frame
            .get(..ETHERNET_HEADER_LEN)
            .ok_or(ArpError::Truncated)?;
        if u16::from_be_bytes([eth[12], eth[13]]) != ETHERTYPE_ARP {
            return Err(ArpError::NotArp);
        }
        let mut eth_dst = [0u8; 6];
        eth_dst.copy_from_slice(&eth[0..6]);
        let mut eth_src = [0u8; 6];
        eth_src.copy_from_slice(&eth[6..12]);
        Ok(ArpFrame {
            eth_dst,
            eth_src,
            arp: ArpRepr::parse(&frame[ETHERNET_HEADER_LEN..])?,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        GARP_FRAME_LEN
    }

    /// The 42-byte frame.
    pub fn emit(&self) -> [u8; GARP_FRAME_LEN] {
        let mut out = [0u8; GARP_FRAME_LEN];
        out[0..6].copy_from_slice(&self.eth_dst);
        out[6..12].copy_from_slice(&self.eth_src);
        out[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        // Cannot fail: the slice is exactly ARP_LEN long.
        let _ = self.arp.emit(&mut out[ETHERNET_HEADER_LEN..]);
        out
    }
}

/// The GARP frame for `vip` from an interface with MAC `mac` (what `Action::SendGarp` puts on
/// the wire for an IPv4 address).
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    ArpFrame::gratuitous(mac, vip).emit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_foreign_frames_are_rejected() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 1));
        for n in 0..GARP_FRAME_LEN {
            assert_eq!(ArpFrame::parse(&f[..n]), Err(ArpError::Truncated));
        }
        let mut g = f;
        g[13] = 0;
        assert_eq!(ArpFrame::parse(&g), Err(ArpError::NotArp));
        let mut g = f;
        g[18] = 16;
        assert_eq!(ArpFrame::parse(&g), Err(ArpError::Format));
    }
}
