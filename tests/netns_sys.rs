//! Root-only tests of `rkeepalived::sys` against the real kernel, each inside private network
//! namespaces that exist only as long as the test: a namespace belongs to a thread that called
//! `unshare(CLONE_NEWNET)` (namespaces are per thread; `ip` commands forked from that thread
//! configure the same namespace, sockets created there live there). When the thread ends the
//! namespace and its veth pair disappear, on every path, including panics.
//!
//! Without root these tests skip with a reason; with `CI` set they fail instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rkeepalived::sys::socket::{IpFamily, RecvMode, RecvSocket, SendSocket};

type Job = Box<dyn FnOnce() + Send>;

/// A network namespace owned by a dedicated thread; `run` executes closures inside it.
struct Ns {
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<()>>,
    tid: i32,
}

impl Ns {
    fn new() -> Result<Ns, String> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (rtx, rrx) = mpsc::channel::<Result<i32, String>>();
        let handle = std::thread::spawn(move || {
            if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
                let _ = rtx.send(Err(format!("unshare(CLONE_NEWNET): {e}")));
                return;
            }
            let _ = rtx.send(Ok(nix::unistd::gettid().as_raw()));
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        let tid = rrx
            .recv()
            .map_err(|_| "namespace thread died".to_string())??;
        Ok(Ns {
            tx: Some(tx),
            handle: Some(handle),
            tid,
        })
    }

    fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (rtx, rrx) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = rtx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        });
        self.tx.as_ref().unwrap().send(job).unwrap();
        match rrx.recv().unwrap() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Run `ip <args>` inside the namespace; panics with its stderr on failure.
    fn ip(&self, args: &str) -> String {
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        self.run(move || {
            let out = Command::new("ip").args(&args).output().expect("run ip");
            assert!(
                out.status.success(),
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    }

    fn ifindex(&self, name: &str) -> u32 {
        let name = name.to_string();
        self.run(move || nix::net::if_::if_nametoindex(name.as_str()).expect("if_nametoindex"))
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Can we make namespaces? Under CI a "no" is a failure.
fn namespaces_available(test: &str) -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("not root".to_string())
    } else {
        Ns::new().err()
    };
    match why {
        None => true,
        Some(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: network namespace test cannot run under CI: {why}");
            }
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// Two namespaces joined by a veth pair: `a` has veth0 (10.9.0.1/24, fd00:9::1/64),
/// `b` has veth1 (10.9.0.2/24, fd00:9::2/64). Both up, IPv6 without DAD.
struct Pair {
    a: Ns,
    b: Ns,
}

fn veth_pair() -> Pair {
    let a = Ns::new().unwrap();
    let b = Ns::new().unwrap();
    a.ip(&format!(
        "link add veth0 type veth peer name veth1 netns {}",
        b.tid
    ));
    a.ip("addr add 10.9.0.1/24 dev veth0");
    b.ip("addr add 10.9.0.2/24 dev veth1");
    a.ip("addr add fd00:9::1/64 dev veth0 nodad");
    b.ip("addr add fd00:9::2/64 dev veth1 nodad");
    a.ip("link set veth0 up");
    b.ip("link set veth1 up");
    Pair { a, b }
}

fn readable(fd: impl AsFd, ms: u16) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

/// Send until the receiver sees a packet (the first ones may race link-up / neighbour
/// resolution), for at most 5 s.
fn send_until_received(
    tx: &SendSocket,
    rx: &mut RecvSocket,
    src: IpAddr,
    dst: IpAddr,
    payload: &[u8],
) -> rkeepalived::sys::socket::Received {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        tx.send(src, dst, 255, payload).expect("send");
        if readable(&*rx, 200)
            && let Some(p) = rx.recv().expect("recv")
        {
            return p;
        }
    }
    panic!("no packet {src} -> {dst} within 5 s");
}

/// A VRRPv3 advert body (checksum left zero: not checked by the IPv4 socket; the IPv6 kernel
/// fills it in on send and verifies it on receive).
fn advert(vrid: u8) -> Vec<u8> {
    vec![0x31, vrid, 100, 1, 0x00, 0x64, 0, 0, 10, 9, 0, 100]
}

fn ipv4_roundtrip(mode_b: RecvMode, dst: IpAddr) {
    let p = veth_pair();
    let ia = p.a.ifindex("veth0");
    let ib = p.b.ifindex("veth1");
    let tx =
        p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V4))
            .unwrap();
    let mut rx =
        p.b.run(move || RecvSocket::open("veth1", ib, IpFamily::V4, &mode_b))
            .unwrap();
    let src: IpAddr = Ipv4Addr::new(10, 9, 0, 1).into();
    let got = send_until_received(&tx, &mut rx, src, dst, &advert(51));
    assert_eq!(got.src, src);
    assert_eq!(got.dst, dst);
    assert_eq!(got.ttl, 255);
    assert_eq!(got.ifindex, ib);
    assert_eq!(got.payload, advert(51));
}

#[test]
fn vrrp_ipv4_multicast_packet_crosses_veth_with_ttl_255() {
    if !namespaces_available("vrrp_ipv4_multicast") {
        return;
    }
    let group: IpAddr = Ipv4Addr::new(224, 0, 0, 18).into();
    ipv4_roundtrip(RecvMode::Multicast { group }, group);
}

#[test]
fn vrrp_ipv4_unicast_packet_crosses_veth_with_ttl_255() {
    if !namespaces_available("vrrp_ipv4_unicast") {
        return;
    }
    let local: IpAddr = Ipv4Addr::new(10, 9, 0, 2).into();
    ipv4_roundtrip(RecvMode::Unicast { local: Some(local) }, local);
}

fn ipv6_roundtrip(mode_b: RecvMode, dst: IpAddr) {
    let p = veth_pair();
    let ia = p.a.ifindex("veth0");
    let ib = p.b.ifindex("veth1");
    let tx =
        p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V6))
            .unwrap();
    let mut rx =
        p.b.run(move || RecvSocket::open("veth1", ib, IpFamily::V6, &mode_b))
            .unwrap();
    let src: IpAddr = "fd00:9::1".parse::<Ipv6Addr>().unwrap().into();
    let got = send_until_received(&tx, &mut rx, src, dst, &advert(52));
    assert_eq!(got.src, src);
    assert_eq!(got.dst, dst);
    assert_eq!(got.ttl, 255);
    assert_eq!(got.ifindex, ib);
    // The kernel filled in the checksum (IPV6_CHECKSUM); the rest is ours.
    assert_eq!(got.payload.len(), advert(52).len());
    assert_eq!(got.payload[..6], advert(52)[..6]);
    assert_ne!(
        got.payload[6..8],
        [0, 0],
        "kernel computed the VRRP checksum"
    );
    assert_eq!(got.payload[8..], advert(52)[8..]);
}

#[test]
fn vrrp_ipv6_multicast_packet_reports_hop_limit_and_destination() {
    if !namespaces_available("vrrp_ipv6_multicast") {
        return;
    }
    let group: IpAddr = "ff02::12".parse::<Ipv6Addr>().unwrap().into();
    ipv6_roundtrip(RecvMode::Multicast { group }, group);
}

#[test]
fn vrrp_ipv6_unicast_packet_reports_hop_limit_and_destination() {
    if !namespaces_available("vrrp_ipv6_unicast") {
        return;
    }
    let local: IpAddr = "fd00:9::2".parse::<Ipv6Addr>().unwrap().into();
    ipv6_roundtrip(RecvMode::Unicast { local: Some(local) }, local);
}
