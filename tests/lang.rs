//! The language's tooling: `pmx fmt` through the real binary, formatter properties, and the
//! checks that keep the grammar and the docs in step with the code.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use proptest::prelude::*;

fn pmx(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("pmx").expect("pmx binary");
    cmd.env_remove("NO_COLOR").env_remove("PMX_LOG").arg("-C").arg(dir).arg("--no-color");
    cmd
}

const MESSY: &str = r#"# The web tier.


variable "web_count" {
type=number
    default   = 3 # three is plenty
}

resource "vm" "web" {

count=var.web_count
	name  =  "web-${count.index}"
  tags = ["pmx","web"]   // both
  cpu {
      cores=2
      sockets = 1
  }
  network "net0" {bridge="vmbr0"}
  lifecycle {
    ignore_changes = [
    tags,
    ]
  }


}
"#;

const FORMATTED: &str = r#"# The web tier.

variable "web_count" {
  type    = number
  default = 3 # three is plenty
}

resource "vm" "web" {
  count = var.web_count
  name  = "web-${count.index}"
  tags  = ["pmx", "web"] // both
  cpu {
    cores   = 2
    sockets = 1
  }
  network "net0" { bridge = "vmbr0" }
  lifecycle {
    ignore_changes = [
      tags,
    ]
  }
}
"#;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn fmt_rewrites_a_messy_file_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.pmx");
    std::fs::write(&main, MESSY).unwrap();
    pmx(dir.path()).arg("fmt").assert().success().stdout("main.pmx\n");
    assert_eq!(read(&main), FORMATTED);
    // a second run changes nothing and names nothing
    pmx(dir.path()).arg("fmt").assert().success().stdout("");
    assert_eq!(read(&main), FORMATTED);
}

#[test]
fn fmt_check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.pmx");
    std::fs::write(&main, MESSY).unwrap();
    std::fs::write(dir.path().join("ok.pmx"), FORMATTED).unwrap();
    pmx(dir.path()).args(["fmt", "--check"]).assert().code(3).stdout("main.pmx\n");
    assert_eq!(read(&main), MESSY, "--check must not write");
    std::fs::write(&main, FORMATTED).unwrap();
    pmx(dir.path()).args(["fmt", "--check"]).assert().code(0).stdout("");
    // Terraform's spelling works too
    pmx(dir.path()).args(["fmt", "-check"]).assert().code(0);
}

#[test]
fn fmt_comments_survive() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.pmx");
    let src = "# one\nlocals {\n// two\n  a=1 /* three */\n  /* four\n     still four */\n  b = [ # five\n    1, # six\n  ]\n}\n# seven\n";
    std::fs::write(&main, src).unwrap();
    pmx(dir.path()).arg("fmt").assert().success();
    let out = read(&main);
    for c in ["# one", "// two", "/* three */", "/* four\n     still four */", "# five", "# six", "# seven"] {
        assert!(out.contains(c), "lost {c:?}:\n{out}");
    }
}

#[test]
fn fmt_leaves_a_broken_file_untouched_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pmx");
    let good = dir.path().join("good.pmx");
    let broken = "locals {\n  a = [1,\n}\n";
    std::fs::write(&bad, broken).unwrap();
    std::fs::write(&good, "a=1\n").unwrap();
    pmx(dir.path())
        .arg("fmt")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.pmx:3:1").and(predicate::str::contains("left as it is")));
    assert_eq!(read(&bad), broken);
    // the other files are still formatted
    assert_eq!(read(&good), "a = 1\n");
}

#[test]
fn fmt_diff_shows_changes_without_check_writing() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.pmx");
    std::fs::write(&main, "a=1\n").unwrap();
    pmx(dir.path())
        .args(["fmt", "--check", "--diff"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("-a=1\n").and(predicate::str::contains("+a = 1\n")));
    assert_eq!(read(&main), "a=1\n");
    pmx(dir.path()).args(["fmt", "--diff"]).assert().success().stdout(predicate::str::contains("+a = 1"));
    assert_eq!(read(&main), "a = 1\n");
}

#[test]
fn fmt_picks_pmx_and_pmxvars_and_recurses_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("net")).unwrap();
    std::fs::create_dir_all(d.join(".pmx")).unwrap();
    for f in ["a.pmx", "prod.auto.pmxvars", "notes.txt", "net/b.pmx", ".pmx/c.pmx"] {
        std::fs::write(d.join(f), "x=1\n").unwrap();
    }
    pmx(d).args(["fmt", "--check"]).assert().code(3).stdout("a.pmx\nprod.auto.pmxvars\n");
    pmx(d).args(["fmt", "--check", "--recursive"]).assert().code(3).stdout("a.pmx\nnet/b.pmx\nprod.auto.pmxvars\n");
    pmx(d).args(["fmt", "net/b.pmx"]).assert().success().stdout("net/b.pmx\n");
    assert_eq!(read(&d.join("net/b.pmx")), "x = 1\n");
    assert_eq!(read(&d.join("notes.txt")), "x=1\n");
    assert_eq!(read(&d.join(".pmx/c.pmx")), "x=1\n");
    pmx(d).args(["fmt", "missing.pmx"]).assert().code(1).stderr(predicate::str::contains("no such file"));
}

#[test]
fn fmt_json_reports_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pmx"), "x=1\n").unwrap();
    std::fs::write(dir.path().join("b.pmx"), "x = 1\n").unwrap();
    std::fs::write(dir.path().join("c.pmx"), "x = [\n").unwrap();
    let out = pmx(dir.path()).args(["fmt", "--check", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["changed"], serde_json::json!(["a.pmx"]));
    assert_eq!(v["error_count"], 1);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[2]["path"], "c.pmx");
    assert!(files[2]["error"]["range"]["start"]["line"].as_u64().is_some_and(|l| l >= 1), "{v}");
    assert_eq!(files[2]["error"]["range"]["file"], "c.pmx");
    assert_eq!(files[0]["written"], false);
}

#[test]
fn fmt_stdin_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    pmx(dir.path()).args(["fmt", "-"]).write_stdin("a=1\nbb=2\n").assert().success().stdout("a  = 1\nbb = 2\n");
    pmx(dir.path()).args(["fmt", "--check", "-"]).write_stdin("a=1\n").assert().code(3).stdout("");
    pmx(dir.path())
        .args(["fmt", "-"])
        .write_stdin("a = [\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("<stdin>"));
}

// ---- formatter properties -------------------------------------------------------------------

/// Random but valid `.pmx` text with messy white space, comments and blank lines.
fn expr(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        (0u32..10_000).prop_map(|n| n.to_string()),
        "[a-z]{1,6}".prop_map(|s| format!("\"{s}\"")),
        "[a-z]{1,6}".prop_map(|s| format!("\"x-${{var.{s}}}\"")),
        "[a-z]{1,5}".prop_map(|s| format!("var.{s}")),
        Just("count.index".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("vm.web[*].vmid".to_string()),
        Just("local.m[\"k\"]".to_string()),
    ];
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..4), any::<bool>(), ws()).prop_map(|(items, multi, w)| {
                if multi && !items.is_empty() {
                    format!("[\n{}\n]", items.iter().map(|i| format!("{w}{i},")).collect::<Vec<_>>().join("\n"))
                } else {
                    format!("[{}]", items.join(&format!(",{w}")))
                }
            }),
            (prop::collection::vec(("[a-z]{1,8}", inner.clone()), 0..3), any::<bool>(), ws()).prop_map(
                |(items, multi, w)| {
                    let items: Vec<String> = items.iter().map(|(k, v)| format!("{k}{w}={w}{v}")).collect();
                    if multi && !items.is_empty() {
                        format!("{{\n{}\n}}", items.join("\n"))
                    } else {
                        format!("{{{}}}", items.join(", "))
                    }
                }
            ),
            (inner.clone(), inner.clone(), ws(), prop_oneof![Just("+"), Just("-"), Just("*"), Just("=="), Just("&&")])
                .prop_map(|(a, b, w, op)| format!("{a} {op}{w}{b}")),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} :{b}")),
            (inner.clone(), ws()).prop_map(|(a, w)| format!("upper({w}{a}{w})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a},{b})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.prop_map(|a| format!("!({a})")),
        ]
    })
    .boxed()
}

fn ws() -> impl Strategy<Value = String> {
    prop_oneof![Just(""), Just(" "), Just("   "), Just("\t")].prop_map(str::to_string)
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,12}".prop_map(|s| format!(" # {s}")),
        "[a-z ]{0,12}".prop_map(|s| format!("// {s}")),
    ]
}

fn attribute() -> impl Strategy<Value = String> {
    ("[a-z_]{1,10}", expr(3), ws(), ws(), comment()).prop_map(|(k, v, w1, w2, c)| format!("{w1}{k}{w2}={w1}{v}{c}"))
}

fn body(depth: u32) -> BoxedStrategy<Vec<String>> {
    let item = if depth == 0 {
        attribute().boxed()
    } else {
        prop_oneof![
            3 => attribute(),
            1 => (
                "[a-z]{1,8}",
                prop::option::of("[a-z0-9]{1,6}"),
                body(depth - 1),
                ws(),
                prop_oneof![Just("\n"), Just("\n\n\n")]
            )
                .prop_map(|(kind, label, items, w, gap)| {
                    let label = label.map(|l| format!(" \"{l}\"")).unwrap_or_default();
                    format!("{w}{kind}{label} {{{gap}{}\n{w}}}", items.join("\n"))
                }),
            1 => "[a-z ]{0,20}".prop_map(|s| format!("# {s}")),
            1 => Just(String::new()),
        ]
        .boxed()
    };
    prop::collection::vec(item, 0..6).boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_and_keeps_the_meaning(items in body(2)) {
        let src = items.join("\n") + "\n";
        let before = hcl::parse(&src);
        // the generator may repeat an attribute name; anything else it makes must parse
        prop_assume!(!before.as_ref().is_err_and(|e| e.to_string().contains("redefined")));
        prop_assert!(before.is_ok(), "generator made invalid HCL: {:?}\n{}", before, src);
        let once = pmx::config::format::format(&src).map_err(|e| TestCaseError::fail(format!("{e}\n{src}")))?;
        let twice = pmx::config::format::format(&once).map_err(|e| TestCaseError::fail(format!("{e}\n{once}")))?;
        prop_assert_eq!(&twice, &once, "not idempotent for\n{}", src);
        let after = hcl::parse(&once).map_err(|e| TestCaseError::fail(format!("{e}\n{once}")))?;
        prop_assert_eq!(before.unwrap(), after, "meaning changed:\n{}\n----\n{}", src, once);
        let comments = |s: &str| s.matches('#').count() + s.matches("//").count();
        prop_assert_eq!(comments(&src), comments(&once));
    }
}
