//! Block tree from the item stream: a statement is one line's words, optionally followed by a
//! `{ ... }` block (the `{` may be on the same line, the next line, or the block on one line).

use super::diag::{Diags, Pos};
use super::lexer::{Item, Tok};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub kw: Tok,
    pub args: Vec<Tok>,
    pub block: Option<Vec<Stmt>>,
    /// Where the block's `{` was.
    pub open: Option<Pos>,
}

impl Stmt {
    pub fn pos(&self) -> &Pos {
        &self.kw.pos
    }
    /// The keyword and its arguments, as one word list (for list blocks such as
    /// `virtual_ipaddress` where every line is an entry).
    pub fn words(&self) -> Vec<&Tok> {
        std::iter::once(&self.kw).chain(self.args.iter()).collect()
    }
}

/// Build the tree. Structural errors use keepalived's messages.
pub fn build(items: &[Item], diags: &mut Diags) -> Vec<Stmt> {
    let mut i = 0;
    let mut depth_unclosed = 0usize;
    let top = parse_body(items, &mut i, 0, diags, &mut depth_unclosed);
    if depth_unclosed > 0 {
        // Point at the outermost block that was never closed.
        // Unclosed blocks run to the end of input, so it is the last top-level block.
        let at = top
            .iter()
            .rev()
            .find_map(|s| s.block.as_ref().and(s.open.clone()));
        diags.error(
            at.as_ref(),
            format!("There are {depth_unclosed} missing '}}'s or extra '{{'s"),
        );
    }
    top
}

/// Deepest block nesting parsed (keepalived's own grammar needs 4).
pub const MAX_DEPTH: usize = 16;

/// Skip to the `}` matching an already consumed `{`, iteratively.
fn skip_block(items: &[Item], i: &mut usize, unclosed: &mut usize) {
    let mut depth = 1usize;
    while *i < items.len() {
        match &items[*i] {
            Item::Open(_) => depth += 1,
            Item::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    *i += 1;
                    return;
                }
            }
            Item::Words(_) => {}
        }
        *i += 1;
    }
    *unclosed += 1;
}

fn parse_body(
    items: &[Item],
    i: &mut usize,
    depth: usize,
    diags: &mut Diags,
    unclosed: &mut usize,
) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = Vec::new();
    while *i < items.len() {
        match &items[*i] {
            Item::Words(w) => {
                *i += 1;
                let mut words = w.clone();
                let kw = words.remove(0);
                let mut st = Stmt {
                    kw,
                    args: words,
                    block: None,
                    open: None,
                };
                if let Some(Item::Open(p)) = items.get(*i) {
                    *i += 1;
                    st.open = Some(p.clone());
                    if depth >= MAX_DEPTH {
                        // keepalived's grammar nests 4 deep at most; anything deeper is
                        // skipped without recursing, so hostile input cannot exhaust the stack.
                        diags.error(Some(p), "blocks nested too deeply - skipping block");
                        skip_block(items, i, unclosed);
                        st.block = Some(Vec::new());
                    } else {
                        st.block = Some(parse_body(items, i, depth + 1, diags, unclosed));
                    }
                }
                out.push(st);
            }
            Item::Open(p) => {
                // A `{` with no keyword before it: keepalived ignores the brace and reads
                // what follows at the current level.
                *i += 1;
                diags.error(Some(p), "Unexpected '{' - ignoring");
                if depth >= MAX_DEPTH {
                    skip_block(items, i, unclosed);
                } else {
                    let inner = parse_body(items, i, depth + 1, diags, unclosed);
                    out.extend(inner);
                }
            }
            Item::Close(p) => {
                *i += 1;
                if depth == 0 {
                    diags.error(Some(p), "Extra '}' found");
                    continue;
                }
                return out;
            }
        }
    }
    if depth > 0 {
        *unclosed += 1;
    }
    out
}
