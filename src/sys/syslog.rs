//! The daemon's `log` backend: RFC 3164-style datagrams to /dev/log
//! (`<PRI>Mmm dd hh:mm:ss rkeepalived[PID]: msg`, facility from `-S`) and/or console lines on
//! stderr (`-l`). Under systemd (stderr is the journal stream named by `$JOURNAL_STREAM`)
//! console lines carry a `<N>` priority prefix instead of a timestamp, which journald turns
//! into the entry's priority.
//!
//! Levels: error/warn/info are always logged; `-D` (detail) adds debug. Daemon code logs
//! keepalived's "LOG_DETAIL" messages at debug level.
//!
//! If /dev/log is missing or refuses a message, the logger falls back to stderr (once, and
//! silently: there is nowhere better to report it).

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Where syslog datagrams go.
pub const SYSLOG_PATH: &str = "/dev/log";
/// Longest message sent to syslog; longer ones are cut at a character boundary.
const MAX_SYSLOG_MSG: usize = 8_192;

/// `-S` / `--log-facility`: `0`-`7` (= local0-7), `local0`-`local7`, `user`, `daemon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facility {
    Daemon,
    User,
    Local(u8),
}

impl Facility {
    pub fn parse(s: &str) -> Option<Facility> {
        let local = |n: &str| match n.parse::<u8>() {
            Ok(n) if n <= 7 => Some(Facility::Local(n)),
            _ => None,
        };
        match s {
            "daemon" => Some(Facility::Daemon),
            "user" => Some(Facility::User),
            _ => s.strip_prefix("local").map_or_else(|| local(s), local),
        }
    }

    /// The facility bits of the syslog PRI value.
    pub fn code(self) -> i32 {
        match self {
            Facility::Daemon => libc::LOG_DAEMON,
            Facility::User => libc::LOG_USER,
            Facility::Local(n) => [
                libc::LOG_LOCAL0,
                libc::LOG_LOCAL1,
                libc::LOG_LOCAL2,
                libc::LOG_LOCAL3,
                libc::LOG_LOCAL4,
                libc::LOG_LOCAL5,
                libc::LOG_LOCAL6,
                libc::LOG_LOCAL7,
            ][usize::from(n.min(7))],
        }
    }
}

/// syslog severity of a `log` level.
pub fn severity(level: Level) -> i32 {
    match level {
        Level::Error => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Info => libc::LOG_INFO,
        Level::Debug | Level::Trace => libc::LOG_DEBUG,
    }
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Program name in syslog lines.
    pub ident: String,
    pub facility: Facility,
    /// Log to /dev/log (off with `-G`).
    pub syslog: bool,
    /// Log to stderr (`-l`).
    pub console: bool,
    /// `-D`: include debug ("detail") messages.
    pub detail: bool,
    /// The syslog socket, [`SYSLOG_PATH`] unless testing.
    pub syslog_path: std::path::PathBuf,
    /// `-g`: also append every line to this file (console format, with timestamps).
    pub log_file: Option<std::path::PathBuf>,
    /// `--flush-log-file`: flush the file after every line.
    pub flush_log_file: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            ident: "rkeepalived".into(),
            facility: Facility::Daemon,
            syslog: true,
            console: false,
            detail: false,
            syslog_path: SYSLOG_PATH.into(),
            log_file: None,
            flush_log_file: false,
        }
    }
}

pub struct Logger {
    cfg: LogConfig,
    pid: u32,
    journal: bool,
    syslog: Mutex<Option<UnixDatagram>>,
    /// Set once /dev/log failed: from then on syslog lines go to stderr.
    syslog_failed: AtomicBool,
    /// `-g` log file, buffered unless `--flush-log-file`.
    file: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
}

/// Local time as (weekday, month, day, h, m, s, year); UTC epoch if the libc cannot tell.
fn local_time() -> (usize, usize, i32, i32, i32, i32, i32) {
    // SAFETY: time(NULL) only reads the clock; localtime_r writes into our zeroed `tm`.
    let tm = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    (
        usize::try_from(tm.tm_wday).unwrap_or(0) % 7,
        usize::try_from(tm.tm_mon).unwrap_or(0) % 12,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year + 1900,
    )
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Is stderr the journal stream systemd told us about (`$JOURNAL_STREAM` = "dev:inode")?
fn stderr_is_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    // dev_t / ino_t are u64 here but not on every libc target.
    #[allow(clippy::unnecessary_cast)]
    match nix::sys::stat::fstat(std::io::stderr()) {
        Ok(st) => st.st_dev as u64 == dev && st.st_ino as u64 == ino,
        Err(_) => false,
    }
}

fn truncate(msg: &str, max: usize) -> &str {
    if msg.len() <= max {
        return msg;
    }
    let mut end = max;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    &msg[..end]
}

impl Logger {
    pub fn new(cfg: LogConfig) -> Logger {
        let syslog = if cfg.syslog {
            UnixDatagram::unbound()
                .and_then(|s| s.connect(&cfg.syslog_path).map(|()| s))
                .ok()
        } else {
            None
        };
        let syslog_failed = AtomicBool::new(cfg.syslog && syslog.is_none());
        let file = cfg.log_file.as_ref().and_then(|p| {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                Ok(f) => Some(Mutex::new(std::io::BufWriter::new(f))),
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "rkeepalived: cannot open log file {}: {e}",
                        p.display()
                    );
                    None
                }
            }
        });
        Logger {
            file,
            journal: cfg.console && stderr_is_journal(),
            pid: std::process::id(),
            syslog: Mutex::new(syslog),
            syslog_failed,
            cfg,
        }
    }

    pub fn max_level(&self) -> LevelFilter {
        if self.cfg.detail {
            LevelFilter::Debug
        } else {
            LevelFilter::Info
        }
    }

    /// The datagram sent to /dev/log.
    pub fn syslog_line(&self, level: Level, msg: &str) -> String {
        let (_, mon, day, h, m, s, _) = local_time();
        format!(
            "<{}>{} {:2} {:02}:{:02}:{:02} {}[{}]: {}",
            self.cfg.facility.code() | severity(level),
            MONTHS[mon],
            day,
            h,
            m,
            s,
            self.cfg.ident,
            self.pid,
            truncate(msg, MAX_SYSLOG_MSG)
        )
    }

    /// The line written to stderr (without the newline).
    pub fn console_line(&self, level: Level, msg: &str) -> String {
        if self.journal {
            format!("<{}>{}", severity(level), msg)
        } else {
            let (wd, mon, day, h, m, s, y) = local_time();
            format!(
                "{} {} {:2} {:02}:{:02}:{:02} {}: {}",
                DAYS[wd], MONTHS[mon], day, h, m, s, y, msg
            )
        }
    }

    fn to_stderr(&self, level: Level, msg: &str) {
        let line = self.console_line(level, msg);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn to_syslog(&self, level: Level, msg: &str) -> bool {
        if self.syslog_failed.load(Ordering::Relaxed) {
            return false;
        }
        let line = self.syslog_line(level, msg);
        let Ok(mut guard) = self.syslog.lock() else {
            return false;
        };
        let sent = |s: &UnixDatagram| s.send(line.as_bytes()).is_ok();
        if guard.as_ref().is_some_and(sent) {
            return true;
        }
        // The syslog daemon may have restarted: reconnect once before giving up.
        let fresh = UnixDatagram::unbound()
            .and_then(|s| s.connect(&self.cfg.syslog_path).map(|()| s))
            .ok();
        if fresh.as_ref().is_some_and(sent) {
            *guard = fresh;
            return true;
        }
        self.syslog_failed.store(true, Ordering::Relaxed);
        false
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let msg = record.args().to_string();
        let level = record.level();
        let mut on_stderr = false;
        if self.cfg.console {
            self.to_stderr(level, &msg);
            on_stderr = true;
        }
        if self.cfg.syslog && !self.to_syslog(level, &msg) && !on_stderr {
            self.to_stderr(level, &msg);
        }
        if let Some(f) = &self.file
            && let Ok(mut w) = f.lock()
        {
            let (wd, mon, day, h, m, s, y) = local_time();
            let _ = writeln!(
                w,
                "{} {} {:2} {:02}:{:02}:{:02} {}: {}",
                DAYS[wd], MONTHS[mon], day, h, m, s, y, msg
            );
            if self.cfg.flush_log_file {
                let _ = w.flush();
            }
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
        if let Some(f) = &self.file
            && let Ok(mut w) = f.lock()
        {
            let _ = w.flush();
        }
    }
}

/// Install the logger for the whole process. Fails only if a logger is already installed.
pub fn init(cfg: LogConfig) -> Result<(), log::SetLoggerError> {
    let logger = Logger::new(cfg);
    let level = logger.max_level();
    log::set_boxed_logger(Box::new(logger))?;
    log::set_max_level(level);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_parse_like_keepalived_s_option() {
        assert_eq!(Facility::parse("daemon"), Some(Facility::Daemon));
        assert_eq!(Facility::parse("user"), Some(Facility::User));
        assert_eq!(Facility::parse("3"), Some(Facility::Local(3)));
        assert_eq!(Facility::parse("local7"), Some(Facility::Local(7)));
        assert_eq!(Facility::parse("local8"), None);
        assert_eq!(Facility::parse("8"), None);
        assert_eq!(Facility::parse("kern"), None);
        assert_eq!(Facility::Local(0).code(), libc::LOG_LOCAL0);
        assert_eq!(Facility::Daemon.code(), 3 << 3);
    }

    #[test]
    fn syslog_and_console_lines() {
        let l = Logger::new(LogConfig {
            facility: Facility::Local(1),
            syslog: false,
            console: true,
            ..Default::default()
        });
        let line = l.syslog_line(Level::Warn, "(VI_1) Entering MASTER STATE");
        let pri = libc::LOG_LOCAL1 | libc::LOG_WARNING;
        assert!(line.starts_with(&format!("<{pri}>")), "{line}");
        assert!(
            line.ends_with(&format!(
                " rkeepalived[{}]: (VI_1) Entering MASTER STATE",
                std::process::id()
            )),
            "{line}"
        );
        // "<PRI>Mmm dd hh:mm:ss " is 15 characters after the PRI.
        let after_pri = &line[line.find('>').unwrap() + 1..];
        assert_eq!(&after_pri[15..16], " ", "{line}");
        assert!(MONTHS.contains(&&after_pri[..3]), "{line}");
        let c = l.console_line(Level::Info, "hello");
        assert!(c.ends_with(": hello"), "{c}");
        assert!(!l.enabled(&Metadata::builder().level(Level::Debug).build()));
        let d = Logger::new(LogConfig {
            detail: true,
            syslog: false,
            ..Default::default()
        });
        assert!(d.enabled(&Metadata::builder().level(Level::Debug).build()));
        assert!(!d.enabled(&Metadata::builder().level(Level::Trace).build()));
    }

    #[test]
    fn journal_prefix_uses_severity_only() {
        let mut l = Logger::new(LogConfig {
            syslog: false,
            console: true,
            ..Default::default()
        });
        l.journal = true;
        assert_eq!(l.console_line(Level::Error, "boom"), "<3>boom");
        assert_eq!(l.console_line(Level::Debug, "detail"), "<7>detail");
    }

    #[test]
    fn records_reach_the_syslog_socket_and_fall_back_when_it_is_gone() {
        let dir = std::env::temp_dir().join(format!("rka-syslog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let l = Logger::new(LogConfig {
            syslog_path: path.clone(),
            ..Default::default()
        });
        l.log(
            &Record::builder()
                .level(Level::Info)
                .args(format_args!("VRRP_Instance(VI_1) sent 0 priority"))
                .build(),
        );
        l.log(
            &Record::builder()
                .level(Level::Debug)
                .args(format_args!("hidden"))
                .build(),
        );
        let mut buf = [0u8; 1024];
        let n = server.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        let pri = libc::LOG_DAEMON | libc::LOG_INFO;
        assert!(got.starts_with(&format!("<{pri}>")), "{got}");
        assert!(
            got.ends_with("]: VRRP_Instance(VI_1) sent 0 priority"),
            "{got}"
        );
        server.set_nonblocking(true).unwrap();
        assert!(server.recv(&mut buf).is_err(), "debug is off without -D");
        // The syslog daemon goes away: the logger switches to stderr instead of failing.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        assert!(!l.to_syslog(Level::Info, "lost"));
        assert!(l.syslog_failed.load(Ordering::Relaxed));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn long_messages_are_cut_on_char_boundaries() {
        let s = "é".repeat(10);
        assert_eq!(truncate(&s, 5), "éé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
