//! Everything the core asks the outside world to do.
//!
//! The daemon drains these with [`super::node::Node::poll_action`] after every input, in
//! order. A full match, for reference:
//!
//! ```text
//! match action {
//!     Action::SendAdvert { ifname, src, dst, ttl, advert, checksum, .. } => // wire::emit + raw socket
//!     Action::AddVip { ifname, vip, .. } => // RTM_NEWADDR
//!     Action::DelVip { ifname, vip, .. } => // RTM_DELADDR
//!     Action::SendGarp { ifname, addr } => // AF_PACKET ARP request / unsolicited NA
//!     Action::Notify(n) => // spawn n.scripts in order (fire and forget), write n.fifo_line(),
//!         // n.mail: start an e-mail alert (crate::mail, sys::smtp)
//!     Action::CreateVmac { name, parent, mac, family, .. } => // RTM_NEWLINK macvlan + sysctls,
//!         // set up, then report its state back as Input::Link
//!     Action::DeleteVmac { name, .. } => // RTM_DELLINK
//! }
//! ```

use std::fmt;
use std::net::IpAddr;

use super::spec::{Family, RouteSpec, RuleSpec, ScriptCmd, VipSpec};
use super::wire::{Advert, ChecksumCtx};

#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send one advert (one Action per unicast peer, or one to the multicast group).
    SendAdvert {
        instance: String,
        ifname: String,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        advert: Advert,
        checksum: ChecksumCtx,
        /// `auth_type AH`: send inside an IPsec AH datagram ([`super::ah::emit_ipv4`]).
        ah: Option<AhSeal>,
        /// IPv4 identification: keepalived numbers each instance's adverts 1, 2, 3, ...
        ip_id: u16,
    },
    /// Add a VIP (`ifname` is the instance's interface; the VIP's `dev` wins), or a
    /// `static_ipaddress` at start (`instance` is then [`super::node::STATIC_OWNER`] and
    /// `ifname` its resolved `dev`).
    AddVip {
        instance: String,
        ifname: String,
        vip: VipSpec,
    },
    DelVip {
        instance: String,
        ifname: String,
        vip: VipSpec,
    },
    /// Install a `virtual_routes` entry (after the VIPs, on becoming MASTER), or a
    /// `static_routes` one (at start; `instance` is then [`super::node::STATIC_OWNER`]).
    AddRoute { instance: String, route: RouteSpec },
    /// Remove a `virtual_routes` entry (after the VIPs, on leaving MASTER).
    DelRoute { instance: String, route: RouteSpec },
    /// Install a `virtual_rules` entry (after the routes, on becoming MASTER), or a
    /// `static_rules` one (at start; `instance` is then [`super::node::STATIC_OWNER`]).
    AddRule { instance: String, rule: RuleSpec },
    /// Remove a `virtual_rules` entry (after the routes, on leaving MASTER).
    DelRule { instance: String, rule: RuleSpec },
    /// No accept mode (`vrrp_strict`, `no_accept`; RFC 5798 §6.4.3): drop traffic to and from
    /// a VIP this MASTER holds (keepalived's nftables `vips` sets). After its AddVip.
    BlockVip {
        instance: String,
        ifname: String,
        addr: IpAddr,
    },
    /// Stop dropping traffic for a VIP (before its DelVip).
    UnblockVip {
        instance: String,
        ifname: String,
        addr: IpAddr,
    },
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr` on `ifname`.
    SendGarp { ifname: String, addr: IpAddr },
    /// A state transition to announce (scripts to spawn fire-and-forget, FIFO line to write).
    Notify(Notification),
    /// `use_vmac`: create (or adopt) the macvlan `name` on `parent` with the virtual router
    /// MAC, configure it for `family` and set it up. The daemon reports the result back as
    /// `Input::Link` for `name` (`exists: false` if it failed).
    CreateVmac {
        instance: String,
        name: String,
        parent: String,
        mac: [u8; 6],
        family: Family,
    },
    /// Delete the VMAC `name` (its instance was removed by a reload, or shutdown without
    /// `--dont-release-vrrp`).
    DeleteVmac { instance: String, name: String },
}

/// What the daemon needs to wrap an advert in an IPsec Authentication Header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhSeal {
    /// The instance's AH sequence number for this packet (from 1).
    pub seq: u32,
    pub key: [u8; 8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    Instance,
    Group,
}

impl fmt::Display for NotifyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotifyKind::Instance => "INSTANCE",
            NotifyKind::Group => "GROUP",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    MasterRxLowerPri,
    MasterPriority,
    BackupPriority,
}

impl fmt::Display for NotifyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotifyKind,
    pub name: String,
    pub state: NotifyState,
    /// Effective priority (always 0 for groups).
    pub priority: u8,
    /// Commands to spawn in order: the specific `notify_<state>` first, then the generic `notify`
    /// with its four arguments (INSTANCE|GROUP, name, STATE, priority) already appended.
    pub scripts: Vec<ScriptCmd>,
    /// `notify_in_order`: run `scripts` one after another, after any still running for the
    /// same instance or group (rkeepalived extension; keepalived fires and forgets).
    pub in_order: bool,
    /// `smtp_alert`: also send an e-mail alert for this transition.
    pub mail: bool,
}

impl Notification {
    /// The notify FIFO line: `INSTANCE "VI_1" MASTER 100\n`.
    pub fn fifo_line(&self) -> String {
        format!(
            "{} \"{}\" {} {}\n",
            self.kind, self.name, self.state, self.priority
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_line_matches_keepalived() {
        let n = Notification {
            kind: NotifyKind::Instance,
            name: "VI_1".into(),
            state: NotifyState::Master,
            priority: 100,
            scripts: vec![],
            in_order: false,
            mail: false,
        };
        assert_eq!(n.fifo_line(), "INSTANCE \"VI_1\" MASTER 100\n");
        let g = Notification {
            kind: NotifyKind::Group,
            name: "G1".into(),
            state: NotifyState::Backup,
            priority: 0,
            scripts: vec![],
            in_order: false,
            mail: false,
        };
        assert_eq!(g.fifo_line(), "GROUP \"G1\" BACKUP 0\n");
        let r = Notification {
            state: NotifyState::MasterRxLowerPri,
            ..n
        };
        assert_eq!(r.fifo_line(), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n");
    }
}
