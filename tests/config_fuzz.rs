//! Mutated configs (byte flips, truncations, duplicated/deleted lines, random braces, quotes,
//! `$`, `~SEQ`, `@`, `include` lines) never make the front end panic, and always give an exit
//! code keepalived could give. A tiny xorshift PRNG keeps it dependency-free and repeatable.

use rkeepalived::config::{self, LoadOptions, host::FakeHost};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "#",
    "!",
    "\\",
    "$",
    "${",
    "$X=",
    "$X=a \\",
    "${_RANDOM 1 5}",
    "${_HASH}",
    "~SEQ(N, 1, 3)",
    "~SEQ(",
    "~LST(N, a, b)",
    "~SEQx(N, 0, 0x10)",
    "@node1 ",
    "@^node1 ",
    "include /nonexistent/*",
    "include",
    "virtual_ipaddress {",
    "track_script { chk weight -254 }",
    "priority 255",
    "state MASTER",
    "advert_int 0.001",
    "10.0.0.1/99 dev eth9 brd +",
    "fe80::1 scope link",
    "~SEQ(A, 1, 30) ~SEQ(B, 1, 30) x",
    "authentication {",
    "auth_type AH",
    "unicast_peer {",
    "\u{0}",
    "vrrp_instance X {",
    "vrrp_script chk {",
    "script \"/bin/true 'a\"",
    "\u{fffd}",
    "é",
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    let rounds = 1 + rng.below(6);
    for _ in 0..rounds {
        match rng.below(8) {
            0 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                lines.remove(i);
            }
            1 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                let l = lines[i].clone();
                lines.insert(rng.below(lines.len() + 1), l);
            }
            2 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                lines.insert(rng.below(lines.len() + 1), s.to_string());
            }
            3 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                let mut chars: Vec<char> = lines[i].chars().collect();
                let at = rng.below(chars.len() + 1);
                for (k, c) in s.chars().enumerate() {
                    chars.insert(at + k, c);
                }
                lines[i] = chars.into_iter().collect();
            }
            4 => {
                let text = lines.join("\n");
                let cut = rng.below(text.len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| text.is_char_boundary(c))
                    .unwrap_or(0);
                lines = text[..cut].lines().map(str::to_string).collect();
            }
            5 => {
                let mut bytes = lines.join("\n").into_bytes();
                if !bytes.is_empty() {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
                lines = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_string)
                    .collect();
            }
            6 if !lines.is_empty() => {
                let i = rng.below(lines.len());
                let n = rng.below(1500);
                lines[i].push_str(&"x".repeat(n));
            }
            _ => {
                let i = rng.below(lines.len() + 1);
                lines.insert(i, "}".repeat(rng.below(3)) + &"{".repeat(rng.below(3)));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_configs_never_panic() {
    let mut corpus: Vec<String> = std::fs::read_dir("tests/configs")
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    corpus.sort();
    corpus.push(std::fs::read_to_string("config/seed/node1.conf").expect("seed"));
    let host = FakeHost::standard();
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        all_config: false,
    };
    // RKA_FUZZ_ITERS / RKA_FUZZ_SEED allow longer or different runs by hand.
    let seed = std::env::var("RKA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64)
        | 1;
    let mut rng = Rng(seed);
    let iterations: usize = std::env::var("RKA_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut nonzero = 0;
    for n in 0..iterations {
        let src = &corpus[rng.below(corpus.len())];
        let text = mutate(&mut rng, src);
        let l = config::load_str(&text, "fuzz.conf", &opts, &host);
        assert!(
            matches!(l.exit_code, 0 | 2 | 4 | 5 | 6),
            "iteration {n}: rc {} for:\n{text}",
            l.exit_code
        );
        for d in &l.diagnostics {
            let _ = config::render(d, &l.sources);
        }
        if l.exit_code != 0 {
            nonzero += 1;
        }
    }
    // The mutations must actually break things most of the time.
    assert!(
        nonzero > iterations / 4,
        "only {nonzero} mutated configs were flagged"
    );
    eprintln!("{iterations} mutated configs parsed, {nonzero} flagged");
}

#[test]
fn hostile_inputs_are_bounded() {
    let host = FakeHost::standard();
    let opts = LoadOptions::default();
    // Deep nesting: no stack exhaustion.
    let deep = format!(
        "vrrp_instance X {}\n{}",
        "{ a ".repeat(20_000),
        "}".repeat(20_000)
    );
    // keepalived reads these braces as "Unexpected '{'" at the instance level: no recursion.
    let l = config::load_str(&deep, "deep.conf", &opts, &host);
    assert_eq!(l.exit_code, 5);
    // Blocks nested by braces (LVS, skipped) stop at a depth limit.
    let deep = format!(
        "virtual_server 10.0.0.1 80 {}\n{}",
        "a {\n".repeat(20_000),
        "}\n".repeat(20_000)
    );
    let l = config::load_str(&deep, "deep.conf", &opts, &host);
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.message.contains("nested too deeply"))
    );
    // Nested sequences multiply: the total expansion is capped.
    let seq = "~SEQ(A, 1, 60000) ~SEQ(B, 1, 60000) x\n";
    let l = config::load_str(seq, "seq.conf", &opts, &host);
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.message.contains("expand to more than"))
    );
    // Self-referencing parameters stop.
    let rec = "$A=${A}${A}\nrouter_id $A\n";
    let l = config::load_str(rec, "rec.conf", &opts, &host);
    assert!(l.exit_code != 0);
}
