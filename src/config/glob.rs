//! Minimal glob(3) for `include`: `*`, `?`, `[...]` per path component, csh braces `{a,b}`,
//! results sorted like glob(3). std only.

use std::path::{Path, PathBuf};

/// Expand `{a,b}` (nested allowed) into every alternative, left to right.
pub fn expand_braces(pat: &str) -> Vec<String> {
    let bytes: Vec<char> = pat.chars().collect();
    let Some(open) = bytes.iter().position(|&c| c == '{') else {
        return vec![pat.to_string()];
    };
    let mut depth = 0usize;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &c) in bytes.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pat.to_string()];
    };
    let pre: String = bytes[..open].iter().collect();
    let post: String = bytes[close + 1..].iter().collect();
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt: String = bytes[w[0] + 1..w[1]].iter().collect();
        for e in expand_braces(&format!("{pre}{alt}{post}")) {
            out.push(e);
        }
    }
    out
}

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// fnmatch without flags beyond "a leading dot must be matched explicitly".
pub fn fnmatch(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class_match(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `[...]` class at the start of `p`: (matches, length of the class) or None if unterminated.
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some('!') | Some('^'));
    if neg {
        i += 1;
    }
    let start = i;
    let mut found = false;
    while i < p.len() {
        if p[i] == ']' && i > start {
            return Some((found != neg, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    None
}

/// Expand one (brace-free) pattern against the file system; sorted.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    if !has_wildcard(pattern) {
        let p = PathBuf::from(pattern);
        return if p.exists() { vec![p] } else { Vec::new() };
    }
    let path = Path::new(pattern);
    let mut current: Vec<PathBuf> = vec![if path.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in path.components() {
        let s = comp.as_os_str().to_string_lossy();
        if matches!(comp, std::path::Component::RootDir) {
            continue;
        }
        let mut next = Vec::new();
        for base in &current {
            if has_wildcard(&s) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| fnmatch(&s, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                let p = base.join(&*s);
                if p.exists() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current.sort();
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_and_fnmatch() {
        assert_eq!(expand_braces("a{b,c{d,e}}f"), vec!["abf", "acdf", "acef"]);
        assert_eq!(expand_braces("plain"), vec!["plain"]);
        assert!(fnmatch("*.conf", "x.conf"));
        assert!(!fnmatch("*.conf", ".x.conf"));
        assert!(fnmatch("a?[0-9]", "ab7"));
        assert!(!fnmatch("a?[!0-9]", "ab7"));
        assert!(fnmatch("*a*b", "xxaxxb"));
    }
}
