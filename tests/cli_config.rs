//! The `.pmx` language through the real binary: every folder in `tests/broken/` is checked by
//! `pmx validate` (or the command named in its `args` file) and its output compared with a
//! snapshot; valid configurations, variable precedence, JSON output and `pmx graph` too.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn pmx() -> Command {
    let mut c = Command::cargo_bin("pmx").expect("the pmx binary");
    c.env_remove("NO_COLOR").env("PMX_LOG", "off");
    for (k, _) in std::env::vars() {
        if k.starts_with("PMX_VAR_") {
            c.env_remove(k);
        }
    }
    c
}

fn broken(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken").join(case)
}

/// Runs a broken case; returns exit code, stdout and stderr as one text.
fn run_case(case: &str) -> String {
    let dir = broken(case);
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_else(|_| "validate".into());
    let out = pmx().current_dir(&dir).arg("--no-color").args(args.split_whitespace()).output().expect("runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

macro_rules! broken_case {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let out = run_case(stringify!($name));
            assert!(out.starts_with("exit: 1\n"), "a broken configuration must fail:\n{out}");
            insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(concat!("broken_", stringify!($name)), out);
            });
        }
    )*};
}

broken_case!(
    syntax_error,
    unknown_block,
    unknown_attribute,
    wrong_type,
    missing_required,
    duplicate_address,
    undeclared_reference,
    cycle,
    bad_count,
    bad_for_each,
    failed_validation,
    missing_variable,
    bad_slot,
    sensitive_output,
    many_files,
    bad_var_file,
    broken_rules,
    mixed_problems,
    bad_settings,
    every_stage,
    syntax_beside_schema,
    big_count,
    tight_one_line_blocks,
    schema_gaps,
    instance_problems,
    helpful_labels,
    imports_and_moves,
);

/// Every folder in tests/broken has a test above.
#[test]
fn every_broken_folder_is_tested() {
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli_config.rs")).unwrap();
    for entry in std::fs::read_dir(broken("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(source.contains(&format!("    {name},")), "tests/broken/{name} has no test in broken_case!");
    }
}

const SKETCH: &str = r#"
provider "proxmox" {
  endpoint     = "https://pve1.example.com:8006"
  token_id     = "root@pam!pmx"
  token_secret = var.token_secret      # sensitive: never printed
  fingerprint  = "AB:CD:..."           # pin the cluster's self-signed certificate
}
variable "token_secret" { type = string, sensitive = true }
variable "web_count"    { type = number, default = 3 }
locals { tags = ["pmx", "web"] }

data "template" "debian12" { name = "debian-12-cloud" }
resource "pool" "web" { comment = "web tier" }

resource "vm" "web" {
  count = var.web_count
  node  = "pve${count.index % 2 + 1}"
  name  = "web-${count.index}"
  pool  = pool.web.id
  tags  = local.tags
  clone   { source = data.template.debian12.vmid, full = true }
  cpu     { cores = 2 }
  memory  { size = 2048 }
  disk "scsi0"    { storage = "local-lvm", size = "32G" }
  network "net0"  { bridge = "vmbr0", model = "virtio", tag = 20 }
  cloud_init { user = "deploy", ssh_keys = [file("keys/deploy.pub")], ipconfig0 = "ip=dhcp" }
  started = true
  lifecycle { prevent_destroy = true, ignore_changes = [tags] }
}
output "web_vmids" { value = vm.web[*].vmid }
"#;

fn sketch_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.pmx"), SKETCH).unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/deploy.pub"), "ssh-ed25519 AAAAC3Nza deploy@example\n").unwrap();
    dir
}

#[test]
fn the_issue_sketch_validates() {
    let dir = sketch_dir();
    let out = pmx().current_dir(dir.path()).args(["validate", "--no-color"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "Success! The configuration is valid.\n");
}

#[test]
fn the_sketch_graphs_with_instances_and_order() {
    let dir = sketch_dir();
    let out = pmx()
        .current_dir(dir.path())
        .env("PMX_VAR_token_secret", "hunter2")
        .args(["graph", "--no-color", "--resources-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dot = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("graph_sketch_resources_only", dot);
    });
    let full = pmx()
        .current_dir(dir.path())
        .env("PMX_VAR_token_secret", "hunter2")
        .args(["graph", "--json", "--var", "web_count=2"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    let ids: Vec<&str> = v["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap_or_else(|| panic!("{id} missing: {ids:?}"));
    assert!(pos("var.token_secret") < pos("provider.proxmox"));
    assert!(pos("pool.web") < pos("vm.web[0]"));
    assert!(pos("vm.web[1]") < pos("output.web_vmids"));
    assert!(!ids.contains(&"vm.web[2]"), "--var web_count=2 wins over the default");
    assert!(!String::from_utf8_lossy(&full.stdout).contains("hunter2"));

    // The graph needs no secret: without token_secret it still draws, like validate.
    let out = pmx()
        .current_dir(dir.path())
        .env_remove("PMX_VAR_token_secret")
        .args(["graph", "--no-color", "--resources-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), dot, "the same graph");
}

#[test]
fn validate_json_lists_every_problem() {
    let out = pmx().current_dir(broken("many_files")).args(["validate", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(diags.len() >= 3, "{v:#}");
    for d in diags {
        assert!(d["range"]["file"].is_string(), "every problem has a place: {d}");
        assert!(d["range"]["start"]["line"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn every_example_validates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let out = pmx().current_dir(&dir).args(["validate", "--no-color"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked > 0, "no examples found");
}

#[test]
fn variable_precedence_follows_terraform() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("main.pmx"),
        "variable \"n\" { type = number, default = 1 }\nresource \"pool\" \"p\" {\n  count = var.n\n  id = \"p${count.index}\"\n}\n",
    )
    .unwrap();
    let count = |cmd: &mut Command, extra: &[&str]| -> usize {
        let out = cmd.current_dir(p).args(["graph", "--json", "--resources-only"]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["nodes"].as_array().unwrap().len()
    };
    assert_eq!(count(&mut pmx(), &[]), 1, "default");
    assert_eq!(count(pmx().env("PMX_VAR_n", "2"), &[]), 2, "environment over default");
    std::fs::write(p.join("pmx.pmxvars"), "n = 8\n").unwrap();
    assert_eq!(count(pmx().env("PMX_VAR_n", "2"), &[]), 8, "pmx.pmxvars over environment");
    std::fs::write(p.join("a.auto.pmxvars"), "n = 3\n").unwrap();
    assert_eq!(count(pmx().env("PMX_VAR_n", "2"), &[]), 3, "auto file over pmx.pmxvars");
    std::fs::write(p.join("x.pmxvars.json"), "{\"n\": 4}").unwrap();
    assert_eq!(count(&mut pmx(), &["--var-file", "x.pmxvars.json"]), 4, "--var-file over auto file");
    assert_eq!(count(&mut pmx(), &["--var-file", "x.pmxvars.json", "--var", "n=5"]), 5, "--var over everything");
    // Like Terraform, --var and --var-file apply in command-line order: the later one wins.
    assert_eq!(count(&mut pmx(), &["--var", "n=5", "--var-file", "x.pmxvars.json"]), 4, "a later --var-file wins");
    assert_eq!(count(&mut pmx(), &["-var", "n=6", "-var-file", "x.pmxvars.json", "-var", "n=7"]), 7, "single-dash");
    // Like terraform -chdir: with -C, a relative --var-file is found in that folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = pmx()
        .current_dir(elsewhere.path())
        .args(["-C", p.to_str().unwrap(), "graph", "--json", "--resources-only", "--var-file", "x.pmxvars.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 4, "-C DIR --var-file FILE reads DIR/FILE");
}

#[test]
fn sensitive_values_never_show() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.pmx"),
        r#"variable "pw" { type = number, sensitive = true }
resource "vm" "a" {
  node = "pve1"
  name = var.pw
  cpu { cores = var.pw }
}
"#,
    )
    .unwrap();
    let out = pmx().current_dir(dir.path()).args(["graph", "--no-color", "--var", "pw=hunter2"]).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("variable \"pw\""), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
}

/// A variables file's snippet never shows a sensitive value: not the one in error, not a
/// neighbouring one, not in a syntax error, not in a JSON error.
#[test]
fn sensitive_values_never_show_from_var_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.pmx"),
        "variable \"secret\" {\n  type = number\n  sensitive = true\n}\nvariable \"pw\" {\n  type = string\n  sensitive = true\n}\nvariable \"plain\" { type = number }\n",
    )
    .unwrap();
    let files = [
        ("wrong.pmxvars", "secret = \"hunter2\"\npw = \"swordfish\"\nplain = \"visible\"\nbogus = 1\n"),
        ("syntax.pmxvars", "pw = <<EOT\nswordfish\nEOT\nsecret = \"hunter2\" \"x\"\nplain = 1\n"),
        ("bad.pmxvars.json", "{\"pw\": \"swordfish\", \"secret\": \"hunter2\",,}"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = pmx().current_dir(dir.path()).args(["validate", "--no-color", "--var-file", name]).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{name}: {all}");
        assert!(all.contains(&format!("{name}:")), "{name}: the error points into the file: {all}");
        assert!(!all.contains("hunter2") && !all.contains("swordfish"), "{name}: {all}");
        if name == "wrong.pmxvars" {
            // A value that is not sensitive still shows, and so does the warning's place.
            assert!(all.contains("\"visible\""), "{all}");
            assert!(all.contains("bogus"), "{all}");
        }
    }
}

#[test]
fn no_files_is_an_error_with_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = pmx().current_dir(dir.path()).args(["validate", "--no-color"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pmx init"));
}

/// Commands that need values (refresh, plan) get every missing variable named at once; graph and
/// validate, which need none, only say when a count or for_each depends on one.
#[test]
fn a_variable_without_a_value_is_an_error_naming_it() {
    let inputs = pmx::config::VarInputs { env: Some(Vec::new()), ..Default::default() };
    let (_, diags) = pmx::config::load(&broken("missing_variable"), &inputs);
    let text = diags.render(false);
    assert!(text.contains("no value for required variable \"token_secret\""), "{text}");
    assert!(text.contains("no value for required variable \"web_count\""), "{text}");
    assert_eq!(diags.len(), 2, "{text}");
}

/// A function that fails on a sensitive argument says so without quoting it, in every output.
#[test]
fn function_errors_never_quote_sensitive_arguments() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.pmx"),
        r#"variable "s" {
  type      = string
  sensitive = true
}
locals {
  x = tonumber(var.s)
  z = cidrsubnet(var.s, 1, 1)
  w = lookup({}, var.s)
  v = templatefile(var.s, {})
}
output "o" {
  value     = cidrhost(var.s, 1)
  sensitive = true
}
"#,
    )
    .unwrap();
    for args in [&["validate"][..], &["validate", "--json"], &["graph"]] {
        let out = pmx().current_dir(dir.path()).args(args).env("PMX_VAR_s", "hunter2").output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(!text.contains("hunter2"), "{args:?} shows the secret: {text}");
        assert!(text.contains("(sensitive value)"), "{args:?}: {text}");
    }
}

/// for_each has count's limit, and large sets are built in linear time.
#[test]
fn for_each_is_limited_like_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.pmx"),
        "variable \"n\" { type = number }\nresource \"pool\" \"q\" {\n  for_each = toset(formatlist(\"p%s\", range(var.n)))\n  id       = each.key\n}\n",
    )
    .unwrap();
    let out = pmx().current_dir(dir.path()).args(["validate", "--no-color", "--var", "n=100001"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("for_each has 100001 elements; at most 100000 instances are allowed"), "{text}");
    let out = pmx()
        .current_dir(dir.path())
        .args(["graph", "--json", "--resources-only", "--var", "n=20000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 20000);
}

/// `pmx validate` and the client apply one `token_id` rule (PVE's `pve_verify_tokenid`): a
/// token id that validate lets through, the client accepts, and one it warns about, the client
/// refuses. They used to disagree on `@pam!x` and `root@!x`.
#[test]
fn validate_and_the_client_agree_on_token_ids() {
    use pmx::proxmox::{ClientConfig, ProviderSettings, Secret};
    let cases = [
        ("root@pam!pmx", true),
        ("ci-bot@ldap.corp!deploy_2", true),
        ("jane@example.com@pve!t1", true),
        ("@pam!pmx", false),
        ("root@!pmx", false),
        ("root@pam!", false),
        ("root@pam!x", false),
        ("root-pmx", false),
    ];
    for (token_id, valid) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "provider \"proxmox\" {{\n  endpoint     = \"https://pve1:8006\"\n  token_id     = \"{token_id}\"\n  token_secret = \"s3cret\"\n}}\n"
        );
        std::fs::write(dir.path().join("main.pmx"), config).unwrap();
        let out = pmx().current_dir(dir.path()).args(["--no-color", "validate"]).output().expect("runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let warned = text.contains(&format!("token_id {token_id:?} should read USER@REALM!TOKENID"));
        assert_eq!(warned, !valid, "validate on {token_id}:\n{text}");
        let client = ClientConfig::from_settings(ProviderSettings {
            endpoint: Some("https://pve1:8006".into()),
            token_id: Some(token_id.into()),
            token_secret: Some(Secret::new("s3cret".to_string())),
            ..Default::default()
        });
        assert_eq!(client.is_ok(), valid, "the client on {token_id}: {:?}", client.err());
    }
}
