//! One VRRP instance: the INIT/BACKUP/MASTER/FAULT machine of RFC 3768 / RFC 5798 §6.4 with
//! keepalived's extensions (FAULT, nopreempt, preempt_delay, GARP blocks, priority 0 on
//! FAULT, lower-priority answers).
//!
//! The instance never decides sync-group matters: it reports transitions to the node, which
//! moves the other members.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::net::IpAddr;

use log::{info, warn};

use super::action::{Action, AhSeal, Notification, NotifyKind, NotifyState};
use super::spec::{Auth, Family, InstanceSpec, OldUnicastChecksum, Version, VipSpec};
use super::stats::Stats;
use super::timer::{Timer, TimerTable};
use super::track::Eval;
use super::types::State;
use super::wire::{Advert, ChecksumCtx, WireAuth};
use crate::time::{Centis, Duration, Instant};

/// Rate-limited log kinds (one message per kind until the state or the master changes).
mod once {
    pub const TTL: u32 = 1;
    pub const VERSION: u32 = 2;
    pub const AUTH: u32 = 4;
    pub const INTERVAL: u32 = 8;
    pub const ADDR: u32 = 16;
    pub const MODE: u32 = 32;
    pub const UNICAST_SRC: u32 = 64;
    pub const V3_INTERVAL: u32 = 128;
    pub const OWN_ADDR: u32 = 256;
    pub const OWNER: u32 = 512;
}

/// What a received advert did to the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxOutcome {
    /// Rejected by a check (counted).
    Rejected,
    /// Accepted; state unchanged.
    Accepted,
    /// Accepted and the instance left MASTER for BACKUP.
    Yielded,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub spec: InstanceSpec,
    pub state: State,
    /// Effective priority (base + tracker weights, clamped; owner 255).
    pub priority: u8,
    /// RFC 5798 Master_Adver_Interval: own interval as MASTER, the master's as v3 BACKUP.
    pub master_adver_int: Centis,
    pub timers: TimerTable,
    pub stats: Stats,
    pub faults: Vec<String>,
    pub pending: bool,
    /// Source address of our adverts (tie-break address).
    pub src: Option<IpAddr>,
    /// Our VIPs are (supposed to be) on the interfaces.
    pub vipset: bool,
    pub last_transition: Instant,
    /// Address and priority of the master we last accepted an advert from.
    pub master_addr: Option<IpAddr>,
    pub master_priority: u8,
    /// Sync groups: the master-down timer fired but the group is not ready to go MASTER.
    pub want_master: bool,
    preempt_until: Option<Instant>,
    logged: u32,
    /// keepalived compat: pre-1.3.6 unicast VRRPv3 checksum detected (multicast group as
    /// pseudo-header destination).
    old_checksum: bool,
    pub notify_priority_changes: bool,
    /// INIT was held by weight-0 scripts without a first result.
    held_by_scripts: bool,
    /// keepalived compat (§4.6): another owner with a lower address keeps advertising 255:
    /// (its address, when we first answered it).
    rogue: Option<(IpAddr, Instant)>,
    /// We stepped down to 254 because of a rogue owner.
    pub owner_demoted: bool,
    /// `auth_type AH`: the group's sequence number as we know it (the last one we sent or
    /// accepted; keepalived compat: a new master continues the sequence), and the highest one
    /// accepted from each sender since our last state change (replay protection).
    ah_seq_out: u32,
    ah_seq_in: Vec<(IpAddr, u32)>,
    /// IPv4 identification of our last advert (keepalived compat: 1, 2, 3, ...).
    ip_id: u16,
}

fn vip_dev<'a>(spec: &'a InstanceSpec, vip: &'a VipSpec) -> &'a str {
    vip.dev.as_deref().unwrap_or(spec.vip_ifname())
}

/// BlockVip / UnblockVip for one VIP of an instance without accept mode.
pub(crate) fn block_action(spec: &InstanceSpec, vip: &VipSpec, block: bool) -> Action {
    let (instance, ifname, addr) = (spec.name.clone(), vip_dev(spec, vip).to_string(), vip.addr);
    if block {
        Action::BlockVip {
            instance,
            ifname,
            addr,
        }
    } else {
        Action::UnblockVip {
            instance,
            ifname,
            addr,
        }
    }
}

impl Instance {
    pub fn new(spec: InstanceSpec, now: Instant, notify_priority_changes: bool) -> Self {
        let old_checksum = spec.old_unicast_checksum == OldUnicastChecksum::Always;
        Instance {
            priority: spec.priority,
            master_adver_int: Centis(spec.advert_int.0.max(1)),
            notify_priority_changes: notify_priority_changes || spec.notify.priority_changes,
            spec,
            state: State::Init,
            timers: TimerTable::default(),
            stats: Stats::default(),
            faults: Vec::new(),
            pending: true,
            src: None,
            vipset: false,
            last_transition: now,
            master_addr: None,
            master_priority: 0,
            want_master: false,
            preempt_until: None,
            logged: 0,
            old_checksum,
            held_by_scripts: false,
            rogue: None,
            owner_demoted: false,
            ah_seq_out: 0,
            ah_seq_in: Vec::new(),
            ip_id: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn is_owner(&self) -> bool {
        self.spec.priority == 255
    }

    /// Own advertisement interval (never zero, so timers always move forward).
    pub fn own_int(&self) -> Centis {
        Centis(self.spec.advert_int.0.max(1))
    }

    fn adver_int_us(c: Centis) -> u64 {
        c.to_duration().as_micros()
    }

    /// RFC 3768 §6.1 / RFC 5798 §6.1 Skew_Time, in integer microseconds.
    pub fn skew(&self) -> Duration {
        let p = u64::from(256 - u16::from(self.priority));
        match self.spec.version {
            // RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds.
            Version::V2 => Duration::from_micros(p * 1_000_000 / 256),
            // RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
            Version::V3 => {
                Duration::from_micros(p * Self::adver_int_us(self.master_adver_int) / 256)
            }
        }
    }

    /// Master_Down_Interval = down_timer_adverts × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        let n = u64::from(self.spec.down_timer_adverts.max(1));
        Duration::from_micros(n * Self::adver_int_us(self.master_adver_int)) + self.skew()
    }

    fn log_once(&mut self, kind: u32) -> bool {
        let first = self.logged & kind == 0;
        self.logged |= kind;
        first
    }

    fn set_state(&mut self, now: Instant, s: State) {
        // A restarted peer starts its AH sequence numbers again; each of our transitions
        // forgets the old ones (keepalived behaves alike).
        self.ah_seq_in.clear();
        self.state = s;
        self.last_transition = now;
        self.logged = 0;
        self.want_master = false;
    }

    // ---------------------------------------------------------------- notifications

    pub fn notification(&self, state: NotifyState) -> Notification {
        let n = &self.spec.notify;
        let specific = match state {
            NotifyState::Master => n.master.as_ref(),
            NotifyState::Backup => n.backup.as_ref(),
            NotifyState::Fault => n.fault.as_ref(),
            NotifyState::Stop => n.stop.as_ref(),
            NotifyState::Deleted => n.deleted.as_ref(),
            NotifyState::MasterRxLowerPri => n.master_rx_lower_pri.as_ref(),
            NotifyState::MasterPriority | NotifyState::BackupPriority => None,
        };
        let mut scripts: Vec<_> = specific.into_iter().cloned().collect();
        let generic_applies = matches!(
            state,
            NotifyState::Master
                | NotifyState::Backup
                | NotifyState::Fault
                | NotifyState::Stop
                | NotifyState::Deleted
        );
        if generic_applies && let Some(g) = &n.generic {
            let mut g = g.clone();
            g.argv.push("INSTANCE".into());
            g.argv.push(self.spec.name.clone());
            g.argv.push(state.to_string());
            g.argv.push(self.priority.to_string());
            scripts.push(g);
        }
        Notification {
            kind: NotifyKind::Instance,
            name: self.spec.name.clone(),
            state,
            priority: self.priority,
            scripts,
            in_order: self.spec.notify.in_order,
            mail: n.smtp.wants(state),
        }
    }

    fn notify(&self, state: NotifyState, out: &mut VecDeque<Action>) {
        out.push_back(Action::Notify(self.notification(state)));
    }

    // ---------------------------------------------------------------- sending

    fn checksum_ctx(&self, src: IpAddr, dst: IpAddr) -> ChecksumCtx {
        let pseudo_dst = if self.old_checksum && self.spec.is_unicast() {
            self.spec.mcast_dst
        } else {
            dst
        };
        ChecksumCtx {
            src,
            dst: pseudo_dst,
            v3_ipv4_pseudo_header: !self.spec.v3_checksum_as_v2,
            kernel_checksum: self.spec.family == Family::V6,
        }
    }

    pub fn build_advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.spec.version,
            vrid: self.spec.vrid,
            priority,
            // A MASTER always advertises its own interval.
            adver_int: self.spec.advert_int,
            auth: match (self.spec.version, self.spec.auth) {
                (Version::V3, _) | (_, Auth::None) => WireAuth::None,
                (Version::V2, Auth::Pass(p)) => WireAuth::Pass(p),
                (Version::V2, Auth::Ah(_)) => WireAuth::Ah,
            },
            addrs: self.spec.vips.iter().map(|v| v.addr).collect(),
        }
    }

    /// Send one advert with `priority` (one action per unicast peer, or one multicast).
    pub(crate) fn send_advert(&mut self, priority: u8, out: &mut VecDeque<Action>) {
        let Some(src) = self.src else {
            return;
        };
        let advert = self.build_advert(priority);
        if self.spec.is_unicast() {
            for k in 0..self.spec.unicast_peers.len() {
                let p = self.spec.unicast_peers[k];
                let ah = self.next_ah_seal();
                self.ip_id = self.ip_id.wrapping_add(1);
                out.push_back(Action::SendAdvert {
                    instance: self.spec.name.clone(),
                    ifname: self.spec.xmit_ifname().to_string(),
                    src,
                    dst: p.addr,
                    ttl: self.spec.unicast_ttl,
                    advert: advert.clone(),
                    checksum: self.checksum_ctx(src, p.addr),
                    ah,
                    ip_id: self.ip_id,
                });
            }
        } else {
            let ah = self.next_ah_seal();
            self.ip_id = self.ip_id.wrapping_add(1);
            out.push_back(Action::SendAdvert {
                instance: self.spec.name.clone(),
                ifname: self.spec.xmit_ifname().to_string(),
                src,
                dst: self.spec.mcast_dst,
                // RFC 5798 §5.1.1.3: TTL / hop limit 255.
                ttl: 255,
                advert,
                checksum: self.checksum_ctx(src, self.spec.mcast_dst),
                ah,
                ip_id: self.ip_id,
            });
        }
        self.stats.advert_sent += 1;
        if priority == 0 {
            self.stats.pri_zero_sent += 1;
            info!("({}) sent 0 priority", self.spec.name);
        }
    }

    /// The AH seal of the next packet (`auth_type AH` only): one sequence number per packet.
    fn next_ah_seal(&mut self) -> Option<AhSeal> {
        let Auth::Ah(key) = self.spec.auth else {
            return None;
        };
        self.ah_seq_out = self.ah_seq_out.wrapping_add(1);
        Some(AhSeal {
            seq: self.ah_seq_out,
            key,
        })
    }

    /// AH replay protection: accept `seq` from `src` only above the last one accepted from it
    /// since our last state change.
    pub(crate) fn ah_accept_seq(&mut self, src: IpAddr, seq: u32) -> bool {
        match self.ah_seq_in.iter_mut().find(|(a, _)| *a == src) {
            Some((_, last)) if seq <= *last => return false,
            Some((_, last)) => *last = seq,
            None => self.ah_seq_in.push((src, seq)),
        }
        self.ah_seq_out = self.ah_seq_out.max(seq);
        true
    }

    /// The first AH sequence number is above `base` (see `Node::ah_seq_base`).
    pub(crate) fn seed_ah_seq(&mut self, base: u32) {
        self.ah_seq_out = self.ah_seq_out.max(base);
    }

    fn garp_block(&self, repeat: u32, out: &mut VecDeque<Action>) {
        for _ in 0..repeat {
            for vip in self.spec.vips.iter().chain(self.spec.excluded_vips.iter()) {
                out.push_back(Action::SendGarp {
                    ifname: vip_dev(&self.spec, vip).to_string(),
                    addr: vip.addr,
                });
            }
        }
    }

    pub(crate) fn add_vips(&mut self, out: &mut VecDeque<Action>) {
        info!("({}) setting VIPs.", self.spec.name);
        for vip in self.spec.vips.iter().chain(self.spec.excluded_vips.iter()) {
            out.push_back(Action::AddVip {
                instance: self.spec.name.clone(),
                ifname: vip_dev(&self.spec, vip).to_string(),
                vip: vip.clone(),
            });
            if !self.spec.accept {
                out.push_back(block_action(&self.spec, vip, true));
            }
        }
        // keepalived compat: routes go in after the addresses (a route may need a VIP as
        // its source or its gateway's subnet).
        for r in &self.spec.virtual_routes {
            out.push_back(Action::AddRoute {
                instance: self.spec.name.clone(),
                route: r.clone(),
            });
        }
        for r in &self.spec.virtual_rules {
            out.push_back(Action::AddRule {
                instance: self.spec.name.clone(),
                rule: r.clone(),
            });
        }
        self.vipset = true;
    }

    pub(crate) fn del_vips(&mut self, out: &mut VecDeque<Action>) {
        info!("({}) removing VIPs.", self.spec.name);
        for vip in self.spec.vips.iter().chain(self.spec.excluded_vips.iter()) {
            if !self.spec.accept {
                out.push_back(block_action(&self.spec, vip, false));
            }
            out.push_back(Action::DelVip {
                instance: self.spec.name.clone(),
                ifname: vip_dev(&self.spec, vip).to_string(),
                vip: vip.clone(),
            });
        }
        for r in &self.spec.virtual_routes {
            out.push_back(Action::DelRoute {
                instance: self.spec.name.clone(),
                route: r.clone(),
            });
        }
        for r in &self.spec.virtual_rules {
            out.push_back(Action::DelRule {
                instance: self.spec.name.clone(),
                rule: r.clone(),
            });
        }
        self.vipset = false;
    }

    // ---------------------------------------------------------------- transitions

    /// RFC 5798 §6.4.1 / §6.4.2: become MASTER. keepalived order: advert first (so the old
    /// master releases), then the addresses, then GARPs, then the notify.
    pub(crate) fn become_master(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        info!("({}) Entering MASTER STATE", self.spec.name);
        self.set_state(now, State::Master);
        self.restore_owner(now, out);
        self.master_adver_int = self.own_int();
        self.preempt_until = None;
        self.timers.stop(Timer::MasterDown);
        self.send_advert(self.priority, out);
        self.timers
            .set(Timer::Advert, now + self.own_int().to_duration());
        self.add_vips(out);
        let g = self.spec.garp;
        self.garp_block(g.master_repeat, out);
        if g.master_delay > Duration::ZERO && g.master_repeat > 0 {
            self.timers.set(Timer::GarpSecond, now + g.master_delay);
        }
        if g.master_refresh > Duration::ZERO {
            self.timers.set(Timer::GarpRefresh, now + g.master_refresh);
        }
        self.stats.become_master += 1;
        self.notify(NotifyState::Master, out);
    }

    fn stop_master_timers(&mut self) {
        self.timers.stop(Timer::Advert);
        self.timers.stop(Timer::GarpSecond);
        self.timers.stop(Timer::GarpRefresh);
        self.timers.stop(Timer::LowerPrioGarp);
    }

    /// Leave MASTER for BACKUP (higher-priority advert, VIP deleted, sync group).
    pub(crate) fn master_to_backup(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        info!("({}) Entering BACKUP STATE", self.spec.name);
        self.set_state(now, State::Backup);
        self.preempt_until = None;
        self.stop_master_timers();
        self.del_vips(out);
        self.stats.release_master += 1;
        self.timers
            .set(Timer::MasterDown, now + self.master_down_interval());
        self.notify(NotifyState::Backup, out);
    }

    /// First state after INIT.
    fn enter_initial(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        if !self.faults.is_empty() {
            self.enter_fault(now, out);
        } else if self.is_owner() && self.spec.initial_master {
            // keepalived compat: the address owner starts MASTER at once (§4.6).
            self.become_master(now, out);
        } else {
            // keepalived compat: every other instance starts through BACKUP, even with
            // `state MASTER` (#1835). After waiting for scripts keepalived leaves its internal
            // FAULT, which it logs without "(init)".
            if self.held_by_scripts {
                info!("({}) Entering BACKUP STATE", self.spec.name);
            } else {
                info!("({}) Entering BACKUP STATE (init)", self.spec.name);
            }
            self.set_state(now, State::Backup);
            self.master_adver_int = self.own_int();
            self.timers
                .set(Timer::MasterDown, now + self.master_down_interval());
            self.notify(NotifyState::Backup, out);
            if self.held_by_scripts {
                self.announce_unicast_src(out);
            }
        }
    }

    pub(crate) fn enter_fault(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        let was = self.state;
        if was == State::Master {
            // keepalived compat (§4.5, §4.9): a MASTER going FAULT sends priority 0 so a
            // backup takes over after Skew_Time.
            self.send_advert(0, out);
            self.stop_master_timers();
            self.del_vips(out);
            self.stats.release_master += 1;
        }
        for f in &self.faults {
            info!("({}) entering FAULT state ({f})", self.spec.name);
        }
        info!("({}) Entering FAULT STATE", self.spec.name);
        self.set_state(now, State::Fault);
        self.timers.stop_all();
        self.master_addr = None;
        self.notify(NotifyState::Fault, out);
    }

    fn leave_fault(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        info!("({}) Entering BACKUP STATE", self.spec.name);
        self.set_state(now, State::Backup);
        self.master_adver_int = self.own_int();
        self.preempt_until = None;
        // keepalived compat (§4.5): full down timer; an owner takes over after one interval.
        let d = if self.is_owner() && self.spec.initial_master {
            self.own_int().to_duration() + self.skew()
        } else {
            self.master_down_interval()
        };
        self.timers.set(Timer::MasterDown, now + d);
        self.notify(NotifyState::Backup, out);
        self.announce_unicast_src(out);
    }

    /// keepalived compat (observed on 2.0.19 and 2.2.7): a unicast IPv4 instance leaving
    /// FAULT (including the wait for its first script results) sends one gratuitous ARP for
    /// its own source address ("VI_1: sending gratuitous ARP for 10.0.0.1"), so peers
    /// refresh their ARP cache for it.
    fn announce_unicast_src(&self, out: &mut VecDeque<Action>) {
        if let Some(src @ IpAddr::V4(_)) = self.src
            && self.spec.is_unicast()
        {
            info!("{}: sending gratuitous ARP for {src}", self.spec.name);
            out.push_back(Action::SendGarp {
                ifname: self.spec.interface.clone(),
                addr: src,
            });
        }
    }

    /// New tracker verdict. Returns the new state if a transition happened.
    pub(crate) fn apply_eval(
        &mut self,
        now: Instant,
        ev: Eval,
        can_start: bool,
        out: &mut VecDeque<Action>,
    ) -> Option<State> {
        let prev_src = self.src;
        self.src = ev.src;
        let p = if self.owner_demoted { 254 } else { ev.priority };
        self.set_priority(now, p, out);
        self.faults = ev.faults;
        self.pending = ev.pending;
        if self.state == State::Init && ev.scripts_pending {
            self.held_by_scripts = true;
        }
        let before = self.state;
        match self.state {
            State::Init => {
                if !self.pending && can_start {
                    self.enter_initial(now, out);
                }
            }
            State::Backup | State::Master => {
                if !self.faults.is_empty() {
                    // keepalived compat: a MASTER that goes FAULT because its source address
                    // disappeared still sends its priority 0 advert from the address it had,
                    // so the peer takes over after its skew time, not the master-down interval.
                    let lost_src = self.src.is_none() && self.state == State::Master;
                    if lost_src {
                        self.src = prev_src;
                    }
                    self.enter_fault(now, out);
                    if lost_src {
                        self.src = None;
                    }
                }
            }
            State::Fault => {
                if self.faults.is_empty() && !self.pending {
                    self.leave_fault(now, out);
                }
            }
        }
        (self.state != before).then_some(self.state)
    }

    fn restore_owner(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        self.rogue = None;
        if self.owner_demoted {
            self.owner_demoted = false;
            self.set_priority(now, 255, out);
        }
    }

    fn set_priority(&mut self, now: Instant, new: u8, out: &mut VecDeque<Action>) {
        let old = self.priority;
        if new == old {
            return;
        }
        if self.state != State::Init {
            info!(
                "({}) Changing effective priority from {old} to {new}",
                self.spec.name
            );
        }
        let old_skew = self.skew();
        self.priority = new;
        if self.state == State::Backup
            && let Some(d) = self.timers.get(Timer::MasterDown)
        {
            // keepalived compat: shift the running down timer by the skew difference.
            let new_skew = self.skew();
            let at = Instant(
                (d.as_micros() + new_skew.as_micros())
                    .saturating_sub(old_skew.as_micros())
                    .max(now.as_micros()),
            );
            self.timers.set(Timer::MasterDown, at);
        }
        if self.notify_priority_changes {
            match self.state {
                State::Master => self.notify(NotifyState::MasterPriority, out),
                State::Backup => self.notify(NotifyState::BackupPriority, out),
                _ => {}
            }
        }
    }

    // ---------------------------------------------------------------- timers

    /// Handle expired timers. Returns true if the master-down timer fired (the node decides
    /// whether to become MASTER, because of sync groups).
    pub(crate) fn on_timers(&mut self, now: Instant, out: &mut VecDeque<Action>) -> bool {
        let mut down = false;
        for t in self.timers.take_expired(now) {
            match (t, self.state) {
                (Timer::Advert, State::Master) => {
                    // RFC 5798 §6.4.3: send an ADVERTISEMENT, reset the Adver_Timer.
                    self.send_advert(self.priority, out);
                    self.timers
                        .set(Timer::Advert, now + self.own_int().to_duration());
                }
                (Timer::MasterDown, State::Backup) => down = true,
                (Timer::GarpSecond, State::Master) => {
                    self.garp_block(self.spec.garp.master_repeat, out);
                }
                (Timer::GarpRefresh, State::Master) => {
                    self.garp_block(self.spec.garp.master_refresh_repeat, out);
                    self.timers
                        .set(Timer::GarpRefresh, now + self.spec.garp.master_refresh);
                }
                (Timer::LowerPrioGarp, State::Master) => {
                    self.garp_block(self.spec.garp.lower_prio_repeat, out);
                }
                _ => {}
            }
        }
        down
    }

    /// The master-down timer fired and nothing holds us back.
    pub(crate) fn master_down_expired(&mut self, now: Instant, out: &mut VecDeque<Action>) {
        info!("({}) Receive advertisement timeout", self.spec.name);
        self.become_master(now, out);
    }

    /// Sync groups: the group is not ready; wait another down interval (keepalived resets
    /// the timer "to avoid thrashing").
    pub(crate) fn wait_for_group(&mut self, now: Instant) {
        self.want_master = true;
        self.timers
            .set(Timer::MasterDown, now + self.master_down_interval());
    }

    // ---------------------------------------------------------------- receiving

    /// Check and process an already parsed advert (reference §4.10, RFC 5798 §7.1).
    pub(crate) fn handle_advert(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        adv: &Advert,
        out: &mut VecDeque<Action>,
    ) -> RxOutcome {
        let name = self.spec.name.clone();
        // keepalived compat: FAULT and INIT instances ignore adverts silently.
        if matches!(self.state, State::Init | State::Fault) {
            return RxOutcome::Rejected;
        }
        let unicast = self.spec.is_unicast();
        // RFC 5798 §7.1: the TTL / hop limit of a multicast advert must be 255.
        if !unicast && ttl != 255 {
            self.stats.ip_ttl_err += 1;
            if self.log_once(once::TTL) {
                warn!("({name}) invalid TTL/HL. Received {ttl} and expect 255 from {src}");
            }
            return RxOutcome::Rejected;
        }
        if adv.version != self.spec.version {
            if self.log_once(once::VERSION) {
                let n = |v: Version| if v == Version::V2 { 2 } else { 3 };
                warn!(
                    "({name}) wrong version. Received {} and expect {} (from {src})",
                    n(adv.version),
                    n(self.spec.version)
                );
            }
            return RxOutcome::Rejected;
        }
        if self.spec.version == Version::V2 {
            // RFC 3768 §7.1: authentication.
            let bad = match (self.spec.auth, adv.auth) {
                (Auth::None, WireAuth::None) | (Auth::Ah(_), WireAuth::Ah) => None,
                (Auth::Pass(mine), WireAuth::Pass(theirs)) => {
                    // 8-byte comparison without early exit.
                    let diff = mine
                        .iter()
                        .zip(theirs.iter())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
                    (diff != 0).then_some(false)
                }
                _ => Some(true),
            };
            if let Some(type_mismatch) = bad {
                if type_mismatch {
                    self.stats.authtype_mismatch += 1;
                } else {
                    self.stats.auth_failure += 1;
                }
                if self.log_once(once::AUTH) {
                    if type_mismatch {
                        let wire_n = match adv.auth {
                            WireAuth::None => 0,
                            WireAuth::Pass(_) => 1,
                            WireAuth::Ah => 2,
                        };
                        let ours = match self.spec.auth {
                            Auth::None => 0,
                            Auth::Pass(_) => 1,
                            Auth::Ah(_) => 2,
                        };
                        warn!("({name}) received a {wire_n} auth, expecting {ours}! (from {src})");
                    } else {
                        warn!("({name}) received an invalid passwd! (from {src})");
                    }
                }
                return RxOutcome::Rejected;
            }
            // RFC 3768 §7.1: interval mismatch must be discarded (prevents two masters).
            if adv.adver_int != self.spec.advert_int {
                // Counted (keepalived prints the counter but never increments it).
                self.stats.advert_interval_err += 1;
                if self.log_once(once::INTERVAL) {
                    warn!(
                        "({name}) advertisement interval mismatch mine={} sec rcv'd={} sec",
                        self.spec.advert_int.0 / 100,
                        adv.adver_int.0 / 100
                    );
                }
                return RxOutcome::Rejected;
            }
        }
        // keepalived compat: a unicast instance receiving multicast (or vice versa).
        if unicast == dst.is_multicast() {
            self.stats.addr_list_err += 1;
            if self.log_once(once::MODE) {
                warn!("({name}) unicast/multicast mode mismatch for advert from {src} to {dst}");
            }
            return RxOutcome::Rejected;
        }
        // keepalived compat: "correct type, version and length" — counted as received
        // before the address-list and unicast-source checks.
        self.stats.advert_rcvd += 1;
        if self.is_owner() && self.spec.owner_ignore_adverts {
            // RFC 5798 §6.4.3 literally: the owner never leaves MASTER.
            return RxOutcome::Rejected;
        }
        if unicast {
            let ttl_check = self
                .spec
                .unicast_peers
                .iter()
                .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
            if self.spec.check_unicast_src || ttl_check {
                match self.spec.unicast_peers.iter().find(|p| p.addr == src) {
                    None => {
                        if self.log_once(once::UNICAST_SRC) {
                            warn!("({name}) unicast source address {src} not a unicast peer");
                        }
                        return RxOutcome::Rejected;
                    }
                    Some(p) => {
                        let lo = p.min_ttl.unwrap_or(0);
                        let hi = p.max_ttl.unwrap_or(255);
                        if ttl < lo || ttl > hi {
                            self.stats.ip_ttl_err += 1;
                            if self.log_once(once::TTL) {
                                warn!("({name}) invalid TTL {ttl} from unicast peer {src}");
                            }
                            return RxOutcome::Rejected;
                        }
                    }
                }
            }
        }
        if self.spec.version == Version::V3
            && adv.adver_int != self.spec.advert_int
            && adv.priority != 0
            && self.log_once(once::V3_INTERVAL)
        {
            // RFC 5798 §6.4.2: a backup learns the master's interval; just note it.
            info!(
                "({name}) advertisement interval mismatch mine={} rcv'd={} (centiseconds)",
                self.spec.advert_int.0, adv.adver_int.0
            );
        }
        let same_master = self.master_addr == Some(src);
        if !(self.spec.skip_check_adv_addr && same_master) {
            let vips = &self.spec.vips;
            let mismatch =
                adv.addrs.len() != vips.len() || vips.iter().any(|v| !adv.addrs.contains(&v.addr));
            if mismatch {
                // keepalived compat: since 2.3.3 a VIP-list mismatch is only logged and
                // counted, and the advert is accepted. keepalived 2.2.7 (Debian) drops it,
                // which turns differing configs into split brain.
                self.stats.addr_list_err += 1;
                if self.log_once(once::ADDR) {
                    warn!(
                        "({name}) ip address associated with VRID {} not present in MASTER advert from {src} (or count differs)",
                        self.spec.vrid
                    );
                }
            }
        }
        if adv.priority == 0 {
            self.stats.pri_zero_rcvd += 1;
        }
        match self.state {
            State::Backup => {
                self.backup_rx(now, src, adv, out);
                RxOutcome::Accepted
            }
            State::Master => self.master_rx(now, src, adv, out),
            _ => RxOutcome::Rejected,
        }
    }

    fn note_master(&mut self, src: IpAddr, adv: &Advert) {
        if self.master_addr != Some(src) {
            self.logged = 0;
        }
        self.master_addr = Some(src);
        self.master_priority = adv.priority;
    }

    fn backup_rx(&mut self, now: Instant, src: IpAddr, adv: &Advert, out: &mut VecDeque<Action>) {
        if self.owner_demoted && self.rogue.is_some_and(|(r, _)| r == src) && adv.priority < 255 {
            // keepalived compat (§4.6): the rogue owner stopped claiming 255.
            self.restore_owner(now, out);
        }
        let name = &self.spec.name;
        if adv.priority == 0 {
            // RFC 5798 §6.4.2: priority 0 → Master_Down_Timer := Skew_Time.
            info!("({name}) Backup received priority 0 advertisement");
            self.timers.set(Timer::MasterDown, now + self.skew());
            return;
        }
        let ours = self.priority;
        let delay = self.spec.preempt_delay;
        // keepalived compat: the delay starts at the first lower-priority advert and is
        // cancelled by an advert at or above our priority; until it runs out the lower
        // priority master is accepted.
        let delaying = delay > Duration::ZERO && self.preempt_until.is_none_or(|u| u > now);
        if delay > Duration::ZERO && !self.spec.nopreempt {
            if adv.priority >= ours {
                if self.preempt_until.take().is_some() {
                    info!("({name}) stop preempt delay");
                }
            } else if self.preempt_until.is_none() {
                info!("({name}) start preempt delay ({delay})");
                self.preempt_until = Some(now + delay);
            }
        }
        // RFC 5798 §6.4.2: accept if priority >= ours or preemption is off.
        // keepalived compat: nopreempt acts here only (on the receiving backup), and a
        // running preempt_delay keeps accepting a lower-priority master.
        if self.spec.nopreempt || adv.priority >= ours || delaying {
            if self.spec.version == Version::V3 {
                // RFC 5798 §6.4.2: Master_Adver_Interval := advertised interval.
                self.master_adver_int = Centis(adv.adver_int.0.max(1));
            }
            self.note_master(src, adv);
            self.want_master = false;
            self.timers
                .set(Timer::MasterDown, now + self.master_down_interval());
        } else {
            info!(
                "({name}) received lower priority ({}) advert from {src} - discarding",
                adv.priority
            );
        }
    }

    fn master_rx(
        &mut self,
        now: Instant,
        src: IpAddr,
        adv: &Advert,
        out: &mut VecDeque<Action>,
    ) -> RxOutcome {
        let name = self.spec.name.clone();
        if adv.priority == 0 {
            // RFC 5798 §6.4.3: priority 0 → send an ADVERTISEMENT, reset the Adver_Timer.
            self.send_advert(self.priority, out);
            self.timers
                .set(Timer::Advert, now + self.own_int().to_duration());
            return RxOutcome::Accepted;
        }
        let ours = self.priority;
        if adv.priority == 255 && self.is_owner() && self.log_once(once::OWNER) {
            // keepalived compat: two address owners on one link is a configuration error;
            // the normal tie-break on the address then decides.
            warn!(
                "({name}) CONFIGURATION ERROR: local instance and {src} are both configured as address owner, please resolve"
            );
        }
        let order = adv.priority.cmp(&ours).then_with(|| match self.src {
            Some(mine) => src.cmp(&mine),
            None => Ordering::Greater,
        });
        if adv.priority == 255 && self.is_owner() && order == Ordering::Less {
            // keepalived compat (§4.6): the other owner should yield to our higher address.
            // Answer twice; if it still claims ownership after 1.2 × the longer interval,
            // step down to 254 so that one of us is MASTER.
            let longer = self.own_int().max(adv.adver_int).to_duration().as_micros();
            let patience = Duration::from_micros(longer * 12 / 10);
            match self.rogue {
                Some((r, since)) if r == src && now >= since + patience => {
                    warn!(
                        "({name}) {src} is still advertising as address owner, please resolve - reducing our priority"
                    );
                    self.owner_demoted = true;
                    self.set_priority(now, 254, out);
                    return self.master_rx(now, src, adv, out);
                }
                Some((r, _)) if r == src => {}
                _ => {
                    self.rogue = Some((src, now));
                    self.send_advert(self.priority, out);
                    self.send_advert(self.priority, out);
                    self.timers
                        .set(Timer::Advert, now + self.own_int().to_duration());
                    return RxOutcome::Accepted;
                }
            }
        }
        match order {
            Ordering::Less => {
                // RFC 5798 §6.4.3 discards; keepalived compat: answer at once and re-GARP
                // (split-brain repair, §4.8).
                let forcing = if self.spec.lower_prio_no_advert {
                    ""
                } else {
                    ", forcing new election"
                };
                info!(
                    "({name}) Received advert from {src} with lower priority {}, ours {ours}{forcing}",
                    adv.priority
                );
                if !self.spec.lower_prio_no_advert {
                    self.send_advert(self.priority, out);
                    self.timers
                        .set(Timer::Advert, now + self.own_int().to_duration());
                }
                let g = self.spec.garp;
                if g.lower_prio_repeat > 0 {
                    self.garp_block(g.lower_prio_repeat, out);
                    if g.lower_prio_delay > Duration::ZERO {
                        self.timers
                            .set(Timer::LowerPrioGarp, now + g.lower_prio_delay);
                    }
                }
                self.notify(NotifyState::MasterRxLowerPri, out);
                RxOutcome::Accepted
            }
            Ordering::Equal => {
                if self.log_once(once::OWN_ADDR) {
                    warn!(
                        "({name}) WARNING - equal priority advert received from remote host with our IP address."
                    );
                }
                RxOutcome::Accepted
            }
            Ordering::Greater => {
                // RFC 5798 §6.4.3: higher priority (or equal and higher address) → BACKUP.
                if adv.priority > ours {
                    info!(
                        "({name}) Master received advert from {src} with higher priority {}, ours {ours}",
                        adv.priority
                    );
                } else {
                    info!(
                        "({name}) Master received advert from {src} with same priority {} but higher IP address than ours",
                        adv.priority
                    );
                }
                if self.spec.higher_prio_send_advert {
                    self.send_advert(self.priority, out);
                }
                if self.spec.version == Version::V3 {
                    self.master_adver_int = Centis(adv.adver_int.0.max(1));
                }
                self.note_master(src, adv);
                let keep_adv = self.master_adver_int;
                self.master_to_backup(now, out);
                self.master_adver_int = keep_adv;
                self.timers
                    .set(Timer::MasterDown, now + self.master_down_interval());
                RxOutcome::Yielded
            }
        }
    }

    /// A (possibly old-style) checksum for unicast v3 was detected on receive.
    pub(crate) fn set_old_checksum(&mut self) {
        if !self.old_checksum {
            info!(
                "({}) Setting unicast VRRPv3 checksum to old version",
                self.spec.name
            );
            self.old_checksum = true;
        }
    }

    pub fn old_checksum(&self) -> bool {
        self.old_checksum
    }

    /// An address disappeared from `ifname`. Returns true if the MASTER left for BACKUP.
    pub(crate) fn address_deleted(
        &mut self,
        now: Instant,
        ifname: &str,
        addr: IpAddr,
        out: &mut VecDeque<Action>,
    ) -> bool {
        if self.state != State::Master {
            return false;
        }
        let hit = self
            .spec
            .vips
            .iter()
            .chain(self.spec.excluded_vips.iter())
            .any(|v| v.addr == addr && vip_dev(&self.spec, v) == ifname && !v.no_track);
        if !hit {
            return false;
        }
        // keepalived compat (§4.15): a tracked VIP deleted by someone else → BACKUP; the
        // VIPs come back at the next MASTER transition.
        info!(
            "({}) VIP {addr} removed from {ifname} - leaving MASTER state",
            self.spec.name
        );
        // keepalived compat (observed on 2.2.7): the MASTER resigns with a priority 0 advert
        // and re-arms its down timer to its own skew time. The peers, told by the priority 0
        // advert, wait their (longer, lower-priority) skew time, so this node re-takes MASTER
        // first and re-adds the VIPs: exactly one holder at any time, back in under a second.
        self.send_advert(0, out);
        self.master_to_backup(now, out);
        self.timers.set(Timer::MasterDown, now + self.skew());
        true
    }

    /// Shutdown: resign (priority 0 + DelVip unless `release_vips` is false) and notify STOP.
    pub(crate) fn shutdown(
        &mut self,
        now: Instant,
        release_vips: bool,
        out: &mut VecDeque<Action>,
    ) {
        if self.state == State::Master && release_vips {
            self.send_advert(0, out);
            self.del_vips(out);
        }
        self.stop_master_timers();
        self.timers.stop_all();
        self.notify(NotifyState::Stop, out);
        self.set_state(now, State::Init);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_down_interval_are_exact() {
        let mut s = InstanceSpec::new("VI_1", "eth0", 1);
        s.priority = 100;
        let i = Instance::new(s.clone(), Instant(0), false);
        // keepalived 2.2.7 logs "Master down timer = 3609375 usecs" for prio 100, 1 s.
        assert_eq!(i.skew(), Duration::from_micros(609_375));
        assert_eq!(i.master_down_interval(), Duration::from_micros(3_609_375));
        s.version = Version::V3;
        s.advert_int = Centis(50);
        let i = Instance::new(s, Instant(0), false);
        // ((256-100) * 500000) / 256 = 304687 (integer µs).
        assert_eq!(i.skew(), Duration::from_micros(304_687));
        assert_eq!(i.master_down_interval(), Duration::from_micros(1_804_687));
    }
}
