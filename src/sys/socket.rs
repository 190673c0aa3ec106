//! Raw VRRP sockets (IP protocol 112), opened the way keepalived opens them (reference §4.12):
//! a receive socket per (interface, family, multicast group or unicast source) and a send socket
//! per (interface, family).
//!
//! - IPv4 send uses `IP_HDRINCL` so the source address, TTL and TOS are exactly ours; the header
//!   is built here ([`build_ipv4_header`]). IPv4 receive sees the IP header; TTL, source and
//!   destination are read from it.
//! - IPv6 send sets hop limits, traffic class 0xC0, `IPV6_CHECKSUM` at offset 6 (the kernel
//!   computes the VRRPv3 checksum with the IPv6 pseudo-header) and picks the source address per
//!   packet with an `IPV6_PKTINFO` control message. IPv6 receive gets the hop limit and
//!   destination from `IPV6_HOPLIMIT` / `IPV6_PKTINFO` control messages; the kernel verifies the
//!   checksum.
//!
//! All sockets are nonblocking and close-on-exec, and expose their fd for mio registration.

use std::io::{IoSlice, IoSliceMut};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    self, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, setsockopt,
    sockopt,
};

use super::SysError;
use super::error::Ctx;

/// IANA protocol number of VRRP (RFC 5798 §5.1.1.4); libc has no constant for it.
pub const IPPROTO_VRRP: libc::c_int = 112;

/// `IPV6_MULTICAST_ALL` from linux/in6.h (Linux 4.20+); libc only exports it for some targets.
const IPV6_MULTICAST_ALL: libc::c_int = 29;

/// RFC 5798 §5.1.1.3 / §5.1.2.3: TTL and hop limit of VRRP packets.
pub const VRRP_TTL: u8 = 255;

/// keepalived compat: IP TOS / IPv6 traffic class "internetwork control" (0xC0).
const TOS_INTERNET_CONTROL: u8 = libc::IPTOS_PREC_INTERNETCONTROL;

/// Offset of the VRRP checksum field in the VRRP header (RFC 5798 §5.1).
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

/// Size of the receive buffer: comfortably above the largest VRRP packet (IPv6 header + 8-byte
/// VRRP header + 255 IPv6 addresses = 4128 bytes) and any jumbo frame.
const RECV_BUF: usize = 65_536;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpFamily {
    V4,
    V6,
}

impl IpFamily {
    pub fn of(addr: &IpAddr) -> IpFamily {
        match addr {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }
}

/// How a receive socket is bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecvMode {
    /// Join `group` on the interface and bind to it (224.0.0.18 / ff02::12 by default).
    Multicast { group: IpAddr },
    /// Bind to the unicast source address (with FREEBIND, so it may not exist yet), or receive
    /// everything addressed to the interface when `None`.
    Unicast { local: Option<IpAddr> },
}

/// One received VRRP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    pub ifindex: u32,
    /// The VRRP message (IP payload).
    pub payload: Vec<u8>,
}

fn raw_socket(family: IpFamily, ifname: &str, proto: libc::c_int) -> Result<OwnedFd, SysError> {
    let domain = match family {
        IpFamily::V4 => libc::AF_INET,
        IpFamily::V6 => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call with constant arguments; the result is checked.
    let raw = unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto,
        )
    };
    if raw < 0 {
        return Err(SysError::new(
            if proto == IPPROTO_VRRP {
                "socket(SOCK_RAW, IPPROTO_VRRP)"
            } else {
                "socket(SOCK_RAW, IPPROTO_AH)"
            },
            ifname,
            Errno::last(),
        ));
    }
    // SAFETY: `raw` is a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// setsockopt for options nix has no wrapper for (or whose nix wrapper takes the wrong struct).
fn setsockopt_raw<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
    op: &'static str,
    obj: &str,
) -> Result<(), SysError> {
    // SAFETY: `val` points to a live, initialised T of exactly size_of::<T>() bytes for the
    // duration of the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(SysError::new(op, obj, Errno::last()))
    } else {
        Ok(())
    }
}

fn bind_to_device(fd: &OwnedFd, ifname: &str) -> Result<(), SysError> {
    setsockopt(fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))
        .ctx("setsockopt(SO_BINDTODEVICE)", ifname)
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(a.octets()),
    }
}

fn in6_addr(a: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr {
        s6_addr: a.octets(),
    }
}

fn sockaddr_v6(addr: Ipv6Addr, ifindex: u32) -> SockaddrIn6 {
    SockaddrIn6::from(SocketAddrV6::new(addr, 0, 0, ifindex))
}

/// A raw VRRP receive socket bound to one interface.
pub struct RecvSocket {
    fd: OwnedFd,
    family: IpFamily,
    /// IPPROTO_VRRP, or IPPROTO_AH for `auth_type AH` (IPv4 only).
    proto: libc::c_int,
    ifname: String,
    ifindex: u32,
    buf: Vec<u8>,
}

impl RecvSocket {
    /// Open a receive socket on `ifname` (index `ifindex`) for `family`.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        family: IpFamily,
        mode: &RecvMode,
    ) -> Result<Self, SysError> {
        Self::open_proto(ifname, ifindex, family, mode, IPPROTO_VRRP)
    }

    /// An IPv4 receive socket for IPsec-AH adverts (IP protocol 51, `auth_type AH`): each
    /// [`Received::payload`] is then the whole datagram, IP header included, for the ICV check.
    pub fn open_ah(ifname: &str, ifindex: u32, mode: &RecvMode) -> Result<Self, SysError> {
        Self::open_proto(ifname, ifindex, IpFamily::V4, mode, libc::IPPROTO_AH)
    }

    fn open_proto(
        ifname: &str,
        ifindex: u32,
        family: IpFamily,
        mode: &RecvMode,
        proto: libc::c_int,
    ) -> Result<Self, SysError> {
        let obj = |what: &dyn std::fmt::Display| format!("{ifname} ({what})");
        let fd = raw_socket(family, ifname, proto)?;
        bind_to_device(&fd, ifname)?;
        let zero: libc::c_int = 0;
        let one: libc::c_int = 1;
        match family {
            IpFamily::V4 => {
                // Without this a socket joined to a group on one interface receives that
                // group's traffic from every interface's joins.
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_ALL,
                    &zero,
                    "setsockopt(IP_MULTICAST_ALL)",
                    ifname,
                )?;
            }
            IpFamily::V6 => {
                match setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    IPV6_MULTICAST_ALL,
                    &zero,
                    "setsockopt(IPV6_MULTICAST_ALL)",
                    ifname,
                ) {
                    // Kernels before 4.20 lack the option; SO_BINDTODEVICE still filters.
                    Err(e) if e.errno == Errno::ENOPROTOOPT => {}
                    r => r?,
                }
                setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)
                    .ctx("setsockopt(IPV6_RECVHOPLIMIT)", ifname)?;
                setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)
                    .ctx("setsockopt(IPV6_RECVPKTINFO)", ifname)?;
                // RFC 5798 §5.2.8: the kernel verifies the checksum with the pseudo-header and
                // drops bad packets before we see them.
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_CHECKSUM,
                    &VRRP_CHECKSUM_OFFSET,
                    "setsockopt(IPV6_CHECKSUM)",
                    ifname,
                )?;
            }
        }
        match (mode, family) {
            (
                RecvMode::Multicast {
                    group: IpAddr::V4(g),
                },
                IpFamily::V4,
            ) => {
                let mreq = libc::ip_mreqn {
                    imr_multiaddr: in_addr(*g),
                    imr_address: in_addr(Ipv4Addr::UNSPECIFIED),
                    imr_ifindex: ifindex as libc::c_int,
                };
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IP,
                    libc::IP_ADD_MEMBERSHIP,
                    &mreq,
                    "setsockopt(IP_ADD_MEMBERSHIP)",
                    &obj(g),
                )?;
                socket::bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(*g, 0)))
                    .ctx("bind", &obj(g))?;
            }
            (
                RecvMode::Multicast {
                    group: IpAddr::V6(g),
                },
                IpFamily::V6,
            ) => {
                let mreq = libc::ipv6_mreq {
                    ipv6mr_multiaddr: in6_addr(*g),
                    ipv6mr_interface: ifindex,
                };
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_ADD_MEMBERSHIP,
                    &mreq,
                    "setsockopt(IPV6_ADD_MEMBERSHIP)",
                    &obj(g),
                )?;
                socket::bind(fd.as_raw_fd(), &sockaddr_v6(*g, ifindex)).ctx("bind", &obj(g))?;
            }
            (RecvMode::Unicast { local: None }, _) => {}
            (
                RecvMode::Unicast {
                    local: Some(IpAddr::V4(a)),
                },
                IpFamily::V4,
            ) => {
                // keepalived 2.3.3+: FREEBIND so the socket opens before the address exists.
                setsockopt(&fd, sockopt::IpFreebind, &true)
                    .ctx("setsockopt(IP_FREEBIND)", ifname)?;
                socket::bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(*a, 0)))
                    .ctx("bind", &obj(a))?;
            }
            (
                RecvMode::Unicast {
                    local: Some(IpAddr::V6(a)),
                },
                IpFamily::V6,
            ) => {
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_FREEBIND,
                    &one,
                    "setsockopt(IPV6_FREEBIND)",
                    ifname,
                )?;
                socket::bind(fd.as_raw_fd(), &sockaddr_v6(*a, ifindex)).ctx("bind", &obj(a))?;
            }
            (RecvMode::Multicast { group: a }, _) | (RecvMode::Unicast { local: Some(a) }, _) => {
                return Err(SysError::new("bind", obj(a), Errno::EAFNOSUPPORT));
            }
        }
        Ok(RecvSocket {
            fd,
            family,
            proto,
            ifname: ifname.to_string(),
            ifindex,
            buf: vec![0; RECV_BUF],
        })
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn family(&self) -> IpFamily {
        self.family
    }

    /// Next packet, `Ok(None)` when the queue is empty (EAGAIN). Call until `None` (mio is
    /// edge-triggered). Malformed IPv4 headers (which the kernel does not deliver) are skipped.
    pub fn recv(&mut self) -> Result<Option<Received>, SysError> {
        loop {
            let r = match self.family {
                IpFamily::V4 => self.recv_v4(),
                IpFamily::V6 => self.recv_v6(),
            };
            match r {
                Ok(Some(Some(p))) => return Ok(Some(p)),
                Ok(Some(None)) => continue,
                Ok(None) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(SysError::new("recvmsg", self.ifname.clone(), e)),
            }
        }
    }

    // Ok(None) = queue empty, Ok(Some(None)) = packet skipped.
    #[allow(clippy::option_option)]
    fn recv_v4(&mut self) -> nix::Result<Option<Option<Received>>> {
        let n = socket::recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty())?;
        let pkt = &self.buf[..n];
        Ok(Some(parse_ipv4_proto(pkt, self.proto).map(
            |(src, dst, ttl, payload)| Received {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                ttl,
                ifindex: self.ifindex,
                payload: if self.proto == IPPROTO_VRRP {
                    payload.to_vec()
                } else {
                    pkt.to_vec()
                },
            },
        )))
    }

    #[allow(clippy::option_option)]
    fn recv_v6(&mut self) -> nix::Result<Option<Option<Received>>> {
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let mut iov = [IoSliceMut::new(&mut self.buf)];
        let msg = socket::recvmsg::<SockaddrIn6>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )?;
        let n = msg.bytes;
        let Some(src) = msg.address else {
            return Ok(Some(None));
        };
        let mut dst = None;
        let mut ttl = None;
        let mut ifindex = self.ifindex;
        // MSG_CTRUNC (cannot happen with our buffer size): no metadata, skip the packet.
        let Ok(cmsgs) = msg.cmsgs() else {
            return Ok(Some(None));
        };
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                    ifindex = info.ipi6_ifindex;
                }
                ControlMessageOwned::Ipv6HopLimit(h) => ttl = u8::try_from(h).ok(),
                _ => {}
            }
        }
        let (Some(dst), Some(ttl)) = (dst, ttl) else {
            return Ok(Some(None));
        };
        Ok(Some(Some(Received {
            src: IpAddr::V6(src.ip()),
            dst: IpAddr::V6(dst),
            ttl,
            ifindex,
            payload: self.buf[..n].to_vec(),
        })))
    }
}

/// Read source, destination, TTL and payload out of a received IPv4 packet; `None` if the
/// header is malformed or the protocol is not VRRP.
pub fn parse_ipv4(pkt: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, &[u8])> {
    parse_ipv4_proto(pkt, IPPROTO_VRRP)
}

fn parse_ipv4_proto(pkt: &[u8], proto: libc::c_int) -> Option<(Ipv4Addr, Ipv4Addr, u8, &[u8])> {
    if pkt.len() < 20 || pkt[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if ihl < 20 || total < ihl || pkt.len() < ihl || i32::from(pkt[9]) != proto {
        return None;
    }
    let end = total.min(pkt.len());
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    Some((src, dst, pkt[8], &pkt[ihl..end]))
}

/// The 20-byte IPv4 header keepalived puts in front of an advert: TOS 0xC0, the instance's
/// advert number as id, no fragmentation flags, protocol 112, header checksum filled in.
pub fn build_ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    id: u16,
    payload_len: usize,
) -> [u8; 20] {
    let total = (20 + payload_len).min(usize::from(u16::MAX)) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45; // version 4, IHL 5 words
    h[1] = TOS_INTERNET_CONTROL;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    // flags/fragment offset 0 (keepalived compat: no DF)
    h[8] = ttl;
    h[9] = IPPROTO_VRRP as u8;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let sum = internet_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// RFC 1071 Internet checksum (the core's).
pub use crate::vrrp::wire::internet_checksum;

/// A raw VRRP send socket bound to one interface. It never queues input (drop-all filter).
pub struct SendSocket {
    fd: OwnedFd,
    family: IpFamily,
    ifname: String,
    ifindex: u32,
}

impl SendSocket {
    pub fn open(ifname: &str, ifindex: u32, family: IpFamily) -> Result<Self, SysError> {
        let fd = raw_socket(family, ifname, IPPROTO_VRRP)?;
        bind_to_device(&fd, ifname)?;
        // keepalived compat: a send socket must not queue every VRRP packet it also "hears":
        // a one-instruction BPF program returning 0 drops all input, plus the smallest buffer.
        let mut drop_all = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let prog = libc::sock_fprog {
            len: drop_all.len() as u16,
            filter: drop_all.as_mut_ptr(),
        };
        setsockopt_raw(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog,
            "setsockopt(SO_ATTACH_FILTER)",
            ifname,
        )?;
        setsockopt(&fd, sockopt::RcvBuf, &0).ctx("setsockopt(SO_RCVBUF)", ifname)?;
        let zero: libc::c_int = 0;
        let one: libc::c_int = 1;
        let hops = libc::c_int::from(VRRP_TTL);
        match family {
            IpFamily::V4 => {
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IP,
                    libc::IP_HDRINCL,
                    &one,
                    "setsockopt(IP_HDRINCL)",
                    ifname,
                )?;
                let mreq = libc::ip_mreqn {
                    imr_multiaddr: in_addr(Ipv4Addr::UNSPECIFIED),
                    imr_address: in_addr(Ipv4Addr::UNSPECIFIED),
                    imr_ifindex: ifindex as libc::c_int,
                };
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_IF,
                    &mreq,
                    "setsockopt(IP_MULTICAST_IF)",
                    ifname,
                )?;
                setsockopt(&fd, sockopt::IpMulticastLoop, &false)
                    .ctx("setsockopt(IP_MULTICAST_LOOP)", ifname)?;
                setsockopt(&fd, sockopt::IpMulticastTtl, &VRRP_TTL)
                    .ctx("setsockopt(IP_MULTICAST_TTL)", ifname)?;
                setsockopt(
                    &fd,
                    sockopt::Ipv4Tos,
                    &libc::c_int::from(TOS_INTERNET_CONTROL),
                )
                .ctx("setsockopt(IP_TOS)", ifname)?;
            }
            IpFamily::V6 => {
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_IF,
                    &(ifindex as libc::c_int),
                    "setsockopt(IPV6_MULTICAST_IF)",
                    ifname,
                )?;
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_LOOP,
                    &zero,
                    "setsockopt(IPV6_MULTICAST_LOOP)",
                    ifname,
                )?;
                setsockopt(&fd, sockopt::Ipv6MulticastHops, &hops)
                    .ctx("setsockopt(IPV6_MULTICAST_HOPS)", ifname)?;
                setsockopt(&fd, sockopt::Ipv6Ttl, &hops)
                    .ctx("setsockopt(IPV6_UNICAST_HOPS)", ifname)?;
                setsockopt(
                    &fd,
                    sockopt::Ipv6TClass,
                    &libc::c_int::from(TOS_INTERNET_CONTROL),
                )
                .ctx("setsockopt(IPV6_TCLASS)", ifname)?;
                // RFC 5798 §5.2.8: the kernel fills in the checksum over the IPv6 pseudo-header.
                setsockopt_raw(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_CHECKSUM,
                    &VRRP_CHECKSUM_OFFSET,
                    "setsockopt(IPV6_CHECKSUM)",
                    ifname,
                )?;
            }
        }
        Ok(SendSocket {
            fd,
            family,
            ifname: ifname.to_string(),
            ifindex,
        })
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn family(&self) -> IpFamily {
        self.family
    }

    /// Send one VRRP message (`payload` = VRRP header onwards) from `src` to `dst` with TTL /
    /// hop limit `ttl`. IPv4: the IP header is built here. IPv6: `src` is selected with
    /// IPV6_PKTINFO and the kernel fills in the VRRP checksum. EAGAIN (full queue) is returned
    /// as an error: a dropped advert is logged, never retried late.
    pub fn send(
        &self,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        ip_id: u16,
        payload: &[u8],
    ) -> Result<(), SysError> {
        let obj = || format!("{} ({src} -> {dst})", self.ifname);
        match (src, dst, self.family) {
            (IpAddr::V4(s), IpAddr::V4(d), IpFamily::V4) => {
                let hdr = build_ipv4_header(s, d, ttl, ip_id, payload.len());
                let iov = [IoSlice::new(&hdr), IoSlice::new(payload)];
                let to = SockaddrIn::from(SocketAddrV4::new(d, 0));
                socket::sendmsg(self.fd.as_raw_fd(), &iov, &[], MsgFlags::empty(), Some(&to))
                    .ctx("sendmsg", &obj())?;
            }
            (IpAddr::V6(s), IpAddr::V6(d), IpFamily::V6) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: in6_addr(s),
                    ipi6_ifindex: self.ifindex,
                };
                let hops = libc::c_int::from(ttl);
                let cmsgs = [
                    ControlMessage::Ipv6PacketInfo(&info),
                    ControlMessage::Ipv6HopLimit(&hops),
                ];
                let iov = [IoSlice::new(payload)];
                let to = sockaddr_v6(d, self.ifindex);
                socket::sendmsg(
                    self.fd.as_raw_fd(),
                    &iov,
                    &cmsgs,
                    MsgFlags::empty(),
                    Some(&to),
                )
                .ctx("sendmsg", &obj())?;
            }
            _ => return Err(SysError::new("sendmsg", obj(), Errno::EAFNOSUPPORT)),
        }
        Ok(())
    }

    /// IPv4 only: send a complete IP packet built by the caller (header included).
    pub fn send_ipv4_packet(&self, dst: Ipv4Addr, packet: &[u8]) -> Result<(), SysError> {
        if self.family != IpFamily::V4 {
            return Err(SysError::new(
                "sendto",
                self.ifname.clone(),
                Errno::EAFNOSUPPORT,
            ));
        }
        let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
        socket::sendto(self.fd.as_raw_fd(), packet, &to, MsgFlags::empty())
            .ctx("sendto", &format!("{} (-> {dst})", self.ifname))?;
        Ok(())
    }
}

macro_rules! fd_traits {
    ($t:ty) => {
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.as_raw_fd()
            }
        }
    };
}
fd_traits!(RecvSocket);
fd_traits!(SendSocket);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_equals_keepalived_s_first_advert() {
        // tests/vectors/v2_ipv4_mcast_pass.hex, frame 1: id 1, TOS 0xc0, no DF, TTL 255.
        let h = build_ipv4_header(
            Ipv4Addr::new(10, 99, 0, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            255,
            1,
            20,
        );
        let want = [
            0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x2e, 0x0a, 0x63,
            0x00, 0x01, 0xe0, 0x00, 0x00, 0x12,
        ];
        assert_eq!(h, want);
    }

    #[test]
    fn ipv4_header_is_keepalived_shaped_and_parses_back() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(224, 0, 0, 18);
        let h = build_ipv4_header(src, dst, 255, 1, 20);
        assert_eq!(h[0], 0x45);
        assert_eq!(h[1], 0xc0);
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 40);
        assert_eq!(&h[4..8], &[0, 1, 0, 0], "id 1, no DF, no fragment offset");
        assert_eq!(h[8], 255);
        assert_eq!(h[9], 112);
        assert_eq!(internet_checksum(&h), 0, "header checksum verifies");
        let mut pkt = h.to_vec();
        pkt.extend_from_slice(&[0x21; 20]);
        pkt.extend_from_slice(&[0xee; 4]); // link-layer padding beyond total length
        let (s, d, ttl, payload) = parse_ipv4(&pkt).unwrap();
        assert_eq!((s, d, ttl), (src, dst, 255));
        assert_eq!(payload, &[0x21; 20]);
    }

    #[test]
    fn malformed_ipv4_is_rejected_not_panicking() {
        assert!(parse_ipv4(&[]).is_none());
        assert!(parse_ipv4(&[0x45; 19]).is_none());
        let mut h = build_ipv4_header(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 1, 0, 0).to_vec();
        h[0] = 0x4f; // IHL 60 > packet length
        assert!(parse_ipv4(&h).is_none());
        h[0] = 0x44; // IHL 16 < 20
        assert!(parse_ipv4(&h).is_none());
        h[0] = 0x45;
        h[9] = 6; // TCP
        assert!(parse_ipv4(&h).is_none());
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3 example bytes: sum 0xddf2, checksum = !0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
        assert_eq!(internet_checksum(&[0xff]), !0xff00);
    }
}
