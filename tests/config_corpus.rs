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
