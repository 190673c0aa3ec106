//! `smtp_alert` e-mail alerts in network namespaces: a fake SMTP server (a thread of this test
//! that entered the node's network namespace) records what keepalived 2.2.7 and rkeepalived send
//! for the same config, and the two dialogues must be the same apart from the Date header; and an
//! SMTP server that never answers (an address nobody has) must not delay a failover.
//!
//! Needs root and Debian's keepalived; skips with a printed reason otherwise, and fails instead
//! when `CI` is set. Addresses (only inside the lab's namespaces): node1 10.16.200.11/16,
//! node2 10.16.200.12/16 on `eth1`; VIP 10.16.200.200; the dead SMTP server 10.16.200.99.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::daemon_ext::{Inst, conf};
use common::interop_ext::{Impl, KEEPALIVED, spawn_text};
use common::netns::{Lab, require_root_or_skip, require_tools_or_skip, step, wait_until};

const VIP: &str = "10.16.200.200/16";
const PORT: u16 = 2525;

/// One SMTP session as the server saw it: every line the client sent (CRLF kept).
type Transcript = Vec<String>;

/// A minimal SMTP server on 127.0.0.1:PORT inside a node's network namespace: 220 greeting,
/// 250 for everything, 354 for DATA, 221 for QUIT; records each session.
struct FakeSmtp {
    sessions: Arc<Mutex<Vec<Transcript>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeSmtp {
    fn start(netns: &str) -> FakeSmtp {
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (s2, stop2) = (sessions.clone(), stop.clone());
        let ns_path = format!("/run/netns/{netns}");
        let thread = std::thread::spawn(move || {
            // setns affects this thread only.
            let f = std::fs::File::open(&ns_path).expect("open netns");
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let l = TcpListener::bind(("127.0.0.1", PORT)).expect("bind fake smtp");
            l.set_nonblocking(true).expect("nonblocking");
            tx.send(()).expect("ready");
            while !stop2.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let s3 = s2.clone();
                        std::thread::spawn(move || serve(c, &s3));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("fake SMTP server did not start");
        FakeSmtp {
            sessions,
            stop,
            thread: Some(thread),
        }
    }

    fn sessions(&self) -> Vec<Transcript> {
        self.sessions.lock().expect("sessions").clone()
    }

    /// Waits for a finished session whose message contains `needle`.
    fn wait_for(&self, needle: &str, limit: Duration) -> Option<Transcript> {
        let mut found = None;
        wait_until(limit, Duration::from_millis(20), || {
            found = self
                .sessions()
                .into_iter()
                .find(|t| t.iter().any(|l| l.contains(needle)));
            found.is_some()
        });
        found
    }

    fn clear(&self) {
        self.sessions.lock().expect("sessions").clear();
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(c: TcpStream, out: &Mutex<Vec<Transcript>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let mut w = c.try_clone().expect("clone");
    let mut r = BufReader::new(c);
    let mut t = Vec::new();
    let _ = w.write_all(b"220 fake.test ESMTP\r\n");
    let mut data = false;
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        t.push(line.clone());
        let reply: &[u8] = if data {
            if line != ".\r\n" {
                continue;
            }
            data = false;
            b"250 queued\r\n"
        } else if line.starts_with("DATA") {
            data = true;
            b"354 go ahead\r\n"
        } else if line.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n");
            break;
        } else {
            b"250 OK\r\n"
        };
        let _ = w.write_all(reply);
    }
    out.lock().expect("sessions").push(t);
}

/// A transcript with the Date header's value blanked.
fn normalized(t: &Transcript) -> Transcript {
    t.iter()
        .map(|l| {
            if l.starts_with("Date: ") {
                "Date: <date>\r\n".to_string()
            } else {
                l.clone()
            }
        })
        .collect()
}

fn lab(tag: &str, nodes: usize) -> Lab {
    let mut lab = Lab::new(tag);
    for i in 1..=nodes {
        lab.add_node(
            &format!("node{i}"),
            "eth1",
            &[&format!("10.16.200.1{i}/16")],
        );
    }
    lab
}

fn mail_globals(server: &str, timeout: u32) -> String {
    format!(
        "    notification_email {{\n        ops@example.com\n        second@example.org\n    }}\n\
         \x20   notification_email_from keepalived@example.net\n\
         \x20   smtp_server {server}\n\
         \x20   smtp_helo_name lb1.example.net\n\
         \x20   smtp_connect_timeout {timeout}\n\
         \x20   smtp_alert\n"
    )
}

#[test]
fn master_mail_is_the_same_as_keepalived_227() {
    if !(require_root_or_skip() && require_tools_or_skip(&[KEEPALIVED])) {
        return;
    }
    let lab = lab("smtp-cmp", 1);
    let smtp = FakeSmtp::start(lab.ns("node1"));
    let text = conf(
        "lb1",
        &mail_globals(&format!("127.0.0.1 {PORT}"), 10),
        &[Inst {
            state: "MASTER",
            vips: vec![VIP.into()],
            ..Default::default()
        }],
    );
    let mut got = Vec::new();
    for imp in [Impl::Ka, Impl::Rk] {
        smtp.clear();
        let mut peer = spawn_text(&lab, "node1", imp, &text);
        step(format!("{}: wait for the MASTER mail", imp.name()));
        let t = smtp
            .wait_for("Entering MASTER state", Duration::from_secs(15))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no MASTER mail; sessions {:?}\n{}",
                    imp.name(),
                    smtp.sessions(),
                    peer.handle.log()
                )
            });
        // The initial BACKUP mail went too.
        assert!(
            smtp.sessions()
                .iter()
                .any(|t| t.iter().any(|l| l.contains("Entering BACKUP state"))),
            "{}: no BACKUP (init) mail: {:?}",
            imp.name(),
            smtp.sessions()
        );
        peer.stop();
        got.push(normalized(&t));
    }
    let want: Vec<&str> = vec![
        "HELO lb1.example.net\r\n",
        "MAIL FROM:<keepalived@example.net>\r\n",
        "RCPT TO:<ops@example.com>\r\n",
        "RCPT TO:<second@example.org>\r\n",
        "DATA\r\n",
        "Date: <date>\r\n",
        "From: keepalived@example.net\r\n",
        "Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n",
        "X-Mailer: Keepalived\r\n",
        "To: ops@example.com, second@example.org\r\n",
        "\r\n",
        "=> VRRP Instance is now owning VRRP VIPs <=\r\n",
        "\r\n",
        ".\r\n",
        "QUIT\r\n",
    ];
    assert_eq!(got[0], want, "keepalived 2.2.7's dialogue changed");
    assert_eq!(
        got[1], got[0],
        "rkeepalived's dialogue differs from keepalived's"
    );
}

#[test]
fn dead_smtp_server_does_not_delay_failover() {
    if !require_root_or_skip() {
        return;
    }
    let lab = lab("smtp-dead", 2);
    // node1: master, no mail. node2: backup whose mails go to an address nobody has; a
    // permanent neighbour entry for it makes the SYNs go out unanswered, so each connect hangs
    // until smtp_connect_timeout (without it the kernel gives up after 3 s of ARP).
    let n1 = conf(
        "n1",
        "",
        &[Inst {
            state: "MASTER",
            prio: 200,
            vips: vec![VIP.into()],
            ..Default::default()
        }],
    );
    let n2 = conf(
        "n2",
        &mail_globals("10.16.200.99", 8),
        &[Inst {
            prio: 100,
            vips: vec![VIP.into()],
            ..Default::default()
        }],
    );
    lab.exec_ok(
        "node2",
        &[
            "ip",
            "neigh",
            "replace",
            "10.16.200.99",
            "lladdr",
            "02:00:00:00:00:99",
            "dev",
            "eth1",
            "nud",
            "permanent",
        ],
    );
    let mut p1 = spawn_text(&lab, "node1", Impl::Rk, &n1);
    p1.handle
        .wait_log("Entering MASTER STATE", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("node1 not MASTER: {e}\n{}", p1.handle.log()));
    let p2 = spawn_text(&lab, "node2", Impl::Rk, &n2);
    p2.handle
        .wait_log("Entering BACKUP STATE", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("node2 not BACKUP: {e}\n{}", p2.handle.log()));
    // The BACKUP mail's connect is now hanging; fail over while it does.
    step("stop node1 while node2's mail connect hangs");
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    p1.stop();
    let took = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        lab.addrs("node2", "eth1").iter().any(|(a, _)| a == VIP)
    })
    .unwrap_or_else(|| panic!("node2 did not take the VIP\n{}", p2.handle.log()));
    let elapsed = t0.elapsed();
    step(format!(
        "node2 took over {:.3} s after the stop",
        took.as_secs_f64()
    ));
    // Priority 0 from node1: node2 takes over after its skew time (0.61 s), far below the
    // 8 s a blocking connect would take.
    assert!(
        elapsed < Duration::from_secs(3),
        "failover took {elapsed:?}\n{}",
        p2.handle.log()
    );
    let log = p2.handle.log();
    assert!(
        !log.contains("cannot send mail alert"),
        "the BACKUP mail failed before its 8 s timeout:\n{log}"
    );
    // Each mail (BACKUP init, MASTER) fails once, saying why.
    let failed = "cannot send mail alert to [10.16.200.99]:25: connect: timed out after 8 s";
    let ok = wait_until(Duration::from_secs(15), Duration::from_millis(100), || {
        p2.handle.log().matches(failed).count() >= 2
    });
    let log = p2.handle.log();
    assert!(ok.is_some(), "expected two failure lines:\n{log}");
    assert_eq!(log.matches("cannot send mail alert").count(), 2, "{log}");
    assert!(log.contains(&format!(
        "{failed} ([n2] VRRP Instance VI_1 - Entering BACKUP state)"
    )));
    assert!(log.contains(&format!(
        "{failed} ([n2] VRRP Instance VI_1 - Entering MASTER state)"
    )));
}
