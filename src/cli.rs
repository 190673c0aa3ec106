//! Command line (keepalived's spellings). Placeholder until the foundation lands.

use argh::FromArgs;

/// rkeepalived: keepalived-compatible VRRP daemon
#[derive(FromArgs, Debug)]
pub struct Args {
    /// use the specified configuration file
    #[argh(option, short = 'f', default = "String::from(\"/etc/keepalived/keepalived.conf\")")]
    pub use_file: String,
}

/// Run and return the process exit code.
pub fn run(_args: Args) -> i32 {
    eprintln!("rkeepalived: not yet implemented");
    1
}
