//! Health-check policy (vrrp_script scheduling, rise/fall, weights; track_file values and
//! vrrp_track_process matching/counting in [`track_file`] / [`track_process`]): pure.
//!
//! [`Checker`] decides when each `vrrp_script` runs, when a run has timed out and must be
//! killed, and when the rise/fall-filtered result changes; the daemon carries out its
//! [`CheckAction`]s with `sys::process` and feeds child exits back. [`tracker_effect`] and
//! [`effective_priority`] are the weight arithmetic the core applies to tracker states.
//!
//! The daemon's side, in outline (the same drain rule as for the VRRP core):
//! - start: `Checker::new(&spec.scripts, now)`, then drain;
//! - timer at `poll_timeout()`: `handle_timeout(now)`, then drain;
//! - SIGCHLD: for each `(pid, status)` of `sys::process::reap()` that belongs to a run,
//!   `handle_exit(now, run, status)`, then drain (other pids are notify scripts: ignore);
//! - SIGHUP: `reload(&new_spec.scripts, now)`; SIGTERM: `shutdown()`; drain each time.
//!
//! Draining: `Spawn` → `sys::process::spawn` (on error `handle_spawn_failed`), `Kill` →
//! `sys::process::kill_group(pgid, signal)`, `Result` → `Input::Tracker(TrackerUpdate::Script
//! { name, ok })` to the core.
//!
//! ```
//! use rkeepalived::check::{CheckAction, Checker, ExitStatus};
//! use rkeepalived::time::{Duration, Instant};
//! use rkeepalived::vrrp::spec::ScriptSpec;
//!
//! let spec = ScriptSpec { name: "chk".into(), interval: Duration::from_secs(2),
//!                         timeout: Duration::from_secs(2), rise: 1, fall: 1, ..Default::default() };
//! let mut c = Checker::new(&[spec], Instant::ZERO);
//! c.handle_timeout(Instant::ZERO);
//! let Some(CheckAction::Spawn { run, .. }) = c.poll_action() else { panic!() };
//! c.handle_exit(Instant(10_000), run, ExitStatus::Exited(0));
//! assert_eq!(c.poll_action(), Some(CheckAction::Result { script: "chk".into(), ok: true }));
//! assert_eq!(c.poll_timeout(), Some(Instant::ZERO + Duration::from_secs(2)));
//! ```

pub mod oneshot;
mod script;
mod track;
pub mod track_file;
pub mod track_process;

pub use script::{
    CheckAction, Checker, ExitStatus, KILL_GRACE, KillSignal, RunId, ScriptState, ScriptStatus,
};
pub use track::{TrackEffect, TrackSummary, effective_priority, track_summary, tracker_effect};
