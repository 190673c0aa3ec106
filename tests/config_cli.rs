//! The binary's keepalived-compatible command line: `-t` output format and exit codes,
//! `--signum`, `-v`, `-C`, `-h`, `-d`, underscore long options. No root needed.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rkeepalived");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run rkeepalived")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_test_prints_file_line_col_source_and_caret() {
    let o = run(&["-t", "-i", "node1", "-f", "tests/configs/priority_256.conf"]);
    assert_eq!(o.status.code(), Some(5));
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            *l == "tests/configs/priority_256.conf:4:14: error: number '256' outside range [1, 255]"
        })
        .unwrap_or_else(|| panic!("no diagnostic line in:\n{err}"));
    assert_eq!(lines[i + 1], "      priority 256");
    assert_eq!(lines[i + 2], "               ^");
    assert!(o.stdout.is_empty(), "keepalived -t never writes to stdout");
}

#[test]
fn config_test_exit_codes_for_unusable_main_files() {
    // keepalived compat: a missing file, a directory: reported, exit 0.
    let o = run(&["-t", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("Config files missing '/nonexistent/keepalived.conf'."));
    let o = run(&["-t", "-f", "tests/configs"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("is a directory - skipping"));
}

#[test]
fn config_test_to_file_and_underscore_spellings() {
    let out = std::env::temp_dir().join(format!("rka-cli-{}.txt", std::process::id()));
    let arg = format!("--config-test={}", out.display());
    let o = run(&[
        &arg,
        "--use_file=tests/configs/unknown_keyword.conf",
        "-i",
        "node1",
    ]);
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert_eq!(o.status.code(), Some(5));
    assert!(
        written.contains("error: Unknown keyword 'bogus_keyword'"),
        "{written}"
    );
}

#[test]
fn signum_version_help_check() {
    let o = run(&["--signum=JSON"]);
    assert_eq!((o.status.code(), text(&o.stdout).trim()), (Some(0), "36"));
    for (name, n) in [
        ("STOP", "15"),
        ("RELOAD", "1"),
        ("DATA", "10"),
        ("STATS", "12"),
        ("STATS_CLEAR", "63"),
    ] {
        let o = run(&["--signum", name]);
        assert_eq!(text(&o.stdout).trim(), n, "{name}");
    }
    let o = run(&["--signum", "TDATA"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("Unknown sigfunc"));
    let o = run(&["-v"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("rkeepalived"));
    let o = run(&["-h"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("--use-file"));
    let o = run(&["-C"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no LVS health checker"));
    let o = run(&["--bogus-flag"]);
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn dump_and_unreadable_config_run() {
    let o = run(&["-t", "-d", "-f", "config/sample.conf", "-P", "-B", "--all"]);
    let out = text(&o.stdout);
    assert!(out.contains("vrrp_instance VI_1"), "{out}");
    assert!(
        out.contains("virtual_ipaddress 10.16.200.200/24 dev eth1 label eth1:1"),
        "{out}"
    );
    // A normal run with an unreadable configuration never starts the daemon (keepalived's
    // "not configured" exit code 6). Starting the daemon for real is the namespace tests' job:
    // this test runs on the host and must not touch its interfaces.
    let o = run(&["-n", "-l", "-f", "/nonexistent/rkeepalived-test.conf"]);
    assert_eq!(o.status.code(), Some(6));
    assert!(
        text(&o.stderr).contains("could not be read"),
        "{}",
        text(&o.stderr)
    );
}
