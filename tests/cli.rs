//! The real binary: global flags, init, version, stubs.

use assert_cmd::Command;
use predicates::prelude::*;

fn pmx() -> Command {
    let mut cmd = Command::cargo_bin("pmx").expect("pmx binary");
    cmd.env_remove("NO_COLOR").env_remove("PMX_LOG");
    cmd
}

#[test]
fn version_human_and_json() {
    pmx().arg("version").assert().success().stdout(format!("pmx {}\n", env!("CARGO_PKG_VERSION")));
    let out = pmx().args(["version", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["state_schema"].is_number());
}

#[test]
fn init_scaffolds_a_project_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    pmx()
        .arg("-C")
        .arg(dir.path())
        .args(["init", "proj"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created"));
    let main = dir.path().join("proj/main.pmx");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains("resource \"pool\""), "{text}");
    let gitignore = std::fs::read_to_string(dir.path().join("proj/.gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".pmx/"), "{gitignore}");

    std::fs::write(&main, "# mine\n").unwrap();
    pmx()
        .arg("-C")
        .arg(dir.path())
        .args(["init", "proj", "--no-color"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(std::fs::read_to_string(&main).unwrap(), "# mine\n", "init must not clobber a project");
}

#[test]
fn init_fits_into_an_existing_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target/\n.pmx/").unwrap();
    let out = pmx().arg("-C").arg(dir.path()).args(["init", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["updated"][0].as_str().map(|p| p.ends_with(".gitignore")), Some(true), "{v}");
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore, "target/\n.pmx/\n# pmx: local state and saved plans\n*.plan\nplan.out\n");

    // A folder that already holds a project is left alone, even with --force.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("infra.pmx"), "provider \"proxmox\" {}\n").unwrap();
    pmx()
        .arg("-C")
        .arg(other.path())
        .args(["init", "--force", "--no-color"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already holds a pmx project (infra.pmx)"));
    assert!(!other.path().join("main.pmx").exists());
}

#[test]
fn init_json_lists_created_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = pmx().arg("-C").arg(dir.path()).args(["init", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let created: Vec<String> =
        v["created"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert!(created.iter().any(|c| c.ends_with("main.pmx")), "{created:?}");
}

#[test]
fn chdir_to_a_missing_folder_is_a_clear_error() {
    pmx()
        .args(["-C", "/definitely/not/here", "version"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no such folder"));
}

#[test]
fn unknown_subcommand_exits_2_with_usage() {
    pmx().arg("frobnicate").assert().code(2).stderr(predicate::str::contains("Usage"));
}

#[test]
fn plan_apply_and_import_refuse_unknown_flags_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    pmx().args(["import", "--grop-by", "node"]).assert().code(2).stderr(predicate::str::contains("--group-by"));
    pmx().args(["plan", "--bogus-flag", "zz"]).assert().code(2).stderr(predicate::str::contains("--bogus-flag"));
    pmx().args(["apply", "--auto-aprove"]).assert().code(2).stderr(predicate::str::contains("--auto-approve"));
    // Terraform's single-dash flags reach plan: a folder without .pmx files is the error, not the flags.
    pmx()
        .arg("-C")
        .arg(dir.path())
        .args(["plan", "-out=plan.out", "-detailed-exitcode", "-var", "a=1", "-refresh-only"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(".pmx"));
}

#[test]
fn terraform_single_dash_flags_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // `-json` is rewritten to `--json`: a JSON answer proves the alias worked.
    let out = pmx().arg("-C").arg(dir.path()).args(["init", "-json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON from -json");
}

#[test]
fn colour_is_forced_by_clicolor_force_and_removed_by_no_color() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.pmx"), "x").unwrap();
    let run = |envs: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = pmx();
        cmd.env_remove("CLICOLOR_FORCE");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.arg("-C").arg(dir.path()).arg("init").args(flags).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.contains("already exists"), "{stderr}");
        stderr
    };
    assert!(run(&[("CLICOLOR_FORCE", "1")], &[]).contains('\u{1b}'), "CLICOLOR_FORCE should colour");
    let no_color = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]);
    assert!(!no_color.contains('\u{1b}'), "escape codes despite NO_COLOR: {no_color:?}");
    let flag = run(&[("CLICOLOR_FORCE", "1")], &["--no-color"]);
    assert!(!flag.contains('\u{1b}'), "escape codes despite --no-color: {flag:?}");
}
