//! The daemon as a process, in network namespaces: sd_notify, SIGHUP reloads, dump signals,
//! daemonizing, and resource hygiene across reloads.
//!
//! Needs root; skips with a printed reason otherwise, and fails instead when `CI` is set.
//! Addresses (only inside the lab's namespaces): node1 10.16.200.11/16, node2 10.16.200.12/16 on
//! `eth1`; VIPs 10.16.200.200..202.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::daemon_ext::{
    Inst, NotifySocket, VipWatch, children_states, conf, env_wrapper, fd_count, fd_targets,
    json_eval, json_valid, kill_num, log_after_nth, node_tmp, ns_pid, stat_fields,
};
use common::netns::{
    DaemonHandle, Lab, Signal, daemon_bin, require_root_or_skip, require_tools_or_skip, step,
    wait_until, which,
};

const VIP: &str = "10.16.200.200";
const VIP32: &str = "10.16.200.200/32";

fn can_run(tools: &[&str]) -> bool {
    require_root_or_skip() && require_tools_or_skip(tools)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Lab with node1 (and node2 if `two`).
fn lab(tag: &str, two: bool) -> Lab {
    let mut lab = Lab::new(tag);
    lab.add_node("node1", "eth1", &["10.16.200.11/16"]);
    if two {
        lab.add_node("node2", "eth1", &["10.16.200.12/16"]);
    }
    lab
}

/// A single-node MASTER config (`state MASTER`, multicast) holding `vips`.
fn master_conf(name: &str, vips: &[&str], globals: &str) -> String {
    conf(
        "rk_daemon",
        globals,
        &[Inst {
            name,
            state: "MASTER",
            prio: 150,
            vips: vips.iter().map(|v| format!("{v} dev eth1")).collect(),
            ..Inst::default()
        }],
    )
}

/// Waits until node1 holds `cidr`; panics with the log otherwise.
fn wait_master(lab: &Lab, d: &DaemonHandle, cidr: &str, limit: Duration) -> Duration {
    wait_until(limit, Duration::from_millis(20), || {
        lab.has_addr(d.node(), "eth1", cidr)
    })
    .unwrap_or_else(|| {
        panic!(
            "{} did not take {cidr} within {limit:?}; log:\n{}",
            d.node(),
            d.log()
        )
    })
}

/// Sends SIGHUP and waits for the reload's outcome line (`Reload complete`, `Reload refused`
/// or `Reload failed`) to be the `n`th of its kind; returns (line kind, duration seen from here).
fn hup_and_wait(d: &DaemonHandle, expect: &str) -> Duration {
    let before = d.count_log(expect);
    let t0 = Instant::now();
    d.signal(Signal::SIGHUP);
    let t = wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
        d.count_log(expect) > before
    });
    assert!(
        t.is_some(),
        "no new {expect:?} after SIGHUP; log:\n{}",
        d.log()
    );
    t0.elapsed()
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

// ------------------------------------------------------------------ CLI

/// `--signum` answers with glibc's numbers whatever libc the binary was built with.
#[test]
fn signum_prints_keepalived_numbers() {
    let bin = daemon_bin();
    for (args, want) in [
        (vec!["--signum=JSON"], "36"),
        (vec!["--signum", "STATS_CLEAR"], "63"),
        (vec!["--signum=RELOAD"], "1"),
        (vec!["--signum=STOP"], "15"),
        (vec!["--signum=DATA"], "10"),
        (vec!["--signum=STATS"], "12"),
    ] {
        let out = std::process::Command::new(&bin)
            .args(&args)
            .output()
            .expect("run daemon binary");
        assert!(out.status.success(), "{args:?}: {}", out.status);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            want,
            "{args:?}"
        );
    }
    let out = std::process::Command::new(&bin)
        .arg("--signum=NOPE")
        .output()
        .expect("run daemon binary");
    assert!(!out.status.success(), "--signum=NOPE must fail");
}

// ------------------------------------------------------------------ sd_notify

/// The notifications systemd expects, in order: READY=1 + MAINPID after start, RELOADING=1
/// then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM.
fn notify_sequence(lab: &Lab, sock: &NotifySocket) {
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "notify-env",
        &daemon_bin(),
        &[("NOTIFY_SOCKET", &sock.env_value)],
    );
    step(format!("start with NOTIFY_SOCKET={}", sock.env_value));
    let t0 = Instant::now();
    let mut d = lab.spawn_daemon("node1", &wrapper, &master_conf("VI_1", &[VIP], ""), &[]);
    let inner = ns_pid(d.pid()).expect("daemon pid inside its namespace");
    let ready = sock
        .recv(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no notification after start; log:\n{}", d.log()));
    step(format!("  {:?} {} after spawn", ready, secs(t0.elapsed())));
    let mut lines: Vec<&str> = ready.lines().collect();
    lines.sort_unstable();
    let mut want = vec!["READY=1".to_string(), format!("MAINPID={inner}")];
    want.sort_unstable();
    assert_eq!(lines, want, "first notification");

    step("SIGHUP");
    d.signal(Signal::SIGHUP);
    let r1 = sock.recv(Duration::from_secs(10)).expect("no RELOADING=1");
    assert!(
        r1.lines().any(|l| l == "RELOADING=1"),
        "expected RELOADING=1, got {r1:?}"
    );
    let r2 = sock
        .recv(Duration::from_secs(10))
        .expect("no READY=1 after reload");
    assert!(
        r2.lines().any(|l| l == "READY=1") && r2.lines().any(|l| l == format!("MAINPID={inner}")),
        "expected READY=1 + MAINPID after reload, got {r2:?}"
    );
    step(format!("  {r1:?} then {r2:?}"));
    d.wait_log("Reload complete", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));

    step("SIGTERM");
    d.signal(Signal::SIGTERM);
    let s = sock.recv(Duration::from_secs(10)).expect("no STOPPING=1");
    assert!(
        s.lines().any(|l| l == "STOPPING=1"),
        "expected STOPPING=1, got {s:?}"
    );
    let st = d.wait_exit(Duration::from_secs(10)).expect("no exit");
    assert!(st.success(), "exit status {st}");
    let rest = sock.drain();
    assert!(rest.is_empty(), "unexpected notifications: {rest:?}");
    step(format!("  {s:?}; exited {st}"));
}

#[test]
fn sd_notify_path_socket_ready_reloading_stopping() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("notify", false);
    let sock = NotifySocket::bind_path(&lab.node_dir("node1").join("run/notify.sock"));
    notify_sequence(&lab, &sock);
}

#[test]
fn sd_notify_abstract_socket_ready_reloading_stopping() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("notifyabs", false);
    let name = format!("rk-notify-{}", std::process::id());
    let sock = NotifySocket::bind_abstract_in(lab.ns("node1"), &name);
    notify_sequence(&lab, &sock);
}

/// Scripts started by the daemon (notify and track scripts) do not inherit NOTIFY_SOCKET
/// (keepalived compat: children clear it), so they cannot impersonate the service.
#[test]
fn sd_notify_socket_not_inherited_by_scripts() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("notifyenv", false);
    let sock = NotifySocket::bind_path(&lab.node_dir("node1").join("run/notify.sock"));
    let out = lab.etc_dir("node1");
    lab.install_etc_file(
        "node1",
        "env.sh",
        &format!(
            "#!/bin/sh\nenv > \"{}/env-$1.out\"\nexit 0\n",
            out.display()
        ),
        0o755,
    );
    let c = format!(
        "global_defs {{\n    router_id rk_env\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script chk_env {{\n    script \"/etc/keepalived/env.sh track\"\n    interval 1\n}}\n{}",
        Inst {
            state: "MASTER",
            prio: 150,
            vips: vec![format!("{VIP} dev eth1")],
            extra: "    track_script {\n        chk_env\n    }\n    notify_master \"/etc/keepalived/env.sh master\"\n",
            ..Inst::default()
        }
        .render()
    );
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "notify-env",
        &daemon_bin(),
        &[("NOTIFY_SOCKET", &sock.env_value)],
    );
    let d = lab.spawn_daemon("node1", &wrapper, &c, &[]);
    for which in ["track", "master"] {
        let p = out.join(format!("env-{which}.out"));
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            fs::read_to_string(&p).is_ok_and(|s| s.contains("PATH="))
        })
        .unwrap_or_else(|| panic!("{which} script did not run; log:\n{}", d.log()));
        let env = fs::read_to_string(&p).expect("env");
        assert!(
            !env.contains("NOTIFY_SOCKET"),
            "{which} script inherited NOTIFY_SOCKET:\n{env}"
        );
        step(format!("{which} script environment has no NOTIFY_SOCKET"));
    }
    let _ = sock.drain();
}

// ------------------------------------------------------------------ SIGHUP

/// Epoch times of gratuitous ARPs for `vip` in a capture.
fn garp_times(cap: &mut common::netns::Capture, vip: &str) -> Vec<f64> {
    cap.fields(
        &format!("arp.opcode == 1 && arp.src.proto_ipv4 == {vip} && arp.dst.proto_ipv4 == {vip}"),
        &["frame.time_epoch"],
    )
    .iter()
    .filter_map(|r| r.first().and_then(|t| t.parse().ok()))
    .collect()
}

/// SIGHUP with an unchanged config on a MASTER with a BACKUP peer: no state transition on
/// either node, the VIP never disappears (polled during the reload), and no GARP is sent
/// because of the reload (the initial burst is the positive control).
#[test]
fn sighup_unchanged_config_no_transition_no_vip_flap_no_garp() {
    if !can_run(&["tcpdump", "tshark"]) {
        return;
    }
    let lab = lab("hupsame", true);
    let mut cap = lab.capture(lab.lan_ns(), "br0", "arp");
    // No second GARP block: every GARP after the first burst would be the reload's doing.
    let g = "    vrrp_garp_master_delay 0\n";
    let inst = |prio, src, peer| Inst {
        prio,
        vips: vec![format!("{VIP} dev eth1")],
        unicast: Some((src, vec![peer])),
        auth: true,
        ..Inst::default()
    };
    let c1 = conf("n1", g, &[inst(100, "10.16.200.11", "10.16.200.12")]);
    let c2 = conf("n2", g, &[inst(90, "10.16.200.12", "10.16.200.11")]);
    let d1 = lab.spawn_daemon("node1", &daemon_bin(), &c1, &[]);
    let t = wait_master(&lab, &d1, VIP32, Duration::from_secs(10));
    step(format!("node1 MASTER {} after start", secs(t)));
    let d2 = lab.spawn_daemon("node2", &daemon_bin(), &c2, &[]);
    d2.wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1500));

    let watch = VipWatch::start(lab.ns("node1"), "eth1", VIP32);
    let hup_at = now_epoch();
    let took = hup_and_wait(&d1, "Reload complete");
    step(format!("node1 reload complete {} after SIGHUP", secs(took)));
    let took2 = hup_and_wait(&d2, "Reload complete");
    step(format!(
        "node2 reload complete {} after SIGHUP",
        secs(took2)
    ));
    std::thread::sleep(Duration::from_millis(2500));
    let w = watch.finish();
    step(format!("  VIP watch: {w:?}"));
    assert!(w.samples > 10, "too few VIP samples: {w:?}");
    assert_eq!(w.absent, 0, "VIP absent during the reload: {w:?}");
    for d in [&d1, &d2] {
        let log = d.log();
        let after = log_after_nth(&log, "Reloading", 0);
        assert!(!after.is_empty(), "no Reloading line");
        assert!(
            !after.contains("Entering"),
            "{}: state transition after reload:\n{after}",
            d.node()
        );
    }
    assert_eq!(lab.holders(&["node1", "node2"], "eth1", VIP32), ["node1"]);
    let times = garp_times(&mut cap, VIP);
    let after: Vec<f64> = times.iter().copied().filter(|t| *t >= hup_at).collect();
    step(format!(
        "  GARPs for {VIP}: {} before SIGHUP (start burst), {} after",
        times.len() - after.len(),
        after.len()
    ));
    assert!(
        times.len() > after.len(),
        "positive control: no GARP at all"
    );
    assert!(after.is_empty(), "GARPs after the reload at {after:?}");
}

/// SIGHUP with a changed VIP list on a MASTER: the added VIP appears, the removed one goes,
/// the unchanged one never disappears, and the instance never leaves MASTER.
#[test]
fn sighup_changed_vips_on_master_adds_and_removes_only_those() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("hupvips", false);
    let (a, b, c) = ("10.16.200.200/32", "10.16.200.201/32", "10.16.200.202/32");
    let d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &master_conf("VI_1", &[VIP, "10.16.200.201"], ""),
        &[],
    );
    wait_master(&lab, &d, b, Duration::from_secs(10));
    assert!(lab.has_addr("node1", "eth1", a));
    std::thread::sleep(Duration::from_millis(500));
    lab.install_etc_file(
        "node1",
        "keepalived.conf",
        &master_conf("VI_1", &[VIP, "10.16.200.202"], ""),
        0o644,
    );
    let watch = VipWatch::start(lab.ns("node1"), "eth1", a);
    let took = hup_and_wait(&d, "Reload complete");
    let changed = wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        lab.has_addr("node1", "eth1", c) && !lab.has_addr("node1", "eth1", b)
    });
    std::thread::sleep(Duration::from_millis(1000));
    let w = watch.finish();
    step(format!(
        "reload complete {} after SIGHUP; VIPs changed {:?} after it; watch of {a}: {w:?}",
        secs(took),
        changed
    ));
    assert!(
        changed.is_some(),
        "VIPs not changed: {:?}\n{}",
        lab.addrs("node1", "eth1"),
        d.log()
    );
    assert_eq!(w.absent, 0, "unchanged VIP {a} disappeared: {w:?}");
    let log = d.log();
    let after = log_after_nth(&log, "Reloading", 0);
    assert!(
        !after.contains("Entering"),
        "state transition after reload:\n{after}"
    );
    assert!(lab.has_addr("node1", "eth1", a) && lab.has_addr("node1", "eth1", c));
    assert!(!lab.has_addr("node1", "eth1", b));
}

/// A VIP added by a reload on a MASTER is announced with gratuitous ARPs (the unchanged VIP is
/// counted too, for the numbers).
#[test]
fn sighup_added_vip_is_announced_with_garp() {
    if !can_run(&["tcpdump", "tshark"]) {
        return;
    }
    let lab = lab("hupgarp", false);
    let g = "    vrrp_garp_master_delay 0\n";
    let d = lab.spawn_daemon("node1", &daemon_bin(), &master_conf("VI_1", &[VIP], g), &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let mut cap = lab.capture(lab.ns("node1"), "eth1", "arp");
    lab.install_etc_file(
        "node1",
        "keepalived.conf",
        &master_conf("VI_1", &[VIP, "10.16.200.202"], g),
        0o644,
    );
    d.signal(Signal::SIGHUP);
    wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        lab.has_addr("node1", "eth1", "10.16.200.202/32")
    })
    .unwrap_or_else(|| panic!("VIP not added:\n{}", d.log()));
    std::thread::sleep(Duration::from_millis(1500));
    let new = garp_times(&mut cap, "10.16.200.202").len();
    let old = garp_times(&mut cap, VIP).len();
    step(format!(
        "after the reload: {new} GARPs for the added VIP, {old} for the unchanged one"
    ));
    assert!(new >= 1, "added VIP not announced");
}

/// SIGHUP with a broken config (syntax error, then a missing file) keeps the running config
/// and says why; the VIP stays and a later good reload still works.
#[test]
fn sighup_broken_config_keeps_running_config() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("hupbad", false);
    let good = master_conf("VI_1", &[VIP], "");
    let d = lab.spawn_daemon("node1", &daemon_bin(), &good, &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    let watch = VipWatch::start(lab.ns("node1"), "eth1", VIP32);

    // Syntax error: an unclosed block and an unknown instance keyword with a bad VRID.
    let broken = good.replace("virtual_router_id 51", "virtual_router_id 0\n    {{{");
    lab.install_etc_file("node1", "keepalived.conf", &broken, 0o644);
    let before: usize = d.count_log("Reload refused") + d.count_log("Reload failed");
    d.signal(Signal::SIGHUP);
    let t = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        d.count_log("Reload refused") + d.count_log("Reload failed") > before
    });
    assert!(t.is_some(), "broken config not refused:\n{}", d.log());
    step(format!("syntax error: refused after {}", secs(t.unwrap())));

    // Unreadable: the file is gone.
    fs::remove_file(lab.etc_dir("node1").join("keepalived.conf")).expect("rm conf");
    let took = hup_and_wait(&d, "Reload failed");
    step(format!("missing file: Reload failed after {}", secs(took)));

    // Good again: the old instance is still there and reloads normally.
    lab.install_etc_file("node1", "keepalived.conf", &good, 0o644);
    let took = hup_and_wait(&d, "Reload complete");
    step(format!("good config: Reload complete after {}", secs(took)));
    std::thread::sleep(Duration::from_millis(500));
    let w = watch.finish();
    assert_eq!(w.absent, 0, "VIP absent during the bad reloads: {w:?}");
    let log = d.log();
    let after = log_after_nth(&log, "Reloading", 0);
    assert!(
        !after.contains("Entering"),
        "state transition after bad reloads:\n{after}"
    );
    for l in log.lines().filter(|l| l.contains("Reload")) {
        step(format!("  log: {l}"));
    }
}

/// A renamed instance (same VRID/interface/family) is the same instance to a reload: it keeps
/// MASTER and its VIP.
#[test]
fn sighup_renamed_instance_keeps_master() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("huprename", false);
    let tmp = node_tmp(&lab, "node1");
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "tmp-env",
        &daemon_bin(),
        &[("TMPDIR", &tmp.to_string_lossy())],
    );
    let d = lab.spawn_daemon("node1", &wrapper, &master_conf("VI_OLD", &[VIP], ""), &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    lab.install_etc_file(
        "node1",
        "keepalived.conf",
        &master_conf("VI_NEW", &[VIP], ""),
        0o644,
    );
    let watch = VipWatch::start(lab.ns("node1"), "eth1", VIP32);
    let took = hup_and_wait(&d, "Reload complete");
    std::thread::sleep(Duration::from_millis(1500));
    let w = watch.finish();
    step(format!("reload complete {}; VIP watch {w:?}", secs(took)));
    assert_eq!(w.absent, 0, "VIP absent: {w:?}");
    let log = d.log();
    let after = log_after_nth(&log, "Reloading", 0);
    assert!(
        !after.contains("Entering"),
        "state transition after rename:\n{after}"
    );
    // The JSON dump names the new instance, still MASTER.
    let json = tmp.join("keepalived.json");
    kill_num(d.pid(), 36);
    wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        json.exists()
    })
    .expect("no keepalived.json");
    if which("python3").is_some() {
        assert_eq!(json_eval(&json, "j[0]['data']['iname']"), "VI_NEW");
        assert_eq!(json_eval(&json, "j[0]['data']['state']"), "2");
    }
}

// ------------------------------------------------------------------ dumps

/// SIGUSR1 / SIGUSR2 / signal 36 write keepalived.data / .stats / .json into $TMPDIR.
#[test]
fn dump_signals_write_data_stats_json() {
    if !can_run(&["python3"]) {
        return;
    }
    let lab = lab("dumps", false);
    let tmp = node_tmp(&lab, "node1");
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "tmp-env",
        &daemon_bin(),
        &[("TMPDIR", &tmp.to_string_lossy())],
    );
    let d = lab.spawn_daemon("node1", &wrapper, &master_conf("VI_DUMP", &[VIP], ""), &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(2200));

    // Written completely: non-empty and the same size twice 50 ms apart (keepalived writes
    // in place; rkeepalived renames a finished temporary file).
    let wait_file = |name: &str| {
        let p = tmp.join(name);
        let mut last = 0;
        wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            let n = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            let done = n > 0 && n == last;
            last = n;
            done
        })
        .unwrap_or_else(|| panic!("{} not written; log:\n{}", p.display(), d.log()));
        fs::read_to_string(&p).expect("read dump")
    };

    d.signal(Signal::SIGUSR1);
    let data = wait_file("keepalived.data");
    step(format!("keepalived.data: {} bytes", data.len()));
    assert!(data.contains("VI_DUMP"), "data names the instance:\n{data}");
    assert!(data.contains(VIP), "data names the VIP:\n{data}");

    d.signal(Signal::SIGUSR2);
    let stats = wait_file("keepalived.stats");
    step(format!("keepalived.stats:\n{stats}"));
    for want in [
        "VRRP Instance: VI_DUMP",
        "  Advertisements:",
        "    Received:",
        "    Sent:",
        "  Became master: 1",
        "  Released master: 0",
        "  Packet Errors:",
        "    Length:",
        "    TTL:",
        "    Invalid Type:",
        "    Advertisement Interval:",
        "    Address List:",
        "  Authentication Errors:",
        "    Type Mismatch:",
        "    Failure:",
        "  Priority Zero:",
    ] {
        assert!(
            stats.lines().any(|l| l.starts_with(want)),
            "no line {want:?} in stats"
        );
    }
    let sent: u64 = stats
        .lines()
        .skip_while(|l| !l.contains("Advertisements:"))
        .find_map(|l| l.trim().strip_prefix("Sent: "))
        .and_then(|v| v.parse().ok())
        .expect("Sent count");
    assert!(sent >= 2, "a MASTER for > 2 s sent {sent} adverts");

    let json = tmp.join("keepalived.json");
    kill_num(d.pid(), 36);
    wait_file("keepalived.json");
    json_valid(&json).unwrap_or_else(|e| {
        panic!(
            "keepalived.json does not parse: {e}\n{}",
            fs::read_to_string(&json).unwrap_or_default()
        )
    });
    let iname = json_eval(&json, "j[0]['data']['iname']");
    let state = json_eval(&json, "j[0]['data']['state']");
    let sent_j = json_eval(&json, "j[0]['stats']['advert_sent']");
    step(format!(
        "keepalived.json: iname={iname} state={state} advert_sent={sent_j}"
    ));
    assert_eq!(iname, "VI_DUMP");
    assert_eq!(state, "2", "state 2 = MASTER");
    assert_eq!(json_eval(&json, "len(j)"), "1");

    // STATS_CLEAR (63): writes the stats, then zeroes the counters.
    let _ = fs::remove_file(tmp.join("keepalived.stats"));
    kill_num(d.pid(), 63);
    wait_file("keepalived.stats");
    std::thread::sleep(Duration::from_millis(100));
    let _ = fs::remove_file(tmp.join("keepalived.stats"));
    d.signal(Signal::SIGUSR2);
    let cleared = wait_file("keepalived.stats");
    assert!(
        cleared.lines().any(|l| l == "  Became master: 0"),
        "counters not cleared:\n{cleared}"
    );
}

/// `state_dump_file` in global_defs redirects the SIGUSR1 dump: a directory gets
/// keepalived.data inside it, a file path is used as is; $TMPDIR is then not written.
/// (Newer keepalived's keyword: 2.2.7 logs "Unknown keyword 'state_dump_file'" and keeps
/// writing $TMPDIR/keepalived.data, so this test is rkeepalived-only.)
#[test]
fn state_dump_file_redirects_the_data_dump() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("dumpfile", false);
    let tmp = node_tmp(&lab, "node1");
    let dir = lab.node_dir("node1").join("dumps");
    fs::create_dir_all(&dir).expect("mkdir");
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "tmp-env",
        &daemon_bin(),
        &[("TMPDIR", &tmp.to_string_lossy())],
    );
    for (target, expect) in [
        (dir.display().to_string(), dir.join("keepalived.data")),
        (
            dir.join("my.data").display().to_string(),
            dir.join("my.data"),
        ),
    ] {
        let c = master_conf("VI_1", &[VIP], &format!("    state_dump_file {target}\n"));
        let d = lab.spawn_daemon("node1", &wrapper, &c, &[]);
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            d.log().contains("VRRP_Instance") || d.log().contains("Entering BACKUP")
        });
        std::thread::sleep(Duration::from_millis(300));
        d.signal(Signal::SIGUSR1);
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            expect.exists()
        });
        step(format!(
            "state_dump_file {target}: {} written: {}",
            expect.display(),
            ok.is_some()
        ));
        assert!(
            ok.is_some(),
            "{} not written:\n{}",
            expect.display(),
            d.log()
        );
        assert!(
            fs::read_to_string(&expect).is_ok_and(|t| t.contains("VI_1")),
            "dump lacks the instance"
        );
        assert!(
            !tmp.join("keepalived.data").exists(),
            "dump also written to $TMPDIR"
        );
        drop(d);
    }
}

// ------------------------------------------------------------------ process hygiene

/// Without -n the daemon detaches: the launcher returns, the pidfile holds the daemon's pid,
/// the daemon is in a session of its own with no terminal, and SIGTERM stops it and removes
/// the pidfile.
#[test]
fn daemonize_pidfile_session_and_sigterm() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("daemonize", false);
    lab.install_etc_file(
        "node1",
        "keepalived.conf",
        &master_conf("VI_1", &[VIP], ""),
        0o644,
    );
    let run = lab.node_dir("node1").join("run");
    let (pidf, vpidf) = (run.join("k.pid"), run.join("kv.pid"));
    let bin = daemon_bin();
    let t0 = Instant::now();
    let out = lab.exec(
        "node1",
        &[
            &bin.to_string_lossy(),
            "-D",
            "-f",
            "/etc/keepalived/keepalived.conf",
            "-p",
            &pidf.to_string_lossy(),
            "-r",
            &vpidf.to_string_lossy(),
        ],
    );
    step(format!(
        "launcher returned {} after {}",
        out.status,
        secs(t0.elapsed())
    ));
    assert!(out.status.success(), "launcher: {out:?}");
    let read_pid = |p: &Path| -> Option<i32> { fs::read_to_string(p).ok()?.trim().parse().ok() };
    wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        read_pid(&pidf).is_some() && read_pid(&vpidf).is_some()
    })
    .expect("pidfiles not written");
    let pid = read_pid(&pidf).expect("pid");
    assert_eq!(read_pid(&vpidf), Some(pid), "one process: both pidfiles");
    // Inside the node's PID namespace (its /proc).
    let stat = lab.exec_ok("node1", &["cat", &format!("/proc/{pid}/stat")]);
    let f = stat_fields(&stat);
    let comm = lab.exec_ok("node1", &["cat", &format!("/proc/{pid}/comm")]);
    step(format!(
        "pidfile {pid}: comm {} state {} ppid {} pgrp {} session {} tty {}",
        comm.trim(),
        f[0],
        f[1],
        f[2],
        f[3],
        f[4]
    ));
    assert!(comm.trim().starts_with("rkeepalived") || comm.contains("keepalived"));
    let my_sid = lab.exec_ok("node1", &["sh", "-c", "cut -d' ' -f6 /proc/$$/stat"]);
    assert_ne!(
        f[3],
        my_sid.trim(),
        "daemon still in the launcher's session"
    );
    assert_eq!(f[4], "0", "daemon has a controlling terminal");
    assert_eq!(f[1], "1", "daemon not reparented to init");
    wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        lab.has_addr("node1", "eth1", VIP32)
    })
    .expect("detached daemon did not take the VIP");

    lab.exec_ok("node1", &["kill", "-TERM", &pid.to_string()]);
    let gone = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        !lab.exec("node1", &["kill", "-0", &pid.to_string()])
            .status
            .success()
    });
    step(format!("SIGTERM: process gone after {gone:?}"));
    assert!(gone.is_some(), "daemon did not stop");
    assert!(!pidf.exists(), "pidfile left behind");
    assert!(!vpidf.exists(), "vrrp pidfile left behind");
    assert!(!lab.has_addr("node1", "eth1", VIP32), "VIP left behind");
}

/// 20 SIGHUPs (each waited for) with a track script running: the fd count is unchanged and
/// no zombie child is left.
#[test]
fn twenty_sighups_leak_no_fd_and_leave_no_zombie() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("hup20", false);
    let c = format!(
        "global_defs {{\n    router_id rk_hup20\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script chk_true {{\n    script \"/bin/true\"\n    interval 1\n}}\n{}",
        Inst {
            state: "MASTER",
            prio: 150,
            vips: vec![format!("{VIP} dev eth1")],
            extra: "    track_script {\n        chk_true\n    }\n    notify \"/bin/true\"\n",
            ..Inst::default()
        }
        .render()
    );
    let d = lab.spawn_daemon("node1", &daemon_bin(), &c, &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    hup_and_wait(&d, "Reload complete"); // a first reload may open lazily created things
    std::thread::sleep(Duration::from_millis(1200));
    let before = fd_targets(d.pid());
    let mut durations = Vec::new();
    for _ in 0..20 {
        durations.push(hup_and_wait(&d, "Reload complete"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let after = fd_targets(d.pid());
    durations.sort();
    step(format!(
        "20 reloads: median {} max {} (SIGHUP -> 'Reload complete' in the log); fds {} -> {}",
        secs(durations[10]),
        secs(durations[19]),
        before.len(),
        after.len()
    ));
    assert_eq!(
        fd_count(d.pid()),
        before.len(),
        "fd leak:\nbefore {before:#?}\nafter {after:#?}"
    );
    let zombies: Vec<_> = children_states(d.pid())
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombie children {zombies:?}");
    let log = d.log();
    assert!(
        !log_after_nth(&log, "Reloading", 0).contains("Entering"),
        "transition during reloads"
    );
    assert!(lab.has_addr("node1", "eth1", VIP32));
}

/// A second daemon with the same pidfiles while the first runs refuses to start (exit code
/// non-zero, "already running"), and the first keeps its pidfile and its VIP.
#[test]
fn second_instance_with_same_pidfile_refuses_to_start() {
    if !can_run(&["timeout"]) {
        return;
    }
    let lab = lab("twice", false);
    let d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &master_conf("VI_1", &[VIP], ""),
        &[],
    );
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    let run = lab.node_dir("node1").join("run");
    let (pidf, vpidf) = (run.join("daemon.pid"), run.join("vrrp.pid"));
    let before = fs::read_to_string(&pidf).expect("pidfile of the first daemon");
    let bin = daemon_bin();
    let t0 = Instant::now();
    let out = lab.exec(
        "node1",
        &[
            "timeout",
            "8",
            &bin.to_string_lossy(),
            "-n",
            "-l",
            "-f",
            "/etc/keepalived/keepalived.conf",
            "-p",
            &pidf.to_string_lossy(),
            "-r",
            &vpidf.to_string_lossy(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    step(format!(
        "second daemon: {} after {}; stderr: {}",
        out.status,
        secs(t0.elapsed()),
        err.trim()
    ));
    assert_ne!(out.status.code(), Some(124), "second daemon kept running");
    assert!(!out.status.success(), "second daemon exited 0");
    assert!(err.contains("already running"), "no reason given: {err}");
    assert_eq!(
        fs::read_to_string(&pidf).ok(),
        Some(before),
        "pidfile changed"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lab.has_addr("node1", "eth1", VIP32),
        "first daemon lost its VIP"
    );
    assert!(
        !d.log().contains("Stopping"),
        "first daemon stopped:\n{}",
        d.log()
    );
}

/// Reloads alternating between two configurations (an IPv6 instance, a track script and a
/// notify FIFO appear and disappear): after 10 round trips the fd count in configuration A is
/// what it was, and no zombie is left.
#[test]
fn alternating_reloads_leak_no_fd() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("hupalt", false);
    let fifo = lab.node_dir("node1").join("run/notify.fifo");
    let a = master_conf("VI_1", &[VIP], "");
    let b = format!(
        "global_defs {{\n    router_id rk_alt\n    script_user root\n    enable_script_security\n    notify_fifo {}\n}}\n\
         vrrp_script chk_true {{\n    script \"/bin/true\"\n    interval 1\n}}\n{}{}",
        fifo.display(),
        Inst {
            state: "MASTER",
            prio: 150,
            vips: vec![format!("{VIP} dev eth1")],
            extra: "    track_script {\n        chk_true\n    }\n",
            ..Inst::default()
        }
        .render(),
        Inst {
            name: "VI_6",
            vrid: 66,
            version: Some(3),
            vips: vec!["fd00::66/64 dev eth1".into()],
            ..Inst::default()
        }
        .render()
    );
    let d = lab.spawn_daemon("node1", &daemon_bin(), &a, &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    let hup = |text: &str| {
        lab.install_etc_file("node1", "keepalived.conf", text, 0o644);
        let n = d.count_log("Reload complete");
        d.signal(Signal::SIGHUP);
        wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
            d.count_log("Reload complete") > n
        })
        .unwrap_or_else(|| panic!("reload failed:\n{}", d.log()));
        std::thread::sleep(Duration::from_millis(300));
    };
    // One round trip first: lazily opened things (send sockets per family) are not leaks.
    hup(&b);
    hup(&a);
    let before = fd_targets(d.pid());
    for _ in 0..10 {
        hup(&b);
        hup(&a);
    }
    std::thread::sleep(Duration::from_millis(1200));
    let after = fd_targets(d.pid());
    step(format!(
        "fds in config A: {} before, {} after 10 A->B->A round trips",
        before.len(),
        after.len()
    ));
    assert_eq!(
        before.len(),
        after.len(),
        "fd leak:\nbefore {before:#?}\nafter {after:#?}"
    );
    let zombies: Vec<_> = children_states(d.pid())
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombie children {zombies:?}");
    assert!(lab.has_addr("node1", "eth1", VIP32));
    // VI_1 stays MASTER throughout (VI_6 comes and goes, entering BACKUP each time).
    assert!(!log_after_nth(&d.log(), "Reloading", 0).contains("(VI_1) Entering"));
}

/// `--ignore-sigint` (keepalived >= 2.3.2): SIGINT is logged and ignored, the master keeps its
/// VIP; SIGTERM still stops it. Without the flag SIGINT stops it like SIGTERM.
#[test]
fn ignore_sigint_keeps_running_until_sigterm() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("nosigint", false);
    let mut d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &master_conf("VI_1", &[VIP], ""),
        &["--ignore-sigint"],
    );
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    d.signal(Signal::SIGINT);
    d.wait_log("SIGINT ignored", Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.is_running(),
        "daemon stopped on SIGINT despite --ignore-sigint"
    );
    assert!(
        lab.has_addr("node1", "eth1", VIP32),
        "VIP gone after an ignored SIGINT"
    );
    d.signal(Signal::SIGTERM);
    let st = d
        .wait_exit(Duration::from_secs(5))
        .expect("SIGTERM did not stop it");
    assert!(st.success(), "{st}");
    assert!(!lab.has_addr("node1", "eth1", VIP32), "VIP left behind");

    step("control: without the flag SIGINT stops the daemon");
    let mut d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &master_conf("VI_1", &[VIP], ""),
        &[],
    );
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    d.signal(Signal::SIGINT);
    let st = d
        .wait_exit(Duration::from_secs(5))
        .expect("SIGINT did not stop it");
    assert!(st.success(), "{st}");
}

/// `-gFILE` / `--log-file=FILE` (keepalived's spelling: the value only when attached): the
/// VRRP lines also go to FILE with `_vrrp` inserted before the extension, as keepalived's VRRP
/// process does; `--flush-log-file` makes them visible at once.
#[test]
fn log_file_receives_vrrp_lines_under_keepalived_name() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("logfile", false);
    let base = lab.node_dir("node1").join("ka.log");
    let want = lab.node_dir("node1").join("ka_vrrp.log");
    let arg = format!("--log-file={}", base.display());
    let mut d = lab.spawn_daemon(
        "node1",
        &daemon_bin(),
        &master_conf("VI_1", &[VIP], ""),
        &[&arg, "--flush-log-file"],
    );
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    let text = fs::read_to_string(&want)
        .unwrap_or_else(|e| panic!("{}: {e}\nlog:\n{}", want.display(), d.log()));
    assert!(text.contains("(VI_1) Entering MASTER STATE"), "{text}");
    assert!(!base.exists(), "{} should not be written", base.display());
    d.signal(Signal::SIGTERM);
    d.wait_exit(Duration::from_secs(5))
        .expect("SIGTERM did not stop it");
    let text = fs::read_to_string(&want).unwrap();
    assert!(text.contains("Stopped"), "{text}");
}

/// `vrrp_priority`, `vrrp_rt_priority`, `vrrp_no_swap`, `vrrp_cpu_affinity`: the kernel shows
/// them on the daemon process (nice, SCHED_RR and its priority, locked memory, allowed CPUs).
#[test]
fn vrrp_scheduling_keywords_are_applied_to_the_process() {
    if !can_run(&[]) {
        return;
    }
    let lab = lab("sched", false);
    let g = "    vrrp_priority -5\n    vrrp_rt_priority 20\n    vrrp_no_swap\n    vrrp_cpu_affinity 0\n";
    let d = lab.spawn_daemon("node1", &daemon_bin(), &master_conf("VI_1", &[VIP], g), &[]);
    wait_master(&lab, &d, VIP32, Duration::from_secs(10));
    let pid = d.pid();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after "(comm) ": the first is field 3 (state) of proc(5).
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let field = |n: usize| f[n - 3];
    step(format!(
        "nice {} rt_priority {} policy {}",
        field(19),
        field(40),
        field(41)
    ));
    assert_eq!(field(19), "-5", "nice; log:\n{}", d.log());
    assert_eq!(field(40), "20", "rt_priority; log:\n{}", d.log());
    assert_eq!(field(41), "2", "policy SCHED_RR; log:\n{}", d.log());
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or("")
            .to_string()
    };
    step(format!(
        "{} / {}",
        line("VmLck:"),
        line("Cpus_allowed_list:")
    ));
    let locked: u64 = line("VmLck:")
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(locked > 0, "vrrp_no_swap: {}", line("VmLck:"));
    assert_eq!(
        line("Cpus_allowed_list:").split_whitespace().nth(1),
        Some("0")
    );
    assert!(!d.log().contains("sched_setscheduler"), "{}", d.log());
}

/// keepalived's default umask (IXUSR|IRWXG|IRWXO): the JSON dump, which carries the VRRP
/// password, and the pidfile are readable by root only; `umask 0022` in global_defs or
/// `-u 0022` on the command line makes them 0644 again.
#[test]
fn files_created_follow_keepalived_umask() {
    use std::os::unix::fs::PermissionsExt;
    if !can_run(&[]) {
        return;
    }
    let lab = lab("umask", false);
    let tmp = node_tmp(&lab, "node1");
    let wrapper = env_wrapper(
        &lab.node_dir("node1"),
        "tmp-env",
        &daemon_bin(),
        &[("TMPDIR", &tmp.to_string_lossy())],
    );
    let mode = |p: &std::path::Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    let json = tmp.join("keepalived.json");
    let pidfile = lab.node_dir("node1").join("run").join("daemon.pid");
    for (globals, extra, want) in [
        ("", &[][..], 0o600),
        ("    umask 0022\n", &[][..], 0o644),
        ("", &["-u", "0022"][..], 0o644),
    ] {
        let _ = fs::remove_file(&json);
        let mut d = lab.spawn_daemon(
            "node1",
            &wrapper,
            &master_conf("VI_1", &[VIP], globals),
            extra,
        );
        wait_master(&lab, &d, VIP32, Duration::from_secs(10));
        kill_num(d.pid(), 36);
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            json.exists()
        })
        .unwrap_or_else(|| panic!("no keepalived.json; log:\n{}", d.log()));
        step(format!(
            "globals {:?} args {extra:?}: keepalived.json {:o}, pidfile {:o}",
            globals.trim(),
            mode(&json).unwrap_or(0),
            mode(&pidfile).unwrap_or(0)
        ));
        assert_eq!(mode(&json), Some(want), "keepalived.json");
        assert_eq!(mode(&pidfile), Some(want), "pidfile");
        d.signal(Signal::SIGTERM);
        d.wait_exit(Duration::from_secs(5))
            .expect("SIGTERM did not stop it");
    }
}
