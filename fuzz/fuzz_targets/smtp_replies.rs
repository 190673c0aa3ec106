//! The SMTP client session (`mail::Session`, `smtp_alert`) on arbitrary server bytes, split at
//! arbitrary points. Input: a flags byte (recipients, mode), a seed byte for the split points
//! (and, in event mode, for what happens between chunks: connect reported late, short writes,
//! timeouts, EOF, socket errors), then the bytes the server sends.
//!
//! It must never panic, and what the client sends must always be a prefix of the one correct
//! dialogue (`HELO`, `MAIL FROM`, one `RCPT TO` per recipient, `DATA`, the message), followed
//! by `QUIT` only once the mail is over; `Sent` only with the whole dialogue. Without events,
//! the way the bytes are split must not matter: same output and outcome as all in one read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rkeepalived::mail::{self, MailConfig, Outcome, Session};
use rkeepalived::time::{Duration, Instant};
use rkeepalived::vrrp::{NotifyKind, NotifyState};

fn cfg(recipients: usize) -> MailConfig {
    MailConfig {
        server: "127.0.0.1:25".parse().unwrap(),
        helo: "vm".into(),
        from: "ka@example.net".into(),
        to: ["ops@example.com", "second@example.org", "x@y"][..recipients]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        timeout: Duration::from_secs(30),
        router_id: "r1".into(),
    }
}

/// Split points and events: xorshift from the seed byte.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

struct Run {
    session: Session,
    sent: Vec<u8>,
}

impl Run {
    fn new(cfg: &MailConfig, message: &str) -> Run {
        Run {
            session: Session::new(Instant::from_micros(0), cfg, message.to_string()),
            sent: Vec::new(),
        }
    }
    fn flush(&mut self) {
        let out = self.session.take_output();
        self.sent.extend_from_slice(&out);
    }
}

/// What the client sent so far is right: `flushed` = all its output has been taken.
fn check(run: &Run, dialogue: &[u8], flushed: bool) {
    let s = &run.session;
    const QUIT: &[u8] = b"QUIT\r\n";
    let full = [dialogue, QUIT].concat();
    match s.outcome() {
        None => {
            assert!(dialogue.starts_with(&run.sent), "{:?}", lossy(&run.sent));
            assert!(s.poll_timeout().is_some());
        }
        Some(Outcome::Sent) => {
            if flushed {
                assert_eq!(lossy(&run.sent), lossy(&full));
            } else {
                assert!(full.starts_with(&run.sent), "{:?}", lossy(&run.sent));
            }
            assert!(s.poll_timeout().is_none());
        }
        Some(Outcome::Failed(e)) => {
            let _ = e.to_string();
            // A prefix of the dialogue, then (part of) QUIT.
            let same = run
                .sent
                .iter()
                .zip(dialogue)
                .take_while(|(a, b)| a == b)
                .count();
            let tail = &run.sent[same..];
            assert!(QUIT.starts_with(tail), "{:?}", lossy(&run.sent));
            assert!(!flushed || tail.is_empty() || tail == QUIT);
            assert!(s.poll_timeout().is_none());
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, ref server @ ..] = *data else {
        return;
    };
    let recipients = usize::from(flags % 4);
    let events = flags & 4 != 0;
    let cfg = cfg(recipients);
    let message = mail::message(
        &cfg,
        NotifyKind::Instance,
        "VI_1",
        NotifyState::Master,
        "Thu, 01 Jan 1970 00:00:00 +0000",
    );
    let mut dialogue = format!("HELO {}\r\nMAIL FROM:<{}>\r\n", cfg.helo, cfg.from);
    for to in &cfg.to {
        dialogue.push_str(&format!("RCPT TO:<{to}>\r\n"));
    }
    dialogue.push_str("DATA\r\n");
    dialogue.push_str(&message);
    let dialogue = dialogue.as_bytes();

    let mut rng = Rng(u32::from(seed) << 8 | u32::from(flags) | 0x1_0000);
    let mut now = Instant::from_micros(0);
    let mut run = Run::new(&cfg, &message);
    let mut late_connect = events && rng.next() % 4 == 0;
    if !late_connect {
        run.session.connected(now);
    }
    let mut rest = server;
    while !rest.is_empty() {
        let n = (rng.next() as usize % 16 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        run.session.received(now, chunk);
        if events {
            match rng.next() % 16 {
                0 if late_connect => {
                    late_connect = false;
                    run.session.connected(now);
                }
                1 => {
                    // A short write: part of the output sent, the rest given back.
                    let out = run.session.take_output();
                    let k = rng.next() as usize % (out.len() + 1);
                    run.sent.extend_from_slice(&out[..k]);
                    run.session.unsent(&out[k..]);
                }
                2 => {
                    now += Duration::from_secs(u64::from(rng.next() % 40));
                    run.session.handle_timeout(now);
                }
                3 if rng.next() % 8 == 0 => run.session.closed(),
                4 if rng.next() % 8 == 0 => run.session.io_error("os error 104".into()),
                _ => run.flush(),
            }
        } else {
            run.flush();
        }
        check(&run, dialogue, !run.session.has_output());
    }
    run.flush();
    check(&run, dialogue, true);

    if !events {
        // Split-invariance: the same bytes in one read.
        let mut whole = Run::new(&cfg, &message);
        whole.session.connected(Instant::from_micros(0));
        whole.session.received(Instant::from_micros(0), server);
        whole.flush();
        assert_eq!(lossy(&whole.sent), lossy(&run.sent));
        assert_eq!(whole.session.outcome(), run.session.outcome());
    }
});
