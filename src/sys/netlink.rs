//! rtnetlink on plain sockets: address add/delete with asynchronous acknowledgements, a link and
//! address monitor, a blocking startup dump, and a per-interface table built from both.
//!
//! Requests go out with NLM_F_ACK and a sequence number; [`NlRequests::poll_acks`] reads the
//! answers whenever the socket is readable, so the event loop never waits for the kernel.
//! EEXIST on add and EADDRNOTAVAIL (or ENODEV) on delete are benign (the address already is the
//! way we want it) and reported as success with [`Ack::benign`] set.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, setsockopt,
    sockopt,
};

use super::SysError;
use super::error::Ctx;
use crate::vrrp::spec::{RouteSpec, RouteType, RuleAction, RuleSpec, VipSpec};

const NLMSG_HDRLEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFINFOMSG_LEN: usize = 16;
const RTATTR_HDRLEN: usize = 4;
/// Netlink dump parts are at most 32 KiB by default; 64 KiB leaves room for larger pages.
const NL_BUF: usize = 65_536;
/// "forever" for IFA_CACHEINFO lifetimes (INFINITY_LIFE_TIME in the kernel's addrconf.h).
const INFINITY_LIFE_TIME: u32 = u32::MAX;
/// Receive buffer of the monitor and request sockets.
const MONITOR_RCVBUF: usize = 4 << 20;
/// Retries of a dump the kernel marked inconsistent (NLM_F_DUMP_INTR).
const DUMP_RETRIES: usize = 5;

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

// ---------------------------------------------------------------------------------------------
// Message building and parsing.

struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    fn new(msg_type: u16, flags: u16, seq: u32) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish()
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        MsgBuilder { buf }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (RTATTR_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.bytes(data);
    }

    /// Open a nested attribute; close it with [`end_nested`](Self::end_nested).
    fn begin_nested(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | libc::NLA_F_NESTED as u16).to_ne_bytes());
        at
    }

    fn end_nested(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One netlink message header plus its payload.
struct NlMsg<'a> {
    ty: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Split a datagram into messages; stops at the first malformed header.
fn messages(buf: &[u8]) -> Vec<NlMsg<'_>> {
    let mut out = vec![];
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let Some(len) = ne_u32(buf, off).map(|l| l as usize) else {
            break;
        };
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        out.push(NlMsg {
            ty: ne_u16(buf, off + 4).unwrap_or(0),
            flags: ne_u16(buf, off + 6).unwrap_or(0),
            seq: ne_u32(buf, off + 8).unwrap_or(0),
            payload: &buf[off + NLMSG_HDRLEN..off + len],
        });
        off += align4(len);
    }
    out
}

/// Iterate (type, data) over route attributes; stops at the first malformed one.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(ne_u16(b, 0)?);
        let ty = ne_u16(b, 2)?;
        if len < RTATTR_HDRLEN || len > b.len() {
            return None;
        }
        let data = &b[RTATTR_HDRLEN..len];
        b = b.get(align4(len)..).unwrap_or(&[]);
        // NLA_F_NESTED / NLA_F_NET_BYTEORDER live in the top bits of the type.
        Some((ty & 0x3fff, data))
    })
}

/// The errno carried by an NLMSG_ERROR payload (0 = ACK).
fn nlmsg_error(payload: &[u8]) -> Option<i32> {
    Some(ne_u32(payload, 0)? as i32)
}

fn ip_from(family: u8, data: &[u8]) -> Option<IpAddr> {
    match i32::from(family) {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?))),
        libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?))),
        _ => None,
    }
}

fn c_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

fn netlink_socket(groups: u32, nonblock: bool, obj: &str) -> Result<OwnedFd, SysError> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblock {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let fd = socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        flags,
        SockProtocol::NetlinkRoute,
    )
    .ctx("socket(AF_NETLINK, NETLINK_ROUTE)", obj)?;
    socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups)).ctx("bind(AF_NETLINK)", obj)?;
    Ok(fd)
}

fn nl_send(fd: &OwnedFd, msg: &[u8], obj: &str) -> Result<(), SysError> {
    let to = NetlinkAddr::new(0, 0);
    loop {
        match socket::sendto(fd.as_raw_fd(), msg, &to, MsgFlags::empty()) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new("sendto(AF_NETLINK)", obj, e)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Address requests.

/// An address to add or delete, with every `ip addr` option keepalived's VIP syntax has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSpec {
    /// For messages only ("failed to add 10.0.0.1/32 to eth1").
    pub ifname: String,
    pub ifindex: u32,
    pub addr: IpAddr,
    /// With `peer`, the peer's prefix length (as `ip addr add A peer P/len`).
    pub prefix_len: u8,
    /// Point-to-point peer: IFA_LOCAL = addr, IFA_ADDRESS = peer.
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast (IFA_BROADCAST).
    pub broadcast: Option<Ipv4Addr>,
    /// RT_SCOPE_* number (0 universe/global, 200 site, 253 link, 254 host).
    pub scope: u8,
    /// IPv4 label (IFA_LABEL), e.g. `eth1:1`.
    pub label: Option<String>,
    pub noprefixroute: bool,
    pub nodad: bool,
    pub home: bool,
    pub mngtmpaddr: bool,
    /// Preferred lifetime in seconds (IFA_CACHEINFO; valid lifetime stays forever).
    pub preferred_lft: Option<u32>,
}

impl AddrSpec {
    pub fn new(ifname: &str, ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        AddrSpec {
            ifname: ifname.to_string(),
            ifindex,
            addr,
            prefix_len,
            peer: None,
            broadcast: None,
            scope: libc::RT_SCOPE_UNIVERSE,
            label: None,
            noprefixroute: false,
            nodad: false,
            home: false,
            mngtmpaddr: false,
            preferred_lft: None,
        }
    }

    /// The netlink form of a configured VIP on `ifname` / `ifindex`.
    pub fn from_vip(ifname: &str, ifindex: u32, vip: &VipSpec) -> Self {
        AddrSpec {
            ifname: ifname.to_string(),
            ifindex,
            addr: vip.addr,
            prefix_len: vip.peer.map(|(_, l)| l).unwrap_or(vip.prefix_len),
            peer: vip.peer.map(|(a, _)| a),
            broadcast: vip.broadcast,
            scope: vip.scope,
            label: vip.label.clone(),
            noprefixroute: vip.noprefixroute,
            // keepalived compat: every IPv6 VIP is added with nodad, so a new MASTER can use
            // it at once (no tentative period after a takeover).
            nodad: vip.nodad || vip.addr.is_ipv6(),
            home: vip.home,
            mngtmpaddr: vip.mngtmpaddr,
            preferred_lft: vip.preferred_lft,
        }
    }

    fn family(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => libc::AF_INET as u8,
            IpAddr::V6(_) => libc::AF_INET6 as u8,
        }
    }

    fn ifa_flags(&self) -> u32 {
        let mut f = 0;
        if self.noprefixroute {
            f |= libc::IFA_F_NOPREFIXROUTE;
        }
        if self.nodad {
            f |= libc::IFA_F_NODAD;
        }
        if self.home {
            f |= libc::IFA_F_HOMEADDRESS;
        }
        if self.mngtmpaddr {
            f |= libc::IFA_F_MANAGETEMPADDR;
        }
        f
    }

    fn encode(&self, msg_type: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut m = MsgBuilder::new(msg_type, flags, seq);
        let ifa_flags = self.ifa_flags();
        let mut ifa = [0u8; IFADDRMSG_LEN];
        ifa[0] = self.family();
        ifa[1] = self.prefix_len;
        ifa[2] = (ifa_flags & 0xff) as u8; // the full set goes in IFA_FLAGS
        ifa[3] = self.scope;
        ifa[4..8].copy_from_slice(&self.ifindex.to_ne_bytes());
        m.bytes(&ifa);
        let octets = |a: &IpAddr| match a {
            IpAddr::V4(v) => v.octets().to_vec(),
            IpAddr::V6(v) => v.octets().to_vec(),
        };
        m.attr(libc::IFA_LOCAL, &octets(&self.addr));
        m.attr(
            libc::IFA_ADDRESS,
            &octets(self.peer.as_ref().unwrap_or(&self.addr)),
        );
        if msg_type == libc::RTM_NEWADDR {
            if let Some(b) = self.broadcast {
                m.attr(libc::IFA_BROADCAST, &b.octets());
            }
            if let (Some(label), IpAddr::V4(_)) = (&self.label, self.addr) {
                let mut l = label.as_bytes().to_vec();
                l.push(0);
                m.attr(libc::IFA_LABEL, &l);
            }
            if ifa_flags != 0 {
                m.attr(libc::IFA_FLAGS, &ifa_flags.to_ne_bytes());
            }
            if let Some(pref) = self.preferred_lft {
                // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
                let mut ci = Vec::with_capacity(16);
                ci.extend_from_slice(&pref.to_ne_bytes());
                ci.extend_from_slice(&INFINITY_LIFE_TIME.to_ne_bytes());
                ci.extend_from_slice(&0u32.to_ne_bytes());
                ci.extend_from_slice(&0u32.to_ne_bytes());
                m.attr(libc::IFA_CACHEINFO, &ci);
            }
        }
        m.finish()
    }
}

impl fmt::Display for AddrSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(p) => write!(f, "{} peer {}/{}", self.addr, p, self.prefix_len),
            None => write!(f, "{}/{}", self.addr, self.prefix_len),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrOp {
    Add,
    Del,
}

/// A route or a policy rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NlObject {
    Route(RouteSpec),
    Rule(RuleSpec),
}

impl fmt::Display for NlObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlObject::Route(r) => write!(f, "route {r}"),
            NlObject::Rule(r) => write!(f, "rule {r}"),
        }
    }
}

/// The kernel's answer to one route or rule request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteAck {
    pub seq: u32,
    pub op: AddrOp,
    pub route: NlObject,
    /// Benign errors (EEXIST on add; ESRCH (route) or ENOENT (rule) on delete) are `Ok`.
    pub result: Result<(), Errno>,
    pub benign: Option<Errno>,
}

impl fmt::Display for RouteAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, past) = match self.op {
            AddrOp::Add => ("add", "added"),
            AddrOp::Del => ("delete", "deleted"),
        };
        match (&self.result, self.benign) {
            (Ok(()), None) => write!(f, "{past} {}", self.route),
            (Ok(()), Some(e)) => write!(f, "{} not {past}: {}", self.route, e.desc()),
            (Err(e), _) => write!(f, "failed to {verb} {}: {}", self.route, e.desc()),
        }
    }
}

/// keepalived's routing protocol number (RTPROT_KEEPALIVED in the kernel's rtnetlink.h; not
/// in libc).
const RTPROT_KEEPALIVED: u8 = 18;
/// RTNH_F_ONLINK in the kernel's rtnetlink.h (not in libc).
const RTNH_F_ONLINK: u32 = 4;

/// RTM_NEWROUTE / RTM_DELROUTE for one route.
fn encode_route(r: &RouteSpec, ifindex: Option<u32>, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut m = MsgBuilder::new(ty, flags, seq);
    let add = ty == libc::RTM_NEWROUTE;
    let table = r.table.unwrap_or(u32::from(libc::RT_TABLE_MAIN));
    let rtype = match r.kind {
        RouteType::Unicast => libc::RTN_UNICAST,
        RouteType::Blackhole => libc::RTN_BLACKHOLE,
        RouteType::Unreachable => libc::RTN_UNREACHABLE,
        RouteType::Prohibit => libc::RTN_PROHIBIT,
        RouteType::Throw => libc::RTN_THROW,
    };
    // Like `ip route`: a unicast route with no gateway is link scope; a delete matches any
    // scope unless one was given.
    let scope = r.scope.unwrap_or(if !add {
        libc::RT_SCOPE_NOWHERE
    } else if r.kind == RouteType::Unicast && r.gateway.is_none() && ifindex.is_some() {
        libc::RT_SCOPE_LINK
    } else {
        libc::RT_SCOPE_UNIVERSE
    });
    // struct rtmsg { family, dst_len, src_len, tos, table, protocol, scope, type, flags: u32 }
    let mut rtm = [0u8; 12];
    rtm[0] = if r.dst.is_ipv6() {
        libc::AF_INET6 as u8
    } else {
        libc::AF_INET as u8
    };
    rtm[1] = r.prefix_len;
    rtm[4] = u8::try_from(table).unwrap_or(0); // RT_TABLE_UNSPEC: RTA_TABLE carries it
    rtm[5] = r
        .protocol
        .unwrap_or(if add { RTPROT_KEEPALIVED } else { 0 });
    rtm[6] = scope;
    rtm[7] = rtype;
    let rflags: u32 = if r.onlink { RTNH_F_ONLINK } else { 0 };
    rtm[8..12].copy_from_slice(&rflags.to_ne_bytes());
    m.bytes(&rtm);
    let octets = |a: &IpAddr| match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    if r.prefix_len > 0 {
        m.attr(libc::RTA_DST, &octets(&r.dst));
    }
    // The kernel refuses a gateway or an interface on blackhole/unreachable/prohibit/throw
    // routes (EINVAL); keepalived's config allows `dev` there (for tracking), so drop them.
    if r.kind == RouteType::Unicast {
        if let Some(g) = &r.gateway {
            m.attr(libc::RTA_GATEWAY, &octets(g));
        }
        if let Some(i) = ifindex {
            m.attr(libc::RTA_OIF, &i.to_ne_bytes());
        }
    }
    if let Some(s) = &r.src {
        m.attr(libc::RTA_PREFSRC, &octets(s));
    }
    if let Some(p) = r.metric {
        m.attr(libc::RTA_PRIORITY, &p.to_ne_bytes());
    }
    m.attr(libc::RTA_TABLE, &table.to_ne_bytes());
    m.finish()
}

// linux/fib_rules.h (not in libc).
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_PROTOCOL: u16 = 21;
const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_GOTO: u8 = 2;
const FR_ACT_BLACKHOLE: u8 = 6;
const FR_ACT_UNREACHABLE: u8 = 7;
const FR_ACT_PROHIBIT: u8 = 8;
const FIB_RULE_INVERT: u32 = 2;

/// RTM_NEWRULE / RTM_DELRULE for one rule.
fn encode_rule(r: &RuleSpec, ty: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut m = MsgBuilder::new(ty, flags, seq);
    let table = match r.action {
        // Like `ip rule`: a lookup rule without a table uses main.
        RuleAction::Table => r.table.unwrap_or(u32::from(libc::RT_TABLE_MAIN)),
        _ => 0,
    };
    // struct fib_rule_hdr { family, dst_len, src_len, tos, table, res1, res2, action, flags }
    let mut h = [0u8; 12];
    h[0] = if r.v6 {
        libc::AF_INET6 as u8
    } else {
        libc::AF_INET as u8
    };
    h[1] = r.to.map_or(0, |(_, l)| l);
    h[2] = r.from.map_or(0, |(_, l)| l);
    h[3] = r.tos.unwrap_or(0);
    h[4] = u8::try_from(table).unwrap_or(0); // RT_TABLE_UNSPEC: FRA_TABLE carries it
    h[7] = match r.action {
        RuleAction::Table => FR_ACT_TO_TBL,
        RuleAction::Goto(_) => FR_ACT_GOTO,
        RuleAction::Blackhole => FR_ACT_BLACKHOLE,
        RuleAction::Unreachable => FR_ACT_UNREACHABLE,
        RuleAction::Prohibit => FR_ACT_PROHIBIT,
    };
    let rflags: u32 = if r.invert { FIB_RULE_INVERT } else { 0 };
    h[8..12].copy_from_slice(&rflags.to_ne_bytes());
    m.bytes(&h);
    let octets = |a: &IpAddr| match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    if let Some((a, _)) = &r.from {
        m.attr(FRA_SRC, &octets(a));
    }
    if let Some((a, _)) = &r.to {
        m.attr(FRA_DST, &octets(a));
    }
    m.attr(FRA_PRIORITY, &r.priority.to_ne_bytes());
    if table != 0 {
        m.attr(FRA_TABLE, &table.to_ne_bytes());
    }
    if let RuleAction::Goto(g) = r.action {
        m.attr(FRA_GOTO, &g.to_ne_bytes());
    }
    for (ty, name) in [(FRA_IIFNAME, &r.iif), (FRA_OIFNAME, &r.oif)] {
        if let Some(n) = name {
            let mut b = n.as_bytes().to_vec();
            b.push(0);
            m.attr(ty, &b);
        }
    }
    if let Some(v) = r.fwmark {
        m.attr(FRA_FWMARK, &v.to_ne_bytes());
    }
    if let Some(v) = r.fwmask {
        m.attr(FRA_FWMASK, &v.to_ne_bytes());
    }
    if ty == libc::RTM_NEWRULE {
        // keepalived compat: its rules show as `proto keepalived` (like its routes).
        m.attr(FRA_PROTOCOL, &[RTPROT_KEEPALIVED]);
    }
    m.finish()
}

/// The kernel's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub seq: u32,
    pub op: AddrOp,
    pub addr: AddrSpec,
    /// Benign errors (EEXIST on add, EADDRNOTAVAIL or ENODEV on delete) are `Ok`.
    pub result: Result<(), Errno>,
    /// The benign errno that was turned into `Ok`, if any.
    pub benign: Option<Errno>,
}

impl fmt::Display for Ack {
    /// `added 10.0.0.1/32 to eth1` / `failed to add 10.0.0.1/32 to eth1: File exists`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, past, prep) = match self.op {
            AddrOp::Add => ("add", "added", "to"),
            AddrOp::Del => ("delete", "deleted", "from"),
        };
        match (&self.result, self.benign) {
            (Ok(()), None) => write!(f, "{past} {} {prep} {}", self.addr, self.addr.ifname),
            (Ok(()), Some(e)) => write!(
                f,
                "{past} {} {prep} {} ({})",
                self.addr,
                self.addr.ifname,
                e.desc()
            ),
            (Err(e), _) => write!(
                f,
                "failed to {verb} {} {prep} {}: {}",
                self.addr,
                self.addr.ifname,
                e.desc()
            ),
        }
    }
}

/// The request socket: address add/delete with acks read back asynchronously.
pub struct NlRequests {
    fd: OwnedFd,
    seq: u32,
    pending: HashMap<u32, (AddrOp, AddrSpec)>,
    pending_routes: HashMap<u32, (AddrOp, NlObject)>,
    route_acks: Vec<RouteAck>,
    buf: Vec<u8>,
}

impl NlRequests {
    pub fn open() -> Result<Self, SysError> {
        let fd = netlink_socket(0, true, "address requests")?;
        // Acks need not echo our request back.
        let one: libc::c_int = 1;
        // SAFETY: `one` is a live c_int for the duration of the call; size matches.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_CAP_ACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            // Pre-4.3 kernels: acks are just longer. Not worth failing for.
            log::debug!("setsockopt(NETLINK_CAP_ACK): {}", Errno::last().desc());
        }
        // The daemon queues every VIP of a transition before it reads any ack; each queued ack
        // costs about 1 KiB of receive buffer, so the default (~200 KiB) would drop acks past a
        // couple of hundred VIPs.
        if setsockopt(&fd, sockopt::RcvBufForce, &MONITOR_RCVBUF).is_err() {
            setsockopt(&fd, sockopt::RcvBuf, &MONITOR_RCVBUF)
                .ctx("setsockopt(SO_RCVBUF)", "address requests")?;
        }
        Ok(NlRequests {
            fd,
            seq: 0,
            pending: HashMap::new(),
            pending_routes: HashMap::new(),
            route_acks: Vec::new(),
            buf: vec![0; NL_BUF],
        })
    }

    fn request(&mut self, op: AddrOp, a: &AddrSpec) -> Result<u32, SysError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let (ty, flags) = match op {
            AddrOp::Add => (
                libc::RTM_NEWADDR,
                libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL,
            ),
            AddrOp::Del => (libc::RTM_DELADDR, libc::NLM_F_REQUEST | libc::NLM_F_ACK),
        };
        let msg = a.encode(ty, flags as u16, seq);
        let what = format!("{a} on {}", a.ifname);
        let op_name = match op {
            AddrOp::Add => "sendto(RTM_NEWADDR)",
            AddrOp::Del => "sendto(RTM_DELADDR)",
        };
        nl_send(&self.fd, &msg, &what).map_err(|e| SysError::new(op_name, what, e.errno))?;
        self.pending.insert(seq, (op, a.clone()));
        Ok(seq)
    }

    /// Queue an RTM_NEWADDR; the answer comes from [`poll_acks`](Self::poll_acks).
    pub fn add_address(&mut self, a: &AddrSpec) -> Result<u32, SysError> {
        self.request(AddrOp::Add, a)
    }

    /// Queue an RTM_DELADDR; the answer comes from [`poll_acks`](Self::poll_acks).
    pub fn del_address(&mut self, a: &AddrSpec) -> Result<u32, SysError> {
        self.request(AddrOp::Del, a)
    }

    /// Requests sent and not yet answered.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.pending_routes.len()
    }

    /// Queue an RTM_NEWROUTE (create, never replace: EEXIST is benign). `ifindex` is the
    /// resolved `dev`. The answer comes from [`take_route_acks`](Self::take_route_acks) after
    /// [`poll_acks`](Self::poll_acks).
    pub fn add_route(&mut self, r: &RouteSpec, ifindex: Option<u32>) -> Result<u32, SysError> {
        self.route_request(AddrOp::Add, r, ifindex)
    }

    /// Queue an RTM_DELROUTE (ESRCH is benign).
    pub fn del_route(&mut self, r: &RouteSpec, ifindex: Option<u32>) -> Result<u32, SysError> {
        self.route_request(AddrOp::Del, r, ifindex)
    }

    /// Route answers collected by [`poll_acks`](Self::poll_acks).
    pub fn take_route_acks(&mut self) -> Vec<RouteAck> {
        std::mem::take(&mut self.route_acks)
    }

    fn route_request(
        &mut self,
        op: AddrOp,
        r: &RouteSpec,
        ifindex: Option<u32>,
    ) -> Result<u32, SysError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let (ty, flags, name) = match op {
            AddrOp::Add => (
                libc::RTM_NEWROUTE,
                libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL,
                "sendto(RTM_NEWROUTE)",
            ),
            AddrOp::Del => (
                libc::RTM_DELROUTE,
                libc::NLM_F_REQUEST | libc::NLM_F_ACK,
                "sendto(RTM_DELROUTE)",
            ),
        };
        let msg = encode_route(r, ifindex, ty, flags as u16, seq);
        let what = format!("route {r}");
        nl_send(&self.fd, &msg, &what).map_err(|e| SysError::new(name, what, e.errno))?;
        self.pending_routes
            .insert(seq, (op, NlObject::Route(r.clone())));
        Ok(seq)
    }

    /// Queue an RTM_NEWRULE (create, EEXIST benign); answered like routes.
    pub fn add_rule(&mut self, r: &RuleSpec) -> Result<u32, SysError> {
        self.rule_request(AddrOp::Add, r)
    }

    /// Queue an RTM_DELRULE (ENOENT benign).
    pub fn del_rule(&mut self, r: &RuleSpec) -> Result<u32, SysError> {
        self.rule_request(AddrOp::Del, r)
    }

    fn rule_request(&mut self, op: AddrOp, r: &RuleSpec) -> Result<u32, SysError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let (ty, flags, name) = match op {
            AddrOp::Add => (
                libc::RTM_NEWRULE,
                libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL,
                "sendto(RTM_NEWRULE)",
            ),
            AddrOp::Del => (
                libc::RTM_DELRULE,
                libc::NLM_F_REQUEST | libc::NLM_F_ACK,
                "sendto(RTM_DELRULE)",
            ),
        };
        let msg = encode_rule(r, ty, flags as u16, seq);
        let what = format!("rule {r}");
        nl_send(&self.fd, &msg, &what).map_err(|e| SysError::new(name, what, e.errno))?;
        self.pending_routes
            .insert(seq, (op, NlObject::Rule(r.clone())));
        Ok(seq)
    }

    /// Blocking rule request for tests: send and wait (up to 5 s) for its answer.
    pub fn rule_blocking(&mut self, add: bool, r: &RuleSpec) -> Result<RouteAck, SysError> {
        let seq = if add {
            self.add_rule(r)?
        } else {
            self.del_rule(r)?
        };
        self.wait_obj(seq, format!("rule {r}"))
    }

    /// Blocking route request for tests: send and wait (up to 5 s) for its answer.
    pub fn route_blocking(
        &mut self,
        add: bool,
        r: &RouteSpec,
        ifindex: Option<u32>,
    ) -> Result<RouteAck, SysError> {
        let seq = if add {
            self.add_route(r, ifindex)?
        } else {
            self.del_route(r, ifindex)?
        };
        self.wait_obj(seq, format!("route {r}"))
    }

    fn wait_obj(&mut self, seq: u32, what: String) -> Result<RouteAck, SysError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            self.poll_acks()?;
            if let Some(i) = self.route_acks.iter().position(|a| a.seq == seq) {
                return Ok(self.route_acks.remove(i));
            }
            let mut fds = [nix::poll::PollFd::new(
                self.fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
        }
        Err(SysError::new("netlink ack", what, Errno::ETIMEDOUT))
    }

    /// Read every answer available now (nonblocking). If the kernel dropped answers because
    /// our queue overflowed (ENOBUFS), every pending request is reported as failed with ENOBUFS
    /// — the daemon cannot know their fate and should re-check the addresses.
    pub fn poll_acks(&mut self) -> Result<Vec<Ack>, SysError> {
        let mut out = vec![];
        loop {
            let n = match socket::recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(out),
                Err(Errno::ENOBUFS) => {
                    for (seq, (op, route)) in self.pending_routes.drain() {
                        self.route_acks.push(RouteAck {
                            seq,
                            op,
                            route,
                            result: Err(Errno::ENOBUFS),
                            benign: None,
                        });
                    }
                    for (seq, (op, addr)) in self.pending.drain() {
                        out.push(Ack {
                            seq,
                            op,
                            addr,
                            result: Err(Errno::ENOBUFS),
                            benign: None,
                        });
                    }
                    continue;
                }
                Err(e) => return Err(SysError::new("recv(AF_NETLINK)", "address requests", e)),
            };
            for m in messages(&self.buf[..n]) {
                if i32::from(m.ty) != libc::NLMSG_ERROR {
                    continue;
                }
                let Some(err) = nlmsg_error(m.payload) else {
                    continue;
                };
                let errno = Errno::from_raw(-err);
                if let Some((op, route)) = self.pending_routes.remove(&m.seq) {
                    let benign = match (op, errno, &route) {
                        (AddrOp::Add, Errno::EEXIST, _)
                        | (AddrOp::Del, Errno::ESRCH, NlObject::Route(_))
                        | (AddrOp::Del, Errno::ENOENT, NlObject::Rule(_)) => Some(errno),
                        _ => None,
                    };
                    self.route_acks.push(RouteAck {
                        seq: m.seq,
                        op,
                        route,
                        result: if err == 0 || benign.is_some() {
                            Ok(())
                        } else {
                            Err(errno)
                        },
                        benign,
                    });
                    continue;
                }
                let Some((op, addr)) = self.pending.remove(&m.seq) else {
                    continue;
                };
                let benign = match (op, errno) {
                    // ENODEV on delete: the interface went away (e.g. a VMAC deleted by
                    // hand) and its addresses with it.
                    (AddrOp::Add, Errno::EEXIST)
                    | (AddrOp::Del, Errno::EADDRNOTAVAIL)
                    | (AddrOp::Del, Errno::ENODEV) => Some(errno),
                    _ => None,
                };
                let result = if err == 0 || benign.is_some() {
                    Ok(())
                } else {
                    Err(errno)
                };
                out.push(Ack {
                    seq: m.seq,
                    op,
                    addr,
                    result,
                    benign,
                });
            }
        }
    }

    /// Blocking convenience for startup and tests: send one request and wait (up to 5 s) for
    /// its answer. Not for the event loop.
    pub fn add_address_blocking(&mut self, a: &AddrSpec) -> Result<Ack, SysError> {
        let seq = self.add_address(a)?;
        self.wait_for(seq, a)
    }

    /// Blocking delete; see [`add_address_blocking`](Self::add_address_blocking).
    pub fn del_address_blocking(&mut self, a: &AddrSpec) -> Result<Ack, SysError> {
        let seq = self.del_address(a)?;
        self.wait_for(seq, a)
    }

    fn wait_for(&mut self, seq: u32, a: &AddrSpec) -> Result<Ack, SysError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut others = vec![];
        while std::time::Instant::now() < deadline {
            for ack in self.poll_acks()? {
                if ack.seq == seq {
                    return Ok(ack);
                }
                others.push(ack);
            }
            let mut fds = [nix::poll::PollFd::new(
                self.fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
        }
        Err(SysError::new(
            "netlink ack",
            format!("{a} on {}", a.ifname),
            Errno::ETIMEDOUT,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Links: the VMAC (macvlan) of `use_vmac`. Rare (start, reload, stop), so blocking requests on
// a one-shot socket: the caller learns the outcome before it executes the next action.

/// `IFLA_MACVLAN_MODE` inside `IFLA_INFO_DATA` (linux/if_link.h; not in libc).
const IFLA_MACVLAN_MODE: u16 = 1;
/// `MACVLAN_MODE_PRIVATE` (linux/if_link.h; not in libc): no traffic between macvlans of one
/// parent — keepalived's mode for VMACs.
pub const MACVLAN_MODE_PRIVATE: u32 = 1;

/// A macvlan to create: keepalived's VMAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacvlanSpec {
    pub name: String,
    pub parent_ifindex: u32,
    pub mac: [u8; 6],
    pub mode: u32,
}

/// RTM_NEWLINK (create, exclusive) of a macvlan, left down: the caller sets its sysctls
/// before [`set_link_up`] so no IPv6 link-local is generated on an IPv4 VMAC.
fn encode_new_macvlan(m: &MacvlanSpec, seq: u32) -> Vec<u8> {
    let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
    let mut b = MsgBuilder::new(libc::RTM_NEWLINK, flags as u16, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]); // AF_UNSPEC, no index, no flags change
    let mut name = m.name.as_bytes().to_vec();
    name.push(0);
    b.attr(libc::IFLA_IFNAME, &name);
    b.attr(libc::IFLA_LINK, &m.parent_ifindex.to_ne_bytes());
    b.attr(libc::IFLA_ADDRESS, &m.mac);
    let info = b.begin_nested(libc::IFLA_LINKINFO);
    b.attr(libc::IFLA_INFO_KIND, b"macvlan");
    let data = b.begin_nested(libc::IFLA_INFO_DATA);
    b.attr(IFLA_MACVLAN_MODE, &m.mode.to_ne_bytes());
    b.end_nested(data);
    b.end_nested(info);
    b.finish()
}

/// RTM_NEWLINK on an existing index: set IFF_UP (or clear it).
fn encode_set_up(ifindex: u32, up: bool, seq: u32) -> Vec<u8> {
    let mut b = MsgBuilder::new(
        libc::RTM_NEWLINK,
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16,
        seq,
    );
    let mut ifi = [0u8; IFINFOMSG_LEN];
    ifi[4..8].copy_from_slice(&(ifindex as i32).to_ne_bytes());
    let iff_up = libc::IFF_UP as u32;
    ifi[8..12].copy_from_slice(&(if up { iff_up } else { 0 }).to_ne_bytes());
    ifi[12..16].copy_from_slice(&iff_up.to_ne_bytes()); // ifi_change
    b.bytes(&ifi);
    b.finish()
}

/// RTM_DELLINK by name.
fn encode_del_link(name: &str, seq: u32) -> Vec<u8> {
    let mut b = MsgBuilder::new(
        libc::RTM_DELLINK,
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16,
        seq,
    );
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    b.attr(libc::IFLA_IFNAME, &n);
    b.finish()
}

/// RTM_GETLINK by name (one answer, not a dump).
fn encode_get_link(name: &str, seq: u32) -> Vec<u8> {
    let mut b = MsgBuilder::new(libc::RTM_GETLINK, libc::NLM_F_REQUEST as u16, seq);
    b.bytes(&[0u8; IFINFOMSG_LEN]);
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    b.attr(libc::IFLA_IFNAME, &n);
    b.finish()
}

/// Send one request on a fresh socket and wait (up to 2 s) for its answer: the NLMSG_ERROR
/// (0 = success) or, for a get, the message itself.
fn transact(
    msg: &[u8],
    seq: u32,
    op: &'static str,
    obj: &str,
) -> Result<Option<LinkEvent>, SysError> {
    let fd = netlink_socket(0, false, obj)?;
    let timeout = nix::sys::time::TimeVal::new(2, 0);
    setsockopt(&fd, sockopt::ReceiveTimeout, &timeout).ctx("setsockopt(SO_RCVTIMEO)", obj)?;
    nl_send(&fd, msg, obj).map_err(|e| SysError::new(op, obj, e.errno))?;
    let mut buf = vec![0u8; NL_BUF];
    loop {
        let n = match socket::recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Err(SysError::new(op, obj, Errno::ETIMEDOUT)),
            Err(e) => return Err(SysError::new("recv(AF_NETLINK)", obj, e)),
        };
        for m in messages(&buf[..n]) {
            if m.seq != seq {
                continue;
            }
            if i32::from(m.ty) == libc::NLMSG_ERROR {
                return match nlmsg_error(m.payload) {
                    Some(0) => Ok(None),
                    Some(err) => Err(SysError::new(op, obj, Errno::from_raw(-err))),
                    None => Err(SysError::new(op, obj, Errno::EIO)),
                };
            }
            if let Some(ev) = parse_link(m.ty, m.payload) {
                return Ok(Some(ev));
            }
        }
    }
}

/// Create a macvlan (down). EEXIST comes back as an error: the caller decides whether an
/// existing link of that name will do.
pub fn create_macvlan(m: &MacvlanSpec) -> Result<(), SysError> {
    transact(
        &encode_new_macvlan(m, 1),
        1,
        "RTM_NEWLINK(macvlan)",
        &m.name,
    )
    .map(|_| ())
}

/// Set or clear IFF_UP on `ifname` (index `ifindex`).
pub fn set_link_up(ifname: &str, ifindex: u32, up: bool) -> Result<(), SysError> {
    transact(
        &encode_set_up(ifindex, up, 1),
        1,
        "RTM_NEWLINK(IFF_UP)",
        ifname,
    )
    .map(|_| ())
}

/// Delete the link `ifname`.
pub fn delete_link(ifname: &str) -> Result<(), SysError> {
    transact(&encode_del_link(ifname, 1), 1, "RTM_DELLINK", ifname).map(|_| ())
}

/// The current state of `ifname` (`None` if it does not exist), plus its kind
/// (`IFLA_INFO_KIND`, e.g. "macvlan") and parent index (`IFLA_LINK`).
pub fn get_link(ifname: &str) -> Result<Option<LinkEvent>, SysError> {
    match transact(&encode_get_link(ifname, 1), 1, "RTM_GETLINK", ifname) {
        Ok(ev) => Ok(ev),
        Err(e) if e.errno == Errno::ENODEV => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Events: monitor socket and dumps.

/// RTM_NEWLINK / RTM_DELLINK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    pub ifindex: u32,
    pub ifname: String,
    /// IFF_UP && IFF_RUNNING (keepalived's notion of a usable interface).
    pub up: bool,
    /// The first 6 bytes of IFLA_ADDRESS (zeros when absent or shorter).
    pub mac: [u8; 6],
    pub mtu: u32,
    /// The raw ifi_flags.
    pub flags: u32,
    /// RTM_DELLINK: the interface is gone.
    pub deleted: bool,
    /// `IFLA_INFO_KIND` ("macvlan", "veth", ...), if the kernel sent one.
    pub kind: Option<String>,
}

/// RTM_NEWADDR / RTM_DELADDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrEvent {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub added: bool,
    /// IPv4 label (IFA_LABEL), usually the interface name.
    pub label: Option<String>,
    pub scope: u8,
    /// IFA_FLAGS (or ifa_flags); IFA_F_SECONDARY marks a secondary IPv4 address.
    pub flags: u32,
}

impl AddrEvent {
    pub fn secondary(&self) -> bool {
        self.flags & libc::IFA_F_SECONDARY != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    Link(LinkEvent),
    Addr(AddrEvent),
    /// The kernel dropped events (ENOBUFS): re-dump with [`dump`] and rebuild the table.
    Overrun,
}

fn parse_link(ty: u16, p: &[u8]) -> Option<LinkEvent> {
    if p.len() < IFINFOMSG_LEN {
        return None;
    }
    let ifindex = ne_u32(p, 4)?;
    let flags = ne_u32(p, 8)?;
    let mut ev = LinkEvent {
        ifindex,
        ifname: String::new(),
        up: flags & libc::IFF_UP as u32 != 0 && flags & libc::IFF_RUNNING as u32 != 0,
        mac: [0; 6],
        mtu: 0,
        flags,
        deleted: ty == libc::RTM_DELLINK,
        kind: None,
    };
    for (t, d) in attrs(&p[IFINFOMSG_LEN..]) {
        match t {
            libc::IFLA_IFNAME => ev.ifname = c_string(d),
            libc::IFLA_MTU => ev.mtu = ne_u32(d, 0).unwrap_or(0),
            libc::IFLA_ADDRESS if d.len() >= 6 => ev.mac.copy_from_slice(&d[..6]),
            libc::IFLA_LINKINFO => {
                ev.kind = attrs(d)
                    .find(|(k, _)| *k == libc::IFLA_INFO_KIND)
                    .map(|(_, v)| c_string(v));
            }
            _ => {}
        }
    }
    Some(ev)
}

fn parse_addr(ty: u16, p: &[u8]) -> Option<AddrEvent> {
    if p.len() < IFADDRMSG_LEN {
        return None;
    }
    let family = p[0];
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut flags = u32::from(p[2]);
    for (t, d) in attrs(&p[IFADDRMSG_LEN..]) {
        match t {
            libc::IFA_LOCAL => local = ip_from(family, d),
            libc::IFA_ADDRESS => address = ip_from(family, d),
            libc::IFA_LABEL => label = Some(c_string(d)),
            libc::IFA_FLAGS => flags = ne_u32(d, 0).unwrap_or(flags),
            _ => {}
        }
    }
    // IFA_LOCAL is our own address; IFA_ADDRESS is the peer on point-to-point links, and the
    // only one IPv6 sends without a peer.
    Some(AddrEvent {
        ifindex: ne_u32(p, 4)?,
        addr: local.or(address)?,
        prefix_len: p[1],
        added: ty == libc::RTM_NEWADDR,
        label,
        scope: p[3],
        flags,
    })
}

fn parse_event(m: &NlMsg<'_>) -> Option<NetEvent> {
    match m.ty {
        libc::RTM_NEWLINK | libc::RTM_DELLINK => parse_link(m.ty, m.payload).map(NetEvent::Link),
        libc::RTM_NEWADDR | libc::RTM_DELADDR => parse_addr(m.ty, m.payload).map(NetEvent::Addr),
        _ => None,
    }
}

/// The monitor socket: RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR.
pub struct NlMonitor {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl NlMonitor {
    /// Open before the startup [`dump`] so no change between the two is missed.
    pub fn open() -> Result<Self, SysError> {
        // A burst of changes (hundreds of VIPs on a reload) must not overflow the queue.
        Self::open_with_rcvbuf(MONITOR_RCVBUF)
    }

    /// As [`open`](Self::open) with an explicit receive buffer size (tests use a tiny one to
    /// provoke ENOBUFS).
    pub fn open_with_rcvbuf(bytes: usize) -> Result<Self, SysError> {
        let groups =
            (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;
        let fd = netlink_socket(groups, true, "link/address monitor")?;
        // SO_RCVBUFFORCE (root) may exceed net.core.rmem_max; a small request uses the plain
        // option so the kernel minimum applies.
        if bytes < MONITOR_RCVBUF || setsockopt(&fd, sockopt::RcvBufForce, &bytes).is_err() {
            setsockopt(&fd, sockopt::RcvBuf, &bytes)
                .ctx("setsockopt(SO_RCVBUF)", "link/address monitor")?;
        }
        Ok(NlMonitor {
            fd,
            buf: vec![0; NL_BUF],
        })
    }

    /// Every event available now (nonblocking). ENOBUFS yields [`NetEvent::Overrun`].
    pub fn read_events(&mut self) -> Result<Vec<NetEvent>, SysError> {
        let mut out = vec![];
        loop {
            let n = match socket::recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(out),
                Err(Errno::ENOBUFS) => {
                    out.push(NetEvent::Overrun);
                    continue;
                }
                Err(e) => {
                    return Err(SysError::new("recv(AF_NETLINK)", "link/address monitor", e));
                }
            };
            out.extend(messages(&self.buf[..n]).iter().filter_map(parse_event));
        }
    }
}

/// Blocking dump of every link then every address, as events (startup and after an overrun).
pub fn dump() -> Result<Vec<NetEvent>, SysError> {
    let fd = netlink_socket(0, false, "dump")?;
    let timeout = nix::sys::time::TimeVal::new(5, 0);
    setsockopt(&fd, sockopt::ReceiveTimeout, &timeout).ctx("setsockopt(SO_RCVTIMEO)", "dump")?;
    let mut buf = vec![0u8; NL_BUF];
    let mut out = vec![];
    let mut seq = 0;
    for (ty, what) in [
        (libc::RTM_GETLINK, "RTM_GETLINK dump"),
        (libc::RTM_GETADDR, "RTM_GETADDR dump"),
    ] {
        let mut attempt = 0;
        loop {
            seq += 1;
            let (events, interrupted) = dump_one(&fd, &mut buf, ty, seq, what)?;
            attempt += 1;
            if !interrupted || attempt >= DUMP_RETRIES {
                out.extend(events);
                break;
            }
        }
    }
    Ok(out)
}

fn dump_one(
    fd: &OwnedFd,
    buf: &mut [u8],
    ty: u16,
    seq: u32,
    what: &str,
) -> Result<(Vec<NetEvent>, bool), SysError> {
    let mut m = MsgBuilder::new(ty, (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16, seq);
    if ty == libc::RTM_GETLINK {
        m.bytes(&[0u8; IFINFOMSG_LEN]);
    } else {
        m.bytes(&[0u8; IFADDRMSG_LEN]); // family AF_UNSPEC: both IPv4 and IPv6
    }
    nl_send(fd, &m.finish(), what)?;
    let mut events = vec![];
    let mut interrupted = false;
    loop {
        let n = match socket::recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new("recv(AF_NETLINK)", what, e)),
        };
        if n == 0 {
            return Err(SysError::new("recv(AF_NETLINK)", what, Errno::ECONNRESET));
        }
        for msg in messages(&buf[..n]) {
            if msg.seq != seq {
                continue;
            }
            if msg.flags & libc::NLM_F_DUMP_INTR as u16 != 0 {
                interrupted = true;
            }
            match i32::from(msg.ty) {
                libc::NLMSG_DONE => {
                    // A dump that failed part-way ends with DONE carrying a negative errno.
                    return match nlmsg_error(msg.payload) {
                        Some(err) if err < 0 => {
                            Err(SysError::new("netlink dump", what, Errno::from_raw(-err)))
                        }
                        _ => Ok((events, interrupted)),
                    };
                }
                libc::NLMSG_ERROR => {
                    let err = nlmsg_error(msg.payload).unwrap_or(-libc::EIO);
                    if err != 0 {
                        return Err(SysError::new("netlink dump", what, Errno::from_raw(-err)));
                    }
                }
                _ => events.extend(parse_event(&msg)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-interface table.

/// What we know about one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    pub ifindex: u32,
    pub name: String,
    pub up: bool,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// IPv4 addresses with prefix length, primaries first (kernel order within each group).
    pub ipv4: Vec<(Ipv4Addr, u8, bool /* secondary */)>,
    /// IPv6 addresses with prefix length and IFA flags, in kernel order.
    pub ipv6: Vec<(Ipv6Addr, u8, u32)>,
}

impl Interface {
    /// IPv4 addresses, the primary first.
    pub fn ipv4_addrs(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<_> = self.ipv4.iter().filter(|a| !a.2).map(|a| a.0).collect();
        v.extend(self.ipv4.iter().filter(|a| a.2).map(|a| a.0));
        v
    }

    /// The first usable link-local (fe80::/10) IPv6 address: not tentative (DAD still
    /// running, cannot be a source yet) and not DAD-failed.
    pub fn ipv6_ll(&self) -> Option<Ipv6Addr> {
        let unusable = libc::IFA_F_TENTATIVE | libc::IFA_F_DADFAILED;
        self.ipv6
            .iter()
            .find(|a| a.0.segments()[0] & 0xffc0 == 0xfe80 && a.2 & unusable == 0)
            .map(|a| a.0)
    }
}

/// All interfaces, kept current by applying [`NetEvent`]s.
#[derive(Clone, Debug, Default)]
pub struct InterfaceTable {
    by_index: BTreeMap<u32, Interface>,
}

impl InterfaceTable {
    /// A table from a fresh blocking [`dump`].
    pub fn load() -> Result<Self, SysError> {
        let mut t = InterfaceTable::default();
        for ev in dump()? {
            t.apply(&ev);
        }
        Ok(t)
    }

    /// Apply one event; returns the ifindex whose state changed (None if nothing changed).
    /// [`NetEvent::Overrun`] is ignored here: the caller reloads with [`InterfaceTable::load`].
    pub fn apply(&mut self, ev: &NetEvent) -> Option<u32> {
        match ev {
            NetEvent::Overrun => None,
            NetEvent::Link(l) if l.deleted => self.by_index.remove(&l.ifindex).map(|_| l.ifindex),
            NetEvent::Link(l) => {
                let e = self.by_index.entry(l.ifindex).or_insert_with(|| Interface {
                    ifindex: l.ifindex,
                    ..Default::default()
                });
                let before = e.clone();
                if !l.ifname.is_empty() {
                    e.name = l.ifname.clone();
                }
                e.up = l.up;
                e.mac = l.mac;
                if l.mtu != 0 {
                    e.mtu = l.mtu;
                }
                (*e != before).then_some(l.ifindex)
            }
            NetEvent::Addr(a) => {
                let e = self.by_index.entry(a.ifindex).or_insert_with(|| Interface {
                    ifindex: a.ifindex,
                    ..Default::default()
                });
                let before = e.clone();
                match a.addr {
                    IpAddr::V4(v4) => {
                        e.ipv4.retain(|x| !(x.0 == v4 && x.1 == a.prefix_len));
                        if a.added {
                            e.ipv4.push((v4, a.prefix_len, a.secondary()));
                        }
                    }
                    IpAddr::V6(v6) => {
                        e.ipv6.retain(|x| !(x.0 == v6 && x.1 == a.prefix_len));
                        if a.added {
                            e.ipv6.push((v6, a.prefix_len, a.flags));
                        }
                    }
                }
                (*e != before).then_some(a.ifindex)
            }
        }
    }

    pub fn get(&self, ifindex: u32) -> Option<&Interface> {
        self.by_index.get(&ifindex)
    }

    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.by_index.values().find(|i| i.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Interface> {
        self.by_index.values()
    }
}

impl AsFd for NlRequests {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
impl AsRawFd for NlRequests {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
impl AsFd for NlMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
impl AsRawFd for NlMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newaddr_request_encodes_label_flags_and_lifetime() {
        let mut a = AddrSpec::new("eth1", 7, "10.16.200.200".parse().unwrap(), 32);
        a.label = Some("eth1:1".into());
        a.noprefixroute = true;
        a.broadcast = Some(Ipv4Addr::new(10, 16, 200, 255));
        let f = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        let msg = a.encode(libc::RTM_NEWADDR, f, 42);
        assert_eq!(ne_u32(&msg, 0).unwrap() as usize, msg.len());
        let ms = messages(&msg);
        assert_eq!(ms.len(), 1);
        assert_eq!(
            (ms[0].ty, ms[0].flags, ms[0].seq),
            (libc::RTM_NEWADDR, f, 42)
        );
        let p = ms[0].payload;
        assert_eq!(&p[..4], &[libc::AF_INET as u8, 32, 0, 0]);
        assert_eq!(ne_u32(p, 4), Some(7));
        let at: Vec<_> = attrs(&p[IFADDRMSG_LEN..]).collect();
        assert!(at.contains(&(libc::IFA_LOCAL, &[10, 16, 200, 200][..])));
        assert!(at.contains(&(libc::IFA_ADDRESS, &[10, 16, 200, 200][..])));
        assert!(at.contains(&(libc::IFA_LABEL, &b"eth1:1\0"[..])));
        assert!(at.contains(&(libc::IFA_BROADCAST, &[10, 16, 200, 255][..])));
        let fl = libc::IFA_F_NOPREFIXROUTE.to_ne_bytes();
        assert!(at.contains(&(libc::IFA_FLAGS, &fl[..])));
        // The request parses back as the address event it asks for.
        let ev = parse_addr(libc::RTM_NEWADDR, p).unwrap();
        assert_eq!(ev.addr, a.addr);
        assert_eq!(ev.label.as_deref(), Some("eth1:1"));
        assert_eq!(ev.flags, libc::IFA_F_NOPREFIXROUTE);
    }

    #[test]
    fn ipv6_vips_are_always_nodad_ipv4_never() {
        let v6 = VipSpec::new("fd00::200".parse().unwrap());
        assert!(AddrSpec::from_vip("eth1", 3, &v6).nodad);
        let v4 = VipSpec::new("10.0.0.1".parse().unwrap());
        assert!(!AddrSpec::from_vip("eth1", 3, &v4).nodad);
    }

    #[test]
    fn ipv6_peer_and_lifetime_encoding() {
        let mut a = AddrSpec::new("eth1", 3, "fd00::1".parse().unwrap(), 64);
        a.peer = Some("fd00::2".parse().unwrap());
        a.preferred_lft = Some(0);
        a.nodad = true;
        a.label = Some("ignored-for-v6".into());
        let msg = a.encode(libc::RTM_NEWADDR, 0, 1);
        let ms = messages(&msg);
        let p = ms[0].payload;
        assert_eq!(p[0], libc::AF_INET6 as u8);
        assert_eq!(p[2], libc::IFA_F_NODAD as u8);
        let at: Vec<_> = attrs(&p[IFADDRMSG_LEN..]).collect();
        let peer: Ipv6Addr = "fd00::2".parse().unwrap();
        assert!(at.contains(&(libc::IFA_ADDRESS, &peer.octets()[..])));
        assert!(!at.iter().any(|(t, _)| *t == libc::IFA_LABEL));
        let ci = at
            .iter()
            .find(|(t, _)| *t == libc::IFA_CACHEINFO)
            .unwrap()
            .1;
        assert_eq!(ne_u32(ci, 0), Some(0));
        assert_eq!(ne_u32(ci, 4), Some(u32::MAX));
        assert_eq!(a.to_string(), "fd00::1 peer fd00::2/64");
    }

    #[test]
    fn truncated_and_garbage_messages_do_not_panic() {
        let good =
            AddrSpec::new("x", 1, "10.0.0.1".parse().unwrap(), 32).encode(libc::RTM_NEWADDR, 0, 1);
        for cut in 0..good.len() {
            for m in messages(&good[..cut]) {
                let _ = parse_event(&m);
            }
            let _ = parse_addr(libc::RTM_NEWADDR, &good[NLMSG_HDRLEN.min(cut)..cut]);
            let _ = parse_link(libc::RTM_NEWLINK, &good[NLMSG_HDRLEN.min(cut)..cut]);
        }
        let mut bad = good.clone();
        bad[NLMSG_HDRLEN + IFADDRMSG_LEN] = 0xff; // attribute length beyond the message
        for m in messages(&bad) {
            let _ = parse_event(&m);
        }
        assert!(messages(&[0xff; 40]).is_empty());
    }

    #[test]
    fn new_macvlan_request_nests_kind_and_mode() {
        let m = MacvlanSpec {
            name: "vrrp.51".into(),
            parent_ifindex: 7,
            mac: [0, 0, 0x5e, 0, 1, 51],
            mode: MACVLAN_MODE_PRIVATE,
        };
        let b = encode_new_macvlan(&m, 9);
        let msgs = messages(&b);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty, libc::RTM_NEWLINK);
        assert_eq!(msgs[0].seq, 9);
        let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        assert_eq!(msgs[0].flags, flags as u16);
        let top: Vec<(u16, &[u8])> = attrs(&msgs[0].payload[IFINFOMSG_LEN..]).collect();
        assert_eq!(top[0], (libc::IFLA_IFNAME, &b"vrrp.51\0"[..]));
        assert_eq!(top[1], (libc::IFLA_LINK, &7u32.to_ne_bytes()[..]));
        assert_eq!(top[2], (libc::IFLA_ADDRESS, &m.mac[..]));
        assert_eq!(top[3].0, libc::IFLA_LINKINFO);
        let info: Vec<(u16, &[u8])> = attrs(top[3].1).collect();
        assert_eq!(info[0], (libc::IFLA_INFO_KIND, &b"macvlan"[..]));
        assert_eq!(info[1].0, libc::IFLA_INFO_DATA);
        let data: Vec<(u16, &[u8])> = attrs(info[1].1).collect();
        assert_eq!(data, [(IFLA_MACVLAN_MODE, &1u32.to_ne_bytes()[..])]);
        // A RTM_NEWLINK answer carrying the kind parses back.
        let mut ans = MsgBuilder::new(libc::RTM_NEWLINK, 0, 9);
        let mut ifi = [0u8; IFINFOMSG_LEN];
        ifi[4..8].copy_from_slice(&12i32.to_ne_bytes());
        ans.bytes(&ifi);
        let at = ans.begin_nested(libc::IFLA_LINKINFO);
        ans.attr(libc::IFLA_INFO_KIND, b"macvlan\0");
        ans.end_nested(at);
        let ans = ans.finish();
        let ev = parse_link(libc::RTM_NEWLINK, messages(&ans)[0].payload).unwrap();
        assert_eq!((ev.ifindex, ev.kind.as_deref()), (12, Some("macvlan")));
    }

    #[test]
    fn set_up_and_delete_requests() {
        let b = encode_set_up(5, true, 3);
        let m = &messages(&b)[0];
        assert_eq!(ne_u32(m.payload, 4), Some(5));
        assert_eq!(ne_u32(m.payload, 8), Some(libc::IFF_UP as u32));
        assert_eq!(ne_u32(m.payload, 12), Some(libc::IFF_UP as u32));
        let b = encode_del_link("vrrp.51", 4);
        let m = &messages(&b)[0];
        assert_eq!(m.ty, libc::RTM_DELLINK);
        let a: Vec<(u16, &[u8])> = attrs(&m.payload[IFINFOMSG_LEN..]).collect();
        assert_eq!(a, [(libc::IFLA_IFNAME, &b"vrrp.51\0"[..])]);
    }

    #[test]
    fn table_orders_primaries_first_and_tracks_link_local() {
        let mut t = InterfaceTable::default();
        let link = LinkEvent {
            ifindex: 2,
            ifname: "eth1".into(),
            up: true,
            mac: [2, 0, 0, 0, 0, 1],
            mtu: 1500,
            flags: 0,
            deleted: false,
            kind: None,
        };
        assert_eq!(t.apply(&NetEvent::Link(link.clone())), Some(2));
        assert_eq!(t.apply(&NetEvent::Link(link.clone())), None, "no change");
        let addr = |a: &str, p, sec: bool, added| {
            NetEvent::Addr(AddrEvent {
                ifindex: 2,
                addr: a.parse().unwrap(),
                prefix_len: p,
                added,
                label: None,
                scope: 0,
                flags: if sec { libc::IFA_F_SECONDARY } else { 0 },
            })
        };
        t.apply(&addr("10.0.0.5", 32, true, true));
        t.apply(&addr("10.0.0.1", 24, false, true));
        t.apply(&addr("fd00::1", 64, false, true));
        let mut tentative = addr("fe80::1", 64, false, true);
        if let NetEvent::Addr(a) = &mut tentative {
            a.flags = libc::IFA_F_TENTATIVE;
        }
        t.apply(&tentative);
        assert_eq!(
            t.by_name("eth1").unwrap().ipv6_ll(),
            None,
            "tentative is not usable"
        );
        t.apply(&addr("fe80::1", 64, false, true));
        let i = t.by_name("eth1").unwrap();
        assert_eq!(
            i.ipv4_addrs(),
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 5)]
        );
        assert_eq!(i.ipv6_ll(), Some("fe80::1".parse().unwrap()));
        assert_eq!(t.apply(&addr("10.0.0.5", 32, true, false)), Some(2));
        assert_eq!(
            t.get(2).unwrap().ipv4_addrs(),
            vec![Ipv4Addr::new(10, 0, 0, 1)]
        );
        let gone = LinkEvent {
            deleted: true,
            ..link
        };
        t.apply(&NetEvent::Link(gone));
        assert!(t.by_name("eth1").is_none());
    }

    #[test]
    fn ack_messages_read_like_keepalived_logs() {
        let a = AddrSpec::new("eth1", 2, "10.0.0.1".parse().unwrap(), 32);
        let ack = Ack {
            seq: 1,
            op: AddrOp::Add,
            addr: a.clone(),
            result: Err(Errno::EPERM),
            benign: None,
        };
        assert_eq!(
            ack.to_string(),
            "failed to add 10.0.0.1/32 to eth1: Operation not permitted"
        );
        let ack = Ack {
            seq: 2,
            op: AddrOp::Del,
            addr: a,
            result: Ok(()),
            benign: None,
        };
        assert_eq!(ack.to_string(), "deleted 10.0.0.1/32 from eth1");
    }
}
