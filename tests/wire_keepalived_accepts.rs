//! Root-only interop test: adverts built by `wire::emit` + `ip::vrrp_header` are accepted by
//! Debian's keepalived 2.2.7. keepalived runs as BACKUP (priority 100) in one throwaway
//! namespace; this test sends priority-200 adverts into it over a veth pair from a second one.
//! If keepalived accepts them it stays BACKUP; a negative control with a broken checksum must
//! be rejected ("Invalid VRRPv2 checksum") and let that instance become MASTER.
//!
//! Without root / `ip` / keepalived this test skips, unless the CI env var is set (then fails).

use std::fs::{self, File};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{
    AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, sendto, setsockopt,
    socket, sockopt,
};
use nix::unistd::Pid;
use rkeepalived::time::Centis;
use rkeepalived::vrrp::ip::{self, Ipv6Repr};
use rkeepalived::vrrp::spec::Version;
use rkeepalived::vrrp::wire::{
    self, Advert, ChecksumCtx, ChecksumForm, WireAuth, emit, emit_with_form,
};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn skip_or_fail(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("cannot run under CI: {reason}");
    }
    eprintln!("skipping keepalived interop test: {reason}");
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Deletes the namespaces and the temp dir, and stops keepalived, on every path.
struct Env {
    ns_a: String,
    ns_b: String,
    dir: PathBuf,
    keepalived: Option<Child>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut child) = self.keepalived.take() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = run(&["ip", "netns", "del", &self.ns_a]);
        let _ = run(&["ip", "netns", "del", &self.ns_b]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

const ME: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 1);

fn instance(vrid: u8, version: u8, extra: &str, vip: &str) -> String {
    format!(
        "vrrp_instance VI_{vrid} {{\n state BACKUP\n interface veth0\n virtual_router_id {vrid}\n \
         priority 100\n advert_int 1\n version {version}\n {extra}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
    )
}

const UNICAST: &str = "unicast_src_ip 10.98.0.1\n unicast_peer {\n  10.98.0.2\n }";

fn config() -> String {
    let mut c = String::from("global_defs {\n router_id wirek\n}\n");
    c += &instance(
        61,
        2,
        "authentication {\n  auth_type PASS\n  auth_pass secret12\n }",
        "10.98.0.61/24",
    );
    c += &instance(62, 3, "", "10.98.0.62/24");
    c += &instance(63, 3, UNICAST, "10.98.0.63/24");
    c += &instance(64, 3, "", "fd00:98::64/64");
    c += &instance(65, 2, "", "10.98.0.65/24");
    c += &instance(
        66,
        2,
        &format!("{UNICAST}\n authentication {{\n  auth_type PASS\n  auth_pass 1234\n }}"),
        "10.98.0.66/24",
    );
    c += &instance(67, 3, UNICAST, "10.98.0.67/24");
    c
}

fn advert(version: Version, vrid: u8, auth: WireAuth, addr: IpAddr) -> Advert {
    Advert {
        version,
        vrid,
        priority: 200,
        adver_int: Centis(100),
        auth,
        addrs: vec![addr],
    }
}

/// (destination, IP datagram incl. header) for every advert we send.
fn datagrams() -> (Vec<(Ipv4Addr, Vec<u8>)>, Vec<u8>) {
    let ctx = |dst: Ipv4Addr| ChecksumCtx {
        src: ME.into(),
        dst: dst.into(),
        v3_ipv4_pseudo_header: true,
        kernel_checksum: false,
    };
    let mc = wire::VRRP_MCAST_V4;
    let vip = |n: u8| IpAddr::V4(Ipv4Addr::new(10, 98, 0, n));
    let mut v4 = Vec::new();
    let mut push = |dst: Ipv4Addr, vrrp: Vec<u8>| {
        v4.push((dst, ip::vrrp_datagram(ME, dst, 255, 1, &vrrp)));
    };
    push(
        mc,
        emit(
            &advert(Version::V2, 61, WireAuth::Pass(*b"secret12"), vip(61)),
            &ctx(mc),
        ),
    );
    push(
        mc,
        emit(&advert(Version::V3, 62, WireAuth::None, vip(62)), &ctx(mc)),
    );
    push(
        PEER,
        emit(
            &advert(Version::V3, 63, WireAuth::None, vip(63)),
            &ctx(PEER),
        ),
    );
    let mut bad = emit(&advert(Version::V2, 65, WireAuth::None, vip(65)), &ctx(mc));
    bad[7] ^= 1;
    push(mc, bad);
    push(
        PEER,
        emit(
            &advert(Version::V2, 66, WireAuth::Pass(*b"1234\0\0\0\0"), vip(66)),
            &ctx(PEER),
        ),
    );
    push(
        PEER,
        emit_with_form(
            &advert(Version::V3, 67, WireAuth::None, vip(67)),
            &ctx(PEER),
            ChecksumForm::V3Ipv4OldUnicast,
        ),
    );
    let ll: Ipv6Addr = "fe80::ff:fe00:9802".parse().unwrap();
    let vrrp = emit(
        &advert(
            Version::V3,
            64,
            WireAuth::None,
            "fd00:98::64".parse().unwrap(),
        ),
        &ChecksumCtx {
            src: ll.into(),
            dst: wire::VRRP_MCAST_V6.into(),
            v3_ipv4_pseudo_header: true,
            kernel_checksum: false,
        },
    );
    let mut v6 = vec![0u8; 40];
    Ipv6Repr {
        src: ll,
        dst: wire::VRRP_MCAST_V6,
        next_header: wire::IPPROTO_VRRP,
        hop_limit: 255,
        traffic_class: ip::TOS_INTERNET_CONTROL,
        flow_label: 0,
        payload_len: vrrp.len(),
    }
    .emit(&mut v6)
    .unwrap();
    v6.extend_from_slice(&vrrp);
    (v4, v6)
}

/// From inside namespace `ns`, send the datagrams every 300 ms for `dur` with IP_HDRINCL.
fn send_from(ns: &str, dur: Duration) -> thread::JoinHandle<Result<usize, String>> {
    let ns_path = format!("/run/netns/{ns}");
    thread::spawn(move || {
        let f = File::open(&ns_path).map_err(|e| format!("{ns_path}: {e}"))?;
        // setns affects only this thread.
        setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns: {e}"))?;
        let ifindex =
            nix::net::if_::if_nametoindex("veth1").map_err(|e| format!("if_nametoindex: {e}"))?;
        let dev = std::ffi::OsString::from("veth1");
        // IPPROTO_RAW implies IP_HDRINCL (and IPV6_HDRINCL on Linux >= 4.5).
        let s4 = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::empty(),
            SockProtocol::Raw,
        )
        .map_err(|e| format!("socket v4: {e}"))?;
        setsockopt(&s4, sockopt::BindToDevice, &dev).map_err(|e| format!("bind v4: {e}"))?;
        let s6 = socket(
            AddressFamily::Inet6,
            SockType::Raw,
            SockFlag::empty(),
            SockProtocol::Raw,
        )
        .map_err(|e| format!("socket v6: {e}"))?;
        setsockopt(&s6, sockopt::BindToDevice, &dev).map_err(|e| format!("bind v6: {e}"))?;
        let (v4, v6) = datagrams();
        let dst6 = SockaddrIn6::from(SocketAddrV6::new(wire::VRRP_MCAST_V6, 0, 0, ifindex));
        let end = Instant::now() + dur;
        let mut sent = 0;
        while Instant::now() < end {
            for (dst, d) in &v4 {
                let to = SockaddrIn::from(SocketAddrV4::new(*dst, 0));
                use std::os::fd::AsRawFd;
                sendto(s4.as_raw_fd(), d, &to, nix::sys::socket::MsgFlags::empty())
                    .map_err(|e| format!("sendto {dst}: {e}"))?;
                sent += 1;
            }
            use std::os::fd::AsRawFd;
            sendto(
                s6.as_raw_fd(),
                &v6,
                &dst6,
                nix::sys::socket::MsgFlags::empty(),
            )
            .map_err(|e| format!("sendto v6: {e}"))?;
            sent += 1;
            thread::sleep(Duration::from_millis(300));
        }
        Ok(sent)
    })
}

#[test]
fn keepalived_2_2_7_accepts_our_adverts() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    if !std::path::Path::new("/usr/sbin/keepalived").exists() {
        return skip_or_fail("/usr/sbin/keepalived not installed");
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tag = format!("wirek-{}-{n}", std::process::id());
    let mut env = Env {
        ns_a: format!("{tag}-a"),
        ns_b: format!("{tag}-b"),
        dir: std::env::temp_dir().join(&tag),
        keepalived: None,
    };
    let (a, b) = (env.ns_a.clone(), env.ns_b.clone());
    if let Err(e) = run(&["ip", "netns", "add", &a]) {
        return skip_or_fail(&e);
    }
    let setup = || -> Result<(), String> {
        run(&["ip", "netns", "add", &b])?;
        for ns in [&a, &b] {
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        }
        run(&[
            "ip",
            "-n",
            &a,
            "link",
            "add",
            "veth0",
            "address",
            "02:00:00:00:98:01",
            "type",
            "veth",
            "peer",
            "name",
            "veth1",
            "address",
            "02:00:00:00:98:02",
            "netns",
            &b,
        ])?;
        run(&[
            "ip",
            "-n",
            &a,
            "addr",
            "add",
            "10.98.0.1/24",
            "dev",
            "veth0",
        ])?;
        run(&[
            "ip",
            "-n",
            &b,
            "addr",
            "add",
            "10.98.0.2/24",
            "dev",
            "veth1",
        ])?;
        run(&["ip", "-n", &a, "link", "set", "veth0", "up"])?;
        run(&["ip", "-n", &b, "link", "set", "veth1", "up"])?;
        Ok(())
    };
    setup().expect("namespace setup");
    // IPv6 multicast needs the ff00::/8 route, which appears once veth1 has carrier.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new("ip")
            .args([
                "-n", &b, "-6", "route", "show", "table", "local", "dev", "veth1",
            ])
            .output()
            .expect("ip route");
        if String::from_utf8_lossy(&out.stdout).contains("ff00::/8") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "veth1 never got its IPv6 multicast route"
        );
        thread::sleep(Duration::from_millis(50));
    }
    fs::create_dir_all(&env.dir).unwrap();
    let conf = env.dir.join("keepalived.conf");
    let log = env.dir.join("keepalived.log");
    fs::write(&conf, config()).unwrap();

    // Start sending first so keepalived hears a master from its first moment.
    let sender = send_from(&b, Duration::from_secs(7));
    thread::sleep(Duration::from_millis(200));
    let p = |name: &str| env.dir.join(name).to_string_lossy().into_owned();
    let log_file = File::create(&log).unwrap();
    env.keepalived = Some(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &a,
                "/usr/sbin/keepalived",
                "--vrrp",
                "-n",
                "-l",
                "-D",
            ])
            .args([
                "-f",
                &p("keepalived.conf"),
                "-p",
                &p("k.pid"),
                "-r",
                &p("v.pid"),
            ])
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("spawn keepalived"),
    );
    let sent = sender.join().unwrap().expect("sender");
    assert!(sent > 50, "sent only {sent} adverts");
    drop(env.keepalived.take().map(|mut c| {
        let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
        c.wait()
    }));
    let text = fs::read_to_string(&log).unwrap();

    // keepalived's master-down interval here is 3 × 1 s + skew ≈ 3.6 s < the 6.8 s it listened:
    // an instance that rejected our adverts would have become MASTER.
    for vrid in [61, 62, 63, 64, 66, 67] {
        assert!(
            text.contains(&format!("(VI_{vrid}) Entering BACKUP STATE")),
            "VI_{vrid} never started:\n{text}"
        );
        assert!(
            !text.contains(&format!("(VI_{vrid}) Entering MASTER STATE")),
            "keepalived rejected our VRID {vrid} adverts:\n{text}"
        );
    }
    // The pre-1.3.6 unicast checksum is detected as such by keepalived itself.
    assert!(
        text.contains("(VI_67) Setting unicast VRRPv3 checksum to old version"),
        "{text}"
    );
    // Negative control: a broken checksum is rejected and the instance takes over.
    assert!(text.contains("(VI_65) Invalid VRRPv2 checksum"), "{text}");
    assert!(text.contains("(VI_65) Entering MASTER STATE"), "{text}");
}
