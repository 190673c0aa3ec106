//! Every config under tests/configs/ is checked against its golden file (expected diagnostics
//! and `-t` exit code) on a fake host (interfaces eth1/eth2, scripts in /etc/keepalived), with
//! config id `node1`. Regenerate with `UPDATE_GOLDEN=1 cargo test --test config_corpus`.

use std::path::{Path, PathBuf};

use rkeepalived::config::{self, LoadOptions, host::FakeHost};

fn corpus() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("tests/configs")
        .expect("tests/configs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}

fn render(path: &Path) -> String {
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        all_config: false,
    };
    let l = config::load(path, &opts, &FakeHost::standard());
    let mut out = String::new();
    for d in &l.diagnostics {
        out.push_str(&config::render(d, &l.sources));
    }
    out.push_str(&format!("rc: {}\n", l.exit_code));
    out
}

#[test]
fn corpus_matches_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let files = corpus();
    assert!(files.len() >= 40, "corpus has only {} configs", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let got = render(f);
        let golden = f.with_extension("expected");
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                f.display()
            )),
            Err(_) => failures.push(format!("{}: no golden file (UPDATE_GOLDEN=1)", f.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The exit codes the corpus is built to show, stated independently of the golden files.
#[test]
fn corpus_exit_codes() {
    let expect: &[(&str, i32)] = &[
        ("ok_seed_style", 0),
        ("comments_anywhere", 0),
        ("escaped_hash", 0),
        ("brace_next_line", 0),
        ("one_line_blocks", 0),
        ("include_glob", 0),
        ("include_missing", 0),
        ("includea_missing", 6),
        ("includew_nomatch", 6),
        ("include_self_recursive", 0),
        ("conditional_id", 0),
        ("params", 0),
        ("params_multiline", 0),
        ("seq_lst", 5),
        ("priority_256", 5),
        ("vrid_missing", 5),
        ("missing_interface", 5),
        ("no_script_security", 6),
        ("script_missing", 5),
        ("script_noexec", 0),
        ("script_insecure", 5),
        ("v3_pass_auth", 5),
        ("master_nopreempt", 5),
        ("duplicate_vip", 0),
        ("lvs_blocks_skipped", 0),
        ("unsupported_features", 5),
        ("static_address_no_dev", 4),
        ("missing_parameter_state", 2),
        ("newer_global_keywords", 0),
    ];
    for (name, rc) in expect {
        let p = PathBuf::from(format!("tests/configs/{name}.conf"));
        let opts = LoadOptions {
            config_id: Some("node1".into()),
            all_config: false,
        };
        let l = config::load(&p, &opts, &FakeHost::standard());
        assert_eq!(l.exit_code, *rc, "{name}: {:#?}", l.diagnostics);
    }
}

#[test]
fn seed_configs_resolve_to_the_seed_story() {
    let opts = LoadOptions {
        config_id: Some("lwz1".into()),
        all_config: false,
    };
    let l = config::load(
        Path::new("config/seed/node1.conf"),
        &opts,
        &FakeHost::standard(),
    );
    assert_eq!(l.exit_code, 0, "{:#?}", l.diagnostics);
    let s = &l.spec;
    assert_eq!(s.globals.router_id.as_deref(), Some("linyi"));
    assert_eq!(s.scripts.len(), 1);
    let sc = &s.scripts[0];
    assert_eq!(sc.name, "chk_ng");
    assert_eq!(sc.cmd.argv, vec!["/etc/keepalived/checkng.sh"]);
    assert_eq!((sc.cmd.uid, sc.cmd.gid, sc.cmd.via_shell), (0, 0, false));
    assert_eq!(sc.interval, rkeepalived::time::Duration::from_secs(10));
    assert_eq!(sc.timeout, rkeepalived::time::Duration::from_secs(10));
    assert_eq!((sc.fall, sc.rise, sc.weight), (5, 1, 0));
    let i = &s.instances[0];
    assert_eq!(i.name, "VI_NG");
    assert_eq!(
        (i.interface.as_str(), i.vrid, i.priority),
        ("eth1", 76, 100)
    );
    assert!(i.nopreempt && !i.initial_master);
    assert_eq!(i.advert_int, rkeepalived::time::Centis(200));
    assert_eq!(i.auth, rkeepalived::vrrp::spec::Auth::Pass(*b"dWc4Tddl"));
    assert_eq!(i.vips.len(), 1);
    assert_eq!(i.vips[0].addr.to_string(), "10.16.200.200");
    assert_eq!(i.vips[0].prefix_len, 32);
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth1"));
    assert_eq!(i.vips[0].label.as_deref(), Some("eth1:1"));
    assert_eq!(
        i.unicast_src.map(|a| a.to_string()).as_deref(),
        Some("192.168.1.152")
    );
    assert_eq!(i.unicast_peers.len(), 1);
    assert_eq!(i.unicast_peers[0].addr.to_string(), "192.168.1.156");
    assert_eq!(i.track_scripts.len(), 1);
    assert_eq!(i.track_scripts[0].name, "chk_ng");
    assert_eq!(i.track_scripts[0].weight, 0);

    let l2 = config::load(
        Path::new("config/seed/node2.conf"),
        &opts,
        &FakeHost::standard(),
    );
    assert_eq!(l2.exit_code, 0, "{:#?}", l2.diagnostics);
    assert_eq!(l2.spec.instances[0].priority, 90);
    assert_eq!(
        l2.spec.instances[0].unicast_peers[0].addr.to_string(),
        "192.168.1.152"
    );
}

#[test]
fn missing_track_script_is_removed_from_the_instance() {
    let opts = LoadOptions::default();
    let l = config::load(
        Path::new("tests/configs/script_missing.conf"),
        &opts,
        &FakeHost::standard(),
    );
    assert!(l.spec.scripts.is_empty());
    assert!(l.spec.instances[0].track_scripts.is_empty());
}

#[test]
fn sample_conf_is_clean() {
    let l = config::load(
        Path::new("config/sample.conf"),
        &LoadOptions::default(),
        &FakeHost::standard(),
    );
    assert_eq!(l.exit_code, 0, "{:#?}", l.diagnostics);
    assert!(
        l.diagnostics.is_empty(),
        "sample.conf should be spotless: {:#?}",
        l.diagnostics
    );
}

fn spec_of(name: &str) -> rkeepalived::vrrp::spec::NodeSpec {
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        all_config: false,
    };
    config::load(
        Path::new(&format!("tests/configs/{name}.conf")),
        &opts,
        &FakeHost::standard(),
    )
    .spec
}

/// What the lexical rules produce, not only that they are accepted.
#[test]
fn lexical_rules_produce_the_right_values() {
    let s = spec_of("builtins");
    assert_eq!(s.globals.router_id.as_deref(), Some("node1#x!"));
    assert!((10..=20).contains(&s.instances[0].vrid));
    assert!((10..=19).contains(&s.instances[0].priority));

    let s = spec_of("escaped_hash");
    assert_eq!(s.globals.router_id.as_deref(), Some("node#1!x"));
    let s = spec_of("comments_anywhere");
    assert_eq!(
        s.globals.router_id.as_deref(),
        Some("with # hash and ! bang")
    );
    assert_eq!(s.instances[0].priority, 100);
    let s = spec_of("quoted_tokens");
    assert_eq!(s.globals.router_id.as_deref(), Some("a b c"));

    assert_eq!(spec_of("conditional_id").instances[0].priority, 200);
    let n = &spec_of("number_formats").instances[0];
    assert_eq!((n.vrid, n.priority, n.advert_int.0), (51, 100, 200));
    let p = &spec_of("params").instances[0];
    assert_eq!(
        (p.interface.as_str(), p.vrid, p.priority),
        ("eth1", 51, 150)
    );
    assert_eq!(p.vips[0].label.as_deref(), Some("eth1:1"));
    assert_eq!(spec_of("params_recursive").instances[0].interface, "eth1");
    let vips: Vec<String> = spec_of("params_multiline").instances[0]
        .vips
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    assert_eq!(vips, ["10.16.200.200", "10.16.200.201", "10.16.200.202"]);
    let vips: Vec<String> = spec_of("seq_lst").instances[0]
        .vips
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    assert_eq!(
        vips,
        [
            "10.16.200.21",
            "10.16.200.22",
            "10.16.200.23",
            "10.16.200.15",
            "10.16.200.17"
        ]
    );
    let names: Vec<String> = spec_of("include_glob")
        .instances
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(names, ["VI_A", "VI_B"]);
    assert_eq!(spec_of("include_braces").instances.len(), 2);
    let labels: Vec<Option<String>> = spec_of("lst_multi_var").instances[0]
        .vips
        .iter()
        .map(|v| v.label.clone())
        .collect();
    assert_eq!(labels, [Some("eth1:1".into()), Some("eth1:2".into())]);
    let i = &spec_of("one_line_blocks").instances[0];
    assert_eq!((i.vips[0].prefix_len, i.unicast_peers.len()), (24, 1));
    assert_eq!(spec_of("brace_next_line").instances[0].vips.len(), 1);
}

#[test]
fn script_commands_are_resolved() {
    let s = spec_of("script_args_quoted");
    assert_eq!(
        s.scripts[0].cmd.argv,
        ["/etc/keepalived/checkng.sh", "a b", "c d"]
    );
    let s = spec_of("script_no_shebang");
    assert!(s.scripts[0].cmd.via_shell);
    let s = spec_of("script_bare_name");
    assert_eq!(s.scripts[0].cmd.argv, ["/usr/bin/true"]);
    assert!(!s.scripts[0].cmd.via_shell);
    for removed in [
        "script_insecure",
        "script_in_writable_dir",
        "script_not_root_owned",
        "script_noexec",
        "script_unterminated_quote",
        "user_unknown",
    ] {
        let s = spec_of(removed);
        assert!(s.scripts.is_empty(), "{removed}");
        assert!(s.instances[0].track_scripts.is_empty(), "{removed}");
    }
}

#[test]
fn validation_rewrites_like_keepalived() {
    let i = &spec_of("master_nopreempt").instances[0];
    assert!(i.initial_master && !i.nopreempt);
    assert_eq!(spec_of("priority_256").instances[0].priority, 100);
    assert_eq!(
        spec_of("advert_int_half_v2").instances[0].advert_int,
        rkeepalived::time::Centis(100)
    );
    assert_eq!(
        spec_of("advert_int_v3_clamp").instances[0].advert_int,
        rkeepalived::time::Centis(4095)
    );
    assert_eq!(
        spec_of("advert_int_v3_fraction").instances[0].advert_int,
        rkeepalived::time::Centis(25)
    );
    assert_eq!(
        spec_of("v3_pass_auth").instances[0].auth,
        rkeepalived::vrrp::spec::Auth::None
    );
    assert_eq!(
        spec_of("auth_pass_long").instances[0].auth,
        rkeepalived::vrrp::spec::Auth::Pass(*b"12345678")
    );
    let i = &spec_of("too_many_vips").instances[0];
    assert_eq!((i.vips.len(), i.excluded_vips.len()), (255, 257));
    let i = &spec_of("mtu_small_many_vips").instances[0];
    assert_eq!(i.vips.len(), 131);
    assert_eq!(
        spec_of("track_script_weight_254").instances[0].track_scripts[0].weight,
        253
    );
    assert!(
        spec_of("owner_weighted_track").instances[0]
            .track_scripts
            .is_empty()
    );
    let i = &spec_of("strict_mode").instances[0];
    assert_eq!(i.auth, rkeepalived::vrrp::spec::Auth::None);
    assert!(!i.initial_master);
    let i = &spec_of("ipv6_vip_v2").instances[0];
    assert_eq!(i.family, rkeepalived::vrrp::spec::Family::V6);
    assert_eq!(i.version, rkeepalived::vrrp::spec::Version::V3);
    let i = &spec_of("unicast_seed_variants").instances[0];
    assert_eq!(i.unicast_peers[0].min_ttl, Some(10));
    assert!(i.check_unicast_src);
    assert_eq!(i.garp.master_repeat, 2);
    assert_eq!(i.garp.lower_prio_repeat, 2);
    let g = spec_of("sync_group_ok");
    assert_eq!(g.sync_groups[0].members, ["VI_1", "VI_2"]);
    assert_eq!(g.instances[1].sync_group.as_deref(), Some("G1"));
}

/// Without -i the config id is the hostname up to the first dot.
#[test]
fn default_config_id_is_short_hostname() {
    let text = "global_defs {\n@node1 router_id short\n@^node1 router_id other\n}\n";
    let l = config::load_str(
        text,
        "id.conf",
        &LoadOptions::default(),
        &FakeHost::standard(),
    );
    assert_eq!(l.spec.globals.router_id.as_deref(), Some("short"));
    let opts = LoadOptions {
        config_id: Some("x".into()),
        all_config: false,
    };
    let l = config::load_str(text, "id.conf", &opts, &FakeHost::standard());
    assert_eq!(l.spec.globals.router_id.as_deref(), Some("other"));
}

#[test]
fn track_process_match_forms_resolve_like_keepalived() {
    use rkeepalived::vrrp::spec::ParamMatch;
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        all_config: false,
    };
    let l = config::load(
        Path::new("tests/configs/track_process_match.conf"),
        &opts,
        &FakeHost::standard(),
    );
    assert_eq!(l.exit_code, 0, "{:#?}", l.diagnostics);
    let get = |name: &str| {
        l.spec
            .track_processes
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    // (param_match, full_command, params)
    let want: &[(&str, ParamMatch, bool, &[&str])] = &[
        (
            "exact",
            ParamMatch::Exact,
            true,
            &["-c", "/etc/nginx/a.conf"],
        ),
        ("bare", ParamMatch::Exact, true, &[]),
        ("partial", ParamMatch::Partial, true, &["-f"]),
        ("initial", ParamMatch::Initial, true, &["-f", "/etc/hap"]),
        ("full", ParamMatch::None, true, &[]),
        ("absent", ParamMatch::None, false, &[]),
    ];
    for (name, pm, full, params) in want {
        let p = get(name);
        assert_eq!(
            (p.param_match, p.full_command, p.params.clone()),
            (*pm, *full, params.iter().map(|s| s.to_string()).collect()),
            "{name}"
        );
    }
    // keepalived compat: `quorum_max 0` means "up only while no such process runs".
    let a = get("absent");
    assert_eq!((a.quorum, a.quorum_max), (0, Some(0)));
    let r = get("range");
    assert_eq!((r.quorum, r.quorum_max), (2, Some(4)));
    assert_eq!((get("exact").quorum, get("exact").quorum_max), (1, None));

    // Rejected values leave the earlier ones in place.
    let l = config::load(
        Path::new("tests/configs/track_process_match_bad.conf"),
        &opts,
        &FakeHost::standard(),
    );
    let q = |name: &str| {
        let p = l
            .spec
            .track_processes
            .iter()
            .find(|p| p.name == name)
            .unwrap();
        (p.param_match, p.quorum, p.quorum_max)
    };
    assert_eq!(q("p1"), (ParamMatch::Exact, 1, None));
    assert_eq!(q("p2"), (ParamMatch::None, 3, None));
    assert_eq!(q("p3"), (ParamMatch::None, 2, None));
    assert_eq!(q("p4"), (ParamMatch::None, 1, Some(2)));
}

#[test]
fn virtual_routes_resolve_to_route_specs() {
    use rkeepalived::vrrp::spec::{RouteSpec, RouteType};
    let r = &spec_of("virtual_routes_parse").instances[0].virtual_routes;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let mut a = RouteSpec::new(ip("10.99.0.0"), 16);
    a.gateway = Some(ip("10.0.0.254"));
    a.dev = Some("eth1".into());
    a.metric = Some(10);
    a.table = Some(100);
    a.scope = Some(0);
    let mut b = RouteSpec::new(ip("10.98.0.0"), 16);
    b.kind = RouteType::Blackhole;
    b.dev = Some("eth1".into());
    let mut c = RouteSpec::new(ip("0.0.0.0"), 0);
    c.gateway = Some(ip("10.0.0.1"));
    c.src = Some(ip("10.0.0.5"));
    c.dev = Some("eth1".into());
    c.onlink = true;
    c.no_track = true;
    let mut d = RouteSpec::new(ip("::"), 0);
    d.gateway = Some(ip("fe80::1"));
    d.dev = Some("eth1".into());
    let mut e = RouteSpec::new(ip("2001:db8::"), 64);
    e.dev = Some("eth1".into());
    e.table = Some(254);
    e.protocol = Some(4);
    e.no_track = true;
    let mut f = RouteSpec::new(ip("10.91.0.0"), 16);
    f.dev = Some("eth1".into());
    f.table = Some(1000);
    f.scope = Some(253);
    f.metric = Some(5);
    f.protocol = Some(18);
    let mut g = RouteSpec::new(ip("10.96.0.0"), 32);
    g.gateway = Some(ip("10.0.0.254"));
    g.dev = Some("eth1".into());
    let mut h = RouteSpec::new(ip("10.92.0.0"), 16);
    h.dev = Some("eth1".into());
    assert_eq!(r, &[a, b, c, d, e, f, g, h]);
}

#[test]
fn virtual_rules_resolve_to_rule_specs() {
    use rkeepalived::vrrp::spec::{RuleAction, RuleSpec};
    let r = &spec_of("virtual_rules_parse").instances[0].virtual_rules;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let mut a = RuleSpec::new(100);
    a.from = Some((ip("10.0.0.5"), 32));
    a.table = Some(100);
    let mut b = RuleSpec::new(101);
    b.from = Some((ip("10.0.0.5"), 32));
    b.to = Some((ip("10.9.0.0"), 16));
    b.table = Some(254);
    b.iif = Some("eth1".into());
    b.oif = Some("eth1".into());
    b.fwmark = Some(0x10);
    b.fwmask = Some(0xff);
    b.tos = Some(4);
    b.invert = true;
    let mut c = RuleSpec::new(102);
    c.v6 = true;
    c.table = Some(100);
    let mut d = RuleSpec::new(103);
    d.v6 = true;
    d.from = Some((ip("2001:db8::1"), 128));
    d.action = RuleAction::Goto(200);
    let mut e = RuleSpec::new(104);
    e.to = Some((ip("10.8.0.0"), 16));
    e.action = RuleAction::Blackhole;
    e.no_track = true;
    // keepalived compat: no preference ⇒ numbered down from 16384.
    let mut f = RuleSpec::new(16384);
    f.from = Some((ip("10.0.0.6"), 32));
    f.table = Some(101);
    let mut g = RuleSpec::new(16383);
    g.from = Some((ip("10.0.0.7"), 32));
    g.action = RuleAction::Prohibit;
    assert_eq!(r, &[a, b, c, d, e, f, g]);
}

#[test]
fn use_vmac_resolves_to_a_vmac_spec() {
    use rkeepalived::vrrp::spec::VmacSpec;
    let text = "vrrp_instance A {\n interface eth1\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n\
                vrrp_instance B {\n interface eth1\n virtual_router_id 52\n use_vmac vm52\n vmac_xmit_base\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n\
                vrrp_instance C {\n interface eth1\n virtual_router_id 53\n use_vmac\n unicast_src_ip 10.0.0.9\n unicast_peer {\n  10.0.0.8\n }\n virtual_ipaddress {\n  10.0.0.3\n }\n}\n\
                vrrp_instance D {\n interface eth1\n virtual_router_id 54\n virtual_ipaddress {\n  fe80::54\n }\n use_vmac\n}\n";
    let l = config::load_str(
        text,
        "vmac.conf",
        &LoadOptions::default(),
        &FakeHost::standard(),
    );
    let v: Vec<Option<VmacSpec>> = l.spec.instances.iter().map(|i| i.vmac.clone()).collect();
    let vm = |n: &str, x| {
        Some(VmacSpec {
            name: n.into(),
            xmit_base: x,
        })
    };
    // C: "unicast with use_vmac requires vmac_xmit_base - setting".
    assert_eq!(
        v,
        [
            vm("vrrp.51", false),
            vm("vm52", true),
            vm("vrrp.53", true),
            vm("vrrp.54", false)
        ]
    );
    let i = &l.spec.instances;
    assert_eq!(i[0].vmac_mac(), Some([0, 0, 0x5e, 0, 1, 51]));
    assert_eq!(i[3].vmac_mac(), Some([0, 0, 0x5e, 0, 2, 54]));
    assert_eq!(
        (i[0].vip_ifname(), i[0].xmit_ifname()),
        ("vrrp.51", "vrrp.51")
    );
    assert_eq!((i[1].vip_ifname(), i[1].xmit_ifname()), ("vm52", "eth1"));
}
