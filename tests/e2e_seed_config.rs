// PENDING: move to tests/ once the config and wire branches are merged (needs rkeepalived::config).
// Verified on a trial merge of core+wire+config+check+sys: passes.
//! End to end on the simulated LAN: the seed's two keepalived.conf files, parsed by config/,
//! run by vrrp::Node, adverts as bytes through vrrp::wire.

use std::net::{IpAddr, Ipv4Addr};

use rkeepalived::config::{LoadOptions, host::FakeHost, load_str};
use rkeepalived::time::Duration;
use rkeepalived::vrrp::input::{Input, LinkState, TrackerUpdate};
use rkeepalived::vrrp::sim::{Lan, SimIf};
use rkeepalived::vrrp::types::State;

fn node(lan: &mut Lan, file: &str, addr: Ipv4Addr) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let l = load_str(&text, file, &LoadOptions::default(), &FakeHost::standard());
    assert!(l.exit_code == 0, "{:?}", l.diagnostics);
    lan.add_node(
        file,
        l.spec,
        vec![SimIf {
            link: LinkState::up_v4("eth1", addr),
            segment: 0,
        }],
    )
}

#[test]
fn seed_configs_elect_fail_over_and_keep_the_vip_where_it_went() {
    let mut lan = Lan::new(1);
    lan.use_wire = true;
    let n1 = node(
        &mut lan,
        "config/seed/node1.conf",
        Ipv4Addr::new(192, 168, 1, 152),
    );
    let n2 = node(
        &mut lan,
        "config/seed/node2.conf",
        Ipv4Addr::new(192, 168, 1, 156),
    );
    let ok = |ok| {
        Input::Tracker(TrackerUpdate::Script {
            name: "chk_ng".into(),
            ok,
        })
    };
    lan.input(n1, ok(true));
    lan.input(n2, ok(true));
    lan.drive_for(Duration::from_secs(20));
    assert_eq!(lan.masters(76), vec![n1]);
    let vip = IpAddr::V4(Ipv4Addr::new(10, 16, 200, 200));
    assert!(lan.has_vip(n1, vip));
    lan.input(n1, ok(false));
    lan.drive_for(Duration::from_secs(5));
    assert_eq!(lan.masters(76), vec![n2]);
    lan.input(n1, ok(true));
    lan.drive_for(Duration::from_secs(60));
    assert_eq!(lan.masters(76), vec![n2]);
    assert_eq!(lan.state(n1, "VI_NG"), State::Backup);
    assert!(lan.has_vip(n2, vip) && !lan.has_vip(n1, vip));
    let st = lan.nodes[n1].node.instance("VI_NG").unwrap().stats;
    assert!(st.advert_rcvd > 20 && st.auth_failure == 0, "{st:?}");
    println!("{}", lan.nodes[n2].node.dump_data(lan.now));
}
