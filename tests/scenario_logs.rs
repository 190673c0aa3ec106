//! keepalived's log wording, which monitoring greps for (reference §9 item 7). One test per
//! binary, because the logger is process-global.

mod common_sim;

use std::sync::Mutex;

use common_sim::*;
use rkeepalived::vrrp::input::{Input, TrackerUpdate};
use rkeepalived::vrrp::sim::Lan;
use rkeepalived::vrrp::spec::{OldUnicastChecksum, PeerSpec, Version};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The same lines with their level.
static LEVELED: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        LINES.lock().unwrap().push(r.args().to_string());
        LEVELED
            .lock()
            .unwrap()
            .push((r.level(), r.args().to_string()));
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture;

fn take() -> Vec<String> {
    LEVELED.lock().unwrap().clear();
    std::mem::take(&mut *LINES.lock().unwrap())
}

fn take_leveled() -> Vec<(log::Level, String)> {
    LINES.lock().unwrap().clear();
    std::mem::take(&mut *LEVELED.lock().unwrap())
}

fn has(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l == want),
        "missing log line {want:?} in:\n{}",
        lines.join("\n")
    );
}

#[test]
fn log_lines_use_keepalived_wording() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    // Startup and election; the tracker lowers the master below its peer.
    let mut lan = Lan::new(1);
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", -20)];
    let a = add(&mut lan, 1, s);
    let _b = add(&mut lan, 2, inst(90));
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::Script {
            name: "chk".into(),
            ok: true,
        }),
    );
    lan.drive_for(secs(10));
    let l = take();
    has(&l, "(VI_1) removing VIPs.");
    has(&l, "(VI_1) Entering BACKUP STATE (init)");
    has(&l, "(VI_1) Receive advertisement timeout");
    has(&l, "(VI_1) Entering MASTER STATE");
    has(&l, "(VI_1) setting VIPs.");
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::Script {
            name: "chk".into(),
            ok: false,
        }),
    );
    lan.drive_for(secs(10));
    let l = take();
    has(&l, "(VI_1) Changing effective priority from 100 to 80");
    has(
        &l,
        "(VI_1) received lower priority (80) advert from 10.0.0.1 - discarding",
    );
    has(
        &l,
        "(VI_1) Master received advert from 10.0.0.2 with higher priority 90, ours 80",
    );
    has(&l, "(VI_1) Entering BACKUP STATE");
    has(&l, "(VI_1) removing VIPs.");

    // Equal priorities: the lower address hears the winner; the winner forces an election.
    let mut lan = Lan::new(2);
    add(&mut lan, 1, inst(100));
    let b = add(&mut lan, 2, inst(100));
    lan.drive_for(secs(10));
    let l = take();
    has(
        &l,
        "(VI_1) Received advert from 10.0.0.1 with lower priority 100, ours 100, forcing new election",
    );
    has(
        &l,
        "(VI_1) Master received advert from 10.0.0.2 with same priority 100 but higher IP address than ours",
    );
    // Shutdown of the master: priority 0, and the backup notices.
    lan.input(b, Input::Shutdown { release_vips: true });
    lan.drive_for(secs(2));
    let l = take();
    has(&l, "(VI_1) sent 0 priority");
    has(&l, "(VI_1) Backup received priority 0 advertisement");

    // Waiting for a weight-0 script: keepalived logs a plain "Entering BACKUP STATE".
    let mut lan = Lan::new(4);
    let mut s = inst(100);
    s.track_scripts = vec![script("chk", 0)];
    let a = add(&mut lan, 1, s);
    take();
    lan.input(
        a,
        Input::Tracker(TrackerUpdate::Script {
            name: "chk".into(),
            ok: true,
        }),
    );
    let l = take();
    has(&l, "(VI_1) Entering BACKUP STATE");
    assert!(!l.iter().any(|x| x.contains("(init)")), "{l:?}");

    // FAULT.
    let mut lan = Lan::new(3);
    let a = add(&mut lan, 1, inst(100));
    lan.drive_for(secs(5));
    lan.set_link_up(a, "eth0", false);
    let l = take();
    has(&l, "(VI_1) Entering FAULT STATE");
    has(&l, "(VI_1) sent 0 priority");

    // A pre-1.3.6 unicast VRRPv3 peer: detected and adopted (auto), or rejected (never).
    for (old, want) in [
        (
            OldUnicastChecksum::Auto,
            "(VI_1) Setting unicast VRRPv3 checksum to old version",
        ),
        (
            OldUnicastChecksum::Never,
            "(VI_1) Invalid VRRPv3 checksum from 10.0.0.1",
        ),
    ] {
        let mut lan = Lan::new(5);
        lan.use_wire = true;
        let v3 = |prio: u8, me: u8, peer: u8, old| {
            let mut s = inst(prio);
            s.version = Version::V3;
            s.unicast_src = Some(ipa(me));
            s.unicast_peers = vec![PeerSpec {
                addr: ipa(peer),
                min_ttl: None,
                max_ttl: None,
            }];
            s.old_unicast_checksum = old;
            s
        };
        add(&mut lan, 1, v3(200, 1, 2, OldUnicastChecksum::Always));
        add(&mut lan, 2, v3(100, 2, 1, old));
        lan.drive_for(secs(10));
        let l = take();
        has(&l, want);
    }

    // log_unknown_vrids: an advert for a VRID nobody here has is logged at INFO with
    // keepalived's wording (keepalived 2.2.7 via syslog: <30>, daemon.info); without the
    // keyword it is only a debug line.
    for log_unknown in [false, true] {
        let mut lan = Lan::new(6);
        lan.use_wire = true;
        let mut spec = node_spec(vec![inst(100)]);
        spec.globals.log_unknown_vrids = log_unknown;
        lan.add_node("n1", spec, eth0(1));
        let mut other = inst(200);
        other.vrid = 52;
        other.name = "VI_2".into();
        add(&mut lan, 2, other);
        take();
        lan.drive_for(secs(5));
        let want = "Unknown VRID(52) received on interface(eth0). ignoring...";
        let levels: Vec<log::Level> = take_leveled()
            .into_iter()
            .filter(|(_, m)| m == want)
            .map(|(l, _)| l)
            .collect();
        assert!(!levels.is_empty(), "no {want:?} line at all");
        let expect = if log_unknown {
            log::Level::Info
        } else {
            log::Level::Debug
        };
        assert!(
            levels.iter().all(|l| *l == expect),
            "log_unknown_vrids={log_unknown}: {levels:?}"
        );
    }
}
