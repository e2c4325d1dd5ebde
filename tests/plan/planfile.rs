//! The plan file: signed, checked, stale-proof, and without secrets in the clear.

use super::support::*;

const WITH_SECRET: &str = r#"
provider "proxmox" {}

variable "password" {
  type      = string
  sensitive = true
}

data "template" "debian" {
  name = "debian-12-cloud"
}

resource "vm" "web" {
  node = "pve1"
  name = "web"

  clone {
    source = data.template.debian.vmid
  }

  cloud_init {
    user     = "ops"
    password = var.password
  }
}
"#;

const SECRET: &str = "correct-horse-battery-staple";

fn harness() -> Harness {
    let mut h = Harness::new();
    h.write("main.pmx", WITH_SECRET);
    h.extra_env = vec![("PMX_VAR_password".into(), SECRET.into())];
    h
}

#[test]
fn a_plan_file_holds_no_secret_and_is_private() {
    let h = harness();
    let out = h.expect(&["plan", "--out", "plan.out"], 0);
    assert!(stdout(&out).contains("(sensitive value)"), "{}", stdout(&out));
    assert!(!stdout(&out).contains(SECRET));
    let text = std::fs::read_to_string(h.path("plan.out")).expect("plan.out in the project folder");
    assert!(!text.contains(SECRET), "the secret is in the plan file");
    assert!(text.contains("hmac-sha256:"), "its keyed hash is");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.path("plan.out")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    for args in
        [&["show", "plan.out"][..], &["show", "--json", "plan.out"], &["show", "--format", "markdown", "plan.out"]]
    {
        assert!(!stdout(&h.expect(args, 0)).contains(SECRET));
    }
    h.expect(&["apply", "plan.out"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn apply_takes_the_secret_again_and_refuses_when_it_changed() {
    let mut h = harness();
    h.expect(&["plan", "--out", "plan.out"], 0);
    h.extra_env = vec![("PMX_VAR_password".into(), "another-one".into())];
    let out = h.expect(&["apply", "plan.out"], 1);
    assert!(flat(&stderr(&out)).contains("variable values changed since the plan"), "{}", stderr(&out));
    assert!(!flat(&stderr(&out)).contains("another-one") && !flat(&stderr(&out)).contains(SECRET));
    assert_eq!(h.guests_named("web"), 0, "nothing was done");
}

#[test]
fn a_stale_plan_is_refused() {
    let h = harness();
    h.expect(&["plan", "--out", "first.out"], 0);
    h.expect(&["plan", "--out", "second.out"], 0);
    h.expect(&["apply", "second.out"], 0);
    let out = h.expect(&["apply", "first.out"], 1);
    assert!(flat(&stderr(&out)).contains("stale"), "{}", stderr(&out));
    assert_eq!(h.guests_named("web"), 1, "applied once only");
}

#[test]
fn corrupted_truncated_tampered_foreign_and_other_workspace_plans_are_refused() {
    let h = harness();
    h.expect(&["plan", "--out", "plan.out"], 0);
    let text = std::fs::read_to_string(h.path("plan.out")).expect("plan.out in the project folder");

    std::fs::write(h.path("truncated.out"), &text[..text.len() / 2]).unwrap();
    let out = h.expect(&["apply", "truncated.out"], 1);
    assert!(flat(&stderr(&out)).contains("is not a pmx plan file (or it is truncated)"), "{}", stderr(&out));

    let corrupted = text.replacen("\\\"name\\\":\\\"web\\\"", "\\\"name\\\":\\\"wab\\\"", 1);
    assert_ne!(corrupted, text, "the edit found its target");
    std::fs::write(h.path("corrupted.out"), &corrupted).unwrap();
    let out = h.expect(&["apply", "corrupted.out"], 1);
    assert!(flat(&stderr(&out)).contains("is corrupted"), "{}", stderr(&out));

    // Tampered: the body edited and its checksum recomputed; only the signature tells.
    let mut env: serde_json::Value = serde_json::from_str(&text).unwrap();
    let body = env["body"].as_str().unwrap().replacen("\"name\":\"web\"", "\"name\":\"evil\"", 1);
    use sha2::Digest;
    env["sha256"] = hex::encode(sha2::Sha256::digest(body.as_bytes())).into();
    env["body"] = body.into();
    std::fs::write(h.path("tampered.out"), env.to_string()).unwrap();
    let out = h.expect(&["apply", "tampered.out"], 1);
    assert!(flat(&stderr(&out)).contains("tampered with"), "{}", stderr(&out));

    let mut foreign: serde_json::Value = serde_json::from_str(&text).unwrap();
    foreign["version"] = 99.into();
    std::fs::write(h.path("foreign.out"), foreign.to_string()).unwrap();
    let out = h.expect(&["apply", "foreign.out"], 1);
    assert!(flat(&stderr(&out)).contains("format version 99"), "{}", stderr(&out));

    let out = h.expect(&["apply", "--workspace", "staging", "plan.out"], 1);
    assert!(flat(&stderr(&out)).contains("made for workspace \"default\", not \"staging\""), "{}", stderr(&out));
    assert_eq!(h.guests_named("web"), 0, "nothing was applied");
    h.expect(&["apply", "plan.out"], 0);
}

#[test]
fn apply_without_a_plan_file_needs_approval() {
    let h = harness();
    let out = h.expect(&["apply"], 1);
    assert!(flat(&stderr(&out)).contains("standard input is not a terminal"), "{}", stderr(&out));
    let out = h.expect(&["apply", "--auto-approve"], 0);
    assert!(stdout(&out).contains("Plan: 1 to add"), "shows the plan first: {}", stdout(&out));
    assert!(stdout(&out).contains("Apply complete!"));
}
