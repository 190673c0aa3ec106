//! The root object of the core: every instance of one keepalived.conf, the trackers, sync
//! groups, reload and shutdown. Sans-IO: `handle(now, input)`, then drain `poll_action()`,
//! then re-arm a timer from `poll_timeout()`.
//!
//! Gluing it to the daemon:
//!
//! ```text
//! let mut node = Node::new(spec, now);           // queues DelVip for every VIP (stale copies)
//! node.set_epoch_offset(realtime_us - monotonic_us);   // only for the dump timestamps
//! for ifname in node.interfaces() { node.handle(now, Input::Link(state_of(ifname))) }
//!     // instances stay INIT until their own interface has been reported once
//! loop {
//!     drain: while let Some(a) = node.poll_action() { execute(a) }
//!     arm the timer at node.poll_timeout() (None = nothing scheduled)
//!     wait; then exactly one of:
//!       node.handle(now, Input::Timeout)                       // timer fired (spurious is fine)
//!       node.handle(now, Input::Packet(RxPacket { .. }))       // VRRP payload + IP metadata
//!       node.handle(now, Input::Link(..) | Input::AddressDeleted { .. })   // netlink
//!       node.handle(now, Input::Tracker(TrackerUpdate::Script { name, ok }))
//!           // check::Checker's CheckAction::Result: first decided state, every flip, and
//!           // again after a reload; weight-0 scripts hold their instances in INIT until then
//!       node.handle(now, Input::Tracker(TrackerUpdate::File { name, value }))  // read at
//!           // start and on every inotify change (before that: init_file value, else 0)
//!       node.handle(now, Input::Tracker(TrackerUpdate::Process { name, running }))
//!       SIGHUP: node.send_reload_adverts(now); drain; parse; node.handle(now, Input::Reload(spec))
//!       SIGTERM: node.handle(now, Input::Shutdown { release_vips: !dont_release_vrrp }); drain
//!       SIGUSR1/SIGUSR2/36: node.dump_data(now) / node.dump_stats() / node.dump_json(now)
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;

use log::{debug, info, warn};

use super::action::{Action, Notification, NotifyKind, NotifyState};
use super::ah;
use super::input::{Input, RxPacket, TrackerUpdate};
use super::instance::{Instance, RxOutcome, block_action};
use super::spec::{
    Auth, Family, InstanceSpec, NodeSpec, OldUnicastChecksum, ParamMatch, StaticSpec,
    SyncGroupSpec, TrackRef, Version, VipSpec,
};
use super::track::{Eval, Trackers, evaluate};
use super::types::State;
use super::wire::{self, Advert, ChecksumCtx, ChecksumForm, WireError};
use crate::time::{Duration, Instant};

/// keepalived's reload matching key (reference §2.1 step 4): VRID, family, interface,
/// unicast-or-not, unicast source when unicast, multicast destination when multicast.
/// Not the name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MatchKey {
    vrid: u8,
    family: Family,
    interface: String,
    unicast: bool,
    src: Option<IpAddr>,
    mcast_dst: Option<IpAddr>,
    /// keepalived compat: an instance that gains, loses or renames its VMAC is a new one.
    vmac: Option<String>,
}

fn match_key(s: &InstanceSpec) -> MatchKey {
    let unicast = s.is_unicast();
    MatchKey {
        vrid: s.vrid,
        family: s.family,
        interface: s.interface.clone(),
        unicast,
        src: if unicast { s.unicast_src } else { None },
        mcast_dst: if unicast { None } else { Some(s.mcast_dst) },
        vmac: s.vmac.as_ref().map(|v| v.name.clone()),
    }
}

#[derive(Clone, Debug)]
struct Group {
    spec: SyncGroupSpec,
    /// Last group state announced (Init = none yet).
    state: State,
}

/// What the script checker knows of one `vrrp_script`, for the SIGUSR1 data dump. The core
/// only sees rise/fall-filtered results; the daemon passes these from
/// `check::Checker::dump_info()` to [`Node::dump_data_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptDumpInfo {
    pub name: String,
    /// keepalived's `Status` word: `INIT`, `INIT/FAILED`, `GOOD` or `BAD`.
    pub status: &'static str,
    /// keepalived's `State` word: `idle`, `running`, `requested termination` or
    /// `forcing termination`.
    pub state: &'static str,
    /// The rise/fall counter (GOOD ⇔ `counter >= rise`), in `0..rise + fall`.
    pub counter: u32,
    pub rise: u32,
    pub fall: u32,
    /// How the last completed run ended (`None` before the first one).
    pub last_result: Option<String>,
}

/// The tracker lists of an instance or a sync group, for dumps.
struct TrackLists<'a> {
    scripts: &'a [TrackRef],
    files: &'a [TrackRef],
    processes: &'a [TrackRef],
}

impl<'a> TrackLists<'a> {
    fn of_instance(s: &'a InstanceSpec) -> Self {
        TrackLists {
            scripts: &s.track_scripts,
            files: &s.track_files,
            processes: &s.track_processes,
        }
    }
    fn of_group(g: &'a SyncGroupSpec) -> Self {
        TrackLists {
            scripts: &g.track_scripts,
            files: &g.track_files,
            processes: &g.track_processes,
        }
    }
}

/// A whole keepalived VRRP process, minus the I/O.
#[derive(Debug)]
pub struct Node {
    spec: NodeSpec,
    instances: Vec<Instance>,
    groups: Vec<Group>,
    trackers: Trackers,
    actions: VecDeque<Action>,
    /// `vrrp_startup_delay`: instances stay INIT until then.
    startup_until: Option<Instant>,
    stopped: bool,
    /// Added to a monotonic `Instant` to get Unix-epoch microseconds (for JSON/data dumps).
    epoch_offset_us: i64,
    /// `vrrp_garp_interval` / `vrrp_gna_interval` pacing: per-interface queues.
    garp_queues: BTreeMap<String, GarpQueue>,
    /// Addresses we asked the daemon to delete, and when: the RTM_DELADDR that follows is
    /// ours, not an external deletion.
    own_deletions: Vec<(String, IpAddr, Instant)>,
    /// The `now` of the latest input (for drain-time bookkeeping).
    last_now: Instant,
    /// VMACs asked for with `CreateVmac` and not known to be gone since (no second request
    /// while the first one's link report is on its way, nor after a failed one).
    vmacs_requested: BTreeSet<String>,
}

/// How long an RTM_DELADDR is attributed to our own DelVip.
const OWN_DELETION_WINDOW: Duration = Duration::from_secs(2);

/// GARPs / unsolicited NAs waiting for their turn on one interface.
/// The owner named in the actions (and so the log lines) of `static_ipaddress`,
/// `static_routes` and `static_rules`.
pub const STATIC_OWNER: &str = "static";

/// Install (addresses, then routes, then rules) or remove (the reverse order) static items.
fn static_actions(st: &StaticSpec, add: bool, out: &mut VecDeque<Action>) {
    let instance = || STATIC_OWNER.to_string();
    if add {
        for vip in &st.addresses {
            out.push_back(Action::AddVip {
                instance: instance(),
                ifname: vip.dev.clone().unwrap_or_default(),
                vip: vip.clone(),
            });
        }
        for route in &st.routes {
            out.push_back(Action::AddRoute {
                instance: instance(),
                route: route.clone(),
            });
        }
        for rule in &st.rules {
            out.push_back(Action::AddRule {
                instance: instance(),
                rule: rule.clone(),
            });
        }
    } else {
        for rule in &st.rules {
            out.push_back(Action::DelRule {
                instance: instance(),
                rule: rule.clone(),
            });
        }
        for route in &st.routes {
            out.push_back(Action::DelRoute {
                instance: instance(),
                route: route.clone(),
            });
        }
        for vip in &st.addresses {
            out.push_back(Action::DelVip {
                instance: instance(),
                ifname: vip.dev.clone().unwrap_or_default(),
                vip: vip.clone(),
            });
        }
    }
}

#[derive(Clone, Debug, Default)]
struct GarpQueue {
    /// Addresses waiting for their turn (each at most once).
    pending: Vec<IpAddr>,
    /// When the next GARP / unsolicited NA may go out on this interface.
    garp_next: Instant,
    gna_next: Instant,
}

impl GarpQueue {
    /// When the earliest waiting announcement is due.
    fn due(&self) -> Option<Instant> {
        self.pending
            .iter()
            .map(|a| {
                if a.is_ipv4() {
                    self.garp_next
                } else {
                    self.gna_next
                }
            })
            .min()
    }
}

fn vip_string(v: &VipSpec, default_dev: &str, set: bool) -> String {
    let scope = match v.scope {
        0 => "global".to_string(),
        200 => "site".to_string(),
        253 => "link".to_string(),
        254 => "host".to_string(),
        255 => "nowhere".to_string(),
        n => n.to_string(),
    };
    let mut s = format!(
        "{}/{} dev {} scope {}",
        v.addr,
        v.prefix_len,
        v.dev.as_deref().unwrap_or(default_dev),
        scope
    );
    if let Some(b) = v.broadcast {
        let _ = write!(s, " brd {b}");
    }
    if let Some(l) = &v.label {
        let _ = write!(s, " label {l}");
    }
    if v.no_track {
        s.push_str(" no_track");
    }
    if set {
        s.push_str(" set");
    }
    s
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            // keepalived's JSON writer escapes '/'.
            '/' => o.push_str("\\/"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Seconds as keepalived prints them in JSON (`1`, `0.5`).
fn secs_num(d: Duration) -> String {
    let us = d.as_micros();
    if us % 1_000_000 == 0 {
        (us / 1_000_000).to_string()
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        s.trim_end_matches('0').to_string()
    }
}

fn password(p: &[u8; 8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(8);
    String::from_utf8_lossy(&p[..end]).into_owned()
}

impl Node {
    /// Start: DelVip for every VIP (stale copies from a previous run); every instance waits
    /// in INIT for the state of its interface (`Input::Link`), its weight-0 scripts' first
    /// results and `vrrp_startup_delay`, then enters BACKUP (or FAULT; an owner MASTER).
    pub fn new(spec: NodeSpec, now: Instant) -> Node {
        let mut trackers = Trackers::default();
        trackers.apply_spec(&spec, &[]);
        let npc = spec.globals.notify_priority_changes;
        let instances: Vec<Instance> = spec
            .instances
            .iter()
            .map(|s| Instance::new(s.clone(), now, npc))
            .collect();
        let groups = spec
            .sync_groups
            .iter()
            .map(|g| Group {
                spec: g.clone(),
                state: State::Init,
            })
            .collect();
        let startup_until =
            (spec.globals.startup_delay > Duration::ZERO).then(|| now + spec.globals.startup_delay);
        let mut node = Node {
            spec,
            instances,
            groups,
            trackers,
            actions: VecDeque::new(),
            startup_until,
            stopped: false,
            epoch_offset_us: 0,
            garp_queues: BTreeMap::new(),
            own_deletions: Vec::new(),
            last_now: now,
            vmacs_requested: BTreeSet::new(),
        };
        // The VMACs first: the clean-up below removes stale VIPs from them.
        for n in 0..node.instances.len() {
            let s = node.instances[n].spec.clone();
            node.request_vmac(&s);
        }
        for inst in &mut node.instances {
            // keepalived compat: start from a clean slate ("removing VIPs." at startup).
            inst.del_vips(&mut node.actions);
        }
        // Static items are there whatever the VRRP states (EEXIST, if left by an earlier run,
        // is benign).
        static_actions(&node.spec.statics, true, &mut node.actions);
        node.reevaluate(now);
        node
    }

    /// Dumps show wall-clock times: `epoch_us = instant_us + offset`.
    pub fn set_epoch_offset(&mut self, offset_us: i64) {
        self.epoch_offset_us = offset_us;
        let base = self.ah_seq_base(self.last_now);
        for inst in &mut self.instances {
            inst.seed_ah_seq(base);
        }
    }

    /// Where an instance's AH sequence numbers start: 4 per second of wall-clock time since
    /// 2020, so a restarted node continues above every number it sent before (at most one
    /// advert a second in VRRPv2) and keepalived peers, which drop numbers not above the last
    /// one they saw, accept it at once. keepalived itself starts from 1 after a restart.
    fn ah_seq_base(&self, now: Instant) -> u32 {
        const Y2020: i64 = 1_577_836_800;
        let epoch_s = (now.as_micros() as i64).saturating_add(self.epoch_offset_us) / 1_000_000;
        u32::try_from(epoch_s.saturating_sub(Y2020).max(0).saturating_mul(4)).unwrap_or(u32::MAX)
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        if self.stopped {
            return;
        }
        self.last_now = now;
        match input {
            Input::Packet(p) => self.handle_packet(now, p),
            Input::Timeout => {}
            Input::Link(l) => {
                let name = l.ifname.clone();
                let exists = l.exists;
                let prev = self.trackers.links.insert(name.clone(), l);
                if !exists {
                    self.vmac_link_gone(&name, prev.is_some_and(|p| p.exists));
                }
                self.ensure_vmacs(false);
                self.reevaluate(now);
            }
            Input::AddressDeleted { ifname, addr, .. } => {
                self.own_deletions
                    .retain(|(_, _, at)| now.saturating_since(*at) <= OWN_DELETION_WINDOW);
                if let Some(k) = self
                    .own_deletions
                    .iter()
                    .position(|(i, a, _)| *i == ifname && *a == addr)
                {
                    // The echo of our own DelVip (e.g. a VIP re-added with other attributes
                    // by a reload): not a reason to leave MASTER.
                    self.own_deletions.swap_remove(k);
                    return;
                }
                // keepalived compat: a deleted static address is put back at once.
                if let Some(vip) = self
                    .spec
                    .statics
                    .addresses
                    .iter()
                    .find(|v| v.addr == addr && v.dev.as_deref() == Some(ifname.as_str()))
                {
                    info!(
                        "Restoring deleted static address {}",
                        vip_string(vip, &ifname, true)
                    );
                    self.actions.push_back(Action::AddVip {
                        instance: STATIC_OWNER.to_string(),
                        ifname: ifname.clone(),
                        vip: vip.clone(),
                    });
                }
                for inst in &mut self.instances {
                    inst.address_deleted(now, &ifname, addr, &mut self.actions);
                }
            }
            Input::Tracker(t) => {
                match t {
                    TrackerUpdate::Script { name, ok } => {
                        self.trackers.scripts.insert(name, ok);
                    }
                    TrackerUpdate::File { name, value } => {
                        self.trackers.files.insert(name, value);
                    }
                    TrackerUpdate::Process { name, running } => {
                        self.trackers.processes.insert(name, running);
                    }
                }
                self.reevaluate(now);
            }
            Input::Reload(spec) => self.reload(now, spec),
            Input::Shutdown { release_vips } => {
                self.shutdown(now, release_vips);
                return;
            }
        }
        self.run_timers(now);
        self.sync_groups(now);
        self.pace_garps(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        let a = self.actions.pop_front()?;
        if let Action::DelVip { ifname, vip, .. } = &a {
            self.own_deletions
                .push((ifname.clone(), vip.addr, self.last_now));
            if self.own_deletions.len() > 4096 {
                self.own_deletions.remove(0);
            }
        }
        Some(a)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let t = self
            .instances
            .iter()
            .filter_map(|i| i.timers.next_timeout())
            .min();
        let g = self.garp_queues.values().filter_map(GarpQueue::due).min();
        [t, self.startup_until, g].into_iter().flatten().min()
    }

    /// The pacing of announcements for `addr` on `ifname`: its `garp_group`'s interval if
    /// the interface is in one (keepalived compat: a group replaces both global intervals
    /// for its interfaces, an interval the group does not set is 0 there), else the global
    /// `vrrp_garp_interval` / `vrrp_gna_interval`.
    fn garp_pacing(&self, ifname: &str, addr: IpAddr) -> Duration {
        let g = &self.spec.globals;
        let (garp, gna) = match g.garp_groups.get(ifname) {
            Some(d) => (d.garp_interval, d.gna_interval),
            None => (g.garp_interval, g.gna_interval),
        };
        if addr.is_ipv4() { garp } else { gna }
    }

    /// Where `addr` is in the configuration (instances in order, each one's VIPs then
    /// eVIPs): the order in which waiting announcements are served.
    fn garp_rank(&self, addr: IpAddr) -> usize {
        self.spec
            .instances
            .iter()
            .flat_map(|i| i.vips.iter().chain(i.excluded_vips.iter()))
            .position(|v| v.addr == addr)
            .unwrap_or(usize::MAX)
    }

    /// keepalived compat (`vrrp_garp_interval`, `vrrp_gna_interval`, `garp_group`; observed
    /// with keepalived 2.2.7 on the wire): on each interface GARPs and unsolicited NAs each
    /// have their own timeline. An announcement is sent at once if its family's interval has
    /// passed since the last one there, else the address is marked waiting (once: a repeat
    /// for an address already waiting is dropped). Waiting addresses are served one per
    /// interval, in configuration order. A VIP being removed drops its waiting mark.
    fn pace_garps(&mut self, now: Instant) {
        let g = &self.spec.globals;
        if g.garp_interval == Duration::ZERO
            && g.gna_interval == Duration::ZERO
            && g.garp_groups.is_empty()
            && self.garp_queues.is_empty()
        {
            return;
        }
        let mut kept = VecDeque::with_capacity(self.actions.len());
        let actions = std::mem::take(&mut self.actions);
        for a in actions {
            match a {
                Action::SendGarp { ifname, addr } => {
                    let gap = self.garp_pacing(&ifname, addr);
                    if gap == Duration::ZERO {
                        kept.push_back(Action::SendGarp { ifname, addr });
                        continue;
                    }
                    let q = self.garp_queues.entry(ifname.clone()).or_default();
                    if q.pending.contains(&addr) {
                        continue;
                    }
                    let next = if addr.is_ipv4() {
                        &mut q.garp_next
                    } else {
                        &mut q.gna_next
                    };
                    if *next <= now {
                        *next = now + gap;
                        kept.push_back(Action::SendGarp { ifname, addr });
                    } else {
                        q.pending.push(addr);
                    }
                }
                Action::DelVip {
                    ref ifname,
                    ref vip,
                    ..
                } => {
                    if let Some(q) = self.garp_queues.get_mut(ifname) {
                        q.pending.retain(|x| *x != vip.addr);
                    }
                    kept.push_back(a);
                }
                a => kept.push_back(a),
            }
        }
        self.actions = kept;
        let names: Vec<String> = self.garp_queues.keys().cloned().collect();
        for ifname in names {
            let Some(mut q) = self.garp_queues.remove(&ifname) else {
                continue;
            };
            let mut order = std::mem::take(&mut q.pending);
            order.sort_by_key(|a| self.garp_rank(*a));
            for addr in order {
                let gap = self.garp_pacing(&ifname, addr);
                let next = if addr.is_ipv4() {
                    &mut q.garp_next
                } else {
                    &mut q.gna_next
                };
                if *next <= now || gap == Duration::ZERO {
                    *next = now + gap;
                    self.actions.push_back(Action::SendGarp {
                        ifname: ifname.clone(),
                        addr,
                    });
                } else {
                    q.pending.push(addr);
                }
            }
            if !q.pending.is_empty() || q.garp_next > now || q.gna_next > now {
                self.garp_queues.insert(ifname, q);
            }
        }
    }

    /// `use_vmac`: ask the daemon for the VMAC of `s` (once, until it is known to be gone).
    fn request_vmac(&mut self, s: &InstanceSpec) {
        let Some(v) = &s.vmac else { return };
        if !self.vmacs_requested.insert(v.name.clone()) {
            return;
        }
        self.actions.push_back(Action::CreateVmac {
            instance: s.name.clone(),
            name: v.name.clone(),
            parent: s.interface.clone(),
            mac: super::spec::virtual_mac(s.family, s.vrid),
            family: s.family,
        });
    }

    /// A link was reported missing: a VMAC whose parent is gone, or a VMAC deleted after it
    /// existed (by hand), may be requested again (keepalived re-creates a deleted VMAC).
    /// A VMAC that never appeared (creation failed) is not retried until its parent comes
    /// back, so a failing creation cannot loop.
    fn vmac_link_gone(&mut self, ifname: &str, existed: bool) {
        for i in &self.instances {
            if let Some(v) = &i.spec.vmac
                && ((v.name == ifname && existed) || i.spec.interface == ifname)
            {
                self.vmacs_requested.remove(&v.name);
            }
        }
    }

    /// Request the VMACs whose parent exists and which are neither there nor requested.
    /// `forget_stale` (reload): a "missing" report for the VMAC is from before the request,
    /// so a new instance waits in INIT for the new link instead of entering FAULT first.
    fn ensure_vmacs(&mut self, forget_stale: bool) {
        let want: Vec<InstanceSpec> = self
            .instances
            .iter()
            .filter_map(|i| {
                let v = i.spec.vmac.as_ref()?;
                let parent = self.trackers.links.get(&i.spec.interface)?;
                let have = self.trackers.links.get(&v.name).is_some_and(|l| l.exists);
                (parent.exists && !have && !self.vmacs_requested.contains(&v.name))
                    .then(|| i.spec.clone())
            })
            .collect();
        for s in &want {
            if forget_stale && let Some(v) = &s.vmac {
                self.trackers.links.remove(&v.name);
            }
            self.request_vmac(s);
        }
    }

    /// Interfaces the config needs: instance interfaces, VIP devs, track_interface names.
    /// Not the VMACs: they are created on request and reported once they exist.
    pub fn interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for s in &self.spec.instances {
            v.push(s.interface.clone());
            for vip in s.vips.iter().chain(s.excluded_vips.iter()) {
                if let Some(d) = &vip.dev {
                    v.push(d.clone());
                }
            }
            v.extend(s.track_interfaces.iter().map(|t| t.name.clone()));
        }
        for g in &self.spec.sync_groups {
            v.extend(g.track_interfaces.iter().map(|t| t.name.clone()));
        }
        v.sort();
        v.dedup();
        v
    }

    /// SIGHUP, before the new config is parsed: every MASTER advertises at once so backups
    /// do not time out during a long reload (reference §2.1 step 2).
    pub fn send_reload_adverts(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        for inst in &mut self.instances {
            if inst.state == State::Master {
                inst.send_advert(inst.priority, &mut self.actions);
                inst.timers.set(
                    super::timer::Timer::Advert,
                    now + inst.own_int().to_duration(),
                );
            }
        }
    }

    pub fn instance_states(&self) -> Vec<(String, State, u8)> {
        self.instances
            .iter()
            .map(|i| (i.spec.name.clone(), i.state, i.priority))
            .collect()
    }

    /// The configuration in force (globals such as `notify_fifo` live here).
    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    /// Read access for tests and dumps.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.spec.name == name)
    }

    pub fn clear_stats(&mut self) {
        for i in &mut self.instances {
            i.stats = Default::default();
        }
    }

    // ------------------------------------------------------------ receive path

    fn find_instance(
        &self,
        ifname: &str,
        family: Family,
        vrid: u8,
        src: IpAddr,
        dst: IpAddr,
    ) -> Option<usize> {
        let cands: Vec<usize> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.spec.xmit_ifname() == ifname && i.spec.family == family && i.spec.vrid == vrid
            })
            .map(|(n, _)| n)
            .collect();
        if cands.len() <= 1 {
            return cands.first().copied();
        }
        let pick = |f: &dyn Fn(&InstanceSpec) -> bool| {
            cands.iter().copied().find(|&n| f(&self.instances[n].spec))
        };
        if dst.is_multicast() {
            pick(&|s| !s.is_unicast() && s.mcast_dst == dst).or(cands.first().copied())
        } else {
            pick(&|s| s.unicast_peers.iter().any(|p| p.addr == src))
                .or_else(|| pick(&|s| s.is_unicast()))
                .or(cands.first().copied())
        }
    }

    fn handle_packet(&mut self, now: Instant, mut p: RxPacket) {
        // With AH, the VRRP message follows the IPv4 and AH headers.
        let vrrp_at = if p.ipsec_ah { 20 + ah::AH_LEN } else { 0 };
        let Some(&vrid) = p.payload.get(vrrp_at + 1) else {
            debug!("VRRP packet too short on {}", p.ifname);
            return;
        };
        let Some(idx) = self.find_instance(&p.ifname, p.family, vrid, p.src, p.dst) else {
            // keepalived compat: logged (INFO, this wording) only with `log_unknown_vrids`.
            if self.spec.globals.log_unknown_vrids {
                info!(
                    "Unknown VRID({vrid}) received on interface({}). ignoring...",
                    p.ifname
                );
            } else {
                debug!(
                    "Unknown VRID({vrid}) received on interface({}). ignoring...",
                    p.ifname
                );
            }
            return;
        };
        let inst = &mut self.instances[idx];
        if matches!(inst.state, State::Init | State::Fault) {
            return;
        }
        match (inst.spec.auth, p.ipsec_ah) {
            (Auth::Ah(key), true) => match ah::verify_ipv4(&p.payload, &key) {
                Ok(rx) if inst.ah_accept_seq(p.src, rx.seq) => p.payload = rx.vrrp.to_vec(),
                Ok(rx) => {
                    inst.stats.auth_failure += 1;
                    warn!(
                        "({}) IPSEC-AH: sequence number {} from {} already seen, dropped",
                        inst.spec.name, rx.seq, p.src
                    );
                    return;
                }
                Err(e) => {
                    inst.stats.auth_failure += 1;
                    warn!("({}) {e} from {}", inst.spec.name, p.src);
                    return;
                }
            },
            (Auth::Ah(_), false) => {
                // An advert claiming AH without the header would bypass the ICV check.
                inst.stats.auth_failure += 1;
                warn!(
                    "({}) advert without IPSEC-AH header from {}",
                    inst.spec.name, p.src
                );
                return;
            }
            (_, true) => {
                inst.stats.authtype_mismatch += 1;
                warn!(
                    "({}) IPSEC-AH advert from {} but the instance does not use AH",
                    inst.spec.name, p.src
                );
                return;
            }
            _ => {}
        }
        let inst = &self.instances[idx];
        let unicast = inst.spec.is_unicast();
        // The pseudo-header destination: the packet's own destination, or the multicast group
        // once the instance uses the pre-1.3.6 unicast checksum (configured or detected).
        let dst = if inst.old_checksum() && unicast {
            inst.spec.mcast_dst
        } else {
            p.dst
        };
        let ctx = ChecksumCtx {
            src: p.src,
            dst,
            v3_ipv4_pseudo_header: !inst.spec.v3_checksum_as_v2,
            kernel_checksum: p.family == Family::V6,
        };
        let res = match wire::parse_with_fallback(&p.payload, p.family, &ctx) {
            Ok(parsed) if parsed.checksum == ChecksumForm::V3Ipv4OldUnicast => {
                // keepalived compat (§4.11): a unicast v3 advert from keepalived < 1.3.6 carries
                // the multicast group in its pseudo-header. By default the instance switches to
                // that form (for sending too); `old_unicast_checksum never` (or a multicast
                // instance) treats it as a bad checksum.
                if unicast && inst.spec.old_unicast_checksum == OldUnicastChecksum::Auto {
                    self.instances[idx].set_old_checksum();
                    Ok(parsed.advert)
                } else {
                    Err(WireError::Checksum)
                }
            }
            Ok(parsed) => Ok(parsed.advert),
            Err(e) => Err(e),
        };
        match res {
            Ok(adv) => self.deliver(now, idx, p.src, p.dst, p.ttl, &adv),
            Err(e) => {
                let inst = &mut self.instances[idx];
                match e {
                    WireError::Length => inst.stats.packet_len_err += 1,
                    WireError::Type => inst.stats.invalid_type_rcvd += 1,
                    WireError::AuthType => inst.stats.invalid_authtype += 1,
                    // keepalived keeps these two for SNMP only (chk_err, vers_err); we show them
                    // in the SIGUSR1 dump, not in the 2.2.7-format stats file.
                    WireError::Checksum => inst.stats.chk_err += 1,
                    WireError::Version => inst.stats.vers_err += 1,
                }
                if e == WireError::Checksum {
                    let v = if inst.spec.version == Version::V3 {
                        3
                    } else {
                        2
                    };
                    warn!(
                        "({}) Invalid VRRPv{v} checksum from {}",
                        inst.spec.name, p.src
                    );
                } else {
                    warn!("({}) {e} from {}", inst.spec.name, p.src);
                }
            }
        }
    }

    /// Test support (the simulated LAN) and the second half of the receive path: an already
    /// parsed advert with its IP metadata, as if it had arrived on `ifname`.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_advert(
        &mut self,
        now: Instant,
        ifname: &str,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        adv: &Advert,
    ) {
        if self.stopped {
            return;
        }
        self.last_now = now;
        if let Some(idx) = self.find_instance(ifname, family, adv.vrid, src, dst) {
            self.deliver(now, idx, src, dst, ttl, adv);
        }
        self.run_timers(now);
        self.sync_groups(now);
        self.pace_garps(now);
    }

    fn deliver(
        &mut self,
        now: Instant,
        idx: usize,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        adv: &Advert,
    ) {
        let out = self.instances[idx].handle_advert(now, src, dst, ttl, adv, &mut self.actions);
        if out == RxOutcome::Yielded {
            self.group_follow_backup(now, idx);
        }
    }

    // ------------------------------------------------------------ tracking

    fn group_of(&self, name: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.spec.members.iter().any(|m| m == name))
    }

    fn reevaluate(&mut self, now: Instant) {
        let empty: &[TrackRef] = &[];
        let mut evals: Vec<Eval> = self
            .instances
            .iter()
            .map(|i| {
                let extra = match self.group_of(&i.spec.name) {
                    Some(g) => {
                        let g = &self.groups[g].spec;
                        [
                            &g.track_interfaces[..],
                            &g.track_scripts[..],
                            &g.track_files[..],
                            &g.track_processes[..],
                        ]
                    }
                    None => [empty, empty, empty, empty],
                };
                evaluate(&i.spec, &extra, &self.trackers)
            })
            .collect();
        // Sync groups (§4.15): any member faulty ⇒ every member FAULT.
        for g in &self.groups {
            let members: Vec<usize> = self
                .instances
                .iter()
                .enumerate()
                .filter(|(_, i)| g.spec.members.contains(&i.spec.name))
                .map(|(n, _)| n)
                .collect();
            let faulty: Vec<String> = members
                .iter()
                .filter(|&&n| !evals[n].faults.is_empty())
                .map(|&n| self.instances[n].spec.name.clone())
                .collect();
            for &n in &members {
                for f in &faulty {
                    if *f != self.instances[n].spec.name {
                        evals[n]
                            .faults
                            .push(format!("sync group {} member {f} in FAULT", g.spec.name));
                    }
                }
            }
        }
        let can_start = match self.startup_until {
            Some(t) if now < t => false,
            Some(_) => {
                self.startup_until = None;
                true
            }
            None => true,
        };
        for (inst, ev) in self.instances.iter_mut().zip(evals) {
            inst.apply_eval(now, ev, can_start, &mut self.actions);
        }
    }

    // ------------------------------------------------------------ timers

    fn run_timers(&mut self, now: Instant) {
        if self.startup_until.is_some_and(|t| now >= t) {
            self.reevaluate(now);
        }
        for idx in 0..self.instances.len() {
            if !self.instances[idx].on_timers(now, &mut self.actions) {
                continue;
            }
            match self.group_of(&self.instances[idx].spec.name) {
                None => self.instances[idx].master_down_expired(now, &mut self.actions),
                Some(g) => {
                    // §4.15: the group goes MASTER only when every member wants it.
                    let members = self.groups[g].spec.members.clone();
                    let others: Vec<usize> = (0..self.instances.len())
                        .filter(|&n| n != idx && members.contains(&self.instances[n].spec.name))
                        .collect();
                    let ready = others.iter().all(|&n| {
                        let o = &self.instances[n];
                        o.state == State::Master || (o.state == State::Backup && o.want_master)
                    });
                    if ready {
                        self.instances[idx].master_down_expired(now, &mut self.actions);
                        for n in others {
                            if self.instances[n].state == State::Backup {
                                self.instances[n].master_down_expired(now, &mut self.actions);
                            }
                        }
                    } else {
                        self.instances[idx].wait_for_group(now);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ sync groups

    fn group_follow_backup(&mut self, now: Instant, idx: usize) {
        let Some(g) = self.group_of(&self.instances[idx].spec.name) else {
            return;
        };
        let members = self.groups[g].spec.members.clone();
        for n in 0..self.instances.len() {
            if n != idx
                && members.contains(&self.instances[n].spec.name)
                && self.instances[n].state == State::Master
            {
                self.instances[n].master_to_backup(now, &mut self.actions);
            }
        }
    }

    fn sync_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].spec.members.clone();
            let idxs: Vec<usize> = (0..self.instances.len())
                .filter(|&n| members.contains(&self.instances[n].spec.name))
                .collect();
            if idxs.is_empty() {
                continue;
            }
            // A member left MASTER another way (VIP deleted): the others follow.
            let any_backup = idxs
                .iter()
                .any(|&n| self.instances[n].state == State::Backup);
            let any_master = idxs
                .iter()
                .any(|&n| self.instances[n].state == State::Master);
            if any_backup && any_master {
                for &n in &idxs {
                    if self.instances[n].state == State::Master {
                        self.instances[n].master_to_backup(now, &mut self.actions);
                    }
                }
            }
            let states: Vec<State> = idxs.iter().map(|&n| self.instances[n].state).collect();
            let gs = if states.contains(&State::Init) {
                State::Init
            } else if states.contains(&State::Fault) {
                State::Fault
            } else if states.iter().all(|&s| s == State::Master) {
                State::Master
            } else {
                State::Backup
            };
            if gs != State::Init && gs != self.groups[g].state {
                self.groups[g].state = gs;
                let ns = match gs {
                    State::Master => NotifyState::Master,
                    State::Fault => NotifyState::Fault,
                    _ => NotifyState::Backup,
                };
                info!(
                    "VRRP_Group({}) Syncing instances to {gs} state",
                    self.groups[g].spec.name
                );
                let n = group_notification(&self.groups[g].spec, ns);
                self.actions.push_back(Action::Notify(n));
            }
        }
    }

    // ------------------------------------------------------------ reload / shutdown

    fn reload(&mut self, now: Instant, new: NodeSpec) {
        info!("Reloading");
        let old = std::mem::take(&mut self.instances);
        let mut used = vec![false; old.len()];
        let npc = new.globals.notify_priority_changes;
        let mut next = Vec::with_capacity(new.instances.len());
        for s in &new.instances {
            let key = match_key(s);
            let found = old
                .iter()
                .enumerate()
                .position(|(n, o)| !used[n] && match_key(&o.spec) == key);
            match found {
                Some(n) => {
                    used[n] = true;
                    let mut inst = old[n].clone();
                    self.reconfigure(now, &mut inst, s.clone(), npc);
                    next.push(inst);
                }
                None => {
                    let mut inst = Instance::new(s.clone(), now, npc);
                    inst.seed_ah_seq(self.ah_seq_base(now));
                    next.push(inst);
                }
            }
        }
        // Removed instances (§2.1 step 5).
        for (n, mut o) in old.into_iter().enumerate() {
            if used[n] {
                continue;
            }
            let was = o.state;
            if was == State::Master {
                o.send_advert(0, &mut self.actions);
                o.del_vips(&mut self.actions);
            }
            // keepalived compat: the VMAC of a removed instance goes with it (unless a new
            // instance names the same one).
            if let Some(v) = &o.spec.vmac
                && !next
                    .iter()
                    .any(|n: &Instance| n.spec.vmac.as_ref().is_some_and(|w| w.name == v.name))
            {
                // Gone as far as the core is concerned (the kernel's report may come later).
                self.vmacs_requested.remove(&v.name);
                self.trackers.links.remove(&v.name);
                self.actions.push_back(Action::DeleteVmac {
                    instance: o.spec.name.clone(),
                    name: v.name.clone(),
                });
            }
            if o.spec.notify.notify_deleted {
                self.actions
                    .push_back(Action::Notify(o.notification(NotifyState::Deleted)));
            } else if was != State::Fault && was != State::Init {
                self.actions
                    .push_back(Action::Notify(o.notification(NotifyState::Fault)));
            }
        }
        self.instances = next;
        let old_scripts = std::mem::take(&mut self.spec.scripts);
        self.trackers.apply_spec(&new, &old_scripts);
        self.groups = new
            .sync_groups
            .iter()
            .map(|g| Group {
                spec: g.clone(),
                // keepalived compat: no group notify if the group state is unchanged.
                state: self
                    .groups
                    .iter()
                    .find(|o| o.spec.name == g.name)
                    .map_or(State::Init, |o| o.state),
            })
            .collect();
        self.reload_statics(&new.statics);
        self.spec = new;
        self.ensure_vmacs(true);
        self.reevaluate(now);
        if self.spec.globals.fifo_write_vrrp_states_on_reload {
            // keepalived compat: re-announce every current state on the FIFOs (no scripts).
            for i in &self.instances {
                let ns = match i.state {
                    State::Master => NotifyState::Master,
                    State::Backup => NotifyState::Backup,
                    State::Fault => NotifyState::Fault,
                    State::Init => continue,
                };
                let mut n = i.notification(ns);
                n.scripts.clear();
                n.mail = false;
                self.actions.push_back(Action::Notify(n));
            }
        }
        info!("Reload finished");
    }

    /// Static items at reload, as for an instance's virtual routes and rules: those no longer
    /// configured are removed, new addresses and rules added, and every route re-added (the
    /// kernel may have dropped a route with an address; an existing one answers EEXIST, which
    /// is benign).
    fn reload_statics(&mut self, new: &StaticSpec) {
        let old = &self.spec.statics;
        let gone = StaticSpec {
            addresses: (old.addresses.iter())
                .filter(|a| !new.addresses.contains(a))
                .cloned()
                .collect(),
            routes: (old.routes.iter())
                .filter(|r| !new.routes.contains(r))
                .cloned()
                .collect(),
            rules: (old.rules.iter())
                .filter(|r| !new.rules.contains(r))
                .cloned()
                .collect(),
        };
        for a in &gone.addresses {
            info!(
                "static address {} no longer configured, removing it",
                vip_string(a, "", false)
            );
        }
        static_actions(&gone, false, &mut self.actions);
        let added = StaticSpec {
            addresses: (new.addresses.iter())
                .filter(|a| !old.addresses.contains(a))
                .cloned()
                .collect(),
            routes: new.routes.clone(),
            rules: (new.rules.iter())
                .filter(|r| !old.rules.contains(r))
                .cloned()
                .collect(),
        };
        static_actions(&added, true, &mut self.actions);
    }

    fn reconfigure(&mut self, now: Instant, inst: &mut Instance, s: InstanceSpec, npc: bool) {
        if inst.spec.name != s.name {
            info!("({}) renamed to ({}) by reload", inst.spec.name, s.name);
        }
        let holds = inst.state == State::Master && inst.vipset;
        let old_all: Vec<VipSpec> = inst
            .spec
            .vips
            .iter()
            .chain(inst.spec.excluded_vips.iter())
            .cloned()
            .collect();
        let old_routes = inst.spec.virtual_routes.clone();
        let old_rules = inst.spec.virtual_rules.clone();
        let old_if = inst.spec.vip_ifname().to_string();
        let old_int = inst.spec.advert_int;
        let old_spec = std::mem::replace(&mut inst.spec, s);
        inst.notify_priority_changes = npc || inst.spec.notify.priority_changes;
        if old_int != inst.spec.advert_int
            && (inst.state == State::Master || inst.spec.version == Version::V2)
        {
            inst.master_adver_int = inst.own_int();
        }
        if !holds {
            return;
        }
        let dev = |v: &VipSpec, i: &str| v.dev.clone().unwrap_or_else(|| i.to_string());
        let new_all: Vec<VipSpec> = inst
            .spec
            .vips
            .iter()
            .chain(inst.spec.excluded_vips.iter())
            .cloned()
            .collect();
        // No accept mode: unblock what leaves (or is no longer blocked), block what comes.
        for v in &old_all {
            if !old_spec.accept && (inst.spec.accept || !new_all.contains(v)) {
                self.actions.push_back(block_action(&old_spec, v, false));
            }
        }
        for v in &old_all {
            if !new_all.contains(v) {
                self.actions.push_back(Action::DelVip {
                    instance: inst.spec.name.clone(),
                    ifname: dev(v, &old_if),
                    vip: v.clone(),
                });
            }
        }
        let mut added = false;
        for v in &new_all {
            if !old_all.contains(v) {
                added = true;
                self.actions.push_back(Action::AddVip {
                    instance: inst.spec.name.clone(),
                    ifname: dev(v, inst.spec.vip_ifname()),
                    vip: v.clone(),
                });
            }
        }
        for v in &new_all {
            if !inst.spec.accept && (old_spec.accept || !old_all.contains(v)) {
                self.actions.push_back(block_action(&inst.spec, v, true));
            }
        }
        // Routes follow the addresses: drop the ones gone from the config, then (re-)add every
        // configured one. keepalived compat: all are re-added, because the kernel silently
        // drops routes tied to a removed VIP; an existing one answers EEXIST (benign).
        for r in &old_routes {
            if !inst.spec.virtual_routes.contains(r) {
                self.actions.push_back(Action::DelRoute {
                    instance: inst.spec.name.clone(),
                    route: r.clone(),
                });
            }
        }
        for r in &inst.spec.virtual_routes {
            self.actions.push_back(Action::AddRoute {
                instance: inst.spec.name.clone(),
                route: r.clone(),
            });
        }
        // Rules: the removed ones go, the new ones come (unchanged rules stay in place).
        for r in &old_rules {
            if !inst.spec.virtual_rules.contains(r) {
                self.actions.push_back(Action::DelRule {
                    instance: inst.spec.name.clone(),
                    rule: r.clone(),
                });
            }
        }
        for r in &inst.spec.virtual_rules {
            if !old_rules.contains(r) {
                self.actions.push_back(Action::AddRule {
                    instance: inst.spec.name.clone(),
                    rule: r.clone(),
                });
            }
        }
        if added {
            // keepalived compat (2.3.2+): GARPs for every VIP after a reload added some.
            let g = inst.spec.garp;
            for _ in 0..g.master_repeat {
                for v in &new_all {
                    self.actions.push_back(Action::SendGarp {
                        ifname: dev(v, inst.spec.vip_ifname()),
                        addr: v.addr,
                    });
                }
            }
            if g.master_delay > Duration::ZERO && g.master_repeat > 0 {
                inst.timers
                    .set(super::timer::Timer::GarpSecond, now + g.master_delay);
            }
        }
    }

    fn shutdown(&mut self, now: Instant, release_vips: bool) {
        info!("Stopping");
        for inst in &mut self.instances {
            inst.shutdown(now, release_vips, &mut self.actions);
        }
        // keepalived compat: the VMACs are deleted at shutdown, kept with -V (like the VIPs).
        if release_vips {
            for inst in &self.instances {
                if let Some(v) = &inst.spec.vmac {
                    self.actions.push_back(Action::DeleteVmac {
                        instance: inst.spec.name.clone(),
                        name: v.name.clone(),
                    });
                }
            }
        }
        for g in &self.groups {
            let n = group_notification(&g.spec, NotifyState::Stop);
            self.actions.push_back(Action::Notify(n));
        }
        // keepalived compat: static items go after the instances' VIPs, even with -V.
        static_actions(&self.spec.statics, false, &mut self.actions);
        // keepalived compat: queued GARPs are dropped at shutdown.
        self.garp_queues.clear();
        self.stopped = true;
    }

    // ------------------------------------------------------------ dumps

    /// SIGUSR2: keepalived 2.2.7's `keepalived.stats`.
    pub fn dump_stats(&self) -> String {
        let mut out = String::new();
        for i in &self.instances {
            i.stats.write_stats_block(&i.spec.name, &mut out);
        }
        out
    }

    fn epoch_secs(&self, t: Instant) -> String {
        let us = t.as_micros() as i128 + i128::from(self.epoch_offset_us);
        let us = us.max(0);
        format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
    }

    /// Signal 36: keepalived's `keepalived.json` (json_version 1: an array of
    /// `{"data": {...}, "stats": {...}}`; json_version 2: `{"vrrp": [...]}`).
    pub fn dump_json(&self, _now: Instant) -> String {
        let mut o = String::from("[");
        for (n, i) in self.instances.iter().enumerate() {
            if n > 0 {
                o.push(',');
            }
            let s = &i.spec;
            let b = |x: bool| if x { 1 } else { 0 };
            let g = s.garp;
            let vips: Vec<String> = s
                .vips
                .iter()
                .map(|v| json_str(&vip_string(v, s.vip_ifname(), i.vipset)))
                .collect();
            let evips: Vec<String> = s
                .excluded_vips
                .iter()
                .map(|v| json_str(&vip_string(v, s.vip_ifname(), i.vipset)))
                .collect();
            let want = if i.want_master {
                2
            } else {
                i.state.as_number()
            };
            let _ = write!(
                o,
                "{{\"data\":{{\"iname\":{},\"dont_track_primary\":{},\"skip_check_adv_addr\":{},\"strict_mode\":{},\"vmac_ifname\":{},\"ifp_ifname\":{},\"master_priority\":{},\"last_transition\":{},\"garp_delay\":{},\"garp_refresh\":{},\"garp_rep\":{},\"garp_refresh_rep\":{},\"garp_lower_prio_delay\":{},\"garp_lower_prio_rep\":{},\"lower_prio_no_advert\":{},\"higher_prio_send_advert\":{},\"vrid\":{},\"base_priority\":{},\"effective_priority\":{},\"vipset\":{},\"promote_secondaries\":{},\"adver_int\":{},\"master_adver_int\":{},\"accept\":{},\"nopreempt\":{},\"preempt_delay\":{},\"state\":{},\"wantstate\":{},\"version\":{},\"smtp_alert\":{},\"notify_deleted\":{},\"vips\":[{}]",
                json_str(&s.name),
                b(s.dont_track_primary),
                b(s.skip_check_adv_addr),
                u8::from(s.strict),
                json_str(s.vmac.as_ref().map_or("", |v| v.name.as_str())),
                json_str(&s.interface),
                i.master_priority,
                self.epoch_secs(i.last_transition),
                g.master_delay.as_micros() / 1_000_000,
                g.master_refresh.as_micros() / 1_000_000,
                g.master_repeat,
                g.master_refresh_repeat,
                g.lower_prio_delay.as_micros() / 1_000_000,
                g.lower_prio_repeat,
                b(s.lower_prio_no_advert),
                b(s.higher_prio_send_advert),
                s.vrid,
                s.priority,
                i.priority,
                i.vipset,
                s.promote_secondaries,
                secs_num(s.advert_int.to_duration()),
                secs_num(i.master_adver_int.to_duration()),
                b(s.accept),
                s.nopreempt,
                secs_num(s.preempt_delay),
                i.state.as_number(),
                want,
                match s.version {
                    Version::V2 => 2,
                    Version::V3 => 3,
                },
                s.notify.smtp.enabled,
                s.notify.notify_deleted,
                vips.join(","),
            );
            if !evips.is_empty() {
                let _ = write!(o, ",\"evips\":[{}]", evips.join(","));
            }
            let tracked: Vec<String> = s
                .track_scripts
                .iter()
                .filter_map(|t| self.spec.scripts.iter().find(|sc| sc.name == t.name))
                .map(|sc| json_str(&quoted_cmd(&sc.cmd.argv)))
                .collect();
            if !tracked.is_empty() {
                let _ = write!(o, ",\"track_script\":[{}]", tracked.join(","));
            }
            match s.auth {
                Auth::None => {}
                Auth::Pass(p) => {
                    let _ = write!(
                        o,
                        ",\"auth_type\":1,\"auth_data\":{}",
                        json_str(&password(&p))
                    );
                }
                Auth::Ah(_) => o.push_str(",\"auth_type\":2"),
            }
            o.push_str("},\"stats\":");
            i.stats.write_json(&mut o);
            o.push('}');
        }
        o.push(']');
        if self.spec.globals.json_version >= 2 {
            // json_version 2: the same array under a "vrrp" key.
            o = format!("{{\"vrrp\":{o}}}");
        }
        o
    }

    /// SIGUSR1: `keepalived.data`, laid out like keepalived 2.2.7's VRRP sections (the keys
    /// exporters parse: `VRRP Instance = `, `State`, `Wantstate`, `Interface`,
    /// `Gratuitous ARP delay`, `Virtual Router ID`, `Virtual IP (n):`, `VRRP Script = `,
    /// `Status`, `State`). keepalived does not promise a stable format; neither do we.
    pub fn dump_data(&self, now: Instant) -> String {
        self.dump_data_with(now, &[])
    }

    /// The SIGUSR1 data dump, with the script checker's view of each `vrrp_script` (scripts
    /// missing from `scripts` are shown from the results the core has received).
    pub fn dump_data_with(&self, now: Instant, scripts: &[ScriptDumpInfo]) -> String {
        let mut o = String::from("------< VRRP Topology >------\n");
        for i in &self.instances {
            let s = &i.spec;
            let _ = writeln!(o, " VRRP Instance = {}", s.name);
            let _ = writeln!(
                o,
                "   VRRP Version = {}",
                if s.version == Version::V2 { 2 } else { 3 }
            );
            let _ = writeln!(o, "   State = {}", i.state);
            let want = if i.want_master {
                State::Master
            } else {
                i.state
            };
            let _ = writeln!(o, "   Wantstate = {want}");
            let _ = writeln!(
                o,
                "   Number of interface and track script faults = {}",
                i.faults.len()
            );
            for f in &i.faults {
                let _ = writeln!(o, "     {f}");
            }
            let _ = writeln!(
                o,
                "   Last transition = {} ({})",
                self.epoch_secs(i.last_transition),
                self.date(i.last_transition)
            );
            if let Some(t) = i.timers.next_timeout() {
                let _ = writeln!(
                    o,
                    "   Read timeout = {} ({})",
                    self.epoch_secs(t),
                    self.date(t)
                );
            }
            let _ = writeln!(
                o,
                "   Master down timer = {} usecs",
                i.master_down_interval().as_micros()
            );
            let _ = writeln!(o, "   Interface = {}", s.interface);
            if let Some(src) = i.src {
                let from = if s.unicast_src.is_some() || s.mcast_src.is_some() {
                    " (from configuration)"
                } else {
                    ""
                };
                let _ = writeln!(o, "   Using src_ip = {src}{from}");
            }
            if !s.is_unicast() {
                let _ = writeln!(o, "   Multicast address {}", s.mcast_dst);
            }
            let g = s.garp;
            let _ = writeln!(
                o,
                "   Gratuitous ARP delay = {}",
                g.master_delay.as_micros() / 1_000_000
            );
            let _ = writeln!(o, "   Gratuitous ARP repeat = {}", g.master_repeat);
            let _ = writeln!(
                o,
                "   Gratuitous ARP refresh = {}",
                g.master_refresh.as_micros() / 1_000_000
            );
            let _ = writeln!(
                o,
                "   Gratuitous ARP refresh repeat = {}",
                g.master_refresh_repeat
            );
            let _ = writeln!(
                o,
                "   Gratuitous ARP lower priority delay = {}",
                g.lower_prio_delay.as_micros() / 1_000_000
            );
            let _ = writeln!(
                o,
                "   Gratuitous ARP lower priority repeat = {}",
                g.lower_prio_repeat
            );
            let _ = writeln!(o, "   Down timer adverts = {}", s.down_timer_adverts);
            let tf = |b: bool| if b { "true" } else { "false" };
            let _ = writeln!(
                o,
                "   Send advert after receive lower priority advert = {}",
                tf(!s.lower_prio_no_advert)
            );
            let _ = writeln!(
                o,
                "   Send advert after receive higher priority advert = {}",
                tf(s.higher_prio_send_advert)
            );
            let _ = writeln!(o, "   Virtual Router ID = {}", s.vrid);
            let _ = writeln!(o, "   Priority = {}", s.priority);
            let _ = writeln!(o, "   Effective priority = {}", i.priority);
            if let (Some(m), State::Backup) = (i.master_addr, i.state) {
                let _ = writeln!(o, "   Master router = {m}");
                let _ = writeln!(o, "   Master priority = {}", i.master_priority);
            }
            let _ = writeln!(
                o,
                "   Advert interval = {}",
                secs_text(s.advert_int.to_duration())
            );
            if i.master_adver_int != s.advert_int {
                let _ = writeln!(
                    o,
                    "   Master advert interval = {}",
                    secs_text(i.master_adver_int.to_duration())
                );
            }
            let en = |b: bool| if b { "enabled" } else { "disabled" };
            let _ = writeln!(o, "   Accept = {}", en(s.accept));
            let _ = writeln!(o, "   Preempt = {}", en(!s.nopreempt));
            if s.preempt_delay > Duration::ZERO {
                let _ = writeln!(o, "   Preempt delay = {}", secs_text(s.preempt_delay));
            }
            let _ = writeln!(o, "   Promote_secondaries = {}", en(s.promote_secondaries));
            match s.auth {
                Auth::None => {}
                Auth::Pass(p) => {
                    let _ = writeln!(o, "   Authentication type = SIMPLE_PASSWORD");
                    let _ = writeln!(o, "   Password = {}", password(&p));
                }
                Auth::Ah(_) => {
                    let _ = writeln!(o, "   Authentication type = IPSEC_AH");
                }
            }
            let _ = writeln!(o, "   Virtual IP ({}):", s.vips.len());
            for v in &s.vips {
                let _ = writeln!(o, "     {}", vip_string(v, s.vip_ifname(), i.vipset));
            }
            if !s.excluded_vips.is_empty() {
                let _ = writeln!(o, "   Virtual IP Excluded ({}):", s.excluded_vips.len());
                for v in &s.excluded_vips {
                    let _ = writeln!(o, "     {}", vip_string(v, s.vip_ifname(), i.vipset));
                }
            }
            if s.is_unicast() {
                let _ = writeln!(o, "   Unicast TTL = {}", s.unicast_ttl);
                let _ = writeln!(
                    o,
                    "   Check unicast src : {}",
                    if s.check_unicast_src { "yes" } else { "no" }
                );
                let _ = writeln!(o, "   Unicast Peer :");
                for p in &s.unicast_peers {
                    let _ = writeln!(
                        o,
                        "     {} min_ttl {} max_ttl {}",
                        p.addr,
                        p.min_ttl.unwrap_or(0),
                        p.max_ttl.unwrap_or(255)
                    );
                }
                // keepalived's words: no (current form), config (`old_unicast_checksum`),
                // never, auto (a pre-1.3.6 peer was detected).
                let compat = match (s.old_unicast_checksum, i.old_checksum()) {
                    (OldUnicastChecksum::Always, _) => "config",
                    (OldUnicastChecksum::Never, _) => "never",
                    (OldUnicastChecksum::Auto, true) => "auto",
                    (OldUnicastChecksum::Auto, false) => "no",
                };
                let _ = writeln!(o, "   Unicast checksum compatibility = {compat}");
            }
            if !s.track_interfaces.is_empty() {
                let _ = writeln!(o, "   Tracked interfaces :");
                for t in &s.track_interfaces {
                    let _ = writeln!(
                        o,
                        "     {} weight {}{}",
                        t.name,
                        t.weight,
                        if t.reverse { " reverse" } else { "" }
                    );
                }
            }
            for (title, list) in [
                ("scripts", &s.track_scripts),
                ("files", &s.track_files),
                ("processes", &s.track_processes),
            ] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(o, "   Tracked {title} :");
                for t in list {
                    let _ = writeln!(
                        o,
                        "     {} weight {}{}",
                        t.name,
                        t.weight,
                        if t.reverse { " reverse" } else { "" }
                    );
                }
            }
            let _ = writeln!(
                o,
                "   Notify deleted = {}",
                if s.notify.notify_deleted {
                    "Deleted"
                } else {
                    "Fault"
                }
            );
            let _ = writeln!(
                o,
                "   Notify priority changes = {}",
                tf(i.notify_priority_changes)
            );
            let _ = writeln!(
                o,
                "   Counters: received {} sent {} became master {} released master {}",
                i.stats.advert_rcvd,
                i.stats.advert_sent,
                i.stats.become_master,
                i.stats.release_master
            );
            // keepalived keeps these for SNMP only; shown here so they are visible somewhere.
            let _ = writeln!(
                o,
                "   Errors: checksum {} version {}",
                i.stats.chk_err, i.stats.vers_err
            );
            let _ = now;
        }
        if !self.groups.is_empty() {
            o.push_str("------< VRRP Sync groups >------\n");
            for g in &self.groups {
                let _ = writeln!(o, " VRRP Sync Group = {}, {}", g.spec.name, g.state);
                let _ = writeln!(o, "   VRRP member instances = {}", g.spec.members.len());
                for m in &g.spec.members {
                    let _ = writeln!(o, "     {m}");
                }
            }
        }
        if !self.spec.scripts.is_empty() {
            o.push_str("------< VRRP Scripts >------\n");
            for sc in &self.spec.scripts {
                let _ = writeln!(o, " VRRP Script = {}", sc.name);
                let _ = writeln!(o, "   Command = {}", quoted_cmd(&sc.cmd.argv));
                let _ = writeln!(o, "   Interval = {}", secs_text(sc.interval));
                let _ = writeln!(o, "   Timeout = {}", secs_text(sc.timeout));
                let _ = writeln!(
                    o,
                    "   Weight = {}{}",
                    sc.weight,
                    if sc.reverse { " reverse" } else { "" }
                );
                let _ = writeln!(o, "   Rise = {}", sc.rise);
                let _ = writeln!(o, "   Fall = {}", sc.fall);
                let run = scripts.iter().find(|r| r.name == sc.name);
                let status = match (run, self.trackers.scripts.get(&sc.name)) {
                    (Some(r), _) => r.status,
                    (None, None) => "INIT",
                    (None, Some(true)) => "GOOD",
                    (None, Some(false)) => "BAD",
                };
                let _ = writeln!(o, "   Status = {status}");
                let _ = writeln!(o, "   Script uid:gid = {}:{}", sc.cmd.uid, sc.cmd.gid);
                let _ = writeln!(o, "   Tracking instances :");
                self.dump_trackers_of(&mut o, &sc.name, |l| l.scripts);
                if let Some(r) = run {
                    let _ = writeln!(o, "   State = {}", r.state);
                    let _ = writeln!(
                        o,
                        "   Rise/fall counter = {} (GOOD from {}, of {})",
                        r.counter,
                        r.rise,
                        r.rise.saturating_add(r.fall).saturating_sub(1)
                    );
                    if let Some(l) = &r.last_result {
                        let _ = writeln!(o, "   Last result = {l}");
                    }
                }
            }
        }
        if !self.spec.track_files.is_empty() {
            o.push_str("------< VRRP Track files >------\n");
            for f in &self.spec.track_files {
                let _ = writeln!(o, " VRRP Track file = {}", f.name);
                let _ = writeln!(o, "   File = {}", f.path);
                match self.trackers.files.get(&f.name) {
                    Some(v) => {
                        let _ = writeln!(o, "   Status = {v}");
                    }
                    None => o.push_str("   Status = not read yet\n"),
                }
                let _ = writeln!(
                    o,
                    "   Weight = {}{}",
                    f.weight,
                    if f.reverse { " reverse" } else { "" }
                );
                let _ = writeln!(o, "   Tracking instances :");
                self.dump_trackers_of(&mut o, &f.name, |l| l.files);
            }
        }
        if !self.spec.track_processes.is_empty() {
            o.push_str("------< VRRP Track processes >------\n");
            for p in &self.spec.track_processes {
                let _ = writeln!(o, " VRRP Track process = {}", p.name);
                let _ = writeln!(o, "   Process = {}", p.process);
                if !p.params.is_empty() {
                    let _ = writeln!(o, "   Parameters = {}", p.params.join(" "));
                }
                match p.param_match {
                    ParamMatch::None => {}
                    ParamMatch::Exact => o.push_str("   Param match\n"),
                    ParamMatch::Partial => o.push_str("   Param match = partial\n"),
                    ParamMatch::Initial => o.push_str("   Param match = initial\n"),
                }
                let _ = writeln!(o, "   Min processes = {}", p.quorum);
                if let Some(m) = p.quorum_max {
                    let _ = writeln!(o, "   Max processes = {m}");
                }
                match self.trackers.processes.get(&p.name) {
                    Some(&n) => {
                        let up = n >= p.quorum && p.quorum_max.is_none_or(|m| n <= m);
                        let _ = writeln!(o, "   Current processes = {n}");
                        let _ = writeln!(o, "   Have quorum = {up}");
                    }
                    None => o.push_str("   Current processes = not counted yet\n"),
                }
                let _ = writeln!(
                    o,
                    "   Weight = {}{}",
                    p.weight,
                    if p.reverse { " reverse" } else { "" }
                );
                let _ = writeln!(o, "   Terminate delay = {}", secs_text(p.terminate_delay));
                let _ = writeln!(o, "   Fork delay = {}", secs_text(p.fork_delay));
                let _ = writeln!(o, "   Full command = {}", p.full_command);
                let _ = writeln!(o, "   Tracking instances :");
                self.dump_trackers_of(&mut o, &p.name, |l| l.processes);
            }
        }
        o
    }

    /// `     INSTANCE, weight W` for every instance that tracks `name` in the list `pick`
    /// selects, directly or through its sync group.
    fn dump_trackers_of(
        &self,
        o: &mut String,
        name: &str,
        pick: for<'a> fn(&TrackLists<'a>) -> &'a [TrackRef],
    ) {
        for i in &self.instances {
            let own = TrackLists::of_instance(&i.spec);
            let group = self
                .group_of(&i.spec.name)
                .map(|g| TrackLists::of_group(&self.groups[g].spec));
            let lists = std::iter::once(own).chain(group);
            for l in lists {
                for t in pick(&l).iter().filter(|t| t.name == name) {
                    let _ = writeln!(o, "     {}, weight {}", i.spec.name, t.weight);
                }
            }
        }
    }

    /// `Wed Nov 25 03:35:51.753234 2026` (UTC: the core has no time zone).
    fn date(&self, t: Instant) -> String {
        let us = (t.as_micros() as i128 + i128::from(self.epoch_offset_us)).max(0);
        let secs = (us / 1_000_000) as i64;
        let frac = (us % 1_000_000) as i64;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {} {:2} {:02}:{:02}:{:02}.{:06} {}",
            WD[days.rem_euclid(7) as usize],
            MON[(m - 1) as usize],
            d,
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            frac,
            y
        )
    }
}

/// `1 sec`, `0.5 sec` as keepalived prints intervals.
fn secs_text(d: Duration) -> String {
    format!("{} sec", secs_num(d))
}

fn quoted_cmd(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_notification(g: &SyncGroupSpec, state: NotifyState) -> Notification {
    let n = &g.notify;
    let specific = match state {
        NotifyState::Master => n.master.as_ref(),
        NotifyState::Backup => n.backup.as_ref(),
        NotifyState::Fault => n.fault.as_ref(),
        NotifyState::Stop => n.stop.as_ref(),
        _ => None,
    };
    let mut scripts: Vec<_> = specific.into_iter().cloned().collect();
    if let Some(gen_) = &n.generic {
        let mut c = gen_.clone();
        c.argv.extend([
            "GROUP".to_string(),
            g.name.clone(),
            state.to_string(),
            "0".to_string(),
        ]);
        scripts.push(c);
    }
    Notification {
        kind: NotifyKind::Group,
        name: g.name.clone(),
        state,
        priority: 0,
        scripts,
        in_order: n.in_order,
        mail: n.smtp.wants(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_dates_match_keepalived() {
        let mut n = Node::new(NodeSpec::default(), Instant(0));
        // keepalived 2.2.7: "1795577751.753234 (Wed Nov 25 03:35:51.753234 2026)".
        n.set_epoch_offset(1_795_577_751_753_234);
        assert_eq!(n.epoch_secs(Instant(0)), "1795577751.753234");
        assert_eq!(n.date(Instant(0)), "Wed Nov 25 03:35:51.753234 2026");
        n.set_epoch_offset(0);
        assert_eq!(n.date(Instant(0)), "Thu Jan  1 00:00:00.000000 1970");
        assert_eq!(secs_text(Duration::from_millis(500)), "0.5 sec");
        assert_eq!(json_str("a/b\"c"), "\"a\\/b\\\"c\"");
    }
}
