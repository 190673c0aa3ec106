//! The notify FIFO (`notify_fifo` / `vrrp_notify_fifo`, reference §3.10).
//!
//! keepalived compat: the FIFO is created with mkfifo (mode 0644 before the umask) if it does
//! not exist, the `notify_fifo_script` (if any) is started with the FIFO's name appended, and
//! then the FIFO is opened **once**, read-write and nonblocking: with our own read end open a
//! write never fails with ENXIO for lack of a reader and never blocks; a line that does not fit
//! (pipe full: the reader is not reading) is dropped with a warning. Lines are written in the
//! order of the transitions. A FIFO we created is removed when closed.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use log::{info, warn};
use nix::errno::Errno;
use nix::sys::stat::Mode;

use super::SysError;

pub struct NotifyFifo {
    path: PathBuf,
    file: File,
    created: bool,
}

impl NotifyFifo {
    /// Create (if missing) and open `path`. `before_open` runs between the two (keepalived
    /// starts `notify_fifo_script` there).
    pub fn open(path: &str, before_open: impl FnOnce()) -> Result<Self, SysError> {
        let p = Path::new(path);
        let created = match nix::unistd::mkfifo(
            p,
            Mode::S_IRUSR | Mode::S_IWUSR | Mode::S_IRGRP | Mode::S_IROTH,
        ) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(e) => return Err(SysError::new("mkfifo", path, e)),
        };
        before_open();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(p);
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(p);
                }
                return Err(SysError::from_io("open", path, &e));
            }
        };
        if !file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
            warn!("notify fifo {path} is not a FIFO");
        }
        info!("Notify FIFO {path} open");
        Ok(NotifyFifo {
            path: p.to_path_buf(),
            file,
            created,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one line; never blocks.
    pub fn write_line(&mut self, line: &str) {
        match self.file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {}
            Ok(n) => warn!(
                "notify fifo {}: only {n} of {} bytes written",
                self.path.display(),
                line.len()
            ),
            Err(e) if e.kind() == ErrorKind::WouldBlock => warn!(
                "notify fifo {} full (reader not reading): dropped {:?}",
                self.path.display(),
                line.trim_end()
            ),
            Err(e) => warn!("notify fifo {}: {e}", self.path.display()),
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl AsRawFd for NotifyFifo {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn creates_writes_in_order_without_reader_and_removes() {
        let p = std::env::temp_dir().join(format!("rk-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let path = p.to_string_lossy().into_owned();
        let mut ran = false;
        let mut f = NotifyFifo::open(&path, || ran = true).unwrap();
        assert!(ran);
        assert!(std::fs::metadata(&p).unwrap().file_type().is_fifo());
        // No other reader: writes still succeed (our own read end holds the pipe open).
        f.write_line("INSTANCE \"VI_1\" BACKUP 100\n");
        f.write_line("INSTANCE \"VI_1\" MASTER 100\n");
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        assert_eq!(
            s,
            "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n"
        );
        // A full pipe drops lines instead of blocking.
        for _ in 0..5000 {
            f.write_line("INSTANCE \"VI_1\" MASTER 100\n");
        }
        drop(f);
        assert!(!p.exists(), "created FIFO removed on close");
        // An existing FIFO is reused and kept.
        nix::unistd::mkfifo(&p, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
        drop(NotifyFifo::open(&path, || {}).unwrap());
        assert!(p.exists());
        let _ = std::fs::remove_file(&p);
    }
}
