//! `vrrp_track_process` (reference §3.5): which processes match, how many run, and when a
//! change is reported. Pure: `sys::procevents` turns the kernel's process events (or /proc
//! scans) into calls here; this module never reads /proc itself.
//!
//! keepalived compat, observed behaviour of `track_process.c`:
//! - without parameters and without `full_command`, the name is compared exactly with
//!   `/proc/PID/comm` (no regular expression: `ssh` does not match `sshd`);
//! - with parameters (which imply `full_command`) or `full_command`, argv\[0\] of
//!   `/proc/PID/cmdline` is compared exactly, then the parameters: exactly (default),
//!   `param_match partial` (the configured parameters are the first ones; more may follow) or
//!   `param_match initial` (like partial, and the last configured one may be a prefix);
//! - threads are ignored; a fork of a counted process is counted at once (the child has the
//!   parent's name), an exec or a name change re-matches the process, an exit uncounts it;
//! - the tracker is "up" while `quorum <= count <= quorum_max`;
//! - `fork_delay`: a quorum gained by a fork is reported only after the delay (unless lost
//!   again first); `terminate_delay`: a quorum lost by an exit is reported only after the
//!   delay (unless regained first). Gains by exec / name change and losses by exec / name
//!   change are reported at once.
//!
//! Reports are `TrackerUpdate::Process { name, running }` for the core, which applies the
//! quorum and the weight itself. While a delay holds a change back, the count reported stays
//! the last one reported.

use std::collections::{HashMap, HashSet, VecDeque};

use log::{debug, info};

use crate::time::{Duration, Instant};
use crate::vrrp::TrackerUpdate;
use crate::vrrp::spec::TrackProcessSpec;

pub use crate::vrrp::spec::ParamMatch;

/// What is known of one process when it is (re)matched.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProcInfo {
    pub pid: i32,
    /// `/proc/PID/comm` without the newline.
    pub comm: String,
    /// `/proc/PID/cmdline` (NUL-separated, normally NUL-terminated); empty when not read
    /// (see [`ProcessTracker::needs_cmdline`]) or for a kernel thread / zombie.
    pub cmdline: Vec<u8>,
}

/// A compiled matcher of one `vrrp_track_process`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub process: String,
    pub full_command: bool,
    pub param_match: ParamMatch,
    /// The configured parameters, each followed by a NUL (the layout of /proc/PID/cmdline).
    params: Vec<u8>,
}

impl Matcher {
    pub fn new(spec: &TrackProcessSpec) -> Self {
        let mut params = Vec::new();
        for p in &spec.params {
            params.extend_from_slice(p.as_bytes());
            params.push(0);
        }
        Matcher {
            process: spec.process.clone(),
            // keepalived compat: parameters or any `param_match` need the command line (config
            // already sets full_command then; repeated here for hand-built specs).
            full_command: spec.full_command
                || !spec.params.is_empty()
                || spec.param_match != ParamMatch::None,
            param_match: if spec.params.is_empty() || spec.param_match != ParamMatch::None {
                spec.param_match
            } else {
                ParamMatch::Exact
            },
            params,
        }
    }

    pub fn matches(&self, p: &ProcInfo) -> bool {
        if !self.full_command {
            return p.comm == self.process;
        }
        let argv0_end = p
            .cmdline
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(p.cmdline.len());
        if p.cmdline.is_empty() || p.cmdline[..argv0_end] != *self.process.as_bytes() {
            return false;
        }
        let actual = p.cmdline.get(argv0_end + 1..).unwrap_or(&[]);
        match self.param_match {
            ParamMatch::None => true,
            // With no parameters configured: the process must have none.
            ParamMatch::Exact => actual == self.params.as_slice(),
            // Whole parameters (each with its NUL) form a prefix.
            ParamMatch::Partial => actual.starts_with(&self.params),
            // As Partial without the last NUL: the last parameter may continue. The actual
            // parameters are still at least as long as the configured ones (keepalived compat).
            ParamMatch::Initial => match self.params.split_last() {
                None => true,
                Some((_, head)) => actual.len() >= self.params.len() && actual.starts_with(head),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Fork,
    Exit,
    Other,
}

#[derive(Clone, Debug)]
struct Tracked {
    spec: TrackProcessSpec,
    matcher: Matcher,
    pids: HashSet<i32>,
    /// Last count reported (None = nothing yet).
    reported: Option<u32>,
    /// A fork_delay / terminate_delay running: report the count when it expires.
    hold_until: Option<Instant>,
}

impl Tracked {
    fn quorum_ok(&self, n: u32) -> bool {
        n >= self.spec.quorum && self.spec.quorum_max.is_none_or(|m| n <= m)
    }
}

/// Every `vrrp_track_process` of one configuration and the processes counted for each.
#[derive(Clone, Debug, Default)]
pub struct ProcessTracker {
    tracked: Vec<(String, Tracked)>,
    updates: VecDeque<TrackerUpdate>,
}

impl ProcessTracker {
    pub fn new(specs: &[TrackProcessSpec]) -> Self {
        let tracked = specs
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Tracked {
                        spec: s.clone(),
                        matcher: Matcher::new(s),
                        pids: HashSet::new(),
                        reported: None,
                        hold_until: None,
                    },
                )
            })
            .collect();
        ProcessTracker {
            tracked,
            updates: VecDeque::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// Whether any matcher needs `/proc/PID/cmdline` (else `comm` is enough).
    pub fn needs_cmdline(&self) -> bool {
        self.tracked.iter().any(|(_, t)| t.matcher.full_command)
    }

    /// Keep the last reported counts of trackers whose matcher is unchanged (reload).
    pub fn carry_over(&mut self, old: &ProcessTracker) {
        for (name, t) in &mut self.tracked {
            if let Some((_, o)) = old
                .tracked
                .iter()
                .find(|(n, o)| n == name && o.matcher == t.matcher)
            {
                t.reported = o.reported;
            }
        }
    }

    /// A full scan of every process: recount everything and report at once (start, reload,
    /// lost events, periodic fallback scan). Pending delays are kept when the scan agrees
    /// with them.
    pub fn scan(&mut self, now: Instant, procs: &[ProcInfo]) {
        for (_, t) in &mut self.tracked {
            let pids: HashSet<i32> = procs
                .iter()
                .filter(|p| t.matcher.matches(p))
                .map(|p| p.pid)
                .collect();
            let gone = t.pids.difference(&pids).count();
            let cause = if gone > 0 && pids.is_subset(&t.pids) {
                // Only losses: processes exited (events were missed or we only scan).
                Cause::Exit
            } else {
                Cause::Other
            };
            t.pids = pids;
            Self::changed(now, t, cause, &mut self.updates);
        }
    }

    /// A process forked (threads must be filtered out by the caller).
    pub fn fork(&mut self, now: Instant, parent: i32, child: i32) {
        for (_, t) in &mut self.tracked {
            if t.pids.contains(&parent) && t.pids.insert(child) {
                Self::changed(now, t, Cause::Fork, &mut self.updates);
            }
        }
    }

    /// A process exec'd or changed its name: re-match it. `info` must carry `cmdline` when
    /// [`needs_cmdline`](Self::needs_cmdline). `comm_only`: a name change (PROC_EVENT_COMM),
    /// which does not concern full-command matchers.
    pub fn rematch(&mut self, now: Instant, info: &ProcInfo, comm_only: bool) {
        for (_, t) in &mut self.tracked {
            if comm_only && t.matcher.full_command {
                continue;
            }
            let now_matches = t.matcher.matches(info);
            let changed = if now_matches {
                t.pids.insert(info.pid)
            } else {
                t.pids.remove(&info.pid)
            };
            if changed {
                Self::changed(now, t, Cause::Other, &mut self.updates);
            }
        }
    }

    /// A process exited.
    pub fn exit(&mut self, now: Instant, pid: i32) {
        for (_, t) in &mut self.tracked {
            if t.pids.remove(&pid) {
                Self::changed(now, t, Cause::Exit, &mut self.updates);
            }
        }
    }

    /// Every pid counted by some tracker (for per-process exit watches).
    pub fn pids(&self) -> HashSet<i32> {
        self.tracked
            .iter()
            .flat_map(|(_, t)| t.pids.iter().copied())
            .collect()
    }

    /// Current counts (not necessarily reported yet), for dumps and tests.
    pub fn counts(&self) -> HashMap<String, u32> {
        self.tracked
            .iter()
            .map(|(n, t)| (n.clone(), t.pids.len() as u32))
            .collect()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for (name, t) in &mut self.tracked {
            if t.hold_until.is_some_and(|d| d <= now) {
                t.hold_until = None;
                let n = t.pids.len() as u32;
                debug!("track process {name}: delay expired, {n} running");
                Self::report(name, t, &mut self.updates);
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tracked.iter().filter_map(|(_, t)| t.hold_until).min()
    }

    pub fn poll_update(&mut self) -> Option<TrackerUpdate> {
        self.updates.pop_front()
    }

    fn changed(now: Instant, t: &mut Tracked, cause: Cause, out: &mut VecDeque<TrackerUpdate>) {
        let n = t.pids.len() as u32;
        let name = t.spec.name.clone();
        let Some(prev) = t.reported else {
            Self::report(&name, t, out);
            return;
        };
        let was_ok = t.quorum_ok(prev);
        let ok = t.quorum_ok(n);
        if ok == was_ok {
            // No quorum change (or a change undone before its delay expired).
            t.hold_until = None;
            if n != prev {
                Self::report(&name, t, out);
            }
            return;
        }
        if t.hold_until.is_some() {
            // Still moving in the direction a running delay is holding back.
            return;
        }
        let delay = match cause {
            Cause::Fork if ok => t.spec.fork_delay,
            Cause::Exit if !ok => t.spec.terminate_delay,
            _ => Duration::ZERO,
        };
        if delay > Duration::ZERO {
            debug!(
                "track process {name}: {n} running, quorum {} held back for {delay}",
                if ok { "gain" } else { "loss" }
            );
            t.hold_until = Some(now + delay);
            return;
        }
        Self::report(&name, t, out);
    }

    fn report(name: &str, t: &mut Tracked, out: &mut VecDeque<TrackerUpdate>) {
        let n = t.pids.len() as u32;
        if t.reported == Some(n) {
            return;
        }
        let ok = t.quorum_ok(n);
        if t.reported.is_none_or(|p| t.quorum_ok(p) != ok) {
            info!(
                "Track process {name} {} ({n} running)",
                if ok { "now running" } else { "stopped" }
            );
        }
        t.reported = Some(n);
        out.push_back(TrackerUpdate::Process {
            name: name.to_string(),
            running: n,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, process: &str) -> TrackProcessSpec {
        TrackProcessSpec {
            name: name.into(),
            process: process.into(),
            quorum: 1,
            ..Default::default()
        }
    }

    fn proc_(pid: i32, comm: &str, cmdline: &[&str]) -> ProcInfo {
        let mut c = Vec::new();
        for a in cmdline {
            c.extend_from_slice(a.as_bytes());
            c.push(0);
        }
        ProcInfo {
            pid,
            comm: comm.into(),
            cmdline: c,
        }
    }

    fn drain(t: &mut ProcessTracker) -> Vec<(String, u32)> {
        std::iter::from_fn(|| t.poll_update())
            .map(|u| match u {
                TrackerUpdate::Process { name, running } => (name, running),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn comm_matches_exactly() {
        let m = Matcher::new(&spec("p", "ssh"));
        assert!(m.matches(&proc_(1, "ssh", &["/usr/bin/ssh", "host"])));
        assert!(!m.matches(&proc_(1, "sshd", &["sshd"])));
        assert!(!m.matches(&proc_(1, "ss", &[])));
    }

    #[test]
    fn full_command_and_params() {
        let mut s = spec("p", "/usr/sbin/nginx");
        s.full_command = true;
        let m = Matcher::new(&s);
        assert!(m.matches(&proc_(1, "nginx", &["/usr/sbin/nginx", "-g", "x"])));
        assert!(!m.matches(&proc_(1, "nginx", &["nginx"])));
        assert!(
            !m.matches(&proc_(1, "nginx", &[])),
            "zombie / kernel thread"
        );

        s.params = vec!["-c".into(), "/etc/a.conf".into()];
        let m = Matcher::new(&s);
        assert!(m.full_command);
        assert!(m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-c", "/etc/a.conf"])));
        assert!(!m.matches(&proc_(
            1,
            "x",
            &["/usr/sbin/nginx", "-c", "/etc/a.conf", "-q"]
        )));
        assert!(!m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-c", "/etc/a.con"])));
        s.param_match = ParamMatch::Partial;
        let m = Matcher::new(&s);
        assert!(m.matches(&proc_(
            1,
            "x",
            &["/usr/sbin/nginx", "-c", "/etc/a.conf", "-q"]
        )));
        assert!(!m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-c", "/etc/a.confx"])));
        s.param_match = ParamMatch::Initial;
        let m = Matcher::new(&s);
        assert_eq!(m.param_match, ParamMatch::Initial);
        assert!(m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-c", "/etc/a.confx"])));
        assert!(m.matches(&proc_(
            1,
            "x",
            &["/usr/sbin/nginx", "-c", "/etc/a.conf", "-q"]
        )));
        assert!(!m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-c"])));
        assert!(!m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-cx", "/etc/a.conf"])));
        // Only the last configured parameter may continue.
        assert!(!m.matches(&proc_(1, "x", &["/usr/sbin/nginx", "-cq", "/etc/a.confx"])));
    }

    #[test]
    fn param_match_forms_without_parameters() {
        // Bare `param_match`, no parameters: the process must have none (keepalived.conf(5)).
        let mut s = spec("p", "/usr/bin/sleep");
        s.param_match = ParamMatch::Exact;
        let m = Matcher::new(&s);
        assert!(m.full_command, "any param_match reads the command line");
        assert!(m.matches(&proc_(1, "sleep", &["/usr/bin/sleep"])));
        assert!(!m.matches(&proc_(1, "sleep", &["/usr/bin/sleep", "10"])));
        // `param_match partial|initial` with no parameters: any parameters (no panic).
        for pm in [ParamMatch::Partial, ParamMatch::Initial] {
            s.param_match = pm;
            let m = Matcher::new(&s);
            assert!(m.matches(&proc_(1, "sleep", &["/usr/bin/sleep"])), "{pm:?}");
            assert!(
                m.matches(&proc_(1, "sleep", &["/usr/bin/sleep", "10"])),
                "{pm:?}"
            );
            assert!(
                !m.matches(&proc_(1, "sleep", &["/bin/sleep", "10"])),
                "{pm:?}"
            );
        }
        // No param_match and no parameters: comm only.
        s.param_match = ParamMatch::None;
        let m = Matcher::new(&s);
        assert!(!m.full_command);
        assert!(m.matches(&proc_(1, "/usr/bin/sleep", &[])));
    }

    #[test]
    fn quorum_max_zero_is_up_only_while_absent() {
        let mut s = spec("p", "fakesvc");
        s.quorum = 0;
        s.quorum_max = Some(0);
        let mut t = ProcessTracker::new(&[s]);
        let now = Instant::ZERO;
        t.scan(now, &[proc_(10, "bash", &[])]);
        assert_eq!(drain(&mut t), vec![("p".into(), 0)]);
        t.rematch(now, &proc_(11, "fakesvc", &[]), false);
        assert_eq!(drain(&mut t), vec![("p".into(), 1)]);
        t.exit(now, 11);
        assert_eq!(drain(&mut t), vec![("p".into(), 0)]);
    }

    #[test]
    fn counts_fork_exec_comm_exit() {
        let mut t = ProcessTracker::new(&[spec("svc", "fakesvc")]);
        let now = Instant::ZERO;
        t.scan(now, &[proc_(10, "bash", &[]), proc_(11, "fakesvc", &[])]);
        assert_eq!(drain(&mut t), vec![("svc".into(), 1)]);
        t.fork(now, 11, 12);
        t.fork(now, 10, 13);
        assert_eq!(drain(&mut t), vec![("svc".into(), 2)]);
        t.rematch(now, &proc_(13, "fakesvc", &[]), false);
        assert_eq!(drain(&mut t), vec![("svc".into(), 3)]);
        t.rematch(now, &proc_(12, "other", &[]), true);
        assert_eq!(drain(&mut t), vec![("svc".into(), 2)]);
        t.exit(now, 12);
        assert!(drain(&mut t).is_empty(), "pid 12 was no longer counted");
        t.exit(now, 11);
        t.exit(now, 13);
        assert_eq!(drain(&mut t), vec![("svc".into(), 1), ("svc".into(), 0)]);
        assert_eq!(t.pids(), HashSet::new());
    }

    #[test]
    fn terminate_delay_holds_the_loss() {
        let mut s = spec("svc", "fakesvc");
        s.terminate_delay = Duration::from_secs(2);
        let mut t = ProcessTracker::new(&[s]);
        let t0 = Instant::ZERO;
        t.scan(t0, &[proc_(11, "fakesvc", &[])]);
        assert_eq!(drain(&mut t), vec![("svc".into(), 1)]);
        t.exit(t0, 11);
        assert!(drain(&mut t).is_empty());
        assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        // Restarted within the delay: the loss is never reported.
        t.rematch(
            t0 + Duration::from_secs(1),
            &proc_(12, "fakesvc", &[]),
            false,
        );
        assert!(drain(&mut t).is_empty());
        assert_eq!(t.poll_timeout(), None);
        t.exit(t0 + Duration::from_secs(3), 12);
        t.handle_timeout(t0 + Duration::from_secs(4));
        assert!(drain(&mut t).is_empty(), "delay not expired");
        t.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(drain(&mut t), vec![("svc".into(), 0)]);
    }

    #[test]
    fn fork_delay_holds_a_gain_by_fork_only() {
        let mut s = spec("svc", "fakesvc");
        s.quorum = 2;
        s.fork_delay = Duration::from_millis(500);
        let mut t = ProcessTracker::new(&[s]);
        let t0 = Instant::ZERO;
        t.scan(t0, &[proc_(11, "fakesvc", &[])]);
        assert_eq!(drain(&mut t), vec![("svc".into(), 1)]);
        t.fork(t0, 11, 12);
        assert!(drain(&mut t).is_empty(), "quorum gain by fork held back");
        t.handle_timeout(t0 + Duration::from_millis(500));
        assert_eq!(drain(&mut t), vec![("svc".into(), 2)]);
        t.exit(t0, 12);
        assert_eq!(drain(&mut t), vec![("svc".into(), 1)], "no terminate_delay");
        t.rematch(t0, &proc_(13, "fakesvc", &[]), false);
        assert_eq!(drain(&mut t), vec![("svc".into(), 2)], "exec: at once");
    }

    #[test]
    fn quorum_max_and_carry_over() {
        let mut s = spec("svc", "fakesvc");
        s.quorum_max = Some(1);
        let mut t = ProcessTracker::new(std::slice::from_ref(&s));
        t.scan(
            Instant::ZERO,
            &[proc_(1, "fakesvc", &[]), proc_(2, "fakesvc", &[])],
        );
        assert_eq!(drain(&mut t), vec![("svc".into(), 2)]);
        let mut t2 = ProcessTracker::new(&[s]);
        t2.carry_over(&t);
        t2.scan(
            Instant::ZERO,
            &[proc_(1, "fakesvc", &[]), proc_(2, "fakesvc", &[])],
        );
        assert!(
            drain(&mut t2).is_empty(),
            "same count after reload: no report"
        );
    }
}
