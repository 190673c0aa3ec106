//! `startup_script` / `shutdown_script`: one run of a global script that the daemon waits for,
//! with keepalived 2.2.7's timeout policy (observed in namespaces): when `*_script_timeout`
//! (default 10 s) passes, "timed out" and SIGTERM to the script's process group; if it is
//! still there [`KILL_GRACE`] (2 s) later, SIGKILL and the wait ends. Pure: the daemon spawns,
//! kills and reaps, and feeds exits and timeouts in.
//!
//! ```
//! use rkeepalived::check::oneshot::{OneShot, Step};
//! use rkeepalived::check::{ExitStatus, KillSignal};
//! use rkeepalived::time::{Duration, Instant};
//!
//! let mut s = OneShot::start(Instant::ZERO, Duration::from_secs(10));
//! assert_eq!(s.poll_timeout(), Some(Instant::ZERO + Duration::from_secs(10)));
//! assert_eq!(s.handle_timeout(Instant::ZERO + Duration::from_secs(10)),
//!            Some(Step::TimedOut(KillSignal::Term)));
//! assert_eq!(s.handle_exit(ExitStatus::Exited(3)), Some(Step::Finished(ExitStatus::Exited(3))));
//! assert!(s.is_done());
//! ```

use super::{ExitStatus, KILL_GRACE, KillSignal};
use crate::time::{Duration, Instant};

/// Where a one-shot run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// SIGTERM sent at the timeout; SIGKILL at the deadline.
    Terminating,
    Done,
}

/// What the daemon does next for a one-shot run.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The timeout passed: log "timed out" and send this signal (SIGTERM) to the group.
    TimedOut(KillSignal),
    /// Still running after the grace: send SIGKILL to the group; the wait is over.
    Killed,
    /// The script exited with this status; the wait is over.
    Finished(ExitStatus),
}

/// One run of a startup or shutdown script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneShot {
    phase: Phase,
    deadline: Instant,
}

impl OneShot {
    /// The script was spawned at `now`; it may run for `timeout`.
    pub fn start(now: Instant, timeout: Duration) -> OneShot {
        OneShot {
            phase: Phase::Running,
            deadline: now + timeout,
        }
    }

    /// The run's next deadline (none once done).
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.phase != Phase::Done).then_some(self.deadline)
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Time passed; spurious calls (before the deadline, or after the end) do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Step> {
        if now < self.deadline {
            return None;
        }
        match self.phase {
            Phase::Running => {
                self.phase = Phase::Terminating;
                self.deadline = now + KILL_GRACE;
                Some(Step::TimedOut(KillSignal::Term))
            }
            Phase::Terminating => {
                self.phase = Phase::Done;
                Some(Step::Killed)
            }
            Phase::Done => None,
        }
    }

    /// The script's process exited (after a [`Step::Killed`] nothing more is reported).
    pub fn handle_exit(&mut self, status: ExitStatus) -> Option<Step> {
        if self.phase == Phase::Done {
            return None;
        }
        self.phase = Phase::Done;
        Some(Step::Finished(status))
    }
}

/// keepalived 2.2.7's log line for the end of a run (`kind` is "startup" or "shutdown"); a
/// script killed by a signal gets none.
pub fn outcome_line(kind: &str, status: ExitStatus) -> Option<String> {
    match status {
        ExitStatus::Exited(0) => Some(format!("{kind} script script succeeded")),
        ExitStatus::Exited(n) => Some(format!("{kind} script script failed, status {n}")),
        ExitStatus::Signaled(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::ZERO;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn exit_before_timeout_finishes() {
        let mut o = OneShot::start(T0, s(10));
        assert_eq!(o.handle_timeout(T0 + s(9)), None);
        assert_eq!(
            o.handle_exit(ExitStatus::Exited(0)),
            Some(Step::Finished(ExitStatus::Exited(0)))
        );
        assert_eq!(o.poll_timeout(), None);
        assert_eq!(o.handle_timeout(T0 + s(20)), None);
    }

    #[test]
    fn timeout_sends_term_then_kill_after_two_seconds() {
        let mut o = OneShot::start(T0, s(1));
        assert_eq!(
            o.handle_timeout(T0 + s(1)),
            Some(Step::TimedOut(KillSignal::Term))
        );
        assert_eq!(o.poll_timeout(), Some(T0 + s(3)));
        assert_eq!(o.handle_timeout(T0 + s(2)), None);
        assert_eq!(o.handle_timeout(T0 + s(3)), Some(Step::Killed));
        assert!(o.is_done());
        // The reaped exit after SIGKILL is not reported again.
        assert_eq!(o.handle_exit(ExitStatus::Signaled(9)), None);
    }

    #[test]
    fn exit_after_term_is_the_outcome() {
        let mut o = OneShot::start(T0, s(2));
        let _ = o.handle_timeout(T0 + s(2));
        assert_eq!(
            o.handle_exit(ExitStatus::Exited(3)),
            Some(Step::Finished(ExitStatus::Exited(3)))
        );
    }

    #[test]
    fn outcome_lines_are_keepalived_227s() {
        assert_eq!(
            outcome_line("startup", ExitStatus::Exited(0)).as_deref(),
            Some("startup script script succeeded")
        );
        assert_eq!(
            outcome_line("shutdown", ExitStatus::Exited(7)).as_deref(),
            Some("shutdown script script failed, status 7")
        );
        assert_eq!(outcome_line("startup", ExitStatus::Signaled(9)), None);
    }
}
