//! The second, shell-like parse of `script` / `notify*` strings (reference §3.1): `"` and `'`
//! quote, quoted parts concatenate with adjacent text, unquoted blanks separate arguments,
//! backslash escapes.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellError {
    UnterminatedQuote(char),
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShellError::UnterminatedQuote(q) => write!(f, "unterminated {q} quote"),
        }
    }
}

/// Split a command string into argv.
pub fn split(s: &str) -> Result<Vec<String>, ShellError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                in_word = true;
                let Some(e) = it.next() else {
                    cur.push('\\');
                    break;
                };
                match e {
                    'a' => cur.push('\x07'),
                    'b' => cur.push('\x08'),
                    'E' => cur.push('\x1b'),
                    'f' => cur.push('\x0c'),
                    'n' => cur.push('\n'),
                    'r' => cur.push('\r'),
                    't' => cur.push('\t'),
                    'v' => cur.push('\x0b'),
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match it.peek().and_then(|c| c.to_digit(8)) {
                                Some(d) => {
                                    v = v * 8 + d;
                                    it.next();
                                }
                                None => break,
                            }
                        }
                        cur.push(char::from_u32(v & 0xff).unwrap_or('?'));
                    }
                    'x' => {
                        let mut v = 0u32;
                        for _ in 0..2 {
                            match it.peek().and_then(|c| c.to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    it.next();
                                }
                                None => break,
                            }
                        }
                        cur.push(char::from_u32(v).unwrap_or('?'));
                    }
                    'c' => {
                        let ch = it.next().unwrap_or('@');
                        cur.push(char::from_u32(u32::from(ch) & 0x1f).unwrap_or('?'));
                    }
                    other => cur.push(other),
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(ShellError::UnterminatedQuote(q));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_like_split() {
        assert_eq!(split("/bin/x a  b").unwrap(), vec!["/bin/x", "a", "b"]);
        assert_eq!(
            split("abcd\" efg h \"mnop").unwrap(),
            vec!["abcd efg h mnop"]
        );
        assert_eq!(
            split("x 'a b' \"c d\" e\\ f").unwrap(),
            vec!["x", "a b", "c d", "e f"]
        );
        assert_eq!(split("a\\tb \\101").unwrap(), vec!["a\tb", "A"]);
        assert_eq!(split("'it''s'").unwrap(), vec!["its"]);
        assert!(split("x 'open").is_err());
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }
}
