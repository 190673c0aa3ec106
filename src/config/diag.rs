//! Collected configuration diagnostics (never panics, never aborts the parse).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A place in a config file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Self {
        Pos {
            file: file.clone(),
            line,
            col,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a diagnostic is. Only `Error` counts toward the `-t` exit code: errors mirror the
/// config errors keepalived itself reports; warnings and notes are ours (unsupported features,
/// checks keepalived does not make) and must not change keepalived's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// keepalived's `-t` error classes, as exit codes. keepalived keeps the *highest* class value
/// reported, and its enum is ordered by decreasing severity, so 6 beats 5 beats 4.
pub mod class {
    /// A keyword missing its parameter: keepalived stops reading the configuration at that
    /// line and exits 2, whatever else was reported.
    pub const MISSING_PARAMETER: u8 = 2;
    /// File not found / bad interface / fatal.
    pub const FATAL: u8 = 4;
    /// Any other config error (keepalived would still run).
    pub const GENERAL: u8 = 5;
    /// Script security violations and strict include checks.
    pub const SECURITY: u8 = 6;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Option<Pos>,
    pub severity: Severity,
    /// Exit-code class (`class::*`) for errors; 0 for warnings and notes.
    pub rc: u8,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(p) => write!(f, "{}: {}: {}", p, self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

/// keepalived compat: the exit code of `-t` is the highest class reported (0 when none),
/// except that a missing parameter ends keepalived's parse at once with 2.
pub fn exit_code(diags: &[Diagnostic]) -> i32 {
    let errors = || diags.iter().filter(|d| d.severity == Severity::Error);
    if errors().any(|d| d.rc == class::MISSING_PARAMETER) {
        return i32::from(class::MISSING_PARAMETER);
    }
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| i32::from(d.rc))
        .max()
        .unwrap_or(0)
}

/// The text of every config file read, for printing source lines under diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: HashMap<Arc<str>, Vec<String>>,
}

impl Sources {
    pub fn insert(&mut self, file: &Arc<str>, text: &str) {
        self.files
            .insert(file.clone(), text.lines().map(str::to_string).collect());
    }

    pub fn line(&self, pos: &Pos) -> Option<&str> {
        let idx = usize::try_from(pos.line).ok()?.checked_sub(1)?;
        self.files.get(&pos.file)?.get(idx).map(String::as_str)
    }
}

/// Render one diagnostic as `FILE:LINE:COL: severity: message`, then the source line and a
/// caret line under the column.
pub fn render(d: &Diagnostic, sources: &Sources) -> String {
    let mut out = format!("{d}\n");
    if let Some(pos) = &d.pos {
        if let Some(line) = sources.line(pos) {
            let line: String = line.chars().take(200).collect();
            let col = usize::try_from(pos.col).unwrap_or(1).clamp(1, 201);
            let pad: String = line
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("  {line}\n  {pad}^\n"));
        }
    }
    out
}

/// A sink for diagnostics with helpers named after their meaning.
#[derive(Debug, Default)]
pub struct Diags {
    pub list: Vec<Diagnostic>,
}

impl Diags {
    pub fn push(&mut self, pos: Option<&Pos>, severity: Severity, rc: u8, message: String) {
        self.list.push(Diagnostic {
            pos: pos.cloned(),
            severity,
            rc: if severity == Severity::Error { rc } else { 0 },
            message,
        });
    }
    /// A config error keepalived also reports, class 5.
    pub fn error(&mut self, pos: Option<&Pos>, message: impl Into<String>) {
        self.push(pos, Severity::Error, class::GENERAL, message.into());
    }
    pub fn error_class(&mut self, pos: Option<&Pos>, rc: u8, message: impl Into<String>) {
        self.push(pos, Severity::Error, rc, message.into());
    }
    pub fn warning(&mut self, pos: Option<&Pos>, message: impl Into<String>) {
        self.push(pos, Severity::Warning, 0, message.into());
    }
    pub fn note(&mut self, pos: Option<&Pos>, message: impl Into<String>) {
        self.push(pos, Severity::Note, 0, message.into());
    }
    /// A keyword we parse but whose feature the daemon does not implement.
    pub fn unsupported(&mut self, pos: Option<&Pos>, keyword: &str) {
        self.warning(
            pos,
            format!("'{keyword}' is not supported by rkeepalived; ignored"),
        );
    }
}
