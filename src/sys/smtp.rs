//! E-mail alerts, the I/O half: one non-blocking TCP connection per mail, registered with the
//! daemon's mio `Poll` and driven by readiness; the dialogue is [`crate::mail::Session`].
//! Nothing here blocks: connect is asynchronous, reads and writes stop at `WouldBlock`, and
//! every step is bounded by the session's deadline (`smtp_connect_timeout`), which the daemon
//! folds into its one timer through [`Mailer::poll_timeout`].

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

use log::{info, warn};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::mail::{MailConfig, Outcome, Session};
use crate::time::Instant;

/// Mails in flight, each with its own token `base + slot`.
pub struct Mailer {
    base: usize,
    slots: Vec<Option<Conn>>,
}

struct Conn {
    stream: TcpStream,
    session: Session,
    server: SocketAddr,
    connected: bool,
    subject: String,
}

/// keepalived's way of writing a server address in its SMTP log lines: `[addr]:port`.
pub fn server_name(a: &SocketAddr) -> String {
    format!("[{}]:{}", a.ip(), a.port())
}

/// The OS's words for an I/O error, without Rust's "(os error N)" suffix.
fn describe(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

impl Mailer {
    /// Connections use tokens from `token_base` on.
    pub fn new(token_base: usize) -> Mailer {
        Mailer {
            base: token_base,
            slots: Vec::new(),
        }
    }

    pub fn owns(&self, t: Token) -> bool {
        t.0 >= self.base
    }

    /// Mails not finished yet.
    pub fn in_flight(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Start sending `message` (the DATA part, see [`crate::mail::message`]); `subject` is
    /// for the log. Never blocks; a failure to even start is logged here.
    pub fn start(
        &mut self,
        reg: &Registry,
        now: Instant,
        cfg: &MailConfig,
        subject: String,
        message: String,
    ) {
        let server = cfg.server;
        let mut stream = match TcpStream::connect(server) {
            Ok(s) => s,
            Err(e) => {
                warn!(
                    "cannot send mail alert to {}: connect: {}",
                    server_name(&server),
                    describe(&e)
                );
                return;
            }
        };
        let idx = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let token = Token(self.base + idx);
        if let Err(e) = reg.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
            warn!(
                "cannot send mail alert to {}: epoll_ctl(ADD): {}",
                server_name(&server),
                describe(&e)
            );
            return;
        }
        self.slots[idx] = Some(Conn {
            stream,
            session: Session::new(now, cfg, message),
            server,
            connected: false,
            subject,
        });
    }

    /// Readiness on `token`: make what progress the socket allows.
    pub fn ready(&mut self, reg: &Registry, t: Token, now: Instant) {
        let idx = t.0 - self.base;
        if let Some(Some(c)) = self.slots.get_mut(idx) {
            c.drive(now);
        }
        self.reap(reg, idx);
    }

    /// Deadlines: a connect or a reply that took longer than `smtp_connect_timeout`.
    pub fn handle_timeout(&mut self, reg: &Registry, now: Instant) {
        for idx in 0..self.slots.len() {
            if let Some(c) = &mut self.slots[idx] {
                c.session.handle_timeout(now);
                if c.session.outcome().is_some() {
                    c.flush();
                }
            }
            self.reap(reg, idx);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .filter_map(|c| c.session.poll_timeout())
            .min()
    }

    /// Close a finished mail, logging how it ended.
    fn reap(&mut self, reg: &Registry, idx: usize) {
        let done = matches!(self.slots.get(idx), Some(Some(c)) if c.session.outcome().is_some());
        if !done {
            return;
        }
        let Some(mut c) = self.slots[idx].take() else {
            return;
        };
        let _ = reg.deregister(&mut c.stream);
        match c.session.outcome() {
            Some(Outcome::Sent) => info!(
                "SMTP alert successfully sent to {} ({})",
                server_name(&c.server),
                c.subject
            ),
            Some(Outcome::Failed(e)) => warn!(
                "cannot send mail alert to {}: {e} ({})",
                server_name(&c.server),
                c.subject
            ),
            None => {}
        }
        // Dropping the stream closes it (after the QUIT, if it could be written).
    }
}

impl Conn {
    fn drive(&mut self, now: Instant) {
        if !self.connected {
            match self.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    self.session.io_error(describe(&e));
                    return;
                }
            }
            match self.stream.peer_addr() {
                Ok(_) => {
                    self.connected = true;
                    info!(
                        "Remote SMTP server {} connected.",
                        server_name(&self.server)
                    );
                    self.session.connected(now);
                }
                // Still connecting: a spurious wake-up.
                Err(e) if e.kind() == ErrorKind::NotConnected => return,
                Err(e) => {
                    self.session.io_error(describe(&e));
                    return;
                }
            }
        }
        // Edge-triggered: read until WouldBlock.
        let mut buf = [0u8; 2048];
        while self.session.outcome().is_none() {
            match self.stream.read(&mut buf) {
                Ok(0) => self.session.closed(),
                Ok(n) => {
                    self.session.received(now, &buf[..n]);
                    self.flush();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => self.session.io_error(describe(&e)),
            }
        }
        self.flush();
    }

    /// Write what the session has to say, keeping the rest for the next writable event.
    fn flush(&mut self) {
        let out = self.session.take_output();
        let mut off = 0;
        while off < out.len() {
            match self.stream.write(&out[off..]) {
                Ok(0) => break,
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.session.io_error(describe(&e));
                    return;
                }
            }
        }
        if off < out.len() {
            self.session.unsent(&out[off..]);
        }
    }
}

/// The local time now as an RFC 5322 date (`Sat, 05 Dec 2026 08:10:16 +0000`).
pub fn local_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // time_t is i64 on x86_64 (glibc and musl >= 1.2); naming the alias warns on musl.
    let t: i64 = secs;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `t` and writes only into `tm`, both valid for the call.
    let r = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    let offset = if r.is_null() {
        0
    } else {
        // SAFETY: localtime_r succeeded, so it filled `tm` (which was zeroed before anyway,
        // a valid `tm`: integers and a null tm_zone).
        unsafe { tm.assume_init() }.tm_gmtoff as i32
    };
    crate::mail::rfc5322_date(secs, offset)
}
