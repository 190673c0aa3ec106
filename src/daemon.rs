//! The daemon: one single-threaded mio loop joining `sys/` (the kernel) and the pure core
//! (`vrrp::Node` for the VRRP state machines, `check::Checker` for track scripts).
//!
//! The drain rule lives in [`Daemon::dispatch`]: every event becomes inputs to the core, then
//! every pending action of both core objects is executed (actions may feed the core again, so
//! this repeats until both queues are empty), then the single timerfd is re-armed from the
//! earliest `poll_timeout()`. Spurious wake-ups are harmless: a timeout input before any
//! deadline changes nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use log::{debug, error, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::check::oneshot::{self, OneShot, Step};
use crate::check::{CheckAction, Checker, KillSignal, RunId};
use crate::cli::Args;
use crate::config::{Diagnostic, Severity};
use crate::sys::fifo::NotifyFifo;
use crate::sys::inotify::TrackFiles;
use crate::sys::netlink::{AddrSpec, InterfaceTable, NetEvent, NlMonitor, NlRequests};
use crate::sys::nftables::Firewall;
use crate::sys::notify::Notifier;
use crate::sys::pidfile::{self, PidFile};
use crate::sys::procevents::ProcWatch;
use crate::sys::signal::{self, Signal, SignalFd};
use crate::sys::smtp::Mailer;
use crate::sys::socket::{IpFamily, RecvMode, RecvSocket, SendSocket};
use crate::sys::{link::PacketSender, process, syslog, timer};
use crate::time::{Duration, Instant};
use crate::vrrp::spec::{Family, InstanceSpec, NodeSpec, ScriptCmd};
use crate::vrrp::{Action, Input, LinkState, Node, Notification, RxPacket, TrackerUpdate, wire};

const TOKEN_TIMER: Token = Token(0);
const TOKEN_SIGNAL: Token = Token(1);
const TOKEN_MONITOR: Token = Token(2);
const TOKEN_NLREQ: Token = Token(3);
const TOKEN_FILES: Token = Token(4);
const TOKEN_PROCS: Token = Token(5);
/// Receive sockets use tokens from here on (index into `Daemon::recv`).
const TOKEN_RECV_BASE: usize = 16;
/// E-mail alert connections use tokens from here on (`sys::smtp::Mailer`).
const TOKEN_MAIL_BASE: usize = 1 << 24;

/// A timer firing later than this is logged as a warning (keepalived: "A thread timer expired").
const LATE_TIMER_WARN: Duration = Duration::from_millis(100);

/// keepalived's default umask: IXUSR | IRWXG | IRWXO.
const DEFAULT_UMASK: u32 = 0o177;

/// How long shutdown waits for the kernel to acknowledge VIP removals.
const SHUTDOWN_ACK_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq)]
struct RecvKey {
    ifname: String,
    family: IpFamily,
    mode: RecvMode,
    /// `auth_type AH`: an IP protocol 51 socket instead of 112 (keepalived does the same).
    ah: bool,
}

/// What the loop reacts to.
enum Event {
    Timer,
    Signal(Signal),
    Net(Vec<NetEvent>),
    Packet(RxPacket),
    /// The track_file inotify fd is readable.
    Files,
    /// The track_process source (connector or pidfd set) is readable.
    Procs,
}

struct Daemon<'a> {
    args: &'a Args,
    poll: Poll,
    timer: timer::Timer,
    sigfd: SignalFd,
    monitor: NlMonitor,
    nlreq: NlRequests,
    packet: Option<PacketSender>,
    ifaces: InterfaceTable,
    node: Node,
    checker: Checker,
    spec: NodeSpec,
    /// Error messages of the configuration currently running (reload refuses new errors).
    config_errors: Vec<String>,
    recv: Vec<Option<(RecvKey, RecvSocket)>>,
    send: HashMap<(String, IpFamily), SendSocket>,
    /// Track-script runs: run id -> process group, and pid -> run id.
    runs: HashMap<RunId, i32>,
    run_pids: HashMap<i32, RunId>,
    /// Fire-and-forget notify children (reaped, nothing else).
    notify_pids: HashSet<i32>,
    /// `notify_in_order` owners ("INSTANCE VI_1", "GROUP G1"): the script running now and the
    /// ones waiting for it, and the reverse map from a running pid to its owner.
    notify_queues: HashMap<String, (Option<i32>, VecDeque<ScriptCmd>)>,
    notify_serial: HashMap<i32, String>,
    finished_runs: Vec<RunId>,
    notifier: Option<Notifier>,
    stopping: bool,
    /// track_file watches (None while no file is tracked).
    files: Option<TrackFiles>,
    /// vrrp_track_process source (None while no process is tracked).
    procs: Option<ProcWatch>,
    fifo: Option<NotifyFifo>,
    /// keepalived's nftables tables for VIPs without accept mode (opened at the first
    /// BlockVip; `firewall_failed` once that could not be done, so it is said once).
    firewall: Option<Firewall>,
    firewall_failed: bool,
    /// A VMAC appeared: the receive sockets need another look after the drain.
    sockets_dirty: bool,
    /// `rp_filter` values changed for the VMACs, restored at exit.
    rp_filter: crate::sys::vmac::RpFilter,
    /// `smtp_alert` mails in flight.
    mailer: Mailer,
    /// keepalived compat: `startup_script` runs before VRRP starts and VRRP waits for it (up
    /// to its timeout): its pid and timeout policy while it runs. Meanwhile `node` and
    /// `checker` are empty placeholders, and no VRRP socket is open.
    startup: Option<(i32, OneShot)>,
    /// VRRP has started (the startup script, if any, is over).
    vrrp_started: bool,
}

/// Run the daemon until SIGTERM/SIGINT. Returns the process exit code.
pub fn run(args: &Args, spec: NodeSpec, diags: Vec<Diagnostic>) -> i32 {
    // Signals first: the signalfd only works if they are blocked before anything can fork
    // or start a thread, and children inherit the mask (process::spawn clears it).
    if let Err(e) = signal::block_all_before_threads() {
        eprintln!("rkeepalived: {e}");
        return 1;
    }
    if !args.dont_fork
        && let Err(e) = crate::sys::daemonize::daemonize()
    {
        eprintln!("rkeepalived: cannot daemonize: {e}");
        return 1;
    }
    init_logging(args);
    info!(
        "Starting rkeepalived {} (keepalived-compatible VRRP daemon)",
        env!("CARGO_PKG_VERSION")
    );
    // keepalived compat: `net_namespace NAME` is entered before anything else touches the
    // network, and the configuration is read again inside (its interface checks).
    let (spec, diags) = match spec.globals.net_namespace.clone() {
        None => (spec, diags),
        Some(ns) => match crate::sys::netns::enter(&ns) {
            Err(e) => {
                error!("{e}");
                error!("Unable to set network namespace {ns} - exiting");
                log::logger().flush();
                // keepalived 2.2.7 compat (observed): this exit status is 0.
                return 0;
            }
            Ok(warnings) => {
                for w in warnings {
                    warn!("{w}");
                }
                info!("Running in network namespace {ns}");
                match crate::cli::load_config(args) {
                    Ok(x) => x,
                    Err(e) => {
                        for d in &e.diagnostics {
                            log_diagnostic(d);
                        }
                        error!("{e}");
                        return e.exit_code;
                    }
                }
            }
        },
    };
    for d in &diags {
        log_diagnostic(d);
    }
    for e in crate::sys::sched::apply(&spec.globals.sched) {
        error!("{e}");
    }
    if let Some(name) = &spec.globals.process_name
        && let Err(e) = crate::sys::sched::set_process_name(name)
    {
        error!("{e}");
    }
    // keepalived compat: files we create (pidfiles, dumps with the VRRP password, FIFO, log)
    // get -u, else the config's umask, else IXUSR|IRWXG|IRWXO.
    let umask = match args.umask.as_deref().map(crate::config::model::parse_umask) {
        Some(Some(m)) => m,
        Some(None) => {
            error!("invalid -u/--umask value; using the configuration's");
            spec.globals.umask.unwrap_or(DEFAULT_UMASK)
        }
        None => spec.globals.umask.unwrap_or(DEFAULT_UMASK),
    };
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask as _));
    let paths = spec
        .globals
        .pid_paths(args.pid.as_deref(), args.vrrp_pid.as_deref());
    let pid_path = PathBuf::from(&paths.parent);
    let vrrp_pid_path = PathBuf::from(&paths.vrrp);
    let remove_dirs = || {
        for dir in paths.dirs.iter().rev() {
            pidfile::remove_dir_if_empty(Path::new(dir));
        }
    };
    for dir in &paths.dirs {
        if let Err(e) = pidfile::make_dir(Path::new(dir)) {
            error!("{e}");
        }
    }
    for p in [&pid_path, &vrrp_pid_path] {
        if let Some(other) = pidfile::running_pid(p)
            && other != std::process::id() as i32
        {
            error!(
                "daemon is already running (pid {other} in {}); not starting",
                p.display()
            );
            remove_dirs();
            return 1;
        }
    }
    let pidfiles: Vec<PidFile> = match [&pid_path, &vrrp_pid_path]
        .iter()
        .map(|p| PidFile::create(p))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v,
        Err(e) => {
            error!("{e}");
            remove_dirs();
            return 1;
        }
    };
    let code = match Daemon::new(args, spec, &diags) {
        Ok(mut d) => d.run_loop(),
        Err(e) => {
            error!("cannot start: {e}");
            1
        }
    };
    for p in pidfiles {
        if let Err(e) = p.remove() {
            warn!("{e}");
        }
    }
    remove_dirs();
    info!("Stopped");
    log::logger().flush();
    code
}

fn init_logging(args: &Args) {
    let facility = args
        .log_facility
        .as_deref()
        .and_then(syslog::Facility::parse)
        .unwrap_or(syslog::Facility::Daemon);
    let log_file = (args.log_file || args.log_file_name.is_some()).then(|| {
        let base = match &args.log_file_name {
            Some(f) => PathBuf::from(f),
            None => tmp_dir().join("keepalived.log"),
        };
        vrrp_log_path(&base)
    });
    let cfg = syslog::LogConfig {
        facility,
        syslog: !args.no_syslog,
        console: args.log_console,
        detail: args.log_detail,
        log_file,
        flush_log_file: args.flush_log_file,
        ..syslog::LogConfig::default()
    };
    // A second init (tests calling run twice) keeps the first logger.
    let _ = syslog::init(cfg);
}

/// keepalived compat: each process of keepalived logs `-g FILE` to FILE with its subsystem
/// inserted before the extension; rkeepalived is the VRRP process, so `/tmp/keepalived.log`
/// becomes `/tmp/keepalived_vrrp.log`, where keepalived users already look for VRRP lines.
fn vrrp_log_path(base: &Path) -> PathBuf {
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let new = match name.rfind('.') {
        Some(i) if i > 0 => format!("{}_vrrp{}", &name[..i], &name[i..]),
        _ => format!("{name}_vrrp"),
    };
    base.with_file_name(new)
}

fn log_diagnostic(d: &Diagnostic) {
    match d.severity {
        Severity::Error => error!("{d}"),
        Severity::Warning => warn!("{d}"),
        Severity::Note => info!("{d}"),
    }
}

fn config_errors(diags: &[Diagnostic]) -> Vec<String> {
    let mut v: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    v.sort();
    v
}

fn family_of(f: Family) -> IpFamily {
    match f {
        Family::V4 => IpFamily::V4,
        Family::V6 => IpFamily::V6,
    }
}

fn recv_key(i: &InstanceSpec) -> RecvKey {
    let mode = if i.is_unicast() {
        RecvMode::Unicast {
            local: i.unicast_src,
        }
    } else {
        RecvMode::Multicast { group: i.mcast_dst }
    };
    RecvKey {
        ifname: i.xmit_ifname().to_string(),
        family: family_of(i.family),
        mode,
        ah: matches!(i.auth, crate::vrrp::spec::Auth::Ah(_)) && i.family == Family::V4,
    }
}

/// `$TMPDIR` if it is an absolute existing directory, else /tmp (keepalived's rule).
fn tmp_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if Path::new(&d).is_absolute() && Path::new(&d).is_dir() => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// Write `text` to `path` through a temporary file and rename, so readers never see half.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Every VIP and eVIP of the configuration.
fn own_vips(spec: &NodeSpec) -> HashSet<IpAddr> {
    spec.instances
        .iter()
        .flat_map(|i| i.vips.iter().chain(i.excluded_vips.iter()))
        .map(|v| v.addr)
        .collect()
}

/// The core's view of an interface. keepalived compat: our own VIPs are not the interface's
/// addresses, so a VIP never becomes an instance's source address — a MASTER whose real
/// address is deleted goes FAULT ("no IPv4 address for interface") instead of advertising
/// from its VIP, and a VIP link-local is never picked as the IPv6 source.
fn link_state(i: &crate::sys::netlink::Interface, vips: &HashSet<IpAddr>) -> LinkState {
    let unusable = libc::IFA_F_TENTATIVE | libc::IFA_F_DADFAILED;
    LinkState {
        ifname: i.name.clone(),
        ifindex: i.ifindex,
        exists: true,
        up: i.up,
        mac: i.mac,
        mtu: i.mtu,
        ipv4: i
            .ipv4_addrs()
            .into_iter()
            .filter(|a| !vips.contains(&IpAddr::V4(*a)))
            .collect(),
        ipv6_ll: i
            .ipv6
            .iter()
            .find(|a| {
                a.0.segments()[0] & 0xffc0 == 0xfe80
                    && a.2 & unusable == 0
                    && !vips.contains(&IpAddr::V6(a.0))
            })
            .map(|a| a.0),
    }
}

impl<'a> Daemon<'a> {
    fn new(args: &'a Args, spec: NodeSpec, diags: &[Diagnostic]) -> Result<Self, String> {
        let s = |e: crate::sys::SysError| e.to_string();
        let poll = Poll::new().map_err(|e| format!("epoll_create: {e}"))?;
        let timer = timer::Timer::new().map_err(s)?;
        let sigfd = SignalFd::new().map_err(s)?;
        // The monitor opens before the dump so no change in between is missed.
        let monitor = NlMonitor::open().map_err(s)?;
        let nlreq = NlRequests::open().map_err(s)?;
        let ifaces = InterfaceTable::load().map_err(s)?;
        let packet = match PacketSender::open() {
            Ok(p) => Some(p),
            Err(e) => {
                warn!("gratuitous ARP / NA disabled: {e}");
                None
            }
        };
        let now = timer::now();
        // With a startup script the real core is made when it is over (so that timers such
        // as vrrp_startup_delay count from VRRP's start); until then an empty one.
        let waits = spec.globals.startup_script.is_some();
        let mut node = if waits {
            Node::new(NodeSpec::default(), now)
        } else {
            Node::new(spec.clone(), now)
        };
        node.set_epoch_offset(epoch_offset_us(now));
        let checker = Checker::new(if waits { &[] } else { &spec.scripts }, now);
        let reg = poll.registry();
        let r = |fd: i32, t: Token, what: &str| {
            reg.register(&mut SourceFd(&fd), t, Interest::READABLE)
                .map_err(|e| format!("epoll_ctl(ADD) {what}: {e}"))
        };
        r(timer.as_raw_fd(), TOKEN_TIMER, "timerfd")?;
        r(sigfd.as_raw_fd(), TOKEN_SIGNAL, "signalfd")?;
        r(monitor.as_raw_fd(), TOKEN_MONITOR, "netlink monitor")?;
        r(nlreq.as_raw_fd(), TOKEN_NLREQ, "netlink requests")?;
        let notifier = match Notifier::from_env() {
            Ok(n) => n,
            Err(e) => {
                warn!("sd_notify disabled: {e}");
                None
            }
        };
        let mut d = Daemon {
            args,
            poll,
            timer,
            sigfd,
            monitor,
            nlreq,
            packet,
            ifaces,
            node,
            checker,
            spec,
            config_errors: config_errors(diags),
            recv: Vec::new(),
            send: HashMap::new(),
            runs: HashMap::new(),
            run_pids: HashMap::new(),
            notify_pids: HashSet::new(),
            notify_queues: HashMap::new(),
            notify_serial: HashMap::new(),
            finished_runs: Vec::new(),
            notifier,
            stopping: false,
            firewall: None,
            firewall_failed: false,
            files: None,
            procs: None,
            fifo: None,
            sockets_dirty: false,
            rp_filter: Default::default(),
            mailer: Mailer::new(TOKEN_MAIL_BASE),
            startup: None,
            vrrp_started: false,
        };
        if let Some(cmd) = d.spec.globals.startup_script.clone() {
            info!("Running startup script {}", cmd.argv[0]);
            match process::spawn(&cmd, &[]) {
                Ok(child) => {
                    let run = OneShot::start(now, d.spec.globals.startup_script_timeout);
                    d.startup = Some((child.pgid, run));
                    d.rearm();
                    return Ok(d);
                }
                Err(e) => error!("startup script: {e}"),
            }
        }
        d.start_vrrp(now, waits);
        Ok(d)
    }

    /// Start VRRP: the core (made anew when `fresh_core`, i.e. after a startup script), the
    /// notify FIFO, the trackers, the interfaces and the sockets.
    fn start_vrrp(&mut self, now: Instant, fresh_core: bool) {
        let d = self;
        d.vrrp_started = true;
        if fresh_core {
            d.node = Node::new(d.spec.clone(), now);
            d.node.set_epoch_offset(epoch_offset_us(now));
            d.checker = Checker::new(&d.spec.scripts, now);
        }
        d.open_fifo();
        // Tracker values before the interfaces, so no instance starts on a stale verdict.
        d.sync_trackers(now, false);
        let vips = own_vips(&d.spec);
        let links: Vec<LinkState> = d.ifaces.iter().map(|i| link_state(i, &vips)).collect();
        for l in links {
            d.node.handle(now, Input::Link(l));
        }
        for name in d.node.interfaces() {
            if d.ifaces.by_name(&name).is_none() {
                d.node.handle(
                    now,
                    Input::Link(LinkState {
                        ifname: name.clone(),
                        exists: false,
                        ..LinkState::default()
                    }),
                );
                warn!("interface {name} does not exist (yet): its instances stay in FAULT");
            }
        }
        d.sync_sockets();
        d.drain(now);
        d.rearm();
    }

    /// sd_notify READY=1, once VRRP has started.
    fn ready(&self) {
        if let Some(n) = &self.notifier
            && let Err(e) = n.ready()
        {
            warn!("{e}");
        }
    }

    /// The startup script is over (exited or killed): VRRP starts.
    fn startup_finished(&mut self, now: Instant) {
        self.startup = None;
        self.start_vrrp(now, true);
        self.ready();
    }

    /// The startup script's timeout policy: SIGTERM at the timeout, SIGKILL 2 s later, and
    /// then VRRP starts without waiting further.
    fn startup_timeout(&mut self, now: Instant) {
        let Some((pgid, run)) = &mut self.startup else {
            return;
        };
        let pgid = *pgid;
        match run.handle_timeout(now) {
            Some(Step::TimedOut(sig)) => {
                info!("startup script timed out");
                let _ = process::kill_group(pgid, sig);
            }
            Some(Step::Killed) => {
                let _ = process::kill_group(pgid, KillSignal::Kill);
                self.startup_finished(now);
            }
            _ => {}
        }
    }

    /// keepalived compat: `shutdown_script` runs once VRRP has stopped (VIPs removed), also
    /// when a stop came during the startup script, and the
    /// exit waits for it, up to its timeout (then SIGTERM, and SIGKILL 2 s later). The event
    /// loop has ended: only the signalfd is read (SIGCHLD), so this wait is bounded and
    /// nothing else is left to serve.
    fn run_shutdown_script(&mut self, cmd: &ScriptCmd) {
        info!("Running shutdown script {}", cmd.argv[0]);
        // Signals queued so far (e.g. notify scripts' SIGCHLD) must not hide the next ones.
        while let Ok(Some(_)) = self.sigfd.read() {}
        let child = match process::spawn(cmd, &[]) {
            Ok(c) => c,
            Err(e) => {
                error!("shutdown script: {e}");
                return;
            }
        };
        let mut run = OneShot::start(timer::now(), self.spec.globals.shutdown_script_timeout);
        let mut events = Events::with_capacity(8);
        loop {
            for (pid, status) in process::reap() {
                if pid == child.pid
                    && let Some(Step::Finished(st)) = run.handle_exit(status)
                    && let Some(line) = oneshot::outcome_line("shutdown", st)
                {
                    info!("{line}");
                }
            }
            let now = timer::now();
            match run.handle_timeout(now) {
                Some(Step::TimedOut(sig)) => {
                    info!("shutdown script timed out");
                    let _ = process::kill_group(child.pgid, sig);
                }
                Some(Step::Killed) => {
                    let _ = process::kill_group(child.pgid, KillSignal::Kill);
                }
                _ => {}
            }
            let Some(deadline) = run.poll_timeout() else {
                break;
            };
            // SIGCHLD wakes the poll; the cap covers a signal merged into one already read.
            let wait = (deadline - now)
                .to_std()
                .min(std::time::Duration::from_millis(100));
            let _ = self.poll.poll(&mut events, Some(wait));
            while let Ok(Some(_)) = self.sigfd.read() {}
        }
        let _ = process::reap();
    }

    fn run_loop(&mut self) -> i32 {
        if self.vrrp_started {
            self.ready();
        }
        let mut events = Events::with_capacity(64);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                error!("epoll_wait: {e}");
                return 1;
            }
            let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for t in tokens {
                match t {
                    TOKEN_TIMER => {
                        match self.timer.read() {
                            Ok(_) => {}
                            Err(e) => warn!("{e}"),
                        }
                        self.dispatch(Event::Timer);
                    }
                    TOKEN_SIGNAL => loop {
                        match self.sigfd.read() {
                            Ok(Some(sig)) => self.dispatch(Event::Signal(sig)),
                            Ok(None) => break,
                            Err(e) => {
                                warn!("{e}");
                                break;
                            }
                        }
                    },
                    TOKEN_MONITOR => match self.monitor.read_events() {
                        Ok(evs) if !evs.is_empty() => self.dispatch(Event::Net(evs)),
                        Ok(_) => {}
                        Err(e) => warn!("{e}"),
                    },
                    TOKEN_NLREQ => self.read_acks(),
                    TOKEN_FILES => self.dispatch(Event::Files),
                    TOKEN_PROCS => self.dispatch(Event::Procs),
                    t if self.mailer.owns(t) => {
                        // Mail progress feeds nothing to the core: only its deadlines move.
                        self.mailer.ready(self.poll.registry(), t, timer::now());
                        self.rearm();
                    }
                    Token(n) if n >= TOKEN_RECV_BASE => self.read_socket(n - TOKEN_RECV_BASE),
                    _ => {}
                }
                if self.stopping {
                    return self.finish_shutdown();
                }
            }
        }
    }

    fn read_socket(&mut self, idx: usize) {
        loop {
            let Some(Some((key, sock))) = self.recv.get_mut(idx) else {
                return;
            };
            let family = match key.family {
                IpFamily::V4 => Family::V4,
                IpFamily::V6 => Family::V6,
            };
            let ifname = key.ifname.clone();
            let ipsec_ah = key.ah;
            match sock.recv() {
                Ok(Some(r)) => self.dispatch(Event::Packet(RxPacket {
                    ifname,
                    family,
                    src: r.src,
                    dst: r.dst,
                    ttl: r.ttl,
                    payload: r.payload,
                    ipsec_ah,
                })),
                Ok(None) => return,
                Err(e) => {
                    warn!("{e}");
                    return;
                }
            }
        }
    }

    fn read_acks(&mut self) {
        match self.nlreq.poll_acks() {
            Ok(acks) => {
                for a in acks {
                    match (&a.result, a.benign) {
                        (Ok(()), None) => debug!("{a}"),
                        // EEXIST on add / EADDRNOTAVAIL on delete (e.g. the startup clean-up
                        // of VIPs we do not hold): expected, keepalived says nothing.
                        (_, Some(_)) => log::trace!("{a}"),
                        (Err(_), None) => error!("{a}"),
                    }
                }
                for a in self.nlreq.take_route_acks() {
                    match (&a.result, a.benign) {
                        (Ok(()), None) => debug!("{a}"),
                        (_, Some(_)) => log::trace!("{a}"),
                        (Err(_), None) => error!("{a}"),
                    }
                }
            }
            Err(e) => warn!("{e}"),
        }
    }

    /// The one place where inputs reach the core: one event, then drain, then re-arm.
    fn dispatch(&mut self, ev: Event) {
        let now = timer::now();
        match ev {
            Event::Timer => {
                if let Some(deadline) = self.earliest()
                    && now > deadline
                {
                    let late = now - deadline;
                    if late > LATE_TIMER_WARN {
                        warn!("timer expired {} ms late", late.as_millis());
                    }
                }
                self.node.handle(now, Input::Timeout);
                self.checker.handle_timeout(now);
                self.mailer.handle_timeout(self.poll.registry(), now);
                if let Some(p) = &mut self.procs {
                    p.handle_timeout(now);
                }
                self.feed_procs(now);
                self.startup_timeout(now);
            }
            Event::Files => {
                let ups = self.files.as_mut().map(|f| f.read_events());
                for u in ups.unwrap_or_default() {
                    self.node.handle(now, Input::Tracker(u));
                }
            }
            Event::Procs => {
                if let Some(p) = &mut self.procs {
                    p.on_readable(now);
                }
                self.feed_procs(now);
            }
            Event::Packet(p) => self.node.handle(now, Input::Packet(p)),
            Event::Net(evs) => self.on_net_events(now, evs),
            Event::Signal(sig) => self.on_signal(now, sig),
        }
        self.drain(now);
        for run in std::mem::take(&mut self.finished_runs) {
            self.runs.remove(&run);
        }
        self.rearm();
    }

    fn earliest(&self) -> Option<Instant> {
        [
            self.node.poll_timeout(),
            self.checker.poll_timeout(),
            self.procs.as_ref().and_then(|p| p.poll_timeout()),
            self.mailer.poll_timeout(),
            self.startup.as_ref().and_then(|(_, r)| r.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Pending process-count reports to the core.
    fn feed_procs(&mut self, now: Instant) {
        while let Some(u) = self.procs.as_mut().and_then(|p| p.poll_update()) {
            self.node.handle(now, Input::Tracker(u));
        }
    }

    /// Start, reconfigure or stop the track_file and track_process sources for `self.spec`,
    /// feeding the resulting values to the core.
    fn sync_trackers(&mut self, now: Instant, reload: bool) {
        let reg = self.poll.registry();
        let files = &self.spec.track_files;
        match (&mut self.files, files.is_empty()) {
            (Some(f), false) => {
                for u in f.reload(files) {
                    self.node.handle(now, Input::Tracker(u));
                }
            }
            (Some(f), true) => {
                let _ = reg.deregister(&mut SourceFd(&f.as_raw_fd()));
                self.files = None;
            }
            (None, false) => match TrackFiles::start(files) {
                Ok((f, ups)) => {
                    if let Err(e) = reg.register(
                        &mut SourceFd(&f.as_raw_fd()),
                        TOKEN_FILES,
                        Interest::READABLE,
                    ) {
                        error!("epoll_ctl(ADD) inotify: {e}");
                    }
                    self.files = Some(f);
                    for u in ups {
                        self.node.handle(now, Input::Tracker(u));
                    }
                }
                Err(e) => error!("track files: {e}"),
            },
            (None, true) => {}
        }
        let procs = &self.spec.track_processes;
        match (&mut self.procs, procs.is_empty()) {
            (Some(p), _) if reload => p.reload(procs, now),
            (Some(_), _) => {}
            (None, false) => match ProcWatch::start(procs, now) {
                Ok(p) => {
                    if let Err(e) = reg.register(
                        &mut SourceFd(&p.as_raw_fd()),
                        TOKEN_PROCS,
                        Interest::READABLE,
                    ) {
                        error!("epoll_ctl(ADD) process events: {e}");
                    }
                    self.procs = Some(p);
                }
                Err(e) => error!("track processes: {e}"),
            },
            (None, true) => {}
        }
        self.feed_procs(now);
    }

    /// Open the notify FIFO (starting `notify_fifo_script` with its name appended) if the
    /// configuration names one and it is not open yet.
    fn open_fifo(&mut self) {
        let want = self.spec.globals.notify_fifo.clone();
        if self
            .fifo
            .as_ref()
            .map(|f| f.path().to_string_lossy().into_owned())
            == want
        {
            return;
        }
        self.fifo = None;
        let Some(path) = want else { return };
        let script = self.spec.globals.notify_fifo_script.clone();
        // The reader runs for the daemon's lifetime: not waited for at shutdown (closing
        // the FIFO ends its input; PDEATHSIG ends it with us).
        let r = NotifyFifo::open(&path, || {
            if let Some(mut cmd) = script {
                cmd.argv.push(path.clone());
                if let Err(e) = process::spawn(&cmd, &[]) {
                    warn!("notify_fifo_script: {e}");
                }
            }
        });
        match r {
            Ok(f) => self.fifo = Some(f),
            Err(e) => error!("Unable to open notify fifo: {e}"),
        }
    }

    fn rearm(&mut self) {
        let r = match self.earliest() {
            Some(t) => self.timer.arm(t),
            None => self.timer.disarm(),
        };
        if let Err(e) = r {
            error!("{e}");
        }
    }

    /// Execute every pending action of both core objects until neither has any left.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(a) = self.node.poll_action() {
                progressed = true;
                self.execute(a);
            }
            while let Some(c) = self.checker.poll_action() {
                progressed = true;
                self.execute_check(now, c);
            }
            if !progressed {
                break;
            }
        }
        if std::mem::take(&mut self.sockets_dirty) {
            self.sync_sockets();
        }
    }

    fn execute(&mut self, a: Action) {
        match a {
            Action::SendAdvert {
                instance,
                ifname,
                src,
                dst,
                ttl,
                advert,
                checksum,
                ah,
                ip_id,
            } => {
                let bytes = wire::emit(&advert, &checksum);
                let fam = IpFamily::of(&dst);
                if !self.send.contains_key(&(ifname.clone(), fam)) {
                    self.open_send(&ifname, fam);
                }
                match self.send.get(&(ifname.clone(), fam)) {
                    Some(s) => {
                        let sent = match (ah, src, dst) {
                            (Some(seal), IpAddr::V4(s4), IpAddr::V4(d4)) => {
                                let dgram = crate::vrrp::ah::emit_ipv4(
                                    s4, d4, ttl, seal.seq, &seal.key, &bytes,
                                );
                                s.send_ipv4_packet(d4, &dgram)
                            }
                            _ => s.send(src, dst, ttl, ip_id, &bytes),
                        };
                        if let Err(e) = sent {
                            warn!("({instance}) cannot send advert: {e}");
                        }
                    }
                    None => debug!("({instance}) no send socket on {ifname}"),
                }
            }
            Action::AddVip {
                instance,
                ifname,
                vip,
            } => self.vip_request(&instance, &ifname, &vip, true),
            Action::DelVip {
                instance,
                ifname,
                vip,
            } => self.vip_request(&instance, &ifname, &vip, false),
            Action::SendGarp { ifname, addr } => self.send_garp(&ifname, addr),
            Action::Notify(n) => self.notify(&n),
            Action::BlockVip {
                instance,
                ifname,
                addr,
            } => self.firewall_request(&instance, &ifname, addr, true),
            Action::UnblockVip {
                instance,
                ifname,
                addr,
            } => self.firewall_request(&instance, &ifname, addr, false),
            Action::AddRoute { instance, route } => self.route_request(&instance, &route, true),
            Action::DelRoute { instance, route } => self.route_request(&instance, &route, false),
            Action::AddRule { instance, rule } => self.rule_request(&instance, &rule, true),
            Action::DelRule { instance, rule } => self.rule_request(&instance, &rule, false),
            Action::CreateVmac {
                instance,
                name,
                parent,
                mac,
                family,
            } => self.create_vmac(&instance, &name, &parent, mac, family),
            Action::DeleteVmac { instance, name } => {
                if let Some(idx) = self.ifaces.by_name(&name).map(|i| i.ifindex)
                    && let Some(fw) = self.firewall.as_mut()
                    && let Err(e) = fw.del_vmac(idx)
                {
                    error!("({instance}) {e}");
                }
                match crate::sys::vmac::delete(&name) {
                    Ok(()) => info!("({instance}) Success removing VMAC interface {name}"),
                    Err(e) => error!("({instance}) cannot remove VMAC interface {name}: {e}"),
                }
            }
        }
    }

    /// `use_vmac`: create the macvlan (blocking: VIPs may be added to it by the very next
    /// action), record it in the interface table, and report its state to the core.
    fn create_vmac(&mut self, instance: &str, name: &str, parent: &str, mac: [u8; 6], f: Family) {
        let now = timer::now();
        let missing = LinkState {
            ifname: name.to_string(),
            exists: false,
            ..LinkState::default()
        };
        let Some((pidx, parent_ll)) = self
            .ifaces
            .by_name(parent)
            .map(|i| (i.ifindex, i.ipv6_ll()))
        else {
            warn!(
                "({instance}) cannot create VMAC interface {name}: interface {parent} does not exist"
            );
            self.node.handle(now, Input::Link(missing));
            return;
        };
        let fam = match f {
            Family::V4 => {
                // keepalived compat: all.rp_filter is lowered before the first VMAC exists.
                self.rp_filter.adjust();
                crate::sys::vmac::VmacFamily::V4
            }
            Family::V6 => crate::sys::vmac::VmacFamily::V6,
        };
        match crate::sys::vmac::create(name, parent, pidx, mac, fam) {
            Ok(ev) => {
                info!("({instance}): Success creating VMAC interface {name}");
                let ifindex = ev.ifindex;
                // keepalived compat: its nftables rules keep a VMAC's multicast listener
                // reports (and IPv6 router solicitations) off the wire.
                if let Some(fw) = self.firewall(instance)
                    && let Err(e) = fw.add_vmac(ifindex, pidx, f == Family::V6)
                {
                    error!("({instance}) {e}");
                }
                self.ifaces.apply(&NetEvent::Link(ev));
                if f == Family::V6
                    && let Some(ll) = parent_ll
                {
                    // keepalived compat: the parent's link-local, deprecated and without DAD,
                    // so adverts may leave the VMAC from the parent's address.
                    let mut a = AddrSpec::new(name, ifindex, IpAddr::V6(ll), 64);
                    a.scope = libc::RT_SCOPE_LINK;
                    a.nodad = true;
                    a.preferred_lft = Some(0);
                    if let Err(e) = self.nlreq.add_address(&a) {
                        error!("({instance}) {e}");
                    }
                }
                self.sockets_dirty = true;
                let vips = own_vips(&self.spec);
                if let Some(l) = self.ifaces.get(ifindex).map(|i| link_state(i, &vips)) {
                    self.node.handle(now, Input::Link(l));
                }
            }
            Err(e) => {
                error!("({instance}) cannot create VMAC interface {name}: {e}");
                self.node.handle(now, Input::Link(missing));
            }
        }
    }

    /// keepalived's nftables tables (no accept mode, VMACs), opened at the first need.
    fn firewall(&mut self, instance: &str) -> Option<&mut Firewall> {
        if self.firewall.is_none() && !self.firewall_failed {
            match Firewall::open(&self.spec.globals.nftables) {
                Ok(f) => {
                    info!(
                        "using nftables (table {}) for no_accept/strict and VMACs",
                        self.spec.globals.nftables.table
                    );
                    self.firewall = Some(f);
                }
                Err(e) => {
                    error!("({instance}) cannot set up the nftables firewall: {e}");
                    self.firewall_failed = true;
                }
            }
        }
        self.firewall.as_mut()
    }

    /// No accept mode: add or remove a VIP in keepalived's nftables sets.
    fn firewall_request(&mut self, instance: &str, ifname: &str, addr: IpAddr, block: bool) {
        if !block && self.firewall.is_none() {
            return;
        }
        let ifindex = self.ifaces.by_name(ifname).map_or(0, |i| i.ifindex);
        let Some(fw) = self.firewall(instance) else {
            return;
        };
        let r = if block {
            fw.block(addr, ifindex)
        } else {
            fw.unblock(addr, ifindex)
        };
        if let Err(e) = r {
            error!("({instance}) {e}");
        }
    }

    /// `virtual_routes`: resolve `dev` to its ifindex; with no `dev` the kernel picks the
    /// interface from the gateway.
    fn route_request(&mut self, instance: &str, r: &crate::vrrp::spec::RouteSpec, add: bool) {
        let ifindex = match &r.dev {
            None => None,
            Some(dev) => match self.ifaces.by_name(dev) {
                Some(i) => Some(i.ifindex),
                None => {
                    warn!("({instance}) cannot install route {r}: interface {dev} does not exist");
                    return;
                }
            },
        };
        let res = if add {
            self.nlreq.add_route(r, ifindex)
        } else {
            self.nlreq.del_route(r, ifindex)
        };
        if let Err(e) = res {
            error!("({instance}) {e}");
        }
    }

    fn vip_request(
        &mut self,
        instance: &str,
        ifname: &str,
        vip: &crate::vrrp::spec::VipSpec,
        add: bool,
    ) {
        let dev = vip.dev.as_deref().unwrap_or(ifname);
        let Some(ifindex) = self.ifaces.by_name(dev).map(|i| i.ifindex) else {
            warn!(
                "({instance}) cannot {} {}/{}: interface {dev} does not exist",
                if add { "add" } else { "remove" },
                vip.addr,
                vip.prefix_len
            );
            return;
        };
        let spec = AddrSpec::from_vip(dev, ifindex, vip);
        let r = if add {
            self.nlreq.add_address(&spec)
        } else {
            self.nlreq.del_address(&spec)
        };
        if let Err(e) = r {
            error!("({instance}) {e}");
        }
    }

    fn rule_request(&mut self, instance: &str, r: &crate::vrrp::spec::RuleSpec, add: bool) {
        let res = if add {
            self.nlreq.add_rule(r)
        } else {
            self.nlreq.del_rule(r)
        };
        if let Err(e) = res {
            error!("({instance}) {e}");
        }
    }

    fn send_garp(&mut self, ifname: &str, addr: IpAddr) {
        let Some(pkt) = &self.packet else { return };
        let Some(iface) = self.ifaces.by_name(ifname) else {
            return;
        };
        let frame = match addr {
            IpAddr::V4(v4) => crate::vrrp::arp::garp_frame(iface.mac, v4).to_vec(),
            IpAddr::V6(v6) => {
                crate::vrrp::ndisc::unsolicited_na_frame(iface.mac, v6, ipv6_forwarding(ifname))
            }
        };
        if let Err(e) = pkt.send_frame(iface.ifindex, &frame) {
            warn!("cannot send gratuitous ARP/NA for {addr} on {ifname}: {e}");
        }
    }

    fn notify(&mut self, n: &Notification) {
        if n.in_order {
            let key = format!("{} {}", n.kind, n.name);
            let q = self.notify_queues.entry(key.clone()).or_default();
            q.1.extend(n.scripts.iter().cloned());
            self.start_next_notify(&key);
        } else {
            // keepalived compat: fire and forget; scripts may run concurrently.
            for cmd in &n.scripts {
                match process::spawn(cmd, &[]) {
                    Ok(child) => {
                        self.notify_pids.insert(child.pid);
                    }
                    Err(e) => warn!("{e}"),
                }
            }
        }
        if let Some(f) = &mut self.fifo {
            f.write_line(&n.fifo_line());
        }
        if n.mail
            && let Some(cfg) = &self.spec.globals.smtp
        {
            let date = crate::sys::smtp::local_date();
            let subject = crate::mail::subject(&cfg.router_id, n.kind, &n.name, n.state);
            let message = crate::mail::message(cfg, n.kind, &n.name, n.state, &date);
            self.mailer
                .start(self.poll.registry(), timer::now(), cfg, subject, message);
        }
    }

    /// `notify_in_order`: start the next queued script of `key` unless one is still running.
    fn start_next_notify(&mut self, key: &str) {
        let Some(q) = self.notify_queues.get_mut(key) else {
            return;
        };
        if q.0.is_some() {
            return;
        }
        while let Some(cmd) = q.1.pop_front() {
            match process::spawn(&cmd, &[]) {
                Ok(child) => {
                    q.0 = Some(child.pid);
                    self.notify_pids.insert(child.pid);
                    self.notify_serial.insert(child.pid, key.to_string());
                    return;
                }
                Err(e) => warn!("{e}"),
            }
        }
    }

    /// A notify script exited: forget it, and start the next one of its owner's queue.
    fn notify_exited(&mut self, pid: i32) {
        self.notify_pids.remove(&pid);
        if let Some(key) = self.notify_serial.remove(&pid) {
            if let Some(q) = self.notify_queues.get_mut(&key) {
                q.0 = None;
            }
            self.start_next_notify(&key);
        }
    }

    fn execute_check(&mut self, now: Instant, c: CheckAction) {
        match c {
            CheckAction::Spawn { run, script, cmd } => match process::spawn(&cmd, &[]) {
                Ok(child) => {
                    self.runs.insert(run, child.pgid);
                    self.run_pids.insert(child.pid, run);
                }
                Err(e) => {
                    warn!("VRRP_Script({script}) {e}");
                    self.checker.handle_spawn_failed(now, run);
                }
            },
            CheckAction::Kill { run, signal } => {
                if let Some(&pgid) = self.runs.get(&run)
                    && let Err(e) = process::kill_group(pgid, signal)
                {
                    debug!("kill process group {pgid}: {e}");
                }
            }
            CheckAction::Result { script, ok } => self.node.handle(
                now,
                Input::Tracker(TrackerUpdate::Script { name: script, ok }),
            ),
        }
    }

    fn reap(&mut self, now: Instant) {
        for (pid, status) in process::reap() {
            if let Some((spid, run)) = &mut self.startup
                && *spid == pid
            {
                if let Some(Step::Finished(st)) = run.handle_exit(status) {
                    if let Some(line) = oneshot::outcome_line("startup", st) {
                        info!("{line}");
                    }
                    self.startup_finished(now);
                }
                continue;
            }
            if let Some(run) = self.run_pids.remove(&pid) {
                self.checker.handle_exit(now, run, status);
                // Keep the group id until the actions that follow this exit are drained: the
                // checker may still SIGKILL stragglers of that group.
                self.finished_runs.push(run);
            } else {
                self.notify_exited(pid);
            }
        }
    }

    fn on_net_events(&mut self, now: Instant, evs: Vec<NetEvent>) {
        let mut changed: Vec<u32> = Vec::new();
        for ev in evs {
            match &ev {
                NetEvent::Overrun => {
                    warn!("netlink monitor overrun: re-reading interfaces");
                    match InterfaceTable::load() {
                        Ok(t) => {
                            self.ifaces = t;
                            changed.extend(self.ifaces.iter().map(|i| i.ifindex));
                        }
                        Err(e) => error!("{e}"),
                    }
                    continue;
                }
                NetEvent::Addr(a) if !a.added => {
                    if let Some(i) = self.ifaces.get(a.ifindex) {
                        if self.args.address_monitoring {
                            info!(
                                "Deleted address {}/{} from {}",
                                a.addr, a.prefix_len, i.name
                            );
                        }
                        let ifname = i.name.clone();
                        self.node.handle(
                            now,
                            Input::AddressDeleted {
                                ifname,
                                addr: a.addr,
                                prefix_len: a.prefix_len,
                            },
                        );
                    }
                }
                NetEvent::Addr(a) if self.args.address_monitoring => {
                    info!(
                        "Added address {}/{} (ifindex {})",
                        a.addr, a.prefix_len, a.ifindex
                    );
                }
                NetEvent::Link(l) if l.deleted => {
                    let name = l.ifname.clone();
                    self.ifaces.apply(&ev);
                    self.node.handle(
                        now,
                        Input::Link(LinkState {
                            ifname: name.clone(),
                            ifindex: l.ifindex,
                            exists: false,
                            ..LinkState::default()
                        }),
                    );
                    self.close_sockets_on(&name);
                    continue;
                }
                _ => {}
            }
            if let Some(idx) = self.ifaces.apply(&ev) {
                changed.push(idx);
            }
        }
        changed.sort_unstable();
        changed.dedup();
        let vips = own_vips(&self.spec);
        for idx in changed {
            if let Some(l) = self.ifaces.get(idx).map(|i| link_state(i, &vips)) {
                self.node.handle(now, Input::Link(l));
            }
        }
        self.sync_sockets();
    }

    fn on_signal(&mut self, now: Instant, sig: Signal) {
        match sig {
            Signal::Child => self.reap(now),
            Signal::Stop { sigint: true } if self.args.ignore_sigint => {
                info!("SIGINT ignored (--ignore-sigint)");
            }
            Signal::Stop { sigint } => {
                // The core logs keepalived's "Stopping" line.
                debug!("received {}", if sigint { "SIGINT" } else { "SIGTERM" });
                if let Some(n) = &self.notifier {
                    let _ = n.stopping();
                }
                // A stop while the startup script runs ends it (SIGTERM) and VRRP never
                // starts; the shutdown script still runs at exit. keepalived 2.2.7 (observed)
                // runs the shutdown script alongside the startup script and, if the startup
                // script ends first, still starts VRRP (taking the VIPs) before it exits.
                if let Some((pgid, _)) = self.startup.take() {
                    let _ = process::kill_group(pgid, KillSignal::Term);
                }
                self.checker.shutdown();
                self.node.handle(
                    now,
                    Input::Shutdown {
                        release_vips: !self.args.dont_release_vrrp,
                    },
                );
                self.stopping = true;
            }
            Signal::Reload => self.reload(now),
            Signal::DumpData => {
                let path = match &self.spec.globals.state_dump_file {
                    Some(p) if Path::new(p).is_dir() => Path::new(p).join("keepalived.data"),
                    Some(p) => PathBuf::from(p),
                    None => tmp_dir().join("keepalived.data"),
                };
                self.write_dump(
                    &path,
                    &self.node.dump_data_with(now, &self.checker.dump_info()),
                );
            }
            Signal::DumpStats => {
                self.write_dump(&tmp_dir().join("keepalived.stats"), &self.node.dump_stats())
            }
            Signal::ClearStats => {
                self.write_dump(&tmp_dir().join("keepalived.stats"), &self.node.dump_stats());
                self.node.clear_stats();
            }
            Signal::DumpJson => self.write_dump(
                &tmp_dir().join("keepalived.json"),
                &self.node.dump_json(now),
            ),
        }
    }

    fn write_dump(&self, path: &Path, text: &str) {
        match write_atomic(path, text) {
            Ok(()) => info!("Wrote {}", path.display()),
            Err(e) => error!("cannot write {}: {e}", path.display()),
        }
    }

    fn reload(&mut self, now: Instant) {
        if !self.vrrp_started {
            info!("Reload ignored: VRRP has not started yet (the startup script is running)");
            return;
        }
        info!("Reloading");
        if let Some(n) = &self.notifier {
            let _ = n.reloading();
        }
        // keepalived compat: masters advertise before the (possibly slow) reload.
        self.node.send_reload_adverts(now);
        self.drain(now);
        match crate::cli::load_config(self.args) {
            Err(e) => {
                for d in &e.diagnostics {
                    log_diagnostic(d);
                }
                error!("Reload failed: {e}; keeping the running configuration");
            }
            Ok((spec, diags)) => {
                let errors = config_errors(&diags);
                let new: Vec<&String> = errors
                    .iter()
                    .filter(|m| !self.config_errors.contains(m))
                    .collect();
                if !new.is_empty() {
                    for d in &diags {
                        log_diagnostic(d);
                    }
                    error!(
                        "Reload refused: the new configuration has {} new error(s); keeping the running configuration",
                        new.len()
                    );
                } else {
                    for d in &diags {
                        log_diagnostic(d);
                    }
                    self.config_errors = errors;
                    // keepalived 2.2.7 (observed): the namespace stays; the rest reloads.
                    if spec.globals.net_namespace != self.spec.globals.net_namespace {
                        error!(
                            "Cannot change network namespace at a reload - please restart keepalived"
                        );
                    }
                    if spec.globals.sched != self.spec.globals.sched {
                        for e in crate::sys::sched::apply(&spec.globals.sched) {
                            error!("{e}");
                        }
                    }
                    self.spec = spec.clone();
                    self.checker.reload(&spec.scripts, now);
                    self.node.handle(now, Input::Reload(spec));
                    self.open_fifo();
                    self.sync_trackers(now, true);
                    // Interfaces newly named by the config.
                    let vips = own_vips(&self.spec);
                    for name in self.node.interfaces() {
                        let l = match self.ifaces.by_name(&name) {
                            Some(i) => link_state(i, &vips),
                            None => LinkState {
                                ifname: name.clone(),
                                exists: false,
                                ..LinkState::default()
                            },
                        };
                        self.node.handle(now, Input::Link(l));
                    }
                    self.sync_sockets();
                    // keepalived compat: a kept MASTER sends its next advert at once after the
                    // reload, so peers added by the new configuration hear it now.
                    self.node.send_reload_adverts(now);
                    info!("Reload complete");
                }
            }
        }
        if let Some(n) = &self.notifier {
            let _ = n.ready();
        }
    }

    /// Open the receive sockets the configuration needs and close those it no longer does.
    fn sync_sockets(&mut self) {
        if !self.vrrp_started {
            return;
        }
        let mut wanted: Vec<RecvKey> = Vec::new();
        // Instances sharing a key need one socket; a key may come back after another one
        // (v4, v6, v4 on one interface), so `dedup` of neighbours is not enough.
        for key in self.spec.instances.iter().map(recv_key) {
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        for slot in self.recv.iter_mut() {
            if let Some((k, s)) = slot
                && !wanted.contains(k)
            {
                let _ = self
                    .poll
                    .registry()
                    .deregister(&mut SourceFd(&s.as_raw_fd()));
                *slot = None;
            }
        }
        let have: Vec<RecvKey> = self.recv.iter().flatten().map(|(k, _)| k.clone()).collect();
        for key in wanted {
            if have.contains(&key) {
                continue;
            }
            let fam = key_family(&key);
            let ifname = key.ifname.clone();
            let Some(ifindex) = self.ifaces.by_name(&key.ifname).map(|i| i.ifindex) else {
                continue;
            };
            let opened = if key.ah {
                RecvSocket::open_ah(&key.ifname, ifindex, &key.mode)
            } else {
                RecvSocket::open(&key.ifname, ifindex, key.family, &key.mode)
            };
            match opened {
                Ok(sock) => {
                    let idx = match self.recv.iter().position(|s| s.is_none()) {
                        Some(i) => i,
                        None => {
                            self.recv.push(None);
                            self.recv.len() - 1
                        }
                    };
                    if let Err(e) = self.poll.registry().register(
                        &mut SourceFd(&sock.as_raw_fd()),
                        Token(TOKEN_RECV_BASE + idx),
                        Interest::READABLE,
                    ) {
                        error!("epoll_ctl(ADD) VRRP socket on {}: {e}", key.ifname);
                        continue;
                    }
                    debug!(
                        "VRRP receive socket open: {} {:?} {:?}",
                        key.ifname, key.family, key.mode
                    );
                    self.recv[idx] = Some((key, sock));
                    // Packets may already be queued (edge-triggered readiness).
                    self.read_socket(idx);
                }
                Err(e) => error!("{e}"),
            }
            if !self.send.contains_key(&(ifname.clone(), fam)) {
                self.open_send(&ifname, fam);
            }
        }
    }

    fn open_send(&mut self, ifname: &str, fam: IpFamily) {
        let Some(ifindex) = self.ifaces.by_name(ifname).map(|i| i.ifindex) else {
            return;
        };
        match SendSocket::open(ifname, ifindex, fam) {
            Ok(s) => {
                self.send.insert((ifname.to_string(), fam), s);
            }
            Err(e) => error!("{e}"),
        }
    }

    fn close_sockets_on(&mut self, ifname: &str) {
        for slot in self.recv.iter_mut() {
            if let Some((k, s)) = slot
                && k.ifname == ifname
            {
                let _ = self
                    .poll
                    .registry()
                    .deregister(&mut SourceFd(&s.as_raw_fd()));
                *slot = None;
            }
        }
        self.send.retain(|(n, _), _| n != ifname);
    }

    /// After the shutdown actions were executed: wait (bounded) for the kernel to confirm the
    /// VIP removals and for script children, then exit.
    fn finish_shutdown(&mut self) -> i32 {
        let deadline = timer::now() + SHUTDOWN_ACK_WAIT;
        let mut events = Events::with_capacity(16);
        // keepalived compat: notify_stop scripts get 1 s, then they are killed.
        while (self.nlreq.pending() > 0 || !self.notify_pids.is_empty()) && timer::now() < deadline
        {
            let left = deadline - timer::now();
            let _ = self.poll.poll(
                &mut events,
                Some(left.to_std().min(std::time::Duration::from_millis(20))),
            );
            self.read_acks();
            for (pid, _) in process::reap() {
                self.notify_exited(pid);
            }
        }
        for pid in self.notify_pids.drain() {
            warn!("notify script (pid {pid}) still running after 1 s at shutdown: killed");
            let _ = process::kill_group(pid, crate::check::KillSignal::Kill);
        }
        self.fifo = None;
        if self.nlreq.pending() > 0 {
            warn!(
                "{} address change(s) not acknowledged by the kernel",
                self.nlreq.pending()
            );
        }
        for pgid in self.runs.values() {
            let _ = process::kill_group(*pgid, crate::check::KillSignal::Kill);
        }
        let _ = process::reap();
        // keepalived compat: its firewall goes at exit, even with -V.
        if let Some(fw) = &mut self.firewall {
            for e in fw.delete_tables(false) {
                error!("{e}");
            }
        }
        self.rp_filter.restore();
        if let Some(cmd) = self.spec.globals.shutdown_script.clone() {
            self.run_shutdown_script(&cmd);
        }
        0
    }
}

fn key_family(k: &RecvKey) -> IpFamily {
    k.family
}

/// IPv6 forwarding on `ifname` decides the NA Router flag (keepalived compat).
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// Offset between the wall clock and the monotonic clock, for epoch timestamps in dumps.
fn epoch_offset_us(now: Instant) -> i64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    wall - now.as_micros() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_file_name_gets_keepalived_vrrp_suffix() {
        assert_eq!(
            vrrp_log_path(Path::new("/tmp/keepalived.log")),
            PathBuf::from("/tmp/keepalived_vrrp.log")
        );
        assert_eq!(
            vrrp_log_path(Path::new("/var/log/ka")),
            PathBuf::from("/var/log/ka_vrrp")
        );
        assert_eq!(
            vrrp_log_path(Path::new("/var/log/.hidden")),
            PathBuf::from("/var/log/.hidden_vrrp")
        );
        assert_eq!(
            vrrp_log_path(Path::new("/a.b/c.d.log")),
            PathBuf::from("/a.b/c.d_vrrp.log")
        );
    }
}
