//! Fuzzing the loader with proptest: random bytes and mutated valid configurations (seeded
//! from `tests/fuzz-corpus/`) go through `config::load` and `graph::build`, which must never
//! panic, and must say something when they refuse a configuration.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("tests/fuzz-corpus").map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// Loads and graphs `text` as the only file of a folder; returns whether it was accepted.
fn check(dir: &Path, text: &[u8]) -> bool {
    std::fs::write(dir.join("main.pmx"), text).unwrap();
    let inputs = pmx::config::VarInputs { env: Some(Vec::new()), allow_missing: true, ..Default::default() };
    let (config, diags) = pmx::config::load(dir, &inputs);
    // Rendering must not panic either (spans must be inside the text).
    let _ = diags.render(false);
    let _ = diags.to_json();
    let Some(config) = config else {
        assert!(diags.has_errors(), "a refused configuration must come with an error");
        return false;
    };
    match pmx::graph::build(&config) {
        Ok(g) => {
            let _ = pmx::graph::render::dot(&g, false);
            !diags.has_errors()
        }
        Err(d) => {
            assert!(d.has_errors(), "a failed build must come with an error");
            let _ = d.render(false);
            false
        }
    }
}

/// Tokens that make mutations interesting for an HCL parser and evaluator.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "%{",
    "=",
    ",",
    "\n",
    ".",
    "*",
    "[*]",
    "count.index",
    "each.key",
    "var.x",
    "local.a",
    "vm.web",
    "<<EOT\n",
    "EOT\n",
    "for x in",
    ":",
    "=>",
    "...",
    "?",
    "#",
    "//",
    "/*",
    "-1",
    "1e309",
    "null",
    "true",
    "\\",
    "é",
    "resource \"vm\" \"a\" {",
    "disk \"scsi0\" {",
    "lifecycle {",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), 1usize..80).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = s.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(s.len());
                if at < end {
                    s.drain(at..end);
                }
            }
            Mutation::Insert(at, t) => {
                let at = at % (s.len() + 1);
                for (i, c) in TOKENS[t].chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
            Mutation::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(s.len());
                let piece: Vec<char> = s.get(at..end).map(<[char]>::to_vec).unwrap_or_default();
                for (i, c) in piece.into_iter().enumerate() {
                    s.insert(end + i, c);
                }
            }
            Mutation::Truncate(at) => s.truncate(at % len),
        }
    }
    s.into_iter().collect()
}

#[test]
fn the_corpus_itself_loads_without_panics() {
    let dir = tempfile::tempdir().unwrap();
    let texts = corpus();
    assert!(texts.len() >= 3, "the seed corpus is missing");
    let accepted = texts.iter().filter(|t| check(dir.path(), t.as_bytes())).count();
    // The valid seeds must stay valid, or the mutations start from broken ground.
    assert!(accepted >= 2, "only {accepted} corpus files are valid");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), &bytes);
    }

    #[test]
    fn mutated_configs_never_panic(seed in 0usize..16, mutations in proptest::collection::vec(mutation(), 1..6)) {
        let texts = corpus();
        let text = apply(&texts[seed % texts.len()], &mutations);
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), text.as_bytes());
    }
}
