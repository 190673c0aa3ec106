//! E-mail alerts on VRRP transitions (`smtp_alert`), the pure part: what a mail says and the
//! SMTP client dialogue as a sans-IO state machine. `sys::smtp` owns the sockets and feeds
//! [`Session`] with connection events and bytes; nothing here reads a clock or touches a fd.
//!
//! keepalived compat (observed with keepalived 2.2.7 against a fake SMTP server): one TCP
//! connection per mail; `HELO <helo>`, `MAIL FROM:<from>`, one `RCPT TO:<addr>` per
//! recipient, `DATA`, the message, `QUIT`; every step waits for its reply with
//! `smtp_connect_timeout`; an unexpected reply code aborts the mail with `QUIT`. The message
//! headers are `Date`, `From`, `Subject`, `X-Mailer`, `To` in that order, CRLF line ends:
//!
//! ```text
//! Date: Sat, 05 Dec 2026 08:10:16 +0000
//! From: ka@example.net
//! Subject: [router1] VRRP Instance VI_1 - Entering MASTER state
//! X-Mailer: Keepalived
//! To: ops@example.com, second@example.org
//!
//! => VRRP Instance is now owning VRRP VIPs <=
//! ```

use std::fmt;
use std::net::SocketAddr;

use crate::time::{Duration, Instant};
use crate::vrrp::{NotifyKind, NotifyState};

/// Where and how alerts go: the resolved `global_defs` e-mail settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailConfig {
    /// `smtp_server ADDR [PORT]` (port 25 by default).
    pub server: SocketAddr,
    /// `smtp_helo_name` (default: the host name).
    pub helo: String,
    /// `notification_email_from` (default: `root@` + the host name).
    pub from: String,
    /// `notification_email { ... }`.
    pub to: Vec<String>,
    /// `smtp_connect_timeout` (default 30 s): for the connect and for each reply.
    pub timeout: Duration,
    /// `router_id` (default: the host name), in the subject.
    pub router_id: String,
}

/// The subject of the alert for `kind` `name` entering `state`.
pub fn subject(router_id: &str, kind: NotifyKind, name: &str, state: NotifyState) -> String {
    let what = match kind {
        NotifyKind::Instance => "Instance",
        NotifyKind::Group => "Group",
    };
    format!("[{router_id}] VRRP {what} {name} - Entering {state} state")
}

/// The one-line body of the alert.
pub fn body(kind: NotifyKind, state: NotifyState) -> String {
    match (kind, state) {
        (NotifyKind::Instance, NotifyState::Master) => {
            "=> VRRP Instance is now owning VRRP VIPs <=".into()
        }
        (NotifyKind::Instance, _) => "=> VRRP Instance is no longer owning VRRP VIPs <=".into(),
        (NotifyKind::Group, s) => format!("=> All VRRP group instances are now in {s} state <="),
    }
}

/// The DATA part of the mail: headers, blank line, body, dot-stuffed, ending with the
/// `.` line.
pub fn message(
    cfg: &MailConfig,
    kind: NotifyKind,
    name: &str,
    state: NotifyState,
    date: &str,
) -> String {
    let text = format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n\r\n",
        cfg.from,
        subject(&cfg.router_id, kind, name, state),
        cfg.to.join(", "),
        body(kind, state),
    );
    let mut out = String::with_capacity(text.len() + 3);
    for line in text.split_inclusive("\r\n") {
        // RFC 5321 §4.5.2: a line starting with '.' gets one more.
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    out.push_str(".\r\n");
    out
}

/// RFC 5322 date, `Sat, 05 Dec 2026 08:10:16 +0000`, from Unix seconds and the local UTC
/// offset in seconds.
pub fn rfc5322_date(unix_secs: i64, utc_offset_s: i32) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = unix_secs + i64::from(utc_offset_s);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sign = if utc_offset_s < 0 { '-' } else { '+' };
    let off = utc_offset_s.unsigned_abs() / 60;
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 60,
        off % 60,
    )
}

/// Where in the dialogue a mail failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Helo,
    MailFrom,
    Rcpt(String),
    Data,
    Message,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Connect => f.write_str("connect"),
            Stage::Greeting => f.write_str("greeting"),
            Stage::Helo => f.write_str("HELO"),
            Stage::MailFrom => f.write_str("MAIL FROM"),
            Stage::Rcpt(to) => write!(f, "RCPT TO:<{to}>"),
            Stage::Data => f.write_str("DATA"),
            Stage::Message => f.write_str("end of message"),
        }
    }
}

/// Why a mail was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailError {
    /// The server answered with an unexpected code (the reply's last line).
    Reply { stage: Stage, reply: String },
    /// No connection or no reply within `smtp_connect_timeout`.
    Timeout { stage: Stage, after: Duration },
    /// The server closed the connection before replying.
    Closed { stage: Stage },
    /// A socket error (the OS's words).
    Io { stage: Stage, error: String },
    /// A reply longer than [`MAX_REPLY`].
    TooLong { stage: Stage },
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Reply { stage, reply } => write!(f, "{stage}: server replied \"{reply}\""),
            MailError::Timeout {
                stage: Stage::Connect,
                after,
            } => write!(f, "connect: timed out after {} s", after.as_millis() / 1000),
            MailError::Timeout { stage, after } => {
                write!(f, "{stage}: no reply within {} s", after.as_millis() / 1000)
            }
            MailError::Closed { stage } => {
                write!(f, "{stage}: server closed the connection")
            }
            MailError::Io { stage, error } => write!(f, "{stage}: {error}"),
            MailError::TooLong { stage } => write!(f, "{stage}: reply too long"),
        }
    }
}

/// Longest reply accepted (all lines of one reply).
pub const MAX_REPLY: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Wait {
    Connect,
    Reply(Stage),
    /// QUIT queued: nothing more to wait for.
    Done,
}

/// How a mail ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed(MailError),
}

/// One mail's SMTP client dialogue, sans-IO: feed it [`Session::connected`],
/// [`Session::received`], [`Session::closed`], [`Session::io_error`] and
/// [`Session::handle_timeout`]; send what [`Session::take_output`] returns; stop when
/// [`Session::outcome`] is set (after sending the last output, which may be a `QUIT`).
#[derive(Debug)]
pub struct Session {
    helo: String,
    from: String,
    to: Vec<String>,
    next_rcpt: usize,
    message: String,
    timeout: Duration,
    wait: Wait,
    deadline: Instant,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    outcome: Option<Outcome>,
}

impl Session {
    /// A mail of `message` (from [`message`]), connecting now.
    pub fn new(now: Instant, cfg: &MailConfig, message: String) -> Session {
        Session {
            helo: cfg.helo.clone(),
            from: cfg.from.clone(),
            to: cfg.to.clone(),
            next_rcpt: 0,
            message,
            timeout: cfg.timeout,
            wait: Wait::Connect,
            deadline: now + cfg.timeout,
            inbuf: Vec::new(),
            out: Vec::new(),
            outcome: None,
        }
    }

    fn stage(&self) -> Stage {
        match &self.wait {
            Wait::Connect => Stage::Connect,
            Wait::Reply(s) => s.clone(),
            Wait::Done => Stage::Message,
        }
    }

    /// The TCP connection is established: wait for the greeting.
    pub fn connected(&mut self, now: Instant) {
        if self.wait == Wait::Connect {
            self.expect(now, Stage::Greeting);
        }
    }

    fn expect(&mut self, now: Instant, stage: Stage) {
        self.wait = Wait::Reply(stage);
        self.deadline = now + self.timeout;
    }

    fn send_cmd(&mut self, now: Instant, cmd: &str, stage: Stage) {
        self.out.extend_from_slice(cmd.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.expect(now, stage);
    }

    fn fail(&mut self, e: MailError, quit: bool) {
        if self.outcome.is_none() {
            if quit {
                self.out.extend_from_slice(b"QUIT\r\n");
            }
            self.wait = Wait::Done;
            self.outcome = Some(Outcome::Failed(e));
        }
    }

    /// Bytes from the server.
    pub fn received(&mut self, now: Instant, data: &[u8]) {
        if self.outcome.is_some() {
            return;
        }
        self.inbuf.extend_from_slice(data);
        while self.outcome.is_none() {
            let Some(reply) = self.take_reply() else {
                if self.inbuf.len() > MAX_REPLY {
                    let stage = self.stage();
                    self.fail(MailError::TooLong { stage }, true);
                }
                return;
            };
            self.on_reply(now, reply);
        }
    }

    /// One complete reply off the input: (code, last line). RFC 5321 §4.2.1: lines
    /// `DDD-text` continue it, `DDD text` (or just `DDD`) ends it.
    fn take_reply(&mut self) -> Option<(u16, String)> {
        let mut start = 0;
        while let Some(nl) = self.inbuf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl + 1;
            let line = String::from_utf8_lossy(&self.inbuf[start..end])
                .trim_end()
                .to_string();
            let b = line.as_bytes();
            let last = b.len() < 4 || b[3] != b'-';
            start = end;
            if last {
                self.inbuf.drain(..end);
                let code = line
                    .get(..3)
                    .filter(|c| c.bytes().all(|x| x.is_ascii_digit()))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                return Some((code, line));
            }
        }
        None
    }

    fn on_reply(&mut self, now: Instant, (code, line): (u16, String)) {
        let Wait::Reply(stage) = self.wait.clone() else {
            // Not waiting (connect not reported yet, or done): ignore.
            return;
        };
        let ok = match stage {
            Stage::Greeting => code == 220,
            Stage::Data => code == 354,
            _ => (200..300).contains(&code),
        };
        if !ok {
            self.fail(MailError::Reply { stage, reply: line }, true);
            return;
        }
        match stage {
            Stage::Connect => {}
            Stage::Greeting => {
                let cmd = format!("HELO {}", self.helo);
                self.send_cmd(now, &cmd, Stage::Helo);
            }
            Stage::Helo => {
                let cmd = format!("MAIL FROM:<{}>", self.from);
                self.send_cmd(now, &cmd, Stage::MailFrom);
            }
            Stage::MailFrom | Stage::Rcpt(_) => match self.to.get(self.next_rcpt).cloned() {
                Some(to) => {
                    self.next_rcpt += 1;
                    self.send_cmd(now, &format!("RCPT TO:<{to}>"), Stage::Rcpt(to));
                }
                None => self.send_cmd(now, "DATA", Stage::Data),
            },
            Stage::Data => {
                let m = std::mem::take(&mut self.message);
                self.out.extend_from_slice(m.as_bytes());
                self.expect(now, Stage::Message);
            }
            Stage::Message => {
                self.out.extend_from_slice(b"QUIT\r\n");
                self.wait = Wait::Done;
                self.outcome = Some(Outcome::Sent);
            }
        }
    }

    /// The server closed the connection (EOF).
    pub fn closed(&mut self) {
        let stage = self.stage();
        self.fail(MailError::Closed { stage }, false);
    }

    /// A socket error (connect or later).
    pub fn io_error(&mut self, error: String) {
        let stage = self.stage();
        self.fail(MailError::Io { stage, error }, false);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.outcome.is_none() && now >= self.deadline {
            let stage = self.stage();
            let quit = stage != Stage::Connect;
            let after = self.timeout;
            self.fail(MailError::Timeout { stage, after }, quit);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outcome.is_none().then_some(self.deadline)
    }

    /// Bytes to send now (empty if none).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Bytes not sent: give them back (the rest of a short write).
    pub fn unsent(&mut self, rest: &[u8]) {
        let mut v = rest.to_vec();
        v.extend_from_slice(&self.out);
        self.out = v;
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Set once the mail is sent or failed.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MailConfig {
        MailConfig {
            server: "127.0.0.1:25".parse().unwrap(),
            helo: "vm".into(),
            from: "ka@example.net".into(),
            to: vec!["ops@example.com".into(), "second@example.org".into()],
            timeout: Duration::from_secs(30),
            router_id: "obsrouter".into(),
        }
    }

    #[test]
    fn message_matches_keepalived_227() {
        // Captured from keepalived 2.2.7 (fake SMTP server, same settings).
        let m = message(
            &cfg(),
            NotifyKind::Instance,
            "VI_1",
            NotifyState::Master,
            "Sat, 05 Dec 2026 08:10:16 +0000",
        );
        assert_eq!(
            m,
            "Date: Sat, 05 Dec 2026 08:10:16 +0000\r\nFrom: ka@example.net\r\nSubject: [obsrouter] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\nTo: ops@example.com, second@example.org\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\n"
        );
        let b = message(
            &cfg(),
            NotifyKind::Instance,
            "VI_1",
            NotifyState::Backup,
            "D",
        );
        assert!(b.contains("Entering BACKUP state\r\n"));
        assert!(b.contains("\r\n\r\n=> VRRP Instance is no longer owning VRRP VIPs <=\r\n"));
        let f = message(
            &cfg(),
            NotifyKind::Instance,
            "VI_1",
            NotifyState::Fault,
            "D",
        );
        assert!(f.contains("Entering FAULT state\r\n"));
        assert!(f.contains("is no longer owning VRRP VIPs"));
        let g = message(&cfg(), NotifyKind::Group, "G1", NotifyState::Fault, "D");
        assert!(g.contains("Subject: [obsrouter] VRRP Group G1 - Entering FAULT state\r\n"));
        assert!(g.contains("\r\n\r\n=> All VRRP group instances are now in FAULT state <=\r\n"));
    }

    #[test]
    fn dot_lines_are_stuffed() {
        let c = MailConfig {
            router_id: "r".into(),
            ..cfg()
        };
        let m = message(&c, NotifyKind::Instance, "x", NotifyState::Master, "D");
        assert!(m.ends_with("<=\r\n\r\n.\r\n"));
        assert!(!m[..m.len() - 3].contains("\r\n.\r\n"));
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0, 0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // keepalived 2.2.7 stamped this second as "Sat, 05 Dec 2026 08:10:16 +0000".
        assert_eq!(
            rfc5322_date(1_796_458_216, 0),
            "Sat, 05 Dec 2026 08:10:16 +0000"
        );
        assert_eq!(
            rfc5322_date(1_796_458_216, 3600 + 1800),
            "Sat, 05 Dec 2026 09:40:16 +0130"
        );
        assert_eq!(
            rfc5322_date(951_782_400, -5 * 3600),
            "Mon, 28 Feb 2000 19:00:00 -0500"
        );
        assert_eq!(
            rfc5322_date(951_825_600, 0),
            "Tue, 29 Feb 2000 12:00:00 +0000"
        );
    }

    fn t(s: u64) -> Instant {
        Instant::from_micros(s * 1_000_000)
    }

    /// Drives a session through a server script; returns the client's lines.
    fn drive(s: &mut Session, replies: &[&str]) -> Vec<String> {
        let mut sent = Vec::new();
        s.connected(t(1));
        for r in replies {
            s.received(t(1), r.as_bytes());
            let out = String::from_utf8(s.take_output()).unwrap();
            sent.extend(out.split_inclusive("\r\n").map(str::to_string));
        }
        sent
    }

    #[test]
    fn dialogue_like_keepalived() {
        let msg = message(
            &cfg(),
            NotifyKind::Instance,
            "VI_1",
            NotifyState::Master,
            "D",
        );
        let mut s = Session::new(t(0), &cfg(), msg.clone());
        assert_eq!(s.poll_timeout(), Some(t(30)));
        let sent = drive(
            &mut s,
            &[
                "220-fake ESMTP\r\n",
                "220 second line\r\n",
                "250-fake\r\n250 HELP\r\n",
                "250 OK\r\n",
                "250 OK\r\n",
                "251 forwarded\r\n",
                "354 go ahead\r\n",
                "250 queued\r\n",
            ],
        );
        let mut want: Vec<String> = [
            "HELO vm\r\n",
            "MAIL FROM:<ka@example.net>\r\n",
            "RCPT TO:<ops@example.com>\r\n",
            "RCPT TO:<second@example.org>\r\n",
            "DATA\r\n",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        want.extend(msg.split_inclusive("\r\n").map(str::to_string));
        want.push("QUIT\r\n".into());
        assert_eq!(sent, want);
        assert_eq!(s.outcome(), Some(&Outcome::Sent));
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn replies_split_anywhere() {
        let mut s = Session::new(t(0), &cfg(), "m\r\n.\r\n".into());
        s.connected(t(0));
        for b in b"22" {
            s.received(t(0), &[*b]);
        }
        assert!(!s.has_output());
        s.received(t(0), b"0 hi\r");
        assert!(!s.has_output());
        s.received(t(0), b"\n");
        assert_eq!(s.take_output(), b"HELO vm\r\n");
    }

    #[test]
    fn refused_recipient_aborts_with_quit() {
        let mut s = Session::new(t(0), &cfg(), "m".into());
        let sent = drive(
            &mut s,
            &[
                "220 hi\r\n",
                "250 ok\r\n",
                "250 ok\r\n",
                "550 no such user\r\n",
            ],
        );
        assert_eq!(sent.last().map(String::as_str), Some("QUIT\r\n"));
        let Some(Outcome::Failed(e)) = s.outcome() else {
            panic!("{:?}", s.outcome())
        };
        assert_eq!(
            e.to_string(),
            "RCPT TO:<ops@example.com>: server replied \"550 no such user\""
        );
    }

    #[test]
    fn bad_greeting_and_closed_and_io() {
        let mut s = Session::new(t(0), &cfg(), "m".into());
        let sent = drive(&mut s, &["421 go away\r\n"]);
        assert_eq!(sent, vec!["QUIT\r\n"]);
        assert_eq!(
            s.outcome().unwrap(),
            &Outcome::Failed(MailError::Reply {
                stage: Stage::Greeting,
                reply: "421 go away".into()
            })
        );
        let mut s = Session::new(t(0), &cfg(), "m".into());
        drive(&mut s, &["220 hi\r\n"]);
        s.closed();
        assert_eq!(
            s.outcome().unwrap(),
            &Outcome::Failed(MailError::Closed { stage: Stage::Helo })
        );
        assert!(!s.has_output());
        let mut s = Session::new(t(0), &cfg(), "m".into());
        s.io_error("Connection refused (os error 111)".into());
        let Some(Outcome::Failed(e)) = s.outcome() else {
            panic!()
        };
        assert_eq!(e.to_string(), "connect: Connection refused (os error 111)");
    }

    #[test]
    fn timeouts_per_step() {
        let mut s = Session::new(t(0), &cfg(), "m".into());
        s.handle_timeout(t(29));
        assert!(s.outcome().is_none());
        s.handle_timeout(t(30));
        assert_eq!(
            s.outcome().unwrap().clone(),
            Outcome::Failed(MailError::Timeout {
                stage: Stage::Connect,
                after: Duration::from_secs(30)
            })
        );
        assert!(!s.has_output(), "no QUIT without a connection");
        let Some(Outcome::Failed(e)) = s.outcome() else {
            panic!()
        };
        assert_eq!(e.to_string(), "connect: timed out after 30 s");

        // Each reply has its own timeout, from when the command was sent.
        let mut s = Session::new(t(0), &cfg(), "m".into());
        s.connected(t(20));
        assert_eq!(s.poll_timeout(), Some(t(50)));
        s.received(t(40), b"220 hi\r\n");
        assert_eq!(s.poll_timeout(), Some(t(70)));
        s.handle_timeout(t(70));
        assert_eq!(s.take_output(), b"HELO vm\r\nQUIT\r\n");
        let Some(Outcome::Failed(e)) = s.outcome() else {
            panic!()
        };
        assert_eq!(e.to_string(), "HELO: no reply within 30 s");
    }

    #[test]
    fn endless_reply_is_cut() {
        let mut s = Session::new(t(0), &cfg(), "m".into());
        s.connected(t(0));
        let junk = vec![b'x'; MAX_REPLY + 1];
        s.received(t(0), &junk);
        assert!(matches!(
            s.outcome(),
            Some(Outcome::Failed(MailError::TooLong { .. }))
        ));
    }
}
