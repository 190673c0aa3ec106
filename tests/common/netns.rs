//! Network-namespace lab for integration tests: nodes on one bridge, each a small "machine".
//!
//! ```text
//!   lan namespace (rk-PID-N-lan):  br0 ── p-node1 ── p-node2 ── p-client   (veth ends)
//!                                          │           │           │
//!   node namespaces (rk-PID-N-NAME):      eth1        eth1        eth1
//! ```
//!
//! Each node is a network namespace plus its own PID namespace and private mount namespace
//! (an `unshare --pid --fork --mount-proc --mount` init kept alive for the node's lifetime):
//! - `ps -ef` inside a node shows only that node's processes, so the seed's check script
//!   (`ps -ef | grep nginx`) sees only that node's nginx;
//! - `/etc/keepalived` inside a node is a bind mount of the node's own directory
//!   (`lab.etc_dir(node)`, root-owned, mode 0755 on every component, as keepalived's
//!   `enable_script_security` requires), so configs may keep the path
//!   `/etc/keepalived/checkng.sh`; the host's /etc/keepalived is never touched.
//!
//! Commands run inside a node with `nsenter -t INIT -n -m -p`. Killing the node's init (done
//! by `Drop`, also while unwinding from a panic) makes the kernel kill every process of that
//! node; then the namespaces and the temporary directory are removed. Set `RK_KEEP_LAB=1` to
//! keep the directory (configs, daemon logs) for debugging.
//!
//! All addresses live only inside namespaces the lab made; the host's interfaces are never
//! touched. Namespace names carry the test's pid and a counter; namespaces left behind by a
//! test process that no longer exists are removed by the next `Lab::new`.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use nix::sys::signal::Signal;
use nix::sys::signal::kill as send_signal;
use nix::unistd::Pid;

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);
static T0: OnceLock<Instant> = OnceLock::new();

// ------------------------------------------------------------------ gates and small helpers

/// True if this process can build namespaces (root, `ip netns`, `unshare`, `nsenter`).
/// Otherwise prints why and returns false — or panics when the env var `CI` is set, because a
/// root-only test must fail, not skip, where it is expected to run.
pub fn require_root_or_skip() -> bool {
    let reason = if !nix::unistd::geteuid().is_root() {
        Some("not root".to_string())
    } else if !tool_works("ip", &["netns", "list"]) {
        Some("`ip netns list` does not work".to_string())
    } else {
        ["unshare", "nsenter", "mount", "pgrep"]
            .iter()
            .find(|t| !tool_works(t, &["--version"]))
            .map(|t| format!("tool `{t}` missing"))
    };
    gate(reason)
}

/// Like [`require_root_or_skip`] for extra tools a test needs (e.g. `nginx`, `tcpdump`).
pub fn require_tools_or_skip(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    gate((!missing.is_empty()).then(|| format!("missing tools: {}", missing.join(", "))))
}

fn gate(reason: Option<String>) -> bool {
    match reason {
        None => true,
        Some(r) if std::env::var_os("CI").is_some() => {
            panic!("namespace test cannot run ({r}) and CI is set")
        }
        Some(r) => {
            eprintln!("SKIPPED: namespace test needs root and tools ({r})");
            false
        }
    }
}

fn tool_works(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Path of `tool` in PATH (or the path itself if it contains '/').
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        return Path::new(tool).exists().then(|| PathBuf::from(tool));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The daemon under test: `$RK_DAEMON` if set, else the crate's own binary.
pub fn daemon_bin() -> PathBuf {
    match std::env::var_os("RK_DAEMON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rkeepalived")),
    }
}

/// Polls `cond` every `poll` until it is true (returns the elapsed time) or `timeout` passes.
pub fn wait_until(
    timeout: Duration,
    poll: Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        sleep(poll);
    }
}

/// Prints a step with wall-clock time (UTC) and seconds since the first step of the process.
pub fn step(msg: impl AsRef<str>) {
    let t0 = *T0.get_or_init(Instant::now);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let day_ms = now.as_millis() % 86_400_000;
    eprintln!(
        "{:02}:{:02}:{:02}.{:03} [+{:7.2}s] {}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000,
        t0.elapsed().as_secs_f64(),
        msg.as_ref()
    );
}

fn run(cmd: &mut Command) -> Output {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(args: &[&str]) -> String {
    run_ok(Command::new("ip").args(args))
}

/// Host pids whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the last ')' (the comm may contain spaces): state, ppid, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<i32>().ok())
            == Some(ppid)
        {
            out.push(pid);
        }
    }
    out
}

/// `pid` and all its descendants, parents first.
fn process_tree(pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        for k in children_of(out[i]) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
        i += 1;
    }
    out
}

fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if start.elapsed() >= timeout {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

fn mkdir_0755(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
}

/// Writes `contents` to `path` with `mode`.
pub fn write_file(path: &Path, contents: &str, mode: u32) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `Some(pid)` if `name` is `rk-PID-N-REST` (a name this module makes).
fn lab_pid(name: &str) -> Option<u32> {
    let mut parts = name.splitn(4, '-');
    let (Some("rk"), Some(pid), Some(n), Some(_)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let ok = !n.is_empty() && n.chars().all(|c| c.is_ascii_digit());
    pid.parse::<u32>().ok().filter(|_| ok)
}

/// Removes namespaces `rk-PID-N-*` and directories `/tmp/rk-PID-N-*` whose test process PID no
/// longer exists (left behind by a test process that was killed without unwinding).
fn sweep_stale_namespaces() {
    let dead =
        |name: &str| lab_pid(name).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
    if let Ok(list) = Command::new("ip").args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&list.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if dead(name) {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
    }
    if let Ok(dir) = fs::read_dir("/tmp") {
        for e in dir.flatten() {
            if e.file_name().to_str().is_some_and(dead) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

// ------------------------------------------------------------------ the lab

struct Node {
    name: String,
    ns: String,
    dir: PathBuf,
    /// `unshare` process (killed with SIGKILL => its child, the node's init, dies => the
    /// kernel kills the whole PID namespace).
    unshare: Child,
    /// Host pid of the node's init (pid 1 inside the node).
    init: i32,
}

/// A set of throwaway namespaces: a "lan" namespace with bridge `br0` and any number of nodes.
pub struct Lab {
    id: String,
    dir: PathBuf,
    lan: String,
    /// Every namespace to delete on drop (registered before it is created).
    namespaces: Mutex<Vec<String>>,
    nodes: Vec<Node>,
    /// Daemon logs, dumped to stderr when the lab is dropped during a panic.
    logs: Mutex<Vec<(String, PathBuf)>>,
    daemon_counter: AtomicU32,
}

impl Lab {
    /// Creates the lan namespace (`rk-PID-N-lan`) with an up bridge `br0`, and a temporary
    /// directory `/tmp/rk-PID-N-TAG` (root, 0755).
    pub fn new(tag: &str) -> Lab {
        sweep_stale_namespaces();
        let id = format!(
            "rk-{}-{}",
            std::process::id(),
            LAB_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let dir = PathBuf::from(format!("/tmp/{id}-{tag}"));
        let _ = fs::remove_dir_all(&dir);
        mkdir_0755(&dir);
        let lan = format!("{id}-lan");
        let lab = Lab {
            id,
            dir,
            lan: lan.clone(),
            namespaces: Mutex::new(vec![lan.clone()]),
            nodes: Vec::new(),
            logs: Mutex::new(Vec::new()),
            daemon_counter: AtomicU32::new(0),
        };
        ip(&["netns", "add", &lan]);
        ip(&["-n", &lan, "link", "set", "lo", "up"]);
        ip(&["-n", &lan, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &lan, "link", "set", "br0", "up"]);
        lab
    }

    /// Adds node `name` (≤ 12 chars): a namespace `rk-PID-N-NAME` whose interface `iface`
    /// (veth, other end `p-NAME` on br0) is up with `addrs` (CIDR, e.g. "10.16.200.11/16"),
    /// plus the node's PID/mount namespaces with /etc/keepalived bound to `etc_dir(name)`.
    pub fn add_node(&mut self, name: &str, iface: &str, addrs: &[&str]) {
        let port = format!("p-{name}");
        assert!(
            port.len() <= 15 && iface.len() <= 15,
            "interface name too long"
        );
        assert!(
            self.nodes.iter().all(|n| n.name != name),
            "node {name} exists"
        );
        let ns = format!("{}-{name}", self.id);
        // Register first so that Drop deletes it even if a later step panics.
        self.namespaces.lock().expect("namespaces").push(ns.clone());
        ip(&["netns", "add", &ns]);
        let dir = self.dir.join(name);
        for sub in ["", "etc", "www", "run"] {
            mkdir_0755(&dir.join(sub));
        }
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n", &self.lan, "link", "add", &port, "type", "veth", "peer", "name", iface, "netns",
            &ns,
        ]);
        ip(&["-n", &self.lan, "link", "set", &port, "master", "br0", "up"]);
        for a in addrs {
            ip(&["-n", &ns, "addr", "add", a, "dev", iface]);
        }
        ip(&["-n", &ns, "link", "set", iface, "up"]);

        // The node's init: mounts /etc/keepalived (private mount namespace; `unshare` makes
        // mounts private, so nothing propagates to the host), signals readiness, then reaps
        // orphans forever (bash reaps adopted children; `sleep` as init would leave zombies,
        // and a zombie "nginx" would fool `ps -ef | grep nginx`).
        let etc = dir.join("etc");
        let ready = dir.join("run/ready");
        let script = format!(
            "set -e\n\
             if [ ! -d /etc/keepalived ]; then\n\
               mkdir -p '{d}/etc-upper' '{d}/etc-work'\n\
               mount -t overlay overlay -o 'lowerdir=/etc,upperdir={d}/etc-upper,workdir={d}/etc-work' /etc\n\
               mkdir /etc/keepalived\n\
             fi\n\
             mount --bind '{etc}' /etc/keepalived\n\
             touch '{ready}'\n\
             exec bash -c 'while :; do sleep 1; done'\n",
            d = dir.display(),
            etc = etc.display(),
            ready = ready.display()
        );
        let log = File::create(dir.join("init.log")).expect("init.log");
        let unshare = Command::new("setpriv")
            // If the test process dies without unwinding, take the node down with it.
            .args(["--pdeathsig", "KILL", "--", "ip", "netns", "exec", &ns])
            .args([
                "unshare",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--mount",
            ])
            .args(["bash", "-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("spawn node init");
        let upid = unshare.id() as i32;
        self.nodes.push(Node {
            name: name.into(),
            ns,
            dir: dir.clone(),
            unshare,
            init: 0,
        });
        let mut init = 0;
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            if init == 0 {
                init = children_of(upid).first().copied().unwrap_or(0);
            }
            init != 0 && ready.exists()
        });
        assert!(
            ok.is_some(),
            "node {name} init did not start: {}",
            fs::read_to_string(dir.join("init.log")).unwrap_or_default()
        );
        self.nodes.last_mut().expect("just pushed").init = init;
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Network namespace name of a node.
    pub fn ns(&self, node: &str) -> &str {
        &self.node(node).ns
    }

    /// Network namespace of the bridge.
    pub fn lan_ns(&self) -> &str {
        &self.lan
    }

    /// Per-node host directory (configs, logs, pidfiles).
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.node(node).dir.clone()
    }

    /// Host directory seen as /etc/keepalived inside `node`.
    pub fn etc_dir(&self, node: &str) -> PathBuf {
        self.node(node).dir.join("etc")
    }

    /// Writes `/etc/keepalived/NAME` as seen inside `node` (root-owned, `mode`).
    pub fn install_etc_file(&self, node: &str, name: &str, contents: &str, mode: u32) {
        write_file(&self.etc_dir(node).join(name), contents, mode);
    }

    /// A `Command` that runs `args` inside `node` (network, mount and PID namespaces).
    pub fn command(&self, node: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.args([
            "-t",
            &self.node(node).init.to_string(),
            "-n",
            "-m",
            "-p",
            "--",
        ])
        .args(args);
        c
    }

    /// Runs `args` inside `node` and returns its output.
    pub fn exec(&self, node: &str, args: &[&str]) -> Output {
        run(&mut self.command(node, args))
    }

    /// Runs `args` inside `node`; panics unless it succeeds; returns stdout.
    pub fn exec_ok(&self, node: &str, args: &[&str]) -> String {
        run_ok(&mut self.command(node, args))
    }

    /// Runs `args` in the lan namespace (`ip netns exec`).
    pub fn lan_exec(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.lan])
            .args(args))
    }

    /// MAC address of `dev` in `node`.
    pub fn mac_of(&self, node: &str, dev: &str) -> String {
        let out = ip(&["-n", self.ns(node), "-o", "link", "show", "dev", dev]);
        let toks: Vec<&str> = out.split_whitespace().collect();
        toks.iter()
            .position(|t| *t == "link/ether")
            .and_then(|i| toks.get(i + 1))
            .map(|s| s.to_string())
            .unwrap_or_else(|| panic!("no MAC for {dev} in {node}: {out}"))
    }

    /// `(cidr, label)` of every address on `dev` in `node`.
    pub fn addrs(&self, node: &str, dev: &str) -> Vec<(String, String)> {
        let out = ip(&["-n", self.ns(node), "-o", "addr", "show", "dev", dev]);
        out.lines()
            .filter_map(|l| {
                let t: Vec<&str> = l.split_whitespace().collect();
                if t.len() < 4 || (t[2] != "inet" && t[2] != "inet6") {
                    return None;
                }
                // `ip -o` ends the address part with a token glued to '\' — the label (IPv4).
                let label = t[4..]
                    .iter()
                    .find(|x| x.ends_with('\\'))
                    .map(|x| x.trim_end_matches('\\'));
                Some((t[3].to_string(), label.unwrap_or(dev).to_string()))
            })
            .collect()
    }

    /// Whether `dev` in `node` has address `cidr` (e.g. "10.16.200.200/32").
    pub fn has_addr(&self, node: &str, dev: &str, cidr: &str) -> bool {
        self.addrs(node, dev).iter().any(|(a, _)| a == cidr)
    }

    /// The label of address `cidr` on `dev` in `node` (e.g. "eth1:1"), if present.
    pub fn label_of(&self, node: &str, dev: &str, cidr: &str) -> Option<String> {
        self.addrs(node, dev)
            .into_iter()
            .find(|(a, _)| a == cidr)
            .map(|(_, l)| l)
    }

    /// The nodes (among `nodes`) that have `cidr` on `dev`.
    pub fn holders(&self, nodes: &[&str], dev: &str, cidr: &str) -> Vec<String> {
        nodes
            .iter()
            .filter(|n| self.has_addr(n, dev, cidr))
            .map(|n| n.to_string())
            .collect()
    }

    /// One ICMP echo from `node` to `addr` (1 s timeout). False if `ping` is not installed.
    pub fn ping(&self, node: &str, addr: &str) -> bool {
        which("ping").is_some()
            && self
                .exec(node, &["ping", "-c", "1", "-W", "1", addr])
                .status
                .success()
    }

    /// HTTP GET of `url` from `node` (curl, else bash's /dev/tcp); the body, trimmed.
    pub fn fetch(&self, node: &str, url: &str) -> Option<String> {
        let out = if which("curl").is_some() {
            self.exec(node, &["curl", "-s", "--max-time", "2", url])
        } else {
            let rest = url.trim_start_matches("http://");
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let (host, port) = host.split_once(':').unwrap_or((host, "80"));
            let script = format!(
                "exec 3<>/dev/tcp/{host}/{port} && printf 'GET /{path} HTTP/1.0\\r\\nHost: {host}\\r\\n\\r\\n' >&3 && \
                 timeout 2 cat <&3 | sed '1,/^\\r\\?$/d'"
            );
            self.exec(node, &["timeout", "3", "bash", "-c", &script])
        };
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    // -------------------------------------------------------------- nginx

    /// Starts nginx inside `node` (listening on port 80 of every address of the node, which
    /// includes a VIP added later), serving `page` at `/`. Returns once it answers locally.
    pub fn start_nginx(&self, node: &str, page: &str) {
        let d = self.node_dir(node);
        write_file(&d.join("www/index.html"), &format!("{page}\n"), 0o644);
        let r = d.join("run");
        let conf = format!(
            "worker_processes 1;\npid {r}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {r}/body;\n  proxy_temp_path {r}/proxy;\n\
             \x20 fastcgi_temp_path {r}/fastcgi;\n  uwsgi_temp_path {r}/uwsgi;\n  scgi_temp_path {r}/scgi;\n\
             \x20 server {{ listen 80; root {d}/www; }}\n}}\n",
            r = r.display(),
            d = d.display()
        );
        write_file(&d.join("nginx.conf"), &conf, 0o644);
        let conf_path = d.join("nginx.conf");
        self.exec_ok(node, &["nginx", "-c", &conf_path.to_string_lossy()]);
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            self.exec(
                node,
                &["curl", "-s", "--max-time", "1", "http://127.0.0.1/"],
            )
            .status
            .success()
                || which("curl").is_none()
        });
        assert!(ok.is_some(), "nginx on {node} does not answer");
    }

    /// Stops nginx inside `node` (`nginx -s stop`, like `systemctl stop nginx`) and waits
    /// until no nginx process is left there.
    pub fn stop_nginx(&self, node: &str) {
        let conf = self.node_dir(node).join("nginx.conf");
        let _ = self.exec(
            node,
            &["nginx", "-c", &conf.to_string_lossy(), "-s", "stop"],
        );
        let gone = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            self.nginx_count(node) == 0
        });
        assert!(gone.is_some(), "nginx on {node} did not stop");
    }

    /// Number of processes named nginx visible inside `node`.
    pub fn nginx_count(&self, node: &str) -> usize {
        let out = self.exec(node, &["pgrep", "-c", "-x", "nginx"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    // -------------------------------------------------------------- daemons

    /// Runs `bin -t -f /etc/keepalived/keepalived.conf` inside `node` (so that scripts and
    /// interfaces the config names are the node's), after writing `conf_text` there.
    pub fn config_test(&self, node: &str, bin: &Path, conf_text: &str) -> Output {
        self.install_etc_file(node, "keepalived.conf", conf_text, 0o644);
        let bin = bin.to_string_lossy();
        self.exec(node, &[&bin, "-t", "-f", "/etc/keepalived/keepalived.conf"])
    }

    /// Starts `bin -n -l -D -f /etc/keepalived/keepalived.conf -p PID -r VRRP_PID EXTRA...`
    /// inside `node`, after writing `conf_text` to that keepalived.conf. stdout and stderr go to
    /// a log file in the node's directory (`DaemonHandle::log`).
    pub fn spawn_daemon(
        &self,
        node: &str,
        bin: &Path,
        conf_text: &str,
        extra_args: &[&str],
    ) -> DaemonHandle {
        self.spawn_daemon_with(node, bin, conf_text, true, extra_args)
    }

    /// [`Lab::spawn_daemon`] without `-D` (`detail` false): no debug/detail lines in the log.
    pub fn spawn_daemon_with(
        &self,
        node: &str,
        bin: &Path,
        conf_text: &str,
        detail: bool,
        extra_args: &[&str],
    ) -> DaemonHandle {
        self.spawn_daemon_pidfiles(node, bin, conf_text, detail, true, extra_args)
    }

    /// [`Lab::spawn_daemon_with`]; without `-p` / `-r` when `pid_args` is false (the daemon
    /// then writes its default pidfiles under /run: give the node its own /run first).
    pub fn spawn_daemon_pidfiles(
        &self,
        node: &str,
        bin: &Path,
        conf_text: &str,
        detail: bool,
        pid_args: bool,
        extra_args: &[&str],
    ) -> DaemonHandle {
        let d = self.node_dir(node);
        self.install_etc_file(node, "keepalived.conf", conf_text, 0o644);
        let k = self.daemon_counter.fetch_add(1, Ordering::SeqCst);
        let log_path = d.join(format!("daemon-{k}.log"));
        let pid_file = d.join("run/daemon.pid");
        let vrrp_pid = d.join("run/vrrp.pid");
        let _ = fs::remove_file(&pid_file);
        let _ = fs::remove_file(&vrrp_pid);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("daemon log");
        let bin_s = bin.to_string_lossy().into_owned();
        let (p1, p2) = (pid_file.to_string_lossy(), vrrp_pid.to_string_lossy());
        let mut args = vec![&*bin_s, "-n", "-l"];
        if detail {
            args.push("-D");
        }
        args.extend_from_slice(&["-f", "/etc/keepalived/keepalived.conf"]);
        if pid_args {
            args.extend_from_slice(&["-p", &p1, "-r", &p2]);
        }
        args.extend_from_slice(extra_args);
        let child = self
            .command(node, &args)
            // Own process group: a Ctrl-C of the test run must not kill nsenter before the
            // daemon (an orphaned daemon would be re-parented outside its PID namespace).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {bin_s} in {node}: {e}"));
        // nsenter forks (to enter the PID namespace) and waits; the daemon is its child.
        let nsenter = child.id() as i32;
        let mut pid = 0;
        wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
            pid = children_of(nsenter).first().copied().unwrap_or(0);
            pid != 0
        });
        self.logs
            .lock()
            .expect("logs")
            .push((node.to_string(), log_path.clone()));
        DaemonHandle {
            node: node.to_string(),
            pid,
            child,
            log: log_path,
        }
    }

    // -------------------------------------------------------------- packet capture

    /// Starts `tcpdump -i IFACE -w FILE FILTER` in network namespace `ns` (a node's
    /// [`Lab::ns`] or [`Lab::lan_ns`]); returns once tcpdump is listening.
    pub fn capture(&self, ns: &str, iface: &str, filter: &str) -> Capture {
        let k = self.daemon_counter.fetch_add(1, Ordering::SeqCst);
        let file = self.dir.join(format!("capture-{k}.pcap"));
        let err_path = self.dir.join(format!("capture-{k}.log"));
        let err = File::create(&err_path).expect("capture log");
        let mut c = Command::new("setpriv");
        c.args([
            "--pdeathsig",
            "KILL",
            "--",
            "ip",
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-i",
            iface,
        ])
        .args(["-U", "--immediate-mode", "-n", "-s", "256", "-w"])
        .arg(&file);
        c.args(filter.split_whitespace());
        let child = c
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn tcpdump");
        let listening = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            fs::read_to_string(&err_path).is_ok_and(|s| s.contains("listening on"))
        });
        assert!(
            listening.is_some(),
            "tcpdump did not start: {}",
            fs::read_to_string(&err_path).unwrap_or_default()
        );
        Capture {
            child: Some(child),
            file,
        }
    }

    fn dump_logs(&self) {
        let logs = self.logs.lock().map(|l| l.clone()).unwrap_or_default();
        for (node, path) in logs {
            let text = fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!(
                "----- {node}: {} (last {} lines)",
                path.display(),
                tail.len()
            );
            for l in tail.iter().rev() {
                eprintln!("  {l}");
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        // SIGKILL of a node's init makes the kernel kill every process in its PID namespace;
        // its parent `unshare` then reaps it and exits (killing `unshare` first would orphan
        // the init to the host's init, leaving a zombie there for a while).
        for n in &self.nodes {
            if n.init > 0 {
                let _ = send_signal(Pid::from_raw(n.init), Signal::SIGKILL);
            }
        }
        for n in &mut self.nodes {
            if wait_child(&mut n.unshare, Duration::from_secs(3)).is_none() {
                // `--kill-child` takes the init down with it.
                let _ = n.unshare.kill();
                let _ = n.unshare.wait();
            }
        }
        let namespaces = self
            .namespaces
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        for ns in namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        if std::env::var_os("RK_KEEP_LAB").is_some() {
            eprintln!("RK_KEEP_LAB: kept {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ------------------------------------------------------------------ daemons

/// A daemon started by [`Lab::spawn_daemon`]. Dropping it kills the daemon (and its children).
pub struct DaemonHandle {
    node: String,
    /// Host pid of the daemon's main process.
    pid: i32,
    /// The `nsenter` parent (exits when the daemon does, with the daemon's status).
    child: Child,
    log: PathBuf,
}

impl DaemonHandle {
    /// Host pid of the daemon's main process (0 if it could not be found).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Sends `sig` to the daemon's main process (like `kill -SIG $(cat pidfile)`).
    pub fn signal(&self, sig: Signal) {
        assert!(self.pid > 0, "daemon pid unknown");
        send_signal(Pid::from_raw(self.pid), sig)
            .unwrap_or_else(|e| panic!("kill -{sig} {}: {e}", self.pid));
    }

    /// SIGKILLs the daemon and every descendant at once (a daemon split into processes, like
    /// keepalived's parent + VRRP child, must not get the chance to shut down cleanly), then
    /// reaps it.
    pub fn kill(&mut self) {
        if self.pid > 0 && self.is_running() {
            // Freeze first so that a parent cannot respawn a child we are about to kill.
            let tree = process_tree(self.pid);
            for p in &tree {
                let _ = send_signal(Pid::from_raw(*p), Signal::SIGSTOP);
            }
            let tree: HashSet<i32> = tree.into_iter().chain(process_tree(self.pid)).collect();
            for p in tree {
                let _ = send_signal(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        // nsenter exits once it has reaped the daemon; killing it first would orphan the dying
        // daemon outside its PID namespace (to the host's init). nsenter mirrors a stopped
        // child by stopping itself, so keep waking it up.
        let nsenter = Pid::from_raw(self.child.id() as i32);
        let reaped = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            let _ = send_signal(nsenter, Signal::SIGCONT);
            !self.is_running()
        });
        if reaped.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Whether the daemon (its nsenter parent) is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the daemon to exit; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.child, timeout)
    }

    /// The daemon's log so far (stdout and stderr).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Waits until the log contains `pattern` (a substring); the elapsed time, or an error
    /// carrying the log.
    pub fn wait_log(&self, pattern: &str, timeout: Duration) -> Result<Duration, String> {
        wait_until(timeout, Duration::from_millis(50), || {
            self.log().contains(pattern)
        })
        .ok_or_else(|| {
            format!(
                "{}: no {pattern:?} in the log after {timeout:?}:\n{}",
                self.node,
                self.log()
            )
        })
    }

    /// Number of log lines containing `pattern`.
    pub fn count_log(&self, pattern: &str) -> usize {
        self.log().lines().filter(|l| l.contains(pattern)).count()
    }
}

impl Drop for DaemonHandle {
    fn drop(&mut self) {
        self.kill();
    }
}

// ------------------------------------------------------------------ captures

/// A running (then stopped) tcpdump; read it with [`Capture::fields`] or [`Capture::text`].
pub struct Capture {
    child: Option<Child>,
    file: PathBuf,
}

impl Capture {
    /// Stops tcpdump (SIGINT, so that it flushes) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = send_signal(Pid::from_raw(c.id() as i32), Signal::SIGINT);
            if wait_child(&mut c, Duration::from_secs(3)).is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    /// Path of the pcap file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// `tshark -r FILE -Y DISPLAY_FILTER -T fields -e F1 -e F2 ...`: one row per packet.
    /// Stops the capture first.
    pub fn fields(&mut self, display_filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        self.stop();
        let mut c = Command::new("tshark");
        c.arg("-r").arg(&self.file).args([
            "-Y",
            display_filter,
            "-T",
            "fields",
            "-E",
            "separator=|",
        ]);
        for f in fields {
            c.args(["-e", f]);
        }
        run_ok(&mut c)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    }

    /// `tcpdump -r FILE -nn -e -tt`: one line per packet. Stops the capture first.
    pub fn text(&mut self) -> String {
        self.stop();
        run_ok(
            Command::new("tcpdump")
                .arg("-r")
                .arg(&self.file)
                .args(["-nn", "-e", "-tt"]),
        )
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}
