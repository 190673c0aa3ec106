use super::*;

const S: u64 = 1_000_000;

fn t(secs: f64) -> Instant {
    Instant((secs * S as f64).round() as u64)
}

fn spec(name: &str, interval: u64, timeout: u64, rise: u32, fall: u32) -> ScriptSpec {
    ScriptSpec {
        name: name.into(),
        cmd: ScriptCmd {
            argv: vec![format!("/etc/keepalived/{name}.sh")],
            ..Default::default()
        },
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(timeout),
        rise,
        fall,
        ..Default::default()
    }
}

fn drain(c: &mut Checker) -> Vec<CheckAction> {
    std::iter::from_fn(|| c.poll_action()).collect()
}

fn spawned(actions: &[CheckAction]) -> Vec<RunId> {
    actions
        .iter()
        .filter_map(|a| match a {
            CheckAction::Spawn { run, .. } => Some(*run),
            _ => None,
        })
        .collect()
}

fn results(actions: &[CheckAction]) -> Vec<bool> {
    actions
        .iter()
        .filter_map(|a| match a {
            CheckAction::Result { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect()
}

/// Run the script once at its due time and let it exit with `code` 1 ms later; return the
/// results emitted.
fn run_once(c: &mut Checker, code: i32) -> Vec<bool> {
    let now = c.poll_timeout().expect("a run is scheduled");
    c.handle_timeout(now);
    let a = drain(c);
    let runs = spawned(&a);
    assert_eq!(runs.len(), 1, "exactly one spawn at {now}: {a:?}");
    c.handle_exit(
        now + Duration::from_millis(1),
        runs[0],
        ExitStatus::Exited(code),
    );
    results(&drain(c))
}

#[test]
fn first_run_is_immediate_and_first_success_decides_ok() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 3, 5)], t(100.0));
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(t(100.0)));
    assert_eq!(c.status("chk").unwrap().state, ScriptState::Init);
    c.handle_timeout(t(100.0));
    let a = drain(&mut c);
    assert_eq!(
        a,
        vec![CheckAction::Spawn {
            run: RunId(1),
            script: "chk".into(),
            cmd: spec("chk", 10, 10, 3, 5).cmd,
        }]
    );
    // Timeout of the run (= interval) and the next run coincide.
    assert_eq!(c.poll_timeout(), Some(t(110.0)));
    c.handle_exit(t(100.5), RunId(1), ExitStatus::Exited(0));
    // keepalived compat: one success away from OK even with rise 3.
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Result {
            script: "chk".into(),
            ok: true
        }]
    );
    let st = c.status("chk").unwrap();
    assert_eq!(st.state, ScriptState::Ok);
    assert_eq!(st.counter, 3 + 5 - 1);
    assert_eq!(st.last_exit, Some(ExitStatus::Exited(0)));
    assert!(!st.running);
    assert_eq!(c.poll_timeout(), Some(t(110.0)));
}

#[test]
fn first_failure_decides_failed() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 5)], t(0.0));
    assert_eq!(run_once(&mut c, 1), vec![false]);
    assert_eq!(c.status("chk").unwrap().state, ScriptState::Failed);
    // Further failures do not repeat the result.
    assert_eq!(run_once(&mut c, 1), Vec::<bool>::new());
    assert_eq!(run_once(&mut c, 0), vec![true]);
}

#[test]
fn fall_5_takes_exactly_5_consecutive_failures() {
    // The seed's chk_ng: interval 10, fall 5, rise 1.
    let mut c = Checker::new(&[spec("chk_ng", 10, 10, 1, 5)], t(0.0));
    assert_eq!(run_once(&mut c, 0), vec![true]);
    for i in 1..=4 {
        assert!(run_once(&mut c, 1).is_empty(), "failure {i} must not flip");
        assert_eq!(c.status("chk_ng").unwrap().state, ScriptState::Ok);
    }
    // A success in between resets the count.
    assert!(run_once(&mut c, 0).is_empty());
    for i in 1..=4 {
        assert!(run_once(&mut c, 1).is_empty(), "failure {i} after reset");
    }
    assert_eq!(run_once(&mut c, 1), vec![false]);
    assert_eq!(c.status("chk_ng").unwrap().state, ScriptState::Failed);
    assert_eq!(c.status("chk_ng").unwrap().counter, 0);
    // Runs happen every 10 s exactly: 11 runs so far, from t=0.
    assert_eq!(c.poll_timeout(), Some(t(110.0)));
}

#[test]
fn rise_3_from_failed_needs_3_consecutive_successes() {
    let mut c = Checker::new(&[spec("chk", 1, 1, 3, 2)], t(0.0));
    assert_eq!(run_once(&mut c, 2), vec![false]);
    assert!(run_once(&mut c, 0).is_empty());
    assert!(run_once(&mut c, 0).is_empty());
    // A failure in between resets to 0.
    assert!(run_once(&mut c, 1).is_empty());
    assert_eq!(c.status("chk").unwrap().counter, 0);
    assert!(run_once(&mut c, 0).is_empty());
    assert!(run_once(&mut c, 0).is_empty());
    assert_eq!(run_once(&mut c, 0), vec![true]);
    // fall 2: one failure keeps OK, the second flips.
    assert!(run_once(&mut c, 1).is_empty());
    assert_eq!(run_once(&mut c, 1), vec![false]);
}

#[test]
fn init_fail_starts_failed_and_needs_rise_successes() {
    let mut s = spec("chk", 5, 5, 2, 1);
    s.init_fail = true;
    let mut c = Checker::new(&[s], t(0.0));
    // Decided at once: instances need not wait for the first run.
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Result {
            script: "chk".into(),
            ok: false
        }]
    );
    assert_eq!(c.status("chk").unwrap().state, ScriptState::Failed);
    assert!(run_once(&mut c, 1).is_empty());
    assert!(run_once(&mut c, 0).is_empty());
    assert_eq!(run_once(&mut c, 0), vec![true]);
}

#[test]
fn signal_death_is_a_failure() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    c.handle_exit(t(1.0), run, ExitStatus::Signaled(9));
    assert_eq!(results(&drain(&mut c)), vec![false]);
    assert_eq!(
        c.status("chk").unwrap().last_exit,
        Some(ExitStatus::Signaled(9))
    );
}

#[test]
fn timeout_sends_term_then_kill_after_2s_and_counts_as_failure() {
    let mut c = Checker::new(&[spec("chk", 10, 3, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    assert_eq!(c.poll_timeout(), Some(t(3.0)));
    // Spurious wake-up before the deadline: nothing.
    c.handle_timeout(t(2.9));
    assert!(drain(&mut c).is_empty());
    c.handle_timeout(t(3.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run,
            signal: KillSignal::Term
        }]
    );
    assert_eq!(c.poll_timeout(), Some(t(5.0)));
    c.handle_timeout(t(5.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run,
            signal: KillSignal::Kill
        }]
    );
    // Still alive: SIGKILL again after 2 s, then every 10 s.
    assert_eq!(c.poll_timeout(), Some(t(7.0)));
    c.handle_timeout(t(7.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run,
            signal: KillSignal::Kill
        }]
    );
    assert_eq!(c.poll_timeout(), Some(t(10.0))); // the next (skipped) due run
    c.handle_timeout(t(10.0));
    assert!(
        drain(&mut c).is_empty(),
        "due run skipped while being killed"
    );
    assert_eq!(c.poll_timeout(), Some(t(17.0)));
    // It finally dies; even a clean exit counts as a failure after a timeout.
    c.handle_exit(t(11.0), run, ExitStatus::Exited(0));
    let a = drain(&mut c);
    assert_eq!(
        a,
        vec![
            CheckAction::Kill {
                run,
                signal: KillSignal::Kill
            },
            CheckAction::Result {
                script: "chk".into(),
                ok: false
            }
        ]
    );
    let st = c.status("chk").unwrap();
    assert!(st.last_timed_out);
    assert!(!st.running);
    assert_eq!(c.poll_timeout(), Some(t(20.0)));
}

#[test]
fn default_timeout_equals_interval() {
    let mut s = spec("chk", 4, 0, 1, 1);
    s.timeout = Duration::ZERO;
    let mut c = Checker::new(&[s], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    c.handle_timeout(t(4.0));
    let a = drain(&mut c);
    // Term for the hung run, and the due run is skipped rather than overlapping.
    assert_eq!(
        a,
        vec![CheckAction::Kill {
            run,
            signal: KillSignal::Term
        }]
    );
}

#[test]
fn overlapping_run_is_skipped() {
    let mut c = Checker::new(&[spec("chk", 1, 10, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let first = spawned(&drain(&mut c));
    assert_eq!(first.len(), 1);
    for s in 1..=3 {
        c.handle_timeout(t(s as f64));
        assert!(spawned(&drain(&mut c)).is_empty(), "skip at {s}s");
        assert!(c.status("chk").unwrap().running);
    }
    c.handle_exit(t(3.5), first[0], ExitStatus::Exited(0));
    assert_eq!(results(&drain(&mut c)), vec![true]);
    assert_eq!(c.poll_timeout(), Some(t(4.0)));
    c.handle_timeout(t(4.0));
    let second = spawned(&drain(&mut c));
    assert_eq!(second.len(), 1);
    assert_ne!(second[0], first[0]);
}

#[test]
fn late_wakeup_does_not_burst() {
    let mut c = Checker::new(&[spec("chk", 1, 1, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    c.handle_exit(t(0.1), run, ExitStatus::Exited(0));
    let _ = drain(&mut c);
    // The loop was stuck for 10 s: one run, then back to the 1 s cadence.
    c.handle_timeout(t(10.5));
    assert_eq!(spawned(&drain(&mut c)).len(), 1);
    assert_eq!(c.poll_timeout(), Some(t(11.5)));
}

#[test]
fn shared_script_runs_once_per_interval() {
    // Two instances tracking chk_ng still give one vrrp_script and one entry; a duplicate
    // definition is ignored.
    let s = spec("chk_ng", 10, 10, 1, 5);
    let mut c = Checker::new(&[s.clone(), s], t(0.0));
    assert_eq!(c.script_names().collect::<Vec<_>>(), vec!["chk_ng"]);
    let mut spawns = 0;
    for i in 0..10 {
        let now = t(10.0 * i as f64);
        assert_eq!(c.poll_timeout(), Some(now));
        c.handle_timeout(now);
        let runs = spawned(&drain(&mut c));
        spawns += runs.len();
        for r in runs {
            c.handle_exit(now + Duration::from_millis(5), r, ExitStatus::Exited(0));
        }
        let _ = drain(&mut c);
    }
    assert_eq!(spawns, 10);
}

#[test]
fn several_scripts_are_scheduled_independently() {
    let mut c = Checker::new(&[spec("a", 2, 2, 1, 1), spec("b", 3, 3, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let a = drain(&mut c);
    assert_eq!(spawned(&a).len(), 2);
    for r in spawned(&a) {
        c.handle_exit(t(0.1), r, ExitStatus::Exited(0));
    }
    let _ = drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(t(2.0)));
    c.handle_timeout(t(2.0));
    let a = drain(&mut c);
    assert!(matches!(&a[..], [CheckAction::Spawn { script, .. }] if script == "a"));
}

#[test]
fn reload_keeps_state_and_running_child_of_identical_script() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 5)], t(0.0));
    assert_eq!(run_once(&mut c, 0), vec![true]);
    // Two failures out of five, then a run in progress.
    assert!(run_once(&mut c, 1).is_empty());
    assert!(run_once(&mut c, 1).is_empty());
    c.handle_timeout(t(30.0));
    let run = spawned(&drain(&mut c))[0];

    // Same name/argv/user, different fall and interval.
    let mut s = spec("chk", 5, 5, 1, 3);
    s.weight = -20;
    c.reload(&[s], t(31.0));
    // Re-announced, no kill, no new spawn.
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Result {
            script: "chk".into(),
            ok: true
        }]
    );
    let st = c.status("chk").unwrap();
    assert!(st.running);
    assert_eq!(st.state, ScriptState::Ok);
    // Two failures were seen: with fall 3, one more flips.
    assert_eq!((st.counter, st.fall), (1, 3));
    // The next run is due no later than the new interval.
    assert_eq!(c.poll_timeout(), Some(t(36.0)));
    // The kept child's exit still counts.
    c.handle_exit(t(32.0), run, ExitStatus::Exited(1));
    assert_eq!(results(&drain(&mut c)), vec![false]);
}

#[test]
fn reload_keeps_failed_state() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 3, 1)], t(0.0));
    assert_eq!(run_once(&mut c, 1), vec![false]);
    assert!(run_once(&mut c, 0).is_empty()); // 1 success of 3
    c.reload(&[spec("chk", 10, 10, 2, 1)], t(25.0));
    assert_eq!(results(&drain(&mut c)), vec![false]);
    let st = c.status("chk").unwrap();
    assert_eq!((st.state, st.counter), (ScriptState::Failed, 1));
    assert_eq!(run_once(&mut c, 0), vec![true]);
}

#[test]
fn reload_restarts_changed_script_and_kills_old_child() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 1)], t(0.0));
    assert_eq!(run_once(&mut c, 0), vec![true]);
    c.handle_timeout(t(10.0));
    let old_run = spawned(&drain(&mut c))[0];

    let mut changed = spec("chk", 10, 10, 1, 1);
    changed.cmd.uid = 65534;
    c.reload(&[changed], t(12.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run: old_run,
            signal: KillSignal::Term
        }]
    );
    let st = c.status("chk").unwrap();
    assert_eq!(st.state, ScriptState::Init);
    assert!(!st.running);
    // The new script runs at once; the old child is SIGKILLed 2 s after SIGTERM.
    assert_eq!(c.poll_timeout(), Some(t(12.0)));
    c.handle_timeout(t(12.0));
    let new_run = spawned(&drain(&mut c))[0];
    assert_ne!(new_run, old_run);
    c.handle_timeout(t(14.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run: old_run,
            signal: KillSignal::Kill
        }]
    );
    // The old child's exit changes nothing but a group SIGKILL.
    c.handle_exit(t(14.1), old_run, ExitStatus::Signaled(9));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run: old_run,
            signal: KillSignal::Kill
        }]
    );
    c.handle_exit(t(14.2), new_run, ExitStatus::Exited(1));
    assert_eq!(results(&drain(&mut c)), vec![false]);
    assert_eq!(c.running(), 0);
}

#[test]
fn reload_drops_removed_script_and_starts_new_one() {
    let mut c = Checker::new(&[spec("a", 10, 10, 1, 1)], t(0.0));
    assert_eq!(run_once(&mut c, 0), vec![true]);
    let mut b = spec("b", 10, 10, 1, 1);
    b.init_fail = true;
    c.reload(&[b], t(5.0));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Result {
            script: "b".into(),
            ok: false
        }]
    );
    assert!(c.status("a").is_none());
    assert_eq!(c.status("b").unwrap().state, ScriptState::Failed);
    assert_eq!(c.poll_timeout(), Some(t(5.0)));
}

#[test]
fn reload_of_undecided_script_stays_init() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    c.reload(&[spec("chk", 10, 10, 4, 1)], t(1.0));
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.status("chk").unwrap().counter, 3);
    c.handle_exit(t(2.0), run, ExitStatus::Exited(0));
    assert_eq!(results(&drain(&mut c)), vec![true]);
}

#[test]
fn shutdown_terms_running_scripts_and_stops_scheduling() {
    let mut c = Checker::new(&[spec("a", 10, 10, 1, 1), spec("b", 10, 10, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let runs = spawned(&drain(&mut c));
    c.handle_exit(t(0.5), runs[1], ExitStatus::Exited(0));
    let _ = drain(&mut c);
    c.shutdown();
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run: runs[0],
            signal: KillSignal::Term
        }]
    );
    // SIGKILL backstop 1 s after the latest known time; no further runs.
    assert_eq!(c.poll_timeout(), Some(t(1.5)));
    c.handle_timeout(t(1.5));
    assert_eq!(
        drain(&mut c),
        vec![CheckAction::Kill {
            run: runs[0],
            signal: KillSignal::Kill
        }]
    );
    // The killed run reports no Result (it must not flip instances to FAULT while stopping).
    c.handle_exit(t(1.6), runs[0], ExitStatus::Signaled(9));
    assert!(results(&drain(&mut c)).is_empty());
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(t(100.0));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn spawn_failure_counts_as_failure() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 1)], t(0.0));
    c.handle_timeout(t(0.0));
    let run = spawned(&drain(&mut c))[0];
    c.handle_spawn_failed(t(0.0), run);
    assert_eq!(results(&drain(&mut c)), vec![false]);
    assert!(!c.status("chk").unwrap().running);
}

#[test]
fn unknown_exit_is_ignored() {
    let mut c = Checker::new(&[spec("chk", 10, 10, 1, 1)], t(0.0));
    c.handle_exit(t(1.0), RunId(999), ExitStatus::Exited(0));
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.status("chk").unwrap().state, ScriptState::Init);
}

#[test]
fn zero_rise_fall_and_interval_are_sanitised() {
    let s = ScriptSpec {
        name: "z".into(),
        ..Default::default()
    };
    let mut c = Checker::new(&[s], t(0.0));
    assert_eq!(run_once(&mut c, 0), vec![true]);
    assert!(c.poll_timeout().unwrap() > t(0.0));
    let st = c.status("z").unwrap();
    assert_eq!((st.rise, st.fall, st.counter), (1, 1, 1));
}

#[test]
fn dump_info_uses_keepalived_status_and_state_words() {
    let mut failing = spec("f", 10, 3, 2, 1);
    failing.init_fail = true;
    let mut c = Checker::new(&[spec("chk", 10, 3, 1, 1), failing], t(0.0));
    let words = |c: &Checker| -> Vec<(&'static str, &'static str, Option<String>)> {
        c.dump_info()
            .into_iter()
            .map(|d| (d.status, d.state, d.last_result))
            .collect()
    };
    assert_eq!(
        words(&c),
        vec![("INIT", "idle", None), ("INIT/FAILED", "idle", None)]
    );
    c.handle_timeout(t(0.0));
    let runs = spawned(&drain(&mut c));
    assert_eq!(
        words(&c),
        vec![("INIT", "running", None), ("INIT/FAILED", "running", None)]
    );
    c.handle_exit(t(0.5), runs[1], ExitStatus::Exited(0));
    drain(&mut c);
    let d = &c.dump_info()[1];
    assert_eq!((d.status, d.counter, d.rise, d.fall), ("BAD", 1, 2, 1));
    assert_eq!(d.last_result.as_deref(), Some("exit status 0"));
    // The first script times out: SIGTERM, then SIGKILL.
    c.handle_timeout(t(3.0));
    drain(&mut c);
    assert_eq!(c.dump_info()[0].state, "requested termination");
    c.handle_timeout(t(5.0));
    drain(&mut c);
    assert_eq!(c.dump_info()[0].state, "forcing termination");
    c.handle_exit(t(5.5), runs[0], ExitStatus::Signaled(9));
    drain(&mut c);
    assert_eq!(words(&c)[0], ("BAD", "idle", Some("timed out".to_string())));
}
