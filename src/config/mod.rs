//! keepalived.conf front end: lexer -> block tree -> typed model -> validation -> `vrrp::spec`.
//!
//! ```text
//! lexer.rs   comments, quotes, include + glob, @ID, $PARAMS, ~SEQ/~LST, braces -> Item stream
//! tree.rs    Item stream -> Stmt tree, read as keepalived reads it (block keywords, list
//!            blocks, its parent and VRRP reads merged), with positions
//! model.rs   Stmt tree -> Model (keepalived's keyword names), per-keyword range checks
//! complete.rs Model + Host -> NodeSpec, whole-config checks (VRIDs, VIPs, script security)
//! ```
//!
//! Everything is collected into [`Diagnostic`]s with file:line:col; nothing panics. The `-t`
//! exit code is [`diag::exit_code`]: only errors that mirror keepalived's own config errors
//! count; our extra warnings and notes never change it.
//!
//! The reference for messages and exit codes is Debian's keepalived 2.2.7, checked by
//! `tests/config_keepalived_compare.rs`. Deliberate differences:
//! - LVS/BFD blocks are skipped with one warning, so LVS-only mistakes exit 0 (keepalived 5).
//! - Keywords newer than 2.2.7 that we implement (`json_version`, `state_dump_file`,
//!   `v3_checksum_as_v2`, `[vrrp_]owner_ignore_adverts`, `no_virtual_ipaddress`,
//!   `set_supplementary_groups`, `use_symlink_paths`; 2.2.7 says "Unknown keyword", rc 5) are
//!   applied, with a note. Newer keywords we do not implement (`auth_hmac`,
//!   `timer_expired_backup`, `vrrp_delay_after_boot`, ...) are unknown keywords, as in 2.2.7.
//! - A self-including config stops at depth 32 (keepalived runs out of file descriptors);
//!   both exit 0.
//! - Nested `~SEQ` expansions are capped at 100000 lines, blocks at 16 levels (hostile input).
//! - Extra notes where keepalived is silent: duplicate VIPs/peers, keywords given twice,
//!   notify scripts dropped, IPv6 forcing VRRPv3, BOM, long lines.
//!
//! As keepalived: a missing `-f` file, a directory or an executable file exits 0, so does any
//! config with a top-level `net_namespace NAME` (unless a `global_defs` keyword misses its
//! parameter: 2); a missing parameter exits 2; `include_check`
//! is an unknown keyword (2.2.7).

pub mod complete;
pub mod diag;
pub mod dump;
pub mod glob;
pub mod host;
pub mod lexer;
pub mod model;
pub mod shell;
pub mod tree;

use std::path::Path;

pub use diag::{Diagnostic, Pos, Severity, Sources, exit_code, render};
pub use host::{Host, RealHost};

use crate::vrrp::spec::NodeSpec;

/// How to read the configuration.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-i`; `None` = hostname up to the first dot.
    pub config_id: Option<String>,
    /// `-e`: every include check on.
    pub all_config: bool,
}

/// The outcome of reading a configuration.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub model: model::Model,
    pub spec: NodeSpec,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
    /// keepalived's `-t` exit code for these diagnostics (0, 4, 5 or 6).
    pub exit_code: i32,
    /// The main file was not read at all (missing, a directory, executable).
    pub skipped: bool,
}

/// Default config id: the hostname up to the first dot.
pub fn default_config_id(host: &dyn Host) -> String {
    host.hostname()
        .map(|h| h.split('.').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Parse text that is not in a file (tests, fuzzing). Includes resolve against the cwd.
pub fn load_str(text: &str, name: &str, opts: &LoadOptions, host: &dyn Host) -> Loaded {
    let mut d = diag::Diags::default();
    let lopts = lexer::LexOptions {
        config_id: opts
            .config_id
            .clone()
            .unwrap_or_else(|| default_config_id(host)),
        all_config: opts.all_config,
    };
    let mut lx = lexer::Lexer::new(&lopts, &mut d);
    lx.read_text(name, text);
    let (items, sources) = (
        std::mem::take(&mut lx.items),
        std::mem::take(&mut lx.sources),
    );
    finish(&items, sources, host, d, false)
}

/// Read, validate and resolve `path` (keepalived compat for what `-f` accepts).
pub fn load(path: &Path, opts: &LoadOptions, host: &dyn Host) -> Loaded {
    let mut d = diag::Diags::default();
    let shown = path.display().to_string();
    // keepalived compat: a missing main file, a directory or an executable file is reported
    // and skipped, and `-t` still exits 0.
    let skip = match std::fs::metadata(path) {
        Err(_) => Some(format!("Config files missing '{shown}'.")),
        Ok(m) if m.is_dir() => Some(format!(
            "Configuration file '{shown}' is a directory - skipping"
        )),
        Ok(m)
            if {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            } =>
        {
            Some(format!(
                "Configuration file '{shown}' is not a regular non-executable file - skipping"
            ))
        }
        Ok(_) => None,
    };
    if let Some(msg) = skip {
        d.warning(None, msg);
        let mut l = finish(&[], Sources::default(), host, d, true);
        l.skipped = true;
        return l;
    }
    let lopts = lexer::LexOptions {
        config_id: opts
            .config_id
            .clone()
            .unwrap_or_else(|| default_config_id(host)),
        all_config: opts.all_config,
    };
    let (items, sources) = lexer::lex_file(path, &lopts, &mut d);
    finish(&items, sources, host, d, false)
}

fn finish(
    items: &[lexer::Item],
    sources: Sources,
    host: &dyn Host,
    mut d: diag::Diags,
    skipped: bool,
) -> Loaded {
    let tree = tree::build(items, &mut d);
    let model = model::build(&tree, &mut d);
    let spec = complete::to_spec(&model, host, &mut d);
    let mut exit_code = diag::exit_code(&d.list);
    // keepalived 2.2.7 compat: with a top-level `net_namespace NAME`, its -t exits 0 whatever
    // it reported (the VRRP side is not even read), unless its parent's own read of
    // global_defs stopped at a missing parameter (exit 2).
    if let Some((_, p)) = &model.net_namespace
        && exit_code != 0
        && !model.global_missing_parameter
    {
        d.note(
            Some(p),
            format!(
                "keepalived 2.2.7's -t exits 0 when net_namespace is set, whatever it reports; \
                 so does rkeepalived (the errors above would give {exit_code})"
            ),
        );
        exit_code = 0;
    }
    Loaded {
        model,
        spec,
        diagnostics: d.list,
        sources,
        exit_code,
        skipped,
    }
}

/// Produce the resolved spec from a model (re-validates; diagnostics appended to `diags`).
pub fn to_spec(model: &model::Model, host: &dyn Host, diags: &mut Vec<Diagnostic>) -> NodeSpec {
    let mut d = diag::Diags::default();
    let spec = complete::to_spec(model, host, &mut d);
    diags.extend(d.list);
    spec
}
