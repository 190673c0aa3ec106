//! `vrrp_script` scheduling and rise/fall filtering (reference §3.4, §4.1, §4.3, §2.1 item 8).
//!
//! Sans-IO: the daemon passes `now`, carries out [`CheckAction`]s (spawn a child, signal its
//! process group) and reports child exits with [`Checker::handle_exit`]. One entry exists per
//! script name, however many instances or groups track it: keepalived runs a shared script once
//! per interval and hands the one result to every tracker.

use std::collections::VecDeque;
use std::fmt;

use log::{debug, info, warn};

use crate::time::{Duration, Instant};
use crate::vrrp::node::ScriptDumpInfo;
use crate::vrrp::spec::{ScriptCmd, ScriptSpec};

/// Delay between SIGTERM and SIGKILL of a timed-out script, and between the first and second
/// SIGKILL (keepalived compat, §4.3).
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// SIGKILL is repeated this often for a script that survives it (e.g. stuck in D state).
const KILL_REPEAT: Duration = Duration::from_secs(10);
/// At shutdown, running scripts get SIGTERM and, this much later, SIGKILL (§2.1 item 3, §2.2).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Smallest interval honoured, so a zero from a hand-built spec cannot spin the loop.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Identifies one execution of a script; never reused within a `Checker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run#{}", self.0)
    }
}

/// How a child ended (the two cases `waitpid` reports without WUNTRACED/WCONTINUED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// Normal exit with this status (0..=255).
    Exited(i32),
    /// Killed by this signal number.
    Signaled(i32),
}

impl ExitStatus {
    /// keepalived compat: only exit status 0 is a success.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(n) => write!(f, "exited with status {n}"),
            ExitStatus::Signaled(n) => write!(f, "due to signal {n}"),
        }
    }
}

/// Signal to send to a script's process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillSignal {
    Term,
    Kill,
}

/// What the daemon must do for the checker.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckAction {
    /// Start `cmd` as a new process group and remember `run` ↔ pid; report its exit with
    /// `handle_exit(run)`, or `handle_spawn_failed(run)` if it could not be started.
    Spawn {
        run: RunId,
        script: String,
        cmd: ScriptCmd,
    },
    /// Signal the process group of `run`. May name a run whose leader has already exited and
    /// been reported (a SIGKILL to catch grandchildren of a killed script): keep the run's pgid
    /// until the actions following its `handle_exit` have been drained; if the group is gone
    /// (ESRCH), ignore the error.
    Kill { run: RunId, signal: KillSignal },
    /// The rise/fall-filtered state of `script` is now `ok`: becomes
    /// `TrackerUpdate::Script { name: script, ok }` for the core. Emitted for the first decided
    /// state, on every OK/KO flip, and again for every decided script after `reload`.
    Result { script: String, ok: bool },
}

/// The rise/fall-filtered state of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptState {
    /// No result yet (keepalived's INIT: one success away from OK).
    Init,
    Ok,
    Failed,
}

impl fmt::Display for ScriptState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScriptState::Init => "INIT",
            ScriptState::Ok => "GOOD",
            ScriptState::Failed => "BAD",
        })
    }
}

/// A script's state for dumps (SIGUSR1 data file, JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptStatus {
    pub state: ScriptState,
    /// How the last completed run ended (`None` before the first one).
    pub last_exit: Option<ExitStatus>,
    /// The last completed run had timed out (counted as a failure whatever its exit status).
    pub last_timed_out: bool,
    /// A run is in progress (possibly being killed).
    pub running: bool,
    /// The rise/fall counter, in `0..=rise+fall-1`; OK ⇔ `counter >= rise`.
    pub counter: u32,
    pub rise: u32,
    pub fall: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Running within its timeout.
    Running,
    /// Timed out (or being stopped): SIGTERM sent, SIGKILL at `deadline`.
    Terminating,
    /// SIGKILL sent; repeated at `deadline`.
    Killing,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    id: RunId,
    phase: Phase,
    /// When the next step of `phase` is due (timeout, SIGKILL, repeated SIGKILL).
    deadline: Instant,
}

#[derive(Debug)]
struct Entry {
    spec: ScriptSpec,
    counter: u32,
    /// A first result has been decided (always true with `init_fail`).
    decided: bool,
    next_run: Instant,
    run: Option<Run>,
    /// Last exit code, for keepalived's "Script `X` now returning N" change log.
    last_code: Option<i32>,
    last_exit: Option<ExitStatus>,
    last_timed_out: bool,
}

/// A run of a script that was removed or changed by a reload, being stopped.
#[derive(Debug)]
struct Orphan {
    script: String,
    run: Run,
}

/// The vrrp_script scheduler and rise/fall filter. See the module docs.
#[derive(Debug)]
pub struct Checker {
    entries: Vec<Entry>,
    orphans: Vec<Orphan>,
    actions: VecDeque<CheckAction>,
    next_id: u64,
    shutting_down: bool,
    /// Latest `now` seen, for `shutdown()` which gets no clock.
    last_now: Instant,
}

fn rise(spec: &ScriptSpec) -> u32 {
    spec.rise.max(1)
}
fn fall(spec: &ScriptSpec) -> u32 {
    spec.fall.max(1)
}
fn full(spec: &ScriptSpec) -> u32 {
    rise(spec).saturating_add(fall(spec)) - 1
}
fn interval(spec: &ScriptSpec) -> Duration {
    spec.interval.max(MIN_INTERVAL)
}
fn timeout(spec: &ScriptSpec) -> Duration {
    // The config layer already defaults timeout to interval; keep that rule for hand-built specs.
    if spec.timeout == Duration::ZERO {
        interval(spec)
    } else {
        spec.timeout
    }
}

impl Entry {
    fn fresh(spec: &ScriptSpec, now: Instant) -> Entry {
        // keepalived compat (§4.1): a script starts one success away from OK, so the first run
        // decides; with init_fail it starts fully failed and needs `rise` successes.
        let (counter, decided) = if spec.init_fail {
            (0, true)
        } else {
            (rise(spec) - 1, false)
        };
        Entry {
            spec: spec.clone(),
            counter,
            decided,
            next_run: now,
            run: None,
            last_code: None,
            last_exit: None,
            last_timed_out: false,
        }
    }

    fn is_ok(&self) -> bool {
        self.counter >= rise(&self.spec)
    }

    fn state(&self) -> ScriptState {
        match (self.decided, self.is_ok()) {
            (false, _) => ScriptState::Init,
            (true, true) => ScriptState::Ok,
            (true, false) => ScriptState::Failed,
        }
    }

    /// Same script for reload purposes: name, program, arguments and credentials (§2.1 item 8).
    fn same_identity(&self, spec: &ScriptSpec) -> bool {
        self.spec.name == spec.name && self.spec.cmd == spec.cmd
    }
}

impl Checker {
    /// Start checking `scripts`; each runs for the first time at `now`.
    pub fn new(scripts: &[ScriptSpec], now: Instant) -> Self {
        let mut c = Checker {
            entries: Vec::new(),
            orphans: Vec::new(),
            actions: VecDeque::new(),
            next_id: 1,
            shutting_down: false,
            last_now: now,
        };
        for spec in scripts {
            if c.entries.iter().any(|e| e.spec.name == spec.name) {
                warn!(
                    "VRRP_Script({}) defined twice - ignoring the second",
                    spec.name
                );
                continue;
            }
            let e = Entry::fresh(spec, now);
            if e.decided {
                c.actions.push_back(CheckAction::Result {
                    script: spec.name.clone(),
                    ok: false,
                });
            }
            c.entries.push(e);
        }
        c
    }

    /// SIGHUP with the new script list.
    ///
    /// keepalived compat (§2.1 item 8): a script whose name, argv and uid/gid/groups are all
    /// unchanged keeps its result and its running child; its counter is mapped onto the new
    /// rise/fall keeping the OK/KO state and the progress towards the next flip. New or changed
    /// scripts start fresh (first run now). Runs of removed or changed scripts are stopped
    /// (SIGTERM, SIGKILL after 2 s). Every decided result is re-announced, because the core's
    /// reloaded instances need the current state of the trackers they (now) reference.
    pub fn reload(&mut self, scripts: &[ScriptSpec], now: Instant) {
        self.last_now = now;
        let mut old: Vec<Option<Entry>> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(Some)
            .collect();
        for spec in scripts {
            if self.entries.iter().any(|e| e.spec.name == spec.name) {
                warn!(
                    "VRRP_Script({}) defined twice - ignoring the second",
                    spec.name
                );
                continue;
            }
            let kept = old
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|e| e.same_identity(spec)))
                .and_then(Option::take);
            let entry = match kept {
                Some(mut e) => {
                    let was_ok = e.is_ok();
                    let (old_rise, old_full) = (rise(&e.spec), full(&e.spec));
                    let old_counter = e.counter;
                    let new_interval = interval(spec);
                    e.spec = spec.clone();
                    if e.decided {
                        e.counter = if was_ok {
                            // Failures seen so far while OK; stay OK in the new range.
                            let failures = old_full - old_counter;
                            full(spec).saturating_sub(failures).max(rise(spec))
                        } else {
                            // Successes seen so far while failed; stay failed.
                            old_counter.min(old_rise - 1).min(rise(spec) - 1)
                        };
                        info!(
                            "VRRP_Script({}) considered {} on reload",
                            spec.name,
                            if was_ok { "successful" } else { "unsuccessful" }
                        );
                    } else if spec.init_fail {
                        e.counter = 0;
                        e.decided = true;
                    } else {
                        e.counter = rise(spec) - 1;
                    }
                    let soonest = now + new_interval;
                    if e.next_run > soonest {
                        e.next_run = soonest;
                    }
                    e
                }
                None => Entry::fresh(spec, now),
            };
            if entry.decided {
                self.actions.push_back(CheckAction::Result {
                    script: spec.name.clone(),
                    ok: entry.is_ok(),
                });
            }
            self.entries.push(entry);
        }
        for e in old.into_iter().flatten() {
            if let Some(run) = e.run {
                info!(
                    "VRRP_Script({}) removed or changed by reload - stopping its running child",
                    e.spec.name
                );
                self.orphan(e.spec.name, run, now);
            }
        }
    }

    /// Stop a run that no entry owns any more.
    fn orphan(&mut self, script: String, mut run: Run, now: Instant) {
        if run.phase == Phase::Running {
            run.phase = Phase::Terminating;
            run.deadline = now + KILL_GRACE;
            self.actions.push_back(CheckAction::Kill {
                run: run.id,
                signal: KillSignal::Term,
            });
        }
        self.orphans.push(Orphan { script, run });
    }

    /// A child started by `Spawn { run }` has exited and been reaped.
    pub fn handle_exit(&mut self, now: Instant, run: RunId, status: ExitStatus) {
        self.last_now = now;
        if let Some(i) = self.orphans.iter().position(|o| o.run.id == run) {
            let o = self.orphans.swap_remove(i);
            debug!("VRRP_Script({}) stopped child {status}", o.script);
            // Its group may still hold grandchildren.
            self.actions.push_back(CheckAction::Kill {
                run,
                signal: KillSignal::Kill,
            });
            return;
        }
        let Some(idx) = self
            .entries
            .iter()
            .position(|e| e.run.is_some_and(|r| r.id == run))
        else {
            debug!("exit of unknown script {run} ({status}) ignored");
            return;
        };
        let shutting_down = self.shutting_down;
        let e = &mut self.entries[idx];
        let Some(r) = e.run.take() else {
            return;
        };
        let timed_out = r.phase != Phase::Running;
        if timed_out {
            // keepalived compat (§4.3): after a timeout kill, SIGKILL the whole group so
            // grandchildren the script started cannot linger.
            self.actions.push_back(CheckAction::Kill {
                run,
                signal: KillSignal::Kill,
            });
        }
        e.last_exit = Some(status);
        e.last_timed_out = timed_out;
        if let ExitStatus::Exited(code) = status {
            // keepalived compat: the exit code is logged whenever it changes.
            if e.last_code != Some(code) && (e.last_code.is_some() || code != 0) {
                info!("Script `{}` now returning {code}", e.spec.name);
            }
            e.last_code = Some(code);
        }
        if shutting_down {
            // Results of runs cut short by shutdown must not flip instances to FAULT.
            return;
        }
        let reason = if timed_out {
            "timed out".to_string()
        } else {
            status.to_string()
        };
        let success = !timed_out && status.success();
        self.apply(idx, success, &reason);
    }

    /// The daemon could not start `run` (fork/exec failed): counts as a failed run.
    pub fn handle_spawn_failed(&mut self, now: Instant, run: RunId) {
        self.last_now = now;
        let Some(idx) = self
            .entries
            .iter()
            .position(|e| e.run.is_some_and(|r| r.id == run))
        else {
            return;
        };
        self.entries[idx].run = None;
        if !self.shutting_down {
            self.apply(idx, false, "could not be started");
        }
    }

    /// Feed one run's outcome through the rise/fall counter (§4.3).
    fn apply(&mut self, idx: usize, success: bool, reason: &str) {
        let e = &mut self.entries[idx];
        let (r, top) = (rise(&e.spec), full(&e.spec));
        let flip = if success {
            if e.counter + 1 < r {
                // Still climbing out of KO.
                e.counter += 1;
                None
            } else {
                let was_ok = e.decided && e.is_ok();
                e.counter = top;
                (!was_ok).then_some(true)
            }
        } else if e.counter > r {
            // OK, but `fall` consecutive failures are needed.
            e.counter -= 1;
            None
        } else {
            let was_ko = e.decided && !e.is_ok();
            e.counter = 0;
            (!was_ko).then_some(false)
        };
        let Some(ok) = flip else {
            return;
        };
        e.decided = true;
        if ok {
            info!("VRRP_Script({}) succeeded", e.spec.name);
        } else {
            info!("VRRP_Script({}) failed ({reason})", e.spec.name);
        }
        self.actions.push_back(CheckAction::Result {
            script: e.spec.name.clone(),
            ok,
        });
    }

    /// The clock reached `poll_timeout()` (spurious calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        for idx in 0..self.entries.len() {
            // Timeouts first: a run that times out exactly when the next one is due is
            // "being timed out", and the due run is skipped.
            if let Some(run) = self.entries[idx].run {
                let name = &self.entries[idx].spec.name;
                if let Some(run) = advance_kill(&mut self.actions, name, run, now) {
                    self.entries[idx].run = Some(run);
                }
            }
            let e = &mut self.entries[idx];
            if self.shutting_down || e.next_run > now {
                continue;
            }
            let ivl = interval(&e.spec);
            let next = e.next_run + ivl;
            e.next_run = if next <= now { now + ivl } else { next };
            match e.run {
                Some(r) => {
                    // keepalived compat (§4.3): never two runs of one script at once.
                    let what = if r.phase == Phase::Running {
                        "running"
                    } else {
                        "being timed out"
                    };
                    warn!(
                        "Track script {} is already {what}, expect idle - skipping run",
                        e.spec.name
                    );
                }
                None => {
                    let id = RunId(self.next_id);
                    self.next_id += 1;
                    e.run = Some(Run {
                        id,
                        phase: Phase::Running,
                        deadline: now + timeout(&e.spec),
                    });
                    self.actions.push_back(CheckAction::Spawn {
                        run: id,
                        script: e.spec.name.clone(),
                        cmd: e.spec.cmd.clone(),
                    });
                }
            }
        }
        let mut orphans = std::mem::take(&mut self.orphans);
        for o in &mut orphans {
            if let Some(run) = advance_kill(&mut self.actions, &o.script, o.run, now) {
                o.run = run;
            }
        }
        self.orphans = orphans;
    }

    /// Next action from the queue.
    pub fn poll_action(&mut self) -> Option<CheckAction> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let runs = self
            .entries
            .iter()
            .filter_map(|e| e.run.map(|r| r.deadline))
            .chain(self.orphans.iter().map(|o| o.run.deadline));
        let due = self
            .entries
            .iter()
            .filter(|_| !self.shutting_down)
            .map(|e| e.next_run);
        runs.chain(due).min()
    }

    /// State of one script for dumps.
    pub fn status(&self, name: &str) -> Option<ScriptStatus> {
        let e = self.entries.iter().find(|e| e.spec.name == name)?;
        Some(ScriptStatus {
            state: e.state(),
            last_exit: e.last_exit,
            last_timed_out: e.last_timed_out,
            running: e.run.is_some(),
            counter: e.counter,
            rise: rise(&e.spec),
            fall: fall(&e.spec),
        })
    }

    /// Every script's state for the SIGUSR1 data dump, in configuration order (keepalived's
    /// `Status` and `State` words; the core only sees rise/fall-filtered results).
    pub fn dump_info(&self) -> Vec<ScriptDumpInfo> {
        self.entries
            .iter()
            .map(|e| ScriptDumpInfo {
                name: e.spec.name.clone(),
                status: match e.state() {
                    ScriptState::Init => "INIT",
                    // keepalived compat: `init_fail` shows INIT/FAILED until the first run.
                    ScriptState::Failed if e.spec.init_fail && e.last_exit.is_none() => {
                        "INIT/FAILED"
                    }
                    ScriptState::Ok => "GOOD",
                    ScriptState::Failed => "BAD",
                },
                state: match e.run.map(|r| r.phase) {
                    None => "idle",
                    Some(Phase::Running) => "running",
                    Some(Phase::Terminating) => "requested termination",
                    Some(Phase::Killing) => "forcing termination",
                },
                counter: e.counter,
                rise: rise(&e.spec),
                fall: fall(&e.spec),
                last_result: match (e.last_timed_out, e.last_exit) {
                    (true, _) => Some("timed out".into()),
                    (false, Some(ExitStatus::Exited(c))) => Some(format!("exit status {c}")),
                    (false, Some(ExitStatus::Signaled(s))) => Some(format!("killed by signal {s}")),
                    (false, None) => None,
                },
            })
            .collect()
    }

    /// Names of the scripts being checked, in configuration order.
    pub fn script_names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.spec.name.as_str())
    }

    /// Number of children (runs) not yet reported as exited, including ones being killed.
    pub fn running(&self) -> usize {
        self.entries.iter().filter(|e| e.run.is_some()).count() + self.orphans.len()
    }

    /// Shutdown: SIGTERM every running script's group, SIGKILL 1 s later (measured from the
    /// latest `now` given to the checker) if it is still running; no further runs start and no
    /// further `Result`s are emitted.
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
        let deadline = self.last_now + SHUTDOWN_GRACE;
        for e in &mut self.entries {
            if let Some(r) = &mut e.run
                && r.phase == Phase::Running
            {
                r.phase = Phase::Terminating;
                r.deadline = deadline;
                self.actions.push_back(CheckAction::Kill {
                    run: r.id,
                    signal: KillSignal::Term,
                });
            }
        }
    }
}

/// Step a run's timeout/kill ladder if its deadline has passed. Returns the updated run.
fn advance_kill(
    actions: &mut VecDeque<CheckAction>,
    name: &str,
    mut run: Run,
    now: Instant,
) -> Option<Run> {
    if run.deadline > now {
        return None;
    }
    let signal = match run.phase {
        Phase::Running => {
            // keepalived compat (§4.3): SIGTERM to the process group, SIGKILL 2 s later.
            info!("VRRP_Script({name}) timed out");
            run.phase = Phase::Terminating;
            run.deadline = now + KILL_GRACE;
            KillSignal::Term
        }
        Phase::Terminating => {
            run.phase = Phase::Killing;
            run.deadline = now + KILL_GRACE;
            KillSignal::Kill
        }
        Phase::Killing => {
            warn!(
                "VRRP_Script({name}) child ({}) failed to terminate after kill",
                run.id
            );
            run.deadline = now + KILL_REPEAT;
            KillSignal::Kill
        }
    };
    actions.push_back(CheckAction::Kill {
        run: run.id,
        signal,
    });
    Some(run)
}

#[cfg(test)]
mod tests;
