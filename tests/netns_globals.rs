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

use common::daemon_ext::{Inst, conf};
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
