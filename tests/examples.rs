//! Every project in examples/ passes `pmx validate`, run as the real binary in its folder.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn example_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&root).expect("read examples/").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

/// A `pmx` with none of the caller's PMX_* settings, so that a developer's environment
/// cannot make an example pass or fail.
fn pmx(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmx"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PMX_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NO_COLOR", "1").current_dir(dir);
    cmd
}

#[test]
fn the_expected_examples_exist() {
    let names: Vec<String> =
        example_dirs().iter().filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    for expected in ["containers", "multi-cluster", "quickstart", "web-tier"] {
        assert!(names.iter().any(|n| n == expected), "examples/{expected} missing: {names:?}");
    }
    for dir in example_dirs() {
        assert!(dir.join("README.md").is_file(), "{} has no README.md", dir.display());
    }
}

#[test]
fn every_example_validates() {
    let mut failures = vec![];
    for dir in example_dirs() {
        let out = pmx(&dir).arg("validate").output().expect("run pmx validate");
        if !out.status.success() {
            failures.push(format!(
                "{} (exit {:?}):\n{}{}",
                dir.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "pmx validate failed:\n{}", failures.join("\n"));
}

#[test]
fn every_example_validates_with_json_output() {
    for dir in example_dirs() {
        let out = pmx(&dir).args(["--json", "validate"]).output().expect("run pmx validate --json");
        assert!(out.status.success(), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{}: stdout is not JSON ({e}): {}", dir.display(), String::from_utf8_lossy(&out.stdout))
        });
        assert!(json.is_object(), "{}: {json}", dir.display());
    }
}

#[test]
fn every_example_is_canonically_formatted() {
    for dir in example_dirs() {
        let out = pmx(&dir).args(["fmt", "--check", "--diff"]).output().expect("run pmx fmt --check");
        assert!(
            out.status.success(),
            "{} is not in pmx fmt's style (run `pmx -C {} fmt`):\n{}{}",
            dir.display(),
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_example_has_a_graph_with_its_resources() {
    for dir in example_dirs() {
        let out = pmx(&dir).args(["graph", "--resources-only"]).output().expect("run pmx graph");
        assert!(out.status.success(), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
        let dot = String::from_utf8_lossy(&out.stdout);
        assert!(dot.starts_with("digraph"), "{}: {dot}", dir.display());
        assert!(dot.contains("\"pool."), "{}: every example has a pool\n{dot}", dir.display());
    }
}

#[test]
fn examples_hold_no_secrets() {
    let secret_like = regex::Regex::new(r#"(?i)(token_secret|password|secret)\s*=\s*"[^"$]+""#).expect("compiles");
    for dir in example_dirs() {
        for entry in std::fs::read_dir(&dir).expect("read example").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pmx" || e == "pmxvars") {
                let text = std::fs::read_to_string(&path).expect("read");
                assert!(!secret_like.is_match(&text), "{} sets a secret in the file", path.display());
            }
        }
    }
}

/// The example on every reference page (docs/resources, docs/data-sources) is a valid project.
#[test]
fn every_docs_example_validates_and_is_formatted() {
    let registry = pmx::schema::registry();
    for rt in registry.resources.iter().chain(&registry.data_sources) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.pmx"), rt.example).expect("write example");
        let out = pmx(dir.path()).arg("validate").output().expect("run pmx validate");
        assert!(
            out.status.success(),
            "the example of {} does not validate:\n{}\n{}",
            rt.qualified_name(),
            rt.example,
            String::from_utf8_lossy(&out.stderr)
        );
        let out = pmx(dir.path()).args(["fmt", "--check", "--diff"]).output().expect("run pmx fmt");
        assert!(
            out.status.success(),
            "the example of {} is not in canonical style:\n{}",
            rt.qualified_name(),
            String::from_utf8_lossy(&out.stdout)
        );
        let kind = if rt.kind == pmx::schema::SchemaKind::Data { "data" } else { "resource" };
        assert!(
            rt.example.contains(&format!("{kind} \"{}\"", rt.name)),
            "the example of {} does not use it",
            rt.qualified_name()
        );
    }
}
