//! The whole configuration front end (lexer, parameters, conditionals, sequences, grammar,
//! validation, resolution to a NodeSpec) on arbitrary text against a made-up host: it must
//! never panic, and every diagnostic must render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rkeepalived::config::host::FakeHost;
use rkeepalived::config::{self, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let host = FakeHost::standard();
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        all_config: data.first().is_some_and(|b| b & 1 == 1),
    };
    let loaded = config::load_str(&text, "/etc/keepalived/keepalived.conf", &opts, &host);
    for d in &loaded.diagnostics {
        let _ = config::render(d, &loaded.sources);
    }
    let _ = rkeepalived::cli::dump(&loaded.spec);
});
