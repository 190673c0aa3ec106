//! `use_vmac`: create, configure and delete keepalived's VMAC (a macvlan on the instance's
//! interface carrying the virtual router MAC), and the `/proc/sys` settings that go with it.
//!
//! What keepalived 2.2.7 was observed to do (Debian, network namespaces), and what this
//! module does the same way:
//! - the link is a macvlan in mode private, created down, configured, then set up at once
//!   (it stays up in BACKUP and MASTER);
//! - IPv4 VMAC: `addr_gen_mode` 1 (none) and `disable_ipv6` 1; `arp_ignore` 1,
//!   `accept_local` 1, `rp_filter` 0 on the VMAC; `arp_ignore` 1 and `arp_filter` 1 on the
//!   parent (not restored at exit — keepalived 2.2.7 leaves them set);
//! - `net.ipv4.conf.all.rp_filter` (if not 0) is lowered to 0 after raising `default` and
//!   every interface to at least its value, so the VMAC's own 0 is effective and nothing else
//!   loses filtering; restored at exit;
//! - IPv6 VMAC: `addr_gen_mode` 1 and the parent's link-local copied onto it (nodad,
//!   preferred lifetime 0, so never picked as a source) — done by the daemon through its
//!   request socket.

use std::path::PathBuf;

use log::{info, warn};

use super::SysError;
use super::error::Errno;
use super::netlink::{self, LinkEvent, MACVLAN_MODE_PRIVATE, MacvlanSpec};

fn ipv4_conf(ifname: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{ifname}/{key}"))
}

fn ipv6_conf(ifname: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv6/conf/{ifname}/{key}"))
}

/// Read one integer sysctl.
pub fn read_sysctl(path: &PathBuf) -> Result<i64, SysError> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| SysError::from_io("read", path.display().to_string(), &e))?;
    s.trim()
        .parse()
        .map_err(|_| SysError::new("read", path.display().to_string(), Errno::EINVAL))
}

/// Write one sysctl.
pub fn write_sysctl(path: &PathBuf, value: i64) -> Result<(), SysError> {
    std::fs::write(path, format!("{value}\n"))
        .map_err(|e| SysError::from_io("write", path.display().to_string(), &e))
}

/// The address family of the instance owning a VMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmacFamily {
    V4,
    V6,
}

/// Create (or adopt, if a macvlan of that name and MAC already exists, e.g. left by `-V`)
/// the VMAC `name` on `parent`, configure its sysctls, set it up, and return its state.
pub fn create(
    name: &str,
    parent: &str,
    parent_ifindex: u32,
    mac: [u8; 6],
    family: VmacFamily,
) -> Result<LinkEvent, SysError> {
    match netlink::get_link(name)? {
        Some(l) if l.kind.as_deref() == Some("macvlan") && l.mac == mac => {
            info!("VMAC interface {name} already exists: reusing it");
        }
        Some(_) => {
            return Err(SysError::new(
                "RTM_NEWLINK(macvlan)",
                format!("{name} (exists and is not a VMAC with the virtual MAC)"),
                Errno::EEXIST,
            ));
        }
        None => netlink::create_macvlan(&MacvlanSpec {
            name: name.to_string(),
            parent_ifindex,
            mac,
            mode: MACVLAN_MODE_PRIVATE,
        })?,
    }
    let Some(link) = netlink::get_link(name)? else {
        return Err(SysError::new("RTM_GETLINK", name, Errno::ENODEV));
    };
    // IPv6 knobs may be absent (ipv6.disable=1): not worth failing for.
    let v6 = |key: &str, v: i64| {
        if let Err(e) = write_sysctl(&ipv6_conf(name, key), v)
            && e.errno != Errno::ENOENT
        {
            warn!("{e}");
        }
    };
    // keepalived compat: no kernel-generated link-local on a VMAC.
    v6("addr_gen_mode", 1);
    if family == VmacFamily::V4 {
        v6("disable_ipv6", 1);
        for (key, v) in [("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0)] {
            write_sysctl(&ipv4_conf(name, key), v)?;
        }
        for (key, v) in [("arp_ignore", 1), ("arp_filter", 1)] {
            write_sysctl(&ipv4_conf(parent, key), v)?;
        }
    }
    netlink::set_link_up(name, link.ifindex, true)?;
    Ok(netlink::get_link(name)?.unwrap_or(link))
}

/// Delete the VMAC `name` (ENODEV: already gone, fine).
pub fn delete(name: &str) -> Result<(), SysError> {
    match netlink::delete_link(name) {
        Err(e) if e.errno == Errno::ENODEV => Ok(()),
        r => r,
    }
}

/// The `rp_filter` values changed so the VMACs' `rp_filter 0` takes effect (the kernel uses
/// the larger of `all` and the interface's value), for restoring at exit.
#[derive(Debug, Default)]
pub struct RpFilter {
    saved: Option<Vec<(PathBuf, i64)>>,
}

impl RpFilter {
    /// Once, before the first VMAC: if `all.rp_filter` is not 0, raise `default` and every
    /// interface to at least that value, then set `all` to 0 (keepalived compat, with its
    /// NOTICE lines).
    pub fn adjust(&mut self) {
        if self.saved.is_some() {
            return;
        }
        let mut saved = Vec::new();
        let all_path = ipv4_conf("all", "rp_filter");
        let all = match read_sysctl(&all_path) {
            Ok(v) => v,
            Err(e) => {
                warn!("{e}");
                self.saved = Some(saved);
                return;
            }
        };
        if all != 0 {
            let mut names: Vec<String> = std::fs::read_dir("/proc/sys/net/ipv4/conf")
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n != "all")
                        .collect()
                })
                .unwrap_or_default();
            // "default" first, as keepalived logs it first.
            names.sort_by_key(|n| n != "default");
            for n in names {
                let p = ipv4_conf(&n, "rp_filter");
                if let Ok(v) = read_sysctl(&p)
                    && v < all
                {
                    match write_sysctl(&p, all) {
                        Ok(()) => {
                            if n == "default" {
                                info!(
                                    "NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {v} to {all}"
                                );
                            }
                            saved.push((p, v));
                        }
                        Err(e) => warn!("{e}"),
                    }
                }
            }
            match write_sysctl(&all_path, 0) {
                Ok(()) => {
                    info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
                    saved.push((all_path, all));
                }
                Err(e) => warn!("{e}"),
            }
        }
        self.saved = Some(saved);
    }

    /// At exit: put back what [`adjust`](Self::adjust) changed (`all` first).
    pub fn restore(&mut self) {
        let Some(saved) = self.saved.take() else {
            return;
        };
        for (p, v) in saved.iter().rev() {
            match write_sysctl(p, *v) {
                Ok(()) => {
                    let s = p.to_string_lossy();
                    for which in ["all", "default"] {
                        if s.ends_with(&format!("/{which}/rp_filter")) {
                            info!(
                                "NOTICE: resetting sysctl net.ipv4.conf.{which}.rp_filter to {v}"
                            );
                        }
                    }
                }
                // An interface deleted meanwhile (e.g. our VMAC): nothing to restore.
                Err(e) if e.errno == Errno::ENOENT => {}
                Err(e) => warn!("{e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_paths() {
        assert_eq!(
            ipv4_conf("vrrp.51", "arp_ignore"),
            PathBuf::from("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore")
        );
        assert_eq!(
            ipv6_conf("vrrp.51", "addr_gen_mode"),
            PathBuf::from("/proc/sys/net/ipv6/conf/vrrp.51/addr_gen_mode")
        );
    }
}
