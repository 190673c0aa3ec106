//! Health-check policy (vrrp_script scheduling, rise/fall, weights): pure.
//!
//! [`Checker`] decides when each `vrrp_script` runs, when a run has timed out and must be
//! killed, and when the rise/fall-filtered result changes; the daemon carries out its
//! [`CheckAction`]s with `sys::process` and feeds child exits back. [`tracker_effect`] and
//! [`effective_priority`] are the weight arithmetic the core applies to tracker states.

mod script;
mod track;

pub use script::{
    CheckAction, Checker, ExitStatus, KILL_GRACE, KillSignal, RunId, ScriptState, ScriptStatus,
};
pub use track::{TrackEffect, TrackSummary, effective_priority, track_summary, tracker_effect};
