//! `track_file` I/O: an inotify watch on each tracked file's directory, file reads, and
//! `init_file`. The meaning of the bytes lives in the pure `check::track_file`.
//!
//! The directory is watched, not the file: editors and `mv`-based writers replace the file
//! (a new inode), and a file may be deleted and re-created; IN_CLOSE_WRITE | IN_MOVED_TO |
//! IN_CREATE | IN_DELETE | IN_MOVED_FROM on the directory see all of that.
//!
//! The daemon holds one [`TrackFiles`]: `start` (init_file, watches, first readings), then
//! `read_events` whenever the fd is readable, `reload` on SIGHUP. Each returns the
//! `TrackerUpdate`s for the core (only changed values).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use log::{debug, error, info, warn};
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::SysError;
use super::error::Ctx;
use crate::check::track_file::{
    FileTracker, InitDecision, READ_LIMIT, Reading, init_content, init_decision,
};
use crate::vrrp::TrackerUpdate;
use crate::vrrp::spec::TrackFileSpec;

/// One event in a watched directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEvent {
    pub dir: PathBuf,
    pub name: OsString,
    /// Only IN_CREATE (a writer may still be filling the file; IN_CLOSE_WRITE follows).
    pub create_only: bool,
}

/// An inotify instance watching directories.
pub struct DirWatcher {
    ino: Inotify,
    dirs: HashMap<WatchDescriptor, PathBuf>,
}

impl DirWatcher {
    pub fn new() -> Result<Self, SysError> {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .ctx("inotify_init1", "track files")?;
        Ok(DirWatcher {
            ino,
            dirs: HashMap::new(),
        })
    }

    /// Watch exactly `dirs` (adds new watches, removes old ones); errors per directory.
    pub fn set_dirs(&mut self, dirs: &[PathBuf]) -> Vec<SysError> {
        let mut errs = Vec::new();
        let old: Vec<(WatchDescriptor, PathBuf)> =
            self.dirs.iter().map(|(w, d)| (*w, d.clone())).collect();
        for (wd, d) in old {
            if !dirs.contains(&d) {
                let _ = self.ino.rm_watch(wd);
                self.dirs.remove(&wd);
            }
        }
        for d in dirs {
            if self.dirs.values().any(|x| x == d) {
                continue;
            }
            let mask = AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVED_FROM;
            match self.ino.add_watch(d.as_path(), mask) {
                Ok(wd) => {
                    self.dirs.insert(wd, d.clone());
                }
                Err(e) => errs.push(SysError::new(
                    "inotify_add_watch",
                    d.display().to_string(),
                    e,
                )),
            }
        }
        errs
    }

    /// Every queued event (until EAGAIN). `Ok((events, overflow))`: on overflow (IN_Q_OVERFLOW)
    /// events were lost and every file must be re-read.
    pub fn read(&mut self) -> Result<(Vec<DirEvent>, bool), SysError> {
        let mut out = Vec::new();
        let mut overflow = false;
        loop {
            match self.ino.read_events() {
                Ok(evs) => {
                    if evs.is_empty() {
                        break;
                    }
                    for e in evs {
                        if e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                            overflow = true;
                            continue;
                        }
                        if e.mask.contains(AddWatchFlags::IN_IGNORED) {
                            // The directory itself went away: the watch is gone.
                            if let Some(d) = self.dirs.remove(&e.wd) {
                                warn!("track file directory {} removed", d.display());
                            }
                            continue;
                        }
                        if e.mask.contains(AddWatchFlags::IN_ISDIR) {
                            continue;
                        }
                        let (Some(dir), Some(name)) = (self.dirs.get(&e.wd), e.name) else {
                            continue;
                        };
                        out.push(DirEvent {
                            dir: dir.clone(),
                            name,
                            create_only: e.mask == AddWatchFlags::IN_CREATE,
                        });
                    }
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(SysError::new("read", "inotify", e)),
            }
        }
        Ok((out, overflow))
    }
}

impl AsRawFd for DirWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.ino.as_fd().as_raw_fd()
    }
}

/// Read the first bytes of a tracked file, as keepalived does (nonblocking open, so a FIFO
/// cannot hang the daemon).
pub fn read_head(path: &Path) -> Reading {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Reading::Missing,
        Err(e) => return Reading::Unreadable(e.to_string()),
    };
    let mut buf = vec![0u8; READ_LIMIT];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Reading::Unreadable(e.to_string()),
        }
    }
    buf.truncate(n);
    Reading::Content(buf)
}

/// keepalived compat: the path with symlinks resolved (the file's if it exists, else its
/// directory's), so events in the real directory are seen. None if the directory is missing.
pub fn resolve(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if let Ok(r) = std::fs::canonicalize(p) {
        return Some(r);
    }
    let name = p.file_name()?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(dir).ok()?;
    dir.is_dir().then(|| dir.join(name))
}

/// Carry out `init_file` for one tracked file (at start, or on reload).
pub fn init_file(spec: &TrackFileSpec, reload: bool) {
    let meta = std::fs::metadata(&spec.path);
    let exists = meta.is_ok();
    let regular = meta.map(|m| m.is_file()).unwrap_or(false);
    match init_decision(spec, exists, regular, reload) {
        InitDecision::Keep => {}
        InitDecision::NotRegular => error!(
            "Cannot initialise track file {} - it is not a regular file",
            spec.name
        ),
        InitDecision::Write(v) => {
            let r = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&spec.path)
                .and_then(|mut f| f.write_all(init_content(v).as_bytes()));
            match r {
                Ok(()) => debug!("track file {}: wrote initial value {v}", spec.name),
                Err(e) => error!("Unable to initialise track file {}: {e}", spec.name),
            }
        }
    }
}

/// Every `track_file` of the running configuration: watches and last values.
pub struct TrackFiles {
    watcher: DirWatcher,
    tracker: FileTracker,
}

impl TrackFiles {
    /// `init_file`, watches and first readings. The updates carry the first value of every
    /// file (also for files that do not exist: value 0).
    pub fn start(specs: &[TrackFileSpec]) -> Result<(Self, Vec<TrackerUpdate>), SysError> {
        let mut tf = TrackFiles {
            watcher: DirWatcher::new()?,
            tracker: FileTracker::default(),
        };
        let ups = tf.configure(specs, false);
        Ok((tf, ups))
    }

    /// SIGHUP: the new set of files; only changed values are reported.
    pub fn reload(&mut self, specs: &[TrackFileSpec]) -> Vec<TrackerUpdate> {
        self.configure(specs, true)
    }

    fn configure(&mut self, specs: &[TrackFileSpec], reload: bool) -> Vec<TrackerUpdate> {
        let mut files = Vec::new();
        for s in specs {
            init_file(s, reload);
            match resolve(&s.path) {
                Some(p) => files.push((s.name.clone(), p)),
                None => {
                    error!(
                        "Track file directory for {} does not exist - its value stays 0",
                        s.name
                    );
                    files.push((s.name.clone(), PathBuf::from(&s.path)));
                }
            }
        }
        let mut tracker = FileTracker::new(files);
        tracker.carry_over(&self.tracker);
        self.tracker = tracker;
        for e in self.watcher.set_dirs(&self.tracker.dirs()) {
            error!("track files: {e}");
        }
        self.read_all()
    }

    fn read_all(&mut self) -> Vec<TrackerUpdate> {
        let paths: Vec<(String, PathBuf)> = self
            .tracker
            .paths()
            .map(|(n, p)| (n.to_string(), p.to_path_buf()))
            .collect();
        paths
            .into_iter()
            .filter_map(|(n, p)| self.tracker.apply(&n, read_head(&p)))
            .collect()
    }

    /// The inotify fd is readable: re-read the files concerned.
    pub fn read_events(&mut self) -> Vec<TrackerUpdate> {
        let (events, overflow) = match self.watcher.read() {
            Ok(x) => x,
            Err(e) => {
                warn!("{e}");
                return Vec::new();
            }
        };
        if overflow {
            info!("inotify queue overflow: re-reading every track file");
            return self.read_all();
        }
        // name -> only IN_CREATE seen in this batch
        let mut todo: BTreeMap<String, bool> = BTreeMap::new();
        for e in &events {
            for n in self.tracker.affected(&e.dir, &e.name) {
                let only = todo.entry(n).or_insert(true);
                *only &= e.create_only;
            }
        }
        let mut out = Vec::new();
        for (name, create_only) in todo {
            let Some(path) = self
                .tracker
                .paths()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| p.to_path_buf())
            else {
                continue;
            };
            let r = read_head(&path);
            if create_only && r == Reading::Content(Vec::new()) {
                // Just created and still empty: wait for IN_CLOSE_WRITE.
                continue;
            }
            out.extend(self.tracker.apply(&name, r));
        }
        out
    }

    pub fn values(&self) -> HashMap<String, i64> {
        self.tracker.values()
    }
}

impl AsRawFd for TrackFiles {
    fn as_raw_fd(&self) -> RawFd {
        self.watcher.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rk-inotify-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn wait_events(tf: &mut TrackFiles) -> Vec<TrackerUpdate> {
        let mut all = Vec::new();
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(10));
            all.extend(tf.read_events());
            if !all.is_empty() {
                // Let a batch finish.
                std::thread::sleep(Duration::from_millis(20));
                all.extend(tf.read_events());
                break;
            }
        }
        all
    }

    fn up(v: i64) -> TrackerUpdate {
        TrackerUpdate::File {
            name: "f".into(),
            value: v,
        }
    }

    #[test]
    fn watches_writes_renames_deletes_and_recreation() {
        let d = tmpdir("w");
        let path = d.join("val");
        let spec = TrackFileSpec {
            name: "f".into(),
            path: path.to_string_lossy().into(),
            weight: 1,
            reverse: false,
            init_file: Some((7, false)),
        };
        let (mut tf, ups) = TrackFiles::start(std::slice::from_ref(&spec)).unwrap();
        assert_eq!(ups, vec![up(7)], "init_file wrote 7");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "7\n");

        std::fs::write(&path, "12\n").unwrap();
        assert_eq!(wait_events(&mut tf), vec![up(12)]);

        // Editor-style: write a temp file, rename over.
        let tmp = d.join(".val.swp");
        std::fs::write(&tmp, "-3").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(wait_events(&mut tf), vec![up(-3)]);

        std::fs::remove_file(&path).unwrap();
        assert_eq!(wait_events(&mut tf), vec![up(0)]);

        std::fs::write(&path, "5").unwrap();
        assert_eq!(wait_events(&mut tf), vec![up(5)]);

        // Another file in the directory: nothing.
        std::fs::write(d.join("other"), "9").unwrap();
        assert!(wait_events(&mut tf).is_empty());

        // Reload with overwrite: existing file kept.
        let mut s2 = spec.clone();
        s2.init_file = Some((1, true));
        assert!(tf.reload(&[s2]).is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "5");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn start_overwrites_and_missing_directory_reads_zero() {
        let d = tmpdir("o");
        let path = d.join("val");
        std::fs::write(&path, "40").unwrap();
        let spec = TrackFileSpec {
            name: "f".into(),
            path: path.to_string_lossy().into(),
            init_file: Some((2, true)),
            ..Default::default()
        };
        let (_tf, ups) = TrackFiles::start(&[spec]).unwrap();
        assert_eq!(ups, vec![up(2)]);
        let spec = TrackFileSpec {
            name: "f".into(),
            path: d.join("nodir/val").to_string_lossy().into(),
            ..Default::default()
        };
        let (_tf, ups) = TrackFiles::start(&[spec]).unwrap();
        assert_eq!(ups, vec![up(0)]);
        let _ = std::fs::remove_dir_all(&d);
    }
}
