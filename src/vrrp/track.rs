//! Tracker state (interfaces, scripts, files, processes) and what it means for an instance:
//! effective priority and fault reasons (reference §4.2, §4.5).

use std::collections::HashMap;
use std::net::IpAddr;

use super::input::LinkState;
use super::spec::{InstanceSpec, NodeSpec, ScriptSpec, TrackRef};

/// Everything the node knows about the outside world that trackers look at.
#[derive(Clone, Debug, Default)]
pub struct Trackers {
    pub links: HashMap<String, LinkState>,
    /// Script results; absent = not reported yet (the script has not run once).
    pub scripts: HashMap<String, bool>,
    pub files: HashMap<String, i64>,
    pub processes: HashMap<String, u32>,
    /// (quorum, quorum_max) per tracked process.
    pub process_quorum: HashMap<String, (u32, Option<u32>)>,
}

impl Trackers {
    /// Load the static parts from a config (process quorums, initial file values), keeping
    /// results that are still valid: a script keeps its result only if its command is
    /// byte-identical (keepalived compat, reference §2.1 step 8).
    pub fn apply_spec(&mut self, spec: &NodeSpec, old_scripts: &[ScriptSpec]) {
        self.process_quorum = spec
            .track_processes
            .iter()
            .map(|p| (p.name.clone(), (p.quorum, p.quorum_max)))
            .collect();
        let keep: Vec<String> = spec
            .scripts
            .iter()
            .filter(|s| {
                old_scripts
                    .iter()
                    .any(|o| o.name == s.name && o.cmd == s.cmd)
            })
            .map(|s| s.name.clone())
            .collect();
        self.scripts.retain(|name, _| keep.contains(name));
        for f in &spec.track_files {
            if let Some((v, _)) = f.init_file {
                self.files.entry(f.name.clone()).or_insert(v);
            }
        }
    }
}

/// The verdict of the trackers for one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eval {
    /// Why the instance must be in FAULT (empty = no fault).
    pub faults: Vec<String>,
    /// Still waiting for information before the first state can be chosen (own link not
    /// reported yet, or a weight-0 script that has not reported once).
    pub pending: bool,
    /// `pending` because of a weight-0 script (keepalived holds such instances in an internal
    /// FAULT and later logs a plain "Entering BACKUP STATE").
    pub scripts_pending: bool,
    /// Effective priority (owner stays 255; others clamped to 1..=254).
    pub priority: u8,
    /// Source address for adverts and the tie-break.
    pub src: Option<IpAddr>,
}

/// Contribution of one up/down tracker: (fault, priority delta).
///
/// keepalived.conf(5): a positive weight is added while the tracker is up, a negative one
/// subtracted while it is down; `reverse` flips the direction of the adjustment (decrease
/// while up / increase while down). `weight 0` means FAULT while down, or while up with
/// `reverse`.
fn weigh(up: bool, r: &TrackRef) -> (bool, i64) {
    let w = i64::from(r.weight);
    if w == 0 {
        return (up == r.reverse, 0);
    }
    let d = if w > 0 {
        if up { w } else { 0 }
    } else if up {
        0
    } else {
        w
    };
    (false, if r.reverse { -d } else { d })
}

/// Evaluate `spec` (plus trackers inherited from its sync group) against `t`.
pub fn evaluate(spec: &InstanceSpec, extra: &[&[TrackRef]; 4], t: &Trackers) -> Eval {
    let mut ev = Eval::default();
    let mut total = i64::from(spec.priority);

    // Own interface (implicitly tracked, weight 0) and the source address.
    match t.links.get(&spec.interface) {
        None => ev.pending = true,
        Some(l) => {
            let link_ok = l.exists && l.up;
            if !link_ok && !spec.dont_track_primary {
                ev.faults.push(format!("interface {} down", spec.interface));
            }
            let configured = if spec.is_unicast() {
                spec.unicast_src
            } else {
                spec.mcast_src
            }
            .or(spec.unicast_src);
            ev.src = configured.or_else(|| l.primary(spec.family));
            if ev.src.is_none() {
                ev.faults.push(match spec.family {
                    super::spec::Family::V4 => "no IPv4 address for interface".into(),
                    super::spec::Family::V6 => "no IPv6 link local address for interface".into(),
                });
            } else if spec.track_src_ip
                && let Some(IpAddr::V4(c)) = configured
                && !l.ipv4.contains(&c)
            {
                ev.faults.push(format!("source address {c} not configured"));
            }
        }
    }

    // `use_vmac`: the VMAC is needed too (created on request; reported once it exists).
    if let Some(v) = &spec.vmac {
        match t.links.get(&v.name) {
            None => ev.pending = true,
            Some(l) if !(spec.dont_track_primary || l.exists && l.up) => {
                ev.faults.push(format!("VMAC interface {} down", v.name));
            }
            Some(_) => {}
        }
    }

    if spec.unicast_fault_no_peer && spec.unicast_src.is_some() && spec.unicast_peers.is_empty() {
        // keepalived compat: unicast configured without peers is a FAULT, not multicast.
        ev.faults.push("no unicast peers".into());
    }

    let ifaces = spec.track_interfaces.iter().chain(extra[0].iter());
    for r in ifaces {
        let up = t.links.get(&r.name).is_some_and(|l| l.exists && l.up);
        let (f, d) = weigh(up, r);
        if f {
            ev.faults.push(format!("tracked interface {} down", r.name));
        }
        total = total.saturating_add(d);
    }
    for r in spec.track_scripts.iter().chain(extra[1].iter()) {
        match t.scripts.get(&r.name) {
            None => {
                // keepalived compat: weight-0 scripts hold the instance until their first
                // result; weighted ones contribute nothing until then.
                if r.weight == 0 {
                    ev.pending = true;
                    ev.scripts_pending = true;
                }
            }
            Some(&ok) => {
                let (f, d) = weigh(ok, r);
                if f {
                    ev.faults.push(format!("track script {} failed", r.name));
                }
                total = total.saturating_add(d);
            }
        }
    }
    for r in spec.track_files.iter().chain(extra[2].iter()) {
        let v = t.files.get(&r.name).copied().unwrap_or(0);
        if r.weight == 0 {
            if (v != 0) != r.reverse {
                ev.faults.push(format!("track file {} value {v}", r.name));
            }
        } else {
            let mut d = v.saturating_mul(i64::from(r.weight));
            if r.reverse {
                d = d.saturating_neg();
            }
            // keepalived compat (track_file.c): each file's contribution is capped to
            // -254..=253 before it enters the total; -254 (or less) means FAULT and the file
            // then contributes nothing.
            if d <= -254 {
                ev.faults.push(format!("track file {} value {v}", r.name));
            } else {
                total = total.saturating_add(d.min(253));
            }
        }
    }
    for r in spec.track_processes.iter().chain(extra[3].iter()) {
        let n = t.processes.get(&r.name).copied().unwrap_or(0);
        let (q, qmax) = t.process_quorum.get(&r.name).copied().unwrap_or((1, None));
        let up = n >= q && qmax.is_none_or(|m| n <= m);
        let (f, d) = weigh(up, r);
        if f {
            ev.faults.push(format!(
                "track process {} quorum {}",
                r.name,
                if up { "up" } else { "down" }
            ));
        }
        total = total.saturating_add(d);
    }

    ev.priority = if spec.priority == 255 {
        // keepalived compat: the address owner never changes priority.
        255
    } else {
        total.clamp(1, 254) as u8
    };
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tr(name: &str, weight: i32, reverse: bool) -> TrackRef {
        TrackRef {
            name: name.into(),
            weight,
            reverse,
        }
    }

    #[test]
    fn weights_clamp_and_faults() {
        let mut spec = InstanceSpec::new("VI_1", "eth0", 1);
        spec.priority = 250;
        spec.track_scripts = vec![
            tr("up", 10, false),
            tr("down", -300, false),
            tr("z", 0, false),
        ];
        let mut t = Trackers::default();
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(e.pending, "no link and no script result yet");
        t.links.insert(
            "eth0".into(),
            LinkState::up_v4("eth0", Ipv4Addr::new(10, 0, 0, 1)),
        );
        t.scripts.insert("up".into(), true);
        t.scripts.insert("down".into(), true);
        t.scripts.insert("z".into(), true);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(!e.pending);
        assert!(e.faults.is_empty());
        assert_eq!(e.priority, 254, "250 + 10 clamps to 254");
        t.scripts.insert("down".into(), false);
        t.scripts.insert("z".into(), false);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert_eq!(e.priority, 1);
        assert_eq!(e.faults, vec!["track script z failed".to_string()]);
        assert_eq!(e.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
    }

    #[test]
    fn reverse_flips_the_direction_of_the_adjustment() {
        assert_eq!(weigh(true, &tr("x", 10, false)), (false, 10));
        assert_eq!(weigh(false, &tr("x", 10, false)), (false, 0));
        assert_eq!(weigh(true, &tr("x", 10, true)), (false, -10));
        assert_eq!(weigh(false, &tr("x", 10, true)), (false, 0));
        assert_eq!(weigh(false, &tr("x", -10, false)), (false, -10));
        assert_eq!(weigh(false, &tr("x", -10, true)), (false, 10));
        assert_eq!(weigh(true, &tr("x", -10, true)), (false, 0));
        assert_eq!(weigh(false, &tr("x", 0, false)), (true, 0));
        assert_eq!(weigh(true, &tr("x", 0, true)), (true, 0));
        assert_eq!(weigh(false, &tr("x", 0, true)), (false, 0));
    }

    #[test]
    fn track_file_contribution_is_capped_before_summing() {
        let mut spec = InstanceSpec::new("VI_1", "eth0", 1);
        spec.priority = 100;
        spec.track_files = vec![tr("f", 1, false)];
        spec.track_scripts = vec![tr("s", -200, false)];
        let mut t = Trackers::default();
        t.links.insert(
            "eth0".into(),
            LinkState::up_v4("eth0", Ipv4Addr::new(10, 0, 0, 1)),
        );
        t.files.insert("f".into(), 300);
        t.scripts.insert("s".into(), false);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(e.faults.is_empty());
        assert_eq!(e.priority, 153, "100 + min(300, 253) - 200");
        // -253 is still a (large) priority decrease, -254 is FAULT.
        t.scripts.insert("s".into(), true);
        t.files.insert("f".into(), -253);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(e.faults.is_empty());
        assert_eq!(e.priority, 1);
        t.files.insert("f".into(), -254);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert_eq!(e.faults, vec!["track file f value -254".to_string()]);
        // A huge value times a huge weight saturates instead of overflowing.
        spec.track_files = vec![tr("f", i32::MAX, true)];
        t.files.insert("f".into(), i64::MIN);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(e.faults.is_empty());
        assert_eq!(e.priority, 254, "100 + 253 clamps to 254");
    }

    #[test]
    fn process_quorum_max_zero_is_up_only_while_absent() {
        let mut spec = InstanceSpec::new("VI_1", "eth0", 1);
        spec.track_processes = vec![tr("p", 0, false)];
        let mut t = Trackers::default();
        t.links.insert(
            "eth0".into(),
            LinkState::up_v4("eth0", Ipv4Addr::new(10, 0, 0, 1)),
        );
        t.process_quorum.insert("p".into(), (0, Some(0)));
        t.processes.insert("p".into(), 0);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert!(e.faults.is_empty(), "{:?}", e.faults);
        t.processes.insert("p".into(), 1);
        let e = evaluate(&spec, &[&[], &[], &[], &[]], &t);
        assert_eq!(e.faults, vec!["track process p quorum down".to_string()]);
    }

    #[test]
    fn owner_priority_never_changes() {
        let mut spec = InstanceSpec::new("VI_1", "eth0", 1);
        spec.priority = 255;
        spec.track_interfaces = vec![tr("eth9", -50, false)];
        let mut t = Trackers::default();
        t.links.insert(
            "eth0".into(),
            LinkState::up_v4("eth0", Ipv4Addr::new(10, 0, 0, 1)),
        );
        assert_eq!(evaluate(&spec, &[&[], &[], &[], &[]], &t).priority, 255);
    }
}
