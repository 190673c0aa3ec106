//! Randomized properties of the VRRP core on the simulated LAN, over thousands of seeded runs
//! (in-test PRNG, so every failure names its seed and replays exactly).
//!
//! 1. Election: on a connected, loss-free LAN, once inputs stop, there is exactly one MASTER
//!    per virtual router within the master-down interval, it holds the VIP alone, and it is
//!    the one RFC 5798 / keepalived choose (clean start: highest priority, tie → highest
//!    address; after chaos: no preemptive backup outranks it — nopreempt peers may leave an
//!    existing master in place).
//! 2. Robustness: no panic for any random input sequence (random adverts and bytes, link
//!    changes, tracker updates, reloads, shutdown), and time always moves forward.

mod common_sim;

use std::net::{IpAddr, Ipv4Addr};

use common_sim::*;
use rkeepalived::time::{Centis, Duration, Instant};
use rkeepalived::vrrp::input::{Input, LinkState, RxPacket, TrackerUpdate};
use rkeepalived::vrrp::node::Node;
use rkeepalived::vrrp::sim::{Lan, Rng};
use rkeepalived::vrrp::spec::{
    Auth, Family, InstanceSpec, NodeSpec, PeerSpec, SyncGroupSpec, TrackRef, Version, VipSpec,
};
use rkeepalived::vrrp::types::State;
use rkeepalived::vrrp::wire::{Advert, WireAuth};

const VRID: u8 = 51;

/// Number of seeds per property: `default`, or `RK_SIM_SEEDS` for long soak runs.
fn seeds(default: u64) -> std::ops::Range<u64> {
    let n = std::env::var("RK_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    0..n
}

#[derive(Clone, Debug)]
struct Cfg {
    prio: u8,
    nopreempt: bool,
    int: Centis,
    tracked: bool,
}

fn spec_for(c: &Cfg, me: u8, n: usize, version: Version, unicast: bool) -> InstanceSpec {
    let mut s = inst(c.prio);
    s.version = version;
    s.advert_int = c.int;
    s.nopreempt = c.nopreempt;
    s.initial_master = c.prio == 255;
    if c.tracked {
        s.track_scripts = vec![script("chk", 0)];
    }
    if unicast {
        s.unicast_src = Some(ipa(me));
        s.unicast_peers = (1..=n as u8)
            .filter(|&k| k != me)
            .map(|k| PeerSpec {
                addr: ipa(k),
                min_ttl: None,
                max_ttl: None,
            })
            .collect();
    }
    s
}

fn max_down(cfgs: &[Cfg]) -> Duration {
    let max_int = cfgs.iter().map(|c| c.int.0 as u64).max().unwrap() * 10_000;
    // 3 × the longest interval + a skew below one interval (v3) or one second (v2).
    Duration::from_micros(3 * max_int + max_int.max(1_000_000))
}

/// Checks the steady state; returns the master's node index.
fn check_one_master(lan: &Lan, cfgs: &[Cfg], seed: u64) -> usize {
    let masters = lan.masters(VRID);
    assert_eq!(
        masters.len(),
        1,
        "seed {seed}: masters {masters:?} cfgs {cfgs:?}"
    );
    let m = masters[0];
    let mp = lan.nodes[m].node.instance_states()[0].2;
    for (i, c) in cfgs.iter().enumerate() {
        let st = lan.state(i, "VI_1");
        if i != m {
            assert_eq!(st, State::Backup, "seed {seed}: node {i}");
            assert!(
                !lan.has_vip(i, IpAddr::V4(VIP)),
                "seed {seed}: node {i} VIP"
            );
            // A preemptive backup never outranks the master in steady state.
            if !c.nopreempt {
                let p = lan.nodes[i].node.instance_states()[0].2;
                assert!(
                    p <= mp,
                    "seed {seed}: backup {i} prio {p} > master {m} prio {mp}"
                );
            }
        }
    }
    assert!(
        lan.has_vip(m, IpAddr::V4(VIP)),
        "seed {seed}: master has no VIP"
    );
    m
}

fn random_cfgs(rng: &mut Rng, n: usize, version: Version, same_int: bool) -> Vec<Cfg> {
    let shared = 1 + rng.below(254) as u8;
    let common_int = match version {
        Version::V2 => Centis(100 * (1 + rng.below(3) as u16)),
        Version::V3 => Centis([25, 50, 100, 200][rng.below(4) as usize]),
    };
    let mut owner_used = false;
    (0..n)
        .map(|_| {
            let mut prio = match rng.below(10) {
                0..=2 => shared,
                _ => 1 + rng.below(254) as u8,
            };
            if !owner_used && rng.below(12) == 0 {
                prio = 255;
                owner_used = true;
            }
            let int = if same_int || version == Version::V2 {
                common_int
            } else {
                Centis([25, 50, 100, 200][rng.below(4) as usize])
            };
            Cfg {
                prio,
                nopreempt: false,
                int,
                tracked: false,
            }
        })
        .collect()
}

/// Clean start: every node at the same instant, preemptive, same interval.
fn clean_election(seed: u64) {
    let mut rng = Rng::new(seed);
    let n = 2 + rng.below(3) as usize;
    let version = if rng.below(2) == 0 {
        Version::V2
    } else {
        Version::V3
    };
    let unicast = rng.below(2) == 0;
    let cfgs = random_cfgs(&mut rng, n, version, true);
    let mut lan = Lan::new(seed);
    for (i, c) in cfgs.iter().enumerate() {
        let me = i as u8 + 1;
        add(&mut lan, me, spec_for(c, me, n, version, unicast));
    }
    lan.drive_for(max_down(&cfgs) + us(1_000));
    let m = check_one_master(&lan, &cfgs, seed);
    // RFC 5798 §6.4.3: highest priority; equal priorities → highest primary address.
    let best = (0..n).max_by_key(|&i| (cfgs[i].prio, i)).unwrap();
    assert_eq!(m, best, "seed {seed}: cfgs {cfgs:?}");
    // And it stays.
    lan.drive_for(max_down(&cfgs).saturating_mul(2));
    assert_eq!(lan.masters(VRID), vec![best], "seed {seed}");
}

/// Random start times, nopreempt, tracker faults, link flaps, loss, partitions, crashes,
/// restarts and reloads; then calm.
fn chaos_then_calm(seed: u64) {
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let n = 2 + rng.below(3) as usize;
    let version = if rng.below(2) == 0 {
        Version::V2
    } else {
        Version::V3
    };
    let unicast = rng.below(2) == 0;
    let mut cfgs = random_cfgs(&mut rng, n, version, false);
    for c in &mut cfgs {
        c.nopreempt = c.prio != 255 && rng.below(3) == 0;
        c.tracked = rng.below(2) == 0;
    }
    let mut lan = Lan::new(seed);
    lan.delay = us(50 + rng.below(2_000));
    let spec = |c: &Cfg, i: usize| node_spec(vec![spec_for(c, i as u8 + 1, n, version, unicast)]);
    for (i, c) in cfgs.iter().enumerate() {
        add(
            &mut lan,
            i as u8 + 1,
            spec_for(c, i as u8 + 1, n, version, unicast),
        );
        if c.tracked {
            lan.input(
                i,
                Input::Tracker(TrackerUpdate::Script {
                    name: "chk".into(),
                    ok: rng.below(4) != 0,
                }),
            );
        }
        lan.drive_for(us(rng.below(4_000_000)));
    }
    let chaos_end = lan.now + secs(20 + rng.below(40));
    while lan.now < chaos_end {
        lan.drive_for(us(1 + rng.below(3_000_000)));
        let i = rng.below(n as u64) as usize;
        match rng.below(9) {
            0 => lan.loss_ppm = rng.below(400_000) as u32,
            1 => {
                let j = rng.below(n as u64) as usize;
                if i != j {
                    lan.partition(i, j, true);
                }
            }
            2 => lan.heal_all(),
            3 => lan.set_link_up(i, "eth0", rng.below(2) == 0),
            4 => lan.input(
                i,
                Input::Tracker(TrackerUpdate::Script {
                    name: "chk".into(),
                    ok: rng.below(2) == 0,
                }),
            ),
            5 => lan.crash(i),
            6 => {
                let s = spec(&cfgs[i], i);
                lan.restart(i, s);
            }
            7 => {
                // Reload with a possibly different priority / nopreempt.
                if rng.below(2) == 0 && cfgs[i].prio != 255 {
                    cfgs[i].prio = 1 + rng.below(254) as u8;
                    cfgs[i].nopreempt = rng.below(3) == 0;
                }
                let s = spec(&cfgs[i], i);
                lan.input(i, Input::Reload(s));
            }
            _ => {
                let now = lan.now;
                lan.nodes[i].node.send_reload_adverts(now);
                lan.input(i, Input::Timeout);
            }
        }
    }
    // Calm: everything connected, loss-free, healthy, alive.
    lan.loss_ppm = 0;
    lan.heal_all();
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        if !lan.nodes[i].alive {
            let s = spec(&cfgs[i], i);
            lan.restart(i, s);
        }
        lan.set_link_up(i, "eth0", true);
        if cfgs[i].tracked {
            lan.input(
                i,
                Input::Tracker(TrackerUpdate::Script {
                    name: "chk".into(),
                    ok: true,
                }),
            );
        }
    }
    let calm = lan.now;
    lan.drive_until(calm + max_down(&cfgs) + us(5_000));
    let m = check_one_master(&lan, &cfgs, seed);
    // Stable afterwards.
    lan.drive_for(max_down(&cfgs).saturating_mul(2));
    assert_eq!(
        lan.masters(VRID),
        vec![m],
        "seed {seed}: master changed while calm"
    );
}

#[test]
fn clean_start_elects_the_rfc_master_in_thousands_of_runs() {
    for seed in seeds(2_000) {
        clean_election(seed);
    }
}

/// An established master keeps the VIP when every peer that joins later is nopreempt,
/// whatever their priorities (keepalived §4.7: nopreempt acts on the receiving backup).
fn nopreempt_joiners(seed: u64) {
    let mut rng = Rng::new(seed ^ 0xBEEF);
    let n = 2 + rng.below(3) as usize;
    let version = if rng.below(2) == 0 {
        Version::V2
    } else {
        Version::V3
    };
    let unicast = rng.below(2) == 0;
    // Same interval: a v3 joiner with a much shorter interval than the master's would
    // (correctly) time out before it hears the first advert.
    let mut cfgs = random_cfgs(&mut rng, n, version, true);
    for c in &mut cfgs {
        if c.prio == 255 {
            c.prio = 254;
        }
        c.nopreempt = true;
    }
    let mut lan = Lan::new(seed);
    add(&mut lan, 1, spec_for(&cfgs[0], 1, n, version, unicast));
    lan.drive_for(max_down(&cfgs));
    assert_eq!(lan.masters(VRID), vec![0], "seed {seed}");
    for (i, c) in cfgs.iter().enumerate().skip(1) {
        add(
            &mut lan,
            i as u8 + 1,
            spec_for(c, i as u8 + 1, n, version, unicast),
        );
        lan.drive_for(us(rng.below(3_000_000)));
    }
    lan.drive_for(max_down(&cfgs).saturating_mul(3));
    assert_eq!(lan.masters(VRID), vec![0], "seed {seed}: cfgs {cfgs:?}");
    check_one_master(&lan, &cfgs, seed);
}

#[test]
fn nopreempt_peers_never_take_over_a_live_master() {
    for seed in seeds(1_000) {
        nopreempt_joiners(seed);
    }
}

#[test]
fn one_master_after_chaos_in_thousands_of_runs() {
    for seed in seeds(1_500) {
        chaos_then_calm(seed);
    }
}

// ---------------------------------------------------------------- robustness

fn random_addr(rng: &mut Rng) -> IpAddr {
    match rng.below(6) {
        0 => "224.0.0.18".parse().unwrap(),
        1 => "ff02::12".parse().unwrap(),
        2 => IpAddr::V6(std::net::Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            0,
            0,
            0,
            rng.below(4) as u16,
        )),
        3 => IpAddr::V4(VIP),
        _ => ipa(rng.below(5) as u8),
    }
}

fn random_instance(rng: &mut Rng, k: usize) -> InstanceSpec {
    let ifname = ["eth0", "eth1", "eth9"][rng.below(3) as usize];
    let mut s = InstanceSpec::new(
        &format!("VI_{}", rng.below(4) + k as u64),
        ifname,
        1 + rng.below(3) as u8,
    );
    s.priority = rng.below(256) as u8;
    s.initial_master = rng.below(3) == 0;
    s.version = if rng.below(2) == 0 {
        Version::V2
    } else {
        Version::V3
    };
    if rng.below(4) == 0 {
        s.family = Family::V6;
        s.mcast_dst = "ff02::12".parse().unwrap();
    }
    s.advert_int = Centis(rng.below(500) as u16);
    s.nopreempt = rng.below(3) == 0;
    s.preempt_delay = us(rng.below(5_000_000));
    s.down_timer_adverts = rng.below(5) as u8;
    s.auth = match rng.below(3) {
        0 => Auth::None,
        1 => Auth::Pass(*b"pw\0\0\0\0\0\0"),
        _ => Auth::Ah(*b"pw\0\0\0\0\0\0"),
    };
    for _ in 0..rng.below(3) {
        let mut v = VipSpec::new(random_addr(rng));
        if rng.below(3) == 0 {
            v.dev = Some("eth1".into());
        }
        v.no_track = rng.below(4) == 0;
        if rng.below(2) == 0 {
            s.vips.push(v);
        } else {
            s.excluded_vips.push(v);
        }
    }
    if rng.below(2) == 0 {
        s.unicast_src = Some(random_addr(rng));
        for _ in 0..rng.below(3) {
            s.unicast_peers.push(PeerSpec {
                addr: random_addr(rng),
                min_ttl: (rng.below(2) == 0).then(|| rng.below(256) as u8),
                max_ttl: (rng.below(2) == 0).then(|| rng.below(256) as u8),
            });
        }
    }
    s.check_unicast_src = rng.below(2) == 0;
    s.lower_prio_no_advert = rng.below(2) == 0;
    s.higher_prio_send_advert = rng.below(2) == 0;
    s.owner_ignore_adverts = rng.below(2) == 0;
    s.skip_check_adv_addr = rng.below(2) == 0;
    s.dont_track_primary = rng.below(4) == 0;
    s.track_src_ip = rng.below(4) == 0;
    s.unicast_fault_no_peer = rng.below(4) == 0;
    s.garp.master_delay = us(rng.below(3_000_000));
    s.garp.master_refresh = us(rng.below(3_000_000));
    s.garp.lower_prio_delay = us(rng.below(3_000_000));
    let tr = |rng: &mut Rng, name: &str| TrackRef {
        name: name.into(),
        weight: rng.below(600) as i32 - 300,
        reverse: rng.below(2) == 0,
    };
    for name in ["s1", "s2"] {
        if rng.below(2) == 0 {
            let t = tr(rng, name);
            s.track_scripts.push(t);
        }
    }
    if rng.below(3) == 0 {
        let t = tr(rng, "eth1");
        s.track_interfaces.push(t);
    }
    if rng.below(3) == 0 {
        let t = tr(rng, "f1");
        s.track_files.push(t);
    }
    if rng.below(3) == 0 {
        let t = tr(rng, "p1");
        s.track_processes.push(t);
    }
    if rng.below(4) == 0 {
        s.sync_group = Some("G".into());
    }
    s
}

fn random_node_spec(rng: &mut Rng) -> NodeSpec {
    let instances: Vec<InstanceSpec> = (0..rng.below(4) as usize)
        .map(|k| random_instance(rng, k))
        .collect();
    let mut spec = node_spec(instances.clone());
    spec.globals.startup_delay = us(rng.below(2) * rng.below(3_000_000));
    spec.globals.notify_priority_changes = rng.below(2) == 0;
    spec.globals.garp_interval = us(rng.below(2) * (1 + rng.below(200_000)));
    spec.globals.gna_interval = us(rng.below(2) * (1 + rng.below(200_000)));
    if rng.below(2) == 0 {
        spec.sync_groups = vec![SyncGroupSpec {
            name: "G".into(),
            members: instances
                .iter()
                .map(|i| i.name.clone())
                .filter(|_| rng.below(2) == 0)
                .chain(std::iter::once("ghost".to_string()))
                .collect(),
            track_scripts: vec![TrackRef {
                name: "s2".into(),
                weight: 0,
                reverse: false,
            }],
            ..Default::default()
        }];
    }
    spec
}

fn random_advert(rng: &mut Rng) -> Advert {
    Advert {
        version: if rng.below(2) == 0 {
            Version::V2
        } else {
            Version::V3
        },
        vrid: 1 + rng.below(3) as u8,
        priority: rng.below(256) as u8,
        adver_int: Centis(rng.below(4096) as u16),
        auth: match rng.below(3) {
            0 => WireAuth::None,
            1 => WireAuth::Pass(*b"pw\0\0\0\0\0\0"),
            _ => WireAuth::Ah,
        },
        addrs: (0..rng.below(3)).map(|_| random_addr(rng)).collect(),
    }
}

fn random_link(rng: &mut Rng) -> LinkState {
    let ifname = ["eth0", "eth1", "eth9"][rng.below(3) as usize];
    LinkState {
        ifname: ifname.into(),
        ifindex: rng.below(10) as u32,
        exists: rng.below(5) != 0,
        up: rng.below(3) != 0,
        mac: [0; 6],
        mtu: 1500,
        ipv4: (0..rng.below(3))
            .map(|_| Ipv4Addr::new(10, 0, 0, rng.below(5) as u8))
            .collect(),
        ipv6_ll: (rng.below(2) == 0).then(|| std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    }
}

fn fuzz_node(seed: u64) {
    let mut rng = Rng::new(seed ^ 0xF00D);
    let mut now = Instant(rng.below(1_000_000));
    let mut node = Node::new(random_node_spec(&mut rng), now);
    let mut stopped = false;
    for _ in 0..200 {
        now += us(rng.below(2_000_000));
        // Never go backwards, never stall on a deadline in the past.
        if let Some(t) = node.poll_timeout()
            && t <= now
        {
            node.handle(now, Input::Timeout);
            if let Some(t2) = node.poll_timeout() {
                assert!(
                    t2 > now,
                    "seed {seed}: timer did not move forward ({t2} <= {now})"
                );
            }
        }
        let input = match rng.below(11) {
            0 => Input::Timeout,
            1 | 2 => Input::Link(random_link(&mut rng)),
            3 => Input::Tracker(match rng.below(3) {
                0 => TrackerUpdate::Script {
                    name: ["s1", "s2", "zz"][rng.below(3) as usize].into(),
                    ok: rng.below(2) == 0,
                },
                1 => TrackerUpdate::File {
                    name: "f1".into(),
                    value: rng.next_u64() as i64,
                },
                _ => TrackerUpdate::Process {
                    name: "p1".into(),
                    running: rng.below(4) as u32,
                },
            }),
            4 => Input::AddressDeleted {
                ifname: ["eth0", "eth1"][rng.below(2) as usize].into(),
                addr: random_addr(&mut rng),
                prefix_len: 32,
            },
            5 => Input::Reload(random_node_spec(&mut rng)),
            6 => {
                let len = rng.below(60) as usize;
                let mut payload: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
                if len > 1 {
                    payload[1] = 1 + rng.below(3) as u8;
                }
                Input::Packet(RxPacket {
                    ifname: ["eth0", "eth1"][rng.below(2) as usize].into(),
                    family: if rng.below(2) == 0 {
                        Family::V4
                    } else {
                        Family::V6
                    },
                    src: random_addr(&mut rng),
                    dst: random_addr(&mut rng),
                    ttl: rng.below(256) as u8,
                    payload,
                    ipsec_ah: rng.below(4) == 0,
                })
            }
            7 if rng.below(20) == 0 => {
                stopped = true;
                Input::Shutdown {
                    release_vips: rng.below(2) == 0,
                }
            }
            _ => {
                let adv = random_advert(&mut rng);
                let ifname = ["eth0", "eth1"][rng.below(2) as usize];
                let fam = if rng.below(2) == 0 {
                    Family::V4
                } else {
                    Family::V6
                };
                let (src, dst) = (random_addr(&mut rng), random_addr(&mut rng));
                let ttl = if rng.below(2) == 0 {
                    255
                } else {
                    rng.below(256) as u8
                };
                node.handle_advert(now, ifname, fam, src, dst, ttl, &adv);
                continue;
            }
        };
        node.handle(now, input);
        while node.poll_action().is_some() {}
        if rng.below(10) == 0 {
            let _ = node.dump_json(now);
            let _ = node.dump_data(now);
            let _ = node.dump_stats();
        }
        if rng.below(10) == 0 {
            node.send_reload_adverts(now);
        }
        if stopped {
            assert_eq!(node.poll_timeout(), None);
        }
    }
}

#[test]
fn random_inputs_never_panic_and_time_moves_forward() {
    for seed in seeds(3_000) {
        fuzz_node(seed);
    }
}
