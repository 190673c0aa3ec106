//! The one error type of `sys/`: which syscall failed, on what, and the errno.

use std::fmt;

pub use nix::errno::Errno;

/// A failed system call: `op` names the call (and the option, e.g. `setsockopt(IP_HDRINCL)`),
/// `obj` the object it was applied to (an interface, an address, a path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysError {
    pub op: &'static str,
    pub obj: String,
    pub errno: Errno,
}

impl SysError {
    pub fn new(op: &'static str, obj: impl Into<String>, errno: Errno) -> Self {
        SysError {
            op,
            obj: obj.into(),
            errno,
        }
    }

    /// Build from a `std::io::Error` (its raw OS error, or EIO when it has none).
    pub fn from_io(op: &'static str, obj: impl Into<String>, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO);
        SysError::new(op, obj, errno)
    }

    /// The error as a `std::io::Error`, e.g. to return from a `log` sink or a `main`.
    pub fn to_io(&self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.errno as i32)
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.obj.is_empty() {
            write!(f, "{}: {}", self.op, self.errno.desc())
        } else {
            write!(f, "{} on {}: {}", self.op, self.obj, self.errno.desc())
        }
    }
}

impl std::error::Error for SysError {}

/// Short form: `res.ctx("bind", "eth1")?`.
pub(crate) trait Ctx<T> {
    fn ctx(self, op: &'static str, obj: &str) -> Result<T, SysError>;
}

impl<T> Ctx<T> for nix::Result<T> {
    fn ctx(self, op: &'static str, obj: &str) -> Result<T, SysError> {
        self.map_err(|e| SysError::new(op, obj, e))
    }
}

impl<T> Ctx<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, obj: &str) -> Result<T, SysError> {
        self.map_err(|e| SysError::from_io(op, obj, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_call_object_and_errno() {
        let e = SysError::new("setsockopt(IP_MULTICAST_ALL)", "eth1", Errno::EPERM);
        assert_eq!(
            e.to_string(),
            "setsockopt(IP_MULTICAST_ALL) on eth1: Operation not permitted"
        );
        let e = SysError::new("timerfd_create", "", Errno::EMFILE);
        assert_eq!(e.to_string(), "timerfd_create: Too many open files");
    }
}
