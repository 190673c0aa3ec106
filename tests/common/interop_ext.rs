//! Interop helpers on top of [`super::netns`]: Debian's keepalived and rkeepalived as peers of
//! one VRRP group, each with its own config, pidfiles, log and `$TMPDIR` (for the SIGUSR2 stats
//! file), plus config rendering, state/VIP assertions and tshark checks of the adverts on the
//! bridge.
//!
//! Addresses (only inside the lab's namespaces): nodes 10.16.200.11 + i / fd16::11 + i on `eth1`,
//! VIPs 10.16.200.200 / fd16::200.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::netns::{
    Capture, DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip,
    step, wait_until, write_file,
};

pub const KEEPALIVED: &str = "/usr/sbin/keepalived";
pub const IFACE: &str = "eth1";
pub const VIP4: &str = "10.16.200.200";
pub const VIP6: &str = "fd16::200";
/// tcpdump filter for everything the tests look at: VRRP (both families), ARP, ICMPv6 (NA).
pub const CAPTURE_FILTER: &str = "ip proto 112 or ip6 proto 112 or arp or icmp6";

/// Root, tools and Debian's keepalived present (skip, or fail under CI, otherwise).
pub fn can_run() -> bool {
    require_root_or_skip() && require_tools_or_skip(&["tcpdump", "tshark", "setpriv", KEEPALIVED])
}

/// Which daemon a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// Debian's keepalived 2.2.7.
    Ka,
    /// The crate's binary (or `$RK_DAEMON`).
    Rk,
}

impl Impl {
    pub fn bin(self) -> PathBuf {
        match self {
            Impl::Ka => PathBuf::from(KEEPALIVED),
            Impl::Rk => daemon_bin(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Impl::Ka => "keepalived",
            Impl::Rk => "rkeepalived",
        }
    }
}

/// IPv4 or IPv6 instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    V4,
    V6,
}

/// One `vrrp_instance VI_1` (plus global_defs and an optional track script), rendered the same
/// way for both daemons.
#[derive(Clone, Debug)]
pub struct Conf {
    pub vrid: u8,
    pub priority: u8,
    /// "BACKUP" or "MASTER".
    pub state: &'static str,
    pub nopreempt: bool,
    /// As written in the config ("1", "0.1", ...).
    pub advert_int: String,
    /// `version 3` (IPv6 instances are v3 anyway).
    pub version3: bool,
    pub family: Fam,
    /// `unicast_src_ip` and `unicast_peer` (None = multicast).
    pub unicast: Option<(String, Vec<String>)>,
    /// `auth_type PASS` with this password.
    pub auth_pass: Option<String>,
    /// VIP lines (without `dev`/`label`, added by render).
    pub vips: Vec<String>,
    /// `vrrp_script chk { script "/bin/test -e FILE" interval 1 fall 1 rise 1 }` + track_script.
    pub track_file: Option<PathBuf>,
    /// `v3_checksum_as_v2` in global_defs.
    pub v3_checksum_as_v2: bool,
    /// Further lines for the instance block (e.g. "preempt_delay 3").
    pub extra: Vec<String>,
}

impl Conf {
    /// VRRPv2 multicast IPv4, BACKUP with preemption, advert_int 1, VIP 10.16.200.200.
    pub fn v2(priority: u8) -> Conf {
        Conf {
            vrid: 51,
            priority,
            state: "BACKUP",
            nopreempt: false,
            advert_int: "1".into(),
            version3: false,
            family: Fam::V4,
            unicast: None,
            auth_pass: None,
            vips: vec![VIP4.into()],
            track_file: None,
            v3_checksum_as_v2: false,
            extra: Vec::new(),
        }
    }

    /// VRRPv3 over IPv6 multicast, VIP fd16::200.
    pub fn v3_ipv6(priority: u8) -> Conf {
        Conf {
            version3: true,
            family: Fam::V6,
            vips: vec![VIP6.into()],
            ..Conf::v2(priority)
        }
    }

    /// The seed's shape: unicast to the peer, PASS auth, state BACKUP + nopreempt.
    pub fn seed(priority: u8, src: &str, peer: &str) -> Conf {
        Conf {
            vrid: 76,
            nopreempt: true,
            unicast: Some((src.into(), vec![peer.into()])),
            auth_pass: Some("dWc4Tddl".into()),
            ..Conf::v2(priority)
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::from("global_defs {\n    router_id rk_interop\n");
        if self.track_file.is_some() {
            s.push_str("    script_user root\n    enable_script_security\n");
        }
        if self.v3_checksum_as_v2 {
            s.push_str("    v3_checksum_as_v2\n");
        }
        s.push_str("}\n");
        if let Some(f) = &self.track_file {
            let _ = write!(
                s,
                "vrrp_script chk_file {{\n    script \"/bin/test -e {}\"\n    interval 1\n    fall 1\n    rise 1\n}}\n",
                f.display()
            );
        }
        let _ = write!(
            s,
            "vrrp_instance VI_1 {{\n    state {}\n    interface {IFACE}\n    virtual_router_id {}\n    priority {}\n    advert_int {}\n",
            self.state, self.vrid, self.priority, self.advert_int
        );
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if self.version3 && self.family == Fam::V4 {
            s.push_str("    version 3\n");
        }
        if let Some(p) = &self.auth_pass {
            let _ = write!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            );
        }
        s.push_str("    virtual_ipaddress {\n");
        for v in &self.vips {
            match self.family {
                Fam::V4 => {
                    let _ = writeln!(s, "        {v} dev {IFACE} label {IFACE}:1");
                }
                Fam::V6 => {
                    let _ = writeln!(s, "        {v} dev {IFACE}");
                }
            }
        }
        s.push_str("    }\n");
        if let Some((src, peers)) = &self.unicast {
            let _ = writeln!(s, "    unicast_src_ip {src}\n    unicast_peer {{");
            for p in peers {
                let _ = writeln!(s, "        {p}");
            }
            s.push_str("    }\n");
        }
        if self.track_file.is_some() {
            s.push_str("    track_script {\n        chk_file\n    }\n");
        }
        for l in &self.extra {
            let _ = writeln!(s, "    {l}");
        }
        s.push_str("}\n");
        s
    }

    /// The VIP as `ip -o addr` shows it (the first VIP).
    pub fn vip_cidr(&self) -> String {
        vip_cidr(&self.vips[0])
    }
}

/// "10.16.200.200" -> "10.16.200.200/32", "fd16::200" -> "fd16::200/128".
pub fn vip_cidr(v: &str) -> String {
    if v.contains('/') {
        v.to_string()
    } else if v.contains(':') {
        format!("{v}/128")
    } else {
        format!("{v}/32")
    }
}

/// Node i (0-based) addresses: 10.16.200.(11+i)/16 and fd16::(11+i)/64.
pub fn node_ip4(i: usize) -> String {
    format!("10.16.200.{}", 11 + i)
}

/// The two nodes of every interop lab.
pub const NODES: [&str; 2] = ["n1", "n2"];

/// Lab with nodes `n1` and `n2`, each with IPv4 and IPv6 addresses on eth1; waits until IPv6
/// DAD finished on both (link-local and global addresses usable).
pub fn interop_lab(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    let n = NODES.len();
    for i in 0..n {
        let (a4, a6) = (
            format!("{}/16", node_ip4(i)),
            format!("fd16::{}/64", 11 + i),
        );
        lab.add_node(&format!("n{}", i + 1), IFACE, &[&a4, &a6]);
    }
    for i in 0..n {
        let node = format!("n{}", i + 1);
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            let out = lab.exec(&node, &["ip", "-6", "-o", "addr", "show", "dev", IFACE]);
            let s = String::from_utf8_lossy(&out.stdout);
            s.contains("fe80::") && !s.contains("tentative")
        });
        assert!(ok.is_some(), "IPv6 DAD did not finish on {node}");
    }
    lab
}

/// A running daemon of either kind on a node, with its own `$TMPDIR`.
pub struct Peer {
    pub node: String,
    pub imp: Impl,
    pub handle: DaemonHandle,
    pub tmpdir: PathBuf,
}

/// Starts `imp` on `node` with `conf` (through a wrapper that exports `TMPDIR` and execs the
/// daemon, so the daemon keeps the wrapper's pid).
pub fn spawn(lab: &Lab, node: &str, imp: Impl, conf: &Conf) -> Peer {
    spawn_text(lab, node, imp, &conf.render())
}

/// Like [`spawn`] with a literal config text.
pub fn spawn_text(lab: &Lab, node: &str, imp: Impl, conf_text: &str) -> Peer {
    let dir = lab.node_dir(node);
    let tmpdir = dir.join("tmp");
    fs::create_dir_all(&tmpdir).expect("mkdir tmp");
    let wrapper = dir.join(format!("run/{}.sh", imp.name()));
    write_file(
        &wrapper,
        &format!(
            "#!/bin/sh\nexport TMPDIR='{}'\nexec '{}' \"$@\"\n",
            tmpdir.display(),
            imp.bin().display()
        ),
        0o755,
    );
    step(format!("start {} on {node}", imp.name()));
    let handle = lab.spawn_daemon(node, &wrapper, conf_text, &[]);
    Peer {
        node: node.to_string(),
        imp,
        handle,
        tmpdir,
    }
}

impl Peer {
    /// The last `(VI_1) Entering X STATE` of the log ("MASTER", "BACKUP", "FAULT"), if any.
    pub fn state(&self) -> Option<String> {
        last_state(&self.handle.log())
    }

    /// Sends SIGTERM (returns at once).
    pub fn term(&self) {
        self.handle.signal(Signal::SIGTERM);
    }

    /// Waits for the exit after [`Peer::term`].
    pub fn wait_stopped(&mut self) {
        let st = self.handle.wait_exit(Duration::from_secs(10));
        assert!(
            st.is_some(),
            "{} on {} did not exit after SIGTERM",
            self.imp.name(),
            self.node
        );
    }

    /// SIGTERM and wait for the exit (priority 0 advert, VIPs removed).
    pub fn stop(&mut self) {
        self.term();
        self.wait_stopped();
    }

    /// SIGUSR2 -> the stats file in this daemon's `$TMPDIR`, parsed.
    pub fn stats(&self) -> Stats {
        let file = self.tmpdir.join("keepalived.stats");
        let _ = fs::remove_file(&file);
        self.handle.signal(Signal::SIGUSR2);
        let mut parsed = None;
        wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            let text = fs::read_to_string(&file).unwrap_or_default();
            let s = Stats::parse(&text);
            let complete = s.get("VI_1", "Priority Zero/Sent").is_some();
            if complete {
                parsed = Some(s);
            }
            complete
        });
        parsed.unwrap_or_else(|| {
            panic!(
                "{} on {}: no complete {} after SIGUSR2",
                self.imp.name(),
                self.node,
                file.display()
            )
        })
    }
}

/// The last `(VI_1) Entering X STATE` of a log.
pub fn last_state(log: &str) -> Option<String> {
    last_state_of(log, "VI_1")
}

/// The last `(INSTANCE) Entering X STATE` of a log.
pub fn last_state_of(log: &str, instance: &str) -> Option<String> {
    let marker = format!("({instance}) Entering ");
    log.lines()
        .rev()
        .find_map(|l| l.split(marker.as_str()).nth(1))
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
}

/// keepalived's `keepalived.stats` (same format written by both daemons), as
/// instance -> "Section/Key" (or "Key") -> value.
#[derive(Debug, Default)]
pub struct Stats(pub BTreeMap<String, BTreeMap<String, u64>>);

impl Stats {
    pub fn parse(text: &str) -> Stats {
        let mut out = BTreeMap::new();
        let mut inst: Option<String> = None;
        let mut section = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("VRRP Instance: ") {
                inst = Some(name.trim().to_string());
                section.clear();
                continue;
            }
            let Some(i) = &inst else { continue };
            let indent = line.len() - line.trim_start().len();
            let Some((k, v)) = line.trim().split_once(':') else {
                continue;
            };
            let v = v.trim();
            if v.is_empty() {
                section = k.to_string();
                continue;
            }
            let Ok(n) = v.parse::<u64>() else { continue };
            let key = if indent >= 4 && !section.is_empty() {
                format!("{section}/{k}")
            } else {
                section.clear();
                k.to_string()
            };
            out.entry(i.clone())
                .or_insert_with(BTreeMap::new)
                .insert(key, n);
        }
        Stats(out)
    }

    pub fn get(&self, inst: &str, key: &str) -> Option<u64> {
        self.0.get(inst).and_then(|m| m.get(key)).copied()
    }

    /// Value of `key` for VI_1 (panics if missing).
    pub fn vi1(&self, key: &str) -> u64 {
        self.get("VI_1", key)
            .unwrap_or_else(|| panic!("no {key} in stats {:?}", self.0))
    }

    /// Every "Packet Errors/*" and "Authentication Errors/*" counter of VI_1 that is not 0.
    pub fn errors(&self) -> Vec<(String, u64)> {
        self.0
            .get("VI_1")
            .map(|m| {
                m.iter()
                    .filter(|(k, v)| {
                        **v != 0
                            && (k.starts_with("Packet Errors/")
                                || k.starts_with("Authentication Errors/"))
                    })
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Log lines in which keepalived (or we) complain about a received packet.
pub fn packet_complaints(log: &str) -> Vec<String> {
    const PATTERNS: [&str; 13] = [
        "nvalid",
        "unexpected",
        "checksum",
        "mismatch",
        "not present",
        "wrong",
        "too short",
        "too long",
        "bogus",
        "TTL",
        "passwd",
        "discard",
        "ignoring",
    ];
    log.lines()
        // Preemption discarding a lower-priority advert is normal operation.
        .filter(|l| !l.contains("lower priority"))
        // Config diagnostics (`file:line:col: ...`) are not about packets.
        .filter(|l| !l.contains(".conf:"))
        .filter(|l| PATTERNS.iter().any(|p| l.contains(p)))
        .map(str::to_string)
        .collect()
}

/// Asserts that exactly `master` (a node) holds `vip` among [`NODES`], that its daemon's last
/// state is MASTER and every other daemon's last state is `other_state` — and that this holds
/// continuously for `hold`.
pub fn assert_master(
    lab: &Lab,
    peers: &[&Peer],
    master: &str,
    vip: &str,
    other_state: &str,
    hold: Duration,
) {
    let start = Instant::now();
    loop {
        // Every node of the lab, also one whose daemon is stopped: it must not hold the VIP.
        let h = lab.holders(&NODES, IFACE, vip);
        assert_eq!(h, vec![master.to_string()], "VIP {vip} holders");
        for p in peers {
            let want = if p.node == master {
                "MASTER"
            } else {
                other_state
            };
            assert_eq!(
                p.state().as_deref(),
                Some(want),
                "state of {} on {}",
                p.imp.name(),
                p.node
            );
        }
        if start.elapsed() >= hold {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let who = peers
        .iter()
        .find(|p| p.node == master)
        .map(|p| p.imp.name())
        .unwrap_or("?");
    step(format!(
        "  {master} ({who}) MASTER and sole holder of {vip}; others {other_state} (held {:.1} s)",
        hold.as_secs_f64()
    ));
}

/// Waits until exactly `master` holds `vip` (among [`NODES`]) and its daemon says MASTER; the
/// elapsed time.
pub fn wait_master(
    lab: &Lab,
    peers: &[&Peer],
    master: &str,
    vip: &str,
    timeout: Duration,
) -> Duration {
    let p = peers
        .iter()
        .find(|p| p.node == master)
        .expect("master is one of the peers");
    wait_until(timeout, Duration::from_millis(10), || {
        lab.holders(&NODES, IFACE, vip) == [master] && p.state().as_deref() == Some("MASTER")
    })
    .unwrap_or_else(|| {
        let logs: String = peers
            .iter()
            .map(|p| {
                format!(
                    "----- {} on {}:\n{}\n",
                    p.imp.name(),
                    p.node,
                    p.handle.log()
                )
            })
            .collect();
        panic!(
            "{master} did not become the sole MASTER holding {vip} within {timeout:?}; holders {:?}\n{logs}",
            lab.holders(&NODES, IFACE, vip)
        )
    })
}

/// Removes `vip` from a node whose daemon was SIGKILLed (a dead machine holds nothing).
pub fn drop_vip(lab: &Lab, node: &str, vip: &str) {
    let _ = lab.exec(node, &["ip", "addr", "del", vip, "dev", IFACE]);
}

/// Starts a capture of VRRP, ARP and ICMPv6 on the bridge.
pub fn capture_bridge(lab: &Lab) -> Capture {
    lab.capture(lab.lan_ns(), "br0", CAPTURE_FILTER)
}

/// `tshark -r FILE [-o PREF]... -Y FILTER -T fields -e ...`: one row per packet.
pub fn tshark_rows(file: &Path, prefs: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(file);
    for p in prefs {
        c.args(["-o", p]);
    }
    c.args(["-Y", filter, "-T", "fields", "-E", "separator=|"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// What [`check_adverts`] found about one sender's adverts.
#[derive(Debug, Default)]
pub struct WireReport {
    pub adverts: usize,
    pub prio_zero: usize,
    pub versions: Vec<String>,
    pub priorities: Vec<u32>,
}

/// Every VRRP packet sent from `mac` in the capture must be decoded by tshark as VRRP of
/// `version` with a Good checksum (`vrrp.checksum.status == 1`), no malformed/expert error,
/// and an IP TTL / hop limit of 255. `prefs` are tshark `-o` preferences (e.g.
/// `vrrp.v3_checksum_as_in_v2:TRUE`). Returns counts for further assertions.
pub fn check_adverts(cap: &mut Capture, prefs: &[&str], mac: &str, version: u8) -> WireReport {
    cap.stop();
    let filter = format!("vrrp && !icmp && !icmpv6 && eth.src == {mac}");
    let rows = tshark_rows(
        cap.file(),
        prefs,
        &filter,
        &[
            "vrrp.version",
            "vrrp.prio",
            "vrrp.checksum.status",
            "ip.ttl",
            "ipv6.hlim",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    );
    let mut r = WireReport::default();
    for row in &rows {
        let f = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        assert_eq!(f(0), version.to_string(), "VRRP version in {row:?}");
        assert_eq!(f(2), "1", "checksum status (1 = Good) in {row:?}");
        let ttl = if f(3).is_empty() { f(4) } else { f(3) };
        assert_eq!(ttl, "255", "TTL/hop limit in {row:?}");
        assert!(
            f(5).is_empty(),
            "tshark marks the packet malformed: {row:?}"
        );
        // Expert severities: 0x00400000 note, 0x00600000 warning, 0x00800000 error.
        for sev in f(6).split(',').filter(|s| !s.is_empty()) {
            let v = u64::from_str_radix(sev.trim_start_matches("0x"), 16).unwrap_or(u64::MAX);
            assert!(v < 0x0060_0000, "tshark expert warning/error {row:?}");
        }
        let prio: u32 = f(1).parse().unwrap_or(999);
        if prio == 0 {
            r.prio_zero += 1;
        }
        r.priorities.push(prio);
        if !r.versions.contains(&f(0).to_string()) {
            r.versions.push(f(0).to_string());
        }
        r.adverts += 1;
    }
    step(format!(
        "  tshark {}: {} VRRPv{version} adverts from {mac}, all checksum Good, TTL 255 ({} with priority 0)",
        if prefs.is_empty() {
            "(default prefs)".to_string()
        } else {
            prefs.join(" ")
        },
        r.adverts,
        r.prio_zero
    ));
    r
}

/// Gratuitous ARPs for `vip` (IPv4) or unsolicited NAs for it (IPv6) sent from `mac` in the
/// capture (the capture must be stopped already, e.g. by [`check_adverts`]).
pub fn count_announcements(cap: &mut Capture, mac: &str, vip: &str) -> usize {
    cap.stop();
    let filter = if vip.contains(':') {
        format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {vip} && eth.src == {mac}")
    } else {
        format!(
            "arp.opcode == 1 && arp.src.proto_ipv4 == {vip} && arp.dst.proto_ipv4 == {vip} && arp.src.hw_mac == {mac}"
        )
    };
    let n = tshark_rows(cap.file(), &[], &filter, &["frame.number"]).len();
    step(format!(
        "  {n} {} for {vip} from {mac}",
        if vip.contains(':') {
            "unsolicited NAs"
        } else {
            "gratuitous ARPs"
        }
    ));
    n
}

/// Asserts keepalived (`ka`) counted no packet error and logged no complaint about packets.
pub fn assert_ka_clean(ka: &Peer) {
    assert_eq!(ka.imp, Impl::Ka);
    let st = ka.stats();
    assert_eq!(
        st.errors(),
        vec![],
        "keepalived counted packet/auth errors: {:?}",
        st.0
    );
    let complaints = packet_complaints(&ka.handle.log());
    assert!(
        complaints.is_empty(),
        "keepalived complains about packets:\n{}",
        complaints.join("\n")
    );
    step(format!(
        "  keepalived on {}: stats show 0 packet/auth errors (received {} adverts), no complaint in its log",
        ka.node,
        st.vi1("Advertisements/Received")
    ));
}

pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// VRRPv2 skew time of a priority: (256 - prio) / 256 s.
pub fn skew_v2(prio: u8) -> Duration {
    Duration::from_micros((256 - u64::from(prio)) * 1_000_000 / 256)
}

/// Master-down interval: 3 x advert_int + skew (v2: (256-p)/256 s; v3: (256-p) x advert / 256).
pub fn master_down(advert: Duration, prio: u8, v3: bool) -> Duration {
    let skew = if v3 {
        advert * (256 - u32::from(prio)) / 256
    } else {
        skew_v2(prio)
    };
    advert * 3 + skew
}

/// Cuts (`on`) or heals the LAN between `nodes` without touching carrier: their bridge ports
/// become "isolated" (isolated ports do not forward to each other), so each side keeps a
/// running interface but hears nothing from the other.
pub fn isolate(lab: &Lab, nodes: &[&str], on: bool) {
    for n in nodes {
        let out = lab.lan_exec(&[
            "bridge",
            "link",
            "set",
            "dev",
            &format!("p-{n}"),
            "isolated",
            if on { "on" } else { "off" },
        ]);
        assert!(
            out.status.success(),
            "bridge isolated {on} on p-{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    step(format!(
        "{} the LAN between {}",
        if on { "cut" } else { "heal" },
        nodes.join(", ")
    ));
}

/// Waits until every node of `nodes` holds `vip` and every peer says MASTER (split brain).
pub fn wait_all_masters(lab: &Lab, peers: &[&Peer], vip: &str, timeout: Duration) -> Duration {
    let nodes: Vec<&str> = peers.iter().map(|p| p.node.as_str()).collect();
    wait_until(timeout, Duration::from_millis(20), || {
        lab.holders(&nodes, IFACE, vip).len() == nodes.len()
            && peers.iter().all(|p| p.state().as_deref() == Some("MASTER"))
    })
    .unwrap_or_else(|| {
        panic!(
            "not every node became MASTER with {vip} within {timeout:?}: holders {:?}, states {:?}",
            lab.holders(&nodes, IFACE, vip),
            peers.iter().map(|p| p.state()).collect::<Vec<_>>()
        )
    })
}

/// Asserts that every peer is MASTER and holds `vip`, continuously for `hold`.
pub fn assert_all_masters(lab: &Lab, peers: &[&Peer], vip: &str, hold: Duration) {
    let nodes: Vec<&str> = peers.iter().map(|p| p.node.as_str()).collect();
    let start = Instant::now();
    loop {
        assert_eq!(lab.holders(&nodes, IFACE, vip), nodes, "holders of {vip}");
        for p in peers {
            assert_eq!(
                p.state().as_deref(),
                Some("MASTER"),
                "state of {} on {}",
                p.imp.name(),
                p.node
            );
        }
        if start.elapsed() >= hold {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    step(format!(
        "  every node ({}) MASTER holding {vip} (held {:.1} s)",
        nodes.join(", "),
        hold.as_secs_f64()
    ));
}

/// The shape of the VIP announcements sent from `mac` (everything but addresses that differ per
/// sender and times): one string per distinct shape. IPv4: gratuitous ARP fields; IPv6:
/// unsolicited NA fields.
pub fn announcement_shapes(cap: &mut Capture, mac: &str, vip: &str) -> Vec<String> {
    cap.stop();
    let (filter, fields): (String, &[&str]) = if vip.contains(':') {
        (
            format!(
                "icmpv6.type == 136 && icmpv6.nd.na.target_address == {vip} && eth.src == {mac}"
            ),
            &[
                "eth.dst",
                "ipv6.dst",
                "ipv6.hlim",
                "icmpv6.nd.na.flag.r",
                "icmpv6.nd.na.flag.s",
                "icmpv6.nd.na.flag.o",
                "icmpv6.opt.type",
                "icmpv6.checksum.status",
            ],
        )
    } else {
        (
            format!("arp && arp.src.proto_ipv4 == {vip} && eth.src == {mac}"),
            &[
                "eth.dst",
                "arp.opcode",
                "arp.dst.hw_mac",
                "arp.dst.proto_ipv4",
                "frame.len",
            ],
        )
    };
    let mut shapes: Vec<String> = tshark_rows(cap.file(), &[], &filter, fields)
        .into_iter()
        .map(|r| {
            fields
                .iter()
                .zip(r)
                .map(|(f, v)| format!("{f}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    shapes.sort();
    shapes.dedup();
    shapes
}

/// The shape of the VRRP adverts sent from `mac`: every header field that both implementations
/// must fill the same way for the same config (version, type, VRID, address count and list,
/// auth, interval, IP TOS / traffic class, DF, length, and with `multicast` the destination),
/// one string per distinct shape. Priority, checksum and TTL / hop limit (see [`hop_limits`])
/// are left out.
pub fn advert_shapes(cap: &mut Capture, prefs: &[&str], mac: &str, multicast: bool) -> Vec<String> {
    cap.stop();
    let mut fields = vec![
        "vrrp.version",
        "vrrp.type",
        "vrrp.virt_rtr_id",
        "vrrp.addr_count",
        "vrrp.auth_type",
        "vrrp.adver_int",
        "vrrp.short_adver_int",
        "vrrp.ip_addr",
        "vrrp.ipv6_addr",
        "vrrp.auth_string",
        "ip.dsfield",
        "ip.flags.df",
        "ipv6.tclass",
        "frame.len",
    ];
    if multicast {
        fields.extend(["eth.dst", "ip.dst", "ipv6.dst"]);
    }
    let mut shapes: Vec<String> = tshark_rows(
        cap.file(),
        prefs,
        &format!("vrrp && !icmp && !icmpv6 && eth.src == {mac}"),
        &fields,
    )
    .into_iter()
    .map(|r| {
        fields
            .iter()
            .zip(r)
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| format!("{f}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    })
    .collect();
    shapes.sort();
    shapes.dedup();
    shapes
}

/// The IPv4 identification of each VRRP advert sent from `mac`, in capture order.
pub fn ipv4_ids(cap: &mut Capture, mac: &str) -> Vec<u32> {
    cap.stop();
    tshark_rows(
        cap.file(),
        &[],
        &format!("vrrp && ip && !icmp && eth.src == {mac}"),
        &["ip.id"],
    )
    .into_iter()
    .filter_map(|r| u32::from_str_radix(r[0].trim_start_matches("0x"), 16).ok())
    .collect()
}

/// keepalived numbers an instance's adverts 1, 2, 3, ... from its start: true when `ids` (one
/// instance, possibly restarted) follow that rule.
pub fn ids_count_from_one(ids: &[u32]) -> bool {
    ids.first() == Some(&1)
        && ids
            .windows(2)
            .all(|w| w[1] == w[0].wrapping_add(1) & 0xffff || w[1] == 1)
}

/// The distinct IP TTL / IPv6 hop limit values of the VRRP adverts sent from `mac`.
pub fn hop_limits(cap: &mut Capture, mac: &str) -> Vec<String> {
    cap.stop();
    let mut v: Vec<String> = tshark_rows(
        cap.file(),
        &[],
        &format!("vrrp && !icmp && !icmpv6 && eth.src == {mac}"),
        &["ip.ttl", "ipv6.hlim"],
    )
    .into_iter()
    .map(|r| r.concat())
    .collect();
    v.sort();
    v.dedup();
    v
}
