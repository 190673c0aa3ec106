//! What validation needs to know about the machine, behind a trait so the corpus tests run
//! on a fake host. [`RealHost`] uses std only (no libc): /sys/class/net, /proc, /etc/passwd.

use std::os::unix::fs::MetadataExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits incl. setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub is_dir: bool,
    pub is_file: bool,
}

pub trait Host {
    fn interface_exists(&self, name: &str) -> bool;
    fn interface_mtu(&self, name: &str) -> Option<u32>;
    /// Kernel hostname (for the default config id).
    fn hostname(&self) -> Option<String>;
    /// `stat()` (symlinks followed).
    fn stat(&self, path: &str) -> Option<FileStat>;
    /// `realpath()`.
    fn canonicalize(&self, path: &str) -> Option<String>;
    /// The first bytes of a file (to tell `#!`/ELF from shell fragments).
    fn head(&self, path: &str) -> Option<Vec<u8>>;
    fn passwd(&self) -> String;
    fn group(&self) -> String;
    fn path_env(&self) -> Option<String>;
    /// The first address of `name` in /etc/hosts (no DNS: it could block).
    fn hosts_lookup(&self, name: &str) -> Option<std::net::IpAddr>;
}

/// The first address for `name` in hosts(5) text (names compare case-insensitively).
pub fn lookup_hosts(hosts: &str, name: &str) -> Option<std::net::IpAddr> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let addr = words.next()?.parse().ok()?;
        words.any(|w| w.eq_ignore_ascii_case(name)).then_some(addr)
    })
}

/// The real machine, read with std.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealHost;

impl Host for RealHost {
    fn interface_exists(&self, name: &str) -> bool {
        // /proc/self/net/dev follows our network namespace; /sys/class/net follows the
        // namespace sysfs was mounted in, which differs under `unshare -n`.
        if !valid_ifname(name) {
            return false;
        }
        match std::fs::read_to_string("/proc/self/net/dev") {
            Ok(t) => t
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next())
                .any(|n| n.trim() == name),
            Err(_) => std::path::Path::new(&format!("/sys/class/net/{name}")).exists(),
        }
    }
    fn interface_mtu(&self, name: &str) -> Option<u32> {
        if !valid_ifname(name) {
            return None;
        }
        std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
    fn hostname(&self) -> Option<String> {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
    }
    fn stat(&self, path: &str) -> Option<FileStat> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileStat {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode() & 0o7777,
            is_dir: m.is_dir(),
            is_file: m.is_file(),
        })
    }
    fn canonicalize(&self, path: &str) -> Option<String> {
        std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.to_str().map(str::to_string))
    }
    fn head(&self, path: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut buf = [0u8; 4];
        let n = f.read(&mut buf).ok()?;
        Some(buf[..n].to_vec())
    }
    fn passwd(&self) -> String {
        std::fs::read_to_string("/etc/passwd").unwrap_or_default()
    }
    fn group(&self) -> String {
        std::fs::read_to_string("/etc/group").unwrap_or_default()
    }
    fn path_env(&self) -> Option<String> {
        std::env::var("PATH").ok()
    }
    fn hosts_lookup(&self, name: &str) -> Option<std::net::IpAddr> {
        lookup_hosts(&std::fs::read_to_string("/etc/hosts").ok()?, name)
    }
}

/// Interface names are < 16 bytes and never contain `/` (so a name can't escape /sys).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty() && name.len() < 16 && !name.contains('/') && name != "." && name != ".."
}

/// `name -> (uid, gid)` from passwd(5) text.
pub fn lookup_user(passwd: &str, name: &str) -> Option<(u32, u32)> {
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[0] == name {
            return Some((f[2].parse().ok()?, f[3].parse().ok()?));
        }
    }
    // keepalived 2.2.7 compat: users are looked up by name only; a numeric uid such as
    // `user 65534` is "Unable to set uid/gid" there (observed with its -t), so it is here.
    None
}

/// `name -> gid` from group(5) text.
pub fn lookup_group(group: &str, name: &str) -> Option<u32> {
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 3 && f[0] == name {
            return f[2].parse().ok();
        }
    }
    // keepalived 2.2.7 compat: by name only, as for users.
    None
}

/// Supplementary groups of `user` (group(5) member lists).
pub fn supplementary_groups(group: &str, user: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[3].split(',').any(|m| m == user) {
            if let Ok(g) = f[2].parse() {
                v.push(g);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lookup() {
        let pw = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/usr/sbin/nologin\n";
        let gr = "root:x:0:\nadm:x:4:syslog,alice\n";
        assert_eq!(lookup_user(pw, "root"), Some((0, 0)));
        assert_eq!(lookup_user(pw, "nobody"), Some((65534, 65534)));
        assert_eq!(lookup_user(pw, "ghost"), None);
        // keepalived 2.2.7 does not take numeric ids.
        assert_eq!(lookup_user(pw, "0"), None);
        assert_eq!(lookup_group(gr, "4"), None);
        assert_eq!(lookup_group(gr, "adm"), Some(4));
        assert_eq!(supplementary_groups(gr, "alice"), vec![4]);
        assert!(!valid_ifname("../etc"));
    }
}

/// A made-up machine for tests: named interfaces, a small file tree, fixed passwd/group.
#[derive(Clone, Debug, Default)]
pub struct FakeHost {
    pub interfaces: Vec<(String, u32)>,
    /// path -> (stat, first bytes)
    pub files: Vec<(String, FileStat, Vec<u8>)>,
    pub hostname: String,
    pub passwd: String,
    pub group: String,
}

impl FakeHost {
    /// Interfaces `eth1` (MTU 1500) and `eth2` (MTU 576); root-owned `/`, `/etc`,
    /// `/etc/keepalived` and scripts there: `checkng.sh` (0755), `insecure.sh` (0777),
    /// `noexec.sh` (0644), `wdir/check.sh` (in a 0777 directory), `notroot.sh` (owned by
    /// 65534), `noshebang.sh` (no `#!`); and `/usr/bin/true`. The namespace tests build the
    /// same tree for keepalived.
    pub fn standard() -> Self {
        let dir = |mode| FileStat {
            uid: 0,
            gid: 0,
            mode,
            is_dir: true,
            is_file: false,
        };
        let file = |mode| FileStat {
            uid: 0,
            gid: 0,
            mode,
            is_dir: false,
            is_file: true,
        };
        let sh = b"#!/bin/sh".to_vec();
        FakeHost {
            interfaces: vec![("eth1".into(), 1500), ("eth2".into(), 576)],
            files: vec![
                ("/".into(), dir(0o755), Vec::new()),
                ("/etc".into(), dir(0o755), Vec::new()),
                ("/etc/keepalived".into(), dir(0o755), Vec::new()),
                ("/etc/keepalived/checkng.sh".into(), file(0o755), sh.clone()),
                (
                    "/etc/keepalived/insecure.sh".into(),
                    file(0o777),
                    sh.clone(),
                ),
                ("/etc/keepalived/noexec.sh".into(), file(0o644), sh.clone()),
                ("/etc/keepalived/wdir".into(), dir(0o777), Vec::new()),
                (
                    "/etc/keepalived/wdir/check.sh".into(),
                    file(0o755),
                    sh.clone(),
                ),
                (
                    "/etc/keepalived/notroot.sh".into(),
                    FileStat {
                        uid: 65534,
                        gid: 65534,
                        ..file(0o755)
                    },
                    sh,
                ),
                (
                    "/etc/keepalived/noshebang.sh".into(),
                    file(0o755),
                    b"exit".to_vec(),
                ),
                ("/usr".into(), dir(0o755), Vec::new()),
                ("/usr/bin".into(), dir(0o755), Vec::new()),
                ("/usr/bin/true".into(), file(0o755), b"\x7fELF".to_vec()),
                // What the usual track scripts call (all on a Debian host).
                ("/usr/bin/killall".into(), file(0o755), b"\x7fELF".to_vec()),
                ("/usr/bin/pidof".into(), file(0o755), b"\x7fELF".to_vec()),
                ("/usr/bin/pgrep".into(), file(0o755), b"\x7fELF".to_vec()),
                ("/usr/bin/curl".into(), file(0o755), b"\x7fELF".to_vec()),
                (
                    "/usr/bin/systemctl".into(),
                    file(0o755),
                    b"\x7fELF".to_vec(),
                ),
            ],
            hostname: "node1.example".into(),
            passwd: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n".into(),
            group: "root:x:0:\nnogroup:x:65534:\n".into(),
        }
    }
}

impl Host for FakeHost {
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|(n, _)| n == name)
    }
    fn interface_mtu(&self, name: &str) -> Option<u32> {
        self.interfaces
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| *m)
    }
    fn hostname(&self) -> Option<String> {
        Some(self.hostname.clone())
    }
    fn stat(&self, path: &str) -> Option<FileStat> {
        self.files
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, s, _)| *s)
    }
    fn canonicalize(&self, path: &str) -> Option<String> {
        self.stat(path).map(|_| path.to_string())
    }
    fn head(&self, path: &str) -> Option<Vec<u8>> {
        self.files
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, _, h)| h.clone())
    }
    fn passwd(&self) -> String {
        self.passwd.clone()
    }
    fn group(&self) -> String {
        self.group.clone()
    }
    fn path_env(&self) -> Option<String> {
        Some("/usr/bin:/bin".into())
    }
    fn hosts_lookup(&self, name: &str) -> Option<std::net::IpAddr> {
        lookup_hosts("127.0.0.1 localhost\n::1 localhost ip6-localhost\n", name)
    }
}
