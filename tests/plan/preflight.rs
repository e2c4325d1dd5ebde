//! Pre-flight: for every check, a configuration that `pmx plan` refuses, pointing at the line
//! that causes it; the same configuration with the check silenced, which the simulator then
//! refuses at apply time (so the rule is Proxmox's, not pmx's); and the matching good
//! configuration, which plans and applies cleanly.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::support::*;

/// A small cluster with what the checks need: two 4-CPU, 8 GiB nodes; a thick LVM storage on
/// pve1 only; a template and a plain guest on pve1; a token with only some privileges.
fn cluster_file(dir: &std::path::Path) -> PathBuf {
    let v = json!({
        "name": "preflight",
        "nodes": [
            {"name": "pve1", "cpus": 4, "memory_gib": 8, "bridges": ["vmbr0", "vmbr1"]},
            {"name": "pve2", "cpus": 4, "memory_gib": 8, "bridges": ["vmbr0"]},
            {"name": "pve3", "cpus": 4, "memory_gib": 8, "bridges": ["vmbr0"], "maintenance": true}
        ],
        "storages": [
            {"id": "local", "type": "dir", "path": "/var/lib/vz", "content": ["iso", "vztmpl", "backup"], "capacity_gib": 100},
            {"id": "local-lvm", "type": "lvmthin", "vgname": "pve", "thinpool": "data", "content": ["images", "rootdir"], "capacity_gib": 100},
            {"id": "san", "type": "lvm", "vgname": "san", "content": ["images", "rootdir"], "capacity_gib": 10, "nodes": ["pve1"]},
            {"id": "old", "type": "dir", "path": "/mnt/old", "content": ["images"], "capacity_gib": 100, "disable": true}
        ],
        "ha": [{"sid": "vm:100", "state": "started"}],
        "templates": [{"volid": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "size_mib": 126}],
        "guests": [
            {"vmid": 9000, "type": "qemu", "node": "pve1", "template": true, "config": {
                "name": "tmpl", "scsi0": "local-lvm:3", "net0": "virtio,bridge=vmbr0"}},
            {"vmid": 100, "type": "qemu", "node": "pve1", "config": {"name": "plain", "scsi0": "local-lvm:2"}}
        ],
        "pools": [{"poolid": "web"}],
        "users": [{"userid": "ci@pve", "tokens": [
            {"id": "deploy", "secret": "d3ploy-secret"},
            {"id": "admin", "secret": "adm1n-secret"}
        ]}],
        "acl": [
            {"path": "/vms", "role": "PVEVMAdmin", "user": "ci@pve"},
            {"path": "/storage", "role": "PVEDatastoreUser", "user": "ci@pve"},
            {"path": "/sdn/zones/localnetwork", "role": "PVESDNUser", "user": "ci@pve"},
            {"path": "/vms", "role": "PVEVMUser", "token": "ci@pve!deploy"},
            {"path": "/storage", "role": "PVEDatastoreUser", "token": "ci@pve!deploy"},
            {"path": "/sdn/zones/localnetwork", "role": "PVESDNUser", "token": "ci@pve!deploy"},
            {"path": "/vms", "role": "PVEVMAdmin", "token": "ci@pve!admin"},
            {"path": "/storage", "role": "PVEDatastoreUser", "token": "ci@pve!admin"},
            {"path": "/sdn/zones/localnetwork", "role": "PVESDNUser", "token": "ci@pve!admin"}
        ]
    });
    let path = dir.join("cluster.json");
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    path
}

fn harness() -> (Harness, tempfile::TempDir) {
    let seed = tempfile::tempdir().unwrap();
    let mut options = sim_options();
    options.cluster = Some(cluster_file(seed.path()));
    (Harness::with(options), seed)
}

const HEADER: &str = "provider \"proxmox\" {}\n\n";

/// A VM resource named `vm.x` with `body` inside.
fn vm(body: &str) -> String {
    format!("{HEADER}resource \"vm\" \"x\" {{\n  name = \"x\"\n{body}}}\n")
}

fn with_ignore(config: &str, check: &str) -> String {
    // The lifecycle block goes at the end of the last resource.
    let at = config.rfind("}\n").unwrap();
    format!("{}  lifecycle {{\n    preflight_ignore = [\"{check}\"]\n  }}\n{}", &config[..at], &config[at..])
}

fn findings(plan: &Value) -> Vec<Value> {
    plan["pmx"]["preflight"].as_array().cloned().unwrap_or_default()
}

struct Case {
    check: &'static str,
    /// The configuration Proxmox refuses, and the line (1-based) of `main.pmx` the finding points at.
    bad: String,
    line: usize,
    /// What the simulator says when the apply goes ahead anyway.
    refusal: &'static str,
    good: String,
    /// Environment for pmx (another token), for the bad and the good case.
    env: Vec<(String, String)>,
    good_env: Vec<(String, String)>,
}

fn run(case: Case) {
    let (mut h, _seed) = harness();
    h.extra_env = case.env.clone();
    // 1. The plan refuses, naming the check and the line.
    h.write("main.pmx", &case.bad);
    let out = h.pmx(&["plan", "--json", "--detailed-exitcode", "--out", "bad.out"]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "{}: the plan must fail\n{}\n{}", case.check, stdout(&out), stderr(&out));
    assert!(!h.path("bad.out").exists(), "{}: a blocked plan is not saved", case.check);
    let found = findings(&plan);
    let f = found
        .iter()
        .find(|f| f["check"] == case.check && f["severity"] == "error")
        .unwrap_or_else(|| panic!("{}: no such finding in {found:#?}", case.check));
    assert_eq!(
        f["at"].as_str().and_then(|a| a.split(':').nth(1)).and_then(|l| l.parse::<usize>().ok()),
        Some(case.line),
        "{}: the finding points at the wrong line: {f:#}\n{}",
        case.check,
        case.bad
    );
    assert!(f["live"].as_str().is_some_and(|l| !l.is_empty()) && f["help"].is_string(), "{f:#}");
    assert_eq!(plan["errored"], true);
    let human = h.pmx(&["plan"]);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        stderr(&human).contains(&format!("pmx::preflight::{}", case.check)) && stderr(&human).contains("main.pmx:"),
        "{}: the human view shows the finding with its place:\n{}",
        case.check,
        stderr(&human)
    );
    // 2. Silenced, the plan goes through, and Proxmox (the simulator) refuses the apply.
    h.write("main.pmx", &with_ignore(&case.bad, case.check));
    let out = h.pmx(&["plan", "--json", "--out", "ignored.out"]);
    assert_eq!(out.status.code(), Some(0), "{}: silenced, it plans\n{}", case.check, stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&plan).iter().any(|f| f["check"] == case.check && f["ignored"] == true), "{plan:#}");
    let applied = h.pmx(&["apply", "ignored.out"]);
    assert_eq!(applied.status.code(), Some(1), "{}: Proxmox must refuse it\n{}", case.check, stdout(&applied));
    let said = flat(&format!("{}{}", stdout(&applied), stderr(&applied)));
    assert!(said.contains(case.refusal), "{}: expected Proxmox to say {:?}:\n{said}", case.check, case.refusal);
    // 3. The good configuration, in a fresh cluster, plans and applies cleanly.
    let (mut h, _seed) = harness();
    h.extra_env = case.good_env;
    h.write("main.pmx", &case.good);
    let plan = h.plan_json(&[]);
    let blocking: Vec<Value> = findings(&plan).into_iter().filter(|f| f["severity"] == "error").collect();
    assert!(blocking.is_empty(), "{}: the good case has errors: {blocking:#?}", case.check);
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

fn case(check: &'static str, bad: String, line: usize, refusal: &'static str, good: String) -> Case {
    Case { check, bad, line, refusal, good, env: vec![], good_env: vec![] }
}

#[test]
fn a_node_that_is_not_in_the_cluster() {
    run(case(
        "node",
        vm("  node = \"pve7\"\n  started = false\n"),
        5,
        "no such cluster node 'pve7'",
        vm("  node = \"pve2\"\n  started = false\n"),
    ));
}

#[test]
fn a_linked_clone_of_a_guest_that_is_not_a_template() {
    run(case(
        "clone",
        vm("  node = \"pve1\"\n  started = false\n\n  clone {\n    source = 100\n    full   = false\n  }\n"),
        10,
        "Linked clone feature is not supported for non-template guests",
        vm("  node = \"pve1\"\n  started = false\n\n  clone {\n    source = 9000\n    full   = false\n  }\n"),
    ));
}

#[test]
fn a_disk_on_a_storage_without_images() {
    run(case(
        "storage",
        vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"local\"\n    size    = \"4G\"\n  }\n"),
        9,
        "storage 'local' does not support",
        vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"local-lvm\"\n    size    = \"4G\"\n  }\n"),
    ));
}

#[test]
fn a_disk_on_a_storage_the_node_does_not_have() {
    run(case(
        "storage",
        vm("  node = \"pve2\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"san\"\n    size    = \"4G\"\n  }\n"),
        9,
        "storage 'san' is not available on node 'pve2'",
        vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"san\"\n    size    = \"4G\"\n  }\n"),
    ));
}

#[test]
fn disks_larger_than_a_thick_storage_has_free() {
    // Two guests share the 10 GiB LVM volume group: 6 + 6 GiB do not fit; 4 + 4 do.
    let two = |size: &str| {
        format!(
            "{}\nresource \"vm\" \"y\" {{\n  name = \"y\"\n  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {{\n    storage = \"san\"\n    size    = \"{size}\"\n  }}\n}}\n",
            vm(&format!("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {{\n    storage = \"san\"\n    size    = \"{size}\"\n  }}\n"))
        )
    };
    // Silenced on one resource (the last, vm.y), the other's 6 GiB fits on its own: the apply
    // of both then fails on the second disk.
    run(case("capacity", two("6G"), 9, "space", two("4G")));
}

#[test]
fn a_thin_storage_is_over_committed_with_a_warning() {
    let (h, _seed) = harness();
    h.write(
        "main.pmx",
        &vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"local-lvm\"\n    size    = \"500G\"\n  }\n"),
    );
    let plan = h.plan_json(&["--detailed-exitcode"]);
    let f = findings(&plan);
    assert!(
        f.iter().any(|f| f["check"] == "capacity"
            && f["severity"] == "warning"
            && f["live"].as_str().is_some_and(|l| l.contains("thin"))),
        "{f:#?}"
    );
    assert_eq!(plan["errored"], false);
}

#[test]
fn a_bridge_the_node_does_not_have() {
    run(case(
        "bridge",
        vm("  node = \"pve2\"\n\n  network \"net0\" {\n    bridge = \"vmbr1\"\n  }\n"),
        8,
        "bridge 'vmbr1' does not exist",
        vm("  node = \"pve1\"\n\n  network \"net0\" {\n    bridge = \"vmbr1\"\n  }\n"),
    ));
}

#[test]
fn a_container_template_that_is_not_there() {
    let ct = |template: &str| {
        format!(
            "{HEADER}resource \"container\" \"x\" {{\n  node       = \"pve1\"\n  hostname   = \"x\"\n  ostemplate = \"{template}\"\n  started    = false\n\n  rootfs {{\n    storage = \"local-lvm\"\n    size    = \"2G\"\n  }}\n}}\n"
        )
    };
    run(case(
        "ostemplate",
        ct("local:vztmpl/debian-11-standard_11.7-1_amd64.tar.zst"),
        6,
        "does not exist",
        ct("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
    ));
}

#[test]
fn a_pool_that_neither_exists_nor_is_managed() {
    run(case(
        "pool",
        vm("  node = \"pve1\"\n  started = false\n  pool = \"nope\"\n"),
        7,
        "pool 'nope' does not exist",
        vm("  node = \"pve1\"\n  started = false\n  pool = \"web\"\n"),
    ));
}

#[test]
fn a_token_without_the_privilege_to_create() {
    let token = |id: &str, secret: &str| {
        vec![("PMX_TOKEN_ID".to_string(), id.to_string()), ("PMX_TOKEN_SECRET".to_string(), secret.to_string())]
    };
    // PVEVMUser may power guests and change their cloud-init, not allocate new ones; PVEVMAdmin
    // may. Both tokens are privilege-separated, so they hold what both they and ci@pve hold.
    let config = vm("  node = \"pve1\"\n  started = false\n");
    let mut c = case("permissions", config.clone(), 3, "Permission check failed", config);
    c.env = token("ci@pve!deploy", "d3ploy-secret");
    c.good_env = token("ci@pve!admin", "adm1n-secret");
    run(c);
}

#[test]
fn findings_are_in_the_markdown_view_and_apply_checks_again() {
    let (h, _seed) = harness();
    // A plan saved while the space was there...
    h.write(
        "main.pmx",
        &vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"san\"\n    size    = \"6G\"\n  }\n"),
    );
    h.expect(&["plan", "--out", "plan.out"], 0);
    // ...then someone takes it.
    let c = h.client();
    h.runtime.block_on(async {
        let p = pmx::proxmox::Params::new().set("name", "squatter").set("scsi0", "san:8");
        let up = c.create_guest("pve1", &pmx::proxmox::GuestKind::Qemu, 555, &p).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    let out = h.expect(&["apply", "plan.out"], 1);
    let said = flat(&stderr(&out));
    assert!(said.contains("pre-flight") && said.contains("capacity") && said.contains("nothing was changed"), "{said}");
    assert!(h.guest("x").is_none(), "nothing was created");
    // The markdown view lists the error first.
    let md = h.pmx(&["plan", "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(1));
    let text = stdout(&md);
    assert!(text.contains("**This plan cannot be applied:**") && text.contains("(capacity)"), "{text}");
    // An unknown check name is a configuration error with a suggestion.
    h.write("main.pmx", &with_ignore(&vm("  node = \"pve1\"\n"), "capactiy"));
    let out = h.expect(&["validate"], 1);
    assert!(flat(&stderr(&out)).contains("did you mean \"capacity\""), "{}", stderr(&out));
}

#[test]
fn more_vcpus_than_the_node_has() {
    run(case(
        "cpu",
        vm("  node = \"pve1\"\n\n  cpu {\n    cores   = 4\n    sockets = 2\n  }\n"),
        8,
        "MAX 4 vcpus allowed per VM on this node",
        vm("  node = \"pve1\"\n\n  cpu {\n    cores   = 2\n    sockets = 2\n  }\n"),
    ));
}

#[test]
fn more_memory_than_the_node_has() {
    run(case(
        "memory",
        vm("  node = \"pve1\"\n\n  memory {\n    size = 10240\n  }\n"),
        8,
        "Cannot allocate memory",
        vm("  node = \"pve1\"\n\n  memory {\n    size = 2048\n  }\n"),
    ));
}

#[test]
fn a_disk_on_a_disabled_storage() {
    run(case(
        "storage",
        vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"old\"\n    size    = \"4G\"\n  }\n"),
        9,
        "storage 'old' is disabled",
        vm("  node = \"pve1\"\n  started = false\n\n  disk \"scsi0\" {\n    storage = \"local-lvm\"\n    size    = \"4G\"\n  }\n"),
    ));
}

#[test]
fn a_linked_clone_onto_another_node_from_local_storage() {
    // pmx makes a clone Proxmox refuses across nodes on the template's node and migrates it;
    // a linked clone cannot leave its base, so the migration is refused.
    let linked = |node: &str| {
        vm(&format!(
            "  node = \"{node}\"\n  started = false\n\n  clone {{\n    source = 9000\n    full   = false\n  }}\n"
        ))
    };
    run(case("clone", linked("pve2"), 5, "can't migrate", linked("pve1")));
}

#[test]
fn a_linked_clone_that_names_a_storage() {
    let clone = |storage: &str| {
        vm(&format!(
            "  node = \"pve1\"\n  started = false\n\n  clone {{\n    source  = 9000\n    full    = false\n{storage}  }}\n"
        ))
    };
    run(case(
        "clone",
        clone("    storage = \"local-lvm\"\n"),
        11,
        "parameter 'storage' not allowed for linked clones",
        clone(""),
    ));
}

#[test]
fn a_node_in_maintenance_and_a_guest_under_ha_are_warnings() {
    let (h, _seed) = harness();
    h.write(
        "main.pmx",
        &format!(
            "{}\nimport {{\n  to = vm.plain\n  id = \"pve1/qemu/100\"\n}}\n\nresource \"vm\" \"plain\" {{\n  node    = \"pve1\"\n  name    = \"plain\"\n  started = false\n  description = \"now managed\"\n}}\n",
            vm("  node = \"pve3\"\n  started = false\n")
        ),
    );
    let out = h.pmx(&["plan", "--json", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "warnings do not block: {}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = findings(&plan);
    let has = |check: &str, address: &str| {
        f.iter().any(|x| x["check"] == check && x["address"] == address && x["severity"] == "warning")
    };
    assert!(has("node", "vm.x"), "pve3 is in maintenance: {f:#?}");
    assert!(has("ha", "vm.plain"), "vm:100 is HA-managed: {f:#?}");
    // ...and they do not stop the apply.
    h.expect(&["apply", "--auto-approve"], 0);
}
