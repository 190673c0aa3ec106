//! Block tree from the item stream, read the way keepalived 2.2.7 reads it.
//!
//! keepalived does not nest by braces: it reads a block only after a keyword that opens one
//! (`vrrp_instance`, `authentication`, ...). A `{` after any other keyword is "Unexpected '{' -
//! ignoring" and the lines after it stay at the current level, so the `}` meant for that brace
//! closes the enclosing block and what follows is read one level up. A block keyword whose `{`
//! is missing still opens its block ("Missing '{' at beginning of configuration block"). List
//! blocks (`virtual_ipaddress`, `track_script`, ...) take every line up to the first `}` as an
//! entry, a `{` included, and do not need their `{`.
//!
//! keepalived also reads the configuration once per process: the parent reads `global_defs`
//! and skips the VRRP blocks by counting braces, the VRRP child skips `global_defs` the same
//! way. So the two halves are built separately ([`Pass`]) and merged: `global_defs` from the
//! first, the VRRP (and skipped LVS) blocks from the second, top-level lines from both.
//! Brace balance ("Extra '}' found", "There are N missing '}'s") is counted over the whole
//! stream, as keepalived's line reader does.

use std::collections::HashSet;

use super::diag::{Diagnostic, Diags, Pos};
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
    /// A statement of one line's words (never empty), before any block is attached.
    fn words_only(w: &[Tok]) -> Stmt {
        Stmt {
            kw: w[0].clone(),
            args: w[1..].to_vec(),
            block: None,
            open: None,
        }
    }

    pub fn pos(&self) -> &Pos {
        &self.kw.pos
    }
    /// The keyword and its arguments, as one word list (for list blocks such as
    /// `virtual_ipaddress` where every line is an entry).
    pub fn words(&self) -> Vec<&Tok> {
        std::iter::once(&self.kw).chain(self.args.iter()).collect()
    }
}

/// Deepest generic block nesting parsed (LVS blocks; keepalived's own grammar needs 4).
pub const MAX_DEPTH: usize = 16;

/// Which of keepalived's configuration reads is simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The parent: `global_defs` and the top-level global keywords.
    Global,
    /// The VRRP child (plus the LVS/BFD blocks, which are only skipped).
    Vrrp,
}

/// The blocks whose keywords we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Top,
    Global,
    Instance,
    Auth,
    Sync,
    Script,
    Process,
    File,
    Garp,
    TrackGroup,
}

/// What a keyword does to the reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Opens a block of keywords.
    Sub(Ctx),
    /// Opens a list block: every line up to the first `}` is an entry.
    Value,
    /// A block nested by braces (LVS/BFD, skipped by rkeepalived).
    Generic,
    /// Known, but read by the other process: its block (if a `{` follows) is skipped.
    Inactive,
    /// Anything else (a plain keyword or an unknown one).
    Plain,
}

/// Top-level keywords of keepalived's parent process (`global_defs` aside).
const GLOBAL_TOP: &[&str] = &[
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "linkbeat_use_polling",
    "child_wait_time",
];

/// LVS/BFD top-level blocks (read by the checker and BFD processes).
const LVS_TOP: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "SSL",
    "bfd_instance",
];

const TRACKS: &[&str] = &[
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
];

fn vrrp_top(kw: &str) -> Option<Kind> {
    Some(match kw {
        "vrrp_instance" => Kind::Sub(Ctx::Instance),
        "vrrp_sync_group" => Kind::Sub(Ctx::Sync),
        "vrrp_script" => Kind::Sub(Ctx::Script),
        "vrrp_track_process" => Kind::Sub(Ctx::Process),
        "track_file" | "vrrp_track_file" => Kind::Sub(Ctx::File),
        "garp_group" => Kind::Sub(Ctx::Garp),
        "track_group" => Kind::Sub(Ctx::TrackGroup),
        "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "linkbeat_interfaces"
        | "interface_up_down_delays" => Kind::Value,
        _ => return None,
    })
}

fn kind(pass: Pass, ctx: Ctx, kw: &str) -> Kind {
    match ctx {
        Ctx::Top => match pass {
            Pass::Global => {
                if kw == "global_defs" {
                    Kind::Sub(Ctx::Global)
                } else if vrrp_top(kw).is_some() || LVS_TOP.contains(&kw) {
                    Kind::Inactive
                } else {
                    Kind::Plain
                }
            }
            Pass::Vrrp => {
                if kw == "global_defs" || GLOBAL_TOP.contains(&kw) {
                    Kind::Inactive
                } else if LVS_TOP.contains(&kw) {
                    Kind::Generic
                } else {
                    vrrp_top(kw).unwrap_or(Kind::Plain)
                }
            }
        },
        Ctx::Global if kw == "notification_email" => Kind::Value,
        Ctx::Instance if kw == "authentication" => Kind::Sub(Ctx::Auth),
        Ctx::Instance
            if TRACKS.contains(&kw)
                || matches!(
                    kw,
                    "virtual_ipaddress"
                        | "virtual_ipaddress_excluded"
                        | "virtual_routes"
                        | "virtual_rules"
                        | "unicast_peer"
                ) =>
        {
            Kind::Value
        }
        Ctx::Sync if kw == "group" || TRACKS.contains(&kw) => Kind::Value,
        Ctx::Garp if kw == "interfaces" => Kind::Value,
        Ctx::TrackGroup if kw == "group" => Kind::Value,
        _ => Kind::Plain,
    }
}

struct Reader<'a> {
    items: &'a [Item],
    i: usize,
    pass: Pass,
    d: Diags,
}

impl Reader<'_> {
    /// Skip a `{ ... }` block by counting braces (the `{` is the current item).
    fn skip_counted(&mut self) {
        let mut depth = 0usize;
        while let Some(it) = self.items.get(self.i) {
            self.i += 1;
            match it {
                Item::Open(_) => depth += 1,
                Item::Close(_) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                Item::Words(_) => {}
            }
        }
    }

    /// A block of keywords, up to its `}` (consumed) or the end. Returns the statements with
    /// the index of their first item.
    fn body(&mut self, ctx: Ctx) -> Vec<(usize, Stmt)> {
        let mut out = Vec::new();
        while let Some(it) = self.items.get(self.i) {
            let at = self.i;
            self.i += 1;
            match it {
                Item::Open(p) => self.d.error(Some(p), "Unexpected '{' - ignoring"),
                Item::Close(p) => {
                    if ctx != Ctx::Top {
                        return out;
                    }
                    self.d.error(Some(p), "Unknown keyword '}'");
                }
                Item::Words(w) => {
                    let mut st = Stmt::words_only(w);
                    match kind(self.pass, ctx, &st.kw.text) {
                        Kind::Plain => {}
                        Kind::Inactive => {
                            if matches!(self.items.get(self.i), Some(Item::Open(_))) {
                                self.skip_counted();
                            }
                            continue;
                        }
                        Kind::Sub(inner) => {
                            match self.items.get(self.i) {
                                Some(Item::Open(p)) => {
                                    st.open = Some(p.clone());
                                    self.i += 1;
                                }
                                Some(Item::Words(w)) => self.d.error(
                                    Some(&w[0].pos),
                                    "Missing '{' at beginning of configuration block",
                                ),
                                Some(Item::Close(p)) => self.d.error(
                                    Some(p),
                                    "Missing '{' at beginning of configuration block",
                                ),
                                None => {}
                            }
                            st.block = Some(self.body(inner).into_iter().map(|x| x.1).collect());
                        }
                        Kind::Value => {
                            if let Some(a) = st.args.first() {
                                self.d.error(
                                    Some(&a.pos),
                                    format!(
                                        "Block {} has extra parameters {} ...",
                                        st.kw.text, a.text
                                    ),
                                );
                            }
                            if let Some(Item::Open(p)) = self.items.get(self.i) {
                                st.open = Some(p.clone());
                                self.i += 1;
                            }
                            st.block = Some(self.value_block());
                        }
                        Kind::Generic => {
                            if let Some(Item::Open(p)) = self.items.get(self.i) {
                                st.open = Some(p.clone());
                                self.i += 1;
                                st.block = Some(self.generic(1));
                            }
                        }
                    }
                    out.push((at, st));
                }
            }
        }
        out
    }

    /// A list block's entries, up to the first `}` (consumed) or the end.
    fn value_block(&mut self) -> Vec<Stmt> {
        let mut out = Vec::new();
        while let Some(it) = self.items.get(self.i) {
            self.i += 1;
            match it {
                Item::Close(_) => break,
                Item::Open(p) => out.push(Stmt {
                    kw: Tok {
                        text: "{".to_string(),
                        pos: p.clone(),
                    },
                    args: Vec::new(),
                    block: None,
                    open: None,
                }),
                Item::Words(w) => out.push(Stmt::words_only(w)),
            }
        }
        out
    }

    /// A block nested by braces (after its `{`), up to the matching `}` or the end.
    fn generic(&mut self, depth: usize) -> Vec<Stmt> {
        let mut out: Vec<Stmt> = Vec::new();
        while let Some(it) = self.items.get(self.i) {
            self.i += 1;
            match it {
                Item::Words(w) => {
                    let mut st = Stmt::words_only(w);
                    if let Some(Item::Open(p)) = self.items.get(self.i) {
                        st.open = Some(p.clone());
                        if depth >= MAX_DEPTH {
                            // Too deep for a real configuration: skipped without recursing,
                            // so hostile input cannot exhaust the stack.
                            self.d
                                .warning(Some(p), "blocks nested too deeply - skipping block");
                            self.skip_counted();
                            st.block = Some(Vec::new());
                        } else {
                            self.i += 1;
                            st.block = Some(self.generic(depth + 1));
                        }
                    }
                    out.push(st);
                }
                Item::Open(_) => {
                    self.i -= 1;
                    self.skip_counted();
                }
                Item::Close(_) => return out,
            }
        }
        out
    }
}

/// keepalived's line reader counts braces over the whole input.
fn brace_balance(items: &[Item], d: &mut Diags) {
    let mut depth = 0usize;
    let mut first_open: Vec<Pos> = Vec::new();
    for it in items {
        match it {
            Item::Open(p) => {
                depth += 1;
                first_open.push(p.clone());
            }
            Item::Close(p) => {
                if depth == 0 {
                    d.error(Some(p), "Extra '}' found");
                } else {
                    depth -= 1;
                    first_open.pop();
                }
            }
            Item::Words(_) => {}
        }
    }
    if depth > 0 {
        d.error(
            first_open.first(),
            format!("There are {depth} missing '}}'s or extra '{{'s"),
        );
    }
}

fn read_pass(items: &[Item], pass: Pass) -> (Vec<(usize, Stmt)>, Vec<Diagnostic>) {
    let mut r = Reader {
        items,
        i: 0,
        pass,
        d: Diags::default(),
    };
    let top = r.body(Ctx::Top);
    (top, r.d.list)
}

/// Build the tree as keepalived reads it. Structural errors use keepalived's messages.
pub fn build(items: &[Item], diags: &mut Diags) -> Vec<Stmt> {
    brace_balance(items, diags);
    let (g, gd) = read_pass(items, Pass::Global);
    let (v, vd) = read_pass(items, Pass::Vrrp);
    // Top-level lines both reads see are the same statements (same first item).
    let firsts: HashSet<usize> = g.iter().map(|(at, _)| *at).collect();
    let mut all: Vec<(usize, Stmt)> = g;
    all.extend(v.into_iter().filter(|(at, _)| !firsts.contains(at)));
    all.sort_by_key(|(at, _)| *at);
    let mut seen: HashSet<(Option<Pos>, String)> = HashSet::new();
    for x in gd.into_iter().chain(vd) {
        if seen.insert((x.pos.clone(), x.message.clone())) {
            diags.list.push(x);
        }
    }
    all.into_iter().map(|(_, st)| st).collect()
}
