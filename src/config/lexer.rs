//! keepalived.conf lexical layer (reference §3.1): physical lines -> comment stripping ->
//! include -> `@ID` conditionals -> `$NAME=` definitions -> `~SEQ`/`~LST` -> `$` substitution
//! -> brace splitting -> tokens. Output is a flat stream of [`Item`]s with positions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diags, Pos, Sources, class};
use super::glob;

/// keepalived compat: lines are read with a 1024-byte buffer (MAXBUF); what does not fit is
/// read as the next line.
pub const MAX_LINE: usize = 1023;
/// Include nesting limit (keepalived runs out of file descriptors instead).
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Parameter substitution passes per line (recursive definitions).
const MAX_SUBST_PASSES: usize = 32;
/// Lines one `~SEQ`/`~LST` may produce.
const MAX_SEQ_LINES: usize = 65_536;
/// Lines all `~SEQ`/`~LST` expansions together may produce (nested sequences multiply).
const MAX_EXPANDED_LINES: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tok {
    pub text: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// One line's worth of tokens (between braces / line ends).
    Words(Vec<Tok>),
    Open(Pos),
    Close(Pos),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IncludeChecks {
    pub readable: bool,
    pub matched: bool,
    pub wildcard_match: bool,
    pub brace_match: bool,
}

impl IncludeChecks {
    pub fn all() -> Self {
        IncludeChecks {
            readable: true,
            matched: true,
            wildcard_match: true,
            brace_match: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LexOptions {
    /// `-i`: config id for `@ID` lines and `${_INSTANCE}`.
    pub config_id: String,
    /// `-e`: every include check on.
    pub all_config: bool,
}

pub struct Lexer<'a> {
    opts: &'a LexOptions,
    pub diags: &'a mut Diags,
    pub sources: Sources,
    params: HashMap<String, Vec<String>>,
    /// Multi-line definition being collected: (name, lines so far).
    pending_def: Option<(String, Vec<String>)>,
    rng: u64,
    pwd: String,
    depth: usize,
    pub items: Vec<Item>,
    pub files: Vec<PathBuf>,
    expanded: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(opts: &'a LexOptions, diags: &'a mut Diags) -> Self {
        Lexer {
            opts,
            diags,
            sources: Sources::default(),
            params: HashMap::new(),
            pending_def: None,
            rng: 0x2545_f491_4f6c_dd1d,
            pwd: String::new(),
            depth: 0,
            items: Vec::new(),
            files: Vec::new(),
            expanded: 0,
        }
    }

    /// Read a config file (and its includes) into `self.items`.
    pub fn read_file(&mut self, path: &Path, from: Option<&Pos>) {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        if self.depth >= MAX_INCLUDE_DEPTH {
            // keepalived compat: reported, but not an error class (keepalived hits EMFILE, rc 0).
            self.diags.warning(
                from,
                format!(
                    "Configuration file '{name}' open problem (include depth limit {MAX_INCLUDE_DEPTH} reached) - skipping"
                ),
            );
            return;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.diags.warning(
                    from,
                    format!("Configuration file '{name}' open problem ({e}) - skipping"),
                );
                return;
            }
        };
        self.files.push(path.to_path_buf());
        let dir = path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.read_bytes(&name, &bytes, dir);
    }

    /// Lex text that did not come from a file (tests, fuzzing).
    pub fn read_text(&mut self, name: &str, text: &str) {
        let name: Arc<str> = Arc::from(name);
        self.read_bytes(&name, text.as_bytes(), String::new());
    }

    fn read_bytes(&mut self, name: &Arc<str>, bytes: &[u8], dir: String) {
        let name = name.clone();
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.sources.insert(&name, &text);
        let saved_pwd = std::mem::replace(&mut self.pwd, dir);
        self.depth += 1;
        let checks = if self.opts.all_config {
            IncludeChecks::all()
        } else {
            IncludeChecks::default()
        };
        if bytes.starts_with(b"\xef\xbb\xbf") {
            self.diags.note(
                Some(&Pos::new(&name, 1, 1)),
                "file starts with a UTF-8 byte order mark, which keepalived reads as part of the first keyword",
            );
        }
        let mut lineno = 0u32;
        for phys in bytes.split(|&b| b == b'\n') {
            lineno = lineno.saturating_add(1);
            if phys.contains(&0) {
                // keepalived compat: lines with an embedded NUL are ignored.
                self.diags.note(
                    Some(&Pos::new(&name, lineno, 1)),
                    "line contains a NUL byte - ignored",
                );
                continue;
            }
            let chunks: Vec<&[u8]> = if phys.len() > MAX_LINE {
                self.diags.note(
                    Some(&Pos::new(&name, lineno, 1)),
                    format!(
                        "line is {} bytes long; keepalived reads lines in {MAX_LINE}-byte pieces, so the rest is read as further lines",
                        phys.len()
                    ),
                );
                phys.chunks(MAX_LINE).collect()
            } else {
                vec![phys]
            };
            for (ci, chunk) in chunks.into_iter().enumerate() {
                let raw = String::from_utf8_lossy(chunk);
                let raw = raw.trim_end_matches('\r');
                let col0 = u32::try_from(ci * MAX_LINE).unwrap_or(0);
                self.physical_line(&name, lineno, col0, raw, &checks);
            }
        }
        if let Some((n, _)) = self.pending_def.take() {
            self.diags.error(
                Some(&Pos::new(&name, lineno, 1)),
                format!("multi-line definition of '${n}' not terminated at end of file"),
            );
        }
        self.depth -= 1;
        self.pwd = saved_pwd;
    }

    fn physical_line(
        &mut self,
        file: &Arc<str>,
        line: u32,
        col0: u32,
        raw: &str,
        checks: &IncludeChecks,
    ) {
        let (text, lead) = decomment(raw);
        let col = col0 + u32::try_from(lead).unwrap_or(0) + 1;
        let pos = Pos::new(file, line, col);
        // Continuation of a multi-line `$NAME=` definition.
        if let Some((name, mut lines)) = self.pending_def.take() {
            let (body, more) = strip_continuation(&text);
            lines.push(body.to_string());
            if more {
                self.pending_def = Some((name, lines));
            } else {
                self.params.insert(name, lines);
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        // Include detection comes before conditionals and parameters (keepalived compat).
        let first = text.split_whitespace().next().unwrap_or("");
        if matches!(
            first,
            "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
        ) {
            self.include(first, &text, &pos, *checks);
            return;
        }
        // keepalived compat: `include_check` (newer keepalived) is unknown to 2.2.7, which
        // reports it as an unknown keyword and does not apply it; so do we (the grammar
        // reports it). `-e` and the includer/m/w/b/a variants select the checks.
        self.logical_line(&text, &pos, 0);
    }

    /// Everything after include detection, for one logical line (also re-entered for lines
    /// produced by `~SEQ`/`~LST` and multi-line parameters).
    fn logical_line(&mut self, text: &str, pos: &Pos, nest: usize) {
        if nest > 16 {
            self.diags.error(
                Some(pos),
                "parameter / sequence expansion nested too deeply",
            );
            return;
        }
        let mut text = text.trim().to_string();
        // `@ID` / `@^ID` conditional lines.
        if let Some(rest) = text.strip_prefix('@') {
            let (id, after) = split_first_word(rest);
            let (neg, id) = match id.strip_prefix('^') {
                Some(i) => (true, i),
                None => (false, id),
            };
            let matches = id == self.opts.config_id;
            if matches == neg {
                return;
            }
            text = after.trim().to_string();
            if text.is_empty() {
                return;
            }
        }
        // `$NAME=VALUE` definitions.
        if let Some(rest) = text.strip_prefix('$') {
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if name_len > 0 && rest[name_len..].starts_with('=') {
                let name = rest[..name_len].to_string();
                let value = &rest[name_len + 1..];
                if name.starts_with(|c: char| c.is_ascii_digit()) {
                    self.diags
                        .error(Some(pos), format!("invalid parameter name '{name}'"));
                    return;
                }
                let (body, more) = strip_continuation(value);
                if more {
                    self.pending_def = Some((name, vec![body.to_string()]));
                } else {
                    self.params.insert(name, vec![body.to_string()]);
                }
                return;
            }
        }
        // `~SEQ(...)` / `~SEQx(...)` / `~LST(...)`.
        if text.starts_with('~') {
            self.sequence(&text, pos, nest);
            return;
        }
        // `$` substitution (recursive), then re-check `@` and definitions on the result.
        if text.contains('$') {
            let subst = self.substitute(&text, pos);
            if subst != text {
                let lines: Vec<&str> = subst.split('\n').collect();
                if lines.len() > 1 || subst.trim_start().starts_with(['@', '~']) {
                    for l in lines {
                        self.logical_line(l, pos, nest + 1);
                    }
                    return;
                }
                text = subst;
            }
        }
        self.tokenize(&text, pos);
    }

    fn include(&mut self, kind: &str, text: &str, pos: &Pos, checks: IncludeChecks) {
        let mut words = Vec::new();
        tokenize_plain(text, &mut words);
        let Some(pattern) = words.get(1).cloned() else {
            self.diags.error(Some(pos), "No include file specified");
            return;
        };
        let mut c = checks;
        match kind {
            "includer" => c.readable = true,
            "includem" => c.matched = true,
            "includew" => {
                c.matched = true;
                c.wildcard_match = true;
            }
            "includeb" => c.brace_match = true,
            "includea" => c = IncludeChecks::all(),
            _ => {}
        }
        let full = if pattern.starts_with('/') || self.pwd.is_empty() {
            pattern.clone()
        } else {
            format!("{}/{}", self.pwd, pattern)
        };
        let mut files: Vec<PathBuf> = Vec::new();
        let alts = glob::expand_braces(&full);
        let mut some_missing = false;
        for alt in &alts {
            let m = glob::glob(alt);
            some_missing |= m.is_empty();
            files.extend(m);
        }
        if some_missing && c.brace_match && alts.len() > 1 && !files.is_empty() {
            self.diags.error_class(
                Some(pos),
                class::SECURITY,
                format!("Some config files missing: \"{pattern}\"."),
            );
        }
        if files.is_empty() {
            let wild = glob::has_wildcard(&pattern);
            // keepalived compat: plain include never fails; the checking variants report
            // in the highest class (rc 6 under -t).
            if wild {
                if c.wildcard_match {
                    self.diags.error_class(
                        Some(pos),
                        class::SECURITY,
                        format!("No config files matched '{pattern}'."),
                    );
                } else {
                    self.diags
                        .warning(Some(pos), format!("No config files matched '{pattern}'."));
                }
            } else if c.matched {
                self.diags.error_class(
                    Some(pos),
                    class::SECURITY,
                    format!("Config files missing '{pattern}'."),
                );
            } else {
                self.diags
                    .warning(Some(pos), format!("Config files missing '{pattern}'."));
            }
            return;
        }
        for f in files {
            if f.is_dir() {
                let msg = format!(
                    "Configuration file '{}' is a directory - skipping",
                    f.display()
                );
                if c.readable {
                    self.diags.error_class(Some(pos), class::SECURITY, msg);
                } else {
                    self.diags.warning(Some(pos), msg);
                }
                continue;
            }
            self.read_file(&f, Some(pos));
        }
    }

    fn sequence(&mut self, text: &str, pos: &Pos, nest: usize) {
        let (kind, rest) = if let Some(r) = text.strip_prefix("~SEQx(") {
            ("SEQx", r)
        } else if let Some(r) = text.strip_prefix("~SEQ(") {
            ("SEQ", r)
        } else if let Some(r) = text.strip_prefix("~LST(") {
            ("LST", r)
        } else {
            self.tokenize(text, pos);
            return;
        };
        // Arguments may themselves use parameters.
        let Some(close) = find_close_paren(rest) else {
            self.diags.error(Some(pos), format!("~{kind} missing ')'"));
            return;
        };
        let args_text = self.substitute(&rest[..close], pos);
        let body = rest[close + 1..].trim().to_string();
        let args = split_top_commas(&args_text);
        let first = args.first().cloned().unwrap_or_default();
        // `~LST({A,B}, {1,2}, {3,4})` binds several variables per iteration.
        let vars: Vec<String> = match first.strip_prefix('{').and_then(|f| f.strip_suffix('}')) {
            Some(inner) if kind == "LST" => {
                inner.split(',').map(|v| v.trim().to_string()).collect()
            }
            _ => vec![first],
        };
        if vars
            .iter()
            .any(|v| v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            self.diags.error(
                Some(pos),
                format!("~{kind} variable name '{}' is not valid", vars.join(",")),
            );
            return;
        }
        let rows: Vec<Vec<String>> = if kind == "LST" {
            let mut rows = Vec::new();
            for a in &args[1..] {
                let row: Vec<String> = match a.strip_prefix('{').and_then(|f| f.strip_suffix('}')) {
                    Some(inner) if vars.len() > 1 => {
                        inner.split(',').map(|v| v.trim().to_string()).collect()
                    }
                    _ => vec![a.clone()],
                };
                if row.len() != vars.len() {
                    self.diags.error(
                        Some(pos),
                        format!("~LST value '{a}' does not have {} elements", vars.len()),
                    );
                    return;
                }
                rows.push(row);
            }
            rows
        } else {
            let nums: Option<Vec<i64>> = args[1..].iter().map(|a| parse_c_int(a)).collect();
            let Some(nums) = nums else {
                self.diags.error(
                    Some(pos),
                    format!("~{kind} has an invalid number in '{args_text}'"),
                );
                return;
            };
            let (start, step, end) = match nums.as_slice() {
                [end] => (0, 1, *end),
                [start, end] => (*start, 1, *end),
                [start, step, end] => (*start, *step, *end),
                _ => {
                    self.diags
                        .error(Some(pos), format!("~{kind} needs 1 to 3 numbers"));
                    return;
                }
            };
            if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
                self.diags.error(
                    Some(pos),
                    format!("~{kind} step {step} never reaches {end}"),
                );
                return;
            }
            let mut v = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                if v.len() >= MAX_SEQ_LINES {
                    self.diags
                        .error(Some(pos), format!("~{kind} produces too many lines"));
                    return;
                }
                v.push(vec![if kind == "SEQx" {
                    format!("{i:x}")
                } else {
                    i.to_string()
                }]);
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            v
        };
        let saved: Vec<(String, Option<Vec<String>>)> = vars
            .iter()
            .map(|v| (v.clone(), self.params.get(v).cloned()))
            .collect();
        for row in rows {
            self.expanded += 1;
            if self.expanded == MAX_EXPANDED_LINES {
                self.diags.error(
                    Some(pos),
                    format!("~{kind}: sequences expand to more than {MAX_EXPANDED_LINES} lines - stopping"),
                );
            }
            if self.expanded >= MAX_EXPANDED_LINES {
                break;
            }
            for (var, value) in vars.iter().zip(row) {
                self.params.insert(var.clone(), vec![value]);
            }
            self.logical_line(&body, pos, nest + 1);
        }
        for (var, old) in saved {
            match old {
                Some(s) => self.params.insert(var, s),
                None => self.params.remove(&var),
            };
        }
    }

    /// Replace `$NAME` / `${NAME}` / built-ins until nothing changes.
    fn substitute(&mut self, text: &str, pos: &Pos) -> String {
        let mut cur = text.to_string();
        for _ in 0..MAX_SUBST_PASSES {
            let next = self.substitute_once(&cur);
            if next == cur {
                return cur;
            }
            if next.len() > 64 * 1024 {
                self.diags
                    .error(Some(pos), "parameter expansion grows without bound");
                return cur;
            }
            cur = next;
        }
        self.diags
            .error(Some(pos), "parameter definitions are recursive");
        cur
    }

    fn substitute_once(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(inner) = after.strip_prefix('{') {
                if let Some(end) = inner.find('}') {
                    let spec = &inner[..end];
                    if let Some(v) = self.builtin_or_param(spec) {
                        out.push_str(&v);
                    } else {
                        out.push('$');
                        out.push('{');
                        out.push_str(spec);
                        out.push('}');
                    }
                    rest = &inner[end + 1..];
                    continue;
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                // keepalived compat: a bare `$NAME` must be followed by a blank or the end
                // of the line (`10.0.0.$N/32` is left as it is; `${N}` works anywhere).
                let delimited = after[n..].chars().next().is_none_or(char::is_whitespace);
                if n > 0 && delimited {
                    let name = &after[..n];
                    if let Some(v) = self.builtin_or_param(name) {
                        out.push_str(&v);
                        rest = &after[n..];
                        continue;
                    }
                }
            }
            out.push('$');
            rest = after;
        }
        out.push_str(rest);
        out
    }

    fn builtin_or_param(&mut self, spec: &str) -> Option<String> {
        let mut words = spec.split_whitespace();
        let name = words.next()?;
        match name {
            "_PWD" => Some(self.pwd.clone()),
            "_INSTANCE" => Some(self.opts.config_id.clone()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_RANDOM" => {
                let a: Vec<i64> = words.filter_map(parse_c_int).collect();
                let (min, max) = match a.as_slice() {
                    [] => (0, 32767),
                    [max] => (0, *max),
                    [min, max, ..] => (*min, *max),
                };
                // Not a clock: a fixed-seed xorshift, so the parse stays pure and repeatable.
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let span = u64::try_from(max.saturating_sub(min))
                    .unwrap_or(0)
                    .saturating_add(1);
                let r = i64::try_from(self.rng % span.max(1)).unwrap_or(0);
                Some((min + r).to_string())
            }
            _ => self.params.get(spec).map(|l| l.join("\n")),
        }
    }

    /// Brace splitting and tokenisation of one final line.
    fn tokenize(&mut self, text: &str, pos: &Pos) {
        let mut words: Vec<Tok> = Vec::new();
        let mut cur = String::new();
        let mut cur_col = 0u32;
        let mut in_tok = false;
        let mut quoted = false;
        let mut quote_col = 0u32;
        let mut quote_start = 0usize;
        let mut col = pos.col;
        let at = |c: u32| Pos::new(&pos.file, pos.line, c);
        let flush = |words: &mut Vec<Tok>, cur: &mut String, in_tok: &mut bool, c: u32| {
            if *in_tok {
                words.push(Tok {
                    text: std::mem::take(cur),
                    pos: at(c),
                });
                *in_tok = false;
            }
        };
        #[allow(clippy::explicit_counter_loop)] // col is also read after the loop
        for ch in text.chars() {
            if quoted {
                if ch == '"' {
                    quoted = false;
                } else {
                    cur.push(ch);
                }
            } else if ch == '"' {
                if !in_tok {
                    in_tok = true;
                    cur_col = col;
                }
                quoted = true;
                quote_col = col;
                quote_start = cur.len();
            } else if ch.is_whitespace() {
                flush(&mut words, &mut cur, &mut in_tok, cur_col);
            } else if ch == '{' || ch == '}' {
                flush(&mut words, &mut cur, &mut in_tok, cur_col);
                if !words.is_empty() {
                    self.items.push(Item::Words(std::mem::take(&mut words)));
                }
                self.items.push(if ch == '{' {
                    Item::Open(at(col))
                } else {
                    Item::Close(at(col))
                });
            } else {
                if !in_tok {
                    in_tok = true;
                    cur_col = col;
                }
                cur.push(ch);
            }
            col += 1;
        }
        if quoted {
            self.diags.error(
                Some(&at(quote_col)),
                format!("Unterminated quote '\"{}'", &cur[quote_start..]),
            );
            // keepalived compat: the unterminated quoted text is dropped (so a
            // keyword left without its value is "missing a parameter"), except on command
            // lines, which keepalived re-reads raw (their shell-like parse reports it).
            let command = words.first().is_some_and(|w| {
                COMMAND_KEYWORDS.contains(&w.text.as_str()) || w.text.starts_with("notify")
            });
            if !command {
                // Only the quoted part goes: `10"` keeps `10`.
                cur.truncate(quote_start);
                in_tok = !cur.is_empty();
            }
        }
        flush(&mut words, &mut cur, &mut in_tok, cur_col);
        if !words.is_empty() {
            self.items.push(Item::Words(words));
        }
    }
}

/// Keywords whose value is a command line (kept whole even with an unterminated quote).
const COMMAND_KEYWORDS: &[&str] = &[
    "script",
    "misc_path",
    "startup_script",
    "shutdown_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
];

/// Strip comments (`#`/`!` outside double quotes; `\#` `\!` are literal) and surrounding
/// blanks. Returns the text and how many bytes were trimmed from the front.
pub fn decomment(raw: &str) -> (String, usize) {
    let mut out = String::with_capacity(raw.len());
    let mut quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '\\' if !quoted && matches!(chars.peek(), Some('#') | Some('!')) => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '#' | '!' if !quoted => break,
            _ => out.push(c),
        }
    }
    let lead = out.len() - out.trim_start().len();
    (out.trim().to_string(), lead)
}

/// A trailing `\` marks a multi-line parameter definition.
fn strip_continuation(s: &str) -> (&str, bool) {
    let t = s.trim_end();
    match t.strip_suffix('\\') {
        Some(body) => (body.trim_end(), true),
        None => (t, false),
    }
}

fn split_first_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Split on commas that are not inside `{...}`.
fn split_top_commas(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn find_close_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Integers as strtol(…, 0) reads them: decimal, 0x hex, leading 0 octal.
pub fn parse_c_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Whitespace/double-quote tokenisation without braces (for include lines).
fn tokenize_plain(text: &str, out: &mut Vec<String>) {
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_tok = false;
    for ch in text.chars() {
        if ch == '"' {
            quoted = !quoted;
            in_tok = true;
        } else if ch.is_whitespace() && !quoted {
            if in_tok {
                out.push(std::mem::take(&mut cur));
                in_tok = false;
            }
        } else {
            cur.push(ch);
            in_tok = true;
        }
    }
    if in_tok {
        out.push(cur);
    }
}

/// Lex a whole config (entry point for tests): items, diagnostics, sources.
pub fn lex_file(path: &Path, opts: &LexOptions, diags: &mut Diags) -> (Vec<Item>, Sources) {
    let mut lx = Lexer::new(opts, diags);
    lx.read_file(path, None);
    (lx.items, lx.sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomment_rules() {
        assert_eq!(decomment("  a b # c").0, "a b");
        assert_eq!(decomment("a!b").0, "a");
        assert_eq!(decomment("\"a # b\" c ! d").0, "\"a # b\" c");
        assert_eq!(decomment("x\\#y\\!z").0, "x#y!z");
        assert_eq!(decomment("   key").1, 3);
    }

    #[test]
    fn c_ints() {
        assert_eq!(parse_c_int("0x10"), Some(16));
        assert_eq!(parse_c_int("010"), Some(8));
        assert_eq!(parse_c_int("-5"), Some(-5));
        assert_eq!(parse_c_int("x"), None);
    }
}
