//! `pmx console` through the real binary: expressions on standard input, against a project's
//! variables (flags, files, `*.pmxvars`), locals and the state store (real SQLite).

use std::path::Path;

use assert_cmd::Command;
use pmx::state::{Change, ChangeType, ResourceKind, StateLocation, Store, DEFAULT_WORKSPACE};

fn pmx(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("pmx").expect("the pmx binary");
    c.current_dir(dir)
        .env("PMX_LOG", "off")
        .env("NO_COLOR", "1")
        .env_remove("PMX_STATE_URL")
        .env_remove("PMX_WORKSPACE");
    for (k, _) in std::env::vars() {
        if k.starts_with("PMX_VAR_") {
            c.env_remove(k);
        }
    }
    c
}

/// Runs `pmx console ARGS` with `input`; exit code, stdout, stderr.
fn console(dir: &Path, args: &[&str], input: &str) -> (i32, String, String) {
    let out = pmx(dir).arg("console").args(args).write_stdin(input).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

const PROJECT: &str = r#"
variable "env" {
  default = "dev"
}

variable "sizes" {
  default = [1, 2]
}

variable "password" {
  sensitive = true
  default   = "hunter2"
}

locals {
  name   = "web-${var.env}"
  labels = { env = var.env, count = length(var.sizes) }
  shout  = upper(local.name)
}

resource "vm" "web" {
  node = "pve1"
  name = local.name
}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.pmx"), PROJECT).expect("write");
    dir
}

#[test]
fn a_piped_expression_prints_its_value_without_a_prompt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = console(dir.path(), &[], "upper(\"a\")\n");
    assert_eq!((code, out.as_str()), (0, "\"A\"\n"), "{err}");
}

#[test]
fn values_print_in_hcl_form_against_variables_and_locals() {
    let dir = project();
    let input = "local.name\nlocal.labels\nvar.sizes\nlocal.shout\n[]\n";
    let (code, out, err) = console(dir.path(), &[], input);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "\"web-dev\"\n{\n  \"count\" = 2\n  \"env\" = \"dev\"\n}\n[\n  1,\n  2,\n]\n\"WEB-DEV\"\n[]\n",
        "{err}"
    );
}

#[test]
fn variables_come_from_flags_files_and_pmxvars_as_plan_takes_them() {
    let dir = project();
    std::fs::write(dir.path().join("site.auto.pmxvars"), "env = \"staging\"\n").expect("write");
    let (_, out, err) = console(dir.path(), &[], "var.env\n");
    assert_eq!(out, "\"staging\"\n", "*.auto.pmxvars is read: {err}");
    std::fs::write(dir.path().join("prod.vars"), "env = \"prod\"\n").expect("write");
    let (_, out, _) = console(dir.path(), &["--var-file", "prod.vars"], "var.env\nlocal.name\n");
    assert_eq!(out, "\"prod\"\n\"web-prod\"\n");
    // a later --var wins over an earlier --var-file, as in Terraform
    let (_, out, _) = console(dir.path(), &["--var-file", "prod.vars", "--var", "env=qa"], "var.env\n");
    assert_eq!(out, "\"qa\"\n");
}

#[test]
fn sensitive_values_are_marked_and_never_printed() {
    let dir = project();
    let input = "var.password\n{ pw = var.password, user = \"root\" }\nupper(var.password)\ntonumber(var.password)\n";
    let (code, out, err) = console(dir.path(), &[], input);
    assert!(!out.contains("hunter2") && !err.contains("hunter2") && !out.contains("HUNTER2"), "{out}{err}");
    assert!(
        out.starts_with(
            "(sensitive value)\n{\n  \"pw\" = (sensitive value)\n  \"user\" = \"root\"\n}\n(sensitive value)\n"
        ),
        "{out}"
    );
    assert_eq!(code, 1, "tonumber fails");
    let (_, out, _) = console(dir.path(), &["--format", "json"], "var.password\n");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!((v["value"].as_str(), v["sensitive"].as_bool()), (Some("(sensitive value)"), Some(true)));
}

#[test]
fn each_failing_expression_reports_its_error_and_the_session_goes_on() {
    let dir = project();
    let input = "upper([])\nlocal.nope\n1 +\nlength(\"ok\")\n";
    let (code, out, err) = console(dir.path(), &[], input);
    assert_eq!(code, 1, "an expression failed, input was not a terminal");
    assert_eq!(out, "2\n", "the good expression still printed: {err}");
    assert!(err.contains("upper(): argument 1 must be a string, got a list"), "{err}");
    assert!(err.contains("reference to undeclared local value \"nope\""), "{err}");
    // miette points into the expression
    assert!(err.contains("<console>:1:"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn a_multi_line_expression_continues_until_its_brackets_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = console(dir.path(), &[], "merge(\n  { a = 1 },\n  { b = \"]\" }\n)\n");
    assert_eq!((code, out.as_str()), (0, "{\n  \"a\" = 1\n  \"b\" = \"]\"\n}\n"), "{err}");
}

#[test]
fn json_output_is_one_document_per_line() {
    let dir = project();
    let (code, out, _) = console(dir.path(), &["--format", "json"], "local.labels\nvm.web.vmid\nnope(1)\n");
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["value"], serde_json::json!({"env": "dev", "count": 2}));
    assert_eq!((lines[1]["value"].is_null(), lines[1]["known"].as_bool()), (true, Some(false)), "no state yet");
    assert!(lines[2]["error"]["message"].as_str().unwrap_or("").contains("unknown function \"nope\""), "{out}");
    // --json (the global flag) is the same view
    let (_, out, _) = console(dir.path(), &["--json"], "1\n");
    assert_eq!(serde_json::from_str::<serde_json::Value>(out.trim()).expect("JSON")["value"], 1);
}

#[test]
fn resource_attributes_come_from_the_state_store() {
    let dir = project();
    let (_, out, _) = console(dir.path(), &[], "vm.web.vmid\nvm.web.name\n");
    assert_eq!(out, "(known after apply)\n\"web-dev\"\n", "nothing in state yet");
    let mut store = Store::open(&StateLocation::default_for(dir.path()), DEFAULT_WORKSPACE).expect("store");
    let attrs = serde_json::json!({
        "node": "pve1", "name": "web-dev", "memory": {"size": 2048},
        "cloud_init": {"user": "debian", "password": "s3cret-in-state"}
    });
    let change = Change::new(ChangeType::Created, ResourceKind::Vm, "vm.web".parse().expect("address"), attrs)
        .vmid(123)
        .node("pve1");
    store.commit_changes(None, vec![change]).expect("commit");
    drop(store);
    let (code, out, err) =
        console(dir.path(), &[], "vm.web.vmid\nvm.web.vmid + 1\n\"${vm.web.name}:${vm.web.vmid}\"\n");
    assert_eq!((code, out.as_str()), (0, "123\n124\n\"web-dev:123\"\n"), "{err}");
    // a sensitive attribute the state holds, nested in a block, stays secret
    let (_, out, err) = console(dir.path(), &[], "vm.web.cloud_init\nvm.web.memory.size\n");
    assert!(!out.contains("s3cret") && !err.contains("s3cret"), "{out}{err}");
    assert!(out.contains("\"password\" = (sensitive value)") && out.contains("\"user\" = \"debian\""), "{out}{err}");
    assert!(out.ends_with("2048\n"), "{out}");
}

#[test]
fn a_broken_configuration_is_refused_with_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.pmx"), "locals {\n  a = var.nope\n  b = local.missing\n}\n").expect("write");
    let (code, out, err) = console(dir.path(), &[], "1\n");
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("nope") && err.contains("missing"), "{err}");
}

/// On a terminal (a pseudo-terminal from util-linux's `script`): a prompt, line editing, and
/// the session goes on after an error until `exit`. Skipped, saying so, without `script`.
#[test]
fn on_a_terminal_it_prompts_and_goes_on_after_errors() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux's script is not installed, so no terminal session was run");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_pmx");
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &format!("{bin} console"), "/dev/null"])
        .current_dir(dir.path())
        .env("PMX_LOG", "off")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(String::from_utf8_lossy(&buf[..n]).to_string()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.push_str(&chunk),
                Err(_) => panic!("no {needle:?} from the console; it printed:\n{seen}"),
            }
        }
        std::mem::take(&mut seen)
    };
    let mut stdin = child.stdin.take().expect("stdin");
    wait_for("> ");
    stdin.write_all(b"upper(1, 2)\r").expect("type");
    wait_for("takes 1 argument");
    stdin.write_all(b"lower(\"X\")\r").expect("type");
    wait_for("\"x\"");
    stdin.write_all(b"exit\r").expect("type");
    let status = child.wait().expect("ends");
    assert!(status.success(), "an interactive session ends with 0 after errors: {status:?}");
}
