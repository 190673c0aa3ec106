//! Global keywords with a process-wide effect, in network namespaces, checked against what
//! Debian's keepalived 2.2.7 does with the same config where that can be observed the same way:
//! `log_unknown_vrids`, `process_names` / `process_name` / `vrrp_process_name`,
//! `startup_script` / `shutdown_script` (+ `_timeout`), and the receive buffer sizes
//! (`vrrp_rx_bufs_*`, `vrrp_netlink_*_rcv_bufs*`).
//!
//! Needs root (and keepalived for the comparisons); skips with a printed reason otherwise, and
//! fails instead when `CI` is set. Addresses (only inside the lab's namespaces): node1
//! 10.16.200.11/16, node2 10.16.200.12/16 on `eth1`; VIPs 10.16.200.200/201.

mod common;

use std::time::Duration;

use common::daemon_ext::{Inst, children_states, conf, ns_pid};
use common::interop_ext::KEEPALIVED;
use common::netns::{
    Lab, daemon_bin, require_root_or_skip, require_tools_or_skip, step, wait_until,
};

fn can_run(tools: &[&str]) -> bool {
    require_root_or_skip() && require_tools_or_skip(tools)
}

/// Lab with node1 and node2.
fn lab(tag: &str) -> Lab {
    let mut lab = Lab::new(tag);
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    lab
}

/// One BACKUP instance VI_1 (VRID 51) with `globals` in global_defs.
fn backup_conf(globals: &str) -> String {
    conf(
        "rk_globals",
        globals,
        &[Inst {
            vips: vec!["10.16.200.200/16 dev eth1".into()],
            ..Inst::default()
        }],
    )
}

/// A MASTER for VRID 52 (advert_int 1).
fn vrid52_master() -> String {
    conf(
        "rk_other",
        "",
        &[Inst {
            name: "VI_2",
            state: "MASTER",
            vrid: 52,
            prio: 200,
            vips: vec!["10.16.200.201/16 dev eth1".into()],
            ..Inst::default()
        }],
    )
}

const UNKNOWN_52: &str = "Unknown VRID(52) received on interface(eth1). ignoring...";

// ------------------------------------------------------------------ log_unknown_vrids

/// node2 advertises VRID 52; node1 only has VRID 51. With `log_unknown_vrids` both keepalived
/// 2.2.7 and rkeepalived log keepalived's line for each such advert (without -D); without the
/// keyword neither does.
#[test]
fn log_unknown_vrids_logs_adverts_for_foreign_vrids() {
    if !can_run(&[KEEPALIVED]) {
        return;
    }
    let lab = lab("unkvrid");
    let _other = lab.spawn_daemon("node2", &daemon_bin(), &vrid52_master(), &[]);
    for bin in [std::path::PathBuf::from(KEEPALIVED), daemon_bin()] {
        for on in [true, false] {
            let globals = if on { "    log_unknown_vrids\n" } else { "" };
            step(format!("{} with log_unknown_vrids={on}", bin.display()));
            let d = lab.spawn_daemon_with("node1", &bin, &backup_conf(globals), false, &[]);
            if on {
                d.wait_log(UNKNOWN_52, Duration::from_secs(8))
                    .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
                // One line per advert (advert_int 1), not a single warning.
                let n = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
                    d.count_log(UNKNOWN_52) >= 3
                });
                assert!(n.is_some(), "{}: {}", bin.display(), d.log());
            } else {
                // node2 is MASTER already: adverts arrive every second; 4 s is plenty.
                std::thread::sleep(Duration::from_secs(4));
                assert_eq!(d.count_log(UNKNOWN_52), 0, "{}: {}", bin.display(), d.log());
            }
            drop(d);
        }
    }
}

// ------------------------------------------------------------------ process names

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// keepalived 2.2.7's (parent name, VRRP child name) for `globals`, read from /proc.
fn keepalived_names(lab: &Lab, globals: &str) -> (String, String) {
    let d = lab.spawn_daemon(
        "node1",
        std::path::Path::new(KEEPALIVED),
        &backup_conf(globals),
        &[],
    );
    d.wait_log("Entering BACKUP STATE", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let child = children_states(d.pid())
        .first()
        .map(|c| c.0)
        .unwrap_or_else(|| panic!("keepalived has no VRRP child; log:\n{}", d.log()));
    (comm(d.pid()), comm(child))
}

/// `process_names`, `process_name`, `vrrp_process_name`: rkeepalived (one process) takes the
/// name keepalived 2.2.7 gives its VRRP child, and `ps`/`pgrep -x` inside the node find it by
/// that name; with none of the keywords the name stays the executable's.
#[test]
fn process_names_name_the_process_like_keepalived_vrrp_child() {
    if !can_run(&[KEEPALIVED, "ps"]) {
        return;
    }
    let lab = lab("pnames");
    let cases: [(&str, &str, &str); 6] = [
        ("", "keepalived", "rkeepalived"),
        ("    process_names\n", "keepalived", "keepalived_vrrp"),
        ("    process_name rk_parent\n", "rk_parent", "rk_parent"),
        ("    vrrp_process_name rk_vrrp\n", "keepalived", "rk_vrrp"),
        (
            "    process_names\n    process_name rk_parent\n",
            "rk_parent",
            "keepalived_vrrp",
        ),
        (
            "    process_name rk_parent\n    vrrp_process_name rk_vrrp_0123456789\n",
            "rk_parent",
            "rk_vrrp_0123456",
        ),
    ];
    for (globals, ka_parent, want) in cases {
        step(format!("globals {globals:?}"));
        let (p, c) = keepalived_names(&lab, globals);
        assert_eq!(p, ka_parent, "keepalived parent for {globals:?}");
        // The default keepalived child inherits the parent's name ("keepalived").
        let ka_child = if globals.is_empty() {
            "rkeepalived"
        } else {
            &c
        };
        assert_eq!(want, ka_child, "keepalived VRRP child for {globals:?}");
        let mut d = lab.spawn_daemon("node1", &daemon_bin(), &backup_conf(globals), &[]);
        d.wait_log("Entering BACKUP STATE", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(comm(d.pid()), want, "{globals:?}; log:\n{}", d.log());
        let inner = ns_pid(d.pid()).expect("pid in the node").to_string();
        let ps = lab.exec_ok("node1", &["ps", "-o", "comm=", "-p", &inner]);
        assert_eq!(ps.trim(), want, "ps for {globals:?}");
        let pg = lab.exec_ok("node1", &["pgrep", "-x", want]);
        assert_eq!(pg.trim(), inner, "pgrep -x {want}");
        // Gone before the next case (two cases share a name).
        d.signal(common::netns::Signal::SIGTERM);
        assert!(d.wait_exit(Duration::from_secs(10)).is_some());
    }
}

// ------------------------------------------------------------------ startup / shutdown scripts

/// A MASTER owner (priority 255) of 10.16.200.200/16 with `globals` (plus script security).
fn owner_conf(globals: &str) -> String {
    conf(
        "rk_scripts",
        &format!("    enable_script_security\n    script_user root\n{globals}"),
        &[Inst {
            state: "MASTER",
            prio: 255,
            vips: vec!["10.16.200.200/16 dev eth1".into()],
            ..Inst::default()
        }],
    )
}

const VIP: &str = "10.16.200.200/16";

/// A script that appends `NAME begin`, then every 0.1 s for `secs` s `NAME saw VIP` if the VIP
/// is on eth1, then `NAME end` to /etc/keepalived/trace, and exits `rc`. With `trap`, SIGTERM
/// appends `NAME TERM` and exits 7; without, SIGTERM is ignored.
fn trace_script(name: &str, secs: u32, rc: i32, trap: bool) -> String {
    let on_term = if trap {
        format!("echo '{name} TERM' >> /etc/keepalived/trace; exit 7")
    } else {
        format!("echo '{name} TERM' >> /etc/keepalived/trace")
    };
    format!(
        "#!/bin/sh\n\
         echo '{name} begin' >> /etc/keepalived/trace\n\
         trap \"{on_term}\" TERM\n\
         i=0\n\
         while [ $i -lt {n} ]; do\n\
         \x20 ip -o addr show dev eth1 | grep -q '10.16.200.200/16' && echo '{name} saw VIP' >> /etc/keepalived/trace\n\
         \x20 sleep 0.1; i=$((i+1))\n\
         done\n\
         echo '{name} end' >> /etc/keepalived/trace\n\
         exit {rc}\n",
        n = secs * 10
    )
}

fn trace(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.etc_dir("node1").join("trace"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn both() -> [(&'static str, std::path::PathBuf); 2] {
    [
        ("keepalived", std::path::PathBuf::from(KEEPALIVED)),
        ("rkeepalived", daemon_bin()),
    ]
}

/// keepalived 2.2.7 (observed) runs `startup_script` before VRRP starts and waits for it (the
/// VIP appears only after it ended), and `shutdown_script` after VRRP stopped (the VIP is gone
/// while it runs) and exits only after it. rkeepalived does the same, with the same log lines.
#[test]
fn startup_script_runs_before_vrrp_and_shutdown_script_after() {
    if !can_run(&[KEEPALIVED]) {
        return;
    }
    let lab = lab("ssok");
    lab.install_etc_file(
        "node1",
        "start.sh",
        &trace_script("start", 2, 0, true),
        0o755,
    );
    lab.install_etc_file("node1", "stop.sh", &trace_script("stop", 1, 3, true), 0o755);
    let globals = "    startup_script /etc/keepalived/start.sh\n    shutdown_script /etc/keepalived/stop.sh\n";
    for (name, bin) in both() {
        step(format!("{name}: startup 2 s, shutdown 1 s (exit 3)"));
        let _ = std::fs::remove_file(lab.etc_dir("node1").join("trace"));
        let mut d = lab.spawn_daemon("node1", &bin, &owner_conf(globals), &[]);
        let took = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            lab.has_addr("node1", "eth1", VIP)
        });
        assert!(took.is_some(), "{name}: no VIP; log:\n{}", d.log());
        assert_eq!(
            trace(&lab),
            ["start begin", "start end"],
            "{name}: {}",
            d.log()
        );
        let log = d.log();
        let at = |l: &str| {
            log.find(l)
                .unwrap_or_else(|| panic!("{name}: no {l:?} in:\n{log}"))
        };
        assert!(
            at("Running startup script /etc/keepalived/start.sh")
                < at("startup script script succeeded")
        );
        assert!(at("startup script script succeeded") < at("Entering MASTER STATE"));
        d.signal(common::netns::Signal::SIGTERM);
        assert!(
            d.wait_exit(Duration::from_secs(10)).is_some(),
            "{name}: did not exit"
        );
        // Exit waited for the shutdown script, which ran with the VIP already gone.
        assert_eq!(
            trace(&lab),
            ["start begin", "start end", "stop begin", "stop end"],
            "{name}: {}",
            d.log()
        );
        let log = d.log();
        assert!(
            log.contains("Running shutdown script /etc/keepalived/stop.sh"),
            "{name}: {log}"
        );
        assert!(
            log.contains("shutdown script script failed, status 3"),
            "{name}: {log}"
        );
    }
}

/// Timeouts (observed on keepalived 2.2.7): "startup script timed out" and SIGTERM at the
/// timeout; a script that ignores it is killed 2 s later and VRRP starts then. A shutdown
/// script that exits on SIGTERM is reported with its status.
#[test]
fn script_timeouts_term_then_kill() {
    if !can_run(&[KEEPALIVED]) {
        return;
    }
    let lab = lab("sstmo");
    lab.install_etc_file(
        "node1",
        "start.sh",
        &trace_script("start", 20, 0, false),
        0o755,
    );
    lab.install_etc_file(
        "node1",
        "stop.sh",
        &trace_script("stop", 20, 0, true),
        0o755,
    );
    let globals = "    startup_script /etc/keepalived/start.sh\n    startup_script_timeout 1\n\
                   \x20   shutdown_script /etc/keepalived/stop.sh\n    shutdown_script_timeout 1\n";
    for (name, bin) in both() {
        step(format!(
            "{name}: startup ignores TERM (timeout 1), shutdown exits 7 on TERM"
        ));
        let _ = std::fs::remove_file(lab.etc_dir("node1").join("trace"));
        let t0 = std::time::Instant::now();
        let mut d = lab.spawn_daemon("node1", &bin, &owner_conf(globals), &[]);
        let took = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            lab.has_addr("node1", "eth1", VIP)
        });
        let t = t0.elapsed();
        assert!(took.is_some(), "{name}: no VIP; log:\n{}", d.log());
        step(format!("{name}: VIP after {:.2} s", t.as_secs_f64()));
        assert!(
            t >= Duration::from_millis(2900),
            "{name}: VIP after {t:?}: {}",
            d.log()
        );
        assert!(
            d.log().contains("startup script timed out"),
            "{name}: {}",
            d.log()
        );
        // Killed: no "end", no further "saw VIP" after a moment.
        std::thread::sleep(Duration::from_millis(500));
        let tr = trace(&lab);
        assert_eq!(
            tr.first().map(String::as_str),
            Some("start begin"),
            "{name}: {tr:?}"
        );
        assert!(tr.contains(&"start TERM".to_string()), "{name}: {tr:?}");
        assert!(!tr.contains(&"start end".to_string()), "{name}: {tr:?}");
        d.signal(common::netns::Signal::SIGTERM);
        assert!(
            d.wait_exit(Duration::from_secs(10)).is_some(),
            "{name}: did not exit"
        );
        let tr = trace(&lab);
        assert!(
            tr.ends_with(&["stop begin".into(), "stop TERM".into()]),
            "{name}: {tr:?}"
        );
        let log = d.log();
        assert!(log.contains("shutdown script timed out"), "{name}: {log}");
        assert!(
            log.contains("shutdown script script failed, status 7"),
            "{name}: {log}"
        );
    }
}

/// SIGTERM while the startup script runs. rkeepalived: the startup script gets SIGTERM, VRRP
/// never starts (no VIP), then the shutdown script runs and is waited for. keepalived 2.2.7
/// (observed) starts the shutdown script at once, alongside the startup script (and would start
/// VRRP if the startup script ended first); here the startup script outlasts it and is
/// terminated when keepalived exits.
#[test]
fn stop_during_startup_script() {
    if !can_run(&[KEEPALIVED]) {
        return;
    }
    let lab = lab("ssstop");
    lab.install_etc_file(
        "node1",
        "start.sh",
        &trace_script("start", 10, 0, true),
        0o755,
    );
    lab.install_etc_file("node1", "stop.sh", &trace_script("stop", 1, 0, true), 0o755);
    let globals = "    startup_script /etc/keepalived/start.sh\n    shutdown_script /etc/keepalived/stop.sh\n";
    for (name, bin) in both() {
        step(format!("{name}: SIGTERM during the startup script"));
        let _ = std::fs::remove_file(lab.etc_dir("node1").join("trace"));
        let mut d = lab.spawn_daemon("node1", &bin, &owner_conf(globals), &[]);
        d.wait_log("Running startup script", Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_secs(1));
        d.signal(common::netns::Signal::SIGTERM);
        assert!(
            d.wait_exit(Duration::from_secs(10)).is_some(),
            "{name}: did not exit"
        );
        std::thread::sleep(Duration::from_millis(300));
        let t = trace(&lab);
        if name == "keepalived" {
            let want = ["start begin", "stop begin", "stop end", "start TERM"];
            assert_eq!(t, want, "{name}: {}", d.log());
        } else {
            // The startup script is sent SIGTERM before the shutdown script starts; when its
            // trap writes "start TERM" relative to "stop begin" is up to the scheduler.
            let at = |w: &str| t.iter().position(|x| x == w);
            assert_eq!(t.len(), 4, "{name}: {t:?}\n{}", d.log());
            assert_eq!(at("start begin"), Some(0), "{t:?}");
            assert!(at("start TERM").is_some(), "{t:?}");
            assert!(at("stop begin") < at("stop end"), "{t:?}");
        }
        assert!(
            !d.log().contains("Entering MASTER STATE"),
            "{name}: {}",
            d.log()
        );
        assert!(!lab.has_addr("node1", "eth1", VIP));
    }
}
