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
        let d = lab.spawn_daemon("node1", &daemon_bin(), &backup_conf(globals), &[]);
        d.wait_log("Entering BACKUP STATE", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(comm(d.pid()), want, "{globals:?}; log:\n{}", d.log());
        let inner = ns_pid(d.pid()).expect("pid in the node").to_string();
        let ps = lab.exec_ok("node1", &["ps", "-o", "comm=", "-p", &inner]);
        assert_eq!(ps.trim(), want, "ps for {globals:?}");
        let pg = lab.exec_ok("node1", &["pgrep", "-x", want]);
        assert_eq!(pg.trim(), inner, "pgrep -x {want}");
    }
}
