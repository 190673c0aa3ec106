//! The resolved, validated configuration the core runs on.
//!
//! This is the contract between `config/` (which parses keepalived.conf, validates it, applies
//! keepalived's defaults and clamping, and produces a [`NodeSpec`]) and `vrrp::Node` (which runs
//! it). Every value here is final: globals are already folded into each instance, weights of
//! `track_script` overrides are already resolved, disabled scripts are already removed, and
//! strict mode has already rewritten what it rewrites. Nothing here needs a syscall to
//! interpret; interface names are resolved to indexes by the daemon.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::time::{Centis, Duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Family {
    #[default]
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Version {
    #[default]
    V2,
    V3,
}

/// Whole-node configuration.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NodeSpec {
    pub globals: GlobalSpec,
    pub instances: Vec<InstanceSpec>,
    /// `vrrp_script` blocks that are tracked by at least one instance or group and passed the
    /// security checks.
    pub scripts: Vec<ScriptSpec>,
    pub track_files: Vec<TrackFileSpec>,
    pub track_processes: Vec<TrackProcessSpec>,
    pub sync_groups: Vec<SyncGroupSpec>,
    /// `static_ipaddress` / `static_routes` / `static_rules`: installed at start whatever the
    /// VRRP states, removed at shutdown.
    pub statics: StaticSpec,
}

/// The node-wide static items (reference §2.2 step 4, §3.11, §4.15).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StaticSpec {
    /// Every address has its `dev` resolved (the line's `dev`, else `default_interface`).
    pub addresses: Vec<VipSpec>,
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
}

impl StaticSpec {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

/// Pacing of GARPs (IPv4) and unsolicited NAs (IPv6) on one interface (0 = none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GarpDelay {
    pub garp_interval: Duration,
    pub gna_interval: Duration,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct GlobalSpec {
    pub router_id: Option<String>,
    /// `vrrp_notify_fifo` / `notify_fifo`.
    pub notify_fifo: Option<String>,
    pub notify_fifo_script: Option<ScriptCmd>,
    pub notify_priority_changes: bool,
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `vrrp_startup_delay`.
    pub startup_delay: Duration,
    /// `vrrp_garp_interval` / `vrrp_gna_interval` pacing (0 = none).
    pub garp_interval: Duration,
    pub gna_interval: Duration,
    /// `garp_group`: interfaces with their own pacing (replacing both global intervals).
    pub garp_groups: std::collections::BTreeMap<String, GarpDelay>,
    /// `state_dump_file` directory/file override for SIGUSR1 dumps.
    pub state_dump_file: Option<String>,
    pub json_version: u8,
    /// How the daemon process itself is scheduled (`vrrp_priority`, `vrrp_rt_priority`, ...).
    pub sched: SchedSpec,
    /// `umask` for files the daemon creates (pidfiles, dumps, FIFO, log file); `None` =
    /// keepalived's default IXUSR|IRWXG|IRWXO (0177). The `-u` option overrides it.
    pub umask: Option<u32>,
    /// E-mail alerts: server, sender, recipients (None: no `smtp_server` or no
    /// `notification_email`, so no mail whatever `smtp_alert` says).
    pub smtp: Option<crate::mail::MailConfig>,
    /// The nftables firewall of no accept mode.
    pub nftables: NftablesSpec,
    /// `log_unknown_vrids`: an advert for a VRID no instance has on the receiving interface
    /// is logged (INFO) instead of only counted in debug output.
    pub log_unknown_vrids: bool,
    /// The process name (`comm`) to set at start (`None`: keep the executable's name); see
    /// `config::complete::process_name`.
    pub process_name: Option<String>,
    /// `startup_script`: run before VRRP starts, waited for up to `startup_script_timeout`.
    pub startup_script: Option<ScriptCmd>,
    pub startup_script_timeout: Duration,
    /// `shutdown_script`: run after VRRP has stopped, waited for up to its timeout.
    pub shutdown_script: Option<ScriptCmd>,
    pub shutdown_script_timeout: Duration,
    /// Top-level `net_namespace NAME`: the daemon runs in network namespace
    /// /run/netns/NAME (entered before any socket is opened).
    pub net_namespace: Option<String>,
    /// Top-level `instance NAME` and `use_pid_dir`: the default pidfile names (see
    /// [`PidPaths`]).
    pub instance: Option<String>,
    pub use_pid_dir: bool,
}

/// keepalived 2.2.7's default pidfiles (observed): `/run/keepalived.pid` and
/// `/run/vrrp.pid` (Debian's 2.2.7, observed; not `keepalived_vrrp.pid`); with `use_pid_dir`, `instance NAME` or `net_namespace NS` they
/// move into `/run/keepalived/` (`/run/keepalived/NS/` with a namespace) and are named
/// `keepalived.pid` and `vrrp.pid`, with `_NAME` before `.pid` for an instance. `-p` / `-r`
/// override each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidPaths {
    /// The directories to create (outermost first) and remove at exit when empty.
    pub dirs: Vec<String>,
    pub parent: String,
    pub vrrp: String,
}

impl GlobalSpec {
    pub fn pid_paths(&self, pid: Option<&str>, vrrp_pid: Option<&str>) -> PidPaths {
        let in_dir = self.use_pid_dir || self.instance.is_some() || self.net_namespace.is_some();
        if !in_dir {
            return PidPaths {
                dirs: Vec::new(),
                parent: pid.unwrap_or("/run/keepalived.pid").to_string(),
                vrrp: vrrp_pid.unwrap_or("/run/vrrp.pid").to_string(),
            };
        }
        let mut dirs = vec!["/run/keepalived".to_string()];
        if let Some(ns) = &self.net_namespace {
            dirs.push(format!("/run/keepalived/{ns}"));
        }
        let dir = dirs.last().cloned().unwrap_or_default();
        let suffix = self
            .instance
            .as_ref()
            .map(|i| format!("_{i}"))
            .unwrap_or_default();
        let parent = pid.map_or_else(|| format!("{dir}/keepalived{suffix}.pid"), String::from);
        let vrrp = vrrp_pid.map_or_else(|| format!("{dir}/vrrp{suffix}.pid"), String::from);
        // keepalived 2.2.7 makes the namespace's directory even when -p and -r name both
        // files elsewhere (it is mounted over /run/keepalived in keepalived's mount namespace).
        if pid.is_some() && vrrp_pid.is_some() && self.net_namespace.is_none() {
            dirs.clear();
        }
        PidPaths { dirs, parent, vrrp }
    }
}

/// `nftables [TABLE]` (default `keepalived`), `nftables_priority` (default -1: just before
/// the filter hook's default chains), `nftables_counters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftablesSpec {
    pub table: String,
    pub priority: i32,
    pub counters: bool,
}

impl Default for NftablesSpec {
    fn default() -> Self {
        NftablesSpec {
            table: "keepalived".to_string(),
            priority: -1,
            counters: false,
        }
    }
}

/// `vrrp_priority`, `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_no_swap`,
/// `vrrp_cpu_affinity`: scheduling of the VRRP process (script children are not affected).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SchedSpec {
    /// Nice value, -20..=19.
    pub nice: Option<i32>,
    /// SCHED_RR priority, 1..=99.
    pub rt_priority: Option<u8>,
    /// RLIMIT_RTTIME in microseconds (keepalived's default 10000 when rt_priority is set).
    pub rlimit_rttime_us: Option<u64>,
    /// mlockall(MCL_CURRENT | MCL_FUTURE).
    pub no_swap: bool,
    /// CPUs the process may run on (empty = unchanged).
    pub cpu_affinity: Vec<u32>,
}

/// v2 authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    None,
    /// `auth_type PASS`: the password, NUL-padded to 8 bytes (keepalived truncates at 8).
    Pass([u8; 8]),
    /// `auth_type AH` (VRRPv2 over IPv4): an IPsec Authentication Header keyed with
    /// `auth_pass`, zero padded to 8 bytes (see [`super::ah`]).
    Ah([u8; 8]),
}

/// How a VRRPv3-over-IPv4 checksum is computed (keepalived compat: pseudo-header by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OldUnicastChecksum {
    /// Detect a pre-1.3.6 peer and switch ("Setting unicast VRRPv3 checksum to old version").
    #[default]
    Auto,
    /// `old_unicast_checksum`: always use the multicast group as pseudo-header destination.
    Always,
    /// `old_unicast_checksum never`.
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerSpec {
    pub addr: IpAddr,
    /// `min_ttl` / `max_ttl`; either being set enables source + TTL checking.
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded` (reference §3.8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VipSpec {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// `dev`; `None` = the instance's interface.
    pub dev: Option<String>,
    /// `brd` (IPv4 only), already resolved from `+`/`-`.
    pub broadcast: Option<Ipv4Addr>,
    /// rtnetlink scope number (RT_SCOPE_UNIVERSE = 0 "global", 200 site, 253 link, 254 host).
    pub scope: u8,
    pub label: Option<String>,
    pub peer: Option<(IpAddr, u8)>,
    pub no_track: bool,
    pub noprefixroute: bool,
    pub nodad: bool,
    pub home: bool,
    pub mngtmpaddr: bool,
    pub autojoin: bool,
    /// IPv6 preferred lifetime in seconds; `None` = forever.
    pub preferred_lft: Option<u32>,
}

impl VipSpec {
    /// A VIP with keepalived's defaults: host prefix, scope global, no options.
    pub fn new(addr: IpAddr) -> Self {
        VipSpec {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            dev: None,
            broadcast: None,
            scope: 0,
            label: None,
            peer: None,
            no_track: false,
            noprefixroute: false,
            nodad: false,
            home: false,
            mngtmpaddr: false,
            autojoin: false,
            preferred_lft: None,
        }
    }
}

/// A command to run: already split by keepalived's shell-like rules (argv[0] is the program,
/// canonicalised), with the user it runs as resolved to numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ScriptCmd {
    pub argv: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (empty unless `:group` / `set_supplementary_groups`).
    pub groups: Vec<u32>,
    /// Run through `/bin/sh -c` because the file is not a directly executable program.
    pub via_shell: bool,
}

/// `vrrp_script NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScriptSpec {
    pub name: String,
    pub cmd: ScriptCmd,
    pub interval: Duration,
    /// Already defaulted to `interval` when not configured.
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub weight: i32,
    pub reverse: bool,
    pub init_fail: bool,
}

/// `track_file NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TrackFileSpec {
    pub name: String,
    pub path: String,
    pub weight: i32,
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: (value, overwrite).
    pub init_file: Option<(i64, bool)>,
}

/// How the parameters of a tracked process (after argv\[0\] of /proc/PID/cmdline) are
/// compared with the configured ones (keepalived.conf(5) `vrrp_track_process`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ParamMatch {
    /// No parameters configured and no `param_match`: parameters are not looked at.
    #[default]
    None,
    /// Parameters configured without `param_match`, or a bare `param_match`: the parameters
    /// must be exactly the configured ones (none at all when none are configured).
    Exact,
    /// `param_match partial`: the configured parameters are the first ones, each matching
    /// completely; more may follow.
    Partial,
    /// `param_match initial`: as `Partial`, but the last configured parameter may be the start
    /// of the actual one.
    Initial,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TrackProcessSpec {
    pub name: String,
    pub process: String,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    /// Compare `process` with argv\[0\] of /proc/PID/cmdline instead of /proc/PID/comm.
    /// keepalived compat: implied by parameters and by any `param_match`.
    pub full_command: bool,
    pub weight: i32,
    pub reverse: bool,
    /// Minimum number of matching processes for "up"; 0 with `quorum_max 0`.
    pub quorum: u32,
    /// Maximum number for "up" (`None` = unlimited; `Some(0)` = up only while none runs).
    pub quorum_max: Option<u32>,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
}

/// What an instance or group tracks, with the weight that applies to it (override resolved).
/// `weight == 0` means a failure puts the instance into FAULT.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackRef {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Notification commands of an instance or sync group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NotifySpec {
    pub master: Option<ScriptCmd>,
    pub backup: Option<ScriptCmd>,
    pub fault: Option<ScriptCmd>,
    pub stop: Option<ScriptCmd>,
    pub deleted: Option<ScriptCmd>,
    /// Generic `notify`: gets `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub generic: Option<ScriptCmd>,
    pub master_rx_lower_pri: Option<ScriptCmd>,
    /// `notify_deleted` given (DELETED instead of FAULT when removed by reload).
    pub notify_deleted: bool,
    pub priority_changes: bool,
    /// `notify_in_order` (rkeepalived extension): the daemon runs these scripts one after
    /// another, each after the previous exited, instead of fire-and-forget.
    pub in_order: bool,
    /// `smtp_alert` for this instance or sync group, globals folded in.
    pub smtp: MailPolicy,
}

/// When an instance or sync group sends an e-mail alert (`smtp_alert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MailPolicy {
    /// keepalived compat: the owner's `smtp_alert`, else the global `smtp_alert_vrrp`, else
    /// the global `smtp_alert`, else off.
    pub enabled: bool,
    /// `no_email_faults`: no mail for entering FAULT.
    pub no_faults: bool,
}

impl MailPolicy {
    /// keepalived compat (2.2.7, observed): mails for entering MASTER, BACKUP (also the
    /// initial BACKUP) and FAULT; none for STOP (2.2.7 opens the connection at shutdown but
    /// exits before sending), priority changes or MASTER_RX_LOWER_PRI.
    pub fn wants(&self, state: super::NotifyState) -> bool {
        use super::NotifyState as S;
        self.enabled
            && match state {
                S::Master | S::Backup => true,
                S::Fault => !self.no_faults,
                _ => false,
            }
    }
}

/// GARP / unsolicited NA policy (reference §4.8), globals already folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpSpec {
    pub master_delay: Duration,
    pub master_repeat: u32,
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
    /// Zero = no periodic refresh.
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
}

impl Default for GarpSpec {
    fn default() -> Self {
        GarpSpec {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
        }
    }
}

/// `vrrp_instance NAME { ... }`, fully resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSpec {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub family: Family,
    pub version: Version,
    /// Base priority 1..=255 (255 = address owner).
    pub priority: u8,
    /// `state MASTER` was configured (or implied by priority 255).
    pub initial_master: bool,
    /// Advertisement interval. v2: a whole number of seconds (multiple of 100 centiseconds).
    pub advert_int: Centis,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub auth: Auth,
    pub vips: Vec<VipSpec>,
    pub excluded_vips: Vec<VipSpec>,
    /// `unicast_src_ip` (also marks the instance unicast-configured).
    pub unicast_src: Option<IpAddr>,
    pub mcast_src: Option<IpAddr>,
    /// Non-empty ⇒ unicast mode.
    pub unicast_peers: Vec<PeerSpec>,
    /// Multicast destination (default 224.0.0.18 / ff02::12, or `mcast_dst_ip`).
    pub mcast_dst: IpAddr,
    /// TTL / hop limit of sent unicast adverts (255 by default).
    pub unicast_ttl: u8,
    pub check_unicast_src: bool,
    pub v3_checksum_as_v2: bool,
    pub old_unicast_checksum: OldUnicastChecksum,
    pub garp: GarpSpec,
    pub down_timer_adverts: u8,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub owner_ignore_adverts: bool,
    pub skip_check_adv_addr: bool,
    pub dont_track_primary: bool,
    pub track_src_ip: bool,
    pub unicast_fault_no_peer: bool,
    /// Accept mode (keepalived default: on unless strict).
    pub accept: bool,
    /// `vrrp_strict` / `strict_mode` applied (its rewrites are already in the other fields;
    /// kept for the dumps).
    pub strict: bool,
    pub promote_secondaries: bool,
    pub track_interfaces: Vec<TrackRef>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
    pub notify: NotifySpec,
    /// Name of the sync group this instance belongs to.
    pub sync_group: Option<String>,
    /// `virtual_routes`: installed after the VIPs on MASTER, removed with them.
    pub virtual_routes: Vec<RouteSpec>,
    /// `virtual_rules`: installed after the routes on MASTER, removed with them.
    pub virtual_rules: Vec<RuleSpec>,
    /// `use_vmac [NAME]` (+ `vmac_xmit_base`): a macvlan on `interface` carrying the VIPs.
    pub vmac: Option<VmacSpec>,
}

/// `use_vmac [NAME]`: a macvlan (mode private) on the instance's interface with the virtual
/// router MAC (RFC 5798 §7.3), holding the VIPs that name no `dev`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// The link name (default `vrrp.<VRID>`).
    pub name: String,
    /// `vmac_xmit_base`: adverts are sent and received on the parent interface.
    pub xmit_base: bool,
}

/// RFC 5798 §7.3: the virtual router MAC, 00-00-5E-00-01-{VRID} (IPv4) or 00-00-5E-00-02-{VRID}
/// (IPv6).
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let f = match family {
        Family::V4 => 1,
        Family::V6 => 2,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// keepalived's default VMAC name: `vrrp.<VRID>`.
pub fn default_vmac_name(vrid: u8) -> String {
    format!("vrrp.{vrid}")
}

/// What a policy rule does (`fib_rule_hdr.action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RuleAction {
    /// Look up `table` (main when none is given, like `ip rule`).
    #[default]
    Table,
    Goto(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `virtual_rules` line (`ip rule` syntax, common keywords only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    pub v6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub priority: u32,
    pub table: Option<u32>,
    pub action: RuleAction,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub tos: Option<u8>,
    /// `not`: the selector is inverted.
    pub invert: bool,
    pub no_track: bool,
}

impl RuleSpec {
    /// An IPv4 rule at `priority` matching everything and looking up the main table.
    pub fn new(priority: u32) -> Self {
        RuleSpec {
            v6: false,
            from: None,
            to: None,
            priority,
            table: None,
            action: RuleAction::Table,
            iif: None,
            oif: None,
            fwmark: None,
            fwmask: None,
            tos: None,
            invert: false,
            no_track: false,
        }
    }
}

impl fmt::Display for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.priority)?;
        if self.invert {
            f.write_str("not ")?;
        }
        match self.from {
            Some((a, l)) => write!(f, "from {a}/{l}")?,
            None => f.write_str("from all")?,
        }
        if let Some((a, l)) = self.to {
            write!(f, " to {a}/{l}")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, " fwmark {m:#x}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        match self.action {
            RuleAction::Table => write!(f, " table {}", self.table.unwrap_or(254)),
            RuleAction::Goto(g) => write!(f, " goto {g}"),
            RuleAction::Blackhole => f.write_str(" blackhole"),
            RuleAction::Unreachable => f.write_str(" unreachable"),
            RuleAction::Prohibit => f.write_str(" prohibit"),
        }
    }
}

/// The kind of a route (`rtm_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RouteType {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

/// One `virtual_routes` line (`ip route` syntax, common keywords only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    pub src: Option<IpAddr>,
    pub scope: Option<u8>,
    pub table: Option<u32>,
    pub metric: Option<u32>,
    pub protocol: Option<u8>,
    pub kind: RouteType,
    pub onlink: bool,
    pub no_track: bool,
}

impl RouteSpec {
    /// A unicast route to `dst/prefix_len` with nothing else set.
    pub fn new(dst: IpAddr, prefix_len: u8) -> Self {
        RouteSpec {
            dst,
            prefix_len,
            gateway: None,
            dev: None,
            src: None,
            scope: None,
            table: None,
            metric: None,
            protocol: None,
            kind: RouteType::Unicast,
            onlink: false,
            no_track: false,
        }
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteType::Unicast => {}
            RouteType::Blackhole => f.write_str("blackhole ")?,
            RouteType::Unreachable => f.write_str("unreachable ")?,
            RouteType::Prohibit => f.write_str("prohibit ")?,
            RouteType::Throw => f.write_str("throw ")?,
        }
        write!(f, "{}/{}", self.dst, self.prefix_len)?;
        if let Some(g) = self.gateway {
            write!(f, " via {g}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}

impl InstanceSpec {
    /// An instance with keepalived's defaults on `interface`, VRID `vrid`, IPv4, VRRPv2.
    pub fn new(name: &str, interface: &str, vrid: u8) -> Self {
        InstanceSpec {
            name: name.to_string(),
            interface: interface.to_string(),
            vrid,
            family: Family::V4,
            version: Version::V2,
            priority: 100,
            initial_master: false,
            advert_int: Centis(100),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            auth: Auth::None,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            unicast_src: None,
            mcast_src: None,
            unicast_peers: Vec::new(),
            mcast_dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            unicast_ttl: 255,
            check_unicast_src: false,
            v3_checksum_as_v2: false,
            old_unicast_checksum: OldUnicastChecksum::Auto,
            garp: GarpSpec::default(),
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            skip_check_adv_addr: false,
            dont_track_primary: false,
            track_src_ip: false,
            unicast_fault_no_peer: false,
            accept: true,
            strict: false,
            promote_secondaries: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: NotifySpec::default(),
            sync_group: None,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            vmac: None,
        }
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// Where VIPs without `dev` go (and their GARP/NA): the VMAC if any, else `interface`.
    pub fn vip_ifname(&self) -> &str {
        self.vmac.as_ref().map_or(&self.interface, |v| &v.name)
    }

    /// Where adverts are sent and received: the VMAC unless `vmac_xmit_base`.
    pub fn xmit_ifname(&self) -> &str {
        match &self.vmac {
            Some(v) if !v.xmit_base => &v.name,
            _ => &self.interface,
        }
    }

    /// The MAC of this instance's VMAC, if it uses one.
    pub fn vmac_mac(&self) -> Option<[u8; 6]> {
        self.vmac
            .as_ref()
            .map(|_| virtual_mac(self.family, self.vrid))
    }
}

/// `vrrp_sync_group NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SyncGroupSpec {
    pub name: String,
    pub members: Vec<String>,
    pub notify: NotifySpec,
    pub tracking_weight: bool,
    pub track_interfaces: Vec<TrackRef>,
    pub track_scripts: Vec<TrackRef>,
    pub track_files: Vec<TrackRef>,
    pub track_processes: Vec<TrackRef>,
}
