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

mod netlink {
    use super::*;
    use rkeepalived::sys::Errno;
    use rkeepalived::sys::netlink::{
        AddrSpec, InterfaceTable, NetEvent, NlMonitor, NlRequests, dump,
    };

    /// One namespace with a veth pair eth1 <-> eth1p, both up.
    fn one_ns() -> Ns {
        let ns = Ns::new().unwrap();
        ns.ip("link add eth1 type veth peer name eth1p");
        ns.ip("addr add 10.16.200.1/24 dev eth1");
        ns.ip("link set eth1 up");
        ns.ip("link set eth1p up");
        ns
    }

    #[test]
    fn vip_with_label_is_added_shown_and_deleted() {
        if !namespaces_available("vip_with_label") {
            return;
        }
        let ns = one_ns();
        let idx = ns.ifindex("eth1");
        let mut req = ns.run(NlRequests::open).unwrap();
        let mut vip = AddrSpec::new("eth1", idx, "10.16.200.200".parse().unwrap(), 32);
        vip.label = Some("eth1:1".into());

        // Asynchronous: the request returns a sequence number, the ack arrives later.
        let seq = req.add_address(&vip).unwrap();
        assert_eq!(req.pending(), 1);
        assert!(readable(&req, 2000));
        let acks = req.poll_acks().unwrap();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].seq, seq);
        assert_eq!(acks[0].result, Ok(()));
        assert_eq!(acks[0].benign, None);
        assert_eq!(req.pending(), 0);

        let shown = ns.ip("-4 addr show dev eth1");
        let line = shown
            .lines()
            .find(|l| l.contains("10.16.200.200"))
            .unwrap_or_else(|| panic!("VIP not shown:\n{shown}"));
        assert!(line.contains("inet 10.16.200.200/32"), "{line}");
        assert!(line.trim_end().ends_with("eth1:1"), "label missing: {line}");

        // Adding it again: EEXIST, benign.
        let ack = req.add_address_blocking(&vip).unwrap();
        assert_eq!(ack.result, Ok(()));
        assert_eq!(ack.benign, Some(Errno::EEXIST));

        let ack = req.del_address_blocking(&vip).unwrap();
        assert_eq!((ack.result, ack.benign), (Ok(()), None));
        assert!(!ns.ip("-4 addr show dev eth1").contains("10.16.200.200"));

        // Deleting it again: EADDRNOTAVAIL, benign.
        let ack = req.del_address_blocking(&vip).unwrap();
        assert_eq!(
            (ack.result, ack.benign),
            (Ok(()), Some(Errno::EADDRNOTAVAIL))
        );

        // A real failure names what failed: no such interface.
        let bad = AddrSpec::new("nope0", 999_999, "10.1.1.1".parse().unwrap(), 32);
        let ack = req.add_address_blocking(&bad).unwrap();
        assert_eq!(ack.result, Err(Errno::ENODEV));
        assert_eq!(
            ack.to_string(),
            "failed to add 10.1.1.1/32 to nope0: No such device"
        );
    }

    #[test]
    fn ipv6_vip_with_nodad_and_options() {
        if !namespaces_available("ipv6_vip") {
            return;
        }
        let ns = one_ns();
        let idx = ns.ifindex("eth1");
        let mut req = ns.run(NlRequests::open).unwrap();
        let mut vip = AddrSpec::new("eth1", idx, "fd00:16::200".parse().unwrap(), 64);
        vip.nodad = true;
        vip.noprefixroute = true;
        vip.preferred_lft = Some(0);
        let ack = req.add_address_blocking(&vip).unwrap();
        assert_eq!(ack.result, Ok(()), "{ack}");
        let shown = ns.ip("-6 addr show dev eth1");
        assert!(shown.contains("fd00:16::200/64"), "{shown}");
        assert!(shown.contains("nodad"), "{shown}");
        assert!(shown.contains("noprefixroute"), "{shown}");
        assert!(shown.contains("preferred_lft 0sec"), "{shown}");
        let ack = req.del_address_blocking(&vip).unwrap();
        assert_eq!(ack.result, Ok(()));
    }

    #[test]
    fn monitor_sees_link_down_and_address_changes() {
        if !namespaces_available("monitor") {
            return;
        }
        let ns = one_ns();
        let idx = ns.ifindex("eth1");
        let mut mon = ns.run(NlMonitor::open).unwrap();
        let mut events = vec![];
        let mut wait_for = |pred: &dyn Fn(&NetEvent) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Some(e) = events.iter().find(|e| pred(e)) {
                    return e.clone();
                }
                if readable(&mon, 200) {
                    events.extend(mon.read_events().unwrap());
                }
            }
            panic!("event not seen; got {events:?}");
        };
        ns.ip("link set eth1 down");
        let ev = wait_for(&|e| matches!(e, NetEvent::Link(l) if l.ifindex == idx && !l.up));
        let NetEvent::Link(l) = ev else {
            unreachable!()
        };
        assert_eq!(l.ifname, "eth1");
        assert!(!l.deleted);
        assert!(l.mtu >= 1280);

        ns.ip("addr add 10.16.200.7/32 dev eth1 label eth1:7");
        let ev = wait_for(&|e| matches!(e, NetEvent::Addr(a) if a.added && a.prefix_len == 32));
        let NetEvent::Addr(a) = ev else {
            unreachable!()
        };
        assert_eq!(a.addr, "10.16.200.7".parse::<IpAddr>().unwrap());
        assert_eq!(a.ifindex, idx);
        assert_eq!(a.label.as_deref(), Some("eth1:7"));

        ns.ip("addr del 10.16.200.7/32 dev eth1");
        wait_for(&|e| matches!(e, NetEvent::Addr(a) if !a.added && a.prefix_len == 32));
    }

    #[test]
    fn startup_dump_builds_interface_snapshot() {
        if !namespaces_available("dump") {
            return;
        }
        let ns = one_ns();
        ns.ip("addr add 10.16.200.9/24 dev eth1"); // a secondary in the same subnet
        ns.ip("addr add 10.99.0.1/16 dev eth1"); // another primary
        ns.ip("link set eth1 mtu 1400");
        let idx = ns.ifindex("eth1");
        let events = ns.run(dump).unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, NetEvent::Link(l) if l.ifname == "lo"))
        );
        let table = ns.run(InterfaceTable::load).unwrap();
        let i = table.by_name("eth1").unwrap();
        assert_eq!(i.ifindex, idx);
        assert_eq!(i.mtu, 1400);
        assert_ne!(i.mac, [0; 6]);
        let mac_shown = ns.ip("link show eth1");
        let mac = i.mac.map(|b| format!("{b:02x}")).join(":");
        assert!(mac_shown.contains(&mac), "{mac} not in {mac_shown}");
        let v4 = i.ipv4_addrs();
        assert_eq!(v4.len(), 3, "{v4:?}");
        assert_eq!(
            v4[0],
            Ipv4Addr::new(10, 16, 200, 1),
            "kernel's primary first"
        );
        assert_eq!(v4[2], Ipv4Addr::new(10, 16, 200, 9), "secondary last");
        // eth1 is up but its peer may still be negotiating; `up` means UP && RUNNING.
        let lo = table.by_name("lo").unwrap();
        assert!(!lo.up, "lo is down in a fresh namespace");
    }
}

mod af_packet {
    use super::*;
    use rkeepalived::sys::link::{PacketCapture, PacketSender};

    /// A gratuitous ARP request for 10.9.0.100 from `mac` (reference §4.8 shape).
    fn garp(mac: [u8; 6]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06]); // ARP
        f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet/IPv4, request
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[10, 9, 0, 100]);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&[10, 9, 0, 100]);
        f
    }

    #[test]
    fn garp_frame_sent_on_one_veth_end_is_captured_on_the_other() {
        if !namespaces_available("af_packet") {
            return;
        }
        let p = veth_pair();
        let ia = p.a.ifindex("veth0");
        let ib = p.b.ifindex("veth1");
        let tx = p.a.run(PacketSender::open).unwrap();
        let cap =
            p.b.run(move || PacketCapture::open(ib, libc::ETH_P_ARP as u16))
                .unwrap();
        let frame = garp([0x02, 0, 0, 0, 0, 0x0a]);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "GARP not captured within 5 s");
            tx.send_frame(ia, &frame).unwrap();
            if readable(&cap, 200) {
                let got = cap.recv().unwrap().unwrap();
                assert_eq!(got, frame);
                break;
            }
        }
        let err = tx.send_frame(999_999, &frame).unwrap_err();
        assert_eq!(err.op, "sendto(AF_PACKET)");
        assert_eq!(err.obj, "ifindex 999999");
        assert!(
            tx.send_frame(ia, &frame[..10]).is_err(),
            "short frame refused"
        );
    }
}
