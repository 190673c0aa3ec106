//! `track_file` (reference §3.6): what a tracked file's content means, and which tracked files
//! a directory event concerns. Pure: the daemon reads the files (`sys::inotify`) and feeds the
//! bytes here; this module never touches the file system.
//!
//! keepalived compat, observed behaviour of `track_file.c`:
//! - at most the first 127 bytes are read and parsed like C `strtol(s, NULL, 0)`: leading
//!   white space, an optional sign, then hexadecimal (`0x`), octal (leading `0`) or decimal
//!   digits; anything after the number is ignored; no digits at all reads as 0;
//! - an empty or missing file reads as 0, and so does a file deleted or moved away;
//! - a number that overflows, or lies outside the C `int` range, is logged ("Invalid number …
//!   - ignoring") and the previous value stays;
//! - `init_file [VALUE] [overwrite]` writes `VALUE\n` at start when the file is missing (or
//!   always with `overwrite`, except on reload) — see [`init_decision`].

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use log::{info, warn};

use crate::vrrp::TrackerUpdate;
use crate::vrrp::spec::TrackFileSpec;

/// keepalived reads a tracked file into a 128-byte buffer (127 bytes + NUL).
pub const READ_LIMIT: usize = 127;

/// A number keepalived would refuse ("Invalid number … - ignoring"): the previous value stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue(pub String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid number {:?}", self.0)
    }
}

/// The value of a tracked file's content (the first [`READ_LIMIT`] bytes are looked at).
pub fn parse_value(content: &[u8]) -> Result<i64, BadValue> {
    let s = &content[..content.len().min(READ_LIMIT)];
    // C strtol stops at a NUL like at any other non-digit.
    let s = match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    let mut i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let hex_digit = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_hexdigit());
    let radix: u32 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && hex_digit(s.get(i + 2))
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let mut v: i128 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&b| (b as char).to_digit(radix)) {
        v = v * i128::from(radix) + i128::from(d);
        if v > i128::from(i64::MAX) + 1 {
            overflow = true;
            v = i128::from(i64::MAX) + 1;
        }
        i += 1;
    }
    let v = if neg { -v } else { v };
    let text = || String::from_utf8_lossy(s).trim().to_string();
    // keepalived compat: strtol's ERANGE and values outside `int` are both refused.
    if overflow || v < i128::from(i32::MIN) || v > i128::from(i32::MAX) {
        return Err(BadValue(text()));
    }
    Ok(v as i64)
}

/// What to do about `init_file` for one tracked file (keepalived's end-of-block handler).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitDecision {
    /// Nothing to write.
    Keep,
    /// Write `VALUE\n` (see [`init_content`]).
    Write(i64),
    /// The path exists but is not a regular file: "Cannot initialise track file X - it is not
    /// a regular file".
    NotRegular,
}

/// `exists` / `regular`: what `stat(path)` said; `reload`: a SIGHUP, where an existing file is
/// never overwritten.
pub fn init_decision(
    spec: &TrackFileSpec,
    exists: bool,
    regular: bool,
    reload: bool,
) -> InitDecision {
    let Some((value, overwrite)) = spec.init_file else {
        return InitDecision::Keep;
    };
    if !exists {
        return InitDecision::Write(value);
    }
    if !overwrite {
        return InitDecision::Keep;
    }
    if !regular {
        return InitDecision::NotRegular;
    }
    if reload {
        InitDecision::Keep
    } else {
        InitDecision::Write(value)
    }
}

/// The bytes `init_file` writes.
pub fn init_content(value: i64) -> String {
    format!("{value}\n")
}

/// One read of a tracked file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The file does not exist (or was deleted / moved away): value 0.
    Missing,
    /// Its first bytes.
    Content(Vec<u8>),
    /// It exists but could not be read (EACCES, EISDIR, ...): value 0, as keepalived (whose
    /// `open` failing leaves the value at 0).
    Unreadable(String),
}

#[derive(Clone, Debug)]
struct Tracked {
    path: PathBuf,
    dir: PathBuf,
    file_name: OsString,
    /// Last value reported to the core (None = nothing yet).
    reported: Option<i64>,
}

/// The tracked files of one configuration: where each lives, and the last value reported.
#[derive(Clone, Debug, Default)]
pub struct FileTracker {
    files: Vec<(String, Tracked)>,
}

impl FileTracker {
    /// `files`: (track_file name, absolute path with symlinks already resolved by the caller
    /// where the file or its directory exists). Paths without a directory part are kept but
    /// never match an event.
    pub fn new(files: Vec<(String, PathBuf)>) -> Self {
        let files = files
            .into_iter()
            .map(|(name, path)| {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let file_name = path
                    .file_name()
                    .map(OsStr::to_os_string)
                    .unwrap_or_default();
                (
                    name,
                    Tracked {
                        path,
                        dir,
                        file_name,
                        reported: None,
                    },
                )
            })
            .collect();
        FileTracker { files }
    }

    /// Keep the last reported values of files that are still tracked at the same path (so a
    /// reload does not re-announce unchanged values).
    pub fn carry_over(&mut self, old: &FileTracker) {
        for (name, t) in &mut self.files {
            if let Some((_, o)) = old
                .files
                .iter()
                .find(|(n, o)| n == name && o.path == t.path)
            {
                t.reported = o.reported;
            }
        }
    }

    /// Directories to watch (deduplicated).
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self
            .files
            .iter()
            .map(|(_, t)| t.dir.clone())
            .filter(|d| !d.as_os_str().is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every (name, path) tracked.
    pub fn paths(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.files
            .iter()
            .map(|(n, t)| (n.as_str(), t.path.as_path()))
    }

    /// Names of the tracked files an event on `dir`/`file_name` concerns.
    pub fn affected(&self, dir: &Path, file_name: &OsStr) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, t)| t.dir == dir && t.file_name == file_name)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A new reading of file `name`: the update for the core if the value changed since the
    /// last report (always for the first reading), None otherwise or for an unknown name.
    pub fn apply(&mut self, name: &str, reading: Reading) -> Option<TrackerUpdate> {
        let (_, t) = self.files.iter_mut().find(|(n, _)| n == name)?;
        let value = match reading {
            Reading::Missing => 0,
            Reading::Unreadable(why) => {
                warn!("track file {name}: cannot read {}: {why}", t.path.display());
                0
            }
            Reading::Content(bytes) => match parse_value(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    info!("{e} read from {} - ignoring", t.path.display());
                    // keepalived compat: the previous value stays; before any value, 0.
                    if t.reported.is_some() {
                        return None;
                    }
                    0
                }
            },
        };
        if t.reported == Some(value) {
            return None;
        }
        if t.reported.is_some() {
            info!("Track file {name} value changed to {value}");
        }
        t.reported = Some(value);
        Some(TrackerUpdate::File {
            name: name.to_string(),
            value,
        })
    }

    /// Last values reported, for dumps.
    pub fn values(&self) -> HashMap<String, i64> {
        self.files
            .iter()
            .filter_map(|(n, t)| t.reported.map(|v| (n.clone(), v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<i64, BadValue> {
        parse_value(s.as_bytes())
    }

    #[test]
    fn parses_like_strtol_base_0() {
        assert_eq!(p("5\n"), Ok(5));
        assert_eq!(p("  -20 trailing"), Ok(-20));
        assert_eq!(p("+7"), Ok(7));
        assert_eq!(p("0x10"), Ok(16));
        assert_eq!(p("0X1f"), Ok(31));
        assert_eq!(p("010"), Ok(8), "leading 0 is octal");
        assert_eq!(p("08"), Ok(0), "octal stops at 8");
        assert_eq!(p("0x"), Ok(0), "0x without hex digits is the number 0");
        assert_eq!(p("0xg"), Ok(0));
        assert_eq!(p(""), Ok(0));
        assert_eq!(p("garbage"), Ok(0));
        assert_eq!(p("\n\t 12abc"), Ok(12));
        assert_eq!(p("- 5"), Ok(0), "sign must touch the digits");
        assert_eq!(p("2147483647"), Ok(i64::from(i32::MAX)));
        assert_eq!(p("-2147483648"), Ok(i64::from(i32::MIN)));
        assert!(p("2147483648").is_err(), "outside int");
        assert!(p("99999999999999999999999").is_err(), "ERANGE");
        assert!(p("-99999999999999999999999").is_err());
        assert_eq!(parse_value(b"3\0garbage"), Ok(3));
    }

    #[test]
    fn only_the_first_127_bytes_count() {
        let mut s = " ".repeat(126);
        s.push_str("99");
        assert_eq!(p(&s), Ok(9));
        let s = " ".repeat(127) + "5";
        assert_eq!(p(&s), Ok(0));
    }

    fn spec(init: Option<(i64, bool)>) -> TrackFileSpec {
        TrackFileSpec {
            name: "f".into(),
            path: "/run/f".into(),
            weight: 1,
            reverse: false,
            init_file: init,
        }
    }

    #[test]
    fn init_file_rules() {
        use InitDecision::*;
        assert_eq!(init_decision(&spec(None), false, false, false), Keep);
        assert_eq!(
            init_decision(&spec(Some((3, false))), false, false, false),
            Write(3)
        );
        assert_eq!(
            init_decision(&spec(Some((3, false))), true, true, false),
            Keep
        );
        assert_eq!(
            init_decision(&spec(Some((3, true))), true, true, false),
            Write(3)
        );
        assert_eq!(
            init_decision(&spec(Some((3, true))), true, true, true),
            Keep,
            "no overwrite on reload"
        );
        assert_eq!(
            init_decision(&spec(Some((3, true))), false, false, true),
            Write(3)
        );
        assert_eq!(
            init_decision(&spec(Some((3, true))), true, false, false),
            NotRegular
        );
        assert_eq!(init_content(-7), "-7\n");
    }

    #[test]
    fn reports_changes_only() {
        let mut t = FileTracker::new(vec![
            ("a".into(), PathBuf::from("/run/x/a")),
            ("b".into(), PathBuf::from("/run/x/b")),
            ("c".into(), PathBuf::from("/var/c")),
        ]);
        assert_eq!(
            t.dirs(),
            vec![PathBuf::from("/run/x"), PathBuf::from("/var")]
        );
        assert_eq!(t.affected(Path::new("/run/x"), OsStr::new("b")), vec!["b"]);
        assert!(t.affected(Path::new("/run"), OsStr::new("b")).is_empty());
        let upd = |v| {
            Some(TrackerUpdate::File {
                name: "a".into(),
                value: v,
            })
        };
        assert_eq!(
            t.apply("a", Reading::Missing),
            upd(0),
            "first reading reported"
        );
        assert_eq!(t.apply("a", Reading::Content(b"0\n".to_vec())), None);
        assert_eq!(t.apply("a", Reading::Content(b"12\n".to_vec())), upd(12));
        assert_eq!(
            t.apply("a", Reading::Content(b"9999999999999".to_vec())),
            None,
            "invalid keeps the previous value"
        );
        assert_eq!(t.values()["a"], 12);
        assert_eq!(t.apply("a", Reading::Missing), upd(0));
        assert_eq!(t.apply("zz", Reading::Missing), None);

        let mut t2 = FileTracker::new(vec![("a".into(), PathBuf::from("/run/x/a"))]);
        t2.carry_over(&t);
        assert_eq!(t2.apply("a", Reading::Missing), None, "value carried over");
        let mut t3 = FileTracker::new(vec![("a".into(), PathBuf::from("/run/y/a"))]);
        t3.carry_over(&t);
        assert_eq!(
            t3.apply("a", Reading::Missing),
            upd(0),
            "path changed: re-reported"
        );
    }

    #[test]
    fn first_invalid_reading_is_zero() {
        let mut t = FileTracker::new(vec![("a".into(), PathBuf::from("/run/a"))]);
        assert_eq!(
            t.apply("a", Reading::Content(b"4294967296".to_vec())),
            Some(TrackerUpdate::File {
                name: "a".into(),
                value: 0
            })
        );
    }
}
