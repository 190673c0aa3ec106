//! Tracker weights and the effective priority (reference §4.2).
//!
//! Pure arithmetic shared by every kind of tracker (track_script, track_file, track_process,
//! track_interface): the core calls these with the current tracker states.

use crate::vrrp::spec::TrackRef;

/// What one tracker in one state does to the instance tracking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackEffect {
    /// The instance must be in FAULT (weight-0 tracker failed, or weight-0 reverse tracker up).
    Fault,
    /// Add this to the base priority (may be zero or negative).
    Delta(i32),
}

/// The effect of one tracker with `weight`/`reverse` that is currently `ok` (up / succeeding).
///
/// keepalived compat (keepalived.conf(5), vrrp_script/bfd_instance `weight`): a positive weight
/// is added while the tracker is up, a negative weight is added (reduces the priority) while it
/// is down; `reverse` negates the adjustment, so a positive weight *reduces* the priority while
/// up and a negative weight *raises* it while down. Weight 0 means FAULT while down, or with
/// `reverse`, FAULT while up.
pub fn tracker_effect(weight: i32, reverse: bool, ok: bool) -> TrackEffect {
    if weight == 0 {
        // keepalived compat: an unweighted tracker drives FAULT instead of the priority.
        return if ok == reverse {
            TrackEffect::Fault
        } else {
            TrackEffect::Delta(0)
        };
    }
    let applies = if weight > 0 { ok } else { !ok };
    if !applies {
        return TrackEffect::Delta(0);
    }
    TrackEffect::Delta(if reverse {
        weight.saturating_neg()
    } else {
        weight
    })
}

/// `base + sum`, clamped to 1..=254; an address owner (base 255) never changes.
///
/// keepalived compat: owners cannot have weighted trackers (the config layer removes them), and
/// a non-owner can never reach 255 through weights (§4.2).
pub fn effective_priority(base: u8, sum: i64) -> u8 {
    if base == 255 {
        return 255;
    }
    let total = i64::from(base).saturating_add(sum);
    // The clamp makes the narrowing cast lossless.
    total.clamp(1, 254) as u8
}

/// The combined effect of several trackers on one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackSummary {
    /// Some tracker demands FAULT.
    pub fault: bool,
    /// Sum of all weighted contributions (unclamped).
    pub delta: i64,
    /// `effective_priority(base, delta)`.
    pub priority: u8,
}

/// Fold the states of every tracker of an instance: `(track reference, ok)` pairs.
pub fn track_summary<'a, I>(base: u8, trackers: I) -> TrackSummary
where
    I: IntoIterator<Item = (&'a TrackRef, bool)>,
{
    let mut fault = false;
    let mut delta: i64 = 0;
    for (t, ok) in trackers {
        match tracker_effect(t.weight, t.reverse, ok) {
            TrackEffect::Fault => fault = true,
            TrackEffect::Delta(d) => delta = delta.saturating_add(i64::from(d)),
        }
    }
    TrackSummary {
        fault,
        delta,
        priority: effective_priority(base, delta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(weight: i32, reverse: bool) -> TrackRef {
        TrackRef {
            name: "t".into(),
            weight,
            reverse,
        }
    }

    #[test]
    fn weight_zero_faults_on_failure() {
        assert_eq!(tracker_effect(0, false, true), TrackEffect::Delta(0));
        assert_eq!(tracker_effect(0, false, false), TrackEffect::Fault);
    }

    #[test]
    fn weight_zero_reverse_faults_while_ok() {
        assert_eq!(tracker_effect(0, true, true), TrackEffect::Fault);
        assert_eq!(tracker_effect(0, true, false), TrackEffect::Delta(0));
    }

    #[test]
    fn positive_weight_adds_while_ok() {
        assert_eq!(tracker_effect(20, false, true), TrackEffect::Delta(20));
        assert_eq!(tracker_effect(20, false, false), TrackEffect::Delta(0));
    }

    #[test]
    fn negative_weight_subtracts_while_failed() {
        assert_eq!(tracker_effect(-20, false, true), TrackEffect::Delta(0));
        assert_eq!(tracker_effect(-20, false, false), TrackEffect::Delta(-20));
    }

    #[test]
    fn reverse_negates_the_adjustment() {
        // Positive weight, reverse: decreased while up.
        assert_eq!(tracker_effect(20, true, true), TrackEffect::Delta(-20));
        assert_eq!(tracker_effect(20, true, false), TrackEffect::Delta(0));
        // Negative weight, reverse: increased while down.
        assert_eq!(tracker_effect(-20, true, true), TrackEffect::Delta(0));
        assert_eq!(tracker_effect(-20, true, false), TrackEffect::Delta(20));
        // No overflow on the extreme value.
        assert_eq!(
            tracker_effect(i32::MIN, true, false),
            TrackEffect::Delta(i32::MAX)
        );
    }

    #[test]
    fn priority_is_clamped_to_1_254() {
        assert_eq!(effective_priority(100, 0), 100);
        assert_eq!(effective_priority(100, 50), 150);
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(100, -99), 1);
        assert_eq!(effective_priority(100, -500), 1);
        assert_eq!(effective_priority(254, 1), 254);
        assert_eq!(effective_priority(1, i64::MIN), 1);
    }

    #[test]
    fn owner_priority_never_changes() {
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(255, 100), 255);
    }

    #[test]
    fn summary_sums_weights_and_flags_fault() {
        let a = tr(10, false);
        let b = tr(-30, false);
        let c = tr(0, false);
        let s = track_summary(100, [(&a, true), (&b, false), (&c, true)]);
        assert_eq!(
            s,
            TrackSummary {
                fault: false,
                delta: -20,
                priority: 80
            }
        );
        let s = track_summary(100, [(&a, true), (&c, false)]);
        assert!(s.fault);
        assert_eq!(s.priority, 110);
        let s = track_summary(200, [(&a, true), (&tr(100, false), true)]);
        assert_eq!((s.delta, s.priority), (110, 254));
    }
}
