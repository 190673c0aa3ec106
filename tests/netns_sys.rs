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
        tx.send(src, dst, 255, 1, payload).expect("send");
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
        assert_eq!(
            ns.run(|| rkeepalived::sys::link::ifindex("eth1")).unwrap(),
            idx
        );
        let err = ns
            .run(|| rkeepalived::sys::link::ifindex("nope0"))
            .unwrap_err();
        assert_eq!(err.to_string(), "if_nametoindex on nope0: No such device");
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
    fn virtual_routes_are_added_shown_and_deleted_ipv4_ipv6_and_tables() {
        use rkeepalived::vrrp::spec::{RouteSpec, RouteType};
        if !namespaces_available("virtual_routes") {
            return;
        }
        let ns = one_ns();
        ns.ip("-6 addr add 2001:db8:1::1/64 dev eth1 nodad");
        let idx = ns.ifindex("eth1");
        let mut req = ns.run(NlRequests::open).unwrap();

        let mut r4 = RouteSpec::new("10.99.0.0".parse().unwrap(), 16);
        r4.gateway = Some("10.16.200.254".parse().unwrap());
        r4.dev = Some("eth1".into());
        r4.metric = Some(7);
        let seq = req.add_route(&r4, Some(idx)).unwrap();
        assert!(readable(&req, 2000));
        assert!(req.poll_acks().unwrap().is_empty());
        let acks = req.take_route_acks();
        assert_eq!(acks.len(), 1);
        assert_eq!((acks[0].seq, acks[0].result), (seq, Ok(())));
        let shown = ns.ip("-4 route show");
        assert!(
            shown.contains("10.99.0.0/16 via 10.16.200.254 dev eth1 proto keepalived metric 7"),
            "{shown}"
        );
        // Again: EEXIST, benign.
        let ack = req.route_blocking(true, &r4, Some(idx)).unwrap();
        assert_eq!((ack.result, ack.benign), (Ok(()), Some(Errno::EEXIST)));

        let mut bh = RouteSpec::new("10.98.0.0".parse().unwrap(), 16);
        bh.kind = RouteType::Blackhole;
        // `dev` on a blackhole route is for tracking only; the kernel must not see it.
        bh.dev = Some("eth1".into());
        let ack = req.route_blocking(true, &bh, Some(idx)).unwrap();
        assert_eq!(ack.result, Ok(()), "{ack}");
        assert!(
            ns.ip("-4 route show")
                .contains("blackhole 10.98.0.0/16 proto keepalived")
        );

        let mut r6 = RouteSpec::new("2001:db8:99::".parse().unwrap(), 48);
        r6.gateway = Some("2001:db8:1::fe".parse().unwrap());
        r6.dev = Some("eth1".into());
        r6.table = Some(1000);
        r6.protocol = Some(4);
        let ack = req.route_blocking(true, &r6, Some(idx)).unwrap();
        assert_eq!(ack.result, Ok(()), "{ack}");
        let shown = ns.ip("-6 route show table 1000");
        assert!(
            shown.contains("2001:db8:99::/48 via 2001:db8:1::fe dev eth1 proto static"),
            "{shown}"
        );

        for (r, i) in [(&r4, Some(idx)), (&bh, Some(idx)), (&r6, Some(idx))] {
            let ack = req.route_blocking(false, r, i).unwrap();
            assert_eq!((ack.result, ack.benign), (Ok(()), None), "{ack}");
        }
        assert!(!ns.ip("-4 route show").contains("10.99.0.0"));
        assert!(!ns.ip("-4 route show").contains("10.98.0.0"));
        assert!(!ns.ip("-6 route show table 1000").contains("2001:db8:99::"));
        // Deleting again: ESRCH, benign.
        let ack = req.route_blocking(false, &r4, Some(idx)).unwrap();
        assert_eq!((ack.result, ack.benign), (Ok(()), Some(Errno::ESRCH)));
        // A real failure: an unreachable gateway.
        let mut bad = r4.clone();
        bad.gateway = Some("10.55.0.1".parse().unwrap());
        let ack = req.route_blocking(true, &bad, Some(idx)).unwrap();
        assert!(ack.result.is_err(), "{ack}");
        assert!(
            ack.to_string()
                .starts_with("failed to add route 10.99.0.0/16"),
            "{ack}"
        );
    }

    #[test]
    fn virtual_rules_are_added_shown_and_deleted_ipv4_and_ipv6() {
        use rkeepalived::vrrp::spec::{RuleAction, RuleSpec};
        if !namespaces_available("virtual_rules") {
            return;
        }
        let ns = one_ns();
        let mut req = ns.run(NlRequests::open).unwrap();
        let mut a = RuleSpec::new(100);
        a.from = Some(("10.16.200.200".parse().unwrap(), 32));
        a.to = Some(("10.99.0.0".parse().unwrap(), 16));
        a.table = Some(1000);
        a.iif = Some("eth1".into());
        a.fwmark = Some(0x10);
        a.fwmask = Some(0xff);
        let mut b = RuleSpec::new(101);
        b.invert = true;
        b.from = Some(("10.16.0.0".parse().unwrap(), 16));
        b.action = RuleAction::Blackhole;
        let mut c = RuleSpec::new(102);
        c.v6 = true;
        c.from = Some(("2001:db8::".parse().unwrap(), 64));
        c.oif = Some("eth1".into());
        c.action = RuleAction::Goto(200);
        let mut d = RuleSpec::new(200);
        d.v6 = true;
        d.table = Some(100);
        for r in [&a, &b, &c, &d] {
            let ack = req.rule_blocking(true, r).unwrap();
            assert_eq!((ack.result, ack.benign), (Ok(()), None), "{ack}");
        }
        let v4 = ns.ip("-4 rule show");
        assert!(
            v4.contains(
                "100:\tfrom 10.16.200.200 to 10.99.0.0/16 fwmark 0x10/0xff iif eth1 lookup 1000 proto keepalived"
            ),
            "{v4}"
        );
        assert!(v4.contains("101:\tnot from 10.16.0.0/16 blackhole"), "{v4}");
        let v6 = ns.ip("-6 rule show");
        assert!(
            v6.contains("102:\tfrom 2001:db8::/64 oif eth1 goto 200"),
            "{v6}"
        );
        assert!(v6.contains("200:\tfrom all lookup 100"), "{v6}");
        // Again: EEXIST, benign.
        let ack = req.rule_blocking(true, &a).unwrap();
        assert_eq!((ack.result, ack.benign), (Ok(()), Some(Errno::EEXIST)));
        for r in [&a, &b, &c, &d] {
            let ack = req.rule_blocking(false, r).unwrap();
            assert_eq!((ack.result, ack.benign), (Ok(()), None), "{ack}");
        }
        assert!(!ns.ip("-4 rule show").contains("10.16.200.200"));
        assert!(!ns.ip("-6 rule show").contains("2001:db8::"));
        // Deleting again: ENOENT, benign.
        let ack = req.rule_blocking(false, &a).unwrap();
        assert_eq!((ack.result, ack.benign), (Ok(()), Some(Errno::ENOENT)));
    }

    #[test]
    fn a_thousand_queued_adds_are_all_acknowledged() {
        if !namespaces_available("many_acks") {
            return;
        }
        let ns = one_ns();
        let idx = ns.ifindex("eth1");
        let mut req = ns.run(NlRequests::open).unwrap();
        let vips: Vec<AddrSpec> = (0..1000u32)
            .map(|i| {
                let a = Ipv4Addr::new(10, 60, (i / 250) as u8, (i % 250 + 1) as u8);
                AddrSpec::new("eth1", idx, a.into(), 32)
            })
            .collect();
        let start = Instant::now();
        for v in &vips {
            req.add_address(v).unwrap();
        }
        let queued = start.elapsed();
        let mut acks = vec![];
        let deadline = Instant::now() + Duration::from_secs(10);
        while acks.len() < vips.len() && Instant::now() < deadline {
            readable(&req, 200);
            acks.extend(req.poll_acks().unwrap());
        }
        println!(
            "1000 RTM_NEWADDR queued in {queued:?}, all acked after {:?}",
            start.elapsed()
        );
        assert_eq!(acks.len(), vips.len());
        assert!(
            acks.iter()
                .all(|a| a.result == Ok(()) && a.benign.is_none())
        );
        assert_eq!(req.pending(), 0);
        let shown = ns.ip("-4 addr show dev eth1");
        assert_eq!(shown.matches("inet 10.60.").count(), 1000);
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
    fn monitor_overrun_is_reported_and_a_redump_resyncs() {
        if !namespaces_available("monitor_overrun") {
            return;
        }
        let ns = one_ns();
        let mut mon = ns.run(|| NlMonitor::open_with_rcvbuf(1024)).unwrap();
        let batch = std::env::temp_dir().join(format!(
            "rka-nl-batch-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let lines: String = (0..400)
            .map(|i| format!("addr add 10.50.{}.{}/32 dev eth1\n", i / 200, i % 200 + 1))
            .collect();
        std::fs::write(&batch, lines).unwrap();
        let path = batch.display().to_string();
        ns.ip(&format!("-batch {path}"));
        let _ = std::fs::remove_file(&batch);
        let events = mon.read_events().unwrap();
        assert!(
            events.contains(&NetEvent::Overrun),
            "400 addresses into a 1 KiB queue must overflow; got {} events",
            events.len()
        );
        // The daemon's answer to an overrun: a fresh dump.
        let table = ns.run(InterfaceTable::load).unwrap();
        assert_eq!(table.by_name("eth1").unwrap().ipv4_addrs().len(), 401);
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

/// Wire-level interop of the raw sockets with Debian's keepalived 2.2.7, in namespaces.
mod interop {
    use super::*;
    use rkeepalived::sys::netlink::InterfaceTable;
    use rkeepalived::sys::socket::internet_checksum;
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;
    use std::process::{Child, Stdio};

    /// A keepalived started inside a namespace; SIGTERM (then SIGKILL of its process group)
    /// on drop, and its temporary directory removed.
    struct Keepalived {
        child: Child,
        dir: PathBuf,
    }

    impl Keepalived {
        fn start(ns: &Ns, tag: &str, conf: &str) -> Option<Keepalived> {
            if !std::path::Path::new("/usr/sbin/keepalived").exists() {
                if std::env::var_os("CI").is_some() {
                    panic!("keepalived is not installed");
                }
                eprintln!("skipping interop: keepalived not installed");
                return None;
            }
            let dir =
                std::env::temp_dir().join(format!("rka-interop-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("keepalived.conf"), conf).unwrap();
            let d = dir.clone();
            let child = ns.run(move || {
                Command::new("/usr/sbin/keepalived")
                    .args(["-n", "-l", "-D", "-P", "-f"])
                    .arg(d.join("keepalived.conf"))
                    .arg("-p")
                    .arg(d.join("k.pid"))
                    .arg("-r")
                    .arg(d.join("v.pid"))
                    .env("TMPDIR", &d)
                    .stdout(std::fs::File::create(d.join("log")).unwrap())
                    .stderr(Stdio::null())
                    .process_group(0)
                    .spawn()
                    .unwrap()
            });
            Some(Keepalived { child, dir })
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        }

        /// SIGUSR2, then the "Advertisements: Received" count of `instance`.
        fn adverts_received(&self, instance: &str) -> Option<u64> {
            let stats = self.dir.join("keepalived.stats");
            let _ = std::fs::remove_file(&stats);
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::SIGUSR2).ok()?;
            let deadline = Instant::now() + Duration::from_secs(3);
            while !stats.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(100));
            let text = std::fs::read_to_string(&stats).ok()?;
            let section = text
                .split("VRRP Instance: ")
                .find(|s| s.starts_with(instance))?;
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("Received:"))?;
            line.split(':').nth(1)?.trim().parse().ok()
        }
    }

    impl Drop for Keepalived {
        fn drop(&mut self) {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::SIGKILL);
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn keepalived_adverts_are_received_multicast_unicast_and_ipv6() {
        if !namespaces_available("interop_receive") {
            return;
        }
        let p = veth_pair();
        let conf = "
global_defs { router_id rka_test_a }
vrrp_instance VI_1 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication { auth_type PASS
        auth_pass secret }
    virtual_ipaddress { 10.9.0.100/32 dev veth0 }
}
vrrp_instance VI_2 {
    state MASTER
    interface veth0
    virtual_router_id 52
    priority 150
    advert_int 1
    unicast_src_ip 10.9.0.1
    unicast_peer { 10.9.0.2 }
    virtual_ipaddress { 10.9.0.101/32 dev veth0 }
}
vrrp_instance VI_3 {
    state MASTER
    interface veth0
    virtual_router_id 53
    priority 150
    advert_int 1
    virtual_ipaddress { fd00:9::100/128 dev veth0 }
}
";
        let Some(ka) = Keepalived::start(&p.a, "rx", conf) else {
            return;
        };
        let ib = p.b.ifindex("veth1");
        let open = |family, mode: RecvMode| {
            p.b.run(move || RecvSocket::open("veth1", ib, family, &mode))
                .unwrap()
        };
        let mut socks = [
            open(
                IpFamily::V4,
                RecvMode::Multicast {
                    group: "224.0.0.18".parse().unwrap(),
                },
            ),
            open(
                IpFamily::V4,
                RecvMode::Unicast {
                    local: Some("10.9.0.2".parse().unwrap()),
                },
            ),
            open(
                IpFamily::V6,
                RecvMode::Multicast {
                    group: "ff02::12".parse().unwrap(),
                },
            ),
        ];
        let mut got = [None, None, None];
        let deadline = Instant::now() + Duration::from_secs(15);
        while got.iter().any(Option::is_none) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            for (i, s) in socks.iter_mut().enumerate() {
                while let Some(pkt) = s.recv().unwrap() {
                    got[i].get_or_insert(pkt);
                }
            }
        }
        let log = ka.log();
        let [Some(mc), Some(uc), Some(v6)] = got else {
            panic!("missing adverts: {got:?}\nkeepalived log:\n{log}");
        };
        // IPv4 multicast, VRRPv2 with PASS auth: TTL 255, checksum valid over the message.
        assert_eq!((mc.ttl, mc.payload[0], mc.payload[1]), (255, 0x21, 51));
        assert_eq!(mc.dst, "224.0.0.18".parse::<IpAddr>().unwrap());
        assert_eq!(mc.src, "10.9.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(internet_checksum(&mc.payload), 0);
        assert_eq!(&mc.payload[mc.payload.len() - 8..], b"secret\0\0");
        // Unicast to our address.
        assert_eq!((uc.ttl, uc.payload[1]), (255, 52));
        assert_eq!(uc.dst, "10.9.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(uc.src, "10.9.0.1".parse::<IpAddr>().unwrap());
        // IPv6: VRRPv3 from the link-local address; the kernel verified keepalived's checksum.
        assert_eq!((v6.ttl, v6.payload[0], v6.payload[1]), (255, 0x31, 53));
        assert_eq!(v6.dst, "ff02::12".parse::<IpAddr>().unwrap());
        let IpAddr::V6(src6) = v6.src else { panic!() };
        assert_eq!(src6.segments()[0], 0xfe80, "{src6}");
    }

    /// VRRPv2 advert with PASS auth and one VIP, checksum filled in.
    fn v2_advert(vrid: u8, prio: u8, vip: Ipv4Addr, pass: &[u8; 8]) -> Vec<u8> {
        let mut a = vec![0x21, vrid, prio, 1, 1, 1, 0, 0];
        a.extend_from_slice(&vip.octets());
        a.extend_from_slice(pass);
        let c = internet_checksum(&a);
        a[6..8].copy_from_slice(&c.to_be_bytes());
        a
    }

    /// VRRPv3 IPv6 advert (100 cs interval); the kernel computes the checksum.
    fn v3_advert6(vrid: u8, prio: u8, vip: Ipv6Addr) -> Vec<u8> {
        let mut a = vec![0x31, vrid, prio, 1, 0x00, 100, 0, 0];
        a.extend_from_slice(&vip.octets());
        a
    }

    #[test]
    fn keepalived_accepts_our_adverts_ipv4_and_ipv6() {
        if !namespaces_available("interop_send") {
            return;
        }
        let p = veth_pair();
        let conf = "
global_defs { router_id rka_test_b }
vrrp_instance VI_4 {
    state BACKUP
    interface veth1
    virtual_router_id 61
    priority 100
    advert_int 1
    authentication { auth_type PASS
        auth_pass secret }
    virtual_ipaddress { 10.9.0.200/32 }
}
vrrp_instance VI_6 {
    state BACKUP
    interface veth1
    virtual_router_id 62
    priority 100
    advert_int 1
    virtual_ipaddress { fd00:9::200/128 }
}
";
        let Some(ka) = Keepalived::start(&p.b, "tx", conf) else {
            return;
        };
        let ia = p.a.ifindex("veth0");
        let tx4 =
            p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V4))
                .unwrap();
        let tx6 =
            p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V6))
                .unwrap();
        // RFC 5798 §5.1.2.2: IPv6 adverts come from the link-local address (after DAD).
        let deadline = Instant::now() + Duration::from_secs(10);
        let ll = loop {
            let t = p.a.run(InterfaceTable::load).unwrap();
            if let Some(ll) = t.by_name("veth0").and_then(|i| i.ipv6_ll()) {
                break ll;
            }
            assert!(Instant::now() < deadline, "no usable link-local on veth0");
            std::thread::sleep(Duration::from_millis(200));
        };
        let a4 = v2_advert(61, 200, Ipv4Addr::new(10, 9, 0, 200), b"secret\0\0");
        let a6 = v3_advert6(62, 200, "fd00:9::200".parse().unwrap());
        let g4: IpAddr = "224.0.0.18".parse().unwrap();
        let g6: IpAddr = "ff02::12".parse().unwrap();
        // Higher priority adverts every second for 6 s: keepalived must count them and stay
        // BACKUP (its master-down interval is ~3.6 s).
        for _ in 0..6 {
            tx4.send("10.9.0.1".parse().unwrap(), g4, 255, 1, &a4)
                .unwrap();
            tx6.send(IpAddr::V6(ll), g6, 255, 1, &a6).unwrap();
            std::thread::sleep(Duration::from_secs(1));
        }
        let r4 = ka.adverts_received("VI_4");
        let r6 = ka.adverts_received("VI_6");
        let log = ka.log();
        assert!(r4.unwrap_or(0) >= 4, "VI_4 received {r4:?}\n{log}");
        assert!(r6.unwrap_or(0) >= 4, "VI_6 received {r6:?}\n{log}");
        assert!(!log.contains("Entering MASTER STATE"), "{log}");
        assert!(!log.to_lowercase().contains("checksum"), "{log}");
    }
}

/// A receive socket hears its own interface only (SO_BINDTODEVICE; IP_MULTICAST_ALL off is a
/// second fence for the group membership),
/// even when another socket joined the same group on another interface.
#[test]
fn multicast_receive_sockets_are_isolated_per_interface() {
    if !namespaces_available("multicast_isolation") {
        return;
    }
    let p = veth_pair();
    p.a.ip(&format!(
        "link add veth2 type veth peer name veth3 netns {}",
        p.b.tid
    ));
    p.a.ip("addr add 10.9.1.1/24 dev veth2");
    p.b.ip("addr add 10.9.1.2/24 dev veth3");
    p.a.ip("link set veth2 up");
    p.b.ip("link set veth3 up");
    let i2 = p.a.ifindex("veth2");
    let i1 = p.b.ifindex("veth1");
    let i3 = p.b.ifindex("veth3");
    let group: IpAddr = Ipv4Addr::new(224, 0, 0, 18).into();
    let mode = RecvMode::Multicast { group };
    let (m1, m3) = (mode.clone(), mode);
    let mut rx1 =
        p.b.run(move || RecvSocket::open("veth1", i1, IpFamily::V4, &m1))
            .unwrap();
    let mut rx3 =
        p.b.run(move || RecvSocket::open("veth3", i3, IpFamily::V4, &m3))
            .unwrap();
    let tx =
        p.a.run(move || SendSocket::open("veth2", i2, IpFamily::V4))
            .unwrap();
    let got = send_until_received(
        &tx,
        &mut rx3,
        "10.9.1.1".parse().unwrap(),
        group,
        &advert(7),
    );
    assert_eq!(got.ifindex, i3);
    // Give a stray copy time to arrive on the wrong socket, then check there is none.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        rx1.recv().unwrap(),
        None,
        "veth1 socket heard veth3 traffic"
    );
}

/// Numbers only (no assertion on speed): raw-socket advert throughput across a veth pair.
#[test]
fn advert_throughput_numbers() {
    if !namespaces_available("throughput") {
        return;
    }
    let p = veth_pair();
    let ia = p.a.ifindex("veth0");
    let ib = p.b.ifindex("veth1");
    let group: IpAddr = Ipv4Addr::new(224, 0, 0, 18).into();
    let tx =
        p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V4))
            .unwrap();
    let mut rx = p
        .b
        .run(move || RecvSocket::open("veth1", ib, IpFamily::V4, &RecvMode::Multicast { group }))
        .unwrap();
    let src: IpAddr = Ipv4Addr::new(10, 9, 0, 1).into();
    send_until_received(&tx, &mut rx, src, group, &advert(9));
    while rx.recv().unwrap().is_some() {}
    const N: usize = 10_000;
    let start = Instant::now();
    let mut received = 0;
    for i in 0..N {
        tx.send(src, group, 255, 1, &advert(9)).unwrap();
        if i % 64 == 63 {
            while rx.recv().unwrap().is_some() {
                received += 1;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline && received < N {
        if readable(&rx, 50) {
            while rx.recv().unwrap().is_some() {
                received += 1;
            }
        }
    }
    let el = start.elapsed();
    println!(
        "sent {N} IPv4 adverts, received {received} in {el:?} ({:.1} µs per send+recv)",
        el.as_secs_f64() * 1e6 / N as f64
    );
    assert!(received > 0);
}

/// keepalived 2.3.3+ behaviour: a unicast receive socket opens before its address exists
/// (IP_FREEBIND) and starts receiving once the address is configured.
#[test]
fn unicast_receive_socket_opens_before_its_address_exists() {
    if !namespaces_available("freebind") {
        return;
    }
    let p = veth_pair();
    let ia = p.a.ifindex("veth0");
    let ib = p.b.ifindex("veth1");
    let local: IpAddr = Ipv4Addr::new(10, 9, 0, 50).into();
    let mode = RecvMode::Unicast { local: Some(local) };
    let mut rx =
        p.b.run(move || RecvSocket::open("veth1", ib, IpFamily::V4, &mode))
            .expect("bind to a not-yet-configured address");
    p.b.ip("addr add 10.9.0.50/24 dev veth1");
    let tx =
        p.a.run(move || SendSocket::open("veth0", ia, IpFamily::V4))
            .unwrap();
    let got = send_until_received(&tx, &mut rx, "10.9.0.1".parse().unwrap(), local, &advert(5));
    assert_eq!((got.dst, got.ttl), (local, 255));
}
