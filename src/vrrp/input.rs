//! Everything the outside world tells the core.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::spec::{Family, NodeSpec};

/// One input to [`super::node::Node::handle`].
///
/// `Reload` carries the whole new configuration by value: an input is built once and moved
/// straight into `handle`, so the size difference costs a memcpy per event, not memory.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A VRRP message received: the IP payload (VRRP header onwards) plus IP metadata.
    Packet(RxPacket),
    /// The clock reached poll_timeout() (spurious calls are harmless).
    Timeout,
    /// Interface state: sent once per interface at start and on every change. Instances stay
    /// INIT until the state of their own interface has been reported once.
    Link(LinkState),
    /// An address disappeared from an interface (netlink RTM_DELADDR), e.g. a VIP deleted by hand.
    AddressDeleted {
        ifname: String,
        addr: IpAddr,
        prefix_len: u8,
    },
    /// A tracker changed (track_script result after rise/fall, track_file value, process count).
    Tracker(TrackerUpdate),
    /// SIGHUP: the new, already validated configuration.
    Reload(NodeSpec),
    /// SIGTERM/SIGINT. release_vips = false for `-V/--dont-release-vrrp`.
    Shutdown { release_vips: bool },
}

/// A received VRRP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxPacket {
    pub ifname: String,
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message; with `ipsec_ah`, the whole IPv4 datagram (header, AH, VRRP).
    pub payload: Vec<u8>,
    /// Received on an IP protocol 51 (AH) socket, for `auth_type AH` instances.
    pub ipsec_ah: bool,
}

/// The state of one interface.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LinkState {
    pub ifname: String,
    pub ifindex: u32,
    pub exists: bool,
    /// IFF_UP && IFF_RUNNING.
    pub up: bool,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// First = primary.
    pub ipv4: Vec<Ipv4Addr>,
    pub ipv6_ll: Option<Ipv6Addr>,
}

impl LinkState {
    /// An existing, running interface with one IPv4 address (handy in tests).
    pub fn up_v4(ifname: &str, addr: Ipv4Addr) -> Self {
        LinkState {
            ifname: ifname.to_string(),
            ifindex: 0,
            exists: true,
            up: true,
            mac: [0; 6],
            mtu: 1500,
            ipv4: vec![addr],
            ipv6_ll: None,
        }
    }

    /// Primary address of `family` on this interface, if any.
    pub fn primary(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::V4 => self.ipv4.first().map(|a| IpAddr::V4(*a)),
            Family::V6 => self.ipv6_ll.map(IpAddr::V6),
        }
    }
}

/// A tracker result. The check scheduler sends `Script` once after the first run of every
/// script (its initial result) and then on every OK<->KO flip after rise/fall; repeats are
/// harmless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackerUpdate {
    Script { name: String, ok: bool },
    File { name: String, value: i64 },
    Process { name: String, running: u32 },
}
