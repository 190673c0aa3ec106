//! Typed model of the VRRP side of keepalived.conf, named with keepalived's keywords, filled
//! from the block tree with keepalived's per-keyword range checks and messages.

use std::collections::HashSet;
use std::net::IpAddr;

use super::diag::{Diags, Pos};
use super::lexer::Tok;
use super::tree::Stmt;
use crate::vrrp::spec::{ParamMatch, RouteSpec, RouteType, RuleAction, RuleSpec, VipSpec};

/// `user [[:]group]` of a script.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
    /// `:group` form: also set supplementary groups.
    pub supplementary: bool,
}

/// A command string before resolution: raw text, where it was, who runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCmd {
    pub text: String,
    pub pos: Pos,
    pub user: Option<ScriptUser>,
}

/// An interface name keepalived checks for existence while reading (a missing one is
/// "WARNING - interface NAME for WHAT doesn't exist" and is fatal for its VRRP side).
#[derive(Clone, Debug, PartialEq)]
pub struct IfRef {
    pub name: String,
    pub what: String,
    pub pos: Pos,
}

/// The device word after the last of `keys` on a route/rule line.
fn dev_ref(line: &Stmt, keys: &[&str], what: &str) -> Option<IfRef> {
    let i = line
        .args
        .iter()
        .rposition(|t| keys.contains(&t.text.as_str()))?;
    let t = line.args.get(i + 1)?;
    Some(IfRef {
        name: t.text.clone(),
        what: what.to_string(),
        pos: t.pos.clone(),
    })
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub script_user: Option<ScriptUser>,
    pub script_user_pos: Option<Pos>,
    pub enable_script_security: bool,
    /// keepalived compat: the first global script (startup/shutdown/fifo script) read before
    /// any `script_user` fixes the default script user at that point, and whether
    /// enable_script_security had been read by then.
    pub default_user_fixed_at: Option<(Pos, bool)>,
    pub set_supplementary_groups: bool,
    pub use_symlink_paths: bool,
    pub vrrp_version: Option<u8>,
    pub vrrp_mcast_group4: Option<IpAddr>,
    pub vrrp_mcast_group6: Option<IpAddr>,
    pub vrrp_strict: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_garp_master_delay: Option<u32>,
    pub vrrp_garp_master_repeat: Option<u32>,
    pub vrrp_garp_lower_prio_delay: Option<u32>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    pub vrrp_garp_master_refresh: Option<u32>,
    pub vrrp_garp_master_refresh_repeat: Option<u32>,
    pub vrrp_garp_interval_us: u64,
    pub vrrp_gna_interval_us: u64,
    pub vrrp_min_garp: bool,
    pub vrrp_down_timer_adverts: Option<u8>,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_owner_ignore_adverts: bool,
    pub v3_checksum_as_v2: bool,
    pub notify_fifo: Option<String>,
    pub notify_fifo_script: Option<RawCmd>,
    pub notify_priority_changes: bool,
    pub fifo_write_vrrp_states_on_reload: bool,
    pub vrrp_startup_delay_us: u64,
    pub sched: crate::vrrp::spec::SchedSpec,
    pub umask: Option<u32>,
    /// `nftables [TABLE]`, `nftables_priority`, `nftables_counters`.
    pub nftables_table: Option<String>,
    pub nftables_priority: Option<i32>,
    pub nftables_counters: bool,
    pub state_dump_file: Option<String>,
    pub json_version: Option<u8>,
    pub dynamic_interfaces: bool,
    /// `default_interface` (for static addresses without `dev`; keepalived's default eth0).
    pub default_interface: Option<String>,
    /// E-mail alerts: `notification_email { ... }` recipients.
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    /// `smtp_server ADDR [PORT]` as written (ADDR resolved later), port default 25.
    pub smtp_server: Option<(String, u16, Pos)>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout_s: Option<u32>,
    /// `smtp_alert [BOOL]` / `smtp_alert_vrrp [BOOL]` defaults (None = unset).
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub no_email_faults: bool,
    /// `log_unknown_vrids`: log adverts for a VRID no instance has on that interface.
    pub log_unknown_vrids: bool,
    /// `process_names`: keepalived's default names ("keepalived", "keepalived_vrrp").
    pub process_names: bool,
    /// `process_name NAME` (the parent) / `vrrp_process_name NAME` (the VRRP child), at most
    /// 15 bytes (the kernel's comm length).
    pub process_name: Option<String>,
    pub vrrp_process_name: Option<String>,
    /// `startup_script CMD [user [group]]` / `shutdown_script ...` and their timeouts (s).
    pub startup_script: Option<RawCmd>,
    pub shutdown_script: Option<RawCmd>,
    pub startup_script_timeout_s: Option<u32>,
    pub shutdown_script_timeout_s: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VrrpScript {
    pub name: String,
    pub pos: Pos,
    pub script: Option<RawCmd>,
    pub interval_s: u32,
    pub timeout_s: Option<u32>,
    pub weight: i32,
    pub reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<ScriptUser>,
    pub user_pos: Option<Pos>,
    pub init_fail: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrackFile {
    pub name: String,
    pub pos: Pos,
    pub file: Option<String>,
    pub weight: i32,
    pub reverse: bool,
    pub init_file: Option<(i64, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrackProcess {
    pub name: String,
    pub pos: Pos,
    pub process: Option<String>,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    pub weight: i32,
    pub reverse: bool,
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub fork_delay_us: u64,
    pub terminate_delay_us: u64,
}

/// One `NAME [weight W] [reverse|noreverse]` tracking line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackLine {
    pub name: String,
    pub pos: Pos,
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: IpAddr,
    pub pos: Pos,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Notify {
    pub master: Option<RawCmd>,
    pub backup: Option<RawCmd>,
    pub fault: Option<RawCmd>,
    pub stop: Option<RawCmd>,
    pub deleted: Option<RawCmd>,
    pub generic: Option<RawCmd>,
    pub master_rx_lower_pri: Option<RawCmd>,
    pub notify_deleted: bool,
    pub priority_changes: Option<bool>,
    /// rkeepalived extension `notify_in_order`: run this owner's notify scripts one after
    /// another, in transition order, instead of keepalived's fire-and-forget.
    pub in_order: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tracks {
    pub interfaces: Vec<TrackLine>,
    pub scripts: Vec<TrackLine>,
    pub files: Vec<TrackLine>,
    pub processes: Vec<TrackLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthType {
    Pass,
    Ah,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VrrpInstance {
    pub name: String,
    pub pos: Pos,
    /// `state`: Some(true) = MASTER.
    pub state_master: Option<bool>,
    pub interface: Option<(String, Pos)>,
    /// Other interface names keepalived checks while reading the instance (earlier
    /// `interface` lines, route and rule devices), see [`IfRef`].
    pub if_refs: Vec<IfRef>,
    pub virtual_router_id: Option<u8>,
    pub priority: Option<u8>,
    /// Seconds, as written (validated against 0.01..255 at parse time).
    pub advert_int: Option<f64>,
    pub version: Option<u8>,
    pub native_ipv6: bool,
    pub nopreempt: bool,
    pub preempt_delay_us: Option<u64>,
    pub auth_type: Option<AuthType>,
    pub auth_pass: Option<String>,
    pub auth_pos: Option<Pos>,
    pub virtual_ipaddress: Vec<(VipSpec, Pos)>,
    pub virtual_ipaddress_excluded: Vec<(VipSpec, Pos)>,
    pub no_virtual_ipaddress: bool,
    /// Parsed and checked, not installed by rkeepalived (reported as unsupported).
    pub virtual_routes: Vec<RouteSpec>,
    pub virtual_rules: Vec<RuleSpec>,
    pub promote_secondaries: bool,
    pub unicast_src_ip: Option<IpAddr>,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<Peer>,
    pub unicast_ttl: Option<u8>,
    pub check_unicast_src: bool,
    pub unicast_fault_no_peer: bool,
    pub old_unicast_checksum: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub dont_track_primary: bool,
    pub track: Tracks,
    pub garp_master_delay: Option<u32>,
    pub garp_master_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<u32>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub garp_master_refresh: Option<u32>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub down_timer_adverts: Option<u8>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub accept: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub strict_mode: Option<bool>,
    pub notify: Notify,
    /// Where each keyword was last given (for diagnostics made after parsing).
    pub keyword_pos: Vec<(String, Pos)>,
    /// Unsupported features, kept for keepalived's cross-checks.
    pub vrf: bool,
    /// `use_vmac [NAME]`.
    pub use_vmac: bool,
    pub vmac_name: Option<String>,
    /// `use_ipvlan` (unsupported; kept for the VMAC cross-checks).
    pub use_ipvlan: bool,
    /// The address given to `use_ipvlan` (it counts for the instance family).
    pub use_ipvlan_addr: Option<IpAddr>,
    pub vmac_xmit_base: bool,
    /// `smtp_alert [BOOL]` (None = the global default).
    pub smtp_alert: Option<bool>,
}

/// `00:11:22:33:44:55` (what keepalived 2.3 accepts after `use_vmac`).
fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A usable interface name: shorter than IFNAMSIZ, no '/', ':' or white space, not "." / "..".
fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

impl VrrpInstance {
    /// Position of `keyword` in this instance, or of the instance itself.
    pub fn pos_of(&self, keyword: &str) -> &Pos {
        self.keyword_pos
            .iter()
            .rev()
            .find(|(k, _)| k == keyword)
            .map(|(_, p)| p)
            .unwrap_or(&self.pos)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VrrpSyncGroup {
    pub name: String,
    pub pos: Pos,
    pub group: Vec<(String, Pos)>,
    pub track: Tracks,
    pub notify: Notify,
    pub sync_group_tracking_weight: bool,
    /// `smtp_alert [BOOL]` (None = the global default).
    pub smtp_alert: Option<bool>,
}

/// The whole VRRP-side configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub global_defs: GlobalDefs,
    pub vrrp_script: Vec<VrrpScript>,
    pub track_file: Vec<TrackFile>,
    pub vrrp_track_process: Vec<TrackProcess>,
    pub vrrp_instance: Vec<VrrpInstance>,
    pub vrrp_sync_group: Vec<VrrpSyncGroup>,
    /// `static_ipaddress`, `static_routes`, `static_rules`: installed at start, removed at
    /// shutdown (not tied to any instance).
    pub static_ipaddress: Vec<(VipSpec, Pos)>,
    pub static_routes: Vec<RouteSpec>,
    pub static_rules: Vec<RuleSpec>,
    /// Other VRRP-side blocks rkeepalived does not implement, by keyword, as raw lines.
    pub unsupported_blocks: Vec<(String, Vec<RawLine>)>,
    /// Interface names of the static routes and rules (checked like the instances').
    pub if_refs: Vec<IfRef>,
    /// A top-level `net_namespace NAME`: the name and where (keepalived 2.2.7's `-t` then
    /// exits 0). The first one counts.
    pub net_namespace: Option<(String, Pos)>,
    /// A top-level `instance NAME` (pidfile names; the first one counts).
    pub instance: Option<String>,
    /// A top-level `use_pid_dir` (pidfiles in /run/keepalived/).
    pub use_pid_dir: bool,
    /// A keyword of `global_defs` missed its parameter: keepalived's parent process stops
    /// there (exit 2), which `net_namespace` does not turn into 0.
    pub global_missing_parameter: bool,
    /// The first MISC_CHECK misc_path inside the (otherwise skipped) LVS blocks: keepalived's
    /// checker counts it as a script for the SECURITY VIOLATION check.
    pub lvs_check_script: Option<RawCmd>,
    /// keepalived's automatic rule preference counter (16384 downwards).
    pub next_rule_pref: u32,
    /// Names of the `track_group` blocks seen so far (static lines may only name those).
    pub track_groups: Vec<String>,
    /// `garp_group` blocks kept (those with a delay set).
    pub garp_groups: Vec<GarpGroup>,
    /// How many `garp_group` blocks were read (keepalived numbers them in its messages).
    pub garp_groups_seen: usize,
    /// The interfaces of `linkbeat_interfaces` / `interface_up_down_delays` (keepalived
    /// checks they exist: "unknown interface NAME specified for WHAT", exit 4).
    /// The words after each name are checked only for an interface that exists.
    pub known_if_refs: Vec<(IfRef, Vec<Tok>)>,
}

/// `garp_group { garp_interval S; gna_interval S; interface IF | interfaces { IF ... } }`:
/// per-interface GARP / unsolicited NA pacing replacing `vrrp_garp_interval` /
/// `vrrp_gna_interval` for its interfaces (an interval not given is 0 there: no pacing).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GarpGroup {
    pub garp_interval_us: Option<u64>,
    pub gna_interval_us: Option<u64>,
    /// Interface names, each with where it was named (checked for existence later).
    pub interfaces: Vec<(String, Pos)>,
}

// ---------------------------------------------------------------------------------------------
// Value readers with keepalived's messages.

fn arg<'a>(st: &'a Stmt, i: usize, d: &mut Diags) -> Option<&'a Tok> {
    let t = st.args.get(i);
    if t.is_none() {
        // keepalived compat: fatal for the parse (exit 2), with this wording.
        d.error_class(
            Some(st.pos()),
            super::diag::class::MISSING_PARAMETER,
            format!(
                "*** Configuration line starting `{}` is missing a parameter after keyword `{}` at word position {}",
                st.kw.text,
                st.kw.text,
                i + 2
            ),
        );
    }
    t
}

/// keepalived's read_int: "invalid number 'x'" / "number 'x' outside range [a, b]".
/// keepalived's `umask` value: an octal/decimal/hex number (strtol base 0) or `|`-joined
/// mode bit names (IRUSR, IWUSR, IXUSR, IRWXU, and the G/O forms).
pub fn parse_umask(text: &str) -> Option<u32> {
    let num = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8).ok()
    } else if text.chars().all(|c| c.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    };
    if let Some(n) = num {
        return (n <= 0o777).then_some(n);
    }
    let mut m = 0;
    for part in text.split('|') {
        m |= match part.trim() {
            "IRUSR" => 0o400,
            "IWUSR" => 0o200,
            "IXUSR" => 0o100,
            "IRWXU" => 0o700,
            "IRGRP" => 0o040,
            "IWGRP" => 0o020,
            "IXGRP" => 0o010,
            "IRWXG" => 0o070,
            "IROTH" => 0o004,
            "IWOTH" => 0o002,
            "IXOTH" => 0o001,
            "IRWXO" => 0o007,
            _ => return None,
        };
    }
    Some(m)
}

pub fn read_int(t: &Tok, min: i64, max: i64, d: &mut Diags) -> Option<i64> {
    // keepalived compat: base 10 only ("010" is 10, "0x10" is invalid).
    let Some(v) = t.text.parse::<i64>().ok() else {
        d.error(Some(&t.pos), format!("invalid number '{}'", t.text));
        return None;
    };
    if v < min || v > max {
        d.error(
            Some(&t.pos),
            format!("number '{}' outside range [{min}, {max}]", t.text),
        );
        return None;
    }
    Some(v)
}

/// keepalived's read_decimal: a decimal number of seconds with `%f`-style range messages.
pub fn read_decimal(t: &Tok, min: f64, max: f64, d: &mut Diags) -> Option<f64> {
    let ok = !t.text.is_empty()
        && t.text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
    let Some(v) = t.text.parse::<f64>().ok().filter(|v| ok && v.is_finite()) else {
        d.error(Some(&t.pos), format!("invalid number '{}'", t.text));
        return None;
    };
    if v < min || v > max {
        d.error(
            Some(&t.pos),
            format!("number '{}' outside range [{min:.6}, {max:.6}]", t.text),
        );
        return None;
    }
    Some(v)
}

/// Optional BOOL argument; bare keyword = true.
fn read_bool(st: &Stmt, d: &mut Diags) -> Option<bool> {
    match st.args.first() {
        None => Some(true),
        Some(t) => match t.text.as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => {
                d.error(
                    Some(&t.pos),
                    format!("Invalid {} parameter {}", st.kw.text, t.text),
                );
                None
            }
        },
    }
}

/// Optional BOOL argument with a caller-made message for a bad value; bare keyword = true.
fn read_bool_msg(st: &Stmt, d: &mut Diags, msg: impl Fn(&str) -> String) -> Option<bool> {
    match st.args.first().map(|t| (t, t.text.as_str())) {
        None => Some(true),
        Some((_, "on" | "true" | "yes")) => Some(true),
        Some((_, "off" | "false" | "no")) => Some(false),
        Some((t, v)) => {
            d.error(Some(&t.pos), msg(v));
            None
        }
    }
}

fn secs_to_us(v: f64) -> u64 {
    // Values are range-checked before this; the cast saturates anyway.
    (v * 1_000_000.0).round() as u64
}

fn read_user(args: &[Tok]) -> Option<ScriptUser> {
    let user = args.first()?.text.clone();
    // keepalived 2.2.7 compat: `user group` only; the newer `:group` form (supplementary
    // groups) is looked up literally and so fails there, as it does in 2.2.7.
    let (group, supplementary) = match args.get(1) {
        Some(g) => (Some(g.text.clone()), false),
        None => (None, false),
    };
    Some(ScriptUser {
        user,
        group,
        supplementary,
    })
}

fn read_cmd(st: &Stmt, d: &mut Diags) -> Option<RawCmd> {
    let t = arg(st, 0, d)?;
    Some(RawCmd {
        text: t.text.clone(),
        pos: t.pos.clone(),
        user: read_user(&st.args[1..]),
    })
}

fn require_block<'a>(st: &'a Stmt, d: &mut Diags) -> &'a [Stmt] {
    match &st.block {
        Some(b) => b,
        None => {
            d.error(
                Some(st.pos()),
                "Missing '{' at beginning of configuration block",
            );
            &[]
        }
    }
}

fn name_of(st: &Stmt, d: &mut Diags) -> String {
    match st.args.first() {
        Some(t) => t.text.clone(),
        None => {
            d.error(Some(st.pos()), format!("{} requires a name", st.kw.text));
            String::new()
        }
    }
}

/// What keepalived 2.2.7 does with a keyword given without any value (and without a block).
enum Bare {
    /// Its handler reads the missing word: "missing a parameter", parse ends (exit 2).
    Fatal,
    /// Its handler reports this (class 5) and ignores the line. `{kw}` / `{owner}` are
    /// replaced by the keyword and the owning block's name.
    Error(&'static str),
}

/// Keywords whose bare form keepalived 2.2.7 handles specially, by block ("top", "global",
/// "instance", "script", "auth", "process", "file", "sync"). Observed with `keepalived -t`.
const BARE: &[(&str, &str, Bare)] = &[
    ("top", "vrrp_script", Bare::Fatal),
    ("top", "track_file", Bare::Fatal),
    ("top", "vrrp_track_file", Bare::Fatal),
    ("top", "vrrp_track_process", Bare::Fatal),
    ("top", "virtual_server", Bare::Fatal),
    ("top", "virtual_server_group", Bare::Fatal),
    (
        "top",
        "instance",
        Bare::Error("instance name missing - ignoring"),
    ),
    (
        "top",
        "net_namespace",
        Bare::Error("net_namespace name missing - ignoring"),
    ),
    (
        "top",
        "track_group",
        Bare::Error("track_group must have a name - skipping"),
    ),
    ("global", "bfd_process_name", Bare::Fatal),
    ("global", "bfd_rlimit_rttime", Bare::Fatal),
    ("global", "checker_process_name", Bare::Fatal),
    ("global", "checker_rlimit_rttime", Bare::Fatal),
    ("global", "config_save_dir", Bare::Fatal),
    ("global", "nftables_priority", Bare::Fatal),
    ("global", "process_name", Bare::Fatal),
    ("global", "vrrp_process_name", Bare::Fatal),
    ("global", "random_seed", Bare::Fatal),
    ("global", "smtp_connect_timeout", Bare::Fatal),
    ("global", "smtp_server", Bare::Fatal),
    ("global", "vmac_prefix", Bare::Fatal),
    ("global", "vmac_addr_prefix", Bare::Fatal),
    (
        "global",
        "default_interface",
        Bare::Error("default_interface requires interface name"),
    ),
    (
        "global",
        "notify_fifo_script",
        Bare::Error("No {kw} specified"),
    ),
    (
        "global",
        "vrrp_notify_fifo_script",
        Bare::Error("No {kw} specified"),
    ),
    (
        "global",
        "lvs_notify_fifo",
        Bare::Error("No {kw} name specified"),
    ),
    (
        "global",
        "lvs_notify_fifo_script",
        Bare::Error("No {kw} specified"),
    ),
    (
        "global",
        "vrrp_priority",
        Bare::Error("No vrrp process priority specified"),
    ),
    (
        "global",
        "checker_priority",
        Bare::Error("No checker process priority specified"),
    ),
    (
        "global",
        "bfd_priority",
        Bare::Error("No bfd process priority specified"),
    ),
    (
        "global",
        "vrrp_rt_priority",
        Bare::Error("No vrrp process real-time priority specified"),
    ),
    (
        "global",
        "checker_rt_priority",
        Bare::Error("No checker process real-time priority specified"),
    ),
    (
        "global",
        "bfd_rt_priority",
        Bare::Error("No bfd process real-time priority specified"),
    ),
    (
        "global",
        "vrrp_cpu_affinity",
        Bare::Error("No vrrp cpu_id set specified"),
    ),
    (
        "global",
        "checker_cpu_affinity",
        Bare::Error("No checker cpu_id set specified"),
    ),
    (
        "global",
        "bfd_cpu_affinity",
        Bare::Error("No bfd cpu_id set specified"),
    ),
    (
        "global",
        "dbus_service_name",
        Bare::Error("dbus_service_name missing - ignoring"),
    ),
    (
        "global",
        "lvs_sync_daemon",
        Bare::Error("lvs_sync_daemon requires interface"),
    ),
    (
        "global",
        "lvs_timeouts",
        Bare::Error("lvs_timeouts requires at least one option"),
    ),
    (
        "global",
        "min_auto_priority_delay",
        Bare::Error("min_auto_priority_delay requires delay time"),
    ),
    (
        "global",
        "notification_email_from",
        Bare::Error("emailfrom missing - ignoring"),
    ),
    (
        "global",
        "reload_time_file",
        Bare::Error("reload_time_file invalid"),
    ),
    (
        "global",
        "startup_script",
        Bare::Error("startup script missing"),
    ),
    (
        "global",
        "shutdown_script",
        Bare::Error("shutdown script missing"),
    ),
    (
        "global",
        "startup_script_timeout",
        Bare::Error("startup_script_timeout requires value"),
    ),
    (
        "global",
        "shutdown_script_timeout",
        Bare::Error("shutdown_script_timeout requires value"),
    ),
    (
        "global",
        "snmp_socket",
        Bare::Error("snmp socket name missing"),
    ),
    (
        "global",
        "tmp_config_directory",
        Bare::Error("tmp_config_directory missing directory name"),
    ),
    (
        "global",
        "vrrp_garp_extra_if",
        Bare::Error("{kw} specified without time - ignoring"),
    ),
    (
        "global",
        "vrrp_vmac_garp_intvl",
        Bare::Error("{kw} specified without time - ignoring"),
    ),
    (
        "global",
        "vrrp_netlink_cmd_rcv_bufs",
        Bare::Error("{kw} size missing"),
    ),
    (
        "global",
        "vrrp_netlink_monitor_rcv_bufs",
        Bare::Error("{kw} size missing"),
    ),
    (
        "global",
        "vrrp_rx_bufs_multiplier",
        Bare::Error("Invalid vrrp_rx_bufs_multiplier"),
    ),
    (
        "global",
        "vrrp_rx_bufs_policy",
        Bare::Error("vrrp_rx_bufs_policy missing"),
    ),
    (
        "global",
        "json_version",
        Bare::Error(
            "Unknown keyword 'json_version' (keepalived 2.2.7 does not know it, and it needs a value)",
        ),
    ),
    ("instance", "debug", Bare::Fatal),
    ("instance", "vrf", Bare::Fatal),
    ("instance", "lvs_sync_daemon_interface", Bare::Fatal),
    (
        "instance",
        "garp_extra_if",
        Bare::Error("({owner}): garp_extra_if specified without time - ignoring"),
    ),
    (
        "instance",
        "kernel_rx_buf_size",
        Bare::Error("({owner}) invalid kernel_rx_buf_size specified"),
    ),
    ("script", "user", Bare::Fatal),
    ("auth", "auth_type", Bare::Fatal),
    ("process", "process", Bare::Fatal),
    (
        "process",
        "weight",
        Bare::Error("No weight specified for track process {owner} - ignoring"),
    ),
    (
        "file",
        "weight",
        Bare::Error("No weight specified for track file {owner} - ignoring"),
    ),
];

/// keepalived compat for a keyword given with no value at all (see `BARE`). Returns true
/// when the statement was handled (reported) and must not be read further.
fn bare(ctx: &str, st: &Stmt, owner: &str, d: &mut Diags) -> bool {
    if !st.args.is_empty() {
        return false;
    }
    let kw = st.kw.text.as_str();
    let Some((_, _, what)) = BARE.iter().find(|(c, k, _)| *c == ctx && *k == kw) else {
        return false;
    };
    match what {
        Bare::Fatal => {
            arg(st, 0, d);
        }
        Bare::Error(msg) => d.error(
            Some(st.pos()),
            msg.replace("{kw}", kw).replace("{owner}", owner),
        ),
    }
    true
}

// ---------------------------------------------------------------------------------------------

/// Blocks of the LVS / BFD side, skipped whole.
const SKIPPED_BLOCKS: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "bfd_instance",
    "SSL",
];

/// The kernel's limit for a process name (`comm`, TASK_COMM_LEN - 1).
const PROCESS_NAME_MAX: usize = 15;

/// Top-level keywords keepalived knows that have no effect on a VRRP-only daemon.
const TOP_IGNORED: &[&str] = &["child_wait_time"];

/// Top-level keywords for features rkeepalived does not implement.
const TOP_UNSUPPORTED: &[&str] = &[
    "linkbeat_use_polling",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
];

/// Turn the tree into the model, reporting what keepalived reports.
pub fn build(tree: &[Stmt], d: &mut Diags) -> Model {
    let mut m = Model {
        next_rule_pref: 16384,
        ..Model::default()
    };
    let mut skipped: Vec<(String, Pos)> = Vec::new();
    let mut early: Vec<EarlyRef> = Vec::new();
    top_level(tree, &mut m, &mut skipped, &mut early, d);
    // A name tracked before its definition: say where the definition is.
    for e in &early {
        let later = match e.kind {
            "script" => m
                .vrrp_script
                .iter()
                .find(|x| x.name == e.name)
                .map(|x| &x.pos),
            "file" => m
                .track_file
                .iter()
                .find(|x| x.name == e.name)
                .map(|x| &x.pos),
            _ => m
                .vrrp_track_process
                .iter()
                .find(|x| x.name == e.name)
                .map(|x| &x.pos),
        };
        if let Some(p) = later {
            d.note(
                Some(&e.pos),
                format!(
                    "track {} {} is defined later ({}:{}); keepalived only finds definitions \
                     that come before the instance or sync group tracking them",
                    e.kind, e.name, p.file, p.line
                ),
            );
        }
    }
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|(n, _)| n.clone()).collect();
        d.warning(
            Some(&skipped[0].1),
            format!(
                "LVS/BFD configuration skipped (rkeepalived is VRRP only): {}",
                names.join(", ")
            ),
        );
    }
    m
}

/// The few LVS-side verdicts of keepalived 2.2.7 that real configs hit and that are cheap to
/// mirror exactly, inside blocks otherwise skipped: `nb_get_retry` (deprecated in HTTP_GET /
/// SSL_GET, unknown elsewhere: rc 5), the long-removed `nat_mask` / `nb_sock_retry` (unknown:
/// rc 5), and MISC_CHECK's misc_path (a check script: SECURITY VIOLATION, rc 6, without
/// enable_script_security). Everything else in LVS blocks stays unchecked.
fn lvs_scan(b: &[Stmt], parent: &str, m: &mut Model, d: &mut Diags) {
    for st in b {
        let kw = st.kw.text.as_str();
        match kw {
            "nb_get_retry" if parent == "HTTP_GET" || parent == "SSL_GET" => d.error(
                Some(st.pos()),
                "nb_get_retry is deprecated - please use 'retry'",
            ),
            "nb_get_retry" | "nat_mask" | "nb_sock_retry" => d.error(
                Some(st.pos()),
                format!(
                    "Unknown keyword '{kw}' (in {parent}; keepalived 2.2.7 no longer knows it)"
                ),
            ),
            "misc_path" if parent == "MISC_CHECK" && m.lvs_check_script.is_none() => {
                m.lvs_check_script = st.args.first().map(|t| RawCmd {
                    text: t.text.clone(),
                    pos: t.pos.clone(),
                    user: None,
                });
            }
            _ => {}
        }
        if let Some(inner) = &st.block {
            lvs_scan(inner, kw, m, d);
        }
    }
}

/// A track_script / track_file / track_process line naming something not defined (yet).
struct EarlyRef {
    kind: &'static str,
    name: String,
    pos: Pos,
}

/// keepalived 2.2.7 compat: it resolves tracked script / file / process names while reading,
/// so only definitions above the instance or sync group count ("track script X not found,
/// ignoring...", rc 5, even when X is defined further down). Drop such lines here.
fn drop_undefined_tracks(
    t: &mut Tracks,
    owner: &str,
    m: &Model,
    early: &mut Vec<EarlyRef>,
    d: &mut Diags,
) {
    let mut keep = |kind: &'static str, l: &TrackLine, defined: bool| {
        if !defined {
            d.error(
                Some(&l.pos),
                format!("({owner}) track {kind} {} not found, ignoring...", l.name),
            );
            early.push(EarlyRef {
                kind,
                name: l.name.clone(),
                pos: l.pos.clone(),
            });
        }
        defined
    };
    t.scripts
        .retain(|l| keep("script", l, m.vrrp_script.iter().any(|s| s.name == l.name)));
    t.files
        .retain(|l| keep("file", l, m.track_file.iter().any(|s| s.name == l.name)));
    t.processes.retain(|l| {
        keep(
            "process",
            l,
            m.vrrp_track_process.iter().any(|s| s.name == l.name),
        )
    });
}

fn top_level(
    tree: &[Stmt],
    m: &mut Model,
    skipped: &mut Vec<(String, Pos)>,
    early: &mut Vec<EarlyRef>,
    d: &mut Diags,
) {
    for st in tree {
        if bare("top", st, "", d) {
            continue;
        }
        match st.kw.text.as_str() {
            "global_defs" => {
                let b = require_block(st, d);
                let missing = |d: &Diags| {
                    d.list
                        .iter()
                        .filter(|x| x.rc == super::diag::class::MISSING_PARAMETER)
                        .count()
                };
                let before = missing(d);
                global_defs(b, &mut m.global_defs, d);
                if missing(d) > before {
                    m.global_missing_parameter = true;
                }
            }
            "vrrp_script" => {
                let s = vrrp_script(st, d);
                m.vrrp_script.push(s);
            }
            "track_file" | "vrrp_track_file" => {
                let f = track_file(st, d);
                m.track_file.push(f);
            }
            "vrrp_track_process" => {
                let p = track_process(st, d);
                m.vrrp_track_process.push(p);
            }
            "vrrp_instance" if st.args.is_empty() => {
                // keepalived 2.2.7 compat: skipped with its whole block (nothing in it is
                // checked).
                d.error(Some(st.pos()), "vrrp_instance must have a name");
            }
            "vrrp_instance" => {
                // keepalived compat: a second vrrp_instance of the same name is a config
                // error and its whole block is skipped (nothing in it is checked).
                if let Some(name) = st.args.first().map(|t| t.text.as_str())
                    && let Some(first) = m.vrrp_instance.iter().find(|i| i.name == name)
                {
                    d.error(
                        Some(st.pos()),
                        format!(
                            "vrrp instance {name} already defined (first at {}:{}); ignoring this block",
                            first.pos.file, first.pos.line
                        ),
                    );
                    continue;
                }
                let i = vrrp_instance(
                    st,
                    m.global_defs.dynamic_interfaces,
                    &mut m.next_rule_pref,
                    d,
                );
                let mut i = i;
                let owner = i.name.clone();
                drop_undefined_tracks(&mut i.track, &owner, m, early, d);
                m.vrrp_instance.push(i);
            }
            "vrrp_sync_group" => {
                // keepalived compat: as for instances, a repeated sync group name is an
                // error and the block is skipped.
                if let Some(name) = st.args.first().map(|t| t.text.as_str())
                    && let Some(first) = m.vrrp_sync_group.iter().find(|g| g.name == name)
                {
                    d.error(
                        Some(st.pos()),
                        format!(
                            "vrrp sync group {name} already defined (first at {}:{}); ignoring this block",
                            first.pos.file, first.pos.line
                        ),
                    );
                    continue;
                }
                let mut g = sync_group(st, d);
                let owner = g.name.clone();
                drop_undefined_tracks(&mut g.track, &owner, m, early, d);
                m.vrrp_sync_group.push(g);
            }
            k if SKIPPED_BLOCKS.contains(&k) => {
                lvs_scan(st.block.as_deref().unwrap_or(&[]), k, m, d);
                skipped.push((
                    format!("{} {}", k, args_text(st)).trim().to_string(),
                    st.pos().clone(),
                ));
            }
            k if TOP_IGNORED.contains(&k) => {
                d.note(
                    Some(st.pos()),
                    format!("'{k}' has no effect in rkeepalived"),
                );
            }
            // keepalived parses the static blocks with the virtual_* line parsers, plus an
            // optional `track_group NAME` on each line.
            "static_ipaddress" => {
                for line in require_block(st, d) {
                    let (line, _) = strip_track_group(line, &m.track_groups, false, d);
                    if let Some(a) = vip_line(&line, false, d) {
                        m.static_ipaddress.push((a, line.pos().clone()));
                    }
                }
            }
            "static_routes" => {
                let b = require_block(st, d);
                route_tracking_check(b, d);
                for line in b {
                    let (line, tg) = strip_track_group(line, &m.track_groups, true, d);
                    let has = |k: &[&str]| line.args.iter().any(|t| k.contains(&t.text.as_str()));
                    if tg && !has(&["dev", "oif"]) {
                        d.error(
                            Some(line.pos()),
                            "Static route cannot have track group if no oif specified",
                        );
                    }
                    if let Some(r) = route_line(&line, d) {
                        m.static_routes.push(r);
                        m.if_refs
                            .extend(dev_ref(&line, &["dev", "oif"], "VROUTE nexthop"));
                    }
                }
            }
            "static_rules" => {
                for line in require_block(st, d) {
                    let (line, tg) = strip_track_group(line, &m.track_groups, true, d);
                    let has = |k: &[&str]| line.args.iter().any(|t| k.contains(&t.text.as_str()));
                    if tg && !has(&["dev", "iif"]) {
                        d.error(
                            Some(line.pos()),
                            "Static rule cannot have track_group if dev/iif not specified",
                        );
                    }
                    if let Some(r) = rule_line(&line, &mut m.next_rule_pref, d) {
                        m.static_rules.push(r);
                        m.if_refs.extend(dev_ref(&line, &["dev", "iif"], "rule"));
                        m.if_refs.extend(dev_ref(&line, &["oif"], "rule"));
                    }
                }
            }
            "garp_group" => garp_group(st, m, d),
            "track_group" => {
                // Only the name is used (by the static lines above); the effect of a track
                // group (FAULT when a static item is lost) is not implemented.
                d.unsupported(Some(st.pos()), "track_group");
                if let Some(name) = st.args.first() {
                    // keepalived 2.2.7 compat (observed): a second block of the same name is
                    // an error, an empty `group` block is reported, unknown keywords too; a
                    // group member that names no instance is not checked.
                    if m.track_groups.contains(&name.text) {
                        d.error(
                            Some(st.pos()),
                            format!("track_group {} already defined", name.text),
                        );
                    } else {
                        m.track_groups.push(name.text.clone());
                    }
                    for k in st.block.as_deref().unwrap_or(&[]) {
                        match k.kw.text.as_str() {
                            "group" => {
                                if k.block.as_ref().is_none_or(|b| b.is_empty()) {
                                    d.error(
                                        Some(k.pos()),
                                        format!(
                                            "Warning - track group {} has empty group block",
                                            name.text
                                        ),
                                    );
                                }
                            }
                            _ => unknown(k, d, |_, _| {}),
                        }
                    }
                }
            }
            // keepalived 2.2.7 (observed): the first definition counts, a later one is an
            // error; any further argument is ignored.
            k @ ("net_namespace" | "instance") => {
                if let Some(t) = st.args.first() {
                    let taken = if k == "net_namespace" {
                        m.net_namespace.is_some()
                    } else {
                        m.instance.is_some()
                    };
                    if taken {
                        d.error(
                            Some(&t.pos),
                            format!("Duplicate {k} definition {} - ignoring", t.text),
                        );
                    } else if k == "net_namespace" {
                        m.net_namespace = Some((t.text.clone(), st.pos().clone()));
                    } else {
                        m.instance = Some(t.text.clone());
                    }
                }
            }
            "use_pid_dir" => m.use_pid_dir = true,
            "linkbeat_interfaces" | "interface_up_down_delays" => {
                if_list(st, m, d);
                d.unsupported(Some(st.pos()), &st.kw.text);
            }
            k if TOP_UNSUPPORTED.contains(&k) => {
                d.unsupported(Some(st.pos()), k);
                let mut lines = Vec::new();
                flatten(st.block.as_deref().unwrap_or(&[]), &mut lines);
                m.unsupported_blocks.push((k.to_string(), lines));
            }
            _ => unknown(st, d, |inner, d| top_level(inner, m, skipped, early, d)),
        }
    }
}

/// `linkbeat_interfaces` (`NAME [MII|ETHTOOL|IOCTL]`) and `interface_up_down_delays`
/// (`NAME [UP_DELAY [DOWN_DELAY]]`, seconds in [0, 255], more words ignored), checked as
/// keepalived 2.2.7 checks them (observed).
fn if_list(st: &Stmt, m: &mut Model, d: &mut Diags) {
    let linkbeat = st.kw.text == "linkbeat_interfaces";
    for l in require_block(st, d) {
        let r = IfRef {
            name: l.kw.text.clone(),
            what: if linkbeat {
                "linkbeat interface".into()
            } else {
                "up/down delay".into()
            },
            pos: l.kw.pos.clone(),
        };
        m.known_if_refs.push((r, l.args.clone()));
    }
}

/// The words after an existing interface's name in `linkbeat_interfaces` /
/// `interface_up_down_delays` (keepalived 2.2.7 checks them only then).
pub fn if_list_values(r: &IfRef, args: &[Tok], d: &mut Diags) {
    if r.what == "linkbeat interface" {
        let ok = match args {
            [] => true,
            [t] => matches!(t.text.as_str(), "MII" | "ETHTOOL" | "IOCTL"),
            _ => false,
        };
        if !ok {
            // keepalived 2.2.7 names the first extra word even when it is a valid method.
            d.error(
                Some(&args[0].pos),
                format!("extra characters {} in linkbeat interface", args[0].text),
            );
        }
    } else {
        for t in args.iter().take(2) {
            if t.text.starts_with('-') {
                d.error(Some(&t.pos), format!("negative number '{}'", t.text));
            } else {
                read_decimal(t, 0.0, 255.0, d);
            }
        }
    }
}

fn flatten(b: &[Stmt], out: &mut Vec<RawLine>) {
    for st in b {
        out.push(raw(st));
        if let Some(inner) = &st.block {
            flatten(inner, out);
        }
    }
}

fn args_text(st: &Stmt) -> String {
    st.args
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived compat: an unknown keyword is reported and skipped; if it opened a block,
/// keepalived ignores the `{` and reads the block's lines at the current level.
fn unknown(st: &Stmt, d: &mut Diags, mut again: impl FnMut(&[Stmt], &mut Diags)) {
    d.error(Some(st.pos()), format!("Unknown keyword '{}'", st.kw.text));
    if let (Some(b), Some(p)) = (&st.block, &st.open) {
        d.error(Some(p), "Unexpected '{' - ignoring");
        again(b, d);
    }
}

/// A keyword newer keepalived versions know but Debian's 2.2.7 reports as unknown. We apply
/// it (deliberate difference: keepalived 2.2.7 -t exits 5 on it).
fn newer_than_227(st: &Stmt, d: &mut Diags) {
    d.note(
        Some(st.pos()),
        format!(
            "'{}' is not known to keepalived 2.2.7 (its -t reports \"Unknown keyword\"); rkeepalived applies it",
            st.kw.text
        ),
    );
}

fn global_defs(b: &[Stmt], g: &mut GlobalDefs, d: &mut Diags) {
    let mut fifo_seen: HashSet<&str> = HashSet::new();
    for st in b {
        let kw = st.kw.text.as_str();
        if st.block.is_none() && bare("global", st, "", d) {
            continue;
        }
        unsupported_number_check(st, d);
        match kw {
            // keepalived compat: 2.2.7's global_defs does not know these (rc 5); say why.
            "instance" | "use_pid_dir" | "linkbeat_use_polling" => d.error(
                Some(st.pos()),
                format!("Unknown keyword '{kw}' (a top-level keyword, not a global_defs one)"),
            ),
            "lvs_id" => d.error(
                Some(st.pos()),
                "Unknown keyword 'lvs_id' (keepalived renamed it router_id)",
            ),
            "iproute_usr_dir" | "iproute_etc_dir" | "dbus_no_interface_name" => d.error(
                Some(st.pos()),
                format!("Unknown keyword '{kw}' (only keepalived newer than 2.2.7 knows it)"),
            ),
            "router_id" => match st.args.first() {
                Some(t) => g.router_id = Some(t.text.clone()),
                None => d.error(Some(st.pos()), "routerid name missing - ignoring"),
            },
            "script_user" => match read_user(&st.args) {
                Some(u) => {
                    g.script_user = Some(u);
                    g.script_user_pos = Some(st.pos().clone());
                }
                None => d.error(Some(st.pos()), "No script username specified"),
            },
            "enable_script_security" => g.enable_script_security = true,
            "set_supplementary_groups" => {
                newer_than_227(st, d);
                g.set_supplementary_groups = true
            }
            "use_symlink_paths" => {
                newer_than_227(st, d);
                g.use_symlink_paths = read_bool(st, d).unwrap_or(true)
            }
            "vrrp_version" => {
                if let Some(t) = arg(st, 0, d) {
                    match read_int(t, 2, 3, d) {
                        Some(v) => g.vrrp_version = Some(v as u8),
                        None => d.error(Some(&t.pos), "VRRP Error: Version must be either 2 or 3"),
                    }
                }
            }
            "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
                if let Some(t) = arg(st, 0, d) {
                    let v4 = kw.ends_with('4');
                    match parse_addr_drop_prefix(t, d) {
                        Some(a) if a.is_ipv4() != v4 => d.error(
                            Some(&t.pos),
                            format!(
                                "{kw} [{}] is not {}. Skipping",
                                t.text,
                                if v4 { "IPv4" } else { "IPv6" }
                            ),
                        ),
                        Some(a) if a.is_multicast() => {
                            if v4 {
                                g.vrrp_mcast_group4 = Some(a)
                            } else {
                                g.vrrp_mcast_group6 = Some(a)
                            }
                        }
                        _ => d.error(
                            Some(&t.pos),
                            format!("{kw} [{}] is not multicast. Skipping", t.text),
                        ),
                    }
                }
            }
            "vrrp_strict" => g.vrrp_strict = true,
            // keepalived 2.2.7 compat: any argument is ignored (`log_unknown_vrids false`
            // still enables it, and -t says nothing).
            "log_unknown_vrids" => g.log_unknown_vrids = true,
            "startup_script" | "shutdown_script" => {
                let kind = &kw[..kw.len() - "_script".len()];
                let slot = if kw == "startup_script" {
                    &mut g.startup_script
                } else {
                    &mut g.shutdown_script
                };
                if slot.is_some() {
                    // keepalived 2.2.7 compat: the first one stays.
                    d.error(Some(st.pos()), format!("{kind} script already specified"));
                } else if let Some(t) = st.args.first() {
                    *slot = Some(RawCmd {
                        text: t.text.clone(),
                        pos: t.pos.clone(),
                        user: read_user(&st.args[1..]),
                    });
                }
                if !st.args.is_empty() {
                    fix_default_user(g, st);
                }
            }
            "startup_script_timeout" | "shutdown_script_timeout" => {
                if let Some(t) = st.args.first() {
                    match read_int(t, 1, 1000, d) {
                        Some(v) if kw == "startup_script_timeout" => {
                            g.startup_script_timeout_s = Some(v as u32)
                        }
                        Some(v) => g.shutdown_script_timeout_s = Some(v as u32),
                        None => d.error(
                            Some(&t.pos),
                            format!("{kw} '{}' must be in [1, 1000] - ignoring", t.text),
                        ),
                    }
                }
            }
            // keepalived 2.2.7 compat: arguments after process_names are ignored.
            "process_names" => g.process_names = true,
            "process_name" | "vrrp_process_name" => {
                if let Some(t) = arg(st, 0, d) {
                    let mut name = t.text.clone();
                    if name.len() > PROCESS_NAME_MAX {
                        d.error(
                            Some(&t.pos),
                            format!(
                                "Process name {name} more than {PROCESS_NAME_MAX} characters, truncating"
                            ),
                        );
                        let mut cut = PROCESS_NAME_MAX;
                        while !name.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        name.truncate(cut);
                    }
                    if kw == "process_name" {
                        g.process_name = Some(name);
                    } else {
                        g.vrrp_process_name = Some(name);
                    }
                }
            }
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
            "vrrp_skip_check_adv_addr" => {
                g.vrrp_skip_check_adv_addr = read_bool(st, d).unwrap_or(true)
            }
            "vrrp_garp_master_delay"
            | "vrrp_garp_lower_prio_delay"
            | "vrrp_garp_master_refresh" => {
                if let Some(t) = arg(st, 0, d) {
                    if let Some(v) = read_int(t, 0, i64::from(u32::MAX / 1000), d) {
                        let v = Some(v as u32);
                        match kw {
                            "vrrp_garp_master_delay" => g.vrrp_garp_master_delay = v,
                            "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = v,
                            _ => g.vrrp_garp_master_refresh = v,
                        }
                    } else {
                        d.error(Some(&t.pos), format!("{kw} '{}' invalid", t.text));
                    }
                }
            }
            "vrrp_garp_master_repeat"
            | "vrrp_garp_lower_prio_repeat"
            | "vrrp_garp_master_refresh_repeat" => {
                if let Some(t) = arg(st, 0, d) {
                    if let Some(mut v) = read_int(t, 0, i64::from(i32::MAX), d) {
                        if v == 0 && kw != "vrrp_garp_lower_prio_repeat" {
                            d.error(
                                Some(&t.pos),
                                format!("{kw} must be greater than 0, setting to 1"),
                            );
                            v = 1;
                        }
                        let v = Some(v as u32);
                        match kw {
                            "vrrp_garp_master_repeat" => g.vrrp_garp_master_repeat = v,
                            "vrrp_garp_lower_prio_repeat" => g.vrrp_garp_lower_prio_repeat = v,
                            _ => g.vrrp_garp_master_refresh_repeat = v,
                        }
                    }
                }
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                if let Some(t) = arg(st, 0, d) {
                    // keepalived compat: 0 is rejected (rc 5) although it is the default;
                    // we report it the same way and keep 0 = no pacing.
                    match read_decimal(t, 0.000001, 4294.967295, d) {
                        Some(v) => {
                            if kw == "vrrp_garp_interval" {
                                g.vrrp_garp_interval_us = secs_to_us(v)
                            } else {
                                g.vrrp_gna_interval_us = secs_to_us(v)
                            }
                        }
                        None => d.error(Some(&t.pos), format!("{kw} '{}' is invalid", t.text)),
                    }
                }
            }
            "vrrp_min_garp" => g.vrrp_min_garp = read_bool(st, d).unwrap_or(true),
            "vrrp_down_timer_adverts" => {
                if let Some(t) = arg(st, 0, d) {
                    if let Some(v) = read_int(t, 1, 100, d) {
                        g.vrrp_down_timer_adverts = Some(v as u8);
                    }
                }
            }
            "vrrp_lower_prio_no_advert" => {
                g.vrrp_lower_prio_no_advert = read_bool(st, d).unwrap_or(true)
            }
            "vrrp_higher_prio_send_advert" => {
                g.vrrp_higher_prio_send_advert = read_bool(st, d).unwrap_or(true)
            }
            "vrrp_owner_ignore_adverts" => {
                newer_than_227(st, d);
                g.vrrp_owner_ignore_adverts = read_bool(st, d).unwrap_or(true)
            }
            "v3_checksum_as_v2" => {
                newer_than_227(st, d);
                g.v3_checksum_as_v2 = read_bool(st, d).unwrap_or(true)
            }
            // keepalived compat: a fifo or fifo script given twice keeps the first (rc 5).
            "vrrp_notify_fifo"
            | "notify_fifo"
            | "vrrp_notify_fifo_script"
            | "notify_fifo_script"
                if !st.args.is_empty() && !fifo_seen.insert(kw) =>
            {
                d.error(
                    Some(&st.args[0].pos),
                    format!("{kw} already specified - ignoring {}", st.args[0].text),
                )
            }
            "vrrp_notify_fifo" | "notify_fifo" => match st.args.first() {
                Some(t) => g.notify_fifo = Some(t.text.clone()),
                None => d.error(Some(st.pos()), format!("No {kw} name specified")),
            },
            "vrrp_notify_fifo_script" | "notify_fifo_script" => {
                g.notify_fifo_script = read_cmd(st, d);
                if g.notify_fifo_script.is_some() {
                    fix_default_user(g, st);
                }
            }
            "vrrp_notify_priority_changes" => {
                g.notify_priority_changes = read_bool(st, d).unwrap_or(true)
            }
            "fifo_write_vrrp_states_on_reload" => g.fifo_write_vrrp_states_on_reload = true,
            "reload_check_config" => d.note(
                Some(st.pos()),
                "rkeepalived always checks a new configuration before reloading and keeps the running one if it has new errors; 'reload_check_config' adds nothing (its log file is not written)".to_string(),
            ),
            "umask" => {
                if let Some(t) = arg(st, 0, d) {
                    match parse_umask(&t.text) {
                        Some(m) => g.umask = Some(m),
                        None => d.error(Some(&t.pos), format!("Invalid umask value '{}'", t.text)),
                    }
                }
            }
            "vrrp_priority" => {
                if let Some(t) = arg(st, 0, d)
                    && let Some(v) = read_int(t, -20, 19, d)
                {
                    g.sched.nice = Some(v as i32);
                }
            }
            "vrrp_rt_priority" => {
                if let Some(t) = arg(st, 0, d)
                    && let Some(v) = read_int(t, 1, 99, d)
                {
                    g.sched.rt_priority = Some(v as u8);
                }
            }
            "vrrp_rlimit_rttime" => {
                if let Some(t) = arg(st, 0, d)
                    && let Some(v) = read_int(t, 2, i64::from(u32::MAX), d)
                {
                    g.sched.rlimit_rttime_us = Some(v as u64);
                }
            }
            "vrrp_no_swap" => g.sched.no_swap = true,
            "vrrp_cpu_affinity" => {
                for t in &st.args {
                    if let Some(v) = read_int(t, 0, 4095, d) {
                        g.sched.cpu_affinity.push(v as u32);
                    }
                }
            }
            "vrrp_startup_delay" => {
                if let Some(t) = arg(st, 0, d) {
                    if let Some(v) = read_decimal(t, 0.0, 3600.0, d) {
                        g.vrrp_startup_delay_us = secs_to_us(v);
                    }
                }
            }
            "state_dump_file" | "state_file_location" => {
                g.state_dump_file = st.args.first().map(|t| t.text.clone());
                newer_than_227(st, d);
            }
            "json_version" => {
                newer_than_227(st, d);
                if let Some(t) = arg(st, 0, d) {
                    if let Some(v) = read_int(t, 1, 2, d) {
                        g.json_version = Some(v as u8);
                    }
                }
            }
            "default_interface" => {
                if let Some(t) = arg(st, 0, d) {
                    g.default_interface = Some(t.text.clone());
                }
            }
            "notification_email" => {
                let lines = require_block(st, d);
                for line in lines {
                    for t in line.words() {
                        g.notification_email.push(t.text.clone());
                    }
                }
                if st.block.is_some() && g.notification_email.is_empty() {
                    // keepalived compat: a config error there too.
                    d.error(Some(st.pos()), "Warning - empty notification_email block");
                }
            }
            "notification_email_from" => {
                g.notification_email_from = st.args.first().map(|t| t.text.clone());
            }
            "smtp_server" => {
                if let Some(t) = st.args.first() {
                    let port = match st.args.get(1) {
                        None => Some(25),
                        Some(p) if p.text == "0" => None,
                        Some(p) => read_int(p, 1, 65535, d).map(|v| v as u16),
                    };
                    match port {
                        Some(port) => g.smtp_server = Some((t.text.clone(), port, st.pos().clone())),
                        None => d.error(
                            Some(st.pos()),
                            format!(
                                "Invalid smtp server {} {}",
                                t.text,
                                st.args.get(1).map_or("", |p| p.text.as_str())
                            ),
                        ),
                    }
                }
            }
            "smtp_helo_name" => {
                if let Some(t) = st.args.first() {
                    g.smtp_helo_name = Some(t.text.clone());
                }
            }
            "smtp_connect_timeout" => {
                if let Some(t) = st.args.first() {
                    match t.text.parse::<u32>() {
                        Ok(0) => {
                            d.error(
                                Some(&t.pos),
                                "smtp_connect_timeout must be greater than 0, setting to 1",
                            );
                            g.smtp_connect_timeout_s = Some(1);
                        }
                        Ok(v) if v <= 4294 => g.smtp_connect_timeout_s = Some(v),
                        _ => d.error(
                            Some(&t.pos),
                            format!(
                                "smtp_connect_timeout '{}' must be in [0, 4294] - ignoring",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "smtp_alert" | "smtp_alert_vrrp" => {
                let v = read_bool_msg(st, d, |v| {
                    format!("Invalid value '{v}' for global {kw} specified")
                });
                if let Some(v) = v {
                    if kw == "smtp_alert" {
                        g.smtp_alert = Some(v);
                    } else {
                        g.smtp_alert_vrrp = Some(v);
                    }
                }
            }
            "no_email_faults" => g.no_email_faults = true,
            "dynamic_interfaces" => {
                // keepalived 2.2.7 compat (observed): only the first word is checked, and a
                // bad one still enables dynamic interfaces.
                g.dynamic_interfaces = true;
                if let Some(t) = st.args.first().filter(|t| t.text != "allow_if_changes") {
                    d.error(
                        Some(&t.pos),
                        format!("Unknown dynamic_interfaces option '{}'", t.text),
                    );
                }
                d.unsupported(Some(st.pos()), kw);
            }
            "checker_process_name"
            | "bfd_process_name"
            | "lvs_timeouts"
            | "lvs_sync_daemon"
            | "lvs_flush"
            | "lvs_flush_onstop"
            | "lvs_flush_on_stop"
            | "checker_no_swap"
            | "checker_priority"
            | "checker_rt_priority"
            | "checker_cpu_affinity"
            | "checker_rlimit_rttime"
            | "bfd_no_swap"
            | "bfd_priority"
            | "bfd_rt_priority"
            | "bfd_cpu_affinity"
            | "bfd_rlimit_rttime"
            | "lvs_notify_fifo"
            | "lvs_notify_fifo_script"
            | "smtp_alert_checker"
            | "no_checker_emails" => {
                if kw == "smtp_alert_checker" {
                    // keepalived 2.2.7 compat: the value is still checked (rc 5).
                    read_bool_msg(st, d, |v| {
                        format!("Invalid value '{v}' for global {kw} specified")
                    });
                }
                // keepalived's checker (LVS) and BFD processes; rkeepalived has neither.
                d.note(
                    Some(st.pos()),
                    format!("'{kw}' concerns keepalived's checker/BFD process, which rkeepalived does not have; ignored"),
                );
            }
            "reload_time_file"
            | "reload_repeat"
            | "reload_file"
            | "config_save_dir"
            | "tmp_config_directory"
            | "random_seed"
            | "data_use_instance"
            | "max_auto_priority"
            | "min_auto_priority_delay"
            | "vrrp_rx_bufs_policy"
            | "vrrp_rx_bufs_multiplier"
            | "vrrp_netlink_cmd_rcv_bufs"
            | "vrrp_netlink_cmd_rcv_bufs_force"
            | "vrrp_netlink_monitor_rcv_bufs"
            | "vrrp_netlink_monitor_rcv_bufs_force"
            | "vmac_prefix"
            | "vmac_addr_prefix"
            | "nftables_ifindex"
            | "disable_local_igmp"
            | "snmp_socket"
            | "dbus_service_name" => {
                // keepalived has an effect for these that rkeepalived does not implement:
                // say so, never ignore silently.
                d.unsupported(Some(st.pos()), kw);
            }
            "enable_snmp_vrrp"
            | "enable_snmp_keepalived"
            | "enable_snmp_rfc"
            | "enable_snmp_rfcv2"
            | "enable_snmp_rfcv3"
            | "enable_traps"
            | "enable_snmp_checker"
            | "enable_dbus"
            | "vrrp_garp_extra_if"
            | "vrrp_vmac_garp_intvl" => d.unsupported(Some(st.pos()), kw),
            // The firewall of no accept mode (sys::nftables): table name, chain priority,
            // rule counters.
            "nftables" => {
                let name = st.args.first().map_or("keepalived", |t| t.text.as_str());
                g.nftables_table = Some(name.to_string());
            }
            "nftables_priority" => {
                if let Some(t) = st.args.first() {
                    let v = if t.text.parse::<i64>().is_ok() {
                        match t.text.parse::<i32>() {
                            Ok(v) => Some(v),
                            Err(_) => {
                                d.error(
                                    Some(&t.pos),
                                    format!("number '{}' outside integer range", t.text),
                                );
                                None
                            }
                        }
                    } else {
                        read_int(t, i64::from(i32::MIN), i64::from(i32::MAX), d)
                            .and_then(|v| i32::try_from(v).ok())
                    };
                    match v {
                        Some(v) => g.nftables_priority = Some(v),
                        None => d.error(
                            Some(&t.pos),
                            format!("invalid nftables chain priority '{}'", t.text),
                        ),
                    }
                }
            }
            "nftables_counters" => g.nftables_counters = true,
            "vrrp_iptables" | "vrrp_ipsets" => d.error(
                Some(st.pos()),
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option",
            ),
            _ => unknown(st, d, |inner, d| global_defs(inner, g, d)),
        }
    }
}

/// See [`GlobalDefs::default_user_fixed_at`].
fn fix_default_user(g: &mut GlobalDefs, st: &Stmt) {
    if g.script_user.is_none() && g.default_user_fixed_at.is_none() {
        g.default_user_fixed_at = Some((st.pos().clone(), g.enable_script_security));
    }
}

/// keepalived 2.2.7's value checks of numeric global keywords rkeepalived does not implement
/// (a bad value is a config error, rc 5; implemented ones check their own values): (keyword, min, max, message with `{}` = value).
const UNSUPPORTED_NUMBERS: &[(&str, i64, i64, &str)] = &[
    (
        "max_auto_priority",
        -1,
        99,
        "max_auto_priority '{}' must be in [0, 99] (or -1 to disable) - ignoring",
    ),
    (
        "min_auto_priority_delay",
        1,
        10_000_000,
        "min_auto_priority_delay '{}' must be in [1, 10000000] - ignoring",
    ),
    ("random_seed", 0, u32::MAX as i64, "random_seed {} invalid"),
    (
        "vrrp_netlink_cmd_rcv_bufs",
        0,
        u32::MAX as i64,
        "vrrp_netlink_cmd_rcv_bufs size ({}) invalid",
    ),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        0,
        u32::MAX as i64,
        "vrrp_netlink_monitor_rcv_bufs size ({}) invalid",
    ),
    (
        "vrrp_rx_bufs_multiplier",
        0,
        u32::MAX as i64,
        "Invalid vrrp_rx_bufs_multiplier {}",
    ),
    (
        "checker_priority",
        -20,
        19,
        "Invalid checker process priority specified",
    ),
    (
        "bfd_priority",
        -20,
        19,
        "Invalid bfd process priority specified",
    ),
];

fn unsupported_number_check(st: &Stmt, d: &mut Diags) {
    let Some((_, min, max, msg)) = UNSUPPORTED_NUMBERS.iter().find(|(k, ..)| *k == st.kw.text)
    else {
        return;
    };
    if let Some(t) = st.args.first()
        && read_int(t, *min, *max, d).is_none()
    {
        d.error(Some(&t.pos), msg.replacen("{}", &t.text, 1));
    }
}

fn vrrp_script(st: &Stmt, d: &mut Diags) -> VrrpScript {
    let mut s = VrrpScript {
        name: name_of(st, d),
        pos: st.pos().clone(),
        script: None,
        interval_s: 1,
        timeout_s: None,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        user_pos: None,
        init_fail: false,
    };
    let name = s.name.clone();
    for k in require_block(st, d) {
        let kw = k.kw.text.as_str();
        if bare("script", k, &name, d) {
            continue;
        }
        match kw {
            "script" => {
                // keepalived 2.2.7 compat: words after the command are ignored here (the
                // user comes from the `user` keyword).
                // An empty `script` line leaves an earlier one in place (2.2.7: a vrrp_script
                // with `script X` then `script` still runs X).
                if let Some(t) = k.args.first() {
                    s.script = Some(RawCmd {
                        text: t.text.clone(),
                        pos: t.pos.clone(),
                        user: None,
                    });
                }
                if let Some(extra) = k.args.get(1) {
                    d.note(
                        Some(&extra.pos),
                        "words after the script command are ignored (quote the command and its arguments; use 'user' for the user)",
                    );
                }
            }
            "interval" | "timeout" => {
                if let Some(t) = arg(k, 0, d) {
                    // keepalived 2.2.7: whole seconds, 1..4294; 0 becomes 1, anything else
                    // invalid keeps the default.
                    let v = match t.text.parse::<i64>() {
                        Ok(0) => {
                            d.error(
                                Some(&t.pos),
                                format!(
                                    "({name}): vrrp script {kw} must be greater than 0, setting to 1"
                                ),
                            );
                            Some(1)
                        }
                        Ok(v) if (1..=4294).contains(&v) => Some(v as u32),
                        parsed => {
                            if parsed.is_err() {
                                d.error(Some(&t.pos), format!("invalid number '{}'", t.text));
                            }
                            d.error(
                                Some(&t.pos),
                                if kw == "interval" {
                                    format!(
                                        "({name}): vrrp script interval '{}' must be between 1 and 4294 - ignoring",
                                        t.text
                                    )
                                } else {
                                    format!(
                                        "({name}): vrrp script timeout '{}' invalid - ignoring",
                                        t.text
                                    )
                                },
                            );
                            None
                        }
                    };
                    if let Some(v) = v {
                        if kw == "interval" {
                            s.interval_s = v
                        } else {
                            s.timeout_s = Some(v)
                        }
                    }
                }
            }
            "weight" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_int(t, -253, 253, d) {
                        Some(v) => s.weight = v as i32,
                        None => d.error(
                            Some(&t.pos),
                            format!(
                                "vrrp_script {name} weight {} must be in [-253, 253]",
                                t.text
                            ),
                        ),
                    }
                    match k.args.get(1) {
                        None => {}
                        Some(r) if r.text == "reverse" => s.reverse = true,
                        Some(o) => d.error(
                            Some(&o.pos),
                            format!("vrrp_script {name} unknown weight option {}", o.text),
                        ),
                    }
                }
            }
            "rise" | "fall" => {
                if let Some(t) = arg(k, 0, d) {
                    let v = match read_int(t, 1, i64::from(i32::MAX), d) {
                        Some(v) => v as u32,
                        None => {
                            d.error(
                                Some(&t.pos),
                                format!(
                                    "({name}): vrrp script {kw} value '{}' invalid, defaulting to 1",
                                    t.text
                                ),
                            );
                            1
                        }
                    };
                    if kw == "rise" { s.rise = v } else { s.fall = v }
                }
            }
            "user" => match read_user(&k.args) {
                Some(u) => {
                    s.user = Some(u);
                    s.user_pos = Some(k.pos().clone());
                }
                None => d.error(Some(k.pos()), "No script username specified"),
            },
            "init_fail" => s.init_fail = true,
            _ => unknown(k, d, |_, _| {}),
        }
    }
    s
}

/// keepalived compat (observed with 2.2.7 -t): each interface may be in one group only
/// ("garp_group already specified for IF - ignoring"), a group with neither interval is
/// removed with an error, an empty `interfaces` block is an error, a group without
/// interfaces is accepted silently; intervals are 0..2147.483647 s (0 = no pacing there).
fn garp_group(st: &Stmt, m: &mut Model, d: &mut Diags) {
    let index = m.garp_groups_seen;
    m.garp_groups_seen += 1;
    let mut g = GarpGroup::default();
    let body = require_block(st, d);
    // keepalived compat: after a missing value (fatal) the group is not reported again.
    let mut missing = false;
    let add_if = |t: &Tok, g: &mut GarpGroup, m: &Model, d: &mut Diags| {
        let taken = m
            .garp_groups
            .iter()
            .chain(std::iter::once(&*g))
            .any(|x| x.interfaces.iter().any(|(n, _)| *n == t.text));
        if taken {
            d.error(
                Some(&t.pos),
                format!("garp_group already specified for {} - ignoring", t.text),
            );
        } else {
            g.interfaces.push((t.text.clone(), t.pos.clone()));
        }
    };
    for k in body {
        let kw = k.kw.text.as_str();
        match kw {
            "garp_interval" | "gna_interval" => {
                let Some(t) = arg(k, 0, d) else {
                    missing = true;
                    continue;
                };
                let v = if t.text.starts_with('-') {
                    d.error(Some(&t.pos), format!("negative number '{}'", t.text));
                    None
                } else {
                    let before = d.list.len();
                    match read_decimal(t, 0.0, 2147.483647, d) {
                        Some(v) => Some(secs_to_us(v)),
                        // keepalived compat: a word that is no number at all only gets
                        // "invalid number" and counts as 0.
                        None if d.list[before..]
                            .iter()
                            .any(|x| x.message.starts_with("invalid number")) =>
                        {
                            Some(0)
                        }
                        None => None,
                    }
                };
                match v {
                    Some(v) if kw == "garp_interval" => g.garp_interval_us = Some(v),
                    Some(v) => g.gna_interval_us = Some(v),
                    None => d.error(
                        Some(&t.pos),
                        format!("garp_group {kw} '{}' invalid", t.text),
                    ),
                }
            }
            "interface" => {
                if let Some(t) = arg(k, 0, d) {
                    add_if(t, &mut g, m, d);
                }
            }
            "interfaces" => {
                let lines = k.block.as_deref().unwrap_or(&[]);
                if lines.is_empty() {
                    d.error(Some(k.pos()), "Warning - empty garp_group interfaces block");
                }
                // keepalived 2.2.7 compat (observed): every word is an interface; a repeated
                // one is reported with the line's second word (whichever word repeated), or as
                // a missing parameter (exit 2) when the line has no second word.
                for l in lines {
                    for t in l.words() {
                        let taken = m
                            .garp_groups
                            .iter()
                            .chain(std::iter::once(&g))
                            .any(|x| x.interfaces.iter().any(|(n, _)| *n == t.text));
                        match (taken, l.args.first()) {
                            (false, _) => add_if(t, &mut g, m, d),
                            (true, Some(w)) => d.error(
                                Some(&t.pos),
                                format!("garp_group already specified for {} - ignoring", w.text),
                            ),
                            (true, None) => d.error_class(
                                Some(&t.pos),
                                super::diag::class::MISSING_PARAMETER,
                                format!(
                                    "*** Configuration line starting `{0}` is missing a parameter after keyword `{0}` at word position 2",
                                    l.kw.text
                                ),
                            ),
                        }
                    }
                }
            }
            _ => unknown(k, d, |_, _| {}),
        }
    }
    if g.garp_interval_us.is_none() && g.gna_interval_us.is_none() {
        if missing {
            return;
        }
        let pos = body.last().map(|k| k.pos()).unwrap_or(st.pos());
        d.error(
            Some(pos),
            format!("garp group {index} does not have any delay set - removing"),
        );
        return;
    }
    m.garp_groups.push(g);
}

fn track_file(st: &Stmt, d: &mut Diags) -> TrackFile {
    let mut f = TrackFile {
        name: name_of(st, d),
        pos: st.pos().clone(),
        file: None,
        weight: 1,
        reverse: false,
        init_file: None,
    };
    let mut weight_seen = false;
    for k in require_block(st, d) {
        if bare("file", k, &f.name, d) {
            continue;
        }
        match k.kw.text.as_str() {
            // keepalived compat: a second file / weight is ignored with an error (rc 5).
            "file" if f.file.is_some() && !k.args.is_empty() => d.error(
                Some(&k.args[0].pos),
                format!(
                    "File already set for track file {} - ignoring {}",
                    f.name, k.args[0].text
                ),
            ),
            "weight" if weight_seen && !k.args.is_empty() => d.error(
                Some(&k.args[0].pos),
                format!(
                    "Weight already set for track file {} - ignoring {}",
                    f.name, k.args[0].text
                ),
            ),
            "file" => f.file = k.args.first().map(|t| t.text.clone()),
            "weight" => {
                weight_seen = true;
                if let Some(t) = arg(k, 0, d) {
                    if let Some(v) = read_int(t, -i64::from(i32::MAX), i64::from(i32::MAX), d) {
                        f.weight = v as i32;
                    }
                    f.reverse = k.args.get(1).is_some_and(|t| t.text == "reverse");
                }
            }
            "init_file" => {
                let mut value = 0;
                let mut overwrite = false;
                for t in &k.args {
                    if t.text == "overwrite" {
                        overwrite = true;
                    } else if let Some(v) = read_int(t, i64::from(i32::MIN), i64::from(i32::MAX), d)
                    {
                        value = v;
                    }
                }
                f.init_file = Some((value, overwrite));
            }
            _ => unknown(k, d, |_, _| {}),
        }
    }
    f
}

fn track_process(st: &Stmt, d: &mut Diags) -> TrackProcess {
    let mut p = TrackProcess {
        name: name_of(st, d),
        pos: st.pos().clone(),
        process: None,
        params: Vec::new(),
        param_match: ParamMatch::None,
        full_command: false,
        weight: 0,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay_us: 0,
        terminate_delay_us: 0,
    };
    let mut weight_seen = false;
    for k in require_block(st, d) {
        let kw = k.kw.text.as_str();
        if bare("process", k, &p.name, d) {
            continue;
        }
        match kw {
            // keepalived compat: a second process / weight is ignored with an error (rc 5).
            "process" if p.process.is_some() && !k.args.is_empty() => d.error(
                Some(&k.args[0].pos),
                format!(
                    "Process already set for track process {} - ignoring {}",
                    p.name, k.args[0].text
                ),
            ),
            "weight" if weight_seen && !k.args.is_empty() => d.error(
                Some(&k.args[0].pos),
                format!(
                    "Weight already set for track process {} - ignoring {}",
                    p.name, k.args[0].text
                ),
            ),
            "process" => {
                p.process = k.args.first().map(|t| t.text.clone());
                p.params = k.args.iter().skip(1).map(|t| t.text.clone()).collect();
                if !p.params.is_empty() {
                    // keepalived compat: parameters mean an exact match of the full command
                    // line unless `param_match` says otherwise.
                    if p.param_match == ParamMatch::None {
                        p.param_match = ParamMatch::Exact;
                    }
                    p.full_command = true;
                }
            }
            "param_match" => {
                // keepalived compat: bare `param_match` = exact (with no parameters
                // configured: the process must have none); any form reads the command line.
                let m = match k.args.first().map(|t| t.text.as_str()) {
                    None => Some(ParamMatch::Exact),
                    Some("initial") => Some(ParamMatch::Initial),
                    Some("partial") => Some(ParamMatch::Partial),
                    Some(other) => {
                        d.error(
                            Some(&k.args[0].pos),
                            format!("Invalid param_match type {other} - ignoring"),
                        );
                        None
                    }
                };
                if let Some(m) = m {
                    p.param_match = m;
                    p.full_command = true;
                }
            }
            "full_command" => p.full_command = true,
            "weight" => {
                weight_seen = true;
                if let Some(t) = arg(k, 0, d) {
                    if let Some(v) = read_int(t, -254, 254, d) {
                        p.weight = v as i32;
                    }
                    p.reverse = k.args.get(1).is_some_and(|t| t.text == "reverse");
                }
            }
            "quorum" => {
                if let Some(t) = arg(k, 0, d)
                    && let Some(v) = read_int(t, 1, 65535, d)
                {
                    let v = v as u32;
                    if p.quorum_max.is_some_and(|m| v > m) {
                        d.error(Some(&t.pos), "Quorum is greater than quorum_max - ignoring");
                    } else {
                        p.quorum = v;
                    }
                }
            }
            "quorum_max" => {
                if let Some(t) = arg(k, 0, d)
                    && let Some(v) = read_int(t, 0, 65535, d)
                {
                    let v = v as u32;
                    // keepalived compat: `quorum_max 0` (the process must not run) is allowed
                    // unless a quorum above 1 was given; it sets the quorum to 0.
                    if (v != 0 || p.quorum > 1) && v < p.quorum {
                        d.error(Some(&t.pos), "quorum_max is less than quorum - ignoring");
                    } else {
                        p.quorum_max = Some(v);
                        if v == 0 {
                            p.quorum = 0;
                        } else if p.quorum == 0 {
                            p.quorum = 1;
                        }
                    }
                }
            }
            "fork_delay" | "terminate_delay" | "delay" => {
                if let Some(t) = arg(k, 0, d) {
                    if let Some(v) = read_decimal(t, 0.0, 3600.0, d) {
                        let us = secs_to_us(v);
                        if kw != "terminate_delay" {
                            p.fork_delay_us = us;
                        }
                        if kw != "fork_delay" {
                            p.terminate_delay_us = us;
                        }
                    }
                }
            }
            _ => unknown(k, d, |_, _| {}),
        }
    }
    p
}

/// `NAME [weight W] [reverse|noreverse]` lines of a track_* block.
fn track_lines(st: &Stmt, owner: &str, wmin: i32, wmax: i32, d: &mut Diags) -> Vec<TrackLine> {
    let mut v = Vec::new();
    for line in require_block(st, d) {
        let mut tl = TrackLine {
            name: line.kw.text.clone(),
            pos: line.pos().clone(),
            weight: None,
            reverse: None,
        };
        // keepalived 2.2.7 grammar: `NAME [weight W [reverse]]`. Anything else in the
        // first place is an error; after the weight, track_interface complains about
        // unknown words and the other trackers ignore them.
        let kind = match st.kw.text.as_str() {
            "track_script" => "track script",
            "track_file" => "track file",
            "track_process" => "track process",
            _ => "track_interface",
        };
        match line.args.first() {
            None => {}
            Some(t) if t.text == "weight" => {
                if let Some(w) = line.args.get(1) {
                    if let Some(x) = read_int(w, i64::from(wmin), i64::from(wmax), d) {
                        let mut x = x as i32;
                        // keepalived compat: +/-254 parses, then is clamped with an error.
                        if x.abs() == 254 && st.kw.text != "track_file" {
                            d.error(
                                Some(&w.pos),
                                format!(
                                    "({owner}) weight for {} cannot be +/-254. Setting to +/-253",
                                    tl.name
                                ),
                            );
                            x = x.signum() * 253;
                        }
                        tl.weight = Some(x);
                    }
                } else {
                    d.error(
                        Some(&t.pos),
                        format!(
                            "({owner}) weight without value specified for {kind} {}",
                            tl.name
                        ),
                    );
                }
                match line.args.get(2).map(|t| (t, t.text.as_str())) {
                    None => {}
                    Some((_, "reverse")) => tl.reverse = Some(true),
                    // Newer keepalived's spelling; 2.2.7 ignores it, which means the same.
                    Some((_, "noreverse")) => tl.reverse = Some(false),
                    Some((t, other)) if kind == "track_interface" => d.error(
                        Some(&t.pos),
                        format!(
                            "({owner}) unknown track_interace {} weight option {other} - ignoring",
                            tl.name
                        ),
                    ),
                    Some((t, other)) => d.note(
                        Some(&t.pos),
                        format!(
                            "({owner}) '{other}' after the weight of {kind} {} is ignored",
                            tl.name
                        ),
                    ),
                }
            }
            Some(t) => d.error(
                Some(&t.pos),
                format!("({owner}) unknown {kind} option {} - ignoring", t.text),
            ),
        }
        v.push(tl);
    }
    v
}

/// A notify script keyword; `prefix` names the owner as keepalived does in its messages
/// ("(VI_1) " or "vrrp group G: ").
fn notify_kw(kw: &str, st: &Stmt, n: &mut Notify, prefix: &str, d: &mut Diags) -> bool {
    // keepalived compat: a script given twice keeps the first, with an error (rc 5).
    let set = |slot: &mut Option<RawCmd>, what: &str, d: &mut Diags| {
        if slot.is_some() {
            if let Some(t) = st.args.first() {
                d.error(
                    Some(&t.pos),
                    format!("{prefix}{what} already specified - ignoring {}", t.text),
                );
            }
            return;
        }
        *slot = read_cmd(st, d);
    };
    match kw {
        "notify_master" => set(&mut n.master, "notify_master script", d),
        "notify_backup" => set(&mut n.backup, "notify_backup script", d),
        "notify_fault" => set(&mut n.fault, "notify_fault script", d),
        "notify_stop" => set(&mut n.stop, "notify_stop script", d),
        "notify_deleted" => {
            n.notify_deleted = true;
            if !st.args.is_empty() {
                set(&mut n.deleted, "notify_deleted", d);
            }
        }
        "notify" => set(&mut n.generic, "notify script", d),
        "notify_master_rx_lower_pri" => set(
            &mut n.master_rx_lower_pri,
            "notify_master_rx_lower_pri script",
            d,
        ),
        "notify_priority_changes" => n.priority_changes = read_bool(st, d),
        "notify_in_order" => {
            d.note(
                Some(st.pos()),
                "'notify_in_order' is an rkeepalived extension (keepalived reports \"Unknown keyword\"): notify scripts of this instance or group run one after another, in transition order".to_string(),
            );
            n.in_order = read_bool(st, d).unwrap_or(true);
        }
        _ => return false,
    }
    true
}

/// keepalived compat: a name tracked twice by the same instance or sync group (in one block
/// or two) is "duplicate ... - ignoring" (rc 5); the first line counts.
fn push_tracks(
    v: &mut Vec<TrackLine>,
    new: Vec<TrackLine>,
    kind: &str,
    owner: &str,
    d: &mut Diags,
) {
    for tl in new {
        if v.iter().any(|o| o.name == tl.name) {
            d.error(
                Some(&tl.pos),
                format!("({owner}) duplicate {kind} {} - ignoring", tl.name),
            );
            continue;
        }
        v.push(tl);
    }
}

fn track_kw(kw: &str, st: &Stmt, owner: &str, t: &mut Tracks, d: &mut Diags) -> bool {
    let lines = |d: &mut Diags| track_lines(st, owner, -254, 254, d);
    match kw {
        "track_interface" => push_tracks(&mut t.interfaces, lines(d), kw, owner, d),
        "track_script" => push_tracks(&mut t.scripts, lines(d), kw, owner, d),
        "track_file" => push_tracks(&mut t.files, lines(d), kw, owner, d),
        "track_process" => push_tracks(&mut t.processes, lines(d), kw, owner, d),
        "track_bfd" => d.unsupported(Some(st.pos()), kw),
        _ => return false,
    }
    true
}

fn sync_group(st: &Stmt, d: &mut Diags) -> VrrpSyncGroup {
    let mut g = VrrpSyncGroup {
        name: name_of(st, d),
        pos: st.pos().clone(),
        group: Vec::new(),
        track: Tracks::default(),
        notify: Notify::default(),
        sync_group_tracking_weight: false,
        smtp_alert: None,
    };
    let owner = g.name.clone();
    for k in require_block(st, d) {
        let kw = k.kw.text.as_str();
        if matches!(kw, "notify_deleted" | "notify_master_rx_lower_pri") {
            // keepalived 2.2.7 compat: instance-only notifies, unknown in a sync group.
            d.error(
                Some(k.pos()),
                format!("Unknown keyword '{kw}' (only a vrrp_instance takes it, not a sync group)"),
            );
            continue;
        }
        let prefix = format!("vrrp group {}: ", g.name);
        if notify_kw(kw, k, &mut g.notify, &prefix, d) || track_kw(kw, k, &owner, &mut g.track, d) {
            continue;
        }
        match kw {
            "group" => {
                for line in require_block(k, d) {
                    for t in line.words() {
                        g.group.push((t.text.clone(), t.pos.clone()));
                    }
                }
            }
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            // keepalived compat: accepted, but reported as a config error.
            "global_tracking" => d.error(
                Some(k.pos()),
                format!("({owner}) global_tracking is deprecated. Use track_interface/script/file on the sync group"),
            ),
            "smtp_alert" => {
                if let Some(v) = read_bool_msg(k, d, |v| {
                    format!("Invalid vrrp_group smtp_alert parameter {v}")
                }) {
                    g.smtp_alert = Some(v);
                }
            }
            _ => unknown(k, d, |_, _| {}),
        }
    }
    g
}

fn parse_addr(t: &Tok) -> Option<IpAddr> {
    t.text.parse().ok()
}

/// The prefix length after a '/' in a virtual/static address, route or rule (keepalived
/// 2.2.7 compat, observed): decimal with an optional '+', leading zeros allowed, no '-';
/// an empty one ("10.0.0.1/") is taken as 0 without a word. `None` is out of range or not
/// a number.
fn prefix_len(p: &str, max: u8) -> Option<u8> {
    if p.is_empty() {
        return Some(0);
    }
    if p.starts_with('-') {
        return None;
    }
    p.parse::<u32>()
        .ok()
        .filter(|&v| v <= u32::from(max))
        .map(|v| v as u8)
}

/// Note for the silent keepalived reading of an empty prefix length.
fn note_empty_prefix(t: &Tok, p: Option<&str>, d: &mut Diags) {
    if p == Some("") {
        d.note(
            Some(&t.pos),
            format!(
                "'{}': an empty prefix length is taken as /0 (as keepalived does)",
                t.text
            ),
        );
    }
}

/// unicast_src_ip / mcast_src_ip / unicast_peer: keepalived 2.2.7 compat (observed): the
/// address ends at the first '-' if there is one (a range end, ignored: "10.0.0.1-5" is the
/// one peer 10.0.0.1, and "10.0.0.1/-" is malformed), else at the first '/' (a prefix,
/// ignored: "192.168.0.11/24" is 192.168.0.11); what is after is never checked. Noted here.
fn parse_addr_drop_prefix(t: &Tok, d: &mut Diags) -> Option<IpAddr> {
    let cut = t.text.find('-').or_else(|| t.text.find('/'));
    match cut {
        None => parse_addr(t),
        Some(i) => {
            let a = &t.text[..i];
            let ip = a.parse().ok()?;
            let what = if t.text[i..].starts_with('-') {
                "the range end"
            } else {
                "the prefix length"
            };
            d.note(
                Some(&t.pos),
                format!("'{}': {what} is ignored (taken as {a})", t.text),
            );
            Some(ip)
        }
    }
}

fn vrrp_instance(st: &Stmt, dynamic_if: bool, next_pref: &mut u32, d: &mut Diags) -> VrrpInstance {
    let name = name_of(st, d);
    let mut v = VrrpInstance {
        name: name.clone(),
        pos: st.pos().clone(),
        state_master: None,
        interface: None,
        virtual_router_id: None,
        priority: None,
        advert_int: None,
        version: None,
        native_ipv6: false,
        nopreempt: false,
        preempt_delay_us: None,
        auth_type: None,
        auth_pass: None,
        auth_pos: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        no_virtual_ipaddress: false,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        promote_secondaries: false,
        unicast_src_ip: None,
        mcast_src_ip: None,
        unicast_peer: Vec::new(),
        unicast_ttl: None,
        if_refs: Vec::new(),
        check_unicast_src: false,
        unicast_fault_no_peer: false,
        old_unicast_checksum: None,
        v3_checksum_as_v2: None,
        mcast_dst_ip: None,
        track_src_ip: false,
        dont_track_primary: false,
        track: Tracks::default(),
        garp_master_delay: None,
        garp_master_repeat: None,
        garp_lower_prio_delay: None,
        garp_lower_prio_repeat: None,
        garp_master_refresh: None,
        garp_master_refresh_repeat: None,
        down_timer_adverts: None,
        lower_prio_no_advert: None,
        higher_prio_send_advert: None,
        owner_ignore_adverts: None,
        accept: None,
        skip_check_adv_addr: None,
        strict_mode: None,
        notify: Notify::default(),
        keyword_pos: Vec::new(),
        vrf: false,
        use_vmac: false,
        vmac_name: None,
        use_ipvlan: false,
        use_ipvlan_addr: None,
        vmac_xmit_base: false,
        smtp_alert: None,
    };
    instance_body(
        require_block(st, d),
        &mut v,
        &name,
        dynamic_if,
        next_pref,
        d,
    );
    v
}

/// Instance keywords that set one value (giving them twice is legal but suspicious).
const SCALAR_INSTANCE_KEYWORDS: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "preempt_delay",
    "unicast_src_ip",
    "mcast_src_ip",
    "mcast_dst_ip",
    "unicast_ttl",
];

fn instance_body(
    b: &[Stmt],
    v: &mut VrrpInstance,
    name: &str,
    dynamic_if: bool,
    next_pref: &mut u32,
    d: &mut Diags,
) {
    for k in b {
        let kw = k.kw.text.as_str();
        if SCALAR_INSTANCE_KEYWORDS.contains(&kw) {
            if let Some((_, first)) = v.keyword_pos.iter().find(|(k2, _)| k2 == kw) {
                d.note(
                    Some(k.pos()),
                    format!(
                        "({name}) '{kw}' given twice (first at line {}); the last one wins (keepalived does not flag this)",
                        first.line
                    ),
                );
            }
        }
        v.keyword_pos.push((kw.to_string(), k.pos().clone()));
        if bare("instance", k, name, d) {
            continue;
        }
        let prefix = format!("({name}) ");
        if notify_kw(kw, k, &mut v.notify, &prefix, d) || track_kw(kw, k, name, &mut v.track, d) {
            continue;
        }
        match kw {
            "state" => {
                if let Some(t) = arg(k, 0, d) {
                    match t.text.as_str() {
                        "MASTER" => v.state_master = Some(true),
                        "BACKUP" => {
                            // keepalived compat: BACKUP after MASTER is ignored (rc 5).
                            if v.state_master == Some(true) {
                                d.error(
                                    Some(&t.pos),
                                    format!(
                                        "({name}) state previously set as MASTER - ignoring BACKUP"
                                    ),
                                );
                            } else {
                                v.state_master = Some(false)
                            }
                        }
                        other => {
                            d.error(
                                Some(&t.pos),
                                format!("({name}) unknown state '{other}', defaulting to BACKUP"),
                            );
                            v.state_master = Some(false);
                        }
                    }
                }
            }
            "interface" => {
                if let Some(t) = arg(k, 0, d) {
                    if t.text.len() >= 16 {
                        d.error(
                            Some(&t.pos),
                            format!("Interface name '{}' too long - ignoring", t.text),
                        );
                    } else if t.text == "lo" {
                        // keepalived compat: this also forgets an earlier `interface`.
                        d.error(
                            Some(&t.pos),
                            format!(
                                "({name}) cannot use a loopback interface (lo) for vrrp - ignoring"
                            ),
                        );
                        if let Some((prev, ppos)) = v.interface.take() {
                            v.if_refs.push(IfRef {
                                name: prev,
                                what: format!("vrrp_instance {name}"),
                                pos: ppos,
                            });
                        }
                    } else {
                        // keepalived compat: every `interface` line is checked as it is read.
                        if let Some((prev, ppos)) = v.interface.take() {
                            v.if_refs.push(IfRef {
                                name: prev,
                                what: format!("vrrp_instance {name}"),
                                pos: ppos,
                            });
                        }
                        v.interface = Some((t.text.clone(), t.pos.clone()));
                    }
                }
            }
            "vrf" => {
                d.unsupported(Some(k.pos()), kw);
                v.vrf = true;
            }
            "use_vmac" => {
                v.use_vmac = true;
                for t in &k.args {
                    if is_mac(&t.text) {
                        d.unsupported(Some(&t.pos), "use_vmac with a MAC address");
                    } else if v.vmac_name.is_some() {
                        d.error(Some(&t.pos), "VMAC interface name already specified");
                    } else if !valid_ifname(&t.text) {
                        d.error(
                            Some(&t.pos),
                            format!(
                                "VMAC interface name '{}' too long or invalid characters - ignoring",
                                t.text
                            ),
                        );
                    } else {
                        v.vmac_name = Some(t.text.clone());
                    }
                }
            }
            "use_ipvlan" => {
                d.unsupported(Some(k.pos()), kw);
                v.use_ipvlan = true;
                v.use_ipvlan_addr = k.args.iter().find_map(|t| {
                    let a = t.text.split_once('/').map_or(t.text.as_str(), |x| x.0);
                    a.parse().ok()
                });
            }
            "vmac_xmit_base" => v.vmac_xmit_base = true,
            "smtp_alert" => {
                if let Some(b) = read_bool_msg(k, d, |v| {
                    format!("Invalid vrrp_instance smtp_alert parameter {v}")
                }) {
                    v.smtp_alert = Some(b);
                }
            }
            "use_vmac_addr" | "kernel_rx_buf_size" | "garp_extra_if" => {
                d.unsupported(Some(k.pos()), kw)
            }
            // keepalived 2.2.7 compat: the deprecation is reported as a config error (rc 5).
            "lvs_sync_daemon_interface" => d.error(
                Some(k.pos()),
                format!(
                    "({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. \
                     Please use global lvs_sync_daemon"
                ),
            ),
            // keepalived compat: deprecated in an instance, reported as a config error.
            "linkbeat_use_polling" => d.error(
                Some(k.pos()),
                format!("({name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"),
            ),
            "debug" => d.note(
                Some(k.pos()),
                format!("'{kw}' has no effect in rkeepalived"),
            ),
            "virtual_router_id" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_int(t, 1, 255, d) {
                        Some(x) => v.virtual_router_id = Some(x as u8),
                        None => d.error(
                            Some(&t.pos),
                            format!(
                                "({name}): VRID '{}' not valid - must be between 1 & 255",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "priority" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_int(t, 1, 255, d) {
                        Some(x) => v.priority = Some(x as u8),
                        None => d.error(
                            Some(&t.pos),
                            format!("({name}) Priority not valid! must be between 1 & 255. Using default 100"),
                        ),
                    }
                }
            }
            "advert_int" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_decimal(t, 0.01, 255.0, d) {
                        Some(x) => v.advert_int = Some(x),
                        None => d.error(
                            Some(&t.pos),
                            format!(
                                "({name}) Advert interval ({}) not valid! Must be > 0 - ignoring",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "version" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_int(t, 2, 3, d) {
                        Some(x) => v.version = Some(x as u8),
                        None => d.error(
                            Some(&t.pos),
                            format!(
                                "({name}): Version {} not valid! must be between 2 & 3",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "native_ipv6" => v.native_ipv6 = true,
            "nopreempt" => v.nopreempt = true,
            "preempt" => v.nopreempt = false,
            "preempt_delay" => {
                if let Some(t) = arg(k, 0, d) {
                    match read_decimal(t, 0.0, 1000.0, d) {
                        Some(x) => v.preempt_delay_us = Some(secs_to_us(x)),
                        None => d.error(
                            Some(&t.pos),
                            format!("({name}) Preempt_delay not valid! must be between 0-1000"),
                        ),
                    }
                }
            }
            "authentication" => {
                v.auth_pos = Some(k.pos().clone());
                for a in require_block(k, d) {
                    if bare("auth", a, name, d) {
                        continue;
                    }
                    match a.kw.text.as_str() {
                        "auth_type" => match a.args.first().map(|t| t.text.as_str()) {
                            Some("PASS") => v.auth_type = Some(AuthType::Pass),
                            Some("AH") => v.auth_type = Some(AuthType::Ah),
                            _ => d.error(
                                Some(a.pos()),
                                format!("({name}) unknown authentication type '{}'", args_text(a)),
                            ),
                        },
                        "auth_pass" => {
                            if let Some(t) = arg(a, 0, d) {
                                let mut p = t.text.clone();
                                if p.len() > 8 {
                                    d.error(Some(&t.pos), "Truncating auth_pass to 8 characters");
                                    let mut cut = 8;
                                    while !p.is_char_boundary(cut) {
                                        cut -= 1;
                                    }
                                    p.truncate(cut);
                                }
                                // keepalived compat: `auth_pass ""` is no password.
                                if !p.is_empty() {
                                    v.auth_pass = Some(p);
                                }
                            }
                        }
                        _ => unknown(a, d, |_, _| {}),
                    }
                }
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                for line in require_block(k, d) {
                    if let Some(vip) = vip_line(line, dynamic_if, d) {
                        if kw == "virtual_ipaddress" {
                            v.virtual_ipaddress.push((vip, line.pos().clone()));
                        } else {
                            v.virtual_ipaddress_excluded.push((vip, line.pos().clone()));
                        }
                    }
                }
            }
            "no_virtual_ipaddress" => {
                newer_than_227(k, d);
                v.no_virtual_ipaddress = true
            }
            "virtual_routes" => {
                let b = require_block(k, d);
                route_tracking_check(b, d);
                v.virtual_routes.clear();
                for l in b {
                    if let Some(r) = route_line(l, d) {
                        v.virtual_routes.push(r);
                        v.if_refs
                            .extend(dev_ref(l, &["dev", "oif"], "VROUTE nexthop"));
                    }
                }
            }
            "virtual_rules" => {
                let b = require_block(k, d);
                v.virtual_rules.clear();
                for l in b {
                    if let Some(r) = rule_line(l, next_pref, d) {
                        v.virtual_rules.push(r);
                        v.if_refs.extend(dev_ref(l, &["dev", "iif"], "rule"));
                        v.if_refs.extend(dev_ref(l, &["oif"], "rule"));
                    }
                }
            }
            "promote_secondaries" => v.promote_secondaries = true,
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(t) = arg(k, 0, d) {
                    match parse_addr_drop_prefix(t, d) {
                        Some(a) => {
                            if kw == "unicast_src_ip" {
                                v.unicast_src_ip = Some(a)
                            } else {
                                v.mcast_src_ip = Some(a)
                            }
                        }
                        None => d.error(
                            Some(&t.pos),
                            format!("({name}) invalid {kw} address '{}'", t.text),
                        ),
                    }
                }
            }
            "unicast_peer" => {
                for line in require_block(k, d) {
                    let Some(addr) = parse_addr_drop_prefix(&line.kw, d) else {
                        d.error(
                            Some(line.pos()),
                            format!(
                                "({name}) VRRP parsed invalid IP {}. skipping IP...",
                                line.kw.text
                            ),
                        );
                        continue;
                    };
                    let mut p = Peer {
                        addr,
                        pos: line.pos().clone(),
                        min_ttl: None,
                        max_ttl: None,
                    };
                    let mut i = 0;
                    while i < line.args.len() {
                        let t = &line.args[i];
                        match (t.text.as_str(), line.args.get(i + 1)) {
                            ("min_ttl", Some(x)) => {
                                p.min_ttl = read_int(x, 0, 255, d).map(|x| x as u8);
                                i += 1;
                            }
                            ("max_ttl", Some(x)) => {
                                p.max_ttl = read_int(x, 0, 255, d).map(|x| x as u8);
                                i += 1;
                            }
                            _ => d.error(
                                Some(&t.pos),
                                format!("({name}) unknown unicast_peer option '{}'", t.text),
                            ),
                        }
                        i += 1;
                    }
                    v.unicast_peer.push(p);
                }
            }
            "unicast_ttl" => {
                if let Some(t) = arg(k, 0, d) {
                    v.unicast_ttl = read_int(t, 0, 255, d).map(|x| x as u8);
                    if v.unicast_ttl.is_none() {
                        d.error(
                            Some(&t.pos),
                            format!(
                                "({name}): TTL '{}' not valid - must be between 0 & 255",
                                t.text
                            ),
                        );
                    }
                }
            }
            "check_unicast_src" => v.check_unicast_src = true,
            "unicast_fault_no_peer" => v.unicast_fault_no_peer = true,
            "old_unicast_checksum" => {
                v.old_unicast_checksum = Some(k.args.first().is_none_or(|t| t.text != "never"))
            }
            "v3_checksum_as_v2" => {
                newer_than_227(k, d);
                v.v3_checksum_as_v2 = read_bool(k, d)
            }
            "mcast_dst_ip" => {
                if let Some(t) = arg(k, 0, d) {
                    match parse_addr_drop_prefix(t, d) {
                        Some(a) if a.is_multicast() => v.mcast_dst_ip = Some(a),
                        _ => d.error(
                            Some(&t.pos),
                            format!(
                                "({name}) mcast_dst_ip '{}' is not a multicast address",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "track_src_ip" => v.track_src_ip = true,
            "dont_track_primary" => v.dont_track_primary = true,
            "garp_master_delay" | "garp_lower_prio_delay" | "garp_master_refresh" => {
                if let Some(t) = arg(k, 0, d) {
                    if let Some(x) = read_int(t, 0, i64::from(u32::MAX / 1000), d) {
                        let x = Some(x as u32);
                        match kw {
                            "garp_master_delay" => v.garp_master_delay = x,
                            "garp_lower_prio_delay" => v.garp_lower_prio_delay = x,
                            _ => v.garp_master_refresh = x,
                        }
                    }
                }
            }
            "garp_master_repeat" | "garp_lower_prio_repeat" | "garp_master_refresh_repeat" => {
                if let Some(t) = arg(k, 0, d) {
                    if let Some(mut x) = read_int(t, 0, i64::from(i32::MAX), d) {
                        if x == 0 && kw != "garp_lower_prio_repeat" {
                            d.error(
                                Some(&t.pos),
                                format!("({name}) {kw} must be greater than 0, setting to 1"),
                            );
                            x = 1;
                        }
                        let x = Some(x as u32);
                        match kw {
                            "garp_master_repeat" => v.garp_master_repeat = x,
                            "garp_lower_prio_repeat" => v.garp_lower_prio_repeat = x,
                            _ => v.garp_master_refresh_repeat = x,
                        }
                    }
                }
            }
            "down_timer_adverts" => {
                if let Some(t) = arg(k, 0, d) {
                    v.down_timer_adverts = read_int(t, 1, 100, d).map(|x| x as u8);
                    if v.down_timer_adverts.is_none() {
                        d.error(
                            Some(&t.pos),
                            format!("({name}): Invalid down_timer_adverts [1:100] '{}'", t.text),
                        );
                    }
                }
            }
            "lower_prio_no_advert" => v.lower_prio_no_advert = read_bool(k, d),
            "higher_prio_send_advert" => v.higher_prio_send_advert = read_bool(k, d),
            "owner_ignore_adverts" => {
                newer_than_227(k, d);
                v.owner_ignore_adverts = read_bool(k, d)
            }
            "accept" => v.accept = Some(true),
            "no_accept" => v.accept = Some(false),
            "skip_check_adv_addr" => v.skip_check_adv_addr = read_bool(k, d),
            "strict_mode" => v.strict_mode = read_bool(k, d),
            _ => unknown(k, d, |inner, d| {
                instance_body(inner, v, name, dynamic_if, next_pref, d)
            }),
        }
    }
}

/// The words of one route or rule line.
pub type RawLine = Vec<String>;

fn raw(line: &Stmt) -> RawLine {
    line.words().iter().map(|t| t.text.clone()).collect()
}

/// A static line without its `track_group NAME` (which must name a `track_group` defined
/// above, as in keepalived), and whether it had one.
fn strip_track_group(
    line: &Stmt,
    known: &[String],
    name_fatal: bool,
    d: &mut Diags,
) -> (Stmt, bool) {
    let mut out = line.clone();
    let mut seen = false;
    while let Some(i) = out.args.iter().position(|t| t.text == "track_group") {
        let kw = out.args.remove(i);
        if i < out.args.len() {
            let name = out.args.remove(i);
            if seen {
                d.error(
                    Some(&name.pos),
                    format!("track_group {} is a duplicate", name.text),
                );
            } else if !known.contains(&name.text) {
                d.error(
                    Some(&name.pos),
                    format!("track_group {} not found", name.text),
                );
            }
        } else if name_fatal {
            // keepalived compat: routes and rules read the name as a parameter (exit 2).
            d.error_class(
                Some(&kw.pos),
                super::diag::class::MISSING_PARAMETER,
                format!(
                    "*** Configuration line starting `{}` is missing a parameter after keyword \
                     `track_group` at word position {}",
                    line.kw.text,
                    line.args.len() + 2
                ),
            );
        } else {
            d.error(
                Some(&kw.pos),
                format!("No track_group parameter specified for {}", line.kw.text),
            );
        }
        seen = true;
    }
    (out, seen)
}

/// keepalived's tracking check of `virtual_routes` / `static_routes` lines (a route without
/// `dev` cannot be tracked); the lines themselves are resolved by [`route_line`].
fn route_tracking_check(b: &[Stmt], d: &mut Diags) {
    for line in b {
        let w = line.words();
        if !w.iter().any(|t| t.text == "dev") {
            // The destination: the first address-looking word that is not the argument of
            // `src`, `via`/`gw` or `or`.
            let mut dest = String::new();
            let mut skip = false;
            for t in &w {
                let x = t.text.as_str();
                if skip {
                    skip = false;
                    continue;
                }
                if matches!(
                    x,
                    "src" | "via" | "gw" | "or" | "table" | "metric" | "priority"
                ) {
                    skip = true;
                    continue;
                }
                if x == "default" || x.contains(['.', ':', '/']) {
                    dest = x.to_string();
                    break;
                }
            }
            d.error(
                Some(line.pos()),
                format!(
                    "Warning - cannot track route {dest} with no interface specified, not tracking"
                ),
            );
        }
    }
}

/// One `virtual_routes` line (`ip route` syntax, no abbreviations). Returns None (with a
/// diagnostic, worded like keepalived 2.2.7's where it has one) for a line with a bad value,
/// or a keyword keepalived accepts but rkeepalived does not install (a warning).
pub fn route_line(line: &Stmt, d: &mut Diags) -> Option<RouteSpec> {
    let w = line.words();
    let first = &line.kw;
    if matches!(first.text.as_str(), "inet" | "inet6") {
        // keepalived compat: 2.2.7 loses the destination after a leading family keyword.
        d.error(Some(&first.pos), "Route must have a destination");
        return None;
    }
    let mut v6 = None::<bool>;
    let mut dst: Option<(Option<IpAddr>, Option<u8>, &Tok)> = None;
    let mut protocol_tok: Option<&Tok> = None;
    let mut r = RouteSpec::new(IpAddr::from([0u8, 0, 0, 0]), 0);
    let mut i = 0;
    while i < w.len() {
        let t = w[i];
        let x = t.text.as_str();
        let takes_value = matches!(
            x,
            "src"
                | "via"
                | "gw"
                | "dev"
                | "oif"
                | "scope"
                | "table"
                | "metric"
                | "priority"
                | "preference"
                | "protocol"
                | "to"
        );
        let next = w.get(i + 1).copied();
        if takes_value && next.is_none() {
            // keepalived compat: fatal for the parse (exit 2), with this wording.
            d.error_class(
                Some(&t.pos),
                super::diag::class::MISSING_PARAMETER,
                format!(
                    "*** Configuration line starting `{}` is missing a parameter after keyword `{x}` at word position {}",
                    first.text,
                    i + 2
                ),
            );
            return None;
        }
        let n = next.unwrap_or(t);
        match x {
            "inet" => v6 = Some(false),
            "inet6" => v6 = Some(true),
            "src" | "via" | "gw" => {
                let Ok(a) = n.text.parse::<IpAddr>() else {
                    d.error(
                        Some(&n.pos),
                        format!("VRRP parsed invalid IP {}. skipping IP...", n.text),
                    );
                    d.error(
                        Some(&n.pos),
                        format!("invalid route {x} address {}", n.text),
                    );
                    return None;
                };
                if x == "src" {
                    r.src = Some(a);
                } else {
                    r.gateway = Some(a);
                }
            }
            "dev" | "oif" => r.dev = Some(n.text.clone()),
            "scope" => {
                r.scope = Some(match n.text.as_str() {
                    "global" | "universe" => 0,
                    "site" => 200,
                    "link" => 253,
                    "host" => 254,
                    "nowhere" => 255,
                    s => match s.parse::<u8>() {
                        Ok(v) => v,
                        Err(_) => {
                            d.error(
                                Some(&n.pos),
                                format!("Scope {s} not found or invalid for route"),
                            );
                            return None;
                        }
                    },
                });
            }
            "table" => {
                r.table = match n.text.as_str() {
                    "default" => Some(253),
                    "main" => Some(254),
                    "local" => Some(255),
                    s => match s.parse::<u32>() {
                        // Table 0 (RT_TABLE_UNSPEC) means main to the kernel.
                        Ok(0) => None,
                        Ok(v) => Some(v),
                        Err(_) => {
                            d.error(
                                Some(&n.pos),
                                format!("Routing table {s} not found for route"),
                            );
                            return None;
                        }
                    },
                };
            }
            "metric" | "priority" | "preference" => {
                let Ok(m) = n.text.parse::<u32>() else {
                    d.error(Some(&n.pos), format!("invalid number '{}'", n.text));
                    d.error(
                        Some(&n.pos),
                        format!("Invalid metric {} specified for route", n.text),
                    );
                    return None;
                };
                r.metric = Some(m);
            }
            "protocol" => {
                r.protocol = Some(match n.text.as_str() {
                    "redirect" => 1,
                    "kernel" => 2,
                    "boot" => 3,
                    "static" => 4,
                    "ra" => 9,
                    "dhcp" => 16,
                    "keepalived" => 18,
                    s => match s.parse::<u8>() {
                        Ok(v) => v,
                        Err(_) => {
                            d.error(
                                Some(&n.pos),
                                format!("Protocol {s} not found or invalid for route"),
                            );
                            return None;
                        }
                    },
                });
                protocol_tok = Some(n);
            }
            "to" => {
                dst = Some(parse_dst(n, d)?);
                if n.text == "default" && r.src.is_some() {
                    // keepalived compat: 2.2.7 rejects `src ADDR ... default`.
                    d.error(
                        Some(&n.pos),
                        "Cannot mix IPv4 and IPv6 addresses for route (default)",
                    );
                    return None;
                }
            }
            "unicast" => r.kind = RouteType::Unicast,
            "blackhole" => r.kind = RouteType::Blackhole,
            "unreachable" => r.kind = RouteType::Unreachable,
            "prohibit" => r.kind = RouteType::Prohibit,
            "throw" => r.kind = RouteType::Throw,
            "onlink" => r.onlink = true,
            "no_track" => r.no_track = true,
            "tos" | "dsfield" | "mtu" | "advmss" | "rtt" | "rttvar" | "reordering" | "window"
            | "cwnd" | "initcwnd" | "initrwnd" | "ssthresh" | "realms" | "features"
            | "quickack" | "congctl" | "pref" | "expires" | "fastopen_no_cookie" | "rto_min"
            | "hoplimit" | "nexthop" | "encap" | "lock" | "nhid" | "ttl-propagate" | "as"
            | "from" | "mpath" | "multipath" | "local" | "broadcast" | "anycast" | "multicast"
            | "nat" => {
                d.warning(
                    Some(&t.pos),
                    format!("route keyword '{x}' is not supported by rkeepalived; route ignored"),
                );
                return None;
            }
            _ if dst.is_none() && (x == "default" || x.contains(['.', ':', '/'])) => {
                dst = Some(parse_dst(t, d)?);
                if x == "default" && r.src.is_some() {
                    d.error(
                        Some(&t.pos),
                        "Cannot mix IPv4 and IPv6 addresses for route (default)",
                    );
                    return None;
                }
            }
            _ => {
                d.error(
                    Some(&t.pos),
                    format!("VRRP parsed invalid IP {x}. skipping IP..."),
                );
                d.error(Some(&t.pos), format!("unknown route keyword {x}"));
                return None;
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    let Some((addr, plen, dtok)) = dst else {
        d.error(Some(line.pos()), "Route must have a destination");
        return None;
    };
    if let (Some(p), false) = (r.protocol, r.no_track)
        && p != 18
    {
        // keepalived compat: a tracked route must carry keepalived's protocol number.
        d.error(
            protocol_tok.map(|t| &t.pos),
            "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
        );
        r.protocol = None;
    }
    let fam6 = addr
        .map(|a| a.is_ipv6())
        .or(v6)
        .or(r.gateway.map(|a| a.is_ipv6()))
        .or(r.src.map(|a| a.is_ipv6()))
        .unwrap_or(false);
    for a in [addr, r.gateway, r.src].into_iter().flatten() {
        if a.is_ipv6() != fam6 {
            d.error(
                Some(&dtok.pos),
                "Cannot mix IPv4 and IPv6 addresses for route",
            );
            return None;
        }
    }
    let max: u8 = if fam6 { 128 } else { 32 };
    r.dst = addr.unwrap_or(if fam6 {
        IpAddr::from([0u16; 8])
    } else {
        IpAddr::from([0u8; 4])
    });
    r.prefix_len = match (addr, plen) {
        (None, _) => 0,
        (Some(_), Some(p)) if p <= max => p,
        (Some(_), Some(p)) => {
            d.error(
                Some(&dtok.pos),
                format!("number '{p}' outside range [0, {max}]"),
            );
            d.error(
                Some(&dtok.pos),
                format!(
                    "Invalid address prefix len {p} for address {} - using {max}",
                    dtok.text
                ),
            );
            max
        }
        (Some(_), None) => max,
    };
    Some(r)
}

/// `default` or `ADDR[/LEN]` (LEN checked against the family by the caller).
fn parse_dst<'a>(t: &'a Tok, d: &mut Diags) -> Option<(Option<IpAddr>, Option<u8>, &'a Tok)> {
    if t.text == "default" {
        return Some((None, None, t));
    }
    let (a, p) = match t.text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t.text.as_str(), None),
    };
    let Ok(addr) = a.parse::<IpAddr>() else {
        d.error(
            Some(&t.pos),
            format!("VRRP parsed invalid IP {}. skipping IP...", t.text),
        );
        return None;
    };
    let plen = match p {
        None => None,
        Some(p) => match prefix_len(p, u8::MAX) {
            Some(l) => Some(l),
            None => {
                d.error(Some(&t.pos), format!("invalid number '{p}'"));
                return None;
            }
        },
    };
    note_empty_prefix(t, p, d);
    Some((Some(addr), plen, t))
}

/// A number in decimal or `0x` hex (fwmark, tos).
fn num_any(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// One `virtual_rules` line (`ip rule` syntax). Returns None (with a diagnostic worded like
/// keepalived 2.2.7's) for a bad value, or a keyword keepalived accepts but rkeepalived does
/// not install (a warning). A rule without a preference gets the next one down from 16384.
pub fn rule_line(line: &Stmt, next_pref: &mut u32, d: &mut Diags) -> Option<RuleSpec> {
    let w = line.words();
    let first = &line.kw;
    let mut r = RuleSpec::new(0);
    let mut pref: Option<u32> = None;
    let mut fam: Option<bool> = None;
    // keepalived 2.2.7 compat (observed): a rule needs exactly one action (table/lookup,
    // goto, blackhole, prohibit, unreachable, nop, l3mdev, or `type` + one of those); a keyword rkeepalived cannot install still lets the line be checked in full.
    let mut actions = 0;
    let mut unsupported: Option<&Tok> = None;
    let mut i = 0;
    if matches!(first.text.as_str(), "inet" | "inet6") {
        // keepalived compat: 2.2.7 swallows the word after a leading family keyword.
        fam = Some(first.text == "inet6");
        i = 2;
    }
    let mut check_fam = |v6: bool, t: &Tok, d: &mut Diags| {
        if *fam.get_or_insert(v6) != v6 {
            d.error(Some(&t.pos), "rule specification has mixed IPv4 and IPv6");
            return false;
        }
        true
    };
    while i < w.len() {
        let t = w[i];
        let x = t.text.as_str();
        let takes_value = matches!(
            x,
            "from"
                | "to"
                | "table"
                | "lookup"
                | "preference"
                | "priority"
                | "order"
                | "iif"
                | "dev"
                | "oif"
                | "fwmark"
                | "tos"
                | "dsfield"
                | "goto"
                | "type"
                | "realms"
                | "uidrange"
                | "protocol"
                | "ipproto"
                | "ip_proto"
                | "sport"
                | "dport"
                | "suppress_prefixlength"
                | "suppress_ifgroup"
        );
        let next = w.get(i + 1).copied();
        if takes_value && next.is_none() {
            // keepalived compat: fatal for the parse (exit 2), with this wording.
            d.error_class(
                Some(&t.pos),
                super::diag::class::MISSING_PARAMETER,
                format!(
                    "*** Configuration line starting `{}` is missing a parameter after keyword `{x}` at word position {}",
                    first.text,
                    i + 2
                ),
            );
            return None;
        }
        let n = next.unwrap_or(t);
        match x {
            "inet" => {
                if !check_fam(false, t, d) {
                    return None;
                }
            }
            "inet6" => {
                if !check_fam(true, t, d) {
                    return None;
                }
            }
            "from" | "to" => {
                if n.text != "all" {
                    let (a, p) = match n.text.split_once('/') {
                        Some((a, p)) => (a, Some(p)),
                        None => (n.text.as_str(), None),
                    };
                    let Ok(addr) = a.parse::<IpAddr>() else {
                        d.error(
                            Some(&n.pos),
                            format!("VRRP parsed invalid IP {}. skipping IP...", n.text),
                        );
                        d.error(Some(&n.pos), format!("Invalid rule {x} address {}", n.text));
                        return None;
                    };
                    let max: u8 = if addr.is_ipv6() { 128 } else { 32 };
                    let len = match p.map(|p| prefix_len(p, max)) {
                        None => max,
                        Some(Some(l)) => l,
                        Some(None) => {
                            d.error(Some(&n.pos), format!("Invalid rule {x} address {}", n.text));
                            return None;
                        }
                    };
                    note_empty_prefix(n, p, d);
                    if !check_fam(addr.is_ipv6(), n, d) {
                        return None;
                    }
                    if x == "from" {
                        r.from = Some((addr, len));
                    } else {
                        r.to = Some((addr, len));
                    }
                }
            }
            "table" | "lookup" => {
                actions += 1;
                r.table = match n.text.as_str() {
                    "default" => Some(253),
                    "main" => Some(254),
                    "local" => Some(255),
                    s => match s.parse::<u32>() {
                        Ok(0) => {
                            d.error(Some(&n.pos), "Table 0 is not valid");
                            return None;
                        }
                        Ok(v) => Some(v),
                        Err(_) => {
                            d.error(
                                Some(&n.pos),
                                format!("Routing table {s} not found for rule"),
                            );
                            return None;
                        }
                    },
                };
            }
            "preference" | "priority" | "order" => match n.text.parse::<u32>() {
                Ok(p) => pref = Some(p),
                Err(_) => {
                    d.error(Some(&n.pos), format!("invalid number '{}'", n.text));
                    d.error(
                        Some(&n.pos),
                        format!("Invalid rule preference {x} specified"),
                    );
                    return None;
                }
            },
            "iif" | "dev" => r.iif = Some(n.text.clone()),
            "oif" => r.oif = Some(n.text.clone()),
            "fwmark" => {
                let (v, m) = match n.text.split_once('/') {
                    Some((v, m)) => (v, Some(m)),
                    None => (n.text.as_str(), None),
                };
                match (num_any(v), m.map(num_any)) {
                    (Some(v), None) => r.fwmark = Some(v),
                    (Some(v), Some(Some(m))) => {
                        r.fwmark = Some(v);
                        r.fwmask = Some(m);
                    }
                    _ => {
                        d.error(
                            Some(&n.pos),
                            format!("Invalid rule fwmark {} specified", n.text),
                        );
                        return None;
                    }
                }
            }
            "tos" | "dsfield" => match num_any(&n.text).and_then(|v| u8::try_from(v).ok()) {
                Some(v) => r.tos = Some(v),
                None => {
                    d.error(
                        Some(&n.pos),
                        format!("Invalid rule tos {} specified", n.text),
                    );
                    return None;
                }
            },
            "type" => match n.text.as_str() {
                "blackhole" | "unreachable" | "prohibit" | "nop" | "goto" => {
                    // `type X` is the action X.
                    i += 1;
                    continue;
                }
                "unicast" | "nat" => {
                    d.error(Some(&n.pos), format!("Invalid rule action {}", n.text));
                    return None;
                }
                other => {
                    d.error(Some(&n.pos), format!("Unknown rule option {other}"));
                    return None;
                }
            },
            "nat" => {
                d.error(Some(&t.pos), "Invalid rule action nat");
                return None;
            }
            "nop" => {
                actions += 1;
                unsupported.get_or_insert(t);
            }
            "l3mdev" => {
                actions += 1;
                unsupported.get_or_insert(t);
            }
            "goto" => match n.text.parse::<u32>() {
                Ok(g) => {
                    actions += 1;
                    r.action = RuleAction::Goto(g)
                }
                Err(_) => {
                    d.error(
                        Some(&n.pos),
                        format!("Invalid rule goto {} specified", n.text),
                    );
                    return None;
                }
            },
            "blackhole" => {
                actions += 1;
                r.action = RuleAction::Blackhole
            }
            "unreachable" => {
                actions += 1;
                r.action = RuleAction::Unreachable
            }
            "prohibit" => {
                actions += 1;
                r.action = RuleAction::Prohibit
            }
            "not" => r.invert = true,
            "no_track" => r.no_track = true,
            "realms"
            | "uidrange"
            | "protocol"
            | "ipproto"
            | "ip_proto"
            | "sport"
            | "dport"
            | "suppress_prefixlength"
            | "suppress_ifgroup" => {
                unsupported.get_or_insert(t);
            }
            _ => {
                d.error(Some(&t.pos), format!("Unknown rule option {x}"));
                return None;
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    if actions > 1 {
        d.error(
            Some(line.pos()),
            "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule",
        );
        return None;
    }
    if actions == 0 {
        d.error(Some(line.pos()), "No action specified for rule - ignoring");
        return None;
    }
    r.v6 = fam.unwrap_or(false);
    r.priority = match pref {
        Some(p) => p,
        None => {
            d.error(
                Some(line.pos()),
                format!(
                    "Rule has no preference specified - setting to {next_pref}. This is probably not what you want."
                ),
            );
            let p = *next_pref;
            *next_pref = next_pref.saturating_sub(1);
            p
        }
    };
    if let Some(t) = unsupported {
        d.warning(
            Some(&t.pos),
            format!(
                "rule keyword '{}' is not supported by rkeepalived; rule ignored",
                t.text
            ),
        );
        return None;
    }
    Some(r)
}

/// One `virtual_ipaddress` line (reference §3.8).
pub fn vip_line(line: &Stmt, _dynamic_if: bool, d: &mut Diags) -> Option<VipSpec> {
    let first = &line.kw;
    let (addr_s, prefix_s) = match first.text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (first.text.as_str(), None),
    };
    let Ok(addr) = addr_s.parse::<IpAddr>() else {
        d.error(
            Some(&first.pos),
            format!("VRRP parsed invalid IP {}. skipping IP...", first.text),
        );
        return None;
    };
    let mut vip = VipSpec::new(addr);
    let maxp: i64 = if addr.is_ipv4() { 32 } else { 128 };
    if let Some(p) = prefix_s {
        let t = Tok {
            text: p.to_string(),
            pos: first.pos.clone(),
        };
        let len = if p.is_empty() {
            Some(0)
        } else if p.starts_with('-') {
            d.error(Some(&first.pos), format!("negative number '{p}'"));
            None
        } else {
            read_int(&t, 0, maxp, d)
        };
        match len {
            Some(x) => vip.prefix_len = x as u8,
            None => d.error(
                Some(&first.pos),
                format!(
                    "Invalid address prefix len {p} for address {} - using {maxp}",
                    first.text
                ),
            ),
        }
        note_empty_prefix(first, prefix_s, d);
    }
    let args = &line.args;
    let mut i = 0;
    let need = |i: usize, d: &mut Diags| -> Option<&Tok> {
        let t = args.get(i + 1);
        if t.is_none() {
            d.error(
                Some(&args[i].pos),
                format!("No {} parameter specified for {}", args[i].text, first.text),
            );
        }
        t
    };
    while i < args.len() {
        let t = &args[i];
        match t.text.as_str() {
            "dev" => {
                let v = need(i, d)?;
                vip.dev = Some(v.text.clone());
                i += 1;
            }
            "brd" => {
                let v = need(i, d)?;
                if let IpAddr::V4(a) = addr {
                    let host_bits = 32 - u32::from(vip.prefix_len.min(32));
                    let mask = if host_bits >= 32 {
                        u32::MAX
                    } else {
                        (1u32 << host_bits) - 1
                    };
                    vip.broadcast = match v.text.as_str() {
                        "+" => Some((u32::from(a) | mask).into()),
                        "-" => Some((u32::from(a) & !mask).into()),
                        s => match s.parse() {
                            Ok(b) => Some(b),
                            Err(_) => {
                                d.error(Some(&v.pos), format!("Invalid broadcast address {s}"));
                                None
                            }
                        },
                    };
                } else {
                    d.error(
                        Some(&t.pos),
                        format!(
                            "VRRP is trying to assign a broadcast {} to the IPv6 address {} !!?? WTF... skipping VIP...",
                            t.text, first.text
                        ),
                    );
                    return None;
                }
                i += 1;
            }
            "scope" => {
                let v = need(i, d)?;
                vip.scope = match v.text.as_str() {
                    "global" | "universe" => 0,
                    "site" => 200,
                    "link" => 253,
                    "host" => 254,
                    "nowhere" => 255,
                    s => match s.parse::<u8>() {
                        Ok(n) => n,
                        Err(_) => {
                            d.error(
                                Some(&v.pos),
                                format!(
                                    "Invalid scope '{s}' specified for {} - ignoring",
                                    first.text
                                ),
                            );
                            0
                        }
                    },
                };
                i += 1;
            }
            "label" => {
                let v = need(i, d)?;
                if v.text.len() >= 16 {
                    // keepalived compat: the whole address is dropped.
                    d.error(
                        Some(&v.pos),
                        format!(
                            "Address label {} is longer than maximum length 15 - removing address",
                            v.text
                        ),
                    );
                    return None;
                } else {
                    vip.label = Some(v.text.clone());
                }
                i += 1;
            }
            "peer" => {
                let v = need(i, d)?;
                // keepalived 2.2.7 compat: a peer with a prefix is rejected with the address.
                match v.text.parse::<IpAddr>() {
                    Ok(p) if p.is_ipv4() == addr.is_ipv4() => {
                        vip.peer = Some((p, if p.is_ipv4() { 32 } else { 128 }))
                    }
                    _ => {
                        d.error(
                            Some(&v.pos),
                            format!("VRRP parsed invalid IP {}. skipping IP...", v.text),
                        );
                        d.error(Some(&v.pos), format!("Invalid peer address {}", v.text));
                        return None;
                    }
                }
                i += 1;
            }
            "home" => vip.home = true,
            "-nodad" => vip.nodad = true,
            "mngtmpaddr" => vip.mngtmpaddr = true,
            "noprefixroute" => vip.noprefixroute = true,
            "autojoin" => vip.autojoin = true,
            "no_track" => vip.no_track = true,
            "preferred_lft" => {
                let v = need(i, d)?;
                vip.preferred_lft = if v.text == "forever" {
                    None
                } else {
                    read_int(v, 0, i64::from(u32::MAX), d).map(|x| x as u32)
                };
                i += 1;
            }
            "use_vmac" => d.unsupported(Some(&t.pos), "use_vmac on an ip address"),
            other => d.error(
                Some(&t.pos),
                format!("Unknown configuration entry '{other}' for ip address - ignoring"),
            ),
        }
        i += 1;
    }
    Some(vip)
}
