//! Command line with keepalived's spellings (reference §1), and the top-level `run`.

use std::path::Path;

use argh::FromArgs;

use crate::config::{self, Diagnostic, LoadOptions, RealHost};
use crate::vrrp::spec::NodeSpec;

/// rkeepalived: keepalived-compatible VRRP daemon
#[derive(FromArgs, Debug, Default, PartialEq)]
pub struct Args {
    /// use the specified configuration file (default /etc/keepalived/keepalived.conf)
    #[argh(
        option,
        short = 'f',
        default = "String::from(\"/etc/keepalived/keepalived.conf\")"
    )]
    pub use_file: String,
    /// check the configuration for obvious errors and exit (0, 4, 5 or 6 as keepalived)
    #[argh(switch, short = 't')]
    pub config_test: bool,
    /// write -t messages to this file instead of stderr (keepalived's --config-test=FILE)
    #[argh(option)]
    pub config_test_file: Option<String>,
    /// don't fork the daemon process
    #[argh(switch, short = 'n')]
    pub dont_fork: bool,
    /// log messages to the local console
    #[argh(switch, short = 'l')]
    pub log_console: bool,
    /// detailed log messages
    #[argh(switch, short = 'D')]
    pub log_detail: bool,
    /// syslog facility: 0-7, local0-7, user or daemon (default daemon)
    #[argh(option, short = 'S')]
    pub log_facility: Option<String>,
    /// don't log via syslog
    #[argh(switch, short = 'G')]
    pub no_syslog: bool,
    /// pidfile of the parent process (default /run/keepalived.pid)
    #[argh(option, short = 'p')]
    pub pid: Option<String>,
    /// pidfile of the VRRP process (default /run/vrrp.pid)
    #[argh(option, short = 'r')]
    pub vrrp_pid: Option<String>,
    /// only run the VRRP subsystem (always the case: accepted as a no-op)
    #[argh(switch, short = 'P')]
    pub vrrp: bool,
    /// only run the health-checker subsystem (not available in rkeepalived)
    #[argh(switch, short = 'C')]
    pub check: bool,
    /// don't run the BFD subsystem (no-op)
    #[argh(switch, short = 'B')]
    pub no_bfd: bool,
    /// run all subsystems even if they have no configuration (no-op)
    #[argh(switch)]
    pub all: bool,
    /// don't remove VRRP VIPs and VROUTEs on daemon stop
    #[argh(switch, short = 'V')]
    pub dont_release_vrrp: bool,
    /// drop VIP on transition from signal
    #[argh(switch, short = 'X')]
    pub release_vips: bool,
    /// don't remove IPVS topology on daemon stop (no-op)
    #[argh(switch, short = 'I')]
    pub dont_release_ipvs: bool,
    /// don't respawn child processes (no-op: single process)
    #[argh(switch, short = 'R')]
    pub dont_respawn: bool,
    /// checkers pidfile (no-op)
    #[argh(option, short = 'c')]
    pub checkers_pid: Option<String>,
    /// BFD pidfile (no-op)
    #[argh(option, short = 'b')]
    pub bfd_pid: Option<String>,
    /// report all address additions/deletions notified by netlink
    #[argh(switch, short = 'a')]
    pub address_monitoring: bool,
    /// set core dump size to infinity (no-op)
    #[argh(switch, short = 'm')]
    pub core_dump: bool,
    /// configuration id for @ID lines (default: hostname up to the first dot)
    #[argh(option, short = 'i')]
    pub config_id: Option<String>,
    /// dump the resolved configuration
    #[argh(switch, short = 'd')]
    pub dump_conf: bool,
    /// fail if any configuration or include file is missing
    #[argh(switch, short = 'e')]
    pub all_config: bool,
    /// print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON and exit
    #[argh(option)]
    pub signum: Option<String>,
    /// display the version number
    #[argh(switch, short = 'v')]
    pub version: bool,
    /// don't stop on SIGINT (keepalived >= 2.3.2, for debuggers); SIGTERM still stops
    #[argh(switch)]
    pub ignore_sigint: bool,
    /// also log to a file: -gFILE / --log-file=FILE, default $TMPDIR/keepalived.log; as for
    /// keepalived's VRRP process, "_vrrp" is inserted before the extension
    #[argh(switch, short = 'g')]
    pub log_file: bool,
    /// the FILE of -gFILE / --log-file=FILE
    #[argh(option)]
    pub log_file_name: Option<String>,
    /// flush the log file after each line
    #[argh(switch)]
    pub flush_log_file: bool,
    /// umask for files created (pidfiles, dumps, FIFO, log); overrides the config's umask
    #[argh(option, short = 'u')]
    pub umask: Option<String>,
}

/// Options that take a value (short letters), for splitting combined short flags.
const SHORT_WITH_VALUE: &[char] = &['f', 'S', 'p', 'r', 'c', 'b', 'i', 'u'];

/// Rewrite keepalived-style argv into what argh parses: `--opt=value` -> two words,
/// `--vrrp_pid` -> `--vrrp-pid`, `-nlD` -> `-n -l -D`, `-fFILE` -> `-f FILE`,
/// `--config-test=FILE` -> `--config-test --config-test-file FILE`.
pub fn normalize_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-h" {
            out.push("--help".into());
            continue;
        }
        if a == "--" {
            out.push(a.clone());
            out.extend(it.cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let name = name.replace('_', "-");
            if name == "config-test" {
                out.push("--config-test".into());
                if let Some(v) = value {
                    out.push("--config-test-file".into());
                    out.push(v.to_string());
                }
                continue;
            }
            // keepalived compat: `--log-file[=FILE]` takes its value only when attached.
            if name == "log-file" {
                out.push("--log-file".into());
                if let Some(v) = value {
                    out.push("--log-file-name".into());
                    out.push(v.to_string());
                }
                continue;
            }
            out.push(format!("--{name}"));
            if let Some(v) = value {
                out.push(v.to_string());
            }
            continue;
        }
        if a.len() > 2 && a.starts_with('-') && !a.starts_with("--") {
            let chars: Vec<char> = a[1..].chars().collect();
            for (i, c) in chars.iter().enumerate() {
                out.push(format!("-{c}"));
                if SHORT_WITH_VALUE.contains(c) {
                    let rest: String = chars[i + 1..].iter().collect();
                    if !rest.is_empty() {
                        out.push(rest);
                    }
                    break;
                }
                if *c == 'g' && i + 1 < chars.len() {
                    // `-gFILE` (optional argument, attached only, as getopt does).
                    out.push("--log-file-name".into());
                    out.push(chars[i + 1..].iter().collect());
                    break;
                }
                if *c == 't' && i + 1 < chars.len() {
                    // `-tFILE`: messages to FILE.
                    out.push("--config-test-file".into());
                    out.push(chars[i + 1..].iter().collect());
                    break;
                }
            }
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// Parse a full argv (program name first) the way main does.
pub fn parse_args(argv: &[String]) -> Result<Args, argh::EarlyExit> {
    let cmd = argv.first().map(String::as_str).unwrap_or("rkeepalived");
    let rest = normalize_args(argv.get(1..).unwrap_or(&[]));
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    Args::from_args(&[cmd], &rest)
}

/// keepalived's `--signum` answers, pinned to glibc's numbers (a musl build would otherwise
/// compute SIGRTMIN+2 = 37 for JSON).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => 15,
        "RELOAD" => 1,
        "DATA" => 10,
        "STATS" => 12,
        "STATS_CLEAR" => 63,
        "JSON" => 36,
        _ => return None,
    })
}

/// Why the configuration could not be used at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Exit code for a normal run (6 = not configured, as keepalived's `exit_code`).
    pub exit_code: i32,
    pub message: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn load_options(args: &Args) -> LoadOptions {
    LoadOptions {
        config_id: args.config_id.clone(),
        all_config: args.all_config,
    }
}

/// Read and resolve the configuration named by `args` (also used by the daemon's SIGHUP
/// reload). Diagnostics are returned, not printed.
pub fn load_config(args: &Args) -> Result<(NodeSpec, Vec<Diagnostic>), LoadError> {
    let l = config::load(Path::new(&args.use_file), &load_options(args), &RealHost);
    if l.skipped {
        return Err(LoadError {
            exit_code: 6,
            message: format!("configuration file {} could not be read", args.use_file),
            diagnostics: l.diagnostics,
        });
    }
    Ok((l.spec, l.diagnostics))
}

/// A readable dump of the resolved configuration (`-d`). Passwords are masked.
pub fn dump(spec: &NodeSpec) -> String {
    config::dump::dump(spec)
}

fn config_test(args: &Args) -> i32 {
    let l = config::load(Path::new(&args.use_file), &load_options(args), &RealHost);
    let mut text = String::new();
    for d in &l.diagnostics {
        text.push_str(&config::render(d, &l.sources));
    }
    match &args.config_test_file {
        Some(f) => {
            if let Err(e) = std::fs::write(f, &text) {
                eprintln!("rkeepalived: cannot write {f}: {e}");
                eprint!("{text}");
            }
        }
        None => eprint!("{text}"),
    }
    if args.dump_conf {
        print!("{}", dump(&l.spec));
    }
    l.exit_code
}

/// Run and return the process exit code.
pub fn run(args: Args) -> i32 {
    if args.version {
        println!(
            "rkeepalived {} (keepalived-compatible VRRP daemon)",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    if let Some(name) = &args.signum {
        return match signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    if args.check {
        eprintln!(
            "rkeepalived: -C/--check is not available: rkeepalived has no LVS health checker (VRRP only)"
        );
        return 1;
    }
    if args.config_test {
        return config_test(&args);
    }
    let (spec, diags) = match load_config(&args) {
        Ok(x) => x,
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{d}");
            }
            eprintln!("rkeepalived: {e}");
            return e.exit_code;
        }
    };
    if args.dump_conf {
        print!("{}", dump(&spec));
    }
    // The one place the daemon is entered; it logs the diagnostics once logging is set up.
    crate::daemon::run(&args, spec, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn log_file_takes_only_an_attached_value() {
        let a = parse_args(&v(&["rkeepalived", "-g", "-n"])).unwrap();
        assert!(a.log_file && a.dont_fork && a.log_file_name.is_none());
        let a = parse_args(&v(&["rkeepalived", "-g/var/log/ka.log"])).unwrap();
        assert_eq!(a.log_file_name.as_deref(), Some("/var/log/ka.log"));
        let a = parse_args(&v(&["rkeepalived", "-nDg/x.log"])).unwrap();
        assert!(a.dont_fork && a.log_detail);
        assert_eq!(a.log_file_name.as_deref(), Some("/x.log"));
        let a = parse_args(&v(&[
            "rkeepalived",
            "--log-file=/y.log",
            "--flush-log-file",
        ]))
        .unwrap();
        assert_eq!(a.log_file_name.as_deref(), Some("/y.log"));
        assert!(a.flush_log_file);
        let a = parse_args(&v(&["rkeepalived", "--log-file", "-l"])).unwrap();
        assert!(a.log_file && a.log_console && a.log_file_name.is_none());
        let a = parse_args(&v(&["rkeepalived", "-u0022", "-n"])).unwrap();
        assert_eq!(a.umask.as_deref(), Some("0022"));
        assert_eq!(crate::config::model::parse_umask("0022"), Some(0o022));
        assert_eq!(
            crate::config::model::parse_umask("IWGRP|IWOTH"),
            Some(0o022)
        );
        assert_eq!(crate::config::model::parse_umask("18"), Some(0o022));
        assert_eq!(crate::config::model::parse_umask("IWOOPS"), None);
        let a = parse_args(&v(&["rkeepalived", "--ignore-sigint"])).unwrap();
        assert!(a.ignore_sigint);
    }

    #[test]
    fn normalizes_keepalived_spellings() {
        assert_eq!(
            normalize_args(&v(&[
                "--use_file=/x",
                "--vrrp_pid",
                "/p",
                "-nlD",
                "-fFILE",
                "--signum=JSON"
            ])),
            v(&[
                "--use-file",
                "/x",
                "--vrrp-pid",
                "/p",
                "-n",
                "-l",
                "-D",
                "-f",
                "FILE",
                "--signum",
                "JSON"
            ])
        );
        assert_eq!(
            normalize_args(&v(&["--config-test=/o", "-tnl"])),
            v(&[
                "--config-test",
                "--config-test-file",
                "/o",
                "-t",
                "--config-test-file",
                "nl"
            ])
        );
    }

    #[test]
    fn parses_every_flag() {
        let a = parse_args(&v(&[
            "rkeepalived",
            "-f",
            "/c",
            "-t",
            "-n",
            "-l",
            "-D",
            "-S",
            "local0",
            "-G",
            "-p",
            "/p",
            "-P",
            "-B",
            "-V",
            "-X",
            "-i",
            "node1",
            "-d",
            "-e",
            "-I",
            "-R",
            "-c",
            "/c1",
            "-b",
            "/b1",
            "-a",
            "-m",
            "--all",
            "--no_bfd",
            "--vrrp_pid=/r2",
        ]))
        .unwrap();
        assert_eq!(a.use_file, "/c");
        assert!(a.config_test && a.dont_fork && a.log_console && a.log_detail && a.no_syslog);
        assert_eq!(a.vrrp_pid.as_deref(), Some("/r2"));
        assert_eq!(a.config_id.as_deref(), Some("node1"));
        let d = parse_args(&v(&["rkeepalived"])).unwrap();
        assert_eq!(d.use_file, "/etc/keepalived/keepalived.conf");
    }

    #[test]
    fn load_config_for_the_daemon_and_reload() {
        let a = parse_args(&v(&["rkeepalived", "-f", "config/sample.conf"])).unwrap();
        let (spec, _diags) = load_config(&a).expect("sample.conf loads");
        assert_eq!(spec.instances.len(), 1);
        assert_eq!(spec.instances[0].vrid, 51);
        let a = parse_args(&v(&["rkeepalived", "-f", "/nonexistent.conf"])).unwrap();
        let e = load_config(&a).unwrap_err();
        assert_eq!(e.exit_code, 6);
    }

    #[test]
    fn signum_pinned_to_glibc() {
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("TDATA"), None);
        let a = parse_args(&v(&["rkeepalived", "--signum", "NOPE"])).unwrap();
        assert_eq!(run(a), 1);
    }
}
