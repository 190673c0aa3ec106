//! The seed's chk_ng (interval 10, fall 5, weight 0) on a virtual clock: how long after nginx
//! stops does the instance go to FAULT, and how fast does it come back.

use rkeepalived::check::{
    CheckAction, Checker, ExitStatus, TrackEffect, track_summary, tracker_effect,
};
use rkeepalived::time::{Duration, Instant};
use rkeepalived::vrrp::spec::{ScriptCmd, ScriptSpec, TrackRef};

fn chk_ng() -> ScriptSpec {
    ScriptSpec {
        name: "chk_ng".into(),
        cmd: ScriptCmd {
            argv: vec!["/etc/keepalived/checkng.sh".into()],
            ..Default::default()
        },
        interval: Duration::from_secs(10),
        // keepalived: timeout defaults to interval.
        timeout: Duration::from_secs(10),
        rise: 1,
        fall: 5,
        ..Default::default()
    }
}

/// Simulate `secs` seconds; the script takes 50 ms and succeeds iff `nginx_up(t)`.
/// Returns (time in s, ok) of every Result.
fn simulate(secs: u64, nginx_up: impl Fn(u64) -> bool) -> Vec<(u64, bool)> {
    let mut c = Checker::new(&[chk_ng()], Instant::ZERO);
    let mut pending: Vec<(Instant, rkeepalived::check::RunId, bool)> = Vec::new();
    let mut out = Vec::new();
    let end = Instant::ZERO + Duration::from_secs(secs);
    loop {
        let next_exit = pending.iter().map(|p| p.0).min();
        let next = match (c.poll_timeout(), next_exit) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).expect("always something scheduled"),
        };
        if next > end {
            break;
        }
        if Some(next) == next_exit {
            let i = pending.iter().position(|p| p.0 == next).unwrap();
            let (_, run, ok) = pending.swap_remove(i);
            let st = ExitStatus::Exited(if ok { 0 } else { 1 });
            c.handle_exit(next, run, st);
        } else {
            c.handle_timeout(next);
        }
        while let Some(a) = c.poll_action() {
            match a {
                CheckAction::Spawn { run, .. } => {
                    let s = next.as_micros() / 1_000_000;
                    pending.push((next + Duration::from_millis(50), run, nginx_up(s)));
                }
                CheckAction::Result { ok, .. } => out.push((next.as_micros() / 1_000_000, ok)),
                CheckAction::Kill { .. } => panic!("a 50 ms script never times out"),
            }
        }
    }
    out
}

#[test]
fn seed_chk_ng_goes_bad_on_the_fifth_failed_run() {
    // nginx stops at t=65 s: failed runs at 70, 80, 90, 100, 110 → BAD at 110 s (≈45 s).
    let r = simulate(200, |t| !(65..135).contains(&t));
    assert_eq!(r, vec![(0, true), (110, false), (140, true)]);
}

#[test]
fn seed_chk_ng_survives_a_short_outage() {
    // Down for 4 runs only (70..100): never reported BAD.
    let r = simulate(200, |t| !(65..105).contains(&t));
    assert_eq!(r, vec![(0, true)]);
}

#[test]
fn seed_chk_ng_weight_0_means_fault() {
    let t = TrackRef {
        name: "chk_ng".into(),
        weight: 0,
        reverse: false,
    };
    assert_eq!(
        tracker_effect(t.weight, t.reverse, false),
        TrackEffect::Fault
    );
    let s = track_summary(100, [(&t, true)]);
    assert!(!s.fault);
    assert_eq!(s.priority, 100);
    let s = track_summary(90, [(&t, false)]);
    assert!(s.fault);
}
