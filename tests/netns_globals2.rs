//! Top-level keywords with a process-wide effect, in network namespaces, each checked against
//! what Debian's keepalived 2.2.7 does with the same config: `net_namespace NAME` (the daemon
//! runs in /run/netns/NAME), `instance NAME` and `use_pid_dir` (pidfile names).
//!
//! The daemons run inside a lab node that has its own /run (a tmpfs mounted in the node's
//! private mount namespace), so the default pidfiles under /run/keepalived never reach the
//! host's /run, and /run/netns inside that node holds only the namespaces a test binds there.
//!
//! Needs root and keepalived; skips with a printed reason otherwise, and fails instead when
//! `CI` is set. Addresses (only inside the lab's namespaces): node1 10.16.201.11/16 on `eth1`,
//! VIP 10.16.201.200/16.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::daemon_ext::{Inst, conf};
use common::interop_ext::KEEPALIVED;
use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until,
};

fn can_run() -> bool {
    require_root_or_skip() && require_tools_or_skip(&[KEEPALIVED])
}

fn both() -> [PathBuf; 2] {
    [PathBuf::from(KEEPALIVED), daemon_bin()]
}

const VIP: &str = "10.16.201.200/16";

/// A MASTER (priority 200) of VIP on eth1, with `top` lines before `global_defs`.
fn master_conf(top: &str) -> String {
    format!(
        "{top}{}",
        conf(
            "rk_globals2",
            "",
            &[Inst {
                state: "MASTER",
                prio: 200,
                vips: vec![format!("{VIP} dev eth1")],
                ..Inst::default()
            }],
        )
    )
}

/// Gives `node` its own empty /run (tmpfs, in the node's private mount namespace) and binds
/// each (alias, lab namespace) as /run/netns/ALIAS there.
fn private_run(lab: &Lab, node: &str, netns: &[(&str, &str)]) {
    let saved = lab.node_dir(node).join("netns-host");
    std::fs::create_dir_all(&saved).expect("mkdir netns-host");
    let mut script = format!(
        "set -e\nmount --rbind /run/netns '{s}'\nmount -t tmpfs rk-run /run\nmkdir /run/netns\n",
        s = saved.display()
    );
    for (alias, real) in netns {
        script.push_str(&format!(
            "touch /run/netns/{alias}\nmount --bind '{s}/{real}' /run/netns/{alias}\n",
            s = saved.display()
        ));
    }
    lab.exec_ok(node, &["sh", "-c", &script]);
}

/// `find /run -name '*.pid'` inside `node`, sorted.
fn pidfiles(lab: &Lab, node: &str) -> Vec<String> {
    let out = lab.exec_ok(node, &["find", "/run", "-name", "*.pid"]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn exists_in(lab: &Lab, node: &str, path: &str) -> bool {
    lab.exec(node, &["test", "-e", path]).status.success()
}

fn netns_of(pid: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn netns_file(ns: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(Path::new("/run/netns").join(ns))
        .expect("lab namespace")
        .ino();
    format!("net:[{ino}]")
}

fn stop(d: &mut DaemonHandle) -> Option<std::process::ExitStatus> {
    d.signal(Signal::SIGTERM);
    d.wait_exit(Duration::from_secs(10))
}

// ------------------------------------------------------------------ net_namespace

/// The daemon is started in node `outer` (which has no eth1) with `net_namespace blue`, blue
/// being node1's namespace: keepalived 2.2.7 and rkeepalived both run there (the process's
/// network namespace is node1's, the VIP appears on node1's eth1 and goes at stop), and write
/// their pidfiles in /run/keepalived/blue/ (with `instance inst1`: `keepalived_inst1.pid`,
/// `vrrp_inst1.pid`), all removed at exit.
#[test]
fn net_namespace_runs_vrrp_in_the_named_namespace() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("netns");
    lab.add_node("node1", "eth1", &["10.16.201.11/16"]);
    lab.add_node("outer", "eth9", &[]);
    let node1_ns = lab.ns("node1").to_string();
    private_run(&lab, "outer", &[("blue", &node1_ns)]);
    let want_ns = netns_file(&node1_ns);
    let text = master_conf("net_namespace blue\ninstance inst1\n");
    for bin in both() {
        step(format!("{} with net_namespace blue", bin.display()));
        let mut d = lab.spawn_daemon_pidfiles("outer", &bin, &text, true, false, &[]);
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            lab.has_addr("node1", "eth1", VIP)
        });
        assert!(
            up.is_some(),
            "{}: no VIP in node1:\n{}",
            bin.display(),
            d.log()
        );
        assert_eq!(netns_of(d.pid()), want_ns, "{}", bin.display());
        assert!(!lab.has_addr("outer", "eth9", VIP));
        assert_eq!(
            pidfiles(&lab, "outer"),
            [
                "/run/keepalived/blue/keepalived_inst1.pid",
                "/run/keepalived/blue/vrrp_inst1.pid"
            ],
            "{}",
            bin.display()
        );
        assert!(stop(&mut d).is_some(), "{}: did not stop", bin.display());
        assert!(!lab.has_addr("node1", "eth1", VIP), "{}", bin.display());
        assert!(
            !exists_in(&lab, "outer", "/run/keepalived"),
            "{}: /run/keepalived left behind",
            bin.display()
        );
    }
}

/// A namespace that does not exist: both log keepalived's two lines and exit with status 0
/// (keepalived 2.2.7's status), leaving no pidfile.
#[test]
fn net_namespace_missing_exits_with_keepalived_lines() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("netnsmiss");
    lab.add_node("outer", "eth1", &[]);
    private_run(&lab, "outer", &[]);
    for bin in both() {
        step(format!("{} with a missing namespace", bin.display()));
        let mut d = lab.spawn_daemon_pidfiles(
            "outer",
            &bin,
            &master_conf("net_namespace nope\n"),
            true,
            false,
            &[],
        );
        let st = d.wait_exit(Duration::from_secs(10));
        let log = d.log();
        assert_eq!(
            st.and_then(|s| s.code()),
            Some(0),
            "{}:\n{log}",
            bin.display()
        );
        for line in [
            "Failed to open /run/netns/nope",
            "Unable to set network namespace nope - exiting",
        ] {
            assert!(log.contains(line), "{}: no {line:?}:\n{log}", bin.display());
        }
        assert!(pidfiles(&lab, "outer").is_empty(), "{}", bin.display());
    }
}

// ------------------------------------------------------------------ instance / use_pid_dir

/// Without -p / -r, `use_pid_dir` and `instance NAME` name the pidfiles as keepalived 2.2.7
/// does (the same files for both while running), and /run/keepalived is removed at exit;
/// `-p` still names the parent's file.
#[test]
fn instance_and_use_pid_dir_name_the_pidfiles() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("piddir");
    lab.add_node("node1", "eth1", &["10.16.201.11/16"]);
    private_run(&lab, "node1", &[]);
    let cases: [(&str, &[&str], &[&str]); 5] = [
        ("", &[], &["/run/keepalived.pid", "/run/vrrp.pid"]),
        (
            "use_pid_dir\n",
            &[],
            &["/run/keepalived/keepalived.pid", "/run/keepalived/vrrp.pid"],
        ),
        (
            "instance foo\n",
            &[],
            &[
                "/run/keepalived/keepalived_foo.pid",
                "/run/keepalived/vrrp_foo.pid",
            ],
        ),
        (
            "instance foo\nuse_pid_dir\n",
            &[],
            &[
                "/run/keepalived/keepalived_foo.pid",
                "/run/keepalived/vrrp_foo.pid",
            ],
        ),
        (
            "instance foo\n",
            &["-p", "/run/p.pid"],
            &["/run/keepalived/vrrp_foo.pid", "/run/p.pid"],
        ),
    ];
    for (top, args, want) in cases {
        for bin in both() {
            step(format!("{} with {top:?} {args:?}", bin.display()));
            let mut d =
                lab.spawn_daemon_pidfiles("node1", &bin, &master_conf(top), true, false, args);
            let ok = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
                pidfiles(&lab, "node1") == want
            });
            assert!(
                ok.is_some(),
                "{} {top:?}: {:?}\n{}",
                bin.display(),
                pidfiles(&lab, "node1"),
                d.log()
            );
            assert!(stop(&mut d).is_some(), "{}: did not stop", bin.display());
            assert!(pidfiles(&lab, "node1").is_empty(), "{}", bin.display());
            assert!(
                !exists_in(&lab, "node1", "/run/keepalived"),
                "{}: /run/keepalived left behind",
                bin.display()
            );
        }
    }
}
