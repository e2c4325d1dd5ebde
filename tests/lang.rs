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

#[cfg(unix)]
#[test]
fn fmt_follows_symbolic_links() {
    let dir = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let target = shared.path().join("common.pmx");
    std::fs::write(&target, "x=1\n").unwrap();
    let link = dir.path().join("common.pmx");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    pmx(dir.path()).arg("fmt").assert().success().stdout("common.pmx\n");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link must stay a link");
    assert_eq!(read(&target), "x = 1\n");
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
            (inner.clone(), ws()).prop_map(|(a, w)| format!("[for x in {a}{w}:{w}x]")),
            (inner.clone(), ws()).prop_map(|(a, w)| format!("{{for k,v in {a}{w}: k=>v if v!=null}}")),
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
    let value = prop_oneof![
        6 => expr(3),
        1 => ("[a-z =]{0,20}", ws()).prop_map(|(text, w)| format!("<<-EOT\n{w}{text}\n{w}  more\n  EOT")),
    ];
    ("[a-z_]{1,10}", value, ws(), ws(), comment()).prop_map(|(k, v, w1, w2, c)| format!("{w1}{k}{w2}={w1}{v}{c}"))
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

// ---- the grammar and the docs cannot drift from the code -----------------------------------

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The productions of `grammar/pmx.ebnf`: name → right-hand side, comments removed.
fn productions() -> Vec<(String, String)> {
    let text = repo_file("grammar/pmx.ebnf");
    let mut without_comments = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("(*") {
        without_comments.push_str(&rest[..start]);
        let end = rest[start..].find("*)").expect("every (* comment is closed");
        rest = &rest[start + end + 2..];
    }
    without_comments.push_str(rest);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in without_comments.lines() {
        let starts_production = line.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && line.contains("::=");
        if starts_production {
            let (name, rhs) = line.split_once("::=").unwrap();
            out.push((name.trim().to_string(), rhs.to_string()));
        } else if let Some(last) = out.last_mut() {
            last.1.push('\n');
            last.1.push_str(line);
        }
    }
    out
}

/// The quoted literals of a production (`"pmx" | "provider"` → `["pmx", "provider"]`).
fn literals(rhs: &str) -> Vec<String> {
    rhs.split('|').map(|alt| alt.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect()
}

/// The names a right-hand side refers to (outside quotes and character classes).
fn references(rhs: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = rhs.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '[' => {
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                }
            }
            '#' => while chars.next_if(|d| d.is_ascii_alphanumeric()).is_some() {},
            c if c.is_ascii_uppercase() => {
                let mut name = c.to_string();
                while let Some(d) = chars.next_if(|d| d.is_ascii_alphanumeric()) {
                    name.push(d);
                }
                names.push(name);
            }
            _ => {}
        }
    }
    names
}

fn production(name: &str) -> String {
    productions().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no production {name}")).1
}

#[test]
fn grammar_is_complete() {
    let prods = productions();
    assert!(prods.len() > 50, "only {} productions found", prods.len());
    let defined: std::collections::HashSet<&str> = prods.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(defined.len(), prods.len(), "a production is defined twice");
    for (name, rhs) in &prods {
        for r in references(rhs) {
            assert!(defined.contains(r.as_str()), "{name} uses {r}, which the grammar does not define");
        }
    }
}

#[test]
fn grammar_block_keywords_match_the_loader() {
    let keywords = literals(&production("TopLevelKeyword"));
    assert_eq!(keywords, pmx::config::TOP_LEVEL_BLOCKS, "grammar/pmx.ebnf TopLevelKeyword");
    // and each keyword has its block production
    let blocks = production("TopLevelBlock");
    for k in &keywords {
        let mut camel: String = k.split('_').map(|p| p[..1].to_uppercase() + &p[1..]).collect();
        camel.push_str("Block");
        assert!(blocks.contains(&camel), "TopLevelBlock lacks {camel}");
        assert!(production(&camel).contains(&format!("\"{k}\"")), "{camel} does not start with \"{k}\"");
    }
}

#[test]
fn grammar_meta_arguments_match_the_loader() {
    assert_eq!(literals(&production("MetaArgumentName")), pmx::config::META_ARGUMENTS, "MetaArgumentName");
}

/// The function names listed in the Functions section of docs/language.md, in order.
fn documented_functions() -> Vec<String> {
    let doc = repo_file("docs/language.md");
    let start = doc.find("\n## Functions").expect("docs/language.md has a Functions section");
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map(|e| e + 3).unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| l.split(['(', '`']).next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn docs_list_every_function_and_no_other() {
    let documented = documented_functions();
    let names: Vec<String> = pmx::config::functions::names().iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, names, "the function tables in docs/language.md must follow functions::names()");
    // and each row shows the signature the code declares
    let doc = repo_file("docs/language.md");
    for spec in pmx::config::functions::specs() {
        let shown = format!("| `{}` |", spec.signature.replace('|', "\\|"));
        assert!(doc.contains(&shown), "docs/language.md should show {shown}");
    }
}

#[test]
fn examples_are_in_canonical_style() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    pmx(&examples).args(["fmt", "--check", "--recursive"]).assert().code(0).stdout("");
}

/// The ```hcl examples of docs/language.md.
fn doc_examples() -> Vec<String> {
    let doc = repo_file("docs/language.md");
    doc.split("```hcl\n").skip(1).map(|rest| rest.split("```").next().unwrap_or_default().to_string()).collect()
}

#[test]
fn docs_examples_are_canonical_and_the_first_validates() {
    let examples = doc_examples();
    assert!(examples.len() >= 2, "docs/language.md lost its examples");
    for ex in &examples {
        let formatted = pmx::config::format::format(ex).unwrap_or_else(|e| panic!("{e}\n{ex}"));
        assert_eq!(&formatted, ex, "a docs/language.md example is not in canonical style");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.pmx"), &examples[0]).unwrap();
    pmx(dir.path())
        .arg("validate")
        .env("PMX_VAR_token_secret", "not-a-real-secret")
        .assert()
        .success()
        .stdout(predicate::str::contains("valid"));
}

#[test]
fn function_errors_point_at_the_argument_through_validate() {
    let dir = tempfile::tempdir().unwrap();
    let src = "locals {\n  a = upper([\"x\"])\n  b = cidrsubnet(\"10.0.0.0/24\", 4, 99)\n  c = lenght(\"abc\")\n}\noutput \"o\" { value = [local.a, local.b, local.c] }\n";
    std::fs::write(dir.path().join("main.pmx"), src).unwrap();
    pmx(dir.path()).arg("validate").assert().code(1).stderr(
        predicate::str::contains("upper(): argument 1 must be a string, got a list")
            .and(predicate::str::contains("main.pmx:2:13"))
            .and(predicate::str::contains("network number 99 does not fit in 4 bits"))
            .and(predicate::str::contains("main.pmx:3:36"))
            .and(predicate::str::contains("did you mean \"length\"")),
    );
}
