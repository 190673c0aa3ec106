//! Pidfiles: `PID\n`, mode 0644, created or truncated; errors name the path.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::SysError;

/// A pidfile we wrote; [`PidFile::remove`] deletes it at shutdown.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

fn obj(path: &Path) -> String {
    path.display().to_string()
}

impl PidFile {
    /// Write this process's pid to `path`.
    pub fn create(path: &Path) -> Result<PidFile, SysError> {
        PidFile::create_with_pid(path, std::process::id())
    }

    pub fn create_with_pid(path: &Path, pid: u32) -> Result<PidFile, SysError> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| SysError::from_io("open(O_CREAT|O_TRUNC)", obj(path), &e))?;
        f.write_all(format!("{pid}\n").as_bytes())
            .map_err(|e| SysError::from_io("write", obj(path), &e))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Delete the pidfile (already gone is fine).
    pub fn remove(self) -> Result<(), SysError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SysError::from_io("unlink", obj(&self.path), &e)),
        }
    }
}

/// keepalived compat: the pidfile directory (`use_pid_dir`, `instance`, `net_namespace`) is
/// made mode 0755 whatever the umask; an existing one is left as it is.
pub fn make_dir(path: &Path) -> Result<(), SysError> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::create_dir(path) {
        Ok(()) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| SysError::from_io("chmod", obj(path), &e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(SysError::from_io("mkdir", obj(path), &e)),
    }
}

/// At exit: remove the pidfile directory if nothing else is in it (keepalived 2.2.7 removes
/// it even when it existed before, if empty).
pub fn remove_dir_if_empty(path: &Path) {
    let _ = std::fs::remove_dir(path);
}

/// The pid recorded in `path` if that process is alive (for "already running" checks).
pub fn running_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    if pid <= 0 {
        return None;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => Some(pid),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pidfile_is_written_truncated_and_removed() {
        let dir = std::env::temp_dir().join(format!("rka-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pid");
        std::fs::write(&path, "123456789012345\n").unwrap();
        let p = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o022, 0o644 & !0o022);
        assert_eq!(running_pid(&path), Some(std::process::id() as i32));
        p.remove().unwrap();
        assert!(!path.exists());
        assert_eq!(running_pid(&path), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_name_the_path() {
        let e = PidFile::create(Path::new("/nonexistent-dir/k.pid")).unwrap_err();
        assert_eq!(e.obj, "/nonexistent-dir/k.pid");
        assert_eq!(e.errno, Errno::ENOENT);
        assert_eq!(
            e.to_string(),
            "open(O_CREAT|O_TRUNC) on /nonexistent-dir/k.pid: No such file or directory"
        );
    }
}
