//! `net_namespace NAME`: run in the network namespace /run/netns/NAME (made by
//! `ip netns add NAME`), entered before any socket (netlink included) is opened.
//!
//! As `ip netns exec` does, the process also gets its own mount namespace (mounts from the
//! host still propagate into it) with /sys mounted afresh, so that /sys/class/net shows the
//! namespace's interfaces to us and to our scripts.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use super::SysError;

/// Why the namespace could not be entered, worded as keepalived 2.2.7 logs it.
#[derive(Debug)]
pub enum NetnsError {
    /// The namespace file does not exist or cannot be opened.
    Open(String),
    /// setns(2) refused it (e.g. the file is not a network namespace: EINVAL).
    Setns(Errno),
}

impl std::fmt::Display for NetnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetnsError::Open(path) => write!(f, "Failed to open {path}"),
            NetnsError::Setns(e) => write!(f, "setns() failed with error {}", *e as i32),
        }
    }
}

/// The file `ip netns add NAME` binds the namespace to.
pub fn path(name: &str) -> String {
    format!("/run/netns/{name}")
}

/// Enter network namespace `name`. `Ok` carries what went wrong with the mount namespace
/// part (not fatal: only /sys then still shows the previous namespace).
pub fn enter(name: &str) -> Result<Vec<SysError>, NetnsError> {
    let p = path(name);
    let f = std::fs::File::open(&p).map_err(|_| NetnsError::Open(p.clone()))?;
    nix::sched::setns(f.as_fd(), CloneFlags::CLONE_NEWNET).map_err(NetnsError::Setns)?;
    let mut warnings = Vec::new();
    if let Err(e) = nix::sched::unshare(CloneFlags::CLONE_NEWNS) {
        warnings.push(SysError::new("unshare(CLONE_NEWNS)", name, e));
        return Ok(warnings);
    }
    // Our mounts must not reach the host; the host's (new namespaces in /run/netns) still
    // reach us.
    if let Err(e) = nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    ) {
        warnings.push(SysError::new("mount(MS_REC|MS_SLAVE)", "/", e));
        return Ok(warnings);
    }
    match nix::mount::umount2("/sys", MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => warnings.push(SysError::new("umount2(MNT_DETACH)", "/sys", e)),
    }
    if let Err(e) = nix::mount::mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    ) {
        warnings.push(SysError::new("mount(sysfs)", "/sys", e));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_namespace_is_reported_as_keepalived_does() {
        let e = enter("rk-no-such-namespace-for-tests").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to open /run/netns/rk-no-such-namespace-for-tests"
        );
        assert_eq!(
            NetnsError::Setns(Errno::EINVAL).to_string(),
            "setns() failed with error 22"
        );
    }
}
