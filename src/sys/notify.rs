//! sd_notify(3) by hand: one datagram per state change to `$NOTIFY_SOCKET` (a path, or an
//! abstract socket written `@name`). keepalived compat (reference §1): `READY=1\nMAINPID=<pid>`
//! after startup and after every reload, `RELOADING=1` when a reload starts, `STOPPING=1` on
//! stop. Children must not inherit the variable; the process spawner removes
//! [`NOTIFY_SOCKET_ENV`] from their environment.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use nix::errno::Errno;

use super::SysError;
use super::error::Ctx;

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

pub struct Notifier {
    sock: UnixDatagram,
    addr: SocketAddr,
    name: String,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET`, or `None` when not started by systemd.
    pub fn from_env() -> Result<Option<Notifier>, SysError> {
        match std::env::var(NOTIFY_SOCKET_ENV) {
            Ok(s) if !s.is_empty() => Notifier::connect(&s).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for an explicit socket: `/path` or `@abstract`.
    pub fn connect(name: &str) -> Result<Notifier, SysError> {
        let addr = if let Some(abs) = name.strip_prefix('@') {
            SocketAddr::from_abstract_name(abs.as_bytes())
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name)
        } else {
            return Err(SysError::new(
                "sd_notify socket address",
                name,
                Errno::EAFNOSUPPORT,
            ));
        }
        .ctx("sd_notify socket address", name)?;
        let sock = UnixDatagram::unbound().ctx("socket(AF_UNIX, SOCK_DGRAM)", name)?;
        Ok(Notifier {
            sock,
            addr,
            name: name.to_string(),
        })
    }

    /// Send one raw notification (newline-separated `KEY=value` lines).
    pub fn send(&self, msg: &str) -> Result<(), SysError> {
        self.sock
            .send_to_addr(msg.as_bytes(), &self.addr)
            .ctx("sendto(NOTIFY_SOCKET)", &self.name)?;
        Ok(())
    }

    /// Startup or reload finished.
    pub fn ready(&self) -> Result<(), SysError> {
        self.send(&format!("READY=1\nMAINPID={}", std::process::id()))
    }

    /// A reload started. MONOTONIC_USEC lets `Type=notify-reload` units work too.
    pub fn reloading(&self) -> Result<(), SysError> {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}",
            super::timer::now().as_micros()
        ))
    }

    pub fn stopping(&self) -> Result<(), SysError> {
        self.send("STOPPING=1")
    }

    /// Free-form status line shown by `systemctl status` (newlines are replaced).
    pub fn status(&self, status: &str) -> Result<(), SysError> {
        self.send(&format!("STATUS={}", status.replace('\n', " ")))
    }

    /// Startup failed with `errno`.
    pub fn errno(&self, errno: i32) -> Result<(), SysError> {
        self.send(&format!("ERRNO={errno}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(s: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let n = s.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn notifications_arrive_on_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("rka-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::connect(path.to_str().unwrap()).unwrap();
        n.ready().unwrap();
        assert_eq!(
            recv(&server),
            format!("READY=1\nMAINPID={}", std::process::id())
        );
        n.reloading().unwrap();
        assert!(recv(&server).starts_with("RELOADING=1\nMONOTONIC_USEC="));
        n.stopping().unwrap();
        assert_eq!(recv(&server), "STOPPING=1");
        n.status("two\nlines").unwrap();
        assert_eq!(recv(&server), "STATUS=two lines");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn notifications_arrive_on_an_abstract_socket() {
        let name = format!("rka-notify-test-{}", std::process::id());
        let server =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = Notifier::connect(&format!("@{name}")).unwrap();
        n.stopping().unwrap();
        assert_eq!(recv(&server), "STOPPING=1");
    }

    #[test]
    fn bad_addresses_are_named() {
        let e = Notifier::connect("relative/path").err().unwrap();
        assert_eq!(e.obj, "relative/path");
        let n = Notifier::connect("/nonexistent/rka/notify").unwrap();
        let e = n.ready().unwrap_err();
        assert_eq!(e.op, "sendto(NOTIFY_SOCKET)");
        assert_eq!(e.errno, Errno::ENOENT);
    }
}
